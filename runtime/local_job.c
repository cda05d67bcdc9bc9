/* SPDX-License-Identifier: MIT */
/* local_job.c - run and supervise one job's ranks on this node. */
#include "runtime/local_job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "runtime/env.h"
#include "runtime/pmi_server.h"
#include "runtime/spawn.h"
#include "util/bug.h"
#include "util/fs.h"

extern char **environ;

enum {
    LOCAL_JOB_READ_SIZE = 65536,
    /* a tagged line longer than this is emitted in pieces */
    LOCAL_JOB_LINE_MAX = 65536,
    /* stop reading our stdin while this much waits for rank 0 */
    LOCAL_JOB_STDIN_BACKLOG = 1 << 20,
};

/* Output that is still open this long after every rank has exited belongs
 * to a process that escaped the job's process groups; stop waiting. */
static const double local_job_drain_seconds = 5.0;

struct local_job;

/* One of a rank's output pipes and where its bytes go. */
struct local_stream {
    uv_pipe_t pipe;
    struct local_job *job;
    int rank;
    int dest_fd;
    bool own_dest; /* dest_fd is a file we opened */
    bool open;
    bool broken;   /* the destination is a pipe nobody reads any more */
    char *partial; /* tagged output: an incomplete last line */
    size_t partial_len;
    char buf[LOCAL_JOB_READ_SIZE];
};

struct local_rank {
    struct local_job *job;
    int rank;
    pid_t pid; /* 0 before it started */
    bool reaped;
    bool signalled; /* we sent it a terminating signal */
    uv_pipe_t pmi;
    bool pmi_open;
    char pmi_buf[4096];
    struct local_stream out;
    struct local_stream err;
};

struct local_job {
    const struct local_job_config *config;
    struct local_job_result *result;
    uv_loop_t loop;
    struct local_rank *ranks;
    pmi_server_t *pmi;
    int live_ranks;
    int open_streams;
    bool failed;  /* result holds the first failure */
    bool killing; /* SIGTERM sent; SIGKILL on grace expiry */
    uv_timer_t timeout_timer;
    uv_timer_t grace_timer;
    uv_timer_t drain_timer;
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

static void
local_job_fail(struct local_job *job, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first failure: it decides the exit status and message. */
static void
local_job_fail(struct local_job *job, int status, const char *fmt, ...)
{
    va_list ap;

    if (job->failed)
        return;
    job->failed = true;
    job->result->status = status;
    va_start(ap, fmt);
    vsnprintf(job->result->message.text, sizeof(job->result->message.text), fmt,
              ap);
    va_end(ap);
}

static void local_job_signal_ranks(struct local_job *job, int sig)
{
    for (int i = 0; i < job->config->nranks; i++) {
        struct local_rank *r = &job->ranks[i];
        if (r->pid > 0 && !r->reaped) {
            /* the group holds the rank and anything it started */
            if (kill(-r->pid, sig) < 0)
                kill(r->pid, sig);
            if (sig == SIGTERM || sig == SIGKILL)
                r->signalled = true;
        }
    }
}

static void local_job_grace_cb(uv_timer_t *timer)
{
    struct local_job *job = timer->data;

    local_job_signal_ranks(job, SIGKILL);
}

/* End the job: SIGTERM now, SIGKILL to whatever is left after the grace
 * period. Calling it again changes nothing. */
static void local_job_terminate(struct local_job *job)
{
    if (job->live_ranks == 0 || job->killing)
        return;
    job->killing = true;
    local_job_signal_ranks(job, SIGTERM);
    uv_timer_start(&job->grace_timer, local_job_grace_cb,
                   (uint64_t)(job->config->kill_grace * 1000.0), 0);
}

/* Write every byte of iov, resuming after partial writes. */
static int local_job_writev_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        ssize_t n = writev(fd, iov, iovcnt);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* someone made our stdout non-blocking: wait, in order */
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, -1);
                continue;
            }
            return -errno;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Write to the stream's destination. Once that is a pipe whose reader has
 * gone (`shoal run ... | head`), the rank's own pipe is closed too, so the
 * rank meets the broken pipe as it would without us in between. */
static void
local_stream_putv(struct local_stream *s, struct iovec *iov, int iovcnt)
{
    if (!s->broken && local_job_writev_all(s->dest_fd, iov, iovcnt) == -EPIPE)
        s->broken = true;
}

