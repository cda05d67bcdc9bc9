/* SPDX-License-Identifier: MIT */
/* node_summary.h - what a node tells the pool about itself.
 *
 * Every member of the pool carries a node summary as its membership
 * payload: the host name, the shape of the machine as hwloc sees it (a
 * synthetic description and the counts of packages, NUMA nodes, cores and
 * PUs), its memory and GPUs, a speed score, its load and which of its
 * cores are free. Placement reads it from the pool snapshot; the claims
 * protocol bumps the generation whenever the free set changes.
 *
 * The encoding is binary and big-endian, at most MEMBER_PAYLOAD_MAX bytes:
 *
 *   u8 version (1), u8 flags (0)
 *   u16 length + hostname, u16 length + synthetic description
 *   u32 packages, u32 numa nodes, u32 cores, u32 pus
 *   u64 memory bytes, u32 gpus, u32 speed, u32 load x 1000
 *   u16 length + free cores (a list string, "0-3,6")
 *   u64 claims generation
 *   (version 2) u8 owner state (enum node_owner)
 *
 * A later version appends fields: a decoder reads the fields it knows of
 * any version >= 1 and ignores what follows them, while a version 1
 * message must end where its fields do. The decoder trusts nothing:
 * truncation, bad lengths, unprintable text or a malformed core list give
 * SHOAL_EPROTO, never a crash. Encoding and decoding are pure and
 * thread-safe; collecting reads the machine. */
#ifndef SHOAL_RUNTIME_MEMBER_NODE_SUMMARY_H
#define SHOAL_RUNTIME_MEMBER_NODE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

#include <shoal/error.h>

enum node_summary_limit {
    NODE_SUMMARY_VERSION = 2,
    NODE_SUMMARY_HOSTNAME_MAX = 255,
    NODE_SUMMARY_SYNTHETIC_MAX = 383,
    NODE_SUMMARY_FREE_MAX = 255,
    /* the speed of the reference machine */
    NODE_SUMMARY_SPEED_REF = 1000,
};

/* Whether the node's owner lets it lend its cores (runtime/owner/). A
 * version 1 summary says nothing: NODE_OWNER_UNKNOWN, from a daemon that
 * always lent its cores. A value this decoder does not know (a later
 * state) is kept as it came; node_summary_owner_name() calls it
 * "unknown". */
enum node_owner {
    NODE_OWNER_UNKNOWN = 0,
    NODE_OWNER_DEDICATED = 1, /* always lends */
    NODE_OWNER_AWAY = 2,    /* a workstation lending while its owner is away */
    NODE_OWNER_PRESENT = 3, /* its owner uses it: lends nothing */
    NODE_OWNER_SUSPENDED = 4, /* its owner is back: the jobs here are stopped */
    NODE_OWNER_VACATING = 5,  /* the jobs here are being ended */
    NODE_OWNER_CLOSED = 6,    /* outside its lending window: lends nothing */
};

struct node_summary {
    char hostname[NODE_SUMMARY_HOSTNAME_MAX + 1];
    /* hwloc synthetic description, e.g. "Package:2 Core:4 PU:2" */
    char synthetic[NODE_SUMMARY_SYNTHETIC_MAX + 1];
    uint32_t packages;
    uint32_t numa_nodes;
    uint32_t cores;
    uint32_t pus;
    uint64_t memory_bytes;
    uint32_t gpus;
    uint32_t speed;      /* NODE_SUMMARY_SPEED_REF = the reference */
    uint32_t load_milli; /* 1-minute load average x 1000 */
    /* logical indexes of the free cores, as a list string "0-3,6" */
    char free_cores[NODE_SUMMARY_FREE_MAX + 1];
    uint64_t claims_generation;
    uint8_t owner; /* enum node_owner */
};

/* "dedicated", "away", "present", "suspended", "vacating", "closed", or
 * "unknown" (NODE_OWNER_UNKNOWN and values from later versions; a reader
 * from before "closed" says "unknown" for it, and finds no free core
 * there either); static. */
const char *node_summary_owner_name(uint8_t owner);

/* Fill the topology fields of *summary (synthetic description, counts,
 * memory) from topo, and mark every core free; the other fields are left
 * as they are. A topology hwloc cannot describe as a synthetic string (an
 * asymmetric machine) is described as "Package:1 Core:N PU:M". Returns 0
 * or -ENOMEM. */
int node_summary_from_topology(hwloc_topology_t topo,
                               struct node_summary *summary);

/* Describe this node: the topology of topo_load_allowed(spec, cpus)
 * (spec NULL: the SHOAL_TOPOLOGY tunable of `shoal run`; cpus NULL: all
 * PUs this process may use, else only those), the host name, the GPUs (from
 * hwloc's OS devices when the topology is this system; 0 otherwise), the speed
 * (node_summary_speed()) and the load. Call it before any other topology
 * of the process is loaded: topo_load() keeps hwloc from loading the PCI
 * plugin that finds GPUs. Returns 0, or a negative code with error (may
 * be NULL) filled. */
int node_summary_collect(const char *spec,
                         const char *cpus,
                         struct node_summary *summary,
                         shoal_error_t *error);

/* The speed score of this CPU: the SHOAL_SPEED tunable when set, else a
 * calibrated integer loop run for a few tens of milliseconds, scaled so
 * that the reference machine scores NODE_SUMMARY_SPEED_REF. Returns 0 and
 * sets *speed, or -EINVAL with error filled for a bad SHOAL_SPEED. */
int node_summary_speed(uint32_t *speed, shoal_error_t *error);

/* Set summary->load_milli from the 1-minute load average. Returns 0 or
 * -EIO. */
int node_summary_refresh_load(struct node_summary *summary);

/* Encode summary into buf (size bytes) and set *len. Returns 0, -EINVAL
 * (a string field not NUL-terminated within its limit) or -EMSGSIZE. */
int node_summary_encode(const struct node_summary *summary,
                        void *buf,
                        size_t size,
                        size_t *len);

/* Decode len bytes of buf into *summary. Returns 0, or SHOAL_EPROTO with
 * error (may be NULL) saying what is wrong; *summary is then undefined. */
int node_summary_decode(const void *buf,
                        size_t len,
                        struct node_summary *summary,
                        shoal_error_t *error);

#endif
