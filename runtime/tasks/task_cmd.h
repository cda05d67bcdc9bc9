/* SPDX-License-Identifier: MIT */
/* task_cmd.h - a bag-of-tasks job's command line as JSON: what each of
 * its tasks runs, where and with what.
 *
 * One codec for every place the command line is written or read: the
 * submit request `shoal submit` sends, the job's description the home
 * keeps in its journal, and the DESC of a GRANT (task_wire.h) that tells
 * a worker on another node how to run a home's tasks. As JSON the fields
 * are keys of an object that may hold others (the request's "op", the
 * job's "spec"), which the codec leaves alone:
 *
 *   "argv"        [S...]  the command template, '{}' placeholders and
 *                         all (taskgen.h); absent in a GRANT's DESC,
 *                         whose leases carry each task's expanded argv
 *   "env"         [S...]  the submitter's environment, "NAME=value"
 *   "wdir"        S       the directory the tasks run in, absolute
 *   "time_limit"  T       seconds a task may run; 0 for no limit
 *   "mem"         N       bytes of address space each task may have
 *                         (RLIMIT_AS); absent or 0 for no limit
 *
 * Decoding trusts nothing (a request comes from any process of the user,
 * a DESC from another node): a wrong type, an empty argv, a relative
 * wdir, a negative or non-finite limit or a "mem" that is not a
 * non-negative integer is
 * SHOAL_EPROTO with a message naming the field. Pure; thread-safe. */
#ifndef SHOAL_RUNTIME_TASKS_TASK_CMD_H
#define SHOAL_RUNTIME_TASKS_TASK_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <shoal/error.h>

struct task_cmd {
    char **argv; /* NULL-terminated; NULL when the JSON had none */
    char **env;  /* NULL-terminated, with room for env_room more */
    size_t nenv; /* entries in env, the room not counted */
    char *wdir;
    double time_limit;
    uint64_t mem; /* bytes per task, 0 for no limit */
};

/* Whether task_cmd_unpack() requires "argv". */
enum task_cmd_argv {
    TASK_CMD_ARGV_REQUIRED,
    TASK_CMD_ARGV_ABSENT, /* a GRANT's DESC: any "argv" is ignored */
};

/* Set cmd's fields as keys of obj (a JSON object, borrowed), replacing
 * keys of those names; argv is left out when cmd->argv is NULL. cmd's
 * strings are copied. Returns 0, -EINVAL when obj is not an object or a
 * field is missing (wdir NULL, env NULL), or -ENOMEM (obj may then hold
 * some of the keys). */
int task_cmd_pack(const struct task_cmd *cmd, json_t *obj);

/* Decode the command line in obj (borrowed) into *cmd, whose strings are
 * new (free with task_cmd_release()); env gets env_room spare NULL slots
 * after its entries, for variables the caller adds per task. Returns 0,
 * or SHOAL_EPROTO with error (may be NULL) filled, naming the field, or
 * -ENOMEM; *cmd is then untouched. */
int task_cmd_unpack(const json_t *obj,
                    enum task_cmd_argv argv,
                    size_t env_room,
                    struct task_cmd *cmd,
                    shoal_error_t *error);

/* Free what task_cmd_unpack() made; the fields are zeroed. NULL is
 * accepted. Not for a struct the caller filled itself. */
void task_cmd_release(struct task_cmd *cmd);

#endif
