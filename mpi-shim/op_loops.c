/* SPDX-License-Identifier: MIT */
/* op_loops.c - the loops of the predefined reduction operations, one
 * function per (operation, type): inout[i] = in[i] op inout[i] for n
 * elements. Reductions, MPI_Reduce_local and the accumulates of one-sided
 * communication all combine through them (shim_op_loop()).
 *
 * They live apart from op.c because they are where those calls spend
 * their time, and they want what the rest of libmpi does not:
 *
 * - The loop vectorizer. mpi-shim/Makefile.inc builds this file alone
 *   with -ftree-vectorize and the dynamic cost model (configure checks
 *   the compiler takes them); at -O2 GCC 12 vectorizes only loops that
 *   need no run-time check, and these need two: the element count, and
 *   whether in and inout overlap (they may: an accumulate from a window
 *   into itself), which sends an overlapping pair to the scalar loop.
 * - Wider vectors than the base instruction set has. Where the compiler
 *   supports it (configure: SHOAL_OP_CLONES), the integer, float and
 *   double loops are built three times, for x86-64-v4 (AVX-512), v3
 *   (AVX2) and the base, and the dynamic loader binds each to the one the
 *   CPU runs, once, through an ifunc (GCC's target_clones). Open MPI's
 *   `op avx` component does the same by hand. A 64 KiB MPI_SUM of
 *   doubles took 6 us with the scalar loop against Open MPI's 1 us.
 *
 * Vectorizing changes no result: each element is combined with its own
 * partner exactly as the scalar loop does (nothing is reassociated), and
 * the loops that floating-point contraction could change (complex
 * products, where AVX2's FMA would round differently) are not cloned.
 * Integer types share loops by width, and for MIN and MAX by signedness:
 * MPI_INT and MPI_INT32_T are one loop. Sums and products of signed types
 * are computed unsigned, which wraps as the hardware does (in signed
 * arithmetic an overflow would be undefined); the bits are the same. */
#include "config.h"

#include <complex.h>
#include <stdbool.h>
#include <stdint.h>

#include "mpi-shim/shim_private.h"

