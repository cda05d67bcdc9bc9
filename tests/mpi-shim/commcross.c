/* SPDX-License-Identifier: MIT */
/* commcross.c - the same tags on different communicators never match
 * each other: dup, split and create, with messages crossing. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Comm dup, half, created;
    MPI_Group wg, eg;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("commcross on %d ranks\n", size);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    int ex[1] = {0};
    MPI_Group_excl(wg, 1, ex, &eg);
    MPI_Comm_create(MPI_COMM_WORLD, eg, &created);
    CHECK((rank == 0) == (created == MPI_COMM_NULL), "create membership");

    int hr, hs;
    MPI_Comm_rank(half, &hr);
    MPI_Comm_size(half, &hs);
    CHECK(hs == (size + 1 - rank % 2) / 2, "half size %d", hs);
    /* The key was -rank: order reversed within each half. */
    CHECK(hr == hs - 1 - rank / 2, "half rank %d", hr);

    int next = (rank + 1) % size, prev = (rank - 1 + size) % size;
    int a = -1, b = -1, va = 100 + rank, vb = 200 + rank;
    MPI_Request r[4];
    /* Receive on world first, but the dup message is sent first. */
    MPI_Irecv(&a, 1, MPI_INT, prev, 5, MPI_COMM_WORLD, &r[0]);
    MPI_Irecv(&b, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup, &r[1]);
    MPI_Isend(&vb, 1, MPI_INT, next, 5, dup, &r[2]);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Isend(&va, 1, MPI_INT, next, 5, MPI_COMM_WORLD, &r[3]);
    MPI_Waitall(4, r, MPI_STATUSES_IGNORE);
    CHECK(a == 100 + prev, "world got %d", a);
    CHECK(b == 200 + prev, "dup got %d", b);

    /* Ring inside each half with the same tag as above. */
    int hn = (hr + 1) % hs, hp = (hr - 1 + hs) % hs, c = -1;
    MPI_Sendrecv(&hr, 1, MPI_INT, hn, 5, &c, 1, MPI_INT, hp, 5, half,
                 MPI_STATUS_IGNORE);
    CHECK(c == hp, "half ring got %d expected %d", c, hp);
    int sum = 0;
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, half);
    int expect = 0;
    for (int i = rank % 2; i < size; i += 2)
        expect += i;
    CHECK(sum == expect, "half sum %d", sum);

    if (created != MPI_COMM_NULL) {
        int cr, total = 0;
        MPI_Comm_rank(created, &cr);
        CHECK(cr == rank - 1, "created rank %d", cr);
        MPI_Allreduce(&rank, &total, 1, MPI_INT, MPI_SUM, created);
        CHECK(total == size * (size - 1) / 2, "created sum %d", total);
        MPI_Comm_free(&created);
    }
    /* Many communicators made and freed reuse context ids safely. */
    for (int i = 0; i < 100; i++) {
        MPI_Comm t;
        MPI_Comm_dup(dup, &t);
        int x = 1, y = 0;
        MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_SUM, t);
        CHECK(y == size, "dup %d sum %d", i, y);
        MPI_Comm_free(&t);
    }
    int res;
    MPI_Comm_compare(MPI_COMM_WORLD, dup, &res);
    CHECK(res == MPI_CONGRUENT, "compare %d", res);
    MPI_Group_free(&wg);
    MPI_Group_free(&eg);
    MPI_Comm_free(&half);
    MPI_Comm_free(&dup);
    SAY("commcross done\n");
    return mtest_finalize();
}
