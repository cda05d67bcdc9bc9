/* SPDX-License-Identifier: MIT */
/* shm_faults.c - programs for tests/integration/t0062-mpi-shm-faults.t.
 *   shm_faults hang PIDFILE   every rank appends its pid to PIDFILE after
 *                             MPI_Init, then waits for a message that never
 *                             comes (the test kills the job with SIGKILL)
 *   shm_faults die            rank 1 streams messages to rank 0 and kills
 *                             itself with SIGKILL halfway; rank 0 waits for
 *                             them all (the runtime must end the job)
 *   shm_faults pingpong       a few messages of every protocol size, then
 *                             "No Errors" from rank 0 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;
    const char *mode = argc > 1 ? argv[1] : "pingpong";

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (strcmp(mode, "hang") == 0 && argc > 2) {
        char line[32];
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0644);
        int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
        if (fd < 0 || write(fd, line, (size_t)n) != n)
            return 2;
        close(fd);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    } else if (strcmp(mode, "die") == 0 && size >= 2) {
        enum { COUNT = 64, LEN = 1 << 20 };
        char *buf = calloc(1, LEN);
        if (rank == 1) {
            for (int i = 0; i < COUNT; i++) {
                if (i == COUNT / 2)
                    raise(SIGKILL);
                MPI_Send(buf, LEN, MPI_BYTE, 0, i, MPI_COMM_WORLD);
            }
        } else if (rank == 0) {
            for (int i = 0; i < COUNT; i++)
                MPI_Recv(buf, LEN, MPI_BYTE, 1, i, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
        }
        free(buf);
    } else {
        static const int sizes[] = {0, 8, 16000, 20000, 70000, 1 << 20};
        char *buf = calloc(1, 1 << 20);
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
            for (int r = 1; r < size; r++) {
                if (rank == 0) {
                    MPI_Send(buf, sizes[k], MPI_BYTE, r, 0, MPI_COMM_WORLD);
                    MPI_Recv(buf, sizes[k], MPI_BYTE, r, 0, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                } else if (rank == r) {
                    MPI_Recv(buf, sizes[k], MPI_BYTE, 0, 0, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                    MPI_Send(buf, sizes[k], MPI_BYTE, 0, 0, MPI_COMM_WORLD);
                }
            }
        free(buf);
    }
    return mtest_finalize();
}
