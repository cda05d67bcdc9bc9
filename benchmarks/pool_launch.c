/* SPDX-License-Identifier: MIT */
/* pool_launch.c - launch latency of `shoal run` through a running pool,
 * against MPICH's Hydra and shoal's embedded runtime, in one run.
 *
 * One daemon is started on a loopback port with its own directory. Then
 * each launcher runs the same work, `-n 2`:
 *
 * - pool:     `shoal run` with SHOAL_DIR at the daemon: the daemon places
 *             the job, claims the cores, and starts a proxy that runs the
 *             ranks, while `shoal run` coordinates through it;
 * - embedded: `shoal run` with SHOAL_POOL=no: the job's whole runtime in
 *             the command, as before the pool;
 * - hydra:    `mpiexec.hydra`;
 * - fork+exec: the two processes forked and waited for (for /bin/true).
 *
 * The work is /bin/true, an MPI hello (MPI_Init + MPI_Finalize) built
 * with MPICH's mpicc, the same hello built with shoal's own mpicc, and,
 * when HELLO_OMPI is given, the same built with Open MPI's mpicc (wired
 * up through shoal's PMIx server) at -n 2 and -n 4, whose reference is
 * `mpirun.openmpi`. Launchers are interleaved round by round so that
 * machine noise hits them alike; we report medians and the ratio to Hydra
 * (to mpirun.openmpi for the Open MPI hello).
 *
 * Where an Open MPI hello's time goes under shoal: every PMIx server of
 * the runs (the embedded one, the daemon's proxies) appends its job's
 * times to a file (SHOAL_PMIX_TIMES, CLOCK_MONOTONIC as ours), read after
 * each run, which splits the run into phases that add up to its time:
 *   launch   the launcher up to its PMIx server's start (shoal run's
 *            start-up; on the pool, the daemon's placement and the
 *            proxy's start too)
 *   server   the server's start (PMIx_server_init) and the job's
 *            namespace registered
 *   exec     to the first rank's PMIx connect (fork, exec, loading Open
 *            MPI, its start before PMIx_Init)
 *   connect  the first to the last rank connected
 *   mpi      the last connect to the last PMIx finalize: the rest of
 *            MPI_Init, MPI_Finalize, outside the fences the server saw
 *   fences   from the last rank in a fence to its release, summed over
 *            the fences the server's owner saw (a fence of ranks all on
 *            one node is answered inside OpenPMIx and counted in mpi)
 *   exit     the last finalize to the launcher's exit (the ranks exit,
 *            are reaped, the job is torn down)
 *
 * usage: bench-pool-launch [-r REPS] SHOAL HELLO_MPICH HELLO_SHOAL
 *                          [HELLO_OMPI]
 * Prints one JSON object per measurement, then a table. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "benchmarks/bench.h"
#include "runtime/daemon/control.h"

enum { BENCH_MAX_ARGS = 16, BENCH_MAX_CASES = 24 };

enum bench_phase {
    PH_LAUNCH,
    PH_SERVER,
    PH_EXEC,
    PH_CONNECT,
    PH_MPI,
    PH_FENCES,
    PH_EXIT,
    PH_COUNT,
};

static const char *const phase_names[PH_COUNT] = {
    "launch", "server", "exec", "connect", "mpi", "fences", "exit",
};

struct bench_case {
    const char *work; /* what is launched */
    int nranks;
    const char *launcher;
    char *argv[BENCH_MAX_ARGS];
    const char *env[2]; /* set in the launcher's environment */
    double *samples;
    int nsamples;
    int failures;
    double median; /* seconds; < 0 when every run failed */
    bool timed;    /* its PMIx servers' times are read after each run */
    double *phases[PH_COUNT];
    int nphased;
    int nfences; /* of the last run read */
};

static struct bench_case cases[BENCH_MAX_CASES];
static char times_path[300]; /* SHOAL_PMIX_TIMES */
static int ncases;
static pid_t daemon_pid;

/* Split a run (start to end) into phases with the server's times in
 * times_path (its last line: one node). Returns false when there are
 * none to read. */
