/* SPDX-License-Identifier: MIT */
#include <math.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_interval.h"

TestSuite(ckpt_interval, .timeout = 10);

Test(ckpt_interval, daly_is_young_to_first_order_and_a_bit_less)
{
    /* C = 10 s, M = 1 day: Young says sqrt(2 * 10 * 86400) = 1314.5 s */
    double young = sqrt(2 * 10.0 * 86400);
    double t = ckpt_interval_daly(10, 86400, 1, 1e9);

    cr_assert(gt(dbl, t, young - 10 - 1), "%f", t);
    cr_assert(lt(dbl, t, young + 5), "%f", t);
    /* by hand: 1314.53 * (1 + 0.002536 + 0.0000064) - 10 = 1307.87 s */
    cr_assert(lt(dbl, fabs(t - 1307.87), 0.05), "%f", t);
}

Test(ckpt_interval, a_cost_near_the_mtbf_checkpoints_every_mtbf)
{
    cr_assert(eq(dbl, ckpt_interval_daly(300, 100, 1, 1e9), 100));
}

Test(ckpt_interval, bounds_hold_and_unknowns_give_them)
{
    cr_assert(eq(dbl, ckpt_interval_daly(0, 86400, 10, 3600), 10),
              "an unmeasured cost: checkpoint early to measure it");
    cr_assert(eq(dbl, ckpt_interval_daly(5, 0, 10, 3600), 3600),
              "no failure history: the upper bound");
    cr_assert(eq(dbl, ckpt_interval_daly(0.001, 1, 10, 3600), 10));
    cr_assert(eq(dbl, ckpt_interval_daly(60, 1e9, 10, 3600), 3600));
}

Test(ckpt_interval, a_job_fails_as_often_as_all_its_nodes_together)
{
    /* 10 nodes seen for 100,000 s each, 4 losses: a node every 250,000 s;
     * a job on 5 of them every 50,000 s */
    cr_assert(eq(dbl, ckpt_interval_job_mtbf(1e6, 4, 5), 50000));
    cr_assert(eq(dbl, ckpt_interval_job_mtbf(1e6, 0, 5), 200000),
              "no loss yet: what was observed is the bound");
    cr_assert(eq(dbl, ckpt_interval_job_mtbf(0, 0, 5), 0));
    cr_assert(eq(dbl, ckpt_interval_job_mtbf(1e6, 1, 0), 0));
}
