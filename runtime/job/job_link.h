/* SPDX-License-Identifier: MIT */
/* job_link.h - writing job frames on a libuv stream, each as u32
 * big-endian length + frame (runtime/job/job_wire.h's stream framing): what
 * the coordinator, the proxies and the daemons' relay all do. */
#ifndef SHOAL_RUNTIME_JOB_JOB_LINK_H
#define SHOAL_RUNTIME_JOB_JOB_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Queue a copy of frame (len bytes) with its length on stream. cb, when
 * not NULL, is called as uv_write's callback with req->data set to data,
 * and must free(req); when NULL the request is freed and errors are
 * ignored. Returns 0, -ENOMEM, or uv_write's error (nothing queued). */
int job_link_write(uv_stream_t *stream,
                   const uint8_t *frame,
                   size_t len,
                   uv_write_cb cb,
                   void *data);

#endif
