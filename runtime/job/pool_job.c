/* SPDX-License-Identifier: MIT */
/* pool_job.c - coordinate one job's ranks over the nodes that run them. */
#include "runtime/job/pool_job.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hwloc.h>

#include "runtime/ckpt/ckpt_interval.h"
#include "runtime/job/ckpt_watch.h"
#include "runtime/job/job_wire.h"
#include "runtime/job/local_job.h"
#include "runtime/job/output_sink.h"
#include "runtime/pmix/pubsub.h"
#include "util/bug.h"
#include "util/log.h"
#include "util/uvbuf.h"

enum {
    POOL_JOB_STDIN_CHUNK = 65536,
};

/* After KILL, how much longer than the grace period nodes have to say
 * DONE before they are given up. */
static const double pool_job_done_slack = 10.0;

struct pool_node {
    bool started;
    bool done;
    bool lost;
    bool in_barrier;
    bool held;           /* its owner holds the job (HOLD) */
    bool vacating;       /* its owner takes it back: its ranks will end */
    struct job_kv *puts; /* BARRIER_IN of the current round, owned */
    uint32_t nputs;
};

/* A node's request for a rank's data, relayed to the rank's node under an
 * id of ours (several nodes may use the same ids). */
struct pool_dmodex {
    struct pool_dmodex *next;
    uint32_t id;     /* ours, sent to the rank's node */
    int asker;       /* the node asking */
    uint32_t ask_id; /* its id */
    uint32_t rank;
};

struct pool_job {
    struct pool_job_config config;
    const struct pool_job_ops *ops;
    void *arg;
    struct pool_job_result result;
    struct pool_node *nodes;
    int *node_of_rank;
    struct output_sink *sinks; /* 2 per rank: stdout, stderr */
    char *process_mapping;
    int nfinished; /* nodes done or lost */
    int nbarrier;
    int nheld; /* nodes holding the job */
    bool failed;
    bool killing;
    bool finished;
    uv_timer_t timeout_timer;
    struct ckpt_watch ckpt;
    /* --checkpoint=auto with node-local checkpoints: the proxies ask their
     * ranks (CKPT_REQUEST) every ckpt_interval_daly(cost, mtbf) seconds,
     * cost the largest a rank reported with its copies */
    uv_timer_t ask_timer;
    bool asking;
    double ask_cost;
    uint64_t asked_ms;
    int ckpt_kept;   /* the last CKPT_KEEP sent; 0 none */
    pubsub_t *names; /* the names the ranks published; NULL: none yet */
    /* direct modex requests relayed to the node running their rank */
    struct pool_dmodex *dmodex;
    uint32_t dmodex_next_id;
    bool *rank_gone; /* nranks: the rank exited (RANK_EXIT) */
    uv_timer_t done_timer;
    uv_signal_t signals[7];
    int nsignals;
    /* stdin */
    int stdin_node; /* node of rank 0 */
    uv_stream_t *stdin_src;
    uv_pipe_t stdin_pipe;
    uv_tty_t stdin_tty;
    uv_idle_t stdin_file; /* a regular file, read a chunk per turn */
    bool stdin_open;
    bool stdin_is_file;
    int stdin_flags;
};

static void pool_job_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

