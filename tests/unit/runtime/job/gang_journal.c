/* SPDX-License-Identifier: MIT */
/* Tests for runtime/job/gang_journal.c */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/gang_journal.h"

static char gj_dir[64];
static char gj_path[128];

static void gj_setup(void)
{
    strcpy(gj_dir, "/tmp/shoal-gang-journal-XXXXXX");
    cr_assert(mkdtemp(gj_dir) != NULL);
    snprintf(gj_path, sizeof(gj_path), "%s/gang-jobs.db", gj_dir);
}

static void gj_teardown(void)
{
    char cmd[200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", gj_dir);
    cr_assert(eq(int, system(cmd), 0));
}

TestSuite(gang_journal, .init = gj_setup, .fini = gj_teardown, .timeout = 30);

static struct gang_journal_run gj_run_of(const char *key, int nranks, int run)
{
    return (struct gang_journal_run){
        .key = key,
        .uid = 1000,
        .spec = "{\"args\":[\"-n\",\"2\",\"./a\"]}",
        .nranks = nranks,
        .replicas = 1,
        .run = run,
        .restarts = run,
        .pid = 4242,
        .pid_start = 77,
        .now = 1000.0 + run,
    };
}

Test(gang_journal, a_job_and_its_copies_survive_a_reopen)
{
    struct gang_journal_run run = gj_run_of("job-a", 2, 0);
    struct gang_journal_job job;
    uint64_t a[] = {0x11, 0x22}, b[] = {0x33, 0x11};
    gang_journal_t *j;
    shoal_error_t error;
    struct stat sb;

    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, stat(gj_path, &sb), 0));
    cr_assert(eq(int, (int)(sb.st_mode & 0777), 0600),
              "the journal is its owner's alone: mode %o", sb.st_mode & 0777);
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, gang_journal_place(j, "job-a", "{\"nodes\":[]}", 2), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-a", 0, 1, a, 2), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-a", 1, 1, b, 2), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-a", 0, 2, a, 1), 0));
    /* the same version again (after a restore) merges its holders */
    cr_assert(eq(int, gang_journal_add_copy(j, "job-a", 1, 1, a, 2), 0));
    gang_journal_close(j);

    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, gang_journal_get(j, "job-a", &job), 0));
    cr_assert(eq(str, job.key, "job-a"));
    cr_assert(eq(str, job.spec, (char *)run.spec));
    cr_assert(eq(str, job.placement, "{\"nodes\":[]}"));
    cr_assert(eq(int, job.nranks, 2));
    cr_assert(eq(int, job.replicas, 1));
    cr_assert(eq(i64, job.pid, 4242));
    cr_assert(eq(u64, job.pid_start, 77));
    cr_assert(eq(int, (int)job.state, GANG_JOURNAL_RUNNING));
    cr_assert(eq(sz, job.ncopies, 3));
    /* rank 1, version 1: 0x33, 0x11, then 0x22 merged in */
    cr_assert(eq(int, job.copies[2].rank, 1));
    cr_assert(eq(int, job.copies[2].nnodes, 3), "holders %d",
              job.copies[2].nnodes);
    cr_assert(eq(u64, job.copies[2].nodes[0], 0x33));
    cr_assert(eq(u64, job.copies[2].nodes[2], 0x22));
    cr_assert(eq(int, gang_journal_version(&job), 1),
              "version 2 is on rank 0 only");
    gang_journal_job_release(&job);
    gang_journal_close(j);
}

