/* SPDX-License-Identifier: MIT */
/* slurm_node.h - one node's daemon of a private pool over a Slurm
 * allocation (slurm_pool.h), as `shoal slurm-node` runs it in each task of
 * the pool's srun step.
 *
 * The daemon is named after the Slurm node (SLURMD_NODENAME, else the host
 * name), so -H with Slurm's node names places ranks on it even when
 * several nodes share one host (a test cluster); listens on the address
 * the host name resolves to, on a free port; keeps its state under
 * BASE/node-NAME, made here and removed afterwards; and joins the home
 * daemon at the seed address. */
#ifndef SHOAL_RUNTIME_SLURM_SLURM_NODE_H
#define SHOAL_RUNTIME_SLURM_SLURM_NODE_H

#include <shoal/error.h>

struct slurm_node_setup {
    char dir[4096];
    char key_path[4200];
    char listen[96];
    char name[256];
    /* the CPUs Slurm gave the step here ("0-3,8": the daemon's affinity)
     * when they are fewer than the machine's; "" for all */
    char cpus[1024];
};

/* Prepare this node's daemon under base: its directory, its key (from
 * SHOAL_SLURM_KEY, which is then removed from the environment), its name
 * and address. Also removes from the process environment what srun told
 * the step's task of itself (SLURM_STEP_*, SLURM_PROCID, SLURM_NTASKS,
 * ...), so the ranks the daemon starts do not take the daemons' step for
 * their job, and sets SHOAL_SPEED=1000 unless set (an allocation's nodes
 * are alike; no calibration at start), SHOAL_LEAVE_ROUNDS=0 (the pool
 * ends all at once), and TMPDIR to the node's
 * directory (so temporary files go with it). setup->cpus gets the CPUs
 * this process may run on (its affinity, within its cgroup's cpuset: what
 * Slurm gave the step) when they are not all of the machine's, so the
 * daemon places and binds ranks only there. Returns 0, or a negative code with
 * error filled. Changes the environment: call before any thread starts. */
int slurm_node_prepare(const char *base,
                       struct slurm_node_setup *setup,
                       shoal_error_t *error);

/* Remove the directory slurm_node_prepare() made, and all in it. */
void slurm_node_cleanup(const struct slurm_node_setup *setup);

#endif
