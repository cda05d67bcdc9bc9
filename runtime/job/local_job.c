/* SPDX-License-Identifier: MIT */
/* local_job.c - run and supervise one job's ranks on this node.
 *
 * The processes are a rank_set; this file adds what makes them a job on
 * one node: the PMI server of all ranks, output written where the user
 * asked (output_sink), stdin forwarded to rank 0, signals, the timeout and
 * the first-failure policy. */
#include "runtime/job/local_job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "runtime/job/ckpt_watch.h"
#include "runtime/job/env.h"
#include "runtime/job/output_sink.h"
#include "runtime/job/rank_set.h"
#include "runtime/pmi/pmi_server.h"
#include "runtime/pmix/pmixd.h"
#include "util/bug.h"
#include "util/uvbuf.h"

enum {
    /* stop reading our stdin while this much waits for rank 0 */
    LOCAL_JOB_STDIN_BACKLOG = 1 << 20,
};

struct local_rank_sinks {
    struct output_sink out;
    struct output_sink err;
};

struct local_job {
    const struct local_job_config *config;
    struct local_job_result *result;
    uv_loop_t loop;
    rank_set_t *set;
    struct local_rank_sinks *sinks;
    pmi_server_t *pmi;
    pmixd_job_t *pmix;
    bool failed;  /* result holds the first failure */
    bool killing; /* SIGTERM sent; SIGKILL on grace expiry */
    bool idle;    /* every rank reaped, every stream closed */
    uv_timer_t timeout_timer;
    struct ckpt_watch ckpt;
    uv_signal_t signals[8];
    int nsignals;
    /* stdin forwarding to rank 0 */
    uv_stream_t *stdin_src; /* our stdin, when forwarded */
    uv_pipe_t stdin_src_pipe;
    uv_tty_t stdin_src_tty;
    uv_pipe_t stdin_dst; /* rank 0's stdin pipe */
    bool stdin_src_open;
    bool stdin_dst_open;
    bool stdin_reading;
    int stdin_flags; /* our stdin's file status flags, restored */
};

static void local_job_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

