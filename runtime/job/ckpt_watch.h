/* SPDX-License-Identifier: MIT */
/* ckpt_watch.h - follow a running job's checkpoints from its coordinator.
 *
 * Every second, the newest version every rank committed (ckpt_job.h) is
 * looked up; when it advances, the one before it (the first: itself) is
 * written to each rank's KEEP file, so that no rank prunes the two newest
 * job-wide versions (a restart's first choice, and its fallback should the
 * first prove damaged), and older versions are pruned. Embedded in
 * the coordinator's loop (local_job, pool_job); it only reads directories
 * and writes small files. */
#ifndef SHOAL_RUNTIME_JOB_CKPT_WATCH_H
#define SHOAL_RUNTIME_JOB_CKPT_WATCH_H

#include <uv.h>

/* --checkpoint=auto: the watch asks for checkpoints itself (the ranks'
 * REQUEST files), every ckpt_interval_daly(cost, mtbf) seconds, the cost
 * being the largest a rank recorded for its last checkpoint. */
struct ckpt_watch_auto {
    double mtbf;         /* the job's, seconds; 0: not auto */
    const char *source;  /* where mtbf comes from, for people */
    double min_interval; /* bounds of the interval, seconds */
    double max_interval;
};

struct ckpt_watch {
    uv_timer_t timer;
    const char *root; /* borrowed */
    int nranks;
    int kept;   /* the version last written to KEEP; 0 none */
    int newest; /* the newest version every rank committed; 0 none */
    struct ckpt_watch_auto autoc;
    uint64_t asked_ms; /* loop time of the last request */
    double interval;   /* the interval last chosen, auto only */
    double cost;       /* and the cost it was chosen for */
};

/* Start watching root (NULL: do nothing) on loop; with autoc (may be
 * NULL; copied) whose mtbf > 0, ask for checkpoints too, and keep the
 * numbers in ROOT/INTERVAL (JSON: cost, mtbf, its source, interval) for
 * `shoal ckpt ls`. Returns 0 or a negative errno from libuv. */
int ckpt_watch_start(struct ckpt_watch *w,
                     uv_loop_t *loop,
                     const char *root,
                     int nranks,
                     const struct ckpt_watch_auto *autoc);

/* Look one last time, then stop and close the timer (the loop must run
 * once more to finish the close); harmless on a watch never started. */
void ckpt_watch_stop(struct ckpt_watch *w);

#endif
