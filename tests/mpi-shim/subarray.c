/* SPDX-License-Identifier: MIT */
/* subarray.c - MPI_Type_create_subarray in C and Fortran order: what it
 * packs, its extent (the whole array), its envelope and contents, its
 * external32 form, and a subarray sent from one rank to another. */
#include "mtest.h"

static void show_packed(const char *what, const void *a, MPI_Datatype t)
{
    int packed[64], pos = 0, size;
    char line[256];
    int len = snprintf(line, sizeof(line), "%s:", what);

    MPI_Type_size(t, &size);
    MPI_Pack(a, 1, t, packed, sizeof(packed), &pos, MPI_COMM_WORLD);
    for (int i = 0; i < size / (int)sizeof(int) && len < 240; i++)
        len += snprintf(line + len, sizeof(line) - len, " %d", packed[i]);
    SAY("%s\n", line);
}

int main(int argc, char **argv)
{
    int rank, size;
    int a[4][5];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            a[i][j] = 10 * i + j;

    int sizes[2] = {4, 5}, sub[2] = {2, 3}, starts[2] = {1, 1};
    MPI_Datatype c, f;
    MPI_Type_create_subarray(2, sizes, sub, starts, MPI_ORDER_C, MPI_INT, &c);
    MPI_Type_commit(&c);
    show_packed("C order", a, c);
    /* Fortran order: the first index varies fastest (sizes 5 x 4). */
    int fsizes[2] = {5, 4}, fsub[2] = {3, 2}, fstarts[2] = {1, 1};
    MPI_Type_create_subarray(2, fsizes, fsub, fstarts, MPI_ORDER_FORTRAN,
                             MPI_INT, &f);
    MPI_Type_commit(&f);
    show_packed("Fortran order", a, f);

    MPI_Aint lb, extent;
    MPI_Type_get_extent(c, &lb, &extent);
    SAY("extent: lb %ld extent %ld\n", (long)lb, (long)extent);
    int ni, na, nd, comb, ints[16];
    MPI_Datatype types[1];
    MPI_Type_get_envelope(c, &ni, &na, &nd, &comb);
    CHECK(comb == MPI_COMBINER_SUBARRAY && ni == 8 && na == 0 && nd == 1,
          "envelope %d: %d %d %d", comb, ni, na, nd);
    MPI_Type_get_contents(c, ni, na, nd, ints, NULL, types);
    CHECK(ints[0] == 2 && ints[1] == 4 && ints[4] == 3 && ints[6] == 1
              && ints[7] == MPI_ORDER_C && types[0] == MPI_INT,
          "contents %d %d %d %d %d", ints[0], ints[1], ints[4], ints[6],
          ints[7]);

    unsigned char ext[64];
    MPI_Aint pos = 0;
    MPI_Pack_external("external32", a, 1, c, ext, sizeof(ext), &pos);
    SAY("external32: %ld bytes, first %02x %02x %02x %02x\n", (long)pos, ext[0],
        ext[1], ext[2], ext[3]);

    if (size > 1 && rank < 2) {
        int b[4][5] = {{0}};
        if (rank == 0)
            MPI_Send(a, 1, c, 1, 0, MPI_COMM_WORLD);
        else {
            MPI_Recv(b, 1, c, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            CHECK(b[1][1] == 11 && b[2][3] == 23 && b[0][0] == 0
                      && b[3][4] == 0,
                  "received %d %d %d %d", b[1][1], b[2][3], b[0][0], b[3][4]);
        }
    }
    MPI_Type_free(&c);
    MPI_Type_free(&f);
    return mtest_finalize();
}
