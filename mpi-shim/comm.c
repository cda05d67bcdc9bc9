/* SPDX-License-Identifier: MIT */
/* comm.c - communicators, groups, context ids and Cartesian topologies.
 * A communicator is reference counted: MPI_Comm_free runs the attributes'
 * delete callbacks and kills the handle, but requests still pending on it
 * hold references, and it is destroyed (its context id given back) with
 * the last one. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

/* Free context ids, one bit each (1 = free). A new communicator takes the
 * lowest id free in every member: an allreduce with BAND over the parent
 * (MPICH's scheme). Ids are per process, so disjoint communicators made by
 * one split share an id without harm. */
static uint32_t ctx_free[SHIM_NCTX / 32];

/* Blocking agreements in flight in this process (shim_ctx_hold): while
 * one is, MPI_Comm_idup reserves no ids (comm_idup.c). */
static int ctx_holds;

void shim_ctx_hold(void)
{
    ctx_holds++;
}

void shim_ctx_release(void)
{
    ctx_holds--;
}

bool shim_ctx_held(void)
{
    return ctx_holds > 0;
}

void shim_ctx_reserve(unsigned first, unsigned words, uint32_t *mask)
{
    for (unsigned w = 0; w < words; w++) {
        mask[w] = ctx_free[first / 32 + w];
        ctx_free[first / 32 + w] = 0;
    }
}

void shim_ctx_unreserve(unsigned first, unsigned words, const uint32_t *mask)
{
    for (unsigned w = 0; w < words; w++)
        ctx_free[first / 32 + w] |= mask[w];
}

static int ctx_alloc(struct shim_comm *parent, unsigned *id)
{
    uint32_t mask[SHIM_NCTX / 32];
    struct shim_datatype *u32 = shim_dt_get(MPI_UINT32_T);
    struct shim_op *band;
    int rc;

    shim_op_check(MPI_BAND, &band);
    shim_ctx_hold();
    rc = shim_coll_allreduce(ctx_free, mask, SHIM_NCTX / 32, u32, band, parent);
    shim_ctx_release();
    if (rc)
        return rc;
    for (unsigned w = 0; w < SHIM_NCTX / 32; w++) {
        if (mask[w]) {
            unsigned bit = (unsigned)__builtin_ctz(mask[w]);
            *id = w * 32 + bit;
            return 0;
        }
    }
    return SHIM_ECLASS(MPI_ERR_INTERN);
}

int shim_ctx_mask(struct shim_comm *parent, uint32_t *mask)
{
    struct shim_datatype *u32 = shim_dt_get(MPI_UINT32_T);
    struct shim_op *band;

    shim_op_check(MPI_BAND, &band);
    shim_ctx_hold();
    int rc =
        shim_coll_allreduce(ctx_free, mask, SHIM_NCTX / 32, u32, band, parent);
    shim_ctx_release();
    return rc;
}

void shim_ctx_mine(uint32_t *mask)
{
    memcpy(mask, ctx_free, sizeof(ctx_free));
}

int shim_ctx_pick(const uint32_t *mask, unsigned *id)
{
    for (unsigned w = 0; w < SHIM_NCTX / 32; w++) {
        if (mask[w]) {
            *id = w * 32 + (unsigned)__builtin_ctz(mask[w]);
            return 0;
        }
    }
    return SHIM_ECLASS(MPI_ERR_INTERN);
}

static void ctx_take(unsigned id)
{
    ctx_free[id / 32] &= ~(1u << (id % 32));
}

static void ctx_give(unsigned id)
{
    ctx_free[id / 32] |= 1u << (id % 32);
}

struct shim_comm *shim_comm_new(unsigned id, int size, int *world, int rank)
{
    struct shim_comm *c = calloc(1, sizeof(*c));
    int idx;

    if (!c)
        return NULL;
    idx = shim_table_insert(&shim.comms, c);
    if (idx < 0) {
        free(c);
        return NULL;
    }
    c->handle = SHIM_HANDLE(SHIM_KIND_COMM, idx);
    c->refcount = 1;
    c->ctx_id = id;
    c->ctx = id << 1;
    c->size = size;
    c->world = world;
    c->rank = rank;
    c->errhandler = MPI_ERRORS_ARE_FATAL;
    c->topo = MPI_UNDEFINED;
    ctx_take(id);
    return c;
}

