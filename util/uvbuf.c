/* SPDX-License-Identifier: MIT */
/* uvbuf.c - the read buffers the event loop's streams are given. */
#include "util/uvbuf.h"

#include <stdlib.h>

void uvbuf_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(hint);
    buf->len = buf->base ? hint : 0;
}
