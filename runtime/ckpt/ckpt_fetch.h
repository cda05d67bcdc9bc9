/* SPDX-License-Identifier: MIT */
/* ckpt_fetch.h - the ckpt.fetch op (ckpt_service.h): a version pulled
 * from the first of the listed nodes that has it whole. Each attempt sends
 * PULL; the holder answers with a copy (received by ckpt_recv.h into the
 * fetch's directory) or a RESULT saying why not, and the next node is
 * asked. The reply names the node used, or every copy refused and why
 * with "bad" listing the corrupt ones. On the daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_FETCH_H
#define SHOAL_RUNTIME_CKPT_CKPT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_service_private.h"

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

/* The control op; arg is the service. */
void ckpt_fetch_op(control_conn_t *conn, json_t *req, void *arg);

/* The attempt from f->source ended with code (< 0) and text from it (may
 * be NULL): note it and ask the next node, or reply. f may be freed. */
void ckpt_fetch_attempt_failed(struct ckpt_fetch *f,
                               int code,
                               const char *text);

/* The copy was installed (0) or refused (code): reply, or try the next
 * node. f may be freed. */
void ckpt_fetch_installed(struct ckpt_fetch *f, int code);

/* The fetch whose attempt under xid asks node source, or NULL. */
struct ckpt_fetch *
ckpt_fetch_find(struct ckpt_service *svc, uint64_t source, uint64_t xid);

/* Take f off svc->fetches, detach its receiver, free it; no reply. */
void ckpt_fetch_free(struct ckpt_fetch *f);

#endif
