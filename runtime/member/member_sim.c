/* SPDX-License-Identifier: MIT */
/* member_sim.c - a simulated network of member tables.
 *
 * Time advances in steps of 1 ms. In each step the messages due are
 * delivered in the order they were sent (a binary heap keyed by arrival
 * time and send order), then every running node whose deadline has come
 * is ticked. Each node's next deadline is cached and refreshed after any
 * call into its table, so a step costs O(nodes) comparisons. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/member/member_sim.h"

struct sim_msg {
    uint64_t at;
    uint64_t order;
    size_t from;
    size_t to;
    enum member_channel channel;
    uint8_t *bytes;
    size_t len;
};

struct sim_node {
    member_sim_t *sim;
    size_t index;
    member_table_t *table;
    uint64_t deadline;
    uint64_t stop_at; /* 0: not stopping */
    uint64_t stalled_until;
    seal_t *seal;
    seal_key_t key;
    int group;
};

struct member_sim {
    struct member_sim_config config;
    bool sealed;
    struct sim_node *nodes;
    uint64_t now;
    uint64_t rng;
    uint64_t order;
    struct sim_msg *heap;
    size_t nheap;
    size_t heap_capacity;
    struct member_sim_counts counts;
    member_sim_event_f on_event;
    void *event_arg;
    uint8_t *payload;
};

static uint64_t sim_random(member_sim_t *sim)
{
    sim->rng ^= sim->rng >> 12;
    sim->rng ^= sim->rng << 25;
    sim->rng ^= sim->rng >> 27;
    return sim->rng * 0x2545F4914F6CDD1DULL;
}

static double sim_uniform(member_sim_t *sim)
{
    return (double)(sim_random(sim) >> 11) / 9007199254740992.0;
}

uint64_t member_sim_id(size_t i)
{
    return (uint64_t)i + 1;
}

/* Node i lives at 10.213.(i / 250).(i % 250 + 1):7946. */
static struct member_addr sim_addr(size_t i)
{
    struct member_addr a = {.family = 4, .port = 7946};

    a.bytes[0] = 10;
    a.bytes[1] = 213;
    a.bytes[2] = (uint8_t)(i / 250);
    a.bytes[3] = (uint8_t)(i % 250 + 1);
    return a;
}

static bool
sim_index_of(const member_sim_t *sim, const struct member_addr *a, size_t *i)
{
    if (a->family != 4 || a->bytes[0] != 10 || a->bytes[1] != 213
        || a->bytes[3] == 0)
        return false;
    *i = (size_t)a->bytes[2] * 250 + a->bytes[3] - 1;
    return *i < sim->config.nodes;
}

