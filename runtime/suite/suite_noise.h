/* SPDX-License-Identifier: MIT */
/* suite_noise.h - how loaded this node is around a repetition, so that
 * repetitions taken under load are flagged (and, optionally, wait until
 * the load drops).
 *
 * Two measures, both per online CPU so a threshold reads the same on any
 * node:
 *   - the run queue before a repetition: the mean of /proc/stat's
 *     procs_running (less the reader itself) over a short window. It is
 *     the instantaneous form of the load average; the 1-minute load
 *     average (kept in the store too) lags a minute behind, so a
 *     busy loop started a second ago does not show in it.
 *   - the CPU the rest of the node used during the repetition: busy CPU
 *     time from /proc/stat less the CPU time of the repetition's own
 *     processes (getrusage(RUSAGE_CHILDREN) grows by it once it is
 *     reaped), over wall time and CPUs. /proc/stat counts in clock
 *     ticks, so for a repetition shorter than SUITE_NOISE_MIN_WALL it is
 *     not computed (NaN).
 *
 * Reads /proc; thread-safe apart from RUSAGE_CHILDREN being the whole
 * process's. */
#ifndef SHOAL_SUITE_NOISE_H
#define SHOAL_SUITE_NOISE_H

#include <stddef.h>

/* Repetitions shorter than this get no CPU measure (ticks are 10 ms). */
#define SUITE_NOISE_MIN_WALL 0.2

/* Busy and total CPU ticks of the node, and this process's reaped
 * children's CPU seconds, at one moment. */
struct suite_noise_snap {
    unsigned long long busy, total;
    double children;
};

/* Parse /proc/stat text: the "cpu " line's busy (everything but idle and
 * iowait) and total ticks, and procs_running (or -1 when missing).
 * Returns 0, or -EINVAL when there is no "cpu " line. Pure. */
int suite_noise_parse_stat(const char *text,
                           unsigned long long *busy,
                           unsigned long long *total,
                           long *running);

/* Take a snapshot now. Returns 0 or a negative errno. */
int suite_noise_snap(struct suite_noise_snap *snap);

/* The share of the node's CPUs (0 to 1) that others used between a and
 * b, given wall seconds between them; the repetition's own CPU time is
 * the growth of children. NaN when wall < SUITE_NOISE_MIN_WALL or the
 * ticks did not move. Pure. */
double suite_noise_others(const struct suite_noise_snap *a,
                          const struct suite_noise_snap *b,
                          double wall);

/* The run queue per CPU, averaged over window seconds (sampled every
 * 10 ms), without the caller. Returns 0 and sets *load, or a negative
 * errno. Blocks for window seconds. */
int suite_noise_runqueue(double window, double *load);

#endif
