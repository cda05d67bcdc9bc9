/* SPDX-License-Identifier: MIT */
/* datatype.c - predefined and derived datatypes.
 *
 * Every type is flattened once, at construction, into the list of byte
 * blocks of one element in typemap order. Pack and unpack walk that list;
 * contiguous types skip it, so their data goes to libfabric in place. */
#include "config.h"

#include <complex.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct pair_float_int {
    float a;
    int b;
};
struct pair_double_int {
    double a;
    int b;
};
struct pair_long_int {
    long a;
    int b;
};
struct pair_int_int {
    int a;
    int b;
};
struct pair_short_int {
    short a;
    int b;
};
struct pair_ldouble_int {
    long double a;
    int b;
};

#define PAIR(T) sizeof(((T *)0)->a), offsetof(T, b), sizeof(T)

static const struct predef {
    int index;
    const char *name;
    size_t size;
    /* MINLOC/MAXLOC pairs: value bytes, offset of the int, extent. */
    size_t a, boff, ext;
} predefs[] = {
    {1, "MPI_CHAR", sizeof(char), 0, 0, 0},
    {2, "MPI_SIGNED_CHAR", sizeof(signed char), 0, 0, 0},
    {3, "MPI_UNSIGNED_CHAR", sizeof(unsigned char), 0, 0, 0},
    {4, "MPI_BYTE", 1, 0, 0, 0},
    {5, "MPI_WCHAR", sizeof(wchar_t), 0, 0, 0},
    {6, "MPI_SHORT", sizeof(short), 0, 0, 0},
    {7, "MPI_UNSIGNED_SHORT", sizeof(unsigned short), 0, 0, 0},
    {8, "MPI_INT", sizeof(int), 0, 0, 0},
    {9, "MPI_UNSIGNED", sizeof(unsigned), 0, 0, 0},
    {10, "MPI_LONG", sizeof(long), 0, 0, 0},
    {11, "MPI_UNSIGNED_LONG", sizeof(unsigned long), 0, 0, 0},
    {12, "MPI_LONG_LONG_INT", sizeof(long long), 0, 0, 0},
    {13, "MPI_UNSIGNED_LONG_LONG", sizeof(unsigned long long), 0, 0, 0},
    {14, "MPI_FLOAT", sizeof(float), 0, 0, 0},
    {15, "MPI_DOUBLE", sizeof(double), 0, 0, 0},
    {16, "MPI_LONG_DOUBLE", sizeof(long double), 0, 0, 0},
    {17, "MPI_INT8_T", 1, 0, 0, 0},
    {18, "MPI_INT16_T", 2, 0, 0, 0},
    {19, "MPI_INT32_T", 4, 0, 0, 0},
    {20, "MPI_INT64_T", 8, 0, 0, 0},
    {21, "MPI_UINT8_T", 1, 0, 0, 0},
    {22, "MPI_UINT16_T", 2, 0, 0, 0},
    {23, "MPI_UINT32_T", 4, 0, 0, 0},
    {24, "MPI_UINT64_T", 8, 0, 0, 0},
    {25, "MPI_C_BOOL", sizeof(_Bool), 0, 0, 0},
    {26, "MPI_C_FLOAT_COMPLEX", sizeof(float _Complex), 0, 0, 0},
    {27, "MPI_C_DOUBLE_COMPLEX", sizeof(double _Complex), 0, 0, 0},
    {28, "MPI_C_LONG_DOUBLE_COMPLEX", sizeof(long double _Complex), 0, 0, 0},
    {29, "MPI_AINT", sizeof(MPI_Aint), 0, 0, 0},
    {30, "MPI_OFFSET", sizeof(MPI_Offset), 0, 0, 0},
    {31, "MPI_COUNT", sizeof(MPI_Count), 0, 0, 0},
    {32, "MPI_PACKED", 1, 0, 0, 0},
    {33, "MPI_FLOAT_INT", 0, PAIR(struct pair_float_int)},
    {34, "MPI_DOUBLE_INT", 0, PAIR(struct pair_double_int)},
    {35, "MPI_LONG_INT", 0, PAIR(struct pair_long_int)},
    {36, "MPI_2INT", 0, PAIR(struct pair_int_int)},
    {37, "MPI_SHORT_INT", 0, PAIR(struct pair_short_int)},
    {38, "MPI_LONG_DOUBLE_INT", 0, PAIR(struct pair_ldouble_int)},
};
enum { NPREDEF = 39 };

