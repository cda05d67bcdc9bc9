/* SPDX-License-Identifier: MIT */
/* taskd_private.h - the inside of a taskd, shared by the three files that
 * make it (flux's <module>_private.h). Nothing outside runtime/tasks/taskd*.c
 * includes it; runtime/tasks/taskd.h is the interface.
 *
 *   taskd.c          the queue and the local worker: the jobs' run
 *                    descriptions, the results waiting for the journal,
 *                    cores, starting and ending tasks (task_pull's ops),
 *                    the loop's check and tick, life cycle
 *   taskd_pool.c     the pool protocol between homes and workers: pulls,
 *                    grants, renewals, results and their acks, output
 *                    fetches, pokes, member events
 *   taskd_control.c  the control operations ("task.*") and their streams
 *
 * Everything here runs on the taskd's loop; nothing is thread-safe. The
 * functions are those one file calls in another; each is described where
 * it is declared below. */
#ifndef SHOAL_RUNTIME_TASKS_TASKD_PRIVATE_H
#define SHOAL_RUNTIME_TASKS_TASKD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hwloc.h>
#include <jansson.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/daemon/usercred.h"
#include "runtime/tasks/journal.h"
#include "runtime/tasks/task_cmd.h"
#include "runtime/tasks/task_exec.h"
#include "runtime/tasks/task_pull.h"
#include "runtime/tasks/taskd.h"

/* The job keys of task_pull: this node's own jobs are their journal ids;
 * jobs of other homes get keys from this bit up, as their ids may clash
 * with ours and with each other's. */
#define TASKD_REMOTE_KEY (UINT64_C(1) << 62)

/* A task's cores in the node's claim ledger are a claim of this job id:
 * gang job ids are the home's own (below 2^63). */
#define TASKD_CLAIM_KEY (UINT64_C(1) << 63)

/* Seconds a PULL may go unanswered before the worker asks again (the home
 * may have restarted and lost it). */
#define TASKD_PULL_TIMEOUT 5.0

/* The results of another home's tasks stay in the outbox until the home
 * acks them (RESULT_ACK), recorded or refused: a link down for a moment
 * or a home daemon restarting must not cost finished work, which would
 * then run again. Unacked results are sent again after 1 s, then at
 * doubling intervals up to 5 s, and at once when the home is seen again
 * (it comes back alive, or pokes us). They are given up only when the home
 * leaves the pool for good, or after TASKD_OUTBOX_KEEP seconds (long
 * enough for a machine to reboot: the home keeps its journal, and gives
 * its leases a full term when it restarts), or when more than
 * TASKD_OUTBOX_MAX wait (the oldest first); each is counted in
 * results_dropped. A home declared dead is not given up at once: SWIM
 * declares a node dead within about two seconds of silence, less than a
 * daemon takes to restart. Its running tasks are killed, though, as
 * their leases will go elsewhere. */
#define TASKD_RESEND_FIRST 1.0
#define TASKD_RESEND_MAX 5.0
#define TASKD_OUTBOX_KEEP 600.0
#define TASKD_OUTBOX_MAX 65536
/* results per RESULT frame */
#define TASKD_RESULT_BATCH 256

/* What a worker needs of a job to run its tasks, decoded once. */
/* Variables added to a job's environment for each task: SHOAL_JOB_ID,
 * SHOAL_TASK_ID, SHOAL_TASK_ATTEMPT, SHOAL_TASK_DIR, and for a job with
 * checkpoints
 * SHOAL_CKPT_DIR, SHOAL_CKPT_RESTART, SHOAL_CKPT_VERSION, and with
 * --replicas SHOAL_CKPT_DURABLE. */
enum { TASKD_TASK_VARS = 8 };

/* cgroup.procs files a task joins: one per cgroup hierarchy in use */
enum { TASKD_CGROUP_FDS = 4 };

