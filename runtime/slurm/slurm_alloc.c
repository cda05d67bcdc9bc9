/* SPDX-License-Identifier: MIT */
/* slurm_alloc.c - the Slurm allocation a command runs in (see
 * slurm_alloc.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/slurm/slurm_alloc.h"
#include "util/param.h"
#include "util/slurmlist.h"

PARAM_DEFINE(slurm_alloc_param,
             "slurm",
             PARAM_TYPE_STRING,
             "auto",
             "inside a Slurm allocation (SLURM_JOB_ID set): \"auto\" runs "
             "`shoal run` jobs on the allocated nodes, started through "
             "srun; \"no\" ignores the allocation");

static const char *slurm_alloc_env(char *const *env, const char *name)
{
    size_t len = strlen(name);

    for (; env && *env; env++)
        if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

int slurm_alloc_read(char *const *env,
                     struct slurm_alloc *alloc,
                     shoal_error_t *error)
{
    const char *mode = param_get_string(&slurm_alloc_param);
    const char *id = slurm_alloc_env(env, "SLURM_JOB_ID");
    const char *list = slurm_alloc_env(env, "SLURM_JOB_NODELIST");
    const char *counts = slurm_alloc_env(env, "SLURM_TASKS_PER_NODE");
    const char *counts_name = "SLURM_TASKS_PER_NODE";
    shoal_error_t why;
    int rc;

    memset(alloc, 0, sizeof(*alloc));
    if (mode && *mode && strcmp(mode, "auto") != 0 && strcmp(mode, "no") != 0)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid SHOAL_SLURM='%s': expected auto or no",
                               mode);
    if (!id)
        id = slurm_alloc_env(env, "SLURM_JOBID");
    if (!id || !*id || (mode && strcmp(mode, "no") == 0))
        return 0;
    if (!list)
        list = slurm_alloc_env(env, "SLURM_NODELIST");
    if (!counts || !*counts) {
        counts = slurm_alloc_env(env, "SLURM_JOB_CPUS_PER_NODE");
        counts_name = "SLURM_JOB_CPUS_PER_NODE";
    }
    if (!list || !*list)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "Slurm job %s: SLURM_JOB_NODELIST is not set "
                               "(SHOAL_SLURM=no ignores the allocation)",
                               id);
    if (!counts || !*counts)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "Slurm job %s: neither SLURM_TASKS_PER_NODE nor "
                               "SLURM_JOB_CPUS_PER_NODE is set (SHOAL_SLURM=no "
                               "ignores the allocation)",
                               id);
    rc = slurmlist_hosts(list, &alloc->nodes, &alloc->nnodes, &why);
    if (rc == -ENOMEM)
        return shoal_errprintf(error, rc, "out of memory");
    if (rc < 0)
        return shoal_errprintf(
            error, rc, "Slurm job %s: SLURM_JOB_NODELIST: %s", id, why.text);
    alloc->slots = calloc((size_t)alloc->nnodes, sizeof(int));
    alloc->job_id = strdup(id);
    alloc->nodelist = strdup(list);
    if (!alloc->slots || !alloc->job_id || !alloc->nodelist) {
        slurm_alloc_release(alloc);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    rc = slurmlist_counts(counts, alloc->nnodes, alloc->slots, &why);
    if (rc < 0) {
        slurm_alloc_release(alloc);
        return shoal_errprintf(error, rc, "Slurm job %s: %s: %s", id,
                               counts_name, why.text);
    }
    for (int i = 0; i < alloc->nnodes; i++)
        alloc->total += alloc->slots[i];
    return 1;
}

int slurm_alloc_hosts(const struct slurm_alloc *alloc,
                      const struct hostlist *wanted,
                      struct hostlist *out,
                      shoal_error_t *error)
{
    bool all = !wanted || wanted->count == 0;
    int n = all ? alloc->nnodes : wanted->count;
    char arg[512];
    int rc;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < n; i++) {
        const char *name = all ? alloc->nodes[i] : wanted->entries[i].name;
        int node = -1, slots;

        for (int j = 0; j < alloc->nnodes && node < 0; j++)
            if (strcmp(alloc->nodes[j], name) == 0)
                node = j;
        if (node < 0) {
            hostlist_release(out);
            return shoal_errprintf(error, SHOAL_ENOHOST,
                                   "host '%s' is not in Slurm job %s's "
                                   "allocation (%s)",
                                   name, alloc->job_id, alloc->nodelist);
        }
        slots = all || wanted->entries[i].slots < 0 ? alloc->slots[node]
                                                    : wanted->entries[i].slots;
        snprintf(arg, sizeof(arg), "%s:%d", name, slots);
        rc = hostlist_add_arg(out, arg, error);
        if (rc < 0) {
            hostlist_release(out);
            return rc;
        }
    }
    return 0;
}

void slurm_alloc_release(struct slurm_alloc *alloc)
{
    slurmlist_free(alloc->nodes);
    free(alloc->slots);
    free(alloc->job_id);
    free(alloc->nodelist);
    memset(alloc, 0, sizeof(*alloc));
}
