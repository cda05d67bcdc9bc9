/* SPDX-License-Identifier: MIT */
/* control.c - the daemon's local control socket, server and client. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/daemon/control.h"
#include "util/bytes.h"
#include "util/frame_reader.h"
#include "util/uvbuf.h"

/* ---- frame codec ---- */

int control_frame_next(const void *buf, size_t len, size_t *body_len)
{
    const uint8_t *b = buf;
    uint32_t n;

    if (len < 4)
        return 0;
    n = (uint32_t)bytes_get_be(b, 4);
    if (n > CONTROL_FRAME_MAX)
        return -EMSGSIZE;
    if (n == 0)
        return -EBADMSG;
    if (len < 5)
        return 0;
    if (b[4] != CONTROL_KIND_JSON && b[4] != CONTROL_KIND_DATA)
        return -EBADMSG;
    if (len - 4 < n)
        return 0;
    *body_len = n;
    return 1;
}

int control_frame_head(uint8_t head[CONTROL_FRAME_HEAD],
                       enum control_kind kind,
                       size_t len)
{
    if (len + 1 > CONTROL_FRAME_MAX)
        return -EMSGSIZE;
    bytes_put_be(head, len + 1, 4);
    head[4] = (uint8_t)kind;
    return 0;
}

int control_frame_encode(enum control_kind kind,
                         const void *payload,
                         size_t len,
                         uint8_t **out,
                         size_t *out_len)
{
    uint8_t head[CONTROL_FRAME_HEAD];
    uint8_t *f;
    int rc;

    rc = control_frame_head(head, kind, len);
    if (rc < 0)
        return rc;
    f = malloc(CONTROL_FRAME_HEAD + len);
    if (!f)
        return -ENOMEM;
    memcpy(f, head, CONTROL_FRAME_HEAD);
    if (len)
        memcpy(f + CONTROL_FRAME_HEAD, payload, len);
    *out = f;
    *out_len = CONTROL_FRAME_HEAD + len;
    return 0;
}

int control_frame_encode_json(const json_t *obj, uint8_t **out, size_t *len)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    int rc;

    if (!text)
        return -ENOMEM;
    rc = control_frame_encode(CONTROL_KIND_JSON, text, strlen(text), out, len);
    free(text);
    return rc;
}

int control_frame_decode_json(const void *body,
                              size_t len,
                              json_t **out,
                              shoal_error_t *error)
{
    const char *b = body;
    json_error_t jerr;
    json_t *obj;

    if (len < 1 || b[0] != CONTROL_KIND_JSON)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "control frame: not a JSON frame");
    obj = json_loadb(b + 1, len - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return shoal_errprintf(error, SHOAL_EPROTO, "control frame: %s",
                               jerr.text);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "control frame: not a JSON object");
    }
    *out = obj;
    return 0;
}

/* ---- server ---- */

struct control_op {
    struct control_op *next;
    char *name;
    enum control_op_class op_class;
    control_op_f *fn;
    void *arg;
};

struct control_conn {
    uv_pipe_t pipe;
    control_t *control;
    uint32_t uid, gid;
    int32_t pid; /* the caller's, from SO_PEERCRED */
    bool closing;
    uint64_t last_read_ms; /* loop time */
    struct frame_reader reader;
    size_t queued;
    control_frame_f *frame_fn;
    control_close_f *close_fn;
    void *arg;
    struct control_conn *prev;
    struct control_conn *next;
};

struct control_write {
    uv_write_t req;
    control_conn_t *conn;
    size_t len;
    uint8_t *bytes;
};

struct control {
    uv_loop_t *loop;
    uv_pipe_t listener;
    char *path;
    struct control_op *ops;
    struct control_conn *conns;
    size_t nconns;
    uv_timer_t sweep_timer; /* closes connections that stall mid-frame */
    struct control_stats stats;
    int open_handles;
    bool closing;
};

static void control_release(control_t *control)
{
    if (--control->open_handles > 0 || !control->closing)
        return;
    while (control->ops) {
        struct control_op *op = control->ops;

        control->ops = op->next;
        free(op->name);
        free(op);
    }
    free(control->path);
    free(control);
}

