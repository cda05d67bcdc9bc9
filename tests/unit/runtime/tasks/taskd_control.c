/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/tasks/taskd_control.c: the control operations'
 * request checks and replies, over a taskd whose journal is in a temporary
 * directory and whose loop never runs a task (no sockets, no processes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sqlite3.h>

#include "runtime/tasks/taskd_private.h"
#include "runtime/tasks/taskgen.h"

TestSuite(taskd_control, .timeout = 30);

/* ---- pure helpers ---- */

Test(taskd_control, a_job_shows_every_count)
{
    struct journal_job_info info = {.id = 7,
                                    .name = "sweep",
                                    .cores = 2,
                                    .retries = 1,
                                    .state = JOURNAL_JOB_RUNNING,
                                    .ntasks = 10,
                                    .stale_reports = 4,
                                    .submitted = 100.5,
                                    .finished = 0};
    json_t *o;

    info.count[JOURNAL_TASK_QUEUED] = 3;
    info.count[JOURNAL_TASK_LEASED] = 2;
    info.started = 1; /* the other lease waits for cores on its worker */
    info.count[JOURNAL_TASK_DONE] = 4;
    info.count[JOURNAL_TASK_FAILED] = 1;
    o = taskd_job_json(&info);
    cr_assert(ne(ptr, o, NULL));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "id")), 7));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(o, "name")),
                 "sweep"));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(o, "state")),
                 (char *)journal_job_state_name(JOURNAL_JOB_RUNNING)));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "ntasks")), 10));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "queued")), 3));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "running")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "leased")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "done")), 4));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "failed")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "cancelled")), 0));
    cr_assert(
        eq(i64, json_integer_value(json_object_get(o, "stale_reports")), 4));
    cr_assert(
        eq(dbl, json_number_value(json_object_get(o, "submitted")), 100.5));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "cores")), 2));
    cr_assert(eq(i64, json_integer_value(json_object_get(o, "retries")), 1));
    json_decref(o);
    /* a job without a name has no "name" */
    info.name = NULL;
    o = taskd_job_json(&info);
    cr_assert(eq(ptr, json_object_get(o, "name"), NULL));
    json_decref(o);
}

Test(taskd_control, a_job_id_is_an_integer_from_one)
{
    static const char *const bad[] = {"{}", "{\"id\": \"3\"}", "{\"id\": 0}",
                                      "{\"id\": -4}", "{\"id\": 1.5}"};
    json_t *req;
    uint64_t id = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        req = json_loads(bad[i], 0, NULL);
        cr_assert(eq(int, taskd_job_id(req, &id), -EINVAL), "%s", bad[i]);
        json_decref(req);
    }
    req = json_pack("{s:i}", "id", 12);
    cr_assert(eq(int, taskd_job_id(req, &id), 0));
    cr_assert(eq(u64, id, 12));
    json_decref(req);
}

/* ---- operations over a taskd ---- */

static char taskd_dir[64];
static uv_loop_t taskd_loop;
static struct taskd *taskd_under_test;

/* The replies to one request. */
struct taskd_replies {
    json_t *msgs[8];
    bool final[8];
    size_t n;
};

static void taskd_collect(const json_t *msg, bool final, void *arg)
{
    struct taskd_replies *r = arg;

    cr_assert(lt(sz, r->n, 8));
    r->msgs[r->n] = json_deep_copy(msg);
    r->final[r->n++] = final;
}

static void taskd_replies_release(struct taskd_replies *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->msgs[i]);
    r->n = 0;
}

static void taskd_setup(void)
{
    struct taskd_config cfg = {
        .node_id = 1, .cores = 2, .speed = 1000, .lease = 30, .kill_grace = 1};
    shoal_error_t error = {{0}};

    strcpy(taskd_dir, "/tmp/shoal-taskd-XXXXXX");
    cr_assert(ne(ptr, mkdtemp(taskd_dir), NULL));
    setenv("SHOAL_TOPOLOGY", "package:1 core:2 pu:1", 1);
    cfg.dir = taskd_dir;
    cr_assert(eq(int, uv_loop_init(&taskd_loop), 0));
    cr_assert(
        eq(int, taskd_create(&taskd_loop, &cfg, &taskd_under_test, &error), 0),
        "%s", error.text);
}

static void taskd_teardown(void)
{
    char cmd[128];

    taskd_destroy(taskd_under_test);
    uv_run(&taskd_loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, uv_loop_close(&taskd_loop), 0));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", taskd_dir);
    cr_assert(eq(int, system(cmd), 0));
}

/* Send request (taken) as op; the replies go to r. Returns taskd_control's
 * value. */
static int taskd_ask(const char *op, json_t *request, struct taskd_replies *r)
{
    int rc =
        taskd_control(taskd_under_test, op, request, taskd_collect, r, NULL);

    json_decref(request);
    return rc;
}

