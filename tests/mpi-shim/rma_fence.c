/* SPDX-License-Identifier: MIT */
/* rma_fence.c - one-sided communication under MPI_Win_fence: put, get and
 * accumulate between every pair of ranks, derived datatypes at origin and
 * target, operations larger than one message, the fetching operations,
 * fence assertions, epochs that must not leak into each other, window
 * attributes, and the errors of calls outside their epoch or range. */
#include <string.h>

#include "mtest.h"

enum { N = 16, BIG = 100000 };

static int deleted;
static int handled, handled_class;

static void on_error(MPI_Win *win, int *code, ...)
{
    (void)win;
    handled++;
    MPI_Error_class(*code, &handled_class);
}

static int count_delete(MPI_Win win, int keyval, void *value, void *extra)
{
    (void)win;
    (void)keyval;
    (void)extra;
    deleted += *(int *)value;
    return MPI_SUCCESS;
}

static void attrs(MPI_Win w, void *base, MPI_Aint size, int unit, int flavor)
{
    void *b;
    MPI_Aint *s;
    int *u, *f, *m, flag;

    MPI_Win_get_attr(w, MPI_WIN_BASE, &b, &flag);
    CHECK(flag && b == base, "MPI_WIN_BASE %p, expected %p", b, base);
    MPI_Win_get_attr(w, MPI_WIN_SIZE, &s, &flag);
    CHECK(flag && *s == size, "MPI_WIN_SIZE %ld", (long)*s);
    MPI_Win_get_attr(w, MPI_WIN_DISP_UNIT, &u, &flag);
    CHECK(flag && *u == unit, "MPI_WIN_DISP_UNIT %d", *u);
    MPI_Win_get_attr(w, MPI_WIN_CREATE_FLAVOR, &f, &flag);
    CHECK(flag && *f == flavor, "MPI_WIN_CREATE_FLAVOR %d", *f);
    MPI_Win_get_attr(w, MPI_WIN_MODEL, &m, &flag);
    CHECK(flag && (*m == MPI_WIN_UNIFIED || *m == MPI_WIN_SEPARATE),
          "MPI_WIN_MODEL %d", *m);
}

