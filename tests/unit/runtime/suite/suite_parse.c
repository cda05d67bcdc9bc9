/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_parse.c: the smallest suite, every
 * key, and malformed files, each refused with its file, line and key. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/suite/suite_matrix.h"
#include "runtime/suite/suite_parse.h"
#include "runtime/suite/suite_run.h"
#include "runtime/suite/suite_task.h"

TestSuite(suite_parse, .timeout = 10);

static struct suite *parse_ok(const char *text)
{
    shoal_error_t error = {{0}};
    struct suite *s = NULL;
    int rc = suite_parse_text("s.yaml", text, strlen(text), &s, &error);

    cr_assert(eq(int, rc, 0), "suite_parse_text: %s", error.text);
    return s;
}

static void parse_bad(const char *text, const char *message)
{
    shoal_error_t error = {{0}};
    struct suite *s = NULL;
    int rc = suite_parse_text("s.yaml", text, strlen(text), &s, &error);

    cr_assert(eq(int, rc, -EINVAL), "rc %d, error '%s'", rc, error.text);
    cr_assert(eq(ptr, s, NULL));
    cr_assert(eq(str, error.text, (char *)message));
}

Test(suite_parse, the_smallest_suite_has_its_matrix_and_defaults)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: nap\n"
                               "    command: [sleep, \"{t}\"]\n"
                               "    matrix: {t: [0.01, 0.02]}\n"
                               "    repeat: 3\n");
    const struct suite_bench *b = &s->benches[0];

    cr_assert(eq(sz, s->nbenches, 1));
    cr_assert(eq(str, b->name, "nap"));
    cr_assert(eq(int, b->line, 2));
    cr_assert(eq(str, b->command[0], "sleep"));
    cr_assert(eq(str, b->command[1], "{t}"));
    cr_assert(eq(ptr, b->command[2], NULL));
    cr_assert(eq(sz, b->nparams, 1));
    cr_assert(eq(str, b->params[0].name, "t"));
    cr_assert(eq(sz, b->params[0].nvalues, 2));
    cr_assert(eq(str, b->params[0].values[1], "0.02"));
    cr_assert(eq(u32, b->repeat, 3));
    cr_assert(eq(u32, b->warmup, 0));
    cr_assert(not(b->mpi));
    cr_assert(eq(int, b->parser, SUITE_PARSER_NONE));
    cr_assert(eq(sz, strlen(s->hash), 64));
    suite_free(s);
}

Test(suite_parse, every_key_of_a_benchmark_is_read)
{
    struct suite *s = parse_ok(
        "name: all\n"
        "description: every key\n"
        "benchmarks:\n"
        "  - name: pp\n"
        "    command: ./pingpong -n {n}\n"
        "    matrix:\n"
        "      n: [1, 2]\n"
        "      size: [8, 64]\n"
        "    exclude:\n"
        "      - {n: 2, size: 64}\n"
        "    env: {OMP_NUM_THREADS: \"{n}\"}\n"
        "    warmup: 2\n"
        "    repeat: 7\n"
        "    timeout: 1.5\n"
        "    mpi: {ranks: 4, map-by: core, bind-to: core, oversubscribe: yes,\n"
        "          exclusive: true}\n"
        "    parse: {regex: 'lat=(?<lat>[0-9.]+)'}\n"
        "    figures: {lat: {unit: us, better: lower}, bw: {better: higher}}\n"
        "    papi: [PAPI_TOT_INS, PAPI_TOT_CYC]\n");
    const struct suite_bench *b = &s->benches[0];

    cr_assert(eq(str, s->name, "all"));
    cr_assert(eq(str, b->command[0], "/bin/sh"));
    cr_assert(eq(str, b->command[2], "./pingpong -n {n}"));
    cr_assert(eq(sz, b->nexcludes, 1));
    cr_assert(eq(sz, b->excludes[0].n, 2));
    cr_assert(eq(sz, b->excludes[0].param[1], 1));
    cr_assert(eq(sz, b->excludes[0].value[1], 1));
    cr_assert(eq(str, b->env[0], "OMP_NUM_THREADS={n}"));
    cr_assert(eq(u32, b->warmup, 2));
    cr_assert(eq(u32, b->repeat, 7));
    cr_assert(eq(dbl, b->timeout, 1.5));
    cr_assert(b->mpi);
    cr_assert(eq(u32, b->ranks, 4));
    cr_assert(eq(str, b->map_by, "core"));
    cr_assert(eq(str, b->bind_to, "core"));
    cr_assert(b->oversubscribe);
    cr_assert(b->exclusive);
    cr_assert(eq(int, b->parser, SUITE_PARSER_REGEX));
    cr_assert(eq(str, b->regex, "lat=(?<lat>[0-9.]+)"));
    cr_assert(eq(sz, b->nfigures, 2));
    cr_assert(eq(str, suite_bench_figure(b, "lat")->unit, "us"));
    cr_assert(suite_bench_figure(b, "bw")->higher_better);
    cr_assert(eq(str, b->papi[1], "PAPI_TOT_CYC"));
    suite_free(s);
}

