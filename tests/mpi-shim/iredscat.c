/* SPDX-License-Identifier: MIT */
/* iredscat.c - MPI_Ireduce_scatter and MPI_Ireduce_scatter_block with a
 * commutative operation (MPI_SUM), a non-commutative user operation
 * (2x2 matrix product, whose result depends on the operands' rank
 * order), MPI_IN_PLACE and a derived type; several in flight at once,
 * completed by one MPI_Waitall, and the blocking forms after them. */
#include "mtest.h"

/* Integer 2x2 matrices modulo 1009, multiplied in order (a * b). */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    int *a = in, *b = inout;

    (void)dt;
    for (int i = 0; i < *len; i++, a += 4, b += 4) {
        int c[4] = {(a[0] * b[0] + a[1] * b[2]) % 1009,
                    (a[0] * b[1] + a[1] * b[3]) % 1009,
                    (a[2] * b[0] + a[3] * b[2]) % 1009,
                    (a[2] * b[1] + a[3] * b[3]) % 1009};
        for (int k = 0; k < 4; k++)
            b[k] = c[k];
    }
}

static void mat_of(int rank, int elem, int m[4])
{
    m[0] = rank + 1;
    m[1] = elem + 2;
    m[2] = rank * elem % 7;
    m[3] = 1;
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Datatype mat;
    MPI_Type_contiguous(4, MPI_INT, &mat);
    MPI_Type_commit(&mat);
    MPI_Op prod;
    MPI_Op_create(matmul, 0, &prod);

    /* Rank i gets i+1 elements. */
    int *counts = malloc(sizeof(int) * size);
    int total = 0;
    for (int i = 0; i < size; i++) {
        counts[i] = i + 1;
        total += i + 1;
    }
    int *sum_in = malloc(sizeof(int) * total), sum_out[64];
    int *place = malloc(sizeof(int) * total);
    int *mats = malloc(sizeof(int) * 4 * total), mat_out[4 * 64];
    int blk_in[3 * 64], blk_out[3];
    for (int e = 0; e < total; e++) {
        sum_in[e] = 10 * rank + e;
        place[e] = 3 * rank + e;
        mat_of(rank, e, mats + 4 * e);
    }
    for (int e = 0; e < 3 * size; e++)
        blk_in[e] = rank * e;
    MPI_Request reqs[4];
    MPI_Ireduce_scatter(sum_in, sum_out, counts, MPI_INT, MPI_SUM,
                        MPI_COMM_WORLD, &reqs[0]);
    MPI_Ireduce_scatter(MPI_IN_PLACE, place, counts, MPI_INT, MPI_MAX,
                        MPI_COMM_WORLD, &reqs[1]);
    MPI_Ireduce_scatter(mats, mat_out, counts, mat, prod, MPI_COMM_WORLD,
                        &reqs[2]);
    MPI_Ireduce_scatter_block(blk_in, blk_out, 3, MPI_INT, MPI_SUM,
                              MPI_COMM_WORLD, &reqs[3]);
    MPI_Waitall(4, reqs, MPI_STATUSES_IGNORE);

    int first = rank * (rank + 1) / 2; /* my first element */
    for (int k = 0; k <= rank; k++) {
        int e = first + k, want = 0, mx = 0;
        for (int r = 0; r < size; r++) {
            want += 10 * r + e;
            mx = 3 * r + e > mx ? 3 * r + e : mx;
        }
        CHECK(sum_out[k] == want, "ireduce_scatter sum [%d]: %d, want %d", k,
              sum_out[k], want);
        CHECK(place[k] == mx, "in place max [%d]: %d, want %d", k, place[k],
              mx);
        /* r0 * r1 * ... * r(p-1), in rank order. */
        int acc[4];
        mat_of(size - 1, e, acc);
        for (int r = size - 2; r >= 0; r--) {
            int a[4];
            int one = 1;
            mat_of(r, e, a);
            matmul(a, acc, &one, NULL);
        }
        for (int i = 0; i < 4; i++)
            CHECK(mat_out[4 * k + i] == acc[i],
                  "non-commutative [%d][%d]: %d, want %d", k, i,
                  mat_out[4 * k + i], acc[i]);
    }
    for (int k = 0; k < 3; k++) {
        int e = 3 * rank + k, want = 0;
        for (int r = 0; r < size; r++)
            want += r * e;
        CHECK(blk_out[k] == want, "ireduce_scatter_block [%d]: %d, want %d", k,
              blk_out[k], want);
    }
    SAY("ireduce_scatter (sum, in place, non-commutative) and _block on %d "
        "ranks\n",
        size);

    /* The blocking forms, non-commutative, through the same schedule. */
    for (int i = 0; i < 4 * 64; i++)
        mat_out[i] = -1;
    MPI_Reduce_scatter(mats, mat_out, counts, mat, prod, MPI_COMM_WORLD);
    int ok = 1;
    for (int k = 0; k <= rank; k++) {
        int acc[4], e = first + k;
        mat_of(size - 1, e, acc);
        for (int r = size - 2; r >= 0; r--) {
            int a[4], one = 1;
            mat_of(r, e, a);
            matmul(a, acc, &one, NULL);
        }
        for (int i = 0; i < 4; i++)
            ok &= mat_out[4 * k + i] == acc[i];
    }
    CHECK(ok, "reduce_scatter non-commutative");
    int bm[4 * 64], bo[4 * 2];
    for (int e = 0; e < 2 * size; e++)
        mat_of(rank, e, bm + 4 * e);
    MPI_Reduce_scatter_block(bm, bo, 2, mat, prod, MPI_COMM_WORLD);
    for (int k = 0; k < 2; k++) {
        int acc[4], e = 2 * rank + k;
        mat_of(size - 1, e, acc);
        for (int r = size - 2; r >= 0; r--) {
            int a[4], one = 1;
            mat_of(r, e, a);
            matmul(a, acc, &one, NULL);
        }
        for (int i = 0; i < 4; i++)
            CHECK(bo[4 * k + i] == acc[i], "block non-commutative [%d][%d]", k,
                  i);
    }
    SAY("reduce_scatter and _block, non-commutative\n");
    MPI_Op_free(&prod);
    MPI_Type_free(&mat);
    free(counts);
    free(sum_in);
    free(place);
    free(mats);
    return mtest_finalize();
}