int main(int argc, char **argv)
{
    int me, np;
    MPI_Win w;
    int *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    /* Room for N ints per rank, and at least three blocks of N. */
    int nw = N * (np < 3 ? 3 : np);

    /* Put every rank's id into slot [me] of every rank, read it back. */
    MPI_Win_allocate((MPI_Aint)(nw * sizeof(int)), sizeof(int), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &buf, &w);
    attrs(w, buf, (MPI_Aint)(nw * sizeof(int)), sizeof(int),
          MPI_WIN_FLAVOR_ALLOCATE);
    for (int i = 0; i < nw; i++)
        buf[i] = -1;
    MPI_Win_fence(MPI_MODE_NOPRECEDE, w);
    int mine[N];
    for (int i = 0; i < N; i++)
        mine[i] = me * 1000 + i;
    for (int t = 0; t < np; t++)
        MPI_Put(mine, N, MPI_INT, t, me * N, N, MPI_INT, w);
    MPI_Win_fence(0, w);
    for (int r = 0; r < np; r++)
        for (int i = 0; i < N; i++)
            CHECK(buf[r * N + i] == r * 1000 + i, "put: slot %d.%d = %d", r, i,
                  buf[r * N + i]);
    int *got = malloc(sizeof(int) * N * np);
    int src = (me + 1) % np;
    MPI_Get(got, N * np, MPI_INT, src, 0, N * np, MPI_INT, w);
    MPI_Win_fence(0, w);
    for (int i = 0; i < N * np; i++)
        CHECK(got[i] == (i / N) * 1000 + i % N, "get from %d: %d = %d", src, i,
              got[i]);
    SAY("put and get between all pairs\n");

    /* Epochs do not leak: values written in one epoch are read whole in
     * the next; a get in the same epoch as a local store of the target
     * before the fence sees the store. */
    buf[0] = 7000 + me;
    MPI_Win_fence(0, w);
    int v = -1;
    MPI_Get(&v, 1, MPI_INT, src, 0, 1, MPI_INT, w);
    MPI_Win_fence(0, w);
    CHECK(v == 7000 + src, "local store before fence seen: %d", v);
    SAY("fence orders local stores and remote reads\n");

    /* Accumulate: every rank adds to rank 0, with several ops. */
    for (int i = 0; i < nw; i++)
        buf[i] = 1;
    MPI_Win_fence(0, w);
    int ones[N];
    for (int i = 0; i < N; i++)
        ones[i] = me + 1;
    MPI_Accumulate(ones, N, MPI_INT, 0, 0, N, MPI_INT, MPI_SUM, w);
    MPI_Accumulate(ones, N, MPI_INT, 0, N, N, MPI_INT, MPI_MAX, w);
    MPI_Accumulate(ones, N, MPI_INT, 0, 2 * N, N, MPI_INT, MPI_PROD, w);
    MPI_Win_fence(0, w);
    if (me == 0) {
        int sum = 1, prod = 1;
        for (int r = 0; r < np; r++) {
            sum += r + 1;
            prod *= r + 1;
        }
        for (int i = 0; i < N; i++) {
            CHECK(buf[i] == sum, "accumulate sum %d, expected %d", buf[i], sum);
            CHECK(buf[N + i] == np, "accumulate max %d", buf[N + i]);
            CHECK(buf[2 * N + i] == prod, "accumulate prod %d", buf[2 * N + i]);
        }
    }
    SAY("accumulate sum, max, prod\n");

    /* Fetch_and_op and Get_accumulate: the values fetched are distinct
     * and their sum is what the counter saw. */
    buf[0] = 0;
    MPI_Win_fence(0, w);
    int inc = 1, old = -1;
    MPI_Fetch_and_op(&inc, &old, MPI_INT, 0, 0, MPI_SUM, w);
    MPI_Win_fence(0, w);
    int *olds = malloc(sizeof(int) * np);
    MPI_Gather(&old, 1, MPI_INT, olds, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (me == 0) {
        CHECK(buf[0] == np, "fetch_and_op counter %d", buf[0]);
        for (int r = 0; r < np; r++)
            for (int q = r + 1; q < np; q++)
                CHECK(olds[r] != olds[q], "ranks %d and %d both fetched %d", r,
                      q, olds[r]);
    }
    int res[N];
    MPI_Get_accumulate(ones, N, MPI_INT, res, N, MPI_INT, src, N, N, MPI_INT,
                       MPI_NO_OP, w);
    MPI_Win_fence(0, w);
    MPI_Win_fence(0, w);
    SAY("fetch_and_op and get_accumulate\n");

    /* Compare_and_swap: only one rank wins the slot. */
    buf[1] = -1;
    MPI_Win_fence(0, w);
    int cmp = -1, prev = 0;
    MPI_Compare_and_swap(&me, &cmp, &prev, MPI_INT, 0, 1, w);
    MPI_Win_fence(0, w);
    int won = prev == -1, nwon = 0;
    MPI_Allreduce(&won, &nwon, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(nwon == 1, "compare_and_swap: %d winners", nwon);
    if (me == 0)
        CHECK(buf[1] >= 0 && buf[1] < np, "compare_and_swap left %d", buf[1]);
    SAY("compare_and_swap elects one rank\n");

    /* Derived target type: every other int of the target, from a
     * contiguous origin; then back into a strided origin. */
    MPI_Datatype vec;
    MPI_Type_vector(N / 2, 1, 2, MPI_INT, &vec);
    MPI_Type_commit(&vec);
    for (int i = 0; i < nw; i++)
        buf[i] = 0;
    MPI_Win_fence(0, w);
    int half[N / 2];
    for (int i = 0; i < N / 2; i++)
        half[i] = 100 + i;
    MPI_Put(half, N / 2, MPI_INT, src, 0, 1, vec, w);
    MPI_Win_fence(0, w);
    for (int i = 0; i < N; i++)
        CHECK(buf[i] == (i % 2 ? 0 : 100 + i / 2), "vector put: %d = %d", i,
              buf[i]);
    /* Local reads of the window end before others may update it. */
    MPI_Win_fence(0, w);
    int strided[N];
    memset(strided, 0, sizeof(strided));
    MPI_Get(strided, 1, vec, src, 0, 1, vec, w);
    MPI_Accumulate(half, N / 2, MPI_INT, src, 1, 1, vec, MPI_SUM, w);
    MPI_Win_fence(0, w);
    for (int i = 0; i < N; i++) {
        CHECK(strided[i] == (i % 2 ? 0 : 100 + i / 2), "vector get: %d = %d", i,
              strided[i]);
        CHECK(buf[i] == 100 + i / 2, "vector accumulate: %d = %d", i, buf[i]);
    }
    MPI_Type_free(&vec);
    SAY("derived datatypes at origin and target\n");
    MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
    MPI_Win_free(&w);
    CHECK(w == MPI_WIN_NULL, "MPI_Win_free leaves MPI_WIN_NULL");

    /* A window on user memory, larger than one message, byte units. */
    double *big = malloc(sizeof(double) * BIG);
    double *back = malloc(sizeof(double) * BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = -1;
    MPI_Win_create(big, (MPI_Aint)(sizeof(double) * BIG), 1, MPI_INFO_NULL,
                   MPI_COMM_WORLD, &w);
    attrs(w, big, (MPI_Aint)(sizeof(double) * BIG), 1, MPI_WIN_FLAVOR_CREATE);
    MPI_Group g, wg;
    int cmpg;
    MPI_Win_get_group(w, &g);
    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_compare(g, wg, &cmpg);
    CHECK(cmpg == MPI_IDENT, "window group compares %d", cmpg);
    MPI_Group_free(&g);
    MPI_Group_free(&wg);
    for (int i = 0; i < BIG; i++)
        back[i] = me + i * 0.5;
    MPI_Win_fence(0, w);
    int dst = (me + np - 1) % np;
    MPI_Put(back, BIG, MPI_DOUBLE, dst, 0, BIG, MPI_DOUBLE, w);
    MPI_Win_fence(0, w);
    int from = (me + 1) % np, bad = 0;
    for (int i = 0; i < BIG; i++)
        bad += big[i] != from + i * 0.5;
    CHECK(bad == 0, "large put: %d wrong of %d", bad, BIG);
    memset(back, 0, sizeof(double) * BIG);
    MPI_Get(back, BIG, MPI_DOUBLE, from, 0, BIG, MPI_DOUBLE, w);
    MPI_Win_fence(0, w);
    bad = 0;
    for (int i = 0; i < BIG; i++)
        bad += back[i] != ((from + 1) % np) + i * 0.5;
    CHECK(bad == 0, "large get: %d wrong of %d", bad, BIG);
    MPI_Accumulate(back, BIG, MPI_DOUBLE, from, 0, BIG, MPI_DOUBLE, MPI_SUM, w);
    MPI_Win_fence(0, w);
    bad = 0;
    for (int i = 0; i < BIG; i++)
        bad += big[i] != 2 * (from + i * 0.5);
    CHECK(bad == 0, "large accumulate: %d wrong of %d", bad, BIG);
    SAY("operations larger than one message\n");

    /* Errors: outside an epoch, outside the window, a bad lock type. */
    MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
    MPI_Win_set_errhandler(w, MPI_ERRORS_RETURN);
    int err, cls;
    err = MPI_Put(back, 1, MPI_DOUBLE, 0, 0, 1, MPI_DOUBLE, w);
    MPI_Error_class(err, &cls);
    CHECK(cls == MPI_ERR_RMA_SYNC, "put outside an epoch: class %d", cls);
    MPI_Win_fence(0, w);
    err = MPI_Put(back, 2, MPI_DOUBLE, 0, (MPI_Aint)(sizeof(double) * BIG) - 8,
                  2, MPI_DOUBLE, w);
    MPI_Error_class(err, &cls);
    CHECK(cls == MPI_ERR_RMA_RANGE, "put past the window: class %d", cls);
    err = MPI_Win_lock(12345, 0, 0, w);
    MPI_Error_class(err, &cls);
    CHECK(cls == MPI_ERR_LOCKTYPE || cls == MPI_ERR_RMA_SYNC,
          "bad lock type: class %d", cls);
    MPI_Win_fence(MPI_MODE_NOSUCCEED, w);
    SAY("errors outside an epoch and the window\n");

    /* A user error handler on the window: called by the library and by
     * MPI_Win_call_errhandler, with the error's class. */
    MPI_Errhandler eh, got_eh;
    MPI_Win_create_errhandler(on_error, &eh);
    MPI_Win_set_errhandler(w, eh);
    MPI_Win_get_errhandler(w, &got_eh);
    CHECK(got_eh == eh, "MPI_Win_get_errhandler gives the handler set");
    MPI_Put(back, 1, MPI_DOUBLE, 0, 0, 1, MPI_DOUBLE, w);
    CHECK(handled == 1 && handled_class == MPI_ERR_RMA_SYNC,
          "handler after a put outside an epoch: %d calls, class %d", handled,
          handled_class);
    MPI_Win_call_errhandler(w, MPI_ERR_OTHER);
    CHECK(handled == 2 && handled_class == MPI_ERR_OTHER,
          "MPI_Win_call_errhandler: %d calls, class %d", handled,
          handled_class);
    MPI_Win_set_errhandler(w, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&eh);
    SAY("window error handlers\n");
    char name[MPI_MAX_OBJECT_NAME];
    int len;
    /* Hints are accepted; the info in use is a new object. */
    MPI_Info info, used;
    int nkeys = -1;
    MPI_Info_create(&info);
    MPI_Info_set(info, "no_locks", "false");
    MPI_Win_set_info(w, info);
    MPI_Win_get_info(w, &used);
    CHECK(used != MPI_INFO_NULL && used != info, "MPI_Win_get_info object");
    MPI_Info_get_nkeys(used, &nkeys);
    CHECK(nkeys >= 0, "MPI_Win_get_info keys %d", nkeys);
    MPI_Info_free(&used);
    MPI_Info_free(&info);
    MPI_Win_set_name(w, "big window");
    MPI_Win_get_name(w, name, &len);
    CHECK(strcmp(name, "big window") == 0 && len == 10, "window name '%s'",
          name);
    /* User attributes: the delete callback runs on delete, on replace
     * and when the window is freed. */
    int kv, one = 1, ten = 10, *val, flag;
    MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, count_delete, &kv, NULL);
    MPI_Win_set_attr(w, kv, &one);
    MPI_Win_get_attr(w, kv, &val, &flag);
    CHECK(flag && val == &one, "user attribute: flag %d", flag);
    MPI_Win_delete_attr(w, kv);
    MPI_Win_get_attr(w, kv, &val, &flag);
    CHECK(!flag && deleted == 1, "deleted attribute: flag %d, %d deleted", flag,
          deleted);
    MPI_Win_set_attr(w, kv, &one);
    MPI_Win_set_attr(w, kv, &ten);
    CHECK(deleted == 2, "replaced attribute: %d deleted", deleted);
    MPI_Win_free_keyval(&kv);
    CHECK(kv == MPI_KEYVAL_INVALID, "freed keyval %d", kv);
    MPI_Win_free(&w);
    CHECK(deleted == 12, "window freed: %d deleted", deleted);
    SAY("window attributes with user keyvals\n");
    free(big);
    free(back);
    free(got);
    free(olds);
    return mtest_finalize();
}
