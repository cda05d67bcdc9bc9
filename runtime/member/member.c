/* SPDX-License-Identifier: MIT */
/* member.c - SWIM membership: probes, suspicion, gossip, push-pull.
 *
 * Members live in an array whose order is the probe order: walking it
 * and shuffling it at each wrap is SWIM's randomized round-robin, which
 * bounds the time until any given member is probed by this node to two
 * passes, where picking at random would not bound it at all. An
 * open-addressing index maps ids to positions and is rebuilt whenever
 * positions change (a shuffle, a reclaim), which is rare next to lookups.
 *
 * The gossip queue holds at most one item per member, the newest news
 * about it; sending picks the items sent least often first, and the
 * newest among equals, as memberlist's transmit-limited queue does, so
 * fresh news goes out before news that has already spread, and a
 * suspicion is not starved by a crowd of older arrivals during a join
 * storm. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/member/member.h"

struct member_node {
    uint64_t id;
    char name[MEMBER_NAME_MAX + 1];
    struct member_addr addr;
    enum member_state state;
    uint32_t incarnation;
    uint8_t *payload;
    uint16_t payload_len;
    uint64_t since_ms;
    uint64_t suspect_deadline_ms;
};

struct member_gossip {
    struct member_update update; /* payload points at payload_copy */
    uint8_t *payload_copy;
    uint32_t transmits;
    uint64_t order; /* when queued: newer news goes first on ties */
    bool urgent;
};

enum member_pending_kind {
    MEMBER_PENDING_PROBE,   /* our own probe of target */
    MEMBER_PENDING_FORWARD, /* a ping we send for a ping-req */
};

struct member_pending {
    enum member_pending_kind kind;
    uint32_t seq;
    uint64_t deadline_ms;
    uint64_t requester; /* forward: who asked, and their seq */
    struct member_addr requester_addr;
    uint32_t requester_seq;
};

enum { MEMBER_PENDING_MAX = 4096 };

struct member_probe {
    bool active;
    bool acked;
    bool indirect_sent;
    uint64_t target;
    uint32_t seq;
    uint64_t start_ms;
};

struct member_table {
    struct member_tunables tun;
    struct member_ops ops;
    void *arg;
    uint64_t self_id;
    bool leaving;
    bool started;
    uint64_t rng;
    uint32_t next_seq;

    struct member_node *nodes;
    size_t count;
    size_t capacity;
    size_t probe_index;
    uint32_t *slots; /* position + 1; 0 empty; nslots a power of 2 */
    size_t nslots;

    struct member_gossip *queue;
    size_t nqueue;
    size_t queue_capacity;
    uint64_t gossip_order;

    struct member_pending *pending;
    size_t npending;
    size_t pending_capacity;

    struct member_probe probe;
    uint64_t next_probe_ms;
    uint64_t next_gossip_ms;
    uint64_t next_push_pull_ms;
    uint64_t next_reconnect_ms;
    uint64_t next_intro_ms;

    uint8_t *buf;                  /* max_datagram bytes */
    struct member_update *scratch; /* updates of an outgoing datagram */
    size_t scratch_capacity;
    struct member_stats stats;
};

void member_tunables_default(struct member_tunables *t)
{
    *t = (struct member_tunables){
        .probe_interval_ms = 200,
        .probe_timeout_ms = 100,
        .indirect_checks = 3,
        .suspicion_timeout_ms = 800,
        .retransmit_mult = 4,
        .gossip_interval_ms = 100,
        .gossip_fanout = 3,
        .push_pull_interval_ms = 30 * 1000,
        .reconnect_interval_ms = 10 * 1000,
        .reclaim_ms = 15 * 60 * 1000,
        /* 1500 - 40 (IPv6) - 8 (UDP) - seal overhead (88), rounded down */
        .max_datagram = 1360,
    };
}

const char *member_event_name(enum member_event_kind kind)
{
    static const char *const names[] = {
        [MEMBER_EVENT_JOIN] = "join",   [MEMBER_EVENT_SUSPECT] = "suspect",
        [MEMBER_EVENT_ALIVE] = "alive", [MEMBER_EVENT_DEAD] = "dead",
        [MEMBER_EVENT_LEAVE] = "leave", [MEMBER_EVENT_UPDATE] = "update",
        [MEMBER_EVENT_REAP] = "reap",
    };

    if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[kind];
}

/* xorshift64*: the random choices need speed and reproducibility, not
 * secrecy. */
static uint64_t member_random(member_table_t *t)
{
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    return t->rng * 0x2545F4914F6CDD1DULL;
}

static size_t member_random_below(member_table_t *t, size_t n)
{
    return n ? (size_t)(member_random(t) % n) : 0;
}

static size_t member_hash(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ULL;
    id ^= id >> 33;
    return (size_t)id;
}

static size_t member_slot(const member_table_t *t, uint64_t id)
{
    size_t mask = t->nslots - 1;

    for (size_t i = member_hash(id) & mask;; i = (i + 1) & mask)
        if (t->slots[i] == 0 || t->nodes[t->slots[i] - 1].id == id)
            return i;
}