static struct shim_datatype predef_types[NPREDEF];
static struct shim_dt_block predef_blocks[NPREDEF][2];

/* Appends a block, merging it with the previous one when they touch. */
static int blocks_add(
    struct shim_dt_block **blocks, int *n, int *cap, MPI_Aint off, size_t len)
{
    if (len == 0)
        return 0;
    if (*n > 0) {
        struct shim_dt_block *last = &(*blocks)[*n - 1];
        if (last->off + (MPI_Aint)last->len == off) {
            last->len += len;
            return 0;
        }
    }
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 8;
        struct shim_dt_block *b = realloc(*blocks, sizeof(*b) * c);
        if (!b)
            return -ENOMEM;
        *blocks = b;
        *cap = c;
    }
    (*blocks)[*n].off = off;
    (*blocks)[*n].len = len;
    (*n)++;
    return 0;
}

static void finish_layout(struct shim_datatype *t)
{
    MPI_Aint lo = 0, hi = 0;

    for (int i = 0; i < t->nblocks; i++) {
        MPI_Aint b = t->blocks[i].off;
        MPI_Aint e = b + (MPI_Aint)t->blocks[i].len;
        if (i == 0 || b < lo)
            lo = b;
        if (i == 0 || e > hi)
            hi = e;
    }
    t->true_lb = lo;
    t->true_extent = hi - lo;
    t->contig = (t->nblocks == 1 && (MPI_Aint)t->size == t->extent
                 && t->blocks[0].off == t->lb)
                || (t->size == 0);
    t->dense = t->contig;
}

int shim_dt_init(void)
{
    for (int i = 0; i < NPREDEF; i++) {
        struct shim_datatype *t = &predef_types[i];
        int rc = shim_table_insert(&shim.datatypes, t);
        if (rc < 0)
            return rc;
        t->handle = SHIM_HANDLE(SHIM_KIND_DATATYPE, i);
        t->predefined = true;
        t->committed = true;
        t->refcount = 1;
    }
    for (size_t k = 0; k < sizeof(predefs) / sizeof(predefs[0]); k++) {
        const struct predef *p = &predefs[k];
        struct shim_datatype *t = &predef_types[p->index];
        t->name = p->name;
        t->blocks = predef_blocks[p->index];
        t->basic = t->handle;
        t->elem = t->handle;
        t->nbasic = 1;
        if (p->size) {
            t->size = p->size;
            t->extent = (MPI_Aint)p->size;
            t->blocks[0] = (struct shim_dt_block){0, p->size};
            t->nblocks = 1;
        } else {
            t->size = p->a + sizeof(int);
            t->extent = (MPI_Aint)p->ext;
            t->blocks[0] = (struct shim_dt_block){0, p->a};
            t->blocks[1] =
                (struct shim_dt_block){(MPI_Aint)p->boff, sizeof(int)};
            t->nblocks = p->a == p->boff ? 1 : 2;
            if (t->nblocks == 1)
                t->blocks[0].len = t->size;
        }
        finish_layout(t);
        if (!p->size)
            t->dense = true; /* reductions treat the pair struct whole */
    }
    /* Index 0 is the null handle's slot. */
    shim.datatypes.slots[0] = NULL;
    return 0;
}

static void dt_destroy(struct shim_datatype *t)
{
    if (!t || t->predefined)
        return;
    shim_attr_drop(&t->attrs);
    shim_dt_env_free(t);
    free(t->blocks);
    free(t);
}

