/* SPDX-License-Identifier: MIT */
/* claim_wire.c - encode and decode the core-claim messages.
 *
 * Decoding reads through a cursor that refuses to move past its end, so
 * no read depends on a length field being honest. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <hwloc.h>

#include "scheduler/claim_wire.h"

enum { CLAIM_WIRE_HEAD = 1 + 1 + 8 + 4 };

struct claim_cursor {
    const uint8_t *p;
    size_t left;
    bool short_;
};

static uint64_t claim_get(struct claim_cursor *c, size_t n)
{
    uint64_t v = 0;

    if (c->short_ || n > c->left) {
        c->short_ = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | c->p[i];
    c->p += n;
    c->left -= n;
    return v;
}

static uint8_t *claim_put(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return p + n;
}

/* Ranges of a bitmap, or -1 when it cannot travel. */
static int claim_ranges(hwloc_const_bitmap_t cores)
{
    int ranges = 0;
    int prev = -2;
    int core;

    if (!cores || hwloc_bitmap_weight(cores) < 0)
        return -1;
    if (hwloc_bitmap_last(cores) > CLAIM_WIRE_CORE_MAX)
        return -1;
    hwloc_bitmap_foreach_begin(core, cores)
    {
        if (core != prev + 1)
            ranges++;
        prev = core;
    }
    hwloc_bitmap_foreach_end();
    return ranges <= CLAIM_WIRE_RANGES_MAX ? ranges : -1;
}

static bool claim_kind_known(enum claim_msg_kind kind)
{
    return kind >= CLAIM_MSG_CLAIM && kind <= CLAIM_MSG_RENEW;
}

size_t claim_wire_size(const struct claim_msg *msg)
{
    int ranges = 0;

    if (!claim_kind_known(msg->kind))
        return 0;
    if (msg->kind == CLAIM_MSG_CLAIM || msg->kind == CLAIM_MSG_REFUSE) {
        ranges = claim_ranges(msg->cores);
        if (ranges < 0 || (msg->kind == CLAIM_MSG_CLAIM && ranges == 0))
            return 0;
    }
    switch (msg->kind) {
    case CLAIM_MSG_CLAIM:
        return CLAIM_WIRE_HEAD + 8 + 4 + 2 + 4 * (size_t)ranges;
    case CLAIM_MSG_REFUSE:
        return CLAIM_WIRE_HEAD + 2 + 4 * (size_t)ranges;
    case CLAIM_MSG_RENEW:
        return CLAIM_WIRE_HEAD + 4;
    default:
        return CLAIM_WIRE_HEAD;
    }
}

static uint8_t *claim_put_cores(uint8_t *p, hwloc_const_bitmap_t cores)
{
    uint8_t *count = p;
    int ranges = 0;
    int first = -1;
    int prev = -2;
    int core;

    p += 2;
    hwloc_bitmap_foreach_begin(core, cores)
    {
        if (core != prev + 1) {
            if (first >= 0) {
                p = claim_put(p, (uint64_t)first, 2);
                p = claim_put(p, (uint64_t)prev, 2);
            }
            first = core;
            ranges++;
        }
        prev = core;
    }
    hwloc_bitmap_foreach_end();
    if (first >= 0) {
        p = claim_put(p, (uint64_t)first, 2);
        p = claim_put(p, (uint64_t)prev, 2);
    }
    claim_put(count, (uint64_t)ranges, 2);
    return p;
}

int claim_wire_encode(const struct claim_msg *msg,
                      void *buf,
                      size_t size,
                      size_t *len)
{
    size_t need = claim_wire_size(msg);
    uint8_t *p = buf;

    if (need == 0)
        return -EINVAL;
    if (need > size)
        return -EMSGSIZE;
    p = claim_put(p, CLAIM_WIRE_VERSION, 1);
    p = claim_put(p, (uint64_t)msg->kind, 1);
    p = claim_put(p, msg->job, 8);
    p = claim_put(p, msg->attempt, 4);
    switch (msg->kind) {
    case CLAIM_MSG_CLAIM:
        p = claim_put(p, msg->home, 8);
        p = claim_put(p, msg->lease_ms, 4);
        p = claim_put_cores(p, msg->cores);
        break;
    case CLAIM_MSG_REFUSE:
        p = claim_put_cores(p, msg->cores);
        break;
    case CLAIM_MSG_RENEW:
        p = claim_put(p, msg->lease_ms, 4);
        break;
    default:
        break;
    }
    *len = (size_t)(p - (uint8_t *)buf);
    return 0;
}