static void pool_job_fail(struct pool_job *job,
                          enum job_end end,
                          int status,
                          const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

static void pool_job_fail(
    struct pool_job *job, enum job_end end, int status, const char *fmt, ...)
{
    va_list ap;

    if (job->failed)
        return;
    job->failed = true;
    job->result.status = status;
    job->result.end = end;
    va_start(ap, fmt);
    vsnprintf(job->result.message.text, sizeof(job->result.message.text), fmt,
              ap);
    va_end(ap);
}

static const char *pool_job_host_of(const struct pool_job *job, int rank)
{
    return job->config.nodes[job->node_of_rank[rank]].name;
}

static void pool_job_send(struct pool_job *job, int node, struct job_frame *f)
{
    uint8_t *buf;
    size_t len;

    if (job->nodes[node].done || job->nodes[node].lost)
        return;
    if (job_frame_encode(f, &buf, &len) < 0)
        SHOAL_BUG("a frame the coordinator made does not encode");
    job->ops->send(node, buf, len, job->arg);
    free(buf);
}

static void pool_job_send_all(struct pool_job *job, struct job_frame *f)
{
    for (int i = 0; i < job->config.nnodes; i++)
        pool_job_send(job, i, f);
}

static void pool_job_done_timer_cb(uv_timer_t *timer);

/* End every rank: KILL to every node (now: no grace period). */
static void pool_job_kill(struct pool_job *job, bool now)
{
    struct job_frame f = {.kind = JOB_FRAME_KILL};

    if (job->killing && !now)
        return;
    job->killing = true;
    f.kill.now = now;
    pool_job_send_all(job, &f);
    if (!uv_is_active((uv_handle_t *)&job->done_timer))
        uv_timer_start(
            &job->done_timer, pool_job_done_timer_cb,
            (uint64_t)((job->config.kill_grace + pool_job_done_slack) * 1000.0),
            0);
}

/* The owners' holds ---------------------------------------------------- */

static void pool_job_notice(struct pool_job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pool_job_notice(struct pool_job *job, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    if (!job->config.notice)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    job->config.notice(text, job->config.notice_arg);
}

static void pool_job_signal_all(struct pool_job *job, int signo)
{
    struct job_frame f = {.kind = JOB_FRAME_SIGNAL};

    f.signal.signo = signo;
    pool_job_send_all(job, &f);
}

/* Node's word from its owner. The first hold stops the job everywhere,
 * the last release continues it. */
static void pool_job_hold(struct pool_job *job,
                          int node,
                          bool held,
                          bool vacating,
                          const char *reason)
{
    struct pool_node *n = &job->nodes[node];

    if (vacating && !n->vacating) {
        n->vacating = true;
        pool_job_notice(job, "%s; its ranks there will end", reason);
    }
    if (n->held == held)
        return;
    n->held = held;
    job->nheld += held ? 1 : -1;
    if (held && job->nheld == 1) {
        pool_job_signal_all(job, SIGSTOP);
        pool_job_notice(job, "job stopped on every node: %s", reason);
    } else if (!held && job->nheld == 0 && !job->killing) {
        pool_job_signal_all(job, SIGCONT);
        if (!vacating)
            pool_job_notice(job, "job continued: %s", reason);
    }
}

/* Stdin ----------------------------------------------------------------- */

static void pool_stdin_send(struct pool_job *job, const char *buf, size_t len)
{
    struct job_frame f = {.kind = JOB_FRAME_STDIN};

    f.input.len = (uint32_t)len;
    f.input.bytes = (uint8_t *)buf;
    pool_job_send(job, job->stdin_node, &f);
}

static void pool_stdin_stop(struct pool_job *job)
{
    if (!job->stdin_open)
        return;
    job->stdin_open = false;
    if (job->stdin_is_file)
        uv_close((uv_handle_t *)&job->stdin_file, pool_job_close_cb);
    else
        uv_close((uv_handle_t *)job->stdin_src, pool_job_close_cb);
}

static void pool_stdin_eof(struct pool_job *job)
{
    pool_stdin_stop(job);
    pool_stdin_send(job, NULL, 0);
}

static void
pool_stdin_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct pool_job *job = stream->data;

    if (n < 0)
        pool_stdin_eof(job);
    else if (n > 0)
        pool_stdin_send(job, buf->base, (size_t)n);
    free(buf->base);
}

static void pool_stdin_file_cb(uv_idle_t *idle)
{
    struct pool_job *job = idle->data;
    char buf[POOL_JOB_STDIN_CHUNK];
    ssize_t n = read(job->config.in_fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0)
        pool_stdin_eof(job);
    else
        pool_stdin_send(job, buf, (size_t)n);
}

/* Our stdin goes to rank 0's node as STDIN frames. A terminal is read only
 * while we are in its foreground, so a job started with '&' is not stopped
 * by SIGTTIN; then rank 0 gets end of file at once. */
static void pool_stdin_setup(struct pool_job *job)
{
    int in = job->config.in_fd;
    struct stat st;

    if (in < 0 || fstat(in, &st) < 0
        || (isatty(in) && tcgetpgrp(in) != getpgrp())) {
        pool_stdin_send(job, NULL, 0);
        return;
    }
    if (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(in))) {
        uv_idle_init(job->config.loop, &job->stdin_file);
        job->stdin_file.data = job;
        job->stdin_is_file = true;
        job->stdin_open = true;
        uv_idle_start(&job->stdin_file, pool_stdin_file_cb);
        return;
    }
    job->stdin_flags = fcntl(in, F_GETFL);
    if (isatty(in)) {
        uv_tty_init(job->config.loop, &job->stdin_tty, in, 1);
        job->stdin_src = (uv_stream_t *)&job->stdin_tty;
    } else {
        uv_pipe_init(job->config.loop, &job->stdin_pipe, 0);
        job->stdin_src = (uv_stream_t *)&job->stdin_pipe;
        if (uv_pipe_open(&job->stdin_pipe, in) < 0) {
            uv_close((uv_handle_t *)&job->stdin_pipe, pool_job_close_cb);
            pool_stdin_send(job, NULL, 0);
            return;
        }
    }
    job->stdin_src->data = job;
    job->stdin_open = true;
    uv_read_start(job->stdin_src, uvbuf_alloc, pool_stdin_read_cb);
}

/* Ending ----------------------------------------------------------------- */

static void pool_job_close_handles(struct pool_job *job)
{
    uv_close((uv_handle_t *)&job->timeout_timer, pool_job_close_cb);
    uv_close((uv_handle_t *)&job->done_timer, pool_job_close_cb);
    if (job->asking)
        uv_close((uv_handle_t *)&job->ask_timer, pool_job_close_cb);
    job->asking = false;
    ckpt_watch_stop(&job->ckpt);
    for (int i = 0; i < job->nsignals; i++)
        uv_close((uv_handle_t *)&job->signals[i], pool_job_close_cb);
    job->nsignals = 0;
    pool_stdin_stop(job);
    if (job->stdin_flags >= 0)
        fcntl(job->config.in_fd, F_SETFL, job->stdin_flags);
}

static void pool_job_node_finished(struct pool_job *job)
{
    job->nfinished++;
    if (job->nfinished < job->config.nnodes || job->finished)
        return;
    job->finished = true;
    for (int i = 0; i < 2 * job->config.nranks; i++)
        output_sink_close(&job->sinks[i]);
    pool_job_close_handles(job);
    job->ops->finished(job->arg);
}

static void pool_job_barrier_check(struct pool_job *job);
static void pool_job_dmodex_node_gone(struct pool_job *job, int node);

void pool_job_node_lost(pool_job_t *job, int node)
{
    pool_job_node_lost_why(job, node, POOL_JOB_LOST_NODE);
}

void pool_job_node_lost_why(pool_job_t *job, int node, enum pool_job_loss why)
{
    struct pool_node *n = &job->nodes[node];
    const struct pool_job_node *cn = &job->config.nodes[node];
    char list[256] = "";
    size_t off = 0;

    if (n->done || n->lost)
        return;
    n->lost = true;
    if (n->held) {
        /* the others stay stopped while the job ends; KILL continues
         * them (a stopped rank cannot act on SIGTERM) */
        n->held = false;
        job->nheld--;
    }
    for (int i = 0; i < cn->nranks && off < sizeof(list) - 16; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d",
                                i ? "," : "", cn->ranks[i]);
    if (off >= sizeof(list) - 16)
        snprintf(list + off, sizeof(list) - off, ",...");
    if (why == POOL_JOB_LOST_PROXY)
        pool_job_fail(job, JOB_END_NODE_LOST, LOCAL_JOB_STATUS_ERROR,
                      "the proxy on node '%s' ended before its ranks were "
                      "done (the node is up); rank%s %s on it %s gone",
                      cn->name, cn->nranks > 1 ? "s" : "", list,
                      cn->nranks > 1 ? "are" : "is");
    else
        pool_job_fail(job, JOB_END_NODE_LOST, LOCAL_JOB_STATUS_ERROR,
                      "node '%s' was lost; rank%s %s on it %s gone", cn->name,
                      cn->nranks > 1 ? "s" : "", list,
                      cn->nranks > 1 ? "are" : "is");
    /* its output streams will not end by themselves */
    for (int i = 0; i < cn->nranks; i++) {
        output_sink_close(&job->sinks[2 * cn->ranks[i]]);
        output_sink_close(&job->sinks[2 * cn->ranks[i] + 1]);
    }
    if (n->in_barrier)
        job->nbarrier--;
    pool_job_dmodex_node_gone(job, node);
    pool_job_kill(job, false);
    pool_job_node_finished(job);
}

