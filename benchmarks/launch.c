/* SPDX-License-Identifier: MIT */
/* launch.c - launch latency of `shoal run` against MPICH's Hydra and Open
 * MPI's mpirun, measured side by side in one run.
 *
 * Every launcher runs the same work: `-n {1,2,4} /bin/true` and a 2-rank
 * MPI hello (MPI_Init + MPI_Finalize), built with MPICH's mpicc for shoal
 * and Hydra and with Open MPI's for mpirun; and the Open MPI hello at 2 and
 * 4 ranks under shoal (wired up through its PMIx server) and mpirun.openmpi
 * (ratio_vs_openmpi). The launchers are interleaved
 * round by round so that machine noise hits them alike; we report medians
 * and the ratio shoal/reference, which is what stays meaningful on a busy
 * 2-core machine.
 *
 * usage: bench-launch [-r REPS] SHOAL HELLO_MPICH [HELLO_OPENMPI]
 * Prints one JSON object per measurement, then a table. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchmarks/bench.h"

enum { BENCH_MAX_ARGS = 16, BENCH_MAX_CASES = 32 };

struct bench_case {
    const char *work; /* what is launched */
    int nranks;
    const char *launcher; /* shoal, hydra, openmpi, fork+exec */
    char *argv[BENCH_MAX_ARGS];
    double *samples;
    int nsamples;
    int failures;
    double median; /* seconds; < 0 when every run failed */
};

/* Run argv once with output discarded; return seconds, or < 0 on failure. */
static double bench_run_once(char *const *argv)
{
    double start = bench_now();
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return bench_now() - start;
}

/* n fork+execs of the program, waited for together: the floor any
 * launcher of n processes pays. */