static void
local_stream_put(struct local_stream *s, const char *buf, size_t len)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

    local_stream_putv(s, &iov, 1);
}

static void
local_stream_emit_line(struct local_stream *s, const char *line, size_t len)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "[%d] ", s->rank);
    /* one writev per line keeps tagged lines of different ranks whole */
    struct iovec iov[3] = {
        {.iov_base = prefix, .iov_len = (size_t)plen},
        {.iov_base = s->partial, .iov_len = s->partial_len},
        {.iov_base = (void *)line, .iov_len = len},
    };

    local_stream_putv(s, iov, 3);
    s->partial_len = 0;
}

static void
local_stream_keep_partial(struct local_stream *s, const char *p, size_t len)
{
    if (s->partial_len + len > LOCAL_JOB_LINE_MAX) {
        static const char nl = '\n';
        local_stream_emit_line(s, p, len);
        local_stream_put(s, &nl, 1);
        return;
    }
    if (!s->partial) {
        s->partial = malloc(LOCAL_JOB_LINE_MAX);
        if (!s->partial) {
            local_stream_put(s, p, len);
            return;
        }
    }
    memcpy(s->partial + s->partial_len, p, len);
    s->partial_len += len;
}

static void
local_stream_write(struct local_stream *s, const char *buf, size_t len)
{
    const struct local_job_config *config = s->job->config;

    if (!config->tag_output || s->own_dest) {
        local_stream_put(s, buf, len);
        return;
    }
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        if (!nl) {
            local_stream_keep_partial(s, buf, len);
            return;
        }
        local_stream_emit_line(s, buf, (size_t)(nl - buf) + 1);
        len -= (size_t)(nl - buf) + 1;
        buf = nl + 1;
    }
}

static void local_job_maybe_finish(struct local_job *job);

static void local_stream_close(struct local_stream *s)
{
    if (!s->open)
        return;
    if (s->partial_len > 0)
        local_stream_emit_line(s, "\n", 1);
    free(s->partial);
    s->partial = NULL;
    s->open = false;
    uv_close((uv_handle_t *)&s->pipe, local_job_close_cb);
    if (s->own_dest)
        close(s->dest_fd);
    s->job->open_streams--;
    local_job_maybe_finish(s->job);
}

static void
local_stream_alloc_cb(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    struct local_stream *s = handle->data;

    (void)hint;
    buf->base = s->buf;
    buf->len = sizeof(s->buf);
}

static void
local_stream_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct local_stream *s = stream->data;

    if (n > 0)
        local_stream_write(s, buf->base, (size_t)n);
    if (n < 0 || s->broken)
        local_stream_close(s);
}

/* PMI ------------------------------------------------------------------ */

static void local_pmi_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static int local_pmi_send(int rank, const char *buf, size_t len, void *arg)
{
    struct local_job *job = arg;
    struct local_rank *r = &job->ranks[rank];
    uv_write_t *req;
    uv_buf_t b;
    int rc;

    if (!r->pmi_open)
        return -EPIPE;
    /* the request and a copy of the reply in one allocation */
    req = malloc(sizeof(*req) + len);
    if (!req)
        return -ENOMEM;
    memcpy(req + 1, buf, len);
    b = uv_buf_init((char *)(req + 1), (unsigned int)len);
    rc = uv_write(req, (uv_stream_t *)&r->pmi, &b, 1, local_pmi_write_cb);
    if (rc < 0) {
        free(req);
        return rc;
    }
    return 0;
}

static void local_pmi_abort(int rank, int exitcode, const char *msg, void *arg)
{
    struct local_job *job = arg;

    local_job_fail(
        job, exitcode, "rank %d on '%s' aborted the job with exit code %d%s%s",
        rank, job->config->host, exitcode, msg ? ": " : "", msg ? msg : "");
    local_job_terminate(job);
}

static const struct pmi_server_ops local_pmi_ops = {
    .send = local_pmi_send,
    .abort = local_pmi_abort,
};

static void local_pmi_close(struct local_rank *r)
{
    if (!r->pmi_open)
        return;
    r->pmi_open = false;
    uv_close((uv_handle_t *)&r->pmi, local_job_close_cb);
}

