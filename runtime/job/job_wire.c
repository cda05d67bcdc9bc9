/* SPDX-License-Identifier: MIT */
/* job_wire.c - encoding and defensive decoding of job frames. */
#include "runtime/job/job_wire.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/wire.h"

/* Encoder: a growing buffer; the first failure sticks. */
struct job_wbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err;
};

static void wput(struct job_wbuf *w, const void *data, size_t n)
{
    if (w->err)
        return;
    if (w->len + n > JOB_WIRE_FRAME_MAX) {
        w->err = -EINVAL;
        return;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        uint8_t *p;
        while (cap < w->len + n)
            cap *= 2;
        p = realloc(w->p, cap);
        if (!p) {
            w->err = -ENOMEM;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    if (n > 0)
        memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void wbe(struct job_wbuf *w, uint64_t v, size_t width)
{
    uint8_t b[8];

    bytes_put_be(b, v, width);
    wput(w, b, width);
}

static void wu8(struct job_wbuf *w, uint8_t v)
{
    wbe(w, v, 1);
}

static void wu32(struct job_wbuf *w, uint32_t v)
{
    wbe(w, v, 4);
}

static void wu64(struct job_wbuf *w, uint64_t v)
{
    wbe(w, v, 8);
}

static void wtime(struct job_wbuf *w, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e12) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    wu64(w, (uint64_t)llround(seconds * 1000.0));
}

static void wdata(struct job_wbuf *w, const void *p, size_t n, size_t max)
{
    if (n > max || (n > 0 && !p)) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    wu32(w, (uint32_t)n);
    wput(w, p, n);
}

static void wstr(struct job_wbuf *w, const char *s)
{
    if (!s) {
        w->err = w->err ? w->err : -EINVAL;
        return;
    }
    wdata(w, s, strlen(s), JOB_WIRE_STRING_MAX);
}

static void wopt(struct job_wbuf *w, const char *s)
{
    wu8(w, s != NULL);
    if (s)
        wstr(w, s);
}

static void wcount(struct job_wbuf *w, uint32_t n)
{
    if (n > JOB_WIRE_LIST_MAX)
        w->err = w->err ? w->err : -EINVAL;
    wu32(w, n);
}

static void wstrv(struct job_wbuf *w, char *const *v, uint32_t n)
{
    wcount(w, n);
    for (uint32_t i = 0; i < n && !w->err; i++)
        wstr(w, v ? v[i] : NULL);
}

static void wkvs(struct job_wbuf *w, const struct job_kv *kvs, uint32_t n)
{
    wcount(w, n);
    for (uint32_t i = 0; i < n && !w->err; i++) {
        wstr(w, kvs[i].key);
        wstr(w, kvs[i].value);
    }
}

static void wnodes(struct job_wbuf *w, const uint64_t *nodes, uint32_t n)
{
    if (n > JOB_WIRE_HOLDERS_MAX || (n > 0 && !nodes))
        w->err = w->err ? w->err : -EINVAL;
    wu32(w, n);
    for (uint32_t i = 0; i < n && !w->err; i++)
        wu64(w, nodes[i]);
}

/* A PMIx policy string as map_policy_names() makes them. */
static bool launch_policy_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n < 64
           && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:=-_,") == n;
}

static void wlaunch(struct job_wbuf *w, const struct job_launch *l)
{
    wu64(w, l->job_id);
    wu32(w, l->node_index);
    wu32(w, l->job_size);
    wu32(w, l->universe_size);
    wcount(w, l->nranks);
    for (uint32_t i = 0; i < l->nranks && !w->err; i++) {
        const struct job_launch_rank *r = &l->ranks[i];
        wu32(w, r->rank);
        wu32(w, r->local_rank);
        wcount(w, r->npus);
        for (uint32_t j = 0; j < r->npus; j++)
            wu32(w, r->pus[j]);
    }
    wstr(w, l->path);
    wstrv(w, l->argv, l->argc);
    wstrv(w, l->env, l->nenv);
    wopt(w, l->wdir);
    wopt(w, l->process_mapping);
    wtime(w, l->timeout);
    wtime(w, l->kill_grace);
    wu8(w, l->enable_recovery);
    if (l->nrestores == 0 && !l->mapby && !l->bindto)
        return; /* no trailer: what older proxies read */
    wcount(w, l->nrestores);
    for (uint32_t i = 0; i < l->nrestores && !w->err; i++) {
        const struct job_launch_restore *k = &l->restores[i];
        wu32(w, k->rank);
        wu32(w, k->version);
        wnodes(w, k->nodes, k->nnodes);
    }
    if (!l->mapby && !l->bindto)
        return;
    if (!l->mapby || !l->bindto || !launch_policy_ok(l->mapby)
        || !launch_policy_ok(l->bindto))
        w->err = w->err ? w->err : -EINVAL;
    wstr(w, l->mapby ? l->mapby : "");
    wstr(w, l->bindto ? l->bindto : "");
    if (!l->rankby)
        return; /* what proxies before PMIX_RANKBY read */
    if (!launch_policy_ok(l->rankby))
        w->err = w->err ? w->err : -EINVAL;
    wstr(w, l->rankby);
}

int job_frame_encode(const struct job_frame *f, uint8_t **out, size_t *len)
{
    struct job_wbuf w = {0};

    wu8(&w, (uint8_t)f->kind);
    switch (f->kind) {
    case JOB_FRAME_LAUNCH:
        wlaunch(&w, &f->launch);
        break;
    case JOB_FRAME_STARTED:
        if (f->started.nbound == 0)
            break;
        if (f->started.nbound > JOB_WIRE_LIST_MAX)
            w.err = -EINVAL;
        wu32(&w, f->started.nbound);
        for (uint32_t i = 0; i < f->started.nbound && !w.err; i++) {
            wu32(&w, f->started.bound[i].rank);
            wstr(&w, f->started.bound[i].pus ? f->started.bound[i].pus : "");
        }
        break;
    case JOB_FRAME_DONE:
    case JOB_FRAME_CKPT_REQUEST:
        break;
    case JOB_FRAME_SPAWN_FAILED:
        wu32(&w, (uint32_t)f->spawn_failed.code);
        wstr(&w, f->spawn_failed.message);
        break;
    case JOB_FRAME_OUTPUT:
        if (f->output.stream != JOB_OUTPUT_STDOUT
            && f->output.stream != JOB_OUTPUT_STDERR)
            w.err = -EINVAL;
        wu32(&w, f->output.rank);
        wu8(&w, f->output.stream);
        wdata(&w, f->output.bytes, f->output.len, JOB_WIRE_DATA_MAX);
        break;
    case JOB_FRAME_STDIN:
        wdata(&w, f->input.bytes, f->input.len, JOB_WIRE_DATA_MAX);
        break;
    case JOB_FRAME_BARRIER_IN:
    case JOB_FRAME_BARRIER_OUT:
        wkvs(&w, f->barrier.kvs, f->barrier.nkvs);
        break;
    case JOB_FRAME_RANK_EXIT:
        wu32(&w, f->rank_exit.rank);
        wu8(&w,
            (uint8_t)(f->rank_exit.signaled | f->rank_exit.initialized << 1
                      | f->rank_exit.finalized << 2 | f->rank_exit.killed << 3
                      | f->rank_exit.oom_killed << 4));
        wu32(&w, (uint32_t)f->rank_exit.value);
        /* only an OOM kill carries the limit: other frames are as before */
        if (f->rank_exit.oom_killed)
            wu64(&w, f->rank_exit.memory_limit);
        if (f->rank_exit.counters_len > 0) /* an optional trailer */
            wdata(&w, f->rank_exit.counters, f->rank_exit.counters_len,
                  JOB_WIRE_COUNTERS_MAX);
        break;
    case JOB_FRAME_ABORT:
        wu32(&w, (uint32_t)f->abort.rank);
        wu32(&w, (uint32_t)f->abort.code);
        wu8(&w, f->abort.fault);
        wstr(&w, f->abort.message);
        break;
    case JOB_FRAME_SIGNAL:
        wu32(&w, (uint32_t)f->signal.signo);
        if (f->signal.nranks == 0)
            break; /* every rank: no trailer */
        wcount(&w, f->signal.nranks);
        for (uint32_t i = 0; i < f->signal.nranks && !w.err; i++)
            wu32(&w, f->signal.ranks[i]);
        break;
    case JOB_FRAME_NAMES:
        if (f->names.op < JOB_NAMES_PUBLISH || f->names.op > JOB_NAMES_REPLY)
            w.err = -EINVAL;
        wu8(&w, f->names.op);
        wu32(&w, f->names.id);
        wu32(&w, (uint32_t)f->names.rank);
        wu8(&w, f->names.wait);
        wu32(&w, (uint32_t)f->names.status);
        wkvs(&w, f->names.kvs, f->names.nkvs);
        break;
    case JOB_FRAME_DMODEX:
        if ((f->dmodex.op != JOB_DMODEX_REQUEST
             && f->dmodex.op != JOB_DMODEX_REPLY)
            || f->dmodex.status > 0
            || (f->dmodex.len > 0
                && (f->dmodex.op != JOB_DMODEX_REPLY || f->dmodex.status != 0))
            || (f->dmodex.op == JOB_DMODEX_REQUEST && f->dmodex.status != 0))
            w.err = -EINVAL;
        wu8(&w, f->dmodex.op);
        wu32(&w, f->dmodex.id);
        wu32(&w, f->dmodex.rank);
        wu32(&w, (uint32_t)f->dmodex.status);
        wdata(&w, f->dmodex.bytes, f->dmodex.len, JOB_WIRE_DATA_MAX);
        break;
    case JOB_FRAME_KILL:
        wu8(&w, f->kill.now);
        break;
    case JOB_FRAME_CKPT_COPIES:
        wu32(&w, f->ckpt_copies.rank);
        wu32(&w, f->ckpt_copies.version);
        wnodes(&w, f->ckpt_copies.nodes, f->ckpt_copies.nnodes);
        if (f->ckpt_copies.cost_ms)
            wu32(&w, f->ckpt_copies.cost_ms);
        break;
    case JOB_FRAME_CKPT_KEEP:
        wu32(&w, f->ckpt_keep.version);
        break;
    case JOB_FRAME_HOLD:
        wu8(&w, (uint8_t)(f->hold.held | f->hold.vacating << 1));
        wstr(&w, f->hold.reason);
        break;
    default:
        w.err = -EINVAL;
        break;
    }
    if (w.err) {
        free(w.p);
        return w.err;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

/* Decoder: reads from what is left; the first failure sticks. */
struct job_rbuf {
    struct wire_reader in;
    int err; /* SHOAL_EPROTO or -ENOMEM */
    const char *why;
};

static void rfail(struct job_rbuf *r, int err, const char *why)
{
    if (!r->err) {
        r->err = err;
        r->why = why;
    }
}

static const uint8_t *rtake(struct job_rbuf *r, size_t n)
{
    const uint8_t *p;

    if (r->err)
        return NULL;
    p = wire_get_bytes(&r->in, n, NULL);
    if (r->in.short_) {
        rfail(r, SHOAL_EPROTO, "truncated");
        return NULL;
    }
    return p;
}

static uint64_t rbe(struct job_rbuf *r, size_t width)
{
    const uint8_t *p = rtake(r, width);
    return p ? bytes_get_be(p, width) : 0;
}

static uint8_t ru8(struct job_rbuf *r)
{
    return (uint8_t)rbe(r, 1);
}

static uint32_t ru32(struct job_rbuf *r)
{
    return (uint32_t)rbe(r, 4);
}

static uint64_t ru64(struct job_rbuf *r)
{
    return rbe(r, 8);
}

static bool rflag(struct job_rbuf *r)
{
    uint8_t v = ru8(r);
    if (v > 1)
        rfail(r, SHOAL_EPROTO, "bad flag");
    return v == 1;
}

static double rtime(struct job_rbuf *r)
{
    uint64_t ms = ru64(r);
    if (ms > (uint64_t)1e15)
        rfail(r, SHOAL_EPROTO, "time out of range");
    return (double)ms / 1000.0;
}

/* A count of items of at least min bytes each: bounded by what is left,
 * so no allocation is larger than the frame can justify. */
static uint32_t rcount(struct job_rbuf *r, size_t min)
{
    uint32_t n = ru32(r);
    if (n > JOB_WIRE_LIST_MAX || (size_t)n * min > r->in.left) {
        rfail(r, SHOAL_EPROTO, "bad count");
        return 0;
    }
    return n;
}

static void *ralloc(struct job_rbuf *r, size_t n, size_t size)
{
    void *p;

    if (r->err)
        return NULL;
    p = calloc(n ? n : 1, size);
    if (!p)
        rfail(r, -ENOMEM, "out of memory");
    return p;
}

static uint8_t *rdata(struct job_rbuf *r, uint32_t *len, size_t max)
{
    uint32_t n = ru32(r);
    const uint8_t *p;
    uint8_t *copy;

    if (n > max) {
        rfail(r, SHOAL_EPROTO, "data too long");
        return NULL;
    }
    p = rtake(r, n);
    if (!p)
        return NULL;
    copy = ralloc(r, (size_t)n + 1, 1);
    if (!copy)
        return NULL;
    memcpy(copy, p, n);
    *len = n;
    return copy;
}

static char *rstr(struct job_rbuf *r)
{
    uint32_t n = 0;
    char *s = (char *)rdata(r, &n, JOB_WIRE_STRING_MAX);

    if (s && memchr(s, '\0', n)) {
        free(s);
        rfail(r, SHOAL_EPROTO, "NUL in string");
        return NULL;
    }
    return s;
}

/* u32 count (at least 1) + count x (u32 rank, string PU list of digits,
 * ',' and '-') */
static void
rbindings(struct job_rbuf *r, struct job_binding **out, uint32_t *count)
{
    uint32_t n = ru32(r);
    struct job_binding *v;

    *out = NULL;
    *count = 0;
    if (r->err)
        return;
    /* each entry takes at least 8 bytes */
    if (n == 0 || n > JOB_WIRE_LIST_MAX || n > r->in.left / 8) {
        rfail(r, SHOAL_EPROTO, "bad binding count");
        return;
    }
    v = calloc(n, sizeof(*v));
    if (!v) {
        rfail(r, -ENOMEM, "out of memory");
        return;
    }
    *out = v;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        v[i].rank = ru32(r);
        v[i].pus = rstr(r);
        *count = i + 1;
        if (v[i].pus && strspn(v[i].pus, "0123456789,-") != strlen(v[i].pus))
            rfail(r, SHOAL_EPROTO, "bad PU list");
    }
}

static char *ropt(struct job_rbuf *r)
{
    return rflag(r) ? rstr(r) : NULL;
}

static char **rstrv(struct job_rbuf *r, uint32_t *count)
{
    uint32_t n = rcount(r, 4);
    char **v = ralloc(r, (size_t)n + 1, sizeof(char *));

    for (uint32_t i = 0; v && i < n && !r->err; i++)
        v[i] = rstr(r);
    *count = n;
    return v;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static struct job_kv *rkvs(struct job_rbuf *r, uint32_t *count)
{
    uint32_t n = rcount(r, 8);
    struct job_kv *kvs = ralloc(r, n, sizeof(*kvs));

    *count = 0;
    for (uint32_t i = 0; kvs && i < n && !r->err; i++) {
        kvs[i].key = rstr(r);
        kvs[i].value = rstr(r);
        *count = i + 1;
    }
    return kvs;
}

/* A list of node ids; at most JOB_WIRE_HOLDERS_MAX. */
static uint64_t *rnodes(struct job_rbuf *r, uint32_t *count)
{
    uint32_t n = rcount(r, 8);
    uint64_t *v;

    if (n > JOB_WIRE_HOLDERS_MAX)
        rfail(r, SHOAL_EPROTO, "too many nodes");
    v = ralloc(r, n, sizeof(uint64_t));
    for (uint32_t i = 0; v && i < n && !r->err; i++)
        v[i] = ru64(r);
    *count = v ? n : 0;
    return v;
}

static void rlaunch(struct job_rbuf *r, struct job_launch *l)
{
    l->job_id = ru64(r);
    l->node_index = ru32(r);
    l->job_size = ru32(r);
    l->universe_size = ru32(r);
    l->nranks = rcount(r, 12);
    l->ranks = ralloc(r, l->nranks, sizeof(*l->ranks));
    for (uint32_t i = 0; l->ranks && i < l->nranks && !r->err; i++) {
        struct job_launch_rank *k = &l->ranks[i];
        k->rank = ru32(r);
        k->local_rank = ru32(r);
        k->npus = rcount(r, 4);
        k->pus = ralloc(r, k->npus, sizeof(uint32_t));
        for (uint32_t j = 0; k->pus && j < k->npus; j++)
            k->pus[j] = ru32(r);
        if (k->rank >= l->job_size || k->local_rank >= l->nranks)
            rfail(r, SHOAL_EPROTO, "rank out of range");
    }
    l->path = rstr(r);
    l->argv = rstrv(r, &l->argc);
    l->env = rstrv(r, &l->nenv);
    l->wdir = ropt(r);
    l->process_mapping = ropt(r);
    l->timeout = rtime(r);
    l->kill_grace = rtime(r);
    l->enable_recovery = rflag(r);
    if (!r->err && r->in.left > 0) {
        l->nrestores = rcount(r, 12);
        /* an empty list only before the policies */
        if (!r->err && l->nrestores == 0 && r->in.left == 0)
            rfail(r, SHOAL_EPROTO, "empty restore list");
        l->restores = ralloc(r, l->nrestores, sizeof(*l->restores));
        for (uint32_t i = 0; l->restores && i < l->nrestores && !r->err; i++) {
            struct job_launch_restore *k = &l->restores[i];
            k->rank = ru32(r);
            k->version = ru32(r);
            k->nodes = rnodes(r, &k->nnodes);
            if (k->rank >= l->job_size || k->version == 0)
                rfail(r, SHOAL_EPROTO, "bad restore");
        }
    }
    if (!r->err && r->in.left > 0) {
        l->mapby = rstr(r);
        l->bindto = rstr(r);
        if (!r->err
            && (!launch_policy_ok(l->mapby) || !launch_policy_ok(l->bindto)))
            rfail(r, SHOAL_EPROTO, "bad mapping or binding policy");
    }
    if (!r->err && r->in.left > 0) {
        l->rankby = rstr(r);
        if (!r->err && !launch_policy_ok(l->rankby))
            rfail(r, SHOAL_EPROTO, "bad ranking policy");
    }
    if (!r->err && (l->argc == 0 || l->nranks == 0))
        rfail(r, SHOAL_EPROTO, "no program or no rank");
}

int job_frame_decode(const uint8_t *buf,
                     size_t len,
                     struct job_frame *f,
                     shoal_error_t *error)
{
    struct job_rbuf r = {0};
    uint8_t flags;

    memset(f, 0, sizeof(*f));
    wire_reader_init(&r.in, buf, len);
    if (len > JOB_WIRE_FRAME_MAX)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "job frame of %zu bytes is too long", len);
    f->kind = ru8(&r);
    switch (f->kind) {
    case JOB_FRAME_LAUNCH:
        rlaunch(&r, &f->launch);
        break;
    case JOB_FRAME_STARTED:
        /* an optional trailer: the ranks' bindings */
        if (r.in.left > 0)
            rbindings(&r, &f->started.bound, &f->started.nbound);
        break;
    case JOB_FRAME_DONE:
    case JOB_FRAME_CKPT_REQUEST:
        break;
    case JOB_FRAME_SPAWN_FAILED:
        f->spawn_failed.code = (int32_t)ru32(&r);
        f->spawn_failed.message = rstr(&r);
        break;
    case JOB_FRAME_OUTPUT:
        f->output.rank = ru32(&r);
        f->output.stream = ru8(&r);
        if (f->output.stream != JOB_OUTPUT_STDOUT
            && f->output.stream != JOB_OUTPUT_STDERR)
            rfail(&r, SHOAL_EPROTO, "bad stream");
        f->output.bytes = rdata(&r, &f->output.len, JOB_WIRE_DATA_MAX);
        break;
    case JOB_FRAME_STDIN:
        f->input.bytes = rdata(&r, &f->input.len, JOB_WIRE_DATA_MAX);
        break;
    case JOB_FRAME_BARRIER_IN:
    case JOB_FRAME_BARRIER_OUT:
        f->barrier.kvs = rkvs(&r, &f->barrier.nkvs);
        break;
    case JOB_FRAME_RANK_EXIT:
        f->rank_exit.rank = ru32(&r);
        flags = ru8(&r);
        if (flags > 31)
            rfail(&r, SHOAL_EPROTO, "bad flags");
        f->rank_exit.signaled = flags & 1;
        f->rank_exit.initialized = flags & 2;
        f->rank_exit.finalized = flags & 4;
        f->rank_exit.killed = flags & 8;
        f->rank_exit.oom_killed = flags & 16;
        f->rank_exit.value = (int32_t)ru32(&r);
        if (f->rank_exit.oom_killed)
            f->rank_exit.memory_limit = ru64(&r);
        /* an optional trailer: the rank's counters, never empty */
        if (!r.err && r.in.left > 0) {
            f->rank_exit.counters =
                rdata(&r, &f->rank_exit.counters_len, JOB_WIRE_COUNTERS_MAX);
            if (!r.err && f->rank_exit.counters_len == 0)
                rfail(&r, SHOAL_EPROTO, "empty counters");
        }
        break;
    case JOB_FRAME_ABORT:
        f->abort.rank = (int32_t)ru32(&r);
        f->abort.code = (int32_t)ru32(&r);
        f->abort.fault = rflag(&r);
        f->abort.message = rstr(&r);
        break;
    case JOB_FRAME_SIGNAL:
        f->signal.signo = (int32_t)ru32(&r);
        if (f->signal.signo <= 0 || f->signal.signo >= 65)
            rfail(&r, SHOAL_EPROTO, "bad signal number");
        /* an optional trailer: the ranks it is for */
        if (!r.err && r.in.left > 0) {
            uint32_t n = rcount(&r, 4);

            if (!r.err && n == 0)
                rfail(&r, SHOAL_EPROTO, "a signal for no rank");
            f->signal.ranks = ralloc(&r, n, sizeof(uint32_t));
            for (uint32_t i = 0; f->signal.ranks && i < n && !r.err; i++)
                f->signal.ranks[i] = ru32(&r);
            f->signal.nranks = f->signal.ranks ? n : 0;
        }
        break;
    case JOB_FRAME_NAMES:
        f->names.op = ru8(&r);
        if (!r.err
            && (f->names.op < JOB_NAMES_PUBLISH
                || f->names.op > JOB_NAMES_REPLY))
            rfail(&r, SHOAL_EPROTO, "bad names operation");
        f->names.id = ru32(&r);
        f->names.rank = (int32_t)ru32(&r);
        f->names.wait = rflag(&r);
        f->names.status = (int32_t)ru32(&r);
        f->names.kvs = rkvs(&r, &f->names.nkvs);
        break;
    case JOB_FRAME_DMODEX:
        f->dmodex.op = ru8(&r);
        if (!r.err && f->dmodex.op != JOB_DMODEX_REQUEST
            && f->dmodex.op != JOB_DMODEX_REPLY)
            rfail(&r, SHOAL_EPROTO, "bad direct modex operation");
        f->dmodex.id = ru32(&r);
        f->dmodex.rank = ru32(&r);
        f->dmodex.status = (int32_t)ru32(&r);
        if (!r.err && f->dmodex.status > 0)
            rfail(&r, SHOAL_EPROTO, "bad direct modex status");
        if (!r.err && f->dmodex.op == JOB_DMODEX_REQUEST
            && f->dmodex.status != 0)
            rfail(&r, SHOAL_EPROTO, "a direct modex request with a status");
        f->dmodex.bytes = rdata(&r, &f->dmodex.len, JOB_WIRE_DATA_MAX);
        if (!r.err && f->dmodex.len > 0
            && (f->dmodex.op == JOB_DMODEX_REQUEST || f->dmodex.status != 0))
            rfail(&r, SHOAL_EPROTO, "direct modex data with no answer");
        break;
    case JOB_FRAME_KILL:
        f->kill.now = rflag(&r);
        break;
    case JOB_FRAME_CKPT_COPIES:
        f->ckpt_copies.rank = ru32(&r);
        f->ckpt_copies.version = ru32(&r);
        f->ckpt_copies.nodes = rnodes(&r, &f->ckpt_copies.nnodes);
        if (!r.err && f->ckpt_copies.version == 0)
            rfail(&r, SHOAL_EPROTO, "version 0");
        /* an optional trailer: the version's cost */
        if (!r.err && r.in.left > 0) {
            f->ckpt_copies.cost_ms = ru32(&r);
            if (!r.err && f->ckpt_copies.cost_ms == 0)
                rfail(&r, SHOAL_EPROTO, "a cost of 0 is not written");
        }
        break;
    case JOB_FRAME_CKPT_KEEP:
        f->ckpt_keep.version = ru32(&r);
        break;
    case JOB_FRAME_HOLD:
        flags = ru8(&r);
        if (flags > 2)
            rfail(&r, SHOAL_EPROTO, "bad hold");
        f->hold.held = flags & 1;
        f->hold.vacating = flags & 2;
        f->hold.reason = rstr(&r);
        break;
    default:
        rfail(&r, SHOAL_EPROTO, "unknown kind");
        break;
    }
    if (!r.err && r.in.left > 0)
        rfail(&r, SHOAL_EPROTO, "trailing bytes");
    if (r.err) {
        int kind = f->kind;
        job_frame_release(f);
        if (r.err == -ENOMEM)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "malformed job frame (kind %d %s): %s", kind,
                               job_frame_kind_name(kind), r.why);
    }
    return 0;
}

void job_frame_release(struct job_frame *f)
{
    if (!f)
        return;
    switch (f->kind) {
    case JOB_FRAME_LAUNCH:
        for (uint32_t i = 0; f->launch.ranks && i < f->launch.nranks; i++)
            free(f->launch.ranks[i].pus);
        free(f->launch.ranks);
        free(f->launch.path);
        strv_free(f->launch.argv);
        strv_free(f->launch.env);
        free(f->launch.wdir);
        free(f->launch.process_mapping);
        for (uint32_t i = 0; f->launch.restores && i < f->launch.nrestores; i++)
            free(f->launch.restores[i].nodes);
        free(f->launch.restores);
        free(f->launch.mapby);
        free(f->launch.bindto);
        free(f->launch.rankby);
        break;
    case JOB_FRAME_CKPT_COPIES:
        free(f->ckpt_copies.nodes);
        break;
    case JOB_FRAME_STARTED:
        for (uint32_t i = 0; f->started.bound && i < f->started.nbound; i++)
            free(f->started.bound[i].pus);
        free(f->started.bound);
        break;
    case JOB_FRAME_SPAWN_FAILED:
        free(f->spawn_failed.message);
        break;
    case JOB_FRAME_OUTPUT:
        free(f->output.bytes);
        break;
    case JOB_FRAME_STDIN:
        free(f->input.bytes);
        break;
    case JOB_FRAME_BARRIER_IN:
    case JOB_FRAME_BARRIER_OUT:
        for (uint32_t i = 0; f->barrier.kvs && i < f->barrier.nkvs; i++) {
            free(f->barrier.kvs[i].key);
            free(f->barrier.kvs[i].value);
        }
        free(f->barrier.kvs);
        break;
    case JOB_FRAME_RANK_EXIT:
        free(f->rank_exit.counters);
        break;
    case JOB_FRAME_ABORT:
        free(f->abort.message);
        break;
    case JOB_FRAME_SIGNAL:
        free(f->signal.ranks);
        break;
    case JOB_FRAME_NAMES:
        for (uint32_t i = 0; f->names.kvs && i < f->names.nkvs; i++) {
            free(f->names.kvs[i].key);
            free(f->names.kvs[i].value);
        }
        free(f->names.kvs);
        break;
    case JOB_FRAME_DMODEX:
        free(f->dmodex.bytes);
        break;
    case JOB_FRAME_HOLD:
        free(f->hold.reason);
        break;
    default:
        break;
    }
    memset(f, 0, sizeof(*f));
}

const char *job_frame_kind_name(int kind)
{
    static const char *const names[] = {
        "LAUNCH",       "STARTED",     "SPAWN_FAILED", "OUTPUT",    "STDIN",
        "BARRIER_IN",   "BARRIER_OUT", "RANK_EXIT",    "ABORT",     "SIGNAL",
        "KILL",         "DONE",        "CKPT_COPIES",  "CKPT_KEEP", "HOLD",
        "CKPT_REQUEST", "NAMES",       "DMODEX",
    };
    /* a kind added without its name would be read past the end */
    _Static_assert(sizeof(names) / sizeof(names[0])
                       == JOB_FRAME_DMODEX - JOB_FRAME_LAUNCH + 1,
                   "a name for every job frame kind");

    if (kind < JOB_FRAME_LAUNCH || kind > JOB_FRAME_DMODEX)
        return "?";
    return names[kind - JOB_FRAME_LAUNCH];
}
