/* SPDX-License-Identifier: MIT */
/* large.c - messages of 64 MiB and more: blocking, nonblocking both ways
 * at once, and a large broadcast and allreduce. */
#include <stdint.h>
#include <string.h>

#include "mtest.h"

static uint32_t pattern(size_t i, int seed)
{
    return (uint32_t)(i * 2654435761u) ^ (uint32_t)seed;
}

int main(int argc, char **argv)
{
    int rank, size;
    size_t n = (64u << 20) / 4 + 3; /* a bit over 64 MiB of uint32 */

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("large on %d ranks\n", size);
    uint32_t *a = malloc(n * 4), *b = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        a[i] = pattern(i, rank);

    if (size >= 2 && rank < 2) {
        int peer = 1 - rank;
        MPI_Status st;
        if (rank == 0)
            MPI_Send(a, (int)n, MPI_UINT32_T, peer, 1, MPI_COMM_WORLD);
        else
            MPI_Recv(b, (int)n, MPI_UINT32_T, peer, 1, MPI_COMM_WORLD, &st);
        if (rank == 1) {
            int cnt;
            MPI_Get_count(&st, MPI_UINT32_T, &cnt);
            CHECK((size_t)cnt == n, "count %d", cnt);
            size_t bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += b[i] != pattern(i, peer);
            CHECK(bad == 0, "%zu words differ", bad);
        }
        /* Both directions at once. */
        MPI_Request r[2];
        memset(b, 0, n * 4);
        MPI_Irecv(b, (int)n, MPI_UINT32_T, peer, 2, MPI_COMM_WORLD, &r[0]);
        MPI_Isend(a, (int)n, MPI_UINT32_T, peer, 2, MPI_COMM_WORLD, &r[1]);
        MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += b[i] != pattern(i, peer);
        CHECK(bad == 0, "exchange: %zu words differ", bad);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Broadcast from the last rank. */
    int root = size - 1;
    if (rank == root)
        memcpy(b, a, n * 4);
    else
        memset(b, 0, n * 4);
    MPI_Bcast(b, (int)n, MPI_UINT32_T, root, MPI_COMM_WORLD);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += b[i] != pattern(i, root);
    CHECK(bad == 0, "bcast: %zu words differ", bad);

    /* Allreduce of 16M ints. */
    int *x = (int *)a, *y = (int *)b;
    size_t m = (64u << 20) / 4;
    for (size_t i = 0; i < m; i++)
        x[i] = (int)(i % 1000) + rank;
    MPI_Allreduce(x, y, (int)m, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    bad = 0;
    for (size_t i = 0; i < m; i++)
        bad += y[i] != (int)(i % 1000) * size + size * (size - 1) / 2;
    CHECK(bad == 0, "allreduce: %zu wrong", bad);
    SAY("large done\n");
    free(a);
    free(b);
    return mtest_finalize();
}
