/* SPDX-License-Identifier: MIT */
/* coll_private.h - what the collective modules of libmpi share.
 *
 * Every collective is first written down as a schedule: phases of sends
 * and receives separated by fences, with local steps (reduce, copy,
 * unpack) that run once the phase's messages are complete. A blocking
 * collective runs its schedule to the end at once; a nonblocking one hangs
 * it on the active list, which the progress engine advances inside any MPI
 * call. One code path thus serves both, as in MPICH's schedule engine.
 *
 * The modules, as MPICH's src/mpi/coll/ has them:
 *   coll_sched.c    the schedule engine: building, running, finishing
 *   coll_barrier.c  MPI_Barrier: dissemination
 *   coll_bcast.c    MPI_Bcast: binomial tree, scatter + ring allgather
 *   coll_reduce.c   MPI_Reduce, Allreduce, Reduce_scatter, Scan, Exscan
 *   coll_gather.c   MPI_Gather, Scatter, Allgather, Alltoall, and the
 *                   vector variants
 *   coll_node.c     the node-aware (two-level) forms of Barrier, Bcast,
 *                   Reduce, Allreduce and Allgather
 * A family file holds its flat algorithms, the choice among them and its
 * MPI entry points. The choice asks coll_node.c first; its two-level
 * builders are written with the flat ones of the families, so calls run
 * entry point -> two-level builder -> flat builder -> schedule engine,
 * and the engine posts through pt2pt.c's shim_coll_isend/irecv.
 *
 * Algorithms follow MPICH and Thakur/Rabenseifner/Gropp (2005): binomial
 * trees for small broadcasts, reductions, gathers and scatters; scatter +
 * ring allgather for large broadcasts; recursive doubling for small
 * allreduce and Rabenseifner's reduce-scatter + allgather for large
 * commutative allreduce; Bruck for small allgather and alltoall, ring
 * allgather and pairwise exchange for large ones. The size thresholds
 * choosing among them are at the top of each family file. Each collective
 * uses the communicator's collective context with its sequence number as
 * the tag, so overlapping nonblocking collectives never match each other's
 * data. */
#ifndef SHOAL_MPI_COLL_PRIVATE_H
#define SHOAL_MPI_COLL_PRIVATE_H

#include "mpi-shim/shim_private.h"

/* ---- the schedule engine (coll_sched.c) ----------------------------------
 * A schedule belongs to one collective call. Builders append steps to it
 * for the group it currently views; nothing moves until the schedule is
 * finished with shim_sched_finish(). Allocation failures while building
 * are remembered in the schedule (err) and reported by
 * shim_sched_finish(), so builders need not check each step. */
struct shim_sched_step;

struct shim_sched {
    struct shim_comm *comm;
    int tag;
    /* The group the builders currently write for: p ranks, this one r,
     * peers translated to comm ranks through map (NULL: the whole comm).
     * Node-aware collectives switch it between a node and its leaders. */
    int p;
    int r;
    const int *map;
    /* When set, the view's messages travel on communicator via, context
     * via_ctx (an intercommunicator's collectives run their local steps
     * on its local group this way), with the schedule's tag. */
    struct shim_comm *via;
    unsigned via_ctx;
    /* The engine's own bookkeeping. */
    struct shim_sched_step *steps;
    int n;
    int cap;
    int cur;
    int phase_end;
    void **tmps;
    int ntmp;
    int tmpcap;
    /* Unpacks into the user's buffers, appended when the schedule ends. */
    struct shim_sched_step *finals;
    int nfinal;
    int finalcap;
    struct shim_request *ureq;
    bool done;
    int err;
    /* Run when the schedule is freed, whether it ended well or not. */
    void (*on_free)(void *arg);
    void *on_free_arg;
    struct shim_sched *next;
};

/* Makes an empty schedule for the next collective on comm, viewing the
 * whole communicator; takes the collective's tag from comm->coll_seq.
 * 0 or -ENOMEM. */
