/* SPDX-License-Identifier: MIT */
/* Unit tests of scheduler/pool_place.c: node choice and order, free cores
 * only, claims, -H, errors, and generated pools of up to 10,000 nodes.
 *
 * Topologies (logical indexes):
 *   "core:4 pu:1"                  cores 0-3 are PUs 0-3
 *   "core:4 pu:2"                  core c is PUs 2c, 2c+1
 *   "pack:2 numa:1 core:4 pu:2"    package p is cores 4p .. 4p+3 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <shoal/shoal.h>

#include "util/hostlist.h"
#include "scheduler/pool_place.h"

TestSuite(pool_place, .timeout = 60);

#define SMALL "core:4 pu:1"
#define SMT "core:4 pu:2"
#define DUAL "pack:2 numa:1 core:4 pu:2"

/* A pool of up to 16 hand-made nodes; free is a list string or NULL. */
struct pool_fixture {
    struct place_node nodes[16];
    hwloc_bitmap_t free[16];
    int n;
    pool_topo_cache_t *cache;
};

static void fixture_add(struct pool_fixture *f,
                        const char *name,
                        const char *topo,
                        const char *free_list,
                        int speed)
{
    struct place_node *node = &f->nodes[f->n];

    cr_assert(lt(int, f->n, 16));
    node->id = 100 + f->n;
    node->name = name;
    node->topology = topo;
    node->alive = true;
    node->speed = speed;
    f->free[f->n] = NULL;
    if (free_list) {
        f->free[f->n] = hwloc_bitmap_alloc();
        cr_assert(
            eq(int, hwloc_bitmap_list_sscanf(f->free[f->n], free_list), 0));
    }
    node->free_cores = f->free[f->n];
    f->n++;
}

static void fixture_init(struct pool_fixture *f)
{
    memset(f, 0, sizeof(*f));
    cr_assert(eq(int, pool_topo_cache_create(&f->cache), 0));
}

static void fixture_release(struct pool_fixture *f)
{
    for (int i = 0; i < f->n; i++)
        hwloc_bitmap_free(f->free[i]);
    pool_topo_cache_destroy(f->cache);
}

static char *list_of(hwloc_const_bitmap_t set)
{
    char *text = NULL;

    if (!set)
        return strdup("none");
    cr_assert(hwloc_bitmap_list_asprintf(&text, set) >= 0);
    return text;
}

/* "name:cpuset" per rank, space separated. */
static void render_ranks(const struct pool_fixture *f,
                         const struct pool_placement *p,
                         char *buf,
                         size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int r = 0; r < p->nranks && len < size; r++) {
        char *set = list_of(p->ranks[r].cpuset);

        len += snprintf(buf + len, size - len, "%s%s:%s", r ? " " : "",
                        f->nodes[p->ranks[r].node].name, set);
        free(set);
    }
}

/* "name=cores" per claim, space separated. */
static void render_claims(const struct pool_fixture *f,
                          const struct pool_placement *p,
                          char *buf,
                          size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int c = 0; c < p->nclaims && len < size; c++) {
        char *set = list_of(p->claims[c].cores);

        len += snprintf(buf + len, size - len, "%s%s=%s", c ? " " : "",
                        f->nodes[p->claims[c].node].name, set);
        free(set);
    }
}

static struct pool_placement *place_ok(struct pool_fixture *f,
                                       const struct pool_request *req)
{
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    int rc = pool_place(f->nodes, f->n, req, f->cache, &p, &error);

    cr_assert(eq(int, rc, 0), "pool_place: %s", error.text);
    return p;
}

