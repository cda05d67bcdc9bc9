/* SPDX-License-Identifier: MIT */
/* sde.h - libmpi's transport counters, exported to PAPI as software-
 * defined events (library "shoal_mpi") when libmpi is built with libsde.
 *
 * Plain per-process integers that the transports add to as they go (a
 * load and a store each: no atomics, the library is not thread-safe
 * anyway); PAPI reads them through the pointers sde.c registers at
 * MPI_Init, so nothing is paid when no tool reads them. Counted per
 * protocol, at the transport: a message is counted when it is handed to
 * the transport (sent) or when its first part arrives (received, whether
 * a receive was posted or not), so collectives' and one-sided operations'
 * messages count too, and the acknowledgements of synchronous sends and
 * the shared-memory transport's control cells do not. Without libsde the
 * counters are still kept (a few adds), and never read. */
#ifndef SHOAL_MPI_SHIM_SDE_H
#define SHOAL_MPI_SHIM_SDE_H

#include <stdbool.h>
#include <stddef.h>

enum shim_sde_proto {
    SHIM_SDE_SHM_EAGER, /* copied through the shared segment's cells */
    SHIM_SDE_SHM_CMA,   /* read by the receiver from the sender's memory */
    SHIM_SDE_OFI,       /* through libfabric */
    SHIM_SDE_NPROTO
};

/* The paths a one-sided operation takes (rma.c). */
enum shim_sde_rma_path {
    SHIM_SDE_RMA_DIRECT, /* loads and stores in a window's shared segment */
    SHIM_SDE_RMA_OFI,    /* one fi_write or fi_read */
    SHIM_SDE_RMA_AM,     /* active messages */
    SHIM_SDE_RMA_NPATH
};

struct shim_sde_counters {
    long long msgs_sent[SHIM_SDE_NPROTO];
    long long bytes_sent[SHIM_SDE_NPROTO];
    long long msgs_recv[SHIM_SDE_NPROTO];
    long long bytes_recv[SHIM_SDE_NPROTO];
    /* messages the shared-memory transport queued because no receive was
     * posted for them (libfabric matches its own and does not say) */
    long long unexpected;
    /* one-sided operations (calls with a target) by the path they took */
    long long rma_ops[SHIM_SDE_RMA_NPATH];
    /* nanoseconds spent polling for progress inside calls that wait
     * (shim_progress_wait: MPI_Wait and kin, blocking calls, collectives);
     * measured only once a tool has read it (timing) */
    long long progress_ns;
    /* progress_ns is kept: set when PAPI first reads it (it reads a
     * counter as it starts counting it), as two clock reads per poll cost
     * a waiting rank's latency */
    bool timing;
};

extern struct shim_sde_counters shim_sde;

static inline void shim_sde_sent(enum shim_sde_proto p, size_t len)
{
    shim_sde.msgs_sent[p]++;
    shim_sde.bytes_sent[p] += (long long)len;
}

static inline void shim_sde_recv(enum shim_sde_proto p, size_t len)
{
    shim_sde.msgs_recv[p]++;
    shim_sde.bytes_recv[p] += (long long)len;
}

/* Registers the counters with libsde (MPI_Init); a no-op without it. */
void shim_sde_init(void);
/* At MPI_Finalize, when SHOAL_MPI_RMA_STATS is set (not "0"): one line on
 * stderr with this rank's one-sided operations by path, which tests and
 * people read to see which path a job took. */
void shim_sde_rma_report(int rank);

#endif