void shim_dt_incref(struct shim_datatype *t)
{
    if (t && !t->predefined)
        t->refcount++;
}

void shim_dt_decref(struct shim_datatype *t)
{
    if (t && !t->predefined && --t->refcount == 0)
        dt_destroy(t);
}

void shim_dt_finalize(void)
{
    for (int i = 0; i < NPREDEF; i++) {
        shim_attr_drop(&predef_types[i].attrs);
        shim_dt_env_free(&predef_types[i]);
    }
    for (int i = NPREDEF; i < shim.datatypes.used; i++)
        dt_destroy(shim.datatypes.slots[i]);
    shim_table_release(&shim.datatypes);
}

struct shim_datatype *shim_dt_get(MPI_Datatype dt)
{
    return shim_table_lookup(&shim.datatypes, dt, SHIM_KIND_DATATYPE);
}

int shim_dt_check(MPI_Datatype dt, struct shim_datatype **out)
{
    struct shim_datatype *t = shim_dt_get(dt);

    if (!t || !t->committed)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    *out = t;
    return 0;
}

void shim_dt_pack(const struct shim_datatype *t,
                  const void *inbuf,
                  size_t count,
                  void *packed)
{
    const char *in = inbuf;
    char *out = packed;

    if (t->contig) {
        memcpy(out, in + t->true_lb, count * t->size);
        return;
    }
    for (size_t e = 0; e < count; e++) {
        const char *base = in + (MPI_Aint)e * t->extent;
        for (int b = 0; b < t->nblocks; b++) {
            memcpy(out, base + t->blocks[b].off, t->blocks[b].len);
            out += t->blocks[b].len;
        }
    }
}

void shim_dt_unpack(const struct shim_datatype *t,
                    const void *packed,
                    size_t nbytes,
                    void *outbuf)
{
    const char *in = packed;
    char *out = outbuf;

    if (t->contig) {
        memcpy(out + t->true_lb, in, nbytes);
        return;
    }
    for (size_t e = 0; nbytes > 0; e++) {
        char *base = out + (MPI_Aint)e * t->extent;
        for (int b = 0; b < t->nblocks && nbytes > 0; b++) {
            size_t n = t->blocks[b].len < nbytes ? t->blocks[b].len : nbytes;
            memcpy(base + t->blocks[b].off, in, n);
            in += n;
            nbytes -= n;
        }
    }
}

/* Builds a type from `count` runs of `lens[i]` elements of `types[i]`, each
 * run starting `disps[i]` bytes from the origin: every constructor is a
 * special case of this (the struct one). */
static int dt_build(int count,
                    const int *lens,
                    const MPI_Aint *disps,
                    struct shim_datatype *const *types,
                    MPI_Datatype *newtype)
{
    struct shim_datatype *t = calloc(1, sizeof(*t));
    int cap = 0;
    bool first = true;
    MPI_Aint lb = 0, ub = 0;
    int rc = -ENOMEM;

    if (!t)
        return -ENOMEM;
    t->refcount = 1;
    t->basic = MPI_DATATYPE_NULL;
    t->elem = MPI_DATATYPE_NULL;
    for (int i = 0; i < count; i++) {
        const struct shim_datatype *o = types[i];
        if (lens[i] <= 0)
            continue;
        for (int j = 0; j < lens[i]; j++) {
            MPI_Aint base = disps[i] + (MPI_Aint)j * o->extent;
            for (int b = 0; b < o->nblocks; b++) {
                rc = blocks_add(&t->blocks, &t->nblocks, &cap,
                                base + o->blocks[b].off, o->blocks[b].len);
                if (rc)
                    goto error;
            }
        }
        MPI_Aint l = disps[i] + o->lb;
        MPI_Aint u = l + (MPI_Aint)lens[i] * o->extent;
        if (first || l < lb)
            lb = l;
        if (first || u > ub)
            ub = u;
        t->size += (size_t)lens[i] * o->size;
        if (first) {
            t->basic = o->basic;
            t->elem = o->elem;
        } else {
            if (t->basic != o->basic)
                t->basic = MPI_DATATYPE_NULL;
            if (t->elem != o->elem)
                t->elem = MPI_DATATYPE_NULL;
        }
        t->nbasic += (size_t)lens[i] * o->nbasic;
        first = false;
    }
    t->lb = lb;
    t->extent = ub - lb;
    finish_layout(t);
    /* Reductions on packed data need padding-free basic elements. */
    if (t->basic != MPI_DATATYPE_NULL && !shim_dt_get(t->basic)->contig)
        t->basic = MPI_DATATYPE_NULL;
    rc = shim_table_insert(&shim.datatypes, t);
    if (rc < 0)
        goto error;
    t->handle = SHIM_HANDLE(SHIM_KIND_DATATYPE, rc);
    *newtype = t->handle;
    return 0;
error:
    free(t->blocks);
    free(t);
    return rc;
}

