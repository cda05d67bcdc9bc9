/* SPDX-License-Identifier: MIT */
/* pubsub: MPI_Publish_name, MPI_Lookup_name and MPI_Unpublish_name across
 * the job. Rank 0 and the last rank each publish a name; every rank looks
 * both up; a second publish of a name is refused; once unpublished, a name
 * is found no more, and a name never published is not found. Errors are
 * returned, not fatal. Prints " No Errors" from rank 0 when every check
 * held, else each failure and exits 1. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int errors;

static void check(int ok, int rank, const char *what)
{
    if (!ok) {
        printf("rank %d: %s\n", rank, what);
        errors++;
    }
}

static void expect_port(const char *service, const char *want, int rank)
{
    char port[MPI_MAX_PORT_NAME] = "";
    int rc = MPI_Lookup_name(service, MPI_INFO_NULL, port);

    check(rc == MPI_SUCCESS, rank, "lookup failed");
    check(rc != MPI_SUCCESS || strcmp(port, want) == 0, rank,
          "lookup found another port");
}

int main(int argc, char **argv)
{
    int rank, size, last, total, rc;
    char port[MPI_MAX_PORT_NAME];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    last = size - 1;
    if (rank == 0)
        check(MPI_Publish_name("shoal-first", MPI_INFO_NULL, "port-of-0")
                  == MPI_SUCCESS,
              rank, "publish failed");
    if (rank == last && last != 0)
        check(MPI_Publish_name("shoal-last", MPI_INFO_NULL, "port-of-last")
                  == MPI_SUCCESS,
              rank, "publish failed");
    MPI_Barrier(MPI_COMM_WORLD);
    expect_port("shoal-first", "port-of-0", rank);
    if (last != 0)
        expect_port("shoal-last", "port-of-last", rank);
    rc = MPI_Lookup_name("shoal-never", MPI_INFO_NULL, port);
    check(rc != MPI_SUCCESS, rank, "a name never published was found");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == last) {
        rc = MPI_Publish_name("shoal-first", MPI_INFO_NULL, "port-again");
        check(rc != MPI_SUCCESS, rank, "a second publish was taken");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        check(MPI_Unpublish_name("shoal-first", MPI_INFO_NULL, "port-of-0")
                  == MPI_SUCCESS,
              rank, "unpublish failed");
    if (rank == last && last != 0)
        check(MPI_Unpublish_name("shoal-last", MPI_INFO_NULL, "port-of-last")
                  == MPI_SUCCESS,
              rank, "unpublish failed");
    MPI_Barrier(MPI_COMM_WORLD);
    rc = MPI_Lookup_name("shoal-first", MPI_INFO_NULL, port);
    check(rc != MPI_SUCCESS, rank, "an unpublished name was found");
    MPI_Allreduce(&errors, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && total == 0)
        printf(" No Errors\n");
    MPI_Finalize();
    return total ? 1 : 0;
}
