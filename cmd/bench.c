/* SPDX-License-Identifier: MIT */
/* bench.c - `shoal bench`: run benchmark suites and report on them
 * (runtime/suite/). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/suite/suite_plot.h"
#include "runtime/suite/suite_report.h"
#include "runtime/suite/suite_run.h"
#include "runtime/suite/suite_stats.h"
#include "util/statedir.h"

static const char bench_usage[] =
    "usage: shoal bench run SUITE.yaml [--only NAME] [--repeat N] [--tag TAG]\n"
    "                       [--var NAME=VALUE]...\n"
    "       shoal bench run --resume RUN\n"
    "       shoal bench ls [--json]\n"
    "       shoal bench report RUN [--vs RUN2] [--format table|md|csv|json]\n"
    "                              [--plot DIR]\n"
    "                              [--threshold PERCENT] "
    "[--fail-on-regression]\n"
    "       shoal bench show RUN BENCH\n"
    "\n"
    "  run     run a suite: every benchmark of its matrix, repeated\n"
    "  ls      list the runs kept\n"
    "  report  tables (and plots) of a run's figures, or a comparison\n"
    "  show    every case and sample of one benchmark of a run\n"
    "\n"
    "  --only NAME          run only the benchmarks named NAME\n"
    "  --repeat N           run each case N times (default: the suite's)\n"
    "  --tag TAG            a label kept with the run\n"
    "  --var NAME=VALUE     set a suite variable (repeatable)\n"
    "  --resume RUN         go on with an interrupted run\n"
    "  --vs RUN2            compare RUN with the baseline RUN2\n"
    "  --format FORMAT      table (default), md, csv or json\n"
    "  --plot DIR           also draw the plots into DIR\n"
    "  --threshold PERCENT  a significant change smaller than this is\n"
    "                       reported as the same (default 5)\n"
    "  --fail-on-regression exit 1 when a figure got significantly worse\n"
    "                       (with --vs)\n"
    "  --json               ls: the runs as one JSON array\n"
    "  --dir DIR            results in DIR/bench.db (every form; default\n"
    "                       $SHOAL_DIR, else the state directory)\n"
    "  -h, --help           show this help\n"
    "\n"
    "`run` prints the new run's id as its last line.\n";

static volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

static void on_progress(const struct suite_progress *p, void *arg)
{
    char left[32] = "?";

    (void)arg;
    if (isfinite(p->remaining))
        snprintf(left, sizeof(left), "%.0fs", p->remaining);
    fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s %u/%u  %.0fs elapsed, %s left",
            p->done + 1, p->total, p->bench, p->params,
            p->warmup ? "warm-up" : "rep", p->rep, p->reps, p->elapsed, left);
}

static void on_notice(const char *text, void *arg)
{
    bool *tty = arg;

    fprintf(stderr, "%sshoal: %s\n", *tty ? "\r\033[K" : "", text);
}

static int parse_run_id(const char *s, int64_t *id)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return cmd_usage("bench", "'%s' is not a run id", s);
    *id = v;
    return 0;
}

/* The counters' preload library: $SHOAL_PAPI_PRELOAD, else beside this
 * program as installed (../lib/shoal/) or as built (../.libs/). */
