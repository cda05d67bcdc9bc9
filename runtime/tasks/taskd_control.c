/* SPDX-License-Identifier: MIT */
/* taskd_control.c - bag-of-tasks jobs' control operations ("task.*":
 * submit, jobs, job, wait, results, output, cancel; see taskd.h), their
 * requests checked and their replies built from the journal, the streams
 * of "task.wait" and of an output fetched from another node, and the
 * adapter that serves them on a control socket. */
#include "runtime/tasks/taskd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/daemon/control.h"
#include "runtime/tasks/journal.h"
#include "runtime/tasks/task_cmd.h"
#include "runtime/tasks/task_pull.h"
#include "runtime/tasks/task_wire.h"
#include "runtime/tasks/taskd_private.h"
#include "runtime/tasks/taskgen.h"

/* "3,4" as [3, 4]; [] for NULL. */
static json_t *taskd_after_json(const char *after)
{
    json_t *a = json_array();

    while (after && *after) {
        char *end;
        unsigned long long id = strtoull(after, &end, 10);

        json_array_append_new(a, json_integer((json_int_t)id));
        after = *end == ',' ? end + 1 : "";
    }
    return a;
}

json_t *taskd_job_json(const struct journal_job_info *info)
{
    /* a leased task may wait for cores on its worker (prefetch): it runs
     * once the worker's renewal says so */
    uint64_t leased = info->count[JOURNAL_TASK_LEASED];
    uint64_t started = info->started < leased ? info->started : leased;
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:i, s:i}",
        "id", (json_int_t)info->id, "state",
        journal_job_state_name(info->state), "ntasks", (json_int_t)info->ntasks,
        "queued", (json_int_t)info->count[JOURNAL_TASK_QUEUED], "running",
        (json_int_t)started, "done", (json_int_t)info->count[JOURNAL_TASK_DONE],
        "failed", (json_int_t)info->count[JOURNAL_TASK_FAILED], "cancelled",
        (json_int_t)info->count[JOURNAL_TASK_CANCELLED], "stale_reports",
        (json_int_t)info->stale_reports, "submitted", info->submitted,
        "finished", info->finished, "cores", info->cores, "retries",
        info->retries);

    if (info->name)
        json_object_set_new(o, "name", json_string(info->name));
    {
        uint32_t uid, gid;

        taskd_desc_user(info->desc, &uid, &gid);
        json_object_set_new(o, "user", json_integer((json_int_t)uid));
    }
    json_object_set_new(o, "leased",
                        json_integer((json_int_t)(leased - started)));
    if (info->reason)
        json_object_set_new(o, "reason", json_string(info->reason));
    json_object_set_new(o, "after", taskd_after_json(info->after));
    return o;
}

void taskd_stream_remove(struct taskd *t, struct taskd_stream *s)
{
    struct taskd_stream **p = &t->streams;

    while (*p && *p != s)
        p = &(*p)->next;
    if (*p)
        *p = s->next;
    /* a job's waiters hold their answer until its last output copy is
     * here: the end of one is news to them */
    if (s->copy)
        t->progress_dirty = true;
    json_decref(s->fetch_row);
    free(s);
}

/* Whether a copy of the output of one of job's tasks is on its way here
 * (output_home). */
static bool taskd_copies_pending(const struct taskd *t, uint64_t job)
{
    for (const struct taskd_stream *s = t->streams; s; s = s->next)
        if (s->copy
            && (uint64_t)json_integer_value(
                   json_object_get(s->fetch_row, "job"))
                   == job)
            return true;
    return false;
}

