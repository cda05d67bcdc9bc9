/* SPDX-License-Identifier: MIT */
/* topology.c - Dims_create, Cartesian communicators, shifts and halo
 * exchange. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("topology on %d ranks\n", size);
    int cases[][2] = {{6, 2}, {12, 2}, {8, 3}, {7, 2}, {24, 3}, {16, 2}};
    for (int k = 0; k < 6; k++) {
        int dims[3] = {0, 0, 0};
        MPI_Dims_create(cases[k][0], cases[k][1], dims);
        SAY("dims_create(%d,%d) = %d %d %d\n", cases[k][0], cases[k][1],
            dims[0], dims[1], cases[k][1] > 2 ? dims[2] : 0);
    }
    int dims[2] = {0, 0}, periods[2] = {1, 0};
    MPI_Dims_create(size, 2, dims);
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    int crank, coords[2];
    MPI_Comm_rank(cart, &crank);
    MPI_Cart_coords(cart, crank, 2, coords);
    int back;
    MPI_Cart_rank(cart, coords, &back);
    CHECK(back == crank, "cart rank %d", back);
    int src, dst;
    MPI_Cart_shift(cart, 0, 1, &src, &dst);
    int v = crank, got = -1;
    MPI_Sendrecv(&v, 1, MPI_INT, dst, 0, &got, 1, MPI_INT, src, 0, cart,
                 MPI_STATUS_IGNORE);
    CHECK(got == src, "periodic shift got %d from %d", got, src);
    MPI_Cart_shift(cart, 1, 1, &src, &dst);
    got = -1;
    MPI_Sendrecv(&v, 1, MPI_INT, dst, 1, &got, 1, MPI_INT, src, 1, cart,
                 MPI_STATUS_IGNORE);
    CHECK(got == (src == MPI_PROC_NULL ? -1 : src), "open shift got %d", got);
    int edge = (src == MPI_PROC_NULL) + (dst == MPI_PROC_NULL), edges = 0;
    MPI_Allreduce(&edge, &edges, 1, MPI_INT, MPI_SUM, cart);
    SAY("grid %dx%d, open edges %d\n", dims[0], dims[1], edges);
    int st, nd;
    MPI_Topo_test(cart, &st);
    MPI_Cartdim_get(cart, &nd);
    CHECK(st == MPI_CART && nd == 2, "topo test");
    MPI_Comm_free(&cart);
    return mtest_finalize();
}
