/* SPDX-License-Identifier: MIT */
/* cores.c - the node's core ledger on the daemon's loop: claims answered,
 * leases timed, free cores published. */
#include "runtime/daemon/cores.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>
#include <uv.h>

#include "scheduler/claim.h"
#include "util/log.h"

enum {
    /* tasks' changes are published at most once per CORES_TASK_PUBLISH_MS */
    CORES_TASK_PUBLISH_MS = 1000,
};

struct cores {
    daemon_t *d;
    claim_ledger_t *ledger;
    uv_timer_t *lease_timer;   /* freed by its close callback */
    uv_timer_t *publish_timer; /* freed by its close callback */
    bool publish_pending;
    bool withheld; /* the owner's: no core is lent */
    cores_release_f *on_release;
    void *on_release_arg;
};

static void free_handle_cb(uv_handle_t *handle)
{
    free(handle);
}

/* Publish the free cores and the ledger's generation in our record. */
static void cores_publish(struct cores *c)
{
    struct node_summary s = *daemon_summary(c->d);
    hwloc_bitmap_t free_cores = hwloc_bitmap_alloc();

    if (!free_cores)
        return;
    if (claim_ledger_free_cores(c->ledger, free_cores) == 0) {
        if (c->withheld)
            hwloc_bitmap_zero(free_cores);
        hwloc_bitmap_list_snprintf(s.free_cores, sizeof(s.free_cores),
                                   free_cores);
        s.claims_generation = claim_ledger_generation(c->ledger);
        daemon_set_summary(c->d, &s);
    }
    hwloc_bitmap_free(free_cores);
}

static void cores_lease_cb(uv_timer_t *timer);

/* Arm the timer for the next lease to lapse, and publish. */
static void cores_changed(struct cores *c)
{
    uint64_t next = claim_ledger_next_deadline(c->ledger);
    uint64_t now = uv_now(daemon_loop(c->d));

    uv_timer_stop(c->lease_timer);
    if (next != CLAIM_FOREVER)
        uv_timer_start(c->lease_timer, cores_lease_cb,
                       next > now ? next - now : 0, 0);
    cores_publish(c);
}

static void cores_lease_cb(uv_timer_t *timer)
{
    struct cores *c = timer->data;
    int freed = claim_ledger_expire(c->ledger, uv_now(daemon_loop(c->d)));

    if (freed > 0)
        LOG(LOG_LEVEL_NOTICE, LOG_GANG,
            "%d cores freed: a claim's lease lapsed", freed);
    cores_changed(c);
}

static void cores_publish_cb(uv_timer_t *timer)
{
    struct cores *c = timer->data;

    c->publish_pending = false;
    cores_publish(c);
}

/* Publish the free cores soon, once for however many task changes. */
static void cores_publish_soon(struct cores *c)
{
    if (c->publish_pending)
        return;
    c->publish_pending = true;
    uv_timer_start(c->publish_timer, cores_publish_cb, CORES_TASK_PUBLISH_MS,
                   0);
}

int cores_send_claim(cores_t *c, uint64_t node, const struct claim_msg *msg)
{
    uint8_t buf[2 * CLAIM_WIRE_RANGES_MAX * 2 + 64];
    size_t len;
    int rc = claim_wire_encode(msg, buf, sizeof(buf), &len);

    return rc < 0 ? rc : daemon_send(c->d, node, (uint8_t)msg->kind, buf, len);
}

/* A home's CLAIM: grant or refuse, naming the busy cores. */
static void cores_answer_claim(struct cores *c,
                               uint64_t from,
                               const struct claim_msg *msg,
                               uint64_t now)
{
    struct claim_msg answer = {.job = msg->job, .attempt = msg->attempt};
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    int rc;

    /* a node claims for itself only, and not while its owner uses it */
    rc = msg->home == from && busy && !c->withheld
             ? claim_ledger_claim(c->ledger, msg->job, msg->home, msg->attempt,
                                  msg->cores, now + msg->lease_ms, busy)
             : -EPERM;
    answer.kind = rc == 0 ? CLAIM_MSG_GRANT : CLAIM_MSG_REFUSE;
    answer.cores = busy;
    if (rc == -EPERM && busy)
        hwloc_bitmap_copy(busy, msg->cores);
    cores_send_claim(c, from, &answer);
    hwloc_bitmap_free(busy);
}

