/* SPDX-License-Identifier: MIT */
/* Unit tests of util/frame_reader.c: frames cut at every byte, empty and
 * oversized frames, a callback that stops the feed, and what is held. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/frame_reader.h"

TestSuite(frame_reader, .timeout = 10);

struct frames_seen {
    size_t count;
    size_t lens[16];
    uint8_t bytes[16][64];
    size_t stop_at; /* stop (return 7) after this many frames; 0: never */
};

static int frames_collect(const uint8_t *body, size_t len, void *arg)
{
    struct frames_seen *s = arg;

    cr_assert(lt(sz, s->count, 16));
    cr_assert(le(sz, len, 64));
    s->lens[s->count] = len;
    memcpy(s->bytes[s->count], body, len);
    s->count++;
    return s->stop_at && s->count == s->stop_at ? 7 : 0;
}

/* Three frames of 5, 0 and 11 bytes back to back. */
static size_t frames_stream(uint8_t *out)
{
    static const char *const bodies[] = {"hello", "", "frame three"};
    size_t off = 0;

    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(bodies[i]);

        frame_reader_head(out + off, n);
        memcpy(out + off + 4, bodies[i], n);
        off += 4 + n;
    }
    return off;
}

static void frames_check(const struct frames_seen *s)
{
    cr_assert(eq(sz, s->count, 3));
    cr_assert(eq(sz, s->lens[0], 5));
    cr_assert(eq(int, memcmp(s->bytes[0], "hello", 5), 0));
    cr_assert(eq(sz, s->lens[1], 0));
    cr_assert(eq(sz, s->lens[2], 11));
    cr_assert(eq(int, memcmp(s->bytes[2], "frame three", 11), 0));
}

Test(frame_reader, head_is_big_endian)
{
    uint8_t head[4];

    frame_reader_head(head, 0x01020304);
    cr_assert(eq(u8, head[0], 1));
    cr_assert(eq(u8, head[1], 2));
    cr_assert(eq(u8, head[2], 3));
    cr_assert(eq(u8, head[3], 4));
}

Test(frame_reader, frames_in_one_chunk_come_out_in_order)
{
    struct frame_reader r;
    struct frames_seen s = {0};
    uint8_t wire[64];
    size_t len = frames_stream(wire), used = 0;

    frame_reader_init(&r, 64);
    cr_assert(eq(
        int, frame_reader_feed(&r, wire, len, &used, frames_collect, &s), 0));
    cr_assert(eq(sz, used, len));
    cr_assert(eq(int, frame_reader_partial(&r), 0));
    frames_check(&s);
    frame_reader_release(&r);
}

Test(frame_reader, a_stream_cut_anywhere_gives_the_same_frames)
{
    uint8_t wire[64];
    size_t len = frames_stream(wire);

    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t step = 1; step <= 3; step++) {
            struct frame_reader r;
            struct frames_seen s = {0};

            frame_reader_init(&r, 64);
            cr_assert(
                eq(int,
                   frame_reader_feed(&r, wire, cut, NULL, frames_collect, &s),
                   0),
                "cut %zu", cut);
            for (size_t off = cut; off < len; off += step) {
                size_t n = len - off < step ? len - off : step;

                cr_assert(eq(int,
                             frame_reader_feed(&r, wire + off, n, NULL,
                                               frames_collect, &s),
                             0),
                          "cut %zu step %zu off %zu", cut, step, off);
            }
            frames_check(&s);
            cr_assert(eq(int, frame_reader_partial(&r), 0));
            frame_reader_release(&r);
        }
    }
}

Test(frame_reader, a_partial_frame_is_held_until_it_completes)
{
    struct frame_reader r;
    struct frames_seen s = {0};
    uint8_t wire[64];

    frames_stream(wire);
    frame_reader_init(&r, 64);
    cr_assert(
        eq(int, frame_reader_feed(&r, wire, 6, NULL, frames_collect, &s), 0));
    cr_assert(eq(sz, s.count, 0));
    cr_assert(ne(int, frame_reader_partial(&r), 0));
    /* what is held is that frame's body, no more */
    cr_assert(eq(sz, r.body_len, 5));
    cr_assert(eq(sz, r.body_have, 2));
    frame_reader_release(&r);
}

Test(frame_reader, an_oversized_length_is_refused_before_its_body)
{
    struct frame_reader r;
    struct frames_seen s = {0};
    uint8_t head[4];
    size_t used = 99;

    frame_reader_init(&r, 10);
    frame_reader_head(head, 11);
    cr_assert(eq(int, frame_reader_feed(&r, head, 4, &used, frames_collect, &s),
                 -EMSGSIZE));
    cr_assert(eq(sz, s.count, 0));
    cr_assert(eq(ptr, r.body, NULL));
    frame_reader_release(&r);

    /* also when the length arrives a byte at a time */
    frame_reader_init(&r, 10);
    frame_reader_head(head, 0xffffffffu);
    for (size_t i = 0; i < 3; i++)
        cr_assert(eq(
            int, frame_reader_feed(&r, head + i, 1, NULL, frames_collect, &s),
            0));
    cr_assert(eq(int,
                 frame_reader_feed(&r, head + 3, 1, NULL, frames_collect, &s),
                 -EMSGSIZE));
    cr_assert(eq(ptr, r.body, NULL));
    frame_reader_release(&r);
}

