/* SPDX-License-Identifier: MIT */
/* shm_ring.h - a lock-free single-producer/single-consumer ring of
 * fixed-size cells in shared memory, the building block of the on-node
 * transport (shm.c).
 *
 * A ring lives inside the node's shared segment; its header holds two
 * 64-bit counters, each written by one side only: tail by the producer
 * (cells filled so far) and head by the consumer (cells consumed so far).
 * The producer writes a cell, then publishes it with a release store of
 * tail; the consumer reads tail with an acquire load, so the cell's bytes
 * are visible before the consumer looks at them, and gives the cell back
 * with a release store of head, which the producer reads with an acquire
 * load before it overwrites the cell. No read-modify-write is needed, no
 * lock is held, and a process killed between two calls leaves the ring
 * consistent: a cell is either published whole or not at all. Counters
 * never wrap in practice (2^64 cells).
 *
 * The counters sit on cache lines of their own so the two sides do not
 * false-share; each side keeps its last view of the other's counter in
 * its own process memory (struct shim_ring), so a poll of an empty ring
 * reads one shared line and a push into a ring with room reads none.
 *
 * Threading: one producer process and one consumer process per ring, each
 * single-threaded in its use of it (the library is at most
 * MPI_THREAD_SERIALIZED). Nothing here allocates, prints or blocks. */
#ifndef SHOAL_MPI_SHIM_SHM_RING_H
#define SHOAL_MPI_SHIM_SHM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum { SHIM_RING_LINE = 64 };

/* The shared part: counters, then ncells cells of cell_size bytes. */
struct shim_ring_hdr {
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t tail;
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t head;
};

/* One side's process-local view of a ring. */
struct shim_ring {
    struct shim_ring_hdr *hdr;
    char *cells;
    uint32_t ncells; /* a power of two */
    uint32_t cell_size;
    uint64_t mine;   /* tail for the producer, head for the consumer */
    uint64_t theirs; /* last value seen of the other side's counter */
};

/* Bytes a ring of ncells cells of cell_size bytes takes in the segment,
 * header included, a multiple of SHIM_RING_LINE when cell_size is. */
size_t shim_ring_bytes(uint32_t ncells, uint32_t cell_size);

/* Zeroes a ring's shared header at mem (done once, by the segment's
 * creator, before any other process maps it). */
void shim_ring_format(void *mem);

/* Sets up one side's view of the ring at mem (borrowed; valid while the
 * segment is mapped). ncells must be a power of two. */
void shim_ring_attach(struct shim_ring *ring,
                      void *mem,
                      uint32_t ncells,
                      uint32_t cell_size);

/* Producer: the next free cell, or NULL when the ring is full. The cell
 * stays invisible to the consumer until shim_ring_push(). */
static inline void *shim_ring_reserve(struct shim_ring *ring)
{
    if (ring->mine - ring->theirs >= ring->ncells) {
        ring->theirs =
            atomic_load_explicit(&ring->hdr->head, memory_order_acquire);
        if (ring->mine - ring->theirs >= ring->ncells)
            return NULL;
    }
    return ring->cells
           + (size_t)(ring->mine & (ring->ncells - 1)) * ring->cell_size;
}

/* Producer: publishes the cell shim_ring_reserve() returned. */
static inline void shim_ring_push(struct shim_ring *ring)
{
    ring->mine++;
    atomic_store_explicit(&ring->hdr->tail, ring->mine, memory_order_release);
}

/* Consumer: the oldest published cell, or NULL when the ring is empty. The
 * cell stays the consumer's until shim_ring_pop(). */
static inline void *shim_ring_peek(struct shim_ring *ring)
{
    if (ring->mine == ring->theirs) {
        ring->theirs =
            atomic_load_explicit(&ring->hdr->tail, memory_order_acquire);
        if (ring->mine == ring->theirs)
            return NULL;
    }
    return ring->cells
           + (size_t)(ring->mine & (ring->ncells - 1)) * ring->cell_size;
}

/* Consumer: gives the cell shim_ring_peek() returned back to the
 * producer. */
static inline void shim_ring_pop(struct shim_ring *ring)
{
    ring->mine++;
    atomic_store_explicit(&ring->hdr->head, ring->mine, memory_order_release);
}

#endif
