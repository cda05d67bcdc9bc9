/* SPDX-License-Identifier: MIT */
/* Membership, driven through a simulated network (runtime/member/member_sim.h):
 * every run is deterministic for its seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/member/member.h"
#include "runtime/member/member_sim.h"

TestSuite(member, .timeout = 30);

/* What the nodes reported, for the assertions. */
struct event_log {
    size_t watch;           /* the node whose fate is followed */
    uint64_t first_suspect; /* first time any node reported watch ... */
    uint64_t first_dead;
    uint64_t dead_reports; /* DEAD events about watch */
    uint64_t join_reports;
    uint64_t leave_reports;
    uint64_t alive_reports;  /* suspect -> alive about watch */
    uint64_t update_reports; /* about watch */
    uint64_t false_dead;     /* DEAD events about nodes still running */
    member_sim_t *sim;
};

static void log_event(size_t observer,
                      enum member_event_kind kind,
                      const struct member_info *member,
                      uint64_t now,
                      void *arg)
{
    struct event_log *log = arg;
    size_t subject = (size_t)member->id - 1;

    (void)observer;
    if (kind == MEMBER_EVENT_DEAD && member_sim_running(log->sim, subject))
        log->false_dead++;
    if (subject != log->watch)
        return;
    switch (kind) {
    case MEMBER_EVENT_SUSPECT:
        if (!log->first_suspect)
            log->first_suspect = now;
        break;
    case MEMBER_EVENT_DEAD:
        if (!log->first_dead)
            log->first_dead = now;
        log->dead_reports++;
        break;
    case MEMBER_EVENT_JOIN:
        log->join_reports++;
        break;
    case MEMBER_EVENT_LEAVE:
        log->leave_reports++;
        break;
    case MEMBER_EVENT_ALIVE:
        log->alive_reports++;
        break;
    case MEMBER_EVENT_UPDATE:
        log->update_reports++;
        break;
    default:
        break;
    }
}

static member_sim_t *
make_sim(size_t n, double loss, uint64_t seed, struct event_log *log)
{
    struct member_sim_config config = {
        .nodes = n,
        .latency_min_ms = 1,
        .latency_max_ms = 5,
        .loss = loss,
        .seed = seed,
        .payload_len = 64,
    };
    member_sim_t *sim = NULL;

    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_sim_create(&config, &sim), 0));
    if (log) {
        memset(log, 0, sizeof(*log));
        log->watch = (size_t)-1;
        log->sim = sim;
        member_sim_on_event(sim, log_event, log);
    }
    return sim;
}

/* Start every node, one every 5 ms, each joining through node 0. */
static void start_all(member_sim_t *sim)
{
    size_t n = member_sim_size(sim);

    cr_assert(eq(int, member_sim_start(sim, 0, 0, 0), 0));
    for (size_t i = 1; i < n; i++) {
        member_sim_run(sim, member_sim_now(sim) + 5);
        cr_assert(eq(int, member_sim_start(sim, i, 0, 0), 0));
    }
}

static void converge(member_sim_t *sim, uint64_t within_ms)
{
    uint64_t start = member_sim_now(sim);
    bool ok = member_sim_run_until(sim, start + within_ms, member_sim_converged,
                                   NULL);

    cr_assert(ok, "%zu nodes did not converge within %llu ms",
              member_sim_size(sim), (unsigned long long)within_ms);
}

struct all_see_arg {
    size_t subject;
    enum member_state state;
};

