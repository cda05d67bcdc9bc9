/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "scheduler/local_place.h"

TestSuite(local_place, .timeout = 30);

static hwloc_topology_t synthetic(const char *description)
{
    hwloc_topology_t topo;

    cr_assert(eq(int, hwloc_topology_init(&topo), 0));
    cr_assert(eq(int, hwloc_topology_set_synthetic(topo, description), 0), "%s",
              description);
    cr_assert(eq(int, hwloc_topology_load(topo), 0), "%s", description);
    return topo;
}

Test(local_place, no_host_given_means_one_slot_per_core)
{
    struct hostlist none = {0};
    shoal_error_t error = {{0}};
    int slots = 42, max_slots = 0;

    cr_assert(
        eq(int, local_place_slots(NULL, "vm", &slots, &max_slots, &error), 0));
    cr_assert(eq(int, slots, -1));
    slots = 42;
    cr_assert(
        eq(int, local_place_slots(&none, "vm", &slots, &max_slots, &error), 0));
    cr_assert(eq(int, slots, -1));
}

Test(local_place, local_names_add_their_slots)
{
    struct hostlist_entry e[] = {
        {.name = "localhost", .slots = 2},
        {.name = "vm", .slots = 3},
        {.name = "127.0.0.1", .slots = 1},
    };
    struct hostlist hosts = {.entries = e, .count = 3};
    shoal_error_t error = {{0}};
    int slots = 0, max_slots = 0;

    cr_assert(
        eq(int, local_place_slots(&hosts, "vm", &slots, &max_slots, &error), 0),
        "%s", error.text);
    cr_assert(eq(int, slots, 6));
    /* a host without a count: one slot per core */
    e[1].slots = -1;
    cr_assert(eq(
        int, local_place_slots(&hosts, "vm", &slots, &max_slots, &error), 0));
    cr_assert(eq(int, slots, -1));
}

Test(local_place, another_host_is_refused_by_name)
{
    struct hostlist_entry e[] = {
        {.name = "localhost", .slots = 2},
        {.name = "node12", .slots = 2},
    };
    struct hostlist hosts = {.entries = e, .count = 2};
    shoal_error_t error = {{0}};
    int slots = 7, max_slots = 0;

    cr_assert(eq(int,
                 local_place_slots(&hosts, "vm", &slots, &max_slots, &error),
                 SHOAL_ENOHOST));
    cr_assert(eq(str, error.text,
                 "cannot use host 'node12': no pool is running, so only "
                 "this machine ('vm') is available"));
    cr_assert(eq(int, slots, 7), "slots changed on failure");
}

Test(local_place, ranks_go_on_this_machine_bound_to_cores)
{
    hwloc_topology_t topo = synthetic("pack:1 core:4 pu:2");
    struct map_request req = {.nranks = 4};
    struct map_result *map = NULL;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, local_place("vm", topo, -1, 0, &req, &map, &error), 0),
              "%s", error.text);
    cr_assert(eq(int, map->nranks, 4));
    for (int r = 0; r < 4; r++) {
        cr_assert(eq(int, map->ranks[r].node, 0), "rank %d", r);
        cr_assert(eq(int, map->ranks[r].local_rank, r));
        cr_assert(not(eq(ptr, map->ranks[r].cpuset, NULL)), "rank %d", r);
        cr_assert(eq(int, hwloc_bitmap_weight(map->ranks[r].cpuset), 2),
                  "rank %d", r);
    }
    map_result_destroy(map);
    hwloc_topology_destroy(topo);
}

Test(local_place, more_ranks_than_slots_names_this_machine)
{
    hwloc_topology_t topo = synthetic("pack:1 core:2 pu:1");
    struct map_request req = {.nranks = 3};
    struct map_result *map = NULL;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, local_place("vm", topo, -1, 0, &req, &map, &error),
                 SHOAL_ENOSLOTS));
    cr_assert(not(eq(ptr, strstr(error.text, "'vm'"), NULL)), "%s", error.text);
    cr_assert(eq(ptr, map, NULL));
    req.oversubscribe = true;
    cr_assert(eq(int, local_place("vm", topo, -1, 0, &req, &map, &error), 0),
              "%s", error.text);
    cr_assert(eq(int, map->nranks, 3));
    map_result_destroy(map);
    hwloc_topology_destroy(topo);
}

Test(local_place, blocks_are_consecutive_and_differ_by_one_at_most)
{
    static const int sizes[] = {3, 2, 2}, firsts[] = {0, 3, 5};
    int first = -1;

    for (int i = 0; i < 3; i++) {
        cr_assert(eq(int, local_place_block(7, 3, i, &first), sizes[i]),
                  "block %d", i);
        cr_assert(eq(int, first, firsts[i]), "block %d", i);
    }
    cr_assert(eq(int, local_place_block(4, 4, 3, &first), 1));
    cr_assert(eq(int, first, 3));
    cr_assert(eq(int, local_place_block(5, 1, 0, &first), 5));
    cr_assert(eq(int, first, 0));
}

Test(local_place, cpusets_travel_as_logical_pus)
{
    hwloc_topology_t topo = synthetic("pack:2 core:2 pu:2");
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    uint32_t pus[8] = {0};

    hwloc_bitmap_set(set, 2);
    hwloc_bitmap_set(set, 3);
    hwloc_bitmap_set(set, 100); /* not in the topology: left out */
    cr_assert(eq(int, local_place_logical_pus(topo, set, pus, 8), 2));
    cr_assert(eq(u32, pus[0], 2));
    cr_assert(eq(u32, pus[1], 3));
    /* a short array gets what fits, and the count of them all */
    memset(pus, 0, sizeof(pus));
    cr_assert(eq(int, local_place_logical_pus(topo, set, pus, 1), 2));
    cr_assert(eq(u32, pus[0], 2));
    cr_assert(eq(u32, pus[1], 0));
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
}
