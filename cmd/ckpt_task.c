/* SPDX-License-Identifier: MIT */
/* ckpt_task.c - `shoal ckpt-task push|pull` (hidden): what a worker's
 * task service has done for the checkpoints of a task run with
 * `shoal submit --checkpoint --replicas R`, in a process of its own so
 * the daemon's loop and thread pool never wait on a copy
 * (runtime/tasks/taskd.h starts it):
 *
 *   push STATE RDIR VERSION KEY R [S]  copy VERSION of the task's store
 *                                   RDIR to R other nodes (ckpt.replicate,
 *                                   key KEY: JOBKEY/taskN), then publish
 *                                   it in this daemon's store of copies
 *                                   (STATE/ckpt/KEY), so this node can
 *                                   serve it too, and raise RDIR/KEEP to
 *                                   VERSION: the version has its R+1
 *                                   copies, the task's commit that waits
 *                                   for it returns, and retention keeps
 *                                   it until a newer one has them too
 *                                   (a failed copy is noted in
 *                                   RDIR/NOCOPY: the commit need not
 *                                   wait longer);
 *                                   waiting S seconds at most for the
 *                                   copy (a failed task's result waits
 *                                   for it)
 *   pull STATE RDIR KEY             before the task starts here: put in
 *                                   RDIR the newest committed version
 *                                   some node holds, newer than what RDIR
 *                                   has, linked from this node's copies
 *                                   or fetched (ckpt.pool-list to find
 *                                   it, ckpt.fetch, every file verified)
 *
 * STATE is the daemon's state directory. Exit 0 when done (a pull that
 * finds nothing newer is done), 1 after saying on stderr what failed. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/daemon/control.h"
#include "runtime/job/node_ckpt.h"
#include "util/nodeid.h"

enum {
    CKPT_TASK_COPY_MS = 600 * 1000, /* a copy or a fetch, at most */
    CKPT_TASK_LIST_MS = 30 * 1000,
};

/* Ask the daemon of state; sets *reply (ok or not). Returns 0 or a
 * negative errno with why filled. */