Test(suite_parse, named_parsers_are_known)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - {name: a, command: [x], parse: osu}\n"
                               "  - {name: b, command: [x], parse: imb}\n"
                               "  - {name: c, command: [x], parse: npb}\n"
                               "  - {name: d, command: [x], parse: json}\n");

    cr_assert(eq(int, s->benches[0].parser, SUITE_PARSER_OSU));
    cr_assert(eq(int, s->benches[1].parser, SUITE_PARSER_IMB));
    cr_assert(eq(int, s->benches[2].parser, SUITE_PARSER_NPB));
    cr_assert(eq(int, s->benches[3].parser, SUITE_PARSER_JSON));
    suite_free(s);
}

Test(suite_parse, a_shell_variable_is_not_a_parameter)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: a\n"
                               "    command: [sh, -c, 'echo ${HOME} {}']\n");

    suite_free(s);
}

Test(suite_parse, a_syntax_error_names_its_line)
{
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1\n",
              "s.yaml:4: did not find expected ',' or ']' while parsing a "
              "flow sequence");
}

Test(suite_parse, unknown_keys_are_refused)
{
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    repat: 3\n",
              "s.yaml:4: unknown key 'repat' in benchmark 'nap'");
    parse_bad("benchmark:\n"
              "  - name: nap\n",
              "s.yaml:1: unknown key 'benchmark' (benchmarks, vars, name, "
              "description)");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    mpi: {ranks: 2, hosts: 2}\n",
              "s.yaml:4: unknown key 'mpi: hosts' (ranks, nodes, map-by, "
              "bind-to, oversubscribe, exclusive) in benchmark 'nap'");
}

Test(suite_parse, missing_and_repeated_keys_are_refused)
{
    parse_bad("name: x\n", "s.yaml:1: key 'benchmarks' is missing");
    parse_bad("benchmarks:\n"
              "  - command: [sleep, 1]\n",
              "s.yaml:2: a benchmark needs key 'name'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n",
              "s.yaml:2: key 'command' is missing in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    repeat: 2\n"
              "    repeat: 3\n",
              "s.yaml:5: key 'repeat' given twice in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - {name: a, command: [x]}\n"
              "  - {name: a, command: [y]}\n",
              "s.yaml:3: key 'name': the name is used twice in benchmark "
              "'a'");
    parse_bad("", "s.yaml:1: the file is empty");
}

Test(suite_parse, bad_values_are_refused)
{
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    repeat: 0\n",
              "s.yaml:4: key 'repeat': '0' is not a whole number >= 1 in "
              "benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    timeout: soon\n",
              "s.yaml:4: key 'timeout': 'soon' is not a positive number of "
              "seconds in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    parse: xml\n",
              "s.yaml:4: key 'parse': 'xml' is not json, osu, imb, npb or "
              "{regex: PATTERN} in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    parse: {regex: 't=(?<t>[0-9'}\n",
              "s.yaml:4: key 'parse: regex': missing terminating ] for "
              "character class at offset 11 in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    figures: {t: {better: faster}}\n",
              "s.yaml:4: key 'figures: better': 'faster' is not lower or "
              "higher in benchmark 'nap'");
}

Test(suite_parse, a_bad_matrix_is_refused)
{
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{t}\"]\n"
              "    matrix: {t: []}\n",
              "s.yaml:4: key 'matrix': the list is empty in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{t}\"]\n"
              "    matrix: {t: 1}\n",
              "s.yaml:4: key 'matrix': parameter 't' needs a list of values "
              "in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{t}\"]\n"
              "    matrix: {t: [1, 1]}\n",
              "s.yaml:4: key 'matrix': parameter 't' lists '1' twice in "
              "benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{x}\"]\n"
              "    matrix: {t: [1]}\n",
              "s.yaml:3: '{x}' names no parameter of the matrix nor "
              "variable in "
              "benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{t}\"]\n"
              "    matrix: {t: [1, 2]}\n"
              "    exclude: [{u: 1}]\n",
              "s.yaml:5: key 'exclude': 'u' is not a parameter of the matrix "
              "in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, \"{t}\"]\n"
              "    matrix: {t: [1, 2]}\n"
              "    exclude: [{t: 1}, {t: 2}]\n",
              "s.yaml:2: key 'exclude': every combination of the matrix is "
              "excluded in benchmark 'nap'");
}

