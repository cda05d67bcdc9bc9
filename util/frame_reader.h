/* SPDX-License-Identifier: MIT */
/* frame_reader.h - length-prefixed frames split out of a byte stream.
 *
 * Every stream shoal speaks (the control socket, the sealed links between
 * daemons, the links of a gang job between home, proxies and ranks) is a
 * sequence of frames: a u32 big-endian length, then that many bytes of
 * body. A reader is fed the bytes as they are read, in chunks of any size,
 * and hands each whole body to a callback, in order.
 *
 * Bounded: the reader holds at most one frame, the one a chunk ended in
 * the middle of, and never more than max bytes of it. A frame that lies
 * whole within a chunk is passed straight from the chunk, uncopied. A
 * length over max is refused as soon as its four bytes are in, before any
 * of its body is stored: a peer cannot make the reader allocate more than
 * the protocol allows. What a body must look like (a kind byte, a seal)
 * is the caller's to check, in its callback. The buffer of a frame that
 * was stored is kept for the next one that fits it: a stream of large
 * frames (checkpoint copies between daemons) would otherwise allocate and
 * free a large block per frame, and every such block maps fresh pages
 * that fault in again at each frame. The reader still holds at most one
 * body buffer, of at most max bytes.
 *
 * Pure: no I/O, no clock; one reader per stream, not thread-safe. */
#ifndef SHOAL_UTIL_FRAME_READER_H
#define SHOAL_UTIL_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

enum frame_reader_limit {
    FRAME_READER_HEAD = 4, /* the length prefix */
};

struct frame_reader {
    size_t max;                      /* the longest body accepted */
    uint8_t head[FRAME_READER_HEAD]; /* a length prefix being read */
    size_t head_len;                 /* of its bytes, those in head */
    uint8_t *body;                   /* a body being read, or NULL */
    size_t body_len;                 /* its length */
    size_t body_have;                /* of its bytes, those in body */
    size_t body_cap;                 /* bytes allocated at body */
    uint8_t *spare;                  /* the last body's buffer, or NULL */
    size_t spare_cap;
};

/* A whole frame's body (len bytes, maybe 0), borrowed for the call. A
 * non-zero return stops frame_reader_feed(), which returns it. */
typedef int frame_reader_f(const uint8_t *body, size_t len, void *arg);

/* Make r ready for a new stream whose bodies are at most max bytes. */
void frame_reader_init(struct frame_reader *r, size_t max);

/* Free the part of a frame r holds and its spare buffer; r may be used
 * again after frame_reader_init(). */
void frame_reader_release(struct frame_reader *r);

/* Feed len bytes of the stream: fn is called for each frame they complete,
 * in order, and the start of an unfinished one is kept for the next call.
 * Returns 0 when every byte was taken; -EMSGSIZE when a frame is longer
 * than max, or -ENOMEM: the stream is then unusable; or fn's non-zero
 * value, after which the bytes past the frame fn was given are not taken.
 * *used (may be NULL) is set to the number of bytes taken in every case,
 * so that a caller that stopped can feed the rest later. */
int frame_reader_feed(struct frame_reader *r,
                      const void *data,
                      size_t len,
                      size_t *used,
                      frame_reader_f *fn,
                      void *arg);

/* The room left in the body of the frame r is reading: set *room to where
 * its next byte goes and return how many bytes it lacks, or return 0 when
 * r is not in the middle of a body (between frames, or in a length
 * prefix). A caller reading the stream may read straight into that room
 * and then call frame_reader_filled() instead of frame_reader_feed(), so
 * that the body's bytes are not copied once more. */
size_t frame_reader_room(struct frame_reader *r, uint8_t **room);

/* n bytes, at most what frame_reader_room() said, were written into the
 * room: fn is called when they complete the frame. Returns 0, fn's
 * non-zero value, or -EINVAL when r has no such room. */
int frame_reader_filled(struct frame_reader *r,
                        size_t n,
                        frame_reader_f *fn,
                        void *arg);

/* Whether r holds part of a frame (a stream that ends now ends mid-frame). */
int frame_reader_partial(const struct frame_reader *r);

/* Write the length prefix of a body of len bytes (at most UINT32_MAX). */
void frame_reader_head(uint8_t head[FRAME_READER_HEAD], size_t len);

#endif