static void pool_job_done_timer_cb(uv_timer_t *timer)
{
    struct pool_job *job = timer->data;

    for (int i = 0; i < job->config.nnodes && !job->finished; i++)
        pool_job_node_lost(job, i);
}

static void pool_job_timeout_cb(uv_timer_t *timer)
{
    struct pool_job *job = timer->data;

    pool_job_fail(job, JOB_END_TIMEOUT, LOCAL_JOB_STATUS_TIMEOUT,
                  "job timed out after %g seconds", job->config.timeout);
    pool_job_kill(job, false);
}

static void pool_job_signal_cb(uv_signal_t *handle, int sig)
{
    struct pool_job *job = handle->data;
    struct job_frame f = {.kind = JOB_FRAME_SIGNAL};

    switch (sig) {
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
        pool_job_fail(job, JOB_END_INTERRUPTED, LOCAL_JOB_STATUS_SIGNALED + sig,
                      "interrupted by signal %d (%s)", sig, strsignal(sig));
        /* a second interrupt does not wait for the grace period */
        pool_job_kill(job, job->killing);
        break;
    case SIGTSTP:
        f.signal.signo = SIGTSTP;
        pool_job_send_all(job, &f);
        raise(SIGSTOP);
        break;
    default:
        f.signal.signo = sig;
        pool_job_send_all(job, &f);
        break;
    }
}

/* Frames from nodes ------------------------------------------------------- */

/* The counters a rank left on its node, appended to its file in
 * counters_dir; said when they cannot be. */
