/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/pool_local.h"
#include "scheduler/local_place.h"

TestSuite(pool_local, .timeout = 30);

Test(pool_local, a_map_splits_into_blocks_of_proxies)
{
    static const int sizes[] = {3, 2, 2}, firsts[] = {0, 3, 5};
    static const char *const names[] = {"vm:0", "vm:1", "vm:2"};
    hwloc_topology_t topo;
    struct map_request req = {.nranks = 7};
    struct map_result *map = NULL;
    struct pool_local_split split;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, hwloc_topology_init(&topo), 0));
    cr_assert(
        eq(int, hwloc_topology_set_synthetic(topo, "pack:1 core:8 pu:1"), 0));
    cr_assert(eq(int, hwloc_topology_load(topo), 0));
    cr_assert(eq(int, local_place("vm", topo, -1, 0, &req, &map, &error), 0),
              "%s", error.text);
    cr_assert(eq(int, pool_local_split(map, topo, "vm", 3, &split), 0));
    cr_assert(eq(int, split.nnodes, 3));
    for (int i = 0; i < 3; i++) {
        const struct pool_job_node *n = &split.nodes[i];
        cr_assert(eq(str, (char *)n->name, (char *)names[i]));
        cr_assert(eq(int, n->nranks, sizes[i]), "node %d", i);
        for (int k = 0; k < n->nranks; k++) {
            cr_assert(eq(int, n->ranks[k], firsts[i] + k), "node %d", i);
            /* one core a rank, in rank order: logical PU = rank */
            cr_assert(eq(u32, n->npus[k], 1), "node %d rank %d", i, k);
            cr_assert(eq(u32, n->pus[k][0], (uint32_t)(firsts[i] + k)),
                      "node %d rank %d", i, k);
        }
    }
    pool_local_split_release(&split);
    cr_assert(eq(ptr, split.nodes, NULL));
    /* never more proxies than ranks */
    cr_assert(eq(int, pool_local_split(map, topo, "vm", 20, &split), 0));
    cr_assert(eq(int, split.nnodes, 7));
    pool_local_split_release(&split);
    map_result_destroy(map);
    hwloc_topology_destroy(topo);
}
