/* SPDX-License-Identifier: MIT */
/* slurm_alloc.h - the Slurm allocation a command runs in: its nodes and
 * the ranks each may take, as Open MPI's launcher reads them.
 *
 * Inside `salloc` or `sbatch` (SLURM_JOB_ID set), the nodes come from
 * SLURM_JOB_NODELIST (Slurm's compressed host list, util/slurmlist.h) and
 * each node's slots from SLURM_TASKS_PER_NODE (the tasks asked with -n),
 * else SLURM_JOB_CPUS_PER_NODE ("2(x3),1"). SHOAL_SLURM=no makes shoal
 * ignore the allocation (the job then runs on the machine alone, or on a
 * pool's daemons).
 *
 * Pure but for the tunable: the environment is passed in; no I/O. */
#ifndef SHOAL_RUNTIME_SLURM_SLURM_ALLOC_H
#define SHOAL_RUNTIME_SLURM_SLURM_ALLOC_H

#include <shoal/error.h>

#include "util/hostlist.h"

struct slurm_alloc {
    char *job_id;   /* SLURM_JOB_ID (owned) */
    char *nodelist; /* SLURM_JOB_NODELIST as given, for messages (owned) */
    char **nodes;   /* nnodes names, NULL-terminated (owned) */
    int nnodes;
    int *slots; /* ranks each node may take (owned) */
    int total;  /* the sum of slots */
};

/* Read the allocation from env (NULL-terminated "NAME=value" strings, as
 * environ). Returns 1 and fills alloc (release with
 * slurm_alloc_release()) when the command runs in an allocation Slurm
 * describes and SHOAL_SLURM is auto; 0 when there is none (no
 * SLURM_JOB_ID) or SHOAL_SLURM=no (alloc zeroed); or SHOAL_EUSAGE with
 * error filled when SHOAL_SLURM is another value or the variables do not
 * describe an allocation (naming the variable and what is wrong in it),
 * or -ENOMEM. */
int slurm_alloc_read(char *const *env,
                     struct slurm_alloc *alloc,
                     shoal_error_t *error);

/* The hosts a job may use in alloc: every node with its slots when wanted
 * is NULL or empty, else wanted's hosts (-H, --hostfile), each of which
 * must be a node of the allocation, with the slots wanted gives it (a host
 * without slots gets the node's). Fills out (caller releases with
 * hostlist_release()). Returns 0, or SHOAL_ENOHOST with error naming the
 * host and the allocation, or -ENOMEM; out is then empty. */
int slurm_alloc_hosts(const struct slurm_alloc *alloc,
                      const struct hostlist *wanted,
                      struct hostlist *out,
                      shoal_error_t *error);

/* Free what alloc holds; a zeroed alloc is accepted. */
void slurm_alloc_release(struct slurm_alloc *alloc);

#endif
