/* SPDX-License-Identifier: MIT */
/* manyreq.c - thousands of outstanding requests completed with Waitall,
 * Waitany, Waitsome, Testall and Testany. */
#include "mtest.h"

enum { N = 2000 };

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("manyreq on %d ranks\n", size);
    int next = (rank + 1) % size, prev = (rank - 1 + size) % size;
    int *in = malloc(sizeof(int) * N), *out = malloc(sizeof(int) * N);
    MPI_Request *r = malloc(sizeof(MPI_Request) * 2 * N);

    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            in[i] = -1;
            out[i] = rank * N + i + round;
        }
        /* Receives first for half the rounds, sends first otherwise, so
         * both expected and unexpected arrivals are exercised. */
        for (int i = 0; i < N; i++) {
            if (round % 2 == 0)
                MPI_Irecv(&in[i], 1, MPI_INT, prev, i, MPI_COMM_WORLD, &r[i]);
            else
                MPI_Isend(&out[i], 1, MPI_INT, next, i, MPI_COMM_WORLD,
                          &r[N + i]);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < N; i++) {
            if (round % 2 == 0)
                MPI_Isend(&out[i], 1, MPI_INT, next, i, MPI_COMM_WORLD,
                          &r[N + i]);
            else
                MPI_Irecv(&in[i], 1, MPI_INT, prev, i, MPI_COMM_WORLD, &r[i]);
        }
        int done = 0;
        switch (round) {
        case 0:
            MPI_Waitall(2 * N, r, MPI_STATUSES_IGNORE);
            break;
        case 1:
            while (done < 2 * N) {
                int idx;
                MPI_Waitany(2 * N, r, &idx, MPI_STATUS_IGNORE);
                CHECK(idx != MPI_UNDEFINED, "waitany undefined");
                done++;
            }
            {
                int idx;
                MPI_Waitany(2 * N, r, &idx, MPI_STATUS_IGNORE);
                CHECK(idx == MPI_UNDEFINED, "all null should be undefined");
            }
            break;
        case 2: {
            int *idx = malloc(sizeof(int) * 2 * N);
            while (done < 2 * N) {
                int oc;
                MPI_Waitsome(2 * N, r, &oc, idx, MPI_STATUSES_IGNORE);
                CHECK(oc != MPI_UNDEFINED && oc > 0, "waitsome %d", oc);
                done += oc;
            }
            free(idx);
            break;
        }
        default: {
            int flag = 0;
            while (!flag)
                MPI_Testall(2 * N, r, &flag, MPI_STATUSES_IGNORE);
            break;
        }
        }
        for (int i = 0; i < N; i++)
            if (in[i] != prev * N + i + round) {
                CHECK(0, "round %d elem %d got %d", round, i, in[i]);
                break;
            }
    }
    /* Testany over a mix of null and live requests. */
    MPI_Request q[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    int v = rank, w = -1, flag = 0, idx;
    MPI_Irecv(&w, 1, MPI_INT, prev, 9, MPI_COMM_WORLD, &q[1]);
    MPI_Send(&v, 1, MPI_INT, next, 9, MPI_COMM_WORLD);
    while (!flag)
        MPI_Testany(3, q, &idx, &flag, MPI_STATUS_IGNORE);
    CHECK(idx == 1 && w == prev, "testany idx %d w %d", idx, w);
    free(in);
    free(out);
    free(r);
    return mtest_finalize();
}
