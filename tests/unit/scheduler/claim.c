/* SPDX-License-Identifier: MIT */
/* Unit tests of scheduler/claim.c: all-or-nothing claims, leases,
 * idempotence, releases and the generation counter. */
#include <errno.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "scheduler/claim.h"

TestSuite(claim, .timeout = 10);

static hwloc_bitmap_t set_of(const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    cr_assert(eq(int, hwloc_bitmap_list_sscanf(set, list), 0), "'%s'", list);
    return set;
}

/* Compare a bitmap with a list string, printing both. */
static void assert_set(hwloc_const_bitmap_t set, const char *want)
{
    char *got = NULL;

    cr_assert(hwloc_bitmap_list_asprintf(&got, set) >= 0);
    cr_assert(eq(str, got, (char *)want));
    free(got);
}

static claim_ledger_t *ledger_of(const char *lendable)
{
    hwloc_bitmap_t set = set_of(lendable);
    claim_ledger_t *ledger = NULL;

    cr_assert(eq(int, claim_ledger_create(set, &ledger), 0));
    hwloc_bitmap_free(set);
    return ledger;
}

static int claim(claim_ledger_t *ledger,
                 uint64_t job,
                 uint64_t home,
                 const char *cores,
                 uint64_t deadline,
                 hwloc_bitmap_t busy)
{
    hwloc_bitmap_t set = set_of(cores);
    int rc = claim_ledger_claim(ledger, job, home, 1, set, deadline, busy);

    hwloc_bitmap_free(set);
    return rc;
}

static void assert_free(const claim_ledger_t *ledger, const char *want)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    cr_assert(eq(int, claim_ledger_free_cores(ledger, set), 0));
    assert_set(set, want);
    hwloc_bitmap_free(set);
}

Test(claim, grants_all_or_refuses_naming_busy_cores)
{
    claim_ledger_t *ledger = ledger_of("0-7");
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    uint64_t gen = claim_ledger_generation(ledger);

    cr_assert(eq(int, claim(ledger, 1, 10, "0-3", 100, busy), 0));
    assert_set(busy, "");
    cr_assert(gt(u64, claim_ledger_generation(ledger), gen));
    assert_free(ledger, "4-7");

    gen = claim_ledger_generation(ledger);
    cr_assert(eq(int, claim(ledger, 2, 20, "2-5", 100, busy), -EBUSY));
    assert_set(busy, "2-3");
    assert_free(ledger, "4-7");
    cr_assert(eq(u64, claim_ledger_generation(ledger), gen),
              "a refusal changes nothing");
    cr_assert(eq(int, claim_ledger_count(ledger), 1));

    cr_assert(eq(int, claim(ledger, 2, 20, "6-9", 100, busy), -EBUSY));
    assert_set(busy, "8-9");
    cr_assert(eq(int, claim(ledger, 2, 20, "4-7", 100, NULL), 0));
    assert_free(ledger, "");
    hwloc_bitmap_zero(busy);
    cr_assert(eq(int, claim_ledger_claim(ledger, 3, 30, 1, busy, 100, NULL),
                 -EINVAL));
    hwloc_bitmap_free(busy);
    claim_ledger_destroy(ledger);
}

Test(claim, a_repeated_claim_gets_the_same_answer)
{
    claim_ledger_t *ledger = ledger_of("0-3");
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    hwloc_bitmap_t held = hwloc_bitmap_alloc();
    uint64_t gen;

    cr_assert(eq(int, claim(ledger, 1, 10, "0-1", 100, NULL), 0));
    gen = claim_ledger_generation(ledger);
    cr_assert(eq(int, claim(ledger, 1, 10, "0-1", 50, NULL), 0));
    cr_assert(eq(u64, claim_ledger_generation(ledger), gen));
    cr_assert(eq(int, claim_ledger_expire(ledger, 99), 0),
              "a duplicate never shortens the lease");
    cr_assert(eq(int, claim(ledger, 2, 20, "1-2", 100, busy), -EBUSY));
    cr_assert(eq(int, claim(ledger, 2, 20, "1-2", 100, busy), -EBUSY));
    assert_set(busy, "1");

    /* the same job claiming other cores moves its claim */
    cr_assert(eq(int, claim(ledger, 1, 10, "1,3", 100, NULL), 0));
    cr_assert(eq(int, claim_ledger_job_cores(ledger, 1, held), 0));
    assert_set(held, "1,3");
    assert_free(ledger, "0,2");
    cr_assert(eq(int, claim_ledger_count(ledger), 1));
    hwloc_bitmap_free(busy);
    hwloc_bitmap_free(held);
    claim_ledger_destroy(ledger);
}

