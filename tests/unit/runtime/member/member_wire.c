/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/member/member_wire.h"

TestSuite(member_wire, .timeout = 20);

static const uint8_t payload[] = "cores=8/16 numa=2 speed=1.25";

static struct member_update full_update(uint64_t id, enum member_state state)
{
    struct member_update u = {
        .id = id,
        .incarnation = 7,
        .state = state,
        .from = state == MEMBER_SUSPECT ? 99 : 0,
        .has_body = true,
        .addr = {.family = 4, .bytes = {10, 213, 0, 1}, .port = 7946},
        .payload = payload,
        .payload_len = sizeof(payload) - 1,
    };

    snprintf(u.name, sizeof(u.name), "node%llu", (unsigned long long)id);
    return u;
}

static void assert_same_update(const struct member_update *a,
                               const struct member_update *b)
{
    cr_assert(eq(u64, a->id, b->id));
    cr_assert(eq(u32, a->incarnation, b->incarnation));
    cr_assert(eq(int, a->state, b->state));
    cr_assert(eq(u64, a->from, b->from));
    cr_assert(eq(int, a->has_body, b->has_body));
    if (!a->has_body)
        return;
    cr_assert(eq(str, (char *)a->name, (char *)b->name));
    cr_assert(member_addr_equal(&a->addr, &b->addr));
    cr_assert(eq(u16, a->payload_len, b->payload_len));
    cr_assert(eq(int, memcmp(a->payload, b->payload, a->payload_len), 0));
}

static size_t encode(const struct member_msg *m, uint8_t *buf, size_t size)
{
    size_t len = 0;

    cr_assert(eq(int, member_wire_encode(m, buf, size, &len), 0));
    size_t want = member_wire_head_size(m);
    for (size_t i = 0; i < m->nupdates; i++)
        want += member_wire_update_size(&m->updates[i]);
    cr_assert(eq(sz, len, want), "size predicted");
    return len;
}

/* One message of every kind, with updates of every state. */
static struct member_msg sample(enum member_msg_kind kind,
                                struct member_update *updates)
{
    struct member_update suspect = {
        .id = 3, .incarnation = 1, .state = MEMBER_SUSPECT, .from = 1};
    struct member_update dead = {
        .id = 4, .incarnation = 2, .state = MEMBER_DEAD, .from = 2};
    struct member_update left = {
        .id = 5, .incarnation = 9, .state = MEMBER_LEFT};
    struct member_msg m = {.kind = kind, .seq = 0xdeadbeef, .target = 42};

    updates[0] = full_update(1, MEMBER_ALIVE);
    updates[1] = suspect;
    updates[2] = dead;
    updates[3] = left;
    updates[4] = full_update(6, MEMBER_DEAD);
    updates[4].addr = (struct member_addr){
        .family = 6, .bytes = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, .port = 1};
    updates[5] = full_update(7, MEMBER_ALIVE);
    updates[5].payload_len = 0;
    updates[5].name[0] = '\0';
    updates[5].addr.family = 0;
    m.target_addr = updates[0].addr;
    m.updates = updates;
    m.nupdates = 6;
    return m;
}

ParameterizedTestParameters(member_wire, round_trip)
{
    static enum member_msg_kind kinds[] = {
        MEMBER_MSG_PING,   MEMBER_MSG_ACK,       MEMBER_MSG_PING_REQ,
        MEMBER_MSG_GOSSIP, MEMBER_MSG_PUSH_PULL, MEMBER_MSG_PUSH_PULL_REPLY,
    };
    return cr_make_param_array(enum member_msg_kind, kinds,
                               sizeof(kinds) / sizeof(kinds[0]));
}

