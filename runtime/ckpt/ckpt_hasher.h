/* SPDX-License-Identifier: MIT */
/* ckpt_hasher.h - files hashed on libuv's thread pool while they are
 * written, a little behind the writer.
 *
 * A receiver of a checkpoint copy must check against the MANIFEST every
 * byte its sender does not vouch for (ckpt_wire.h). Hashing each chunk on the
 * daemon's loop as it is written puts BLAKE2b in series with opening the sealed
 * frames on one core; the hasher moves it to a pool thread, where it runs
 * beside the loop: it reads back what the writer wrote (from the page cache, so
 * the check covers what will be fsynced) in batches, one batch at a time per
 * hasher, in file order. Each batch hashed is then handed to the disk
 * (sync_file_range, not waited for), so the device writes while the copy
 * streams in and the fsync that installs it has little left to do.
 *
 *   ckpt_hasher_create()  follow n files, each hashed from its first byte
 *                         (CKPT_HASHER_HASH), only handed to the disk as
 *                         it grows (CKPT_HASHER_FLUSH: a file whose sender
 *                         vouches for it) or left alone (CKPT_HASHER_SKIP)
 *   ckpt_hasher_grow()    file i now holds end bytes: hash up to there
 *   ckpt_hasher_finish()  the writer is done: done() is called once every
 *                         byte grown is hashed, with the hashes (valid for
 *                         the followed files), or with the error of
 *                         reading
 *   ckpt_hasher_destroy() stop; a batch still running frees itself
 *
 * Memory is bounded however far the hasher falls behind: it holds no
 * data, only where each file stands. On the daemon's loop only, except
 * the batches, which touch nothing but their own fields. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_HASHER_H
#define SHOAL_RUNTIME_CKPT_CKPT_HASHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "runtime/ckpt/ckpt_store.h"

typedef struct ckpt_hasher ckpt_hasher_t;

enum ckpt_hasher_mode {
    CKPT_HASHER_SKIP = 0,
    CKPT_HASHER_HASH,
    CKPT_HASHER_FLUSH,
};

/* All bytes grown are hashed (rc 0; hashes has n entries, borrowed for
 * the call, valid for the files in CKPT_HASHER_HASH) or reading failed
 * (rc < 0, hashes NULL). */
typedef void
ckpt_hasher_done_f(void *arg, int rc, const struct ckpt_hash *hashes);

/* Follow the n files at paths (copied), each as mode[i] says. Returns 0
 * and sets *out (free with ckpt_hasher_destroy()) or -ENOMEM. */
int ckpt_hasher_create(uv_loop_t *loop,
                       const char *const *paths,
                       const enum ckpt_hasher_mode *mode,
                       size_t n,
                       ckpt_hasher_t **out);

/* File i (< n) holds end bytes now; a file left alone is ignored.
 * Starts a batch when none runs. Returns 0 or the error of queueing. */
int ckpt_hasher_grow(ckpt_hasher_t *h, size_t i, uint64_t end);

/* Call done(arg, ...) once everything grown is hashed: at once, or from
 * the loop when the last batch ends. Only once per hasher. Returns 0 or
 * the error of queueing (done is then not called). */
int ckpt_hasher_finish(ckpt_hasher_t *h, ckpt_hasher_done_f *done, void *arg);

/* Stop h and free it; NULL is accepted. done is not called. */
void ckpt_hasher_destroy(ckpt_hasher_t *h);

#endif
