/* SPDX-License-Identifier: MIT */
/* Unit tests of scheduler/map.c: placements on synthetic and XML
 * topologies, compared with what Open MPI's mpirun does.
 *
 * Topologies (PU numbers):
 *   "core:4 pu:1"                   cores 0-3 are PUs 0-3
 *   "core:4 pu:2"                   core c is PUs 2c,2c+1
 *   "package:2 numa:2 core:4 pu:2"  core c is PUs 2c,2c+1; NUMA node m is
 *                                   PUs 8m-8m+7; package p is PUs 16p-16p+15
 *   "@topo-asymmetric.xml"          package 0: cores 0-3 (PUs 0-7, NUMA 0),
 *                                   package 1: cores 4-5 (PUs 8-11, NUMA 1),
 *                                   and a NUMA node without CPUs */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <shoal/shoal.h>

#include "runtime/member/topo.h"
#include "scheduler/map.h"

TestSuite(map, .timeout = 30);

#define ONE_PU "core:4 pu:1"
#define TWO_PU "core:4 pu:2"
#define NUMA4 "package:2 numa:2 core:4 pu:2"
#define ASYM "@topo-asymmetric.xml"

/* A spec starting with '@' names a file of tests/fixtures. */
static hwloc_topology_t load(const char *spec)
{
    shoal_error_t error = {{0}};
    hwloc_topology_t topo = NULL;
    char path[4096];
    int rc;

    if (spec[0] == '@') {
        const char *srcdir = getenv("SHOAL_SRCDIR");

        cr_assert(not(eq(ptr, (void *)srcdir, NULL)),
                  "SHOAL_SRCDIR is not set; run through make check");
        snprintf(path, sizeof(path), "%s/tests/fixtures/%s", srcdir, spec + 1);
        spec = path;
    }
    rc = topo_load(spec, &topo, &error);
    cr_assert(eq(int, rc, 0), "topo_load('%s'): %s", spec, error.text);
    return topo;
}

/* The result as text, one word per rank in rank order: its cpuset in
 * hwloc's list notation ("0-1,4"), "none" when unbound, prefixed with
 * "n<node>:" when with_node. */
static void
render(const struct map_result *result, bool with_node, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int r = 0; r < result->nranks && len < size; r++) {
        const struct map_rank *rank = &result->ranks[r];
        char *set = NULL;

        if (rank->cpuset)
            cr_assert(hwloc_bitmap_list_asprintf(&set, rank->cpuset) >= 0);
        len += snprintf(buf + len, size - len, "%s", r ? " " : "");
        if (with_node)
            len += snprintf(buf + len, size - len, "n%d:", rank->node);
        len += snprintf(buf + len, size - len, "%s", set ? set : "none");
        free(set);
    }
}

/* Criterion copies parameters into each test's process, which may map the
 * program elsewhere: text lives in the structs, not behind pointers. */
struct map_case {
    char name[96];
    char topo[48];
    int nnodes; /* 0: one */
    int slots;  /* 0: one per core (the default, -1) */
    int nranks;
    char map_by[24]; /* "": default */
    char rank_by[24];
    char bind_to[24];
    bool oversubscribe;
    bool hwthreads;
    char expect[192];
    bool oversubscribed;
};

/* What --map-by sets in a request, as shoal run's options do. */
static void request_apply_map_by(struct map_request *req,
                                 const struct map_by_spec *spec)
{
    req->map_by = spec->level;
    req->pe = spec->pe;
    req->ppr = spec->ppr;
    req->span = spec->span;
    memcpy(req->pe_list, spec->pe_list, sizeof(req->pe_list));
    if (spec->oversubscribe >= 0)
        req->oversubscribe = spec->oversubscribe;
}

static void request_parse(const struct map_case *c, struct map_request *req)
{
    shoal_error_t error = {{0}};

    memset(req, 0, sizeof(*req));
    req->nranks = c->nranks;
    req->oversubscribe = c->oversubscribe;
    req->use_hwthread_cpus = c->hwthreads;
    if (c->map_by[0]) {
        struct map_by_spec spec;

        cr_assert(eq(int, map_by_parse(c->map_by, &spec, &error), 0), "%s: %s",
                  c->name, error.text);
        request_apply_map_by(req, &spec);
    }
    if (c->rank_by[0])
        cr_assert(
            eq(int, map_level_parse(c->rank_by, &req->rank_by, &error), 0),
            "%s: %s", c->name, error.text);
    if (c->bind_to[0])
        cr_assert(eq(int,
                     map_bind_parse(c->bind_to, &req->bind_to,
                                    &req->overload_allowed, &error),
                     0),
                  "%s: %s", c->name, error.text);
}

/* Each case: where the ranks go and what they are bound to. */
static struct map_case map_cases[] = {
    /* ppr:N:RESOURCE, as Open MPI 4.1's ppr mapper: N per object, object
     * after object, ranked in that order */
    {.name = "ppr:2:package takes two cores of each package",
     .topo = NUMA4,
     .map_by = "ppr:2:package",
     .expect = "0-1 2-3 16-17 18-19"},
    {.name = "ppr:1:numa takes the first core of each NUMA node",
     .topo = NUMA4,
     .map_by = "ppr:1:numa",
     .expect = "0-1 8-9 16-17 24-25"},
    {.name = "ppr:2:node fills each node with two, node after node",
     .topo = ONE_PU,
     .nnodes = 2,
     .map_by = "ppr:2:node",
     .expect = "n0:0 n0:1 n1:0 n1:1"},
    {.name = "ppr:2:node with -n 3 stops on the second node",
     .topo = ONE_PU,
     .nnodes = 2,
     .nranks = 3,
     .map_by = "ppr:2:node",
     .expect = "n0:0 n0:1 n1:0"},
    {.name = "ppr:1:package:PE=2 gives each rank two cores",
     .topo = NUMA4,
     .map_by = "ppr:1:package:PE=2",
     .expect = "0-3 16-19"},
    {.name = "ppr ranks by package when asked",
     .topo = NUMA4,
     .map_by = "ppr:2:package",
     .rank_by = "package",
     .expect = "0-1 16-17 2-3 18-19"},
    {.name = "ppr beyond the slots with oversubscribe: unbound",
     .topo = ONE_PU,
     .slots = 2,
     .map_by = "ppr:3:node",
     .oversubscribe = true,
     .expect = "none none none",
     .oversubscribed = true},
    {.name = "ppr beyond a package's cores wraps around them: unbound",
     .topo = ASYM,
     .map_by = "ppr:3:package",
     .expect = "none none none none none none",
     .oversubscribed = true},
    /* defaults: map-by core, rank-by core, bind-to core */
    {.name = "default fills cores in order",
     .topo = ONE_PU,
     .nranks = 4,
     .expect = "0 1 2 3"},
    {.name = "default binds a rank to its whole core",
     .topo = TWO_PU,
     .nranks = 4,
     .expect = "0-1 2-3 4-5 6-7"},
    {.name = "zero ranks means one per core",
     .topo = NUMA4,
     .nranks = 0,
     .expect =
         "0-1 2-3 4-5 6-7 8-9 10-11 12-13 14-15 16-17 18-19 20-21 22-23 24-25 "
         "26-27 28-29 30-31"},
    {.name = "explicit slots limit the ranks of a node",
     .topo = ONE_PU,
     .slots = 2,
     .nranks = 0,
     .expect = "0 1"},
    {.name = "map-by slot fills cores like map-by core",
     .topo = TWO_PU,
     .nranks = 3,
     .map_by = "slot",
     .expect = "0-1 2-3 4-5"},

