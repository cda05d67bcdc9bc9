/* SPDX-License-Identifier: MIT */
/* suite_exec.c - one repetition's process: memfds, pidfd, timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/suite/suite_exec.h"
#include "util/spawn.h"

enum { SUITE_EXEC_KEEP = 16 << 20 };

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_back(int fd, char **out, size_t *len)
{
    off_t size = lseek(fd, 0, SEEK_END);
    size_t want, got = 0;
    char *buf;

    if (size < 0)
        return -errno;
    want = (size_t)size > SUITE_EXEC_KEEP ? SUITE_EXEC_KEEP : (size_t)size;
    /* keep the tail: figures and errors are printed last */
    if (lseek(fd, size - (off_t)want, SEEK_SET) < 0)
        return -errno;
    buf = malloc(want + 1);
    if (!buf)
        return -ENOMEM;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* Wait for pidfd to become readable for up to seconds (< 0: forever);
 * returns 1 when it did, 0 on timeout. */
static int wait_exit(int pidfd, double seconds)
{
    double deadline = mono_s() + seconds;

    for (;;) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        double left = deadline - mono_s();
        int ms = seconds < 0 ? -1 : left <= 0 ? 0 : (int)(left * 1000) + 1;
        int n = poll(&p, 1, ms);

        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return 1; /* fall back to a blocking wait */
    }
}

int suite_exec_run(char *const *argv,
                   char *const *envp,
                   double timeout,
                   struct suite_exec_result *result,
                   shoal_error_t *error)
{
    int out_fd = -1, err_fd = -1, in_fd = -1, pidfd = -1, status = 0, rc;
    char *path = NULL;
    pid_t pid;
    double t0;
    bool timed_out = false;

    memset(result, 0, sizeof(*result));
    rc = spawn_resolve(argv[0], NULL, &path, error);
    if (rc < 0)
        return rc;
    out_fd = memfd_create("shoal-bench-out", MFD_CLOEXEC);
    err_fd = memfd_create("shoal-bench-err", MFD_CLOEXEC);
    in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
        rc = shoal_errprintf(error, -errno, "cannot make output files: %s",
                             strerror(errno));
        goto out;
    }
    struct spawn_spec spec = {.path = path,
                              .argv = argv,
                              .envp = envp,
                              .stdin_fd = in_fd,
                              .stdout_fd = out_fd,
                              .stderr_fd = err_fd,
                              .keep_fd = -1};

    t0 = mono_s();
    rc = spawn_process(&spec, &pid, error);
    if (rc < 0)
        goto out;
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        if (!wait_exit(pidfd, timeout > 0 ? timeout : -1)) {
            timed_out = true;
            kill(-pid, SIGTERM);
            if (!wait_exit(pidfd, 1.0))
                kill(-pid, SIGKILL);
        }
    } else if (timeout > 0) {
        /* no pidfd (an old kernel): poll the exit every millisecond */
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (mono_s() - t0 > timeout) {
                timed_out = true;
                kill(-pid, SIGKILL);
                break;
            }
            usleep(1000);
        }
    }
    result->wall = mono_s() - t0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pidfd < 0 && !timed_out)
        result->wall = mono_s() - t0;
    if (timed_out) {
        result->status = SUITE_EXEC_TIMEOUT;
        result->exit_code = WIFSIGNALED(status) ? -WTERMSIG(status) : 0;
    } else if (WIFSIGNALED(status)) {
        result->status = SUITE_EXEC_CRASHED;
        result->exit_code = -WTERMSIG(status);
    } else {
        result->exit_code = WEXITSTATUS(status);
        result->status = result->exit_code ? SUITE_EXEC_FAILED : SUITE_EXEC_OK;
    }
    rc = read_back(out_fd, &result->out, &result->out_len);
    if (rc == 0)
        rc = read_back(err_fd, &result->err, &result->err_len);
    if (rc < 0) {
        suite_exec_release(result);
        shoal_errprintf(error, rc, "cannot read the output of '%s': %s",
                        argv[0], shoal_strerror(rc));
    }
out:
    if (pidfd >= 0)
        close(pidfd);
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    if (in_fd >= 0)
        close(in_fd);
    free(path);
    return rc;
}

void suite_exec_release(struct suite_exec_result *result)
{
    free(result->out);
    free(result->err);
    result->out = result->err = NULL;
    result->out_len = result->err_len = 0;
}

const char *suite_exec_status_name(enum suite_exec_status status)
{
    switch (status) {
    case SUITE_EXEC_OK:
        return "ok";
    case SUITE_EXEC_FAILED:
        return "failed";
    case SUITE_EXEC_CRASHED:
        return "crashed";
    case SUITE_EXEC_TIMEOUT:
        return "timeout";
    }
    return "unknown";
}
