/* SPDX-License-Identifier: MIT */
/* member_wire.c - encode and decode membership messages.
 *
 * Both directions go through util/wire.h's cursors, which refuse to move
 * past their end, so no read or write depends on a length field being
 * honest. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/member/member_wire.h"
#include "util/wire.h"

enum { MEMBER_WIRE_BODY_FLAG = 0x80 };

static size_t member_wire_addr_size(const struct member_addr *addr)
{
    return 1 + (addr->family == 4 ? 4 : addr->family == 6 ? 16 : 0) + 2;
}

size_t member_wire_head_size(const struct member_msg *msg)
{
    size_t n = 2 + 4;

    switch (msg->kind) {
    case MEMBER_MSG_PING:
        return n + 4 + 8;
    case MEMBER_MSG_ACK:
        return n + 4;
    case MEMBER_MSG_PING_REQ:
        return n + 4 + 8 + member_wire_addr_size(&msg->target_addr);
    default:
        return n;
    }
}

size_t member_wire_update_size(const struct member_update *u)
{
    size_t n = MEMBER_WIRE_UPDATE_MIN;

    if (u->has_body)
        n += 1 + strnlen(u->name, sizeof(u->name))
             + member_wire_addr_size(&u->addr) + 2 + u->payload_len;
    return n;
}

static bool member_wire_addr_valid(const struct member_addr *addr)
{
    return addr->family == 0 || addr->family == 4 || addr->family == 6;
}

static void member_wire_put_addr(struct wire_writer *w,
                                 const struct member_addr *a)
{
    wire_put_u8(w, a->family);
    wire_put_bytes(w, a->bytes, a->family == 4 ? 4 : a->family == 6 ? 16 : 0);
    wire_put_u16(w, a->port);
}

static bool member_wire_update_valid(const struct member_update *u)
{
    if ((unsigned)u->state > MEMBER_LEFT)
        return false;
    if (u->state == MEMBER_ALIVE && !u->has_body)
        return false;
    if (!u->has_body)
        return true;
    return strnlen(u->name, sizeof(u->name)) <= MEMBER_NAME_MAX
           && u->payload_len <= MEMBER_PAYLOAD_MAX
           && (u->payload || u->payload_len == 0)
           && member_wire_addr_valid(&u->addr);
}

int member_wire_encode(const struct member_msg *msg,
                       void *buf,
                       size_t size,
                       size_t *len)
{
    struct wire_writer w;

    if (msg->kind < MEMBER_MSG_PING || msg->kind > MEMBER_MSG_PUSH_PULL_REPLY
        || msg->nupdates > UINT32_MAX
        || !member_wire_addr_valid(&msg->target_addr))
        return -EINVAL;
    for (size_t i = 0; i < msg->nupdates; i++)
        if (!member_wire_update_valid(&msg->updates[i]))
            return -EINVAL;

    wire_writer_init(&w, buf, size);
    wire_put_u8(&w, MEMBER_WIRE_VERSION);
    wire_put_u8(&w, msg->kind);
    if (msg->kind == MEMBER_MSG_PING || msg->kind == MEMBER_MSG_ACK
        || msg->kind == MEMBER_MSG_PING_REQ)
        wire_put_u32(&w, msg->seq);
    if (msg->kind == MEMBER_MSG_PING || msg->kind == MEMBER_MSG_PING_REQ)
        wire_put_u64(&w, msg->target);
    if (msg->kind == MEMBER_MSG_PING_REQ)
        member_wire_put_addr(&w, &msg->target_addr);
    wire_put_u32(&w, (uint32_t)msg->nupdates);
    for (size_t i = 0; i < msg->nupdates && !w.overflow; i++) {
        const struct member_update *u = &msg->updates[i];
        size_t namelen = strnlen(u->name, sizeof(u->name));

        wire_put_u8(&w, u->state | (u->has_body ? MEMBER_WIRE_BODY_FLAG : 0));
        wire_put_u64(&w, u->id);
        wire_put_u32(&w, u->incarnation);
        wire_put_u64(&w, u->from);
        if (!u->has_body)
            continue;
        wire_put_u8(&w, (uint8_t)namelen);
        wire_put_bytes(&w, u->name, namelen);
        member_wire_put_addr(&w, &u->addr);
        wire_put_u16(&w, u->payload_len);
        wire_put_bytes(&w, u->payload, u->payload_len);
    }
    if (w.overflow)
        return -EMSGSIZE;
    *len = w.off;
    return 0;
}

static int member_wire_get_addr(struct wire_reader *r,
                                struct member_addr *addr,
                                shoal_error_t *error,
                                const char *what)
{
    const uint8_t *bytes;
    size_t n;

    memset(addr, 0, sizeof(*addr));
    addr->family = (uint8_t)wire_get_u8(r);
    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: truncated", what);
    if (!member_wire_addr_valid(addr))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "%s: unknown address family %u", what,
                               addr->family);
    n = addr->family == 4 ? 4 : addr->family == 6 ? 16 : 0;
    bytes = wire_get_bytes(r, n, NULL);
    if (n && bytes)
        memcpy(addr->bytes, bytes, n);
    addr->port = (uint16_t)wire_get_u16(r);
    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: truncated", what);
    return 0;
}

static int member_wire_get_update(struct wire_reader *r,
                                  size_t index,
                                  struct member_update *u,
                                  shoal_error_t *error)
{
    char what[32];
    unsigned flags = (unsigned)wire_get_u8(r);
    size_t namelen;
    const uint8_t *name;
    int rc;

    snprintf(what, sizeof(what), "update %zu", index);
    u->has_body = flags & MEMBER_WIRE_BODY_FLAG;
    u->state = (enum member_state)(flags & ~MEMBER_WIRE_BODY_FLAG);
    u->id = wire_get_u64(r);
    u->incarnation = (uint32_t)wire_get_u32(r);
    u->from = wire_get_u64(r);
    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: truncated", what);
    if ((unsigned)u->state > MEMBER_LEFT)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: unknown state %u",
                               what, (unsigned)u->state);
    if (u->state == MEMBER_ALIVE && !u->has_body)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: alive without a body",
                               what);
    if (!u->has_body)
        return 0;
    namelen = (size_t)wire_get_u8(r);
    if (namelen > MEMBER_NAME_MAX)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "%s: name of %zu bytes (at most %d)", what,
                               namelen, (int)MEMBER_NAME_MAX);
    name = wire_get_bytes(r, namelen, NULL);
    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: truncated", what);
    for (size_t i = 0; i < namelen; i++)
        if (name[i] <= 0x20 || name[i] == 0x7f)
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "%s: invalid byte 0x%02x in name", what,
                                   name[i]);
    memcpy(u->name, name, namelen);
    u->name[namelen] = '\0';
    rc = member_wire_get_addr(r, &u->addr, error, what);
    if (rc < 0)
        return rc;
    u->payload_len = (uint16_t)wire_get_u16(r);
    if (u->payload_len > MEMBER_PAYLOAD_MAX)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "%s: payload of %u bytes (at most %d)", what,
                               u->payload_len, (int)MEMBER_PAYLOAD_MAX);
    u->payload = wire_get_bytes(r, u->payload_len, NULL);
    if (r->short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "%s: truncated", what);
    return 0;
}

int member_wire_decode(const void *buf,
                       size_t len,
                       struct member_msg *msg,
                       shoal_error_t *error)
{
    struct wire_reader r;
    struct member_msg m = {0};
    unsigned version, kind;
    uint64_t count;
    int rc;

    wire_reader_init(&r, buf, len);
    version = wire_get_u8(&r);
    kind = wire_get_u8(&r);

    if (r.short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "message truncated");
    if (version != MEMBER_WIRE_VERSION)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "unknown message version %u", version);
    if (kind < MEMBER_MSG_PING || kind > MEMBER_MSG_PUSH_PULL_REPLY)
        return shoal_errprintf(error, SHOAL_EPROTO, "unknown message kind %u",
                               kind);
    m.kind = (enum member_msg_kind)kind;
    if (kind == MEMBER_MSG_PING || kind == MEMBER_MSG_ACK
        || kind == MEMBER_MSG_PING_REQ)
        m.seq = (uint32_t)wire_get_u32(&r);
    if (kind == MEMBER_MSG_PING || kind == MEMBER_MSG_PING_REQ)
        m.target = wire_get_u64(&r);
    if (kind == MEMBER_MSG_PING_REQ) {
        rc = member_wire_get_addr(&r, &m.target_addr, error, "ping-req target");
        if (rc < 0)
            return rc;
    }
    count = wire_get_u32(&r);
    if (r.short_)
        return shoal_errprintf(error, SHOAL_EPROTO, "message truncated");
    /* a lying count cannot make us allocate more than the input holds */
    if (count > r.left / MEMBER_WIRE_UPDATE_MIN)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "%llu updates cannot fit in %zu bytes",
                               (unsigned long long)count, r.left);
    if (count > 0) {
        m.updates = calloc((size_t)count, sizeof(*m.updates));
        if (!m.updates)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    m.nupdates = (size_t)count;
    for (size_t i = 0; i < m.nupdates; i++) {
        rc = member_wire_get_update(&r, i, &m.updates[i], error);
        if (rc < 0)
            goto error;
    }
    if (r.left != 0) {
        rc = shoal_errprintf(error, SHOAL_EPROTO,
                             "%zu bytes after the last update", r.left);
        goto error;
    }
    *msg = m;
    return 0;
error:
    free(m.updates);
    return rc;
}

void member_msg_release(struct member_msg *msg)
{
    if (!msg)
        return;
    free(msg->updates);
    msg->updates = NULL;
    msg->nupdates = 0;
}

bool member_addr_equal(const struct member_addr *a, const struct member_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;

    return a->family == b->family && a->port == b->port
           && (a->family == 0 || memcmp(a->bytes, b->bytes, n) == 0);
}

void member_addr_format(const struct member_addr *addr, char *buf, size_t size)
{
    char text[INET6_ADDRSTRLEN];

    if (addr->family == 4) {
        inet_ntop(AF_INET, addr->bytes, text, sizeof(text));
        snprintf(buf, size, "%s:%u", text, addr->port);
    } else if (addr->family == 6) {
        inet_ntop(AF_INET6, addr->bytes, text, sizeof(text));
        snprintf(buf, size, "[%s]:%u", text, addr->port);
    } else {
        snprintf(buf, size, "-");
    }
}

const char *member_state_name(enum member_state state)
{
    switch (state) {
    case MEMBER_ALIVE:
        return "alive";
    case MEMBER_SUSPECT:
        return "suspect";
    case MEMBER_DEAD:
        return "dead";
    case MEMBER_LEFT:
        return "left";
    }
    return "unknown";
}
