/* SPDX-License-Identifier: MIT */
/* member_wire.h - the membership messages and their binary encoding.
 *
 * A message is a head (kind and the fields of that kind) followed by a
 * list of updates, each the news about one member: for a ping, ack or
 * ping-req the updates ride along (SWIM's piggybacking); a push-pull
 * carries the sender's whole member list. Encoding is big-endian with
 * explicit lengths:
 *
 *   u8 version (1), u8 kind
 *   ping:     u32 seq, u64 target id
 *   ack:      u32 seq
 *   ping-req: u32 seq, u64 target id, addr
 *   u32 update count, then per update:
 *     u8 state (bit 7: a body follows), u64 id, u32 incarnation, u64 from
 *     body: u8 name length, name, addr, u16 payload length, payload
 *   addr: u8 family (0 none, 4, 6), 0/4/16 address bytes, u16 port
 *
 * The decoder trusts nothing: every length is checked against what is
 * left, counts are bounded by the bytes that could hold them, and trailing
 * bytes are an error; garbage gives SHOAL_EPROTO, never a crash. These
 * functions are pure and thread-safe. */
#ifndef SHOAL_RUNTIME_MEMBER_MEMBER_WIRE_H
#define SHOAL_RUNTIME_MEMBER_MEMBER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

enum member_wire_limit {
    MEMBER_WIRE_VERSION = 1,
    /* characters of a member's name */
    MEMBER_NAME_MAX = 63,
    /* bytes of a member's opaque payload (hwloc summary, load...) */
    MEMBER_PAYLOAD_MAX = 1024,
    /* the smallest encoded update: state, id, incarnation, from */
    MEMBER_WIRE_UPDATE_MIN = 21,
};

/* What the pool believes of a member. */
enum member_state {
    MEMBER_ALIVE = 0,
    MEMBER_SUSPECT = 1,
    MEMBER_DEAD = 2,
    MEMBER_LEFT = 3,
};

/* A member's address: IPv4 or IPv6 and a port, in network order bytes. */
struct member_addr {
    uint8_t family; /* 0 (none), 4 or 6 */
    uint8_t bytes[16];
    uint16_t port;
};

/* News about one member. The body (name, address, payload) is sent with
 * every alive update and in push-pull; suspect, dead and left need only
 * the id and incarnation. */
struct member_update {
    uint64_t id;
    uint32_t incarnation;
    enum member_state state;
    uint64_t from; /* who declared it suspect or dead; else 0 */
    bool has_body;
    char name[MEMBER_NAME_MAX + 1];
    struct member_addr addr;
    /* borrowed: from the decoded buffer, or the encoder's caller */
    const uint8_t *payload;
    uint16_t payload_len;
};

enum member_msg_kind {
    MEMBER_MSG_PING = 1,
    MEMBER_MSG_ACK = 2,
    MEMBER_MSG_PING_REQ = 3,
    MEMBER_MSG_GOSSIP = 4,    /* updates only */
    MEMBER_MSG_PUSH_PULL = 5, /* full state; answer with a reply */
    MEMBER_MSG_PUSH_PULL_REPLY = 6,
};

struct member_msg {
    enum member_msg_kind kind;
    uint32_t seq;                   /* ping, ack, ping-req */
    uint64_t target;                /* ping, ping-req: the member probed */
    struct member_addr target_addr; /* ping-req */
    size_t nupdates;
    struct member_update *updates;
};

/* Bytes the head of msg takes, update count included. */
size_t member_wire_head_size(const struct member_msg *msg);

/* Bytes update u takes. */
size_t member_wire_update_size(const struct member_update *u);

/* Encode msg into buf (size bytes) and set *len. Returns 0, -EMSGSIZE if
 * it does not fit, or -EINVAL for a message that could not be decoded
 * (unknown kind or state, alive without body, name or payload too long,
 * bad address family); buf is then undefined. */
int member_wire_encode(const struct member_msg *msg,
                       void *buf,
                       size_t size,
                       size_t *len);

/* Decode len bytes of buf into *msg. Returns 0, SHOAL_EPROTO with error
 * (may be NULL) saying what is wrong, or -ENOMEM. On success msg->updates
 * is allocated (NULL when there are none): release it with
 * member_msg_release(); payload pointers borrow from buf, so buf must
 * outlive their use. On failure *msg needs no release. */
int member_wire_decode(const void *buf,
                       size_t len,
                       struct member_msg *msg,
                       shoal_error_t *error);

/* Free what member_wire_decode() allocated; NULL is accepted. */
void member_msg_release(struct member_msg *msg);

/* Whether a and b are the same address and port. */
bool member_addr_equal(const struct member_addr *a,
                       const struct member_addr *b);

/* Write addr as "192.0.2.1:7946", "[2001:db8::1]:7946" or "-" into buf
 * (NUL-terminated, truncated to size). */
void member_addr_format(const struct member_addr *addr, char *buf, size_t size);

/* Name of a state: "alive", "suspect", "dead", "left". */
const char *member_state_name(enum member_state state);

#endif
