/* SPDX-License-Identifier: MIT */
/* pool_place.h - placing a job's ranks on the free cores of a pool.
 *
 * A pure function over a snapshot of the pool, as the home node sees it
 * through membership: every node's id, name, hwloc synthetic topology,
 * free cores, liveness and speed. It chooses and orders the nodes, then
 * lets map_compute() (scheduler/map.h) place the ranks with Open MPI's
 * semantics, each node offering only its free cores (its slots are its
 * free cores, capped by -H slot counts). The answer says, per rank, the
 * node, local rank and cpuset in *logical* PU indexes of that node's
 * topology (the node translates them to its own OS indexes), and per node
 * the cores to claim from it (scheduler/gang.h, scheduler/claim.h).
 *
 * Node order decides which nodes a job fills first:
 *  - with -H/--hostfile, the order of the host list, as Open MPI does;
 *    every name must be a live node of the pool;
 *  - otherwise the home node first (where `shoal run` was typed, as
 *    mpirun puts the local node first), then the fastest nodes (speed
 *    score descending), then by name and id so the order is total and the
 *    same on every node. Faster first because a gang job runs at the pace
 *    of its slowest rank, and a stable order keeps two snapshots of the
 *    same pool giving the same answer.
 * Nodes that are not alive, have no free core, or whose topology string
 * does not load are left out (a named -H host that does not load is an
 * error).
 *
 * An exclusive request (`shoal run --exclusive`, as Slurm's) uses only
 * nodes with every core free, and claims every core of each node it
 * uses, so no other job shares them while it runs; bindings wider than a
 * core are then not clipped. */
#ifndef SHOAL_SCHEDULER_POOL_PLACE_H
#define SHOAL_SCHEDULER_POOL_PLACE_H

#include <stdbool.h>
#include <stdint.h>
#include <hwloc.h>

#include <shoal/error.h>

#include "util/hostlist.h"
#include "scheduler/map.h"

/* Topologies built from synthetic strings, one per distinct string, kept
 * across placements: ten thousand identical nodes cost one topology. */
typedef struct pool_topo_cache pool_topo_cache_t;

/* Create an empty cache. Returns 0 and sets *out (free with
 * pool_topo_cache_destroy()), or -ENOMEM. */
int pool_topo_cache_create(pool_topo_cache_t **out);

/* Free the cache and its topologies; NULL is accepted. */
void pool_topo_cache_destroy(pool_topo_cache_t *cache);

/* The topology of an hwloc synthetic string ("pack:2 core:8 pu:2", as
 * hwloc_topology_export_synthetic() writes it), built on first use.
 * Strings naming files are refused: a peer's record never makes us read
 * one. Returns 0 and sets *topo (borrowed, valid until the cache is
 * destroyed), or SHOAL_ETOPOLOGY with error naming the string, or
 * -ENOMEM. Not thread-safe. */
int pool_topo_cache_get(pool_topo_cache_t *cache,
                        const char *synthetic,
                        hwloc_topology_t *topo,
                        shoal_error_t *error);

/* Number of distinct topologies built so far. */
int pool_topo_cache_size(const pool_topo_cache_t *cache);

/* One node of the snapshot. Everything is borrowed for the call. */
struct place_node {
    uint64_t id;
    const char *name;
    const char *topology;            /* hwloc synthetic string */
    hwloc_const_bitmap_t free_cores; /* logical core indexes; NULL: all */
    bool alive;
    int speed; /* speed score, 1000 = reference machine */
};

struct pool_request {
    struct map_request map;       /* -n, --map-by, --rank-by, --bind-to,
                                   * --oversubscribe, --use-hwthread-cpus */
    const struct hostlist *hosts; /* borrowed; NULL or empty: whole pool */
    uint64_t home;                /* the node `shoal run` was typed on */
    bool exclusive; /* whole nodes only, every core of each claimed */
};

struct pool_rank {
    int node; /* index into the snapshot's node array */
    uint64_t node_id;
    int local_rank;
    hwloc_bitmap_t cpuset; /* logical PU indexes; NULL when not bound */
};

/* The cores a job takes from one node. */
struct pool_claim {
    int node; /* index into the snapshot */
    uint64_t node_id;
    int nranks;
    hwloc_bitmap_t cores; /* logical core indexes, never empty */
};

struct pool_placement {
    int nranks;
    bool oversubscribed;
    struct pool_rank *ranks; /* nranks entries, indexed by MPI rank */
    int nclaims;
    struct pool_claim *claims; /* one per node used, in node order */
};

/* Place req on the nodes[0 .. nnodes) of a snapshot, building topologies
 * through cache. Returns 0 and sets *out (caller frees with
 * pool_placement_destroy()), or a negative code with error filled and
 * *out untouched:
 *  - SHOAL_ENOSLOTS: fewer free slots than ranks (the message says how
 *    many ranks were asked and how many free slots exist);
 *  - SHOAL_ENOHOST: -H names hosts that are not in the pool or not alive
 *    (named in the message);
 *  - SHOAL_ETOPOLOGY: a -H host's topology string does not load;
 *  - -EINVAL: a request map_compute() refuses; -ENOMEM.
 * No busy core (outside free_cores) is ever used or claimed. Time is
 * linear in nodes (n log n for the default order) plus ranks. */
int pool_place(const struct place_node *nodes,
               int nnodes,
               const struct pool_request *req,
               pool_topo_cache_t *cache,
               struct pool_placement **out,
               shoal_error_t *error);

/* Free a placement; NULL is accepted. */
void pool_placement_destroy(struct pool_placement *placement);

#endif
