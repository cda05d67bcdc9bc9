/* SPDX-License-Identifier: MIT */
/* peer.c - the sealed transport between daemons. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <shoal/error.h>

#include <inttypes.h>

#include "runtime/daemon/peer.h"
#include "util/bytes.h"
#include "util/frame_reader.h"
#include "util/log.h"
#include "util/uvbuf.h"

/* The most datagrams read in one go: a flood of garbage must not keep
 * the loop from its timers and streams. */
enum { PEER_DRAIN_BATCH = 256 };

/* at most one line about refused messages in this time */
enum { PEER_LOG_INTERVAL_MS = 10000 };

struct peer_conn {
    uv_tcp_t tcp;
    peer_t *peer;
    struct member_addr addr;
    bool outbound;
    bool closing;
    bool proven;        /* a frame sealed with the pool key came in */
    bool answered;      /* a frame that opened came in on it */
    uint64_t opened_ms; /* loop time it was made */
    uint64_t last_read_ms;
    struct frame_reader reader;
    /* the opened body of the last frame, kept for the next: a fresh large
     * block per frame would fault its pages in every time */
    uint8_t *opened;
    size_t opened_cap;
    size_t queued;   /* bytes handed to uv_write and not done */
    uint8_t *direct; /* the read buffer handed out is the reader's room */
    struct peer_conn *prev;
    struct peer_conn *next;
};

struct peer_write {
    uv_write_t req;
    struct peer_conn *conn;
    struct peer_write *next; /* on the peer's spare list */
    size_t cap;              /* bytes allocated at bytes */
    size_t len;
    uint8_t bytes[];
};

/* Written frames of at least PEER_SPARE_MIN bytes leave their buffers for
 * the next ones, at most PEER_SPARES of them: large frames (checkpoint
 * copies) follow each other at link speed, and a fresh block for each
 * would map and fault in its pages every time. */
enum { PEER_SPARE_MIN = 64 << 10, PEER_SPARES = 8 };

/* Bodies lacking at least this many bytes are read into in place. */
enum { PEER_DIRECT_MIN = 64 << 10 };

struct peer_local {
    struct peer_local *next;
    uint8_t type;
    size_t len;
    uint8_t body[];
};

struct peer_handler {
    peer_handler_f *fn;
    void *arg;
};

struct peer {
    uv_loop_t *loop;
    seal_t *seal;
    uint64_t node_id;
    struct member_addr listen;
    int udp_fd;
    uv_poll_t udp_poll;
    uv_tcp_t listener;
    uv_timer_t local_timer;
    struct peer_local *local_head;
    struct peer_local *local_tail;
    struct peer_conn *conns;
    size_t nconns, nunproven;
    uv_timer_t sweep_timer;  /* closes connections that overstay */
    uint64_t auth_log_last;  /* log_ratelimit() state */
    uint64_t auth_log_quiet; /* failures not logged since the last line */
    uint64_t unanswered_log_last;
    struct peer_handler handlers[256];
    struct peer_stats stats;
    int open_handles; /* freed when the last one is closed */
    struct peer_write *spares;
    size_t nspares;
    bool closing;
    uint8_t dgram[PEER_DATAGRAM_MAX + 1];
    uint8_t dgram_body[PEER_DATAGRAM_MAX];
};

static const char *const peer_drop_names[] = {
#define PEER_DROP_NAME(name, text) text,
    PEER_DROP_TABLE(PEER_DROP_NAME)
#undef PEER_DROP_NAME
};