static void local_job_fail(struct local_job *job,
                           enum job_end end,
                           int status,
                           const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/* Record the first failure: it decides the exit status and message. */
static void local_job_fail(
    struct local_job *job, enum job_end end, int status, const char *fmt, ...)
{
    va_list ap;

    if (job->failed)
        return;
    job->failed = true;
    job->result->status = status;
    job->result->end = end;
    va_start(ap, fmt);
    vsnprintf(job->result->message.text, sizeof(job->result->message.text), fmt,
              ap);
    va_end(ap);
}

/* End the job: SIGTERM now, SIGKILL to whatever is left after the grace
 * period. Calling it again changes nothing. */
static void local_job_terminate(struct local_job *job)
{
    if (rank_set_live(job->set) == 0 || job->killing)
        return;
    job->killing = true;
    rank_set_terminate(job->set);
}

/* Output --------------------------------------------------------------- */

static void local_job_output(int index,
                             enum rank_set_stream stream,
                             const char *buf,
                             size_t len,
                             void *arg)
{
    struct local_job *job = arg;
    struct output_sink *s = stream == RANK_SET_STDOUT ? &job->sinks[index].out
                                                      : &job->sinks[index].err;

    if (len == 0) {
        output_sink_close(s);
        return;
    }
    output_sink_write(s, buf, len);
    /* the rank meets the broken pipe as it would without us in between */
    if (s->broken)
        rank_set_close_output(job->set, index, stream);
}

/* PMI ------------------------------------------------------------------ */

static int local_pmi_send(int rank, const char *buf, size_t len, void *arg)
{
    struct local_job *job = arg;

    return rank_set_pmi_send(job->set, rank, buf, len);
}

static void local_pmi_abort(int rank, int exitcode, const char *msg, void *arg)
{
    struct local_job *job = arg;

    local_job_fail(job, JOB_END_RANK_FAILED, exitcode,
                   "rank %d on '%s' aborted the job with exit code %d%s%s",
                   rank, job->config->host, exitcode, msg ? ": " : "",
                   msg ? msg : "");
    local_job_terminate(job);
}

static void local_pmix_abort(int rank, int status, const char *msg, void *arg)
{
    local_pmi_abort(rank, status, *msg ? msg : NULL, arg);
}

/* PMIx_Job_control: a kill ends the job as an abort does; a signal goes
 * to the ranks named (rank r is the one at index r here). */
static void local_pmix_control(
    int rank, int signo, const int *targets, int ntargets, void *arg)
{
    struct local_job *job = arg;

    if (signo == 0) {
        local_pmi_abort(rank, 128 + SIGKILL, "PMIx_Job_control kill", job);
        return;
    }
    if (job->killing)
        return;
    for (int i = 0; i < ntargets; i++)
        rank_set_signal_rank(job->set, targets[i], signo);
    if (ntargets == 0)
        rank_set_signal(job->set, signo);
}

static const struct pmixd_job_ops local_pmix_ops = {
    .abort = local_pmix_abort,
    .control = local_pmix_control,
};

static const struct pmi_server_ops local_pmi_ops = {
    .send = local_pmi_send,
    .abort = local_pmi_abort,
};

static void
local_job_pmi_input(int index, const char *buf, size_t len, void *arg)
{
    struct local_job *job = arg;
    shoal_error_t perr;

    if (pmi_server_input(job->pmi, index, buf, len, &perr) < 0) {
        local_job_fail(job, JOB_END_ERROR, LOCAL_JOB_STATUS_ERROR,
                       "rank %d on '%s': %s", index, job->config->host,
                       perr.text);
        rank_set_pmi_close(job->set, index);
        local_job_terminate(job);
    }
}

/* stdin ---------------------------------------------------------------- */

static void local_stdin_stop(struct local_job *job)
{
    if (job->stdin_src_open) {
        job->stdin_src_open = false;
        uv_close((uv_handle_t *)job->stdin_src, local_job_close_cb);
    }
    if (job->stdin_dst_open) {
        job->stdin_dst_open = false;
        uv_close((uv_handle_t *)&job->stdin_dst, local_job_close_cb);
    }
}

static void
local_stdin_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

static void local_stdin_write_cb(uv_write_t *req, int status)
{
    struct local_job *job = req->data;

    free(req);
    if (status < 0) {
        /* rank 0 closed its stdin: nothing more to forward */
        local_stdin_stop(job);
        return;
    }
    if (job->stdin_src_open && !job->stdin_reading
        && uv_stream_get_write_queue_size((uv_stream_t *)&job->stdin_dst)
               < LOCAL_JOB_STDIN_BACKLOG) {
        job->stdin_reading = true;
        uv_read_start(job->stdin_src, uvbuf_alloc, local_stdin_read_cb);
    }
}

static void local_stdin_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct local_job *job = req->data;

    (void)status;
    free(req);
    local_stdin_stop(job);
}

static void
local_stdin_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct local_job *job = stream->data;

    if (n < 0) {
        /* end of our stdin: rank 0 sees EOF once pending bytes are in */
        uv_shutdown_t *req = malloc(sizeof(*req));
        job->stdin_reading = false;
        uv_read_stop(stream);
        uv_close((uv_handle_t *)stream, local_job_close_cb);
        job->stdin_src_open = false;
        if (req && job->stdin_dst_open) {
            req->data = job;
            if (uv_shutdown(req, (uv_stream_t *)&job->stdin_dst,
                            local_stdin_shutdown_cb)
                == 0) {
                free(buf->base);
                return;
            }
        }
        free(req);
        local_stdin_stop(job);
    } else if (n > 0 && job->stdin_dst_open) {
        uv_write_t *req = malloc(sizeof(*req) + (size_t)n);
        if (req) {
            uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned int)n);
            memcpy(req + 1, buf->base, (size_t)n);
            req->data = job;
            if (uv_write(req, (uv_stream_t *)&job->stdin_dst, &b, 1,
                         local_stdin_write_cb)
                < 0)
                free(req);
        }
        if (uv_stream_get_write_queue_size((uv_stream_t *)&job->stdin_dst)
            >= LOCAL_JOB_STDIN_BACKLOG) {
            job->stdin_reading = false;
            uv_read_stop(stream);
        }
    }
    free(buf->base);
}