void taskd_progress(struct taskd *t, bool only_final)
{
    struct taskd_stream *s = t->streams, *next;

    for (; s; s = next) {
        struct journal_job_info info;
        json_t *msg;

        next = s->next;
        if (s->fetch || journal_job_get(t->journal, s->job, &info) < 0)
            continue;
        if (info.state != JOURNAL_JOB_RUNNING
            && taskd_copies_pending(t, s->job)) {
            /* the job ended once its output is here too: a batch script
             * that ends after `shoal wait` ends the nodes with it */
            journal_job_info_release(&info);
            continue;
        }
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

void taskd_progress_cb(uv_timer_t *h)
{
    struct taskd *t = h->data;

    if (!t->progress_dirty)
        return;
    t->progress_dirty = false;
    taskd_progress(t, false);
}

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

/* A job whose tasks no node alive could ever hold would wait forever:
 * refuse it, naming the largest node. Returns true when refused. */
static bool taskd_refuse_unplaceable(struct taskd *t,
                                     int cores,
                                     taskd_reply_f *reply,
                                     void *arg)
{
    const char *largest = "this node";
    int most = t->ncores;

    for (size_t i = 0; i < t->nsizes; i++)
        if ((int)t->sizes[i].cores > most) {
            most = (int)t->sizes[i].cores;
            largest = t->sizes[i].name;
        }
    if (cores <= most)
        return false;
    taskd_reply_error(reply, arg, SHOAL_EUSAGE,
                      "no node of the pool has %d cores for a task: the "
                      "largest, '%s', has %d",
                      cores, largest, most);
    return true;
}

static void taskd_op_submit(struct taskd *t,
                            const struct taskd_caller *caller,
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
    json_t *desc, *after = json_object_get(req, "after"), *v;
    uint64_t id, deps[TASKD_AFTER_MAX];
    size_t i;
    int rc;

    if (spec.cores < 1 || spec.retries < 0
        || (after && !json_is_array(after))) {
        taskd_reply_error(reply, arg, SHOAL_EPROTO, "malformed submit request");
        return;
    }
    if (json_array_size(after) > TASKD_AFTER_MAX) {
        taskd_reply_error(reply, arg, SHOAL_EUSAGE,
                          "a job may run after at most %d jobs",
                          TASKD_AFTER_MAX);
        return;
    }
    json_array_foreach (after, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            taskd_reply_error(reply, arg, SHOAL_EPROTO,
                              "malformed submit request: bad 'after'");
            return;
        }
        deps[i] = (uint64_t)json_integer_value(v);
    }
    spec.after = deps;
    spec.nafter = json_array_size(after);
    if (taskd_refuse_unplaceable(t, spec.cores, reply, arg))
        return;
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
    /* the submitter is the control socket's caller, never a field of the
     * request */
    desc = json_pack("{s:O, s:I, s:I}", "spec", json_object_get(req, "spec"),
                     "uid", (json_int_t)caller->uid, "gid",
                     (json_int_t)caller->gid);
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

/* The tasks a job runs again: their indices and parameters (JSON text). */
struct taskd_rerun {
    uint64_t *indices;
    char **params;
    size_t n, cap;
    uint64_t next; /* the index after the last row seen */
    bool only_failed;
    bool nomem;
};

static void taskd_rerun_row(const struct journal_task_row *row, void *arg)
{
    struct taskd_rerun *r = arg;

    r->next = row->task + 1;
    if (r->nomem || (r->only_failed && row->state != JOURNAL_TASK_FAILED))
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        uint64_t *ni = realloc(r->indices, cap * sizeof(*ni));
        char **np = ni ? realloc(r->params, cap * sizeof(*np)) : NULL;

        if (ni)
            r->indices = ni;
        if (!np) {
            r->nomem = true;
            return;
        }
        r->params = np;
        r->cap = cap;
    }
    r->params[r->n] = strdup(row->params ? row->params : "{}");
    if (!r->params[r->n]) {
        r->nomem = true;
        return;
    }
    r->indices[r->n++] = row->task;
}

static const char *taskd_rerun_params(uint64_t index, void *arg)
{
    return ((struct taskd_rerun *)arg)->params[index];
}

static void taskd_rerun_release(struct taskd_rerun *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->params[i]);
    free(r->params);
    free(r->indices);
}

/* task.resubmit {id, failed}: a new job with job id's command, settings
 * and name, running again its failed tasks (or all of them), each with
 * its index and parameters. The job must have ended. */