static struct member_node *member_lookup(const member_table_t *t, uint64_t id)
{
    uint32_t n = t->slots[member_slot(t, id)];

    return n ? &t->nodes[n - 1] : NULL;
}

static void member_reindex(member_table_t *t)
{
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    for (size_t i = 0; i < t->count; i++)
        t->slots[member_slot(t, t->nodes[i].id)] = (uint32_t)(i + 1);
}

static struct member_node *member_self(const member_table_t *t)
{
    return member_lookup(t, t->self_id);
}

static void member_info_fill(const member_table_t *t,
                             const struct member_node *n,
                             struct member_info *info)
{
    *info = (struct member_info){
        .id = n->id,
        .name = n->name,
        .addr = n->addr,
        .state = n->state,
        .incarnation = n->incarnation,
        .payload = n->payload,
        .payload_len = n->payload_len,
        .since_ms = n->since_ms,
        .self = n->id == t->self_id,
    };
}

static void member_emit(member_table_t *t,
                        enum member_event_kind kind,
                        const struct member_node *n)
{
    struct member_info info;

    if (!t->ops.event || n->id == t->self_id)
        return;
    member_info_fill(t, n, &info);
    t->ops.event(kind, &info, t->arg);
}

/* Members this node counts when scaling timeouts and retransmits. */
static size_t member_live_count(const member_table_t *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].state == MEMBER_ALIVE
            || t->nodes[i].state == MEMBER_SUSPECT)
            n++;
    return n;
}

static uint32_t member_retransmit_limit(const member_table_t *t)
{
    double n = (double)member_live_count(t);

    return t->tun.retransmit_mult * (uint32_t)ceil(log10(n + 1));
}

static uint64_t member_suspicion_timeout(const member_table_t *t)
{
    double n = (double)member_live_count(t);
    double scale = n > 10 ? log10(n) : 1.0;

    return (uint64_t)(t->tun.suspicion_timeout_ms * scale);
}

static int member_grow(void **array, size_t *capacity, size_t need, size_t elem)
{
    size_t cap = *capacity ? *capacity : 8;
    void *p;

    if (need <= *capacity)
        return 0;
    while (cap < need)
        cap *= 2;
    p = realloc(*array, cap * elem);
    if (!p)
        return -ENOMEM;
    *array = p;
    *capacity = cap;
    return 0;
}

/* The news to gossip about n, as it is now. */
static struct member_update member_update_of(const struct member_node *n,
                                             uint64_t from)
{
    struct member_update u = {
        .id = n->id,
        .incarnation = n->incarnation,
        .state = n->state,
        .from = from,
        .has_body = n->state == MEMBER_ALIVE,
        .addr = n->addr,
        .payload = n->payload,
        .payload_len = n->payload_len,
    };

    memcpy(u.name, n->name, sizeof(u.name));
    return u;
}

static void member_queue_drop(member_table_t *t, size_t i)
{
    free(t->queue[i].payload_copy);
    t->queue[i] = t->queue[--t->nqueue];
}

/* Queue the news about n for gossip, replacing older news about it.
 * Urgent news (suspicions, deaths, departures, refutations) goes before
 * arrivals and payload changes: a refutation that waits behind a join
 * storm arrives after the suspicion timeout, and a live member is
 * declared dead. On allocation failure the news is not gossiped;
 * push-pull repairs that. */
static void member_queue(member_table_t *t,
                         const struct member_node *n,
                         uint64_t from,
                         bool urgent)
{
    struct member_gossip g = {
        .update = member_update_of(n, from),
        .order = t->gossip_order++,
        .urgent = urgent,
    };

    for (size_t i = 0; i < t->nqueue; i++) {
        if (t->queue[i].update.id == n->id) {
            member_queue_drop(t, i);
            break;
        }
    }
    if (member_grow((void **)&t->queue, &t->queue_capacity, t->nqueue + 1,
                    sizeof(*t->queue))
        < 0)
        return;
    if (g.update.has_body && n->payload_len) {
        g.payload_copy = malloc(n->payload_len);
        if (!g.payload_copy)
            return;
        memcpy(g.payload_copy, n->payload, n->payload_len);
        g.update.payload = g.payload_copy;
    }
    t->queue[t->nqueue++] = g;
}

static int member_gossip_cmp(const void *a, const void *b)
{
    const struct member_gossip *x = a, *y = b;

    if (x->urgent != y->urgent)
        return x->urgent ? -1 : 1;
    if (x->transmits != y->transmits)
        return x->transmits < y->transmits ? -1 : 1;
    return (x->order < y->order) - (x->order > y->order);
}

static void member_count_send(member_table_t *t,
                              enum member_channel channel,
                              size_t len,
                              int rc)
{
    if (channel == MEMBER_CHANNEL_DATAGRAM)
        t->stats.datagrams_sent++;
    else
        t->stats.streams_sent++;
    t->stats.bytes_sent += len;
    if (rc < 0)
        t->stats.send_errors++;
}

