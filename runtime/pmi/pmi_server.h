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
 * barrier_out. Not thread-safe: one thread drives a server. The callbacks
 * must not call pmi_server_input() or destroy the server; barrier_enter may
 * call pmi_server_barrier_release().
 *
 * A rank's first message must be init (abort is accepted at any time);
 * after finalize only init or abort; while a rank waits for barrier_out,
 * only abort. Anything else is a protocol fault. An init asking for a PMI
 * version other than 1.0 or 1.1 is answered rc=-1 and leaves the rank
 * uninitialized; requests the server does not offer (name publishing) and
 * puts or gets naming another kvsname are answered rc=-1 as well. */
#ifndef SHOAL_RUNTIME_PMI_PMI_SERVER_H
#define SHOAL_RUNTIME_PMI_PMI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

typedef struct pmi_server pmi_server_t;

struct pmi_server_ops {
    /* Send len bytes of reply to rank. Returns 0 or a negative errno; a
     * failure is reported back by pmi_server_input(). Required. */
    int (*send)(int rank, const char *buf, size_t len, void *arg);
    /* rank sent `cmd=abort`: the job must end with exitcode, and the owner
     * must end it, since the rank waits for no reply (MPICH blocks reading
     * its PMI socket). msg is the rank's text, or NULL (MPICH 4.0 sends
     * none); borrowed for the call. Required. */
    void (*abort)(int rank, int exitcode, const char *msg, void *arg);
    /* Every local rank has entered the barrier. Optional: when NULL the
     * barrier is released at once (single node). */
    void (*barrier_enter)(pmi_server_t *server, void *arg);
    /* rank sent `cmd=finalize` (already acknowledged). Optional. */
    void (*finalize)(int rank, void *arg);
};

struct pmi_server_config {
    int size;               /* ranks in the job (PMI_SIZE) */
    int nlocal;             /* how many of them this server serves */
    const int *local_ranks; /* their ranks; NULL means 0..size-1 */
    int appnum;             /* answered to get_appnum */
    int universe_size;      /* answered to get_universe_size */
    const char *kvsname;    /* copied; 1 to 63 characters */
    /* value of PMI_process_mapping, copied; NULL for no such key */
    const char *process_mapping;
};

/* Upper bounds answered to get_maxes and enforced on every message. As PMI
 * defines them they are buffer sizes: a key has at most KEYLEN_MAX - 1
 * characters, a value at most VALLEN_MAX - 1. */
enum pmi_server_limit {
    PMI_SERVER_KVSNAME_MAX = 64,
    PMI_SERVER_KEYLEN_MAX = 64,
    PMI_SERVER_VALLEN_MAX = 1024,
    /* a whole line: command, keys, value and separators, not the newline */
    PMI_SERVER_LINE_MAX = 2048,
    /* the key-value space of a job, so that no rank can exhaust the
     * launcher: keys, and characters of keys and values */
    PMI_SERVER_KVS_KEYS_MAX = 64 * 1024,
    PMI_SERVER_KVS_BYTES_MAX = 64 * 1024 * 1024,
};

/* Create a server. Returns 0 and sets *out, or a negative errno with error
 * filled (bad config: -EINVAL). The caller destroys it. */
int pmi_server_create(const struct pmi_server_config *config,
                      const struct pmi_server_ops *ops,
                      void *arg,
                      pmi_server_t **out,
                      shoal_error_t *error);

/* Destroy a server; NULL is accepted. */
void pmi_server_destroy(pmi_server_t *server);

/* Feed len bytes read from rank's socket. Lines may arrive split or several
 * at once; each complete line is handled in order, and a partial line is
 * kept for the next call. Returns 0, or a negative code with error filled
 * naming the rank and the fault: SHOAL_EPROTO for a malformed, unknown,
 * out-of-order or oversized message or a rank that is not local, -ENOSPC
 * when a put finds the key-value space full (the rank is told rc=-1 first),
 * -ENOMEM, or the error of ops->send. Lines before the faulty one have been
 * handled. After a failure the rank must be treated as broken (the job
 * aborted): its further input is refused; the server itself stays usable. */
int pmi_server_input(pmi_server_t *server,
                     int rank,
                     const char *buf,
                     size_t len,
                     shoal_error_t *error);

/* Complete a barrier that ops->barrier_enter announced: send barrier_out to
 * every local rank and start a new round of pmi_server_kvs_foreach_new().
 * Returns 0, -EINVAL if no barrier is waiting, or the error of ops->send
 * (the other ranks are still sent theirs), with error filled. */
int pmi_server_barrier_release(pmi_server_t *server, shoal_error_t *error);

/* Whether rank has sent init / finalize. False for ranks not local. */
bool pmi_server_rank_initialized(const pmi_server_t *server, int rank);
bool pmi_server_rank_finalized(const pmi_server_t *server, int rank);

/* Store key=value in the job's space (used to merge other nodes' puts);
 * ranks then get it like any other key, but it is not listed by
 * pmi_server_kvs_foreach_new(), which lists this node's own puts. Returns
 * 0, -EINVAL (empty key, space, '=' in key, non-printable byte), -E2BIG (key
 * or value too long), -ENOSPC (the space is full) or -ENOMEM. */
int pmi_server_kvs_put(pmi_server_t *server,
                       const char *key,
                       const char *value);

/* Look key up. Returns the value (borrowed, valid until the server is
 * destroyed or the key is put again) or NULL. */
const char *pmi_server_kvs_get(const pmi_server_t *server, const char *key);

/* Call fn for every key that a local rank put (cmd=put) since the last
 * barrier release: the puts a pool must send to the job's other nodes. Each
 * key is listed once, with its latest value, in the order keys were first
 * stored. Stops early when fn returns non-zero and returns that, else
 * returns 0. fn must not change the server. */
int pmi_server_kvs_foreach_new(const pmi_server_t *server,
                               int (*fn)(const char *key,
                                         const char *value,
                                         void *arg),
                               void *arg);

#endif
