/* SPDX-License-Identifier: MIT */
/* coll_sched.c - the collective schedule engine.
 *
 * A schedule is an array of steps cut into phases by fences. Running a
 * phase posts its receives, then its sends (so the matching sends find
 * the receives posted), waits for all of them, and then runs the phase's
 * local steps (reduce, copy, unpack) in order. Builders never wait and
 * never check each step for failure: the first error sticks to the
 * schedule and ends it. Blocking collectives run their schedule here to
 * the end; nonblocking ones go on the active list, which the progress
 * engine (progress.c) advances through a hook: the engine knows nothing
 * of collectives. See coll_private.h for the modules around this one. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"

enum step_kind {
    ST_SEND,
    ST_RECV,
    ST_REDUCE,
    ST_COPY,
    ST_UNPACK,
    ST_CALL,
    ST_FENCE,
};

struct shim_sched_step {
    enum step_kind kind;
    const void *src;
    void *dst;
    size_t bytes;
    int peer;
    size_t count;
    MPI_Datatype rdt;
    struct shim_op *op;
    struct shim_datatype *udt;
    struct shim_request *req;
    /* Messages: the tag, and the communicator and context they travel on
     * (NULL: the schedule's own, on its collective context). */
    int tag;
    struct shim_comm *via;
    unsigned ctx;
    /* ST_CALL */
    shim_sched_fn *fn;
    void *arg;
};

/* Nonblocking collectives in flight, advanced by the progress engine
 * through sched_progress_all(), which is added as a hook when the first
 * one starts. */
static struct shim_sched *active;
static bool in_progress;
static bool hooked;

/* ---- building ----------------------------------------------------------- */
int shim_sched_create(struct shim_comm *comm, struct shim_sched **out)
{
    struct shim_sched *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->comm = comm;
    s->tag = (int)(comm->coll_seq++ & SHIM_TAGV_MASK);
    s->phase_end = -1;
    s->p = comm->size;
    s->r = comm->rank;
    *out = s;
    return 0;
}

static void sched_free(struct shim_sched *s)
{
    if (!s)
        return;
    if (s->on_free)
        s->on_free(s->on_free_arg);
    for (int i = 0; i < s->n; i++)
        if (s->steps[i].req)
            shim_req_free(s->steps[i].req);
    /* The unpacks hold their types (the user may free them meanwhile). */
    for (int i = 0; i < s->nfinal; i++)
        shim_dt_decref(s->finals[i].udt);
    for (int i = 0; i < s->ntmp; i++)
        free(s->tmps[i]);
    free(s->tmps);
    free(s->steps);
    free(s->finals);
    free(s);
}

static struct shim_sched_step *push(struct shim_sched *s, enum step_kind kind)
{
    if (s->err)
        return NULL;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        struct shim_sched_step *st = realloc(s->steps, sizeof(*st) * cap);
        if (!st) {
            s->err = -ENOMEM;
            return NULL;
        }
        s->steps = st;
        s->cap = cap;
    }
    struct shim_sched_step *st = &s->steps[s->n++];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

void *shim_sched_tmp(struct shim_sched *s, size_t bytes)
{
    void *p;

    if (s->err)
        return NULL;
    if (s->ntmp == s->tmpcap) {
        int cap = s->tmpcap ? 2 * s->tmpcap : 4;
        void **t = realloc(s->tmps, sizeof(*t) * cap);
        if (!t) {
            s->err = -ENOMEM;
            return NULL;
        }
        s->tmps = t;
        s->tmpcap = cap;
    }
    p = malloc(bytes ? bytes : 1);
    if (!p) {
        s->err = -ENOMEM;
        return NULL;
    }
    s->tmps[s->ntmp++] = p;
    return p;
}

void shim_sched_send(struct shim_sched *s,
                     const void *buf,
                     size_t bytes,
                     int peer)
{
    shim_sched_send_tagged(s, buf, bytes, peer, s->tag);
}

void shim_sched_recv(struct shim_sched *s, void *buf, size_t bytes, int peer)
{
    shim_sched_recv_tagged(s, buf, bytes, peer, s->tag);
}

void shim_sched_send_tagged(
    struct shim_sched *s, const void *buf, size_t bytes, int peer, int tag)
{
    struct shim_sched_step *st = push(s, ST_SEND);
    if (st) {
        st->src = buf;
        st->bytes = bytes;
        st->peer = s->map ? s->map[peer] : peer;
        st->tag = tag;
        st->via = s->via;
        st->ctx = s->via_ctx;
    }
}

void shim_sched_recv_tagged(
    struct shim_sched *s, void *buf, size_t bytes, int peer, int tag)
{
    struct shim_sched_step *st = push(s, ST_RECV);
    if (st) {
        st->dst = buf;
        st->bytes = bytes;
        st->peer = s->map ? s->map[peer] : peer;
        st->tag = tag;
        st->via = s->via;
        st->ctx = s->via_ctx;
    }
}