static void comm_destroy(struct shim_comm *c)
{
    shim_attr_drop(&c->attrs);
    if (c->local)
        shim_comm_decref(c->local);
    free(c->local_world);
    shim_coll_comm_release(c);
    ctx_give(c->ctx_id);
    shim_table_remove(&shim.comms, c->handle);
    free(c->world);
    free(c->dims);
    free(c->periods);
    shim_graph_free(c->graph);
    free(c);
}

int shim_comm_create_world(void)
{
    int *w = malloc(sizeof(int) * shim.size);
    int *s = malloc(sizeof(int));

    if (!w || !s) {
        free(w);
        free(s);
        return -ENOMEM;
    }
    memset(ctx_free, 0xff, sizeof(ctx_free));
    /* Group index 0 is MPI_GROUP_EMPTY's. */
    if (shim_table_insert(&shim.groups, NULL) < 0) {
        free(w);
        free(s);
        return -ENOMEM;
    }
    for (int i = 0; i < shim.size; i++)
        w[i] = i;
    s[0] = shim.rank;
    shim.world = shim_comm_new(0, shim.size, w, shim.rank);
    shim.self = shim_comm_new(1, 1, s, 0);
    if (!shim.world || !shim.self)
        return -ENOMEM;
    snprintf(shim.world->name, sizeof(shim.world->name), "MPI_COMM_WORLD");
    snprintf(shim.self->name, sizeof(shim.self->name), "MPI_COMM_SELF");
    return 0;
}

void shim_comm_finalize(void)
{
    /* Every communicator goes, those that others refer to included. */
    for (int i = 0; i < shim.comms.used; i++) {
        struct shim_comm *c = shim.comms.slots[i];
        if (c)
            c->local = NULL;
    }
    for (int i = 0; i < shim.comms.used; i++) {
        struct shim_comm *c = shim.comms.slots[i];
        if (c)
            comm_destroy(c);
    }
    for (int i = 0; i < shim.groups.used; i++) {
        struct shim_group *g = shim.groups.slots[i];
        if (g) {
            free(g->world);
            free(g);
        }
    }
    shim_table_release(&shim.comms);
    shim_table_release(&shim.groups);
    shim.world = shim.self = NULL;
}

void shim_comm_incref(struct shim_comm *comm)
{
    comm->refcount++;
}

void shim_comm_decref(struct shim_comm *comm)
{
    if (--comm->refcount == 0)
        comm_destroy(comm);
}

struct shim_comm *shim_comm_lookup(MPI_Comm comm)
{
    struct shim_comm *c = shim_table_lookup(&shim.comms, comm, SHIM_KIND_COMM);

    return c && !c->freed ? c : NULL;
}

int shim_comm_check(MPI_Comm comm, struct shim_comm **out)
{
    *out = shim_comm_lookup(comm);
    return *out ? 0 : SHIM_ECLASS(MPI_ERR_COMM);
}

/* As shim_comm_check(), for the calls not written for intercommunicators
 * yet: those give MPI_ERR_COMM. */
static int intra_check(MPI_Comm comm, struct shim_comm **out)
{
    int rc = shim_comm_check(comm, out);

    if (rc == 0 && (*out)->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    return rc;
}

SHIM_WEAK(Comm_rank)
int PMPI_Comm_rank(MPI_Comm comm, int *rank)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_rank", SHIM_ECLASS(MPI_ERR_COMM));
    if (!rank)
        return shim_err(c, "MPI_Comm_rank", SHIM_ECLASS(MPI_ERR_ARG));
    *rank = c->rank;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_size)
int PMPI_Comm_size(MPI_Comm comm, int *size)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_size", SHIM_ECLASS(MPI_ERR_COMM));
    if (!size)
        return shim_err(c, "MPI_Comm_size", SHIM_ECLASS(MPI_ERR_ARG));
    *size = c->inter ? c->local_size : c->size;
    return MPI_SUCCESS;
}

/* Makes the communicator of the listed world ranks (in order) on top of
 * parent; every member of parent calls it, members == NULL for those not
 * in it. The context id is agreed over all of parent. */
static int
comm_make(struct shim_comm *parent, int n, int *members, struct shim_comm **out)
{
    unsigned id;
    int rc = ctx_alloc(parent, &id);

    *out = NULL;
    if (rc) {
        free(members);
        return rc;
    }
    if (!members)
        return 0;
    int me = -1;
    for (int i = 0; i < n; i++)
        if (members[i] == shim.rank)
            me = i;
    *out = shim_comm_new(id, n, members, me);
    if (!*out) {
        free(members);
        return -ENOMEM;
    }
    (*out)->errhandler = parent->errhandler;
    return 0;
}

