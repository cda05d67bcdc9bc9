/* SPDX-License-Identifier: MIT */
/* suite_plot.h - plots of a run: for each benchmark figure with a numeric
 * axis, an SVG and a PNG (800 x 500) of the figure against it, drawn by
 * gnuplot.
 *
 * The axis is the figure's point when it has one (the message size of
 * an OSU or IMB table: the last number of "np=2,bytes=64"), else the
 * first matrix parameter whose values are all numbers and that takes at
 * least two of them. One line per combination of the other parameters,
 * and per run when a baseline is given; each point is the median, its
 * error bar the 95% confidence interval of the median (suite_stats.h).
 * The x axis is logarithmic (base 2) when every value doubles the one
 * before. Files are DIR/BENCH-FIGURE.svg and .png, with the data and the
 * gnuplot script beside them (.dat, .gp). Not thread-safe. */
#ifndef SHOAL_SUITE_PLOT_H
#define SHOAL_SUITE_PLOT_H

#include <stdint.h>

#include <shoal/error.h>

#include "runtime/suite/suite_store.h"

/* Plot run (and baseline, when not 0) into dir (created when missing)
 * with the gnuplot program (looked up in PATH). Sets *nplots to the
 * number of figures plotted (0 when none has a numeric axis). Returns 0,
 * -ENOENT with error filled for an unknown run or a missing gnuplot, or
 * another negative code with error filled. */
int suite_plot(suite_store_t *store,
               int64_t run,
               int64_t baseline,
               const char *dir,
               const char *gnuplot,
               unsigned *nplots,
               shoal_error_t *error);

#endif
