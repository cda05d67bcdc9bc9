/* SPDX-License-Identifier: MIT */
/* ckpt.c - the consistent cut for checkpoints: what libshoal's checkpoint
 * API asks of the MPI when the program links this one.
 *
 * libshoal declares shoal_mpi_ckpt_agree() and shoal_mpi_ckpt_quiesce()
 * weak and calls them when they resolve; their contracts are in
 * shim_private.h and README.md ("Checkpoints").
 *
 * The cut is a drain, as in CoCheck and the counter-based quiescence of
 * MPICH's old checkpointing: every rank counts, per world peer, the
 * point-to-point messages it sent and those it received (matched), where
 * the shim sends and completes them (pt2pt.c, progress.c), at the cost of
 * an increment per message. At the cut the ranks swap their sent counts,
 * so each knows how many messages every peer sent it, and progress until
 * they have taken them all in. Matching is libfabric's, so the shim has no
 * unexpected queue to look into; it does not need one: the application is
 * inside the cut and posts no more receives, so a message still missing
 * can only arrive into a receive already posted. A rank missing more
 * messages than it has receives posted therefore holds (or will hold) at
 * least one message no receive will ever take, and the cut fails with
 * -EBUSY at once. Otherwise the missing messages may be on their way into
 * posted receives (a rendezvous still moving data) or may match none of
 * them; the ranks wait while anything anywhere completes, and fail when
 * nothing has for CKPT_STALL_NS. Every decision is taken from values all
 * ranks reduced together, so all return the same.
 *
 * The counts travel on MPI_COMM_WORLD's collective context, so no
 * application receive can match them. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi-shim/coll_private.h"
#include "mpi-shim/shim_private.h"

struct shim_ckpt_counts shim_ckpt;

/* How long a drain may see no completion anywhere before the missing
 * messages are taken as never to be received. Only reached when a rank
 * has receives posted that do not match what it misses; long enough for
 * a large rendezvous transfer to finish between two completions. */
static const int64_t CKPT_STALL_NS = 2000000000;

int shim_ckpt_init(void)
{
    shim_ckpt.sent = calloc((size_t)shim.size, sizeof(*shim_ckpt.sent));
    shim_ckpt.recvd = calloc((size_t)shim.size, sizeof(*shim_ckpt.recvd));
    if (!shim_ckpt.sent || !shim_ckpt.recvd) {
        shim_ckpt_finalize();
        return -ENOMEM;
    }
    return 0;
}

void shim_ckpt_finalize(void)
{
    free(shim_ckpt.sent);
    free(shim_ckpt.recvd);
    memset(&shim_ckpt, 0, sizeof(shim_ckpt));
}

void shim_ckpt_req_unpost(struct shim_request *req)
{
    if (!req->ckpt)
        return;
    req->ckpt = false;
    if (req->kind == SHIM_REQ_SEND)
        shim_ckpt.pending_sends--;
    else
        shim_ckpt.pending_recvs--;
}

void shim_ckpt_req_done(struct shim_request *req)
{
    shim_ckpt_req_unpost(req);
    shim_ckpt.completions++;
    /* A truncated receive matched its message all the same. */
    if (req->kind == SHIM_REQ_RECV && !req->cancelled && req->source >= 0
        && req->source < req->comm->size)
        shim_ckpt.recvd[req->comm->world[req->source]]++;
}

static bool ckpt_ready(void)
{
    return shim.initialized && !shim.finalized;
}

/* Internal codes are -errno or an MPI class; the caller wants -errno. */
static int ckpt_errno(int rc)
{
    return rc <= -SHIM_ECLASS_BASE ? -EIO : rc;
}

static int64_t ckpt_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int shoal_mpi_ckpt_agree(int *flag)
{
    struct shim_op *max;
    int out;
    int rc;

    if (!flag)
        return -EINVAL;
    if (!ckpt_ready())
        return -ENOTCONN;
    rc = shim_op_check(MPI_MAX, &max);
    if (rc == 0)
        rc = shim_coll_allreduce(flag, &out, 1, shim_dt_get(MPI_INT), max,
                                 shim.world);
    if (rc)
        return ckpt_errno(rc);
    *flag = out;
    return 0;
}

