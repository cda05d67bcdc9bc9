/* SPDX-License-Identifier: MIT */
/* ckpt_overhead.c - what checkpoints cost a running MPI job.
 *
 *   ckpt_overhead STEPS MB
 *
 * Each rank holds MB megabytes of doubles and runs STEPS sweeps over them
 * (a smoothing pass, memory-bound, plus an MPI_Allreduce per step). At
 * each step it asks shoal_ckpt_need() (collective under shoal's MPI): when
 * the runtime's interval has passed it writes its state as a version. Run
 * it with and without `shoal run --checkpoint=SECONDS`; the difference in
 * wall time is the overhead. Prints one line: "steps S checkpoints C
 * seconds T". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>
#include <shoal/ckpt.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int save(int step, const double *x, size_t n)
{
    FILE *f;
    int ok, rc = shoal_ckpt_begin(step);

    if (rc < 0)
        return rc;
    f = fopen(shoal_ckpt_route("state"), "wb");
    ok = f && fwrite(x, sizeof(*x), n, f) == n;
    ok = f && fclose(f) == 0 && ok;
    return shoal_ckpt_commit(ok);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 64;
    size_t n = mb * 1048576 / sizeof(double);
    int rank, restarted, version, saved = 0;
    double *x, t0, sum = 0, total = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    x = malloc(n * sizeof(*x));
    if (!x || steps < 1 || shoal_ckpt_init(&restarted, &version) < 0)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)((i * 2654435761u) % 1000) / 1000.0;
    t0 = now();
    for (int s = 1; s <= steps; s++) {
        int need = 0;

        sum = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            x[i] = 0.5 * (x[i] + x[i + 1]);
            sum += x[i];
        }
        MPI_Allreduce(&sum, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (shoal_ckpt_need(&need) == 0 && need) {
            if (save(s, x, n) < 0)
                MPI_Abort(MPI_COMM_WORLD, 2);
            saved++;
        }
    }
    if (rank == 0)
        printf("steps %d checkpoints %d seconds %.3f check %.6e\n", steps,
               saved, now() - t0, total);
    shoal_ckpt_finalize();
    free(x);
    MPI_Finalize();
    return 0;
}
