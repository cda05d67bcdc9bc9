/* SPDX-License-Identifier: MIT */
/* spawn.h - start one process with its binding, environment, working
 * directory and standard streams set before its first instruction runs.
 *
 * The child binds itself before exec, so the program's main()
 * already runs on its cpuset (no window in which it runs elsewhere, unlike
 * binding a pid after the fact). A failure in the child (chdir, exec) is
 * reported to the parent through a close-on-exec pipe, so the caller learns
 * "permission denied" synchronously instead of seeing an exit status 127. */
#ifndef SHOAL_UTIL_SPAWN_H
#define SHOAL_UTIL_SPAWN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <shoal/error.h>

/* The user a child runs as: set in the child after fork and before
 * anything else that touches the file system (chdir, exec), so the working
 * directory and the program are checked with the user's rights. groups are
 * the supplementary groups (as initgroups(3) would set them; resolved by the
 * caller, since the child may only make system calls). */
struct spawn_user {
    uid_t uid;
    gid_t gid;
    const gid_t *groups; /* ngroups entries, or NULL for none */
    size_t ngroups;
    const char *name; /* for messages */
};

struct spawn_spec {
    const char *path;      /* program to execute (no PATH search) */
    char *const *argv;     /* NULL-terminated; argv[0] as the program sees */
    char *const *envp;     /* NULL-terminated environment */
    const char *wdir;      /* working directory, or NULL to inherit */
    const cpu_set_t *cpus; /* binding, or NULL to leave it unbound */
    int stdin_fd;          /* becomes fd 0 in the child */
    int stdout_fd;         /* becomes fd 1 */
    int stderr_fd;         /* becomes fd 2 */
    int keep_fd;           /* one more fd inherited as is (PMI_FD), or -1 */
    const struct spawn_user *user; /* switch to this user, or NULL: stay */
    /* cgroup.procs files (open for writing) the child joins before it
     * binds itself and execs: each gets "0" (the writer). A failed write
     * leaves the child where it is (the caller's cgroup). */
    const int *cgroup_fds;
    int ncgroup_fds;
    int nice;          /* 1..19: the child's nice value; 0: inherited */
    bool idle_io;      /* the child's I/O class idle (ioprio class 3) */
    bool idle_cpu;     /* the child's policy SCHED_IDLE: CPU time nothing else
                          wants */
    uint64_t as_limit; /* the child's RLIMIT_AS (address space) in bytes,
                          soft and hard; 0: inherited */
};

/* Start the process in a new process group of its own (so that signals to
 * the job reach its children too), set to be killed if the caller dies. Every
 * other descriptor of the caller must be close-on-exec. Returns 0 and sets
 * *pid, or a negative errno with error filled ("cannot execute 'a.out':
 * permission denied"; with a user, "cannot change to directory '/x' as
 * user 'nobody': permission denied"); then no process is left. Safe to call
 * from a program with signal handlers: the child runs with default dispositions
 * and an empty signal mask. */
int spawn_process(const struct spawn_spec *spec,
                  pid_t *pid,
                  shoal_error_t *error);

/* Resolve a program name as execvp(3) would: a name with '/' is taken
 * relative to wdir (or the current directory when wdir is NULL); else each
 * PATH entry is tried. Returns 0 and sets *path (caller frees), or -ENOENT,
 * -EACCES or -EISDIR (a directory) with error filled, naming the
 * program. */
int spawn_resolve(const char *program,
                  const char *wdir,
                  char **path,
                  shoal_error_t *error);

#endif
