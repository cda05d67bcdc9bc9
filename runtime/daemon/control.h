/* SPDX-License-Identifier: MIT */
/* control.h - the node's local control socket, server and client.
 *
 * Commands on the node talk to its daemon over a UNIX stream socket in
 * the daemon's directory (control.sock, mode 0666: the directory decides
 * who reaches it); where no daemon runs, the task service a command starts
 * (`shoal taskd`) serves the same socket with this same server. Every
 * local user may connect; the server reads the caller's uid and gid at
 * accept time (SO_PEERCRED), and that, never a field of a message, is who
 * the caller is. Each op has a class (control_op_class): admin ops are
 * for root and the daemon's own user only, and refused to others here;
 * read, submit and owner ops are open, and their handlers decide what a
 * caller may see or touch (a job's owner or root: control_conn_may()).
 *
 * Both ways the stream is a sequence of frames: a u32 big-endian length
 * (at most CONTROL_FRAME_MAX) and that many bytes of body, whose first
 * byte is its kind: 'J' a JSON object (a request {"op": "...", ...} or a
 * reply {"ok": true, ...} / {"ok": false, "error": "text", "code": N}),
 * 'D' binary data (relayed job frames). A connection may stay open and
 * carry any number of frames both ways: an op handler gets the connection,
 * may keep it, send on it later, take over its later frames, and is told
 * when it closes.
 *
 * The server runs on a libuv loop and is not thread-safe. The client half
 * is blocking and meant for commands. */
#ifndef SHOAL_RUNTIME_DAEMON_CONTROL_H
#define SHOAL_RUNTIME_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include <shoal/error.h>

enum control_limit {
    CONTROL_FRAME_MAX = 16 << 20,
    CONTROL_FRAME_HEAD = 4 + 1, /* the length and the kind byte */
    /* connections at once; more are closed at accept and counted */
    CONTROL_CONNS_MAX = 256,
    /* a frame begun and not finished for this long closes its connection */
    CONTROL_STALL_MS = 30000,
};

enum control_kind {
    CONTROL_KIND_JSON = 'J',
    CONTROL_KIND_DATA = 'D',
};

/* ---- frame codec (pure) ---- */

/* Look at the len bytes at the start of a stream buffer. Returns 1 and
 * sets *body_len when a whole frame is there (its body, kind byte first,
 * starts at buf + 4), 0 when more bytes are needed, -EMSGSIZE when the
 * frame is longer than CONTROL_FRAME_MAX, -EBADMSG when its body is empty
 * or of an unknown kind. */
int control_frame_next(const void *buf, size_t len, size_t *body_len);

/* Write the head of a frame of the given kind whose len bytes of payload
 * the caller sends right after it: the body's length (kind byte included)
 * and the kind byte. Returns 0, or -EMSGSIZE, writing nothing, when the
 * body would be longer than CONTROL_FRAME_MAX. */
int control_frame_head(uint8_t head[CONTROL_FRAME_HEAD],
                       enum control_kind kind,
                       size_t len);

/* Encode a frame of the given kind holding len bytes of payload. Returns 0
 * and sets *out (caller frees with free()) and *out_len, or -EMSGSIZE or
 * -ENOMEM. */
int control_frame_encode(enum control_kind kind,
                         const void *payload,
                         size_t len,
                         uint8_t **out,
                         size_t *out_len);

/* Encode obj (borrowed) as a 'J' frame, as control_frame_encode(). */
int control_frame_encode_json(const json_t *obj, uint8_t **out, size_t *len);

/* Decode the body of a 'J' frame (kind byte included). Returns 0 and sets
 * *out (a new reference: json_decref() it), or SHOAL_EPROTO with error
 * (may be NULL) filled when it is not a JSON object. */
int control_frame_decode_json(const void *body,
                              size_t len,
                              json_t **out,
                              shoal_error_t *error);

/* ---- server ---- */

typedef struct control control_t;
typedef struct control_conn control_conn_t;

/* An op's handler. request is borrowed for the call; conn stays valid
 * until its close handler returns (see control_conn_set_handlers()), or
 * until this call returns if the handler sets none. The handler answers
 * with control_reply*() now or later. */
typedef void control_op_f(control_conn_t *conn, json_t *request, void *arg);

/* A frame on a connection taken over by control_conn_set_handlers();
 * body starts with the kind byte and is borrowed for the call. */
typedef void
control_frame_f(control_conn_t *conn, const void *body, size_t len, void *arg);

/* The connection is closing; conn is freed when this returns. */
typedef void control_close_f(control_conn_t *conn, void *arg);

struct control_stats {
    uint64_t accepted;
    uint64_t refused; /* another user */
    uint64_t requests;
    uint64_t unknown_ops;
    uint64_t malformed;  /* bad frames: the connection is closed */
    uint64_t over_limit; /* past CONTROL_CONNS_MAX */
    uint64_t stalled;    /* a frame left unfinished CONTROL_STALL_MS */
};

/* Listen on the UNIX socket at path, mode 0600. A socket file left by a
 * daemon that is gone is replaced; one that answers is not: -EADDRINUSE.
 * Returns 0 and sets *out, or a negative code with error (may be NULL)
 * filled. */
