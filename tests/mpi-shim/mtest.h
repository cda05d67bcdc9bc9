/* SPDX-License-Identifier: MIT */
/* mtest.h - shared helpers of the MPI test programs: count failed checks,
 * and let rank 0 print "No Errors" (or the number of errors) at the end,
 * as MPICH's test suite does. Header-only so that each program is one
 * file built alike with shoal's mpicc and with a reference mpicc. */
#ifndef SHOAL_TESTS_MPI_MTEST_H
#define SHOAL_TESTS_MPI_MTEST_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mtest_errors;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            int mtest_r_;                                                      \
            MPI_Comm_rank(MPI_COMM_WORLD, &mtest_r_);                          \
            printf("FAIL rank %d %s:%d: ", mtest_r_, __FILE__, __LINE__);      \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            fflush(stdout);                                                    \
            mtest_errors++;                                                    \
        }                                                                      \
    } while (0)

/* Prints from rank 0 only, flushing so lines keep their order. */
#define SAY(...)                                                               \
    do {                                                                       \
        int mtest_r_;                                                          \
        MPI_Comm_rank(MPI_COMM_WORLD, &mtest_r_);                              \
        if (mtest_r_ == 0) {                                                   \
            printf(__VA_ARGS__);                                               \
            fflush(stdout);                                                    \
        }                                                                      \
    } while (0)

/* The ranks of MPI_COMM_WORLD on this rank's host: those with its
 * processor name. What MPI_COMM_TYPE_SHARED must hold when the ranks run
 * on real hosts (several, or one), not on nodes made up for a test. */
static inline int mtest_node_ranks(void)
{
    char mine[MPI_MAX_PROCESSOR_NAME] = {0};
    char *all;
    int size, len, n = 0;

    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(mine, &len);
    all = calloc((size_t)size, MPI_MAX_PROCESSOR_NAME);
    if (!all)
        return -1;
    MPI_Allgather(mine, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all,
                  MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD);
    for (int r = 0; r < size; r++)
        n += strcmp(all + (size_t)r * MPI_MAX_PROCESSOR_NAME, mine) == 0;
    free(all);
    return n;
}

static inline int mtest_finalize(void)
{
    int total = 0;

    MPI_Allreduce(&mtest_errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    SAY(total ? "Found %d errors\n" : "No Errors\n", total);
    MPI_Finalize();
    return total != 0;
}

#endif
