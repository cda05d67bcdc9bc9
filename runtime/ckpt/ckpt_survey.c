/* SPDX-License-Identifier: MIT */
/* ckpt_survey.c - the ckpt.pool-list op and the LIST/LISTED frames. */
#include "runtime/ckpt/ckpt_survey.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_catalog.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_view.h"
#include "util/log.h"
#include "util/param.h"

PARAM_DEFINE(ckpt_list_timeout_param,
             "ckpt_list_timeout",
             PARAM_TYPE_DOUBLE,
             "2",
             "seconds `shoal ckpt ls --pool` waits for the nodes' lists of "
             "checkpoints; the nodes that did not answer by then are named");

enum ckpt_survey_limit {
    CKPT_SURVEY_TIMEOUT_MAX = 60, /* seconds a request may ask for */
};

enum ckpt_survey_state {
    CKPT_SURVEY_WAITING,
    CKPT_SURVEY_ANSWERED,
    CKPT_SURVEY_MISSING,
};

struct ckpt_survey_node {
    uint64_t id;
    char name[MEMBER_NAME_MAX + 1];
    enum ckpt_survey_state state;
    const char *why; /* MISSING: static text */
    uint32_t versions;
    bool truncated;
};

/* A ckpt.pool-list op waiting for its nodes. */
struct ckpt_survey {
    struct ckpt_survey *next;
    struct ckpt_service *svc;
    control_conn_t *conn;
    uint64_t xid;
    uint64_t deadline_ms;
    double timeout; /* seconds, for the words of a missing node */
    ckpt_view_t *view;
    struct ckpt_survey_node *nodes; /* this node first */
    size_t nnodes;
    size_t waiting;
};

static void ckpt_survey_free(struct ckpt_survey *sv)
{
    struct ckpt_service *svc = sv->svc;

    for (struct ckpt_survey **p = &svc->surveys; *p; p = &(*p)->next)
        if (*p == sv) {
            *p = sv->next;
            break;
        }
    if (sv->conn)
        control_conn_set_handlers(sv->conn, NULL, NULL, NULL);
    ckpt_view_destroy(sv->view);
    free(sv->nodes);
    free(sv);
}

static void ckpt_survey_conn_closed(control_conn_t *conn, void *arg)
{
    struct ckpt_survey *sv = arg;

    (void)conn;
    sv->conn = NULL;
    ckpt_survey_free(sv);
}

static void ckpt_survey_reply(struct ckpt_survey *sv)
{
    json_t *jobs = ckpt_view_json(sv->view);
    json_t *nodes = json_array(), *missing = json_array();

    for (size_t i = 0; nodes && missing && i < sv->nnodes; i++) {
        struct ckpt_survey_node *n = &sv->nodes[i];
        json_t *id = ckpt_node_json(n->id);

        if (n->state == CKPT_SURVEY_ANSWERED)
            json_array_append_new(nodes, json_pack("{s:o*, s:s, s:i, s:b}",
                                                   "node", id, "name", n->name,
                                                   "versions", (int)n->versions,
                                                   "truncated", n->truncated));
        else
            json_array_append_new(missing,
                                  json_pack("{s:o*, s:s, s:s}", "node", id,
                                            "name", n->name, "why",
                                            n->why ? n->why : "no answer"));
    }
    if (sv->conn) {
        if (jobs && nodes && missing)
            control_reply(sv->conn, json_pack("{s:o, s:o, s:o, s:f}", "jobs",
                                              jobs, "nodes", nodes, "missing",
                                              missing, "timeout", sv->timeout));
        else
            control_reply_error(sv->conn, -ENOMEM, "%s",
                                shoal_strerror(-ENOMEM));
    } else {
        json_decref(jobs);
        json_decref(nodes);
        json_decref(missing);
    }
    ckpt_survey_free(sv);
}

/* Collect a node's versions into an array of at most cap entries. */
struct ckpt_survey_collect {
    struct ckpt_wire_entry *entries;
    size_t n, cap;
    uint8_t kind;
    bool truncated;
};

static int ckpt_survey_collect_one(const char *key,
                                   int version,
                                   uint64_t bytes,
                                   int files,
                                   bool committed,
                                   void *arg)
{
    struct ckpt_survey_collect *c = arg;
    struct ckpt_wire_entry *e;

    if (c->n == c->cap) {
        c->truncated = true;
        return 1;
    }
    e = &c->entries[c->n++];
    e->kind = c->kind;
    e->version = version;
    e->bytes = bytes;
    e->files = files < 0 ? 0 : (uint32_t)files;
    e->committed = committed;
    snprintf(e->key, sizeof(e->key), "%s", key);
    return 0;
}

/* This node's versions under prefix, originals first. Returns 0 or
 * -ENOMEM. */