static void local_pmi_alloc_cb(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    struct local_rank *r = handle->data;

    (void)hint;
    buf->base = r->pmi_buf;
    buf->len = sizeof(r->pmi_buf);
}

static void
local_pmi_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct local_rank *r = stream->data;
    struct local_job *job = r->job;
    shoal_error_t perr;

    if (n < 0) {
        local_pmi_close(r);
        return;
    }
    if (n == 0)
        return;
    if (pmi_server_input(job->pmi, r->rank, buf->base, (size_t)n, &perr) < 0) {
        local_job_fail(job, LOCAL_JOB_STATUS_ERROR, "rank %d on '%s': %s",
                       r->rank, job->config->host, perr.text);
        local_pmi_close(r);
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
local_stdin_alloc_cb(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(hint);
    buf->len = buf->base ? hint : 0;
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
        uv_read_start(job->stdin_src, local_stdin_alloc_cb,
                      local_stdin_read_cb);
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
    uv_read_start(job->stdin_src, local_stdin_alloc_cb, local_stdin_read_cb);
    *child_fd = fds[0];
    return 0;
}

/* Ranks ending ---------------------------------------------------------- */

static void local_job_close_all(struct local_job *job)
{
    uv_timer_stop(&job->timeout_timer);
    uv_timer_stop(&job->grace_timer);
    for (int i = 0; i < job->nsignals; i++)
        if (!uv_is_closing((uv_handle_t *)&job->signals[i]))
            uv_close((uv_handle_t *)&job->signals[i], local_job_close_cb);
    job->nsignals = 0;
    local_stdin_stop(job);
    for (int i = 0; i < job->config->nranks; i++)
        local_pmi_close(&job->ranks[i]);
}

static void local_job_drain_cb(uv_timer_t *timer)
{
    struct local_job *job = timer->data;

    for (int i = 0; i < job->config->nranks; i++) {
        local_stream_close(&job->ranks[i].out);
        local_stream_close(&job->ranks[i].err);
    }
}

/* Once every rank is reaped, close what keeps the loop alive; the loop
 * ends when the last output pipe reaches EOF. */
static void local_job_maybe_finish(struct local_job *job)
{
    if (job->live_ranks > 0)
        return;
    local_job_close_all(job);
    if (job->open_streams > 0
        && !uv_is_active((uv_handle_t *)&job->drain_timer))
        uv_timer_start(&job->drain_timer, local_job_drain_cb,
                       (uint64_t)(local_job_drain_seconds * 1000.0), 0);
    else if (job->open_streams == 0)
        uv_timer_stop(&job->drain_timer);
}

static void
local_rank_exited(struct local_job *job, struct local_rank *r, int wstatus)
{
    const char *host = job->config->host;

    r->reaped = true;
    job->live_ranks--;
    /* Whatever the rank left behind in its group goes with it. */
    kill(-r->pid, SIGKILL);
    if (job->killing && r->signalled) {
        /* terminated by us: the first failure already tells why */
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        local_job_fail(job, 128 + sig,
                       "rank %d on '%s' was killed by signal %d (%s)", r->rank,
                       host, sig, strsignal(sig));
    } else if (WEXITSTATUS(wstatus) != 0) {
        local_job_fail(job, WEXITSTATUS(wstatus),
                       "rank %d on '%s' exited with status %d", r->rank, host,
                       WEXITSTATUS(wstatus));
    } else if (pmi_server_rank_initialized(job->pmi, r->rank)
               && !pmi_server_rank_finalized(job->pmi, r->rank)) {
        local_job_fail(job, LOCAL_JOB_STATUS_ERROR,
                       "rank %d on '%s' exited without finalizing", r->rank,
                       host);
    }
    if (r->rank == 0)
        local_stdin_stop(job);
    if (job->failed && !job->config->enable_recovery)
        local_job_terminate(job);
    local_job_maybe_finish(job);
}

static void local_job_reap(struct local_job *job)
{
    for (int i = 0; i < job->config->nranks; i++) {
        struct local_rank *r = &job->ranks[i];
        int wstatus;
        pid_t pid;

        if (r->pid <= 0 || r->reaped)
            continue;
        pid = waitpid(r->pid, &wstatus, WNOHANG);
        if (pid == r->pid)
            local_rank_exited(job, r, wstatus);
    }
}

static void local_job_timeout_cb(uv_timer_t *timer)
{
    struct local_job *job = timer->data;

    local_job_fail(job, LOCAL_JOB_STATUS_TIMEOUT,
                   "job timed out after %g seconds", job->config->timeout);
    local_job_terminate(job);
}

static void local_job_signal_cb(uv_signal_t *handle, int sig)
{
    struct local_job *job = handle->data;

    switch (sig) {
    case SIGCHLD:
        local_job_reap(job);
        break;
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
        local_job_fail(job, LOCAL_JOB_STATUS_SIGNALED + sig,
                       "interrupted by signal %d (%s)", sig, strsignal(sig));
        /* a second interrupt does not wait for the grace period */
        if (job->killing)
            local_job_signal_ranks(job, SIGKILL);
        local_job_terminate(job);
        break;
    case SIGTSTP:
        /* stop the ranks, then ourselves, as a shell job would stop */
        local_job_signal_ranks(job, SIGTSTP);
        raise(SIGSTOP);
        break;
    default:
        local_job_signal_ranks(job, sig);
        break;
    }
}

static int local_job_watch_signals(struct local_job *job)
{
    static const int sigs[] = {SIGCHLD, SIGINT,  SIGTERM, SIGHUP,
                               SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP};

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

static int local_job_open_output(struct local_job *job,
                                 int rank,
                                 const char *name,
                                 int *fd,
                                 shoal_error_t *error)
{
    char path[4096];
    int n;

    n = snprintf(path, sizeof(path), "%s/1/rank.%d", job->config->output_dir,
                 rank);
    if (n < 0 || (size_t)n >= sizeof(path))
        return shoal_errprintf(error, -ENAMETOOLONG,
                               "output directory '%s' is too long",
                               job->config->output_dir);
    if (fs_mkdir_p(path, 0755) < 0)
        return shoal_errprintf(error, -errno,
                               "cannot create directory '%s': %s", path,
                               strerror(errno));
    snprintf(path + n, sizeof(path) - (size_t)n, "/%s", name);
    *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (*fd < 0)
        return shoal_errprintf(error, -errno, "cannot create '%s': %s", path,
                               strerror(errno));
    return 0;
}

/* Set up one output stream: returns the write end for the child. */
static int local_stream_open(struct local_job *job,
                             struct local_stream *s,
                             int rank,
                             const char *name,
                             int default_dest,
                             int *child_fd,
                             shoal_error_t *error)
{
    int fds[2];
    int rc;

    s->job = job;
    s->rank = rank;
    s->dest_fd = default_dest;
    if (job->config->output_dir) {
        rc = local_job_open_output(job, rank, name, &s->dest_fd, error);
        if (rc < 0)
            return rc;
        s->own_dest = true;
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot create pipe: %s",
                             strerror(errno));
        goto error;
    }
    rc = uv_pipe_init(&job->loop, &s->pipe, 0);
    if (rc == 0)
        rc = uv_pipe_open(&s->pipe, fds[0]);
    if (rc < 0) {
        close(fds[0]);
        close(fds[1]);
        rc = shoal_errprintf(error, -EIO, "cannot watch output pipe: %s",
                             uv_strerror(rc));
        goto error;
    }
    s->pipe.data = s;
    s->open = true;
    job->open_streams++;
    uv_read_start((uv_stream_t *)&s->pipe, local_stream_alloc_cb,
                  local_stream_read_cb);
    *child_fd = fds[1];
    return 0;
error:
    if (s->own_dest) {
        close(s->dest_fd);
        s->own_dest = false;
    }
    return rc;
}

static int local_rank_start(struct local_job *job,
                            struct local_rank *r,
                            struct env_block *base,
                            int stdin_fd,
                            shoal_error_t *error)
{
    const struct local_job_config *config = job->config;
    struct spawn_spec spec = {0};
    int out_fd = -1, err_fd = -1;
    int pmi[2] = {-1, -1};
    char **envp = NULL;
    int rc;

    rc = local_stream_open(job, &r->out, r->rank, "stdout", config->out_fd,
                           &out_fd, error);
    if (rc < 0)
        goto done;
    rc = local_stream_open(job, &r->err, r->rank, "stderr", config->err_fd,
                           &err_fd, error);
    if (rc < 0)
        goto done;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pmi) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot create socket: %s",
                             strerror(errno));
        goto done;
    }
    rc = env_block_for_rank(base, r->rank, config->nranks, r->rank,
                            config->nranks, pmi[1], &envp);
    if (rc < 0) {
        rc = shoal_errprintf(error, rc, "out of memory");
        goto done;
    }
    spec.path = config->path;
    spec.argv = config->argv;
    spec.envp = envp;
    spec.wdir = config->wdir;
    spec.cpus = config->cpus ? config->cpus[r->rank] : NULL;
    spec.stdin_fd = stdin_fd;
    spec.stdout_fd = out_fd;
    spec.stderr_fd = err_fd;
    spec.keep_fd = pmi[1];
    rc = spawn_process(&spec, &r->pid, error);
    if (rc < 0)
        goto done;
    job->live_ranks++;
    rc = uv_pipe_init(&job->loop, &r->pmi, 0);
    if (rc == 0)
        rc = uv_pipe_open(&r->pmi, pmi[0]);
    if (rc < 0) {
        rc = shoal_errprintf(error, -EIO, "cannot watch PMI socket: %s",
                             uv_strerror(rc));
        goto done;
    }
    pmi[0] = -1;
    r->pmi.data = r;
    r->pmi_open = true;
    uv_read_start((uv_stream_t *)&r->pmi, local_pmi_alloc_cb,
                  local_pmi_read_cb);
