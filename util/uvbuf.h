/* SPDX-License-Identifier: MIT */
/* uvbuf.h - the read buffers the event loop's streams are given. */
#ifndef SHOAL_UTIL_UVBUF_H
#define SHOAL_UTIL_UVBUF_H

#include <uv.h>

/* A uv_alloc_cb: a new buffer of the size libuv suggests (len 0 when
 * memory runs out, which libuv reports to the read callback as UV_ENOBUFS).
 * The read callback frees buf->base. */
void uvbuf_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf);

#endif
