/* SPDX-License-Identifier: MIT */
/* ckpt_interval.h - how often to checkpoint: Young's and Daly's formulas.
 *
 * A job that checkpoints every T seconds, each checkpoint costing C
 * seconds, on nodes whose failures arrive every M seconds on average
 * (the job's mean time between failures: a node's MTBF divided by the
 * nodes it spans) loses least to checkpoints and lost work at Daly's
 * optimum (J. T. Daly, "A higher order estimate of the optimum checkpoint
 * interval for restart dumps", FGCS 22, 2006):
 *
 *   T = sqrt(2 C M) (1 + sqrt(C / (2 M)) / 3 + C / (18 M)) - C   if C < 2M
 *   T = M                                                       otherwise
 *
 * which is Young's sqrt(2 C M) to first order. T is then kept between the
 * caller's bounds: a checkpoint whose cost is not yet measured (C = 0)
 * gives the lower bound, so the first one comes early and measures C.
 * Pure functions. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_INTERVAL_H
#define SHOAL_RUNTIME_CKPT_CKPT_INTERVAL_H

/* Daly's optimum for cost and mtbf (seconds, both >= 0; mtbf 0 means
 * unknown and gives max_interval), clamped to [min_interval,
 * max_interval]. */
double ckpt_interval_daly(double cost,
                          double mtbf,
                          double min_interval,
                          double max_interval);

/* A job's MTBF from what the pool has seen: node_seconds of nodes alive
 * and losses among them, over the nodes the job spans. With no loss seen
 * the observed time itself is the estimate (a lower bound that grows the
 * longer the pool runs without one). 0 when nothing was observed. */
double ckpt_interval_job_mtbf(double node_seconds, double losses, int nodes);

#endif
