/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/spawn.h"

TestSuite(spawn, .timeout = 20);

/* Run /bin/sh -c script with stdout captured; return its exit status. */
static int run_sh(const char *script, const char *wdir, const cpu_set_t *cpus,
                  char *out, size_t outlen)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "SPAWN_TEST=yes", NULL};
    struct spawn_spec spec = {0};
    shoal_error_t err = {{0}};
    int fds[2];
    pid_t pid;
    int status;
    ssize_t n, total = 0;

    cr_assert(eq(int, pipe2(fds, O_CLOEXEC), 0));
    spec.path = "/bin/sh";
    spec.argv = argv;
    spec.envp = envp;
    spec.wdir = wdir;
    spec.cpus = cpus;
    spec.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    spec.stdout_fd = fds[1];
    spec.stderr_fd = fds[1];
    spec.keep_fd = -1;
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), 0), "%s", err.text);
    close(fds[1]);
    close(spec.stdin_fd);
    while ((n = read(fds[0], out + total, outlen - 1 - (size_t)total)) > 0)
        total += n;
    out[total] = '\0';
    close(fds[0]);
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    bool exited = WIFEXITED(status);
    cr_assert(exited, "status %#x", status);
    return WEXITSTATUS(status);
}

Test(spawn, environment_directory_and_process_group)
{
    char out[512];
    char want[64];

    cr_assert(eq(int,
                 run_sh("echo $SPAWN_TEST; pwd; "
                        "[ $(ps -o pgid= $$) -eq $$ ] && echo leader",
                        "/tmp", NULL, out, sizeof(out)),
                 0));
    snprintf(want, sizeof(want), "yes\n/tmp\nleader\n");
    cr_assert(eq(str, out, want));
}

Test(spawn, binding_is_in_place_before_the_program_runs)
{
    cpu_set_t one;
    char out[512];

    CPU_ZERO(&one);
    CPU_SET(0, &one);
    cr_assert(eq(int,
                 run_sh("grep Cpus_allowed_list /proc/self/status", NULL,
                        &one, out, sizeof(out)),
                 0));
    cr_assert(eq(str, out, "Cpus_allowed_list:\t0\n"));
}

Test(spawn, only_the_kept_descriptor_is_inherited)
{
    char out[512];
    int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int hidden = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char *argv[] = {"sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '",
                    NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct spawn_spec spec = {.path = "/bin/sh", .argv = argv, .envp = envp};
    int fds[2];
    pid_t pid;
    ssize_t n;
    char want[64];

    cr_assert(eq(int, pipe2(fds, O_CLOEXEC), 0));
    spec.stdin_fd = keep;
    spec.stdout_fd = fds[1];
    spec.stderr_fd = fds[1];
    spec.keep_fd = keep;
    cr_assert(eq(int, spawn_process(&spec, &pid, NULL), 0));
    close(fds[1]);
    n = read(fds[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    waitpid(pid, NULL, 0);
    /* 0-2, the kept one, and the fd ls opens for the directory */
    snprintf(want, sizeof(want), "0 1 2 %d", keep);
    cr_assert(strncmp(out, want, strlen(want)) == 0, "got '%s' want '%s'",
              out, want);
    cr_assert(strstr(out + strlen(want), " ") != NULL);
    (void)hidden;
    close(keep);
    close(hidden);
    close(fds[0]);
}

Test(spawn, exec_failures_are_reported_synchronously)
{
    char *argv[] = {"x", NULL};
    char *envp[] = {NULL};
    struct spawn_spec spec = {.argv = argv, .envp = envp, .keep_fd = -1};
    shoal_error_t err = {{0}};
    pid_t pid = 0;

    spec.path = "/etc/hostname"; /* exists, not executable */
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), -EACCES));
    cr_assert(eq(str, err.text,
                 "cannot execute '/etc/hostname': Permission denied"));
    spec.path = "/bin/true";
    spec.wdir = "/nonexistent-dir";
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), -ENOENT));
    cr_assert(strstr(err.text, "cannot change to directory "
                               "'/nonexistent-dir'")
                  != NULL,
              "%s", err.text);
    cr_assert(eq(int, pid, 0), "no pid on failure");
}

Test(spawn, resolve_like_execvp)
{
    shoal_error_t err = {{0}};
    char *path = NULL;

    cr_assert(eq(int, spawn_resolve("sh", NULL, &path, &err), 0));
    cr_assert(strstr(path, "/sh") != NULL);
    free(path);
    cr_assert(eq(int, spawn_resolve("./sh", "/bin", &path, &err), 0));
    cr_assert(eq(str, path, "/bin/./sh"));
    free(path);
    cr_assert(eq(int, spawn_resolve("no-such-program-xyz", NULL, &path, &err),
                 -ENOENT));
    cr_assert(eq(str, err.text, "cannot find 'no-such-program-xyz' in PATH"));
    cr_assert(eq(int, spawn_resolve("/etc/hostname", NULL, &path, &err),
                 -EACCES));
    cr_assert(eq(int, spawn_resolve("/tmp", NULL, &path, &err), -EACCES));
    cr_assert(eq(int, spawn_resolve("./missing", "/tmp", &path, &err),
                 -ENOENT));
}