static bool all_see(member_sim_t *sim, void *arg)
{
    struct all_see_arg *a = arg;

    for (size_t i = 0; i < member_sim_size(sim); i++)
        if (i != a->subject && member_sim_running(sim, i)
            && !member_sim_sees(sim, i, a->subject, a->state))
            return false;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

ParameterizedTestParameters(member, member_list_converges)
{
    static size_t sizes[] = {3, 16, 64, 256};
    return cr_make_param_array(size_t, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

ParameterizedTest(size_t *n, member, member_list_converges)
{
    struct event_log log;
    member_sim_t *sim = make_sim(*n, 0.0, 42 + *n, &log);

    start_all(sim);
    /* joins go through push-pull with one seed, the rest by gossip */
    converge(sim, 10000);
    for (size_t i = 0; i < *n; i++) {
        member_table_t *t = member_sim_table(sim, i);
        cr_assert(eq(sz, member_table_size(t), *n), "node %zu", i);
        struct member_info info;
        cr_assert(eq(
            int, member_table_find(t, member_sim_id((i + 1) % *n), &info), 0));
        cr_assert(eq(sz, info.payload_len, 64));
    }
    cr_assert(eq(u64, log.false_dead, 0));
    member_sim_destroy(sim);
}

Test(member, killed_node_detected_within_bound_at_5_percent_loss)
{
    struct event_log log;
    member_sim_t *sim = make_sim(16, 0.05, 7, &log);
    uint64_t detect[5];

    start_all(sim);
    converge(sim, 10000);
    /* a quiet minute first: no false positive */
    member_sim_run(sim, member_sim_now(sim) + 60000);
    cr_assert(eq(u64, log.false_dead, 0));
    cr_assert(member_sim_converged(sim, NULL));

    for (size_t k = 0; k < 5; k++) {
        size_t victim = 3 + 2 * k;
        struct all_see_arg dead = {victim, MEMBER_DEAD};
        log.watch = victim;
        log.first_dead = 0;
        uint64_t killed = member_sim_now(sim);
        member_sim_kill(sim, victim);
        cr_assert(member_sim_run_until(sim, killed + 5000, all_see, &dead),
                  "node %zu not known dead by all 5 s after its death", victim);
        cr_assert(gt(u64, log.first_dead, 0));
        detect[k] = log.first_dead - killed;
        /* the bound the tunables promise for 16 nodes: a probe interval to
         * reach it, one to fail, and the suspicion timeout, with slack */
        cr_assert(le(u64, detect[k], 2500), "node %zu detected after %llu ms",
                  victim, (unsigned long long)detect[k]);
    }
    qsort(detect, 5, sizeof(detect[0]), cmp_u64);
    cr_assert(le(u64, detect[2], 2000), "median detection %llu ms",
              (unsigned long long)detect[2]);
    cr_assert(eq(u64, log.false_dead, 0));
    member_sim_destroy(sim);
}

/* Tell node `to` that node `about` is suspect at incarnation inc, as a
 * gossip datagram from node `from` would. */
static void inject_suspect(
    member_sim_t *sim, size_t to, size_t from, size_t about, uint32_t inc)
{
    struct member_update u = {
        .id = member_sim_id(about),
        .incarnation = inc,
        .state = MEMBER_SUSPECT,
        .from = member_sim_id(from),
    };
    struct member_msg msg = {
        .kind = MEMBER_MSG_GOSSIP, .updates = &u, .nupdates = 1};
    struct member_addr addr = {.family = 4, .bytes = {10, 213, 0, 99}};
    uint8_t buf[256];
    size_t len;

    cr_assert(eq(int, member_wire_encode(&msg, buf, sizeof(buf), &len), 0));
    cr_assert(
        eq(int,
           member_table_input(member_sim_table(sim, to),
                              MEMBER_CHANNEL_DATAGRAM, member_sim_id(from),
                              &addr, buf, len, member_sim_now(sim), NULL),
           0));
}

static uint32_t
incarnation_seen(member_sim_t *sim, size_t observer, size_t subject)
{
    struct member_info info;

    cr_assert(eq(int,
                 member_table_find(member_sim_table(sim, observer),
                                   member_sim_id(subject), &info),
                 0));
    return info.incarnation;
}

Test(member, false_suspicion_refuted_by_incarnation)
{
    struct event_log log;
    member_sim_t *sim = make_sim(8, 0.0, 11, &log);
    struct all_see_arg alive = {3, MEMBER_ALIVE};

    start_all(sim);
    converge(sim, 5000);
    log.watch = 3;
    inject_suspect(sim, 0, 1, 3, 0);
    cr_assert(member_sim_sees(sim, 0, 3, MEMBER_SUSPECT));
    cr_assert(gt(u64, log.first_suspect, 0));

    /* node 3 hears it by gossip and outbids it */
    member_sim_run(sim, member_sim_now(sim) + 3000);
    cr_assert(all_see(sim, &alive));
    cr_assert(eq(u32, incarnation_seen(sim, 3, 3), 1));
    for (size_t i = 0; i < 8; i++)
        cr_assert(eq(u32, incarnation_seen(sim, i, 3), 1), "node %zu", i);
    cr_assert(ge(u64, log.alive_reports, 1));
    cr_assert(eq(u64, log.dead_reports, 0));
    struct member_stats stats;
    member_table_get_stats(member_sim_table(sim, 3), &stats);
    cr_assert(ge(u64, stats.refutations, 1));

    /* a stale suspicion (older incarnation) changes nothing */
    uint64_t suspects = log.first_suspect;
    log.first_suspect = 0;
    inject_suspect(sim, 5, 1, 3, 0);
    cr_assert(member_sim_sees(sim, 5, 3, MEMBER_ALIVE));
    cr_assert(eq(u64, log.first_suspect, 0), "first at %llu",
              (unsigned long long)suspects);
    member_sim_destroy(sim);
}

Test(member, graceful_leave_is_not_a_death)
{
    struct event_log log;
    member_sim_t *sim = make_sim(8, 0.0, 12, &log);
    struct all_see_arg left = {5, MEMBER_LEFT};

    start_all(sim);
    converge(sim, 5000);
    log.watch = 5;
    uint64_t start = member_sim_now(sim);
    member_sim_leave(sim, 5, 300);
    cr_assert(member_sim_run_until(sim, start + 1000, all_see, &left));
    member_sim_run(sim, member_sim_now(sim) + 5000);
    cr_assert(all_see(sim, &left), "left stays left once it is gone");
    cr_assert(eq(u64, log.leave_reports, 7));
    cr_assert(eq(u64, log.dead_reports, 0));
    cr_assert(member_sim_converged(sim, NULL));
    member_sim_destroy(sim);
}

Test(member, restarted_node_rejoins_with_higher_incarnation)
{
    struct event_log log;
    member_sim_t *sim = make_sim(8, 0.0, 13, &log);
    struct all_see_arg dead = {2, MEMBER_DEAD};

    start_all(sim);
    converge(sim, 5000);
    /* a first life with a few refutations behind it */
    inject_suspect(sim, 0, 1, 2, 0);
    member_sim_run(sim, member_sim_now(sim) + 2000);
    uint32_t before = incarnation_seen(sim, 0, 2);
    cr_assert(ge(u32, before, 1));

    log.watch = 2;
    member_sim_kill(sim, 2);
    cr_assert(
        member_sim_run_until(sim, member_sim_now(sim) + 5000, all_see, &dead));
    /* the new life starts at 0; the pool remembers more, so it refutes */
    cr_assert(eq(int, member_sim_start(sim, 2, 0, 6), 0));
    converge(sim, 5000);
    for (size_t i = 0; i < 8; i++)
        cr_assert(gt(u32, incarnation_seen(sim, i, 2), before), "node %zu", i);
    cr_assert(eq(u64, log.join_reports, 7));
    member_sim_destroy(sim);
}

Test(member, restart_with_higher_incarnation_is_accepted_at_once)
{
    struct event_log log;
    member_sim_t *sim = make_sim(6, 0.0, 14, &log);
    struct all_see_arg dead = {4, MEMBER_DEAD};

    start_all(sim);
    converge(sim, 5000);
    member_sim_kill(sim, 4);
    cr_assert(
        member_sim_run_until(sim, member_sim_now(sim) + 5000, all_see, &dead));
    cr_assert(eq(int, member_sim_start(sim, 4, 50, 0), 0));
    converge(sim, 5000);
    for (size_t i = 0; i < 6; i++)
        cr_assert(eq(u32, incarnation_seen(sim, i, 4), 50), "node %zu", i);
    member_sim_destroy(sim);
}

struct sides_arg {
    size_t n;
    size_t cut; /* nodes [0, cut) on one side */
};

static bool sides_see_each_other_dead(member_sim_t *sim, void *arg)
{
    struct sides_arg *a = arg;

    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < a->n; j++)
            if ((i < a->cut) != (j < a->cut)
                && !member_sim_sees(sim, i, j, MEMBER_DEAD))
                return false;
    return true;
}

Test(member, partition_then_heal)
{
    struct event_log log;
    member_sim_t *sim = make_sim(16, 0.0, 15, &log);
    struct sides_arg sides = {16, 6};

    start_all(sim);
    converge(sim, 5000);
    for (size_t i = 0; i < sides.cut; i++)
        member_sim_partition(sim, i, 1);
    cr_assert(member_sim_run_until(sim, member_sim_now(sim) + 10000,
                                   sides_see_each_other_dead, &sides));
    /* each side stays whole */
    for (size_t i = 0; i < 16; i++)
        for (size_t j = 0; j < 16; j++)
            if ((i < sides.cut) == (j < sides.cut))
                cr_assert(member_sim_sees(sim, i, j, MEMBER_ALIVE),
                          "%zu sees %zu", i, j);
    for (size_t i = 0; i < sides.cut; i++)
        member_sim_partition(sim, i, 0);
    /* reconnect tries (every 10 s) find the other side again */
    converge(sim, 30000);
    member_sim_destroy(sim);
}

Test(member, payload_update_reaches_everyone)
{
    struct event_log log;
    member_sim_t *sim = make_sim(16, 0.0, 16, &log);

    start_all(sim);
    converge(sim, 5000);
    log.watch = 9;
    cr_assert(eq(int,
                 member_table_set_payload(member_sim_table(sim, 9), "load=3", 6,
                                          member_sim_now(sim)),
                 0));
    member_sim_run(sim, member_sim_now(sim) + 2000);
    for (size_t i = 0; i < 16; i++) {
        struct member_info info;
        cr_assert(eq(int,
                     member_table_find(member_sim_table(sim, i),
                                       member_sim_id(9), &info),
                     0));
        cr_assert(eq(sz, info.payload_len, 6), "node %zu", i);
        cr_assert(eq(int, memcmp(info.payload, "load=3", 6), 0));
    }
    cr_assert(eq(u64, log.update_reports, 15));
    cr_assert(eq(int,
                 member_table_set_payload(member_sim_table(sim, 9), "x",
                                          MEMBER_PAYLOAD_MAX + 1, 0),
                 -EINVAL));
    member_sim_destroy(sim);
}

Test(member, dead_members_are_reaped)
{
    struct member_sim_config config = {
        .nodes = 5, .latency_min_ms = 1, .latency_max_ms = 2, .seed = 3};
    member_sim_t *sim = NULL;
    struct all_see_arg dead = {1, MEMBER_DEAD};

    member_tunables_default(&config.tunables);
    config.tunables.reclaim_ms = 3000;
    cr_assert(eq(int, member_sim_create(&config, &sim), 0));
    start_all(sim);
    converge(sim, 5000);
    member_sim_kill(sim, 1);
    cr_assert(
        member_sim_run_until(sim, member_sim_now(sim) + 5000, all_see, &dead));
    member_sim_run(sim, member_sim_now(sim) + 4000);
    for (size_t i = 0; i < 5; i++) {
        struct member_info info;
        if (i == 1)
            continue;
        cr_assert(eq(int,
                     member_table_find(member_sim_table(sim, i),
                                       member_sim_id(1), &info),
                     -ENOENT));
        cr_assert(eq(sz, member_table_size(member_sim_table(sim, i)), 4));
    }
    member_sim_destroy(sim);
}

static int count_send(enum member_channel channel,
                      uint64_t dest,
                      const struct member_addr *addr,
                      const void *buf,
                      size_t len,
                      void *arg)
{
    (void)dest, (void)addr, (void)buf, (void)len;
    /* datagrams only: an unknown sender also gets our list by stream */
    if (channel == MEMBER_CHANNEL_DATAGRAM)
        (*(int *)arg)++;
    return 0;
}

Test(member, garbage_input_refused_and_counted)
{
    struct member_config config = {.id = 1, .name = "solo"};
    struct member_ops ops = {.send = count_send};
    struct member_addr addr = {.family = 4};
    member_table_t *t = NULL;
    shoal_error_t err = {{0}};
    struct member_stats stats;
    int sent = 0;

    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_table_create(&config, &ops, &sent, &t, NULL), 0));
    cr_assert(eq(int,
                 member_table_input(t, MEMBER_CHANNEL_DATAGRAM, 2, &addr,
                                    "\x01\x09", 2, 10, &err),
                 SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "unknown message kind 9"));
    member_table_get_stats(t, &stats);
    cr_assert(eq(u64, stats.malformed, 1));
    cr_assert(eq(sz, member_table_size(t), 1));
    cr_assert(eq(int, sent, 0));

    /* a ping for another node id is not answered */
    uint8_t buf[64];
    size_t len;
    struct member_msg ping = {.kind = MEMBER_MSG_PING, .seq = 1, .target = 7};
    cr_assert(eq(int, member_wire_encode(&ping, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int,
                 member_table_input(t, MEMBER_CHANNEL_DATAGRAM, 2, &addr, buf,
                                    len, 10, NULL),
                 0));
    cr_assert(eq(int, sent, 0));
    member_table_get_stats(t, &stats);
    cr_assert(eq(u64, stats.misdirected, 1));
    ping.target = 1;
    cr_assert(eq(int, member_wire_encode(&ping, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int,
                 member_table_input(t, MEMBER_CHANNEL_DATAGRAM, 2, &addr, buf,
                                    len, 10, NULL),
                 0));
    cr_assert(eq(int, sent, 1));
    member_table_destroy(t);
    member_table_destroy(NULL);
}

Test(member, this_node_is_alive_since_its_creation)
{
    struct member_config config = {.id = 1, .name = "solo", .now_ms = 5000};
    struct member_ops ops = {.send = count_send};
    struct member_info info;
    member_table_t *t = NULL;
    int sent = 0;

    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_table_create(&config, &ops, &sent, &t, NULL), 0));
    cr_assert(eq(int, member_table_find(t, 1, &info), 0));
    cr_assert(info.self);
    cr_assert(eq(int, info.state, MEMBER_ALIVE));
    cr_assert(eq(u64, info.since_ms, 5000));
    member_table_destroy(t);
}

