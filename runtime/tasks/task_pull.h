/* SPDX-License-Identifier: MIT */
/* task_pull.h - the worker side of the bag-of-tasks pull protocol, as a
 * pure state machine (time and I/O injected, as member.h does).
 *
 * A worker node lends `cores` cores. While some are free and no request is
 * in flight it asks the home node for work (a PULL with its free cores and
 * speed); the home grants a batch of leases (GRANT, possibly empty). A
 * granted task starts as soon as its cores are free: the batch may hold a
 * few more tasks than fit (prefetch, in proportion to the node's speed), so
 * a fast node does not wait a round trip between two tasks and fast nodes
 * end up running more. Leases are renewed together every renew_every
 * seconds (RENEW), and at the next tick after a task starts, so the home
 * learns which of its leases run (lease.started) and which wait; a lease the
 * home no longer honours (expired and handed out again, job cancelled) is
 * abandoned: its task is killed, not reported. A finished task frees its cores
 * and produces a RESULT.
 *
 * On one node the home and the worker are the same daemon and the "frames"
 * are function calls; across nodes they are task frames (types 64-95 of
 * the daemon's sealed streams). */
#ifndef SHOAL_RUNTIME_TASKS_TASK_PULL_H
#define SHOAL_RUNTIME_TASKS_TASK_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/tasks/journal.h"

struct task_pull_ops {
    /* Ask the home node for up to `want` cores' worth of tasks. The answer
     * must come back through task_pull_grant() (empty batches too). */
    void (*pull)(int free_cores, int want, int speed, void *arg);
    /* Run this leased task now; its cores are reserved. Return 0, or a
     * negative code if it could not start (its cores are freed and the
     * caller reports the failure itself). */
    int (*start)(const struct journal_lease *lease, void *arg);
    /* Kill this task: its lease is gone. Its end must still be given to
     * task_pull_finished(), which then reports nothing. */
    void (*abandon)(const struct journal_lease *lease, void *arg);
    /* Renew these leases (all held, running or waiting). */
    void (*renew)(const struct journal_lease *leases, size_t n, void *arg);
};

struct task_pull;

/* cores: what this node lends; speed: its score (1000 = reference);
 * renew_every: seconds between renewals; idle_retry: seconds to wait after
 * an empty grant before asking again (a poke cuts it short). Returns 0 and
 * sets *out, or -ENOMEM / -EINVAL. */
int task_pull_create(int cores,
                     int speed,
                     double renew_every,
                     double idle_retry,
                     const struct task_pull_ops *ops,
                     void *arg,
                     struct task_pull **out);

/* Free p; NULL is accepted. Does not call ops. */
void task_pull_destroy(struct task_pull *p);

/* Let time pass: renew when due, pull when cores are free. */
void task_pull_tick(struct task_pull *p, double now);

/* The node now lends cores cores (>= 0; gang jobs took some, or gave them
 * back). Running tasks keep theirs: when fewer are lent than run, no task
 * starts until enough have ended. Starts what now fits. */
void task_pull_set_cores(struct task_pull *p, int cores, double now);

/* The node lends nothing for a while (its owner is back): drop the leases
 * of the tasks that wait. No longer renewed, they expire at their homes,
 * which queue the tasks again for other nodes (an expiry uses up no
 * retry). Returns the number dropped. */
int task_pull_drop_waiting(struct task_pull *p);

/* The home has new work (a job was submitted or a task re-queued): forget
 * the idle back-off. */
void task_pull_poke(struct task_pull *p, double now);

/* The answer to a pull: n leases (n may be 0). Starts what fits. */
void task_pull_grant(struct task_pull *p,
                     const struct journal_lease *leases,
                     size_t n,
                     double now);

/* The task of lease (job, task, attempt) ended. Returns true if its result
 * is to be reported, false if the lease was abandoned (or unknown). */
bool task_pull_finished(struct task_pull *p,
                        uint64_t job,
                        uint64_t task,
                        uint32_t attempt,
                        double now);

/* The home says this lease is no longer valid (renew answer), or the job
 * was cancelled (task == UINT64_MAX: every task of job). Running tasks are
 * abandoned, waiting ones dropped. */
void task_pull_revoke(struct task_pull *p, uint64_t job, uint64_t task);

/* Tasks held: running and waiting for cores. */
size_t task_pull_running(const struct task_pull *p);
size_t task_pull_waiting(const struct task_pull *p);

#endif
