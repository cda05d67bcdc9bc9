/* SPDX-License-Identifier: MIT */
/* map.c - placing a job's ranks on nodes and cores, as Open MPI does.
 *
 * A map is computed in five linear passes over the snapshot:
 *
 *   1. summarize each distinct topology once: its units (cores, or PUs with
 *      hwthread cpus) and how NUMA nodes, packages and the whole machine
 *      partition them. The nodes of a pool usually share a few topology
 *      objects, so a pointer-keyed table makes this O(nodes);
 *   2. count the ranks of each node: fill node by node up to its slots, or
 *      deal one rank per node in turn for map-by node; when oversubscribing,
 *      spread the excess evenly, as Open MPI does;
 *   3. place each node's ranks: deal them round-robin across the node's
 *      mapping objects (one object, the node, for slot/core/hwthread), each
 *      rank taking the next PE free units of its object; once every object
 *      is full, start again from the first unit (a new "layer");
 *   4. number the placed positions by rank-by;
 *   5. widen each rank's units to its bind-to level.
 *
 * Nothing here depends on nodes times cores, so a thousand ranks over ten
 * thousand nodes is a matter of milliseconds. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "scheduler/map.h"
#include "util/bug.h"

/* The levels a topology's units are partitioned by. */
enum map_scope {
    MAP_SCOPE_MACHINE,
    MAP_SCOPE_NUMA,
    MAP_SCOPE_PACKAGE,
    MAP_SCOPE_COUNT,
};

/* How the objects of one level partition a topology's units. A unit
 * belongs to exactly one group: NUMA nodes without CPUs (HBM, CXL memory)
 * own no unit and are left out, a unit covered by two NUMA nodes goes to
 * the first, and a topology without objects of the level is one group
 * spanning the machine. */
struct map_groups {
    int ngroups;
    int largest;                  /* units in the biggest group */
    int *group_of;                /* [nunits] */
    int *first;                   /* [ngroups + 1]: group g's units are */
    int *members;                 /* members[first[g] .. first[g + 1]) */
    hwloc_const_cpuset_t *cpuset; /* [ngroups], borrowed from the topology */
};

struct map_summary {
    hwloc_topology_t topo;
    int nunits;
    hwloc_obj_t *units; /* cores or PUs, in logical order */
    struct map_groups scope[MAP_SCOPE_COUNT];
    int fit; /* ranks that fit without two sharing a unit */
};

/* A rank's place before it is numbered: its units are the PE consecutive
 * entries members[at ...] of its node's mapping groups. */
struct map_position {
    int node;
    int at;
    int layer; /* times the node's units were used up before this rank */
};

/* The mapping groups a node's ranks are dealt over: its summary's, or for
 * a node with an allowed cpuset, the same groups holding only the allowed
 * units (built for the nodes that get ranks). */
struct map_view {
    const int *first;
    const int *members;
    int *owned; /* first and members, when the view filters */
};

struct map_plan {
    const struct map_node *nodes;
    int nnodes;
    const struct map_request *req;
    bool hwthreads; /* units are PUs */
    int pe;
    enum map_scope map_scope;
    enum map_level rank_by;
    enum map_bind bind;

    struct map_summary *summaries; /* one per distinct topology */
    int nsummaries;
    int maxsummaries;
    int *summary_of;        /* [nnodes] */
    int *fit;               /* [nnodes] ranks placeable without sharing units */
    int *capacity;          /* [nnodes] ranks allowed by slots */
    int *ppr_cap;           /* [nnodes] with ppr: ranks the ppr puts there */
    long long ppr_total;    /* sum of ppr_cap */
    bool *filtered;         /* [nnodes] some units are not allowed */
    struct map_view *views; /* [nnodes] */
    long long total;        /* sum of capacity */

    int nranks;
    bool oversubscribed;
    int *count; /* [nnodes] */
    int *start; /* [nnodes + 1] first position of each node */
    struct map_position *positions;
    int *order; /* [nranks] rank -> position */
};

static const char *map_node_name(const struct map_node *node)
{
    return node->name ? node->name : "(unnamed)";
}

/* Give the units inside set that no group owns yet to the next group;
 * return how many it got. */
static int map_groups_claim(struct map_groups *groups,
                            hwloc_topology_t topo,
                            hwloc_const_cpuset_t set,
                            hwloc_obj_type_t unit_type)
{
    hwloc_obj_t unit =
        hwloc_get_next_obj_inside_cpuset_by_type(topo, set, unit_type, NULL);
    int owned = 0;

    while (unit) {
        if (groups->group_of[unit->logical_index] < 0) {
            groups->group_of[unit->logical_index] = groups->ngroups;
            owned++;
        }
        unit = hwloc_get_next_obj_inside_cpuset_by_type(topo, set, unit_type,
                                                        unit);
    }
    return owned;
}

/* Partition units by the objects of type; see struct map_groups. */
static int map_groups_build(struct map_groups *groups,
                            hwloc_topology_t topo,
                            hwloc_obj_type_t type,
                            const hwloc_obj_t *units,
                            int nunits)
{
    int nobjs = hwloc_get_nbobjs_by_type(topo, type);
    hwloc_obj_type_t unit_type = nunits > 0 ? units[0]->type : HWLOC_OBJ_PU;
    int claimed = 0;
    int *cursor;

    if (nobjs < 0)
        nobjs = 0;
    groups->group_of = malloc(sizeof(int) * (nunits + 1));
    groups->first = calloc(nobjs + 2, sizeof(int));
    groups->members = malloc(sizeof(int) * (nunits + 1));
    groups->cpuset = calloc(nobjs + 1, sizeof(*groups->cpuset));
    if (!groups->group_of || !groups->first || !groups->members
        || !groups->cpuset)
        return -ENOMEM;
    for (int u = 0; u < nunits; u++)
        groups->group_of[u] = -1;

    groups->ngroups = 0;
    for (int i = 0; i < nobjs; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, i);
        int owned;

        owned = map_groups_claim(groups, topo, obj->cpuset, unit_type);
        if (owned > 0) {
            groups->cpuset[groups->ngroups++] = obj->cpuset;
            claimed += owned;
        }
    }
    if (claimed < nunits) {
        for (int u = 0; u < nunits; u++) {
            if (groups->group_of[u] < 0)
                groups->group_of[u] = groups->ngroups;
        }
        groups->cpuset[groups->ngroups++] = hwloc_get_root_obj(topo)->cpuset;
    }

    /* Counting sort keeps the units of each group in logical order. */
    for (int u = 0; u < nunits; u++)
        groups->first[groups->group_of[u] + 1]++;
    groups->largest = 0;
    for (int g = 0; g < groups->ngroups; g++) {
        if (groups->first[g + 1] > groups->largest)
            groups->largest = groups->first[g + 1];
        groups->first[g + 1] += groups->first[g];
    }
    cursor = malloc(sizeof(int) * (groups->ngroups + 1));
    if (!cursor)
        return -ENOMEM;
    memcpy(cursor, groups->first, sizeof(int) * groups->ngroups);
    for (int u = 0; u < nunits; u++)
        groups->members[cursor[groups->group_of[u]]++] = u;
    free(cursor);
    return 0;
}

static void map_summary_release(struct map_summary *summary)
{
    for (int s = 0; s < MAP_SCOPE_COUNT; s++) {
        free(summary->scope[s].group_of);
        free(summary->scope[s].first);
        free(summary->scope[s].members);
        free(summary->scope[s].cpuset);
    }
    free(summary->units);
}

static int map_summary_init(struct map_summary *summary,
                            hwloc_topology_t topo,
                            const struct map_plan *plan)
{
    static const hwloc_obj_type_t scope_type[MAP_SCOPE_COUNT] = {
        [MAP_SCOPE_MACHINE] = HWLOC_OBJ_MACHINE,
        [MAP_SCOPE_NUMA] = HWLOC_OBJ_NUMANODE,
        [MAP_SCOPE_PACKAGE] = HWLOC_OBJ_PACKAGE,
    };
    hwloc_obj_type_t type = HWLOC_OBJ_PU;
    const struct map_groups *mapping;
    int rc;

    memset(summary, 0, sizeof(*summary));
    summary->topo = topo;
    /* Topologies that report no cores (some VMs, some XML) get a core per
     * PU, as Open MPI does. */
    if (!plan->hwthreads && hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0)
        type = HWLOC_OBJ_CORE;
    summary->nunits = hwloc_get_nbobjs_by_type(topo, type);
    if (summary->nunits < 0)
        summary->nunits = 0;
    summary->units = malloc(sizeof(hwloc_obj_t) * (summary->nunits + 1));
    if (!summary->units)
        return -ENOMEM;
    for (int u = 0; u < summary->nunits; u++)
        summary->units[u] = hwloc_get_obj_by_type(topo, type, u);
    for (int s = 0; s < MAP_SCOPE_COUNT; s++) {
        rc = map_groups_build(&summary->scope[s], topo, scope_type[s],
                              summary->units, summary->nunits);
        if (rc < 0)
            return rc;
    }
    mapping = &summary->scope[plan->map_scope];
    for (int g = 0; g < mapping->ngroups; g++)
        summary->fit += (mapping->first[g + 1] - mapping->first[g]) / plan->pe;
    return 0;
}

