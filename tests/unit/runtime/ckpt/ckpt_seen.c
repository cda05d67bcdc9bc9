/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_seen.h"

TestSuite(ckpt_seen, .timeout = 10);

static void id_of(unsigned char id[CKPT_HASH_BYTES], int n)
{
    memset(id, n, CKPT_HASH_BYTES);
}

Test(ckpt_seen, remembers_and_replaces_by_directory)
{
    ckpt_seen_t *t = NULL;
    unsigned char id[CKPT_HASH_BYTES], got[CKPT_HASH_BYTES];

    cr_assert(eq(int, ckpt_seen_create(4, &t), 0));
    cr_expect(not(ckpt_seen_get(t, "/a/v1", got)));
    id_of(id, 1);
    cr_assert(eq(int, ckpt_seen_add(t, "/a/v1", id), 0));
    cr_assert(ckpt_seen_get(t, "/a/v1", got));
    cr_expect(eq(int, memcmp(got, id, sizeof(id)), 0));
    id_of(id, 2);
    cr_assert(eq(int, ckpt_seen_add(t, "/a/v1", id), 0));
    cr_assert(ckpt_seen_get(t, "/a/v1", got));
    cr_expect(eq(int, got[0], 2));
    cr_expect(not(ckpt_seen_get(t, "/a/v2", got)));
    ckpt_seen_forget(t, "/a/v1");
    ckpt_seen_forget(t, "/unknown");
    cr_expect(not(ckpt_seen_get(t, "/a/v1", got)));
    ckpt_seen_destroy(t);
    ckpt_seen_destroy(NULL);
}

Test(ckpt_seen, forgets_the_oldest_when_full)
{
    ckpt_seen_t *t = NULL;
    unsigned char id[CKPT_HASH_BYTES], got[CKPT_HASH_BYTES];
    char dir[32];

    cr_expect(eq(int, ckpt_seen_create(0, &t), -EINVAL));
    cr_assert(eq(int, ckpt_seen_create(3, &t), 0));
    for (int i = 0; i < 5; i++) {
        snprintf(dir, sizeof(dir), "/s/v%d", i);
        id_of(id, i);
        cr_assert(eq(int, ckpt_seen_add(t, dir, id), 0));
    }
    for (int i = 0; i < 5; i++) {
        snprintf(dir, sizeof(dir), "/s/v%d", i);
        cr_expect(eq(int, ckpt_seen_get(t, dir, got), i >= 2), "%s", dir);
    }
    ckpt_seen_destroy(t);
}
