/* SPDX-License-Identifier: MIT */
/* Unit tests of scheduler/gang.c: the state machine alone, then 2-8 homes
 * contending for the cores of a few nodes in simulation.
 *
 * The simulation runs the real ledgers (scheduler/claim.h) on the nodes
 * and the real codec (scheduler/claim_wire.h) on every message. Each
 * message takes 1-20 ms, drawn at random, so messages of different
 * channels arrive in random orders; within one channel (home to node, node
 * to home) order is kept, as the daemons' TCP streams keep it. Homes place
 * on a snapshot of the ledgers that is refreshed every 25 ms, so they
 * often place on stale free sets and collide. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/shoal.h>

#include "scheduler/claim.h"
#include "scheduler/claim_wire.h"
#include "scheduler/gang.h"

TestSuite(gang, .timeout = 60);

static hwloc_bitmap_t set_of(const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();

    cr_assert(eq(int, hwloc_bitmap_list_sscanf(set, list), 0), "'%s'", list);
    return set;
}

static int drain(gang_t *gang, enum claim_msg_kind kinds[], uint64_t nodes[])
{
    struct claim_msg msg;
    uint64_t node;
    int n = 0;

    while (gang_next_message(gang, &node, &msg)) {
        kinds[n] = msg.kind;
        nodes[n++] = node;
    }
    return n;
}

Test(gang, grants_when_every_node_grants)
{
    struct gang_config config = {.job = 7, .home = 1};
    hwloc_bitmap_t a = set_of("0-1"), b = set_of("4");
    struct gang_target targets[] = {{10, a}, {11, b}};
    enum claim_msg_kind kinds[8];
    uint64_t nodes[8];
    gang_t *gang = NULL;

    cr_assert(eq(int, gang_create(&config, 0, &gang), 0));
    cr_assert(eq(int, (int)gang_phase(gang), GANG_PLACE));
    cr_assert(eq(int, gang_start(gang, targets, 2, 5), 0));
    cr_assert(eq(int, drain(gang, kinds, nodes), 2));
    cr_assert(eq(int, (int)kinds[0], CLAIM_MSG_CLAIM));
    cr_assert(eq(u64, nodes[1], 11));
    cr_assert(eq(u64, gang_next_timer(gang), 2005), "reply timeout");
    cr_assert(eq(int, gang_on_grant(gang, 10, 1, 6), 0));
    cr_assert(eq(int, gang_on_grant(gang, 10, 1, 6), 0), "duplicate");
    cr_assert(eq(int, (int)gang_phase(gang), GANG_CLAIMING));
    cr_assert(eq(int, gang_on_grant(gang, 11, 1, 7), 0));
    cr_assert(eq(int, (int)gang_phase(gang), GANG_GRANTED));
    cr_assert(eq(int, gang_confirm(gang), 0));
    cr_assert(eq(int, drain(gang, kinds, nodes), 2));
    cr_assert(eq(int, (int)kinds[1], CLAIM_MSG_RENEW));
    cr_assert(eq(int, gang_release(gang), 0));
    cr_assert(eq(int, drain(gang, kinds, nodes), 2));
    cr_assert(eq(int, (int)kinds[0], CLAIM_MSG_RELEASE));
    cr_assert(eq(int, (int)gang_phase(gang), GANG_RELEASED));
    cr_assert(eq(int, gang_status(gang, NULL), 0));
    gang_destroy(gang);
    hwloc_bitmap_free(a);
    hwloc_bitmap_free(b);
}

Test(gang, a_refusal_releases_the_rest_and_backs_off)
{
    struct gang_config config = {.job = 7,
                                 .home = 1,
                                 .backoff_min_ms = 100,
                                 .backoff_max_ms = 400,
                                 .timeout_ms = 1000};
    hwloc_bitmap_t a = set_of("0-1");
    struct gang_target targets[] = {{10, a}, {11, a}, {12, a}};
    enum claim_msg_kind kinds[8];
    uint64_t nodes[8];
    gang_t *gang = NULL;
    shoal_error_t error = {{0}};
    uint64_t now = 0;

    cr_assert(eq(int, gang_create(&config, 0, &gang), 0));
    cr_assert(eq(int, gang_start(gang, targets, 3, 0), 0));
    drain(gang, kinds, nodes);
    gang_on_grant(gang, 10, 1, 1);
    gang_on_refuse(gang, 11, 1, 2);
    cr_assert(eq(int, (int)gang_phase(gang), GANG_BACKOFF));
    cr_assert(eq(int, drain(gang, kinds, nodes), 2),
              "release to the granted node and the silent one");
    cr_assert(eq(u64, nodes[0], 10));
    cr_assert(eq(u64, nodes[1], 12));
    cr_assert(eq(int, (int)kinds[1], CLAIM_MSG_RELEASE));
    cr_assert(ge(u64, gang_next_timer(gang), 52));
    cr_assert(le(u64, gang_next_timer(gang), 102));
    gang_on_grant(gang, 12, 1, 3); /* late answer of attempt 1: ignored */
    cr_assert(eq(int, (int)gang_phase(gang), GANG_BACKOFF));

    /* keep failing to place until the timeout */
    while (gang_phase(gang) != GANG_FAILED) {
        now = gang_next_timer(gang);
        gang_on_timer(gang, now);
        if (gang_phase(gang) == GANG_PLACE)
            cr_assert(eq(int, gang_place_failed(gang, now), 0));
        cr_assert(le(u64, now, 1000));
    }
    cr_assert(eq(int, gang_status(gang, &error), SHOAL_ENOSLOTS));
    cr_assert(eq(str, error.text,
                 "not enough slots: cannot claim the cores of job 7 after 1 "
                 "attempts in 1000 ms"));
    gang_destroy(gang);
    hwloc_bitmap_free(a);
}

