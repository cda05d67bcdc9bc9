/* SPDX-License-Identifier: MIT */
/* suite_matrix.h - the cases of a benchmark: the cartesian product of its
 * parameters' values, less the excluded combinations, and the command and
 * environment of each case.
 *
 * Cases come in a fixed order: the first parameter varies slowest, each
 * parameter's values in the order the file lists them, so case numbers
 * are stable for a given suite file (the store and --resume rely on it).
 * A benchmark without a matrix has one case. Pure; not thread-safe. */
#ifndef SHOAL_SUITE_MATRIX_H
#define SHOAL_SUITE_MATRIX_H

#include <stddef.h>

#include "runtime/suite/suite_parse.h"

/* The most parameters one benchmark may have. */
enum { SUITE_MATRIX_MAX_PARAMS = 16 };

/* One combination: value[i] is the index of parameter i's value. */
struct suite_case {
    size_t value[SUITE_MATRIX_MAX_PARAMS];
};

/* Expand bench's matrix into *cases (caller frees with free()) and set
 * *ncases; zero cases when every combination is excluded. Returns 0,
 * -E2BIG for more than SUITE_MATRIX_MAX_PARAMS parameters or more than
 * a million combinations, or -ENOMEM. */
int suite_matrix_expand(const struct suite_bench *bench,
                        struct suite_case **cases,
                        size_t *ncases);

/* Replace each "{p}" in tmpl by the value of parameter p in c. Returns a
 * string the caller frees, or NULL when out of memory. */
char *suite_matrix_subst(const struct suite_bench *bench,
                         const struct suite_case *c,
                         const char *tmpl);

/* The case's parameters as a JSON object text, {"t": "0.01"} (values as
 * written in the file); "{}" without a matrix. Caller frees; NULL when
 * out of memory. */
char *suite_matrix_params_json(const struct suite_bench *bench,
                               const struct suite_case *c);

#endif