void shim_sched_send_via(struct shim_sched *s,
                         const void *buf,
                         size_t bytes,
                         int peer,
                         struct shim_comm *via,
                         unsigned ctx)
{
    struct shim_sched_step *st = push(s, ST_SEND);
    if (st) {
        st->src = buf;
        st->bytes = bytes;
        st->peer = peer;
        st->tag = s->tag;
        st->via = via;
        st->ctx = ctx;
    }
}

void shim_sched_recv_via(struct shim_sched *s,
                         void *buf,
                         size_t bytes,
                         int peer,
                         struct shim_comm *via,
                         unsigned ctx)
{
    struct shim_sched_step *st = push(s, ST_RECV);
    if (st) {
        st->dst = buf;
        st->bytes = bytes;
        st->peer = peer;
        st->tag = s->tag;
        st->via = via;
        st->ctx = ctx;
    }
}

void shim_sched_call(struct shim_sched *s, shim_sched_fn *fn, void *arg)
{
    struct shim_sched_step *st;

    shim_sched_fence(s);
    st = push(s, ST_CALL);
    if (st) {
        st->fn = fn;
        st->arg = arg;
    }
    shim_sched_fence(s);
}

void shim_sched_reduce(struct shim_sched *s,
                       const void *in,
                       void *inout,
                       size_t count,
                       MPI_Datatype rdt,
                       struct shim_op *op)
{
    struct shim_sched_step *st = push(s, ST_REDUCE);
    if (st) {
        st->src = in;
        st->dst = inout;
        st->count = count;
        st->rdt = rdt;
        st->op = op;
    }
}

void shim_sched_copy(struct shim_sched *s,
                     const void *src,
                     void *dst,
                     size_t bytes)
{
    struct shim_sched_step *st;

    if (src == dst || bytes == 0)
        return;
    st = push(s, ST_COPY);
    if (st) {
        st->src = src;
        st->dst = dst;
        st->bytes = bytes;
    }
}

void shim_sched_fence(struct shim_sched *s)
{
    if (s->n > 0 && s->steps[s->n - 1].kind != ST_FENCE)
        push(s, ST_FENCE);
}

/* ---- user buffers as contiguous bytes ----------------------------------- */
const void *shim_sched_in_bytes(struct shim_sched *s,
                                const void *buf,
                                size_t count,
                                struct shim_datatype *t)
{
    if (t->contig)
        return (const char *)buf + t->true_lb;
    void *p = shim_sched_tmp(s, count * t->size);
    if (p)
        shim_dt_pack(t, buf, count, p);
    return p;
}

void *shim_sched_out_bytes(struct shim_sched *s,
                           void *buf,
                           size_t count,
                           struct shim_datatype *t)
{
    if (t->contig)
        return (char *)buf + t->true_lb;
    void *p = shim_sched_tmp(s, count * t->size);
    if (!p)
        return NULL;
    shim_sched_unpack_at_end(s, p, buf, count, t);
    return s->err ? NULL : p;
}

void shim_sched_unpack_at_end(struct shim_sched *s,
                              const void *packed,
                              void *buf,
                              size_t count,
                              struct shim_datatype *t)
{
    if (s->err)
        return;
    if (s->nfinal == s->finalcap) {
        int cap = s->finalcap ? 2 * s->finalcap : 4;
        struct shim_sched_step *f = realloc(s->finals, sizeof(*f) * cap);
        if (!f) {
            s->err = -ENOMEM;
            return;
        }
        s->finals = f;
        s->finalcap = cap;
    }
    struct shim_sched_step *f = &s->finals[s->nfinal++];
    memset(f, 0, sizeof(*f));
    f->kind = ST_UNPACK;
    f->src = packed;
    f->dst = buf;
    f->count = count;
    f->udt = t;
    shim_dt_incref(t);
}

void shim_sched_drop_unpacks(struct shim_sched *s)
{
    for (int i = 0; i < s->nfinal; i++)
        shim_dt_decref(s->finals[i].udt);
    s->nfinal = 0;
}

static void sched_close(struct shim_sched *s)
{
    if (s->nfinal == 0)
        return;
    shim_sched_fence(s);
    for (int i = 0; i < s->nfinal; i++) {
        struct shim_sched_step *st = push(s, ST_UNPACK);
        if (st)
            *st = s->finals[i];
    }
}

/* ---- running ------------------------------------------------------------ */
static int post(struct shim_sched *s, struct shim_sched_step *st)
{
    if (st->via) {
        struct shim_datatype *byte = shim_dt_get(MPI_BYTE);
        if (st->kind == ST_SEND)
            return shim_isend(st->src, st->bytes, byte, st->peer, st->tag,
                              st->via, st->ctx, SHIM_SEND_STD, &st->req);
        return shim_irecv(st->dst, st->bytes, byte, st->peer, st->tag, st->via,
                          st->ctx, &st->req);
    }
    if (st->kind == ST_SEND)
        return shim_coll_isend(st->src, st->bytes, st->peer, st->tag, s->comm,
                               &st->req);
    return shim_coll_irecv(st->dst, st->bytes, st->peer, st->tag, s->comm,
                           &st->req);
}