static void taskd_op_resubmit(struct taskd *t,
                              const struct taskd_caller *caller,
                              const json_t *req,
                              taskd_reply_f *reply,
                              void *arg)
{
    struct taskd_rerun r = {.only_failed =
                                json_is_true(json_object_get(req, "failed"))};
    struct journal_job_info info;
    shoal_error_t error = {{0}};
    json_t *desc = NULL;
    uint64_t id, new_id;
    int n, rc;

    if (taskd_job_id(req, &id) < 0) {
        taskd_reply_error(reply, arg, SHOAL_EPROTO, "no job id");
        return;
    }
    if (journal_job_get(t->journal, id, &info) < 0) {
        taskd_reply_error(reply, arg, -ENOENT, "no job %" PRIu64, id);
        return;
    }
    if (info.state == JOURNAL_JOB_RUNNING) {
        taskd_reply_error(reply, arg, -EBUSY,
                          "job %" PRIu64 " is still running: wait for it "
                          "to end ('shoal wait %" PRIu64 "') or cancel it",
                          id, id);
        goto out;
    }
    if (taskd_refuse_unplaceable(t, info.cores, reply, arg))
        goto out;
    do {
        uint64_t before = r.next;

        n = journal_tasks(t->journal, id, r.next, 5000, taskd_rerun_row, &r);
        if (n > 0 && r.next == before)
            n = 0;
    } while (n == 5000 && !r.nomem);
    if (n < 0 || r.nomem) {
        taskd_reply_error(reply, arg, n < 0 ? n : -ENOMEM,
                          "cannot read the tasks of job %" PRIu64 ": %s", id,
                          shoal_strerror(n < 0 ? n : -ENOMEM));
        goto out;
    }
    if (r.n == 0 && info.count[JOURNAL_TASK_CANCELLED] > 0) {
        /* a job failed by its dependency, or cancelled: nothing failed */
        taskd_reply_error(reply, arg, SHOAL_EUSAGE,
                          "job %" PRIu64 " has no failed tasks to run again "
                          "(%" PRIu64 " were cancelled: 'shoal resubmit "
                          "%" PRIu64 "' runs every task again)",
                          id, info.count[JOURNAL_TASK_CANCELLED], id);
        goto out;
    }
    if (r.n == 0) {
        taskd_reply_error(reply, arg, SHOAL_EUSAGE,
                          "job %" PRIu64 " has no failed tasks to run again",
                          id);
        goto out;
    }
    /* the command as it was; the submitter is who asks now */
    desc = json_loads(info.desc, 0, NULL);
    if (!desc || json_object_set_new(desc, "uid", json_integer(caller->uid)) < 0
        || json_object_set_new(desc, "gid", json_integer(caller->gid)) < 0
        || json_object_set_new(desc, "resubmit_of",
                               json_integer((json_int_t)id))
               < 0) {
        taskd_reply_error(reply, arg, -ENOMEM, "out of memory");
        goto out;
    }
    {
        struct journal_job_spec spec = {.name = info.name,
                                        .cores = info.cores,
                                        .retries = info.retries,
                                        .submitted = taskd_now(),
                                        .indices = r.indices};
        char *text = json_dumps(desc, JSON_COMPACT);

        spec.desc = text;
        rc = text ? journal_job_create(t->journal, &spec, r.n,
                                       taskd_rerun_params, &r, &new_id, &error)
                  : shoal_errprintf(&error, -ENOMEM, "out of memory");
        free(text);
    }
    if (rc < 0) {
        taskd_reply_error(reply, arg, rc, "%s", error.text);
        goto out;
    }
    taskd_reply_ok(reply, arg,
                   json_pack("{s:I, s:I}", "id", (json_int_t)new_id, "ntasks",
                             (json_int_t)r.n));
    taskd_poke_all(t);
out:
    json_decref(desc);
    taskd_rerun_release(&r);
    journal_job_info_release(&info);
}

/* The most cores free on one node now, this one included. */
static int taskd_most_free(struct taskd *t)
{
    int most = 0;

    if (t->cores_ops)
        most = t->cores_ops->free_count(t->cores_arg);
    else
        for (int k = 0; k < t->ncores; k++)
            most += !t->core_busy[k];
    if (most > t->ncores)
        most = t->ncores;
    for (size_t i = 0; i < t->nsizes; i++)
        if ((int)t->sizes[i].free > most)
            most = (int)t->sizes[i].free;
    return most;
}

/* Why a job's queued tasks wait, as Slurm's Reason: set in o as "reason"
 * while some wait and none could start now for want of free cores. */
static void taskd_job_reason(struct taskd *t,
                             const struct journal_job_info *info,
                             json_t *o)
{
    char text[160];
    int most;

    if (info->state == JOURNAL_JOB_RUNNING && info->held) {
        snprintf(text, sizeof(text),
                 "Dependency: runs once job%s %s ended done",
                 strchr(info->after ? info->after : "", ',') ? "s" : "",
                 info->after ? info->after : "?");
        json_object_set_new(o, "reason", json_string(text));
        return;
    }
    if (info->state != JOURNAL_JOB_RUNNING
        || info->count[JOURNAL_TASK_QUEUED] == 0)
        return;
    most = taskd_most_free(t);
    if (most >= info->cores)
        return;
    snprintf(text, sizeof(text),
             "Resources: each task needs %d free cores on one node; the "
             "most free now is %d",
             info->cores, most);
    json_object_set_new(o, "reason", json_string(text));
}

