/* SPDX-License-Identifier: MIT */
/* neighbor.c - the neighbourhood collectives MPI_Neighbor_allgather,
 * _allgatherv, _alltoall, _alltoallv and _alltoallw, and their
 * nonblocking twins (MPI_Ineighbor_*), on Cartesian, graph and
 * distributed graph communicators.
 *
 * Each is one schedule of the collective engine (coll_sched.c): one
 * receive per in-neighbour and one send per out-neighbour, all posted at
 * once; blocking forms run it to the end, nonblocking ones hand it to the
 * progress engine. Messages are told apart by tag: a collective takes a
 * block of sequence numbers (one per neighbour slot) from comm->coll_seq,
 * which every member advances alike. On a Cartesian communicator the
 * data a process sends towards -1 in a dimension is what its neighbour
 * there receives from +1, so each slot has its tag and they cross (2d <->
 * 2d+1): a periodic dimension of size 1 or 2, where both neighbours are
 * one process, still lands each block in its place. On (distributed)
 * graphs one tag serves all, so messages between two processes pair up
 * in the order of their edges, as the standard asks. Send data with holes
 * is packed when the call is made. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/coll_private.h"

struct nbr_args {
    const void *sendbuf;
    const int *sendcounts;      /* NULL: sendcount for every neighbour */
    const int *sdispls;         /* NULL: blocks one after the other */
    const MPI_Aint *sbdispls;   /* the w form: byte displacements */
    const MPI_Datatype *stypes; /* the w form: a type per neighbour */
    int sendcount;
    bool same_send; /* every neighbour gets the whole sendbuf (allgather) */
    MPI_Datatype sendtype;
    void *recvbuf;
    const int *recvcounts;
    const int *displs;
    const MPI_Aint *rbdispls;
    const MPI_Datatype *rtypes;
    int recvcount;
    MPI_Datatype recvtype;
};

/* Block i of one side: its count, byte offset and type. */
static int nbr_block(bool recv,
                     const struct nbr_args *a,
                     int i,
                     struct shim_datatype *one,
                     int *n,
                     MPI_Aint *off,
                     struct shim_datatype **t)
{
    const int *counts = recv ? a->recvcounts : a->sendcounts;
    const int *displs = recv ? a->displs : a->sdispls;
    const MPI_Aint *bd = recv ? a->rbdispls : a->sbdispls;
    const MPI_Datatype *types = recv ? a->rtypes : a->stypes;
    int count = recv ? a->recvcount : a->sendcount;

    *n = counts ? counts[i] : count;
    if (*n < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (types) {
        *off = bd[i];
        if (*n == 0) {
            *t = NULL;
            return 0;
        }
        return shim_dt_check(types[i], t);
    }
    *t = one;
    if (!recv && a->same_send)
        *off = 0;
    else if (displs)
        *off = (MPI_Aint)displs[i] * one->extent;
    else
        *off = (MPI_Aint)i * count * one->extent;
    return 0;
}

static int neighbor_run(const char *fn,
                        MPI_Comm comm,
                        const struct nbr_args *a,
                        MPI_Request *request)
{
    struct shim_comm *c;
    struct shim_datatype *st = NULL, *rt = NULL;
    struct shim_sched *s = NULL;
    int *in = NULL, *out = NULL, nin = 0, nout = 0;
    bool cart;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, fn, rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0 && !a->stypes)
        rc = shim_dt_check(a->sendtype, &st);
    if (rc == 0 && !a->rtypes)
        rc = shim_dt_check(a->recvtype, &rt);
    if (rc == 0)
        rc = shim_topo_neighbors(c, &in, &nin, &out, &nout, &cart);
    /* Every argument is checked before the schedule takes its tags. */
    for (int i = 0; rc == 0 && i < nin; i++) {
        int n;
        MPI_Aint off;
        struct shim_datatype *t;
        rc = nbr_block(true, a, i, rt, &n, &off, &t);
    }
    for (int j = 0; rc == 0 && j < nout; j++) {
        int n;
        MPI_Aint off;
        struct shim_datatype *t;
        rc = nbr_block(false, a, j, st, &n, &off, &t);
    }
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc) {
        free(in);
        free(out);
        return shim_err(c, fn, rc);
    }
    int slots = cart && nin > 0 ? nin : 1;
    uint32_t base = (uint32_t)s->tag;
    c->coll_seq += (uint32_t)(slots - 1);
    for (int i = 0; i < nin; i++) {
        int n;
        MPI_Aint off;
        struct shim_datatype *t;
        int slot = cart ? i ^ 1 : 0;
        int tag = (int)((base + (uint32_t)slot) & SHIM_TAGV_MASK);
        nbr_block(true, a, i, rt, &n, &off, &t);
        if (in[i] == MPI_PROC_NULL || n == 0)
            continue;
        void *dst =
            shim_sched_out_bytes(s, (char *)a->recvbuf + off, (size_t)n, t);
        if (dst)
            shim_sched_recv_tagged(s, dst, (size_t)n * t->size, in[i], tag);
    }
    for (int j = 0; j < nout; j++) {
        int n;
        MPI_Aint off;
        struct shim_datatype *t;
        int tag = (int)((base + (uint32_t)(cart ? j : 0)) & SHIM_TAGV_MASK);
        nbr_block(false, a, j, st, &n, &off, &t);
        if (out[j] == MPI_PROC_NULL || n == 0)
            continue;
        const void *src = shim_sched_in_bytes(s, (const char *)a->sendbuf + off,
                                              (size_t)n, t);
        if (src)
            shim_sched_send_tagged(s, src, (size_t)n * t->size, out[j], tag);
    }
    shim_sched_fence(s);
    free(in);
    free(out);
    return SHIM_COLL_RET(c, fn, shim_sched_finish(s, request));
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

    return neighbor_run("MPI_Neighbor_allgather", comm, &a, NULL);
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
    return neighbor_run("MPI_Neighbor_allgatherv", comm, &a, NULL);
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

    return neighbor_run("MPI_Neighbor_alltoall", comm, &a, NULL);
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
    return neighbor_run("MPI_Neighbor_alltoallv", comm, &a, NULL);
}