static uint64_t map_hash_pointer(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* Summaries are referred to by index, so the array may move. */
static int map_summaries_grow(struct map_plan *plan)
{
    struct map_summary *grown;
    int max = plan->maxsummaries ? 2 * plan->maxsummaries : 4;

    if (plan->nsummaries < plan->maxsummaries)
        return 0;
    grown = realloc(plan->summaries, sizeof(*grown) * max);
    if (!grown)
        return -ENOMEM;
    plan->summaries = grown;
    plan->maxsummaries = max;
    return 0;
}

/* Give every node the index of its topology's summary, building one per
 * distinct topology. */
static int map_summarize(struct map_plan *plan)
{
    size_t size = 16;
    int *table;
    int rc = 0;

    while (size < 2 * (size_t)plan->nnodes)
        size *= 2;
    table = malloc(sizeof(int) * size);
    plan->summary_of = malloc(sizeof(int) * plan->nnodes);
    if (!table || !plan->summary_of) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < size; i++)
        table[i] = -1;
    for (int n = 0; n < plan->nnodes; n++) {
        hwloc_topology_t topo = plan->nodes[n].topo;
        size_t i = map_hash_pointer(topo) & (size - 1);

        if (n > 0 && plan->nodes[n - 1].topo == topo) {
            plan->summary_of[n] = plan->summary_of[n - 1];
            continue;
        }
        while (table[i] >= 0 && plan->summaries[table[i]].topo != topo)
            i = (i + 1) & (size - 1);
        if (table[i] < 0) {
            rc = map_summaries_grow(plan);
            if (rc < 0)
                goto out;
            rc = map_summary_init(&plan->summaries[plan->nsummaries], topo,
                                  plan);
            plan->nsummaries++;
            if (rc < 0)
                goto out;
            table[i] = plan->nsummaries - 1;
        }
        plan->summary_of[n] = table[i];
    }
out:
    free(table);
    return rc;
}

static const struct map_summary *map_summary_of(const struct map_plan *plan,
                                                int node)
{
    return &plan->summaries[plan->summary_of[node]];
}

static const char *map_unit_name(const struct map_plan *plan)
{
    return plan->hwthreads ? "hwthreads" : "cores";
}

static bool map_unit_allowed(const struct map_summary *summary,
                             int unit,
                             hwloc_const_cpuset_t allowed)
{
    hwloc_const_cpuset_t cpus = summary->units[unit]->cpuset;

    return !hwloc_bitmap_iszero(cpus) && hwloc_bitmap_isincluded(cpus, allowed);
}

/* The units of group g of node n's mapping groups that ranks may use:
 * all of them, or on a node with an allowed cpuset those wholly in it. */
static int map_group_units(const struct map_plan *plan, int n, int g)
{
    const struct map_summary *summary = map_summary_of(plan, n);
    const struct map_groups *groups = &summary->scope[plan->map_scope];
    hwloc_const_cpuset_t allowed = plan->nodes[n].allowed;
    int units = 0;

    if (!allowed)
        return groups->first[g + 1] - groups->first[g];
    for (int i = groups->first[g]; i < groups->first[g + 1]; i++)
        units += map_unit_allowed(summary, groups->members[i], allowed);
    return units;
}

/* Ranks of PE units that fit in the allowed units of node n, group by
 * group; *filtered tells whether some unit is left out. A node whose
 * whole machine is allowed costs one bitmap test. */
static int map_allowed_fit(const struct map_plan *plan, int n, bool *filtered)
{
    const struct map_summary *summary = map_summary_of(plan, n);
    const struct map_groups *mapping = &summary->scope[plan->map_scope];
    hwloc_const_cpuset_t allowed = plan->nodes[n].allowed;
    int fit = 0;

    *filtered = false;
    if (hwloc_bitmap_isincluded(hwloc_get_root_obj(summary->topo)->cpuset,
                                allowed))
        return summary->fit;
    *filtered = true;
    for (int g = 0; g < mapping->ngroups; g++)
        fit += map_group_units(plan, n, g) / plan->pe;
    return fit;
}

/* --map-by ppr:N:LEVEL: N ranks on each object of the level (the node,
 * each package, each NUMA node) that has PE units (allowed ones, on a
 * pool node), whatever the slots; the slots are checked after counting. */
static int map_measure_ppr(struct map_plan *plan)
{
    plan->ppr_cap = calloc(plan->nnodes, sizeof(int));
    if (!plan->ppr_cap)
        return -ENOMEM;
    plan->ppr_total = 0;
    for (int n = 0; n < plan->nnodes; n++) {
        int ngroups = map_summary_of(plan, n)->scope[plan->map_scope].ngroups;
        long long objects = 0;

        for (int g = 0; g < ngroups; g++)
            objects += map_group_units(plan, n, g) >= plan->pe;
        if (objects * plan->req->ppr > INT_MAX)
            return -EOVERFLOW;
        plan->ppr_cap[n] = (int)(objects * plan->req->ppr);
        plan->ppr_total += plan->ppr_cap[n];
    }
    return 0;
}

/* What each node can take: `fit` ranks of PE units without sharing, and
 * `capacity` ranks by its slots (a rank of PE=n takes n slots). */
static int map_measure(struct map_plan *plan, shoal_error_t *error)
{
    static const char *const scope_name[MAP_SCOPE_COUNT] = {
        [MAP_SCOPE_MACHINE] = "node",
        [MAP_SCOPE_NUMA] = "numa node",
        [MAP_SCOPE_PACKAGE] = "package",
    };

    plan->fit = malloc(sizeof(int) * plan->nnodes);
    plan->capacity = malloc(sizeof(int) * plan->nnodes);
    plan->filtered = calloc(plan->nnodes, sizeof(bool));
    if (!plan->fit || !plan->capacity || !plan->filtered)
        return -ENOMEM;
    plan->total = 0;
    for (int n = 0; n < plan->nnodes; n++) {
        const struct map_node *node = &plan->nodes[n];
        const struct map_summary *summary = map_summary_of(plan, n);
        int largest = summary->scope[plan->map_scope].largest;

        plan->fit[n] = summary->fit;
        if (node->allowed) {
            plan->fit[n] = map_allowed_fit(plan, n, &plan->filtered[n]);
        } else if (node->slots != 0 && summary->fit == 0) {
            if (plan->map_scope == MAP_SCOPE_MACHINE)
                return shoal_errprintf(
                    error, -EINVAL,
                    "cannot map with PE=%d: '%s' has only %d %s", plan->pe,
                    map_node_name(node), largest, map_unit_name(plan));
            return shoal_errprintf(
                error, -EINVAL,
                "cannot map with PE=%d: the largest %s of '%s' has only %d %s",
                plan->pe, scope_name[plan->map_scope], map_node_name(node),
                largest, map_unit_name(plan));
        }
        if (plan->fit[n] == 0)
            plan->capacity[n] = 0;
        else if (node->slots >= 0)
            plan->capacity[n] = node->slots / plan->pe;
        else
            plan->capacity[n] = plan->fit[n];
        /* A pool node lends its allowed units, never more. */
        if (node->allowed && plan->capacity[n] > plan->fit[n])
            plan->capacity[n] = plan->fit[n];
        plan->total += plan->capacity[n];
    }
    return plan->req->ppr > 0 ? map_measure_ppr(plan) : 0;
}

static int map_no_slots(const struct map_plan *plan, shoal_error_t *error)
{
    char where[320];

    if (plan->nnodes == 1)
        snprintf(where, sizeof(where), "'%s'", map_node_name(&plan->nodes[0]));
    else
        snprintf(where, sizeof(where), "%d nodes", plan->nnodes);
    if (plan->total == 0)
        return shoal_errprintf(error, SHOAL_ENOSLOTS,
                               "not enough slots: no slots available on %s",
                               where);
    if (plan->pe > 1)
        return shoal_errprintf(error, SHOAL_ENOSLOTS,
                               "not enough slots: %d ranks of PE=%d requested "
                               "but only %lld fit on %s",
                               plan->nranks, plan->pe, plan->total, where);
    return shoal_errprintf(error, SHOAL_ENOSLOTS,
                           "not enough slots: %d ranks requested but only "
                           "%lld slots available on %s",
                           plan->nranks, plan->total, where);
}