static void conn_closed(uv_handle_t *handle)
{
    control_conn_t *conn = handle->data;
    control_t *control = conn->control;

    if (conn->close_fn)
        conn->close_fn(conn, conn->arg);
    frame_reader_release(&conn->reader);
    free(conn);
    control_release(control);
}

static void conn_unlink(control_conn_t *conn)
{
    control_t *control = conn->control;

    conn->closing = true;
    control->nconns--;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        control->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    conn->prev = conn->next = NULL;
}

static void conn_close_now(control_conn_t *conn)
{
    if (conn->closing)
        return;
    conn_unlink(conn);
    uv_close((uv_handle_t *)&conn->pipe, conn_closed);
}

static void conn_shutdown_done(uv_shutdown_t *req, int status)
{
    control_conn_t *conn = req->data;

    (void)status;
    free(req);
    uv_close((uv_handle_t *)&conn->pipe, conn_closed);
}

void control_conn_close(control_conn_t *conn)
{
    uv_shutdown_t *req;

    if (conn->closing)
        return;
    conn_unlink(conn);
    uv_read_stop((uv_stream_t *)&conn->pipe);
    req = malloc(sizeof(*req));
    if (req) {
        req->data = conn;
        if (uv_shutdown(req, (uv_stream_t *)&conn->pipe, conn_shutdown_done)
            == 0)
            return;
        free(req);
    }
    uv_close((uv_handle_t *)&conn->pipe, conn_closed);
}

static void conn_written(uv_write_t *req, int status)
{
    struct control_write *w = req->data;

    w->conn->queued -= w->len;
    if (status < 0 && status != UV_ECANCELED)
        conn_close_now(w->conn);
    free(w->bytes);
    free(w);
}

static int conn_write(control_conn_t *conn, uint8_t *bytes, size_t len)
{
    struct control_write *w;
    uv_buf_t buf;
    int rc;

    if (conn->closing) {
        free(bytes);
        return -EPIPE;
    }
    if (conn->queued + len > 2 * (size_t)CONTROL_FRAME_MAX) {
        free(bytes);
        return -ENOBUFS;
    }
    w = malloc(sizeof(*w));
    if (!w) {
        free(bytes);
        return -ENOMEM;
    }
    w->conn = conn;
    w->len = len;
    w->bytes = bytes;
    w->req.data = w;
    buf = uv_buf_init((char *)bytes, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)&conn->pipe, &buf, 1, conn_written);
    if (rc < 0) {
        free(bytes);
        free(w);
        conn_close_now(conn);
        return -EPIPE;
    }
    conn->queued += len;
    return 0;
}

int control_send_json(control_conn_t *conn, const json_t *obj)
{
    uint8_t *f;
    size_t len;
    int rc;

    if (conn->closing)
        return -EPIPE;
    rc = control_frame_encode_json(obj, &f, &len);
    if (rc < 0)
        return rc;
    return conn_write(conn, f, len);
}

int control_send_data(control_conn_t *conn, const void *buf, size_t len)
{
    uint8_t *f;
    size_t flen;
    int rc;

    if (conn->closing)
        return -EPIPE;
    rc = control_frame_encode(CONTROL_KIND_DATA, buf, len, &f, &flen);
    if (rc < 0)
        return rc;
    return conn_write(conn, f, flen);
}

int control_reply(control_conn_t *conn, json_t *fields)
{
    json_t *reply = json_object();
    int rc;

    if (!reply) {
        json_decref(fields);
        return -ENOMEM;
    }
    json_object_set_new(reply, "ok", json_true());
    if (fields) {
        json_object_update(reply, fields);
        json_decref(fields);
    }
    rc = control_send_json(conn, reply);
    json_decref(reply);
    return rc;
}

int control_reply_error(control_conn_t *conn, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    json_t *reply;
    int rc;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    reply = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", text, "code", code);
    if (!reply)
        return -ENOMEM;
    rc = control_send_json(conn, reply);
    json_decref(reply);
    return rc;
}

void control_conn_set_handlers(control_conn_t *conn,
                               control_frame_f *frame,
                               control_close_f *close,
                               void *arg)
{
    conn->frame_fn = frame;
    conn->close_fn = close;
    conn->arg = arg;
}

uint32_t control_conn_uid(const control_conn_t *conn)
{
    return conn->uid;
}

