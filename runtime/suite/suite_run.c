/* SPDX-License-Identifier: MIT */
/* suite_run.c - the suite runner: cases, repetitions, records. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shoal/shoal.h>

#include "runtime/member/node_summary.h"
#include "runtime/suite/suite_exec.h"
#include "runtime/suite/suite_figures.h"
#include "runtime/suite/suite_noise.h"
#include "runtime/suite/suite_pool.h"
#include "runtime/suite/suite_run.h"
#include "runtime/suite/suite_stats.h"
#include "runtime/suite/suite_task.h"
#include "util/spawn.h"

extern char **environ;

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double load_now(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

void suite_run_argv_free(char **argv)
{
    for (char **a = argv; a && *a; a++)
        free(*a);
    free(argv);
}

char **suite_run_argv(const struct suite_bench *bench,
                      const struct suite_case *c,
                      const char *shoal,
                      const char *rank_preload,
                      const char *counters_dir)
{
    size_t nwords = 0, n = 0, ranks_at = 0;
    char **argv;
    char ranks[16];

    while (bench->command[nwords])
        nwords++;
    argv = calloc(nwords + 17, sizeof(char *));
    if (!argv)
        return NULL;
    if (bench->mpi) {
        snprintf(ranks, sizeof(ranks), "%u", bench->ranks);
        argv[n++] = strdup(shoal);
        argv[n++] = strdup("run");
        argv[n++] = strdup("-n");
        ranks_at = n;
        argv[n++] = bench->ranks_tmpl
                        ? suite_matrix_subst(bench, c, bench->ranks_tmpl)
                        : strdup(ranks);
        if (bench->map_by) {
            argv[n++] = strdup("--map-by");
            argv[n++] = strdup(bench->map_by);
        }
        if (bench->nodes || bench->nodes_tmpl) {
            /* ranks per node, rounded up: ceil(ranks / nodes) */
            const char *r = argv[ranks_at];
            char *k = bench->nodes_tmpl
                          ? suite_matrix_subst(bench, c, bench->nodes_tmpl)
                          : NULL;
            unsigned long nr = strtoul(r ? r : "1", NULL, 10);
            unsigned long nn = k ? strtoul(k, NULL, 10) : bench->nodes;

            free(k);
            argv[n++] = strdup("--npernode");
            if (asprintf(&argv[n++], "%lu", nn ? (nr + nn - 1) / nn : nr) < 0)
                argv[n - 1] = NULL;
        }
        if (bench->bind_to) {
            argv[n++] = strdup("--bind-to");
            argv[n++] = strdup(bench->bind_to);
        }
        if (bench->oversubscribe)
            argv[n++] = strdup("--oversubscribe");
        if (bench->exclusive)
            argv[n++] = strdup("--exclusive");
        if (rank_preload) {
            argv[n++] = strdup("-x");
            if (asprintf(&argv[n++], "LD_PRELOAD=%s", rank_preload) < 0)
                argv[n - 1] = NULL;
        }
        if (counters_dir) {
            argv[n++] = strdup("--counters-dir");
            argv[n++] = strdup(counters_dir);
        }
        argv[n++] = strdup("--");
    }
    for (size_t i = 0; i < nwords; i++)
        argv[n++] = suite_matrix_subst(bench, c, bench->command[i]);
    for (size_t i = 0; i < n; i++) {
        if (!argv[i]) {
            for (size_t j = 0; j < n; j++)
                free(argv[j]);
            free(argv);
            return NULL;
        }
    }
    return argv;
}

/* environ, then the benchmark's env (substituted), then the counters'
 * settings; SHOAL_POOL=no for a `local:` gang job. In a pool task (task)
 * the counters' library is preloaded into `shoal submit` too, whose
 * environment the task gets: only the task's processes count. */
