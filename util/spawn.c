/* SPDX-License-Identifier: MIT */
/* spawn.c - vfork-style clone/exec with binding and a synchronous error
 * report. */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

/* ioprio_set(2) has no glibc wrapper nor header of its own */
enum spawn_ioprio {
    SPAWN_IOPRIO_WHO_PROCESS = 1,
    SPAWN_IOPRIO_CLASS_IDLE = 3,
    SPAWN_IOPRIO_CLASS_SHIFT = 13,
};

/* What the child reports when it cannot get to exec. */
enum spawn_stage {
    SPAWN_STAGE_CHDIR = 1,
    SPAWN_STAGE_FDS,
    SPAWN_STAGE_BIND,
    SPAWN_STAGE_EXEC,
    SPAWN_STAGE_USER,
};

struct spawn_failure {
    int stage;
    int err;
};

/* Mark every descriptor from first on close-on-exec. */
static void spawn_cloexec_from(int first, int max_fd)
{
#ifdef CLOSE_RANGE_CLOEXEC
    if (close_range((unsigned int)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    /* kernels before 5.11: one call per possible descriptor */
    for (int fd = first; fd < max_fd; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Runs in the child: only async-signal-safe calls from here to exec. The
 * child shares the caller's memory (see spawn_clone), so it writes nothing
 * but its own stack (and errno) and never returns. */
static void spawn_child(const struct spawn_spec *spec,
                        int report_fd,
                        int max_fd,
                        pid_t parent)
{
    struct spawn_failure failure = {0, 0};
    struct sigaction dfl;
    int fds[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};

    setpgid(0, 0);
    /* the cgroup first (joining a v1 cpuset resets the affinity), and
     * while still the caller's user, who may write the cgroup's files */
    for (int i = 0; i < spec->ncgroup_fds; i++)
        (void)!write(spec->cgroup_fds[i], "0", 1);
    if (spec->nice > 0)
        setpriority(PRIO_PROCESS, 0, spec->nice);
    if (spec->idle_io)
        syscall(SYS_ioprio_set, SPAWN_IOPRIO_WHO_PROCESS, 0,
                SPAWN_IOPRIO_CLASS_IDLE << SPAWN_IOPRIO_CLASS_SHIFT);
    if (spec->idle_cpu) {
        struct sched_param none = {0};

        sched_setscheduler(0, SCHED_IDLE, &none);
    }
    if (spec->as_limit > 0) {
        struct rlimit as = {(rlim_t)spec->as_limit, (rlim_t)spec->as_limit};

        setrlimit(RLIMIT_AS, &as);
    }
    /* Groups first, then the gid, then the uid: once the uid is dropped
     * the others can no longer be changed. A changed identity clears the
     * parent-death signal, which is why this comes before it. */
    if (spec->user
        && (setgroups(spec->user->ngroups, spec->user->groups) < 0
            || setgid(spec->user->gid) < 0 || setuid(spec->user->uid) < 0)) {
        failure.stage = SPAWN_STAGE_USER;
        goto fail;
    }
    /* A rank must not outlive its launcher, even one killed with SIGKILL
     * that had no chance to end the job. If the parent died before this
     * took effect, go now. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    /* Handlers of the parent's event loop must not run here. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);

    if (spec->wdir && chdir(spec->wdir) < 0) {
        failure.stage = SPAWN_STAGE_CHDIR;
        goto fail;
    }
    /* dup2 clears close-on-exec on the copies; a descriptor already in
     * place needs its flag cleared by hand. */
    for (int i = 0; i < 3; i++) {
        if (fds[i] == i) {
            if (fcntl(i, F_SETFD, 0) < 0)
                goto fail_fds;
        } else if (dup2(fds[i], i) < 0) {
            goto fail_fds;
        }
    }
    /* Only 0-2 and keep_fd cross exec, even if a library of the caller
     * left a descriptor without close-on-exec. */
    spawn_cloexec_from(3, max_fd);
    if (spec->keep_fd >= 0 && fcntl(spec->keep_fd, F_SETFD, 0) < 0)
        goto fail_fds;
    if (spec->cpus
        && sched_setaffinity(0, sizeof(*spec->cpus), spec->cpus) < 0) {
        failure.stage = SPAWN_STAGE_BIND;
        goto fail;
    }
    {
        sigset_t empty;
        sigemptyset(&empty);
        sigprocmask(SIG_SETMASK, &empty, NULL);
    }
    execve(spec->path, spec->argv, spec->envp);
    failure.stage = SPAWN_STAGE_EXEC;
    goto fail;
fail_fds:
    failure.stage = SPAWN_STAGE_FDS;
fail:
    failure.err = errno;
    (void)!write(report_fd, &failure, sizeof(failure));
    _exit(127);
}

struct spawn_child_args {
    const struct spawn_spec *spec;
    int report_fd;
    int max_fd;
    pid_t parent;
};

static int spawn_child_main(void *arg)
{
    const struct spawn_child_args *a = arg;

    spawn_child(a->spec, a->report_fd, a->max_fd, a->parent);
    return 127; /* not reached: spawn_child execs or exits */
}

/* Sanitizers keep state behind sigaction() and friends in the process's
 * memory, which a child sharing that memory would change: they get fork. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAWN_SHARE_MEMORY 0
#else
#define SPAWN_SHARE_MEMORY 1
#endif

enum { SPAWN_CHILD_STACK = 64 * 1024 };

/* Start the child. Sharing the caller's memory until exec (as
 * posix_spawn does) spares the copy of the page tables and the
 * copy-on-write faults that fork costs both sides: a daemon starting
 * thousands of short tasks spends most of its time there otherwise. The
 * caller is suspended until the child has exec'd or exited, and the child
 * only makes system calls on its own stack. */
static pid_t spawn_clone(struct spawn_child_args *args)
{
    if (SPAWN_SHARE_MEMORY) {
        void *stack = mmap(NULL, SPAWN_CHILD_STACK, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        pid_t child;
        int err;

        if (stack == MAP_FAILED)
            return -1;
        child = clone(spawn_child_main, (char *)stack + SPAWN_CHILD_STACK,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, args);
        err = errno;
        munmap(stack, SPAWN_CHILD_STACK);
        errno = err;
        return child;
    }
    pid_t child = fork();
    if (child == 0)
        spawn_child_main(args);
    return child;
}

static int spawn_failure_error(const struct spawn_spec *spec,
                               const struct spawn_failure *failure,
                               shoal_error_t *error)
{
    switch (failure->stage) {
    case SPAWN_STAGE_CHDIR:
        if (spec->user)
            return shoal_errprintf(
                error, -failure->err,
                "cannot change to directory '%s' as user '%s': %s", spec->wdir,
                spec->user->name, strerror(failure->err));
        return shoal_errprintf(error, -failure->err,
                               "cannot change to directory '%s': %s",
                               spec->wdir, strerror(failure->err));
    case SPAWN_STAGE_USER:
        return shoal_errprintf(
            error, -failure->err, "cannot run '%s' as user '%s' (uid %u): %s",
            spec->path, spec->user->name, (unsigned)spec->user->uid,
            strerror(failure->err));
    case SPAWN_STAGE_BIND:
        return shoal_errprintf(error, -failure->err, "cannot bind '%s': %s",
                               spec->path, strerror(failure->err));
    case SPAWN_STAGE_EXEC:
        if (spec->user)
            return shoal_errprintf(
                error, -failure->err, "cannot execute '%s' as user '%s': %s",
                spec->path, spec->user->name, strerror(failure->err));
        return shoal_errprintf(error, -failure->err, "cannot execute '%s': %s",
                               spec->path, strerror(failure->err));
    default:
        return shoal_errprintf(error, -failure->err,
                               "cannot set up descriptors for '%s': %s",
                               spec->path, strerror(failure->err));
    }
}

int spawn_process(const struct spawn_spec *spec,
                  pid_t *pid,
                  shoal_error_t *error)
{
    struct spawn_failure failure;
    sigset_t all, oldmask;
    pid_t parent = getpid();
    long open_max = sysconf(_SC_OPEN_MAX);
    int max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
    int report[2];
    ssize_t n;
    pid_t child;

    if (pipe2(report, O_CLOEXEC) < 0)
        return shoal_errprintf(error, -errno, "cannot create pipe: %s",
                               strerror(errno));
    /* No signal handler of ours may run in the child before it resets
     * them; the child restores an empty mask just before exec. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &oldmask);
    {
        struct spawn_child_args args = {spec, report[1], max_fd, parent};
        child = spawn_clone(&args);
    }
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    close(report[1]);
    if (child < 0) {
        int err = errno;
        close(report[0]);
        return shoal_errprintf(error, -err, "cannot start a process: %s",
                               strerror(err));
    }
    /* EOF means exec succeeded and closed the pipe. */
    do {
        n = read(report[0], &failure, sizeof(failure));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof(failure)) {
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return spawn_failure_error(spec, &failure, error);
    }
    /* The child's process group is set by both sides so that signalling
     * the group right after this returns cannot race with the child. */
    setpgid(child, child);
    *pid = child;
    return 0;
}

static int spawn_check(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (access(path, X_OK) < 0)
        return -errno;
    return 0;
}

int spawn_resolve(const char *program,
                  const char *wdir,
                  char **path,
                  shoal_error_t *error)
{
    const char *search = getenv("PATH");
    char *candidate = NULL;
    int rc = -ENOENT;

    if (*program == '\0')
        return shoal_errprintf(error, -ENOENT, "empty program name");
    if (strchr(program, '/')) {
        if (program[0] == '/' || !wdir)
            candidate = strdup(program);
        else if (asprintf(&candidate, "%s/%s", wdir, program) < 0)
            candidate = NULL;
        if (!candidate)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        rc = spawn_check(candidate);
        if (rc == 0) {
            *path = candidate;
            return 0;
        }
        free(candidate);
        return shoal_errprintf(error, rc, "cannot execute '%s': %s", program,
                               strerror(-rc));
    }
    if (!search || !*search)
        search = "/usr/local/bin:/usr/bin:/bin";
    while (*search) {
        size_t len = strcspn(search, ":");
        int entry_rc;

        if (asprintf(&candidate, "%.*s/%s", len ? (int)len : 1,
                     len ? search : ".", program)
            < 0)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        entry_rc = spawn_check(candidate);
        if (entry_rc == 0) {
            *path = candidate;
            return 0;
        }
        free(candidate);
        /* as execvp: a found but unusable file beats "not found" */
        if (entry_rc == -EACCES || (entry_rc == -EISDIR && rc == -ENOENT))
            rc = entry_rc;
        search += len;
        if (*search == ':')
            search++;
    }
    if (rc == -ENOENT)
        return shoal_errprintf(error, rc, "cannot find '%s' in PATH", program);
    return shoal_errprintf(error, rc, "cannot execute '%s': %s", program,
                           strerror(-rc));
}
