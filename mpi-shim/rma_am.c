/* SPDX-License-Identifier: MIT */
/* rma_am.c - the target side of one-sided communication, and the
 * messaging both sides use.
 *
 * Each window keeps one receive posted for request messages (tag 0, any
 * source) on its private AM context. The progress hook added here runs
 * on every poll, inside any MPI call, as the collective schedules do: it
 * applies a window's arrived message to the window's memory, answers it
 * when the origin asked for a reply, and only then posts the receive
 * again. One message at a time, in the order they matched, is what makes
 * accumulates atomic per element and ordered per origin (rma_private.h).
 *
 * Replies to the origin are received into buffers the origin posted
 * before it sent the request; their completion is noticed through the
 * request's release callback, which only counts (it runs inside the
 * transport's completion dispatch, where nothing may be posted).
 *
 * The hook is re-entered when one of its sends meets a full provider
 * queue (the transport then polls); a flag keeps the inner call out. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/rma_private.h"

static struct shim_win *wins;
static bool hooked;
static bool in_hook;

static int post_request_recv(struct shim_win *w)
{
    return shim_irecv(w->ambuf, RMA_AM_MAX, shim_dt_get(MPI_BYTE),
                      MPI_ANY_SOURCE, 0, w->am, w->am_ctx, &w->amreq);
}

/* Sends bytes to the origin as the reply tagged tag; buf is malloc'd and
 * freed here once sent (own) or borrowed until the send completes, which
 * the origin's protocol guarantees (it waits for this reply before the
 * memory may change). */
static int reply_send(struct shim_win *w,
                      int origin,
                      uint32_t tag,
                      void *buf,
                      size_t len,
                      bool own)
{
    struct shim_request *req;
    int rc = shim_isend(buf, len, shim_dt_get(MPI_BYTE), origin, (int)tag,
                        w->am, w->am_ctx, SHIM_SEND_STD, &req);

    if (rc) {
        if (own)
            free(buf);
        return rc;
    }
    if (req->done) {
        if (own)
            free(buf);
        shim_req_free(req);
        return 0;
    }
    req->tmp = own ? buf : NULL;
    req->user_freed = true;
    return 0;
}

/* Sends msg as one message (see rma_am_send). */
static int am_send_now(struct shim_win *w, int target, void *msg, size_t len)
{
    struct shim_request *req;
    int rc = shim_isend(msg, len, shim_dt_get(MPI_BYTE), target, 0, w->am,
                        w->am_ctx, SHIM_SEND_STD, &req);

    if (rc) {
        free(msg);
        return rc;
    }
    w->sent[target]++;
    if (req->done) {
        free(msg);
        shim_req_free(req);
    } else {
        req->tmp = msg;
        req->user_freed = true;
    }
    return 0;
}

/* Small puts and accumulates to one target are gathered into one message
 * (as Open MPI's pt2pt component packs its fragments), sent when the next
 * would not fit, and before anything else goes to that target: so the
 * order per target stays the program's, and every synchronization, which
 * sends something or calls rma_am_push(), sends them first. Each is
 * locally complete already (its data is copied), so nothing waits on a
 * gathered operation but its remote completion. */
enum { AGG_MAX = 4096 };

/* Gathered requests start on 8-byte boundaries, as their headers' fields
 * need: each is padded to a multiple of 8 (the target steps over it). */
static size_t agg_round(size_t len)
{
    return (len + 7) & ~(size_t)7;
}

