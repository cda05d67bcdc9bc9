/* SPDX-License-Identifier: MIT */
/* node_ckpt.c - a node's ranks' checkpoints: copied away, pinned, brought
 * back. */
#include "runtime/job/node_ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "runtime/ckpt/ckpt_job.h"
#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/daemon/control.h"
#include "util/log.h"
#include "util/nodeid.h"
#include "util/statedir.h"

enum {
    /* a rank's durable commit waits for the scan that finds it */
    NODE_CKPT_PERIOD_MS = 100,
    /* a copy of a large version may take long; a fetch too */
    NODE_CKPT_REPLICATE_MS = 600 * 1000,
    NODE_CKPT_FETCH_MS = 600 * 1000,
};

static const char node_ckpt_prefix[] = "@state/";

struct node_ckpt_work;

struct node_ckpt_rank {
    int rank;
    char dir[PATH_MAX + 32];     /* ROOT/rankN */
    ckpt_store_t *store;         /* of dir */
    ckpt_store_t *published;     /* STATE/ckpt/JOBKEY/rankN */
    int copied;                  /* newest version copied (or given up) */
    struct node_ckpt_work *work; /* the copy on the thread pool, or NULL */
};

struct node_ckpt {
    struct node_ckpt_config config;
    char state[PATH_MAX];
    char sock[PATH_MAX + 16];
    char jobkey[CKPT_KEY_PART_MAX + 1];
    uint64_t self;
    int copies;
    int run;  /* K of runK */
    int kept; /* the job's version before the last; older ones go */
    struct node_ckpt_rank *ranks;
    uv_timer_t timer;
    bool timer_on;
    bool stopped;
    /* node_ckpt_flush(): waiting for the last copies */
    bool flushing;
    void (*flushed)(void *arg);
    void *flushed_arg;
};

/* One copy, made on the thread pool. */
struct node_ckpt_work {
    uv_work_t req;
    struct node_ckpt *nc;
    int index;
    int version;
    char dir[PATH_MAX];
    char key[CKPT_KEY_MAX];
    int rc;
    uint64_t nodes[JOB_WIRE_HOLDERS_MAX];
    int nnodes;
    char why[512];
};

/* Setting up --------------------------------------------------------------- */

/* "JOBKEY/runK": a key component, then the run. */
static int
node_ckpt_parse_root(const char *rest, char *jobkey, size_t len, int *run)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    char *end;
    long k;

    if (!slash || n == 0 || n >= len || strncmp(slash + 1, "run", 3) != 0)
        return -EINVAL;
    k = strtol(slash + 4, &end, 10);
    if (end == slash + 4 || *end || k < 0 || k > 1000000)
        return -EINVAL;
    *run = (int)k;
    memcpy(jobkey, rest, n);
    jobkey[n] = '\0';
    return ckpt_key_check(jobkey, 0);
}