/* Validates oldtype (committed or not: constructors accept both). */
static int old_check(MPI_Datatype dt, struct shim_datatype **out)
{
    *out = shim_dt_get(dt);
    return *out ? 0 : SHIM_ECLASS(MPI_ERR_TYPE);
}

static int ret(const char *fn, int rc)
{
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

static int
type_contiguous_impl(int count, MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    struct shim_datatype *o;
    MPI_Aint disp = 0;
    int rc = old_check(oldtype, &o);

    if (rc == 0 && (count < 0 || !newtype))
        rc = SHIM_ECLASS(count < 0 ? MPI_ERR_COUNT : MPI_ERR_ARG);
    if (rc == 0)
        rc = dt_build(1, &count, &disp, &o, newtype);
    return ret("MPI_Type_contiguous", rc);
}

static int hvector(int count,
                   int blocklength,
                   MPI_Aint stride,
                   MPI_Datatype oldtype,
                   MPI_Datatype *newtype)
{
    struct shim_datatype *o;
    int rc = old_check(oldtype, &o);

    if (rc)
        return rc;
    if (count < 0 || blocklength < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (!newtype)
        return SHIM_ECLASS(MPI_ERR_ARG);
    int *lens = malloc(sizeof(int) * (count ? count : 1));
    MPI_Aint *disps = malloc(sizeof(MPI_Aint) * (count ? count : 1));
    struct shim_datatype **types = malloc(sizeof(*types) * (count ? count : 1));
    rc = -ENOMEM;
    if (lens && disps && types) {
        for (int i = 0; i < count; i++) {
            lens[i] = blocklength;
            disps[i] = (MPI_Aint)i * stride;
            types[i] = o;
        }
        rc = dt_build(count, lens, disps, types, newtype);
    }
    free(lens);
    free(disps);
    free(types);
    return rc;
}

static int type_vector_impl(int count,
                            int blocklength,
                            int stride,
                            MPI_Datatype oldtype,
                            MPI_Datatype *newtype)
{
    struct shim_datatype *o = shim_dt_get(oldtype);

    if (!o)
        return ret("MPI_Type_vector", SHIM_ECLASS(MPI_ERR_TYPE));
    return ret("MPI_Type_vector",
               hvector(count, blocklength, (MPI_Aint)stride * o->extent,
                       oldtype, newtype));
}

static int type_create_hvector_impl(int count,
                                    int blocklength,
                                    MPI_Aint stride,
                                    MPI_Datatype oldtype,
                                    MPI_Datatype *newtype)
{
    return ret("MPI_Type_create_hvector",
               hvector(count, blocklength, stride, oldtype, newtype));
}

static int hindexed(int count,
                    const int *lens,
                    const MPI_Aint *disps,
                    MPI_Datatype oldtype,
                    MPI_Datatype *newtype)
{
    struct shim_datatype *o;
    int rc = old_check(oldtype, &o);

    if (rc)
        return rc;
    if (count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (!newtype || (count > 0 && (!lens || !disps)))
        return SHIM_ECLASS(MPI_ERR_ARG);
    struct shim_datatype **types = malloc(sizeof(*types) * (count ? count : 1));
    if (!types)
        return -ENOMEM;
    for (int i = 0; i < count; i++)
        types[i] = o;
    rc = dt_build(count, lens, disps, types, newtype);
    free(types);
    return rc;
}

static int type_indexed_impl(int count,
                             const int array_of_blocklengths[],
                             const int array_of_displacements[],
                             MPI_Datatype oldtype,
                             MPI_Datatype *newtype)
{
    struct shim_datatype *o = shim_dt_get(oldtype);
    int rc;

    if (!o)
        return ret("MPI_Type_indexed", SHIM_ECLASS(MPI_ERR_TYPE));
    if (count < 0)
        return ret("MPI_Type_indexed", SHIM_ECLASS(MPI_ERR_COUNT));
    MPI_Aint *d = malloc(sizeof(*d) * (count ? count : 1));
    if (!d)
        return ret("MPI_Type_indexed", -ENOMEM);
    for (int i = 0; i < count; i++)
        d[i] = (MPI_Aint)array_of_displacements[i] * o->extent;
    rc = hindexed(count, array_of_blocklengths, d, oldtype, newtype);
    free(d);
    return ret("MPI_Type_indexed", rc);
}

static int type_create_hindexed_impl(int count,
                                     const int array_of_blocklengths[],
                                     const MPI_Aint array_of_displacements[],
                                     MPI_Datatype oldtype,
                                     MPI_Datatype *newtype)
{
    return ret("MPI_Type_create_hindexed",
               hindexed(count, array_of_blocklengths, array_of_displacements,
                        oldtype, newtype));
}

static int type_create_indexed_block_impl(int count,
                                          int blocklength,
                                          const int array_of_displacements[],
                                          MPI_Datatype oldtype,
                                          MPI_Datatype *newtype)
{
    int rc;

    if (count < 0)
        return ret("MPI_Type_create_indexed_block", SHIM_ECLASS(MPI_ERR_COUNT));
    int *lens = malloc(sizeof(int) * (count ? count : 1));
    if (!lens)
        return ret("MPI_Type_create_indexed_block", -ENOMEM);
    for (int i = 0; i < count; i++)
        lens[i] = blocklength;
    rc = PMPI_Type_indexed(count, lens, array_of_displacements, oldtype,
                           newtype);
    free(lens);
    return rc;
}

static int type_create_struct_impl(int count,
                                   const int array_of_blocklengths[],
                                   const MPI_Aint array_of_displacements[],
                                   const MPI_Datatype array_of_types[],
                                   MPI_Datatype *newtype)
{
    int rc = 0;

    if (count < 0)
        return ret("MPI_Type_create_struct", SHIM_ECLASS(MPI_ERR_COUNT));
    if (!newtype
        || (count > 0
            && (!array_of_blocklengths || !array_of_displacements
                || !array_of_types)))
        return ret("MPI_Type_create_struct", SHIM_ECLASS(MPI_ERR_ARG));
    struct shim_datatype **types = malloc(sizeof(*types) * (count ? count : 1));
    if (!types)
        return ret("MPI_Type_create_struct", -ENOMEM);
    for (int i = 0; i < count && rc == 0; i++)
        rc = old_check(array_of_types[i], &types[i]);
    if (rc == 0)
        rc = dt_build(count, array_of_blocklengths, array_of_displacements,
                      types, newtype);
    free(types);
    return ret("MPI_Type_create_struct", rc);
}

static int type_create_resized_impl(MPI_Datatype oldtype,
                                    MPI_Aint lb,
                                    MPI_Aint extent,
                                    MPI_Datatype *newtype)
{
    struct shim_datatype *o;
    int one = 1;
    MPI_Aint zero = 0;
    int rc = old_check(oldtype, &o);

    if (rc == 0 && !newtype)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = dt_build(1, &one, &zero, &o, newtype);
    if (rc == 0) {
        struct shim_datatype *t = shim_dt_get(*newtype);
        t->lb = lb;
        t->extent = extent;
        finish_layout(t);
        if (t->basic != MPI_DATATYPE_NULL && o->dense && !o->contig
            && extent == o->extent && lb == o->lb)
            t->dense = true;
    }
    return ret("MPI_Type_create_resized", rc);
}

static int type_dup_impl(MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    struct shim_datatype *o;
    int rc = old_check(oldtype, &o);

    if (rc == 0)
        rc = PMPI_Type_create_resized(oldtype, o->lb, o->extent, newtype);
    else
        rc = ret("MPI_Type_dup", rc);
    if (rc != MPI_SUCCESS)
        return rc;
    struct shim_datatype *t = shim_dt_get(*newtype);
    t->committed = o->committed;
    rc = shim_attr_copy(SHIM_ATTR_TYPE, &o->attrs, o->handle, &t->attrs);
    if (rc) {
        shim_table_remove(&shim.datatypes, t->handle);
        shim_dt_decref(t);
        *newtype = MPI_DATATYPE_NULL;
        return ret("MPI_Type_dup", rc);
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_commit)
int PMPI_Type_commit(MPI_Datatype *datatype)
{
    struct shim_datatype *t = datatype ? shim_dt_get(*datatype) : NULL;

    if (!t)
        return ret("MPI_Type_commit", SHIM_ECLASS(MPI_ERR_TYPE));
    t->committed = true;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_free)
int PMPI_Type_free(MPI_Datatype *datatype)
{
    struct shim_datatype *t = datatype ? shim_dt_get(*datatype) : NULL;

    if (!t || t->predefined)
        return ret("MPI_Type_free", SHIM_ECLASS(MPI_ERR_TYPE));
    int rc = shim_attr_clear(SHIM_ATTR_TYPE, &t->attrs, t->handle);
    if (rc)
        return ret("MPI_Type_free", rc);
    shim_table_remove(&shim.datatypes, t->handle);
    shim_dt_decref(t);
    *datatype = MPI_DATATYPE_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_size)
int PMPI_Type_size(MPI_Datatype datatype, int *size)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_size", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!size)
        return ret("MPI_Type_size", SHIM_ECLASS(MPI_ERR_ARG));
    *size = (int)t->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_get_extent)
int PMPI_Type_get_extent(MPI_Datatype datatype, MPI_Aint *lb, MPI_Aint *extent)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_get_extent", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!lb || !extent)
        return ret("MPI_Type_get_extent", SHIM_ECLASS(MPI_ERR_ARG));
    *lb = t->lb;
    *extent = t->extent;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_get_true_extent)
int PMPI_Type_get_true_extent(MPI_Datatype datatype,
                              MPI_Aint *true_lb,
                              MPI_Aint *true_extent)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return ret("MPI_Type_get_true_extent", SHIM_ECLASS(MPI_ERR_TYPE));
    if (!true_lb || !true_extent)
        return ret("MPI_Type_get_true_extent", SHIM_ECLASS(MPI_ERR_ARG));
    *true_lb = t->true_lb;
    *true_extent = t->true_extent;
    return MPI_SUCCESS;
}

SHIM_WEAK(Pack_size)
int PMPI_Pack_size(int incount, MPI_Datatype datatype, MPI_Comm comm, int *size)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    (void)comm;
    if (rc == 0 && (incount < 0 || !size))
        rc = SHIM_ECLASS(incount < 0 ? MPI_ERR_COUNT : MPI_ERR_ARG);
    if (rc)
        return ret("MPI_Pack_size", rc);
    *size = incount * (int)t->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Pack)
