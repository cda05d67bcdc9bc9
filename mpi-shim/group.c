/* SPDX-License-Identifier: MIT */
/* group.c - the group constructors beyond inclusion and exclusion:
 * ranges (MPI_Group_range_incl/_excl), set operations (union,
 * intersection, difference), and MPI_Comm_create_group, which makes a
 * communicator collectively over the members of a group only.
 *
 * Groups are lists of world ranks (struct shim_group, comm.c). The set
 * operations keep the order the standard gives: the first group's
 * members in its order, then (union) the second's not in the first.
 * Membership is checked with a mark per world rank, so each call is
 * linear in the sizes plus the world size. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

static int ret(const char *fn, int rc)
{
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

/* Expands n triplets (first, last, stride) into group ranks, each at most
 * once; *out (caller frees) and *count. */
static int ranges_expand(
    const struct shim_group *g, int n, int ranges[][3], int **out, int *count)
{
    char *seen = calloc((size_t)g->size + 1, 1);
    int *r = NULL;
    int m = 0, cap = 0;
    int rc = 0;

    if (!seen)
        return -ENOMEM;
    for (int i = 0; i < n && rc == 0; i++) {
        int first = ranges[i][0], last = ranges[i][1], stride = ranges[i][2];
        if (stride == 0 || first < 0 || first >= g->size || last < 0
            || last >= g->size || (stride > 0 && first > last)
            || (stride < 0 && first < last)) {
            rc = SHIM_ECLASS(MPI_ERR_RANK);
            break;
        }
        for (int k = first; stride > 0 ? k <= last : k >= last; k += stride) {
            if (seen[k]) {
                rc = SHIM_ECLASS(MPI_ERR_RANK);
                break;
            }
            seen[k] = 1;
            if (m == cap) {
                cap = cap ? 2 * cap : 16;
                int *nr = realloc(r, sizeof(int) * cap);
                if (!nr) {
                    rc = -ENOMEM;
                    break;
                }
                r = nr;
            }
            r[m++] = k;
        }
    }
    free(seen);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    *count = m;
    return 0;
}

static int range_check(MPI_Group group,
                       int n,
                       int ranges[][3],
                       MPI_Group *newgroup,
                       struct shim_group **g)
{
    int rc = shim_group_check(group, g);