static const char *node_ckpt_env(char **env, uint32_t nenv, const char *name)
{
    size_t len = strlen(name);

    for (uint32_t i = 0; i < nenv; i++)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

static int node_ckpt_open_ranks(struct node_ckpt *nc, const char *root)
{
    char dir[PATH_MAX + 32], key[CKPT_KEY_MAX], pub[PATH_MAX];
    int rc;

    for (int i = 0; i < nc->config.nranks; i++) {
        struct node_ckpt_rank *r = &nc->ranks[i];

        r->rank = nc->config.ranks[i];
        snprintf(dir, sizeof(dir), "%s/rank%d", root, r->rank);
        snprintf(r->dir, sizeof(r->dir), "%s", dir);
        snprintf(key, sizeof(key), "%s/rank%d", nc->jobkey, r->rank);
        rc = ckpt_store_create(dir, &r->store);
        if (rc == 0)
            rc = ckpt_key_path(nc->state, key, pub, sizeof(pub));
        if (rc == 0)
            rc = ckpt_store_create(pub, &r->published);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int node_ckpt_create(const struct node_ckpt_config *config,
                     char **env,
                     uint32_t nenv,
                     node_ckpt_t **out,
                     shoal_error_t *error)
{
    const char *root = node_ckpt_env(env, nenv, "SHOAL_CKPT_ROOT");
    const char *copies = node_ckpt_env(env, nenv, "SHOAL_CKPT_REPLICAS");
    struct node_ckpt *nc;
    char *var = NULL;
    int rc;

    *out = NULL;
    if (!root || strncmp(root, node_ckpt_prefix, strlen(node_ckpt_prefix)))
        return 0;
    nc = calloc(1, sizeof(*nc));
    if (!nc)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    nc->config = *config;
    nc->copies = copies ? atoi(copies) : 1;
    if (nc->copies < 1 || nc->copies > 64)
        nc->copies = 1;
    root += strlen(node_ckpt_prefix);
    rc = node_ckpt_parse_root(root, nc->jobkey, sizeof(nc->jobkey), &nc->run);
    if (rc < 0) {
        rc =
            shoal_errprintf(error, rc, "bad checkpoint root '@state/%s'", root);
        goto error;
    }
    rc = statedir_resolve(NULL, nc->state, sizeof(nc->state));
    if (rc == 0)
        rc = nodeid_load(nc->state, &nc->self, error);
    if (rc < 0) {
        if (!error || !error->text[0])
            rc = shoal_errprintf(error, rc, "no state directory: %s",
                                 shoal_strerror(rc));
        goto error;
    }
    snprintf(nc->sock, sizeof(nc->sock), "%s/control.sock", nc->state);
    nc->ranks = calloc((size_t)config->nranks + 1, sizeof(*nc->ranks));
    if (!nc->ranks
        || asprintf(&var, "SHOAL_CKPT_ROOT=%s/ckpt-jobs/%s", nc->state, root)
               < 0) {
        var = NULL;
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }
    rc = node_ckpt_open_ranks(nc, var + strlen("SHOAL_CKPT_ROOT="));
    if (rc < 0) {
        rc = shoal_errprintf(error, rc,
                             "cannot create checkpoint directories in "
                             "'%s': %s",
                             var + strlen("SHOAL_CKPT_ROOT="),
                             shoal_strerror(rc));
        goto error;
    }
    for (uint32_t i = 0; i < nenv; i++)
        if (strncmp(env[i], "SHOAL_CKPT_ROOT=", 16) == 0) {
            free(env[i]);
            env[i] = var;
            break;
        }
    *out = nc;
    return 0;
error:
    free(var);
    node_ckpt_destroy(nc);
    return rc;
}

static uid_t node_ckpt_owner_uid;
static gid_t node_ckpt_owner_gid;

static int node_ckpt_give_one(const char *path,
                              const struct stat *st,
                              int type,
                              struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return lchown(path, node_ckpt_owner_uid, node_ckpt_owner_gid) < 0 ? -errno
                                                                      : 0;
}

/* Add passage (x) for group and others to path. */
static int node_ckpt_pass(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    if ((st.st_mode & 0011) == 0011)
        return 0;
    return chmod(path, (st.st_mode & 07777) | 0011) < 0 ? -errno : 0;
}

int node_ckpt_give(node_ckpt_t *nc, uid_t uid, gid_t gid, shoal_error_t *error)
{
    char top[PATH_MAX + 16], key[PATH_MAX + 160], run[PATH_MAX + 192];
    int rc;

    snprintf(top, sizeof(top), "%s/ckpt-jobs", nc->state);
    snprintf(key, sizeof(key), "%s/%s", top, nc->jobkey);
    snprintf(run, sizeof(run), "%s/run%d", key, nc->run);
    rc = node_ckpt_pass(nc->state);
    if (rc == 0)
        rc = node_ckpt_pass(top);
    if (rc == 0)
        rc = node_ckpt_pass(key);
    /* one job at a time in a proxy: the walk's target is a global */
    node_ckpt_owner_uid = uid;
    node_ckpt_owner_gid = gid;
    if (rc == 0)
        rc = nftw(run, node_ckpt_give_one, 16, FTW_PHYS);
    if (rc < 0)
        return shoal_errprintf(error, rc,
                               "cannot give the checkpoint directory '%s' to "
                               "uid %u: %s",
                               run, (unsigned)uid, strerror(-rc));
    return 0;
}

/* Versions by hard links ----------------------------------------------------
 */

int node_ckpt_link(const ckpt_store_t *from,
                   const ckpt_store_t *to,
                   int version)
{
    char src[PATH_MAX], dst[PATH_MAX], *text = NULL;
    struct ckpt_file *files = NULL;
    size_t len, n = 0;
    int rc;

    if (ckpt_store_committed(to, version) == 1)
        return 0;
    rc = ckpt_store_manifest(from, version, &text, &len);
    if (rc == 0)
        rc = ckpt_manifest_parse(text, len, &files, &n);
    free(text);
    if (rc == 0)
        rc = ckpt_store_begin(to, version);
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        /* the files, then the MANIFEST (i == n) */
        const char *name = i < n ? files[i].name : NULL;
        char vdir[PATH_MAX];

        if (name) {
            rc = ckpt_store_path(from, version, name, src, sizeof(src));
            if (rc == 0)
                rc = ckpt_store_path(to, version, name, dst, sizeof(dst));
        } else {
            rc = ckpt_store_path(from, version, NULL, vdir, sizeof(vdir));
            snprintf(src, sizeof(src), "%.4000s/MANIFEST", vdir);
            if (rc == 0)
                rc = ckpt_store_path(to, version, NULL, vdir, sizeof(vdir));
            snprintf(dst, sizeof(dst), "%.4000s/MANIFEST", vdir);
        }
        if (rc == 0 && link(src, dst) < 0)
            rc = -errno;
    }
    free(files);
    if (rc == 0)
        rc = ckpt_store_mark(to, version);
    if (rc < 0 && rc != -EEXIST)
        ckpt_store_remove(to, version);
    return rc;
}

/* Copies, on the thread pool ------------------------------------------------
 */

static int node_ckpt_parse_nodes(json_t *list, uint64_t *nodes, int max)
{
    size_t i;
    json_t *v;
    int n = 0;

    json_array_foreach (list, i, v) {
        const char *text = json_string_value(v);
        char *end;

        if (!text || n == max)
            return -EINVAL;
        nodes[n] = strtoull(text, &end, 16);
        if (*end || nodes[n] == 0)
            return -EINVAL;
        n++;
    }
    return n;
}

/* A control request on a connection of its own; the reply's error text,
 * if any, into why. */
static int node_ckpt_request(const char *sock,
                             json_t *req,
                             int timeout_ms,
                             json_t **reply,
                             char *why,
                             size_t whylen)
{
    shoal_error_t error = {{0}};
    const char *text;
    int fd, rc;

    rc = control_client_connect(sock, &fd, &error);
    if (rc == 0) {
        rc = control_client_request(fd, req, timeout_ms, reply, &error);
        close(fd);
    }
    if (rc < 0) {
        snprintf(why, whylen, "%s", error.text);
        return rc;
    }
    if (json_is_false(json_object_get(*reply, "ok"))) {
        text = json_string_value(json_object_get(*reply, "error"));
        snprintf(why, whylen, "%s", text ? text : "refused");
        rc = (int)json_integer_value(json_object_get(*reply, "code"));
        json_decref(*reply);
        *reply = NULL;
        return rc < 0 ? rc : -EIO;
    }
    return 0;
}

static void node_ckpt_work_cb(uv_work_t *req)
{
    struct node_ckpt_work *w = req->data;
    struct node_ckpt_rank *r = &w->nc->ranks[w->index];
    json_t *ask, *reply = NULL;
    int n;

    ask = json_pack("{s:s, s:s, s:i, s:s, s:i}", "op", "ckpt.replicate", "dir",
                    w->dir, "version", w->version, "key", w->key, "copies",
                    w->nc->copies);
    if (!ask) {
        w->rc = -ENOMEM;
        return;
    }
    w->rc = node_ckpt_request(w->nc->sock, ask, NODE_CKPT_REPLICATE_MS, &reply,
                              w->why, sizeof(w->why));
    json_decref(ask);
    if (w->rc < 0) {
        /* the rank's durable commit need not wait for its bound: this
         * version is not copied again (a newer one will be) */
        ckpt_store_nocopy_write(r->store, w->version, w->why);
        return;
    }
    n = node_ckpt_parse_nodes(json_object_get(reply, "copies"), w->nodes + 1,
                              JOB_WIRE_HOLDERS_MAX - 1);
    json_decref(reply);
    if (n < 0) {
        w->rc = n;
        snprintf(w->why, sizeof(w->why), "malformed reply");
        return;
    }
    w->nodes[0] = w->nc->self;
    w->nnodes = 1 + n;
    ckpt_store_nocopy_write(r->store, 0, NULL);
    /* the replicate sealed the version: it has its MANIFEST now */
    if (node_ckpt_link(r->store, r->published, w->version) < 0) {
        /* only the copies can serve it */
        memmove(w->nodes, w->nodes + 1, (size_t)n * sizeof(uint64_t));
        w->nnodes = n;
    }
}

static void node_ckpt_scan(struct node_ckpt *nc, int index);

/* A flush is over once no copy runs. */
static void node_ckpt_flush_end(struct node_ckpt *nc)
{
    if (!nc->flushing)
        return;
    nc->flushing = false;
    if (nc->timer_on && !nc->stopped)
        uv_timer_stop(&nc->timer);
    nc->flushed(nc->flushed_arg);
}

static void node_ckpt_flush_check(struct node_ckpt *nc)
{
    for (int i = 0; nc->flushing && i < nc->config.nranks; i++)
        if (nc->ranks[i].work)
            return;
    node_ckpt_flush_end(nc);
}

static void node_ckpt_after_work_cb(uv_work_t *req, int status)
{
    struct node_ckpt_work *w = req->data;
    struct node_ckpt *nc = w->nc;
    int index = w->index;
    struct node_ckpt_rank *r = &nc->ranks[index];

    r->work = NULL;
    if (status == 0 && w->rc == 0 && !nc->stopped) {
        double cost = 0;

        /* what the last checkpoint cost the rank (--checkpoint=auto) */
        ckpt_store_cost(r->store, &cost);
        nc->config.copied(r->rank, w->version, w->nodes, w->nnodes, cost,
                          nc->config.arg);
    } else if (status == 0 && w->rc < 0)
        LOG(LOG_LEVEL_WARNING, LOG_CKPT,
            "version %d of rank %d is not copied: %s", w->version, r->rank,
            w->why);
    free(w);
    if (!nc->stopped)
        node_ckpt_scan(nc, index);
    node_ckpt_flush_check(nc);
}

/* Start copying the oldest version of rank index committed since the last
 * one copied, if none is being copied. */
static void node_ckpt_scan(struct node_ckpt *nc, int index)
{
    struct node_ckpt_rank *r = &nc->ranks[index];
    struct node_ckpt_work *w;
    int *versions = NULL, n, next = 0;

    if (r->work)
        return;
    n = ckpt_store_list(r->store, &versions);
    for (int i = 0; i < n && !next; i++) {
        /* every version in order, so that the ranks' durable versions
         * meet; at the end only the newest counts */
        int at = nc->flushing ? n - 1 - i : i;

        if (versions[at] > r->copied
            && ckpt_store_committed(r->store, versions[at]) == 1)
            next = versions[at];
    }
    free(versions);
    if (!next)
        return;
    w = calloc(1, sizeof(*w));
    if (!w)
        return;
    w->req.data = w;
    w->nc = nc;
    w->index = index;
    w->version = next;
    snprintf(w->dir, sizeof(w->dir), "%s", ckpt_store_dir(r->store));
    snprintf(w->key, sizeof(w->key), "%s/rank%d", nc->jobkey, r->rank);
    if (uv_queue_work(nc->config.loop, &w->req, node_ckpt_work_cb,
                      node_ckpt_after_work_cb)
        < 0) {
        free(w);
        return;
    }
    /* one try per version: a failed copy is not retried, the next
     * version will be */
    r->copied = next;
    r->work = w;
}

static void node_ckpt_timer_cb(uv_timer_t *timer)
{
    struct node_ckpt *nc = timer->data;

    for (int i = 0; i < nc->config.nranks; i++)
        node_ckpt_scan(nc, i);
}

int node_ckpt_start(node_ckpt_t *nc)
{
    int rc = uv_timer_init(nc->config.loop, &nc->timer);

    if (rc < 0)
        return rc;
    nc->timer.data = nc;
    nc->timer_on = true;
    return uv_timer_start(&nc->timer, node_ckpt_timer_cb, NODE_CKPT_PERIOD_MS,
                          NODE_CKPT_PERIOD_MS);
}

static void node_ckpt_flush_timeout_cb(uv_timer_t *timer)
{
    node_ckpt_flush_end(timer->data);
}

int node_ckpt_flush(node_ckpt_t *nc, void (*done)(void *arg), void *arg)
{
    if (nc->stopped)
        return -EALREADY;
    nc->flushing = true;
    nc->flushed = done;
    nc->flushed_arg = arg;
    /* the timer that followed the stores now bounds the wait */
    if (nc->timer_on)
        uv_timer_start(&nc->timer, node_ckpt_flush_timeout_cb,
                       NODE_CKPT_FLUSH_MS, 0);
    for (int i = 0; i < nc->config.nranks; i++)
        node_ckpt_scan(nc, i);
    node_ckpt_flush_check(nc);
    return 0;
}

void node_ckpt_stop(node_ckpt_t *nc)
{
    if (!nc || nc->stopped)
        return;
    nc->stopped = true;
    if (nc->timer_on)
        uv_close((uv_handle_t *)&nc->timer, NULL);
    /* a copy not begun yet is not begun at all: the proxy is ending */
    for (int i = 0; i < nc->config.nranks; i++)
        if (nc->ranks[i].work)
            uv_cancel((uv_req_t *)&nc->ranks[i].work->req);
}

/* Pinning ------------------------------------------------------------------ */

static void node_ckpt_drop_below(const char *rdir, int version)
{
    ckpt_store_t *store;
    int *versions = NULL, n;

    if (ckpt_store_create(rdir, &store) < 0)
        return;
    n = ckpt_store_list(store, &versions);
    for (int i = 0; i < n; i++)
        if (versions[i] < version)
            ckpt_store_remove(store, versions[i]);
    free(versions);
    ckpt_store_destroy(store);
}

/* The copies of every rank of the job this node keeps, its own ranks'
 * and those other nodes sent: STATE/ckpt/JOBKEY/rankM. */
static void node_ckpt_drop_copies(struct node_ckpt *nc, int version)
{
    char dir[PATH_MAX], rdir[PATH_MAX + 300];
    struct dirent *e;
    DIR *d;

    if (ckpt_key_path(nc->state, nc->jobkey, dir, sizeof(dir)) < 0)
        return;
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "rank", 4) != 0)
            continue;
        snprintf(rdir, sizeof(rdir), "%s/%s", dir, e->d_name);
        node_ckpt_drop_below(rdir, version);
    }
    closedir(d);
}

