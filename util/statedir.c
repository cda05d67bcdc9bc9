/* SPDX-License-Identifier: MIT */
/* statedir.c - the directory a node keeps its state in. */
#include "util/statedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int statedir_resolve(const char *dir, char *buf, size_t size)
{
    const char *env = getenv("SHOAL_DIR");
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;

    if (dir && *dir)
        n = snprintf(buf, size, "%s", dir);
    else if (env && *env)
        n = snprintf(buf, size, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buf, size, "/var/lib/shoal");
    else if (xdg && *xdg)
        n = snprintf(buf, size, "%s/shoal", xdg);
    else
        n = snprintf(buf, size, "%s/.local/state/shoal", home ? home : "");
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}
