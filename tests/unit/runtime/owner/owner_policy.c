/* SPDX-License-Identifier: MIT */
/* owner_policy.c - the lend/suspend/vacate policy on a fake clock, fed by
 * fake sources: an owner who types at given times, and a load that
 * follows a script. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_policy.h"
#include "runtime/owner/owner_source.h"
#include "runtime/owner/owner_window.h"

TestSuite(owner_policy, .timeout = 10);

/* The fake owner: types every `every` seconds within [from, to) (every 0:
 * never); the load is `high` within [from, to) and `low` otherwise, or
 * alternates every `flap` seconds when flap > 0. absent: no source. */
struct fake {
    double from, to, every;
    double high, low, flap;
    bool absent;
};

static int kb_sample(struct owner_source *src, double now, double *value)
{
    const struct fake *f = src->impl;
    double last = -1e9;

    if (f->absent)
        return -ENODEV;
    if (f->every > 0 && now >= f->from)
        last =
            f->from
            + f->every * floor((fmin(now, f->to - 1e-9) - f->from) / f->every);
    *value = now - last;
    return 0;
}

static int cpu_sample(struct owner_source *src, double now, double *value)
{
    const struct fake *f = src->impl;

    if (f->absent)
        return -ENODEV;
    if (f->flap > 0)
        *value = ((long)(now / f->flap) % 2) ? f->high : f->low;
    else
        *value = now >= f->from && now < f->to ? f->high : f->low;
    return 0;
}

static const struct owner_source_ops kb_ops = {.sample = kb_sample};
static const struct owner_source_ops cpu_ops = {.sample = cpu_sample};

/* The run: a policy, its sources, the actions counted, the last reason.
 * With a lending window, second 0 of the fake clock is `monday_at`
 * seconds after a Monday's midnight, local time (a week without daylight
 * saving changes: the window reads broken-down time, owner_window.c's
 * tests cover the changes), and work holds cores within [busy_from,
 * busy_to). */
struct run {
    struct owner_policy p;
    struct fake kb, cpu;
    struct owner_window w;
    bool windowed;
    double monday_at, busy_from, busy_to;
    int actions[OWNER_ACTION_KILL + 1];
    double first[OWNER_ACTION_KILL + 1];    /* when each action first came */
    double entered[OWNER_STATE_CLOSED + 1]; /* when each state first came */
    bool seen[OWNER_STATE_CLOSED + 1];
    int transitions;
    char reason[400];
};

/* Start r in mode at time 0 with the default thresholds. */
static void start(struct run *r, enum owner_mode mode)
{
    struct owner_thresholds t;

    memset(r, 0, sizeof(*r));
    owner_thresholds_default(&t);
    owner_policy_init(&r->p, mode, &t, 0);
}

/* Step r each second from `from` to `to` (seconds of the fake clock). */
static void drive(struct run *r, double from, double to)
{
    struct owner_source kb = {.ops = &kb_ops,
                              .name = "kb",
                              .kind = OWNER_SOURCE_INPUT,
                              .impl = &r->kb};
    struct owner_source cpu = {.ops = &cpu_ops,
                               .name = "cpu",
                               .kind = OWNER_SOURCE_LOAD,
                               .impl = &r->cpu};
    struct owner_source *srcs[] = {&kb, &cpu};
    struct owner_inputs in;

    for (double now = from; now < to; now += 1) {
        char why[400] = "";
        enum owner_state before = r->p.state;
        enum owner_action a;

        owner_sources_read(srcs, 2, now, &in, NULL);
        if (r->windowed) {
            long t = (long)(r->monday_at + now);
            struct tm tm = {0};

            tm.tm_wday = (int)((t / 86400 + 1) % 7);
            tm.tm_hour = (int)(t % 86400 / 3600);
            tm.tm_min = (int)(t % 3600 / 60);
            in.window = r->w.text;
            in.outside_window = !owner_window_contains(&r->w, &tm);
            in.busy = now >= r->busy_from && now < r->busy_to;
        }
        a = owner_policy_step(&r->p, now, &in, why, sizeof(why));
        if (r->p.state != before) {
            r->transitions++;
            if (!r->seen[r->p.state])
                r->entered[r->p.state] = now;
            r->seen[r->p.state] = true;
            strcpy(r->reason, why);
        }
        if (a == OWNER_ACTION_NONE)
            continue;
        if (r->actions[a]++ == 0)
            r->first[a] = now;
        strcpy(r->reason, why);
    }
}

