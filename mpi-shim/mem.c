/* SPDX-License-Identifier: MIT */
/* mem.c - MPI_Alloc_mem and MPI_Free_mem. Memory comes from malloc: the
 * transport registers buffers per operation where the provider needs it
 * (FI_MR_LOCAL) and one-sided communication runs over point-to-point, so
 * no memory is special to this library. Info hints are checked, then
 * ignored. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "mpi-shim/shim_private.h"

SHIM_WEAK(Alloc_mem)
int PMPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
    int rc = shim_info_check(info);

    if (rc == 0 && (size < 0 || !baseptr))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Alloc_mem", rc);
    /* Aligned for any type; size 0 still gives a pointer to free. */
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? (size_t)size : 1))
        return shim_err(NULL, "MPI_Alloc_mem", SHIM_ECLASS(MPI_ERR_NO_MEM));
    *(void **)baseptr = p;
    return MPI_SUCCESS;
}

SHIM_WEAK(Free_mem)
int PMPI_Free_mem(void *base)
{
    free(base);
    return MPI_SUCCESS;
}
