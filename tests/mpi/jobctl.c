/* SPDX-License-Identifier: MIT */
/* jobctl: an Open MPI program that uses PMIx beside MPI, as a launcher's
 * PMIx server must serve it.
 *
 *   jobctl signal  rank 0 has the last rank sent SIGUSR1
 *                  (PMIx_Job_control, PMIX_JOB_CTRL_SIGNAL); that rank
 *                  prints "rank N got SIGUSR1"
 *   jobctl kill    rank 0 has the whole job killed (PMIX_JOB_CTRL_KILL)
 *                  after the others entered a barrier they never leave
 *   jobctl wait    the last rank looks a name up with PMIX_WAIT before
 *                  rank 0 publishes it; prints what it found
 *   jobctl hang    the same for a name nobody publishes: the job hangs
 *   jobctl other   rank 0 asks for a signal to a namespace not its job's:
 *                  refused
 *   jobctl die     rank 1 connects (PMIx_Init) and is killed before
 *                  MPI_Init, whose fence the others then wait in
 *
 * Prints " No Errors" from rank 0 when done. */
#include <mpi.h>
#include <pmix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    (void)sig;
    got = 1;
}

static pmix_status_t control(const pmix_proc_t *target, const char *what, int v)
{
    pmix_info_t info;
    pmix_status_t st;
    bool yes = true;

    if (strcmp(what, PMIX_JOB_CTRL_KILL) == 0)
        PMIX_INFO_LOAD(&info, PMIX_JOB_CTRL_KILL, &yes, PMIX_BOOL);
    else
        PMIX_INFO_LOAD(&info, PMIX_JOB_CTRL_SIGNAL, &v, PMIX_INT);
    st = PMIx_Job_control(target, 1, &info, 1, NULL, NULL);
    PMIX_INFO_DESTRUCT(&info);
    return st;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    pmix_proc_t me, target;
    int rank, size, last;
    pmix_status_t st;

    if (strcmp(mode, "die") == 0) {
        /* connected, then gone before the fence the others wait in */
        st = PMIx_Init(&me, NULL, 0);
        if (st == PMIX_SUCCESS && me.rank == 1)
            raise(SIGKILL);
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    last = size - 1;
    /* the second PMIx_Init of the process: the one MPI made is shared */
    st = PMIx_Init(&me, NULL, 0);
    if (st != PMIX_SUCCESS) {
        printf("rank %d: PMIx_Init: %s\n", rank, PMIx_Error_string(st));
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (strcmp(mode, "signal") == 0) {
        signal(SIGUSR1, on_usr1);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            PMIX_PROC_LOAD(&target, me.nspace, (pmix_rank_t)last);
            st = control(&target, PMIX_JOB_CTRL_SIGNAL, SIGUSR1);
            if (st != PMIX_SUCCESS)
                printf("signal: %s\n", PMIx_Error_string(st));
        }
        if (rank == last) {
            for (int i = 0; i < 1000 && !got; i++)
                usleep(10000);
            printf("rank %d %s SIGUSR1\n", rank, got ? "got" : "never got");
        }
    } else if (strcmp(mode, "kill") == 0) {
        if (rank == 0) {
            sleep(1); /* the others wait in the barrier */
            PMIX_PROC_LOAD(&target, me.nspace, PMIX_RANK_WILDCARD);
            st = control(&target, PMIX_JOB_CTRL_KILL, 0);
            printf("kill: %s\n", PMIx_Error_string(st));
            fflush(stdout);
            sleep(30);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (strcmp(mode, "wait") == 0 || strcmp(mode, "hang") == 0) {
        bool hang = strcmp(mode, "hang") == 0;

        if (rank == last) {
            pmix_pdata_t pd;
            pmix_info_t wait;
            int all = 0;

            PMIX_PDATA_CONSTRUCT(&pd);
            PMIX_LOAD_KEY(pd.key, hang ? "shoal-never" : "shoal-later");
            PMIX_INFO_LOAD(&wait, PMIX_WAIT, &all, PMIX_INT);
            st = PMIx_Lookup(&pd, 1, &wait, 1);
            if (st == PMIX_SUCCESS && pd.value.type == PMIX_STRING)
                printf("rank %d found %s from rank %u\n", rank,
                       pd.value.data.string, pd.proc.rank);
            else
                printf("rank %d: lookup: %s\n", rank, PMIx_Error_string(st));
            PMIX_PDATA_DESTRUCT(&pd);
        }
        if (rank == 0) {
            pmix_info_t data;

            usleep(300000); /* the lookup waits first */
            PMIX_INFO_LOAD(&data, "shoal-later", "value-of-0", PMIX_STRING);
            st = PMIx_Publish(&data, 1);
            if (st != PMIX_SUCCESS)
                printf("publish: %s\n", PMIx_Error_string(st));
            PMIX_INFO_DESTRUCT(&data);
        }
    } else if (strcmp(mode, "die") == 0) {
        /* not reached while rank 1 is missing */
    } else if (strcmp(mode, "other") == 0) {
        if (rank == 0) {
            PMIX_PROC_LOAD(&target, "not-this-job", 0);
            st = control(&target, PMIX_JOB_CTRL_SIGNAL, SIGUSR1);
            printf("other job: %s\n",
                   st == PMIX_SUCCESS ? "signalled" : "refused");
        }
    } else {
        if (rank == 0)
            printf("usage: jobctl signal|kill|wait|hang|other|die\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    PMIx_Finalize(NULL, 0);
    if (rank == 0)
        printf(" No Errors\n");
    MPI_Finalize();
    return 0;
}
