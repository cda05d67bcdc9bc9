/* SPDX-License-Identifier: MIT */
/* task_exec.c - processes of bag-of-tasks tasks: start, limit, kill, reap. */
#include "runtime/tasks/task_exec.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/spawn.h"
#include "util/fs.h"

enum { TASK_EXEC_TAIL = 2048 };

struct task_run {
    uint64_t key;
    pid_t pid;
    double start;
    double deadline;    /* time limit, or 0 */
    double kill_at;     /* SIGKILL due, or 0 */
    const char *why;    /* reason it is being ended, or NULL */
    uint64_t mem_limit; /* RLIMIT_AS it runs under, 0 for none */
    char *out_path, *err_path;
    struct task_run *next;
};

struct task_exec {
    uv_loop_t *loop;
    double kill_grace;
    task_exec_done_f *done;
    void *arg;
    uv_signal_t sigchld;
    uv_timer_t tick;
    struct task_run *runs;
    size_t nrunning;
    int open_handles;
};

static double task_exec_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* The last bytes of a file, for the record of a failed task. */
static char *task_exec_tail(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf;
    off_t size;
    ssize_t n;

    if (fd < 0)
        return NULL;
    size = lseek(fd, 0, SEEK_END);
    buf = malloc(TASK_EXEC_TAIL + 1);
    if (!buf || size <= 0) {
        free(buf);
        close(fd);
        return NULL;
    }
    n = pread(fd, buf, TASK_EXEC_TAIL,
              size > TASK_EXEC_TAIL ? size - TASK_EXEC_TAIL : 0);
    close(fd);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void task_exec_finish(struct task_exec *x, struct task_run *r, int ws)
{
    struct task_exec_result res = {.key = r->key,
                                   .start = r->start,
                                   .end = task_exec_now(),
                                   .out_path = r->out_path,
                                   .err_path = r->err_path};
    char why[32], mem_why[128];
    char *tail = NULL;

    if (WIFEXITED(ws)) {
        res.status = WEXITSTATUS(ws);
    } else {
        res.status = TASK_EXEC_STATUS_SIGNALED + WTERMSIG(ws);
        snprintf(why, sizeof(why), "signal %d", WTERMSIG(ws));
        res.reason = why;
    }
    if (r->why && res.status != 0)
        res.reason = r->why;
    else if (r->mem_limit > 0 && res.status != 0) {
        /* The kernel does not say that an allocation past RLIMIT_AS
         * failed (malloc returns NULL, mmap ENOMEM; what the program then
         * does is its own): a failure under the limit is named with it,
         * and the status says how it ended. */
        snprintf(mem_why, sizeof(mem_why),
                 "failed (%s %d) under its memory limit of %" PRIu64
                 " MiB (--mem: address space)",
                 WIFEXITED(ws) ? "exit status" : "signal",
                 WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws),
                 r->mem_limit >> 20);
        res.reason = mem_why;
    }
    if (res.status != 0)
        tail = task_exec_tail(r->err_path);
    res.err_tail = tail;
    x->done(&res, x->arg);
    free(tail);
}

static void task_exec_free_run(struct task_run *r)
{
    free(r->out_path);
    free(r->err_path);
    free(r);
}

static void task_exec_reap(struct task_exec *x)
{
    struct task_run **p = &x->runs;

    while (*p) {
        struct task_run *r = *p;
        int ws;
        pid_t got = waitpid(r->pid, &ws, WNOHANG);

        if (got == r->pid || (got < 0 && errno == ECHILD)) {
            *p = r->next;
            x->nrunning--;
            /* the group may hold the task's children: end them too */
            kill(-r->pid, SIGKILL);
            if (got == r->pid)
                task_exec_finish(x, r, ws);
            task_exec_free_run(r);
            continue;
        }
        p = &r->next;
    }
    if (x->nrunning == 0)
        uv_timer_stop(&x->tick);
}

static void task_exec_sigchld_cb(uv_signal_t *h, int signum)
{
    (void)signum;
    task_exec_reap(h->data);
}

static void task_exec_term(struct task_exec *x,
                           struct task_run *r,
                           const char *why,
                           double now)
{
    if (r->kill_at)
        return;
    r->why = why;
    r->kill_at = now + x->kill_grace;
    kill(-r->pid, SIGTERM);
}

static void task_exec_tick_cb(uv_timer_t *h)
{
    struct task_exec *x = h->data;
    double now = task_exec_now();

    for (struct task_run *r = x->runs; r; r = r->next) {
        if (r->deadline && now >= r->deadline)
            task_exec_term(x, r, "time limit", now);
        if (r->kill_at && now >= r->kill_at)
            kill(-r->pid, SIGKILL);
    }
    task_exec_reap(x);
}

static void task_exec_close_cb(uv_handle_t *h)
{
    struct task_exec *x = h->data;

    if (--x->open_handles == 0)
        free(x);
}

int task_exec_create(uv_loop_t *loop,
                     double kill_grace,
                     task_exec_done_f *done,
                     void *arg,
                     struct task_exec **out)
{
    struct task_exec *x = calloc(1, sizeof(*x));
    int rc;