struct taskd_jobs_list {
    struct taskd *t;
    json_t *jobs;
    const char *name; /* only the jobs of this name, or NULL */
    int state;        /* only the jobs in this state, or -1 */
};

static void taskd_add_job(const struct journal_job_info *info, void *arg)
{
    struct taskd_jobs_list *l = arg;
    json_t *o;

    if ((l->name && (!info->name || strcmp(l->name, info->name) != 0))
        || (l->state >= 0 && (int)info->state != l->state))
        return;
    o = taskd_job_json(info);

    taskd_job_reason(l->t, info, o);
    json_array_append_new(l->jobs, o);
}

int taskd_job_id(const json_t *req, uint64_t *id)
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
    taskd_job_reason(t, &info, job);
    desc = json_loads(info.desc, 0, NULL);
    json_object_set(job, "argv", json_object_get(desc, "argv"));
    json_object_set(job, "wdir", json_object_get(desc, "wdir"));
    json_object_set(job, "time_limit", json_object_get(desc, "time_limit"));
    json_object_set_new(
        job, "mem",
        json_integer(json_integer_value(json_object_get(desc, "mem"))));
    if (json_is_integer(json_object_get(desc, "resubmit_of")))
        json_object_set(job, "resubmit_of",
                        json_object_get(desc, "resubmit_of"));
    json_decref(desc);
    journal_job_info_release(&info);
    taskd_reply_ok(reply, arg, json_pack("{s:o}", "job", job));
}

static void taskd_add_task(const struct journal_task_row *row, void *arg)
{
    json_t *o = json_pack(
        "{s:I, s:o, s:s, s:i, s:I, s:f, s:f}", "task", (json_int_t)row->task,
        "params", json_loads(row->params, 0, NULL) ?: json_object(), "state",
        row->state == JOURNAL_TASK_LEASED && row->start > 0
            ? "running"
            : journal_task_state_name(row->state),
        "attempts", (int)row->attempts, "node", (json_int_t)row->node, "start",
        row->start, "end", row->end);

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
    /* a job run again keeps its tasks' indices, which may have gaps: the
     * next page starts after the last index given */
    taskd_reply_ok(reply, arg,
                   json_pack("{s:o, s:o}", "tasks", tasks, "next",
                             n == max ? json_integer(
                                 json_integer_value(json_object_get(
                                     json_array_get(tasks, n - 1), "task"))
                                 + 1)
                                      : json_null()));
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
    char copy_out[4200], copy_err[4200], counters[4200];
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
        if (out && taskd_counters_path(out, counters, sizeof(counters)) == 0
            && access(counters, R_OK) == 0)
            json_object_set_new(row, "counters", json_string(counters));
        taskd_reply_ok(reply, arg, json_pack("{s:o}", "task", row));
        return;
    }
    /* a copy kept here (output_home, maybe of the daemon this directory
     * was a home of) once the task ended: the node may be gone */
    if (taskd_output_copy_path(t, id, (uint64_t)task, ".out", copy_out,
                               sizeof(copy_out))
            == 0
        && taskd_output_copy_path(t, id, (uint64_t)task, ".err", copy_err,
                                  sizeof(copy_err))
               == 0
        && access(copy_out, R_OK) == 0) {
        json_object_set_new(row, "stdout", json_string(copy_out));
        json_object_set_new(row, "stderr", json_string(copy_err));
        if (taskd_output_copy_path(t, id, (uint64_t)task, ".counters", counters,
                                   sizeof(counters))
                == 0
            && access(counters, R_OK) == 0)
            json_object_set_new(row, "counters", json_string(counters));
        taskd_reply_ok(reply, arg, json_pack("{s:o}", "task", row));
        return;
    }
    /* it ran on another node: ask it for the files */
    for (i = 0; i < t->npeers && t->peers[i] != node; i++)
        ;
    s = i < t->npeers ? calloc(1, sizeof(*s)) : NULL;
    len = 0;
    body = s ? task_wire_fetch_encode(
               &(struct task_wire_fetch){
                   .req = t->next_fetch + 1,
                   .out_path = out,
                   .err_path = err,
                   .counters_path =
                       taskd_counters_path(out, counters, sizeof(counters)) == 0
                           ? counters
                           : NULL},
               &len)
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