/* Send msg as a datagram, with as much queued news as fits. */
static void member_send_datagram(member_table_t *t,
                                 struct member_msg *msg,
                                 uint64_t dest,
                                 const struct member_addr *addr)
{
    size_t budget = t->tun.max_datagram;
    size_t head = member_wire_head_size(msg);
    size_t used = head;
    size_t n = 0;
    size_t len = 0;
    uint32_t limit = member_retransmit_limit(t);
    int rc;

    if (t->nqueue > 1)
        qsort(t->queue, t->nqueue, sizeof(*t->queue), member_gossip_cmp);
    if (member_grow((void **)&t->scratch, &t->scratch_capacity, t->nqueue + 1,
                    sizeof(*t->scratch))
        < 0)
        return;
    for (size_t i = 0; i < t->nqueue && head <= budget; i++) {
        struct member_gossip *g = &t->queue[i];
        size_t size = member_wire_update_size(&g->update);
        /* news about the recipient is not news to it, except that it is
         * suspected: then it must hear it, to refute */
        if (g->update.id == dest && g->update.state != MEMBER_SUSPECT
            && g->update.state != MEMBER_DEAD)
            continue;
        if (used + size > budget)
            continue;
        used += size;
        t->scratch[n++] = g->update;
        g->transmits++;
    }
    msg->updates = t->scratch;
    msg->nupdates = n;
    if (member_wire_encode(msg, t->buf, t->tun.max_datagram, &len) < 0)
        return;
    t->stats.updates_sent += n;
    rc = t->ops.send(MEMBER_CHANNEL_DATAGRAM, dest, addr, t->buf, len, t->arg);
    member_count_send(t, MEMBER_CHANNEL_DATAGRAM, len, rc);
    for (size_t i = t->nqueue; i-- > 0;)
        if (t->queue[i].transmits >= limit)
            member_queue_drop(t, i);
}

static void member_send_ping(member_table_t *t,
                             uint32_t seq,
                             uint64_t target,
                             const struct member_addr *addr)
{
    struct member_msg msg = {
        .kind = MEMBER_MSG_PING, .seq = seq, .target = target};

    member_send_datagram(t, &msg, target, addr);
}

/* Send our whole list over a stream: a push-pull or its reply. */
static void member_send_state(member_table_t *t,
                              enum member_msg_kind kind,
                              uint64_t dest,
                              const struct member_addr *addr)
{
    struct member_msg msg = {.kind = kind};
    struct member_update *updates = calloc(t->count, sizeof(*updates));
    size_t size;
    size_t len = 0;
    uint8_t *buf;
    int rc;

    if (!updates)
        return;
    for (size_t i = 0; i < t->count; i++) {
        updates[i] = member_update_of(&t->nodes[i], 0);
        updates[i].has_body = true;
    }
    msg.updates = updates;
    msg.nupdates = t->count;
    size = member_wire_head_size(&msg);
    for (size_t i = 0; i < t->count; i++)
        size += member_wire_update_size(&updates[i]);
    buf = malloc(size);
    if (buf && member_wire_encode(&msg, buf, size, &len) == 0) {
        rc = t->ops.send(MEMBER_CHANNEL_STREAM, dest, addr, buf, len, t->arg);
        member_count_send(t, MEMBER_CHANNEL_STREAM, len, rc);
    }
    free(buf);
    free(updates);
}

static struct member_pending *member_pending_add(member_table_t *t)
{
    /* each entry lives one probe interval; a flood of ping-reqs from a
     * key holder gone wrong must not grow the table without bound */
    if (t->npending >= MEMBER_PENDING_MAX)
        return NULL;
    if (member_grow((void **)&t->pending, &t->pending_capacity, t->npending + 1,
                    sizeof(*t->pending))
        < 0)
        return NULL;
    memset(&t->pending[t->npending], 0, sizeof(*t->pending));
    return &t->pending[t->npending++];
}

static void member_pending_drop(member_table_t *t, size_t i)
{
    t->pending[i] = t->pending[--t->npending];
}

static bool member_body_differs(const struct member_node *n,
                                const struct member_update *u)
{
    return strcmp(n->name, u->name) != 0
           || !member_addr_equal(&n->addr, &u->addr)
           || n->payload_len != u->payload_len
           || (u->payload_len
               && memcmp(n->payload, u->payload, u->payload_len) != 0);
}

static int member_set_body(struct member_node *n,
                           const struct member_update *u,
                           bool *changed)
{
    uint8_t *payload = NULL;

    *changed = member_body_differs(n, u);
    if (!*changed)
        return 0;
    if (u->payload_len) {
        payload = malloc(u->payload_len);
        if (!payload)
            return -ENOMEM;
        memcpy(payload, u->payload, u->payload_len);
    }
    free(n->payload);
    n->payload = payload;
    n->payload_len = u->payload_len;
    memcpy(n->name, u->name, sizeof(n->name));
    n->addr = u->addr;
    return 0;
}