/* Fill each node up to its slots before the next one. */
static int map_count_fill(struct map_plan *plan, int remaining)
{
    for (int n = 0; n < plan->nnodes && remaining > 0; n++) {
        int take =
            plan->capacity[n] < remaining ? plan->capacity[n] : remaining;

        plan->count[n] = take;
        remaining -= take;
    }
    return remaining;
}

/* One rank per node in turn, skipping full nodes. The list of nodes with
 * room left is compacted every round so full nodes cost nothing later. */
static int map_count_round_robin(struct map_plan *plan, int remaining)
{
    int *open = malloc(sizeof(int) * plan->nnodes);
    int nopen = 0;

    if (!open)
        return -ENOMEM;
    for (int n = 0; n < plan->nnodes; n++) {
        if (plan->capacity[n] > 0)
            open[nopen++] = n;
    }
    while (remaining > 0 && nopen > 0) {
        int kept = 0;

        for (int i = 0; i < nopen && remaining > 0; i++) {
            int n = open[i];

            plan->count[n]++;
            remaining--;
            if (plan->count[n] < plan->capacity[n])
                open[kept++] = n;
        }
        nopen = kept;
    }
    free(open);
    return remaining;
}

/* The ranks a node may take at most, oversubscribing: its max_slots. */
static long long map_hard_cap(const struct map_plan *plan, int n)
{
    int max = plan->nodes[n].max_slots;

    return max > 0 ? max / plan->pe : LLONG_MAX;
}

/* Spread the ranks beyond all slots evenly over the nodes that have slots
 * (over every node that can hold a rank when none has), the first nodes
 * taking one more when the division is not exact, as Open MPI does. A
 * node at its max_slots takes no more; the others share what it left. */
static int
map_count_spread(struct map_plan *plan, int excess, shoal_error_t *error)
{
    bool any_slots = plan->total > 0;

    while (excess > 0) {
        int eligible = 0, ntargets = 0, share, extra;

        for (int n = 0; n < plan->nnodes; n++) {
            if (!(any_slots ? plan->capacity[n] > 0 : plan->fit[n] > 0))
                continue;
            eligible++;
            if (plan->count[n] < map_hard_cap(plan, n))
                ntargets++;
        }
        if (eligible == 0)
            return map_no_slots(plan, error);
        if (ntargets == 0)
            return shoal_errprintf(error, SHOAL_ENOSLOTS,
                                   "not enough slots: %d ranks requested but "
                                   "max_slots allows only %d, even "
                                   "oversubscribing",
                                   plan->nranks, plan->nranks - excess);
        share = excess / ntargets;
        extra = excess % ntargets;
        for (int n = 0; n < plan->nnodes && excess > 0; n++) {
            long long room = map_hard_cap(plan, n) - plan->count[n];
            long long take = share + (extra > 0);

            if (!(any_slots ? plan->capacity[n] > 0 : plan->fit[n] > 0)
                || room <= 0)
                continue;
            if (extra > 0)
                extra--;
            if (take > room)
                take = room;
            plan->count[n] += (int)take;
            excess -= (int)take;
        }
    }
    return 0;
}

static const char *map_level_name(enum map_level level);

/* ppr: the ppr's ranks node after node, as many as asked (all by
 * default); never more than it places, even oversubscribing (Open MPI:
 * "more processes than the ppr for this topology can support"). Without
 * --oversubscribe each node's slots must hold its share. */
static int map_count_ppr(struct map_plan *plan, shoal_error_t *error)
{
    int remaining;

    if (plan->req->nranks <= 0 && plan->ppr_total > INT_MAX)
        return shoal_errprintf(
            error, -EOVERFLOW, "too many ranks for ppr:%d:%s: %lld",
            plan->req->ppr, map_level_name(plan->req->map_by), plan->ppr_total);
    plan->nranks =
        plan->req->nranks > 0 ? plan->req->nranks : (int)plan->ppr_total;
    if (plan->nranks > plan->ppr_total || plan->nranks == 0)
        return shoal_errprintf(
            error, -EINVAL,
            "--map-by ppr:%d:%s places at most %lld ranks "
            "on %d node%s, %d requested",
            plan->req->ppr, map_level_name(plan->req->map_by), plan->ppr_total,
            plan->nnodes, plan->nnodes == 1 ? "" : "s", plan->nranks);
    plan->count = calloc(plan->nnodes, sizeof(int));
    if (!plan->count)
        return -ENOMEM;
    remaining = plan->nranks;
    for (int n = 0; n < plan->nnodes && remaining > 0; n++) {
        plan->count[n] =
            plan->ppr_cap[n] < remaining ? plan->ppr_cap[n] : remaining;
        remaining -= plan->count[n];
    }
    for (int n = 0; n < plan->nnodes; n++) {
        if (plan->count[n] <= plan->capacity[n]
            && plan->count[n] <= plan->fit[n])
            continue;
        if (plan->count[n] > map_hard_cap(plan, n))
            return shoal_errprintf(
                error, SHOAL_ENOSLOTS,
                "not enough slots: --map-by ppr:%d:%s puts %d ranks on '%s', "
                "whose max_slots is %d",
                plan->req->ppr, map_level_name(plan->req->map_by),
                plan->count[n], map_node_name(&plan->nodes[n]),
                plan->nodes[n].max_slots);
        if (!plan->req->oversubscribe)
            return shoal_errprintf(
                error, SHOAL_ENOSLOTS,
                "not enough slots: --map-by ppr:%d:%s puts "
                "%d ranks on '%s', which has %d slots",
                plan->req->ppr, map_level_name(plan->req->map_by),
                plan->count[n], map_node_name(&plan->nodes[n]),
                plan->capacity[n]);
        plan->oversubscribed = true;
    }
    return 0;
}

/* The ranks of PE units each mapping object (group) of node n holds:
 * room[g] for its groups; returns how many groups. */
static int map_group_room(const struct map_plan *plan, int n, int *room)
{
    int ngroups = map_summary_of(plan, n)->scope[plan->map_scope].ngroups;

    for (int g = 0; g < ngroups; g++)
        room[g] = map_group_units(plan, n, g) / plan->pe;
    return ngroups;
}

/* :SPAN: the nodes are one machine. One rank per object (NUMA node or
 * package) of every node in turn, node by node, while the object has PE
 * units free and its node slots left. Returns the ranks left over. */
static int map_count_span(struct map_plan *plan, int remaining)
{
    int *offset = malloc(sizeof(int) * (plan->nnodes + 1));
    int *room = NULL, *taken = NULL;
    bool progress = true;

    if (!offset)
        return -ENOMEM;
    offset[0] = 0;
    for (int n = 0; n < plan->nnodes; n++)
        offset[n + 1] =
            offset[n] + map_summary_of(plan, n)->scope[plan->map_scope].ngroups;
    room = malloc(sizeof(int) * (offset[plan->nnodes] + 1));
    taken = calloc(offset[plan->nnodes] + 1, sizeof(int));
    if (!room || !taken) {
        free(offset);
        free(room);
        free(taken);
        return -ENOMEM;
    }
    for (int n = 0; n < plan->nnodes; n++)
        map_group_room(plan, n, &room[offset[n]]);
    while (remaining > 0 && progress) {
        progress = false;
        for (int n = 0; n < plan->nnodes && remaining > 0; n++) {
            for (int g = offset[n]; g < offset[n + 1] && remaining > 0; g++) {
                if (plan->count[n] >= plan->capacity[n] || taken[g] >= room[g])
                    continue;
                taken[g]++;
                plan->count[n]++;
                remaining--;
                progress = true;
            }
        }
    }
    free(offset);
    free(room);
    free(taken);
    return remaining;
}

static int map_count(struct map_plan *plan, shoal_error_t *error)
{
    int remaining;

    if (plan->req->ppr > 0)
        return map_count_ppr(plan, error);

    if (plan->req->nranks > 0) {
        plan->nranks = plan->req->nranks;
    } else if (plan->total > INT_MAX) {
        return shoal_errprintf(error, -EOVERFLOW,
                               "too many slots to start a rank on each: %lld",
                               plan->total);
    } else {
        plan->nranks = (int)plan->total;
    }
    if (plan->nranks == 0
        || (plan->nranks > plan->total && !plan->req->oversubscribe))
        return map_no_slots(plan, error);

    plan->count = calloc(plan->nnodes, sizeof(int));
    if (!plan->count)
        return -ENOMEM;
    if (plan->req->map_by == MAP_LEVEL_NODE)
        remaining = map_count_round_robin(plan, plan->nranks);
    else if (plan->req->span && plan->map_scope != MAP_SCOPE_MACHINE)
        remaining = map_count_span(plan, plan->nranks);
    else
        remaining = map_count_fill(plan, plan->nranks);
    if (remaining < 0)
        return remaining;
    if (remaining > 0) {
        int rc = map_count_spread(plan, remaining, error);

        if (rc < 0)
            return rc;
    }
    for (int n = 0; n < plan->nnodes; n++) {
        if (plan->count[n] > plan->capacity[n] || plan->count[n] > plan->fit[n])
            plan->oversubscribed = true;
    }
    return 0;
}