/* A submit request for tasks 1..3 of `echo {}` in /tmp. */
static json_t *taskd_submit_request(void)
{
    struct taskgen *gen = NULL;
    shoal_error_t error = {{0}};
    json_t *req;

    cr_assert(eq(int, taskgen_create(&gen), 0));
    cr_assert(eq(int, taskgen_set_range(gen, "1-3", &error), 0), "%s",
              error.text);
    cr_assert(eq(int, taskgen_finish(gen, 0, &error), 0), "%s", error.text);
    req = json_pack("{s:i, s:i, s:o, s:[ss], s:[s], s:s, s:f}", "cores", 1,
                    "retries", 0, "spec", taskgen_spec(gen), "argv", "echo",
                    "{}", "env", "A=1", "wdir", "/tmp", "time_limit", 0.0);
    taskgen_destroy(gen);
    cr_assert(ne(ptr, req, NULL));
    return req;
}

static const char *taskd_error_text(const struct taskd_replies *r)
{
    cr_assert(eq(sz, r->n, 1));
    cr_assert(eq(int, r->final[0], 1));
    cr_assert(eq(int, json_is_true(json_object_get(r->msgs[0], "ok")), 0));
    return json_string_value(json_object_get(r->msgs[0], "error"));
}

Test(taskd_control,
     a_malformed_submit_is_refused_naming_the_field,
     .init = taskd_setup,
     .fini = taskd_teardown)
{
    struct taskd_replies r = {0};
    json_t *req;

    req = taskd_submit_request();
    json_object_del(req, "argv");
    cr_assert(eq(int, taskd_ask("task.submit", req, &r), 0));
    cr_assert(ne(ptr, strstr(taskd_error_text(&r), "'argv'"), NULL), "%s",
              taskd_error_text(&r));
    taskd_replies_release(&r);

    req = taskd_submit_request();
    json_object_set_new(req, "wdir", json_string("relative"));
    cr_assert(eq(int, taskd_ask("task.submit", req, &r), 0));
    cr_assert(ne(ptr, strstr(taskd_error_text(&r), "'wdir'"), NULL), "%s",
              taskd_error_text(&r));
    taskd_replies_release(&r);

    req = taskd_submit_request();
    json_object_set_new(req, "cores", json_integer(0));
    cr_assert(eq(int, taskd_ask("task.submit", req, &r), 0));
    cr_assert(
        eq(str, (char *)taskd_error_text(&r), "malformed submit request"));
    taskd_replies_release(&r);

    req = taskd_submit_request();
    json_object_set_new(req, "spec", json_string("nonsense"));
    cr_assert(eq(int, taskd_ask("task.submit", req, &r), 0));
    cr_assert(ne(str, (char *)taskd_error_text(&r), ""));
    taskd_replies_release(&r);

    /* nothing was recorded */
    cr_assert(eq(int, taskd_ask("task.jobs", json_object(), &r), 0));
    cr_assert(eq(sz, json_array_size(json_object_get(r.msgs[0], "jobs")), 0));
    taskd_replies_release(&r);
}

Test(taskd_control,
     a_submitted_job_is_listed_shown_and_cancelled,
     .init = taskd_setup,
     .fini = taskd_teardown)
{
    struct taskd_replies r = {0};
    json_t *job, *tasks;

    cr_assert(eq(int, taskd_ask("task.submit", taskd_submit_request(), &r), 0));
    cr_assert(eq(sz, r.n, 1));
    cr_assert(eq(int, json_is_true(json_object_get(r.msgs[0], "ok")), 1));
    cr_assert(eq(i64, json_integer_value(json_object_get(r.msgs[0], "id")), 1));
    cr_assert(
        eq(i64, json_integer_value(json_object_get(r.msgs[0], "ntasks")), 3));
    taskd_replies_release(&r);

    cr_assert(eq(int, taskd_ask("task.jobs", json_object(), &r), 0));
    cr_assert(eq(sz, json_array_size(json_object_get(r.msgs[0], "jobs")), 1));
    taskd_replies_release(&r);

    cr_assert(
        eq(int, taskd_ask("task.job", json_pack("{s:i}", "id", 1), &r), 0));
    job = json_object_get(r.msgs[0], "job");
    cr_assert(eq(str, (char *)json_string_value(json_object_get(job, "wdir")),
                 "/tmp"));
    cr_assert(eq(str,
                 (char *)json_string_value(
                     json_array_get(json_object_get(job, "argv"), 1)),
                 "{}"));
    cr_assert(eq(i64, json_integer_value(json_object_get(job, "queued")), 3));
    taskd_replies_release(&r);

    cr_assert(eq(
        int,
        taskd_ask("task.results",
                  json_pack("{s:i, s:i, s:i}", "id", 1, "first", 1, "max", 1),
                  &r),
        0));
    tasks = json_object_get(r.msgs[0], "tasks");
    cr_assert(eq(sz, json_array_size(tasks), 1));
    cr_assert(eq(
        i64,
        json_integer_value(json_object_get(json_array_get(tasks, 0), "task")),
        1));
    /* a full page says where the next one starts */
    cr_assert(
        eq(i64, json_integer_value(json_object_get(r.msgs[0], "next")), 2));
    taskd_replies_release(&r);

    cr_assert(
        eq(int, taskd_ask("task.cancel", json_pack("{s:i}", "id", 1), &r), 0));
    cr_assert(eq(
        i64, json_integer_value(json_object_get(r.msgs[0], "cancelled")), 3));
    taskd_replies_release(&r);
}

