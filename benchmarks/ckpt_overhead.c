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
 * seconds T check X in_ckpt K in_write W in_commit C", K being the
 * seconds rank 0 spent writing (W) and committing (C) its versions (not
 * asking whether one is due: that collective also absorbs the ranks'
 * imbalance): on a machine loaded by other work, where two runs' wall
 * times differ by more than the overhead, K against T - K is the overhead
 * measured within one run. */
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

/* Write x as version step; add the seconds spent writing the file to
 * *in_write and those spent in the commit (hash, fsync, agreement) to
 * *in_commit. */
static int
save(int step, const double *x, size_t n, double *in_write, double *in_commit)
{
    FILE *f;
    double t0 = now(), t1;
    int ok, rc = shoal_ckpt_begin(step);

    if (rc < 0)
        return rc;
    f = fopen(shoal_ckpt_route("state"), "wb");
    ok = f && fwrite(x, sizeof(*x), n, f) == n;
    ok = f && fclose(f) == 0 && ok;
    t1 = now();
    *in_write += t1 - t0;
    rc = shoal_ckpt_commit(ok);
    *in_commit += now() - t1;
    return rc;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 100;
    size_t mb = argc > 2 ? (size_t)atol(argv[2]) : 64;
    size_t n = mb * 1048576 / sizeof(double);
    int rank, restarted, version, saved = 0;
    double *x, t0, sum = 0, total = 0, in_write = 0, in_commit = 0;

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
            if (save(s, x, n, &in_write, &in_commit) < 0)
                MPI_Abort(MPI_COMM_WORLD, 2);
            saved++;
        }
    }
    if (rank == 0)
        printf("steps %d checkpoints %d seconds %.3f check %.6e in_ckpt %.3f "
               "in_write %.3f in_commit %.3f\n",
               steps, saved, now() - t0, total, in_write + in_commit, in_write,
               in_commit);
    shoal_ckpt_finalize();
    free(x);
    MPI_Finalize();
    return 0;
}