Test(member, create_refuses_bad_config)
{
    struct member_config config = {.id = 0, .name = "x"};
    struct member_ops ops = {.send = count_send};
    member_table_t *t = NULL;
    shoal_error_t err = {{0}};
    char longname[80];

    member_tunables_default(&config.tunables);
    cr_assert(
        eq(int, member_table_create(&config, &ops, NULL, &t, &err), -EINVAL));
    cr_assert(eq(str, err.text, "member id 0 is reserved"));
    config.id = 1;
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    config.name = longname;
    cr_assert(
        eq(int, member_table_create(&config, &ops, NULL, &t, &err), -EINVAL));
    config.name = "ok";
    config.tunables.probe_interval_ms = 0;
    cr_assert(
        eq(int, member_table_create(&config, &ops, NULL, &t, &err), -EINVAL));
    member_tunables_default(&config.tunables);
    struct member_ops none = {0};
    cr_assert(
        eq(int, member_table_create(&config, &none, NULL, &t, &err), -EINVAL));
    cr_assert(eq(str, err.text, "no send operation"));
    cr_assert(eq(ptr, t, NULL));
    cr_assert(eq(str, (char *)member_event_name(MEMBER_EVENT_REAP), "reap"));
}

Test(member, busy_nodes_stalling_are_suspected_never_declared_dead)
{
    struct event_log log;
    member_sim_t *sim = make_sim(16, 0.05, 17, &log);
    uint64_t start;

    start_all(sim);
    converge(sim, 5000);
    /* for a minute, some node stalls for 600 ms every 500 ms: three
     * probe intervals without an answer, as when every CPU is taken */
    start = member_sim_now(sim);
    for (int round = 0; round < 120; round++) {
        member_sim_stall(sim, (size_t)(round * 7) % 16, 600);
        member_sim_run(sim, start + 500 * (uint64_t)(round + 1));
    }
    member_sim_run(sim, member_sim_now(sim) + 3000);
    struct member_stats stats;
    uint64_t suspicions = 0;
    for (size_t i = 0; i < 16; i++) {
        member_table_get_stats(member_sim_table(sim, i), &stats);
        suspicions += stats.suspicions;
    }
    /* the stalls were noticed, and forgiven */
    cr_assert(gt(u64, suspicions, 10));
    cr_assert(eq(u64, log.false_dead, 0));
    cr_assert(member_sim_converged(sim, NULL));
    member_sim_destroy(sim);
}

