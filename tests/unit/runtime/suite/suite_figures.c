/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_figures.c and suite_parse_osu.c: the
 * regex and JSON-lines parsers, and the OSU, IMB and NPB tables of
 * tests/fixtures/bench/ (see the README there for how they were made). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/suite/suite_figures.h"

TestSuite(suite_figures, .timeout = 10);

static char *fixture(const char *name, size_t *len)
{
    char path[4096];
    const char *src = getenv("SHOAL_SRCDIR");
    FILE *f;
    char *text = calloc(1, 1 << 16);

    snprintf(path, sizeof(path), "%s/tests/fixtures/bench/%s", src ? src : ".",
             name);
    f = fopen(path, "r");
    cr_assert(not(eq(ptr, f, NULL)), "cannot open %s", path);
    *len = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    return text;
}

static const struct suite_figure *
find(const struct suite_figure_list *l, const char *name, const char *point)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name) && !strcmp(l->v[i].point, point))
            return &l->v[i];
    cr_fatal("no figure %s at '%s' among %zu", name, point, l->n);
    return NULL;
}

static struct suite *suite_of(const char *text)
{
    shoal_error_t error = {{0}};
    struct suite *s = NULL;

    cr_assert(
        eq(int, suite_parse_text("f.yaml", text, strlen(text), &s, &error), 0),
        "%s", error.text);
    return s;
}

Test(suite_figures, regex_named_groups_give_one_figure_per_match)
{
    struct suite *s = suite_of(
        "benchmarks:\n"
        "  - name: r\n"
        "    command: [x]\n"
        "    parse: {regex: 'time=(?<time>[0-9.e-]+) +rate=(?<rate>\\S+)'}\n"
        "    figures: {rate: {unit: op/s, better: higher}}\n");
    const char out[] = "warming up\ntime=0.5 rate=10\ntime=1e-3 rate=abc\n";
    struct suite_figure_list l = {0};
    shoal_error_t error;

    cr_assert(eq(
        int, suite_figures_parse(&s->benches[0], out, strlen(out), &l, &error),
        0));
    /* groups in name order per match; "abc" is not a number, so the
     * second match gives the time only */
    cr_assert(eq(sz, l.n, 3));
    cr_assert(eq(str, l.v[0].name, "rate"));
    cr_assert(eq(dbl, l.v[0].value, 10));
    cr_assert(eq(str, l.v[0].unit, "op/s"));
    cr_assert(l.v[0].higher_better);
    cr_assert(eq(str, l.v[1].name, "time"));
    cr_assert(eq(dbl, l.v[1].value, 0.5));
    cr_assert(not(l.v[1].higher_better));
    cr_assert(eq(str, l.v[2].name, "time"));
    cr_assert(eq(dbl, l.v[2].value, 1e-3));
    suite_figures_release(&l);
    suite_free(s);
}

Test(suite_figures, json_lines_give_their_numeric_members)
{
    struct suite *s = suite_of("benchmarks:\n"
                               "  - {name: j, command: [x], parse: json}\n");
    const char out[] = "not json\n"
                       "{\"t\": 1.5, \"name\": \"x\", \"n\": 3}\n"
                       "  {\"t\": 2.5, \"nested\": {\"u\": 1}}\n"
                       "{broken\n";
    struct suite_figure_list l = {0};

    cr_assert(
        eq(int, suite_figures_parse(&s->benches[0], out, strlen(out), &l, NULL),
           0));
    cr_assert(eq(sz, l.n, 3));
    cr_assert(eq(str, l.v[0].name, "t"));
    cr_assert(eq(dbl, l.v[0].value, 1.5));
    cr_assert(eq(str, l.v[1].name, "n"));
    cr_assert(eq(dbl, l.v[2].value, 2.5));
    suite_figures_release(&l);
    suite_free(s);
}