const char *peer_drop_name(enum peer_drop why)
{
    if ((unsigned)why >= PEER_DROP_COUNT)
        return "unknown";
    return peer_drop_names[why];
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int peer_addr_to_sockaddr(const struct member_addr *addr,
                          struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (addr->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(addr->port);
        memcpy(&sin->sin_addr, addr->bytes, 4);
        return 0;
    }
    if (addr->family == 6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(addr->port);
        memcpy(&sin6->sin6_addr, addr->bytes, 16);
        return 0;
    }
    return -EAFNOSUPPORT;
}

int peer_addr_from_sockaddr(const struct sockaddr *sa, struct member_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        addr->family = 4;
        addr->port = ntohs(sin->sin_port);
        memcpy(addr->bytes, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        addr->family = 6;
        addr->port = ntohs(sin6->sin6_port);
        memcpy(addr->bytes, &sin6->sin6_addr, 16);
        return 0;
    }
    return -EAFNOSUPPORT;
}

int peer_addr_parse(const char *text,
                    uint16_t default_port,
                    struct member_addr *addr)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t hlen;

    memset(addr, 0, sizeof(*addr));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (!close || (close[1] != '\0' && close[1] != ':'))
            return -EINVAL;
        hlen = (size_t)(close - text - 1);
        if (hlen >= sizeof(host))
            return -EINVAL;
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
        if (close[1] == ':')
            port = close + 2;
        if (inet_pton(AF_INET6, host, addr->bytes) != 1)
            return -EINVAL;
        addr->family = 6;
    } else {
        const char *colon = strchr(text, ':');

        hlen = colon ? (size_t)(colon - text) : strlen(text);
        if (hlen >= sizeof(host))
            return -EINVAL;
        memcpy(host, text, hlen);
        host[hlen] = '\0';
        if (colon)
            port = colon + 1;
        if (inet_pton(AF_INET, host, addr->bytes) != 1)
            return -EINVAL;
        addr->family = 4;
    }
    addr->port = default_port;
    if (port) {
        char *end;
        long p;

        if (*port < '0' || *port > '9')
            return -EINVAL;
        p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535)
            return -EINVAL;
        addr->port = (uint16_t)p;
    }
    return 0;
}

/* The peer is freed when its last handle has closed. */
static void peer_release(peer_t *peer)
{
    struct peer_local *l = peer->local_head;

    if (--peer->open_handles > 0 || !peer->closing)
        return;
    while (l) {
        struct peer_local *next = l->next;

        free(l);
        l = next;
    }
    while (peer->spares) {
        struct peer_write *w = peer->spares;

        peer->spares = w->next;
        free(w);
    }
    free(peer);
}

static void peer_handle_closed(uv_handle_t *handle)
{
    peer_release(handle->data);
}

static void dispatch(peer_t *peer,
                     enum peer_channel channel,
                     const struct seal_header *header,
                     const struct member_addr *addr,
                     const void *body,
                     size_t len)
{
    struct peer_handler *h = &peer->handlers[header->type];
    struct peer_message msg = {
        .channel = channel,
        .type = header->type,
        .sender = header->sender,
        .dest = header->dest,
        .addr = addr,
        .body = body,
        .len = len,
    };

    if (!h->fn) {
        peer->stats.dropped[PEER_DROP_UNHANDLED]++;
        return;
    }
    h->fn(peer, &msg, h->arg);
}

/* A message that did not open: say so with the sender's address, at most
 * once per PEER_LOG_INTERVAL_MS, so a flood costs the log little. */
static void peer_log_refused(peer_t *peer,
                             const struct member_addr *from,
                             const char *channel,
                             enum seal_drop why)
{
    char where[64];

    if (why != SEAL_DROP_AUTH && why != SEAL_DROP_MAGIC
        && why != SEAL_DROP_VERSION)
        return; /* replays and stale messages are the network's doing */
    if (!log_ratelimit(&peer->auth_log_last, PEER_LOG_INTERVAL_MS)) {
        peer->auth_log_quiet++;
        return;
    }
    member_addr_format(from, where, sizeof(where));
    if (peer->auth_log_quiet)
        LOG(LOG_LEVEL_WARNING, LOG_PEER,
            "%s from %s refused: %s%s (and %" PRIu64 " more since the last "
            "report)",
            channel, where, seal_drop_name(why),
            why == SEAL_DROP_AUTH ? ": a daemon with another pool key?" : "",
            peer->auth_log_quiet);
    else
        LOG(LOG_LEVEL_WARNING, LOG_PEER, "%s from %s refused: %s%s", channel,
            where, seal_drop_name(why),
            why == SEAL_DROP_AUTH ? ": a daemon with another pool key?" : "");
    peer->auth_log_quiet = 0;
}

