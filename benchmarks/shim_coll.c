/* SPDX-License-Identifier: MIT */
/* shim_coll.c - allreduce, bcast and alltoall timing at small and large
 * sizes, and barrier. Built alike with shoal's mpicc and a reference mpicc;
 * prints one JSON object per (collective, size): the median over trials of the
 * slowest rank's time per call.
 * Usage: shim_coll IMPL_LABEL */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { TRIALS = 7 };

enum coll { ALLREDUCE, BCAST, ALLTOALL, BARRIER };
static const char *const names[] = {"allreduce", "bcast", "alltoall",
                                    "barrier"};

int main(int argc, char **argv)
{
    int rank, size;
    const char *impl = argc > 1 ? argv[1] : "unknown";
    static const size_t sizes[] = {8, 65536, 1 << 20};

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t maxb = (size_t)(1 << 20) * size;
    char *a = malloc(maxb), *b = malloc(maxb);
    memset(a, 0, maxb);
    memset(b, 0, maxb);
    for (int c = ALLREDUCE; c <= BARRIER; c++) {
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            size_t n = sizes[k]; /* bytes per rank (alltoall: per pair) */
            if ((c == ALLTOALL && n > 65536) || (c == BARRIER && k > 0))
                continue;
            int iters = n <= 64 ? 2000 : n <= 65536 ? 200 : 20;
            double t[TRIALS];
            for (int trial = -1; trial < TRIALS; trial++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                for (int i = 0; i < iters; i++) {
                    if (c == ALLREDUCE)
                        MPI_Allreduce(a, b, (int)(n / 8), MPI_DOUBLE, MPI_SUM,
                                      MPI_COMM_WORLD);
                    else if (c == BARRIER)
                        MPI_Barrier(MPI_COMM_WORLD);
                    else if (c == BCAST)
                        MPI_Bcast(a, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
                    else
                        MPI_Alltoall(a, (int)n, MPI_BYTE, b, (int)n, MPI_BYTE,
                                     MPI_COMM_WORLD);
                }
                double mine = (MPI_Wtime() - t0) / iters, slow;
                MPI_Allreduce(&mine, &slow, 1, MPI_DOUBLE, MPI_MAX,
                              MPI_COMM_WORLD);
                if (trial >= 0)
                    t[trial] = slow;
            }
            if (rank == 0) {
                printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"ranks\":%d,"
                       "\"size\":%zu,\"metric\":\"time_us\",\"median\":%.4f}\n",
                       names[c], impl, size, c == BARRIER ? (size_t)0 : n,
                       bench_median(t, TRIALS) * 1e6);
                fflush(stdout);
            }
        }
    }
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
