/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sodium.h>

#include "runtime/ckpt/ckpt_store.h"
#include "tests/unit/runtime/ckpt/ckpt_fixture.h"

static ckpt_store_t *store;

static void store_setup(void)
{
    ckpt_fixture_setup();
    cr_assert(eq(int, ckpt_store_create(ckpt_rdir, &store), 0));
}

static void store_teardown(void)
{
    ckpt_store_destroy(store);
    store = NULL;
    ckpt_fixture_teardown();
}

TestSuite(ckpt_store,
          .init = store_setup,
          .fini = store_teardown,
          .timeout = 30);

/* Write version v with files "a" and "b" (contents tagged with v) and
 * commit it. */
static void commit_version(int v)
{
    char text[32];

    cr_assert(eq(int, ckpt_store_begin(store, v), 0));
    snprintf(text, sizeof(text), "a of %d\n", v);
    ckpt_write(ckpt_at("v%d/a", v), text);
    snprintf(text, sizeof(text), "b of %d, longer\n", v);
    ckpt_write(ckpt_at("v%d/b", v), text);
    cr_assert(eq(int, ckpt_store_commit(store, v), 0));
}

static const char *hex_of(const char *text)
{
    static char hex[65];
    unsigned char h[32];

    crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text),
                       NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    return hex;
}

/* The whole of path. */
static const char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    cr_assert(f != NULL, "cannot read %s", path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(ckpt_store, names_follow_the_contract)
{
    char long_name[300];

    memset(long_name, 'x', sizeof(long_name));
    long_name[255] = '\0';
    cr_assert(eq(int, ckpt_name_check("state"), 0));
    cr_assert(eq(int, ckpt_name_check(long_name), 0));
    long_name[255] = 'x';
    long_name[256] = '\0';
    cr_assert(eq(int, ckpt_name_check(long_name), -EINVAL));
    const char *bad[] = {"",          ".hidden", "a/b",          "MANIFEST",
                         "COMMITTED", ".",       "..",           "x\ny",
                         "/abs",      "dir/",    ".MANIFEST.tmp"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(eq(int, ckpt_name_check(bad[i]), -EINVAL), "'%s'", bad[i]);
    cr_assert(eq(int, ckpt_name_check(NULL), -EINVAL));
}

Test(ckpt_store, commit_writes_a_sorted_manifest_that_verifies)
{
    char want[512];

    cr_assert(eq(int, ckpt_store_begin(store, 7), 0));
    ckpt_write(ckpt_at("v7/zeta"), "last\n");
    ckpt_write(ckpt_at("v7/alpha"), "first\n");
    ckpt_write(ckpt_at("v7/empty"), "");
    cr_assert(eq(int, ckpt_store_committed(store, 7), 0));
    cr_assert(eq(int, ckpt_store_commit(store, 7), 0));
    cr_assert(eq(int, ckpt_store_committed(store, 7), 1));
    cr_assert(eq(int, ckpt_exists(ckpt_at("v7/.MANIFEST.tmp")), 0));
    snprintf(want, sizeof(want), "shoal-ckpt 1\n%s 6 alpha\n",
             hex_of("first\n"));
    snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s 0 empty\n",
             hex_of(""));
    snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s 5 zeta\n",
             hex_of("last\n"));
    cr_assert(eq(str, (char *)slurp(ckpt_at("v7/MANIFEST")), want));
    cr_assert(eq(str, (char *)ckpt_read(ckpt_at("v7/COMMITTED")), ""));
    cr_assert(eq(int, ckpt_store_verify(store, 7), 0));
}

Test(ckpt_store, a_flipped_byte_is_refused)
{
    int v = -1;

    commit_version(1);
    commit_version(2);
    ckpt_flip(ckpt_at("v2/b"), 3);
    cr_assert(eq(int, ckpt_store_verify(store, 2), -EUCLEAN));
    cr_assert(eq(int, ckpt_store_verify(store, 1), 0));
    cr_assert(eq(int, ckpt_store_newest(store, 100, &v), 0));
    cr_assert(eq(int, v, 1));
    /* skipped, not removed */
    cr_assert(eq(int, ckpt_store_committed(store, 2), 1));
}

