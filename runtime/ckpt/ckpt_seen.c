/* SPDX-License-Identifier: MIT */
/* ckpt_seen.c - the versions this daemon has hashed. A small array
 * searched linearly: a daemon sends a handful of versions at a time. */
#include "runtime/ckpt/ckpt_seen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ckpt_seen_entry {
    char *dir; /* NULL: free slot */
    unsigned char id[CKPT_HASH_BYTES];
};

struct ckpt_seen {
    struct ckpt_seen_entry *v;
    size_t max;
    size_t next; /* the slot replaced when none is free: the oldest */
};

int ckpt_seen_create(size_t max, ckpt_seen_t **out)
{
    ckpt_seen_t *t;

    if (max == 0)
        return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->v = calloc(max, sizeof(*t->v));
    if (!t->v) {
        free(t);
        return -ENOMEM;
    }
    t->max = max;
    *out = t;
    return 0;
}

void ckpt_seen_destroy(ckpt_seen_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->max; i++)
        free(t->v[i].dir);
    free(t->v);
    free(t);
}

static struct ckpt_seen_entry *ckpt_seen_find(const ckpt_seen_t *t,
                                              const char *dir)
{
    for (size_t i = 0; i < t->max; i++)
        if (t->v[i].dir && strcmp(t->v[i].dir, dir) == 0)
            return &t->v[i];
    return NULL;
}

int ckpt_seen_add(ckpt_seen_t *t,
                  const char *dir,
                  const unsigned char id[CKPT_HASH_BYTES])
{
    struct ckpt_seen_entry *e = ckpt_seen_find(t, dir);
    char *copy;

    if (e) {
        memcpy(e->id, id, CKPT_HASH_BYTES);
        return 0;
    }
    copy = strdup(dir);
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < t->max && !e; i++)
        if (!t->v[i].dir)
            e = &t->v[i];
    if (!e) {
        e = &t->v[t->next];
        t->next = (t->next + 1) % t->max;
        free(e->dir);
    }
    e->dir = copy;
    memcpy(e->id, id, CKPT_HASH_BYTES);
    return 0;
}

bool ckpt_seen_get(const ckpt_seen_t *t,
                   const char *dir,
                   unsigned char id[CKPT_HASH_BYTES])
{
    const struct ckpt_seen_entry *e = ckpt_seen_find(t, dir);

    if (!e)
        return false;
    memcpy(id, e->id, CKPT_HASH_BYTES);
    return true;
}

void ckpt_seen_forget(ckpt_seen_t *t, const char *dir)
{
    struct ckpt_seen_entry *e = ckpt_seen_find(t, dir);

    if (e) {
        free(e->dir);
        e->dir = NULL;
    }
}