Test(gang, a_silent_node_counts_as_a_refusal)
{
    struct gang_config config = {.job = 7, .home = 1, .reply_ms = 50};
    hwloc_bitmap_t a = set_of("3");
    struct gang_target targets[] = {{10, a}};
    enum claim_msg_kind kinds[8];
    uint64_t nodes[8];
    gang_t *gang = NULL;

    cr_assert(eq(int, gang_create(&config, 0, &gang), 0));
    cr_assert(eq(int, gang_start(gang, targets, 1, 0), 0));
    drain(gang, kinds, nodes);
    cr_assert(eq(int, gang_on_timer(gang, 49), 0));
    cr_assert(eq(int, (int)gang_phase(gang), GANG_CLAIMING));
    cr_assert(eq(int, gang_on_timer(gang, 50), 0));
    cr_assert(eq(int, (int)gang_phase(gang), GANG_BACKOFF));
    cr_assert(eq(int, drain(gang, kinds, nodes), 1));
    cr_assert(eq(int, (int)kinds[0], CLAIM_MSG_RELEASE));
    cr_assert(eq(int, gang_start(gang, targets, 1, 60), -EINVAL),
              "not in backoff");
    gang_destroy(gang);
    hwloc_bitmap_free(a);
}

/* The simulation. */

enum {
    SIM_MAX_HOMES = 8,
    SIM_MAX_NODES = 6,
    SIM_MAX_MSGS = 4096,
    SIM_CORES = 8,
    SIM_NODE_BASE = 1000,
};

struct sim_msg {
    uint64_t at;
    uint64_t seq;
    int to; /* 0 .. homes-1: a home; SIM_NODE_BASE + m: node m */
    int from;
    uint8_t bytes[128];
    size_t len;
};

enum sim_home_state { SIM_WAITING, SIM_RUNNING, SIM_DONE, SIM_GAVE_UP };

struct sim_home {
    gang_t *gang;
    int want;
    uint64_t run_ms; /* UINT64_MAX: never ends */
    uint64_t ends;
    enum sim_home_state state;
};

struct sim {
    unsigned seed;
    uint64_t now;
    uint64_t seq;
    int nhomes;
    int nnodes;
    claim_ledger_t *ledgers[SIM_MAX_NODES];
    hwloc_bitmap_t snapshot[SIM_MAX_NODES];
    uint64_t snapshot_at;
    struct sim_home homes[SIM_MAX_HOMES];
    struct sim_msg msgs[SIM_MAX_MSGS];
    int nmsgs;
    uint64_t last[SIM_MAX_HOMES][SIM_MAX_NODES][2]; /* per channel */
    int granted;
    int failed;
};

static void sim_send(struct sim *s, int from, int to, const struct claim_msg *m)
{
    int home = from < SIM_NODE_BASE ? from : to;
    int node = (from < SIM_NODE_BASE ? to : from) - SIM_NODE_BASE;
    int dir = from < SIM_NODE_BASE ? 0 : 1;
    uint64_t *last = &s->last[home][node][dir];
    struct sim_msg *msg;

    cr_assert(lt(int, s->nmsgs, SIM_MAX_MSGS));
    msg = &s->msgs[s->nmsgs++];
    msg->at = s->now + 1 + rand_r(&s->seed) % 20;
    if (msg->at < *last)
        msg->at = *last; /* the channel keeps order */
    *last = msg->at;
    msg->seq = s->seq++;
    msg->from = from;
    msg->to = to;
    cr_assert(
        eq(int, claim_wire_encode(m, msg->bytes, sizeof(msg->bytes), &msg->len),
           0));
}

