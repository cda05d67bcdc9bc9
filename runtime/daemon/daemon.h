/* SPDX-License-Identifier: MIT */
/* daemon.h - the node daemon: membership, transport and control, tied
 * together on one libuv loop.
 *
 * A daemon keeps its state in one directory: node-id (a random 64-bit id
 * made on first start and kept, so a restarted daemon is the same node),
 * control.sock, daemon.pid. It seals every message with the pool key,
 * keeps a SWIM member table whose payload is this node's summary
 * (runtime/member/node_summary.h, its load refreshed every few seconds), joins
 * the pool through seeds (retried while it is alone) or by discovery (a
 * sealed UDP broadcast on its port: daemons with the same key answer by
 * joining; others' broadcasts fail authentication and are counted), and
 * answers the control ops "ping", "status", "stats" and "stop".
 *
 * Other parts of the runtime plug in through the registration calls
 * below: frames of their seal types (claims 16-31, jobs 32-63, tasks
 * 64-95), member events and control ops. Everything runs on the loop's
 * thread; no call is thread-safe, and callbacks may call back into the
 * daemon unless they say otherwise. */
#ifndef SHOAL_RUNTIME_DAEMON_DAEMON_H
#define SHOAL_RUNTIME_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <shoal/error.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/usercred.h"
#include "runtime/member/member.h"
#include "runtime/member/node_summary.h"

enum daemon_limit {
    DAEMON_DEFAULT_PORT = 7911,
    /* seal types below this are the daemon's own (membership, discovery) */
    DAEMON_FRAME_FIRST = 16,
};

typedef struct daemon daemon_t;

struct daemon_config {
    const char *dir;       /* required; created if missing (mode 0700) */
    const char *key_path;  /* NULL: DIR/pool.key */
    const char *listen;    /* "ADDR:PORT"; NULL: 0.0.0.0:7911 */
    const char *advertise; /* ADDR[:PORT]; NULL: see below */
    const char *join;      /* "HOST:PORT,..." of seeds, numeric; or NULL */
    bool discover;         /* broadcast for peers while alone */
    const char *name;      /* NULL: the host name */
    const char *topology;  /* NULL: SHOAL_TOPOLOGY, else this machine */
    /* the PUs (OS indexes, "0-3,8") jobs are placed and bound on, a part
     * of what this process may use (a Slurm step's CPUs); NULL: all */
    const char *cpus;
    /* who jobs run as and how other nodes' claims are checked
     * (usercred.h); NULL: the pool key's trust, unknown users refused */
    const struct usercred_config *credentials;
};

/* A member with its decoded summary. has_summary is false when its
 * payload could not be decoded (a newer or broken daemon). */
struct daemon_member {
    uint64_t id;
    char name[MEMBER_NAME_MAX + 1];
    struct member_addr addr;
    enum member_state state;
    uint32_t incarnation;
    uint64_t since_ms; /* when it entered its state (monotonic ms) */
    bool self;
    bool has_summary;
    struct node_summary summary;
};

/* Set up a daemon: directory, node id, key, summary, sockets, control
 * socket, pid file, signal handlers (SIGTERM, SIGINT: leave). Nothing
 * runs until daemon_run(). The advertised address is advertise, else the
 * listen address, else (listening on 0.0.0.0) the first non-loopback
 * IPv4 address. Returns 0 and sets *out, or a negative code with error
 * filled (bad key file, port in use, a daemon already running in dir,
 * ...); nothing is left open then. */
int daemon_create(const struct daemon_config *config,
                  daemon_t **out,
                  shoal_error_t *error);

/* Run the loop until the daemon has left the pool (daemon_stop(), a
 * signal, or the "stop" op). Returns 0. */
int daemon_run(daemon_t *d);

/* Leave gracefully: tell the pool, keep gossiping for a few intervals so
 * the news spreads, then close everything and make daemon_run() return. */
void daemon_stop(daemon_t *d);

/* Free d after daemon_run() returned (or instead of running it). Removes
 * the pid file and control socket. NULL is accepted. */
void daemon_destroy(daemon_t *d);

uv_loop_t *daemon_loop(daemon_t *d);

/* The node's user credentials (usercred.h), borrowed for d's life. */
usercred_t *daemon_usercred(daemon_t *d);
uint64_t daemon_node_id(const daemon_t *d);

/* The PUs jobs are placed and bound on (config's cpus), or NULL for all
 * this process may use. */
const char *daemon_cpus(const daemon_t *d);

/* This node's name in the pool (--name, else the host name). */
const char *daemon_name(const daemon_t *d);

/* A frame of a registered type from node from_node (authenticated; this
 * node for frames it sent itself). body is borrowed for the call. */
typedef void daemon_frame_f(daemon_t *d,
                            uint64_t from_node,
                            uint8_t type,
                            const void *body,
                            size_t len,
                            void *arg);

/* Deliver frames of types first..last (>= DAEMON_FRAME_FIRST) to fn; a
 * later registration of a type replaces the earlier one. Returns 0 or
 * -EINVAL. */
int daemon_on_frame(
    daemon_t *d, uint8_t first, uint8_t last, daemon_frame_f *fn, void *arg);

/* Send body as a frame of type to node: reliable and in order per
 * destination, over TCP; to this node it is delivered through the loop,
 * never re-entrantly. Returns 0, -ENOENT (node unknown), -EHOSTDOWN
 * (node dead or left), -EMSGSIZE, -ENOBUFS (its queue is full), or
 * another negative errno. */
int daemon_send(
    daemon_t *d, uint64_t node, uint8_t type, const void *body, size_t len);

/* A member event (join, suspect, alive, dead, leave, update, reap) about
 * another node. member is borrowed for the call. The callback must not
 * call daemon_members() (the member table is in the middle of a change);
 * it may call daemon_send(). */
typedef void daemon_member_f(daemon_t *d,
                             enum member_event_kind kind,
                             const struct daemon_member *member,
                             void *arg);

/* Add a member event listener. Returns 0 or -ENOMEM. */
int daemon_on_member(daemon_t *d, daemon_member_f *fn, void *arg);

/* Serve control op on the daemon's control socket (see control.h). The
 * daemon's own ops may be replaced. Returns 0 or -ENOMEM. */
int daemon_on_control(daemon_t *d, const char *op, control_op_f *fn, void *arg);

/* As daemon_on_control(), with the op's class (control.h). */
int daemon_on_control_class(daemon_t *d,
                            const char *op,
                            enum control_op_class op_class,
                            control_op_f *fn,
                            void *arg);

/* A snapshot of every member known, this node included. Returns 0 and
 * sets *out (caller frees with free()) and *n, or -ENOMEM. */
int daemon_members(daemon_t *d, struct daemon_member **out, size_t *n);

/* This node's summary (borrowed, valid until the next call). */
const struct node_summary *daemon_summary(const daemon_t *d);

/* Replace this node's summary (copied; e.g. its free cores and claims
 * generation) and tell the pool. Returns 0, -EINVAL or -EMSGSIZE. */
int daemon_set_summary(daemon_t *d, const struct node_summary *summary);

/* The daemon's counters as a JSON object (a new reference), as the
 * "stats" op returns them. */
json_t *daemon_stats_json(daemon_t *d);

/* Add a service's counters to the daemon's (stats, borrowed for the
 * call), as a group of its own. */
typedef void daemon_stats_f(daemon_t *d, json_t *stats, void *arg);

/* Call fn whenever the counters are asked for. Returns 0 or -ENOMEM. */
int daemon_on_stats(daemon_t *d, daemon_stats_f *fn, void *arg);

#endif