    if (!x)
        return -ENOMEM;
    x->loop = loop;
    x->kill_grace = kill_grace;
    x->done = done;
    x->arg = arg;
    uv_signal_init(loop, &x->sigchld);
    uv_timer_init(loop, &x->tick);
    x->sigchld.data = x->tick.data = x;
    x->open_handles = 2;
    /* running tasks do not keep the loop alive: their owner ends them */
    uv_unref((uv_handle_t *)&x->sigchld);
    uv_unref((uv_handle_t *)&x->tick);
    rc = uv_signal_start(&x->sigchld, task_exec_sigchld_cb, SIGCHLD);
    if (rc < 0) {
        task_exec_destroy(x);
        return rc;
    }
    *out = x;
    return 0;
}

void task_exec_destroy(struct task_exec *x)
{
    if (!x)
        return;
    while (x->runs) {
        struct task_run *r = x->runs;

        x->runs = r->next;
        kill(-r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        task_exec_free_run(r);
    }
    x->nrunning = 0;
    uv_close((uv_handle_t *)&x->sigchld, task_exec_close_cb);
    uv_close((uv_handle_t *)&x->tick, task_exec_close_cb);
}

static int task_exec_open(const char *path, int flags, shoal_error_t *error)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);

    if (fd < 0)
        return shoal_errprintf(error, -errno, "cannot open '%s': %s", path,
                               strerror(errno));
    return fd;
}

/* The task's output directory and files are its user's: the user reads
 * them (shoal tasks output), others do not. */
static int task_exec_give(const struct task_exec_spec *spec,
                          int outfd,
                          int errfd,
                          shoal_error_t *error)
{
    uid_t uid = spec->user->uid;
    gid_t gid = spec->user->gid;

    if (chown(spec->out_dir, uid, gid) < 0 || chmod(spec->out_dir, 0700) < 0
        || fchown(outfd, uid, gid) < 0 || fchown(errfd, uid, gid) < 0)
        return shoal_errprintf(
            error, -errno, "cannot give '%s' to user '%s': %s", spec->out_dir,
            spec->user->name, strerror(errno));
    return 0;
}

int task_exec_start(struct task_exec *x,
                    const struct task_exec_spec *spec,
                    shoal_error_t *error)
{
    struct task_run *r = calloc(1, sizeof(*r));
    struct spawn_spec ss = {.path = spec->path,
                            .argv = spec->argv,
                            .envp = spec->envp,
                            .wdir = spec->wdir,
                            .cpus = spec->cpus,
                            .keep_fd = -1,
                            .user = spec->user,
                            .cgroup_fds = spec->cgroup_fds,
                            .ncgroup_fds = spec->ncgroup_fds,
                            .nice = spec->background ? 10 : 0,
                            .idle_io = spec->background,
                            .idle_cpu = spec->idle_cpu,
                            .as_limit = spec->mem_limit};
    int in = -1, outfd = -1, errfd = -1, rc;

    if (!r)
        return -ENOMEM;
    if (fs_mkdir_p(spec->out_dir, 0755) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot create '%s': %s",
                             spec->out_dir, strerror(errno));
        goto error;
    }
    if (asprintf(&r->out_path, "%s/stdout", spec->out_dir) < 0
        || asprintf(&r->err_path, "%s/stderr", spec->out_dir) < 0) {
        rc = -ENOMEM;
        goto error;
    }
    rc = in = task_exec_open("/dev/null", O_RDONLY, error);
    if (rc >= 0)
        rc = outfd =
            task_exec_open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, error);
    if (rc >= 0)
        rc = errfd =
            task_exec_open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, error);
    if (rc >= 0 && spec->user)
        rc = task_exec_give(spec, outfd, errfd, error);
    if (rc < 0)
        goto error;
    ss.stdin_fd = in;
    ss.stdout_fd = outfd;
    ss.stderr_fd = errfd;
    r->start = task_exec_now();
    rc = spawn_process(&ss, &r->pid, error);
    if (rc < 0)
        goto error;
    close(in);
    close(outfd);
    close(errfd);
    r->key = spec->key;
    r->mem_limit = spec->mem_limit;
    if (spec->time_limit > 0)
        r->deadline = r->start + spec->time_limit;
    r->next = x->runs;
    x->runs = r;
    if (x->nrunning++ == 0)
        uv_timer_start(&x->tick, task_exec_tick_cb, 100, 100);
    return 0;
error:
    if (in >= 0)
        close(in);
    if (outfd >= 0)
        close(outfd);
    if (errfd >= 0)
        close(errfd);
    task_exec_free_run(r);
    return rc;
}

int task_exec_kill(struct task_exec *x, uint64_t key)
{
    for (struct task_run *r = x->runs; r; r = r->next)
        if (r->key == key) {
            task_exec_term(x, r, "killed", task_exec_now());
            return 0;
        }
    return -ENOENT;
}

size_t task_exec_running(const struct task_exec *x)
{
    return x->nrunning;
}

int task_exec_status_not_run(int code)
{
    return code == -ENOENT ? TASK_EXEC_STATUS_NOT_FOUND
                           : TASK_EXEC_STATUS_CANNOT_RUN;
}
