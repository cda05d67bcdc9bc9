/* SPDX-License-Identifier: MIT */
/* claim_wire.c - encode and decode the core-claim messages.
 *
 * Decoding reads through util/wire.h's reader, which refuses to move past
 * its end, so no read depends on a length field being honest. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <hwloc.h>

#include "scheduler/claim_wire.h"
#include "util/bug.h"
#include "util/wire.h"

enum { CLAIM_WIRE_HEAD = 1 + 1 + 8 + 4 };

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

/* A u16 count of ranges, then each range as u16 first and last core. */
static void claim_put_cores(struct wire_writer *w, hwloc_const_bitmap_t cores)
{
    int first = -1;
    int prev = -2;
    int core;

    wire_put_u16(w, (uint16_t)claim_ranges(cores));
    hwloc_bitmap_foreach_begin(core, cores)
    {
        if (core != prev + 1) {
            if (first >= 0) {
                wire_put_u16(w, (uint16_t)first);
                wire_put_u16(w, (uint16_t)prev);
            }
            first = core;
        }
        prev = core;
    }
    hwloc_bitmap_foreach_end();
    if (first >= 0) {
        wire_put_u16(w, (uint16_t)first);
        wire_put_u16(w, (uint16_t)prev);
    }
}

int claim_wire_encode(const struct claim_msg *msg,
                      void *buf,
                      size_t size,
                      size_t *len)
{
    size_t need = claim_wire_size(msg);
    struct wire_writer w;

    if (need == 0)
        return -EINVAL;
    if (need > size)
        return -EMSGSIZE;
    wire_writer_init(&w, buf, need);
    wire_put_u8(&w, CLAIM_WIRE_VERSION);
    wire_put_u8(&w, (uint8_t)msg->kind);
    wire_put_u64(&w, msg->job);
    wire_put_u32(&w, msg->attempt);
    switch (msg->kind) {
    case CLAIM_MSG_CLAIM:
        wire_put_u64(&w, msg->home);
        wire_put_u32(&w, msg->lease_ms);
        claim_put_cores(&w, msg->cores);
        break;
    case CLAIM_MSG_REFUSE:
        claim_put_cores(&w, msg->cores);
        break;
    case CLAIM_MSG_RENEW:
        wire_put_u32(&w, msg->lease_ms);
        break;
    default:
        break;
    }
    if (w.overflow || w.off != need)
        SHOAL_BUG("claim_wire_encode: message and claim_wire_size() disagree");
    *len = w.off;
    return 0;
}

static int claim_get_cores(struct wire_reader *r,
                           hwloc_bitmap_t cores,
                           shoal_error_t *error)
{
    uint64_t ranges = wire_get_u16(r);
    long prev = -2;

    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: truncated core list");
    if (ranges > r->left / 4)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: %llu core ranges in %zu bytes",
                               (unsigned long long)ranges, r->left);
    for (uint64_t i = 0; i < ranges; i++) {
        long first = (long)wire_get_u16(r);
        long last = (long)wire_get_u16(r);

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
    struct wire_reader r;
    struct claim_msg out = {0};
    unsigned version;
    int rc = 0;

    if (!buf || len < CLAIM_WIRE_HEAD)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: %zu bytes, too short", len);
    wire_reader_init(&r, buf, len);
    version = wire_get_u8(&r);
    if (version != CLAIM_WIRE_VERSION)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: unknown version %u", version);
    out.kind = (enum claim_msg_kind)wire_get_u8(&r);
    if (!claim_kind_known(out.kind))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "claim message: unknown kind %d", (int)out.kind);
    out.job = wire_get_u64(&r);
    out.attempt = wire_get_u32(&r);
    if (out.kind == CLAIM_MSG_CLAIM) {
        out.home = wire_get_u64(&r);
        out.lease_ms = wire_get_u32(&r);
    } else if (out.kind == CLAIM_MSG_RENEW) {
        out.lease_ms = wire_get_u32(&r);
    }
    if (out.kind == CLAIM_MSG_CLAIM || out.kind == CLAIM_MSG_REFUSE) {
        out.cores = hwloc_bitmap_alloc();
        if (!out.cores)
            return -ENOMEM;
        rc = claim_get_cores(&r, out.cores, error);
        if (rc == 0 && out.kind == CLAIM_MSG_CLAIM
            && hwloc_bitmap_iszero(out.cores))
            rc = shoal_errprintf(error, SHOAL_EPROTO,
                                 "claim message: a claim of no cores");
    }
    if (rc == 0 && r.short_)
        rc = shoal_errprintf(error, SHOAL_EPROTO, "claim message: truncated %s",
                             claim_msg_kind_name(out.kind));
    if (rc == 0 && r.left > 0)
        rc = shoal_errprintf(error, SHOAL_EPROTO,
                             "claim message: %zu trailing bytes", r.left);
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
