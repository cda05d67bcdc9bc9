/* SPDX-License-Identifier: MIT */
/* pubsub.c - a job's published names: a list, as a job publishes a few. */
#include "runtime/pmix/pubsub.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pubsub_entry {
    struct pubsub_entry *next;
    char *key;
    char *value;
    int rank;
};

struct pubsub_waiter {
    struct pubsub_waiter *next;
    char **keys;
    size_t n;
    void *cookie;
};

struct pubsub {
    struct pubsub_entry *names;
    struct pubsub_waiter *waiting;
};

int pubsub_create(pubsub_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static void pubsub_entry_free(struct pubsub_entry *e)
{
    free(e->key);
    free(e->value);
    free(e);
}

static void pubsub_waiter_free(struct pubsub_waiter *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->keys[i]);
    free(w->keys);
    free(w);
}

void pubsub_destroy(pubsub_t *ps)
{
    if (!ps)
        return;
    while (ps->names) {
        struct pubsub_entry *e = ps->names;
        ps->names = e->next;
        pubsub_entry_free(e);
    }
    while (ps->waiting) {
        struct pubsub_waiter *w = ps->waiting;
        ps->waiting = w->next;
        pubsub_waiter_free(w);
    }
    free(ps);
}

static struct pubsub_entry *pubsub_find(const pubsub_t *ps, const char *key)
{
    for (struct pubsub_entry *e = ps->names; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

int pubsub_publish(pubsub_t *ps,
                   int rank,
                   const struct pubsub_name *names,
                   size_t n)
{
    struct pubsub_entry *added = NULL, **tail = &added;

    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!names[i].key || !names[i].key[0] || !names[i].value)
            return -EINVAL;
        if (pubsub_find(ps, names[i].key))
            return -EEXIST;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i].key, names[j].key) == 0)
                return -EEXIST;
    }
    for (size_t i = 0; i < n; i++) {
        struct pubsub_entry *e = calloc(1, sizeof(*e));

        if (e) {
            e->key = strdup(names[i].key);
            e->value = strdup(names[i].value);
            e->rank = rank;
        }
        if (!e || !e->key || !e->value) {
            if (e)
                pubsub_entry_free(e);
            while (added) {
                struct pubsub_entry *next = added->next;
                pubsub_entry_free(added);
                added = next;
            }
            return -ENOMEM;
        }
        *tail = e;
        tail = &e->next;
    }
    *tail = ps->names;
    ps->names = added;
    return 0;
}

size_t pubsub_lookup(const pubsub_t *ps,
                     const char *const *keys,
                     size_t n,
                     const char **values,
                     int *ranks)
{
    size_t found = 0;

    for (size_t i = 0; i < n; i++) {
        const struct pubsub_entry *e = keys[i] ? pubsub_find(ps, keys[i]) : 0;

        values[i] = e ? e->value : NULL;
        if (ranks)
            ranks[i] = e ? e->rank : -1;
        found += e != NULL;
    }
    return found;
}

size_t
pubsub_unpublish(pubsub_t *ps, int rank, const char *const *keys, size_t n)
{
    struct pubsub_entry **p = &ps->names;
    size_t removed = 0;

    while (*p) {
        struct pubsub_entry *e = *p;
        bool named = n == 0;

        for (size_t i = 0; i < n && !named; i++)
            named = keys[i] && strcmp(keys[i], e->key) == 0;
        if (named && e->rank == rank) {
            *p = e->next;
            pubsub_entry_free(e);
            removed++;
        } else {
            p = &e->next;
        }
    }
    return removed;
}

int pubsub_wait(pubsub_t *ps, const char *const *keys, size_t n, void *cookie)
{
    struct pubsub_waiter *w = calloc(1, sizeof(*w));

    if (!w)
        return -ENOMEM;
    w->keys = calloc(n ? n : 1, sizeof(char *));
    if (!w->keys) {
        free(w);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        w->keys[i] = strdup(keys[i] ? keys[i] : "");
        if (!w->keys[i]) {
            w->n = i;
            pubsub_waiter_free(w);
            return -ENOMEM;
        }
    }
    w->n = n;
    w->cookie = cookie;
    w->next = ps->waiting;
    ps->waiting = w;
    return 0;
}

size_t pubsub_ready(
    pubsub_t *ps,
    void (*ready)(void *cookie, const char *const *keys, size_t n, void *arg),
    void *arg)
{
    struct pubsub_waiter **p = &ps->waiting;
    size_t handed = 0;

    while (*p) {
        struct pubsub_waiter *w = *p;
        bool all = true;

        for (size_t i = 0; i < w->n && all; i++)
            all = pubsub_find(ps, w->keys[i]) != NULL;
        if (!all) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        ready(w->cookie, (const char *const *)w->keys, w->n, arg);
        pubsub_waiter_free(w);
        handed++;
    }
    return handed;
}

void pubsub_drop_waiting(pubsub_t *ps,
                         void (*drop)(void *cookie, void *arg),
                         void *arg)
{
    while (ps->waiting) {
        struct pubsub_waiter *w = ps->waiting;

        ps->waiting = w->next;
        if (drop)
            drop(w->cookie, arg);
        pubsub_waiter_free(w);
    }
}

int pubsub_serve(pubsub_t *ps,
                 enum pubsub_op op,
                 int rank,
                 bool wait,
                 const struct pubsub_name *names,
                 size_t n,
                 const char **values,
                 int *ranks,
                 void *cookie)
{
    const char **keys;
    size_t found = 0;
    int rc = 0;

    if (op == PUBSUB_PUBLISH)
        return pubsub_publish(ps, rank, names, n);
    if (op != PUBSUB_LOOKUP && op != PUBSUB_UNPUBLISH)
        return -EINVAL;
    keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        keys[i] = names[i].key;
    if (op == PUBSUB_UNPUBLISH) {
        rc = pubsub_unpublish(ps, rank, keys, n) > 0 ? 0 : -ENOENT;
    } else if (n == 0) {
        rc = -EINVAL;
    } else {
        found = pubsub_lookup(ps, keys, n, values, ranks);
        if (found < n && wait)
            rc = pubsub_wait(ps, keys, n, cookie) < 0 ? -ENOMEM : 1;
        else if (found == 0)
            rc = -ENOENT;
    }
    free(keys);
    return rc;
}

size_t pubsub_count(const pubsub_t *ps)
{
    size_t n = 0;

    for (const struct pubsub_entry *e = ps->names; e; e = e->next)
        n++;
    return n;
}
