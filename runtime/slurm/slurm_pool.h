/* SPDX-License-Identifier: MIT */
/* slurm_pool.h - a private pool of shoal daemons over the nodes of a
 * Slurm allocation: kept for the allocation's life (the default: the
 * first `shoal run` starts it, the later ones and `shoal submit`'s tasks
 * use it), or for the life of one `shoal run` (SHOAL_SLURM_POOL=run).
 *
 * Open MPI's and MPICH's launchers start one daemon per node through
 * `srun` and wire the ranks up through it. shoal already has that daemon:
 * the pool's. So a job in an allocation runs on a pool made for it:
 *  - a home daemon on the launching machine (where salloc or the batch
 *    script runs, maybe a login node outside the allocation), lending no
 *    core, in a private directory with a fresh pool key;
 *  - one step `srun --overlap -N K --ntasks-per-node=1 --kill-on-bad-exit
 *    --cpu-bind=none shoal slurm-node HOME BASE`, one task per node, each
 *    running a node daemon named after its Slurm node (SLURMD_NODENAME)
 *    that joins the home daemon (slurm_node.h);
 *  - the job then goes to the home daemon exactly as with SHOAL_POOL, so
 *    placement, binding, stdin, signals, --timeout, exit codes and output
 *    are the pool's; the caller names the nodes and their slots with -H so
 *    that nothing lands outside the allocation or past its slots.
 * Stopping ends the step: srun passes SIGTERM to the node daemons, which
 * leave, and their directories go with them. A kept pool is watched by a
 * supervisor process of its own (`shoal slurm-pool`, detached), which
 * stops it when Slurm ends its step (the allocation ended), so its
 * lifetime is the allocation's: nothing of it outlives the allocation,
 * and no later command of the allocation pays its start again. Never ssh: srun
 * is the only way onto the nodes, so Slurm accounts for, confines and cleans up
 * everything that runs there.
 *
 * The daemons listen on the address the host name resolves to (a cluster's
 * node names resolve to their nodes), on ports the kernel reports free.
 * The pool key reaches the nodes in the step's environment
 * (SHOAL_SLURM_KEY), which only the user and root can read. */
#ifndef SHOAL_RUNTIME_SLURM_SLURM_POOL_H
#define SHOAL_RUNTIME_SLURM_SLURM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

struct slurm_pool_config {
    const char *shoal;  /* shoal's program, same path on every node */
    char *const *nodes; /* nnodes Slurm node names (borrowed) */
    int nnodes;
    const char *srun; /* NULL: "srun" from PATH */
    /* seconds for every node to join; <= 0: SHOAL_SLURM_START_TIMEOUT */
    double start_timeout;
    /* the home daemon's state directory, kept afterwards (a task
     * service's, whose journal outlives the pool), with the nodes' beside
     * it in HOME_DIR/slurm-nodes/node-NAME, kept too (the tasks' output
     * stays there); NULL: all inside the pool's private directory */
    const char *home_dir;
    /* the pool's private directory (key, logs, and the home daemon's
     * state in DIR/home unless home_dir is given), made here when missing
     * (mode 0700) and removed when the pool stops; NULL: a fresh one
     * under TMPDIR. A named one lets later commands find the pool
     * (slurm_pool_kept_dir()). */
    const char *dir;
};

typedef struct slurm_pool slurm_pool_t;

/* Start the home daemon and the step, and wait until the home daemon sees
 * a live daemon on every node. Returns 0 and sets *out, or a negative code
 * with error filled (naming what did not start, with the last lines srun
 * or a daemon said; SHOAL_EUSAGE for a bad SHOAL_SLURM_START_TIMEOUT),
 * and nothing left running or on disk. Not
 * thread-safe (it waits for its children). */
int slurm_pool_start(const struct slurm_pool_config *config,
                     slurm_pool_t **out,
                     shoal_error_t *error);

/* Start the pool (as slurm_pool_start()) for as long as the allocation
 * lasts, in a supervisor process of its own (detached, in a session of its
 * own), and return once it runs: for `shoal submit`, whose jobs outlive the
 * command. The supervisor stops the pool when its step ends (the
 * allocation ended or was cancelled), when the home daemon ends, or on
 * SIGTERM, SIGINT or SIGHUP. Returns 0, or a negative code with error
 * filled as slurm_pool_start() does (then nothing is left running). */
int slurm_pool_detach(const struct slurm_pool_config *config,
                      shoal_error_t *error);

/* Whether `shoal run` keeps the allocation's pool for the later ones
 * (SHOAL_SLURM_POOL=allocation, the default) or starts one of its own
 * (run): *keep set, 0 returned, or SHOAL_EUSAGE with error filled for
 * another value. */
int slurm_pool_keep_mode(bool *keep, shoal_error_t *error);

/* The pool kept in config->dir (slurm_pool_kept_dir()) for the
 * allocation: under the directory's lock, start it detached as
 * slurm_pool_detach() does, over config->nodes, unless its home daemon
 * answers already. Writes the home daemon's state directory (SHOAL_DIR for
 * the job's commands) into home. Returns 0, or a negative code with error
 * filled (as slurm_pool_detach(); -EPERM when the directory is not the
 * user's alone). config->home_dir must be NULL. */
int slurm_pool_use_kept(const struct slurm_pool_config *config,
                        char *home,
                        size_t size,
                        shoal_error_t *error);

/* The supervisor slurm_pool_detach() runs, as `shoal slurm-pool`: start
 * the pool, tell the parent through fd ("ok", or the error's text), then
 * wait for the step or the home daemon to end, or for SIGTERM, SIGINT or
 * SIGHUP, and stop the pool. Never returns. */
_Noreturn void slurm_pool_supervise(const struct slurm_pool_config *config,
                                    int fd);

/* The home daemon's state directory: SHOAL_DIR for the job's commands.
 * Borrowed for pool's life. */
const char *slurm_pool_dir(const slurm_pool_t *pool);

/* Stop the step and the home daemon, wait for them (at most a few
 * seconds, then SIGKILL), remove the directory, free pool. NULL is
 * accepted. */
void slurm_pool_stop(slurm_pool_t *pool);

/* Like slurm_pool_stop(), but returns at once: the step and the home
 * daemon are asked to end (SIGTERM), and a detached process (in a session
 * of its own, with none of the caller's descriptors) waits for them, up
 * to 10 s before SIGKILL, then removes the directory. Frees pool. The
 * caller's exit reaps srun and the daemon (they stay its children). */
void slurm_pool_stop_detached(slurm_pool_t *pool);

/* The private directory of the pool kept for allocation job_id, for the
 * effective user, under TMPDIR (or /tmp), into buf: every `shoal run` of
 * the allocation finds the pool there. Returns 0, or -ENAMETOOLONG. */
int slurm_pool_kept_dir(const char *job_id, char *buf, size_t size);

/* The IPv4 address this machine's name resolves to, as text into buf
 * (at least 16 bytes); 127.0.0.1 when the name does not resolve. */
void slurm_pool_host_addr(char *buf, size_t size);

/* A port free for both TCP and UDP on addr (text), as the kernel picks
 * one. Returns it, or a negative errno. */
int slurm_pool_free_port(const char *addr);

#endif
