/* SPDX-License-Identifier: MIT */
/* info.c - info objects (MPI-3.1 chapter 9): ordered (key, value) lists of
 * strings, and the communicator info calls.
 *
 * An info object keeps its keys in the order they were first set, which
 * is the order MPI_Info_get_nthkey gives them; setting a key again
 * replaces its value in place. Keys are at most MPI_MAX_INFO_KEY - 1
 * characters (MPI_ERR_INFO_KEY), values MPI_MAX_INFO_VAL - 1
 * (MPI_ERR_INFO_VALUE); both are copied. No communicator hint changes
 * what this library does, so MPI_Comm_set_info accepts any and
 * MPI_Comm_get_info returns a new empty info (the standard lets an
 * implementation report only the hints it uses), and
 * MPI_Comm_dup_with_info is MPI_Comm_dup. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct info_entry {
    char *key;
    char *value;
};

struct shim_info {
    int handle;
    int nkeys;
    int cap;
    struct info_entry *ents;
};

static struct shim_table infos;

static struct shim_info *info_lookup(MPI_Info info)
{
    return shim_table_lookup(&infos, info, SHIM_KIND_INFO);
}

static void info_destroy(struct shim_info *in)
{
    for (int i = 0; i < in->nkeys; i++) {
        free(in->ents[i].key);
        free(in->ents[i].value);
    }
    free(in->ents);
    free(in);
}

static int info_new(struct shim_info **out)
{
    struct shim_info *in = calloc(1, sizeof(*in));
    int idx;

    if (!in)
        return -ENOMEM;
    /* Index 0 is MPI_INFO_NULL's. */
    if (infos.used == 0 && shim_table_insert(&infos, NULL) < 0) {
        free(in);
        return -ENOMEM;
    }
    idx = shim_table_insert(&infos, in);
    if (idx < 0) {
        free(in);
        return idx;
    }
    in->handle = SHIM_HANDLE(SHIM_KIND_INFO, idx);
    *out = in;
    return 0;
}

static int info_find(const struct shim_info *in, const char *key)
{
    for (int i = 0; i < in->nkeys; i++)
        if (strcmp(in->ents[i].key, key) == 0)
            return i;
    return -1;
}

/* Checks a key: present, not empty, and short enough. */
static int key_check(const char *key)
{
    if (!key)
        return SHIM_ECLASS(MPI_ERR_ARG);
    size_t n = strlen(key);
    if (n == 0 || n >= MPI_MAX_INFO_KEY)
        return SHIM_ECLASS(MPI_ERR_INFO_KEY);
    return 0;
}

static int info_set(struct shim_info *in, const char *key, const char *value)
{
    int i = info_find(in, key);
    char *v = strdup(value);

    if (!v)
        return -ENOMEM;
    if (i >= 0) {
        free(in->ents[i].value);
        in->ents[i].value = v;
        return 0;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return -ENOMEM;
    }
    if (in->nkeys == in->cap) {
        int cap = in->cap ? 2 * in->cap : 8;
        struct info_entry *e = realloc(in->ents, sizeof(*e) * cap);
        if (!e) {
            free(k);
            free(v);
            return -ENOMEM;
        }
        in->ents = e;
        in->cap = cap;
    }
    in->ents[in->nkeys].key = k;
    in->ents[in->nkeys].value = v;
    in->nkeys++;
    return 0;
}

void shim_info_finalize(void)
{
    for (int i = 0; i < infos.used; i++)
        if (infos.slots[i])
            info_destroy(infos.slots[i]);
    shim_table_release(&infos);
}

static int ret(const char *fn, int rc)
{
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Info_create)
int PMPI_Info_create(MPI_Info *info)
{
    struct shim_info *in;
    int rc = info ? info_new(&in) : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        *info = in->handle;
    return ret("MPI_Info_create", rc);
}

SHIM_WEAK(Info_set)
int PMPI_Info_set(MPI_Info info, const char *key, const char *value)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? key_check(key) : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && !value)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && strlen(value) >= MPI_MAX_INFO_VAL)
        rc = SHIM_ECLASS(MPI_ERR_INFO_VALUE);
    if (rc == 0)
        rc = info_set(in, key, value);
    return ret("MPI_Info_set", rc);
}