ParameterizedTest(enum member_msg_kind *kind, member_wire, round_trip)
{
    struct member_update updates[6];
    struct member_msg m = sample(*kind, updates);
    struct member_msg back;
    uint8_t buf[2048];
    shoal_error_t err = {{0}};

    for (size_t n = 0; n <= m.nupdates; n++) {
        struct member_msg part = m;
        part.nupdates = n;
        size_t len = encode(&part, buf, sizeof(buf));
        cr_assert(eq(int, member_wire_decode(buf, len, &back, &err), 0),
                  "kind %d, %zu updates: %s", *kind, n, err.text);
        cr_assert(eq(int, back.kind, *kind));
        cr_assert(eq(sz, back.nupdates, n));
        if (*kind == MEMBER_MSG_PING || *kind == MEMBER_MSG_ACK
            || *kind == MEMBER_MSG_PING_REQ)
            cr_assert(eq(u32, back.seq, 0xdeadbeef));
        if (*kind == MEMBER_MSG_PING || *kind == MEMBER_MSG_PING_REQ)
            cr_assert(eq(u64, back.target, 42));
        if (*kind == MEMBER_MSG_PING_REQ)
            cr_assert(member_addr_equal(&back.target_addr, &m.target_addr));
        for (size_t i = 0; i < n; i++)
            assert_same_update(&back.updates[i], &m.updates[i]);
        member_msg_release(&back);
    }
    member_msg_release(NULL);
}

Test(member_wire, every_truncation_is_refused)
{
    struct member_update updates[6];
    uint8_t buf[2048];

    for (int kind = MEMBER_MSG_PING; kind <= MEMBER_MSG_PUSH_PULL_REPLY;
         kind++) {
        struct member_msg m = sample((enum member_msg_kind)kind, updates);
        size_t len = encode(&m, buf, sizeof(buf));
        for (size_t cut = 0; cut < len; cut++) {
            struct member_msg back;
            /* a heap copy of exactly cut bytes lets ASan see overreads */
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf, cut);
            int rc = member_wire_decode(copy, cut, &back, NULL);
            cr_assert(eq(int, rc, SHOAL_EPROTO), "kind %d cut at %zu of %zu",
                      kind, cut, len);
            free(copy);
        }
        /* a byte too many is refused as well */
        struct member_msg back;
        buf[len] = 0;
        cr_assert(eq(int, member_wire_decode(buf, len + 1, &back, NULL),
                     SHOAL_EPROTO));
    }
}

Test(member_wire, encode_refuses_small_buffer_and_invalid_messages)
{
    struct member_update updates[6];
    struct member_msg m = sample(MEMBER_MSG_PUSH_PULL, updates);
    uint8_t buf[2048];
    size_t len = encode(&m, buf, sizeof(buf));

    for (size_t size = 0; size < len; size++)
        cr_assert(eq(int, member_wire_encode(&m, buf, size, &len), -EMSGSIZE),
                  "size %zu", size);

    struct member_msg bad = m;
    bad.kind = (enum member_msg_kind)9;
    cr_assert(
        eq(int, member_wire_encode(&bad, buf, sizeof(buf), &len), -EINVAL));
    updates[1].state = (enum member_state)7;
    cr_assert(eq(int, member_wire_encode(&m, buf, sizeof(buf), &len), -EINVAL));
    updates[1].state = MEMBER_ALIVE; /* alive without a body */
    cr_assert(eq(int, member_wire_encode(&m, buf, sizeof(buf), &len), -EINVAL));
    updates[1].state = MEMBER_SUSPECT;
    updates[0].payload_len = MEMBER_PAYLOAD_MAX + 1;
    cr_assert(eq(int, member_wire_encode(&m, buf, sizeof(buf), &len), -EINVAL));
    updates[0].payload_len = 3;
    updates[0].addr.family = 5;
    cr_assert(eq(int, member_wire_encode(&m, buf, sizeof(buf), &len), -EINVAL));
}

/* Hand-made inputs and what the decoder must say of them. */
struct garbage_case {
    uint8_t bytes[64];
    size_t len;
    char error[80];
};

