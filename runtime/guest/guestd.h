/* SPDX-License-Identifier: MIT */
/* guestd.h - the limits of guest jobs in the node daemon: a cgroup per
 * job (guest_cgroup.h) made when the job's first process is about to
 * start on this node, and removed a second after its last one is gone
 * (what that one left behind is killed at once): a job of short tasks
 * keeps its cgroup from one task to the next.
 *
 * What is enforced (each where the controller is usable, v2 or v1):
 *   - the job's processes run on the PUs of the cores it was granted
 *     (cpuset), besides the binding each process has anyway;
 *   - a CPU weight below the default every other process has (10 vs 100;
 *     v1: cpu.shares 102 vs 1024), so under contention the owner's
 *     processes get the CPU first; weights are work-conserving, so a
 *     guest uses all it was lent while nobody else wants it;
 *   - a memory limit per job and the same limit for all guest jobs of the
 *     node together, without swap (v2 memory.swap.max 0; v1 memsw when
 *     swap accounting is on, else swappiness 0): a job over it is ended by
 *     the kernel's OOM killer inside its own cgroup, and the machine's
 *     other processes keep their memory;
 *   - when the job is done on this node, whatever is left in its cgroup
 *     is killed, and the cgroup removed.
 * Every mode of lending gets the same: a dedicated node keeps the cgroup
 * per job for accounting and cleanup, and the memory limit keeps a runaway
 * job from taking the node down. With --guest-limits off nothing of this
 * is done (jobs run in the daemon's cgroup, as before).
 *
 * What is missing on this machine is logged once at NOTICE when the
 * service attaches, and shown in the daemon's stats ("guest"). A job never
 * fails for a missing controller.
 *
 * Jobs are named by their callers ("gang-ID", "tasks-ID"); a job has
 * members (a proxy, or one task each), each holding some of this node's
 * cores (logical core indexes, as the core ledger gives them); the job's
 * cpuset is the union of its members' cores' PUs.
 *
 * Everything runs on the daemon's loop thread. */
#ifndef SHOAL_RUNTIME_GUEST_GUESTD_H
#define SHOAL_RUNTIME_GUEST_GUESTD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "runtime/daemon/daemon.h"

struct guestd_config {
    bool enabled;        /* --guest-limits on|off */
    const char *memory;  /* --guest-memory SIZE|PERCENT (guest_size_parse) */
    unsigned cpu_weight; /* --guest-cpu-weight, 1..10000 */
    const char *root;    /* cgroups' mount; NULL: /sys/fs/cgroup */
    /* a workstation lent while its owner is away (--lend desktop): guest
     * processes run SCHED_IDLE, so they take only CPU time nothing of
     * the owner's wants (a weight alone still takes a share of it) */
    bool idle_cpu;
};

/* Fill config from the defaults and the SHOAL_GUEST_* tunables. Returns
 * 0, or -EINVAL with error naming the bad tunable. The strings are
 * borrowed from the environment or static. */
int guestd_config_from_params(struct guestd_config *config,
                              shoal_error_t *error);

/* Set config's fields from option texts (NULL: keep): limits "on" or
 * "off", memory a size or percentage, cpu_weight an integer 1..10000.
 * Returns 0, or -EINVAL with error naming option and value. The memory
 * text is borrowed. */
int guestd_config_set(struct guestd_config *config,
                      const char *limits,
                      const char *memory,
                      const char *cpu_weight,
                      shoal_error_t *error);

typedef struct guestd guestd_t;

/* Find the cgroup controllers, make the daemon's subtree and log what is
 * not enforced; register the stats. With config->enabled false, nothing
 * is made and every job call below does nothing. Returns 0 and sets *out,
 * or a negative code with error filled (a bad memory size, out of
 * memory); then destroy d without running it. */
int guestd_attach(daemon_t *d,
                  const struct guestd_config *config,
                  guestd_t **out,
                  shoal_error_t *error);

/* Remove the jobs' cgroups that are empty and the daemon's subtree, and
 * free g. Jobs still ending (a proxy's ranks given their grace period)
 * are not killed: their cgroups stay until this daemon starts again,
 * which empties and removes them. Call after daemon_run() returned, before
 * daemon_destroy(). NULL is accepted. */
void guestd_detach(guestd_t *g);

/* Add member (the caller's key, unique within job) holding cores
 * (logical core indexes of this node; NULL: none in particular) to job,
 * making the job's cgroup if it is the first. Returns 0, or a negative
 * code when the cgroup could not be made (logged; the caller runs the
 * process outside it). Does nothing and returns 0 when no controller is
 * enforced. g NULL is accepted. */
int guestd_job_join(guestd_t *g,
                    const char *job,
                    uint64_t member,
                    hwloc_const_bitmap_t cores);

/* Take member out of job; when it was the last, kill what is left in the
 * job's cgroup, and remove the cgroup a second later unless a member
 * joined again (tried again while killed processes exit). g NULL is
 * accepted. */
void guestd_job_leave(guestd_t *g, const char *job, uint64_t member);

/* Move pid into job's cgroup. Returns 0 or a negative errno. */
int guestd_job_add(guestd_t *g, const char *job, pid_t pid);

/* Open job's cgroup.procs files for a child to join before exec
 * (guest_cgroup_job_procs_open()). Returns the count (0 when nothing is
 * enforced) or a negative errno. */
int guestd_job_procs_open(guestd_t *g, const char *job, int *fds, int max);

/* The OOM kills so far in job's cgroup into *count. Returns 0, or
 * -ENOTSUP when memory is not enforced. */
int guestd_job_oom_kills(guestd_t *g, const char *job, uint64_t *count);

/* job's memory cgroup directory into buf. Returns 0, or -ENOTSUP when
 * memory is not enforced. */
int guestd_job_memory_dir(guestd_t *g, const char *job, char *buf, size_t size);

/* The PUs the daemon sees (OS indexes as a list), when jobs get a cpuset
 * (their proxies then see only theirs); else NULL. Borrowed. */
const char *guestd_allowed_pus(const guestd_t *g);

/* The memory limit of each job in bytes, 0 when not enforced. */
uint64_t guestd_memory_limit(const guestd_t *g);

/* This node's name in the pool, for messages ("" before attach). */
const char *guestd_node_name(const guestd_t *g);

/* Whether tasks get nice 10 and the idle I/O class: limits are on. */
bool guestd_background(const guestd_t *g);

/* Whether guest processes run SCHED_IDLE (guestd_config.idle_cpu, with
 * the limits on). */
bool guestd_idle_cpu(const guestd_t *g);

#endif
