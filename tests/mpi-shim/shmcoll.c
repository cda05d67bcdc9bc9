/* SPDX-License-Identifier: MIT */
/* shmcoll.c - blocking Allreduce and Barrier in quick succession over
 * communicators that hold every rank of a node (shoal runs these through
 * the node's shared segment) and over ones that do not (messages),
 * interleaved, so a rank that ran ahead into the next collective must not
 * overwrite what a slower one still reads:
 * - sums on MPI_COMM_WORLD and on a duplicate, many times in a row, with
 *   the operand changing every time, in place and not;
 * - a non-commutative operation (composition of affine maps x -> a x + b
 *   modulo 2^32) on a communicator with the ranks reversed, whose result
 *   depends on the rank order;
 * - a type with holes (every other int of a vector) and a user's sum;
 * - a split into halves in between (not every rank of a node);
 * - barriers that order a write before a read through a sum.
 * Prints "No Errors". */
#include <stdint.h>
#include <string.h>

#include "mtest.h"

enum { ROUNDS = 2000, N = 5 };

/* (a, b) is the map x -> a x + b; in then inout: inout = in o inout, the
 * map that applies inout first and then in. */
static void compose(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    const uint32_t *f = in;
    uint32_t *g = inout;

    (void)dt;
    for (int i = 0; i < *len; i++) {
        uint32_t a = f[2 * i] * g[2 * i];
        uint32_t b = f[2 * i] * g[2 * i + 1] + f[2 * i + 1];
        g[2 * i] = a;
        g[2 * i + 1] = b;
    }
}

/* A sum over the type with holes (N ints, every other one), which the
 * predefined MPI_SUM need not support on a derived type. */
static void vsum(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    const int *a = in;
    int *b = inout;

    (void)dt;
    for (int e = 0; e < *len; e++)
        for (int i = 0; i < N; i++)
            b[e * (2 * N - 1) + 2 * i] += a[e * (2 * N - 1) + 2 * i];
}

/* The map of rank r in round k. */
static void map_of(int r, int k, uint32_t *m)
{
    m[0] = 2u * (uint32_t)r + 3u + (uint32_t)k;
    m[1] = 7u * (uint32_t)r + (uint32_t)k;
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Comm dup, rev, half;
    MPI_Op op, vop;
    MPI_Datatype pair, holes;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &rev);
    MPI_Comm_split(MPI_COMM_WORLD, rank < size / 2, rank, &half);
    MPI_Op_create(compose, 0, &op);
    MPI_Op_create(vsum, 1, &vop);
    MPI_Type_contiguous(2, MPI_UINT32_T, &pair);
    MPI_Type_commit(&pair);
    MPI_Type_vector(N, 1, 2, MPI_INT, &holes);
    MPI_Type_commit(&holes);
    int hsize;
    MPI_Comm_size(half, &hsize);

    for (int k = 0; k < ROUNDS; k++) {
        long v = rank + k, sum = 0;
        MPI_Allreduce(&v, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
        long want = (long)size * (size - 1) / 2 + (long)size * k;
        CHECK(sum == want, "round %d world sum %ld, want %ld", k, sum, want);

        double d[3] = {rank, 1.0, k};
        MPI_Allreduce(MPI_IN_PLACE, d, 3, MPI_DOUBLE, MPI_MAX, dup);
        CHECK(d[0] == size - 1 && d[1] == 1.0 && d[2] == k,
              "round %d dup max %g %g %g", k, d[0], d[1], d[2]);

        /* rev's rank 0 is world's last: the composition runs in rev's
         * order, world rank 0's map applied first. */
        uint32_t m[2], got[2], want2[2] = {1, 0};
        map_of(rank, k, m);
        MPI_Allreduce(m, got, 1, pair, op, rev);
        for (int r = 0; r < size; r++) {
            uint32_t f[2];
            int one = 1;
            map_of(r, k, f);
            compose(f, want2, &one, NULL);
        }
        CHECK(got[0] == want2[0] && got[1] == want2[1],
              "round %d rev compose (%u,%u), want (%u,%u)", k, got[0], got[1],
              want2[0], want2[1]);

        if (k % 7 == 0) {
            int hv = rank, hs = 0;
            MPI_Allreduce(&hv, &hs, 1, MPI_INT, MPI_SUM, half);
            int lo = rank < size / 2 ? 0 : size / 2;
            int want3 = (lo + lo + hsize - 1) * hsize / 2;
            CHECK(hs == want3, "round %d half sum %d, want %d", k, hs, want3);
        }

        if (k % 5 == 0) {
            int buf[2 * N], out[2 * N];
            for (int i = 0; i < 2 * N; i++) {
                buf[i] = rank * 100 + i + k;
                out[i] = -1;
            }
            MPI_Allreduce(buf, out, 1, holes, vop, MPI_COMM_WORLD);
            for (int i = 0; i < 2 * N; i++) {
                int w =
                    i % 2 ? -1 : 100 * size * (size - 1) / 2 + size * (i + k);
                CHECK(out[i] == w, "round %d holes [%d] %d, want %d", k, i,
                      out[i], w);
            }
        }
        MPI_Barrier(k % 2 ? dup : MPI_COMM_WORLD);
    }
    MPI_Type_free(&holes);
    MPI_Type_free(&pair);
    MPI_Op_free(&vop);
    MPI_Op_free(&op);
    MPI_Comm_free(&half);
    MPI_Comm_free(&rev);
    MPI_Comm_free(&dup);
    return mtest_finalize();
}
