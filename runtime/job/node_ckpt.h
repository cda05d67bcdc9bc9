/* SPDX-License-Identifier: MIT */
/* node_ckpt.h - a proxy's part in node-local checkpoints (`shoal run
 * --checkpoint --replicas R`).
 *
 * Such a job's environment holds SHOAL_CKPT_ROOT=@state/JOBKEY/runK and
 * SHOAL_CKPT_REPLICAS=R. On each node the proxy replaces "@state" by
 * STATE/ckpt-jobs (STATE: the node's state directory, util/statedir.h, as
 * the daemon that started the proxy resolved it), so rank N checkpoints
 * in STATE/ckpt-jobs/JOBKEY/runK/rankN, on its own node's disk.
 *
 * While the ranks run, every 100 ms (and as soon as the last copy is
 * done) each local rank's store is looked at: every version it committed
 * since the last one copied is, in order, sent to R other nodes through
 * the node's daemon (control op ckpt.replicate, key "JOBKEY/rankN"), on
 * libuv's thread pool so the proxy's loop never waits; the original is
 * then also published in the daemon's own store of copies (hard links
 * into STATE/ckpt/JOBKEY/rankN/vV), so that the daemon can serve it to
 * the node that runs the rank after a restart. Each version so copied is
 * reported with the nodes holding it, this one first. The coordinator
 * answers with the job's durable version (node_ckpt_keep()): it is pinned
 * with each rank's KEEP and older versions are removed, here and from the
 * published copies. The ranks run with SHOAL_CKPT_DURABLE=1 (the caller
 * adds it): their commits wait for KEEP to reach the version; a copy that
 * fails is noted in the rank's NOCOPY ("<version> <why>"), which ends
 * such a wait, and a copy that succeeds removes the note.
 *
 * Before a restarted run starts its ranks, node_ckpt_restore() puts the
 * version each local rank restores in its new directory: linked from the
 * daemon's store when this node holds a copy, else fetched (ckpt.fetch,
 * every file verified against its MANIFEST) from the nodes named.
 *
 * Runs on the proxy's loop, except the copies; not thread-safe. */
#ifndef SHOAL_RUNTIME_JOB_NODE_CKPT_H
#define SHOAL_RUNTIME_JOB_NODE_CKPT_H

#include <stdint.h>
#include <uv.h>

#include <sys/types.h>

#include <shoal/error.h>
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/job/job_wire.h"

typedef struct node_ckpt node_ckpt_t;

enum {
    NODE_CKPT_FLUSH_MS = 10 * 1000, /* the longest a flush holds DONE */
};

/* Version of rank is now held by nodes[0..n-1] (this node first); the
 * rank's last checkpoint took cost seconds (0: it did not say). */
typedef void node_ckpt_copies_f(int rank,
                                int version,
                                const uint64_t *nodes,
                                int n,
                                double cost,
                                void *arg);

struct node_ckpt_config {
    uv_loop_t *loop;
    const int *ranks; /* the global ranks this node runs */
    int nranks;
    node_ckpt_copies_f *copied; /* required */
    void *arg;
};

/* Look for a node-local checkpoint root in env (nenv entries, owned by
 * the caller and allocated with malloc()) and, when there is one, rewrite
 * it to this node's directory (the old string is freed) and set *out;
 * else set *out to NULL. config is copied (ranks too). Returns 0, or a
 * negative code with error filled (a malformed root, no state directory,
 * no node id). */
int node_ckpt_create(const struct node_ckpt_config *config,
                     char **env,
                     uint32_t nenv,
                     node_ckpt_t **out,
                     shoal_error_t *error);

/* Give the job's run directory (its ranks' directories and what a restore
 * put there) to uid/gid, whose ranks write their checkpoints there, and
 * let others pass through the directories above it (never list them).
 * Call after node_ckpt_restore(), before the ranks start. Returns 0 or a
 * negative errno with error filled. */
int node_ckpt_give(node_ckpt_t *nc, uid_t uid, gid_t gid, shoal_error_t *error);

/* Put the versions that restores[] name for local ranks in their
 * directories (other ranks are skipped). Blocks: call before the ranks
 * start. Returns 0, or -ENODATA with error naming the rank, the version
 * and the nodes it was looked for on when a version is found nowhere, or
 * another negative code with error filled. */
int node_ckpt_restore(node_ckpt_t *nc,
                      const struct job_launch_restore *restores,
                      uint32_t nrestores,
                      shoal_error_t *error);

/* Start following the ranks' stores. Returns 0 or a negative errno from
 * libuv. */
int node_ckpt_start(node_ckpt_t *nc);

/* --checkpoint=auto: ask every local rank for a checkpoint now (its
 * REQUEST file). Returns 0 or the first negative errno met. */
int node_ckpt_ask(node_ckpt_t *nc);

/* The job's durable version is now version: pin it, drop what is older. */
void node_ckpt_keep(node_ckpt_t *nc, int version);

/* The ranks are gone: copy the newest version each committed, if not
 * copied yet, so that a version committed just before a rank exited (as
 * one that asks for a restart does) is durable before the node says
 * DONE; then call done(arg), once, at most NODE_CKPT_FLUSH_MS later.
 * Returns 0, or -EALREADY after node_ckpt_stop() (done is then not
 * called). */
int node_ckpt_flush(node_ckpt_t *nc, void (*done)(void *arg), void *arg);

/* Stop following (no new copy starts; one running finishes on the
 * loop, without being reported). NULL is accepted. */
void node_ckpt_stop(node_ckpt_t *nc);

/* Make version of from (committed, with a MANIFEST) a committed version
 * of to, sharing the files by hard links: versions are never written once
 * committed. Blocks on the file system. Returns 0 (also when to has it
 * committed already) or a negative errno. */
int node_ckpt_link(const ckpt_store_t *from,
                   const ckpt_store_t *to,
                   int version);

/* Free nc once the loop ran dry after node_ckpt_stop(); NULL is
 * accepted. */
void node_ckpt_destroy(node_ckpt_t *nc);

#endif
