/* SPDX-License-Identifier: MIT */
/* pool_place.c - placing a job's ranks on the free cores of a pool.
 *
 * Three steps, each linear:
 *
 *   1. choose and order the nodes (the -H list, or every live node with
 *      the default order of pool_place.h);
 *   2. turn each node into a map_node: its topology from the cache, its
 *      free cores as an allowed cpuset (nodes without busy cores borrow
 *      the root cpuset, so a free node costs no allocation), its slots
 *      the free units capped by any -H slot count;
 *   3. run map_compute() and translate its answer: cpusets to logical PU
 *      indexes, and the cpus the ranks were mapped to (whatever their
 *      binding) to the logical cores to claim from each node. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "scheduler/pool_place.h"
#include "util/hwtopo.h"

/* One distinct topology. */
struct pool_topo {
    char *synthetic;
    hwloc_topology_t topo;
    hwloc_obj_type_t core_type; /* HWLOC_OBJ_CORE, or PU without cores */
    int ncores;
    int pus_per_core;         /* the most PUs of a core */
    hwloc_bitmap_t all_cores; /* logical indexes 0 .. ncores-1 */
};

/* Open addressing on the string's hash; entries never move once made. */
struct pool_topo_cache {
    struct pool_topo **slots;
    size_t size; /* power of two */
    int count;
};

int pool_topo_cache_create(pool_topo_cache_t **out)
{
    pool_topo_cache_t *cache = calloc(1, sizeof(*cache));

    if (!cache)
        return -ENOMEM;
    cache->size = 16;
    cache->slots = calloc(cache->size, sizeof(*cache->slots));
    if (!cache->slots) {
        free(cache);
        return -ENOMEM;
    }
    *out = cache;
    return 0;
}

static void pool_topo_destroy(struct pool_topo *entry)
{
    if (!entry)
        return;
    if (entry->topo)
        hwloc_topology_destroy(entry->topo);
    hwloc_bitmap_free(entry->all_cores);
    free(entry->synthetic);
    free(entry);
}

void pool_topo_cache_destroy(pool_topo_cache_t *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < cache->size; i++)
        pool_topo_destroy(cache->slots[i]);
    free(cache->slots);
    free(cache);
}

int pool_topo_cache_size(const pool_topo_cache_t *cache)
{
    return cache->count;
}

