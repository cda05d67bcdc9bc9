/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/tasks/task_pull.h"

TestSuite(task_pull, .timeout = 10);

/* A fake home node and the record of what the worker asked for. */
struct fake {
    int pulls, last_free, last_want;
    int started, abandoned, renews, renewed_leases, renewed_started;
    struct journal_lease running[64];
    int nrunning;
    bool fail_start;
};

static int fake_start(const struct journal_lease *l, void *arg)
{
    struct fake *f = arg;

    if (f->fail_start)
        return -ENOENT;
    f->started++;
    f->running[f->nrunning++] = *l;
    return 0;
}

static void fake_pull(int free_cores, int want, int speed, void *arg)
{
    struct fake *f = arg;

    (void)speed;
    f->pulls++;
    f->last_free = free_cores;
    f->last_want = want;
}

static void fake_abandon(const struct journal_lease *l, void *arg)
{
    struct fake *f = arg;

    (void)l;
    f->abandoned++;
}

static void fake_renew(const struct journal_lease *l, size_t n, void *arg)
{
    struct fake *f = arg;

    f->renews++;
    f->renewed_leases = (int)n;
    f->renewed_started = 0;
    for (size_t i = 0; i < n; i++)
        f->renewed_started += l[i].started > 0;
}

static const struct task_pull_ops fake_ops = {
    .pull = fake_pull,
    .start = fake_start,
    .abandon = fake_abandon,
    .renew = fake_renew,
};

static struct journal_lease lease(uint64_t task)
{
    return (struct journal_lease){
        .job = 1, .task = task, .attempt = 1, .token = 100 + task, .cores = 1};
}