/* Give r the lending window text, the fake clock's second 0 at day
 * (0 Monday) hh:mm, and work busy over [busy_from, busy_to). */
static void window(struct run *r,
                   const char *text,
                   int day,
                   int hh,
                   int mm,
                   double busy_from,
                   double busy_to)
{
    shoal_error_t error;

    cr_assert(eq(int, owner_window_parse(text, &r->w, &error), 0), "%s",
              error.text);
    r->windowed = true;
    r->monday_at = day * 86400.0 + hh * 3600.0 + mm * 60.0;
    r->busy_from = busy_from;
    r->busy_to = busy_to;
}

#define REASON_IS(r, text) cr_assert(eq(str, (r)->reason, (char *)(text)))

#define STATE_IS(r, s)                                                         \
    cr_assert(eq(str, (char *)owner_state_name((r)->p.state), (char *)(s)))
#define COUNT_IS(r, a, n)                                                      \
    cr_assert(eq(int, (r)->actions[a], n), "%s: %d", owner_action_name(a),     \
              (r)->actions[a])

Test(owner_policy, dedicated_lends_whatever_the_owner_does)
{
    struct run r;
    start(&r, OWNER_MODE_DEDICATED);
    r.kb = (struct fake){.from = 0, .to = 3600, .every = 1};
    r.cpu.low = 2;
    drive(&r, 0, 3600);
    STATE_IS(&r, "dedicated");
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    cr_assert(owner_state_lends(r.p.state));
}

Test(owner_policy, never_lends_even_to_an_empty_room)
{
    struct run r;
    start(&r, OWNER_MODE_NEVER);
    drive(&r, 0, 7200);
    STATE_IS(&r, "present");
    COUNT_IS(&r, OWNER_ACTION_LEND, 0);
    cr_assert(not(owner_state_lends(r.p.state)));
}

Test(owner_policy, desktop_lends_after_15_minutes_of_idle_keyboard)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb = (struct fake){.from = 0, .to = 1, .every = 1};
    drive(&r, 0, 2000);
    COUNT_IS(&r, OWNER_ACTION_LEND, 1);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], 900));
    STATE_IS(&r, "away");
}

Test(owner_policy, desktop_does_not_lend_while_the_owner_load_is_above_0_3)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.cpu = (struct fake){.from = 0, .to = 1800, .high = 0.4};
    drive(&r, 0, 1800);
    COUNT_IS(&r, OWNER_ACTION_LEND, 0);
    drive(&r, 1800, 1861);
    COUNT_IS(&r, OWNER_ACTION_LEND, 1);
}

Test(owner_policy, owner_input_suspends_at_once)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb = (struct fake){.from = 1000, .to = 1001, .every = 1};
    drive(&r, 0, 1001);
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 1);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], 1000));
    STATE_IS(&r, "suspended");
}

Test(owner_policy, owner_load_suspends_after_2_minutes_not_before)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.cpu = (struct fake){.from = 1000, .to = 1119, .high = 0.5};
    drive(&r, 0, 1200);
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    r.cpu = (struct fake){.from = 1200, .to = 1400, .high = 0.9};
    drive(&r, 1200, 1400);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], 1320));
}

Test(owner_policy, continues_after_5_minutes_of_quiet)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb = (struct fake){.from = 1000, .to = 1010, .every = 1};
    drive(&r, 0, 1400);
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 1);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_CONTINUE], 1309));
    STATE_IS(&r, "away");
}

Test(owner_policy, vacates_after_10_minutes_suspended_then_kills_after_grace)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb = (struct fake){.from = 1000, .to = 5000, .every = 10};
    drive(&r, 0, 1661);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_VACATE], 1600));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_KILL], 1660));
    STATE_IS(&r, "present");
}

Test(owner_policy, an_owner_who_comes_and_goes_causes_no_suspend_storm)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb = (struct fake){.from = 1000, .to = 1600, .every = 100};
    drive(&r, 0, 1600);
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 1);
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 0);
    STATE_IS(&r, "suspended");
}

Test(owner_policy, a_flapping_load_neither_suspends_nor_continues)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    drive(&r, 0, 1000);
    r.cpu = (struct fake){.high = 0.9, .low = 0.1, .flap = 60};
    drive(&r, 1000, 4600);
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 0);
    STATE_IS(&r, "away");
}

