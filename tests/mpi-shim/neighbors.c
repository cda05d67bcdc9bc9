/* SPDX-License-Identifier: MIT */
/* neighbors.c - neighbourhood collectives: MPI_Neighbor_allgather and
 * _alltoall on a periodic and a non-periodic Cartesian ring and on a graph
 * ring, _allgatherv and _alltoallv on a distributed graph where each
 * process sends to the next two ranks. */
#include "mtest.h"

#include <stdbool.h>

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int left = (rank + size - 1) % size, right = (rank + 1) % size;

    for (int periodic = 0; periodic < 2; periodic++) {
        MPI_Comm cart;
        int dims[1] = {size}, periods[1] = {periodic};
        MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart);
        int got[2] = {-1, -1}, send[2] = {10 * rank, 10 * rank + 1};
        int l = periodic || rank > 0 ? left : -1;
        int r = periodic || rank < size - 1 ? right : -1;
        MPI_Neighbor_allgather(&rank, 1, MPI_INT, got, 1, MPI_INT, cart);
        CHECK(got[0] == l && got[1] == r, "cart allgather: %d %d", got[0],
              got[1]);
        /* Block j goes towards direction j; what comes from -1 is what
         * that neighbour sent towards +1. A periodic ring of 1 or 2 is
         * checked on shoal only: Open MPI 4.1 pairs those blocks by
         * order. */
        got[0] = got[1] = -1;
        MPI_Neighbor_alltoall(send, 1, MPI_INT, got, 1, MPI_INT, cart);
        bool ambiguous = periodic && size <= 2;
#ifdef OPEN_MPI
        if (!ambiguous)
#else
        (void)ambiguous;
#endif
            CHECK(got[0] == (l < 0 ? -1 : 10 * l + 1)
                      && got[1] == (r < 0 ? -1 : 10 * r),
                  "cart alltoall (periodic %d): %d %d", periodic, got[0],
                  got[1]);
        MPI_Comm_free(&cart);
    }
    SAY("Cartesian neighbours\n");

    int index[64], edges[128];
    for (int i = 0; i < size; i++) {
        index[i] = 2 * (i + 1);
        edges[2 * i] = (i + size - 1) % size;
        edges[2 * i + 1] = (i + 1) % size;
    }
    MPI_Comm g;
    MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g);
    int got[2] = {-1, -1};
    MPI_Neighbor_allgather(&rank, 1, MPI_INT, got, 1, MPI_INT, g);
    CHECK(got[0] == left && got[1] == right, "graph allgather: %d %d", got[0],
          got[1]);
    MPI_Comm_free(&g);
    SAY("graph neighbours\n");

    /* Each process sends to rank+1 and rank+2 and hears from rank-1 and
     * rank-2; to rank+1 one int, to rank+2 two. */
    int dests[2] = {right, (rank + 2) % size};
    int srcs[2] = {left, (rank + 2 * size - 2) % size};
    MPI_Comm dg;
    MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, srcs, MPI_UNWEIGHTED, 2,
                                   dests, MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
                                   &dg);
    int all[2] = {-1, -1};
    MPI_Neighbor_allgather(&rank, 1, MPI_INT, all, 1, MPI_INT, dg);
    CHECK(all[0] == srcs[0] && all[1] == srcs[1], "dist allgather: %d %d",
          all[0], all[1]);
    int mine[3] = {rank, 100 + rank, 200 + rank}, v[3] = {-1, -1, -1};
    int rc[2] = {1, 2}, rd[2] = {0, 1};
    MPI_Neighbor_allgatherv(mine, 1, MPI_INT, v, rc, rd, MPI_INT, dg);
    CHECK(v[0] == srcs[0] && v[1] == srcs[1], "dist allgatherv: %d %d", v[0],
          v[1]);
    int sc[2] = {1, 2}, sd[2] = {0, 1}, out[3] = {-1, -1, -1};
    /* to rank+1: mine[0]; to rank+2: mine[1], mine[2]. */
    MPI_Neighbor_alltoallv(mine, sc, sd, MPI_INT, out, sc, sd, MPI_INT, dg);
    CHECK(out[0] == srcs[0] && out[1] == 100 + srcs[1]
              && out[2] == 200 + srcs[1],
          "dist alltoallv: %d %d %d", out[0], out[1], out[2]);
    MPI_Comm_free(&dg);
    SAY("distributed graph neighbours\n");
    return mtest_finalize();
}
