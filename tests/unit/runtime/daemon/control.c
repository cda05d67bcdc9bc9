/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <jansson.h>

#include "runtime/daemon/control.h"

TestSuite(control, .timeout = 20);

Test(control, json_frame_round_trips)
{
    json_t *obj = json_pack("{s:s, s:i}", "op", "status", "n", 42);
    json_t *back = NULL;
    uint8_t *f = NULL;
    size_t len = 0, body_len = 0;

    cr_assert(eq(int, control_frame_encode_json(obj, &f, &len), 0));
    cr_assert(eq(int, control_frame_next(f, len, &body_len), 1));
    cr_assert(eq(sz, body_len + 4, len));
    cr_assert(eq(u8, f[4], (uint8_t)'J'));
    cr_assert(
        eq(int, control_frame_decode_json(f + 4, body_len, &back, NULL), 0));
    cr_assert(json_equal(obj, back));
    json_decref(obj);
    json_decref(back);
    free(f);
}

Test(control, partial_frames_need_more)
{
    uint8_t *f = NULL;
    size_t len = 0, body_len = 0;

    cr_assert(eq(
        int, control_frame_encode(CONTROL_KIND_DATA, "abc", 3, &f, &len), 0));
    for (size_t cut = 0; cut < len; cut++)
        cr_assert(eq(int, control_frame_next(f, cut, &body_len), 0), "cut %zu",
                  cut);
    cr_assert(eq(int, control_frame_next(f, len, &body_len), 1));
    cr_assert(eq(sz, body_len, 4));
    free(f);
}

Test(control, bad_frames_are_refused)
{
    uint8_t huge[5] = {0x01, 0x00, 0x00, 0x01, 'J'}; /* 16 MiB + 1 */
    uint8_t empty[4] = {0, 0, 0, 0};
    uint8_t kind[6] = {0, 0, 0, 2, 'X', 'y'};
    size_t body_len = 0;

    cr_assert(
        eq(int, control_frame_next(huge, sizeof(huge), &body_len), -EMSGSIZE));
    cr_assert(
        eq(int, control_frame_next(empty, sizeof(empty), &body_len), -EBADMSG));
    cr_assert(
        eq(int, control_frame_next(kind, sizeof(kind), &body_len), -EBADMSG));
}

Test(control, json_bodies_must_be_objects)
{
    static const char *bad[] = {
        "J[1,2]", "J\"op\"", "J{\"op\":",         "Jnull",
        "D{}",    "J",       "J{\"a\":1,\"a\":2}"};
    shoal_error_t error = {{0}};
    json_t *out = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error.text[0] = '\0';
        cr_assert(
            eq(int,
               control_frame_decode_json(bad[i], strlen(bad[i]), &out, &error),
               SHOAL_EPROTO),
            "body '%s'", bad[i]);
        cr_assert(ne(str, error.text, ""));
    }
}

struct echo_state {
    int closed;
};

static void op_echo(control_conn_t *conn, json_t *request, void *arg)
{
    (void)arg;
    control_reply(conn, json_pack("{s:O}", "echo", request));
}

static void on_closed(control_conn_t *conn, void *arg)
{
    (void)conn;
    ((struct echo_state *)arg)->closed++;
}

static void op_keep(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    control_conn_set_handlers(conn, NULL, on_closed, arg);
    control_reply(conn, NULL);
    control_send_data(conn, "xyz", 3);
}

struct client_run {
    const char *path;
    volatile int done;
    int failures;
};

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "client: %s failed at line %d\n", #cond,           \
                    __LINE__);                                                 \
            run->failures++;                                                   \
        }                                                                      \
    } while (0)

/* The blocking client, in a thread, against the server on the test's
 * loop. */