Test(ckpt_store, a_truncated_or_missing_file_is_refused)
{
    commit_version(1);
    cr_assert(eq(int, truncate(ckpt_at("v1/a"), 2), 0));
    cr_assert(eq(int, ckpt_store_verify(store, 1), -EUCLEAN));
    commit_version(2);
    cr_assert(eq(int, unlink(ckpt_at("v2/b")), 0));
    cr_assert(eq(int, ckpt_store_verify(store, 2), -EUCLEAN));
}

Test(ckpt_store, a_malformed_manifest_is_refused)
{
    const char *hex;
    char text[256];

    commit_version(1);
    hex = hex_of("a of 1\n");
    /* unsorted */
    snprintf(text, sizeof(text), "shoal-ckpt 1\n%s 7 b\n%s 7 a\n", hex, hex);
    ckpt_write(ckpt_at("v1/MANIFEST"), text);
    cr_assert(eq(int, ckpt_store_verify(store, 1), -EUCLEAN));
    /* wrong magic */
    snprintf(text, sizeof(text), "shoal-ckpt 2\n%s 7 a\n", hex);
    ckpt_write(ckpt_at("v1/MANIFEST"), text);
    cr_assert(eq(int, ckpt_store_verify(store, 1), -EUCLEAN));
    /* no MANIFEST at all */
    cr_assert(eq(int, unlink(ckpt_at("v1/MANIFEST")), 0));
    cr_assert(eq(int, ckpt_store_verify(store, 1), -EUCLEAN));
    /* the right one again */
    snprintf(text, sizeof(text), "shoal-ckpt 1\n%s 7 a\n", hex);
    ckpt_write(ckpt_at("v1/MANIFEST"), text);
    cr_assert(eq(int, ckpt_store_verify(store, 1), 0));
}

Test(ckpt_store, an_uncommitted_version_is_never_restored)
{
    int v = -1;

    commit_version(1);
    commit_version(2);
    cr_assert(eq(int, unlink(ckpt_at("v2/COMMITTED")), 0));
    cr_assert(eq(int, ckpt_store_verify(store, 2), -ENOENT));
    cr_assert(eq(int, ckpt_store_newest(store, 100, &v), 0));
    cr_assert(eq(int, v, 1));
}

Test(ckpt_store, a_crash_before_committed_leaves_the_previous_version)
{
    int v = -1;

    commit_version(1);
    /* Version 2 has every file and even its MANIFEST, as if the process
     * died just before COMMITTED. */
    cr_assert(eq(int, ckpt_store_begin(store, 2), 0));
    ckpt_write(ckpt_at("v2/a"), "new\n");
    cr_assert(eq(int, ckpt_store_commit(store, 2), 0));
    cr_assert(eq(int, unlink(ckpt_at("v2/COMMITTED")), 0));
    cr_assert(eq(int, ckpt_store_newest(store, 100, &v), 0));
    cr_assert(eq(int, v, 1));
    cr_assert(eq(int, ckpt_store_newest(store, 0, &v), 0));
    cr_assert(eq(int, v, 0));
}

Test(ckpt_store, retention_keeps_the_two_newest_committed)
{
    int *v = NULL;

    for (int i = 1; i <= 5; i++) {
        commit_version(i);
        cr_assert(eq(int, ckpt_store_prune(store, 0), 0));
    }
    cr_assert(eq(int, ckpt_store_list(store, &v), 2));
    cr_assert(eq(int, v[0], 4));
    cr_assert(eq(int, v[1], 5));
    free(v);
}