ParameterizedTestParameters(member_wire, garbage_refused)
{
    static struct garbage_case cases[] = {
        {{0}, 0, "message truncated"},
        {{1}, 1, "message truncated"},
        {{2, 4, 0, 0, 0, 0}, 6, "unknown message version 2"},
        {{1, 0, 0, 0, 0, 0}, 6, "unknown message kind 0"},
        {{1, 7, 0, 0, 0, 0}, 6, "unknown message kind 7"},
        {{1, 4, 0, 0, 0}, 5, "message truncated"},
        {{1, 4, 0, 0, 0, 1}, 6, "1 updates cannot fit in 0 bytes"},
        {{1, 4, 0xff, 0xff, 0xff, 0xff, 0},
         7,
         "4294967295 updates cannot fit in 1 bytes"},
        {{1, 4, 0, 0, 0, 0, 0}, 7, "1 bytes after the last update"},
        /* state 5 */
        {{1, 4, 0, 0, 0, 1, 5, [26] = 0}, 27, "update 0: unknown state 5"},
        /* alive, no body */
        {{1, 4, 0, 0, 0, 1, 0, [26] = 0}, 27, "update 0: alive without a body"},
        /* body with a name length of 64 */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 64},
         28,
         "update 0: name of 64 bytes (at most 63)"},
        /* name claims 5 bytes, 2 present */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 5, 'a', 'b'},
         30,
         "update 0: truncated"},
        /* name with a space */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 2, 'a', ' '},
         30,
         "update 0: invalid byte 0x20 in name"},
        /* address family 5 */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 1, 'a', 5},
         30,
         "update 0: unknown address family 5"},
        /* payload length 1025 */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 1, 'a', 0, 0, 0, 0x04, 0x01},
         34,
         "update 0: payload of 1025 bytes (at most 1024)"},
        /* payload claims 4 bytes, 1 present */
        {{1, 4, 0, 0, 0, 1, 0x80, [27] = 1, 'a', 0, 0, 0, 0, 4, 'x'},
         35,
         "update 0: truncated"},
        /* ping-req with a bad target family */
        {{1, 3, 0, 0, 0, 0, [14] = 9},
         15,
         "ping-req target: unknown address family 9"},
        {{1, 3, 0, 0, 0, 0, [14] = 6, 1, 2}, 17, "ping-req target: truncated"},
    };
    return cr_make_param_array(struct garbage_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct garbage_case *c, member_wire, garbage_refused)
{
    struct member_msg back;
    shoal_error_t err = {{0}};
    uint8_t *copy = malloc(c->len ? c->len : 1);

    memcpy(copy, c->bytes, c->len);
    cr_assert(
        eq(int, member_wire_decode(copy, c->len, &back, &err), SHOAL_EPROTO));
    cr_assert(eq(str, err.text, c->error));
    free(copy);
}

/* Random bytes, and random damage to a valid message: any verdict is
 * fine, as long as the decoder returns and what it accepts re-encodes to
 * the same bytes. */
Test(member_wire, random_inputs_never_crash)
{
    struct member_update updates[6];
    struct member_msg m = sample(MEMBER_MSG_PING_REQ, updates);
    uint8_t valid[2048], buf[2048], again[2048];
    size_t len = encode(&m, valid, sizeof(valid));
    uint64_t x = 88172645463325252ULL;
    int accepted = 0;

    for (int round = 0; round < 20000; round++) {
        size_t n;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (round % 2) {
            n = x % 200;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (uint8_t)x;
            }
        } else {
            n = len;
            memcpy(buf, valid, len);
            for (int k = 0; k < 3; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % len] ^= (uint8_t)(x >> 32);
            }
        }
        struct member_msg back;
        if (member_wire_decode(buf, n, &back, NULL) != 0)
            continue;
        accepted++;
        size_t len2 = 0;
        cr_assert(
            eq(int, member_wire_encode(&back, again, sizeof(again), &len2), 0),
            "round %d", round);
        cr_assert(eq(sz, len2, n), "round %d", round);
        cr_assert(eq(int, memcmp(again, buf, n), 0), "round %d", round);
        member_msg_release(&back);
    }
    cr_assert(gt(int, accepted, 0));
}

Test(member_wire, addresses_format)
{
    struct member_addr v4 = {.family = 4, .bytes = {10, 213, 0, 7}, .port = 80};
    struct member_addr v6 = {.family = 6, .bytes = {[15] = 1}, .port = 7946};
    struct member_addr none = {0};
    char text[64];

    member_addr_format(&v4, text, sizeof(text));
    cr_assert(eq(str, text, "10.213.0.7:80"));
    member_addr_format(&v6, text, sizeof(text));
    cr_assert(eq(str, text, "[::1]:7946"));
    member_addr_format(&none, text, sizeof(text));
    cr_assert(eq(str, text, "-"));
    cr_assert(not(member_addr_equal(&v4, &v6)));
    cr_assert(eq(str, (char *)member_state_name(MEMBER_SUSPECT), "suspect"));
}
