/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/tasks/task_wire.h"

TestSuite(task_wire, .timeout = 10);

Test(task_wire, leases_keep_every_bit_of_their_token)
{
    struct journal_lease in[2] = {
        {.job = 3,
         .task = 9999999,
         .attempt = 2,
         .token = 0x7fffffffffffffffULL,
         .cores = 4,
         .expires = 12.5,
         .started = 11.25},
        {.job = 1ULL << 60,
         .task = 0,
         .attempt = 1,
         .token = 1,
         .cores = 1,
         .expires = 0},
    };
    struct journal_lease *out;
    size_t len, n;
    char *body = task_wire_leases_encode("leases", in, 2, &len);

    cr_assert(body != NULL);
    cr_assert(
        eq(int, task_wire_leases_decode(body, len, "leases", &out, &n), 0));
    cr_assert(eq(sz, n, 2));
    for (size_t i = 0; i < n; i++) {
        cr_assert(eq(u64, out[i].job, in[i].job));
        cr_assert(eq(u64, out[i].task, in[i].task));
        cr_assert(eq(u32, out[i].attempt, in[i].attempt));
        cr_assert(eq(u64, out[i].token, in[i].token));
        cr_assert(eq(int, out[i].cores, in[i].cores));
        cr_assert(eq(dbl, out[i].expires, in[i].expires));
        cr_assert(eq(dbl, out[i].started, in[i].started),
                  "started, or 0 for a lease still waiting");
    }
    free(out);
    free(body);
}

/* Attempts are 32-bit unsigned: one past INT_MAX was sent negative and
 * refused by the other side. */
Test(task_wire, attempts_above_int_max_survive_a_round_trip)
{
    static const char body[] =
        "{\"leases\":[{\"job\":\"3\",\"task\":\"7\",\"attempt\":3000000000,"
        "\"token\":\"1\",\"cores\":4,\"expires\":12.5}]}";
    struct journal_lease *l, *back;
    struct journal_result r = {.job = 1, .task = 2, .attempt = UINT32_MAX},
                          *rback;
    json_t *doc;
    size_t n, len;
    char *text;

    cr_assert(eq(
        int, task_wire_leases_decode(body, sizeof(body) - 1, "leases", &l, &n),
        0));
    cr_assert(eq(u32, l[0].attempt, 3000000000U));
    text = task_wire_leases_encode("leases", l, n, &len);
    cr_assert(ne(ptr, text, NULL));
    cr_assert(
        eq(int, task_wire_leases_decode(text, len, "leases", &back, &n), 0),
        "refused: %s", text);
    cr_assert(eq(u32, back[0].attempt, 3000000000U));
    free(text);
    free(back);
    free(l);
    text = task_wire_results_encode(&r, 1, &len);
    cr_assert(eq(int, task_wire_results_decode(text, len, &doc, &rback, &n), 0),
              "refused: %s", text);
    cr_assert(eq(u32, rback[0].attempt, UINT32_MAX));
    free(text);
    free(rback);
    json_decref(doc);
}

Test(task_wire, results_round_trip_with_optional_strings)
{
    struct journal_result in[2] = {
        {.job = 1,
         .task = 2,
         .attempt = 3,
         .token = 1ULL << 62,
         .node = 77,
         .start = 1.25,
         .end = 2.5,
         .status = 5,
         .reason = "time limit",
         .out_path = "/o",
         .err_path = "/e",
         .err_tail = "bad \"x\"\n"},
        {.job = 1,
         .task = 3,
         .attempt = 1,
         .token = 9,
         .node = 77,
         .status = 143,
         .vacated = true},
    };
    struct journal_result *out;
    json_t *doc;
    size_t len, n;
    char *body = task_wire_results_encode(in, 2, &len);

    cr_assert(eq(int, task_wire_results_decode(body, len, &doc, &out, &n), 0));
    cr_assert(eq(sz, n, 2));
    cr_assert(eq(u64, out[0].token, in[0].token));
    cr_assert(eq(int, out[0].status, 5));
    cr_assert(eq(str, (char *)out[0].reason, "time limit"));
    cr_assert(eq(str, (char *)out[0].err_tail, "bad \"x\"\n"));
    cr_assert(eq(dbl, out[0].start, 1.25));
    cr_assert(out[1].reason == NULL);
    cr_assert(out[1].err_path == NULL);
    cr_assert(not(out[0].vacated));
    cr_assert(out[1].vacated);
    free(out);
    json_decref(doc);
    free(body);
}