/* ---- datagrams ---- */

void peer_drain(peer_t *peer)
{
    for (int i = 0; i < PEER_DRAIN_BATCH && !peer->closing; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);
        struct member_addr from;
        struct seal_header header;
        enum seal_drop why = SEAL_DROP_COUNT;
        size_t body_len = 0;
        ssize_t n;

        n = recvfrom(peer->udp_fd, peer->dgram, sizeof(peer->dgram), MSG_TRUNC,
                     (struct sockaddr *)&ss, &sslen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or an ICMP error of an earlier send */
        }
        if ((size_t)n > PEER_DATAGRAM_MAX) {
            peer->stats.dropped[PEER_DROP_OVERSIZED]++;
            continue;
        }
        peer->stats.bytes_received += (uint64_t)n;
        if (peer_addr_from_sockaddr((struct sockaddr *)&ss, &from) < 0)
            continue;
        if (seal_unwrap(peer->seal, peer->dgram, (size_t)n, wall_ms(), &header,
                        peer->dgram_body, sizeof(peer->dgram_body), &body_len,
                        &why)
            < 0) {
            peer_log_refused(peer, &from, "datagram", why); /* and counted */
            continue;
        }
        peer->stats.datagrams_received++;
        dispatch(peer, PEER_CHANNEL_DATAGRAM, &header, &from, peer->dgram_body,
                 body_len);
    }
}

static void on_udp_readable(uv_poll_t *poll, int status, int events)
{
    peer_t *peer = poll->data;

    (void)events;
    if (status < 0)
        return;
    peer_drain(peer);
}

int peer_send_datagram(peer_t *peer,
                       const struct member_addr *addr,
                       uint64_t dest,
                       uint8_t type,
                       const void *body,
                       size_t len)
{
    uint8_t buf[PEER_DATAGRAM_MAX];
    struct sockaddr_storage ss;
    size_t n = 0;
    int rc;

    if (len + SEAL_OVERHEAD > sizeof(buf))
        return -EMSGSIZE;
    rc = peer_addr_to_sockaddr(addr, &ss);
    if (rc < 0)
        return rc;
    rc = seal_wrap(peer->seal, type, dest, wall_ms(), body, len, buf,
                   sizeof(buf), &n);
    if (rc < 0)
        return rc;
    if (sendto(peer->udp_fd, buf, n, 0, (struct sockaddr *)&ss,
               ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                       : sizeof(struct sockaddr_in6))
        < 0) {
        peer->stats.send_errors++;
        return -errno;
    }
    peer->stats.datagrams_sent++;
    peer->stats.bytes_sent += n;
    return 0;
}

/* ---- streams ---- */

static void conn_closed(uv_handle_t *handle)
{
    struct peer_conn *conn = handle->data;
    peer_t *peer = conn->peer;

    frame_reader_release(&conn->reader);
    free(conn->opened);
    free(conn);
    peer_release(peer);
}

static void conn_close(struct peer_conn *conn)
{
    peer_t *peer = conn->peer;

    if (conn->closing)
        return;
    conn->closing = true;
    peer->nconns--;
    if (!conn->proven)
        peer->nunproven--;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        peer->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    conn->prev = conn->next = NULL;
    uv_close((uv_handle_t *)&conn->tcp, conn_closed);
}

static struct peer_conn *conn_new(peer_t *peer, bool outbound)
{
    struct peer_conn *conn = calloc(1, sizeof(*conn));

    if (!conn)
        return NULL;
    if (uv_tcp_init(peer->loop, &conn->tcp) < 0) {
        free(conn);
        return NULL;
    }
    peer->open_handles++;
    conn->tcp.data = conn;
    conn->peer = peer;
    conn->outbound = outbound;
    conn->opened_ms = conn->last_read_ms = uv_now(peer->loop);
    /* We chose whom to dial: the answers on our own connection are
     * trusted as far as their seals are. A stranger's must say hello. */
    conn->proven = outbound;
    frame_reader_init(&conn->reader,
                      outbound ? PEER_FRAME_MAX : PEER_HELLO_MAX);
    peer->nconns++;
    if (!conn->proven)
        peer->nunproven++;
    conn->next = peer->conns;
    if (peer->conns)
        peer->conns->prev = conn;
    peer->conns = conn;
    uv_tcp_nodelay(&conn->tcp, 1);
    return conn;
}

