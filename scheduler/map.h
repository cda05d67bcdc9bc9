/* SPDX-License-Identifier: MIT */
/* map.h - placing a job's ranks on nodes and cores.
 *
 * A pure function over a snapshot: given the nodes (each with its hwloc
 * topology and slot count) and a request in Open MPI's terms (map-by,
 * rank-by, bind-to, PE=n, oversubscribe, use-hwthread-cpus), compute for
 * each rank its node and the cpuset it is bound to. Nothing is applied:
 * the launcher binds, the reporter prints.
 *
 * The semantics are Open MPI's (4.x and PRRTE):
 *  - map-by slot, core, hwthread: fill each node's cores (PUs) in order,
 *    node after node, each node up to its slots;
 *  - map-by numa, package: ranks of a node go round-robin over its NUMA
 *    nodes (packages), each taking the next free core of its object;
 *    objects without CPUs are skipped, a topology without such objects is
 *    one object;
 *  - map-by node: ranks go round-robin over the nodes with slots left;
 *  - ppr:N:node|package|numa: each such object (with PE units) takes N
 *    ranks on consecutive cores, object after object, node after node;
 *    by default as many ranks as that places, never more (even
 *    oversubscribing); without oversubscribe each node's slots must hold
 *    its share; an object of fewer cores than N ranks wraps around them
 *    (oversubscribed); ranks are numbered in placement order (rank-by
 *    slot) unless --rank-by says otherwise;
 *  - :PE=n: each rank takes n consecutive cores (PUs) inside its mapping
 *    object, and is bound to all of them;
 *  - oversubscribing spreads the excess ranks evenly over the nodes and
 *    wraps around their cores;
 *  - rank-by numbers the positions mapping produced: slot in placement
 *    order, core/hwthread along the cores, numa/package round-robin over
 *    those objects (node by node), node round-robin over the nodes;
 *  - bind-to a wider level binds the objects of that level holding the
 *    rank's cores (PUs) (l3cache: the L3 cache; a topology without one
 *    binds the package); bind-to hwthread with PE=n cores is an error, and
 *    ranks sharing a core (oversubscribed) take its PUs in turn;
 *  - an explicit bind-to that puts more ranks on a core (a PU with
 *    bind-to hwthread) than it has PUs is an error unless the binding
 *    says :overload-allowed, as in Open MPI (the default binding leaves
 *    oversubscribed ranks unbound instead);
 *  - a node's max_slots caps the ranks oversubscribing puts there;
 *  - :SPAN with map-by numa or package: the nodes are one machine, ranks
 *    dealt round-robin over the objects of every node (node by node, an
 *    object with no room left skipped) instead of filling a node first,
 *    and numbered in that order (rank-by follows map-by);
 *  - :PE-LIST=LIST: only the cores (PUs with hwthread cpus) whose CPUs
 *    are all in LIST (CPU numbers as the kernel numbers them, "0,2,4-7")
 *    take ranks, on every node, and bindings stay inside LIST.
 * One deliberate difference: without --bind-to, Open MPI 4 binds to the
 * NUMA node or package for map-by numa/package and for more than two
 * ranks; shoal binds to the core (see MAP_BIND_DEFAULT). */
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
    MAP_LEVEL_HWTHREAD, /* as map-by, implies use_hwthread_cpus */
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
    MAP_BIND_L3CACHE,
};

struct map_node {
    const char *name;      /* borrowed */
    hwloc_topology_t topo; /* borrowed */
    int slots;             /* < 0: one per core (per PU with hwthread cpus)
                            * that a rank fits on; 0: none, ranks come here
                            * only if oversubscribing and no node has slots.
                            * A rank of PE=n takes n slots. */
    hwloc_const_cpuset_t allowed; /* borrowed; NULL: every cpu. Otherwise
                                   * only units (cores, or PUs with
                                   * hwthread cpus) wholly inside it are
                                   * used, and bindings are clipped to
                                   * it. Such a node is one of a pool:
                                   * its slots never exceed the ranks its
                                   * allowed units hold, and when they
                                   * cannot hold a rank of PE=n it takes
                                   * no rank instead of failing the
                                   * request. */
    int max_slots; /* > 0: never more ranks of PE=1 than this, even
                    * oversubscribing (a hostfile's max_slots); 0: no cap */
};

/* Room for a :PE-LIST= value, its terminating NUL included. */
#define MAP_PE_LIST_MAX 256

struct map_request {
    int nranks; /* <= 0: one rank per slot of all nodes */
    enum map_level map_by;
    int pe;  /* cpus per rank (":PE=n"); 0 means 1 */
    int ppr; /* ppr:N:map_by: N ranks per object of map_by (node, package,
              * numa); 0 without */
    enum map_level rank_by;
    enum map_bind bind_to;
    bool oversubscribe;            /* allow more ranks than slots */
    bool use_hwthread_cpus;        /* a slot is a PU, not a core */
    bool overload_allowed;         /* bind-to's :overload-allowed */
    char pe_list[MAP_PE_LIST_MAX]; /* map-by's :PE-LIST=, "" without */
    bool span;                     /* map-by's :SPAN */
};