Test(pool_place, home_first_then_speed_then_name)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 12};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "b", SMALL, NULL, 1000);
    fixture_add(&f, "a", SMALL, NULL, 1000);
    fixture_add(&f, "fast", SMALL, NULL, 2000);
    fixture_add(&f, "home", SMALL, NULL, 500);
    req.home = f.nodes[3].id;
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home=0-3 fast=0-3 a=0-3"));
    cr_assert(eq(int, p->ranks[0].local_rank, 0));
    cr_assert(eq(u64, p->ranks[4].node_id, f.nodes[2].id));
    cr_assert(eq(int, p->ranks[5].local_rank, 1));
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, busy_cores_are_skipped_and_not_claimed)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 5};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "home", SMT, "1,3", 1000);
    fixture_add(&f, "x", SMT, "0,2-3", 1000);
    req.home = f.nodes[0].id;
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home:2-3 home:6-7 x:0-1 x:4-5 x:6-7"));
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home=1,3 x=0,2-3"));
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, exclusive_takes_only_wholly_free_nodes_and_all_their_cores)
{
    struct pool_fixture f;
    struct pool_request req = {
        .map.nranks = 2, .map.bind_to = MAP_BIND_PACKAGE, .exclusive = true};
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "home", DUAL, "1-7", 1000);
    fixture_add(&f, "x", DUAL, NULL, 1000);
    fixture_add(&f, "y", DUAL, "0-7", 1000);
    req.home = f.nodes[0].id;
    p = place_ok(&f, &req);
    /* home has a busy core: the job goes to x, whose package binding is
     * not clipped to the cores its ranks run on */
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "x:0-7 x:0-7"));
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "x=0-7"));
    pool_placement_destroy(p);
    /* the same job without --exclusive starts on home's free cores */
    req.exclusive = false;
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home=1-2"));
    pool_placement_destroy(p);
    p = NULL;
    /* more ranks than whole free nodes hold */
    req = (struct pool_request){
        .map.nranks = 17, .home = f.nodes[0].id, .exclusive = true};
    cr_assert(eq(int, pool_place(f.nodes, f.n, &req, f.cache, &p, &error),
                 SHOAL_ENOSLOTS));
    cr_assert(eq(ptr, p, NULL));
    f.free[1] = hwloc_bitmap_alloc();
    f.nodes[1].free_cores = f.free[1];
    hwloc_bitmap_set(f.free[1], 3);
    hwloc_bitmap_free(f.free[2]);
    f.free[2] = hwloc_bitmap_alloc();
    f.nodes[2].free_cores = f.free[2];
    hwloc_bitmap_set(f.free[2], 5);
    req.map.nranks = 1;
    cr_assert(eq(int, pool_place(f.nodes, f.n, &req, f.cache, &p, &error),
                 SHOAL_ENOSLOTS));
    cr_assert(eq(str, error.text,
                 "not enough slots: 1 ranks requested with --exclusive but "
                 "no node of the pool is wholly free"));
    fixture_release(&f);
}

Test(pool_place, span_deals_over_every_node_not_just_the_first_ones)
{
    struct pool_fixture f;
    struct pool_request req = {
        .map.nranks = 3, .map.map_by = MAP_LEVEL_PACKAGE, .map.span = true};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "home", DUAL, NULL, 1000);
    fixture_add(&f, "x", DUAL, NULL, 1000);
    req.home = f.nodes[0].id;
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home=0,4 x=0"));
    pool_placement_destroy(p);
    req.map.span = false;
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "home=0-1,4"));
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, node_without_free_core_and_dead_node_take_nothing)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 3, .map.map_by = MAP_LEVEL_NODE};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "home", SMALL, "", 1000);
    fixture_add(&f, "dead", SMALL, NULL, 1000);
    fixture_add(&f, "y", SMALL, "2-3", 1000);
    fixture_add(&f, "z", SMALL, "0", 1000);
    f.nodes[1].alive = false;
    req.home = f.nodes[0].id;
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "y:2 z:0 y:3"),
              "map-by node deals over y and z; got %s", got);
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, not_enough_free_slots_says_how_many)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 6};
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    int rc;

    fixture_init(&f);
    fixture_add(&f, "a", SMALL, "0-1", 1000);
    fixture_add(&f, "b", SMALL, "3", 1000);
    rc = pool_place(f.nodes, f.n, &req, f.cache, &p, &error);
    cr_assert(eq(int, rc, SHOAL_ENOSLOTS), "%s", error.text);
    cr_assert(eq(str, error.text,
                 "not enough slots: 6 ranks requested but only 3 slots "
                 "available on 2 nodes"));
    cr_assert(eq(ptr, p, NULL));

    hwloc_bitmap_zero(f.free[0]);
    hwloc_bitmap_zero(f.free[1]);
    rc = pool_place(f.nodes, f.n, &req, f.cache, &p, &error);
    cr_assert(eq(int, rc, SHOAL_ENOSLOTS), "%s", error.text);
    cr_assert(eq(str, error.text,
                 "not enough slots: 6 ranks requested but no free core on "
                 "the pool"));
    fixture_release(&f);
}

