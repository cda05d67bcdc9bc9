/* SPDX-License-Identifier: MIT */
/* owner_policy.c - the lend/suspend/vacate state machine. */
#include "runtime/owner/owner_policy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/owner/owner_window.h"

enum { OWNER_WINDOW_WORDS = OWNER_WINDOW_TEXT_MAX + 40 };

void owner_thresholds_default(struct owner_thresholds *t)
{
    *t = (struct owner_thresholds){
        .lend_idle = 15 * 60,
        .lend_load = 0.3,
        .active_idle = 60,
        .suspend_load = 0.5,
        .suspend_load_for = 2 * 60,
        .continue_idle = 5 * 60,
        .vacate_after = 10 * 60,
        .vacate_grace = 60,
    };
}

void owner_policy_init(struct owner_policy *p,
                       enum owner_mode mode,
                       const struct owner_thresholds *t,
                       double now)
{
    memset(p, 0, sizeof(*p));
    p->mode = mode;
    p->t = *t;
    p->t.active_idle = fmin(p->t.active_idle, p->t.lend_idle);
    p->t.continue_idle = fmin(p->t.continue_idle, p->t.lend_idle);
    /* input older than continue_idle must not count as the owner back,
     * or jobs would be continued and stopped again each step */
    p->t.active_idle = fmin(p->t.active_idle, p->t.continue_idle);
    p->state = mode == OWNER_MODE_DEDICATED ? OWNER_STATE_DEDICATED
                                            : OWNER_STATE_PRESENT;
    p->since = now;
    p->load_high_since = -1;
    p->load_low_since = now;
}

