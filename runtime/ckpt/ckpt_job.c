/* SPDX-License-Identifier: MIT */
/* ckpt_job.c - the job-wide view of the ranks' checkpoint directories. */
#include "runtime/ckpt/ckpt_job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

int ckpt_job_prepare(const char *root, int nranks, shoal_error_t *error)
{
    char path[PATH_MAX];
    int rc = fs_mkdir_p(root, 0700);

    for (int r = 0; rc == 0 && r < nranks; r++) {
        if (snprintf(path, sizeof(path), "%s/rank%d", root, r)
            >= (int)sizeof(path))
            rc = -ENAMETOOLONG;
        else if (mkdir(path, 0700) < 0 && errno != EEXIST)
            rc = -errno;
    }
    if (rc < 0)
        return shoal_errprintf(error, rc,
                               "cannot make the checkpoint directory '%s': %s",
                               root, strerror(-rc));
    return 0;
}

/* "vN" with N a positive decimal without leading zeros; 0 otherwise. */
static int ckpt_job_version_of(const char *name)
{
    char *end;
    long v;

    if (name[0] != 'v' || name[1] < '1' || name[1] > '9')
        return 0;
    errno = 0;
    v = strtol(name + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX)
        return 0;
    return (int)v;
}

static bool ckpt_job_committed(const char *root, int rank, int version)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/rank%d/v%d/COMMITTED", root, rank,
                 version)
        >= (int)sizeof(path))
        return false;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The committed versions of rank 0, newest first, in *out (caller frees).
 * Returns how many, or a negative errno. */
static int ckpt_job_versions(const char *root, int **out)
{
    char path[PATH_MAX];
    struct dirent *e;
    int *v = NULL, n = 0, cap = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/rank0", root);
    d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        int version = ckpt_job_version_of(e->d_name);

        if (version == 0 || !ckpt_job_committed(root, 0, version))
            continue;
        if (n == cap) {
            int *grown =
                realloc(v, (size_t)(cap = cap ? 2 * cap : 8) * sizeof(*v));
            if (!grown) {
                closedir(d);
                free(v);
                return -ENOMEM;
            }
            v = grown;
        }
        v[n++] = version;
    }
    closedir(d);
    /* newest first; a handful of entries (retention keeps two) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] > v[j - 1]; j--) {
            int t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *out = v;
    return n;
}

/* Whether version holds together on rank: its MANIFEST names files that
 * are all there with their sizes. The hashes are the store's to check. */
static int ckpt_job_intact(
    const char *root, int rank, int version, char *why, size_t whylen)
{
    char path[2 * PATH_MAX], line[PATH_MAX + 128], name[PATH_MAX];
    unsigned long long size;
    struct stat st;
    FILE *f;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/rank%d/v%d/MANIFEST", root, rank, version);
    f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "rank %d has no MANIFEST for version %d", rank,
                 version);
        return 0;
    }
    if (!fgets(line, sizeof(line), f) || strcmp(line, "shoal-ckpt 1\n") != 0) {
        snprintf(why, whylen, "rank %d's MANIFEST of version %d is not one",
                 rank, version);
        fclose(f);
        return 0;
    }
    rc = 1;
    while (rc == 1 && fgets(line, sizeof(line), f)) {
        char hash[80];

        if (sscanf(line, "%79s %llu %4095[^\n]", hash, &size, name) != 3) {
            snprintf(why, whylen,
                     "rank %d's MANIFEST of version %d has a bad line", rank,
                     version);
            rc = 0;
            break;
        }
        snprintf(path, sizeof(path), "%s/rank%d/v%d/%s", root, rank, version,
                 name);
        if (stat(path, &st) < 0 || (unsigned long long)st.st_size != size) {
            snprintf(why, whylen,
                     "rank %d's file '%.200s' of version %d is missing or has "
                     "the "
                     "wrong size",
                     rank, name, version);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int ckpt_job_choose(const char *root,
                    int nranks,
                    bool verify,
                    struct ckpt_job_choice *choice,
                    shoal_error_t *error)
{
    int *versions = NULL;
    int n = ckpt_job_versions(root, &versions);

    memset(choice, 0, sizeof(*choice));
    if (n < 0)
        return shoal_errprintf(error, n, "cannot read checkpoints in '%s': %s",
                               root, strerror(-n));
    for (int i = 0; i < n && choice->version == 0; i++) {
        bool all = true;

        for (int r = 0; all && r < nranks; r++)
            all = ckpt_job_committed(root, r, versions[i]);
        if (!all)
            continue; /* not a job-wide version: nothing wrong with it */
        for (int r = 0; verify && all && r < nranks; r++)
            all = ckpt_job_intact(root, r, versions[i], choice->why,
                                  sizeof(choice->why))
                  == 1;
        if (all)
            choice->version = versions[i];
        else if (choice->skipped == 0)
            choice->skipped = versions[i];
    }
    free(versions);
    return 0;
}

int ckpt_job_keep(const char *root, int nranks, int version)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8], text[32];
    int len = snprintf(text, sizeof(text), "%d\n", version);

    for (int r = 0; r < nranks; r++) {
        int fd, rc = 0;

        snprintf(path, sizeof(path), "%s/rank%d/KEEP", root, r);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
        if (write(fd, text, (size_t)len) != len)
            rc = errno ? -errno : -EIO;
        close(fd);
        if (rc == 0 && rename(tmp, path) < 0)
            rc = -errno;
        if (rc < 0) {
            unlink(tmp);
            return rc;
        }
    }
    return 0;
}

static int ckpt_job_unlink(const char *path,
                           const struct stat *st,
                           int flag,
                           struct FTW *f)
{
    (void)st;
    (void)f;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT
               ? -1
               : 0;
}

int ckpt_job_remove(const char *root)
{
    if (nftw(root, ckpt_job_unlink, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}
