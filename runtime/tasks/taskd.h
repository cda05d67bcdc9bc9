/* SPDX-License-Identifier: MIT */
/* taskd.h - bag-of-tasks jobs in a node daemon: the home node's journal,
 * this node's worker, and the control operations of the `shoal` commands.
 *
 * One taskd per daemon, on the daemon's libuv loop. It is home to the jobs
 * submitted on this node (journal in DIR/jobs.db) and a worker that pulls
 * tasks (task_pull) and runs them (task_exec) on the cores this node lends.
 * On one node the worker pulls from its own home by function calls; across
 * nodes the same exchanges are task frames (TASKD_FRAME_*), which the
 * daemon carries sealed between daemons.
 *
 * Control operations take a JSON request and answer with one or more JSON
 * replies through a callback (a stream for "task.wait"):
 *   task.submit  {name?, cores, retries, time_limit, spec, argv, env, wdir,
 *                after?: [ID...]} -> {id, ntasks}; with after, no task
 *                runs until those jobs all ended done, and the job fails
 *                ("dependency N failed") if one did not (journal.h)
 *   task.resubmit {id, failed?} -> {id, ntasks}: a new job with job id's
 *                command, settings and name, running again its failed
 *                tasks (all of them without failed), each keeping its
 *                index and values; refused while job id runs
 *   task.jobs    {name?, state?} -> {jobs: [...]}, only those of that
 *                name and state when given
 *   task.job     {id} -> {job}
 *   task.wait    {id} -> {progress} ... then the final {job}
 *   task.results {id, first, max} -> {tasks: [...], next}
 *   task.output  {id, task} -> {task: {..., node, stdout, stderr,
 *                counters?}}, with stdout_data, stderr_data and
 *                counters_data? (base64) when another node ran it: they
 *                are fetched from it (an error if it is gone)
 *   task.cancel  {id} -> {cancelled}
 * A reply is {"ok": true, ...} or {"ok": false, "error": TEXT, "code": N}.
 *
 * Where a task runs. In the directory it was submitted from (recorded with
 * the job) with the submitter's environment plus SHOAL_JOB_ID,
 * SHOAL_TASK_ID, SHOAL_TASK_ATTEMPT and SHOAL_TASK_DIR; its stdout and
 * stderr go to DIR/jobs/ID/task.N/{stdout,stderr} on the node that ran it
 * (a retry replaces them, so a failed task keeps its last stderr), the
 * directory SHOAL_TASK_DIR names. A task may also leave there a file
 * TASKD_COUNTERS_FILE (the counts of libshoal-papi.so, preloaded by
 * `shoal bench run`): removed as each attempt starts, and carried with
 * the output (task.output's "counters" path, or "counters_data" as base64
 * when fetched from another node; at most TASKD_COUNTERS_MAX bytes, whole
 * or not at all), so counts come back through the pool without a shared
 * file system. */
#define TASKD_COUNTERS_FILE "counters"
#ifndef SHOAL_RUNTIME_TASKS_TASKD_H
#define SHOAL_RUNTIME_TASKS_TASKD_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/daemon/usercred.h"
#include "runtime/guest/guestd.h"

#include "runtime/daemon/control.h"

/* Task frames between daemons: the header type byte, within 64-95. */
enum taskd_frame_type {
    TASKD_FRAME_PULL = 64,  /* worker -> home: free cores, want, speed */
    TASKD_FRAME_GRANT,      /* home -> worker: job specs and leases */
    TASKD_FRAME_RENEW,      /* worker -> home: leases held */
    TASKD_FRAME_RENEWED,    /* home -> worker: leases no longer valid */
    TASKD_FRAME_RESULT,     /* worker -> home: results of ended tasks */
    TASKD_FRAME_CANCEL,     /* home -> worker: kill the tasks of a job */
    TASKD_FRAME_POKE,       /* home -> workers: new work is queued */
    TASKD_FRAME_FETCH,      /* home -> worker: a task's output, please */
    TASKD_FRAME_FETCHED,    /* worker -> home: here it is */
    TASKD_FRAME_RESULT_ACK, /* home -> worker: results recorded or refused */
    TASKD_FRAME_FIRST = 64,
    TASKD_FRAME_LAST = 95,
};