static char **build_env(const struct suite_bench *bench,
                        const struct suite_case *c,
                        const char *papi_lib,
                        const char *papi_dir,
                        bool task)
{
    size_t n = 0, k = 0, nb = 0;
    char **env;

    while (environ[n])
        n++;
    while (bench->env && bench->env[nb])
        nb++;
    env = calloc(n + nb + 6, sizeof(char *));
    if (!env)
        return NULL;
    const char *preload = NULL;

    for (size_t i = 0; i < n; i++) {
        /* the counters' library goes first in a preload list already set
         * (for `mpi:`, in the ranks' list only: suite_run_argv()) */
        if (papi_lib && papi_dir && bench->papi && !bench->mpi
            && !strncmp(environ[i], "LD_PRELOAD=", 11)) {
            preload = environ[i] + 11;
            continue;
        }
        env[k++] = strdup(environ[i]);
    }
    for (size_t i = 0; i < nb; i++)
        env[k++] = suite_matrix_subst(bench, c, bench->env[i]);
    if (bench->mpi && bench->local && !(env[k++] = strdup("SHOAL_POOL=no")))
        env[k - 1] = NULL;
    if (papi_lib && papi_dir && bench->papi) {
        size_t len = 0;
        char *events;

        for (char **e = bench->papi; *e; e++)
            len += strlen(*e) + 1;
        events = calloc(1, len + 1);
        for (char **e = bench->papi; events && *e; e++) {
            strcat(events, *e);
            if (e[1])
                strcat(events, ",");
        }
        if (!events || asprintf(&env[k++], "SHOAL_PAPI_EVENTS=%s", events) < 0)
            env[k - 1] = NULL;
        free(events);
        if (asprintf(&env[k++], "SHOAL_PAPI_DIR=%s", papi_dir) < 0)
            env[k - 1] = NULL;
        if (!bench->mpi
            && asprintf(&env[k++], "LD_PRELOAD=%s%s%s", papi_lib,
                        preload && *preload ? ":" : "", preload ? preload : "")
                   < 0)
            env[k - 1] = NULL;
        if ((bench->mpi || task)
            && !(env[k++] = strdup(task ? "SHOAL_PAPI_RANKS=task"
                                        : "SHOAL_PAPI_RANKS=1")))
            env[k - 1] = NULL;
    }
    for (size_t i = 0; i < k; i++) {
        if (!env[i]) {
            suite_run_argv_free(env);
            return NULL;
        }
    }
    return env;
}

struct counter_set {
    struct suite_counter v[32];
    size_t n;
    char unavailable[512];
    size_t ranks; /* files papi.rank.N read: ranks whose counts came */
};

/* Sum, min and max over the processes' files papi.PID in dir (each line
 * "EVENT VALUE" or "EVENT unavailable"; papi.task, a pool task's counters
 * file fetched with its output, and papi.rank.N, a rank's that `shoal run
 * --counters-dir` wrote, hold the lines of each of their processes in
 * turn); the files and dir are removed.
 * An event is unavailable when no process counted it: a helper process
 * of the benchmark (a shell, or a program without shoal's MPI for its
 * sde::: events) may not count what the benchmark's program does. */
static void collect_counters(const char *dir, struct counter_set *set)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    set->n = 0;
    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[4400], event[128], value[64];
        FILE *f;

        if (strncmp(de->d_name, "papi.", 5) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        f = fopen(path, "r");
        set->ranks += f && !strncmp(de->d_name, "papi.rank.", 10);
        while (f && fscanf(f, "%127s %63s", event, value) == 2) {
            char *end;
            double v = strtod(value, &end);
            size_t i;

            if (*end) {
                if (!strstr(set->unavailable, event)
                    && strlen(set->unavailable) + strlen(event) + 3
                           < sizeof(set->unavailable)) {
                    if (*set->unavailable)
                        strcat(set->unavailable, ", ");
                    strcat(set->unavailable, event);
                }
                continue;
            }
            for (i = 0; i < set->n; i++)
                if (!strcmp(set->v[i].event, event))
                    break;
            if (i == set->n) {
                if (set->n == sizeof(set->v) / sizeof(set->v[0]))
                    continue;
                set->v[i].event = strdup(event);
                if (!set->v[i].event)
                    continue;
                set->v[i].sum = 0;
                set->v[i].min = INFINITY;
                set->v[i].max = -INFINITY;
                set->n++;
            }
            set->v[i].sum += v;
            set->v[i].min = fmin(set->v[i].min, v);
            set->v[i].max = fmax(set->v[i].max, v);
        }
        if (f)
            fclose(f);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
    /* keep in unavailable only the events no process counted */
    char kept[sizeof(set->unavailable)] = "";
    char *save = NULL;

    for (char *e = strtok_r(set->unavailable, ",", &save); e;
         e = strtok_r(NULL, ",", &save)) {
        size_t i;

        while (*e == ' ')
            e++;
        for (i = 0; i < set->n; i++)
            if (!strcmp(set->v[i].event, e))
                break;
        if (i < set->n)
            continue;
        if (*kept)
            strcat(kept, ", ");
        strcat(kept, e);
    }
    memcpy(set->unavailable, kept, sizeof(kept));
}