Test(ckpt_store, retention_removes_older_uncommitted_and_spares_newer)
{
    int *v = NULL;

    commit_version(2);
    cr_assert(eq(int, mkdir(ckpt_at("v1"), 0700), 0));
    commit_version(3);
    commit_version(4);
    cr_assert(eq(int, mkdir(ckpt_at("v9"), 0700), 0));
    cr_assert(eq(int, mkdir(ckpt_at("v8"), 0700), 0));
    cr_assert(eq(int, ckpt_store_prune(store, 8), 0));
    cr_assert(eq(int, ckpt_store_list(store, &v), 4));
    cr_assert(eq(int, v[0], 3));
    cr_assert(eq(int, v[1], 4));
    cr_assert(eq(int, v[2], 8));
    cr_assert(eq(int, v[3], 9));
    free(v);
}

Test(ckpt_store, retention_spares_what_keep_names_and_newer)
{
    int *v = NULL;

    ckpt_write(ckpt_at("KEEP"), "2\n");
    for (int i = 1; i <= 6; i++) {
        commit_version(i);
        cr_assert(eq(int, ckpt_store_prune(store, 0), 0));
    }
    cr_assert(eq(int, ckpt_store_list(store, &v), 5));
    for (int i = 0; i < 5; i++)
        cr_assert(eq(int, v[i], i + 2));
    free(v);
    /* KEEP moves on: the last two remain */
    ckpt_write(ckpt_at("KEEP"), "6");
    cr_assert(eq(int, ckpt_store_prune(store, 0), 0));
    cr_assert(eq(int, ckpt_store_list(store, &v), 2));
    cr_assert(eq(int, v[0], 5));
    cr_assert(eq(int, v[1], 6));
    free(v);
}

Test(ckpt_store, a_malformed_keep_prunes_nothing)
{
    int *v = NULL;

    for (int i = 1; i <= 3; i++)
        commit_version(i);
    ckpt_write(ckpt_at("KEEP"), "two\n");
    cr_assert(eq(int, ckpt_store_prune(store, 0), -EINVAL));
    cr_assert(eq(int, ckpt_store_list(store, &v), 3));
    free(v);
}

Test(ckpt_store, begin_replaces_a_stale_version_unless_keep_pins_it)
{
    commit_version(3);
    ckpt_write(ckpt_at("v3/stray"), "x");
    cr_assert(eq(int, ckpt_store_begin(store, 3), 0));
    cr_assert(eq(int, ckpt_exists(ckpt_at("v3/a")), 0));
    cr_assert(eq(int, ckpt_exists(ckpt_at("v3/stray")), 0));
    cr_assert(eq(int, ckpt_store_committed(store, 3), 0));
    commit_version(4);
    ckpt_write(ckpt_at("KEEP"), "4\n");
    cr_assert(eq(int, ckpt_store_begin(store, 4), -EEXIST));
    cr_assert(eq(int, ckpt_store_verify(store, 4), 0));
    cr_assert(eq(int, ckpt_store_begin(store, 0), -EINVAL));
}

Test(ckpt_store, commit_refuses_entries_that_are_not_plain_files)
{
    cr_assert(eq(int, ckpt_store_begin(store, 1), 0));
    ckpt_write(ckpt_at("v1/ok"), "x");
    cr_assert(eq(int, mkdir(ckpt_at("v1/sub"), 0700), 0));
    cr_assert(eq(int, ckpt_store_commit(store, 1), -EINVAL));
    cr_assert(eq(int, ckpt_store_committed(store, 1), 0));
    cr_assert(eq(int, ckpt_exists(ckpt_at("v1/MANIFEST")), 0));
    cr_assert(eq(int, ckpt_store_commit(store, 2), -ENOENT));
}

/* The contract for programs that do not link libshoal: files plus
 * COMMITTED; the runtime seals. */
