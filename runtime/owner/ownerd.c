/* SPDX-License-Identifier: MIT */
/* ownerd.c - the owner service: sample, decide, act, publish. */
#include "runtime/owner/ownerd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "runtime/owner/owner_evdev.h"
#include "runtime/owner/owner_load.h"
#include "runtime/owner/owner_logind.h"
#include "runtime/owner/owner_procs.h"
#include "runtime/owner/owner_tty.h"
#include "runtime/owner/owner_window.h"
#include "runtime/owner/owner_x11.h"
#include "util/log.h"
#include "util/param.h"

enum {
    OWNERD_SOURCES_MAX = 5,
};

/* Half a second: a suspend follows the owner's input within about 0.5 s
 * plus the stop itself (HTCondor polls every 5 s), and a sample (a stat
 * per terminal, one X query, a non-blocking read per input device, one
 * D-Bus round trip to logind, /proc/stat and the jobs' accounting) costs
 * well under a millisecond of the owner's CPU. */
PARAM_DEFINE(ownerd_sample_interval_param,
             "owner_sample_interval",
             PARAM_TYPE_DOUBLE,
             "0.5",
             "desktop mode: seconds between two looks at the owner's "
             "presence (0.05 to 10)");

PARAM_DEFINE(ownerd_active_idle_param,
             "owner_active_idle",
             PARAM_TYPE_DOUBLE,
             "60",
             "desktop mode: input this many seconds old or newer means the "
             "owner is back (at most --owner-idle)");
PARAM_DEFINE(ownerd_continue_idle_param,
             "owner_continue_idle",
             PARAM_TYPE_DOUBLE,
             "300",
             "desktop mode: seconds of owner quiet that continue suspended "
             "jobs (at most --owner-idle)");
PARAM_DEFINE(ownerd_lend_load_param,
             "owner_lend_load",
             PARAM_TYPE_DOUBLE,
             "0.3",
             "desktop mode: the owner's CPU load (cores) at most this to lend");
PARAM_DEFINE(ownerd_suspend_load_param,
             "owner_suspend_load",
             PARAM_TYPE_DOUBLE,
             "0.5",
             "desktop mode: the owner's CPU load (cores) at least this for "
             "owner_suspend_load_for seconds suspends the jobs");
PARAM_DEFINE(ownerd_suspend_load_for_param,
             "owner_suspend_load_for",
             PARAM_TYPE_DOUBLE,
             "120",
             "desktop mode: seconds of high owner load that suspend");
PARAM_DEFINE(ownerd_vacate_grace_param,
             "owner_vacate_grace",
             PARAM_TYPE_DOUBLE,
             "60",
             "seconds a vacated job has to checkpoint and exit before SIGKILL");
PARAM_DEFINE(ownerd_utmp_param,
             "owner_utmp",
             PARAM_TYPE_STRING,
             NULL,
             "utmp file whose sessions' terminals are the owner's keyboard "
             "(unset: the system's; /dev/null: none)");
PARAM_DEFINE(ownerd_evdev_dir_param,
             "owner_evdev_dir",
             PARAM_TYPE_STRING,
             "/dev/input",
             "directory whose event* input devices are the owner's keyboard "
             "and pointer");

struct ownerd {
    daemon_t *d;
    cores_t *cores;
    struct owner_policy policy;
    struct owner_source *srcs[OWNERD_SOURCES_MAX];
    struct owner_source *load; /* one of srcs, or NULL */
    int last_rc[OWNERD_SOURCES_MAX];
    char last_absent[OWNERD_SOURCES_MAX][OWNER_SOURCE_ABSENT_MAX];
    size_t nsrcs;
    uv_timer_t *timer; /* freed by its close callback */
    uint64_t interval_ms;
    struct owner_window window;
    bool has_window;
    struct owner_inputs last;
    pid_t self;
    /* counters for `shoal status --stats` */
    long long transitions[OWNER_ACTION_KILL + 1];
    long long stopped;   /* processes stopped by the last suspend */
    long long stop_us;   /* how long stopping them took */
    long long signalled; /* processes signalled by the last action */
    ownerd_hold_fn on_hold;
    void *on_hold_arg;
    bool held;     /* told the listener: held */
    bool vacating; /* from a VACATE to the next LEND */
    time_t since;  /* when the state was entered (wall clock) */
};

