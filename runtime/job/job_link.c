/* SPDX-License-Identifier: MIT */
/* job_link.c - job frames on a libuv stream. */
#include "runtime/job/job_link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/job/job_wire.h"
#include "util/frame_reader.h"

static void job_link_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

int job_link_write(uv_stream_t *stream,
                   const uint8_t *frame,
                   size_t len,
                   uv_write_cb cb,
                   void *data)
{
    uv_write_t *req = malloc(sizeof(*req) + 4 + len);
    uint8_t *bytes;
    uv_buf_t b;
    int rc;

    if (!req)
        return -ENOMEM;
    bytes = (uint8_t *)(req + 1);
    frame_reader_head(bytes, len);
    memcpy(bytes + 4, frame, len);
    req->data = data;
    b = uv_buf_init((char *)bytes, (unsigned int)(4 + len));
    rc = uv_write(req, stream, &b, 1, cb ? cb : job_link_written);
    if (rc < 0)
        free(req);
    return rc;
}
