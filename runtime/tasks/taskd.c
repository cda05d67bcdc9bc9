/* SPDX-License-Identifier: MIT */
/* taskd.c - bag-of-tasks jobs in a node: the queue and the local worker.
 *
 * The jobs' run descriptions, decoded once from the journal (or from a
 * home's GRANT); the results that wait for the next check to go into the
 * journal in one transaction; this node's cores and the tasks running on
 * them, started and ended through task_pull's ops and task_exec; the
 * loop's check and tick that drive the rest; and the taskd's life cycle.
 * The pool protocol is in taskd_pool.c, the control ops in
 * taskd_control.c. */
#include "runtime/tasks/taskd.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/time.h>
#include <unistd.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>

#include "runtime/ckpt/ckpt_job.h"
#include "runtime/ckpt/ckpt_store.h"
#include "runtime/member/topo.h"
#include "runtime/tasks/journal.h"
#include "runtime/tasks/task_cmd.h"
#include "runtime/tasks/task_exec.h"
#include "runtime/tasks/task_pull.h"
#include "runtime/tasks/task_wire.h"
#include "runtime/tasks/taskd_private.h"
#include "runtime/tasks/taskgen.h"
#include "util/log.h"
#include "util/param.h"
#include "util/spawn.h"

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

PARAM_DEFINE(taskd_output_home_param,
             "task_output_home",
             PARAM_TYPE_STRING,
             "no",
             "\"yes\": the home of task jobs copies each task's output from "
             "the node it ran on into its own directory (a Slurm "
             "allocation's pool sets it: its nodes end with the "
             "allocation); \"no\": the output stays on the node");

int taskd_config_from_params(struct taskd_config *config, shoal_error_t *error)
{
    const char *home = param_get_string(&taskd_output_home_param);

    double cores = 0;
    const char *speed = getenv("SHOAL_SPEED");
    int rc = param_get_double(&taskd_lease_param, 0.1, &config->lease, error);

    if (rc == 0)
        rc = param_get_double(&taskd_cores_param, 0, &cores, error);
    if (rc == 0)
        rc = param_get_double(&taskd_kill_grace_param, 0, &config->kill_grace,
                              error);
    if (rc == 0 && home && *home && strcmp(home, "yes") != 0
        && strcmp(home, "no") != 0)
        rc = shoal_errprintf(error, SHOAL_EUSAGE,
                             "invalid SHOAL_TASK_OUTPUT_HOME='%s': expected "
                             "yes or no",
                             home);
    if (rc < 0)
        return rc;
    config->output_home = home && strcmp(home, "yes") == 0;
    config->cores = cores > 65536 ? 65536 : (int)cores;
    config->speed = speed && atoi(speed) > 0 ? atoi(speed) : 1000;
    return 0;
}

double taskd_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void taskd_wake_cb(uv_idle_t *h)
{
    (void)h;
}

void taskd_job_free(struct taskd_job *job)
{
    if (!job)
        return;
    task_cmd_release(&job->cmd);
    json_decref(job->wire);
    json_decref(job->claim);
    free(job);
}

void taskd_set_usercred(struct taskd *t, usercred_t *uc)
{
    t->usercred = uc;
}

void taskd_desc_user(const char *desc, uint32_t *uid, uint32_t *gid)
{
    json_t *o = desc ? json_loads(desc, 0, NULL) : NULL;
    json_t *u = json_object_get(o, "uid"), *g = json_object_get(o, "gid");

    *uid = json_is_integer(u) ? (uint32_t)json_integer_value(u)
                              : (uint32_t)geteuid();
    *gid = json_is_integer(g) ? (uint32_t)json_integer_value(g)
                              : (uint32_t)getegid();
    json_decref(o);
}

void taskd_job_decide(struct taskd *t, struct taskd_job *job)
{
    shoal_error_t error = {{0}};
    int rc = 0;

    if (job->decided)
        return;
    job->decided = true;
    memset(&job->target, 0, sizeof(job->target));
    if (job->home)
        /* another home's job is decided by its claim, when first seen */
        rc = shoal_errprintf(&error, -EPERM, "no verified user claim");
    else if (t->usercred)
        rc = usercred_admit_local(t->usercred, job->uid, job->gid, &job->target,
                                  &error);
    else if (job->uid != (uint32_t)geteuid())
        /* a task service of its own (no daemon) serves its user alone */
        rc = shoal_errprintf(&error, -EPERM,
                             "this task service runs as uid %u and runs "
                             "only that user's jobs, not those of user %u",
                             (unsigned)geteuid(), (unsigned)job->uid);
    if (rc < 0) {
        job->refused = true;
        job->refusal = error;
    }
}

/* A MUNGE credential of a task job is made for an hour; renew it well
 * before. */
#define TASKD_CLAIM_RENEW 1800.0

