/* SPDX-License-Identifier: MIT */
/* ckpt_rep.h - the ckpt.replicate op (ckpt_service.h): a version of a
 * local store sealed if needed (ckpt_work.h), then sent (ckpt_send.h) to
 * the wanted number of partners (ckpt_partners.h), a failed partner
 * replaced by the next. What is sent is checked against the MANIFEST on
 * the way (ckpt_send.h); when a copy fails as not matching, the version
 * is verified here before another partner is tried, and a version damaged
 * here fails the op, named. The reply names the nodes that committed a
 * copy, or every node tried and why. On the daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_REP_H
#define SHOAL_RUNTIME_CKPT_CKPT_REP_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_store.h"

struct ckpt_work;

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
    bool unverified; /* sent without hashing it here first */
    bool verifying;  /* a RECHECK runs: start no copy until it ends */
    bool damaged;    /* the RECHECK found the version wrong: start none */
};

/* The control op; arg is the service. */
void ckpt_rep_op(control_conn_t *conn, json_t *req, void *arg);

/* The version is ready to send (w->rc, w->manifest, taken): start the
 * copies, or reply the error. */
void ckpt_rep_prepared(struct ckpt_work *w);

/* The version was hashed after a partner refused it (w->rc): go on with
 * the next partner, or end the op when the version is damaged here. */
void ckpt_rep_rechecked(struct ckpt_work *w);

/* Take rep off svc->reps and free it, without a reply. */
void ckpt_rep_free(struct ckpt_rep *rep);

#endif
