/* SPDX-License-Identifier: MIT */
/* collectives.c - every blocking collective at sizes that select each
 * algorithm, with MPI_IN_PLACE, several roots, MINLOC/MAXLOC and a
 * non-commutative user operation. Prints checksums that must match the
 * reference implementation's. */
#include <string.h>

#include "mtest.h"

static int rank, size;

/* 2x2 integer matrix product: associative, not commutative. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    int *a = in, *b = inout;
    (void)dt;
    for (int i = 0; i < *len; i++, a += 4, b += 4) {
        int c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                    a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
        memcpy(b, c, sizeof(c));
    }
}

static long long sumll(const long long *v, int n)
{
    long long s = 0;
    for (int i = 0; i < n; i++)
        s += v[i] * (i % 7 + 1);
    return s;
}

static void test_bcast(void)
{
    int counts[] = {1, 100, 40000, 300000};
    for (int k = 0; k < 4; k++) {
        int n = counts[k];
        for (int root = 0; root < size; root += (size > 2 ? size - 1 : 1)) {
            int *b = malloc(sizeof(int) * n);
            for (int i = 0; i < n; i++)
                b[i] = rank == root ? i * 3 + root : -1;
            MPI_Bcast(b, n, MPI_INT, root, MPI_COMM_WORLD);
            int bad = 0;
            for (int i = 0; i < n; i++)
                bad += b[i] != i * 3 + root;
            CHECK(bad == 0, "bcast n %d root %d: %d bad", n, root, bad);
            free(b);
        }
    }
}

static void test_allreduce(void)
{
    int counts[] = {1, 3, 1000, 100000};
    for (int k = 0; k < 4; k++) {
        int n = counts[k];
        long long *in = malloc(sizeof(long long) * n);
        long long *out = malloc(sizeof(long long) * n);
        for (int i = 0; i < n; i++)
            in[i] = (long long)(i + 1) * (rank + 1);
        MPI_Allreduce(in, out, n, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        int bad = 0;
        for (int i = 0; i < n; i++)
            bad += out[i] != (long long)(i + 1) * size * (size + 1) / 2;
        CHECK(bad == 0, "allreduce sum n %d: %d bad", n, bad);
        SAY("allreduce n=%d checksum %lld\n", n, sumll(out, n));
        MPI_Allreduce(MPI_IN_PLACE, in, n, MPI_LONG_LONG, MPI_MAX,
                      MPI_COMM_WORLD);
        bad = 0;
        for (int i = 0; i < n; i++)
            bad += in[i] != (long long)(i + 1) * size;
        CHECK(bad == 0, "allreduce in-place max n %d: %d bad", n, bad);
        free(in);
        free(out);
    }
    double d = rank + 0.25, dmin, dprod;
    MPI_Allreduce(&d, &dmin, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&d, &dprod, 1, MPI_DOUBLE, MPI_PROD, MPI_COMM_WORLD);
    CHECK(dmin == 0.25, "min %g", dmin);
    SAY("prod %.6g\n", dprod);
    unsigned u = 1u << rank, bor, band;
    MPI_Allreduce(&u, &bor, 1, MPI_UNSIGNED, MPI_BOR, MPI_COMM_WORLD);
    MPI_Allreduce(&u, &band, 1, MPI_UNSIGNED, MPI_BAND, MPI_COMM_WORLD);
    CHECK(bor == (1u << size) - 1, "bor %x", bor);
    CHECK(band == (size == 1 ? 1u : 0u), "band %x", band);
    int l = rank % 2, lor, land, lxor;
    MPI_Allreduce(&l, &lor, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    MPI_Allreduce(&l, &land, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    MPI_Allreduce(&l, &lxor, 1, MPI_INT, MPI_LXOR, MPI_COMM_WORLD);
    SAY("lor %d land %d lxor %d\n", lor, land, lxor);

    struct {
        double v;
        int k;
    } dv = {(double)((rank * 7) % 5), rank}, dmn, dmx;
    MPI_Allreduce(&dv, &dmn, 1, MPI_DOUBLE_INT, MPI_MINLOC, MPI_COMM_WORLD);
    MPI_Allreduce(&dv, &dmx, 1, MPI_DOUBLE_INT, MPI_MAXLOC, MPI_COMM_WORLD);
    SAY("minloc %g@%d maxloc %g@%d\n", dmn.v, dmn.k, dmx.v, dmx.k);
    int iv[2] = {-(rank % 3), rank}, imx[2];
    MPI_Allreduce(iv, imx, 1, MPI_2INT, MPI_MAXLOC, MPI_COMM_WORLD);
    SAY("2int maxloc %d@%d\n", imx[0], imx[1]);

    /* Non-commutative user op: ordered product of rank matrices. */
    MPI_Op op;
    MPI_Op_create(matmul, 0, &op);
    int m4[8] = {1, rank + 1, 0, 1, 2, 0, rank, 1}, r4[8];
    MPI_Datatype mat;
    MPI_Type_contiguous(4, MPI_INT, &mat);
    MPI_Type_commit(&mat);
    MPI_Allreduce(m4, r4, 2, mat, op, MPI_COMM_WORLD);
    SAY("matprod [%d %d %d %d] [%d %d %d %d]\n", r4[0], r4[1], r4[2], r4[3],
        r4[4], r4[5], r4[6], r4[7]);
    MPI_Reduce(m4, r4, 2, mat, op, size - 1, MPI_COMM_WORLD);
    if (rank == size - 1)
        CHECK(r4[1] == size * (size + 1) / 2, "reduce matprod %d", r4[1]);
    MPI_Type_free(&mat);
    MPI_Op_free(&op);
}