struct taskd_job {
    uint64_t id;        /* its key in task_pull */
    uint64_t home;      /* 0: this node's own job */
    uint64_t remote_id; /* its id at its home */
    /* argv is the template (own jobs only); env has room for three
     * SHOAL_ variables after the submitter's */
    struct task_cmd cmd;
    json_t *wire; /* DESC for GRANTs to other nodes (own jobs only) */
    /* the submitter: own jobs from the journal (the control socket's
     * SO_PEERCRED at submit), others' from their verified claim */
    uint32_t uid, gid;
    /* own jobs: the claim that goes in GRANTs ("user" of the DESC), made
     * at the first GRANT and again before a MUNGE credential expires */
    json_t *claim;
    double claim_at;
    /* who its tasks run as here, once decided: target, or refused (why,
     * told to the submitter through each task's result) */
    bool decided;
    bool refused;
    shoal_error_t refusal;
    struct usercred_target target;
    struct taskd_job *next;
};

/* The command of a task granted by another home, until it starts. */
struct taskd_granted {
    uint64_t key, task;
    uint32_t attempt;
    char **argv;
    struct taskd_granted *next;
};

/* Another node that is home to work for us. */
struct taskd_home {
    uint64_t node;
    bool has_work;
    /* our results it has not acked are sent again at resend_at (0: none
     * wait), then backoff seconds later, which doubles up to a bound */
    double resend_at, backoff;
    struct taskd_home *next;
};

/* Where a queued result comes from or goes to, and since when. */
struct taskd_queued {
    uint64_t node; /* pending: the worker (0: ours); outbox: the home */
    double since;  /* when it was queued */
    bool sent;     /* outbox: sent at least once */
};

/* Results waiting for the next check: to record in our journal, or to
 * send to their home. Strings are owned (4 per result). */
struct taskd_queue {
    struct journal_result *r;
    char **strings;
    struct taskd_queued *meta;
    size_t n, cap;
};

/* Counters of the results exchanged with other nodes, for `shoal status
 * --stats`. */
struct taskd_stats {
    uint64_t results_sent;      /* worker: RESULT entries sent first */
    uint64_t results_resent;    /* worker: sent again, not yet acked */
    uint64_t results_acked;     /* worker: acked by their home */
    uint64_t results_refused;   /* worker: of those, refused by the home */
    uint64_t results_dropped;   /* worker: given up unacked */
    uint64_t results_received;  /* home: RESULT entries from workers */
    uint64_t results_duplicate; /* home: received again, acked again */
    uint64_t acks_sent;         /* home: RESULT_ACK entries sent */
};

/* A task this node runs. */
struct taskd_run {
    uint64_t key;
    struct journal_lease lease;
    int *cores; /* logical core indexes held */
    int ncores;
    bool claimed;       /* from the node's claim ledger (taskd_set_cores) */
    char cgroup[32];    /* its job's cgroup (guestd), or "" */
    uint64_t oom_kills; /* in that cgroup when the task started */
    struct taskd_run *next;
    /* a task that resumes: its checkpoint is verified on libuv's thread
     * pool before it starts (reading every file of a large version must
     * not hold up the daemon's loop) */
    struct taskd_prepare *prepare; /* or NULL once started */
    /* a task of a job with --replicas: its store on this node's disk,
     * the key of its copies, and what of them is done */
    char *ckpt_dir, *ckpt_key;
    int replicas;
    int pushed;        /* the newest version copied */
    bool pushing;      /* a `shoal ckpt-task push` runs for it */
    double push_after; /* after a failed copy: when to try again */
    /* inotify on its store: a commit starts its copy at once (taskd.c);
     * NULL without (the half-second scan still finds it) */
    struct taskd_ckpt_watch *watch;
};

/* A `shoal ckpt-task` process the task service started (taskd.c). */
struct taskd_helper {
    uv_process_t process;
    struct taskd *t; /* NULL once t is gone */
    struct taskd_helper *next;
    uint64_t run_key;           /* push: the run whose version it copies */
    int version;                /* push: that version */
    struct taskd_prepare *prep; /* pull: the task that starts after it */
    /* push of a failed task's last version: its result, sent once the
     * copy is done (a retry elsewhere resumes from that version) */
    bool holds;
    struct journal_result held;
    char *held_text[4]; /* held's strings, owned */
};

struct taskd_stream {
    struct taskd *t;
    uint64_t job;
    taskd_reply_f *reply;
    void *arg;
    uint64_t sent[JOURNAL_TASK_NSTATES];
    bool first_sent;
    /* an output fetch from another node rather than progress */
    uint64_t fetch; /* its request number, 0 for none */
    uint64_t fetch_node;
    json_t *fetch_row;
    double fetch_deadline;
    /* a copy of a task's output into the home's directory (output_home):
     * no client; fetch_row holds "job" and "task" */
    bool copy;
    struct taskd_stream *next;
};

