/* SPDX-License-Identifier: MIT */
/* owner_policy.h - when a workstation lends its cores, and what happens to
 * the jobs on it when its owner comes back: a pure state machine, with
 * the clock and the signals (owner_source.h) given by the caller.
 *
 * Three modes. `dedicated`: always lend (state DEDICATED; a cluster node,
 * and the daemon's default). `never`: never lend (state PRESENT). `desktop`
 * follows HTCondor's desktop policy (condor_config's START, SUSPEND,
 * CONTINUE, PREEMPT and KILL), with these states:
 *
 *   PRESENT --(input idle >= lend_idle, load low)------------> AWAY
 *   AWAY ----(input within active_idle,
 *             or load >= suspend_load for suspend_load_for)--> SUSPENDED
 *   SUSPENDED --(quiet for continue_idle)--------------------> AWAY
 *   SUSPENDED --(suspended for vacate_after)-----------------> VACATING
 *   VACATING --(vacate_grace passed)-------------------------> PRESENT
 *
 * Only AWAY and DEDICATED lend cores. "Load low" is the owner's load at
 * most lend_load without a break for min(active_idle, lend_idle) seconds
 * to lend and continue_idle to continue ("quiet": input idle and load low
 * both that long). A missing input source counts as no input (the reason
 * says so); a missing load source as no load.
 *
 * Hysteresis: input suspends at once but continuing needs continue_idle
 * of quiet, so an owner who comes and goes at shorter intervals keeps
 * the jobs suspended instead of stopping and starting them each time;
 * load suspends only when it stays high for suspend_load_for, and a load
 * between lend_load and suspend_load neither suspends nor lends. A
 * suspended job is vacated after vacate_after whatever the owner does.
 *
 * A lending window (owner_window.h; the caller says at each step whether
 * now is outside it) adds a state CLOSED in modes desktop and dedicated:
 * outside the window the node lends nothing, and work running there is
 * treated as if the owner were present, so the suspend/vacate path moves
 * it away:
 *
 *   PRESENT, or AWAY/DEDICATED with no work here --(outside)--> CLOSED
 *   AWAY, DEDICATED with work here --(outside)----------------> SUSPENDED
 *   SUSPENDED --(outside): no continue; vacate_after still vacates
 *   VACATING --(vacate_grace passed, outside)-----------------> CLOSED
 *   CLOSED --(inside; desktop: owner away as PRESENT asks)----> AWAY
 *   CLOSED --(inside; desktop: otherwise)---------------------> PRESENT
 *   CLOSED --(inside; dedicated)------------------------------> DEDICATED
 *   SUSPENDED --(inside again; dedicated)---------------------> DEDICATED
 *
 * Mode never ignores the window. Without one (outside_window always
 * false) nothing of this happens.
 *
 * Each step makes at most one transition and names the action the caller
 * must take with it, and the reason in words. Pure, not thread-safe. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_POLICY_H
#define SHOAL_RUNTIME_OWNER_OWNER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

enum owner_mode {
    OWNER_MODE_DEDICATED,
    OWNER_MODE_DESKTOP,
    OWNER_MODE_NEVER,
};

enum owner_state {
    OWNER_STATE_DEDICATED,
    OWNER_STATE_AWAY,
    OWNER_STATE_PRESENT,
    OWNER_STATE_SUSPENDED,
    OWNER_STATE_VACATING,
    OWNER_STATE_CLOSED, /* outside the lending window */
};

enum owner_action {
    OWNER_ACTION_NONE,
    OWNER_ACTION_LEND,     /* lend the cores again */
    OWNER_ACTION_SUSPEND,  /* take the cores back, stop every job process */
    OWNER_ACTION_CONTINUE, /* continue them and lend the cores again */
    OWNER_ACTION_VACATE,   /* ask them to checkpoint and exit, SIGTERM */
    OWNER_ACTION_KILL,     /* SIGKILL whatever is left */
};

/* Seconds, and loads in cores (1.0: one core busy). */
struct owner_thresholds {
    double lend_idle;        /* input idle before lending (900) */
    double lend_load;        /* owner load at most this to lend (0.3) */
    double active_idle;      /* input this recent is the owner (60) */
    double suspend_load;     /* owner load at least this ... (0.5) */
    double suspend_load_for; /* ... this long suspends (120) */
    double continue_idle;    /* quiet this long continues (300) */
    double vacate_after;     /* suspended this long vacates (600) */
    double vacate_grace;     /* SIGTERM to SIGKILL (60) */
};

/* What the sources said at one step. */
struct owner_inputs {
    bool input_present; /* some input source is present */
    double idle;        /* the least idle time of those present */
    bool load_present;
    double load;
    bool outside_window; /* now is outside the lending window */
    const char *window;  /* the window's text, for reasons; or NULL */
    bool busy;           /* work holds cores here (gang claims, tasks) */
};

struct owner_policy {
    enum owner_mode mode;
    struct owner_thresholds t;
    enum owner_state state;
    double since;           /* when state was entered */
    double load_high_since; /* load >= suspend_load since; < 0: it is not */
    double load_low_since;  /* load <= lend_load since; < 0: it is not */
};

/* HTCondor's desktop defaults (the values in parentheses above). */
void owner_thresholds_default(struct owner_thresholds *t);

/* Start p in mode at now: DEDICATED, PRESENT (desktop: nothing lent
 * until the owner is seen away) or PRESENT (never). t is copied, with
 * active_idle and continue_idle taken as at most lend_idle (an owner
 * idle long enough to lend to is idle enough to continue). */
void owner_policy_init(struct owner_policy *p,
                       enum owner_mode mode,
                       const struct owner_thresholds *t,
                       double now);

/* Advance p to now (seconds, monotonic, never going back) given in.
 * Returns the action the transition made asks for (OWNER_ACTION_NONE
 * when p stays where it is), and writes why into reason (size bytes;
 * may be NULL) when there was a transition. */
enum owner_action owner_policy_step(struct owner_policy *p,
                                    double now,
                                    const struct owner_inputs *in,
                                    char *reason,
                                    size_t size);

/* Whether state lends the node's cores. */
bool owner_state_lends(enum owner_state state);

/* "dedicated", "away", "present", "suspended", "vacating", "closed"
 * (static). */
const char *owner_state_name(enum owner_state state);

/* "none", "lend", "suspend", "continue", "vacate", "kill" (static). */
const char *owner_action_name(enum owner_action action);

/* Parse "desktop", "dedicated" or "never" into *mode: 0 or -EINVAL. */
int owner_mode_parse(const char *text, enum owner_mode *mode);

#endif
