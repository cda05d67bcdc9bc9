/* SPDX-License-Identifier: MIT */
/* ckpt_seen.h - the versions this daemon has hashed, and what they looked
 * like then.
 *
 * Hashing a version costs a read of every byte. A daemon that sends the
 * same version to several partners, or again after a break, or that
 * serves a copy it has just received and checked, need not hash it again
 * as long as the file system shows the same files: the same identity
 * (ckpt_store_identity(): MANIFEST text, inodes, sizes, times). The table
 * remembers, per version directory, the identity the version had when it
 * was last hashed whole and found right. It holds at most `max` entries
 * and forgets the oldest first: a miss only costs a hash.
 *
 * Pure: no I/O. Not thread-safe; the daemon's loop owns it. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_SEEN_H
#define SHOAL_RUNTIME_CKPT_CKPT_SEEN_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/ckpt/ckpt_store.h"

typedef struct ckpt_seen ckpt_seen_t;

/* Make an empty table of at most max (> 0) entries. Returns 0 and sets
 * *out (free with ckpt_seen_destroy()), -EINVAL, or -ENOMEM. */
int ckpt_seen_create(size_t max, ckpt_seen_t **out);

/* Free t; NULL is accepted. */
void ckpt_seen_destroy(ckpt_seen_t *t);

/* Remember that the version in directory dir (copied) was hashed and
 * found right while it had identity id, replacing what dir had. Returns 0
 * or -ENOMEM (the table is unchanged). */
int ckpt_seen_add(ckpt_seen_t *t,
                  const char *dir,
                  const unsigned char id[CKPT_HASH_BYTES]);

/* Copy the identity remembered for dir to id. Returns true when there is
 * one, false (id untouched) when not. */
bool ckpt_seen_get(const ckpt_seen_t *t,
                   const char *dir,
                   unsigned char id[CKPT_HASH_BYTES]);

/* Forget dir, e.g. when a receiver found the copy sent from it corrupt.
 * An unknown dir is ignored. */
void ckpt_seen_forget(ckpt_seen_t *t, const char *dir);

#endif
