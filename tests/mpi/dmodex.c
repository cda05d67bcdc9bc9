/* SPDX-License-Identifier: MIT */
/* dmodex: a PMIx program (built with mpicc.openmpi, no MPI) whose ranks
 * read each other's data with PMIx_Get and no fence that brings it: each
 * read of a rank on another node is a direct modex request its launcher
 * must serve.
 *
 *   dmodex get      each rank puts "shoal.dmx" = "value-of-R" and
 *                   commits; rank 0 then reads every other rank's
 *                   and prints "rank 0 got value-of-R from rank R"
 *   dmodex timeout  the last rank commits its value only after 4 s:
 *                   rank 0 reads it with PMIX_TIMEOUT 1 (prints the
 *                   status, which must be PMIX_ERR_TIMEOUT), then
 *                   without one (prints what it got)
 *   dmodex dead     the last rank connects and is killed by SIGKILL
 *                   1 s later without committing anything; rank 0,
 *                   deaf to the SIGTERM that ends the job, reads its
 *                   value, prints the status it gets and exits 2
 *
 * In get and timeout, every rank waits in a fence before it finalizes,
 * and rank 0 prints " No Errors" at the end. Exit status 2 on a failed
 * call. */
#include <pmix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char key[] = "shoal.dmx";

static int put_value(const pmix_proc_t *me)
{
    pmix_value_t v;
    char text[64];
    pmix_status_t st;

    snprintf(text, sizeof(text), "value-of-%u", me->rank);
    PMIX_VALUE_LOAD(&v, text, PMIX_STRING);
    st = PMIx_Put(PMIX_GLOBAL, key, &v);
    PMIX_VALUE_DESTRUCT(&v);
    if (st == PMIX_SUCCESS)
        st = PMIx_Commit();
    if (st != PMIX_SUCCESS) {
        fprintf(stderr, "rank %u: put: %s\n", me->rank, PMIx_Error_string(st));
        return -1;
    }
    return 0;
}

/* Read rank's value, with a timeout (seconds) when timeout > 0; prints
 * the value or the status. Returns the status. */
static pmix_status_t
get_value(const pmix_proc_t *me, pmix_rank_t rank, int timeout)
{
    pmix_proc_t peer;
    pmix_value_t *v = NULL;
    pmix_info_t info;
    pmix_status_t st;

    PMIX_PROC_LOAD(&peer, me->nspace, rank);
    if (timeout > 0) {
        PMIX_INFO_LOAD(&info, PMIX_TIMEOUT, &timeout, PMIX_INT);
        st = PMIx_Get(&peer, key, &info, 1, &v);
        PMIX_INFO_DESTRUCT(&info);
    } else {
        st = PMIx_Get(&peer, key, NULL, 0, &v);
    }
    if (st == PMIX_SUCCESS && v && v->type == PMIX_STRING)
        printf("rank %u got %s from rank %u\n", me->rank, v->data.string, rank);
    else
        printf("rank %u get of rank %u: %s\n", me->rank, rank,
               PMIx_Error_string(st == PMIX_SUCCESS ? PMIX_ERR_TYPE_MISMATCH
                                                    : st));
    fflush(stdout);
    if (v)
        PMIX_VALUE_RELEASE(v);
    return st;
}

static uint32_t job_size(const pmix_proc_t *me)
{
    pmix_proc_t wild;
    pmix_value_t *v = NULL;
    uint32_t size = 0;

    PMIX_PROC_LOAD(&wild, me->nspace, PMIX_RANK_WILDCARD);
    if (PMIx_Get(&wild, PMIX_JOB_SIZE, NULL, 0, &v) == PMIX_SUCCESS && v)
        size = v->data.uint32;
    if (v)
        PMIX_VALUE_RELEASE(v);
    return size;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "get";
    pmix_proc_t me;
    pmix_status_t st;
    uint32_t size, last;
    int rc = 0;

    st = PMIx_Init(&me, NULL, 0);
    if (st != PMIX_SUCCESS) {
        fprintf(stderr, "PMIx_Init: %s\n", PMIx_Error_string(st));
        return 2;
    }
    size = job_size(&me);
    if (size < 2) {
        fprintf(stderr, "dmodex needs 2 ranks or more\n");
        PMIx_Finalize(NULL, 0);
        return 2;
    }
    last = size - 1;
    if (strcmp(mode, "dead") == 0) {
        if (me.rank == last) {
            sleep(1);
            raise(SIGKILL);
        }
        if (me.rank == 0) {
            /* the answer, not the job's end, is what it waits for */
            signal(SIGTERM, SIG_IGN);
            get_value(&me, last, 0);
            return 2;
        }
        /* the launcher ends the job: the last rank was killed */
        pause();
        return 2;
    }
    if (strcmp(mode, "timeout") == 0) {
        if (me.rank == last) {
            sleep(4);
            rc = put_value(&me);
        } else {
            rc = put_value(&me);
        }
        if (rc == 0 && me.rank == 0
            && (get_value(&me, last, 1) != PMIX_ERR_TIMEOUT
                || get_value(&me, last, 0) != PMIX_SUCCESS))
            rc = -1;
    } else if (strcmp(mode, "get") == 0) {
        rc = put_value(&me);
        for (uint32_t r = 1; rc == 0 && me.rank == 0 && r < size; r++)
            if (get_value(&me, r, 0) != PMIX_SUCCESS)
                rc = -1;
    } else {
        fprintf(stderr, "dmodex: unknown mode '%s'\n", mode);
        rc = -1;
    }
    st = PMIx_Fence(NULL, 0, NULL, 0);
    if (st != PMIX_SUCCESS) {
        fprintf(stderr, "rank %u: fence: %s\n", me.rank, PMIx_Error_string(st));
        rc = -1;
    }
    if (rc == 0 && me.rank == 0)
        printf(" No Errors\n");
    PMIx_Finalize(NULL, 0);
    return rc == 0 ? 0 : 2;
}
