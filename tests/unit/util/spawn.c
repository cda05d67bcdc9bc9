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

#include "util/spawn.h"

TestSuite(spawn, .timeout = 20);

/* Run /bin/sh -c script with stdout captured; return its exit status. */
static int run_sh_full(const char *script,
                       const char *wdir,
                       const cpu_set_t *cpus,
                       int keep_fd,
                       char *out,
                       size_t outlen)
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
    spec.keep_fd = keep_fd;
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

static int run_sh(const char *script,
                  const char *wdir,
                  const cpu_set_t *cpus,
                  char *out,
                  size_t outlen)
{
    return run_sh_full(script, wdir, cpus, -1, out, outlen);
}

static int
run_sh_keep(const char *script, int keep_fd, char *out, size_t outlen)
{
    return run_sh_full(script, NULL, NULL, keep_fd, out, outlen);
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
                 run_sh("grep Cpus_allowed_list /proc/self/status", NULL, &one,
                        out, sizeof(out)),
                 0));
    cr_assert(eq(str, out, "Cpus_allowed_list:\t0\n"));
}

Test(spawn, only_the_kept_descriptor_is_inherited)
{
    int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* a descriptor someone forgot to mark close-on-exec */
    int hidden = open("/dev/null", O_RDONLY);
    char script[256];
    char out[512];

    snprintf(script, sizeof(script),
             "for fd in 0 1 2 %d %d; do "
             "[ -e /proc/$$/fd/$fd ] && echo -n \"$fd \"; done; echo",
             keep, hidden);
    /* run_sh's own descriptors are close-on-exec; only keep may cross */
    cr_assert(eq(int, run_sh_keep(script, keep, out, sizeof(out)), 0));
    snprintf(script, sizeof(script), "0 1 2 %d \n", keep);
    cr_assert(eq(str, out, script));
    close(keep);
    close(hidden);
}

/* A file with no execute bit, which even root cannot execute; path is a
 * buffer of at least 32 bytes. The caller unlinks it. */
static const char *make_plain_file(char *path)
{
    int fd;

    strcpy(path, "/tmp/shoal-plain-XXXXXX");
    fd = mkstemp(path);

    cr_assert(fd >= 0);
    cr_assert(eq(int, fchmod(fd, 0644), 0));
    close(fd);
    return path;
}

Test(spawn, exec_failures_are_reported_synchronously)
{
    char *argv[] = {"x", NULL};
    char *envp[] = {NULL};
    struct spawn_spec spec = {.argv = argv, .envp = envp, .keep_fd = -1};
    shoal_error_t err = {{0}};
    pid_t pid = 0;

    char plain[32];

    make_plain_file(plain);

    spec.path = plain; /* exists, not executable */
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), -EACCES));
    cr_assert(strstr(err.text, "': Permission denied") != NULL, "%s", err.text);
    spec.path = "/bin/true";
    spec.wdir = "/nonexistent-dir";
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), -ENOENT));
    cr_assert(strstr(err.text, "cannot change to directory "
                               "'/nonexistent-dir'")
                  != NULL,
              "%s", err.text);
    cr_assert(eq(int, pid, 0), "no pid on failure");
    unlink(plain);
}

Test(spawn, resolve_like_execvp)
{
    shoal_error_t err = {{0}};
    char *path = NULL;
    char plain[32];

    cr_assert(eq(int, spawn_resolve("sh", NULL, &path, &err), 0));
    cr_assert(strstr(path, "/sh") != NULL);
    free(path);
    cr_assert(eq(int, spawn_resolve("./sh", "/bin", &path, &err), 0));
    cr_assert(eq(str, path, "/bin/./sh"));
    free(path);
    cr_assert(eq(int, spawn_resolve("no-such-program-xyz", NULL, &path, &err),
                 -ENOENT));
    cr_assert(eq(str, err.text, "cannot find 'no-such-program-xyz' in PATH"));
    cr_assert(eq(int, spawn_resolve(make_plain_file(plain), NULL, &path, &err),
                 -EACCES));
    unlink(plain);
    cr_assert(eq(int, spawn_resolve("/tmp", NULL, &path, &err), -EISDIR));
    cr_assert(eq(str, err.text, "cannot execute '/tmp': Is a directory"));
    cr_assert(
        eq(int, spawn_resolve("./missing", "/tmp", &path, &err), -ENOENT));
}

#include "util/account.h"

/* As another user: the ids and groups are the account's before the
 * working directory is entered, so a directory the user may not enter
 * fails the spawn, naming the user. */
