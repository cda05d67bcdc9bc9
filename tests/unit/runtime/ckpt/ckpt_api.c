/* SPDX-License-Identifier: MIT */
/* The public shoal_ckpt_* calls of one process (no MPI hooks linked). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/ckpt.h>

#include "tests/unit/runtime/ckpt/ckpt_fixture.h"

TestSuite(ckpt_api,
          .init = ckpt_fixture_setup,
          .fini = ckpt_fixture_teardown,
          .timeout = 30);

/* One version with file "state" holding text, through the API. */
static void save(int version, const char *text)
{
    const char *path;

    cr_assert(eq(int, shoal_ckpt_begin(version), 0));
    path = shoal_ckpt_route("state");
    cr_assert(path != NULL, "errno %d", errno);
    ckpt_write(path, text);
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
}

/* The same, expecting commit to return rc. */
static void save_expect(int version, int rc)
{
    const char *path;

    cr_assert(eq(int, shoal_ckpt_begin(version), 0));
    path = shoal_ckpt_route("state");
    cr_assert(path != NULL, "errno %d", errno);
    ckpt_write(path, "x");
    cr_assert(eq(int, shoal_ckpt_commit(1), rc), "version %d", version);
}

/* init, expecting a restore of version (0: none) */
static void init_expect(int version)
{
    int restarted = -1, got = -1;

    cr_assert(eq(int, shoal_ckpt_init(&restarted, &got), 0));
    cr_assert(eq(int, restarted, version > 0));
    cr_assert(eq(int, got, version));
}

static void set_mtime(const char *path, double offset)
{
    struct timespec now, times[2];

    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec += (time_t)offset;
    times[0] = times[1] = now;
    cr_assert(eq(int, utimensat(AT_FDCWD, path, times, 0), 0));
}

