/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <uv.h>

#include "runtime/daemon/peer.h"
#include "util/frame_reader.h"
#include "util/seal.h"

TestSuite(peer, .timeout = 20);

Test(peer, addresses_parse_and_convert)
{
    struct member_addr a, b;
    struct sockaddr_storage ss;

    cr_assert(eq(int, peer_addr_parse("127.0.0.1:7912", 7911, &a), 0));
    cr_assert(eq(u16, a.port, 7912));
    cr_assert(eq(int, peer_addr_parse("10.1.2.3", 7911, &a), 0));
    cr_assert(eq(u16, a.port, 7911));
    cr_assert(eq(int, peer_addr_parse("[::1]:99", 7911, &a), 0));
    cr_assert(eq(u8, a.family, 6));
    cr_assert(eq(int, peer_addr_to_sockaddr(&a, &ss), 0));
    cr_assert(eq(int, peer_addr_from_sockaddr((struct sockaddr *)&ss, &b), 0));
    cr_assert(member_addr_equal(&a, &b));
    cr_assert(eq(int, peer_addr_parse("host:1", 7911, &a), -EINVAL));
    cr_assert(eq(int, peer_addr_parse("1.2.3.4:0", 7911, &a), -EINVAL));
    cr_assert(eq(int, peer_addr_parse("1.2.3.4:70000", 7911, &a), -EINVAL));
    cr_assert(eq(int, peer_addr_parse("1.2.3.4:x", 7911, &a), -EINVAL));
    cr_assert(eq(int, peer_addr_parse("[::1", 7911, &a), -EINVAL));
}

struct got {
    int datagrams;
    int streams;
    int local;
    uint64_t sender;
    char body[64];
};

static void on_msg(peer_t *peer, const struct peer_message *msg, void *arg)
{
    struct got *g = arg;

    (void)peer;
    if (msg->channel == PEER_CHANNEL_DATAGRAM)
        g->datagrams++;
    else if (msg->channel == PEER_CHANNEL_STREAM)
        g->streams++;
    else
        g->local++;
    g->sender = msg->sender;
    snprintf(g->body, sizeof(g->body), "%.*s", (int)msg->len,
             (const char *)msg->body);
}

static int free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(fd, (struct sockaddr *)&sin, &len);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

static void run_for(uv_loop_t *loop, int ms)
{
    uint64_t end = uv_now(loop) + (uint64_t)ms;

    while (uv_now(loop) < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
        uv_update_time(loop);
    }
}

