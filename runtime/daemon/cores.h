/* SPDX-License-Identifier: MIT */
/* cores.h - the node's core ledger in the daemon: who holds which of this
 * node's cores, for gang jobs and bag-of-tasks jobs alike.
 *
 * Each node is the sole authority over its own cores (scheduler/claim.h).
 * One cores_t per daemon keeps that ledger on the daemon's loop and
 * serves its side of the claim protocol (scheduler/claim_wire.h): it
 * answers the CLAIM messages of home nodes with a GRANT or a REFUSE
 * naming the busy cores (a node claims for itself only), and applies
 * their RELEASE and RENEW messages. A claim's lease is timed here: when it
 * lapses unconfirmed, the cores are freed. A home that dies or leaves
 * loses every claim it holds here. The GRANT and REFUSE answers are for
 * the home side of gang jobs (runtime/job/gangd.h), which registers
 * their frame types itself.
 *
 * After every change the free cores and the ledger's generation are
 * published in the node's membership summary (daemon_set_summary()), so
 * placements made elsewhere see them. Tasks take and give back cores
 * often: their changes are published at most once a second.
 *
 * A listener (cores_set_release_listener()) hears of claims ended from
 * outside: a home's RELEASE of one job, and every home that died or left;
 * gangd ends that job's proxies then. Releases made through
 * cores_release() or by the tasks' calls are not told to it.
 *
 * Everything runs on the daemon's loop thread; nothing is thread-safe. */
#ifndef SHOAL_RUNTIME_DAEMON_CORES_H
#define SHOAL_RUNTIME_DAEMON_CORES_H

#include <stdbool.h>
#include <stdint.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "runtime/daemon/daemon.h"
#include "scheduler/claim_wire.h"

typedef struct cores cores_t;

/* Keep the ledger of d's cores (all of its summary's cores lent), serve
 * the claim messages CLAIM, RELEASE and RENEW, and follow member events.
 * Publishes the free cores at once. Returns 0 and sets *out (free with
 * cores_destroy()), or a negative errno with error filled; d may then
 * still hold some of c's registrations, so destroy d without running it. */
int cores_create(daemon_t *d, cores_t **out, shoal_error_t *error);

/* Free c; NULL is accepted. Call after daemon_run() returned, before
 * daemon_destroy() (which closes c's timers' handles). */
void cores_destroy(cores_t *c);

/* Told that claims here ended from outside: job's claim released by its
 * home (home 0), or every claim of home, which died or left (job 0; told
 * whether or not it held any). Called before the cores are freed. The
 * callback may call cores_release(). */
typedef void
cores_release_f(cores_t *c, uint64_t job, uint64_t home, void *arg);

/* Set the release listener (fn NULL: none); a later call replaces it. */
void cores_set_release_listener(cores_t *c, cores_release_f *fn, void *arg);

/* Whether job holds cores here: 1 when it does, 0 when not, -ENOMEM. */
int cores_job_holds(cores_t *c, uint64_t job);

/* The cores (logical indexes) job holds here into out (caller's, cleared
 * first). Returns 0, or -ENOMEM. */
int cores_job_cores(cores_t *c, uint64_t job, hwloc_bitmap_t out);

/* Confirm job's claim: its lease never lapses, the job runs. Returns 0,
 * or -ENOENT when job holds nothing here. Publishes nothing. */
int cores_confirm(cores_t *c, uint64_t job);

/* Free job's cores (its proxy ended) and publish. Harmless when job holds
 * none. The listener is not told. */
void cores_release(cores_t *c, uint64_t job);

/* Send msg to node as a claim frame (its kind as seal type). Returns 0,
 * -EINVAL for a message that cannot be encoded, or daemon_send()'s
 * error. msg is borrowed for the call. */
int cores_send_claim(cores_t *c, uint64_t node, const struct claim_msg *msg);

/* Withhold every core from new work, or lend them again (the owner of a
 * workstation came back, runtime/owner/). While withheld, the summary
 * publishes no free core (so placements elsewhere pass this node by),
 * CLAIMs are refused naming every core, cores_task_claim() gives -EBUSY
 * and cores_free_count() 0; the claims held stay, and the jobs holding
 * them are the owner service's business. Publishes at once. */
void cores_set_withheld(cores_t *c, bool withheld);
bool cores_withheld(const cores_t *c);

/* Whether any claim is held here, a gang job's or a task's, withheld or
 * not: work is placed on this node. */
bool cores_busy(const cores_t *c);

/* Cores for bag-of-tasks jobs on this node, from the same ledger as gang
 * claims, so neither kind of job is given a core the other holds. A task
 * holds its cores as a local claim (job key, home this node, no lease)
 * that no member event releases.
 *
 * cores_task_claim takes n free cores for key and writes their logical
 * indexes into cores (n entries, caller's): 0, or -EBUSY when fewer are
 * free (nothing is taken), or -ENOMEM. cores_task_release gives them
 * back. cores_free_count is the number of cores neither gang jobs nor
 * tasks hold. The published free cores follow tasks within a second; a
 * gang claim on a core a task took since is refused and placed again. */
int cores_task_claim(cores_t *c, uint64_t key, int n, int *cores);
void cores_task_release(cores_t *c, uint64_t key);
int cores_free_count(cores_t *c);

#endif