static uint64_t pool_hash_string(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int pool_topo_cache_grow(pool_topo_cache_t *cache)
{
    size_t size = cache->size * 2;
    struct pool_topo **slots = calloc(size, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < cache->size; i++) {
        struct pool_topo *entry = cache->slots[i];
        size_t j;

        if (!entry)
            continue;
        j = pool_hash_string(entry->synthetic) & (size - 1);
        while (slots[j])
            j = (j + 1) & (size - 1);
        slots[j] = entry;
    }
    free(cache->slots);
    cache->slots = slots;
    cache->size = size;
    return 0;
}

static int pool_topo_build(const char *synthetic,
                           struct pool_topo **out,
                           shoal_error_t *error)
{
    struct pool_topo *entry = calloc(1, sizeof(*entry));

    if (!entry)
        return -ENOMEM;
    entry->synthetic = strdup(synthetic);
    entry->all_cores = hwloc_bitmap_alloc();
    if (!entry->synthetic || !entry->all_cores
        || hwtopo_init(&entry->topo) < 0) {
        entry->topo = NULL;
        pool_topo_destroy(entry);
        return -ENOMEM;
    }
    if (hwloc_topology_set_synthetic(entry->topo, synthetic) < 0
        || hwloc_topology_load(entry->topo) < 0) {
        pool_topo_destroy(entry);
        return shoal_errprintf(error, SHOAL_ETOPOLOGY,
                               "cannot load topology '%s': invalid synthetic "
                               "description",
                               synthetic);
    }
    entry->core_type = HWLOC_OBJ_CORE;
    entry->ncores = hwloc_get_nbobjs_by_type(entry->topo, HWLOC_OBJ_CORE);
    if (entry->ncores <= 0) {
        entry->core_type = HWLOC_OBJ_PU;
        entry->ncores = hwloc_get_nbobjs_by_type(entry->topo, HWLOC_OBJ_PU);
    }
    entry->pus_per_core = 1;
    for (int c = 0; c < entry->ncores; c++) {
        hwloc_obj_t core =
            hwloc_get_obj_by_type(entry->topo, entry->core_type, c);
        int npus = hwloc_bitmap_weight(core->cpuset);

        if (npus > entry->pus_per_core)
            entry->pus_per_core = npus;
    }
    if (entry->ncores > 0
        && hwloc_bitmap_set_range(entry->all_cores, 0, entry->ncores - 1) < 0) {
        pool_topo_destroy(entry);
        return -ENOMEM;
    }
    *out = entry;
    return 0;
}

static int pool_topo_cache_find(pool_topo_cache_t *cache,
                                const char *synthetic,
                                struct pool_topo **out,
                                shoal_error_t *error)
{
    size_t i;
    int rc;

    if (!synthetic || !*synthetic || strchr(synthetic, '/')
        || strstr(synthetic, ".xml"))
        return shoal_errprintf(error, SHOAL_ETOPOLOGY,
                               "cannot load topology '%s': not a synthetic "
                               "description",
                               synthetic ? synthetic : "");
    i = pool_hash_string(synthetic) & (cache->size - 1);
    while (cache->slots[i]) {
        if (!strcmp(cache->slots[i]->synthetic, synthetic)) {
            *out = cache->slots[i];
            return 0;
        }
        i = (i + 1) & (cache->size - 1);
    }
    if (2 * (size_t)(cache->count + 1) > cache->size) {
        rc = pool_topo_cache_grow(cache);
        if (rc < 0)
            return rc;
        i = pool_hash_string(synthetic) & (cache->size - 1);
        while (cache->slots[i])
            i = (i + 1) & (cache->size - 1);
    }
    rc = pool_topo_build(synthetic, &cache->slots[i], error);
    if (rc < 0)
        return rc;
    cache->count++;
    *out = cache->slots[i];
    return 0;
}

int pool_topo_cache_get(pool_topo_cache_t *cache,
                        const char *synthetic,
                        hwloc_topology_t *topo,
                        shoal_error_t *error)
{
    struct pool_topo *entry;
    int rc = pool_topo_cache_find(cache, synthetic, &entry, error);

    if (rc < 0)
        return rc;
    *topo = entry->topo;
    return 0;
}

/* Everything one placement allocates on its way. */
struct place_job {
    const struct place_node *nodes;
    int nnodes;
    const struct pool_request *req;
    pool_topo_cache_t *cache;

    int *chosen; /* [nnodes] snapshot indexes, in node order */
    int *slots;  /* [nnodes] -H slot count per chosen node, or -1 */
    int nchosen;

    struct map_node *map_nodes; /* [nchosen] */
    struct pool_topo **topos;   /* [nchosen] */
    int *snapshot_of;           /* [nchosen] map node -> snapshot index */
    hwloc_bitmap_t *owned;      /* [nchosen] allowed sets we allocated */
    int nmap;
    int built;       /* chosen[0 .. built) have been looked at */
    long long bound; /* most ranks the map nodes could take */
};

static void place_job_release(struct place_job *job)
{
    if (job->owned) {
        for (int i = 0; i < job->nmap; i++)
            hwloc_bitmap_free(job->owned[i]);
    }
    free(job->owned);
    free(job->chosen);
    free(job->slots);
    free(job->map_nodes);
    free(job->topos);
    free(job->snapshot_of);
}

static const char *place_node_name(const struct place_node *node)
{
    return node->name ? node->name : "(unnamed)";
}

/* The default order: home, then speed descending, then name, then id. */
struct pool_order_key {
    const struct place_node *node;
    bool home;
    int index;
};

static int pool_order_compare(const void *a, const void *b)
{
    const struct pool_order_key *x = a;
    const struct pool_order_key *y = b;
    int c;

    if (x->home != y->home)
        return x->home ? -1 : 1;
    if (x->node->speed != y->node->speed)
        return x->node->speed > y->node->speed ? -1 : 1;
    c = strcmp(place_node_name(x->node), place_node_name(y->node));
    if (c)
        return c;
    return (x->node->id > y->node->id) - (x->node->id < y->node->id);
}

static int pool_choose_all(struct place_job *job)
{
    struct pool_order_key *keys = malloc(sizeof(*keys) * (job->nnodes + 1));
    int nkeys = 0;

    if (!keys)
        return -ENOMEM;
    for (int n = 0; n < job->nnodes; n++) {
        const struct place_node *node = &job->nodes[n];

        if (node->alive)
            keys[nkeys++] =
                (struct pool_order_key){node, node->id == job->req->home, n};
    }
    qsort(keys, nkeys, sizeof(*keys), pool_order_compare);
    for (int i = 0; i < nkeys; i++) {
        job->chosen[i] = keys[i].index;
        job->slots[i] = -1;
    }
    job->nchosen = nkeys;
    free(keys);
    return 0;
}

/* Whether host (from -H) names node: the same name, or one is the other's
 * first label ("node3" and "node3.lab"). */
static bool pool_name_matches(const char *host, const char *name)
{
    size_t hl = strcspn(host, ".");
    size_t nl = strcspn(name, ".");

    if (!strcmp(host, name))
        return true;
    if (host[hl] && name[nl])
        return false;
    return hl == nl && !strncmp(host, name, hl);
}

static int pool_find_home(const struct place_job *job)
{
    for (int n = 0; n < job->nnodes; n++) {
        if (job->nodes[n].id == job->req->home)
            return n;
    }
    return -1;
}

/* Append text to a comma list in buf, or note that more were left out. */
static void pool_list_add(char *buf, size_t size, int *count, const char *text)
{
    size_t len = strlen(buf);

    if (*count < 8 && len + strlen(text) + 8 < size)
        snprintf(buf + len, size - len, "%s'%s'", *count ? ", " : "", text);
    else if (*count == 8)
        snprintf(buf + len, size - len, ", ...");
    (*count)++;
}

static int pool_choose_hosts(struct place_job *job, shoal_error_t *error)
{
    const struct hostlist *hosts = job->req->hosts;
    int home = pool_find_home(job);
    char unknown[256] = "";
    char dead[256] = "";
    int nunknown = 0;
    int ndead = 0;

    for (int h = 0; h < hosts->count; h++) {
        const char *host = hosts->entries[h].name;
        int found = -1;

        if (home >= 0 && job->nodes[home].name
            && hostlist_is_local(host, job->nodes[home].name))
            found = home;
        for (int n = 0; n < job->nnodes && found < 0; n++) {
            if (job->nodes[n].name
                && pool_name_matches(host, job->nodes[n].name))
                found = n;
        }
        if (found < 0) {
            pool_list_add(unknown, sizeof(unknown), &nunknown, host);
            continue;
        }
        if (!job->nodes[found].alive) {
            pool_list_add(dead, sizeof(dead), &ndead, host);
            continue;
        }
        job->slots[job->nchosen] = hosts->entries[h].slots;
        job->chosen[job->nchosen++] = found;
    }
    if (nunknown > 0)
        return shoal_errprintf(error, SHOAL_ENOHOST,
                               "unknown host%s %s: not in the pool",
                               nunknown > 1 ? "s" : "", unknown);
    if (ndead > 0)
        return shoal_errprintf(error, SHOAL_ENOHOST,
                               "host%s %s not available: not alive",
                               ndead > 1 ? "s" : "", dead);
    return 0;
}

/* The cpus of node's free cores; *owned is set when they are not the
 * whole machine and had to be allocated. */
static int pool_allowed(const struct pool_topo *entry,
                        hwloc_const_bitmap_t free_cores,
                        hwloc_const_cpuset_t *allowed,
                        hwloc_bitmap_t *owned)
{
    hwloc_bitmap_t set;
    int core;

    *owned = NULL;
    if (!free_cores || hwloc_bitmap_isincluded(entry->all_cores, free_cores)) {
        *allowed = hwloc_get_root_obj(entry->topo)->cpuset;
        return 0;
    }
    set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    hwloc_bitmap_foreach_begin(core, free_cores)
    {
        hwloc_obj_t obj;

        if (core >= entry->ncores)
            break;
        obj = hwloc_get_obj_by_type(entry->topo, entry->core_type, core);
        if (obj && hwloc_bitmap_or(set, set, obj->cpuset) < 0) {
            hwloc_bitmap_free(set);
            return -ENOMEM;
        }
    }
    hwloc_bitmap_foreach_end();
    *allowed = set;
    *owned = set;
    return 0;
}

/* The most ranks a node can take (its free units over PE, capped by its
 * -H slots), 0 when it has no free core. An upper bound: map_compute()
 * knows the exact figure, which also depends on how the free cores fall
 * into NUMA nodes and packages. */
static int place_node_bound(const struct place_job *job,
                            const struct pool_topo *entry,
                            hwloc_const_bitmap_t free_cores,
                            int slots)
{
    const struct map_request *req = &job->req->map;
    int pe = req->pe > 0 ? req->pe : 1;
    int units = entry->ncores;

    if (free_cores) {
        int weight = hwloc_bitmap_weight(free_cores);

        if (weight >= 0 && weight < units)
            units = weight;
        if (!hwloc_bitmap_intersects(entry->all_cores, free_cores))
            units = 0;
    }
    if (req->use_hwthread_cpus || req->map_by == MAP_LEVEL_HWTHREAD)
        units *= entry->pus_per_core;
    if (slots >= 0 && slots < units)
        units = slots;
    return units / pe;
}

static int pool_map_nodes_alloc(struct place_job *job)
{
    job->map_nodes = calloc(job->nchosen + 1, sizeof(*job->map_nodes));
    job->topos = calloc(job->nchosen + 1, sizeof(*job->topos));
    job->snapshot_of = calloc(job->nchosen + 1, sizeof(int));
    job->owned = calloc(job->nchosen + 1, sizeof(hwloc_bitmap_t));
    if (!job->map_nodes || !job->topos || !job->snapshot_of || !job->owned)
        return -ENOMEM;
    return 0;
}

/* Turn chosen nodes into map nodes until there are `nodes` of them that
 * could together take `ranks` ranks, or every chosen node is done. */
static int pool_build_map_nodes(struct place_job *job,
                                long long ranks,
                                int nodes,
                                shoal_error_t *error)
{
    bool named = job->req->hosts && job->req->hosts->count > 0;

    for (;
         job->built < job->nchosen && (job->bound < ranks || job->nmap < nodes);
         job->built++) {
        int i = job->built;
        const struct place_node *node = &job->nodes[job->chosen[i]];
        struct map_node *m = &job->map_nodes[job->nmap];
        struct pool_topo *entry;
        shoal_error_t why;
        int bound;
        int rc;

        rc = pool_topo_cache_find(job->cache, node->topology, &entry, &why);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0 && named)
            return shoal_errprintf(error, rc, "host '%s': %s",
                                   place_node_name(node), why.text);
        if (rc < 0)
            continue;
        bound = place_node_bound(job, entry, node->free_cores, job->slots[i]);
        if (node->free_cores
            && !hwloc_bitmap_intersects(entry->all_cores, node->free_cores))
            continue; /* no free core */
        if (job->req->exclusive && node->free_cores
            && !hwloc_bitmap_isincluded(entry->all_cores, node->free_cores))
            continue; /* another job has a core there */
        rc = pool_allowed(entry, node->free_cores, &m->allowed,
                          &job->owned[job->nmap]);
        if (rc < 0)
            return rc;
        m->name = place_node_name(node);
        m->topo = entry->topo;
        /* map caps a pool node's slots at what its free units hold */
        m->slots = job->slots[i];
        job->topos[job->nmap] = entry;
        job->snapshot_of[job->nmap] = job->chosen[i];
        job->bound += bound;
        job->nmap++;
    }
    return 0;
}

