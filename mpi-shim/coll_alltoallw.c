/* SPDX-License-Identifier: MIT */
/* coll_alltoallw.c - the general all-to-all exchange: MPI_Alltoallw and
 * MPI_Ialltoallw (a datatype and a byte displacement per peer),
 * MPI_Ialltoallv, and the all-to-all family on intercommunicators
 * (MPI_Alltoall, _Alltoallv and _Alltoallw there, where each process
 * exchanges with every process of the other group).
 *
 * One schedule (coll_sched.c) posts every receive and every send at once
 * and waits for all, as MPICH's linear alltoallv does; this rank's own
 * block is a local copy. Send data with holes is packed when the call is
 * made, received data with holes unpacked when the schedule ends. With
 * MPI_IN_PLACE each block of the receive buffer is copied (packed) when
 * the call is made, and is sent from the copy. The receive blocks of
 * different peers must not overlap (the standard's rule); the send and
 * receive types of each pair must have the same type signature, the
 * amounts may differ, the receiver's count bounding what lands. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"

/* One side of the exchange: per peer a count, a byte displacement and a
 * type (types[0] for all when one_type). */
struct w_side {
    const void *buf;
    const int *counts;
    const MPI_Aint *displs;
    struct shim_datatype **types;
};

static int w_exchange(struct shim_comm *c,
                      const struct w_side *snd,
                      const struct w_side *rcv,
                      bool in_place,
                      MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size, r = c->inter ? -1 : c->rank;
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    for (int i = 0; i < p; i++) {
        struct shim_datatype *rt = rcv->types[i];
        if (rcv->counts[i] == 0 || i == r)
            continue;
        char *base = (char *)rcv->buf + rcv->displs[i];
        void *dst = shim_sched_out_bytes(s, base, (size_t)rcv->counts[i], rt);
        if (dst)
            shim_sched_recv(s, dst, (size_t)rcv->counts[i] * rt->size, i);
    }
    for (int i = 0; i < p; i++) {
        struct shim_datatype *st = snd->types[i];
        if (snd->counts[i] == 0 || i == r)
            continue;
        const char *base = (const char *)snd->buf + snd->displs[i];
        const void *src;
        if (in_place) {
            /* The receive buffer is overwritten while this block travels. */
            void *copy = shim_sched_tmp(s, (size_t)snd->counts[i] * st->size);
            if (copy)
                shim_dt_pack(st, base, (size_t)snd->counts[i], copy);
            src = copy;
        } else {
            src = shim_sched_in_bytes(s, base, (size_t)snd->counts[i], st);
        }
        if (src)
            shim_sched_send(s, src, (size_t)snd->counts[i] * st->size, i);
    }
    /* This rank's own block is a local copy (in place it stays put). */
    if (r >= 0 && !in_place && snd->counts[r] > 0 && rcv->counts[r] > 0) {
        struct shim_datatype *st = snd->types[r], *rt = rcv->types[r];
        const void *src =
            shim_sched_in_bytes(s, (const char *)snd->buf + snd->displs[r],
                                (size_t)snd->counts[r], st);
        void *dst = shim_sched_out_bytes(s, (char *)rcv->buf + rcv->displs[r],
                                         (size_t)rcv->counts[r], rt);
        size_t n = (size_t)rcv->counts[r] * rt->size;
        size_t m = (size_t)snd->counts[r] * st->size;
        if (src && dst)
            shim_sched_copy(s, src, dst, n < m ? n : m);
    }
    shim_sched_fence(s);
    return shim_sched_finish(s, request);
}

/* Checks one side's arguments for the p peers of c and fills side with
 * byte displacements and types (scratch freed by w_side_free). types is
 * NULL for the v form (one type, element displacements in idispls);
 * otherwise adispls holds byte displacements. */
static int w_side_make(struct shim_comm *c,
                       const void *buf,
                       const int *counts,
                       const int *idispls,
                       const MPI_Datatype *types,
                       MPI_Datatype type,
                       struct w_side *side)
{
    int p = c->size;
    MPI_Aint *d = malloc(sizeof(*d) * (size_t)(p ? p : 1));
    struct shim_datatype **t = calloc((size_t)(p ? p : 1), sizeof(*t));
    struct shim_datatype *one = NULL;
    int rc = 0;

