/* SPDX-License-Identifier: MIT */
/* gangd.h - the daemon's part in gang (MPI) jobs.
 *
 * On every node it keeps the ledger of the node's cores
 * (scheduler/claim.h), answers the claims of home nodes, and publishes the
 * free cores in the node's membership record. On the node where
 * `shoal run` was typed (the job's home) it serves the control op
 * "gang-claim": place the job on a snapshot of the pool
 * (scheduler/pool_place.h) and claim the cores all-or-nothing
 * (scheduler/gang.h), placing again after a refusal, until granted or
 * timed out. The connection that asked then carries the job: its 'D'
 * frames (u64 node id, job frame) are relayed to that node's daemon, which
 * starts the node's proxy (`shoal proxy`) on the job's LAUNCH and relays
 * the proxy's frames back the same way. The front end is told, by a
 * {"event": "node-lost", "node": ID} frame, when a node of its job dies,
 * leaves, or its proxy ends without finishing.
 *
 * Between daemons a relayed frame is sealed with the job frame's kind as
 * type, its body being u8 direction (0 towards the proxy, 1 towards the
 * coordinator), u64 job id, and the frame. The claim messages of
 * scheduler/claim_wire.h travel as they are. A home whose connection
 * closes releases its claims; a node whose home dies, or whose claim is
 * released, ends the proxy of that job (closing its link, so it ends the
 * ranks). Everything runs on the daemon's loop. */
#ifndef SHOAL_RUNTIME_JOB_GANGD_H
#define SHOAL_RUNTIME_JOB_GANGD_H

#include <shoal/error.h>

#include "runtime/daemon/daemon.h"

typedef struct gangd gangd_t;

/* The types of relayed job frames: the job frame kinds (32-43), and the
 * node's word that a proxy ended before its DONE. */
enum gangd_type {
    GANGD_TYPE_FIRST = 32,
    GANGD_TYPE_PROXY_LOST = 62,
    GANGD_TYPE_LAST = 62,
};

/* Plug gang jobs into d. proxy_path is the shoal program started as
 * `shoal proxy` (copied). Returns 0 and sets *out, or a negative errno
 * with error filled. */
int gangd_attach(daemon_t *d,
                 const char *proxy_path,
                 gangd_t **out,
                 shoal_error_t *error);

/* Cores for bag-of-tasks jobs on this node, from the same ledger as gang
 * claims, so neither kind of job is given a core the other holds. A task
 * holds its cores as a local claim (job key, home this node, no lease)
 * that no member event releases.
 *
 * gangd_task_cores_claim takes n free cores for key and writes their
 * logical indexes into cores: 0, or -EBUSY when fewer are free (nothing is
 * taken). gangd_task_cores_release gives them back. gangd_cores_free is
 * the number of cores neither gang jobs nor tasks hold. The published free
 * cores follow tasks within a second (at most one update a second, not one
 * per task); a gang claim on a core a task took since is refused and
 * placed again. */
int gangd_task_cores_claim(gangd_t *g, uint64_t key, int n, int *cores);
void gangd_task_cores_release(gangd_t *g, uint64_t key);
int gangd_cores_free(gangd_t *g);

/* End every proxy (they end their ranks) and free g; NULL is accepted.
 * Call before daemon_destroy(), after daemon_run() returned. */
void gangd_detach(gangd_t *g);

#endif
