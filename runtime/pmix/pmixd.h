/* SPDX-License-Identifier: MIT */
/* pmixd.h - a PMIx server for the ranks this process starts, on OpenPMIx.
 *
 * Open MPI (and any PMIx client) wires up through PMIx, not PMI-1. This
 * module serves it with the OpenPMIx server library (PMIx_server_init and
 * its server module): it never speaks the PMIx wire protocol itself. Each
 * rank gets PMIx and PMI-1 side by side (PMIX_* and PMI_FD in its
 * environment), and its MPI library takes the one it speaks.
 *
 * One PMIx server per process (OpenPMIx allows a single PMIx_server_init):
 * it is started by the first pmixd_job_create() and lives until the process
 * exits, in a directory of its own, ${TMPDIR:-/tmp}/shoal-pmix.PID, which
 * holds its rendezvous socket and the jobs' tmpdirs. The directory is
 * removed at exit; one left by a process that crashed is removed by the
 * next server that starts, once its PID is gone.
 *
 * A job is one PMIx namespace: the job-level, node-level and per-rank
 * information Open MPI reads (sizes, local peers, node and process maps as
 * PMIx regexes, local and node ranks, hostnames, locality strings and
 * cpusets of the binding applied, tmpdirs, map-by, bind-to and rank-by) is
 * registered when it is created. The owner then asks for each local rank's
 * environment before spawning it: OpenPMIx's, plus the Open MPI settings
 * a launcher gives (OMPI_MCA_schizo, so that Open MPI 4.1 takes the PMIx
 * server, and OMPI_MCA_mtl leaving out the PSM components where their
 * devices are missing: pmixd.c says why).
 *
 * Threading: OpenPMIx calls the server module from its own progress
 * thread. What the owner must act on (a client connected, finalized, an
 * abort, a fence this node entered) is queued and delivered through a
 * uv_async on the owner's loop, so every ops callback runs on the loop
 * thread. pmixd_job_* calls are made from the loop thread only.
 *
 * Fences: a fence of ranks all on this node is answered by OpenPMIx
 * itself, with no call to the host. Otherwise, when every local rank of
 * the job has entered a fence, OpenPMIx hands this node's collected data
 * to the host. With ops->fence NULL (one node holds the whole job) it is
 * handed straight back. Otherwise
 * ops->fence gets a copy, the owner exchanges it with the job's other
 * nodes, and pmixd_job_fence_release() completes the fence with every
 * other node's data. Only one fence is pending at a time, and every fence
 * is taken as one over the whole job (what Open MPI's MPI_Init and
 * MPI_Finalize do).
 *
 * Names (PMIx_Publish, _Lookup, _Unpublish: MPI_Publish_name and its
 * kin) are the job's, whatever range a rank asks for (pubsub.h): with
 * ops->names NULL this server keeps them; otherwise each request goes to
 * ops->names, the owner carries it to the one table of the job (its
 * coordinator's) and answers with pmixd_job_names_reply(). A value
 * travels as text: its publisher's rank, ':', and the value as OpenPMIx
 * packs it, in hex.
 *
 * Job control (PMIx_Job_control) maps to what shoal does to a job:
 * PMIX_JOB_CTRL_SIGNAL signals the named ranks of the job (or all),
 * PMIX_JOB_CTRL_KILL and _TERMINATE end it whole. Other directives, and
 * targets outside the job, are refused.
 *
 * Direct modex (a rank asks for the data a rank on another node
 * committed, before or without a fence that brings it: Open MPI's
 * asynchronous modex, PMIx_Get of a peer's key): OpenPMIx calls the
 * server module's direct_modex on the asking rank's node; with
 * ops->dmodex NULL (one node holds the whole job) it is refused.
 * Otherwise ops->dmodex carries the request (an id and the rank) to the
 * node running the rank, whose owner calls pmixd_job_dmodex_serve():
 * OpenPMIx's PMIx_server_dmodex_request() there waits until the rank has
 * committed its data, and hands the blob to ops->dmodex_served, which
 * the owner carries back; pmixd_job_dmodex_reply() completes the asking
 * rank's request with it (or with an error: the rank is gone, ...). A
 * request with PMIX_TIMEOUT fails with PMIX_ERR_TIMEOUT once it is up,
 * whatever the other node does; a reply after that is dropped. What
 * still waits when the job is destroyed fails (PMIX_ERR_LOST_CONNECTION).
 *
 * Not served (the client gets PMIX_ERR_NOT_SUPPORTED): spawn (so
 * MPI_Comm_spawn fails) and connect/disconnect between namespaces. */
