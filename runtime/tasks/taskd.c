/* SPDX-License-Identifier: MIT */
/* taskd.c - bag-of-tasks jobs: home journal, local worker, control ops. */
#include "runtime/tasks/taskd.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>

#include "runtime/tasks/journal.h"
#include "util/spawn.h"
#include "runtime/tasks/task_cmd.h"
#include "runtime/tasks/task_exec.h"
#include "runtime/tasks/task_pull.h"
#include "runtime/tasks/task_wire.h"
#include "runtime/member/topo.h"
#include "runtime/tasks/taskgen.h"
#include "util/param.h"

PARAM_DEFINE(taskd_lease_param,
             "task_lease",
             PARAM_TYPE_DOUBLE,
             "30",
             "seconds a task lease lasts without renewal; a worker renews "
             "every third of it");
PARAM_DEFINE(taskd_cores_param,
             "task_cores",
             PARAM_TYPE_DOUBLE,
             "0",
             "cores this node lends to tasks; 0 for all of them (more than "
             "the node has runs them unbound)");
PARAM_DEFINE(taskd_kill_grace_param,
             "task_kill_grace",
             PARAM_TYPE_DOUBLE,
             "3",
             "seconds between SIGTERM and SIGKILL when a task is ended");

int taskd_config_from_params(struct taskd_config *config, shoal_error_t *error)
{
    double cores = 0;
    const char *speed = getenv("SHOAL_SPEED");
    int rc = param_get_double(&taskd_lease_param, 0.1, &config->lease, error);

    if (rc == 0)
        rc = param_get_double(&taskd_cores_param, 0, &cores, error);
    if (rc == 0)
        rc = param_get_double(&taskd_kill_grace_param, 0, &config->kill_grace,
                              error);
    if (rc < 0)
        return rc;
    config->cores = cores > 65536 ? 65536 : (int)cores;
    config->speed = speed && atoi(speed) > 0 ? atoi(speed) : 1000;
    return 0;
}

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
struct taskd_job {
    uint64_t id;        /* its key in task_pull */
    uint64_t home;      /* 0: this node's own job */
    uint64_t remote_id; /* its id at its home */
    /* argv is the template (own jobs only); env has room for three
     * SHOAL_ variables after the submitter's */
    struct task_cmd cmd;
    json_t *wire; /* DESC for GRANTs to other nodes (own jobs only) */
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
    bool claimed; /* from the node's claim ledger (taskd_set_cores) */
    struct taskd_run *next;
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
    struct taskd_stream *next;
};

/* Seconds a node has to send a task's output; the most sent of a file. */
#define TASKD_FETCH_TIMEOUT 10.0
#define TASKD_FETCH_MAX (3 << 20)

struct taskd {
    uv_loop_t *loop;
    struct taskd_config cfg;
    char *dir;
    struct journal *journal;
    struct task_exec *exec;
    struct task_pull *pull;
    hwloc_topology_t topo;
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
    uint64_t *peers; /* other nodes alive */
    size_t npeers, cap_peers;
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
};

static double taskd_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* Nothing to do: an active idle handle only keeps the loop from blocking
 * before the check that follows. */
static void taskd_wake_cb(uv_idle_t *h)
{
    (void)h;
}

static void taskd_job_free(struct taskd_job *job)
{
    if (!job)
        return;
    task_cmd_release(&job->cmd);
    json_decref(job->wire);
    free(job);
}

static char **taskd_strings(const json_t *a, size_t extra, size_t *n)
{
    size_t count = json_array_size(a), i;
    char **v = calloc(count + extra + 1, sizeof(*v));
    json_t *s;

    if (!v)
        return NULL;
    json_array_foreach(a, i, s)
    {
        v[i] = strdup(json_is_string(s) ? json_string_value(s) : "");
        if (!v[i]) {
            taskgen_argv_free(v);
            return NULL;
        }
    }
    if (n)
        *n = count;
    return v;
}

/* The job's run description, decoded from the journal once. */
static struct taskd_job *taskd_job_get(struct taskd *t, uint64_t id)
{
    struct journal_job_info info;
    struct taskd_job *job;
    json_t *desc;

    for (job = t->jobs; job; job = job->next)
        if (job->id == id)
            return job;
    if (id >= TASKD_REMOTE_KEY || journal_job_get(t->journal, id, &info) < 0)
        return NULL;
    desc = json_loads(info.desc, 0, NULL);
    journal_job_info_release(&info);
    job = calloc(1, sizeof(*job));
    if (!desc || !job)
        goto error;
    job->id = id;
    if (task_cmd_unpack(desc, TASK_CMD_ARGV_REQUIRED, 3, &job->cmd, NULL) < 0)
        goto error;
    job->wire = json_object();
    if (!job->wire
        || task_cmd_pack(&(struct task_cmd){.env = job->cmd.env,
                                            .wdir = job->cmd.wdir,
                                            .time_limit = job->cmd.time_limit},
                         job->wire)
               < 0)
        goto error;
    json_decref(desc);
    job->next = t->jobs;
    t->jobs = job;
    return job;
error:
    json_decref(desc);
    taskd_job_free(job);
    return NULL;
}

/* Queue a result (strings copied) from or for node, at now. Returns 0 or
 * -ENOMEM (then the result is not queued: its lease expires and the task
 * runs again). */
static int taskd_queue_push(struct taskd_queue *qu,
                            const struct journal_result *r,
                            uint64_t node,
                            double now)
{
    struct journal_result *q;

    if (qu->n == qu->cap) {
        size_t cap = qu->cap ? qu->cap * 2 : 64;
        struct journal_result *np = realloc(qu->r, cap * sizeof(*np));
        struct taskd_queued *nm;
        char **ns;

        if (np)
            qu->r = np;
        ns = np ? realloc(qu->strings, cap * 4 * sizeof(*ns)) : NULL;
        if (ns)
            qu->strings = ns;
        nm = ns ? realloc(qu->meta, cap * sizeof(*nm)) : NULL;
        if (nm)
            qu->meta = nm;
        if (!nm)
            return -ENOMEM;
        qu->cap = cap;
    }
    q = &qu->r[qu->n];
    *q = *r;
    q->reason = r->reason ? strdup(r->reason) : NULL;
    q->out_path = r->out_path ? strdup(r->out_path) : NULL;
    q->err_path = r->err_path ? strdup(r->err_path) : NULL;
    q->err_tail = r->err_tail ? strdup(r->err_tail) : NULL;
    qu->strings[qu->n * 4] = (char *)q->reason;
    qu->strings[qu->n * 4 + 1] = (char *)q->out_path;
    qu->strings[qu->n * 4 + 2] = (char *)q->err_path;
    qu->strings[qu->n * 4 + 3] = (char *)q->err_tail;
    qu->meta[qu->n] = (struct taskd_queued){.node = node, .since = now};
    qu->n++;
    return 0;
}

static void taskd_queue_clear(struct taskd_queue *qu)
{
    for (size_t i = 0; i < qu->n * 4; i++)
        free(qu->strings[i]);
    qu->n = 0;
}

/* Remove the entries marked in gone (n entries), keeping the others in
 * order. */
static void taskd_queue_remove(struct taskd_queue *qu, const bool *gone)
{
    size_t k = 0;

    for (size_t i = 0; i < qu->n; i++) {
        if (gone[i]) {
            for (int s = 0; s < 4; s++)
                free(qu->strings[i * 4 + s]);
            continue;
        }
        if (k != i) {
            qu->r[k] = qu->r[i];
            memcpy(&qu->strings[k * 4], &qu->strings[i * 4],
                   4 * sizeof(*qu->strings));
            qu->meta[k] = qu->meta[i];
        }
        k++;
    }
    qu->n = k;
}

static void taskd_queue_release(struct taskd_queue *qu)
{
    taskd_queue_clear(qu);
    free(qu->r);
    free(qu->strings);
    free(qu->meta);
}

/* Queue the result of one of our tasks: for our journal, or for its home
 * (in its id there). A task of a home that is gone reports nothing. */
static void taskd_push_result(struct taskd *t, const struct journal_result *r)
{
    struct journal_result copy = *r;
    struct taskd_job *job;

    if (r->job < TASKD_REMOTE_KEY) {
        taskd_queue_push(&t->pending, r, 0, taskd_now());
    } else {
        for (job = t->jobs; job && job->id != r->job; job = job->next)
            ;
        if (!job)
            return;
        if (t->outbox.n >= TASKD_OUTBOX_MAX) {
            bool *gone = calloc(t->outbox.n, sizeof(*gone));

            if (!gone)
                return;
            gone[0] = true;
            if (!t->outbox.meta[0].sent)
                t->outbox_unsent--;
            taskd_queue_remove(&t->outbox, gone);
            t->stats.results_dropped++;
            free(gone);
        }
        copy.job = job->remote_id;
        if (taskd_queue_push(&t->outbox, &copy, job->home, taskd_now()) < 0)
            return;
        t->outbox_unsent++;
    }
    uv_idle_start(&t->wake, taskd_wake_cb);
}

