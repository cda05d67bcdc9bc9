/* SPDX-License-Identifier: MIT */
/* env.h - the environment a rank starts with.
 *
 * A rank inherits the launcher's environment, less anything that would make
 * it believe it runs under another launcher (PMI_*, PMIX_*), plus the -x
 * settings, plus its identity: PMI_FD/PMI_RANK/PMI_SIZE for the PMI-1
 * client of its MPI library, and SHOAL_RANK, SHOAL_SIZE, SHOAL_LOCAL_RANK,
 * SHOAL_LOCAL_SIZE for scripts, MPI_LOCALRANKID and MPI_LOCALNRANKS as Hydra
 * sets them. A job with checkpoints (SHOAL_CKPT_ROOT=DIR in its
 * environment) gives each rank SHOAL_CKPT_DIR=DIR/rankN, N its global rank.
 * The shared part is built once per job. */
#ifndef SHOAL_RUNTIME_JOB_ENV_H
#define SHOAL_RUNTIME_JOB_ENV_H

struct env_block {
    char **vars; /* NULL-terminated; strings borrowed or owned (owned) */
    int count;
    char **owned; /* strings this block allocated */
    int nowned;
};

/* Build the shared environment from base (e.g. environ) and the -x list
 * (NULL-terminated "VAR" or "VAR=value"; may be NULL): "VAR=value" sets or
 * replaces VAR, "VAR" keeps VAR as inherited. Returns 0 or -ENOMEM. */
int env_block_init(struct env_block *block,
                   char *const *base,
                   char *const *extra);
void env_block_release(struct env_block *block);

/* Make one rank's environment: the block plus its identity. *envp is
 * NULL-terminated; free it with env_block_free_rank() (the block must
 * outlive it). Returns 0 or -ENOMEM. */
int env_block_for_rank(const struct env_block *block,
                       int rank,
                       int size,
                       int local_rank,
                       int local_size,
                       int pmi_fd,
                       char ***envp);
void env_block_free_rank(char **envp);

/* The environment a job takes to the pool's nodes, as srun exports it:
 * base (e.g. environ) less another launcher's wire-up (PMI_*, PMIX_*)
 * and what Slurm says of the launcher's own node and step (SLURMD_NODENAME,
 * SLURM_NODEID, SLURM_PROCID, SLURM_STEP_*, ...: a node's daemon started
 * by srun gives its ranks its own),
 * then the -x list extra (nextra entries), each resolved here as Open MPI
 * does: "VAR=value" as it is, "VAR" as base's "VAR=value" (nothing when
 * base has no VAR). Sets *out to a NULL-terminated array of strings
 * borrowed from base and extra (caller frees the array with free()) and
 * returns 0, or returns -ENOMEM. */
int env_export(char *const *base, char *const *extra, int nextra, char ***out);

/* A rank's counters file, where libshoal-papi.so (`shoal bench run`)
 * appends the counts of the rank's processes: its path is the value of
 * ENV_RANK_COUNTERS in the rank's environment. */
#define ENV_RANK_COUNTERS "SHOAL_RANK_COUNTERS"

/* env (NULL: empty) with var added at its end: a new NULL-terminated
 * array of the same pointers, borrowed (caller frees the array alone with
 * free()). NULL when out of memory. */
char **env_append_one(char *const *env, char *var);

#endif