static void test_reduce(void)
{
    int counts[] = {1, 5000};
    for (int k = 0; k < 2; k++) {
        int n = counts[k];
        for (int root = 0; root < size; root++) {
            int *in = malloc(sizeof(int) * n), *out = malloc(sizeof(int) * n);
            for (int i = 0; i < n; i++)
                in[i] = i + rank;
            MPI_Reduce(in, out, n, MPI_INT, MPI_SUM, root, MPI_COMM_WORLD);
            if (rank == root) {
                int bad = 0;
                for (int i = 0; i < n; i++)
                    bad += out[i] != i * size + size * (size - 1) / 2;
                CHECK(bad == 0, "reduce n %d root %d", n, root);
                MPI_Reduce(MPI_IN_PLACE, in, n, MPI_INT, MPI_MAX, root,
                           MPI_COMM_WORLD);
                CHECK(in[0] == size - 1, "reduce in place %d", in[0]);
            } else {
                MPI_Reduce(in, NULL, n, MPI_INT, MPI_MAX, root, MPI_COMM_WORLD);
            }
            free(in);
            free(out);
        }
    }
}

static void test_gather_scatter(void)
{
    int counts[] = {1, 3000, 20000};
    for (int k = 0; k < 3; k++) {
        int n = counts[k];
        int root = k % size;
        int *mine = malloc(sizeof(int) * n);
        int *all = malloc(sizeof(int) * n * size);
        for (int i = 0; i < n; i++)
            mine[i] = rank * n + i;
        MPI_Gather(mine, n, MPI_INT, all, n, MPI_INT, root, MPI_COMM_WORLD);
        if (rank == root) {
            int bad = 0;
            for (int i = 0; i < n * size; i++)
                bad += all[i] != i;
            CHECK(bad == 0, "gather n %d: %d bad", n, bad);
        }
        if (rank == root)
            for (int i = 0; i < n * size; i++)
                all[i] = 5 * i;
        MPI_Scatter(all, n, MPI_INT, mine, n, MPI_INT, root, MPI_COMM_WORLD);
        int bad = 0;
        for (int i = 0; i < n; i++)
            bad += mine[i] != 5 * (rank * n + i);
        CHECK(bad == 0, "scatter n %d: %d bad", n, bad);
        for (int i = 0; i < n; i++)
            mine[i] = rank * n + i;
        MPI_Allgather(mine, n, MPI_INT, all, n, MPI_INT, MPI_COMM_WORLD);
        bad = 0;
        for (int i = 0; i < n * size; i++)
            bad += all[i] != i;
        CHECK(bad == 0, "allgather n %d: %d bad", n, bad);
        /* In place: each rank's block is already there. */
        for (int i = 0; i < n * size; i++)
            all[i] = i / n == rank ? i : -1;
        MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, n, MPI_INT,
                      MPI_COMM_WORLD);
        bad = 0;
        for (int i = 0; i < n * size; i++)
            bad += all[i] != i;
        CHECK(bad == 0, "allgather in place n %d: %d bad", n, bad);
        free(mine);
        free(all);
    }
    /* The v variants with uneven counts: rank i contributes i + 1. */
    int *rc = malloc(sizeof(int) * size), *dp = malloc(sizeof(int) * size);
    int tot = 0;
    for (int i = 0; i < size; i++) {
        rc[i] = i + 1;
        dp[i] = tot + i; /* a hole of i elements before each block */
        tot += i + 1 + i;
    }
    int *mine = malloc(sizeof(int) * (rank + 1));
    int *all = malloc(sizeof(int) * tot);
    for (int i = 0; i <= rank; i++)
        mine[i] = 100 * rank + i;
    for (int i = 0; i < tot; i++)
        all[i] = -7;
    MPI_Gatherv(mine, rank + 1, MPI_INT, all, rc, dp, MPI_INT, 0,
                MPI_COMM_WORLD);
    if (rank == 0) {
        int bad = 0;
        for (int r = 0; r < size; r++)
            for (int i = 0; i <= r; i++)
                bad += all[dp[r] + i] != 100 * r + i;
        bad += size > 1 && all[dp[size - 1] - 1] != -7;
        CHECK(bad == 0, "gatherv %d bad", bad);
    }
    for (int i = 0; i < tot; i++)
        all[i] = -7;
    MPI_Allgatherv(mine, rank + 1, MPI_INT, all, rc, dp, MPI_INT,
                   MPI_COMM_WORLD);
    int bad = 0;
    for (int r = 0; r < size; r++)
        for (int i = 0; i <= r; i++)
            bad += all[dp[r] + i] != 100 * r + i;
    CHECK(bad == 0, "allgatherv %d bad", bad);
    for (int i = 0; i <= rank; i++)
        mine[i] = 0;
    MPI_Scatterv(all, rc, dp, MPI_INT, mine, rank + 1, MPI_INT, size - 1,
                 MPI_COMM_WORLD);
    bad = 0;
    for (int i = 0; i <= rank; i++)
        bad += mine[i] != 100 * rank + i;
    CHECK(bad == 0, "scatterv %d bad", bad);
    free(rc);
    free(dp);
    free(mine);
    free(all);
}

