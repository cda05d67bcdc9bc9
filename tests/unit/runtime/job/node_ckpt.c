/* SPDX-License-Identifier: MIT */
/* Tests for runtime/job/node_ckpt.c: the parts that need no daemon (the
 * node's directories, restoring from a copy this node holds, pinning). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_job.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/job/node_ckpt.h"
#include "util/nodeid.h"

static char state[] = "/tmp/node_ckpt.XXXXXX";

static void setup(void)
{
    cr_assert(mkdtemp(state) != NULL);
    setenv("SHOAL_DIR", state, 1);
}

static void teardown(void)
{
    ckpt_job_remove(state);
}

static void copied(
    int rank, int version, const uint64_t *nodes, int n, double cost, void *arg)
{
    (void)rank, (void)version, (void)nodes, (void)n, (void)cost, (void)arg;
}

/* Commit version of the store at rdir with one file holding text. */
static void commit(const char *rdir, int version, const char *text)
{
    ckpt_store_t *s;
    char path[4096];
    FILE *f;

    cr_assert(eq(int, ckpt_store_create(rdir, &s), 0));
    cr_assert(eq(int, ckpt_store_begin(s, version), 0));
    cr_assert(
        eq(int, ckpt_store_path(s, version, "count", path, sizeof(path)), 0));
    f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs(text, f);
    fclose(f);
    cr_assert(eq(int, ckpt_store_commit(s, version), 0));
    ckpt_store_destroy(s);
}

static int committed(const char *rdir, int version)
{
    ckpt_store_t *s;
    int rc;

    cr_assert(eq(int, ckpt_store_create(rdir, &s), 0));
    rc = ckpt_store_verify(s, version) == 0;
    ckpt_store_destroy(s);
    return rc;
}

Test(node_ckpt, a_shared_root_is_left_alone, .init = setup, .fini = teardown)
{
    char *env[] = {strdup("SHOAL_CKPT_ROOT=/shared/ck/run0"), NULL};
    int ranks[] = {0};
    struct node_ckpt_config config = {
        .ranks = ranks, .nranks = 1, .copied = copied};
    node_ckpt_t *nc = (node_ckpt_t *)&config;

    cr_assert(eq(int, node_ckpt_create(&config, env, 1, &nc, NULL), 0));
    cr_assert(nc == NULL);
    cr_assert(eq(str, env[0], "SHOAL_CKPT_ROOT=/shared/ck/run0"));
    free(env[0]);
}

Test(node_ckpt, a_bad_root_is_refused, .init = setup, .fini = teardown)
{
    char *env[] = {strdup("SHOAL_CKPT_ROOT=@state/../x/run0"), NULL};
    int ranks[] = {0};
    struct node_ckpt_config config = {
        .ranks = ranks, .nranks = 1, .copied = copied};
    shoal_error_t error;
    node_ckpt_t *nc;

    cr_assert(lt(int, node_ckpt_create(&config, env, 1, &nc, &error), 0));
    cr_assert(strstr(error.text, "bad checkpoint root") != NULL, "%s",
              error.text);
    free(env[0]);
}

Test(node_ckpt,
     restores_from_a_copy_here_and_says_what_is_lost,
     .init = setup,
     .fini = teardown)
{
    char *env[] = {strdup("PATH=/bin"),
                   strdup("SHOAL_CKPT_ROOT=@state/job-t/run1"),
                   strdup("SHOAL_CKPT_REPLICAS=1"), NULL};
    int ranks[] = {3};
    struct node_ckpt_config config = {
        .ranks = ranks, .nranks = 1, .copied = copied};
    char want[4200], dir[4200], pub[4200], old[4200];
    struct job_launch_restore k = {.rank = 3, .version = 5, .nnodes = 1};
    shoal_error_t error;
    uint64_t self;
    node_ckpt_t *nc;
    struct stat st;

    cr_assert(eq(int, nodeid_load(state, &self, NULL), 0));
    k.nodes = &self;
    /* the copy this node keeps of rank 3, and a run before this one */
    snprintf(pub, sizeof(pub), "%s/ckpt/job-t/rank3", state);
    commit(pub, 5, "5\n");
    snprintf(old, sizeof(old), "%s/ckpt-jobs/job-t/run0/rank3", state);
    commit(old, 4, "4\n");

    cr_assert(eq(int, node_ckpt_create(&config, env, 3, &nc, &error), 0), "%s",
              error.text);
    cr_assert(nc != NULL);
    snprintf(want, sizeof(want), "SHOAL_CKPT_ROOT=%s/ckpt-jobs/job-t/run1",
             state);
    cr_assert(eq(str, env[1], want));
    snprintf(dir, sizeof(dir), "%s/ckpt-jobs/job-t/run1/rank3", state);

    cr_assert(eq(int, node_ckpt_restore(nc, &k, 1, &error), 0), "%s",
              error.text);
    cr_assert(committed(dir, 5), "version 5 is linked in, whole");
    cr_assert(lt(int, stat(old, &st), 0), "run0's directory is gone");

    /* a version no other node holds */
    k.version = 9;
    cr_assert(eq(int, node_ckpt_restore(nc, &k, 1, &error), -ENODATA));
    cr_assert(strstr(error.text, "version 9 of rank 3 is lost with nodes")
                  != NULL,
              "%s", error.text);

    /* pinning: the job's version before the last one stays */
    commit(dir, 6, "6\n");
    commit(dir, 7, "7\n");
    node_ckpt_keep(nc, 6);
    node_ckpt_keep(nc, 7);
    cr_assert(eq(int, committed(dir, 5), 0),
              "older than the version before: gone");
    cr_assert(eq(int, committed(pub, 5), 0), "its copy here too");
    cr_assert(committed(dir, 6));
    cr_assert(committed(dir, 7));
    node_ckpt_destroy(nc);
    for (int i = 0; env[i]; i++)
        free(env[i]);
}
