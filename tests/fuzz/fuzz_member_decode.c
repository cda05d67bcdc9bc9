/* SPDX-License-Identifier: MIT */
/* fuzz_member_decode.c - libFuzzer target for what a peer can send.
 *
 * Each input goes through the membership decoder (whose accepted messages
 * must re-encode to the very same bytes), into a member table as a
 * datagram and as a stream, and, read as a sequence of messages from a
 * few peers, into another (whatever the peers say, the table must stay
 * consistent and every message it sends must decode), and through the seal's
 * opener (which must refuse it and count the refusal: nobody without the key
 * can make a valid message). Built by `./configure --enable-fuzzing && make
 * fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/member/member.h"
#include "runtime/member/member_wire.h"
#include "util/seal.h"

static int fuzz_send(enum member_channel channel,
                     uint64_t dest,
                     const struct member_addr *addr,
                     const void *buf,
                     size_t len,
                     void *arg)
{
    struct member_msg msg;

    (void)channel, (void)dest, (void)addr, (void)arg;
    /* what the table sends must always decode */
    if (member_wire_decode(buf, len, &msg, NULL) != 0)
        abort();
    member_msg_release(&msg);
    return 0;
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
    struct member_msg msg;
    uint8_t *again;
    size_t len = 0;

    if (member_wire_decode(data, size, &msg, NULL) != 0)
        return;
    again = malloc(size ? size : 1);
    if (!again)
        abort();
    if (member_wire_encode(&msg, again, size, &len) != 0 || len != size
        || memcmp(again, data, size) != 0)
        abort();
    free(again);
    member_msg_release(&msg);
}

static void fuzz_table(const uint8_t *data, size_t size)
{
    struct member_config config = {.id = 1, .name = "fuzz"};
    struct member_ops ops = {.send = fuzz_send};
    struct member_addr from = {.family = 4, .bytes = {10, 213, 0, 2}};
    member_table_t *t = NULL;
    struct member_info info;

    member_tunables_default(&config.tunables);
    if (member_table_create(&config, &ops, NULL, &t, NULL) != 0)
        abort();
    member_table_tick(t, 1000);
    member_table_input(t, MEMBER_CHANNEL_DATAGRAM, 2, &from, data, size, 1001,
                       NULL);
    member_table_input(t, MEMBER_CHANNEL_STREAM, 3, &from, data, size, 1002,
                       NULL);
    for (uint64_t now = 1100; now < 4000; now += 100)
        member_table_tick(t, now);
    /* this node is always there, alive */
    if (member_table_find(t, 1, &info) != 0 || info.state != MEMBER_ALIVE)
        abort();
    for (size_t i = 0; i < member_table_size(t); i++)
        if (member_table_at(t, i, &info) != 0
            || member_table_find(t, info.id, &info) != 0)
            abort();
    member_table_destroy(t);
}

/* The input as a conversation: records of [u8 sender][u8 flags][u16
 * length][bytes], each delivered to one table from one of a few peers,
 * with time moving on, so that sequences of news (suspect, refute, dead,
 * left, rejoin) reach states one message cannot. */
static void fuzz_conversation(const uint8_t *data, size_t size)
{
    struct member_config config = {.id = 1, .name = "fuzz"};
    struct member_ops ops = {.send = fuzz_send};
    member_table_t *t = NULL;
    struct member_info info;
    uint64_t now = 1000;

    member_tunables_default(&config.tunables);
    config.tunables.reclaim_ms = 2000;
    if (member_table_create(&config, &ops, NULL, &t, NULL) != 0)
        abort();
    member_table_tick(t, now);
    while (size >= 4) {
        uint64_t sender = 2 + data[0] % 4;
        uint8_t flags = data[1];
        size_t len = (size_t)data[2] << 8 | data[3];
        struct member_addr from = {.family = 4,
                                   .bytes = {10, 213, 0, (uint8_t)sender}};
        data += 4;
        size -= 4;
        if (len > size)
            len = size;
        member_table_input(
            t, flags & 1 ? MEMBER_CHANNEL_STREAM : MEMBER_CHANNEL_DATAGRAM,
            sender, &from, data, len, now, NULL);
        data += len;
        size -= len;
        now += (uint64_t)(flags >> 1) * 20;
        if (flags & 0x80)
            member_table_leave(t, now);
        member_table_tick(t, now);
    }
    for (int i = 0; i < 40; i++) {
        now += 100;
        member_table_tick(t, now);
    }
    if (member_table_find(t, 1, &info) != 0)
        abort();
    for (size_t i = 0; i < member_table_size(t); i++)
        if (member_table_at(t, i, &info) != 0
            || member_table_find(t, info.id, &info) != 0)
            abort();
    member_table_destroy(t);
}

static void fuzz_seal(const uint8_t *data, size_t size)
{
    static seal_t *seal;
    struct seal_header header;
    uint8_t *out = malloc(size ? size : 1);
    size_t len;

    if (!out)
        abort();
    if (!seal) {
        seal_key_t key;
        struct seal_config config = {.key = &key, .node_id = 1};
        memset(&key, 7, sizeof(key));
        if (seal_create(&config, &seal, NULL) != 0)
            abort();
    }
    if (seal_unwrap(seal, data, size, 1700000000000ULL, &header, out, size,
                    &len, NULL)
        == 0)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_round_trip(data, size);
    fuzz_table(data, size);
    fuzz_conversation(data, size);
    fuzz_seal(data, size);
    return 0;
}
