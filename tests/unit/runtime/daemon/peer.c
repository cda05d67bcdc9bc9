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