static struct member_node *
member_add(member_table_t *t, const struct member_update *u, uint64_t now_ms)
{
    struct member_node *n;
    bool changed;

    if (member_grow((void **)&t->nodes, &t->capacity, t->count + 1,
                    sizeof(*t->nodes))
        < 0)
        return NULL;
    if (2 * (t->count + 1) > t->nslots) {
        uint32_t *slots = calloc(2 * t->nslots, sizeof(*slots));
        if (!slots)
            return NULL;
        free(t->slots);
        t->slots = slots;
        t->nslots *= 2;
        member_reindex(t);
    }
    n = &t->nodes[t->count];
    memset(n, 0, sizeof(*n));
    n->id = u->id;
    if (member_set_body(n, u, &changed) < 0)
        return NULL;
    n->state = MEMBER_ALIVE;
    n->incarnation = u->incarnation;
    n->since_ms = now_ms;
    /* a random place in the probe order, so that new members are probed
     * soon but not all at once */
    size_t at = member_random_below(t, t->count + 1);
    if (at != t->count) {
        /* the member at `at` moves to the end; find its slot while the
         * index still points at it */
        size_t moved = member_slot(t, t->nodes[at].id);
        struct member_node tmp = t->nodes[at];
        t->nodes[at] = *n;
        t->nodes[t->count] = tmp;
        t->slots[moved] = (uint32_t)(t->count + 1);
        n = &t->nodes[at];
    }
    t->count++;
    t->slots[member_slot(t, n->id)] = (uint32_t)(at + 1);
    return n;
}

/* Raise our incarnation above inc and tell everyone we are alive. */
static void member_refute(member_table_t *t, uint32_t inc)
{
    struct member_node *self = member_self(t);

    if (t->leaving)
        return;
    if (self->incarnation <= inc)
        self->incarnation = inc + 1;
    t->stats.refutations++;
    member_queue(t, self, 0, true);
}

static void member_on_alive(member_table_t *t,
                            const struct member_update *u,
                            uint64_t now_ms)
{
    struct member_node *n;
    enum member_state old;
    bool changed;

    if (u->id == 0)
        return;
    if (u->id == t->self_id) {
        /* Our own news coming back is no news; a higher incarnation, or
         * the same one with another body, is an earlier life of this
         * node (before a restart): outbid it. */
        struct member_node *self = member_self(t);
        if (u->incarnation > self->incarnation
            || (u->incarnation == self->incarnation
                && member_body_differs(self, u)))
            member_refute(t, u->incarnation);
        return;
    }
    n = member_lookup(t, u->id);
    if (!n) {
        n = member_add(t, u, now_ms);
        if (!n)
            return;
        member_queue(t, n, 0, false);
        member_emit(t, MEMBER_EVENT_JOIN, n);
        return;
    }
    if (u->incarnation <= n->incarnation)
        return;
    old = n->state;
    if (member_set_body(n, u, &changed) < 0)
        return;
    n->incarnation = u->incarnation;
    n->state = MEMBER_ALIVE;
    if (old != MEMBER_ALIVE)
        n->since_ms = now_ms;
    member_queue(t, n, 0, !changed || old == MEMBER_SUSPECT);
    if (old == MEMBER_DEAD || old == MEMBER_LEFT)
        member_emit(t, MEMBER_EVENT_JOIN, n);
    else if (old == MEMBER_SUSPECT)
        member_emit(t, MEMBER_EVENT_ALIVE, n);
    if (changed && old != MEMBER_DEAD && old != MEMBER_LEFT)
        member_emit(t, MEMBER_EVENT_UPDATE, n);
}

static void member_on_suspect(member_table_t *t,
                              const struct member_update *u,
                              uint64_t now_ms)
{
    struct member_node *n;

    if (u->id == t->self_id) {
        if (u->incarnation >= member_self(t)->incarnation)
            member_refute(t, u->incarnation);
        return;
    }
    n = member_lookup(t, u->id);
    if (!n || u->incarnation < n->incarnation)
        return;
    if (n->state == MEMBER_ALIVE) {
        n->state = MEMBER_SUSPECT;
        n->incarnation = u->incarnation;
        n->since_ms = now_ms;
        n->suspect_deadline_ms = now_ms + member_suspicion_timeout(t);
        member_queue(t, n, u->from, true);
        member_emit(t, MEMBER_EVENT_SUSPECT, n);
    } else if (n->state == MEMBER_SUSPECT && u->incarnation > n->incarnation) {
        n->incarnation = u->incarnation;
        member_queue(t, n, u->from, true);
    }
}

