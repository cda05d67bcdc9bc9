/* SPDX-License-Identifier: MIT */
/* ckpt_view.h - what the pool keeps of each job's checkpoints, put
 * together from the versions each node listed (LISTED, ckpt_wire.h).
 *
 * A node lists a rank's version as the original (key JOBKEY/runK/rankN:
 * the rank's own directory on the node it ran on) or as a copy (key
 * JOBKEY/rankN: the daemon's store, which on the rank's own node also
 * holds the original's published links). The view groups them per job,
 * per rank and per version, each version with the nodes that hold it (a
 * node holding both is named once, as the original), and names the
 * version a restart would use: the newest that every rank 0..N-1 (N: one
 * past the highest rank seen) has committed on some node that answered.
 * A copy whose key does not end in rankN (ckpt.replicate takes any key)
 * is listed as a job of its own key with rank -1, and never makes a
 * restart version. Pure; not thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_VIEW_H
#define SHOAL_RUNTIME_CKPT_CKPT_VIEW_H

#include <jansson.h>

#include "runtime/ckpt/ckpt_wire.h"

typedef struct ckpt_view ckpt_view_t;

/* A new, empty view. Returns 0 and sets *out, or -ENOMEM. */
int ckpt_view_create(ckpt_view_t **out);

/* NULL is accepted. */
void ckpt_view_destroy(ckpt_view_t *view);

/* Node (16 hex digits) named name (NULL: unknown) holds e. Returns 0 or
 * -ENOMEM. */
int ckpt_view_add(ckpt_view_t *view,
                  const char *node,
                  const char *name,
                  const struct ckpt_wire_entry *e);

/* The view as a new JSON array (caller decrefs), jobs sorted by key:
 * [{"key", "restart": V or null, "ranks": [{"rank", "versions":
 * [{"version", "committed", "copies", "holders": [{"node", "name",
 * "original", "committed", "bytes", "files"}...]}...]}...]}...]. A
 * version's "committed" is true when some holder has it committed,
 * "copies" counts those holders. Ranks and versions ascend; holders
 * follow node id order. NULL without memory. */
json_t *ckpt_view_json(const ckpt_view_t *view);

#endif
