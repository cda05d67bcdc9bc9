/* SPDX-License-Identifier: MIT */
/* pmi_client.h - the client side of the PMI-1 "simple" wire protocol.
 *
 * A process started by a PMI-1 launcher finds its socket in PMI_FD and its
 * rank and size in PMI_RANK/PMI_SIZE. Without PMI_FD but with
 * PMIX_NAMESPACE (and OpenPMIx's client library loadable), every call
 * goes through PMIx instead (pmix_client.h). Without either the process is
 * a singleton and every call below works locally (size 1). Blocking, not
 * thread-safe; the socket belongs to this module. */
#ifndef SHOAL_MPI_SHIM_PMI_CLIENT_H
#define SHOAL_MPI_SHIM_PMI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Connects the protocol (init, get_maxes, get_my_kvsname). Sets *rank,
 * *size, *appnum. Returns 0 or a negative errno. */
int shim_pmi_init(int *rank, int *size, int *appnum);
bool shim_pmi_is_singleton(void);
/* Publishes key=value in the job's key-value space (values must not
 * contain spaces or newlines; callers encode binary data in hex). */
int shim_pmi_put(const char *key, const char *value);
/* Job-wide barrier; also commits puts. */
int shim_pmi_barrier(void);
/* Copies the value of key into value (at most len bytes with the NUL).
 * Returns 0, -ENOENT when the key is unknown, or another negative errno. */
int shim_pmi_get(const char *key, char *value, size_t len);
/* The largest value shim_pmi_put accepts, in bytes. */
size_t shim_pmi_value_max(void);
int shim_pmi_finalize(void);
/* Asks the launcher to end the job with exitcode; msg is sent as the
 * reason. Returns only if the launcher cannot be told. */
void shim_pmi_abort(int exitcode, const char *msg);

#endif
