/* SPDX-License-Identifier: MIT */
/* wildcard.c - MPI_ANY_SOURCE and MPI_ANY_TAG, selective receives by tag
 * out of arrival order, and Probe/Iprobe before receiving. */
#include "mtest.h"

int main(int argc, char **argv)
{
    int rank, size;
    MPI_Status st;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("wildcard on %d ranks\n", size);

    /* Everybody sends (rank, tag=rank+10) to 0; 0 receives with wildcards. */
    if (rank == 0) {
        int seen = 0;
        for (int i = 1; i < size; i++) {
            int v;
            MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                     MPI_COMM_WORLD, &st);
            CHECK(v == st.MPI_SOURCE, "value %d from %d", v, st.MPI_SOURCE);
            CHECK(st.MPI_TAG == v + 10, "tag %d for %d", st.MPI_TAG, v);
            seen |= 1 << v;
        }
        CHECK(seen == ((1 << size) - 2), "seen mask %x", seen);
    } else {
        MPI_Send(&rank, 1, MPI_INT, 0, rank + 10, MPI_COMM_WORLD);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Tags received in the reverse order of sending. */
    if (size > 1) {
        if (rank == 1) {
            for (int t = 0; t < 5; t++)
                MPI_Send(&t, 1, MPI_INT, 0, t, MPI_COMM_WORLD);
        } else if (rank == 0) {
            for (int t = 4; t >= 0; t--) {
                int v;
                MPI_Recv(&v, 1, MPI_INT, 1, t, MPI_COMM_WORLD, &st);
                CHECK(v == t, "tag %d got %d", t, v);
            }
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Probe any source, then receive exactly what was probed. */
    if (rank != 0) {
        int buf[16];
        for (int i = 0; i < 16; i++)
            buf[i] = rank;
        MPI_Send(buf, rank, MPI_INT, 0, 77, MPI_COMM_WORLD);
    } else {
        for (int i = 1; i < size; i++) {
            int flag = 0, cnt;
            MPI_Probe(MPI_ANY_SOURCE, 77, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            CHECK(cnt == st.MPI_SOURCE, "probe count %d from %d", cnt,
                  st.MPI_SOURCE);
            MPI_Iprobe(st.MPI_SOURCE, 77, MPI_COMM_WORLD, &flag,
                       MPI_STATUS_IGNORE);
            CHECK(flag, "iprobe after probe found nothing");
            int buf[16] = {0};
            int src = st.MPI_SOURCE;
            MPI_Recv(buf, 16, MPI_INT, src, 77, MPI_COMM_WORLD, &st);
            CHECK(buf[0] == src && st.MPI_SOURCE == src, "probed recv");
        }
        int flag = 1;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag,
                   MPI_STATUS_IGNORE);
        CHECK(!flag, "iprobe found a message that was never sent");
    }
    return mtest_finalize();
}