/* Deal a node's ranks round-robin over its mapping groups, each taking
 * the next PE units of its group; when no group has PE units left, every
 * group starts over from its first unit, one layer up. */
/* ppr: each object in turn takes its N ranks, on consecutive PE units;
 * an object with fewer units than that wraps around them, one layer up
 * (oversubscribed). Returns whether it had to. */
static bool
map_place_node_ppr(const struct map_plan *plan, int n, struct map_position *out)
{
    const struct map_groups *groups =
        &map_summary_of(plan, n)->scope[plan->map_scope];
    const struct map_view *view = &plan->views[n];
    bool wrapped = false;
    int placed = 0;

    for (int g = 0; g < groups->ngroups && placed < plan->count[n]; g++) {
        int per_layer = (view->first[g + 1] - view->first[g]) / plan->pe;

        for (int j = 0;
             per_layer > 0 && j < plan->req->ppr && placed < plan->count[n];
             j++) {
            out[placed].node = n;
            out[placed].at = view->first[g] + (j % per_layer) * plan->pe;
            out[placed].layer = j / per_layer;
            wrapped = wrapped || j >= per_layer;
            placed++;
        }
    }
    if (placed != plan->count[n])
        SHOAL_BUG("ppr counted more ranks than its objects hold");
    return wrapped;
}

static void map_place_node(const struct map_plan *plan,
                           int n,
                           int *used,
                           struct map_position *out)
{
    const struct map_groups *groups =
        &map_summary_of(plan, n)->scope[plan->map_scope];
    const struct map_view *view = &plan->views[n];
    int k = plan->count[n];
    int placed = 0;
    int layer = 0;

    memset(used, 0, sizeof(int) * groups->ngroups);
    while (placed < k) {
        bool progress = false;

        for (int g = 0; g < groups->ngroups && placed < k; g++) {
            int size = view->first[g + 1] - view->first[g];

            if ((used[g] + 1) * plan->pe > size)
                continue;
            out[placed].node = n;
            out[placed].at = view->first[g] + used[g] * plan->pe;
            out[placed].layer = layer;
            used[g]++;
            placed++;
            progress = true;
        }
        if (!progress) {
            if (plan->fit[n] == 0)
                SHOAL_BUG("ranks counted on a node that cannot hold one");
            layer++;
            memset(used, 0, sizeof(int) * groups->ngroups);
        }
    }
}

static int map_max_groups(const struct map_plan *plan)
{
    int most = 1;

    for (int i = 0; i < plan->nsummaries; i++) {
        for (int s = 0; s < MAP_SCOPE_COUNT; s++) {
            if (plan->summaries[i].scope[s].ngroups > most)
                most = plan->summaries[i].scope[s].ngroups;
        }
    }
    return most;
}

/* Node n's mapping groups with only its allowed units, in the same
 * order. */
static int map_view_filter(struct map_plan *plan, int n)
{
    const struct map_summary *summary = map_summary_of(plan, n);
    const struct map_groups *groups = &summary->scope[plan->map_scope];
    hwloc_const_cpuset_t allowed = plan->nodes[n].allowed;
    struct map_view *view = &plan->views[n];
    int *first;
    int *members;
    int kept = 0;

    view->owned = malloc(sizeof(int) * (groups->ngroups + 1 + summary->nunits));
    if (!view->owned)
        return -ENOMEM;
    first = view->owned;
    members = view->owned + groups->ngroups + 1;
    for (int g = 0; g < groups->ngroups; g++) {
        first[g] = kept;
        for (int i = groups->first[g]; i < groups->first[g + 1]; i++) {
            if (map_unit_allowed(summary, groups->members[i], allowed))
                members[kept++] = groups->members[i];
        }
    }
    first[groups->ngroups] = kept;
    view->first = first;
    view->members = members;
    return 0;
}

static int map_views_build(struct map_plan *plan)
{
    plan->views = calloc(plan->nnodes, sizeof(*plan->views));
    if (!plan->views)
        return -ENOMEM;
    for (int n = 0; n < plan->nnodes; n++) {
        const struct map_groups *groups =
            &map_summary_of(plan, n)->scope[plan->map_scope];

        if (plan->count[n] > 0 && plan->filtered[n]) {
            int rc = map_view_filter(plan, n);

            if (rc < 0)
                return rc;
        } else {
            plan->views[n].first = groups->first;
            plan->views[n].members = groups->members;
        }
    }
    return 0;
}

static int map_place(struct map_plan *plan)
{
    int *used = malloc(sizeof(int) * map_max_groups(plan));

    int rc;

    plan->start = malloc(sizeof(int) * (plan->nnodes + 1));
    plan->positions = malloc(sizeof(*plan->positions) * plan->nranks);
    if (!used || !plan->start || !plan->positions) {
        free(used);
        return -ENOMEM;
    }
    rc = map_views_build(plan);
    if (rc < 0) {
        free(used);
        return rc;
    }
    plan->start[0] = 0;
    for (int n = 0; n < plan->nnodes; n++) {
        plan->start[n + 1] = plan->start[n] + plan->count[n];
        if (plan->count[n] > 0 && plan->req->ppr > 0) {
            if (map_place_node_ppr(plan, n, &plan->positions[plan->start[n]]))
                plan->oversubscribed = true;
        } else if (plan->count[n] > 0) {
            map_place_node(plan, n, used, &plan->positions[plan->start[n]]);
        }
    }
    free(used);
    return 0;
}

struct map_sort_key {
    long long key;
    int position;
};

static int map_sort_key_compare(const void *a, const void *b)
{
    const struct map_sort_key *x = a;
    const struct map_sort_key *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->position > y->position) - (x->position < y->position);
}

static int map_unit_of(const struct map_plan *plan,
                       const struct map_position *pos)
{
    return plan->views[pos->node].members[pos->at];
}

/* rank-by core/hwthread: along the node's units, first layer first. */
static int map_rank_by_unit(struct map_plan *plan)
{
    struct map_sort_key *keys = malloc(sizeof(*keys) * plan->nranks);

    if (!keys)
        return -ENOMEM;
    for (int n = 0; n < plan->nnodes; n++) {
        int k = plan->count[n];
        int nunits = map_summary_of(plan, n)->nunits;
        struct map_sort_key *node_keys = &keys[plan->start[n]];

        for (int i = 0; i < k; i++) {
            int p = plan->start[n] + i;
            const struct map_position *pos = &plan->positions[p];

            node_keys[i].key =
                (long long)pos->layer * nunits + map_unit_of(plan, pos);
            node_keys[i].position = p;
        }
        qsort(node_keys, k, sizeof(*node_keys), map_sort_key_compare);
    }
    for (int r = 0; r < plan->nranks; r++)
        plan->order[r] = keys[r].position;
    free(keys);
    return 0;
}

/* rank-by numa/package: deal each node's positions round-robin across the
 * objects of that level, in placement order within an object. */
static int map_rank_by_object(struct map_plan *plan, enum map_scope scope)
{
    int most = map_max_groups(plan);
    int *first = malloc(sizeof(int) * (most + 1));
    int *taken = malloc(sizeof(int) * most);
    int *bucket = malloc(sizeof(int) * plan->nranks);
    int rc = 0;

    if (!first || !taken || !bucket) {
        rc = -ENOMEM;
        goto out;
    }
    for (int n = 0; n < plan->nnodes; n++) {
        const struct map_groups *groups =
            &map_summary_of(plan, n)->scope[scope];
        int ng = groups->ngroups;
        int k = plan->count[n];
        int *out = &plan->order[plan->start[n]];
        int emitted = 0;

        memset(first, 0, sizeof(int) * (ng + 1));
        for (int i = 0; i < k; i++) {
            const struct map_position *pos =
                &plan->positions[plan->start[n] + i];

            first[groups->group_of[map_unit_of(plan, pos)] + 1]++;
        }
        for (int g = 0; g < ng; g++)
            first[g + 1] += first[g];
        memcpy(taken, first, sizeof(int) * ng);
        for (int i = 0; i < k; i++) {
            const struct map_position *pos =
                &plan->positions[plan->start[n] + i];
            int g = groups->group_of[map_unit_of(plan, pos)];

            bucket[taken[g]++] = plan->start[n] + i;
        }
        memcpy(taken, first, sizeof(int) * ng);
        while (emitted < k) {
            for (int g = 0; g < ng; g++) {
                if (taken[g] < first[g + 1])
                    out[emitted++] = bucket[taken[g]++];
            }
        }
    }
out:
    free(first);
    free(taken);
    free(bucket);
    return rc;
}

