/* SPDX-License-Identifier: MIT */
/* claim.h - the ledger of one node's cores: who holds which.
 *
 * Each node is the sole authority over its own cores. A job's home node
 * asks for a set of cores (a claim); the ledger grants all of them or
 * refuses, naming the busy ones, and never grants a part. A granted claim
 * carries a lease: if the home does not confirm it (the job started) or
 * renew it before the deadline, claim_ledger_expire() frees the cores, so
 * a home that crashed between claim and launch leaks nothing. A confirmed
 * claim lasts until released, or until its home is declared dead.
 *
 * The ledger is pure: no clock, no I/O; time comes in as milliseconds on
 * the caller's monotonic clock. Every change bumps a generation counter
 * that travels in the node's membership record, so a placement made on an
 * older snapshot is visibly stale. Not thread-safe. */
#ifndef SHOAL_SCHEDULER_CLAIM_H
#define SHOAL_SCHEDULER_CLAIM_H

#include <stdint.h>
#include <hwloc.h>

#include <shoal/error.h>

typedef struct claim_ledger claim_ledger_t;

/* A lease that never lapses: the job is running. */
#define CLAIM_FOREVER UINT64_MAX

/* Create a ledger lending the cores of lendable (logical core indexes;
 * copied). Returns 0 and sets *out (free with claim_ledger_destroy()), or
 * -ENOMEM. */
int claim_ledger_create(hwloc_const_bitmap_t lendable, claim_ledger_t **out);

/* Free the ledger; NULL is accepted. */
void claim_ledger_destroy(claim_ledger_t *ledger);

/* Change the cores the node lends (its owner came back, or left).
 * Claims already granted are kept: they end by release or lease. Bumps
 * the generation when the set changes. Returns 0 or -ENOMEM. */
int claim_ledger_set_lendable(claim_ledger_t *ledger,
                              hwloc_const_bitmap_t lendable);

/* Claim cores for job (from home, attempt as the home numbers its
 * tries) until deadline. Grants when every core is lendable and held by
 * no other job: returns 0. Otherwise returns -EBUSY and, when busy is not
 * NULL, sets it to the cores that are in use or not lent; nothing
 * changes. An empty set is -EINVAL.
 *
 * Idempotent: a claim repeating the cores the job holds is granted again
 * (its deadline becomes the later of both, its attempt the new one). A
 * claim for other cores by a job holding some replaces its claim when
 * granted (the cores the job holds count as free for it) and leaves it
 * alone when refused. */
int claim_ledger_claim(claim_ledger_t *ledger,
                       uint64_t job,
                       uint64_t home,
                       uint32_t attempt,
                       hwloc_const_bitmap_t cores,
                       uint64_t deadline,
                       hwloc_bitmap_t busy);

/* Set the lease of job's claim to deadline (CLAIM_FOREVER confirms it:
 * the job runs). Returns 0, or -ENOENT when job holds nothing here (its
 * lease lapsed, or it was released). */
int claim_ledger_renew(claim_ledger_t *ledger, uint64_t job, uint64_t deadline);

/* Free job's cores. Returns the number of cores freed (0 when the job held
 * none: releasing twice is harmless). */
int claim_ledger_release(claim_ledger_t *ledger, uint64_t job);

/* Free every claim of home (declared dead). Returns the cores freed. */
int claim_ledger_release_home(claim_ledger_t *ledger, uint64_t home);

/* Free the claims whose deadline is before or at now. Returns the cores
 * freed. */
int claim_ledger_expire(claim_ledger_t *ledger, uint64_t now);

/* The earliest deadline of a claim not confirmed, or CLAIM_FOREVER: when
 * to call claim_ledger_expire() next. */
uint64_t claim_ledger_next_deadline(const claim_ledger_t *ledger);

/* Set out to the free cores: lendable and claimed by no job. Returns 0 or
 * -ENOMEM. */
int claim_ledger_free_cores(const claim_ledger_t *ledger, hwloc_bitmap_t out);

/* Set out to the cores job holds (empty when none). Returns 0 or -ENOMEM. */
int claim_ledger_job_cores(const claim_ledger_t *ledger,
                           uint64_t job,
                           hwloc_bitmap_t out);

/* Number of claims held. */
int claim_ledger_count(const claim_ledger_t *ledger);

/* The generation: starts at 1, bumped by every change. */
uint64_t claim_ledger_generation(const claim_ledger_t *ledger);

#endif
