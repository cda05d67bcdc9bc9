/* SPDX-License-Identifier: MIT */
/* shim_pingpong.c - ping-pong latency and bandwidth between ranks 0 and 1.
 * Built alike with shoal's mpicc and a reference mpicc; prints one JSON
 * object per size with the median of several timed trials.
 * Usage: shim_pingpong IMPL_LABEL */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { TRIALS = 7 };

int main(int argc, char **argv)
{
    int rank, size;
    const char *impl = argc > 1 ? argv[1] : "unknown";
    static const size_t sizes[] = {8, 1024, 65536, 1 << 20, 4 << 20};

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char *buf = malloc(4 << 20);
    memset(buf, 1, 4 << 20);
    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        /* Enough round trips that a trial lasts milliseconds. */
        int iters = n <= 1024 ? 2000 : n <= 65536 ? 500 : 40;
        double t[TRIALS];
        for (int trial = -1; trial < TRIALS; trial++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < iters && rank < 2; i++) {
                if (rank == 0) {
                    MPI_Send(buf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
                    MPI_Recv(buf, (int)n, MPI_BYTE, 1, 1, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                } else {
                    MPI_Recv(buf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                    MPI_Send(buf, (int)n, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
                }
            }
            if (trial >= 0) /* trial -1 warms up connections and caches */
                t[trial] = (MPI_Wtime() - t0) / iters / 2;
        }
        double med = bench_median(t, TRIALS);
        if (rank == 0) {
            printf("{\"bench\":\"pingpong\",\"impl\":\"%s\",\"ranks\":%d,"
                   "\"size\":%zu,\"metric\":\"latency_us\",\"median\":%.4f}\n",
                   impl, size, n, med * 1e6);
            if (n >= 65536)
                printf("{\"bench\":\"pingpong\",\"impl\":\"%s\",\"ranks\":%d,"
                       "\"size\":%zu,\"metric\":\"bandwidth_GBps\","
                       "\"median\":%.4f}\n",
                       impl, size, n, (double)n / med / 1e9);
            fflush(stdout);
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
