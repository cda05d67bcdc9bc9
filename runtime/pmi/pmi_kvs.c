/* SPDX-License-Identifier: MIT */
/* pmi_kvs.c - a bounded string map for the PMI key-value space.
 *
 * Entries live in an array in the order their keys were first put (which
 * gives a stable iteration order); an open-addressing hash table of entry
 * numbers, with linear probing and a load factor of at most one half, finds
 * them by key. Keys are never removed, so the table needs no tombstones. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/pmi/pmi_kvs.h"

struct pmi_kvs_entry {
    char *key;
    char *value;
    size_t keylen;
    size_t valuelen;
    uint32_t hash;
    bool fresh;
};

struct pmi_kvs {
    size_t max_keys;
    size_t max_bytes;
    size_t bytes;  /* characters of all keys and values */
    size_t nfresh; /* entries marked fresh */

    struct pmi_kvs_entry *entries;
    size_t count;
    size_t capacity;

    /* entry number + 1, or 0 for an empty slot; nslots is a power of 2 */
    uint32_t *slots;
    size_t nslots;
};

enum { KVS_INITIAL_SLOTS = 64 };

/* FNV-1a. Keys are short; the ranks that choose them belong to the job's
 * own user, and the key limit bounds the cost of any collisions. */
static uint32_t kvs_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

int pmi_kvs_create(size_t max_keys, size_t max_bytes, pmi_kvs_t **out)
{
    pmi_kvs_t *kvs = calloc(1, sizeof(*kvs));

    if (!kvs)
        return -ENOMEM;
    kvs->slots = calloc(KVS_INITIAL_SLOTS, sizeof(*kvs->slots));
    if (!kvs->slots) {
        free(kvs);
        return -ENOMEM;
    }
    kvs->nslots = KVS_INITIAL_SLOTS;
    kvs->max_keys = max_keys;
    kvs->max_bytes = max_bytes;
    *out = kvs;
    return 0;
}

void pmi_kvs_destroy(pmi_kvs_t *kvs)
{
    if (!kvs)
        return;
    for (size_t i = 0; i < kvs->count; i++) {
        free(kvs->entries[i].key);
        free(kvs->entries[i].value);
    }
    free(kvs->entries);
    free(kvs->slots);
    free(kvs);
}

/* Printable ASCII other than space: what a PMI-1 value can carry. */
static bool kvs_is_token_char(unsigned char c)
{
    return c > 0x20 && c <= 0x7e;
}

int pmi_kvs_check(const char *key, const char *value, shoal_error_t *error)
{
    size_t keylen = strlen(key);
    size_t valuelen = strlen(value);

    if (keylen == 0)
        return shoal_errprintf(error, -EINVAL, "empty key");
    if (keylen > PMI_KVS_KEY_MAX) {
        return shoal_errprintf(error, -E2BIG,
                               "key too long (%zu characters, at most %d)",
                               keylen, (int)PMI_KVS_KEY_MAX);
    }
    if (valuelen > PMI_KVS_VALUE_MAX) {
        return shoal_errprintf(error, -E2BIG,
                               "value too long (%zu characters, at most %d)",
                               valuelen, (int)PMI_KVS_VALUE_MAX);
    }
    for (size_t i = 0; i < keylen; i++) {
        if (!kvs_is_token_char(key[i]) || key[i] == '=') {
            return shoal_errprintf(error, -EINVAL, "invalid byte 0x%02x in key",
                                   (unsigned char)key[i]);
        }
    }
    for (size_t i = 0; i < valuelen; i++) {
        if (!kvs_is_token_char(value[i])) {
            return shoal_errprintf(error, -EINVAL,
                                   "invalid byte 0x%02x in value",
                                   (unsigned char)value[i]);
        }
    }
    return 0;
}

/* Return the slot holding key, or the empty slot where it would go. */
static size_t kvs_find_slot(const pmi_kvs_t *kvs,
                            const char *key,
                            size_t keylen,
                            uint32_t hash)
{
    size_t mask = kvs->nslots - 1;

    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t n = kvs->slots[i];
        if (n == 0)
            return i;
        const struct pmi_kvs_entry *e = &kvs->entries[n - 1];
        if (e->hash == hash && e->keylen == keylen
            && memcmp(e->key, key, keylen) == 0)
            return i;
    }
}

const char *pmi_kvs_get(const pmi_kvs_t *kvs, const char *key)
{
    size_t keylen = strlen(key);
    size_t slot = kvs_find_slot(kvs, key, keylen, kvs_hash(key, keylen));
    uint32_t n = kvs->slots[slot];

    return n ? kvs->entries[n - 1].value : NULL;
}