/* As a home with output_home: fetch the output of r (recorded from
 * another node) to keep a copy here (taskd_output_copy_path()). */
void taskd_copy_output(struct taskd *t, const struct journal_result *r);

/* Where the home keeps the copy of a task's output: DIR/output/JOB/TASK
 * then ext (".out", ".err"), into buf. Returns 0 or -ENAMETOOLONG. */
int taskd_output_copy_path(const struct taskd *t,
                           uint64_t job,
                           uint64_t task,
                           const char *ext,
                           char *buf,
                           size_t size);

/* The counters file beside a task's stdout out_path (its directory's
 * TASKD_COUNTERS_FILE), into buf. Returns 0, or -EINVAL when out_path has
 * no directory, -ENAMETOOLONG. */
int taskd_counters_path(const char *out_path, char *buf, size_t size);

/* Seconds a node has to send a task's output; the most sent of a file. */
#define TASKD_FETCH_TIMEOUT 10.0
#define TASKD_FETCH_MAX (3 << 20)
/* The most sent of a task's counters file: it goes whole or not at all
 * (a tail cut from it would be lines of counts read as others). */
#define TASKD_COUNTERS_MAX (64 << 10)

struct taskd {
    uv_loop_t *loop;
    usercred_t *usercred; /* the node's (taskd_set_usercred), or NULL */
    struct taskd_config cfg;
    char *dir;
    struct journal *journal;
    struct task_exec *exec;
    struct task_pull *pull;
    hwloc_topology_t topo;
    guestd_t *guest; /* or NULL */
    bool bind;
    int ncores;
    bool *core_busy;
    struct taskd_job *jobs;
    struct taskd_run *runs;
    uint64_t next_key;
    struct taskd_queue pending; /* results to record at the next check */
    struct taskd_queue outbox;  /* results for other homes, until acked */
    size_t outbox_unsent;       /* of which never sent */
    struct taskd_stats stats;
    /* the pool (net NULL: this node alone) */
    const struct taskd_net_ops *net;
    void *net_arg;
    const struct taskd_cores_ops *cores_ops; /* NULL: core_busy */
    void *cores_arg;
    bool (*vacating)(void *); /* the owner takes the node back; or NULL */
    void *vacating_arg;
    uint64_t *peers; /* other nodes alive */
    size_t npeers, cap_peers;
    /* the size of each other node alive, for what a job may ask */
    struct taskd_peer_size {
        uint64_t node;
        unsigned cores;
        unsigned free; /* cores it publishes free */
        char name[64];
    } * sizes;
    size_t nsizes, cap_sizes;
    int journal_error;         /* the last journal failure, or 0 */
    uint64_t journal_log_last; /* log_ratelimit() state */
    struct taskd_home *homes;
    struct taskd_granted *granted;
    uint64_t pull_home; /* the home a PULL waits on, or 0 */
    double pull_sent;
    uint64_t next_remote;
    uint64_t next_fetch;
    double next_poke;
    uv_idle_t wake; /* runs the check at once when work is pending */
    bool pull_wanted;
    int pull_want, pull_free;
    bool progress_dirty;
    struct taskd_stream *streams;
    uv_check_t check;
    uv_timer_t tick;
    uv_timer_t progress;
    int open_handles;
    /* tasks' checkpoints with --replicas: the helpers running, and the
     * program to start them with (this one: /proc/self/exe) */
    struct taskd_helper *helpers;
    char *self;
};

/* ---- taskd.c: the queue and the local worker ---- */

/* The wall clock, in seconds: leases and results carry it between nodes. */
double taskd_now(void);

/* Nothing to do: an active idle handle only keeps the loop from blocking
 * before the check that follows. */
void taskd_wake_cb(uv_idle_t *h);

/* Free a job's run description; NULL is accepted. */
void taskd_job_free(struct taskd_job *job);

/* The strings of the JSON array a ("" for an entry that is not one) as
 * a new NULL-terminated vector with extra more NULL slots (caller frees
 * with taskgen_argv_free()), their count in *n (may be NULL); NULL when
 * memory is short. */
char **taskd_strings(const json_t *a, size_t extra, size_t *n);

