/* SPDX-License-Identifier: MIT */
/* fs.h - small file system helpers. */
#ifndef SHOAL_UTIL_FS_H
#define SHOAL_UTIL_FS_H

#include <sys/types.h>

/* Create path and its missing parents with mode, like `mkdir -p`. Returns 0
 * (also when it exists as a directory) or -1 with errno set. */
int fs_mkdir_p(const char *path, mode_t mode);

#endif