static int ckpt_survey_collect(struct ckpt_service *svc,
                               const char *prefix,
                               struct ckpt_survey_collect *c)
{
    c->cap = CKPT_WIRE_LIST_TOTAL;
    c->n = 0;
    c->truncated = false;
    c->entries = calloc(c->cap, sizeof(*c->entries));
    if (!c->entries)
        return -ENOMEM;
    c->kind = CKPT_ENTRY_ORIGINAL;
    if (ckpt_catalog_walk(svc, true, prefix, ckpt_survey_collect_one, c) == 0) {
        c->kind = CKPT_ENTRY_COPY;
        ckpt_catalog_walk(svc, false, prefix, ckpt_survey_collect_one, c);
    }
    return 0;
}

void ckpt_survey_on_list(struct ckpt_service *svc,
                         uint64_t from,
                         const struct ckpt_msg *m)
{
    struct ckpt_survey_collect c;
    size_t sent = 0;

    if (ckpt_survey_collect(svc, m->key, &c) < 0)
        return; /* the asker times out and names this node */
    do {
        struct ckpt_msg out = {.type = CKPT_FRAME_LISTED, .xid = m->xid};
        size_t n = c.n - sent;

        if (n > CKPT_WIRE_LIST_MAX)
            n = CKPT_WIRE_LIST_MAX;
        out.entries = c.entries + sent;
        out.nentries = (uint32_t)n;
        sent += n;
        if (sent < c.n)
            out.flags = CKPT_LISTED_MORE;
        else if (c.truncated)
            out.flags = CKPT_LISTED_TRUNCATED;
        if (ckpt_node_send(svc, from, &out) < 0) {
            LOG(LOG_LEVEL_DEBUG, LOG_CKPT,
                "cannot answer the list of %016" PRIx64, from);
            break;
        }
    } while (sent < c.n);
    free(c.entries);
}

static struct ckpt_survey_node *ckpt_survey_node(struct ckpt_survey *sv,
                                                 uint64_t id)
{
    for (size_t i = 0; i < sv->nnodes; i++)
        if (sv->nodes[i].id == id)
            return &sv->nodes[i];
    return NULL;
}

static void ckpt_survey_add(struct ckpt_survey *sv,
                            struct ckpt_survey_node *n,
                            const struct ckpt_wire_entry *e)
{
    char id[17];

    snprintf(id, sizeof(id), "%016" PRIx64, n->id);
    if (ckpt_view_add(sv->view, id, n->name, e) == 0)
        n->versions++;
}

void ckpt_survey_on_listed(struct ckpt_service *svc,
                           uint64_t from,
                           const struct ckpt_msg *m)
{
    struct ckpt_survey *sv;
    struct ckpt_survey_node *n = NULL;
    struct ckpt_wire_entry e;
    size_t off = 0;

    for (sv = svc->surveys; sv; sv = sv->next)
        if (sv->xid == m->xid)
            break;
    if (sv)
        n = ckpt_survey_node(sv, from);
    if (!n || n->state != CKPT_SURVEY_WAITING)
        return;
    while (ckpt_wire_entry(m, &off, &e) == 0)
        ckpt_survey_add(sv, n, &e);
    if (m->flags & CKPT_LISTED_MORE)
        return;
    n->truncated = (m->flags & CKPT_LISTED_TRUNCATED) != 0;
    n->state = CKPT_SURVEY_ANSWERED;
    if (--sv->waiting == 0)
        ckpt_survey_reply(sv);
}

static void ckpt_survey_missing(struct ckpt_survey *sv,
                                struct ckpt_survey_node *n,
                                const char *why)
{
    if (n->state == CKPT_SURVEY_WAITING)
        sv->waiting--;
    n->state = CKPT_SURVEY_MISSING;
    n->why = why;
}

void ckpt_survey_node_gone(struct ckpt_service *svc, uint64_t node)
{
    struct ckpt_survey *sv, *next;

    for (sv = svc->surveys; sv; sv = next) {
        struct ckpt_survey_node *n = ckpt_survey_node(sv, node);

        next = sv->next;
        if (n && n->state == CKPT_SURVEY_WAITING) {
            ckpt_survey_missing(sv, n, "node is down");
            if (sv->waiting == 0)
                ckpt_survey_reply(sv);
        }
    }
}

void ckpt_survey_tick(struct ckpt_service *svc, uint64_t now)
{
    struct ckpt_survey *sv, *next;

    for (sv = svc->surveys; sv; sv = next) {
        next = sv->next;
        if (now < sv->deadline_ms)
            continue;
        for (size_t i = 0; i < sv->nnodes; i++)
            if (sv->nodes[i].state == CKPT_SURVEY_WAITING)
                ckpt_survey_missing(sv, &sv->nodes[i], "no answer in time");
        ckpt_survey_reply(sv);
    }
}

