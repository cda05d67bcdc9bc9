/* SPDX-License-Identifier: MIT */
/* userop_holes.c - a user-defined reduction over a datatype with holes
 * (every other int of a vector), in Reduce, Allreduce and their in-place
 * and nonblocking forms: the holes are left alone and the function sees
 * the type's own layout. */
#include <stdio.h>

#include <mpi.h>

#include "mtest.h"

enum { COUNT = 3, INTS = 2 * 2 * COUNT };

/* adds element-wise, and checks it is given the vector layout: the hole
 * between the two ints of an element is never looked at or written */
static void add_pairs(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    int *a = in, *b = inout;

    (void)dt;
    for (int i = 0; i < *len; i++) {
        b[4 * i] += a[4 * i];
        b[4 * i + 2] += a[4 * i + 2];
    }
}

static void fill(int *buf, int rank)
{
    for (int i = 0; i < INTS; i++)
        buf[i] = i % 2 ? -7 : rank + i;
}

static int check(const int *buf, int size, const char *what)
{
    int errs = 0;

    for (int i = 0; i < INTS; i++) {
        /* holes keep what the receiver had (-7); data is the sum */
        int want = i % 2 ? -7 : size * (size - 1) / 2 + size * i;
        if (buf[i] != want) {
            if (errs < 5)
                printf("%s: int %d is %d, not %d\n", what, i, buf[i], want);
            errs++;
        }
    }
    return errs;
}

int main(int argc, char **argv)
{
    int rank, size;
    int send[INTS], recv[INTS];
    MPI_Datatype pair;
    MPI_Op op;
    MPI_Request req;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* two ints 8 bytes apart, extent 16: a hole inside and one after */
    MPI_Type_vector(2, 1, 2, MPI_INT, &pair);
    MPI_Type_create_resized(pair, 0, 4 * sizeof(int), &pair);
    MPI_Type_commit(&pair);
    MPI_Op_create(add_pairs, 1, &op);

    fill(send, rank);
    fill(recv, -1000);
    MPI_Allreduce(send, recv, COUNT, pair, op, MPI_COMM_WORLD);
    mtest_errors += check(recv, size, "allreduce");

    fill(recv, rank);
    MPI_Allreduce(MPI_IN_PLACE, recv, COUNT, pair, op, MPI_COMM_WORLD);
    mtest_errors += check(recv, size, "allreduce in place");

    fill(recv, -1000);
    MPI_Reduce(send, recv, COUNT, pair, op, size - 1, MPI_COMM_WORLD);
    if (rank == size - 1)
        mtest_errors += check(recv, size, "reduce");

    fill(recv, -1000);
    MPI_Iallreduce(send, recv, COUNT, pair, op, MPI_COMM_WORLD, &req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    mtest_errors += check(recv, size, "iallreduce");

    MPI_Op_free(&op);
    MPI_Type_free(&pair);
    return mtest_finalize();
}
