/* SPDX-License-Identifier: MIT */
/* fatal.c - under the default MPI_ERRORS_ARE_FATAL a bad argument aborts
 * the whole job with a non-zero exit code. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size, v = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 1)
        MPI_Send(&v, 1, MPI_INT, size + 1, 0, MPI_COMM_WORLD);
    /* The other ranks wait for the abort. */
    MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
