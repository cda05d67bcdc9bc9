/* SPDX-License-Identifier: MIT */
/* rank_set.h - the processes of the ranks a node runs, on an event loop.
 *
 * This is the part of running ranks that is the same whether this process
 * runs a whole job (local_job) or one node's share of it (node_job): spawn
 * each rank bound, with its identity in its environment and a PMI socket;
 * read its stdout, stderr and PMI socket; reap it; and end the ranks with
 * SIGTERM, then SIGKILL after a grace period. What the bytes mean and what
 * a rank's end means is the owner's business, told through callbacks.
 *
 * Each rank runs in a process group of its own; a rank that exits takes its
 * group with it (SIGKILL), so nothing a rank left behind survives it. The
 * set watches SIGCHLD itself and reaps only its own pids. Not thread-safe;
 * callbacks run from the loop, never from a rank_set_* call unless said. */
#ifndef SHOAL_RUNTIME_JOB_RANK_SET_H
#define SHOAL_RUNTIME_JOB_RANK_SET_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util/spawn.h"

#include <shoal/error.h>

typedef struct rank_set rank_set_t;

enum rank_set_stream {
    RANK_SET_STDOUT = 1,
    RANK_SET_STDERR = 2,
};

struct rank_set_ops {
    /* len bytes the rank at index wrote (borrowed for the call); len 0:
     * that stream reached its end. Required. */
    void (*output)(int index,
                   enum rank_set_stream stream,
                   const char *buf,
                   size_t len,
                   void *arg);
    /* bytes read from the rank's PMI socket. Required. */
    void (*pmi_input)(int index, const char *buf, size_t len, void *arg);
    /* The rank was reaped: wstatus as from waitpid(); killed when the set
     * had sent it SIGTERM or SIGKILL. Required. */
    void (*exited)(int index, int wstatus, bool killed, void *arg);
    /* Every started rank is reaped and every output stream closed (or
     * given up on: see rank_set_seal()); the set's handles are closing.
     * Called once. Required. */
    void (*idle)(void *arg);
};

struct rank_set_config {
    uv_loop_t *loop;
    int nranks;             /* ranks of this set */
    const int *ranks;       /* global rank of each; NULL for 0..nranks-1 */
    int size;               /* ranks in the whole job */
    const char *path;       /* resolved program */
    char *const *argv;      /* NULL-terminated */
    char *const *env;       /* -x list, NULL-terminated, or NULL */
    const char *wdir;       /* or NULL */
    cpu_set_t *const *cpus; /* nranks entries (NULL = unbound), or NULL */
    double kill_grace;      /* seconds between SIGTERM and SIGKILL */
    /* the user the ranks run as (switched in the child before exec), or
     * NULL: the launcher's own */
    const struct spawn_user *user;
};

/* Create a set; nothing is started. The config's strings and arrays are
 * borrowed and must outlive the set. Returns 0 and sets *out, or a negative
 * errno with error filled. */
int rank_set_create(const struct rank_set_config *config,
                    const struct rank_set_ops *ops,
                    void *arg,
                    rank_set_t **out,
                    shoal_error_t *error);

/* Start the rank at index with stdin_fd as its fd 0 (not closed here).
 * Returns 0, or a negative errno with error filled ("cannot execute ...");
 * the rank is then not running. */
int rank_set_start(rank_set_t *set,
                   int index,
                   int stdin_fd,
                   shoal_error_t *error);

/* rank_set_start() with extra "VAR=value" strings (NULL-terminated, or
 * NULL) added to the rank's environment, e.g. its PMIx server's. */
int rank_set_start_env(rank_set_t *set,
                       int index,
                       int stdin_fd,
                       char *const *extra_env,
                       shoal_error_t *error);

/* Say that every rank that will be started is: from now on the set reports
 * idle once nothing is left. Reaps ranks that ended already; may call ops
 * (exited, idle) before it returns. Output still open 5 seconds after the
 * last rank ended belongs to an escaped process and is closed. */
void rank_set_seal(rank_set_t *set);

/* Send sig to every live rank's process group. */
void rank_set_signal(rank_set_t *set, int sig);

/* Send sig to the process group of the rank at index, if it is live; an
 * index out of range is ignored. */
void rank_set_signal_rank(rank_set_t *set, int index, int sig);

/* SIGTERM now, SIGKILL after the grace period; calling it again changes
 * nothing. */
void rank_set_terminate(rank_set_t *set);

/* SIGKILL to every live rank now. */
void rank_set_kill(rank_set_t *set);

/* Stop (pause) or resume reading every rank's output, for back-pressure. */
void rank_set_pause_output(rank_set_t *set, bool pause);

/* Close one output stream of a rank: its reader is gone, so the rank meets
 * a broken pipe on its next write. ops->output gets its end (len 0). */
void rank_set_close_output(rank_set_t *set,
                           int index,
                           enum rank_set_stream stream);

/* Send bytes on a rank's PMI socket. Returns 0, -EPIPE when it is closed,
 * or a negative errno. */
int rank_set_pmi_send(rank_set_t *set, int index, const char *buf, size_t len);

/* Stop listening to a rank's PMI socket (a faulty rank). */
void rank_set_pmi_close(rank_set_t *set, int index);

/* How many started ranks are not reaped yet. */
int rank_set_live(const rank_set_t *set);

/* Close every handle of the set (without killing anything), so the loop
 * can end; idle will not be called any more. */
void rank_set_close(rank_set_t *set);

/* Free the set; NULL is accepted. Only once the loop has run the close
 * callbacks (after idle or rank_set_close(), and a uv_run()). */
void rank_set_destroy(rank_set_t *set);

#endif
