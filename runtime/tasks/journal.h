/* SPDX-License-Identifier: MIT */
/* journal.h - the home node's durable record of bag-of-tasks jobs (SQLite).
 *
 * The journal holds every job the node is home to, one row per task, and
 * one row per attempt (a lease handed to a node). It is the only truth about
 * a job: the daemon keeps no task state of its own, so a daemon that is
 * restarted reopens the journal and carries on.
 *
 * Leases. A task handed out is LEASED with a new attempt number, a random
 * token and an expiry. A result counts only if its (attempt, token) is the
 * task's last lease and that attempt has no result yet: a worker presumed
 * dead whose task was re-queued and leased again may report late, and that
 * report is ignored (and counted in the job's stale_reports), so every task
 * has exactly one recorded result. Leases not renewed expire back to QUEUED
 * (journal_expire); an expiry does not use up a retry (the node failed, not
 * the task). Until the task is leased again, its last lease still counts:
 * a late result is recorded (the work is done, it is not run again), and a
 * late renewal takes the task back from the queue. A result sent again (the
 * worker did not know it arrived) is a duplicate: ignored, not counted.
 *
 * Durability. WAL mode, with synchronous=FULL for job creation (the job id
 * printed to the user must survive a power loss) and synchronous=NORMAL for
 * leases and results: a crash of the daemon loses nothing (the WAL is in the
 * OS), a power loss may lose the last results, whose tasks then run again;
 * a result is never recorded twice either way. Every change is one
 * transaction, and a batch of results shares one.
 *
 * Not thread-safe: one journal per thread (the daemon's loop). */
#ifndef SHOAL_RUNTIME_TASKS_JOURNAL_H
#define SHOAL_RUNTIME_TASKS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

enum journal_task_state {
    JOURNAL_TASK_QUEUED = 0,
    JOURNAL_TASK_LEASED,
    JOURNAL_TASK_DONE,
    JOURNAL_TASK_FAILED,
    JOURNAL_TASK_CANCELLED,
    JOURNAL_TASK_NSTATES
};

enum journal_job_state {
    JOURNAL_JOB_RUNNING = 0,
    JOURNAL_JOB_DONE,      /* every task succeeded */
    JOURNAL_JOB_FAILED,    /* every task ended, some failed */
    JOURNAL_JOB_CANCELLED, /* cancelled before the end */
};

/* What happened to one reported result. */
enum journal_outcome {
    JOURNAL_OUTCOME_DONE,      /* recorded: the task succeeded */
    JOURNAL_OUTCOME_RETRY,     /* recorded: failed, queued again */
    JOURNAL_OUTCOME_FAILED,    /* recorded: failed for good */
    JOURNAL_OUTCOME_STALE,     /* ignored: not the task's current lease */
    JOURNAL_OUTCOME_DUPLICATE, /* ignored: this attempt is recorded already */
};

struct journal;

struct journal_job_spec {
    const char *name; /* may be NULL */
    const char *desc; /* JSON text: command, environment, directory... */
    int cores;        /* per task, >= 1 */
    int retries;      /* extra attempts after a failure, >= 0 */
    double submitted; /* seconds since the epoch */
    /* the index of task i (increasing), or NULL for i: a job run again
     * keeps its tasks' indices */
    const uint64_t *indices;
    /* jobs that must all end done before any task of this one is leased
     * (nafter may be 0); each must exist */
    const uint64_t *after;
    size_t nafter;
};

/* The parameters of task index as JSON text, borrowed until the next call;
 * NULL on failure (the job is then not created). */
typedef const char *journal_params_f(uint64_t index, void *arg);

struct journal_job_info {
    uint64_t id;
    char *name; /* or NULL */
    char *desc; /* JSON text */
    int cores;
    int retries;
    enum journal_job_state state;
    uint64_t ntasks;
    uint64_t count[JOURNAL_TASK_NSTATES]; /* tasks in each state */
    uint64_t started; /* of the LEASED ones: known to run on their worker */
    uint64_t stale_reports;
    double submitted, finished; /* finished is 0 while running */
    bool held;                  /* waits for the jobs it runs after */
    char *reason; /* why it failed without running ("dependency 3 failed"),
                     or NULL */
    char *after;  /* the jobs it runs after, "3,4", or NULL */
};

struct journal_lease {
    uint64_t job;
    uint64_t task;    /* index within the job */
    uint32_t attempt; /* 1 for the first */
    uint64_t token;
    int cores;
    double expires;
    double started; /* when the worker started its task; 0 while it waits
                       for cores there (a prefetched lease), or unknown */
};

struct journal_result {
    uint64_t job;
    uint64_t task;
    uint32_t attempt;
    uint64_t token;
    uint64_t node;
    double start, end;
    int status;           /* exit status, 128 + signal, or >= 256 if it
                             never ran */
    const char *reason;   /* why it failed ("time limit"), or NULL */
    const char *out_path; /* where its stdout/stderr are on node, or NULL */
    const char *err_path;
    const char *err_tail; /* the end of its stderr when it failed, or NULL */
    bool vacated;         /* ended by its node's owner taking the node back: a
                             failure that is not the task's, queued again without
                             using up a retry */
};

/* One task as `shoal results` shows it: its current (last) attempt. Strings
 * are borrowed for the duration of the callback. */
struct journal_task_row {
    uint64_t task;
    const char *params; /* JSON text */
    enum journal_task_state state;
    uint32_t attempts;
    uint64_t node; /* 0: never leased */
    double start, end;
    int status;                                          /* -1 while none */
    const char *reason, *out_path, *err_path, *err_tail; /* or NULL */
};

