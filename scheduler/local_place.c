/* SPDX-License-Identifier: MIT */
/* local_place.c - the embedded runtime's placement on this machine. */
#include "scheduler/local_place.h"

int local_place_slots(const struct hostlist *hosts,
                      const char *self,
                      int *slots,
                      int *max_slots,
                      shoal_error_t *error)
{
    int n = hosts && hosts->count > 0 ? 0 : -1;
    int max = hosts && hosts->count > 0 ? 0 : -1;

    for (int i = 0; hosts && i < hosts->count; i++) {
        const struct hostlist_entry *e = &hosts->entries[i];
        if (!hostlist_is_local(e->name, self))
            return shoal_errprintf(error, SHOAL_ENOHOST,
                                   "cannot use host '%s': no pool is running, "
                                   "so only this machine ('%s') is available",
                                   e->name, self);
        /* "localhost" and the host's name are the same machine */
        if (e->slots < 0 || n < 0)
            n = -1;
        else
            n += e->slots;
        /* a cap holds only when every mention of this machine has one */
        if (e->max_slots <= 0 || max < 0)
            max = -1;
        else
            max += e->max_slots;
    }
    *slots = n;
    *max_slots = max > 0 ? max : 0;
    return 0;
}

int local_place(const char *self,
                hwloc_topology_t topo,
                int slots,
                int max_slots,
                const struct map_request *req,
                struct map_result **out,
                shoal_error_t *error)
{
    struct map_node node = {
        .name = self, .topo = topo, .slots = slots, .max_slots = max_slots};

    return map_compute(&node, 1, req, out, error);
}

int local_place_block(int nranks, int nnodes, int node, int *first)
{
    int base = nranks / nnodes, extra = nranks % nnodes;

    *first = node * base + (node < extra ? node : extra);
    return base + (node < extra);
}

int local_place_logical_pus(hwloc_topology_t topo,
                            hwloc_const_bitmap_t cpuset,
                            uint32_t *pus,
                            int max)
{
    int pu = -1, n = 0;

    while ((pu = hwloc_bitmap_next(cpuset, pu)) >= 0) {
        hwloc_obj_t o = hwloc_get_pu_obj_by_os_index(topo, (unsigned)pu);
        if (!o)
            continue;
        if (n < max)
            pus[n] = o->logical_index;
        n++;
    }
    return n;
}
