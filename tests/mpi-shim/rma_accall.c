/* SPDX-License-Identifier: MIT */
/* rma_accall.c - many origins, one target: every rank accumulates into
 * rank 0 with every predefined operation on every predefined type it
 * applies to (MPI_REPLACE on all of them), all at once
 * under shared locks, and the target's memory must equal the reduction of
 * all contributions (computed locally with MPI_Reduce_local; the order of
 * contributions does not matter for these exact small values). A second
 * pass does the same with MPI_Get_accumulate under fence to the last
 * rank, with MPI_NO_OP too, whose fetched values must be the initial
 * ones. */
#include <complex.h>
#include <stdint.h>
#include <string.h>

#include "mtest.h"

enum { K = 5, SLOT = 32 };

enum cls {
    C_INT,
    C_FLT,
    C_DBL,
    C_LDBL,
    C_CFLT,
    C_CDBL,
    C_CLDBL,
    C_BOOL,
    C_BYTE,
    C_PFLT,
    C_PDBL,
    C_PLONG,
    C_P2INT,
    C_PSHORT,
    C_PLDBL,
};

struct pf {
    float v;
    int k;
};
struct pd {
    double v;
    int k;
};
struct pl {
    long v;
    int k;
};
struct pi {
    int v;
    int k;
};
struct ps {
    short v;
    int k;
};
struct pld {
    long double v;
    int k;
};

struct tdesc {
    MPI_Datatype dt;
    const char *name;
    enum cls c;
    size_t size;
};

struct odesc {
    MPI_Op op;
    const char *name;
};

#define PAIRSET(T, p, val, idx)                                                \
    do {                                                                       \
        ((T *)(p))->v = (val);                                                 \
        ((T *)(p))->k = (idx);                                                 \
    } while (0)
#define PAIREQ(T, a, b)                                                        \
    (((const T *)(a))->v == ((const T *)(b))->v                                \
     && ((const T *)(a))->k == ((const T *)(b))->k)

/* Stores value v (and index k for pairs, imaginary part im) into p. */
static void setv(const struct tdesc *t, void *p, long long v, int k, int im)
{
    switch (t->c) {
    case C_INT:
    case C_BYTE:
        memset(p, 0, t->size);
        memcpy(p, &v, t->size); /* small, non-negative, little endian */
        break;
    case C_BOOL:
        *(_Bool *)p = v != 0;
        break;
    case C_FLT:
        *(float *)p = (float)v;
        break;
    case C_DBL:
        *(double *)p = (double)v;
        break;
    case C_LDBL:
        *(long double *)p = (long double)v;
        break;
    case C_CFLT:
        *(float _Complex *)p = (float)v + (float)im * I;
        break;
    case C_CDBL:
        *(double _Complex *)p = (double)v + (double)im * I;
        break;
    case C_CLDBL:
        *(long double _Complex *)p = (long double)v + (long double)im * I;
        break;
    case C_PFLT:
        PAIRSET(struct pf, p, (float)v, k);
        break;
    case C_PDBL:
        PAIRSET(struct pd, p, (double)v, k);
        break;
    case C_PLONG:
        PAIRSET(struct pl, p, (long)v, k);
        break;
    case C_P2INT:
        PAIRSET(struct pi, p, (int)v, k);
        break;
    case C_PSHORT:
        PAIRSET(struct ps, p, (short)v, k);
        break;
    case C_PLDBL:
        PAIRSET(struct pld, p, (long double)v, k);
        break;
    }
}

/* Compares values, not padding. */
static int eqv(const struct tdesc *t, const void *a, const void *b)
{
    switch (t->c) {
    case C_INT:
    case C_BYTE:
        return memcmp(a, b, t->size) == 0;
    case C_BOOL:
        return *(const _Bool *)a == *(const _Bool *)b;
    case C_FLT:
        return *(const float *)a == *(const float *)b;
    case C_DBL:
        return *(const double *)a == *(const double *)b;
    case C_LDBL:
        return *(const long double *)a == *(const long double *)b;
    case C_CFLT:
        return *(const float _Complex *)a == *(const float _Complex *)b;
    case C_CDBL:
        return *(const double _Complex *)a == *(const double _Complex *)b;
    case C_CLDBL:
        return *(const long double _Complex *)a
               == *(const long double _Complex *)b;
    case C_PFLT:
        return PAIREQ(struct pf, a, b);
    case C_PDBL:
        return PAIREQ(struct pd, a, b);
    case C_PLONG:
        return PAIREQ(struct pl, a, b);
    case C_P2INT:
        return PAIREQ(struct pi, a, b);
    case C_PSHORT:
        return PAIREQ(struct ps, a, b);
    case C_PLDBL:
        return PAIREQ(struct pld, a, b);
    }
    return 0;
}