Test(suite_parse, a_file_that_cannot_be_read_is_named)
{
    shoal_error_t error = {{0}};
    struct suite *s = NULL;
    int rc = suite_parse_file("/nonexistent/s.yaml", &s, &error);

    cr_assert(eq(int, rc, -ENOENT));
    cr_assert(eq(str, error.text,
                 "cannot read '/nonexistent/s.yaml': No such file or "
                 "directory"));
}

Test(suite_parse, a_target_precision_is_read)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: nap\n"
                               "    command: [sleep, 1]\n"
                               "    precision: {ci: 5%, max: 40}\n"
                               "  - name: t\n"
                               "    command: [sleep, 1]\n"
                               "    repeat: 8\n"
                               "    precision: {ci: 0.5%, figure: t}\n"
                               "  - name: fixed\n"
                               "    command: [sleep, 1]\n");

    cr_assert(eq(dbl, s->benches[0].precision, 0.05));
    cr_assert(eq(u32, s->benches[0].precision_max, 40));
    cr_assert(eq(str, s->benches[0].precision_figure, "wall"));
    cr_assert(not(s->benches[0].repeat_given));
    cr_assert(eq(dbl, s->benches[1].precision, 0.005));
    cr_assert(eq(u32, s->benches[1].precision_max, 50));
    cr_assert(eq(str, s->benches[1].precision_figure, "t"));
    cr_assert(s->benches[1].repeat_given);
    cr_assert(eq(u32, s->benches[1].repeat, 8));
    cr_assert(eq(dbl, s->benches[2].precision, 0));
    cr_assert(eq(ptr, s->benches[2].precision_figure, NULL));
    suite_free(s);
}

Test(suite_parse, a_bad_precision_is_refused)
{
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    precision: {ci: 5}\n",
              "s.yaml:4: key 'precision: ci': '5' is not a percentage "
              "between 0 and 100 (as 5%) in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    precision: {max: 10}\n",
              "s.yaml:4: key 'precision' needs 'ci' (as 5%) in benchmark "
              "'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    precision: {ci: 5%, max: 5}\n",
              "s.yaml:4: key 'precision: max': '5' is not a whole number >= "
              "6 in benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    precision: {ci: 5%, until: 9}\n",
              "s.yaml:4: unknown key 'precision: until' (ci, max, figure) in "
              "benchmark 'nap'");
    parse_bad("benchmarks:\n"
              "  - name: nap\n"
              "    command: [sleep, 1]\n"
              "    repeat: 20\n"
              "    precision: {ci: 5%, max: 10}\n",
              "s.yaml:5: key 'precision: max': 10 is below 'repeat' (20), the "
              "least number of repetitions in benchmark 'nap'");
}

Test(suite_parse, noise_control_is_read)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: a\n"
                               "    command: [x]\n"
                               "    noise: {max-load: 0.25, wait: 30}\n"
                               "  - name: b\n"
                               "    command: [x]\n"
                               "    noise: {}\n"
                               "  - name: c\n"
                               "    command: [x]\n");

    cr_assert(s->benches[0].noise);
    cr_assert(eq(dbl, s->benches[0].noise_max_load, 0.25));
    cr_assert(eq(dbl, s->benches[0].noise_wait, 30));
    cr_assert(s->benches[1].noise);
    cr_assert(eq(dbl, s->benches[1].noise_max_load, 0.5));
    cr_assert(eq(dbl, s->benches[1].noise_wait, 0));
    cr_assert(not(s->benches[2].noise));
    suite_free(s);
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    noise: {max-load: high}\n",
              "s.yaml:4: key 'noise: max-load': 'high' is not a number >= 0 "
              "in benchmark 'a'");
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    noise: {max-load: 1, sleep: 3}\n",
              "s.yaml:4: unknown key 'noise: sleep' (max-load, wait) in "
              "benchmark 'a'");
}