Test(ckpt_store, seal_writes_the_manifest_of_a_program_committed_version)
{
    char want[256];

    cr_assert(eq(int, mkdir(ckpt_at("v5"), 0755), 0));
    ckpt_write(ckpt_at("v5/data"), "payload\n");
    cr_assert(eq(int, ckpt_store_seal(store, 5), -ENOENT));
    ckpt_write(ckpt_at("v5/COMMITTED"), "");
    cr_assert(eq(int, ckpt_store_verify(store, 5), -EUCLEAN));
    cr_assert(eq(int, ckpt_store_seal(store, 5), 0));
    snprintf(want, sizeof(want), "shoal-ckpt 1\n%s 8 data\n",
             hex_of("payload\n"));
    cr_assert(eq(str, (char *)slurp(ckpt_at("v5/MANIFEST")), want));
    cr_assert(eq(int, ckpt_store_verify(store, 5), 0));
    /* sealing again changes nothing, even if a file changed since */
    ckpt_write(ckpt_at("v5/data"), "changed\n");
    cr_assert(eq(int, ckpt_store_seal(store, 5), 0));
    cr_assert(eq(str, (char *)slurp(ckpt_at("v5/MANIFEST")), want));
    cr_assert(eq(int, ckpt_store_verify(store, 5), -EUCLEAN));
}

Test(ckpt_store, remove_takes_the_whole_version)
{
    commit_version(1);
    cr_assert(eq(int, mkdir(ckpt_at("v1/sub"), 0700), 0));
    ckpt_write(ckpt_at("v1/sub/x"), "x");
    cr_assert(eq(int, ckpt_store_remove(store, 1), 0));
    cr_assert(eq(int, ckpt_exists(ckpt_at("v1")), 0));
    cr_assert(eq(int, ckpt_store_remove(store, 1), 0));
}

Test(ckpt_store, list_ignores_what_is_not_a_version)
{
    int *v = NULL;

    commit_version(10);
    commit_version(2);
    cr_assert(eq(int, mkdir(ckpt_at("v01"), 0700), 0));
    cr_assert(eq(int, mkdir(ckpt_at("v0"), 0700), 0));
    cr_assert(eq(int, mkdir(ckpt_at("vx"), 0700), 0));
    cr_assert(eq(int, mkdir(ckpt_at("v99999999999"), 0700), 0));
    ckpt_write(ckpt_at("v3"), "a file");
    cr_assert(eq(int, ckpt_store_list(store, &v), 2));
    cr_assert(eq(int, v[0], 2));
    cr_assert(eq(int, v[1], 10));
    free(v);
}

Test(ckpt_store, request_reads_the_runtime_file)
{
    enum ckpt_request kind = CKPT_REQUEST_EXIT;
    struct timespec at;

    cr_assert(eq(int, ckpt_store_request(store, &kind, &at), 0));
    cr_assert(eq(int, kind, CKPT_REQUEST_NONE));
    ckpt_write(ckpt_at("REQUEST"), "checkpoint\n");
    cr_assert(eq(int, ckpt_store_request(store, &kind, &at), 0));
    cr_assert(eq(int, kind, CKPT_REQUEST_CHECKPOINT));
    ckpt_write(ckpt_at("REQUEST"), "exit\n");
    cr_assert(eq(int, ckpt_store_request(store, &kind, &at), 0));
    cr_assert(eq(int, kind, CKPT_REQUEST_EXIT));
}

Test(ckpt_store, a_relative_directory_is_made_absolute)
{
    ckpt_store_t *rel = NULL;
    char want[128];

    cr_assert(eq(int, chdir(ckpt_tmp), 0));
    cr_assert(eq(int, ckpt_store_create("here/rank2/", &rel), 0));
    snprintf(want, sizeof(want), "%s/here/rank2", ckpt_tmp);
    cr_assert(eq(str, (char *)ckpt_store_dir(rel), want));
    cr_assert(ckpt_exists(want));
    ckpt_store_destroy(rel);
    cr_assert(eq(int, ckpt_store_create("", &rel), -EINVAL));
}

/* The BLAKE2b-256 of text, as a receiver computes it while writing. */
static struct ckpt_hash hash_of(const char *text)
{
    struct ckpt_hash h = {.valid = true};

    crypto_generichash(h.bytes, sizeof(h.bytes), (const unsigned char *)text,
                       strlen(text), NULL, 0);
    return h;
}