static void run_local(struct shim_sched *s, struct shim_sched_step *st)
{
    int rc;

    switch (st->kind) {
    case ST_REDUCE:
        rc = shim_op_apply_image(st->op, st->src, st->dst, st->count, st->rdt);
        if (rc && !s->err)
            s->err = rc;
        break;
    case ST_COPY:
        memmove(st->dst, st->src, st->bytes);
        break;
    case ST_UNPACK:
        shim_dt_unpack(st->udt, st->src, st->count * st->udt->size, st->dst);
        break;
    default:
        if (st->req) {
            if (st->req->error && !s->err)
                s->err = SHIM_ECLASS(st->req->error);
            shim_req_free(st->req);
            st->req = NULL;
        }
        break;
    }
}

/* Moves s as far as it can go without waiting; true once it is done. */
static bool sched_advance(struct shim_sched *s)
{
    while (!s->done) {
        if (s->phase_end < 0) {
            int e = s->cur;
            if (s->cur >= s->n || s->err) {
                s->done = true;
                break;
            }
            while (e < s->n && s->steps[e].kind != ST_FENCE)
                e++;
            s->phase_end = e;
            /* Receives first, so the matching sends find them posted. */
            for (int pass = 0; pass < 2; pass++) {
                enum step_kind want = pass == 0 ? ST_RECV : ST_SEND;
                for (int i = s->cur; i < e; i++) {
                    if (s->steps[i].kind != want)
                        continue;
                    int rc = post(s, &s->steps[i]);
                    if (rc && !s->err)
                        s->err = rc;
                }
            }
        }
        for (int i = s->cur; i < s->phase_end; i++)
            if (s->steps[i].req && !s->steps[i].req->done)
                return false;
        /* A call is a phase of its own (shim_sched_call): it may ask to
         * be run again later, or append steps after itself. */
        if (s->steps[s->cur].kind == ST_CALL) {
            struct shim_sched_step *st = &s->steps[s->cur];
            int rc = st->fn(s, st->arg);
            if (rc > 0)
                return false;
            if (rc < 0 && !s->err)
                s->err = rc;
            /* The call may have appended steps (and moved the array). */
            s->cur = s->phase_end + 1;
            s->phase_end = -1;
            continue;
        }
        for (int i = s->cur; i < s->phase_end; i++)
            run_local(s, &s->steps[i]);
        s->cur = s->phase_end + 1;
        s->phase_end = -1;
    }
    return true;
}

/* The progress hook: advances every active schedule and completes the
 * requests of those that end. in_progress keeps a nested poll (from a
 * post's retry) from walking the list being walked. */
static void sched_progress_all(void *arg)
{
    struct shim_sched **p = &active;

    (void)arg;

    if (in_progress || !active)
        return;
    in_progress = true;
    while (*p) {
        struct shim_sched *s = *p;
        if (sched_advance(s)) {
            *p = s->next;
            s->ureq->error = shim_err_class(s->err);
            s->ureq->done = true;
            s->ureq->sched = NULL;
            if (s->ureq->user_freed)
                shim_req_free(s->ureq);
            sched_free(s);
        } else {
            p = &s->next;
        }
    }
    in_progress = false;
}

/* Runs s to completion and frees it; returns its error. */
static int sched_run(struct shim_sched *s)
{
    int idle = 0;
    int rc;

    sched_close(s);
    while (!sched_advance(s))
        shim_progress_wait(&idle);
    rc = s->err;
    sched_free(s);
    return rc;
}

/* Starts s in the background behind a new user request. */
static int sched_start(struct shim_sched *s, MPI_Request *request)
{
    struct shim_request *r;
    int rc;

    sched_close(s);
    if (s->err) {
        rc = s->err;
        sched_free(s);
        return rc;
    }
    if (!hooked) {
        rc = shim_progress_hook_add(sched_progress_all, NULL);
        if (rc) {
            sched_free(s);
            return rc;
        }
        hooked = true;
    }
    r = shim_req_alloc(SHIM_REQ_COLL);
    if (!r) {
        sched_free(s);
        return -ENOMEM;
    }
    rc = shim_req_publish(r);
    if (rc) {
        shim_req_free(r);
        sched_free(s);
        return rc;
    }
    shim_req_set_comm(r, s->comm);
    r->sched = s;
    s->ureq = r;
    s->next = active;
    active = s;
    *request = r->handle;
    sched_progress_all(NULL);
    return 0;
}

int shim_sched_finish(struct shim_sched *s, MPI_Request *request)
{
    if (!s)
        return -ENOMEM;
    return request ? sched_start(s, request) : sched_run(s);
}
