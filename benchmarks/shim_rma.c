/* SPDX-License-Identifier: MIT */
/* shim_rma.c - one-sided communication between ranks 0 (origin) and 1
 * (target): put, get and accumulate latency (one operation and a flush,
 * inside MPI_Win_lock_all), their bandwidth (a window of operations, then
 * a flush), and the cost of an epoch: MPI_Win_fence alone, an empty
 * MPI_Win_lock/unlock, and lock + 8-byte put + unlock. Built alike with
 * shoal's mpicc and a reference mpicc; prints one JSON object per
 * measure with the median of several timed trials.
 * Usage: shim_rma IMPL_LABEL */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { TRIALS = 5, WINDOW = 32, MAXSZ = 1 << 20 };

static const char *impl;
static int rank, nranks;

static void report(const char *bench, size_t size, const char *metric, double v)
{
    if (rank != 0)
        return;
    printf("{\"bench\":\"%s\",\"impl\":\"%s\",\"ranks\":%d,\"size\":%zu,"
           "\"metric\":\"%s\",\"median\":%.4f}\n",
           bench, impl, nranks, size, metric, v);
    fflush(stdout);
}

enum kind { PUT, GET, ACC };

/* One trial of `iters` operations of n bytes from rank 0 to rank 1,
 * flushed after every `batch` of them; seconds per operation. */
static double
trial(MPI_Win w, char *buf, enum kind k, size_t n, int iters, int batch)
{
    double t0 = MPI_Wtime();
    if (rank == 0) {
        for (int i = 0; i < iters; i++) {
            if (k == PUT)
                MPI_Put(buf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, w);
            else if (k == GET)
                MPI_Get(buf, (int)n, MPI_BYTE, 1, 0, (int)n, MPI_BYTE, w);
            else
                MPI_Accumulate(buf, (int)(n / 8), MPI_DOUBLE, 1, 0,
                               (int)(n / 8), MPI_DOUBLE, MPI_SUM, w);
            if ((i + 1) % batch == 0)
                MPI_Win_flush(1, w);
        }
        MPI_Win_flush(1, w);
    }
    return (MPI_Wtime() - t0) / iters;
}

static void ops(MPI_Win w, char *buf)
{
    static const size_t sizes[] = {8, 1024, 65536, MAXSZ};
    static const char *names[] = {"put", "get", "acc"};

    for (int k = PUT; k <= ACC; k++) {
        for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t n = sizes[s];
            int iters = n <= 1024 ? 200 : n <= 65536 ? 64 : 8;
            double lat[TRIALS], bw[TRIALS];
            for (int t = -1; t < TRIALS; t++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double l = trial(w, buf, (enum kind)k, n, iters, 1);
                MPI_Barrier(MPI_COMM_WORLD);
                double b = trial(w, buf, (enum kind)k, n, iters, WINDOW);
                if (t >= 0) {
                    lat[t] = l;
                    bw[t] = b;
                }
            }
            report(names[k], n, "latency_us", bench_median(lat, TRIALS) * 1e6);
            if (n >= 1024)
                report(names[k], n, "bandwidth_MBps",
                       (double)n / bench_median(bw, TRIALS) / 1e6);
        }
    }
}

static void epochs(MPI_Win w, char *buf)
{
    int iters = 200;
    double fence[TRIALS], lock[TRIALS], lockput[TRIALS];

    for (int t = -1; t < TRIALS; t++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++)
            MPI_Win_fence(0, w);
        double f = (MPI_Wtime() - t0) / iters;
        MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; rank == 0 && i < iters; i++) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, w);
            MPI_Win_unlock(1, w);
        }
        double l = (MPI_Wtime() - t0) / iters;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; rank == 0 && i < iters; i++) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 1, 0, w);
            MPI_Put(buf, 8, MPI_BYTE, 1, 0, 8, MPI_BYTE, w);
            MPI_Win_unlock(1, w);
        }
        double lp = (MPI_Wtime() - t0) / iters;
        if (t >= 0) {
            fence[t] = f;
            lock[t] = l;
            lockput[t] = lp;
        }
    }
    report("fence", 0, "epoch_us", bench_median(fence, TRIALS) * 1e6);
    report("lock_unlock", 0, "epoch_us", bench_median(lock, TRIALS) * 1e6);
    report("lock_put_unlock", 8, "epoch_us",
           bench_median(lockput, TRIALS) * 1e6);
}

int main(int argc, char **argv)
{
    char *base;
    MPI_Win w;

    impl = argc > 1 ? argv[1] : "unknown";
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    char *buf = malloc(MAXSZ);
    memset(buf, 0, MAXSZ);
    MPI_Win_allocate(MAXSZ, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &base, &w);
    memset(base, 0, MAXSZ);
    MPI_Win_lock_all(0, w);
    ops(w, buf);
    MPI_Win_unlock_all(w);
    epochs(w, buf);
    MPI_Win_free(&w);
    free(buf);
    MPI_Finalize();
    return 0;
}
