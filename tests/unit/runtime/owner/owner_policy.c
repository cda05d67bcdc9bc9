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

/* The run: a policy, its sources, the actions counted, the last reason. */
struct run {
    struct owner_policy p;
    struct fake kb, cpu;
    int actions[OWNER_ACTION_KILL + 1];
    double first[OWNER_ACTION_KILL + 1]; /* when each action first came */
    char reason[128];
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
    struct owner_source kb = {&kb_ops, "kb", OWNER_SOURCE_INPUT, &r->kb};
    struct owner_source cpu = {&cpu_ops, "cpu", OWNER_SOURCE_LOAD, &r->cpu};
    struct owner_source *srcs[] = {&kb, &cpu};
    struct owner_inputs in;

    for (double now = from; now < to; now += 1) {
        char why[128] = "";
        enum owner_action a;

        owner_sources_read(srcs, 2, now, &in, NULL);
        a = owner_policy_step(&r->p, now, &in, why, sizeof(why));
        if (a == OWNER_ACTION_NONE)
            continue;
        if (r->actions[a]++ == 0)
            r->first[a] = now;
        strcpy(r->reason, why);
    }
}

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
