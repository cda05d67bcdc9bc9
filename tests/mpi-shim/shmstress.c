/* SPDX-License-Identifier: MIT */
/* shmstress.c - stress of the two transports together: many small
 * messages from every rank to every rank, received through windows of
 * wildcard receives (MPI_ANY_SOURCE, MPI_ANY_TAG) mixed with specific
 * ones, synchronous sends and probes, checking MPI's per-source order;
 * then messages at and around the on-node transport's switch points
 * (cell payload, rendezvous threshold), expected and unexpected, standard
 * and synchronous. Run as "N/block:2" the ranks of one "node" talk
 * through shared memory and the others through libfabric, in one job. */
#include <string.h>

#include "mtest.h"

enum { PER_PEER = 400, WINDOW = 8, NTAGS = 7 };

static void small_messages(int rank, int size)
{
    int total = PER_PEER * (size - 1);
    int *next = calloc((size_t)size, sizeof(int));
    int(*in)[2] = malloc(sizeof(int[2]) * WINDOW);
    int(*out)[2] = malloc(sizeof(int[2]) * (size_t)total);
    MPI_Request *sreq = malloc(sizeof(MPI_Request) * (size_t)total);
    MPI_Request rreq[WINDOW];
    MPI_Status st[WINDOW];
    int ns = 0, got = 0;

    /* Sends go out round robin over the peers, every tenth synchronous. */
    for (int k = 0; k < PER_PEER; k++)
        for (int d = 1; d < size; d++) {
            int dest = (rank + d) % size;
            out[ns][0] = rank;
            out[ns][1] = k;
            if (k % 10 == 3)
                MPI_Issend(out[ns], 2, MPI_INT, dest, k % NTAGS, MPI_COMM_WORLD,
                           &sreq[ns]);
            else
                MPI_Isend(out[ns], 2, MPI_INT, dest, k % NTAGS, MPI_COMM_WORLD,
                          &sreq[ns]);
            ns++;
            /* Receive as we go, so unexpected and posted both happen. */
            if (ns % 64 == 0 && got < total) {
                int flag;
                MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag,
                           MPI_STATUS_IGNORE);
            }
        }
    while (got < total) {
        int n = total - got < WINDOW ? total - got : WINDOW;
        for (int i = 0; i < n; i++) {
            /* One receive in four names its source, the rank after this
             * one, while that rank has more messages left than receives
             * posted in this window (so none can starve). */
            int src = MPI_ANY_SOURCE;
            int after = (rank + 1) % size;
            if ((got + i) % 4 == 1 && after != rank
                && PER_PEER - next[after] > i)
                src = after;
            MPI_Irecv(in[i], 2, MPI_INT, src, MPI_ANY_TAG, MPI_COMM_WORLD,
                      &rreq[i]);
        }
        MPI_Waitall(n, rreq, st);
        /* Receives match in posting order: per source, the sequence
         * numbers must come in order. */
        for (int i = 0; i < n; i++) {
            int s = in[i][0], k = in[i][1];
            CHECK(st[i].MPI_SOURCE == s, "source %d carries %d",
                  st[i].MPI_SOURCE, s);
            CHECK(st[i].MPI_TAG == k % NTAGS, "tag %d for seq %d",
                  st[i].MPI_TAG, k);
            CHECK(k == next[s], "from %d: seq %d, expected %d", s, k, next[s]);
            next[s] = k + 1;
        }
        got += n;
    }
    MPI_Waitall(ns, sreq, MPI_STATUSES_IGNORE);
    for (int s = 0; s < size; s++)
        CHECK(s == rank || next[s] == PER_PEER, "from %d: %d messages", s,
              next[s]);
    free(next);
    free(in);
    free(out);
    free(sreq);
}

static void fill(unsigned char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 7 + (size_t)seed);
}

static int check_fill(const unsigned char *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(i * 7 + (size_t)seed))
            return (int)i;
    return -1;
}

/* Every size is sent to the next rank and received from the previous
 * one, posted first, then unexpected, then synchronous. */