static const char *papi_lib(char *buf, size_t size)
{
    static const char *const rel[] = {"../lib/shoal/libshoal-papi.so",
                                      "../.libs/libshoal-papi.so"};
    char exe[PATH_MAX];
    ssize_t n;

    if (getenv("SHOAL_PAPI_PRELOAD"))
        return getenv("SHOAL_PAPI_PRELOAD");
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    const char *dir = dirname(exe);

    for (size_t i = 0; i < 2; i++) {
        snprintf(buf, size, "%s/%s", dir, rel[i]);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

static int bench_run_vars(const char *dir, int argc, char **argv, char **vars)
{
    struct suite_run_opts opts = {.stop = &bench_stop};
    const char *path = NULL;
    struct suite *suite = NULL;
    suite_store_t *store = NULL;
    shoal_error_t error;
    char shoal[PATH_MAX], lib[PATH_MAX];
    bool tty = isatty(STDERR_FILENO);
    struct sigaction sa = {.sa_handler = on_signal};
    int64_t run = 0;
    ssize_t n;
    int rc;
    size_t nvars = 0;

    opts.vars = vars;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--var") && i + 1 < argc) {
            if (!strchr(argv[i + 1], '=') || argv[i + 1][0] == '=')
                return cmd_usage("bench", "--var '%s' is not NAME=VALUE",
                                 argv[i + 1]);
            vars[nvars++] = argv[++i];
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            opts.only = argv[++i];
        } else if (!strcmp(argv[i], "--tag") && i + 1 < argc) {
            opts.tag = argv[++i];
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);

            if (*end || v < 1 || v > 1000000)
                return cmd_usage("bench", "--repeat '%s' is not a count >= 1",
                                 argv[i]);
            opts.repeat = (unsigned)v;
        } else if (!strcmp(argv[i], "--resume") && i + 1 < argc) {
            if (parse_run_id(argv[++i], &opts.resume) != 0)
                return CMD_EXIT_USAGE;
        } else if (argv[i][0] == '-') {
            return cmd_usage("bench", "unknown option '%s' of 'bench run'",
                             argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cmd_usage("bench", "one suite file, not '%s' too", argv[i]);
        }
    }
    if (!path == !opts.resume)
        return cmd_usage("bench", "'bench run' takes a suite file or "
                                  "--resume RUN");
    if (opts.resume && nvars)
        return cmd_usage("bench", "--resume RUN uses the variables RUN was "
                                  "given; --var does not go with it");
    if (path && suite_parse_file(path, &suite, &error) < 0)
        return cmd_fail(1, "%s", error.text);
    n = readlink("/proc/self/exe", shoal, sizeof(shoal) - 1);
    if (n <= 0) {
        suite_free(suite);
        return cmd_fail(1, "cannot find the shoal program: %s",
                        strerror(errno));
    }
    shoal[n] = '\0';
    opts.shoal = shoal;
    opts.papi_lib = papi_lib(lib, sizeof(lib));
    opts.progress = tty ? on_progress : NULL;
    opts.notice = on_notice;
    opts.arg = &tty;
    if (suite_store_open(dir, &store, &error) < 0) {
        suite_free(suite);
        return cmd_fail(1, "%s", error.text);
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = suite_run(store, suite, &opts, &run, &error);
    if (tty)
        fputs("\r\033[K", stderr);
    suite_store_close(store);
    suite_free(suite);
    if (rc == -EINTR) {
        fprintf(stderr,
                "shoal: stopped; 'shoal bench run --resume %lld' goes on\n",
                (long long)run);
        printf("%lld\n", (long long)run);
        return 130;
    }
    if (rc < 0)
        return cmd_fail(1, "%s", error.text);
    printf("%lld\n", (long long)run);
    return 0;
}

static int bench_run(const char *dir, int argc, char **argv)
{
    /* at most one setting per argument */
    char **vars = calloc((size_t)argc + 1, sizeof(char *));
    int rc;

    if (!vars)
        return cmd_fail(1, "out of memory");
    rc = bench_run_vars(dir, argc, argv, vars);
    free(vars);
    return rc;
}

static int bench_report(const char *dir, int argc, char **argv)
{
    enum suite_format format = SUITE_FORMAT_TABLE;
    int64_t run = 0, vs = 0;
    double threshold = SUITE_STATS_THRESHOLD;
    bool fail_on_regression = false;
    const char *plot_dir = NULL;
    unsigned nplots = 0;
    suite_store_t *store;
    shoal_error_t error;
    char *text;
    unsigned worse;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--vs") && i + 1 < argc) {
            if (parse_run_id(argv[++i], &vs) != 0)
                return CMD_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            if (suite_report_format(argv[++i], &format) < 0)
                return cmd_usage("bench",
                                 "--format '%s' is not table, md, csv or "
                                 "json",
                                 argv[i]);
        } else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
            char *end;

            threshold = strtod(argv[++i], &end) / 100;
            if (*end || !(threshold >= 0) || threshold > 100)
                return cmd_usage(
                    "bench", "--threshold '%s' is not a percentage", argv[i]);
        } else if (!strcmp(argv[i], "--plot") && i + 1 < argc) {
            plot_dir = argv[++i];
        } else if (!strcmp(argv[i], "--fail-on-regression")) {
            fail_on_regression = true;
        } else if (argv[i][0] == '-' || run) {
            return cmd_usage("bench", "unexpected '%s' for 'bench report'",
                             argv[i]);
        } else if (parse_run_id(argv[i], &run) != 0) {
            return CMD_EXIT_USAGE;
        }
    }
    if (!run)
        return cmd_usage("bench", "'bench report' needs a run id");
    if (fail_on_regression && !vs)
        return cmd_usage("bench", "--fail-on-regression needs --vs RUN2");
    if (suite_store_open(dir, &store, &error) < 0)
        return cmd_fail(1, "%s", error.text);
    rc = suite_report_run(store, run, vs, format, threshold, &text, &worse,
                          &error);
    if (rc == 0 && plot_dir)
        rc = suite_plot(store, run, vs, plot_dir, "gnuplot", &nplots, &error);
    suite_store_close(store);
    if (rc < 0) {
        free(text);
        return cmd_fail(1, "%s", error.text);
    }
    if (plot_dir)
        fprintf(stderr, "shoal: %u plot%s in '%s'\n", nplots,
                nplots == 1 ? "" : "s", plot_dir);
    fputs(text, stdout);
    free(text);
    if (worse && format != SUITE_FORMAT_JSON && format != SUITE_FORMAT_CSV)
        fprintf(stderr, "shoal: run %lld: %u figure%s worse than run %lld\n",
                (long long)run, worse, worse == 1 ? "" : "s", (long long)vs);
    return fail_on_regression && worse ? 1 : 0;
}

