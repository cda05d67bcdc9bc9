/* SPDX-License-Identifier: MIT */
/* groups.c - group ranges, union, intersection and difference (and the
 * order of their members), MPI_Comm_create_group called by the members
 * only, and MPI_Comm_split_type with MPI_COMM_TYPE_SHARED (the ranks of
 * the host, on one host or several). */
#include "mtest.h"

static void print_group(const char *what, MPI_Group g, MPI_Group world)
{
    int n;
    char line[256];
    int len = 0;

    MPI_Group_size(g, &n);
    len += snprintf(line + len, sizeof(line) - len, "%s:", what);
    for (int r = 0; r < n && len < 200; r++) {
        int w;
        MPI_Group_translate_ranks(g, 1, &r, world, &w);
        len += snprintf(line + len, sizeof(line) - len, " %d", w);
    }
    SAY("%s\n", line);
}

int main(int argc, char **argv)
{
    int wrank, wsize, cmp;
    MPI_Group world, evens, odds, rev, u, inter, diff;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    MPI_Comm_group(MPI_COMM_WORLD, &world);

    int even_range[1][3] = {{0, wsize - 1, 2}};
    MPI_Group_range_incl(world, 1, even_range, &evens);
    MPI_Group_range_excl(world, 1, even_range, &odds);
    int rev_range[1][3] = {{wsize - 1, 0, -1}};
    MPI_Group_range_incl(world, 1, rev_range, &rev);
    print_group("evens", evens, world);
    print_group("odds", odds, world);
    print_group("reversed", rev, world);

    MPI_Group_union(odds, evens, &u);
    print_group("odds union evens", u, world);
    MPI_Group_compare(u, world, &cmp);
    CHECK(cmp == (wsize > 1 ? MPI_SIMILAR : MPI_IDENT),
          "union compared with world: %d", cmp);
    MPI_Group_free(&u);
    MPI_Group_intersection(rev, evens, &inter);
    print_group("reversed intersection evens", inter, world);
    MPI_Group_difference(world, evens, &diff);
    print_group("world difference evens", diff, world);
    MPI_Group_compare(diff, odds, &cmp);
    CHECK(cmp == MPI_IDENT, "difference compared with odds: %d", cmp);
    MPI_Group_free(&inter);
    MPI_Group_free(&diff);

    /* Only the evens call MPI_Comm_create_group. */
    if (wrank % 2 == 0) {
        MPI_Comm ec;
        int size, rank, sum = 0;
        MPI_Comm_create_group(MPI_COMM_WORLD, evens, 3, &ec);
        MPI_Comm_size(ec, &size);
        MPI_Comm_rank(ec, &rank);
        CHECK(size == (wsize + 1) / 2 && rank == wrank / 2,
              "create_group: rank %d of %d", rank, size);
        MPI_Allreduce(&wrank, &sum, 1, MPI_INT, MPI_SUM, ec);
        int want = 0;
        for (int w = 0; w < wsize; w += 2)
            want += w;
        CHECK(sum == want, "sum over the evens %d, expected %d", sum, want);
        MPI_Comm_free(&ec);
    }
    SAY("MPI_Comm_create_group by the members only\n");

    MPI_Comm node;
    int nsize;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, wrank,
                        MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &nsize);
    int nhere = mtest_node_ranks();
    CHECK(nsize == nhere, "shared communicator of %d, %d ranks on this host",
          nsize, nhere);
    MPI_Comm_free(&node);
    SAY("MPI_COMM_TYPE_SHARED holds the node's ranks\n");

    MPI_Group_free(&evens);
    MPI_Group_free(&odds);
    MPI_Group_free(&rev);
    MPI_Group_free(&world);
    return mtest_finalize();
}
