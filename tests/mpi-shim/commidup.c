/* SPDX-License-Identifier: MIT */
/* commidup.c - MPI_Comm_idup: several in flight at once on one and on
 * different communicators, with blocking MPI_Comm_dup and MPI_Comm_split
 * made while they are; a rank that calls it and then sends to a rank
 * that calls it only after receiving (it must not block); attributes
 * copied by their copy callbacks; an intercommunicator's; and each new
 * communicator congruent with its parent and working (allreduce,
 * point-to-point). */
#include "mtest.h"

#include <stdbool.h>

static int copies;

static int
copy_fn(MPI_Comm c, int key, void *extra, void *in, void *out, int *flag)
{
    (void)c;
    (void)key;
    (void)extra;
    copies++;
    *(void **)out = (char *)in + 1;
    *flag = 1;
    return MPI_SUCCESS;
}

static int check_comm(MPI_Comm parent, MPI_Comm c, const char *what)
{
    int cmp, sum = 0, one = 1, psize;
    MPI_Comm_compare(parent, c, &cmp);
    CHECK(cmp == MPI_CONGRUENT, "%s: compare %d", what, cmp);
    MPI_Comm_size(parent, &psize);
    MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, c);
    CHECK(sum == psize, "%s: allreduce %d", what, sum);
    return cmp == MPI_CONGRUENT;
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* Attributes go along. */
    int key;
    static char base[4];
    MPI_Comm_create_keyval(copy_fn, MPI_COMM_NULL_DELETE_FN, &key, NULL);
    MPI_Comm_set_attr(MPI_COMM_WORLD, key, base);

    /* Three in flight: two of the world and one of a split, with a
     * blocking dup and split made meanwhile. */
    MPI_Comm a, b, half, c, d, e;
    MPI_Request reqs[3];
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
    MPI_Comm_idup(MPI_COMM_WORLD, &a, &reqs[0]);
    MPI_Comm_idup(half, &c, &reqs[1]);
    /* Open MPI 4.1 hangs at 4 ranks in a blocking communicator creation
     * made while an idup is in flight: its build completes them first. */
#ifdef OPEN_MPI
    MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE);
#endif
    MPI_Comm_dup(MPI_COMM_WORLD, &b);
    MPI_Comm_idup(MPI_COMM_WORLD, &d, &reqs[2]);
#ifdef OPEN_MPI
    MPI_Wait(&reqs[2], MPI_STATUS_IGNORE);
#endif
    MPI_Comm_split(MPI_COMM_WORLD, rank < size / 2, -rank, &e);
    MPI_Waitall(3, reqs, MPI_STATUSES_IGNORE);
    check_comm(MPI_COMM_WORLD, a, "idup of the world");
    check_comm(MPI_COMM_WORLD, b, "dup while idups are in flight");
    check_comm(MPI_COMM_WORLD, d, "second idup of the world");
    check_comm(half, c, "idup of a split");
    void *val;
    int flag;
    MPI_Comm_get_attr(a, key, &val, &flag);
    CHECK(flag && val == base + 1, "attribute copied into the idup");
    MPI_Comm_get_attr(d, key, &val, &flag);
    CHECK(flag && val == base + 1, "attribute copied into the second idup");
    CHECK(copies == 3, "%d copy callbacks", copies);
    /* Messages on the new communicators stay on them. */
    int x = -1, y = -1;
    MPI_Request sr[2];
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    MPI_Irecv(&x, 1, MPI_INT, from, 0, a, &sr[0]);
    MPI_Irecv(&y, 1, MPI_INT, from, 0, d, &sr[1]);
    int va = 10 + rank, vd = 20 + rank;
    MPI_Send(&vd, 1, MPI_INT, to, 0, d);
    MPI_Send(&va, 1, MPI_INT, to, 0, a);
    MPI_Waitall(2, sr, MPI_STATUSES_IGNORE);
    CHECK(x == 10 + from && y == 20 + from, "messages on the duplicates: %d %d",
          x, y);
    SAY("three idups in flight with a dup and a split\n");

    /* Rank 0 starts an idup and then sends to rank 1, which receives
     * before it starts its own: an idup that blocked would hang. Open
     * MPI 4.1's does at 4 ranks (its context id agreement waits inside
     * MPI_Comm_idup), so its build runs the idups alone. */
    MPI_Comm f;
    MPI_Request fr;