    side->buf = buf;
    side->counts = counts;
    side->displs = d;
    side->types = t;
    if (!d || !t)
        return -ENOMEM;
    if (!counts || !idispls)
        return SHIM_ECLASS(MPI_ERR_ARG);
    if (!types)
        rc = shim_dt_check(type, &one);
    for (int i = 0; rc == 0 && i < p; i++) {
        if (counts[i] < 0) {
            rc = SHIM_ECLASS(MPI_ERR_COUNT);
            break;
        }
        if (types) {
            if (counts[i] > 0 || types[i] != MPI_DATATYPE_NULL)
                rc = shim_dt_check(types[i], &t[i]);
            d[i] = (MPI_Aint)idispls[i];
        } else {
            t[i] = one;
            d[i] = (MPI_Aint)idispls[i] * one->extent;
        }
        if (rc == 0 && !t[i])
            t[i] = shim_dt_get(MPI_BYTE); /* zero count, no type */
    }
    return rc;
}

static void w_side_free(struct w_side *side)
{
    free((void *)side->displs);
    free(side->types);
}

/* The entry of the v and w forms, intra- and intercommunicators alike:
 * stypes/rtypes NULL for the v form. */
static int w_entry(const char *fn,
                   const void *sendbuf,
                   const int *sendcounts,
                   const int *sdispls,
                   const MPI_Datatype *sendtypes,
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   const int *recvcounts,
                   const int *rdispls,
                   const MPI_Datatype *recvtypes,
                   MPI_Datatype recvtype,
                   MPI_Comm comm,
                   MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct w_side snd = {0}, rcv = {0};
    bool w = recvtypes != NULL || sendtypes != NULL;
    bool in_place = sendbuf == MPI_IN_PLACE;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, fn, rc);
    if (in_place && c->inter)
        rc = SHIM_ECLASS(MPI_ERR_BUFFER);
    if (rc == 0 && w && !recvtypes)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && w && !in_place && !sendtypes)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = w_side_make(c, recvbuf, recvcounts, rdispls, recvtypes, recvtype,
                         &rcv);
    if (rc == 0 && in_place) {
        /* Every block goes out from where it comes in. */
        rc = w_side_make(c, recvbuf, recvcounts, rdispls, recvtypes, recvtype,
                         &snd);
    } else if (rc == 0) {
        rc = w_side_make(c, sendbuf, sendcounts, sdispls, sendtypes, sendtype,
                         &snd);
    }
    if (rc == 0)
        rc = w_exchange(c, &snd, &rcv, in_place, request);
    w_side_free(&snd);
    w_side_free(&rcv);
    return SHIM_COLL_RET(c, fn, rc);
}

int shim_inter_move(enum shim_inter_move kind,
                    const void *sendbuf,
                    int sendcount,
                    const int *sendcounts,
                    const int *sdispls,
                    MPI_Datatype sendtype,
                    void *recvbuf,
                    int recvcount,
                    const int *recvcounts,
                    const int *rdispls,
                    MPI_Datatype recvtype,
                    int root,
                    struct shim_comm *c,
                    MPI_Request *request)
{
    int p = c->size;
    int *v = calloc(4 * (size_t)(p ? p : 1), sizeof(int));
    struct w_side snd = {0}, rcv = {0};
    bool sending, receiving;
    int rc = 0;

    if (!v)
        return -ENOMEM;
    if (kind == SHIM_INTER_ALLGATHER) {
        sending = receiving = true;
    } else if (root != MPI_ROOT && root != MPI_PROC_NULL
               && (root < 0 || root >= p)) {
        rc = SHIM_ECLASS(MPI_ERR_ROOT);
        sending = receiving = false;
    } else {
        /* The root gathers from (scatters to) the other group. */
        bool gather = kind == SHIM_INTER_GATHER;
        sending = gather ? root >= 0 : root == MPI_ROOT;
        receiving = gather ? root == MPI_ROOT : root >= 0;
    }
    if (rc == 0 && (sendbuf == MPI_IN_PLACE || recvbuf == MPI_IN_PLACE))
        rc = SHIM_ECLASS(MPI_ERR_BUFFER);
    int *sc = v, *sd = v + p, *rcn = v + 2 * p, *rd = v + 3 * p;
    /* Sends: to every remote rank (allgather, the root's scatter), or
     * one block to the root (gather). */
    for (int i = 0; rc == 0 && sending && i < p; i++) {
        if (kind == SHIM_INTER_GATHER && i != root)
            continue;
        if (kind == SHIM_INTER_SCATTER) {
            sc[i] = sendcounts ? sendcounts[i] : sendcount;
            sd[i] = sendcounts ? (sdispls ? sdispls[i] : 0) : i * sendcount;
        } else {
            sc[i] = sendcount;
        }
    }
    for (int i = 0; rc == 0 && receiving && i < p; i++) {
        if (kind == SHIM_INTER_SCATTER && i != root)
            continue;
        if (kind == SHIM_INTER_SCATTER) {
            rcn[i] = recvcount;
        } else {
            rcn[i] = recvcounts ? recvcounts[i] : recvcount;
            rd[i] = recvcounts ? (rdispls ? rdispls[i] : 0) : i * recvcount;
        }
    }
    if (rc == 0 && sending && kind == SHIM_INTER_SCATTER && sendcounts
        && !sdispls)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && receiving && kind != SHIM_INTER_SCATTER && recvcounts
        && !rdispls)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = w_side_make(c, sendbuf, sc, sd, NULL,
                         sending ? sendtype : MPI_BYTE, &snd);
    if (rc == 0)
        rc = w_side_make(c, recvbuf, rcn, rd, NULL,
                         receiving ? recvtype : MPI_BYTE, &rcv);
    if (rc == 0)
        rc = w_exchange(c, &snd, &rcv, false, request);
    w_side_free(&snd);
    w_side_free(&rcv);
    free(v);
    return rc;
}

