/* SPDX-License-Identifier: MIT */
/* subarray.c - MPI_Type_create_subarray: the block subsizes[] at starts[]
 * of an array of sizes[] elements of oldtype, in C or Fortran order.
 *
 * The type is built as an hindexed type of the subarray's contiguous rows
 * (the runs along the fastest dimension), resized to the whole array
 * (lb 0, extent the array's), as the standard defines it; its record says
 * MPI_COMBINER_SUBARRAY with the call's arguments. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/shim_private.h"

static int subarray(int ndims,
                    const int *sizes,
                    const int *subsizes,
                    const int *starts,
                    int order,
                    MPI_Datatype oldtype,
                    MPI_Datatype *newtype)
{
    struct shim_datatype *o = shim_dt_get(oldtype);

    if (!o)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    if (ndims <= 0 || !sizes || !subsizes || !starts || !newtype
        || (order != MPI_ORDER_C && order != MPI_ORDER_FORTRAN))
        return SHIM_ECLASS(MPI_ERR_ARG);
    for (int d = 0; d < ndims; d++)
        if (sizes[d] <= 0 || subsizes[d] <= 0 || subsizes[d] > sizes[d]
            || starts[d] < 0 || starts[d] > sizes[d] - subsizes[d])
            return SHIM_ECLASS(MPI_ERR_ARG);
            /* dim(k): the k-th dimension from the slowest to the fastest. */
#define DIM(k) (order == MPI_ORDER_C ? (k) : ndims - 1 - (k))
    int fast = DIM(ndims - 1);
    long nrows = 1;
    for (int k = 0; k < ndims - 1; k++)
        nrows *= subsizes[DIM(k)];
    int *lens = malloc(sizeof(int) * nrows);
    MPI_Aint *disps = malloc(sizeof(MPI_Aint) * nrows);
    int *idx = calloc((size_t)ndims, sizeof(int));
    int rc = lens && disps && idx ? 0 : -ENOMEM;
    for (long r = 0; rc == 0 && r < nrows; r++) {
        /* Element offset of row r's first element. */
        MPI_Aint off = 0;
        for (int k = 0; k < ndims; k++) {
            int d = DIM(k);
            int at = starts[d] + (d == fast ? 0 : idx[d]);
            off = off * sizes[d] + at;
        }
        lens[r] = subsizes[fast];
        disps[r] = off * o->extent;
        /* Next row: count up the slower dimensions, fastest first. */
        for (int k = ndims - 2; k >= 0; k--) {
            int d = DIM(k);
            if (++idx[d] < subsizes[d])
                break;
            idx[d] = 0;
        }
    }
#undef DIM
    MPI_Datatype rows = MPI_DATATYPE_NULL;
    if (rc == 0)
        rc = PMPI_Type_create_hindexed((int)nrows, lens, disps, oldtype, &rows);
    free(lens);
    free(disps);
    free(idx);
    if (rc)
        return rc > 0 ? SHIM_ECLASS(rc) : rc;
    MPI_Aint total = o->extent;
    for (int d = 0; d < ndims; d++)
        total *= sizes[d];
    rc = PMPI_Type_create_resized(rows, 0, total, newtype);
    PMPI_Type_free(&rows);
    return rc ? SHIM_ECLASS(rc) : 0;
}

SHIM_WEAK(Type_create_subarray)
int PMPI_Type_create_subarray(int ndims,
                              const int array_of_sizes[],
                              const int array_of_subsizes[],
                              const int array_of_starts[],
                              int order,
                              MPI_Datatype oldtype,
                              MPI_Datatype *newtype)
{
    int rc = subarray(ndims, array_of_sizes, array_of_subsizes, array_of_starts,
                      order, oldtype, newtype);

    if (rc)
        return shim_err(NULL, "MPI_Type_create_subarray", rc);
    int *ints = malloc(sizeof(int) * (3 * ndims + 2));
    if (ints) {
        ints[0] = ndims;
        for (int d = 0; d < ndims; d++) {
            ints[1 + d] = array_of_sizes[d];
            ints[1 + ndims + d] = array_of_subsizes[d];
            ints[1 + 2 * ndims + d] = array_of_starts[d];
        }
        ints[1 + 3 * ndims] = order;
        rc = shim_dt_record(*newtype, MPI_COMBINER_SUBARRAY, 3 * ndims + 2,
                            ints, NULL, 0, NULL, 1, &oldtype);
    }
    free(ints);
    if (!ints || rc) {
        PMPI_Type_free(newtype);
        return shim_err(NULL, "MPI_Type_create_subarray", ints ? rc : -ENOMEM);
    }
    return MPI_SUCCESS;
}
