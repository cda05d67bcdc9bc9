/* SPDX-License-Identifier: MIT */
/* suite_store.h - the results store: one SQLite file, DIR/bench.db.
 *
 * Tables (created when missing):
 *   runs     one row per `shoal bench run`: id, start and end time, status
 *            ("running", "done", "interrupted"), the suite file's path,
 *            hash and text (so --resume runs exactly what was started),
 *            shoal's version, tag, host name, topology summary and load
 *            at start
 *   cases    (run, bench, case_no) with the case's parameters as JSON
 *   reps     every repetition, warm-ups included (warmup = 1): status
 *            ("ok", "failed", "timeout", "crashed", "noparse", "error"),
 *            exit code, wall time (s), 1-minute load at start, up to 64
 *            KiB of its output
 *   figures  each figure of a measured repetition: name, point, unit,
 *            direction, value; wall time is the figure "wall" in "s"
 *   counters PAPI counters of a repetition, summed, min and max over its
 *            processes
 *   noise    a repetition of a benchmark with `noise:`: the run queue per
 *            CPU before it, the share of the CPUs others used during it,
 *            the seconds it waited for the load to drop, and whether it
 *            was taken under load
 *   run_vars the suite variables a run was given (--var NAME=VALUE)
 *   run_env  the environment `shoal bench run` started in (name, value),
 *            less variables whose names look secret
 *   pool     the pool's nodes as the run starts and after each measured
 *            repetition (suite_store_pool())
 *   tasks    a repetition run as a pool task: its job and the node (16
 *            hex digits) that ran it
 *   precision a case run to a target precision: the figure watched, the
 *            target (relative half-width of the median's 95% interval),
 *            the bound, the repetitions it took and whether it was reached
 *
 * Every write is its own transaction, so an interrupted suite keeps each
 * repetition that finished. Not thread-safe: one store per thread. */
#ifndef SHOAL_SUITE_STORE_H
#define SHOAL_SUITE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include <shoal/error.h>

#include "runtime/suite/suite_figures.h"
#include "runtime/suite/suite_pool.h"

typedef struct suite_store suite_store_t;

struct suite_run_meta {
    const char *suite_path;
    const char *suite_hash;
    const char *suite_text;
    const char *version;
    const char *tag; /* may be NULL */
    const char *host;
    const char *topology; /* e.g. "Package:1 Core:2 PU:2, 4 GiB" */
    double load;          /* 1-minute load average at start */
};

struct suite_rep_record {
    const char *bench;
    unsigned case_no;
    unsigned rep;
    bool warmup;
    const char *status;
    int exit_code; /* or -signal */
    double wall;
    double load;
    const char *output;
    size_t output_len;
    /* noise control (suite_noise.h), kept in the table noise when set */
    bool noise;
    double runqueue; /* per CPU, before the repetition */
    double others;   /* share of the CPUs others used during it, or NaN */
    double waited;   /* seconds waited for the load to drop */
    bool under_load;
    /* a pool task (suite_task.h), kept in the table tasks when set: the
     * node that ran it (16 hex digits, "" when none did) and its job */
    const char *task_node;
    int64_t task_job;
};

struct suite_counter {
    char *event;
    double sum, min, max;
};

/* Open (creating) dir/bench.db. Returns 0 and sets *out (close with
 * suite_store_close()), or a negative code with error filled. */
int suite_store_open(const char *dir,
                     suite_store_t **out,
                     shoal_error_t *error);

/* Close; NULL is accepted. */
void suite_store_close(suite_store_t *store);

/* The database handle, borrowed, for the report's queries. */
sqlite3 *suite_store_db(suite_store_t *store);

/* Record a new run; sets *id. Returns 0 or a negative code with error. */
int suite_store_run_begin(suite_store_t *store,
                          const struct suite_run_meta *meta,
                          int64_t *id,
                          shoal_error_t *error);

/* Mark run id ended with status ("done", "interrupted"). */
int suite_store_run_end(suite_store_t *store,
                        int64_t id,
                        const char *status,
                        shoal_error_t *error);

/* Load the suite text and path of run id (caller frees both), and its
 * status. -ENOENT with error filled when there is no such run. */
int suite_store_run_suite(suite_store_t *store,
                          int64_t id,
                          char **path,
                          char **text,
                          char **status,
                          shoal_error_t *error);

/* Record a case (ignored when already recorded). */
int suite_store_case(suite_store_t *store,
                     int64_t run,
                     const char *bench,
                     unsigned case_no,
                     const char *params_json,
                     shoal_error_t *error);

/* Record one repetition with its figures and counters (ncounters may be
 * 0), in one transaction. */
int suite_store_rep(suite_store_t *store,
                    int64_t run,
                    const struct suite_rep_record *rep,
                    const struct suite_figure_list *figures,
                    const struct suite_counter *counters,
                    size_t ncounters,
                    shoal_error_t *error);

/* Whether the repetition was recorded already (for --resume). */
bool suite_store_rep_done(suite_store_t *store,
                          int64_t run,
                          const char *bench,
                          unsigned case_no,
                          unsigned rep,
                          bool warmup);

struct suite_precision_record {
    const char *bench;
    unsigned case_no;
    const char *figure;
    double target; /* e.g. 0.05 */
    unsigned max;
    unsigned reps; /* measured repetitions the case took */
    bool reached;
};

/* Record (or replace) how a case run to a target precision ended. */
int suite_store_precision(suite_store_t *store,
                          int64_t run,
                          const struct suite_precision_record *p,
                          shoal_error_t *error);

/* Append the stored figures of one measured repetition to list (for
 * --resume of a case run to a target precision). Returns 0, -EIO or
 * -ENOMEM. */
int suite_store_rep_figures(suite_store_t *store,
                            int64_t run,
                            const char *bench,
                            unsigned case_no,
                            unsigned rep,
                            struct suite_figure_list *list);

/* Record the pool (suite_pool.h) of run id: with bench NULL, every node
 * and its topology as the run starts; else every node's state and load
 * after repetition rep of case_no of bench. Nothing for an empty pool. */
int suite_store_pool(suite_store_t *store,
                     int64_t run,
                     const char *bench,
                     unsigned case_no,
                     unsigned rep,
                     const struct suite_pool *pool,
                     shoal_error_t *error);

/* Keep the environment env ("NAME=VALUE", NULL-terminated; NULL for
 * none) that run id started in, in the table run_env, less the variables
 * whose names look like they hold secrets (suite_store_env_secret()). */
int suite_store_set_run_env(suite_store_t *store,
                            int64_t id,
                            char *const *env,
                            shoal_error_t *error);

/* Whether a variable named name (len bytes) is left out of run_env: its
 * name contains KEY, TOKEN, SECRET, PASS, CRED, AUTH or COOKIE, in any
 * case (or is implausibly long). Pure. */
bool suite_store_env_secret(const char *name, size_t len);

/* Keep the "NAME=VALUE" settings (NULL-terminated; NULL for none) of
 * run id. */
int suite_store_set_run_vars(suite_store_t *store,
                             int64_t id,
                             char *const *vars,
                             shoal_error_t *error);

/* The settings kept for run id, as a NULL-terminated array of
 * "NAME=VALUE" (caller frees each and the array). */
int suite_store_run_vars(suite_store_t *store,
                         int64_t id,
                         char ***vars,
                         shoal_error_t *error);

#endif