    /* hardware threads as cpus */
    {.name = "use-hwthread-cpus gives a slot and a binding per PU",
     .topo = TWO_PU,
     .nranks = 0,
     .hwthreads = true,
     .expect = "0 1 2 3 4 5 6 7"},
    {.name = "map-by hwthread implies hwthread cpus",
     .topo = TWO_PU,
     .nranks = 0,
     .map_by = "hwthread",
     .expect = "0 1 2 3 4 5 6 7"},
    {.name = "hwthread cpus with bind-to core bind the whole core",
     .topo = TWO_PU,
     .nranks = 3,
     .bind_to = "core",
     .hwthreads = true,
     .expect = "0-1 0-1 2-3"},

    /* map-by objects: round-robin, next free core inside the object */
    {.name = "map-by numa deals ranks across NUMA nodes",
     .topo = NUMA4,
     .nranks = 6,
     .map_by = "numa",
     .expect = "0-1 8-9 16-17 24-25 2-3 10-11"},
    {.name = "map-by package deals ranks across packages",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "package",
     .expect = "0-1 16-17 2-3 18-19"},
    {.name = "map-by socket is map-by package",
     .topo = NUMA4,
     .nranks = 3,
     .map_by = "socket",
     .expect = "0-1 16-17 2-3"},
    {.name = "map-by package without packages is the whole machine",
     .topo = ONE_PU,
     .nranks = 4,
     .map_by = "package",
     .expect = "0 1 2 3"},
    {.name = "map-by package skips full packages",
     .topo = ASYM,
     .nranks = 0,
     .map_by = "package",
     .expect = "0-1 8-9 2-3 10-11 4-5 6-7"},
    {.name = "map-by numa ignores NUMA nodes without CPUs",
     .topo = ASYM,
     .nranks = 0,
     .map_by = "numa",
     .expect = "0-1 8-9 2-3 10-11 4-5 6-7"},

    /* PE=n: n consecutive cpus per rank, bound to all of them */
    {.name = "PE=2 binds each rank to two cores",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "core:PE=2",
     .expect = "0-3 4-7 8-11 12-15"},
    {.name = "PE=2 by numa takes cores inside each NUMA node",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "numa:pe=2",
     .expect = "0-3 8-11 16-19 24-27"},
    {.name = "PE counts slots: 4 cores hold 2 ranks of PE=2",
     .topo = ONE_PU,
     .nranks = 0,
     .map_by = "slot:PE=2",
     .expect = "0-1 2-3"},
    {.name = "PE with hwthread cpus counts PUs",
     .topo = TWO_PU,
     .nranks = 0,
     .map_by = "hwthread:PE=2",
     .expect = "0-1 2-3 4-5 6-7"},
    {.name = "PE of PUs bound to cores covers every core touched",
     .topo = NUMA4,
     .nranks = 2,
     .map_by = "core:PE=3",
     .bind_to = "core",
     .hwthreads = true,
     .expect = "0-3 2-5"},
    {.name = "PE must fit inside the object: leftover cores stay free",
     .topo = ASYM,
     .nranks = 0,
     .map_by = "package:PE=3",
     .expect = "0-5"},
    {.name = "PE with bind-to package binds the package",
     .topo = NUMA4,
     .nranks = 2,
     .map_by = "core:PE=2",
     .bind_to = "package",
     .expect = "0-15 0-15"},

    /* rank-by renumbers the positions the mapping produced */
    {.name = "rank-by package deals ranks across packages",
     .topo = NUMA4,
     .nranks = 0,
     .rank_by = "package",
     .expect =
         "0-1 16-17 2-3 18-19 4-5 20-21 6-7 22-23 8-9 24-25 10-11 26-27 12-13 "
         "28-29 14-15 30-31"},
    {.name = "rank-by numa deals ranks across NUMA nodes",
     .topo = NUMA4,
     .nranks = 0,
     .map_by = "core",
     .rank_by = "numa",
     .expect =
         "0-1 8-9 16-17 24-25 2-3 10-11 18-19 26-27 4-5 12-13 20-21 28-29 6-7 "
         "14-15 22-23 30-31"},
    {.name = "rank-by core numbers map-by numa positions along cores",
     .topo = NUMA4,
     .nranks = 8,
     .map_by = "numa",
     .rank_by = "core",
     .expect = "0-1 2-3 8-9 10-11 16-17 18-19 24-25 26-27"},
    {.name = "rank-by slot keeps the order of placement",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "numa",
     .rank_by = "slot",
     .expect = "0-1 8-9 16-17 24-25"},
    {.name = "rank-by package of a partly filled node uses packages with ranks",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "core",
     .rank_by = "package",
     .expect = "0-1 2-3 4-5 6-7"},

