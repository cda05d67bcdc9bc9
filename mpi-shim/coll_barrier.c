/* SPDX-License-Identifier: MIT */
/* coll_barrier.c - MPI_Barrier and MPI_Ibarrier: dissemination, or the
 * node-aware form when the communicator spans nodes, or, blocking, through
 * the node's shared segment (coll_node.c). */
#include "config.h"

#include "mpi-shim/coll_private.h"

/* Dissemination (Hensgen, Finkel and Manber 1988): in round k every rank
 * signals the rank 2^k ahead and hears from the one 2^k behind, so after
 * ceil(log2 p) rounds each has heard, indirectly, from all. */
void shim_barrier_dissemination(struct shim_sched *s)
{
    int p = s->p, r = s->r;

    for (int k = 1; k < p; k <<= 1) {
        shim_sched_recv(s, NULL, 0, (r - k + p) % p);
        shim_sched_send(s, NULL, 0, (r + k) % p);
        shim_sched_fence(s);
    }
}

static int barrier(struct shim_comm *c, MPI_Request *request)
{
    struct shim_sched *s;

    if (!request && c->size > 1 && shim_node_shm_barrier_applies(c))
        return shim_node_shm_barrier(c);
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    const struct shim_nodemap *nm = shim_node_map(c);
    if (nm)
        shim_node_barrier(s, nm);
    else
        shim_barrier_dissemination(s);
    return shim_sched_finish(s, request);
}

int shim_coll_barrier(struct shim_comm *comm)
{
    return barrier(comm, NULL);
}

SHIM_WEAK(Barrier)
int PMPI_Barrier(MPI_Comm comm)
{
    struct shim_comm *c = shim_comm_lookup(comm);

    if (c && c->inter)
        return SHIM_COLL_RET(c, "MPI_Barrier", shim_inter_barrier(c, NULL));
    int rc = shim_coll_comm_check(comm, &c);

    if (rc == 0)
        rc = barrier(c, NULL);
    return SHIM_COLL_RET(c, "MPI_Barrier", rc);
}

SHIM_WEAK(Ibarrier)
int PMPI_Ibarrier(MPI_Comm comm, MPI_Request *request)
{
    struct shim_comm *c = NULL;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0 && !request)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && c->inter)
        rc = shim_inter_barrier(c, request);
    else if (rc == 0)
        rc = barrier(c, request);
    return SHIM_COLL_RET(c, "MPI_Ibarrier", rc);
}
