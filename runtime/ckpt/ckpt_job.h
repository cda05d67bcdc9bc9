/* SPDX-License-Identifier: MIT */
/* ckpt_job.h - a job's checkpoints as its launcher sees them.
 *
 * Each run of a job with checkpoints has a root directory (a restart gets
 * a new one, see ckpt_job_advance()); rank N keeps its versions in
 * ROOT/rankN (its SHOAL_CKPT_DIR, laid out as
 * runtime/ckpt/ckpt_store.h says: vV/ with MANIFEST and COMMITTED). The
 * job-wide version is the newest one every rank committed: the only kind a
 * restart may start from, since ranks restored from different versions
 * would not agree. The launcher writes it to each rank's KEEP file as it
 * advances, so no rank prunes the version the job would restart from.
 *
 * Plain file-system code, no loop: called between runs and from a timer. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_JOB_H
#define SHOAL_RUNTIME_CKPT_CKPT_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include <shoal/error.h>

/* The version a restart would start from. */
struct ckpt_job_choice {
    int version;   /* newest version committed by every rank; 0: none */
    int previous;  /* the one before it committed by every rank; 0: none */
    int skipped;   /* newest committed version passed over as damaged, or
                      0 */
    char why[512]; /* what was wrong with it, for the user ("" if none) */
};

/* Create ROOT and ROOT/rank0..rank(nranks-1) (and ROOT's parents).
 * Returns 0 or a negative errno with error filled. */
int ckpt_job_prepare(const char *root, int nranks, shoal_error_t *error);

/* Choose the version to restart from: the newest committed in every
 * rank's directory. With verify, every file of that version must also
 * match its MANIFEST (hash and size) on every rank; a version that does
 * not is passed over for the next older one, and choice says so. Returns
 * 0 (choice->version 0 when there is none) or a negative errno with error
 * filled when root cannot be read. */
int ckpt_job_choose(const char *root,
                    int nranks,
                    bool verify,
                    struct ckpt_job_choice *choice,
                    shoal_error_t *error);

/* Write version to each rank's KEEP file (atomically: a rank reads the
 * old number or the new one); version 0 removes it. Returns 0 or a
 * negative errno. */
int ckpt_job_keep(const char *root, int nranks, int version);

/* Before the next run of a job: make its new root next_root, move the
 * version it restores (0: none) of every rank there from root, pin it with
 * KEEP, and remove root with whatever else it held. Each run of a job has
 * a root of its own, so a rank of an earlier run that is still alive (a
 * node cut off, not yet dead) writes where no later run looks. Returns 0
 * or a negative errno with error filled. */
int ckpt_job_advance(const char *root,
                     const char *next_root,
                     int nranks,
                     int version,
                     shoal_error_t *error);

/* Apply retention over the job: of what the ranks hold, keep the two
 * newest job-wide versions (older and newest; equal when there was only
 * one) and whatever is newer than newest (it may become job-wide), and
 * remove the rest. For programs that do not link libshoal, which never
 * prune, and for the versions between the two, which a rank's own
 * retention cannot tell from the others. Returns 0 or the first negative
 * errno met. */
int ckpt_job_prune(const char *root, int nranks, int older, int newest);

/* The version a task resumes from: the newest committed one in its store
 * rdir whose files verify (versions committed by the marker alone are
 * sealed first). Sets *version (0: start afresh) and returns 0, or a
 * negative errno when rdir cannot be read. */
int ckpt_job_task_version(const char *rdir, int *version);

/* A task of the job whose checkpoints are under root ended well: its
 * store (root/taskN) goes, and root too once it is empty (the last task),
 * and root's parent after it when that is empty too. */
void ckpt_job_task_done(const char *root, uint64_t task);

/* Describe the checkpoints under root for people and scripts (`shoal ckpt
 * ls`): {"root": ROOT, "members": [{"name": "rank0" | "task7", "keep": K,
 * "versions": [{"version": V, "committed": B, "files": N, "bytes": S}...]}
 * ...], "version": the newest version every rank committed (rank roots
 * only; 0 none), "interval": what --checkpoint=auto chose and why (when it
 * did: ROOT/INTERVAL)}. No hashing: listing is cheap. Returns 0 and sets *out
 * (caller decrefs), -ENOENT when root holds no rankN or taskN directory,
 * or another negative errno with error filled. */
int ckpt_job_describe(const char *root, json_t **out, shoal_error_t *error);

/* Ask every rank for a checkpoint now: write "checkpoint" to each rank's
 * REQUEST file (atomically; its new time is what ranks compare with their
 * last commit). Returns 0 or the first negative errno met. */
int ckpt_job_request(const char *root, int nranks);

/* The same for the one rank (or task) store rdir. */
int ckpt_job_request_rdir(const char *rdir);

/* The largest cost (seconds) a rank recorded for its last checkpoint
 * (RDIR/COST); 0 when none has. */
double ckpt_job_cost(const char *root, int nranks);

/* Remove root and everything in it. Returns 0 or a negative errno. */
int ckpt_job_remove(const char *root);

#endif
