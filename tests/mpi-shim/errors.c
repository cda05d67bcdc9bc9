/* SPDX-License-Identifier: MIT */
/* errors.c - MPI_ERRORS_RETURN: truncation gives MPI_ERR_TRUNCATE and the
 * bytes that fit; bad arguments give their error classes, not a crash. */
#include <string.h>

#include "mtest.h"

static int handler_calls, handler_class;

static void count_errors(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    handler_calls++;
    MPI_Error_class(*code, &handler_class);
}

static int cls(int code)
{
    int c;
    MPI_Error_class(code, &c);
    return c;
}

int main(int argc, char **argv)
{
    int rank, size, rc;
    MPI_Status st;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Errhandler eh;
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh);
    CHECK(eh == MPI_ERRORS_RETURN, "errhandler not set");
    SAY("errors on %d ranks\n", size);

    /* Truncation, eager and rendezvous, blocking and nonblocking; then a
     * normal message on the same pair must still arrive. */
    int lens[] = {8, 1000, 100000};
    for (int k = 0; k < 3 && size > 1; k++) {
        int n = lens[k];
        int *b = malloc(sizeof(int) * n);
        if (rank == 0) {
            for (int i = 0; i < n; i++)
                b[i] = i;
            MPI_Send(b, n, MPI_INT, 1, 1, MPI_COMM_WORLD);
            MPI_Send(b, n, MPI_INT, 1, 2, MPI_COMM_WORLD);
            MPI_Send(b, n, MPI_INT, 1, 3, MPI_COMM_WORLD);
        } else if (rank == 1) {
            rc = MPI_Recv(b, n / 2, MPI_INT, 0, 1, MPI_COMM_WORLD, &st);
            CHECK(cls(rc) == MPI_ERR_TRUNCATE, "len %d: class %d", n, cls(rc));
            MPI_Request r;
            MPI_Irecv(b, n / 4, MPI_INT, 0, 2, MPI_COMM_WORLD, &r);
            rc = MPI_Wait(&r, &st);
            CHECK(cls(rc) == MPI_ERR_TRUNCATE, "wait class %d", cls(rc));
            b[n - 1] = -1;
            rc = MPI_Recv(b, n, MPI_INT, 0, 3, MPI_COMM_WORLD, &st);
            CHECK(rc == MPI_SUCCESS && b[n - 1] == n - 1,
                  "len %d: message after truncation", n);
        }
        free(b);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Invalid arguments. */
    int v = 0;
    rc = MPI_Send(&v, 1, MPI_INT, size, 0, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_RANK, "bad rank class %d", cls(rc));
    rc = MPI_Send(&v, 1, MPI_INT, 0, -5, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_TAG, "bad tag class %d", cls(rc));
    rc = MPI_Send(&v, -1, MPI_INT, 0, 0, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_COUNT, "bad count class %d", cls(rc));
    rc = MPI_Send(&v, 1, MPI_DATATYPE_NULL, 0, 0, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_TYPE, "bad type class %d", cls(rc));
    rc = MPI_Bcast(&v, 1, MPI_INT, size + 3, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_ROOT, "bad root class %d", cls(rc));
    rc = MPI_Allreduce(&v, &v, 1, MPI_INT, MPI_OP_NULL, MPI_COMM_WORLD);
    CHECK(cls(rc) == MPI_ERR_OP, "bad op class %d", cls(rc));
    MPI_Request nr = MPI_REQUEST_NULL;
    rc = MPI_Wait(&nr, &st);
    CHECK(rc == MPI_SUCCESS, "wait on null request %d", rc);

    /* The communicator handle is checked before anything else. */
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(MPI_ERR_TRUNCATE, s, &len);
    CHECK(len > 0 && (int)strlen(s) == len, "error string");

    /* A user error handler is called with the error class. */
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    rc = MPI_Send(&v, 1, MPI_INT, size + 1, 0, dup);
    CHECK(cls(rc) == MPI_ERR_RANK, "dup inherits errors-return: %d", cls(rc));
    /* A user error handler is called once, with the error's class. */
    MPI_Errhandler mine;
    MPI_Comm_create_errhandler(count_errors, &mine);
    MPI_Comm_set_errhandler(dup, mine);
    MPI_Send(&v, 1, MPI_INT, 0, -1, dup);
    CHECK(handler_calls == 1 && handler_class == MPI_ERR_TAG,
          "handler called %d times with class %d", handler_calls,
          handler_class);
    MPI_Errhandler_free(&mine);
    MPI_Comm_free(&dup);
    SAY("errors done\n");
    return mtest_finalize();
}
