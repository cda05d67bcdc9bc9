/* SPDX-License-Identifier: MIT */
/* op.c - predefined and user reduction operations. */
#include "config.h"

#include <complex.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "mpi-shim/shim_private.h"

enum { NBUILTIN = 15 };
static struct shim_op builtin_ops[NBUILTIN];

#define OPLOOP(T, EXPR)                                                        \
    do {                                                                       \
        const T *a = in;                                                       \
        T *b = inout;                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            b[i] = (EXPR);                                                     \
    } while (0)

/* Integer types take arithmetic, logical and bitwise operations. */
#define DEFINE_INT(name, T)                                                    \
    static int apply_##name(int op, const void *in, void *inout, size_t n)     \
    {                                                                          \
        switch (op) {                                                          \
        case 1:                                                                \
            OPLOOP(T, a[i] > b[i] ? a[i] : b[i]);                              \
            return 0;                                                          \
        case 2:                                                                \
            OPLOOP(T, a[i] < b[i] ? a[i] : b[i]);                              \
            return 0;                                                          \
        case 3:                                                                \
            OPLOOP(T, (T)(a[i] + b[i]));                                       \
            return 0;                                                          \
        case 4:                                                                \
            OPLOOP(T, (T)(a[i] * b[i]));                                       \
            return 0;                                                          \
        case 5:                                                                \
            OPLOOP(T, (T)(a[i] && b[i]));                                      \
            return 0;                                                          \
        case 6:                                                                \
            OPLOOP(T, (T)(a[i] & b[i]));                                       \
            return 0;                                                          \
        case 7:                                                                \
            OPLOOP(T, (T)(a[i] || b[i]));                                      \
            return 0;                                                          \
        case 8:                                                                \
            OPLOOP(T, (T)(a[i] | b[i]));                                       \
            return 0;                                                          \
        case 9:                                                                \
            OPLOOP(T, (T)(!a[i] != !b[i]));                                    \
            return 0;                                                          \
        case 10:                                                               \
            OPLOOP(T, (T)(a[i] ^ b[i]));                                       \
            return 0;                                                          \
        default:                                                               \
            return -1;                                                         \
        }                                                                      \
    }

#define DEFINE_FLOAT(name, T)                                                  \
    static int apply_##name(int op, const void *in, void *inout, size_t n)     \
    {                                                                          \
        switch (op) {                                                          \
        case 1:                                                                \
            OPLOOP(T, a[i] > b[i] ? a[i] : b[i]);                              \
            return 0;                                                          \
        case 2:                                                                \
            OPLOOP(T, a[i] < b[i] ? a[i] : b[i]);                              \
            return 0;                                                          \
        case 3:                                                                \
            OPLOOP(T, a[i] + b[i]);                                            \
            return 0;                                                          \
        case 4:                                                                \
            OPLOOP(T, a[i] * b[i]);                                            \
            return 0;                                                          \
        default:                                                               \
            return -1;                                                         \
        }                                                                      \
    }

#define DEFINE_COMPLEX(name, T)                                                \
    static int apply_##name(int op, const void *in, void *inout, size_t n)     \
    {                                                                          \
        switch (op) {                                                          \
        case 3:                                                                \
            OPLOOP(T, a[i] + b[i]);                                            \
            return 0;                                                          \
        case 4:                                                                \
            OPLOOP(T, a[i] * b[i]);                                            \
            return 0;                                                          \
        default:                                                               \
            return -1;                                                         \
        }                                                                      \
    }

/* MINLOC/MAXLOC: the smaller (larger) value wins, ties take the smaller
 * index, as the standard requires. */
#define DEFINE_PAIR(name, V)                                                   \
    struct pair_##name {                                                       \
        V v;                                                                   \
        int k;                                                                 \
    };                                                                         \
    static int apply_##name(int op, const void *in, void *inout, size_t n)     \
    {                                                                          \
        const struct pair_##name *a = in;                                      \
        struct pair_##name *b = inout;                                         \
        if (op != 11 && op != 12)                                              \
            return -1;                                                         \
        for (size_t i = 0; i < n; i++) {                                       \
            int better = op == 11 ? a[i].v < b[i].v : a[i].v > b[i].v;         \
            if (better)                                                        \
                b[i] = a[i];                                                   \
            else if (a[i].v == b[i].v && a[i].k < b[i].k)                      \
                b[i].k = a[i].k;                                               \
        }                                                                      \
        return 0;                                                              \
    }