static void sim_drain(struct sim *s, int h)
{
    struct claim_msg msg;
    uint64_t node;

    while (gang_next_message(s->homes[h].gang, &node, &msg))
        sim_send(s, h, (int)node, &msg);
}

/* Free cores of the snapshot, first fit over the nodes in order. */
static void sim_place(struct sim *s, int h)
{
    struct sim_home *home = &s->homes[h];
    struct gang_target targets[SIM_MAX_NODES];
    hwloc_bitmap_t sets[SIM_MAX_NODES];
    int ntargets = 0;
    int left = home->want;

    for (int m = 0; m < s->nnodes && left > 0; m++) {
        int core;

        sets[ntargets] = hwloc_bitmap_alloc();
        hwloc_bitmap_foreach_begin(core, s->snapshot[m])
        {
            if (left == 0)
                break;
            hwloc_bitmap_set(sets[ntargets], core);
            left--;
        }
        hwloc_bitmap_foreach_end();
        if (hwloc_bitmap_iszero(sets[ntargets])) {
            hwloc_bitmap_free(sets[ntargets]);
            continue;
        }
        targets[ntargets].node = SIM_NODE_BASE + m;
        targets[ntargets].cores = sets[ntargets];
        ntargets++;
    }
    if (left > 0)
        cr_assert(eq(int, gang_place_failed(home->gang, s->now), 0));
    else
        cr_assert(
            eq(int, gang_start(home->gang, targets, ntargets, s->now), 0));
    for (int i = 0; i < ntargets; i++)
        hwloc_bitmap_free(sets[i]);
    sim_drain(s, h);
}

/* A home that believes it holds cores must hold them in the ledgers, and
 * no two running homes may believe they hold the same core. */
static void sim_check_granted(struct sim *s, int h)
{
    const struct gang_target *mine;
    int nmine = gang_targets(s->homes[h].gang, &mine);
    hwloc_bitmap_t held = hwloc_bitmap_alloc();

    for (int i = 0; i < nmine; i++) {
        int m = (int)mine[i].node - SIM_NODE_BASE;

        claim_ledger_job_cores(s->ledgers[m], (uint64_t)h + 1, held);
        cr_assert(hwloc_bitmap_isequal(held, mine[i].cores),
                  "home %d believes it holds cores the ledger of node %d "
                  "does not give it",
                  h, m);
        for (int o = 0; o < s->nhomes; o++) {
            const struct gang_target *theirs;
            int ntheirs;

            if (o == h || s->homes[o].state != SIM_RUNNING)
                continue;
            ntheirs = gang_targets(s->homes[o].gang, &theirs);
            for (int j = 0; j < ntheirs; j++) {
                if (theirs[j].node == mine[i].node)
                    cr_assert(not(hwloc_bitmap_intersects(theirs[j].cores,
                                                          mine[i].cores)),
                              "homes %d and %d both hold cores of node %d", h,
                              o, m);
            }
        }
    }
    hwloc_bitmap_free(held);
}

static void sim_node_receive(struct sim *s, int m, const struct sim_msg *raw)
{
    claim_ledger_t *ledger = s->ledgers[m];
    struct claim_msg msg;
    struct claim_msg reply = {0};
    hwloc_bitmap_t busy = hwloc_bitmap_alloc();
    int rc;

    cr_assert(eq(int, claim_wire_decode(raw->bytes, raw->len, &msg, NULL), 0));
    claim_ledger_expire(ledger, s->now);
    reply.job = msg.job;
    reply.attempt = msg.attempt;
    switch (msg.kind) {
    case CLAIM_MSG_CLAIM:
        rc = claim_ledger_claim(ledger, msg.job, msg.home, msg.attempt,
                                msg.cores, s->now + msg.lease_ms, busy);
        cr_assert(rc == 0 || rc == -EBUSY, "claim: %d", rc);
        reply.kind = rc == 0 ? CLAIM_MSG_GRANT : CLAIM_MSG_REFUSE;
        reply.cores = busy;
        sim_send(s, SIM_NODE_BASE + m, raw->from, &reply);
        break;
    case CLAIM_MSG_RELEASE:
        claim_ledger_release(ledger, msg.job);
        break;
    case CLAIM_MSG_RENEW:
        claim_ledger_renew(ledger, msg.job,
                           msg.lease_ms == CLAIM_WIRE_LEASE_FOREVER
                               ? CLAIM_FOREVER
                               : s->now + msg.lease_ms);
        break;
    default:
        cr_fail("unexpected %s at a node", claim_msg_kind_name(msg.kind));
    }
    claim_msg_release(&msg);
    hwloc_bitmap_free(busy);
}

