/* SPDX-License-Identifier: MIT */
/* job_pmix.h - PMIx over a gang job's nodes: the layout of the job that a
 * node's PMIx server registers, and a fence's data carried in the BARRIER
 * frames PMI-1 puts already travel in.
 *
 * A LAUNCH tells a node its own ranks and, for jobs laid out in blocks of
 * consecutive ranks, PMI_process_mapping ("(vector,(node,count,ranks),
 * ...)"), from which every node's ranks follow. A job laid out otherwise is
 * described as this node and one node holding all the other ranks: Open MPI
 * needs its own node's peers exactly; the others only need to be elsewhere.
 * The other nodes are named "shoal-node<N>" (their index in the job): the
 * names only need to differ from each other and from this one.
 *
 * A fence: when every local rank entered it, the node sends its PMIx
 * server's data up as BARRIER_IN puts under keys "pmix.fence.<N>" (base64,
 * in chunks that fit a frame's string); BARRIER_OUT brings the other
 * nodes' puts, and their data, decoded in order, is what completes the
 * fence. One job speaks PMI-1 or PMIx (one MPI library), so one barrier
 * exchange serves both. Pure; thread-safe. */
#ifndef SHOAL_RUNTIME_JOB_JOB_PMIX_H
#define SHOAL_RUNTIME_JOB_JOB_PMIX_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/job/job_wire.h"
#include "runtime/pmix/pmixd.h"

struct job_pmix_layout {
    int nnodes;
    struct pmixd_node *nodes; /* nnodes entries */
    int node_index;           /* this node */
    int *ranks;               /* storage of the nodes' rank lists */
    char **hosts;             /* storage of their names */
};

/* Describe the job: size ranks, mapping as PMI_process_mapping or NULL,
 * this node's name host and index node_index, and its nlocal ranks
 * (global ranks, in local order). Returns 0 (release with
 * job_pmix_layout_release()) or -ENOMEM / -EINVAL (no local rank). */
int job_pmix_layout_init(struct job_pmix_layout *layout,
                         int size,
                         const char *mapping,
                         const char *host,
                         int node_index,
                         const int *local,
                         int nlocal);
void job_pmix_layout_release(struct job_pmix_layout *layout);

/* The key prefix of a fence's puts. */
#define JOB_PMIX_FENCE_KEY "pmix.fence."

/* Encode len bytes of fence data as puts: *kvs (n entries; free with
 * job_pmix_kvs_free()), at least one even for no data. Returns 0 or
 * -ENOMEM. */
int job_pmix_fence_encode(const void *data,
                          size_t len,
                          struct job_kv **kvs,
                          uint32_t *n);
void job_pmix_kvs_free(struct job_kv *kvs, uint32_t n);

/* Decode the fence puts among kvs (others are skipped), in order, into
 * one buffer: *data (caller frees with free(); NULL when *len is 0).
 * Returns 0, -EINVAL for a value that is not base64, or -ENOMEM. */
int job_pmix_fence_decode(const struct job_kv *kvs,
                          uint32_t n,
                          void **data,
                          size_t *len);

#endif