/* The rest of a duplicate once *out exists: topology and attributes. */
static int comm_dup_rest(struct shim_comm *c, struct shim_comm **out);

static int comm_dup(struct shim_comm *c, struct shim_comm **out)
{
    int *w;
    int rc;

    if (c->inter) {
        rc = shim_intercomm_dup(c, out);
        if (rc)
            return rc;
        rc = shim_attr_copy(SHIM_ATTR_COMM, &c->attrs, c->handle,
                            &(*out)->attrs);
        if (rc) {
            comm_destroy(*out);
            *out = NULL;
        }
        return rc;
    }
    w = malloc(sizeof(int) * c->size);
    if (!w)
        return -ENOMEM;
    memcpy(w, c->world, sizeof(int) * c->size);
    rc = comm_make(c, c->size, w, out);
    if (rc)
        return rc;
    return comm_dup_rest(c, out);
}

int shim_comm_dup_on(struct shim_comm *c, unsigned id, struct shim_comm **out)
{
    int *w = malloc(sizeof(int) * c->size);

    *out = NULL;
    if (!w)
        return -ENOMEM;
    memcpy(w, c->world, sizeof(int) * c->size);
    *out = shim_comm_new(id, c->size, w, c->rank);
    if (!*out) {
        free(w);
        return -ENOMEM;
    }
    (*out)->errhandler = c->errhandler;
    return comm_dup_rest(c, out);
}

int shim_intercomm_dup_attrs(struct shim_comm *c, struct shim_comm *n)
{
    int rc = shim_attr_copy(SHIM_ATTR_COMM, &c->attrs, c->handle, &n->attrs);

    if (rc)
        comm_destroy(n);
    return rc;
}

static int comm_dup_rest(struct shim_comm *c, struct shim_comm **out)
{
    int rc;

    if (c->topo == MPI_CART) {
        struct shim_comm *n = *out;
        n->topo = MPI_CART;
        n->ndims = c->ndims;
        n->dims = malloc(sizeof(int) * (c->ndims ? c->ndims : 1));
        n->periods = malloc(sizeof(int) * (c->ndims ? c->ndims : 1));
        if (!n->dims || !n->periods) {
            comm_destroy(n);
            *out = NULL;
            return -ENOMEM;
        }
        memcpy(n->dims, c->dims, sizeof(int) * c->ndims);
        memcpy(n->periods, c->periods, sizeof(int) * c->ndims);
    }
    if (c->graph) {
        (*out)->topo = c->topo;
        (*out)->graph = shim_graph_copy(c->graph);
        if (!(*out)->graph) {
            comm_destroy(*out);
            *out = NULL;
            return -ENOMEM;
        }
    }
    rc = shim_attr_copy(SHIM_ATTR_COMM, &c->attrs, c->handle, &(*out)->attrs);
    if (rc) {
        comm_destroy(*out);
        *out = NULL;
    }
    return rc;
}

SHIM_WEAK(Comm_dup)
int PMPI_Comm_dup(MPI_Comm comm, MPI_Comm *newcomm)
{
    struct shim_comm *c, *n;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0 && !newcomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = comm_dup(c, &n);
    if (rc)
        return shim_err(c, "MPI_Comm_dup", rc);
    *newcomm = n->handle;
    return MPI_SUCCESS;
}

struct split_entry {
    int color;
    int key;
    int rank;
};

static int split_cmp(const void *a, const void *b)
{
    const struct split_entry *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->rank - y->rank;
}

static int
comm_split(struct shim_comm *c, int color, int key, struct shim_comm **out)
{
    struct shim_datatype *i2 = shim_dt_get(MPI_INT);
    int mine[2] = {color, key};
    int *all = malloc(sizeof(int) * 2 * c->size);
    struct split_entry *e = malloc(sizeof(*e) * c->size);
    int *members = NULL;
    int n = 0;
    int rc = -ENOMEM;

    if (!all || !e)
        goto out;
    rc = shim_coll_allgather(mine, 2, i2, all, 2, i2, c);
    if (rc)
        goto out;
    if (color != MPI_UNDEFINED) {
        for (int r = 0; r < c->size; r++) {
            if (all[2 * r] == color) {
                e[n].color = color;
                e[n].key = all[2 * r + 1];
                e[n].rank = r;
                n++;
            }
        }
        qsort(e, (size_t)n, sizeof(*e), split_cmp);
        members = malloc(sizeof(int) * n);
        if (!members) {
            rc = -ENOMEM;
            goto out;
        }
        for (int i = 0; i < n; i++)
            members[i] = c->world[e[i].rank];
    }
    rc = comm_make(c, n, members, out);
out:
    free(all);
    free(e);
    return rc;
}

