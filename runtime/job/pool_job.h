/* SPDX-License-Identifier: MIT */
/* pool_job.h - the coordinator of one gang job over several nodes.
 *
 * `shoal run` drives a job whose ranks run on N nodes, each node's share
 * run by a proxy (runtime/job/node_job.h). pool_job does no transport I/O: it
 * hands each frame for node i to ops->send, and the owner feeds it every
 * frame received from node i (pool_job_input) and tells it when node i is
 * lost or its link closed (pool_job_node_lost). So the same coordinator
 * runs over local socketpairs (runtime/job/pool_local.h) or the pool's daemons.
 *
 * It behaves as local_job does, job-wide: output is written as the user
 * asked (tags "[rank] ", --output-filename's DIR/1/rank.N/), our stdin goes
 * to the node of rank 0, PMI barriers are merged (every node's BARRIER_IN
 * awaited, each node sent BARRIER_OUT with the other nodes' puts), the
 * first failing rank decides the exit status (its status, 128+signal, the
 * MPI_Abort code, 124 on timeout, 1 for runtime errors) and the other
 * nodes are sent KILL (SIGTERM, SIGKILL after the grace), unless
 * enable_recovery. SIGINT/SIGTERM/SIGHUP end the job (128+signal; a second
 * one kills at once); SIGUSR1, SIGUSR2 and SIGCONT are forwarded; SIGTSTP
 * stops the ranks and then this process.
 *
 * A node whose owner came back sends HOLD (runtime/job/gangd.h): while any
 * node holds, every node is sent SIGNAL SIGSTOP (a node that starts
 * later too), so that no rank waits on a stopped peer and times out;
 * when the last one lets go (or is lost or done), SIGCONT.
 *
 * A lost node fails the job with status 1 and the message "node 'NAME' was
 * lost; ranks R1,R2 on it are gone"; the other nodes are sent KILL and
 * awaited (their DONE) for at most the grace period plus 10 seconds, after
 * which those still silent are given up as lost too. A node that cannot
 * restore a rank's checkpoint version (SPAWN_FAILED -ENODATA: no copy
 * left anywhere) ends the job as a lost node would, and that version is
 * dropped from ckpt_copies, so a restart starts from an older one. */
#ifndef SHOAL_RUNTIME_JOB_POOL_JOB_H
#define SHOAL_RUNTIME_JOB_POOL_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include <shoal/error.h>
#include "runtime/job/ckpt_copies.h"
#include "runtime/job/local_job.h"

typedef struct pool_job pool_job_t;

struct pool_job_ops {
    /* Send one encoded job frame (borrowed for the call; the transport
     * adds its own framing) to node, reliably and in order. Returns 0 or a
     * negative errno; a failure is not retried (the owner should report
     * the node lost). Required. */
    int (*send)(int node, const uint8_t *frame, size_t len, void *arg);
    /* Every node sent DONE or was lost: the job is over and pool_job's
     * handles are closing; the owner closes its transport. Called once,
     * from the loop or from pool_job_node_lost(). Required. */
    void (*finished)(void *arg);
};

struct pool_job_node {
    const char *name; /* for messages */
    int nranks;
    const int *ranks; /* global ranks, in local rank order */
    /* binding of each rank as logical PU indexes in that node's topology:
     * npus[i] entries at pus[i]; NULL (or npus[i] 0) for unbound */
    const uint32_t *const *pus;
    const uint32_t *npus;
};

struct pool_job_config {
    uv_loop_t *loop;
    uint64_t job_id;
    int nranks; /* the whole job */
    int nnodes;
    const struct pool_job_node *nodes;
    const char *path;  /* resolved program (on every node) */
    char *const *argv; /* NULL-terminated */
    char *const *env;  /* -x list, NULL-terminated, or NULL */
    const char *wdir;  /* or NULL */
    bool tag_output;
    const char *output_dir; /* or NULL */
    /* where each rank's counters (its RANK_EXIT's) are appended, as
     * DIR/papi.rank.N (`shoal run --counters-dir`), or NULL: dropped */
    const char *counters_dir;
    double timeout; /* seconds; 0 for none */
    double kill_grace;
    bool enable_recovery;
    /* the job's PMIx mapping and binding policies, sent with each LAUNCH
     * (map_policy_names()), or NULL */
    const char *mapby;
    const char *bindto;
    const char *rankby;    /* PMIX_RANKBY (map_rank_policy_name()), or NULL */
    const char *ckpt_root; /* the job's checkpoints, or NULL (ckpt_watch.h) */
    struct ckpt_watch_auto ckpt_auto; /* --checkpoint=auto, or mtbf 0 */
    /* node-local checkpoints (ckpt_copies.h): the table of durable
     * versions, borrowed and updated from CKPT_COPIES (each advance of
     * the job's version is sent to every node as CKPT_KEEP; ckpt_root is
     * then not watched); and the version this run restores (0 none),
     * whose holders each LAUNCH names. NULL for a shared directory. */
    ckpt_copies_t *ckpt_copies;
    int ckpt_restore;
    /* what the user should hear while the job runs (the owner of a node
     * stopped the job, or let it go on), one line without newline; NULL:
     * nothing is said */
    void (*notice)(const char *text, void *arg);
    void *notice_arg;
    /* --report-bindings: where each node's STARTED bindings are printed,
     * one line per rank as on one machine ("[node] rank R bound to PUs
     * LIST (cpuset MASK)"); from a node that sends none, the placement's
     * PUs (its logical indexes); NULL: not printed */
    FILE *report_bindings;
    int in_fd; /* forwarded to rank 0; -1 for none */
    int out_fd;
    int err_fd;
};

struct pool_job_result {
    int status;            /* what the launcher exits with */
    enum job_end end;      /* why (runtime/job/local_job.h) */
    int nranks;            /* ranks the job had */
    shoal_error_t message; /* why the job failed; empty when it did not */
};

/* Create the coordinator. All of config is borrowed and must outlive the
 * job. Returns 0 and sets *out, or a negative errno with error filled
 * (bad config, an output file that cannot be created). */
int pool_job_create(const struct pool_job_config *config,
                    const struct pool_job_ops *ops,
                    void *arg,
                    pool_job_t **out,
                    shoal_error_t *error);

/* Send LAUNCH to every node, start watching signals, the timeout and our
 * stdin. Returns 0 or a negative errno with error filled (a LAUNCH that
 * cannot be sent is reported as that node lost, not as an error). */
int pool_job_start(pool_job_t *job, shoal_error_t *error);

/* A frame received from node (borrowed for the call). A malformed or
 * unexpected frame fails the job (status 1) and is returned as
 * SHOAL_EPROTO; the owner may keep feeding. */
int pool_job_input(pool_job_t *job, int node, const uint8_t *frame, size_t len);

/* Why a node is gone for a job, as the user is told. */
enum pool_job_loss {
    POOL_JOB_LOST_NODE,  /* its host died or left, or its link closed */
    POOL_JOB_LOST_PROXY, /* its proxy ended early; the node itself is up */
};

/* Node is gone (its host died) or its link closed. Harmless after the
 * node sent DONE; else the job fails as described above. */
void pool_job_node_lost(pool_job_t *job, int node);

/* The same, saying why. */
void pool_job_node_lost_why(pool_job_t *job, int node, enum pool_job_loss why);

/* How the job ended; valid once ops->finished was called. */
const struct pool_job_result *pool_job_result(const pool_job_t *job);

/* Free the job; NULL is accepted. Only after ops->finished and a uv_run()
 * that ran the close callbacks. */
void pool_job_destroy(pool_job_t *job);

#endif