static bool sim_before(const struct sim_msg *a, const struct sim_msg *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int sim_push(member_sim_t *sim, struct sim_msg m)
{
    size_t i;

    if (sim->nheap == sim->heap_capacity) {
        size_t cap = sim->heap_capacity ? 2 * sim->heap_capacity : 1024;
        struct sim_msg *heap = realloc(sim->heap, cap * sizeof(*heap));
        if (!heap)
            return -ENOMEM;
        sim->heap = heap;
        sim->heap_capacity = cap;
    }
    i = sim->nheap++;
    while (i > 0 && sim_before(&m, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = m;
    return 0;
}

static struct sim_msg sim_pop(member_sim_t *sim)
{
    struct sim_msg top = sim->heap[0];
    struct sim_msg last = sim->heap[--sim->nheap];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= sim->nheap)
            break;
        if (c + 1 < sim->nheap && sim_before(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!sim_before(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (sim->nheap > 0)
        sim->heap[i] = last;
    return top;
}

static int sim_send(enum member_channel channel,
                    uint64_t dest,
                    const struct member_addr *addr,
                    const void *buf,
                    size_t len,
                    void *arg)
{
    struct sim_node *from = arg;
    member_sim_t *sim = from->sim;
    struct sim_msg m = {.from = from->index, .channel = channel, .len = len};
    uint32_t spread =
        sim->config.latency_max_ms - sim->config.latency_min_ms + 1;

    if (channel == MEMBER_CHANNEL_DATAGRAM)
        sim->counts.datagrams++;
    else
        sim->counts.streams++;
    sim->counts.bytes += len;
    if (!sim_index_of(sim, addr, &m.to))
        return -EHOSTUNREACH;
    /* a stream to a crashed or cut-off node fails to connect */
    if (channel == MEMBER_CHANNEL_STREAM
        && (!sim->nodes[m.to].table || sim->nodes[m.to].group != from->group)) {
        sim->counts.lost++;
        return -ECONNREFUSED;
    }
    if (channel == MEMBER_CHANNEL_DATAGRAM && sim->config.loss > 0
        && sim_uniform(sim) < sim->config.loss) {
        sim->counts.lost++;
        return 0;
    }
    m.at = sim->now + sim->config.latency_min_ms
           + sim_random(sim) % (spread ? spread : 1);
    m.order = sim->order++;
    m.bytes = malloc(len + SEAL_OVERHEAD);
    if (!m.bytes)
        return -ENOMEM;
    if (from->seal) {
        if (seal_wrap(from->seal, 1, dest, sim->now, buf, len, m.bytes,
                      len + SEAL_OVERHEAD, &m.len)
            < 0) {
            free(m.bytes);
            return -EMSGSIZE;
        }
    } else {
        memcpy(m.bytes, buf, len);
    }
    if (sim_push(sim, m) < 0) {
        free(m.bytes);
        return -ENOMEM;
    }
    if (channel == MEMBER_CHANNEL_DATAGRAM && sim->config.duplicate > 0
        && sim_uniform(sim) < sim->config.duplicate) {
        struct sim_msg again = m;
        again.at += 1 + sim_random(sim) % 20;
        again.order = sim->order++;
        again.bytes = malloc(m.len);
        if (again.bytes) {
            memcpy(again.bytes, m.bytes, m.len);
            if (sim_push(sim, again) < 0)
                free(again.bytes);
        }
    }
    return 0;
}

static void sim_event(enum member_event_kind kind,
                      const struct member_info *member,
                      void *arg)
{
    struct sim_node *node = arg;
    member_sim_t *sim = node->sim;

    if (sim->on_event)
        sim->on_event(node->index, kind, member, sim->now, sim->event_arg);
}

int member_sim_create(const struct member_sim_config *config,
                      member_sim_t **out)
{
    member_sim_t *sim;

    if (config->nodes == 0 || config->nodes > 250 * 250
        || config->latency_max_ms < config->latency_min_ms
        || config->payload_len > MEMBER_PAYLOAD_MAX)
        return -EINVAL;
    sim = calloc(1, sizeof(*sim));
    if (!sim)
        return -ENOMEM;
    sim->config = *config;
    sim->now = 1000;
    sim->rng = config->seed ? config->seed : 1;
    sim->nodes = calloc(config->nodes, sizeof(*sim->nodes));
    sim->payload = calloc(1, config->payload_len + 1);
    if (!sim->nodes || !sim->payload) {
        member_sim_destroy(sim);
        return -ENOMEM;
    }
    sim->sealed = config->key != NULL;
    sim->config.key = NULL;
    for (size_t i = 0; i < config->nodes; i++) {
        sim->nodes[i].sim = sim;
        sim->nodes[i].index = i;
        if (config->key)
            sim->nodes[i].key = *config->key;
    }
    for (size_t i = 0; i < config->payload_len; i++)
        sim->payload[i] = (uint8_t)('a' + i % 26);
    *out = sim;
    return 0;
}

void member_sim_destroy(member_sim_t *sim)
{
    if (!sim)
        return;
    for (size_t i = 0; sim->nodes && i < sim->config.nodes; i++)
        member_sim_kill(sim, i);
    for (size_t i = 0; i < sim->nheap; i++)
        free(sim->heap[i].bytes);
    free(sim->heap);
    free(sim->nodes);
    free(sim->payload);
    free(sim);
}

void member_sim_on_event(member_sim_t *sim, member_sim_event_f fn, void *arg)
{
    sim->on_event = fn;
    sim->event_arg = arg;
}

static void sim_refresh(struct sim_node *node)
{
    node->deadline = member_table_next_deadline(node->table);
}

int member_sim_start(member_sim_t *sim,
                     size_t i,
                     uint32_t incarnation,
                     size_t seed)
{
    struct sim_node *node = &sim->nodes[i];
    static const struct member_ops ops = {.send = sim_send, .event = sim_event};
    struct member_config config = {
        .id = member_sim_id(i),
        .addr = sim_addr(i),
        .incarnation = incarnation,
        .payload = sim->payload,
        .payload_len = sim->config.payload_len,
        .seed = sim_random(sim),
        .tunables = sim->config.tunables,
    };
    char name[32];
    int rc;

    member_sim_kill(sim, i);
    node->stop_at = 0;
    if (sim->sealed) {
        struct seal_config sc = {.key = &node->key, .node_id = config.id};
        rc = seal_create(&sc, &node->seal, NULL);
        if (rc < 0)
            return rc;
    }
    snprintf(name, sizeof(name), "node%zu", i);
    config.name = name;
    rc = member_table_create(&config, &ops, node, &node->table, NULL);
    if (rc < 0)
        return rc;
    if (seed != i) {
        struct member_addr addr = sim_addr(seed);
        rc = member_table_join(node->table, &addr, 1, sim->now);
    }
    sim_refresh(node);
    return rc;
}

void member_sim_kill(member_sim_t *sim, size_t i)
{
    member_table_destroy(sim->nodes[i].table);
    sim->nodes[i].table = NULL;
    seal_destroy(sim->nodes[i].seal);
    sim->nodes[i].seal = NULL;
}

void member_sim_set_key(member_sim_t *sim, size_t i, const seal_key_t *key)
{
    sim->nodes[i].key = *key;
}

void member_sim_get_seal_stats(member_sim_t *sim,
                               size_t i,
                               struct seal_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    if (sim->nodes[i].seal)
        seal_get_stats(sim->nodes[i].seal, stats);
}

void member_sim_leave(member_sim_t *sim, size_t i, uint64_t linger_ms)
{
    struct sim_node *node = &sim->nodes[i];

    if (!node->table)
        return;
    member_table_leave(node->table, sim->now);
    node->stop_at = sim->now + (linger_ms ? linger_ms : 1);
    sim_refresh(node);
}

void member_sim_partition(member_sim_t *sim, size_t i, int g)
{
    sim->nodes[i].group = g;
}

void member_sim_set_loss(member_sim_t *sim, double loss)
{
    sim->config.loss = loss;
}

void member_sim_stall(member_sim_t *sim, size_t i, uint64_t ms)
{
    sim->nodes[i].stalled_until = sim->now + ms;
}

static void sim_deliver(member_sim_t *sim, struct sim_msg *m)
{
    struct sim_node *to = &sim->nodes[m->to];
    struct sim_node *from = &sim->nodes[m->from];
    struct member_addr addr = sim_addr(m->from);

    if (!to->table || to->group != from->group) {
        sim->counts.lost++;
        return;
    }
    if (to->stalled_until > sim->now) {
        /* held in the socket buffer until the node runs again; sent in
         * order, so order among the held ones is kept */
        struct sim_msg held = *m;
        held.at = to->stalled_until;
        held.order = sim->order++;
        held.bytes = malloc(m->len ? m->len : 1);
        if (held.bytes) {
            memcpy(held.bytes, m->bytes, m->len);
            if (sim_push(sim, held) < 0)
                free(held.bytes);
        }
        return;
    }
    if (to->seal) {
        /* the sender is who the seal says, not who the network says */
        struct seal_header header;
        uint8_t *body = malloc(m->len);
        size_t len = 0;
        if (body
            && seal_unwrap(to->seal, m->bytes, m->len, sim->now, &header, body,
                           m->len, &len, NULL)
                   == 0)
            member_table_input(to->table, m->channel, header.sender, &addr,
                               body, len, sim->now, NULL);
        else
            sim->counts.lost++;
        free(body);
    } else {
        member_table_input(to->table, m->channel, member_sim_id(m->from), &addr,
                           m->bytes, m->len, sim->now, NULL);
    }
    sim_refresh(to);
}

static void sim_step(member_sim_t *sim)
{
    while (sim->nheap > 0 && sim->heap[0].at <= sim->now) {
        struct sim_msg m = sim_pop(sim);
        sim_deliver(sim, &m);
        free(m.bytes);
    }
    for (size_t i = 0; i < sim->config.nodes; i++) {
        struct sim_node *node = &sim->nodes[i];
        if (!node->table)
            continue;
        if (node->stop_at && node->stop_at <= sim->now) {
            member_sim_kill(sim, i);
            continue;
        }
        if (node->deadline <= sim->now && node->stalled_until <= sim->now) {
            member_table_tick(node->table, sim->now);
            sim_refresh(node);
        }
    }
}

void member_sim_run(member_sim_t *sim, uint64_t until_ms)
{
    while (sim->now < until_ms) {
        sim->now++;
        sim_step(sim);
    }
}

bool member_sim_run_until(member_sim_t *sim,
                          uint64_t until_ms,
                          bool (*done)(member_sim_t *sim, void *arg),
                          void *arg)
{
    while (!done(sim, arg)) {
        if (sim->now >= until_ms)
            return false;
        uint64_t next = sim->now + 10 < until_ms ? sim->now + 10 : until_ms;
        member_sim_run(sim, next);
    }
    return true;
}

uint64_t member_sim_now(const member_sim_t *sim)
{
    return sim->now;
}

size_t member_sim_size(const member_sim_t *sim)
{
    return sim->config.nodes;
}

bool member_sim_running(const member_sim_t *sim, size_t i)
{
    return sim->nodes[i].table != NULL;
}

member_table_t *member_sim_table(member_sim_t *sim, size_t i)
{
    return sim->nodes[i].table;
}

void member_sim_get_counts(const member_sim_t *sim,
                           struct member_sim_counts *counts)
{
    *counts = sim->counts;
}

bool member_sim_sees(member_sim_t *sim,
                     size_t observer,
                     size_t subject,
                     enum member_state state)
{
    struct member_info info;
    member_table_t *t = sim->nodes[observer].table;

    if (!t)
        return false;
    if (member_table_find(t, member_sim_id(subject), &info) < 0)
        return state == MEMBER_DEAD;
    return info.state == state;
}

bool member_sim_converged(member_sim_t *sim, void *unused)
{
    size_t running = 0;

    (void)unused;
    for (size_t i = 0; i < sim->config.nodes; i++)
        running += sim->nodes[i].table != NULL;
    for (size_t i = 0; i < sim->config.nodes; i++) {
        member_table_t *t = sim->nodes[i].table;
        if (!t)
            continue;
        if (member_table_count(t, MEMBER_ALIVE) != running)
            return false;
        for (size_t j = 0; j < sim->config.nodes; j++) {
            struct member_info info;
            if (!sim->nodes[j].table)
                continue;
            if (member_table_find(t, member_sim_id(j), &info) < 0
                || info.state != MEMBER_ALIVE)
                return false;
        }
    }
    return true;
}
