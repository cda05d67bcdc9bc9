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
 *            where DESC is {"env": [S...], "wdir": S, "time_limit": T} and
 *            each LEASE also carries "argv": the task's command, expanded
 *   RENEW    {"leases": [LEASE...]}, each LEASE with "started": T once
 *            its task runs on the worker (absent while it waits for cores)
 *   RENEWED  {"lost": [LEASE...]}
 *   RESULT   {"results": [RESULT...]}, a RESULT with "vacated": true
 *            when the node's owner ended the task (queued again, no
 *            retry used)
 *   RESULT_ACK {"acks": [ACK...]}, where ACK is {"job", "task", "attempt",
 *            "recorded"}: the home is done with that result, recorded
 *            (true) or refused as stale or a duplicate (false)
 *   CANCEL   {"job": ID}
 *   POKE     {}
 *   FETCH    {"req": N, "stdout": PATH, "stderr": PATH, "counters"?: PATH}
 *   FETCHED  {"req": N, "stdout": B64, "stderr": B64, "counters"?: B64} or
 *            {"req": N, "error": TEXT}
 * where LEASE is {"job", "task", "attempt", "token", "cores", "expires"}. */
#ifndef SHOAL_RUNTIME_TASKS_TASK_WIRE_H
#define SHOAL_RUNTIME_TASKS_TASK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "runtime/tasks/journal.h"

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

/* One entry of a RESULT_ACK: the result of (job, task, attempt) is in the
 * home's journal, or will never be. */
struct task_wire_ack {
    uint64_t job;
    uint64_t task;
    uint32_t attempt;
    bool recorded; /* false: refused (stale, or recorded before) */
};

/* RESULT_ACK: encode as the encoders above; decode into a new array
 * (caller frees with free()) and *n. Returns 0, SHOAL_EPROTO or
 * -ENOMEM. */
char *
task_wire_acks_encode(const struct task_wire_ack *acks, size_t n, size_t *len);
int task_wire_acks_decode(const void *body,
                          size_t len,
                          struct task_wire_ack **acks,
                          size_t *n);

/* GRANT: jobs is an object mapping each job id (decimal text) to its
 * DESC (borrowed); argvs[i] is lease i's expanded command, a JSON array of
 * strings (borrowed). Returns a new JSON text as the encoders above. */
char *task_wire_grant_encode(json_t *jobs,
                             const struct journal_lease *leases,
                             json_t *const *argvs,
                             size_t n,
                             size_t *len);

/* CANCEL {"job": ID}. */
char *task_wire_job_encode(uint64_t job, size_t *len);
int task_wire_job_decode(const void *body, size_t len, uint64_t *job);

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

/* Bytes as base64 text (a new string, caller frees), or NULL on
 * allocation failure; and back (*out a new buffer the caller frees, with
 * a NUL after its *len bytes): 0, SHOAL_EPROTO or -ENOMEM. Task output
 * travels so between nodes, as it need not be UTF-8. */
char *task_wire_b64_encode(const void *data, size_t len);
int task_wire_b64_decode(const char *text, char **out, size_t *len);

/* Decode a GRANT, checking that every lease has a non-empty argv of
 * strings and that its job has a DESC with an env array of strings and an
 * absolute wdir. Sets *leases (caller frees with free()) and *n, and *doc
 * (caller decrefs): task_wire_grant_argv() and task_wire_grant_desc() read
 * it. Returns 0, SHOAL_EPROTO or -ENOMEM. */
int task_wire_grant_decode(const void *body,
                           size_t len,
                           json_t **doc,
                           struct journal_lease **leases,
                           size_t *n);

/* Lease i's argv, and job's DESC, in a decoded GRANT (borrowed from doc). */
json_t *task_wire_grant_argv(json_t *doc, size_t i);
json_t *task_wire_grant_desc(json_t *doc, uint64_t job);

/* FETCH: the home asks the node that ran a task for its output files.
 * req numbers the home's requests from 1 (at most INT64_MAX: it travels
 * as a JSON number); a path not given is NULL, and gets an "error"
 * answer. counters_path, optional, is the task's counters file (see
 * taskd.h), sent back too when it exists. */
struct task_wire_fetch {
    uint64_t req;
    const char *out_path, *err_path;
    const char *counters_path; /* or NULL */
};

/* FETCHED: the files' contents as base64 (out and err), or neither and
 * why not (error, NULL if the answer does not say); counters, the
 * counters file as base64, only beside out and err, and NULL when the
 * task wrote none (or a node that does not send it answered). */
struct task_wire_fetched {
    uint64_t req;
    const char *out, *err;
    const char *error;
    const char *counters; /* or NULL */
};

/* Encode as the encoders above (a FETCHED with out or err NULL is sent as
 * an error). Decode: 0 or SHOAL_EPROTO (no object, or req not a whole
 * number from 1); the strings are borrowed from *doc, which the caller
 * decrefs after use. A decoded FETCHED has both out and err or neither. */
char *task_wire_fetch_encode(const struct task_wire_fetch *m, size_t *len);
int task_wire_fetch_decode(const void *body,
                           size_t len,
                           json_t **doc,
                           struct task_wire_fetch *m);
char *task_wire_fetched_encode(const struct task_wire_fetched *m, size_t *len);
int task_wire_fetched_decode(const void *body,
                             size_t len,
                             json_t **doc,
                             struct task_wire_fetched *m);

#endif
