/* SPDX-License-Identifier: MIT */
/* suite_report.h - what the store holds, for people and for programs:
 * the list of runs, one run's summary (optionally against another run),
 * and one benchmark's repetitions.
 *
 * A summary has one entry per case and figure (and point): n, median,
 * min, max and the 95% confidence interval of the median
 * (suite_stats.h). Against a baseline (--vs), cases are matched by
 * benchmark name and parameters, figures by name and point, and each
 * pair is judged by suite_stats_compare(): a one-sided Mann-Whitney U
 * test at alpha 0.05 and a relative threshold on the medians; the report
 * says so in its text. A case run to a target precision says, on its
 * watched figure's rows (table) or in "precision" (json), how many
 * repetitions it took and whether the target was reached.
 *
 * Each function builds the whole text (caller frees) and prints nothing.
 * Not thread-safe. */
#ifndef SHOAL_SUITE_REPORT_H
#define SHOAL_SUITE_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <shoal/error.h>

#include "runtime/suite/suite_store.h"

enum suite_format {
    SUITE_FORMAT_TABLE = 0,
    SUITE_FORMAT_MD,
    SUITE_FORMAT_CSV,
    SUITE_FORMAT_JSON, /* one JSON object per case, one per line */
};

/* "table", "md", "csv", "json" into *format; -EINVAL for another name. */
int suite_report_format(const char *name, enum suite_format *format);

/* The stored runs, newest last, as a table, or with json as one JSON
 * array of {"run", "started" (seconds since the epoch), "status", "reps",
 * "failed", "host", "tag" (or null), "suite"}. */
int suite_report_ls(suite_store_t *store,
                    bool json,
                    char **text,
                    shoal_error_t *error);

/* Summarize run (against baseline when not 0; threshold is relative, e.g.
 * 0.05) in format. *worse is set to the number of figures that got worse.
 * Returns 0, -ENOENT with error filled when a run is not stored, or
 * another negative code. */
int suite_report_run(suite_store_t *store,
                     int64_t run,
                     int64_t baseline,
                     enum suite_format format,
                     double threshold,
                     char **text,
                     unsigned *worse,
                     shoal_error_t *error);

/* Every repetition of benchmark bench in run: status, exit code, wall
 * time, figures, and the output of those that did not succeed. */
int suite_report_show(suite_store_t *store,
                      int64_t run,
                      const char *bench,
                      char **text,
                      shoal_error_t *error);

#endif