static void say(char *reason, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *reason, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (!reason || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
}

static enum owner_action policy_move(struct owner_policy *p,
                                     double now,
                                     enum owner_state to,
                                     enum owner_action action)
{
    p->state = to;
    p->since = now;
    return action;
}

/* How long the load has been low (HUGE_VAL without a load source). */
static double policy_load_low_for(const struct owner_policy *p,
                                  double now,
                                  const struct owner_inputs *in)
{
    if (!in->load_present)
        return HUGE_VAL;
    return p->load_low_since < 0 ? 0 : now - p->load_low_since;
}

/* The words for the input part of a reason. */
static void input_words(const struct owner_inputs *in, char *buf, size_t size)
{
    if (in->input_present)
        snprintf(buf, size, "input idle %.0f s", in->idle);
    else
        snprintf(buf, size, "no input source present");
}

/* The words for a reason about the window; inside says which side. */
static void
window_words(const struct owner_inputs *in, bool inside, char *buf, size_t size)
{
    snprintf(buf, size, "%s the lending window%s%s",
             inside ? "inside" : "outside", in->window ? " " : "",
             in->window ? in->window : "");
}

/* Leave a lending state because the window closed: suspend the work
 * there, or close at once when there is none. */
static enum owner_action policy_close(struct owner_policy *p,
                                      double now,
                                      const struct owner_inputs *in,
                                      char *reason,
                                      size_t size)
{
    char words[OWNER_WINDOW_WORDS];

    window_words(in, false, words, sizeof(words));
    if (!in->busy) {
        say(reason, size, "%s", words);
        return policy_move(p, now, OWNER_STATE_CLOSED, OWNER_ACTION_NONE);
    }
    say(reason, size, "%s: the work here is suspended", words);
    return policy_move(p, now, OWNER_STATE_SUSPENDED, OWNER_ACTION_SUSPEND);
}

static enum owner_action policy_desktop(struct owner_policy *p,
                                        double now,
                                        const struct owner_inputs *in,
                                        char *reason,
                                        size_t size)
{
    const struct owner_thresholds *t = &p->t;
    double idle = in->input_present ? in->idle : HUGE_VAL;
    double low_for = policy_load_low_for(p, now, in);
    double load = in->load_present ? in->load : 0;
    bool away = idle >= t->lend_idle && low_for >= t->active_idle;
    char words[64], wwords[OWNER_WINDOW_WORDS];

    input_words(in, words, sizeof(words));
    window_words(in, !in->outside_window, wwords, sizeof(wwords));
    switch (p->state) {
    case OWNER_STATE_PRESENT:
        if (in->outside_window) {
            say(reason, size, "%s", wwords);
            return policy_move(p, now, OWNER_STATE_CLOSED, OWNER_ACTION_NONE);
        }
        if (away) {
            say(reason, size, "owner away: %s, load %.2f", words, load);
            return policy_move(p, now, OWNER_STATE_AWAY, OWNER_ACTION_LEND);
        }
        break;
    case OWNER_STATE_AWAY:
        if (idle < t->active_idle) {
            say(reason, size, "owner input %.0f s ago", idle);
            return policy_move(p, now, OWNER_STATE_SUSPENDED,
                               OWNER_ACTION_SUSPEND);
        }
        if (p->load_high_since >= 0
            && now - p->load_high_since >= t->suspend_load_for) {
            say(reason, size, "owner load %.2f, at least %.2f for %.0f s", load,
                t->suspend_load, now - p->load_high_since);
            return policy_move(p, now, OWNER_STATE_SUSPENDED,
                               OWNER_ACTION_SUSPEND);
        }
        if (in->outside_window)
            return policy_close(p, now, in, reason, size);
        break;
    case OWNER_STATE_SUSPENDED:
        if (now - p->since >= t->vacate_after) {
            say(reason, size, "suspended for %.0f s", now - p->since);
            return policy_move(p, now, OWNER_STATE_VACATING,
                               OWNER_ACTION_VACATE);
        }
        if (!in->outside_window && idle >= t->continue_idle
            && low_for >= t->continue_idle) {
            say(reason, size, "owner quiet again: %s, load %.2f", words, load);
            return policy_move(p, now, OWNER_STATE_AWAY, OWNER_ACTION_CONTINUE);
        }
        break;
    case OWNER_STATE_VACATING:
        if (now - p->since >= t->vacate_grace) {
            say(reason, size, "vacated: %.0f s of grace over%s%s",
                now - p->since, in->outside_window ? ", " : "",
                in->outside_window ? wwords : "");
            return policy_move(p, now,
                               in->outside_window ? OWNER_STATE_CLOSED
                                                  : OWNER_STATE_PRESENT,
                               OWNER_ACTION_KILL);
        }
        break;
    case OWNER_STATE_CLOSED:
        if (in->outside_window)
            break;
        if (away) {
            say(reason, size, "%s, owner away: %s, load %.2f", wwords, words,
                load);
            return policy_move(p, now, OWNER_STATE_AWAY, OWNER_ACTION_LEND);
        }
        say(reason, size, "%s", wwords);
        return policy_move(p, now, OWNER_STATE_PRESENT, OWNER_ACTION_NONE);
    case OWNER_STATE_DEDICATED:
        /* not a desktop state: start over */
        return policy_move(p, now, OWNER_STATE_PRESENT, OWNER_ACTION_NONE);
    }
    return OWNER_ACTION_NONE;
}

/* Mode dedicated: always lend, but outside the lending window. */
static enum owner_action policy_dedicated(struct owner_policy *p,
                                          double now,
                                          const struct owner_inputs *in,
                                          char *reason,
                                          size_t size)
{
    char wwords[OWNER_WINDOW_WORDS];

    window_words(in, !in->outside_window, wwords, sizeof(wwords));
    switch (p->state) {
    case OWNER_STATE_DEDICATED:
        if (in->outside_window)
            return policy_close(p, now, in, reason, size);
        break;
    case OWNER_STATE_SUSPENDED:
        if (now - p->since >= p->t.vacate_after) {
            say(reason, size, "suspended for %.0f s", now - p->since);
            return policy_move(p, now, OWNER_STATE_VACATING,
                               OWNER_ACTION_VACATE);
        }
        if (!in->outside_window) {
            say(reason, size, "%s again", wwords);
            return policy_move(p, now, OWNER_STATE_DEDICATED,
                               OWNER_ACTION_CONTINUE);
        }
        break;
    case OWNER_STATE_VACATING:
        if (now - p->since >= p->t.vacate_grace) {
            say(reason, size, "vacated: %.0f s of grace over", now - p->since);
            return policy_move(p, now,
                               in->outside_window ? OWNER_STATE_CLOSED
                                                  : OWNER_STATE_DEDICATED,
                               OWNER_ACTION_KILL);
        }
        break;
    case OWNER_STATE_CLOSED:
        if (!in->outside_window) {
            say(reason, size, "%s", wwords);
            return policy_move(p, now, OWNER_STATE_DEDICATED,
                               OWNER_ACTION_LEND);
        }
        break;
    case OWNER_STATE_AWAY:
    case OWNER_STATE_PRESENT:
        /* not a dedicated state: start over */
        return policy_move(p, now, OWNER_STATE_DEDICATED, OWNER_ACTION_NONE);
    }
    return OWNER_ACTION_NONE;
}

enum owner_action owner_policy_step(struct owner_policy *p,
                                    double now,
                                    const struct owner_inputs *in,
                                    char *reason,
                                    size_t size)
{
    /* the load's runs above and below its thresholds */
    if (in->load_present && in->load >= p->t.suspend_load) {
        if (p->load_high_since < 0)
            p->load_high_since = now;
    } else {
        p->load_high_since = -1;
    }
    if (!in->load_present || in->load <= p->t.lend_load) {
        if (p->load_low_since < 0)
            p->load_low_since = now;
    } else {
        p->load_low_since = -1;
    }
    if (p->mode == OWNER_MODE_DESKTOP)
        return policy_desktop(p, now, in, reason, size);
    if (p->mode == OWNER_MODE_DEDICATED)
        return policy_dedicated(p, now, in, reason, size);
    return OWNER_ACTION_NONE;
}

bool owner_state_lends(enum owner_state state)
{
    return state == OWNER_STATE_AWAY || state == OWNER_STATE_DEDICATED;
}

const char *owner_state_name(enum owner_state state)
{
    switch (state) {
    case OWNER_STATE_DEDICATED:
        return "dedicated";
    case OWNER_STATE_AWAY:
        return "away";
    case OWNER_STATE_PRESENT:
        return "present";
    case OWNER_STATE_SUSPENDED:
        return "suspended";
    case OWNER_STATE_VACATING:
        return "vacating";
    case OWNER_STATE_CLOSED:
        return "closed";
    }
    return "unknown";
}

const char *owner_action_name(enum owner_action action)
{
    static const char *const names[] = {"none",     "lend",   "suspend",
                                        "continue", "vacate", "kill"};

    return (unsigned)action < sizeof(names) / sizeof(names[0]) ? names[action]
                                                               : "unknown";
}

int owner_mode_parse(const char *text, enum owner_mode *mode)
{
    if (strcmp(text, "desktop") == 0)
        *mode = OWNER_MODE_DESKTOP;
    else if (strcmp(text, "dedicated") == 0)
        *mode = OWNER_MODE_DEDICATED;
    else if (strcmp(text, "never") == 0)
        *mode = OWNER_MODE_NEVER;
    else
        return -EINVAL;
    return 0;
}
