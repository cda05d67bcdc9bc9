/* SPDX-License-Identifier: MIT */
/* ext32.c - MPI_Pack_external ("external32": big-endian, typemap order)
 * of integers, doubles, a MINLOC pair and a derived struct with a vector
 * inside, MPI_Pack_external_size, the round trip through
 * MPI_Unpack_external, and MPI_Type_match_size. */
#include "mtest.h"

#include <string.h>

static void hex(const char *what, const unsigned char *b, MPI_Aint n)
{
    char line[256];
    int len = snprintf(line, sizeof(line), "%s:", what);

    for (MPI_Aint i = 0; i < n && len < 240; i++)
        len += snprintf(line + len, sizeof(line) - len, " %02x", b[i]);
    SAY("%s\n", line);
}

struct rec {
    int id;
    double v[4];
    short s;
};

int main(int argc, char **argv)
{
    unsigned char buf[256];
    MPI_Aint pos = 0, size;

    MPI_Init(&argc, &argv);
    int i2[2] = {0x01020304, -2};
    MPI_Pack_external("external32", i2, 2, MPI_INT, buf, sizeof(buf), &pos);
    hex("int", buf, pos);
    pos = 0;
    double d = 1.5;
    MPI_Pack_external("external32", &d, 1, MPI_DOUBLE, buf, sizeof(buf), &pos);
    hex("double", buf, pos);
    pos = 0;
    struct {
        double v;
        int i;
    } pair = {-2.0, 7};
    MPI_Pack_external("external32", &pair, 1, MPI_DOUBLE_INT, buf, sizeof(buf),
                      &pos);
    hex("double_int", buf, pos);

    /* {id, v[0], v[2], s}: a struct whose doubles are a vector. */
    MPI_Datatype vec, st;
    MPI_Type_vector(2, 1, 2, MPI_DOUBLE, &vec);
    int lens[3] = {1, 1, 1};
    MPI_Aint disps[3] = {offsetof(struct rec, id), offsetof(struct rec, v),
                         offsetof(struct rec, s)};
    MPI_Datatype types[3] = {MPI_INT, vec, MPI_SHORT};
    MPI_Datatype raw;
    MPI_Type_create_struct(3, lens, disps, types, &raw);
    /* The array's stride is the C struct's size, padding included. */
    MPI_Type_create_resized(raw, 0, sizeof(struct rec), &st);
    MPI_Type_free(&raw);
    MPI_Type_commit(&st);
    struct rec in[2] = {{1, {1.0, 9.0, 2.0, 9.0}, 3},
                        {4, {5.0, 9.0, 6.0, 9.0}, -7}};
    MPI_Pack_external_size("external32", 2, st, &size);
    SAY("struct size: %ld\n", (long)size);
    pos = 0;
    MPI_Pack_external("external32", in, 2, st, buf, sizeof(buf), &pos);
    CHECK(pos == size, "packed %ld, size said %ld", (long)pos, (long)size);
    hex("struct", buf, pos);
    struct rec out[2];
    memset(out, 0, sizeof(out));
    MPI_Aint upos = 0;
    MPI_Unpack_external("external32", buf, pos, &upos, out, 2, st);
    CHECK(upos == pos && out[0].id == 1 && out[0].v[2] == 2.0
              && out[1].v[0] == 5.0 && out[1].s == -7 && out[0].v[1] == 0.0,
          "round trip: id %d v %g %g s %d", out[0].id, out[0].v[2], out[1].v[0],
          out[1].s);
    MPI_Type_free(&st);
    MPI_Type_free(&vec);
    SAY("round trip\n");

    MPI_Datatype m;
    int sz;
    int cases[4][2] = {{MPI_TYPECLASS_REAL, 4},
                       {MPI_TYPECLASS_REAL, 8},
                       {MPI_TYPECLASS_INTEGER, 4},
                       {MPI_TYPECLASS_COMPLEX, 16}};
    for (int k = 0; k < 4; k++) {
        MPI_Type_match_size(cases[k][0], cases[k][1], &m);
        MPI_Type_size(m, &sz);
        CHECK(sz == cases[k][1], "match_size %d gave size %d", cases[k][1], sz);
    }
    SAY("MPI_Type_match_size\n");
    return mtest_finalize();
}