void ckpt_survey_free_all(struct ckpt_service *svc)
{
    while (svc->surveys) {
        svc->surveys->conn = NULL;
        ckpt_survey_free(svc->surveys);
    }
}

/* The survey's nodes: this one, then every other member not reaped,
 * those not alive or suspect already missing. */
static int ckpt_survey_members(struct ckpt_survey *sv)
{
    struct daemon_member *members = NULL;
    size_t n = 0;

    if (daemon_members(sv->svc->d, &members, &n) < 0)
        return -ENOMEM;
    sv->nodes = calloc(n + 1, sizeof(*sv->nodes));
    if (!sv->nodes) {
        free(members);
        return -ENOMEM;
    }
    sv->nodes[0].id = daemon_node_id(sv->svc->d);
    snprintf(sv->nodes[0].name, sizeof(sv->nodes[0].name), "%s",
             daemon_name(sv->svc->d));
    sv->nnodes = 1;
    for (size_t i = 0; i < n; i++) {
        struct ckpt_survey_node *s = &sv->nodes[sv->nnodes];

        if (members[i].self)
            continue;
        sv->nnodes++;
        s->id = members[i].id;
        snprintf(s->name, sizeof(s->name), "%s", members[i].name);
        /* not asked: missing from the start, not counted as waiting */
        s->state = CKPT_SURVEY_MISSING;
        if (members[i].state == MEMBER_DEAD)
            s->why = "node is down";
        else if (members[i].state == MEMBER_LEFT)
            s->why = "node left the pool";
        else {
            s->state = CKPT_SURVEY_WAITING;
            sv->waiting++;
        }
    }
    free(members);
    return 0;
}

void ckpt_survey_op(control_conn_t *conn, json_t *req, void *arg)
{
    struct ckpt_service *svc = arg;
    json_t *jkey = json_object_get(req, "key");
    json_t *jt = json_object_get(req, "timeout");
    const char *key = jkey ? json_string_value(jkey) : "";
    struct ckpt_msg m = {.type = CKPT_FRAME_LIST};
    struct ckpt_survey_collect c;
    struct ckpt_survey *sv;
    shoal_error_t error;
    double timeout;
    int rc;

    if (!key || ckpt_key_check(key, 1) < 0) {
        control_reply_error(conn, -EINVAL, "invalid checkpoint key '%s'",
                            key ? key : "");
        return;
    }
    if (jt) {
        timeout = json_number_value(jt);
        if (!json_is_number(jt) || timeout <= 0
            || timeout > CKPT_SURVEY_TIMEOUT_MAX) {
            control_reply_error(conn, -EINVAL,
                                "'timeout' must be a number of seconds, "
                                "above 0 and at most %d",
                                CKPT_SURVEY_TIMEOUT_MAX);
            return;
        }
    } else if (param_get_double(&ckpt_list_timeout_param, 0.01, &timeout,
                                &error)
               < 0) {
        control_reply_error(conn, -EINVAL, "%s", error.text);
        return;
    }
    sv = calloc(1, sizeof(*sv));
    rc = sv ? ckpt_view_create(&sv->view) : -ENOMEM;
    if (rc == 0) {
        sv->svc = svc;
        rc = ckpt_survey_members(sv);
    }
    if (rc == 0)
        rc = ckpt_survey_collect(svc, key, &c);
    if (rc < 0) {
        if (sv) {
            ckpt_view_destroy(sv->view);
            free(sv->nodes);
            free(sv);
        }
        control_reply_error(conn, rc, "%s", shoal_strerror(rc));
        return;
    }
    for (size_t i = 0; i < c.n; i++)
        ckpt_survey_add(sv, &sv->nodes[0], &c.entries[i]);
    free(c.entries);
    sv->nodes[0].truncated = c.truncated;
    sv->nodes[0].state = CKPT_SURVEY_ANSWERED;
    sv->xid = svc->next_xid++;
    sv->timeout = timeout;
    sv->deadline_ms = ckpt_now(svc) + (uint64_t)(timeout * 1000);
    sv->conn = conn;
    sv->next = svc->surveys;
    svc->surveys = sv;
    control_conn_set_handlers(conn, NULL, ckpt_survey_conn_closed, sv);
    m.xid = sv->xid;
    snprintf(m.key, sizeof(m.key), "%s", key);
    for (size_t i = 1; i < sv->nnodes; i++) {
        struct ckpt_survey_node *n = &sv->nodes[i];

        if (n->state != CKPT_SURVEY_WAITING)
            continue;
        rc = ckpt_node_send(svc, n->id, &m);
        if (rc < 0)
            ckpt_survey_missing(sv, n,
                                rc == -ENOBUFS ? "its link is full"
                                               : ckpt_node_reason(rc));
    }
    if (sv->waiting == 0)
        ckpt_survey_reply(sv);
}
