/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/tasks/taskgen.h"

TestSuite(taskgen, .timeout = 10);

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/shoal-lines-XXXXXX");
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    cr_assert(eq(sz, (size_t)write(fd, text, strlen(text)), strlen(text)));
    close(fd);
    return path;
}

static char *param_text(const struct taskgen *g, uint64_t i)
{
    json_t *p = taskgen_params(g, i);
    char *s = json_dumps(p, JSON_SORT_KEYS | JSON_COMPACT);

    json_decref(p);
    return s;
}

Test(taskgen, range_is_inclusive_and_gives_each_integer)
{
    struct taskgen *g;
    shoal_error_t err = {{0}};
    char *s;

    cr_assert(eq(int, taskgen_create(&g), 0));
    cr_assert(eq(int, taskgen_set_range(g, "5-9", &err), 0), "%s", err.text);
    cr_assert(eq(int, taskgen_finish(g, 0, &err), 0), "%s", err.text);
    cr_assert(eq(u64, taskgen_count(g), 5));
    s = param_text(g, 4);
    cr_assert(eq(str, s, "{\"\":\"9\"}"));
    free(s);
    taskgen_destroy(g);
}

Test(taskgen, lines_skip_empty_ones_and_strip_line_endings)
{
    char *path = write_file("a b\r\n\nc\n\n");
    struct taskgen *g;
    shoal_error_t err = {{0}};
    char *s;

    cr_assert(eq(int, taskgen_create(&g), 0));
    cr_assert(eq(int, taskgen_set_lines(g, path, &err), 0), "%s", err.text);
    cr_assert(eq(int, taskgen_finish(g, 0, &err), 0));
    cr_assert(eq(u64, taskgen_count(g), 2));
    s = param_text(g, 0);
    cr_assert(eq(str, s, "{\"\":\"a b\"}"));
    free(s);
    s = param_text(g, 1);
    cr_assert(eq(str, s, "{\"\":\"c\"}"));
    free(s);
    taskgen_destroy(g);
    unlink(path);
    free(path);
}

Test(taskgen, params_are_a_cartesian_product_first_slowest)
{
    struct taskgen *g;
    shoal_error_t err = {{0}};
    char *s;

    cr_assert(eq(int, taskgen_create(&g), 0));
    cr_assert(eq(int, taskgen_add_param(g, "n=1,2,3", &err), 0), "%s",
              err.text);
    cr_assert(eq(int, taskgen_add_param(g, "mode=a,b", &err), 0));
    cr_assert(eq(int, taskgen_finish(g, 0, &err), 0));
    cr_assert(eq(u64, taskgen_count(g), 6));
    s = param_text(g, 0);
    cr_assert(eq(str, s, "{\"mode\":\"a\",\"n\":\"1\"}"));
    free(s);
    s = param_text(g, 1);
    cr_assert(eq(str, s, "{\"mode\":\"b\",\"n\":\"1\"}"));
    free(s);
    s = param_text(g, 5);
    cr_assert(eq(str, s, "{\"mode\":\"b\",\"n\":\"3\"}"));
    free(s);
    taskgen_destroy(g);
}

Test(taskgen, spec_round_trip_gives_the_same_tasks)
{
    struct taskgen *g, *h;
    shoal_error_t err = {{0}};
    json_t *spec;

    cr_assert(eq(int, taskgen_create(&g), 0));
    cr_assert(eq(int, taskgen_add_param(g, "x=1,,3", &err), 0));
    cr_assert(eq(int, taskgen_add_param(g, "y=p,q", &err), 0));
    cr_assert(eq(int, taskgen_finish(g, 0, &err), 0));
    spec = taskgen_spec(g);
    cr_assert(eq(int, taskgen_from_spec(spec, 0, &h, &err), 0), "%s", err.text);
    cr_assert(eq(u64, taskgen_count(h), taskgen_count(g)));
    for (uint64_t i = 0; i < taskgen_count(g); i++) {
        char *a = param_text(g, i), *b = param_text(h, i);

        cr_assert(eq(str, a, b), "task %lu", (unsigned long)i);
        free(a);
        free(b);
    }
    json_decref(spec);
    taskgen_destroy(g);
    taskgen_destroy(h);
}