Test(task_wire, pull_round_trip)
{
    struct task_wire_pull in = {3, 7, 2500}, out;
    size_t len;
    char *body = task_wire_pull_encode(&in, &len);

    cr_assert(eq(int, task_wire_pull_decode(body, len, &out), 0));
    cr_assert(eq(int, out.free_cores, 3));
    cr_assert(eq(int, out.want, 7));
    cr_assert(eq(int, out.speed, 2500));
    free(body);
}

struct task_wire_bad {
    char body[160];
};

Test(task_wire, acks_round_trip)
{
    struct task_wire_ack in[3] = {
        {.job = 1ULL << 62, .task = 0, .attempt = 1, .recorded = true},
        {.job = 7, .task = 12345678901ULL, .attempt = 4, .recorded = false},
        {.job = 2, .task = 1, .attempt = UINT32_MAX, .recorded = true},
    };
    struct task_wire_ack *out;
    size_t len, n;
    char *body = task_wire_acks_encode(in, 3, &len);

    cr_assert(body != NULL);
    cr_assert(eq(int, task_wire_acks_decode(body, len, &out, &n), 0));
    cr_assert(eq(sz, n, 3));
    for (size_t i = 0; i < n; i++) {
        cr_assert(eq(u64, out[i].job, in[i].job));
        cr_assert(eq(u64, out[i].task, in[i].task));
        cr_assert(eq(u32, out[i].attempt, in[i].attempt));
        cr_assert(eq(int, out[i].recorded, in[i].recorded));
    }
    free(out);
    free(body);
    body = task_wire_acks_encode(NULL, 0, &len);
    cr_assert(eq(str, body, "{\"acks\":[]}"));
    cr_assert(eq(int, task_wire_acks_decode(body, len, &out, &n), 0));
    cr_assert(eq(sz, n, 0));
    free(out);
    free(body);
}

