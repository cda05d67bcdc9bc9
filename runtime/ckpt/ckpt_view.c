/* SPDX-License-Identifier: MIT */
/* ckpt_view.c - the pool's checkpoints per job, rank and version.
 *
 * The entries are kept as a tree of JSON objects keyed by text (job key,
 * then rank, then version, then node id), so that a version listed by
 * several nodes, or twice by one (original and published copy), lands in
 * one place; ckpt_view_json() sorts the levels numerically on the way
 * out. */
#include "runtime/ckpt/ckpt_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ckpt_view {
    json_t *jobs; /* {JOBKEY: {RANK: {VERSION: {NODE: holder}}}} */
};

int ckpt_view_create(ckpt_view_t **out)
{
    ckpt_view_t *view = calloc(1, sizeof(*view));

    if (view)
        view->jobs = json_object();
    if (!view || !view->jobs) {
        free(view);
        return -ENOMEM;
    }
    *out = view;
    return 0;
}

void ckpt_view_destroy(ckpt_view_t *view)
{
    if (!view)
        return;
    json_decref(view->jobs);
    free(view);
}

/* Split key into its job and rank: "J/rankN" (a copy) or "J/runK/rankN"
 * (an original). Returns the rank, or -1 when key is not of that form;
 * job gets the job's key then (the whole key when -1). */
static int
ckpt_view_split(const char *key, bool original, char *job, size_t len)
{
    const char *last = strrchr(key, '/');
    char *end;
    long rank;
    size_t n;

    snprintf(job, len, "%s", key);
    if (!last || strncmp(last + 1, "rank", 4) != 0 || !last[5])
        return -1;
    rank = strtol(last + 5, &end, 10);
    if (*end || rank < 0 || rank > 1000000000 || last[5] < '0' || last[5] > '9')
        return -1;
    n = (size_t)(last - key);
    if (original) {
        /* drop "/runK" too */
        const char *run = n ? (const char *)memrchr(key, '/', n) : NULL;

        if (!run || strncmp(run + 1, "run", 3) != 0)
            return -1;
        n = (size_t)(run - key);
    }
    if (n == 0 || n >= len)
        return -1;
    memcpy(job, key, n);
    job[n] = '\0';
    return (int)rank;
}

/* The member name of obj, made an empty object if missing. */
static json_t *ckpt_view_child(json_t *obj, const char *name)
{
    json_t *c = json_object_get(obj, name);

    if (c)
        return c;
    c = json_object();
    if (c && json_object_set_new(obj, name, c) < 0)
        return NULL;
    return c;
}

int ckpt_view_add(ckpt_view_t *view,
                  const char *node,
                  const char *name,
                  const struct ckpt_wire_entry *e)
{
    bool original = e->kind == CKPT_ENTRY_ORIGINAL;
    char job[CKPT_KEY_MAX + 1], rs[16], vs[16];
    int rank = ckpt_view_split(e->key, original, job, sizeof(job));
    json_t *vobj, *old, *holder;

    if (rank < 0 && original)
        return 0; /* not a rank's directory: nothing a restart uses */
    snprintf(rs, sizeof(rs), "%d", rank);
    snprintf(vs, sizeof(vs), "%d", (int)e->version);
    vobj = ckpt_view_child(view->jobs, job);
    vobj = vobj ? ckpt_view_child(vobj, rs) : NULL;
    vobj = vobj ? ckpt_view_child(vobj, vs) : NULL;
    if (!vobj)
        return -ENOMEM;
    old = json_object_get(vobj, node);
    /* the original wins over its published links, committed over not */
    if (old && json_is_true(json_object_get(old, "original")) && !original)
        return 0;
    if (old && !original
        && json_is_true(json_object_get(old, "committed")) >= e->committed)
        return 0;
    holder = json_pack("{s:s, s:s?, s:b, s:b, s:I, s:i}", "node", node, "name",
                       name, "original", original, "committed", e->committed,
                       "bytes", (json_int_t)e->bytes, "files", (int)e->files);
    if (!holder || json_object_set_new(vobj, node, holder) < 0)
        return -ENOMEM;
    return 0;
}

