/* SPDX-License-Identifier: MIT */
/* task_cmd.c - a bag-of-tasks job's command line as JSON. */
#include "runtime/tasks/task_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *task_cmd_strings_json(char *const *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && v[i]; i++) {
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int task_cmd_pack(const struct task_cmd *cmd, json_t *obj)
{
    json_t *env, *argv = NULL;

    if (!json_is_object(obj) || !cmd->wdir || !cmd->env)
        return -EINVAL;
    env = task_cmd_strings_json(cmd->env);
    if (cmd->argv)
        argv = task_cmd_strings_json(cmd->argv);
    if (!env || (cmd->argv && !argv) || json_object_set_new(obj, "env", env) < 0
        || json_object_set_new(obj, "wdir", json_string(cmd->wdir)) < 0
        || json_object_set_new(obj, "time_limit", json_real(cmd->time_limit))
               < 0
        || (argv && json_object_set_new(obj, "argv", argv) < 0)
        || (cmd->mem > 0
            && json_object_set_new(obj, "mem",
                                   json_integer((json_int_t)cmd->mem))
                   < 0))
        return -ENOMEM;
    return 0;
}

static void task_cmd_strings_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The array of strings a, as a new NULL-terminated vector with room more
 * NULL slots. */
static int task_cmd_strings(const json_t *a,
                            const char *key,
                            size_t room,
                            char ***out,
                            size_t *n,
                            shoal_error_t *error)
{
    size_t count = json_array_size(a), i;
    char **v;
    json_t *s;

    if (!json_is_array(a))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: '%s' is not an array of "
                               "strings",
                               key);
    json_array_foreach (a, i, s) {
        if (!json_is_string(s))
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "task command: '%s' entry %zu is not a "
                                   "string",
                                   key, i);
    }
    v = calloc(count + room + 1, sizeof(*v));
    if (!v)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    json_array_foreach (a, i, s) {
        v[i] = strdup(json_string_value(s));
        if (!v[i]) {
            task_cmd_strings_free(v);
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        }
    }
    *out = v;
    if (n)
        *n = count;
    return 0;
}

int task_cmd_unpack(const json_t *obj,
                    enum task_cmd_argv argv,
                    size_t env_room,
                    struct task_cmd *cmd,
                    shoal_error_t *error)
{
    struct task_cmd c = {0};
    json_t *limit = json_object_get(obj, "time_limit");
    const char *wdir = json_string_value(json_object_get(obj, "wdir"));
    int rc;

    if (!json_is_object(obj))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: not a JSON object");
    if (argv == TASK_CMD_ARGV_REQUIRED
        && json_array_size(json_object_get(obj, "argv")) == 0)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: 'argv' is missing or empty");
    if (!wdir || wdir[0] != '/')
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: 'wdir' is not an absolute "
                               "path");
    if (limit && !json_is_number(limit))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: 'time_limit' is not a number");
    c.time_limit = limit ? json_number_value(limit) : 0;
    if (!isfinite(c.time_limit) || c.time_limit < 0)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: 'time_limit' is negative");
    if (json_object_get(obj, "mem")
        && (!json_is_integer(json_object_get(obj, "mem"))
            || json_integer_value(json_object_get(obj, "mem")) < 0))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "task command: 'mem' is not a number of "
                               "bytes");
    c.mem = (uint64_t)json_integer_value(json_object_get(obj, "mem"));
    rc = task_cmd_strings(json_object_get(obj, "env"), "env", env_room, &c.env,
                          &c.nenv, error);
    if (rc == 0 && argv == TASK_CMD_ARGV_REQUIRED)
        rc = task_cmd_strings(json_object_get(obj, "argv"), "argv", 0, &c.argv,
                              NULL, error);
    if (rc == 0) {
        c.wdir = strdup(wdir);
        if (!c.wdir)
            rc = shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    if (rc < 0) {
        task_cmd_release(&c);
        return rc;
    }
    *cmd = c;
    return 0;
}

void task_cmd_release(struct task_cmd *cmd)
{
    if (!cmd)
        return;
    task_cmd_strings_free(cmd->argv);
    task_cmd_strings_free(cmd->env);
    free(cmd->wdir);
    memset(cmd, 0, sizeof(*cmd));
}
