/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_stats.c against known values: the
 * order-statistic interval of the median from the binomial tables, the
 * exact Mann-Whitney distribution against an enumeration of every
 * arrangement (C(10,5) = 252; computed apart, in Python), the normal
 * approximation with ties, and the regression decision. */
#include <errno.h>
#include <math.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/suite/suite_stats.h"

TestSuite(suite_stats, .timeout = 10);

Test(suite_stats, summary_of_an_odd_and_an_even_sample)
{
    double odd[] = {5, 1, 4, 2, 3}, even[] = {4, 1, 3, 2};
    struct suite_summary s;

    cr_assert(eq(int, suite_stats_summarize(odd, 5, &s), 0));
    cr_assert(eq(dbl, s.median, 3));
    cr_assert(eq(dbl, s.min, 1));
    cr_assert(eq(dbl, s.max, 5));
    suite_stats_summarize(even, 4, &s);
    cr_assert(eq(dbl, s.median, 2.5));
}

Test(suite_stats, median_interval_of_ten_is_the_2nd_to_9th)
{
    double x[10];
    struct suite_summary s;

    for (int i = 0; i < 10; i++)
        x[i] = 10 - i; /* 10, 9, ..., 1: sorted in place */
    suite_stats_summarize(x, 10, &s);
    cr_assert(eq(dbl, s.ci_low, 2));
    cr_assert(eq(dbl, s.ci_high, 9));
    /* 1 - 2 * P(B <= 1), B ~ Bin(10, 1/2) = 1 - 2 * 11/1024 */
    cr_assert(epsilon_eq(dbl, s.coverage, 1 - 22.0 / 1024, 1e-9), "coverage %g",
              s.coverage);
}

Test(suite_stats, median_interval_of_twenty_is_the_6th_to_15th)
{
    double x[20];
    struct suite_summary s;

    for (int i = 0; i < 20; i++)
        x[i] = i + 1;
    suite_stats_summarize(x, 20, &s);
    cr_assert(eq(dbl, s.ci_low, 6));
    cr_assert(eq(dbl, s.ci_high, 15));
    /* P(B <= 5), B ~ Bin(20, 1/2) = 21700 / 2^20 */
    cr_assert(epsilon_eq(dbl, s.coverage, 1 - 2 * 21700.0 / 1048576, 1e-9),
              "coverage %g", s.coverage);
}

Test(suite_stats, a_small_sample_gives_min_to_max_with_its_coverage)
{
    double x[] = {3, 1, 2};
    struct suite_summary s;

    suite_stats_summarize(x, 3, &s);
    cr_assert(eq(dbl, s.ci_low, 1));
    cr_assert(eq(dbl, s.ci_high, 3));
    cr_assert(eq(dbl, s.coverage, 0.75));
}

Test(suite_stats, exact_mann_whitney_matches_the_enumeration)
{
    double a[] = {1, 2, 3, 4, 7}, b[] = {5, 6, 8, 9, 10};
    struct suite_mwu m;

    cr_assert(eq(int, suite_stats_mann_whitney(a, 5, b, 5, &m), 0));
    cr_assert(m.exact);
    cr_assert(eq(dbl, m.u_a, 2));
    cr_assert(eq(dbl, m.u_b, 23));
    /* 4 of the 252 arrangements have U_b >= 23 */
    cr_assert(epsilon_eq(dbl, m.p_greater, 4.0 / 252, 1e-9), "p %g",
              m.p_greater);
    cr_assert(epsilon_eq(dbl, m.p_two, 8.0 / 252, 1e-9), "p %g", m.p_two);
    cr_assert(gt(dbl, m.p_less, 0.9));
}

Test(suite_stats, three_against_three_cannot_go_below_one_in_twenty)
{
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    struct suite_mwu m;

    suite_stats_mann_whitney(a, 3, b, 3, &m);
    cr_assert(epsilon_eq(dbl, m.p_greater, 1.0 / 20, 1e-9), "p %g",
              m.p_greater);
}

Test(suite_stats, ties_use_the_normal_approximation_with_correction)
{
    double a[] = {1, 2, 2, 3, 4}, b[] = {2, 3, 5, 6, 7, 8, 3};
    struct suite_mwu m;

    suite_stats_mann_whitney(a, 5, b, 7, &m);
    cr_assert(not(m.exact));
    cr_assert(eq(dbl, m.u_b, 29));
    cr_assert(epsilon_eq(dbl, m.p_greater, 0.0349995340794199, 1e-12),
              "p %.15g", m.p_greater);
}

Test(suite_stats, an_empty_sample_is_refused)
{
    double a[] = {1};
    struct suite_mwu m;

    cr_assert(eq(int, suite_stats_mann_whitney(a, 1, a, 0, &m), -EINVAL));
}

