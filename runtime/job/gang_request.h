/* SPDX-License-Identifier: MIT */
/* gang_request.h - the "gang-claim" control request, as JSON.
 *
 * `shoal run` asks its node's daemon to place a gang job on the pool and
 * claim the cores (runtime/job/pool_remote.h writes the request,
 * runtime/job/gangd.h serves it) with one JSON object on the control
 * socket (runtime/daemon/control.h):
 *
 *   {"op": "gang-claim", "nranks": N, "map_by": L, "pe": P,
 *    "rank_by": L, "bind_to": B, "oversubscribe": b, "hwthread": b,
 *    "hosts": ["a:2", "b", ...], "timeout_ms": T}
 *
 * The levels and the binding are scheduler/map.h's enum values; a host is
 * a -H word ("name" or "name:slots"). nranks is required (0: one rank per
 * slot); every other key may be left out: 0, false, no hosts (the whole
 * pool) and GANG_REQUEST_TIMEOUT_MS. Keys the decoder does not know are
 * ignored, so an older daemon serves a newer front end.
 *
 * The decoder trusts nothing: every field is checked for its type and
 * range, and a request that fails names the field. Pure and thread-safe. */
#ifndef SHOAL_RUNTIME_JOB_GANG_REQUEST_H
#define SHOAL_RUNTIME_JOB_GANG_REQUEST_H

#include <stdint.h>

#include <jansson.h>

#include <shoal/error.h>

#include "scheduler/map.h"
#include "util/hostlist.h"

enum gang_request_limit {
    /* how long a job waits for free cores when the request does not say */
    GANG_REQUEST_TIMEOUT_MS = 30000,
    GANG_REQUEST_NRANKS_MAX = 1 << 24,
    GANG_REQUEST_PE_MAX = 4096,
};

struct gang_request {
    struct map_request map;
    const struct hostlist *hosts; /* -H and --hostfile; NULL: whole pool */
    int64_t timeout_ms;           /* how long to wait for free cores */
    bool exclusive;               /* --exclusive: whole nodes */
};

/* Encode req as a "gang-claim" request. Returns 0 and sets *out (a new
 * reference: the caller decrefs it), or -ENOMEM with error filled. req and
 * its hosts are borrowed for the call. */
int gang_request_encode(const struct gang_request *req,
                        json_t **out,
                        shoal_error_t *error);

/* Decode request (borrowed) into *req. The hosts are added to hosts (the
 * caller's, empty), and req->hosts points at it when any were given, else
 * is NULL. Returns 0; -EINVAL with error naming the malformed field
 * ("malformed gang-claim request: ..."); SHOAL_EUSAGE with error naming a
 * bad host ("bad host in request: ..."); or -ENOMEM. On failure hosts is
 * left empty. */
int gang_request_decode(const json_t *request,
                        struct gang_request *req,
                        struct hostlist *hosts,
                        shoal_error_t *error);

#endif
