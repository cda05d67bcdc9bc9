/* SPDX-License-Identifier: MIT */
/* Tests for runtime/ckpt/ckpt_catalog.c: a job's checkpoints forgotten
 * on a node, and the sweep of what nothing changed for too long. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_catalog.h"
#include "runtime/ckpt/ckpt_job.h"
#include "util/fs.h"

TestSuite(ckpt_catalog, .timeout = 30);

static char state[] = "/tmp/shoal-catalog.XXXXXX";

/* STATE/ROOT/JOB/rank0/v1/data, its times set to when (0: now). */
static void make_job(const char *root, const char *job, time_t when)
{
    char path[PATH_MAX];
    struct timespec t[2] = {{when, 0}, {when, 0}};
    int fd;

    snprintf(path, sizeof(path), "%s/%s/%s/rank0/v1", state, root, job);
    cr_assert(eq(int, fs_mkdir_p(path, 0700), 0));
    strcat(path, "/data");
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    cr_assert(ge(int, fd, 0));
    close(fd);
    if (when) {
        /* the file, then each directory up to the job's */
        for (int up = 0; up < 4; up++) {
            cr_assert(eq(int, utimensat(AT_FDCWD, path, t, 0), 0), "%s", path);
            *strrchr(path, '/') = '\0';
        }
    }
}

static bool exists(const char *root, const char *job)
{
    char path[PATH_MAX];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s/%s", state, root, job);
    return stat(path, &st) == 0;
}

Test(ckpt_catalog, forget_removes_both_places_and_only_that_job)
{
    struct ckpt_service svc = {.state = state};

    cr_assert(not(eq(ptr, mkdtemp(state), NULL)));
    make_job("ckpt", "job-a", 0);
    make_job("ckpt-jobs", "job-a", 0);
    make_job("ckpt", "job-b", 0);
    cr_assert(eq(int, ckpt_catalog_forget_job(&svc, "job-a"), 0));
    cr_assert(not(exists("ckpt", "job-a")));
    cr_assert(not(exists("ckpt-jobs", "job-a")));
    cr_assert(exists("ckpt", "job-b"));
    /* nothing there is not an error; a key that is not a job's is */
    cr_assert(eq(int, ckpt_catalog_forget_job(&svc, "job-a"), 0));
    cr_assert(eq(int, ckpt_catalog_forget_job(&svc, "job-b/rank0"), -EINVAL));
    cr_assert(eq(int, ckpt_catalog_forget_job(&svc, ".."), -EINVAL));
    cr_assert(eq(int, ckpt_catalog_forget_job(&svc, ""), -EINVAL));
    cr_assert(exists("ckpt", "job-b"));
    ckpt_job_remove(state);
}

Test(ckpt_catalog, the_sweep_takes_what_did_not_change_for_retain_seconds)
{
    struct ckpt_service svc = {.state = state};
    time_t now = time(NULL);

    cr_assert(not(eq(ptr, mkdtemp(state), NULL)));
    make_job("ckpt", "job-old", now - 20 * 86400);
    make_job("ckpt-jobs", "job-old", now - 20 * 86400);
    make_job("ckpt-jobs", "job-new", now - 3600);
    /* an old job one of whose files changed lately stays */
    make_job("ckpt", "job-touched", now - 20 * 86400);
    {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/ckpt/job-touched/rank0/v1/data",
                 state);
        cr_assert(eq(int, utimensat(AT_FDCWD, path, NULL, 0), 0));
    }
    cr_assert(eq(int, ckpt_catalog_sweep(&svc, 14 * 86400, (double)now), 2));
    cr_assert(not(exists("ckpt", "job-old")));
    cr_assert(not(exists("ckpt-jobs", "job-old")));
    cr_assert(exists("ckpt-jobs", "job-new"));
    cr_assert(exists("ckpt", "job-touched"));
    cr_assert(eq(int, ckpt_catalog_sweep(&svc, 14 * 86400, (double)now), 0));
    ckpt_job_remove(state);
}
