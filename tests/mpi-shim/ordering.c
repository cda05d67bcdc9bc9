/* SPDX-License-Identifier: MIT */
/* ordering.c - non-overtaking: messages from one sender with matching
 * envelopes arrive in sending order, for small, medium and large sizes
 * mixed, and for receives with MPI_ANY_SOURCE. */
#include <string.h>

#include "mtest.h"

enum { NMSG = 300 };

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("ordering on %d ranks\n", size);

    /* Sizes cycle through eager and rendezvous ranges. */
    static const int lens[] = {1, 16, 1000, 20000, 70000};
    int maxlen = 70000;
    int *buf = malloc(sizeof(int) * maxlen);

    if (rank != 0) {
        MPI_Request *rq = malloc(sizeof(MPI_Request) * NMSG);
        int **bufs = malloc(sizeof(int *) * NMSG);
        for (int i = 0; i < NMSG; i++) {
            int n = lens[i % 5];
            bufs[i] = malloc(sizeof(int) * n);
            for (int j = 0; j < n; j++)
                bufs[i][j] = i;
            MPI_Isend(bufs[i], n, MPI_INT, 0, 1, MPI_COMM_WORLD, &rq[i]);
        }
        MPI_Waitall(NMSG, rq, MPI_STATUSES_IGNORE);
        for (int i = 0; i < NMSG; i++)
            free(bufs[i]);
        free(bufs);
        free(rq);
    } else {
        int *next = calloc((size_t)size, sizeof(int));
        for (int k = 0; k < NMSG * (size - 1); k++) {
            MPI_Status st;
            MPI_Recv(buf, maxlen, MPI_INT, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD,
                     &st);
            int src = st.MPI_SOURCE, cnt;
            MPI_Get_count(&st, MPI_INT, &cnt);
            CHECK(buf[0] == next[src], "from %d got seq %d expected %d", src,
                  buf[0], next[src]);
            CHECK(cnt == lens[next[src] % 5], "from %d len %d", src, cnt);
            CHECK(buf[cnt - 1] == next[src], "tail of message");
            next[src] = buf[0] + 1;
        }
        free(next);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    free(buf);

    /* Ssend between two ranks stays ordered with plain sends. */
    if (size >= 2 && rank < 2) {
        int peer = 1 - rank;
        if (rank == 0) {
            for (int i = 0; i < 50; i++) {
                if (i % 3 == 0)
                    MPI_Ssend(&i, 1, MPI_INT, peer, 4, MPI_COMM_WORLD);
                else
                    MPI_Send(&i, 1, MPI_INT, peer, 4, MPI_COMM_WORLD);
            }
        } else {
            for (int i = 0; i < 50; i++) {
                int v;
                MPI_Recv(&v, 1, MPI_INT, peer, 4, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
                CHECK(v == i, "mixed modes got %d expected %d", v, i);
            }
        }
    }
    return mtest_finalize();
}