static double bench_fork_exec(const char *path, int n)
{
    double start = bench_now();
    pid_t pids[64];

    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            execl(path, path, (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    return bench_now() - start;
}

static struct bench_case cases[BENCH_MAX_CASES];
static int ncases;

static struct bench_case *
bench_add(const char *work, int nranks, const char *launcher, int reps)
{
    struct bench_case *c = &cases[ncases++];

    c->work = work;
    c->nranks = nranks;
    c->launcher = launcher;
    c->samples = calloc((size_t)reps, sizeof(double));
    return c;
}

static void bench_set_argv(struct bench_case *c, const char *first, ...)
{
    va_list ap;
    int i = 0;
    const char *word = first;

    va_start(ap, first);
    while (word && i < BENCH_MAX_ARGS - 1) {
        c->argv[i++] = (char *)word;
        word = va_arg(ap, const char *);
    }
    va_end(ap);
    c->argv[i] = NULL;
}

static const struct bench_case *
bench_find(const char *work, int nranks, const char *launcher)
{
    for (int i = 0; i < ncases; i++)
        if (strcmp(cases[i].work, work) == 0 && cases[i].nranks == nranks
            && strcmp(cases[i].launcher, launcher) == 0)
            return &cases[i];
    return NULL;
}

static char *bench_itoa(int n)
{
    char *s = malloc(16);

    snprintf(s, 16, "%d", n);
    return s;
}

static int bench_have(const char *prog)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

int main(int argc, char **argv)
{
    int reps = 15;
    int opt;
    const char *shoal, *hello_mpich, *hello_ompi = NULL;
    static const int counts[] = {1, 2, 4};
    int have_hydra = bench_have("mpiexec.hydra");
    int have_ompi = bench_have("mpirun.openmpi");

    while ((opt = getopt(argc, argv, "r:")) != -1) {
        if (opt == 'r' && atoi(optarg) > 0) {
            reps = atoi(optarg);
        } else {
            fprintf(stderr, "usage: bench-launch [-r REPS] SHOAL "
                            "HELLO_MPICH [HELLO_OPENMPI]\n");
            return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: bench-launch [-r REPS] SHOAL HELLO_MPICH "
                        "[HELLO_OPENMPI]\n");
        return 2;
    }
    shoal = argv[optind];
    hello_mpich = argv[optind + 1];
    if (argc - optind > 2)
        hello_ompi = argv[optind + 2];
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);

    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        char *n = bench_itoa(counts[k]);
        struct bench_case *c;

        c = bench_add("true", counts[k], "shoal", reps);
        bench_set_argv(c, shoal, "run", "-n", n, "--oversubscribe", "/bin/true",
                       NULL);
        if (have_hydra) {
            c = bench_add("true", counts[k], "hydra", reps);
            bench_set_argv(c, "mpiexec.hydra", "-n", n, "/bin/true", NULL);
        }
        if (have_ompi) {
            c = bench_add("true", counts[k], "openmpi", reps);
            bench_set_argv(c, "mpirun.openmpi", "-n", n, "--oversubscribe",
                           "/bin/true", NULL);
        }
        c = bench_add("true", counts[k], "fork+exec", reps);
        c->argv[0] = NULL;
    }
    {
        struct bench_case *c = bench_add("mpi_hello", 2, "shoal", reps);
        bench_set_argv(c, shoal, "run", "-n", "2", hello_mpich, NULL);
        if (have_hydra) {
            c = bench_add("mpi_hello", 2, "hydra", reps);
            bench_set_argv(c, "mpiexec.hydra", "-n", "2", hello_mpich, NULL);
        }
        if (have_ompi && hello_ompi) {
            c = bench_add("mpi_hello", 2, "openmpi", reps);
            bench_set_argv(c, "mpirun.openmpi", "-n", "2", "--oversubscribe",
                           hello_ompi, NULL);
        }
    }

    /* An Open MPI hello under shoal (PMIx) against mpirun.openmpi, the
     * same binary at 2 and 4 ranks */
    if (hello_ompi) {
        static char *const on[] = {"2", "4"};

        for (int k = 0; k < 2; k++) {
            struct bench_case *c =
                bench_add("ompi_hello", atoi(on[k]), "shoal", reps);
            bench_set_argv(c, shoal, "run", "--oversubscribe", "-n", on[k],
                           hello_ompi, NULL);
            if (have_ompi) {
                c = bench_add("ompi_hello", atoi(on[k]), "openmpi", reps);
                bench_set_argv(c, "mpirun.openmpi", "-n", on[k],
                               "--oversubscribe", hello_ompi, NULL);
            }
        }
    }

    /* one warm-up round, then interleaved measured rounds */
    for (int round = -1; round < reps; round++) {
        for (int i = 0; i < ncases; i++) {
            struct bench_case *c = &cases[i];
            double t = c->argv[0] ? bench_run_once(c->argv)
                                  : bench_fork_exec("/bin/true", c->nranks);
            if (round < 0)
                continue;
            if (t < 0)
                c->failures++;
            else
                c->samples[c->nsamples++] = t;
        }
    }

    for (int i = 0; i < ncases; i++)
        cases[i].median = bench_median(cases[i].samples, cases[i].nsamples);
    for (int i = 0; i < ncases; i++) {
        const struct bench_case *c = &cases[i];
        const struct bench_case *hydra =
            bench_find(c->work, c->nranks, "hydra");
        const struct bench_case *ompi =
            bench_find(c->work, c->nranks, "openmpi");

        printf("{\"bench\":\"launch\",\"work\":\"%s\",\"nranks\":%d,"
               "\"launcher\":\"%s\",\"median_ms\":%.3f,\"runs\":%d,"
               "\"failures\":%d",
               c->work, c->nranks, c->launcher, c->median * 1e3, c->nsamples,
               c->failures);
        if (hydra && hydra->median > 0 && c->median > 0)
            printf(",\"ratio_vs_hydra\":%.3f", c->median / hydra->median);
        if (ompi && ompi != c && ompi->median > 0 && c->median > 0)
            printf(",\"ratio_vs_openmpi\":%.3f", c->median / ompi->median);
        printf("}\n");
    }

    printf("\n%-10s %3s %-10s %10s %8s %8s\n", "work", "n", "launcher",
           "median ms", "/hydra", "/openmpi");
    for (int i = 0; i < ncases; i++) {
        const struct bench_case *c = &cases[i];
        const struct bench_case *hydra =
            bench_find(c->work, c->nranks, "hydra");
        const struct bench_case *ompi =
            bench_find(c->work, c->nranks, "openmpi");

        printf("%-10s %3d %-10s %10.2f", c->work, c->nranks, c->launcher,
               c->median * 1e3);
        if (hydra && hydra->median > 0 && c->median > 0)
            printf(" %8.2f", c->median / hydra->median);
        else
            printf(" %8s", "");
        if (ompi && ompi != c && ompi->median > 0 && c->median > 0)
            printf(" %8.2f", c->median / ompi->median);
        printf("%s\n", c->failures ? "  (some runs failed)" : "");
    }
    return 0;
}