static void test_alltoall(void)
{
    int counts[] = {1, 50, 5000};
    for (int k = 0; k < 3; k++) {
        int n = counts[k];
        int *s = malloc(sizeof(int) * n * size),
            *r = malloc(sizeof(int) * n * size);
        for (int d = 0; d < size; d++)
            for (int i = 0; i < n; i++)
                s[d * n + i] = rank * 1000000 + d * 1000 + i % 1000;
        MPI_Alltoall(s, n, MPI_INT, r, n, MPI_INT, MPI_COMM_WORLD);
        int bad = 0;
        for (int src = 0; src < size; src++)
            for (int i = 0; i < n; i++)
                bad += r[src * n + i] != src * 1000000 + rank * 1000 + i % 1000;
        CHECK(bad == 0, "alltoall n %d: %d bad", n, bad);
        free(s);
        free(r);
    }
    /* Alltoallv: rank i sends j+1 elements to rank j. */
    int *sc = malloc(sizeof(int) * size), *sd = malloc(sizeof(int) * size);
    int *rc = malloc(sizeof(int) * size), *rd = malloc(sizeof(int) * size);
    int st = 0, rt = 0;
    for (int j = 0; j < size; j++) {
        sc[j] = j + 1;
        sd[j] = st;
        st += j + 1;
        rc[j] = rank + 1;
        rd[j] = rt;
        rt += rank + 1;
    }
    int *s = malloc(sizeof(int) * st), *r = malloc(sizeof(int) * rt);
    for (int j = 0; j < size; j++)
        for (int i = 0; i < sc[j]; i++)
            s[sd[j] + i] = rank * 100 + j;
    MPI_Alltoallv(s, sc, sd, MPI_INT, r, rc, rd, MPI_INT, MPI_COMM_WORLD);
    int bad = 0;
    for (int j = 0; j < size; j++)
        for (int i = 0; i < rc[j]; i++)
            bad += r[rd[j] + i] != j * 100 + rank;
    CHECK(bad == 0, "alltoallv %d bad", bad);
    free(s);
    free(r);
    free(sc);
    free(sd);
    free(rc);
    free(rd);
}

static void test_scans(void)
{
    int v = rank + 1, s = 0, e = -99;
    MPI_Scan(&v, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(s == (rank + 1) * (rank + 2) / 2, "scan %d", s);
    MPI_Exscan(&v, &e, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank > 0)
        CHECK(e == rank * (rank + 1) / 2, "exscan %d", e);
    int all[3];
    int m[3] = {rank, -rank, rank * rank};
    MPI_Scan(m, all, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CHECK(all[0] == rank && all[1] == 0 && all[2] == rank * rank, "scan max");

    /* Reduce_scatter_block and Reduce_scatter. */
    int n = 3;
    int *in = malloc(sizeof(int) * n * size), out[3];
    for (int i = 0; i < n * size; i++)
        in[i] = i + rank;
    MPI_Reduce_scatter_block(in, out, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < n; i++)
        CHECK(out[i] == (rank * n + i) * size + size * (size - 1) / 2, "rsb %d",
              out[i]);
    int *cnt = malloc(sizeof(int) * size), tot = 0;
    for (int i = 0; i < size; i++)
        tot += cnt[i] = i % 3 + 1;
    int *in2 = malloc(sizeof(int) * tot), out2[3];
    for (int i = 0; i < tot; i++)
        in2[i] = i * (rank + 1);
    MPI_Reduce_scatter(in2, out2, cnt, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int off = 0;
    for (int i = 0; i < rank; i++)
        off += cnt[i];
    for (int i = 0; i < cnt[rank]; i++)
        CHECK(out2[i] == (off + i) * size * (size + 1) / 2, "rs %d", out2[i]);
    free(in);
    free(in2);
    free(cnt);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("collectives on %d ranks\n", size);
    MPI_Barrier(MPI_COMM_WORLD);
    test_bcast();
    test_allreduce();
    test_reduce();
    test_gather_scatter();
    test_alltoall();
    test_scans();
    MPI_Barrier(MPI_COMM_WORLD);
    return mtest_finalize();
}
