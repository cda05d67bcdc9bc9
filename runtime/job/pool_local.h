/* SPDX-License-Identifier: MIT */
/* pool_local.h - a gang job over proxies on this machine: the minimal
 * transport for pool_job, without the pool's daemons.
 *
 * Each node of the job is a real `shoal proxy` process started here on a
 * socketpair (its fd 0), so every job frame crosses a process boundary as
 * it will between hosts; only the relays are missing. `shoal run` uses it
 * when SHOAL_PROXY_NODES is set, for tests and debugging. */
#ifndef SHOAL_RUNTIME_JOB_POOL_LOCAL_H
#define SHOAL_RUNTIME_JOB_POOL_LOCAL_H

#include <hwloc.h>

#include "runtime/job/local_job.h"
#include "runtime/job/pool_job.h"
#include "scheduler/map.h"

/* The same job for pool_job as local (borrowed: its strings and arrays
 * are pointed to, not copied) would be for local_job: program, arguments,
 * environment, directory, output, limits and the three fds, the job's
 * size. The nodes, the loop and the job id are left zero, for the caller
 * (the host and the cpus of local have no place in it). */
void pool_local_config(const struct local_job_config *local,
                       struct pool_job_config *out);

/* A job mapped on this machine, split among local proxies as the nodes of
 * a pool job: nodes[0 .. nnodes) for pool_job_config, each named
 * "HOST:i", holding a block of consecutive ranks (scheduler/local_place.h)
 * with their cpusets as logical PUs. The rest is the nodes' storage. */
struct pool_local_split {
    int nnodes;
    struct pool_job_node *nodes;
    int nranks;
    char **names;
    int *ranks;
    uint32_t **pus;
    uint32_t *npus;
};

/* Split map (of topo, the machine named host; both borrowed for the
 * call) among nnodes proxies, at most one per rank. Returns 0 and fills
 * *out (release with pool_local_split_release()), or -ENOMEM (out needs
 * no release then). */
int pool_local_split(const struct map_result *map,
                     hwloc_topology_t topo,
                     const char *host,
                     int nnodes,
                     struct pool_local_split *out);

/* Free what pool_local_split() allocated; accepts a zeroed struct. */
void pool_local_split_release(struct pool_local_split *split);

/* Run the job described by config (its loop is ignored: pool_local makes
 * its own) with one proxy per node, started as proxy_argv (NULL-terminated,
 * e.g. {"/path/shoal", "proxy", NULL}). Returns 0 when the job ran (result
 * says how it ended) or a negative code with error filled; every proxy has
 * exited when it returns. Installs signal handlers (via pool_job) for the
 * duration; not reentrant. */
int pool_local_run(const struct pool_job_config *config,
                   char *const *proxy_argv,
                   struct pool_job_result *result,
                   shoal_error_t *error);

#endif