Test(suite_parse, variables_optional_and_ranks_from_the_matrix)
{
    shoal_error_t error = {{0}};
    struct suite *s = parse_ok("vars: {osu: /opt/osu, size: 8}\n"
                               "benchmarks:\n"
                               "  - name: lat\n"
                               "    command: ['{osu}/osu_latency', -m, "
                               "'{size}']\n"
                               "    optional: true\n"
                               "  - name: coll\n"
                               "    command: ['{shoal}', x]\n"
                               "    matrix: {n: [2, 4]}\n"
                               "    mpi: {ranks: '{n}'}\n");

    cr_assert(eq(sz, s->nvars, 3));
    cr_assert(eq(str, s->vars[0].name, "shoal"));
    cr_assert(eq(str, s->vars[1].value, "/opt/osu"));
    cr_assert(s->benches[0].optional);
    cr_assert(not(s->benches[1].optional));
    cr_assert(eq(ptr, (void *)s->benches[0].vars, s->vars));
    cr_assert(eq(str, s->benches[1].ranks_tmpl, "{n}"));
    cr_assert(eq(int, suite_set_var(s, "osu", "/usr/lib/osu", &error), 0));
    cr_assert(eq(str, s->benches[0].vars[1].value, "/usr/lib/osu"));
    cr_assert(eq(int, suite_set_var(s, "nope", "1", &error), -ENOENT));
    cr_assert(eq(str, error.text, "no variable 'nope' in 's.yaml'"));
    suite_free(s);
    parse_bad("vars: {shoal: /bin/x}\n"
              "benchmarks:\n"
              "  - {name: a, command: [x]}\n",
              "s.yaml:1: key 'vars': 'shoal' is the shoal program, not a "
              "variable of the file");
    parse_bad("vars: {a b: 1}\n"
              "benchmarks:\n"
              "  - {name: a, command: [x]}\n",
              "s.yaml:1: key 'vars': 'a b' is not a variable name");
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    mpi: {ranks: '{m}'}\n",
              "s.yaml:2: '{m}' names no parameter of the matrix nor "
              "variable in benchmark 'a'");
}

/* The words of argv joined by spaces, into buf. */
static const char *joined(char **argv, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (char **a = argv; *a && used < size; a++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                 a == argv ? "" : " ", *a);
    return buf;
}

Test(suite_parse, nodes_place_ranks_per_node_and_local_is_read)
{
    struct suite *s = parse_ok("benchmarks:\n"
                               "  - name: two\n"
                               "    command: [x]\n"
                               "    mpi: {ranks: 8, nodes: 2}\n"
                               "    local: true\n"
                               "  - name: scale\n"
                               "    command: [x]\n"
                               "    matrix: {k: [1, 3]}\n"
                               "    mpi: {ranks: 5, nodes: '{k}'}\n"
                               "  - name: plain\n"
                               "    command: [x, '{a b}']\n");
    struct suite_case *cases = NULL;
    size_t ncases = 0;
    char buf[512], **argv;

    cr_assert(eq(u32, s->benches[0].nodes, 2));
    cr_assert(s->benches[0].local);
    cr_assert(not(s->benches[1].local));
    cr_assert(eq(str, s->benches[1].nodes_tmpl, "{k}"));
    argv = suite_run_argv(&s->benches[0], &(struct suite_case){{0}},
                          "/bin/shoal", NULL, NULL);
    cr_assert(eq(str, (char *)joined(argv, buf, sizeof(buf)),
                 "/bin/shoal run -n 8 --npernode 4 -- x"));
    suite_run_argv_free(argv);
    /* the ranks' counters come back to the runner's directory */
    argv = suite_run_argv(&s->benches[0], &(struct suite_case){{0}},
                          "/bin/shoal", "/l/p.so", "/tmp/p");
    cr_assert(eq(str, (char *)joined(argv, buf, sizeof(buf)),
                 "/bin/shoal run -n 8 --npernode 4 -x LD_PRELOAD=/l/p.so "
                 "--counters-dir /tmp/p -- x"));
    suite_run_argv_free(argv);
    /* rounded up: 5 ranks on 3 nodes is 2 per node */
    cr_assert(eq(int, suite_matrix_expand(&s->benches[1], &cases, &ncases), 0));
    cr_assert(eq(sz, ncases, 2));
    argv = suite_run_argv(&s->benches[1], &cases[1], "/bin/shoal", NULL, NULL);
    cr_assert(eq(str, (char *)joined(argv, buf, sizeof(buf)),
                 "/bin/shoal run -n 5 --npernode 2 -- x"));
    suite_run_argv_free(argv);
    free(cases);
    /* a plain command keeps its braces as a pool task */
    argv = suite_run_argv(&s->benches[2], &(struct suite_case){{0}},
                          "/bin/shoal", NULL, NULL);
    char *escaped = suite_task_escape(argv[1]);
    cr_assert(eq(str, escaped, "{{a b}}"));
    free(escaped);
    suite_run_argv_free(argv);
    suite_free(s);
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    mpi: {ranks: 6, nodes: 4}\n",
              "s.yaml:4: key 'mpi: nodes': 6 ranks do not fill 4 nodes "
              "alike in benchmark 'a'");
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    mpi: {ranks: 4, nodes: 2, map-by: core}\n",
              "s.yaml:4: key 'mpi: nodes': give nodes or map-by, not both "
              "in benchmark 'a'");
    parse_bad("benchmarks:\n"
              "  - name: a\n"
              "    command: [x]\n"
              "    local: maybe\n",
              "s.yaml:4: key 'local': 'maybe' is not true or false in "
              "benchmark 'a'");
}
