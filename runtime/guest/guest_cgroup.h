/* SPDX-License-Identifier: MIT */
/* guest_cgroup.h - the control groups of guest jobs on this node: one per
 * job, under a "shoal" subtree of the daemon's own cgroup, limiting the
 * job to the cores it was granted, below the owner's CPU weight, and to a
 * share of the memory without swap.
 *
 * Layout. For each controller the daemon's own cgroup is read from
 * /proc/self/cgroup (v2: the "0::" line; v1: the line naming the
 * controller), so the daemon stays where its supervisor put it, and the
 * jobs go below it:
 *
 *   OWN/shoal/NAME/JOB      NAME: this daemon (its node id), JOB: the job
 *
 * The daemon's subtree (OWN/shoal/NAME) carries the memory limit too, so
 * all guest jobs together stay within it, and the CPU weight, so they
 * compete with the owner's processes as one small group.
 *
 * Backends, chosen per controller at open time:
 *   - cgroup v2 (ROOT/cgroup.controllers, or ROOT/unified on a hybrid
 *     mount, lists the controller): cpuset.cpus, cpu.weight, memory.max,
 *     memory.swap.max = 0, memory.events' oom_kill, cgroup.kill. The
 *     no-internal-processes rule: controllers are enabled in
 *     cgroup.subtree_control of OWN and of each level below; when OWN
 *     holds processes (EBUSY) and move_self is set, the daemon moves itself
 *     into the leaf OWN/daemon first.
 *   - cgroup v1 (ROOT/memory, ROOT/cpu, ROOT/cpuset are v1 hierarchies):
 *     memory.limit_in_bytes, memory.memsw.limit_in_bytes when present,
 *     memory.oom_control's oom_kill, cpu.shares (weight x 1024 / 100),
 *     cpuset.cpus and cpuset.mems (copied from the parent). There is no
 *     cgroup.kill: processes are killed by pid from cgroup.procs.
 * A controller that is in neither, or whose subtree cannot be created or
 * written (no permission, no delegation), is not enforced: open says so
 * in one text (guest_cgroup_missing()) and the rest goes on. Nothing here
 * fails a job for a missing controller.
 *
 * Only the job's own cgroup.procs is ever read to signal processes, so
 * no process outside a job's cgroup (the owner's) is touched.
 *
 * ROOT is a parameter so that the module runs against a made-up tree in
 * a directory (files are opened with O_CREAT, which cgroupfs accepts for
 * its existing files). Not thread-safe; no I/O besides the files named. */
#ifndef SHOAL_RUNTIME_GUEST_GUEST_CGROUP_H
#define SHOAL_RUNTIME_GUEST_GUEST_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hwloc.h>

#include <shoal/error.h>

enum guest_backend {
    GUEST_BACKEND_NONE = 0,
    GUEST_BACKEND_V1 = 1,
    GUEST_BACKEND_V2 = 2,
};

enum guest_controller {
    GUEST_CTL_MEMORY,
    GUEST_CTL_CPU,
    GUEST_CTL_CPUSET,
    GUEST_CTL_COUNT,
};

enum guest_limit {
    /* the defaults of the kernel for a process that asks for nothing */
    GUEST_CPU_WEIGHT_DEFAULT = 100, /* v2 cpu.weight; v1 cpu.shares 1024 */
    GUEST_CPU_WEIGHT_MAX = 10000,
    GUEST_NAME_MAX = 64,
};

/* "memory", "cpu", "cpuset". */
const char *guest_controller_name(enum guest_controller ctl);

/* "none", "v1", "v2". */
const char *guest_backend_name(enum guest_backend backend);

/* Parse a memory size: a number of bytes with an optional suffix K, M, G
 * or T (powers of 1024, optionally followed by "i" and/or "B", any case),
 * or a percentage of ram ("80%", fractions allowed, above 0 and at most
 * 100). Returns 0 and sets *bytes, or -EINVAL with error naming text. A
 * size of 0 is an error: no limit is said with --guest-limits off. */
int guest_size_parse(const char *text,
                     uint64_t ram,
                     uint64_t *bytes,
                     shoal_error_t *error);

/* The v1 cpu.shares of a v2 cpu.weight (1..10000): weight x 1024 / 100,
 * at least 2 (the kernel's minimum). */
unsigned guest_cpu_shares(unsigned weight);

/* The path (from the hierarchy's root, e.g. "/user.slice") of this
 * process's cgroup in the text of /proc/self/cgroup: of the v2 hierarchy
 * (the "0::" line) when controller is NULL, else of the v1 hierarchy
 * whose controller list names it. Returns 0, -ENOENT when no line
 * matches, or -ENAMETOOLONG. */
int guest_self_path(const char *proc_cgroup,
                    const char *controller,
                    char *path,
                    size_t size);

/* The "oom_kill N" counter in the text of memory.events (v2) or
 * memory.oom_control (v1). Returns 0, or -ENOENT when absent. */