static int ckpt_view_cmp_int(const void *a, const void *b)
{
    long x = strtol(*(const char *const *)a, NULL, 10);
    long y = strtol(*(const char *const *)b, NULL, 10);

    return (x > y) - (x < y);
}

static int ckpt_view_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The member names of obj, sorted by cmp (caller frees the array). */
static const char **ckpt_view_keys(json_t *obj,
                                   int (*cmp)(const void *, const void *))
{
    const char **keys = calloc(json_object_size(obj) + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    size_t i = 0;

    if (!keys)
        return NULL;
    json_object_foreach (obj, k, v)
        keys[i++] = k;
    qsort(keys, i, sizeof(*keys), cmp);
    return keys;
}

/* One version: its holders in node order, how many committed it. */
static json_t *ckpt_view_version(const char *vs, json_t *nodes, int *copies)
{
    const char **ids = ckpt_view_keys(nodes, ckpt_view_cmp_str);
    json_t *holders = json_array();

    *copies = 0;
    for (size_t i = 0; ids && holders && ids[i]; i++) {
        json_t *h = json_object_get(nodes, ids[i]);

        *copies += json_is_true(json_object_get(h, "committed"));
        json_array_append(holders, h);
    }
    free(ids);
    if (!ids || !holders) {
        json_decref(holders);
        return NULL;
    }
    return json_pack("{s:i, s:b, s:i, s:o}", "version", atoi(vs), "committed",
                     *copies > 0, "copies", *copies, "holders", holders);
}

/* One job; restart is the newest version every rank 0..N-1 has
 * committed somewhere, -1 for none. */
static json_t *ckpt_view_job(const char *key, json_t *ranks)
{
    const char **rk = ckpt_view_keys(ranks, ckpt_view_cmp_int);
    json_t *jranks = json_array();
    json_t *common = NULL; /* {VERSION: true} committed on every rank */
    int expect = 0, restart = -1;
    bool complete = true;

    for (size_t i = 0; rk && jranks && rk[i]; i++) {
        json_t *versions = json_object_get(ranks, rk[i]);
        const char **vk = ckpt_view_keys(versions, ckpt_view_cmp_int);
        json_t *jv = json_array(), *mine = json_object();
        int rank = atoi(rk[i]);

        complete &= rank == expect++;
        for (size_t j = 0; vk && jv && mine && vk[j]; j++) {
            int copies;

            json_array_append_new(
                jv, ckpt_view_version(vk[j], json_object_get(versions, vk[j]),
                                      &copies));
            if (copies > 0)
                json_object_set_new(mine, vk[j], json_true());
        }
        free(vk);
        if (!common) {
            common = json_incref(mine);
        } else {
            const char *v;
            json_t *t, *tmp;

            json_object_foreach_safe (common, tmp, v, t)
                if (!json_object_get(mine, v))
                    json_object_del(common, v);
        }
        json_decref(mine);
        json_array_append_new(
            jranks, json_pack("{s:i, s:o*}", "rank", rank, "versions", jv));
    }
    free(rk);
    if (complete && common) {
        const char *v;
        json_t *t;

        json_object_foreach (common, v, t)
            if (atoi(v) > restart)
                restart = atoi(v);
    }
    json_decref(common);
    if (!jranks)
        return NULL;
    return json_pack("{s:s, s:o, s:o}", "key", key, "restart",
                     restart > 0 ? json_integer(restart) : json_null(), "ranks",
                     jranks);
}

json_t *ckpt_view_json(const ckpt_view_t *view)
{
    const char **jk = ckpt_view_keys(view->jobs, ckpt_view_cmp_str);
    json_t *out = json_array();

    for (size_t i = 0; jk && out && jk[i]; i++)
        json_array_append_new(
            out, ckpt_view_job(jk[i], json_object_get(view->jobs, jk[i])));
    free(jk);
    if (!jk) {
        json_decref(out);
        return NULL;
    }
    return out;
}
