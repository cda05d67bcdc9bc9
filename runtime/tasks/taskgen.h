/* SPDX-License-Identifier: MIT */
/* taskgen.h - the tasks of a bag-of-tasks job, from what the user typed.
 *
 * A job's tasks come from exactly one source:
 *   --range A-B       one task per integer A, A+1, ..., B (both included;
 *                     0 <= A <= B); `{}` is the integer. A-B:S steps by S
 *                     (A, A+S, ... up to B, as Slurm's --array=A-B:S); a
 *                     comma list of such items and single integers
 *                     (1,4,9-12) gives their values in the order written,
 *                     repeats kept; `{#}` is the position in that order
 *   --each-line FILE  one task per line of FILE, taken verbatim without its
 *                     line ending ("\n" or "\r\n"); empty lines are skipped,
 *                     so a trailing blank line makes no task; `{}` is the line
 *   --param k=v1,v2   (repeatable) one task per combination of the values of
 *                     every parameter (cartesian product; the first parameter
 *                     varies slowest, as nested loops in the order given);
 *                     `{k}` is k's value; `{}` is allowed only with a single
 *                     parameter and stands for its value
 *
 * Placeholders in the command: `{}`, `{name}` (name = letters, digits and
 * '_', not starting with a digit) and `{#}` (the task's index, from 0).
 * `{{` and `}}` stand for literal braces. A brace that does not start one of
 * these forms is literal, so `awk '{ print $1 }'` needs no escaping, while
 * `{print}` is taken as a placeholder and is an error unless a parameter
 * named print exists: unknown placeholders are reported at submit time.
 *
 * A task's parameters are a JSON object of strings; the anonymous value of
 * a range or a line has the key "". The generator is pure (no I/O but
 * reading the lines file) and deterministic: task i's parameters depend only
 * on the spec, so the spec is what travels (taskgen_spec), not the tasks. */
#ifndef SHOAL_RUNTIME_TASKS_TASKGEN_H
#define SHOAL_RUNTIME_TASKS_TASKGEN_H

#include <stdint.h>
#include <jansson.h>

#include <shoal/error.h>

/* At most this many tasks per job unless the tasks_max tunable says
 * otherwise (the journal holds one row per task). */
enum { TASKGEN_TASKS_MAX = 10000000 };

struct taskgen;

/* Make an empty generator; add exactly one source, then taskgen_finish().
 * Returns 0 and sets *out (free with taskgen_destroy) or -ENOMEM. */
int taskgen_create(struct taskgen **out);

/* Free g; NULL is accepted. */
void taskgen_destroy(struct taskgen *g);

/* Sources. Each returns 0, or SHOAL_EUSAGE with error filled naming the
 * faulty argument (reversed or empty range, a step of 0, more than 4096
 * items in a range list, bad number, a second source,
 * unreadable or empty file, duplicate or badly named parameter). A failed
 * call leaves g as it was. */
int taskgen_set_range(struct taskgen *g,
                      const char *spec,
                      shoal_error_t *error);
int taskgen_set_lines(struct taskgen *g,
                      const char *path,
                      shoal_error_t *error);
int taskgen_add_param(struct taskgen *g,
                      const char *spec,
                      shoal_error_t *error);

/* Check that g has a source and at most max tasks (0: TASKGEN_TASKS_MAX).
 * Returns 0 or SHOAL_EUSAGE with error filled. */
int taskgen_finish(struct taskgen *g, uint64_t max, shoal_error_t *error);

/* Number of tasks of a finished generator. */
uint64_t taskgen_count(const struct taskgen *g);

/* The parameters of task index (< count) as a new JSON object (caller
 * decrefs); NULL on allocation failure. */
json_t *taskgen_params(const struct taskgen *g, uint64_t index);

/* The spec of a finished generator as JSON (caller decrefs), and back:
 * taskgen_from_spec() builds a finished generator from such an object, so
 * the home daemon expands exactly what the front end checked. Returns 0 or
 * SHOAL_EPROTO/SHOAL_EUSAGE with error filled. */
json_t *taskgen_spec(const struct taskgen *g);
int taskgen_from_spec(const json_t *spec,
                      uint64_t max,
                      struct taskgen **out,
                      shoal_error_t *error);

/* Check the command template argv[0..argc) against g's parameter names.
 * Returns 0 or SHOAL_EUSAGE with error filled ("unknown placeholder
 * '{x}' in argument 2"). */
int taskgen_check_command(const struct taskgen *g,
                          int argc,
                          char *const *argv,
                          shoal_error_t *error);

/* Substitute placeholders of the template tmpl (NULL-terminated) with the
 * values of params and index. Pure. Returns 0 and sets *argv (a
 * NULL-terminated array, caller frees with taskgen_argv_free), or
 * SHOAL_EUSAGE with error filled for an unknown placeholder, or -ENOMEM. */
int taskgen_expand(char *const *tmpl,
                   const json_t *params,
                   uint64_t index,
                   char ***argv,
                   shoal_error_t *error);

/* Free an argv from taskgen_expand(); NULL is accepted. */
void taskgen_argv_free(char **argv);

#endif