Test(member, sealed_pool_converges_and_shuts_out_a_wrong_key)
{
    seal_key_t key, wrong;
    struct member_sim_config config = {
        .nodes = 8,
        .latency_min_ms = 1,
        .latency_max_ms = 5,
        .seed = 18,
        .payload_len = 64,
        .key = &key,
        .duplicate = 0.1,
    };
    member_sim_t *sim = NULL;
    struct seal_stats stats;
    uint64_t auth = 0, replays = 0;

    memset(&key, 0x11, sizeof(key));
    memset(&wrong, 0x22, sizeof(wrong));
    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_sim_create(&config, &sim), 0));
    /* node 7 has another key: it must never get in */
    member_sim_set_key(sim, 7, &wrong);
    cr_assert(eq(int, member_sim_start(sim, 0, 0, 0), 0));
    for (size_t i = 1; i < 8; i++) {
        member_sim_run(sim, member_sim_now(sim) + 5);
        cr_assert(eq(int, member_sim_start(sim, i, 0, i == 7 ? 3 : 0), 0));
    }
    member_sim_run(sim, member_sim_now(sim) + 5000);
    for (size_t i = 0; i < 7; i++) {
        member_table_t *t = member_sim_table(sim, i);
        struct member_info info;
        cr_assert(eq(sz, member_table_count(t, MEMBER_ALIVE), 7), "node %zu",
                  i);
        cr_assert(
            eq(int, member_table_find(t, member_sim_id(7), &info), -ENOENT));
        member_sim_get_seal_stats(sim, i, &stats);
        auth += stats.dropped[SEAL_DROP_AUTH];
        replays += stats.dropped[SEAL_DROP_REPLAY];
        cr_assert(gt(u64, stats.opened, 0));
    }
    /* its join went to node 3, which refused it and counted why */
    member_sim_get_seal_stats(sim, 3, &stats);
    cr_assert(ge(u64, stats.dropped[SEAL_DROP_AUTH], 1));
    cr_assert(eq(sz, member_table_size(member_sim_table(sim, 7)), 1));
    /* the network's duplicates were dropped as replays, harmlessly */
    cr_assert(gt(u64, replays, 0));
    cr_assert(ge(u64, auth, 1));
    member_sim_destroy(sim);
}

