/* SPDX-License-Identifier: MIT */
/* owner_procs.c - finding, stopping and continuing the processes under a
 * root, and asking their checkpoint directories to exit. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_procs.h"

TestSuite(owner_procs, .timeout = 10);

/* A child that sleeps in its own process group with a grandchild, both
 * with SHOAL_CKPT_DIR=dir when dir is given; returns the child. */
static pid_t family(const char *dir)
{
    pid_t pid = fork();

    if (pid == 0) {
        setpgid(0, 0);
        if (dir) {
            char *env[] = {NULL, NULL};
            char var[PATH_MAX + 20];
            snprintf(var, sizeof(var), "SHOAL_CKPT_DIR=%s", dir);
            env[0] = var;
            execle("/bin/sh", "sh", "-c", "sleep 30 & wait", (char *)NULL, env);
        }
        execl("/bin/sh", "sh", "-c", "sleep 30 & wait", (char *)NULL);
        _exit(127);
    }
    usleep(200000);
    return pid;
}

/* The state of pid ('T' stopped, 'S' sleeping, ...). */
static char state_of(pid_t pid)
{
    struct owner_proc *p;
    size_t n;
    char s = '?';

    cr_assert(eq(int, owner_procs_list(getpid(), &p, &n), 0));
    for (size_t i = 0; i < n; i++)
        if (p[i].pid == pid)
            s = p[i].state;
    free(p);
    return s;
}

static void end(pid_t pid)
{
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

Test(owner_procs, lists_children_and_grandchildren)
{
    pid_t f = family(NULL);
    struct owner_proc *p;
    size_t n;
    cr_assert(eq(int, owner_procs_list(getpid(), &p, &n), 0));
    free(p);
    end(f);
    cr_assert(ge(sz, n, 2), "%zu processes", n);
}

Test(owner_procs, stops_every_process_then_continues_them)
{
    pid_t f = family(NULL);
    cr_assert(ge(int, owner_procs_signal(getpid(), SIGSTOP, 'T'), 2));
    usleep(100000);
    cr_assert(eq(chr, state_of(f), 'T'));
    owner_procs_signal(getpid(), SIGCONT, 0);
    usleep(100000);
    cr_assert(eq(chr, state_of(f), 'S'));
    end(f);
}

Test(owner_procs, writes_exit_into_each_checkpoint_directory_once)
{
    char dir[] = "/tmp/owner-procs.XXXXXX", path[64], buf[16] = "";
    int fd;
    pid_t f = family(mkdtemp(dir));
    cr_assert(eq(int, owner_procs_request_ckpt(getpid(), "exit"), 1));
    end(f);
    snprintf(path, sizeof(path), "%s/REQUEST", dir);
    fd = open(path, O_RDONLY);
    cr_assert(eq(int, (int)read(fd, buf, sizeof(buf)), 4));
    close(fd);
    unlink(path);
    rmdir(dir);
    cr_assert(eq(str, buf, "exit"));
}
