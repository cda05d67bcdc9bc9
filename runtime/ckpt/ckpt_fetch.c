/* SPDX-License-Identifier: MIT */
/* ckpt_fetch.c - the ckpt.fetch op. */
#include "runtime/ckpt/ckpt_fetch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_recv.h"

void ckpt_fetch_free(struct ckpt_fetch *f)
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
                                            : ckpt_node_send(svc, node, &m);
        if (rc == 0) {
            f->xid = m.xid;
            f->source = node;
            f->last_ms = ckpt_now(svc);
            return;
        }
        ckpt_node_name(svc, node, name, sizeof(name));
        ckpt_appendf(f->errors, "; node %s: %s", name,
                     rc == -EINVAL ? "is this node" : ckpt_node_reason(rc));
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
void ckpt_fetch_attempt_failed(struct ckpt_fetch *f, int code, const char *text)
{
    char name[128];

    ckpt_node_name(f->svc, f->source, name, sizeof(name));
    ckpt_appendf(f->errors, "; node %s: %s", name,
                 text && *text ? text : ckpt_node_reason(code));
    if (code == -EUCLEAN)
        json_array_append_new(f->bad, ckpt_node_json(f->source));
    f->last_error = code;
    ckpt_fetch_next(f);
}

void ckpt_fetch_installed(struct ckpt_fetch *f, int code)
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

struct ckpt_fetch *
ckpt_fetch_find(struct ckpt_service *svc, uint64_t source, uint64_t xid)
{
    for (struct ckpt_fetch *f = svc->fetches; f; f = f->next)
        if (f->source == source && f->xid == xid)
            return f;
    return NULL;
}

void ckpt_fetch_op(control_conn_t *conn, json_t *req, void *arg)
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
