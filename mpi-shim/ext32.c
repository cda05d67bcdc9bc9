/* SPDX-License-Identifier: MIT */
/* ext32.c - the "external32" data representation: MPI_Pack_external,
 * MPI_Unpack_external, MPI_Pack_external_size; and MPI_Type_match_size.
 *
 * external32 (MPI-3.1 13.5.2) is big-endian with fixed sizes: integers of
 * their C99 width (long and the address types 8 bytes, wchar_t 4),
 * IEEE floats and doubles, complex as two floats. The packed stream
 * follows the type signature, so a derived type is walked through the
 * record its constructor left (dtinfo.c), element by element in typemap
 * order. long double is IEEE quad in external32, which this library does
 * not convert: types containing it give MPI_ERR_TYPE with that said. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

enum ext_dir { EXT_SIZE, EXT_PACK, EXT_UNPACK };

struct ext_walk {
    enum ext_dir dir;
    unsigned char *buf; /* the packed stream */
    size_t pos;
    size_t cap;
};

/* external32 size of one element of predefined type h, its native size
 * (*native), or 0 when unsupported (long double). Pairs are split by the
 * caller. */
static size_t ext_size(MPI_Datatype h, size_t *native)
{
    struct shim_datatype *t = shim_dt_get(h);

    *native = t->size;
    if (h == MPI_LONG_DOUBLE || h == MPI_C_LONG_DOUBLE_COMPLEX)
        return 0;
    if (h == MPI_WCHAR)
        return 4;
    return t->size; /* every other native size equals external32's here */
}

/* Copies n bytes between native and big-endian, in parts of part bytes
 * (complex numbers are two parts). */
static void
swap_copy(unsigned char *dst, const unsigned char *src, size_t n, size_t part)
{
    for (size_t p = 0; p < n; p += part)
        for (size_t i = 0; i < part; i++)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            dst[p + i] = src[p + part - 1 - i];
#else
            dst[p + i] = src[p + i];
#endif
}

static int ext_elem(struct ext_walk *w, MPI_Datatype h, unsigned char *at)
{
    size_t native;
    size_t n = ext_size(h, &native);

    if (n == 0)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    if (w->dir != EXT_SIZE && w->pos + n > w->cap)
        return SHIM_ECLASS(MPI_ERR_TRUNCATE);
    bool cplx = h == MPI_C_FLOAT_COMPLEX || h == MPI_C_DOUBLE_COMPLEX;
    size_t part = cplx ? native / 2 : native;
    if (w->dir == EXT_PACK)
        swap_copy(w->buf + w->pos, at, n, part);
    else if (w->dir == EXT_UNPACK)
        swap_copy(at, w->buf + w->pos, n, part);
    w->pos += n;
    return 0;
}

static int
ext_walk(struct ext_walk *w, struct shim_datatype *t, unsigned char *base);

/* n elements of t, extent apart, from base. */
static int
ext_run(struct ext_walk *w, struct shim_datatype *t, unsigned char *base, int n)
{
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++)
        rc = ext_walk(w, t, base + (MPI_Aint)i * t->extent);
    return rc;
}

/* The elements of a subarray (record ints) of o at base, in array
 * order: every index of the subarray, slowest dimension first. */
static int ext_subarray(struct ext_walk *w,
                        struct shim_datatype *o,
                        unsigned char *base,
                        const int *ints)
{
    int n = ints[0], order = ints[1 + 3 * n];
    const int *sizes = ints + 1, *sub = ints + 1 + n,
              *starts = ints + 1 + 2 * n;
    int idx[64] = {0};

    if (n > 64)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    for (;;) {
        MPI_Aint off = 0;
        for (int k = 0; k < n; k++) {
            int d = order == MPI_ORDER_C ? k : n - 1 - k;
            off = off * sizes[d] + starts[d] + idx[d];
        }
        int rc = ext_walk(w, o, base + off * o->extent);
        if (rc)
            return rc;
        int k = n - 1;
        for (; k >= 0; k--) {
            int d = order == MPI_ORDER_C ? k : n - 1 - k;
            if (++idx[d] < sub[d])
                break;
            idx[d] = 0;
        }
        if (k < 0)
            return 0;
    }
}

