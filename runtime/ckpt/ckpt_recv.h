/* SPDX-License-Identifier: MIT */
/* ckpt_recv.h - the receiving side of checkpoint copies: staging, resume,
 * hashing, install.
 *
 * An OFFER opens a receiver: a copy the node already has committed with
 * the same MANIFEST is answered "whole" at once; else the files are
 * staged in FINAL/.part-vV/vV, resuming from what an earlier attempt with
 * the same MANIFEST left there, and STATUS tells the sender how much of
 * each file is held. Each CHUNK must continue its file where it stands;
 * it is written and acknowledged, and hashed on the thread pool a little
 * behind the writer (files received from their first byte; ckpt_hasher.h)
 * unless the sender vouches for it (an OFFER flagged CKPT_OFFER_CHECKED,
 * ckpt_wire.h): such a file is only handed to the disk as it grows.
 * DONE, with every file complete, waits for the hashing to catch up and
 * queues the install (ckpt_work.h): the files are checked against the MANIFEST
 * (a resumed file is hashed whole there), fsynced, renamed into place and
 * committed; only then does the sender get RESULT 0. A copy is whole or absent.
 *
 * Staged files are kept when a transfer breaks (the next attempt resumes)
 * and removed when the data cannot be right (a hash mismatch) or the disk
 * is full. A receiver that serves a fetch (purpose FETCH) installs into
 * the fetch's directory and reports to it (ckpt_fetch.h). On the daemon's
 * loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_RECV_H
#define SHOAL_RUNTIME_CKPT_CKPT_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_hasher.h"
#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/ckpt/ckpt_wire.h"

/* The receiving side of one transfer. */
struct ckpt_recv {
    struct ckpt_recv *next;
    struct ckpt_service *svc;
    uint64_t from;
    uint64_t xid;
    int version;
    char key[CKPT_KEY_MAX + 1];
    ckpt_store_t *final;
    ckpt_store_t *stage;
    struct ckpt_file *files;
    size_t nfiles;
    uint64_t *have;
    /* the sender vouches for file i (a CHECKED offer, the file received
     * from its first byte): its MANIFEST hash stands for hashing it */
    bool *vouched;
    int *fds;
    /* each file received from its first byte is hashed as it is written,
     * on the thread pool, so the copy need not be read whole at install */
    ckpt_hasher_t *hasher;
    uint64_t last_ms;
    bool installing;
    struct ckpt_fetch *fetch; /* NULL for a replica */
};

/* Frames from the sender from. A frame that does not fit the transfer
 * is counted malformed and ends it. */
void ckpt_recv_on_offer(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m);
void ckpt_recv_on_chunk(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m);
void ckpt_recv_on_done(struct ckpt_service *svc,
                       uint64_t from,
                       const struct ckpt_msg *m);

/* The install of r ended with code: tell the sender and the fetch r
 * serves, count it, and free r. */
void ckpt_recv_finish(struct ckpt_recv *r, int code);

/* End r before its install: tell the sender RESULT code (tell), remove
 * the staged files (drop_stage), fail the fetch r serves, free r. text
 * (may be NULL) says why. */
void ckpt_recv_abort(struct ckpt_recv *r,
                     int code,
                     bool tell,
                     bool drop_stage,
                     const char *text);

/* Take r off svc->recvs and free it. */
void ckpt_recv_free(struct ckpt_recv *r);

/* The receiver of the copy node from sends under xid, or NULL. */
struct ckpt_recv *
ckpt_recv_find(struct ckpt_service *svc, uint64_t from, uint64_t xid);

/* The staging store of version beside the store in final_dir. Returns 0
 * and sets *out (free with ckpt_store_destroy()) or a negative errno. */
int ckpt_recv_stage_open(const char *final_dir,
                         int version,
                         ckpt_store_t **out);

/* Remove the staged version and its staging directory. */
void ckpt_recv_stage_remove(ckpt_store_t *stage, int version);

#endif