/* The last datagrams a lone table sent, decoded. */
struct capture {
    int count;
    uint64_t dest[8];
    struct member_addr addr[8];
    struct member_msg msg[8];
    uint8_t bytes[8][1500];
};

static int capture_send(enum member_channel channel,
                        uint64_t dest,
                        const struct member_addr *addr,
                        const void *buf,
                        size_t len,
                        void *arg)
{
    struct capture *c = arg;

    if (channel != MEMBER_CHANNEL_DATAGRAM || c->count == 8)
        return 0;
    memcpy(c->bytes[c->count], buf, len);
    cr_assert(
        eq(int,
           member_wire_decode(c->bytes[c->count], len, &c->msg[c->count], NULL),
           0));
    c->dest[c->count] = dest;
    c->addr[c->count] = *addr;
    c->count++;
    return 0;
}

static void capture_release(struct capture *c)
{
    for (int i = 0; i < c->count; i++)
        member_msg_release(&c->msg[i]);
    c->count = 0;
}

static void feed(member_table_t *t,
                 uint64_t from,
                 const struct member_addr *addr,
                 const struct member_msg *m,
                 uint64_t now)
{
    uint8_t buf[512];
    size_t len;

    cr_assert(eq(int, member_wire_encode(m, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int,
                 member_table_input(t, MEMBER_CHANNEL_DATAGRAM, from, addr, buf,
                                    len, now, NULL),
                 0));
}

Test(member, ping_req_is_relayed_and_its_ack_returned)
{
    struct member_config config = {
        .id = 1, .name = "relay", .addr = {.family = 4, .port = 1}};
    struct member_ops ops = {.send = capture_send};
    struct member_addr b = {.family = 4, .bytes = {10, 0, 0, 2}, .port = 2};
    struct member_addr c = {.family = 6, .bytes = {[15] = 3}, .port = 3};
    static struct capture cap;
    member_table_t *t = NULL;

    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_table_create(&config, &ops, &cap, &t, NULL), 0));
    /* b knows us; b asks us to probe c for it */
    struct member_update alive_b = {
        .id = 2, .state = MEMBER_ALIVE, .has_body = true, .addr = b};
    struct member_msg req = {.kind = MEMBER_MSG_PING_REQ,
                             .seq = 77,
                             .target = 3,
                             .target_addr = c,
                             .updates = &alive_b,
                             .nupdates = 1};
    feed(t, 2, &b, &req, 1000);
    cr_assert(eq(int, cap.count, 1));
    cr_assert(eq(int, cap.msg[0].kind, MEMBER_MSG_PING));
    cr_assert(eq(u64, cap.msg[0].target, 3));
    cr_assert(eq(u64, cap.dest[0], 3));
    cr_assert(member_addr_equal(&cap.addr[0], &c));
    uint32_t relay_seq = cap.msg[0].seq;
    capture_release(&cap);

    /* c answers us; we answer b with b's number */
    struct member_msg ack = {.kind = MEMBER_MSG_ACK, .seq = relay_seq};
    feed(t, 3, &c, &ack, 1010);
    cr_assert(eq(int, cap.count, 1));
    cr_assert(eq(int, cap.msg[0].kind, MEMBER_MSG_ACK));
    cr_assert(eq(u32, cap.msg[0].seq, 77));
    cr_assert(eq(u64, cap.dest[0], 2));
    cr_assert(member_addr_equal(&cap.addr[0], &b));
    capture_release(&cap);

    /* a second ack is not forwarded again, nor one that comes too late */
    feed(t, 3, &c, &ack, 1020);
    cr_assert(eq(int, cap.count, 0));
    feed(t, 2, &b, &req, 2000);
    relay_seq = cap.msg[0].seq;
    capture_release(&cap);
    member_table_tick(t, 2000 + config.tunables.probe_interval_ms);
    capture_release(&cap);
    ack.seq = relay_seq;
    feed(t, 3, &c, &ack, 2000 + config.tunables.probe_interval_ms + 1);
    for (int i = 0; i < cap.count; i++)
        cr_assert(not(eq(int, cap.msg[i].kind, MEMBER_MSG_ACK)));
    capture_release(&cap);

    /* ping-reqs about ourselves are ignored */
    req.target = 1;
    feed(t, 2, &b, &req, 3000);
    cr_assert(eq(int, cap.count, 0));
    member_table_destroy(t);
}