int ownerd_config_from_params(struct ownerd_config *config,
                              shoal_error_t *error)
{
    struct owner_thresholds *t = &config->thresholds;
    int rc;

    memset(config, 0, sizeof(*config));
    config->mode = OWNER_MODE_DEDICATED;
    owner_thresholds_default(t);
    if ((rc = param_get_double(&ownerd_active_idle_param, 0, &t->active_idle,
                               error))
            < 0
        || (rc = param_get_double(&ownerd_continue_idle_param, 0,
                                  &t->continue_idle, error))
               < 0
        || (rc = param_get_double(&ownerd_lend_load_param, 0, &t->lend_load,
                                  error))
               < 0
        || (rc = param_get_double(&ownerd_suspend_load_param, 0,
                                  &t->suspend_load, error))
               < 0
        || (rc = param_get_double(&ownerd_suspend_load_for_param, 0,
                                  &t->suspend_load_for, error))
               < 0
        || (rc = param_get_double(&ownerd_vacate_grace_param, 0,
                                  &t->vacate_grace, error))
               < 0
        || (rc = param_get_double(&ownerd_sample_interval_param, 0,
                                  &config->sample_interval, error))
               < 0)
        return rc;
    if (config->sample_interval < 0.05 || config->sample_interval > 10)
        return shoal_errprintf(error, -EINVAL,
                               "SHOAL_OWNER_SAMPLE_INTERVAL: %g is not "
                               "between 0.05 and 10 seconds",
                               config->sample_interval);
    config->utmp = param_get_string(&ownerd_utmp_param);
    return 0;
}

static double mono_s(void)
{
    return (double)uv_hrtime() / 1e9;
}

static double real_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum node_owner ownerd_node_owner(enum owner_state state)
{
    switch (state) {
    case OWNER_STATE_DEDICATED:
        return NODE_OWNER_DEDICATED;
    case OWNER_STATE_AWAY:
        return NODE_OWNER_AWAY;
    case OWNER_STATE_PRESENT:
        return NODE_OWNER_PRESENT;
    case OWNER_STATE_SUSPENDED:
        return NODE_OWNER_SUSPENDED;
    case OWNER_STATE_VACATING:
        return NODE_OWNER_VACATING;
    case OWNER_STATE_CLOSED:
        return NODE_OWNER_CLOSED;
    }
    return NODE_OWNER_UNKNOWN;
}

/* Tell the pool the owner's state, and lend or withhold the cores. The
 * ledger first: a placement that reads the new state must not find cores
 * still free. */
static void ownerd_publish(struct ownerd *o)
{
    struct node_summary s;

    cores_set_withheld(o->cores, !owner_state_lends(o->policy.state));
    s = *daemon_summary(o->d);
    if (s.owner == ownerd_node_owner(o->policy.state))
        return;
    s.owner = (uint8_t)ownerd_node_owner(o->policy.state);
    daemon_set_summary(o->d, &s);
}

/* Stop every job process: the walk is repeated by owner_procs_signal()
 * until no new process shows up, so a job forking at that moment is
 * caught too. */
static void ownerd_stop_jobs(struct ownerd *o)
{
    uint64_t start = uv_hrtime();
    int n = owner_procs_signal(o->self, SIGSTOP, 'T');

    o->stop_us = (long long)((uv_hrtime() - start) / 1000);
    o->stopped = n > 0 ? n : 0;
    if (n < 0)
        LOG(LOG_LEVEL_ERR, LOG_OWNER, "cannot stop the jobs: %s", strerror(-n));
    else
        LOG(LOG_LEVEL_NOTICE, LOG_OWNER, "%d job processes stopped in %lld us",
            n, o->stop_us);
}