int control_create(uv_loop_t *loop,
                   const char *path,
                   control_t **out,
                   shoal_error_t *error);

/* Close the listener and every connection (their close handlers run),
 * remove the socket file, and free the server once the loop has run the
 * close callbacks. NULL is accepted. */
void control_destroy(control_t *control);

/* Who may call an op. */
enum control_op_class {
    /* root and the daemon's user only: stop, leave, stats, the
     * checkpoint service's internals */
    CONTROL_OP_ADMIN = 0,
    /* everyone: status, listings (the handler hides others' private
     * details) */
    CONTROL_OP_READ,
    /* everyone: the job is recorded as the caller's */
    CONTROL_OP_SUBMIT,
    /* everyone, but the handler acts only on the caller's own jobs unless
     * the caller is root (cancel, remove, kill) */
    CONTROL_OP_OWNER,
};

/* Whether a caller of uid may call an op of class on a server whose
 * effective uid is server_uid (the accept-time check; owner checks are
 * the handler's). Pure. */
bool control_op_permitted(enum control_op_class op_class,
                          uint32_t uid,
                          uint32_t server_uid);

/* Whether a caller of uid may act on a job owned by owner: its owner,
 * root, or the server's own user. Pure. */
bool control_may_act_on(uint32_t uid, uint32_t owner, uint32_t server_uid);

/* Call fn for requests whose "op" is op (copied), of class CONTROL_OP_ADMIN.
 * A later registration of op replaces the earlier one. Returns 0 or
 * -ENOMEM. */
int control_on(control_t *control, const char *op, control_op_f *fn, void *arg);

/* As control_on(), with the op's class. */
int control_on_class(control_t *control,
                     const char *op,
                     enum control_op_class op_class,
                     control_op_f *fn,
                     void *arg);

/* Send obj (borrowed) as a 'J' frame. Returns 0, -ENOBUFS when the client
 * has not read CONTROL_FRAME_MAX x 2 bytes already queued, -EPIPE when the
 * connection is closing, or -ENOMEM. */
int control_send_json(control_conn_t *conn, const json_t *obj);

/* Send len bytes as a 'D' frame; as control_send_json(). */
int control_send_data(control_conn_t *conn, const void *buf, size_t len);

/* Reply {"ok": true} merged with fields (a JSON object whose reference is
 * stolen; NULL for none). Returns as control_send_json(). */
int control_reply(control_conn_t *conn, json_t *fields);

/* Reply {"ok": false, "error": text, "code": code}. */
int control_reply_error(control_conn_t *conn, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Take over conn: its later frames go to frame (NULL: dispatched as ops,
 * as before), and close is called when it closes (NULL: not told). */
void control_conn_set_handlers(control_conn_t *conn,
                               control_frame_f *frame,
                               control_close_f *close,
                               void *arg);

/* Close conn once what is queued on it has been written. */
void control_conn_close(control_conn_t *conn);

/* The caller's user and group ids, from SO_PEERCRED. */
uint32_t control_conn_uid(const control_conn_t *conn);
uint32_t control_conn_gid(const control_conn_t *conn);

/* The caller's process id, from SO_PEERCRED (in this daemon's pid
 * namespace; 0 when the caller's is not visible from it). */
int32_t control_conn_pid(const control_conn_t *conn);

/* control_may_act_on() for conn's caller and this server. */
bool control_conn_may(const control_conn_t *conn, uint32_t owner);

/* Copy the counters into *stats. */
void control_get_stats(const control_t *control, struct control_stats *stats);

/* The number of connections open now (a server with none may be idle). */
size_t control_clients(const control_t *control);

/* ---- client ---- */

/* Connect to the control socket at path. Returns 0 and sets *fd, or
 * -ENOENT / -ECONNREFUSED (no daemon) or another negative errno, with
 * error (may be NULL) filled. */
int control_client_connect(const char *path, int *fd, shoal_error_t *error);

/* Send obj (borrowed) as a 'J' frame. Returns 0 or a negative errno. */
int control_client_send_json(int fd, const json_t *obj);

/* Read one frame, waiting at most timeout_ms (-1: forever). Returns 0 and
 * sets *body (kind byte first; caller frees with free()) and *len,
 * -ETIMEDOUT, -EPIPE at end of stream, SHOAL_EPROTO for a bad frame, or a
 * negative errno. */
int control_client_recv(int fd, int timeout_ms, uint8_t **body, size_t *len);

/* Read frames until a JSON one, waiting at most timeout_ms for each (-1:
 * forever); data frames are skipped. Returns 0 and sets *reply (a new
 * reference), or a negative code with error (may be NULL) filled: -EPIPE
 * at end of stream, -ETIMEDOUT, SHOAL_EPROTO for a bad frame. */
int control_client_recv_json(int fd,
                             int timeout_ms,
                             json_t **reply,
                             shoal_error_t *error);

/* Send request and wait for its JSON reply. Returns 0 and sets *reply (a
 * new reference), or a negative code with error (may be NULL) filled. A
 * reply {"ok": false} is returned as 0: the caller looks. */
int control_client_request(int fd,
                           const json_t *request,
                           int timeout_ms,
                           json_t **reply,
                           shoal_error_t *error);

#endif
