/* SPDX-License-Identifier: MIT */
/* fs.h - small file system helpers. */
#ifndef SHOAL_UTIL_FS_H
#define SHOAL_UTIL_FS_H

#include <sys/types.h>

/* Create path and its missing parents with mode, like `mkdir -p`. Returns 0
 * (also when it exists as a directory) or -1 with errno set. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Remove path and all below it, as `rm -rf` would, without following a
 * symbolic link; what cannot be removed is left. Only for trees whose
 * directories nobody else can write: a path walked by name could
 * otherwise be swapped for a link under it. */
void fs_remove_tree(const char *path);

/* Remove what processes that were killed left in dir: every directory
 * named PREFIX followed by a pid, alone or followed by '.' and anything,
 * whose process is gone, owned by this process's effective user. Made for
 * private scratch directories named after their maker's pid (a SIGKILL
 * gives no time to remove them). */
void fs_sweep_orphans(const char *dir, const char *prefix);

#endif