static int bench_ls(const char *dir, int argc, char **argv)
{
    suite_store_t *store;
    shoal_error_t error;
    bool json = false;
    char *text;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return cmd_usage("bench", "unexpected '%s' for 'bench ls'",
                             argv[i]);
    }
    if (suite_store_open(dir, &store, &error) < 0)
        return cmd_fail(1, "%s", error.text);
    rc = suite_report_ls(store, json, &text, &error);
    suite_store_close(store);
    if (rc < 0)
        return cmd_fail(1, "%s", error.text);
    fputs(text, stdout);
    free(text);
    return 0;
}

static int bench_show(const char *dir, int argc, char **argv)
{
    suite_store_t *store;
    shoal_error_t error;
    int64_t run;
    char *text;
    int rc;

    if (argc != 2)
        return cmd_usage("bench", "'bench show' takes RUN and BENCH");
    if (parse_run_id(argv[0], &run) != 0)
        return CMD_EXIT_USAGE;
    if (suite_store_open(dir, &store, &error) < 0)
        return cmd_fail(1, "%s", error.text);
    rc = suite_report_show(store, run, argv[1], &text, &error);
    suite_store_close(store);
    if (rc < 0)
        return cmd_fail(1, "%s", error.text);
    fputs(text, stdout);
    free(text);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *dir_opt = NULL;
    char dir[PATH_MAX];
    char *rest[256];
    int nrest = 0;

    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fputs(bench_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? CMD_EXIT_USAGE : 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir_opt = argv[++i];
        else if (!strncmp(argv[i], "--dir=", 6))
            dir_opt = argv[i] + 6;
        else if (!strcmp(argv[i], "--help")) {
            fputs(bench_usage, stdout);
            return 0;
        } else if (nrest < 255)
            rest[nrest++] = argv[i];
    }
    rest[nrest] = NULL;
    if (statedir_resolve(dir_opt, dir, sizeof(dir)) < 0)
        return cmd_fail(1, "state directory: name too long");
    if (!strcmp(argv[0], "run"))
        return bench_run(dir, nrest, rest);
    if (!strcmp(argv[0], "report"))
        return bench_report(dir, nrest, rest);
    if (!strcmp(argv[0], "ls"))
        return bench_ls(dir, nrest, rest);
    if (!strcmp(argv[0], "show"))
        return bench_show(dir, nrest, rest);
    return cmd_usage("bench", "unknown 'bench' command '%s'", argv[0]);
}
