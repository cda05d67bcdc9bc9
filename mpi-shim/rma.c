/* SPDX-License-Identifier: MIT */
/* rma.c - the origin side of one-sided operations: MPI_Put, MPI_Get,
 * MPI_Accumulate, MPI_Get_accumulate, MPI_Fetch_and_op,
 * MPI_Compare_and_swap and the request-based MPI_Rput, MPI_Rget,
 * MPI_Raccumulate and MPI_Rget_accumulate.
 *
 * An operation becomes one or more request messages (rma_private.h). The
 * target's datatype is flattened here into segments of the target's
 * window (displacement, length) in typemap order, so the target needs no
 * datatype of its own; the origin's data travels packed. An operation
 * larger than one message is cut into several, each carrying whole
 * elements of the basic type (so a cut never splits an element an
 * accumulate must update atomically). Data coming back (gets, fetches)
 * lands in a packed buffer, or in place when the origin's type is
 * contiguous, and is unpacked when its last piece has landed.
 *
 * A put or get of contiguous data to a rank on another node whose memory
 * is registered skips all that: one fi_write or fi_read from and into the
 * origin's buffer (rma_private.h, "libfabric RMA"). */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/rma_private.h"
#include "mpi-shim/sde.h"

/* What an operation with replies waits for: its pieces, where the data
 * goes, the user's request to complete. */
struct rma_op {
    int pending;
    int error;
    char *packed; /* NULL when replies land in place */
    void *ubuf;
    size_t ucount;
    struct shim_datatype *udt;
    struct shim_request *ureq;
};

static void op_finish(struct rma_op *o)
{
    if (o->packed) {
        shim_dt_unpack(o->udt, o->packed, o->ucount * o->udt->size, o->ubuf);
        free(o->packed);
    }
    if (o->udt)
        shim_dt_decref(o->udt);
    if (o->ureq) {
        o->ureq->error = o->error;
        o->ureq->done = true;
        if (o->ureq->user_freed)
            shim_req_free(o->ureq);
    }
    free(o);
}

static void op_piece_done(void *arg, size_t bytes, int error)
{
    struct rma_op *o = arg;

    (void)bytes;
    if (error && !o->error)
        o->error = error;
    if (--o->pending == 0)
        op_finish(o);
}

/* The target's memory an operation touches, as segments relative to the
 * target's base, in typemap order, neighbours merged. The first few are
 * kept inline: a contiguous target type makes one, and an operation on
 * a direct window then allocates nothing. Zero it to start, release it
 * with segs_release(). */
struct segs {
    struct rma_am_seg *v;
    size_t n;
    size_t cap;
    struct rma_am_seg inline_v[4];
};

static void segs_release(struct segs *s)
{
    if (s->v != s->inline_v)
        free(s->v);
}

static int segs_push(struct segs *s, uint64_t disp, uint64_t len)
{
    if (len == 0)
        return 0;
    if (s->n > 0 && s->v[s->n - 1].disp + s->v[s->n - 1].len == disp) {
        s->v[s->n - 1].len += len;
        return 0;
    }
    if (!s->v) {
        s->v = s->inline_v;
        s->cap = sizeof(s->inline_v) / sizeof(s->inline_v[0]);
    }
    if (s->n == s->cap) {
        size_t cap = 2 * s->cap;
        struct rma_am_seg *v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        memcpy(v, s->v, s->n * sizeof(*v));
        segs_release(s);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].disp = disp;
    s->v[s->n].len = len;
    s->n++;
    return 0;
}