static int applies(const struct tdesc *t, MPI_Op op)
{
    if (op == MPI_REPLACE || op == MPI_NO_OP)
        return 1;
    switch (t->c) {
    case C_INT:
        return op != MPI_MINLOC && op != MPI_MAXLOC;
    case C_FLT:
    case C_DBL:
    case C_LDBL:
        return op == MPI_MAX || op == MPI_MIN || op == MPI_SUM
               || op == MPI_PROD;
    case C_CFLT:
    case C_CDBL:
    case C_CLDBL:
        return op == MPI_SUM || op == MPI_PROD;
    case C_BOOL:
        return op == MPI_LAND || op == MPI_LOR || op == MPI_LXOR;
    case C_BYTE:
        return op == MPI_BAND || op == MPI_BOR || op == MPI_BXOR;
    default:
        return op == MPI_MINLOC || op == MPI_MAXLOC;
    }
}

/* Origin r's operand i for op, and the target's initial value. */
static void operand(const struct tdesc *t, MPI_Op op, int r, int i, void *p)
{
    long long v;
    int im = 0;

    if (op == MPI_SUM) {
        v = r + i + 1;
        im = r;
    } else if (op == MPI_PROD) {
        v = 1 + (r + i) % 2;
    } else if (op == MPI_MAX || op == MPI_MIN) {
        v = (r * 7 + i * 3) % 11;
    } else if (op == MPI_BAND || op == MPI_BOR || op == MPI_BXOR) {
        v = ((r + i) * 37) & 0x7f;
    } else if (op == MPI_LAND || op == MPI_LOR || op == MPI_LXOR) {
        v = (r + i) % 2;
    } else if (op == MPI_MINLOC || op == MPI_MAXLOC) {
        v = (r + i) % 3;
    } else if (op == MPI_REPLACE) {
        v = i + 5; /* the same from every origin: any order gives it */
        r = 0;
    } else {
        v = 99;
    }
    setv(t, p, v, r, im);
}

static void initial(const struct tdesc *t, MPI_Op op, int i, void *p)
{
    long long v = 3;

    if (op == MPI_SUM || op == MPI_BOR || op == MPI_BXOR || op == MPI_LOR
        || op == MPI_LXOR)
        v = 0;
    else if (op == MPI_PROD || op == MPI_LAND)
        v = 1;
    else if (op == MPI_BAND)
        v = 0x7f;
    else if (op == MPI_MINLOC || op == MPI_MAXLOC)
        v = 1;
    setv(t, p, v + (op == MPI_NO_OP ? i : 0), 99, 0);
}

