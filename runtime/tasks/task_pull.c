/* SPDX-License-Identifier: MIT */
/* task_pull.c - worker-side pull state machine for bag-of-tasks jobs. */
#include "runtime/tasks/task_pull.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum task_pull_slot_state {
    TASK_PULL_WAITING,
    TASK_PULL_RUNNING,
    TASK_PULL_ABANDONED, /* killed, waiting for its end */
};

struct task_pull_slot {
    struct journal_lease lease;
    enum task_pull_slot_state state;
    int held; /* cores taken while running */
};

struct task_pull {
    int cores, free_cores, speed;
    double renew_every, idle_retry;
    const struct task_pull_ops *ops;
    void *arg;
    bool in_flight;
    double next_pull; /* no pull before this (idle back-off) */
    double next_renew;
    double now;      /* the latest time given to any call */
    bool renew_soon; /* a task started: tell its home at the next tick */
    struct task_pull_slot *slots;
    size_t nslots, cap;
};

int task_pull_create(int cores,
                     int speed,
                     double renew_every,
                     double idle_retry,
                     const struct task_pull_ops *ops,
                     void *arg,
                     struct task_pull **out)
{
    struct task_pull *p;

    if (cores < 1 || speed < 1 || renew_every <= 0)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cores = p->free_cores = cores;
    p->speed = speed;
    p->renew_every = renew_every;
    p->idle_retry = idle_retry;
    p->ops = ops;
    p->arg = arg;
    *out = p;
    return 0;
}

void task_pull_destroy(struct task_pull *p)
{
    if (!p)
        return;
    free(p->slots);
    free(p);
}

static void task_pull_remove(struct task_pull *p, size_t i)
{
    memmove(&p->slots[i], &p->slots[i + 1],
            (p->nslots - i - 1) * sizeof(p->slots[0]));
    p->nslots--;
}

/* Start waiting tasks, in grant order, while their cores are free. A task
 * needing more cores than the node has would wait for ever: it is started
 * alone on all of them when the node is idle. */
static void task_pull_start_waiting(struct task_pull *p)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct task_pull_slot *s = &p->slots[i];
        int need = s->lease.cores < p->cores ? s->lease.cores : p->cores;

        if (s->state != TASK_PULL_WAITING)
            continue;
        if (need < 1 || need > p->free_cores)
            break;
        s->state = TASK_PULL_RUNNING;
        s->held = need;
        p->free_cores -= need;
        /* a prefetched task is leased long before it runs: the home counts
         * it as running only once a renewal says so */
        s->lease.started = p->now > 0 ? p->now : 1;
        p->renew_soon = true;
        if (p->ops->start(&s->lease, p->arg) < 0) {
            p->free_cores += need;
            task_pull_remove(p, i);
            i--;
        }
    }
}

/* How many cores' worth of tasks to ask for: the free cores plus a
 * backlog that grows with the node's size and speed (a 1000-speed node
 * keeps one waiting task per core), minus what already waits. */
static int task_pull_want(const struct task_pull *p)
{
    int waiting = 0;
    int prefetch = (p->cores * p->speed + 999) / 1000;

    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].state == TASK_PULL_WAITING)
            waiting += p->slots[i].lease.cores;
    return p->free_cores + prefetch - waiting;
}

void task_pull_tick(struct task_pull *p, double now)
{
    p->now = now;
    if (now >= p->next_renew || p->renew_soon) {
        struct journal_lease *held =
            malloc((p->nslots ? p->nslots : 1) * sizeof(*held));
        size_t n = 0;

        for (size_t i = 0; held && i < p->nslots; i++)
            if (p->slots[i].state != TASK_PULL_ABANDONED)
                held[n++] = p->slots[i].lease;
        if (n > 0)
            p->ops->renew(held, n, p->arg);
        free(held);
        p->next_renew = now + p->renew_every;
        p->renew_soon = false;
    }
    if (!p->in_flight && now >= p->next_pull && task_pull_want(p) > 0) {
        p->in_flight = true;
        p->ops->pull(p->free_cores, task_pull_want(p), p->speed, p->arg);
    }
}

void task_pull_set_cores(struct task_pull *p, int cores, double now)
{
    if (cores < 0 || cores == p->cores)
        return;
    p->now = now;
    p->free_cores += cores - p->cores;
    p->cores = cores;
    task_pull_start_waiting(p);
    task_pull_tick(p, now);
}

int task_pull_drop_waiting(struct task_pull *p)
{
    int n = 0;

    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].state == TASK_PULL_WAITING) {
            task_pull_remove(p, i--);
            n++;
        }
    return n;
}

void task_pull_poke(struct task_pull *p, double now)
{
    p->next_pull = 0;
    task_pull_tick(p, now);
}

void task_pull_grant(struct task_pull *p,
                     const struct journal_lease *leases,
                     size_t n,
                     double now)
{
    p->in_flight = false;
    p->now = now;
    if (p->nslots + n > p->cap) {
        size_t cap = (p->nslots + n) * 2;
        struct task_pull_slot *s = realloc(p->slots, cap * sizeof(*s));

        if (!s)
            return; /* the leases expire and go to another node */
        p->slots = s;
        p->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        p->slots[p->nslots++] = (struct task_pull_slot){
            .lease = leases[i], .state = TASK_PULL_WAITING};
    if (n == 0)
        p->next_pull = now + p->idle_retry;
    task_pull_start_waiting(p);
    task_pull_tick(p, now);
}

static size_t task_pull_find(const struct task_pull *p,
                             uint64_t job,
                             uint64_t task,
                             uint32_t attempt)
{
    for (size_t i = 0; i < p->nslots; i++) {
        const struct journal_lease *l = &p->slots[i].lease;

        if (l->job == job && l->task == task && l->attempt == attempt)
            return i;
    }
    return SIZE_MAX;
}

bool task_pull_finished(struct task_pull *p,
                        uint64_t job,
                        uint64_t task,
                        uint32_t attempt,
                        double now)
{
    size_t i = task_pull_find(p, job, task, attempt);
    bool report;
    int cores;

    if (i == SIZE_MAX || p->slots[i].state == TASK_PULL_WAITING)
        return false;
    report = p->slots[i].state == TASK_PULL_RUNNING;
    cores = p->slots[i].held;
    p->now = now;
    p->free_cores += cores;
    task_pull_remove(p, i);
    task_pull_start_waiting(p);
    task_pull_tick(p, now);
    return report;
}

void task_pull_revoke(struct task_pull *p, uint64_t job, uint64_t task)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct task_pull_slot *s = &p->slots[i];

        if (s->lease.job != job
            || (task != UINT64_MAX && s->lease.task != task))
            continue;
        if (s->state == TASK_PULL_WAITING) {
            task_pull_remove(p, i);
            i--;
        } else if (s->state == TASK_PULL_RUNNING) {
            s->state = TASK_PULL_ABANDONED;
            p->ops->abandon(&s->lease, p->arg);
        }
    }
}

static size_t task_pull_count(const struct task_pull *p,
                              enum task_pull_slot_state st)
{
    size_t n = 0;

    for (size_t i = 0; i < p->nslots; i++)
        n += p->slots[i].state == st;
    return n;
}

size_t task_pull_running(const struct task_pull *p)
{
    return task_pull_count(p, TASK_PULL_RUNNING)
           + task_pull_count(p, TASK_PULL_ABANDONED);
}

size_t task_pull_waiting(const struct task_pull *p)
{
    return task_pull_count(p, TASK_PULL_WAITING);
}
