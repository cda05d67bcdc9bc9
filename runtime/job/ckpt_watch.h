/* SPDX-License-Identifier: MIT */
/* ckpt_watch.h - follow a running job's checkpoints from its coordinator.
 *
 * Every second, the newest version every rank committed (ckpt_job.h) is
 * looked up; when it advances, it is written to each rank's KEEP file, so
 * that no rank prunes the version a restart would start from, and older
 * versions are pruned (two committed ones stay). Embedded in
 * the coordinator's loop (local_job, pool_job); it only reads directories
 * and writes small files. */
#ifndef SHOAL_RUNTIME_JOB_CKPT_WATCH_H
#define SHOAL_RUNTIME_JOB_CKPT_WATCH_H

#include <uv.h>

struct ckpt_watch {
    uv_timer_t timer;
    const char *root; /* borrowed */
    int nranks;
    int kept; /* the version last written to KEEP; 0 none */
};

/* Start watching root (NULL: do nothing) on loop. Returns 0 or a negative
 * errno from libuv. */
int ckpt_watch_start(struct ckpt_watch *w,
                     uv_loop_t *loop,
                     const char *root,
                     int nranks);

/* Look one last time, then stop and close the timer (the loop must run
 * once more to finish the close); harmless on a watch never started. */
void ckpt_watch_stop(struct ckpt_watch *w);

#endif