/* rank-by node: one rank per node in turn, in each node's placement order.
 * As in counting, exhausted nodes drop out of the list. */
static int map_rank_by_node(struct map_plan *plan)
{
    int *open = malloc(sizeof(int) * plan->nnodes);
    int nopen = 0;
    int r = 0;

    if (!open)
        return -ENOMEM;
    for (int n = 0; n < plan->nnodes; n++) {
        if (plan->count[n] > 0)
            open[nopen++] = n;
    }
    for (int round = 0; nopen > 0; round++) {
        int kept = 0;

        for (int i = 0; i < nopen; i++) {
            int n = open[i];

            plan->order[r++] = plan->start[n] + round;
            if (round + 1 < plan->count[n])
                open[kept++] = n;
        }
        nopen = kept;
    }
    free(open);
    return 0;
}

/* rank-by numa/package under :SPAN: round-robin over the objects of
 * every node, node by node, as the ranks were dealt. */
static int map_rank_by_object_span(struct map_plan *plan, enum map_scope scope)
{
    int *offset = malloc(sizeof(int) * (plan->nnodes + 1));
    int *first = NULL, *taken = NULL;
    int *bucket = malloc(sizeof(int) * (plan->nranks + 1));
    int emitted = 0, ngroups;
    int rc = -ENOMEM;

    if (!offset || !bucket)
        goto out;
    offset[0] = 0;
    for (int n = 0; n < plan->nnodes; n++)
        offset[n + 1] =
            offset[n] + map_summary_of(plan, n)->scope[scope].ngroups;
    ngroups = offset[plan->nnodes];
    first = calloc(ngroups + 1, sizeof(int));
    taken = malloc(sizeof(int) * (ngroups + 1));
    if (!first || !taken)
        goto out;
    /* count the positions of each (node, group), then bucket them */
    for (int n = 0; n < plan->nnodes; n++) {
        const struct map_groups *groups =
            &map_summary_of(plan, n)->scope[scope];

        for (int i = 0; i < plan->count[n]; i++) {
            const struct map_position *pos =
                &plan->positions[plan->start[n] + i];

            first[offset[n] + groups->group_of[map_unit_of(plan, pos)] + 1]++;
        }
    }
    for (int g = 0; g < ngroups; g++)
        first[g + 1] += first[g];
    memcpy(taken, first, sizeof(int) * ngroups);
    for (int n = 0; n < plan->nnodes; n++) {
        const struct map_groups *groups =
            &map_summary_of(plan, n)->scope[scope];

        for (int i = 0; i < plan->count[n]; i++) {
            const struct map_position *pos =
                &plan->positions[plan->start[n] + i];
            int g = offset[n] + groups->group_of[map_unit_of(plan, pos)];

            bucket[taken[g]++] = plan->start[n] + i;
        }
    }
    memcpy(taken, first, sizeof(int) * ngroups);
    while (emitted < plan->nranks) {
        for (int g = 0; g < ngroups; g++) {
            if (taken[g] < first[g + 1])
                plan->order[emitted++] = bucket[taken[g]++];
        }
    }
    rc = 0;
out:
    free(offset);
    free(first);
    free(taken);
    free(bucket);
    return rc;
}

static int map_rank(struct map_plan *plan)
{
    plan->order = malloc(sizeof(int) * plan->nranks);
    if (!plan->order)
        return -ENOMEM;
    switch (plan->rank_by) {
    case MAP_LEVEL_SLOT:
        for (int r = 0; r < plan->nranks; r++)
            plan->order[r] = r;
        return 0;
    case MAP_LEVEL_HWTHREAD:
    case MAP_LEVEL_CORE:
        return map_rank_by_unit(plan);
    case MAP_LEVEL_NUMA:
        return plan->req->span ? map_rank_by_object_span(plan, MAP_SCOPE_NUMA)
                               : map_rank_by_object(plan, MAP_SCOPE_NUMA);
    case MAP_LEVEL_PACKAGE:
        return plan->req->span
                   ? map_rank_by_object_span(plan, MAP_SCOPE_PACKAGE)
                   : map_rank_by_object(plan, MAP_SCOPE_PACKAGE);
    case MAP_LEVEL_NODE:
        return map_rank_by_node(plan);
    case MAP_LEVEL_DEFAULT:
        break;
    }
    SHOAL_BUG("rank-by level not resolved");
}

/* The PU a rank mapped to a core binds to with bind-to hwthread: ranks
 * sharing the core (oversubscribed layers) take its PUs in turn. */
static hwloc_obj_t
map_unit_pu(hwloc_topology_t topo, hwloc_obj_t unit, int layer)
{
    int npus;

    if (unit->type == HWLOC_OBJ_PU)
        return unit;
    npus = hwloc_get_nbobjs_inside_cpuset_by_type(topo, unit->cpuset,
                                                  HWLOC_OBJ_PU);
    if (npus <= 0)
        return unit;
    return hwloc_get_obj_inside_cpuset_by_type(topo, unit->cpuset, HWLOC_OBJ_PU,
                                               layer % npus);
}

static hwloc_obj_t map_unit_core(hwloc_topology_t topo, hwloc_obj_t unit)
{
    hwloc_obj_t core;

    if (unit->type == HWLOC_OBJ_CORE)
        return unit;
    core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, unit);
    return core ? core : unit;
}

/* The L3 cache holding a unit. A topology that shows no L3 cache (a
 * virtual machine that hides its caches, a synthetic description) binds
 * the package instead, the L3's usual extent, or the machine without
 * packages. */
static hwloc_obj_t map_unit_l3(hwloc_topology_t topo, hwloc_obj_t unit)
{
    hwloc_obj_t l3 =
        hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_L3CACHE, unit);

    if (!l3)
        l3 = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, unit);
    return l3 ? l3 : hwloc_get_root_obj(topo);
}

static const char *map_bind_name(enum map_bind bind);

/* Whether the nodes' allowed units (under :PE-LIST=) hold no rank. */
static bool map_pe_list_empty(const struct map_plan *plan)
{
    for (int n = 0; n < plan->nnodes; n++)
        if (plan->fit[n] > 0)
            return false;
    return true;
}

/* An explicit binding that puts more ranks on a cpu than it has: Open
 * MPI refuses it unless the binding allows overload, since such ranks
 * only take turns on their cpus while others may be idle. A rank mapped
 * to a unit already used (layer > 0) overloads it, except with bind-to
 * hwthread on cores, where ranks sharing a core take its PUs in turn
 * until they run out. */
static int map_check_overload(const struct map_plan *plan, shoal_error_t *error)
{
    if (plan->bind == MAP_BIND_NONE || plan->req->overload_allowed
        || !plan->oversubscribed)
        return 0;
    for (int p = 0; p < plan->nranks; p++) {
        const struct map_position *pos = &plan->positions[p];
        const struct map_summary *summary = map_summary_of(plan, pos->node);
        hwloc_obj_t unit =
            summary->units[plan->views[pos->node].members[pos->at]];
        int room = 1;

        if (plan->bind == MAP_BIND_HWTHREAD && unit->type != HWLOC_OBJ_PU)
            room = hwloc_get_nbobjs_inside_cpuset_by_type(
                summary->topo, unit->cpuset, HWLOC_OBJ_PU);
        if (pos->layer < room)
            continue;
        return shoal_errprintf(
            error, -EINVAL,
            "--bind-to %s would bind more ranks than cpus on '%s' (%d ranks "
            "there): add :overload-allowed (--bind-to %s:overload-allowed) "
            "to bind them anyway, or --bind-to none",
            map_bind_name(plan->bind), map_node_name(&plan->nodes[pos->node]),
            plan->count[pos->node], map_bind_name(plan->bind));
    }
    return 0;
}