static void taskd_fail_start(struct taskd *t,
                             const struct journal_lease *l,
                             const char *why)
{
    double now = taskd_now();
    struct journal_result r = {.job = l->job,
                               .task = l->task,
                               .attempt = l->attempt,
                               .token = l->token,
                               .node = t->cfg.node_id,
                               .start = now,
                               .end = now,
                               .status = TASK_EXEC_STATUS_NOT_RUN,
                               .reason = why,
                               .err_tail = why};

    taskd_push_result(t, &r);
}

struct taskd_params_copy {
    char *params;
};

static void taskd_copy_params(const struct journal_task_row *row, void *arg)
{
    struct taskd_params_copy *c = arg;

    c->params = strdup(row->params);
}

/* Take n free cores for a task and make its cpuset. */
static int
taskd_take_cores(struct taskd *t, struct taskd_run *run, int n, cpu_set_t *set)
{
    CPU_ZERO(set);
    run->cores = calloc((size_t)n, sizeof(int));
    if (!run->cores)
        return -ENOMEM;
    if (t->cores_ops) {
        int rc = t->cores_ops->claim(TASKD_CLAIM_KEY | run->key, n, run->cores,
                                     t->cores_arg);

        if (rc < 0)
            return rc;
        run->ncores = n;
        run->claimed = true;
    }
    for (int i = 0; i < n; i++) {
        hwloc_obj_t core;
        int c = run->claimed ? run->cores[i] : -1;

        for (int k = 0; c < 0 && k < t->ncores; k++)
            if (!t->core_busy[k])
                c = k;
        if (c < 0)
            break;
        if (!run->claimed) {
            t->core_busy[c] = true;
            run->cores[run->ncores++] = c;
        }
        core = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_CORE, (unsigned)c);
        if (t->bind && core) {
            cpu_set_t one;

            hwloc_cpuset_to_glibc_sched_affinity(t->topo, core->cpuset, &one,
                                                 sizeof(one));
            CPU_OR(set, set, &one);
        }
    }
    return 0;
}

static void taskd_run_free(struct taskd *t, struct taskd_run *run)
{
    if (run->claimed)
        t->cores_ops->release(TASKD_CLAIM_KEY | run->key, t->cores_arg);
    else
        for (int i = 0; i < run->ncores; i++)
            t->core_busy[run->cores[i]] = false;
    free(run->cores);
    free(run);
}

/* The command of task of our own job, expanded (caller frees with
 * taskgen_argv_free()). Returns 0 or a negative code with error filled. */
static int taskd_expand(struct taskd *t,
                        struct taskd_job *job,
                        uint64_t task,
                        char ***argv,
                        shoal_error_t *error)
{
    struct taskd_params_copy pc = {NULL};
    json_t *params;
    int rc;

    journal_tasks(t->journal, job->id, task, 1, taskd_copy_params, &pc);
    params = pc.params ? json_loads(pc.params, 0, NULL) : NULL;
    free(pc.params);
    rc = params ? taskgen_expand(job->cmd.argv, params, task, argv, error)
                : shoal_errprintf(error, -EIO, "cannot read the task");
    json_decref(params);
    return rc;
}

/* Take the command granted with lease l by another home. */
static char **taskd_granted_take(struct taskd *t, const struct journal_lease *l)
{
    struct taskd_granted **p = &t->granted, *g;
    char **argv;

    while (*p
           && ((*p)->key != l->job || (*p)->task != l->task
               || (*p)->attempt != l->attempt))
        p = &(*p)->next;
    g = *p;
    if (!g)
        return NULL;
    *p = g->next;
    argv = g->argv;
    free(g);
    return argv;
}

/* Forget the commands granted for job key (task UINT64_MAX: every task). */
static void taskd_granted_drop(struct taskd *t, uint64_t key, uint64_t task)
{
    struct taskd_granted **p = &t->granted;

    while (*p) {
        struct taskd_granted *g = *p;

        if (g->key == key && (task == UINT64_MAX || g->task == task)) {
            *p = g->next;
            taskgen_argv_free(g->argv);
            free(g);
        } else {
            p = &g->next;
        }
    }
}

/* task_pull op: run a leased task now. */
static int taskd_start_op(const struct journal_lease *l, void *arg)
{
    struct taskd *t = arg;
    struct taskd_job *job = taskd_job_get(t, l->job);
    struct taskd_run *run = NULL;
    char **argv = NULL, *path = NULL, out_dir[PATH_MAX];
    char env_job[40], env_task[40], env_attempt[40];
    shoal_error_t error = {{0}};
    struct task_exec_spec spec;
    cpu_set_t set;
    int rc;

    if (!job) {
        taskd_fail_start(t, l, "cannot read the job from the journal");
        return -EIO;
    }
    if (job->home == 0)
        rc = taskd_expand(t, job, l->task, &argv, &error);
    else if ((argv = taskd_granted_take(t, l)) != NULL)
        rc = 0;
    else
        rc = shoal_errprintf(&error, -EIO, "no command granted for the task");
    if (rc == 0)
        rc = spawn_resolve(argv[0], job->cmd.wdir, &path, &error);
    run = calloc(1, sizeof(*run));
    if (rc == 0 && !run)
        rc = shoal_errprintf(&error, -ENOMEM, "out of memory");
    if (rc == 0) {
        run->key = ++t->next_key;
        rc = taskd_take_cores(
            t, run, l->cores < t->ncores ? l->cores : t->ncores, &set);
        if (rc == -EBUSY) {
            /* a gang job took the cores since the last count: the lease
             * lapses and the task runs again, no retry used */
            taskd_run_free(t, run);
            taskgen_argv_free(argv);
            free(path);
            return rc;
        }
    }
    if (rc < 0)
        goto out;
    snprintf(env_job, sizeof(env_job), "SHOAL_JOB_ID=%" PRIu64,
             job->home ? job->remote_id : l->job);
    snprintf(env_task, sizeof(env_task), "SHOAL_TASK_ID=%" PRIu64, l->task);
    snprintf(env_attempt, sizeof(env_attempt), "SHOAL_TASK_ATTEMPT=%" PRIu32,
             l->attempt);
    job->cmd.env[job->cmd.nenv] = env_job;
    job->cmd.env[job->cmd.nenv + 1] = env_task;
    job->cmd.env[job->cmd.nenv + 2] = env_attempt;
    /* another home's job ids may be ours too: its outputs go apart */
    if (job->home)
        snprintf(out_dir, sizeof(out_dir),
                 "%s/jobs/%016" PRIx64 "-%" PRIu64 "/task.%" PRIu64, t->dir,
                 job->home, job->remote_id, l->task);
    else
        snprintf(out_dir, sizeof(out_dir), "%s/jobs/%" PRIu64 "/task.%" PRIu64,
                 t->dir, l->job, l->task);
    run->lease = *l;
    spec = (struct task_exec_spec){.key = run->key,
                                   .path = path,
                                   .argv = argv,
                                   .envp = job->cmd.env,
                                   .wdir = job->cmd.wdir,
                                   .cpus = t->bind ? &set : NULL,
                                   .out_dir = out_dir,
                                   .time_limit = job->cmd.time_limit};
    rc = task_exec_start(t->exec, &spec, &error);
    job->cmd.env[job->cmd.nenv] = NULL;
    if (rc == 0) {
        run->next = t->runs;
        t->runs = run;
        run = NULL;
    }
out:
    if (rc < 0)
        taskd_fail_start(t, l, error.text);
    if (run)
        taskd_run_free(t, run);
    taskgen_argv_free(argv);
    free(path);
    return rc;
}

static void taskd_pull_op(int free_cores, int want, int speed, void *arg)
{
    struct taskd *t = arg;

    (void)speed;
    t->pull_wanted = true;
    t->pull_want = want;
    t->pull_free = free_cores;
    uv_idle_start(&t->wake, taskd_wake_cb);
}

static void taskd_abandon_op(const struct journal_lease *l, void *arg)
{
    struct taskd *t = arg;

    for (struct taskd_run *r = t->runs; r; r = r->next)
        if (r->lease.job == l->job && r->lease.task == l->task
            && r->lease.attempt == l->attempt)
            task_exec_kill(t->exec, r->key);
}

static struct taskd_job *taskd_job_find(struct taskd *t, uint64_t key)
{
    struct taskd_job *job = t->jobs;

    while (job && job->id != key)
        job = job->next;
    return job;
}

static struct taskd_job *
taskd_remote_find(struct taskd *t, uint64_t home, uint64_t id)
{
    struct taskd_job *job = t->jobs;

    while (job && (job->home != home || job->remote_id != id))
        job = job->next;
    return job;
}

static int taskd_send(struct taskd *t,
                      uint64_t node,
                      enum taskd_frame_type type,
                      char *body,
                      const size_t *len)
{
    /* len is read here, after the encoder that made body has set it */
    int rc = body && t->net
                 ? t->net->send(node, (uint8_t)type, body, *len, t->net_arg)
                 : -ENOMEM;

    free(body);
    return rc;
}