int shim_sched_create(struct shim_comm *comm, struct shim_sched **out);
/* Runs s: to the end when request is NULL, else in the background behind
 * a new user request stored in *request. s is consumed in every case (a
 * NULL s reports -ENOMEM). Returns the schedule's error or 0. */
int shim_sched_finish(struct shim_sched *s, MPI_Request *request);

/* Steps, with peers as ranks of the current view. */
void shim_sched_send(struct shim_sched *s,
                     const void *buf,
                     size_t bytes,
                     int peer);
void shim_sched_recv(struct shim_sched *s, void *buf, size_t bytes, int peer);
/* Steps with a tag of their own (neighbourhood collectives on Cartesian
 * communicators tell blocks apart by tag). */
void shim_sched_send_tagged(
    struct shim_sched *s, const void *buf, size_t bytes, int peer, int tag);
void shim_sched_recv_tagged(
    struct shim_sched *s, void *buf, size_t bytes, int peer, int tag);
/* Steps on another communicator via, context ctx, with the schedule's
 * tag; peer is a rank of via (no view mapping). */
void shim_sched_send_via(struct shim_sched *s,
                         const void *buf,
                         size_t bytes,
                         int peer,
                         struct shim_comm *via,
                         unsigned ctx);
void shim_sched_recv_via(struct shim_sched *s,
                         void *buf,
                         size_t bytes,
                         int peer,
                         struct shim_comm *via,
                         unsigned ctx);
/* A local step running fn(s, arg) as a phase of its own, once every step
 * before it is complete: fn returns 0 to go on, a negative code to fail
 * the schedule, or 1 to be called again at the next progress (it must not
 * wait). fn may append steps to s (they run after it); s->done is false
 * while it runs. */
typedef int shim_sched_fn(struct shim_sched *s, void *arg);
void shim_sched_call(struct shim_sched *s, shim_sched_fn *fn, void *arg);
/* inout = in op inout, count elements of rdt. */
void shim_sched_reduce(struct shim_sched *s,
                       const void *in,
                       void *inout,
                       size_t count,
                       MPI_Datatype rdt,
                       struct shim_op *op);
/* A no-op when src == dst or bytes == 0. */
void shim_sched_copy(struct shim_sched *s,
                     const void *src,
                     void *dst,
                     size_t bytes);
/* Ends the phase: later steps wait for every step before it. */
void shim_sched_fence(struct shim_sched *s);

/* Scratch memory living as long as s; NULL (and s failed) when out of
 * memory. */
void *shim_sched_tmp(struct shim_sched *s, size_t bytes);
/* The bytes of count elements of t at buf, packed now if t has holes. */
const void *shim_sched_in_bytes(struct shim_sched *s,
                                const void *buf,
                                size_t count,
                                struct shim_datatype *t);
/* Where count elements of t bound for buf can be received as bytes; for
 * types with holes a buffer unpacked into buf when the schedule ends. */
void *shim_sched_out_bytes(struct shim_sched *s,
                           void *buf,
                           size_t count,
                           struct shim_datatype *t);
/* Unpacks count elements of t from packed into buf when s ends. */
void shim_sched_unpack_at_end(struct shim_sched *s,
                              const void *packed,
                              void *buf,
                              size_t count,
                              struct shim_datatype *t);
/* Drops the unpacks queued so far: the user's buffers stay untouched. */
void shim_sched_drop_unpacks(struct shim_sched *s);

/* ---- flat algorithms over the current view (the family files) ----------- */
void shim_barrier_dissemination(struct shim_sched *s);
void shim_bcast_binomial(struct shim_sched *s, void *buf, size_t n, int root);
/* The flat broadcast chosen by size for the current view. */
void shim_bcast_flat(struct shim_sched *s, void *buf, size_t n, int root);

/* How a reduction sees its data: n elements of rdt, each esz bytes, in a
 * contiguous buffer (the user's own for dense types, packed otherwise). */
struct shim_red {
    struct shim_op *op;
    MPI_Datatype rdt;
    size_t esz;
    size_t nelem;
};