static void release_counters(struct counter_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i].event);
    set->n = 0;
}

/* The values of the figure a target precision watches, one series per
 * point (an OSU table gives one per message size). */
struct precision_series {
    char *point;
    double *x;
    size_t n;
};

struct precision_track {
    struct precision_series *v;
    size_t n;
};

static int track_feed(struct precision_track *t,
                      const struct suite_figure_list *figures,
                      const char *name)
{
    for (size_t i = 0; i < figures->n; i++) {
        const struct suite_figure *f = &figures->v[i];
        struct precision_series *s = NULL;
        double *x;

        if (strcmp(f->name, name) != 0)
            continue;
        for (size_t j = 0; j < t->n && !s; j++)
            if (!strcmp(t->v[j].point, f->point))
                s = &t->v[j];
        if (!s) {
            struct precision_series *v = realloc(t->v, (t->n + 1) * sizeof(*v));

            if (!v)
                return -ENOMEM;
            t->v = v;
            s = &t->v[t->n];
            memset(s, 0, sizeof(*s));
            if (!(s->point = strdup(f->point)))
                return -ENOMEM;
            t->n++;
        }
        x = realloc(s->x, (s->n + 1) * sizeof(double));
        if (!x)
            return -ENOMEM;
        s->x = x;
        s->x[s->n++] = f->value;
    }
    return 0;
}

/* Reached when the figure was seen and every point of it is precise. */
static bool track_reached(const struct precision_track *t,
                          const struct suite_bench *bench,
                          unsigned least)
{
    for (size_t i = 0; i < t->n; i++)
        if (suite_stats_precision(t->v[i].x, t->v[i].n, bench->precision, least,
                                  UINT_MAX, NULL)
            != SUITE_PRECISION_REACHED)
            return false;
    return t->n > 0;
}

static void track_release(struct precision_track *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].point);
        free(t->v[i].x);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

struct suite_runner {
    suite_store_t *store;
    const struct suite_run_opts *opts;
    int64_t run;
    double started;
    size_t done, total, skipped;
    bool papi_said, papi_lost_said;
    bool *missing; /* per benchmark: optional and its program is missing */
    bool pool;     /* a pool daemon answered as the run started */
};

/* The pool as its daemon sees it now, kept with the run (bench NULL: as
 * the run starts). A daemon that stops answering is said once and no
 * longer asked. */
static int record_pool(struct suite_runner *r,
                       const char *bench,
                       unsigned case_no,
                       unsigned rep,
                       shoal_error_t *error)
{
    struct suite_pool pool;
    shoal_error_t why = {{0}};
    int rc = suite_pool_snapshot(&pool, &why);

    if (rc < 0) {
        if (r->pool && r->opts->notice) {
            char text[1024];

            snprintf(text, sizeof(text),
                     "the pool's daemon no longer answers (%s): node loads "
                     "are not recorded from here on",
                     rc == -ENOENT ? "gone" : why.text);
            r->opts->notice(text, r->opts->arg);
        }
        r->pool = false;
        return 0;
    }
    r->pool = true;
    rc = suite_store_pool(r->store, r->run, bench, case_no, rep, &pool, error);
    suite_pool_release(&pool);
    return rc;
}

