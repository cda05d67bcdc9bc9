/* SPDX-License-Identifier: MIT */
/* misc.c - environment queries, attributes, names, groups, comparisons,
 * Comm_split_type and Wtime. */
#include <string.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size, flag, provided;

    MPI_Initialized(&flag);
    CHECK(!flag, "initialized before init");
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("misc on %d ranks\n", size);
    CHECK(provided >= MPI_THREAD_FUNNELED, "provided %d", provided);
    MPI_Initialized(&flag);
    CHECK(flag, "not initialized");
    int ver, sub;
    MPI_Get_version(&ver, &sub);
    CHECK(ver >= 3, "version %d.%d", ver, sub);
    char name[MPI_MAX_PROCESSOR_NAME];
    int len;
    MPI_Get_processor_name(name, &len);
    CHECK(len > 0 && (int)strlen(name) == len, "processor name");
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    MPI_Get_library_version(lib, &len);
    CHECK(len > 0, "library version");

    int *ub;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    CHECK(flag && *ub >= 32767, "tag ub");
    SAY("tag_ub at least 32767: %s\n", flag && *ub >= 32767 ? "yes" : "no");

    char cname[MPI_MAX_OBJECT_NAME];
    MPI_Comm_get_name(MPI_COMM_WORLD, cname, &len);
    SAY("world is named %s\n", cname);
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_set_name(dup, "my dup");
    MPI_Comm_get_name(dup, cname, &len);
    SAY("dup is named %s\n", cname);

    int res;
    MPI_Comm_compare(MPI_COMM_WORLD, MPI_COMM_WORLD, &res);
    SAY("compare world world %d\n", res == MPI_IDENT);
    MPI_Comm_compare(MPI_COMM_WORLD, dup, &res);
    SAY("compare world dup congruent %d\n", res == MPI_CONGRUENT);
    MPI_Comm rev;
    MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &rev);
    MPI_Comm_compare(MPI_COMM_WORLD, rev, &res);
    SAY("compare world reversed similar %d\n",
        size > 1 ? res == MPI_SIMILAR : res == MPI_CONGRUENT);

    MPI_Group wg, g1, g2;
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    int ranks[2] = {0, size - 1};
    MPI_Group_incl(wg, size > 1 ? 2 : 1, ranks, &g1);
    MPI_Group_excl(wg, 1, ranks, &g2);
    int s1, s2, r1, tr[2];
    MPI_Group_size(g1, &s1);
    MPI_Group_size(g2, &s2);
    MPI_Group_rank(g1, &r1);
    MPI_Group_translate_ranks(g1, size > 1 ? 2 : 1, (int[]){0, 1}, wg, tr);
    SAY("groups %d %d translate %d %d\n", s1, s2, tr[0], size > 1 ? tr[1] : -1);
    CHECK(r1
              == (rank == 0          ? 0
                  : rank == size - 1 ? 1
                                     : MPI_UNDEFINED),
          "group rank %d", r1);
    MPI_Group_compare(wg, wg, &res);
    CHECK(res == MPI_IDENT, "group compare");
    MPI_Group_free(&g1);
    MPI_Group_free(&g2);
    MPI_Group_free(&wg);

    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank,
                        MPI_INFO_NULL, &node);
    int ns;
    MPI_Comm_size(node, &ns);
    int here = mtest_node_ranks();
    CHECK(ns == here, "%d ranks on this node, %d on this host", ns, here);
    SAY("ranks on this node: those of this host\n");
    MPI_Comm_free(&node);

    double t0 = MPI_Wtime(), t1 = MPI_Wtime();
    CHECK(t1 >= t0 && MPI_Wtick() > 0 && MPI_Wtick() < 1, "wtime");
    int cls;
    MPI_Error_class(MPI_ERR_RANK, &cls);
    CHECK(cls == MPI_ERR_RANK, "error class");
    MPI_Comm_free(&rev);
    MPI_Comm_free(&dup);
    int fin;
    MPI_Finalized(&fin);
    CHECK(!fin, "finalized early");
    return mtest_finalize();
}
