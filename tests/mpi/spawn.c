/* SPDX-License-Identifier: MIT */
/* spawn: rank 0 asks for one more process with MPI_Comm_spawn, errors
 * returned rather than fatal, and says whether it was refused. A launcher
 * without dynamic processes must refuse it, not hang. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    MPI_Comm child, parent;
    int errcode, rc;

    (void)argc;
    MPI_Init(&argc, &argv);
    MPI_Comm_get_parent(&parent);
    if (parent == MPI_COMM_NULL) {
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        rc = MPI_Comm_spawn(argv[0], MPI_ARGV_NULL, 1, MPI_INFO_NULL, 0,
                            MPI_COMM_WORLD, &child, &errcode);
        printf("spawn %s\n", rc == MPI_SUCCESS ? "succeeded" : "refused");
    }
    MPI_Finalize();
    return 0;
}