static void member_on_dead(member_table_t *t,
                           const struct member_update *u,
                           enum member_state state,
                           uint64_t now_ms)
{
    struct member_node *n;

    if (u->id == t->self_id) {
        if (u->incarnation >= member_self(t)->incarnation)
            member_refute(t, u->incarnation);
        return;
    }
    n = member_lookup(t, u->id);
    if (!n || u->incarnation < n->incarnation || n->state == MEMBER_LEFT)
        return;
    if (n->state == MEMBER_DEAD && state == MEMBER_DEAD)
        return;
    n->state = state;
    n->incarnation = u->incarnation;
    n->since_ms = now_ms;
    member_queue(t, n, u->from, true);
    member_emit(
        t, state == MEMBER_LEFT ? MEMBER_EVENT_LEAVE : MEMBER_EVENT_DEAD, n);
}

static void member_apply(member_table_t *t,
                         const struct member_update *u,
                         bool full_state,
                         uint64_t now_ms)
{
    switch (u->state) {
    case MEMBER_ALIVE:
        member_on_alive(t, u, now_ms);
        break;
    case MEMBER_SUSPECT:
        member_on_suspect(t, u, now_ms);
        break;
    case MEMBER_DEAD:
        /* another node's list may be stale: its word that a member is
         * dead only makes us suspect it, as memberlist does, so that a
         * live member gets the chance to refute */
        if (full_state)
            member_on_suspect(t, u, now_ms);
        else
            member_on_dead(t, u, MEMBER_DEAD, now_ms);
        break;
    case MEMBER_LEFT:
        member_on_dead(t, u, MEMBER_LEFT, now_ms);
        break;
    }
}

static void member_on_ack(member_table_t *t, uint32_t seq)
{
    for (size_t i = 0; i < t->npending; i++) {
        struct member_pending *p = &t->pending[i];
        if (p->seq != seq)
            continue;
        if (p->kind == MEMBER_PENDING_PROBE) {
            if (t->probe.active && t->probe.seq == seq)
                t->probe.acked = true;
        } else {
            struct member_msg ack = {.kind = MEMBER_MSG_ACK,
                                     .seq = p->requester_seq};
            struct member_addr addr = p->requester_addr;
            uint64_t requester = p->requester;
            member_pending_drop(t, i);
            member_send_datagram(t, &ack, requester, &addr);
            return;
        }
        member_pending_drop(t, i);
        return;
    }
}

static bool member_is_known_live(const member_table_t *t, uint64_t id)
{
    const struct member_node *n = member_lookup(t, id);

    return n && (n->state == MEMBER_ALIVE || n->state == MEMBER_SUSPECT);
}

int member_table_input(member_table_t *t,
                       enum member_channel channel,
                       uint64_t from,
                       const struct member_addr *addr,
                       const void *buf,
                       size_t len,
                       uint64_t now_ms,
                       shoal_error_t *error)
{
    struct member_msg msg;
    bool full;
    int rc = member_wire_decode(buf, len, &msg, error);

    if (rc < 0) {
        if (rc == SHOAL_EPROTO)
            t->stats.malformed++;
        return rc;
    }
    t->stats.received++;
    full = msg.kind == MEMBER_MSG_PUSH_PULL
           || msg.kind == MEMBER_MSG_PUSH_PULL_REPLY;
    for (size_t i = 0; i < msg.nupdates; i++)
        member_apply(t, &msg.updates[i], full, now_ms);
    /* A datagram from a member we do not know, or believe dead or gone,
     * means gossip missed its arrival or its refutation: swap lists with
     * it now instead of waiting for a push-pull to pick it (it refutes
     * whatever we say of it). At most one such
     * swap per five probe intervals: during a join storm many senders
     * are briefly unknown, and gossip will tell us of most of them. */
    if (channel == MEMBER_CHANNEL_DATAGRAM && from != 0 && from != t->self_id
        && !member_is_known_live(t, from) && now_ms >= t->next_intro_ms) {
        t->next_intro_ms = now_ms + 5 * (uint64_t)t->tun.probe_interval_ms;
        member_send_state(t, MEMBER_MSG_PUSH_PULL, from, addr);
    }

    switch (msg.kind) {
    case MEMBER_MSG_PING:
        if (msg.target != t->self_id) {
            t->stats.misdirected++;
            break;
        }
        {
            struct member_msg ack = {.kind = MEMBER_MSG_ACK, .seq = msg.seq};
            member_send_datagram(t, &ack, from, addr);
        }
        break;
    case MEMBER_MSG_ACK:
        member_on_ack(t, msg.seq);
        break;
    case MEMBER_MSG_PING_REQ: {
        struct member_pending *p;
        if (msg.target == t->self_id || msg.target_addr.family == 0)
            break;
        p = member_pending_add(t);
        if (!p)
            break;
        p->kind = MEMBER_PENDING_FORWARD;
        p->seq = t->next_seq++;
        p->deadline_ms = now_ms + t->tun.probe_interval_ms;
        p->requester = from;
        p->requester_addr = *addr;
        p->requester_seq = msg.seq;
        member_send_ping(t, p->seq, msg.target, &msg.target_addr);
        break;
    }
    case MEMBER_MSG_PUSH_PULL:
        member_send_state(t, MEMBER_MSG_PUSH_PULL_REPLY, from, addr);
        break;
    case MEMBER_MSG_GOSSIP:
    case MEMBER_MSG_PUSH_PULL_REPLY:
        break;
    }
    member_msg_release(&msg);
    return 0;
}