Test(peer, two_peers_talk_and_refuse_garbage)
{
    seal_key_t key;
    seal_t *sa = NULL, *sb = NULL;
    struct seal_config ca = {.key = &key, .node_id = 0xa};
    struct seal_config cb = {.key = &key, .node_id = 0xb};
    struct peer_config pa = {.node_id = 0xa}, pb = {.node_id = 0xb};
    peer_t *a = NULL, *b = NULL;
    struct got ga = {0}, gb = {0};
    struct peer_stats stats;
    uv_loop_t loop;
    struct sockaddr_storage ss;
    int fd;

    memset(key.bytes, 7, sizeof(key.bytes));
    cr_assert(eq(int, seal_create(&ca, &sa, NULL), 0));
    cr_assert(eq(int, seal_create(&cb, &sb, NULL), 0));
    uv_loop_init(&loop);
    pa.loop = pb.loop = &loop;
    pa.seal = sa;
    pb.seal = sb;
    peer_addr_parse("127.0.0.1", (uint16_t)free_port(), &pa.listen);
    peer_addr_parse("127.0.0.1", (uint16_t)free_port(), &pb.listen);
    cr_assert(eq(int, peer_create(&pa, &a, NULL), 0));
    cr_assert(eq(int, peer_create(&pb, &b, NULL), 0));
    peer_on(a, 20, 30, on_msg, &ga);
    peer_on(b, 20, 30, on_msg, &gb);

    cr_assert(eq(int, peer_send_datagram(a, &pb.listen, 0xb, 20, "hi", 2), 0));
    cr_assert(eq(int, peer_send_stream(a, &pb.listen, 0xb, 21, "there", 5), 0));
    cr_assert(eq(int, peer_send_stream(a, &pa.listen, 0xa, 22, "me", 2), 0));
    cr_assert(eq(int, ga.local, 0), "delivered re-entrantly");
    run_for(&loop, 300);
    cr_assert(eq(int, gb.datagrams, 1));
    cr_assert(eq(int, gb.streams, 1));
    cr_assert(eq(u64, gb.sender, 0xa));
    cr_assert(eq(str, gb.body, "there"));
    cr_assert(eq(int, ga.local, 1));
    /* the answer goes back on the connection */
    cr_assert(eq(int, peer_send_stream(b, &pa.listen, 0xa, 23, "back", 4), 0));
    run_for(&loop, 200);
    cr_assert(eq(int, ga.streams, 1));
    cr_assert(eq(str, ga.body, "back"));
    /* a type without handler is counted */
    peer_send_datagram(a, &pb.listen, 0xb, 99, "x", 1);
    /* garbage on a stream gets the connection closed */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    peer_addr_to_sockaddr(&pb.listen, &ss);
    cr_assert(
        eq(int, connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
           0));
    {
        uint8_t junk[4 + 96];

        memset(junk, 0x5a, sizeof(junk));
        frame_reader_head(junk, 96);
        cr_assert(eq(long, (long)write(fd, junk, 50), 50L));
        run_for(&loop, 50);
        cr_assert(eq(long, (long)write(fd, junk + 50, sizeof(junk) - 50),
                     (long)sizeof(junk) - 50));
        run_for(&loop, 100);
        /* the peer hung up */
        cr_assert(eq(long, (long)read(fd, junk, 1), 0L));
    }
    close(fd);
    /* so do a frame too short to be sealed and one too long to be read */
    for (int i = 0; i < 2; i++) {
        uint8_t head[4];

        fd = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert(
            eq(int,
               connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
               0));
        frame_reader_head(head, i == 0 ? SEAL_OVERHEAD - 1 : 0xffffffffu);
        cr_assert(eq(long, (long)write(fd, head, 4), 4L));
        if (i == 0) {
            uint8_t body[SEAL_OVERHEAD - 1] = {0};

            cr_assert(eq(long, (long)write(fd, body, sizeof(body)),
                         (long)sizeof(body)));
        }
        run_for(&loop, 100);
        cr_assert(eq(long, (long)read(fd, head, 1), 0L), "case %d", i);
        close(fd);
    }
    peer_get_stats(b, &stats);
    cr_assert(eq(u64, stats.dropped[PEER_DROP_UNHANDLED], 1));
    cr_assert(eq(u64, stats.dropped[PEER_DROP_MALFORMED], 1));
    cr_assert(eq(u64, stats.dropped[PEER_DROP_OVERSIZED], 1));
    cr_assert(eq(u64, stats.disconnected, 3));
    peer_destroy(a);
    peer_destroy(b);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    seal_destroy(sa);
    seal_destroy(sb);
}

/* Two peers on loopback with one key, b listening; for the tests below. */
struct pair {
    seal_key_t key;
    seal_t *sa, *sb;
    struct peer_config pa, pb;
    peer_t *a, *b;
    struct got ga, gb;
    uv_loop_t loop;
};

static void pair_open(struct pair *p)
{
    struct seal_config ca = {.key = &p->key, .node_id = 0xa};
    struct seal_config cb = {.key = &p->key, .node_id = 0xb};

    memset(p, 0, sizeof(*p));
    memset(p->key.bytes, 7, sizeof(p->key.bytes));
    ca.key = cb.key = &p->key;
    cr_assert(eq(int, seal_create(&ca, &p->sa, NULL), 0));
    cr_assert(eq(int, seal_create(&cb, &p->sb, NULL), 0));
    uv_loop_init(&p->loop);
    p->pa =
        (struct peer_config){.node_id = 0xa, .loop = &p->loop, .seal = p->sa};
    p->pb =
        (struct peer_config){.node_id = 0xb, .loop = &p->loop, .seal = p->sb};
    peer_addr_parse("127.0.0.1", (uint16_t)free_port(), &p->pa.listen);
    peer_addr_parse("127.0.0.1", (uint16_t)free_port(), &p->pb.listen);
    cr_assert(eq(int, peer_create(&p->pa, &p->a, NULL), 0));
    cr_assert(eq(int, peer_create(&p->pb, &p->b, NULL), 0));
    peer_on(p->a, 20, 30, on_msg, &p->ga);
    peer_on(p->b, 20, 30, on_msg, &p->gb);
}