Test(suite_figures, osu_latency_rows_by_size)
{
    size_t len;
    char *text = fixture("osu_latency.txt", &len);
    struct suite_figure_list l = {0};
    const struct suite_figure *f;

    cr_assert(eq(int, suite_figures_osu(text, len, &l), 0));
    cr_assert(eq(sz, l.n, 7));
    f = find(&l, "latency", "size=4194304");
    cr_assert(eq(dbl, f->value, 612.04));
    cr_assert(eq(str, f->unit, "us"));
    cr_assert(not(f->higher_better));
    cr_assert(eq(dbl, find(&l, "latency", "size=0")->value, 0.21));
    suite_figures_release(&l);
    free(text);
}

Test(suite_figures, osu_bandwidth_is_better_higher)
{
    size_t len;
    char *text = fixture("osu_bw.txt", &len);
    struct suite_figure_list l = {0};
    const struct suite_figure *f;

    cr_assert(eq(int, suite_figures_osu(text, len, &l), 0));
    cr_assert(eq(sz, l.n, 5));
    f = find(&l, "bandwidth", "size=1048576");
    cr_assert(eq(dbl, f->value, 10553.14));
    cr_assert(eq(str, f->unit, "MB/s"));
    cr_assert(f->higher_better);
    suite_figures_release(&l);
    free(text);
}

Test(suite_figures, osu_collective_with_a_datatype_line)
{
    size_t len;
    char *text = fixture("osu_allreduce.txt", &len);
    struct suite_figure_list l = {0};
    const struct suite_figure *f;

    cr_assert(eq(int, suite_figures_osu(text, len, &l), 0));
    cr_assert(eq(sz, l.n, 4));
    f = find(&l, "avg_latency", "size=1048576");
    cr_assert(eq(dbl, f->value, 693.61));
    cr_assert(eq(str, f->unit, "us"));
    suite_figures_release(&l);
    free(text);
}

Test(suite_figures, imb_tables_per_benchmark_and_process_count)
{
    size_t len;
    char *text = fixture("imb_mpi1.txt", &len);
    struct suite_figure_list l = {0};
    const struct suite_figure *f;

    cr_assert(eq(int, suite_figures_imb(text, len, &l), 0));
    /* PingPong: 4 rows x (t, bandwidth); Allreduce: 2 x 2 rows x 3 */
    cr_assert(eq(sz, l.n, 8 + 12));
    f = find(&l, "PingPong.t", "np=2,bytes=4194304");
    cr_assert(eq(dbl, f->value, 632.97));
    cr_assert(eq(str, f->unit, "usec"));
    f = find(&l, "PingPong.bandwidth", "np=2,bytes=1024");
    cr_assert(eq(dbl, f->value, 1651.61));
    cr_assert(f->higher_better);
    f = find(&l, "Allreduce.t_avg", "np=4,bytes=4");
    cr_assert(eq(dbl, f->value, 1.15));
    suite_figures_release(&l);
    free(text);
}

Test(suite_figures, npb_summary_block)
{
    size_t len;
    char *text = fixture("npb_ep.txt", &len);
    struct suite_figure_list l = {0};

    cr_assert(eq(int, suite_figures_npb(text, len, &l), 0));
    cr_assert(eq(sz, l.n, 4));
    cr_assert(eq(dbl, find(&l, "time", "")->value, 0.41));
    cr_assert(eq(dbl, find(&l, "mops", "")->value, 81.26));
    cr_assert(find(&l, "mops", "")->higher_better);
    cr_assert(eq(dbl, find(&l, "mops_per_process", "")->value, 20.31));
    cr_assert(eq(dbl, find(&l, "verified", "")->value, 1));
    suite_figures_release(&l);
    free(text);
}

Test(suite_figures, output_without_a_table_gives_nothing)
{
    const char out[] = "Segmentation fault\n";
    struct suite_figure_list l = {0};

    cr_assert(eq(int, suite_figures_osu(out, strlen(out), &l), 0));
    cr_assert(eq(int, suite_figures_imb(out, strlen(out), &l), 0));
    cr_assert(eq(int, suite_figures_npb(out, strlen(out), &l), 0));
    cr_assert(eq(sz, l.n, 0));
}