void ownerd_on_hold(ownerd_t *o, ownerd_hold_fn fn, void *arg)
{
    o->on_hold = fn;
    o->on_hold_arg = arg;
}

bool ownerd_held(const ownerd_t *o)
{
    return o->held;
}

bool ownerd_vacating(const ownerd_t *o)
{
    return o->vacating;
}

static void
ownerd_tell_hold(struct ownerd *o, bool held, bool vacating, const char *reason)
{
    if (o->held == held && !vacating)
        return;
    o->held = held;
    if (o->on_hold)
        o->on_hold(held, vacating, reason, o->on_hold_arg);
}

static void
ownerd_act(struct ownerd *o, enum owner_action action, const char *reason)
{
    int n = 0;

    switch (action) {
    case OWNER_ACTION_NONE:
        break;
    case OWNER_ACTION_LEND:
        o->vacating = false;
        break;
    case OWNER_ACTION_SUSPEND:
        ownerd_stop_jobs(o);
        ownerd_tell_hold(o, true, false, reason);
        break;
    case OWNER_ACTION_CONTINUE:
        n = owner_procs_signal(o->self, SIGCONT, 0);
        LOG(LOG_LEVEL_NOTICE, LOG_OWNER, "%d job processes continued", n);
        ownerd_tell_hold(o, false, false, reason);
        break;
    case OWNER_ACTION_VACATE:
        o->vacating = true;
        /* the job's other nodes go on first: their ranks take part in the
         * checkpoint asked for below */
        ownerd_tell_hold(o, false, true, reason);
        /* what can checkpoint is asked to, and given the grace period to
         * do it and exit; the rest is asked to stop now */
        n = owner_procs_request_ckpt(o->self, "exit");
        if (n > 0)
            LOG(LOG_LEVEL_NOTICE, LOG_OWNER,
                "%d ranks asked to checkpoint and exit", n);
        /* stopped processes cannot checkpoint, nor act on SIGTERM */
        owner_procs_signal(o->self, SIGCONT, 0);
        n = owner_procs_signal_unasked(o->self, SIGTERM);
        LOG(LOG_LEVEL_NOTICE, LOG_OWNER,
            "%d job processes without checkpoints sent SIGTERM; what is "
            "left gets SIGKILL in %.0f s",
            n > 0 ? n : 0, o->policy.t.vacate_grace);
        break;
    case OWNER_ACTION_KILL:
        n = owner_procs_signal(o->self, SIGKILL, 'Z');
        if (n > 0)
            LOG(LOG_LEVEL_NOTICE, LOG_OWNER, "%d job processes killed", n);
        break;
    }
    o->signalled = n > 0 ? n : 0;
}

/* Say once when a source comes or goes, or why it is not present when
 * that changes, so "not present" is never silent. */
static void ownerd_note_sources(struct ownerd *o, const int *rcs)
{
    for (size_t i = 0; i < o->nsrcs; i++) {
        const char *why = rcs[i] == -ENODEV ? o->srcs[i]->absent : "";

        if (rcs[i] == o->last_rc[i]
            && (rcs[i] == 0 || strcmp(why, o->last_absent[i]) == 0))
            continue;
        if (rcs[i] == 0)
            LOG(LOG_LEVEL_INFO, LOG_OWNER, "source %s: present",
                o->srcs[i]->name);
        else if (rcs[i] == -ENODEV)
            LOG(LOG_LEVEL_INFO, LOG_OWNER, "source %s: not present%s%s",
                o->srcs[i]->name, *why ? ": " : "", why);
        else
            LOG(LOG_LEVEL_INFO, LOG_OWNER, "source %s: not present: %s",
                o->srcs[i]->name, strerror(-rcs[i]));
        o->last_rc[i] = rcs[i];
        snprintf(o->last_absent[i], sizeof(o->last_absent[i]), "%s", why);
    }
}

/* The window's part of the inputs: whether the local time now is
 * outside it, and whether work holds cores here. */