static void pool_job_rank_counters(struct pool_job *job,
                                   const struct job_rank_exit *e)
{
    char path[4200];
    int fd;

    if (!job->config.counters_dir || !e->counters_len)
        return;
    snprintf(path, sizeof(path), "%s/papi.rank.%u", job->config.counters_dir,
             e->rank);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0
        || write(fd, e->counters, e->counters_len) != (ssize_t)e->counters_len)
        LOG(LOG_LEVEL_WARNING, LOG_GANG, "rank %u: cannot write '%s': %s",
            e->rank, path, strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void pool_job_rank_exit(struct pool_job *job,
                               const struct job_rank_exit *e)
{
    const char *host = pool_job_host_of(job, (int)e->rank);

    pool_job_rank_counters(job, e);

    if (job->killing && e->killed) {
        /* terminated by us: the first failure already tells why */
    } else if (job->nodes[job->node_of_rank[e->rank]].vacating
               && (e->signaled || e->value != 0)) {
        pool_job_fail(job, JOB_END_VACATED,
                      e->signaled ? 128 + e->value : e->value,
                      "rank %u on '%s' ended: the node's owner took it back",
                      e->rank, host);
    } else if (e->oom_killed && e->memory_limit) {
        pool_job_fail(job, JOB_END_RANK_FAILED, 128 + e->value,
                      "rank %u on '%s' was killed: the job exceeded its "
                      "memory limit of %" PRIu64 " MiB on '%s'",
                      e->rank, host, (e->memory_limit + (1 << 19)) >> 20, host);
    } else if (e->oom_killed) {
        pool_job_fail(job, JOB_END_RANK_FAILED, 128 + e->value,
                      "rank %u on '%s' was killed: the job exceeded its "
                      "memory limit on '%s'",
                      e->rank, host, host);
    } else if (e->signaled) {
        pool_job_fail(job, JOB_END_RANK_FAILED, 128 + e->value,
                      "rank %u on '%s' was killed by signal %d (%s)", e->rank,
                      host, e->value, strsignal(e->value));
    } else if (e->value != 0) {
        pool_job_fail(job, JOB_END_RANK_FAILED, e->value,
                      "rank %u on '%s' exited with status %d", e->rank, host,
                      e->value);
    } else if (e->initialized && !e->finalized) {
        pool_job_fail(job, JOB_END_RANK_FAILED, LOCAL_JOB_STATUS_ERROR,
                      "rank %u on '%s' exited without finalizing", e->rank,
                      host);
    }
    if (job->failed && !job->config.enable_recovery)
        pool_job_kill(job, false);
}

static void pool_job_abort(struct pool_job *job, const struct job_frame *f)
{
    int rank = f->abort.rank;
    const char *host = rank >= 0 && rank < job->config.nranks
                           ? pool_job_host_of(job, rank)
                           : "?";

    if (f->abort.fault)
        pool_job_fail(job, JOB_END_ERROR, LOCAL_JOB_STATUS_ERROR,
                      "rank %d on '%s': %s", rank, host, f->abort.message);
    else
        pool_job_fail(job, JOB_END_RANK_FAILED, f->abort.code,
                      "rank %d on '%s' aborted the job with exit code %d%s%s",
                      rank, host, f->abort.code,
                      f->abort.message[0] ? ": " : "", f->abort.message);
    pool_job_kill(job, false);
}

static void pool_job_output(struct pool_job *job, int node, struct job_frame *f)
{
    struct output_sink *s;
    struct job_frame close = {.kind = JOB_FRAME_OUTPUT};

    s = &job->sinks[2 * f->output.rank + (f->output.stream - 1)];
    if (f->output.len == 0) {
        output_sink_close(s);
        return;
    }
    if (!s->open)
        return;
    output_sink_write(s, (const char *)f->output.bytes, f->output.len);
    if (s->broken) {
        /* the rank meets the broken pipe as it would without us */
        output_sink_close(s);
        close.output.rank = f->output.rank;
        close.output.stream = f->output.stream;
        pool_job_send(job, node, &close);
    }
}

/* Every node still running is in the barrier: send each the puts of all
 * the others, and start a new round. */
static void pool_job_barrier_check(struct pool_job *job)
{
    int waiting = 0;
    uint32_t total = 0;
    struct job_kv *all;

    for (int i = 0; i < job->config.nnodes; i++) {
        const struct pool_node *n = &job->nodes[i];
        if (n->lost || n->done)
            continue;
        if (!n->in_barrier)
            return;
        waiting++;
        total += n->nputs;
    }
    if (waiting == 0)
        return;
    all = calloc(total ? total : 1, sizeof(*all));
    if (!all) {
        pool_job_fail(job, JOB_END_ERROR, LOCAL_JOB_STATUS_ERROR,
                      "out of memory");
        pool_job_kill(job, false);
        return;
    }
    for (int i = 0; i < job->config.nnodes; i++) {
        struct pool_node *n = &job->nodes[i];
        struct job_frame f = {.kind = JOB_FRAME_BARRIER_OUT};
        uint32_t k = 0;
        if (!n->in_barrier)
            continue;
        for (int j = 0; j < job->config.nnodes; j++) {
            if (j == i || !job->nodes[j].in_barrier)
                continue;
            memcpy(all + k, job->nodes[j].puts,
                   job->nodes[j].nputs * sizeof(*all));
            k += job->nodes[j].nputs;
        }
        f.barrier.kvs = all;
        f.barrier.nkvs = k;
        pool_job_send(job, i, &f);
    }
    free(all);
    for (int i = 0; i < job->config.nnodes; i++) {
        struct pool_node *n = &job->nodes[i];
        struct job_frame owned = {.kind = JOB_FRAME_BARRIER_IN};
        if (!n->in_barrier)
            continue;
        owned.barrier.kvs = n->puts;
        owned.barrier.nkvs = n->nputs;
        job_frame_release(&owned);
        n->puts = NULL;
        n->nputs = 0;
        n->in_barrier = false;
    }
    job->nbarrier = 0;
}

static int
pool_job_protocol_fault(struct pool_job *job, int node, const char *what)
{
    pool_job_fail(job, JOB_END_ERROR, LOCAL_JOB_STATUS_ERROR, "node '%s': %s",
                  job->config.nodes[node].name, what);
    pool_job_kill(job, false);
    return SHOAL_EPROTO;
}

static bool pool_job_rank_on(const struct pool_job *job, int node, uint32_t r)
{
    return r < (uint32_t)job->config.nranks && job->node_of_rank[r] == node;
}

/* A rank's version is durable: when the job's version advances, every
 * node pins it. */
/* --checkpoint=auto: ask every node for a checkpoint once the interval
 * the last cost gives is up. */
static void pool_job_ask_cb(uv_timer_t *timer)
{
    struct pool_job *job = timer->data;
    const struct ckpt_watch_auto *a = &job->config.ckpt_auto;
    struct job_frame ask = {.kind = JOB_FRAME_CKPT_REQUEST};
    uint64_t now = uv_now(job->config.loop);
    double t = ckpt_interval_daly(job->ask_cost, a->mtbf, a->min_interval,
                                  a->max_interval);

    if ((double)(now - job->asked_ms) < t * 1000 || job->killing)
        return;
    job->asked_ms = now;
    pool_job_send_all(job, &ask);
}

static void pool_job_ckpt_copies(struct pool_job *job,
                                 const struct job_frame *f)
{
    struct job_frame keep = {.kind = JOB_FRAME_CKPT_KEEP};
    int v;

    if (f->ckpt_copies.cost_ms / 1000.0 > job->ask_cost)
        job->ask_cost = f->ckpt_copies.cost_ms / 1000.0;
    ckpt_copies_add(job->config.ckpt_copies, (int)f->ckpt_copies.rank,
                    (int)f->ckpt_copies.version, f->ckpt_copies.nodes,
                    (int)f->ckpt_copies.nnodes);
    v = ckpt_copies_version(job->config.ckpt_copies);
    if (v <= job->ckpt_kept)
        return;
    /* the proxies remove what is older than the version before: a
     * restart must not look for it */
    if (job->ckpt_kept > 0)
        ckpt_copies_forget_below(job->config.ckpt_copies, job->ckpt_kept);
    job->ckpt_kept = v;
    keep.ckpt_keep.version = (uint32_t)v;
    pool_job_send_all(job, &keep);
}

/* Node could not restore the version of one of its ranks: it is nowhere,
 * as far as this run can tell. */
static void pool_job_ckpt_lost(struct pool_job *job, int node)
{
    const struct pool_job_node *cn = &job->config.nodes[node];

    for (int i = 0; i < cn->nranks; i++)
        ckpt_copies_drop(job->config.ckpt_copies, cn->ranks[i],
                         job->config.ckpt_restore);
}

/* --report-bindings: node's ranks as it bound them, the same line as on
 * one machine; a node that does not say (an older version) has its
 * placement printed instead, in its logical PU numbers. */
static void
pool_job_report_bindings(pool_job_t *job, int node, const struct job_frame *f)
{
    const struct pool_job_node *n = &job->config.nodes[node];
    FILE *out = job->config.report_bindings;

    for (uint32_t i = 0; i < f->started.nbound; i++) {
        const struct job_binding *b = &f->started.bound[i];
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        char *mask = NULL;

        if (!b->pus[0] || !set || hwloc_bitmap_list_sscanf(set, b->pus) < 0
            || hwloc_bitmap_asprintf(&mask, set) < 0)
            fprintf(out, "[%s] rank %" PRIu32 " is not bound\n", n->name,
                    b->rank);
        else
            fprintf(out, "[%s] rank %" PRIu32 " bound to PUs %s (cpuset %s)\n",
                    n->name, b->rank, b->pus, mask);
        free(mask);
        hwloc_bitmap_free(set);
    }
    for (int i = 0; f->started.nbound == 0 && i < n->nranks; i++) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        char *list = NULL;

        for (uint32_t k = 0; set && n->pus && n->pus[i] && k < n->npus[i]; k++)
            hwloc_bitmap_set(set, n->pus[i][k]);
        if (set && !hwloc_bitmap_iszero(set)
            && hwloc_bitmap_list_asprintf(&list, set) >= 0)
            fprintf(out, "[%s] rank %d bound to PUs %s\n", n->name, n->ranks[i],
                    list);
        else
            fprintf(out, "[%s] rank %d is not bound\n", n->name, n->ranks[i]);
        free(list);
        hwloc_bitmap_free(set);
    }
    fflush(out);
}

