/* SPDX-License-Identifier: MIT */
/* ckpt_send.h - the sending side of checkpoint copies: a version pushed
 * to one receiver, for a replica (ckpt_rep.h) or for a fetch another node
 * pulled (served here).
 *
 * A transfer reads the version's files as its ckpt_xfer.h machine asks
 * for chunks, frames them (ckpt_wire.h) and sends them; STATUS, ACK and
 * RESULT frames from the receiver move the machine. Every OFFER is
 * CHECKED (ckpt_wire.h): the sender vouches for the bytes it sends, so
 * that the receiver need not hash them. Each file sent from its first
 * byte is hashed as it is read, from the buffer each chunk is sealed from
 * (no second read), whether or not this node hashed the version before
 * (a version's files could change without their inodes, sizes and times
 * showing it); a file that does not match its MANIFEST fails the
 * transfer with -EUCLEAN before its last chunk goes. When it ends,
 * ckpt_send_check() counts it, tells the receiver of a failure, calls the
 * done callback and frees it. On the daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_SEND_H
#define SHOAL_RUNTIME_CKPT_CKPT_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/ckpt/ckpt_wire.h"
#include "runtime/ckpt/ckpt_xfer.h"

struct ckpt_work;

/* A transfer to node to ended with code (0: the receiver committed). */
typedef void ckpt_send_done_f(void *arg, uint64_t to, int code);

/* The sending side of one transfer. */
struct ckpt_send {
    struct ckpt_send *next;
    struct ckpt_service *svc;
    uint64_t to;
    uint64_t xid;
    char *dir; /* the version directory */
    struct ckpt_file *files;
    size_t nfiles;
    int *fds;
    int version;
    /* the file being hashed as it is read (hashing), and how far */
    bool hashing;
    uint32_t hfile;
    uint64_t hoff;
    crypto_generichash_state hstate;
    ckpt_xfer_t *x;
    ckpt_send_done_f *done; /* NULL: nobody waits (serving a fetch) */
    void *done_arg;
};

/* Offer the version in dir, whose MANIFEST is manifest (borrowed), to
 * node to under xid, and keep the transfer on svc->sends. done (may be
 * NULL) is called once when it ends, with arg. Returns 0, or a negative
 * errno and nothing was kept. */
int ckpt_send_start(struct ckpt_service *svc,
                    uint64_t to,
                    uint64_t xid,
                    int purpose,
                    const char *key,
                    int version,
                    const char *dir,
                    const char *manifest,
                    size_t manifest_len,
                    ckpt_send_done_f *done,
                    void *done_arg);

/* Free s, which is off svc->sends; its done callback is not called. */
void ckpt_send_free(struct ckpt_send *s);

/* Finish s if its transfer ended: see above. s may be freed. */
void ckpt_send_check(struct ckpt_send *s);

/* The transfer to node to under xid, or NULL. */
struct ckpt_send *
ckpt_send_find(struct ckpt_service *svc, uint64_t to, uint64_t xid);

/* A STATUS or ACK frame m from node from: moves its transfer (an unknown
 * one is counted malformed). */
void ckpt_send_on_reply(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m);

/* A PULL from node from: verify the stored copy off the loop, then send
 * it (or a RESULT saying why not). */
void ckpt_send_on_pull(struct ckpt_service *svc,
                       uint64_t from,
                       const struct ckpt_msg *m);

/* The verification a PULL asked for is over (w->rc): start sending. */
void ckpt_send_served(struct ckpt_work *w);

#endif
