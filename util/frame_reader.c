/* SPDX-License-Identifier: MIT */
/* frame_reader.c - length-prefixed frames split out of a byte stream. */
#include "util/frame_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

void frame_reader_init(struct frame_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max;
}

void frame_reader_release(struct frame_reader *r)
{
    free(r->body);
    free(r->spare);
    r->body = r->spare = NULL;
    r->spare_cap = r->body_cap = 0;
    r->head_len = 0;
    r->body_len = 0;
    r->body_have = 0;
}

int frame_reader_partial(const struct frame_reader *r)
{
    return r->head_len > 0;
}

void frame_reader_head(uint8_t head[FRAME_READER_HEAD], size_t len)
{
    bytes_put_be(head, len, FRAME_READER_HEAD);
}

/* Take the bytes of a frame's length prefix; once whole, check it and
 * make room for the body. Returns the bytes taken or a negative errno. */
static ssize_t
frame_reader_take_head(struct frame_reader *r, const uint8_t *p, size_t len)
{
    size_t n = FRAME_READER_HEAD - r->head_len;

    if (n > len)
        n = len;
    memcpy(r->head + r->head_len, p, n);
    r->head_len += n;
    if (r->head_len < FRAME_READER_HEAD)
        return (ssize_t)n;
    r->body_len = (size_t)bytes_get_be(r->head, FRAME_READER_HEAD);
    if (r->body_len > r->max)
        return -EMSGSIZE;
    if (r->spare && r->spare_cap >= r->body_len) {
        r->body = r->spare;
        r->body_cap = r->spare_cap;
        r->spare = NULL;
    } else {
        free(r->spare);
        r->spare = NULL;
        r->body_cap = r->body_len ? r->body_len : 1;
        r->body = malloc(r->body_cap);
        if (!r->body)
            return -ENOMEM;
    }
    r->body_have = 0;
    return (ssize_t)n;
}

/* The body at r is whole: hand it to fn, keeping its buffer for the next
 * frame. Returns fn's value. */
static int
frame_reader_complete(struct frame_reader *r, frame_reader_f *fn, void *arg)
{
    uint8_t *body = r->body;
    size_t body_len = r->body_len, cap = r->body_cap;
    int rc;

    /* the reader is ready for the next frame before fn runs, as fn may
     * release it */
    r->body = NULL;
    r->head_len = 0;
    r->body_len = r->body_have = r->body_cap = 0;
    rc = fn(body, body_len, arg);
    /* fn returned 0: the reader lives on, keep the buffer */
    if (rc == 0 && !r->spare) {
        r->spare = body;
        r->spare_cap = cap;
    } else {
        free(body);
    }
    return rc;
}

size_t frame_reader_room(struct frame_reader *r, uint8_t **room)
{
    if (r->head_len < FRAME_READER_HEAD || !r->body
        || r->body_have >= r->body_len)
        return 0;
    *room = r->body + r->body_have;
    return r->body_len - r->body_have;
}

int frame_reader_filled(struct frame_reader *r,
                        size_t n,
                        frame_reader_f *fn,
                        void *arg)
{
    if (r->head_len < FRAME_READER_HEAD || !r->body
        || n > r->body_len - r->body_have)
        return -EINVAL;
    r->body_have += n;
    if (r->body_have < r->body_len)
        return 0;
    return frame_reader_complete(r, fn, arg);
}

int frame_reader_feed(struct frame_reader *r,
                      const void *data,
                      size_t len,
                      size_t *used,
                      frame_reader_f *fn,
                      void *arg)
{
    const uint8_t *p = data;
    size_t off = 0;
    int rc = 0;

    while (off < len) {
        size_t n;

        /* the common case: a whole frame in the chunk, passed as it is */
        if (r->head_len == 0 && len - off >= FRAME_READER_HEAD) {
            n = (size_t)bytes_get_be(p + off, FRAME_READER_HEAD);
            if (n > r->max) {
                rc = -EMSGSIZE;
                break;
            }
            if (len - off - FRAME_READER_HEAD >= n) {
                off += FRAME_READER_HEAD + n;
                rc = fn(p + off - n, n, arg);
                if (rc != 0)
                    break;
                continue;
            }
        }
        if (r->head_len < FRAME_READER_HEAD) {
            ssize_t taken = frame_reader_take_head(r, p + off, len - off);

            if (taken < 0) {
                rc = (int)taken;
                break;
            }
            off += (size_t)taken;
            if (r->head_len < FRAME_READER_HEAD)
                break;
        }
        n = r->body_len - r->body_have;
        if (n > len - off)
            n = len - off;
        memcpy(r->body + r->body_have, p + off, n);
        r->body_have += n;
        off += n;
        if (r->body_have < r->body_len)
            break;
        rc = frame_reader_complete(r, fn, arg);
        if (rc != 0)
            break;
    }
    if (used)
        *used = off;
    return rc;
}