/* The run queue before a repetition; with `wait:`, sample until it is
 * at most max-load or the wait is over. */
static void wait_for_quiet(const struct suite_bench *bench,
                           struct suite_rep_record *rec)
{
    double t0 = mono_s();

    rec->noise = true;
    rec->others = NAN;
    for (;;) {
        /* waited: until the sample that let the repetition go */
        rec->waited = mono_s() - t0;
        if (suite_noise_runqueue(0.1, &rec->runqueue) < 0) {
            rec->runqueue = NAN;
            break;
        }
        if (rec->runqueue <= bench->noise_max_load
            || mono_s() - t0 >= bench->noise_wait)
            break;
        double left = bench->noise_wait - (mono_s() - t0);
        struct timespec nap = {0, (long)(fmin(0.25, left) * 1e9)};

        nanosleep(&nap, NULL);
    }
}

static int run_rep(struct suite_runner *r,
                   const struct suite_bench *bench,
                   const struct suite_case *c,
                   unsigned case_no,
                   unsigned rep,
                   bool warmup,
                   struct precision_track *track,
                   shoal_error_t *error)
{
    const struct suite_run_opts *opts = r->opts;
    struct suite_exec_result res;
    struct suite_figure_list figures = {0};
    struct counter_set counters = {.n = 0};
    const char *tmp = getenv("TMPDIR");
    char papi_dir[4096];
    bool papi = opts->papi_lib && bench->papi
                && snprintf(papi_dir, sizeof(papi_dir), "%s/shoal-papi-XXXXXX",
                            tmp && *tmp ? tmp : "/tmp")
                       < (int)sizeof(papi_dir)
                && mkdtemp(papi_dir);
    const char *preload = getenv("LD_PRELOAD");
    char *rank_preload = NULL;
    char **argv, **env;

    if (papi && bench->mpi
        && asprintf(&rank_preload, "%s%s%s", opts->papi_lib,
                    preload && *preload ? ":" : "", preload ? preload : "")
               < 0)
        rank_preload = NULL;
    /* a plain command goes to the pool as a task when a pool answers */
    bool task = r->pool && !bench->mpi && !bench->local && opts->shoal;
    char node[17] = "", *job_name = NULL;
    int64_t job = 0;

    argv = suite_run_argv(bench, c, opts->shoal, rank_preload,
                          papi && bench->mpi ? papi_dir : NULL);
    /* `shoal run -n N` */
    size_t ranks = bench->mpi && argv && argv[1] && argv[2] && argv[3]
                       ? strtoul(argv[3], NULL, 10)
                       : 0;
    free(rank_preload);
    env = build_env(bench, c, papi ? opts->papi_lib : NULL, papi_dir, task);
    struct suite_rep_record rec = {.bench = bench->name,
                                   .case_no = case_no,
                                   .rep = rep,
                                   .warmup = warmup,
                                   .load = load_now()};
    shoal_error_t why = {{0}};
    struct suite_noise_snap before, after;
    bool snapped = false;
    int rc;

    if (!argv || !env) {
        suite_run_argv_free(argv);
        suite_run_argv_free(env);
        return -ENOMEM;
    }
    if (bench->noise && !warmup) {
        wait_for_quiet(bench, &rec);
        snapped = suite_noise_snap(&before) == 0;
    }
    if (task
        && asprintf(&job_name, "bench %" PRId64 " %s", r->run, bench->name) < 0)
        job_name = NULL;
    if (task && !job_name)
        rc = shoal_errprintf(&why, -ENOMEM, "out of memory");
    else if (task) {
        /* the counters come back with the task's output, into a file of
         * papi_dir as the processes here write theirs */
        char task_counts[sizeof(papi_dir) + 16];

        snprintf(task_counts, sizeof(task_counts), "%s/papi.task", papi_dir);
        rc = suite_task_run(opts->shoal, job_name, argv, env, bench->timeout,
                            papi ? task_counts : NULL, &res, &job, node, &why);
    } else
        rc = suite_exec_run(argv, env, bench->timeout, &res, &why);
    free(job_name);
    if (task) {
        rec.task_node = node;
        rec.task_job = job;
    }
    if (rc == 0 && snapped && suite_noise_snap(&after) == 0)
        rec.others = suite_noise_others(&before, &after, res.wall);
    if (rec.noise)
        rec.under_load =
            rec.runqueue > bench->noise_max_load
            || (isfinite(rec.others) && rec.others > bench->noise_max_load);
    suite_run_argv_free(argv);
    suite_run_argv_free(env);
    if (papi)
        collect_counters(papi_dir, &counters);
    if (rc < 0) {
        /* a program that cannot start fails every repetition alike */
        release_counters(&counters);
        return shoal_errprintf(error, rc, "benchmark '%s': %s", bench->name,
                               why.text);
    }
    /* a task whose counts did not come back (a node whose task service
     * does not send them, or a counters file too large to send): said
     * once, as unavailable events are */
    if (papi && task && res.status == SUITE_EXEC_OK && counters.n == 0
        && !*counters.unavailable && !r->papi_lost_said && opts->notice) {
        char text[1024];

        snprintf(text, sizeof(text),
                 "benchmark '%s': no counts came back from its task on node "
                 "%s (no counters for it)",
                 bench->name, *node ? node : "?");
        opts->notice(text, opts->arg);
        r->papi_lost_said = true;
    }
    /* ranks whose counts did not come back (a rank whose program runs
     * without the preload library, static or setuid, or a node that does
     * not send them; exec and _exit write theirs): said once */
    if (papi && bench->mpi && res.status == SUITE_EXEC_OK
        && counters.ranks < ranks && !r->papi_lost_said && opts->notice) {
        char text[1024];

        snprintf(text, sizeof(text),
                 "benchmark '%s': counts came back from %zu of its %zu ranks "
                 "(the sums leave the others out)",
                 bench->name, counters.ranks, ranks);
        opts->notice(text, opts->arg);
        r->papi_lost_said = true;
    }
    if (papi && *counters.unavailable && !r->papi_said && opts->notice) {
        char text[1024];

        snprintf(text, sizeof(text),
                 "PAPI events not available on this machine: %s (no "
                 "counts for them)",
                 counters.unavailable);
        opts->notice(text, opts->arg);
        r->papi_said = true;
    }
    rec.status = suite_exec_status_name(res.status);
    rec.exit_code = res.exit_code;
    rec.wall = res.wall;
    rec.output = res.out;
    rec.output_len = res.out_len;
    if (res.status != SUITE_EXEC_OK && res.err_len) {
        char *both = NULL;
        int len = asprintf(&both, "%s--- stderr ---\n%s", res.out, res.err);

        if (len >= 0) {
            free(res.out);
            res.out = both;
            res.out_len = (size_t)len;
            rec.output = both;
            rec.output_len = res.out_len;
        }
    }
    if (res.status == SUITE_EXEC_OK && !warmup) {
        rc = suite_figures_parse(bench, res.out, res.out_len, &figures, error);
        if (rc == 0 && bench->parser != SUITE_PARSER_NONE && figures.n == 0)
            rec.status = "noparse";
    }
    if (rc == 0 && res.status == SUITE_EXEC_OK)
        rc = suite_figures_add(&figures, "wall", "", "s", false, res.wall);
    /* each counter's sum over the processes is a figure too, so reports
     * and comparisons treat it as any other */
    for (size_t i = 0; i < counters.n && rc == 0 && !warmup; i++)
        rc = suite_figures_add(&figures, counters.v[i].event, "", "count",
                               false, counters.v[i].sum);
    if (rc == 0)
        rc = suite_store_rep(r->store, r->run, &rec, &figures, counters.v,
                             counters.n, error);
    if (rc == 0 && r->pool && !warmup)
        rc = record_pool(r, bench->name, case_no, rep, error);
    if (rc == 0 && track && !warmup)
        rc = track_feed(track, &figures, bench->precision_figure);
    suite_figures_release(&figures);
    release_counters(&counters);
    suite_exec_release(&res);
    return rc;
}