    if (rc == 0 && (n < 0 || !newgroup || (n > 0 && !ranges)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    return rc;
}

SHIM_WEAK(Group_range_incl)
int PMPI_Group_range_incl(MPI_Group group,
                          int n,
                          int ranges[][3],
                          MPI_Group *newgroup)
{
    struct shim_group *g;
    int *r = NULL, m = 0;
    int rc = range_check(group, n, ranges, newgroup, &g);

    if (rc == 0)
        rc = ranges_expand(g, n, ranges, &r, &m);
    if (rc)
        return ret("MPI_Group_range_incl", rc);
    for (int i = 0; i < m; i++)
        r[i] = g->world[r[i]];
    return ret("MPI_Group_range_incl", shim_group_new(m, r, newgroup));
}

SHIM_WEAK(Group_range_excl)
int PMPI_Group_range_excl(MPI_Group group,
                          int n,
                          int ranges[][3],
                          MPI_Group *newgroup)
{
    struct shim_group *g;
    int *r = NULL, m = 0;
    int rc = range_check(group, n, ranges, newgroup, &g);

    if (rc == 0)
        rc = ranges_expand(g, n, ranges, &r, &m);
    if (rc)
        return ret("MPI_Group_range_excl", rc);
    char *drop = calloc((size_t)g->size + 1, 1);
    int *w = malloc(sizeof(int) * (g->size ? g->size : 1));
    if (!drop || !w) {
        free(drop);
        free(w);
        free(r);
        return ret("MPI_Group_range_excl", -ENOMEM);
    }
    for (int i = 0; i < m; i++)
        drop[r[i]] = 1;
    free(r);
    int k = 0;
    for (int i = 0; i < g->size; i++)
        if (!drop[i])
            w[k++] = g->world[i];
    free(drop);
    return ret("MPI_Group_range_excl", shim_group_new(k, w, newgroup));
}

enum set_op { SET_UNION, SET_INTERSECTION, SET_DIFFERENCE };

static int
set_op(enum set_op op, MPI_Group group1, MPI_Group group2, MPI_Group *newgroup)
{
    struct shim_group *a, *b;
    int rc = shim_group_check(group1, &a);

    if (rc == 0)
        rc = shim_group_check(group2, &b);
    if (rc == 0 && !newgroup)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return rc;
    char *inb = calloc((size_t)shim.size + 1, 1);
    int *w = malloc(sizeof(int) * ((size_t)a->size + b->size + 1));
    if (!inb || !w) {
        free(inb);
        free(w);
        return -ENOMEM;
    }
    for (int i = 0; i < b->size; i++)
        inb[b->world[i]] = 1;
    int n = 0;
    for (int i = 0; i < a->size; i++) {
        bool both = inb[a->world[i]];
        if (op == SET_UNION || (op == SET_INTERSECTION) == both)
            w[n++] = a->world[i];
    }
    if (op == SET_UNION) {
        /* inb now marks the first group, to add the second's others. */
        memset(inb, 0, (size_t)shim.size + 1);
        for (int i = 0; i < a->size; i++)
            inb[a->world[i]] = 1;
        for (int i = 0; i < b->size; i++)
            if (!inb[b->world[i]])
                w[n++] = b->world[i];
    }
    free(inb);
    return shim_group_new(n, w, newgroup);
}

SHIM_WEAK(Group_union)
int PMPI_Group_union(MPI_Group group1, MPI_Group group2, MPI_Group *newgroup)
{
    return ret("MPI_Group_union", set_op(SET_UNION, group1, group2, newgroup));
}

SHIM_WEAK(Group_intersection)
int PMPI_Group_intersection(MPI_Group group1,
                            MPI_Group group2,
                            MPI_Group *newgroup)
{
    return ret("MPI_Group_intersection",
               set_op(SET_INTERSECTION, group1, group2, newgroup));
}

SHIM_WEAK(Group_difference)
int PMPI_Group_difference(MPI_Group group1,
                          MPI_Group group2,
                          MPI_Group *newgroup)
{
    return ret("MPI_Group_difference",
               set_op(SET_DIFFERENCE, group1, group2, newgroup));
}

/* The context id free in every member of g (comm ranks crank[]): the
 * members send their masks to the first, which ANDs them and sends the
 * result back, on comm's point-to-point context with the caller's tag
 * (the tag MPI_Comm_create_group takes to tell concurrent calls apart). */
static int group_ctx(struct shim_comm *c,
                     const struct shim_group *g,
                     const int *crank,
                     int tag,
                     unsigned *id)
{
    enum { NMASK = SHIM_NCTX / 32 };
    struct shim_datatype *u32 = shim_dt_get(MPI_UINT32_T);
    uint32_t mask[NMASK], other[NMASK];
    struct shim_request *r;
    int rc = 0;

    shim_ctx_hold();
    shim_ctx_mine(mask);
    if (g->rank == 0) {
        for (int i = 1; i < g->size && rc == 0; i++) {
            rc = shim_irecv(other, NMASK, u32, crank[i], tag, c, c->ctx, &r);
            if (rc == 0) {
                rc = shim_req_wait(r);
                shim_req_free(r);
            }
            for (int w = 0; w < NMASK; w++)
                mask[w] &= other[w];
        }
        for (int i = 1; i < g->size && rc == 0; i++) {
            rc = shim_isend(mask, NMASK, u32, crank[i], tag, c, c->ctx,
                            SHIM_SEND_STD, &r);
            if (rc == 0) {
                rc = shim_req_wait(r);
                shim_req_free(r);
            }
        }
    } else {
        rc = shim_isend(mask, NMASK, u32, crank[0], tag, c, c->ctx,
                        SHIM_SEND_STD, &r);
        if (rc == 0) {
            rc = shim_req_wait(r);
            shim_req_free(r);
        }
        if (rc == 0)
            rc = shim_irecv(mask, NMASK, u32, crank[0], tag, c, c->ctx, &r);
        if (rc == 0) {
            rc = shim_req_wait(r);
            shim_req_free(r);
        }
    }
    shim_ctx_release();
    return rc ? rc : shim_ctx_pick(mask, id);
}

static int comm_create_group(struct shim_comm *c,
                             const struct shim_group *g,
                             int tag,
                             struct shim_comm **out)
{
    int *crank = malloc(sizeof(int) * g->size);
    unsigned id;
    int rc = crank ? 0 : -ENOMEM;

    /* Every member must belong to comm. */
    for (int i = 0; rc == 0 && i < g->size; i++) {
        crank[i] = -1;
        for (int k = 0; k < c->size; k++)
            if (c->world[k] == g->world[i])
                crank[i] = k;
        if (crank[i] < 0)
            rc = SHIM_ECLASS(MPI_ERR_GROUP);
    }
    if (rc == 0)
        rc = group_ctx(c, g, crank, tag, &id);
    free(crank);
    if (rc)
        return rc;
    int *w = malloc(sizeof(int) * g->size);
    if (!w)
        return -ENOMEM;
    memcpy(w, g->world, sizeof(int) * g->size);
    *out = shim_comm_new(id, g->size, w, g->rank);
    if (!*out) {
        free(w);
        return -ENOMEM;
    }
    (*out)->errhandler = c->errhandler;
    return 0;
}

SHIM_WEAK(Comm_create_group)
int PMPI_Comm_create_group(MPI_Comm comm,
                           MPI_Group group,
                           int tag,
                           MPI_Comm *newcomm)
{
    struct shim_comm *c, *n = NULL;
    struct shim_group *g;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Comm_create_group", rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0)
        rc = shim_group_check(group, &g);
    if (rc == 0 && (tag < 0 || tag > SHIM_TAG_MAX))
        rc = SHIM_ECLASS(MPI_ERR_TAG);
    if (rc == 0 && !newcomm)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    /* A process outside the group gets MPI_COMM_NULL. */
    if (rc == 0 && g->rank != MPI_UNDEFINED)
        rc = comm_create_group(c, g, tag, &n);
    if (rc)
        return shim_err(c, "MPI_Comm_create_group", rc);
    *newcomm = n ? n->handle : MPI_COMM_NULL;
    return MPI_SUCCESS;
}
