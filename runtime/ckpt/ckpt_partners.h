/* SPDX-License-Identifier: MIT */
/* ckpt_partners.h - which nodes keep a node's checkpoint copies.
 *
 * The partners of node self are the alive members other than itself,
 * starting with the first after it in node-id order and wrapping around:
 * repeated calls pick the same nodes while they live, and the copies of
 * a pool's nodes spread over it evenly. Pure; thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_PARTNERS_H
#define SHOAL_RUNTIME_CKPT_CKPT_PARTNERS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/daemon/daemon.h"

/* Order the n members m (borrowed) as partners of self into *out (caller
 * frees with free(); never NULL on success) and *k. Returns 0 or
 * -ENOMEM. */
int ckpt_partners_ring(const struct daemon_member *m,
                       size_t n,
                       uint64_t self,
                       uint64_t **out,
                       size_t *k);

#endif
