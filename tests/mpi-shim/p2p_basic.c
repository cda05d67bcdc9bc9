/* SPDX-License-Identifier: MIT */
/* p2p_basic.c - ring exchange, Send/Recv with status, Get_count, Sendrecv,
 * Sendrecv_replace, MPI_PROC_NULL and self messages. */
#include <string.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Status st;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("p2p_basic on %d ranks\n", size);

    int next = (rank + 1) % size, prev = (rank - 1 + size) % size;
    int sizes[] = {0, 1, 7, 64, 1000, 5000, 100000};
    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        int n = sizes[k];
        int *out = malloc(sizeof(int) * (n + 1));
        int *in = malloc(sizeof(int) * (n + 1));
        for (int i = 0; i < n; i++)
            out[i] = rank * 1000003 + i;
        memset(in, 0xff, sizeof(int) * (n + 1));
        MPI_Sendrecv(out, n, MPI_INT, next, 100 + k, in, n + 1, MPI_INT, prev,
                     100 + k, MPI_COMM_WORLD, &st);
        int cnt;
        MPI_Get_count(&st, MPI_INT, &cnt);
        CHECK(cnt == n, "count %d expected %d", cnt, n);
        CHECK(st.MPI_SOURCE == prev, "source %d", st.MPI_SOURCE);
        CHECK(st.MPI_TAG == (int)(100 + k), "tag %d", st.MPI_TAG);
        for (int i = 0; i < n; i++)
            if (in[i] != prev * 1000003 + i) {
                CHECK(0, "size %d elem %d got %d", n, i, in[i]);
                break;
            }
        free(out);
        free(in);
    }

    /* Blocking ring: even ranks send first. */
    int token = rank, got = -1;
    if (size > 1) {
        if (rank % 2 == 0) {
            MPI_Send(&token, 1, MPI_INT, next, 5, MPI_COMM_WORLD);
            MPI_Recv(&got, 1, MPI_INT, prev, 5, MPI_COMM_WORLD, &st);
        } else {
            MPI_Recv(&got, 1, MPI_INT, prev, 5, MPI_COMM_WORLD, &st);
            MPI_Send(&token, 1, MPI_INT, next, 5, MPI_COMM_WORLD);
        }
        CHECK(got == prev, "ring got %d", got);
    }

    /* Sendrecv_replace rotates values around the ring. */
    double v[3] = {rank, rank + 0.5, -rank};
    MPI_Sendrecv_replace(v, 3, MPI_DOUBLE, next, 9, prev, 9, MPI_COMM_WORLD,
                         &st);
    CHECK(v[0] == prev && v[1] == prev + 0.5 && v[2] == -prev,
          "replace got %g %g %g", v[0], v[1], v[2]);

    /* MPI_PROC_NULL completes at once with the documented status. */
    MPI_Recv(&got, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD, &st);
    CHECK(st.MPI_SOURCE == MPI_PROC_NULL, "procnull source %d", st.MPI_SOURCE);
    CHECK(st.MPI_TAG == MPI_ANY_TAG, "procnull tag %d", st.MPI_TAG);
    int cnt = -1;
    MPI_Get_count(&st, MPI_INT, &cnt);
    CHECK(cnt == 0, "procnull count %d", cnt);
    MPI_Send(&token, 1, MPI_INT, MPI_PROC_NULL, 0, MPI_COMM_WORLD);

    /* A message to self, received after it was sent. */
    MPI_Request r;
    char hello[] = "self message", back[32] = "";
    MPI_Isend(hello, (int)sizeof(hello), MPI_CHAR, rank, 3, MPI_COMM_WORLD, &r);
    MPI_Recv(back, 32, MPI_CHAR, rank, 3, MPI_COMM_WORLD, &st);
    MPI_Wait(&r, MPI_STATUS_IGNORE);
    CHECK(strcmp(back, hello) == 0, "self got '%s'", back);
    MPI_Get_count(&st, MPI_CHAR, &cnt);
    CHECK(cnt == (int)sizeof(hello), "self count %d", cnt);
    /* A count that is not a whole number of elements. */
    MPI_Get_count(&st, MPI_INT, &cnt);
    CHECK(cnt == MPI_UNDEFINED, "partial count %d", cnt);

    int sum = 0;
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    SAY("sum of ranks %d\n", sum);
    return mtest_finalize();
}
