/* SPDX-License-Identifier: MIT */
/* ckpt_solver.c - a 1-D Jacobi (steady heat) iteration split across ranks,
 * checkpointed with <shoal/ckpt.h> and resumed when restarted.
 *
 *   ckpt_solver [STEPS [K]]     defaults 300 and 25
 *
 * Each rank holds a slab of N points; every step exchanges one halo point
 * with each neighbour and sums the residual with MPI_Allreduce. Every K
 * steps (or when the runtime asks) each rank saves its step number and
 * slab as version <step>. The last line, from rank 0, is
 * "result STEPS CHECKSUM", the same whether or not the run was interrupted
 * and resumed. With SOLVER_CRASH_AT=S the rank 1 (0 when alone) calls
 * _exit(3) once S steps are done, unless the run is a restart; with
 * SOLVER_STEP_MS=T each step also sleeps T milliseconds (a long run to
 * interrupt). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>
#include <shoal/ckpt.h>

enum { SOLVER_POINTS = 1200, SOLVER_EXIT_CHECKPOINTED = 85 };

struct solver {
    int rank, size;
    int lo, n; /* global index of the first point, points held */
    int step;
    double *u;  /* n + 2 points: u[0] and u[n + 1] are the halo */
    double *un; /* the next iterate */
};

static void solver_fail(const char *what, int rc)
{
    fprintf(stderr, "ckpt_solver: %s: %s\n", what, strerror(-rc));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static double solver_step(struct solver *s)
{
    int left = s->rank > 0 ? s->rank - 1 : MPI_PROC_NULL;
    int right = s->rank < s->size - 1 ? s->rank + 1 : MPI_PROC_NULL;
    double local = 0, total = 0;

    /* fixed ends: 1.0 left of the first point, 0.0 right of the last */
    if (left == MPI_PROC_NULL)
        s->u[0] = 1.0;
    if (right == MPI_PROC_NULL)
        s->u[s->n + 1] = 0.0;
    MPI_Sendrecv(&s->u[1], 1, MPI_DOUBLE, left, 0, &s->u[s->n + 1], 1,
                 MPI_DOUBLE, right, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&s->u[s->n], 1, MPI_DOUBLE, right, 1, &s->u[0], 1, MPI_DOUBLE,
                 left, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (int i = 1; i <= s->n; i++) {
        s->un[i] = 0.5 * (s->u[i - 1] + s->u[i + 1]);
        local += (s->un[i] - s->u[i]) * (s->un[i] - s->u[i]);
    }
    memcpy(&s->u[1], &s->un[1], s->n * sizeof(double));
    MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    s->step++;
    return total;
}

/* Save the step and the slab as version s->step. Collective. */
static void solver_save(struct solver *s)
{
    int rc = shoal_ckpt_begin(s->step), ok;
    const char *path;
    FILE *f;

    if (rc < 0)
        solver_fail("shoal_ckpt_begin", rc);
    path = shoal_ckpt_route("state");
    f = path ? fopen(path, "wb") : NULL;
    ok = f && fwrite(&s->step, sizeof(int), 1, f) == 1
         && fwrite(&s->lo, sizeof(int), 1, f) == 1
         && fwrite(&s->n, sizeof(int), 1, f) == 1
         && fwrite(&s->u[1], sizeof(double), s->n, f) == (size_t)s->n;
    if (f && fclose(f) != 0)
        ok = 0;
    rc = shoal_ckpt_commit(ok);
    if (rc < 0)
        solver_fail("shoal_ckpt_commit", rc);
}

/* Read the restored version into s. */
static void solver_restore(struct solver *s)
{
    const char *path = shoal_ckpt_route("state");
    FILE *f = path ? fopen(path, "rb") : NULL;
    int step, lo, n, ok;

    ok = f && fread(&step, sizeof(int), 1, f) == 1
         && fread(&lo, sizeof(int), 1, f) == 1
         && fread(&n, sizeof(int), 1, f) == 1 && lo == s->lo && n == s->n
         && fread(&s->u[1], sizeof(double), s->n, f) == (size_t)s->n;
    if (f)
        fclose(f);
    if (!ok)
        solver_fail("cannot read the restored state", -EINVAL);
    s->step = step;
}

int main(int argc, char **argv)
{
    struct solver s = {0};
    int steps = argc > 1 ? atoi(argv[1]) : 300;
    int every = argc > 2 ? atoi(argv[2]) : 25;
    const char *crash = getenv("SOLVER_CRASH_AT");
    int crash_at = crash ? atoi(crash) : -1;
    const char *pace = getenv("SOLVER_STEP_MS");
    int step_ms = pace ? atoi(pace) : 0;
    int restarted, version, vmin, vmax, rc;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s.size);
    if (steps < 1 || every < 1)
        solver_fail("usage: ckpt_solver [STEPS [K]]", -EINVAL);
    s.lo = (int)((long)SOLVER_POINTS * s.rank / s.size);
    s.n = (int)((long)SOLVER_POINTS * (s.rank + 1) / s.size) - s.lo;
    s.u = calloc(s.n + 2, sizeof(double));
    s.un = calloc(s.n + 2, sizeof(double));
    if (!s.u || !s.un)
        solver_fail("calloc", -ENOMEM);

    rc = shoal_ckpt_init(&restarted, &version);
    if (rc < 0)
        solver_fail("shoal_ckpt_init", rc);
    /* With shoal's MPI every rank restores the same version; with another
     * MPI, check it. */
    MPI_Allreduce(&version, &vmin, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&version, &vmax, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (vmin != vmax)
        solver_fail("the ranks restored different versions", -EINVAL);
    if (restarted) {
        solver_restore(&s);
        if (s.rank == 0)
            printf("resumed from version %d at step %d\n", version, s.step);
    }

    for (;;) {
        int need = 0, leave = 0;

        if (s.step == crash_at && !restarted && s.rank == (s.size > 1))
            _exit(3);
        if (s.step >= steps)
            break;
        solver_step(&s);
        if (step_ms > 0)
            usleep((useconds_t)step_ms * 1000);
        /* per rank unless shoal's MPI combines it: combine it here */
        if (shoal_ckpt_need(&need) < 0)
            need = 0;
        if (shoal_ckpt_should_exit(&leave) < 0)
            leave = 0;
        int flags[2] = {need, leave}, any[2];
        MPI_Allreduce(flags, any, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (s.step < steps && (s.step % every == 0 || any[0] || any[1]))
            solver_save(&s);
        if (any[1] && s.step < steps) {
            shoal_ckpt_finalize();
            MPI_Finalize();
            return SOLVER_EXIT_CHECKPOINTED;
        }
    }

    /* Sum of squares with uneven weights: moments of u would not do, as
     * Jacobi keeps some of them the same whatever the state. */
    double local = 0, sum = 0;
    for (int i = 1; i <= s.n; i++)
        local += (double)(1 + (s.lo + i) % 7) * s.u[i] * s.u[i];
    MPI_Reduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (s.rank == 0)
        printf("result %d %.15e\n", s.step, sum);
    shoal_ckpt_finalize();
    free(s.u);
    free(s.un);
    MPI_Finalize();
    return 0;
}
