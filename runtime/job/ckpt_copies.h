/* SPDX-License-Identifier: MIT */
/* ckpt_copies.h - where the versions of a job's node-local checkpoints
 * live, as its coordinator learns it.
 *
 * With `shoal run --replicas R` each rank checkpoints on its own node's
 * disk, and that node's proxy has every version the rank commits copied
 * to R other nodes; each copy it reports (a CKPT_COPIES frame) is added
 * here with the nodes that hold it: the rank's own node first, then the
 * copies. A version so reported is durable for that rank; the job's
 * version is the newest one durable on every rank, the only kind a
 * restart may start from. The table outlives one run of the job (its
 * owner keeps it across restarts), so a run that dies before it makes a
 * new version still knows where the older ones are.
 *
 * Per rank only the CKPT_COPIES_VERSIONS newest versions are kept: a
 * version older than all of them could only be the job's if every rank
 * fell that far behind. Pure data, no I/O; not thread-safe. */
#ifndef SHOAL_RUNTIME_JOB_CKPT_COPIES_H
#define SHOAL_RUNTIME_JOB_CKPT_COPIES_H

#include <stdint.h>

enum ckpt_copies_limit {
    CKPT_COPIES_VERSIONS = 32, /* versions remembered per rank */
    CKPT_COPIES_HOLDERS = 16,  /* nodes remembered per version */
};

typedef struct ckpt_copies ckpt_copies_t;

/* A table for a job of nranks ranks. Returns 0 and sets *out, -EINVAL or
 * -ENOMEM. */
int ckpt_copies_create(int nranks, ckpt_copies_t **out);

/* Free t; NULL is accepted. */
void ckpt_copies_destroy(ckpt_copies_t *t);

/* Version of rank is held by nodes[0..n-1] (merged with what was known).
 * Returns 0, or -EINVAL for a rank out of range or version < 1. */
int ckpt_copies_add(
    ckpt_copies_t *t, int rank, int version, const uint64_t *nodes, int n);

/* Version of rank turned out to exist nowhere: forget it. */
void ckpt_copies_drop(ckpt_copies_t *t, int rank, int version);

/* Forget every version older than version, on every rank (the nodes
 * removed them). */
void ckpt_copies_forget_below(ckpt_copies_t *t, int version);

/* The newest version durable on every rank, 0 when there is none. */
int ckpt_copies_version(const ckpt_copies_t *t);

/* The nodes holding version of rank: sets *nodes (borrowed until the next
 * change of t) and returns their count, 0 when it is not known. */
int ckpt_copies_holders(const ckpt_copies_t *t,
                        int rank,
                        int version,
                        const uint64_t **nodes);

#endif
