/* SPDX-License-Identifier: MIT */
/* ckpt_copies.c - a job's durable checkpoint versions and their holders. */
#include "runtime/job/ckpt_copies.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ckpt_copies_entry {
    int version; /* 0: free slot */
    int nnodes;
    uint64_t nodes[CKPT_COPIES_HOLDERS];
};

struct ckpt_copies {
    int nranks;
    /* CKPT_COPIES_VERSIONS entries per rank, in no order */
    struct ckpt_copies_entry *entries;
};

int ckpt_copies_create(int nranks, ckpt_copies_t **out)
{
    struct ckpt_copies *t;

    if (nranks < 1)
        return -EINVAL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->entries =
        calloc((size_t)nranks * CKPT_COPIES_VERSIONS, sizeof(*t->entries));
    if (!t->entries) {
        free(t);
        return -ENOMEM;
    }
    t->nranks = nranks;
    *out = t;
    return 0;
}

void ckpt_copies_destroy(ckpt_copies_t *t)
{
    if (!t)
        return;
    free(t->entries);
    free(t);
}

static struct ckpt_copies_entry *ckpt_copies_row(const ckpt_copies_t *t,
                                                 int rank)
{
    return &t->entries[(size_t)rank * CKPT_COPIES_VERSIONS];
}

static struct ckpt_copies_entry *
ckpt_copies_find(const ckpt_copies_t *t, int rank, int version)
{
    struct ckpt_copies_entry *row = ckpt_copies_row(t, rank);

    for (int i = 0; i < CKPT_COPIES_VERSIONS; i++)
        if (row[i].version == version)
            return &row[i];
    return NULL;
}

int ckpt_copies_add(
    ckpt_copies_t *t, int rank, int version, const uint64_t *nodes, int n)
{
    struct ckpt_copies_entry *e, *row;

    if (rank < 0 || rank >= t->nranks || version < 1 || n < 0)
        return -EINVAL;
    e = ckpt_copies_find(t, rank, version);
    if (!e) {
        /* a free slot, else the oldest version gives way (unless it is
         * older than this one: then this one is the one not kept) */
        row = ckpt_copies_row(t, rank);
        e = &row[0];
        for (int i = 1; i < CKPT_COPIES_VERSIONS && e->version; i++)
            if (row[i].version < e->version)
                e = &row[i];
        if (e->version > version)
            return 0;
        *e = (struct ckpt_copies_entry){.version = version};
    }
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int j = 0; j < e->nnodes && !known; j++)
            known = e->nodes[j] == nodes[i];
        if (!known && e->nnodes < CKPT_COPIES_HOLDERS)
            e->nodes[e->nnodes++] = nodes[i];
    }
    return 0;
}

void ckpt_copies_drop(ckpt_copies_t *t, int rank, int version)
{
    struct ckpt_copies_entry *e;

    if (rank < 0 || rank >= t->nranks || version < 1)
        return;
    e = ckpt_copies_find(t, rank, version);
    if (e)
        memset(e, 0, sizeof(*e));
}

void ckpt_copies_forget_below(ckpt_copies_t *t, int version)
{
    for (size_t i = 0; i < (size_t)t->nranks * CKPT_COPIES_VERSIONS; i++)
        if (t->entries[i].version < version)
            memset(&t->entries[i], 0, sizeof(t->entries[i]));
}

int ckpt_copies_version(const ckpt_copies_t *t)
{
    struct ckpt_copies_entry *row0 = ckpt_copies_row(t, 0);
    int best = 0;

    /* a candidate must be durable on rank 0 like on every other */
    for (int i = 0; i < CKPT_COPIES_VERSIONS; i++) {
        int v = row0[i].version;
        bool everywhere = v > best;
        for (int r = 1; r < t->nranks && everywhere; r++)
            everywhere = ckpt_copies_find(t, r, v) != NULL;
        if (everywhere)
            best = v;
    }
    return best;
}

int ckpt_copies_holders(const ckpt_copies_t *t,
                        int rank,
                        int version,
                        const uint64_t **nodes)
{
    struct ckpt_copies_entry *e;

    if (rank < 0 || rank >= t->nranks || version < 1)
        return 0;
    e = ckpt_copies_find(t, rank, version);
    if (!e)
        return 0;
    *nodes = e->nodes;
    return e->nnodes;
}