static void sim_home_after(struct sim *s, int h)
{
    struct sim_home *home = &s->homes[h];

    if (home->state != SIM_WAITING)
        return;
    switch (gang_phase(home->gang)) {
    case GANG_GRANTED:
        sim_check_granted(s, h);
        home->state = SIM_RUNNING;
        home->ends =
            home->run_ms == UINT64_MAX ? UINT64_MAX : s->now + home->run_ms;
        s->granted++;
        cr_assert(eq(int, gang_confirm(home->gang), 0));
        sim_drain(s, h);
        break;
    case GANG_FAILED:
        cr_assert(eq(int, gang_status(home->gang, NULL), SHOAL_ENOSLOTS));
        home->state = SIM_GAVE_UP;
        s->failed++;
        break;
    case GANG_PLACE:
        sim_place(s, h);
        sim_home_after(s, h);
        break;
    default:
        break;
    }
}

static void sim_home_receive(struct sim *s, int h, const struct sim_msg *raw)
{
    struct claim_msg msg;
    uint64_t node = (uint64_t)raw->from;

    cr_assert(eq(int, claim_wire_decode(raw->bytes, raw->len, &msg, NULL), 0));
    if (msg.kind == CLAIM_MSG_GRANT)
        gang_on_grant(s->homes[h].gang, node, msg.attempt, s->now);
    else
        gang_on_refuse(s->homes[h].gang, node, msg.attempt, s->now);
    claim_msg_release(&msg);
    sim_drain(s, h);
    sim_home_after(s, h);
}

static uint64_t sim_home_due(const struct sim_home *home)
{
    if (home->state == SIM_RUNNING)
        return home->ends;
    if (home->state != SIM_WAITING)
        return UINT64_MAX;
    return gang_next_timer(home->gang);
}

/* Run until every home has finished; return false on a stall. */
static bool sim_run(struct sim *s, uint64_t limit)
{
    for (;;) {
        int next_msg = -1;
        int next_home = -1;
        uint64_t at = UINT64_MAX;
        bool busy = false;

        for (int i = 0; i < s->nmsgs; i++) {
            if (next_msg < 0 || s->msgs[i].at < s->msgs[next_msg].at
                || (s->msgs[i].at == s->msgs[next_msg].at
                    && s->msgs[i].seq < s->msgs[next_msg].seq))
                next_msg = i;
        }
        if (next_msg >= 0)
            at = s->msgs[next_msg].at;
        for (int h = 0; h < s->nhomes; h++) {
            uint64_t due = sim_home_due(&s->homes[h]);

            busy |= s->homes[h].state == SIM_WAITING
                    || (s->homes[h].state == SIM_RUNNING
                        && s->homes[h].ends != UINT64_MAX);
            if (due < at) {
                at = due;
                next_home = h;
                next_msg = -1;
            }
        }
        if (!busy && s->nmsgs == 0)
            return true;
        if (at == UINT64_MAX)
            return !busy; /* only endless jobs left */
        if (at > limit)
            return false;
        s->now = at;
        if (s->now >= s->snapshot_at + 25) {
            for (int m = 0; m < s->nnodes; m++)
                claim_ledger_free_cores(s->ledgers[m], s->snapshot[m]);
            s->snapshot_at = s->now;
        }
        if (next_msg >= 0) {
            struct sim_msg msg = s->msgs[next_msg];

            s->msgs[next_msg] = s->msgs[--s->nmsgs];
            if (msg.to >= SIM_NODE_BASE)
                sim_node_receive(s, msg.to - SIM_NODE_BASE, &msg);
            else
                sim_home_receive(s, msg.to, &msg);
            continue;
        }
        if (s->homes[next_home].state == SIM_RUNNING) {
            cr_assert(eq(int, gang_release(s->homes[next_home].gang), 0));
            sim_drain(s, next_home);
            s->homes[next_home].state = SIM_DONE;
            continue;
        }
        gang_on_timer(s->homes[next_home].gang, s->now);
        sim_drain(s, next_home);
        sim_home_after(s, next_home);
    }
}