static int pool_no_free_core(const struct place_job *job, shoal_error_t *error);

/* Whether every rank is on a node of its own. */
static bool pool_one_rank_per_node(const struct map_result *map)
{
    for (int r = 0; r < map->nranks; r++) {
        if (map->ranks[r].local_rank != 0)
            return false;
    }
    return true;
}

/* Map on the fewest nodes that can hold the job, and on all of them only
 * when that fails. Filling nodes in order (map-by slot, core, numa,
 * package) never puts a rank past the nodes it needs, and dealing one
 * rank per node (map-by node) gives the first nranks nodes one rank each
 * when they all take one; so without oversubscription the answer on the
 * prefix is the answer on the pool, and a pool of ten thousand nodes costs
 * what the job's own nodes cost (plus the sort). */
static int
pool_map(struct place_job *job, struct map_result **out, shoal_error_t *error)
{
    const struct map_request *req = &job->req->map;
    bool by_node = req->map_by == MAP_LEVEL_NODE;
    /* a ppr caps each node below its free cores, which the prefix's
     * bound does not know, and :SPAN spreads over every node: both map on
     * the whole pool */
    bool prefix =
        req->nranks > 0 && !req->oversubscribe && req->ppr == 0 && !req->span;
    struct map_result *map = NULL;
    int rc = 0;

    if (prefix)
        rc = pool_build_map_nodes(job, by_node ? 0 : req->nranks,
                                  by_node ? req->nranks : 0, error);
    if (rc < 0)
        return rc;
    if (prefix && job->nmap > 0 && job->built < job->nchosen) {
        rc = map_compute(job->map_nodes, job->nmap, req, &map, error);
        if (rc == 0 && (!by_node || pool_one_rank_per_node(map))) {
            *out = map;
            return 0;
        }
        map_result_destroy(map);
        if (rc < 0 && rc != SHOAL_ENOSLOTS)
            return rc;
    }
    rc = pool_build_map_nodes(job, LLONG_MAX, INT_MAX, error);
    if (rc < 0)
        return rc;
    if (job->nmap == 0)
        return pool_no_free_core(job, error);
    return map_compute(job->map_nodes, job->nmap, req, out, error);
}