Test(frame_reader, a_frame_of_exactly_max_is_taken)
{
    struct frame_reader r;
    struct frames_seen s = {0};
    uint8_t wire[4 + 10] = {0};

    frame_reader_init(&r, 10);
    frame_reader_head(wire, 10);
    cr_assert(
        eq(int,
           frame_reader_feed(&r, wire, sizeof(wire), NULL, frames_collect, &s),
           0));
    cr_assert(eq(sz, s.count, 1));
    cr_assert(eq(sz, s.lens[0], 10));
    frame_reader_release(&r);
}

Test(frame_reader, a_callback_that_stops_leaves_the_rest_untaken)
{
    struct frame_reader r;
    struct frames_seen s = {.stop_at = 1};
    uint8_t wire[64];
    size_t len = frames_stream(wire), used = 0;

    frame_reader_init(&r, 64);
    cr_assert(eq(
        int, frame_reader_feed(&r, wire, len, &used, frames_collect, &s), 7));
    cr_assert(eq(sz, s.count, 1));
    cr_assert(eq(sz, used, 4 + 5));
    s.stop_at = 0;
    cr_assert(eq(int,
                 frame_reader_feed(&r, wire + used, len - used, &used,
                                   frames_collect, &s),
                 0));
    frames_check(&s);
    frame_reader_release(&r);
}

Test(frame_reader, a_stop_on_a_held_frame_counts_its_last_bytes)
{
    struct frame_reader r;
    struct frames_seen s = {.stop_at = 1};
    uint8_t wire[64];
    size_t len = frames_stream(wire), used = 0;

    frame_reader_init(&r, 64);
    cr_assert(
        eq(int, frame_reader_feed(&r, wire, 3, NULL, frames_collect, &s), 0));
    cr_assert(
        eq(int,
           frame_reader_feed(&r, wire + 3, len - 3, &used, frames_collect, &s),
           7));
    cr_assert(eq(sz, used, 4 + 5 - 3));
    cr_assert(eq(int, frame_reader_partial(&r), 0));
    frame_reader_release(&r);
}

Test(frame_reader, a_body_read_into_its_room_gives_the_same_frames)
{
    struct frame_reader r;
    struct frames_seen s = {0};
    uint8_t wire[64], *room = NULL;
    size_t n = frames_stream(wire), off;

    frame_reader_init(&r, 64);
    /* no room between frames, nor in a length prefix */
    cr_expect(eq(sz, frame_reader_room(&r, &room), 0));
    cr_expect(eq(int, frame_reader_filled(&r, 1, frames_collect, &s), -EINVAL));
    cr_assert(
        eq(int, frame_reader_feed(&r, wire, 2, NULL, frames_collect, &s), 0));
    cr_expect(eq(sz, frame_reader_room(&r, &room), 0));
    /* the prefix and one byte of "hello": four bytes of room */
    cr_assert(eq(
        int, frame_reader_feed(&r, wire + 2, 3, NULL, frames_collect, &s), 0));
    cr_assert(eq(sz, frame_reader_room(&r, &room), 4));
    memcpy(room, wire + 5, 3);
    cr_assert(eq(int, frame_reader_filled(&r, 3, frames_collect, &s), 0));
    cr_assert(eq(sz, s.count, 0));
    cr_assert(eq(sz, frame_reader_room(&r, &room), 1));
    /* more than the room is refused, and changes nothing */
    cr_expect(eq(int, frame_reader_filled(&r, 2, frames_collect, &s), -EINVAL));
    memcpy(room, wire + 8, 1);
    cr_assert(eq(int, frame_reader_filled(&r, 1, frames_collect, &s), 0));
    cr_assert(eq(sz, s.count, 1));
    cr_expect(eq(sz, frame_reader_room(&r, &room), 0));
    /* the rest fed as before; the third body part fed, part filled */
    off = 9;
    cr_assert(eq(
        int,
        frame_reader_feed(&r, wire + off, 4 + 4 + 2, NULL, frames_collect, &s),
        0));
    off += 10;
    cr_assert(eq(sz, frame_reader_room(&r, &room), n - off));
    memcpy(room, wire + off, n - off);
    cr_assert(eq(int, frame_reader_filled(&r, n - off, frames_collect, &s), 0));
    frames_check(&s);
    cr_expect(eq(int, frame_reader_partial(&r), 0));
    frame_reader_release(&r);
}
