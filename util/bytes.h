/* SPDX-License-Identifier: MIT */
/* bytes.h - 64-bit integers in network (big-endian) byte order, as the
 * daemons' messages carry node and job ids. */
#ifndef SHOAL_UTIL_BYTES_H
#define SHOAL_UTIL_BYTES_H

#include <stdint.h>

static inline void bytes_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t bytes_get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
