/* SPDX-License-Identifier: MIT */
/* rma_lock.c - passive-target one-sided communication: exclusive locks
 * contended by every rank around a read-modify-write counter, shared
 * locks with accumulate, lock_all with flush (the data is at the target
 * before any unlock), a mutex built on MPI_Compare_and_swap, tickets from
 * MPI_Fetch_and_op, request-based put and get, MPI_MODE_NOCHECK and
 * flush_local. */
#include <string.h>

#include "mtest.h"

enum { ITERS = 40, SLOTS = 8 };

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Reads slot of rank target's window under a shared lock. */
static int read_slot(MPI_Win w, int target, int slot)
{
    int v = -1;
    MPI_Win_lock(MPI_LOCK_SHARED, target, 0, w);
    MPI_Get(&v, 1, MPI_INT, target, slot, 1, MPI_INT, w);
    MPI_Win_unlock(target, w);
    return v;
}

int main(int argc, char **argv)
{
    int me, np;
    MPI_Win w;
    int *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    int nslots = SLOTS + np;
    MPI_Win_allocate((MPI_Aint)(nslots * sizeof(int)), sizeof(int),
                     MPI_INFO_NULL, MPI_COMM_WORLD, &buf, &w);
    memset(buf, 0, nslots * sizeof(int));
    MPI_Barrier(MPI_COMM_WORLD);

    /* Exclusive locks: get, increment, put, never losing an update. */
    for (int i = 0; i < ITERS; i++) {
        int v;
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, w);
        MPI_Get(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, w);
        MPI_Win_flush(0, w);
        v++;
        MPI_Put(&v, 1, MPI_INT, 0, 0, 1, MPI_INT, w);
        MPI_Win_unlock(0, w);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    int c = read_slot(w, 0, 0);
    CHECK(c == np * ITERS, "exclusive-lock counter %d, expected %d", c,
          np * ITERS);
    SAY("exclusive locks serialize read-modify-write\n");

    /* Shared locks with accumulate. */
    int one = 1;
    for (int i = 0; i < ITERS; i++) {
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, w);
        MPI_Accumulate(&one, 1, MPI_INT, 0, 1, 1, MPI_INT, MPI_SUM, w);
        MPI_Win_unlock(0, w);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    c = read_slot(w, 0, 1);
    CHECK(c == np * ITERS, "shared-lock accumulate %d, expected %d", c,
          np * ITERS);
    SAY("shared locks with accumulate\n");

    /* lock_all and flush: values are at their targets after the flush,
     * while the epoch is still open. */
    MPI_Win_lock_all(0, w);
    int val = 500 + me;
    for (int t = 0; t < np; t++)
        MPI_Put(&val, 1, MPI_INT, t, SLOTS + me, 1, MPI_INT, w);
    MPI_Win_flush_all(w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_sync(w);
    for (int r = 0; r < np; r++)
        CHECK(buf[SLOTS + r] == 500 + r, "after flush_all: slot of %d = %d", r,
              buf[SLOTS + r]);
    MPI_Barrier(MPI_COMM_WORLD);
    /* Flush to one target, then tell it by a message. */
    int peer = (me + 1) % np;
    val = 900 + me;
    MPI_Put(&val, 1, MPI_INT, peer, SLOTS + me, 1, MPI_INT, w);
    MPI_Win_flush(peer, w);
    int token = 1, from = (me + np - 1) % np;
    MPI_Sendrecv_replace(&token, 1, MPI_INT, peer, 0, from, 0, MPI_COMM_WORLD,
                         MPI_STATUS_IGNORE);
    MPI_Win_sync(w);
    CHECK(buf[SLOTS + from] == 900 + from, "flush then message: %d",
          buf[SLOTS + from]);
    MPI_Win_unlock_all(w);
    MPI_Barrier(MPI_COMM_WORLD);
    SAY("flush completes operations before unlock\n");

    /* A mutex on compare-and-swap; its critical section uses plain get
     * and put on a counter. */
    MPI_Win_lock_all(0, w);
    for (int i = 0; i < ITERS / 4; i++) {
        int mine = me + 1, zero = 0, prev = -1;
        do {
            MPI_Compare_and_swap(&mine, &zero, &prev, MPI_INT, 0, 2, w);
            MPI_Win_flush(0, w);
        } while (prev != 0);
        int v;
        MPI_Get(&v, 1, MPI_INT, 0, 3, 1, MPI_INT, w);
        MPI_Win_flush(0, w);
        v++;
        MPI_Put(&v, 1, MPI_INT, 0, 3, 1, MPI_INT, w);
        MPI_Win_flush(0, w);
        MPI_Compare_and_swap(&zero, &mine, &prev, MPI_INT, 0, 2, w);
        MPI_Win_flush(0, w);
        CHECK(prev == mine, "mutex released by its holder: %d", prev);
    }
    MPI_Win_unlock_all(w);
    MPI_Barrier(MPI_COMM_WORLD);
    c = read_slot(w, 0, 3);
    CHECK(c == np * (ITERS / 4), "mutex counter %d, expected %d", c,
          np * (ITERS / 4));
    SAY("compare_and_swap mutex\n");

    /* Tickets: every fetch_and_op gets a distinct value. */
    int tickets[ITERS];
    MPI_Win_lock_all(0, w);
    for (int i = 0; i < ITERS; i++) {
        MPI_Fetch_and_op(&one, &tickets[i], MPI_INT, 0, 4, MPI_SUM, w);
        MPI_Win_flush_local(0, w);
    }
    MPI_Win_unlock_all(w);
    int *all = malloc(sizeof(int) * ITERS * np);
    MPI_Gather(tickets, ITERS, MPI_INT, all, ITERS, MPI_INT, 0, MPI_COMM_WORLD);
    if (me == 0) {
        qsort(all, (size_t)(ITERS * np), sizeof(int), cmp_int);
        for (int i = 0; i < ITERS * np; i++)
            CHECK(all[i] == i, "ticket %d is %d", i, all[i]);
    }
    free(all);
    SAY("fetch_and_op tickets are distinct\n");

    /* Request-based operations inside a lock epoch. */
    MPI_Request rq[2];
    int out = 4242 + me, in = -1;
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, peer, 0, w);
    MPI_Rput(&out, 1, MPI_INT, peer, 5, 1, MPI_INT, w, &rq[0]);
    MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
    MPI_Rget(&in, 1, MPI_INT, peer, 5, 1, MPI_INT, w, &rq[1]);
    MPI_Wait(&rq[1], MPI_STATUS_IGNORE);
    CHECK(in == out, "rget after rput: %d", in);
    int acc = 1, before = -1;
    MPI_Raccumulate(&acc, 1, MPI_INT, peer, 5, 1, MPI_INT, MPI_SUM, w, &rq[0]);
    MPI_Rget_accumulate(&acc, 1, MPI_INT, &before, 1, MPI_INT, peer, 5, 1,
                        MPI_INT, MPI_SUM, w, &rq[1]);
    MPI_Waitall(2, rq, MPI_STATUSES_IGNORE);
    CHECK(before == out + 1, "rget_accumulate saw %d", before);
    MPI_Win_unlock(peer, w);
    SAY("request-based operations\n");

    /* MPI_MODE_NOCHECK: no other lock is attempted in this phase. */
    MPI_Barrier(MPI_COMM_WORLD);
    val = 77 + me;
    MPI_Win_lock(MPI_LOCK_SHARED, peer, MPI_MODE_NOCHECK, w);
    MPI_Put(&val, 1, MPI_INT, peer, 6, 1, MPI_INT, w);
    MPI_Win_unlock(peer, w);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_sync(w);
    CHECK(buf[6] == 77 + from, "put under a NOCHECK lock: %d", buf[6]);
    MPI_Barrier(MPI_COMM_WORLD);
    SAY("lock with MPI_MODE_NOCHECK\n");

    MPI_Win_free(&w);
    return mtest_finalize();
}
