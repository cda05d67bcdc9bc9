/* SPDX-License-Identifier: MIT */
/* intercomm.c - intercommunicators: MPI_Intercomm_create, _merge, dup,
 * and the remote group.
 *
 * An intercommunicator is a struct shim_comm whose world[] and size are
 * the remote group's, so point-to-point addresses remote ranks with no
 * change to pt2pt.c: a send puts the sender's local rank in the tag, and
 * that is its rank in the receiver's remote group. Both groups use one
 * context id, agreed as for any communicator except that the free-id
 * masks of the two groups meet through their leaders: each group ANDs its
 * members' masks (an allreduce over its local intracommunicator), the
 * leaders swap the results, and each broadcasts the AND of both. Each
 * intercommunicator keeps a private intracommunicator of its local group
 * (local, its own context id, no attributes) for the collectives, which
 * are schedules of the collective engine (coll_inter.c, coll_reduce.c,
 * coll_alltoallw.c): local steps over that communicator joined by the
 * leaders' (local rank 0 of each group) exchanges on the
 * intercommunicator's collective context, tagged with the collective
 * sequence number every member advances in step. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

enum { NMASK = SHIM_NCTX / 32 };

/* Sends scount elements of st to peer and receives up to rcount of rt
 * from it, on context ctx of via with tag; blocking. */
static int xchg(const void *sbuf,
                size_t scount,
                struct shim_datatype *st,
                void *rbuf,
                size_t rcount,
                struct shim_datatype *rt,
                int peer,
                int tag,
                struct shim_comm *via,
                unsigned ctx)
{
    struct shim_request *rr, *sr;
    int rc = shim_irecv(rbuf, rcount, rt, peer, tag, via, ctx, &rr);

    if (rc)
        return rc;
    rc = shim_isend(sbuf, scount, st, peer, tag, via, ctx, SHIM_SEND_STD, &sr);
    if (rc == 0) {
        rc = shim_req_wait(sr);
        shim_req_free(sr);
    }
    /* A receive is posted: it must complete before its buffer goes. */
    int rrc = shim_req_wait(rr);
    shim_req_free(rr);
    return rc ? rc : rrc;
}

static int xchg_bytes(const void *sbuf,
                      size_t sbytes,
                      void *rbuf,
                      size_t rbytes,
                      int peer,
                      int tag,
                      struct shim_comm *via,
                      unsigned ctx)
{
    struct shim_datatype *byte = shim_dt_get(MPI_BYTE);

    return xchg(sbuf, sbytes, byte, rbuf, rbytes, byte, peer, tag, via, ctx);
}

/* The tag of the next collective on intercommunicator c; every member
 * calls it once per collective. */
static int inter_tag(struct shim_comm *c)
{
    return (int)(c->coll_seq++ & SHIM_TAGV_MASK);
}

/* Agrees on a context id free in every member of both groups; local is
 * this group's intracommunicator, leader its leader's rank in it, and the
 * leader reaches the other leader as rank peer of via on ctx with tag. */
static int agree_ctx(struct shim_comm *local,
                     int leader,
                     struct shim_comm *via,
                     int peer,
                     unsigned ctx,
                     int tag,
                     unsigned *id)
{
    uint32_t mask[NMASK], other[NMASK];
    shim_ctx_hold();
    int rc = shim_ctx_mask(local, mask);

    if (rc == 0 && local->rank == leader) {
        rc = xchg_bytes(mask, sizeof(mask), other, sizeof(other), peer, tag,
                        via, ctx);
        for (int w = 0; w < NMASK; w++)
            mask[w] &= other[w];
    }
    if (rc == 0)
        rc = PMPI_Bcast(mask, NMASK, MPI_UINT32_T, leader, local->handle);
    shim_ctx_release();
    return rc ? rc : shim_ctx_pick(mask, id);
}

/* A private intracommunicator of the members of parent (collective). */
static int local_dup(struct shim_comm *parent, struct shim_comm **out)
{
    uint32_t mask[NMASK];
    unsigned id;
    int rc = shim_ctx_mask(parent, mask);

    if (rc == 0)
        rc = shim_ctx_pick(mask, &id);
    if (rc)
        return rc;
    int *w = malloc(sizeof(int) * parent->size);
    if (!w)
        return -ENOMEM;
    memcpy(w, parent->world, sizeof(int) * parent->size);
    *out = shim_comm_new(id, parent->size, w, parent->rank);
    if (!*out) {
        free(w);
        return -ENOMEM;
    }
    (*out)->errhandler = MPI_ERRORS_RETURN;
    snprintf((*out)->name, sizeof((*out)->name), "intercommunicator group");
    return 0;
}