/* A cpuset of the node's topology as logical PU indexes. */
static int pool_logical_pus(hwloc_topology_t topo,
                            hwloc_const_cpuset_t cpuset,
                            hwloc_bitmap_t *out)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int os;

    if (!set)
        return -ENOMEM;
    hwloc_bitmap_foreach_begin(os, cpuset)
    {
        hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)os);

        if (pu && hwloc_bitmap_set(set, pu->logical_index) < 0) {
            hwloc_bitmap_free(set);
            return -ENOMEM;
        }
    }
    hwloc_bitmap_foreach_end();
    *out = set;
    return 0;
}

/* Add to cores the logical indexes of the cores (PUs in a topology
 * without cores) holding the cpus of cpuset, and their cpus to cpus. */
static int pool_cores_of(const struct pool_topo *entry,
                         hwloc_const_cpuset_t cpuset,
                         hwloc_bitmap_t cores,
                         hwloc_bitmap_t cpus)
{
    int os;

    hwloc_bitmap_foreach_begin(os, cpuset)
    {
        hwloc_obj_t obj =
            hwloc_get_pu_obj_by_os_index(entry->topo, (unsigned)os);

        if (obj && entry->core_type == HWLOC_OBJ_CORE)
            obj = hwloc_get_ancestor_obj_by_type(entry->topo, HWLOC_OBJ_CORE,
                                                 obj);
        if (obj
            && (hwloc_bitmap_set(cores, obj->logical_index) < 0
                || hwloc_bitmap_or(cpus, cpus, obj->cpuset) < 0))
            return -ENOMEM;
    }
    hwloc_bitmap_foreach_end();
    return 0;
}