#ifdef HAVE_TARGET_CLONES
#define OP_CLONES                                                              \
    __attribute__((                                                            \
        target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define OP_CLONES
#endif

/* The predefined operations' numbers (struct shim_op's builtin). */
enum op_num {
    OP_MAX = 1,
    OP_MIN,
    OP_SUM,
    OP_PROD,
    OP_LAND,
    OP_BAND,
    OP_LOR,
    OP_BOR,
    OP_LXOR,
    OP_BXOR,
    OP_MINLOC,
    OP_MAXLOC,
    OP_NLOOPS, /* REPLACE and NO_OP need no loop */
};

#define LOOP(ATTR, name, T, EXPR)                                              \
    ATTR static void name(const void *in, void *inout, size_t n)               \
    {                                                                          \
        const T *a = in;                                                       \
        T *b = inout;                                                          \
        for (size_t i = 0; i < n; i++)                                         \
            b[i] = (EXPR);                                                     \
    }

/* The operations whose result depends only on the width: U unsigned. */
#define UNSIGNED_LOOPS(W, U)                                                   \
    LOOP(OP_CLONES, sum_##W, U, (U)(a[i] + b[i]))                              \
    LOOP(OP_CLONES, prod_##W, U, (U)(1u * a[i] * b[i]))                        \
    LOOP(OP_CLONES, land_##W, U, (U)(a[i] && b[i]))                            \
    LOOP(OP_CLONES, band_##W, U, (U)(a[i] & b[i]))                             \
    LOOP(OP_CLONES, lor_##W, U, (U)(a[i] || b[i]))                             \
    LOOP(OP_CLONES, bor_##W, U, (U)(a[i] | b[i]))                              \
    LOOP(OP_CLONES, lxor_##W, U, (U)(!a[i] != !b[i]))                          \
    LOOP(OP_CLONES, bxor_##W, U, (U)(a[i] ^ b[i]))

#define ORDER_LOOPS(ATTR, S, T)                                                \
    LOOP(ATTR, max_##S, T, a[i] > b[i] ? a[i] : b[i])                          \
    LOOP(ATTR, min_##S, T, a[i] < b[i] ? a[i] : b[i])

#define ARITH_LOOPS(ATTR, S, T)                                                \
    LOOP(ATTR, sum_##S, T, a[i] + b[i])                                        \
    LOOP(ATTR, prod_##S, T, a[i] * b[i])

UNSIGNED_LOOPS(8, uint8_t)
UNSIGNED_LOOPS(16, uint16_t)
UNSIGNED_LOOPS(32, uint32_t)
UNSIGNED_LOOPS(64, uint64_t)
ORDER_LOOPS(OP_CLONES, u8, uint8_t)
ORDER_LOOPS(OP_CLONES, u16, uint16_t)
ORDER_LOOPS(OP_CLONES, u32, uint32_t)
ORDER_LOOPS(OP_CLONES, u64, uint64_t)
ORDER_LOOPS(OP_CLONES, i8, int8_t)
ORDER_LOOPS(OP_CLONES, i16, int16_t)
ORDER_LOOPS(OP_CLONES, i32, int32_t)
ORDER_LOOPS(OP_CLONES, i64, int64_t)
ORDER_LOOPS(OP_CLONES, float, float)
ORDER_LOOPS(OP_CLONES, double, double)
ORDER_LOOPS(, ldouble, long double)
ARITH_LOOPS(OP_CLONES, float, float)
ARITH_LOOPS(OP_CLONES, double, double)
ARITH_LOOPS(, ldouble, long double)
ARITH_LOOPS(, cfloat, float _Complex)
ARITH_LOOPS(, cdouble, double _Complex)
ARITH_LOOPS(, cldouble, long double _Complex)
/* C's bool takes only the logical operations. */
LOOP(, land_bool, _Bool, a[i] && b[i])
LOOP(, lor_bool, _Bool, a[i] || b[i])
LOOP(, lxor_bool, _Bool, a[i] != b[i])

/* MINLOC/MAXLOC: the smaller (larger) value wins, ties take the smaller
 * index, as the standard requires. */
#define PAIR_LOOPS(name, V)                                                    \
    struct pair_##name {                                                       \
        V v;                                                                   \
        int k;                                                                 \
    };                                                                         \
    static void minloc_##name(const void *in, void *inout, size_t n)           \
    {                                                                          \
        const struct pair_##name *a = in;                                      \
        struct pair_##name *b = inout;                                         \
        for (size_t i = 0; i < n; i++) {                                       \
            if (a[i].v < b[i].v)                                               \
                b[i] = a[i];                                                   \
            else if (a[i].v == b[i].v && a[i].k < b[i].k)                      \
                b[i].k = a[i].k;                                               \
        }                                                                      \
    }                                                                          \
    static void maxloc_##name(const void *in, void *inout, size_t n)           \
    {                                                                          \
        const struct pair_##name *a = in;                                      \
        struct pair_##name *b = inout;                                         \
        for (size_t i = 0; i < n; i++) {                                       \
            if (a[i].v > b[i].v)                                               \
                b[i] = a[i];                                                   \
            else if (a[i].v == b[i].v && a[i].k < b[i].k)                      \
                b[i].k = a[i].k;                                               \
        }                                                                      \
    }

PAIR_LOOPS(float_int, float)
PAIR_LOOPS(double_int, double)
PAIR_LOOPS(long_int, long)
PAIR_LOOPS(int_int, int)
PAIR_LOOPS(short_int, short)
PAIR_LOOPS(ldouble_int, long double)

#define INT_ROW(S, W)                                                          \
    {                                                                          \
        [OP_MAX] = max_##S, [OP_MIN] = min_##S, [OP_SUM] = sum_##W,            \
        [OP_PROD] = prod_##W, [OP_LAND] = land_##W, [OP_BAND] = band_##W,      \
        [OP_LOR] = lor_##W, [OP_BOR] = bor_##W, [OP_LXOR] = lxor_##W,          \
        [OP_BXOR] = bxor_##W,                                                  \
    }
#define REAL_ROW(S)                                                            \
    {                                                                          \
        [OP_MAX] = max_##S, [OP_MIN] = min_##S, [OP_SUM] = sum_##S,            \
        [OP_PROD] = prod_##S,                                                  \
    }
#define COMPLEX_ROW(S)                                                         \
    {                                                                          \
        [OP_SUM] = sum_##S, [OP_PROD] = prod_##S                               \
    }
#define PAIR_ROW(S)                                                            \
    {                                                                          \
        [OP_MINLOC] = minloc_##S, [OP_MAXLOC] = maxloc_##S                     \
    }

/* Integers by width (1, 2, 4, 8 bytes), then unsigned and signed. */
static shim_op_loop_f *const int_loops[4][2][OP_NLOOPS] = {
    {INT_ROW(u8, 8), INT_ROW(i8, 8)},
    {INT_ROW(u16, 16), INT_ROW(i16, 16)},
    {INT_ROW(u32, 32), INT_ROW(i32, 32)},
    {INT_ROW(u64, 64), INT_ROW(i64, 64)},
};

/* The other types, by their index in mpi.h's table. */
static shim_op_loop_f *const other_loops[39][OP_NLOOPS] = {
    [14] = REAL_ROW(float),
    [15] = REAL_ROW(double),
    [16] = REAL_ROW(ldouble),
    [25] = {[OP_LAND] = land_bool, [OP_LOR] = lor_bool, [OP_LXOR] = lxor_bool},
    [26] = COMPLEX_ROW(cfloat),
    [27] = COMPLEX_ROW(cdouble),
    [28] = COMPLEX_ROW(cldouble),
    [33] = PAIR_ROW(float_int),
    [34] = PAIR_ROW(double_int),
    [35] = PAIR_ROW(long_int),
    [36] = PAIR_ROW(int_int),
    [37] = PAIR_ROW(short_int),
    [38] = PAIR_ROW(ldouble_int),
};

static shim_op_loop_f *int_loop(int op, size_t width, bool is_signed)
{
    int w = width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;

    return int_loops[w][is_signed][op];
}

#define INT_LOOP(op, T) int_loop(op, sizeof(T), (T)-1 < (T)1)

shim_op_loop_f *shim_op_loop(const struct shim_op *op, MPI_Datatype dt)
{
    int o = op->builtin;
    int idx = dt & SHIM_HANDLE_INDEX;

    /* The predefined types are the first 39 handles of their table. */
    if (o < OP_MAX || o >= OP_NLOOPS || idx >= 39
        || dt != SHIM_HANDLE(SHIM_KIND_DATATYPE, idx))
        return NULL;
    switch (idx) {
    case 1:
        return INT_LOOP(o, char);
    case 2:
        return INT_LOOP(o, signed char);
    case 3:
    case 21:
        return INT_LOOP(o, unsigned char);
    case 4: /* MPI_BYTE takes only the bitwise operations */
        if (o != OP_BAND && o != OP_BOR && o != OP_BXOR)
            return NULL;
        return INT_LOOP(o, unsigned char);
    case 5:
        return INT_LOOP(o, wchar_t);
    case 6:
        return INT_LOOP(o, short);
    case 7:
        return INT_LOOP(o, unsigned short);
    case 8:
        return INT_LOOP(o, int);
    case 9:
        return INT_LOOP(o, unsigned);
    case 10:
        return INT_LOOP(o, long);
    case 11:
        return INT_LOOP(o, unsigned long);
    case 12:
        return INT_LOOP(o, long long);
    case 13:
        return INT_LOOP(o, unsigned long long);
    case 17:
        return INT_LOOP(o, int8_t);
    case 18:
        return INT_LOOP(o, int16_t);
    case 19:
        return INT_LOOP(o, int32_t);
    case 20:
        return INT_LOOP(o, int64_t);
    case 22:
        return INT_LOOP(o, uint16_t);
    case 23:
        return INT_LOOP(o, uint32_t);
    case 24:
        return INT_LOOP(o, uint64_t);
    case 29:
        return INT_LOOP(o, MPI_Aint);
    case 30:
    case 31:
        return INT_LOOP(o, MPI_Offset);
    default:
        return other_loops[idx][o];
    }
}