int shim_inter_alltoall(const void *sendbuf,
                        int sendcount,
                        MPI_Datatype sendtype,
                        void *recvbuf,
                        int recvcount,
                        MPI_Datatype recvtype,
                        struct shim_comm *c,
                        MPI_Request *request)
{
    int p = c->size;
    int *v = malloc(sizeof(int) * 4 * (size_t)(p ? p : 1));
    int rc;

    if (!v)
        return -ENOMEM;
    for (int i = 0; i < p; i++) {
        v[i] = sendcount;
        v[p + i] = i * sendcount;
        v[2 * p + i] = recvcount;
        v[3 * p + i] = i * recvcount;
    }
    rc = w_entry(request ? "MPI_Ialltoall" : "MPI_Alltoall", sendbuf, v, v + p,
                 NULL, sendtype, recvbuf, v + 2 * p, v + 3 * p, NULL, recvtype,
                 c->handle, request);
    free(v);
    return rc;
}

int shim_alltoallv(const char *fn,
                   const void *sendbuf,
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
    return w_entry(fn, sendbuf, sendcounts, sdispls, NULL, sendtype, recvbuf,
                   recvcounts, rdispls, NULL, recvtype, comm, request);
}

SHIM_WEAK(Ialltoallv)
int PMPI_Ialltoallv(const void *sendbuf,
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
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ialltoallv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return shim_alltoallv("MPI_Ialltoallv", sendbuf, sendcounts, sdispls,
                          sendtype, recvbuf, recvcounts, rdispls, recvtype,
                          comm, request);
}

SHIM_WEAK(Alltoallw)
int PMPI_Alltoallw(const void *sendbuf,
                   const int sendcounts[],
                   const int sdispls[],
                   const MPI_Datatype sendtypes[],
                   void *recvbuf,
                   const int recvcounts[],
                   const int rdispls[],
                   const MPI_Datatype recvtypes[],
                   MPI_Comm comm)
{
    return w_entry("MPI_Alltoallw", sendbuf, sendcounts, sdispls, sendtypes,
                   MPI_DATATYPE_NULL, recvbuf, recvcounts, rdispls, recvtypes,
                   MPI_DATATYPE_NULL, comm, NULL);
}

SHIM_WEAK(Ialltoallw)
int PMPI_Ialltoallw(const void *sendbuf,
                    const int sendcounts[],
                    const int sdispls[],
                    const MPI_Datatype sendtypes[],
                    void *recvbuf,
                    const int recvcounts[],
                    const int rdispls[],
                    const MPI_Datatype recvtypes[],
                    MPI_Comm comm,
                    MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ialltoallw",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return w_entry("MPI_Ialltoallw", sendbuf, sendcounts, sdispls, sendtypes,
                   MPI_DATATYPE_NULL, recvbuf, recvcounts, rdispls, recvtypes,
                   MPI_DATATYPE_NULL, comm, request);
}
