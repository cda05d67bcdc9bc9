/* SPDX-License-Identifier: MIT */
/* attr.c - attribute caching on communicators and datatypes: keyvals,
 * copy callbacks on MPI_Comm_dup and MPI_Type_dup, delete callbacks on
 * replace, delete and free, keyvals freed while in use, the MPI-1 forms,
 * the predefined attributes, and MPI_COMM_SELF's attributes deleted at
 * MPI_Finalize, most recent first. */
#include "mtest.h"

#include <string.h>

static int copies, deletes;
static int last_deleted;
static int self_order[3], nself;

static int count_copy(
    MPI_Comm comm, int keyval, void *extra, void *in, void *out, int *flag)
{
    (void)comm;
    (void)keyval;
    copies++;
    /* The copy's value is the old one plus what extra points to. */
    *(MPI_Aint *)out = (MPI_Aint)in + *(int *)extra;
    *flag = 1;
    return MPI_SUCCESS;
}

static int count_delete(MPI_Comm comm, int keyval, void *val, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)extra;
    deletes++;
    last_deleted = (int)(MPI_Aint)val;
    return MPI_SUCCESS;
}

static int type_copy(
    MPI_Datatype t, int keyval, void *extra, void *in, void *out, int *flag)
{
    (void)t;
    (void)keyval;
    (void)extra;
    copies++;
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}

static int type_delete(MPI_Datatype t, int keyval, void *val, void *extra)
{
    (void)t;
    (void)keyval;
    (void)extra;
    deletes++;
    last_deleted = (int)(MPI_Aint)val;
    return MPI_SUCCESS;
}

static int self_delete(MPI_Comm comm, int keyval, void *val, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)extra;
    if (nself < 3)
        self_order[nself] = (int)(MPI_Aint)val;
    nself++;
    return MPI_SUCCESS;
}

static void predefined(void)
{
    int *v, flag;

    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &v, &flag);
    CHECK(flag && *v >= 32767, "MPI_TAG_UB flag %d", flag);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_HOST, &v, &flag);
    CHECK(flag, "MPI_HOST not set");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_IO, &v, &flag);
    CHECK(flag, "MPI_IO not set");
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_WTIME_IS_GLOBAL, &v, &flag);
    CHECK(flag && (*v == 0 || *v == 1), "MPI_WTIME_IS_GLOBAL flag %d", flag);
    MPI_Attr_get(MPI_COMM_WORLD, MPI_TAG_UB, &v, &flag);
    CHECK(flag && *v >= 32767, "MPI_Attr_get MPI_TAG_UB flag %d", flag);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &v, &flag);
    CHECK(flag, "MPI_LASTUSEDCODE not set");
    SAY("predefined attributes present\n");
}

static void comm_attrs(void)
{
    int key, nocopy, flag, step = 10;
    MPI_Comm dup, dup2;
    void *val;

    MPI_Comm_create_keyval(count_copy, count_delete, &key, &step);
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, count_delete, &nocopy, NULL);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_get_attr(dup, key, &val, &flag);
    CHECK(!flag, "attribute present before it is set");
    MPI_Comm_set_attr(dup, key, (void *)(MPI_Aint)5);
    MPI_Comm_set_attr(dup, nocopy, (void *)(MPI_Aint)7);
    MPI_Comm_get_attr(dup, key, &val, &flag);
    CHECK(flag && (MPI_Aint)val == 5, "get after set: flag %d val %ld", flag,
          (long)(MPI_Aint)val);

    /* Replacing runs the delete callback on the old value. */
    deletes = 0;
    MPI_Comm_set_attr(dup, key, (void *)(MPI_Aint)6);
    CHECK(deletes == 1 && last_deleted == 5, "replace: %d deletes, last %d",
          deletes, last_deleted);

    copies = 0;
    MPI_Comm_dup(dup, &dup2);
    CHECK(copies == 1, "dup ran %d copy callbacks", copies);
    MPI_Comm_get_attr(dup2, key, &val, &flag);
    CHECK(flag && (MPI_Aint)val == 16, "copied value: flag %d val %ld", flag,
          (long)(MPI_Aint)val);
    MPI_Comm_get_attr(dup2, nocopy, &val, &flag);
    CHECK(!flag, "MPI_COMM_NULL_COPY_FN attribute was copied");

    /* Deleting runs the callback and removes the attribute. */
    deletes = 0;
    MPI_Comm_delete_attr(dup, nocopy);
    CHECK(deletes == 1 && last_deleted == 7, "delete: %d deletes, last %d",
          deletes, last_deleted);
    MPI_Comm_get_attr(dup, nocopy, &val, &flag);
    CHECK(!flag, "attribute still there after delete");

    /* A freed keyval's attributes stay, and are deleted with the object. */
    MPI_Comm_free_keyval(&key);
    CHECK(key == MPI_KEYVAL_INVALID, "freed keyval not invalidated");
    deletes = 0;
    MPI_Comm_free(&dup2);
    CHECK(deletes == 1 && last_deleted == 16, "free: %d deletes, last %d",
          deletes, last_deleted);
    MPI_Comm_free(&dup);
    CHECK(deletes == 2 && last_deleted == 6, "free: %d deletes, last %d",
          deletes, last_deleted);
    MPI_Comm_free_keyval(&nocopy);
    SAY("communicator attributes: copy on dup, delete on replace, delete "
        "and free\n");
}

