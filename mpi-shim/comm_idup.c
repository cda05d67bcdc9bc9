/* SPDX-License-Identifier: MIT */
/* comm_idup.c - MPI_Comm_idup: a nonblocking MPI_Comm_dup, on intra- and
 * intercommunicators, as one schedule of the collective engine.
 *
 * The new communicator needs a context id free in every member while
 * other communicators may be made meanwhile (blocking calls, other
 * idups), so the agreement works on a window of ids at a time, in rounds:
 * round k covers the ids [k * 256, (k + 1) * 256). Each process reserves
 * the ids of the window still free in it (nothing else may take them
 * until the round ends), the members AND their reservations (an allreduce
 * over the communicator; on an intercommunicator over each group, then
 * between the leaders, then a broadcast in each group), and the lowest id
 * set in all is taken (on an intercommunicator the two lowest: one for
 * the new intercommunicator, one for its local group's communicator);
 * the rest of the reservation is given back. Every member sees the same
 * AND, so all take the same id or all go on to the next window; past the
 * last window the request fails with MPI_ERR_INTERN (no id left), as
 * MPI_Comm_dup does.
 *
 * A blocking agreement reads the free ids once and takes one at its end
 * (shim_ctx_hold in comm.c): a reservation made in between could take an
 * id it will pick. So a round reserves only while no blocking agreement
 * is in flight in this process, and otherwise waits (its step is polled
 * again at the next progress). A limit follows: when a later window is
 * needed (the members' free ids differ in the first) while this process
 * is inside a blocking communicator creation that another member joins
 * only after this idup completes, the two wait for each other. The first
 * round is reserved when MPI_Comm_idup is called, so a single-window
 * agreement, the common case, never waits. The new handle is written to
 * *newcomm when the request completes; the copy callbacks of the
 * attributes run then. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"

enum {
    WIN_WORDS = 8, /* 256 ids a round */
    WIN_IDS = WIN_WORDS * 32,
    ROUNDS = SHIM_NCTX / WIN_IDS,
};

struct idup {
    struct shim_comm *c;
    MPI_Comm *newcomm;
    int round;
    bool reserved;
    uint32_t mine[WIN_WORDS]; /* this process's reservation */
    uint32_t agreed[WIN_WORDS];
    uint32_t other[WIN_WORDS]; /* the other group's, at a leader */
};

static int idup_round(struct shim_sched *s, void *arg);

static struct shim_red band_red(void)
{
    struct shim_red rd;

    shim_op_check(MPI_BAND, &rd.op);
    rd.rdt = MPI_UINT32_T;
    rd.esz = sizeof(uint32_t);
    rd.nelem = WIN_WORDS;
    return rd;
}

/* Takes the lowest id of the agreed window (two on intercommunicators)
 * and makes the communicator, or moves on to the next window. */
static int idup_decide(struct shim_sched *s, void *arg)
{
    struct idup *d = arg;
    unsigned first = (unsigned)d->round * WIN_IDS;
    unsigned ids[2];
    int need = d->c->inter ? 2 : 1, got = 0;
    uint32_t keep[WIN_WORDS];

    memcpy(keep, d->agreed, sizeof(keep));
    for (unsigned w = 0; w < WIN_WORDS && got < need; w++) {
        while (keep[w] && got < need) {
            unsigned bit = (unsigned)__builtin_ctz(keep[w]);
            ids[got++] = first + w * 32 + bit;
            keep[w] &= keep[w] - 1;
        }
    }
    /* Give back the reservation but the ids taken. */
    uint32_t back[WIN_WORDS];
    memcpy(back, d->mine, sizeof(back));
    for (int i = 0; i < got && got == need; i++)
        back[(ids[i] - first) / 32] &= ~(1u << (ids[i] % 32));
    shim_ctx_unreserve(first, WIN_WORDS, back);
    d->reserved = false;
    if (got < need) {
        if (++d->round >= ROUNDS)
            return SHIM_ECLASS(MPI_ERR_INTERN);
        shim_sched_call(s, idup_round, d);
        return 0;
    }
    struct shim_comm *n;
    int rc;
    if (d->c->inter) {
        rc = shim_intercomm_dup_on(d->c, ids[0], ids[1], &n);
        if (rc == 0)
            rc = shim_intercomm_dup_attrs(d->c, n);
    } else {
        rc = shim_comm_dup_on(d->c, ids[0], &n);
    }
    if (rc) {
        /* Ids not used by a communicator go back. */
        uint32_t ret[WIN_WORDS] = {0};
        for (int i = 0; i < got; i++)
            ret[(ids[i] - first) / 32] |= 1u << (ids[i] % 32);
        shim_ctx_unreserve(first, WIN_WORDS, ret);
        return rc;
    }
    *d->newcomm = n->handle;
    return 0;
}

/* Reserves this round's window and appends its agreement. */
static int idup_round(struct shim_sched *s, void *arg)
{
    struct idup *d = arg;
    struct shim_comm *c = d->c;
    struct shim_red rd = band_red();
    unsigned first = (unsigned)d->round * WIN_IDS;

    if (shim_ctx_held())
        return 1;
    shim_ctx_reserve(first, WIN_WORDS, d->mine);
    d->reserved = true;
    memcpy(d->agreed, d->mine, sizeof(d->agreed));
    if (!c->inter) {
        shim_allreduce_flat(s, d->agreed, &rd);
    } else {
        /* Each group ANDs its own, the leaders swap, each group gets the
         * AND of both. Local steps go over the local group's
         * communicator (its point-to-point context, which nothing else
         * uses) with the schedule's tag. */
        shim_sched_view_local(s, c);
        shim_allreduce_flat(s, d->agreed, &rd);
        shim_sched_view_inter(s, c);
        if (c->rank == 0) {
            shim_sched_send(s, d->agreed, sizeof(d->agreed), 0);
            shim_sched_recv(s, d->other, sizeof(d->other), 0);
            shim_sched_fence(s);
            shim_sched_reduce(s, d->other, d->agreed, WIN_WORDS, rd.rdt, rd.op);
            shim_sched_fence(s);
        }
        shim_sched_view_local(s, c);
        shim_bcast_flat(s, d->agreed, sizeof(d->agreed), 0);
        shim_sched_view_inter(s, c);
    }
    shim_sched_call(s, idup_decide, d);
    return 0;
}

/* A schedule that fails mid-round gives the round's reservation back. */
static void idup_end(void *arg)
{
    struct idup *d = arg;

    if (d->reserved)
        shim_ctx_unreserve((unsigned)d->round * WIN_IDS, WIN_WORDS, d->mine);
    d->reserved = false;
}

static int idup(struct shim_comm *c, MPI_Comm *newcomm, MPI_Request *request)
{
    struct shim_sched *s;
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    struct idup *d = shim_sched_tmp(s, sizeof(*d));
    if (d) {
        memset(d, 0, sizeof(*d));
        d->c = c;
        d->newcomm = newcomm;
        s->on_free = idup_end;
        s->on_free_arg = d;
        shim_sched_call(s, idup_round, d);
    }
    return shim_sched_finish(s, request);
}

SHIM_WEAK(Comm_idup)
int PMPI_Comm_idup(MPI_Comm comm, MPI_Comm *newcomm, MPI_Request *request)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Comm_idup", rc);
    if (!newcomm || !request)
        return shim_err(c, "MPI_Comm_idup", SHIM_ECLASS(MPI_ERR_ARG));
    rc = idup(c, newcomm, request);
    return rc ? shim_err(c, "MPI_Comm_idup", rc) : MPI_SUCCESS;
}
