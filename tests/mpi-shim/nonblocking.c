/* SPDX-License-Identifier: MIT */
/* nonblocking.c - nonblocking collectives overlapping each other and
 * point-to-point traffic, persistent requests, Mprobe/Mrecv. */
#include <string.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("nonblocking on %d ranks\n", size);

    /* Several collectives in flight at once, completed in reverse. */
    int n = 1000;
    int *a = malloc(sizeof(int) * n), *b = malloc(sizeof(int) * n);
    int *g = malloc(sizeof(int) * size), *sc = malloc(sizeof(int) * size);
    int *at = malloc(sizeof(int) * size), *ar = malloc(sizeof(int) * size);
    for (int i = 0; i < n; i++)
        a[i] = i + rank;
    int bc[4] = {0};
    if (rank == 0)
        for (int i = 0; i < 4; i++)
            bc[i] = 40 + i;
    int one = rank, scat = -1, red = -1;
    for (int i = 0; i < size; i++) {
        sc[i] = 7 * i;
        at[i] = rank * 100 + i;
    }
    MPI_Request r[8];
    MPI_Ibarrier(MPI_COMM_WORLD, &r[0]);
    MPI_Iallreduce(a, b, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &r[1]);
    MPI_Ibcast(bc, 4, MPI_INT, 0, MPI_COMM_WORLD, &r[2]);
    MPI_Iallgather(&one, 1, MPI_INT, g, 1, MPI_INT, MPI_COMM_WORLD, &r[3]);
    MPI_Ireduce(&one, &red, 1, MPI_INT, MPI_SUM, size - 1, MPI_COMM_WORLD,
                &r[4]);
    MPI_Iscatter(sc, 1, MPI_INT, &scat, 1, MPI_INT, 0, MPI_COMM_WORLD, &r[5]);
    MPI_Ialltoall(at, 1, MPI_INT, ar, 1, MPI_INT, MPI_COMM_WORLD, &r[6]);
    int *gg = malloc(sizeof(int) * size);
    MPI_Igather(&one, 1, MPI_INT, gg, 1, MPI_INT, 0, MPI_COMM_WORLD, &r[7]);
    for (int i = 7; i >= 0; i--)
        MPI_Wait(&r[i], MPI_STATUS_IGNORE);
    for (int i = 0; i < n; i++)
        if (b[i] != i * size + size * (size - 1) / 2) {
            CHECK(0, "iallreduce %d: %d", i, b[i]);
            break;
        }
    CHECK(bc[3] == 43, "ibcast %d", bc[3]);
    for (int i = 0; i < size; i++) {
        CHECK(g[i] == i, "iallgather %d", g[i]);
        CHECK(ar[i] == i * 100 + rank, "ialltoall %d", ar[i]);
        if (rank == 0)
            CHECK(gg[i] == i, "igather %d", gg[i]);
    }
    CHECK(scat == 7 * rank, "iscatter %d", scat);
    if (rank == size - 1)
        CHECK(red == size * (size - 1) / 2, "ireduce %d", red);

    /* A nonblocking collective must progress while a rank blocks in a
     * receive that another rank satisfies only after the collective. */
    int tok = 0;
    if (rank == 0) {
        MPI_Ibarrier(MPI_COMM_WORLD, &r[0]);
        MPI_Recv(&tok, 1, MPI_INT, size - 1, 9, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        MPI_Wait(&r[0], MPI_STATUS_IGNORE);
    } else {
        MPI_Ibarrier(MPI_COMM_WORLD, &r[0]);
        MPI_Wait(&r[0], MPI_STATUS_IGNORE);
        if (rank == size - 1)
            MPI_Send(&rank, 1, MPI_INT, 0, 9, MPI_COMM_WORLD);
    }
    if (rank == 0)
        CHECK(tok == size - 1, "token %d", tok);

    /* Persistent requests, started several times. */
    int next = (rank + 1) % size, prev = (rank - 1 + size) % size;
    int sv, rv;
    MPI_Request pr[2];
    MPI_Recv_init(&rv, 1, MPI_INT, prev, 11, MPI_COMM_WORLD, &pr[0]);
    MPI_Send_init(&sv, 1, MPI_INT, next, 11, MPI_COMM_WORLD, &pr[1]);
    for (int it = 0; it < 5; it++) {
        sv = rank * 10 + it;
        rv = -1;
        MPI_Startall(2, pr);
        MPI_Waitall(2, pr, MPI_STATUSES_IGNORE);
        CHECK(rv == prev * 10 + it, "persistent %d: %d", it, rv);
    }
    CHECK(pr[0] != MPI_REQUEST_NULL, "persistent request freed by wait");
    MPI_Request_free(&pr[0]);
    MPI_Request_free(&pr[1]);

    /* Matched probe: the probed message is received with Mrecv even when
     * another receive could have taken it. */
    if (size >= 2) {
        if (rank == 1) {
            int x[3] = {5, 6, 7};
            MPI_Send(x, 3, MPI_INT, 0, 21, MPI_COMM_WORLD);
            MPI_Send(x, 1, MPI_INT, 0, 21, MPI_COMM_WORLD);
        } else if (rank == 0) {
            MPI_Message msg;
            MPI_Status st;
            int cnt, x[3] = {0}, y = 0;
            MPI_Mprobe(1, 21, MPI_COMM_WORLD, &msg, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            CHECK(cnt == 3, "mprobe count %d", cnt);
            MPI_Recv(&y, 1, MPI_INT, 1, 21, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Mrecv(x, 3, MPI_INT, &msg, &st);
            CHECK(x[2] == 7 && y == 5, "mrecv %d %d", x[2], y);
            CHECK(msg == MPI_MESSAGE_NULL, "message not consumed");
        }
    }
    /* A cancelled receive reports itself cancelled. (Checked here, on
     * tcp only: see the testlist for shm's cancel in libfabric 1.17.) */
    {
        MPI_Request cr;
        MPI_Status cst;
        int dummy, flag;
        MPI_Irecv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &cr);
        MPI_Cancel(&cr);
        MPI_Wait(&cr, &cst);
        MPI_Test_cancelled(&cst, &flag);
        CHECK(flag, "receive not cancelled");
    }
    free(a);
    free(b);
    free(g);
    free(sc);
    free(gg);
    free(at);
    free(ar);
    return mtest_finalize();
}