/* Open one frame; a bad one closes the connection, since what follows it
 * in the stream cannot be trusted either. Returns non-zero to stop
 * reading once the connection closes. */
static int conn_frame(const uint8_t *msg, size_t msg_len, void *arg)
{
    struct peer_conn *conn = arg;
    peer_t *peer = conn->peer;
    struct seal_header header;
    enum seal_drop why = SEAL_DROP_COUNT;
    size_t body_len = 0;
    uint8_t *body;
    int rc;

    if (msg_len < SEAL_OVERHEAD) {
        peer->stats.dropped[PEER_DROP_MALFORMED]++;
        peer->stats.disconnected++;
        conn_close(conn);
        return -EBADMSG;
    }
    if (conn->opened_cap < msg_len - SEAL_OVERHEAD + 1) {
        free(conn->opened);
        conn->opened_cap = msg_len - SEAL_OVERHEAD + 1;
        conn->opened = malloc(conn->opened_cap);
        if (!conn->opened) {
            conn->opened_cap = 0;
            conn_close(conn);
            return -ENOMEM;
        }
    }
    body = conn->opened;
    rc = seal_unwrap(peer->seal, msg, msg_len, wall_ms(), &header, body,
                     msg_len - SEAL_OVERHEAD, &body_len, &why);
    if (rc < 0) {
        peer_log_refused(peer, &conn->addr, "connection", why);
        peer->stats.disconnected++;
        conn_close(conn);
        return rc;
    }
    if (!conn->proven) {
        /* the key is proven: frames up to the protocol's bound from now */
        conn->proven = true;
        peer->nunproven--;
        conn->reader.max = PEER_FRAME_MAX;
    }
    peer->stats.frames_received++;
    conn->answered = true;
    if (header.type != PEER_TYPE_HELLO)
        dispatch(peer, PEER_CHANNEL_STREAM, &header, &conn->addr, body,
                 body_len);
    return conn->closing ? -EPIPE : 0;
}

/* A read buffer: the rest of the body of a large frame being read, so
 * that the kernel copies it where it is opened from (no copy from a read
 * buffer into the frame), else a block of the size libuv suggests. */
static void conn_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    struct peer_conn *conn = handle->data;
    uint8_t *room = NULL;
    size_t n = frame_reader_room(&conn->reader, &room);

    if (n >= PEER_DIRECT_MIN) {
        conn->direct = room;
        buf->base = (char *)room;
        buf->len = n;
        return;
    }
    conn->direct = NULL;
    uvbuf_alloc(handle, hint, buf);
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct peer_conn *conn = stream->data;
    bool direct = conn->direct && buf->base == (char *)conn->direct;
    int rc = 0;

    conn->direct = NULL;
    if (nread > 0) {
        conn->last_read_ms = uv_now(conn->peer->loop);
        conn->peer->stats.bytes_received += (uint64_t)nread;
        rc = direct ? frame_reader_filled(&conn->reader, (size_t)nread,
                                          conn_frame, conn)
                    : frame_reader_feed(&conn->reader, buf->base, (size_t)nread,
                                        NULL, conn_frame, conn);
    }
    if (!direct)
        free(buf->base);
    if (rc == -EMSGSIZE) {
        conn->peer->stats.dropped[PEER_DROP_OVERSIZED]++;
        conn->peer->stats.disconnected++;
    }
    if (nread < 0 && conn->outbound && !conn->answered && !conn->closing) {
        char where[64];

        /* a daemon with another key closes without a word */
        conn->peer->stats.unanswered++;
        member_addr_format(&conn->addr, where, sizeof(where));
        if (log_ratelimit(&conn->peer->unanswered_log_last,
                          PEER_LOG_INTERVAL_MS))
            LOG(LOG_LEVEL_WARNING, LOG_PEER,
                "%s closed our connection without answering: does it have "
                "the same pool key?",
                where);
    }
    if (nread < 0 || rc == -EMSGSIZE || rc == -ENOMEM)
        conn_close(conn);
}

