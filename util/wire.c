/* SPDX-License-Identifier: MIT */
/* wire.c - bounded big-endian writer and reader. */
#include "util/wire.h"

#include <string.h>

#include "util/bug.h"
#include "util/bytes.h"

void wire_writer_init(struct wire_writer *w, void *buf, size_t cap)
{
    *w = (struct wire_writer){.buf = buf, .cap = cap};
}

/* Room for n more bytes; once a put failed, there is none. */
static bool wire_room(struct wire_writer *w, size_t n)
{
    if (w->overflow || n > w->cap - w->off) {
        w->overflow = true;
        return false;
    }
    return true;
}

void wire_put_be(struct wire_writer *w, uint64_t v, unsigned width)
{
    if (width < 1 || width > 8)
        SHOAL_BUG("wire_put_be: width not 1 to 8");
    if (!wire_room(w, width))
        return;
    bytes_put_be(w->buf + w->off, v, width);
    w->off += width;
}

void wire_put_bytes(struct wire_writer *w, const void *src, size_t n)
{
    if (!wire_room(w, n))
        return;
    if (n > 0)
        memcpy(w->buf + w->off, src, n);
    w->off += n;
}

void wire_reader_init(struct wire_reader *r, const void *buf, size_t len)
{
    *r = (struct wire_reader){.p = buf, .left = len};
}

const uint8_t *
wire_get_bytes(struct wire_reader *r, size_t n, const char *field)
{
    const uint8_t *at = r->p;

    if (r->short_ || n > r->left) {
        if (!r->short_)
            r->short_field = field;
        r->short_ = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return at;
}

uint64_t wire_get_be(struct wire_reader *r, unsigned width, const char *field)
{
    const uint8_t *b;

    if (width < 1 || width > 8)
        SHOAL_BUG("wire_get_be: width not 1 to 8");
    b = wire_get_bytes(r, width, field);
    return b ? bytes_get_be(b, width) : 0;
}