static int ckpt_task_request(const char *state,
                             json_t *req,
                             int timeout_ms,
                             json_t **reply,
                             shoal_error_t *why)
{
    char path[PATH_MAX];
    int fd, rc;

    *reply = NULL;
    if (!req)
        return shoal_errprintf(why, -ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/control.sock", state);
    rc = control_client_connect(path, &fd, why);
    if (rc == 0) {
        rc = control_client_request(fd, req, timeout_ms, reply, why);
        close(fd);
    }
    json_decref(req);
    if (rc == 0 && !json_is_true(json_object_get(*reply, "ok"))) {
        const char *text = json_string_value(json_object_get(*reply, "error"));
        rc = shoal_errprintf(why, -EIO, "%s", text ? text : "refused");
    }
    return rc;
}

/* The daemon's own copies of key: STATE/ckpt/KEY. */
static int
ckpt_task_published(const char *state, const char *key, ckpt_store_t **out)
{
    char dir[PATH_MAX];

    if (snprintf(dir, sizeof(dir), "%s/ckpt/%s", state, key)
        >= (int)sizeof(dir))
        return -ENAMETOOLONG;
    return ckpt_store_create(dir, out);
}

/* Seconds from the commit of version to now (*lag), and from the commit
 * of the oldest version this copy makes durable, the first committed one
 * above KEEP (*oldest): how long a version waited for its copy to
 * start. On the file system's clock (the markers' times); -1 unknown. */
static void ckpt_task_lag(const ckpt_store_t *store,
                          int version,
                          const struct timespec *now,
                          double *lag,
                          double *oldest)
{
    struct timespec at;
    int *versions = NULL, n, keep = 0;

    if (ckpt_store_commit_time(store, version, &at) == 0)
        *lag = (double)(now->tv_sec - at.tv_sec)
               + (double)(now->tv_nsec - at.tv_nsec) / 1e9;
    *oldest = *lag;
    if (ckpt_store_keep(store, &keep) < 0)
        return;
    n = ckpt_store_list(store, &versions);
    for (int i = 0; i < n; i++)
        if (versions[i] > keep && versions[i] < version
            && ckpt_store_commit_time(store, versions[i], &at) == 0) {
            *oldest = (double)(now->tv_sec - at.tv_sec)
                      + (double)(now->tv_nsec - at.tv_nsec) / 1e9;
            break;
        }
    free(versions);
}

static int ckpt_task_push(char **argv)
{
    const char *state = argv[0], *rdir = argv[1], *key = argv[3];
    int version = atoi(argv[2]), copies = atoi(argv[4]), rc;
    int wait_ms = argv[5] ? atoi(argv[5]) * 1000 : CKPT_TASK_COPY_MS;
    ckpt_store_t *store = NULL, *pub = NULL;
    shoal_error_t why = {{0}};
    json_t *reply = NULL;
    struct timespec now, done;
    double lag = -1, oldest = -1;

    if (version < 1 || copies < 1)
        return cmd_usage("ckpt-task", "bad version or copies");
    clock_gettime(CLOCK_REALTIME, &now);
    if (ckpt_store_create(rdir, &store) == 0)
        ckpt_task_lag(store, version, &now, &lag, &oldest);
    ckpt_store_destroy(store);
    store = NULL;
    rc = ckpt_task_request(
        state,
        json_pack("{s:s, s:s, s:i, s:s, s:i}", "op", "ckpt.replicate", "dir",
                  rdir, "version", version, "key", key, "copies", copies),
        wait_ms > 0 ? wait_ms : CKPT_TASK_COPY_MS, &reply, &why);
    json_decref(reply);
    if (rc < 0) {
        /* a commit waiting for this copy need not wait for its bound */
        if (ckpt_store_create(rdir, &store) == 0)
            ckpt_store_nocopy_write(store, version, why.text);
        ckpt_store_destroy(store);
        return cmd_fail(1, "cannot copy version %d of '%s': %s", version, key,
                        why.text);
    }
    /* the replicate sealed the version: it has its MANIFEST now */
    rc = ckpt_store_create(rdir, &store);
    if (rc == 0)
        rc = ckpt_task_published(state, key, &pub);
    if (rc == 0)
        rc = node_ckpt_link(store, pub, version);
    /* R+1 copies exist (R elsewhere, this one): the version is durable */
    if (rc == 0)
        rc = ckpt_store_keep_raise(store, version);
    if (rc == 0)
        ckpt_store_nocopy_write(store, 0, NULL);
    ckpt_store_destroy(store);
    ckpt_store_destroy(pub);
    if (rc < 0)
        return cmd_fail(1,
                        "version %d of '%s' copied, but not published or "
                        "marked durable here: %s",
                        version, key, strerror(-rc));
    clock_gettime(CLOCK_REALTIME, &done);
    double took = (double)(done.tv_sec - now.tv_sec)
                  + (double)(done.tv_nsec - now.tv_nsec) / 1e9;
    printf("version %d of %s copied to %d other node%s: started %.3f s after "
           "its commit (%.3f s after the oldest version it makes durable), "
           "durable %.3f s after it\n",
           version, key, copies, copies > 1 ? "s" : "", lag, oldest,
           lag < 0 ? -1 : lag + took);
    return 0;
}

/* From a ckpt.pool-list reply: the newest version of key newer than
 * above that some node has committed, with its holders (other than self)
 * in from. Returns the version, or 0. */
static int ckpt_task_newest(
    json_t *reply, const char *key, int above, uint64_t self, json_t *from)
{
    json_t *job, *rank, *v, *h;
    size_t i, k, l, m;
    int best = 0;

    json_array_foreach (json_object_get(reply, "jobs"), i, job) {
        const char *jk = json_string_value(json_object_get(job, "key"));
        if (!jk || strcmp(jk, key) != 0)
            continue;
        json_array_foreach (json_object_get(job, "ranks"), k, rank)
            json_array_foreach (json_object_get(rank, "versions"), l, v) {
                int n = (int)json_integer_value(json_object_get(v, "version"));
                if (n <= above || n <= best
                    || !json_is_true(json_object_get(v, "committed")))
                    continue;
                json_array_clear(from);
                json_array_foreach (json_object_get(v, "holders"), m, h) {
                    const char *id =
                        json_string_value(json_object_get(h, "node"));
                    if (id && json_is_true(json_object_get(h, "committed"))
                        && strtoull(id, NULL, 16) != self)
                        json_array_append_new(from, json_string(id));
                }
                if (json_array_size(from) > 0)
                    best = n;
            }
    }
    if (best == 0)
        json_array_clear(from);
    return best;
}

static int ckpt_task_pull(char **argv)
{
    const char *state = argv[0], *rdir = argv[1], *key = argv[2];
    ckpt_store_t *store = NULL, *pub = NULL;
    int have = 0, mine = 0, best = 0, rc;
    shoal_error_t why = {{0}};
    json_t *reply = NULL, *from = json_array(), *list = NULL;
    uint64_t self = 0;

    rc = ckpt_store_create(rdir, &store);
    if (rc == 0)
        rc = ckpt_store_newest(store, INT_MAX, &have);
    /* this node may hold a copy: the partner of the node that ran it */
    if (rc == 0 && ckpt_task_published(state, key, &pub) == 0
        && ckpt_store_newest(pub, INT_MAX, &mine) == 0 && mine > have
        && node_ckpt_link(pub, store, mine) == 0)
        have = mine;
    ckpt_store_destroy(pub);
    if (rc < 0) {
        ckpt_store_destroy(store);
        json_decref(from);
        return cmd_fail(1, "cannot read '%s': %s", rdir, strerror(-rc));
    }
    nodeid_load(state, &self, NULL);
    rc = ckpt_task_request(
        state, json_pack("{s:s, s:s}", "op", "ckpt.pool-list", "key", key),
        CKPT_TASK_LIST_MS, &list, &why);
    if (rc == 0 && from)
        best = ckpt_task_newest(list, key, have, self, from);
    json_decref(list);
    if (rc < 0) {
        ckpt_store_destroy(store);
        json_decref(from);
        return cmd_fail(1, "cannot list the copies of '%s': %s", key, why.text);
    }
    if (best > 0) {
        rc = ckpt_task_request(state,
                               json_pack("{s:s, s:s, s:i, s:s, s:O}", "op",
                                         "ckpt.fetch", "key", key, "version",
                                         best, "dir", ckpt_store_dir(store),
                                         "from", from),
                               CKPT_TASK_COPY_MS, &reply, &why);
        json_decref(reply);
    }
    ckpt_store_destroy(store);
    json_decref(from);
    if (rc < 0)
        return cmd_fail(1, "cannot fetch version %d of '%s': %s", best, key,
                        why.text);
    if (best > 0)
        printf("version %d of %s fetched\n", best, key);
    else
        printf("%s: version %d here, none newer on the pool\n", key, have);
    return 0;
}

int cmd_ckpt_task(int argc, char **argv)
{
    if ((argc == 6 || argc == 7) && strcmp(argv[0], "push") == 0)
        return ckpt_task_push(argv + 1);
    if (argc == 4 && strcmp(argv[0], "pull") == 0)
        return ckpt_task_pull(argv + 1);
    return cmd_usage("ckpt-task",
                     "push STATE RDIR VERSION KEY R [S] | pull STATE RDIR "
                     "KEY");
}