SHIM_WEAK(Comm_split)
int PMPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm *newcomm)
{
    struct shim_comm *c, *n;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0 && !newcomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && color < 0 && color != MPI_UNDEFINED)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && c->inter)
        rc = shim_intercomm_split(c, color, key, &n);
    else if (rc == 0)
        rc = comm_split(c, color, key, &n);
    if (rc)
        return shim_err(c, "MPI_Comm_split", rc);
    *newcomm = n ? n->handle : MPI_COMM_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_split_type)
int PMPI_Comm_split_type(
    MPI_Comm comm, int split_type, int key, MPI_Info info, MPI_Comm *newcomm)
{
    struct shim_comm *c, *n;
    int rc = intra_check(comm, &c);

    (void)info;
    if (rc == 0 && !newcomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && split_type != MPI_COMM_TYPE_SHARED
        && split_type != MPI_UNDEFINED)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Comm_split_type", rc);
    int color =
        split_type == MPI_UNDEFINED ? MPI_UNDEFINED : shim.node_of[shim.rank];
    rc = comm_split(c, color, key, &n);
    if (rc)
        return shim_err(c, "MPI_Comm_split_type", rc);
    *newcomm = n ? n->handle : MPI_COMM_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_create)
int PMPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm *newcomm)
{
    struct shim_comm *c, *n;
    struct shim_group *g = NULL;
    int *members = NULL;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_group_check(group, &g);
    if (rc == 0 && !newcomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    /* On an intercommunicator the group is part of the local group; the
     * other group's members name theirs, and each side keeps its order. */
    for (int i = 0; rc == 0 && c->inter && i < g->size; i++) {
        bool local = false;
        for (int k = 0; k < c->local_size && !local; k++)
            local = c->local_world[k] == g->world[i];
        if (!local)
            rc = SHIM_ECLASS(MPI_ERR_GROUP);
    }
    if (rc == 0 && c->inter) {
        bool in = g->rank != MPI_UNDEFINED;
        rc = shim_intercomm_split(c, in ? 0 : MPI_UNDEFINED, in ? g->rank : 0,
                                  &n);
        if (rc == 0)
            *newcomm = n ? n->handle : MPI_COMM_NULL;
    }
    if (rc)
        return shim_err(c, "MPI_Comm_create", rc);
    if (c->inter)
        return MPI_SUCCESS;
    if (g->rank != MPI_UNDEFINED) {
        members = malloc(sizeof(int) * (g->size ? g->size : 1));
        if (!members)
            return shim_err(c, "MPI_Comm_create", -ENOMEM);
        memcpy(members, g->world, sizeof(int) * g->size);
    }
    rc = comm_make(c, g->size, members, &n);
    if (rc)
        return shim_err(c, "MPI_Comm_create", rc);
    *newcomm = n ? n->handle : MPI_COMM_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_free)
int PMPI_Comm_free(MPI_Comm *comm)
{
    struct shim_comm *c;

    if (!comm || shim_comm_check(*comm, &c) || c == shim.world
        || c == shim.self)
        return shim_err(NULL, "MPI_Comm_free", SHIM_ECLASS(MPI_ERR_COMM));
    int rc = shim_attr_clear(SHIM_ATTR_COMM, &c->attrs, c->handle);
    if (rc)
        return shim_err(c, "MPI_Comm_free", rc);
    c->freed = true;
    shim_comm_decref(c);
    *comm = MPI_COMM_NULL;
    return MPI_SUCCESS;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* MPI_IDENT/CONGRUENT (same order), MPI_SIMILAR (same set), or UNEQUAL. */
static int members_compare(int n1, const int *w1, int n2, const int *w2)
{
    if (n1 != n2)
        return MPI_UNEQUAL;
    /* two empty groups are the same (and hold no array to compare) */
    if (n1 == 0 || memcmp(w1, w2, sizeof(int) * n1) == 0)
        return MPI_CONGRUENT;
    int *a = malloc(sizeof(int) * (n1 ? n1 : 1));
    int *b = malloc(sizeof(int) * (n1 ? n1 : 1));
    int r = MPI_UNEQUAL;
    if (a && b) {
        memcpy(a, w1, sizeof(int) * n1);
        memcpy(b, w2, sizeof(int) * n1);
        qsort(a, (size_t)n1, sizeof(int), cmp_int);
        qsort(b, (size_t)n1, sizeof(int), cmp_int);
        if (memcmp(a, b, sizeof(int) * n1) == 0)
            r = MPI_SIMILAR;
    }
    free(a);
    free(b);
    return r;
}

SHIM_WEAK(Comm_compare)
int PMPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int *result)
{
    struct shim_comm *a, *b;
    int rc = shim_comm_check(comm1, &a);

    if (rc == 0)
        rc = shim_comm_check(comm2, &b);
    if (rc == 0 && !result)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Comm_compare", rc);
    if (a == b)
        *result = MPI_IDENT;
    else
        *result = members_compare(a->size, a->world, b->size, b->world);
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_test_inter)
int PMPI_Comm_test_inter(MPI_Comm comm, int *flag)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c) || !flag)
        return shim_err(NULL, "MPI_Comm_test_inter", SHIM_ECLASS(MPI_ERR_COMM));
    *flag = c->inter;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_set_name)
