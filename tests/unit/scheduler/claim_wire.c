/* SPDX-License-Identifier: MIT */
/* Unit tests of scheduler/claim_wire.c: round trips, exact bytes,
 * truncation, bad fields and random garbage. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/shoal.h>

#include "scheduler/claim_wire.h"

TestSuite(claim_wire, .timeout = 20);

static hwloc_bitmap_t set_of(const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    cr_assert(eq(int, hwloc_bitmap_list_sscanf(set, list), 0), "'%s'", list);
    return set;
}

static size_t encode(const struct claim_msg *msg, uint8_t *buf, size_t size)
{
    size_t len = 0;
    int rc = claim_wire_encode(msg, buf, size, &len);

    cr_assert(eq(int, rc, 0), "encode %s: %d", claim_msg_kind_name(msg->kind),
              rc);
    cr_assert(eq(sz, len, claim_wire_size(msg)));
    return len;
}

static void round_trip(const struct claim_msg *msg)
{
    uint8_t buf[512];
    size_t len = encode(msg, buf, sizeof(buf));
    struct claim_msg got;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, claim_wire_decode(buf, len, &got, &error), 0), "%s: %s",
              claim_msg_kind_name(msg->kind), error.text);
    cr_assert(eq(int, (int)got.kind, (int)msg->kind));
    cr_assert(eq(u64, got.job, msg->job));
    cr_assert(eq(u32, got.attempt, msg->attempt));
    if (msg->kind == CLAIM_MSG_CLAIM)
        cr_assert(eq(u64, got.home, msg->home));
    if (msg->kind == CLAIM_MSG_CLAIM || msg->kind == CLAIM_MSG_RENEW)
        cr_assert(eq(u32, got.lease_ms, msg->lease_ms));
    if (msg->kind == CLAIM_MSG_CLAIM || msg->kind == CLAIM_MSG_REFUSE)
        cr_assert(hwloc_bitmap_isequal(got.cores, msg->cores));
    else
        cr_assert(eq(ptr, got.cores, NULL));
    /* every prefix is refused */
    for (size_t cut = 0; cut < len; cut++) {
        struct claim_msg bad;

        cr_assert(
            eq(int, claim_wire_decode(buf, cut, &bad, NULL), SHOAL_EPROTO),
            "%s cut at %zu of %zu", claim_msg_kind_name(msg->kind), cut, len);
    }
    claim_msg_release(&got);
}

Test(claim_wire, every_kind_round_trips)
{
    hwloc_bitmap_t cores = set_of("0-3,6,8-11,65535");
    hwloc_bitmap_t empty = hwloc_bitmap_alloc();
    struct claim_msg msgs[] = {
        {CLAIM_MSG_CLAIM, 0x0102030405060708ULL, 3, 42, 5000, cores},
        {CLAIM_MSG_GRANT, 7, 3, 0, 0, NULL},
        {CLAIM_MSG_REFUSE, 7, 3, 0, 0, cores},
        {CLAIM_MSG_REFUSE, 7, 3, 0, 0, empty},
        {CLAIM_MSG_RELEASE, UINT64_MAX, UINT32_MAX, 0, 0, NULL},
        {CLAIM_MSG_RENEW, 7, 1, 0, CLAIM_WIRE_LEASE_FOREVER, NULL},
    };

    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        round_trip(&msgs[i]);
    hwloc_bitmap_free(cores);
    hwloc_bitmap_free(empty);
}

Test(claim_wire, claim_bytes_are_as_documented)
{
    hwloc_bitmap_t cores = set_of("0-3,6");
    struct claim_msg msg = {CLAIM_MSG_CLAIM, 1, 2, 3, 4, cores};
    static const uint8_t want[] = {
        1, 16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, /* head */
        0, 0,  0, 0, 0, 0, 0, 3, 0, 0, 0, 4,       /* home, lease */
        0, 2,  0, 0, 0, 3, 0, 6, 0, 6,             /* 2 ranges */
    };
    uint8_t buf[64];
    size_t len = encode(&msg, buf, sizeof(buf));

    cr_assert(eq(sz, len, sizeof(want)));
    cr_assert(eq(int, memcmp(buf, want, len), 0));
    cr_assert(eq(int, claim_wire_encode(&msg, buf, len - 1, &len), -EMSGSIZE));
    hwloc_bitmap_free(cores);
}

