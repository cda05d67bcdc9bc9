/* SPDX-License-Identifier: MIT */
/* ckpt_service.h - the daemon's checkpoint service: versions copied to
 * other nodes, so that losing a machine never loses the last checkpoint.
 *
 * Control ops on the daemon's control socket:
 *
 *   ckpt.replicate {"dir", "version", "key", "copies"}  copy version V of
 *       the local store DIR (sealed first when a program committed it
 *       without a MANIFEST, then verified) to COPIES (default 1) other
 *       live nodes, which keep it as STATE/ckpt/KEY/vV. Partners are the
 *       alive nodes that follow this one in node-id order, so repeated
 *       calls pick the same ones while they live; a partner that fails
 *       (dead, disk full, timed out) is replaced by the next. Replies
 *       {"copies": ["NODE-ID", ...]} once COPIES receivers committed their
 *       copy, or an error naming each node tried and why.
 *   ckpt.fetch {"key", "version", "dir", "from": [NODE-ID...]}  pull the
 *       version from the first of those nodes that has it whole into the
 *       local store DIR. Replies {"node": ID, "version": V}, or an error
 *       naming every copy refused and why, with "bad": [ID...] listing the
 *       copies found corrupt.
 *   ckpt.list {"key": PREFIX}  {"versions": [{"key", "version", "bytes",
 *       "files", "committed"}...]}: the copies this node stores under
 *       PREFIX ("" or absent: all).
 *   ckpt.pool-list {"key": PREFIX, "timeout": S}  what every live node
 *       keeps under PREFIX, originals (STATE/ckpt-jobs) and copies
 *       (STATE/ckpt), per job, rank and version, with the nodes that did
 *       not answer within S seconds (ckpt_survey.h; LIST and LISTED).
 *   ckpt.remove {"key", "keep_from": V}  remove the copies of KEY older
 *       than V (0: all); {"removed": [V...]}.
 *   ckpt.forget {"key": JOBKEY}  the job ended well: remove what this
 *       node keeps for it (copies and node-local checkpoints) and tell
 *       every other live node to (FORGET); {"nodes": N told}. What a node
 *       misses, and what failed jobs leave, is swept after
 *       SHOAL_CKPT_RETAIN_DAYS (14) without a change.
 *
 * NODE-IDs are 16 hex digits, as node-id files and `shoal status` show
 * them. Copies travel in the frames of ckpt_wire.h, each transfer driven
 * by a ckpt_xfer.h state machine on the sender. A receiver writes into a
 * staging directory beside the final one (STORE/.part-vV/vV), hashing
 * each file as it is written (a file resumed from an earlier attempt is
 * hashed whole at the end), checks every file against the MANIFEST's size
 * and hash and fsyncs them, renames
 * the directory into place, then writes COMMITTED: a copy is whole or
 * absent, and acknowledged only once committed. The staging directory is
 * kept when a transfer breaks, so the next attempt with the same MANIFEST
 * resumes from the bytes already there; it is removed when the data
 * cannot be right (a hash mismatch) or the disk is full.
 *
 * A sender hashes a version when it seals it, and verifies it only when
 * its files changed since this daemon last hashed it whole (ckpt_seen.h):
 * a version is read once per copy, for sending. All hashing runs on
 * libuv's thread pool (a receiver's a little behind its writes,
 * ckpt_hasher.h), so the loop only moves chunks and membership probes are
 * answered while large versions move.
 * Frames that do not decode are counted ("malformed") and dropped.
 * Everything else runs on the daemon's loop; not thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_SERVICE_H
#define SHOAL_RUNTIME_CKPT_CKPT_SERVICE_H

#include <shoal/error.h>

#include "runtime/daemon/daemon.h"

typedef struct ckpt_service ckpt_service_t;

/* Serve checkpoint copies on daemon d, whose state directory is state
 * (copied): register the frames, control ops, member events and
 * counters, and read the tunables ckpt_chunk_kib, ckpt_window_kib and
 * ckpt_timeout. Returns 0 and sets *out, or a negative code with error
 * filled. */
int ckpt_service_attach(daemon_t *d,
                        const char *state,
                        ckpt_service_t **out,
                        shoal_error_t *error);

/* Stop the timer and free the service after daemon_run() returned; NULL
 * is accepted. Ops still waiting get no reply. */
void ckpt_service_destroy(ckpt_service_t *svc);

#endif