static int map_bind_position(const struct map_plan *plan,
                             const struct map_position *pos,
                             hwloc_bitmap_t *out)
{
    const struct map_summary *summary = map_summary_of(plan, pos->node);
    const struct map_view *view = &plan->views[pos->node];
    hwloc_const_cpuset_t allowed = plan->nodes[pos->node].allowed;
    hwloc_bitmap_t set;

    *out = NULL;
    if (plan->bind == MAP_BIND_NONE)
        return 0;
    set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    for (int i = 0; i < plan->pe; i++) {
        int unit = view->members[pos->at + i];
        hwloc_obj_t obj = summary->units[unit];
        const struct map_groups *wide = NULL;
        hwloc_const_cpuset_t cpus;

        switch (plan->bind) {
        case MAP_BIND_HWTHREAD:
            cpus = map_unit_pu(summary->topo, obj, pos->layer)->cpuset;
            break;
        case MAP_BIND_CORE:
            cpus = map_unit_core(summary->topo, obj)->cpuset;
            break;
        case MAP_BIND_NUMA:
            wide = &summary->scope[MAP_SCOPE_NUMA];
            cpus = wide->cpuset[wide->group_of[unit]];
            break;
        case MAP_BIND_PACKAGE:
            wide = &summary->scope[MAP_SCOPE_PACKAGE];
            cpus = wide->cpuset[wide->group_of[unit]];
            break;
        case MAP_BIND_L3CACHE:
            cpus = map_unit_l3(summary->topo, obj)->cpuset;
            break;
        default:
            SHOAL_BUG("bind-to level not resolved");
        }
        if (hwloc_bitmap_or(set, set, cpus) < 0) {
            hwloc_bitmap_free(set);
            return -ENOMEM;
        }
    }
    if (allowed && hwloc_bitmap_and(set, set, allowed) < 0) {
        hwloc_bitmap_free(set);
        return -ENOMEM;
    }
    *out = set;
    return 0;
}

/* The cpus of the units a rank was mapped to. */
static int map_mapped_position(const struct map_plan *plan,
                               const struct map_position *pos,
                               hwloc_bitmap_t *out)
{
    const struct map_summary *summary = map_summary_of(plan, pos->node);
    const struct map_view *view = &plan->views[pos->node];
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    *out = NULL;
    if (!set)
        return -ENOMEM;
    for (int i = 0; i < plan->pe; i++) {
        int unit = view->members[pos->at + i];

        if (hwloc_bitmap_or(set, set, summary->units[unit]->cpuset) < 0) {
            hwloc_bitmap_free(set);
            return -ENOMEM;
        }
    }
    *out = set;
    return 0;
}

static int map_build_result(const struct map_plan *plan,
                            struct map_result **out)
{
    struct map_result *result = calloc(1, sizeof(*result));
    int *next_local = calloc(plan->nnodes, sizeof(int));
    int rc = -ENOMEM;

    if (!result || !next_local)
        goto error;
    result->ranks = calloc(plan->nranks, sizeof(*result->ranks));
    if (!result->ranks)
        goto error;
    result->nranks = plan->nranks;
    result->oversubscribed = plan->oversubscribed;
    for (int r = 0; r < plan->nranks; r++) {
        const struct map_position *pos = &plan->positions[plan->order[r]];

        result->ranks[r].node = pos->node;
        result->ranks[r].local_rank = next_local[pos->node]++;
        rc = map_bind_position(plan, pos, &result->ranks[r].cpuset);
        if (rc < 0)
            goto error;
        rc = map_mapped_position(plan, pos, &result->ranks[r].mapped);
        if (rc < 0)
            goto error;
    }
    free(next_local);
    *out = result;
    return 0;
error:
    free(next_local);
    map_result_destroy(result);
    return rc;
}

static int map_plan_init(struct map_plan *plan,
                         const struct map_node *nodes,
                         int nnodes,
                         const struct map_request *req,
                         shoal_error_t *error)
{
    memset(plan, 0, sizeof(*plan));
    if (!nodes || nnodes <= 0)
        return shoal_errprintf(error, -EINVAL, "no nodes to map ranks on");
    if ((int)req->map_by < 0 || req->map_by > MAP_LEVEL_NODE
        || (int)req->rank_by < 0 || req->rank_by > MAP_LEVEL_NODE
        || (int)req->bind_to < 0 || req->bind_to > MAP_BIND_L3CACHE)
        return shoal_errprintf(error, -EINVAL, "invalid mapping request");
    if (req->pe < 0)
        return shoal_errprintf(error, -EINVAL,
                               "invalid PE=%d: expected a positive number",
                               req->pe);
    for (int n = 0; n < nnodes; n++) {
        if (!nodes[n].topo)
            return shoal_errprintf(error, -EINVAL, "node '%s' has no topology",
                                   map_node_name(&nodes[n]));
    }
    plan->nodes = nodes;
    plan->nnodes = nnodes;
    plan->req = req;
    /* Open MPI: mapping to hwthreads treats them as independent cpus. */
    plan->hwthreads =
        req->use_hwthread_cpus || req->map_by == MAP_LEVEL_HWTHREAD;
    plan->pe = req->pe > 0 ? req->pe : 1;
    if (req->bind_to == MAP_BIND_HWTHREAD && !plan->hwthreads && plan->pe > 1)
        return shoal_errprintf(error, -EINVAL,
                               "--bind-to hwthread is narrower than PE=%d: "
                               "each rank has %d cores",
                               plan->pe, plan->pe);
    switch (req->map_by) {
    case MAP_LEVEL_NUMA:
        plan->map_scope = MAP_SCOPE_NUMA;
        break;
    case MAP_LEVEL_PACKAGE:
        plan->map_scope = MAP_SCOPE_PACKAGE;
        break;
    default:
        plan->map_scope = MAP_SCOPE_MACHINE;
        break;
    }
    if (req->ppr < 0
        || (req->ppr > 0 && req->map_by != MAP_LEVEL_NODE
            && req->map_by != MAP_LEVEL_PACKAGE
            && req->map_by != MAP_LEVEL_NUMA))
        return shoal_errprintf(error, -EINVAL,
                               "invalid ppr:%d:%s: expected N > 0 ranks per "
                               "node, package or numa",
                               req->ppr, map_level_name(req->map_by));
    plan->rank_by =
        req->rank_by != MAP_LEVEL_DEFAULT ? req->rank_by : req->map_by;
    /* ppr ranks in placement order: object after object, as Open MPI */
    if (req->ppr > 0 && req->rank_by == MAP_LEVEL_DEFAULT)
        plan->rank_by = MAP_LEVEL_SLOT;
    if (plan->rank_by == MAP_LEVEL_DEFAULT)
        plan->rank_by = plan->hwthreads ? MAP_LEVEL_HWTHREAD : MAP_LEVEL_CORE;
    return 0;
}

static void map_plan_release(struct map_plan *plan)
{
    for (int i = 0; i < plan->nsummaries; i++)
        map_summary_release(&plan->summaries[i]);
    free(plan->summaries);
    free(plan->summary_of);
    free(plan->fit);
    free(plan->capacity);
    free(plan->ppr_cap);
    free(plan->filtered);
    if (plan->views) {
        for (int n = 0; n < plan->nnodes; n++)
            free(plan->views[n].owned);
    }
    free(plan->views);
    free(plan->count);
    free(plan->start);
    free(plan->positions);
    free(plan->order);
}

/* :PE-LIST= on every node: the nodes again, each allowed only the CPUs
 * of the list (and of its own allowed set). Free with map_nodes_free(). */