Test(ckpt_api, a_first_run_saves_and_the_next_run_restores)
{
    init_expect(0);
    errno = 0;
    cr_assert(shoal_ckpt_route("state") == NULL);
    cr_assert(eq(int, errno, ENOENT));
    save(1, "step 10\n");
    save(2, "step 20\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));

    init_expect(2);
    cr_assert(eq(str, (char *)ckpt_read(shoal_ckpt_route("state")), "step 20"));
    cr_assert(eq(str, (char *)shoal_ckpt_route("state"),
                 (char *)ckpt_at("v2/state")));
    save(3, "step 30\n");
    errno = 0;
    cr_assert(shoal_ckpt_route("state") == NULL);
    cr_assert(eq(int, errno, ENOENT));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, routes_stay_valid_until_the_version_ends)
{
    const char *a, *b;

    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    a = shoal_ckpt_route("a");
    b = shoal_ckpt_route("b");
    cr_assert(a != NULL && b != NULL);
    cr_assert(eq(str, (char *)a, (char *)ckpt_at("v1/a")));
    cr_assert(eq(str, (char *)b, (char *)ckpt_at("v1/b")));
    ckpt_write(a, "1");
    ckpt_write(b, "2");
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, calls_out_of_order_are_refused)
{
    int flag;

    errno = 0;
    cr_assert(shoal_ckpt_route("state") == NULL);
    cr_assert(eq(int, errno, EINVAL));
    cr_assert(eq(int, shoal_ckpt_begin(1), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_commit(1), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_need(&flag), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_should_exit(&flag), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_finalize(), -EINVAL));

    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_commit(1), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_commit(0), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_begin(0), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_need(NULL), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_begin(4), 0));
    cr_assert(eq(int, shoal_ckpt_begin(5), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
    cr_assert(eq(int, shoal_ckpt_commit(1), -EINVAL));
    /* not greater than the last committed */
    cr_assert(eq(int, shoal_ckpt_begin(4), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_begin(3), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    cr_assert(eq(int, shoal_ckpt_finalize(), -EINVAL));

    /* not greater than the restored one */
    init_expect(4);
    cr_assert(eq(int, shoal_ckpt_begin(4), -EINVAL));
    cr_assert(eq(int, shoal_ckpt_begin(5), 0));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, bad_names_are_refused)
{
    char name[300];
    const char *bad[] = {"", "a/b", ".x", "MANIFEST", "COMMITTED", "..", "/"};

    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        cr_assert(shoal_ckpt_route(bad[i]) == NULL, "'%s'", bad[i]);
        cr_assert(eq(int, errno, EINVAL), "'%s'", bad[i]);
    }
    errno = 0;
    cr_assert(shoal_ckpt_route(NULL) == NULL);
    cr_assert(eq(int, errno, EINVAL));
    memset(name, 'n', sizeof(name));
    name[256] = '\0';
    cr_assert(shoal_ckpt_route(name) == NULL);
    name[255] = '\0';
    cr_assert(shoal_ckpt_route(name) != NULL);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_corrupt_newest_version_falls_back_to_the_previous)
{
    init_expect(0);
    save(1, "one\n");
    save(2, "two\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    ckpt_flip(ckpt_at("v2/state"), 1);

    init_expect(1);
    cr_assert(eq(str, (char *)ckpt_read(shoal_ckpt_route("state")), "one"));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* left in place for inspection */
    cr_assert(ckpt_exists(ckpt_at("v2/COMMITTED")));
}

Test(ckpt_api, a_truncated_newest_version_falls_back_to_the_previous)
{
    init_expect(0);
    save(1, "one\n");
    save(2, "two\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    cr_assert(eq(int, truncate(ckpt_at("v2/state"), 1), 0));
    init_expect(1);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_restart_restores_exactly_the_version_named)
{
    int restarted = -1, version = -1;

    init_expect(0);
    save(1, "one\n");
    save(2, "two\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));

    setenv("SHOAL_CKPT_RESTART", "1", 1);
    setenv("SHOAL_CKPT_VERSION", "1", 1);
    init_expect(1);
    cr_assert(eq(str, (char *)ckpt_read(shoal_ckpt_route("state")), "one"));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));

    ckpt_flip(ckpt_at("v2/state"), 0);
    setenv("SHOAL_CKPT_VERSION", "2", 1);
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -EUCLEAN));
    cr_assert(eq(int, shoal_ckpt_begin(3), -EINVAL), "init failed: no session");
    cr_assert(eq(int, truncate(ckpt_at("v2/state"), 0), 0));
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -EUCLEAN));
    setenv("SHOAL_CKPT_VERSION", "3", 1);
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -ENOENT));
    setenv("SHOAL_CKPT_VERSION", "x", 1);
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -EINVAL));
    unsetenv("SHOAL_CKPT_VERSION");
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -EINVAL));
}

Test(ckpt_api, a_version_never_committed_is_not_restored)
{
    pid_t pid;
    int status;

    init_expect(0);
    save(1, "one\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* A process that dies between writing its files and committing. */
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (shoal_ckpt_init(NULL, NULL) != 0 || shoal_ckpt_begin(2) != 0)
            _exit(1);
        ckpt_write(shoal_ckpt_route("state"), "two\n");
        _exit(0);
    }
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    cr_assert(eq(int, status, 0));
    cr_assert(ckpt_exists(ckpt_at("v2/state")));
    init_expect(1);
    cr_assert(eq(str, (char *)ckpt_read(shoal_ckpt_route("state")), "one"));
    /* writing version 2 again clears the remnant */
    cr_assert(eq(int, shoal_ckpt_begin(2), 0));
    cr_assert(ckpt_exists(ckpt_at("v2/state")) == 0);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, commit_invalid_drops_the_version)
{
    init_expect(0);
    save(1, "one\n");
    cr_assert(eq(int, shoal_ckpt_begin(2), 0));
    ckpt_write(shoal_ckpt_route("state"), "half");
    cr_assert(eq(int, shoal_ckpt_commit(0), 0));
    cr_assert(ckpt_exists(ckpt_at("v2")) == 0);
    /* the number may be used again */
    save(2, "two\n");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    init_expect(2);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, finalize_drops_a_version_being_written)
{
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    cr_assert(ckpt_exists(ckpt_at("v1")) == 0);
}

