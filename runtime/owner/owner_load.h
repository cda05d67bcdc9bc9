/* SPDX-License-Identifier: MIT */
/* owner_load.h - the owner's CPU load: the CPU time the whole machine
 * used (/proc/stat) less what shoal used (the daemon and its job
 * processes, owner_procs.h), over the time between two samples, in cores
 * (1.0: one core busy all the time).
 *
 * shoal's share is the CPU time of the daemon (its own, and that of its
 * reaped children: cutime and cstime) plus that of every live descendant
 * (its own and its reaped children's). A process that ends moves its time
 * into its parent's reaped total, so the sum only grows while the jobs
 * run; where it shrinks (a process left the tree) the interval counts no
 * shoal time below zero. The first sample has no interval yet and reads 0.
 *
 * Unlike HTCondor's LoadAvg (runnable processes), this is CPU time used:
 * it reads the same on any kernel and cannot count shoal's own stopped or
 * sleeping jobs. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_LOAD_H
#define SHOAL_RUNTIME_OWNER_OWNER_LOAD_H

#include <stdint.h>
#include <sys/types.h>

#include "runtime/owner/owner_source.h"

/* One reading of the counters, in clock ticks. */
struct owner_load_counters {
    uint64_t busy;  /* every CPU's non-idle time, summed */
    uint64_t total; /* busy + idle + iowait, summed */
    uint64_t shoal; /* the daemon's and its jobs' time */
    unsigned cpus;  /* CPUs counted in /proc/stat */
};

/* The loads between two readings (pure): *owner and *jobs in cores,
 * neither below 0. Returns 0, or -EAGAIN when no time passed between
 * them. */
int owner_load_compute(const struct owner_load_counters *before,
                       const struct owner_load_counters *after,
                       double *owner,
                       double *jobs);

/* Read the counters now, shoal's part as root's (the daemon's pid) and
 * its descendants'. Returns 0 or a negative errno. */
int owner_load_read(pid_t root, struct owner_load_counters *out);

/* Make the load source for the daemon of pid root: each sample reads the
 * counters and gives the owner's load since the previous sample (not
 * present when /proc/stat cannot be read). The jobs' load of the last
 * sample is kept for owner_load_source_jobs(). Returns 0 and sets *out
 * (free with owner_source_destroy()), or -ENOMEM. */
int owner_load_source_create(pid_t root, struct owner_source **out);

/* The jobs' load (cores) of the last sample of src, a load source. */
double owner_load_source_jobs(const struct owner_source *src);

#endif
