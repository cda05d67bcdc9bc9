/* SPDX-License-Identifier: MIT */
/* cart.c - the topology calls beyond creation and queries: MPI_Cart_sub
 * (a Cartesian communicator per slice, kept dimensions in order),
 * MPI_Cart_map and MPI_Graph_map (no reordering: a process keeps its
 * rank when it is in the topology). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

SHIM_WEAK(Cart_sub)
int PMPI_Cart_sub(MPI_Comm comm, const int remain_dims[], MPI_Comm *newcomm)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Cart_sub", rc);
    if (c->topo != MPI_CART)
        rc = SHIM_ECLASS(MPI_ERR_TOPOLOGY);
    if (rc == 0 && (!newcomm || (c->ndims && !remain_dims)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Cart_sub", rc);
    /* This process's coordinates; the dropped ones name its slice. */
    int *co = malloc(sizeof(int) * (c->ndims + 1));
    if (!co)
        return shim_err(c, "MPI_Cart_sub", -ENOMEM);
    int r = c->rank;
    for (int d = c->ndims - 1; d >= 0; d--) {
        co[d] = r % c->dims[d];
        r /= c->dims[d];
    }
    int color = 0, nkeep = 0;
    for (int d = 0; d < c->ndims; d++) {
        if (remain_dims[d])
            nkeep++;
        else
            color = color * c->dims[d] + co[d];
    }
    free(co);
    MPI_Comm n;
    MPI_Errhandler eh = c->errhandler;
    c->errhandler = MPI_ERRORS_RETURN;
    int src = PMPI_Comm_split(comm, color, c->rank, &n);
    c->errhandler = eh;
    if (src)
        return shim_err(c, "MPI_Cart_sub", SHIM_ECLASS(src));
    struct shim_comm *nc = shim_comm_lookup(n);
    nc->topo = MPI_CART;
    nc->ndims = nkeep;
    nc->dims = malloc(sizeof(int) * (nkeep + 1));
    nc->periods = malloc(sizeof(int) * (nkeep + 1));
    if (!nc->dims || !nc->periods) {
        PMPI_Comm_free(&n);
        return shim_err(c, "MPI_Cart_sub", -ENOMEM);
    }
    for (int d = 0, k = 0; d < c->ndims; d++) {
        if (!remain_dims[d])
            continue;
        nc->dims[k] = c->dims[d];
        nc->periods[k++] = c->periods[d];
    }
    *newcomm = n;
    return MPI_SUCCESS;
}

SHIM_WEAK(Cart_map)
int PMPI_Cart_map(MPI_Comm comm,
                  int ndims,
                  const int dims[],
                  const int periods[],
                  int *newrank)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);
    long nodes = 1;

    (void)periods;
    if (rc == 0 && (ndims < 0 || !newrank || (ndims && !dims)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    for (int d = 0; rc == 0 && d < ndims; d++) {
        if (dims[d] <= 0)
            rc = SHIM_ECLASS(MPI_ERR_DIMS);
        else
            nodes *= dims[d];
    }
    if (rc == 0 && nodes > c->size)
        rc = SHIM_ECLASS(MPI_ERR_DIMS);
    if (rc)
        return shim_err(shim_comm_lookup(comm), "MPI_Cart_map", rc);
    *newrank = c->rank < nodes ? c->rank : MPI_UNDEFINED;
    return MPI_SUCCESS;
}

SHIM_WEAK(Graph_map)
int PMPI_Graph_map(MPI_Comm comm,
                   int nnodes,
                   const int index[],
                   const int edges[],
                   int *newrank)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    (void)index;
    (void)edges;
    if (rc == 0 && (nnodes <= 0 || nnodes > c->size || !newrank))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(shim_comm_lookup(comm), "MPI_Graph_map", rc);
    *newrank = c->rank < nnodes ? c->rank : MPI_UNDEFINED;
    return MPI_SUCCESS;
}