void node_ckpt_keep(node_ckpt_t *nc, int version)
{
    if (!nc || version <= nc->kept)
        return;
    for (int i = 0; i < nc->config.nranks; i++) {
        struct node_ckpt_rank *r = &nc->ranks[i];
        /* readable by the rank, whose durable commit waits for it */
        int rc = ckpt_store_keep_raise(r->store, version);

        if (rc < 0)
            LOG(LOG_LEVEL_WARNING, LOG_CKPT,
                "cannot pin version %d of rank %d: %s", version, r->rank,
                strerror(-rc));
    }
    /* the job's version before this one stays, in case every copy of
     * this one is lost; versions being copied are newer than both */
    if (nc->kept > 0) {
        for (int i = 0; i < nc->config.nranks; i++)
            node_ckpt_drop_below(ckpt_store_dir(nc->ranks[i].store), nc->kept);
        node_ckpt_drop_copies(nc, nc->kept);
    }
    nc->kept = version;
}

/* Restoring ---------------------------------------------------------------- */

static int node_ckpt_fetch(struct node_ckpt *nc,
                           struct node_ckpt_rank *r,
                           const struct job_launch_restore *k,
                           shoal_error_t *error)
{
    char key[CKPT_KEY_MAX], why[512] = "", list[1024] = "";
    json_t *from = json_array(), *ask = NULL, *reply = NULL;
    size_t used = 0;
    int rc = -ENODATA;

    for (uint32_t i = 0; from && i < k->nnodes; i++) {
        char id[20];

        snprintf(id, sizeof(id), "%016" PRIx64, k->nodes[i]);
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                 i ? ", " : "", id);
        if (used >= sizeof(list))
            used = sizeof(list) - 1;
        if (k->nodes[i] != nc->self)
            json_array_append_new(from, json_string(id));
    }
    snprintf(key, sizeof(key), "%s/rank%d", nc->jobkey, r->rank);
    if (from && json_array_size(from) > 0) {
        ask = json_pack("{s:s, s:s, s:i, s:s, s:O}", "op", "ckpt.fetch", "key",
                        key, "version", (int)k->version, "dir",
                        ckpt_store_dir(r->store), "from", from);
        rc = ask ? node_ckpt_request(nc->sock, ask, NODE_CKPT_FETCH_MS, &reply,
                                     why, sizeof(why))
                 : -ENOMEM;
    } else {
        snprintf(why, sizeof(why), "no other node holds it");
    }
    json_decref(ask);
    json_decref(reply);
    json_decref(from);
    if (rc == -ENOMEM)
        return shoal_errprintf(error, rc, "out of memory");
    if (rc < 0)
        return shoal_errprintf(error, -ENODATA,
                               "version %u of rank %d is lost with nodes "
                               "%s: %s",
                               k->version, r->rank, list[0] ? list : "(none)",
                               why);
    return 0;
}

