/* SPDX-License-Identifier: MIT */
/* gang.h - the home side of an all-or-nothing gang claim.
 *
 * A pure state machine: the caller feeds it placements, answers and
 * timer ticks (time in milliseconds on its monotonic clock) and sends the
 * messages it emits, in order per node, draining them after every call.
 * One attempt claims every node's cores at once. On the first refusal (or
 * a node silent past the reply timeout) it releases every claim of the
 * attempt, waits a randomized exponential backoff, and asks the caller for
 * a fresh placement: holding nothing while waiting is what keeps two homes
 * contending for the same cores from deadlocking, and the random wait is
 * what lets one of them win.
 * Past the overall timeout it releases everything and fails with
 * SHOAL_ENOSLOTS.
 *
 * Phases:
 *
 *   PLACE --gang_start()--> CLAIMING --all granted--> GRANTED
 *     ^                        | refused / silent
 *     |                        v
 *     +--timer------------- BACKOFF     (any phase but GRANTED, past the
 *                                        timeout: FAILED)
 *
 * gang_place_failed() in PLACE (the fresh snapshot has too few free
 * cores) backs off too. Answers of an earlier attempt are ignored: the
 * release sent after each claim travels behind it on the same ordered
 * channel, so the node has already undone them. Not thread-safe. */
#ifndef SHOAL_SCHEDULER_GANG_H
#define SHOAL_SCHEDULER_GANG_H

#include <stdbool.h>
#include <stdint.h>
#include <hwloc.h>

#include <shoal/error.h>

#include "scheduler/claim_wire.h"

typedef struct gang gang_t;

enum gang_phase {
    GANG_PLACE,    /* waiting for gang_start() with a fresh placement */
    GANG_CLAIMING, /* claims sent, answers awaited */
    GANG_BACKOFF,  /* holding nothing, waiting for the timer */
    GANG_GRANTED,  /* every node granted: launch, then gang_confirm() */
    GANG_FAILED,   /* timed out or cancelled; gang_status() says why */
    GANG_RELEASED, /* granted, then given back with gang_release() */
};

struct gang_config {
    uint64_t job;
    uint64_t home;           /* this node */
    uint32_t lease_ms;       /* lease of each claim; 0: 10000 */
    uint64_t reply_ms;       /* a node silent this long refused; 0: 2000 */
    uint64_t timeout_ms;     /* give up after; 0: 30000 */
    uint64_t backoff_min_ms; /* first backoff bound; 0: 10 */
    uint64_t backoff_max_ms; /* largest backoff bound; 0: 1000 */
    uint64_t seed;           /* of the backoff jitter */
};

/* The cores to claim from one node. */
struct gang_target {
    uint64_t node;
    hwloc_const_bitmap_t cores; /* logical core indexes; copied */
};

/* Create a gang claim in phase PLACE; the timeout counts from now.
 * Returns 0 and sets *out (free with gang_destroy()), or -ENOMEM. */
int gang_create(const struct gang_config *config, uint64_t now, gang_t **out);

/* Free the state; NULL is accepted. Emits nothing: release first. */
void gang_destroy(gang_t *gang);

/* Start an attempt on a placement: emits one claim per target. Only in
 * phase PLACE; returns 0, -EINVAL (wrong phase, no targets, a node twice
 * or an empty core set; nothing changes) or -ENOMEM. */
int gang_start(gang_t *gang,
               const struct gang_target *targets,
               int ntargets,
               uint64_t now);

/* The placement on a fresh snapshot failed for want of free cores: back
 * off and ask again (or fail past the timeout). Only in phase PLACE;
 * returns 0 or -EINVAL. */
int gang_place_failed(gang_t *gang, uint64_t now);

/* A node's answer to attempt. Answers from nodes not in the attempt, of
 * other attempts, or in other phases are ignored. Return 0. */
int gang_on_grant(gang_t *gang, uint64_t node, uint32_t attempt, uint64_t now);
int gang_on_refuse(gang_t *gang, uint64_t node, uint32_t attempt, uint64_t now);

/* The clock reached gang_next_timer(): handle reply timeouts, the end of
 * a backoff and the overall timeout. Returns 0. */
int gang_on_timer(gang_t *gang, uint64_t now);

/* When gang_on_timer() is next due; UINT64_MAX when nothing is (GRANTED,
 * FAILED). */
uint64_t gang_next_timer(const gang_t *gang);

/* Confirm a granted gang (the job was launched): emits a renew with an
 * endless lease to every node. Returns 0, or -EINVAL outside GRANTED. */
int gang_confirm(gang_t *gang);

/* Give the cores back (the job ended, or the caller gives up): emits a
 * release to every node that may hold a claim of the current attempt,
 * and enters RELEASED if it was GRANTED, else FAILED with status
 * -ECANCELED (an already FAILED gang keeps its status). Returns 0 or
 * -ENOMEM. Messages emitted must be sent (drain gang_next_message()
 * after every call), in order per node. */
int gang_release(gang_t *gang);

/* Pop the next message to send into *msg and *node; returns false when
 * there is none. msg->cores is borrowed from the gang, valid until its
 * next call. */
bool gang_next_message(gang_t *gang, uint64_t *node, struct claim_msg *msg);

enum gang_phase gang_phase(const gang_t *gang);

/* 0 while not failed; SHOAL_ENOSLOTS after a timeout; -ECANCELED after
 * gang_release() of an unfinished claim. With error, the failure in
 * words. */
int gang_status(const gang_t *gang, shoal_error_t *error);

/* The current attempt number (1 for the first). */
uint32_t gang_attempt(const gang_t *gang);

/* The targets of the current attempt (borrowed, valid until the next
 * gang_start()). */
int gang_targets(const gang_t *gang, const struct gang_target **targets);

#endif
