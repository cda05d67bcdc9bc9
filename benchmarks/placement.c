/* SPDX-License-Identifier: MIT */
/* placement.c - placing a 1,000-rank job on a 10,000-node pool.
 *
 * The pool has four distinct synthetic topologies (4 to 64 cores), one
 * node in twenty dead and a third of the nodes running other jobs on half
 * of their cores. For each mapping (map-by core, node, numa and
 * package:PE=2) we time pool_place(), which orders the nodes, builds the
 * allowed cpusets and translates the result, against the reference: the
 * same request through map_compute() alone on the same topologies, all
 * cores free. The topology cache is warm in both (a daemon keeps it).
 *
 * usage: bench-placement [-r REPS] [-n NODES] [-p RANKS]
 * Prints one JSON object per mapping, then a table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shoal/shoal.h>

#include "benchmarks/bench.h"
#include "scheduler/map.h"
#include "scheduler/pool_place.h"

enum { BENCH_MAX_REPS = 1001 };

static const char *const bench_topos[] = {
    "pack:2 numa:2 core:8 pu:2",
    "pack:1 core:4 pu:1",
    "pack:2 core:6 pu:2",
    "pack:4 numa:1 core:16 pu:1",
};
static const int bench_cores[] = {32, 4, 12, 64};

static void bench_die(const char *what, const shoal_error_t *error)
{
    fprintf(stderr, "bench-placement: %s: %s\n", what, error->text);
    exit(1);
}

int main(int argc, char **argv)
{
    static const char *const maps[] = {"core", "node", "numa", "package:PE=2"};
    int reps = 21, nnodes = 10000, nranks = 1000;
    struct place_node *nodes;
    struct map_node *ref;
    hwloc_bitmap_t *frees;
    char(*names)[16];
    pool_topo_cache_t *cache = NULL;
    double pool_ms[4], ref_ms[4];
    unsigned seed = 42;
    shoal_error_t error = {{0}};
    int opt;

    while ((opt = getopt(argc, argv, "r:n:p:")) != -1) {
        switch (opt) {
        case 'r':
            reps = atoi(optarg);
            break;
        case 'n':
            nnodes = atoi(optarg);
            break;
        case 'p':
            nranks = atoi(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: bench-placement [-r REPS] [-n NODES] [-p RANKS]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > BENCH_MAX_REPS || nnodes < 1 || nranks < 1) {
        fprintf(stderr, "bench-placement: bad arguments\n");
        return 2;
    }
    nodes = calloc(nnodes, sizeof(*nodes));
    ref = calloc(nnodes, sizeof(*ref));
    frees = calloc(nnodes, sizeof(*frees));
    names = calloc(nnodes, sizeof(*names));
    if (!nodes || !ref || !frees || !names
        || pool_topo_cache_create(&cache) < 0) {
        fprintf(stderr, "bench-placement: out of memory\n");
        return 1;
    }
    for (int n = 0; n < nnodes; n++) {
        int t = rand_r(&seed) % 4;

        snprintf(names[n], sizeof(names[n]), "node%05d", n);
        nodes[n] = (struct place_node){.id = (uint64_t)n + 1,
                                       .name = names[n],
                                       .topology = bench_topos[t],
                                       .alive = rand_r(&seed) % 20 != 0,
                                       .speed = 500 + rand_r(&seed) % 4 * 250};
        if (rand_r(&seed) % 3 == 0) {
            frees[n] = hwloc_bitmap_alloc();
            for (int c = 0; c < bench_cores[t]; c++) {
                if (rand_r(&seed) % 2)
                    hwloc_bitmap_set(frees[n], c);
            }
            nodes[n].free_cores = frees[n];
        }
        ref[n].name = names[n];
        ref[n].slots = -1;
        if (pool_topo_cache_get(cache, bench_topos[t], &ref[n].topo, &error)
            < 0)
            bench_die("topology", &error);
    }

    for (int m = 0; m < 4; m++) {
        struct pool_request req = {.map.nranks = nranks, .home = 1};
        double samples[BENCH_MAX_REPS];
        int nclaims = 0;

        if (map_level_parse(maps[m], &req.map.map_by, &req.map.pe, &error) < 0)
            bench_die(maps[m], &error);
        for (int r = 0; r < reps; r++) {
            struct pool_placement *p = NULL;
            double t0 = 1e3 * bench_now();

            if (pool_place(nodes, nnodes, &req, cache, &p, &error) < 0)
                bench_die("pool_place", &error);
            samples[r] = 1e3 * bench_now() - t0;
            nclaims = p->nclaims;
            pool_placement_destroy(p);
        }
        pool_ms[m] = bench_median(samples, reps);
        for (int r = 0; r < reps; r++) {
            struct map_result *res = NULL;
            double t0 = 1e3 * bench_now();

            if (map_compute(ref, nnodes, &req.map, &res, &error) < 0)
                bench_die("map_compute", &error);
            samples[r] = 1e3 * bench_now() - t0;
            map_result_destroy(res);
        }
        ref_ms[m] = bench_median(samples, reps);
        printf("{\"bench\":\"placement\",\"map_by\":\"%s\",\"nodes\":%d,"
               "\"ranks\":%d,\"reps\":%d,\"nodes_used\":%d,"
               "\"topologies\":%d,\"pool_place_ms\":%.3f,"
               "\"reference\":\"map_compute, all cores free\","
               "\"reference_ms\":%.3f,\"ratio\":%.2f}\n",
               maps[m], nnodes, nranks, reps, nclaims,
               pool_topo_cache_size(cache), pool_ms[m], ref_ms[m],
               pool_ms[m] / ref_ms[m]);
    }
    printf("\n%-14s %14s %16s %7s\n", "map-by", "pool_place ms",
           "map_compute ms", "ratio");
    for (int m = 0; m < 4; m++)
        printf("%-14s %14.3f %16.3f %7.2f\n", maps[m], pool_ms[m], ref_ms[m],
               pool_ms[m] / ref_ms[m]);
    printf("(%d ranks, %d nodes, median of %d)\n", nranks, nnodes, reps);

    for (int n = 0; n < nnodes; n++)
        hwloc_bitmap_free(frees[n]);
    pool_topo_cache_destroy(cache);
    free(nodes);
    free(ref);
    free(frees);
    free(names);
    return 0;
}
