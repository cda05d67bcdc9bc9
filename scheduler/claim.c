/* SPDX-License-Identifier: MIT */
/* claim.c - the ledger of one node's cores.
 *
 * A node has at most a few hundred cores and as many claims, so claims
 * live in a plain array searched linearly, and the union of all claimed
 * cores is kept beside it so a claim is checked with two bitmap
 * operations. The union is rebuilt after a removal: it is as cheap as the
 * search that found the claim. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "scheduler/claim.h"

struct claim_entry {
    uint64_t job;
    uint64_t home;
    uint32_t attempt;
    uint64_t deadline;
    hwloc_bitmap_t cores;
};

struct claim_ledger {
    hwloc_bitmap_t lendable;
    hwloc_bitmap_t claimed; /* union of every entry's cores */
    hwloc_bitmap_t scratch;
    struct claim_entry *entries;
    int count;
    int max;
    uint64_t generation;
};

int claim_ledger_create(hwloc_const_bitmap_t lendable, claim_ledger_t **out)
{
    claim_ledger_t *ledger = calloc(1, sizeof(*ledger));

    if (!ledger)
        return -ENOMEM;
    ledger->lendable = hwloc_bitmap_dup(lendable);
    ledger->claimed = hwloc_bitmap_alloc();
    ledger->scratch = hwloc_bitmap_alloc();
    ledger->generation = 1;
    if (!ledger->lendable || !ledger->claimed || !ledger->scratch) {
        claim_ledger_destroy(ledger);
        return -ENOMEM;
    }
    *out = ledger;
    return 0;
}

void claim_ledger_destroy(claim_ledger_t *ledger)
{
    if (!ledger)
        return;
    for (int i = 0; i < ledger->count; i++)
        hwloc_bitmap_free(ledger->entries[i].cores);
    free(ledger->entries);
    hwloc_bitmap_free(ledger->lendable);
    hwloc_bitmap_free(ledger->claimed);
    hwloc_bitmap_free(ledger->scratch);
    free(ledger);
}

int claim_ledger_set_lendable(claim_ledger_t *ledger,
                              hwloc_const_bitmap_t lendable)
{
    if (hwloc_bitmap_isequal(ledger->lendable, lendable))
        return 0;
    if (hwloc_bitmap_copy(ledger->lendable, lendable) < 0)
        return -ENOMEM;
    ledger->generation++;
    return 0;
}

static struct claim_entry *claim_find(const claim_ledger_t *ledger,
                                      uint64_t job)
{
    for (int i = 0; i < ledger->count; i++) {
        if (ledger->entries[i].job == job)
            return &ledger->entries[i];
    }
    return NULL;
}

