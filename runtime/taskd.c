/* SPDX-License-Identifier: MIT */
/* taskd.c - bag-of-tasks jobs: home journal, local worker, control ops. */
#include "runtime/taskd.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>

#include "runtime/journal.h"
#include "runtime/spawn.h"
#include "runtime/task_exec.h"
#include "runtime/task_pull.h"
#include "runtime/topo.h"
#include "scheduler/taskgen.h"
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

/* What a worker needs of a job to run its tasks, decoded once. */
struct taskd_job {
    uint64_t id;
    char **argv; /* template */
    char **env;  /* submitter's, plus room for three SHOAL_ variables */
    size_t nenv;
    char *wdir;
    double time_limit;
    struct taskd_job *next;
};

/* A task this node runs. */
struct taskd_run {
    uint64_t key;
    struct journal_lease lease;
    int *cores; /* logical core indexes held */
    int ncores;
    struct taskd_run *next;
};

struct taskd_stream {
    struct taskd *t;
    uint64_t job;
    taskd_reply_f *reply;
    void *arg;
    uint64_t sent[JOURNAL_TASK_NSTATES];
    bool first_sent;
    struct taskd_stream *next;
};

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
    struct journal_result *pending; /* results to record at the next check */
    char **pending_strings;         /* owned by pending, freed after */
    size_t npending, cap_pending;
    bool pull_wanted;
    int pull_want;
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

