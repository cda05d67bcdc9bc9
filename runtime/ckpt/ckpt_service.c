/* SPDX-License-Identifier: MIT */
/* ckpt_service.c - checkpoint copies between daemons: the control ops,
 * the sending and receiving sides of transfers, and their bookkeeping. */
#include "runtime/ckpt/ckpt_service.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_seen.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/ckpt/ckpt_wire.h"
#include "runtime/ckpt/ckpt_xfer.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/param.h"

PARAM_DEFINE(ckpt_chunk_param,
             "ckpt_chunk_kib",
             PARAM_TYPE_DOUBLE,
             "1024",
             "KiB of checkpoint data in one frame between daemons; large "
             "enough that sealing and system calls per frame cost little");
PARAM_DEFINE(ckpt_window_param,
             "ckpt_window_kib",
             PARAM_TYPE_DOUBLE,
             "8192",
             "KiB of checkpoint data sent to one node and not yet "
             "acknowledged: several frames, so the link never waits for an "
             "acknowledgement, yet few enough that membership traffic is "
             "never queued behind much of it");
PARAM_DEFINE(ckpt_timeout_param,
             "ckpt_timeout",
             PARAM_TYPE_DOUBLE,
             "20",
             "seconds a checkpoint copy may make no progress before the node "
             "is given up for another");

enum {
    CKPT_TICK_MS = 250,
    CKPT_ERRORS_MAX = 1536,
    CKPT_LIST_DEPTH = CKPT_KEY_DEPTH,
    CKPT_SEEN_MAX = 64, /* versions remembered as hashed */
};

struct ckpt_stats {
    uint64_t malformed; /* frames refused */
    uint64_t copies_sent;
    uint64_t copies_received;
    uint64_t copies_failed;
    uint64_t copies_bad; /* received copies that did not match */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t bytes_resumed;
    uint64_t fetches;
    uint64_t fetches_failed;
};

struct ckpt_service;

/* A ckpt.replicate op in progress. */
struct ckpt_rep {
    struct ckpt_rep *next;
    struct ckpt_service *svc;
    control_conn_t *conn; /* NULL once the client went away */
    char key[CKPT_KEY_MAX + 1];
    int version;
    char *rdir;
    char *manifest;
    size_t manifest_len;
    struct ckpt_file *files;
    size_t nfiles;
    int want;
    uint64_t *cands;
    size_t ncands;
    size_t next_cand;
    int active;
    json_t *copies;
    int last_error;
    char errors[CKPT_ERRORS_MAX];
};

/* A ckpt.fetch op in progress. */
struct ckpt_fetch {
    struct ckpt_fetch *next;
    struct ckpt_service *svc;
    control_conn_t *conn;
    char key[CKPT_KEY_MAX + 1];
    int version;
    char *rdir;
    uint64_t *from;
    size_t nfrom;
    size_t idx;
    uint64_t xid;    /* of the attempt under way */
    uint64_t source; /* its node, 0 between attempts */
    uint64_t last_ms;
    bool installing; /* the copy is being checked: no timeout */
    json_t *bad;
    int last_error;
    char errors[CKPT_ERRORS_MAX];
};

/* The sending side of one transfer. */
struct ckpt_send {
    struct ckpt_send *next;
    struct ckpt_service *svc;
    uint64_t to;
    uint64_t xid;
    char *dir; /* the version directory */
    struct ckpt_file *files;
    size_t nfiles;
    int *fds;
    ckpt_xfer_t *x;
    struct ckpt_rep *rep; /* NULL when serving a fetch */
};

/* The receiving side of one transfer. */
struct ckpt_recv {
    struct ckpt_recv *next;
    struct ckpt_service *svc;
    uint64_t from;
    uint64_t xid;
    int version;
    char key[CKPT_KEY_MAX + 1];
    ckpt_store_t *final;
    ckpt_store_t *stage;
    struct ckpt_file *files;
    size_t nfiles;
    uint64_t *have;
    int *fds;
    /* each file received from its first byte is hashed as it is written,
     * so the copy is checked without reading it back */
    crypto_generichash_state *hashing;
    struct ckpt_hash *hashes; /* valid: hashing[i] runs */
    uint64_t last_ms;
    bool installing;
    struct ckpt_fetch *fetch; /* NULL for a replica */
};

struct ckpt_service {
    daemon_t *d;
    uv_loop_t *loop;
    char *state;
    uv_timer_t tick;
    uint64_t next_xid;
    uint32_t chunk;
    uint64_t window;
    uint64_t timeout_ms;
    uint8_t *buf;
    struct ckpt_rep *reps;
    struct ckpt_fetch *fetches;
    struct ckpt_send *sends;
    struct ckpt_recv *recvs;
    struct ckpt_stats stats;
    ckpt_seen_t *seen;
    int working; /* work items on the thread pool */
    bool closed; /* destroyed while some were: they only free themselves */
};

/* ---- small helpers ---- */

