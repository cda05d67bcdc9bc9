/* SPDX-License-Identifier: MIT */
/* ivcoll.c - MPI_Igatherv, MPI_Iscatterv and MPI_Iallgatherv (also with
 * MPI_IN_PLACE), rank r contributing r+1 elements, all three in flight
 * at once and completed by one MPI_Waitall. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *counts = malloc(sizeof(int) * size),
        *displs = malloc(sizeof(int) * size);
    int total = 0;
    for (int r = 0; r < size; r++) {
        counts[r] = r + 1;
        displs[r] = total;
        total += r + 1;
    }
    int mine[64], gathered[256], all[256], scattered[64], place[256];
    for (int i = 0; i <= rank; i++)
        mine[i] = 100 * rank + i;
    int src[256];
    for (int r = 0, k = 0; r < size; r++)
        for (int i = 0; i <= r; i++, k++) {
            src[k] = 1000 + 100 * r + i;
            place[k] = r == rank ? 100 * r + i : -1;
        }
    MPI_Request reqs[4];
    int root = size - 1;
    MPI_Igatherv(mine, rank + 1, MPI_INT, gathered, counts, displs, MPI_INT,
                 root, MPI_COMM_WORLD, &reqs[0]);
    MPI_Iscatterv(src, counts, displs, MPI_INT, scattered, rank + 1, MPI_INT, 0,
                  MPI_COMM_WORLD, &reqs[1]);
    MPI_Iallgatherv(mine, rank + 1, MPI_INT, all, counts, displs, MPI_INT,
                    MPI_COMM_WORLD, &reqs[2]);
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, place, counts, displs,
                    MPI_INT, MPI_COMM_WORLD, &reqs[3]);
    MPI_Waitall(4, reqs, MPI_STATUSES_IGNORE);
    for (int r = 0, k = 0; r < size; r++)
        for (int i = 0; i <= r; i++, k++) {
            if (rank == root)
                CHECK(gathered[k] == 100 * r + i, "igatherv[%d] = %d", k,
                      gathered[k]);
            CHECK(all[k] == 100 * r + i, "iallgatherv[%d] = %d", k, all[k]);
            CHECK(place[k] == 100 * r + i, "in place[%d] = %d", k, place[k]);
        }
    for (int i = 0; i <= rank; i++)
        CHECK(scattered[i] == 1000 + 100 * rank + i, "iscatterv[%d] = %d", i,
              scattered[i]);
    SAY("igatherv, iscatterv and iallgatherv on %d ranks\n", size);
    free(counts);
    free(displs);
    return mtest_finalize();
}
