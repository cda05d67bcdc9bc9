/* SPDX-License-Identifier: MIT */
/* pmi_server.h - the PMI-1 "simple" wire protocol, server side.
 *
 * A pmi_server holds one job's key-value space and serves the ranks of that
 * job that run on this node (all of them on a single node). It does no I/O:
 * the owner feeds it the bytes read from each rank's PMI_FD socket with
 * pmi_server_input() and it answers through the ops callbacks. This keeps
 * the protocol state machine testable on its own and lets the launcher own
 * the event loop.
 *
 * The barrier is split in two so that a pool can join several nodes' servers:
 * when every local rank has sent barrier_in, ops->barrier_enter() is called;
 * the owner calls pmi_server_barrier_release() once the job-wide barrier is
 * complete (at once on a single node), and every local rank gets
 * barrier_out. Not thread-safe: one thread drives a server. */
#ifndef SHOAL_RUNTIME_PMI_SERVER_H
#define SHOAL_RUNTIME_PMI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

typedef struct pmi_server pmi_server_t;

struct pmi_server_ops {
    /* Send len bytes of reply to rank. Returns 0 or a negative errno; a
     * failure is reported back by pmi_server_input(). Required. */
    int (*send)(int rank, const char *buf, size_t len, void *arg);
    /* rank sent `cmd=abort`: the job must end with exitcode. msg is the
     * rank's text, or NULL; borrowed for the call. Required. */
    void (*abort)(int rank, int exitcode, const char *msg, void *arg);
    /* Every local rank has entered the barrier. Optional: when NULL the
     * barrier is released at once (single node). */
    void (*barrier_enter)(pmi_server_t *server, void *arg);
    /* rank sent `cmd=finalize` (already acknowledged). Optional. */
    void (*finalize)(int rank, void *arg);
};

struct pmi_server_config {
    int size;                    /* ranks in the job (PMI_SIZE) */
    int nlocal;                  /* how many of them this server serves */
    const int *local_ranks;      /* their ranks; NULL means 0..size-1 */
    int appnum;                  /* answered to get_appnum */
    int universe_size;           /* answered to get_universe_size */
    const char *kvsname;         /* copied; at most 63 characters */
    const char *process_mapping; /* value of PMI_process_mapping; copied */
};

/* Upper bounds answered to get_maxes and enforced on every message. */
enum pmi_server_limit {
    PMI_SERVER_KVSNAME_MAX = 64,
    PMI_SERVER_KEYLEN_MAX = 64,
    PMI_SERVER_VALLEN_MAX = 1024,
    /* a whole line: command, keys, value and separators */
    PMI_SERVER_LINE_MAX = 2048,
};

/* Create a server. Returns 0 and sets *out, or a negative errno with error
 * filled (bad config: -EINVAL). The caller destroys it. */
int pmi_server_create(const struct pmi_server_config *config,
                      const struct pmi_server_ops *ops, void *arg,
                      pmi_server_t **out, shoal_error_t *error);

/* Destroy a server; NULL is accepted. */
void pmi_server_destroy(pmi_server_t *server);

/* Feed len bytes read from rank's socket. Lines may arrive split or several
 * at once; each complete line is handled in order. Returns 0, or a negative
 * code with error filled naming the rank and the fault: SHOAL_EPROTO for a
 * malformed, unknown or oversized message or a rank that is not local, or
 * the error of ops->send. After a failure the rank must be treated as
 * broken (the job aborted); the server itself stays usable. */
int pmi_server_input(pmi_server_t *server, int rank, const char *buf,
                     size_t len, shoal_error_t *error);

/* Complete a barrier that ops->barrier_enter announced: send barrier_out to
 * every local rank. Returns 0, -EINVAL if no barrier is waiting, or the
 * error of ops->send. */
int pmi_server_barrier_release(pmi_server_t *server, shoal_error_t *error);

/* Whether rank has sent init / finalize. False for ranks not local. */
bool pmi_server_rank_initialized(const pmi_server_t *server, int rank);
bool pmi_server_rank_finalized(const pmi_server_t *server, int rank);

/* Store key=value in the job's space as if a rank had put it (used to merge
 * other nodes' puts). Returns 0 or -EINVAL/-E2BIG/-ENOMEM. */
int pmi_server_kvs_put(pmi_server_t *server, const char *key,
                       const char *value);

/* Look key up. Returns the value (borrowed, valid until the server is
 * destroyed or the key is put again) or NULL. */
const char *pmi_server_kvs_get(const pmi_server_t *server, const char *key);

/* Call fn for every key put since the last barrier release (the puts a pool
 * must exchange); stops early when fn returns non-zero and returns that. */
int pmi_server_kvs_foreach_new(const pmi_server_t *server,
                               int (*fn)(const char *key, const char *value,
                                         void *arg),
                               void *arg);

#endif
