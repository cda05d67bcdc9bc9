/* SPDX-License-Identifier: MIT */
/* ckpt_catalog.h - the ckpt.list and ckpt.remove ops (ckpt_service.h):
 * the copies this node keeps for others under STATE/ckpt, listed with
 * their sizes, and removed by version (with what is staged for them).
 * Each answers at once from the file system; arg is the service. On the
 * daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_CATALOG_H
#define SHOAL_RUNTIME_CKPT_CKPT_CATALOG_H

#include "runtime/ckpt/ckpt_service_private.h"

void ckpt_catalog_list(control_conn_t *conn, json_t *req, void *arg);
void ckpt_catalog_remove(control_conn_t *conn, json_t *req, void *arg);

#endif