Test(taskgen, expand_substitutes_placeholders_and_escapes)
{
    char *tmpl[] = {"echo", "{}", "x{#}y", "{{}}", "{ print $1 }", NULL};
    json_t *params = json_pack("{s:s}", "", "v 1");
    shoal_error_t err = {{0}};
    char **argv;

    cr_assert(eq(int, taskgen_expand(tmpl, params, 7, &argv, &err), 0), "%s",
              err.text);
    cr_assert(eq(str, argv[0], "echo"));
    cr_assert(eq(str, argv[1], "v 1"));
    cr_assert(eq(str, argv[2], "x7y"));
    cr_assert(eq(str, argv[3], "{}"));
    cr_assert(eq(str, argv[4], "{ print $1 }"));
    cr_assert(argv[5] == NULL);
    taskgen_argv_free(argv);
    json_decref(params);
}

Test(taskgen, named_placeholders_take_their_parameter)
{
    char *tmpl[] = {"run", "--n={n}", "{mode}{n}", NULL};
    json_t *params = json_pack("{s:s,s:s}", "n", "4", "mode", "fast");
    shoal_error_t err = {{0}};
    char **argv;

    cr_assert(eq(int, taskgen_expand(tmpl, params, 0, &argv, &err), 0));
    cr_assert(eq(str, argv[1], "--n=4"));
    cr_assert(eq(str, argv[2], "fast4"));
    taskgen_argv_free(argv);
    json_decref(params);
}

/* Arrays, not pointers: each test runs in a fresh process. */
struct taskgen_bad {
    char range[16];
    char params[2][8];
    char command[8];
    char message[40];
};

ParameterizedTestParameters(taskgen, bad_inputs_are_refused_with_a_reason)
{
    static struct taskgen_bad cases[] = {
        {"5-4", {""}, "echo", "empty range '5-4'"},
        {"-", {""}, "echo", "invalid range '-'"},
        {"1-", {""}, "echo", "invalid range '1-'"},
        {"-3-5", {""}, "echo", "invalid range '-3-5'"},
        {"a-b", {""}, "echo", "invalid range 'a-b'"},
        {"1-2x", {""}, "echo", "invalid range '1-2x'"},
        {"0-99999999999", {""}, "echo", "too many tasks"},
        {"1-3", {""}, "{x}", "unknown placeholder '{x}'"},
        {"", {"=1"}, "echo", "invalid parameter '=1'"},
        {"", {"1a=1"}, "echo", "invalid parameter '1a=1'"},
        {"", {"k"}, "echo", "invalid parameter 'k'"},
        {"", {"k="}, "echo", "parameter 'k' has no values"},
        {"", {"k=1", "k=2"}, "echo", "parameter 'k' given twice"},
        {"", {"a=1", "b=2"}, "{}", "'{}' in argument 0 is ambiguous"},
        {"", {"a=1"}, "{b}", "unknown placeholder '{b}'"},
        {"", {""}, "echo", "no tasks"},
    };

    return cr_make_param_array(struct taskgen_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct taskgen_bad *c,
                  taskgen,
                  bad_inputs_are_refused_with_a_reason)
{
    struct taskgen *g;
    shoal_error_t err = {{0}};
    char *argv[] = {(char *)c->command, NULL};
    int rc = 0;

    cr_assert(eq(int, taskgen_create(&g), 0));
    if (c->range[0])
        rc = taskgen_set_range(g, c->range, &err);
    for (int i = 0; rc == 0 && i < 2 && c->params[i][0]; i++)
        rc = taskgen_add_param(g, c->params[i], &err);
    if (rc == 0)
        rc = taskgen_finish(g, 0, &err);
    if (rc == 0)
        rc = taskgen_check_command(g, 1, argv, &err);
    cr_assert(eq(int, rc, SHOAL_EUSAGE), "accepted: range %s, command %s",
              c->range, c->command);
    cr_assert(strstr(err.text, c->message) != NULL, "'%s' does not hold '%s'",
              err.text, c->message);
    taskgen_destroy(g);
}

Test(taskgen, unreadable_and_empty_files_are_refused)
{
    char *path = write_file("\n\n");
    struct taskgen *g;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, taskgen_create(&g), 0));
    cr_assert(
        eq(int, taskgen_set_lines(g, "/nonexistent/x", &err), SHOAL_EUSAGE));
    cr_assert(eq(str, err.text,
                 "cannot read '/nonexistent/x': No such file or directory"));
    cr_assert(eq(int, taskgen_set_lines(g, path, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, "has no lines") != NULL, "%s", err.text);
    cr_assert(eq(int, taskgen_set_range(g, "1-2", &err), 0),
              "a failed source leaves the generator empty");
    cr_assert(eq(int, taskgen_set_lines(g, path, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, "cannot be combined") != NULL, "%s", err.text);
    taskgen_destroy(g);
    unlink(path);
    free(path);
}

Test(taskgen, limit_counts_the_product_without_overflow)
{
    struct taskgen *g;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, taskgen_create(&g), 0));
    for (int i = 0; i < 40; i++) {
        char spec[32];

        snprintf(spec, sizeof(spec), "p%d=0,1,2,3,4,5,6,7,8,9", i);
        cr_assert(eq(int, taskgen_add_param(g, spec, &err), 0));
    }
    cr_assert(eq(int, taskgen_finish(g, 1000, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, "at most 1000") != NULL, "%s", err.text);
    taskgen_destroy(g);
}

