/* SPDX-License-Identifier: MIT */
/* member.h - SWIM membership as a pure state machine.
 *
 * A member_table is one node's view of the pool, kept current by the SWIM
 * protocol (Das, Gupta, Motivala 2002) with the refinements memberlist and
 * Serf made well known:
 *
 * - every probe interval the node pings one member, in a randomized
 *   round-robin order; with no ack within the probe timeout it asks k
 *   other members to ping it (ping-req), and with no ack, direct or
 *   relayed, by the end of the interval it declares the member suspect;
 * - a suspect that does not refute within the suspicion timeout is
 *   declared dead; a member refutes by raising its incarnation number,
 *   which only it may do, so the newest news about a member always wins;
 * - news (alive, suspect, dead, left) rides on every datagram and on a
 *   few gossip datagrams per interval, each item about log(n) times;
 * - every push-pull interval the node swaps its whole list with a random
 *   member over a stream, which repairs whatever gossip missed, and every
 *   reconnect interval it tries a member it believes dead, which heals a
 *   partition once the network does; a datagram from a member unknown
 *   to it, or believed dead, makes it swap lists with that member at once;
 * - dead and departed members are forgotten after the reclaim time.
 *
 * The table does no I/O and reads no clock. The owner passes the time in
 * milliseconds to every call (any monotonic clock), feeds it the messages
 * that arrive, calls member_table_tick() by member_table_next_deadline(),
 * and gets the messages to send through ops->send. Messages are not
 * sealed here: the owner seals them (util/seal.h) and passes the
 * authenticated sender's id to member_table_input(). When input and a
 * deadline are both due, feed the input first: a daemon that was starved
 * of CPU must see the acks waiting in its socket before its probe timers
 * conclude that none came (libuv runs timers before polling, so drain
 * the socket in the timer callback). Not thread-safe: one thread drives
 * a table. Callbacks must not call back into the table. */
#ifndef SHOAL_RUNTIME_MEMBER_MEMBER_H
#define SHOAL_RUNTIME_MEMBER_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

#include "runtime/member/member_wire.h"

typedef struct member_table member_table_t;

/* Timings and sizes of the protocol. member_tunables_default() gives
 * values aimed at declaring a lost node dead within 2 s on a LAN of up to
 * about 64 nodes, with no false declaration when every CPU is busy:
 *
 * - probe_interval 200 ms and probe_timeout 100 ms: a round trip on a LAN
 *   is well under a millisecond, so 100 ms leaves room for a daemon that
 *   competes with a full load of compute ranks (the scheduler wakes a
 *   sleeping daemon within a few ms) and for indirect probes to finish
 *   within the interval;
 * - a failed probe only raises a suspicion; the member is declared dead
 *   after suspicion_timeout x max(1, log10 n) (800 ms for up to 10
 *   members, 1.45 s for 64), which must cover the suspicion reaching the
 *   member and its refutation coming back, both of which take about
 *   log(n) gossip rounds: a daemon stalled for less than that is never
 *   declared dead, and first detection takes about one probe interval
 *   to reach the lost node, one to fail, and the suspicion timeout;
 * - gossip every 100 ms to 3 members, each item retransmitted
 *   4 x ceil(log10(n + 1)) times: news reaches 256 nodes in about six
 *   rounds, and a datagram carries at most max_datagram bytes, which
 *   with the seal's overhead stays under a 1500-byte Ethernet MTU. */
struct member_tunables {
    uint32_t probe_interval_ms;
    uint32_t probe_timeout_ms;
    uint32_t indirect_checks;      /* k members asked to ping-req */
    uint32_t suspicion_timeout_ms; /* scaled by max(1, log10 n) */
    uint32_t retransmit_mult;      /* times ceil(log10(n + 1)) */
    uint32_t gossip_interval_ms;
    uint32_t gossip_fanout;
    uint32_t push_pull_interval_ms;
    uint32_t reconnect_interval_ms; /* 0: never try dead members */
    uint32_t reclaim_ms;            /* forget dead and left members */
    uint32_t max_datagram;          /* bytes of an encoded datagram */
};

/* Fill *tunables with the defaults described above. */
void member_tunables_default(struct member_tunables *tunables);

struct member_config {
    uint64_t id;             /* this node; unique in the pool, not 0 */
    const char *name;        /* copied; at most MEMBER_NAME_MAX chars */
    struct member_addr addr; /* where peers reach this node */
    /* The incarnation to start with. A restarted node may start at 0: if
     * the pool remembers it with a higher one, it refutes, and others see
     * it come back. */
    uint32_t incarnation;
    const void *payload; /* copied; at most MEMBER_PAYLOAD_MAX bytes */
    size_t payload_len;
    uint64_t seed; /* for the random choices; 0: derived from id */
    /* The time of creation, in the clock later calls pass as now_ms: this
     * node has been alive since then (its since_ms). */
    uint64_t now_ms;
    struct member_tunables tunables;
};

/* A snapshot of one member. Pointers are borrowed: valid until the next
 * call into the table. */
struct member_info {
    uint64_t id;
    const char *name;
    struct member_addr addr;
    enum member_state state;
    uint32_t incarnation;
    const void *payload;
    size_t payload_len;
    uint64_t since_ms; /* when it entered its state */
    bool self;
};

