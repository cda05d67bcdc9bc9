/* SPDX-License-Identifier: MIT */
/* suite_task.c - a repetition as a pool task: submit, wait, results,
 * output, each through the shoal program. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtime/suite/suite_task.h"

extern char **environ;

char *suite_task_escape(const char *word)
{
    size_t n = 0;
    char *out, *o;

    for (const char *p = word; *p; p++)
        n += (*p == '{' || *p == '}') ? 2 : 1;
    out = malloc(n + 1);
    if (!out)
        return NULL;
    o = out;
    for (const char *p = word; *p; p++) {
        *o++ = *p;
        if (*p == '{' || *p == '}')
            *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* Replace result's output by text (a failed step's account). */
static void fail_with(struct suite_exec_result *result,
                      const char *step,
                      const struct suite_exec_result *r)
{
    char *text = NULL;
    int len = asprintf(&text, "shoal %s: exit %d\n%s%s", step, r->exit_code,
                       r->out ? r->out : "", r->err ? r->err : "");

    suite_exec_release(result);
    result->status = SUITE_EXEC_FAILED;
    result->exit_code = r->exit_code ? r->exit_code : 1;
    result->wall = 0;
    if (len >= 0) {
        result->out = text;
        result->out_len = (size_t)len;
    }
    result->err = strdup("");
}

/* Run shoal with words (NULL-terminated) and envp; 0 with r filled, or
 * the code of a shoal that cannot be started. */
static int step(const char *shoal,
                const char *const *words,
                char *const *envp,
                double timeout,
                struct suite_exec_result *r,
                shoal_error_t *error)
{
    const char *argv[16];
    size_t n = 0;

    argv[n++] = shoal;
    for (; *words && n < 15; words++)
        argv[n++] = *words;
    argv[n] = NULL;
    return suite_exec_run((char *const *)argv, envp, timeout, r, error);
}

/* Read the task's status, times and node from `results --json`. */
static int
read_results(const char *text, struct suite_exec_result *result, char node[17])
{
    json_t *all = json_loads(text, 0, NULL);
    json_t *t = json_array_get(all, 0);
    const char *reason, *nd;
    json_t *status;
    double start, end;

    if (!json_is_object(t)) {
        json_decref(all);
        return -EINVAL;
    }
    status = json_object_get(t, "status");
    reason = json_string_value(json_object_get(t, "reason"));
    nd = json_string_value(json_object_get(t, "node"));
    start = json_number_value(json_object_get(t, "start"));
    end = json_number_value(json_object_get(t, "end"));
    snprintf(node, 17, "%s", nd ? nd : "");
    result->wall = end > start && start > 0 ? end - start : 0;
    result->exit_code = (int)json_integer_value(status);
    if (!json_is_integer(status)) {
        result->status = SUITE_EXEC_FAILED; /* cancelled: never ended */
        result->exit_code = -1;
    } else if (reason && !strcmp(reason, "time limit")) {
        /* as suite_exec_run() has it: -signal when the limit's signal
         * ended it */
        result->status = SUITE_EXEC_TIMEOUT;
        if (result->exit_code > 128)
            result->exit_code = -(result->exit_code - 128);
    } else if (reason && !strncmp(reason, "signal ", 7)) {
        result->status = SUITE_EXEC_CRASHED;
        result->exit_code = -atoi(reason + 7);
    } else {
        result->status = result->exit_code ? SUITE_EXEC_FAILED : SUITE_EXEC_OK;
    }
    json_decref(all);
    return 0;
}

int suite_task_run(const char *shoal,
                   const char *name,
                   char *const *argv,
                   char *const *envp,
                   double timeout,
                   const char *counters,
                   struct suite_exec_result *result,
                   int64_t *job,
                   char node[17],
                   shoal_error_t *error)
{
    struct suite_exec_result r;
    size_t nwords = 0, n = 0, fixed;
    char **words, limit[32], id[32];
    int rc;

    memset(result, 0, sizeof(*result));
    node[0] = '\0';
    *job = 0;
    while (argv[nwords])
        nwords++;
    words = calloc(nwords + 12, sizeof(char *));
    if (!words)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    snprintf(limit, sizeof(limit), "%g", timeout);
    words[n++] = (char *)shoal;
    words[n++] = "submit";
    words[n++] = "--name";
    words[n++] = (char *)name;
    words[n++] = "--retries";
    words[n++] = "0";
    if (timeout > 0) {
        words[n++] = "--time-limit";
        words[n++] = limit;
    }
    words[n++] = "--range";
    words[n++] = "1-1";
    words[n++] = "--";
    fixed = n;
    for (size_t i = 0; i < nwords; i++)
        if (!(words[n++] = suite_task_escape(argv[i]))) {
            rc = shoal_errprintf(error, -ENOMEM, "out of memory");
            goto out;
        }
    rc = suite_exec_run(words, envp, 60, &r, error);
    if (rc < 0)
        goto out;
    if (r.status != SUITE_EXEC_OK || sscanf(r.out, "%31[0-9]", id) != 1) {
        fail_with(result, "submit", &r);
        suite_exec_release(&r);
        goto out;
    }
    suite_exec_release(&r);
    *job = strtoll(id, NULL, 10);

    /* the job's end; its status is read from the results */
    rc = step(shoal, (const char *[]){"wait", id, NULL}, environ, 0, &r, error);
    if (rc < 0)
        goto out;
    if (r.status != SUITE_EXEC_OK && r.status != SUITE_EXEC_FAILED) {
        fail_with(result, "wait", &r);
        suite_exec_release(&r);
        goto out;
    }
    suite_exec_release(&r);
    rc = step(shoal, (const char *[]){"results", id, "--json", NULL}, environ,
              60, &r, error);
    if (rc < 0)
        goto out;
    if (r.status != SUITE_EXEC_OK || read_results(r.out, result, node) < 0) {
        fail_with(result, "results", &r);
        suite_exec_release(&r);
        goto out;
    }
    suite_exec_release(&r);
    /* its output, from the node that ran it (none when it never started:
     * then `output` says why, kept as the repetition's output) */
    rc = step(shoal,
              counters ? (const char *[]){"output", id, "0", "--counters",
                                          counters, NULL}
                       : (const char *[]){"output", id, "0", NULL},
              environ, 60, &r, error);
    if (rc < 0)
        goto out;
    result->out = r.out;
    result->out_len = r.out_len;
    result->err = r.err;
    result->err_len = r.err_len;
out:
    for (size_t i = fixed; i < n; i++)
        free(words[i]);
    free(words);
    return rc;
}
