/* SPDX-License-Identifier: MIT */
/* intercoll.c - the collectives on an intercommunicator between the even
 * and the odd world ranks beyond MPI_Barrier, _Bcast, _Allreduce and
 * _Allgather: MPI_Gather, _Gatherv, _Scatter, _Scatterv (the root passes
 * MPI_ROOT, its group mates MPI_PROC_NULL, the other group the root's
 * rank), MPI_Alltoall, _Alltoallv, _Alltoallw, MPI_Reduce (also with a
 * non-commutative operation), MPI_Reduce_scatter, _Reduce_scatter_block,
 * MPI_Allgatherv, and nonblocking forms (MPI_Igather, _Iscatterv,
 * _Ialltoall, _Iallgather, _Ireduce, _Ireduce_scatter_block; then
 * _Ibarrier, _Ibcast both ways and _Iallreduce) in flight at once. Each
 * group's data comes from the other group. */
#include "mtest.h"

#include <string.h>

/* 2x2 integer matrices modulo 101, a * b into b. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    int *a = in, *b = inout;

    (void)dt;
    for (int i = 0; i < *len; i++, a += 4, b += 4) {
        int c[4] = {(a[0] * b[0] + a[1] * b[2]) % 101,
                    (a[0] * b[1] + a[1] * b[3]) % 101,
                    (a[2] * b[0] + a[3] * b[2]) % 101,
                    (a[2] * b[1] + a[3] * b[3]) % 101};
        memcpy(b, c, sizeof(c));
    }
}

int main(int argc, char **argv)
{
    int wrank, wsize;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (wsize < 2) {
        SAY("needs 2 ranks\n");
        return mtest_finalize();
    }
    int color = wrank % 2;
    MPI_Comm local, ic;
    MPI_Comm_split(MPI_COMM_WORLD, color, wrank, &local);
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, color ? 0 : 1, 5, &ic);
    int lrank, lsize, rsize;
    MPI_Comm_rank(ic, &lrank);
    MPI_Comm_size(ic, &lsize);
    MPI_Comm_remote_size(ic, &rsize);
    /* World rank of remote rank r. */
