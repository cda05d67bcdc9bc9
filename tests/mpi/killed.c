/* SPDX-License-Identifier: MIT */
/* killed: the last rank is killed by SIGKILL after MPI_Init (and a first
 * barrier, so every rank is wired up) while the others wait in a barrier
 * that can never complete. */
#include <mpi.h>
#include <signal.h>

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == size - 1)
        raise(SIGKILL);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return 0;
}
