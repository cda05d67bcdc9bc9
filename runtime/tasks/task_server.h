/* SPDX-License-Identifier: MIT */
/* task_server.h - the control socket, served by a node that runs only the
 * task service (taskd) until the node daemon carries it.
 *
 * Protocol (the control protocol of the pool plan): a UNIX stream socket;
 * frames of a u32 big-endian length (<= 16 MiB) and a body whose first byte
 * is 'J' followed by a JSON object. A request is {"op": ...}; replies are
 * JSON objects, several for a stream. A peer of another uid (other than
 * root) is refused at accept time (SO_PEERCRED). The socket is made mode
 * 0600. */
#ifndef SHOAL_RUNTIME_TASKS_TASK_SERVER_H
#define SHOAL_RUNTIME_TASKS_TASK_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/tasks/taskd.h"

enum { TASK_SERVER_FRAME_MAX = 16 << 20 };

struct task_server;

/* Listen on path (an existing stale socket is replaced) for requests to t.
 * Returns 0 and sets *out, or a negative code with error filled. */
int task_server_create(uv_loop_t *loop,
                       const char *path,
                       struct taskd *t,
                       struct task_server **out,
                       shoal_error_t *error);

/* Stop listening, close every connection, remove the socket; the loop must
 * run to release it. NULL is accepted. */
void task_server_destroy(struct task_server *s);

/* Number of open client connections. */
size_t task_server_clients(const struct task_server *s);

/* Whether a "stop" request was received. */
bool task_server_stop_requested(const struct task_server *s);

#endif