/* Number the nodes used, in node order, and give each a claim. */
static int pool_claims_init(const struct place_job *job,
                            const struct map_result *map,
                            struct pool_placement *placement,
                            int *claim_of)
{
    for (int i = 0; i < job->nmap; i++)
        claim_of[i] = -1;
    for (int r = 0; r < map->nranks; r++)
        claim_of[map->ranks[r].node] = 0;
    for (int i = 0; i < job->nmap; i++) {
        if (claim_of[i] == 0)
            claim_of[i] = placement->nclaims++;
    }
    placement->claims =
        calloc(placement->nclaims + 1, sizeof(struct pool_claim));
    if (!placement->claims)
        return -ENOMEM;
    for (int i = 0; i < job->nmap; i++) {
        struct pool_claim *claim;

        if (claim_of[i] < 0)
            continue;
        claim = &placement->claims[claim_of[i]];
        claim->node = job->snapshot_of[i];
        claim->node_id = job->nodes[claim->node].id;
        claim->cores = hwloc_bitmap_alloc();
        if (!claim->cores)
            return -ENOMEM;
    }
    return 0;
}

/* A node's claim is the cores its ranks were mapped to. Bindings wider
 * than a core (numa, package) are clipped to the claimed cores: the rest
 * of the object may go to other jobs, as a resource manager's cgroup
 * would clip them. */
static int pool_translate(const struct place_job *job,
                          const struct map_result *map,
                          struct pool_placement *placement)
{
    int *claim_of = malloc(sizeof(int) * (job->nmap + 1));
    hwloc_bitmap_t *cpus = NULL;
    int rc = -ENOMEM;