Test(pool_place, oversubscribing_wraps_over_free_cores_only)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 6, .map.oversubscribe = true};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "a", SMALL, "1-2", 1000);
    p = place_ok(&f, &req);
    cr_assert(p->oversubscribed);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a:none a:none a:none a:none a:none a:none"));
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a=1-2"));
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, host_list_orders_and_limits_nodes)
{
    struct pool_fixture f;
    struct hostlist hosts = {0};
    struct pool_request req = {.hosts = &hosts};
    struct pool_placement *p;
    shoal_error_t error = {{0}};
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "home", SMALL, NULL, 1000);
    fixture_add(&f, "n1.lab", SMALL, "0-2", 1000);
    fixture_add(&f, "n2", SMALL, NULL, 1000);
    req.home = f.nodes[0].id;
    cr_assert(
        eq(int, hostlist_add_arg(&hosts, "n2:2,n1:8,localhost:1", &error), 0));
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "n2=0-1 n1.lab=0-2 home=0"),
              "-H order; slots capped by free cores; got %s", got);
    cr_assert(eq(int, p->nranks, 6));
    pool_placement_destroy(p);
    hostlist_release(&hosts);
    fixture_release(&f);
}

Test(pool_place, unknown_and_dead_hosts_are_named)
{
    struct pool_fixture f;
    struct hostlist hosts = {0};
    struct pool_request req = {.map.nranks = 1, .hosts = &hosts};
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    int rc;

    fixture_init(&f);
    fixture_add(&f, "a", SMALL, NULL, 1000);
    fixture_add(&f, "b", SMALL, NULL, 1000);
    cr_assert(
        eq(int, hostlist_add_arg(&hosts, "a,ghost,b,phantom", &error), 0));
    rc = pool_place(f.nodes, f.n, &req, f.cache, &p, &error);
    cr_assert(eq(int, rc, SHOAL_ENOHOST));
    cr_assert(eq(str, error.text,
                 "unknown hosts 'ghost', 'phantom': not in the pool"));
    hostlist_release(&hosts);

    f.nodes[1].alive = false;
    cr_assert(eq(int, hostlist_add_arg(&hosts, "a,b", &error), 0));
    rc = pool_place(f.nodes, f.n, &req, f.cache, &p, &error);
    cr_assert(eq(int, rc, SHOAL_ENOHOST));
    cr_assert(eq(str, error.text, "host 'b' not available: not alive"));
    cr_assert(eq(ptr, p, NULL));
    hostlist_release(&hosts);
    fixture_release(&f);
}

