/* SPDX-License-Identifier: MIT */
/* ckpt_watch.c - advance the ranks' KEEP files as the job commits. */
#include "runtime/job/ckpt_watch.h"

#include <string.h>

#include <stdio.h>

#include "runtime/ckpt/ckpt_interval.h"
#include "runtime/ckpt/ckpt_job.h"
#include "util/log.h"

enum { CKPT_WATCH_PERIOD_MS = 1000 };

/* Record the numbers behind the interval, for people (`shoal ckpt ls`). */
static void ckpt_watch_note(const struct ckpt_watch *w, double cost)
{
    char path[4096], tmp[4104];
    FILE *f;

    snprintf(path, sizeof(path), "%s/INTERVAL", w->root);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (!f)
        return;
    fprintf(f,
            "{\"mode\": \"auto\", \"formula\": \"daly\", \"cost\": %.6f, "
            "\"mtbf\": %.0f, \"mtbf_source\": \"%s\", \"interval\": %.1f, "
            "\"min\": %g, \"max\": %g}\n",
            cost, w->autoc.mtbf, w->autoc.source ? w->autoc.source : "",
            w->interval, w->autoc.min_interval, w->autoc.max_interval);
    if (fclose(f) == 0)
        rename(tmp, path);
    else
        unlink(tmp);
}

/* --checkpoint=auto: ask for a checkpoint when the interval is up. */
static void ckpt_watch_ask(struct ckpt_watch *w)
{
    uint64_t now = uv_now(w->timer.loop);
    double cost = ckpt_job_cost(w->root, w->nranks);
    double t = ckpt_interval_daly(cost, w->autoc.mtbf, w->autoc.min_interval,
                                  w->autoc.max_interval);

    if (t != w->interval || cost != w->cost) {
        w->interval = t;
        w->cost = cost;
        ckpt_watch_note(w, cost);
    }
    if ((double)(now - w->asked_ms) < t * 1000)
        return;
    w->asked_ms = now;
    if (ckpt_job_request(w->root, w->nranks) < 0)
        LOG(LOG_LEVEL_WARNING, LOG_CKPT, "cannot ask for a checkpoint in '%s'",
            w->root);
}

static void ckpt_watch_cb(uv_timer_t *timer)
{
    struct ckpt_watch *w = timer->data;
    struct ckpt_job_choice choice;
    int rc, keep;

    if (w->autoc.mtbf > 0)
        ckpt_watch_ask(w);
    /* no hashing here: the choice at restart verifies */
    if (ckpt_job_choose(w->root, w->nranks, false, &choice, NULL) < 0
        || choice.version <= w->newest)
        return;
    /* The two newest job-wide versions stay: should the newest prove
     * damaged at a restart, the one before it is whole on every rank.
     * KEEP pins the older, and what is newer. */
    keep = choice.previous ? choice.previous : choice.version;
    rc = ckpt_job_keep(w->root, w->nranks, keep);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_CKPT, "cannot record version %d in '%s': %s",
            keep, w->root, strerror(-rc));
        return;
    }
    LOG(LOG_LEVEL_DEBUG, LOG_CKPT, "version %d committed by every rank",
        choice.version);
    w->newest = choice.version;
    w->kept = keep;
    /* what came before is no restart's any more */
    ckpt_job_prune(w->root, w->nranks, keep, w->newest);
}

int ckpt_watch_start(struct ckpt_watch *w,
                     uv_loop_t *loop,
                     const char *root,
                     int nranks,
                     const struct ckpt_watch_auto *autoc)
{
    int rc;

    *w = (struct ckpt_watch){.root = root, .nranks = nranks};
    if (autoc)
        w->autoc = *autoc;
    if (!root)
        return 0;
    rc = uv_timer_init(loop, &w->timer);
    if (rc < 0) {
        w->root = NULL;
        return rc;
    }
    w->timer.data = w;
    w->asked_ms = uv_now(loop);
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
