/* SPDX-License-Identifier: MIT */
/* dtinfo.c - what a datatype says about itself: how it was made
 * (MPI_Type_get_envelope, _get_contents, from the record each constructor
 * leaves with shim_dt_record()), its name (MPI_Type_set_name, _get_name;
 * predefined types are named after their constants), and the _x queries
 * in MPI_Count.
 *
 * A record keeps the constructor's integer, address and datatype
 * arguments in the layout MPI_Type_get_contents returns, and a reference
 * on each datatype argument, so the contents stay valid after the user
 * frees those types. MPI_Type_get_contents hands back predefined types as
 * they are and derived ones as new types the caller frees: a duplicate
 * with the original's record when the user still holds the original, else
 * the original itself under a new handle. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct shim_dt_env {
    int combiner;
    int ni;
    int na;
    int nd;
    int *ints;
    MPI_Aint *addrs;
    struct shim_datatype **types;
};

void shim_dt_env_free(struct shim_datatype *t)
{
    struct shim_dt_env *e = t->env;

    free(t->user_name);
    t->user_name = NULL;
    t->env = NULL;
    if (!e)
        return;
    for (int i = 0; i < e->nd; i++)
        shim_dt_decref(e->types[i]);
    free(e->ints);
    free(e->addrs);
    free(e->types);
    free(e);
}

/* How many integers each combiner records for n (see the standard's
 * table for MPI_Type_get_contents). */
static int ints_count(int combiner, int n)
{
    switch (combiner) {
    case MPI_COMBINER_CONTIGUOUS:
        return 1;
    case MPI_COMBINER_VECTOR:
        return 3;
    case MPI_COMBINER_HVECTOR:
    case MPI_COMBINER_HINDEXED_BLOCK:
        return 2;
    case MPI_COMBINER_INDEXED:
        return 2 * n + 1;
    case MPI_COMBINER_HINDEXED:
    case MPI_COMBINER_STRUCT:
        return n + 1;
    case MPI_COMBINER_INDEXED_BLOCK:
        return n + 2;
    case MPI_COMBINER_SUBARRAY:
    case MPI_COMBINER_DARRAY:
        return n; /* laid out by the caller */
    }
    return 0;
}

int shim_dt_record(MPI_Datatype handle,
                   int combiner,
                   int n,
                   const int *ia,
                   const int *ib,
                   int na,
                   const MPI_Aint *addrs,
                   int nd,
                   const MPI_Datatype *types)
{
    struct shim_datatype *t = shim_dt_get(handle);
    struct shim_dt_env *e = calloc(1, sizeof(*e));

    if (!t || !e) {
        free(e);
        return t ? -ENOMEM : SHIM_ECLASS(MPI_ERR_TYPE);
    }
    e->combiner = combiner;
    e->ni = ints_count(combiner, n);
    e->na = na;
    e->nd = nd;
    e->ints = malloc(sizeof(int) * (e->ni + 1));
    e->addrs = malloc(sizeof(MPI_Aint) * (na + 1));
    e->types = calloc((size_t)nd + 1, sizeof(*e->types));
    if (!e->ints || !e->addrs || !e->types) {
        free(e->ints);
        free(e->addrs);
        free(e->types);
        free(e);
        return -ENOMEM;
    }
    switch (combiner) {
    case MPI_COMBINER_CONTIGUOUS:
    case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR:
    case MPI_COMBINER_SUBARRAY:
    case MPI_COMBINER_DARRAY:
        memcpy(e->ints, ia, sizeof(int) * e->ni);
        break;
    case MPI_COMBINER_INDEXED:
        e->ints[0] = n;
        memcpy(e->ints + 1, ia, sizeof(int) * n);
        memcpy(e->ints + 1 + n, ib, sizeof(int) * n);
        break;
    case MPI_COMBINER_HINDEXED:
    case MPI_COMBINER_STRUCT:
        e->ints[0] = n;
        memcpy(e->ints + 1, ia, sizeof(int) * n);
        break;
    case MPI_COMBINER_INDEXED_BLOCK:
        e->ints[0] = n;
        e->ints[1] = ia[0];
        memcpy(e->ints + 2, ib, sizeof(int) * n);
        break;
    case MPI_COMBINER_HINDEXED_BLOCK:
        e->ints[0] = n;
        e->ints[1] = ia[0];
        break;
    }
    if (na)
        memcpy(e->addrs, addrs, sizeof(MPI_Aint) * na);
    for (int i = 0; i < nd; i++) {
        e->types[i] = shim_dt_get(types[i]);
        shim_dt_incref(e->types[i]);
    }
    /* A constructor made of another (indexed_block of indexed) records
     * last what the user called. */
    char *name = t->user_name;
    t->user_name = NULL;
    shim_dt_env_free(t);
    t->user_name = name;
    t->env = e;
    return 0;
}

static int ret(const char *fn, int rc)
{
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Type_get_envelope)
int PMPI_Type_get_envelope(MPI_Datatype datatype,
                           int *num_integers,
                           int *num_addresses,
                           int *num_datatypes,
                           int *combiner)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_get_envelope", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!num_integers || !num_addresses || !num_datatypes || !combiner)
        return ret("MPI_Type_get_envelope", SHIM_ECLASS(MPI_ERR_ARG));
    const struct shim_dt_env *e = t->env;
    *combiner = e ? e->combiner : MPI_COMBINER_NAMED;
    *num_integers = e ? e->ni : 0;
    *num_addresses = e ? e->na : 0;
    *num_datatypes = e ? e->nd : 0;
    return MPI_SUCCESS;
}

