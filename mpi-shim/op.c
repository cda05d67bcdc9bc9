/* SPDX-License-Identifier: MIT */
/* op.c - predefined and user reduction operations. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

enum { NBUILTIN = 15 };
static struct shim_op builtin_ops[NBUILTIN];

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
    if (!op->builtin)
        return true;
    if (op->builtin >= 13) /* REPLACE, NO_OP */
        return true;
    return shim_op_loop(op, dt) != NULL;
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
    if (op->builtin == 13) {
        struct shim_datatype *t = shim_dt_get(dt);
        memcpy(inout, in, count * (size_t)t->extent);
        return 0;
    }
    shim_op_loop_f *loop = shim_op_loop(op, dt);
    if (!loop)
        return SHIM_ECLASS(MPI_ERR_OP);
    loop(in, inout, count);
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
