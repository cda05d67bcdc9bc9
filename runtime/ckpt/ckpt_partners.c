/* SPDX-License-Identifier: MIT */
/* ckpt_partners.c - which nodes keep a node's checkpoint copies. */
#include "runtime/ckpt/ckpt_partners.h"

#include <errno.h>
#include <stdlib.h>

static int ckpt_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int ckpt_partners_ring(const struct daemon_member *m,
                       size_t n,
                       uint64_t self,
                       uint64_t **out,
                       size_t *k)
{
    size_t count = 0, start = 0;
    uint64_t *ids = calloc(n + 1, sizeof(*ids));
    uint64_t *ring = calloc(n + 1, sizeof(*ring));

    if (!ids || !ring) {
        free(ids);
        free(ring);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (!m[i].self && m[i].id != self && m[i].state == MEMBER_ALIVE)
            ids[count++] = m[i].id;
    qsort(ids, count, sizeof(*ids), ckpt_id_cmp);
    while (start < count && ids[start] < self)
        start++;
    for (size_t i = 0; i < count; i++)
        ring[i] = ids[(start + i) % count];
    free(ids);
    *out = ring;
    *k = count;
    return 0;
}