SHIM_WEAK(Info_get)
int PMPI_Info_get(
    MPI_Info info, const char *key, int valuelen, char *value, int *flag)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? key_check(key) : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && (valuelen < 0 || !value || !flag))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret("MPI_Info_get", rc);
    int i = info_find(in, key);
    *flag = i >= 0;
    if (i >= 0) {
        /* At most valuelen characters and the terminating null. */
        size_t n = strlen(in->ents[i].value);
        if (n > (size_t)valuelen)
            n = (size_t)valuelen;
        memcpy(value, in->ents[i].value, n);
        value[n] = '\0';
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Info_get_valuelen)
int PMPI_Info_get_valuelen(MPI_Info info,
                           const char *key,
                           int *valuelen,
                           int *flag)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? key_check(key) : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && (!valuelen || !flag))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret("MPI_Info_get_valuelen", rc);
    int i = info_find(in, key);
    *flag = i >= 0;
    if (i >= 0)
        *valuelen = (int)strlen(in->ents[i].value);
    return MPI_SUCCESS;
}

SHIM_WEAK(Info_get_nkeys)
int PMPI_Info_get_nkeys(MPI_Info info, int *nkeys)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? 0 : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && !nkeys)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        *nkeys = in->nkeys;
    return ret("MPI_Info_get_nkeys", rc);
}

SHIM_WEAK(Info_get_nthkey)
int PMPI_Info_get_nthkey(MPI_Info info, int n, char *key)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? 0 : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && !key)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && (n < 0 || n >= in->nkeys))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        strcpy(key, in->ents[n].key);
    return ret("MPI_Info_get_nthkey", rc);
}

SHIM_WEAK(Info_delete)
int PMPI_Info_delete(MPI_Info info, const char *key)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? key_check(key) : SHIM_ECLASS(MPI_ERR_INFO);
    int i = rc == 0 ? info_find(in, key) : -1;

    if (rc == 0 && i < 0)
        rc = SHIM_ECLASS(MPI_ERR_INFO_NOKEY);
    if (rc)
        return ret("MPI_Info_delete", rc);
    free(in->ents[i].key);
    free(in->ents[i].value);
    memmove(&in->ents[i], &in->ents[i + 1],
            sizeof(in->ents[0]) * (size_t)(in->nkeys - i - 1));
    in->nkeys--;
    return MPI_SUCCESS;
}

static int info_dup(const struct shim_info *in, MPI_Info *newinfo)
{
    struct shim_info *n;
    int rc = info_new(&n);

    for (int i = 0; rc == 0 && i < in->nkeys; i++)
        rc = info_set(n, in->ents[i].key, in->ents[i].value);
    if (rc) {
        if (n->handle) {
            shim_table_remove(&infos, n->handle);
            info_destroy(n);
        }
        return rc;
    }
    *newinfo = n->handle;
    return 0;
}

SHIM_WEAK(Info_dup)
int PMPI_Info_dup(MPI_Info info, MPI_Info *newinfo)
{
    struct shim_info *in = info_lookup(info);
    int rc = in ? 0 : SHIM_ECLASS(MPI_ERR_INFO);

    if (rc == 0 && !newinfo)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = info_dup(in, newinfo);
    return ret("MPI_Info_dup", rc);
}

SHIM_WEAK(Info_free)
int PMPI_Info_free(MPI_Info *info)
{
    struct shim_info *in = info ? info_lookup(*info) : NULL;

    if (!in)
        return ret("MPI_Info_free", SHIM_ECLASS(MPI_ERR_INFO));
    shim_table_remove(&infos, in->handle);
    info_destroy(in);
    *info = MPI_INFO_NULL;
    return MPI_SUCCESS;
}

int shim_info_check(MPI_Info info)
{
    return info == MPI_INFO_NULL || info_lookup(info)
               ? 0
               : SHIM_ECLASS(MPI_ERR_INFO);
}

SHIM_WEAK(Comm_set_info)
int PMPI_Comm_set_info(MPI_Comm comm, MPI_Info info)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_set_info", SHIM_ECLASS(MPI_ERR_COMM));
    if (!info_lookup(info))
        return shim_err(c, "MPI_Comm_set_info", SHIM_ECLASS(MPI_ERR_INFO));
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_get_info)
int PMPI_Comm_get_info(MPI_Comm comm, MPI_Info *info_used)
{
    struct shim_comm *c;
    struct shim_info *in;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_get_info", SHIM_ECLASS(MPI_ERR_COMM));
    int rc = info_used ? info_new(&in) : SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Comm_get_info", rc);
    *info_used = in->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_dup_with_info)
int PMPI_Comm_dup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_dup_with_info",
                        SHIM_ECLASS(MPI_ERR_COMM));
    if (shim_info_check(info))
        return shim_err(c, "MPI_Comm_dup_with_info", SHIM_ECLASS(MPI_ERR_INFO));
    /* As MPI_Comm_dup, attributes copied; no hint changes anything. */
    return PMPI_Comm_dup(comm, newcomm);
}
