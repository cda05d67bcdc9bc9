/* SPDX-License-Identifier: MIT */
/* policy: an Open MPI program that reads its job's mapping, binding and
 * ranking policies (PMIX_MAPBY, PMIX_BINDTO, PMIX_RANKBY) from its own
 * namespace, as a launcher registers them, with PMIx_Get on the wildcard
 * rank.
 *
 * Each rank prints "rank R mapby MAPBY bindto BINDTO rankby RANKBY"
 * ("(none)" for a key the namespace lacks); rank 0 then prints
 * " No Errors". Exits 1 when
 * PMIx_Init fails. */
#include <mpi.h>
#include <pmix.h>
#include <stdio.h>
#include <string.h>

/* The string value of key for the job, or "(none)". */
static void
get_job_string(const pmix_proc_t *me, const char *key, char *out, size_t len)
{
    pmix_proc_t job;
    pmix_value_t *v = NULL;
    pmix_status_t st;

    PMIX_LOAD_PROCID(&job, me->nspace, PMIX_RANK_WILDCARD);
    st = PMIx_Get(&job, key, NULL, 0, &v);
    if (st == PMIX_SUCCESS && v && v->type == PMIX_STRING && v->data.string)
        snprintf(out, len, "%s", v->data.string);
    else
        snprintf(out, len, "(none)");
    if (v)
        PMIX_VALUE_RELEASE(v);
}

int main(int argc, char **argv)
{
    pmix_proc_t me;
    pmix_status_t st;
    char mapby[128], bindto[128], rankby[128];
    int rank;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* the second PMIx_Init of the process: the one MPI made is shared */
    st = PMIx_Init(&me, NULL, 0);
    if (st != PMIX_SUCCESS) {
        printf("rank %d: PMIx_Init: %s\n", rank, PMIx_Error_string(st));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    get_job_string(&me, PMIX_MAPBY, mapby, sizeof(mapby));
    get_job_string(&me, PMIX_BINDTO, bindto, sizeof(bindto));
    get_job_string(&me, PMIX_RANKBY, rankby, sizeof(rankby));
    printf("rank %d mapby %s bindto %s rankby %s\n", rank, mapby, bindto,
           rankby);
    fflush(stdout);
    PMIx_Finalize(NULL, 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf(" No Errors\n");
    MPI_Finalize();
    return 0;
}
