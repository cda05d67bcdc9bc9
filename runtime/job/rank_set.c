/* SPDX-License-Identifier: MIT */
/* rank_set.c - spawn, watch, reap and end the ranks of one node. */
#include "runtime/job/rank_set.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/job/env.h"
#include "util/spawn.h"

extern char **environ;

enum {
    RANK_SET_READ_SIZE = 65536,
};

/* Output that is still open this long after every rank has exited belongs
 * to a process that escaped the job's process groups; stop waiting. */
static const double rank_set_drain_seconds = 5.0;

struct rank_set_pipe {
    uv_pipe_t pipe;
    struct rank_set_rank *owner;
    enum rank_set_stream stream;
    bool open;
    bool reading;
};

struct rank_set_rank {
    struct rank_set *set;
    int index;
    pid_t pid; /* 0 before it started */
    bool reaped;
    bool signalled; /* we sent it a terminating signal */
    uv_pipe_t pmi;
    bool pmi_open;
    struct rank_set_pipe out;
    struct rank_set_pipe err;
};

struct rank_set {
    struct rank_set_config config;
    const struct rank_set_ops *ops;
    void *arg;
    struct env_block base;
    struct rank_set_rank *ranks;
    int live;
    int open_streams;
    bool sealed;
    bool closed;
    bool killing;
    bool paused;
    uv_signal_t sigchld;
    uv_timer_t grace_timer;
    uv_timer_t drain_timer;
    char buf[RANK_SET_READ_SIZE];
};

static void rank_set_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

static void rank_set_alloc_cb(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    /* every read is consumed before the next, so one buffer serves all */
    buf->base = ((struct rank_set *)handle->data)->buf;
    buf->len = RANK_SET_READ_SIZE;
}

static void rank_set_maybe_idle(struct rank_set *set);

static void rank_set_pipe_close(struct rank_set_pipe *p)
{
    struct rank_set *set = p->owner->set;

    if (!p->open)
        return;
    p->open = false;
    uv_close((uv_handle_t *)&p->pipe, rank_set_close_cb);
    set->open_streams--;
    set->ops->output(p->owner->index, p->stream, NULL, 0, set->arg);
    rank_set_maybe_idle(set);
}

static void
rank_set_output_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct rank_set_pipe *p = (struct rank_set_pipe *)stream;
    struct rank_set *set = p->owner->set;

    if (n > 0)
        set->ops->output(p->owner->index, p->stream, buf->base, (size_t)n,
                         set->arg);
    else if (n < 0)
        rank_set_pipe_close(p);
}

static void rank_set_pipe_read(struct rank_set_pipe *p, bool on)
{
    if (!p->open || p->reading == on)
        return;
    p->reading = on;
    if (on)
        uv_read_start((uv_stream_t *)&p->pipe, rank_set_alloc_cb,
                      rank_set_output_cb);
    else
        uv_read_stop((uv_stream_t *)&p->pipe);
}

static void rank_set_pmi_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct rank_set_rank *r =
        (struct rank_set_rank *)((char *)stream
                                 - offsetof(struct rank_set_rank, pmi));

    if (n < 0) {
        rank_set_pmi_close(r->set, r->index);
        return;
    }
    if (n > 0)
        r->set->ops->pmi_input(r->index, buf->base, (size_t)n, r->set->arg);
}