static void say_progress(struct suite_runner *r,
                         const struct suite_bench *bench,
                         const char *params,
                         unsigned rep,
                         unsigned reps,
                         bool warmup)
{
    struct suite_progress p = {.bench = bench->name,
                               .params = params,
                               .rep = rep,
                               .reps = reps,
                               .warmup = warmup,
                               .done = r->done,
                               .total = r->total};
    size_t ran = r->done - r->skipped;

    if (!r->opts->progress)
        return;
    p.elapsed = mono_s() - r->started;
    p.remaining =
        ran ? p.elapsed / (double)ran * (double)(r->total - r->done) : NAN;
    r->opts->progress(&p, r->opts->arg);
}

/* How many measured repetitions a case runs: a fixed count, or with a
 * target precision (not overridden by --repeat) at least `least` and at
 * most `most`. */
static bool rep_bounds(const struct suite_bench *bench,
                       const struct suite_run_opts *opts,
                       unsigned *least,
                       unsigned *most)
{
    if (bench->precision > 0 && !opts->repeat) {
        *least = bench->repeat_given ? bench->repeat : 1;
        *most = bench->precision_max;
        return true;
    }
    *least = *most = opts->repeat ? opts->repeat : bench->repeat;
    return false;
}

static int run_case(struct suite_runner *r,
                    const struct suite_bench *bench,
                    const struct suite_case *c,
                    unsigned case_no,
                    const char *params,
                    shoal_error_t *error)
{
    const struct suite_run_opts *opts = r->opts;
    unsigned least, most, measured = 0;
    struct precision_track track = {0};
    bool precise;
    int rc = 0;

    precise = rep_bounds(bench, opts, &least, &most);
    for (unsigned i = 0; i < bench->warmup + most && rc == 0; i++) {
        bool warmup = i < bench->warmup;
        unsigned rep = warmup ? i : i - bench->warmup;

        if (precise && !warmup && track_reached(&track, bench, least))
            break;
        if (opts->stop && *opts->stop) {
            rc = -EINTR;
            break;
        }
        if (opts->resume
            && suite_store_rep_done(r->store, r->run, bench->name, case_no, rep,
                                    warmup)) {
            if (precise && !warmup) {
                struct suite_figure_list stored = {0};

                rc = suite_store_rep_figures(r->store, r->run, bench->name,
                                             case_no, rep, &stored);
                if (rc == 0)
                    rc = track_feed(&track, &stored, bench->precision_figure);
                suite_figures_release(&stored);
            }
            measured += !warmup;
            r->done++;
            r->skipped++;
            continue;
        }
        say_progress(r, bench, params, i + 1, bench->warmup + most, warmup);
        rc = run_rep(r, bench, c, case_no, rep, warmup, precise ? &track : NULL,
                     error);
        measured += !warmup;
        r->done++;
    }
    if (precise && rc == 0) {
        struct suite_precision_record p = {
            .bench = bench->name,
            .case_no = case_no,
            .figure = bench->precision_figure,
            .target = bench->precision,
            .max = most,
            .reps = measured,
            .reached = track_reached(&track, bench, least)};

        /* the estimate counted every case at its bound */
        r->total -= most - measured;
        rc = suite_store_precision(r->store, r->run, &p, error);
    }
    track_release(&track);
    return rc;
}