int node_ckpt_restore(node_ckpt_t *nc,
                      const struct job_launch_restore *restores,
                      uint32_t nrestores,
                      shoal_error_t *error)
{
    for (uint32_t i = 0; i < nrestores; i++) {
        const struct job_launch_restore *k = &restores[i];
        struct node_ckpt_rank *r = NULL;
        int v = (int)k->version, rc;

        for (int j = 0; j < nc->config.nranks && !r; j++)
            if (nc->ranks[j].rank == (int)k->rank)
                r = &nc->ranks[j];
        if (!r || ckpt_store_committed(r->store, v) == 1)
            continue;
        /* a copy on this node: the original of the last run, or one
         * another node sent here */
        if (ckpt_store_verify(r->published, v) == 0
            && node_ckpt_link(r->published, r->store, v) == 0)
            continue;
        rc = node_ckpt_fetch(nc, r, k, error);
        if (rc < 0)
            return rc;
    }
    /* what earlier runs left on this node is no restart's any more: the
     * versions they committed that count were copied, and the ones
     * restored are in this run's directories now */
    for (int k = 0; k < nc->run; k++) {
        char dir[PATH_MAX + 256];

        snprintf(dir, sizeof(dir), "%s/ckpt-jobs/%s/run%d", nc->state,
                 nc->jobkey, k);
        ckpt_job_remove(dir);
    }
    return 0;
}

int node_ckpt_ask(node_ckpt_t *nc)
{
    int first = 0;

    for (int i = 0; i < nc->config.nranks; i++) {
        int rc = ckpt_job_request_rdir(nc->ranks[i].dir);

        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}

void node_ckpt_destroy(node_ckpt_t *nc)
{
    if (!nc)
        return;
    for (int i = 0; nc->ranks && i < nc->config.nranks; i++) {
        ckpt_store_destroy(nc->ranks[i].store);
        ckpt_store_destroy(nc->ranks[i].published);
    }
    free(nc->ranks);
    free(nc);
}
