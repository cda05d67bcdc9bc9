/* SPDX-License-Identifier: MIT */
/* shim_pingpong.c - latency and bandwidth between ranks 0 and 1. Built
 * alike with shoal's mpicc and a reference mpicc; prints one JSON object
 * per size and metric with the median of several timed trials.
 *
 * Latency is half a ping-pong round trip (MPI_Send/MPI_Recv). Bandwidth
 * streams a window of WINDOW nonblocking sends to rank 1, which answers
 * each window with a zero-byte message (as osu_bw does), so transfers
 * overlap as an application's would.
 *
 * Usage: shim_pingpong IMPL_LABEL [SIZE...]
 * Without sizes: 0 B and every power of two from 1 B to 4 MiB.
 * PINGPONG_DIV=N divides every iteration count by N (at least 1 is left),
 * for machines so loaded that the default trials take minutes. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { TRIALS = 7, WINDOW = 16, MAX_SIZES = 64 };

static double pingpong(char *buf, size_t n, int iters, int rank)
{
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
    return (MPI_Wtime() - t0) / iters / 2;
}

static double stream(char *buf, size_t n, int iters, int rank)
{
    MPI_Request req[WINDOW];

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters && rank < 2; i++) {
        for (int w = 0; w < WINDOW; w++) {
            if (rank == 0)
                MPI_Isend(buf, (int)n, MPI_BYTE, 1, 2, MPI_COMM_WORLD, &req[w]);
            else
                MPI_Irecv(buf, (int)n, MPI_BYTE, 0, 2, MPI_COMM_WORLD, &req[w]);
        }
        MPI_Waitall(WINDOW, req, MPI_STATUSES_IGNORE);
        if (rank == 0)
            MPI_Recv(NULL, 0, MPI_BYTE, 1, 3, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        else
            MPI_Send(NULL, 0, MPI_BYTE, 0, 3, MPI_COMM_WORLD);
    }
    double t = MPI_Wtime() - t0;
    return (double)n * WINDOW * iters / t;
}

int main(int argc, char **argv)
{
    int rank, size;
    const char *impl = argc > 1 ? argv[1] : "unknown";
    size_t sizes[MAX_SIZES];
    int nsizes = 0;
    size_t max = 0;

    for (int i = 2; i < argc && nsizes < MAX_SIZES; i++)
        sizes[nsizes++] = strtoull(argv[i], NULL, 0);
    if (nsizes == 0) {
        sizes[nsizes++] = 0;
        for (size_t n = 1; n <= (4u << 20); n *= 2)
            sizes[nsizes++] = n;
    }
    for (int k = 0; k < nsizes; k++)
        if (sizes[k] > max)
            max = sizes[k];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *d = getenv("PINGPONG_DIV");
    int div = d && atoi(d) > 1 ? atoi(d) : 1;
    char *buf = malloc(max ? max : 1);
    memset(buf, 1, max);
    for (int k = 0; k < nsizes; k++) {
        size_t n = sizes[k];
        /* Enough round trips that a trial lasts milliseconds. */
        int iters = (n <= 4096 ? 2000 : n <= 65536 ? 300 : 20) / div;
        int witers = (n <= 4096 ? 200 : n <= 65536 ? 30 : 3) / div;
        iters = iters > 0 ? iters : 1;
        witers = witers > 0 ? witers : 1;
        double t[TRIALS], bw[TRIALS];
        pingpong(buf, n, iters / 10 + 1, rank); /* warm up */
        for (int trial = 0; trial < TRIALS; trial++)
            t[trial] = pingpong(buf, n, iters, rank);
        if (n > 0) {
            stream(buf, n, 1, rank);
            for (int trial = 0; trial < TRIALS; trial++)
                bw[trial] = stream(buf, n, witers, rank);
        }
        double med = bench_median(t, TRIALS);
        if (rank == 0) {
            printf("{\"bench\":\"pingpong\",\"impl\":\"%s\",\"ranks\":%d,"
                   "\"size\":%zu,\"metric\":\"latency_us\",\"median\":%.4f}\n",
                   impl, size, n, med * 1e6);
            if (n > 0)
                printf("{\"bench\":\"pingpong\",\"impl\":\"%s\",\"ranks\":%d,"
                       "\"size\":%zu,\"metric\":\"bandwidth_GBps\","
                       "\"median\":%.4f}\n",
                       impl, size, n, bench_median(bw, TRIALS) / 1e9);
            fflush(stdout);
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