    /* bind-to wider levels */
    {.name = "bind-to numa binds the NUMA node of the rank",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "numa",
     .bind_to = "numa",
     .expect = "0-7 8-15 16-23 24-31"},
    {.name = "bind-to package binds the package of the rank",
     .topo = NUMA4,
     .nranks = 4,
     .map_by = "numa",
     .bind_to = "package",
     .expect = "0-15 0-15 16-31 16-31"},
    {.name = "bind-to socket is bind-to package",
     .topo = ASYM,
     .nranks = 6,
     .bind_to = "socket",
     .expect = "0-7 0-7 0-7 0-7 8-11 8-11"},
    {.name = "bind-to package without packages binds the machine",
     .topo = ONE_PU,
     .nranks = 2,
     .bind_to = "package",
     .expect = "0-3 0-3"},
    {.name = "bind-to numa on the asymmetric node",
     .topo = ASYM,
     .nranks = 6,
     .bind_to = "numa",
     .expect = "0-7 0-7 0-7 0-7 8-11 8-11"},
    {.name = "bind-to hwthread binds the first PU of each core",
     .topo = TWO_PU,
     .nranks = 4,
     .bind_to = "hwthread",
     .expect = "0 2 4 6"},
    {.name = "bind-to l3cache binds the L3 cache holding the core",
     .topo = "package:1 l3cache:2 core:2 pu:1",
     .nranks = 4,
     .bind_to = "l3cache",
     .expect = "0-1 0-1 2-3 2-3"},
    {.name = "bind-to l3cache without L3 caches binds the package",
     .topo = NUMA4,
     .nranks = 3,
     .map_by = "package",
     .bind_to = "l3cache",
     .expect = "0-15 16-31 0-15"},
    {.name = "map-by :OVERSUBSCRIBE oversubscribes, unbound by default",
     .topo = ONE_PU,
     .nranks = 5,
     .map_by = "core:OVERSUBSCRIBE",
     .expect = "none none none none none",
     .oversubscribed = true},
    {.name = "ranks sharing PUs of a core with bind-to hwthread",
     .topo = TWO_PU,
     .nranks = 8,
     .slots = 8,
     .bind_to = "hwthread",
     .expect = "0 2 4 6 1 3 5 7",
     .oversubscribed = true},
    {.name = "bind-to none leaves ranks unbound",
     .topo = ONE_PU,
     .nranks = 2,
     .bind_to = "none",
     .expect = "none none"},

    /* oversubscription */
    {.name = "oversubscribed ranks are unbound by default",
     .topo = ONE_PU,
     .nranks = 6,
     .oversubscribe = true,
     .expect = "none none none none none none",
     .oversubscribed = true},
    {.name = "oversubscribed ranks wrap around the cores",
     .topo = ONE_PU,
     .nranks = 6,
     .bind_to = "core:overload-allowed",
     .oversubscribe = true,
     .expect = "0 1 2 3 0 1",
     .oversubscribed = true},
    {.name = "oversubscribed map-by numa wraps around each NUMA node",
     .topo = NUMA4,
     .nranks = 18,
     .map_by = "numa",
     .rank_by = "slot",
     .bind_to = "numa:overload-allowed",
     .oversubscribe = true,
     .expect =
         "0-7 8-15 16-23 24-31 0-7 8-15 16-23 24-31 0-7 8-15 16-23 24-31 0-7 "
         "8-15 16-23 24-31 0-7 8-15",
     .oversubscribed = true},
    {.name = "ranks sharing a core take its PUs in turn",
     .topo = TWO_PU,
     .nranks = 6,
     .bind_to = "hwthread",
     .oversubscribe = true,
     .expect = "0 2 4 6 1 3",
     .oversubscribed = true},
    {.name = "more slots than cores overloads the cores",
     .topo = ONE_PU,
     .slots = 6,
     .nranks = 6,
     .expect = "none none none none none none",
     .oversubscribed = true},

    /* several nodes */
    {.name = "nodes fill up before the next one",
     .topo = ONE_PU,
     .nnodes = 3,
     .nranks = 6,
     .expect = "n0:0 n0:1 n0:2 n0:3 n1:0 n1:1"},
    {.name = "nodes fill up to their slots",
     .topo = ONE_PU,
     .nnodes = 3,
     .slots = 2,
     .nranks = 5,
     .expect = "n0:0 n0:1 n1:0 n1:1 n2:0"},
    {.name = "map-by node deals ranks across nodes",
     .topo = ONE_PU,
     .nnodes = 3,
     .nranks = 5,
     .map_by = "node",
     .expect = "n0:0 n1:0 n2:0 n0:1 n1:1"},
    {.name = "map-by node rank-by slot numbers each node in turn",
     .topo = ONE_PU,
     .nnodes = 3,
     .nranks = 5,
     .map_by = "node",
     .rank_by = "slot",
     .expect = "n0:0 n0:1 n1:0 n1:1 n2:0"},
    {.name = "rank-by node over map-by core",
     .topo = ONE_PU,
     .nnodes = 2,
     .slots = 2,
     .nranks = 4,
     .map_by = "core",
     .rank_by = "node",
     .expect = "n0:0 n1:0 n0:1 n1:1"},
    {.name = "map-by package fills a node before the next",
     .topo = NUMA4,
     .nnodes = 2,
     .nranks = 4,
     .map_by = "package",
     .bind_to = "package",
     .expect = "n0:0-15 n0:16-31 n0:0-15 n0:16-31"},
    {.name = "map-by package:SPAN deals over the packages of every node",
     .topo = NUMA4,
     .nnodes = 2,
     .nranks = 6,
     .map_by = "package:SPAN",
     .bind_to = "package",
     .expect = "n0:0-15 n0:16-31 n1:0-15 n1:16-31 n0:0-15 n0:16-31"},
    {.name = "map-by numa:SPAN skips a node with no slots left",
     .topo = NUMA4,
     .nnodes = 2,
     .slots = 2,
     .nranks = 4,
     .map_by = "numa:SPAN",
     .bind_to = "numa",
     .expect = "n0:0-7 n0:8-15 n1:0-7 n1:8-15"},
    {.name = "oversubscribing nodes spreads the excess evenly",
     .topo = ONE_PU,
     .nnodes = 2,
     .slots = 2,
     .nranks = 7,
     .bind_to = "core,overload-allowed",
     .oversubscribe = true,
     .expect = "n0:0 n0:1 n0:2 n0:3 n1:0 n1:1 n1:2",
     .oversubscribed = true},
};

ParameterizedTestParameters(map, places_ranks_like_open_mpi)
{
    return cr_make_param_array(struct map_case, map_cases,
                               sizeof(map_cases) / sizeof(map_cases[0]));
}