/* At most this many jobs a job may run after. */
enum { TASKD_AFTER_MAX = 64 };

struct taskd_config {
    const char *dir;   /* the daemon's directory: jobs.db, jobs/ */
    uint64_t node_id;  /* this node, kept across restarts */
    int cores;         /* cores lent to tasks; 0: every core */
    int speed;         /* 1000 = reference */
    double lease;      /* seconds a lease lasts without renewal */
    double kill_grace; /* SIGTERM to SIGKILL */
    /* as a home: copy each task's output from the node it ran on into
     * DIR/output/JOB/TASK.out|.err once its result is recorded, where
     * `shoal output` finds it after the node left the pool (a Slurm
     * allocation's pool, whose nodes end with the allocation) */
    bool output_home;
};

struct taskd;
struct taskd_stream;

/* How a taskd reaches the other daemons of its pool: send a task frame to
 * node (as daemon_send(): 0 or a negative code). */
struct taskd_net_ops {
    int (*send)(
        uint64_t node, uint8_t type, const void *body, size_t len, void *arg);
};

/* A reply to a control request. final is true for the last one; after
 * it, the stream (if any) is gone. msg is borrowed for the call. */
typedef void taskd_reply_f(const json_t *msg, bool final, void *arg);

/* Make the taskd of a node on loop: open the journal, re-queue the tasks
 * this node held before a restart (they died with it), start pulling.
 * Returns 0 and sets *out, or a negative code with error filled. */
int taskd_create(uv_loop_t *loop,
                 const struct taskd_config *config,
                 struct taskd **out,
                 shoal_error_t *error);

/* Kill this node's tasks (their leases are re-queued when the daemon comes
 * back), end the streams with an error, close the journal; the loop must
 * run to close the handles. NULL is accepted. */
void taskd_destroy(struct taskd *t);

/* Handle a control request (op is "task.*"). reply is called at least
 * once, maybe from within this call. Returns 0, or -ENOSYS for an op that
 * is not taskd's (reply is then not called). For a streaming op, *stream
 * (may be NULL) is set; pass it to taskd_stream_close() if the client goes
 * away before the final reply. */
int taskd_control(struct taskd *t,
                  const char *op,
                  const json_t *request,
                  taskd_reply_f *reply,
                  void *arg,
                  struct taskd_stream **stream);

/* The client of a stream went away: no more replies. */
void taskd_stream_close(struct taskd_stream *s);

/* The control ops a taskd serves ("task.submit" ...), NULL-terminated. */
extern const char *const taskd_control_ops[];

/* The class of one of taskd_control_ops (control.h): task.submit
 * submits, task.cancel acts on the caller's own job, the rest read. */
enum control_op_class taskd_control_op_class(const char *op);

/* Serve one of taskd_control_ops on a control socket (a control_op_f whose
 * arg is the taskd): taskd_control() with the replies sent on conn. A
 * stream ("task.wait", a "task.output" fetched from another node) holds
 * conn until its final reply, and ends when the client goes away. The
 * node daemon and the task service a command starts both serve the ops
 * so. */
void taskd_control_op(control_conn_t *conn, json_t *request, void *arg);

/* Who submits and runs jobs: the node's user credentials (borrowed; must
 * outlive t). Without them (a task service of its own) a job runs only if
 * its submitter is the service's own user. */
void taskd_set_usercred(struct taskd *t, usercred_t *uc);

/* A control request's caller, from the control socket. */
struct taskd_caller {
    uint32_t uid, gid;
};

/* As taskd_control(), for caller: a job is recorded as the caller's;
 * task.job, task.results, task.output and task.cancel of another user's
 * job are refused ("job 3 belongs to user 'nobody' (uid 65534)") unless
 * the caller is root or the service's own user. taskd_control() is this
 * with the service's own user as the caller. */
int taskd_control_as(struct taskd *t,
                     const struct taskd_caller *caller,
                     const char *op,
                     const json_t *request,
                     taskd_reply_f *reply,
                     void *arg,
                     struct taskd_stream **stream);

/* Whether a job is running or a stream open: the daemon should stay. */
bool taskd_busy(struct taskd *t);