/* Byte image of a reduction buffer: dense types are used in place over
 * their whole extent, others packed. */
static inline size_t shim_red_bytes(const struct shim_red *rd)
{
    return rd->nelem * rd->esz;
}

/* Binomial reduction over the view to view rank root, of the data each
 * rank holds in acc (scratch afterwards); root ends with the result in out.
 * For non-commutative operations the tree is rooted at view rank 0, so
 * operands combine in view order, and rank 0 forwards the result. */
void shim_reduce_tree(struct shim_sched *s,
                      void *acc,
                      void *out,
                      const struct shim_red *rd,
                      int root);
/* The flat allreduce chosen by size and operation for the current view;
 * acc holds this rank's data and receives the result. */
void shim_allreduce_flat(struct shim_sched *s,
                         void *acc,
                         const struct shim_red *rd);

/* Binomial gather of n-byte blocks into rotated order at the root. */
void shim_gather_binomial(
    struct shim_sched *s, const void *mine, void *out, size_t n, int root);
/* Ring allgather of the blocks of out at off[i], len[i] bytes long. */
void shim_allgather_ring(struct shim_sched *s,
                         char *out,
                         const size_t *off,
                         const size_t *len);

/* ---- intercommunicators ---------------------------------------------------
 * A schedule on intercommunicator c views the local group (its private
 * communicator's point-to-point context, the schedule's tag) or, as
 * shim_sched_create leaves it, the remote group (leaders talk across). */
static inline void shim_sched_view_local(struct shim_sched *s,
                                         struct shim_comm *c)
{
    s->p = c->local_size;
    s->r = c->rank;
    s->via = c->local;
    s->via_ctx = c->local->ctx;
}

static inline void shim_sched_view_inter(struct shim_sched *s,
                                         struct shim_comm *c)
{
    s->p = c->size;
    s->r = c->rank;
    s->via = NULL;
}

/* MPI_Barrier and MPI_Bcast (coll_inter.c), MPI_Allreduce (coll_reduce.c)
 * on intercommunicator c, blocking when request is NULL. Internal
 * codes. */
int shim_inter_barrier(struct shim_comm *c, MPI_Request *request);
int shim_inter_bcast(void *buf,
                     int count,
                     struct shim_datatype *t,
                     int root,
                     struct shim_comm *c,
                     MPI_Request *request);
int shim_inter_allreduce(const void *sendbuf,
                         void *recvbuf,
                         int count,
                         struct shim_datatype *t,
                         struct shim_op *op,
                         struct shim_comm *c,
                         MPI_Request *request);

/* ---- the general exchange (coll_alltoallw.c) -----------------------------
 * Both return an MPI error code, through comm's handler: entry points
 * return them as they are. MPI_Alltoallv (also nonblocking, and on
 * intercommunicators), and MPI_Alltoall on intercommunicator c. */
int shim_alltoallv(const char *fn,
                   const void *sendbuf,
                   const int sendcounts[],
                   const int sdispls[],
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   const int recvcounts[],
                   const int rdispls[],
                   MPI_Datatype recvtype,
                   MPI_Comm comm,
                   MPI_Request *request);
int shim_inter_alltoall(const void *sendbuf,
                        int sendcount,
                        MPI_Datatype sendtype,
                        void *recvbuf,
                        int recvcount,
                        MPI_Datatype recvtype,
                        struct shim_comm *c,
                        MPI_Request *request);

/* The gathers, scatters and Allgatherv on intercommunicator c, as
 * exchanges (MPI_ROOT / MPI_PROC_NULL in the root's group, the root's
 * rank in the other); scounts/sdispls or rcounts/rdispls NULL for the
 * forms with one count. Internal code. */
enum shim_inter_move {
    SHIM_INTER_GATHER,
    SHIM_INTER_SCATTER,
    SHIM_INTER_ALLGATHER,
};
int shim_inter_move(enum shim_inter_move kind,
                    const void *sendbuf,
                    int sendcount,
                    const int *sendcounts,
                    const int *sdispls,
                    MPI_Datatype sendtype,
                    void *recvbuf,
                    int recvcount,
                    const int *recvcounts,
                    const int *rdispls,
                    MPI_Datatype recvtype,
                    int root,
                    struct shim_comm *c,
                    MPI_Request *request);
