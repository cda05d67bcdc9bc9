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

#include "runtime/ckpt/ckpt_store.h"
#include "util/fs.h"

/* Write text to the file name of every rank's directory, replacing it
 * atomically (a rank reads the old text or the new), or remove the file
 * when text is NULL. Returns 0 or the first negative errno met. */
/* Write text into RDIR/name (atomically: a temporary file renamed), or
 * remove it when text is NULL. Readable by all: the rank may run as
 * another user than the runtime that writes it, and says nothing
 * secret. */
static int ckpt_job_note(const char *rdir, const char *name, const char *text)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    int fd, rc = 0;

    if (snprintf(path, sizeof(path), "%s/%s", rdir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (!text)
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        rc = -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int ckpt_job_note_each(const char *root,
                              int nranks,
                              const char *name,
                              const char *text)
{
    char rdir[PATH_MAX];
    int first = 0;

    for (int r = 0; r < nranks; r++) {
        int rc;

        snprintf(rdir, sizeof(rdir), "%s/rank%d", root, r);
        rc = ckpt_job_note(rdir, name, text);
        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}

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

/* The store of rank r, or NULL (out of memory, or no such directory and
 * none can be made). */
static ckpt_store_t *ckpt_job_store(const char *root, int r)
{
    char path[PATH_MAX];
    ckpt_store_t *store = NULL;

    if (snprintf(path, sizeof(path), "%s/rank%d", root, r) >= (int)sizeof(path)
        || ckpt_store_create(path, &store) < 0)
        return NULL;
    return store;
}

/* Whether every rank committed version, and with verify, whether each
 * rank's copy is whole: a program that committed by the marker alone gets
 * its MANIFEST now (ckpt_store_seal), then every file is checked against
 * it. Sets why for the first rank that fails. */
static bool ckpt_job_whole(ckpt_store_t **stores,
                           int nranks,
                           int version,
                           bool verify,
                           bool *damaged,
                           char *why,
                           size_t whylen)
{
    *damaged = false;
    for (int r = 0; r < nranks; r++)
        if (ckpt_store_committed(stores[r], version) != 1)
            return false;
    for (int r = 0; verify && r < nranks; r++) {
        int rc = ckpt_store_seal(stores[r], version);

        if (rc == 0)
            rc = ckpt_store_verify(stores[r], version);
        if (rc < 0) {
            *damaged = true;
            snprintf(why, whylen, "rank %d's copy %s (%s)", r,
                     rc == -EUCLEAN ? "does not match its manifest"
                                    : "cannot be read",
                     strerror(-rc));
            return false;
        }
    }
    return true;
}

int ckpt_job_choose(const char *root,
                    int nranks,
                    bool verify,
                    struct ckpt_job_choice *choice,
                    shoal_error_t *error)
{
    ckpt_store_t **stores =
        calloc(nranks > 0 ? (size_t)nranks : 1, sizeof(*stores));
    int *versions = NULL, n = 0, rc = 0;

    memset(choice, 0, sizeof(*choice));
    for (int r = 0; stores && r < nranks; r++)
        if (!(stores[r] = ckpt_job_store(root, r)))
            rc = -ENOMEM;
    if (!stores)
        rc = -ENOMEM;
    if (rc == 0 && nranks > 0)
        n = rc = ckpt_store_list(stores[0], &versions);
    /* newest first: the list is ascending */
    for (int i = n - 1; rc >= 0 && i >= 0 && choice->previous == 0; i--) {
        char why[sizeof(choice->why)];
        bool damaged;

        if (choice->version) {
            /* the fallback, for retention: committed everywhere suffices */
            if (ckpt_job_whole(stores, nranks, versions[i], false, &damaged,
                               why, sizeof(why)))
                choice->previous = versions[i];
            continue;
        }
        if (ckpt_job_whole(stores, nranks, versions[i], verify, &damaged, why,
                           sizeof(why)))
            choice->version = versions[i];
        else if (damaged && choice->skipped == 0) {
            choice->skipped = versions[i];
            memcpy(choice->why, why, sizeof(why));
        }
    }
    free(versions);
    for (int r = 0; stores && r < nranks; r++)
        ckpt_store_destroy(stores[r]);
    free(stores);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot read checkpoints in '%s': %s",
                               root, strerror(-rc));
    return 0;
}

int ckpt_job_advance(const char *root,
                     const char *next_root,
                     int nranks,
                     int version,
                     shoal_error_t *error)
{
    char from[PATH_MAX], to[PATH_MAX];
    int rc = ckpt_job_prepare(next_root, nranks, error);

    for (int r = 0; rc == 0 && version > 0 && r < nranks; r++) {
        if (snprintf(from, sizeof(from), "%s/rank%d/v%d", root, r, version)
                >= (int)sizeof(from)
            || snprintf(to, sizeof(to), "%s/rank%d/v%d", next_root, r, version)
                   >= (int)sizeof(to))
            rc = shoal_errprintf(error, -ENAMETOOLONG,
                                 "checkpoint path too long under '%s'",
                                 next_root);
        else if (rename(from, to) < 0)
            rc = shoal_errprintf(error, -errno,
                                 "cannot move version %d of rank %d to '%s': "
                                 "%s",
                                 version, r, next_root, strerror(errno));
    }
    if (rc == 0 && (rc = ckpt_job_keep(next_root, nranks, version)) < 0)
        shoal_errprintf(error, rc, "cannot pin version %d in '%s': %s", version,
                        next_root, strerror(-rc));
    if (rc == 0)
        ckpt_job_remove(root);
    return rc;
}

int ckpt_job_prune(const char *root, int nranks, int older, int newest)
{
    int first = 0;

    for (int r = 0; r < nranks; r++) {
        ckpt_store_t *store = ckpt_job_store(root, r);
        int *versions = NULL, n, rc = 0;

        if (!store)
            return -ENOMEM;
        n = ckpt_store_list(store, &versions);
        for (int i = 0; i < n && rc == 0; i++)
            if (versions[i] < newest && versions[i] != older)
                rc = ckpt_store_remove(store, versions[i]);
        if (n < 0)
            rc = n;
        if (rc < 0 && first == 0)
            first = rc;
        free(versions);
        ckpt_store_destroy(store);
    }
    return first;
}

int ckpt_job_task_version(const char *rdir, int *version)
{
    ckpt_store_t *store = NULL;
    int *versions = NULL, n, rc;

    *version = 0;
    rc = ckpt_store_create(rdir, &store);
    if (rc < 0)
        return rc;
    n = ckpt_store_list(store, &versions);
    for (int i = 0; i < n; i++)
        if (ckpt_store_committed(store, versions[i]) == 1)
            ckpt_store_seal(store, versions[i]); /* a damaged one fails */
    free(versions);
    rc = n < 0 ? n : ckpt_store_newest(store, INT_MAX, version);
    ckpt_store_destroy(store);
    return rc;
}

void ckpt_job_task_done(const char *root, uint64_t task)
{
    char path[PATH_MAX];
    char *slash;

    if (snprintf(path, sizeof(path), "%s/task%llu", root,
                 (unsigned long long)task)
        >= (int)sizeof(path))
        return;
    ckpt_job_remove(path);
    if (rmdir(root) < 0)
        return; /* other tasks keep theirs */
    snprintf(path, sizeof(path), "%s", root);
    slash = strrchr(path, '/');
    if (slash && slash != path) {
        *slash = '\0';
        rmdir(path);
    }
}

/* The files of one version: count and bytes (MANIFEST and the marker
 * included: what the version costs on disk). */
static void ckpt_job_version_size(const char *dir, int *files, double *bytes)
{
    struct dirent *e;
    struct stat st;
    DIR *d = opendir(dir);

    *files = 0;
    *bytes = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISREG(st.st_mode)) {
            (*files)++;
            *bytes += (double)st.st_size;
        }
    }
    if (d)
        closedir(d);
}

