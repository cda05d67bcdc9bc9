/* SPDX-License-Identifier: MIT */
/* ckpt_rep.c - the ckpt.replicate op. */
#include "runtime/ckpt/ckpt_rep.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_partners.h"
#include "runtime/ckpt/ckpt_send.h"
#include "runtime/ckpt/ckpt_work.h"
#include "util/log.h"

void ckpt_rep_free(struct ckpt_rep *rep)
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

static void ckpt_rep_sent(void *arg, uint64_t to, int code);
static void ckpt_rep_recheck(struct ckpt_rep *rep);

/* Start copies until want are done or under way, or no node is left;
 * reply when the op is over. */
static void ckpt_rep_step(struct ckpt_rep *rep)
{
    struct ckpt_service *svc = rep->svc;
    int done = (int)json_array_size(rep->copies);
    char dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s/v%d", rep->rdir, rep->version);
    while (!rep->verifying && !rep->damaged && done + rep->active < rep->want
           && rep->next_cand < rep->ncands) {
        uint64_t to = rep->cands[rep->next_cand++];
        int rc =
            ckpt_send_start(svc, to, svc->next_xid++, CKPT_PURPOSE_REPLICATE,
                            rep->key, rep->version, dir, rep->manifest,
                            rep->manifest_len, ckpt_rep_sent, rep);

        if (rc == 0) {
            rep->active++;
        } else {
            char name[128];

            ckpt_node_name(svc, to, name, sizeof(name));
            ckpt_appendf(rep->errors, "; node %s: %s", name,
                         ckpt_node_reason(rc));
            rep->last_error = rc;
        }
    }
    if (done >= rep->want) {
        if (rep->conn)
            control_reply(rep->conn, json_pack("{s:O}", "copies", rep->copies));
        ckpt_rep_free(rep);
    } else if (rep->active == 0 && rep->damaged) {
        ckpt_rep_fail(rep, -EUCLEAN,
                      "cannot replicate '%s' version %d: the version does not "
                      "match its MANIFEST (%d of %d copies made)",
                      rep->key, rep->version, done, rep->want);
    } else if (rep->active == 0 && !rep->verifying) {
        ckpt_rep_fail(rep, rep->last_error ? rep->last_error : -EHOSTUNREACH,
                      "cannot replicate '%s' version %d: %d of %d copies "
                      "made:%s",
                      rep->key, rep->version, done, rep->want,
                      rep->errors[0] ? rep->errors + 1
                                     : " no other live node in the pool");
    }
}

static void ckpt_rep_sent(void *arg, uint64_t to, int code)
{
    struct ckpt_rep *rep = arg;

    rep->active--;
    if (code == 0) {
        json_array_append_new(rep->copies, ckpt_node_json(to));
    } else {
        char name[128];

        ckpt_node_name(rep->svc, to, name, sizeof(name));
        ckpt_appendf(rep->errors, "; node %s: %s", name,
                     ckpt_node_reason(code));
        rep->last_error = code;
        if (code == -EUCLEAN && !rep->verifying)
            ckpt_rep_recheck(rep);
    }
    ckpt_rep_step(rep);
}

/* A copy failed as not matching the MANIFEST (a file hashed as it was
 * sent, or a partner's check of a file it resumed), or a file shrank or
 * changed while it was read: hash the version here before trying another
 * partner. */
static void ckpt_rep_recheck(struct ckpt_rep *rep)
{
    struct ckpt_work *w = calloc(1, sizeof(*w));
    int rc = w ? ckpt_store_create(rep->rdir, &w->store) : -ENOMEM;

    if (rc == 0) {
        w->kind = CKPT_WORK_RECHECK;
        w->svc = rep->svc;
        w->owner = rep;
        w->version = rep->version;
        rc = ckpt_work_queue(w);
    }
    if (rc < 0) {
        if (w)
            ckpt_store_destroy(w->store);
        free(w);
        /* cannot tell where the damage is: send no more */
        rep->damaged = true;
        return;
    }
    rep->verifying = true;
}

void ckpt_rep_rechecked(struct ckpt_work *w)
{
    struct ckpt_rep *rep = w->owner;

    rep->verifying = false;
    rep->unverified = false;
    if (w->rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_CKPT,
            "'%s' v%d does not match its MANIFEST on this node: %s", rep->key,
            rep->version, ckpt_node_reason(w->rc));
        rep->damaged = true;
    }
    ckpt_rep_step(rep);
}

/* Fill rep's candidates: the partners of this node among its members. */
static int ckpt_rep_partners(struct ckpt_rep *rep)
{
    struct daemon_member *m = NULL;
    size_t n = 0;
    int rc = daemon_members(rep->svc->d, &m, &n);

    if (rc == 0)
        rc = ckpt_partners_ring(m, n, daemon_node_id(rep->svc->d), &rep->cands,
                                &rep->ncands);
    free(m);
    return rc;
}

void ckpt_rep_prepared(struct ckpt_work *w)
{
    struct ckpt_rep *rep = w->owner;
    int rc = w->rc;

    rep->manifest = w->manifest;
    rep->manifest_len = w->manifest_len;
    rep->unverified = w->unverified;
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
    rc = ckpt_rep_partners(rep);
    if (rc < 0) {
        ckpt_rep_fail(rep, rc, "cannot replicate '%s': %s", rep->key,
                      shoal_strerror(rc));
        return;
    }
    ckpt_rep_step(rep);
}

void ckpt_rep_op(control_conn_t *conn, json_t *req, void *arg)
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