#define REMOTE(r) (2 * (r) + !color)
    int buf[256], out[256];

    /* Gather and Scatter, rooted in each group in turn, at its last
     * rank. */
    for (int rg = 0; rg < 2; rg++) {
        int rootsize = rg == 0 ? (wsize + 1) / 2 : wsize / 2;
        int root_local = rootsize - 1;
        int in_root_group = color == rg;
        int root = in_root_group
                       ? (lrank == root_local ? MPI_ROOT : MPI_PROC_NULL)
                       : root_local;
        int mine[2] = {10 * wrank, 10 * wrank + 1};
        for (int i = 0; i < 256; i++)
            out[i] = -1;
        MPI_Gather(mine, 2, MPI_INT, out, 2, MPI_INT, root, ic);
        if (root == MPI_ROOT)
            for (int r = 0; r < rsize; r++)
                CHECK(out[2 * r] == 10 * REMOTE(r)
                          && out[2 * r + 1] == 10 * REMOTE(r) + 1,
                      "gather from %d: %d %d", r, out[2 * r], out[2 * r + 1]);
        if (root == MPI_PROC_NULL)
            CHECK(out[0] == -1, "gather touched a non-root");
        /* Gatherv: remote rank r sends r+1 ints, placed at 3r. */
        int counts[64], displs[64];
        for (int r = 0; r < rsize; r++) {
            counts[r] = r + 1;
            displs[r] = 3 * r;
        }
        int gv[3] = {wrank, wrank + 100, wrank + 200};
        for (int i = 0; i < 256; i++)
            out[i] = -1;
        MPI_Gatherv(gv, lrank + 1, MPI_INT, out, counts, displs, MPI_INT, root,
                    ic);
        if (root == MPI_ROOT)
            for (int r = 0; r < rsize; r++)
                for (int k = 0; k <= r && k < 3; k++)
                    CHECK(out[3 * r + k] == REMOTE(r) + 100 * k,
                          "gatherv from %d [%d]: %d", r, k, out[3 * r + k]);
        /* Scatter: the root sends remote rank r {r, -r}. */
        for (int r = 0; r < rsize; r++) {
            buf[2 * r] = 1000 + r;
            buf[2 * r + 1] = -r;
        }
        int got[3] = {-1, -1, -1};
        MPI_Scatter(buf, 2, MPI_INT, got, 2, MPI_INT, root, ic);
        if (!in_root_group)
            CHECK(got[0] == 1000 + lrank && got[1] == -lrank, "scatter: %d %d",
                  got[0], got[1]);
        /* Scatterv: remote rank r gets r%3+1 ints from 3r. */
        for (int r = 0; r < rsize; r++) {
            counts[r] = r % 3 + 1;
            displs[r] = 3 * r;
            for (int k = 0; k < 3; k++)
                buf[3 * r + k] = 50 * r + k;
        }
        got[0] = got[1] = got[2] = -1;
        MPI_Scatterv(buf, counts, displs, MPI_INT, got, lrank % 3 + 1, MPI_INT,
                     root, ic);
        if (!in_root_group)
            for (int k = 0; k <= lrank % 3; k++)
                CHECK(got[k] == 50 * lrank + k, "scatterv [%d]: %d", k, got[k]);
    }
    SAY("gather, gatherv, scatter, scatterv rooted in each group\n");

    /* Alltoall: to remote rank r, {wrank, r}. */
    for (int r = 0; r < rsize; r++) {
        buf[2 * r] = wrank;
        buf[2 * r + 1] = r;
    }
    for (int i = 0; i < 256; i++)
        out[i] = -1;
    MPI_Alltoall(buf, 2, MPI_INT, out, 2, MPI_INT, ic);
    for (int r = 0; r < rsize; r++)
        CHECK(out[2 * r] == REMOTE(r) && out[2 * r + 1] == lrank,
              "alltoall from %d: %d %d", r, out[2 * r], out[2 * r + 1]);
    /* Alltoallv: to remote rank r, lrank+1 ints; from r, r+1 ints at 4r. */
    int sc[64], sd[64], rc[64], rd[64];
    for (int r = 0; r < rsize; r++) {
        sc[r] = lrank + 1;
        sd[r] = 0;
        rc[r] = r + 1;
        rd[r] = 4 * r;
    }
    int vals[4] = {wrank, wrank * 2, wrank * 3, wrank * 4};
    for (int i = 0; i < 256; i++)
        out[i] = -1;
    MPI_Alltoallv(vals, sc, sd, MPI_INT, out, rc, rd, MPI_INT, ic);
    for (int r = 0; r < rsize; r++)
        for (int k = 0; k <= r && k < 4; k++)
            CHECK(out[4 * r + k] == REMOTE(r) * (k + 1),
                  "alltoallv from %d [%d]: %d", r, k, out[4 * r + k]);
    /* Alltoallw: one double to each, received as a double at byte 8r. */
    double dsend = wrank + 0.5, drecv[64];
    MPI_Datatype dt[64];
    for (int r = 0; r < rsize; r++) {
        sc[r] = rc[r] = 1;
        sd[r] = 0;
        rd[r] = r * (int)sizeof(double);
        dt[r] = MPI_DOUBLE;
        drecv[r] = -1;
    }
    MPI_Alltoallw(&dsend, sc, sd, dt, drecv, rc, rd, dt, ic);
    for (int r = 0; r < rsize; r++)
        CHECK(drecv[r] == REMOTE(r) + 0.5, "alltoallw from %d: %g", r,
              drecv[r]);
    SAY("alltoall, alltoallv, alltoallw\n");

    /* Reduce: the even group's last rank gets the odds' sum, and then
     * the odds' rank 0 the evens' ordered matrix product. */
    int lastev = (wsize + 1) / 2 - 1;
    int root =
        color == 0 ? (lrank == lastev ? MPI_ROOT : MPI_PROC_NULL) : lastev;
    int two[2] = {wrank, 1}, sum[2] = {-1, -1};
    MPI_Reduce(two, sum, 2, MPI_INT, MPI_SUM, root, ic);
    if (root == MPI_ROOT) {
        int want = 0;
        for (int r = 0; r < rsize; r++)
            want += REMOTE(r);
        CHECK(sum[0] == want && sum[1] == rsize, "reduce: %d %d", sum[0],
              sum[1]);
    }
    MPI_Op prod;
    MPI_Op_create(matmul, 0, &prod);
    MPI_Datatype mat;
    MPI_Type_contiguous(4, MPI_INT, &mat);
    MPI_Type_commit(&mat);
    int m[4] = {wrank + 1, 2, wrank % 3, 1}, mres[4] = {-1, -1, -1, -1};
    root = color == 1 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
    MPI_Reduce(m, mres, 1, mat, prod, root, ic);
    if (root == MPI_ROOT) {
        int acc[4] = {REMOTE(rsize - 1) + 1, 2, REMOTE(rsize - 1) % 3, 1};
        for (int r = rsize - 2; r >= 0; r--) {
            int a[4] = {REMOTE(r) + 1, 2, REMOTE(r) % 3, 1}, one = 1;
            matmul(a, acc, &one, NULL);
        }
        CHECK(memcmp(acc, mres, sizeof(acc)) == 0,
              "non-commutative reduce: %d %d %d %d", mres[0], mres[1], mres[2],
              mres[3]);
    }
    SAY("reduce, commutative and not\n");

    /* Reduce_scatter: both groups reduce 6 elements; each group splits
     * the other's sum evenly-ish among its ranks. */
    int rsc[64], total = 6, e6[6], got6[6];
    for (int i = 0; i < lsize; i++)
        rsc[i] = total / lsize + (i < total % lsize);
    for (int e = 0; e < 6; e++)
        e6[e] = wrank * 10 + e;
    for (int i = 0; i < 6; i++)
        got6[i] = -1;
    MPI_Reduce_scatter(e6, got6, rsc, MPI_INT, MPI_SUM, ic);
    int first = 0;
    for (int i = 0; i < lrank; i++)
        first += rsc[i];
    for (int k = 0; k < rsc[lrank]; k++) {
        int want = 0;
        for (int r = 0; r < rsize; r++)
            want += REMOTE(r) * 10 + first + k;
        CHECK(got6[k] == want, "reduce_scatter [%d]: %d want %d", k, got6[k],
              want);
    }
    /* Reduce_scatter_block: n = recvcount * local size must match, so
     * with groups of different sizes a product of both. */
    int rcount = rsize, n = rcount * lsize, in_b[64], out_b[64];
    for (int e = 0; e < n; e++)
        in_b[e] = wrank + e;
    MPI_Reduce_scatter_block(in_b, out_b, rcount, MPI_INT, MPI_MAX, ic);
    for (int k = 0; k < rcount; k++) {
        int want = REMOTE(rsize - 1) + lrank * rcount + k;
        CHECK(out_b[k] == want, "reduce_scatter_block [%d]: %d want %d", k,
              out_b[k], want);
    }
    SAY("reduce_scatter and reduce_scatter_block\n");

    /* Allgatherv: remote rank r gave r%2+1 ints, placed at 2r. */
    int ag[2] = {wrank, -wrank};
    for (int r = 0; r < rsize; r++) {
        rc[r] = r % 2 + 1;
        rd[r] = 2 * r;
    }
    for (int i = 0; i < 256; i++)
        out[i] = -7;
    MPI_Allgatherv(ag, lrank % 2 + 1, MPI_INT, out, rc, rd, MPI_INT, ic);
    for (int r = 0; r < rsize; r++) {
        CHECK(out[2 * r] == REMOTE(r), "allgatherv from %d: %d", r, out[2 * r]);
        CHECK(out[2 * r + 1] == (r % 2 ? -REMOTE(r) : -7),
              "allgatherv from %d [1]: %d", r, out[2 * r + 1]);
    }
    SAY("allgatherv\n");

    /* Nonblocking forms, all in flight. */
    MPI_Request reqs[6];
    int g1[64], a1[128], ag1[64], s1[2] = {-1, -1}, r1[2] = {-1, -1}, rb[64];
    int src1[128];
    for (int r = 0; r < rsize; r++) {
        src1[2 * r] = 100 * wrank + r;
        src1[2 * r + 1] = 100 * wrank - r;
        sc[r] = 1;
        sd[r] = 2 * r;
    }
    int gather_root = color == 0 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
    int scat_root = color == 1 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
    int one = wrank;
    MPI_Igather(&one, 1, MPI_INT, g1, 1, MPI_INT, gather_root, ic, &reqs[0]);
    MPI_Iscatterv(src1, sc, sd, MPI_INT, s1, 1, MPI_INT, scat_root, ic,
                  &reqs[1]);
    MPI_Ialltoall(src1, 2, MPI_INT, a1, 2, MPI_INT, ic, &reqs[2]);
    MPI_Iallgather(&one, 1, MPI_INT, ag1, 1, MPI_INT, ic, &reqs[3]);
    MPI_Ireduce(&one, r1, 1, MPI_INT, MPI_MAX, gather_root, ic, &reqs[4]);
    for (int e = 0; e < rsize * lsize; e++)
        in_b[e] = wrank * e;
    MPI_Ireduce_scatter_block(in_b, rb, rsize, MPI_INT, MPI_SUM, ic, &reqs[5]);
    MPI_Waitall(6, reqs, MPI_STATUSES_IGNORE);
    for (int r = 0; r < rsize; r++) {
        if (gather_root == MPI_ROOT)
            CHECK(g1[r] == REMOTE(r), "igather from %d: %d", r, g1[r]);
        CHECK(a1[2 * r] == 100 * REMOTE(r) + lrank
                  && a1[2 * r + 1] == 100 * REMOTE(r) - lrank,
              "ialltoall from %d", r);
        CHECK(ag1[r] == REMOTE(r), "iallgather from %d: %d", r, ag1[r]);
    }
    if (scat_root >= 0)
        CHECK(s1[0] == 100 * REMOTE(0) + lrank, "iscatterv: %d", s1[0]);
    if (gather_root == MPI_ROOT)
        CHECK(r1[0] == REMOTE(rsize - 1), "ireduce: %d", r1[0]);
    for (int k = 0; k < rsize; k++) {
        int want = 0, e = lrank * rsize + k;
        for (int r = 0; r < rsize; r++)
            want += REMOTE(r) * e;
        CHECK(rb[k] == want, "ireduce_scatter_block [%d]: %d want %d", k, rb[k],
              want);
    }
    SAY("nonblocking forms in flight together\n");

    /* Ibarrier, Ibcast from each side and Iallreduce, in flight at once;
     * then the blocking Barrier, Bcast and Allreduce, also through the
     * schedules. */
    MPI_Request q[4];
    int bc1[3] = {-1, -1, -1}, bc2[2] = {-1, -1}, ar[2] = {-1, -1};
    int broot1 = color == 0 ? (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL) : 0;
    int broot2 = color == 1 ? (lrank == lsize - 1 ? MPI_ROOT : MPI_PROC_NULL)
                            : rsize - 1;
    if (broot1 == MPI_ROOT)
        bc1[0] = 11, bc1[1] = 12, bc1[2] = 13;
    if (broot2 == MPI_ROOT)
        bc2[0] = 21, bc2[1] = 22;
    int arin[2] = {wrank, 1};
    MPI_Ibarrier(ic, &q[0]);
    MPI_Ibcast(bc1, 3, MPI_INT, broot1, ic, &q[1]);
    MPI_Ibcast(bc2, 2, MPI_INT, broot2, ic, &q[2]);
    MPI_Iallreduce(arin, ar, 2, MPI_INT, MPI_SUM, ic, &q[3]);
    MPI_Waitall(4, q, MPI_STATUSES_IGNORE);
    int rsum = 0;
    for (int r = 0; r < rsize; r++)
        rsum += REMOTE(r);
    if (broot1 != MPI_PROC_NULL)
        CHECK(bc1[0] == 11 && bc1[1] == 12 && bc1[2] == 13, "ibcast: %d %d %d",
              bc1[0], bc1[1], bc1[2]);
    else
        CHECK(bc1[0] == -1, "ibcast touched the root's group");
    if (broot2 != MPI_PROC_NULL)
        CHECK(bc2[0] == 21 && bc2[1] == 22, "ibcast 2: %d %d", bc2[0], bc2[1]);
    CHECK(ar[0] == rsum && ar[1] == rsize, "iallreduce: %d %d", ar[0], ar[1]);
    MPI_Barrier(ic);
    int b3[2] = {-1, -1};
    if (broot1 == MPI_ROOT)
        b3[0] = 31, b3[1] = 32;
    MPI_Bcast(b3, 2, MPI_INT, broot1, ic);
    if (broot1 != MPI_PROC_NULL)
        CHECK(b3[0] == 31 && b3[1] == 32, "bcast: %d %d", b3[0], b3[1]);
    ar[0] = ar[1] = -1;
    MPI_Allreduce(arin, ar, 2, MPI_INT, MPI_MAX, ic);
    CHECK(ar[0] == REMOTE(rsize - 1) && ar[1] == 1, "allreduce max: %d %d",
          ar[0], ar[1]);
    SAY("ibarrier, ibcast, iallreduce and their blocking forms\n");
    MPI_Op_free(&prod);
    MPI_Type_free(&mat);
    MPI_Comm_free(&ic);
    MPI_Comm_free(&local);
    return mtest_finalize();
}