int PMPI_Comm_set_name(MPI_Comm comm, const char *comm_name)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_set_name", SHIM_ECLASS(MPI_ERR_COMM));
    if (!comm_name)
        return shim_err(c, "MPI_Comm_set_name", SHIM_ECLASS(MPI_ERR_ARG));
    snprintf(c->name, sizeof(c->name), "%s", comm_name);
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_get_name)
int PMPI_Comm_get_name(MPI_Comm comm, char *comm_name, int *resultlen)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, "MPI_Comm_get_name", SHIM_ECLASS(MPI_ERR_COMM));
    if (!comm_name || !resultlen)
        return shim_err(c, "MPI_Comm_get_name", SHIM_ECLASS(MPI_ERR_ARG));
    *resultlen = snprintf(comm_name, MPI_MAX_OBJECT_NAME, "%s", c->name);
    return MPI_SUCCESS;
}

/* ---- groups ------------------------------------------------------------- */
int shim_group_check(MPI_Group group, struct shim_group **out)
{
    static struct shim_group empty = {.handle = MPI_GROUP_EMPTY,
                                      .rank = MPI_UNDEFINED};

    if (group == MPI_GROUP_EMPTY) {
        *out = &empty;
        return 0;
    }
    *out = shim_table_lookup(&shim.groups, group, SHIM_KIND_GROUP);
    return *out ? 0 : SHIM_ECLASS(MPI_ERR_GROUP);
}

/* Takes ownership of world (n world ranks). */
int shim_group_new(int n, int *world, MPI_Group *out)
{
    struct shim_group *g;
    int idx;

    if (n == 0) {
        free(world);
        *out = MPI_GROUP_EMPTY;
        return 0;
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        free(world);
        return -ENOMEM;
    }
    idx = shim_table_insert(&shim.groups, g);
    if (idx < 0) {
        free(world);
        free(g);
        return idx;
    }
    g->handle = SHIM_HANDLE(SHIM_KIND_GROUP, idx);
    g->refcount = 1;
    g->size = n;
    g->world = world;
    g->rank = MPI_UNDEFINED;
    for (int i = 0; i < n; i++)
        if (world[i] == shim.rank)
            g->rank = i;
    *out = g->handle;
    return 0;
}

SHIM_WEAK(Comm_group)
int PMPI_Comm_group(MPI_Comm comm, MPI_Group *group)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0 && !group)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Comm_group", rc);
    int n = c->inter ? c->local_size : c->size;
    int *w = malloc(sizeof(int) * (n ? n : 1));
    if (!w)
        return shim_err(c, "MPI_Comm_group", -ENOMEM);
    memcpy(w, c->inter ? c->local_world : c->world, sizeof(int) * n);
    rc = shim_group_new(n, w, group);
    return rc ? shim_err(c, "MPI_Comm_group", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Group_size)