/* A claim message from a home: CLAIM, RELEASE or RENEW. */
static void cores_claim_frame(daemon_t *d,
                              uint64_t from,
                              uint8_t type,
                              const void *body,
                              size_t len,
                              void *arg)
{
    struct cores *c = arg;
    struct claim_msg msg;
    uint64_t now = uv_now(daemon_loop(d));
    shoal_error_t error;

    (void)type;
    if (claim_wire_decode(body, len, &msg, &error) < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_GANG,
            "claim message from %016" PRIx64 " dropped: %s", from, error.text);
        return;
    }
    switch (msg.kind) {
    case CLAIM_MSG_CLAIM:
        cores_answer_claim(c, from, &msg, now);
        cores_changed(c);
        break;
    case CLAIM_MSG_RELEASE:
        claim_ledger_release(c->ledger, msg.job);
        if (c->on_release)
            c->on_release(c, msg.job, 0, c->on_release_arg);
        cores_changed(c);
        break;
    case CLAIM_MSG_RENEW:
        claim_ledger_renew(c->ledger, msg.job,
                           msg.lease_ms == CLAIM_WIRE_LEASE_FOREVER
                               ? CLAIM_FOREVER
                               : now + msg.lease_ms);
        cores_changed(c);
        break;
    default:
        /* answers are the home side's: not registered here */
        break;
    }
    claim_msg_release(&msg);
}

static void cores_member(daemon_t *d,
                         enum member_event_kind kind,
                         const struct daemon_member *m,
                         void *arg)
{
    struct cores *c = arg;

    (void)d;
    if (kind != MEMBER_EVENT_DEAD && kind != MEMBER_EVENT_LEAVE)
        return;
    /* its jobs here end, and its claims with them */
    if (c->on_release)
        c->on_release(c, 0, m->id, c->on_release_arg);
    if (claim_ledger_release_home(c->ledger, m->id) > 0)
        cores_changed(c);
}

void cores_set_release_listener(cores_t *c, cores_release_f *fn, void *arg)
{
    c->on_release = fn;
    c->on_release_arg = arg;
}

int cores_job_holds(cores_t *c, uint64_t job)
{
    hwloc_bitmap_t held = hwloc_bitmap_alloc();
    int rc = held ? claim_ledger_job_cores(c->ledger, job, held) : -ENOMEM;

    if (rc == 0)
        rc = !hwloc_bitmap_iszero(held);
    hwloc_bitmap_free(held);
    return rc;
}

int cores_job_cores(cores_t *c, uint64_t job, hwloc_bitmap_t out)
{
    hwloc_bitmap_zero(out);
    return claim_ledger_job_cores(c->ledger, job, out);
}

int cores_confirm(cores_t *c, uint64_t job)
{
    return claim_ledger_renew(c->ledger, job, CLAIM_FOREVER);
}

void cores_release(cores_t *c, uint64_t job)
{
    claim_ledger_release(c->ledger, job);
    cores_changed(c);
}

void cores_set_withheld(cores_t *c, bool withheld)
{
    if (c->withheld == withheld)
        return;
    c->withheld = withheld;
    cores_publish(c);
}

bool cores_withheld(const cores_t *c)
{
    return c->withheld;
}