static void conn_connected(uv_connect_t *req, int status)
{
    struct peer_conn *conn = req->data;

    free(req);
    if (status < 0) {
        if (status != UV_ECANCELED) {
            conn->peer->stats.connect_errors++;
            conn_close(conn);
        }
        return;
    }
    if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) < 0)
        conn_close(conn);
}

/* A write buffer of at least cap bytes, a spare one when one fits. */
static struct peer_write *write_get(peer_t *peer, size_t cap)
{
    struct peer_write *w;

    for (struct peer_write **p = &peer->spares; *p; p = &(*p)->next)
        if ((*p)->cap >= cap) {
            w = *p;
            *p = w->next;
            peer->nspares--;
            return w;
        }
    w = malloc(sizeof(*w) + cap);
    if (w)
        w->cap = cap;
    return w;
}

static void write_put(peer_t *peer, struct peer_write *w)
{
    if (w->cap < PEER_SPARE_MIN || peer->closing) {
        free(w);
        return;
    }
    if (peer->nspares == PEER_SPARES) {
        /* drop the oldest (last) spare for this one */
        struct peer_write **p = &peer->spares;

        while ((*p)->next)
            p = &(*p)->next;
        free(*p);
        *p = NULL;
        peer->nspares--;
    }
    w->next = peer->spares;
    peer->spares = w;
    peer->nspares++;
}

static void conn_written(uv_write_t *req, int status)
{
    struct peer_write *w = req->data;
    struct peer_conn *conn = w->conn;

    conn->queued -= w->len;
    if (status < 0 && status != UV_ECANCELED) {
        conn->peer->stats.send_errors++;
        conn_close(conn);
    }
    write_put(conn->peer, w);
}

static struct peer_conn *conn_find(peer_t *peer, const struct member_addr *addr)
{
    for (struct peer_conn *c = peer->conns; c; c = c->next) {
        if (!c->closing && member_addr_equal(&c->addr, addr))
            return c;
    }
    return NULL;
}

static int
conn_open(peer_t *peer, const struct member_addr *addr, struct peer_conn **out)
{
    struct sockaddr_storage ss;
    struct peer_conn *conn;
    uv_connect_t *req;
    int rc;

    rc = peer_addr_to_sockaddr(addr, &ss);
    if (rc < 0)
        return rc;
    req = malloc(sizeof(*req));
    conn = req ? conn_new(peer, true) : NULL;
    if (!conn) {
        free(req);
        return -ENOMEM;
    }
    conn->addr = *addr;
    req->data = conn;
    rc =
        uv_tcp_connect(req, &conn->tcp, (struct sockaddr *)&ss, conn_connected);
    if (rc < 0) {
        free(req);
        peer->stats.connect_errors++;
        conn_close(conn);
        return rc;
    }
    peer->stats.connects++;
    *out = conn;
    return 0;
}

static void local_deliver(uv_timer_t *timer)
{
    peer_t *peer = timer->data;
    struct peer_local *l = peer->local_head;
    struct seal_header header = {.sender = peer->node_id,
                                 .dest = peer->node_id};

    /* only what was queued before this call: a handler that sends to
     * itself again is served on the next turn of the loop */
    peer->local_head = peer->local_tail = NULL;
    while (l) {
        struct peer_local *next = l->next;

        if (!peer->closing) {
            header.type = l->type;
            dispatch(peer, PEER_CHANNEL_LOCAL, &header, &peer->listen, l->body,
                     l->len);
        }
        free(l);
        l = next;
    }
}

static int send_local(peer_t *peer, uint8_t type, const void *body, size_t len)
{
    struct peer_local *l = malloc(sizeof(*l) + len);

    if (!l)
        return -ENOMEM;
    l->next = NULL;
    l->type = type;
    l->len = len;
    if (len)
        memcpy(l->body, body, len);
    if (peer->local_tail)
        peer->local_tail->next = l;
    else
        peer->local_head = l;
    peer->local_tail = l;
    uv_timer_start(&peer->local_timer, local_deliver, 0, 0);
    return 0;
}

