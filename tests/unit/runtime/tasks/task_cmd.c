/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/tasks/task_cmd.c: round trips with and without
 * argv, room in env, other keys left alone, and malformed command lines
 * refused with a message naming the field. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/tasks/task_cmd.h"

TestSuite(task_cmd, .timeout = 10);

static char *task_cmd_argv[] = {"echo", "{}", "with space", NULL};
static char *task_cmd_env[] = {"PATH=/bin", "EMPTY=", "X=a=b", NULL};

Test(task_cmd, a_command_line_round_trips)
{
    struct task_cmd in = {.argv = task_cmd_argv,
                          .env = task_cmd_env,
                          .wdir = "/work/dir",
                          .time_limit = 2.5};
    struct task_cmd out;
    json_t *obj = json_pack("{s:s, s:i}", "op", "task.submit", "cores", 2);
    shoal_error_t error = {{0}};

    cr_assert(eq(int, task_cmd_pack(&in, obj), 0));
    cr_assert(eq(int,
                 task_cmd_unpack(obj, TASK_CMD_ARGV_REQUIRED, 3, &out, &error),
                 0),
              "%s", error.text);
    for (size_t i = 0; i < 3; i++)
        cr_assert(eq(str, out.argv[i], task_cmd_argv[i]));
    cr_assert(eq(ptr, out.argv[3], NULL));
    cr_assert(eq(sz, out.nenv, 3));
    for (size_t i = 0; i < 3; i++)
        cr_assert(eq(str, out.env[i], task_cmd_env[i]));
    /* the room asked for, all NULL, and the terminator */
    for (size_t i = 3; i < 7; i++)
        cr_assert(eq(ptr, out.env[i], NULL), "env[%zu]", i);
    cr_assert(eq(str, out.wdir, "/work/dir"));
    cr_assert(eq(dbl, out.time_limit, 2.5));
    /* the other keys are left alone */
    cr_assert(eq(str, (char *)json_string_value(json_object_get(obj, "op")),
                 "task.submit"));
    cr_assert(eq(i64, json_integer_value(json_object_get(obj, "cores")), 2));
    task_cmd_release(&out);
    cr_assert(eq(ptr, out.argv, NULL));
    json_decref(obj);
}

Test(task_cmd, a_grant_desc_goes_without_argv)
{
    struct task_cmd in = {.env = task_cmd_env, .wdir = "/w"};
    struct task_cmd out;
    json_t *obj = json_object();

    cr_assert(eq(int, task_cmd_pack(&in, obj), 0));
    cr_assert(eq(ptr, json_object_get(obj, "argv"), NULL));
    cr_assert(
        eq(int, task_cmd_unpack(obj, TASK_CMD_ARGV_ABSENT, 0, &out, NULL), 0));
    cr_assert(eq(ptr, out.argv, NULL));
    cr_assert(eq(sz, out.nenv, 3));
    cr_assert(eq(dbl, out.time_limit, 0.0));
    task_cmd_release(&out);
    /* but a submit needs one */
    cr_assert(eq(int,
                 task_cmd_unpack(obj, TASK_CMD_ARGV_REQUIRED, 0, &out, NULL),
                 SHOAL_EPROTO));
    json_decref(obj);
}

Test(task_cmd, a_memory_limit_round_trips_and_none_is_left_out)
{
    struct task_cmd in = {
        .env = task_cmd_env, .wdir = "/w", .mem = (uint64_t)3 << 30};
    struct task_cmd out;
    json_t *obj = json_object();
    shoal_error_t error = {{0}};

    cr_assert(eq(int, task_cmd_pack(&in, obj), 0));
    cr_assert(
        eq(int, task_cmd_unpack(obj, TASK_CMD_ARGV_ABSENT, 0, &out, &error), 0),
        "%s", error.text);
    cr_assert(eq(u64, out.mem, (uint64_t)3 << 30));
    task_cmd_release(&out);
    json_decref(obj);
    in.mem = 0;
    obj = json_object();
    cr_assert(eq(int, task_cmd_pack(&in, obj), 0));
    cr_assert(eq(ptr, json_object_get(obj, "mem"), NULL),
              "a job without --mem has no 'mem'");
    json_decref(obj);
}

Test(task_cmd, pack_refuses_what_is_not_a_command_line)
{
    struct task_cmd no_wdir = {.env = task_cmd_env};
    struct task_cmd ok = {.env = task_cmd_env, .wdir = "/"};
    json_t *array = json_array(), *obj = json_object();

    cr_assert(eq(int, task_cmd_pack(&no_wdir, obj), -EINVAL));
    cr_assert(eq(int, task_cmd_pack(&ok, array), -EINVAL));
    json_decref(array);
    json_decref(obj);
}

/* Arrays, not pointers: the parameters are copied into the process that
 * runs the test. */
struct task_cmd_bad {
    char json[128];
    char why[32]; /* in the error text */
};

ParameterizedTestParameters(task_cmd, malformed_command_lines_are_refused)
{
    static struct task_cmd_bad cases[] = {
        {"[]", "not a JSON object"},
        {"{\"env\": [], \"wdir\": \"/\"}", "'argv'"},
        {"{\"argv\": [], \"env\": [], \"wdir\": \"/\"}", "'argv'"},
        {"{\"argv\": \"ls\", \"env\": [], \"wdir\": \"/\"}", "'argv'"},
        {"{\"argv\": [\"ls\", 3], \"env\": [], \"wdir\": \"/\"}",
         "'argv' entry 1"},
        {"{\"argv\": [\"ls\"], \"wdir\": \"/\"}", "'env'"},
        {"{\"argv\": [\"ls\"], \"env\": {}, \"wdir\": \"/\"}", "'env'"},
        {"{\"argv\": [\"ls\"], \"env\": [null], \"wdir\": \"/\"}",
         "'env' entry 0"},
        {"{\"argv\": [\"ls\"], \"env\": []}", "'wdir'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": \"rel\"}", "'wdir'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": 7}", "'wdir'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": \"/\", "
         "\"time_limit\": \"9\"}",
         "'time_limit'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": \"/\", "
         "\"time_limit\": -1}",
         "'time_limit'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": \"/\", \"mem\": -1}",
         "'mem'"},
        {"{\"argv\": [\"ls\"], \"env\": [], \"wdir\": \"/\", \"mem\": 1.5}",
         "'mem'"},
    };

    return cr_make_param_array(struct task_cmd_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct task_cmd_bad *c,
                  task_cmd,
                  malformed_command_lines_are_refused)
{
    json_t *obj = json_loads(c->json, 0, NULL);
    shoal_error_t error = {{0}};
    struct task_cmd out = {.wdir = (char *)"untouched"};

    cr_assert(ne(ptr, obj, NULL), "%s", c->json);
    cr_assert(eq(int,
                 task_cmd_unpack(obj, TASK_CMD_ARGV_REQUIRED, 3, &out, &error),
                 SHOAL_EPROTO),
              "%s", c->json);
    cr_assert(ne(ptr, strstr(error.text, c->why), NULL), "'%s' for %s",
              error.text, c->json);
    cr_assert(eq(str, out.wdir, "untouched"));
    json_decref(obj);
}