Test(ckpt_api, commit_keeps_the_last_two_and_what_keep_names)
{
    init_expect(0);
    for (int i = 1; i <= 4; i++)
        save(i, "x");
    for (int i = 1; i <= 4; i++)
        cr_assert(eq(int, ckpt_exists(ckpt_at("v%d", i)), i >= 3), "v%d", i);
    ckpt_write(ckpt_at("KEEP"), "3\n");
    for (int i = 5; i <= 6; i++)
        save(i, "x");
    for (int i = 1; i <= 6; i++)
        cr_assert(eq(int, ckpt_exists(ckpt_at("v%d", i)), i >= 3), "v%d", i);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_request_file_drives_need_and_should_exit)
{
    int flag = -1;

    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 0));
    cr_assert(eq(int, shoal_ckpt_should_exit(&flag), 0));
    cr_assert(eq(int, flag, 0));

    ckpt_write(ckpt_at("REQUEST"), "checkpoint\n");
    set_mtime(ckpt_at("REQUEST"), -5);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 1), "no commit yet: any request counts");
    cr_assert(eq(int, shoal_ckpt_should_exit(&flag), 0));
    cr_assert(eq(int, flag, 0));

    save(1, "x");
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 0), "the request is older than the commit");

    ckpt_write(ckpt_at("REQUEST"), "exit\n");
    set_mtime(ckpt_at("REQUEST"), 5);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 1));
    cr_assert(eq(int, shoal_ckpt_should_exit(&flag), 0));
    cr_assert(eq(int, flag, 1));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, the_interval_drives_need)
{
    int flag = -1;

    setenv("SHOAL_CKPT_INTERVAL", "0.3", 1);
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 0));
    usleep(350 * 1000);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 1));
    save(1, "x");
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 0), "the interval restarts at a commit");
    usleep(350 * 1000);
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 1));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_malformed_interval_is_refused)
{
    const char *bad[] = {"0", "-1", "abc", "1s", "nan"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SHOAL_CKPT_INTERVAL", bad[i], 1);
        cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), -EINVAL), "'%s'",
                  bad[i]);
    }
}

Test(ckpt_api, outside_a_job_the_directory_follows_the_rank)
{
    char want[160];

    unsetenv("SHOAL_CKPT_DIR");
    unsetenv("PMI_RANK");
    unsetenv("PMIX_RANK");
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("SLURM_PROCID");
    cr_assert(eq(int, chdir(ckpt_tmp), 0));
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    snprintf(want, sizeof(want), "%s/shoal-ckpt/rank0/v1/s", ckpt_tmp);
    cr_assert(eq(str, (char *)shoal_ckpt_route("s"), want));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));

    setenv("SLURM_PROCID", "5", 1);
    setenv("OMPI_COMM_WORLD_RANK", "3", 1);
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    snprintf(want, sizeof(want), "%s/shoal-ckpt/rank3/v1/s", ckpt_tmp);
    cr_assert(eq(str, (char *)shoal_ckpt_route("s"), want));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));

    setenv("PMI_RANK", "1", 1);
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    snprintf(want, sizeof(want), "%s/shoal-ckpt/rank1/v1/s", ckpt_tmp);
    cr_assert(eq(str, (char *)shoal_ckpt_route("s"), want));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the runtime does for a task with --replicas, in a child process:
 * once version's COMMITTED marker exists, wait delay_ms (the copy), then
 * raise KEEP to it by a rename, as ckpt_store_keep_raise() does. */