ParameterizedTestParameters(task_wire, malformed_acks_are_refused)
{
    static struct task_wire_bad cases[] = {
        {""},
        {"{\"acks\": {}}"},
        {"{\"acks\": [{}]}"},
        {"{\"acks\": [{\"job\": 1, \"task\": \"1\", \"attempt\": 1,"
         " \"recorded\": true}]}"},
        {"{\"acks\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 0,"
         " \"recorded\": true}]}"},
        {"{\"acks\": [{\"job\": \"1\", \"task\": \"-2\", \"attempt\": 1,"
         " \"recorded\": true}]}"},
        {"{\"acks\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1,"
         " \"recorded\": 1}]}"},
        {"{\"acks\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1}]}"},
    };

    return cr_make_param_array(struct task_wire_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct task_wire_bad *c,
                  task_wire,
                  malformed_acks_are_refused)
{
    struct task_wire_ack *a = NULL;
    size_t n = 0;

    cr_assert(eq(int, task_wire_acks_decode(c->body, strlen(c->body), &a, &n),
                 SHOAL_EPROTO),
              "accepted: %s", c->body);
}

ParameterizedTestParameters(task_wire, malformed_bodies_are_refused)
{
    static struct task_wire_bad cases[] = {
        {""},
        {"{"},
        {"[]"},
        {"{\"leases\": 3}"},
        {"{\"leases\": [{}]}"},
        {"{\"leases\": [{\"job\": 1, \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"-1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 0,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"1x\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \" -1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"+1\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"\", \"cores\": 1, \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"18446744073709551616\", \"cores\": 1,"
         " \"expires\": 0}]}"},
        {"{\"leases\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"1\", \"cores\": 1, \"expires\": 0,"
         " \"started\": \"now\"}]}"},
        {"{\"results\": [{\"job\": \"1\", \"task\": \"1\", \"attempt\": 1,"
         " \"token\": \"1\", \"node\": \"1\", \"start\": 0, \"end\": 1,"
         " \"status\": 1, \"vacated\": 1}]}"},
    };

    return cr_make_param_array(struct task_wire_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct task_wire_bad *c,
                  task_wire,
                  malformed_bodies_are_refused)
{
    struct journal_lease *l = NULL;
    struct journal_result *r = NULL;
    struct task_wire_pull p;
    json_t *doc = NULL;
    size_t n = 0;

    cr_assert(
        eq(int,
           task_wire_leases_decode(c->body, strlen(c->body), "leases", &l, &n),
           SHOAL_EPROTO),
        "accepted: %s", c->body);
    cr_assert(eq(
        int, task_wire_results_decode(c->body, strlen(c->body), &doc, &r, &n),
        SHOAL_EPROTO));
    cr_assert(eq(int, task_wire_pull_decode(c->body, strlen(c->body), &p),
                 SHOAL_EPROTO));
}

Test(task_wire, a_grant_carries_each_task_command_and_its_job)
{
    struct journal_lease in[2] = {
        {.job = 3, .task = 7, .attempt = 2, .token = UINT64_MAX, .cores = 1},
        {.job = 3, .task = 8, .attempt = 1, .token = 5, .cores = 1},
    };
    json_t *jobs = json_pack("{s:{s:[s], s:s, s:f}}", "3", "env", "A=1", "wdir",
                             "/tmp", "time_limit", 2.5);
    json_t *argvs[2] = {json_pack("[s, s]", "echo", "7"),
                        json_pack("[s, s]", "echo", "8")};
    struct journal_lease *out = NULL;
    json_t *doc = NULL;
    size_t len, n = 0;
    char *body = task_wire_grant_encode(jobs, in, argvs, 2, &len);

    cr_assert(ne(ptr, body, NULL));
    cr_assert(eq(int, task_wire_grant_decode(body, len, &doc, &out, &n), 0),
              "refused: %s", body);
    cr_assert(eq(sz, n, 2));
    cr_assert(eq(u64, out[0].token, UINT64_MAX));
    cr_assert(eq(str,
                 (char *)json_string_value(
                     json_array_get(task_wire_grant_argv(doc, 1), 1)),
                 "8"));
    cr_assert(eq(str,
                 (char *)json_string_value(
                     json_object_get(task_wire_grant_desc(doc, 3), "wdir")),
                 "/tmp"));
    free(out);
    free(body);
    json_decref(doc);
    /* a lease whose job has no description is refused */
    json_object_del(jobs, "3");
    body = task_wire_grant_encode(jobs, in, argvs, 2, &len);
    cr_assert(eq(int, task_wire_grant_decode(body, len, &doc, &out, &n),
                 SHOAL_EPROTO));
    free(body);
    json_decref(jobs);
    json_decref(argvs[0]);
    json_decref(argvs[1]);
}

Test(task_wire, output_bytes_survive_base64)
{
    static const char *const cases[] = {"",    "a",    "ab",
                                        "abc", "abcd", "\xff\x00\x80 line\n"};
    static const size_t lens[] = {0, 1, 2, 3, 4, 9};

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *text = task_wire_b64_encode(cases[i], lens[i]), *back = NULL;
        size_t len = 0;

        cr_assert(ne(ptr, text, NULL));
        cr_assert(eq(int, task_wire_b64_decode(text, &back, &len), 0), "%s",
                  text);
        cr_assert(eq(sz, len, lens[i]), "%s", text);
        cr_assert(eq(int, memcmp(back, cases[i], len), 0), "%s", text);
        free(text);
        free(back);
    }
    char *back = NULL;
    size_t len;
    cr_assert(eq(int, task_wire_b64_decode("ab=c", &back, &len), SHOAL_EPROTO));
    cr_assert(eq(int, task_wire_b64_decode("abc", &back, &len), SHOAL_EPROTO));
}

Test(task_wire, a_fetch_names_the_request_and_both_files)
{
    struct task_wire_fetch in = {.req = 5,
                                 .out_path = "/d/jobs/3/task.7/stdout",
                                 .err_path = "/d/jobs/3/task.7/stderr"},
                           out;
    json_t *doc;
    size_t len;
    char *body = task_wire_fetch_encode(&in, &len);

    cr_assert(eq(str, body,
                 "{\"req\":5,\"stdout\":\"/d/jobs/3/task.7/stdout\","
                 "\"stderr\":\"/d/jobs/3/task.7/stderr\"}"));
    cr_assert(eq(sz, len, strlen(body)));
    cr_assert(eq(int, task_wire_fetch_decode(body, len, &doc, &out), 0));
    cr_assert(eq(u64, out.req, 5));
    cr_assert(eq(str, (char *)out.out_path, "/d/jobs/3/task.7/stdout"));
    cr_assert(eq(str, (char *)out.err_path, "/d/jobs/3/task.7/stderr"));
    cr_assert(eq(ptr, (void *)out.counters_path, NULL));
    json_decref(doc);
    free(body);
    /* and the counters file beside them, when asked for */
    in.counters_path = "/d/jobs/3/task.7/counters";
    body = task_wire_fetch_encode(&in, &len);
    cr_assert(eq(str, body,
                 "{\"req\":5,\"stdout\":\"/d/jobs/3/task.7/stdout\","
                 "\"stderr\":\"/d/jobs/3/task.7/stderr\","
                 "\"counters\":\"/d/jobs/3/task.7/counters\"}"));
    cr_assert(eq(int, task_wire_fetch_decode(body, len, &doc, &out), 0));
    cr_assert(eq(str, (char *)out.counters_path, "/d/jobs/3/task.7/counters"));
    json_decref(doc);
    free(body);
    /* without its files it still decodes, to be answered with an error */
    static const char bare[] = "{\"req\":9223372036854775807,\"stdout\":3}";
    cr_assert(
        eq(int, task_wire_fetch_decode(bare, strlen(bare), &doc, &out), 0));
    cr_assert(eq(u64, out.req, INT64_MAX));
    cr_assert(eq(ptr, (void *)out.out_path, NULL));
    cr_assert(eq(ptr, (void *)out.err_path, NULL));
    json_decref(doc);
}

Test(task_wire, a_fetched_carries_both_outputs_or_why_not)
{
    struct task_wire_fetched in = {.req = 7, .out = "aGk=", .err = ""}, out;
    json_t *doc;
    size_t len;
    char *body = task_wire_fetched_encode(&in, &len);

    cr_assert(eq(str, body, "{\"req\":7,\"stdout\":\"aGk=\",\"stderr\":\"\"}"));
    cr_assert(eq(int, task_wire_fetched_decode(body, len, &doc, &out), 0));
    cr_assert(eq(u64, out.req, 7));
    cr_assert(eq(str, (char *)out.out, "aGk="));
    cr_assert(eq(str, (char *)out.err, ""));
    cr_assert(eq(ptr, (void *)out.error, NULL));
    cr_assert(eq(ptr, (void *)out.counters, NULL));
    json_decref(doc);
    free(body);

    /* the counters go along with both outputs */
    in.counters = "YSAx";
    body = task_wire_fetched_encode(&in, &len);
    cr_assert(eq(str, body,
                 "{\"req\":7,\"stdout\":\"aGk=\",\"stderr\":\"\","
                 "\"counters\":\"YSAx\"}"));
    cr_assert(eq(int, task_wire_fetched_decode(body, len, &doc, &out), 0));
    cr_assert(eq(str, (char *)out.counters, "YSAx"));
    json_decref(doc);
    free(body);

    /* one output alone is no answer: it is sent, and read, as an error */
    in = (struct task_wire_fetched){
        .req = 8, .out = "aGk=", .error = "gone", .counters = "YSAx"};
    body = task_wire_fetched_encode(&in, &len);
    cr_assert(eq(str, body, "{\"req\":8,\"error\":\"gone\"}"));
    cr_assert(eq(int, task_wire_fetched_decode(body, len, &doc, &out), 0));
    cr_assert(eq(u64, out.req, 8));
    cr_assert(eq(ptr, (void *)out.out, NULL));
    cr_assert(eq(ptr, (void *)out.err, NULL));
    cr_assert(eq(str, (char *)out.error, "gone"));
    cr_assert(eq(ptr, (void *)out.counters, NULL));
    json_decref(doc);
    free(body);

    static const char half[] =
        "{\"req\":1,\"stderr\":\"aGk=\",\"error\":3,\"counters\":\"YSAx\"}";
    cr_assert(
        eq(int, task_wire_fetched_decode(half, strlen(half), &doc, &out), 0));
    cr_assert(eq(ptr, (void *)out.out, NULL));
    cr_assert(eq(ptr, (void *)out.err, NULL));
    cr_assert(eq(ptr, (void *)out.error, NULL));
    cr_assert(eq(ptr, (void *)out.counters, NULL));
    json_decref(doc);
}

ParameterizedTestParameters(task_wire, fetches_without_a_request_are_refused)
{
    static struct task_wire_bad cases[] = {
        {""},
        {"{"},
        {"[]"},
        {"\"req\""},
        {"{}"},
        {"{\"req\": null, \"stdout\": \"/a\", \"stderr\": \"/b\"}"},
        {"{\"req\": \"1\", \"stdout\": \"/a\", \"stderr\": \"/b\"}"},
        {"{\"req\": 0, \"stdout\": \"/a\", \"stderr\": \"/b\"}"},
        {"{\"req\": -1, \"stdout\": \"/a\", \"stderr\": \"/b\"}"},
        {"{\"req\": 1.0, \"stdout\": \"/a\", \"stderr\": \"/b\"}"},
        {"{\"req\": 18446744073709551615, \"stdout\": \"/a\"}"},
    };

    return cr_make_param_array(struct task_wire_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct task_wire_bad *c,
                  task_wire,
                  fetches_without_a_request_are_refused)
{
    struct task_wire_fetch f;
    struct task_wire_fetched a;
    json_t *doc = NULL;

    cr_assert(eq(int,
                 task_wire_fetch_decode(c->body, strlen(c->body), &doc, &f),
                 SHOAL_EPROTO),
              "accepted: %s", c->body);
    cr_assert(eq(int,
                 task_wire_fetched_decode(c->body, strlen(c->body), &doc, &a),
                 SHOAL_EPROTO),
              "accepted: %s", c->body);
    cr_assert(eq(ptr, doc, NULL));
}
