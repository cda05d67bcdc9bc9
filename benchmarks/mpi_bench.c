/* SPDX-License-Identifier: MIT */
/* mpi_bench.c - shoal-mpi-bench, the MPI micro-benchmark the example
 * suites in benchmarks/suites/ run: one operation at one message size per
 * run, timed over enough iterations to last about a tenth of a second,
 * after a warm-up. Rank 0 prints one JSON object, which a suite reads
 * with `parse: json`:
 *
 *   pingpong SIZE   {"latency_us": half a round trip, "bandwidth_MBps":
 *                   SIZE / half a round trip}, between ranks 0 and 1
 *   allreduce SIZE  {"time_us": mean time of one MPI_Allreduce of SIZE
 *                   bytes (as doubles, MPI_SUM), the slowest rank's}
 *   bcast SIZE      {"time_us": likewise for MPI_Bcast from rank 0}
 *   barrier         {"time_us": likewise for MPI_Barrier}
 *
 * Exit status 2 with a message for bad arguments. Built against shoal's
 * own MPI (mpi-shim) and installed in pkglibexecdir. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum bench_op { OP_PINGPONG, OP_ALLREDUCE, OP_BCAST, OP_BARRIER };

static void run_op(enum bench_op op, char *buf, char *out, int size, int rank)
{
    switch (op) {
    case OP_PINGPONG:
        if (rank == 0) {
            MPI_Send(buf, size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, 1, 1, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, size, MPI_BYTE, 0, 1, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
        }
        break;
    case OP_ALLREDUCE:
        MPI_Allreduce(
            buf, out,
            size / (int)sizeof(double) > 0 ? size / (int)sizeof(double) : 1,
            MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        break;
    case OP_BCAST:
        MPI_Bcast(buf, size, MPI_BYTE, 0, MPI_COMM_WORLD);
        break;
    case OP_BARRIER:
        MPI_Barrier(MPI_COMM_WORLD);
        break;
    }
}

/* Time iters operations; the slowest rank's mean, in seconds. */
static double
timed(enum bench_op op, char *buf, char *out, int size, int rank, long iters)
{
    double t0, t, worst;

    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (long i = 0; i < iters; i++)
        run_op(op, buf, out, size, rank);
    t = (MPI_Wtime() - t0) / (double)iters;
    MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"pingpong", "allreduce", "bcast",
                                        "barrier"};
    enum bench_op op = OP_BARRIER;
    int rank, nranks, size = 0, found = 0;
    long iters = 1;
    char *buf, *out, *end = NULL;
    double t;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    for (int i = 0; argc > 1 && i < 4; i++) {
        if (!strcmp(argv[1], names[i])) {
            op = (enum bench_op)i;
            found = 1;
        }
    }
    if (found && op != OP_BARRIER) {
        long v = argc > 2 ? strtol(argv[2], &end, 10) : -1;

        found = argc > 2 && !*end && v >= 1 && v <= (64 << 20);
        size = (int)v;
    }
    if (!found || (op == OP_PINGPONG && nranks < 2)) {
        if (rank == 0)
            fprintf(stderr,
                    "usage: shoal-mpi-bench pingpong|allreduce|bcast SIZE "
                    "| barrier (pingpong needs 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    buf = calloc(1, (size_t)size + sizeof(double));
    out = calloc(1, (size_t)size + sizeof(double));
    if (!buf || !out) {
        fprintf(stderr, "shoal-mpi-bench: out of memory for %d bytes\n", size);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* warm up, and find how many iterations last ~0.1 s; every rank
     * must agree on the count */
    run_op(op, buf, out, size, rank);
    do {
        iters *= 4;
        t = timed(op, buf, out, size, rank, iters);
    } while (t * (double)iters < 0.025 && iters < (1L << 24));
    iters = (long)(0.1 / (t > 0 ? t : 1e-9)) + 1;
    MPI_Bcast(&iters, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    t = timed(op, buf, out, size, rank, iters);
    /* only figures: everything numeric on the line is one */
    if (rank == 0 && op == OP_PINGPONG)
        printf("{\"latency_us\": %.3f, \"bandwidth_MBps\": %.3f}\n",
               t / 2 * 1e6, (double)size / (t / 2) / 1e6);
    else if (rank == 0)
        printf("{\"time_us\": %.3f}\n", t * 1e6);
    free(buf);
    free(out);
    MPI_Finalize();
    return 0;
}