static bool bench_phases(struct bench_case *c, double start, double end)
{
    FILE *f = fopen(times_path, "r");
    char line[2048], last[2048] = "";
    json_t *j, *fc;
    json_error_t jerr;
    double t[PH_COUNT] = {0}, created, cfirst, clast, fin, server;
    size_t k;

    if (!f)
        return false;
    while (fgets(line, sizeof(line), f))
        snprintf(last, sizeof(last), "%s", line);
    fclose(f);
    j = json_loads(last, 0, &jerr);
    if (!j)
        return false;
    created = json_real_value(json_object_get(j, "created"));
    server = json_real_value(json_object_get(j, "server_start"));
    cfirst = json_real_value(json_object_get(j, "connect_first"));
    clast = json_real_value(json_object_get(j, "connect_last"));
    fin = json_real_value(json_object_get(j, "finalize_last"));
    json_array_foreach (json_object_get(j, "fences"), k, fc)
        t[PH_FENCES] += json_real_value(json_array_get(fc, 1))
                        - json_real_value(json_array_get(fc, 0));
    c->nfences = (int)json_array_size(json_object_get(j, "fences"));
    json_decref(j);
    if (created <= 0 || cfirst <= 0 || fin <= 0)
        return false;
    if (server <= 0 || server > created)
        server = created;
    t[PH_LAUNCH] = server - start;
    t[PH_SERVER] = created - server;
    t[PH_EXEC] = cfirst - created;
    t[PH_CONNECT] = clast - cfirst;
    t[PH_MPI] = fin - clast - t[PH_FENCES];
    t[PH_EXIT] = end - fin;
    for (int p = 0; p < PH_COUNT; p++)
        c->phases[p][c->nphased] = t[p];
    c->nphased++;
    return true;
}

/* Run argv once with output discarded and env added; return seconds, or
 * < 0 on failure. */
