/* SPDX-License-Identifier: MIT */
/* owner_procs.h - the processes of the jobs this node's daemon runs, found
 * in /proc, so the owner's policy can stop, continue and end them and
 * tell their CPU time from the owner's.
 *
 * Method: every job process on this node descends from the daemon. Task
 * processes are its children (runtime/tasks/task_exec, each in a process
 * group of its own); gang ranks are children of the job's proxy (`shoal
 * proxy`, a child of the daemon running the daemon's own program, see
 * runtime/job/gangd), each rank in a process group of its own. So the job
 * processes are the descendants of the daemon found by following the
 * parent pids of /proc/PID/stat, less the proxies themselves (children of
 * the daemon whose /proc/PID/exe is the daemon's program): a proxy must
 * keep relaying its job's frames and answering its home while its ranks
 * are stopped. A process that left the tree (a double fork to init) is
 * not found: a job that daemonizes escapes, as it escapes its process
 * group. A walk of /proc is not atomic, so a caller that must reach every
 * process (stop all) walks again until no new one shows up.
 *
 * Reads /proc only; pure otherwise; not thread-safe (readdir). */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_PROCS_H
#define SHOAL_RUNTIME_OWNER_OWNER_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct owner_proc {
    pid_t pid;
    pid_t ppid;
    char state;     /* /proc/PID/stat's: 'R', 'S', 'T', 'Z', ... */
    bool helper;    /* a proxy of the daemon: shoal's own, not a job's */
    uint64_t ticks; /* utime + stime + cutime + cstime, in clock ticks */
};

/* The descendants of root (root excluded) into *out (caller frees with
 * free()) and *n. Returns 0, or -ENOMEM, or -errno when /proc cannot be
 * read. */
int owner_procs_list(pid_t root, struct owner_proc **out, size_t *n);

/* The CPU time of pid and its reaped children (utime + stime + cutime +
 * cstime, clock ticks) into *ticks. Returns 0 or -errno (-ENOENT: gone). */
int owner_procs_ticks(pid_t pid, uint64_t *ticks);

/* Send sig to every job process under root (helpers spared), walking
 * /proc again until a walk finds no process it had not signalled (at most
 * a few walks): a process forked by a job during a walk is reached by the
 * next. With skip_state non-zero, processes already in that state (e.g.
 * 'T' for SIGSTOP) are not signalled again. Returns the number of
 * processes signalled, or a negative errno. */
int owner_procs_signal(pid_t root, int sig, char skip_state);

/* For every job process under root whose environment names a checkpoint
 * directory (SHOAL_CKPT_DIR, set for every rank of a gang job), write
 * request ("exit" or "checkpoint") into that directory's REQUEST file
 * (atomically: a temporary file renamed), once per directory. Returns
 * the number of directories written, or a negative errno. */
int owner_procs_request_ckpt(pid_t root, const char *request);

/* Send sig to every job process under root that cannot be asked to
 * checkpoint (no SHOAL_CKPT_DIR in its environment), in one walk.
 * Returns the number of processes signalled, or a negative errno. */
int owner_procs_signal_unasked(pid_t root, int sig);

#endif