enum control_op_class taskd_control_op_class(const char *op)
{
    if (strcmp(op, "task.submit") == 0 || strcmp(op, "task.resubmit") == 0)
        return CONTROL_OP_SUBMIT;
    if (strcmp(op, "task.cancel") == 0)
        return CONTROL_OP_OWNER;
    return CONTROL_OP_READ;
}

/* Ops on one job whose data is its owner's: the job's commands, results
 * and output, and cancelling it. */
static bool taskd_op_is_private(const char *op)
{
    return strcmp(op, "task.job") == 0 || strcmp(op, "task.results") == 0
           || strcmp(op, "task.output") == 0 || strcmp(op, "task.cancel") == 0
           || strcmp(op, "task.resubmit") == 0;
}

/* Refuse caller an op on another user's job: 0 when it may go on (or the
 * job is not there: the op says so), else -EPERM after replying. */
static int taskd_check_owner(struct taskd *t,
                             const struct taskd_caller *caller,
                             const json_t *request,
                             taskd_reply_f *reply,
                             void *arg)
{
    struct journal_job_info info;
    uint32_t owner, gid;
    struct account a;
    uint64_t id;

    if (taskd_job_id(request, &id) < 0
        || journal_job_get(t->journal, id, &info) < 0)
        return 0;
    taskd_desc_user(info.desc, &owner, &gid);
    journal_job_info_release(&info);
    if (control_may_act_on(caller->uid, owner, (uint32_t)geteuid()))
        return 0;
    if (account_by_uid(owner, (gid_t)-1, &a) == 0)
        taskd_reply_error(reply, arg, -EPERM,
                          "job %" PRIu64 " belongs to user '%s' (uid %" PRIu32
                          ")",
                          id, a.name, owner);
    else
        taskd_reply_error(reply, arg, -EPERM,
                          "job %" PRIu64 " belongs to user %" PRIu32, id,
                          owner);
    return -EPERM;
}

int taskd_control(struct taskd *t,
                  const char *op,
                  const json_t *request,
                  taskd_reply_f *reply,
                  void *arg,
                  struct taskd_stream **stream)
{
    struct taskd_caller self = {(uint32_t)geteuid(), (uint32_t)getegid()};

    return taskd_control_as(t, &self, op, request, reply, arg, stream);
}

int taskd_control_as(struct taskd *t,
                     const struct taskd_caller *caller,
                     const char *op,
                     const json_t *request,
                     taskd_reply_f *reply,
                     void *arg,
                     struct taskd_stream **stream)
{
    if (stream)
        *stream = NULL;
    if (taskd_op_is_private(op)
        && taskd_check_owner(t, caller, request, reply, arg) < 0)
        return 0;
    if (t->journal_error
        && (strcmp(op, "task.submit") == 0 || strcmp(op, "task.wait") == 0
            || strcmp(op, "task.resubmit") == 0)) {
        /* a wait would never end, a job would never run */
        taskd_reply_error(reply, arg, t->journal_error,
                          "the journal '%s/jobs.db' failed (%s): its jobs "
                          "cannot go on; see the service's log",
                          t->dir, shoal_strerror(t->journal_error));
        return 0;
    }
    if (strcmp(op, "task.submit") == 0)
        taskd_op_submit(t, caller, request, reply, arg);
    else if (strcmp(op, "task.resubmit") == 0)
        taskd_op_resubmit(t, caller, request, reply, arg);
    else if (strcmp(op, "task.jobs") == 0) {
        json_t *jobs = json_array();
        json_t *state = json_object_get(request, "state");
        struct taskd_jobs_list l = {
            t, jobs, json_string_value(json_object_get(request, "name")),
            state ? journal_job_state_parse(json_string_value(state)) : -1};

        if (state && l.state < 0) {
            json_decref(jobs);
            taskd_reply_error(reply, arg, SHOAL_EUSAGE,
                              "invalid job state '%s': expected running, "
                              "done, failed or cancelled",
                              json_string_value(state) ?: "?");
            return 0;
        }
        journal_jobs(t->journal, taskd_add_job, &l);
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
    "task.submit", "task.jobs",   "task.job",      "task.wait", "task.results",
    "task.output", "task.cancel", "task.resubmit", NULL,
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

    struct taskd_caller caller = {control_conn_uid(conn),
                                  control_conn_gid(conn)};

    if (taskd_control_as(t, &caller, op, request, taskd_conn_reply, conn,
                         &stream)
        < 0)
        control_reply_error(conn, -ENOSYS, "unknown operation '%s'", op);
    else if (stream)
        control_conn_set_handlers(conn, NULL, taskd_conn_close, stream);
}
