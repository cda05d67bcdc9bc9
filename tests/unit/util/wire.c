/* SPDX-License-Identifier: MIT */
/* Unit tests of util/wire.c: exact bytes and round trips at each width,
 * overflow and short reads at every boundary, and the sticky flags. */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "util/bytes.h"
#include "util/wire.h"

TestSuite(wire, .timeout = 10);

static const uint64_t wire_test_value = 0x0102030405060708ULL;

static uint64_t low_bytes(uint64_t v, unsigned width)
{
    return width == 8 ? v : v & ((UINT64_C(1) << (8 * width)) - 1);
}

ParameterizedTestParameters(wire, round_trip_is_big_endian_at_each_width)
{
    static unsigned widths[] = {1, 2, 4, 8, 3, 5, 6, 7};
    return cr_make_param_array(unsigned, widths,
                               sizeof(widths) / sizeof(widths[0]));
}

ParameterizedTest(unsigned *width, wire, round_trip_is_big_endian_at_each_width)
{
    uint8_t buf[8];
    struct wire_writer w;
    struct wire_reader r;
    uint64_t got;

    memset(buf, 0xee, sizeof(buf));
    wire_writer_init(&w, buf, *width);
    wire_put_be(&w, wire_test_value, *width);
    cr_assert(not(w.overflow), "width %u", *width);
    cr_assert(eq(sz, w.off, *width));
    for (unsigned i = 0; i < *width; i++)
        cr_assert(eq(u8, buf[i], (uint8_t)(8 - *width + 1 + i)),
                  "width %u byte %u", *width, i);
    for (unsigned i = *width; i < sizeof(buf); i++)
        cr_assert(eq(u8, buf[i], 0xee), "width %u wrote byte %u", *width, i);

    wire_reader_init(&r, buf, *width);
    got = wire_get_be(&r, *width, "value");
    cr_assert(eq(u64, got, low_bytes(wire_test_value, *width)), "width %u",
              *width);
    cr_assert(not(r.short_));
    cr_assert(eq(sz, r.left, 0));
    cr_assert(eq(ptr, (void *)r.short_field, NULL));
}

Test(wire, named_widths_round_trip_their_extremes)
{
    uint8_t buf[2 * (1 + 2 + 4 + 8)];
    struct wire_writer w;
    struct wire_reader r;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_u8(&w, UINT8_MAX);
    wire_put_u16(&w, UINT16_MAX);
    wire_put_u32(&w, UINT32_MAX);
    wire_put_u64(&w, UINT64_MAX);
    wire_put_u8(&w, 0);
    wire_put_u16(&w, 0x1234);
    wire_put_u32(&w, 0x89abcdefu);
    wire_put_u64(&w, wire_test_value);
    cr_assert(not(w.overflow));
    cr_assert(eq(sz, w.off, sizeof(buf)));

    wire_reader_init(&r, buf, sizeof(buf));
    cr_assert(eq(u8, wire_get_u8(&r), UINT8_MAX));
    cr_assert(eq(u16, wire_get_u16(&r), UINT16_MAX));
    cr_assert(eq(u32, wire_get_u32(&r), UINT32_MAX));
    cr_assert(eq(u64, wire_get_u64(&r), UINT64_MAX));
    cr_assert(eq(u8, wire_get_u8(&r), 0));
    cr_assert(eq(u16, wire_get_u16(&r), 0x1234));
    cr_assert(eq(u32, wire_get_u32(&r), 0x89abcdefu));
    cr_assert(eq(u64, wire_get_u64(&r), wire_test_value));
    cr_assert(not(r.short_));
    cr_assert(eq(sz, r.left, 0));
}

Test(wire, put_keeps_only_the_low_bytes)
{
    uint8_t buf[3];
    struct wire_writer w;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_be(&w, 0xffffffffffabcdefULL, 3);
    cr_assert(eq(u8, buf[0], 0xab));
    cr_assert(eq(u8, buf[1], 0xcd));
    cr_assert(eq(u8, buf[2], 0xef));
}

Test(wire, bytes_round_trip_and_zero_lengths_are_free)
{
    uint8_t buf[5];
    struct wire_writer w;
    struct wire_reader r;
    const uint8_t *got;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_bytes(&w, NULL, 0);
    wire_put_bytes(&w, "hello", 5);
    wire_put_bytes(&w, NULL, 0);
    cr_assert(not(w.overflow));
    cr_assert(eq(sz, w.off, 5));
    cr_assert(eq(int, memcmp(buf, "hello", 5), 0));

    wire_reader_init(&r, buf, sizeof(buf));
    got = wire_get_bytes(&r, 2, "head");
    cr_assert(eq(ptr, (void *)got, (void *)buf));
    got = wire_get_bytes(&r, 3, "tail");
    cr_assert(eq(ptr, (void *)got, (void *)(buf + 2)));
    got = wire_get_bytes(&r, 0, "nothing");
    cr_assert(eq(ptr, (void *)got, (void *)(buf + 5)));
    cr_assert(not(r.short_));
    cr_assert(eq(sz, r.left, 0));
}

/* For every capacity from 0 to the whole message, writing the whole
 * message overflows exactly when it is too small, never writes past the
 * capacity, and stops at the first put that did not fit. */
