/* SPDX-License-Identifier: MIT */
/* intercsplit.c - MPI_Comm_split and MPI_Comm_create on an
 * intercommunicator between the even and the odd world ranks: the new
 * intercommunicators pair each color's processes of both groups (ordered
 * by key), a color missing on one side gives MPI_COMM_NULL, and each
 * result works (sizes, remote group, point-to-point, MPI_Allreduce). */
#include "mtest.h"

/* Checks intercommunicator ic: the local group's world ranks are lw[],
 * the remote group's rw[]. */
static void check_inter(MPI_Comm ic,
                        const int *lw,
                        int nl,
                        const int *rw,
                        int nr,
                        int wrank,
                        const char *what)
{
    int lsize, rsize, lrank;
    MPI_Comm_size(ic, &lsize);
    MPI_Comm_remote_size(ic, &rsize);
    MPI_Comm_rank(ic, &lrank);
    CHECK(lsize == nl && rsize == nr && lw[lrank] == wrank,
          "%s: sizes %d %d, rank %d", what, lsize, rsize, lrank);
    MPI_Group rg, wg;
    MPI_Comm_remote_group(ic, &rg);
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    for (int r = 0; r < rsize && r < nr; r++) {
        int w;
        MPI_Group_translate_ranks(rg, 1, &r, wg, &w);
        CHECK(w == rw[r], "%s: remote %d is world %d, want %d", what, r, w,
              rw[r]);
    }
    MPI_Group_free(&rg);
    MPI_Group_free(&wg);
    int sum = -1, want = 0;
    for (int r = 0; r < nr; r++)
        want += rw[r];
    MPI_Allreduce(&wrank, &sum, 1, MPI_INT, MPI_SUM, ic);
    CHECK(sum == want, "%s: allreduce %d, want %d", what, sum, want);
    if (lrank < rsize) {
        int got = -1;
        MPI_Sendrecv(&wrank, 1, MPI_INT, lrank, 4, &got, 1, MPI_INT, lrank, 4,
                     ic, MPI_STATUS_IGNORE);
        CHECK(got == rw[lrank], "%s: point-to-point %d", what, got);
    }
}

int main(int argc, char **argv)
{
    int wrank, wsize;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    int color = wrank % 2;
    MPI_Comm local, ic;
    MPI_Comm_split(MPI_COMM_WORLD, color, wrank, &local);
    MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, color ? 0 : 1, 8, &ic);
    int lrank, lsize, rsize;
    MPI_Comm_rank(ic, &lrank);
    MPI_Comm_size(ic, &lsize);
    MPI_Comm_remote_size(ic, &rsize);

    /* Split by local rank parity, keys reversed. */
    MPI_Comm sp;
    MPI_Comm_split(ic, lrank % 2, -lrank, &sp);
    int lw[64], rw[64], nl = 0, nr = 0;
    for (int r = lsize - 1; r >= 0; r--)
        if (r % 2 == lrank % 2)
            lw[nl++] = 2 * r + color;
    for (int r = rsize - 1; r >= 0; r--)
        if (r % 2 == lrank % 2)
            rw[nr++] = 2 * r + !color;
    if (nr == 0) {
        CHECK(sp == MPI_COMM_NULL, "split: a color missing remotely");
    } else {
        CHECK(sp != MPI_COMM_NULL, "split gave MPI_COMM_NULL");
        if (sp != MPI_COMM_NULL) {
            check_inter(sp, lw, nl, rw, nr, wrank, "split by parity");
            MPI_Comm_free(&sp);
        }
    }
    SAY("split by parity\n");

    /* Split by local rank: pairs; ranks beyond the other side's size and
     * MPI_UNDEFINED (local rank 2) get MPI_COMM_NULL. */
    int c2 = lrank == 2 ? MPI_UNDEFINED : lrank;
    MPI_Comm_split(ic, c2, 0, &sp);
    if (c2 == MPI_UNDEFINED || lrank >= rsize) {
        CHECK(sp == MPI_COMM_NULL, "pair split: not null at %d", lrank);
    } else {
        int l1 = wrank, r1 = 2 * lrank + !color;
        CHECK(sp != MPI_COMM_NULL, "pair split gave MPI_COMM_NULL");
        if (sp != MPI_COMM_NULL) {
            check_inter(sp, &l1, 1, &r1, 1, wrank, "pair split");
            MPI_Comm_free(&sp);
        }
    }
    SAY("split into pairs\n");

    /* Create: each side's group is its first (size+1)/2 ranks. */
    MPI_Group lg, half;
    MPI_Comm_group(ic, &lg);
    int range[1][3] = {{0, (lsize + 1) / 2 - 1, 1}};
    MPI_Group_range_incl(lg, 1, range, &half);
    MPI_Comm cr;
    MPI_Comm_create(ic, half, &cr);
    if (lrank >= (lsize + 1) / 2) {
        CHECK(cr == MPI_COMM_NULL, "create: not null outside the group");
    } else {
        nl = nr = 0;
        for (int r = 0; r < (lsize + 1) / 2; r++)
            lw[nl++] = 2 * r + color;
        for (int r = 0; r < (rsize + 1) / 2; r++)
            rw[nr++] = 2 * r + !color;
        CHECK(cr != MPI_COMM_NULL, "create gave MPI_COMM_NULL");
        if (cr != MPI_COMM_NULL) {
            check_inter(cr, lw, nl, rw, nr, wrank, "create");
            MPI_Comm_free(&cr);
        }
    }
    MPI_Group_free(&half);
    MPI_Group_free(&lg);
    SAY("create from half of each group\n");
    MPI_Comm_free(&ic);
    MPI_Comm_free(&local);
    return mtest_finalize();
}