Test(taskd_control,
     unknown_jobs_and_ops_are_answered,
     .init = taskd_setup,
     .fini = taskd_teardown)
{
    struct taskd_replies r = {0};

    cr_assert(
        eq(int, taskd_ask("task.job", json_pack("{s:i}", "id", 9), &r), 0));
    cr_assert(eq(str, (char *)taskd_error_text(&r), "no such job"));
    taskd_replies_release(&r);
    cr_assert(eq(int, taskd_ask("task.wait", json_object(), &r), 0));
    cr_assert(eq(str, (char *)taskd_error_text(&r), "no such job"));
    taskd_replies_release(&r);
    cr_assert(
        eq(int, taskd_ask("task.cancel", json_pack("{s:i}", "id", 9), &r), 0));
    cr_assert(eq(str, (char *)taskd_error_text(&r), "no job 9"));
    taskd_replies_release(&r);
    cr_assert(eq(int,
                 taskd_ask("task.output",
                           json_pack("{s:i, s:i}", "id", 9, "task", 0), &r),
                 0));
    cr_assert(eq(str, (char *)taskd_error_text(&r), "no such task"));
    taskd_replies_release(&r);
    /* an op that is not taskd's gets no reply */
    cr_assert(eq(int, taskd_ask("task.nope", json_object(), &r), -ENOSYS));
    cr_assert(eq(sz, r.n, 0));
}

Test(taskd_control,
     a_wait_streams_until_its_job_ends,
     .init = taskd_setup,
     .fini = taskd_teardown)
{
    struct taskd_replies r = {0};
    struct taskd_stream *stream = NULL;
    json_t *req = json_pack("{s:i}", "id", 1);

    cr_assert(eq(int, taskd_ask("task.submit", taskd_submit_request(), &r), 0));
    taskd_replies_release(&r);
    cr_assert(eq(int,
                 taskd_control(taskd_under_test, "task.wait", req,
                               taskd_collect, &r, &stream),
                 0));
    json_decref(req);
    cr_assert(ne(ptr, stream, NULL));
    cr_assert(eq(sz, r.n, 0));
    cr_assert(eq(int, taskd_busy(taskd_under_test), 1));
    /* the first progress goes out with the next update */
    taskd_progress(taskd_under_test, false);
    cr_assert(eq(sz, r.n, 1));
    cr_assert(eq(int, r.final[0], 0));
    cr_assert(ne(ptr, json_object_get(r.msgs[0], "progress"), NULL));
    taskd_replies_release(&r);
    /* cancelled: the job is over, and the stream ends with it */
    cr_assert(
        eq(int, taskd_ask("task.cancel", json_pack("{s:i}", "id", 1), &r), 0));
    taskd_replies_release(&r);
    taskd_progress(taskd_under_test, true);
    cr_assert(eq(sz, r.n, 1));
    cr_assert(eq(int, r.final[0], 1));
    cr_assert(eq(int, json_is_true(json_object_get(r.msgs[0], "ok")), 1));
    cr_assert(eq(str,
                 (char *)json_string_value(json_object_get(
                     json_object_get(r.msgs[0], "job"), "state")),
                 "cancelled"));
    taskd_replies_release(&r);
}

Test(taskd_control,
     a_journal_that_fails_while_serving_stops_submit_and_wait_with_why,
     .init = taskd_setup,
     .fini = taskd_teardown)
{
    struct taskd_replies r = {0};
    char path[128], *err = NULL;
    sqlite3 *db;

    cr_assert(eq(int, taskd_ask("task.submit", taskd_submit_request(), &r), 0));
    taskd_replies_release(&r);
    /* the journal breaks under the service: its tasks table is gone */
    snprintf(path, sizeof(path), "%s/jobs.db", taskd_dir);
    cr_assert(eq(int, sqlite3_open(path, &db), SQLITE_OK));
    cr_assert(eq(int, sqlite3_exec(db, "DROP TABLE tasks", NULL, NULL, &err),
                 SQLITE_OK),
              "%s", err ? err : "");
    sqlite3_close(db);
    /* the next lease fails: not "nothing to lease" */
    taskd_under_test->pull_want = 1;
    taskd_pull_answer(taskd_under_test);
    cr_assert(ne(int, taskd_under_test->journal_error, 0));
    cr_assert(eq(int, taskd_ask("task.submit", taskd_submit_request(), &r), 0));
    cr_assert(ne(ptr, strstr(taskd_error_text(&r), "/jobs.db' failed ("), NULL),
              "%s", taskd_error_text(&r));
    taskd_replies_release(&r);
    cr_assert(
        eq(int, taskd_ask("task.wait", json_pack("{s:i}", "id", 1), &r), 0));
    cr_assert(ne(ptr, strstr(taskd_error_text(&r), "cannot go on"), NULL), "%s",
              taskd_error_text(&r));
    taskd_replies_release(&r);
}
