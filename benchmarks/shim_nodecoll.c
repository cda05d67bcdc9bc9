/* SPDX-License-Identifier: MIT */
/* shim_nodecoll.c - allreduce of 8 B and 1 MiB, for comparing shoal's
 * node-aware collectives with the flat ones (SHOAL_MPI_COLL_FLAT=1) on a
 * job spread over several hosts. Prints one JSON object per size: the
 * median over trials of the slowest rank's time per call.
 * Usage: shim_nodecoll LABEL */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { TRIALS = 7 };

int main(int argc, char **argv)
{
    int rank, size;
    const char *label = argc > 1 ? argv[1] : "unknown";
    static const size_t sizes[] = {8, 1 << 20};

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double *a = calloc(1 << 17, sizeof(double));
    double *b = calloc(1 << 17, sizeof(double));
    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        int n = (int)(sizes[k] / sizeof(double));
        int iters = sizes[k] <= 64 ? 500 : 10;
        double t[TRIALS];
        for (int trial = -1; trial < TRIALS; trial++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < iters; i++)
                MPI_Allreduce(a, b, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            double mine = (MPI_Wtime() - t0) / iters, slow;
            MPI_Allreduce(&mine, &slow, 1, MPI_DOUBLE, MPI_MAX,
                          MPI_COMM_WORLD);
            if (trial >= 0)
                t[trial] = slow;
        }
        if (rank == 0) {
            printf("{\"bench\":\"allreduce\",\"impl\":\"%s\",\"ranks\":%d,"
                   "\"size\":%zu,\"metric\":\"time_us\",\"median\":%.2f}\n",
                   label, size, sizes[k], bench_median(t, TRIALS) * 1e6);
            fflush(stdout);
        }
    }
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