/* MPI_Reduce_scatter(_block) on intercommunicator c (coll_reduce.c);
 * counts has one entry per local rank. Internal code. */
int shim_inter_reduce_scatter(const void *sendbuf,
                              void *recvbuf,
                              const int *counts,
                              struct shim_datatype *t,
                              struct shim_op *op,
                              struct shim_comm *c,
                              MPI_Request *request);

/* ---- node-aware forms (coll_node.c) --------------------------------------
 * Each writes its collective into s in two levels and returns the view to
 * the whole communicator; nm comes from shim_node_map(). */
/* The node structure of c when node-aware algorithms apply, else NULL.
 * Built on first use; a failed allocation just leaves c flat. */
const struct shim_nodemap *shim_node_map(struct shim_comm *c);
void shim_node_barrier(struct shim_sched *s, const struct shim_nodemap *nm);
void shim_node_bcast(struct shim_sched *s,
                     const struct shim_nodemap *nm,
                     void *buf,
                     size_t n,
                     int root);
/* Whether a reduction with op may run in two levels over nm (NULL: no). */
bool shim_node_reduce_applies(const struct shim_nodemap *nm,
                              const struct shim_op *op);
void shim_node_reduce(struct shim_sched *s,
                      const struct shim_nodemap *nm,
                      void *acc,
                      void *out,
                      const struct shim_red *rd,
                      int root);
void shim_node_allreduce(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         void *acc,
                         const struct shim_red *rd);
/* Whether an allgather may run in two levels over nm (NULL: no). */
bool shim_node_allgather_applies(const struct shim_nodemap *nm);
void shim_node_allgather(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         char *out,
                         size_t n);

/* ---- in the node's shared segment (coll_node.c) --------------------------
 * Blocking collectives over a communicator that holds every rank of this
 * node, small enough for a slot of the segment: the node's ranks meet in
 * the segment (shm.h, "Node-level collectives") instead of sending
 * messages; a communicator that spans nodes adds the leaders' stage by
 * messages between the node steps. Each returns 0 or -errno. */
/* Whether an allreduce of bytes with op on c goes through the segment. */
bool shim_node_shm_allreduce_applies(struct shim_comm *c,
                                     const struct shim_op *op,
                                     size_t bytes);
/* in is MPI_IN_PLACE or the byte image of the operand, out the result's. */
int shim_node_shm_allreduce(const void *in,
                            void *out,
                            const struct shim_red *rd,
                            struct shim_comm *c);
/* Whether a barrier on c goes through the segment. */
bool shim_node_shm_barrier_applies(struct shim_comm *c);
int shim_node_shm_barrier(struct shim_comm *c);

/* ---- argument checks shared by the entry points ------------------------- */
static inline int
shim_coll_check_buf(int count, MPI_Datatype dt, struct shim_datatype **t)
{
    if (count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    return shim_dt_check(dt, t);
}

static inline int shim_coll_check_root(struct shim_comm *c, int root)
{
    return root < 0 || root >= c->size ? SHIM_ECLASS(MPI_ERR_ROOT) : 0;
}

/* shim_comm_check() for the collectives written for intracommunicators
 * only: an intercommunicator is MPI_ERR_COMM (the entry points of the
 * collectives defined on intercommunicators hand theirs over first). */
static inline int shim_coll_comm_check(MPI_Comm comm, struct shim_comm **out)
{
    int rc = shim_comm_check(comm, out);

    if (rc == 0 && (*out)->inter)
        rc = shim_errcode_inter_coll();
    return rc;
}

/* An entry point's return: MPI_SUCCESS, or rc through comm's handler. */
#define SHIM_COLL_RET(c, fn, rc)                                               \
    ((rc) ? shim_err((c), (fn), (rc)) : MPI_SUCCESS)

#endif