Test(task_pull, pulls_for_free_cores_plus_prefetch_and_starts_what_fits)
{
    struct fake f = {0};
    struct task_pull *p;
    struct journal_lease l[3] = {lease(0), lease(1), lease(2)};

    cr_assert(eq(int, task_pull_create(2, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    cr_assert(eq(int, f.pulls, 1));
    cr_assert(eq(int, f.last_free, 2));
    cr_assert(eq(int, f.last_want, 4), "2 free cores + 2 prefetched");
    task_pull_tick(p, 0.1);
    cr_assert(eq(int, f.pulls, 1), "one request in flight at a time");
    task_pull_grant(p, l, 3, 0.2);
    cr_assert(eq(int, f.started, 2));
    cr_assert(eq(sz, task_pull_waiting(p), 1));
    cr_assert(eq(int, f.pulls, 2), "the backlog is topped up");
    cr_assert(eq(int, f.last_want, 1), "2 of backlog, 1 waiting");
    task_pull_grant(p, NULL, 0, 0.25);
    cr_assert(task_pull_finished(p, 1, 0, 1, 0.3));
    cr_assert(eq(int, f.started, 3), "the prefetched task starts at once");
    task_pull_destroy(p);
}

Test(task_pull, a_revoked_lease_is_killed_and_not_reported)
{
    struct journal_lease w[3] = {lease(8), lease(9), lease(10)};
    struct fake f = {0};
    struct task_pull *p;
    struct journal_lease l[3] = {lease(0), lease(1), lease(2)};

    cr_assert(eq(int, task_pull_create(2, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, l, 3, 0);
    task_pull_revoke(p, 1, 0);
    cr_assert(eq(int, f.abandoned, 1));
    cr_assert(not(task_pull_finished(p, 1, 0, 1, 1)),
              "the end of an abandoned task is not reported");
    cr_assert(eq(int, f.started, 3), "task 2 took the freed core");
    /* cancel the whole job: the running tasks are killed */
    task_pull_revoke(p, 1, UINT64_MAX);
    cr_assert(eq(int, f.abandoned, 3));
    cr_assert(not(task_pull_finished(p, 1, 1, 1, 1)));
    cr_assert(not(task_pull_finished(p, 1, 2, 1, 1)));
    cr_assert(not(task_pull_finished(p, 1, 7, 1, 1)), "unknown lease");
    cr_assert(eq(sz, task_pull_running(p), 0));
    /* a waiting task of a cancelled job is dropped without a kill */
    task_pull_grant(p, w, 3, 2);
    cr_assert(eq(sz, task_pull_waiting(p), 1));
    task_pull_revoke(p, 1, UINT64_MAX);
    cr_assert(eq(int, f.abandoned, 5));
    cr_assert(eq(sz, task_pull_waiting(p), 0));
    task_pull_destroy(p);
}

Test(task_pull, leases_are_renewed_together_on_time)
{
    struct fake f = {0};
    struct task_pull *p;
    struct journal_lease l[2] = {lease(0), lease(1)};

    cr_assert(eq(int, task_pull_create(4, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, l, 2, 0);
    f.renews = 0;
    task_pull_tick(p, 5);
    cr_assert(eq(int, f.renews, 0), "not due yet");
    task_pull_tick(p, 10.5);
    cr_assert(eq(int, f.renews, 1));
    cr_assert(eq(int, f.renewed_leases, 2));
    task_pull_destroy(p);
}

/* The home must tell a running task from a prefetched one: the renewal
 * after a start comes at the next tick, marking only what runs. */
Test(task_pull, a_start_is_told_at_the_next_tick_and_only_for_what_runs)
{
    struct fake f = {0};
    struct task_pull *p;
    struct journal_lease l[3] = {lease(0), lease(1), lease(2)};

    cr_assert(eq(int, task_pull_create(1, 2000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    f.renews = 0;
    task_pull_grant(p, l, 3, 1);
    cr_assert(eq(int, f.started, 1), "one core: one task runs");
    cr_assert(eq(int, f.renews, 1), "told at once, not after renew_every");
    cr_assert(eq(int, f.renewed_leases, 3));
    cr_assert(eq(int, f.renewed_started, 1), "two wait for the core");
    task_pull_tick(p, 2);
    cr_assert(eq(int, f.renews, 1), "nothing new to tell");
    cr_assert(task_pull_finished(p, 1, 0, 1, 3));
    cr_assert(eq(int, f.started, 2));
    cr_assert(eq(int, f.renews, 2));
    cr_assert(eq(int, f.renewed_leases, 2));
    cr_assert(eq(int, f.renewed_started, 1));
    task_pull_destroy(p);
}

Test(task_pull, an_empty_grant_backs_off_until_poked)
{
    struct fake f = {0};
    struct task_pull *p;

    cr_assert(eq(int, task_pull_create(2, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, NULL, 0, 0);
    task_pull_tick(p, 0.5);
    cr_assert(eq(int, f.pulls, 1), "no new pull within the back-off");
    task_pull_tick(p, 1.1);
    cr_assert(eq(int, f.pulls, 2));
    task_pull_grant(p, NULL, 0, 1.1);
    task_pull_poke(p, 1.2);
    cr_assert(eq(int, f.pulls, 3), "a poke asks at once");
    task_pull_destroy(p);
}

Test(task_pull, a_task_that_cannot_start_frees_its_cores)
{
    struct fake f = {.fail_start = true};
    struct task_pull *p;
    struct journal_lease l = lease(0);

    cr_assert(eq(int, task_pull_create(1, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, &l, 1, 0);
    cr_assert(eq(sz, task_pull_running(p), 0));
    cr_assert(eq(int, f.pulls, 2), "the core is free again");
    task_pull_destroy(p);
}

/* Two workers of 2 cores share one queue; one is 4 times faster. Pulling
 * alone makes the fast one run about 4 times as many tasks. */
Test(task_pull, a_faster_node_runs_more_tasks)
{
    struct fake f[2] = {{0}};
    struct task_pull *p[2];
    double duration[2] = {0.25, 1.0}, end[2][64];
    int speed[2] = {4000, 1000}, ran[2] = {0, 0};
    uint64_t next_task = 0, ntasks = 400;

    for (int w = 0; w < 2; w++)
        cr_assert(
            eq(int,
               task_pull_create(2, speed[w], 10, 0.1, &fake_ops, &f[w], &p[w]),
               0));
    for (double now = 0; now < 1000; now += 0.05) {
        for (int w = 0; w < 2; w++) {
            /* tasks that are due end */
            for (int i = 0; i < f[w].nrunning; i++) {
                if (end[w][i] == 0)
                    end[w][i] = now + duration[w];
                if (now >= end[w][i]) {
                    struct journal_lease l = f[w].running[i];

                    f[w].running[i] = f[w].running[--f[w].nrunning];
                    end[w][i] = end[w][f[w].nrunning];
                    end[w][f[w].nrunning] = 0;
                    cr_assert(task_pull_finished(p[w], l.job, l.task, l.attempt,
                                                 now));
                    ran[w]++;
                    i--;
                }
            }
            task_pull_tick(p[w], now);
            if (f[w].pulls > 0 && f[w].last_want > 0) {
                struct journal_lease l[16];
                size_t n = 0;

                while (n < (size_t)f[w].last_want && n < 16
                       && next_task < ntasks)
                    l[n++] = lease(next_task++);
                f[w].last_want = 0;
                task_pull_grant(p[w], l, n, now);
            }
        }
        if (ran[0] + ran[1] == (int)ntasks)
            break;
    }
    cr_assert(eq(int, ran[0] + ran[1], (int)ntasks));
    cr_assert(gt(int, ran[0], 3 * ran[1]), "fast %d, slow %d", ran[0], ran[1]);
    for (int w = 0; w < 2; w++)
        task_pull_destroy(p[w]);
}

Test(task_pull, cores_taken_by_gang_jobs_start_nothing_until_given_back)
{
    struct journal_lease l[4] = {lease(0), lease(1), lease(2), lease(3)};
    struct fake f = {0};
    struct task_pull *p;

    cr_assert(eq(int, task_pull_create(2, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, l, 4, 0.1);
    cr_assert(eq(int, f.started, 2));
    /* a gang job takes both cores; the running tasks keep theirs */
    task_pull_set_cores(p, 0, 0.2);
    cr_assert(task_pull_finished(p, 1, 0, 1, 0.3));
    cr_assert(eq(int, f.started, 2), "no core lent, nothing starts");
    task_pull_set_cores(p, 1, 0.4);
    cr_assert(eq(int, f.started, 2), "the one lent is still held");
    cr_assert(task_pull_finished(p, 1, 1, 1, 0.5));
    cr_assert(eq(int, f.started, 3), "a core is free again: %d", f.started);
    task_pull_set_cores(p, 2, 0.6);
    cr_assert(eq(int, f.started, 4));
    task_pull_destroy(p);
}

Test(task_pull, a_node_whose_owner_is_back_gives_up_what_waits)
{
    struct journal_lease l[4] = {lease(0), lease(1), lease(2), lease(3)};
    struct fake f = {0};
    struct task_pull *p;

    cr_assert(eq(int, task_pull_create(2, 1000, 10, 1, &fake_ops, &f, &p), 0));
    task_pull_tick(p, 0);
    task_pull_grant(p, l, 4, 0.1);
    cr_assert(eq(int, f.started, 2));
    task_pull_set_cores(p, 0, 0.2);
    cr_assert(eq(int, task_pull_drop_waiting(p), 2));
    /* only the running ones are renewed from now on */
    task_pull_tick(p, 20);
    cr_assert(eq(int, f.renewed_leases, 2));
    cr_assert(task_pull_finished(p, 1, 0, 1, 20.1));
    cr_assert(task_pull_finished(p, 1, 1, 1, 20.2));
    task_pull_set_cores(p, 2, 30);
    cr_assert(eq(int, f.started, 2), "the dropped ones never start here");
    cr_assert(eq(int, task_pull_drop_waiting(p), 0));
    task_pull_destroy(p);
}
