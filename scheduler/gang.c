/* SPDX-License-Identifier: MIT */
/* gang.c - the home side of an all-or-nothing gang claim.
 *
 * The backoff is "equal jitter": after the k-th failed attempt the wait is
 * uniform in [b/2, b] with b = min(min * 2^(k-1), max). Half of it grows
 * as plain exponential backoff, so a busy pool is not hammered; the random
 * half makes two homes that collided try again at different moments, so
 * the first to come back finds the cores free and the other finds them
 * taken (and its fresh placement picks others). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "scheduler/gang.h"

enum gang_answer {
    GANG_PENDING,
    GANG_GRANTED_BY_NODE,
    GANG_REFUSED_BY_NODE,
};

struct gang_outgoing {
    uint64_t node;
    struct claim_msg msg;
};

struct gang {
    struct gang_config config;
    enum gang_phase phase;
    int status;
    uint64_t deadline; /* overall */
    uint64_t timer;    /* reply timeout or end of backoff */
    uint32_t attempt;
    int failures; /* attempts failed so far */
    uint64_t rng;

    struct gang_target *targets; /* cores owned (hwloc_bitmap_t) */
    enum gang_answer *answers;
    int ntargets;
    int granted;

    struct gang_outgoing *out;
    int nout;
    int maxout;
    int sent; /* out[0 .. sent) popped */
};

