/* SPDX-License-Identifier: MIT */
/* owner_latency.c - the programs of a workstation's owner, to measure
 * what a guest job costs them.
 *
 *   bench-owner-latency periodic SECONDS [PERIOD_US [WORK_US]]
 *                                              (defaults 2000 and 400)
 *   bench-owner-latency busy SECONDS
 *
 * periodic: a latency-sensitive program (an audio or UI thread). It wakes
 * every PERIOD microseconds on an absolute clock, does WORK microseconds
 * of computation (calibrated at start), and sleeps again. It prints the
 * wake-up latency (how late each wake-up came after its deadline: median,
 * 99th percentile, max, in microseconds) and the deadlines missed (the
 * work of a period not done before the next began). Its load is WORK /
 * PERIOD of a core (0.2 by default): below HTCondor's 0.3, so a desktop
 * node still lends its cores while it runs.
 *
 * busy: the owner's batch work (a build): one thread computing for
 * SECONDS; it prints the work units done per second.
 *
 * Each prints one JSON object. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static volatile uint64_t sink;

/* iters of a loop the compiler cannot remove */
static void spin(uint64_t iters)
{
    uint64_t x = sink;

    for (uint64_t i = 0; i < iters; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = x;
}

/* The iterations that take work_us on this core now (the fastest of a
 * few tries, so a preemption during calibration does not inflate it). */
static uint64_t calibrate(double work_us)
{
    const uint64_t probe = 1000000;
    double best = 1e9;

    for (int i = 0; i < 7; i++) {
        double t0 = bench_now();

        spin(probe);
        if (bench_now() - t0 < best)
            best = bench_now() - t0;
    }
    return (uint64_t)((double)probe * work_us * 1e-6 / best);
}

static void add_ns(struct timespec *t, long ns)
{
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static double ts_diff_us(const struct timespec *a, const struct timespec *b)
{
    return (double)(a->tv_sec - b->tv_sec) * 1e6
           + (double)(a->tv_nsec - b->tv_nsec) * 1e-3;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench-owner-latency periodic SECONDS "
                    "[PERIOD_US [WORK_US]] (WORK_US < PERIOD_US)\n"
                    "       bench-owner-latency busy SECONDS\n");
    return 2;
}

/* Units of 1e5 iterations done per second, for seconds. */
static int busy(double seconds)
{
    double t0 = bench_now(), t;
    uint64_t units = 0;

    do {
        spin(100000);
        units++;
        t = bench_now();
    } while (t - t0 < seconds);
    printf("{\"seconds\": %.3f, \"units_per_s\": %.1f}\n", t - t0,
           (double)units / (t - t0));
    return 0;
}

static int periodic(double seconds, long period_us, double work_us)
{
    long periods, done = 0, missed = 0;
    uint64_t iters;
    double *late, t_start;
    struct timespec next, now;

    periods = (long)(seconds * 1e6 / (double)period_us);
    late = calloc((size_t)periods, sizeof(*late));
    if (!late)
        return 1;
    iters = calibrate(work_us);
    clock_gettime(CLOCK_MONOTONIC, &next);
    t_start = bench_now();
    for (long i = 0; i < periods; i++) {
        int rc;

        add_ns(&next, period_us * 1000L);
        do
            rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        while (rc == EINTR);
        clock_gettime(CLOCK_MONOTONIC, &now);
        late[i] = ts_diff_us(&now, &next);
        spin(iters);
        clock_gettime(CLOCK_MONOTONIC, &now);
        done++;
        /* the work ran into the next period: that deadline is missed */
        if (ts_diff_us(&now, &next) > (double)period_us)
            missed++;
    }
    {
        double elapsed = bench_now() - t_start, max = 0;
        double p99, median;

        for (long i = 0; i < periods; i++)
            if (late[i] > max)
                max = late[i];
        median = bench_median(late, (int)periods); /* sorts late */
        p99 = late[(long)((double)(periods - 1) * 0.99)];
        printf("{\"periods\": %ld, \"period_us\": %ld, \"work_us\": %.0f, "
               "\"late_median_us\": %.1f, \"late_p99_us\": %.1f, "
               "\"late_max_us\": %.1f, \"missed\": %ld, "
               "\"units_per_s\": %.1f}\n",
               periods, period_us, work_us, median, p99, max, missed,
               (double)done / elapsed);
    }
    free(late);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 2 ? atof(argv[2]) : 0;

    if (argc < 3 || seconds <= 0)
        return usage();
    if (strcmp(argv[1], "busy") == 0 && argc == 3)
        return busy(seconds);
    if (strcmp(argv[1], "periodic") == 0 && argc <= 5) {
        long period_us = argc > 3 ? atol(argv[3]) : 2000;
        double work_us = argc > 4 ? atof(argv[4]) : 400;

        if (period_us <= 0 || work_us <= 0 || work_us >= (double)period_us)
            return usage();
        return periodic(seconds, period_us, work_us);
    }
    return usage();
}