static int run_bench(struct suite_runner *r,
                     const struct suite_bench *bench,
                     shoal_error_t *error)
{
    struct suite_case *cases = NULL;
    size_t ncases = 0;
    int rc = suite_matrix_expand(bench, &cases, &ncases);

    if (rc < 0)
        return shoal_errprintf(error, rc, "benchmark '%s': bad matrix: %s",
                               bench->name, shoal_strerror(rc));
    for (size_t k = 0; k < ncases && rc == 0; k++) {
        char *params = suite_matrix_params_json(bench, &cases[k]);

        if (!params) {
            rc = -ENOMEM;
            break;
        }
        rc = suite_store_case(r->store, r->run, bench->name, (unsigned)k,
                              params, error);
        if (rc == 0)
            rc = run_case(r, bench, &cases[k], (unsigned)k, params, error);
        free(params);
    }
    free(cases);
    return rc;
}

/* Every program of the selected benchmarks must exist before anything
 * runs: a typo found after an hour of measurements costs the hour. */
/* Every program of the selected benchmarks must exist before anything
 * runs: a typo found after an hour of measurements costs the hour. An
 * optional benchmark whose program is missing is marked in missing[]
 * and said through notice instead. */
static int check_programs(const struct suite *suite,
                          const struct suite_run_opts *opts,
                          bool *missing,
                          shoal_error_t *error)
{
    for (size_t i = 0; i < suite->nbenches; i++) {
        const struct suite_bench *b = &suite->benches[i];
        struct suite_case *cases;
        size_t ncases;
        int rc;

        if (opts->only && strcmp(b->name, opts->only) != 0)
            continue;
        rc = suite_matrix_expand(b, &cases, &ncases);
        if (rc < 0)
            return shoal_errprintf(error, rc, "benchmark '%s': %s", b->name,
                                   shoal_strerror(rc));
        for (size_t k = 0; k < ncases && rc == 0 && !missing[i]; k++) {
            char *program = suite_matrix_subst(b, &cases[k], b->command[0]);
            char *path = NULL;
            shoal_error_t why;

            if (!program) {
                rc = -ENOMEM;
                break;
            }
            rc = spawn_resolve(program, NULL, &path, &why);
            if (rc < 0 && b->optional) {
                char text[600];

                snprintf(text, sizeof(text),
                         "benchmark '%s' skipped: %s (it is optional; "
                         "its program is set in %s:%d)",
                         b->name, why.text, suite->path, b->command_line);
                if (opts->notice)
                    opts->notice(text, opts->arg);
                missing[i] = true;
                rc = 0;
            } else if (rc < 0) {
                shoal_errprintf(
                    error, rc, "%s:%d: key 'command': %s in benchmark '%s'",
                    suite->path, b->command_line, why.text, b->name);
            }
            free(program);
            free(path);
        }
        free(cases);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Apply "NAME=VALUE" settings to the suite's variables. */
static int
apply_vars(const struct suite *suite, char *const *vars, shoal_error_t *error)
{
    for (char *const *v = vars; v && *v; v++) {
        const char *eq = strchr(*v, '=');
        char name[128];
        int rc;

        if (!eq || eq == *v || (size_t)(eq - *v) >= sizeof(name))
            return shoal_errprintf(error, -EINVAL,
                                   "'%s' is not NAME=VALUE of a variable", *v);
        memcpy(name, *v, (size_t)(eq - *v));
        name[eq - *v] = '\0';
        /* the variables are the suite's own array, not part of what the
         * caller hands in as const: the benchmarks read them */
        rc = suite_set_var((struct suite *)suite, name, eq + 1, error);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int describe_node(struct suite_run_meta *meta,
                         char *host,
                         size_t hsize,
                         char *topo,
                         size_t tsize)
{
    struct node_summary s;
    shoal_error_t e;

    memset(&s, 0, sizeof(s));
    if (node_summary_collect(NULL, NULL, &s, &e) < 0) {
        gethostname(host, hsize);
        snprintf(topo, tsize, "unknown (%.200s)", e.text);
    } else {
        snprintf(host, hsize, "%s", s.hostname);
        snprintf(topo, tsize, "%s, %.1f GiB, speed %u", s.synthetic,
                 (double)s.memory_bytes / (1 << 30), s.speed);
    }
    meta->host = host;
    meta->topology = topo;
    meta->load = load_now();
    return 0;
}

int suite_run(suite_store_t *store,
              const struct suite *suite,
              const struct suite_run_opts *opts,
              int64_t *run,
              shoal_error_t *error)
{
    struct suite_runner r = {.store = store, .opts = opts};
    struct suite *stored = NULL;
    char **stored_vars = NULL;
    int rc = 0;

    *run = 0;
    if (opts->resume) {
        char *path, *text, *status;

        rc = suite_store_run_suite(store, opts->resume, &path, &text, &status,
                                   error);
        if (rc < 0)
            return rc;
        rc = suite_parse_text(path, text, strlen(text), &stored, error);
        free(path);
        free(text);
        free(status);
        if (rc < 0)
            return rc;
        suite = stored;
        r.run = opts->resume;
        rc = suite_store_run_vars(store, opts->resume, &stored_vars, error);
        if (rc == 0)
            rc = apply_vars(suite, stored_vars, error);
        if (rc < 0)
            goto out;
    } else {
        rc = apply_vars(suite, opts->vars, error);
        if (rc < 0)
            goto out;
    }
    if (opts->shoal)
        rc = suite_set_var((struct suite *)suite, "shoal", opts->shoal, error);
    if (rc < 0)
        goto out;
    r.missing = calloc(suite->nbenches ? suite->nbenches : 1, sizeof(bool));
    if (!r.missing) {
        rc = -ENOMEM;
        goto out;
    }
    if (opts->only) {
        size_t i;

        for (i = 0; i < suite->nbenches; i++)
            if (!strcmp(suite->benches[i].name, opts->only))
                break;
        if (i == suite->nbenches) {
            rc = shoal_errprintf(error, -ENOENT, "no benchmark '%s' in '%s'",
                                 opts->only, suite->path);
            goto out;
        }
    }
    rc = check_programs(suite, opts, r.missing, error);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < suite->nbenches; i++) {
        const struct suite_bench *b = &suite->benches[i];
        struct suite_case *cases;
        size_t ncases;

        if ((opts->only && strcmp(b->name, opts->only) != 0) || r.missing[i])
            continue;
        unsigned least, most;

        rep_bounds(b, opts, &least, &most);
        if (suite_matrix_expand(b, &cases, &ncases) == 0)
            r.total += ncases * (b->warmup + most);
        free(cases);
    }
    if (!opts->resume) {
        char host[256] = "", topo[512] = "";
        struct suite_run_meta meta = {.suite_path = suite->path,
                                      .suite_hash = suite->hash,
                                      .version = shoal_version(),
                                      .tag = opts->tag};
        meta.suite_text = suite->text;
        describe_node(&meta, host, sizeof(host), topo, sizeof(topo));
        rc = suite_store_run_begin(store, &meta, &r.run, error);
        if (rc == 0)
            rc = suite_store_set_run_vars(store, r.run, opts->vars, error);
        if (rc == 0)
            rc = suite_store_set_run_env(store, r.run, environ, error);
        if (rc == 0)
            rc = record_pool(&r, NULL, 0, 0, error);
        if (rc < 0)
            goto out;
    }
    *run = r.run;
    r.started = mono_s();
    for (size_t i = 0; i < suite->nbenches && rc == 0; i++) {
        if ((opts->only && strcmp(suite->benches[i].name, opts->only) != 0)
            || r.missing[i])
            continue;
        rc = run_bench(&r, &suite->benches[i], error);
    }
    if (rc == 0 || rc == -EINTR) {
        shoal_error_t e2;
        int rc2 = suite_store_run_end(store, r.run,
                                      rc == 0 ? "done" : "interrupted", &e2);

        if (rc2 < 0 && rc == 0) {
            *error = e2;
            rc = rc2;
        }
    } else {
        suite_store_run_end(store, r.run, "interrupted", NULL);
    }
out:
    free(r.missing);
    suite_run_argv_free(stored_vars);
    suite_free(stored);
    return rc;
}