static double bench_run_once(struct bench_case *c)
{
    double start, end;
    int status;
    pid_t pid;

    if (c->timed) {
        int fd = open(times_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            close(fd);
    }
    start = bench_now();
    pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        for (int i = 0; i < 2 && c->env[i]; i++)
            putenv((char *)c->env[i]);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execvp(c->argv[0], c->argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    end = bench_now();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    if (c->timed && !bench_phases(c, start, end))
        fprintf(stderr, "bench-pool-launch: no PMIx times of a run of %s\n",
                c->launcher);
    return end - start;
}

/* Two fork+execs of the program, waited for together: the floor any
 * launcher of two processes pays. */
static double bench_fork_exec(const char *path)
{
    double start = bench_now();
    pid_t pids[2];

    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            execl(path, path, (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < 2; i++)
        waitpid(pids[i], NULL, 0);
    return bench_now() - start;
}

static struct bench_case *bench_add(const char *work,
                                    int nranks,
                                    const char *launcher,
                                    int reps,
                                    const char *first,
                                    ...)
{
    struct bench_case *c = &cases[ncases++];
    const char *word = first;
    va_list ap;
    int i = 0;

    c->work = work;
    c->nranks = nranks;
    c->launcher = launcher;
    c->samples = calloc((size_t)reps, sizeof(double));
    /* the warm-up run's phases too */
    for (int p = 0; p < PH_COUNT; p++)
        c->phases[p] = calloc((size_t)reps + 1, sizeof(double));
    va_start(ap, first);
    while (word && i < BENCH_MAX_ARGS - 1) {
        c->argv[i++] = (char *)word;
        word = va_arg(ap, const char *);
    }
    va_end(ap);
    c->argv[i] = NULL;
    return c;
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

/* What c is measured against: mpirun.openmpi for the Open MPI hello,
 * Hydra for the others; NULL for none. */
static const struct bench_case *bench_reference(const struct bench_case *c)
{
    const struct bench_case *ref = bench_find(c->work, c->nranks, "hydra");

    return ref ? ref : bench_find(c->work, c->nranks, "mpirun.openmpi");
}

static void bench_stop_daemon(void)
{
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = 0;
    }
}

static void bench_on_signal(int sig)
{
    if (daemon_pid > 0)
        kill(daemon_pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The daemon's claims generation: it moves with every claim and release
 * of its cores, so it shows that the pool runs went through the daemon.
 * Returns it, or -1. */
static long long bench_claims_generation(const char *dir)
{
    char sock[300];
    json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;
    json_t *m;
    size_t k;
    long long gen = -1;
    int fd;

    snprintf(sock, sizeof(sock), "%s/d/control.sock", dir);
    if (control_client_connect(sock, &fd, NULL) == 0) {
        if (control_client_request(fd, req, 5000, &reply, NULL) == 0) {
            json_array_foreach (json_object_get(reply, "members"), k, m) {
                if (json_is_true(json_object_get(m, "self")))
                    gen = json_integer_value(json_object_get(
                        json_object_get(m, "summary"), "claims_generation"));
            }
            json_decref(reply);
        }
        close(fd);
    }
    json_decref(req);
    return gen;
}

/* Start `shoal daemon run` in dir on a loopback port and wait until it
 * answers. Returns 0, or -1 (printed). */
static int bench_start_daemon(const char *shoal, const char *dir)
{
    char key[300], sock[300], listen[64], log[300], cmd[700];
    json_t *req = json_pack("{s:s}", "op", "ping"), *reply = NULL;
    double deadline;

    snprintf(key, sizeof(key), "%s/pool.key", dir);
    snprintf(sock, sizeof(sock), "%s/d/control.sock", dir);
    snprintf(log, sizeof(log), "%s/daemon.log", dir);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d",
             21000 + (int)(getpid() % 11000));
    snprintf(cmd, sizeof(cmd), "'%s' keygen -o '%s'", shoal, key);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench-pool-launch: cannot make a key\n");
        return -1;
    }
    daemon_pid = fork();
    if (daemon_pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        char ddir[300];

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        snprintf(ddir, sizeof(ddir), "%s/d", dir);
        dup2(null, 0);
        dup2(out, 1);
        dup2(out, 2);
        /* as a dedicated node's daemon: jobs at the CPU weight of any
         * other process, as Hydra's; BENCH_GUEST_LIMITS=on measures a
         * lent workstation's, whose jobs yield to everything else */
        execl(shoal, shoal, "daemon", "run", "--dir", ddir, "--key", key,
              "--listen", listen, "--name", "bench", "--guest-limits",
              getenv("BENCH_GUEST_LIMITS") ? getenv("BENCH_GUEST_LIMITS")
                                           : "off",
              (char *)NULL);
        _exit(127);
    }
    deadline = bench_now() + 30;
    while (bench_now() < deadline) {
        int fd;

        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
            daemon_pid = 0;
            break;
        }
        if (control_client_connect(sock, &fd, NULL) == 0) {
            int rc = control_client_request(fd, req, 5000, &reply, NULL);

            close(fd);
            if (rc == 0) {
                json_decref(reply);
                json_decref(req);
                return 0;
            }
        }
        usleep(20000);
    }
    json_decref(req);
    fprintf(stderr, "bench-pool-launch: the daemon did not start; see '%s'\n",
            log);
    bench_stop_daemon();
    return -1;
}

int main(int argc, char **argv)
{
    int reps = 15, opt, rc = 1, pool_runs = 0;
    long long gen_before, gen_after;
    const char *shoal, *hello_mpich, *hello_shoal, *hello_ompi = NULL;
    char top[] = "/tmp/shoal-bench-launch-XXXXXX", pool_env[300], cmd[400];
    static const char embedded_env[] = "SHOAL_POOL=no";
    int have_hydra = system("command -v mpiexec.hydra >/dev/null 2>&1") == 0;
    int have_ompi = system("command -v mpirun.openmpi >/dev/null 2>&1") == 0;
    int nworks = 3;

    while ((opt = getopt(argc, argv, "r:")) != -1) {
        if (opt == 'r' && atoi(optarg) > 0)
            reps = atoi(optarg);
        else
            goto usage;
    }
    if (argc - optind != 3 && argc - optind != 4)
        goto usage;
    shoal = argv[optind];
    hello_mpich = argv[optind + 1];
    hello_shoal = argv[optind + 2];
    if (argc - optind == 4 && have_ompi) {
        hello_ompi = argv[optind + 3];
        nworks = 4;
        /* Open MPI refuses root without these */
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    if (!mkdtemp(top)) {
        perror("bench-pool-launch: mkdtemp");
        return 1;
    }
    snprintf(pool_env, sizeof(pool_env), "SHOAL_DIR=%s/d", top);
    /* the embedded runs and Hydra never find a daemon of their own */
    unsetenv("SHOAL_DIR");
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
    signal(SIGHUP, bench_on_signal);
    setenv("SHOAL_SPEED", "1000", 1);
    /* every PMIx server of the runs, the daemon's proxies' too */
    snprintf(times_path, sizeof(times_path), "%s/pmix-times", top);
    setenv("SHOAL_PMIX_TIMES", times_path, 1);
    if (bench_start_daemon(shoal, top) < 0)
        goto out;

    {
        static const char *const works[] = {"true", "mpi_hello", "shoal_hello",
                                            "ompi_hello"};
        const char *progs[] = {"/bin/true", hello_mpich, hello_shoal,
                               hello_ompi};

        for (int w = 0; w < nworks; w++) {
            /* the Open MPI hello at 2 and 4 ranks, the others at 2 */
            static const char *const counts[] = {"2", "4"};

            for (int k = 0; k < (w == 3 ? 2 : 1); k++) {
                const char *n = counts[k];
                struct bench_case *c;

                c = bench_add(works[w], atoi(n), "pool", reps, shoal, "run",
                              "--oversubscribe", "-n", n, progs[w], NULL);
                c->env[0] = pool_env;
                c->timed = w == 3;
                c = bench_add(works[w], atoi(n), "embedded", reps, shoal, "run",
                              "--oversubscribe", "-n", n, progs[w], NULL);
                c->env[0] = embedded_env;
                c->timed = w == 3;
                if (w == 3)
                    bench_add(works[w], atoi(n), "mpirun.openmpi", reps,
                              "mpirun.openmpi", "--oversubscribe", "-n", n,
                              progs[w], NULL);
                else if (have_hydra)
                    bench_add(works[w], atoi(n), "hydra", reps, "mpiexec.hydra",
                              "-n", n, progs[w], NULL);
                if (w == 0)
                    bench_add(works[w], 2, "fork+exec", reps, NULL);
            }
        }
    }

    /* one warm-up round, then interleaved measured rounds */
    gen_before = bench_claims_generation(top);
    for (int round = -1; round < reps; round++) {
        for (int i = 0; i < ncases; i++) {
            struct bench_case *c = &cases[i];
            double t =
                c->argv[0] ? bench_run_once(c) : bench_fork_exec("/bin/true");

            if (round < 0) {
                c->nphased = 0; /* the warm-up's phases are not kept */
                continue;
            }
            if (t < 0)
                c->failures++;
            else
                c->samples[c->nsamples++] = t;
        }
    }

    gen_after = bench_claims_generation(top);
    for (int i = 0; i < ncases; i++) {
        cases[i].median = bench_median(cases[i].samples, cases[i].nsamples);
        if (strcmp(cases[i].launcher, "pool") == 0)
            pool_runs += cases[i].nsamples + 1;
    }
    printf("{\"bench\":\"pool_launch\",\"pool_runs\":%d,"
           "\"claims_generation_delta\":%lld}\n",
           pool_runs, gen_after - gen_before);
    if (gen_before < 0 || gen_after - gen_before < pool_runs)
        fprintf(stderr,
                "bench-pool-launch: warning: the daemon's claims "
                "moved %lld times for %d pool runs; not every run "
                "went through it\n",
                gen_after - gen_before, pool_runs);
    for (int i = 0; i < ncases; i++) {
        struct bench_case *c = &cases[i];
        const struct bench_case *ref = bench_reference(c);

        printf("{\"bench\":\"pool_launch\",\"work\":\"%s\",\"nranks\":%d,"
               "\"launcher\":\"%s\",\"median_ms\":%.3f,\"runs\":%d,"
               "\"failures\":%d",
               c->work, c->nranks, c->launcher, c->median * 1e3, c->nsamples,
               c->failures);
        if (ref && ref->median > 0 && c->median > 0)
            printf(",\"%s\":%.3f",
                   strcmp(ref->launcher, "hydra") == 0 ? "ratio_vs_hydra"
                                                       : "ratio_vs_openmpi",
                   c->median / ref->median);
        if (c->nphased > 0) {
            printf(",\"fences\":%d,\"phases_ms\":{", c->nfences);
            for (int p = 0; p < PH_COUNT; p++)
                printf("%s\"%s\":%.3f", p ? "," : "", phase_names[p],
                       bench_median(c->phases[p], c->nphased) * 1e3);
            printf("}");
        }
        printf("}\n");
    }

    printf("\nlaunch through a running pool (one daemon), embedded, and the "
           "reference; medians of %d interleaved runs\n",
           reps);
    printf("%-12s %3s %-15s %10s %8s\n", "work", "-n", "launcher", "median ms",
           "/ref");
    for (int i = 0; i < ncases; i++) {
        const struct bench_case *c = &cases[i];
        const struct bench_case *ref = bench_reference(c);

        printf("%-12s %3d %-15s %10.2f", c->work, c->nranks, c->launcher,
               c->median * 1e3);
        if (ref && ref->median > 0 && c->median > 0)
            printf(" %8.2f", c->median / ref->median);
        printf("%s\n", c->failures ? "  (some runs failed)" : "");
    }
    printf("mpi_hello: built with MPICH's mpicc, shoal_hello: with shoal's; "
           "/ref: against mpiexec.hydra\nompi_hello: built with Open MPI's "
           "mpicc; /ref: against mpirun.openmpi\n");
    if (hello_ompi) {
        printf("\nwhere an Open MPI hello's time goes under shoal (medians, "
               "ms; phases: see benchmarks/pool_launch.c)\n");
        printf("%3s %-9s", "-n", "launcher");
        for (int p = 0; p < PH_COUNT; p++)
            printf(" %8s", phase_names[p]);
        printf("\n");
        for (int i = 0; i < ncases; i++) {
            struct bench_case *c = &cases[i];

            if (c->nphased == 0)
                continue;
            printf("%3d %-9s", c->nranks, c->launcher);
            for (int p = 0; p < PH_COUNT; p++)
                printf(" %8.2f", bench_median(c->phases[p], c->nphased) * 1e3);
            printf("\n");
        }
    }
    rc = 0;
out:
    bench_stop_daemon();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    if (system(cmd) != 0)
        rc = 1;
    return rc;

usage:
    fprintf(stderr, "usage: bench-pool-launch [-r REPS] SHOAL HELLO_MPICH "
                    "HELLO_SHOAL [HELLO_OMPI]\n");
    return 2;
}