Test(wire, overflow_at_every_boundary_is_sticky)
{
    /* 1 + 2 + 4 + 8 + 3 bytes */
    const size_t total = 18;

    for (size_t cap = 0; cap <= total; cap++) {
        uint8_t buf[32];
        struct wire_writer w;

        memset(buf, 0xee, sizeof(buf));
        wire_writer_init(&w, buf, cap);
        wire_put_u8(&w, 0x11);
        wire_put_u16(&w, 0x2222);
        wire_put_u32(&w, 0x33333333);
        wire_put_u64(&w, 0x4444444444444444ULL);
        wire_put_bytes(&w, "\x55\x55\x55", 3);
        if (cap < total) {
            size_t fit = cap < 1    ? 0
                         : cap < 3  ? 1
                         : cap < 7  ? 3
                         : cap < 15 ? 7
                                    : 15;

            cr_assert(w.overflow, "capacity %zu", cap);
            cr_assert(eq(sz, w.off, fit), "capacity %zu", cap);
        } else {
            cr_assert(not(w.overflow), "capacity %zu", cap);
            cr_assert(eq(sz, w.off, total));
        }
        for (size_t i = cap; i < sizeof(buf); i++)
            cr_assert(eq(u8, buf[i], 0xee), "capacity %zu wrote byte %zu", cap,
                      i);
    }
}

Test(wire, overflow_stops_later_puts_that_would_fit)
{
    uint8_t buf[4];
    struct wire_writer w;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_u64(&w, 1);
    wire_put_u8(&w, 1);
    wire_put_bytes(&w, "x", 1);
    cr_assert(w.overflow);
    cr_assert(eq(sz, w.off, 0));
}

Test(wire, null_writer_of_no_capacity_only_overflows)
{
    struct wire_writer w;

    wire_writer_init(&w, NULL, 0);
    wire_put_bytes(&w, NULL, 0);
    cr_assert(not(w.overflow));
    wire_put_u8(&w, 1);
    cr_assert(w.overflow);
    cr_assert(eq(sz, w.off, 0));
}

/* Every prefix of a message reads short at the first field that does not
 * fit, names that field, consumes nothing more and returns zeros. */
Test(wire, short_read_at_every_boundary_names_the_first_field)
{
    static const char *const fields[] = {"u8", "u16", "u32", "u64", "bytes"};
    static const size_t ends[] = {1, 3, 7, 15, 18};
    uint8_t buf[18];
    struct wire_writer w;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_u8(&w, 0x11);
    wire_put_u16(&w, 0x2222);
    wire_put_u32(&w, 0x33333333);
    wire_put_u64(&w, 0x4444444444444444ULL);
    wire_put_bytes(&w, "\x55\x55\x55", 3);
    cr_assert(not(w.overflow));

    for (size_t len = 0; len <= sizeof(buf); len++) {
        struct wire_reader r;
        uint64_t v[4];
        const uint8_t *b;
        size_t first = 0;

        while (first < 5 && ends[first] <= len)
            first++;
        wire_reader_init(&r, buf, len);
        v[0] = wire_get_be(&r, 1, fields[0]);
        v[1] = wire_get_be(&r, 2, fields[1]);
        v[2] = wire_get_be(&r, 4, fields[2]);
        v[3] = wire_get_be(&r, 8, fields[3]);
        b = wire_get_bytes(&r, 3, fields[4]);
        if (first == 5) {
            cr_assert(not(r.short_), "length %zu", len);
            cr_assert(eq(ptr, (void *)r.short_field, NULL));
            cr_assert(eq(ptr, (void *)b, (void *)(buf + 15)));
            cr_assert(eq(sz, r.left, 0));
            continue;
        }
        cr_assert(r.short_, "length %zu", len);
        cr_assert(eq(str, (char *)r.short_field, (char *)fields[first]),
                  "length %zu", len);
        cr_assert(eq(ptr, (void *)b, NULL), "length %zu", len);
        for (size_t i = first; i < 4; i++)
            cr_assert(eq(u64, v[i], 0), "length %zu field %zu", len, i);
        /* nothing after the last whole field was consumed */
        cr_assert(eq(sz, r.left, len - (first ? ends[first - 1] : 0)),
                  "length %zu", len);
    }
}

Test(wire, short_read_is_sticky_even_for_what_would_fit)
{
    const uint8_t buf[] = {0xab, 0xcd};
    struct wire_reader r;

    wire_reader_init(&r, buf, sizeof(buf));
    cr_assert(eq(u32, wire_get_u32(&r), 0));
    cr_assert(r.short_);
    cr_assert(eq(ptr, (void *)r.short_field, NULL));
    cr_assert(eq(u8, wire_get_u8(&r), 0));
    cr_assert(eq(u64, wire_get_be(&r, 1, "later"), 0));
    cr_assert(eq(ptr, (void *)r.short_field, NULL), "only the first counts");
    cr_assert(eq(ptr, (void *)wire_get_bytes(&r, 0, "empty"), NULL));
    cr_assert(eq(sz, r.left, 2));
}

Test(wire, empty_reader_reads_nothing)
{
    struct wire_reader r;

    wire_reader_init(&r, NULL, 0);
    wire_get_bytes(&r, 0, "empty");
    cr_assert(not(r.short_));
    cr_assert(eq(u8, wire_get_u8(&r), 0));
    cr_assert(r.short_);
}

Test(wire, width_out_of_range_is_a_bug, .signal = SIGABRT)
{
    uint8_t buf[16];
    struct wire_writer w;

    wire_writer_init(&w, buf, sizeof(buf));
    wire_put_be(&w, 0, 9);
}

Test(wire, bytes_helpers_agree_with_the_writer)
{
    uint8_t a[8], b[8];
    struct wire_writer w;

    bytes_put_be64(a, wire_test_value);
    wire_writer_init(&w, b, sizeof(b));
    wire_put_u64(&w, wire_test_value);
    cr_assert(eq(int, memcmp(a, b, 8), 0));
    cr_assert(eq(u64, bytes_get_be64(a), wire_test_value));
    cr_assert(eq(u64, bytes_get_be(a + 4, 4), 0x05060708));
}
