/* SPDX-License-Identifier: MIT */
/* coll_inter.c - MPI_Barrier and MPI_Bcast on intercommunicators, and
 * their nonblocking twins, as schedules of the collective engine.
 *
 * A schedule on an intercommunicator runs its local steps in the view of
 * the local group (shim_sched_view_local: over that group's private
 * communicator, on its point-to-point context, which nothing else uses,
 * with the schedule's tag) and the leaders' (local rank 0) steps across.
 * Barrier: a dissemination barrier in each group, the leaders swap a
 * token, and each leader broadcasts it in its group, so no process leaves
 * before every process of both groups has come. Bcast: the root
 * (MPI_ROOT) sends to the other group's leader, which broadcasts in its
 * group; the root's group mates pass MPI_PROC_NULL and do nothing. The
 * reductions are in coll_reduce.c, the gathers, scatters and all-to-alls
 * in coll_alltoallw.c. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/coll_private.h"

int shim_inter_barrier(struct shim_comm *c, MPI_Request *request)
{
    struct shim_sched *s;
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    char *tok = shim_sched_tmp(s, 2);
    if (!tok)
        return shim_sched_finish(s, request);
    tok[0] = 1;
    shim_sched_view_local(s, c);
    shim_barrier_dissemination(s);
    shim_sched_fence(s);
    shim_sched_view_inter(s, c);
    if (c->rank == 0) {
        shim_sched_send(s, tok, 1, 0);
        shim_sched_recv(s, tok + 1, 1, 0);
        shim_sched_fence(s);
    }
    shim_sched_view_local(s, c);
    if (c->local_size > 1)
        shim_bcast_flat(s, tok + 1, 1, 0);
    shim_sched_fence(s);
    shim_sched_view_inter(s, c);
    return shim_sched_finish(s, request);
}

int shim_inter_bcast(void *buf,
                     int count,
                     struct shim_datatype *t,
                     int root,
                     struct shim_comm *c,
                     MPI_Request *request)
{
    struct shim_sched *s;
    int rc = 0;

    if (count < 0)
        rc = SHIM_ECLASS(MPI_ERR_COUNT);
    if (rc == 0 && root != MPI_ROOT && root != MPI_PROC_NULL
        && (root < 0 || root >= c->size))
        rc = SHIM_ECLASS(MPI_ERR_ROOT);
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t n = (size_t)count * t->size;
    if (root == MPI_PROC_NULL || n == 0)
        return shim_sched_finish(s, request);
    if (root == MPI_ROOT) {
        const void *in = shim_sched_in_bytes(s, buf, (size_t)count, t);
        if (in)
            shim_sched_send(s, in, n, 0);
        shim_sched_fence(s);
        return shim_sched_finish(s, request);
    }
    void *out = shim_sched_out_bytes(s, buf, (size_t)count, t);
    if (!out)
        return shim_sched_finish(s, request);
    if (c->rank == 0) {
        shim_sched_recv(s, out, n, root);
        shim_sched_fence(s);
    }
    shim_sched_view_local(s, c);
    if (c->local_size > 1)
        shim_bcast_flat(s, out, n, 0);
    shim_sched_fence(s);
    shim_sched_view_inter(s, c);
    return shim_sched_finish(s, request);
}
