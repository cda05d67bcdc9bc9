/* SPDX-License-Identifier: MIT */
/* ckpt_catalog.c - the ckpt.list, ckpt.remove and ckpt.forget ops, the
 * walk of a node's checkpoints and the sweep. */
#include "runtime/ckpt/ckpt_catalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_job.h"
#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_recv.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/ckpt/ckpt_wire.h"
#include "util/log.h"

/* Sum the sizes of the regular files of dir. */
static void ckpt_dir_size(const char *dir, uint64_t *bytes, int *files)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    *bytes = 0;
    *files = 0;
    if (!d)
        return;
    while ((de = readdir(d))) {
        struct stat st;

        if (de->d_name[0] == '.' || !strcmp(de->d_name, "MANIFEST")
            || !strcmp(de->d_name, "COMMITTED"))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISREG(st.st_mode)) {
            *bytes += (uint64_t)st.st_size;
            (*files)++;
        }
    }
    closedir(d);
}

/* Call fn for each version of the store at path (key), then of the
 * stores below; stop when fn returns nonzero. Returns that value, or 0. */
static int ckpt_list_walk(const char *path,
                          const char *key,
                          int depth,
                          ckpt_catalog_entry_f *fn,
                          void *arg)
{
    ckpt_store_t *store;
    int *versions = NULL, n, stop = 0;
    DIR *d;
    struct dirent *de;
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    if (*key && ckpt_store_create(path, &store) == 0) {
        n = ckpt_store_list(store, &versions);
        for (int i = 0; stop == 0 && i < n; i++) {
            char vdir[PATH_MAX];
            uint64_t bytes = 0;
            int files = 0;

            if (ckpt_store_path(store, versions[i], NULL, vdir, sizeof(vdir))
                == 0)
                ckpt_dir_size(vdir, &bytes, &files);
            stop = fn(key, versions[i], bytes, files,
                      ckpt_store_committed(store, versions[i]) == 1, arg);
        }
        free(versions);
        ckpt_store_destroy(store);
    }
    if (stop || depth >= CKPT_LIST_DEPTH)
        return stop;
    d = opendir(path);
    if (!d)
        return 0;
    while (stop == 0 && (de = readdir(d))) {
        char sub[PATH_MAX], subkey[CKPT_KEY_MAX + CKPT_KEY_PART_MAX + 2];
        int a = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        int b = *key
                    ? snprintf(subkey, sizeof(subkey), "%s/%s", key, de->d_name)
                    : snprintf(subkey, sizeof(subkey), "%s", de->d_name);

        if (a < 0 || (size_t)a >= sizeof(sub) || b < 0
            || (size_t)b >= sizeof(subkey) || ckpt_key_check(subkey, 0) < 0)
            continue; /* ".", "..", staging and version directories */
        stop = ckpt_list_walk(sub, subkey, depth + 1, fn, arg);
    }
    closedir(d);
    return stop;
}

int ckpt_catalog_walk(struct ckpt_service *svc,
                      bool originals,
                      const char *prefix,
                      ckpt_catalog_entry_f *fn,
                      void *arg)
{
    char path[PATH_MAX];
    int n;

    if (ckpt_key_check(prefix, 1) < 0)
        return -EINVAL;
    n = snprintf(path, sizeof(path), "%s/%s%s%s", svc->state,
                 originals ? "ckpt-jobs" : "ckpt", *prefix ? "/" : "", prefix);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return ckpt_list_walk(path, prefix, 0, fn, arg);
}

static int ckpt_list_append(const char *key,
                            int version,
                            uint64_t bytes,
                            int files,
                            bool committed,
                            void *arg)
{
    json_array_append_new(arg, json_pack("{s:s, s:i, s:I, s:i, s:b}", "key",
                                         key, "version", version, "bytes",
                                         (json_int_t)bytes, "files", files,
                                         "committed", committed));
    return 0;
}

static int ckpt_list_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "key")),
                   json_string_value(json_object_get(y, "key")));

    if (c)
        return c;
    return (int)(json_integer_value(json_object_get(x, "version"))
                 - json_integer_value(json_object_get(y, "version")));
}