DEFINE_INT(char, char)
DEFINE_INT(schar, signed char)
DEFINE_INT(uchar, unsigned char)
DEFINE_INT(wchar, wchar_t)
DEFINE_INT(short, short)
DEFINE_INT(ushort, unsigned short)
DEFINE_INT(int, int)
DEFINE_INT(uint, unsigned)
DEFINE_INT(long, long)
DEFINE_INT(ulong, unsigned long)
DEFINE_INT(llong, long long)
DEFINE_INT(ullong, unsigned long long)
DEFINE_INT(i8, int8_t)
DEFINE_INT(i16, int16_t)
DEFINE_INT(i32, int32_t)
DEFINE_INT(i64, int64_t)
DEFINE_INT(u8, uint8_t)
DEFINE_INT(u16, uint16_t)
DEFINE_INT(u32, uint32_t)
DEFINE_INT(u64, uint64_t)
DEFINE_INT(aint, MPI_Aint)
DEFINE_INT(offset, MPI_Offset)
DEFINE_FLOAT(float, float)
DEFINE_FLOAT(double, double)
DEFINE_FLOAT(ldouble, long double)
DEFINE_COMPLEX(cfloat, float _Complex)
DEFINE_COMPLEX(cdouble, double _Complex)
DEFINE_COMPLEX(cldouble, long double _Complex)
DEFINE_PAIR(float_int, float)
DEFINE_PAIR(double_int, double)
DEFINE_PAIR(long_int, long)
DEFINE_PAIR(int_int, int)
DEFINE_PAIR(short_int, short)
DEFINE_PAIR(ldouble_int, long double)

/* C's bool takes only the logical operations. */
static int apply_bool(int op, const void *in, void *inout, size_t n)
{
    switch (op) {
    case 5:
        OPLOOP(_Bool, a[i] && b[i]);
        return 0;
    case 7:
        OPLOOP(_Bool, a[i] || b[i]);
        return 0;
    case 9:
        OPLOOP(_Bool, a[i] != b[i]);
        return 0;
    default:
        return -1;
    }
}

/* MPI_BYTE takes only the bitwise operations. */
static int apply_byte(int op, const void *in, void *inout, size_t n)
{
    if (op != 6 && op != 8 && op != 10)
        return -1;
    return apply_uchar(op, in, inout, n);
}

typedef int apply_f(int op, const void *in, void *inout, size_t n);

/* Indexed by the predefined datatype's index (see mpi.h). */
static apply_f *const apply_table[39] = {
    NULL,           apply_char,      apply_schar,       apply_uchar,
    apply_byte,     apply_wchar,     apply_short,       apply_ushort,
    apply_int,      apply_uint,      apply_long,        apply_ulong,
    apply_llong,    apply_ullong,    apply_float,       apply_double,
    apply_ldouble,  apply_i8,        apply_i16,         apply_i32,
    apply_i64,      apply_u8,        apply_u16,         apply_u32,
    apply_u64,      apply_bool,      apply_cfloat,      apply_cdouble,
    apply_cldouble, apply_aint,      apply_offset,      apply_offset,
    NULL,           apply_float_int, apply_double_int,  apply_long_int,
    apply_int_int,  apply_short_int, apply_ldouble_int,
};

int shim_op_init(void)
{
    for (int i = 0; i < NBUILTIN; i++) {
        struct shim_op *o = &builtin_ops[i];
        int rc = shim_table_insert(&shim.ops, o);
        if (rc < 0)
            return rc;
        o->handle = SHIM_HANDLE(SHIM_KIND_OP, i);
        o->builtin = i;
        o->commute = true;
        o->refcount = 1;
    }
    shim.ops.slots[0] = NULL; /* MPI_OP_NULL */
    return 0;
}

void shim_op_finalize(void)
{
    for (int i = NBUILTIN; i < shim.ops.used; i++)
        free(shim.ops.slots[i]);
    shim_table_release(&shim.ops);
}

int shim_op_check(MPI_Op op, struct shim_op **out)
{
    struct shim_op *o = shim_table_lookup(&shim.ops, op, SHIM_KIND_OP);

    if (!o)
        return SHIM_ECLASS(MPI_ERR_OP);
    *out = o;
    return 0;
}

bool shim_op_supports(const struct shim_op *op, MPI_Datatype dt)
{
    int idx = dt & SHIM_HANDLE_INDEX;
    long double z1[4] = {0}, z2[4] = {0};

    if (!op->builtin)
        return true;
    if (op->builtin >= 13) /* REPLACE, NO_OP */
        return true;
    if (SHIM_HANDLE_KIND(dt) != SHIM_KIND_DATATYPE || idx >= 39
        || !apply_table[idx])
        return false;
    /* The tables say "no" by failing; one zero element shows it. */
    return apply_table[idx](op->builtin, z1, z2, 1) == 0;
}