ParameterizedTest(struct map_case *c, map, places_ranks_like_open_mpi)
{
    hwloc_topology_t topo = load(c->topo);
    struct map_node nodes[8] = {{0}};
    struct map_request req;
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[4096];
    int rc;

    int nnodes = c->nnodes ? c->nnodes : 1;

    cr_assert(le(int, nnodes, 8));
    for (int n = 0; n < nnodes; n++) {
        nodes[n].name = "host";
        nodes[n].topo = topo;
        nodes[n].slots = c->slots ? c->slots : -1;
    }
    request_parse(c, &req);
    rc = map_compute(nodes, nnodes, &req, &result, &error);
    cr_assert(eq(int, rc, 0), "%s: %s", c->name, error.text);
    render(result, nnodes > 1, got, sizeof(got));
    cr_expect(eq(str, got, c->expect), "%s", c->name);
    cr_expect(eq(int, result->oversubscribed, c->oversubscribed), "%s",
              c->name);
    map_result_destroy(result);
    hwloc_topology_destroy(topo);
}

struct map_error_case {
    char name[64];
    char topo[48];
    int nnodes;
    int slots;
    int nranks;
    char map_by[24];
    char bind_to[24];
    int code;
    char text[192];
};

static struct map_error_case map_error_cases[] = {
    {"more ranks than the ppr places", ONE_PU, 1, -1, 3, "ppr:2:node", "",
     -EINVAL,
     "--map-by ppr:2:node places at most 2 ranks on 1 node, 3 "
     "requested"},
    {"more ranks than the ppr places, over two nodes", ONE_PU, 2, -1, 9,
     "ppr:1:package", "", -EINVAL,
     "--map-by ppr:1:package places at most 2 ranks on 2 nodes, 9 "
     "requested"},
    {"ppr beyond the slots", ONE_PU, 1, 2, 0, "ppr:3:node", "", SHOAL_ENOSLOTS,
     "not enough slots: --map-by ppr:3:node puts 3 ranks on 'host', which "
     "has 2 slots"},
    {"too many ranks on one node", ONE_PU, 1, 2, 4, "", "", SHOAL_ENOSLOTS,
     "not enough slots: 4 ranks requested but only 2 slots available on "
     "'host'"},
    {"too many ranks on several nodes", ONE_PU, 3, -1, 13, "", "",
     SHOAL_ENOSLOTS,
     "not enough slots: 13 ranks requested but only 12 slots available on 3 "
     "nodes"},
    {"too many ranks of PE=2", ONE_PU, 1, -1, 3, "core:PE=2", "",
     SHOAL_ENOSLOTS,
     "not enough slots: 3 ranks of PE=2 requested but only 2 fit on 'host'"},
    {"nodes without slots", ONE_PU, 2, 0, 0, "", "", SHOAL_ENOSLOTS,
     "not enough slots: no slots available on 2 nodes"},
    {"PE larger than the node", ONE_PU, 1, -1, 1, "core:PE=5", "", -EINVAL,
     "cannot map with PE=5: 'host' has only 4 cores"},
    {"PE larger than a NUMA node", NUMA4, 1, -1, 1, "numa:PE=5", "", -EINVAL,
     "cannot map with PE=5: the largest numa node of 'host' has only 4 "
     "cores"},
    {"PE larger than a package", ASYM, 1, -1, 1, "package:PE=5", "", -EINVAL,
     "cannot map with PE=5: the largest package of 'host' has only 4 cores"},
    {"PE of hwthreads larger than the node", TWO_PU, 1, -1, 1, "hwthread:PE=9",
     "", -EINVAL, "cannot map with PE=9: 'host' has only 8 hwthreads"},
    {"bind-to hwthread narrower than PE", TWO_PU, 1, -1, 1, "core:PE=2",
     "hwthread", -EINVAL,
     "--bind-to hwthread is narrower than PE=2: each rank has 2 cores"},
    {"an explicit binding that overloads cores", ONE_PU, 1, -1, 6,
     "core:OVERSUBSCRIBE", "core", -EINVAL,
     "--bind-to core would bind more ranks than cpus on 'host' (6 ranks "
     "there): add :overload-allowed (--bind-to core:overload-allowed) to "
     "bind them anyway, or --bind-to none"},
    {"more ranks than a core's PUs with bind-to hwthread", TWO_PU, 1, -1, 9,
     "core:OVERSUBSCRIBE", "hwthread", -EINVAL,
     "--bind-to hwthread would bind more ranks than cpus on 'host' (9 ranks "
     "there): add :overload-allowed (--bind-to hwthread:overload-allowed) to "
     "bind them anyway, or --bind-to none"},
    {":NOOVERSUBSCRIBE takes back --oversubscribe", ONE_PU, 1, -1, 5,
     "core:NOOVERSUBSCRIBE", "", SHOAL_ENOSLOTS,
     "not enough slots: 5 ranks requested but only 4 slots available on "
     "'host'"},
};

ParameterizedTestParameters(map, refuses_impossible_requests)
{
    return cr_make_param_array(struct map_error_case, map_error_cases,
                               sizeof(map_error_cases)
                                   / sizeof(map_error_cases[0]));
}

ParameterizedTest(struct map_error_case *c, map, refuses_impossible_requests)
{
    hwloc_topology_t topo = load(c->topo);
    struct map_node nodes[4] = {{0}};
    struct map_request req = {.nranks = c->nranks};
    struct map_result *result = (struct map_result *)&req;
    shoal_error_t error = {{0}};
    int rc;

    for (int n = 0; n < c->nnodes; n++)
        nodes[n] = (struct map_node){"host", topo, c->slots, NULL, 0};
    /* as after --oversubscribe: a modifier may take it back */
    req.oversubscribe = strcasestr(c->map_by, "nooversubscribe") != NULL;
    if (c->map_by[0]) {
        struct map_by_spec spec;

        cr_assert(eq(int, map_by_parse(c->map_by, &spec, &error), 0));
        request_apply_map_by(&req, &spec);
    }
    if (c->bind_to[0])
        cr_assert(eq(int,
                     map_bind_parse(c->bind_to, &req.bind_to,
                                    &req.overload_allowed, &error),
                     0));
    rc = map_compute(nodes, c->nnodes, &req, &result, &error);
    cr_expect(eq(int, rc, c->code), "%s", c->name);
    cr_expect(eq(str, error.text, c->text), "%s", c->name);
    cr_expect(eq(ptr, result, (void *)&req), "%s: *out changed on failure",
              c->name);
    hwloc_topology_destroy(topo);
}