int32_t control_conn_pid(const control_conn_t *conn)
{
    return conn->pid;
}

uint32_t control_conn_gid(const control_conn_t *conn)
{
    return conn->gid;
}

bool control_op_permitted(enum control_op_class op_class,
                          uint32_t uid,
                          uint32_t server_uid)
{
    if (op_class != CONTROL_OP_ADMIN)
        return true;
    return uid == 0 || uid == server_uid;
}

bool control_may_act_on(uint32_t uid, uint32_t owner, uint32_t server_uid)
{
    return uid == owner || uid == 0 || uid == server_uid;
}

bool control_conn_may(const control_conn_t *conn, uint32_t owner)
{
    return control_may_act_on(conn->uid, owner, (uint32_t)geteuid());
}

static void dispatch_op(control_conn_t *conn, const uint8_t *body, size_t len)
{
    control_t *control = conn->control;
    shoal_error_t error = {{0}};
    json_t *request = NULL;
    const char *name;

    if (control_frame_decode_json(body, len, &request, &error) < 0) {
        control->stats.malformed++;
        control_reply_error(conn, SHOAL_EPROTO, "%s", error.text);
        return;
    }
    control->stats.requests++;
    name = json_string_value(json_object_get(request, "op"));
    if (!name) {
        control->stats.unknown_ops++;
        control_reply_error(conn, -EINVAL, "request without \"op\"");
        json_decref(request);
        return;
    }
    for (struct control_op *op = control->ops; op; op = op->next) {
        if (strcmp(op->name, name) == 0) {
            if (!control_op_permitted(op->op_class, conn->uid,
                                      (uint32_t)geteuid())) {
                control->stats.refused++;
                control_reply_error(conn, -EPERM,
                                    "'%s' is for root and the daemon's user "
                                    "(uid %u) only, not uid %u",
                                    name, (unsigned)geteuid(),
                                    (unsigned)conn->uid);
                json_decref(request);
                return;
            }
            op->fn(conn, request, op->arg);
            json_decref(request);
            return;
        }
    }
    control->stats.unknown_ops++;
    control_reply_error(conn, -ENOSYS, "unknown op '%s'", name);
    json_decref(request);
}

/* One frame from the client: to the handler that took the connection
 * over, or an op. A frame of no known kind closes the connection, as what
 * follows it cannot be trusted either. Returns non-zero to stop reading
 * once the connection closes. */
static int conn_frame(const uint8_t *body, size_t len, void *arg)
{
    control_conn_t *conn = arg;

    if (len == 0
        || (body[0] != CONTROL_KIND_JSON && body[0] != CONTROL_KIND_DATA)) {
        conn->control->stats.malformed++;
        conn_close_now(conn);
        return -EBADMSG;
    }
    if (conn->frame_fn)
        conn->frame_fn(conn, body, len, conn->arg);
    else if (body[0] == CONTROL_KIND_JSON)
        dispatch_op(conn, body, len);
    else
        control_reply_error(conn, -EINVAL, "data frame without a job");
    return conn->closing ? -EPIPE : 0;
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    control_conn_t *conn = stream->data;
    int rc = 0;

    if (nread > 0) {
        conn->last_read_ms = uv_now(conn->control->loop);
        rc = frame_reader_feed(&conn->reader, buf->base, (size_t)nread, NULL,
                               conn_frame, conn);
    }
    free(buf->base);
    if (rc == -EMSGSIZE)
        conn->control->stats.malformed++;
    if (nread < 0 || rc == -EMSGSIZE || rc == -ENOMEM)
        conn_close_now(conn);
}

