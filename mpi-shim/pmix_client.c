/* SPDX-License-Identifier: MIT */
/* pmix_client.c - shoal's MPI as a PMIx client (see pmix_client.h). Only
 * OpenPMIx's types come from its headers; every call goes through a
 * pointer found with dlsym, so no PMIx symbol is linked into libmpi. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pmix.h>

#include "mpi-shim/pmix_client.h"

static struct {
    void *lib;
    pmix_proc_t self;
    pmix_status_t (*init)(pmix_proc_t *, pmix_info_t *, size_t);
    pmix_status_t (*finalize)(const pmix_info_t *, size_t);
    pmix_status_t (*put)(pmix_scope_t, const char *, pmix_value_t *);
    pmix_status_t (*commit)(void);
    pmix_status_t (*fence)(const pmix_proc_t *,
                           size_t,
                           const pmix_info_t *,
                           size_t);
    pmix_status_t (*get)(const pmix_proc_t *,
                         const char *,
                         const pmix_info_t *,
                         size_t,
                         pmix_value_t **);
    pmix_status_t (*abort)(int, const char *, pmix_proc_t *, size_t);
    void (*value_destruct)(pmix_value_t *);
} pmix;

bool shim_pmix_available(char *why, size_t size)
{
    const char *ns = getenv("PMIX_NAMESPACE");

    if (pmix.lib)
        return true;
    if (!ns || !*ns) {
        snprintf(why, size, "no PMIX_NAMESPACE");
        return false;
    }
    pmix.lib = dlopen("libpmix.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!pmix.lib) {
        snprintf(why, size, "cannot load OpenPMIx's client library: %s",
                 dlerror());
        return false;
    }
    *(void **)&pmix.init = dlsym(pmix.lib, "PMIx_Init");
    *(void **)&pmix.finalize = dlsym(pmix.lib, "PMIx_Finalize");
    *(void **)&pmix.put = dlsym(pmix.lib, "PMIx_Put");
    *(void **)&pmix.commit = dlsym(pmix.lib, "PMIx_Commit");
    *(void **)&pmix.fence = dlsym(pmix.lib, "PMIx_Fence");
    *(void **)&pmix.get = dlsym(pmix.lib, "PMIx_Get");
    *(void **)&pmix.abort = dlsym(pmix.lib, "PMIx_Abort");
    *(void **)&pmix.value_destruct = dlsym(pmix.lib, "PMIx_Value_destruct");
    if (!pmix.init || !pmix.finalize || !pmix.put || !pmix.commit || !pmix.fence
        || !pmix.get || !pmix.abort || !pmix.value_destruct) {
        snprintf(why, size, "OpenPMIx's client library lacks PMIx_* calls");
        dlclose(pmix.lib);
        pmix.lib = NULL;
        return false;
    }
    return true;
}

static int shim_pmix_errno(pmix_status_t st)
{
    return st == PMIX_ERR_NOT_FOUND ? -ENOENT : -EIO;
}

/* A value of proc's, or the job's, as a pmix_value_t (caller releases
 * with shim_pmix_release()). */
static int
shim_pmix_get_value(pmix_rank_t rank, const char *key, pmix_value_t **val)
{
    pmix_proc_t proc;
    pmix_status_t st;

    memset(&proc, 0, sizeof(proc));
    memcpy(proc.nspace, pmix.self.nspace, sizeof(proc.nspace));
    proc.rank = rank;
    st = pmix.get(&proc, key, NULL, 0, val);
    return st == PMIX_SUCCESS ? 0 : shim_pmix_errno(st);
}

static void shim_pmix_release(pmix_value_t *val)
{
    pmix.value_destruct(val);
    free(val);
}

/* An integer value of any of PMIx's integer types. */
static int shim_pmix_int(const pmix_value_t *v, long *out)
{
    switch (v->type) {
    case PMIX_UINT32:
        *out = (long)v->data.uint32;
        return 0;
    case PMIX_INT:
        *out = v->data.integer;
        return 0;
    case PMIX_UINT:
        *out = (long)v->data.uint;
        return 0;
    case PMIX_SIZE:
        *out = (long)v->data.size;
        return 0;
    case PMIX_UINT16:
        *out = v->data.uint16;
        return 0;
    default:
        return -EPROTO;
    }
}

int shim_pmix_init(int *rank, int *size, int *appnum)
{
    pmix_value_t *val = NULL;
    long n = 0;
    int rc;

    memset(&pmix.self, 0, sizeof(pmix.self));
    if (pmix.init(&pmix.self, NULL, 0) != PMIX_SUCCESS)
        return -ECONNREFUSED;
    *rank = (int)pmix.self.rank;
    *appnum = 0;
    rc = shim_pmix_get_value(PMIX_RANK_WILDCARD, PMIX_JOB_SIZE, &val);
    if (rc == 0) {
        rc = shim_pmix_int(val, &n);
        shim_pmix_release(val);
    }
    if (rc < 0 || n < 1)
        return rc < 0 ? rc : -EPROTO;
    *size = (int)n;
    return 0;
}

int shim_pmix_put(const char *key, const char *value)
{
    pmix_value_t val;

    memset(&val, 0, sizeof(val));
    val.type = PMIX_STRING;
    val.data.string = (char *)value;
    return pmix.put(PMIX_GLOBAL, key, &val) == PMIX_SUCCESS ? 0 : -EIO;
}

int shim_pmix_barrier(void)
{
    pmix_info_t info;
    pmix_proc_t all;

    if (pmix.commit() != PMIX_SUCCESS)
        return -EIO;
    memset(&info, 0, sizeof(info));
    snprintf(info.key, sizeof(info.key), "%s", PMIX_COLLECT_DATA);
    info.value.type = PMIX_BOOL;
    info.value.data.flag = true;
    memset(&all, 0, sizeof(all));
    memcpy(all.nspace, pmix.self.nspace, sizeof(all.nspace));
    all.rank = PMIX_RANK_WILDCARD;
    return pmix.fence(&all, 1, &info, 1) == PMIX_SUCCESS ? 0 : -EIO;
}

int shim_pmix_get(const char *key, char *value, size_t len)
{
    pmix_rank_t owner = PMIX_RANK_WILDCARD;
    pmix_value_t *val = NULL;
    const char *p = key;
    int rc;

    /* the owner: the first number of the key, "shoal-addr-3-n" */
    while (*p && (*p < '0' || *p > '9'))
        p++;
    if (*p)
        owner = (pmix_rank_t)strtoul(p, NULL, 10);
    rc = shim_pmix_get_value(owner, key, &val);
    if (rc < 0)
        return rc;
    if (val->type != PMIX_STRING || !val->data.string
        || strlen(val->data.string) >= len)
        rc = -EPROTO;
    else
        memcpy(value, val->data.string, strlen(val->data.string) + 1);
    shim_pmix_release(val);
    return rc;
}

int shim_pmix_finalize(void)
{
    return pmix.finalize(NULL, 0) == PMIX_SUCCESS ? 0 : -EIO;
}

void shim_pmix_abort(int exitcode, const char *msg)
{
    pmix.abort(exitcode, msg, NULL, 0);
}
