/* SPDX-License-Identifier: MIT */
/* rma_private.h - what the one-sided modules of libmpi share.
 *
 *   win.c     window objects (create, allocate, shared, dynamic, free),
 *             their attributes, names, error handlers, and every
 *             synchronization call (fence, post-start-complete-wait,
 *             lock/unlock, flush, sync)
 *   rma.c     the origin side of Put, Get, Accumulate, Get_accumulate,
 *             Fetch_and_op, Compare_and_swap and their R forms: cutting an
 *             operation into active messages
 *   rma_am.c  the target side: the progress hook that receives active
 *             messages and applies them to the window's memory, the lock
 *             queue, the replies
 *
 * On a window allocated on one node every rank's memory is one shared
 * segment and operations are loads and stores (direct). Between nodes, when
 * the provider offers RMA, contiguous puts and gets go as fi_write and
 * fi_read into the target's registered memory (rma.c, "libfabric RMA"
 * below). Every other operation travels as an active message (AM) over the
 * shim's point-to-point layer (shim_isend/shim_irecv), on the collective
 * context of a communicator duplicated for the window alone, so no user
 * receive and no collective can ever match it, the checkpoint cut does not
 * count it, and it runs over whatever transport point-to-point runs over.
 * See mpi-shim/README.md, "One-sided communication", for why.
 *
 * Protocol. A request message has tag 0 and is at most RMA_AM_MAX bytes:
 * a struct rma_am_hdr, nseg struct rma_am_seg (where in the target's
 * window the bytes go, in order), then the data. Each target keeps one
 * receive posted for tag 0 from any source, and reposts it only after
 * the message has been applied, so messages are applied one at a time in
 * the order they matched; libfabric's FI_ORDER_SAS makes that the order
 * each origin sent them. Hence accumulates from one origin are applied in
 * program order, and element-wise atomicity holds because nothing else
 * applies accumulates to the window. A reply (data of a get, result of a
 * fetch, a lock grant, an acknowledgement) goes back with the tag the
 * request named, into a receive the origin posted before sending.
 *
 * Completion. Puts and accumulates copy the origin's data into their
 * message, so they are locally complete at once; gets complete when their
 * replies land. Remote completion: the target acknowledges FLUSH and
 * UNLOCK after applying everything that came before them; a fence sums
 * the messages every origin sent to each target (cumulative counters,
 * MPI_Reduce_scatter_block) and each target waits until it has applied as
 * many; COMPLETE, sent after an access epoch's operations, is counted by
 * MPI_Win_wait. Not thread-safe, as the rest of the library.
 *
 * libfabric RMA. A window whose ranks span nodes registers each rank's
 * memory at creation and gathers every rank's (address, key); a put or
 * get of contiguous data to a rank on another node that registered is
 * one fi_write or fi_read, counted in ofi_pending until its completion.
 * Writes ask for FI_DELIVERY_COMPLETE, so a completed write is in the
 * target's memory; every synchronization waits for ofi_pending (and the
 * replies) before it sends what ends the target's epoch (the fence's
 * counts, COMPLETE, UNLOCK, or nothing: a flush needs no message when
 * only RMA went to the target). Accumulates stay active messages: MPI
 * makes them atomic per element and ordered per origin (same op, same
 * location), which one target applying one message at a time gives and
 * libfabric's atomics would give only for the types and ops the provider
 * supports, with no ordering against the target's own applied ones;
 * non-contiguous data stays too (one message instead of many small
 * writes). Dynamic windows stay active messages: their memory is
 * attached piecemeal and would need a registration and an exchange per
 * attach. */
#ifndef SHOAL_MPI_RMA_PRIVATE_H
#define SHOAL_MPI_RMA_PRIVATE_H

#include "mpi-shim/shim_private.h"

enum {
    SHIM_KIND_WIN = 0x20,
    /* The largest request message, header and segments included. */
    RMA_AM_MAX = 64 * 1024,
};

enum rma_am_type {
    RMA_AM_PUT = 1,
    RMA_AM_GET,
    RMA_AM_ACC,
    RMA_AM_GACC,
    RMA_AM_CAS,
    RMA_AM_LOCK,
    RMA_AM_UNLOCK,
    RMA_AM_FLUSH,
    RMA_AM_POST,
    RMA_AM_COMPLETE,
    RMA_AM_SHUTDOWN,
};