int rma_am_push(struct shim_win *w, int target)
{
    int rc = 0;

    /* Every synchronization passes here: the loads and stores of direct
     * puts and gets (rma.c) are ordered before what it sends. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    for (int t = target < 0 ? 0 : target;
         t < (target < 0 ? w->size : target + 1); t++) {
        if (w->agg_len[t] == 0)
            continue;
        int e = am_send_now(w, t, w->agg[t], w->agg_len[t]);
        w->agg[t] = NULL;
        w->agg_len[t] = 0;
        if (e && !rc)
            rc = e;
    }
    return rc;
}

int rma_am_send(struct shim_win *w, int target, void *msg, size_t len)
{
    const struct rma_am_hdr *h = msg;
    int rc;

    if ((h->type == RMA_AM_PUT || h->type == RMA_AM_ACC) && len <= AGG_MAX) {
        size_t padded = agg_round(len);

        if (w->agg_len[target] + padded > RMA_AM_MAX) {
            rc = rma_am_push(w, target);
            if (rc) {
                free(msg);
                return rc;
            }
        }
        if (!w->agg[target]) {
            w->agg[target] = malloc(RMA_AM_MAX);
            if (!w->agg[target]) {
                free(msg);
                return -ENOMEM;
            }
        }
        memcpy(w->agg[target] + w->agg_len[target], msg, len);
        memset(w->agg[target] + w->agg_len[target] + len, 0, padded - len);
        w->agg_len[target] += padded;
        free(msg);
        return 0;
    }
    rc = rma_am_push(w, target);
    if (rc) {
        free(msg);
        return rc;
    }
    return am_send_now(w, target, msg, len);
}

/* ---- replies awaited by the origin ------------------------------------
 * The release callback has only its argument, so the slot it gets points
 * back at the request, whose byte count and error the transport filled
 * before calling it. */
struct reply_slot {
    struct shim_win *w;
    int target;
    rma_reply_f *done;
    void *arg;
    struct shim_request *req;
};

static void reply_release(void *arg)
{
    struct reply_slot *s = arg;
    struct shim_request *req = s->req;

    if (s->done)
        s->done(s->arg, req->count_bytes, req->error);
    s->w->outstanding--;
    s->w->out_to[s->target]--;
    free(s);
}

int rma_reply_post(struct shim_win *w,
                   int target,
                   void *buf,
                   size_t len,
                   rma_reply_f *done,
                   void *arg,
                   uint32_t *tag)
{
    struct reply_slot *s = malloc(sizeof(*s));
    struct shim_request *req;
    int rc;

    if (!s)
        return -ENOMEM;
    w->next_reply = (w->next_reply % SHIM_TAG_MAX) + 1;
    *tag = w->next_reply;
    rc = shim_irecv(buf, len, shim_dt_get(MPI_BYTE), target, (int)*tag, w->am,
                    w->am_ctx, &req);
    if (rc) {
        free(s);
        return rc;
    }
    s->w = w;
    s->target = target;
    s->done = done;
    s->arg = arg;
    s->req = req;
    w->outstanding++;
    w->out_to[target]++;
    req->release = reply_release;
    req->release_arg = s;
    req->user_freed = true;
    return 0;
}

static void flag_set(void *arg, size_t bytes, int error)
{
    (void)bytes;
    (void)error;
    *(volatile bool *)arg = true;
}

int rma_am_sync_send(struct shim_win *w,
                     int target,
                     enum rma_am_type type,
                     int lock_type,
                     volatile bool *flag)
{
    struct rma_am_hdr *h = calloc(1, sizeof(*h));
    uint32_t tag;
    int rc;

    if (!h)
        return -ENOMEM;
    *flag = false;
    rc = rma_reply_post(w, target, NULL, 0, flag_set, (void *)flag, &tag);
    if (rc) {
        free(h);
        return rc;
    }
    h->type = (uint8_t)type;
    h->lock_type = (uint8_t)lock_type;
    h->reply = tag;
    return rma_am_send(w, target, h, sizeof(*h));
}

int rma_am_notify(struct shim_win *w, int target, enum rma_am_type type)
{
    struct rma_am_hdr *h = calloc(1, sizeof(*h));

    if (!h)
        return -ENOMEM;
    h->type = (uint8_t)type;
    return rma_am_send(w, target, h, sizeof(*h));
}

/* ---- applying a request ------------------------------------------------ */
/* Where segment disp of w's memory is, checked against the window: the
 * origin checked static windows already, a dynamic window's regions are
 * known here only. NULL when outside. */
static char *seg_addr(struct shim_win *w, uint64_t disp, uint64_t len)
{
    if (w->flavor != MPI_WIN_FLAVOR_DYNAMIC) {
        if (disp + len > (uint64_t)w->bytes || disp + len < disp)
            return NULL;
        return (char *)w->base + disp;
    }
    for (int i = 0; i < w->nregions; i++) {
        uintptr_t b = (uintptr_t)w->regions[i].base;
        if (disp >= b && disp + len <= b + (uint64_t)w->regions[i].size)
            return (char *)(uintptr_t)disp;
    }
    return NULL;
}

/* Where w's memory starts for segment displacements: NULL for a dynamic
 * window, whose displacements are addresses. */
static char *win_base(const struct shim_win *w)
{
    return w->flavor == MPI_WIN_FLAVOR_DYNAMIC ? NULL : (char *)w->base;
}

static char *seg_ptr(char *base, uint64_t disp)
{
    return base ? base + disp : (char *)(uintptr_t)disp;
}

void rma_segs_copy(char *base,
                   const struct rma_am_seg *segs,
                   uint32_t nseg,
                   size_t skip,
                   void *buf,
                   size_t len,
                   bool to_win)
{
    char *p = buf;

    for (uint32_t i = 0; i < nseg && len > 0; i++) {
        if (skip >= segs[i].len) {
            skip -= segs[i].len;
            continue;
        }
        size_t n = segs[i].len - skip;
        if (n > len)
            n = len;
        char *a = seg_ptr(base, segs[i].disp + skip);
        if (to_win)
            memmove(a, p, n);
        else
            memmove(p, a, n);
        p += n;
        len -= n;
        skip = 0;
    }
}

/* An element's alignment: the largest power of two dividing its size,
 * as for every predefined type, at most max_align_t's. */
static size_t elem_align(const struct shim_datatype *bt)
{
    size_t align = (size_t)bt->size & -(size_t)bt->size;

    if (align == 0 || align > _Alignof(max_align_t))
        align = _Alignof(max_align_t);
    return align;
}

/* loop over operands one of which is not aligned for its type (a
 * window's memory at any displacement when its unit is 1, the origin's
 * data behind a header or in a user's buffer): through aligned copies,
 * a few hundred elements at a time. */
static void combine_unaligned(
    shim_op_loop_f *loop, const char *in, char *inout, size_t len, size_t esz)
{
    _Alignas(max_align_t) char a[2048];
    _Alignas(max_align_t) char b[2048];
    size_t step = sizeof(a) / esz * esz;

    for (size_t off = 0; off < len; off += step) {
        size_t k = len - off < step ? len - off : step;
        memcpy(a, in + off, k);
        memcpy(b, inout + off, k);
        loop(a, b, k / esz);
        memcpy(inout + off, b, k);
    }
}

/* Types without padding are combined in place, a segment at a time, by
 * the operation's typed loop (op_loops.c); a MINLOC/MAXLOC pair with
 * padding is brought into its struct layout, combined, and written back,
 * an element at a time. */
static int acc_apply(char *base,
                     struct shim_op *op,
                     MPI_Datatype basic,
                     struct shim_datatype *bt,
                     const struct rma_am_seg *segs,
                     uint32_t nseg,
                     size_t len,
                     const char *data)
{
    int rc;

    if (bt->contig) {
        shim_op_loop_f *loop = shim_op_loop(op, basic);
        size_t align = elem_align(bt);
        if (!loop && op->builtin != 13) /* MPI_REPLACE needs none */
            return SHIM_ECLASS(MPI_ERR_OP);
        for (uint32_t i = 0; i < nseg; i++) {
            char *t = seg_ptr(base, segs[i].disp);
            size_t n = segs[i].len;
            if (!loop)
                memmove(t, data, n);
            else if (((uintptr_t)t | (uintptr_t)data) % align == 0)
                loop(data, t, n / bt->size);
            else
                combine_unaligned(loop, data, t, n, bt->size);
            data += n;
        }
        return 0;
    }
    _Alignas(max_align_t) char pk[64];
    _Alignas(max_align_t) char img_in[64];
    _Alignas(max_align_t) char img_io[64];
    size_t n = len / bt->size;
    if (bt->size > sizeof(pk) || (size_t)bt->extent > sizeof(img_in))
        return SHIM_ECLASS(MPI_ERR_TYPE);
    for (size_t e = 0; e < n; e++) {
        rma_segs_copy(base, segs, nseg, e * bt->size, pk, bt->size, false);
        shim_dt_unpack(bt, pk, bt->size, img_io);
        shim_dt_unpack(bt, data + e * bt->size, bt->size, img_in);
        rc = shim_op_apply(op, img_in, img_io, 1, basic);
        if (rc)
            return rc;
        shim_dt_pack(bt, img_io, 1, pk);
        rma_segs_copy(base, segs, nseg, e * bt->size, pk, bt->size, true);
    }
    return 0;
}

int rma_acc_combine(char *base,
                    struct shim_op *op,
                    MPI_Datatype basic,
                    const struct rma_am_seg *segs,
                    uint32_t nseg,
                    size_t len,
                    const char *data)
{
    struct shim_datatype *bt = shim_dt_get(basic);

    if (!bt || !bt->predefined)
        return SHIM_ECLASS(MPI_ERR_OP);
    if (op->builtin == 14) /* MPI_NO_OP */
        return 0;
    return acc_apply(base, op, basic, bt, segs, nseg, len, data);
}

int rma_acc_apply(char *base,
                  MPI_Op opn,
                  MPI_Datatype basic,
                  const struct rma_am_seg *segs,
                  uint32_t nseg,
                  size_t len,
                  const char *data)
{
    struct shim_op *op;

    if (shim_op_check(opn, &op))
        return SHIM_ECLASS(MPI_ERR_OP);
    return rma_acc_combine(base, op, basic, segs, nseg, len, data);
}

static bool lock_grantable(struct shim_win *w, int type)
{
    if (w->lock_excl)
        return false;
    return type == 1 || w->lock_shared == 0;
}

static void lock_take(struct shim_win *w, int type)
{
    if (type == 1)
        w->lock_shared++;
    else
        w->lock_excl = true;
}

/* Grants queued locks in arrival order while they fit. */
static int lock_grant_queued(struct shim_win *w)
{
    int rc = 0;

    while (w->lockq && lock_grantable(w, w->lockq->type)) {
        struct rma_lock_waiter *q = w->lockq;
        w->lockq = q->next;
        lock_take(w, q->type);
        int e = reply_send(w, q->origin, q->reply, NULL, 0, false);
        if (e && !rc)
            rc = e;
        free(q);
    }
    return rc;
}

static int
lock_request(struct shim_win *w, int origin, const struct rma_am_hdr *h)
{
    if (!w->lockq && lock_grantable(w, h->lock_type)) {
        lock_take(w, h->lock_type);
        return reply_send(w, origin, h->reply, NULL, 0, false);
    }
    struct rma_lock_waiter *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->origin = origin;
    q->type = h->lock_type;
    q->reply = h->reply;
    struct rma_lock_waiter **p = &w->lockq;
    while (*p)
        p = &(*p)->next;
    *p = q;
    return 0;
}

static int
lock_release(struct shim_win *w, int origin, const struct rma_am_hdr *h)
{
    if (h->lock_type == 2)
        w->lock_excl = false;
    else if (h->lock_type == 1 && w->lock_shared > 0)
        w->lock_shared--;
    int rc = lock_grant_queued(w);
    int e = reply_send(w, origin, h->reply, NULL, 0, false);
    return rc ? rc : e;
}

/* Checks that every segment lies in w's memory. */
static bool
segs_valid(struct shim_win *w, const struct rma_am_seg *segs, uint32_t nseg)
{
    for (uint32_t i = 0; i < nseg; i++)
        if (segs[i].len > 0 && !seg_addr(w, segs[i].disp, segs[i].len))
            return false;
    return true;
}

/* Applies one request message from origin; an error here has no caller
 * to return to, so it ends the job with a message naming it. */
/* The bytes of the request starting at h, payload included. */
static size_t record_len(const struct rma_am_hdr *h)
{
    size_t n = sizeof(*h) + h->nseg * sizeof(struct rma_am_seg);

    if (h->type == RMA_AM_PUT || h->type == RMA_AM_ACC
        || h->type == RMA_AM_GACC)
        n += h->len;
    else if (h->type == RMA_AM_CAS)
        n += 2 * h->len;
    return n;
}

/* Applies the request at msg, of len bytes at most; returns its length. */
static size_t
am_apply_one(struct shim_win *w, int origin, char *msg, size_t len)
{
    struct rma_am_hdr *h = (struct rma_am_hdr *)msg;
    struct rma_am_seg *segs = (struct rma_am_seg *)(h + 1);
    char *data = (char *)(segs + h->nseg);
    char *out = NULL;
    int rc = 0;

    if (len < sizeof(*h) || len < record_len(h))
        shim_fatal("RMA: truncated active message");
    if (!segs_valid(w, segs, h->nseg))
        shim_fatal("RMA: access outside the target's window memory");
    switch (h->type) {
    case RMA_AM_PUT:
        rma_segs_copy(win_base(w), segs, h->nseg, 0, data, h->len, true);
        break;
    case RMA_AM_GET:
        if (h->nseg == 1 && h->len > shim_ofi.inject_size) {
            rc = reply_send(w, origin, h->reply,
                            seg_addr(w, segs[0].disp, segs[0].len), h->len,
                            false);
            break;
        }
        out = malloc(h->len ? h->len : 1);
        if (!out)
            SHOAL_MPI_OOM();
        rma_segs_copy(win_base(w), segs, h->nseg, 0, out, h->len, false);
        rc = reply_send(w, origin, h->reply, out, h->len, true);
        break;
    case RMA_AM_ACC:
        rc = rma_acc_apply(win_base(w), h->op, h->basic, segs, h->nseg, h->len,
                           data);
        break;
    case RMA_AM_GACC:
        out = malloc(h->len ? h->len : 1);
        if (!out)
            SHOAL_MPI_OOM();
        rma_segs_copy(win_base(w), segs, h->nseg, 0, out, h->len, false);
        rc = rma_acc_apply(win_base(w), h->op, h->basic, segs, h->nseg, h->len,
                           data);
        if (rc == 0)
            rc = reply_send(w, origin, h->reply, out, h->len, true);
        else
            free(out);
        break;
    case RMA_AM_CAS:
        /* data holds the new value, then the value to compare with. */
        out = malloc(h->len ? h->len : 1);
        if (!out)
            SHOAL_MPI_OOM();
        rma_segs_copy(win_base(w), segs, h->nseg, 0, out, h->len, false);
        if (memcmp(out, data + h->len, h->len) == 0)
            rma_segs_copy(win_base(w), segs, h->nseg, 0, data, h->len, true);
        rc = reply_send(w, origin, h->reply, out, h->len, true);
        break;
    case RMA_AM_LOCK:
        rc = lock_request(w, origin, h);
        break;
    case RMA_AM_UNLOCK:
        rc = lock_release(w, origin, h);
        break;
    case RMA_AM_FLUSH:
        rc = reply_send(w, origin, h->reply, NULL, 0, false);
        break;
    case RMA_AM_POST:
        w->posts_from[origin]++;
        break;
    case RMA_AM_COMPLETE:
        w->completes++;
        break;
    case RMA_AM_SHUTDOWN:
        w->shut = true;
        break;
    default:
        shim_fatal("RMA: unknown active message");
    }
    if (rc == -ENOMEM)
        SHOAL_MPI_OOM();
    if (rc)
        shim_fatal("RMA: cannot apply an operation at its target");
    return record_len(h);
}

/* Applies one message: one request, or several small puts and
 * accumulates an origin gathered (rma_am_send), in their order. */
static void am_apply(struct shim_win *w, int origin, char *msg, size_t len)
{
    size_t off = 0;

    /* gathered requests are padded to 8 bytes; a lone one ends the
     * message, padded or not */
    do
        off += agg_round(am_apply_one(w, origin, msg + off, len - off));
    while (off < len);
    w->applied++;
}

/* Applies w's arrived message, if any, and posts the receive again;
 * whether one was applied. */
static bool am_take(struct shim_win *w)
{
    if (w->shut || !w->amreq || !w->amreq->done)
        return false;
    struct shim_request *req = w->amreq;
    w->amreq = NULL;
    if (req->error)
        shim_fatal("RMA: receiving an active message failed");
    am_apply(w, req->source, w->ambuf, req->count_bytes);
    shim_req_free(req);
    if (!w->shut && post_request_recv(w))
        shim_fatal("RMA: cannot post the active-message receive");
    return true;
}

/* Messages applied per hook call at most: after each, one more poll of
 * the engine (the hook itself is kept out by in_hook) lets the next
 * message match the receive just posted, so a burst is taken in one MPI
 * call rather than one message per call. */
enum { AM_BURST = 32 };

static void rma_progress(void *arg)
{
    (void)arg;
    if (in_hook)
        return;
    in_hook = true;
    for (struct shim_win *w = wins; w; w = w->next) {
        for (int n = 0; n < AM_BURST && am_take(w); n++)
            shim_progress();
    }
    in_hook = false;
}

int rma_am_start(struct shim_win *w)
{
    int rc;

    if (!hooked) {
        rc = shim_progress_hook_add(rma_progress, NULL);
        if (rc)
            return rc;
        hooked = true;
    }
    w->ambuf = malloc(RMA_AM_MAX);
    if (!w->ambuf)
        return -ENOMEM;
    rc = post_request_recv(w);
    if (rc) {
        free(w->ambuf);
        w->ambuf = NULL;
        return rc;
    }
    w->next = wins;
    wins = w;
    return 0;
}

void rma_am_stop(struct shim_win *w)
{
    int idle = 0;

    if (rma_am_notify(w, w->rank, RMA_AM_SHUTDOWN))
        shim_fatal("RMA: cannot stop a window's active messages");
    while (!w->shut)
        shim_progress_wait(&idle);
    for (struct shim_win **p = &wins; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    while (w->lockq) {
        struct rma_lock_waiter *q = w->lockq;
        w->lockq = q->next;
        free(q);
    }
    free(w->ambuf);
    w->ambuf = NULL;
}
