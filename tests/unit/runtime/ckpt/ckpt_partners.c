/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_partners.h"

TestSuite(ckpt_partners, .timeout = 10);

Test(ckpt_partners, start_after_self_and_wrap_around)
{
    struct daemon_member m[5] = {
        {.id = 0x50, .state = MEMBER_ALIVE},
        {.id = 0x10, .state = MEMBER_ALIVE},
        {.id = 0x30, .state = MEMBER_ALIVE, .self = true},
        {.id = 0x40, .state = MEMBER_ALIVE},
        {.id = 0x20, .state = MEMBER_ALIVE},
    };
    uint64_t want[] = {0x40, 0x50, 0x10, 0x20}, *ring = NULL;
    size_t k = 0;

    cr_assert(eq(int, ckpt_partners_ring(m, 5, 0x30, &ring, &k), 0));
    cr_assert(eq(sz, k, 4));
    for (size_t i = 0; i < k; i++)
        cr_expect(eq(u64, ring[i], want[i]), "partner %zu", i);
    free(ring);
}

Test(ckpt_partners, only_alive_nodes_other_than_self)
{
    struct daemon_member m[4] = {
        {.id = 0x10, .state = MEMBER_SUSPECT},
        {.id = 0x20, .state = MEMBER_DEAD},
        {.id = 0x30, .state = MEMBER_ALIVE},
        {.id = 0x40, .state = MEMBER_ALIVE},
    };
    uint64_t *ring = NULL;
    size_t k = 9;

    /* self is excluded by id even when the table does not flag it */
    cr_assert(eq(int, ckpt_partners_ring(m, 4, 0x40, &ring, &k), 0));
    cr_assert(eq(sz, k, 1));
    cr_expect(eq(u64, ring[0], 0x30));
    free(ring);
    cr_assert(eq(int, ckpt_partners_ring(m, 0, 0x40, &ring, &k), 0));
    cr_expect(eq(sz, k, 0));
    free(ring);
}