Test(map, rejects_a_negative_pe_and_missing_nodes)
{
    hwloc_topology_t topo = load(ONE_PU);
    struct map_node node = {"host", topo, -1, NULL, 0};
    struct map_request req = {.nranks = 1, .pe = -2};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};

    cr_expect(eq(int, map_compute(&node, 1, &req, &result, &error), -EINVAL));
    cr_expect(eq(str, error.text, "invalid PE=-2: expected a positive number"));
    req.pe = 0;
    cr_expect(eq(int, map_compute(&node, 0, &req, &result, &error), -EINVAL));
    cr_expect(eq(str, error.text, "no nodes to map ranks on"));
    node.topo = NULL;
    cr_expect(eq(int, map_compute(&node, 1, &req, &result, &error), -EINVAL));
    cr_expect(eq(str, error.text, "node 'host' has no topology"));
    cr_expect(eq(ptr, result, NULL));
    hwloc_topology_destroy(topo);
}

Test(map, pe_list_uses_only_its_cpus)
{
    hwloc_topology_t topo = load(TWO_PU);
    struct map_node node = {"host", topo, -1, NULL, 0};
    struct map_request req = {.nranks = 2};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[256];

    /* cores 1 and 3 (PUs 2-3 and 6-7); PU 0 alone is no whole core */
    snprintf(req.pe_list, sizeof(req.pe_list), "0,2-3,6-7");
    cr_assert(eq(int, map_compute(&node, 1, &req, &result, &error), 0), "%s",
              error.text);
    render(result, false, got, sizeof(got));
    cr_expect(eq(str, got, "2-3 6-7"));
    map_result_destroy(result);
    result = NULL;
    req.nranks = 3;
    cr_expect(
        eq(int, map_compute(&node, 1, &req, &result, &error), SHOAL_ENOSLOTS));
    cr_expect(eq(str, error.text,
                 "not enough slots: 3 ranks requested but only 2 slots "
                 "available on 'host'"));
    /* hwthreads are whole units of their own */
    req = (struct map_request){.nranks = 3, .use_hwthread_cpus = true};
    snprintf(req.pe_list, sizeof(req.pe_list), "0,2-3,6-7");
    cr_assert(eq(int, map_compute(&node, 1, &req, &result, &error), 0), "%s",
              error.text);
    render(result, false, got, sizeof(got));
    cr_expect(eq(str, got, "0 2 3"));
    map_result_destroy(result);
    result = NULL;
    snprintf(req.pe_list, sizeof(req.pe_list), "64-65");
    cr_expect(eq(int, map_compute(&node, 1, &req, &result, &error), -EINVAL));
    cr_expect(eq(str, error.text,
                 "--map-by PE-LIST=64-65 holds no whole hwthread of 'host'"));
    cr_expect(eq(ptr, result, NULL));
    hwloc_topology_destroy(topo);
}

Test(map, max_slots_caps_oversubscribing)
{
    hwloc_topology_t topo = load(ONE_PU);
    struct map_node nodes[2] = {{"a", topo, 1, NULL, .max_slots = 1},
                                {"b", topo, 1, NULL, .max_slots = 4}};
    struct map_request req = {.nranks = 5, .oversubscribe = true};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[256];

    /* the excess goes where max_slots leaves room */
    cr_assert(eq(int, map_compute(nodes, 2, &req, &result, &error), 0), "%s",
              error.text);
    render(result, true, got, sizeof(got));
    cr_expect(eq(str, got, "n0:none n1:none n1:none n1:none n1:none"));
    map_result_destroy(result);
    result = NULL;
    /* and no more than all of them allow */
    req.nranks = 6;
    cr_expect(
        eq(int, map_compute(nodes, 2, &req, &result, &error), SHOAL_ENOSLOTS));
    cr_expect(eq(str, error.text,
                 "not enough slots: 6 ranks requested but max_slots allows "
                 "only 5, even oversubscribing"));
    cr_expect(eq(ptr, result, NULL));
    /* ppr counts against it too */
    req = (struct map_request){
        .map_by = MAP_LEVEL_NODE, .ppr = 3, .oversubscribe = true};
    cr_expect(
        eq(int, map_compute(nodes, 2, &req, &result, &error), SHOAL_ENOSLOTS));
    cr_expect(eq(str, error.text,
                 "not enough slots: --map-by ppr:3:node puts 3 ranks on 'a', "
                 "whose max_slots is 1"));
    hwloc_topology_destroy(topo);
}

Test(map, numbers_local_ranks_per_node_in_rank_order)
{
    hwloc_topology_t topo = load(ONE_PU);
    struct map_node nodes[3] = {{"a", topo, -1, NULL, 0},
                                {"b", topo, -1, NULL, 0},
                                {"c", topo, -1, NULL, 0}};
    struct map_request req = {.nranks = 5, .map_by = MAP_LEVEL_NODE};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[64] = "";

    cr_assert(eq(int, map_compute(nodes, 3, &req, &result, &error), 0), "%s",
              error.text);
    for (int r = 0; r < result->nranks; r++) {
        size_t len = strlen(got);

        snprintf(got + len, sizeof(got) - len, "%s%d", r ? " " : "",
                 result->ranks[r].local_rank);
    }
    cr_expect(eq(str, got, "0 0 0 1 1"));
    map_result_destroy(result);
    hwloc_topology_destroy(topo);
}

Test(map, map_by_node_skips_nodes_whose_slots_are_used_up)
{
    hwloc_topology_t topo = load(ONE_PU);
    struct map_node nodes[3] = {{"a", topo, 1, NULL, 0},
                                {"b", topo, 3, NULL, 0},
                                {"c", topo, 2, NULL, 0}};
    struct map_request req = {.nranks = 6, .map_by = MAP_LEVEL_NODE};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[256];

    cr_assert(eq(int, map_compute(nodes, 3, &req, &result, &error), 0), "%s",
              error.text);
    render(result, true, got, sizeof(got));
    cr_expect(eq(str, got, "n0:0 n1:0 n2:0 n1:1 n2:1 n1:2"));
    cr_expect(not(result->oversubscribed));
    map_result_destroy(result);
    hwloc_topology_destroy(topo);
}

Test(map, each_node_uses_its_own_topology)
{
    hwloc_topology_t small = load(ONE_PU);
    hwloc_topology_t threaded = load(TWO_PU);
    struct map_node nodes[3] = {{"a", small, -1, NULL, 0},
                                {"b", threaded, -1, NULL, 0},
                                {"c", small, 1, NULL, 0}};
    struct map_request req = {0};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    char got[256];

    cr_assert(eq(int, map_compute(nodes, 3, &req, &result, &error), 0), "%s",
              error.text);
    render(result, true, got, sizeof(got));
    cr_expect(
        eq(str, got, "n0:0 n0:1 n0:2 n0:3 n1:0-1 n1:2-3 n1:4-5 n1:6-7 n2:0"));
    map_result_destroy(result);
    hwloc_topology_destroy(threaded);
    hwloc_topology_destroy(small);
}

