/* SPDX-License-Identifier: MIT */
/* neighbor.c - the neighbourhood collectives MPI_Neighbor_allgather,
 * _allgatherv, _alltoall and _alltoallv on Cartesian, graph and
 * distributed graph communicators (blocking forms).
 *
 * Each process posts one receive per in-neighbour and one send per
 * out-neighbour on the communicator's collective context, then waits for
 * all. Messages are told apart by tag: a collective takes a block of
 * sequence numbers (one per neighbour slot) from comm->coll_seq, which
 * every member advances alike. On a Cartesian communicator the data a
 * process sends towards -1 in a dimension is what its neighbour there
 * receives from +1, so each slot has its tag and they cross (2d <->
 * 2d+1): a periodic dimension of size 1 or 2, where both neighbours are
 * one process, still lands each block in its place. On (distributed)
 * graphs one tag serves all, so messages between two processes pair up
 * in the order of their edges, as the standard asks. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/shim_private.h"

struct nbr_args {
    const void *sendbuf;
    const int *sendcounts; /* NULL: sendcount for every neighbour */
    const int *sdispls;    /* NULL: blocks one after the other */
    int sendcount;
    bool same_send; /* every neighbour gets the whole sendbuf (allgather) */
    MPI_Datatype sendtype;
    void *recvbuf;
    const int *recvcounts;
    const int *displs;
    int recvcount;
    MPI_Datatype recvtype;
};

static int neighbor_run(const char *fn, MPI_Comm comm, const struct nbr_args *a)
{
    struct shim_comm *c;
    struct shim_datatype *st, *rt;
    int *in = NULL, *out = NULL, nin = 0, nout = 0;
    bool cart;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, fn, rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0)
        rc = shim_dt_check(a->sendtype, &st);
    if (rc == 0)
        rc = shim_dt_check(a->recvtype, &rt);
    if (rc == 0)
        rc = shim_topo_neighbors(c, &in, &nin, &out, &nout, &cart);
    if (rc)
        return shim_err(c, fn, rc);
    int slots = cart && nin > 0 ? nin : 1;
    uint32_t base = c->coll_seq;
    c->coll_seq += (uint32_t)slots;
    struct shim_request **reqs =
        calloc((size_t)(nin + nout) + 1, sizeof(*reqs));
    if (!reqs)
        rc = -ENOMEM;
    int nreq = 0;
    for (int i = 0; rc == 0 && i < nin; i++) {
        int n = a->recvcounts ? a->recvcounts[i] : a->recvcount;
        MPI_Aint off = a->displs ? (MPI_Aint)a->displs[i] * rt->extent
                                 : (MPI_Aint)i * a->recvcount * rt->extent;
        int slot = cart ? i ^ 1 : 0;
        int tag = (int)((base + (uint32_t)slot) & SHIM_TAGV_MASK);
        if (in[i] == MPI_PROC_NULL || n < 0) {
            rc = n < 0 ? SHIM_ECLASS(MPI_ERR_COUNT) : 0;
            continue;
        }
        rc = shim_irecv((char *)a->recvbuf + off, (size_t)n, rt, in[i], tag, c,
                        c->ctx | 1, &reqs[nreq]);
        if (rc == 0)
            nreq++;
    }
    for (int j = 0; rc == 0 && j < nout; j++) {
        int n = a->sendcounts ? a->sendcounts[j] : a->sendcount;
        MPI_Aint off = a->same_send ? 0
                       : a->sdispls ? (MPI_Aint)a->sdispls[j] * st->extent
                                    : (MPI_Aint)j * a->sendcount * st->extent;
        int tag = (int)((base + (uint32_t)(cart ? j : 0)) & SHIM_TAGV_MASK);
        if (out[j] == MPI_PROC_NULL || n < 0) {
            rc = n < 0 ? SHIM_ECLASS(MPI_ERR_COUNT) : 0;
            continue;
        }
        rc = shim_isend((const char *)a->sendbuf + off, (size_t)n, st, out[j],
                        tag, c, c->ctx | 1, SHIM_SEND_STD, &reqs[nreq]);
        if (rc == 0)
            nreq++;
    }
    /* What was posted completes before the buffers are handed back. */
    for (int k = 0; k < nreq; k++) {
        int wrc = shim_req_wait(reqs[k]);
        shim_req_free(reqs[k]);
        if (rc == 0)
            rc = wrc;
    }
    free(reqs);
    free(in);
    free(out);
    return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Neighbor_allgather)
int PMPI_Neighbor_allgather(const void *sendbuf,
                            int sendcount,
                            MPI_Datatype sendtype,
                            void *recvbuf,
                            int recvcount,
                            MPI_Datatype recvtype,
                            MPI_Comm comm)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .same_send = true,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcount = recvcount,
                         .recvtype = recvtype};

    return neighbor_run("MPI_Neighbor_allgather", comm, &a);
}

SHIM_WEAK(Neighbor_allgatherv)
int PMPI_Neighbor_allgatherv(const void *sendbuf,
                             int sendcount,
                             MPI_Datatype sendtype,
                             void *recvbuf,
                             const int recvcounts[],
                             const int displs[],
                             MPI_Datatype recvtype,
                             MPI_Comm comm)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .same_send = true,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .displs = displs,
                         .recvtype = recvtype};

    if (!recvcounts || !displs)
        return shim_err(shim_comm_lookup(comm), "MPI_Neighbor_allgatherv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return neighbor_run("MPI_Neighbor_allgatherv", comm, &a);
}

SHIM_WEAK(Neighbor_alltoall)
int PMPI_Neighbor_alltoall(const void *sendbuf,
                           int sendcount,
                           MPI_Datatype sendtype,
                           void *recvbuf,
                           int recvcount,
                           MPI_Datatype recvtype,
                           MPI_Comm comm)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcount = recvcount,
                         .recvtype = recvtype};

    return neighbor_run("MPI_Neighbor_alltoall", comm, &a);
}

SHIM_WEAK(Neighbor_alltoallv)
int PMPI_Neighbor_alltoallv(const void *sendbuf,
                            const int sendcounts[],
                            const int sdispls[],
                            MPI_Datatype sendtype,
                            void *recvbuf,
                            const int recvcounts[],
                            const int rdispls[],
                            MPI_Datatype recvtype,
                            MPI_Comm comm)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcounts = sendcounts,
                         .sdispls = sdispls,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .displs = rdispls,
                         .recvtype = recvtype};

    if (!sendcounts || !sdispls || !recvcounts || !rdispls)
        return shim_err(shim_comm_lookup(comm), "MPI_Neighbor_alltoallv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return neighbor_run("MPI_Neighbor_alltoallv", comm, &a);
}
