/* SPDX-License-Identifier: MIT */
/* job_pmix.c - a gang job's layout for PMIx, and fence data as puts. */
#include "runtime/job/job_pmix.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    /* bytes of fence data per put: its base64 stays well under a frame
     * string (JOB_WIRE_STRING_MAX) */
    JOB_PMIX_CHUNK = 384 * 1024,
    JOB_PMIX_MAX_NODES = 1 << 16,
};

/* Parse "(vector,(node,count,ranks),...)" into per-node rank counts (a
 * node may appear once; nodes numbered from 0 without gaps). Returns the
 * node count, or -1 when the text is not such a mapping. */
static int job_pmix_parse_mapping(const char *s, int **counts)
{
    int *c = NULL, nnodes = 0;
    const char *p;

    *counts = NULL;
    if (!s || strncmp(s, "(vector", 7) != 0)
        return -1;
    p = s + 7;
    while (*p == ',') {
        int node, count, ppn, used;

        if (sscanf(p, ",(%d,%d,%d)%n", &node, &count, &ppn, &used) != 3
            || node != nnodes || count <= 0 || ppn <= 0
            || node + count > JOB_PMIX_MAX_NODES) {
            free(c);
            return -1;
        }
        int *grown = realloc(c, (size_t)(node + count) * sizeof(int));
        if (!grown) {
            free(c);
            return -1;
        }
        c = grown;
        for (int i = 0; i < count; i++)
            c[node + i] = ppn;
        nnodes = node + count;
        p += used;
    }
    if (strcmp(p, ")") != 0 || nnodes == 0) {
        free(c);
        return -1;
    }
    *counts = c;
    return nnodes;
}

static int
job_pmix_name(struct job_pmix_layout *layout, int i, const char *host)
{
    char name[64];

    if (i == layout->node_index) {
        layout->hosts[i] = strdup(host);
    } else {
        snprintf(name, sizeof(name), "shoal-node%d", i);
        layout->hosts[i] = strdup(name);
    }
    layout->nodes[i].host = layout->hosts[i];
    return layout->hosts[i] ? 0 : -ENOMEM;
}

/* Whether the mapping gives this node exactly its local ranks. */
static bool job_pmix_mapping_fits(const int *counts,
                                  int nnodes,
                                  int size,
                                  int node_index,
                                  const int *local,
                                  int nlocal)
{
    int first = 0, total = 0;

    if (node_index >= nnodes)
        return false;
    for (int i = 0; i < nnodes; i++) {
        if (i < node_index)
            first += counts[i];
        total += counts[i];
    }
    if (total != size || counts[node_index] != nlocal)
        return false;
    for (int i = 0; i < nlocal; i++)
        if (local[i] != first + i)
            return false;
    return true;
}

int job_pmix_layout_init(struct job_pmix_layout *layout,
                         int size,
                         const char *mapping,
                         const char *host,
                         int node_index,
                         const int *local,
                         int nlocal)
{
    int *counts = NULL;
    int nnodes = job_pmix_parse_mapping(mapping, &counts);
    int rc = -ENOMEM;

    memset(layout, 0, sizeof(*layout));
    if (nlocal <= 0 || size < nlocal) {
        free(counts);
        return -EINVAL;
    }
    layout->ranks = malloc((size_t)size * sizeof(int));
    if (!layout->ranks)
        goto fail;
    if (nnodes > 0
        && job_pmix_mapping_fits(counts, nnodes, size, node_index, local,
                                 nlocal)) {
        int next = 0;

        layout->nnodes = nnodes;
        layout->node_index = node_index;
        layout->nodes = calloc((size_t)nnodes, sizeof(*layout->nodes));
        layout->hosts = calloc((size_t)nnodes, sizeof(char *));
        if (!layout->nodes || !layout->hosts)
            goto fail;
        for (int i = 0; i < nnodes; i++) {
            layout->nodes[i].nranks = counts[i];
            layout->nodes[i].ranks = layout->ranks + next;
            for (int j = 0; j < counts[i]; j++, next++)
                layout->ranks[next] = next;
        }
    } else {
        /* this node first, then whatever ranks are elsewhere */
        bool *mine = calloc((size_t)size, sizeof(bool));
        int k = 0;

        if (!mine)
            goto fail;
        layout->nnodes = nlocal < size ? 2 : 1;
        layout->node_index = 0;
        layout->nodes = calloc(2, sizeof(*layout->nodes));
        layout->hosts = calloc(2, sizeof(char *));
        if (!layout->nodes || !layout->hosts) {
            free(mine);
            goto fail;
        }
        for (int i = 0; i < nlocal; i++) {
            if (local[i] < 0 || local[i] >= size || mine[local[i]]) {
                free(mine);
                rc = -EINVAL;
                goto fail;
            }
            mine[local[i]] = true;
            layout->ranks[k++] = local[i];
        }
        layout->nodes[0].nranks = nlocal;
        layout->nodes[0].ranks = layout->ranks;
        layout->nodes[1].ranks = layout->ranks + k;
        for (int r = 0; r < size; r++)
            if (!mine[r])
                layout->ranks[k++] = r;
        layout->nodes[1].nranks = size - nlocal;
        free(mine);
    }
    for (int i = 0; i < layout->nnodes; i++)
        if (job_pmix_name(layout, i, host) < 0)
            goto fail;
    free(counts);
    return 0;
fail:
    free(counts);
    job_pmix_layout_release(layout);
    return rc;
}