/* Seal body as one frame and queue it on conn. */
static int conn_write(struct peer_conn *conn,
                      uint64_t dest,
                      uint8_t type,
                      const void *body,
                      size_t len)
{
    peer_t *peer = conn->peer;
    struct peer_write *w;
    size_t n = 0;
    uv_buf_t buf;
    int rc;

    w = write_get(peer, 4 + len + SEAL_OVERHEAD);
    if (!w)
        return -ENOMEM;
    rc = seal_wrap(peer->seal, type, dest, wall_ms(), body, len, w->bytes + 4,
                   len + SEAL_OVERHEAD, &n);
    if (rc < 0) {
        write_put(peer, w);
        return rc;
    }
    frame_reader_head(w->bytes, n);
    w->conn = conn;
    w->len = n + 4;
    w->req.data = w;
    buf = uv_buf_init((char *)w->bytes, (unsigned)w->len);
    rc = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, conn_written);
    if (rc < 0) {
        write_put(peer, w);
        peer->stats.send_errors++;
        conn_close(conn);
        return rc;
    }
    conn->queued += w->len;
    peer->stats.frames_sent++;
    peer->stats.bytes_sent += w->len;
    return 0;
}

int peer_send_stream(peer_t *peer,
                     const struct member_addr *addr,
                     uint64_t dest,
                     uint8_t type,
                     const void *body,
                     size_t len)
{
    struct peer_conn *conn;
    int rc;

    if (len + SEAL_OVERHEAD > PEER_FRAME_MAX)
        return -EMSGSIZE;
    if (dest != 0 && dest == peer->node_id)
        return send_local(peer, type, body, len);
    conn = conn_find(peer, addr);
    if (conn && conn->queued + len + SEAL_OVERHEAD + 4 > PEER_QUEUE_MAX) {
        peer->stats.dropped[PEER_DROP_QUEUE_FULL]++;
        return -ENOBUFS;
    }
    if (!conn) {
        rc = conn_open(peer, addr, &conn);
        if (rc < 0)
            return rc;
        /* the hello goes first, so the other side lets larger frames in */
        rc = conn_write(conn, 0, PEER_TYPE_HELLO, NULL, 0);
        if (rc < 0)
            return rc;
    }
    return conn_write(conn, dest, type, body, len);
}

/* Unproven connections from the address of addr (any port). */
static size_t conns_unproven_from(peer_t *peer, const struct member_addr *addr)
{
    size_t n = 0;

    for (struct peer_conn *c = peer->conns; c; c = c->next)
        if (!c->proven && !c->closing && c->addr.family == addr->family
            && memcmp(c->addr.bytes, addr->bytes, sizeof(addr->bytes)) == 0)
            n++;
    return n;
}

static void on_connection(uv_stream_t *server, int status)
{
    peer_t *peer = server->data;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    struct peer_conn *conn;

    if (status < 0)
        return;
    conn = conn_new(peer, false);
    if (!conn)
        return;
    if (uv_accept(server, (uv_stream_t *)&conn->tcp) < 0
        || uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&ss, &sslen) < 0
        || peer_addr_from_sockaddr((struct sockaddr *)&ss, &conn->addr) < 0) {
        conn_close(conn);
        return;
    }
    /* counted with this one already */
    if (peer->nconns > PEER_CONNS_MAX || peer->nunproven > PEER_UNPROVEN_MAX
        || conns_unproven_from(peer, &conn->addr) > PEER_UNPROVEN_PER_ADDR) {
        peer->stats.dropped[PEER_DROP_CONN_LIMIT]++;
        conn_close(conn);
        return;
    }
    if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) < 0) {
        conn_close(conn);
        return;
    }
    peer->stats.accepted++;
}

/* Close the connections that overstay: a stranger's that has not proven
 * the key in time, and any that left a frame unfinished too long. */
