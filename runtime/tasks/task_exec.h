/* SPDX-License-Identifier: MIT */
/* task_exec.h - run the tasks of bag-of-tasks jobs on this node, on a libuv
 * loop.
 *
 * Each task is one process (its own process group, in the cgroups and at
 * the priority its spec names and bound to its cores before exec, killed
 * with the daemon by PR_SET_PDEATHSIG), stdin from
 * /dev/null, stdout and stderr into files `stdout` and `stderr` of its
 * output directory (truncated: a retry on the same node replaces them). A
 * time limit ends it with SIGTERM to its group, then SIGKILL after the
 * grace period; so does task_exec_kill(). Children are reaped on SIGCHLD.
 * task_exec_destroy() kills and reaps whatever still runs, so no process is
 * left behind. */
#ifndef SHOAL_RUNTIME_TASKS_TASK_EXEC_H
#define SHOAL_RUNTIME_TASKS_TASK_EXEC_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include <shoal/error.h>

#include "util/spawn.h"

/* Statuses of a task that did not end by its own exit, as shells and
 * `shoal run` give them. */
enum task_exec_status {
    TASK_EXEC_STATUS_CANNOT_RUN = 126, /* found, but it could not be run */
    TASK_EXEC_STATUS_NOT_FOUND = 127,  /* no such program */
    TASK_EXEC_STATUS_SIGNALED = 128,   /* + the signal */
};

/* The status of a task that could not be started for code (a negative
 * errno): 127 when the program does not exist, 126 otherwise. */
int task_exec_status_not_run(int code);

struct task_exec_spec {
    uint64_t key;          /* the caller's name for it, given back */
    const char *path;      /* resolved program */
    char *const *argv;     /* NULL-terminated */
    char *const *envp;     /* NULL-terminated */
    const char *wdir;      /* or NULL */
    const cpu_set_t *cpus; /* or NULL: unbound */
    const char *out_dir;   /* created if missing */
    double time_limit;     /* seconds, 0 for none */
    /* the user the task runs as, or NULL: the caller's; out_dir and the
     * output files are then the user's (out_dir mode 0700) */
    const struct spawn_user *user;
    /* cgroup.procs files the task joins before exec (util/spawn.h), and
     * whether it runs in the background (nice 10, idle I/O class) */
    const int *cgroup_fds;
    int ncgroup_fds;
    bool background;
    bool idle_cpu; /* and SCHED_IDLE (a lent workstation) */
    /* the task's memory limit in bytes, 0 for none: its address space
     * (RLIMIT_AS), so an allocation past it fails; a task that fails
     * under it gets a reason naming the limit */
    uint64_t mem_limit;
};

/* How a task ended. Strings are borrowed for the duration of the
 * callback. */
struct task_exec_result {
    uint64_t key;
    int status;         /* exit status, or 128 + signal */
    const char *reason; /* "time limit", "killed", "signal 11", or NULL */
    double start, end;  /* seconds since the epoch */
    const char *out_path, *err_path;
    const char *err_tail; /* the end of stderr when status != 0, or NULL */
};

struct task_exec;

typedef void task_exec_done_f(const struct task_exec_result *result, void *arg);

/* Make an executor on loop; done is called once per started task when it
 * has ended and been reaped. Returns 0 and sets *out, or a negative code. */
int task_exec_create(uv_loop_t *loop,
                     double kill_grace,
                     task_exec_done_f *done,
                     void *arg,
                     struct task_exec **out);

/* Kill (SIGKILL) and reap every task still running without calling done,
 * then release x once its handles are closed (the loop must run). NULL is
 * accepted. */
void task_exec_destroy(struct task_exec *x);

/* Start a task. Returns 0 (done will be called), or a negative code with
 * error filled naming the program ("cannot execute 'a.out': permission
 * denied"); then nothing runs and done is not called. */
int task_exec_start(struct task_exec *x,
                    const struct task_exec_spec *spec,
                    shoal_error_t *error);

/* End the task key: SIGTERM to its group, SIGKILL after the grace period.
 * Its result still comes through done, with reason "killed". Returns 0 or
 * -ENOENT. */
int task_exec_kill(struct task_exec *x, uint64_t key);

/* Number of tasks running. */
size_t task_exec_running(const struct task_exec *x);

#endif
