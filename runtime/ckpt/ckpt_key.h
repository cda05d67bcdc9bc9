/* SPDX-License-Identifier: MIT */
/* ckpt_key.h - the names under which a node stores copies of checkpoints.
 *
 * A copy of version V of a checkpoint store is kept on a node as
 * STATE/ckpt/KEY/vV, where KEY names whose store it is, e.g.
 * "17/rank3". A key comes from the control socket or, inside a frame,
 * from another node of the pool, so it is checked before it touches a
 * path: it must stay below STATE/ckpt whatever it holds. A key is one to
 * CKPT_KEY_DEPTH components joined by '/', each 1 to CKPT_KEY_PART_MAX
 * bytes of [A-Za-z0-9_.+=@,-], not starting with '.' (which also rules
 * out "." and ".." and leaves dot names to the service's own staging
 * directories) and not of the form v<digits> (a version's name). Pure;
 * thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_KEY_H
#define SHOAL_RUNTIME_CKPT_CKPT_KEY_H

#include <stddef.h>

enum ckpt_key_limit {
    CKPT_KEY_MAX = 512,      /* bytes of a whole key */
    CKPT_KEY_PART_MAX = 128, /* bytes of one component */
    CKPT_KEY_DEPTH = 16,     /* components */
};

/* Return 0 if key is a valid key as described above, else -EINVAL (NULL
 * too). With allow_empty, "" is accepted as well (a prefix naming every
 * key). */
int ckpt_key_check(const char *key, int allow_empty);

/* Write STATE/ckpt/KEY (KEY "" gives STATE/ckpt) into buf of size len.
 * Returns 0, -EINVAL for a key ckpt_key_check() refuses, -ENAMETOOLONG. */
int ckpt_key_path(const char *state, const char *key, char *buf, size_t len);

#endif
