/* SPDX-License-Identifier: MIT */
/* gangd.h - the daemon's part in gang (MPI) jobs.
 *
 * On the node where `shoal run` was typed (the job's home) it serves the
 * control op "gang-claim" (its request: runtime/job/gang_request.h):
 * place the job on a snapshot of the pool
 * (scheduler/pool_place.h) and claim the cores all-or-nothing
 * (scheduler/gang.h), placing again after a refusal, until granted or timed
 * out. The claims are answered by each node's core ledger
 * (runtime/daemon/cores.h); their GRANT and REFUSE answers come back here. The
 * connection that asked then carries the job: its 'D' frames (u64 node id, job
 * frame) are relayed to that node's daemon, which starts the node's proxy
 * (`shoal proxy`) on the job's LAUNCH, if the job holds cores in its ledger,
 * and relays the proxy's frames back the same way. The front end is told, by a
 * {"event": "node-lost", "node": ID} frame, when a node of its job dies,
 * leaves, or its proxy ends without finishing.
 *
 * Between daemons a relayed frame is sealed with the job frame's kind as
 * type, its body being u8 direction (0 towards the proxy, 1 towards the
 * coordinator), u64 job id, and the frame. A home whose connection
 * closes releases its claims; a node whose home dies, or whose claim is
 * released (the ledger's release listener), ends the proxy of that job
 * (closing its link, so it ends the ranks), and gives its cores back to
 * the ledger when the proxy is gone.
 *
 * When this node's owner comes back (runtime/owner/ownerd.h stopped the
 * job processes here), each job with a proxy here is sent HOLD (held) up
 * to its coordinator, which then stops the job's ranks on every node; when
 * the owner leaves again, or the jobs are vacated, HOLD (not held) lets
 * them go on. A proxy started while held is told at once. Everything runs
 * on the daemon's loop. */
#ifndef SHOAL_RUNTIME_JOB_GANGD_H
#define SHOAL_RUNTIME_JOB_GANGD_H

#include <shoal/error.h>

#include "runtime/daemon/cores.h"
#include "runtime/guest/guestd.h"
#include "runtime/daemon/daemon.h"
#include "runtime/owner/ownerd.h"

typedef struct gangd gangd_t;

/* The types of relayed job frames: the job frame kinds (32-43), and the
 * node's word that a proxy ended before its DONE. */
enum gangd_type {
    GANGD_TYPE_FIRST = 32,
    GANGD_TYPE_PROXY_LOST = 62,
    GANGD_TYPE_LAST = 62,
};

/* Plug gang jobs into d, whose core ledger is cores (borrowed: it must
 * outlive g; g becomes its release listener). owner, when not NULL, is
 * the node's owner service (borrowed, must outlive g; g becomes its hold
 * listener). proxy_path is the shoal
 * program started as `shoal proxy` (copied). Returns 0 and sets *out, or
 * a negative errno with error filled; d may then still hold some of g's
 * registrations, so destroy d without running it. */
int gangd_attach(daemon_t *d,
                 cores_t *cores,
                 ownerd_t *owner,
                 const char *proxy_path,
                 gangd_t **out,
                 shoal_error_t *error);

/* Run each job's proxy here (and so its ranks) in the job's cgroup of
 * guest (runtime/guest/guestd.h): made before the proxy starts, the proxy
 * moved into it before LAUNCH reaches it, and removed once the proxy is
 * gone. The proxy is told the cgroup's memory directory, to say which
 * rank the job's memory limit ended. guest NULL: none (the default). */
void gangd_set_guest(gangd_t *g, guestd_t *guest);

/* Keep the checkpointing jobs g is home to in the journal under dir (the
 * daemon's state directory) and serve the gang.* ops
 * (runtime/job/gangd_journal.h). Returns 0, or a negative errno with
 * error filled (a damaged journal is refused as it is). */
int gangd_open_journal(gangd_t *g, const char *dir, shoal_error_t *error);

/* End every proxy (they end their ranks), release the claims of the jobs
 * g is home to, and free g; NULL is accepted. Call after daemon_run()
 * returned, before cores_destroy() and daemon_destroy(). */
void gangd_detach(gangd_t *g);

#endif