Test(taskgen, range_steps_and_lists_give_values_in_order)
{
    static const struct {
        const char *spec;
        uint64_t count;
        const char *values;
    } cases[] = {
        {"1-10:3", 4, "1 4 7 10"},
        {"1-100:2", 50, "1 3 5"},
        {"0-0:5", 1, "0"},
        {"1,4,9-12", 6, "1 4 9 10 11 12"},
        {"7,2-6:2,7", 5, "7 2 4 6 7"},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct taskgen *g, *back;
        shoal_error_t err = {{0}};
        char want[64], *tok, *save = NULL;
        json_t *spec;

        cr_assert(eq(int, taskgen_create(&g), 0));
        cr_assert(eq(int, taskgen_set_range(g, cases[c].spec, &err), 0),
                  "%s: %s", cases[c].spec, err.text);
        cr_assert(eq(int, taskgen_finish(g, 0, &err), 0), "%s", err.text);
        cr_assert(eq(u64, taskgen_count(g), cases[c].count), "%s",
                  cases[c].spec);
        spec = taskgen_spec(g);
        cr_assert(eq(int, taskgen_from_spec(spec, 0, &back, &err), 0), "%s",
                  err.text);
        snprintf(want, sizeof(want), "%s", cases[c].values);
        tok = strtok_r(want, " ", &save);
        for (uint64_t i = 0; tok; i++, tok = strtok_r(NULL, " ", &save)) {
            char expect[48], *s = param_text(g, i), *s2 = param_text(back, i);

            snprintf(expect, sizeof(expect), "{\"\":\"%s\"}", tok);
            cr_assert(eq(str, s, expect), "%s: task %" PRIu64, cases[c].spec,
                      i);
            cr_assert(eq(str, s2, expect), "%s: task %" PRIu64 " via spec",
                      cases[c].spec, i);
            free(s);
            free(s2);
        }
        json_decref(spec);
        taskgen_destroy(back);
        taskgen_destroy(g);
    }
}

Test(taskgen, bad_range_steps_and_lists_are_refused)
{
    static const struct {
        const char *spec, *message;
    } cases[] = {
        {"1-10:0", "invalid range '1-10:0': the step must be at least 1"},
        {"1-10:", "invalid range '1-10:'"},
        {"1-10:x", "invalid range '1-10:x'"},
        {"1:2", "invalid range '1:2'"},
        {"1,,3", "invalid range '1,,3'"},
        {"1,", "invalid range '1,'"},
        {",1", "invalid range ',1'"},
        {"1,9-4", "empty range '9-4': 9 is after 4"},
        {"1-4:2:2", "invalid range '1-4:2:2'"},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct taskgen *g;
        shoal_error_t err = {{0}};

        cr_assert(eq(int, taskgen_create(&g), 0));
        cr_assert(
            eq(int, taskgen_set_range(g, cases[c].spec, &err), SHOAL_EUSAGE),
            "accepted '%s'", cases[c].spec);
        cr_assert(strstr(err.text, cases[c].message) != NULL,
                  "'%s' does not hold '%s'", err.text, cases[c].message);
        taskgen_destroy(g);
    }
}
