/* SPDX-License-Identifier: MIT */
/* collectives: bcast, reduce, allreduce, gather, scatter, allgather,
 * alltoall and barrier, checked against values computed locally. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int rank, size, errors = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    int value = rank == 0 ? 42 : -1;
    MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
    errors += value != 42;

    long sum = 0, mine = rank + 1;
    MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    errors += sum != (long)size * (size + 1) / 2;

    double dmax = 0, dmine = rank * 1.5;
    MPI_Reduce(&dmine, &dmax, 1, MPI_DOUBLE, MPI_MAX, size - 1, MPI_COMM_WORLD);
    if (rank == size - 1)
        errors += dmax != (size - 1) * 1.5;

    int *all = malloc(sizeof(int) * (size_t)size);
    MPI_Gather(&rank, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0)
        for (int i = 0; i < size; i++)
            errors += all[i] != i;

    int piece = -1;
    for (int i = 0; i < size; i++)
        all[i] = i * 10;
    MPI_Scatter(all, 1, MPI_INT, &piece, 1, MPI_INT, 0, MPI_COMM_WORLD);
    errors += piece != rank * 10;

    MPI_Allgather(&rank, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < size; i++)
        errors += all[i] != i;

    int *out = malloc(sizeof(int) * (size_t)size);
    int *in = malloc(sizeof(int) * (size_t)size);
    for (int i = 0; i < size; i++)
        out[i] = rank * 100 + i;
    MPI_Alltoall(out, 1, MPI_INT, in, 1, MPI_INT, MPI_COMM_WORLD);
    for (int i = 0; i < size; i++)
        errors += in[i] != i * 100 + rank;
    MPI_Barrier(MPI_COMM_WORLD);

    int total;
    MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf(total ? " Found %d errors\n" : " No Errors\n", total);
    free(all);
    free(out);
    free(in);
    MPI_Finalize();
    return 0;
}