#ifndef SHOAL_RUNTIME_PMIX_PMIXD_H
#define SHOAL_RUNTIME_PMIX_PMIXD_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <hwloc.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/pmix/pubsub.h"

typedef struct pmixd_job pmixd_job_t;

/* A names request of a local rank, for the owner to carry to the job's
 * table (pubsub_serve() there) and answer. */
struct pmixd_names_req {
    uint32_t id; /* for pmixd_job_names_reply() */
    enum pubsub_op op;
    int rank;  /* the global rank asking */
    bool wait; /* LOOKUP: until every key is published (PMIX_WAIT) */
    size_t n;
    /* PUBLISH: keys and values; LOOKUP, UNPUBLISH: keys (values NULL) */
    const struct pubsub_name *names;
};

struct pmixd_job_ops {
    /* A local rank called PMIx_Abort: the job must end with status. msg
     * is the rank's text (borrowed for the call; may be ""). Required. */
    void (*abort)(int rank, int status, const char *msg, void *arg);
    /* Every local rank entered a fence; data (len bytes, possibly 0) is
     * this node's contribution, borrowed for the call. The owner calls
     * pmixd_job_fence_release() once every node's data is in. NULL: one
     * node, the fence completes at once. */
    void (*fence)(pmixd_job_t *job, const void *data, size_t len, void *arg);
    /* A local rank's names request (borrowed for the call). NULL: the job
     * is on one node and its names are kept here. */
    void (*names)(pmixd_job_t *job,
                  const struct pmixd_names_req *req,
                  void *arg);
    /* A local rank asked (PMIx_Job_control) that the job's ranks targets
     * (ntargets of them; NULL: every rank) get signal signo, or, signo 0,
     * that the job be killed. NULL: refused. */
    void (*control)(
        int rank, int signo, const int *targets, int ntargets, void *arg);
    /* A local rank asked for the data of rank (of the job, not wildcard):
     * the owner carries the request to the node running it and answers
     * with pmixd_job_dmodex_reply(job, id, ...). NULL: one node holds the
     * whole job, and such a request is refused. */
    void (*dmodex)(pmixd_job_t *job, uint32_t id, int rank, void *arg);
    /* The request pmixd_job_dmodex_serve(job, id, rank) took is answered:
     * status 0 and the rank's data (len bytes, borrowed for the call), or
     * a negative code. Required with dmodex. */
    void (*dmodex_served)(pmixd_job_t *job,
                          uint32_t id,
                          int rank,
                          int status,
                          const void *data,
                          size_t len,
                          void *arg);
};

/* One node of the job: its name and the global ranks it runs. */
struct pmixd_node {
    const char *host;
    int nranks;
    const int *ranks;
};

struct pmixd_job_config {
    uv_loop_t *loop;
    /* the namespace, the same on every node of the job (Open MPI derives
     * its job id from it), at most 255 characters; NULL for a new one
     * ("shoal.PID.N") for a job on one node */
    const char *nspace;
    int size;          /* ranks in the job */
    int universe_size; /* PMIX_UNIV_SIZE; 0 for size */
    int nnodes;
    const struct pmixd_node *nodes; /* nnodes entries, every node */
    int node_index;                 /* this node, in nodes */
    /* the binding of each local rank, in the order of nodes[node_index]
     * .ranks (NULL entry = unbound), or NULL for none bound */
    cpu_set_t *const *cpus;
    /* the user the ranks run as (the server checks each client's), when
     * not this process's: its uid and gid, and as_user true */
    bool as_user;
    uid_t uid;
    gid_t gid;
    /* this machine's topology as the owner loaded it (borrowed for the
     * call), handed to the clients when it is this machine's and the
     * server starts now; NULL: the server loads its own */
    hwloc_topology_t topology;
    const char *mapby;  /* PMIX_MAPBY, or NULL */
    const char *bindto; /* PMIX_BINDTO, or NULL */
    const char *rankby; /* PMIX_RANKBY, or NULL */
};