Test(pool_place, bad_topology_is_skipped_unless_named)
{
    struct pool_fixture f;
    struct hostlist hosts = {0};
    struct pool_request req = {.map.nranks = 2};
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    char got[512];
    int rc;

    fixture_init(&f);
    fixture_add(&f, "bad", "core:banana", NULL, 9000);
    fixture_add(&f, "file", "/etc/passwd", NULL, 9000);
    fixture_add(&f, "ok", SMALL, NULL, 1000);
    p = place_ok(&f, &req);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "ok=0-1"));
    pool_placement_destroy(p);

    req.hosts = &hosts;
    cr_assert(eq(int, hostlist_add_arg(&hosts, "file,ok", &error), 0));
    rc = pool_place(f.nodes, f.n, &req, f.cache, &p, &error);
    cr_assert(eq(int, rc, SHOAL_ETOPOLOGY), "%s", error.text);
    cr_assert(eq(str, error.text,
                 "host 'file': cannot load topology '/etc/passwd': not a "
                 "synthetic description"));
    hostlist_release(&hosts);
    fixture_release(&f);
}

Test(pool_place, pe_skips_nodes_too_busy_for_a_rank)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 2, .map.pe = 2};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "a", SMALL, "3", 2000);
    fixture_add(&f, "b", SMALL, "0,2-3", 1000);
    fixture_add(&f, "c", DUAL, "3-4", 500);
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "b:0,2 c:6-9"), "got %s", got);
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "b=0,2 c=3-4"));
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, ppr_puts_n_ranks_on_each_node_with_free_cores)
{
    struct pool_fixture f;
    struct pool_request req = {
        .map = {.nranks = 3, .map_by = MAP_LEVEL_NODE, .ppr = 1}};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "a", SMALL, NULL, 1000);
    fixture_add(&f, "b", SMALL, "1-3", 1000);
    fixture_add(&f, "c", SMALL, "2", 1000);
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a:0 b:1 c:2"), "got %s", got);
    pool_placement_destroy(p);

    req.map.nranks = 4;
    req.map.ppr = 2;
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a:0 a:1 b:1 b:2"), "got %s", got);
    pool_placement_destroy(p);
    fixture_release(&f);
}