static bool member_probeable(const member_table_t *t,
                             const struct member_node *n)
{
    return n->id != t->self_id
           && (n->state == MEMBER_ALIVE || n->state == MEMBER_SUSPECT);
}

static void member_shuffle(member_table_t *t)
{
    for (size_t i = t->count; i > 1; i--) {
        size_t j = member_random_below(t, i);
        struct member_node tmp = t->nodes[i - 1];
        t->nodes[i - 1] = t->nodes[j];
        t->nodes[j] = tmp;
    }
    member_reindex(t);
}

/* The probe of this interval got no ack: suspect its target. */
static void member_probe_failed(member_table_t *t, uint64_t now_ms)
{
    struct member_node *n = member_lookup(t, t->probe.target);
    struct member_update u;

    if (!n || n->state != MEMBER_ALIVE)
        return;
    u = member_update_of(n, t->self_id);
    u.state = MEMBER_SUSPECT;
    u.from = t->self_id;
    t->stats.suspicions++;
    member_on_suspect(t, &u, now_ms);
}

static void member_probe_start(member_table_t *t, uint64_t now_ms)
{
    struct member_pending *p;
    struct member_node *n = NULL;

    for (size_t tries = 0; tries < t->count; tries++) {
        if (t->probe_index >= t->count) {
            t->probe_index = 0;
            member_shuffle(t);
        }
        struct member_node *c = &t->nodes[t->probe_index++];
        if (member_probeable(t, c)) {
            n = c;
            break;
        }
    }
    t->probe.active = false;
    if (!n)
        return;
    p = member_pending_add(t);
    if (!p)
        return;
    p->kind = MEMBER_PENDING_PROBE;
    p->seq = t->next_seq++;
    p->deadline_ms = now_ms + t->tun.probe_interval_ms;
    t->probe = (struct member_probe){
        .active = true, .target = n->id, .seq = p->seq, .start_ms = now_ms};
    t->stats.probes++;
    member_send_ping(t, p->seq, n->id, &n->addr);
}

/* Pick up to k distinct random members that pass keep(); returns how
 * many were put in out. Reservoir sampling over the table: O(n). */
static size_t member_pick(member_table_t *t,
                          size_t k,
                          uint64_t exclude,
                          bool (*keep)(const struct member_node *),
                          size_t *out)
{
    size_t seen = 0;
    size_t n = 0;

    for (size_t i = 0; i < t->count; i++) {
        const struct member_node *c = &t->nodes[i];
        if (c->id == t->self_id || c->id == exclude || !keep(c))
            continue;
        seen++;
        if (n < k) {
            out[n++] = i;
        } else {
            size_t j = member_random_below(t, seen);
            if (j < k)
                out[j] = i;
        }
    }
    return n;
}

static bool member_is_alive(const struct member_node *n)
{
    return n->state == MEMBER_ALIVE;
}

static bool member_is_live(const struct member_node *n)
{
    return n->state == MEMBER_ALIVE || n->state == MEMBER_SUSPECT;
}

static bool member_is_dead(const struct member_node *n)
{
    return n->state == MEMBER_DEAD;
}

static void member_probe_indirect(member_table_t *t)
{
    struct member_node *target = member_lookup(t, t->probe.target);
    size_t picks[16];
    size_t k = t->tun.indirect_checks < 16 ? t->tun.indirect_checks : 16;
    size_t n;

    t->probe.indirect_sent = true;
    if (!target)
        return;
    n = member_pick(t, k, target->id, member_is_alive, picks);
    for (size_t i = 0; i < n; i++) {
        const struct member_node *via = &t->nodes[picks[i]];
        struct member_msg req = {
            .kind = MEMBER_MSG_PING_REQ,
            .seq = t->probe.seq,
            .target = target->id,
            .target_addr = target->addr,
        };
        struct member_addr addr = via->addr;
        t->stats.indirect_probes++;
        member_send_datagram(t, &req, via->id, &addr);
    }
}

static void member_gossip_round(member_table_t *t, size_t fanout)
{
    size_t picks[64];
    size_t n;

    if (t->nqueue == 0)
        return;
    if (fanout > 64)
        fanout = 64;
    n = member_pick(t, fanout, 0, member_is_live, picks);
    /* copy the addresses first: sending may reorder the queue, not the
     * table, but keep the two independent */
    struct member_addr addrs[64];
    uint64_t ids[64];
    for (size_t i = 0; i < n; i++) {
        addrs[i] = t->nodes[picks[i]].addr;
        ids[i] = t->nodes[picks[i]].id;
    }
    for (size_t i = 0; i < n && t->nqueue > 0; i++) {
        struct member_msg msg = {.kind = MEMBER_MSG_GOSSIP};
        member_send_datagram(t, &msg, ids[i], &addrs[i]);
    }
}

