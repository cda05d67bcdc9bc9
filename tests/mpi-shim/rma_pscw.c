/* SPDX-License-Identifier: MIT */
/* rma_pscw.c - general active-target synchronization and the window
 * flavors beyond create and allocate: post/start/complete/wait on a ring
 * and among all ranks, MPI_Win_test, MPI_MODE_NOCHECK on post and start,
 * many fence epochs in a row each seeing only its own writes, dynamic
 * windows with attach/detach and MPI_Get_address displacements, and
 * shared windows with direct loads and stores (MPI_ERR_RMA_SHARED when
 * the window's ranks are not on one node). */
#include <string.h>

#include "mtest.h"

enum { EPOCHS = 20 };

static MPI_Group group_of(const int *ranks, int n)
{
    MPI_Group world, g;
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    MPI_Group_incl(world, n, ranks, &g);
    MPI_Group_free(&world);
    return g;
}

int main(int argc, char **argv)
{
    int me, np;
    MPI_Win w;
    int *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    int right = (me + 1) % np, left = (me + np - 1) % np;
    MPI_Win_allocate((MPI_Aint)(np * sizeof(int)), sizeof(int), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &buf, &w);
    for (int i = 0; i < np; i++)
        buf[i] = -1;
    MPI_Barrier(MPI_COMM_WORLD);

    /* A ring: expose to the left neighbour, access the right one. */
    MPI_Group gl = group_of(&left, 1), gr = group_of(&right, 1);
    for (int round = 0; round < 5; round++) {
        MPI_Win_post(gl, 0, w);
        MPI_Win_start(gr, 0, w);
        int v = round * 100 + me;
        MPI_Put(&v, 1, MPI_INT, right, 0, 1, MPI_INT, w);
        MPI_Win_complete(w);
        MPI_Win_wait(w);
        CHECK(buf[0] == round * 100 + left, "ring round %d: %d", round, buf[0]);
    }
    SAY("post-start-complete-wait on a ring\n");

    /* Everyone to everyone, the target polling with MPI_Win_test. */
    int *all = malloc(sizeof(int) * np);
    for (int i = 0; i < np; i++)
        all[i] = i;
    MPI_Group ga = group_of(all, np);
    MPI_Win_post(ga, 0, w);
    MPI_Win_start(ga, 0, w);
    int v = 10 * me;
    for (int t = 0; t < np; t++)
        MPI_Put(&v, 1, MPI_INT, t, me, 1, MPI_INT, w);
    MPI_Win_complete(w);
    int flag = 0;
    while (!flag)
        MPI_Win_test(w, &flag);
    for (int r = 0; r < np; r++)
        CHECK(buf[r] == 10 * r, "all-to-all: slot %d = %d", r, buf[r]);
    SAY("post-start-complete-test among all ranks\n");

    /* NOCHECK: the posts are known complete (a barrier) before starts. */
    MPI_Win_post(gl, MPI_MODE_NOCHECK, w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_start(gr, MPI_MODE_NOCHECK, w);
    v = 4000 + me;
    MPI_Put(&v, 1, MPI_INT, right, 0, 1, MPI_INT, w);
    MPI_Win_complete(w);
    MPI_Win_wait(w);
    CHECK(buf[0] == 4000 + left, "NOCHECK epoch: %d", buf[0]);
    SAY("post and start with MPI_MODE_NOCHECK\n");
    MPI_Group_free(&gl);
    MPI_Group_free(&gr);
    MPI_Group_free(&ga);

    /* Many fence epochs: each writes its number, the next reads it. */
    MPI_Win_fence(MPI_MODE_NOPRECEDE, w);
    for (int e = 0; e < EPOCHS; e++) {
        int x = e * 1000 + me, y = -1;
        MPI_Put(&x, 1, MPI_INT, right, 0, 1, MPI_INT, w);
        MPI_Win_fence(0, w);
        MPI_Get(&y, 1, MPI_INT, right, 0, 1, MPI_INT, w);
        MPI_Win_fence(0, w);
        CHECK(y == e * 1000 + me, "epoch %d read back %d", e, y);
        CHECK(buf[0] == e * 1000 + left, "epoch %d local %d", e, buf[0]);
        MPI_Win_fence(MPI_MODE_NOSTORE | MPI_MODE_NOPUT, w);
    }
    MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
    SAY("fence epochs in a row\n");
    MPI_Win_free(&w);

    /* Dynamic window: attach two regions, publish their addresses. */
    MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &w);
    int *ra = calloc(8, sizeof(int)), *rb = calloc(8, sizeof(int));
    MPI_Win_attach(w, ra, 8 * sizeof(int));
    MPI_Win_attach(w, rb, 8 * sizeof(int));
    MPI_Aint mine[2], *addrs = malloc(sizeof(MPI_Aint) * 2 * np);
    MPI_Get_address(ra, &mine[0]);
    MPI_Get_address(&rb[4], &mine[1]);
    MPI_Allgather(mine, 2, MPI_AINT, addrs, 2, MPI_AINT, MPI_COMM_WORLD);
    MPI_Win_lock_all(0, w);
    int pv[2] = {me + 1, -(me + 1)};
    MPI_Put(&pv[0], 1, MPI_INT, right, addrs[2 * right] + 3 * sizeof(int), 1,
            MPI_INT, w);
    MPI_Put(&pv[1], 1, MPI_INT, right, addrs[2 * right + 1], 1, MPI_INT, w);
    MPI_Win_flush_all(w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_sync(w);
    CHECK(ra[3] == left + 1 && rb[4] == -(left + 1), "dynamic window: %d %d",
          ra[3], rb[4]);
    int got = 0;
    MPI_Get(&got, 1, MPI_INT, left, addrs[2 * left + 1], 1, MPI_INT, w);
    MPI_Win_flush(left, w);
    CHECK(got == -(((left + np - 1) % np) + 1), "dynamic get: %d", got);
    MPI_Win_unlock_all(w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_detach(w, ra);
    MPI_Win_detach(w, rb);
    MPI_Win_set_errhandler(w, MPI_ERRORS_RETURN);
    int err = MPI_Win_detach(w, ra), cls = 0;
    MPI_Error_class(err, &cls);
    CHECK(err != MPI_SUCCESS, "detaching twice succeeded");
    MPI_Win_free(&w);
    free(ra);
    free(rb);
    free(addrs);
    SAY("dynamic windows with attach and detach\n");

    /* Shared windows among the ranks of a node. */
    MPI_Comm node;
    int nme, nn;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                        &node);
    MPI_Comm_rank(node, &nme);
    MPI_Comm_size(node, &nn);
    int *sh;
    MPI_Win_allocate_shared((MPI_Aint)(4 * sizeof(int)), sizeof(int),
                            MPI_INFO_NULL, node, &sh, &w);
    for (int i = 0; i < 4; i++)
        sh[i] = nme * 10 + i;
    MPI_Win_lock_all(0, w);
    MPI_Win_sync(w);
    MPI_Barrier(node);
    MPI_Win_sync(w);
    for (int r = 0; r < nn; r++) {
        MPI_Aint sz;
        int du, *p;
        MPI_Win_shared_query(w, r, &sz, &du, &p);
        CHECK(sz == 4 * sizeof(int) && du == sizeof(int), "query %d: %ld %d", r,
              (long)sz, du);
        for (int i = 0; i < 4; i++)
            CHECK(p[i] == r * 10 + i, "load of rank %d's [%d] = %d", r, i,
                  p[i]);
    }
    /* A store into the next rank's part, seen there. */
    MPI_Aint sz;
    int du, *p;
    MPI_Win_shared_query(w, (nme + 1) % nn, &sz, &du, &p);
    MPI_Barrier(node);
    p[0] = 777 + nme;
    MPI_Win_sync(w);
    MPI_Barrier(node);
    MPI_Win_sync(w);
    CHECK(sh[0] == 777 + (nme + nn - 1) % nn, "store from a peer: %d", sh[0]);
    MPI_Win_shared_query(w, MPI_PROC_NULL, &sz, &du, &p);
    CHECK(sz == 4 * sizeof(int), "MPI_PROC_NULL query size %ld", (long)sz);
    MPI_Win_unlock_all(w);
    MPI_Win_free(&w);
    SAY("shared windows with direct loads and stores\n");

    /* Across nodes a shared window is an error. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (nn < np) {
        err = MPI_Win_allocate_shared(4, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &sh,
                                      &w);
        MPI_Error_class(err, &cls);
        CHECK(cls == MPI_ERR_RMA_SHARED, "shared window across nodes: %d", cls);
    }
    MPI_Comm_free(&node);
    free(all);
    return mtest_finalize();
}