Test(map, result_destroy_accepts_null)
{
    map_result_destroy(NULL);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec)
           + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A pool of ten thousand nodes of a hundred distinct topology objects,
 * interleaved so that neighbours never share one. */
Test(map, maps_a_thousand_ranks_over_ten_thousand_nodes_quickly)
{
    enum { NNODES = 10000, NTOPOS = 100 };
    static const struct map_request requests[] = {
        {.nranks = 1000},
        {.nranks = 1000, .map_by = MAP_LEVEL_NODE},
        {.nranks = 1000, .map_by = MAP_LEVEL_NUMA, .rank_by = MAP_LEVEL_CORE},
        {.nranks = 1000,
         .map_by = MAP_LEVEL_PACKAGE,
         .pe = 2,
         .bind_to = MAP_BIND_NUMA},
        {.nranks = 1000, .rank_by = MAP_LEVEL_NODE},
    };
    hwloc_topology_t topos[NTOPOS];
    struct map_node *nodes = calloc(NNODES, sizeof(*nodes));
    shoal_error_t error = {{0}};

    cr_assert(not(eq(ptr, nodes, NULL)));
    for (int t = 0; t < NTOPOS; t++)
        topos[t] = load(NUMA4);
    for (int n = 0; n < NNODES; n++)
        nodes[n] = (struct map_node){"node", topos[n % NTOPOS], -1, NULL, 0};
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        struct map_result *result = NULL;
        struct timespec start;
        double took;

        clock_gettime(CLOCK_MONOTONIC, &start);
        cr_assert(eq(int,
                     map_compute(nodes, NNODES, &requests[i], &result, &error),
                     0),
                  "request %zu: %s", i, error.text);
        took = seconds_since(&start);
        cr_expect(lt(dbl, took, 0.25), "request %zu took %.3f s", i, took);
        cr_expect(eq(int, result->nranks, 1000));
        map_result_destroy(result);
    }
    for (int t = 0; t < NTOPOS; t++)
        hwloc_topology_destroy(topos[t]);
    free(nodes);
}

Test(map, fills_every_slot_of_ten_thousand_nodes_quickly)
{
    enum { NNODES = 10000 };
    hwloc_topology_t topo = load(NUMA4);
    struct map_node *nodes = calloc(NNODES, sizeof(*nodes));
    struct map_request req = {.map_by = MAP_LEVEL_NODE};
    struct map_result *result = NULL;
    shoal_error_t error = {{0}};
    struct timespec start;
    double took;

    cr_assert(not(eq(ptr, nodes, NULL)));
    for (int n = 0; n < NNODES; n++)
        nodes[n] = (struct map_node){"node", topo, -1, NULL, 0};
    clock_gettime(CLOCK_MONOTONIC, &start);
    cr_assert(eq(int, map_compute(nodes, NNODES, &req, &result, &error), 0),
              "%s", error.text);
    took = seconds_since(&start);
    cr_expect(lt(dbl, took, 1.0), "took %.3f s", took);
    cr_expect(eq(int, result->nranks, NNODES * 16));
    cr_expect(eq(int, result->ranks[NNODES].node, 0));
    cr_expect(eq(int, result->ranks[NNODES].local_rank, 1));
    map_result_destroy(result);
    hwloc_topology_destroy(topo);
    free(nodes);
}

struct level_case {
    char text[32];
    bool map_by; /* parse for --map-by (pe requested) or --rank-by */
    int code;
    enum map_level level;
    int pe;
    char error[128];
};

static struct level_case level_cases[] = {
    {"slot", true, 0, MAP_LEVEL_SLOT, 0, ""},
    {"hwthread", true, 0, MAP_LEVEL_HWTHREAD, 0, ""},
    {"core", true, 0, MAP_LEVEL_CORE, 0, ""},
    {"numa", true, 0, MAP_LEVEL_NUMA, 0, ""},
    {"package", true, 0, MAP_LEVEL_PACKAGE, 0, ""},
    {"socket", true, 0, MAP_LEVEL_PACKAGE, 0, ""},
    {"node", true, 0, MAP_LEVEL_NODE, 0, ""},
    {"Core", true, 0, MAP_LEVEL_CORE, 0, ""},
    {"core:PE=2", true, 0, MAP_LEVEL_CORE, 2, ""},
    {"numa:pe=4", true, 0, MAP_LEVEL_NUMA, 4, ""},
    {"socket,PE=3", true, 0, MAP_LEVEL_PACKAGE, 3, ""},
    {"slot", false, 0, MAP_LEVEL_SLOT, 0, ""},
    {"node", false, 0, MAP_LEVEL_NODE, 0, ""},
    {"core:PE=0", true, -EINVAL, 0, 0,
     "invalid PE value '0' in --map-by 'core:PE=0': expected a positive "
     "integer"},
    {"core:PE=-1", true, -EINVAL, 0, 0,
     "invalid PE value '-1' in --map-by 'core:PE=-1': expected a positive "
     "integer"},
    {"core:PE=2x", true, -EINVAL, 0, 0,
     "invalid PE value '2x' in --map-by 'core:PE=2x': expected a positive "
     "integer"},
    {"core:PE=", true, -EINVAL, 0, 0,
     "invalid PE value '' in --map-by 'core:PE=': expected a positive "
     "integer"},
    {"core:PE=99999999999", true, -EINVAL, 0, 0,
     "invalid PE value '99999999999' in --map-by 'core:PE=99999999999': "
     "expected a positive integer"},
    {"core:oversubscribe", true, 0, MAP_LEVEL_CORE, 0, ""},
    {"core:PE=2,span", true, 0, MAP_LEVEL_CORE, 2, ""},
    {"core:nolocal", true, -EINVAL, 0, 0,
     "--map-by modifier 'nolocal' is not supported"},
    {"core:PE-LIST=0,1", true, 0, MAP_LEVEL_CORE, 0, ""},
    {"core:PE-LIST=", true, -EINVAL, 0, 0,
     "invalid PE-LIST in --map-by 'core:PE-LIST=': expected CPU numbers and "
     "ranges, e.g. 0,2,4-7"},
    {"core:PE-LIST=1-", true, -EINVAL, 0, 0,
     "invalid PE-LIST in --map-by 'core:PE-LIST=1-': expected CPU numbers "
     "and ranges, e.g. 0,2,4-7"},
    {"core:PE-LIST=3-1", true, -EINVAL, 0, 0,
     "invalid PE-LIST '3-1' in --map-by 'core:PE-LIST=3-1': expected CPU "
     "numbers and ranges, e.g. 0,2,4-7"},
    {"core:PE-LIST=0,1x", true, -EINVAL, 0, 0,
     "invalid PE-LIST in --map-by 'core:PE-LIST=0,1x': expected CPU numbers "
     "and ranges, e.g. 0,2,4-7"},
    {"core:fast", true, -EINVAL, 0, 0, "unknown --map-by modifier 'fast'"},
    {"core:oversubscribe", false, -EINVAL, 0, 0,
     "unknown --rank-by modifier 'oversubscribe'"},
    {"core:", true, -EINVAL, 0, 0, "empty --map-by modifier in 'core:'"},
    {"core:PE=2", false, -EINVAL, 0, 0, "unknown --rank-by modifier 'PE=2'"},
    {"l3cache", true, -EINVAL, 0, 0, "--map-by 'l3cache' is not supported"},
    {"board", true, -EINVAL, 0, 0, "--map-by 'board' is not supported"},
    {"ppr:2:package", false, -EINVAL, 0, 0, "--rank-by 'ppr' is not supported"},
    {"l2cache", false, -EINVAL, 0, 0, "--rank-by 'l2cache' is not supported"},
    {"bogus", true, -EINVAL, 0, 0, "unknown --map-by value 'bogus'"},
    {"none", true, -EINVAL, 0, 0, "unknown --map-by value 'none'"},
    {"", true, -EINVAL, 0, 0, "missing --map-by value"},
};