static void ownerd_read_window(struct ownerd *o, struct owner_inputs *in)
{
    time_t now = time(NULL);
    struct tm tm;

    if (!o->has_window)
        return;
    in->window = o->window.text;
    in->outside_window =
        localtime_r(&now, &tm) && !owner_window_contains(&o->window, &tm);
    in->busy = cores_busy(o->cores);
}

/* One step of the policy on in: log a transition, publish it, act. */
static void ownerd_step(struct ownerd *o, const struct owner_inputs *in)
{
    enum owner_state before = o->policy.state;
    enum owner_action action;
    char reason[OWNER_WINDOW_TEXT_MAX + 200] = "";

    action =
        owner_policy_step(&o->policy, mono_s(), in, reason, sizeof(reason));
    if (o->policy.state != before) {
        LOG(LOG_LEVEL_NOTICE, LOG_OWNER, "%s -> %s (%s): %s",
            owner_state_name(before), owner_state_name(o->policy.state),
            owner_action_name(action), reason);
        o->transitions[action]++;
        o->since = time(NULL);
        /* the cores first, so nothing new lands on what is stopped */
        ownerd_publish(o);
        ownerd_act(o, action, reason);
    } else if (o->policy.state == OWNER_STATE_SUSPENDED) {
        /* a task leased before the cores were withheld may start now */
        int n = owner_procs_signal(o->self, SIGSTOP, 'T');

        if (n > o->stopped)
            o->stopped = n;
    }
}

static void ownerd_tick(uv_timer_t *timer)
{
    struct ownerd *o = timer->data;
    int rcs[OWNERD_SOURCES_MAX];

    owner_sources_read(o->srcs, o->nsrcs, real_s(), &o->last, rcs);
    ownerd_note_sources(o, rcs);
    ownerd_read_window(o, &o->last);
    ownerd_step(o, &o->last);
}

static void ownerd_stats(daemon_t *d, json_t *stats, void *arg)
{
    struct ownerd *o = arg;
    json_t *g;

    (void)d;
    g = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state",
        owner_state_name(o->policy.state), "idle_s",
        (json_int_t)(o->last.input_present ? o->last.idle : -1), "load_milli",
        (json_int_t)(o->last.load_present ? o->last.load * 1000 : -1),
        "jobs_load_milli",
        (json_int_t)(o->load ? owner_load_source_jobs(o->load) * 1000 : 0),
        "suspends", (json_int_t)o->transitions[OWNER_ACTION_SUSPEND],
        "continues", (json_int_t)o->transitions[OWNER_ACTION_CONTINUE],
        "vacates", (json_int_t)o->transitions[OWNER_ACTION_VACATE], "stopped",
        (json_int_t)o->stopped, "stop_us", (json_int_t)o->stop_us, "lends",
        (json_int_t)o->transitions[OWNER_ACTION_LEND]);
    /* "suspended since": the state's start, seconds since the epoch */
    if (g)
        json_object_set_new(g, "since", json_integer((json_int_t)o->since));
    if (g && o->has_window) {
        json_object_set_new(g, "window", json_string(o->window.text));
        json_object_set_new(g, "inside_window",
                            json_boolean(!o->last.outside_window));
    }
    if (g)
        json_object_set_new(stats, "owner", g);
}

static void free_handle_cb(uv_handle_t *handle)
{
    free(handle);
}

/* The sources of desktop mode: terminals, the X display, the input
 * devices, logind, the load. */