Test(claim_wire, unencodable_messages_are_refused)
{
    hwloc_bitmap_t big = set_of("65536");
    hwloc_bitmap_t empty = hwloc_bitmap_alloc();
    hwloc_bitmap_t infinite = hwloc_bitmap_alloc();
    uint8_t buf[64];
    size_t len;
    struct claim_msg msg = {CLAIM_MSG_CLAIM, 1, 1, 1, 1, big};

    hwloc_bitmap_fill(infinite);
    cr_assert(
        eq(int, claim_wire_encode(&msg, buf, sizeof(buf), &len), -EINVAL));
    msg.cores = empty;
    cr_assert(
        eq(int, claim_wire_encode(&msg, buf, sizeof(buf), &len), -EINVAL));
    msg.cores = infinite;
    cr_assert(
        eq(int, claim_wire_encode(&msg, buf, sizeof(buf), &len), -EINVAL));
    msg.cores = NULL;
    cr_assert(
        eq(int, claim_wire_encode(&msg, buf, sizeof(buf), &len), -EINVAL));
    msg.kind = 15;
    cr_assert(
        eq(int, claim_wire_encode(&msg, buf, sizeof(buf), &len), -EINVAL));
    hwloc_bitmap_free(big);
    hwloc_bitmap_free(empty);
    hwloc_bitmap_free(infinite);
}

Test(claim_wire, bad_fields_are_protocol_errors)
{
    hwloc_bitmap_t cores = set_of("2-3,5");
    struct claim_msg msg = {CLAIM_MSG_CLAIM, 1, 1, 1, 1, cores};
    struct claim_msg got;
    shoal_error_t error = {{0}};
    uint8_t buf[64];
    uint8_t bad[64];
    size_t len = encode(&msg, buf, sizeof(buf));

    memcpy(bad, buf, len);
    bad[0] = 2;
    cr_assert(eq(int, claim_wire_decode(bad, len, &got, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "claim message: unknown version 2"));
    memcpy(bad, buf, len);
    bad[1] = 21;
    cr_assert(eq(int, claim_wire_decode(bad, len, &got, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "claim message: unknown kind 21"));
    /* second range 5-5 rewritten as 3-3: overlaps the first */
    memcpy(bad, buf, len);
    bad[len - 3] = 3;
    bad[len - 1] = 3;
    cr_assert(eq(int, claim_wire_decode(bad, len, &got, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "claim message: bad core range 3-3"));
    /* a range count larger than the bytes */
    memcpy(bad, buf, len);
    bad[27] = 0xff;
    cr_assert(eq(int, claim_wire_decode(bad, len, &got, &error), SHOAL_EPROTO));
    /* a trailing byte */
    memcpy(bad, buf, len);
    bad[len] = 0;
    cr_assert(
        eq(int, claim_wire_decode(bad, len + 1, &got, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "claim message: 1 trailing bytes"));
    /* a claim of no cores */
    memcpy(bad, buf, 26);
    bad[26] = 0;
    bad[27] = 0;
    cr_assert(eq(int, claim_wire_decode(bad, 28, &got, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "claim message: a claim of no cores"));
    hwloc_bitmap_free(cores);
}

Test(claim_wire, random_bytes_never_crash)
{
    unsigned seed = 12345;
    uint8_t buf[128];
    int accepted = 0;

    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
        struct claim_msg got;
        int rc;

        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rand_r(&seed);
        /* half the time, a valid head so the bodies get exercised */
        if (len >= 2 && i % 2) {
            buf[0] = CLAIM_WIRE_VERSION;
            buf[1] = (uint8_t)(CLAIM_MSG_CLAIM + rand_r(&seed) % 5);
        }
        rc = claim_wire_decode(buf, len, &got, NULL);
        cr_assert(rc == 0 || rc == SHOAL_EPROTO, "rc %d", rc);
        if (rc == 0) {
            accepted++;
            claim_msg_release(&got);
        }
    }
    cr_assert(gt(int, accepted, 0), "some random bodies are valid");
}
