/* SPDX-License-Identifier: MIT */
/* map.h - placing a job's ranks on nodes and cores.
 *
 * A pure function over a snapshot: given the nodes (each with its hwloc
 * topology and slot count) and a request in Open MPI's terms (map-by,
 * rank-by, bind-to, PE=n, oversubscribe, use-hwthread-cpus), compute for
 * each rank its node and the cpuset it is bound to. Nothing is applied:
 * the launcher binds, the reporter prints. */
#ifndef SHOAL_SCHEDULER_MAP_H
#define SHOAL_SCHEDULER_MAP_H

#include <stdbool.h>
#include <hwloc.h>

#include <shoal/error.h>

/* The level ranks are spread over (map-by) or numbered along (rank-by). */
enum map_level {
    MAP_LEVEL_DEFAULT = 0, /* map-by: core, or hwthread with hwthread cpus;
                            * rank-by: same as map-by */
    MAP_LEVEL_SLOT,
    MAP_LEVEL_HWTHREAD,
    MAP_LEVEL_CORE,
    MAP_LEVEL_NUMA,
    MAP_LEVEL_PACKAGE,
    MAP_LEVEL_NODE,
};

/* What a rank's cpuset is widened to (bind-to). */
enum map_bind {
    MAP_BIND_DEFAULT = 0, /* core (hwthread with hwthread cpus) when not
                           * oversubscribed, none when oversubscribed */
    MAP_BIND_NONE,
    MAP_BIND_HWTHREAD,
    MAP_BIND_CORE,
    MAP_BIND_NUMA,
    MAP_BIND_PACKAGE,
};

struct map_node {
    const char *name;      /* borrowed */
    hwloc_topology_t topo; /* borrowed */
    int slots;             /* < 0: one per core (per PU with hwthread cpus) */
};

struct map_request {
    int nranks;            /* <= 0: one rank per slot of all nodes */
    enum map_level map_by;
    int pe;                /* cpus per rank (":PE=n"); 0 means 1 */
    enum map_level rank_by;
    enum map_bind bind_to;
    bool oversubscribe;    /* allow more ranks than slots */
    bool use_hwthread_cpus; /* a slot is a PU, not a core */
};

struct map_rank {
    int node;               /* index into the nodes array */
    int local_rank;         /* rank's index among the ranks of its node */
    hwloc_bitmap_t cpuset;  /* bound cpuset; NULL when not bound */
};

struct map_result {
    int nranks;
    bool oversubscribed;    /* more ranks than slots on some node */
    struct map_rank *ranks; /* nranks entries, indexed by MPI rank */
};

/* Place req->nranks ranks on nodes. Returns 0 and sets *out (caller frees
 * with map_result_destroy), or a negative code with error filled:
 * SHOAL_ENOSLOTS when there are more ranks than slots and oversubscribe is
 * off, -EINVAL for a request that cannot be honoured (PE larger than the
 * cores of a mapping object, binding narrower than PE=n, ...). */
int map_compute(const struct map_node *nodes, int nnodes,
                const struct map_request *req, struct map_result **out,
                shoal_error_t *error);

/* Free a result; NULL is accepted. */
void map_result_destroy(struct map_result *result);

/* Parse an Open MPI name ("slot", "core", "numa", "package", "socket",
 * "hwthread", "node", "none", ...) into a level or binding, with any
 * ":PE=n" modifier of --map-by returned through pe (may be NULL for
 * rank-by). Return 0 or -EINVAL with error naming the bad word. */
int map_level_parse(const char *text, enum map_level *level, int *pe,
                    shoal_error_t *error);
int map_bind_parse(const char *text, enum map_bind *bind,
                   shoal_error_t *error);

#endif