static void on_connection(uv_stream_t *server, int status)
{
    control_t *control = server->data;
    control_conn_t *conn;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd;

    if (status < 0)
        return;
    conn = calloc(1, sizeof(*conn));
    if (!conn)
        return;
    uv_pipe_init(control->loop, &conn->pipe, 0);
    conn->pipe.data = conn;
    conn->control = control;
    frame_reader_init(&conn->reader, CONTROL_FRAME_MAX);
    conn->last_read_ms = uv_now(control->loop);
    control->open_handles++;
    control->nconns++;
    conn->next = control->conns;
    if (control->conns)
        control->conns->prev = conn;
    control->conns = conn;
    if (uv_accept(server, (uv_stream_t *)&conn->pipe) < 0
        || uv_fileno((uv_handle_t *)&conn->pipe, &fd) < 0
        || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        conn_close_now(conn);
        return;
    }
    conn->uid = cred.uid;
    conn->gid = cred.gid;
    conn->pid = cred.pid;
    if (control->nconns > CONTROL_CONNS_MAX) { /* this one counted */
        control->stats.over_limit++;
        conn_close_now(conn);
        return;
    }
    control->stats.accepted++;
    if (uv_read_start((uv_stream_t *)&conn->pipe, uvbuf_alloc, conn_read) < 0)
        conn_close_now(conn);
}

static void listener_closed(uv_handle_t *handle)
{
    control_release(handle->data);
}

/* A client that began a frame and stopped sending holds its buffer and
 * its connection: close it after CONTROL_STALL_MS. */
static void on_sweep(uv_timer_t *timer)
{
    control_t *control = timer->data;
    uint64_t now = uv_now(control->loop);
    control_conn_t *c = control->conns, *next;

    for (; c; c = next) {
        next = c->next;
        if (frame_reader_partial(&c->reader)
            && now - c->last_read_ms >= CONTROL_STALL_MS) {
            control->stats.stalled++;
            conn_close_now(c);
        }
    }
}

/* A socket file that no one answers on was left by a daemon that died. */
static int control_claim_path(const char *path, shoal_error_t *error)
{
    int fd;
    int rc = control_client_connect(path, &fd, NULL);

    if (rc == 0) {
        close(fd);
        return shoal_errprintf(error, -EADDRINUSE,
                               "a daemon is already listening on '%s'", path);
    }
    if (rc == -ECONNREFUSED && unlink(path) < 0 && errno != ENOENT)
        return shoal_errprintf(error, -errno, "cannot remove '%s': %s", path,
                               strerror(errno));
    return 0;
}

int control_create(uv_loop_t *loop,
                   const char *path,
                   control_t **out,
                   shoal_error_t *error)
{
    control_t *control;
    mode_t old_mask;
    int rc;

    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return shoal_errprintf(error, -ENAMETOOLONG,
                               "control socket path too long: '%s'", path);
    rc = control_claim_path(path, error);
    if (rc < 0)
        return rc;
    control = calloc(1, sizeof(*control));
    if (!control || !(control->path = strdup(path))) {
        free(control);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    control->loop = loop;
    uv_pipe_init(loop, &control->listener, 0);
    control->listener.data = control;
    uv_timer_init(loop, &control->sweep_timer);
    control->sweep_timer.data = control;
    control->open_handles = 2;
    /* every local user may connect (the ops check who they are); the
     * directory's mode decides who reaches the socket */
    old_mask = umask(0);
    rc = uv_pipe_bind(&control->listener, path);
    umask(old_mask);
    if (rc == 0 && chmod(path, 0666) < 0)
        rc = -errno;
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&control->listener, 64, on_connection);
    if (rc == 0) {
        rc = uv_timer_start(&control->sweep_timer, on_sweep, 1000, 1000);
        uv_unref((uv_handle_t *)&control->sweep_timer);
    }
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot listen on '%s': %s", path,
                        uv_strerror(rc));
        control->closing = true;
        uv_close((uv_handle_t *)&control->sweep_timer, listener_closed);
        uv_close((uv_handle_t *)&control->listener, listener_closed);
        return rc;
    }
    *out = control;
    return 0;
}

void control_destroy(control_t *control)
{
    if (!control || control->closing)
        return;
    control->closing = true;
    while (control->conns)
        conn_close_now(control->conns);
    unlink(control->path);
    uv_close((uv_handle_t *)&control->sweep_timer, listener_closed);
    uv_close((uv_handle_t *)&control->listener, listener_closed);
}

int control_on(control_t *control,
               const char *name,
               control_op_f *fn,
               void *arg)
{
    return control_on_class(control, name, CONTROL_OP_ADMIN, fn, arg);
}