Test(gang_journal, keep_forgets_what_the_nodes_removed)
{
    struct gang_journal_run run = gj_run_of("job-k", 1, 0);
    struct gang_journal_job job;
    uint64_t a[] = {0x11};
    gang_journal_t *j;
    shoal_error_t error;

    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0));
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0));
    for (int v = 1; v <= 4; v++)
        cr_assert(eq(int, gang_journal_add_copy(j, "job-k", 0, v, a, 1), 0));
    cr_assert(eq(int, gang_journal_keep(j, "job-k", 2), 0));
    cr_assert(eq(int, gang_journal_keep(j, "job-k", 4), 0));
    /* older than the version pinned before: removed by the proxies */
    cr_assert(eq(int, gang_journal_get(j, "job-k", &job), 0));
    cr_assert(eq(sz, job.ncopies, 3), "versions 2, 3, 4 stay: %zu",
              job.ncopies);
    cr_assert(eq(int, job.copies[0].version, 2));
    cr_assert(eq(int, job.kept, 4));
    gang_journal_job_release(&job);
    /* a late report of a removed version is not added back; an older pin
     * changes nothing */
    cr_assert(eq(int, gang_journal_keep(j, "job-k", 3), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-k", 0, 1, a, 1), 0));
    cr_assert(eq(int, gang_journal_keep(j, "job-k", 5), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-k", &job), 0));
    cr_assert(eq(sz, job.ncopies, 1), "only version 4: %zu", job.ncopies);
    cr_assert(eq(int, job.copies[0].version, 4));
    cr_assert(eq(int, gang_journal_version(&job), 4));
    gang_journal_job_release(&job);
    /* a version that turned out lost */
    cr_assert(eq(int, gang_journal_drop(j, "job-k", 0, 4), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-k", &job), 0));
    cr_assert(eq(int, gang_journal_version(&job), 0));
    gang_journal_job_release(&job);
    gang_journal_close(j);
}

Test(gang_journal, a_new_run_updates_the_job_and_its_end_decides)
{
    struct gang_journal_run run = gj_run_of("job-r", 2, 0);
    struct gang_journal_job job;
    uint64_t a[] = {0x11};
    gang_journal_t *j;
    shoal_error_t error;
    char **keys;
    size_t n;

    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0));
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0));
    cr_assert(eq(int, gang_journal_place(j, "job-r", "{}", 0), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-r", 1, 3, a, 1), 0));
    cr_assert(eq(int, gang_journal_end(j, "job-r", 137), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-r", &job), 0));
    cr_assert(eq(int, (int)job.state, GANG_JOURNAL_FAILED));
    cr_assert(eq(int, job.status, 137));
    cr_assert(eq(i64, job.pid, 0), "a failed job has no coordinator");
    gang_journal_job_release(&job);
    /* resumed: run 1 by another process; the copies stay */
    run = gj_run_of("job-r", 2, 1);
    run.pid = 5151;
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-r", &job), 0));
    cr_assert(eq(int, (int)job.state, GANG_JOURNAL_RUNNING));
    cr_assert(eq(int, job.run, 1));
    cr_assert(eq(i64, job.pid, 5151));
    cr_assert(job.placement == NULL, "a new run is not placed yet");
    cr_assert(eq(sz, job.ncopies, 1));
    gang_journal_job_release(&job);
    /* another user's job of the same key is refused */
    run.uid = 1001;
    cr_assert(eq(int, gang_journal_start(j, &run, &error), -EPERM));
    cr_assert(strstr(error.text, "job-r") != NULL, "%s", error.text);
    cr_assert(eq(int, gang_journal_keys(j, &keys, &n), 0));
    cr_assert(eq(sz, n, 1));
    cr_assert(eq(str, keys[0], "job-r"));
    free(keys[0]);
    free(keys);
    /* ended well: gone with its copies */
    cr_assert(eq(int, gang_journal_end(j, "job-r", 0), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-r", &job), -ENOENT));
    cr_assert(eq(int, gang_journal_end(j, "job-r", 1), -ENOENT));
    cr_assert(eq(int, gang_journal_keys(j, &keys, &n), 0));
    cr_assert(eq(sz, n, 0));
    free(keys);
    gang_journal_close(j);
}

Test(gang_journal, bad_input_is_refused)
{
    struct gang_journal_run run = gj_run_of("job-b", 2, 0);
    uint64_t a[] = {0x11};
    gang_journal_t *j;
    shoal_error_t error;

    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-b", 0, 1, a, 1), -ENOENT),
              "no such job yet");
    run.nranks = -1;
    cr_assert(eq(int, gang_journal_start(j, &run, &error), -EINVAL));
    run.nranks = 2;
    run.key = "";
    cr_assert(eq(int, gang_journal_start(j, &run, &error), -EINVAL));
    run.key = "job-b";
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0));
    cr_assert(eq(int, gang_journal_add_copy(j, "job-b", 2, 1, a, 1), -EINVAL),
              "rank out of range");
    cr_assert(eq(int, gang_journal_add_copy(j, "job-b", 0, 0, a, 1), -EINVAL),
              "version 0");
    cr_assert(eq(int, gang_journal_add_copy(j, "job-b", 0, 1, a, 0), -EINVAL),
              "no nodes");
    cr_assert(eq(int, gang_journal_place(j, "job-x", "{}", 1), -ENOENT));
    gang_journal_close(j);
}

Test(gang_journal, a_damaged_file_is_refused_as_it_is)
{
    gang_journal_t *j = NULL;
    shoal_error_t error;
    char junk[8192];
    int fd = open(gj_path, O_WRONLY | O_CREAT, 0600);

    cr_assert(fd >= 0);
    memset(junk, 'x', sizeof(junk));
    memcpy(junk, "SQLite format 3", 16);
    cr_assert(eq(int, (int)write(fd, junk, sizeof(junk)), (int)sizeof(junk)));
    close(fd);
    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), -EUCLEAN));
    cr_assert(j == NULL);
    cr_assert(strstr(error.text, "damaged") != NULL, "%s", error.text);
}

Test(gang_journal, a_count_of_ranks_learnt_at_placement_stays)
{
    struct gang_journal_run run = gj_run_of("job-n", 1, 0);
    struct gang_journal_job job;
    gang_journal_t *j;
    shoal_error_t error;

    run.nranks = 0; /* one rank per slot: known once placed */
    cr_assert(eq(int, gang_journal_open(gj_path, &j, &error), 0));
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, gang_journal_place(j, "job-n", "{}", 3), 0));
    run.run = 1; /* the next run does not know it either */
    cr_assert(eq(int, gang_journal_start(j, &run, &error), 0));
    cr_assert(eq(int, gang_journal_place(j, "job-n", "{}", 0), 0));
    cr_assert(eq(int, gang_journal_get(j, "job-n", &job), 0));
    cr_assert(eq(int, job.nranks, 3));
    cr_assert(eq(int, job.run, 1));
    gang_journal_job_release(&job);
    gang_journal_close(j);
}