Test(pool_place, hwthread_cpus_claim_whole_cores)
{
    struct pool_fixture f;
    struct pool_request req = {.map.nranks = 3, .map.use_hwthread_cpus = true};
    struct pool_placement *p;
    char got[512];

    fixture_init(&f);
    fixture_add(&f, "a", SMT, "1,3", 1000);
    p = place_ok(&f, &req);
    render_ranks(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a:2 a:3 a:6"));
    render_claims(&f, p, got, sizeof(got));
    cr_assert(eq(str, got, "a=1,3"));
    pool_placement_destroy(p);
    fixture_release(&f);
}

/* Generated pools: many nodes, a few topologies, random busy cores. */
struct gen_case {
    char name[32];
    int nnodes;
    int nranks;
    char map_by[16];
    char bind_to[16];
    bool hwthreads;
    bool oversubscribe;
    unsigned seed;
};

static struct gen_case gen_cases[] = {
    {"core", 200, 300, "core", "", false, false, 1},
    {"node", 200, 150, "node", "", false, false, 2},
    {"numa", 200, 300, "numa", "numa", false, false, 3},
    {"package_pe2", 200, 100, "package:PE=2", "", false, false, 4},
    {"slot_hwthreads", 200, 500, "slot", "", true, false, 5},
    {"core_oversub", 20, 400, "core", "core", false, true, 6},
    {"all_slots", 300, 0, "core", "", false, false, 7},
    {"big_core", 10000, 1000, "core", "", false, false, 8},
    {"big_node", 10000, 1000, "node", "", false, false, 9},
};

ParameterizedTestParameters(pool_place, generated_pools_use_only_free_cores)
{
    return cr_make_param_array(struct gen_case, gen_cases,
                               sizeof(gen_cases) / sizeof(gen_cases[0]));
}

static const char *const gen_topos[] = {
    "pack:2 numa:2 core:8 pu:2",
    "pack:1 core:4 pu:1",
    "pack:2 core:6 pu:2",
    "pack:4 numa:1 core:16 pu:1",
};

ParameterizedTest(struct gen_case *c,
                  pool_place,
                  generated_pools_use_only_free_cores)
{
    struct place_node *nodes = calloc(c->nnodes, sizeof(*nodes));
    hwloc_bitmap_t *frees = calloc(c->nnodes, sizeof(*frees));
    char(*names)[16] = calloc(c->nnodes, sizeof(*names));
    hwloc_bitmap_t *seen = calloc(c->nnodes, sizeof(*seen));
    struct pool_request req = {.map.nranks = c->nranks};
    struct map_by_spec spec;
    pool_topo_cache_t *cache = NULL;
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    unsigned seed = c->seed;
    long long free_units = 0;
    int rc;

    cr_assert(nodes && frees && names && seen);
    cr_assert(eq(int, pool_topo_cache_create(&cache), 0));
    cr_assert(eq(int, map_by_parse(c->map_by, &spec, &error), 0));
    req.map.map_by = spec.level;
    req.map.pe = spec.pe;
    if (c->bind_to[0])
        cr_assert(eq(int,
                     map_bind_parse(c->bind_to, &req.map.bind_to,
                                    &req.map.overload_allowed, &error),
                     0));
    req.map.use_hwthread_cpus = c->hwthreads;
    req.map.oversubscribe = c->oversubscribe;
    for (int n = 0; n < c->nnodes; n++) {
        int t = rand_r(&seed) % 4;
        int ncores = t == 0 ? 32 : t == 1 ? 4 : t == 2 ? 12 : 64;

        snprintf(names[n], sizeof(names[n]), "node%05d", n);
        nodes[n] = (struct place_node){.id = 1 + n,
                                       .name = names[n],
                                       .topology = gen_topos[t],
                                       .alive = rand_r(&seed) % 20 != 0,
                                       .speed = 500 + rand_r(&seed) % 4 * 250};
        /* a third of the nodes run other jobs on random cores */
        if (rand_r(&seed) % 3 == 0) {
            frees[n] = hwloc_bitmap_alloc();
            for (int core = 0; core < ncores; core++) {
                if (rand_r(&seed) % 2)
                    hwloc_bitmap_set(frees[n], core);
            }
            nodes[n].free_cores = frees[n];
        }
        if (nodes[n].alive)
            free_units += frees[n] ? hwloc_bitmap_weight(frees[n]) : ncores;
    }
    req.home = 1 + rand_r(&seed) % c->nnodes;

    rc = pool_place(nodes, c->nnodes, &req, cache, &p, &error);
    cr_assert(eq(int, rc, 0), "%s: %s", c->name, error.text);
    cr_assert(le(int, pool_topo_cache_size(cache), 4),
              "one topology per distinct string");
    if (c->nranks > 0)
        cr_assert(eq(int, p->nranks, c->nranks));
    else
        cr_assert(eq(int, p->nranks, (int)free_units),
                  "one rank per free core");

    /* Claims: alive nodes, free cores only, each node at most once. */
    for (int i = 0; i < p->nclaims; i++) {
        const struct pool_claim *claim = &p->claims[i];
        const struct place_node *node = &nodes[claim->node];

        cr_assert(node->alive, "%s: claim on dead node %s", c->name,
                  node->name);
        cr_assert(eq(ptr, seen[claim->node], NULL), "%s: %s claimed twice",
                  c->name, node->name);
        seen[claim->node] = claim->cores;
        cr_assert(eq(u64, claim->node_id, node->id));
        cr_assert(not(hwloc_bitmap_iszero(claim->cores)));
        if (node->free_cores) {
            char *got = list_of(claim->cores);
            char *free_list = list_of(node->free_cores);

            cr_assert(hwloc_bitmap_isincluded(claim->cores, node->free_cores),
                      "%s: %s claims %s but only %s are free", c->name,
                      node->name, got, free_list);
            free(got);
            free(free_list);
        }
    }
    /* Ranks: on a claimed node, bound within the PUs of claimed cores
     * (bindings wider than a core are clipped to the free cores). */
    for (int r = 0; r < p->nranks; r++) {
        const struct pool_rank *rank = &p->ranks[r];
        hwloc_topology_t topo;
        hwloc_bitmap_t pus = hwloc_bitmap_alloc();
        int core;

        cr_assert(not(eq(ptr, seen[rank->node], NULL)),
                  "%s: rank %d on an unclaimed node", c->name, r);
        if (!rank->cpuset) {
            cr_assert(c->oversubscribe, "%s: rank %d unbound", c->name, r);
            hwloc_bitmap_free(pus);
            continue;
        }
        cr_assert(eq(int,
                     pool_topo_cache_get(cache, nodes[rank->node].topology,
                                         &topo, &error),
                     0));
        hwloc_bitmap_foreach_begin(core, seen[rank->node])
        {
            hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, core);
            hwloc_obj_t pu = NULL;

            while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(
                        topo, obj->cpuset, HWLOC_OBJ_PU, pu)))
                hwloc_bitmap_set(pus, pu->logical_index);
        }
        hwloc_bitmap_foreach_end();
        cr_assert(hwloc_bitmap_isincluded(rank->cpuset, pus),
                  "%s: rank %d bound outside its node's claimed cores", c->name,
                  r);
        hwloc_bitmap_free(pus);
    }

    /* With room enough, oversubscribe changes nothing, but it makes
     * pool_place map on every node instead of the fewest that hold the
     * job: both must agree. */
    if (c->nranks > 0 && !c->oversubscribe) {
        struct pool_placement *full = NULL;

        req.map.oversubscribe = true;
        rc = pool_place(nodes, c->nnodes, &req, cache, &full, &error);
        cr_assert(eq(int, rc, 0), "%s: %s", c->name, error.text);
        cr_assert(eq(int, full->nclaims, p->nclaims), "%s", c->name);
        for (int i = 0; i < p->nclaims; i++) {
            cr_assert(eq(int, full->claims[i].node, p->claims[i].node));
            cr_assert(hwloc_bitmap_isequal(full->claims[i].cores,
                                           p->claims[i].cores));
        }
        for (int r = 0; r < p->nranks; r++) {
            cr_assert(eq(int, full->ranks[r].node, p->ranks[r].node),
                      "%s: rank %d", c->name, r);
            cr_assert(hwloc_bitmap_isequal(full->ranks[r].cpuset,
                                           p->ranks[r].cpuset));
        }
        pool_placement_destroy(full);
    }
    pool_placement_destroy(p);
    pool_topo_cache_destroy(cache);
    for (int n = 0; n < c->nnodes; n++)
        hwloc_bitmap_free(frees[n]);
    free(frees);
    free(nodes);
    free(names);
    free(seen);
}

Test(pool_place, identical_nodes_share_one_topology)
{
    enum { N = 10000 };
    struct place_node *nodes = calloc(N, sizeof(*nodes));
    struct pool_request req = {.map.nranks = 1000,
                               .map.map_by = MAP_LEVEL_NODE};
    pool_topo_cache_t *cache = NULL;
    struct pool_placement *p = NULL;
    shoal_error_t error = {{0}};
    char(*names)[16] = calloc(N, sizeof(*names));

    cr_assert(eq(int, pool_topo_cache_create(&cache), 0));
    for (int n = 0; n < N; n++) {
        snprintf(names[n], sizeof(names[n]), "n%d", n);
        nodes[n] = (struct place_node){.id = n + 1,
                                       .name = names[n],
                                       .topology = "pack:2 core:8 pu:2",
                                       .alive = true,
                                       .speed = 1000};
    }
    cr_assert(eq(int, pool_place(nodes, N, &req, cache, &p, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, pool_topo_cache_size(cache), 1));
    cr_assert(eq(int, p->nclaims, 1000));
    pool_placement_destroy(p);
    pool_topo_cache_destroy(cache);
    free(nodes);
    free(names);
}
