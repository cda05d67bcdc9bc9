/* SPDX-License-Identifier: MIT */
/* ckpt_service_private.h - the state the modules of the checkpoint service
 * share: the service itself, its counters and limits, and small helpers.
 *
 * The service (ckpt_service.h) is split by job: ckpt_rep.h (the
 * ckpt.replicate op), ckpt_partners.h (which nodes keep the copies),
 * ckpt_fetch.h (the ckpt.fetch op), ckpt_send.h (the sending side of a
 * copy), ckpt_recv.h (the receiving side: staging, resume, hashing,
 * install), ckpt_catalog.h (ckpt.list and ckpt.remove), ckpt_survey.h
 * (ckpt.pool-list, LIST and LISTED), ckpt_work.h (what
 * runs on libuv's thread pool) and ckpt_node.h (frames to nodes and the
 * words for their failures). ckpt_service.c ties them to the daemon:
 * frames, member events, the tick, counters. Everything runs on the
 * daemon's loop; nothing here is thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_SERVICE_PRIVATE_H
#define SHOAL_RUNTIME_CKPT_CKPT_SERVICE_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_seen.h"
#include "runtime/ckpt/ckpt_service.h"

enum ckpt_service_limit {
    CKPT_TICK_MS = 250,
    CKPT_SWEEP_MS = 3600 * 1000, /* between two sweeps of old jobs */
    CKPT_ERRORS_MAX = 1536,      /* bytes of the text naming the nodes tried */
    CKPT_LIST_DEPTH = CKPT_KEY_DEPTH,
    CKPT_SEEN_MAX = 64, /* versions remembered as hashed */
};

struct ckpt_stats {
    uint64_t malformed; /* frames refused */
    uint64_t copies_sent;
    uint64_t copies_received;
    uint64_t copies_failed;
    uint64_t copies_bad; /* received copies that did not match (found
                          * here, or by the sender as it sent them) */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t bytes_resumed;
    uint64_t fetches;
    uint64_t fetches_failed;
};

struct ckpt_rep;
struct ckpt_fetch;
struct ckpt_send;
struct ckpt_recv;
struct ckpt_survey;

struct ckpt_service {
    daemon_t *d;
    uv_loop_t *loop;
    char *state;
    uv_timer_t tick;
    uint64_t next_xid;
    uint32_t chunk;
    uint64_t window;
    uint64_t timeout_ms;
    double retain;     /* seconds old jobs' checkpoints are kept */
    uint64_t swept_ms; /* the last sweep */
    uint8_t *buf;
    struct ckpt_rep *reps;
    struct ckpt_fetch *fetches;
    struct ckpt_send *sends;
    struct ckpt_recv *recvs;
    struct ckpt_survey *surveys; /* ckpt.pool-list ops waiting */
    struct ckpt_stats stats;
    ckpt_seen_t *seen;
    int working; /* work items on the thread pool */
    bool closed; /* destroyed while some were: they only free themselves */
};

static inline uint64_t ckpt_now(struct ckpt_service *svc)
{
    return uv_now(svc->loop);
}

/* Read the integer member name of req into *v: at least min and at most
 * INT32_MAX, else -EINVAL. */
static inline int
ckpt_get_version(json_t *req, const char *name, int *v, int min)
{
    json_t *j = json_object_get(req, name);

    if (!json_is_integer(j) || json_integer_value(j) < min
        || json_integer_value(j) > INT32_MAX)
        return -EINVAL;
    *v = (int)json_integer_value(j);
    return 0;
}

/* Append to the CKPT_ERRORS_MAX bytes of text at buf, as far as it fits. */
static inline void ckpt_appendf(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void ckpt_appendf(char *buf, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    if (n + 1 >= CKPT_ERRORS_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, CKPT_ERRORS_MAX - n, fmt, ap);
    va_end(ap);
}

#endif