static void *client(void *arg)
{
    struct client_run *run = arg;
    json_t *req, *reply = NULL;
    const char *text;
    uint8_t *body = NULL;
    size_t len = 0;
    int fd = -1;

    CHECK(control_client_connect(run->path, &fd, NULL) == 0);
    req = json_pack("{s:s, s:i}", "op", "echo", "x", 1);
    CHECK(control_client_request(fd, req, 5000, &reply, NULL) == 0);
    CHECK(json_is_true(json_object_get(reply, "ok")));
    CHECK(json_equal(json_object_get(reply, "echo"), req));
    json_decref(req);
    json_decref(reply);

    req = json_pack("{s:s}", "op", "nope");
    CHECK(control_client_request(fd, req, 5000, &reply, NULL) == 0);
    CHECK(json_is_false(json_object_get(reply, "ok")));
    text = json_string_value(json_object_get(reply, "error"));
    CHECK(text && strcmp(text, "unknown op 'nope'") == 0);
    json_decref(req);
    json_decref(reply);

    req = json_pack("{s:s}", "op", "keep");
    CHECK(control_client_request(fd, req, 5000, &reply, NULL) == 0);
    CHECK(control_client_recv(fd, 5000, &body, &len) == 0);
    CHECK(len == 4 && memcmp(body, "Dxyz", 4) == 0);
    free(body);
    json_decref(req);
    json_decref(reply);
    close(fd);

    /* garbage gets the connection closed */
    CHECK(control_client_connect(run->path, &fd, NULL) == 0);
    CHECK(write(fd, "\xff\xff\xff\xff", 4) == 4);
    CHECK(control_client_recv(fd, 5000, &body, &len) == -EPIPE);
    close(fd);
    run->done = 1;
    return NULL;
}

static void on_tick(uv_timer_t *timer)
{
    struct client_run *run = timer->data;

    if (run->done)
        uv_stop(timer->loop);
}

Test(control, server_dispatches_ops_and_streams)
{
    char dir[] = "/tmp/shoal-control-XXXXXX";
    char path[64];
    uv_loop_t loop;
    uv_timer_t tick;
    control_t *control = NULL, *second = NULL;
    struct echo_state st = {0};
    struct control_stats stats;
    struct client_run run = {.path = path};
    pthread_t th;
    struct stat sb;

    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    uv_loop_init(&loop);
    cr_assert(eq(int, control_create(&loop, path, &control, NULL), 0));
    cr_assert(eq(int, stat(path, &sb), 0));
    cr_assert(eq(int, (int)(sb.st_mode & 0777), 0666));
    control_on(control, "echo", op_echo, NULL);
    control_on(control, "keep", op_keep, &st);
    /* a second server on a live socket is refused */
    cr_assert(eq(int, control_create(&loop, path, &second, NULL), -EADDRINUSE));
    uv_timer_init(&loop, &tick);
    tick.data = &run;
    uv_timer_start(&tick, on_tick, 10, 10);
    cr_assert(eq(int, pthread_create(&th, NULL, client, &run), 0));
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    cr_assert(eq(int, run.failures, 0));
    control_get_stats(control, &stats);
    /* two clients and the second server's probe */
    cr_assert(eq(u64, stats.accepted, 3));
    cr_assert(eq(u64, stats.unknown_ops, 1));
    cr_assert(eq(u64, stats.malformed, 1));
    uv_close((uv_handle_t *)&tick, NULL);
    control_destroy(control);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, st.closed, 1));
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    cr_assert(eq(int, stat(path, &sb), -1), "socket file left behind");
    rmdir(dir);
}

struct flood_run {
    const char *path;
    int fds[CONTROL_CONNS_MAX + 8];
    int opened;
    int done;
};

static void *flood(void *arg)
{
    struct flood_run *run = arg;

    for (size_t i = 0; i < sizeof(run->fds) / sizeof(run->fds[0]); i++)
        if (control_client_connect(run->path, &run->fds[i], NULL) == 0)
            run->opened++;
    usleep(300 * 1000);
    run->done = 1;
    return NULL;
}

static void on_flood_tick(uv_timer_t *timer)
{
    struct flood_run *run = timer->data;

    if (run->done)
        uv_stop(timer->loop);
}

Test(control, connections_past_the_cap_are_closed_and_counted)
{
    char dir[] = "/tmp/shoal-control-XXXXXX";
    char path[64];
    uv_loop_t loop;
    uv_timer_t tick;
    control_t *control = NULL;
    struct control_stats stats;
    static struct flood_run run;
    pthread_t th;
    int closed = 0;

    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    run.path = path;
    uv_loop_init(&loop);
    cr_assert(eq(int, control_create(&loop, path, &control, NULL), 0));
    uv_timer_init(&loop, &tick);
    tick.data = &run;
    uv_timer_start(&tick, on_flood_tick, 10, 10);
    cr_assert(eq(int, pthread_create(&th, NULL, flood, &run), 0));
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    cr_assert(eq(int, run.opened, CONTROL_CONNS_MAX + 8));
    for (int i = 0; i < run.opened; i++) {
        char c;
        struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};

        setsockopt(run.fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        closed += read(run.fds[i], &c, 1) == 0;
        close(run.fds[i]);
    }
    control_get_stats(control, &stats);
    cr_assert(eq(u64, stats.over_limit, 8));
    cr_assert(eq(int, closed, 8));
    uv_close((uv_handle_t *)&tick, NULL);
    control_destroy(control);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&loop), 0));
    rmdir(dir);
}