struct rma_am_hdr {
    uint8_t type;      /* enum rma_am_type */
    uint8_t lock_type; /* LOCK: 1 shared, 2 exclusive */
    uint16_t pad;
    int32_t op;     /* ACC, GACC: the MPI_Op handle */
    int32_t basic;  /* ACC, GACC, CAS: predefined element type */
    uint32_t reply; /* tag of the reply, 0 for none */
    uint32_t nseg;
    uint32_t pad2;
    uint64_t len; /* bytes the segments cover */
};

struct rma_am_seg {
    uint64_t disp; /* from the window's base (an address when dynamic) */
    uint64_t len;
};

/* A waiter in a target's lock queue. */
struct rma_lock_waiter {
    int origin;
    int type;
    uint32_t reply;
    struct rma_lock_waiter *next;
};

/* Each rank's control block at the start of a direct window's segment:
 * the locks of its memory, taken with atomics by any rank of the node. */
struct rma_shm_ctl {
    uint32_t acc_lock;  /* held while an accumulate updates this memory */
    uint32_t lock_word; /* MPI_Win_lock: RMA_LOCK_EXCL, or shared holders */
    /* Rank 0's block only: MPI_Win_fence's barrier (arrivals, and the
     * generation the last arrival bumps). */
    uint32_t bar_count;
    uint32_t bar_gen;
    char pad[48];
};
#define RMA_LOCK_EXCL 0x80000000u

/* Where a target's window memory is for fi_write and fi_read, as it
 * registered it (ofi.c, shim_ofi_mr_reg). */
struct rma_ofi_peer {
    uint64_t addr; /* names the start of its memory */
    uint64_t key;
    uint64_t ok; /* 1 when it registered: operations to it may use RMA */
};

struct rma_region {
    char *base;
    MPI_Aint size;
};

struct shim_win {
    int handle;
    int flavor; /* MPI_WIN_FLAVOR_* */
    /* Two private duplicates of the user's communicator: comm for the
     * window's collectives, am whose collective context carries the
     * active messages. Their handles are never shown to the user. */
    MPI_Comm comm_h;
    MPI_Comm am_h;
    struct shim_comm *comm;
    struct shim_comm *am;
    unsigned am_ctx;
    int rank;
    int size;
    void *base;
    MPI_Aint bytes;
    int disp_unit;
    MPI_Aint *peer_bytes; /* rank -> its window's size */
    int *peer_unit;       /* rank -> its displacement unit */
    bool own_mem;         /* MPI_Win_allocate: base is ours to free */
    /* MPI_Win_allocate_shared: the node's segment, mapped here, and each
     * rank's part of it. */
    char *shm_seg;
    size_t shm_len;
    MPI_Aint *shm_off;
    /* Every rank's memory is in shm_seg (windows allocated on one node):
     * operations and locks are loads, stores and atomics, not messages. */
    bool direct;
    struct rma_shm_ctl *ctl; /* rank -> its control block, when direct */
    /* MPI_Win_create_dynamic: attached regions. */
    struct rma_region *regions;
    int nregions;
    int regcap;
    MPI_Errhandler errhandler;
    char name[MPI_MAX_OBJECT_NAME];
    struct shim_attr_table attrs; /* user attributes (attr.h) */

    /* ---- target side (rma_am.c) ---- */
    struct shim_request *amreq; /* the posted request receive */
    char *ambuf;
    uint64_t applied; /* request messages applied, ever */
    bool shut;        /* the SHUTDOWN message came: nothing is posted */
    int lock_shared;  /* origins holding a shared lock here */
    bool lock_excl;
    struct rma_lock_waiter *lockq;
    int *posts_from; /* rank -> POSTs received and not yet started */
    int completes;   /* COMPLETEs received and not yet waited for */

    /* ---- origin side (rma.c, win.c) ---- */
    uint64_t *sent;   /* rank -> request messages sent there, ever */
    uint64_t *synced; /* rank -> sent[rank] when last acknowledged */
    char **agg;       /* rank -> small requests gathered, not yet sent */
    size_t *agg_len;
    int outstanding; /* replies awaited */
    int *out_to;     /* rank -> replies awaited from it */
    uint32_t next_reply;
    /* Synchronization state, for MPI_ERR_RMA_SYNC. */
    bool fence_epoch;
    int *locked;   /* rank -> MPI_LOCK_* held there, or 0 */
    bool *nocheck; /* rank -> its lock was taken with MPI_MODE_NOCHECK */
    int nlocks;
    bool lock_all;
    int *start_ranks; /* the access group of MPI_Win_start, NULL if none */
    int nstart;
    int *post_ranks; /* the exposure group of MPI_Win_post */
    int npost;
    bool posted;
    struct shim_win *next; /* the list the progress hook walks */