static void on_sweep(uv_timer_t *timer)
{
    peer_t *peer = timer->data;
    uint64_t now = uv_now(peer->loop);
    struct peer_conn *c = peer->conns, *next;

    for (; c; c = next) {
        next = c->next;
        if (!c->proven && now - c->opened_ms >= PEER_HELLO_TIMEOUT_MS) {
            peer->stats.dropped[PEER_DROP_HELLO_TIMEOUT]++;
            conn_close(c);
        } else if (frame_reader_partial(&c->reader)
                   && now - c->last_read_ms >= PEER_STALL_MS) {
            peer->stats.dropped[PEER_DROP_STALLED]++;
            conn_close(c);
        }
    }
}

/* ---- lifecycle ---- */

static int udp_open(peer_t *peer, const struct sockaddr_storage *ss)
{
    socklen_t sslen = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6);
    int one = 1;
    int fd;

    fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, sslen) < 0) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    peer->udp_fd = fd;
    return 0;
}

int peer_create(const struct peer_config *config,
                peer_t **out,
                shoal_error_t *error)
{
    struct sockaddr_storage ss;
    char where[80];
    peer_t *peer;
    int rc;

    member_addr_format(&config->listen, where, sizeof(where));
    if (!config->loop || !config->seal || config->node_id == 0
        || config->listen.port == 0
        || peer_addr_to_sockaddr(&config->listen, &ss) < 0)
        return shoal_errprintf(error, -EINVAL, "cannot listen on '%s': %s",
                               where, "invalid address");
    peer = calloc(1, sizeof(*peer));
    if (!peer)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    peer->loop = config->loop;
    peer->seal = config->seal;
    peer->node_id = config->node_id;
    peer->listen = config->listen;
    rc = udp_open(peer, &ss);
    if (rc < 0) {
        free(peer);
        return shoal_errprintf(error, rc, "cannot listen on '%s' (udp): %s",
                               where, strerror(-rc));
    }
    uv_tcp_init(peer->loop, &peer->listener);
    uv_poll_init(peer->loop, &peer->udp_poll, peer->udp_fd);
    uv_timer_init(peer->loop, &peer->local_timer);
    uv_timer_init(peer->loop, &peer->sweep_timer);
    peer->listener.data = peer->udp_poll.data = peer->local_timer.data = peer;
    peer->sweep_timer.data = peer;
    peer->open_handles = 4;
    rc = uv_tcp_bind(&peer->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&peer->listener, 128, on_connection);
    if (rc == 0)
        rc = uv_poll_start(&peer->udp_poll, UV_READABLE, on_udp_readable);
    if (rc == 0) {
        rc = uv_timer_start(&peer->sweep_timer, on_sweep, 1000, 1000);
        uv_unref((uv_handle_t *)&peer->sweep_timer);
    }
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot listen on '%s' (tcp): %s", where,
                        uv_strerror(rc));
        peer_destroy(peer);
        return rc;
    }
    *out = peer;
    return 0;
}

void peer_destroy(peer_t *peer)
{
    if (!peer || peer->closing)
        return;
    peer->closing = true;
    while (peer->conns)
        conn_close(peer->conns);
    uv_close((uv_handle_t *)&peer->udp_poll, peer_handle_closed);
    uv_close((uv_handle_t *)&peer->listener, peer_handle_closed);
    uv_close((uv_handle_t *)&peer->local_timer, peer_handle_closed);
    uv_close((uv_handle_t *)&peer->sweep_timer, peer_handle_closed);
    close(peer->udp_fd);
    peer->udp_fd = -1;
}

int peer_on(
    peer_t *peer, uint8_t first, uint8_t last, peer_handler_f *fn, void *arg)
{
    if (first > last)
        return -EINVAL;
    for (unsigned t = first; t <= last; t++) {
        peer->handlers[t].fn = fn;
        peer->handlers[t].arg = arg;
    }
    return 0;
}

void peer_count_drop(peer_t *peer, enum peer_drop why)
{
    if ((unsigned)why < PEER_DROP_COUNT)
        peer->stats.dropped[why]++;
}

void peer_get_stats(const peer_t *peer, struct peer_stats *stats)
{
    *stats = peer->stats;
    seal_get_stats(peer->seal, &stats->seal);
}