Test(owner_policy, a_load_between_the_thresholds_changes_nothing)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    drive(&r, 0, 1000);
    r.cpu.low = 0.45;
    drive(&r, 1000, 5000);
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    STATE_IS(&r, "away");
}

Test(owner_policy, a_missing_input_source_is_named_not_taken_for_idle)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    r.kb.absent = true;
    drive(&r, 0, 100);
    STATE_IS(&r, "away");
    cr_assert(not(eq(ptr, strstr(r.reason, "no input source present"), NULL)),
              "%s", r.reason);
}

Test(owner_policy, short_thresholds_for_tests_suspend_and_continue_in_seconds)
{
    struct run r;
    struct owner_thresholds t;
    owner_thresholds_default(&t);
    t.lend_idle = 3;
    memset(&r, 0, sizeof(r));
    owner_policy_init(&r.p, OWNER_MODE_DESKTOP, &t, 0);
    r.kb = (struct fake){.from = 100, .to = 101, .every = 1};
    drive(&r, 0, 120);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], 100));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_CONTINUE], 103));
}

Test(owner_policy, a_continue_idle_under_active_idle_does_not_flap)
{
    struct run r;
    struct owner_thresholds t;
    owner_thresholds_default(&t);
    t.lend_idle = 5;
    t.continue_idle = 3; /* active_idle: 60, taken as 5, then 3 */
    memset(&r, 0, sizeof(r));
    owner_policy_init(&r.p, OWNER_MODE_DESKTOP, &t, 0);
    r.kb = (struct fake){.from = 100, .to = 101, .every = 1};
    drive(&r, 0, 130);
    /* one suspend, one continue: input 4 s old is not the owner back */
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 1);
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 1);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_CONTINUE], 103));
    STATE_IS(&r, "away");
}

Test(owner_policy, modes_parse_and_unknown_ones_are_refused)
{
    enum owner_mode m = OWNER_MODE_NEVER;
    cr_assert(eq(int, owner_mode_parse("desktop", &m), 0));
    cr_assert(eq(int, m, OWNER_MODE_DESKTOP));
    cr_assert(eq(int, owner_mode_parse("laptop", &m), -EINVAL));
}

/* Hours and minutes of the fake clock, in seconds. */
#define HM(h, m) ((h)*3600.0 + (m)*60.0)

Test(owner_policy, dedicated_closes_outside_the_window_and_lends_inside)
{
    struct run r;
    start(&r, OWNER_MODE_DEDICATED);
    /* Monday noon: outside; no work here */
    window(&r, "Mon-Fri 18:00-08:00, Sat-Sun", 0, 12, 0, 0, 0);
    drive(&r, 0, 1);
    STATE_IS(&r, "closed");
    cr_assert(not(owner_state_lends(r.p.state)));
    REASON_IS(&r, "outside the lending window Mon-Fri 18:00-08:00, Sat-Sun");
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    drive(&r, 1, HM(6, 0));
    STATE_IS(&r, "closed");
    /* 18:00: lends, until Tuesday 08:00 */
    drive(&r, HM(6, 0), HM(20, 0) - 1);
    STATE_IS(&r, "dedicated");
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], HM(6, 0)));
    REASON_IS(&r, "inside the lending window Mon-Fri 18:00-08:00, Sat-Sun");
    drive(&r, HM(20, 0) - 1, HM(20, 0) + 1);
    STATE_IS(&r, "closed");
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    cr_assert(eq(int, r.transitions, 3));
}

Test(owner_policy,
     dedicated_work_is_suspended_and_vacated_when_the_window_closes)
{
    struct run r;
    start(&r, OWNER_MODE_DEDICATED);
    /* Tuesday 07:00, inside Monday's night; work here all along */
    window(&r, "Mon-Fri 18:00-08:00, Sat-Sun", 1, 7, 0, 0, HM(100, 0));
    drive(&r, 0, HM(12, 0));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], HM(1, 0)));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_VACATE], HM(1, 10)));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_KILL], HM(1, 11)));
    cr_assert(eq(dbl, r.entered[OWNER_STATE_CLOSED], HM(1, 11)));
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 0);
    /* Tuesday 18:00 */
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], HM(11, 0)));
    STATE_IS(&r, "dedicated");
}

