/* SPDX-License-Identifier: MIT */
/* suite_task.h - run one repetition of a plain command as a task of the
 * pool: submitted to this node's daemon (`shoal submit`), which hands it
 * to whichever node has a free core, the home included, and waited for.
 *
 * Through the shoal program's own commands (submit, wait, results,
 * output), as `mpi:` benchmarks go through `shoal run`: a job of one task
 * (`--range 1-1`, no retries, the benchmark's timeout as `--time-limit`),
 * named "bench RUN NAME". Braces in the command are doubled, so the task's
 * placeholders never touch it. The task runs in the current directory with
 * envp (the task service hands both to the node that runs it: the pool is
 * expected to share file systems).
 *
 * The result is that of suite_exec_run(): the status from the task's
 * (ok, failed, crashed for a signal, timeout for the time limit), its
 * output fetched from the node that ran it, and the wall time the node
 * measured from starting the task's process to reaping it; node is set to
 * the node's id (16 hex digits). A job that cannot be submitted or waited
 * for is a failed repetition whose output says why. Blocks.
 *
 * Counters: the task's processes, with libshoal-papi.so preloaded, leave
 * their counts in the task's own directory on the node that ran it
 * (SHOAL_TASK_DIR/counters); `shoal output --counters FILE` brings them
 * here with the output, through the pool (the node sends them with the
 * stdout and stderr it is asked for), so no file system is shared. */
#ifndef SHOAL_SUITE_TASK_H
#define SHOAL_SUITE_TASK_H

#include <stdint.h>

#include <shoal/error.h>

#include "runtime/suite/suite_exec.h"

/* Run argv as a pool task through the shoal program shoal, with name for
 * the job, timeout seconds (0: none). Returns 0 with *result filled, *job
 * set to the job's id (0 when it was not submitted) and node set to the
 * node that ran the task (or ""), or a negative code with error filled
 * when the shoal program itself cannot be started. counters, when not
 * NULL, is a new file to write the task's counters file to (not made when
 * the task left none). */
int suite_task_run(const char *shoal,
                   const char *name,
                   char *const *argv,
                   char *const *envp,
                   double timeout,
                   const char *counters,
                   struct suite_exec_result *result,
                   int64_t *job,
                   char node[17],
                   shoal_error_t *error);

/* argv[i] with every '{' and '}' doubled (task placeholders' escape);
 * NULL when out of memory. Pure. */
char *suite_task_escape(const char *word);

#endif
