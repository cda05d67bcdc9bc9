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

static inline int mtest_finalize(void)
{
    int total = 0;

    MPI_Allreduce(&mtest_errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    SAY(total ? "Found %d errors\n" : "No Errors\n", total);
    MPI_Finalize();
    return total != 0;
}

#endif