int taskd_job_claim(struct taskd *t,
                    struct taskd_job *job,
                    shoal_error_t *error)
{
    struct usercred_claim claim;
    double now = taskd_now();
    json_t *o;
    int rc;

    if (job->claim
        && (!t->usercred || usercred_scheme(t->usercred) != USERCRED_MUNGE
            || now - job->claim_at < TASKD_CLAIM_RENEW))
        return 0;
    if (!t->usercred) {
        claim = (struct usercred_claim){
            .uid = job->uid, .gid = job->gid, .scheme = USERCRED_POOL};
    } else {
        rc = usercred_issue(t->usercred, USERCRED_TASKS, t->cfg.node_id,
                            job->id, job->uid, job->gid, &claim, error);
        if (rc < 0)
            return rc;
    }
    o = usercred_claim_pack(&claim);
    usercred_claim_release(&claim);
    if (!o || json_object_set(job->wire, "user", o) < 0) {
        json_decref(o);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    json_decref(job->claim);
    job->claim = o;
    job->claim_at = now;
    return 0;
}

char **taskd_strings(const json_t *a, size_t extra, size_t *n)
{
    size_t count = json_array_size(a), i;
    char **v = calloc(count + extra + 1, sizeof(*v));
    json_t *s;

    if (!v)
        return NULL;
    json_array_foreach (a, i, s) {
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

struct taskd_job *taskd_job_get(struct taskd *t, uint64_t id)
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
    job = calloc(1, sizeof(*job));
    if (job)
        taskd_desc_user(info.desc, &job->uid, &job->gid);
    journal_job_info_release(&info);
    if (!desc || !job)
        goto error;
    job->id = id;
    if (task_cmd_unpack(desc, TASK_CMD_ARGV_REQUIRED, TASKD_TASK_VARS,
                        &job->cmd, NULL)
        < 0)
        goto error;
    job->wire = json_object();
    if (!job->wire
        || task_cmd_pack(&(struct task_cmd){.env = job->cmd.env,
                                            .wdir = job->cmd.wdir,
                                            .time_limit = job->cmd.time_limit,
                                            .mem = job->cmd.mem},
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

int taskd_queue_push(struct taskd_queue *qu,
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

void taskd_queue_remove(struct taskd_queue *qu, const bool *gone)
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
                             int code,
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
                               .status = task_exec_status_not_run(code),
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

static void taskd_ckpt_unwatch(struct taskd_run *run);

static void taskd_run_free(struct taskd *t, struct taskd_run *run)
{
    taskd_ckpt_unwatch(run);
    if (run->cgroup[0])
        guestd_job_leave(t->guest, run->cgroup, run->key);
    if (run->claimed)
        t->cores_ops->release(TASKD_CLAIM_KEY | run->key, t->cores_arg);
    else
        for (int i = 0; i < run->ncores; i++)
            t->core_busy[run->cores[i]] = false;
    free(run->cores);
    free(run->ckpt_dir);
    free(run->ckpt_key);
    free(run);
}

int taskd_expand(struct taskd *t,
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

void taskd_granted_drop(struct taskd *t, uint64_t key, uint64_t task)
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

/* The checkpoint root of a job submitted with --checkpoint
 * (SHOAL_CKPT_ROOT in its environment), or NULL. Each task has a store of
 * its own, ROOT/taskN, on a file system every node shares; a task run
 * again (a retry, or its node was lost) resumes from the newest version
 * there that verifies. */
static const char *taskd_ckpt_root(const struct taskd_job *job)
{
    for (size_t i = 0; i < job->cmd.nenv; i++)
        if (strncmp(job->cmd.env[i], "SHOAL_CKPT_ROOT=", 16) == 0
            && job->cmd.env[i][16])
            return job->cmd.env[i] + 16;
    return NULL;
}

/* The number of copies of each version a job's tasks want (its
 * SHOAL_CKPT_REPLICAS, with --replicas), 0 without. */
static int taskd_ckpt_replicas(const struct taskd_job *job)
{
    for (size_t i = 0; i < job->cmd.nenv; i++)
        if (strncmp(job->cmd.env[i], "SHOAL_CKPT_REPLICAS=", 20) == 0)
            return atoi(job->cmd.env[i] + 20);
    return 0;
}

/* A root "@state/NAME" (--replicas) is this node's STATE/ckpt-jobs/NAME,
 * written into buf; any other is itself. Returns buf or root, or NULL
 * when the name does not fit. */
static const char *
taskd_ckpt_local_root(struct taskd *t, const char *root, char *buf, size_t size)
{
    if (strncmp(root, "@state/", 7) != 0)
        return root;
    if (!root[7] || strstr(root, "..")
        || snprintf(buf, size, "%s/ckpt-jobs/%s", t->dir, root + 7)
               >= (int)size)
        return NULL;
    return buf;
}

/* A task of a job with checkpoints succeeded: its versions served. */
static void taskd_task_ckpt_done(struct taskd *t,
                                 const struct journal_lease *lease)
{
    struct taskd_job *job = taskd_job_get(t, lease->job);
    const char *root = job ? taskd_ckpt_root(job) : NULL;
    char local[PATH_MAX];

    if (root)
        root = taskd_ckpt_local_root(t, root, local, sizeof(local));
    if (root)
        ckpt_job_task_done(root, lease->task);
}

static void taskd_sync_cores(struct taskd *t, double now);

/* What a task needs between its cores being taken and its start. */
struct taskd_prepare {
    uv_work_t work;
    struct taskd *t; /* NULL once t is gone: the work frees itself */
    struct taskd_run *run;
    char **argv;
    char *path;
    cpu_set_t set;
    char dir[PATH_MAX]; /* the task's checkpoint store */
    int version;        /* found by the work; 0: start afresh */
    bool abandoned;     /* its lease went while the work ran */
};

int taskd_helper_start(struct taskd *t,
                       const char *verb,
                       struct taskd_run *run,
                       struct taskd_prepare *prep);
static void taskd_prepare_after(uv_work_t *req, int status);
static void taskd_prepare_work(uv_work_t *req);

static void taskd_prepare_free(struct taskd_prepare *p)
{
    taskgen_argv_free(p->argv);
    free(p->path);
    free(p);
}

/* Put run in its job's cgroup (guestd), with the cores it holds when it
 * is bound, and open the cgroup.procs files its process joins (into
 * fds). Returns their count: 0 without limits, or when the cgroup could
 * not be made (the task then runs without, as guestd logged). */
static int
taskd_run_cgroup(struct taskd *t, struct taskd_run *run, int *fds, int max)
{
    hwloc_bitmap_t cores = NULL;
    char name[32];
    int n;

    if (!t->guest)
        return 0;
    snprintf(name, sizeof(name), "tasks-%016" PRIx64, run->lease.job);
    if (t->bind && run->ncores > 0 && (cores = hwloc_bitmap_alloc()))
        for (int i = 0; i < run->ncores; i++)
            hwloc_bitmap_set(cores, (unsigned)run->cores[i]);
    n = guestd_job_join(t->guest, name, run->key, cores);
    hwloc_bitmap_free(cores);
    if (n < 0)
        return 0;
    snprintf(run->cgroup, sizeof(run->cgroup), "%s", name);
    if (guestd_job_oom_kills(t->guest, name, &run->oom_kills) < 0)
        run->oom_kills = 0;
    n = guestd_job_procs_open(t->guest, name, fds, max);
    return n < 0 ? 0 : n;
}

/* Start the task of run (its cores taken), with argv and path (taken
 * over), resuming from checkpoint version (0: none) of its store dir (NULL:
 * the job has no checkpoints). Returns 0 or a negative code with error
 * filled (the caller reports the failure and frees run). */
static int taskd_launch(struct taskd *t,
                        struct taskd_job *job,
                        struct taskd_run *run,
                        char **argv,
                        char *path,
                        cpu_set_t *set,
                        const char *dir,
                        int version,
                        shoal_error_t *error)
{
    const struct journal_lease *l = &run->lease;
    char out_dir[PATH_MAX], env_job[40], env_task[40], env_attempt[40];
    char env_dir[PATH_MAX + 32], counters[PATH_MAX + 32];
    char env_ckpt_dir[PATH_MAX + 32], env_restart[40], env_version[40];
    struct task_exec_spec spec;
    struct spawn_user user;
    struct account_env user_env;
    char **envp = NULL;
    size_t n = job->cmd.nenv;
    int cgroup_fds[TASKD_CGROUP_FDS], ncgroup;
    int rc;

    snprintf(env_job, sizeof(env_job), "SHOAL_JOB_ID=%" PRIu64,
             job->home ? job->remote_id : l->job);
    snprintf(env_task, sizeof(env_task), "SHOAL_TASK_ID=%" PRIu64, l->task);
    snprintf(env_attempt, sizeof(env_attempt), "SHOAL_TASK_ATTEMPT=%" PRIu32,
             l->attempt);
    job->cmd.env[n++] = env_job;
    job->cmd.env[n++] = env_task;
    job->cmd.env[n++] = env_attempt;
    if (dir) {
        snprintf(env_ckpt_dir, sizeof(env_ckpt_dir), "SHOAL_CKPT_DIR=%s", dir);
        snprintf(env_restart, sizeof(env_restart), "SHOAL_CKPT_RESTART=%d",
                 version > 0);
        job->cmd.env[n++] = env_ckpt_dir;
        job->cmd.env[n++] = env_restart;
        /* its versions are copied, and KEEP raised after each copy: its
         * commits wait for that (shoal_ckpt_commit) */
        if (run->ckpt_key)
            job->cmd.env[n++] = "SHOAL_CKPT_DURABLE=1";
        if (version > 0) {
            snprintf(env_version, sizeof(env_version), "SHOAL_CKPT_VERSION=%d",
                     version);
            job->cmd.env[n++] = env_version;
        }
    }
    /* another home's job ids may be ours too: its outputs go apart */
    if (job->home)
        snprintf(out_dir, sizeof(out_dir),
                 "%s/jobs/%016" PRIx64 "-%" PRIu64 "/task.%" PRIu64, t->dir,
                 job->home, job->remote_id, l->task);
    else
        snprintf(out_dir, sizeof(out_dir), "%s/jobs/%" PRIu64 "/task.%" PRIu64,
                 t->dir, l->job, l->task);
    snprintf(env_dir, sizeof(env_dir), "SHOAL_TASK_DIR=%s", out_dir);
    job->cmd.env[n++] = env_dir;
    job->cmd.env[n] = NULL;
    /* an earlier attempt's counters are not this one's */
    snprintf(counters, sizeof(counters), "%s/" TASKD_COUNTERS_FILE, out_dir);
    if (unlink(counters) < 0 && errno != ENOENT)
        LOG(LOG_LEVEL_WARNING, LOG_TASKS, "cannot remove '%s': %s", counters,
            strerror(errno));
    if (job->target.switch_user) {
        account_spawn_user(&job->target.account, &user);
        account_env_fill(&job->target.account, &user_env);
        envp = account_env_merge(job->cmd.env, &user_env);
        if (!envp) {
            job->cmd.env[job->cmd.nenv] = NULL;
            taskgen_argv_free(argv);
            free(path);
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        }
    }
    ncgroup = taskd_run_cgroup(t, run, cgroup_fds, TASKD_CGROUP_FDS);
    spec = (struct task_exec_spec){.key = run->key,
                                   .path = path,
                                   .argv = argv,
                                   .envp = envp ? envp : job->cmd.env,
                                   .wdir = job->cmd.wdir,
                                   .cpus = t->bind ? set : NULL,
                                   .out_dir = out_dir,
                                   .time_limit = job->cmd.time_limit,
                                   .mem_limit = job->cmd.mem,
                                   .user = envp ? &user : NULL,
                                   .cgroup_fds = cgroup_fds,
                                   .ncgroup_fds = ncgroup,
                                   .background = guestd_background(t->guest),
                                   .idle_cpu = guestd_idle_cpu(t->guest)};
    rc = task_exec_start(t->exec, &spec, error);
    free(envp);
    while (ncgroup > 0)
        close(cgroup_fds[--ncgroup]);
    job->cmd.env[job->cmd.nenv] = NULL;
    taskgen_argv_free(argv);
    free(path);
    return rc;
}

static void taskd_runs_unlink(struct taskd *t, struct taskd_run *run)
{
    for (struct taskd_run **p = &t->runs; *p; p = &(*p)->next)
        if (*p == run) {
            *p = run->next;
            return;
        }
}

/* A KEEP above the version a task resumes from was left by an earlier
 * attempt here whose newer versions are gone: it would tell the task's
 * commits below it that they are durable already. Remove it, and the
 * note of an earlier failed copy. */
static void taskd_ckpt_keep_check(const char *dir, int version)
{
    ckpt_store_t *store = NULL;
    char path[PATH_MAX];
    int keep = 0;

    if (ckpt_store_create(dir, &store) < 0)
        return;
    if (ckpt_store_keep(store, &keep) < 0 || keep > version) {
        snprintf(path, sizeof(path), "%s/KEEP", ckpt_store_dir(store));
        if (unlink(path) < 0 && errno != ENOENT)
            LOG(LOG_LEVEL_WARNING, LOG_TASKS, "cannot remove '%s': %s", path,
                strerror(errno));
    }
    /* likewise a failed copy's note: this attempt's copies are to come */
    ckpt_store_nocopy_write(store, 0, NULL);
    ckpt_store_destroy(store);
}

static void taskd_prepare_work(uv_work_t *req)
{
    struct taskd_prepare *p = req->data;

    /* versions committed by the marker alone are sealed here, and each
     * is verified: a damaged one is passed over */
    if (ckpt_job_task_version(p->dir, &p->version) < 0)
        p->version = 0; /* unreadable: the task starts afresh, says why */
    taskd_ckpt_keep_check(p->dir, p->version);
}

static void taskd_ckpt_watch(struct taskd *t, struct taskd_run *run);

static void taskd_prepare_after(uv_work_t *req, int status)
{
    struct taskd_prepare *p = req->data;
    struct taskd *t = p->t;
    struct taskd_run *run = p->run;
    struct journal_lease lease;
    struct taskd_job *job;
    shoal_error_t error = {{0}};
    int rc;

    (void)status;
    if (!t) {
        taskd_prepare_free(p);
        return;
    }
    run->prepare = NULL;
    lease = run->lease;
    job = taskd_job_get(t, lease.job);
    if (p->abandoned || !job) {
        /* its lease is gone (or its job): nothing to run, nothing to say */
        rc = p->abandoned ? 0 : -EIO;
        if (!p->abandoned)
            shoal_errprintf(&error, -EIO,
                            "cannot read the job from the "
                            "journal");
    } else {
        rc = taskd_launch(t, job, run, p->argv, p->path, &p->set, p->dir,
                          p->version, &error);
        p->argv = NULL;
        p->path = NULL;
        if (rc == 0) {
            /* the version it resumed from is copied again too: it may
             * have come from this node's own copy */
            if (run->ckpt_key && run->ckpt_dir)
                taskd_ckpt_watch(t, run);
            free(p);
            return; /* it runs: its end comes through taskd_exec_done */
        }
    }
    taskd_prepare_free(p);
    taskd_runs_unlink(t, run);
    taskd_run_free(t, run);
    taskd_sync_cores(t, taskd_now());
    if (task_pull_finished(t->pull, lease.job, lease.task, lease.attempt,
                           taskd_now())
        && rc < 0)
        taskd_fail_start(t, &lease, rc, error.text);
}

/* Helpers: `shoal ckpt-task` processes --------------------------------- */

enum {
    TASKD_CKPT_FLUSH_S = 10, /* the longest a failed task's result waits */
};

static void taskd_helper_closed(uv_handle_t *handle)
{
    struct taskd_helper *h = handle->data;

    for (int i = 0; i < 4; i++)
        free(h->held_text[i]);
    free(h);
}

static struct taskd_run *taskd_run_by_key(struct taskd *t, uint64_t key)
{
    for (struct taskd_run *r = t->runs; r; r = r->next)
        if (r->key == key)
            return r;
    return NULL;
}

static void
taskd_ckpt_scan_run(struct taskd *t, struct taskd_run *r, double now);

static void taskd_helper_exit(uv_process_t *process, int64_t status, int signo)
{
    struct taskd_helper *h = process->data;
    struct taskd *t = h->t;

    (void)signo;
    if (t) {
        for (struct taskd_helper **pp = &t->helpers; *pp; pp = &(*pp)->next)
            if (*pp == h) {
                *pp = h->next;
                break;
            }
    }
    if (h->prep) {
        /* the pull is over, whatever it found: verify and start */
        struct taskd_prepare *p = h->prep;
        if (!p->t || !t
            || uv_queue_work(t->loop, &p->work, taskd_prepare_work,
                             taskd_prepare_after)
                   < 0) {
            if (p->t && p->run) {
                p->version = 0;
                taskd_prepare_after(&p->work, 0);
            } else {
                taskd_prepare_free(p);
            }
        }
    } else if (h->holds) {
        /* copied or not, the failed task's result goes now */
        if (t
            && task_pull_finished(t->pull, h->held.job, h->held.task,
                                  h->held.attempt, taskd_now()))
            taskd_push_result(t, &h->held);
    } else if (t) {
        struct taskd_run *run = taskd_run_by_key(t, h->run_key);
        if (run) {
            run->pushing = false;
            if (status == 0 && h->version > run->pushed)
                run->pushed = h->version;
            else if (status != 0)
                run->push_after = taskd_now() + 5;
            /* a version committed while this one was copied waits no
             * longer than the copy */
            taskd_ckpt_scan_run(t, run, taskd_now());
        }
    }
    uv_close((uv_handle_t *)process, taskd_helper_closed);
}

/* Start `shoal ckpt-task VERB` for run: "pull" (prep starts once it
 * ends) or "push" (of run->pushing's version, in h->version). Returns 0
 * or a negative errno (nothing started). */
static int taskd_helper_run(struct taskd *t,
                            const char *verb,
                            struct taskd_run *run,
                            struct taskd_prepare *prep,
                            int version,
                            const struct journal_result *hold)
{
    struct taskd_helper *h = calloc(1, sizeof(*h));
    uv_process_options_t o = {0};
    uv_stdio_container_t stdio[3];
    char vtext[16], rtext[16], wait[16];
    char *args[10];
    int rc;

    if (!h || !t->self) {
        free(h);
        return -ENOMEM;
    }
    snprintf(vtext, sizeof(vtext), "%d", version);
    snprintf(rtext, sizeof(rtext), "%d", run->replicas);
    args[0] = t->self;
    args[1] = "ckpt-task";
    args[2] = (char *)verb;
    args[3] = t->dir;
    args[4] = run->ckpt_dir;
    if (prep) {
        args[5] = run->ckpt_key;
        args[6] = NULL;
    } else {
        args[5] = vtext;
        args[6] = run->ckpt_key;
        args[7] = rtext;
        /* a failed task's result waits for it: not for long */
        snprintf(wait, sizeof(wait), "%d", TASKD_CKPT_FLUSH_S);
        args[8] = hold ? wait : NULL;
        args[9] = NULL;
    }
    if (hold) {
        const char *text[4] = {hold->reason, hold->out_path, hold->err_path,
                               hold->err_tail};

        h->holds = true;
        h->held = *hold;
        for (int i = 0; i < 4; i++)
            if (text[i] && !(h->held_text[i] = strdup(text[i]))) {
                for (int k = 0; k < i; k++)
                    free(h->held_text[k]);
                free(h);
                return -ENOMEM;
            }
        h->held.reason = h->held_text[0];
        h->held.out_path = h->held_text[1];
        h->held.err_path = h->held_text[2];
        h->held.err_tail = h->held_text[3];
    }
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 2;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = t->self;
    o.args = args;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = taskd_helper_exit;
    h->t = t;
    h->prep = prep;
    h->run_key = run->key;
    h->version = version;
    h->process.data = h;
    rc = uv_spawn(t->loop, &h->process, &o);
    if (rc < 0) {
        uv_close((uv_handle_t *)&h->process, taskd_helper_closed);
        return rc;
    }
    h->next = t->helpers;
    t->helpers = h;
    return 0;
}

int taskd_helper_start(struct taskd *t,
                       const char *verb,
                       struct taskd_run *run,
                       struct taskd_prepare *prep)
{
    return taskd_helper_run(t, verb, run, prep, 0, NULL);
}

/* The newest version run's task committed in its store, 0 none. */
static int taskd_ckpt_newest(const struct taskd_run *run)
{
    ckpt_store_t *store = NULL;
    int *versions = NULL, n, newest = 0;

    if (ckpt_store_create(run->ckpt_dir, &store) < 0)
        return 0;
    n = ckpt_store_list(store, &versions);
    for (int i = 0; i < n; i++)
        if (versions[i] > newest
            && ckpt_store_committed(store, versions[i]) == 1)
            newest = versions[i];
    free(versions);
    ckpt_store_destroy(store);
    return newest;
}

/* The newest version run r's task committed since its last copy is
 * copied to the job's replicas, unless a copy runs (one at a time per
 * task: it is looked at again when that one ends). */
static void
taskd_ckpt_scan_run(struct taskd *t, struct taskd_run *r, double now)
{
    int newest;

    if (!r->ckpt_key || !r->ckpt_dir || r->prepare || r->pushing
        || now < r->push_after)
        return;
    newest = taskd_ckpt_newest(r);
    if (newest > r->pushed
        && taskd_helper_run(t, "push", r, NULL, newest, NULL) == 0)
        r->pushing = true;
}

/* Every half second, for what the watches missed (no inotify, a full
 * event queue). */
static void taskd_ckpt_scan(struct taskd *t, double now)
{
    for (struct taskd_run *r = t->runs; r; r = r->next)
        taskd_ckpt_scan_run(t, r, now);
}

/* Watching a task's store --------------------------------------------- *
 *
 * A commit ends with the COMMITTED marker created in RDIR/vN (by the
 * library, or by a program that does not link it), and inotify does not
 * watch subdirectories: one instance per task watches RDIR for new
 * version directories and each of those for its marker. Any event looks
 * at the store (taskd_ckpt_scan_run), so a marker made before its
 * directory's watch was added is not missed; a version's watch is
 * dropped once its marker is seen (a program that never prunes must not
 * use up the user's watches). */

struct taskd_ckpt_watch {
    uv_poll_t poll;
    int fd;
    int root;        /* RDIR's watch descriptor */
    struct taskd *t; /* NULL once its run is gone */
    uint64_t run_key;
};

enum {
    TASKD_WATCH_ROOT = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
    TASKD_WATCH_VERSION = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR,
};

static void taskd_ckpt_watch_closed(uv_handle_t *handle)
{
    struct taskd_ckpt_watch *w = handle->data;

    close(w->fd);
    free(w);
}

static void taskd_ckpt_unwatch(struct taskd_run *run)
{
    struct taskd_ckpt_watch *w = run->watch;

    if (!w)
        return;
    run->watch = NULL;
    w->t = NULL;
    uv_close((uv_handle_t *)&w->poll, taskd_ckpt_watch_closed);
}

/* Whether name is a version directory's, v<N>. */
static bool taskd_ckpt_version_name(const char *name)
{
    if (name[0] != 'v' || name[1] < '1' || name[1] > '9')
        return false;
    for (const char *c = name + 2; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

static void taskd_ckpt_watch_dir(struct taskd_ckpt_watch *w,
                                 const char *rdir,
                                 const char *name)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", rdir, name) < (int)sizeof(path)
        && inotify_add_watch(w->fd, path, TASKD_WATCH_VERSION) < 0)
        LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "cannot watch '%s': %s", path,
            strerror(errno));
}

static void taskd_ckpt_watch_cb(uv_poll_t *poll, int status, int events)
{
    struct taskd_ckpt_watch *w = poll->data;
    struct taskd_run *run = w->t ? taskd_run_by_key(w->t, w->run_key) : NULL;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool look = false;
    ssize_t n;

    (void)status;
    (void)events;
    while ((n = read(w->fd, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;

            p += sizeof(*e) + e->len;
            if (e->mask & IN_Q_OVERFLOW)
                look = true;
            if (!run || e->len == 0)
                continue;
            if (e->wd == w->root && (e->mask & IN_ISDIR)
                && taskd_ckpt_version_name(e->name)) {
                /* a version moved into place may be committed already */
                taskd_ckpt_watch_dir(w, run->ckpt_dir, e->name);
                look = true;
            } else if (e->wd != w->root && strcmp(e->name, "COMMITTED") == 0) {
                inotify_rm_watch(w->fd, e->wd);
                look = true;
            }
            /* the version's other files: nothing to do until its marker */
        }
    if (run && look)
        taskd_ckpt_scan_run(w->t, run, taskd_now());
}

/* Watch run's store, its versions not yet committed included. Without
 * inotify the half-second scan is all there is: said at debug level. */
static void taskd_ckpt_watch(struct taskd *t, struct taskd_run *run)
{
    struct taskd_ckpt_watch *w = calloc(1, sizeof(*w));
    ckpt_store_t *store = NULL;
    int *versions = NULL, n, rc;

    if (!w) {
        LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "no watch of '%s': out of memory",
            run->ckpt_dir);
        return;
    }
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "no watch of '%s': %s", run->ckpt_dir,
            strerror(errno));
        free(w);
        return;
    }
    w->root = inotify_add_watch(w->fd, run->ckpt_dir, TASKD_WATCH_ROOT);
    rc = w->root < 0 ? -errno : uv_poll_init(t->loop, &w->poll, w->fd);
    if (rc < 0) {
        LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "no watch of '%s': %s", run->ckpt_dir,
            w->root < 0 ? strerror(-rc) : uv_strerror(rc));
        close(w->fd);
        free(w);
        return;
    }
    w->poll.data = w;
    w->t = t;
    w->run_key = run->key;
    run->watch = w;
    rc = uv_poll_start(&w->poll, UV_READABLE, taskd_ckpt_watch_cb);
    if (rc < 0) {
        LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "no watch of '%s': %s", run->ckpt_dir,
            uv_strerror(rc));
        taskd_ckpt_unwatch(run);
        return;
    }
    /* versions begun before the watch */
    if (ckpt_store_create(run->ckpt_dir, &store) == 0) {
        n = ckpt_store_list(store, &versions);
        for (int i = 0; i < n; i++)
            if (versions[i] > run->pushed
                && ckpt_store_committed(store, versions[i]) == 0) {
                char name[16];

                snprintf(name, sizeof(name), "v%d", versions[i]);
                taskd_ckpt_watch_dir(w, run->ckpt_dir, name);
            }
        free(versions);
        ckpt_store_destroy(store);
    }
}

/* Whether the OOM killer ended run's task: a SIGKILL nobody here sent,
 * with a new OOM kill in its job's cgroup. The reason is written in why. */
static bool taskd_run_oom(struct taskd *t,
                          const struct taskd_run *run,
                          const struct task_exec_result *res,
                          char *why,
                          size_t size)
{
    uint64_t kills = 0;

    if (!run->cgroup[0] || res->status != TASK_EXEC_STATUS_SIGNALED + SIGKILL
        || (res->reason && strncmp(res->reason, "signal", 6) != 0))
        return false;
    for (int i = 0; i < 2; i++) {
        if (guestd_job_oom_kills(t->guest, run->cgroup, &kills) < 0)
            return false;
        if (kills > run->oom_kills)
            break;
        /* the kernel counts the kill just after sending it */
        if (i == 0)
            usleep(20 * 1000);
    }
    if (kills <= run->oom_kills)
        return false;
    snprintf(why, size,
             "killed: the job exceeded its memory limit of %" PRIu64
             " MiB on '%s'",
             (guestd_memory_limit(t->guest) + (1 << 19)) >> 20,
             guestd_node_name(t->guest));
    return true;
}

/* task_pull op: run a leased task now. */
static int taskd_start_op(const struct journal_lease *l, void *arg)
{
    struct taskd *t = arg;
    struct taskd_job *job = taskd_job_get(t, l->job);
    struct taskd_run *run = NULL;
    struct taskd_prepare *prep = NULL;
    const char *root;
    char local[PATH_MAX];
    char **argv = NULL, *path = NULL;
    shoal_error_t error = {{0}};
    cpu_set_t set;
    int rc;

    if (!job) {
        taskd_fail_start(t, l, -EIO, "cannot read the job from the journal");
        return -EIO;
    }
    if (job->home == 0)
        rc = taskd_expand(t, job, l->task, &argv, &error);
    else if ((argv = taskd_granted_take(t, l)) != NULL)
        rc = 0;
    else
        rc = shoal_errprintf(&error, -EIO, "no command granted for the task");
    if (rc == 0) {
        taskd_job_decide(t, job);
        if (job->refused)
            rc = shoal_errprintf(&error, -EPERM, "%s", job->refusal.text);
    }
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
    run->lease = *l;
    root = taskd_ckpt_root(job);
    if (root)
        root = taskd_ckpt_local_root(t, root, local, sizeof(local));
    if (!root && taskd_ckpt_root(job)) {
        rc = shoal_errprintf(&error, -EINVAL,
                             "bad checkpoint root '%s' in the job",
                             taskd_ckpt_root(job));
        goto out;
    }
    if (root) {
        /* its versions are verified off the loop, then it starts */
        prep = calloc(1, sizeof(*prep));
        if (!prep
            || snprintf(prep->dir, sizeof(prep->dir), "%s/task%" PRIu64, root,
                        l->task)
                   >= (int)sizeof(prep->dir)) {
            rc = shoal_errprintf(&error, prep ? -ENAMETOOLONG : -ENOMEM,
                                 "cannot make the task's checkpoint "
                                 "directory name: %s",
                                 prep ? "too long" : "out of memory");
            free(prep);
            goto out;
        }
        prep->work.data = prep;
        prep->t = t;
        prep->run = run;
        prep->argv = argv;
        prep->path = path;
        prep->set = set;
        argv = NULL;
        path = NULL;
        if (root == local && taskd_ckpt_replicas(job) > 0) {
            /* its store is on this node's disk: its newest version may
             * be on another's, where it ran before */
            run->replicas = taskd_ckpt_replicas(job);
            run->ckpt_dir = strdup(prep->dir);
            if (asprintf(&run->ckpt_key, "%s/task%" PRIu64,
                         taskd_ckpt_root(job) + 7, l->task)
                < 0)
                run->ckpt_key = NULL;
        }
        if (run->ckpt_key && run->ckpt_dir
            && taskd_helper_start(t, "pull", run, prep) == 0)
            rc = 0;
        else
            rc = uv_queue_work(t->loop, &prep->work, taskd_prepare_work,
                               taskd_prepare_after);
        if (rc < 0) {
            taskd_prepare_free(prep);
            shoal_errprintf(&error, rc,
                            "cannot verify the task's checkpoint: "
                            "%s",
                            uv_strerror(rc));
            goto out;
        }
        run->prepare = prep;
    } else {
        rc = taskd_launch(t, job, run, argv, path, &set, NULL, 0, &error);
        argv = NULL;
        path = NULL;
    }
    if (rc == 0) {
        run->next = t->runs;
        t->runs = run;
        run = NULL;
    }
out:
    if (rc < 0)
        taskd_fail_start(t, l, rc, error.text);
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
            && r->lease.attempt == l->attempt) {
            if (r->prepare)
                r->prepare->abandoned = true; /* no process yet */
            else
                task_exec_kill(t->exec, r->key);
        }
}

static struct taskd_job *taskd_job_find(struct taskd *t, uint64_t key)
{
    struct taskd_job *job = t->jobs;

    while (job && job->id != key)
        job = job->next;
    return job;
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

void taskd_set_vacating(struct taskd *t, bool (*vacating)(void *), void *arg)
{
    t->vacating = vacating;
    t->vacating_arg = arg;
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
    char oom[256];
    bool oom_killed = taskd_run_oom(t, run, res, oom, sizeof(oom));
    struct journal_result r = {.job = run->lease.job,
                               .task = run->lease.task,
                               .attempt = run->lease.attempt,
                               .token = run->lease.token,
                               .node = t->cfg.node_id,
                               .start = res->start,
                               .end = res->end,
                               .status = res->status,
                               .reason = oom_killed ? oom : res->reason,
                               .out_path = res->out_path,
                               .err_path = res->err_path,
                               .err_tail = res->err_tail};
    struct journal_lease lease = run->lease;

    if (res->status != 0 && t->vacating && t->vacating(t->vacating_arg)) {
        r.vacated = true;
        r.reason = "vacated: the node's owner took it back";
    }
    /* a failed task runs again, likely elsewhere: its last version is
     * copied before its result goes (at most TASKD_CKPT_FLUSH_S) */
    int last = run->ckpt_key && run->ckpt_dir && res->status != 0
                   ? taskd_ckpt_newest(run)
                   : 0;
    if (last > run->pushed
        && taskd_helper_run(t, "push", run, NULL, last, &r) == 0) {
        taskd_run_free(t, run);
        taskd_sync_cores(t, taskd_now());
        return;
    }

    taskd_run_free(t, run);
    /* the cores it held may not be this node's to lend any more (its
     * owner is back): say so before they are freed, so that nothing is
     * pulled on them */
    taskd_sync_cores(t, taskd_now());
    if (!task_pull_finished(t->pull, lease.job, lease.task, lease.attempt,
                            taskd_now()))
        return;
    if (res->status == 0)
        taskd_task_ckpt_done(t, &lease);
    taskd_push_result(t, &r);
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
        /* a job held after the ones that just ended may run now */
        if (journal_released(t->journal))
            retry = true;
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

/* Lend tasks what gang jobs leave: the ledger's free cores plus those our
 * tasks hold, at most what this node lends. */
static void taskd_sync_cores(struct taskd *t, double now)
{
    int lend;

    if (!t->cores_ops)
        return;
    if (t->cores_ops->withheld && t->cores_ops->withheld(t->cores_arg)) {
        /* the owner is back, maybe for hours: nothing more is pulled, and
         * tasks that wait here are better off elsewhere */
        task_pull_set_cores(t->pull, 0, now);
        task_pull_drop_waiting(t->pull);
        return;
    }
    lend = t->cores_ops->free_count(t->cores_arg);
    for (struct taskd_run *r = t->runs; r; r = r->next)
        lend += r->ncores;
    task_pull_set_cores(t->pull, lend < t->ncores ? lend : t->ncores, now);
}

static void taskd_tick_cb(uv_timer_t *h)
{
    struct taskd *t = h->data;
    double now = taskd_now();

    if (t->helpers || t->runs)
        taskd_ckpt_scan(t, now);

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

void taskd_set_guest(struct taskd *t, guestd_t *guest)
{
    t->guest = guest;
}

void taskd_set_cores(struct taskd *t,
                     const struct taskd_cores_ops *ops,
                     void *arg)
{
    t->cores_ops = ops;
    t->cores_arg = arg;
    taskd_sync_cores(t, taskd_now());
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

static void taskd_close_cb(uv_handle_t *h)
{
    struct taskd *t = h->data;

    if (--t->open_handles == 0)
        free(t);
}

/* The largest N of the output directories DIR/jobs/N of this node's own
 * jobs (0 when none): a journal made anew must not number over them. */
static uint64_t taskd_output_id_max(const char *dir)
{
    char path[PATH_MAX];
    struct dirent *e;
    uint64_t most = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/jobs", dir);
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char *end;
        unsigned long long n;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        errno = 0;
        n = strtoull(e->d_name, &end, 10);
        if (!*end && !errno && n > most)
            most = n;
    }
    closedir(d);
    return most;
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
        rc = journal_id_floor(t->journal, taskd_output_id_max(config->dir));
    if (rc == 0)
        rc = topo_load(getenv("SHOAL_TOPOLOGY"), &t->topo, error);
    if (rc < 0)
        goto error;
    t->bind = topo_is_this_system(t->topo);
    t->self = realpath("/proc/self/exe", NULL);
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

        if (!s->copy)
            s->reply(msg, true, s->arg);
        json_decref(msg);
        taskd_stream_remove(t, s);
    }
    task_exec_destroy(t->exec);
    journal_record(t->journal, t->pending.r, t->pending.n, taskd_now(), NULL);
    while (t->runs) {
        struct taskd_run *r = t->runs;

        t->runs = r->next;
        if (r->prepare)
            r->prepare->t = NULL; /* its work frees itself */
        taskd_run_free(t, r);
    }
    /* copies under way end with us; a pull's task does not start */
    while (t->helpers) {
        struct taskd_helper *h = t->helpers;

        t->helpers = h->next;
        h->t = NULL;
        if (h->prep)
            taskd_prepare_free(h->prep);
        h->prep = NULL;
        uv_process_kill(&h->process, SIGTERM);
        uv_close((uv_handle_t *)&h->process, taskd_helper_closed);
    }
    free(t->self);
    journal_requeue_node(t->journal, t->cfg.node_id);
    taskd_queue_release(&t->pending);
    taskd_queue_release(&t->outbox);
    free(t->peers);
    free(t->sizes);
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
