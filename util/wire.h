/* SPDX-License-Identifier: MIT */
/* wire.h - bounded big-endian writer and reader for the binary codecs.
 *
 * A writer fills a caller's buffer; a reader walks a caller's bytes. Both
 * stop at the end instead of going past it and remember that they did, so
 * a codec writes or reads every field and checks once at the end: a
 * length field that lies can never move either past its bounds.
 *
 * Integers are unsigned, big-endian (network order), 1 to 8 bytes wide.
 * The cursors own nothing and need no release; they are not thread-safe. */
#ifndef SHOAL_UTIL_WIRE_H
#define SHOAL_UTIL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_writer {
    uint8_t *buf;  /* borrowed */
    size_t cap;    /* bytes buf can take */
    size_t off;    /* bytes written */
    bool overflow; /* a put did not fit; later puts write nothing */
};

struct wire_reader {
    const uint8_t *p; /* the next unread byte (borrowed) */
    size_t left;      /* bytes after p */
    bool short_;      /* a get ran past the end; later gets read nothing */
    const char *short_field; /* the field named by the first short get */
};

/* Write into the cap bytes at buf (NULL when cap is 0). */
void wire_writer_init(struct wire_writer *w, void *buf, size_t cap);

/* Append v's low width bytes (1 to 8), most significant first. When they
 * do not fit, nothing is written and w->overflow is set for good. */
void wire_put_be(struct wire_writer *w, uint64_t v, unsigned width);

/* Append n bytes of src (which may be NULL when n is 0), or, when they do
 * not fit, set w->overflow as wire_put_be() does. */
void wire_put_bytes(struct wire_writer *w, const void *src, size_t n);

static inline void wire_put_u8(struct wire_writer *w, uint8_t v)
{
    wire_put_be(w, v, 1);
}

static inline void wire_put_u16(struct wire_writer *w, uint16_t v)
{
    wire_put_be(w, v, 2);
}

static inline void wire_put_u32(struct wire_writer *w, uint32_t v)
{
    wire_put_be(w, v, 4);
}

static inline void wire_put_u64(struct wire_writer *w, uint64_t v)
{
    wire_put_be(w, v, 8);
}

/* Read the len bytes at buf (NULL when len is 0). */
void wire_reader_init(struct wire_reader *r, const void *buf, size_t len);

/* Take a width-byte (1 to 8) big-endian integer. When fewer bytes are
 * left, or the reader is already short, returns 0, consumes nothing and
 * sets r->short_; the first short get also records field (may be NULL,
 * borrowed: a string literal) in r->short_field. */
uint64_t wire_get_be(struct wire_reader *r, unsigned width, const char *field);

/* Take n bytes: returns where they start in the input (borrowed from the
 * caller's buffer), or NULL when they are not all there, as
 * wire_get_be(). n may be 0; check r->short_ rather than the pointer,
 * which is NULL for 0 bytes of a NULL input. */
const uint8_t *
wire_get_bytes(struct wire_reader *r, size_t n, const char *field);

static inline uint8_t wire_get_u8(struct wire_reader *r)
{
    return (uint8_t)wire_get_be(r, 1, NULL);
}

static inline uint16_t wire_get_u16(struct wire_reader *r)
{
    return (uint16_t)wire_get_be(r, 2, NULL);
}

static inline uint32_t wire_get_u32(struct wire_reader *r)
{
    return (uint32_t)wire_get_be(r, 4, NULL);
}

static inline uint64_t wire_get_u64(struct wire_reader *r)
{
    return wire_get_be(r, 8, NULL);
}

#endif