static int map_nodes_restrict(const struct map_node *nodes,
                              int nnodes,
                              const char *list,
                              struct map_node **out,
                              shoal_error_t *error)
{
    struct map_node *copy = calloc((size_t)nnodes, sizeof(*copy));
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    if (!copy || !set) {
        free(copy);
        hwloc_bitmap_free(set);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    if (hwloc_bitmap_list_sscanf(set, list) < 0 || hwloc_bitmap_iszero(set)) {
        free(copy);
        hwloc_bitmap_free(set);
        return shoal_errprintf(error, -EINVAL, "invalid PE-LIST '%s'", list);
    }
    for (int n = 0; n < nnodes; n++) {
        hwloc_bitmap_t allowed = hwloc_bitmap_dup(set);

        copy[n] = nodes[n];
        copy[n].allowed = allowed;
        if (!allowed
            || (nodes[n].allowed
                && hwloc_bitmap_and(allowed, allowed, nodes[n].allowed) < 0)) {
            for (int k = 0; k <= n; k++)
                hwloc_bitmap_free((hwloc_bitmap_t)copy[k].allowed);
            free(copy);
            hwloc_bitmap_free(set);
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        }
    }
    hwloc_bitmap_free(set);
    *out = copy;
    return 0;
}

static void map_nodes_free(struct map_node *nodes, int nnodes)
{
    for (int n = 0; nodes && n < nnodes; n++)
        hwloc_bitmap_free((hwloc_bitmap_t)nodes[n].allowed);
    free(nodes);
}

static int map_compute_plan(const struct map_node *nodes,
                            int nnodes,
                            const struct map_request *req,
                            struct map_result **out,
                            shoal_error_t *error);

int map_compute(const struct map_node *nodes,
                int nnodes,
                const struct map_request *req,
                struct map_result **out,
                shoal_error_t *error)
{
    struct map_node *restricted = NULL;
    int rc;

    if (!req->pe_list[0] || !nodes || nnodes <= 0)
        return map_compute_plan(nodes, nnodes, req, out, error);
    rc = map_nodes_restrict(nodes, nnodes, req->pe_list, &restricted, error);
    if (rc < 0)
        return rc;
    rc = map_compute_plan(restricted, nnodes, req, out, error);
    map_nodes_free(restricted, nnodes);
    return rc;
}

static int map_compute_plan(const struct map_node *nodes,
                            int nnodes,
                            const struct map_request *req,
                            struct map_result **out,
                            shoal_error_t *error)
{
    struct map_plan plan;
    int rc;

    rc = map_plan_init(&plan, nodes, nnodes, req, error);
    if (rc < 0)
        return rc;
    rc = map_summarize(&plan);
    if (rc < 0)
        goto out;
    rc = map_measure(&plan, error);
    if (rc < 0)
        goto out;
    if (req->pe_list[0] && map_pe_list_empty(&plan)) {
        rc = shoal_errprintf(
            error, -EINVAL, "--map-by PE-LIST=%s holds no whole %s of %s%s%s",
            req->pe_list, plan.hwthreads ? "hwthread" : "core",
            nnodes == 1 ? "'" : "",
            nnodes == 1 ? map_node_name(&nodes[0]) : "any node",
            nnodes == 1 ? "'" : "");
        goto out;
    }
    rc = map_count(&plan, error);
    if (rc < 0)
        goto out;
    rc = map_place(&plan);
    if (rc < 0)
        goto out;
    /* Open MPI leaves oversubscribed jobs unbound unless told otherwise:
     * ranks sharing cores should let the kernel balance them. (Decided
     * after placing: a ppr object smaller than its N ranks shares.) */
    plan.bind = req->bind_to;
    if (plan.bind == MAP_BIND_DEFAULT && plan.oversubscribed)
        plan.bind = MAP_BIND_NONE;
    else if (plan.bind == MAP_BIND_DEFAULT)
        plan.bind = plan.hwthreads ? MAP_BIND_HWTHREAD : MAP_BIND_CORE;
    rc = map_check_overload(&plan, error);
    if (rc < 0)
        goto out;
    rc = map_rank(&plan);
    if (rc < 0)
        goto out;
    rc = map_build_result(&plan, out);
out:
    map_plan_release(&plan);
    if (rc == -ENOMEM)
        return shoal_errprintf(error, rc, "cannot map ranks: out of memory");
    return rc;
}

void map_policy_names(const struct map_request *req,
                      bool bound,
                      char mapby[MAP_POLICY_NAME_MAX],
                      char bindto[MAP_POLICY_NAME_MAX])
{
    const char *map = "BYCORE", *bind = "CORE";

    switch (req->map_by) {
    case MAP_LEVEL_DEFAULT:
        map = req->use_hwthread_cpus ? "BYHWTHREAD" : "BYCORE";
        break;
    case MAP_LEVEL_SLOT:
        map = "BYSLOT";
        break;
    case MAP_LEVEL_HWTHREAD:
        map = "BYHWTHREAD";
        break;
    case MAP_LEVEL_CORE:
        map = "BYCORE";
        break;
    case MAP_LEVEL_NUMA:
        map = "BYNUMA";
        break;
    case MAP_LEVEL_PACKAGE:
        map = "BYPACKAGE";
        break;
    case MAP_LEVEL_NODE:
        map = "BYNODE";
        break;
    }
    if (req->ppr > 0)
        map = "PPR";
    else if (req->pe_list[0])
        map = "PE-LIST";
    snprintf(mapby, MAP_POLICY_NAME_MAX, "%s%s%s", map,
             req->oversubscribe ? ":OVERSUBSCRIBE" : "",
             req->span ? ":SPAN" : "");

    switch (req->bind_to) {
    case MAP_BIND_DEFAULT:
        if (!bound)
            bind = "NONE";
        else
            bind = req->use_hwthread_cpus || req->map_by == MAP_LEVEL_HWTHREAD
                       ? "HWTHREAD"
                       : "CORE";
        break;
    case MAP_BIND_NONE:
        bind = "NONE";
        break;
    case MAP_BIND_HWTHREAD:
        bind = "HWTHREAD";
        break;
    case MAP_BIND_CORE:
        bind = "CORE";
        break;
    case MAP_BIND_NUMA:
        bind = "NUMA";
        break;
    case MAP_BIND_PACKAGE:
        bind = "PACKAGE";
        break;
    case MAP_BIND_L3CACHE:
        bind = "L3CACHE";
        break;
    }
    snprintf(bindto, MAP_POLICY_NAME_MAX, "%s%s", bind,
             req->overload_allowed ? ":OVERLOAD-ALLOWED" : "");
}

void map_rank_policy_name(const struct map_request *req,
                          char rankby[MAP_POLICY_NAME_MAX])
{
    const char *rank = "SLOT";

    switch (req->rank_by) {
    case MAP_LEVEL_DEFAULT:
        rank = req->span                       ? "SPAN"
               : req->map_by == MAP_LEVEL_NODE ? "NODE"
                                               : "SLOT";
        break;
    case MAP_LEVEL_SLOT:
        rank = "SLOT";
        break;
    case MAP_LEVEL_HWTHREAD:
        rank = "HWTHREAD";
        break;
    case MAP_LEVEL_CORE:
        rank = "CORE";
        break;
    case MAP_LEVEL_NUMA:
        rank = "NUMA";
        break;
    case MAP_LEVEL_PACKAGE:
        rank = "PACKAGE";
        break;
    case MAP_LEVEL_NODE:
        rank = "NODE";
        break;
    }
    snprintf(rankby, MAP_POLICY_NAME_MAX, "%s", rank);
}

void map_result_destroy(struct map_result *result)
{
    if (!result)
        return;
    if (result->ranks) {
        for (int r = 0; r < result->nranks; r++) {
            hwloc_bitmap_free(result->ranks[r].cpuset);
            hwloc_bitmap_free(result->ranks[r].mapped);
        }
    }
    free(result->ranks);
    free(result);
}

/* Parsing Open MPI's option values. */

struct map_word {
    const char *name;
    int value;
};

static const struct map_word map_level_words[] = {
    {"slot", MAP_LEVEL_SLOT},       {"hwthread", MAP_LEVEL_HWTHREAD},
    {"core", MAP_LEVEL_CORE},       {"numa", MAP_LEVEL_NUMA},
    {"package", MAP_LEVEL_PACKAGE}, {"socket", MAP_LEVEL_PACKAGE},
    {"node", MAP_LEVEL_NODE},       {NULL, 0},
};

static const struct map_word map_bind_words[] = {
    {"none", MAP_BIND_NONE},       {"hwthread", MAP_BIND_HWTHREAD},
    {"core", MAP_BIND_CORE},       {"numa", MAP_BIND_NUMA},
    {"package", MAP_BIND_PACKAGE}, {"socket", MAP_BIND_PACKAGE},
    {"l3cache", MAP_BIND_L3CACHE}, {NULL, 0},
};

/* Open MPI words shoal knows but does not implement; they get a clearer
 * message than a typo does. */
static const char *const map_unsupported_words[] = {
    "l1cache",  "l2cache", "l3cache", "board",    "ppr", "seq",
    "rankfile", "dist",    "pe-list", "cpu-list", NULL,
};

/* Open MPI and PRRTE modifiers shoal does not implement. */
static const char *const map_unsupported_modifiers[] = {
    "nolocal", "hwtcpus", "inherit",      "noinherit",   "file", "ordered",
    "device",  "display", "displayalloc", "donotlaunch", NULL,
};

static bool map_word_is(const char *word, size_t len, const char *name)
{
    return strlen(name) == len && !strncasecmp(word, name, len);
}

/* Look up the word before any ':' of text in words. Returns the length of
 * the word, or a negative code with error filled. */
static int map_word_parse(const char *option,
                          const char *text,
                          const struct map_word *words,
                          int *value,
                          shoal_error_t *error)
{
    size_t len;

    if (!text || !*text)
        return shoal_errprintf(error, -EINVAL, "missing %s value", option);
    len = strcspn(text, ":,");
    for (const struct map_word *w = words; w->name; w++) {
        if (map_word_is(text, len, w->name)) {
            *value = w->value;
            return (int)len;
        }
    }
    for (int i = 0; map_unsupported_words[i]; i++) {
        if (map_word_is(text, len, map_unsupported_words[i]))
            return shoal_errprintf(error, -EINVAL, "%s '%.*s' is not supported",
                                   option, (int)len, text);
    }
    return shoal_errprintf(error, -EINVAL, "unknown %s value '%.*s'", option,
                           (int)len, text);
}

static int map_pe_parse(const char *text,
                        const char *value,
                        size_t len,
                        int *pe,
                        shoal_error_t *error)
{
    char digits[16];
    char *end;
    long n;

    if (len == 0 || len >= sizeof(digits) || value[0] < '0' || value[0] > '9')
        goto error;
    memcpy(digits, value, len);
    digits[len] = '\0';
    errno = 0;
    n = strtol(digits, &end, 10);
    if (errno || *end || n <= 0 || n > INT_MAX)
        goto error;
    *pe = (int)n;
    return 0;
error:
    return shoal_errprintf(error, -EINVAL,
                           "invalid PE value '%.*s' in --map-by '%s': "
                           "expected a positive integer",
                           (int)len, value, text);
}

/* ":PE-LIST=0,2,4-7": the value runs over digits, '-' and the commas
 * followed by a digit (a comma before anything else separates the next
 * modifier). Copies it to out and sets *len to its length. */
static int map_pe_list_parse(const char *text,
                             const char *value,
                             char *out,
                             size_t *len,
                             shoal_error_t *error)
{
    hwloc_bitmap_t set;
    size_t n = 0;
    int rc = 0;

    while ((value[n] >= '0' && value[n] <= '9') || (value[n] == '-' && n > 0)
           || (value[n] == ',' && value[n + 1] >= '0' && value[n + 1] <= '9'))
        n++;
    if (n == 0 || n >= MAP_PE_LIST_MAX || value[n - 1] == '-'
        || (value[n] && value[n] != ':' && value[n] != ','))
        return shoal_errprintf(error, -EINVAL,
                               "invalid PE-LIST in --map-by '%s': expected "
                               "CPU numbers and ranges, e.g. 0,2,4-7",
                               text);
    memcpy(out, value, n);
    out[n] = '\0';
    set = hwloc_bitmap_alloc();
    if (!set)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    if (hwloc_bitmap_list_sscanf(set, out) < 0 || hwloc_bitmap_iszero(set))
        rc = shoal_errprintf(error, -EINVAL,
                             "invalid PE-LIST '%s' in --map-by '%s': expected "
                             "CPU numbers and ranges, e.g. 0,2,4-7",
                             out, text);
    hwloc_bitmap_free(set);
    *len = n;
    return rc;
}

/* What the modifiers of one option may say; a NULL field is a modifier
 * the option does not take. */
struct map_modifiers {
    int *pe;            /* --map-by ":PE=n" */
    char *pe_list;      /* --map-by ":PE-LIST=", MAP_PE_LIST_MAX bytes */
    bool *span;         /* --map-by ":SPAN" */
    int *oversubscribe; /* --map-by ":OVERSUBSCRIBE" 1, ":NOOVERSUBSCRIBE" 0 */
    bool *overload;     /* --bind-to ":overload-allowed" */
};

/* Modifiers follow the word, separated by ':' (PRRTE) or ',' (Open MPI
 * 4), in any case. */
static int map_modifiers_parse(const char *option,
                               const char *text,
                               const char *mods,
                               const struct map_modifiers *out,
                               shoal_error_t *error)
{
    while (*mods == ':' || *mods == ',') {
        const char *mod = mods + 1;
        size_t len = strcspn(mod, ":,");
        size_t key = strcspn(mod, ":,=");

        if (len == 0)
            return shoal_errprintf(error, -EINVAL, "empty %s modifier in '%s'",
                                   option, text);
        if (out->pe_list && key == 7 && mod[key] == '='
            && !strncasecmp(mod, "pe-list", 7)) {
            int rc =
                map_pe_list_parse(text, mod + 8, out->pe_list, &len, error);

            if (rc < 0)
                return rc;
            len += 8;
        } else if (out->pe && len >= 3 && !strncasecmp(mod, "pe=", 3)) {
            int rc = map_pe_parse(text, mod + 3, len - 3, out->pe, error);

            if (rc < 0)
                return rc;
        } else if (out->oversubscribe
                   && map_word_is(mod, len, "oversubscribe")) {
            *out->oversubscribe = 1;
        } else if (out->oversubscribe
                   && map_word_is(mod, len, "nooversubscribe")) {
            *out->oversubscribe = 0;
        } else if (out->span && map_word_is(mod, len, "span")) {
            *out->span = true;
        } else if (out->overload && map_word_is(mod, len, "overload-allowed")) {
            *out->overload = true;
        } else {
            for (int i = 0; map_unsupported_modifiers[i]; i++) {
                if (map_word_is(mod, key, map_unsupported_modifiers[i]))
                    return shoal_errprintf(error, -EINVAL,
                                           "%s modifier '%.*s' is not "
                                           "supported",
                                           option, (int)key, mod);
            }
            return shoal_errprintf(error, -EINVAL, "unknown %s modifier '%.*s'",
                                   option, (int)len, mod);
        }
        mods = mod + len;
    }
    return 0;
}

int map_level_parse(const char *text,
                    enum map_level *level,
                    shoal_error_t *error)
{
    static const struct map_modifiers none = {0};
    int value = MAP_LEVEL_DEFAULT;
    int len;
    int rc;

    len = map_word_parse("--rank-by", text, map_level_words, &value, error);
    if (len < 0)
        return len;
    rc = map_modifiers_parse("--rank-by", text, text + len, &none, error);
    if (rc < 0)
        return rc;
    *level = value;
    return 0;
}

static const char *map_bind_name(enum map_bind bind)
{
    for (const struct map_word *w = map_bind_words; w->name; w++)
        if (w->value == (int)bind)
            return w->name;
    return "default";
}

static const char *map_level_name(enum map_level level)
{
    for (const struct map_word *w = map_level_words; w->name; w++)
        if (w->value == (int)level)
            return w->name;
    return "default";
}

/* "ppr:N:RESOURCE[:modifiers]": N ranks per node, package (socket) or
 * numa. Fills level, pe and ppr of spec. */
static int map_ppr_parse(const char *text,
                         struct map_by_spec *spec,
                         const struct map_modifiers *mods,
                         shoal_error_t *error)
{
    const char *count = text + 4, *resource;
    int value = MAP_LEVEL_DEFAULT, n = 0;
    size_t digits = strspn(count, "0123456789");
    int len, rc;

    if (digits == 0 || count[digits] != ':'
        || map_pe_parse(text, count, digits, &n, NULL) < 0)
        return shoal_errprintf(error, -EINVAL,
                               "invalid --map-by '%s': expected "
                               "ppr:N:RESOURCE, N a positive integer",
                               text);
    resource = count + digits + 1;
    len = map_word_parse("ppr resource", resource, map_level_words, &value,
                         error);
    if (len < 0)
        return len;
    if (value != MAP_LEVEL_NODE && value != MAP_LEVEL_PACKAGE
        && value != MAP_LEVEL_NUMA)
        return shoal_errprintf(error, -EINVAL,
                               "--map-by ppr:%d:%.*s is not supported: N ranks "
                               "per node, package (socket) or numa",
                               n, len, resource);
    rc = map_modifiers_parse("--map-by", text, resource + len, mods, error);
    if (rc < 0)
        return rc;
    spec->level = value;
    spec->ppr = n;
    return 0;
}

int map_by_parse(const char *text,
                 struct map_by_spec *spec,
                 shoal_error_t *error)
{
    struct map_by_spec parsed = {.oversubscribe = -1};
    const struct map_modifiers mods = {
        .pe = &parsed.pe,
        .pe_list = parsed.pe_list,
        .span = &parsed.span,
        .oversubscribe = &parsed.oversubscribe,
    };
    int value = MAP_LEVEL_DEFAULT;
    int len, rc;

    if (text && !strncasecmp(text, "ppr:", 4)) {
        rc = map_ppr_parse(text, &parsed, &mods, error);
    } else {
        /* PRRTE's form with no level: ":OVERSUBSCRIBE", ":PE=2" */
        len = text && (text[0] == ':' || text[0] == ',')
                  ? 0
                  : map_word_parse("--map-by", text, map_level_words, &value,
                                   error);
        if (len < 0)
            return len;
        rc = map_modifiers_parse("--map-by", text, text + len, &mods, error);
        parsed.level = value;
    }
    if (rc < 0)
        return rc;
    *spec = parsed;
    return 0;
}

int map_bind_parse(const char *text,
                   enum map_bind *bind,
                   bool *overload,
                   shoal_error_t *error)
{
    bool allowed = false;
    const struct map_modifiers mods = {.overload = &allowed};
    int value = MAP_BIND_DEFAULT;
    int len;
    int rc;

    len = map_word_parse("--bind-to", text, map_bind_words, &value, error);
    if (len < 0)
        return len;
    rc = map_modifiers_parse("--bind-to", text, text + len, &mods, error);
    if (rc < 0)
        return rc;
    *bind = value;
    *overload = allowed;
    return 0;
}