int rank_set_create(const struct rank_set_config *config,
                    const struct rank_set_ops *ops,
                    void *arg,
                    rank_set_t **out,
                    shoal_error_t *error)
{
    struct rank_set *set;
    int rc;

    if (config->nranks <= 0 || !config->path || !config->argv
        || config->size < config->nranks)
        return shoal_errprintf(error, -EINVAL, "invalid job configuration");
    set = calloc(1, sizeof(*set));
    if (!set)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    set->ranks = calloc((size_t)config->nranks, sizeof(*set->ranks));
    if (!set->ranks) {
        free(set);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    rc = env_block_init(&set->base, environ, config->env);
    if (rc < 0) {
        free(set->ranks);
        free(set);
        return shoal_errprintf(error, rc, "out of memory");
    }
    set->config = *config;
    set->ops = ops;
    set->arg = arg;
    for (int i = 0; i < config->nranks; i++) {
        struct rank_set_rank *r = &set->ranks[i];
        r->set = set;
        r->index = i;
        r->out.owner = r->err.owner = r;
        r->out.stream = RANK_SET_STDOUT;
        r->err.stream = RANK_SET_STDERR;
    }
    uv_signal_init(config->loop, &set->sigchld);
    uv_timer_init(config->loop, &set->grace_timer);
    uv_timer_init(config->loop, &set->drain_timer);
    set->sigchld.data = set->grace_timer.data = set->drain_timer.data = set;
    *out = set;
    return 0;
}

static void rank_set_reap(struct rank_set *set);

static void rank_set_sigchld_cb(uv_signal_t *handle, int sig)
{
    (void)sig;
    rank_set_reap(handle->data);
}

static int rank_set_open_pipe(struct rank_set *set,
                              struct rank_set_pipe *p,
                              int *child_fd,
                              shoal_error_t *error)
{
    int fds[2];
    int rc;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return shoal_errprintf(error, -errno, "cannot create pipe: %s",
                               strerror(errno));
    rc = uv_pipe_init(set->config.loop, &p->pipe, 0);
    if (rc == 0) {
        p->pipe.data = set;
        rc = uv_pipe_open(&p->pipe, fds[0]);
        if (rc < 0)
            uv_close((uv_handle_t *)&p->pipe, rank_set_close_cb);
    }
    if (rc < 0) {
        close(fds[0]);
        close(fds[1]);
        return shoal_errprintf(error, -EIO, "cannot watch output pipe: %s",
                               uv_strerror(rc));
    }
    p->open = true;
    set->open_streams++;
    rank_set_pipe_read(p, !set->paused);
    *child_fd = fds[1];
    return 0;
}

static bool rank_set_env_has(char *const *envp, size_t n, const char *var)
{
    const char *eq = strchr(var, '=');
    size_t len = eq ? (size_t)(eq - var) + 1 : strlen(var);

    for (size_t i = 0; i < n; i++)
        if (strncmp(envp[i], var, len) == 0)
            return true;
    return false;
}

/* envp plus those of extra (NULL-terminated, may be NULL) that envp does
 * not set already (the user's settings win), in one new array of the same
 * strings; caller frees the array only. */
static char **rank_set_env_join(char **envp, char *const *extra)
{
    size_t n = 0, m = 0, k;
    char **all;

    while (envp[n])
        n++;
    while (extra && extra[m])
        m++;
    all = malloc((n + m + 1) * sizeof(char *));
    if (!all)
        return NULL;
    memcpy(all, envp, n * sizeof(char *));
    k = n;
    for (size_t i = 0; i < m; i++)
        if (!rank_set_env_has(envp, n, extra[i]))
            all[k++] = extra[i];
    all[k] = NULL;
    return all;
}

int rank_set_start(rank_set_t *set,
                   int index,
                   int stdin_fd,
                   shoal_error_t *error)
{
    return rank_set_start_env(set, index, stdin_fd, NULL, error);
}

int rank_set_start_env(rank_set_t *set,
                       int index,
                       int stdin_fd,
                       char *const *extra_env,
                       shoal_error_t *error)
{
    const struct rank_set_config *config = &set->config;
    struct rank_set_rank *r = &set->ranks[index];
    struct spawn_spec spec = {0};
    int out_fd = -1, err_fd = -1;
    int pmi[2] = {-1, -1};
    char **envp = NULL, **joined = NULL;
    int rank = config->ranks ? config->ranks[index] : index;
    int rc;

    if (!uv_is_active((uv_handle_t *)&set->sigchld))
        uv_signal_start(&set->sigchld, rank_set_sigchld_cb, SIGCHLD);
    rc = rank_set_open_pipe(set, &r->out, &out_fd, error);
    if (rc < 0)
        goto done;
    rc = rank_set_open_pipe(set, &r->err, &err_fd, error);
    if (rc < 0)
        goto done;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pmi) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot create socket: %s",
                             strerror(errno));
        goto done;
    }
    rc = env_block_for_rank(&set->base, rank, config->size, index,
                            config->nranks, pmi[1], &envp);
    if (rc < 0) {
        rc = shoal_errprintf(error, rc, "out of memory");
        goto done;
    }
    if (extra_env) {
        joined = rank_set_env_join(envp, extra_env);
        if (!joined) {
            rc = shoal_errprintf(error, -ENOMEM, "out of memory");
            goto done;
        }
    }
    spec.path = config->path;
    spec.argv = config->argv;
    spec.envp = joined ? joined : envp;
    spec.wdir = config->wdir;
    spec.cpus = config->cpus ? config->cpus[index] : NULL;
    spec.stdin_fd = stdin_fd;
    spec.stdout_fd = out_fd;
    spec.stderr_fd = err_fd;
    spec.keep_fd = pmi[1];
    spec.user = config->user;
    rc = spawn_process(&spec, &r->pid, error);
    if (rc < 0)
        goto done;
    set->live++;
    rc = uv_pipe_init(config->loop, &r->pmi, 0);
    if (rc == 0) {
        r->pmi.data = set;
        rc = uv_pipe_open(&r->pmi, pmi[0]);
        if (rc < 0)
            uv_close((uv_handle_t *)&r->pmi, rank_set_close_cb);
    }
    if (rc < 0) {
        rc = shoal_errprintf(error, -EIO, "cannot watch PMI socket: %s",
                             uv_strerror(rc));
        goto done;
    }
    pmi[0] = -1;
    r->pmi_open = true;
    uv_read_start((uv_stream_t *)&r->pmi, rank_set_alloc_cb, rank_set_pmi_cb);
