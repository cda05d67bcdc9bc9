/* SPDX-License-Identifier: MIT */
/* task_wire.h - bodies of the bag-of-tasks frames between daemons (types
 * TASKD_FRAME_*, 64-95), as compact JSON.
 *
 * The daemon seals and carries the frames; this module only turns the
 * pull protocol's messages into bytes and back, defensively: a body from
 * the network that does not decode is SHOAL_EPROTO, never a crash. Leases
 * travel with their token as a decimal string (JSON numbers lose 64-bit
 * precision in many decoders).
 *
 *   PULL     {"free": F, "want": W, "speed": S}
 *   GRANT    {"jobs": {ID: DESC...}, "leases": [LEASE...]}
 *   RENEW    {"leases": [LEASE...]}
 *   RENEWED  {"lost": [LEASE...]}
 *   RESULT   {"results": [RESULT...]}
 *   CANCEL   {"job": ID}
 *   POKE     {}
 * where LEASE is {"job", "task", "attempt", "token", "cores", "expires"}. */
#ifndef SHOAL_RUNTIME_TASK_WIRE_H
#define SHOAL_RUNTIME_TASK_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "runtime/journal.h"

struct task_wire_pull {
    int free_cores, want, speed;
};

/* Encode: each returns a new JSON text (caller frees with free()) and sets
 * *len, or NULL on allocation failure. */
char *task_wire_pull_encode(const struct task_wire_pull *m, size_t *len);
char *task_wire_leases_encode(const char *key,
                              const struct journal_lease *leases,
                              size_t n,
                              size_t *len);
char *task_wire_results_encode(const struct journal_result *results,
                               size_t n,
                               size_t *len);

/* Decode. Returns 0 or SHOAL_EPROTO. Leases and results are new arrays
 * (caller frees with free(); a result's strings are borrowed from *doc,
 * which the caller decrefs after use). */
int task_wire_pull_decode(const void *body,
                          size_t len,
                          struct task_wire_pull *m);
int task_wire_leases_decode(const void *body,
                            size_t len,
                            const char *key,
                            struct journal_lease **leases,
                            size_t *n);
int task_wire_results_decode(const void *body,
                             size_t len,
                             json_t **doc,
                             struct journal_result **results,
                             size_t *n);

#endif