static int
ext_walk(struct ext_walk *w, struct shim_datatype *t, unsigned char *base)
{
    if (t->predefined) {
        MPI_Datatype h = t->handle;
        if (h >= MPI_FLOAT_INT && h <= MPI_LONG_DOUBLE_INT) {
            /* A MINLOC/MAXLOC pair: its value, then its int. */
            static const MPI_Datatype value[] = {MPI_FLOAT, MPI_DOUBLE,
                                                 MPI_LONG,  MPI_INT,
                                                 MPI_SHORT, MPI_LONG_DOUBLE};
            MPI_Datatype vt = value[h - MPI_FLOAT_INT];
            size_t ioff = t->nblocks == 2 ? (size_t)t->blocks[1].off
                                          : t->size - sizeof(int);
            int rc = ext_elem(w, vt, base);
            return rc ? rc : ext_elem(w, MPI_INT, base + ioff);
        }
        return ext_elem(w, h, base);
    }
    int comb, ni, na, nd;
    const int *ints;
    const MPI_Aint *addrs;
    struct shim_datatype *const *types;
    if (shim_dt_env_view(t, &comb, &ni, &ints, &na, &addrs, &nd, &types))
        return SHIM_ECLASS(MPI_ERR_TYPE);
    struct shim_datatype *o = nd ? types[0] : NULL;
    int rc = 0;
    switch (comb) {
    case MPI_COMBINER_DUP:
    case MPI_COMBINER_RESIZED:
        return ext_walk(w, o, base);
    case MPI_COMBINER_CONTIGUOUS:
        return ext_run(w, o, base, ints[0]);
    case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR:
        for (int i = 0; i < ints[0] && rc == 0; i++) {
            MPI_Aint stride = comb == MPI_COMBINER_VECTOR
                                  ? (MPI_Aint)ints[2] * o->extent
                                  : addrs[0];
            rc = ext_run(w, o, base + i * stride, ints[1]);
        }
        return rc;
    case MPI_COMBINER_INDEXED:
        for (int i = 0; i < ints[0] && rc == 0; i++)
            rc = ext_run(w, o,
                         base + (MPI_Aint)ints[1 + ints[0] + i] * o->extent,
                         ints[1 + i]);
        return rc;
    case MPI_COMBINER_HINDEXED:
        for (int i = 0; i < ints[0] && rc == 0; i++)
            rc = ext_run(w, o, base + addrs[i], ints[1 + i]);
        return rc;
    case MPI_COMBINER_INDEXED_BLOCK:
        for (int i = 0; i < ints[0] && rc == 0; i++)
            rc = ext_run(w, o, base + (MPI_Aint)ints[2 + i] * o->extent,
                         ints[1]);
        return rc;
    case MPI_COMBINER_HINDEXED_BLOCK:
        for (int i = 0; i < ints[0] && rc == 0; i++)
            rc = ext_run(w, o, base + addrs[i], ints[1]);
        return rc;
    case MPI_COMBINER_SUBARRAY:
        return ext_subarray(w, o, base, ints);
    case MPI_COMBINER_DARRAY: {
        int nb, *lens;
        MPI_Aint *disps;
        rc = shim_darray_blocks(ints, o->extent, &nb, &lens, &disps);
        for (int i = 0; i < nb && rc == 0; i++)
            rc = ext_run(w, o, base + disps[i], lens[i]);
        free(lens);
        free(disps);
        return rc;
    }
    case MPI_COMBINER_STRUCT:
        for (int i = 0; i < ints[0] && rc == 0; i++)
            rc = ext_run(w, types[i], base + addrs[i], ints[1 + i]);
        return rc;
    }
    return SHIM_ECLASS(MPI_ERR_TYPE);
}

static int datarep_check(const char *datarep)
{
    return datarep && strcmp(datarep, "external32") == 0
               ? 0
               : SHIM_ECLASS(MPI_ERR_ARG);
}