int guest_oom_kills_parse(const char *text, uint64_t *count);

/* A job's memory cgroup directory as the process inside it sees it:
 * the OOM kills so far and the limit in bytes (0: none), from either
 * backend's files. Returns 0, or a negative errno when dir has neither. */
int guest_memory_read(const char *dir, uint64_t *oom_kills, uint64_t *limit);

struct guest_cgroup_config {
    const char *root;        /* where cgroups are mounted: /sys/fs/cgroup */
    const char *self_cgroup; /* the text of /proc/self/cgroup */
    const char *name;        /* this daemon's subtree, e.g. its node id */
    pid_t self;              /* the daemon, for move_self */
    bool move_self;          /* v2: move into OWN/daemon if OWN is busy */
    uint64_t memory;         /* bytes for all guest jobs together; 0 none */
    unsigned cpu_weight;     /* 1..10000; 0: the kernel's default */
};

struct guest_job_limits {
    uint64_t memory;          /* bytes; 0: none */
    unsigned cpu_weight;      /* 1..10000; 0: the kernel's default */
    hwloc_const_bitmap_t pus; /* OS indexes of the PUs; NULL: the parent's */
};

typedef struct guest_cgroup guest_cgroup_t;

/* Find each controller, create the daemon's subtree and set its limits.
 * A controller that cannot be used is described in guest_cgroup_missing()
 * and left alone. Leftovers of an earlier daemon of the same name (jobs'
 * cgroups) are emptied (SIGKILL) and removed. Returns 0 and sets *out
 * (free with guest_cgroup_close()), or -ENOMEM / -EINVAL (a bad name)
 * with error filled. */
int guest_cgroup_open(const struct guest_cgroup_config *config,
                      guest_cgroup_t **out,
                      shoal_error_t *error);

/* Remove the job cgroups that are empty, then the daemon's subtree if it
 * is, and free g; a job's processes still ending keep their cgroup until
 * the next open (which kills what is left). NULL is accepted. */
void guest_cgroup_close(guest_cgroup_t *g);

/* The backend enforcing ctl, NONE when it is not enforced. */
enum guest_backend guest_cgroup_backend(const guest_cgroup_t *g,
                                        enum guest_controller ctl);

/* What is not enforced and why, in one line ("" when everything is);
 * borrowed, valid until close. */
const char *guest_cgroup_missing(const guest_cgroup_t *g);

/* Create job's cgroup (name: letters, digits, '-', '_', '.'; at most
 * GUEST_NAME_MAX) with limits, in every enforced controller. An existing
 * one is reused and its limits set again. Returns 0, or a negative errno
 * with error filled; a failure of one controller fails the call (the
 * controller worked at open time, so it is not a missing feature). */
int guest_cgroup_job_create(guest_cgroup_t *g,
                            const char *job,
                            const struct guest_job_limits *limits,
                            shoal_error_t *error);

/* Set job's cpuset to pus (OS indexes; NULL or empty: the parent's).
 * Returns 0, or a negative errno. */
int guest_cgroup_job_set_pus(guest_cgroup_t *g,
                             const char *job,
                             hwloc_const_bitmap_t pus);

/* Move process pid (all its threads) into job's cgroup. Returns 0, or
 * the first negative errno (the other controllers are still tried). */
int guest_cgroup_job_add(guest_cgroup_t *g, const char *job, pid_t pid);

/* Open job's cgroup.procs files for writing, close-on-exec, one per
 * distinct directory (v2: one; v1: one per hierarchy), into fds (room for
 * max). A child writes "0" to each to join the cgroup before exec.
 * Returns the number opened (caller closes them), or a negative errno. */
int guest_cgroup_job_procs_open(guest_cgroup_t *g,
                                const char *job,
                                int *fds,
                                int max);

/* The OOM kills in job's cgroup so far. Returns 0, or a negative errno
 * (-ENOTSUP when memory is not enforced). */
int guest_cgroup_job_oom_kills(guest_cgroup_t *g,
                               const char *job,
                               uint64_t *count);

/* The directory of job's cgroup for ctl into buf. Returns 0, -ENOTSUP
 * (ctl not enforced) or -ENAMETOOLONG. */
int guest_cgroup_job_dir(const guest_cgroup_t *g,
                         const char *job,
                         enum guest_controller ctl,
                         char *buf,
                         size_t size);

/* SIGKILL every process in job's cgroup (v2: cgroup.kill; v1: each pid
 * in cgroup.procs, read again until none is new). Returns the number of
 * processes signalled by pid (0 with cgroup.kill), or a negative errno. */
int guest_cgroup_job_kill(guest_cgroup_t *g, const char *job);

/* Remove job's cgroup. Returns 0 (also when it does not exist), -EBUSY
 * while processes are still in it (killed ones take a moment to exit:
 * try again), or another negative errno. */
int guest_cgroup_job_remove(guest_cgroup_t *g, const char *job);

#endif