/* Names ------------------------------------------------------------------ */

/* A lookup the table keeps until its keys are published. */
struct pool_names_wait {
    struct pool_job *job;
    int node;
    uint32_t id;
};

static void pool_job_names_reply(struct pool_job *job,
                                 int node,
                                 uint32_t id,
                                 int status,
                                 const char *const *keys,
                                 const char *const *values,
                                 size_t n)
{
    struct job_frame f = {.kind = JOB_FRAME_NAMES};
    struct job_kv *kvs = calloc(n ? n : 1, sizeof(*kvs));
    uint32_t k = 0;

    if (!kvs)
        status = -ENOMEM;
    for (size_t i = 0; kvs && status == 0 && i < n; i++) {
        if (!values[i])
            continue;
        kvs[k].key = (char *)keys[i];
        kvs[k].value = (char *)values[i];
        k++;
    }
    f.names.op = JOB_NAMES_REPLY;
    f.names.id = id;
    f.names.rank = -1;
    f.names.status = status;
    f.names.kvs = kvs;
    f.names.nkvs = status == 0 ? k : 0;
    pool_job_send(job, node, &f);
    free(kvs);
}

static void
pool_job_names_ready(void *cookie, const char *const *keys, size_t n, void *arg)
{
    struct pool_names_wait *w = cookie;
    const char **values = calloc(n ? n : 1, sizeof(char *));

    (void)arg;
    if (values)
        pubsub_lookup(w->job->names, keys, n, values, NULL);
    pool_job_names_reply(w->job, w->node, w->id, values ? 0 : -ENOMEM, keys,
                         values, n);
    free(values);
    free(w);
}

static void pool_job_names_drop(void *cookie, void *arg)
{
    (void)arg;
    free(cookie);
}

/* A rank's request on the job's names: publish, look up (perhaps waiting
 * for a publish), unpublish; answered to its node. */
static void pool_job_names(struct pool_job *job, int node, struct job_frame *f)
{
    size_t n = f->names.nkvs;
    struct pubsub_name *names = calloc(n ? n : 1, sizeof(*names));
    const char **keys = calloc(n ? n : 1, sizeof(char *));
    const char **values = calloc(n ? n : 1, sizeof(char *));
    struct pool_names_wait *w = calloc(1, sizeof(*w));
    int rc = -ENOMEM;

    if (!names || !keys || !values || !w
        || (!job->names && pubsub_create(&job->names) < 0))
        goto answer;
    for (size_t i = 0; i < n; i++) {
        names[i].key = keys[i] = f->names.kvs[i].key;
        names[i].value = f->names.kvs[i].value;
    }
    w->job = job;
    w->node = node;
    w->id = f->names.id;
    rc = pubsub_serve(job->names, (enum pubsub_op)f->names.op, f->names.rank,
                      f->names.wait, names, n, values, NULL, w);
    if (rc == 1) {
        w = NULL; /* answered by a publish to come */
        goto out;
    }
    if (rc == 0 && f->names.op == JOB_NAMES_PUBLISH)
        pubsub_ready(job->names, pool_job_names_ready, NULL);
answer:
    pool_job_names_reply(job, node, f->names.id, rc, keys, values,
                         f->names.op == JOB_NAMES_LOOKUP ? n : 0);
out:
    free(names);
    free(keys);
    free(values);
    free(w);
}

/* Direct modex ------------------------------------------------------------ */

static void pool_job_dmodex_answer(struct pool_job *job,
                                   int node,
                                   uint32_t id,
                                   uint32_t rank,
                                   int status,
                                   const uint8_t *data,
                                   uint32_t len)
{
    struct job_frame f = {.kind = JOB_FRAME_DMODEX};

    if (job->nodes[node].done || job->nodes[node].lost)
        return;
    f.dmodex.op = JOB_DMODEX_REPLY;
    f.dmodex.id = id;
    f.dmodex.rank = rank;
    f.dmodex.status = status;
    f.dmodex.len = status == 0 ? len : 0;
    f.dmodex.bytes = status == 0 ? (uint8_t *)data : NULL;
    pool_job_send(job, node, &f);
}

/* Every request for rank (every one, rank -1) fails with status: the
 * rank is gone, or its node. */
static void pool_job_dmodex_fail(struct pool_job *job, int rank, int status)
{
    struct pool_dmodex **pp = &job->dmodex;

    while (*pp) {
        struct pool_dmodex *d = *pp;

        if (rank >= 0 && d->rank != (uint32_t)rank) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        pool_job_dmodex_answer(job, d->asker, d->ask_id, d->rank, status, NULL,
                               0);
        free(d);
    }
}

/* A node is done or lost: its ranks' data is not to be had any more. */
static void pool_job_dmodex_node_gone(struct pool_job *job, int node)
{
    const struct pool_job_node *cn = &job->config.nodes[node];

    for (int i = 0; i < cn->nranks; i++) {
        job->rank_gone[cn->ranks[i]] = true;
        pool_job_dmodex_fail(job, cn->ranks[i], -ESRCH);
    }
}

/* A node's DMODEX frame: a request goes on to the rank's node (or is
 * answered at once when the rank is gone), a reply back to the asker. */