static void mpi1_forms(void)
{
    int key, flag;
    MPI_Comm dup;
    void *val;

    MPI_Keyval_create(MPI_DUP_FN, MPI_NULL_DELETE_FN, &key, NULL);
    MPI_Attr_put(MPI_COMM_WORLD, key, (void *)(MPI_Aint)42);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Attr_get(dup, key, &val, &flag);
    CHECK(flag && (MPI_Aint)val == 42, "MPI_DUP_FN: flag %d val %ld", flag,
          (long)(MPI_Aint)val);
    MPI_Attr_delete(dup, key);
    MPI_Attr_get(dup, key, &val, &flag);
    CHECK(!flag, "MPI_Attr_delete left the attribute");
    MPI_Attr_delete(MPI_COMM_WORLD, key);
    MPI_Comm_free(&dup);
    MPI_Keyval_free(&key);
    SAY("MPI-1 keyvals and attributes\n");
}

static void type_attrs(void)
{
    int key, flag;
    MPI_Datatype t, t2;
    void *val;

    MPI_Type_create_keyval(type_copy, type_delete, &key, NULL);
    MPI_Type_contiguous(2, MPI_INT, &t);
    MPI_Type_set_attr(t, key, (void *)(MPI_Aint)3);
    copies = 0;
    MPI_Type_dup(t, &t2);
    CHECK(copies == 1, "type dup ran %d copy callbacks", copies);
    MPI_Type_get_attr(t2, key, &val, &flag);
    CHECK(flag && (MPI_Aint)val == 3, "type copy: flag %d val %ld", flag,
          (long)(MPI_Aint)val);
    deletes = 0;
    MPI_Type_free(&t2);
    CHECK(deletes == 1, "type free ran %d delete callbacks", deletes);
    MPI_Type_delete_attr(t, key);
    CHECK(deletes == 2, "type delete ran %d delete callbacks", deletes - 1);
    MPI_Type_get_attr(t, key, &val, &flag);
    CHECK(!flag, "type attribute still there after delete");
    MPI_Type_free(&t);

    /* Predefined types carry attributes too. */
    MPI_Type_set_attr(MPI_DOUBLE, key, (void *)(MPI_Aint)9);
    MPI_Type_get_attr(MPI_DOUBLE, key, &val, &flag);
    CHECK(flag && (MPI_Aint)val == 9, "MPI_DOUBLE attribute: flag %d", flag);
    MPI_Type_delete_attr(MPI_DOUBLE, key);
    MPI_Type_free_keyval(&key);
    SAY("datatype attributes: copy on dup, delete on free\n");
}

int main(int argc, char **argv)
{
    int rank, total = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    predefined();
    comm_attrs();
    mpi1_forms();
    type_attrs();

    for (int i = 1; i <= 3; i++) {
        int k;
        MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, self_delete, &k, NULL);
        MPI_Comm_set_attr(MPI_COMM_SELF, k, (void *)(MPI_Aint)i);
    }
    MPI_Allreduce(&mtest_errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    /* MPI_COMM_SELF's attributes go first at MPI_Finalize, last set first. */
    if (nself != 3 || self_order[0] != 3 || self_order[1] != 2
        || self_order[2] != 1) {
        printf("FAIL rank %d: MPI_COMM_SELF attributes deleted %d times, "
               "order %d %d %d\n",
               rank, nself, self_order[0], self_order[1], self_order[2]);
        total++;
    }
    if (rank == 0) {
        printf("MPI_COMM_SELF attributes deleted at MPI_Finalize\n");
        printf(total ? "Found %d errors\n" : "No Errors\n", total);
    }
    return total != 0;
}