/* Renew our own leases in the journal, and send the others' to their
 * homes, one RENEW per home, in the ids the homes know. */
static void
taskd_renew_op(const struct journal_lease *leases, size_t n, void *arg)
{
    struct taskd *t = arg;
    bool *valid = calloc(n, sizeof(*valid));
    struct journal_lease *mine = calloc(n, sizeof(*mine));
    bool *sent = calloc(n, sizeof(*sent));
    size_t nmine = 0;

    if (!valid || !mine || !sent)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (leases[i].job < TASKD_REMOTE_KEY)
            mine[nmine++] = leases[i];
    if (nmine > 0
        && journal_renew(t->journal, mine, nmine, taskd_now(), t->cfg.lease,
                         valid)
               >= 0)
        for (size_t i = 0; i < nmine; i++)
            if (!valid[i])
                task_pull_revoke(t->pull, mine[i].job, mine[i].task);
    for (size_t i = 0; i < n; i++) {
        struct taskd_job *job;
        size_t k = 0, len;

        if (sent[i] || leases[i].job < TASKD_REMOTE_KEY)
            continue;
        job = taskd_job_find(t, leases[i].job);
        if (!job)
            continue;
        for (size_t j = i; j < n; j++) {
            struct taskd_job *other = leases[j].job == leases[i].job
                                          ? job
                                          : taskd_job_find(t, leases[j].job);

            if (sent[j] || leases[j].job < TASKD_REMOTE_KEY || !other
                || other->home != job->home)
                continue;
            sent[j] = true;
            mine[k] = leases[j];
            mine[k++].job = other->remote_id;
        }
        taskd_send(t, job->home, TASKD_FRAME_RENEW,
                   task_wire_leases_encode("leases", mine, k, &len), &len);
    }
out:
    free(valid);
    free(mine);
    free(sent);
}

static const struct task_pull_ops taskd_pull_ops = {
    .pull = taskd_pull_op,
    .start = taskd_start_op,
    .abandon = taskd_abandon_op,
    .renew = taskd_renew_op,
};

static void taskd_exec_done(const struct task_exec_result *res, void *arg)
{
    struct taskd *t = arg;
    struct taskd_run **p = &t->runs;

    while (*p && (*p)->key != res->key)
        p = &(*p)->next;
    if (!*p)
        return;
    struct taskd_run *run = *p;
    *p = run->next;
    struct journal_result r = {.job = run->lease.job,
                               .task = run->lease.task,
                               .attempt = run->lease.attempt,
                               .token = run->lease.token,
                               .node = t->cfg.node_id,
                               .start = res->start,
                               .end = res->end,
                               .status = res->status,
                               .reason = res->reason,
                               .out_path = res->out_path,
                               .err_path = res->err_path,
                               .err_tail = res->err_tail};
    struct journal_lease lease = run->lease;

    taskd_run_free(t, run);
    if (task_pull_finished(t->pull, lease.job, lease.task, lease.attempt,
                           taskd_now()))
        taskd_push_result(t, &r);
}

/* --- progress streams ---------------------------------------------------- */

static json_t *taskd_job_json(const struct journal_job_info *info)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:i, s:i}",
        "id", (json_int_t)info->id, "state",
        journal_job_state_name(info->state), "ntasks", (json_int_t)info->ntasks,
        "queued", (json_int_t)info->count[JOURNAL_TASK_QUEUED], "running",
        (json_int_t)info->count[JOURNAL_TASK_LEASED], "done",
        (json_int_t)info->count[JOURNAL_TASK_DONE], "failed",
        (json_int_t)info->count[JOURNAL_TASK_FAILED], "cancelled",
        (json_int_t)info->count[JOURNAL_TASK_CANCELLED], "stale_reports",
        (json_int_t)info->stale_reports, "submitted", info->submitted,
        "finished", info->finished, "cores", info->cores, "retries",
        info->retries);

    if (info->name)
        json_object_set_new(o, "name", json_string(info->name));
    return o;
}

static void taskd_stream_remove(struct taskd *t, struct taskd_stream *s)
{
    struct taskd_stream **p = &t->streams;

    while (*p && *p != s)
        p = &(*p)->next;
    if (*p)
        *p = s->next;
    json_decref(s->fetch_row);
    free(s);
}

/* Send each stream its job's progress if it changed; the final reply when
 * the job is over. */
static void taskd_progress(struct taskd *t, bool only_final)
{
    struct taskd_stream *s = t->streams, *next;

    for (; s; s = next) {
        struct journal_job_info info;
        json_t *msg;

        next = s->next;
        if (s->fetch || journal_job_get(t->journal, s->job, &info) < 0)
            continue;
        if (info.state != JOURNAL_JOB_RUNNING) {
            msg =
                json_pack("{s:b, s:o}", "ok", 1, "job", taskd_job_json(&info));
            s->reply(msg, true, s->arg);
            json_decref(msg);
            taskd_stream_remove(t, s);
        } else if (!only_final
                   && (!s->first_sent
                       || memcmp(s->sent, info.count, sizeof(s->sent)) != 0)) {
            memcpy(s->sent, info.count, sizeof(s->sent));
            s->first_sent = true;
            msg = json_pack("{s:o}", "progress", taskd_job_json(&info));
            s->reply(msg, false, s->arg);
            json_decref(msg);
        }
        journal_job_info_release(&info);
    }
}

static void taskd_progress_cb(uv_timer_t *h)
{
    struct taskd *t = h->data;

    if (!t->progress_dirty)
        return;
    t->progress_dirty = false;
    taskd_progress(t, false);
}

/* --- the pool: homes and workers ----------------------------------------- */

static const size_t taskd_poke_len = 2; /* "{}" */

/* Tell every other node (and our own worker) that work is queued here. */
static void taskd_poke_all(struct taskd *t)
{
    double now = taskd_now();

    for (size_t i = 0; i < t->npeers; i++)
        taskd_send(t, t->peers[i], TASKD_FRAME_POKE, strdup("{}"),
                   &taskd_poke_len);
    t->next_poke = now + 1.0;
    task_pull_poke(t->pull, now);
}

/* Tasks queued in our journal, over every running job. */
static void taskd_add_queued(const struct journal_job_info *info, void *arg)
{
    if (info->state == JOURNAL_JOB_RUNNING)
        *(uint64_t *)arg += info->count[JOURNAL_TASK_QUEUED];
}

static uint64_t taskd_queued(struct taskd *t)
{
    uint64_t n = 0;

    journal_jobs(t->journal, taskd_add_queued, &n);
    return n;
}

static struct taskd_home *taskd_home_get(struct taskd *t, uint64_t node)
{
    struct taskd_home *h;

    for (h = t->homes; h; h = h->next)
        if (h->node == node)
            return h;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->node = node;
    h->next = t->homes;
    t->homes = h;
    return h;
}

/* The next home with work, taken round-robin: it goes to the end. */
static struct taskd_home *taskd_home_next(struct taskd *t)
{
    struct taskd_home **p = &t->homes, *h, **tail;

    while (*p && !(*p)->has_work)
        p = &(*p)->next;
    h = *p;
    if (!h)
        return NULL;
    *p = h->next;
    h->next = NULL;
    for (tail = &t->homes; *tail; tail = &(*tail)->next)
        ;
    *tail = h;
    return h;
}

/* Whether the pull in flight is answered: an empty grant if the home it
 * went to is gone or silent. */
static void taskd_pull_give_up(struct taskd *t)
{
    t->pull_home = 0;
    task_pull_grant(t->pull, NULL, 0, taskd_now());
}

/* Lease tasks of our journal to node (ours included). A task that failed
 * on a node goes to another one when the pool has one. */
static int
taskd_lease(struct taskd *t, uint64_t node, int want, struct journal_lease *out)
{
    return journal_lease(t->journal, node, want, t->npeers > 0, taskd_now(),
                         t->cfg.lease, out, (size_t)want);
}

/* Answer our worker's pull: from our own journal first, else from the next
 * home with work, else empty. */
static void taskd_pull_answer(struct taskd *t)
{
    struct journal_lease leases[256];
    int want = t->pull_want < 256 ? t->pull_want : 256;
    struct taskd_home *h;
    int n = 0;

    t->pull_wanted = false;
    if (want > 0 && journal_busy(t->journal))
        n = taskd_lease(t, t->cfg.node_id, want, leases);
    if (n > 0) {
        t->progress_dirty = true;
        task_pull_grant(t->pull, leases, (size_t)n, taskd_now());
        return;
    }
    while (want > 0 && (h = taskd_home_next(t)) != NULL) {
        struct task_wire_pull m = {t->pull_free, want, t->cfg.speed};
        size_t len;

        if (taskd_send(t, h->node, TASKD_FRAME_PULL,
                       task_wire_pull_encode(&m, &len), &len)
            == 0) {
            t->pull_home = h->node;
            t->pull_sent = taskd_now();
            return;
        }
        h->has_work = false;
    }
    task_pull_grant(t->pull, NULL, 0, taskd_now());
}

