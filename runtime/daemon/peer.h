/* SPDX-License-Identifier: MIT */
/* peer.h - the sealed transport between daemons.
 *
 * One UDP socket and one TCP listener on the same address and port carry
 * every message between daemons, each sealed with util/seal.h:
 *
 * - a datagram is one sealed message (membership probes, discovery);
 * - a stream is a TCP connection carrying frames, each a u32 big-endian
 *   length and a sealed message of at most PEER_FRAME_MAX bytes. One
 *   outgoing connection per destination address is opened on demand,
 *   kept, and opened again on the next send after an error; an incoming
 *   connection may carry answers back (a push-pull reply goes out on the
 *   connection that brought the push-pull).
 *
 * Messages are dispatched by the seal header's type to the handler
 * registered for it. A message to this node itself goes through the loop,
 * never re-entrantly. Whatever is refused is counted by reason (the
 * seal's, plus those of peer_drop) and has no other effect: a connection
 * that carries a frame that cannot be opened, or a frame length out of
 * bounds, is closed; a connection whose peer does not read is bounded by
 * PEER_QUEUE_MAX bytes, past which sends to it fail.
 *
 * Strangers cost little. Whoever opens a stream first sends a hello, a
 * sealed message of PEER_HELLO_MAX bytes at most; until one arrives the
 * accepting side takes no longer frame, so a connection that never proves
 * the pool key holds at most that much memory. A connection that has not
 * proven the key within PEER_HELLO_TIMEOUT_MS, or leaves a frame unfinished
 * for PEER_STALL_MS, is closed; unproven connections are capped per source
 * address and in all, and every connection in all (PEER_UNPROVEN_*,
 * PEER_CONNS_MAX). Failures to open a message are logged (subsystem
 * "peer", one line per 10 s at most) with the sender's address, and so is
 * a connection of ours closed before any answer: a daemon given another
 * pool's key is seen on both sides.
 *
 * UDP is read with a plain non-blocking socket under a uv_poll_t, so that
 * the owner can drain it with peer_drain() from a timer callback: libuv
 * runs timers before polling, and a daemon starved of CPU must see the
 * acks waiting in its socket before its probe timers conclude none came.
 *
 * Not thread-safe: everything runs on the loop's thread. */
#ifndef SHOAL_RUNTIME_DAEMON_PEER_H
#define SHOAL_RUNTIME_DAEMON_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <shoal/error.h>

#include "runtime/member/member_wire.h"
#include "util/seal.h"

enum peer_limit {
    /* bytes of a sealed stream message */
    PEER_FRAME_MAX = 8 << 20,
    /* bytes of a sealed datagram */
    PEER_DATAGRAM_MAX = 65507,
    /* bytes waiting to be written on one connection */
    PEER_QUEUE_MAX = 16 << 20,
    /* A connection a stranger opened proves the pool key before it may
     * send anything large: its first frame is the opener's hello, at most
     * this long, due within PEER_HELLO_TIMEOUT_MS. */
    PEER_HELLO_MAX = 128,
    PEER_HELLO_TIMEOUT_MS = 5000,
    /* a frame begun and not finished for this long closes its connection */
    PEER_STALL_MS = 60000,
    /* connections not yet proven, from one address and in all */
    PEER_UNPROVEN_PER_ADDR = 8,
    PEER_UNPROVEN_MAX = 64,
    /* every connection, proven or not */
    PEER_CONNS_MAX = 4096,
};

/* The seal type of the hello that opens every stream: below the daemon's
 * own types (DAEMON_FRAME_FIRST), never handed to a handler. */
enum { PEER_TYPE_HELLO = 15 };

/* Refusals of the transport itself, beyond the seal's. */
#define PEER_DROP_TABLE(X)                                                     \
    X(PEER_DROP_OVERSIZED, "oversized")   /* longer than the limit */          \
    X(PEER_DROP_MALFORMED, "malformed")   /* framing, or body undecodable */   \
    X(PEER_DROP_QUEUE_FULL, "queue-full") /* peer not reading: send refused */ \
    X(PEER_DROP_UNHANDLED, "unhandled")   /* no handler for its type */        \
    X(PEER_DROP_CONN_LIMIT, "conn-limit") /* too many connections */           \
    X(PEER_DROP_HELLO_TIMEOUT, "hello-timeout") /* no key proven in time */    \
    X(PEER_DROP_STALLED, "stalled")             /* a frame left unfinished */

enum peer_drop {
#define PEER_DROP_ENUM(name, text) name,
    PEER_DROP_TABLE(PEER_DROP_ENUM)
#undef PEER_DROP_ENUM
        PEER_DROP_COUNT
};

