/* SPDX-License-Identifier: MIT */
/* suite_stats.c - order statistics, binomial coverage, Mann-Whitney U. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/suite/suite_stats.h"

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;

    return (a > b) - (a < b);
}

/* P(B <= k) for B ~ Binomial(n, 1/2), summed in logs so that n in the
 * thousands does not overflow. */
static double binom_half_cdf(size_t n, size_t k)
{
    double sum = 0;

    for (size_t i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1)
                   - lgamma((double)(n - i) + 1) - (double)n * log(2.0));
    return sum > 1 ? 1 : sum;
}

int suite_stats_summarize(double *x, size_t n, struct suite_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->n = n;
    if (n == 0) {
        out->median = out->min = out->max = NAN;
        out->ci_low = out->ci_high = out->coverage = NAN;
        return 0;
    }
    qsort(x, n, sizeof(*x), cmp_double);
    out->min = x[0];
    out->max = x[n - 1];
    out->median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    /* k is 1-based: the interval [x(k), x(n-k+1)] */
    size_t k = 1;

    while (k + 1 <= (n + 1) / 2 && 1 - 2 * binom_half_cdf(n, k) >= 0.95)
        k++;
    out->ci_low = x[k - 1];
    out->ci_high = x[n - k];
    out->coverage = 1 - 2 * binom_half_cdf(n, k - 1);
    return 0;
}

/* Number of orderings of na a's and nb b's with U_b = u, for every u:
 * the classic recurrence f(n, m, u) = f(n-1, m, u-m) + f(n, m-1, u) (the
 * last element is an a, which is larger than no b... or a b, larger than
 * all n a's). Fills counts[0..na*nb]. */
static int mwu_counts(size_t na, size_t nb, double *counts)
{
    size_t umax = na * nb;
    /* table[i][j][u], i a's and j b's; kept as a full cube, at most
     * 31 * 31 * 901 doubles */
    size_t si = nb + 1, su = umax + 1;
    double *t = calloc((na + 1) * si * su, sizeof(double));

    if (!t)
        return -ENOMEM;
#define T(i, j, u) t[((i)*si + (j)) * su + (u)]
    for (size_t i = 0; i <= na; i++) {
        for (size_t j = 0; j <= nb; j++) {
            if (i == 0 || j == 0) {
                T(i, j, 0) = 1;
                continue;
            }
            for (size_t u = 0; u <= i * j; u++) {
                /* last is a b: it is larger than all i a's */
                double v = u >= i ? T(i, j - 1, u - i) : 0;

                /* last is an a: larger than no... it adds nothing to U_b */
                v += T(i - 1, j, u);
                T(i, j, u) = v;
            }
        }
    }
    for (size_t u = 0; u <= umax; u++)
        counts[u] = T(na, nb, u);
#undef T
    free(t);
    return 0;
}

static double normal_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

struct ranked {
    double v;
    int from_b;
};

static int cmp_ranked(const void *pa, const void *pb)
{
    return cmp_double(&((const struct ranked *)pa)->v,
                      &((const struct ranked *)pb)->v);
}

