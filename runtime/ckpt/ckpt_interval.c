/* SPDX-License-Identifier: MIT */
/* ckpt_interval.c - Daly's optimum checkpoint interval. */
#include "runtime/ckpt/ckpt_interval.h"

#include <math.h>

double ckpt_interval_daly(double cost,
                          double mtbf,
                          double min_interval,
                          double max_interval)
{
    double t;

    if (!(mtbf > 0))
        t = max_interval;
    else if (!(cost > 0))
        t = min_interval;
    else if (cost < 2 * mtbf)
        t = sqrt(2 * cost * mtbf)
                * (1 + sqrt(cost / (2 * mtbf)) / 3 + cost / (18 * mtbf))
            - cost;
    else
        t = mtbf;
    if (t < min_interval)
        t = min_interval;
    if (t > max_interval)
        t = max_interval;
    return t;
}

double ckpt_interval_job_mtbf(double node_seconds, double losses, int nodes)
{
    double node_mtbf;

    if (!(node_seconds > 0) || nodes < 1)
        return 0;
    node_mtbf = losses >= 1 ? node_seconds / losses : node_seconds;
    return node_mtbf / nodes;
}
