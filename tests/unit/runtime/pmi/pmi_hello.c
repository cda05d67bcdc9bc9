/* SPDX-License-Identifier: MIT */
/* pmi_hello.c - an MPI program for the PMI server tests, built with a real
 * MPI's compiler wrapper. Every rank prints one line; with arguments
 * "abort R", rank R calls MPI_Abort(MPI_COMM_WORLD, 7) instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

int main(int argc, char **argv)
{
    int rank;
    int size;
    int sum;
    int *universe;
    int flag;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc == 3 && strcmp(argv[1], "abort") == 0 && rank == atoi(argv[2]))
        MPI_Abort(MPI_COMM_WORLD, 7);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &flag);
    printf("rank %d of %d: sum %d universe %d\n", rank, size, sum,
           flag ? *universe : -1);
    MPI_Finalize();
    return 0;
}
