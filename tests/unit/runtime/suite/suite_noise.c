/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_noise.c: /proc/stat as the kernel
 * writes it (Linux 6.1, two CPUs, the intr line shortened), the share of
 * CPU others used, and the run queue of this machine. */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/suite/suite_noise.h"

TestSuite(suite_noise, .timeout = 10);

static const char stat_text[] =
    "cpu  497744 15322 316109 189924 2678 0 2718 1279 0 0\n"
    "cpu0 244879 8294 157784 99273 520 0 936 625 0 0\n"
    "cpu1 252864 7028 158324 90651 2157 0 1782 654 0 0\n"
    "intr 7696546 0 0 0 0\n"
    "ctxt 71812194\n"
    "btime 1796000000\n"
    "processes 14852\n"
    "procs_running 5\n"
    "procs_blocked 0\n";

Test(suite_noise, proc_stat_is_read)
{
    unsigned long long busy, total;
    long running;

    cr_assert(
        eq(int, suite_noise_parse_stat(stat_text, &busy, &total, &running), 0));
    cr_assert(eq(u64, total,
                 497744ull + 15322 + 316109 + 189924 + 2678 + 0 + 2718 + 1279));
    cr_assert(eq(u64, busy, total - 189924 - 2678));
    cr_assert(eq(long, running, 5));
    cr_assert(eq(
        int, suite_noise_parse_stat("cpu0 1 2 3 4\n", &busy, &total, &running),
        -EINVAL));
    cr_assert(eq(
        int, suite_noise_parse_stat("cpu  1 2 3 4\n", &busy, &total, &running),
        0));
    cr_assert(eq(long, running, -1));
}

Test(suite_noise, others_share_is_busy_less_our_own)
{
    long tck = sysconf(_SC_CLK_TCK);
    /* 2 CPUs for 1 s: 2 * tck ticks; busy 1.5 CPUs, of which 0.5 s was
     * the repetition's own */
    struct suite_noise_snap a = {.busy = 1000, .total = 5000, .children = 2};
    struct suite_noise_snap b = {.busy = 1000 + (unsigned long long)(1.5 * tck),
                                 .total = 5000 + 2 * (unsigned long long)tck,
                                 .children = 2.5};

    cr_assert(epsilon_eq(dbl, suite_noise_others(&a, &b, 1.0), 0.5, 1e-9));
    /* our own CPU time alone: nobody else */
    b.children = 3.5;
    cr_assert(eq(dbl, suite_noise_others(&a, &b, 1.0), 0));
    /* too short to tell from clock ticks */
    cr_assert(isnan(suite_noise_others(&a, &b, SUITE_NOISE_MIN_WALL / 2)));
}

Test(suite_noise, the_run_queue_of_this_machine)
{
    double load = -1;

    cr_assert(eq(int, suite_noise_runqueue(0.05, &load), 0));
    cr_assert(ge(dbl, load, 0));
    cr_assert(lt(dbl, load, 1000));
}
