/* SPDX-License-Identifier: MIT */
/* hwtopo.c - hwloc topologies without the `gl` component (see hwtopo.h). */
#include <errno.h>

#include <hwloc.h>

#include "util/hwtopo.h"

int hwtopo_init(hwloc_topology_t *topo)
{
    if (hwloc_topology_init(topo) < 0)
        return errno ? -errno : -ENOMEM;
    /* hwloc >= 2.1 (configure checks it). It fails (EINVAL) only when no
     * component of that name is registered: hwloc's plugin for it is not
     * installed, or HWLOC_PLUGINS_BLACKLIST kept it unloaded, and then
     * there is nothing to keep off. */
    (void)hwloc_topology_set_components(
        *topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
    return 0;
}
