/* SPDX-License-Identifier: MIT */
/* Tests for runtime/job/ckpt_copies.c */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/ckpt_copies.h"

Test(ckpt_copies, the_job_version_is_the_newest_durable_on_every_rank)
{
    uint64_t a[] = {1, 2}, b[] = {3, 1};
    const uint64_t *got;
    ckpt_copies_t *t;

    cr_assert(eq(int, ckpt_copies_create(2, &t), 0));
    cr_assert(eq(int, ckpt_copies_version(t), 0));
    cr_assert(eq(int, ckpt_copies_add(t, 0, 5, a, 2), 0));
    cr_assert(eq(int, ckpt_copies_add(t, 0, 6, a, 2), 0));
    cr_assert(eq(int, ckpt_copies_version(t), 0), "rank 1 has none yet");
    cr_assert(eq(int, ckpt_copies_add(t, 1, 6, b, 2), 0));
    cr_assert(eq(int, ckpt_copies_add(t, 1, 7, b, 2), 0));
    cr_assert(eq(int, ckpt_copies_version(t), 6));
    /* the same version reported again (after a restore) merges holders */
    cr_assert(eq(int, ckpt_copies_add(t, 1, 6, a, 2), 0));
    cr_assert(eq(int, ckpt_copies_holders(t, 1, 6, &got), 3));
    cr_assert(eq(u64, got[0], 3));
    cr_assert(eq(u64, got[1], 1));
    cr_assert(eq(u64, got[2], 2));
    /* a version lost everywhere: the older common one is the job's */
    ckpt_copies_drop(t, 1, 6);
    cr_assert(eq(int, ckpt_copies_version(t), 0));
    cr_assert(eq(int, ckpt_copies_add(t, 1, 5, b, 1), 0));
    cr_assert(eq(int, ckpt_copies_version(t), 5));
    cr_assert(eq(int, ckpt_copies_holders(t, 0, 9, &got), 0));
    ckpt_copies_forget_below(t, 6);
    cr_assert(eq(int, ckpt_copies_version(t), 0));
    cr_assert(eq(int, ckpt_copies_holders(t, 0, 6, &got), 2));
    ckpt_copies_destroy(t);
}

Test(ckpt_copies, only_the_newest_versions_are_remembered)
{
    uint64_t a[] = {1};
    const uint64_t *got;
    ckpt_copies_t *t;

    cr_assert(eq(int, ckpt_copies_create(1, &t), 0));
    for (int v = 1; v <= CKPT_COPIES_VERSIONS + 10; v++)
        cr_assert(eq(int, ckpt_copies_add(t, 0, v, a, 1), 0));
    cr_assert(eq(int, ckpt_copies_version(t), CKPT_COPIES_VERSIONS + 10));
    cr_assert(eq(int, ckpt_copies_holders(t, 0, 10, &got), 0));
    cr_assert(eq(int, ckpt_copies_holders(t, 0, 11, &got), 1));
    /* an old one arriving late does not push out a newer one */
    cr_assert(eq(int, ckpt_copies_add(t, 0, 2, a, 1), 0));
    cr_assert(eq(int, ckpt_copies_holders(t, 0, 2, &got), 0));
    cr_assert(eq(int, ckpt_copies_add(t, 1, 2, a, 1), -EINVAL));
    cr_assert(eq(int, ckpt_copies_add(t, 0, 0, a, 1), -EINVAL));
    ckpt_copies_destroy(t);
}
