/* SPDX-License-Identifier: MIT */
/* The shoal_ckpt_* calls with shoal's MPI hooks present: this program
 * defines them, playing a second rank whose answers each test scripts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/ckpt.h>

#include "tests/unit/runtime/ckpt/ckpt_fixture.h"

/* The other rank's flags, one per agreement, in order; after the script
 * it offers 0. */
static int other[16];
static int nother, calls;
static int agree_rc, quiesce_rc, quiesces;

int shoal_mpi_ckpt_agree(int *flag);
int shoal_mpi_ckpt_quiesce(void);

int shoal_mpi_ckpt_agree(int *flag)
{
    int theirs = calls < nother ? other[calls] : 0;

    calls++;
    if (agree_rc)
        return agree_rc;
    if (theirs > *flag)
        *flag = theirs;
    return 0;
}

int shoal_mpi_ckpt_quiesce(void)
{
    quiesces++;
    return quiesce_rc;
}

static void script(int n, const int *flags)
{
    memcpy(other, flags, n * sizeof(*flags));
    nother = n;
    calls = 0;
}

static void agree_setup(void)
{
    ckpt_fixture_setup();
    nother = calls = agree_rc = quiesce_rc = quiesces = 0;
}

TestSuite(ckpt_agree,
          .init = agree_setup,
          .fini = ckpt_fixture_teardown,
          .timeout = 30);

static void save(int version)
{
    cr_assert(eq(int, shoal_ckpt_begin(version), 0));
    ckpt_write(shoal_ckpt_route("state"), "x");
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
}

Test(ckpt_agree, begin_quiesces_and_returns_ebusy_untouched)
{
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    quiesce_rc = -EBUSY;
    cr_assert(eq(int, shoal_ckpt_begin(1), -EBUSY));
    cr_assert(eq(int, quiesces, 1));
    cr_assert(ckpt_exists(ckpt_at("v1")) == 0);
    cr_assert(eq(int, shoal_ckpt_commit(1), -EINVAL), "nothing was begun");
    quiesce_rc = -ENOTCONN;
    cr_assert(eq(int, shoal_ckpt_begin(1), 0), "no MPI: act alone");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, another_rank_invalid_drops_the_version_everywhere)
{
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    save(1);
    cr_assert(eq(int, shoal_ckpt_begin(2), 0));
    ckpt_write(shoal_ckpt_route("state"), "x");
    script(1, (int[]){1});
    cr_assert(eq(int, shoal_ckpt_commit(1), -ECANCELED));
    cr_assert(ckpt_exists(ckpt_at("v2")) == 0);
    cr_assert(ckpt_exists(ckpt_at("v1/COMMITTED")));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, another_rank_failing_to_begin_fails_begin)
{
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    script(1, (int[]){1});
    cr_assert(eq(int, shoal_ckpt_begin(1), -ECANCELED));
    cr_assert(ckpt_exists(ckpt_at("v1")) == 0);
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, need_and_should_exit_take_the_maximum)
{
    int flag = -1;

    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    script(2, (int[]){1, 1});
    cr_assert(eq(int, shoal_ckpt_need(&flag), 0));
    cr_assert(eq(int, flag, 1));
    cr_assert(eq(int, shoal_ckpt_should_exit(&flag), 0));
    cr_assert(eq(int, flag, 1));
    agree_rc = -EIO;
    cr_assert(eq(int, shoal_ckpt_need(&flag), -EIO));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, init_restores_the_newest_version_every_rank_has)
{
    int restarted = -1, version = -1;

    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    save(1);
    save(2);
    save(3);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* The other rank has versions up to 2 only; then it agrees. Rounds:
     * failure flag, -offer, "differs". */
    script(3, (int[]){0, -2, 0});
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), 0));
    cr_assert(eq(int, restarted, 1));
    cr_assert(eq(int, version, 2));
    cr_assert(eq(int, calls, 3));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, init_goes_round_until_every_rank_has_the_version)
{
    int restarted = -1, version = -1;

    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    save(1);
    save(3);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    /* We have 1 and 3; the other rank offers 2, which we lack, so we
     * offer 1 and it says so too. */
    script(5, (int[]){0, -2, 1, -1, 0});
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), 0));
    cr_assert(eq(int, version, 1));
    cr_assert(eq(int, calls, 5));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, init_fails_everywhere_when_one_rank_cannot_restore)
{
    int restarted = -1, version = -1;

    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    save(1);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    setenv("SHOAL_CKPT_RESTART", "1", 1);
    setenv("SHOAL_CKPT_VERSION", "1", 1);
    script(1, (int[]){1});
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), -ECANCELED));
    script(1, (int[]){0});
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), 0));
    cr_assert(eq(int, version, 1));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

Test(ckpt_agree, without_mpi_every_rank_acts_alone)
{
    int restarted = -1, version = -1;

    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    save(1);
    save(2);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    agree_rc = -ENOTCONN;
    cr_assert(eq(int, shoal_ckpt_init(&restarted, &version), 0));
    cr_assert(eq(int, version, 2));
    save(3);
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
}

static double agree_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The agreements of a durable commit, after begin: whether to drop the
 * version, then one per round of the wait. */
Test(ckpt_agree, another_ranks_failed_copy_ends_this_ranks_durable_wait)
{
    double start, took;

    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    ckpt_write(shoal_ckpt_route("state"), "x");
    /* no KEEP here; the other rank's copy failed (its NOCOPY) */
    script(2, (int[]){0, 2});
    start = agree_now();
    cr_assert(eq(int, shoal_ckpt_commit(1), -ETIMEDOUT));
    took = agree_now() - start;
    cr_assert(took < 5, "waited %.3f s, not a round", took);
    cr_assert(eq(int, calls, 2));
    cr_assert(ckpt_exists(ckpt_at("v1/COMMITTED")) == 1, "committed here");
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    unsetenv("SHOAL_CKPT_DURABLE");
    unsetenv("SHOAL_CKPT_COMMIT_WAIT");
}

Test(ckpt_agree, a_durable_commit_returns_once_every_rank_is_durable)
{
    setenv("SHOAL_CKPT_DURABLE", "1", 1);
    setenv("SHOAL_CKPT_COMMIT_WAIT", "20", 1);
    cr_assert(eq(int, shoal_ckpt_init(NULL, NULL), 0));
    cr_assert(eq(int, shoal_ckpt_begin(1), 0));
    ckpt_write(shoal_ckpt_route("state"), "x");
    /* durable here at once; the other rank waits two rounds */
    ckpt_write(ckpt_at("KEEP"), "1\n");
    script(4, (int[]){0, 1, 1, 0});
    cr_assert(eq(int, shoal_ckpt_commit(1), 0));
    cr_assert(eq(int, calls, 4));
    cr_assert(eq(int, shoal_ckpt_finalize(), 0));
    unsetenv("SHOAL_CKPT_DURABLE");
    unsetenv("SHOAL_CKPT_COMMIT_WAIT");
}
