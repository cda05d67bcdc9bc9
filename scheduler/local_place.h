/* SPDX-License-Identifier: MIT */
/* local_place.h - placing a job on this machine alone, as the embedded
 * runtime does when no pool runs (`shoal run` without a daemon).
 *
 * Only this machine can be used: every -H/--hostfile host must name it
 * ("localhost", a loopback address, its host name or that name's first
 * label: util/hostlist.h's hostlist_is_local()), and the slots to map on
 * are the sum of their slot counts, or one per core when no host was
 * given or one was given without a count, as Open MPI counts them. The
 * ranks are then mapped with map_compute() (scheduler/map.h) on the one
 * node. For tests and debugging the ranks may be split among proxies on
 * this machine (SHOAL_PROXY_NODES): in consecutive blocks, the first
 * nranks % nnodes blocks one rank larger, so block sizes differ by at
 * most one, and each rank's cpuset travels as logical PU indexes, as a
 * pool placement's do (scheduler/pool_place.h).
 *
 * Pure functions: no I/O, inputs only read; thread-safe on distinct
 * outputs. */
#ifndef SHOAL_SCHEDULER_LOCAL_PLACE_H
#define SHOAL_SCHEDULER_LOCAL_PLACE_H

#include <stdint.h>
#include <hwloc.h>

#include <shoal/error.h>

#include "scheduler/map.h"
#include "util/hostlist.h"

/* The slots this machine, named self, offers for hosts (NULL or empty:
 * no -H given): sets *slots (< 0: one per core) and *max_slots (the sum
 * of the hosts' max_slots when each has one, else 0: no cap) and returns
 * 0, or returns
 * SHOAL_ENOHOST with error naming the first host that is not this
 * machine ("cannot use host 'x': no pool is running, so only this machine
 * ('self') is available"). */
int local_place_slots(const struct hostlist *hosts,
                      const char *self,
                      int *slots,
                      int *max_slots,
                      shoal_error_t *error);

/* Map req on this machine: one node named self, of topology topo
 * (borrowed), offering slots capped by max_slots (from
 * local_place_slots()). Returns
 * map_compute()'s answer: 0 and *out (free with map_result_destroy()),
 * or SHOAL_ENOSLOTS, -EINVAL or -ENOMEM with error filled. */
int local_place(const char *self,
                hwloc_topology_t topo,
                int slots,
                int max_slots,
                const struct map_request *req,
                struct map_result **out,
                shoal_error_t *error);

/* The ranks of block node (0 .. nnodes-1) when nranks ranks are split in
 * nnodes consecutive blocks (nnodes >= 1): returns its number of ranks and
 * sets *first to its first rank. */
int local_place_block(int nranks, int nnodes, int node, int *first);

/* The logical indexes in topo of the PUs of cpuset (OS indexes), in
 * ascending order: writes at most max of them to pus and returns how many
 * there are (PUs topo does not know are left out). */
int local_place_logical_pus(hwloc_topology_t topo,
                            hwloc_const_bitmap_t cpuset,
                            uint32_t *pus,
                            int max);

#endif
