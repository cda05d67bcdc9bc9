/* SPDX-License-Identifier: MIT */
/* darray.c - MPI_Type_create_darray: block, cyclic, cyclic(k), block(k)
 * and none distributions with MPI_DISTRIBUTE_DFLT_DARG and explicit
 * arguments, C and Fortran order, 1 to 3 dimensions, uneven splits and
 * processes that own nothing. For every process of each grid the type's
 * size, lb and extent and the elements it selects from a global array
 * (by MPI_Pack) are printed; its envelope names MPI_COMBINER_DARRAY and
 * its contents give the arguments back; MPI_Pack_external agrees with
 * MPI_Pack; and each rank sends its own part to itself and to rank 0,
 * received as contiguous ints. */
#include "mtest.h"

#include <string.h>

struct cfg {
    int ndims, gsizes[3], distribs[3], dargs[3], psizes[3], order;
};

#define B MPI_DISTRIBUTE_BLOCK
#define C MPI_DISTRIBUTE_CYCLIC
#define N MPI_DISTRIBUTE_NONE
#define D MPI_DISTRIBUTE_DFLT_DARG

static const struct cfg cfgs[] = {
    {2, {6, 7}, {B, B}, {D, D}, {2, 2}, MPI_ORDER_C},
    {2, {6, 7}, {C, C}, {D, 2}, {2, 3}, MPI_ORDER_FORTRAN},
    {3, {4, 5, 3}, {B, N, C}, {3, D, D}, {2, 1, 2}, MPI_ORDER_C},
    {1, {10}, {C}, {3}, {3}, MPI_ORDER_C},
    {2, {5, 4}, {B, B}, {D, D}, {3, 1}, MPI_ORDER_FORTRAN},
    {2, {7, 3}, {B, C}, {4, 2}, {2, 2}, MPI_ORDER_C},
    {2, {3, 8}, {C, B}, {2, D}, {4, 1}, MPI_ORDER_FORTRAN},
    {3, {3, 4, 5}, {C, C, B}, {1, 3, 2}, {3, 2, 3}, MPI_ORDER_FORTRAN},
};

static int nprocs(const struct cfg *c)
{
    int n = 1;
    for (int d = 0; d < c->ndims; d++)
        n *= c->psizes[d];
    return n;
}