Test(claim, leases_lapse_unless_renewed_or_confirmed)
{
    claim_ledger_t *ledger = ledger_of("0-7");

    cr_assert(eq(int, claim(ledger, 1, 10, "0-1", 100, NULL), 0));
    cr_assert(eq(int, claim(ledger, 2, 10, "2-3", 200, NULL), 0));
    cr_assert(eq(int, claim(ledger, 3, 20, "4-5", 300, NULL), 0));
    cr_assert(eq(u64, claim_ledger_next_deadline(ledger), 100));
    cr_assert(eq(int, claim_ledger_renew(ledger, 1, 250), 0));
    cr_assert(eq(int, claim_ledger_renew(ledger, 3, CLAIM_FOREVER), 0));
    cr_assert(eq(int, claim_ledger_expire(ledger, 199), 0));
    cr_assert(eq(int, claim_ledger_expire(ledger, 200), 2), "job 2 lapsed");
    assert_free(ledger, "2-3,6-7");
    cr_assert(eq(int, claim_ledger_renew(ledger, 2, 1000), -ENOENT));
    cr_assert(eq(int, claim_ledger_expire(ledger, 1000000), 2));
    assert_free(ledger, "0-3,6-7");
    cr_assert(eq(u64, claim_ledger_next_deadline(ledger), CLAIM_FOREVER));
    cr_assert(eq(int, claim_ledger_release(ledger, 3), 2));
    cr_assert(eq(int, claim_ledger_release(ledger, 3), 0),
              "releasing twice is harmless");
    assert_free(ledger, "0-7");
    claim_ledger_destroy(ledger);
}

Test(claim, a_dead_home_loses_all_its_claims)
{
    claim_ledger_t *ledger = ledger_of("0-7");
    uint64_t gen;

    cr_assert(eq(int, claim(ledger, 1, 10, "0", CLAIM_FOREVER, NULL), 0));
    cr_assert(eq(int, claim(ledger, 2, 20, "1-2", CLAIM_FOREVER, NULL), 0));
    cr_assert(eq(int, claim(ledger, 3, 10, "5-7", 100, NULL), 0));
    gen = claim_ledger_generation(ledger);
    cr_assert(eq(int, claim_ledger_release_home(ledger, 10), 4));
    cr_assert(gt(u64, claim_ledger_generation(ledger), gen));
    assert_free(ledger, "0,3-7");
    cr_assert(eq(int, claim_ledger_release_home(ledger, 10), 0));
    claim_ledger_destroy(ledger);
}

Test(claim, cores_not_lent_are_refused)
{
    claim_ledger_t *ledger = ledger_of("0-3");
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    hwloc_bitmap_t lend = set_of("2-3");
    uint64_t gen;

    cr_assert(eq(int, claim(ledger, 1, 10, "0", 100, NULL), 0));
    gen = claim_ledger_generation(ledger);
    cr_assert(eq(int, claim_ledger_set_lendable(ledger, lend), 0));
    cr_assert(gt(u64, claim_ledger_generation(ledger), gen));
    assert_free(ledger, "2-3");
    cr_assert(eq(int, claim(ledger, 2, 10, "1-2", 100, busy), -EBUSY));
    assert_set(busy, "1");
    hwloc_bitmap_free(busy);
    hwloc_bitmap_free(lend);
    claim_ledger_destroy(ledger);
}