int control_on_class(control_t *control,
                     const char *name,
                     enum control_op_class op_class,
                     control_op_f *fn,
                     void *arg)
{
    struct control_op *op;

    for (op = control->ops; op; op = op->next) {
        if (strcmp(op->name, name) == 0) {
            op->op_class = op_class;
            op->fn = fn;
            op->arg = arg;
            return 0;
        }
    }
    op = calloc(1, sizeof(*op));
    if (!op || !(op->name = strdup(name))) {
        free(op);
        return -ENOMEM;
    }
    op->op_class = op_class;
    op->fn = fn;
    op->arg = arg;
    op->next = control->ops;
    control->ops = op;
    return 0;
}

void control_get_stats(const control_t *control, struct control_stats *stats)
{
    *stats = control->stats;
}

size_t control_clients(const control_t *control)
{
    size_t n = 0;

    for (const struct control_conn *c = control->conns; c; c = c->next)
        n++;
    return n;
}

/* ---- client ---- */

int control_client_connect(const char *path, int *fd, shoal_error_t *error)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int s;

    if (strlen(path) >= sizeof(sun.sun_path))
        return shoal_errprintf(error, -ENAMETOOLONG,
                               "control socket path too long: '%s'", path);
    strcpy(sun.sun_path, path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return shoal_errprintf(error, -errno, "cannot make a socket: %s",
                               strerror(errno));
    if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int rc = -errno;

        close(s);
        return shoal_errprintf(error, rc, "cannot connect to '%s': %s", path,
                               strerror(-rc));
    }
    *fd = s;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int control_client_send_json(int fd, const json_t *obj)
{
    uint8_t *f;
    size_t len;
    int rc = control_frame_encode_json(obj, &f, &len);

    if (rc < 0)
        return rc;
    rc = write_all(fd, f, len);
    free(f);
    return rc;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read exactly len bytes by the deadline (0: none). */
static int read_all(int fd, uint8_t *p, size_t len, uint64_t deadline)
{
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int timeout = -1;
        ssize_t n;

        if (deadline) {
            uint64_t now = mono_ms();

            if (now >= deadline)
                return -ETIMEDOUT;
            timeout = (int)(deadline - now);
        }
        n = poll(&pfd, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
        n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int control_client_recv(int fd, int timeout_ms, uint8_t **body, size_t *len)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : mono_ms() + (uint64_t)timeout_ms;
    uint8_t head[5];
    size_t n = 0;
    uint8_t *b;
    int rc;

    rc = read_all(fd, head, 4, deadline);
    if (rc < 0)
        return rc;
    rc = read_all(fd, head + 4, 1, deadline);
    if (rc < 0)
        return rc;
    if (control_frame_next(head, 5, &n) < 0)
        return SHOAL_EPROTO;
    n = (size_t)bytes_get_be(head, 4);
    b = malloc(n);
    if (!b)
        return -ENOMEM;
    b[0] = head[4];
    rc = read_all(fd, b + 1, n - 1, deadline);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *body = b;
    *len = n;
    return 0;
}

int control_client_recv_json(int fd,
                             int timeout_ms,
                             json_t **reply,
                             shoal_error_t *error)
{
    uint8_t *body;
    size_t len;
    int rc;

    for (;;) {
        rc = control_client_recv(fd, timeout_ms, &body, &len);
        if (rc == -ETIMEDOUT)
            return shoal_errprintf(error, rc, "the daemon did not answer");
        if (rc == -EPIPE)
            return shoal_errprintf(error, rc,
                                   "the daemon closed the connection");
        if (rc < 0)
            return shoal_errprintf(error, rc, "cannot read from the daemon: %s",
                                   shoal_strerror(rc));
        if (body[0] == CONTROL_KIND_JSON)
            break;
        free(body); /* data frames are not an answer */
    }
    rc = control_frame_decode_json(body, len, reply, error);
    free(body);
    return rc;
}

int control_client_request(int fd,
                           const json_t *request,
                           int timeout_ms,
                           json_t **reply,
                           shoal_error_t *error)
{
    int rc = control_client_send_json(fd, request);

    if (rc == -EPIPE || rc == -ECONNRESET)
        return shoal_errprintf(error, -EPIPE,
                               "the daemon closed the connection");
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot send to the daemon: %s",
                               strerror(-rc));
    return control_client_recv_json(fd, timeout_ms, reply, error);
}
