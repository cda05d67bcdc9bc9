/* SPDX-License-Identifier: MIT */
/* darray.c - MPI_Type_create_darray: the part of a global array of
 * gsizes[] elements of oldtype that process rank of a grid of psizes[]
 * processes owns, each dimension distributed MPI_DISTRIBUTE_BLOCK,
 * _CYCLIC (dargs[] the block size, or MPI_DISTRIBUTE_DFLT_DARG) or
 * _NONE, in C or Fortran order (MPI-3.1 section 4.1.4).
 *
 * The process grid is row-major whatever the order, as the standard
 * says (ranks as in MPI_Cart_create). Per dimension this process owns a
 * list of global indices, ascending; the type is an hindexed type of the
 * runs along the fastest dimension, for every combination of the owned
 * indices of the slower ones (slowest outermost), resized to the whole
 * array (lb 0, extent the array's). Its record says MPI_COMBINER_DARRAY
 * with the call's arguments; shim_darray_blocks() gives the same runs to
 * MPI_Pack_external. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/shim_private.h"

/* The global indices this process owns along one dimension: runs
 * (start, length) ascending. */
struct dim_runs {
    int n;
    int *start;
    int *len;
    long total; /* indices owned */
};

static int
dim_runs(int g, int distrib, int darg, int p, int coord, struct dim_runs *out)
{
    int k;

    out->n = 0;
    out->total = 0;
    out->start = NULL;
    out->len = NULL;
    switch (distrib) {
    case MPI_DISTRIBUTE_NONE:
        if (p != 1)
            return SHIM_ECLASS(MPI_ERR_ARG);
        k = g;
        break;
    case MPI_DISTRIBUTE_BLOCK:
        if (darg == MPI_DISTRIBUTE_DFLT_DARG) {
            k = (g + p - 1) / p;
        } else {
            if (darg <= 0 || (long)darg * p < g)
                return SHIM_ECLASS(MPI_ERR_ARG);
            k = darg;
        }
        break;
    case MPI_DISTRIBUTE_CYCLIC:
        if (darg == MPI_DISTRIBUTE_DFLT_DARG)
            k = 1;
        else if (darg <= 0)
            return SHIM_ECLASS(MPI_ERR_ARG);
        else
            k = darg;
        break;
    default:
        return SHIM_ECLASS(MPI_ERR_ARG);
    }
    /* Block and none own one run at coord * k; cyclic every p * k. */
    long step = distrib == MPI_DISTRIBUTE_CYCLIC ? (long)p * k : (long)g + 1;
    long first = (long)coord * k;
    long nruns = first < g ? (g - first + step - 1) / step : 0;
    out->start = malloc(sizeof(int) * (size_t)(nruns ? nruns : 1));
    out->len = malloc(sizeof(int) * (size_t)(nruns ? nruns : 1));
    if (!out->start || !out->len)
        return -ENOMEM;
    for (long j = first; j < g; j += step) {
        long end = j + k < g ? j + k : g;
        out->start[out->n] = (int)j;
        out->len[out->n] = (int)(end - j);
        out->total += end - j;
        out->n++;
    }
    return 0;
}

static void runs_free(struct dim_runs *r, int ndims)
{
    for (int d = 0; d < ndims; d++) {
        free(r[d].start);
        free(r[d].len);
    }
    free(r);
}