/* The version of the OpenPMIx library ("OpenPMIx 4.2.2 ..."), borrowed. */
const char *pmixd_version(void);

/* Start this process's PMIx server if it is not running, and register a
 * new namespace for the job. Config is copied. Returns 0 and sets *out,
 * or a negative code with error filled (-EINVAL for a bad config, -EIO
 * when OpenPMIx refuses, naming its status). The caller destroys it. */
int pmixd_job_create(const struct pmixd_job_config *config,
                     const struct pmixd_job_ops *ops,
                     void *arg,
                     pmixd_job_t **out,
                     shoal_error_t *error);

/* Close the job's handle on the loop (before the loop is closed); the
 * loop must run once before pmixd_job_destroy(). NULL accepted. With
 * SHOAL_PMIX_TIMES set (a file name) when the job was created, its times
 * are appended to that file now, as one JSON line: "created" (the
 * namespace registered), "connect_first", "connect_last", "finalize_last"
 * and "closed" in CLOCK_MONOTONIC seconds (0: did not happen),
 * "connected" and "finalized" (how many ranks), and "fences": [in, out]
 * for each of the first four fences (every local rank in; released). */
void pmixd_job_close(pmixd_job_t *job);

/* Deregister the job's namespace and remove its tmpdir; NULL accepted.
 * Only once none of its ranks runs, after pmixd_job_close() and a turn of
 * the loop. */
void pmixd_job_destroy(pmixd_job_t *job);

/* Register the local rank at index (in nodes[node_index].ranks) as a
 * client and make the environment it needs to connect: *env is a
 * NULL-terminated "VAR=value" array (free it with pmixd_env_free()).
 * Returns 0 or a negative code with error filled. */
int pmixd_job_rank_env(pmixd_job_t *job,
                       int index,
                       char ***env,
                       shoal_error_t *error);
void pmixd_env_free(char **env);

/* Complete the pending fence: data (len bytes) is the other nodes' data,
 * their contributions one after the other. Returns 0, or -EINVAL with
 * error filled when no fence is pending. */
int pmixd_job_fence_release(pmixd_job_t *job,
                            const void *data,
                            size_t len,
                            shoal_error_t *error);

/* Answer the names request id: status 0 or a negative code (-ENOENT,
 * -EEXIST, ... as pubsub_serve() gives); for a LOOKUP, names (n) are
 * what was found, values as ops->names got them. Returns 0, or -EINVAL
 * with error filled when no such request waits. */
int pmixd_job_names_reply(pmixd_job_t *job,
                          uint32_t id,
                          int status,
                          const struct pubsub_name *names,
                          size_t n,
                          shoal_error_t *error);

/* Complete the direct modex request id (ops->dmodex): status 0 and the
 * rank's data (len bytes, copied), or a negative code (-ESRCH: the rank
 * is gone; -ETIMEDOUT; ...). Returns 0, or -ENOENT when no such request
 * waits (it timed out already: not an error of the caller's). */
int pmixd_job_dmodex_reply(
    pmixd_job_t *job, uint32_t id, int status, const void *data, size_t len);

/* Ask OpenPMIx for the data of rank, one of this node's, for another
 * node: ops->dmodex_served(job, id, rank, ...) gets it once the rank has
 * committed it (it waits until then). Returns 0, or a negative code with
 * error filled (-EINVAL: not a rank of this node; -EIO: OpenPMIx refused)
 * and ops->dmodex_served is not called. */
int pmixd_job_dmodex_serve(pmixd_job_t *job,
                           uint32_t id,
                           int rank,
                           shoal_error_t *error);

/* Deliver now what the PMIx thread queued (so that a rank's finalize or
 * abort is known before its exit is judged). */
void pmixd_job_poll(pmixd_job_t *job);

/* Whether the local rank at index has connected (PMIx_Init) / finalized. */
bool pmixd_job_rank_connected(const pmixd_job_t *job, int index);
bool pmixd_job_rank_finalized(const pmixd_job_t *job, int index);

#endif
