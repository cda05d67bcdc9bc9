/* SPDX-License-Identifier: MIT */
/* task_server.c - control socket for the task service. */
#include "runtime/tasks/task_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/daemon/control.h"
#include "util/bytes.h"

struct task_conn {
    uv_pipe_t pipe;
    struct task_server *server;
    char *buf;
    size_t len, cap;
    struct taskd_stream *stream;
    bool closing;
    struct task_conn *next;
};

struct task_server {
    uv_pipe_t listener;
    struct taskd *taskd;
    char *path;
    struct task_conn *conns;
    size_t nconns;
    bool stop;
    bool listening;
};

static void task_conn_close_cb(uv_handle_t *h)
{
    struct task_conn *c = h->data;

    free(c->buf);
    free(c);
}

static void task_conn_close(struct task_conn *c)
{
    struct task_conn **p = &c->server->conns;

    if (c->closing)
        return;
    c->closing = true;
    if (c->stream)
        taskd_stream_close(c->stream);
    c->stream = NULL;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p) {
        *p = c->next;
        c->server->nconns--;
    }
    uv_close((uv_handle_t *)&c->pipe, task_conn_close_cb);
}

static void task_conn_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void task_conn_send(struct task_conn *c, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    uv_write_t *req;
    uint8_t *frame;
    uv_buf_t b;

    if (!text || c->closing)
        goto out;
    req = malloc(sizeof(*req) + CONTROL_FRAME_HEAD + len);
    if (!req)
        goto out;
    frame = (uint8_t *)(req + 1);
    if (control_frame_head(frame, CONTROL_KIND_JSON, len) < 0) {
        free(req);
        goto out;
    }
    memcpy(frame + CONTROL_FRAME_HEAD, text, len);
    b = uv_buf_init((char *)frame, (unsigned int)(CONTROL_FRAME_HEAD + len));
    if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, task_conn_write_cb) < 0)
        free(req);
out:
    free(text);
}

static void task_conn_reply(const json_t *msg, bool final, void *arg)
{
    struct task_conn *c = arg;

    task_conn_send(c, msg);
    if (final)
        c->stream = NULL;
}

static void task_conn_error(struct task_conn *c, int code, const char *text)
{
    json_t *msg =
        json_pack("{s:b, s:s, s:i}", "ok", 0, "error", text, "code", code);

    task_conn_send(c, msg);
    json_decref(msg);
}

static void task_conn_request(struct task_conn *c, const char *body, size_t n)
{
    json_t *req;
    const char *op;
    int rc;

    if (n < 1 || body[0] != CONTROL_KIND_JSON) {
        task_conn_error(c, SHOAL_EPROTO, "expected a JSON frame");
        return;
    }
    req = json_loadb(body + 1, n - 1, 0, NULL);
    op = json_string_value(json_object_get(req, "op"));
    if (!op) {
        task_conn_error(c, SHOAL_EPROTO, "request without op");
    } else if (strcmp(op, "ping") == 0) {
        json_t *msg = json_pack("{s:b, s:i}", "ok", 1, "pid", (int)getpid());

        task_conn_send(c, msg);
        json_decref(msg);
    } else if (strcmp(op, "stop") == 0) {
        json_t *msg = json_pack("{s:b}", "ok", 1);

        task_conn_send(c, msg);
        json_decref(msg);
        c->server->stop = true;
    } else {
        if (c->stream)
            taskd_stream_close(c->stream);
        c->stream = NULL;
        rc = taskd_control(c->server->taskd, op, req, task_conn_reply, c,
                           &c->stream);
        if (rc == -ENOSYS)
            task_conn_error(c, -ENOSYS, "unknown operation");
    }
    json_decref(req);
}

static void task_conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct task_conn *c = h->data;

    (void)hint;
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *nb = realloc(c->buf, cap);

        if (nb) {
            c->buf = nb;
            c->cap = cap;
        }
    }
    *b = uv_buf_init(c->buf + c->len, (unsigned int)(c->cap - c->len));
}

static void task_conn_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct task_conn *c = st->data;
    size_t off = 0;

    (void)b;
    if (n < 0) {
        task_conn_close(c);
        return;
    }
    c->len += (size_t)n;
    while (c->len - off >= 4) {
        const uint8_t *p = (const uint8_t *)c->buf + off;
        size_t flen = (size_t)bytes_get_be(p, 4);

        if (flen > TASK_SERVER_FRAME_MAX) {
            task_conn_close(c);
            return;
        }
        if (c->len - off - 4 < flen)
            break;
        task_conn_request(c, c->buf + off + 4, flen);
        off += 4 + flen;
        if (c->closing)
            return;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void task_server_connection_cb(uv_stream_t *l, int status)
{
    struct task_server *s = l->data;
    struct task_conn *c;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    uv_os_fd_t fd;

    if (status < 0)
        return;
    c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->server = s;
    uv_pipe_init(l->loop, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->pipe) < 0) {
        uv_close((uv_handle_t *)&c->pipe, task_conn_close_cb);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0
        || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0
        || (cred.uid != getuid() && cred.uid != 0)) {
        task_conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, task_conn_alloc_cb,
                  task_conn_read_cb);
}

static void task_server_close_cb(uv_handle_t *h)
{
    struct task_server *s = h->data;

    free(s->path);
    free(s);
}

int task_server_create(uv_loop_t *loop,
                       const char *path,
                       struct taskd *t,
                       struct task_server **out,
                       shoal_error_t *error)
{
    struct task_server *s = calloc(1, sizeof(*s));
    mode_t old;
    int rc;

    if (!s || !(s->path = strdup(path))) {
        free(s);
        return -ENOMEM;
    }
    s->taskd = t;
    uv_pipe_init(loop, &s->listener, 0);
    s->listener.data = s;
    unlink(path);
    old = umask(0177);
    rc = uv_pipe_bind(&s->listener, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 128,
                       task_server_connection_cb);
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot listen on '%s': %s", path,
                        uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, task_server_close_cb);
        return rc;
    }
    s->listening = true;
    *out = s;
    return 0;
}

void task_server_destroy(struct task_server *s)
{
    if (!s)
        return;
    while (s->conns)
        task_conn_close(s->conns);
    if (s->listening)
        unlink(s->path);
    uv_close((uv_handle_t *)&s->listener, task_server_close_cb);
}

size_t task_server_clients(const struct task_server *s)
{
    return s->nconns;
}

bool task_server_stop_requested(const struct task_server *s)
{
    return s->stop;
}
