/* SPDX-License-Identifier: MIT */
/* ineighbors.c - the nonblocking neighbourhood collectives
 * (MPI_Ineighbor_allgather, _allgatherv, _alltoall, _alltoallv,
 * _alltoallw) and MPI_Neighbor_alltoallw: on a 2-D Cartesian grid
 * (periodic in one dimension, so some neighbours are MPI_PROC_NULL) and
 * on a distributed graph where each process sends to the next two ranks;
 * several in flight at once on one communicator, completed in reverse
 * order, with a strided type on one side. */
#include "mtest.h"

#include <stdbool.h>

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Datatype strided;
    MPI_Type_create_resized(MPI_INT, 0, 2 * sizeof(int), &strided);
    MPI_Type_commit(&strided);

    /* A dims[0] x dims[1] grid, periodic along dimension 1 only when it
     * has more than 2 processes (Open MPI 4.1 pairs the blocks of a
     * periodic dimension of 1 or 2 by order, shoal by direction). */
    int dims[2] = {0, 0}, periods[2], coords[2];
    MPI_Dims_create(size, 2, dims);
    periods[0] = 0;
    periods[1] = dims[1] > 2;
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    MPI_Cart_coords(cart, rank, 2, coords);
    int nb[4]; /* -1 and +1 along dimension 0, then 1 */
    MPI_Cart_shift(cart, 0, 1, &nb[0], &nb[1]);
    MPI_Cart_shift(cart, 1, 1, &nb[2], &nb[3]);
    int ag[4], agv[8], a2a[4], a2av[8], a2aw[8];
    int send4[4], sendv[8];
    for (int i = 0; i < 4; i++) {
        ag[i] = a2a[i] = -1;
        send4[i] = 100 * rank + i;
    }
    for (int i = 0; i < 8; i++) {
        agv[i] = a2av[i] = a2aw[i] = -1;
        sendv[i] = 1000 * rank + i;
    }
    /* allgatherv: block i lands at 2i; alltoallv: i/2+1 ints at 2i. */
    int agc[4], agd[4], vc[4], vd[4];
    for (int i = 0; i < 4; i++) {
        agc[i] = 1;
        agd[i] = 2 * i;
        vc[i] = i / 2 + 1; /* both ends of a dimension agree */
        vd[i] = 2 * i;
    }
    /* alltoallw: block j out as every other int from sendv (j odd) or
     * as ints from sendv + j; in as ints at byte 8i. */
    int wc[4];
    MPI_Aint wsd[4], wrd[4];
    MPI_Datatype wst[4], wrt[4];
    for (int j = 0; j < 4; j++) {
        wc[j] = 2;
        wsd[j] = (MPI_Aint)(j % 2 ? 0 : j) * (MPI_Aint)sizeof(int);
        wst[j] = j % 2 ? strided : MPI_INT;
        wrd[j] = (MPI_Aint)(2 * j * sizeof(int));
        wrt[j] = MPI_INT;
    }
    MPI_Request reqs[5];
    int me = 500 + rank;
    MPI_Ineighbor_allgather(&me, 1, MPI_INT, ag, 1, MPI_INT, cart, &reqs[0]);
    MPI_Ineighbor_allgatherv(&me, 1, MPI_INT, agv, agc, agd, MPI_INT, cart,
                             &reqs[1]);
    MPI_Ineighbor_alltoall(send4, 1, MPI_INT, a2a, 1, MPI_INT, cart, &reqs[2]);
    MPI_Ineighbor_alltoallv(sendv, vc, vd, MPI_INT, a2av, vc, vd, MPI_INT, cart,
                            &reqs[3]);
    MPI_Ineighbor_alltoallw(sendv, wc, wsd, wst, a2aw, wc, wrd, wrt, cart,
                            &reqs[4]);
    for (int k = 4; k >= 0; k--)
        MPI_Wait(&reqs[k], MPI_STATUS_IGNORE);
    for (int i = 0; i < 4; i++) {
        int from = nb[i];
        /* What neighbour i sent towards me: its block in the opposite
         * direction, i ^ 1. */
        int j = i ^ 1;
        if (from == MPI_PROC_NULL) {
            CHECK(ag[i] == -1 && a2a[i] == -1 && agv[2 * i] == -1,
                  "untouched from a null neighbour %d", i);
            continue;
        }
        CHECK(ag[i] == 500 + from, "iallgather [%d]: %d", i, ag[i]);
        CHECK(agv[2 * i] == 500 + from, "iallgatherv [%d]: %d", i, agv[2 * i]);
        CHECK(a2a[i] == 100 * from + j, "ialltoall [%d]: %d", i, a2a[i]);
        for (int k = 0; k < i / 2 + 1; k++)
            CHECK(a2av[2 * i + k] == 1000 * from + 2 * j + k,
                  "ialltoallv [%d][%d]: %d", i, k, a2av[2 * i + k]);
        for (int k = 0; k < 2; k++) {
            int want = j % 2 ? 1000 * from + 2 * k : 1000 * from + j + k;
            CHECK(a2aw[2 * i + k] == want, "ialltoallw [%d][%d]: %d want %d", i,
                  k, a2aw[2 * i + k], want);
        }
    }
    MPI_Comm_free(&cart);
    SAY("nonblocking neighbourhood collectives on a %dx%d grid\n", dims[0],
        dims[1]);

    /* Distributed graph: to rank+1 and rank+2, from rank-1 and rank-2. */
    int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int dests[2] = {right, (rank + 2) % size};
    int srcs[2] = {left, (rank + 2 * size - 2) % size};
    MPI_Comm dg;
    MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, srcs, MPI_UNWEIGHTED, 2,
                                   dests, MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
                                   &dg);
    /* alltoallw: to rank+1 one int (sendv[1]), to rank+2 three ints every
     * other from sendv[2]; received at bytes 0 and 16 as ints. */
    int sc[2] = {1, 3}, out[8], iout[8];
    MPI_Aint sd[2] = {sizeof(int), 2 * sizeof(int)};
    MPI_Aint rd[2] = {0, 4 * sizeof(int)};
    MPI_Datatype st[2] = {MPI_INT, strided}, rt[2] = {MPI_INT, MPI_INT};
    for (int i = 0; i < 8; i++)
        out[i] = iout[i] = -1;
    MPI_Neighbor_alltoallw(sendv, sc, sd, st, out, sc, rd, rt, dg);
    MPI_Request r2[2];
    int got[2] = {-1, -1};
    MPI_Ineighbor_alltoallw(sendv, sc, sd, st, iout, sc, rd, rt, dg, &r2[0]);
    MPI_Ineighbor_allgather(&me, 1, MPI_INT, got, 1, MPI_INT, dg, &r2[1]);
    MPI_Waitall(2, r2, MPI_STATUSES_IGNORE);
    for (int pass = 0; pass < 2; pass++) {
        int *o = pass ? iout : out;
        const char *what = pass ? "ineighbor_alltoallw" : "neighbor_alltoallw";
        CHECK(o[0] == 1000 * srcs[0] + 1, "%s from rank-1: %d", what, o[0]);
        for (int k = 0; k < 3; k++)
            CHECK(o[4 + k] == 1000 * srcs[1] + 2 + 2 * k, "%s [%d]: %d", what,
                  k, o[4 + k]);
        CHECK(o[1] == -1 && o[7] == -1, "%s beyond its blocks", what);
    }
    CHECK(got[0] == 500 + srcs[0] && got[1] == 500 + srcs[1],
          "dist iallgather: %d %d", got[0], got[1]);
    MPI_Comm_free(&dg);
    MPI_Type_free(&strided);
    SAY("distributed graph: neighbor_alltoallw and nonblocking forms\n");
    return mtest_finalize();
}