int shim_darray_blocks(const int *ints,
                       MPI_Aint extent,
                       int *nblocks,
                       int **lens,
                       MPI_Aint **disps)
{
    int size = ints[0], rank = ints[1], ndims = ints[2];
    const int *gsizes = ints + 3, *distribs = ints + 3 + ndims,
              *dargs = ints + 3 + 2 * ndims, *psizes = ints + 3 + 3 * ndims;
    int order = ints[3 + 4 * ndims];
    long nprocs = 1;
    int rc = 0;

    *lens = NULL;
    *disps = NULL;
    *nblocks = 0;
    if (ndims <= 0 || size <= 0 || rank < 0 || rank >= size
        || (order != MPI_ORDER_C && order != MPI_ORDER_FORTRAN))
        return SHIM_ECLASS(MPI_ERR_ARG);
    for (int d = 0; d < ndims; d++) {
        if (gsizes[d] <= 0 || psizes[d] <= 0)
            return SHIM_ECLASS(MPI_ERR_ARG);
        nprocs *= psizes[d];
    }
    if (nprocs != size)
        return SHIM_ECLASS(MPI_ERR_ARG);
    struct dim_runs *runs = calloc((size_t)ndims, sizeof(*runs));
    if (!runs)
        return -ENOMEM;
    /* Row-major process coordinates, whatever the order. */
    int rest = rank;
    for (int d = ndims - 1; d >= 0 && rc == 0; d--) {
        int coord = rest % psizes[d];
        rest /= psizes[d];
        rc = dim_runs(gsizes[d], distribs[d], dargs[d], psizes[d], coord,
                      &runs[d]);
    }
    if (rc) {
        runs_free(runs, ndims);
        return rc;
    }
    /* dim(k): the k-th dimension from the slowest to the fastest. */
#define DIM(k) (order == MPI_ORDER_C ? (k) : ndims - 1 - (k))
    int fast = DIM(ndims - 1);
    long rows = 1;
    for (int k = 0; k < ndims - 1; k++)
        rows *= runs[DIM(k)].total;
    long n = rows * runs[fast].n;
    if (n > 0x7fffffff) {
        runs_free(runs, ndims);
        return SHIM_ECLASS(MPI_ERR_ARG);
    }
    int *l = malloc(sizeof(int) * (size_t)(n ? n : 1));
    MPI_Aint *o = malloc(sizeof(MPI_Aint) * (size_t)(n ? n : 1));
    /* The position, per slower dimension, in its list of owned indices:
     * run ri[d] and offset oi[d] in it. */
    int *ri = calloc((size_t)ndims, sizeof(int));
    int *oi = calloc((size_t)ndims, sizeof(int));
    if (!l || !o || !ri || !oi) {
        free(l);
        free(o);
        free(ri);
        free(oi);
        runs_free(runs, ndims);
        return -ENOMEM;
    }
    long b = 0;
    for (long row = 0; row < rows && n > 0; row++) {
        for (int f = 0; f < runs[fast].n; f++) {
            MPI_Aint off = 0;
            for (int k = 0; k < ndims; k++) {
                int d = DIM(k);
                int at =
                    d == fast ? runs[d].start[f] : runs[d].start[ri[d]] + oi[d];
                off = off * gsizes[d] + at;
            }
            l[b] = runs[fast].len[f];
            o[b] = off * extent;
            b++;
        }
        /* Next row: count up the slower dimensions, fastest first. */
        for (int k = ndims - 2; k >= 0; k--) {
            int d = DIM(k);
            if (++oi[d] < runs[d].len[ri[d]])
                break;
            oi[d] = 0;
            if (++ri[d] < runs[d].n)
                break;
            ri[d] = 0;
        }
    }
#undef DIM
    free(ri);
    free(oi);
    runs_free(runs, ndims);
    *nblocks = (int)b;
    *lens = l;
    *disps = o;
    return 0;
}

static int darray(const int *ints, MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    struct shim_datatype *o = shim_dt_get(oldtype);
    int ndims = ints[2];
    int nb, *lens;
    MPI_Aint *disps;
    MPI_Datatype blocks = MPI_DATATYPE_NULL;

    if (!o)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    int rc = shim_darray_blocks(ints, o->extent, &nb, &lens, &disps);
    if (rc)
        return rc;
    rc = PMPI_Type_create_hindexed(nb, lens, disps, oldtype, &blocks);
    free(lens);
    free(disps);
    if (rc)
        return SHIM_ECLASS(rc);
    MPI_Aint total = o->extent;
    for (int d = 0; d < ndims; d++)
        total *= ints[3 + d];
    rc = PMPI_Type_create_resized(blocks, 0, total, newtype);
    PMPI_Type_free(&blocks);
    return rc ? SHIM_ECLASS(rc) : 0;
}

SHIM_WEAK(Type_create_darray)
int PMPI_Type_create_darray(int size,
                            int rank,
                            int ndims,
                            const int array_of_gsizes[],
                            const int array_of_distribs[],
                            const int array_of_dargs[],
                            const int array_of_psizes[],
                            int order,
                            MPI_Datatype oldtype,
                            MPI_Datatype *newtype)
{
    const char *fn = "MPI_Type_create_darray";

    if (ndims <= 0 || !array_of_gsizes || !array_of_distribs || !array_of_dargs
        || !array_of_psizes || !newtype)
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_ARG));
    int ni = 4 * ndims + 4;
    int *ints = malloc(sizeof(int) * (size_t)ni);
    if (!ints)
        return shim_err(NULL, fn, -ENOMEM);
    ints[0] = size;
    ints[1] = rank;
    ints[2] = ndims;
    for (int d = 0; d < ndims; d++) {
        ints[3 + d] = array_of_gsizes[d];
        ints[3 + ndims + d] = array_of_distribs[d];
        ints[3 + 2 * ndims + d] = array_of_dargs[d];
        ints[3 + 3 * ndims + d] = array_of_psizes[d];
    }
    ints[3 + 4 * ndims] = order;
    int rc = darray(ints, oldtype, newtype);
    if (rc == 0) {
        rc = shim_dt_record(*newtype, MPI_COMBINER_DARRAY, ni, ints, NULL, 0,
                            NULL, 1, &oldtype);
        if (rc)
            PMPI_Type_free(newtype);
    }
    free(ints);
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}