static pid_t runtime_copies(int version, int delay_ms)
{
    pid_t pid = fork();

    cr_assert(pid >= 0);
    if (pid == 0) {
        char text[16];

        for (int i = 0;
             i < 20000 && !ckpt_exists(ckpt_at("v%d/COMMITTED", version)); i++)
            usleep(1000);
        usleep((useconds_t)delay_ms * 1000);
        snprintf(text, sizeof(text), "%d\n", version);
        ckpt_write(ckpt_at("KEEP.tmp"), text);
        _exit(rename(ckpt_at("KEEP.tmp"), ckpt_at("KEEP")) == 0 ? 0 : 1);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int status = 0;

    cr_assert(eq(int, (int)waitpid(pid, &status, 0), (int)pid));
    cr_assert(eq(int, status, 0));
}

Test(ckpt_api, a_durable_commit_returns_once_the_runtime_raised_keep)
{
    const char *path;
    double start, took;
    pid_t pid;

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    init_expect(0);
    pid = runtime_copies(1, 300);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    path = shoal_ckpt_route("state");
    cr_assert(path != NULL);
    ckpt_write(path, "x");
    start = mono_now();
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
    took = mono_now() - start;
    reap(pid);
    cr_assert(took >= 0.3, "commit returned after %.3f s, before KEEP", took);
    cr_assert(took < 10, "commit waited %.3f s for a KEEP written at 0.3 s",
              took);
    cr_assert(eq(str, (char *)ckpt_read(ckpt_at("KEEP")), "1"));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_durable_commit_not_copied_in_time_says_so_and_stays_local)
{
    double start, took;

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "0.3", 1);
    init_expect(0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    ckpt_write(shoal_ckpt_route("state"), "x");
    start = mono_now();
    cr_assert(eq(int, shoal_ckpt_commit(1), -ETIMEDOUT));
    took = mono_now() - start;
    cr_assert(took >= 0.3 && took < 10, "waited %.3f s", took);
    /* committed here all the same, and the session went on */
    cr_assert(ckpt_exists(ckpt_at("v1/COMMITTED")));
    save_expect(2, -ETIMEDOUT);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    init_expect(2);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, without_the_runtimes_word_commit_does_not_wait)
{
    double start;

    unsetenv("SHOAL_CKPT_DURABLE");
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    init_expect(0);
    start = mono_now();
    save(1, "x");
    cr_assert(mono_now() - start < 5);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* and a wait of 0 is none */
    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "0", 1);
    init_expect(1);
    save(2, "x");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_malformed_commit_wait_is_refused)
{
    const char *bad[] = {"-1", "abc", "1s", "nan"};

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SHOAL_CKPT_COMMIT_WAIT", bad[i], 1);
        cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), -EINVAL), "'%s'",
                  bad[i]);
    }
}

/* Retention while copies lag: the newest version with all its copies
 * (KEEP) stays until a newer one has them too, whatever was committed
 * since; a loss during a copy falls back to it. */
Test(ckpt_api, retention_keeps_the_newest_durable_version_until_a_newer_one_is)
{
    pid_t pid;

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "0.05", 1);
    init_expect(0);
    pid = runtime_copies(2, 0);
    save_expect(1, -ETIMEDOUT);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    init_expect(1);
    save(2, "x");
    reap(pid);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* copies of 3..6 never finish: 2 stays, with everything newer */
    setenv("SHOAL_CKPT_COMMIT_WAIT", "0.05", 1);
    init_expect(2);
    for (int i = 3; i <= 6; i++) {
        save_expect(i, -ETIMEDOUT);
        for (int k = 2; k <= i; k++)
            cr_assert(ckpt_exists(ckpt_at("v%d/COMMITTED", k)),
                      "v%d removed after v%d's commit", k, i);
    }
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* 7 gets its copies: 2 goes, the last two stay */
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    init_expect(6);
    pid = runtime_copies(7, 0);
    save(7, "x");
    reap(pid);
    for (int k = 1; k <= 7; k++)
        cr_assert(eq(int, ckpt_exists(ckpt_at("v%d", k)), k >= 6), "v%d", k);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_api, a_durable_commit_whose_copy_failed_returns_at_once)
{
    double start, took;
    pid_t pid;

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "30", 1);
    init_expect(0);
    /* the runtime's copy of version 1 fails after 0.2 s */
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 20000 && !ckpt_exists(ckpt_at("v1/COMMITTED")); i++)
            usleep(1000);
        usleep(200 * 1000);
        ckpt_write(ckpt_at("NOCOPY.tmp"), "1 no node to copy to\n");
        _exit(rename(ckpt_at("NOCOPY.tmp"), ckpt_at("NOCOPY")) == 0 ? 0 : 1);
    }
    start = mono_now();
    save_expect(1, -ETIMEDOUT);
    took = mono_now() - start;
    reap(pid);
    cr_assert(took < 15, "waited %.3f s of its 30 after the copy failed", took);
    cr_assert(ckpt_exists(ckpt_at("v1/COMMITTED")));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}