#ifdef OPEN_MPI
    bool ordered = false;
#else
    bool ordered = true;
#endif
    if (ordered && size > 1 && rank == 0) {
        int tok = 42;
        MPI_Comm_idup(MPI_COMM_WORLD, &f, &fr);
        MPI_Send(&tok, 1, MPI_INT, 1, 3, MPI_COMM_WORLD);
    } else if (ordered && size > 1 && rank == 1) {
        int tok = 0;
        MPI_Recv(&tok, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(tok == 42, "token %d", tok);
        MPI_Comm_idup(MPI_COMM_WORLD, &f, &fr);
    } else {
        MPI_Comm_idup(MPI_COMM_WORLD, &f, &fr);
    }
    MPI_Wait(&fr, MPI_STATUS_IGNORE);
    check_comm(MPI_COMM_WORLD, f, "idup before a send");
    SAY("an idup does not wait for the others\n");

    /* Rank 0 uses up the first 300 context ids on its own (duplicates
     * of MPI_COMM_SELF), so the others' first free ids are taken on it:
     * the agreement must look further. */
    enum { NSELF = 300 };
    MPI_Comm *selfs = malloc(sizeof(MPI_Comm) * NSELF);
    int nself = rank == 0 ? NSELF : 0;
    for (int i = 0; i < nself; i++)
        MPI_Comm_dup(MPI_COMM_SELF, &selfs[i]);
    MPI_Comm g;
    MPI_Request gr;
    MPI_Comm_idup(MPI_COMM_WORLD, &g, &gr);
    MPI_Wait(&gr, MPI_STATUS_IGNORE);
    check_comm(MPI_COMM_WORLD, g, "idup past ids taken on one rank");
    MPI_Comm_free(&g);
    for (int i = 0; i < nself; i++)
        MPI_Comm_free(&selfs[i]);
    free(selfs);
    SAY("an idup when one rank has used many ids\n");

    /* An intercommunicator's, between the even and the odd ranks. */
    if (size > 1) {
        MPI_Comm ic, ic2;
        int color = rank % 2;
        MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, color ? 0 : 1, 9, &ic);
        MPI_Request ir;
        MPI_Comm_idup(ic, &ic2, &ir);
        MPI_Wait(&ir, MPI_STATUS_IGNORE);
        int inter, rsize, cmp;
        MPI_Comm_test_inter(ic2, &inter);
        MPI_Comm_remote_size(ic2, &rsize);
        MPI_Comm_compare(ic, ic2, &cmp);
        CHECK(inter && cmp == MPI_CONGRUENT, "inter idup: %d %d", inter, cmp);
        int mine = rank, sum = -1, want = 0;
        for (int r = 0; r < size; r++)
            if (r % 2 != color)
                want += r;
        MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, ic2);
        CHECK(sum == want, "inter idup allreduce %d, want %d", sum, want);
        MPI_Comm_free(&ic2);
        MPI_Comm_free(&ic);
        SAY("an intercommunicator's idup\n");
    }
    MPI_Comm_free(&a);
    MPI_Comm_free(&b);
    MPI_Comm_free(&c);
    MPI_Comm_free(&d);
    MPI_Comm_free(&e);
    MPI_Comm_free(&f);
    MPI_Comm_free(&half);
    MPI_Comm_delete_attr(MPI_COMM_WORLD, key);
    MPI_Comm_free_keyval(&key);
    return mtest_finalize();
}
