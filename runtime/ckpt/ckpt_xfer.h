/* SPDX-License-Identifier: MIT */
/* ckpt_xfer.h - the sending side of one checkpoint copy, as a state
 * machine without I/O.
 *
 * The sender streams the files of a version (sizes from its MANIFEST) to
 * one receiver in chunks of at most `chunk` bytes, in file order, keeping
 * at most `window` bytes sent and not yet acknowledged. A small window
 * matters twice: it bounds the memory queued on the connection, and it
 * lets the daemon's loop turn between chunks, so membership probes are
 * answered on time while a large version moves (each ACK lets one more
 * chunk go, so the loop never sends more than a window at once).
 *
 *   ckpt_xfer_create()     OFFERED: waiting for the receiver's STATUS
 *   ckpt_xfer_status()     STREAMING from what the receiver holds (resume)
 *                          or, when it has the whole version, DONE
 *   ckpt_xfer_ack()        ... the window moves; after the last byte the
 *                          machine asks for DONE once: FINISHING
 *   ckpt_xfer_result()     DONE (0) or FAILED (the receiver's code)
 *   ckpt_xfer_tick()       FAILED with -ETIMEDOUT when nothing moved for
 *                          timeout_ms, in any state before the end
 *
 * I/O and time are injected: ops->chunk sends one chunk (the caller reads
 * it from the file and frames it) and ops->done the DONE frame; now is a
 * monotonic time in ms given to each call. A send that fails with -ENOBUFS
 * or -EAGAIN (the connection's queue is full) is tried again at the next
 * ack or tick; any other error fails the transfer. Inputs from the
 * receiver are checked: a STATUS or ACK that does not fit what was sent
 * fails the transfer with SHOAL_EPROTO. Not thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_XFER_H
#define SHOAL_RUNTIME_CKPT_CKPT_XFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_xfer ckpt_xfer_t;

enum ckpt_xfer_state {
    CKPT_XFER_OFFERED,
    CKPT_XFER_STREAMING,
    CKPT_XFER_FINISHING, /* every byte acknowledged; DONE sent */
    CKPT_XFER_DONE,      /* the receiver committed its copy */
    CKPT_XFER_FAILED,
};

struct ckpt_xfer_ops {
    /* Send len bytes of file (an index) from offset. Returns 0 or a
     * negative errno (-ENOBUFS / -EAGAIN: try later). */
    int (*chunk)(uint32_t file, uint64_t offset, uint32_t len, void *arg);
    /* Send DONE. Returns as chunk. */
    int (*done)(void *arg);
};

struct ckpt_xfer_config {
    const uint64_t *sizes; /* of each file, copied */
    uint32_t nfiles;
    uint32_t chunk;      /* > 0 */
    uint64_t window;     /* >= chunk */
    uint64_t timeout_ms; /* > 0 */
};

struct ckpt_xfer_stats {
    uint64_t total;   /* bytes of the version */
    uint64_t resumed; /* bytes the receiver had already */
    uint64_t sent;    /* bytes sent in chunks */
    uint64_t acked;   /* bytes acknowledged (resumed ones included) */
};

/* Make a transfer in state OFFERED at now. ops and arg are borrowed and
 * must outlive it. Returns 0 and sets *out (free with
 * ckpt_xfer_destroy()), -EINVAL for a bad config, or -ENOMEM. */
int ckpt_xfer_create(const struct ckpt_xfer_config *config,
                     const struct ckpt_xfer_ops *ops,
                     void *arg,
                     uint64_t now,
                     ckpt_xfer_t **out);

/* Free x; NULL is accepted. */
void ckpt_xfer_destroy(ckpt_xfer_t *x);

/* The receiver's STATUS: whole, or have[i] bytes of each of n files.
 * In OFFERED only (else SHOAL_EPROTO, and the transfer fails); n must be
 * the number of files and have[i] at most its size. Starts streaming.
 * Returns 0 or the error the transfer failed with. */
int ckpt_xfer_status(
    ckpt_xfer_t *x, int whole, const uint64_t *have, uint32_t n, uint64_t now);

/* An ACK: the receiver holds end bytes of file. end must be past what
 * was acknowledged and within what was sent (else SHOAL_EPROTO). Sends
 * more. Returns 0 or the error the transfer failed with. */
int ckpt_xfer_ack(ckpt_xfer_t *x, uint32_t file, uint64_t end, uint64_t now);

/* The receiver's RESULT: 0 is DONE (only once FINISHING or STREAMING
 * with everything acknowledged, else SHOAL_EPROTO); an error fails the
 * transfer with it. Returns the final code (0 or negative). */
int ckpt_xfer_result(ckpt_xfer_t *x, int code);

/* Fail the transfer with code (< 0), e.g. when the receiver is declared
 * dead. A finished transfer is left alone. */
void ckpt_xfer_fail(ckpt_xfer_t *x, int code);

/* Retry a send the connection refused, and fail with -ETIMEDOUT when
 * nothing moved for timeout_ms. Returns 0 or the error it failed with. */
int ckpt_xfer_tick(ckpt_xfer_t *x, uint64_t now);

enum ckpt_xfer_state ckpt_xfer_state(const ckpt_xfer_t *x);

/* The code the transfer failed with (0 unless FAILED). */
int ckpt_xfer_error(const ckpt_xfer_t *x);

void ckpt_xfer_get_stats(const ckpt_xfer_t *x, struct ckpt_xfer_stats *stats);

#endif