static int pool_job_dmodex(struct pool_job *job, int node, struct job_frame *f)
{
    struct job_frame out = {.kind = JOB_FRAME_DMODEX};
    struct pool_dmodex *d, **pp;
    int holder;

    if (f->dmodex.rank >= (uint32_t)job->config.nranks)
        return pool_job_protocol_fault(
            job, node, "a direct modex frame for no rank of the job");
    holder = job->node_of_rank[f->dmodex.rank];
    if (f->dmodex.op == JOB_DMODEX_REPLY) {
        if (holder != node)
            return pool_job_protocol_fault(
                job, node, "a direct modex reply for a rank of another node");
        for (pp = &job->dmodex; *pp && (*pp)->id != f->dmodex.id;
             pp = &(*pp)->next)
            ;
        d = *pp;
        if (!d)
            return 0; /* answered already: the rank exited meanwhile */
        if (d->rank != f->dmodex.rank)
            return pool_job_protocol_fault(
                job, node, "a direct modex reply for another rank");
        *pp = d->next;
        pool_job_dmodex_answer(job, d->asker, d->ask_id, d->rank,
                               f->dmodex.status, f->dmodex.bytes,
                               f->dmodex.len);
        free(d);
        return 0;
    }
    if (job->rank_gone[f->dmodex.rank] || job->nodes[holder].done
        || job->nodes[holder].lost || job->killing) {
        pool_job_dmodex_answer(job, node, f->dmodex.id, f->dmodex.rank, -ESRCH,
                               NULL, 0);
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        pool_job_dmodex_answer(job, node, f->dmodex.id, f->dmodex.rank, -ENOMEM,
                               NULL, 0);
        return 0;
    }
    d->id = ++job->dmodex_next_id;
    d->asker = node;
    d->ask_id = f->dmodex.id;
    d->rank = f->dmodex.rank;
    d->next = job->dmodex;
    job->dmodex = d;
    out.dmodex.op = JOB_DMODEX_REQUEST;
    out.dmodex.id = d->id;
    out.dmodex.rank = d->rank;
    pool_job_send(job, holder, &out);
    return 0;
}

/* A rank asked (PMIx_Job_control) for a signal to some of the job's ranks
 * (or all): each node that runs one is told. */
static void pool_job_signal_ranks(struct pool_job *job, struct job_frame *f)
{
    struct job_frame out = {.kind = JOB_FRAME_SIGNAL};
    uint32_t *mine =
        calloc(f->signal.nranks ? f->signal.nranks : 1, sizeof(uint32_t));

    out.signal.signo = f->signal.signo;
    for (int node = 0; node < job->config.nnodes; node++) {
        uint32_t k = 0;

        for (uint32_t i = 0; mine && i < f->signal.nranks; i++)
            if (pool_job_rank_on(job, node, f->signal.ranks[i]))
                mine[k++] = f->signal.ranks[i];
        if (f->signal.nranks > 0 && k == 0)
            continue;
        out.signal.ranks = mine;
        out.signal.nranks = k;
        pool_job_send(job, node, &out);
    }
    free(mine);
}

int pool_job_input(pool_job_t *job, int node, const uint8_t *buf, size_t len)
{
    struct pool_node *n = &job->nodes[node];
    struct job_frame f;
    shoal_error_t ferr;
    int rc = 0;

    if (n->done || n->lost)
        return 0;
    if (job_frame_decode(buf, len, &f, &ferr) < 0)
        return pool_job_protocol_fault(job, node, ferr.text);
    switch (f.kind) {
    case JOB_FRAME_STARTED:
        n->started = true;
        if (job->config.report_bindings)
            pool_job_report_bindings(job, node, &f);
        if (job->nheld > 0) {
            /* the SIGSTOP sent before found no rank there yet */
            struct job_frame stop = {.kind = JOB_FRAME_SIGNAL};
            stop.signal.signo = SIGSTOP;
            pool_job_send(job, node, &stop);
        }
        break;
    case JOB_FRAME_HOLD:
        pool_job_hold(job, node, f.hold.held, f.hold.vacating, f.hold.reason);
        break;
    case JOB_FRAME_SPAWN_FAILED: {
        int status = LOCAL_JOB_STATUS_ERROR;
        if (f.spawn_failed.code == -ENODATA && job->config.ckpt_copies) {
            pool_job_ckpt_lost(job, node);
            pool_job_fail(job, JOB_END_NODE_LOST, status, "node '%s': %s",
                          job->config.nodes[node].name, f.spawn_failed.message);
            pool_job_kill(job, true);
            break;
        }
        if (f.spawn_failed.code == SHOAL_EOUTPUT) {
            /* the program is fine: where its output goes is not */
            pool_job_fail(job, JOB_END_ERROR, status, "%s",
                          f.spawn_failed.message);
            pool_job_kill(job, true);
            break;
        }
        if (f.spawn_failed.code == -ENOENT)
            status = 127;
        else if (f.spawn_failed.code == -EACCES
                 || f.spawn_failed.code == -ENOEXEC
                 || f.spawn_failed.code == -EISDIR)
            status = 126;
        pool_job_fail(job, JOB_END_ERROR, status,
                      "cannot launch '%s' on '%s': %s", job->config.argv[0],
                      job->config.nodes[node].name, f.spawn_failed.message);
        pool_job_kill(job, true);
        break;
    }
    case JOB_FRAME_OUTPUT:
        if (!pool_job_rank_on(job, node, f.output.rank))
            rc = pool_job_protocol_fault(job, node, "output of a foreign rank");
        else
            pool_job_output(job, node, &f);
        break;
    case JOB_FRAME_BARRIER_IN:
        if (n->in_barrier) {
            rc = pool_job_protocol_fault(job, node, "BARRIER_IN twice");
            break;
        }
        n->in_barrier = true;
        n->puts = f.barrier.kvs;
        n->nputs = f.barrier.nkvs;
        f.barrier.kvs = NULL;
        f.barrier.nkvs = 0;
        job->nbarrier++;
        pool_job_barrier_check(job);
        break;
    case JOB_FRAME_RANK_EXIT:
        if (!pool_job_rank_on(job, node, f.rank_exit.rank))
            rc = pool_job_protocol_fault(job, node, "exit of a foreign rank");
        else {
            job->rank_gone[f.rank_exit.rank] = true;
            pool_job_dmodex_fail(job, (int)f.rank_exit.rank, -ESRCH);
            pool_job_rank_exit(job, &f.rank_exit);
        }
        break;
    case JOB_FRAME_ABORT:
        pool_job_abort(job, &f);
        break;
    case JOB_FRAME_NAMES:
        if (f.names.op == JOB_NAMES_REPLY || f.names.rank < 0
            || !pool_job_rank_on(job, node, (uint32_t)f.names.rank))
            rc = pool_job_protocol_fault(job, node, "names of a foreign rank");
        else
            pool_job_names(job, node, &f);
        break;
    case JOB_FRAME_DMODEX:
        rc = pool_job_dmodex(job, node, &f);
        break;
    case JOB_FRAME_SIGNAL:
        for (uint32_t i = 0; i < f.signal.nranks && rc == 0; i++)
            if (f.signal.ranks[i] >= (uint32_t)job->config.nranks)
                rc = pool_job_protocol_fault(job, node,
                                             "a signal for no rank of the job");
        if (rc == 0 && !job->killing)
            pool_job_signal_ranks(job, &f);
        break;
    case JOB_FRAME_CKPT_COPIES:
        if (!job->config.ckpt_copies
            || !pool_job_rank_on(job, node, f.ckpt_copies.rank))
            rc = pool_job_protocol_fault(job, node, "copies of a foreign rank");
        else
            pool_job_ckpt_copies(job, &f);
        break;
    case JOB_FRAME_DONE:
        for (int i = 0; i < job->config.nodes[node].nranks; i++) {
            int r = job->config.nodes[node].ranks[i];
            output_sink_close(&job->sinks[2 * r]);
            output_sink_close(&job->sinks[2 * r + 1]);
        }
        if (n->in_barrier)
            job->nbarrier--;
        n->in_barrier = false;
        n->done = true;
        pool_job_dmodex_node_gone(job, node);
        if (n->held)
            pool_job_hold(job, node, false, false, "its node is done");
        pool_job_node_finished(job);
        /* a node that ended may be all a barrier waited for */
        if (!job->finished)
            pool_job_barrier_check(job);
        break;
    default:
        rc = pool_job_protocol_fault(job, node, "unexpected frame");
        break;
    }
    job_frame_release(&f);
    return rc;
}

