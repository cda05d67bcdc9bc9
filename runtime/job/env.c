/* SPDX-License-Identifier: MIT */
/* env.c - build the environment of each rank. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/job/env.h"

/* Variables a rank must not inherit: they would point its MPI library at
 * a launcher that is not ours, or contradict its identity. */
static bool env_is_launcher_var(const char *var)
{
    static const char *const prefixes[] = {
        "PMI_",
        "PMIX_",
        "SHOAL_RANK=",
        "SHOAL_SIZE=",
        "SHOAL_LOCAL_RANK=",
        "SHOAL_LOCAL_SIZE=",
        "MPI_LOCALRANKID=",
        "MPI_LOCALNRANKS=",
    };

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(var, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static size_t env_name_len(const char *var)
{
    return strcspn(var, "=");
}

static int env_block_find(const struct env_block *block, const char *var)
{
    size_t len = env_name_len(var);

    for (int i = 0; i < block->count; i++)
        if (env_name_len(block->vars[i]) == len
            && strncmp(block->vars[i], var, len) == 0)
            return i;
    return -1;
}

int env_block_init(struct env_block *block,
                   char *const *base,
                   char *const *extra)
{
    int nbase = 0, nextra = 0;

    memset(block, 0, sizeof(*block));
    while (base && base[nbase])
        nbase++;
    while (extra && extra[nextra])
        nextra++;
    block->vars = calloc((size_t)(nbase + nextra + 1), sizeof(char *));
    block->owned = calloc((size_t)(nextra + 1), sizeof(char *));
    if (!block->vars || !block->owned)
        goto error;
    for (int i = 0; i < nbase; i++)
        if (!env_is_launcher_var(base[i]))
            block->vars[block->count++] = base[i];
    for (int i = 0; i < nextra; i++) {
        int at;
        char *copy;

        /* "VAR" alone exports the inherited value, already present */
        if (!strchr(extra[i], '='))
            continue;
        copy = strdup(extra[i]);
        if (!copy)
            goto error;
        block->owned[block->nowned++] = copy;
        at = env_block_find(block, copy);
        if (at >= 0)
            block->vars[at] = copy;
        else
            block->vars[block->count++] = copy;
    }
    return 0;
error:
    env_block_release(block);
    return -ENOMEM;
}

void env_block_release(struct env_block *block)
{
    for (int i = 0; i < block->nowned; i++)
        free(block->owned[i]);
    free(block->owned);
    free(block->vars);
    memset(block, 0, sizeof(*block));
}

enum { ENV_RANK_VARS = 9, ENV_RANK_TEXT = 9 * 40 };

int env_block_for_rank(const struct env_block *block,
                       int rank,
                       int size,
                       int local_rank,
                       int local_size,
                       int pmi_fd,
                       char ***envp)
{
    /* a job with checkpoints gives each rank a directory of its own */
    int root_at = env_block_find(block, "SHOAL_CKPT_ROOT=");
    const char *root =
        root_at >= 0 ? block->vars[root_at] + strlen("SHOAL_CKPT_ROOT=") : NULL;
    size_t root_text = root ? strlen(root) + 48 : 0;
    size_t nptr = (size_t)block->count + ENV_RANK_VARS + 2;
    char **vars = malloc(nptr * sizeof(char *) + ENV_RANK_TEXT + root_text);
    char *text;
    int n = block->count;
    const struct {
        const char *name;
        int value;
    } identity[ENV_RANK_VARS] = {
        {"PMI_FD", pmi_fd},
        {"PMI_RANK", rank},
        {"PMI_SIZE", size},
        {"SHOAL_RANK", rank},
        {"SHOAL_SIZE", size},
        {"SHOAL_LOCAL_RANK", local_rank},
        {"SHOAL_LOCAL_SIZE", local_size},
        /* what Hydra sets; libraries read them to pick a GPU or NIC */
        {"MPI_LOCALRANKID", local_rank},
        {"MPI_LOCALNRANKS", local_size},
    };

    if (!vars)
        return -ENOMEM;
    /* pointers and the text they point to share one allocation */
    text = (char *)(vars + nptr);
    memcpy(vars, block->vars, (size_t)block->count * sizeof(char *));
    for (int i = 0; i < ENV_RANK_VARS; i++) {
        int len = sprintf(text, "%s=%d", identity[i].name, identity[i].value);
        vars[n++] = text;
        text += len + 1;
    }
    if (root) {
        int at = env_block_find(block, "SHOAL_CKPT_DIR=");
        int len = sprintf(text, "SHOAL_CKPT_DIR=%s/rank%d", root, rank);

        if (at >= 0) /* the launcher's own, from an enclosing job */
            vars[at] = text;
        else
            vars[n++] = text;
        text += len + 1;
    }
    vars[n] = NULL;
    *envp = vars;
    return 0;
}

void env_block_free_rank(char **envp)
{
    free(envp);
}

/* What Slurm tells a process of the node and the step it runs in: each
 * node's daemon has its own (started by srun), so the launcher's values
 * would tell ranks elsewhere they run where the launcher does. */
static bool env_is_slurm_node_var(const char *var)
{
    static const char *const prefixes[] = {
        "SLURMD_NODENAME=", "SLURM_NODEID=",      "SLURM_TOPOLOGY_ADDR",
        "SLURM_LOCALID=",   "SLURM_PROCID=",      "SLURM_TASK_PID=",
        "SLURM_GTIDS=",     "SLURM_CPU_BIND",     "SLURM_STEP_",
        "SLURM_STEPID=",    "SLURM_LAUNCH_NODE_", "SLURM_SRUN_COMM_",
    };

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(var, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

int env_export(char *const *base, char *const *extra, int nextra, char ***out)
{
    size_t n = 0, k = 0;
    char **env;

    while (base[n])
        n++;
    env = calloc(n + (size_t)nextra + 1, sizeof(char *));
    if (!env)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (strncmp(base[i], "PMI_", 4) != 0
            && strncmp(base[i], "PMIX_", 5) != 0
            && !env_is_slurm_node_var(base[i]))
            env[k++] = base[i];
    for (int i = 0; i < nextra; i++) {
        const char *e = extra[i];
        if (strchr(e, '=')) {
            env[k++] = (char *)e;
            continue;
        }
        for (size_t j = 0; j < n; j++)
            if (strncmp(base[j], e, strlen(e)) == 0
                && base[j][strlen(e)] == '=')
                env[k++] = base[j];
    }
    *out = env;
    return 0;
}

char **env_append_one(char *const *env, char *var)
{
    size_t n = 0;
    char **out;

    while (env && env[n])
        n++;
    out = calloc(n + 2, sizeof(char *));
    if (!out)
        return NULL;
    if (n)
        memcpy(out, env, n * sizeof(char *));
    out[n] = var;
    return out;
}