    placement->ranks = calloc(map->nranks, sizeof(*placement->ranks));
    if (!claim_of || !placement->ranks)
        goto out;
    rc = pool_claims_init(job, map, placement, claim_of);
    if (rc < 0)
        goto out;
    rc = -ENOMEM;
    cpus = calloc(placement->nclaims + 1, sizeof(*cpus));
    if (!cpus)
        goto out;
    for (int c = 0; c < placement->nclaims; c++) {
        cpus[c] = hwloc_bitmap_alloc();
        if (!cpus[c])
            goto out;
    }
    placement->nranks = map->nranks;
    placement->oversubscribed = map->oversubscribed;
    for (int r = 0; r < map->nranks; r++) {
        const struct map_rank *mr = &map->ranks[r];
        int c = claim_of[mr->node];

        placement->claims[c].nranks++;
        rc = pool_cores_of(job->topos[mr->node], mr->mapped,
                           placement->claims[c].cores, cpus[c]);
        if (rc < 0)
            goto out;
    }
    /* exclusive: the whole node is the job's, bindings included */
    for (int i = 0; job->req->exclusive && i < job->nmap; i++) {
        int c = claim_of[i];
        hwloc_topology_t topo = job->topos[i]->topo;

        if (c < 0)
            continue;
        rc = -ENOMEM;
        if (hwloc_bitmap_copy(placement->claims[c].cores,
                              job->topos[i]->all_cores)
                < 0
            || hwloc_bitmap_copy(cpus[c], hwloc_get_root_obj(topo)->cpuset) < 0)
            goto out;
    }
    for (int r = 0; r < map->nranks; r++) {
        const struct map_rank *mr = &map->ranks[r];
        struct pool_rank *pr = &placement->ranks[r];

        pr->node = job->snapshot_of[mr->node];
        pr->node_id = job->nodes[pr->node].id;
        pr->local_rank = mr->local_rank;
        if (!mr->cpuset)
            continue;
        rc = -ENOMEM;
        if (hwloc_bitmap_and(mr->cpuset, mr->cpuset, cpus[claim_of[mr->node]])
            < 0)
            goto out;
        rc = pool_logical_pus(job->map_nodes[mr->node].topo, mr->cpuset,
                              &pr->cpuset);
        if (rc < 0)
            goto out;
    }
    rc = 0;
out:
    if (cpus) {
        for (int c = 0; c < placement->nclaims; c++)
            hwloc_bitmap_free(cpus[c]);
    }
    free(cpus);
    free(claim_of);
    return rc;
}

static int pool_no_free_core(const struct place_job *job, shoal_error_t *error)
{
    bool named = job->req->hosts && job->req->hosts->count > 0;
    char asked[32] = "ranks";

    if (job->req->map.nranks > 0)
        snprintf(asked, sizeof(asked), "%d ranks", job->req->map.nranks);
    if (job->req->exclusive)
        return shoal_errprintf(error, SHOAL_ENOSLOTS,
                               "not enough slots: %s requested with "
                               "--exclusive but no node of %s is wholly free",
                               asked, named ? "the hosts given" : "the pool");
    return shoal_errprintf(error, SHOAL_ENOSLOTS,
                           "not enough slots: %s requested but no free core "
                           "on %s",
                           asked, named ? "the hosts given" : "the pool");
}

int pool_place(const struct place_node *nodes,
               int nnodes,
               const struct pool_request *req,
               pool_topo_cache_t *cache,
               struct pool_placement **out,
               shoal_error_t *error)
{
    struct place_job job = {
        .nodes = nodes,
        .nnodes = nnodes > 0 ? nnodes : 0,
        .req = req,
        .cache = cache,
    };
    struct pool_placement *placement = NULL;
    struct map_result *map = NULL;
    int rc = -ENOMEM;

    job.chosen = malloc(sizeof(int) * (job.nnodes + 1));
    job.slots = malloc(sizeof(int) * (job.nnodes + 1));
    if (!job.chosen || !job.slots)
        goto out;
    if (req->hosts && req->hosts->count > 0)
        rc = pool_choose_hosts(&job, error);
    else
        rc = pool_choose_all(&job);
    if (rc < 0)
        goto out;
    rc = pool_map_nodes_alloc(&job);
    if (rc < 0)
        goto out;
    rc = pool_map(&job, &map, error);
    if (rc < 0)
        goto out;
    placement = calloc(1, sizeof(*placement));
    rc = placement ? pool_translate(&job, map, placement) : -ENOMEM;
    if (rc < 0)
        goto out;
    *out = placement;
    placement = NULL;
out:
    pool_placement_destroy(placement);
    map_result_destroy(map);
    place_job_release(&job);
    if (rc == -ENOMEM)
        return shoal_errprintf(error, rc, "cannot place ranks: out of memory");
    return rc;
}

void pool_placement_destroy(struct pool_placement *placement)
{
    if (!placement)
        return;
    if (placement->ranks) {
        for (int r = 0; r < placement->nranks; r++)
            hwloc_bitmap_free(placement->ranks[r].cpuset);
    }
    if (placement->claims) {
        for (int c = 0; c < placement->nclaims; c++)
            hwloc_bitmap_free(placement->claims[c].cores);
    }
    free(placement->ranks);
    free(placement->claims);
    free(placement);
}