/* Send the results in batch (n, at most TASKD_RESULT_BATCH) to home. */
static void taskd_send_results(struct taskd *t,
                               uint64_t home,
                               const struct journal_result *batch,
                               size_t n)
{
    size_t len;

    if (n > 0)
        taskd_send(t, home, TASKD_FRAME_RESULT,
                   task_wire_results_encode(batch, n, &len), &len);
}

/* Send the results of other homes' tasks, one RESULT per home and batch:
 * those never sent, and those of a home whose resend is due (now). They
 * stay in the outbox until acked. */
static void taskd_flush_outbox(struct taskd *t, double now)
{
    struct taskd_queue *q = &t->outbox;
    struct journal_result *batch;
    bool *done;

    if (q->n == 0)
        return;
    batch = calloc(TASKD_RESULT_BATCH, sizeof(*batch));
    done = calloc(q->n, sizeof(*done));
    for (size_t i = 0; batch && done && i < q->n; i++) {
        struct taskd_home *h;
        size_t k = 0, resent = 0;
        bool due;

        if (done[i])
            continue;
        h = taskd_home_get(t, q->meta[i].node);
        if (!h)
            break;
        due = h->resend_at > 0 && h->resend_at <= now;
        for (size_t j = i; j < q->n; j++) {
            if (done[j] || q->meta[j].node != h->node)
                continue;
            done[j] = true;
            if (q->meta[j].sent && !due)
                continue;
            if (q->meta[j].sent) {
                resent++;
            } else {
                q->meta[j].sent = true;
                t->outbox_unsent--;
                t->stats.results_sent++;
            }
            batch[k++] = q->r[j];
            if (k == TASKD_RESULT_BATCH) {
                taskd_send_results(t, h->node, batch, k);
                k = 0;
            }
        }
        taskd_send_results(t, h->node, batch, k);
        t->stats.results_resent += resent;
        if (due) {
            h->resend_at = now + h->backoff;
            h->backoff = h->backoff * 2 < TASKD_RESEND_MAX ? h->backoff * 2
                                                           : TASKD_RESEND_MAX;
        } else if (h->resend_at == 0) {
            h->backoff = TASKD_RESEND_FIRST;
            h->resend_at = now + h->backoff;
        }
    }
    free(batch);
    free(done);
}

/* Whether some results for home wait in the outbox. */
static bool taskd_outbox_has(struct taskd *t, uint64_t home)
{
    for (size_t i = 0; i < t->outbox.n; i++)
        if (t->outbox.meta[i].node == home)
            return true;
    return false;
}

/* Home is back (or never went, and speaks to us): send what it has not
 * acked now rather than at the end of a back-off. */
static void taskd_outbox_hurry(struct taskd *t, uint64_t home)
{
    struct taskd_home *h;

    for (h = t->homes; h && h->node != home; h = h->next)
        ;
    if (!h || h->resend_at == 0 || h->backoff <= TASKD_RESEND_FIRST)
        return;
    h->resend_at = taskd_now();
    h->backoff = TASKD_RESEND_FIRST;
    uv_idle_start(&t->wake, taskd_wake_cb);
}

/* Homes with nothing left in the outbox need no resend. */
static void taskd_outbox_settle(struct taskd *t)
{
    for (struct taskd_home *h = t->homes; h; h = h->next)
        if (h->resend_at != 0 && !taskd_outbox_has(t, h->node)) {
            h->resend_at = 0;
            h->backoff = TASKD_RESEND_FIRST;
        }
}

/* Give up the outbox's results for home (0: those older than
 * TASKD_OUTBOX_KEEP at now). */
static void taskd_outbox_drop(struct taskd *t, uint64_t home, double now)
{
    struct taskd_queue *q = &t->outbox;
    bool *gone = q->n ? calloc(q->n, sizeof(*gone)) : NULL;
    size_t n = 0;

    for (size_t i = 0; gone && i < q->n; i++) {
        gone[i] = home ? q->meta[i].node == home
                       : now - q->meta[i].since > TASKD_OUTBOX_KEEP;
        if (gone[i]) {
            n++;
            if (!q->meta[i].sent)
                t->outbox_unsent--;
        }
    }
    if (n > 0) {
        taskd_queue_remove(q, gone);
        t->stats.results_dropped += n;
        taskd_outbox_settle(t);
    }
    free(gone);
}

/* Ack the results just recorded (outcomes[i] for pending entry i) to the
 * workers that sent them, one RESULT_ACK per worker: whatever became of a
 * result, the worker may forget it. */
static void taskd_ack_results(struct taskd *t,
                              const enum journal_outcome *outcomes)
{
    struct taskd_queue *q = &t->pending;
    struct task_wire_ack *acks = calloc(q->n, sizeof(*acks));
    bool *done = calloc(q->n, sizeof(*done));

    for (size_t i = 0; acks && done && i < q->n; i++) {
        size_t k = 0, len;

        if (done[i] || q->meta[i].node == 0)
            continue;
        for (size_t j = i; j < q->n; j++) {
            if (done[j] || q->meta[j].node != q->meta[i].node)
                continue;
            done[j] = true;
            acks[k++] = (struct task_wire_ack){
                .job = q->r[j].job,
                .task = q->r[j].task,
                .attempt = q->r[j].attempt,
                .recorded = outcomes[j] != JOURNAL_OUTCOME_STALE
                            && outcomes[j] != JOURNAL_OUTCOME_DUPLICATE};
            t->stats.results_duplicate +=
                outcomes[j] == JOURNAL_OUTCOME_DUPLICATE;
        }
        t->stats.acks_sent += k;
        taskd_send(t, q->meta[i].node, TASKD_FRAME_RESULT_ACK,
                   task_wire_acks_encode(acks, k, &len), &len);
    }
    free(acks);
    free(done);
}

/* After each loop iteration: record what ended in one transaction (and ack
 * the workers' results once they are safe in the journal), send the
 * others' results, then answer the worker's pull. */
static void taskd_check_cb(uv_check_t *h)
{
    struct taskd *t = h->data;
    bool recorded = false;

    uv_idle_stop(&t->wake);
    if (t->pending.n > 0) {
        enum journal_outcome *out = calloc(t->pending.n, sizeof(*out));
        bool retry = false;

        /* without room for the outcomes, nothing is recorded: the workers
         * send their results again, ours run again */
        recorded = out
                   && journal_record(t->journal, t->pending.r, t->pending.n,
                                     taskd_now(), out)
                          == 0;
        for (size_t i = 0; recorded && i < t->pending.n; i++)
            retry |= out[i] == JOURNAL_OUTCOME_RETRY;
        if (recorded)
            taskd_ack_results(t, out);
        free(out);
        taskd_queue_clear(&t->pending);
        t->progress_dirty = true;
        if (retry)
            taskd_poke_all(t);
    }
    if (t->outbox_unsent > 0)
        taskd_flush_outbox(t, taskd_now());
    if (t->pull_wanted && t->pull_home == 0)
        taskd_pull_answer(t);
    /* a job that just ended is reported at once; progress waits for the
     * next tick, so a fast job does not send a message per task */
    if (recorded && t->streams)
        taskd_progress(t, true);
}

static void taskd_fetch_expire(struct taskd *t, uint64_t gone);

/* Lend tasks what gang jobs leave: the ledger's free cores plus those our
 * tasks hold, at most what this node lends. */
static void taskd_sync_cores(struct taskd *t, double now)
{
    int lend;

    if (!t->cores_ops)
        return;
    lend = t->cores_ops->free_count(t->cores_arg);
    for (struct taskd_run *r = t->runs; r; r = r->next)
        lend += r->ncores;
    task_pull_set_cores(t->pull, lend < t->ncores ? lend : t->ncores, now);
}

static void taskd_tick_cb(uv_timer_t *h)
{
    struct taskd *t = h->data;
    double now = taskd_now();

    if (journal_expire(t->journal, now) > 0) {
        t->progress_dirty = true;
        taskd_poke_all(t);
    } else if (t->npeers > 0 && now >= t->next_poke && taskd_queued(t) > 0) {
        /* a poke may have been lost to a restart: repeat it while work is
         * queued */
        taskd_poke_all(t);
    }
    if (t->pull_home && now - t->pull_sent > TASKD_PULL_TIMEOUT)
        taskd_pull_give_up(t);
    if (t->outbox.n > 0) {
        taskd_outbox_drop(t, 0, now);
        taskd_flush_outbox(t, now);
    }
    taskd_fetch_expire(t, 0);
    taskd_sync_cores(t, now);
    task_pull_tick(t->pull, now);
}

/* A PULL from a worker: lease it a batch, with what it needs to run
 * them. */
