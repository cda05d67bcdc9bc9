/* SPDX-License-Identifier: MIT */
/* node_job.h - one node's share of a gang job: the proxy side.
 *
 * A proxy (`shoal proxy`) is started by the pool's daemon on each node of a
 * job, with a stream socket to it (or any byte stream that reaches the
 * job's coordinator through relays). On that link it reads job frames
 * (runtime/job/job_wire.h, each as u32 big-endian length + frame) and writes
 * its own. The first frame must be LAUNCH: the proxy starts the node's
 * ranks bound (logical PU indexes of the LAUNCH translated through this
 * machine's hwloc topology; with SHOAL_TOPOLOGY set the topology is not
 * this system and nothing is bound), each with a PMI socket served by a PMI
 * server of the node's ranks only, then answers STARTED (or SPAWN_FAILED
 * and ends what it started). From then on:
 *
 *   - rank output goes up as OUTPUT frames; reading a rank's pipes stops
 *     while more than NODE_JOB_LINK_HIGH bytes wait to be written on the
 *     link, and resumes under NODE_JOB_LINK_LOW;
 *   - STDIN frames feed global rank 0's stdin, if this node runs it;
 *   - when every local rank entered a PMI barrier, the node's new puts go
 *     up as BARRIER_IN; BARRIER_OUT brings the others' puts, which are
 *     stored before the local ranks are released;
 *   - RANK_EXIT for each rank (marked oom_killed, with the job's memory
 *     limit, when a SIGKILL the runtime did not send came with a new OOM
 *     kill in the job's memory cgroup; with the counters file the rank
 *     left, if any: each rank gets SHOAL_RANK_COUNTERS, ENV_RANK_COUNTERS
 *     of env.h, a file in a directory the proxy makes in its TMPDIR and
 *     removes; one larger than JOB_WIRE_COUNTERS_MAX is not sent, so
 *     counts come back without a shared file system); ABORT for MPI_Abort (PMI
 * abort) or a PMI protocol fault; the proxy ends nothing on its own: the
 * coordinator decides, and sends SIGNAL or KILL;
 *   - with node-local checkpoints (SHOAL_CKPT_ROOT=@state/...,
 *     runtime/job/node_ckpt.h) the versions the LAUNCH names are put in
 *     the ranks' directories before they start (a version found nowhere
 *     is SPAWN_FAILED -ENODATA), each version a rank commits is copied to
 *     other nodes and reported as CKPT_COPIES, and CKPT_KEEP pins the
 *     job's version;
 *   - DONE once no rank is left and every output stream is drained; then
 *     the proxy closes the link and returns.
 *
 * If the link closes or breaks (coordinator or relay gone), or the proxy
 * gets SIGTERM, SIGINT or SIGHUP, it ends its ranks (SIGTERM, SIGKILL after
 * the LAUNCH's grace period) and returns; ranks also die with the proxy
 * itself (parent-death signal), so nothing is left behind. */
#ifndef SHOAL_RUNTIME_JOB_NODE_JOB_H
#define SHOAL_RUNTIME_JOB_NODE_JOB_H

#include "util/account.h"

#include <shoal/error.h>

enum node_job_limit {
    NODE_JOB_LINK_HIGH = 4 * 1024 * 1024,
    NODE_JOB_LINK_LOW = 1024 * 1024,
};

struct node_job_config {
    int link_fd;          /* the stream to the coordinator; taken over */
    const char *topology; /* SHOAL_TOPOLOGY value, or NULL for this host */
    /* the account the ranks run as (borrowed), or NULL: the proxy's own.
     * Their HOME, USER and LOGNAME are its, and the checkpoint
     * directories made for them are given to it. */
    const struct account *user;
    /* the memory cgroup directory of the job on this node (the daemon
     * made it, runtime/guest/guestd.h), or NULL: a rank that the OOM killer
     * ended in it is reported so in its RANK_EXIT, with the limit */
    const char *memory_cgroup;
    /* the PUs its daemon sees (a list of OS indexes), or NULL: in a job's
     * cgroup the proxy's own cpuset is the job's, and the topology the
     * LAUNCH's logical indexes refer to is the daemon's */
    const char *allowed_pus;
};

/* Run one node's share of a job to its end. Returns 0 when the job ran
 * and DONE was sent, or a negative code with error filled: SHOAL_EPROTO
 * for a bad frame or a first frame that is not LAUNCH, -EPIPE when the
 * link was lost before DONE. No rank is left running either way. Installs
 * signal handlers for the duration of the call; not reentrant. */
int node_job_run(const struct node_job_config *config, shoal_error_t *error);

#endif