Test(member, ping_is_acked_with_news_piggybacked)
{
    struct member_config config = {
        .id = 1, .name = "one", .addr = {.family = 4, .port = 1}};
    struct member_ops ops = {.send = capture_send};
    struct member_addr b = {.family = 4, .bytes = {10, 0, 0, 2}, .port = 2};
    static struct capture cap;
    member_table_t *t = NULL;

    member_tunables_default(&config.tunables);
    cr_assert(eq(int, member_table_create(&config, &ops, &cap, &t, NULL), 0));
    struct member_update news[2] = {
        {.id = 2, .state = MEMBER_ALIVE, .has_body = true, .addr = b},
        {.id = 5, .state = MEMBER_ALIVE, .has_body = true, .addr = b},
    };
    snprintf(news[1].name, sizeof(news[1].name), "five");
    struct member_msg ping = {.kind = MEMBER_MSG_PING,
                              .seq = 9,
                              .target = 1,
                              .updates = news,
                              .nupdates = 2};
    feed(t, 2, &b, &ping, 1000);
    cr_assert(eq(sz, member_table_size(t), 3));
    cr_assert(eq(int, cap.count, 1));
    cr_assert(eq(int, cap.msg[0].kind, MEMBER_MSG_ACK));
    cr_assert(eq(u32, cap.msg[0].seq, 9));
    /* the ack tells b of five, not of b itself */
    cr_assert(eq(sz, cap.msg[0].nupdates, 1));
    cr_assert(eq(u64, cap.msg[0].updates[0].id, 5));
    cr_assert(eq(str, cap.msg[0].updates[0].name, "five"));
    capture_release(&cap);
    member_table_destroy(t);
}

Test(member, a_node_that_left_keeps_itself_in_its_table)
{
    struct member_config config = {.id = 1, .name = "leaver"};
    struct member_ops ops = {.send = count_send};
    member_table_t *t = NULL;
    struct member_info info;
    int sent = 0;

    member_tunables_default(&config.tunables);
    config.tunables.reclaim_ms = 1000;
    cr_assert(eq(int, member_table_create(&config, &ops, &sent, &t, NULL), 0));
    member_table_tick(t, 100);
    member_table_leave(t, 200);
    for (uint64_t now = 300; now < 5000; now += 100)
        member_table_tick(t, now);
    cr_assert(eq(int, member_table_find(t, 1, &info), 0));
    cr_assert(eq(int, info.state, MEMBER_LEFT));
    cr_assert(info.self);
    /* and what it hears of itself is still handled */
    cr_assert(eq(int, member_table_set_payload(t, "p", 1, 5000), 0));
    member_table_destroy(t);
}
