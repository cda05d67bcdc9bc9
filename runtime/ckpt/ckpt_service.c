/* SPDX-License-Identifier: MIT */
/* ckpt_service.c - the checkpoint service on the daemon: its tunables,
 * frames, member events, tick and counters; the work itself is done by
 * the modules ckpt_service_private.h lists. */
#include "runtime/ckpt/ckpt_service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "runtime/ckpt/ckpt_catalog.h"
#include "runtime/ckpt/ckpt_fetch.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_recv.h"
#include "runtime/ckpt/ckpt_rep.h"
#include "runtime/ckpt/ckpt_send.h"
#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_survey.h"
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

PARAM_DEFINE(ckpt_retain_param,
             "ckpt_retain_days",
             PARAM_TYPE_DOUBLE,
             "14",
             "days a job's checkpoints are kept on a node after the last "
             "change to them (a job that ended well has them removed at "
             "once; these are what failed jobs and nodes away at the end "
             "left)");

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
        if (r->installing)
            return;
        /* the sender found what it sent not to match the MANIFEST (see
         * ckpt_send.h): the staged bytes are no use to a later attempt */
        if (m->code == -EUCLEAN)
            svc->stats.copies_bad++;
        ckpt_recv_abort(r, m->code < 0 ? m->code : SHOAL_EPROTO, false,
                        m->code == -EUCLEAN, m->text);
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
        ckpt_recv_on_offer(svc, from, &m);
        break;
    case CKPT_FRAME_CHUNK:
        ckpt_recv_on_chunk(svc, from, &m);
        break;
    case CKPT_FRAME_DONE:
        ckpt_recv_on_done(svc, from, &m);
        break;
    case CKPT_FRAME_PULL:
        ckpt_send_on_pull(svc, from, &m);
        break;
    case CKPT_FRAME_FORGET: {
        int rc = ckpt_catalog_forget_job(svc, m.key);

        LOG(rc < 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, LOG_CKPT,
            "job %s ended well (said %016" PRIx64 "): its checkpoints here "
            "%s%s",
            m.key, from, rc < 0 ? "cannot be removed: " : "are removed",
            rc < 0 ? shoal_strerror(rc) : "");
        break;
    }
    case CKPT_FRAME_RESULT:
        ckpt_on_result(svc, from, &m);
        break;
    case CKPT_FRAME_LIST:
        ckpt_survey_on_list(svc, from, &m);
        break;
    case CKPT_FRAME_LISTED:
        ckpt_survey_on_listed(svc, from, &m);
        break;
    case CKPT_FRAME_STATUS:
    case CKPT_FRAME_ACK:
        ckpt_send_on_reply(svc, from, &m);
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

    ckpt_survey_node_gone(svc, node);
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

/* What no job came back for goes, now and then once an hour. */
static void ckpt_sweep(struct ckpt_service *svc)
{
    svc->swept_ms = ckpt_now(svc);
    ckpt_catalog_sweep(svc, svc->retain, (double)time(NULL));
}

static void ckpt_on_tick(uv_timer_t *t)
{
    struct ckpt_service *svc = t->data;
    uint64_t now = ckpt_now(svc);

    if (now - svc->swept_ms >= CKPT_SWEEP_MS)
        ckpt_sweep(svc);
    ckpt_survey_tick(svc, now);
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
                    ckpt_node_result(svc, r->from, r->xid, -ETIMEDOUT, NULL);
                    ckpt_recv_free(r);
                    break;
                }
            ckpt_fetch_attempt_failed(f, -ETIMEDOUT, NULL);
            fnext = svc->fetches;
        }
    }
}

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
    double chunk, window, timeout, retain;
    int rc = param_get_double(&ckpt_chunk_param, 4, &chunk, error);

    if (rc == 0)
        rc = param_get_double(&ckpt_window_param, 4, &window, error);
    if (rc == 0)
        rc = param_get_double(&ckpt_timeout_param, 0.5, &timeout, error);
    if (rc == 0)
        rc = param_get_double(&ckpt_retain_param, 0, &retain, error);
    if (rc < 0)
        return rc;
    svc->retain = retain * 86400;
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
                                      "ckpt.list",      "ckpt.remove",
                                      "ckpt.forget",    "ckpt.pool-list"};
    static control_op_f *const fns[] = {
        ckpt_rep_op,         ckpt_fetch_op,       ckpt_catalog_list,
        ckpt_catalog_remove, ckpt_catalog_forget, ckpt_survey_op};
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
    /* the copies are the daemon's business (its proxies ask, as root or
     * its user); anyone may list them */
    for (size_t i = 0; rc == 0 && i < sizeof(ops) / sizeof(ops[0]); i++)
        rc = daemon_on_control_class(d, ops[i],
                                     strcmp(ops[i], "ckpt.list") == 0
                                             || strcmp(ops[i], "ckpt.pool-list")
                                                    == 0
                                         ? CONTROL_OP_READ
                                         : CONTROL_OP_ADMIN,
                                     fns[i], svc);
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
    if (rc == 0)
        ckpt_sweep(svc);
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
        s->done = NULL;
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
    ckpt_survey_free_all(svc);
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
