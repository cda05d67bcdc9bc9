/* SPDX-License-Identifier: MIT */
/* fuzz_control_stream.c - libFuzzer target for the control socket as a
 * client sees it: the daemon's control server (runtime/daemon/control.c),
 * on a real UNIX socket and a libuv loop, fed the input as one client's
 * byte stream.
 *
 * The server has the ops a daemon's would have in kind: one that answers
 * (echo), one that fails, and one that takes the connection over and
 * streams data frames back (take), as `shoal run` and `shoal wait` do. The
 * input is written in pieces whose sizes come from its first byte, so the
 * frame reader sees frames cut anywhere. Nothing may crash, leak (ASan's
 * leak check) or leave the connection open once the client has gone, and
 * the server must still answer a well-formed request on a new connection
 * afterwards. Built by `./configure --enable-fuzzing && make fuzz`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "runtime/daemon/control.h"

static uv_loop_t loop;
static control_t *server;
static char sock_dir[] = "/tmp/shoal-fuzz-control-XXXXXX";
static char sock_path[64];

static void op_echo(control_conn_t *conn, json_t *request, void *arg)
{
    (void)arg;
    control_reply(conn, json_pack("{s:O}", "echo", request));
}

static void op_fail(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    (void)arg;
    control_reply_error(conn, -EINVAL, "refused as asked");
}

static void
take_frame(control_conn_t *conn, const void *body, size_t len, void *arg)
{
    (void)arg;
    /* a data frame comes back as it came */
    control_send_data(conn, body, len);
}

static void take_close(control_conn_t *conn, void *arg)
{
    (void)conn;
    (void)arg;
}

static void op_take(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    (void)arg;
    control_reply(conn, json_object());
    control_conn_set_handlers(conn, take_frame, take_close, NULL);
}

/* libFuzzer ends the process with exit() when its time or run limit is
 * reached, never returning to a caller that could clean up: the socket
 * and its directory go at exit (a crash, which _exit()s, still leaves
 * them). */
static void remove_sock_dir(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(sock_dir))
        abort();
    snprintf(sock_path, sizeof(sock_path), "%s/control.sock", sock_dir);
    if (atexit(remove_sock_dir) != 0)
        abort();
    uv_loop_init(&loop);
    if (control_create(&loop, sock_path, &server, NULL) < 0)
        abort();
    control_on(server, "echo", op_echo, NULL);
    control_on(server, "fail", op_fail, NULL);
    control_on(server, "take", op_take, NULL);
    return 0;
}

static void spin(int rounds)
{
    for (int i = 0; i < rounds; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* Read and drop what the server sent; 1 once it closed its side. */
static int drain(int fd)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        ;
    return n == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t piece, off = 0;
    json_t *req, *reply = NULL;
    int fd;

    if (size == 0)
        return 0;
    piece = 1 + data[0] % 64;
    data++;
    size--;
    if (control_client_connect(sock_path, &fd, NULL) < 0)
        abort();
    fcntl(fd, F_SETFL, O_NONBLOCK);
    spin(2);
    while (off < size) {
        size_t n = size - off < piece ? size - off : piece;
        ssize_t w = write(fd, data + off, n);

        if (w < 0 && errno != EAGAIN)
            break; /* the server hung up on bad bytes */
        if (w > 0)
            off += (size_t)w;
        spin(1);
        if (drain(fd))
            break;
    }
    close(fd);
    /* the server sees the close and frees the connection */
    for (int i = 0; i < 100 && control_clients(server) > 0; i++)
        spin(1);
    if (control_clients(server) != 0)
        abort();

    /* and still serves a good client */
    if (control_client_connect(sock_path, &fd, NULL) < 0)
        abort();
    req = json_pack("{s:s, s:i}", "op", "echo", "n", (int)size);
    if (control_client_send_json(fd, req) < 0)
        abort();
    /* the server runs on this thread: turn its loop until the answer is
     * there, then read it whole */
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        spin(1);
        if (poll(&p, 1, 1) == 1)
            break;
    }
    if (control_client_recv_json(fd, 1000, &reply, NULL) < 0)
        reply = NULL;
    if (!reply || !json_equal(json_object_get(reply, "echo"), req))
        abort();
    json_decref(reply);
    json_decref(req);
    close(fd);
    for (int i = 0; i < 100 && control_clients(server) > 0; i++)
        spin(1);
    return 0;
}