void ckpt_catalog_list(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    json_t *jkey = json_object_get(req, "key");
    const char *key = jkey ? json_string_value(jkey) : "";
    char path[PATH_MAX];
    json_t *out, *sorted;
    json_t **v;
    size_t n;

    if (!key || ckpt_key_path(svc->state, key, path, sizeof(path)) < 0) {
        control_reply_error(conn, -EINVAL, "invalid checkpoint key '%s'",
                            key ? key : "");
        return;
    }
    out = json_array();
    ckpt_list_walk(path, key, 0, ckpt_list_append, out);
    n = json_array_size(out);
    v = calloc(n + 1, sizeof(*v));
    sorted = json_array();
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(out, i);
    if (v)
        qsort(v, n, sizeof(*v), ckpt_list_cmp);
    for (size_t i = 0; v && i < n; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(out);
    control_reply(conn, json_pack("{s:o}", "versions", sorted));
}

void ckpt_catalog_remove(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    const char *key = json_string_value(json_object_get(req, "key"));
    char path[PATH_MAX];
    ckpt_store_t *store;
    int *versions = NULL, n, keep_from, rc = 0;
    json_t *removed;
    struct stat st;

    if (ckpt_key_check(key, 0) < 0
        || ckpt_key_path(svc->state, key, path, sizeof(path)) < 0) {
        control_reply_error(conn, -EINVAL, "invalid checkpoint key '%s'",
                            key ? key : "");
        return;
    }
    if (ckpt_get_version(req, "keep_from", &keep_from, 0) < 0) {
        control_reply_error(conn, -EINVAL, "'keep_from' must be >= 0");
        return;
    }
    removed = json_array();
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        control_reply(conn, json_pack("{s:o}", "removed", removed));
        return;
    }
    rc = ckpt_store_create(path, &store);
    n = rc == 0 ? ckpt_store_list(store, &versions) : rc;
    for (int i = 0; i < n; i++) {
        ckpt_store_t *stage;

        if (keep_from != 0 && versions[i] >= keep_from)
            continue;
        rc = ckpt_store_remove(store, versions[i]);
        if (rc < 0)
            break;
        if (ckpt_recv_stage_open(path, versions[i], &stage) == 0) {
            ckpt_recv_stage_remove(stage, versions[i]);
            ckpt_store_destroy(stage);
        }
        json_array_append_new(removed, json_integer(versions[i]));
    }
    free(versions);
    if (n >= 0)
        ckpt_store_destroy(store);
    if (n < 0 || rc < 0) {
        json_decref(removed);
        control_reply_error(conn, n < 0 ? n : rc,
                            "cannot remove copies of '%s': %s", key,
                            shoal_strerror(n < 0 ? n : rc));
        return;
    }
    control_reply(conn, json_pack("{s:o}", "removed", removed));
}

/* The two places a node keeps a job's checkpoints. */
static const char *const ckpt_catalog_roots[] = {"ckpt", "ckpt-jobs"};

static bool ckpt_catalog_job_key(const char *key)
{
    return ckpt_key_check(key, 0) == 0 && !strchr(key, '/');
}

int ckpt_catalog_forget_job(struct ckpt_service *svc, const char *key)
{
    int first = 0;

    if (!ckpt_catalog_job_key(key))
        return -EINVAL;
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        int rc, n = snprintf(path, sizeof(path), "%s/%s/%s", svc->state,
                             ckpt_catalog_roots[i], key);

        if (n < 0 || (size_t)n >= sizeof(path))
            return -ENAMETOOLONG;
        rc = ckpt_job_remove(path);
        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}

void ckpt_catalog_forget(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    const char *key = json_string_value(json_object_get(req, "key"));
    struct ckpt_msg m = {.type = CKPT_FRAME_FORGET};
    struct daemon_member *members = NULL;
    size_t n = 0;
    int told = 0, rc;

    if (!key || !ckpt_catalog_job_key(key)) {
        control_reply_error(conn, -EINVAL, "invalid job key '%s'",
                            key ? key : "");
        return;
    }
    rc = ckpt_catalog_forget_job(svc, key);
    if (rc < 0) {
        control_reply_error(conn, rc,
                            "cannot remove the checkpoints of '%s': %s", key,
                            shoal_strerror(rc));
        return;
    }
    snprintf(m.key, sizeof(m.key), "%s", key);
    /* a node that misses this (away, queue full) sweeps the job later */
    if (daemon_members(svc->d, &members, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (!members[i].self && members[i].state == MEMBER_ALIVE
                && ckpt_node_send(svc, members[i].id, &m) == 0)
                told++;
    free(members);
    LOG(LOG_LEVEL_INFO, LOG_CKPT,
        "job %s: checkpoints removed here, %d nodes told", key, told);
    control_reply(conn, json_pack("{s:i}", "nodes", told));
}

/* The newest change in a tree, as nftw() walks it. */
static double ckpt_catalog_newest;

static int ckpt_catalog_note(const char *path,
                             const struct stat *st,
                             int flag,
                             struct FTW *ftw)
{
    double t = (double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec * 1e-9;

    (void)path;
    (void)flag;
    (void)ftw;
    if (t > ckpt_catalog_newest)
        ckpt_catalog_newest = t;
    return 0;
}

int ckpt_catalog_sweep(struct ckpt_service *svc, double retain, double now)
{
    int removed = 0;

    for (size_t i = 0; i < 2; i++) {
        char root[PATH_MAX];
        DIR *d;
        struct dirent *de;
        int n = snprintf(root, sizeof(root), "%s/%s", svc->state,
                         ckpt_catalog_roots[i]);

        if (n < 0 || (size_t)n >= sizeof(root) || !(d = opendir(root)))
            continue;
        while ((de = readdir(d))) {
            char path[PATH_MAX];

            if (!ckpt_catalog_job_key(de->d_name))
                continue;
            n = snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
            if (n < 0 || (size_t)n >= sizeof(path))
                continue;
            ckpt_catalog_newest = 0;
            if (nftw(path, ckpt_catalog_note, 16, FTW_PHYS) < 0
                || now - ckpt_catalog_newest < retain)
                continue;
            if (ckpt_job_remove(path) == 0) {
                LOG(LOG_LEVEL_NOTICE, LOG_CKPT,
                    "removed the checkpoints of job %s in %s: unchanged "
                    "for %.0f days",
                    de->d_name, ckpt_catalog_roots[i],
                    (now - ckpt_catalog_newest) / 86400);
                removed++;
            }
        }
        closedir(d);
    }
    return removed;
}
