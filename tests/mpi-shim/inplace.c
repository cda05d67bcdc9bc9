/* SPDX-License-Identifier: MIT */
/* inplace.c - MPI_IN_PLACE in every collective that takes it, and the
 * remaining datatype constructors (hvector, hindexed, indexed_block). */
#include <string.h>

#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("inplace on %d ranks\n", size);
    int n = 3;
    int *buf = malloc(sizeof(int) * n * size);

    /* Gather in place at the root. */
    for (int i = 0; i < n * size; i++)
        buf[i] = i / n == rank ? i : -1;
    if (rank == 1 % size)
        MPI_Gather(MPI_IN_PLACE, n, MPI_INT, buf, n, MPI_INT, 1 % size,
                   MPI_COMM_WORLD);
    else
        MPI_Gather(buf + rank * n, n, MPI_INT, NULL, n, MPI_INT, 1 % size,
                   MPI_COMM_WORLD);
    if (rank == 1 % size)
        for (int i = 0; i < n * size; i++)
            CHECK(buf[i] == i, "gather in place %d: %d", i, buf[i]);

    /* Scatter in place: the root keeps its block where it is. */
    for (int i = 0; i < n * size; i++)
        buf[i] = rank == 0 ? 10 * i : -1;
    if (rank == 0)
        MPI_Scatter(buf, n, MPI_INT, MPI_IN_PLACE, n, MPI_INT, 0,
                    MPI_COMM_WORLD);
    else
        MPI_Scatter(NULL, n, MPI_INT, buf, n, MPI_INT, 0, MPI_COMM_WORLD);
    for (int i = 0; i < n; i++)
        CHECK(buf[i] == 10 * (rank * n + i), "scatter in place %d", buf[i]);

    /* Alltoall in place. */
    for (int d = 0; d < size; d++)
        for (int i = 0; i < n; i++)
            buf[d * n + i] = 1000 * rank + 10 * d + i;
    MPI_Alltoall(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, n, MPI_INT,
                 MPI_COMM_WORLD);
    for (int s = 0; s < size; s++)
        for (int i = 0; i < n; i++)
            CHECK(buf[s * n + i] == 1000 * s + 10 * rank + i,
                  "alltoall in place %d", buf[s * n + i]);

    /* Reduce_scatter_block, Scan and Exscan in place. */
    for (int i = 0; i < n * size; i++)
        buf[i] = i + rank;
    MPI_Reduce_scatter_block(MPI_IN_PLACE, buf, n, MPI_INT, MPI_SUM,
                             MPI_COMM_WORLD);
    for (int i = 0; i < n; i++)
        CHECK(buf[i] == (rank * n + i) * size + size * (size - 1) / 2,
              "reduce_scatter_block in place %d", buf[i]);
    int v = rank + 1;
    MPI_Scan(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(v == (rank + 1) * (rank + 2) / 2, "scan in place %d", v);
    v = rank + 1;
    MPI_Exscan(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_PROD, MPI_COMM_WORLD);
    if (rank > 0) {
        int f = 1;
        for (int i = 1; i <= rank; i++)
            f *= i;
        CHECK(v == f, "exscan in place %d expected %d", v, f);
    }
    /* Allgatherv in place. */
    int *cnt = malloc(sizeof(int) * size), *dsp = malloc(sizeof(int) * size);
    int tot = 0;
    for (int i = 0; i < size; i++) {
        cnt[i] = i + 1;
        dsp[i] = tot;
        tot += i + 1;
    }
    int *gv = malloc(sizeof(int) * tot);
    for (int i = 0; i < tot; i++)
        gv[i] = -1;
    for (int i = 0; i < cnt[rank]; i++)
        gv[dsp[rank] + i] = rank;
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, gv, cnt, dsp, MPI_INT,
                   MPI_COMM_WORLD);
    for (int r = 0; r < size; r++)
        for (int i = 0; i < cnt[r]; i++)
            CHECK(gv[dsp[r] + i] == r, "allgatherv in place");
    free(gv);
    free(cnt);
    free(dsp);

    /* hvector / hindexed / indexed_block describe the same picks. */
    double m[12];
    for (int i = 0; i < 12; i++)
        m[i] = rank * 100 + i;
    MPI_Datatype hv, hi, ib;
    MPI_Type_create_hvector(3, 2, 4 * sizeof(double), MPI_DOUBLE, &hv);
    int bl[3] = {2, 2, 2};
    MPI_Aint hd[3] = {0, 4 * sizeof(double), 8 * sizeof(double)};
    MPI_Type_create_hindexed(3, bl, hd, MPI_DOUBLE, &hi);
    int id[3] = {0, 4, 8};
    MPI_Type_create_indexed_block(3, 2, id, MPI_DOUBLE, &ib);
    MPI_Type_commit(&hv);
    MPI_Type_commit(&hi);
    MPI_Type_commit(&ib);
    MPI_Datatype types[3] = {hv, hi, ib};
    for (int k = 0; k < 3; k++) {
        double out[6] = {0};
        int root = k % size;
        double src[12];
        memcpy(src, m, sizeof(m));
        MPI_Bcast(src, 1, types[k], root, MPI_COMM_WORLD);
        int pos = 0;
        MPI_Pack(src, 1, types[k], out, sizeof(out), &pos, MPI_COMM_WORLD);
        for (int j = 0; j < 6; j++)
            CHECK(out[j] == root * 100 + (j / 2) * 4 + j % 2,
                  "constructor %d elem %d: %g", k, j, out[j]);
        int sz;
        MPI_Type_size(types[k], &sz);
        CHECK(sz == 6 * (int)sizeof(double), "size %d", sz);
    }
    MPI_Type_free(&hv);
    MPI_Type_free(&hi);
    MPI_Type_free(&ib);

    free(buf);
    return mtest_finalize();
}