done:
    free(joined);
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

void rank_set_signal_rank(rank_set_t *set, int index, int sig)
{
    struct rank_set_rank *r;

    if (index < 0 || index >= set->config.nranks)
        return;
    r = &set->ranks[index];
    if (r->pid > 0 && !r->reaped) {
        /* the group holds the rank and anything it started */
        if (kill(-r->pid, sig) < 0)
            kill(r->pid, sig);
        /* a stopped rank (the owner's hold, SIGTSTP) acts on SIGTERM
         * only once it runs again */
        if (sig == SIGTERM && kill(-r->pid, SIGCONT) < 0)
            kill(r->pid, SIGCONT);
        if (sig == SIGTERM || sig == SIGKILL)
            r->signalled = true;
    }
}

void rank_set_signal(rank_set_t *set, int sig)
{
    for (int i = 0; i < set->config.nranks; i++)
        rank_set_signal_rank(set, i, sig);
}

static void rank_set_grace_cb(uv_timer_t *timer)
{
    rank_set_signal(timer->data, SIGKILL);
}

void rank_set_terminate(rank_set_t *set)
{
    if (set->live == 0 || set->killing)
        return;
    set->killing = true;
    rank_set_signal(set, SIGTERM);
    uv_timer_start(&set->grace_timer, rank_set_grace_cb,
                   (uint64_t)(set->config.kill_grace * 1000.0), 0);
}

void rank_set_kill(rank_set_t *set)
{
    set->killing = true;
    rank_set_signal(set, SIGKILL);
}

void rank_set_pause_output(rank_set_t *set, bool pause)
{
    set->paused = pause;
    for (int i = 0; i < set->config.nranks; i++) {
        rank_set_pipe_read(&set->ranks[i].out, !pause);
        rank_set_pipe_read(&set->ranks[i].err, !pause);
    }
}

