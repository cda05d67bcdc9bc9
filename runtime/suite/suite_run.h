/* SPDX-License-Identifier: MIT */
/* suite_run.h - run a suite: every case of every benchmark, warm-ups then
 * repetitions, each recorded in the store as soon as it ends.
 *
 * A plain command is run as is, or, when this node's daemon answered as
 * the run started (the pool is recorded), as a pool task through `shoal
 * submit` (suite_task.h) unless the benchmark is `local:`; a benchmark with
 * `mpi:` runs as a gang job through `shoal run` (the program at
 * opts->shoal, which uses the pool when this node's daemon answers and an
 * embedded runtime otherwise), so placement and binding are shoal's own. A
 * repetition that fails, crashes, times out or prints nothing its parser reads
 * is recorded with that status and the suite goes on.
 *
 * Resuming (opts->resume = RUN) runs the suite text stored with RUN (with
 * the variables it was given) and skips every repetition RUN already
 * holds. The variable "shoal" is set to opts->shoal. A benchmark marked
 * optional whose program is missing is skipped, said through notice. Setting
 * *opts->stop (from a signal handler) ends the suite after the current
 * repetition, with the run marked "interrupted". Blocks; not thread-safe. */
#ifndef SHOAL_SUITE_RUN_H
#define SHOAL_SUITE_RUN_H

#include <signal.h>
#include <stdint.h>

#include <shoal/error.h>

#include "runtime/suite/suite_matrix.h"
#include "runtime/suite/suite_parse.h"
#include "runtime/suite/suite_store.h"

struct suite_progress {
    const char *bench;
    const char *params; /* JSON text of the case's parameters */
    unsigned rep;       /* 1-based */
    unsigned reps;      /* of this case, warm-ups included */
    bool warmup;
    size_t done, total;        /* repetitions of the whole suite */
    double elapsed, remaining; /* seconds; remaining is an estimate */
};

typedef void (*suite_progress_f)(const struct suite_progress *progress,
                                 void *arg);
/* A message for the user that does not stop the suite (PAPI events this
 * machine cannot count), said once per run. */
typedef void (*suite_notice_f)(const char *text, void *arg);

struct suite_run_opts {
    const char *only;     /* run only this benchmark, or NULL */
    unsigned repeat;      /* override every benchmark's repeat, or 0 */
    const char *tag;      /* stored with the run, or NULL */
    const char *shoal;    /* the shoal program for `mpi:` benchmarks */
    const char *papi_lib; /* the counters' preload library, or NULL */
    int64_t resume;       /* a run to continue, or 0 */
    /* "NAME=VALUE" settings of the suite's variables, NULL-terminated, or
     * NULL; kept with the run, so --resume uses them again */
    char *const *vars;
    volatile sig_atomic_t *stop;
    suite_progress_f progress; /* may be NULL */
    suite_notice_f notice;     /* may be NULL */
    void *arg;
};

/* Run suite (NULL when resuming: the stored text is used) into store.
 * Sets *run to the run's id as soon as it is recorded. Returns 0 when the
 * suite ran to its end (whatever its repetitions did), -EINTR when
 * stopped, or a negative code with error filled (a bad --only, a store
 * that cannot be written, a program that cannot be started). */
int suite_run(suite_store_t *store,
              const struct suite *suite,
              const struct suite_run_opts *opts,
              int64_t *run,
              shoal_error_t *error);

/* Build the argument vector of one repetition of case c (NULL-terminated,
 * free with suite_run_argv_free()); shoal is the program for `mpi:`, and
 * rank_preload (or NULL) the LD_PRELOAD list its ranks get (`-x`), so that
 * the launcher itself is never preloaded, and counters_dir (or NULL) where
 * `shoal run` puts each rank's counters, from whichever node ran it
 * (`--counters-dir`). Returns NULL when out of memory. */
char **suite_run_argv(const struct suite_bench *bench,
                      const struct suite_case *c,
                      const char *shoal,
                      const char *rank_preload,
                      const char *counters_dir);
void suite_run_argv_free(char **argv);

#endif