static void
taskd_on_pull(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease leases[256];
    json_t *argvs[256], *jobs = json_object();
    struct task_wire_pull m;
    size_t k = 0, blen;
    int n;

    if (task_wire_pull_decode(body, len, &m) < 0 || !jobs) {
        json_decref(jobs);
        return;
    }
    n = m.want > 0 && journal_busy(t->journal)
            ? taskd_lease(t, from, m.want < 256 ? m.want : 256, leases)
            : 0;
    for (int i = 0; i < n; i++) {
        struct taskd_job *job = taskd_job_get(t, leases[i].job);
        shoal_error_t error = {{0}};
        char **argv = NULL, key[24];
        int rc = job ? taskd_expand(t, job, leases[i].task, &argv, &error)
                     : shoal_errprintf(&error, -EIO,
                                       "cannot read the job from the journal");

        if (rc < 0) {
            /* recorded here, as the worker's would be */
            struct journal_result r = {
                .job = leases[i].job,
                .task = leases[i].task,
                .attempt = leases[i].attempt,
                .token = leases[i].token,
                .node = t->cfg.node_id,
                .start = taskd_now(),
                .end = taskd_now(),
                .status = TASK_EXEC_STATUS_NOT_RUN,
                .reason = error.text,
                .err_tail = error.text,
            };
            taskd_queue_push(&t->pending, &r, 0, taskd_now());
            uv_idle_start(&t->wake, taskd_wake_cb);
            continue;
        }
        argvs[k] = json_array();
        for (size_t a = 0; argv[a]; a++)
            json_array_append_new(argvs[k], json_string(argv[a]));
        taskgen_argv_free(argv);
        snprintf(key, sizeof(key), "%" PRIu64, job->id);
        json_object_set(jobs, key, job->wire);
        leases[k++] = leases[i];
    }
    if (k > 0)
        t->progress_dirty = true;
    if (taskd_send(t, from, TASKD_FRAME_GRANT,
                   task_wire_grant_encode(jobs, leases, argvs, k, &blen), &blen)
            < 0
        && k > 0)
        journal_requeue_node(t->journal, from);
    for (size_t i = 0; i < k; i++)
        json_decref(argvs[i]);
    json_decref(jobs);
}

/* The job key of (home, id), made from its DESC on first sight. */
static struct taskd_job *
taskd_remote_job(struct taskd *t, uint64_t home, uint64_t id, json_t *desc)
{
    struct taskd_job *job = taskd_remote_find(t, home, id);

    if (job)
        return job;
    job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->id = TASKD_REMOTE_KEY + ++t->next_remote;
    job->home = home;
    job->remote_id = id;
    if (task_cmd_unpack(desc, TASK_CMD_ARGV_ABSENT, 3, &job->cmd, NULL) < 0) {
        taskd_job_free(job);
        return NULL;
    }
    job->next = t->jobs;
    t->jobs = job;
    return job;
}

/* A GRANT from a home: our leases, in our job keys, to task_pull. */
static void
taskd_on_grant(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *leases = NULL;
    size_t n = 0, k = 0;
    json_t *doc = NULL;
    struct taskd_home *h = taskd_home_get(t, from);

    if (task_wire_grant_decode(body, len, &doc, &leases, &n) < 0)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        struct taskd_job *job = taskd_remote_job(
            t, from, leases[i].job, task_wire_grant_desc(doc, leases[i].job));
        struct taskd_granted *g = calloc(1, sizeof(*g));

        if (g)
            g->argv = taskd_strings(task_wire_grant_argv(doc, i), 0, NULL);
        if (!job || !g || !g->argv) {
            /* not taken: its lease expires and it goes elsewhere */
            free(g);
            continue;
        }
        g->key = job->id;
        g->task = leases[i].task;
        g->attempt = leases[i].attempt;
        g->next = t->granted;
        t->granted = g;
        leases[k] = leases[i];
        leases[k++].job = job->id;
    }
    if (h && n == 0)
        h->has_work = false;
    if (from == t->pull_home) {
        t->pull_home = 0;
        task_pull_grant(t->pull, leases, k, taskd_now());
    } else if (k > 0) {
        /* late: we stopped waiting for it; take it all the same */
        task_pull_grant(t->pull, leases, k, taskd_now());
    }
    free(leases);
    json_decref(doc);
}

/* A RENEW from a worker: extend its leases, and name the ones it lost. */
static void
taskd_on_renew(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *leases = NULL;
    size_t n = 0, nlost = 0, blen;
    bool *valid;

    if (task_wire_leases_decode(body, len, "leases", &leases, &n) < 0)
        return;
    valid = calloc(n + 1, sizeof(*valid));
    if (valid && n > 0
        && journal_renew(t->journal, leases, n, taskd_now(), t->cfg.lease,
                         valid)
               >= 0) {
        for (size_t i = 0; i < n; i++)
            if (!valid[i])
                leases[nlost++] = leases[i];
        if (nlost > 0)
            taskd_send(t, from, TASKD_FRAME_RENEWED,
                       task_wire_leases_encode("lost", leases, nlost, &blen),
                       &blen);
    }
    free(valid);
    free(leases);
}