/* Fill config's tunables from the environment (task_lease, task_cores,
 * task_kill_grace, SHOAL_SPEED); dir and node_id are left to the caller.
 * Returns 0 or a negative code with error filled naming the variable. */
int taskd_config_from_params(struct taskd_config *config, shoal_error_t *error);

/* Where a node's cores come from when gang jobs share them: claim n cores
 * for the task key (their logical indexes into cores; 0 or -EBUSY),
 * release them, and count the cores free for tasks now. */
struct taskd_cores_ops {
    int (*claim)(uint64_t key, int n, int *cores, void *arg);
    void (*release)(uint64_t key, void *arg);
    int (*free_count)(void *arg);
    /* whether the node's owner withholds every core (may be NULL) */
    bool (*withheld)(void *arg);
};

/* Take t's cores from ops (and arg, which must outlive t) rather than
 * from its own count: the node lends tasks only what gang jobs leave. */
void taskd_set_cores(struct taskd *t,
                     const struct taskd_cores_ops *ops,
                     void *arg);

/* Run each task in its job's cgroup of guest (runtime/guest/guestd.h),
 * with nice 10 and the idle I/O class; a task the OOM killer ended there
 * fails with the reason "killed: the job exceeded its memory limit of N
 * MiB on 'NODE'" (and is retried as any failed task). guest must outlive
 * t; NULL (the default): none. */
void taskd_set_guest(struct taskd *t, guestd_t *guest);

/* Join t to a pool: frames go out through ops->send (ops and arg must
 * outlive t). Until called, t is a node alone: it runs the jobs it is home
 * to, and no others. */
void taskd_set_net(struct taskd *t, const struct taskd_net_ops *ops, void *arg);

/* Whether the node's owner is taking the node back now (NULL: never):
 * a task that fails meanwhile is reported vacated, to run again
 * elsewhere without using up a retry. */
void taskd_set_vacating(struct taskd *t, bool (*vacating)(void *), void *arg);

/* A task frame (TASKD_FRAME_*) from node from; body borrowed for the call.
 * A body that does not decode is dropped. */
void taskd_frame(
    struct taskd *t, uint64_t from, uint8_t type, const void *body, size_t len);

/* What membership says of another node. */
enum taskd_member_state {
    TASKD_MEMBER_ALIVE, /* joined, or came back */
    TASKD_MEMBER_DEAD,  /* silent: it may come back (a daemon restarting) */
    TASKD_MEMBER_LEFT,  /* gone for good */
};

/* Node is alive, dead or left. A node dead or left gives back the tasks it
 * was leased (they are queued again at once) and, for the tasks this node
 * runs for it as their home, ends them. The results of its tasks that
 * this node holds, not yet acked, are sent again when it comes back alive,
 * and given up when it leaves. */
void taskd_member(struct taskd *t,
                  uint64_t node,
                  enum taskd_member_state state);

/* Node, alive, has cores cores, free_cores of them free, and is called
 * name: what a job submitted here may ask for is bounded by the largest
 * node alive, and a job waits for "Resources" while no node has enough
 * free. Forgotten when the node is dead or left. */
void taskd_member_size(struct taskd *t,
                       uint64_t node,
                       const char *name,
                       unsigned cores,
                       unsigned free_cores);

/* Add t's counters to stats (a JSON object): a "tasks" object of
 * integers. */
void taskd_stats_json(struct taskd *t, json_t *stats);

struct daemon;

/* Serve bag-of-tasks jobs in the node daemon d whose directory is dir
 * (its cores shared with gang jobs through the node's core ledger cores,
 * runtime/daemon/cores.h, when not NULL; and its owner service owner,
 * runtime/owner/ownerd.h, when not NULL, to tell a vacate): a
 * taskd on the daemon's loop, with its node id, and the "task.*" control
 * ops on its control socket. Returns 0 and sets *out (free with
 * taskd_destroy() when the daemon stops), or a negative code with error
 * filled. The task frames between daemons (TASKD_FRAME_*, task_wire) and
 * member events are wired to the daemon, so every node with free cores
 * pulls tasks from every home that has work. */
struct cores;
struct ownerd;

int taskd_attach(struct daemon *d,
                 struct cores *cores,
                 struct ownerd *owner,
                 const char *dir,
                 struct taskd **out,
                 shoal_error_t *error);

#endif