Test(owner_policy, dedicated_work_continues_when_the_window_opens_in_time)
{
    struct run r;
    start(&r, OWNER_MODE_DEDICATED);
    window(&r, "Mon 08:00-09:00, Mon 09:05-10:00", 0, 8, 0, 0, HM(100, 0));
    drive(&r, 0, HM(1, 30));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], HM(1, 0)));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_CONTINUE], HM(1, 5)));
    COUNT_IS(&r, OWNER_ACTION_VACATE, 0);
    STATE_IS(&r, "dedicated");
    REASON_IS(&r, "inside the lending window Mon 08:00-09:00, Mon "
                  "09:05-10:00 again");
}

Test(owner_policy, desktop_idle_node_closes_without_suspending_and_lends_again)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    /* every night; Monday 07:00, the owner away all along */
    window(&r, "18:00-08:00", 0, 7, 0, 0, 0);
    drive(&r, 0, HM(1, 0) + 1);
    /* no keyboard input ever: idle, and the load low for 60 s */
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], 60));
    cr_assert(eq(dbl, r.entered[OWNER_STATE_CLOSED], HM(1, 0)));
    STATE_IS(&r, "closed");
    COUNT_IS(&r, OWNER_ACTION_SUSPEND, 0);
    /* 18:00: straight back to away, the owner being away */
    drive(&r, HM(1, 0) + 1, HM(12, 0));
    COUNT_IS(&r, OWNER_ACTION_LEND, 2);
    STATE_IS(&r, "away");
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], 60));
    cr_assert(eq(dbl, r.entered[OWNER_STATE_AWAY], 60));
    REASON_IS(&r, "inside the lending window 18:00-08:00, owner away: input "
                  "idle 1000039600 s, load 0.00");
}

Test(owner_policy,
     desktop_work_outside_the_window_is_vacated_though_the_owner_is_away)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    window(&r, "18:00-08:00", 0, 7, 0, 0, HM(100, 0));
    drive(&r, 0, HM(3, 0));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], 60));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_SUSPEND], HM(1, 0)));
    /* the owner is quiet, but the window is shut: no continue */
    COUNT_IS(&r, OWNER_ACTION_CONTINUE, 0);
    cr_assert(eq(dbl, r.first[OWNER_ACTION_VACATE], HM(1, 10)));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_KILL], HM(1, 11)));
    STATE_IS(&r, "closed");
    cr_assert(
        not(eq(ptr, strstr(r.reason, "outside the lending window"), NULL)),
        "%s", r.reason);
}

Test(owner_policy, desktop_owner_present_outside_the_window_shows_closed)
{
    struct run r;
    start(&r, OWNER_MODE_DESKTOP);
    /* the owner types all day; the window opens at 18:00 (11 h in) */
    r.kb = (struct fake){.from = 0, .to = HM(100, 0), .every = 10};
    window(&r, "18:00-08:00", 0, 7, 0, 0, 0);
    drive(&r, 0, HM(1, 0) + 1);
    STATE_IS(&r, "closed");
    drive(&r, HM(1, 0) + 1, HM(12, 0));
    STATE_IS(&r, "present");
    COUNT_IS(&r, OWNER_ACTION_LEND, 0);
    REASON_IS(&r, "inside the lending window 18:00-08:00");
}

Test(owner_policy, a_window_wraps_over_the_week)
{
    struct run r;
    start(&r, OWNER_MODE_DEDICATED);
    /* Sunday 19:00 */
    window(&r, "Sun 20:00-07:30", 6, 19, 0, 0, 0);
    drive(&r, 0, HM(14, 0));
    cr_assert(eq(dbl, r.entered[OWNER_STATE_CLOSED], 0));
    cr_assert(eq(dbl, r.first[OWNER_ACTION_LEND], HM(1, 0)));
    /* Monday 07:30 */
    cr_assert(eq(int, r.transitions, 3));
    STATE_IS(&r, "closed");
}

Test(owner_policy, never_ignores_the_window)
{
    struct run r;
    start(&r, OWNER_MODE_NEVER);
    window(&r, "Sat", 0, 0, 0, 0, 0);
    drive(&r, 0, HM(24 * 7, 0));
    STATE_IS(&r, "present");
    cr_assert(eq(int, r.transitions, 0));
}