static void ckpt_appendf(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ckpt_appendf(char *buf, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    if (n + 1 >= CKPT_ERRORS_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, CKPT_ERRORS_MAX - n, fmt, ap);
    va_end(ap);
}

/* "00ab...ef (host)" for messages. */
static void
ckpt_node_name(struct ckpt_service *svc, uint64_t id, char *buf, size_t len)
{
    struct daemon_member *m = NULL;
    size_t n = 0;
    const char *name = NULL;

    if (daemon_members(svc->d, &m, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (m[i].id == id)
                name = m[i].name;
    if (name && *name)
        snprintf(buf, len, "%016" PRIx64 " (%s)", id, name);
    else
        snprintf(buf, len, "%016" PRIx64, id);
    free(m);
}

static json_t *ckpt_node_json(uint64_t id)
{
    char text[20];

    snprintf(text, sizeof(text), "%016" PRIx64, id);
    return json_string(text);
}

static int ckpt_node_parse(const char *text, uint64_t *id)
{
    char *end;

    if (!text || !*text || strlen(text) > 16)
        return -EINVAL;
    errno = 0;
    *id = strtoull(text, &end, 16);
    return *end || errno || *id == 0 ? -EINVAL : 0;
}

static const char *ckpt_reason(int code)
{
    switch (code) {
    case -EUCLEAN:
        return "its copy is corrupt";
    case -ENOSPC:
        return "no space left on device";
    case -EHOSTDOWN:
        return "node is down";
    case -ETIMEDOUT:
        return "timed out";
    default:
        return shoal_strerror(code);
    }
}

static int ckpt_send_frame(struct ckpt_service *svc,
                           uint64_t node,
                           const struct ckpt_msg *m)
{
    uint8_t small[1024];
    size_t size = ckpt_wire_size(m);
    uint8_t *buf = size <= sizeof(small) ? small : malloc(size);
    int rc;

    if (!buf)
        return -ENOMEM;
    rc = ckpt_wire_encode(m, buf, size);
    if (rc > 0)
        rc = daemon_send(svc->d, node, m->type, buf, (size_t)rc);
    if (buf != small)
        free(buf);
    return rc;
}

static void ckpt_send_result(struct ckpt_service *svc,
                             uint64_t node,
                             uint64_t xid,
                             int code,
                             const char *text)
{
    struct ckpt_msg m = {.type = CKPT_FRAME_RESULT, .xid = xid, .code = code};

    snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
    ckpt_send_frame(svc, node, &m);
}

static uint64_t ckpt_now(struct ckpt_service *svc)
{
    return uv_now(svc->loop);
}

/* Remove a staging store and the version in it. */
static void ckpt_stage_remove(ckpt_store_t *stage, int version)
{
    ckpt_store_remove(stage, version);
    rmdir(ckpt_store_dir(stage));
}

static int
ckpt_stage_open(const char *final_dir, int version, ckpt_store_t **out)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/.part-v%d", final_dir, version);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return ckpt_store_create(path, out);
}

/* ---- work on the thread pool ---- */

enum ckpt_work_kind {
    CKPT_WORK_PREPARE, /* seal, verify, read the manifest of a version */
    CKPT_WORK_SERVE,   /* verify a stored copy and read its manifest */
    CKPT_WORK_INSTALL, /* check a received copy, move it into place */
};

struct ckpt_work {
    uv_work_t req;
    enum ckpt_work_kind kind;
    struct ckpt_service *svc;
    ckpt_store_t *store;
    ckpt_store_t *stage;
    int version;
    int rc;
    char *manifest;
    size_t manifest_len;
    void *owner;
    /* in: the identity the version had when last hashed (PREPARE, SERVE);
     * out: the one it has now that it is known right */
    bool known;
    unsigned char id[CKPT_HASH_BYTES];
    /* CKPT_WORK_INSTALL: the hashes taken while receiving */
    struct ckpt_hash *hashes;
    size_t nhashes;
    /* CKPT_WORK_SERVE */
    uint64_t to;
    uint64_t xid;
    char key[CKPT_KEY_MAX + 1];
};

/* Make sure the version of w->store is committed, sealed and right, and
 * read its manifest. A version hashed earlier is trusted while its
 * identity stays the same; one sealed just now was hashed by sealing. */
static int ckpt_work_ready(struct ckpt_work *w, bool seal)
{
    unsigned char now[CKPT_HASH_BYTES];
    char *text = NULL;
    size_t len = 0;
    bool hashed = false;
    int rc = ckpt_store_committed(w->store, w->version);

    if (rc == 0)
        rc = -ENOENT;
    if (rc < 0)
        return rc;
    if (seal) {
        rc = ckpt_store_manifest(w->store, w->version, &text, &len);
        free(text);
        if (rc == -EUCLEAN) {
            rc = ckpt_store_seal(w->store, w->version);
            hashed = rc == 0;
        } else if (rc < 0) {
            return rc;
        }
    }
    rc = ckpt_store_identity(w->store, w->version, now);
    if (rc == 0 && !hashed
        && !(w->known && sodium_memcmp(now, w->id, sizeof(now)) == 0))
        rc = ckpt_store_verify(w->store, w->version);
    if (rc == 0)
        rc = ckpt_store_manifest(w->store, w->version, &w->manifest,
                                 &w->manifest_len);
    memcpy(w->id, now, sizeof(now));
    w->known = rc == 0;
    return rc;
}

/* Check a received copy, move it into place and commit it. */
static int ckpt_work_install(struct ckpt_work *w)
{
    char path[PATH_MAX], final[PATH_MAX];
    int rc = ckpt_store_check_hashed(w->stage, w->version, w->hashes,
                                     w->nhashes, true);

    if (rc == 0)
        rc = ckpt_store_remove(w->store, w->version);
    if (rc == 0)
        rc = ckpt_store_path(w->stage, w->version, NULL, path, sizeof(path));
    if (rc == 0)
        rc = ckpt_store_path(w->store, w->version, NULL, final, sizeof(final));
    if (rc == 0 && rename(path, final) < 0)
        rc = -errno;
    if (rc == 0) {
        rmdir(ckpt_store_dir(w->stage));
        rc = ckpt_store_mark(w->store, w->version);
    }
    /* checked just now: a fetch served from it need not hash it again */
    w->known = rc == 0 && ckpt_store_identity(w->store, w->version, w->id) == 0;
    return rc;
}

static void ckpt_work_run(uv_work_t *req)
{
    struct ckpt_work *w = req->data;

    switch (w->kind) {
    case CKPT_WORK_PREPARE:
        w->rc = ckpt_work_ready(w, true);
        break;
    case CKPT_WORK_SERVE:
        w->rc = ckpt_work_ready(w, false);
        break;
    case CKPT_WORK_INSTALL:
        w->rc = ckpt_work_install(w);
        break;
    }
}

/* The version directory of w, by which ckpt_seen knows it. */
static int ckpt_work_dir(const struct ckpt_work *w, char *buf, size_t len)
{
    return ckpt_store_path(w->store, w->version, NULL, buf, len);
}

static void ckpt_work_after(uv_work_t *req, int status);

static int ckpt_work_queue(struct ckpt_work *w)
{
    char dir[PATH_MAX];
    int rc;

    if (w->kind != CKPT_WORK_INSTALL && ckpt_work_dir(w, dir, sizeof(dir)) == 0)
        w->known = ckpt_seen_get(w->svc->seen, dir, w->id);
    w->req.data = w;
    rc = uv_queue_work(w->svc->loop, &w->req, ckpt_work_run, ckpt_work_after);
    if (rc == 0)
        w->svc->working++;
    return rc;
}

/* ---- sending ---- */

static void ckpt_rep_sent(struct ckpt_rep *rep, uint64_t to, int code);
static void ckpt_send_free(struct ckpt_send *s);

static int
ckpt_send_chunk(uint32_t file, uint64_t offset, uint32_t len, void *arg)
{
    struct ckpt_send *s = arg;
    struct ckpt_service *svc = s->svc;
    struct ckpt_msg m = {.type = CKPT_FRAME_CHUNK,
                         .xid = s->xid,
                         .file = file,
                         .offset = offset,
                         .len = len};
    size_t got = 0;
    int rc;

    if (s->fds[file] < 0) {
        char path[PATH_MAX];
        int n =
            snprintf(path, sizeof(path), "%s/%s", s->dir, s->files[file].name);

        if (n < 0 || (size_t)n >= sizeof(path))
            return -ENAMETOOLONG;
        s->fds[file] = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (s->fds[file] < 0)
            return -errno;
    }
    rc = ckpt_wire_encode(&m, svc->buf, CKPT_WIRE_CHUNK_HEAD + svc->chunk);
    if (rc < 0)
        return rc;
    while (got < len) {
        ssize_t n = pread(s->fds[file], svc->buf + CKPT_WIRE_CHUNK_HEAD + got,
                          len - got, (off_t)(offset + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EUCLEAN; /* shrank since verified */
        got += (size_t)n;
    }
    rc = daemon_send(svc->d, s->to, CKPT_FRAME_CHUNK, svc->buf,
                     CKPT_WIRE_CHUNK_HEAD + len);
    if (rc == 0)
        svc->stats.bytes_sent += len;
    return rc;
}

static int ckpt_send_done(void *arg)
{
    struct ckpt_send *s = arg;
    struct ckpt_msg m = {.type = CKPT_FRAME_DONE, .xid = s->xid};

    return ckpt_send_frame(s->svc, s->to, &m);
}

static const struct ckpt_xfer_ops ckpt_send_ops = {
    .chunk = ckpt_send_chunk,
    .done = ckpt_send_done,
};

/* Start sending the version in dir (its manifest given) to node to. */
static int ckpt_send_start(struct ckpt_service *svc,
                           uint64_t to,
                           uint64_t xid,
                           int purpose,
                           const char *key,
                           int version,
                           const char *dir,
                           const char *manifest,
                           size_t manifest_len,
                           struct ckpt_rep *rep)
{
    struct ckpt_send *s = calloc(1, sizeof(*s));
    struct ckpt_msg m = {.type = CKPT_FRAME_OFFER,
                         .xid = xid,
                         .purpose = (uint8_t)purpose,
                         .version = version,
                         .manifest = manifest,
                         .manifest_len = manifest_len};
    uint64_t *sizes = NULL;
    int rc;

    if (!s)
        return -ENOMEM;
    s->svc = svc;
    s->to = to;
    s->xid = xid;
    s->rep = rep;
    s->dir = strdup(dir);
    rc = s->dir ? ckpt_manifest_parse(manifest, manifest_len, &s->files,
                                      &s->nfiles)
                : -ENOMEM;
    if (rc == 0 && s->nfiles > CKPT_WIRE_FILES_MAX)
        rc = -EFBIG;
    if (rc == 0) {
        s->fds = malloc((s->nfiles + 1) * sizeof(int));
        sizes = calloc(s->nfiles + 1, sizeof(uint64_t));
        rc = s->fds && sizes ? 0 : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++) {
        s->fds[i] = -1;
        sizes[i] = s->files[i].size;
    }
    if (rc == 0) {
        struct ckpt_xfer_config cfg = {.sizes = sizes,
                                       .nfiles = (uint32_t)s->nfiles,
                                       .chunk = svc->chunk,
                                       .window = svc->window,
                                       .timeout_ms = svc->timeout_ms};

        rc = ckpt_xfer_create(&cfg, &ckpt_send_ops, s, ckpt_now(svc), &s->x);
    }
    free(sizes);
    snprintf(m.key, sizeof(m.key), "%s", key);
    if (rc == 0)
        rc = ckpt_send_frame(svc, to, &m);
    if (rc < 0) {
        s->nfiles = s->fds ? s->nfiles : 0;
        ckpt_send_free(s);
        return rc;
    }
    s->next = svc->sends;
    svc->sends = s;
    return 0;
}

static void ckpt_send_free(struct ckpt_send *s)
{
    for (size_t i = 0; s->fds && i < s->nfiles; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    free(s->files);
    free(s->dir);
    ckpt_xfer_destroy(s->x);
    free(s);
}

/* Look at the transfer after an event: finish it when it ended. */
static void ckpt_send_check(struct ckpt_send *s)
{
    struct ckpt_service *svc = s->svc;
    enum ckpt_xfer_state st = ckpt_xfer_state(s->x);
    struct ckpt_xfer_stats xs;
    int code;

    if (st != CKPT_XFER_DONE && st != CKPT_XFER_FAILED)
        return;
    code = ckpt_xfer_error(s->x);
    for (struct ckpt_send **p = &svc->sends; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    ckpt_xfer_get_stats(s->x, &xs);
    svc->stats.bytes_resumed += xs.resumed;
    if (code == 0) {
        svc->stats.copies_sent++;
    } else {
        svc->stats.copies_failed++;
        /* what this node sent was not what it hashed: hash it next time */
        if (code == -EUCLEAN)
            ckpt_seen_forget(svc->seen, s->dir);
        /* tell the receiver, so it stops waiting (it may be gone) */
        ckpt_send_result(svc, s->to, s->xid, code, ckpt_reason(code));
    }
    LOG(code ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, LOG_CKPT,
        "copy %" PRIx64 " to %016" PRIx64 ": %s (%" PRIu64 " bytes, %" PRIu64
        " resumed)",
        s->xid, s->to, code ? ckpt_reason(code) : "done", xs.total, xs.resumed);
    if (s->rep)
        ckpt_rep_sent(s->rep, s->to, code);
    ckpt_send_free(s);
}

static struct ckpt_send *
ckpt_send_find(struct ckpt_service *svc, uint64_t to, uint64_t xid)
{
    for (struct ckpt_send *s = svc->sends; s; s = s->next)
        if (s->to == to && s->xid == xid)
            return s;
    return NULL;
}

/* ---- ckpt.replicate ---- */

static void ckpt_rep_free(struct ckpt_rep *rep)
{
    struct ckpt_service *svc = rep->svc;

    for (struct ckpt_rep **p = &svc->reps; *p; p = &(*p)->next)
        if (*p == rep) {
            *p = rep->next;
            break;
        }
    if (rep->conn)
        control_conn_set_handlers(rep->conn, NULL, NULL, NULL);
    json_decref(rep->copies);
    free(rep->cands);
    free(rep->files);
    free(rep->manifest);
    free(rep->rdir);
    free(rep);
}

static void ckpt_rep_conn_closed(control_conn_t *conn, void *arg)
{
    struct ckpt_rep *rep = arg;

    (void)conn;
    rep->conn = NULL;
}

static void ckpt_rep_fail(struct ckpt_rep *rep, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ckpt_rep_fail(struct ckpt_rep *rep, int code, const char *fmt, ...)
{
    char text[CKPT_ERRORS_MAX + CKPT_KEY_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (rep->conn)
        control_reply_error(rep->conn, code, "%s", text);
    ckpt_rep_free(rep);
}

/* Start copies until want are done or under way, or no node is left;
 * reply when the op is over. */
static void ckpt_rep_step(struct ckpt_rep *rep)
{
    struct ckpt_service *svc = rep->svc;
    int done = (int)json_array_size(rep->copies);
    char dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s/v%d", rep->rdir, rep->version);
    while (done + rep->active < rep->want && rep->next_cand < rep->ncands) {
        uint64_t to = rep->cands[rep->next_cand++];
        int rc = ckpt_send_start(svc, to, svc->next_xid++,
                                 CKPT_PURPOSE_REPLICATE, rep->key, rep->version,
                                 dir, rep->manifest, rep->manifest_len, rep);

        if (rc == 0) {
            rep->active++;
        } else {
            char name[128];

            ckpt_node_name(svc, to, name, sizeof(name));
            ckpt_appendf(rep->errors, "; node %s: %s", name, ckpt_reason(rc));
            rep->last_error = rc;
        }
    }
    if (done >= rep->want) {
        if (rep->conn)
            control_reply(rep->conn, json_pack("{s:O}", "copies", rep->copies));
        ckpt_rep_free(rep);
    } else if (rep->active == 0) {
        ckpt_rep_fail(rep, rep->last_error ? rep->last_error : -EHOSTUNREACH,
                      "cannot replicate '%s' version %d: %d of %d copies "
                      "made:%s",
                      rep->key, rep->version, done, rep->want,
                      rep->errors[0] ? rep->errors + 1
                                     : " no other live node in the pool");
    }
}

static void ckpt_rep_sent(struct ckpt_rep *rep, uint64_t to, int code)
{
    rep->active--;
    if (code == 0) {
        json_array_append_new(rep->copies, ckpt_node_json(to));
    } else {
        char name[128];

        ckpt_node_name(rep->svc, to, name, sizeof(name));
        ckpt_appendf(rep->errors, "; node %s: %s", name, ckpt_reason(code));
        rep->last_error = code;
    }
    ckpt_rep_step(rep);
}

static int ckpt_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The alive nodes other than this one, starting with the first after it
 * in id order and wrapping around: the same partners on every call. */
static int ckpt_partners(struct ckpt_service *svc, uint64_t **out, size_t *n)
{
    struct daemon_member *m;
    size_t count, k = 0, start = 0;
    uint64_t self = daemon_node_id(svc->d), *ids, *ring;
    int rc = daemon_members(svc->d, &m, &count);

    if (rc < 0)
        return rc;
    ids = calloc(count + 1, sizeof(*ids));
    ring = calloc(count + 1, sizeof(*ring));
    if (!ids || !ring) {
        free(ids);
        free(ring);
        free(m);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        if (!m[i].self && m[i].id != self && m[i].state == MEMBER_ALIVE)
            ids[k++] = m[i].id;
    free(m);
    qsort(ids, k, sizeof(*ids), ckpt_id_cmp);
    while (start < k && ids[start] < self)
        start++;
    for (size_t i = 0; i < k; i++)
        ring[i] = ids[(start + i) % k];
    free(ids);
    *out = ring;
    *n = k;
    return 0;
}

static void ckpt_rep_prepared(struct ckpt_work *w)
{
    struct ckpt_rep *rep = w->owner;
    int rc = w->rc;

    rep->manifest = w->manifest;
    rep->manifest_len = w->manifest_len;
    w->manifest = NULL;
    if (rc == 0)
        rc = ckpt_manifest_parse(rep->manifest, rep->manifest_len, &rep->files,
                                 &rep->nfiles);
    if (rc < 0) {
        ckpt_rep_fail(rep, rc, "cannot replicate '%s' version %d: %s", rep->key,
                      rep->version,
                      rc == -ENOENT ? "no such committed version in the store"
                      : rc == -EUCLEAN ? "the version does not match its "
                                         "MANIFEST"
                                       : shoal_strerror(rc));
        return;
    }
    rc = ckpt_partners(rep->svc, &rep->cands, &rep->ncands);
    if (rc < 0) {
        ckpt_rep_fail(rep, rc, "cannot replicate '%s': %s", rep->key,
                      shoal_strerror(rc));
        return;
    }
    ckpt_rep_step(rep);
}

static int ckpt_get_version(json_t *req, const char *name, int *v, int min)
{
    json_t *j = json_object_get(req, name);

    if (!json_is_integer(j) || json_integer_value(j) < min
        || json_integer_value(j) > INT32_MAX)
        return -EINVAL;
    *v = (int)json_integer_value(j);
    return 0;
}

static void ckpt_op_replicate(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    const char *dir = json_string_value(json_object_get(req, "dir"));
    const char *key = json_string_value(json_object_get(req, "key"));
    json_t *copies = json_object_get(req, "copies");
    struct ckpt_rep *rep;
    struct ckpt_work *w;
    int version, want = 1, rc;

    if (!dir || !*dir || dir[0] != '/')
        goto bad_dir;
    if (ckpt_key_check(key, 0) < 0) {
        control_reply_error(conn, -EINVAL, "invalid checkpoint key '%s'",
                            key ? key : "");
        return;
    }
    if (ckpt_get_version(req, "version", &version, 1) < 0) {
        control_reply_error(conn, -EINVAL, "'version' must be >= 1");
        return;
    }
    if (copies) {
        if (!json_is_integer(copies) || json_integer_value(copies) < 1
            || json_integer_value(copies) > 64) {
            control_reply_error(conn, -EINVAL, "'copies' must be 1 to 64");
            return;
        }
        want = (int)json_integer_value(copies);
    }
    rep = calloc(1, sizeof(*rep));
    w = calloc(1, sizeof(*w));
    if (!rep || !w) {
        free(rep);
        free(w);
        control_reply_error(conn, -ENOMEM, "%s", shoal_strerror(-ENOMEM));
        return;
    }
    rep->svc = svc;
    rep->conn = conn;
    snprintf(rep->key, sizeof(rep->key), "%s", key);
    rep->version = version;
    rep->want = want;
    rep->rdir = strdup(dir);
    rep->copies = json_array();
    rep->next = svc->reps;
    svc->reps = rep;
    control_conn_set_handlers(conn, NULL, ckpt_rep_conn_closed, rep);
    w->kind = CKPT_WORK_PREPARE;
    w->svc = svc;
    w->owner = rep;
    w->version = version;
    rc = rep->rdir && rep->copies ? ckpt_store_create(dir, &w->store) : -ENOMEM;
    if (rc == 0)
        rc = ckpt_work_queue(w);
    if (rc < 0) {
        ckpt_store_destroy(w->store);
        free(w);
        ckpt_rep_fail(rep, rc, "cannot open the checkpoint store '%s': %s", dir,
                      shoal_strerror(rc));
    }
    return;
bad_dir:
    control_reply_error(conn, -EINVAL, "'dir' must be an absolute path");
}

/* ---- ckpt.fetch ---- */

static void ckpt_fetch_free(struct ckpt_fetch *f)
{
    struct ckpt_service *svc = f->svc;

    for (struct ckpt_fetch **p = &svc->fetches; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    for (struct ckpt_recv *r = svc->recvs; r; r = r->next)
        if (r->fetch == f)
            r->fetch = NULL;
    if (f->conn)
        control_conn_set_handlers(f->conn, NULL, NULL, NULL);
    json_decref(f->bad);
    free(f->from);
    free(f->rdir);
    free(f);
}

static void ckpt_fetch_conn_closed(control_conn_t *conn, void *arg)
{
    struct ckpt_fetch *f = arg;

    (void)conn;
    f->conn = NULL;
}

/* Ask the next node of the list; reply when none is left. */
static void ckpt_fetch_next(struct ckpt_fetch *f)
{
    struct ckpt_service *svc = f->svc;

    f->source = 0;
    f->installing = false;
    while (f->idx < f->nfrom) {
        uint64_t node = f->from[f->idx++];
        struct ckpt_msg m = {.type = CKPT_FRAME_PULL,
                             .xid = svc->next_xid++,
                             .version = f->version};
        char name[128];
        int rc;

        snprintf(m.key, sizeof(m.key), "%s", f->key);
        rc = node == daemon_node_id(svc->d) ? -EINVAL
                                            : ckpt_send_frame(svc, node, &m);
        if (rc == 0) {
            f->xid = m.xid;
            f->source = node;
            f->last_ms = ckpt_now(svc);
            return;
        }
        ckpt_node_name(svc, node, name, sizeof(name));
        ckpt_appendf(f->errors, "; node %s: %s", name,
                     rc == -EINVAL ? "is this node" : ckpt_reason(rc));
        f->last_error = rc;
    }
    svc->stats.fetches_failed++;
    if (f->conn) {
        char text[CKPT_ERRORS_MAX + CKPT_KEY_MAX + 64];
        json_t *err;

        snprintf(text, sizeof(text), "cannot fetch '%s' version %d:%s", f->key,
                 f->version,
                 f->errors[0] ? f->errors + 1 : " no node to fetch from");
        err = json_pack("{s:b, s:s, s:i, s:O}", "ok", 0, "error", text, "code",
                        f->last_error ? f->last_error : -ENOENT, "bad", f->bad);
        control_send_json(f->conn, err);
        json_decref(err);
    }
    ckpt_fetch_free(f);
}

/* The attempt from f->source ended with code (and text from it). */
static void
ckpt_fetch_attempt_failed(struct ckpt_fetch *f, int code, const char *text)
{
    char name[128];

    ckpt_node_name(f->svc, f->source, name, sizeof(name));
    ckpt_appendf(f->errors, "; node %s: %s", name,
                 text && *text ? text : ckpt_reason(code));
    if (code == -EUCLEAN)
        json_array_append_new(f->bad, ckpt_node_json(f->source));
    f->last_error = code;
    ckpt_fetch_next(f);
}

static void ckpt_fetch_installed(struct ckpt_fetch *f, int code)
{
    if (code < 0) {
        ckpt_fetch_attempt_failed(
            f, code,
            code == -EUCLEAN ? "its copy does not match its MANIFEST" : NULL);
        return;
    }
    f->svc->stats.fetches++;
    if (f->conn)
        control_reply(f->conn,
                      json_pack("{s:o, s:i}", "node", ckpt_node_json(f->source),
                                "version", f->version));
    ckpt_fetch_free(f);
}

static struct ckpt_fetch *
ckpt_fetch_find(struct ckpt_service *svc, uint64_t source, uint64_t xid)
{
    for (struct ckpt_fetch *f = svc->fetches; f; f = f->next)
        if (f->source == source && f->xid == xid)
            return f;
    return NULL;
}

static void ckpt_op_fetch(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    const char *dir = json_string_value(json_object_get(req, "dir"));
    const char *key = json_string_value(json_object_get(req, "key"));
    json_t *from = json_object_get(req, "from"), *v;
    struct ckpt_fetch *f;
    size_t i;
    int version;

    if (!dir || dir[0] != '/') {
        control_reply_error(conn, -EINVAL, "'dir' must be an absolute path");
        return;
    }
    if (ckpt_key_check(key, 0) < 0) {
        control_reply_error(conn, -EINVAL, "invalid checkpoint key '%s'",
                            key ? key : "");
        return;
    }
    if (ckpt_get_version(req, "version", &version, 1) < 0) {
        control_reply_error(conn, -EINVAL, "'version' must be >= 1");
        return;
    }
    if (!json_is_array(from) || json_array_size(from) == 0
        || json_array_size(from) > 256) {
        control_reply_error(conn, -EINVAL,
                            "'from' must list 1 to 256 node ids");
        return;
    }
    f = calloc(1, sizeof(*f));
    if (!f || !(f->from = calloc(json_array_size(from), sizeof(uint64_t)))
        || !(f->rdir = strdup(dir)) || !(f->bad = json_array())) {
        if (f) {
            free(f->from);
            free(f->rdir);
        }
        free(f);
        control_reply_error(conn, -ENOMEM, "%s", shoal_strerror(-ENOMEM));
        return;
    }
    json_array_foreach (from, i, v) {
        if (ckpt_node_parse(json_string_value(v), &f->from[i]) < 0) {
            control_reply_error(conn, -EINVAL,
                                "'from' entry %zu is not a node id", i);
            json_decref(f->bad);
            free(f->from);
            free(f->rdir);
            free(f);
            return;
        }
    }
    f->nfrom = json_array_size(from);
    f->svc = svc;
    f->conn = conn;
    f->version = version;
    snprintf(f->key, sizeof(f->key), "%s", key);
    f->next = svc->fetches;
    svc->fetches = f;
    control_conn_set_handlers(conn, NULL, ckpt_fetch_conn_closed, f);
    ckpt_fetch_next(f);
}

/* ---- receiving ---- */

static void ckpt_recv_close_fds(struct ckpt_recv *r)
{
    for (size_t i = 0; r->fds && i < r->nfiles; i++)
        if (r->fds[i] >= 0) {
            close(r->fds[i]);
            r->fds[i] = -1;
        }
}

static void ckpt_recv_free(struct ckpt_recv *r)
{
    struct ckpt_service *svc = r->svc;

    for (struct ckpt_recv **p = &svc->recvs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    ckpt_recv_close_fds(r);
    free(r->fds);
    free(r->have);
    free(r->hashing);
    free(r->hashes);
    free(r->files);
    ckpt_store_destroy(r->final);
    ckpt_store_destroy(r->stage);
    free(r);
}

static struct ckpt_recv *
ckpt_recv_find(struct ckpt_service *svc, uint64_t from, uint64_t xid)
{
    for (struct ckpt_recv *r = svc->recvs; r; r = r->next)
        if (r->from == from && r->xid == xid)
            return r;
    return NULL;
}

/* End the transfer: tell the sender (code < 0), drop the staged files
 * when they cannot be used again, and fail the fetch it served. */
static void ckpt_recv_abort(
    struct ckpt_recv *r, int code, bool tell, bool drop_stage, const char *text)
{
    struct ckpt_fetch *f = r->fetch;

    LOG(LOG_LEVEL_WARNING, LOG_CKPT,
        "copy %" PRIx64 " of '%s' v%d from %016" PRIx64 " refused: %s", r->xid,
        r->key, r->version, r->from, text ? text : ckpt_reason(code));
    if (tell)
        ckpt_send_result(r->svc, r->from, r->xid, code,
                         text ? text : ckpt_reason(code));
    ckpt_recv_close_fds(r);
    if (drop_stage)
        ckpt_stage_remove(r->stage, r->version);
    ckpt_recv_free(r);
    if (f)
        ckpt_fetch_attempt_failed(f, code, text);
}

static int ckpt_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    return 0;
}

/* Write the MANIFEST text into the staging version directory. */
static int ckpt_stage_manifest(ckpt_store_t *stage,
                               int version,
                               const char *text,
                               size_t len)
{
    char path[PATH_MAX];
    int fd, rc = ckpt_store_path(stage, version, NULL, path, sizeof(path));

    /* ckpt_store_path() refuses the name MANIFEST: it is no data file */
    if (rc == 0 && strlen(path) + sizeof("/MANIFEST") > sizeof(path))
        rc = -ENAMETOOLONG;
    if (rc < 0)
        return rc;
    strcat(path, "/MANIFEST");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = ckpt_write_all(fd, text, len, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Prepare r's staging directory: resume what an earlier attempt with the
 * same MANIFEST left, else start empty. Fills r->have and opens the
 * files. */
static int ckpt_recv_stage(struct ckpt_recv *r, const struct ckpt_msg *m)
{
    char *old = NULL;
    size_t old_len = 0;
    bool resume;
    int rc;

    resume = ckpt_store_manifest(r->stage, r->version, &old, &old_len) == 0
             && old_len == m->manifest_len
             && memcmp(old, m->manifest, old_len) == 0;
    free(old);
    if (!resume) {
        rc = ckpt_store_begin(r->stage, r->version);
        if (rc == 0)
            rc = ckpt_stage_manifest(r->stage, r->version, m->manifest,
                                     m->manifest_len);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < r->nfiles; i++) {
        char path[PATH_MAX];
        struct stat st;

        rc = ckpt_store_path(r->stage, r->version, r->files[i].name, path,
                             sizeof(path));
        if (rc < 0)
            return rc;
        r->fds[i] =
            open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (r->fds[i] < 0 || fstat(r->fds[i], &st) < 0)
            return -errno;
        r->have[i] = (uint64_t)st.st_size;
        if (r->have[i] > r->files[i].size) {
            if (ftruncate(r->fds[i], 0) < 0)
                return -errno;
            r->have[i] = 0;
        }
        /* a resumed file is hashed whole when installed */
        r->hashes[i].valid = r->have[i] == 0;
        if (r->hashes[i].valid)
            crypto_generichash_init(&r->hashing[i], NULL, 0, CKPT_HASH_BYTES);
    }
    return 0;
}

static bool ckpt_committed_same(ckpt_store_t *store, const struct ckpt_msg *m)
{
    char *text = NULL;
    size_t len = 0;
    bool same;

    if (ckpt_store_committed(store, m->version) != 1
        || ckpt_store_manifest(store, m->version, &text, &len) < 0)
        return false;
    same = len == m->manifest_len && memcmp(text, m->manifest, len) == 0;
    free(text);
    return same;
}

static void
ckpt_on_offer(struct ckpt_service *svc, uint64_t from, const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    struct ckpt_msg st = {.type = CKPT_FRAME_STATUS, .xid = m->xid};
    char final[PATH_MAX];
    int rc;

    if (r) {
        if (r->installing)
            return;
        ckpt_recv_free(r);
    }
    /* a sender that came back after a break offers again under a new id:
     * the earlier receiver of the same copy must not write beside it */
    for (struct ckpt_recv *o = svc->recvs; o; o = o->next)
        if (o->from == from && !o->installing && !o->fetch
            && m->purpose == CKPT_PURPOSE_REPLICATE && o->version == m->version
            && strcmp(o->key, m->key) == 0) {
            ckpt_recv_free(o);
            break;
        }
    r = calloc(1, sizeof(*r));
    if (!r) {
        ckpt_send_result(svc, from, m->xid, -ENOMEM, NULL);
        return;
    }
    r->svc = svc;
    r->from = from;
    r->xid = m->xid;
    r->version = m->version;
    r->last_ms = ckpt_now(svc);
    snprintf(r->key, sizeof(r->key), "%s", m->key);
    r->next = svc->recvs;
    svc->recvs = r;
    if (m->purpose == CKPT_PURPOSE_FETCH) {
        r->fetch = ckpt_fetch_find(svc, from, m->xid);
        if (!r->fetch || r->fetch->version != m->version
            || strcmp(r->fetch->key, m->key) != 0) {
            svc->stats.malformed++;
            r->fetch = NULL;
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, "no such fetch");
            return;
        }
        r->fetch->last_ms = r->last_ms;
        rc = snprintf(final, sizeof(final), "%s", r->fetch->rdir) < 0 ? -EINVAL
                                                                      : 0;
    } else {
        rc = ckpt_key_path(svc->state, m->key, final, sizeof(final));
    }
    if (rc == 0)
        rc = ckpt_manifest_parse(m->manifest, m->manifest_len, &r->files,
                                 &r->nfiles);
    if (rc == 0 && r->nfiles > CKPT_WIRE_FILES_MAX)
        rc = -EUCLEAN;
    if (rc == 0) {
        r->fds = malloc((r->nfiles + 1) * sizeof(int));
        r->have = calloc(r->nfiles + 1, sizeof(uint64_t));
        r->hashing = calloc(r->nfiles + 1, sizeof(*r->hashing));
        r->hashes = calloc(r->nfiles + 1, sizeof(*r->hashes));
        rc = r->fds && r->have && r->hashing && r->hashes ? 0 : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < r->nfiles; i++)
            r->fds[i] = -1;
    }
    if (rc == 0)
        rc = ckpt_store_create(final, &r->final);
    if (rc == 0 && ckpt_committed_same(r->final, m)) {
        st.whole = true;
        rc = ckpt_send_frame(svc, from, &st);
        if (r->fetch) {
            struct ckpt_fetch *f = r->fetch;

            ckpt_recv_free(r);
            ckpt_send_result(svc, from, m->xid, 0, NULL);
            ckpt_fetch_installed(f, 0);
        } else {
            ckpt_recv_free(r);
        }
        return;
    }
    if (rc == 0)
        rc = ckpt_stage_open(final, m->version, &r->stage);
    if (rc == 0)
        rc = ckpt_recv_stage(r, m);
    if (rc < 0) {
        ckpt_recv_abort(r, rc == -EUCLEAN ? SHOAL_EPROTO : rc, true,
                        rc == -ENOSPC && r->stage, NULL);
        return;
    }
    st.nfiles = (uint32_t)r->nfiles;
    st.have = r->have;
    rc = ckpt_send_frame(svc, from, &st);
    if (rc < 0)
        ckpt_recv_abort(r, rc, false, false, NULL);
}

static void ckpt_recv_finish(struct ckpt_recv *r, int code)
{
    struct ckpt_service *svc = r->svc;
    struct ckpt_fetch *f = r->fetch;
    uint64_t from = r->from, xid = r->xid;

    if (code == 0) {
        svc->stats.copies_received++;
        LOG(LOG_LEVEL_INFO, LOG_CKPT,
            "copy of '%s' v%d from %016" PRIx64 " committed", r->key,
            r->version, r->from);
        ckpt_send_result(svc, from, xid, 0, NULL);
        ckpt_recv_free(r);
        if (f)
            ckpt_fetch_installed(f, 0);
        return;
    }
    if (code == -EUCLEAN)
        svc->stats.copies_bad++;
    /* the data is wrong or does not fit: start over next time */
    r->fetch = NULL;
    ckpt_recv_abort(r, code, true, code == -EUCLEAN || code == -ENOSPC,
                    code == -EUCLEAN ? "the copy does not match its MANIFEST"
                                     : NULL);
    if (f)
        ckpt_fetch_installed(f, code);
}

static void
ckpt_on_chunk(struct ckpt_service *svc, uint64_t from, const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    struct ckpt_msg ack = {.type = CKPT_FRAME_ACK, .xid = m->xid};
    int rc;

    if (!r || r->installing || m->file >= r->nfiles
        || m->offset != r->have[m->file]
        || m->offset + m->len > r->files[m->file].size) {
        svc->stats.malformed++;
        if (r && !r->installing)
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, NULL);
        return;
    }
    rc = ckpt_write_all(r->fds[m->file], m->data, m->len, m->offset);
    if (rc < 0) {
        /* a disk too small for this copy: remove what it holds */
        ckpt_recv_abort(r, rc, true, true, NULL);
        return;
    }
    if (r->hashes[m->file].valid)
        crypto_generichash_update(&r->hashing[m->file], m->data, m->len);
    svc->stats.bytes_received += m->len;
    r->have[m->file] += m->len;
    r->last_ms = ckpt_now(svc);
    if (r->fetch)
        r->fetch->last_ms = r->last_ms;
    ack.file = m->file;
    ack.end = r->have[m->file];
    ckpt_send_frame(svc, from, &ack);
}

static void
ckpt_on_done(struct ckpt_service *svc, uint64_t from, const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    struct ckpt_work *w;
    int rc;

    if (!r || r->installing) {
        svc->stats.malformed++;
        return;
    }
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->have[i] != r->files[i].size) {
            svc->stats.malformed++;
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, NULL);
            return;
        }
    ckpt_recv_close_fds(r);
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->hashes[i].valid)
            crypto_generichash_final(&r->hashing[i], r->hashes[i].bytes,
                                     CKPT_HASH_BYTES);
    w = calloc(1, sizeof(*w));
    /* the work's own copy: the receiver may be freed before it ends */
    if (w)
        w->hashes = malloc((r->nfiles + 1) * sizeof(*w->hashes));
    if (!w || !w->hashes) {
        free(w);
        ckpt_recv_abort(r, -ENOMEM, true, false, NULL);
        return;
    }
    memcpy(w->hashes, r->hashes, r->nfiles * sizeof(*w->hashes));
    w->nhashes = r->nfiles;
    w->kind = CKPT_WORK_INSTALL;
    w->svc = svc;
    w->owner = r;
    w->store = r->final;
    w->stage = r->stage;
    w->version = r->version;
    r->installing = true;
    if (r->fetch)
        r->fetch->installing = true;
    rc = ckpt_work_queue(w);
    if (rc < 0) {
        free(w->hashes);
        free(w);
        r->installing = false;
        ckpt_recv_abort(r, rc, true, false, NULL);
    }
}

/* ---- serving a fetch ---- */

static void
ckpt_on_pull(struct ckpt_service *svc, uint64_t from, const struct ckpt_msg *m)
{
    struct ckpt_work *w = calloc(1, sizeof(*w));
    char dir[PATH_MAX];
    int rc = w ? ckpt_key_path(svc->state, m->key, dir, sizeof(dir)) : -ENOMEM;

    if (rc == 0) {
        struct stat st;

        /* never create directories for a key this node does not hold */
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            rc = -ENOENT;
    }
    if (rc == 0)
        rc = ckpt_store_create(dir, &w->store);
    if (rc == 0) {
        w->kind = CKPT_WORK_SERVE;
        w->svc = svc;
        w->version = m->version;
        w->to = from;
        w->xid = m->xid;
        snprintf(w->key, sizeof(w->key), "%s", m->key);
        rc = ckpt_work_queue(w);
    }
    if (rc < 0) {
        if (w)
            ckpt_store_destroy(w->store);
        free(w);
        ckpt_send_result(svc, from, m->xid, rc,
                         rc == -ENOENT ? "has no such version" : NULL);
    }
}

static void ckpt_served(struct ckpt_work *w)
{
    struct ckpt_service *svc = w->svc;
    char dir[PATH_MAX];
    int rc = w->rc;

    if (rc == 0)
        rc = ckpt_store_path(w->store, w->version, NULL, dir, sizeof(dir));
    if (rc == 0)
        rc = ckpt_send_start(svc, w->to, w->xid, CKPT_PURPOSE_FETCH, w->key,
                             w->version, dir, w->manifest, w->manifest_len,
                             NULL);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_CKPT,
            "cannot serve '%s' v%d to %016" PRIx64 ": %s", w->key, w->version,
            w->to, ckpt_reason(rc));
        ckpt_send_result(svc, w->to, w->xid, rc,
                         rc == -ENOENT    ? "has no such version"
                         : rc == -EUCLEAN ? "its copy is corrupt"
                                          : NULL);
    }
}

static void ckpt_work_after(uv_work_t *req, int status)
{
    struct ckpt_work *w = req->data;

    if (--w->svc->working == 0 && w->svc->closed) {
        free(w->svc);
        w->svc = NULL;
    }
    if (!w->svc || w->svc->closed) {
        ckpt_store_destroy(w->store);
        free(w->hashes);
        free(w->manifest);
        free(w);
        return;
    }
    if (status < 0 && w->rc == 0)
        w->rc = status;
    if (w->rc == 0 && w->known) {
        char dir[PATH_MAX];

        if (ckpt_work_dir(w, dir, sizeof(dir)) == 0)
            ckpt_seen_add(w->svc->seen, dir, w->id);
    }
    switch (w->kind) {
    case CKPT_WORK_PREPARE:
        ckpt_rep_prepared(w);
        break;
    case CKPT_WORK_SERVE:
        ckpt_served(w);
        break;
    case CKPT_WORK_INSTALL:
        ckpt_recv_finish(w->owner, w->rc);
        w->store = NULL; /* the receiver's */
        break;
    }
    if (w->kind != CKPT_WORK_INSTALL)
        ckpt_store_destroy(w->store);
    free(w->hashes);
    free(w->manifest);
    free(w);
}

/* ---- frames, members, time ---- */

static void ckpt_on_result(struct ckpt_service *svc,
                           uint64_t from,
                           const struct ckpt_msg *m)
{
    struct ckpt_send *s = ckpt_send_find(svc, from, m->xid);
    struct ckpt_recv *r;
    struct ckpt_fetch *f;

    if (s) {
        ckpt_xfer_result(s->x, m->code);
        ckpt_send_check(s);
        return;
    }
    r = ckpt_recv_find(svc, from, m->xid);
    if (r) {
        if (!r->installing)
            ckpt_recv_abort(r, m->code < 0 ? m->code : SHOAL_EPROTO, false,
                            false, m->text);
        return;
    }
    f = ckpt_fetch_find(svc, from, m->xid);
    if (f && !f->installing)
        ckpt_fetch_attempt_failed(f, m->code < 0 ? m->code : SHOAL_EPROTO,
                                  m->text);
}

static void ckpt_daemon_frame(daemon_t *d,
                              uint64_t from,
                              uint8_t type,
                              const void *body,
                              size_t len,
                              void *arg)
{
    struct ckpt_service *svc = arg;
    struct ckpt_msg m;
    struct ckpt_send *s;

    (void)d;
    if (ckpt_wire_decode(type, body, len, &m) < 0) {
        svc->stats.malformed++;
        LOG(LOG_LEVEL_DEBUG, LOG_CKPT,
            "malformed %s frame (%zu bytes) from %016" PRIx64,
            ckpt_wire_name(type), len, from);
        return;
    }
    switch (type) {
    case CKPT_FRAME_OFFER:
        ckpt_on_offer(svc, from, &m);
        break;
    case CKPT_FRAME_CHUNK:
        ckpt_on_chunk(svc, from, &m);
        break;
    case CKPT_FRAME_DONE:
        ckpt_on_done(svc, from, &m);
        break;
    case CKPT_FRAME_PULL:
        ckpt_on_pull(svc, from, &m);
        break;
    case CKPT_FRAME_RESULT:
        ckpt_on_result(svc, from, &m);
        break;
    case CKPT_FRAME_STATUS:
    case CKPT_FRAME_ACK:
        s = ckpt_send_find(svc, from, m.xid);
        if (!s) {
            svc->stats.malformed++;
            return;
        }
        if (type == CKPT_FRAME_ACK) {
            ckpt_xfer_ack(s->x, m.file, m.end, ckpt_now(svc));
        } else {
            uint64_t *have = calloc(m.nfiles + 1, sizeof(*have));

            for (uint32_t i = 0; have && i < m.nfiles; i++)
                have[i] = ckpt_wire_have(&m, i);
            if (have)
                ckpt_xfer_status(s->x, m.whole, have, m.nfiles, ckpt_now(svc));
            else
                ckpt_xfer_fail(s->x, -ENOMEM);
            free(have);
        }
        if (ckpt_xfer_error(s->x) == SHOAL_EPROTO)
            svc->stats.malformed++;
        ckpt_send_check(s);
        break;
    default:
        break;
    }
}

/* A node is gone: its transfers end now rather than at their timeout. */
static void ckpt_node_gone(struct ckpt_service *svc, uint64_t node)
{
    struct ckpt_send *s, *snext;
    struct ckpt_recv *r, *rnext;
    struct ckpt_fetch *f, *fnext;

    for (s = svc->sends; s; s = snext) {
        snext = s->next;
        if (s->to == node) {
            ckpt_xfer_fail(s->x, -EHOSTDOWN);
            ckpt_send_check(s);
            snext = svc->sends; /* the list may have changed */
        }
    }
    for (r = svc->recvs; r; r = rnext) {
        rnext = r->next;
        if (r->from == node && !r->installing) {
            ckpt_recv_abort(r, -EHOSTDOWN, false, false, NULL);
            rnext = svc->recvs;
        }
    }
    for (f = svc->fetches; f; f = fnext) {
        fnext = f->next;
        if (f->source == node && !f->installing) {
            bool has_recv = false;

            for (r = svc->recvs; r; r = r->next)
                has_recv |= r->fetch == f;
            if (!has_recv) {
                ckpt_fetch_attempt_failed(f, -EHOSTDOWN, NULL);
                fnext = svc->fetches;
            }
        }
    }
}

static void ckpt_daemon_member(daemon_t *d,
                               enum member_event_kind kind,
                               const struct daemon_member *m,
                               void *arg)
{
    (void)d;
    if (kind == MEMBER_EVENT_DEAD || kind == MEMBER_EVENT_LEAVE)
        ckpt_node_gone(arg, m->id);
}

static void ckpt_on_tick(uv_timer_t *t)
{
    struct ckpt_service *svc = t->data;
    uint64_t now = ckpt_now(svc);
    struct ckpt_send *s, *snext;
    struct ckpt_recv *r, *rnext;
    struct ckpt_fetch *f, *fnext;

    for (s = svc->sends; s; s = snext) {
        snext = s->next;
        ckpt_xfer_tick(s->x, now);
        if (ckpt_xfer_state(s->x) == CKPT_XFER_FAILED) {
            ckpt_send_check(s);
            snext = svc->sends;
        }
    }
    /* a sender silent this long is gone; its staged bytes stay */
    for (r = svc->recvs; r; r = rnext) {
        rnext = r->next;
        if (!r->installing && now - r->last_ms >= 2 * svc->timeout_ms) {
            ckpt_recv_abort(r, -ETIMEDOUT, true, false, NULL);
            rnext = svc->recvs;
        }
    }
    for (f = svc->fetches; f; f = fnext) {
        fnext = f->next;
        if (f->source && !f->installing
            && now - f->last_ms >= svc->timeout_ms) {
            for (r = svc->recvs; r; r = r->next)
                if (r->fetch == f) {
                    r->fetch = NULL;
                    ckpt_send_result(svc, r->from, r->xid, -ETIMEDOUT, NULL);
                    ckpt_recv_free(r);
                    break;
                }
            ckpt_fetch_attempt_failed(f, -ETIMEDOUT, NULL);
            fnext = svc->fetches;
        }
    }
}

/* ---- ckpt.list, ckpt.remove ---- */

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

/* List the versions of the store at path (key), then the stores below. */
static void
ckpt_list_walk(const char *path, const char *key, int depth, json_t *out)
{
    ckpt_store_t *store;
    int *versions = NULL, n;
    DIR *d;
    struct dirent *de;
    struct stat st;

    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return;
    if (*key && ckpt_store_create(path, &store) == 0) {
        n = ckpt_store_list(store, &versions);
        for (int i = 0; i < n; i++) {
            char vdir[PATH_MAX];
            uint64_t bytes = 0;
            int files = 0;

            if (ckpt_store_path(store, versions[i], NULL, vdir, sizeof(vdir))
                == 0)
                ckpt_dir_size(vdir, &bytes, &files);
            json_array_append_new(
                out, json_pack("{s:s, s:i, s:I, s:i, s:b}", "key", key,
                               "version", versions[i], "bytes",
                               (json_int_t)bytes, "files", files, "committed",
                               ckpt_store_committed(store, versions[i]) == 1));
        }
        free(versions);
        ckpt_store_destroy(store);
    }
    if (depth >= CKPT_LIST_DEPTH)
        return;
    d = opendir(path);
    if (!d)
        return;
    while ((de = readdir(d))) {
        char sub[PATH_MAX], subkey[CKPT_KEY_MAX + CKPT_KEY_PART_MAX + 2];
        int a = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        int b = *key
                    ? snprintf(subkey, sizeof(subkey), "%s/%s", key, de->d_name)
                    : snprintf(subkey, sizeof(subkey), "%s", de->d_name);

        if (a < 0 || (size_t)a >= sizeof(sub) || b < 0
            || (size_t)b >= sizeof(subkey) || ckpt_key_check(subkey, 0) < 0)
            continue; /* ".", "..", staging and version directories */
        ckpt_list_walk(sub, subkey, depth + 1, out);
    }
    closedir(d);
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

static void ckpt_op_list(control_conn_t *conn, json_t *req, void *arg)
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
    ckpt_list_walk(path, key, 0, out);
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

static void ckpt_op_remove(control_conn_t *conn, json_t *req, void *arg)
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
        if (ckpt_stage_open(path, versions[i], &stage) == 0) {
            ckpt_stage_remove(stage, versions[i]);
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

/* ---- the service ---- */

static void ckpt_daemon_stats(daemon_t *d, json_t *stats, void *arg)
{
    struct ckpt_service *svc = arg;
    const struct ckpt_stats *s = &svc->stats;

    (void)d;
    json_object_set_new(
        stats, "ckpt",
        json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "malformed",
            (json_int_t)s->malformed, "copies-sent", (json_int_t)s->copies_sent,
            "copies-received", (json_int_t)s->copies_received, "copies-failed",
            (json_int_t)s->copies_failed, "copies-bad",
            (json_int_t)s->copies_bad, "bytes-sent", (json_int_t)s->bytes_sent,
            "bytes-received", (json_int_t)s->bytes_received, "bytes-resumed",
            (json_int_t)s->bytes_resumed, "fetches", (json_int_t)s->fetches,
            "fetches-failed", (json_int_t)s->fetches_failed));
}

static int ckpt_service_params(struct ckpt_service *svc, shoal_error_t *error)
{
    double chunk, window, timeout;
    int rc = param_get_double(&ckpt_chunk_param, 4, &chunk, error);

    if (rc == 0)
        rc = param_get_double(&ckpt_window_param, 4, &window, error);
    if (rc == 0)
        rc = param_get_double(&ckpt_timeout_param, 0.5, &timeout, error);
    if (rc < 0)
        return rc;
    if (chunk > CKPT_WIRE_CHUNK_MAX / 1024)
        chunk = CKPT_WIRE_CHUNK_MAX / 1024;
    if (window < chunk)
        window = chunk;
    if (window > 64 * 1024)
        window = 64 * 1024;
    svc->chunk = (uint32_t)chunk * 1024;
    svc->window = (uint64_t)window * 1024;
    svc->timeout_ms = (uint64_t)(timeout * 1000);
    return 0;
}

int ckpt_service_attach(daemon_t *d,
                        const char *state,
                        ckpt_service_t **out,
                        shoal_error_t *error)
{
    static const char *const ops[] = {"ckpt.replicate", "ckpt.fetch",
                                      "ckpt.list", "ckpt.remove"};
    static control_op_f *const fns[] = {ckpt_op_replicate, ckpt_op_fetch,
                                        ckpt_op_list, ckpt_op_remove};
    struct ckpt_service *svc = calloc(1, sizeof(*svc));
    int rc = svc ? 0 : -ENOMEM;

    if (rc == 0) {
        svc->d = d;
        svc->loop = daemon_loop(d);
        svc->state = strdup(state);
        rc = svc->state ? ckpt_service_params(svc, error) : -ENOMEM;
    }
    if (rc == 0) {
        svc->buf = malloc(CKPT_WIRE_CHUNK_HEAD + svc->chunk);
        rc = svc->buf ? 0 : -ENOMEM;
    }
    if (rc == 0)
        rc = ckpt_seen_create(CKPT_SEEN_MAX, &svc->seen);
    if (rc < 0) {
        if (svc) {
            free(svc->buf);
            free(svc->state);
            free(svc);
        }
        if (rc == -ENOMEM)
            shoal_errprintf(error, rc, "cannot serve checkpoints: %s",
                            shoal_strerror(rc));
        return rc;
    }
    /* transfer ids unique per node, also across its restarts */
    randombytes_buf(&svc->next_xid, sizeof(svc->next_xid));
    for (size_t i = 0; rc == 0 && i < sizeof(ops) / sizeof(ops[0]); i++)
        rc = daemon_on_control(d, ops[i], fns[i], svc);
    if (rc == 0)
        rc = daemon_on_frame(d, CKPT_FRAME_FIRST, CKPT_FRAME_LAST,
                             ckpt_daemon_frame, svc);
    if (rc == 0)
        rc = daemon_on_member(d, ckpt_daemon_member, svc);
    if (rc == 0)
        rc = daemon_on_stats(d, ckpt_daemon_stats, svc);
    if (rc == 0)
        rc = uv_timer_init(svc->loop, &svc->tick);
    if (rc == 0) {
        svc->tick.data = svc;
        rc = uv_timer_start(&svc->tick, ckpt_on_tick, CKPT_TICK_MS,
                            CKPT_TICK_MS);
        /* the tick alone must not keep a leaving daemon's loop running */
        uv_unref((uv_handle_t *)&svc->tick);
    }
    if (rc < 0) {
        /* the registrations stay with the daemon: it is torn down next */
        shoal_errprintf(error, rc, "cannot serve checkpoints: %s",
                        shoal_strerror(rc));
        return rc;
    }
    *out = svc;
    return 0;
}

static void ckpt_service_closed(uv_handle_t *h)
{
    struct ckpt_service *svc = h->data;

    while (svc->sends) {
        struct ckpt_send *s = svc->sends;

        svc->sends = s->next;
        s->rep = NULL;
        ckpt_send_free(s);
    }
    while (svc->recvs)
        ckpt_recv_free(svc->recvs);
    while (svc->reps) {
        svc->reps->conn = NULL;
        ckpt_rep_free(svc->reps);
    }
    while (svc->fetches) {
        svc->fetches->conn = NULL;
        ckpt_fetch_free(svc->fetches);
    }
    free(svc->buf);
    free(svc->state);
    ckpt_seen_destroy(svc->seen);
    svc->seen = NULL;
    svc->closed = true;
    if (svc->working == 0)
        free(svc);
}

void ckpt_service_destroy(ckpt_service_t *svc)
{
    if (!svc)
        return;
    uv_close((uv_handle_t *)&svc->tick, ckpt_service_closed);
    uv_run(svc->loop, UV_RUN_NOWAIT);
}