/* Make room for one more entry in both arrays; on failure nothing changed. */
static int kvs_reserve(pmi_kvs_t *kvs)
{
    if (kvs->count == kvs->capacity) {
        size_t capacity = kvs->capacity ? 2 * kvs->capacity : 32;
        struct pmi_kvs_entry *entries =
            realloc(kvs->entries, capacity * sizeof(*entries));
        if (!entries)
            return -ENOMEM;
        kvs->entries = entries;
        kvs->capacity = capacity;
    }
    if (2 * (kvs->count + 1) > kvs->nslots) {
        size_t nslots = 2 * kvs->nslots;
        uint32_t *slots = calloc(nslots, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        free(kvs->slots);
        kvs->slots = slots;
        kvs->nslots = nslots;
        for (size_t i = 0; i < kvs->count; i++) {
            const struct pmi_kvs_entry *e = &kvs->entries[i];
            size_t slot = kvs_find_slot(kvs, e->key, e->keylen, e->hash);
            kvs->slots[slot] = (uint32_t)(i + 1);
        }
    }
    return 0;
}

static void kvs_mark(pmi_kvs_t *kvs, struct pmi_kvs_entry *e, bool fresh)
{
    if (fresh && !e->fresh) {
        e->fresh = true;
        kvs->nfresh++;
    }
}

static int kvs_replace(pmi_kvs_t *kvs,
                       struct pmi_kvs_entry *e,
                       const char *value,
                       size_t valuelen,
                       bool fresh,
                       shoal_error_t *error)
{
    size_t bytes = kvs->bytes - e->valuelen + valuelen;

    if (bytes > kvs->max_bytes) {
        return shoal_errprintf(error, -ENOSPC,
                               "key-value space full (%zu bytes at most)",
                               kvs->max_bytes);
    }
    char *copy = strdup(value);
    if (!copy)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    free(e->value);
    e->value = copy;
    e->valuelen = valuelen;
    kvs->bytes = bytes;
    kvs_mark(kvs, e, fresh);
    return 0;
}

int pmi_kvs_put(pmi_kvs_t *kvs,
                const char *key,
                const char *value,
                bool fresh,
                shoal_error_t *error)
{
    int rc = pmi_kvs_check(key, value, error);
    if (rc < 0)
        return rc;

    size_t keylen = strlen(key);
    size_t valuelen = strlen(value);
    uint32_t hash = kvs_hash(key, keylen);
    size_t slot = kvs_find_slot(kvs, key, keylen, hash);
    if (kvs->slots[slot] != 0) {
        struct pmi_kvs_entry *e = &kvs->entries[kvs->slots[slot] - 1];
        return kvs_replace(kvs, e, value, valuelen, fresh, error);
    }

    if (kvs->count >= kvs->max_keys) {
        return shoal_errprintf(error, -ENOSPC,
                               "key-value space full (%zu keys at most)",
                               kvs->max_keys);
    }
    if (kvs->bytes + keylen + valuelen > kvs->max_bytes) {
        return shoal_errprintf(error, -ENOSPC,
                               "key-value space full (%zu bytes at most)",
                               kvs->max_bytes);
    }
    struct pmi_kvs_entry e = {
        .key = strdup(key),
        .value = strdup(value),
        .keylen = keylen,
        .valuelen = valuelen,
        .hash = hash,
    };
    if (!e.key || !e.value)
        goto nomem;
    if (kvs_reserve(kvs) < 0)
        goto nomem;
    /* the table may have grown: look the free slot up again */
    slot = kvs_find_slot(kvs, key, keylen, hash);
    kvs->entries[kvs->count] = e;
    kvs->slots[slot] = (uint32_t)(kvs->count + 1);
    kvs->count++;
    kvs->bytes += keylen + valuelen;
    kvs_mark(kvs, &kvs->entries[kvs->count - 1], fresh);
    return 0;

nomem:
    free(e.key);
    free(e.value);
    return shoal_errprintf(error, -ENOMEM, "out of memory");
}

size_t pmi_kvs_count(const pmi_kvs_t *kvs)
{
    return kvs->count;
}

size_t pmi_kvs_bytes(const pmi_kvs_t *kvs)
{
    return kvs->bytes;
}

int pmi_kvs_foreach_fresh(const pmi_kvs_t *kvs,
                          int (*fn)(const char *key,
                                    const char *value,
                                    void *arg),
                          void *arg)
{
    size_t seen = 0;

    for (size_t i = 0; i < kvs->count && seen < kvs->nfresh; i++) {
        const struct pmi_kvs_entry *e = &kvs->entries[i];
        if (!e->fresh)
            continue;
        seen++;
        int rc = fn(e->key, e->value, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void pmi_kvs_clear_fresh(pmi_kvs_t *kvs)
{
    for (size_t i = 0; i < kvs->count && kvs->nfresh > 0; i++) {
        if (kvs->entries[i].fresh) {
            kvs->entries[i].fresh = false;
            kvs->nfresh--;
        }
    }
}