static void comm_discard(struct shim_comm *c)
{
    if (!c)
        return;
    c->freed = true;
    shim_comm_decref(c);
}

/* Builds the intercommunicator on id over local (taken over) with the
 * remote group rworld (rsize ranks, taken over). */
static int inter_make(unsigned id,
                      struct shim_comm *local,
                      int rsize,
                      int *rworld,
                      MPI_Errhandler eh,
                      struct shim_comm **out)
{
    int *lw = malloc(sizeof(int) * local->size);
    struct shim_comm *ic;

    if (!lw) {
        free(rworld);
        return -ENOMEM;
    }
    ic = shim_comm_new(id, rsize, rworld, local->rank);
    if (!ic) {
        free(lw);
        free(rworld);
        return -ENOMEM;
    }
    memcpy(lw, local->world, sizeof(int) * local->size);
    ic->inter = true;
    ic->local = local;
    ic->local_size = local->size;
    ic->local_world = lw;
    ic->errhandler = eh;
    *out = ic;
    return 0;
}

static int intercomm_create(struct shim_comm *lc,
                            int local_leader,
                            MPI_Comm peer_comm,
                            int remote_leader,
                            int tag,
                            struct shim_comm **out)
{
    struct shim_comm *local = NULL, *pc = NULL;
    int *rworld = NULL;
    int rsize = 0;
    unsigned id;
    int rc = local_dup(lc, &local);

    if (rc == 0 && lc->rank == local_leader) {
        rc = shim_comm_check(peer_comm, &pc);
        if (rc == 0 && (remote_leader < 0 || remote_leader >= pc->size))
            rc = SHIM_ECLASS(MPI_ERR_RANK);
        if (rc == 0)
            rc = xchg_bytes(&lc->size, sizeof(int), &rsize, sizeof(int),
                            remote_leader, tag, pc, pc->ctx);
    }
    /* Every member learns whether the leader got this far. */
    int status[2] = {rc ? shim_err_class(rc) : 0, rsize};
    int brc = PMPI_Bcast(status, 2, MPI_INT, local_leader, local->handle);
    if (brc || status[0]) {
        comm_discard(local);
        return brc ? brc : SHIM_ECLASS(status[0]);
    }
    rsize = status[1];
    rworld = malloc(sizeof(int) * (rsize ? rsize : 1));
    if (!rworld) {
        comm_discard(local);
        return -ENOMEM;
    }
    if (lc->rank == local_leader)
        rc = xchg_bytes(lc->world, sizeof(int) * lc->size, rworld,
                        sizeof(int) * rsize, remote_leader, tag, pc, pc->ctx);
    if (rc == 0)
        rc = PMPI_Bcast(rworld, rsize, MPI_INT, local_leader, local->handle);
    if (rc == 0)
        rc = agree_ctx(local, local_leader, pc, remote_leader, pc ? pc->ctx : 0,
                       tag, &id);
    if (rc == 0)
        return inter_make(id, local, rsize, rworld, lc->errhandler, out);
    free(rworld);
    comm_discard(local);
    return rc;
}