enum member_event_kind {
    MEMBER_EVENT_JOIN,    /* new, or back after dead or left */
    MEMBER_EVENT_SUSPECT, /* alive -> suspect */
    MEMBER_EVENT_ALIVE,   /* suspect -> alive: it refuted */
    MEMBER_EVENT_DEAD,
    MEMBER_EVENT_LEAVE,  /* it left gracefully */
    MEMBER_EVENT_UPDATE, /* name, address or payload changed */
    MEMBER_EVENT_REAP,   /* dead or left long enough: forgotten */
};

/* How a message must travel. Datagrams are at most max_datagram bytes
 * and may be lost; stream messages (push-pull) are unbounded and must
 * arrive whole, or not at all. */
enum member_channel {
    MEMBER_CHANNEL_DATAGRAM,
    MEMBER_CHANNEL_STREAM,
};

struct member_ops {
    /* Send len bytes to the member dest (0 when only its address is
     * known) at addr. For the answer to a push-pull, addr is the address
     * given to member_table_input(), so that the owner can answer on the
     * connection that brought it. buf is borrowed for the call. The
     * result is counted, not acted upon: SWIM treats a failed send as a
     * lost message. Required. */
    int (*send)(enum member_channel channel,
                uint64_t dest,
                const struct member_addr *addr,
                const void *buf,
                size_t len,
                void *arg);
    /* Something happened to a member other than this node. Optional. */
    void (*event)(enum member_event_kind kind,
                  const struct member_info *member,
                  void *arg);
};

struct member_stats {
    uint64_t datagrams_sent;
    uint64_t streams_sent;
    uint64_t bytes_sent;
    uint64_t send_errors;
    uint64_t received;
    uint64_t malformed;   /* refused by the decoder */
    uint64_t misdirected; /* pings for another node id */
    uint64_t probes;
    uint64_t indirect_probes; /* ping-reqs sent */
    uint64_t suspicions;      /* raised by this node's probes */
    uint64_t refutations;     /* of suspicions about this node */
    uint64_t updates_sent;    /* piggybacked or gossiped */
};

/* Create a table holding only this node, alive. Returns 0 and sets *out,
 * or -EINVAL (id 0, name or payload too long, zero intervals, ops->send
 * missing) or -ENOMEM, with error (may be NULL) filled. The caller
 * destroys it. */
int member_table_create(const struct member_config *config,
                        const struct member_ops *ops,
                        void *arg,
                        member_table_t **out,
                        shoal_error_t *error);

/* Destroy table; NULL is accepted. Sends nothing: leave first. */
void member_table_destroy(member_table_t *table);

/* Run the timers due at now_ms: probes, suspicion timeouts, gossip,
 * push-pull, reconnects, reclaims. Call it at member_table_next_deadline()
 * or later; calling it early is harmless. */
void member_table_tick(member_table_t *table, uint64_t now_ms);

/* The time at which member_table_tick() next has work to do. */
uint64_t member_table_next_deadline(const member_table_t *table);

/* Handle a message that arrived from the member with id from (as the seal
 * authenticated it) at address addr, over the given channel. Answers go
 * out through ops->send before this returns. Returns 0, or SHOAL_EPROTO
 * for a message that cannot be decoded (counted, with error filled; the
 * table is unchanged), or -ENOMEM. */
int member_table_input(member_table_t *table,
                       enum member_channel channel,
                       uint64_t from,
                       const struct member_addr *addr,
                       const void *buf,
                       size_t len,
                       uint64_t now_ms,
                       shoal_error_t *error);

/* Join a pool through the members at seeds[0..nseeds-1] (their ids need
 * not be known): send each a push-pull, whose answer brings the pool's
 * list. Call again to retry. Returns 0 or -ENOMEM. */
int member_table_join(member_table_t *table,
                      const struct member_addr *seeds,
                      size_t nseeds,
                      uint64_t now_ms);

/* Leave the pool: tell 2 x gossip_fanout members at once, and keep the
 * news in the gossip that follows. The owner should keep ticking for a
 * few gossip intervals before destroying the table. After this the node
 * probes no one and refutes nothing. */
void member_table_leave(member_table_t *table, uint64_t now_ms);

/* Replace this node's payload (copied) and tell the pool. Returns 0,
 * -EINVAL (longer than MEMBER_PAYLOAD_MAX) or -ENOMEM. */
int member_table_set_payload(member_table_t *table,
                             const void *payload,
                             size_t len,
                             uint64_t now_ms);

/* Number of members known, this node and dead or left ones included. */
size_t member_table_size(const member_table_t *table);

/* Number of members in state. */
size_t member_table_count(const member_table_t *table, enum member_state state);

/* Fill *info with the member at index (0 <= index < size; the order is
 * arbitrary and changes as the table runs). Returns 0 or -ERANGE. */
int member_table_at(const member_table_t *table,
                    size_t index,
                    struct member_info *info);

/* Fill *info with the member id. Returns 0 or -ENOENT. */
int member_table_find(const member_table_t *table,
                      uint64_t id,
                      struct member_info *info);

/* Copy the counters into *stats. */
void member_table_get_stats(const member_table_t *table,
                            struct member_stats *stats);

/* Name of an event kind: "join", "suspect", ... */
const char *member_event_name(enum member_event_kind kind);

#endif
