/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_matrix.c: the cartesian product in its
 * fixed order, excludes, substitution. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/suite/suite_matrix.h"

TestSuite(suite_matrix, .timeout = 10);

static struct suite *parse_ok(const char *text)
{
    shoal_error_t error = {{0}};
    struct suite *s = NULL;
    int rc = suite_parse_text("m.yaml", text, strlen(text), &s, &error);

    cr_assert(eq(int, rc, 0), "suite_parse_text: %s", error.text);
    return s;
}

Test(suite_matrix, the_product_runs_the_last_parameter_fastest)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: m\n"
                               "    command: [x, '{a}-{b}']\n"
                               "    matrix: {a: [1, 2, 3], b: [x, y]}\n");
    const struct suite_bench *b = &s->benches[0];
    static const char *const want[] = {"1-x", "1-y", "2-x",
                                       "2-y", "3-x", "3-y"};
    struct suite_case *cases;
    size_t n;

    cr_assert(eq(int, suite_matrix_expand(b, &cases, &n), 0));
    cr_assert(eq(sz, n, 6));
    for (size_t i = 0; i < n; i++) {
        char *word = suite_matrix_subst(b, &cases[i], b->command[1]);

        cr_assert(eq(str, word, (char *)want[i]), "case %zu", i);
        free(word);
    }
    free(cases);
    suite_free(s);
}

Test(suite_matrix, excludes_remove_every_matching_combination)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: m\n"
                               "    command: [x, '{a}{b}{c}']\n"
                               "    matrix: {a: [1, 2], b: [x, y], c: [p, q]}\n"
                               "    exclude:\n"
                               "      - {a: 2, b: y}\n"
                               "      - {c: q}\n");
    const struct suite_bench *b = &s->benches[0];
    static const char *const want[] = {"1xp", "1yp", "2xp"};
    struct suite_case *cases;
    size_t n;

    cr_assert(eq(int, suite_matrix_expand(b, &cases, &n), 0));
    cr_assert(eq(sz, n, 3));
    for (size_t i = 0; i < n; i++) {
        char *word = suite_matrix_subst(b, &cases[i], b->command[1]);

        cr_assert(eq(str, word, (char *)want[i]), "case %zu", i);
        free(word);
    }
    free(cases);
    suite_free(s);
}

Test(suite_matrix, no_matrix_is_one_case_and_other_braces_stay)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: m\n"
                               "    command: [x, '{} ${HOME} {not-a-param']\n");
    const struct suite_bench *b = &s->benches[0];
    struct suite_case *cases;
    size_t n;
    char *word, *json;

    cr_assert(eq(int, suite_matrix_expand(b, &cases, &n), 0));
    cr_assert(eq(sz, n, 1));
    word = suite_matrix_subst(b, &cases[0], b->command[1]);
    cr_assert(eq(str, word, "{} ${HOME} {not-a-param"));
    json = suite_matrix_params_json(b, &cases[0]);
    cr_assert(eq(str, json, "{}"));
    free(json);
    free(word);
    free(cases);
    suite_free(s);
}

Test(suite_matrix, parameters_as_json_keep_the_file_order)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: m\n"
                               "    command: [x, '{z}{a}']\n"
                               "    matrix: {z: [1], a: [\"0.50\"]}\n");
    struct suite_case *cases;
    size_t n;
    char *json;

    cr_assert(eq(int, suite_matrix_expand(&s->benches[0], &cases, &n), 0));
    json = suite_matrix_params_json(&s->benches[0], &cases[0]);
    cr_assert(eq(str, json, "{\"z\":\"1\",\"a\":\"0.50\"}"));
    free(json);
    free(cases);
    suite_free(s);
}

Test(suite_matrix, variables_are_substituted_after_parameters)
{
    struct suite_var vars[] = {{"shoal", "/bin/shoal"}, {"dir", "/opt"}};
    char *values[] = {"8", NULL};
    struct suite_param param = {"n", values, 1};
    struct suite_bench b = {
        .params = &param, .nparams = 1, .vars = vars, .nvars = 2};
    struct suite_case c = {.value = {0}};
    char *out = suite_matrix_subst(&b, &c, "{shoal} run {dir}/x -n {n} {y}");

    cr_assert(eq(str, out, "/bin/shoal run /opt/x -n 8 {y}"));
    free(out);
}