int PMPI_Pack(const void *inbuf,
              int incount,
              MPI_Datatype datatype,
              void *outbuf,
              int outsize,
              int *position,
              MPI_Comm comm)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    (void)comm;
    if (rc == 0 && (incount < 0 || !position))
        rc = SHIM_ECLASS(incount < 0 ? MPI_ERR_COUNT : MPI_ERR_ARG);
    if (rc == 0 && *position + (size_t)incount * t->size > (size_t)outsize)
        rc = SHIM_ECLASS(MPI_ERR_TRUNCATE);
    if (rc)
        return ret("MPI_Pack", rc);
    shim_dt_pack(t, inbuf, (size_t)incount, (char *)outbuf + *position);
    *position += incount * (int)t->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Unpack)
int PMPI_Unpack(const void *inbuf,
                int insize,
                int *position,
                void *outbuf,
                int outcount,
                MPI_Datatype datatype,
                MPI_Comm comm)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    (void)comm;
    if (rc == 0 && (outcount < 0 || !position))
        rc = SHIM_ECLASS(outcount < 0 ? MPI_ERR_COUNT : MPI_ERR_ARG);
    if (rc == 0 && *position + (size_t)outcount * t->size > (size_t)insize)
        rc = SHIM_ECLASS(MPI_ERR_TRUNCATE);
    if (rc)
        return ret("MPI_Unpack", rc);
    shim_dt_unpack(t, (const char *)inbuf + *position,
                   (size_t)outcount * t->size, outbuf);
    *position += outcount * (int)t->size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Get_address)