/* A RENEWED from a home: give up the leases it no longer honours. */
static void
taskd_on_renewed(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *lost = NULL;
    size_t n = 0;

    if (task_wire_leases_decode(body, len, "lost", &lost, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct taskd_job *job = taskd_remote_find(t, from, lost[i].job);

        if (!job)
            continue;
        taskd_granted_drop(t, job->id, lost[i].task);
        task_pull_revoke(t->pull, job->id, lost[i].task);
    }
    free(lost);
}

/* A RESULT from a worker: into the journal at the next check, where the
 * lease's token decides whether it counts; acked once recorded. */
static void
taskd_on_result(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_result *results = NULL;
    json_t *doc = NULL;
    size_t n = 0;
    double now = taskd_now();

    if (task_wire_results_decode(body, len, &doc, &results, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        /* a node reports for itself only */
        results[i].node = from;
        if (taskd_queue_push(&t->pending, &results[i], from, now) == 0)
            t->stats.results_received++;
    }
    if (n > 0)
        uv_idle_start(&t->wake, taskd_wake_cb);
    free(results);
    json_decref(doc);
}

/* The acks of one RESULT_ACK as an open-addressing hash set, so that
 * matching them against the outbox is one pass over it however many
 * results wait there (up to TASKD_OUTBOX_MAX after a long outage). */
struct taskd_ack_set {
    size_t mask;
    const struct task_wire_ack **slots;
};

static size_t
taskd_ack_hash(const struct taskd_ack_set *s, uint64_t job, uint64_t task)
{
    uint64_t h = job * 0x9e3779b97f4a7c15ULL ^ task * 0xc2b2ae3d27d4eb4fULL;

    return (size_t)(h ^ (h >> 31)) & s->mask;
}

static int taskd_ack_set_init(struct taskd_ack_set *s,
                              const struct task_wire_ack *acks,
                              size_t n)
{
    size_t size = 8;

    while (size < 2 * n)
        size *= 2;
    s->mask = size - 1;
    s->slots = calloc(size, sizeof(*s->slots));
    if (!s->slots)
        return -ENOMEM;
    for (size_t a = 0; a < n; a++) {
        size_t i = taskd_ack_hash(s, acks[a].job, acks[a].task);

        while (s->slots[i])
            i = (i + 1) & s->mask;
        s->slots[i] = &acks[a];
    }
    return 0;
}

static const struct task_wire_ack *
taskd_ack_set_find(const struct taskd_ack_set *s,
                   const struct journal_result *r)
{
    for (size_t i = taskd_ack_hash(s, r->job, r->task); s->slots[i];
         i = (i + 1) & s->mask) {
        const struct task_wire_ack *a = s->slots[i];

        if (a->job == r->job && a->task == r->task && a->attempt == r->attempt)
            return a;
    }
    return NULL;
}

/* A RESULT_ACK from a home: forget the results it is done with. */
static void taskd_on_result_ack(struct taskd *t,
                                uint64_t from,
                                const void *body,
                                size_t len)
{
    struct taskd_queue *q = &t->outbox;
    struct task_wire_ack *acks = NULL;
    struct taskd_ack_set set = {0};
    bool *gone;
    size_t n = 0, k = 0;

    if (task_wire_acks_decode(body, len, &acks, &n) < 0)
        return;
    gone = q->n ? calloc(q->n, sizeof(*gone)) : NULL;
    if (gone && taskd_ack_set_init(&set, acks, n) == 0)
        for (size_t i = 0; i < q->n; i++) {
            const struct task_wire_ack *a;

            if (q->meta[i].node != from
                || !(a = taskd_ack_set_find(&set, &q->r[i])))
                continue;
            gone[i] = true;
            if (!q->meta[i].sent)
                t->outbox_unsent--;
            t->stats.results_acked++;
            t->stats.results_refused += !a->recorded;
            k++;
        }
    if (k > 0) {
        taskd_queue_remove(q, gone);
        taskd_outbox_settle(t);
    }
    free(set.slots);
    free(gone);
    free(acks);
}

/* A file of ours for a FETCH, as base64 (at most TASKD_FETCH_MAX bytes,
 * its end). Only files under our jobs/ are served. */
static char *taskd_read_output(struct taskd *t, const char *path)
{
    size_t dl = strlen(t->dir);
    char *data, *b64;
    long size;
    size_t n;
    FILE *f;

    if (strncmp(path, t->dir, dl) != 0 || strncmp(path + dl, "/jobs/", 6) != 0
        || strstr(path, "/../"))
        return NULL;
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > TASKD_FETCH_MAX)
        fseek(f, size - TASKD_FETCH_MAX, SEEK_SET);
    else
        rewind(f);
    data = malloc(TASKD_FETCH_MAX);
    n = data ? fread(data, 1, TASKD_FETCH_MAX, f) : 0;
    fclose(f);
    b64 = data ? task_wire_b64_encode(data, n) : NULL;
    free(data);
    return b64;
}

static void
taskd_on_fetch(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct task_wire_fetch req;
    struct task_wire_fetched ans = {.error = "its output files are gone"};
    char *o, *e, *text;
    json_t *doc;
    size_t tlen = 0;

    if (task_wire_fetch_decode(body, len, &doc, &req) < 0)
        return;
    o = req.out_path ? taskd_read_output(t, req.out_path) : NULL;
    e = req.err_path ? taskd_read_output(t, req.err_path) : NULL;
    ans.req = req.req;
    ans.out = o;
    ans.err = e;
    text = task_wire_fetched_encode(&ans, &tlen);
    taskd_send(t, from, TASKD_FRAME_FETCHED, text, &tlen);
    json_decref(doc);
    free(o);
    free(e);
}

static void taskd_fetch_fail(struct taskd_stream *s, const char *why)
{
    json_t *msg =
        json_pack("{s:b, s:s, s:i}", "ok", 0, "error", why, "code", -EHOSTDOWN);
    s->reply(msg, true, s->arg);
    json_decref(msg);
    taskd_stream_remove(s->t, s);
}

static void
taskd_on_fetched(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct task_wire_fetched ans;
    struct taskd_stream *s = t->streams;
    json_t *doc;
    char why[256];

    if (task_wire_fetched_decode(body, len, &doc, &ans) < 0)
        return;
    while (s && (s->fetch != ans.req || s->fetch_node != from))
        s = s->next;
    if (!s) {
        json_decref(doc);
        return;
    }
    if (!ans.out) {
        snprintf(why, sizeof(why),
                 "node %016" PRIx64 " has no output of the task: %s", from,
                 ans.error ?: "bad answer");
        taskd_fetch_fail(s, why);
    } else {
        json_t *msg = json_pack("{s:b, s:O}", "ok", 1, "task", s->fetch_row);

        json_object_set_new(json_object_get(msg, "task"), "stdout_data",
                            json_string(ans.out));
        json_object_set_new(json_object_get(msg, "task"), "stderr_data",
                            json_string(ans.err));
        s->reply(msg, true, s->arg);
        json_decref(msg);
        taskd_stream_remove(t, s);
    }
    json_decref(doc);
}

/* Fetches whose node is gone or silent fail. */
static void taskd_fetch_expire(struct taskd *t, uint64_t gone)
{
    struct taskd_stream *s = t->streams, *next;
    double now = taskd_now();
    char why[256];

    for (; s; s = next) {
        next = s->next;
        if (!s->fetch || (s->fetch_node != gone && now < s->fetch_deadline))
            continue;
        snprintf(why, sizeof(why),
                 "node %016" PRIx64 " %s: the task's output is there",
                 s->fetch_node,
                 s->fetch_node == gone ? "left the pool" : "did not answer");
        taskd_fetch_fail(s, why);
    }
}

/* Forget the jobs of a home, killing their tasks. */
static void taskd_drop_home_jobs(struct taskd *t, uint64_t home, uint64_t id)
{
    for (struct taskd_job *job = t->jobs; job; job = job->next) {
        if (job->home != home || (id && job->remote_id != id))
            continue;
        taskd_granted_drop(t, job->id, UINT64_MAX);
        task_pull_revoke(t->pull, job->id, UINT64_MAX);
    }
}

void taskd_frame(
    struct taskd *t, uint64_t from, uint8_t type, const void *body, size_t len)
{
    struct taskd_home *h;
    uint64_t job;

    if (from == t->cfg.node_id)
        return; /* our own worker takes the shortcut */
    switch (type) {
    case TASKD_FRAME_PULL:
        taskd_on_pull(t, from, body, len);
        break;
    case TASKD_FRAME_GRANT:
        taskd_on_grant(t, from, body, len);
        break;
    case TASKD_FRAME_RENEW:
        taskd_on_renew(t, from, body, len);
        break;
    case TASKD_FRAME_RENEWED:
        taskd_on_renewed(t, from, body, len);
        break;
    case TASKD_FRAME_RESULT:
        taskd_on_result(t, from, body, len);
        break;
    case TASKD_FRAME_RESULT_ACK:
        taskd_on_result_ack(t, from, body, len);
        break;
    case TASKD_FRAME_CANCEL:
        if (task_wire_job_decode(body, len, &job) == 0)
            taskd_drop_home_jobs(t, from, job);
        break;
    case TASKD_FRAME_FETCH:
        taskd_on_fetch(t, from, body, len);
        break;
    case TASKD_FRAME_FETCHED:
        taskd_on_fetched(t, from, body, len);
        break;
    case TASKD_FRAME_POKE:
        h = taskd_home_get(t, from);
        if (h) {
            h->has_work = true;
            task_pull_poke(t->pull, taskd_now());
        }
        /* a home that restarted pokes us as soon as it sees us */
        taskd_outbox_hurry(t, from);
        break;
    default:
        break;
    }
}

void taskd_member(struct taskd *t, uint64_t node, enum taskd_member_state state)
{
    size_t i;

    if (node == t->cfg.node_id)
        return;
    for (i = 0; i < t->npeers && t->peers[i] != node; i++)
        ;
    if (state == TASKD_MEMBER_ALIVE) {
        if (i < t->npeers)
            return;
        if (t->npeers == t->cap_peers) {
            size_t cap = t->cap_peers ? t->cap_peers * 2 : 16;
            uint64_t *p = realloc(t->peers, cap * sizeof(*p));

            if (!p)
                return;
            t->peers = p;
            t->cap_peers = cap;
        }
        t->peers[t->npeers++] = node;
        /* a node that joins (or came back) learns of our work at once */
        if (journal_busy(t->journal))
            taskd_send(t, node, TASKD_FRAME_POKE, strdup("{}"),
                       &taskd_poke_len);
        /* and gets the results we hold for it */
        taskd_outbox_hurry(t, node);
        return;
    }
    if (i < t->npeers)
        t->peers[i] = t->peers[--t->npeers];
    /* as a home: its tasks go back to the queue (a result that comes late
     * still counts while they wait there) */
    if (journal_requeue_node(t->journal, node) > 0) {
        t->progress_dirty = true;
        taskd_poke_all(t);
    }
    /* as a worker: the tasks we run for it are orphans; the results we
     * hold for it wait, unless it left for good */
    taskd_drop_home_jobs(t, node, 0);
    for (struct taskd_home *h = t->homes; h; h = h->next)
        if (h->node == node)
            h->has_work = false;
    if (state == TASKD_MEMBER_LEFT)
        taskd_outbox_drop(t, node, 0);
    if (t->pull_home == node)
        taskd_pull_give_up(t);
    taskd_fetch_expire(t, node);
}

void taskd_set_cores(struct taskd *t,
                     const struct taskd_cores_ops *ops,
                     void *arg)
{
    t->cores_ops = ops;
    t->cores_arg = arg;
    taskd_sync_cores(t, taskd_now());
}

void taskd_set_net(struct taskd *t, const struct taskd_net_ops *ops, void *arg)
{
    t->net = ops;
    t->net_arg = arg;
}

/* --- control operations -------------------------------------------------- */

static void taskd_reply_error(taskd_reply_f *reply,
                              void *arg,
                              int code,
                              const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));

static void taskd_reply_error(
    taskd_reply_f *reply, void *arg, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    json_t *msg;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    msg = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", text, "code", code);
    reply(msg, true, arg);
    json_decref(msg);
}

static void taskd_reply_ok(taskd_reply_f *reply, void *arg, json_t *msg)
{
    json_object_set_new(msg, "ok", json_true());
    reply(msg, true, arg);
    json_decref(msg);
}

struct taskd_params_iter {
    struct taskgen *gen;
    char *text;
};

static const char *taskd_params_of(uint64_t index, void *arg)
{
    struct taskd_params_iter *it = arg;
    json_t *p = taskgen_params(it->gen, index);

    free(it->text);
    it->text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    return it->text;
}

