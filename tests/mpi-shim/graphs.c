/* SPDX-License-Identifier: MIT */
/* graphs.c - graph topologies: MPI_Graph_create of a ring and its
 * queries, MPI_Dist_graph_create_adjacent and MPI_Dist_graph_create (all
 * edges given by rank 0) with weights, their neighbour queries, and a
 * duplicate keeping the topology. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size, status;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int left = (rank + size - 1) % size, right = (rank + 1) % size;

    /* A ring as a graph: node i's neighbours are i-1 and i+1. */
    int *index = malloc(sizeof(int) * size);
    int *edges = malloc(sizeof(int) * 2 * size);
    for (int i = 0; i < size; i++) {
        index[i] = 2 * (i + 1);
        edges[2 * i] = (i + size - 1) % size;
        edges[2 * i + 1] = (i + 1) % size;
    }
    MPI_Comm g;
    MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &g);
    MPI_Topo_test(g, &status);
    CHECK(status == MPI_GRAPH, "topology %d, not MPI_GRAPH", status);
    int nnodes, nedges, nn, nb[2];
    MPI_Graphdims_get(g, &nnodes, &nedges);
    SAY("graph: %d nodes %d edges\n", nnodes, nedges);
    for (int r = 0; r < size; r++) {
        MPI_Graph_neighbors_count(g, r, &nn);
        MPI_Graph_neighbors(g, r, 2, nb);
        SAY("graph node %d: %d neighbours %d %d\n", r, nn, nb[0], nb[1]);
    }
    int gi[64], ge[128];
    MPI_Graph_get(g, size, 2 * size, gi, ge);
    CHECK(gi[size - 1] == 2 * size && ge[1] == 1 % size,
          "MPI_Graph_get: index %d edge %d", gi[size - 1], ge[1]);
    MPI_Comm_free(&g);
    free(index);
    free(edges);

    /* Adjacent: in from the left, out to the right, weighted by rank. */
    MPI_Comm dg, dup;
    int lw = left, rw = rank;
    MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &left, &lw, 1, &right,
                                   &rw, MPI_INFO_NULL, 0, &dg);
    int indeg, outdeg, weighted, src, srcw, dst, dstw;
    MPI_Comm_dup(dg, &dup);
    MPI_Topo_test(dup, &status);
    CHECK(status == MPI_DIST_GRAPH, "dup topology %d", status);
    MPI_Dist_graph_neighbors_count(dup, &indeg, &outdeg, &weighted);
    MPI_Dist_graph_neighbors(dup, 1, &src, &srcw, 1, &dst, &dstw);
    CHECK(indeg == 1 && outdeg == 1 && weighted, "degrees %d %d weighted %d",
          indeg, outdeg, weighted);
    CHECK(src == left && srcw == left && dst == right && dstw == rank,
          "neighbours: from %d (%d) to %d (%d)", src, srcw, dst, dstw);
    SAY("adjacent: in %d out %d weighted %d, from %d to %d\n", indeg, outdeg,
        weighted, src, dst);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&dg);

    /* General: rank 0 gives every edge i -> i+1, weighted by i. */
    int n = rank == 0 ? size : 0;
    int *srcs = malloc(sizeof(int) * size), *deg = malloc(sizeof(int) * size);
    int *dsts = malloc(sizeof(int) * size), *wts = malloc(sizeof(int) * size);
    for (int i = 0; i < size; i++) {
        srcs[i] = i;
        deg[i] = 1;
        dsts[i] = (i + 1) % size;
        wts[i] = i;
    }
    MPI_Dist_graph_create(MPI_COMM_WORLD, n, srcs, deg, dsts,
                          n ? wts : MPI_WEIGHTS_EMPTY, MPI_INFO_NULL, 0, &dg);
    MPI_Dist_graph_neighbors_count(dg, &indeg, &outdeg, &weighted);
    MPI_Dist_graph_neighbors(dg, 1, &src, &srcw, 1, &dst, &dstw);
    CHECK(indeg == 1 && outdeg == 1 && weighted, "degrees %d %d weighted %d",
          indeg, outdeg, weighted);
    CHECK(src == left && srcw == left && dst == right && dstw == rank,
          "neighbours: from %d (%d) to %d (%d)", src, srcw, dst, dstw);
    SAY("general: in %d out %d weighted %d, from %d to %d\n", indeg, outdeg,
        weighted, src, dst);
    MPI_Comm_free(&dg);
    free(srcs);
    free(deg);
    free(dsts);
    free(wts);
    return mtest_finalize();
}