Test(spawn, runs_as_another_user)
{
    char dir[] = "/tmp/shoal-spawn-XXXXXX";
    char *argv[] = {"sh", "-c", "id -u; id -g; id -G", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct spawn_spec spec = {0};
    struct spawn_user user;
    struct account nobody;
    shoal_error_t err = {{0}};
    char out[256];
    ssize_t n, total = 0;
    int fds[2], status;
    pid_t pid;

    if (geteuid() != 0)
        cr_skip_test("needs root to switch users");
    cr_assert(eq(int, account_by_uid(65534, (gid_t)-1, &nobody), 0));
    account_spawn_user(&nobody, &user);
    cr_assert(eq(int, pipe2(fds, O_CLOEXEC), 0));
    spec.path = "/bin/sh";
    spec.argv = argv;
    spec.envp = envp;
    spec.wdir = "/";
    spec.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    spec.stdout_fd = fds[1];
    spec.stderr_fd = fds[1];
    spec.keep_fd = -1;
    spec.user = &user;
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), 0), "%s", err.text);
    close(fds[1]);
    while ((n = read(fds[0], out + total, sizeof(out) - 1 - (size_t)total)) > 0)
        total += n;
    out[total] = '\0';
    close(fds[0]);
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    cr_assert(eq(int, status, 0));
    /* no supplementary group of root's is left */
    cr_assert(eq(str, out, "65534\n65534\n65534\n"));

    /* a directory only root may enter */
    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    cr_assert(eq(int, chmod(dir, 0700), 0));
    spec.wdir = dir;
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), -EACCES));
    cr_assert(not(eq(ptr, strstr(err.text, "as user 'nobody'"), NULL)), "%s",
              err.text);
    close(spec.stdin_fd);
    rmdir(dir);
}

Test(spawn, accounts_and_their_login_variables)
{
    char *env[] = {"PATH=/bin",    "HOME=/root", "USER=root",
                   "LOGNAME=root", "X=1",        NULL};
    struct account nobody, none;
    struct account_env ae;
    char **merged;

    cr_assert(eq(int, account_by_uid(65534, 1, &nobody), 0));
    cr_assert(eq(str, nobody.name, "nobody"));
    cr_assert(eq(u32, (uint32_t)nobody.gid, 1)); /* the submitter's */
    cr_assert(eq(int, account_by_uid(4242, (gid_t)-1, &none), -ENOENT));
    cr_assert(eq(int, account_by_name("no-such-user-here", &none), -ENOENT));
    account_env_fill(&nobody, &ae);
    merged = account_env_merge(env, &ae);
    cr_assert(not(eq(ptr, merged, NULL)));
    cr_assert(eq(str, merged[0], "PATH=/bin"));
    cr_assert(eq(str, merged[1], "X=1"));
    cr_assert(eq(str, merged[2], "HOME=/nonexistent"));
    cr_assert(eq(str, merged[3], "USER=nobody"));
    cr_assert(eq(str, merged[4], "LOGNAME=nobody"));
    cr_assert(eq(ptr, merged[5], NULL));
    free(merged);
}

Test(spawn, background_priority_and_cgroup_files_before_the_program_runs)
{
    char *argv[] = {"sh", "-c",
                    "cut -d' ' -f19 /proc/self/stat; "
                    "cut -d' ' -f41 /proc/self/stat; "
                    "ionice -p $$",
                    NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    char path[] = "/tmp/spawn-cgroup.XXXXXX", out[256], procs[16] = "";
    struct spawn_spec spec = {0};
    shoal_error_t err = {{0}};
    int fds[2], status, cg = mkstemp(path), cgs[2];
    ssize_t n, total = 0;
    pid_t pid;

    cr_assert(ge(int, cg, 0));
    /* a stand-in for cgroup.procs: what the child writes stays */
    cgs[0] = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    cgs[1] = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    cr_assert(eq(int, pipe2(fds, O_CLOEXEC), 0));
    spec.path = "/bin/sh";
    spec.argv = argv;
    spec.envp = envp;
    spec.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    spec.stdout_fd = fds[1];
    spec.stderr_fd = fds[1];
    spec.keep_fd = -1;
    spec.cgroup_fds = cgs;
    spec.ncgroup_fds = 2;
    spec.nice = 10;
    spec.idle_io = true;
    spec.idle_cpu = true;
    cr_assert(eq(int, spawn_process(&spec, &pid, &err), 0), "%s", err.text);
    close(fds[1]);
    close(spec.stdin_fd);
    while ((n = read(fds[0], out + total, sizeof(out) - 1 - (size_t)total)) > 0)
        total += n;
    out[total] = '\0';
    close(fds[0]);
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    /* nice 10, policy 5 (SCHED_IDLE), I/O class idle */
    cr_assert(eq(str, out, "10\n5\nidle\n"));
    cr_assert(eq(int, (int)pread(cg, procs, sizeof(procs) - 1, 0), 2));
    cr_assert(eq(str, procs, "00"), "one \"0\" per cgroup file");
    close(cgs[0]);
    close(cgs[1]);
    close(cg);
    unlink(path);
}