/* Decide how rank 0 gets our stdin. A file or /dev/null is handed over as
 * it is (same offset, no copying); a pipe, socket or terminal is forwarded
 * through the loop, as it will be from another node. A terminal is read
 * only while we are in its foreground, so a job started with '&' is not
 * stopped by SIGTTIN. Sets *child_fd to what rank 0 gets as fd 0. */
static int local_stdin_setup(struct local_job *job,
                             int devnull,
                             int *child_fd,
                             shoal_error_t *error)
{
    int in = job->config->in_fd;
    struct stat st;
    int fds[2];

    *child_fd = devnull;
    if (in < 0 || fstat(in, &st) < 0)
        return 0;
    if (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(in))) {
        *child_fd = in;
        return 0;
    }
    if (isatty(in) && tcgetpgrp(in) != getpgrp())
        return 0;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return shoal_errprintf(error, -errno, "cannot create pipe: %s",
                               strerror(errno));
    if (uv_pipe_init(&job->loop, &job->stdin_dst, 0) < 0
        || uv_pipe_open(&job->stdin_dst, fds[1]) < 0) {
        close(fds[0]);
        close(fds[1]);
        return shoal_errprintf(error, -EIO, "cannot forward stdin");
    }
    job->stdin_dst_open = true;
    job->stdin_flags = fcntl(in, F_GETFL);
    if (isatty(in)) {
        uv_tty_init(&job->loop, &job->stdin_src_tty, in, 1);
        job->stdin_src = (uv_stream_t *)&job->stdin_src_tty;
    } else {
        uv_pipe_init(&job->loop, &job->stdin_src_pipe, 0);
        if (uv_pipe_open(&job->stdin_src_pipe, in) < 0) {
            uv_close((uv_handle_t *)&job->stdin_src_pipe, local_job_close_cb);
            local_stdin_stop(job);
            close(fds[0]);
            return 0;
        }
        job->stdin_src = (uv_stream_t *)&job->stdin_src_pipe;
    }
    job->stdin_src->data = job;
    job->stdin_src_open = true;
    job->stdin_reading = true;
    uv_read_start(job->stdin_src, uvbuf_alloc, local_stdin_read_cb);
    *child_fd = fds[0];
    return 0;
}

/* Ranks ending ---------------------------------------------------------- */

static void local_job_close_all(struct local_job *job)
{
    uv_timer_stop(&job->timeout_timer);
    ckpt_watch_stop(&job->ckpt);
    for (int i = 0; i < job->nsignals; i++)
        if (!uv_is_closing((uv_handle_t *)&job->signals[i]))
            uv_close((uv_handle_t *)&job->signals[i], local_job_close_cb);
    job->nsignals = 0;
    local_stdin_stop(job);
    pmixd_job_close(job->pmix);
}

static void local_job_idle(void *arg)
{
    struct local_job *job = arg;

    job->idle = true;
    local_job_close_all(job);
}

static void local_job_exited(int index, int wstatus, bool killed, void *arg)
{
    struct local_job *job = arg;
    const char *host = job->config->host;
    bool initialized = pmi_server_rank_initialized(job->pmi, index);
    bool finalized = pmi_server_rank_finalized(job->pmi, index);

    /* what its PMIx server saw of the rank (an abort, a finalize) first */
    pmixd_job_poll(job->pmix);
    if (pmixd_job_rank_connected(job->pmix, index)) {
        initialized = true;
        finalized = finalized || pmixd_job_rank_finalized(job->pmix, index);
    }
    if (job->killing && killed) {
        /* terminated by us: the first failure already tells why */
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        local_job_fail(job, JOB_END_RANK_FAILED, 128 + sig,
                       "rank %d on '%s' was killed by signal %d (%s)", index,
                       host, sig, strsignal(sig));
    } else if (WEXITSTATUS(wstatus) != 0) {
        local_job_fail(job, JOB_END_RANK_FAILED, WEXITSTATUS(wstatus),
                       "rank %d on '%s' exited with status %d", index, host,
                       WEXITSTATUS(wstatus));
    } else if (initialized && !finalized) {
        local_job_fail(job, JOB_END_RANK_FAILED, LOCAL_JOB_STATUS_ERROR,
                       "rank %d on '%s' exited without finalizing", index,
                       host);
    }
    if (index == 0)
        local_stdin_stop(job);
    if (job->failed && !job->config->enable_recovery)
        local_job_terminate(job);
    if (rank_set_live(job->set) == 0)
        local_job_close_all(job);
}