    /* ---- libfabric RMA (win.c, rma.c) ----
     * Contiguous puts and gets to ranks on other nodes, when the provider
     * offers RMA: this rank's registration, every rank's (NULL when the
     * window has none), and the operations not yet completed, which every
     * synchronization waits for as it waits for replies. */
    struct fid_mr *mr;
    struct rma_ofi_peer *ofi;
    int ofi_pending;
    int *ofi_to; /* rank -> of those, to it */
};

/* ---- win.c ---- */
/* Finds win's object; 0 or SHIM_ECLASS(MPI_ERR_WIN). */
int shim_win_check(MPI_Win win, struct shim_win **out);
/* Reports code for call fn through win's error handler (see shim_err). */
int shim_win_err(struct shim_win *w, const char *fn, int code);
/* Whether an access epoch to target is open on w. */
bool shim_win_may_access(struct shim_win *w, int target);

/* ---- rma.c ---- */
/* Whether operations from here to target may use libfabric's RMA. */
bool rma_ofi_reaches(const struct shim_win *w, int target);

/* ---- rma_am.c ---- */
/* Puts w on the progress hook's list and posts its request receive;
 * adds the hook on first use. 0 or a negative code. */
int rma_am_start(struct shim_win *w);
/* Sends SHUTDOWN to itself, waits until the hook took it, and takes w off
 * the list; call once every other rank has stopped sending to w. */
void rma_am_stop(struct shim_win *w);
/* Sends the request msg (len bytes, malloc'd; ownership passes, also on
 * failure) to rank target, counting the messages in w->sent. A small put
 * or accumulate may wait, gathered with others to the same target, until
 * the next request to that target or rma_am_push(). 0 or a negative code. */
int rma_am_send(struct shim_win *w, int target, void *msg, size_t len);
/* Sends what is gathered for target (every rank when target < 0). */
int rma_am_push(struct shim_win *w, int target);

/* Copies the len bytes the segments cover, starting skip bytes into
 * them, between buf and the memory at base (NULL: the displacements are
 * addresses); to_win chooses the direction. */
void rma_segs_copy(char *base,
                   const struct rma_am_seg *segs,
                   uint32_t nseg,
                   size_t skip,
                   void *buf,
                   size_t len,
                   bool to_win);
/* Combines the packed operands data (len bytes of predefined elements
 * basic) into the memory the segments cover at base with predefined op.
 * Neither needs to be aligned for basic. The caller makes it atomic (one
 * target applies one at a time, or the target's accumulate lock is
 * held). 0 or SHIM_ECLASS(MPI_ERR_OP/TYPE). */
int rma_acc_combine(char *base,
                    struct shim_op *op,
                    MPI_Datatype basic,
                    const struct rma_am_seg *segs,
                    uint32_t nseg,
                    size_t len,
                    const char *data);
/* rma_acc_combine() with op as a handle (an active message's). */
int rma_acc_apply(char *base,
                  MPI_Op op,
                  MPI_Datatype basic,
                  const struct rma_am_seg *segs,
                  uint32_t nseg,
                  size_t len,
                  const char *data);

/* A reply awaited by the origin: when it lands, done(arg, bytes) runs
 * inside progress (so it must not post), and the window's counters drop. */
typedef void rma_reply_f(void *arg, size_t bytes, int error);
/* Posts the receive of a reply of up to len bytes into buf from target,
 * and returns its tag in *tag. 0 or a negative code. */
int rma_reply_post(struct shim_win *w,
                   int target,
                   void *buf,
                   size_t len,
                   rma_reply_f *done,
                   void *arg,
                   uint32_t *tag);
/* Sends a message of type (LOCK, UNLOCK, FLUSH) that the target
 * acknowledges, and sets *flag when the acknowledgement lands; the caller
 * waits on flag. */
int rma_am_sync_send(struct shim_win *w,
                     int target,
                     enum rma_am_type type,
                     int lock_type,
                     volatile bool *flag);
/* Sends a message the target does not answer (POST, COMPLETE). */
int rma_am_notify(struct shim_win *w, int target, enum rma_am_type type);

#endif
