/* SPDX-License-Identifier: MIT */
/* ckpt_work.c - the checkpoint service's work on libuv's thread pool. */
#include "runtime/ckpt/ckpt_work.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "runtime/ckpt/ckpt_recv.h"
#include "runtime/ckpt/ckpt_rep.h"
#include "runtime/ckpt/ckpt_send.h"

/* Make sure the version of w->store is committed, sealed and (unless
 * lazy and it has a MANIFEST, see ckpt_work.h) right, and read its
 * manifest. A version hashed earlier is trusted while its identity stays
 * the same; one sealed just now was hashed by sealing. */
static int ckpt_work_ready(struct ckpt_work *w, bool seal, bool lazy)
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
        && !(w->known && sodium_memcmp(now, w->id, sizeof(now)) == 0)) {
        if (lazy)
            w->unverified = true;
        else
            rc = ckpt_store_verify(w->store, w->version);
    }
    if (rc == 0)
        rc = ckpt_store_manifest(w->store, w->version, &w->manifest,
                                 &w->manifest_len);
    memcpy(w->id, now, sizeof(now));
    w->known = rc == 0 && !w->unverified;
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
        w->rc = ckpt_work_ready(w, true, true);
        break;
    case CKPT_WORK_RECHECK:
        w->known = false;
        w->rc = ckpt_work_ready(w, false, false);
        break;
    case CKPT_WORK_SERVE:
        w->rc = ckpt_work_ready(w, false, false);
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

int ckpt_work_queue(struct ckpt_work *w)
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

static void ckpt_work_after(uv_work_t *req, int status)
{
    struct ckpt_work *w = req->data;

    if (--w->svc->working == 0 && w->svc->closed) {
        free(w->svc);
        w->svc = NULL;
    }
    if (!w->svc || w->svc->closed) {
        ckpt_store_destroy(w->store);
        ckpt_store_destroy(w->stage);
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
    case CKPT_WORK_RECHECK:
        ckpt_rep_rechecked(w);
        break;
    case CKPT_WORK_SERVE:
        ckpt_send_served(w);
        break;
    case CKPT_WORK_INSTALL:
        ckpt_recv_finish(w->owner, w->rc);
        break;
    }
    ckpt_store_destroy(w->store);
    ckpt_store_destroy(w->stage);
    free(w->hashes);
    free(w->manifest);
    free(w);
}
