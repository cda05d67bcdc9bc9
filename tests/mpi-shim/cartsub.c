/* SPDX-License-Identifier: MIT */
/* cartsub.c - MPI_Cart_sub into rows and columns (their sizes, ranks,
 * dimensions and periods), MPI_Cart_map, MPI_Graph_map, and
 * MPI_Comm_dup_with_info. */
#include "mtest.h"

#ifdef OPEN_MPI
#define OMPI_QUIRK (newrank == rank)
#else
#define OMPI_QUIRK 0
#endif

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int dims[2] = {0, 0}, periods[2] = {1, 0}, coords[2];
    MPI_Dims_create(size, 2, dims);
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    MPI_Cart_coords(cart, rank, 2, coords);
    SAY("grid %d x %d\n", dims[0], dims[1]);

    for (int keep = 0; keep < 2; keep++) {
        int remain[2] = {keep == 0, keep == 1};
        MPI_Comm sub;
        int n, r, ndims, sd[2], sp[2], sc[2];
        MPI_Cart_sub(cart, remain, &sub);
        MPI_Comm_size(sub, &n);
        MPI_Comm_rank(sub, &r);
        MPI_Cartdim_get(sub, &ndims);
        MPI_Cart_get(sub, 1, sd, sp, sc);
        CHECK(n == dims[keep] && r == coords[keep] && ndims == 1
                  && sd[0] == dims[keep] && sp[0] == periods[keep]
                  && sc[0] == coords[keep],
              "sub %d: size %d rank %d ndims %d dims %d periods %d", keep, n, r,
              ndims, sd[0], sp[0]);
        int sum = 0;
        MPI_Allreduce(&coords[1 - keep], &sum, 1, MPI_INT, MPI_SUM, sub);
        CHECK(sum == n * coords[1 - keep], "sum %d over the slice", sum);
        SAY("keeping dimension %d: slices of %d\n", keep, n);
        MPI_Comm_free(&sub);
    }

    /* Outside the topology the answer is MPI_UNDEFINED; Open MPI 4.1
     * gives the rank there, so that part is checked on shoal only. */
    int newrank, one[1] = {size > 1 ? size - 1 : 1}, per[1] = {0};
    MPI_Cart_map(MPI_COMM_WORLD, 1, one, per, &newrank);
    CHECK(newrank == (rank < one[0] ? rank : MPI_UNDEFINED) || OMPI_QUIRK,
          "cart_map gave %d", newrank);
    int index[1] = {0}, edges[1] = {0};
    MPI_Graph_map(MPI_COMM_WORLD, 1, index, edges, &newrank);
    CHECK(newrank == (rank == 0 ? 0 : MPI_UNDEFINED) || OMPI_QUIRK,
          "graph_map gave %d", newrank);
    SAY("cart_map and graph_map\n");

    MPI_Info info;
    MPI_Comm dup;
    int cmp;
    MPI_Info_create(&info);
    MPI_Info_set(info, "mpi_assert_no_any_tag", "true");
    MPI_Comm_dup_with_info(cart, info, &dup);
    MPI_Comm_compare(cart, dup, &cmp);
    CHECK(cmp == MPI_CONGRUENT, "dup_with_info compares %d", cmp);
    MPI_Info_free(&info);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&cart);
    SAY("MPI_Comm_dup_with_info\n");
    return mtest_finalize();
}