static void pair_close(struct pair *p)
{
    peer_destroy(p->a);
    peer_destroy(p->b);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&p->loop), 0));
    seal_destroy(p->sa);
    seal_destroy(p->sb);
}

static int stranger_connect(const struct member_addr *to)
{
    struct sockaddr_storage ss;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    peer_addr_to_sockaddr(to, &ss);
    cr_assert(
        eq(int, connect(fd, (struct sockaddr *)&ss, sizeof(struct sockaddr_in)),
           0));
    return fd;
}

/* Whether the other side closed fd (read gives 0 or an error at once). */
static int hung_up(int fd)
{
    char c;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return read(fd, &c, 1) <= 0 && errno != EAGAIN && errno != EWOULDBLOCK;
}

Test(peer, a_stranger_cannot_announce_a_large_frame)
{
    struct pair p;
    struct peer_stats stats;
    uint8_t head[4];
    int fd;

    pair_open(&p);
    fd = stranger_connect(&p.pb.listen);
    /* 8 MiB is within the protocol's bound, not for an unproven stranger */
    frame_reader_head(head, PEER_FRAME_MAX);
    cr_assert(eq(long, (long)write(fd, head, 4), 4L));
    run_for(&p.loop, 100);
    errno = 0;
    cr_assert(hung_up(fd), "the connection stayed open");
    peer_get_stats(p.b, &stats);
    cr_assert(eq(u64, stats.dropped[PEER_DROP_OVERSIZED], 1));
    close(fd);
    pair_close(&p);
}

Test(peer, a_stranger_that_never_says_hello_is_closed_in_time)
{
    struct pair p;
    struct peer_stats stats;
    int fd;

    pair_open(&p);
    fd = stranger_connect(&p.pb.listen);
    cr_assert(eq(long, (long)write(fd, "\0\0\0\x40 slow", 9), 9L));
    run_for(&p.loop, PEER_HELLO_TIMEOUT_MS - 1000);
    errno = 0;
    cr_assert(not(hung_up(fd)), "closed before its time");
    run_for(&p.loop, 2100);
    errno = 0;
    cr_assert(hung_up(fd), "still open after the hello timeout");
    peer_get_stats(p.b, &stats);
    cr_assert(eq(u64, stats.dropped[PEER_DROP_HELLO_TIMEOUT], 1));
    close(fd);
    pair_close(&p);
}

Test(peer, strangers_from_one_address_are_capped)
{
    struct pair p;
    struct peer_stats stats;
    int fds[PEER_UNPROVEN_PER_ADDR + 4], closed = 0;

    pair_open(&p);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        fds[i] = stranger_connect(&p.pb.listen);
        run_for(&p.loop, 20);
    }
    run_for(&p.loop, 100);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        errno = 0;
        closed += hung_up(fds[i]);
        close(fds[i]);
    }
    peer_get_stats(p.b, &stats);
    cr_assert(eq(int, closed, 4));
    cr_assert(eq(u64, stats.dropped[PEER_DROP_CONN_LIMIT], 4));
    /* a peer with the key still gets through */
    cr_assert(eq(int, peer_send_stream(p.a, &p.pb.listen, 0xb, 21, "k", 1), 0));
    run_for(&p.loop, 200);
    cr_assert(eq(int, p.gb.streams, 1));
    pair_close(&p);
}

struct big {
    size_t len;
    int ok;
};

static void on_big(peer_t *peer, const struct peer_message *msg, void *arg)
{
    struct big *b = arg;

    (void)peer;
    b->len = msg->len;
    b->ok = 1;
    for (size_t i = 0; i < msg->len; i++)
        b->ok &= ((const uint8_t *)msg->body)[i] == (uint8_t)(i * 7);
}

Test(peer, a_peer_with_the_key_sends_large_frames_after_its_hello)
{
    struct pair p;
    struct big got = {0};
    size_t len = 3 << 20;
    uint8_t *body = malloc(len);

    pair_open(&p);
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(i * 7);
    peer_on(p.b, 24, 24, on_big, &got);
    cr_assert(
        eq(int, peer_send_stream(p.a, &p.pb.listen, 0xb, 24, body, len), 0));
    run_for(&p.loop, 1000);
    cr_assert(eq(sz, got.len, len));
    cr_assert(got.ok);
    free(body);
    pair_close(&p);
}
