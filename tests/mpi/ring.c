/* SPDX-License-Identifier: MIT */
/* ring: a token goes around the ranks several times; blocking and
 * nonblocking point-to-point, wildcard receives. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank, size, errors = 0;
    const int laps = 10;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    for (int lap = 0; lap < laps; lap++) {
        int token = -1;
        if (rank == 0) {
            /* nonblocking: with one rank, rank 0 is its own neighbour */
            int start = lap * 1000;
            MPI_Request sreq;
            MPI_Status st;
            MPI_Isend(&start, 1, MPI_INT, next, lap, MPI_COMM_WORLD, &sreq);
            MPI_Recv(&token, 1, MPI_INT, MPI_ANY_SOURCE, lap, MPI_COMM_WORLD,
                     &st);
            MPI_Wait(&sreq, MPI_STATUS_IGNORE);
            if (token != lap * 1000 + size - 1 || st.MPI_SOURCE != prev)
                errors++;
        } else {
            MPI_Status st;
            MPI_Recv(&token, 1, MPI_INT, prev, lap, MPI_COMM_WORLD, &st);
            if (st.MPI_SOURCE != prev || st.MPI_TAG != lap)
                errors++;
            token++;
            MPI_Send(&token, 1, MPI_INT, next, lap, MPI_COMM_WORLD);
        }
    }
    /* everyone exchanges with both neighbours at once */
    int left = -1, right = -1;
    MPI_Request req[4];
    MPI_Irecv(&left, 1, MPI_INT, prev, 99, MPI_COMM_WORLD, &req[0]);
    MPI_Irecv(&right, 1, MPI_INT, next, 98, MPI_COMM_WORLD, &req[1]);
    MPI_Isend(&rank, 1, MPI_INT, next, 99, MPI_COMM_WORLD, &req[2]);
    MPI_Isend(&rank, 1, MPI_INT, prev, 98, MPI_COMM_WORLD, &req[3]);
    MPI_Status statuses[4];
    MPI_Waitall(4, req, statuses);
    if (left != prev || right != next)
        errors++;
    int total;
    MPI_Reduce(&errors, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf(total ? " Found %d errors\n" : " No Errors\n", total);
    MPI_Finalize();
    return 0;
}