int PMPI_Get_address(const void *location, MPI_Aint *address)
{
    if (!address)
        return ret("MPI_Get_address", SHIM_ECLASS(MPI_ERR_ARG));
    *address = (MPI_Aint)location;
    return MPI_SUCCESS;
}

/* ---- the constructors' entry points ----------------------------------------
 * Each builds its type, then records how (shim_dt_record, dtinfo.c) for
 * MPI_Type_get_envelope and _get_contents; a type whose record cannot be
 * kept is freed again, so a failing call leaves nothing. */
static int recorded(const char *fn, MPI_Datatype *newtype, int rc)
{
    if (rc == 0)
        return MPI_SUCCESS;
    PMPI_Type_free(newtype);
    return ret(fn, rc);
}

SHIM_WEAK(Type_contiguous)
int PMPI_Type_contiguous(int count, MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    int rc = type_contiguous_impl(count, oldtype, newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_contiguous", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_CONTIGUOUS, 1, &count,
                                   NULL, 0, NULL, 1, &oldtype));
}

SHIM_WEAK(Type_vector)
int PMPI_Type_vector(int count,
                     int blocklength,
                     int stride,
                     MPI_Datatype oldtype,
                     MPI_Datatype *newtype)
{
    int rc = type_vector_impl(count, blocklength, stride, oldtype, newtype);
    int ints[3] = {count, blocklength, stride};

    if (rc)
        return rc;
    return recorded("MPI_Type_vector", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_VECTOR, 3, ints, NULL,
                                   0, NULL, 1, &oldtype));
}

