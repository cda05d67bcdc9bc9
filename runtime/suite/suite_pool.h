/* SPDX-License-Identifier: MIT */
/* suite_pool.h - the pool a suite runs on, as this node's daemon sees it.
 *
 * A suite's gang jobs go to the pool when this node's daemon answers (as
 * `shoal run` does, SHOAL_POOL=auto), so what the pool was like belongs
 * with the figures: every node's name, state, owner state, topology and
 * load when the run starts, and every node's load after each repetition.
 * The loads are those the nodes gossip (their 1-minute load average, a
 * second or so old), so they include the benchmark's own ranks: they are
 * kept for the reader, never used to flag a repetition (the local noise
 * measures of suite_noise.h do that).
 *
 * Talks to the daemon over its control socket; blocking, at most
 * SUITE_POOL_TIMEOUT_MS per call. */
#ifndef SHOAL_SUITE_POOL_H
#define SHOAL_SUITE_POOL_H

#include <stddef.h>

#include <jansson.h>
#include <shoal/error.h>

#define SUITE_POOL_TIMEOUT_MS 2000

struct suite_pool_node {
    char *name;
    char *state;    /* "alive", "suspect", "dead", ... */
    char *owner;    /* "dedicated", "away", "present", ... */
    char *topology; /* hwloc synthetic description */
    int cores, cores_free;
    double load;
};

struct suite_pool {
    struct suite_pool_node *nodes;
    size_t count;
};

/* Fill pool from a daemon's "status" reply (its members). Returns 0, or
 * -EINVAL with error filled when the reply is not one, or -ENOMEM. Pure. */
int suite_pool_from_status(const json_t *reply,
                           struct suite_pool *pool,
                           shoal_error_t *error);

/* Ask the daemon of the state directory (statedir_resolve(NULL)) for the
 * pool. Returns 0 and fills pool; -ENOENT when no daemon answers there,
 * or SHOAL_POOL is "no" (the suite's jobs then run on this machine, and
 * there is no pool to describe); another negative code with error filled
 * when the daemon answers but not as expected. */
int suite_pool_snapshot(struct suite_pool *pool, shoal_error_t *error);

/* Free what pool holds; a zeroed pool is accepted. */
void suite_pool_release(struct suite_pool *pool);

#endif
