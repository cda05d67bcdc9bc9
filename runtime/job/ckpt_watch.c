/* SPDX-License-Identifier: MIT */
/* ckpt_watch.c - advance the ranks' KEEP files as the job commits. */
#include "runtime/job/ckpt_watch.h"

#include <string.h>

#include "runtime/ckpt/ckpt_job.h"
#include "util/log.h"

enum { CKPT_WATCH_PERIOD_MS = 1000 };

static void ckpt_watch_cb(uv_timer_t *timer)
{
    struct ckpt_watch *w = timer->data;
    struct ckpt_job_choice choice;
    int rc;

    /* no hashing here: the choice at restart verifies */
    if (ckpt_job_choose(w->root, w->nranks, false, &choice, NULL) < 0
        || choice.version <= w->kept)
        return;
    rc = ckpt_job_keep(w->root, w->nranks, choice.version);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_CKPT, "cannot record version %d in '%s': %s",
            choice.version, w->root, strerror(-rc));
        return;
    }
    LOG(LOG_LEVEL_DEBUG, LOG_CKPT, "version %d committed by every rank",
        choice.version);
    w->kept = choice.version;
    /* what came before it is no restart's any more */
    ckpt_job_prune(w->root, w->nranks);
}

int ckpt_watch_start(struct ckpt_watch *w,
                     uv_loop_t *loop,
                     const char *root,
                     int nranks)
{
    int rc;

    *w = (struct ckpt_watch){.root = root, .nranks = nranks};
    if (!root)
        return 0;
    rc = uv_timer_init(loop, &w->timer);
    if (rc < 0) {
        w->root = NULL;
        return rc;
    }
    w->timer.data = w;
    return uv_timer_start(&w->timer, ckpt_watch_cb, CKPT_WATCH_PERIOD_MS,
                          CKPT_WATCH_PERIOD_MS);
}

void ckpt_watch_stop(struct ckpt_watch *w)
{
    if (!w->root || uv_is_closing((uv_handle_t *)&w->timer))
        return;
    /* one last look: the job may have committed since the last tick */
    ckpt_watch_cb(&w->timer);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, NULL);
}
