/* SPDX-License-Identifier: MIT */
/* owner_load.c - the owner's CPU load: the machine's less shoal's. */
#include "runtime/owner/owner_load.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/owner/owner_procs.h"

struct owner_load {
    struct owner_source src;
    pid_t root;
    bool have_before;
    struct owner_load_counters before;
    double owner, jobs; /* of the last interval */
};

int owner_load_compute(const struct owner_load_counters *before,
                       const struct owner_load_counters *after,
                       double *owner,
                       double *jobs)
{
    double total, busy, shoal;

    if (after->total <= before->total || after->cpus == 0)
        return -EAGAIN;
    total = (double)(after->total - before->total) / after->cpus;
    busy =
        after->busy > before->busy ? (double)(after->busy - before->busy) : 0;
    shoal = after->shoal > before->shoal
                ? (double)(after->shoal - before->shoal)
                : 0;
    /* shoal's time cannot exceed what the machine used: the counters are
     * read at slightly different moments */
    if (shoal > busy)
        shoal = busy;
    *owner = (busy - shoal) / total;
    *jobs = shoal / total;
    return 0;
}

/* The machine's counters from /proc/stat's "cpu" line. */
static int load_read_stat(struct owner_load_counters *c)
{
    unsigned long long v[8] = {0};
    char line[512];
    FILE *f = fopen("/proc/stat", "re");
    int got = 0;

    if (!f)
        return -errno;
    c->cpus = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "cpu ", 4) == 0)
            got =
                sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
        else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0'
                 && line[3] <= '9')
            c->cpus++;
    }
    fclose(f);
    if (got < 4 || c->cpus == 0)
        return -EIO;
    /* user nice system idle iowait irq softirq steal */
    c->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    c->total = c->busy + v[3] + v[4];
    return 0;
}

int owner_load_read(pid_t root, struct owner_load_counters *out)
{
    struct owner_proc *p;
    size_t n;
    uint64_t ticks = 0;
    int rc = load_read_stat(out);

    if (rc < 0)
        return rc;
    out->shoal = 0;
    if (owner_procs_ticks(root, &ticks) == 0)
        out->shoal += ticks;
    if (owner_procs_list(root, &p, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            out->shoal += p[i].ticks;
        free(p);
    }
    return 0;
}

static int load_sample(struct owner_source *src, double now, double *value)
{
    struct owner_load *l = src->impl;
    struct owner_load_counters after;
    double owner, jobs;
    int rc = owner_load_read(l->root, &after);

    (void)now;
    if (rc < 0)
        return -ENODEV;
    if (!l->have_before) {
        l->before = after;
        l->have_before = true;
        *value = 0;
        return 0;
    }
    rc = owner_load_compute(&l->before, &after, &owner, &jobs);
    if (rc == -EAGAIN) {
        /* no tick passed: keep the earlier reading and its loads */
        *value = l->owner;
        return 0;
    }
    l->before = after;
    l->owner = owner;
    l->jobs = jobs;
    *value = owner;
    return 0;
}

static const struct owner_source_ops load_ops = {
    .sample = load_sample,
    .destroy = NULL,
};

int owner_load_source_create(pid_t root, struct owner_source **out)
{
    struct owner_load *l = calloc(1, sizeof(*l));

    if (!l)
        return -ENOMEM;
    l->src = (struct owner_source){
        .ops = &load_ops, .name = "load", .kind = OWNER_SOURCE_LOAD, .impl = l};
    l->root = root;
    *out = &l->src;
    return 0;
}

double owner_load_source_jobs(const struct owner_source *src)
{
    const struct owner_load *l = src->impl;

    return l->jobs;
}
