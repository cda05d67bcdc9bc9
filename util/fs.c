/* SPDX-License-Identifier: MIT */
/* fs.c - small file system helpers. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

int fs_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    struct stat st;

    if (len == 0 || len >= sizeof(buf)) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0) {
        if (errno != EEXIST)
            return -1;
        if (stat(buf, &st) < 0)
            return -1;
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

static int fs_remove_one(const char *path,
                         const struct stat *st,
                         int flag,
                         struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fs_remove_tree(const char *path)
{
    nftw(path, fs_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void fs_sweep_orphans(const char *dir, const char *prefix)
{
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        struct stat st;
        char *end;
        long pid;

        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        errno = 0;
        pid = strtol(e->d_name + plen, &end, 10);
        if (errno || end == e->d_name + plen || (*end && *end != '.')
            || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
            >= (int)sizeof(path))
            continue;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)
            && st.st_uid == geteuid())
            fs_remove_tree(path);
    }
    closedir(d);
}
