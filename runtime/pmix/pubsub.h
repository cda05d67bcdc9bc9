/* SPDX-License-Identifier: MIT */
/* pubsub.h - the names a job's ranks publish (MPI_Publish_name through
 * PMIx_Publish), looked up and unpublished by the job's ranks.
 *
 * One table per job, held where every rank's request meets: the job's PMIx
 * server when one node holds the whole job, its coordinator (`shoal run`)
 * otherwise. A name is a key with an opaque value (the bytes the PMIx
 * server packed) and the rank that published it. Names are the job's:
 * they go with the table, whatever range or persistence a rank asked for.
 *
 * A lookup that must wait until its keys are all published (PMIX_WAIT) is
 * kept with a cookie of the caller's, and handed back by pubsub_ready()
 * once a publish completes it.
 *
 * Pure: no I/O, no threads; the caller serializes calls on one table. */
#ifndef SHOAL_RUNTIME_PMIX_PUBSUB_H
#define SHOAL_RUNTIME_PMIX_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pubsub pubsub_t;

enum pubsub_op {
    PUBSUB_PUBLISH = 1,
    PUBSUB_LOOKUP = 2,
    PUBSUB_UNPUBLISH = 3,
};

struct pubsub_name {
    const char *key;
    const char *value;
};

/* A new, empty table in *out (destroy it with pubsub_destroy()). Returns 0
 * or -ENOMEM. */
int pubsub_create(pubsub_t **out);

/* Free the table, its names and its waiting lookups' keys (not their
 * cookies). NULL accepted. */
void pubsub_destroy(pubsub_t *ps);

/* Publish n names for rank, all or none: -EEXIST when a key is published
 * already (or twice in names), -EINVAL for an empty key or n 0, -ENOMEM;
 * 0 when every one is in. Keys and values are copied. */
int pubsub_publish(pubsub_t *ps,
                   int rank,
                   const struct pubsub_name *names,
                   size_t n);

/* Look the n keys up: values[i] and ranks[i] (the publisher; ranks may be
 * NULL) get key i's value (borrowed until the name is unpublished) or NULL
 * and -1. Returns how many were found. */
size_t pubsub_lookup(const pubsub_t *ps,
                     const char *const *keys,
                     size_t n,
                     const char **values,
                     int *ranks);

/* Remove the names of keys (n of them; n 0: every name) that rank
 * published. Returns how many were removed: a key published by another
 * rank is left alone. */
size_t
pubsub_unpublish(pubsub_t *ps, int rank, const char *const *keys, size_t n);

/* Keep a lookup of n keys that waits until all are published; keys are
 * copied. Returns 0 or -ENOMEM. */
int pubsub_wait(pubsub_t *ps, const char *const *keys, size_t n, void *cookie);

/* For each waiting lookup whose keys are all published now: remove it
 * and call ready(cookie, keys, n, arg) (keys borrowed for the call; the
 * caller looks them up). Returns how many were handed back. */
size_t pubsub_ready(
    pubsub_t *ps,
    void (*ready)(void *cookie, const char *const *keys, size_t n, void *arg),
    void *arg);

/* Remove every waiting lookup, handing each cookie to drop(cookie, arg)
 * (to answer it, or free it). */
void pubsub_drop_waiting(pubsub_t *ps,
                         void (*drop)(void *cookie, void *arg),
                         void *arg);

/* Serve one request of rank: names (n of them) are what it publishes, or
 * the keys it looks up or unpublishes (values not read; n 0 unpublishes
 * all of rank's). LOOKUP fills values and ranks (n entries each) as
 * pubsub_lookup() does. Returns 0, or -ENOENT (a lookup found nothing and
 * does not wait; an unpublish removed nothing), -EEXIST, -EINVAL, -ENOMEM,
 * or 1: the lookup waits (wait true, a key missing), kept with cookie
 * until pubsub_ready() hands it back. */
int pubsub_serve(pubsub_t *ps,
                 enum pubsub_op op,
                 int rank,
                 bool wait,
                 const struct pubsub_name *names,
                 size_t n,
                 const char **values,
                 int *ranks,
                 void *cookie);

/* How many names are published. */
size_t pubsub_count(const pubsub_t *ps);

#endif
