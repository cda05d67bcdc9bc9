/* SPDX-License-Identifier: MIT */
/* affinity: each rank prints, after MPI_Init and in rank order, the CPUs it
 * may run on (Cpus_allowed_list of /proc/self/status), so a test can see
 * that the MPI library kept the binding the launcher applied. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rank, size;
    char line[512], cpus[512] = "?";
    FILE *f;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
            sscanf(line + 18, " %511s", cpus);
    if (f)
        fclose(f);
    for (int r = 0; r < size; r++) {
        if (r == rank) {
            printf("rank %d cpus %s\n", rank, cpus);
            fflush(stdout);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_Finalize();
    return 0;
}