/* Open (creating if needed) the journal at path. Returns 0 and sets *out
 * (close with journal_close) or a negative code with error filled. A file
 * that is not a journal or fails SQLite's quick check is refused with
 * -EUCLEAN (error names the file, SQLite's reason and what to do) and left
 * untouched. Any later call meeting a damaged page returns -EUCLEAN too. */
int journal_open(const char *path, struct journal **out, shoal_error_t *error);

/* Make the next job id above floor (and above every id handed out), so a
 * journal started anew beside output directories jobs/1..jobs/floor does
 * not number its jobs over theirs. Returns 0 or a negative code. */
int journal_id_floor(struct journal *j, uint64_t floor);

/* Close j; NULL is accepted. */
void journal_close(struct journal *j);

/* Create a job and its ntasks tasks, QUEUED, in one transaction. Returns 0
 * and sets *id (ids start at 1 and are never reused), or a negative code
 * with error filled; nothing is created then (-ENOENT: a job of
 * spec->after does not exist).
 *
 * Dependencies (spec->after, as Slurm's afterok). The job is held: none of
 * its tasks is leased until every job it runs after ended done. When one
 * of them fails or is cancelled instead, the job fails at once, its tasks
 * cancelled, with the reason "dependency N failed" (or "was cancelled"),
 * and so in turn do the jobs held after it. This is settled in the same
 * transaction as what ends a job (journal_record, journal_job_cancel, and
 * here for jobs that ended already), so it holds across restarts. */
int journal_job_create(struct journal *j,
                       const struct journal_job_spec *spec,
                       uint64_t ntasks,
                       journal_params_f *params,
                       void *arg,
                       uint64_t *id,
                       shoal_error_t *error);

/* Lease up to max tasks whose cores fit in budget, from running jobs, the
 * oldest job and lowest index first, to node until now + lease_secs. With
 * avoid_failed, tasks whose last failure was on node are skipped (another
 * node can take them). Returns the number leased (>= 0, filling out) or a
 * negative code. */
int journal_lease(struct journal *j,
                  uint64_t node,
                  int budget,
                  bool avoid_failed,
                  double now,
                  double lease_secs,
                  struct journal_lease *out,
                  size_t max);

/* Extend the listed leases to now + lease_secs. valid[i] (may be NULL) is
 * set to whether lease i is still current; a lease that is not (expired and
 * handed to another node, its result recorded, or its job cancelled) must
 * be given up by the worker. A lease that expired while its task is still
 * queued, unrecorded, is taken back: the task is LEASED again under the
 * same attempt and token. A current lease with started > 0 marks its
 * attempt as running (journal_job_info.started counts those). Returns the
 * number renewed or a negative code. */
int journal_renew(struct journal *j,
                  const struct journal_lease *leases,
                  size_t n,
                  double now,
                  double lease_secs,
                  bool *valid);

/* Record n results in one transaction; outcomes[i] (may be NULL) says what
 * became of each. A result counts if it is for the task's last lease and
 * that attempt has none yet, the task LEASED or (its lease lapsed) still
 * QUEUED; one already recorded is a duplicate, any other is stale: both are
 * ignored. Every outcome is final: the reporter may forget the result.
 * Returns 0 or a negative code (then nothing was recorded). */
int journal_record(struct journal *j,
                   const struct journal_result *results,
                   size_t n,
                   double now,
                   enum journal_outcome *outcomes);

/* Re-queue every leased task whose lease expired before now. Returns the
 * number re-queued or a negative code. */
int journal_expire(struct journal *j, double now);

/* Re-queue every task leased to node (it died, or it is this node and its
 * daemon restarted, which killed its tasks). Returns the number re-queued or
 * a negative code. */
int journal_requeue_node(struct journal *j, uint64_t node);

/* Push the expiry of every leased task to at least until. A home that
 * restarts does so for the leases of other nodes: it cannot know whether
 * they were renewed while it was down, so they get a full lease to renew
 * or report. Returns the number extended or a negative code. */
int journal_extend(struct journal *j, double until);

/* Cancel job id: its queued and leased tasks become CANCELLED. Returns the
 * number of tasks cancelled, -ENOENT for no such job, or another negative
 * code. Cancelling a finished job changes nothing and returns 0. */
int journal_job_cancel(struct journal *j, uint64_t id, double now);

/* Fill *info for job id. Returns 0, -ENOENT, or another negative code.
 * Release with journal_job_info_release. */
int journal_job_get(struct journal *j,
                    uint64_t id,
                    struct journal_job_info *info);
void journal_job_info_release(struct journal_job_info *info);

/* Call fn for every job, oldest first (info is borrowed for the call).
 * Returns 0 or a negative code. */
int journal_jobs(struct journal *j,
                 void (*fn)(const struct journal_job_info *info, void *arg),
                 void *arg);

/* Call fn for tasks first..first+max-1 of job id in index order. Returns
 * the number of rows given or a negative code. */
int journal_tasks(struct journal *j,
                  uint64_t id,
                  uint64_t first,
                  size_t max,
                  void (*fn)(const struct journal_task_row *row, void *arg),
                  void *arg);

/* Whether a held job was released (its jobs all done) since the last
 * call: its tasks can be leased now. Clears the flag. */
bool journal_released(struct journal *j);

/* Whether any job is running. */
bool journal_busy(struct journal *j);

/* The text of a state, for people ("queued", "running"...). */
const char *journal_task_state_name(enum journal_task_state s);
const char *journal_job_state_name(enum journal_job_state s);

/* The job state named name (as journal_job_state_name gives it), or
 * -EINVAL for another text or NULL. */
int journal_job_state_parse(const char *name);

#endif