SHIM_WEAK(Type_create_hvector)
int PMPI_Type_create_hvector(int count,
                             int blocklength,
                             MPI_Aint stride,
                             MPI_Datatype oldtype,
                             MPI_Datatype *newtype)
{
    int rc =
        type_create_hvector_impl(count, blocklength, stride, oldtype, newtype);
    int ints[2] = {count, blocklength};

    if (rc)
        return rc;
    return recorded("MPI_Type_create_hvector", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_HVECTOR, 2, ints,
                                   NULL, 1, &stride, 1, &oldtype));
}

SHIM_WEAK(Type_indexed)
int PMPI_Type_indexed(int count,
                      const int array_of_blocklengths[],
                      const int array_of_displacements[],
                      MPI_Datatype oldtype,
                      MPI_Datatype *newtype)
{
    int rc = type_indexed_impl(count, array_of_blocklengths,
                               array_of_displacements, oldtype, newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_indexed", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_INDEXED, count,
                                   array_of_blocklengths,
                                   array_of_displacements, 0, NULL, 1,
                                   &oldtype));
}

SHIM_WEAK(Type_create_hindexed)
int PMPI_Type_create_hindexed(int count,
                              const int array_of_blocklengths[],
                              const MPI_Aint array_of_displacements[],
                              MPI_Datatype oldtype,
                              MPI_Datatype *newtype)
{
    int rc = type_create_hindexed_impl(
        count, array_of_blocklengths, array_of_displacements, oldtype, newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_create_hindexed", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_HINDEXED, count,
                                   array_of_blocklengths, NULL, count,
                                   array_of_displacements, 1, &oldtype));
}

