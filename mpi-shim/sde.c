/* SPDX-License-Identifier: MIT */
/* sde.c - libmpi's counters as PAPI software-defined events.
 *
 * The events are sde:::shoal_mpi::NAME, NAME being PROTO_msgs_sent,
 * PROTO_bytes_sent, PROTO_msgs_recv and PROTO_bytes_recv for each protocol
 * PROTO (shm_eager, shm_cma, ofi), their sums over the protocols msgs_sent,
 * bytes_sent, msgs_recv and bytes_recv, unexpected_msgs, rma_direct_ops,
 * rma_ofi_ops, rma_am_ops and progress_ns (see sde.h for what each counts;
 * waits are timed only once a tool has read progress_ns, so that a rank
 * nobody watches pays no clock reads). A tool reading them with PAPI may
 * add them before MPI_Init (libsde keeps a placeholder until the library
 * registers). They are registered read-only and as deltas, by pointer to
 * the counters, or for the sums by a function PAPI calls when it reads.
 * Registration is done once and never undone: the counters live as long as
 * the process, and may be read after MPI_Finalize.
 *
 * Built without libsde (configure found no sde_lib.h), shim_sde_init()
 * does nothing. Nothing here prints or fails MPI_Init: an event libsde
 * refuses is simply not there. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/sde.h"

#ifdef HAVE_SDE
#include <sde_lib.h>
#endif

struct shim_sde_counters shim_sde;

#ifdef HAVE_SDE
static const char *const proto_name[SHIM_SDE_NPROTO] = {
    [SHIM_SDE_SHM_EAGER] = "shm_eager",
    [SHIM_SDE_SHM_CMA] = "shm_cma",
    [SHIM_SDE_OFI] = "ofi",
};

static const char *const proto_desc[SHIM_SDE_NPROTO] = {
    [SHIM_SDE_SHM_EAGER] = "on-node shared memory, copied through cells",
    [SHIM_SDE_SHM_CMA] = "on-node single copy (process_vm_readv)",
    [SHIM_SDE_OFI] = "libfabric",
};

static long long sum_of(const long long *v)
{
    long long s = 0;

    for (int p = 0; p < SHIM_SDE_NPROTO; p++)
        s += v[p];
    return s;
}

static long long sum_cb(void *arg)
{
    return sum_of(arg);
}

/* PAPI reads progress_ns as it starts counting it: from then on waits are
 * timed */
static long long progress_cb(void *arg)
{
    (void)arg;
    shim_sde.timing = true;
    return shim_sde.progress_ns;
}

static void
counter(papi_handle_t h, const char *name, long long *v, const char *desc)
{
    if (papi_sde_register_counter(h, name, PAPI_SDE_RO | PAPI_SDE_DELTA,
                                  PAPI_SDE_long_long, v)
        == SDE_OK)
        papi_sde_describe_counter(h, name, desc);
}

static void
sum(papi_handle_t h, const char *name, long long *v, const char *desc)
{
    if (papi_sde_register_counter_cb(h, name, PAPI_SDE_RO | PAPI_SDE_DELTA,
                                     PAPI_SDE_long_long, sum_cb, v)
        == SDE_OK)
        papi_sde_describe_counter(h, name, desc);
}

void shim_sde_init(void)
{
    static int done;
    papi_handle_t h;
    char name[64], desc[160];

    if (done)
        return;
    done = 1;
    h = papi_sde_init("shoal_mpi");
    if (!h)
        return;
    for (int p = 0; p < SHIM_SDE_NPROTO; p++) {
        snprintf(name, sizeof(name), "%s_msgs_sent", proto_name[p]);
        snprintf(desc, sizeof(desc), "Messages sent: %s", proto_desc[p]);
        counter(h, name, &shim_sde.msgs_sent[p], desc);
        snprintf(name, sizeof(name), "%s_bytes_sent", proto_name[p]);
        snprintf(desc, sizeof(desc), "Bytes sent: %s", proto_desc[p]);
        counter(h, name, &shim_sde.bytes_sent[p], desc);
        snprintf(name, sizeof(name), "%s_msgs_recv", proto_name[p]);
        snprintf(desc, sizeof(desc), "Messages received: %s", proto_desc[p]);
        counter(h, name, &shim_sde.msgs_recv[p], desc);
        snprintf(name, sizeof(name), "%s_bytes_recv", proto_name[p]);
        snprintf(desc, sizeof(desc), "Bytes received: %s", proto_desc[p]);
        counter(h, name, &shim_sde.bytes_recv[p], desc);
    }
    sum(h, "msgs_sent", shim_sde.msgs_sent, "Messages sent, every protocol");
    sum(h, "bytes_sent", shim_sde.bytes_sent, "Bytes sent, every protocol");
    sum(h, "msgs_recv", shim_sde.msgs_recv,
        "Messages received, every protocol");
    sum(h, "bytes_recv", shim_sde.bytes_recv, "Bytes received, every protocol");
    counter(h, "unexpected_msgs", &shim_sde.unexpected,
            "On-node messages that arrived before their receive was posted");
    counter(h, "rma_direct_ops", &shim_sde.rma_ops[SHIM_SDE_RMA_DIRECT],
            "One-sided operations done in a window's shared segment");
    counter(h, "rma_ofi_ops", &shim_sde.rma_ops[SHIM_SDE_RMA_OFI],
            "One-sided operations done by libfabric RMA (fi_write, fi_read)");
    counter(h, "rma_am_ops", &shim_sde.rma_ops[SHIM_SDE_RMA_AM],
            "One-sided operations sent as active messages");
    if (papi_sde_register_counter_cb(h, "progress_ns",
                                     PAPI_SDE_RO | PAPI_SDE_DELTA,
                                     PAPI_SDE_long_long, progress_cb, NULL)
        == SDE_OK)
        papi_sde_describe_counter(
            h, "progress_ns",
            "Nanoseconds spent polling for progress in calls that wait "
            "(timed once a tool reads it)");
}
#else
void shim_sde_init(void)
{
}
#endif

void shim_sde_rma_report(int rank)
{
    const char *v = getenv("SHOAL_MPI_RMA_STATS");

    if (!v || !*v || strcmp(v, "0") == 0)
        return;
    fprintf(
        stderr, "shoal mpi: rank %d: rma ops: direct %lld ofi %lld am %lld\n",
        rank, shim_sde.rma_ops[SHIM_SDE_RMA_DIRECT],
        shim_sde.rma_ops[SHIM_SDE_RMA_OFI], shim_sde.rma_ops[SHIM_SDE_RMA_AM]);
}