ParameterizedTestParameters(map, parses_open_mpi_levels)
{
    return cr_make_param_array(struct level_case, level_cases,
                               sizeof(level_cases) / sizeof(level_cases[0]));
}

ParameterizedTest(struct level_case *c, map, parses_open_mpi_levels)
{
    enum map_level level = MAP_LEVEL_DEFAULT;
    struct map_by_spec spec = {.level = MAP_LEVEL_DEFAULT, .pe = -7};
    int pe = -7;
    shoal_error_t error = {{0}};
    int rc = c->map_by ? map_by_parse(c->text, &spec, &error)
                       : map_level_parse(c->text, &level, &error);

    if (c->map_by) {
        level = spec.level;
        pe = spec.pe;
    }

    cr_assert(eq(int, rc, c->code), "'%s': %s", c->text, error.text);
    cr_expect(eq(str, error.text, c->error), "'%s'", c->text);
    if (rc == 0) {
        cr_expect(eq(int, level, c->level), "'%s'", c->text);
        if (c->map_by)
            cr_expect(eq(int, pe, c->pe), "'%s'", c->text);
    } else {
        cr_expect(eq(int, level, MAP_LEVEL_DEFAULT), "'%s' changed level",
                  c->text);
        cr_expect(eq(int, pe, -7), "'%s' changed pe", c->text);
    }
}

struct bind_case {
    char text[32];
    int code;
    enum map_bind bind;
    char error[128];
};

static struct bind_case bind_cases[] = {
    {"none", 0, MAP_BIND_NONE, ""},
    {"hwthread", 0, MAP_BIND_HWTHREAD, ""},
    {"core", 0, MAP_BIND_CORE, ""},
    {"numa", 0, MAP_BIND_NUMA, ""},
    {"package", 0, MAP_BIND_PACKAGE, ""},
    {"socket", 0, MAP_BIND_PACKAGE, ""},
    {"NONE", 0, MAP_BIND_NONE, ""},
    {"core:overload-allowed", 0, MAP_BIND_CORE, ""},
    {"numa,OVERLOAD-ALLOWED", 0, MAP_BIND_NUMA, ""},
    {"core:PE=2", -EINVAL, 0, "unknown --bind-to modifier 'PE=2'"},
    {"l3cache", 0, MAP_BIND_L3CACHE, ""},
    {"l2cache", -EINVAL, 0, "--bind-to 'l2cache' is not supported"},
    {"node", -EINVAL, 0, "unknown --bind-to value 'node'"},
    {"slot", -EINVAL, 0, "unknown --bind-to value 'slot'"},
    {"", -EINVAL, 0, "missing --bind-to value"},
};

ParameterizedTestParameters(map, parses_open_mpi_bindings)
{
    return cr_make_param_array(struct bind_case, bind_cases,
                               sizeof(bind_cases) / sizeof(bind_cases[0]));
}

ParameterizedTest(struct bind_case *c, map, parses_open_mpi_bindings)
{
    enum map_bind bind = MAP_BIND_DEFAULT;
    bool overload = false;
    shoal_error_t error = {{0}};
    int rc = map_bind_parse(c->text, &bind, &overload, &error);

    cr_assert(eq(int, rc, c->code), "'%s': %s", c->text, error.text);
    cr_expect(eq(str, error.text, c->error), "'%s'", c->text);
    if (rc == 0) {
        cr_expect(eq(int, bind, c->bind), "'%s'", c->text);
        cr_expect(eq(int, overload, strcasestr(c->text, "overload") != NULL),
                  "'%s'", c->text);
    }
}

struct ppr_case {
    char text[40];
    int rc;
    enum map_level level;
    int pe;
    int ppr;
    char error[112];
    int oversubscribe; /* expected, +1: -1 unset, 0 NO, 1 yes */
};