SHIM_WEAK(Intercomm_create)
int PMPI_Intercomm_create(MPI_Comm local_comm,
                          int local_leader,
                          MPI_Comm peer_comm,
                          int remote_leader,
                          int tag,
                          MPI_Comm *newintercomm)
{
    struct shim_comm *lc, *ic;
    int rc = shim_comm_check(local_comm, &lc);

    if (rc == 0 && lc->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0 && (local_leader < 0 || local_leader >= lc->size))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    if (rc == 0 && (tag < 0 || tag > SHIM_TAG_MAX))
        rc = SHIM_ECLASS(MPI_ERR_TAG);
    if (rc == 0 && !newintercomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = intercomm_create(lc, local_leader, peer_comm, remote_leader, tag,
                              &ic);
    if (rc)
        return shim_err(rc == SHIM_ECLASS(MPI_ERR_COMM) ? NULL : lc,
                        "MPI_Intercomm_create", rc);
    *newintercomm = ic->handle;
    return MPI_SUCCESS;
}

int shim_intercomm_dup(struct shim_comm *c, struct shim_comm **out)
{
    struct shim_comm *local;
    int tag = inter_tag(c);
    unsigned id;
    int rc = local_dup(c->local, &local);

    if (rc == 0)
        rc = agree_ctx(local, 0, c, 0, c->ctx | 1, tag, &id);
    if (rc) {
        comm_discard(local);
        return rc;
    }
    int *rw = malloc(sizeof(int) * c->size);
    if (!rw) {
        comm_discard(local);
        return -ENOMEM;
    }
    memcpy(rw, c->world, sizeof(int) * c->size);
    rc = inter_make(id, local, c->size, rw, c->errhandler, out);
    if (rc)
        comm_discard(local);
    return rc;
}

int shim_intercomm_dup_on(struct shim_comm *c,
                          unsigned id,
                          unsigned local_id,
                          struct shim_comm **out)
{
    struct shim_comm *local;
    int *w = malloc(sizeof(int) * c->local_size);
    int *rw = malloc(sizeof(int) * c->size);

    if (!w || !rw) {
        free(w);
        free(rw);
        return -ENOMEM;
    }
    memcpy(w, c->local->world, sizeof(int) * c->local_size);
    memcpy(rw, c->world, sizeof(int) * c->size);
    local = shim_comm_new(local_id, c->local_size, w, c->rank);
    if (!local) {
        free(w);
        free(rw);
        return -ENOMEM;
    }
    local->errhandler = MPI_ERRORS_RETURN;
    snprintf(local->name, sizeof(local->name), "intercommunicator group");
    int rc = inter_make(id, local, c->size, rw, c->errhandler, out);
    if (rc)
        comm_discard(local);
    return rc;
}

static int inter_check(MPI_Comm comm, struct shim_comm **out)
{
    int rc = shim_comm_check(comm, out);

    if (rc == 0 && !(*out)->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    return rc;
}

static int
intercomm_merge(struct shim_comm *c, int high, struct shim_comm **out)
{
    struct shim_comm *local = c->local;
    int tag = inter_tag(c);
    /* high flag and the group's first world rank, for a tie. */
    int mine[2] = {high != 0, c->local_world[0]}, theirs[2];
    int rc = 0;

    if (local->rank == 0)
        rc = xchg_bytes(mine, sizeof(mine), theirs, sizeof(theirs), 0, tag, c,
                        c->ctx | 1);
    if (rc == 0)
        rc = PMPI_Bcast(theirs, 2, MPI_INT, 0, local->handle);
    if (rc)
        return rc;
    /* The leader's flag decides for its group. */
    rc = PMPI_Bcast(mine, 2, MPI_INT, 0, local->handle);
    if (rc)
        return rc;
    bool first =
        mine[0] != theirs[0] ? mine[0] < theirs[0] : mine[1] < theirs[1];
    int n = c->local_size + c->size;
    int *w = malloc(sizeof(int) * n);
    if (!w)
        return -ENOMEM;
    int *lo = first ? c->local_world : c->world;
    int nlo = first ? c->local_size : c->size;
    int *hi = first ? c->world : c->local_world;
    memcpy(w, lo, sizeof(int) * nlo);
    memcpy(w + nlo, hi, sizeof(int) * (n - nlo));
    unsigned id;
    rc = agree_ctx(local, 0, c, 0, c->ctx | 1, tag, &id);
    if (rc) {
        free(w);
        return rc;
    }
    int me = first ? c->rank : c->size + c->rank;
    *out = shim_comm_new(id, n, w, me);
    if (!*out) {
        free(w);
        return -ENOMEM;
    }
    (*out)->errhandler = c->errhandler;
    return 0;
}

SHIM_WEAK(Intercomm_merge)
int PMPI_Intercomm_merge(MPI_Comm intercomm, int high, MPI_Comm *newintracomm)
{
    struct shim_comm *c, *n;
    int rc = inter_check(intercomm, &c);

    if (rc == 0 && !newintracomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = intercomm_merge(c, high, &n);
    if (rc)
        return shim_err(shim_comm_lookup(intercomm), "MPI_Intercomm_merge", rc);
    *newintracomm = n->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_remote_size)
int PMPI_Comm_remote_size(MPI_Comm comm, int *size)
{
    struct shim_comm *c;
    int rc = inter_check(comm, &c);

    if (rc == 0 && !size)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(shim_comm_lookup(comm), "MPI_Comm_remote_size", rc);
    *size = c->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_remote_group)
int PMPI_Comm_remote_group(MPI_Comm comm, MPI_Group *group)
{
    struct shim_comm *c;
    int rc = inter_check(comm, &c);

    if (rc == 0 && !group)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(shim_comm_lookup(comm), "MPI_Comm_remote_group", rc);
    int *w = malloc(sizeof(int) * c->size);
    if (!w)
        return shim_err(c, "MPI_Comm_remote_group", -ENOMEM);
    memcpy(w, c->world, sizeof(int) * c->size);
    rc = shim_group_new(c->size, w, group);
    return rc ? shim_err(c, "MPI_Comm_remote_group", rc) : MPI_SUCCESS;
}

/* ---- MPI_Comm_split and MPI_Comm_create ------------------------------------
 * Each group learns every member's (color, key) of both groups (an
 * allgather in the group, the leaders swap, a broadcast); a process's new
 * intercommunicator joins the processes of its color in its group with
 * those of its color in the other, each side ordered by key then rank.
 * Two context ids are agreed over the whole intercommunicator: the first
 * for the new local group's communicator, the second for the new
 * intercommunicator. A color missing on either side gives MPI_COMM_NULL. */
struct split_member {
    int key;
    int rank;
    int world;
};

static int member_cmp(const void *a, const void *b)
{
    const struct split_member *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rank - y->rank;
}

/* The world ranks of the members of all (n pairs of color, key; world
 * ranks in world[]) with color, ordered; *me their index of rank mine
 * (-1: none). NULL and *nout 0 when none. */
static int *split_members(const int *all,
                          int n,
                          const int *world,
                          int color,
                          int mine,
                          int *nout,
                          int *me)
{
    struct split_member *m = malloc(sizeof(*m) * (size_t)(n ? n : 1));
    int k = 0;

    *nout = 0;
    *me = -1;
    if (!m)
        return NULL;
    for (int r = 0; r < n; r++)
        if (all[2 * r] == color && color != MPI_UNDEFINED)
            m[k++] = (struct split_member){all[2 * r + 1], r, world[r]};
    qsort(m, (size_t)k, sizeof(*m), member_cmp);
    int *w = malloc(sizeof(int) * (size_t)(k ? k : 1));
    for (int i = 0; w && i < k; i++) {
        w[i] = m[i].world;
        if (m[i].rank == mine)
            *me = i;
    }
    free(m);
    *nout = k;
    return w;
}

int shim_intercomm_split(struct shim_comm *c,
                         int color,
                         int key,
                         struct shim_comm **out)
{
    struct shim_datatype *i2 = shim_dt_get(MPI_INT);
    int tag = inter_tag(c);
    int mine[2] = {color, key};
    int *lall = malloc(sizeof(int) * 2 * (size_t)c->local_size);
    int *rall = malloc(sizeof(int) * 2 * (size_t)c->size);
    int *lw = NULL, *rw = NULL, nl = 0, nr = 0, me = -1, rme;
    unsigned lid, id;
    int rc = lall && rall ? 0 : -ENOMEM;

    *out = NULL;
    if (rc == 0)
        rc = shim_coll_allgather(mine, 2, i2, lall, 2, i2, c->local);
    if (rc == 0 && c->rank == 0)
        rc = xchg_bytes(lall, sizeof(int) * 2 * c->local_size, rall,
                        sizeof(int) * 2 * c->size, 0, tag, c, c->ctx | 1);
    if (rc == 0)
        rc = PMPI_Bcast(rall, 2 * c->size, MPI_INT, 0, c->local->handle);
    /* Both ids are agreed by every member, with or without a result. */
    if (rc == 0)
        rc = agree_ctx(c->local, 0, c, 0, c->ctx | 1, tag, &lid);
    if (rc == 0) {
        lw = split_members(lall, c->local_size, c->local_world, color, c->rank,
                           &nl, &me);
        rw = split_members(rall, c->size, c->world, color, -1, &nr, &rme);
        if (!lw || !rw)
            rc = -ENOMEM;
    }
    struct shim_comm *local = NULL;
    if (rc == 0 && nl > 0 && nr > 0) {
        local = shim_comm_new(lid, nl, lw, me);
        if (!local)
            rc = -ENOMEM;
        else
            lw = NULL;
        if (local) {
            local->errhandler = MPI_ERRORS_RETURN;
            snprintf(local->name, sizeof(local->name),
                     "intercommunicator group");
        }
    }
    if (rc == 0)
        rc = agree_ctx(c->local, 0, c, 0, c->ctx | 1, tag, &id);
    if (rc == 0 && local) {
        rc = inter_make(id, local, nr, rw, c->errhandler, out);
        rw = NULL;
        if (rc == 0)
            local = NULL;
    }
    comm_discard(local);
    free(lw);
    free(rw);
    free(lall);
    free(rall);
    return rc;
}
