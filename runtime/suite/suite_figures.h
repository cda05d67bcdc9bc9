/* SPDX-License-Identifier: MIT */
/* suite_figures.h - the figures read from one repetition's output.
 *
 * A figure is a name, a point and a value: "latency" at "size=8" is
 * 0.25. The point is empty for a figure a run yields once (a time, a
 * rate) and names where on a curve it lies for the built-in parsers of
 * tables (OSU: "size=N"; IMB: "np=P,bytes=N"). Each parser knows the unit
 * and direction of its figures; the suite's `figures:` overrides them.
 *
 * Parsers:
 *  - regex: a PCRE2 pattern with named groups, matched repeatedly over
 *    the whole output; each group that matched and reads as a number
 *    gives the figure of its name.
 *  - json: each line that is a JSON object gives one figure per numeric
 *    member (nested values are ignored).
 *  - osu, imb, npb: see suite_parse_osu.c.
 *
 * Pure; not thread-safe. */
#ifndef SHOAL_SUITE_FIGURES_H
#define SHOAL_SUITE_FIGURES_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

#include "runtime/suite/suite_parse.h"

struct suite_figure {
    char *name;
    char *point; /* "" when the figure is not on a curve */
    char *unit;
    bool higher_better;
    double value;
};

struct suite_figure_list {
    struct suite_figure *v;
    size_t n, cap;
};

/* Append a figure (strings copied; unit NULL means ""). Returns 0 or
 * -ENOMEM. */
int suite_figures_add(struct suite_figure_list *list,
                      const char *name,
                      const char *point,
                      const char *unit,
                      bool higher_better,
                      double value);

/* Free what list holds and empty it; the struct itself is the caller's. */
void suite_figures_release(struct suite_figure_list *list);

/* Read bench's figures from text (len bytes, need not be NUL-terminated)
 * into list, then apply the units and directions of bench->figures.
 * SUITE_PARSER_NONE adds nothing. Returns 0 (a text with no figure is
 * not an error: list->n tells), -EINVAL with error filled for a regex
 * that does not compile, or -ENOMEM. */
int suite_figures_parse(const struct suite_bench *bench,
                        const char *text,
                        size_t len,
                        struct suite_figure_list *list,
                        shoal_error_t *error);

/* Check that pattern compiles and has at least one named group; on
 * failure write why into why (size bytes) and return -EINVAL. */
int suite_figures_check_regex(const char *pattern, char *why, size_t size);

/* The built-in table parsers (suite_parse_osu.c). Same contract as
 * suite_figures_parse() without the overrides. */
int suite_figures_osu(const char *text,
                      size_t len,
                      struct suite_figure_list *list);
int suite_figures_imb(const char *text,
                      size_t len,
                      struct suite_figure_list *list);
int suite_figures_npb(const char *text,
                      size_t len,
                      struct suite_figure_list *list);

#endif