static void member_push_pull_one(member_table_t *t,
                                 bool (*keep)(const struct member_node *))
{
    size_t pick;

    if (member_pick(t, 1, 0, keep, &pick) == 1) {
        struct member_addr addr = t->nodes[pick].addr;
        member_send_state(t, MEMBER_MSG_PUSH_PULL, t->nodes[pick].id, &addr);
    }
}

static void member_reap(member_table_t *t, uint64_t now_ms)
{
    bool removed = false;

    for (size_t i = t->count; i-- > 0;) {
        struct member_node *n = &t->nodes[i];
        /* never this node: after leaving it still answers, and a
         * table without itself has nothing to refute with */
        if ((n->state != MEMBER_DEAD && n->state != MEMBER_LEFT)
            || n->id == t->self_id || now_ms < n->since_ms + t->tun.reclaim_ms)
            continue;
        member_emit(t, MEMBER_EVENT_REAP, n);
        for (size_t q = 0; q < t->nqueue; q++) {
            if (t->queue[q].update.id == n->id) {
                member_queue_drop(t, q);
                break;
            }
        }
        free(n->payload);
        t->nodes[i] = t->nodes[--t->count];
        removed = true;
    }
    if (removed) {
        member_reindex(t);
        if (t->probe_index > t->count)
            t->probe_index = t->count;
    }
}

static void member_start(member_table_t *t, uint64_t now_ms)
{
    /* random phases, so that nodes started together do not probe and
     * gossip in lockstep */
    t->started = true;
    t->next_probe_ms =
        now_ms + member_random_below(t, t->tun.probe_interval_ms);
    t->next_gossip_ms =
        now_ms + member_random_below(t, t->tun.gossip_interval_ms);
    t->next_push_pull_ms =
        now_ms + t->tun.push_pull_interval_ms / 2
        + member_random_below(t, t->tun.push_pull_interval_ms / 2 + 1);
    t->next_reconnect_ms =
        now_ms + t->tun.reconnect_interval_ms / 2
        + member_random_below(t, t->tun.reconnect_interval_ms / 2 + 1);
}

void member_table_tick(member_table_t *t, uint64_t now_ms)
{
    if (!t->started)
        member_start(t, now_ms);

    for (size_t i = t->npending; i-- > 0;)
        if (t->pending[i].deadline_ms <= now_ms)
            member_pending_drop(t, i);

    if (t->probe.active && !t->probe.acked && !t->probe.indirect_sent
        && now_ms >= t->probe.start_ms + t->tun.probe_timeout_ms)
        member_probe_indirect(t);
    if (now_ms >= t->next_probe_ms) {
        if (t->probe.active && !t->probe.acked)
            member_probe_failed(t, now_ms);
        t->probe.active = false;
        if (!t->leaving)
            member_probe_start(t, now_ms);
        t->next_probe_ms = now_ms + t->tun.probe_interval_ms;
    }

    for (size_t i = 0; i < t->count; i++) {
        struct member_node *n = &t->nodes[i];
        if (n->state != MEMBER_SUSPECT || n->suspect_deadline_ms > now_ms)
            continue;
        struct member_update u = member_update_of(n, t->self_id);
        u.state = MEMBER_DEAD;
        member_on_dead(t, &u, MEMBER_DEAD, now_ms);
    }

    if (now_ms >= t->next_gossip_ms) {
        member_gossip_round(t, t->tun.gossip_fanout);
        t->next_gossip_ms = now_ms + t->tun.gossip_interval_ms;
    }
    if (now_ms >= t->next_push_pull_ms) {
        if (!t->leaving)
            member_push_pull_one(t, member_is_alive);
        t->next_push_pull_ms = now_ms + t->tun.push_pull_interval_ms;
    }
    if (t->tun.reconnect_interval_ms && now_ms >= t->next_reconnect_ms) {
        if (!t->leaving)
            member_push_pull_one(t, member_is_dead);
        t->next_reconnect_ms = now_ms + t->tun.reconnect_interval_ms;
    }
    member_reap(t, now_ms);
}

static uint64_t member_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t member_table_next_deadline(const member_table_t *t)
{
    uint64_t next;

    if (!t->started)
        return 0;
    next = member_min(t->next_probe_ms, t->next_gossip_ms);
    next = member_min(next, t->next_push_pull_ms);
    if (t->tun.reconnect_interval_ms)
        next = member_min(next, t->next_reconnect_ms);
    if (t->probe.active && !t->probe.acked && !t->probe.indirect_sent)
        next = member_min(next, t->probe.start_ms + t->tun.probe_timeout_ms);
    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].state == MEMBER_SUSPECT)
            next = member_min(next, t->nodes[i].suspect_deadline_ms);
    return next;
}