Test(ckpt_store, check_hashed_trusts_known_hashes_and_reads_the_rest)
{
    struct ckpt_hash known[2] = {hash_of("a of 1\n"), {.valid = false}};

    commit_version(1);
    cr_expect(eq(int, ckpt_store_check_hashed(store, 1, known, 2, true), 0));
    /* a known hash that differs from the MANIFEST's */
    known[0] = hash_of("a of 2\n");
    cr_expect(
        eq(int, ckpt_store_check_hashed(store, 1, known, 2, true), -EUCLEAN));
    /* a file read again is still checked */
    known[0] = hash_of("a of 1\n");
    ckpt_flip(ckpt_at("v1/b"), 2);
    cr_expect(
        eq(int, ckpt_store_check_hashed(store, 1, known, 2, false), -EUCLEAN));
    /* the count must be the MANIFEST's */
    cr_expect(
        eq(int, ckpt_store_check_hashed(store, 1, known, 1, false), -EUCLEAN));
    cr_expect(
        eq(int, ckpt_store_check_hashed(store, 1, NULL, 0, false), -EUCLEAN));
}

Test(ckpt_store, check_hashed_still_checks_the_size)
{
    struct ckpt_hash known[2] = {hash_of("a of 1\n"), hash_of("b of 1, "
                                                              "longer\n")};

    commit_version(1);
    ckpt_write(ckpt_at("v1/a"), "a of 1\nmore\n");
    cr_expect(
        eq(int, ckpt_store_check_hashed(store, 1, known, 2, false), -EUCLEAN));
}

Test(ckpt_store, identity_changes_when_a_file_is_rewritten)
{
    unsigned char id1[CKPT_HASH_BYTES], id2[CKPT_HASH_BYTES];

    commit_version(1);
    cr_assert(eq(int, ckpt_store_identity(store, 1, id1), 0));
    cr_assert(eq(int, ckpt_store_identity(store, 1, id2), 0));
    cr_expect(eq(int, memcmp(id1, id2, sizeof(id1)), 0));
    /* a new inode of the same size and contents is another identity */
    cr_assert(eq(int, rename(ckpt_at("v1/a"), ckpt_at("v1/a.old")), 0));
    ckpt_write(ckpt_at("v1/a"), "a of 1\n");
    cr_assert(eq(int, ckpt_store_identity(store, 1, id2), 0));
    cr_expect(ne(int, memcmp(id1, id2, sizeof(id1)), 0));
    cr_assert(eq(int, unlink(ckpt_at("v1/b")), 0));
    cr_expect(eq(int, ckpt_store_identity(store, 1, id2), -EUCLEAN));
    cr_expect(eq(int, ckpt_store_identity(store, 9, id2), -ENOENT));
}

Test(ckpt_store, keep_raise_only_raises_and_replaces_a_malformed_keep)
{
    int keep = 0;
    struct stat st;

    cr_assert(eq(int, ckpt_store_keep_raise(store, 0), -EINVAL));
    cr_assert(eq(int, ckpt_store_keep_raise(store, 3), 0));
    cr_assert(eq(int, ckpt_store_keep(store, &keep), 0));
    cr_assert(eq(int, keep, 3));
    cr_assert(eq(int, stat(ckpt_at("KEEP"), &st), 0));
    cr_assert(eq(int, (int)(st.st_mode & 0444), 0444), "readable by all");
    cr_assert(eq(int, ckpt_store_keep_raise(store, 2), 0));
    cr_assert(eq(int, ckpt_store_keep(store, &keep), 0));
    cr_assert(eq(int, keep, 3), "never lowered");
    ckpt_write(ckpt_at("KEEP"), "two\n");
    cr_assert(eq(int, ckpt_store_keep_raise(store, 4), 0));
    cr_assert(eq(int, ckpt_store_keep(store, &keep), 0));
    cr_assert(eq(int, keep, 4));
    cr_assert(ckpt_exists(ckpt_at("KEEP.tmp")) == 0);
}