static uint64_t gang_random(gang_t *gang)
{
    uint64_t z = (gang->rng += 0x9e3779b97f4a7c15ULL); /* splitmix64 */

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int gang_create(const struct gang_config *config, uint64_t now, gang_t **out)
{
    gang_t *gang = calloc(1, sizeof(*gang));

    if (!gang)
        return -ENOMEM;
    gang->config = *config;
    if (!gang->config.lease_ms)
        gang->config.lease_ms = 10000;
    if (!gang->config.reply_ms)
        gang->config.reply_ms = 2000;
    if (!gang->config.timeout_ms)
        gang->config.timeout_ms = 30000;
    if (!gang->config.backoff_min_ms)
        gang->config.backoff_min_ms = 10;
    if (gang->config.backoff_max_ms < gang->config.backoff_min_ms)
        gang->config.backoff_max_ms = gang->config.backoff_min_ms > 1000
                                          ? gang->config.backoff_min_ms
                                          : 1000;
    gang->rng = config->seed ^ config->job ^ (config->home << 1);
    gang->phase = GANG_PLACE;
    gang->deadline = now + gang->config.timeout_ms;
    gang->timer = gang->deadline;
    *out = gang;
    return 0;
}

static void gang_targets_free(gang_t *gang)
{
    for (int i = 0; i < gang->ntargets; i++)
        hwloc_bitmap_free((hwloc_bitmap_t)gang->targets[i].cores);
    free(gang->targets);
    free(gang->answers);
    gang->targets = NULL;
    gang->answers = NULL;
    gang->ntargets = 0;
}

void gang_destroy(gang_t *gang)
{
    if (!gang)
        return;
    gang_targets_free(gang);
    free(gang->out);
    free(gang);
}

/* Queue a message; its cores, if any, are borrowed from the targets. */
static int gang_emit(gang_t *gang,
                     uint64_t node,
                     enum claim_msg_kind kind,
                     hwloc_const_bitmap_t cores,
                     uint32_t lease_ms)
{
    struct gang_outgoing *o;

    if (gang->sent == gang->nout)
        gang->sent = gang->nout = 0;
    if (gang->nout == gang->maxout) {
        int max = gang->maxout ? 2 * gang->maxout : 16;
        struct gang_outgoing *grown = realloc(gang->out, sizeof(*grown) * max);

        if (!grown)
            return -ENOMEM;
        gang->out = grown;
        gang->maxout = max;
    }
    o = &gang->out[gang->nout++];
    memset(o, 0, sizeof(*o));
    o->node = node;
    o->msg.kind = kind;
    o->msg.job = gang->config.job;
    o->msg.attempt = gang->attempt;
    o->msg.home = gang->config.home;
    o->msg.lease_ms = lease_ms;
    o->msg.cores = (hwloc_bitmap_t)cores;
    return 0;
}

/* Release every node of the attempt that may hold a claim: all but those
 * that refused. */
static int gang_release_attempt(gang_t *gang)
{
    for (int i = 0; i < gang->ntargets; i++) {
        if (gang->answers[i] == GANG_REFUSED_BY_NODE)
            continue;
        if (gang_emit(gang, gang->targets[i].node, CLAIM_MSG_RELEASE, NULL, 0)
            < 0)
            return -ENOMEM;
        gang->answers[i] = GANG_REFUSED_BY_NODE;
    }
    return 0;
}

static void gang_fail(gang_t *gang, int status)
{
    gang_release_attempt(gang);
    gang->phase = GANG_FAILED;
    gang->status = status;
    gang->timer = UINT64_MAX;
}

static void gang_back_off(gang_t *gang, uint64_t now)
{
    uint64_t bound = gang->config.backoff_min_ms;
    uint64_t wait;

    for (int k = 1; k < gang->failures && bound < gang->config.backoff_max_ms;
         k++)
        bound *= 2;
    if (bound > gang->config.backoff_max_ms)
        bound = gang->config.backoff_max_ms;
    wait = bound / 2 + gang_random(gang) % (bound - bound / 2 + 1);
    gang->failures++;
    if (now + wait >= gang->deadline) {
        gang_fail(gang, SHOAL_ENOSLOTS);
        return;
    }
    gang->phase = GANG_BACKOFF;
    gang->timer = now + wait;
}

int gang_start(gang_t *gang,
               const struct gang_target *targets,
               int ntargets,
               uint64_t now)
{
    struct gang_target *copy;
    enum gang_answer *answers;

    if (gang->phase != GANG_PLACE || !targets || ntargets <= 0)
        return -EINVAL;
    for (int i = 0; i < ntargets; i++) {
        if (!targets[i].cores || hwloc_bitmap_iszero(targets[i].cores))
            return -EINVAL;
        for (int j = 0; j < i; j++) {
            if (targets[j].node == targets[i].node)
                return -EINVAL;
        }
    }
    copy = calloc(ntargets, sizeof(*copy));
    answers = calloc(ntargets, sizeof(*answers));
    if (!copy || !answers)
        goto nomem;
    for (int i = 0; i < ntargets; i++) {
        copy[i].node = targets[i].node;
        copy[i].cores = hwloc_bitmap_dup(targets[i].cores);
        if (!copy[i].cores)
            goto nomem;
    }
    /* Messages still queued borrow the old targets' cores: only
     * releases, which carry none. */
    gang_targets_free(gang);
    gang->targets = copy;
    gang->answers = answers;
    gang->ntargets = ntargets;
    gang->granted = 0;
    gang->attempt++;
    for (int i = 0; i < ntargets; i++) {
        if (gang_emit(gang, copy[i].node, CLAIM_MSG_CLAIM, copy[i].cores,
                      gang->config.lease_ms)
            < 0)
            return -ENOMEM;
    }
    gang->phase = GANG_CLAIMING;
    gang->timer = now + gang->config.reply_ms;
    if (gang->timer > gang->deadline)
        gang->timer = gang->deadline;
    return 0;
nomem:
    if (copy) {
        for (int i = 0; i < ntargets; i++)
            hwloc_bitmap_free((hwloc_bitmap_t)copy[i].cores);
    }
    free(copy);
    free(answers);
    return -ENOMEM;
}

int gang_place_failed(gang_t *gang, uint64_t now)
{
    if (gang->phase != GANG_PLACE)
        return -EINVAL;
    gang_back_off(gang, now);
    return 0;
}

static int gang_find(const gang_t *gang, uint64_t node, uint32_t attempt)
{
    if (gang->phase != GANG_CLAIMING || attempt != gang->attempt)
        return -1;
    for (int i = 0; i < gang->ntargets; i++) {
        if (gang->targets[i].node == node)
            return gang->answers[i] == GANG_PENDING ? i : -1;
    }
    return -1;
}

int gang_on_grant(gang_t *gang, uint64_t node, uint32_t attempt, uint64_t now)
{
    int i = gang_find(gang, node, attempt);

    (void)now;
    if (i < 0)
        return 0;
    gang->answers[i] = GANG_GRANTED_BY_NODE;
    if (++gang->granted == gang->ntargets) {
        gang->phase = GANG_GRANTED;
        gang->timer = UINT64_MAX;
    }
    return 0;
}

int gang_on_refuse(gang_t *gang, uint64_t node, uint32_t attempt, uint64_t now)
{
    int i = gang_find(gang, node, attempt);

    if (i < 0)
        return 0;
    gang->answers[i] = GANG_REFUSED_BY_NODE;
    gang_release_attempt(gang);
    gang_back_off(gang, now);
    return 0;
}

int gang_on_timer(gang_t *gang, uint64_t now)
{
    if (gang->phase == GANG_GRANTED || gang->phase == GANG_FAILED
        || gang->phase == GANG_RELEASED || now < gang->timer)
        return 0;
    if (now >= gang->deadline) {
        gang_fail(gang, SHOAL_ENOSLOTS);
        return 0;
    }
    switch (gang->phase) {
    case GANG_CLAIMING:
        /* a silent node counts as a refusal */
        gang_release_attempt(gang);
        gang_back_off(gang, now);
        break;
    case GANG_BACKOFF:
        gang->phase = GANG_PLACE;
        gang->timer = gang->deadline;
        break;
    default:
        break;
    }
    return 0;
}

uint64_t gang_next_timer(const gang_t *gang)
{
    return gang->timer;
}

int gang_confirm(gang_t *gang)
{
    if (gang->phase != GANG_GRANTED)
        return -EINVAL;
    for (int i = 0; i < gang->ntargets; i++) {
        if (gang_emit(gang, gang->targets[i].node, CLAIM_MSG_RENEW, NULL,
                      CLAIM_WIRE_LEASE_FOREVER)
            < 0)
            return -ENOMEM;
    }
    return 0;
}

int gang_release(gang_t *gang)
{
    bool granted = gang->phase == GANG_GRANTED;

    if (gang_release_attempt(gang) < 0)
        return -ENOMEM;
    if (!granted && gang->phase != GANG_FAILED)
        gang->status = -ECANCELED;
    gang->phase = granted ? GANG_RELEASED : GANG_FAILED;
    gang->timer = UINT64_MAX;
    return 0;
}

bool gang_next_message(gang_t *gang, uint64_t *node, struct claim_msg *msg)
{
    if (gang->sent >= gang->nout)
        return false;
    *node = gang->out[gang->sent].node;
    *msg = gang->out[gang->sent].msg;
    gang->sent++;
    return true;
}

enum gang_phase gang_phase(const gang_t *gang)
{
    return gang->phase;
}

int gang_status(const gang_t *gang, shoal_error_t *error)
{
    if (gang->status == SHOAL_ENOSLOTS)
        return shoal_errprintf(error, SHOAL_ENOSLOTS,
                               "not enough slots: cannot claim the cores of "
                               "job %llu after %u attempts in %llu ms",
                               (unsigned long long)gang->config.job,
                               gang->attempt,
                               (unsigned long long)gang->config.timeout_ms);
    if (gang->status == -ECANCELED)
        return shoal_errprintf(error, -ECANCELED, "claim of job %llu cancelled",
                               (unsigned long long)gang->config.job);
    return gang->status;
}

uint32_t gang_attempt(const gang_t *gang)
{
    return gang->attempt;
}

int gang_targets(const gang_t *gang, const struct gang_target **targets)
{
    *targets = gang->targets;
    return gang->ntargets;
}