SHIM_WEAK(Pack_external_size)
int PMPI_Pack_external_size(const char datarep[],
                            int incount,
                            MPI_Datatype datatype,
                            MPI_Aint *size)
{
    struct shim_datatype *t = shim_dt_get(datatype);
    struct ext_walk w = {.dir = EXT_SIZE};
    int rc = t ? datarep_check(datarep) : SHIM_ECLASS(MPI_ERR_TYPE);
    /* Sizing touches no memory; the walk still wants a base. */
    static unsigned char nowhere[1];

    if (rc == 0 && (incount < 0 || !size))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = ext_run(&w, t, nowhere, incount);
    if (rc)
        return shim_err(NULL, "MPI_Pack_external_size", rc);
    *size = (MPI_Aint)w.pos;
    return MPI_SUCCESS;
}

SHIM_WEAK(Pack_external)
int PMPI_Pack_external(const char datarep[],
                       const void *inbuf,
                       int incount,
                       MPI_Datatype datatype,
                       void *outbuf,
                       MPI_Aint outsize,
                       MPI_Aint *position)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    if (rc == 0)
        rc = datarep_check(datarep);
    if (rc == 0
        && (incount < 0 || !position || *position < 0 || *position > outsize
            || (outsize && !outbuf)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Pack_external", rc);
    struct ext_walk w = {.dir = EXT_PACK,
                         .buf = outbuf,
                         .pos = (size_t)*position,
                         .cap = (size_t)outsize};
    rc = ext_run(&w, t, (unsigned char *)(uintptr_t)inbuf, incount);
    if (rc)
        return shim_err(NULL, "MPI_Pack_external", rc);
    *position = (MPI_Aint)w.pos;
    return MPI_SUCCESS;
}

SHIM_WEAK(Unpack_external)
int PMPI_Unpack_external(const char datarep[],
                         const void *inbuf,
                         MPI_Aint insize,
                         MPI_Aint *position,
                         void *outbuf,
                         int outcount,
                         MPI_Datatype datatype)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    if (rc == 0)
        rc = datarep_check(datarep);
    if (rc == 0
        && (outcount < 0 || !position || *position < 0 || *position > insize
            || (insize && !inbuf)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Unpack_external", rc);
    struct ext_walk w = {.dir = EXT_UNPACK,
                         .buf = (unsigned char *)(uintptr_t)inbuf,
                         .pos = (size_t)*position,
                         .cap = (size_t)insize};
    rc = ext_run(&w, t, outbuf, outcount);
    if (rc)
        return shim_err(NULL, "MPI_Unpack_external", rc);
    *position = (MPI_Aint)w.pos;
    return MPI_SUCCESS;
}

SHIM_WEAK(Type_match_size)
int PMPI_Type_match_size(int typeclass, int size, MPI_Datatype *datatype)
{
    static const MPI_Datatype reals[] = {MPI_FLOAT, MPI_DOUBLE,
                                         MPI_LONG_DOUBLE};
    static const MPI_Datatype ints[] = {MPI_SIGNED_CHAR, MPI_SHORT, MPI_INT,
                                        MPI_LONG, MPI_LONG_LONG};
    static const MPI_Datatype cplx[] = {
        MPI_C_FLOAT_COMPLEX, MPI_C_DOUBLE_COMPLEX, MPI_C_LONG_DOUBLE_COMPLEX};
    const MPI_Datatype *list = NULL;
    size_t n = 0;

    if (typeclass == MPI_TYPECLASS_REAL)
        list = reals, n = 3;
    else if (typeclass == MPI_TYPECLASS_INTEGER)
        list = ints, n = 5;
    else if (typeclass == MPI_TYPECLASS_COMPLEX)
        list = cplx, n = 3;
    if (!list || !datatype)
        return shim_err(NULL, "MPI_Type_match_size", SHIM_ECLASS(MPI_ERR_ARG));
    for (size_t i = 0; i < n; i++) {
        if ((int)shim_dt_get(list[i])->size == size) {
            *datatype = list[i];
            return MPI_SUCCESS;
        }
    }
    return shim_err(NULL, "MPI_Type_match_size", SHIM_ECLASS(MPI_ERR_ARG));
}