static int claim_get_cores(struct claim_cursor *c,
                           hwloc_bitmap_t cores,
                           shoal_error_t *error)
{
    uint64_t ranges = claim_get(c, 2);
    long prev = -2;

    if (c->short_)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: truncated core list");
    if (ranges > c->left / 4)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: %llu core ranges in %zu bytes",
                               (unsigned long long)ranges, c->left);
    for (uint64_t i = 0; i < ranges; i++) {
        long first = (long)claim_get(c, 2);
        long last = (long)claim_get(c, 2);

        if (first > last || first <= prev + 1)
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "claim message: bad core range %ld-%ld",
                                   first, last);
        if (hwloc_bitmap_set_range(cores, (unsigned)first, (int)last) < 0)
            return -ENOMEM;
        prev = last;
    }
    return 0;
}

int claim_wire_decode(const void *buf,
                      size_t len,
                      struct claim_msg *msg,
                      shoal_error_t *error)
{
    struct claim_cursor c = {.p = buf, .left = len};
    struct claim_msg out = {0};
    unsigned version;
    int rc = 0;

    if (!buf || len < CLAIM_WIRE_HEAD)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: %zu bytes, too short", len);
    version = (unsigned)claim_get(&c, 1);
    if (version != CLAIM_WIRE_VERSION)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: unknown version %u", version);
    out.kind = (enum claim_msg_kind)claim_get(&c, 1);
    if (!claim_kind_known(out.kind))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: unknown kind %d", (int)out.kind);
    out.job = claim_get(&c, 8);
    out.attempt = (uint32_t)claim_get(&c, 4);
    if (out.kind == CLAIM_MSG_CLAIM) {
        out.home = claim_get(&c, 8);
        out.lease_ms = (uint32_t)claim_get(&c, 4);
    } else if (out.kind == CLAIM_MSG_RENEW) {
        out.lease_ms = (uint32_t)claim_get(&c, 4);
    }
    if (out.kind == CLAIM_MSG_CLAIM || out.kind == CLAIM_MSG_REFUSE) {
        out.cores = hwloc_bitmap_alloc();
        if (!out.cores)
            return -ENOMEM;
        rc = claim_get_cores(&c, out.cores, error);
        if (rc == 0 && out.kind == CLAIM_MSG_CLAIM
            && hwloc_bitmap_iszero(out.cores))
            rc = shoal_errprintf(error, SHOAL_EPROTO,
                                 "claim message: a claim of no cores");
    }
    if (rc == 0 && c.short_)
        rc = shoal_errprintf(error, SHOAL_EPROTO, "claim message: truncated %s",
                             claim_msg_kind_name(out.kind));
    if (rc == 0 && c.left > 0)
        rc = shoal_errprintf(error, SHOAL_EPROTO,
                             "claim message: %zu trailing bytes", c.left);
    if (rc < 0) {
        hwloc_bitmap_free(out.cores);
        return rc;
    }
    *msg = out;
    return 0;
}

void claim_msg_release(struct claim_msg *msg)
{
    if (!msg)
        return;
    hwloc_bitmap_free(msg->cores);
    msg->cores = NULL;
}

const char *claim_msg_kind_name(enum claim_msg_kind kind)
{
    switch (kind) {
    case CLAIM_MSG_CLAIM:
        return "claim";
    case CLAIM_MSG_GRANT:
        return "grant";
    case CLAIM_MSG_REFUSE:
        return "refuse";
    case CLAIM_MSG_RELEASE:
        return "release";
    case CLAIM_MSG_RENEW:
        return "renew";
    }
    return "unknown";
}