int suite_stats_mann_whitney(const double *a,
                             size_t na,
                             const double *b,
                             size_t nb,
                             struct suite_mwu *out)
{
    size_t n = na + nb;
    struct ranked *r;
    double rank_b = 0, tie_term = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (na == 0 || nb == 0)
        return -EINVAL;
    r = malloc(n * sizeof(*r));
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < na; i++)
        r[i] = (struct ranked){a[i], 0};
    for (size_t j = 0; j < nb; j++)
        r[na + j] = (struct ranked){b[j], 1};
    qsort(r, n, sizeof(*r), cmp_ranked);
    /* mid-ranks for ties; t^3 - t of each tie group for the variance */
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j + 1 < n && r[j + 1].v == r[i].v)
            j++;
        double mid = ((double)i + (double)j) / 2 + 1, t = (double)(j - i + 1);

        for (size_t k = i; k <= j; k++)
            if (r[k].from_b)
                rank_b += mid;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    free(r);
    out->u_b = rank_b - (double)nb * ((double)nb + 1) / 2;
    out->u_a = (double)na * (double)nb - out->u_b;
    if (tie_term == 0 && na <= 30 && nb <= 30) {
        size_t umax = na * nb;
        double *counts = malloc((umax + 1) * sizeof(double)), total = 0;
        double ge = 0, le = 0;

        if (!counts)
            return -ENOMEM;
        rc = mwu_counts(na, nb, counts);
        if (rc < 0) {
            free(counts);
            return rc;
        }
        for (size_t u = 0; u <= umax; u++) {
            total += counts[u];
            if ((double)u >= out->u_b)
                ge += counts[u];
            if ((double)u <= out->u_b)
                le += counts[u];
        }
        free(counts);
        out->exact = true;
        out->p_greater = ge / total;
        out->p_less = le / total;
    } else {
        double mean = (double)na * (double)nb / 2;
        double nn = (double)n;
        double var = (double)na * (double)nb / 12
                     * ((nn + 1) - tie_term / (nn * (nn - 1)));
        double sd = sqrt(var);

        if (sd == 0) {
            out->p_greater = out->p_less = 1;
        } else {
            out->p_greater = normal_sf((out->u_b - mean - 0.5) / sd);
            out->p_less = normal_sf((mean - out->u_b - 0.5) / sd);
        }
    }
    out->p_two = 2 * fmin(out->p_greater, out->p_less);
    if (out->p_two > 1)
        out->p_two = 1;
    return 0;
}

static double median_of(const double *x, size_t n, int *rc)
{
    double *c = malloc(n * sizeof(double));
    struct suite_summary s;

    if (!c) {
        *rc = -ENOMEM;
        return NAN;
    }
    memcpy(c, x, n * sizeof(double));
    suite_stats_summarize(c, n, &s);
    free(c);
    return s.median;
}

int suite_stats_compare(const double *a,
                        size_t na,
                        const double *b,
                        size_t nb,
                        bool higher_better,
                        double threshold,
                        enum suite_verdict *verdict,
                        double *change,
                        double *p)
{
    struct suite_mwu m;
    double ma, mb, rel;
    int rc = suite_stats_mann_whitney(a, na, b, nb, &m);

    *verdict = SUITE_SAME;
    *change = NAN;
    *p = NAN;
    if (rc < 0)
        return rc;
    ma = median_of(a, na, &rc);
    mb = median_of(b, nb, &rc);
    if (rc < 0)
        return rc;
    if (ma != 0)
        rel = (mb - ma) / fabs(ma);
    else
        rel = mb > ma ? INFINITY : mb < ma ? -INFINITY : 0;
    *change = ma != 0 ? rel : NAN;
    *p = mb >= ma ? m.p_greater : m.p_less;
    if (rel > threshold && m.p_greater < SUITE_STATS_ALPHA)
        *verdict = higher_better ? SUITE_BETTER : SUITE_WORSE;
    else if (rel < -threshold && m.p_less < SUITE_STATS_ALPHA)
        *verdict = higher_better ? SUITE_WORSE : SUITE_BETTER;
    return 0;
}

enum suite_precision suite_stats_precision(const double *x,
                                           size_t n,
                                           double rel,
                                           unsigned min,
                                           unsigned max,
                                           struct suite_summary *sum)
{
    struct suite_summary s;
    double *c = malloc((n ? n : 1) * sizeof(double)), half;

    if (!c)
        return SUITE_PRECISION_GAVE_UP;
    memcpy(c, x, n * sizeof(double));
    suite_stats_summarize(c, n, &s);
    free(c);
    if (sum)
        *sum = s;
    /* the interval need not be symmetric: its wider side decides */
    half = fmax(s.median - s.ci_low, s.ci_high - s.median);
    if (n > 0 && n >= min && s.coverage >= 0.95 && half <= rel * fabs(s.median))
        return SUITE_PRECISION_REACHED;
    return n >= max ? SUITE_PRECISION_GAVE_UP : SUITE_PRECISION_MORE;
}
