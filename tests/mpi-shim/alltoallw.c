/* SPDX-License-Identifier: MIT */
/* alltoallw.c - MPI_Alltoallw and MPI_Ialltoallw with a type per peer
 * (ints to even ranks, every other int to odd ones) and byte
 * displacements, MPI_Ialltoallv with counts differing per pair, and both
 * with MPI_IN_PLACE; the nonblocking ones in flight at once, completed by
 * one MPI_Waitall. */
#include "mtest.h"

enum { BLK = 8 };

/* Elements rank a sends to rank b (and b receives from a). */
static int wcount(int a, int b)
{
    return (a + 2 * b) % 3 + 1;
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Datatype strided;
    MPI_Type_create_resized(MPI_INT, 0, 2 * sizeof(int), &strided);
    MPI_Type_commit(&strided);

    int *sbuf = malloc(sizeof(int) * BLK * size);
    int *rbuf = malloc(sizeof(int) * BLK * size);
    int *rbuf2 = malloc(sizeof(int) * BLK * size);
    int *sc = malloc(sizeof(int) * size), *sd = malloc(sizeof(int) * size);
    int *rc = malloc(sizeof(int) * size), *rd = malloc(sizeof(int) * size);
    MPI_Datatype *st = malloc(sizeof(MPI_Datatype) * size);
    MPI_Datatype *rt = malloc(sizeof(MPI_Datatype) * size);
    for (int j = 0; j < size; j++) {
        sc[j] = wcount(rank, j);
        rc[j] = wcount(j, rank);
        sd[j] = rd[j] = j * BLK * (int)sizeof(int);
        st[j] = j % 2 ? strided : MPI_INT;
        rt[j] = j % 2 ? MPI_INT : strided;
        for (int k = 0; k < BLK; k++)
            sbuf[j * BLK + k] = 1000 * rank + 10 * j + k;
    }
    /* Block j: element e of the send sits at e or 2e, by j's parity. */
    for (int round = 0; round < 2; round++) {
        int *out = round ? rbuf2 : rbuf;
        for (int i = 0; i < BLK * size; i++)
            out[i] = -1;
        if (round == 0) {
            MPI_Alltoallw(sbuf, sc, sd, st, out, rc, rd, rt, MPI_COMM_WORLD);
        } else {
            /* The receive types are freed while the call is in flight,
             * as the standard allows. */
            MPI_Request req;
            MPI_Datatype own;
            MPI_Datatype *rt2 = malloc(sizeof(MPI_Datatype) * size);
            MPI_Type_dup(strided, &own);
            for (int j = 0; j < size; j++)
                rt2[j] = j % 2 ? MPI_INT : own;
            MPI_Ialltoallw(sbuf, sc, sd, st, out, rc, rd, rt2, MPI_COMM_WORLD,
                           &req);
            MPI_Type_free(&own);
            MPI_Wait(&req, MPI_STATUS_IGNORE);
            free(rt2); /* the arrays stay until completion */
        }
        for (int i = 0; i < size; i++)
            for (int e = 0; e < BLK; e++) {
                int n = wcount(i, rank);
                int sent_at = rank % 2 ? 2 * e : e; /* i's send layout */
                int at = i % 2 ? e : 2 * e;         /* my receive layout */
                if (e >= n || at >= BLK)
                    continue;
                int want = 1000 * i + 10 * rank + sent_at;
                CHECK(out[i * BLK + at] == want,
                      "%s from %d elem %d: %d, want %d",
                      round ? "ialltoallw" : "alltoallw", i, e,
                      out[i * BLK + at], want);
            }
    }
    SAY("alltoallw and ialltoallw on %d ranks\n", size);

    /* Ialltoallv: rank a sends b+1 ints to b; and in place with a
     * symmetric count, both in flight. */
    int *vs = malloc(sizeof(int) * size * size),
        *vr = malloc(sizeof(int) * size * size);
    int *place = malloc(sizeof(int) * 2 * size);
    int *pc = malloc(sizeof(int) * size), *pd = malloc(sizeof(int) * size);
    int off = 0;
    for (int j = 0; j < size; j++) {
        sc[j] = j + 1;
        sd[j] = off;
        for (int k = 0; k <= j; k++)
            vs[off + k] = 100 * rank + 10 * j + k;
        off += j + 1;
        rc[j] = rank + 1;
        rd[j] = j * (rank + 1);
        pc[j] = (rank + j) % 2 + 1;
        pd[j] = 2 * j;
        place[2 * j] = 500 * rank + j;
        place[2 * j + 1] = 500 * rank + j + 100;
    }
    for (int i = 0; i < size * size; i++)
        vr[i] = -1;
    MPI_Request reqs[3];
    MPI_Ialltoallv(vs, sc, sd, MPI_INT, vr, rc, rd, MPI_INT, MPI_COMM_WORLD,
                   &reqs[0]);
    MPI_Ialltoallv(MPI_IN_PLACE, NULL, NULL, MPI_DATATYPE_NULL, place, pc, pd,
                   MPI_INT, MPI_COMM_WORLD, &reqs[1]);
    /* Alltoallw in place on a third buffer, blocking, meanwhile. */
    int *wp = malloc(sizeof(int) * size);
    MPI_Datatype *wt = malloc(sizeof(MPI_Datatype) * size);
    int *wc = malloc(sizeof(int) * size), *wd = malloc(sizeof(int) * size);
    for (int j = 0; j < size; j++) {
        wp[j] = 7000 + 10 * rank + j;
        wt[j] = MPI_INT;
        wc[j] = 1;
        wd[j] = j * (int)sizeof(int);
    }
    MPI_Ialltoallw(MPI_IN_PLACE, NULL, NULL, NULL, wp, wc, wd, wt,
                   MPI_COMM_WORLD, &reqs[2]);
    MPI_Waitall(3, reqs, MPI_STATUSES_IGNORE);
    for (int i = 0; i < size; i++) {
        for (int k = 0; k <= rank; k++)
            CHECK(vr[i * (rank + 1) + k] == 100 * i + 10 * rank + k,
                  "ialltoallv from %d [%d]: %d", i, k, vr[i * (rank + 1) + k]);
        int n = (rank + i) % 2 + 1;
        for (int k = 0; k < n; k++)
            CHECK(place[2 * i + k] == 500 * i + rank + 100 * k,
                  "in place from %d [%d]: %d", i, k, place[2 * i + k]);
        if (n == 1)
            CHECK(place[2 * i + 1] == 500 * rank + i + 100,
                  "in place beyond the count from %d: %d", i, place[2 * i + 1]);
        CHECK(wp[i] == 7000 + 10 * i + rank, "alltoallw in place from %d: %d",
              i, wp[i]);
    }
    SAY("ialltoallv, in place, and ialltoallw in place on %d ranks\n", size);
    MPI_Type_free(&strided);
    free(sbuf);
    free(rbuf);
    free(rbuf2);
    free(sc);
    free(sd);
    free(rc);
    free(rd);
    free(st);
    free(rt);
    free(vs);
    free(vr);
    free(place);
    free(pc);
    free(pd);
    free(wp);
    free(wt);
    free(wc);
    free(wd);
    return mtest_finalize();
}
