/* SPDX-License-Identifier: MIT */
/* intercomm.c - intercommunicators between the even and the odd world
 * ranks: MPI_Intercomm_create, sizes, ranks and the remote group,
 * point-to-point to remote ranks, MPI_Barrier,
 * MPI_Bcast with MPI_ROOT and MPI_PROC_NULL, MPI_Allreduce and
 * MPI_Allgather (each group gets the other's data), MPI_Comm_dup, and
 * MPI_Intercomm_merge both ways round. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int wrank, wsize, flag, lsize, rsize, lrank;
    MPI_Comm local, ic, dup, merged;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    int color = wrank % 2;
    MPI_Comm_split(MPI_COMM_WORLD, color, wrank, &local);
    /* Leaders: world ranks 0 (evens) and 1 (odds). */
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, color ? 0 : 1, 99, &ic);
    MPI_Comm_test_inter(ic, &flag);
    CHECK(flag, "MPI_Comm_test_inter gave 0 for an intercommunicator");
    MPI_Comm_test_inter(local, &flag);
    CHECK(!flag, "MPI_Comm_test_inter gave 1 for an intracommunicator");
    MPI_Comm_size(ic, &lsize);
    MPI_Comm_remote_size(ic, &rsize);
    MPI_Comm_rank(ic, &lrank);
    int nevens = (wsize + 1) / 2, nodds = wsize / 2;
    CHECK(lsize == (color ? nodds : nevens), "local size %d", lsize);
    CHECK(rsize == (color ? nevens : nodds), "remote size %d", rsize);
    CHECK(lrank == wrank / 2, "local rank %d", lrank);
    SAY("intercommunicator of %d evens and %d odds\n", nevens, nodds);

    /* The remote group holds the other parity's world ranks, in order. */
    MPI_Group rg, wg;
    MPI_Comm_remote_group(ic, &rg);
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    for (int r = 0; r < rsize; r++) {
        int w;
        MPI_Group_translate_ranks(rg, 1, &r, wg, &w);
        CHECK(w == 2 * r + !color, "remote rank %d is world rank %d", r, w);
    }
    MPI_Group_free(&rg);
    MPI_Group_free(&wg);

    /* Point-to-point: local rank r exchanges with remote rank r. */
    if (lrank < rsize) {
        int out = 1000 + wrank, in = -1;
        MPI_Request req;
        MPI_Status st;
        MPI_Isend(&out, 1, MPI_INT, lrank, 7, ic, &req);
        MPI_Recv(&in, 1, MPI_INT, lrank, 7, ic, &st);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        CHECK(in == 1000 + 2 * lrank + !color && st.MPI_SOURCE == lrank,
              "received %d from %d", in, st.MPI_SOURCE);
    }
    SAY("point-to-point addresses remote ranks\n");

    MPI_Barrier(ic);
    SAY("barrier\n");

    /* The evens' rank 0 broadcasts to the odds. */
    int data[3] = {0, 0, 0};
    if (color == 0) {
        int root = lrank == 0 ? MPI_ROOT : MPI_PROC_NULL;
        if (lrank == 0)
            data[0] = 5, data[1] = 6, data[2] = 7;
        MPI_Bcast(data, 3, MPI_INT, root, ic);
        if (lrank != 0)
            CHECK(data[0] == 0, "a non-root of the root group received");
    } else {
        MPI_Bcast(data, 3, MPI_INT, 0, ic);
        CHECK(data[0] == 5 && data[1] == 6 && data[2] == 7,
              "bcast got %d %d %d", data[0], data[1], data[2]);
    }
    SAY("bcast with MPI_ROOT and MPI_PROC_NULL\n");

    /* Each group gets the sum of the other group's world ranks. */
    long mine[2] = {wrank, 1}, sum[2] = {-1, -1};
    MPI_Allreduce(mine, sum, 2, MPI_LONG, MPI_SUM, ic);
    long want = 0;
    for (int w = !color; w < wsize; w += 2)
        want += w;
    CHECK(sum[0] == want && sum[1] == rsize, "allreduce gave %ld %ld", sum[0],
          sum[1]);
    SAY("allreduce gives the other group's sum\n");

    int *all = malloc(sizeof(int) * 2 * rsize);
    int two[2] = {wrank, -wrank};
    MPI_Allgather(two, 2, MPI_INT, all, 2, MPI_INT, ic);
    for (int r = 0; r < rsize; r++)
        CHECK(all[2 * r] == 2 * r + !color && all[2 * r + 1] == -all[2 * r],
              "allgather block %d is %d %d", r, all[2 * r], all[2 * r + 1]);
    free(all);
    SAY("allgather gives the other group's blocks\n");

    MPI_Comm_dup(ic, &dup);
    MPI_Comm_test_inter(dup, &flag);
    CHECK(flag, "a duplicate intercommunicator is not one");
    if (lrank < rsize) {
        int out = wrank, in = -1;
        MPI_Sendrecv(&out, 1, MPI_INT, lrank, 1, &in, 1, MPI_INT, lrank, 1, dup,
                     MPI_STATUS_IGNORE);
        CHECK(in == 2 * lrank + !color, "on the dup received %d", in);
    }
    MPI_Comm_free(&dup);
    SAY("a duplicate intercommunicator works\n");

    /* Merge with the evens low: evens first, then odds; and the other way
     * round. */
    for (int evens_high = 0; evens_high < 2; evens_high++) {
        int high = color ? !evens_high : evens_high;
        int mrank, msize, total = 0;
        MPI_Intercomm_merge(ic, high, &merged);
        MPI_Comm_rank(merged, &mrank);
        MPI_Comm_size(merged, &msize);
        int lowsize = evens_high ? nodds : nevens;
        int expect = high ? lowsize + wrank / 2 : wrank / 2;
        CHECK(msize == wsize && mrank == expect,
              "merged (evens high %d): rank %d of %d, expected %d", evens_high,
              mrank, msize, expect);
        MPI_Allreduce(&wrank, &total, 1, MPI_INT, MPI_SUM, merged);
        CHECK(total == wsize * (wsize - 1) / 2, "sum over merged %d", total);
        MPI_Comm_free(&merged);
    }
    SAY("merge orders the groups by high\n");

    MPI_Comm_free(&ic);
    MPI_Comm_free(&local);
    return mtest_finalize();
}