static int claim_rebuild_union(claim_ledger_t *ledger)
{
    hwloc_bitmap_zero(ledger->claimed);
    for (int i = 0; i < ledger->count; i++) {
        if (hwloc_bitmap_or(ledger->claimed, ledger->claimed,
                            ledger->entries[i].cores)
            < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The cores of set that job may not take: not lent, or held by another
 * job. */
static int claim_conflicts(claim_ledger_t *ledger,
                           const struct claim_entry *own,
                           hwloc_const_bitmap_t set,
                           hwloc_bitmap_t out)
{
    if (hwloc_bitmap_copy(out, ledger->claimed) < 0)
        return -ENOMEM;
    if (own && hwloc_bitmap_andnot(out, out, own->cores) < 0)
        return -ENOMEM;
    if (hwloc_bitmap_and(out, out, set) < 0)
        return -ENOMEM;
    if (hwloc_bitmap_andnot(ledger->scratch, set, ledger->lendable) < 0
        || hwloc_bitmap_or(out, out, ledger->scratch) < 0)
        return -ENOMEM;
    return 0;
}

static int claim_add(claim_ledger_t *ledger,
                     uint64_t job,
                     uint64_t home,
                     uint32_t attempt,
                     hwloc_const_bitmap_t cores,
                     uint64_t deadline)
{
    struct claim_entry *entry;

    if (ledger->count == ledger->max) {
        int max = ledger->max ? 2 * ledger->max : 8;
        struct claim_entry *grown =
            realloc(ledger->entries, sizeof(*grown) * max);

        if (!grown)
            return -ENOMEM;
        ledger->entries = grown;
        ledger->max = max;
    }
    entry = &ledger->entries[ledger->count];
    entry->cores = hwloc_bitmap_dup(cores);
    if (!entry->cores)
        return -ENOMEM;
    if (hwloc_bitmap_or(ledger->claimed, ledger->claimed, cores) < 0) {
        hwloc_bitmap_free(entry->cores);
        return -ENOMEM;
    }
    entry->job = job;
    entry->home = home;
    entry->attempt = attempt;
    entry->deadline = deadline;
    ledger->count++;
    return 0;
}

int claim_ledger_claim(claim_ledger_t *ledger,
                       uint64_t job,
                       uint64_t home,
                       uint32_t attempt,
                       hwloc_const_bitmap_t cores,
                       uint64_t deadline,
                       hwloc_bitmap_t busy)
{
    struct claim_entry *own = claim_find(ledger, job);
    hwloc_bitmap_t conflicts = busy ? busy : hwloc_bitmap_alloc();
    hwloc_bitmap_t copy;
    int rc;

    if (!conflicts)
        return -ENOMEM;
    if (hwloc_bitmap_iszero(cores) || hwloc_bitmap_weight(cores) < 0) {
        rc = -EINVAL;
        goto out;
    }
    rc = claim_conflicts(ledger, own, cores, conflicts);
    if (rc < 0)
        goto out;
    if (!hwloc_bitmap_iszero(conflicts)) {
        rc = -EBUSY;
        goto out;
    }
    if (own && hwloc_bitmap_isequal(own->cores, cores)) {
        /* A repeated message: the same answer, no change to report. */
        if (deadline > own->deadline)
            own->deadline = deadline;
        own->attempt = attempt;
        goto out;
    }
    if (own) {
        copy = hwloc_bitmap_dup(cores);
        if (!copy) {
            rc = -ENOMEM;
            goto out;
        }
        hwloc_bitmap_free(own->cores);
        own->cores = copy;
        own->home = home;
        own->attempt = attempt;
        own->deadline = deadline;
        rc = claim_rebuild_union(ledger);
    } else {
        rc = claim_add(ledger, job, home, attempt, cores, deadline);
    }
    if (rc == 0)
        ledger->generation++;
out:
    if (!busy)
        hwloc_bitmap_free(conflicts);
    else if (rc != -EBUSY)
        hwloc_bitmap_zero(busy);
    return rc;
}

int claim_ledger_renew(claim_ledger_t *ledger, uint64_t job, uint64_t deadline)
{
    struct claim_entry *entry = claim_find(ledger, job);

    if (!entry)
        return -ENOENT;
    if (entry->deadline != deadline) {
        entry->deadline = deadline;
        ledger->generation++;
    }
    return 0;
}

/* Remove the entries for which drop() is true; return the cores freed. */
static int claim_remove_if(claim_ledger_t *ledger,
                           bool (*drop)(const struct claim_entry *, uint64_t),
                           uint64_t key)
{
    int freed = 0;
    int kept = 0;

    for (int i = 0; i < ledger->count; i++) {
        struct claim_entry *entry = &ledger->entries[i];

        if (drop(entry, key)) {
            freed += hwloc_bitmap_weight(entry->cores);
            hwloc_bitmap_free(entry->cores);
            continue;
        }
        ledger->entries[kept++] = *entry;
    }
    if (kept == ledger->count)
        return 0;
    ledger->count = kept;
    ledger->generation++;
    /* Shrinking a union cannot need memory hwloc does not already hold. */
    claim_rebuild_union(ledger);
    return freed;
}

static bool claim_of_job(const struct claim_entry *entry, uint64_t job)
{
    return entry->job == job;
}

static bool claim_of_home(const struct claim_entry *entry, uint64_t home)
{
    return entry->home == home;
}

static bool claim_lapsed(const struct claim_entry *entry, uint64_t now)
{
    return entry->deadline != CLAIM_FOREVER && entry->deadline <= now;
}

int claim_ledger_release(claim_ledger_t *ledger, uint64_t job)
{
    return claim_remove_if(ledger, claim_of_job, job);
}

int claim_ledger_release_home(claim_ledger_t *ledger, uint64_t home)
{
    return claim_remove_if(ledger, claim_of_home, home);
}

int claim_ledger_expire(claim_ledger_t *ledger, uint64_t now)
{
    return claim_remove_if(ledger, claim_lapsed, now);
}

uint64_t claim_ledger_next_deadline(const claim_ledger_t *ledger)
{
    uint64_t next = CLAIM_FOREVER;

    for (int i = 0; i < ledger->count; i++) {
        if (ledger->entries[i].deadline < next)
            next = ledger->entries[i].deadline;
    }
    return next;
}

int claim_ledger_free_cores(const claim_ledger_t *ledger, hwloc_bitmap_t out)
{
    if (hwloc_bitmap_andnot(out, ledger->lendable, ledger->claimed) < 0)
        return -ENOMEM;
    return 0;
}

int claim_ledger_job_cores(const claim_ledger_t *ledger,
                           uint64_t job,
                           hwloc_bitmap_t out)
{
    const struct claim_entry *entry = claim_find(ledger, job);

    if (!entry) {
        hwloc_bitmap_zero(out);
        return 0;
    }
    return hwloc_bitmap_copy(out, entry->cores) < 0 ? -ENOMEM : 0;
}

int claim_ledger_count(const claim_ledger_t *ledger)
{
    return ledger->count;
}

uint64_t claim_ledger_generation(const claim_ledger_t *ledger)
{
    return ledger->generation;
}