int member_table_join(member_table_t *t,
                      const struct member_addr *seeds,
                      size_t nseeds,
                      uint64_t now_ms)
{
    if (!t->started)
        member_start(t, now_ms);
    /* the seeds spread our arrival, and so do we, to whoever we learn of:
     * two sources make it far less likely that a member misses it */
    member_queue(t, member_self(t), 0, false);
    for (size_t i = 0; i < nseeds; i++)
        member_send_state(t, MEMBER_MSG_PUSH_PULL, 0, &seeds[i]);
    return 0;
}

void member_table_leave(member_table_t *t, uint64_t now_ms)
{
    struct member_node *self = member_self(t);

    (void)now_ms;
    if (t->leaving)
        return;
    t->leaving = true;
    self->state = MEMBER_LEFT;
    self->since_ms = now_ms;
    t->probe.active = false;
    member_queue(t, self, 0, true);
    member_gossip_round(t, 2 * t->tun.gossip_fanout);
}

int member_table_set_payload(member_table_t *t,
                             const void *payload,
                             size_t len,
                             uint64_t now_ms)
{
    struct member_node *self = member_self(t);
    uint8_t *copy = NULL;

    (void)now_ms;
    if (len > MEMBER_PAYLOAD_MAX)
        return -EINVAL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, payload, len);
    }
    free(self->payload);
    self->payload = copy;
    self->payload_len = (uint16_t)len;
    if (!t->leaving) {
        self->incarnation++;
        member_queue(t, self, 0, false);
    }
    return 0;
}

int member_table_create(const struct member_config *config,
                        const struct member_ops *ops,
                        void *arg,
                        member_table_t **out,
                        shoal_error_t *error)
{
    const struct member_tunables *tun = &config->tunables;
    struct member_update self = {
        .id = config->id,
        .incarnation = config->incarnation,
        .state = MEMBER_ALIVE,
        .has_body = true,
        .addr = config->addr,
        .payload = config->payload,
        .payload_len = (uint16_t)config->payload_len,
    };
    member_table_t *t;

    if (config->id == 0)
        return shoal_errprintf(error, -EINVAL, "member id 0 is reserved");
    if (!ops || !ops->send)
        return shoal_errprintf(error, -EINVAL, "no send operation");
    if (config->name && strlen(config->name) > MEMBER_NAME_MAX)
        return shoal_errprintf(error, -EINVAL,
                               "member name '%s' is longer than %d characters",
                               config->name, (int)MEMBER_NAME_MAX);
    if (config->payload_len > MEMBER_PAYLOAD_MAX)
        return shoal_errprintf(error, -EINVAL,
                               "member payload of %zu bytes (at most %d)",
                               config->payload_len, (int)MEMBER_PAYLOAD_MAX);
    if (tun->probe_interval_ms == 0 || tun->probe_timeout_ms == 0
        || tun->gossip_interval_ms == 0 || tun->push_pull_interval_ms == 0
        || tun->retransmit_mult == 0 || tun->gossip_fanout == 0
        || tun->max_datagram < 256)
        return shoal_errprintf(error, -EINVAL,
                               "membership tunables must not be zero (set "
                               "them with member_tunables_default())");
    if (config->name)
        snprintf(self.name, sizeof(self.name), "%s", config->name);

    t = calloc(1, sizeof(*t));
    if (!t)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    t->tun = *tun;
    t->ops = *ops;
    t->arg = arg;
    t->self_id = config->id;
    t->rng = config->seed ? config->seed : config->id ^ 0x9e3779b97f4a7c15ULL;
    if (t->rng == 0)
        t->rng = 1;
    t->next_seq = (uint32_t)member_random(t);
    t->nslots = 16;
    t->slots = calloc(t->nslots, sizeof(*t->slots));
    t->buf = malloc(tun->max_datagram);
    if (!t->slots || !t->buf || !member_add(t, &self, config->now_ms)) {
        member_table_destroy(t);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    *out = t;
    return 0;
}

void member_table_destroy(member_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        free(t->nodes[i].payload);
    while (t->nqueue > 0)
        member_queue_drop(t, t->nqueue - 1);
    free(t->nodes);
    free(t->slots);
    free(t->queue);
    free(t->pending);
    free(t->scratch);
    free(t->buf);
    free(t);
}

size_t member_table_size(const member_table_t *t)
{
    return t->count;
}

size_t member_table_count(const member_table_t *t, enum member_state state)
{
    size_t n = 0;

    for (size_t i = 0; i < t->count; i++)
        if (t->nodes[i].state == state)
            n++;
    return n;
}

int member_table_at(const member_table_t *t,
                    size_t index,
                    struct member_info *info)
{
    if (index >= t->count)
        return -ERANGE;
    member_info_fill(t, &t->nodes[index], info);
    return 0;
}

int member_table_find(const member_table_t *t,
                      uint64_t id,
                      struct member_info *info)
{
    const struct member_node *n = member_lookup(t, id);

    if (!n)
        return -ENOENT;
    member_info_fill(t, n, info);
    return 0;
}

void member_table_get_stats(const member_table_t *t, struct member_stats *stats)
{
    *stats = t->stats;
}