static void taskd_job_free(struct taskd_job *job)
{
    if (!job)
        return;
    taskgen_argv_free(job->argv);
    taskgen_argv_free(job->env);
    free(job->wdir);
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
    if (journal_job_get(t->journal, id, &info) < 0)
        return NULL;
    desc = json_loads(info.desc, 0, NULL);
    journal_job_info_release(&info);
    job = calloc(1, sizeof(*job));
    if (!desc || !job)
        goto error;
    job->id = id;
    job->argv = taskd_strings(json_object_get(desc, "argv"), 0, NULL);
    job->env = taskd_strings(json_object_get(desc, "env"), 3, &job->nenv);
    job->wdir = strdup(json_string_value(json_object_get(desc, "wdir")) ?: "/");
    job->time_limit = json_real_value(json_object_get(desc, "time_limit"));
    if (!job->argv || !job->env || !job->wdir)
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

/* Queue a result for the next journal transaction (strings copied). */
static void taskd_push_result(struct taskd *t, const struct journal_result *r)
{
    struct journal_result *q;

    if (t->npending == t->cap_pending) {
        size_t cap = t->cap_pending ? t->cap_pending * 2 : 64;
        struct journal_result *np = realloc(t->pending, cap * sizeof(*np));
        char **ns = realloc(t->pending_strings, cap * 4 * sizeof(*ns));

        if (np)
            t->pending = np;
        if (ns)
            t->pending_strings = ns;
        if (!np || !ns)
            return; /* the lease expires and the task runs again */
        t->cap_pending = cap;
    }
    q = &t->pending[t->npending];
    *q = *r;
    q->reason = r->reason ? strdup(r->reason) : NULL;
    q->out_path = r->out_path ? strdup(r->out_path) : NULL;
    q->err_path = r->err_path ? strdup(r->err_path) : NULL;
    q->err_tail = r->err_tail ? strdup(r->err_tail) : NULL;
    t->pending_strings[t->npending * 4] = (char *)q->reason;
    t->pending_strings[t->npending * 4 + 1] = (char *)q->out_path;
    t->pending_strings[t->npending * 4 + 2] = (char *)q->err_path;
    t->pending_strings[t->npending * 4 + 3] = (char *)q->err_tail;
    t->npending++;
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
    for (int c = 0; c < t->ncores && run->ncores < n; c++) {
        hwloc_obj_t core;

        if (t->core_busy[c])
            continue;
        t->core_busy[c] = true;
        run->cores[run->ncores++] = c;
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
    for (int i = 0; i < run->ncores; i++)
        t->core_busy[run->cores[i]] = false;
    free(run->cores);
    free(run);
}

/* task_pull op: run a leased task now. */
static int taskd_start_op(const struct journal_lease *l, void *arg)
{
    struct taskd *t = arg;
    struct taskd_job *job = taskd_job_get(t, l->job);
    struct taskd_params_copy pc = {NULL};
    struct taskd_run *run = NULL;
    json_t *params = NULL;
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
    journal_tasks(t->journal, l->job, l->task, 1, taskd_copy_params, &pc);
    params = pc.params ? json_loads(pc.params, 0, NULL) : NULL;
    free(pc.params);
    rc = params ? taskgen_expand(job->argv, params, l->task, &argv, &error)
                : shoal_errprintf(&error, -EIO, "cannot read the task");
    if (rc == 0)
        rc = spawn_resolve(argv[0], job->wdir, &path, &error);
    run = calloc(1, sizeof(*run));
    if (rc == 0 && !run)
        rc = shoal_errprintf(&error, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = taskd_take_cores(
            t, run, l->cores < t->ncores ? l->cores : t->ncores, &set);
    if (rc < 0)
        goto out;
    snprintf(env_job, sizeof(env_job), "SHOAL_JOB_ID=%" PRIu64, l->job);
    snprintf(env_task, sizeof(env_task), "SHOAL_TASK_ID=%" PRIu64, l->task);
    snprintf(env_attempt, sizeof(env_attempt), "SHOAL_TASK_ATTEMPT=%" PRIu32,
             l->attempt);
    job->env[job->nenv] = env_job;
    job->env[job->nenv + 1] = env_task;
    job->env[job->nenv + 2] = env_attempt;
    snprintf(out_dir, sizeof(out_dir), "%s/jobs/%" PRIu64 "/task.%" PRIu64,
             t->dir, l->job, l->task);
    run->key = ++t->next_key;
    run->lease = *l;
    spec = (struct task_exec_spec){.key = run->key,
                                   .path = path,
                                   .argv = argv,
                                   .envp = job->env,
                                   .wdir = job->wdir,
                                   .cpus = t->bind ? &set : NULL,
                                   .out_dir = out_dir,
                                   .time_limit = job->time_limit};
    rc = task_exec_start(t->exec, &spec, &error);
    job->env[job->nenv] = NULL;
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
    json_decref(params);
    taskgen_argv_free(argv);
    free(path);
    return rc;
}

static void taskd_pull_op(int free_cores, int want, int speed, void *arg)
{
    struct taskd *t = arg;

    (void)free_cores;
    (void)speed;
    t->pull_wanted = true;
    t->pull_want = want;
}

static void taskd_abandon_op(const struct journal_lease *l, void *arg)
{
    struct taskd *t = arg;

    for (struct taskd_run *r = t->runs; r; r = r->next)
        if (r->lease.job == l->job && r->lease.task == l->task
            && r->lease.attempt == l->attempt)
            task_exec_kill(t->exec, r->key);
}

static void
taskd_renew_op(const struct journal_lease *leases, size_t n, void *arg)
{
    struct taskd *t = arg;
    bool *valid = calloc(n, sizeof(*valid));

    if (!valid)
        return;
    if (journal_renew(t->journal, leases, n, taskd_now(), t->cfg.lease, valid)
        >= 0)
        for (size_t i = 0; i < n; i++)
            if (!valid[i])
                task_pull_revoke(t->pull, leases[i].job, leases[i].task);
    free(valid);
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
        if (journal_job_get(t->journal, s->job, &info) < 0)
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

/* After each loop iteration: record what ended in one transaction, then
 * answer the worker's pull. */
static void taskd_check_cb(uv_check_t *h)
{
    struct taskd *t = h->data;
    struct journal_lease leases[256];
    bool recorded = false;
    int n;

    if (t->npending > 0) {
        recorded = journal_record(t->journal, t->pending, t->npending,
                                  taskd_now(), NULL)
                   == 0;
        for (size_t i = 0; i < t->npending * 4; i++)
            free(t->pending_strings[i]);
        t->npending = 0;
        t->progress_dirty = true;
    }
    if (t->pull_wanted) {
        int want = t->pull_want < 256 ? t->pull_want : 256;

        t->pull_wanted = false;
        n = journal_lease(t->journal, t->cfg.node_id, want, false, taskd_now(),
                          t->cfg.lease, leases, (size_t)want);
        task_pull_grant(t->pull, leases, n > 0 ? (size_t)n : 0, taskd_now());
        if (n > 0)
            t->progress_dirty = true;
    }
    /* a job that just ended is reported at once; progress waits for the
     * next tick, so a fast job does not send a message per task */
    if (recorded && t->streams)
        taskd_progress(t, true);
}

static void taskd_tick_cb(uv_timer_t *h)
{
    struct taskd *t = h->data;
    double now = taskd_now();

    if (journal_expire(t->journal, now) > 0) {
        t->progress_dirty = true;
        task_pull_poke(t->pull, now);
    }
    task_pull_tick(t->pull, now);
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
    json_t *argv = json_object_get(req, "argv");
    json_t *env = json_object_get(req, "env");
    const char *wdir = json_string_value(json_object_get(req, "wdir"));
    struct journal_job_spec spec = {
        .name = json_string_value(json_object_get(req, "name")),
        .cores = (int)json_integer_value(json_object_get(req, "cores")),
        .retries = (int)json_integer_value(json_object_get(req, "retries")),
        .submitted = taskd_now(),
    };
    double limit = json_number_value(json_object_get(req, "time_limit"));
    struct taskd_params_iter it = {NULL, NULL};
    shoal_error_t error = {{0}};
    char **tmpl = NULL;
    json_t *desc;
    uint64_t id;
    int rc;

    if (!json_is_array(argv) || json_array_size(argv) == 0
        || !json_is_array(env) || !wdir || wdir[0] != '/' || spec.cores < 1
        || spec.retries < 0 || limit < 0) {
        taskd_reply_error(reply, arg, SHOAL_EPROTO, "malformed submit request");
        return;
    }
    rc = taskgen_from_spec(json_object_get(req, "spec"), 0, &it.gen, &error);
    tmpl = rc == 0 ? taskd_strings(argv, 0, NULL) : NULL;
    if (rc == 0 && !tmpl)
        rc = shoal_errprintf(&error, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = taskgen_check_command(it.gen, (int)json_array_size(argv), tmpl,
                                   &error);
    if (rc < 0) {
        taskd_reply_error(reply, arg, rc, "%s", error.text);
        goto out;
    }
    desc = json_pack("{s:O, s:O, s:s, s:f, s:O}", "argv", argv, "env", env,
                     "wdir", wdir, "time_limit", limit, "spec",
                     json_object_get(req, "spec"));
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
    task_pull_poke(t->pull, taskd_now());
out:
    free(it.text);
    taskgen_argv_free(tmpl);
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
                            void *arg)
{
    json_int_t task = json_integer_value(json_object_get(req, "task"));
    json_t *rows = json_array(), *row;
    uint64_t id;

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
    taskd_reply_ok(reply, arg, json_pack("{s:o}", "task", row));
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
        taskd_op_output(t, request, reply, arg);
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
    /* this node's tasks died with its previous daemon */
    journal_requeue_node(t->journal, config->node_id);
    uv_check_init(loop, &t->check);
    uv_timer_init(loop, &t->tick);
    uv_timer_init(loop, &t->progress);
    t->check.data = t->tick.data = t->progress.data = t;
    t->open_handles = 3;
    uv_check_start(&t->check, taskd_check_cb);
    uv_timer_start(&t->tick, taskd_tick_cb, 0, 500);
    uv_timer_start(&t->progress, taskd_progress_cb, 200, 200);
    /* the daemon's loop ends when the daemon leaves, not when we do */
    uv_unref((uv_handle_t *)&t->check);
    uv_unref((uv_handle_t *)&t->tick);
    uv_unref((uv_handle_t *)&t->progress);
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
    journal_record(t->journal, t->pending, t->npending, taskd_now(), NULL);
    while (t->runs) {
        struct taskd_run *r = t->runs;

        t->runs = r->next;
        taskd_run_free(t, r);
    }
    journal_requeue_node(t->journal, t->cfg.node_id);
    for (size_t i = 0; i < t->npending * 4; i++)
        free(t->pending_strings[i]);
    free(t->pending);
    free(t->pending_strings);
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
}
