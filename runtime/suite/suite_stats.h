/* SPDX-License-Identifier: MIT */
/* suite_stats.h - the statistics of benchmark figures: summaries with a
 * distribution-free confidence interval of the median, the Mann-Whitney U
 * test, and the regression decision built on them.
 *
 * Why these: benchmark times are skewed and often bimodal (a cold cache,
 * a timer tick), so neither a mean nor a normal-theory interval is to be
 * trusted. The median's interval from order statistics assumes only
 * independent repetitions, and Mann-Whitney U compares two runs by ranks,
 * again without a distribution.
 *
 * Pure; thread-safe; no allocation except where a function says so. */
#ifndef SHOAL_SUITE_STATS_H
#define SHOAL_SUITE_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct suite_summary {
    size_t n;
    double median, min, max;
    /* The confidence interval of the median: [ci_low, ci_high] =
     * [x(k), x(n-k+1)] for the largest k with coverage >= 95%, where the
     * coverage is P(k <= B <= n-k), B ~ Binomial(n, 1/2). With n < 6 no
     * such k exists: the interval is [min, max] and coverage says what it
     * is (1 - 2^(1-n)). */
    double ci_low, ci_high;
    double coverage;
};

/* Summarize x[0..n-1] (reordered in place). n == 0 gives n = 0 and NaNs.
 * Returns 0, or -ENOMEM. */
int suite_stats_summarize(double *x, size_t n, struct suite_summary *out);

struct suite_mwu {
    double u_a;       /* pairs (a_i, b_j) with a_i > b_j, ties count 1/2 */
    double u_b;       /* pairs with b_j > a_i; u_a + u_b = na * nb */
    double p_greater; /* one-sided p of H1: b tends to be larger than a */
    double p_less;    /* one-sided p of H1: b tends to be smaller */
    double p_two;     /* two-sided p */
    bool exact;       /* exact distribution (no ties, na, nb <= 30), else
                       * the normal approximation with tie correction and
                       * continuity correction */
};

/* The Mann-Whitney U test of samples a and b (not reordered). Returns 0,
 * -EINVAL when a sample is empty, or -ENOMEM. */
int suite_stats_mann_whitney(const double *a,
                             size_t na,
                             const double *b,
                             size_t nb,
                             struct suite_mwu *out);

enum suite_verdict {
    SUITE_SAME = 0, /* no change that is both significant and large */
    SUITE_BETTER,
    SUITE_WORSE,
};

/* The significance level and the default threshold of the decision. */
#define SUITE_STATS_ALPHA 0.05
#define SUITE_STATS_THRESHOLD 0.05

/* Decide whether new samples b are worse than baseline a: worse when the
 * one-sided Mann-Whitney p in the worse direction is below
 * SUITE_STATS_ALPHA and the medians differ by more than threshold
 * (relative to a's median; when that median is 0, any difference) in
 * that direction; better likewise; else the same. higher_better says
 * which direction is worse. *change is set to (median b - median a) /
 * |median a| (or NaN) and *p to the one-sided p of the direction the
 * medians moved. Returns 0, -EINVAL for an empty sample, or -ENOMEM. */
int suite_stats_compare(const double *a,
                        size_t na,
                        const double *b,
                        size_t nb,
                        bool higher_better,
                        double threshold,
                        enum suite_verdict *verdict,
                        double *change,
                        double *p);

/* What the stopping rule of a target precision says after a repetition. */
enum suite_precision {
    SUITE_PRECISION_MORE = 0, /* repeat again */
    SUITE_PRECISION_REACHED,  /* the interval is narrow enough */
    SUITE_PRECISION_GAVE_UP,  /* max repetitions and still too wide */
};

/* The stopping rule of `precision: {ci: X%, max: M}`: given the n values
 * x of a figure measured so far (not reordered), REACHED when n >= min
 * and the 95% confidence interval of the median (as summarized above,
 * with coverage >= 0.95, so n >= 6) lies within rel * |median| of the
 * median on both sides; else GAVE_UP when n >= max; else MORE. The
 * summary of x is stored in *sum when sum is not NULL. Returns the
 * verdict; out of memory counts as GAVE_UP. */
enum suite_precision suite_stats_precision(const double *x,
                                           size_t n,
                                           double rel,
                                           unsigned min,
                                           unsigned max,
                                           struct suite_summary *sum);

#endif
