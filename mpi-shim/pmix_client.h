/* SPDX-License-Identifier: MIT */
/* pmix_client.h - shoal's MPI as a PMIx client, for launchers that give
 * PMIx and not PMI-1 (`srun --mpi=pmix`, prterun).
 *
 * OpenPMIx's client library is loaded at run time (dlopen of
 * libpmix.so.2), so libmpi neither links it nor needs it where PMI-1 is
 * all there is. The calls mirror pmi_client.h, whose functions hand over
 * to these when the process was started with PMIX_NAMESPACE and without
 * PMI_FD. PMI-1's key-value space has no owners but PMIx's has: shoal's
 * keys carry their owner's rank as their first number ("shoal-addr-3-n" is
 * rank 3's), and a key without one is looked up job-wide. Blocking, not
 * thread-safe. */
#ifndef SHOAL_MPI_SHIM_PMIX_CLIENT_H
#define SHOAL_MPI_SHIM_PMIX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the launcher gave PMIx (PMIX_NAMESPACE set) and the client
 * library loads; why not, into why (size bytes), when it does not. */
bool shim_pmix_available(char *why, size_t size);
int shim_pmix_init(int *rank, int *size, int *appnum);
int shim_pmix_put(const char *key, const char *value);
int shim_pmix_barrier(void);
int shim_pmix_get(const char *key, char *value, size_t len);
int shim_pmix_finalize(void);
void shim_pmix_abort(int exitcode, const char *msg);

#endif
