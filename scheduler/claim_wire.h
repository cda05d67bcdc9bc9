/* SPDX-License-Identifier: MIT */
/* claim_wire.h - the core-claim messages and their binary encoding.
 *
 * They travel between daemons as sealed frames whose type byte is the
 * message kind (16-31, see the pool plan). The body is big-endian:
 *
 *   u8 version (1), u8 kind, u64 job, u32 attempt
 *   claim:   u64 home, u32 lease ms, cores
 *   grant:   (nothing)
 *   refuse:  cores (the busy ones)
 *   release: (nothing)
 *   renew:   u32 lease ms (CLAIM_WIRE_LEASE_FOREVER: the job runs)
 *   cores:   u16 range count, then per range u16 first, u16 last
 *            (inclusive, ascending, not touching: "0-3,6" is 2 ranges)
 *
 * Leases travel as durations, not deadlines: clocks of two nodes need
 * not agree. The decoder trusts nothing: garbage gives SHOAL_EPROTO,
 * never a crash. Pure and thread-safe. */
#ifndef SHOAL_SCHEDULER_CLAIM_WIRE_H
#define SHOAL_SCHEDULER_CLAIM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <hwloc.h>

#include <shoal/error.h>

enum claim_wire_limit {
    CLAIM_WIRE_VERSION = 1,
    CLAIM_WIRE_CORE_MAX = 65535, /* the highest core index that travels */
    CLAIM_WIRE_RANGES_MAX = 4096,
};

#define CLAIM_WIRE_LEASE_FOREVER UINT32_MAX

/* The kinds double as the seal type byte. */
enum claim_msg_kind {
    CLAIM_MSG_CLAIM = 16,
    CLAIM_MSG_GRANT = 17,
    CLAIM_MSG_REFUSE = 18,
    CLAIM_MSG_RELEASE = 19,
    CLAIM_MSG_RENEW = 20,
};

struct claim_msg {
    enum claim_msg_kind kind;
    uint64_t job;
    uint32_t attempt;
    uint64_t home;        /* claim */
    uint32_t lease_ms;    /* claim, renew */
    hwloc_bitmap_t cores; /* claim: wanted; refuse: busy; else unused.
                           * The encoder borrows it; the decoder allocates
                           * it (release with claim_msg_release()). */
};

/* Bytes msg takes, or 0 when it cannot be encoded (see below). */
size_t claim_wire_size(const struct claim_msg *msg);

/* Encode msg into buf (size bytes) and set *len. Returns 0, -EMSGSIZE if
 * it does not fit, or -EINVAL for a message that could not be decoded:
 * unknown kind, claim with no cores, cores missing or above
 * CLAIM_WIRE_CORE_MAX or in more than CLAIM_WIRE_RANGES_MAX ranges. */
int claim_wire_encode(const struct claim_msg *msg,
                      void *buf,
                      size_t size,
                      size_t *len);

/* Decode len bytes of buf into *msg. Returns 0, SHOAL_EPROTO with error
 * (may be NULL) saying what is wrong, or -ENOMEM. On success release msg
 * with claim_msg_release(); on failure it needs none. */
int claim_wire_decode(const void *buf,
                      size_t len,
                      struct claim_msg *msg,
                      shoal_error_t *error);

/* Free what claim_wire_decode() allocated; NULL is accepted. */
void claim_msg_release(struct claim_msg *msg);

/* "claim", "grant", "refuse", "release", "renew", or "unknown". */
const char *claim_msg_kind_name(enum claim_msg_kind kind);

#endif