static void switch_points(int rank, int size)
{
    /* shoal's cells hold 16 KiB - 64 B of payload; messages above 64 KiB
     * go by rendezvous when the kernel allows it. */
    static const size_t sizes[] = {
        0,     1,     16319, 16320,  16321,   32640,   32641,   65535,
        65536, 65537, 81600, 262143, 1048576, 1048579, 4194304,
    };
    size_t max = 4194304;
    unsigned char *sb = malloc(max), *rb = malloc(max);
    int to = (rank + 1) % size, from = (rank + size - 1) % size;

    for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        for (int mode = 0; mode < 3; mode++) {
            MPI_Request r[2];
            MPI_Status st;
            int cnt;
            fill(sb, n, rank + (int)k + mode);
            memset(rb, 0xee, n);
            if (mode == 0) { /* posted before the message comes */
                MPI_Irecv(rb, (int)n, MPI_BYTE, from, mode, MPI_COMM_WORLD,
                          &r[0]);
                MPI_Barrier(MPI_COMM_WORLD);
                MPI_Isend(sb, (int)n, MPI_BYTE, to, mode, MPI_COMM_WORLD,
                          &r[1]);
            } else { /* unexpected: sent before the receive */
                if (mode == 1)
                    MPI_Isend(sb, (int)n, MPI_BYTE, to, mode, MPI_COMM_WORLD,
                              &r[1]);
                else
                    MPI_Issend(sb, (int)n, MPI_BYTE, to, mode, MPI_COMM_WORLD,
                               &r[1]);
                MPI_Barrier(MPI_COMM_WORLD);
                MPI_Irecv(rb, (int)n, MPI_BYTE,
                          mode == 2 ? MPI_ANY_SOURCE : from, mode,
                          MPI_COMM_WORLD, &r[0]);
            }
            MPI_Wait(&r[0], &st);
            MPI_Wait(&r[1], MPI_STATUS_IGNORE);
            MPI_Get_count(&st, MPI_BYTE, &cnt);
            CHECK(cnt == (int)n, "size %zu mode %d: count %d", n, mode, cnt);
            CHECK(st.MPI_SOURCE == from, "size %zu mode %d: source %d", n, mode,
                  st.MPI_SOURCE);
            int bad = check_fill(rb, n, from + (int)k + mode);
            CHECK(bad < 0, "size %zu mode %d: byte %d differs", n, mode, bad);
        }
    }
    free(sb);
    free(rb);
}

/* Probe and matched probe from any source, then the receive. */
static void probes(int rank, int size)
{
    if (rank != 0) {
        int v[64];
        for (int i = 0; i < 64; i++)
            v[i] = rank;
        MPI_Send(v, rank % 64 + 1, MPI_INT, 0, 5, MPI_COMM_WORLD);
        MPI_Send(v, 64, MPI_INT, 0, 6, MPI_COMM_WORLD);
    } else {
        for (int i = 1; i < size; i++) {
            MPI_Status st;
            MPI_Message msg;
            int cnt, v[64];
            MPI_Mprobe(MPI_ANY_SOURCE, 5, MPI_COMM_WORLD, &msg, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            CHECK(cnt == st.MPI_SOURCE % 64 + 1, "mprobe count %d from %d", cnt,
                  st.MPI_SOURCE);
            MPI_Mrecv(v, 64, MPI_INT, &msg, &st);
            CHECK(v[0] == st.MPI_SOURCE, "mrecv %d from %d", v[0],
                  st.MPI_SOURCE);
        }
        for (int i = 1; i < size; i++) {
            MPI_Status st;
            int v[64];
            MPI_Probe(MPI_ANY_SOURCE, 6, MPI_COMM_WORLD, &st);
            MPI_Recv(v, 64, MPI_INT, st.MPI_SOURCE, 6, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            CHECK(v[63] == st.MPI_SOURCE, "probe %d from %d", v[63],
                  st.MPI_SOURCE);
        }
    }
}

int main(int argc, char **argv)
{
    int rank, size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    SAY("shmstress on %d ranks\n", size);
    if (size > 1) {
        small_messages(rank, size);
        MPI_Barrier(MPI_COMM_WORLD);
        SAY("small messages done\n");
        switch_points(rank, size);
        SAY("switch points done\n");
        probes(rank, size);
    }
    return mtest_finalize();
}