/* Setting up -------------------------------------------------------------- */

/* MPICH's PMI_process_mapping: ranks in consecutive blocks, node after
 * node, are "(vector,(first node,node count,ranks per node),...)". Any
 * other layout cannot be written so; NULL is then sent (no mapping). */
static char *pool_job_mapping(const struct pool_job_config *c)
{
    size_t cap = 32 + (size_t)c->nnodes * 40, off;
    char *s = malloc(cap);
    int next = 0;

    if (!s)
        return NULL;
    off = (size_t)snprintf(s, cap, "(vector");
    for (int i = 0; i < c->nnodes; i++) {
        for (int j = 0; j < c->nodes[i].nranks; j++)
            if (c->nodes[i].ranks[j] != next++) {
                free(s);
                return NULL;
            }
        off += (size_t)snprintf(s + off, cap - off, ",(%d,1,%d)", i,
                                c->nodes[i].nranks);
    }
    snprintf(s + off, cap - off, ")");
    return s;
}

int pool_job_create(const struct pool_job_config *config,
                    const struct pool_job_ops *ops,
                    void *arg,
                    pool_job_t **out,
                    shoal_error_t *error)
{
    struct pool_job *job;
    int count = 0;
    int rc;

    if (config->nranks <= 0 || config->nnodes <= 0 || !config->path
        || !config->argv || !config->argv[0])
        return shoal_errprintf(error, -EINVAL, "invalid job configuration");
    job = calloc(1, sizeof(*job));
    if (!job)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    job->config = *config;
    job->result.nranks = config->nranks;
    job->ops = ops;
    job->arg = arg;
    job->stdin_flags = -1;
    job->nodes = calloc((size_t)config->nnodes, sizeof(*job->nodes));
    job->node_of_rank = malloc((size_t)config->nranks * sizeof(int));
    job->sinks = calloc(2 * (size_t)config->nranks, sizeof(*job->sinks));
    job->rank_gone = calloc((size_t)config->nranks, sizeof(bool));
    if (!job->nodes || !job->node_of_rank || !job->sinks || !job->rank_gone) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }
    for (int r = 0; r < config->nranks; r++)
        job->node_of_rank[r] = -1;
    for (int i = 0; i < config->nnodes; i++)
        for (int j = 0; j < config->nodes[i].nranks; j++) {
            int r = config->nodes[i].ranks[j];
            if (r < 0 || r >= config->nranks || job->node_of_rank[r] >= 0) {
                rc = shoal_errprintf(error, -EINVAL,
                                     "rank %d is placed twice or out of range",
                                     r);
                goto error;
            }
            job->node_of_rank[r] = i;
            count++;
        }
    if (count != config->nranks) {
        rc = shoal_errprintf(error, -EINVAL, "not every rank is placed");
        goto error;
    }
    job->stdin_node = job->node_of_rank[0];
    for (int r = 0; r < config->nranks; r++) {
        rc = output_sink_open(&job->sinks[2 * r], r, "stdout", config->out_fd,
                              config->tag_output, config->output_dir, error);
        if (rc == 0)
            rc = output_sink_open(&job->sinks[2 * r + 1], r, "stderr",
                                  config->err_fd, config->tag_output,
                                  config->output_dir, error);
        if (rc < 0)
            goto error;
    }
    job->process_mapping = pool_job_mapping(config);
    uv_timer_init(config->loop, &job->timeout_timer);
    uv_timer_init(config->loop, &job->done_timer);
    job->timeout_timer.data = job->done_timer.data = job;
    *out = job;
    return 0;
