/* SPDX-License-Identifier: MIT */
/* local_job.h - the embedded single-node runtime: run every rank of one job
 * on this machine and supervise it to the end.
 *
 * It starts the ranks bound and wired up (a PMI-1 server on one socket per
 * rank), forwards their output (optionally tagged or into per-rank files)
 * and stdin (to rank 0), forwards signals, enforces a timeout, and ends the
 * job as Open MPI does: the first rank to fail sets the exit status and the
 * others are terminated (SIGTERM, then SIGKILL after a grace period). No
 * process of the job is left when local_job_run() returns. */
#ifndef SHOAL_RUNTIME_JOB_LOCAL_JOB_H
#define SHOAL_RUNTIME_JOB_LOCAL_JOB_H

#include <hwloc.h>
#include <sched.h>
#include <stdbool.h>

#include <shoal/error.h>

#include "runtime/job/ckpt_watch.h"

/* Exit statuses of a job that did not end by its ranks' own choice. */
enum local_job_status {
    LOCAL_JOB_STATUS_ERROR = 1,     /* runtime error (bad PMI message ...) */
    LOCAL_JOB_STATUS_TIMEOUT = 124, /* --timeout expired, as timeout(1) */
    LOCAL_JOB_STATUS_SIGNALED = 128 /* + the signal the runtime received */
};

/* Why a job ended, for a launcher deciding whether to run it again (a
 * rank that crashed or a lost node may be worth a restart; a program that
 * cannot be found, a timeout or the user's ^C are not). */
enum job_end {
    JOB_END_OK = 0,      /* every rank exited 0 */
    JOB_END_RANK_FAILED, /* a rank exited non-zero, was killed, aborted, or
                            exited without finalizing */
    JOB_END_NODE_LOST,   /* a node of the job, or its proxy, was lost */
    JOB_END_TIMEOUT,     /* --timeout expired */
    JOB_END_INTERRUPTED, /* the launcher was told to stop (SIGINT...) */
    JOB_END_ERROR,       /* the runtime failed: spawn, protocol, memory */
    JOB_END_VACATED,     /* a rank ended on a node its owner took back */
};

struct local_job_config {
    const char *host; /* this node's name, for messages */
    int nranks;
    const char *path;       /* resolved program */
    char *const *argv;      /* NULL-terminated program arguments */
    char *const *env;       /* NULL-terminated "VAR=value" to add, or NULL */
    const char *wdir;       /* or NULL */
    cpu_set_t *const *cpus; /* nranks entries (NULL = unbound), or NULL */
    /* the topology the ranks were placed on (borrowed for the run), for
     * the PMIx server to copy rather than load again; or NULL */
    hwloc_topology_t topology;
    /* the job's mapping and binding policies for PMIx (PMIX_MAPBY,
     * PMIX_BINDTO: map_policy_names()), or NULL */
    const char *mapby;
    const char *bindto;
    const char *rankby;     /* PMIX_RANKBY (map_rank_policy_name()), or NULL */
    bool tag_output;        /* prefix output lines with "[rank] " */
    const char *output_dir; /* DIR/1/rank.N/{stdout,stderr}, or NULL */
    /* each rank's counters file is DIR/papi.rank.N (its
     * SHOAL_RANK_COUNTERS, env.h), or NULL: none is given */
    const char *counters_dir;
    double timeout;        /* seconds; 0 for none */
    double kill_grace;     /* seconds between SIGTERM and SIGKILL */
    bool enable_recovery;  /* keep other ranks running on a failure */
    const char *ckpt_root; /* the job's checkpoints (SHOAL_CKPT_ROOT),
                              whose KEEP files it advances; or NULL */
    struct ckpt_watch_auto ckpt_auto; /* --checkpoint=auto, or mtbf 0 */
    int in_fd;                        /* forwarded to rank 0 */
    int out_fd;                       /* where the ranks' stdout goes */
    int err_fd;                       /* where the ranks' stderr goes */
};

struct local_job_result {
    int status;            /* what the launcher exits with */
    enum job_end end;      /* why; JOB_END_OK with status 0 */
    shoal_error_t message; /* why the job failed; empty when it did not */
};

/* Run the job to completion. Returns 0 when the job ran (result says how
 * it ended), or a negative code with error filled when it could not start
 * (a rank could not be spawned, an output file could not be created); no
 * rank is left running either way. Installs signal handlers for the
 * duration of the call (and ignores SIGPIPE); not reentrant. */
int local_job_run(const struct local_job_config *config,
                  struct local_job_result *result,
                  shoal_error_t *error);

#endif
