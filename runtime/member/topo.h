/* SPDX-License-Identifier: MIT */
/* topo.h - loading a node's hardware topology with hwloc.
 *
 * SHOAL_TOPOLOGY makes this machine look like another one, for placement and
 * reporting: an hwloc synthetic description ("package:2 numa:2 core:4 pu:2")
 * or the path of an hwloc XML file. Such a topology is not this system, so
 * bindings computed on it are reported but cannot be applied. */
#ifndef SHOAL_RUNTIME_MEMBER_TOPO_H
#define SHOAL_RUNTIME_MEMBER_TOPO_H

#include <stdbool.h>
#include <hwloc.h>

#include <shoal/error.h>

/* Load a topology. spec is NULL or "" for this machine, a path to an XML
 * file (it contains '/' or ends in ".xml"), or else a synthetic string.
 * Returns 0 and sets *out (caller frees with hwloc_topology_destroy), or a
 * negative code with error filled naming spec (SHOAL_ETOPOLOGY).
 *
 * To keep `shoal run` quick the topology holds only what placement uses:
 * machine, packages, dies, groups, NUMA nodes, cores and PUs. Caches, I/O
 * devices (PCI, GPUs, NICs) and Misc objects are filtered out; code that
 * needs them loads its own topology. */
int topo_load(const char *spec, hwloc_topology_t *out, shoal_error_t *error);

/* Load this machine's topology as a process whose cpuset allows the PUs
 * in the list allowed (OS indexes, "0-3,8") sees it, whatever the cpuset
 * of the caller: a proxy moved into its job's cgroup sees the machine as
 * its daemon does, so the logical indexes of a placement mean the same
 * PUs. allowed NULL: as topo_load(spec). With a spec (not this machine),
 * allowed is ignored. Returns as topo_load(); a bad list is -EINVAL. */
int topo_load_allowed(const char *spec,
                      const char *allowed,
                      hwloc_topology_t *out,
                      shoal_error_t *error);

/* Whether bindings on topo can be applied to processes here: false for
 * synthetic and XML topologies. */
bool topo_is_this_system(hwloc_topology_t topo);

#endif