error:
    if (job->sinks)
        for (int i = 0; i < 2 * config->nranks; i++)
            output_sink_close(&job->sinks[i]);
    free(job->sinks);
    free(job->node_of_rank);
    free(job->rank_gone);
    free(job->nodes);
    free(job);
    return rc;
}

static int pool_job_launch(struct pool_job *job, int node)
{
    const struct pool_job_node *cn = &job->config.nodes[node];
    struct job_frame f = {.kind = JOB_FRAME_LAUNCH};
    struct job_launch *l = &f.launch;
    uint32_t argc = 0, nenv = 0;
    uint8_t *buf;
    size_t len;
    int rc;

    while (job->config.argv[argc])
        argc++;
    while (job->config.env && job->config.env[nenv])
        nenv++;
    l->job_id = job->config.job_id;
    l->node_index = (uint32_t)node;
    l->job_size = (uint32_t)job->config.nranks;
    l->universe_size = (uint32_t)job->config.nranks;
    l->nranks = (uint32_t)cn->nranks;
    l->ranks = calloc((size_t)cn->nranks, sizeof(*l->ranks));
    if (!l->ranks)
        return -ENOMEM;
    for (int i = 0; i < cn->nranks; i++) {
        l->ranks[i].rank = (uint32_t)cn->ranks[i];
        l->ranks[i].local_rank = (uint32_t)i;
        if (cn->pus && cn->npus) {
            l->ranks[i].pus = (uint32_t *)cn->pus[i];
            l->ranks[i].npus = cn->pus[i] ? cn->npus[i] : 0;
        }
    }
    l->path = (char *)job->config.path;
    l->argv = (char **)job->config.argv;
    l->argc = argc;
    l->env = (char **)job->config.env;
    l->nenv = nenv;
    l->wdir = (char *)job->config.wdir;
    l->process_mapping = job->process_mapping;
    l->timeout = job->config.timeout;
    l->kill_grace = job->config.kill_grace;
    l->enable_recovery = job->config.enable_recovery;
    l->mapby = (char *)job->config.mapby;
    l->bindto = (char *)job->config.bindto;
    l->rankby = job->config.mapby && job->config.bindto
                    ? (char *)job->config.rankby
                    : NULL;
    if (job->config.ckpt_copies && job->config.ckpt_restore > 0) {
        l->restores = calloc((size_t)cn->nranks, sizeof(*l->restores));
        if (!l->restores) {
            free(l->ranks);
            return -ENOMEM;
        }
        for (int i = 0; i < cn->nranks; i++) {
            const uint64_t *nodes = NULL;
            struct job_launch_restore *k = &l->restores[i];

            k->rank = (uint32_t)cn->ranks[i];
            k->version = (uint32_t)job->config.ckpt_restore;
            k->nnodes = (uint32_t)ckpt_copies_holders(
                job->config.ckpt_copies, cn->ranks[i], job->config.ckpt_restore,
                &nodes);
            k->nodes = (uint64_t *)nodes;
        }
        l->nrestores = (uint32_t)cn->nranks;
    }
    rc = job_frame_encode(&f, &buf, &len);
    free(l->ranks);
    free(l->restores);
    if (rc < 0)
        return rc;
    rc = job->ops->send(node, buf, len, job->arg);
    free(buf);
    return rc;
}

int pool_job_start(pool_job_t *job, shoal_error_t *error)
{
    static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP, SIGUSR1,
                               SIGUSR2, SIGCONT, SIGTSTP};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        uv_signal_t *h = &job->signals[job->nsignals];
        int rc = uv_signal_init(job->config.loop, h);
        if (rc < 0)
            return shoal_errprintf(error, -EIO, "cannot watch signals: %s",
                                   uv_strerror(rc));
        h->data = job;
        job->nsignals++;
        uv_signal_start(h, pool_job_signal_cb, sigs[i]);
    }
    for (int i = 0; i < job->config.nnodes; i++) {
        int rc = pool_job_launch(job, i);
        if (rc == -EINVAL || rc == -ENOMEM)
            return shoal_errprintf(error, rc, "cannot encode the launch: %s",
                                   shoal_strerror(rc));
        if (rc < 0)
            pool_job_node_lost(job, i);
    }
    if (job->finished)
        return 0;
    if (job->config.timeout > 0)
        uv_timer_start(&job->timeout_timer, pool_job_timeout_cb,
                       (uint64_t)(job->config.timeout * 1000.0), 0);
    /* node-local directories are the proxies' to follow */
    ckpt_watch_start(&job->ckpt, job->config.loop,
                     job->config.ckpt_copies ? NULL : job->config.ckpt_root,
                     job->config.nranks, &job->config.ckpt_auto);
    if (job->config.ckpt_copies && job->config.ckpt_auto.mtbf > 0
        && uv_timer_init(job->config.loop, &job->ask_timer) == 0) {
        job->asking = true;
        job->ask_timer.data = job;
        job->asked_ms = uv_now(job->config.loop);
        uv_timer_start(&job->ask_timer, pool_job_ask_cb, 250, 250);
    }
    pool_stdin_setup(job);
    return 0;
}

const struct pool_job_result *pool_job_result(const pool_job_t *job)
{
    return &job->result;
}

void pool_job_destroy(pool_job_t *job)
{
    if (!job)
        return;
    for (int i = 0; i < job->config.nnodes; i++) {
        struct job_frame owned = {.kind = JOB_FRAME_BARRIER_IN};
        owned.barrier.kvs = job->nodes[i].puts;
        owned.barrier.nkvs = job->nodes[i].nputs;
        job_frame_release(&owned);
    }
    for (int i = 0; i < 2 * job->config.nranks; i++)
        output_sink_close(&job->sinks[i]);
    if (job->names)
        pubsub_drop_waiting(job->names, pool_job_names_drop, NULL);
    pubsub_destroy(job->names);
    while (job->dmodex) {
        struct pool_dmodex *next = job->dmodex->next;
        free(job->dmodex);
        job->dmodex = next;
    }
    free(job->rank_gone);
    free(job->process_mapping);
    free(job->sinks);
    free(job->node_of_rank);
    free(job->nodes);
    free(job);
}