Test(ckpt_store, keep_wait_returns_when_keep_reaches_the_version)
{
    struct timespec a, b;
    pid_t pid;
    int status = 0;

    cr_assert(eq(int, ckpt_store_keep_wait(store, 1, 0.1), -ETIMEDOUT));
    cr_assert(eq(int, ckpt_store_keep_raise(store, 2), 0));
    cr_assert(eq(int, ckpt_store_keep_wait(store, 2, 0), 0), "already");
    cr_assert(eq(int, ckpt_store_keep_wait(store, 1, 0), 0));
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        usleep(200 * 1000);
        _exit(ckpt_store_keep_raise(store, 5) == 0 ? 0 : 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert(eq(int, ckpt_store_keep_wait(store, 5, 20), 0));
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert(eq(int, (int)waitpid(pid, &status, 0), (int)pid));
    cr_assert(eq(int, status, 0));
    double took =
        (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    cr_assert(took < 10, "waited %.3f s for a KEEP raised at 0.2 s", took);
}

Test(ckpt_store, nocopy_ends_a_wait_for_its_version_and_older_ones)
{
    int v = -1;

    cr_assert(eq(int, ckpt_store_nocopy(store, &v), 0));
    cr_assert(eq(int, v, 0));
    cr_assert(eq(int, ckpt_store_nocopy_write(store, 4, "no partner"), 0));
    cr_assert(eq(int, ckpt_store_nocopy(store, &v), 0));
    cr_assert(eq(int, v, 4));
    cr_assert(eq(str, (char *)ckpt_read(ckpt_at("NOCOPY")), "4 no partner"));
    cr_assert(eq(int, ckpt_store_keep_wait(store, 3, 20), -EHOSTUNREACH));
    cr_assert(eq(int, ckpt_store_keep_wait(store, 4, 20), -EHOSTUNREACH));
    cr_assert(eq(int, ckpt_store_keep_wait(store, 5, 0.1), -ETIMEDOUT));
    cr_assert(eq(int, ckpt_store_keep_raise(store, 4), 0));
    cr_assert(eq(int, ckpt_store_keep_wait(store, 4, 20), 0), "KEEP first");
    cr_assert(eq(int, ckpt_store_nocopy_write(store, 0, NULL), 0));
    cr_assert(ckpt_exists(ckpt_at("NOCOPY")) == 0);
}

Test(ckpt_store, notes_are_replaced_whole_and_readable_by_all)
{
    const char *names[] = {"KEEP", "NOCOPY", "COST"};
    mode_t old = umask(077);
    double cost = -1;
    struct stat st;

    /* readable by all whatever the writer's umask: the task may run as
     * another user */
    cr_assert(eq(int, ckpt_store_keep_raise(store, 2), 0));
    cr_assert(eq(int, ckpt_store_nocopy_write(store, 3, "gone"), 0));
    cr_assert(eq(int, ckpt_store_cost_write(store, 1.5), 0));
    cr_assert(eq(int, ckpt_store_cost_write(store, 2.25), 0));
    umask(old);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char tmp[32];

        cr_assert(eq(int, stat(ckpt_at("%s", names[i]), &st), 0));
        cr_expect(eq(int, (int)(st.st_mode & 0777), 0644), "%s mode %o",
                  names[i], (unsigned)(st.st_mode & 0777));
        snprintf(tmp, sizeof(tmp), "%s.tmp", names[i]);
        cr_expect(ckpt_exists(ckpt_at("%s", tmp)) == 0, "%s left", tmp);
    }
    cr_assert(eq(str, (char *)ckpt_read(ckpt_at("KEEP")), "2"));
    cr_assert(eq(str, (char *)ckpt_read(ckpt_at("COST")), "2.250000"));
    cr_assert(eq(int, ckpt_store_cost(store, &cost), 0));
    cr_assert(eq(dbl, cost, 2.25));
    cr_assert(eq(int, ckpt_store_cost_write(store, -1), -EINVAL));
}