static const struct rank_set_ops local_rank_set_ops = {
    .output = local_job_output,
    .pmi_input = local_job_pmi_input,
    .exited = local_job_exited,
    .idle = local_job_idle,
};

static void local_job_timeout_cb(uv_timer_t *timer)
{
    struct local_job *job = timer->data;

    local_job_fail(job, JOB_END_TIMEOUT, LOCAL_JOB_STATUS_TIMEOUT,
                   "job timed out after %g seconds", job->config->timeout);
    local_job_terminate(job);
}

static void local_job_signal_cb(uv_signal_t *handle, int sig)
{
    struct local_job *job = handle->data;

    switch (sig) {
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
        local_job_fail(job, JOB_END_INTERRUPTED,
                       LOCAL_JOB_STATUS_SIGNALED + sig,
                       "interrupted by signal %d (%s)", sig, strsignal(sig));
        /* a second interrupt does not wait for the grace period */
        if (job->killing)
            rank_set_kill(job->set);
        local_job_terminate(job);
        break;
    case SIGTSTP:
        /* stop the ranks, then ourselves, as a shell job would stop */
        rank_set_signal(job->set, SIGTSTP);
        raise(SIGSTOP);
        break;
    default:
        rank_set_signal(job->set, sig);
        break;
    }
}