int shim_op_apply(struct shim_op *op,
                  const void *in,
                  void *inout,
                  size_t count,
                  MPI_Datatype dt)
{
    if (!op->builtin) {
        int n = (int)count;
        op->user_fn((void *)in, inout, &n, &dt);
        return 0;
    }
    if (op->builtin == 14)
        return 0;
    struct shim_datatype *t = shim_dt_get(dt);
    if (op->builtin == 13) {
        memcpy(inout, in, count * (size_t)t->extent);
        return 0;
    }
    int idx = dt & SHIM_HANDLE_INDEX;
    if (!t || !t->predefined || idx >= 39 || !apply_table[idx])
        return SHIM_ECLASS(MPI_ERR_OP);
    if (apply_table[idx](op->builtin, in, inout, count))
        return SHIM_ECLASS(MPI_ERR_OP);
    return 0;
}

/* A user op over a type with holes, inside a collective: its operands
 * travel packed, and the user's function expects the type's layout, so
 * each element is unpacked into scratch copies, combined, and packed back. */
static int apply_user_packed(struct shim_op *op,
                             struct shim_datatype *t,
                             const void *in,
                             void *inout,
                             size_t count)
{
    size_t span = (size_t)t->true_extent;
    char *a = malloc(span ? span : 1), *b = malloc(span ? span : 1);
    MPI_Datatype dt = t->handle;
    int one = 1;

    if (!a || !b) {
        free(a);
        free(b);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const char *pin = (const char *)in + i * t->size;
        char *pio = (char *)inout + i * t->size;
        char *abase = a - t->true_lb, *bbase = b - t->true_lb;
        shim_dt_unpack(t, pin, t->size, abase);
        shim_dt_unpack(t, pio, t->size, bbase);
        op->user_fn(abase, bbase, &one, &dt);
        shim_dt_pack(t, bbase, 1, pio);
    }
    free(a);
    free(b);
    return 0;
}

int shim_op_apply_image(struct shim_op *op,
                        const void *in,
                        void *inout,
                        size_t count,
                        MPI_Datatype dt)
{
    struct shim_datatype *t = shim_dt_get(dt);

    if (!op->builtin && t && !t->dense)
        return apply_user_packed(op, t, in, inout, count);
    return shim_op_apply(op, in, inout, count, dt);
}

SHIM_WEAK(Op_create)
int PMPI_Op_create(MPI_User_function *user_fn, int commute, MPI_Op *op)
{
    struct shim_op *o;
    int idx;

    if (!user_fn || !op)
        return shim_err(NULL, "MPI_Op_create", SHIM_ECLASS(MPI_ERR_ARG));
    o = calloc(1, sizeof(*o));
    if (!o)
        return shim_err(NULL, "MPI_Op_create", -ENOMEM);
    idx = shim_table_insert(&shim.ops, o);
    if (idx < 0) {
        free(o);
        return shim_err(NULL, "MPI_Op_create", idx);
    }
    o->handle = SHIM_HANDLE(SHIM_KIND_OP, idx);
    o->user_fn = user_fn;
    o->commute = commute != 0;
    o->refcount = 1;
    *op = o->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Op_free)
int PMPI_Op_free(MPI_Op *op)
{
    struct shim_op *o;

    if (!op || shim_op_check(*op, &o) || o->builtin)
        return shim_err(NULL, "MPI_Op_free", SHIM_ECLASS(MPI_ERR_OP));
    shim_table_remove(&shim.ops, o->handle);
    free(o);
    *op = MPI_OP_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Op_commutative)
int PMPI_Op_commutative(MPI_Op op, int *commute)
{
    struct shim_op *o;

    if (shim_op_check(op, &o) || !commute)
        return shim_err(NULL, "MPI_Op_commutative", SHIM_ECLASS(MPI_ERR_OP));
    *commute = o->commute;
    return MPI_SUCCESS;
}

SHIM_WEAK(Reduce_local)
int PMPI_Reduce_local(const void *inbuf,
                      void *inoutbuf,
                      int count,
                      MPI_Datatype datatype,
                      MPI_Op op)
{
    struct shim_op *o;
    struct shim_datatype *t;
    int rc = shim_op_check(op, &o);

    if (rc == 0)
        rc = shim_dt_check(datatype, &t);
    if (rc == 0 && count < 0)
        rc = SHIM_ECLASS(MPI_ERR_COUNT);
    if (rc == 0) {
        if (o->builtin && t->basic != MPI_DATATYPE_NULL && t->dense)
            rc = shim_op_apply(o, inbuf, inoutbuf, (size_t)count * t->nbasic,
                               t->basic);
        else if (!o->builtin)
            rc = shim_op_apply(o, inbuf, inoutbuf, (size_t)count, datatype);
        else
            rc = SHIM_ECLASS(MPI_ERR_OP);
    }
    return rc ? shim_err(NULL, "MPI_Reduce_local", rc) : MPI_SUCCESS;
}