void job_pmix_layout_release(struct job_pmix_layout *layout)
{
    if (layout->hosts)
        for (int i = 0; i < layout->nnodes; i++)
            free(layout->hosts[i]);
    free(layout->hosts);
    free(layout->nodes);
    free(layout->ranks);
    memset(layout, 0, sizeof(*layout));
}

void job_pmix_kvs_free(struct job_kv *kvs, uint32_t n)
{
    for (uint32_t i = 0; kvs && i < n; i++) {
        free(kvs[i].key);
        free(kvs[i].value);
    }
    free(kvs);
}

int job_pmix_fence_encode(const void *data,
                          size_t len,
                          struct job_kv **kvs,
                          uint32_t *n)
{
    uint32_t count =
        len ? (uint32_t)((len + JOB_PMIX_CHUNK - 1) / JOB_PMIX_CHUNK) : 1;
    struct job_kv *out = calloc(count, sizeof(*out));

    if (!out)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        size_t off = (size_t)i * JOB_PMIX_CHUNK;
        size_t chunk = len - off < JOB_PMIX_CHUNK ? len - off : JOB_PMIX_CHUNK;
        size_t b64 =
            sodium_base64_ENCODED_LEN(chunk, sodium_base64_VARIANT_ORIGINAL);
        char key[32];

        if (len == 0)
            chunk = 0;
        snprintf(key, sizeof(key), JOB_PMIX_FENCE_KEY "%u", i);
        out[i].key = strdup(key);
        out[i].value = malloc(b64);
        if (!out[i].key || !out[i].value) {
            job_pmix_kvs_free(out, count);
            return -ENOMEM;
        }
        sodium_bin2base64(out[i].value, b64,
                          chunk ? (const unsigned char *)data + off : NULL,
                          chunk, sodium_base64_VARIANT_ORIGINAL);
    }
    *kvs = out;
    *n = count;
    return 0;
}

int job_pmix_fence_decode(const struct job_kv *kvs,
                          uint32_t n,
                          void **data,
                          size_t *len)
{
    size_t cap = 0, total = 0;
    unsigned char *buf = NULL;

    *data = NULL;
    *len = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strncmp(kvs[i].key, JOB_PMIX_FENCE_KEY, strlen(JOB_PMIX_FENCE_KEY))
            == 0)
            cap += strlen(kvs[i].value) / 4 * 3 + 3;
    if (cap == 0)
        return 0;
    buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        size_t got = 0;
        const char *v = kvs[i].value;

        if (strncmp(kvs[i].key, JOB_PMIX_FENCE_KEY, strlen(JOB_PMIX_FENCE_KEY))
            != 0)
            continue;
        if (sodium_base642bin(buf + total, cap - total, v, strlen(v), NULL,
                              &got, NULL, sodium_base64_VARIANT_ORIGINAL)
            != 0) {
            free(buf);
            return -EINVAL;
        }
        total += got;
    }
    if (total == 0) {
        free(buf);
        return 0;
    }
    *data = buf;
    *len = total;
    return 0;
}