struct map_rank {
    int node;              /* index into the nodes array */
    int local_rank;        /* rank's index among the ranks of its node */
    hwloc_bitmap_t cpuset; /* bound cpuset, owned by the result; NULL when
                            * not bound */
    hwloc_bitmap_t mapped; /* the cpus of the units (PE cores or PUs) the
                            * rank was mapped to, whatever the binding;
                            * owned by the result, never NULL */
};

struct map_result {
    int nranks;
    bool oversubscribed;    /* more ranks than slots, or than cores (PUs),
                             * on some node: some ranks share cpus */
    struct map_rank *ranks; /* nranks entries, indexed by MPI rank */
};

/* Place req->nranks ranks on nodes[0 .. nnodes), each node having a
 * topology (nodes may share one). Returns 0 and sets *out (caller frees
 * with map_result_destroy), or a negative code with error filled and *out
 * untouched: SHOAL_ENOSLOTS when there are more ranks than slots and
 * oversubscribe is off, -EINVAL for a request that cannot be honoured (no
 * nodes, PE larger than the cores of a mapping object, binding narrower
 * than PE=n, ...), -ENOMEM. The result does not refer to the topologies.
 * Only reads its inputs: calls may run concurrently on shared topologies.
 * Time and memory are linear in nodes plus ranks times PE. */
int map_compute(const struct map_node *nodes,
                int nnodes,
                const struct map_request *req,
                struct map_result **out,
                shoal_error_t *error);

/* Free a result; NULL is accepted. */
void map_result_destroy(struct map_result *result);

/* Room for map_policy_names()'s strings, their NUL included. */
#define MAP_POLICY_NAME_MAX 64

/* The request's mapping and binding policies as PRRTE's prterun registers
 * them in a job's PMIx namespace (PMIX_MAPBY, PMIX_BINDTO): mapby is
 * "BYSLOT", "BYHWTHREAD", "BYCORE", "BYNUMA", "BYPACKAGE", "BYNODE",
 * "PPR" or "PE-LIST", followed by ":OVERSUBSCRIBE" when allowed and
 * ":SPAN" when asked; bindto is "NONE", "HWTHREAD", "CORE", "NUMA",
 * "PACKAGE" or "L3CACHE", followed by ":OVERLOAD-ALLOWED" when given.
 * Defaults are resolved as map_compute() does: map-by core (hwthread with
 * hwthread cpus), bind-to core (hwthread) unless the placement was
 * oversubscribed (bound false), then none. Both buffers hold
 * MAP_POLICY_NAME_MAX bytes. Pure. */
void map_policy_names(const struct map_request *req,
                      bool bound,
                      char mapby[MAP_POLICY_NAME_MAX],
                      char bindto[MAP_POLICY_NAME_MAX]);

/* The request's ranking policy as prterun registers it (PMIX_RANKBY):
 * "SLOT", "NODE", "SPAN", "HWTHREAD", "CORE", "NUMA" or "PACKAGE". The
 * default follows the mapping as PRRTE's does: "NODE" for map-by node,
 * "SPAN" with :SPAN, else "SLOT". rankby holds MAP_POLICY_NAME_MAX
 * bytes. Pure. */
void map_rank_policy_name(const struct map_request *req,
                          char rankby[MAP_POLICY_NAME_MAX]);

/* What --map-by says: the level, and its modifiers. */
struct map_by_spec {
    enum map_level level;
    int pe;            /* ":PE=n", 0 without */
    int ppr;           /* "ppr:N:RESOURCE": N, 0 for any other form */
    int oversubscribe; /* ":OVERSUBSCRIBE" 1, ":NOOVERSUBSCRIBE" 0, else -1 */
    char pe_list[MAP_PE_LIST_MAX]; /* ":PE-LIST=LIST", "" without */
    bool span;                     /* ":SPAN" */
};

/* Parse an Open MPI name, in any case, into a level ("slot", "hwthread",
 * "core", "numa", "package", "socket", "node") for --rank-by (no
 * modifier is accepted), or a binding ("none", "hwthread", "core",
 * "l3cache", "numa", "package", "socket") with its ":overload-allowed"
 * modifier (also ",overload-allowed", any case; *overload is set to
 * whether it is there). Open MPI words shoal does not implement (l1cache,
 * l2cache, board, seq, ...) fail with "... is not supported". Return 0,
 * or -EINVAL with error naming the bad word and the outputs untouched. */
int map_level_parse(const char *text,
                    enum map_level *level,
                    shoal_error_t *error);
int map_bind_parse(const char *text,
                   enum map_bind *bind,
                   bool *overload,
                   shoal_error_t *error);

/* --map-by: a level with its modifiers ":PE=n", ":PE-LIST=LIST", ":SPAN",
 * ":OVERSUBSCRIBE" and ":NOOVERSUBSCRIBE" (separated by ':' as PRRTE does
 * or ',' as Open MPI 4 does, any case; LIST's own commas are taken as
 * its), or "ppr:N:RESOURCE[:modifiers]" (RESOURCE node, package, socket
 * or numa). Open MPI modifiers shoal does not implement (NOLOCAL, ...) fail
 * with "... is not supported". Returns 0 with
 * *spec filled, or -EINVAL with error naming the bad word and *spec
 * untouched. */
int map_by_parse(const char *text,
                 struct map_by_spec *spec,
                 shoal_error_t *error);

#endif
