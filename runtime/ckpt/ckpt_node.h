/* SPDX-License-Identifier: MIT */
/* ckpt_node.h - the checkpoint service's words for other nodes: their
 * names in messages, their ids in JSON, the frames sent to them and the
 * reasons a copy to or from them failed. On the daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_NODE_H
#define SHOAL_RUNTIME_CKPT_CKPT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_wire.h"

/* Write "00ab...ef (host)" (the host name when the member table knows
 * it) into the len bytes at buf. */
void ckpt_node_name(struct ckpt_service *svc,
                    uint64_t id,
                    char *buf,
                    size_t len);

/* A new JSON string of id's 16 hex digits, or NULL without memory. */
json_t *ckpt_node_json(uint64_t id);

/* Parse 1 to 16 hex digits, not all zero, into *id. Returns 0 or
 * -EINVAL. */
int ckpt_node_parse(const char *text, uint64_t *id);

/* The words for a copy's failure code, e.g. "no space left on device";
 * static. */
const char *ckpt_node_reason(int code);

/* Encode m and send it to node. Returns 0 or a negative errno (-ENOBUFS:
 * the link's queue is full). */
int ckpt_node_send(struct ckpt_service *svc,
                   uint64_t node,
                   const struct ckpt_msg *m);

/* Send RESULT xid code text (NULL: none) to node, best effort. */
void ckpt_node_result(struct ckpt_service *svc,
                      uint64_t node,
                      uint64_t xid,
                      int code,
                      const char *text);

#endif