static int ownerd_add_sources(struct ownerd *o,
                              const struct ownerd_config *config)
{
    struct owner_source *s;
    int rc;

    rc = owner_tty_source_create(config->utmp, config->ttys, &s);
    if (rc < 0)
        return rc;
    o->srcs[o->nsrcs++] = s;
    rc = owner_x11_source_create(config->display, &s);
    if (rc == -ENOTSUP)
        LOG(LOG_LEVEL_INFO, LOG_OWNER,
            "source x11: not present: shoal was built without libXss");
    else if (rc < 0)
        return rc;
    else
        o->srcs[o->nsrcs++] = s;
    rc = owner_evdev_source_create(param_get_string(&ownerd_evdev_dir_param),
                                   &s);
    if (rc < 0)
        return rc;
    o->srcs[o->nsrcs++] = s;
    rc = owner_logind_source_create(&s);
    if (rc == -ENOTSUP)
        LOG(LOG_LEVEL_INFO, LOG_OWNER,
            "source logind: not present: shoal was built without libsystemd");
    else if (rc < 0)
        return rc;
    else
        o->srcs[o->nsrcs++] = s;
    rc = owner_load_source_create(o->self, &s);
    if (rc < 0)
        return rc;
    o->srcs[o->nsrcs++] = o->load = s;
    for (size_t i = 0; i < o->nsrcs; i++)
        o->last_rc[i] = 1; /* neither present nor not: say it once */
    return 0;
}

int ownerd_attach(daemon_t *d,
                  cores_t *cores,
                  const struct ownerd_config *config,
                  ownerd_t **out,
                  shoal_error_t *error)
{
    struct ownerd *o = calloc(1, sizeof(*o));
    int rc = -ENOMEM;

    if (!o)
        goto error;
    o->d = d;
    o->cores = cores;
    o->self = getpid();
    o->since = time(NULL);
    owner_policy_init(&o->policy, config->mode, &config->thresholds, mono_s());
    if (config->window && config->mode != OWNER_MODE_NEVER) {
        rc = owner_window_parse(config->window, &o->window, error);
        if (rc < 0) {
            ownerd_detach(o);
            return rc;
        }
        o->has_window = true;
    }
    if (config->mode == OWNER_MODE_DESKTOP
        && (rc = ownerd_add_sources(o, config)) < 0)
        goto error;
    if (config->mode == OWNER_MODE_DESKTOP || o->has_window) {
        o->timer = calloc(1, sizeof(*o->timer));
        if (!o->timer) {
            rc = -ENOMEM;
            goto error;
        }
        uv_timer_init(daemon_loop(d), o->timer);
        uv_unref((uv_handle_t *)o->timer);
        o->timer->data = o;
        o->interval_ms = (uint64_t)(config->sample_interval * 1000.0);
        if (o->interval_ms == 0)
            o->interval_ms = 500;
        uv_timer_start(o->timer, ownerd_tick, 0, o->interval_ms);
    }
    if ((rc = daemon_on_stats(d, ownerd_stats, o)) < 0)
        goto error;
    if (config->window && !o->has_window)
        LOG(LOG_LEVEL_WARNING, LOG_OWNER,
            "lending never: the lending window '%s' has no effect",
            config->window);
    /* outside the window from the start: closed before lending anything
     * (inside it, the first tick decides as before) */
    ownerd_read_window(o, &o->last);
    if (o->last.outside_window)
        ownerd_step(o, &o->last);
    ownerd_publish(o);
    LOG(LOG_LEVEL_NOTICE, LOG_OWNER, "lending: %s%s%s%s, owner %s",
        config->mode == OWNER_MODE_DESKTOP     ? "desktop"
        : config->mode == OWNER_MODE_DEDICATED ? "dedicated"
                                               : "never",
        o->has_window ? ", window '" : "", o->has_window ? o->window.text : "",
        o->has_window ? "'" : "", owner_state_name(o->policy.state));
    *out = o;
    return 0;
error:
    ownerd_detach(o);
    return shoal_errprintf(error, rc, "cannot watch the owner: %s",
                           strerror(-rc));
}

void ownerd_detach(ownerd_t *o)
{
    if (!o)
        return;
    /* jobs left stopped could not even act on their SIGTERM */
    if (o->policy.state == OWNER_STATE_SUSPENDED)
        owner_procs_signal(o->self, SIGCONT, 0);
    if (o->timer)
        uv_close((uv_handle_t *)o->timer, free_handle_cb);
    for (size_t i = 0; i < o->nsrcs; i++)
        owner_source_destroy(o->srcs[i]);
    free(o);
}
