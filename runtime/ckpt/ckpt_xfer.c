/* SPDX-License-Identifier: MIT */
/* ckpt_xfer.c - the sending side of a checkpoint copy. */
#include "runtime/ckpt/ckpt_xfer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/error.h>

struct ckpt_xfer {
    enum ckpt_xfer_state state;
    int error;
    const struct ckpt_xfer_ops *ops;
    void *arg;
    uint32_t nfiles;
    uint32_t chunk;
    uint64_t window;
    uint64_t timeout_ms;
    uint64_t last_move; /* when something last moved */
    uint32_t cur;       /* the file being sent */
    uint64_t inflight;  /* bytes sent and not acknowledged */
    bool done_pending;  /* DONE is due but its send was refused */
    struct ckpt_xfer_stats stats;
    /* per file: size, bytes sent, bytes acknowledged */
    uint64_t *size;
    uint64_t *sent;
    uint64_t *acked;
};

int ckpt_xfer_create(const struct ckpt_xfer_config *config,
                     const struct ckpt_xfer_ops *ops,
                     void *arg,
                     uint64_t now,
                     ckpt_xfer_t **out)
{
    ckpt_xfer_t *x;
    size_t n = config->nfiles ? config->nfiles : 1;

    if (config->chunk == 0 || config->window < config->chunk
        || config->timeout_ms == 0 || (config->nfiles && !config->sizes) || !ops
        || !ops->chunk || !ops->done)
        return -EINVAL;
    x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->size = calloc(3 * n, sizeof(uint64_t));
    if (!x->size) {
        free(x);
        return -ENOMEM;
    }
    x->sent = x->size + n;
    x->acked = x->sent + n;
    x->state = CKPT_XFER_OFFERED;
    x->ops = ops;
    x->arg = arg;
    x->nfiles = config->nfiles;
    x->chunk = config->chunk;
    x->window = config->window;
    x->timeout_ms = config->timeout_ms;
    x->last_move = now;
    for (uint32_t i = 0; i < config->nfiles; i++) {
        x->size[i] = config->sizes[i];
        x->stats.total += config->sizes[i];
    }
    *out = x;
    return 0;
}

void ckpt_xfer_destroy(ckpt_xfer_t *x)
{
    if (!x)
        return;
    free(x->size);
    free(x);
}

void ckpt_xfer_fail(ckpt_xfer_t *x, int code)
{
    if (x->state == CKPT_XFER_DONE || x->state == CKPT_XFER_FAILED)
        return;
    x->state = CKPT_XFER_FAILED;
    x->error = code < 0 ? code : -EIO;
}

static bool ckpt_xfer_all_acked(const ckpt_xfer_t *x)
{
    return x->stats.acked == x->stats.total;
}

static bool ckpt_xfer_retry_later(int rc)
{
    return rc == -ENOBUFS || rc == -EAGAIN;
}

/* Send chunks while the window has room, then DONE once everything is
 * acknowledged. */
static int ckpt_xfer_pump(ckpt_xfer_t *x)
{
    while (x->state == CKPT_XFER_STREAMING && x->cur < x->nfiles
           && x->inflight + x->chunk <= x->window) {
        uint64_t left = x->size[x->cur] - x->sent[x->cur];
        uint32_t len = left < x->chunk ? (uint32_t)left : x->chunk;
        int rc;

        if (left == 0) {
            x->cur++;
            continue;
        }
        rc = x->ops->chunk(x->cur, x->sent[x->cur], len, x->arg);
        if (ckpt_xfer_retry_later(rc))
            return 0;
        if (rc < 0) {
            ckpt_xfer_fail(x, rc);
            return rc;
        }
        x->sent[x->cur] += len;
        x->inflight += len;
        x->stats.sent += len;
    }
    if (x->state == CKPT_XFER_STREAMING && ckpt_xfer_all_acked(x))
        x->done_pending = true;
    if (x->done_pending) {
        int rc = x->ops->done(x->arg);

        if (ckpt_xfer_retry_later(rc))
            return 0;
        if (rc < 0) {
            ckpt_xfer_fail(x, rc);
            return rc;
        }
        x->done_pending = false;
        x->state = CKPT_XFER_FINISHING;
    }
    return 0;
}

int ckpt_xfer_status(
    ckpt_xfer_t *x, int whole, const uint64_t *have, uint32_t n, uint64_t now)
{
    if (x->state != CKPT_XFER_OFFERED) {
        ckpt_xfer_fail(x, SHOAL_EPROTO);
        return x->error;
    }
    if (whole) {
        x->state = CKPT_XFER_DONE;
        x->stats.resumed = x->stats.acked = x->stats.total;
        return 0;
    }
    if (n != x->nfiles) {
        ckpt_xfer_fail(x, SHOAL_EPROTO);
        return x->error;
    }
    for (uint32_t i = 0; i < n; i++)
        if (have[i] > x->size[i]) {
            ckpt_xfer_fail(x, SHOAL_EPROTO);
            return x->error;
        }
    for (uint32_t i = 0; i < n; i++) {
        x->sent[i] = x->acked[i] = have[i];
        x->stats.resumed += have[i];
    }
    x->stats.acked = x->stats.resumed;
    x->state = CKPT_XFER_STREAMING;
    x->last_move = now;
    return ckpt_xfer_pump(x);
}

int ckpt_xfer_ack(ckpt_xfer_t *x, uint32_t file, uint64_t end, uint64_t now)
{
    if (x->state != CKPT_XFER_STREAMING || file >= x->nfiles
        || end <= x->acked[file] || end > x->sent[file]) {
        ckpt_xfer_fail(x, SHOAL_EPROTO);
        return x->error;
    }
    x->inflight -= end - x->acked[file];
    x->stats.acked += end - x->acked[file];
    x->acked[file] = end;
    x->last_move = now;
    return ckpt_xfer_pump(x);
}

int ckpt_xfer_result(ckpt_xfer_t *x, int code)
{
    if (x->state == CKPT_XFER_DONE || x->state == CKPT_XFER_FAILED)
        return x->error;
    if (code < 0) {
        ckpt_xfer_fail(x, code);
        return x->error;
    }
    if (x->state != CKPT_XFER_FINISHING
        && !(x->state == CKPT_XFER_STREAMING && ckpt_xfer_all_acked(x))) {
        ckpt_xfer_fail(x, SHOAL_EPROTO);
        return x->error;
    }
    x->state = CKPT_XFER_DONE;
    return 0;
}

int ckpt_xfer_tick(ckpt_xfer_t *x, uint64_t now)
{
    if (x->state == CKPT_XFER_DONE || x->state == CKPT_XFER_FAILED)
        return x->error;
    if (now - x->last_move >= x->timeout_ms) {
        ckpt_xfer_fail(x, -ETIMEDOUT);
        return x->error;
    }
    return ckpt_xfer_pump(x);
}

enum ckpt_xfer_state ckpt_xfer_state(const ckpt_xfer_t *x)
{
    return x->state;
}

int ckpt_xfer_error(const ckpt_xfer_t *x)
{
    return x->state == CKPT_XFER_FAILED ? x->error : 0;
}

void ckpt_xfer_get_stats(const ckpt_xfer_t *x, struct ckpt_xfer_stats *stats)
{
    *stats = x->stats;
}