static int segs_build(struct segs *s,
                      MPI_Aint base,
                      size_t count,
                      const struct shim_datatype *t)
{
    if (t->contig)
        return segs_push(s, (uint64_t)(base + t->true_lb), count * t->size);
    for (size_t e = 0; e < count; e++) {
        for (int b = 0; b < t->nblocks; b++) {
            MPI_Aint d = base + (MPI_Aint)e * t->extent + t->blocks[b].off;
            int rc = segs_push(s, (uint64_t)d, t->blocks[b].len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* One operation as the message cutter sees it. */
struct rma_desc {
    enum rma_am_type type;
    int target;
    const char *data;  /* packed origin operands, total bytes (or NULL) */
    const char *data2; /* CAS: the compare operand */
    size_t total;
    size_t unit; /* messages carry whole units of this many bytes */
    MPI_Op op;
    MPI_Datatype basic;
    char *reply_dst; /* packed results land here, NULL for no reply */
    struct rma_op *track;
};

/* Cuts the operation over the segments into messages and sends them. */
static int rma_issue(struct shim_win *w, struct rma_desc *d, struct segs *s)
{
    bool carries = d->type != RMA_AM_GET;
    size_t si = 0, soff = 0, pos = 0;
    size_t hsz = sizeof(struct rma_am_hdr);

    while (si < s->n) {
        size_t cap = RMA_AM_MAX - hsz;
        if (d->type == RMA_AM_CAS)
            cap -= d->total; /* room for the compare operand */
        struct rma_am_seg *pieces = NULL;
        size_t np = 0, bytes = 0;
        size_t room = cap / sizeof(struct rma_am_seg);
        pieces = malloc(sizeof(*pieces)
                        * (room < s->n - si + 1 ? room : s->n - si + 1));
        if (!pieces)
            return -ENOMEM;
        while (si < s->n) {
            size_t used =
                (np + 1) * sizeof(struct rma_am_seg) + (carries ? bytes : 0);
            if (used >= cap)
                break;
            size_t rem = s->v[si].len - soff;
            size_t take = rem;
            if (carries && take > cap - used)
                take = cap - used;
            pieces[np].disp = s->v[si].disp + soff;
            pieces[np].len = take;
            np++;
            bytes += take;
            soff += take;
            if (soff == s->v[si].len) {
                si++;
                soff = 0;
            }
            if (take < rem)
                break;
        }
        /* Give back a partial unit at the end for the next message. */
        size_t excess = si < s->n ? bytes % d->unit : 0;
        while (excess > 0) {
            size_t t =
                pieces[np - 1].len < excess ? pieces[np - 1].len : excess;
            pieces[np - 1].len -= t;
            bytes -= t;
            excess -= t;
            if (soff == 0) {
                si--;
                soff = s->v[si].len;
            }
            soff -= t;
            if (pieces[np - 1].len == 0)
                np--;
        }
        if (bytes == 0) {
            free(pieces);
            return SHIM_ECLASS(MPI_ERR_TYPE);
        }
        size_t len = hsz + np * sizeof(struct rma_am_seg)
                     + (carries ? bytes : 0)
                     + (d->type == RMA_AM_CAS ? bytes : 0);
        char *msg = malloc(len);
        if (!msg) {
            free(pieces);
            return -ENOMEM;
        }
        struct rma_am_hdr *h = (struct rma_am_hdr *)msg;
        memset(h, 0, sizeof(*h));
        h->type = (uint8_t)d->type;
        h->op = d->op;
        h->basic = d->basic;
        h->nseg = (uint32_t)np;
        h->len = bytes;
        memcpy(h + 1, pieces, np * sizeof(*pieces));
        free(pieces);
        char *payload = msg + hsz + np * sizeof(struct rma_am_seg);
        if (carries && d->data)
            memcpy(payload, d->data + pos, bytes);
        if (d->type == RMA_AM_CAS)
            memcpy(payload + bytes, d->data2, bytes);
        if (d->reply_dst) {
            uint32_t tag;
            int rc = rma_reply_post(w, d->target, d->reply_dst + pos, bytes,
                                    op_piece_done, d->track, &tag);
            if (rc) {
                free(msg);
                return rc;
            }
            d->track->pending++;
            h->reply = tag;
        }
        int rc = rma_am_send(w, d->target, msg, len);
        if (rc)
            return rc;
        pos += bytes;
    }
    return 0;
}

/* The checks every operation shares: window, epoch, rank, types, counts,
 * and that the target's memory is inside its window (static flavors). */
static int check_common(struct shim_win *w,
                        int origin_count,
                        struct shim_datatype *ot,
                        int target_rank,
                        MPI_Aint target_disp,
                        int target_count,
                        struct shim_datatype *tt)
{
    if (origin_count < 0 || target_count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (target_rank == MPI_PROC_NULL)
        return 0;
    if (target_rank < 0 || target_rank >= w->size)
        return SHIM_ECLASS(MPI_ERR_RANK);
    if (!shim_win_may_access(w, target_rank))
        return SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    if (ot
        && (size_t)origin_count * ot->size != (size_t)target_count * tt->size)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (w->flavor == MPI_WIN_FLAVOR_DYNAMIC || target_count == 0)
        return 0;
    MPI_Aint unit = w->peer_unit[target_rank];
    MPI_Aint lo = target_disp * unit + tt->true_lb;
    MPI_Aint hi = target_disp * unit + (MPI_Aint)(target_count - 1) * tt->extent
                  + tt->true_lb + tt->true_extent;
    if (target_disp < 0 || lo < 0 || hi > w->peer_bytes[target_rank])
        return SHIM_ECLASS(MPI_ERR_RMA_RANGE);
    return 0;
}

static MPI_Aint target_base(struct shim_win *w, int target, MPI_Aint disp)
{
    if (w->flavor == MPI_WIN_FLAVOR_DYNAMIC)
        return disp;
    return disp * w->peer_unit[target];
}

/* The predefined element type of an accumulate on t, or NULL. */
static MPI_Datatype acc_basic(const struct shim_datatype *t)
{
    return t->elem;
}

bool rma_ofi_reaches(const struct shim_win *w, int target)
{
    return w->ofi && shim_ofi.rma && w->ofi[target].ok
           && shim.node_of[w->comm->world[target]] != shim.node_of[shim.rank];
}

/* One fi_write or fi_read in flight. */
struct rma_ofi_op {
    struct shim_ofi_rma fop; /* first */
    struct shim_win *w;
    int target;
    struct rma_op *track; /* an R operation's, or NULL */
};

static void ofi_op_done(struct shim_ofi_rma *fop, int err)
{
    struct rma_ofi_op *o = (struct rma_ofi_op *)fop;

    o->w->ofi_pending--;
    o->w->ofi_to[o->target]--;
    if (err && !o->track)
        shim_fatal("RMA: a libfabric write or read to the target failed");
    if (o->track)
        op_piece_done(o->track, 0, err ? MPI_ERR_OTHER : 0);
    free(o);
}

/* Puts (write) or gets len bytes at buf to or from target's window at
 * byte offset off; track, when given, counts it as one of its pieces. */
static int rma_ofi_issue(struct shim_win *w,
                         bool write,
                         void *buf,
                         size_t len,
                         int target,
                         MPI_Aint off,
                         struct rma_op *track)
{
    struct rma_ofi_op *o = calloc(1, sizeof(*o));
    const struct rma_ofi_peer *p = &w->ofi[target];
    int rc;

    if (!o)
        return -ENOMEM;
    o->fop.done = ofi_op_done;
    o->w = w;
    o->target = target;
    o->track = track;
    rc = shim_ofi_rma(&o->fop, write, buf, len, w->comm->world[target],
                      p->addr + (uint64_t)off, p->key);
    if (rc) {
        free(o);
        return rc;
    }
    if (track)
        track->pending++;
    w->ofi_pending++;
    w->ofi_to[target]++;
    return 0;
}

/* Makes the user's request for an R operation: done at once unless track
 * will complete it. */
static int
ureq_make(struct shim_win *w, struct rma_op *track, MPI_Request *request)
{
    struct shim_request *r = shim_req_alloc(SHIM_REQ_RMA);
    int rc;

    if (!r)
        return -ENOMEM;
    shim_req_set_comm(r, w->comm);
    rc = shim_req_publish(r);
    if (rc) {
        shim_req_free(r);
        return rc;
    }
    if (track)
        track->ureq = r;
    else
        r->done = true;
    *request = r->handle;
    return 0;
}

/* A put or get on a window whose memory is one segment of the node
 * (rma_private.h, direct): a copy between the origin's buffer and the
 * target's part of the segment, through the segments of the target type
 * when either side is not contiguous. Complete when it returns; the
 * synchronization calls order it with a memory barrier. */
static int rma_direct(struct shim_win *w,
                      enum rma_am_type type,
                      void *origin,
                      size_t ocount,
                      struct shim_datatype *ot,
                      int target,
                      MPI_Aint disp,
                      size_t tcount,
                      struct shim_datatype *tt)
{
    char *tbase =
        w->shm_seg + w->shm_off[target] + disp * (MPI_Aint)w->peer_unit[target];
    size_t total = tcount * tt->size;
    char *o = (char *)origin + ot->true_lb;
    char *packed = NULL;
    struct segs s = {0};

    if (ot->contig && tt->contig) {
        if (type == RMA_AM_PUT)
            memmove(tbase + tt->true_lb, o, total);
        else
            memmove(o, tbase + tt->true_lb, total);
        return 0;
    }
    if (!ot->contig) {
        packed = malloc(total ? total : 1);
        if (!packed)
            return -ENOMEM;
        if (type == RMA_AM_PUT)
            shim_dt_pack(ot, origin, ocount, packed);
        o = packed;
    }
    int rc = segs_build(&s, 0, tcount, tt);
    size_t pos = 0;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        char *a = tbase + (MPI_Aint)s.v[i].disp;
        if (type == RMA_AM_PUT)
            memmove(a, o + pos, s.v[i].len);
        else
            memmove(o + pos, a, s.v[i].len);
        pos += s.v[i].len;
    }
    if (rc == 0 && packed && type == RMA_AM_GET)
        shim_dt_unpack(ot, packed, total, origin);
    segs_release(&s);
    free(packed);
    return rc;
}

/* A contiguous put or get by libfabric RMA, with the user's request of
 * an R form (done when the write or read completes). */
static int rma_ofi_put_get(struct shim_win *w,
                           bool write,
                           char *buf,
                           size_t len,
                           int target,
                           MPI_Aint off,
                           MPI_Request *request)
{
    struct rma_op *track = NULL;
    int rc;

    if (request) {
        track = calloc(1, sizeof(*track));
        if (!track)
            return -ENOMEM;
        track->pending = 1; /* held until the operation is issued */
        rc = ureq_make(w, track, request);
        if (rc) {
            free(track);
            return rc;
        }
    }
    rc = rma_ofi_issue(w, write, buf, len, target, off, track);
    if (track) {
        if (rc && !track->error)
            track->error = MPI_ERR_OTHER;
        op_piece_done(track, 0, 0);
    }
    return rc;
}

/* The accumulate lock of target's memory in a direct window: every
 * accumulate and fetching operation on it runs under it, so they are
 * atomic with each other and, done by the origin in program order,
 * ordered per origin. Held for a copy and a combination, never across a
 * wait; a rank that finds it taken spins, and yields its core now and
 * then in case the holder lost its own. */
static void acc_lock(struct shim_win *w, int target)
{
    uint32_t *l = &w->ctl[target].acc_lock;
    unsigned spins = 0;

    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            if (++spins % 64 == 0)
                sched_yield();
}

static void acc_unlock(struct shim_win *w, int target)
{
    __atomic_store_n(&w->ctl[target].acc_lock, 0, __ATOMIC_RELEASE);
}

/* An accumulate or get-accumulate on a direct window: under the target's
 * accumulate lock, taken once for the whole operation, the old contents
 * go to the result (if any), then the origin's data is combined in by the
 * operation's typed loop. Contiguous buffers are used where they are: no
 * message, no copy of the origin's data, no tracking of a reply.
 * Complete when it returns. */
static int acc_direct(struct shim_win *w,
                      const void *origin,
                      size_t ocount,
                      struct shim_datatype *ot,
                      void *result,
                      struct shim_datatype *rt,
                      int target,
                      MPI_Aint disp,
                      size_t tcount,
                      struct shim_datatype *tt,
                      struct shim_op *op,
                      MPI_Datatype basic)
{
    char *tb = w->shm_seg + w->shm_off[target];
    size_t total = tcount * tt->size;
    const char *data = NULL;
    char *packed = NULL, *rpacked = NULL, *rdst = NULL;
    struct segs s = {0};
    int rc = 0;

    if (ot && ot->contig) {
        data = (const char *)origin + ot->true_lb;
    } else if (ot) {
        packed = malloc(total);
        if (!packed)
            return -ENOMEM;
        shim_dt_pack(ot, origin, ocount, packed);
        data = packed;
    }
    if (rt && rt->contig) {
        rdst = (char *)result + rt->true_lb;
    } else if (rt) {
        rpacked = malloc(total);
        if (!rpacked)
            rc = -ENOMEM;
        rdst = rpacked;
    }
    if (rc == 0)
        rc = segs_build(&s, disp * w->peer_unit[target], tcount, tt);
    if (rc == 0) {
        acc_lock(w, target);
        if (rdst)
            rma_segs_copy(tb, s.v, (uint32_t)s.n, 0, rdst, total, false);
        rc = rma_acc_combine(tb, op, basic, s.v, (uint32_t)s.n, total, data);
        acc_unlock(w, target);
    }
    if (rc == 0 && rpacked)
        shim_dt_unpack(rt, rpacked, total, result);
    segs_release(&s);
    free(packed);
    free(rpacked);
    return rc;
}

/* Put and accumulate (and get-accumulate's outbound half): the origin's
 * data is copied into the messages, so the call completes locally. */
static int rma_common(const char *fn,
                      enum rma_am_type type,
                      const void *origin_addr,
                      int origin_count,
                      MPI_Datatype origin_datatype,
                      void *result_addr,
                      int result_count,
                      MPI_Datatype result_datatype,
                      int target_rank,
                      MPI_Aint target_disp,
                      int target_count,
                      MPI_Datatype target_datatype,
                      MPI_Op op,
                      MPI_Win win,
                      MPI_Request *request)
{
    struct shim_win *w = NULL;
    struct shim_datatype *ot = NULL, *tt = NULL, *rt = NULL;
    struct shim_op *o = NULL;
    struct segs s = {0};
    struct rma_op *track = NULL;
    char *packed = NULL;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, fn, rc);
    bool no_origin = type == RMA_AM_GACC && op == MPI_NO_OP;
    if (type != RMA_AM_GET && !no_origin)
        rc = shim_dt_check(origin_datatype, &ot);
    if (rc == 0 && type == RMA_AM_GET)
        rc = shim_dt_check(origin_datatype, &rt);
    if (rc == 0 && type == RMA_AM_GACC)
        rc = shim_dt_check(result_datatype, &rt);
    if (rc == 0)
        rc = shim_dt_check(target_datatype, &tt);
    if (rc == 0 && (type == RMA_AM_ACC || type == RMA_AM_GACC)) {
        rc = shim_op_check(op, &o);
        /* Only predefined ops; MPI_NO_OP only where something is fetched. */
        if (rc == 0 && (!o->builtin || (type == RMA_AM_ACC && op == MPI_NO_OP)))
            rc = SHIM_ECLASS(MPI_ERR_OP);
    }
    if (rc == 0 && request == NULL && strncmp(fn, "MPI_R", 5) == 0)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = check_common(w, origin_count, type == RMA_AM_GET ? rt : ot,
                          target_rank, target_disp, target_count, tt);
    if (rc == 0 && type == RMA_AM_GACC && target_rank != MPI_PROC_NULL
        && (size_t)result_count * rt->size != (size_t)target_count * tt->size)
        rc = SHIM_ECLASS(MPI_ERR_COUNT);
    MPI_Datatype basic = MPI_DATATYPE_NULL;
    if (rc == 0 && o) {
        basic = acc_basic(tt);
        if (basic == MPI_DATATYPE_NULL || (ot && acc_basic(ot) != basic)
            || (rt && type == RMA_AM_GACC && acc_basic(rt) != basic))
            rc = SHIM_ECLASS(MPI_ERR_TYPE);
        else if (o->builtin < 13 && !shim_op_supports(o, basic))
            rc = SHIM_ECLASS(MPI_ERR_OP);
    }
    if (rc)
        return shim_win_err(w, fn, rc);
    size_t total = (size_t)target_count * tt->size;
    if (target_rank == MPI_PROC_NULL || total == 0) {
        if (request) {
            rc = ureq_make(w, NULL, request);
            if (rc)
                return shim_win_err(w, fn, rc);
        }
        return MPI_SUCCESS;
    }
    if (w->direct && (type == RMA_AM_PUT || type == RMA_AM_GET)) {
        rc = rma_direct(w, type, (void *)origin_addr, (size_t)origin_count,
                        type == RMA_AM_PUT ? ot : rt, target_rank, target_disp,
                        (size_t)target_count, tt);
        if (rc == 0 && request)
            rc = ureq_make(w, NULL, request);
        if (rc == 0)
            shim_sde.rma_ops[SHIM_SDE_RMA_DIRECT]++;
        return rc ? shim_win_err(w, fn, rc) : MPI_SUCCESS;
    }
    if (w->direct) {
        rc = acc_direct(w, origin_addr, (size_t)origin_count, ot, result_addr,
                        rt, target_rank, target_disp, (size_t)target_count, tt,
                        o, basic);
        if (rc == 0 && request)
            rc = ureq_make(w, NULL, request);
        if (rc == 0)
            shim_sde.rma_ops[SHIM_SDE_RMA_DIRECT]++;
        return rc ? shim_win_err(w, fn, rc) : MPI_SUCCESS;
    }
    if (type == RMA_AM_PUT || type == RMA_AM_GET) {
        struct shim_datatype *ut = type == RMA_AM_PUT ? ot : rt;
        if (ut->contig && tt->contig && rma_ofi_reaches(w, target_rank)
            && total <= shim_ofi.info->ep_attr->max_msg_size) {
            rc = rma_ofi_put_get(
                w, type == RMA_AM_PUT, (char *)origin_addr + ut->true_lb, total,
                target_rank,
                target_disp * w->peer_unit[target_rank] + tt->true_lb, request);
            if (rc == 0)
                shim_sde.rma_ops[SHIM_SDE_RMA_OFI]++;
            return rc ? shim_win_err(w, fn, rc) : MPI_SUCCESS;
        }
    }
    shim_sde.rma_ops[SHIM_SDE_RMA_AM]++;
    /* An accumulate replacing whole elements is a put; keeping the op
     * lets the target apply it element by element all the same. */
    struct rma_desc d = {
        .type = type,
        .target = target_rank,
        .total = total,
        .unit = basic != MPI_DATATYPE_NULL ? shim_dt_get(basic)->size : 1,
        .op = op,
        .basic = basic,
    };
    if (ot) {
        if (ot->contig) {
            d.data = (const char *)origin_addr + ot->true_lb;
        } else {
            packed = malloc(total);
            if (!packed) {
                rc = -ENOMEM;
                goto error;
            }
            shim_dt_pack(ot, origin_addr, (size_t)origin_count, packed);
            d.data = packed;
        }
    }
    if (rt) {
        track = calloc(1, sizeof(*track));
        if (!track) {
            rc = -ENOMEM;
            goto error;
        }
        track->pending = 1; /* held until every piece is sent */
        void *ubuf = type == RMA_AM_GET ? (void *)origin_addr : result_addr;
        size_t ucount =
            (size_t)(type == RMA_AM_GET ? origin_count : result_count);
        if (rt->contig) {
            d.reply_dst = (char *)ubuf + rt->true_lb;
        } else {
            track->packed = malloc(total);
            if (!track->packed) {
                free(track);
                track = NULL;
                rc = -ENOMEM;
                goto error;
            }
            track->ubuf = ubuf;
            track->ucount = ucount;
            track->udt = rt;
            shim_dt_incref(rt);
            d.reply_dst = track->packed;
        }
        d.track = track;
    }
    rc = segs_build(&s, target_base(w, target_rank, target_disp),
                    (size_t)target_count, tt);
    if (rc == 0 && request)
        rc = ureq_make(w, track, request);
    if (rc == 0)
        rc = rma_issue(w, &d, &s);
    segs_release(&s);
    free(packed);
    if (track)
        op_piece_done(track, 0, 0);
    return rc ? shim_win_err(w, fn, rc) : MPI_SUCCESS;
error:
    segs_release(&s);
    free(packed);
    return shim_win_err(w, fn, rc);
}

SHIM_WEAK(Put)
int PMPI_Put(const void *origin_addr,
             int origin_count,
             MPI_Datatype origin_datatype,
             int target_rank,
             MPI_Aint target_disp,
             int target_count,
             MPI_Datatype target_datatype,
             MPI_Win win)
{
    return rma_common("MPI_Put", RMA_AM_PUT, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, MPI_OP_NULL,
                      win, NULL);
}

SHIM_WEAK(Rput)
int PMPI_Rput(const void *origin_addr,
              int origin_count,
              MPI_Datatype origin_datatype,
              int target_rank,
              MPI_Aint target_disp,
              int target_count,
              MPI_Datatype target_datatype,
              MPI_Win win,
              MPI_Request *request)
{
    return rma_common("MPI_Rput", RMA_AM_PUT, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, MPI_OP_NULL,
                      win, request);
}

SHIM_WEAK(Get)
int PMPI_Get(void *origin_addr,
             int origin_count,
             MPI_Datatype origin_datatype,
             int target_rank,
             MPI_Aint target_disp,
             int target_count,
             MPI_Datatype target_datatype,
             MPI_Win win)
{
    return rma_common("MPI_Get", RMA_AM_GET, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, MPI_OP_NULL,
                      win, NULL);
}

SHIM_WEAK(Rget)
int PMPI_Rget(void *origin_addr,
              int origin_count,
              MPI_Datatype origin_datatype,
              int target_rank,
              MPI_Aint target_disp,
              int target_count,
              MPI_Datatype target_datatype,
              MPI_Win win,
              MPI_Request *request)
{
    return rma_common("MPI_Rget", RMA_AM_GET, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, MPI_OP_NULL,
                      win, request);
}

SHIM_WEAK(Accumulate)
int PMPI_Accumulate(const void *origin_addr,
                    int origin_count,
                    MPI_Datatype origin_datatype,
                    int target_rank,
                    MPI_Aint target_disp,
                    int target_count,
                    MPI_Datatype target_datatype,
                    MPI_Op op,
                    MPI_Win win)
{
    return rma_common("MPI_Accumulate", RMA_AM_ACC, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, op, win,
                      NULL);
}

SHIM_WEAK(Raccumulate)
int PMPI_Raccumulate(const void *origin_addr,
                     int origin_count,
                     MPI_Datatype origin_datatype,
                     int target_rank,
                     MPI_Aint target_disp,
                     int target_count,
                     MPI_Datatype target_datatype,
                     MPI_Op op,
                     MPI_Win win,
                     MPI_Request *request)
{
    return rma_common("MPI_Raccumulate", RMA_AM_ACC, origin_addr, origin_count,
                      origin_datatype, NULL, 0, MPI_DATATYPE_NULL, target_rank,
                      target_disp, target_count, target_datatype, op, win,
                      request);
}

SHIM_WEAK(Get_accumulate)
int PMPI_Get_accumulate(const void *origin_addr,
                        int origin_count,
                        MPI_Datatype origin_datatype,
                        void *result_addr,
                        int result_count,
                        MPI_Datatype result_datatype,
                        int target_rank,
                        MPI_Aint target_disp,
                        int target_count,
                        MPI_Datatype target_datatype,
                        MPI_Op op,
                        MPI_Win win)
{
    return rma_common("MPI_Get_accumulate", RMA_AM_GACC, origin_addr,
                      origin_count, origin_datatype, result_addr, result_count,
                      result_datatype, target_rank, target_disp, target_count,
                      target_datatype, op, win, NULL);
}

SHIM_WEAK(Rget_accumulate)
int PMPI_Rget_accumulate(const void *origin_addr,
                         int origin_count,
                         MPI_Datatype origin_datatype,
                         void *result_addr,
                         int result_count,
                         MPI_Datatype result_datatype,
                         int target_rank,
                         MPI_Aint target_disp,
                         int target_count,
                         MPI_Datatype target_datatype,
                         MPI_Op op,
                         MPI_Win win,
                         MPI_Request *request)
{
    return rma_common("MPI_Rget_accumulate", RMA_AM_GACC, origin_addr,
                      origin_count, origin_datatype, result_addr, result_count,
                      result_datatype, target_rank, target_disp, target_count,
                      target_datatype, op, win, request);
}

SHIM_WEAK(Fetch_and_op)
int PMPI_Fetch_and_op(const void *origin_addr,
                      void *result_addr,
                      MPI_Datatype datatype,
                      int target_rank,
                      MPI_Aint target_disp,
                      MPI_Op op,
                      MPI_Win win)
{
    struct shim_datatype *t;

    if (shim_dt_check(datatype, &t) == 0 && !t->predefined) {
        struct shim_win *w = NULL;
        shim_win_check(win, &w);
        return w ? shim_win_err(w, "MPI_Fetch_and_op",
                                SHIM_ECLASS(MPI_ERR_TYPE))
                 : shim_err(NULL, "MPI_Fetch_and_op", SHIM_ECLASS(MPI_ERR_WIN));
    }
    return rma_common("MPI_Fetch_and_op", RMA_AM_GACC, origin_addr, 1, datatype,
                      result_addr, 1, datatype, target_rank, target_disp, 1,
                      datatype, op, win, NULL);
}

SHIM_WEAK(Compare_and_swap)
int PMPI_Compare_and_swap(const void *origin_addr,
                          const void *compare_addr,
                          void *result_addr,
                          MPI_Datatype datatype,
                          int target_rank,
                          MPI_Aint target_disp,
                          MPI_Win win)
{
    const char *fn = "MPI_Compare_and_swap";
    struct shim_win *w = NULL;
    struct shim_datatype *t = NULL;
    struct rma_op *track;
    struct segs s = {0};
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, fn, rc);
    rc = shim_dt_check(datatype, &t);
    /* Integer, logical and byte types: those compared bit for bit. */
    if (rc == 0 && (!t->predefined || !t->contig))
        rc = SHIM_ECLASS(MPI_ERR_TYPE);
    if (rc == 0)
        rc = check_common(w, 1, t, target_rank, target_disp, 1, t);
    if (rc)
        return shim_win_err(w, fn, rc);
    if (target_rank == MPI_PROC_NULL)
        return MPI_SUCCESS;
    track = calloc(1, sizeof(*track));
    if (!track)
        return shim_win_err(w, fn, -ENOMEM);
    track->pending = 1;
    struct rma_desc d = {
        .type = RMA_AM_CAS,
        .target = target_rank,
        .data = origin_addr,
        .data2 = compare_addr,
        .total = t->size,
        .unit = t->size,
        .op = MPI_OP_NULL,
        .basic = datatype,
        .reply_dst = result_addr,
        .track = track,
    };
    rc = segs_build(&s, target_base(w, target_rank, target_disp), 1, t);
    shim_sde.rma_ops[w->direct ? SHIM_SDE_RMA_DIRECT : SHIM_SDE_RMA_AM]++;
    if (rc == 0 && w->direct) {
        char *a = w->shm_seg + w->shm_off[target_rank] + s.v[0].disp;
        char old[64];
        acc_lock(w, target_rank);
        memcpy(old, a, t->size);
        if (memcmp(old, compare_addr, t->size) == 0)
            memcpy(a, origin_addr, t->size);
        acc_unlock(w, target_rank);
        memcpy(result_addr, old, t->size);
    } else if (rc == 0) {
        rc = rma_issue(w, &d, &s);
    }
    segs_release(&s);
    op_piece_done(track, 0, 0);
    return rc ? shim_win_err(w, fn, rc) : MPI_SUCCESS;
}