SHIM_WEAK(Neighbor_alltoallw)
int PMPI_Neighbor_alltoallw(const void *sendbuf,
                            const int sendcounts[],
                            const MPI_Aint sdispls[],
                            const MPI_Datatype sendtypes[],
                            void *recvbuf,
                            const int recvcounts[],
                            const MPI_Aint rdispls[],
                            const MPI_Datatype recvtypes[],
                            MPI_Comm comm)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcounts = sendcounts,
                         .sbdispls = sdispls,
                         .stypes = sendtypes,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .rbdispls = rdispls,
                         .rtypes = recvtypes};

    if (!sendcounts || !sdispls || !sendtypes || !recvcounts || !rdispls
        || !recvtypes)
        return shim_err(shim_comm_lookup(comm), "MPI_Neighbor_alltoallw",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return neighbor_run("MPI_Neighbor_alltoallw", comm, &a, NULL);
}

static int no_request(MPI_Comm comm, const char *fn)
{
    return shim_err(shim_comm_lookup(comm), fn, SHIM_ECLASS(MPI_ERR_ARG));
}

SHIM_WEAK(Ineighbor_allgather)
int PMPI_Ineighbor_allgather(const void *sendbuf,
                             int sendcount,
                             MPI_Datatype sendtype,
                             void *recvbuf,
                             int recvcount,
                             MPI_Datatype recvtype,
                             MPI_Comm comm,
                             MPI_Request *request)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .same_send = true,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcount = recvcount,
                         .recvtype = recvtype};

    if (!request)
        return no_request(comm, "MPI_Ineighbor_allgather");
    return neighbor_run("MPI_Ineighbor_allgather", comm, &a, request);
}

SHIM_WEAK(Ineighbor_allgatherv)
int PMPI_Ineighbor_allgatherv(const void *sendbuf,
                              int sendcount,
                              MPI_Datatype sendtype,
                              void *recvbuf,
                              const int recvcounts[],
                              const int displs[],
                              MPI_Datatype recvtype,
                              MPI_Comm comm,
                              MPI_Request *request)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .same_send = true,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .displs = displs,
                         .recvtype = recvtype};

    if (!recvcounts || !displs || !request)
        return no_request(comm, "MPI_Ineighbor_allgatherv");
    return neighbor_run("MPI_Ineighbor_allgatherv", comm, &a, request);
}

SHIM_WEAK(Ineighbor_alltoall)
int PMPI_Ineighbor_alltoall(const void *sendbuf,
                            int sendcount,
                            MPI_Datatype sendtype,
                            void *recvbuf,
                            int recvcount,
                            MPI_Datatype recvtype,
                            MPI_Comm comm,
                            MPI_Request *request)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcount = sendcount,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcount = recvcount,
                         .recvtype = recvtype};

    if (!request)
        return no_request(comm, "MPI_Ineighbor_alltoall");
    return neighbor_run("MPI_Ineighbor_alltoall", comm, &a, request);
}

SHIM_WEAK(Ineighbor_alltoallv)
int PMPI_Ineighbor_alltoallv(const void *sendbuf,
                             const int sendcounts[],
                             const int sdispls[],
                             MPI_Datatype sendtype,
                             void *recvbuf,
                             const int recvcounts[],
                             const int rdispls[],
                             MPI_Datatype recvtype,
                             MPI_Comm comm,
                             MPI_Request *request)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcounts = sendcounts,
                         .sdispls = sdispls,
                         .sendtype = sendtype,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .displs = rdispls,
                         .recvtype = recvtype};

    if (!sendcounts || !sdispls || !recvcounts || !rdispls || !request)
        return no_request(comm, "MPI_Ineighbor_alltoallv");
    return neighbor_run("MPI_Ineighbor_alltoallv", comm, &a, request);
}

SHIM_WEAK(Ineighbor_alltoallw)
int PMPI_Ineighbor_alltoallw(const void *sendbuf,
                             const int sendcounts[],
                             const MPI_Aint sdispls[],
                             const MPI_Datatype sendtypes[],
                             void *recvbuf,
                             const int recvcounts[],
                             const MPI_Aint rdispls[],
                             const MPI_Datatype recvtypes[],
                             MPI_Comm comm,
                             MPI_Request *request)
{
    struct nbr_args a = {.sendbuf = sendbuf,
                         .sendcounts = sendcounts,
                         .sbdispls = sdispls,
                         .stypes = sendtypes,
                         .recvbuf = recvbuf,
                         .recvcounts = recvcounts,
                         .rbdispls = rdispls,
                         .rtypes = recvtypes};

    if (!sendcounts || !sdispls || !sendtypes || !recvcounts || !rdispls
        || !recvtypes || !request)
        return no_request(comm, "MPI_Ineighbor_alltoallw");
    return neighbor_run("MPI_Ineighbor_alltoallw", comm, &a, request);
}
