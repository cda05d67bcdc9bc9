/* SPDX-License-Identifier: MIT */
/* pmodes.c - persistent buffered and ready sends (MPI_Bsend_init,
 * MPI_Rsend_init) started several times around a ring, the buffered one
 * from an attached buffer it gives back each time; MPI_Get_elements_x
 * beside MPI_Get_elements and MPI_Get_count on a partly filled receive;
 * MPI_Pcontrol at several levels. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int to = (rank + 1) % size, from = (rank + size - 1) % size;
    CHECK(MPI_Pcontrol(0) == MPI_SUCCESS && MPI_Pcontrol(1) == MPI_SUCCESS
              && MPI_Pcontrol(2, "extra") == MPI_SUCCESS,
          "MPI_Pcontrol");

    /* Room for one message of 4 ints: each start must find it again. */
    int bsize = MPI_BSEND_OVERHEAD + 4 * (int)sizeof(int);
    char *attached = malloc((size_t)bsize);
    MPI_Buffer_attach(attached, bsize);
    int out[4], in[4];
    MPI_Request sreq;
    MPI_Bsend_init(out, 4, MPI_INT, to, 1, MPI_COMM_WORLD, &sreq);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 4; k++)
            out[k] = 1000 * round + 10 * rank + k;
        MPI_Start(&sreq);
        MPI_Wait(&sreq, MPI_STATUS_IGNORE);
        /* The data went into the attached buffer: out may change now. */
        for (int k = 0; k < 4; k++)
            out[k] = -1;
        MPI_Recv(in, 4, MPI_INT, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        for (int k = 0; k < 4; k++)
            CHECK(in[k] == 1000 * round + 10 * from + k,
                  "bsend_init round %d [%d]: %d", round, k, in[k]);
    }
    MPI_Request_free(&sreq);
    void *back;
    int backsize;
    MPI_Buffer_detach(&back, &backsize);
    CHECK(back == attached && backsize == bsize, "detached %d bytes", backsize);
    free(attached);
    SAY("persistent buffered sends around a ring of %d\n", size);

    /* Ready sends: the receive is posted before the barrier, the send
     * starts after it. */
    MPI_Request rreq;
    int rv = 0, got = -1;
    MPI_Rsend_init(&rv, 1, MPI_INT, to, 2, MPI_COMM_WORLD, &rreq);
    for (int round = 0; round < 3; round++) {
        MPI_Request recv;
        MPI_Irecv(&got, 1, MPI_INT, from, 2, MPI_COMM_WORLD, &recv);
        MPI_Barrier(MPI_COMM_WORLD);
        rv = 100 * round + rank;
        MPI_Start(&rreq);
        MPI_Wait(&rreq, MPI_STATUS_IGNORE);
        MPI_Wait(&recv, MPI_STATUS_IGNORE);
        CHECK(got == 100 * round + from, "rsend_init round %d: %d", round, got);
    }
    MPI_Request_free(&rreq);
    SAY("persistent ready sends\n");

    /* 5 ints into pairs of ints: 2.5 pairs. */
    MPI_Datatype pair;
    MPI_Type_contiguous(2, MPI_INT, &pair);
    MPI_Type_commit(&pair);
    int five[5] = {1, 2, 3, 4, 5}, recv6[6];
    MPI_Status st;
    MPI_Sendrecv(five, 5, MPI_INT, to, 3, recv6, 3, pair, from, 3,
                 MPI_COMM_WORLD, &st);
    int count, elems;
    MPI_Count elems_x;
    MPI_Get_count(&st, pair, &count);
    MPI_Get_elements(&st, pair, &elems);
    MPI_Get_elements_x(&st, pair, &elems_x);
    SAY("count %s, elements %d, elements_x %lld\n",
        count == MPI_UNDEFINED ? "undefined" : "defined", elems,
        (long long)elems_x);
    CHECK(count == MPI_UNDEFINED && elems == 5 && elems_x == 5,
          "count %d elements %d elements_x %lld", count, elems,
          (long long)elems_x);
    MPI_Get_elements_x(&st, MPI_INT, &elems_x);
    CHECK(elems_x == 5, "elements_x of MPI_INT %lld", (long long)elems_x);
    MPI_Type_free(&pair);
    return mtest_finalize();
}