int cores_task_claim(cores_t *c, uint64_t key, int n, int *cores)
{
    hwloc_bitmap_t free_set = hwloc_bitmap_alloc();
    hwloc_bitmap_t take = hwloc_bitmap_alloc();
    uint64_t self = daemon_node_id(c->d);
    int rc = -ENOMEM, k = 0, core;

    if (!free_set || !take || claim_ledger_free_cores(c->ledger, free_set) < 0)
        goto out;
    if (c->withheld)
        hwloc_bitmap_zero(free_set);
    hwloc_bitmap_foreach_begin(core, free_set)
    {
        if (k == n)
            break;
        hwloc_bitmap_set(take, (unsigned)core);
        cores[k++] = core;
    }
    hwloc_bitmap_foreach_end();
    rc = k < n ? -EBUSY
               : claim_ledger_claim(c->ledger, key, self, 1, take,
                                    CLAIM_FOREVER, NULL);
    if (rc == 0) {
        claim_ledger_renew(c->ledger, key, CLAIM_FOREVER);
        cores_publish_soon(c);
    }
out:
    hwloc_bitmap_free(free_set);
    hwloc_bitmap_free(take);
    return rc;
}

void cores_task_release(cores_t *c, uint64_t key)
{
    if (claim_ledger_release(c->ledger, key) > 0)
        cores_publish_soon(c);
}

bool cores_busy(const cores_t *c)
{
    return claim_ledger_count(c->ledger) > 0;
}

int cores_free_count(cores_t *c)
{
    hwloc_bitmap_t free_set = hwloc_bitmap_alloc();
    int n = 0;

    if (free_set && !c->withheld
        && claim_ledger_free_cores(c->ledger, free_set) == 0)
        n = hwloc_bitmap_weight(free_set);
    hwloc_bitmap_free(free_set);
    return n < 0 ? 0 : n;
}

/* A timer on d's loop, unreferenced (it keeps no loop alive), with c as
 * its data. Returns NULL when out of memory. */
static uv_timer_t *cores_timer_new(struct cores *c)
{
    uv_timer_t *timer = calloc(1, sizeof(*timer));

    if (!timer)
        return NULL;
    uv_timer_init(daemon_loop(c->d), timer);
    uv_unref((uv_handle_t *)timer);
    timer->data = c;
    return timer;
}

static void cores_timer_close(uv_timer_t *timer)
{
    if (timer)
        uv_close((uv_handle_t *)timer, free_handle_cb);
}

int cores_create(daemon_t *d, cores_t **out, shoal_error_t *error)
{
    struct cores *c = calloc(1, sizeof(*c));
    const struct node_summary *s = daemon_summary(d);
    hwloc_bitmap_t lendable = hwloc_bitmap_alloc();
    int rc = -ENOMEM;

    if (!c || !lendable)
        goto error;
    c->d = d;
    if (s->cores > 0)
        hwloc_bitmap_set_range(lendable, 0, (int)s->cores - 1);
    if (claim_ledger_create(lendable, &c->ledger) < 0
        || !(c->lease_timer = cores_timer_new(c))
        || !(c->publish_timer = cores_timer_new(c)))
        goto error;
    if ((rc = daemon_on_frame(d, CLAIM_MSG_CLAIM, CLAIM_MSG_CLAIM,
                              cores_claim_frame, c))
            < 0
        || (rc = daemon_on_frame(d, CLAIM_MSG_RELEASE, CLAIM_MSG_RENEW,
                                 cores_claim_frame, c))
               < 0
        || (rc = daemon_on_member(d, cores_member, c)) < 0)
        goto error;
    hwloc_bitmap_free(lendable);
    cores_publish(c);
    *out = c;
    return 0;
error:
    hwloc_bitmap_free(lendable);
    cores_destroy(c);
    return shoal_errprintf(error, rc, "cannot keep the node's cores: %s",
                           strerror(-rc));
}

void cores_destroy(cores_t *c)
{
    if (!c)
        return;
    cores_timer_close(c->lease_timer);
    cores_timer_close(c->publish_timer);
    claim_ledger_destroy(c->ledger);
    free(c);
}
