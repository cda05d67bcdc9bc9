/* SPDX-License-Identifier: MIT */
/* Unit tests of util/fs.c: mkdir -p, removing a tree without following
 * its links, and sweeping the scratch directories of processes that are
 * gone (and only those). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/fs.h"

TestSuite(fs, .timeout = 10);

static char top[64];

static void fs_setup(void)
{
    snprintf(top, sizeof(top), "/tmp/shoal-fs-test.XXXXXX");
    cr_assert(not(eq(ptr, mkdtemp(top), NULL)));
}

static void fs_teardown(void)
{
    fs_remove_tree(top);
}

/* Make top/name, a directory holding a file and a subdirectory. */
static void make_scratch(const char *name)
{
    char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s/sub", top, name);
    cr_assert(eq(int, fs_mkdir_p(path, 0700), 0));
    snprintf(path, sizeof(path), "%s/%s/file", top, name);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    cr_assert(ge(int, fd, 0));
    close(fd);
}

static bool exists(const char *name)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", top, name);
    return lstat(path, &st) == 0;
}

/* A pid no process has: a child's, once it is reaped. */
static long gone_pid(void)
{
    pid_t pid = fork();

    cr_assert(ge(int, pid, 0));
    if (pid == 0)
        _exit(0);
    cr_assert(eq(int, waitpid(pid, NULL, 0), pid));
    return (long)pid;
}

Test(fs,
     mkdir_p_makes_parents_and_refuses_a_file_in_the_way,
     .init = fs_setup,
     .fini = fs_teardown)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/a/b/c", top);
    cr_assert(eq(int, fs_mkdir_p(path, 0700), 0));
    cr_assert(eq(int, fs_mkdir_p(path, 0700), 0), "it exists: fine");
    make_scratch("f");
    snprintf(path, sizeof(path), "%s/f/file/x", top);
    cr_assert(eq(int, fs_mkdir_p(path, 0700), -1));
    cr_assert(eq(int, errno, ENOTDIR));
}

Test(fs,
     remove_tree_removes_a_link_not_what_it_points_to,
     .init = fs_setup,
     .fini = fs_teardown)
{
    char path[256], target[256];

    make_scratch("kept");
    make_scratch("gone");
    snprintf(target, sizeof(target), "%s/kept", top);
    snprintf(path, sizeof(path), "%s/gone/sub/link", top);
    cr_assert(eq(int, symlink(target, path), 0));
    snprintf(path, sizeof(path), "%s/gone", top);
    fs_remove_tree(path);
    cr_assert(not(exists("gone")));
    cr_assert(exists("kept/file"));
}

Test(fs,
     sweep_removes_only_directories_of_processes_that_are_gone,
     .init = fs_setup,
     .fini = fs_teardown)
{
    char dead[64], dead_x[64], live[64], mine[64], file[64], other[64];
    char path[256];
    long pid = gone_pid();
    int fd;

    snprintf(dead, sizeof(dead), "scratch.%ld", pid);
    snprintf(dead_x, sizeof(dead_x), "scratch.%ld.Ab12Cd", pid);
    snprintf(live, sizeof(live), "scratch.%ld.x", (long)getppid());
    snprintf(mine, sizeof(mine), "scratch.%ld", (long)getpid());
    snprintf(file, sizeof(file), "scratch.%ld.file", pid);
    snprintf(other, sizeof(other), "other.%ld", pid);
    make_scratch(dead);
    make_scratch(dead_x);
    make_scratch(live);
    make_scratch(mine);
    make_scratch(other);
    make_scratch("scratch.12x");
    make_scratch("scratch.");
    snprintf(path, sizeof(path), "%s/%s", top, file);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    cr_assert(ge(int, fd, 0));
    close(fd);

    fs_sweep_orphans(top, "scratch.");
    cr_assert(not(exists(dead)));
    cr_assert(not(exists(dead_x)));
    cr_assert(exists(live), "its process lives");
    cr_assert(exists(mine), "the caller's own");
    cr_assert(exists(file), "not a directory");
    cr_assert(exists(other), "another prefix");
    cr_assert(exists("scratch.12x"), "not a pid");
    cr_assert(exists("scratch."), "no pid");
}