static int nglobal(const struct cfg *c)
{
    int n = 1;
    for (int d = 0; d < c->ndims; d++)
        n *= c->gsizes[d];
    return n;
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int global[256], packed[256], ext[1024];
    for (int i = 0; i < 256; i++)
        global[i] = i;
    int ncfg = (int)(sizeof(cfgs) / sizeof(cfgs[0]));
    for (int k = 0; k < ncfg; k++) {
        const struct cfg *c = &cfgs[k];
        int np = nprocs(c), covered = 0;
        SAY("grid %d: %d dims, %d processes, %s order\n", k, c->ndims, np,
            c->order == MPI_ORDER_C ? "C" : "Fortran");
        for (int p = 0; p < np; p++) {
            MPI_Datatype t;
            MPI_Type_create_darray(np, p, c->ndims, c->gsizes, c->distribs,
                                   c->dargs, c->psizes, c->order, MPI_INT, &t);
            MPI_Type_commit(&t);
            int tsize;
            MPI_Aint lb, extent;
            MPI_Type_size(t, &tsize);
            MPI_Type_get_extent(t, &lb, &extent);
            int pos = 0;
            MPI_Pack(global, 1, t, packed, sizeof(packed), &pos,
                     MPI_COMM_WORLD);
            int n = tsize / (int)sizeof(int);
            covered += n;
            char line[2048];
            int at = snprintf(line, sizeof(line),
                              "  process %d: size %d lb %ld extent %ld:", p,
                              tsize, (long)lb, (long)extent);
            for (int i = 0; i < n && at < (int)sizeof(line) - 8; i++)
                at += snprintf(line + at, sizeof(line) - at, " %d", packed[i]);
            SAY("%s\n", line);
            CHECK(pos == tsize, "packed %d bytes of %d", pos, tsize);
            CHECK(lb == 0 && extent == (MPI_Aint)(nglobal(c) * sizeof(int)),
                  "grid %d process %d: lb %ld extent %ld", k, p, (long)lb,
                  (long)extent);

            /* The envelope and the contents give the call back. */
            int ni, na, nd, comb;
            MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
            CHECK(comb == MPI_COMBINER_DARRAY && ni == 4 * c->ndims + 4
                      && na == 0 && nd == 1,
                  "envelope %d %d %d %d", comb, ni, na, nd);
            if (comb == MPI_COMBINER_DARRAY && ni <= 16) {
                int ints[16];
                MPI_Aint aints[1];
                MPI_Datatype old;
                MPI_Type_get_contents(t, ni, 0, 1, ints, aints, &old);
                int nd_ = c->ndims;
                CHECK(ints[0] == np && ints[1] == p && ints[2] == nd_
                          && ints[3 + 4 * nd_] == c->order && old == MPI_INT,
                      "contents head");
                for (int d = 0; d < nd_; d++)
                    CHECK(ints[3 + d] == c->gsizes[d]
                              && ints[3 + nd_ + d] == c->distribs[d]
                              && ints[3 + 2 * nd_ + d] == c->dargs[d]
                              && ints[3 + 3 * nd_ + d] == c->psizes[d],
                          "contents of dimension %d", d);
            }
            /* external32 selects the same elements (big-endian). */
            MPI_Aint epos = 0;
            MPI_Pack_external("external32", global, 1, t, ext, sizeof(ext),
                              &epos);
            CHECK(epos == tsize, "external32 packed %ld", (long)epos);
            for (int i = 0; i < n; i++) {
                unsigned char *b = (unsigned char *)&ext[i];
                int v = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
                CHECK(v == packed[i], "external32 [%d]: %d", i, v);
            }
            MPI_Type_free(&t);
        }
        CHECK(covered == nglobal(c), "grid %d covers %d of %d elements", k,
              covered, nglobal(c));
    }

    /* Grids of the world's size: each rank's part travels as the darray
     * type and arrives as contiguous ints, at itself and at rank 0. */
    int dims[2] = {0, 0};
    MPI_Dims_create(size, 2, dims);
    int gs[2] = {2 * dims[0] + 1, 3 * dims[1]};
    int dist[2] = {C, B}, darg[2] = {2, D};
    MPI_Datatype mine;
    MPI_Type_create_darray(size, rank, 2, gs, dist, darg, dims, MPI_ORDER_C,
                           MPI_INT, &mine);
    MPI_Type_commit(&mine);
    int msize, self[256], pk[256], pos = 0;
    MPI_Type_size(mine, &msize);
    MPI_Pack(global, 1, mine, pk, sizeof(pk), &pos, MPI_COMM_WORLD);
    MPI_Sendrecv(global, 1, mine, rank, 5, self, 256, MPI_INT, rank, 5,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    CHECK(memcmp(self, pk, (size_t)msize) == 0, "sent to itself");
    MPI_Request req;
    MPI_Isend(global, 1, mine, 0, 6, MPI_COMM_WORLD, &req);
    if (rank == 0) {
        int total = 0;
        for (int r = 0; r < size; r++) {
            int got[256], cnt;
            MPI_Status st;
            MPI_Recv(got, 256, MPI_INT, r, 6, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            total += cnt;
            MPI_Datatype t;
            MPI_Type_create_darray(size, r, 2, gs, dist, darg, dims,
                                   MPI_ORDER_C, MPI_INT, &t);
            MPI_Type_commit(&t);
            int want[256], p2 = 0;
            MPI_Pack(global, 1, t, want, sizeof(want), &p2, MPI_COMM_WORLD);
            CHECK(p2 == cnt * (int)sizeof(int)
                      && memcmp(want, got, (size_t)p2) == 0,
                  "rank %d's part", r);
            MPI_Type_free(&t);
        }
        CHECK(total == gs[0] * gs[1], "parts cover %d of %d", total,
              gs[0] * gs[1]);
    }
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    MPI_Type_free(&mine);
    SAY("each rank's part of a %dx%d array travels as its darray type\n", gs[0],
        gs[1]);
    return mtest_finalize();
}