static struct ppr_case ppr_cases[] = {
    {"ppr:2:socket", 0, MAP_LEVEL_PACKAGE, 0, 2, "", 0},
    {"ppr:4:package", 0, MAP_LEVEL_PACKAGE, 0, 4, "", 0},
    {"PPR:1:NUMA:PE=2", 0, MAP_LEVEL_NUMA, 2, 1, "", 0},
    {"ppr:3:node", 0, MAP_LEVEL_NODE, 0, 3, "", 0},
    {"core:PE=2", 0, MAP_LEVEL_CORE, 2, 0, "", 0},
    {"ppr:2:core", -EINVAL, 0, 0, 0,
     "--map-by ppr:2:core is not supported: N ranks per node, package "
     "(socket) or numa",
     0},
    {"ppr:0:node", -EINVAL, 0, 0, 0,
     "invalid --map-by 'ppr:0:node': expected ppr:N:RESOURCE, N a "
     "positive integer",
     0},
    {"ppr:2", -EINVAL, 0, 0, 0,
     "invalid --map-by 'ppr:2': expected ppr:N:RESOURCE, N a positive "
     "integer",
     0},
    {"ppr:2:galaxy", -EINVAL, 0, 0, 0, "unknown ppr resource value 'galaxy'",
     0},
    {"ppr:2:node:span", 0, MAP_LEVEL_NODE, 0, 2, "", 0},
    {"ppr:2:node:OVERSUBSCRIBE", 0, MAP_LEVEL_NODE, 0, 2, "", 2},
    {"core:NOOVERSUBSCRIBE", 0, MAP_LEVEL_CORE, 0, 0, "", 1},
    {"slot,oversubscribe,PE=2", 0, MAP_LEVEL_SLOT, 2, 0, "", 2},
    {":OVERSUBSCRIBE", 0, MAP_LEVEL_DEFAULT, 0, 0, "", 2},
    {"numa:oversubscribe:nooversubscribe", 0, MAP_LEVEL_NUMA, 0, 0, "", 1},
    {"core:PE-LIST=0,2-3,oversubscribe", 0, MAP_LEVEL_CORE, 0, 0, "", 2},
};

ParameterizedTestParameters(map, parses_ppr)
{
    return cr_make_param_array(struct ppr_case, ppr_cases,
                               sizeof(ppr_cases) / sizeof(ppr_cases[0]));
}

ParameterizedTest(struct ppr_case *c, map, parses_ppr)
{
    struct map_by_spec spec = {.pe = -7, .ppr = -7, .oversubscribe = -7};
    shoal_error_t error = {{0}};
    int rc = map_by_parse(c->text, &spec, &error);

    cr_assert(eq(int, rc, c->rc), "'%s': %s", c->text, error.text);
    if (rc == 0) {
        cr_expect(eq(int, spec.level, c->level), "'%s'", c->text);
        cr_expect(eq(int, spec.pe, c->pe), "'%s'", c->text);
        cr_expect(eq(int, spec.ppr, c->ppr), "'%s'", c->text);
        cr_expect(eq(int, spec.oversubscribe, c->oversubscribe - 1), "'%s'",
                  c->text);
        if (strstr(c->text, "PE-LIST=0,2-3"))
            cr_expect(eq(str, spec.pe_list, "0,2-3"), "'%s'", c->text);
    } else {
        cr_expect(eq(str, error.text, c->error), "'%s'", c->text);
        cr_expect(eq(int, spec.ppr, -7), "'%s': ppr changed on failure",
                  c->text);
    }
}

Test(map, parse_rejects_null_text)
{
    enum map_level level;
    enum map_bind bind;
    shoal_error_t error = {{0}};

    bool overload;
    struct map_by_spec spec;

    cr_expect(eq(int, map_level_parse(NULL, &level, &error), -EINVAL));
    cr_expect(eq(str, error.text, "missing --rank-by value"));
    cr_expect(eq(int, map_bind_parse(NULL, &bind, &overload, NULL), -EINVAL));
    cr_expect(eq(int, map_by_parse(NULL, &spec, &error), -EINVAL));
    cr_expect(eq(str, error.text, "missing --map-by value"));
}

Test(map, policy_names_are_prrte_s)
{
    struct map_request req = {.nranks = 2};
    char mapby[MAP_POLICY_NAME_MAX], bindto[MAP_POLICY_NAME_MAX];

    map_policy_names(&req, true, mapby, bindto);
    cr_assert(eq(str, mapby, "BYCORE"));
    cr_assert(eq(str, bindto, "CORE"));
    /* an oversubscribed placement leaves the default binding off */
    map_policy_names(&req, false, mapby, bindto);
    cr_assert(eq(str, bindto, "NONE"));
    req.use_hwthread_cpus = true;
    map_policy_names(&req, true, mapby, bindto);
    cr_assert(eq(str, mapby, "BYHWTHREAD"));
    cr_assert(eq(str, bindto, "HWTHREAD"));
    req = (struct map_request){.map_by = MAP_LEVEL_SLOT,
                               .bind_to = MAP_BIND_PACKAGE,
                               .oversubscribe = true,
                               .overload_allowed = true};
    map_policy_names(&req, false, mapby, bindto);
    cr_assert(eq(str, mapby, "BYSLOT:OVERSUBSCRIBE"));
    cr_assert(eq(str, bindto, "PACKAGE:OVERLOAD-ALLOWED"));
    req = (struct map_request){
        .map_by = MAP_LEVEL_PACKAGE, .ppr = 2, .bind_to = MAP_BIND_L3CACHE};
    map_policy_names(&req, true, mapby, bindto);
    cr_assert(eq(str, mapby, "PPR"));
    cr_assert(eq(str, bindto, "L3CACHE"));
    req = (struct map_request){
        .map_by = MAP_LEVEL_NUMA, .span = true, .bind_to = MAP_BIND_NONE};
    map_policy_names(&req, true, mapby, bindto);
    cr_assert(eq(str, mapby, "BYNUMA:SPAN"));
    cr_assert(eq(str, bindto, "NONE"));
    req = (struct map_request){.map_by = MAP_LEVEL_NODE};
    map_policy_names(&req, true, mapby, bindto);
    cr_assert(eq(str, mapby, "BYNODE"));
}

Test(map, rank_policy_name_follows_the_mapping_as_prrte_does)
{
    struct map_request req = {.nranks = 2};
    char rankby[MAP_POLICY_NAME_MAX];

    map_rank_policy_name(&req, rankby);
    cr_assert(eq(str, rankby, "SLOT"));
    req.map_by = MAP_LEVEL_NODE;
    map_rank_policy_name(&req, rankby);
    cr_assert(eq(str, rankby, "NODE"));
    req = (struct map_request){.map_by = MAP_LEVEL_NUMA, .span = true};
    map_rank_policy_name(&req, rankby);
    cr_assert(eq(str, rankby, "SPAN"));
    /* --rank-by wins over the mapping */
    req.rank_by = MAP_LEVEL_CORE;
    map_rank_policy_name(&req, rankby);
    cr_assert(eq(str, rankby, "CORE"));
    req = (struct map_request){.map_by = MAP_LEVEL_NODE,
                               .rank_by = MAP_LEVEL_SLOT};
    map_rank_policy_name(&req, rankby);
    cr_assert(eq(str, rankby, "SLOT"));
}
