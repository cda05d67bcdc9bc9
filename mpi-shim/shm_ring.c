/* SPDX-License-Identifier: MIT */
/* shm_ring.c - the out-of-line part of the SPSC cell ring (shm_ring.h). */
#include "config.h"

#include <string.h>

#include "mpi-shim/shm_ring.h"

size_t shim_ring_bytes(uint32_t ncells, uint32_t cell_size)
{
    return sizeof(struct shim_ring_hdr) + (size_t)ncells * cell_size;
}

void shim_ring_format(void *mem)
{
    struct shim_ring_hdr *hdr = mem;

    atomic_init(&hdr->tail, 0);
    atomic_init(&hdr->head, 0);
}

void shim_ring_attach(struct shim_ring *ring,
                      void *mem,
                      uint32_t ncells,
                      uint32_t cell_size)
{
    memset(ring, 0, sizeof(*ring));
    ring->hdr = mem;
    ring->cells = (char *)mem + sizeof(struct shim_ring_hdr);
    ring->ncells = ncells;
    ring->cell_size = cell_size;
}