typedef struct peer peer_t;

enum peer_channel {
    PEER_CHANNEL_DATAGRAM,
    PEER_CHANNEL_STREAM,
    PEER_CHANNEL_LOCAL, /* sent by this node to itself */
};

/* A message that arrived. Pointers are borrowed for the handler's call. */
struct peer_message {
    enum peer_channel channel;
    uint8_t type;
    uint64_t sender; /* authenticated by the seal */
    uint64_t dest;   /* this node, or 0 */
    /* the datagram's source, or the connection's remote address */
    const struct member_addr *addr;
    const void *body;
    size_t len;
};

typedef void
peer_handler_f(peer_t *peer, const struct peer_message *msg, void *arg);

struct peer_config {
    uv_loop_t *loop;
    seal_t *seal; /* borrowed; must outlive the peer */
    uint64_t node_id;
    struct member_addr listen; /* IPv4 or IPv6 address and port */
};

struct peer_stats {
    uint64_t datagrams_sent;
    uint64_t datagrams_received;
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t send_errors;
    uint64_t connects;       /* outgoing connections opened */
    uint64_t connect_errors; /* ... that failed */
    uint64_t accepted;
    uint64_t disconnected; /* connections closed for a bad frame */
    /* our connections the other side closed before answering anything:
     * what a daemon with another pool key does */
    uint64_t unanswered;
    uint64_t dropped[PEER_DROP_COUNT];
    struct seal_stats seal;
};

/* Bind the UDP socket and the TCP listener to config->listen and start
 * receiving. Port 0 is refused (peers must know the port). Returns 0 and
 * sets *out, or a negative errno (-EADDRINUSE, -EADDRNOTAVAIL, ...) with
 * error (may be NULL) naming the address. */
int peer_create(const struct peer_config *config,
                peer_t **out,
                shoal_error_t *error);

/* Close every socket and free the peer once the loop has run the close
 * callbacks; NULL is accepted. Messages not yet sent are lost. */
void peer_destroy(peer_t *peer);

/* Deliver messages of types first..last to fn. A later registration of a
 * type replaces the earlier one. Returns 0 or -EINVAL (first > last). */
int peer_on(
    peer_t *peer, uint8_t first, uint8_t last, peer_handler_f *fn, void *arg);

/* Seal len bytes of body as one datagram of the given type for node dest
 * (0: unknown) and send it to addr. Returns 0, -EMSGSIZE, or the errno of
 * sendto (counted; a datagram may be lost anyway). */
int peer_send_datagram(peer_t *peer,
                       const struct member_addr *addr,
                       uint64_t dest,
                       uint8_t type,
                       const void *body,
                       size_t len);

/* Seal body as a frame for node dest (0: unknown) and queue it on the
 * connection to addr: an incoming connection from addr if there is one,
 * else the outgoing one, opened now if needed. Frames to one address
 * arrive in order, unless the connection breaks. dest equal to this
 * node's id delivers through the loop (PEER_CHANNEL_LOCAL). Returns 0,
 * -EMSGSIZE (longer than PEER_FRAME_MAX), -ENOBUFS (queue full,
 * counted), or a negative errno of libuv. */
int peer_send_stream(peer_t *peer,
                     const struct member_addr *addr,
                     uint64_t dest,
                     uint8_t type,
                     const void *body,
                     size_t len);

/* Read and dispatch every datagram waiting in the UDP socket now. */
void peer_drain(peer_t *peer);

/* Count a message whose body a handler could not use. */
void peer_count_drop(peer_t *peer, enum peer_drop why);

/* Copy the counters, the seal's included, into *stats. */
void peer_get_stats(const peer_t *peer, struct peer_stats *stats);

/* Name of a drop reason, e.g. "oversized"; "unknown" out of range. */
const char *peer_drop_name(enum peer_drop why);

/* Convert between member_addr and sockaddr. Return 0 or -EAFNOSUPPORT. */
int peer_addr_to_sockaddr(const struct member_addr *addr,
                          struct sockaddr_storage *ss);
int peer_addr_from_sockaddr(const struct sockaddr *sa,
                            struct member_addr *addr);

/* Parse "192.0.2.1:7911", "[2001:db8::1]:7911", "host:port" is not
 * resolved: numeric addresses only. A missing port gets default_port.
 * Returns 0 or -EINVAL. */
int peer_addr_parse(const char *text,
                    uint16_t default_port,
                    struct member_addr *addr);

#endif
