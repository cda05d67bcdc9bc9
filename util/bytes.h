/* SPDX-License-Identifier: MIT */
/* bytes.h - integers in network (big-endian) byte order at a raw pointer,
 * as the daemons' messages carry node and job ids. The caller vouches for
 * the room; util/wire.h checks it. */
#ifndef SHOAL_UTIL_BYTES_H
#define SHOAL_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Store v's low width bytes (at most 8) at p, most significant first. */
static inline void bytes_put_be(uint8_t *p, uint64_t v, size_t width)
{
    for (size_t i = width; i > 0; i--) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
}

/* The width-byte (at most 8) big-endian integer at p. */
static inline uint64_t bytes_get_be(const uint8_t *p, size_t width)
{
    uint64_t v = 0;

    for (size_t i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void bytes_put_be64(uint8_t *p, uint64_t v)
{
    bytes_put_be(p, v, 8);
}

static inline uint64_t bytes_get_be64(const uint8_t *p)
{
    return bytes_get_be(p, 8);
}

#endif
