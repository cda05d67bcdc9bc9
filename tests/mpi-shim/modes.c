/* SPDX-License-Identifier: MIT */
/* modes.c - synchronous, ready and buffered sends: Issend completes only
 * after the receive is matched; Bsend completes at once from the
 * attached buffer. */
#include <unistd.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("modes on %d ranks\n", size);
    if (size < 2)
        return mtest_finalize();

    /* Issend is not complete before the receiver has matched it. */
    int v = 42, w = 0, flag = 1;
    if (rank == 0) {
        MPI_Request r;
        MPI_Issend(&v, 1, MPI_INT, 1, 1, MPI_COMM_WORLD, &r);
        for (int i = 0; i < 100; i++)
            MPI_Test(&r, &flag, MPI_STATUS_IGNORE);
        CHECK(!flag, "issend completed before the receive was posted");
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Recv(&w, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(w == 42, "ssend data %d", w);
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
    }
    /* Blocking Ssend of a large message. */
    int n = 100000;
    int *big = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++)
        big[i] = rank == 0 ? i : 0;
    if (rank == 0)
        MPI_Ssend(big, n, MPI_INT, 1, 2, MPI_COMM_WORLD);
    else if (rank == 1) {
        MPI_Recv(big, n, MPI_INT, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        CHECK(big[n - 1] == n - 1, "large ssend");
    }

    /* Ready send after the receiver says it is ready. */
    if (rank == 1) {
        MPI_Request r;
        MPI_Irecv(&w, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, &r);
        MPI_Send(&v, 0, MPI_INT, 0, 4, MPI_COMM_WORLD);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
        CHECK(w == 43, "rsend data %d", w);
    } else if (rank == 0) {
        MPI_Recv(&w, 0, MPI_INT, 1, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        v = 43;
        MPI_Rsend(&v, 1, MPI_INT, 1, 3, MPI_COMM_WORLD);
    }

    /* Buffered sends: many messages before the receiver posts anything. */
    int bsize = 20 * (1000 * (int)sizeof(int) + MPI_BSEND_OVERHEAD);
    char *buf = malloc(bsize);
    MPI_Buffer_attach(buf, bsize);
    if (rank == 0) {
        for (int k = 0; k < 20; k++) {
            for (int i = 0; i < 1000; i++)
                big[i] = k * 1000 + i;
            MPI_Bsend(big, 1000, MPI_INT, 1, 5, MPI_COMM_WORLD);
        }
        MPI_Request r;
        MPI_Ibsend(big, 10, MPI_INT, 1, 6, MPI_COMM_WORLD, &r);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 1) {
        for (int k = 0; k < 20; k++) {
            MPI_Recv(big, 1000, MPI_INT, 0, 5, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            CHECK(big[999] == k * 1000 + 999, "bsend %d: %d", k, big[999]);
        }
        MPI_Recv(big, 10, MPI_INT, 0, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    void *old;
    int osize;
    MPI_Buffer_detach(&old, &osize);
    CHECK(old == buf && osize == bsize, "detach");
    free(buf);
    free(big);
    return mtest_finalize();
}