static int local_job_watch_signals(struct local_job *job)
{
    static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP, SIGUSR1,
                               SIGUSR2, SIGCONT, SIGTSTP};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        uv_signal_t *h = &job->signals[job->nsignals];
        int rc = uv_signal_init(&job->loop, h);

        if (rc < 0)
            return rc;
        h->data = job;
        job->nsignals++;
        rc = uv_signal_start(h, local_job_signal_cb, sigs[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Starting ranks -------------------------------------------------------- */

/* The job's PMIx namespace: one node holds every rank. */
static int local_job_pmix_create(struct local_job *job, shoal_error_t *error)
{
    const struct local_job_config *config = job->config;
    int *ranks = malloc((size_t)config->nranks * sizeof(int));
    struct pmixd_node node = {
        .host = config->host, .nranks = config->nranks, .ranks = ranks};
    struct pmixd_job_config cfg = {
        .loop = &job->loop,
        .size = config->nranks,
        .universe_size = config->nranks,
        .nnodes = 1,
        .nodes = &node,
        .cpus = config->cpus,
        .topology = config->topology,
        .mapby = config->mapby,
        .bindto = config->bindto,
        .rankby = config->rankby,
    };
    int rc;

    if (!ranks)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    for (int i = 0; i < config->nranks; i++)
        ranks[i] = i;
    rc = pmixd_job_create(&cfg, &local_pmix_ops, job, &job->pmix, error);
    free(ranks);
    return rc;
}

static int local_job_start(struct local_job *job, shoal_error_t *error)
{
    const struct local_job_config *config = job->config;
    struct rank_set_config scfg = {0};
    char mapping[64];
    struct pmi_server_config pcfg = {0};
    int devnull, stdin0;
    int rc;

    /* All ranks share one node: PMI's mapping is one block of nranks. */
    snprintf(mapping, sizeof(mapping), "(vector,(0,1,%d))", config->nranks);
    pcfg.size = config->nranks;
    pcfg.nlocal = config->nranks;
    pcfg.universe_size = config->nranks;
    pcfg.kvsname = "shoal_kvs_1";
    pcfg.process_mapping = mapping;
    rc = pmi_server_create(&pcfg, &local_pmi_ops, job, &job->pmi, error);
    if (rc < 0)
        return rc;
    rc = local_job_pmix_create(job, error);
    if (rc < 0)
        return rc;
    scfg.loop = &job->loop;
    scfg.nranks = config->nranks;
    scfg.size = config->nranks;
    scfg.path = config->path;
    scfg.argv = config->argv;
    scfg.env = config->env;
    scfg.wdir = config->wdir;
    scfg.cpus = config->cpus;
    scfg.kill_grace = config->kill_grace;
    rc = rank_set_create(&scfg, &local_rank_set_ops, job, &job->set, error);
    if (rc < 0)
        return rc;
    for (int i = 0; i < config->nranks; i++) {
        rc = output_sink_open(&job->sinks[i].out, i, "stdout", config->out_fd,
                              config->tag_output, config->output_dir, error);
        if (rc == 0)
            rc = output_sink_open(&job->sinks[i].err, i, "stderr",
                                  config->err_fd, config->tag_output,
                                  config->output_dir, error);
        if (rc < 0)
            return rc;
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return shoal_errprintf(error, -errno, "cannot open /dev/null: %s",
                               strerror(errno));
    rc = local_stdin_setup(job, devnull, &stdin0, error);
    for (int i = 0; rc == 0 && i < config->nranks; i++) {
        int child_stdin = i == 0 ? stdin0 : devnull;
        char **penv = NULL, **renv = NULL, counters[4300];

        rc = pmixd_job_rank_env(job->pmix, i, &penv, error);
        /* its counters go straight to their file: this is their node */
        if (rc == 0 && config->counters_dir) {
            snprintf(counters, sizeof(counters),
                     ENV_RANK_COUNTERS "=%s/papi.rank.%d", config->counters_dir,
                     i);
            renv = env_append_one(penv, counters);
            if (!renv)
                rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        }
        if (rc == 0)
            rc = rank_set_start_env(job->set, i, child_stdin,
                                    renv ? renv : penv, error);
        free(renv);
        pmixd_env_free(penv);
    }
    if (stdin0 != devnull && stdin0 != config->in_fd)
        close(stdin0);
    close(devnull);
    return rc;
}

int local_job_run(const struct local_job_config *config,
                  struct local_job_result *result,
                  shoal_error_t *error)
{
    struct local_job job;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    int rc;

    if (config->nranks <= 0 || !config->path || !config->argv)
        return shoal_errprintf(error, -EINVAL, "invalid job configuration");
    memset(&job, 0, sizeof(job));
    memset(result, 0, sizeof(*result));
    job.config = config;
    job.result = result;
    job.stdin_flags = -1;
    job.sinks = calloc((size_t)config->nranks, sizeof(*job.sinks));
    if (!job.sinks)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    rc = uv_loop_init(&job.loop);
    if (rc < 0) {
        free(job.sinks);
        return shoal_errprintf(error, -EIO, "cannot create event loop: %s",
                               uv_strerror(rc));
    }
    sigaction(SIGPIPE, &ign, &old_pipe);
    uv_timer_init(&job.loop, &job.timeout_timer);
    job.timeout_timer.data = &job;
    ckpt_watch_start(&job.ckpt, &job.loop, config->ckpt_root, config->nranks,
                     &config->ckpt_auto);
    rc = local_job_watch_signals(&job);
    if (rc < 0)
        rc = shoal_errprintf(error, -EIO, "cannot watch signals: %s",
                             uv_strerror(rc));
    else
        rc = local_job_start(&job, error);
    if (rc < 0) {
        /* Those already started go at once, without a grace period. */
        job.failed = true;
        job.killing = true;
        if (job.set)
            rank_set_kill(job.set);
    } else if (config->timeout > 0) {
        uv_timer_start(&job.timeout_timer, local_job_timeout_cb,
                       (uint64_t)(config->timeout * 1000.0), 0);
    }
    if (job.set)
        rank_set_seal(job.set);
    else
        local_job_close_all(&job);
    uv_run(&job.loop, UV_RUN_DEFAULT);

    if (job.stdin_flags >= 0)
        fcntl(config->in_fd, F_SETFL, job.stdin_flags);
    for (int i = 0; i < config->nranks; i++) {
        output_sink_close(&job.sinks[i].out);
        output_sink_close(&job.sinks[i].err);
    }
    uv_close((uv_handle_t *)&job.timeout_timer, local_job_close_cb);
    pmixd_job_close(job.pmix);
    ckpt_watch_stop(&job.ckpt);
    uv_run(&job.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&job.loop) != 0)
        SHOAL_BUG("event loop closed with handles open");
    sigaction(SIGPIPE, &old_pipe, NULL);
    rank_set_destroy(job.set);
    pmixd_job_destroy(job.pmix);
    pmi_server_destroy(job.pmi);
    free(job.sinks);
    return rc;
}