static void taskd_op_submit(struct taskd *t,
                            const json_t *req,
                            taskd_reply_f *reply,
                            void *arg)
{
    struct journal_job_spec spec = {
        .name = json_string_value(json_object_get(req, "name")),
        .cores = (int)json_integer_value(json_object_get(req, "cores")),
        .retries = (int)json_integer_value(json_object_get(req, "retries")),
        .submitted = taskd_now(),
    };
    struct taskd_params_iter it = {NULL, NULL};
    struct task_cmd cmd = {0};
    shoal_error_t error = {{0}};
    json_t *desc;
    uint64_t id;
    int rc;

    if (spec.cores < 1 || spec.retries < 0) {
        taskd_reply_error(reply, arg, SHOAL_EPROTO, "malformed submit request");
        return;
    }
    rc = task_cmd_unpack(req, TASK_CMD_ARGV_REQUIRED, 0, &cmd, &error);
    if (rc == 0)
        rc =
            taskgen_from_spec(json_object_get(req, "spec"), 0, &it.gen, &error);
    if (rc == 0) {
        int argc = 0;

        while (cmd.argv[argc])
            argc++;
        rc = taskgen_check_command(it.gen, argc, cmd.argv, &error);
    }
    if (rc < 0) {
        taskd_reply_error(reply, arg, rc, "%s", error.text);
        goto out;
    }
    desc = json_pack("{s:O}", "spec", json_object_get(req, "spec"));
    if (!desc || task_cmd_pack(&cmd, desc) < 0) {
        json_decref(desc);
        taskd_reply_error(reply, arg, -ENOMEM, "out of memory");
        goto out;
    }
    spec.desc = json_dumps(desc, JSON_COMPACT);
    json_decref(desc);
    rc = journal_job_create(t->journal, &spec, taskgen_count(it.gen),
                            taskd_params_of, &it, &id, &error);
    free((char *)spec.desc);
    if (rc < 0) {
        taskd_reply_error(reply, arg, rc, "%s", error.text);
        goto out;
    }
    taskd_reply_ok(reply, arg,
                   json_pack("{s:I, s:I}", "id", (json_int_t)id, "ntasks",
                             (json_int_t)taskgen_count(it.gen)));
    taskd_poke_all(t);
out:
    free(it.text);
    task_cmd_release(&cmd);
    taskgen_destroy(it.gen);
}

static void taskd_add_job(const struct journal_job_info *info, void *arg)
{
    json_array_append_new(arg, taskd_job_json(info));
}

static int taskd_job_id(const json_t *req, uint64_t *id)
{
    json_t *v = json_object_get(req, "id");

    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return -EINVAL;
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

static void taskd_op_job(struct taskd *t,
                         const json_t *req,
                         taskd_reply_f *reply,
                         void *arg)
{
    struct journal_job_info info;
    json_t *job, *desc;
    uint64_t id;

    if (taskd_job_id(req, &id) < 0
        || journal_job_get(t->journal, id, &info) < 0) {
        taskd_reply_error(reply, arg, -ENOENT, "no such job");
        return;
    }
    job = taskd_job_json(&info);
    desc = json_loads(info.desc, 0, NULL);
    json_object_set(job, "argv", json_object_get(desc, "argv"));
    json_object_set(job, "wdir", json_object_get(desc, "wdir"));
    json_object_set(job, "time_limit", json_object_get(desc, "time_limit"));
    json_decref(desc);
    journal_job_info_release(&info);
    taskd_reply_ok(reply, arg, json_pack("{s:o}", "job", job));
}

static void taskd_add_task(const struct journal_task_row *row, void *arg)
{
    json_t *o = json_pack(
        "{s:I, s:o, s:s, s:i, s:I, s:f, s:f}", "task", (json_int_t)row->task,
        "params", json_loads(row->params, 0, NULL) ?: json_object(), "state",
        journal_task_state_name(row->state), "attempts", (int)row->attempts,
        "node", (json_int_t)row->node, "start", row->start, "end", row->end);

    json_object_set_new(
        o, "status", row->status < 0 ? json_null() : json_integer(row->status));
    if (row->reason)
        json_object_set_new(o, "reason", json_string(row->reason));
    if (row->out_path)
        json_object_set_new(o, "stdout", json_string(row->out_path));
    if (row->err_path)
        json_object_set_new(o, "stderr", json_string(row->err_path));
    if (row->err_tail)
        json_object_set_new(o, "stderr_tail", json_string(row->err_tail));
    json_array_append_new(arg, o);
}

static void taskd_op_results(struct taskd *t,
                             const json_t *req,
                             taskd_reply_f *reply,
                             void *arg)
{
    json_int_t first = json_integer_value(json_object_get(req, "first"));
    json_int_t max = json_integer_value(json_object_get(req, "max"));
    struct journal_job_info info;
    json_t *tasks;
    uint64_t id;
    int n;

    if (taskd_job_id(req, &id) < 0
        || journal_job_get(t->journal, id, &info) < 0) {
        taskd_reply_error(reply, arg, -ENOENT, "no such job");
        return;
    }
    journal_job_info_release(&info);
    if (max <= 0 || max > 10000)
        max = 10000;
    if (first < 0)
        first = 0;
    tasks = json_array();
    n = journal_tasks(t->journal, id, (uint64_t)first, (size_t)max,
                      taskd_add_task, tasks);
    if (n < 0) {
        json_decref(tasks);
        taskd_reply_error(reply, arg, n, "cannot read the journal");
        return;
    }
    taskd_reply_ok(reply, arg,
                   json_pack("{s:o, s:o}", "tasks", tasks, "next",
                             n == max ? json_integer(first + n) : json_null()));
}

static void taskd_op_output(struct taskd *t,
                            const json_t *req,
                            taskd_reply_f *reply,
                            void *arg,
                            struct taskd_stream **stream)
{
    json_int_t task = json_integer_value(json_object_get(req, "task"));
    json_t *rows = json_array(), *row;
    const char *out, *err;
    struct taskd_stream *s;
    uint64_t id, node;
    char *body;
    size_t i, len;

    if (taskd_job_id(req, &id) < 0 || task < 0
        || journal_tasks(t->journal, id, (uint64_t)task, 1, taskd_add_task,
                         rows)
               != 1
        || json_integer_value(json_object_get(json_array_get(rows, 0), "task"))
               != task) {
        json_decref(rows);
        taskd_reply_error(reply, arg, -ENOENT, "no such task");
        return;
    }
    row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    json_object_set_new(row, "home", json_integer((json_int_t)t->cfg.node_id));
    node = (uint64_t)json_integer_value(json_object_get(row, "node"));
    out = json_string_value(json_object_get(row, "stdout"));
    err = json_string_value(json_object_get(row, "stderr"));
    if (node == 0 || node == t->cfg.node_id || !out || !err) {
        taskd_reply_ok(reply, arg, json_pack("{s:o}", "task", row));
        return;
    }
    /* it ran on another node: ask it for the files */
    for (i = 0; i < t->npeers && t->peers[i] != node; i++)
        ;
    s = i < t->npeers ? calloc(1, sizeof(*s)) : NULL;
    len = 0;
    body = s ? task_wire_fetch_encode(
               &(struct task_wire_fetch){t->next_fetch + 1, out, err}, &len)
             : NULL;
    if (!s || taskd_send(t, node, TASKD_FRAME_FETCH, body, &len) < 0) {
        taskd_reply_error(reply, arg, -EHOSTDOWN,
                          "task %" JSON_INTEGER_FORMAT " of job %" PRIu64
                          " ran on node %016" PRIx64
                          ", which is not in the pool (its output stays there)",
                          task, id, node);
        free(s);
        json_decref(row);
        return;
    }
    *s = (struct taskd_stream){.t = t,
                               .reply = reply,
                               .arg = arg,
                               .fetch = ++t->next_fetch,
                               .fetch_node = node,
                               .fetch_row = row,
                               .fetch_deadline =
                                   taskd_now() + TASKD_FETCH_TIMEOUT,
                               .next = t->streams};
    t->streams = s;
    if (stream)
        *stream = s;
}

static void taskd_op_cancel(struct taskd *t,
                            const json_t *req,
                            taskd_reply_f *reply,
                            void *arg)
{
    uint64_t id;
    int n;

    if (taskd_job_id(req, &id) < 0) {
        taskd_reply_error(reply, arg, -EINVAL, "no job id");
        return;
    }
    n = journal_job_cancel(t->journal, id, taskd_now());
    if (n == -ENOENT) {
        taskd_reply_error(reply, arg, n, "no job %" PRIu64, id);
        return;
    }
    if (n < 0) {
        taskd_reply_error(reply, arg, n, "cannot cancel job %" PRIu64 ": %s",
                          id, shoal_strerror(n));
        return;
    }
    task_pull_revoke(t->pull, id, UINT64_MAX);
    for (size_t i = 0; i < t->npeers; i++) {
        size_t len;

        taskd_send(t, t->peers[i], TASKD_FRAME_CANCEL,
                   task_wire_job_encode(id, &len), &len);
    }
    t->progress_dirty = true;
    taskd_reply_ok(reply, arg, json_pack("{s:i}", "cancelled", n));
}

int taskd_control(struct taskd *t,
                  const char *op,
                  const json_t *request,
                  taskd_reply_f *reply,
                  void *arg,
                  struct taskd_stream **stream)
{
    if (stream)
        *stream = NULL;
    if (strcmp(op, "task.submit") == 0)
        taskd_op_submit(t, request, reply, arg);
    else if (strcmp(op, "task.jobs") == 0) {
        json_t *jobs = json_array();

        journal_jobs(t->journal, taskd_add_job, jobs);
        taskd_reply_ok(reply, arg, json_pack("{s:o}", "jobs", jobs));
    } else if (strcmp(op, "task.job") == 0)
        taskd_op_job(t, request, reply, arg);
    else if (strcmp(op, "task.results") == 0)
        taskd_op_results(t, request, reply, arg);
    else if (strcmp(op, "task.output") == 0)
        taskd_op_output(t, request, reply, arg, stream);
    else if (strcmp(op, "task.cancel") == 0)
        taskd_op_cancel(t, request, reply, arg);
    else if (strcmp(op, "task.wait") == 0) {
        struct journal_job_info info;
        struct taskd_stream *s;
        uint64_t id;

        if (taskd_job_id(request, &id) < 0
            || journal_job_get(t->journal, id, &info) < 0) {
            taskd_reply_error(reply, arg, -ENOENT, "no such job");
            return 0;
        }
        journal_job_info_release(&info);
        s = calloc(1, sizeof(*s));
        if (!s) {
            taskd_reply_error(reply, arg, -ENOMEM, "out of memory");
            return 0;
        }
        *s = (struct taskd_stream){
            .t = t, .job = id, .reply = reply, .arg = arg, .next = t->streams};
        t->streams = s;
        if (stream)
            *stream = s;
        t->progress_dirty = true;
    } else
        return -ENOSYS;
    return 0;
}

void taskd_stream_close(struct taskd_stream *s)
{
    if (s)
        taskd_stream_remove(s->t, s);
}

const char *const taskd_control_ops[] = {
    "task.submit",  "task.jobs",   "task.job",    "task.wait",
    "task.results", "task.output", "task.cancel", NULL,
};

static void taskd_conn_reply(const json_t *msg, bool final, void *arg)
{
    control_conn_t *conn = arg;

    control_send_json(conn, msg);
    /* the stream is gone: the connection is an ordinary one again */
    if (final)
        control_conn_set_handlers(conn, NULL, NULL, NULL);
}

static void taskd_conn_close(control_conn_t *conn, void *arg)
{
    (void)conn;
    taskd_stream_close(arg);
}

void taskd_control_op(control_conn_t *conn, json_t *request, void *arg)
{
    struct taskd *t = arg;
    struct taskd_stream *stream = NULL;
    const char *op = json_string_value(json_object_get(request, "op"));

    if (taskd_control(t, op, request, taskd_conn_reply, conn, &stream) < 0)
        control_reply_error(conn, -ENOSYS, "unknown operation '%s'", op);
    else if (stream)
        control_conn_set_handlers(conn, NULL, taskd_conn_close, stream);
}

void taskd_stats_json(struct taskd *t, json_t *stats)
{
    const struct taskd_stats *s = &t->stats;

    json_object_set_new(
        stats, "tasks",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                  "results_sent", (json_int_t)s->results_sent, "results_resent",
                  (json_int_t)s->results_resent, "results_acked",
                  (json_int_t)s->results_acked, "results_refused",
                  (json_int_t)s->results_refused, "results_dropped",
                  (json_int_t)s->results_dropped, "results_waiting",
                  (json_int_t)t->outbox.n, "results_received",
                  (json_int_t)s->results_received, "results_duplicate",
                  (json_int_t)s->results_duplicate, "acks_sent",
                  (json_int_t)s->acks_sent));
}