/* "rankN" or "taskN": N, else -1. */
static long ckpt_job_member_index(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end;
    long v;

    if (strncmp(name, prefix, n) != 0 || name[n] < '0' || name[n] > '9')
        return -1;
    v = strtol(name + n, &end, 10);
    return *end ? -1 : v;
}

static int ckpt_job_member_cmp(const void *a, const void *b)
{
    const char *x =
        json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y =
        json_string_value(json_object_get(*(json_t *const *)b, "name"));
    long ix = ckpt_job_member_index(x, x[0] == 'r' ? "rank" : "task");
    long iy = ckpt_job_member_index(y, y[0] == 'r' ? "rank" : "task");

    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return ix < iy ? -1 : ix > iy;
}

static json_t *ckpt_job_describe_member(const char *root, const char *name)
{
    char path[PATH_MAX], vdir[2 * PATH_MAX];
    ckpt_store_t *store = NULL;
    json_t *m, *list = json_array();
    int *versions = NULL, n, keep = 0;

    snprintf(path, sizeof(path), "%s/%s", root, name);
    if (!list || ckpt_store_create(path, &store) < 0) {
        json_decref(list);
        return NULL;
    }
    ckpt_store_keep(store, &keep);
    n = ckpt_store_list(store, &versions);
    for (int i = 0; i < n; i++) {
        int files;
        double bytes;

        snprintf(vdir, sizeof(vdir), "%s/v%d", path, versions[i]);
        ckpt_job_version_size(vdir, &files, &bytes);
        json_array_append_new(
            list, json_pack("{s:i, s:b, s:i, s:f}", "version", versions[i],
                            "committed",
                            ckpt_store_committed(store, versions[i]) == 1,
                            "files", files, "bytes", bytes));
    }
    free(versions);
    ckpt_store_destroy(store);
    m = json_pack("{s:s, s:i, s:o}", "name", name, "keep", keep, "versions",
                  list);
    return m;
}