/* The job's run description, decoded from the journal once. */
struct taskd_job *taskd_job_get(struct taskd *t, uint64_t id);

/* The submitter of a job in the journal, from its description: its uid
 * and gid as recorded at submit (a job from before users were recorded
 * is the daemon's own user's). */
void taskd_desc_user(const char *desc, uint32_t *uid, uint32_t *gid);

/* Decide, once, who job's tasks run as on this node (job->decided,
 * target, refused). A job of another home is decided by its claim when
 * first seen (taskd_pool.c). */
void taskd_job_decide(struct taskd *t, struct taskd_job *job);

/* Own job: make or renew the claim its GRANTs carry (the "user" of
 * job->wire). Returns 0 or a negative code with error filled. */
int taskd_job_claim(struct taskd *t,
                    struct taskd_job *job,
                    shoal_error_t *error);

/* Queue a result (strings copied) from or for node, at now. Returns 0 or
 * -ENOMEM (then the result is not queued: its lease expires and the task
 * runs again). */
int taskd_queue_push(struct taskd_queue *qu,
                     const struct journal_result *r,
                     uint64_t node,
                     double now);

/* Remove the entries marked in gone (n entries), keeping the others in
 * order. */
void taskd_queue_remove(struct taskd_queue *qu, const bool *gone);

/* The command of task of our own job, expanded (caller frees with
 * taskgen_argv_free()). Returns 0 or a negative code with error filled. */
int taskd_expand(struct taskd *t,
                 struct taskd_job *job,
                 uint64_t task,
                 char ***argv,
                 shoal_error_t *error);

/* Forget the commands granted for job key (task UINT64_MAX: every task). */
void taskd_granted_drop(struct taskd *t, uint64_t key, uint64_t task);

/* ---- taskd_pool.c: homes and workers ---- */

/* Send a task frame of type to node: body (taken, freed here; NULL when
 * its encoder failed) of *len bytes, read after the encoder set it.
 * Returns 0 or a negative code (-ENOMEM as well when t is in no pool). */
int taskd_send(struct taskd *t,
               uint64_t node,
               enum taskd_frame_type type,
               char *body,
               const size_t *len);

/* Tell every other node (and our own worker) that work is queued here. */
void taskd_poke_all(struct taskd *t);

/* Tasks queued in our journal, over every running job. */
uint64_t taskd_queued(struct taskd *t);

/* Whether the pull in flight is answered: an empty grant if the home it
 * went to is gone or silent. */
void taskd_pull_give_up(struct taskd *t);

/* Answer our worker's pull: from our own journal first, else from the next
 * home with work, else empty. */
void taskd_pull_answer(struct taskd *t);

/* Send the results of other homes' tasks, one RESULT per home and batch:
 * those never sent, and those of a home whose resend is due (now). They
 * stay in the outbox until acked. */
void taskd_flush_outbox(struct taskd *t, double now);

/* Give up the outbox's results for home (0: those older than
 * TASKD_OUTBOX_KEEP at now). */
void taskd_outbox_drop(struct taskd *t, uint64_t home, double now);

/* Ack the results just recorded (outcomes[i] for pending entry i) to the
 * workers that sent them, one RESULT_ACK per worker: whatever became of a
 * result, the worker may forget it. */
void taskd_ack_results(struct taskd *t, const enum journal_outcome *outcomes);

/* Fetches whose node is gone or silent fail. */
void taskd_fetch_expire(struct taskd *t, uint64_t gone);

/* ---- taskd_control.c: control operations ---- */

/* Unlink stream s from t and free it (no reply is sent). */
void taskd_stream_remove(struct taskd *t, struct taskd_stream *s);

/* Send each stream its job's progress if it changed; the final reply when
 * the job is over. */
void taskd_progress(struct taskd *t, bool only_final);

/* The progress timer: send the streams' progress when something changed. */
void taskd_progress_cb(uv_timer_t *h);

/* A job as the control replies show it (a new object): id, name, state,
 * ntasks, the count of tasks in each state, stale_reports, submitted,
 * finished, cores and retries. */
json_t *taskd_job_json(const struct journal_job_info *info);

/* The job id of a request's "id": 0 and *id set, or -EINVAL when it is
 * missing or not an integer from 1. */
int taskd_job_id(const json_t *req, uint64_t *id);

#endif