SHIM_WEAK(Type_create_indexed_block)
int PMPI_Type_create_indexed_block(int count,
                                   int blocklength,
                                   const int array_of_displacements[],
                                   MPI_Datatype oldtype,
                                   MPI_Datatype *newtype)
{
    int rc = type_create_indexed_block_impl(
        count, blocklength, array_of_displacements, oldtype, newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_create_indexed_block", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_INDEXED_BLOCK, count,
                                   &blocklength, array_of_displacements, 0,
                                   NULL, 1, &oldtype));
}

SHIM_WEAK(Type_create_hindexed_block)
int PMPI_Type_create_hindexed_block(int count,
                                    int blocklength,
                                    const MPI_Aint array_of_displacements[],
                                    MPI_Datatype oldtype,
                                    MPI_Datatype *newtype)
{
    int rc;

    if (count < 0)
        return ret("MPI_Type_create_hindexed_block",
                   SHIM_ECLASS(MPI_ERR_COUNT));
    int *lens = malloc(sizeof(int) * (count ? count : 1));
    if (!lens)
        return ret("MPI_Type_create_hindexed_block", -ENOMEM);
    for (int i = 0; i < count; i++)
        lens[i] = blocklength;
    rc = ret("MPI_Type_create_hindexed_block",
             hindexed(count, lens, array_of_displacements, oldtype, newtype));
    free(lens);
    if (rc)
        return rc;
    return recorded("MPI_Type_create_hindexed_block", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_HINDEXED_BLOCK, count,
                                   &blocklength, NULL, count,
                                   array_of_displacements, 1, &oldtype));
}

SHIM_WEAK(Type_create_struct)
int PMPI_Type_create_struct(int count,
                            const int array_of_blocklengths[],
                            const MPI_Aint array_of_displacements[],
                            const MPI_Datatype array_of_types[],
                            MPI_Datatype *newtype)
{
    int rc = type_create_struct_impl(count, array_of_blocklengths,
                                     array_of_displacements, array_of_types,
                                     newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_create_struct", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_STRUCT, count,
                                   array_of_blocklengths, NULL, count,
                                   array_of_displacements, count,
                                   array_of_types));
}

SHIM_WEAK(Type_create_resized)
int PMPI_Type_create_resized(MPI_Datatype oldtype,
                             MPI_Aint lb,
                             MPI_Aint extent,
                             MPI_Datatype *newtype)
{
    int rc = type_create_resized_impl(oldtype, lb, extent, newtype);
    MPI_Aint a[2] = {lb, extent};

    if (rc)
        return rc;
    return recorded("MPI_Type_create_resized", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_RESIZED, 0, NULL,
                                   NULL, 2, a, 1, &oldtype));
}

SHIM_WEAK(Type_dup)
int PMPI_Type_dup(MPI_Datatype oldtype, MPI_Datatype *newtype)
{
    int rc = type_dup_impl(oldtype, newtype);

    if (rc)
        return rc;
    return recorded("MPI_Type_dup", newtype,
                    shim_dt_record(*newtype, MPI_COMBINER_DUP, 0, NULL, NULL, 0,
                                   NULL, 1, &oldtype));
}
