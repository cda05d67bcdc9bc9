/* SPDX-License-Identifier: MIT */
/* gangd_journal.h - the home daemon keeps its checkpointing gang jobs in
 * its journal (runtime/job/gang_journal.h), and serves them.
 *
 * A `shoal run --checkpoint` on the pool names its job in each
 * "gang-claim" it sends (runtime/job/gangd.h) with an object
 *
 *   "journal": {"key": K, "run": N, "restarts": N, "nranks": N,
 *               "replicas": R, "spec": {...}}
 *
 * (spec: what `shoal run --resume` needs to run the job again, opaque
 * here; nranks 0 when the job takes one rank per slot: the placement
 * tells). The daemon records the run with the caller's uid and pid, the
 * placement it grants, and, as they pass through its relay, the copies
 * the job's proxies report (CKPT_COPIES) and the versions the coordinator
 * pins (CKPT_KEEP). So the record stays true whether `shoal run` or the
 * daemon dies: the journal is on disk, written by the daemon as things
 * happen.
 *
 * Control ops (the caller sees its own jobs; root and the daemon's user
 * see all):
 *
 *   gang.list {}                 {"jobs": [JOB...]}
 *   gang.get {"key": K}          {"job": JOB}
 *   gang.resume {"key": K}       {"job": JOB}, once the job is the
 *                                caller's to run: its coordinator is gone
 *                                (no claim of it here, its pid not alive);
 *                                the caller's next gang-claim of K is the
 *                                job's next run
 *   gang.end {"key": K, "status": S}   0 removes the job, else FAILED
 *   gang.rm {"key": K}           removes the record (not the checkpoints)
 *
 * JOB is {"key", "uid", "nranks", "replicas", "state" ("running" or
 * "failed"), "coordinator" ("alive" or "gone"), "pid", "run", "restarts",
 * "status", "kept", "version" (the job's: newest on every rank), "created",
 * "updated", "spec", "placement" (as the gang-claim's reply, or null),
 * "copies": [{"rank", "version", "nodes": [{"id", "name", "state"}]}]}.
 * Names and states are the pool's as this daemon knows them now ("?" and
 * "unknown" for a node it never saw). Everything runs on the daemon's
 * loop. */
#ifndef SHOAL_RUNTIME_JOB_GANGD_JOURNAL_H
#define SHOAL_RUNTIME_JOB_GANGD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <shoal/error.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/daemon.h"

typedef struct gangd_journal gangd_journal_t;

/* Whether a claim of the job key is being served here now. */
typedef bool gangd_journal_live_f(const char *key, void *arg);

/* Open STATE/gang-jobs.db under dir and register the gang.* ops on d.
 * live (with arg) tells whether a job's coordinator holds a claim here.
 * Returns 0 and sets *out, or a negative errno with error filled. */
int gangd_journal_attach(daemon_t *d,
                         const char *dir,
                         gangd_journal_live_f *live,
                         void *arg,
                         gangd_journal_t **out,
                         shoal_error_t *error);

/* Close the journal; NULL is accepted. */
void gangd_journal_detach(gangd_journal_t *gj);

/* A gang-claim arrived on conn: when request (borrowed) names a
 * "journal", record the run and set *key to the job's key (caller frees);
 * else *key is NULL. Returns 0, or a negative errno with error filled
 * (the claim is then refused with it). */
int gangd_journal_claim(gangd_journal_t *gj,
                        control_conn_t *conn,
                        const json_t *request,
                        char **key,
                        shoal_error_t *error);

/* The claim of key was granted with placement (borrowed: the reply). */
void gangd_journal_placed(gangd_journal_t *gj,
                          const char *key,
                          const json_t *placement);

/* A job frame of key passed through the relay (either way): CKPT_COPIES
 * and CKPT_KEEP are recorded, the others ignored. */
void gangd_journal_frame(gangd_journal_t *gj,
                         const char *key,
                         const uint8_t *frame,
                         size_t len);

#endif