static int env_copy(const struct shim_dt_env *from, struct shim_datatype *t)
{
    struct shim_dt_env *e = calloc(1, sizeof(*e));

    if (!e)
        return -ENOMEM;
    *e = *from;
    e->ints = malloc(sizeof(int) * (e->ni + 1));
    e->addrs = malloc(sizeof(MPI_Aint) * (e->na + 1));
    e->types = malloc(sizeof(*e->types) * (e->nd + 1));
    if (!e->ints || !e->addrs || !e->types) {
        free(e->ints);
        free(e->addrs);
        free(e->types);
        free(e);
        return -ENOMEM;
    }
    memcpy(e->ints, from->ints, sizeof(int) * e->ni);
    memcpy(e->addrs, from->addrs, sizeof(MPI_Aint) * e->na);
    for (int i = 0; i < e->nd; i++) {
        e->types[i] = from->types[i];
        shim_dt_incref(e->types[i]);
    }
    char *name = t->user_name;
    t->user_name = NULL;
    shim_dt_env_free(t);
    t->user_name = name;
    t->env = e;
    return 0;
}

/* A handle the caller of MPI_Type_get_contents owns for type o. */
static int contents_type(struct shim_datatype *o, MPI_Datatype *out)
{
    if (o->predefined) {
        *out = o->handle;
        return 0;
    }
    if (shim_dt_get(o->handle) == o) {
        if (PMPI_Type_dup(o->handle, out) != MPI_SUCCESS)
            return SHIM_ECLASS(MPI_ERR_TYPE);
        /* The copy describes itself as the original does. */
        int rc = o->env ? env_copy(o->env, shim_dt_get(*out)) : 0;
        if (rc)
            PMPI_Type_free(out);
        return rc;
    }
    /* The user freed it: it comes back under a new handle. */
    int idx = shim_table_insert(&shim.datatypes, o);
    if (idx < 0)
        return idx;
    o->handle = SHIM_HANDLE(SHIM_KIND_DATATYPE, idx);
    shim_dt_incref(o);
    *out = o->handle;
    return 0;
}

SHIM_WEAK(Type_get_contents)
int PMPI_Type_get_contents(MPI_Datatype datatype,
                           int max_integers,
                           int max_addresses,
                           int max_datatypes,
                           int array_of_integers[],
                           MPI_Aint array_of_addresses[],
                           MPI_Datatype array_of_datatypes[])
{
    struct shim_datatype *t = shim_dt_get(datatype);
    const struct shim_dt_env *e = t ? t->env : NULL;
    int rc = e ? 0 : SHIM_ECLASS(MPI_ERR_TYPE);

    if (rc == 0
        && (max_integers < e->ni || max_addresses < e->na
            || max_datatypes < e->nd))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0
        && ((e->ni && !array_of_integers) || (e->na && !array_of_addresses)
            || (e->nd && !array_of_datatypes)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret("MPI_Type_get_contents", rc);
    if (e->ni)
        memcpy(array_of_integers, e->ints, sizeof(int) * e->ni);
    if (e->na)
        memcpy(array_of_addresses, e->addrs, sizeof(MPI_Aint) * e->na);
    for (int i = 0; i < e->nd && rc == 0; i++)
        rc = contents_type(e->types[i], &array_of_datatypes[i]);
    return ret("MPI_Type_get_contents", rc);
}

SHIM_WEAK(Type_set_name)
int PMPI_Type_set_name(MPI_Datatype datatype, const char *type_name)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_set_name", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!type_name)
        return ret("MPI_Type_set_name", SHIM_ECLASS(MPI_ERR_ARG));
    char *n = strndup(type_name, MPI_MAX_OBJECT_NAME - 1);
    if (!n)
        return ret("MPI_Type_set_name", -ENOMEM);
    free(t->user_name);
    t->user_name = n;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_get_name)
int PMPI_Type_get_name(MPI_Datatype datatype, char *type_name, int *resultlen)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_get_name", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!type_name || !resultlen)
        return ret("MPI_Type_get_name", SHIM_ECLASS(MPI_ERR_ARG));
    const char *n = t->user_name ? t->user_name : t->name ? t->name : "";
    *resultlen = snprintf(type_name, MPI_MAX_OBJECT_NAME, "%s", n);
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_size_x)
int PMPI_Type_size_x(MPI_Datatype datatype, MPI_Count *size)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t || !size)
        return ret("MPI_Type_size_x",
                   SHIM_ECLASS(t ? MPI_ERR_ARG : MPI_ERR_TYPE));
    *size = (MPI_Count)t->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_get_extent_x)
int PMPI_Type_get_extent_x(MPI_Datatype datatype,
                           MPI_Count *lb,
                           MPI_Count *extent)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t || !lb || !extent)
        return ret("MPI_Type_get_extent_x",
                   SHIM_ECLASS(t ? MPI_ERR_ARG : MPI_ERR_TYPE));
    *lb = t->lb;
    *extent = t->extent;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_get_true_extent_x)
int PMPI_Type_get_true_extent_x(MPI_Datatype datatype,
                                MPI_Count *true_lb,
                                MPI_Count *true_extent)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t || !true_lb || !true_extent)
        return ret("MPI_Type_get_true_extent_x",
                   SHIM_ECLASS(t ? MPI_ERR_ARG : MPI_ERR_TYPE));
    *true_lb = t->true_lb;
    *true_extent = t->true_extent;
    return MPI_SUCCESS;
}

int shim_dt_env_view(const struct shim_datatype *t,
                     int *combiner,
                     int *ni,
                     const int **ints,
                     int *na,
                     const MPI_Aint **addrs,
                     int *nd,
                     struct shim_datatype *const **types)
{
    const struct shim_dt_env *e = t->env;

    if (!e)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    *combiner = e->combiner;
    *ni = e->ni;
    *ints = e->ints;
    *na = e->na;
    *addrs = e->addrs;
    *nd = e->nd;
    *types = e->types;
    return 0;
}