Test(suite_stats, a_slower_run_is_worse_when_lower_is_better)
{
    double base[] = {1.00, 1.01, 0.99, 1.02, 1.005};
    double slow[] = {1.50, 1.52, 1.49, 1.51, 1.55};
    enum suite_verdict v;
    double change, p;

    cr_assert(
        eq(int,
           suite_stats_compare(base, 5, slow, 5, false, 0.05, &v, &change, &p),
           0));
    cr_assert(eq(int, v, SUITE_WORSE));
    cr_assert(epsilon_eq(dbl, change, (1.51 - 1.005) / 1.005, 1e-9),
              "change %g", change);
    cr_assert(epsilon_eq(dbl, p, 1.0 / 252, 1e-9), "p %g", p);
    /* the same figures as a rate: higher is better */
    suite_stats_compare(base, 5, slow, 5, true, 0.05, &v, &change, &p);
    cr_assert(eq(int, v, SUITE_BETTER));
}

Test(suite_stats, a_change_below_the_threshold_or_not_significant_is_same)
{
    double base[] = {1.00, 1.01, 0.99, 1.02, 1.00};
    double bit[] = {1.03, 1.04, 1.03, 1.05, 1.04};
    double noisy[] = {0.5, 2.0, 0.9, 3.0, 1.1};
    enum suite_verdict v;
    double change, p;

    /* significant (p = 1/252) but 3% < 5% */
    suite_stats_compare(base, 5, bit, 5, false, 0.05, &v, &change, &p);
    cr_assert(eq(int, v, SUITE_SAME), "change %g p %g", change, p);
    /* the same with a 1% threshold */
    suite_stats_compare(base, 5, bit, 5, false, 0.01, &v, &change, &p);
    cr_assert(eq(int, v, SUITE_WORSE));
    /* 8% slower in the median, but the samples overlap */
    suite_stats_compare(base, 5, noisy, 5, false, 0.05, &v, &change, &p);
    cr_assert(eq(int, v, SUITE_SAME), "change %g p %g", change, p);
    cr_assert(gt(dbl, p, 0.05));
}

/* Feed seq one value at a time as a suite would; the count at which the
 * rule stopped, and its verdict. */
static size_t stop_at(const double *seq,
                      size_t len,
                      double rel,
                      unsigned min,
                      unsigned max,
                      enum suite_precision *verdict)
{
    for (size_t n = 1; n <= len; n++) {
        *verdict = suite_stats_precision(seq, n, rel, min, max, NULL);
        if (*verdict != SUITE_PRECISION_MORE)
            return n;
    }
    return 0;
}

Test(suite_stats, precision_is_reached_at_six_when_the_spread_is_small)
{
    double seq[] = {100, 101, 99, 100, 100.5, 99.5, 100, 100};
    enum suite_precision v;
    struct suite_summary s;

    /* below 6 the interval covers less than 95%, however narrow */
    cr_assert(eq(int, suite_stats_precision(seq, 5, 0.05, 0, 50, NULL),
                 SUITE_PRECISION_MORE));
    cr_assert(eq(sz, stop_at(seq, 8, 0.05, 0, 50, &v), 6));
    cr_assert(eq(int, v, SUITE_PRECISION_REACHED));
    /* [99, 101] around 100: within 1% but not within 0.5% */
    cr_assert(eq(int, suite_stats_precision(seq, 6, 0.01, 0, 50, &s),
                 SUITE_PRECISION_REACHED));
    cr_assert(eq(dbl, s.ci_low, 99));
    cr_assert(eq(dbl, s.ci_high, 101));
    cr_assert(eq(int, suite_stats_precision(seq, 6, 0.005, 0, 50, NULL),
                 SUITE_PRECISION_MORE));
}

Test(suite_stats, precision_waits_until_an_outlier_leaves_the_interval)
{
    /* the outlier keeps [min, max] wide until n = 9, where the interval
     * becomes [x(2), x(8)] (coverage 1 - 2 * 10/512) */
    double seq[] = {100, 200, 100, 100, 100, 100, 100, 100, 100, 100};
    enum suite_precision v;

    cr_assert(eq(sz, stop_at(seq, 10, 0.05, 0, 50, &v), 9));
    cr_assert(eq(int, v, SUITE_PRECISION_REACHED));
}

Test(suite_stats, precision_gives_up_at_max)
{
    double seq[40];
    enum suite_precision v;

    for (int i = 0; i < 40; i++)
        seq[i] = i % 2 ? 150 : 50;
    cr_assert(eq(sz, stop_at(seq, 40, 0.05, 0, 30, &v), 30));
    cr_assert(eq(int, v, SUITE_PRECISION_GAVE_UP));
    /* a median of 0 with any spread is never within X% of itself */
    double zero[] = {0, 1, -1, 0, 0, 1, -1, 0};

    cr_assert(eq(sz, stop_at(zero, 8, 0.5, 0, 8, &v), 8));
    cr_assert(eq(int, v, SUITE_PRECISION_GAVE_UP));
}

Test(suite_stats, precision_runs_at_least_min)
{
    double seq[12];
    enum suite_precision v;

    for (int i = 0; i < 12; i++)
        seq[i] = 7;
    cr_assert(eq(sz, stop_at(seq, 12, 0.01, 10, 50, &v), 10));
    cr_assert(eq(int, v, SUITE_PRECISION_REACHED));
}