int ckpt_job_describe(const char *root, json_t **out, shoal_error_t *error)
{
    json_t *members = json_array(), **sorted = NULL;
    struct dirent *e;
    int nranks = 0, rc = 0;
    size_t n;
    DIR *d = opendir(root);

    if (!d) {
        rc = -errno;
        json_decref(members);
        return shoal_errprintf(error, rc, "cannot read '%s': %s", root,
                               strerror(-rc));
    }
    while (members && (e = readdir(d))) {
        json_t *m;

        if (ckpt_job_member_index(e->d_name, "rank") < 0
            && ckpt_job_member_index(e->d_name, "task") < 0)
            continue;
        nranks += ckpt_job_member_index(e->d_name, "rank") >= 0;
        m = ckpt_job_describe_member(root, e->d_name);
        if (m)
            json_array_append_new(members, m);
    }
    closedir(d);
    if (!members)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    n = json_array_size(members);
    if (n == 0) {
        json_decref(members);
        return shoal_errprintf(error, -ENOENT,
                               "'%s' holds no checkpoints (no rankN or taskN "
                               "directory)",
                               root);
    }
    /* rank0, rank1, ..., rank10 in numeric order */
    sorted = calloc(n, sizeof(*sorted));
    if (sorted) {
        json_t *in_order = json_array();

        for (size_t i = 0; i < n; i++)
            sorted[i] = json_array_get(members, i);
        qsort(sorted, n, sizeof(*sorted), ckpt_job_member_cmp);
        for (size_t i = 0; in_order && i < n; i++)
            json_array_append(in_order, sorted[i]);
        if (in_order) {
            json_decref(members);
            members = in_order;
        }
        free(sorted);
    }
    {
        struct ckpt_job_choice choice = {0};

        if (nranks > 0)
            ckpt_job_choose(root, nranks, false, &choice, NULL);
        char path[PATH_MAX];
        json_t *interval;

        *out = json_pack("{s:s, s:o, s:i}", "root", root, "members", members,
                         "version", choice.version);
        /* --checkpoint=auto leaves its numbers there (ckpt_watch) */
        snprintf(path, sizeof(path), "%s/INTERVAL", root);
        interval = json_load_file(path, 0, NULL);
        if (*out && json_is_object(interval))
            json_object_set_new(*out, "interval", interval);
        else
            json_decref(interval);
    }
    return *out ? 0 : shoal_errprintf(error, -ENOMEM, "out of memory");
}

int ckpt_job_request(const char *root, int nranks)
{
    return ckpt_job_note_each(root, nranks, "REQUEST", "checkpoint\n");
}

int ckpt_job_request_rdir(const char *rdir)
{
    return ckpt_job_note(rdir, "REQUEST", "checkpoint\n");
}

double ckpt_job_cost(const char *root, int nranks)
{
    double most = 0;

    for (int r = 0; r < nranks; r++) {
        ckpt_store_t *store = ckpt_job_store(root, r);
        double c = 0;

        if (store && ckpt_store_cost(store, &c) == 0 && c > most)
            most = c;
        ckpt_store_destroy(store);
    }
    return most;
}

int ckpt_job_keep(const char *root, int nranks, int version)
{
    char text[32];

    snprintf(text, sizeof(text), "%d\n", version);
    return ckpt_job_note_each(root, nranks, "KEEP", version > 0 ? text : NULL);
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