static void
sim_init(struct sim *s, unsigned seed, int nhomes, int nnodes, bool endless)
{
    hwloc_bitmap_t all = set_of("0-7");

    memset(s, 0, sizeof(*s));
    s->seed = seed;
    s->nhomes = nhomes;
    s->nnodes = nnodes;
    for (int m = 0; m < nnodes; m++) {
        cr_assert(eq(int, claim_ledger_create(all, &s->ledgers[m]), 0));
        s->snapshot[m] = hwloc_bitmap_dup(all);
    }
    for (int h = 0; h < nhomes; h++) {
        struct gang_config config = {
            .job = (uint64_t)h + 1,
            .home = (uint64_t)h + 1,
            .reply_ms = 200,
            .timeout_ms = endless ? 3000 : 30000,
            .backoff_min_ms = 10,
            .backoff_max_ms = 500,
            .seed = seed * 31 + (unsigned)h,
        };
        struct sim_home *home = &s->homes[h];

        cr_assert(eq(int, gang_create(&config, 0, &home->gang), 0));
        home->want = 2 + rand_r(&s->seed) % (nnodes * SIM_CORES / 2 - 1);
        home->run_ms =
            endless ? UINT64_MAX : 20 + (uint64_t)(rand_r(&s->seed) % 300);
    }
    /* everyone starts at once, on the same snapshot */
    for (int h = 0; h < nhomes; h++)
        sim_home_after(s, h);
    hwloc_bitmap_free(all);
}

static void sim_release(struct sim *s)
{
    for (int h = 0; h < s->nhomes; h++)
        gang_destroy(s->homes[h].gang);
    for (int m = 0; m < s->nnodes; m++) {
        claim_ledger_destroy(s->ledgers[m]);
        hwloc_bitmap_free(s->snapshot[m]);
    }
}

Test(gang, contending_homes_all_finish_without_double_booking)
{
    static struct sim s;
    int runs = 0;
    int retries = 0;

    for (unsigned seed = 1; seed <= 60; seed++) {
        int nhomes = 2 + (int)(seed % 7);
        int nnodes = 2 + (int)(seed % 4);

        sim_init(&s, seed, nhomes, nnodes, false);
        cr_assert(sim_run(&s, 120000),
                  "seed %u: %d homes on %d nodes stalled at %llu ms", seed,
                  nhomes, nnodes, (unsigned long long)s.now);
        cr_assert(eq(int, s.granted, nhomes),
                  "seed %u: every job fits alone and ends, so every home "
                  "must win once; %d of %d did (%d gave up)",
                  seed, s.granted, nhomes, s.failed);
        for (int m = 0; m < nnodes; m++)
            cr_assert(eq(int, claim_ledger_count(s.ledgers[m]), 0),
                      "seed %u: node %d still holds claims", seed, m);
        for (int h = 0; h < nhomes; h++)
            retries += (int)gang_attempt(s.homes[h].gang) - 1;
        sim_release(&s);
        runs++;
    }
    cr_assert(eq(int, runs, 60));
    cr_assert(gt(int, retries, 60), "homes collided and retried");
}

Test(gang, losers_time_out_cleanly_when_winners_never_end)
{
    static struct sim s;
    int gave_up = 0;

    for (unsigned seed = 1; seed <= 40; seed++) {
        int nhomes = 2 + (int)(seed % 7);
        int nnodes = 2 + (int)(seed % 3);
        int held = 0;

        sim_init(&s, seed, nhomes, nnodes, true);
        cr_assert(sim_run(&s, 60000), "seed %u: stalled at %llu ms", seed,
                  (unsigned long long)s.now);
        cr_assert(ge(int, s.granted, 1), "seed %u: some home must win", seed);
        cr_assert(eq(int, s.granted + s.failed, nhomes),
                  "seed %u: every gang finishes", seed);
        for (int h = 0; h < nhomes; h++) {
            hwloc_bitmap_t cores = hwloc_bitmap_alloc();

            for (int m = 0; m < nnodes; m++) {
                claim_ledger_job_cores(s.ledgers[m], (uint64_t)h + 1, cores);
                if (s.homes[h].state == SIM_GAVE_UP)
                    cr_assert(hwloc_bitmap_iszero(cores),
                              "seed %u: home %d gave up but holds cores of "
                              "node %d",
                              seed, h, m);
                held += hwloc_bitmap_weight(cores);
            }
            if (s.homes[h].state == SIM_RUNNING)
                sim_check_granted(&s, h);
            hwloc_bitmap_free(cores);
        }
        cr_assert(le(int, held, nnodes *(int)SIM_CORES));
        gave_up += s.failed;
        sim_release(&s);
    }
    cr_assert(gt(int, gave_up, 0), "some homes timed out");
}