/* expect[p] = the messages world rank p has sent to this one. Each count
 * goes straight from its sender (no Bruck-style forwarding), after
 * everything that sender sent here before the cut. */
static int ckpt_swap_counts(uint64_t *expect)
{
    struct shim_sched *s;
    int p = shim.size, r = shim.rank;
    int rc = shim_sched_create(shim.world, &s);

    if (rc)
        return rc;
    expect[r] = shim_ckpt.sent[r];
    for (int i = 1; i < p; i++) {
        int dst = (r + i) % p, src = (r - i + p) % p;
        shim_sched_send(s, &shim_ckpt.sent[dst], sizeof(*expect), dst);
        shim_sched_recv(s, &expect[src], sizeof(*expect), src);
    }
    return shim_sched_finish(s, NULL);
}

/* One rank's view of the drain, summed over all ranks each round. */
enum ckpt_field {
    CKPT_MISSING,   /* messages sent here and not yet received */
    CKPT_SENDING,   /* sends not yet complete */
    CKPT_LOST,      /* ranks missing more messages than receives posted */
    CKPT_DONE,      /* completions so far */
    CKPT_STALLED,   /* ranks that saw no completion for CKPT_STALL_NS */
    CKPT_OVERCOUNT, /* ranks that received more than was sent (a bug) */
    CKPT_NFIELDS,
};

static void ckpt_view(const uint64_t *expect, bool stalled, int64_t *v)
{
    int64_t missing = 0;
    bool over = false;

    for (int p = 0; p < shim.size; p++) {
        if (shim_ckpt.recvd[p] > expect[p])
            over = true;
        else
            missing += (int64_t)(expect[p] - shim_ckpt.recvd[p]);
    }
    v[CKPT_MISSING] = missing;
    v[CKPT_SENDING] = shim_ckpt.pending_sends;
    v[CKPT_LOST] = missing > shim_ckpt.pending_recvs;
    v[CKPT_DONE] = (int64_t)shim_ckpt.completions;
    v[CKPT_STALLED] = stalled;
    v[CKPT_OVERCOUNT] = over;
}

int shoal_mpi_ckpt_quiesce(void)
{
    int64_t mine[CKPT_NFIELDS], all[CKPT_NFIELDS];
    int64_t last_done = -1, last_change = 0;
    struct shim_op *sum;
    uint64_t *expect;
    int rc;

    if (!ckpt_ready())
        return -ENOTCONN;
    expect = calloc((size_t)shim.size, sizeof(*expect));
    if (!expect)
        return -ENOMEM;
    rc = shim_op_check(MPI_SUM, &sum);
    if (rc == 0)
        rc = ckpt_swap_counts(expect);
    /* Each round drains the completion queue, then sums the ranks' views;
     * the reduction is itself progress for everyone's transfers. */
    while (rc == 0) {
        int idle = 0;
        for (int i = 0; i < 64; i++)
            shim_progress_wait(&idle);
        int64_t now = ckpt_now_ns();
        ckpt_view(expect, last_done >= 0 && now - last_change >= CKPT_STALL_NS,
                  mine);
        rc = shim_coll_allreduce(mine, all, CKPT_NFIELDS,
                                 shim_dt_get(MPI_INT64_T), sum, shim.world);
        if (rc)
            break;
        if (all[CKPT_OVERCOUNT]) {
            rc = -EPROTO;
        } else if (all[CKPT_MISSING] == 0 && all[CKPT_SENDING] == 0) {
            break;
        } else if (all[CKPT_LOST]) {
            rc = -EBUSY;
        } else if (all[CKPT_DONE] != last_done) {
            last_done = all[CKPT_DONE];
            last_change = now;
        } else if (all[CKPT_STALLED] == shim.size) {
            rc = -EBUSY;
        }
    }
    free(expect);
    return ckpt_errno(rc);
}