Test(control, op_classes)
{
    /* admin ops: root and the server's own user */
    cr_assert(control_op_permitted(CONTROL_OP_ADMIN, 0, 1000));
    cr_assert(control_op_permitted(CONTROL_OP_ADMIN, 1000, 1000));
    cr_assert(not(control_op_permitted(CONTROL_OP_ADMIN, 65534, 0)));
    cr_assert(not(control_op_permitted(CONTROL_OP_ADMIN, 1, 1000)));
    /* the others are open at the door; owner checks are the handler's */
    cr_assert(control_op_permitted(CONTROL_OP_READ, 65534, 0));
    cr_assert(control_op_permitted(CONTROL_OP_SUBMIT, 65534, 0));
    cr_assert(control_op_permitted(CONTROL_OP_OWNER, 65534, 0));
    cr_assert(control_may_act_on(65534, 65534, 0));
    cr_assert(control_may_act_on(0, 65534, 0));
    cr_assert(control_may_act_on(1000, 65534, 1000));
    cr_assert(not(control_may_act_on(1, 65534, 0)));
    cr_assert(not(control_may_act_on(65534, 1, 0)));
}

static void op_whoami(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    (void)arg;
    control_reply(conn, json_pack("{s:I, s:I}", "uid",
                                  (json_int_t)control_conn_uid(conn), "gid",
                                  (json_int_t)control_conn_gid(conn)));
}

/* In a child as uid/gid 65534: a read op answers with who the server
 * sees; an admin op is refused, naming the op. Exits 0 when all held. */
static int other_user_client(const char *path)
{
    json_t *req, *reply = NULL;
    const char *text;
    int fd, bad = 0;

    if (setgid(65534) < 0 || setuid(65534) < 0)
        return 2;
    if (control_client_connect(path, &fd, NULL) < 0)
        return 3;
    req = json_pack("{s:s, s:i}", "op", "whoami", "uid", 0);
    if (control_client_request(fd, req, 5000, &reply, NULL) < 0
        || !json_is_true(json_object_get(reply, "ok"))
        || json_integer_value(json_object_get(reply, "uid")) != 65534
        || json_integer_value(json_object_get(reply, "gid")) != 65534)
        bad |= 4;
    json_decref(req);
    json_decref(reply);
    req = json_pack("{s:s}", "op", "halt");
    reply = NULL;
    if (control_client_request(fd, req, 5000, &reply, NULL) < 0
        || !json_is_false(json_object_get(reply, "ok")))
        bad |= 8;
    text = json_string_value(json_object_get(reply, "error"));
    if (!text || !strstr(text, "'halt' is for root and the daemon's user"))
        bad |= 16;
    json_decref(req);
    json_decref(reply);
    close(fd);
    return bad;
}

struct child_wait {
    pid_t pid;
    int status;
    bool done;
};

static void on_child_tick(uv_timer_t *timer)
{
    struct child_wait *w = timer->data;

    if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
        w->done = true;
        uv_stop(timer->loop);
    }
}

static int halted;

static void op_halt(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    (void)arg;
    halted++;
    control_reply(conn, NULL);
}

Test(control, other_users_connect_but_not_to_admin_ops)
{
    char dir[] = "/tmp/shoal-control-XXXXXX";
    char path[64];
    uv_loop_t loop;
    uv_timer_t tick;
    control_t *control = NULL;
    struct child_wait w = {0};
    struct control_stats stats;

    if (geteuid() != 0)
        cr_skip_test("needs root to run a client as another user");
    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    cr_assert(eq(int, chmod(dir, 0711), 0));
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    uv_loop_init(&loop);
    cr_assert(eq(int, control_create(&loop, path, &control, NULL), 0));
    control_on_class(control, "whoami", CONTROL_OP_READ, op_whoami, NULL);
    control_on(control, "halt", op_halt, NULL);
    w.pid = fork();
    cr_assert(w.pid >= 0);
    if (w.pid == 0)
        _exit(other_user_client(path));
    uv_timer_init(&loop, &tick);
    tick.data = &w;
    uv_timer_start(&tick, on_child_tick, 10, 10);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(w.done);
    cr_assert(eq(int, w.status, 0), "client failed: status %#x", w.status);
    cr_assert(eq(int, halted, 0));
    control_get_stats(control, &stats);
    cr_assert(eq(u64, stats.refused, 1));
    uv_close((uv_handle_t *)&tick, NULL);
    control_destroy(control);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    rmdir(dir);
}
