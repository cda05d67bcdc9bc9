/* SPDX-License-Identifier: MIT */
/* nodeid.h - a node's id, kept in DIR/node-id across restarts.
 *
 * A node is one member of the pool for as long as its state directory
 * lives: a restarted daemon refutes what the pool says of its former self,
 * and the task journal's leases name the node that holds them. The id is
 * a random 64-bit number, never 0, written once as 16 hex digits and a
 * newline. New ids are below 2^63, as they travel in JSON, whose integers
 * are signed; a file an older version wrote is read as it is.
 *
 * Creation is atomic: the id is written to a temporary file that is then
 * linked to DIR/node-id, which fails if another process (a daemon and a
 * command's task service starting together) made it first; the loser
 * reads the winner's id. A reader never sees a half-written file.
 *
 * Does file I/O; no global state; safe from several processes at once. */
#ifndef SHOAL_UTIL_NODEID_H
#define SHOAL_UTIL_NODEID_H

#include <stdint.h>

#include <shoal/error.h>

/* Read DIR/node-id, or make it when it does not exist (dir must exist).
 * Returns 0 and sets *id, or a negative errno with error (may be NULL)
 * filled: -EINVAL for a file that holds no id (it is left alone, for a
 * person to look at), or the cause of a failed read or write. */
int nodeid_load(const char *dir, uint64_t *id, shoal_error_t *error);

#endif