int main(int argc, char **argv)
{
    int me, np;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    const struct tdesc types[] = {
        {MPI_SIGNED_CHAR, "MPI_SIGNED_CHAR", C_INT, sizeof(signed char)},
        {MPI_UNSIGNED_CHAR, "MPI_UNSIGNED_CHAR", C_INT, 1},
        {MPI_SHORT, "MPI_SHORT", C_INT, sizeof(short)},
        {MPI_UNSIGNED_SHORT, "MPI_UNSIGNED_SHORT", C_INT, sizeof(short)},
        {MPI_INT, "MPI_INT", C_INT, sizeof(int)},
        {MPI_UNSIGNED, "MPI_UNSIGNED", C_INT, sizeof(unsigned)},
        {MPI_LONG, "MPI_LONG", C_INT, sizeof(long)},
        {MPI_UNSIGNED_LONG, "MPI_UNSIGNED_LONG", C_INT, sizeof(long)},
        {MPI_LONG_LONG, "MPI_LONG_LONG", C_INT, sizeof(long long)},
        {MPI_UNSIGNED_LONG_LONG, "MPI_UNSIGNED_LONG_LONG", C_INT,
         sizeof(long long)},
        {MPI_INT8_T, "MPI_INT8_T", C_INT, 1},
        {MPI_INT16_T, "MPI_INT16_T", C_INT, 2},
        {MPI_INT32_T, "MPI_INT32_T", C_INT, 4},
        {MPI_INT64_T, "MPI_INT64_T", C_INT, 8},
        {MPI_UINT8_T, "MPI_UINT8_T", C_INT, 1},
        {MPI_UINT16_T, "MPI_UINT16_T", C_INT, 2},
        {MPI_UINT32_T, "MPI_UINT32_T", C_INT, 4},
        {MPI_UINT64_T, "MPI_UINT64_T", C_INT, 8},
        {MPI_AINT, "MPI_AINT", C_INT, sizeof(MPI_Aint)},
        {MPI_OFFSET, "MPI_OFFSET", C_INT, sizeof(MPI_Offset)},
        {MPI_COUNT, "MPI_COUNT", C_INT, sizeof(MPI_Count)},
        {MPI_FLOAT, "MPI_FLOAT", C_FLT, sizeof(float)},
        {MPI_DOUBLE, "MPI_DOUBLE", C_DBL, sizeof(double)},
        {MPI_LONG_DOUBLE, "MPI_LONG_DOUBLE", C_LDBL, sizeof(long double)},
        {MPI_C_FLOAT_COMPLEX, "MPI_C_FLOAT_COMPLEX", C_CFLT,
         sizeof(float _Complex)},
        {MPI_C_DOUBLE_COMPLEX, "MPI_C_DOUBLE_COMPLEX", C_CDBL,
         sizeof(double _Complex)},
        {MPI_C_LONG_DOUBLE_COMPLEX, "MPI_C_LONG_DOUBLE_COMPLEX", C_CLDBL,
         sizeof(long double _Complex)},
        {MPI_C_BOOL, "MPI_C_BOOL", C_BOOL, sizeof(_Bool)},
        {MPI_BYTE, "MPI_BYTE", C_BYTE, 1},
        {MPI_FLOAT_INT, "MPI_FLOAT_INT", C_PFLT, sizeof(struct pf)},
        {MPI_DOUBLE_INT, "MPI_DOUBLE_INT", C_PDBL, sizeof(struct pd)},
        {MPI_LONG_INT, "MPI_LONG_INT", C_PLONG, sizeof(struct pl)},
        {MPI_2INT, "MPI_2INT", C_P2INT, sizeof(struct pi)},
        {MPI_SHORT_INT, "MPI_SHORT_INT", C_PSHORT, sizeof(struct ps)},
        {MPI_LONG_DOUBLE_INT, "MPI_LONG_DOUBLE_INT", C_PLDBL,
         sizeof(struct pld)},
    };
    const struct odesc ops[] = {
        {MPI_MAX, "MPI_MAX"},         {MPI_MIN, "MPI_MIN"},
        {MPI_SUM, "MPI_SUM"},         {MPI_PROD, "MPI_PROD"},
        {MPI_LAND, "MPI_LAND"},       {MPI_BAND, "MPI_BAND"},
        {MPI_LOR, "MPI_LOR"},         {MPI_BOR, "MPI_BOR"},
        {MPI_LXOR, "MPI_LXOR"},       {MPI_BXOR, "MPI_BXOR"},
        {MPI_MINLOC, "MPI_MINLOC"},   {MPI_MAXLOC, "MPI_MAXLOC"},
        {MPI_REPLACE, "MPI_REPLACE"}, {MPI_NO_OP, "MPI_NO_OP"},
    };
    int nt = sizeof(types) / sizeof(types[0]);
    int no = sizeof(ops) / sizeof(ops[0]);
    size_t span = (size_t)nt * no * K * SLOT;
    char *mem;
    MPI_Win w;
    MPI_Win_allocate((MPI_Aint)span, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &mem,
                     &w);
    char *fetched = calloc(1, span), *opnd = calloc(1, span);
    memset(mem, 0, span);
    for (int pass = 0; pass < 2; pass++) {
        int target = pass == 0 ? 0 : np - 1;
        int ncases = 0;
        if (me == target) {
            for (int ti = 0; ti < nt; ti++)
                for (int oi = 0; oi < no; oi++)
                    for (int i = 0; i < K; i++)
                        initial(&types[ti], ops[oi].op, i,
                                mem + ((size_t)(ti * no + oi) * K + i) * SLOT);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (pass == 0)
            MPI_Win_lock_all(0, w);
        else
            MPI_Win_fence(0, w);
        for (int ti = 0; ti < nt; ti++) {
            const struct tdesc *t = &types[ti];
            MPI_Aint lb, ext;
            MPI_Type_get_extent(t->dt, &lb, &ext);
            for (int oi = 0; oi < no; oi++) {
                if (!applies(t, ops[oi].op)
                    || (pass == 0 && ops[oi].op == MPI_NO_OP))
                    continue;
                ncases++;
                /* The operands, contiguous with the type's extent. */
                char *o = opnd + (size_t)(ti * no + oi) * K * SLOT;
                for (int i = 0; i < K; i++)
                    operand(t, ops[oi].op, me, i, o + i * ext);
                MPI_Aint disp = (MPI_Aint)((size_t)(ti * no + oi) * K * SLOT);
                /* Element i at disp + i*SLOT: a resized type. */
                MPI_Datatype tt;
                MPI_Type_create_resized(t->dt, 0, SLOT, &tt);
                MPI_Type_commit(&tt);
                char *res = fetched + (size_t)(ti * no + oi) * K * SLOT;
                if (t->c == C_PSHORT) {
                    /* Open MPI 4.1 combines MPI_SHORT_INT wrongly through a
                     * resized target type: one element per call. */
                    for (int i = 0; i < K; i++) {
                        if (pass == 0)
                            MPI_Accumulate(o + i * ext, 1, t->dt, target,
                                           disp + i * SLOT, 1, t->dt,
                                           ops[oi].op, w);
                        else
                            MPI_Get_accumulate(o + i * ext, 1, t->dt,
                                               res + i * ext, 1, t->dt, target,
                                               disp + i * SLOT, 1, t->dt,
                                               ops[oi].op, w);
                    }
                } else if (pass == 0) {
                    MPI_Accumulate(o, K, t->dt, target, disp, K, tt, ops[oi].op,
                                   w);
                } else {
                    MPI_Get_accumulate(o, K, t->dt, res, K, t->dt, target, disp,
                                       K, tt, ops[oi].op, w);
                }
                MPI_Type_free(&tt);
            }
        }
        if (pass == 0)
            MPI_Win_unlock_all(w);
        else
            MPI_Win_fence(0, w);
        MPI_Barrier(MPI_COMM_WORLD);
        /* What MPI_NO_OP fetched is the initial value. */
        int bad = 0;
        for (int ti = 0; pass == 1 && ti < nt; ti++) {
            const struct tdesc *t = &types[ti];
            MPI_Aint lb, ext;
            MPI_Type_get_extent(t->dt, &lb, &ext);
            int oi = no - 1;
            char e[SLOT];
            for (int i = 0; i < K; i++) {
                memset(e, 0, sizeof(e));
                initial(t, MPI_NO_OP, i, e);
                const char *got = fetched + (size_t)(ti * no + oi) * K * SLOT;
                if (!eqv(t, got + i * ext, e)) {
                    bad++;
                    CHECK(0, "MPI_NO_OP fetched a changed %s, element %d",
                          t->name, i);
                }
            }
        }
        /* The expected values: the initial ones reduced with every
         * origin's operands. */
        for (int ti = 0; me == target && ti < nt; ti++) {
            const struct tdesc *t = &types[ti];
            MPI_Aint lb, ext;
            MPI_Type_get_extent(t->dt, &lb, &ext);
            for (int oi = 0; oi < no; oi++) {
                if (!applies(t, ops[oi].op))
                    continue;
                MPI_Op op = ops[oi].op;
                char e[K * SLOT], in[K * SLOT];
                memset(e, 0, sizeof(e));
                for (int i = 0; i < K; i++)
                    initial(t, op, i, e + i * ext);
                for (int r = 0; r < np; r++) {
                    memset(in, 0, sizeof(in));
                    for (int i = 0; i < K; i++)
                        operand(t, op, r, i, in + i * ext);
                    if (op == MPI_REPLACE)
                        memcpy(e, in, sizeof(in));
                    else if (op != MPI_NO_OP)
                        MPI_Reduce_local(in, e, K, t->dt, op);
                }
                for (int i = 0; i < K; i++) {
                    const char *got =
                        mem + ((size_t)(ti * no + oi) * K + i) * SLOT;
                    if (!eqv(t, got, e + i * ext)) {
                        bad++;
                        CHECK(0, "pass %d: %s on %s, element %d differs", pass,
                              ops[oi].name, t->name, i);
                    }
                }
            }
        }
        CHECK(bad == 0, "pass %d: %d elements wrong", pass, bad);
        SAY("pass %d: %d op/type pairs\n", pass, ncases);
    }
    MPI_Win_free(&w);
    free(fetched);
    free(opnd);
    return mtest_finalize();
}