void rank_set_close_output(rank_set_t *set,
                           int index,
                           enum rank_set_stream stream)
{
    struct rank_set_rank *r = &set->ranks[index];

    rank_set_pipe_close(stream == RANK_SET_STDOUT ? &r->out : &r->err);
}

static void rank_set_pmi_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

int rank_set_pmi_send(rank_set_t *set, int index, const char *buf, size_t len)
{
    struct rank_set_rank *r = &set->ranks[index];
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
    rc = uv_write(req, (uv_stream_t *)&r->pmi, &b, 1, rank_set_pmi_write_cb);
    if (rc < 0) {
        free(req);
        return rc;
    }
    return 0;
}

void rank_set_pmi_close(rank_set_t *set, int index)
{
    struct rank_set_rank *r = &set->ranks[index];

    if (!r->pmi_open)
        return;
    r->pmi_open = false;
    uv_close((uv_handle_t *)&r->pmi, rank_set_close_cb);
}

int rank_set_live(const rank_set_t *set)
{
    return set->live;
}

static void rank_set_drain_cb(uv_timer_t *timer)
{
    struct rank_set *set = timer->data;

    for (int i = 0; i < set->config.nranks; i++) {
        rank_set_pipe_close(&set->ranks[i].out);
        rank_set_pipe_close(&set->ranks[i].err);
    }
}

void rank_set_close(rank_set_t *set)
{
    if (set->closed)
        return;
    set->closed = true;
    uv_close((uv_handle_t *)&set->sigchld, rank_set_close_cb);
    uv_close((uv_handle_t *)&set->grace_timer, rank_set_close_cb);
    uv_close((uv_handle_t *)&set->drain_timer, rank_set_close_cb);
    for (int i = 0; i < set->config.nranks; i++) {
        struct rank_set_rank *r = &set->ranks[i];
        rank_set_pmi_close(set, i);
        if (r->out.open) {
            r->out.open = false;
            uv_close((uv_handle_t *)&r->out.pipe, rank_set_close_cb);
        }
        if (r->err.open) {
            r->err.open = false;
            uv_close((uv_handle_t *)&r->err.pipe, rank_set_close_cb);
        }
    }
}

/* Once every rank is reaped, the PMI sockets go; once every output stream
 * is closed too, the set is idle. */
static void rank_set_maybe_idle(struct rank_set *set)
{
    if (!set->sealed || set->closed || set->live > 0)
        return;
    for (int i = 0; i < set->config.nranks; i++)
        rank_set_pmi_close(set, i);
    if (set->open_streams > 0) {
        if (!uv_is_active((uv_handle_t *)&set->drain_timer))
            uv_timer_start(&set->drain_timer, rank_set_drain_cb,
                           (uint64_t)(rank_set_drain_seconds * 1000.0), 0);
        return;
    }
    rank_set_close(set);
    set->ops->idle(set->arg);
}

static void rank_set_reap(struct rank_set *set)
{
    for (int i = 0; i < set->config.nranks && !set->closed; i++) {
        struct rank_set_rank *r = &set->ranks[i];
        int wstatus;

        if (r->pid <= 0 || r->reaped)
            continue;
        if (waitpid(r->pid, &wstatus, WNOHANG) != r->pid)
            continue;
        r->reaped = true;
        set->live--;
        /* Whatever the rank left behind in its group goes with it. */
        kill(-r->pid, SIGKILL);
        set->ops->exited(i, wstatus, r->signalled, set->arg);
        if (set->live == 0)
            uv_timer_stop(&set->grace_timer);
    }
    rank_set_maybe_idle(set);
}

void rank_set_seal(rank_set_t *set)
{
    set->sealed = true;
    rank_set_reap(set);
}

void rank_set_destroy(rank_set_t *set)
{
    if (!set)
        return;
    env_block_release(&set->base);
    free(set->ranks);
    free(set);
}
