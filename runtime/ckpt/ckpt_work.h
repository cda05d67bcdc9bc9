/* SPDX-License-Identifier: MIT */
/* ckpt_work.h - what the checkpoint service runs on libuv's thread pool:
 * reading whole versions (sealing, verifying) and installing received
 * copies, so the daemon's loop only moves chunks.
 *
 * A work item is filled on the loop, queued with ckpt_work_queue(), run on
 * a pool thread (which touches only the item: its stores, its copy of the
 * hashes) and finished on the loop, where it hands its result to the
 * module that queued it (ckpt_rep_prepared(), ckpt_send_served(),
 * ckpt_recv_finish()) and frees itself. A version hashed whole and found
 * right is remembered in svc->seen, and one whose identity did not change
 * since is not hashed again.
 *
 * A version to replicate that has its MANIFEST is sent unverified
 * (PREPARE): the sender hashes each file as it sends it (ckpt_send.h)
 * and ends the copy when one differs, so hashing it here first would only
 * read the whole version once more, in series before its first byte
 * leaves. Only when a copy fails as not matching (-EUCLEAN) is the
 * version hashed here whole (RECHECK), to name a version damaged on this
 * node. A
 * fetch served to another node (SERVE) is still verified first: a copy
 * found damaged then is named at once and the fetcher asks another node. After
 * ckpt_service_destroy() the items still running only free themselves (and the
 * service, the last one). */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_WORK_H
#define SHOAL_RUNTIME_CKPT_CKPT_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_store.h"

enum ckpt_work_kind {
    CKPT_WORK_PREPARE, /* seal, read the manifest of a version to send */
    CKPT_WORK_RECHECK, /* verify it: a partner refused what was sent */
    CKPT_WORK_SERVE,   /* verify a stored copy and read its manifest */
    CKPT_WORK_INSTALL, /* check a received copy, move it into place */
};

struct ckpt_work {
    uv_work_t req;
    enum ckpt_work_kind kind;
    struct ckpt_service *svc;
    ckpt_store_t *store;
    ckpt_store_t *stage;
    int version;
    int rc;
    char *manifest;
    size_t manifest_len;
    void *owner;
    /* in: the identity the version had when last hashed (PREPARE, SERVE);
     * out: the one it has now that it is known right */
    bool known;
    /* PREPARE, out: the version was not hashed (see above) */
    bool unverified;
    unsigned char id[CKPT_HASH_BYTES];
    /* CKPT_WORK_INSTALL: the hashes taken while receiving */
    struct ckpt_hash *hashes;
    size_t nhashes;
    /* CKPT_WORK_SERVE */
    uint64_t to;
    uint64_t xid;
    char key[CKPT_KEY_MAX + 1];
};

/* Queue w (calloc'd, kind, svc, store and version set; the item owns
 * store and stage: a receiver freed by ckpt_service_destroy() while its
 * install runs must not take them from under the pool thread).
 * Returns 0 (w is freed when finished) or a negative errno (w is still
 * the caller's). */
int ckpt_work_queue(struct ckpt_work *w);

#endif