bool taskd_busy(struct taskd *t)
{
    return t->streams || journal_busy(t->journal);
}

/* --- life cycle ---------------------------------------------------------- */

static void taskd_close_cb(uv_handle_t *h)
{
    struct taskd *t = h->data;

    if (--t->open_handles == 0)
        free(t);
}

int taskd_create(uv_loop_t *loop,
                 const struct taskd_config *config,
                 struct taskd **out,
                 shoal_error_t *error)
{
    struct taskd *t = calloc(1, sizeof(*t));
    char path[PATH_MAX];
    int rc;

    if (!t)
        return -ENOMEM;
    t->loop = loop;
    t->cfg = *config;
    t->dir = strdup(config->dir);
    if (!t->dir) {
        free(t);
        return -ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/jobs.db", config->dir);
    rc = journal_open(path, &t->journal, error);
    if (rc == 0)
        rc = topo_load(getenv("SHOAL_TOPOLOGY"), &t->topo, error);
    if (rc < 0)
        goto error;
    t->bind = topo_is_this_system(t->topo);
    t->ncores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
    if (t->ncores < 1)
        t->ncores = 1;
    if (config->cores > 0 && config->cores < t->ncores)
        t->ncores = config->cores;
    if (config->cores > t->ncores) {
        /* more slots than cores: oversubscribed, so not bound */
        t->ncores = config->cores;
        t->bind = false;
    }
    t->core_busy = calloc((size_t)t->ncores, sizeof(bool));
    rc = t->core_busy ? 0 : -ENOMEM;
    if (rc == 0)
        rc = task_exec_create(loop, config->kill_grace, taskd_exec_done, t,
                              &t->exec);
    if (rc == 0)
        rc = task_pull_create(
            t->ncores, config->speed > 0 ? config->speed : 1000,
            config->lease / 3, 1.0, &taskd_pull_ops, t, &t->pull);
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot start the task service: %s",
                        shoal_strerror(rc));
        goto error;
    }
    /* this node's tasks died with its previous daemon; the other nodes'
     * may still run, and could not renew while we were down */
    journal_requeue_node(t->journal, config->node_id);
    journal_extend(t->journal, taskd_now() + config->lease);
    uv_check_init(loop, &t->check);
    uv_timer_init(loop, &t->tick);
    uv_timer_init(loop, &t->progress);
    uv_idle_init(loop, &t->wake);
    t->check.data = t->tick.data = t->progress.data = t->wake.data = t;
    t->open_handles = 4;
    uv_check_start(&t->check, taskd_check_cb);
    uv_timer_start(&t->tick, taskd_tick_cb, 0, 500);
    uv_timer_start(&t->progress, taskd_progress_cb, 200, 200);
    /* the daemon's loop ends when the daemon leaves, not when we do */
    uv_unref((uv_handle_t *)&t->check);
    uv_unref((uv_handle_t *)&t->tick);
    uv_unref((uv_handle_t *)&t->progress);
    uv_unref((uv_handle_t *)&t->wake);
    *out = t;
    return 0;
error:
    task_exec_destroy(t->exec);
    free(t->core_busy);
    if (t->topo)
        hwloc_topology_destroy(t->topo);
    journal_close(t->journal);
    free(t->dir);
    free(t);
    return rc;
}

void taskd_destroy(struct taskd *t)
{
    if (!t)
        return;
    while (t->streams) {
        struct taskd_stream *s = t->streams;
        json_t *msg = json_pack("{s:b, s:s, s:i}", "ok", 0, "error",
                                "the daemon is stopping", "code", -ESHUTDOWN);

        s->reply(msg, true, s->arg);
        json_decref(msg);
        taskd_stream_remove(t, s);
    }
    task_exec_destroy(t->exec);
    journal_record(t->journal, t->pending.r, t->pending.n, taskd_now(), NULL);
    while (t->runs) {
        struct taskd_run *r = t->runs;

        t->runs = r->next;
        taskd_run_free(t, r);
    }
    journal_requeue_node(t->journal, t->cfg.node_id);
    taskd_queue_release(&t->pending);
    taskd_queue_release(&t->outbox);
    free(t->peers);
    while (t->homes) {
        struct taskd_home *h = t->homes;

        t->homes = h->next;
        free(h);
    }
    while (t->granted) {
        struct taskd_granted *g = t->granted;

        t->granted = g->next;
        taskgen_argv_free(g->argv);
        free(g);
    }
    while (t->jobs) {
        struct taskd_job *j = t->jobs;

        t->jobs = j->next;
        taskd_job_free(j);
    }
    task_pull_destroy(t->pull);
    journal_close(t->journal);
    hwloc_topology_destroy(t->topo);
    free(t->core_busy);
    free(t->dir);
    uv_close((uv_handle_t *)&t->check, taskd_close_cb);
    uv_close((uv_handle_t *)&t->tick, taskd_close_cb);
    uv_close((uv_handle_t *)&t->progress, taskd_close_cb);
    uv_close((uv_handle_t *)&t->wake, taskd_close_cb);
}
