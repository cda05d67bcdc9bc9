/* SPDX-License-Identifier: MIT */
/* dtenv.c - datatypes describing themselves: predefined names,
 * MPI_Type_set_name/_get_name, MPI_Type_get_envelope and _get_contents
 * for every constructor (a derived type in the contents is the caller's
 * to free, and still there after its original was freed),
 * MPI_Type_create_hindexed_block, and the _x queries. */
#include "mtest.h"

#include <string.h>

static const char *combiner_name(int c)
{
    if (c == MPI_COMBINER_NAMED)
        return "NAMED";
    if (c == MPI_COMBINER_DUP)
        return "DUP";
    if (c == MPI_COMBINER_CONTIGUOUS)
        return "CONTIGUOUS";
    if (c == MPI_COMBINER_VECTOR)
        return "VECTOR";
    if (c == MPI_COMBINER_HVECTOR)
        return "HVECTOR";
    if (c == MPI_COMBINER_INDEXED)
        return "INDEXED";
    if (c == MPI_COMBINER_HINDEXED)
        return "HINDEXED";
    if (c == MPI_COMBINER_INDEXED_BLOCK)
        return "INDEXED_BLOCK";
    if (c == MPI_COMBINER_HINDEXED_BLOCK)
        return "HINDEXED_BLOCK";
    if (c == MPI_COMBINER_STRUCT)
        return "STRUCT";
    if (c == MPI_COMBINER_RESIZED)
        return "RESIZED";
    return "?";
}

/* Prints the envelope and contents of t, and frees what the contents
 * gave back. */
static void show(const char *what, MPI_Datatype t)
{
    int ni, na, nd, comb;
    int ints[16];
    MPI_Aint addrs[16];
    MPI_Datatype types[16];
    char line[512], name[MPI_MAX_OBJECT_NAME];
    int len = 0, nlen;

    MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
    len += snprintf(line + len, sizeof(line) - len, "%s: %s ints", what,
                    combiner_name(comb));
    if (comb == MPI_COMBINER_NAMED) {
        SAY("%s\n", line);
        return;
    }
    MPI_Type_get_contents(t, ni, na, nd, ints, addrs, types);
    for (int i = 0; i < ni; i++)
        len += snprintf(line + len, sizeof(line) - len, " %d", ints[i]);
    len += snprintf(line + len, sizeof(line) - len, " addrs");
    for (int i = 0; i < na; i++)
        len += snprintf(line + len, sizeof(line) - len, " %ld", (long)addrs[i]);
    len += snprintf(line + len, sizeof(line) - len, " types");
    for (int i = 0; i < nd; i++) {
        int tc, x, y, z;
        MPI_Type_get_envelope(types[i], &x, &y, &z, &tc);
        if (tc == MPI_COMBINER_NAMED) {
            MPI_Type_get_name(types[i], name, &nlen);
            len += snprintf(line + len, sizeof(line) - len, " %s", name);
        } else {
            len += snprintf(line + len, sizeof(line) - len, " (%s)",
                            combiner_name(tc));
            MPI_Type_free(&types[i]);
        }
    }
    SAY("%s\n", line);
}

int main(int argc, char **argv)
{
    char name[MPI_MAX_OBJECT_NAME];
    int len;

    MPI_Init(&argc, &argv);
    MPI_Datatype named[] = {MPI_CHAR,     MPI_INT,      MPI_DOUBLE,
                            MPI_BYTE,     MPI_2INT,     MPI_DOUBLE_INT,
                            MPI_UINT64_T, MPI_FLOAT_INT};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        MPI_Type_get_name(named[i], name, &len);
        CHECK(len == (int)strlen(name), "name length %d", len);
        SAY("predefined: %s\n", name);
    }
    show("MPI_INT", MPI_INT);

    MPI_Datatype contig, vec, hvec, idx, hidx, iblk, hblk, st, res, dup;
    MPI_Type_contiguous(3, MPI_INT, &contig);
    MPI_Type_vector(2, 3, 5, MPI_DOUBLE, &vec);
    MPI_Type_create_hvector(2, 1, 24, contig, &hvec);
    int lens[3] = {1, 2, 3}, disps[3] = {0, 4, 9};
    MPI_Type_indexed(3, lens, disps, MPI_SHORT, &idx);
    MPI_Aint hd[3] = {0, 16, 64};
    MPI_Type_create_hindexed(3, lens, hd, MPI_CHAR, &hidx);
    MPI_Type_create_indexed_block(3, 2, disps, MPI_INT, &iblk);
    MPI_Type_create_hindexed_block(3, 2, hd, MPI_INT, &hblk);
    MPI_Datatype sts[3] = {MPI_INT, vec, MPI_CHAR};
    MPI_Aint sd[3] = {0, 8, 200};
    MPI_Type_create_struct(3, lens, sd, sts, &st);
    MPI_Type_create_resized(contig, -4, 40, &res);
    MPI_Type_dup(vec, &dup);

    show("contiguous", contig);
    show("vector", vec);
    show("hvector", hvec);
    show("indexed", idx);
    show("hindexed", hidx);
    show("indexed_block", iblk);
    show("hindexed_block", hblk);
    show("struct", st);
    show("resized", res);
    show("dup", dup);

    /* Names of derived types: empty until set. */
    MPI_Type_get_name(vec, name, &len);
    CHECK(len == 0 && name[0] == '\0', "unnamed type is '%s'", name);
    MPI_Type_set_name(vec, "my vector");
    MPI_Type_get_name(vec, name, &len);
    SAY("named: %s (%d)\n", name, len);

    /* The contents outlive the types they name. */
    MPI_Type_free(&contig);
    show("hvector after its part was freed", hvec);

    MPI_Count size, lb, extent;
    MPI_Type_size_x(res, &size);
    MPI_Type_get_extent_x(res, &lb, &extent);
    SAY("resized: size %lld lb %lld extent %lld\n", (long long)size,
        (long long)lb, (long long)extent);
    MPI_Type_get_true_extent_x(vec, &lb, &extent);
    SAY("vector: true lb %lld true extent %lld\n", (long long)lb,
        (long long)extent);

    MPI_Datatype all[] = {vec, hvec, idx, hidx, iblk, hblk, st, res, dup};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        MPI_Type_free(&all[i]);
    return mtest_finalize();
}
