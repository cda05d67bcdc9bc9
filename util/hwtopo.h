/* SPDX-License-Identifier: MIT */
/* hwtopo.h - creating an hwloc topology the way every part of shoal wants
 * it: hwloc's `gl` component is never enabled. That component probes the
 * X displays :0 to :9 (a socket connect each) on every load, which costs a
 * daemon tens of milliseconds at start and finds nothing shoal uses.
 * hwtopo_init() returns 0 or a negative errno; on success *topo is
 * initialized but not loaded and the caller destroys it. */
#ifndef SHOAL_UTIL_HWTOPO_H
#define SHOAL_UTIL_HWTOPO_H

#include <hwloc.h>

int hwtopo_init(hwloc_topology_t *topo);

#endif