done:
    env_block_free_rank(envp);
    if (pmi[0] >= 0)
        close(pmi[0]);
    if (pmi[1] >= 0)
        close(pmi[1]);
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    return rc;
}

static int local_job_start(struct local_job *job, shoal_error_t *error)
{
    const struct local_job_config *config = job->config;
    struct env_block base;
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
    rc = env_block_init(&base, environ, config->env);
    if (rc < 0)
        return shoal_errprintf(error, rc, "out of memory");
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        env_block_release(&base);
        return shoal_errprintf(error, -errno, "cannot open /dev/null: %s",
                               strerror(errno));
    }
    rc = local_stdin_setup(job, devnull, &stdin0, error);
    for (int i = 0; rc == 0 && i < config->nranks; i++) {
        int child_stdin = i == 0 ? stdin0 : devnull;
        rc = local_rank_start(job, &job->ranks[i], &base, child_stdin, error);
    }
    if (stdin0 != devnull && stdin0 != config->in_fd)
        close(stdin0);
    close(devnull);
    env_block_release(&base);
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
    job.ranks = calloc((size_t)config->nranks, sizeof(*job.ranks));
    if (!job.ranks)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    for (int i = 0; i < config->nranks; i++) {
        job.ranks[i].job = &job;
        job.ranks[i].rank = i;
    }
    rc = uv_loop_init(&job.loop);
    if (rc < 0) {
        free(job.ranks);
        return shoal_errprintf(error, -EIO, "cannot create event loop: %s",
                               uv_strerror(rc));
    }
    sigaction(SIGPIPE, &ign, &old_pipe);
    uv_timer_init(&job.loop, &job.timeout_timer);
    uv_timer_init(&job.loop, &job.grace_timer);
    uv_timer_init(&job.loop, &job.drain_timer);
    job.timeout_timer.data = job.grace_timer.data = job.drain_timer.data = &job;
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
        local_job_signal_ranks(&job, SIGKILL);
    } else if (config->timeout > 0) {
        uv_timer_start(&job.timeout_timer, local_job_timeout_cb,
                       (uint64_t)(config->timeout * 1000.0), 0);
    }
    /* A rank may have exited before its SIGCHLD handler was watching. */
    local_job_reap(&job);
    local_job_maybe_finish(&job);
    uv_run(&job.loop, UV_RUN_DEFAULT);

    if (job.stdin_flags >= 0)
        fcntl(config->in_fd, F_SETFL, job.stdin_flags);
    uv_close((uv_handle_t *)&job.timeout_timer, local_job_close_cb);
    uv_close((uv_handle_t *)&job.grace_timer, local_job_close_cb);
    uv_close((uv_handle_t *)&job.drain_timer, local_job_close_cb);
    uv_run(&job.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&job.loop) != 0)
        SHOAL_BUG("event loop closed with handles open");
    sigaction(SIGPIPE, &old_pipe, NULL);
    pmi_server_destroy(job.pmi);
    free(job.ranks);
    return rc;
}