int PMPI_Group_size(MPI_Group group, int *size)
{
    struct shim_group *g;

    if (shim_group_check(group, &g) || !size)
        return shim_err(NULL, "MPI_Group_size", SHIM_ECLASS(MPI_ERR_GROUP));
    *size = g->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Group_rank)
int PMPI_Group_rank(MPI_Group group, int *rank)
{
    struct shim_group *g;

    if (shim_group_check(group, &g) || !rank)
        return shim_err(NULL, "MPI_Group_rank", SHIM_ECLASS(MPI_ERR_GROUP));
    *rank = g->rank;
    return MPI_SUCCESS;
}

SHIM_WEAK(Group_incl)
int PMPI_Group_incl(MPI_Group group,
                    int n,
                    const int ranks[],
                    MPI_Group *newgroup)
{
    struct shim_group *g;
    int rc = shim_group_check(group, &g);

    if (rc == 0 && (n < 0 || n > g->size || !newgroup || (n && !ranks)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Group_incl", rc);
    int *w = malloc(sizeof(int) * (n ? n : 1));
    if (!w)
        return shim_err(NULL, "MPI_Group_incl", -ENOMEM);
    for (int i = 0; i < n; i++) {
        if (ranks[i] < 0 || ranks[i] >= g->size) {
            free(w);
            return shim_err(NULL, "MPI_Group_incl", SHIM_ECLASS(MPI_ERR_RANK));
        }
        w[i] = g->world[ranks[i]];
    }
    rc = shim_group_new(n, w, newgroup);
    return rc ? shim_err(NULL, "MPI_Group_incl", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Group_excl)
int PMPI_Group_excl(MPI_Group group,
                    int n,
                    const int ranks[],
                    MPI_Group *newgroup)
{
    struct shim_group *g;
    int rc = shim_group_check(group, &g);

    if (rc == 0 && (n < 0 || n > g->size || !newgroup || (n && !ranks)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Group_excl", rc);
    char *drop = calloc((size_t)g->size + 1, 1);
    int *w = malloc(sizeof(int) * (g->size ? g->size : 1));
    if (!drop || !w) {
        free(drop);
        free(w);
        return shim_err(NULL, "MPI_Group_excl", -ENOMEM);
    }
    for (int i = 0; i < n; i++) {
        if (ranks[i] < 0 || ranks[i] >= g->size) {
            free(drop);
            free(w);
            return shim_err(NULL, "MPI_Group_excl", SHIM_ECLASS(MPI_ERR_RANK));
        }
        drop[ranks[i]] = 1;
    }
    int m = 0;
    for (int i = 0; i < g->size; i++)
        if (!drop[i])
            w[m++] = g->world[i];
    free(drop);
    rc = shim_group_new(m, w, newgroup);
    return rc ? shim_err(NULL, "MPI_Group_excl", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Group_translate_ranks)
int PMPI_Group_translate_ranks(
    MPI_Group group1, int n, const int ranks1[], MPI_Group group2, int ranks2[])
{
    struct shim_group *a, *b;
    int rc = shim_group_check(group1, &a);

    if (rc == 0)
        rc = shim_group_check(group2, &b);
    if (rc == 0 && (n < 0 || (n && (!ranks1 || !ranks2))))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Group_translate_ranks", rc);
    for (int i = 0; i < n; i++) {
        if (ranks1[i] == MPI_PROC_NULL) {
            ranks2[i] = MPI_PROC_NULL;
            continue;
        }
        if (ranks1[i] < 0 || ranks1[i] >= a->size)
            return shim_err(NULL, "MPI_Group_translate_ranks",
                            SHIM_ECLASS(MPI_ERR_RANK));
        ranks2[i] = MPI_UNDEFINED;
        for (int j = 0; j < b->size; j++)
            if (b->world[j] == a->world[ranks1[i]])
                ranks2[i] = j;
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Group_compare)
int PMPI_Group_compare(MPI_Group group1, MPI_Group group2, int *result)
{
    struct shim_group *a, *b;
    int rc = shim_group_check(group1, &a);

    if (rc == 0)
        rc = shim_group_check(group2, &b);
    if (rc == 0 && !result)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Group_compare", rc);
    int r = members_compare(a->size, a->world, b->size, b->world);
    *result = r == MPI_CONGRUENT ? MPI_IDENT : r;
    return MPI_SUCCESS;
}

SHIM_WEAK(Group_free)
int PMPI_Group_free(MPI_Group *group)
{
    struct shim_group *g;

    if (!group || shim_group_check(*group, &g))
        return shim_err(NULL, "MPI_Group_free", SHIM_ECLASS(MPI_ERR_GROUP));
    if (*group != MPI_GROUP_EMPTY) {
        shim_table_remove(&shim.groups, g->handle);
        free(g->world);
        free(g);
    }
    *group = MPI_GROUP_NULL;
    return MPI_SUCCESS;
}

/* ---- Cartesian topologies ----------------------------------------------- */
SHIM_WEAK(Cart_create)
int PMPI_Cart_create(MPI_Comm comm_old,
                     int ndims,
                     const int dims[],
                     const int periods[],
                     int reorder,
                     MPI_Comm *comm_cart)
{
    struct shim_comm *c, *n;
    int rc = intra_check(comm_old, &c);
    int nodes = 1;

    (void)reorder;
    if (rc == 0 && (ndims < 0 || !comm_cart || (ndims && (!dims || !periods))))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    for (int i = 0; rc == 0 && i < ndims; i++) {
        if (dims[i] <= 0)
            rc = SHIM_ECLASS(MPI_ERR_DIMS);
        else
            nodes *= dims[i];
    }
    if (rc == 0 && nodes > c->size)
        rc = SHIM_ECLASS(MPI_ERR_DIMS);
    if (rc == 0)
        rc = comm_split(c, c->rank < nodes ? 0 : MPI_UNDEFINED, c->rank, &n);
    if (rc)
        return shim_err(c, "MPI_Cart_create", rc);
    if (!n) {
        *comm_cart = MPI_COMM_NULL;
        return MPI_SUCCESS;
    }
    n->topo = MPI_CART;
    n->ndims = ndims;
    n->dims = malloc(sizeof(int) * (ndims ? ndims : 1));
    n->periods = malloc(sizeof(int) * (ndims ? ndims : 1));
    if (!n->dims || !n->periods)
        return shim_err(c, "MPI_Cart_create", -ENOMEM);
    for (int i = 0; i < ndims; i++) {
        n->dims[i] = dims[i];
        n->periods[i] = periods[i] != 0;
    }
    *comm_cart = n->handle;
    return MPI_SUCCESS;
}

static int cart_check(MPI_Comm comm, struct shim_comm **c)
{
    int rc = shim_comm_check(comm, c);

    if (rc == 0 && (*c)->topo != MPI_CART)
        rc = SHIM_ECLASS(MPI_ERR_TOPOLOGY);
    return rc;
}

static void cart_coords(const struct shim_comm *c, int rank, int *coords)
{
    for (int i = c->ndims - 1; i >= 0; i--) {
        coords[i] = rank % c->dims[i];
        rank /= c->dims[i];
    }
}

SHIM_WEAK(Cart_coords)
int PMPI_Cart_coords(MPI_Comm comm, int rank, int maxdims, int coords[])
{
    struct shim_comm *c = NULL;
    int rc = cart_check(comm, &c);

    if (rc == 0 && (rank < 0 || rank >= c->size))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    if (rc == 0 && (maxdims < c->ndims || (c->ndims && !coords)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Cart_coords", rc);
    cart_coords(c, rank, coords);
    return MPI_SUCCESS;
}

SHIM_WEAK(Cart_rank)
int PMPI_Cart_rank(MPI_Comm comm, const int coords[], int *rank)
{
    struct shim_comm *c = NULL;
    int rc = cart_check(comm, &c);
    int r = 0;

    if (rc == 0 && (!rank || (c->ndims && !coords)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    for (int i = 0; rc == 0 && i < c->ndims; i++) {
        int x = coords[i];
        if (c->periods[i])
            x = ((x % c->dims[i]) + c->dims[i]) % c->dims[i];
        else if (x < 0 || x >= c->dims[i])
            rc = SHIM_ECLASS(MPI_ERR_RANK);
        r = r * c->dims[i] + x;
    }
    if (rc)
        return shim_err(c, "MPI_Cart_rank", rc);
    *rank = r;
    return MPI_SUCCESS;
}

SHIM_WEAK(Cart_shift)
int PMPI_Cart_shift(
    MPI_Comm comm, int direction, int disp, int *rank_source, int *rank_dest)
{
    struct shim_comm *c = NULL;
    int rc = cart_check(comm, &c);

    if (rc == 0
        && (direction < 0 || direction >= c->ndims || !rank_source
            || !rank_dest))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Cart_shift", rc);
    int *co = malloc(sizeof(int) * c->ndims);
    if (!co)
        return shim_err(c, "MPI_Cart_shift", -ENOMEM);
    int *out[2] = {rank_dest, rank_source};
    int d[2] = {disp, -disp};
    for (int k = 0; k < 2; k++) {
        cart_coords(c, c->rank, co);
        int x = co[direction] + d[k];
        int dim = c->dims[direction];
        if (c->periods[direction]) {
            x = ((x % dim) + dim) % dim;
        } else if (x < 0 || x >= dim) {
            *out[k] = MPI_PROC_NULL;
            continue;
        }
        co[direction] = x;
        int r = 0;
        for (int i = 0; i < c->ndims; i++)
            r = r * c->dims[i] + co[i];
        *out[k] = r;
    }
    free(co);
    return MPI_SUCCESS;
}

SHIM_WEAK(Cart_get)
int PMPI_Cart_get(
    MPI_Comm comm, int maxdims, int dims[], int periods[], int coords[])
{
    struct shim_comm *c = NULL;
    int rc = cart_check(comm, &c);

    if (rc == 0 && maxdims < c->ndims)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Cart_get", rc);
    for (int i = 0; i < c->ndims; i++) {
        dims[i] = c->dims[i];
        periods[i] = c->periods[i];
    }
    cart_coords(c, c->rank, coords);
    return MPI_SUCCESS;
}

SHIM_WEAK(Cartdim_get)
int PMPI_Cartdim_get(MPI_Comm comm, int *ndims)
{
    struct shim_comm *c = NULL;
    int rc = cart_check(comm, &c);

    if (rc == 0 && !ndims)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Cartdim_get", rc);
    *ndims = c->ndims;
    return MPI_SUCCESS;
}

SHIM_WEAK(Topo_test)
int PMPI_Topo_test(MPI_Comm comm, int *status)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c) || !status)
        return shim_err(NULL, "MPI_Topo_test", SHIM_ECLASS(MPI_ERR_COMM));
    *status = c->topo;
    return MPI_SUCCESS;
}

/* Splits nnodes over the dimensions left 0 in dims as evenly as possible:
 * prime factors, largest first, each to the currently smallest free
 * dimension; the result is non-increasing, as the standard asks. */
SHIM_WEAK(Dims_create)
int PMPI_Dims_create(int nnodes, int ndims, int dims[])
{
    int fixed = 1, nfree = 0;

    if (nnodes <= 0 || ndims < 0 || (ndims && !dims))
        return shim_err(NULL, "MPI_Dims_create", SHIM_ECLASS(MPI_ERR_DIMS));
    for (int i = 0; i < ndims; i++) {
        if (dims[i] < 0)
            return shim_err(NULL, "MPI_Dims_create", SHIM_ECLASS(MPI_ERR_DIMS));
        if (dims[i] > 0)
            fixed *= dims[i];
        else
            nfree++;
    }
    if (nnodes % fixed)
        return shim_err(NULL, "MPI_Dims_create", SHIM_ECLASS(MPI_ERR_DIMS));
    if (nfree == 0)
        return fixed == nnodes ? MPI_SUCCESS
                               : shim_err(NULL, "MPI_Dims_create",
                                          SHIM_ECLASS(MPI_ERR_DIMS));
    int rest = nnodes / fixed;
    int factors[64], nf = 0;
    for (int p = 2; rest > 1 && p * p <= rest; p++)
        while (rest % p == 0) {
            factors[nf++] = p;
            rest /= p;
        }
    if (rest > 1)
        factors[nf++] = rest;
    int *fd = malloc(sizeof(int) * nfree);
    if (!fd)
        return shim_err(NULL, "MPI_Dims_create", -ENOMEM);
    for (int i = 0; i < nfree; i++)
        fd[i] = 1;
    for (int f = nf - 1; f >= 0; f--) {
        int small = 0;
        for (int i = 1; i < nfree; i++)
            if (fd[i] < fd[small])
                small = i;
        fd[small] *= factors[f];
    }
    qsort(fd, (size_t)nfree, sizeof(int), cmp_int);
    for (int i = 0, k = nfree - 1; i < ndims; i++)
        if (dims[i] == 0)
            dims[i] = fd[k--];
    free(fd);
    return MPI_SUCCESS;
}
