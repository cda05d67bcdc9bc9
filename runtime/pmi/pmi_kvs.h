/* SPDX-License-Identifier: MIT */
/* pmi_kvs.h - a job's PMI key-value space.
 *
 * A bounded string map: ranks are not trusted, so the number of keys and
 * the bytes they hold are capped and a put beyond the cap fails instead of
 * exhausting the launcher. Keys are remembered in the order they were first
 * put, and each key can be marked fresh, which is how a pool finds the
 * puts it must send to the job's other nodes at a barrier. Not thread-safe. */
#ifndef SHOAL_RUNTIME_PMI_PMI_KVS_H
#define SHOAL_RUNTIME_PMI_PMI_KVS_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

typedef struct pmi_kvs pmi_kvs_t;

enum pmi_kvs_limit {
    /* characters in a key and a value; PMI counts one more, for the NUL */
    PMI_KVS_KEY_MAX = 63,
    PMI_KVS_VALUE_MAX = 1023,
};

/* Create an empty space holding at most max_keys keys and max_bytes bytes
 * of keys and values (their characters, not counting overhead). Returns 0
 * and sets *out, or -ENOMEM. The caller destroys it. */
int pmi_kvs_create(size_t max_keys, size_t max_bytes, pmi_kvs_t **out);

/* Destroy kvs; NULL is accepted. */
void pmi_kvs_destroy(pmi_kvs_t *kvs);

/* Check that key and value could be stored: key of 1 to PMI_KVS_KEY_MAX
 * printable ASCII characters other than space and '=', value of at most
 * PMI_KVS_VALUE_MAX printable characters other than space. Returns 0, or
 * -EINVAL (bad character, empty key) or -E2BIG (too long) with error (may
 * be NULL) filled with the cause. */
int pmi_kvs_check(const char *key, const char *value, shoal_error_t *error);

/* Store a copy of key=value, replacing any earlier value of key; when fresh,
 * mark key fresh (a key once marked stays so until pmi_kvs_clear_fresh()).
 * Returns 0, the error of pmi_kvs_check(), -ENOSPC when the space is full,
 * or -ENOMEM, with error (may be NULL) filled; on failure kvs is unchanged. */
int pmi_kvs_put(pmi_kvs_t *kvs,
                const char *key,
                const char *value,
                bool fresh,
                shoal_error_t *error);

/* Return the value of key (borrowed, valid until kvs is destroyed or key is
 * put again), or NULL if it was never put. */
const char *pmi_kvs_get(const pmi_kvs_t *kvs, const char *key);

/* Number of keys, and bytes counted against max_bytes. */
size_t pmi_kvs_count(const pmi_kvs_t *kvs);
size_t pmi_kvs_bytes(const pmi_kvs_t *kvs);

/* Call fn for every fresh key, in the order keys were first put; stop early
 * when fn returns non-zero and return that value, else return 0. fn must not
 * change kvs. */
int pmi_kvs_foreach_fresh(const pmi_kvs_t *kvs,
                          int (*fn)(const char *key,
                                    const char *value,
                                    void *arg),
                          void *arg);

/* Mark every key not fresh. */
void pmi_kvs_clear_fresh(pmi_kvs_t *kvs);

#endif
