/* SPDX-License-Identifier: MIT */
/* nodecoll.c - the collectives that have node-aware forms (Barrier, Bcast,
 * Reduce, Allreduce, Allgather, blocking and nonblocking) at several sizes
 * and roots, in place, with a derived datatype and a non-commutative
 * operation, on MPI_COMM_WORLD and on communicators whose ranks are
 * spread over nodes differently. The testlist runs it with ranks put on
 * fake nodes (SHOAL_MPI_NODE); any MPI must print the same. */
#include <string.h>

#include "mtest.h"

enum { PRIME = 1000003 };

/* 2x2 matrices mod PRIME multiply associatively but not commutatively;
 * MPI asks for inout = in op inout, in being the lower ranks' operand. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    const long *a = in;
    long *b = inout;

    (void)dt;
    for (int i = 0; i < *len; i++, a += 4, b += 4) {
        long c[4] = {
            (a[0] * b[0] + a[1] * b[2]) % PRIME,
            (a[0] * b[1] + a[1] * b[3]) % PRIME,
            (a[2] * b[0] + a[3] * b[2]) % PRIME,
            (a[2] * b[1] + a[3] * b[3]) % PRIME,
        };
        memcpy(b, c, sizeof(c));
    }
}

static void mat_of(int rank, int i, long m[4])
{
    m[0] = rank + 1;
    m[1] = i % 5 + rank;
    m[2] = (rank * 7 + i) % 3;
    m[3] = 2;
}

static int val(int rank, int i)
{
    return rank * 1000 + i % 997;
}

static void run(MPI_Comm comm, const char *what, MPI_Op noncomm,
                MPI_Datatype mat)
{
    int rank, size;
    const int counts[] = {0, 1, 7, 300, 70000};

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    for (int k = 0; k < 3; k++)
        MPI_Barrier(comm);
    for (unsigned ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
        int n = counts[ci];
        int *a = malloc(sizeof(int) * (n + 1));
        int *b = malloc(sizeof(int) * (n + 1));
        int *g = malloc(sizeof(int) * ((size_t)n * size + 1));
        int nroots = n > 1000 ? 2 : size;
        for (int ri = 0; ri < nroots; ri++) {
            int root = n > 1000 ? (ri ? size - 1 : size / 2) : ri;
            /* Bcast */
            for (int i = 0; i < n; i++)
                a[i] = rank == root ? val(root, i) : -1;
            MPI_Bcast(a, n, MPI_INT, root, comm);
            for (int i = 0; i < n; i++)
                if (a[i] != val(root, i)) {
                    CHECK(0, "%s bcast n %d root %d [%d]: %d", what, n, root,
                          i, a[i]);
                    break;
                }
            /* Reduce, and in place at the root */
            for (int i = 0; i < n; i++) {
                a[i] = val(rank, i);
                b[i] = -1;
            }
            if (ri % 2 == 0 || rank != root)
                MPI_Reduce(a, b, n, MPI_INT, MPI_SUM, root, comm);
            else
                MPI_Reduce(MPI_IN_PLACE, (memcpy(b, a, sizeof(int) * n), b),
                           n, MPI_INT, MPI_SUM, root, comm);
            if (rank == root)
                for (int i = 0; i < n; i++) {
                    int want = size * (i % 997) + 1000 * size * (size - 1) / 2;
                    if (b[i] != want) {
                        CHECK(0, "%s reduce n %d root %d [%d]: %d != %d", what,
                              n, root, i, b[i], want);
                        break;
                    }
                }
            /* Non-commutative reduce: the product in rank order */
            int m = n < 300 ? n : 300;
            long *x = malloc(sizeof(long) * 4 * (m + 1));
            long *y = malloc(sizeof(long) * 4 * (m + 1));
            for (int i = 0; i < m; i++)
                mat_of(rank, i, x + 4 * i);
            MPI_Reduce(x, y, m, mat, noncomm, root, comm);
            if (rank == root)
                for (int i = 0; i < m; i++) {
                    long want[4];
                    mat_of(0, i, want);
                    for (int q = 1; q < size; q++) {
                        long t[4];
                        int one = 1;
                        mat_of(q, i, t);
                        matmul(want, t, &one, NULL);
                        memcpy(want, t, sizeof(t));
                    }
                    if (memcmp(want, y + 4 * i, sizeof(want))) {
                        CHECK(0, "%s noncomm reduce n %d root %d [%d]", what,
                              m, root, i);
                        break;
                    }
                }
            free(x);
            free(y);
        }
        /* Allreduce, in place and not, blocking and not */
        for (int mode = 0; mode < 3; mode++) {
            for (int i = 0; i < n; i++) {
                a[i] = val(rank, i);
                b[i] = mode == 1 ? a[i] : -1;
            }
            if (mode == 0) {
                MPI_Allreduce(a, b, n, MPI_INT, MPI_SUM, comm);
            } else if (mode == 1) {
                MPI_Allreduce(MPI_IN_PLACE, b, n, MPI_INT, MPI_SUM, comm);
            } else {
                MPI_Request r;
                MPI_Iallreduce(a, b, n, MPI_INT, MPI_SUM, comm, &r);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
            }
            for (int i = 0; i < n; i++) {
                int want = size * (i % 997) + 1000 * size * (size - 1) / 2;
                if (b[i] != want) {
                    CHECK(0, "%s allreduce mode %d n %d [%d]: %d != %d", what,
                          mode, n, i, b[i], want);
                    break;
                }
            }
        }
        /* Allgather, in place and not */
        for (int mode = 0; mode < 3; mode++) {
            for (int i = 0; i < n * size; i++)
                g[i] = i / (n ? n : 1) == rank ? val(rank, i % n) : -1;
            for (int i = 0; i < n; i++)
                a[i] = val(rank, i);
            if (mode == 0) {
                MPI_Allgather(a, n, MPI_INT, g, n, MPI_INT, comm);
            } else if (mode == 1) {
                MPI_Allgather(MPI_IN_PLACE, n, MPI_INT, g, n, MPI_INT, comm);
            } else {
                MPI_Request r;
                MPI_Iallgather(a, n, MPI_INT, g, n, MPI_INT, comm, &r);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
            }
            for (int i = 0; i < n * size; i++)
                if (g[i] != val(i / n, i % n)) {
                    CHECK(0, "%s allgather mode %d n %d [%d]: %d", what, mode,
                          n, i, g[i]);
                    break;
                }
        }
        free(a);
        free(b);
        free(g);
    }

    /* A strided type: every other int of 2n. */
    int n = 500;
    MPI_Datatype every2;
    MPI_Type_vector(n, 1, 2, MPI_INT, &every2);
    MPI_Type_commit(&every2);
    int *v = malloc(sizeof(int) * 2 * n);
    for (int i = 0; i < 2 * n; i++)
        v[i] = i % 2 ? -7 : (rank == size - 1 ? i : -1);
    MPI_Bcast(v, 1, every2, size - 1, comm);
    for (int i = 0; i < 2 * n; i++)
        if (v[i] != (i % 2 ? -7 : i)) {
            CHECK(0, "%s strided bcast [%d]: %d", what, i, v[i]);
            break;
        }
    /* ... and gathered from every rank into every other int. */
    int *all = malloc(sizeof(int) * 2 * n * size);
    for (int i = 0; i < 2 * n; i++)
        v[i] = i % 2 ? -7 : rank * 10000 + i;
    for (int i = 0; i < 2 * n * size; i++)
        all[i] = -3;
    MPI_Allgather(v, 1, every2, all, n, MPI_INT, comm);
    for (int i = 0; i < n * size; i++)
        if (all[i] != (i / n) * 10000 + 2 * (i % n)) {
            CHECK(0, "%s strided allgather [%d]: %d", what, i, all[i]);
            break;
        }
    free(all);
    MPI_Type_free(&every2);
    free(v);

    /* Non-commutative allreduce */
    long x[4 * 20], y[4 * 20], want[4];
    for (int i = 0; i < 20; i++)
        mat_of(rank, i, x + 4 * i);
    MPI_Allreduce(x, y, 20, mat, noncomm, comm);
    for (int i = 0; i < 20; i++) {
        mat_of(0, i, want);
        for (int q = 1; q < size; q++) {
            long t[4];
            int one = 1;
            mat_of(q, i, t);
            matmul(want, t, &one, NULL);
            memcpy(want, t, sizeof(t));
        }
        if (memcmp(want, y + 4 * i, sizeof(want))) {
            CHECK(0, "%s noncomm allreduce [%d]", what, i);
            break;
        }
    }
    MPI_Request r;
    MPI_Ibarrier(comm, &r);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
}

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Op noncomm;
    MPI_Datatype mat;
    MPI_Comm dup, half, rev, odd;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("nodecoll on %d ranks\n", size);
    MPI_Op_create(matmul, 0, &noncomm);
    MPI_Type_contiguous(4, MPI_LONG, &mat);
    MPI_Type_commit(&mat);

    run(MPI_COMM_WORLD, "world", noncomm, mat);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    run(dup, "dup", noncomm, mat);
    /* Reversed rank order, and the upper ranks but one. */
    MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &rev);
    run(rev, "reversed", noncomm, mat);
    MPI_Comm_split(MPI_COMM_WORLD, rank > 0, rank, &half);
    if (rank > 0)
        run(half, "upper", noncomm, mat);
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &odd);
    run(odd, "parity", noncomm, mat);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&rev);
    MPI_Comm_free(&half);
    MPI_Comm_free(&odd);

    MPI_Type_free(&mat);
    MPI_Op_free(&noncomm);
    return mtest_finalize();
}
