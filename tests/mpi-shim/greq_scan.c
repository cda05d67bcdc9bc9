/* SPDX-License-Identifier: MIT */
/* greq_scan.c - MPI_Iscan and MPI_Iexscan (overlapped, with a user op
 * too), and generalized requests: the query function fills the status
 * reported by MPI_Wait and MPI_Test, the free function runs once, the
 * cancel function learns whether the request had completed. */
#include "mtest.h"

static int queries, frees, cancels, cancel_complete = -1;

static int query_fn(void *extra, MPI_Status *status)
{
    queries++;
    status->MPI_SOURCE = *(int *)extra;
    status->MPI_TAG = 42;
    status->MPI_ERROR = MPI_SUCCESS;
    MPI_Status_set_elements(status, MPI_INT, 3);
    MPI_Status_set_cancelled(status, 0);
    return MPI_SUCCESS;
}

static int free_fn(void *extra)
{
    (void)extra;
    frees++;
    return MPI_SUCCESS;
}

static int cancel_fn(void *extra, int complete)
{
    (void)extra;
    cancels++;
    cancel_complete = complete;
    return MPI_SUCCESS;
}

static void max_abs(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    for (int i = 0; i < *len; i++) {
        int a = ((int *)in)[i], b = ((int *)inout)[i];
        ((int *)inout)[i] = (a < 0 ? -a : a) > (b < 0 ? -b : b) ? a : b;
    }
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    int v[2] = {rank + 1, (rank % 2 ? -1 : 1) * rank}, inc[2],
        exc[2] = {-7, -7};
    MPI_Request reqs[3];
    MPI_Op op;
    int m = -1;
    MPI_Op_create(max_abs, 1, &op);
    MPI_Iscan(v, inc, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &reqs[0]);
    MPI_Iexscan(v, exc, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &reqs[1]);
    MPI_Iscan(&v[1], &m, 1, MPI_INT, op, MPI_COMM_WORLD, &reqs[2]);
    MPI_Waitall(3, reqs, MPI_STATUSES_IGNORE);
    int s0 = 0, s1 = 0;
    for (int r = 0; r <= rank; r++) {
        s0 += r + 1;
        s1 += (r % 2 ? -1 : 1) * r;
    }
    CHECK(inc[0] == s0 && inc[1] == s1, "iscan %d %d, expected %d %d", inc[0],
          inc[1], s0, s1);
    if (rank > 0)
        CHECK(exc[0] == s0 - (rank + 1) && exc[1] == s1 - v[1], "iexscan %d %d",
              exc[0], exc[1]);
    CHECK(m == (rank % 2 ? -rank : rank), "iscan with a user op %d", m);
    MPI_Op_free(&op);
    SAY("iscan and iexscan\n");

    /* A generalized request completed before the wait. */
    MPI_Request g;
    MPI_Status st;
    int flag, count;
    MPI_Grequest_start(query_fn, free_fn, cancel_fn, &rank, &g);
    MPI_Test(&g, &flag, &st);
    CHECK(!flag && queries == 0, "incomplete request tested done");
    MPI_Grequest_complete(g);
    MPI_Wait(&g, &st);
    MPI_Get_count(&st, MPI_INT, &count);
    CHECK(g == MPI_REQUEST_NULL, "request not freed by MPI_Wait");
    CHECK(st.MPI_SOURCE == rank && st.MPI_TAG == 42 && count == 3,
          "status source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG, count);
    CHECK(queries == 1 && frees == 1, "%d queries %d frees", queries, frees);
    SAY("a generalized request reports its query's status\n");

    /* Cancelled before completion, then completed and tested. */
    MPI_Grequest_start(query_fn, free_fn, cancel_fn, &rank, &g);
    MPI_Cancel(&g);
    CHECK(cancels == 1 && cancel_complete == 0, "cancel %d complete %d",
          cancels, cancel_complete);
    MPI_Grequest_complete(g);
    do
        MPI_Test(&g, &flag, &st);
    while (!flag);
    CHECK(queries == 2 && frees == 2, "%d queries %d frees", queries, frees);
    SAY("cancel, complete and test\n");
    return mtest_finalize();
}
