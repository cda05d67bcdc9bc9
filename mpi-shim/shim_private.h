/* SPDX-License-Identifier: MIT */
/* shim_private.h - internal objects of libmpi shared by its modules.
 *
 * Layering follows MPICH: the shim_ functions implement MPI semantics
 * (communicators, datatypes, requests, collectives) and call the shim_ofi_
 * layer, which is the only code that talks to libfabric. Calls run one way:
 * entry points -> collectives (coll_*.c) and point-to-point (pt2pt.c) ->
 * the progress engine (progress.c) -> the transport (ofi.c); the objects
 * (tables, datatypes, ops, communicators, requests) serve every layer, and
 * the transport reaches the engine only through the upcalls it is handed
 * (struct shim_ofi_upcalls). Internal functions return 0 or a negative
 * code: either -errno (libfabric uses the same numbers) or SHIM_ECLASS(c)
 * for an MPI error class; entry points turn the code into an MPI error
 * class with shim_err(). Not thread-safe: the library offers up to
 * MPI_THREAD_SERIALIZED. */
#ifndef SHOAL_MPI_SHIM_PRIVATE_H
#define SHOAL_MPI_SHIM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rdma/fabric.h>

#include "mpi-shim/attr.h"
#include "mpi-shim/include/mpi.h"
#include "mpi-shim/shm.h"

/* Defines PMPI_name and makes MPI_name a weak alias of it, so a profiling
 * library can interpose MPI_name and still call PMPI_name. */
#define SHIM_PRAGMA(x) _Pragma(#x)
#define SHIM_WEAK(name) SHIM_PRAGMA(weak MPI_##name = PMPI_##name)

/* An MPI error class carried through the internal negative-code scheme. */
enum { SHIM_ECLASS_BASE = 100000 };
#define SHIM_ECLASS(c) (-(SHIM_ECLASS_BASE + (c)))

/* Handle encoding; see mpi.h. */
enum shim_kind {
    SHIM_KIND_COMM = 0x04,
    SHIM_KIND_GROUP = 0x08,
    SHIM_KIND_DATATYPE = 0x0c,
    SHIM_KIND_ERRHANDLER = 0x14,
    SHIM_KIND_INFO = 0x1c,
    SHIM_KIND_KEYVAL = 0x24,
    SHIM_KIND_OP = 0x18,
    SHIM_KIND_REQUEST = 0x2c,
    SHIM_KIND_MESSAGE = 0x30,
};
enum { SHIM_HANDLE_VALID = 0x40000000, SHIM_HANDLE_INDEX = 0x00ffffff };
#define SHIM_HANDLE(kind, idx) (SHIM_HANDLE_VALID | ((kind) << 24) | (idx))
#define SHIM_HANDLE_KIND(h) ((int)(((unsigned)(h) >> 24) & 0x3f))

/* A growable table from handle index to object; freed slots are reused. */
struct shim_table {
    void **slots;
    int used;
    int cap;
    int *freelist;
    int nfree;
};
int shim_table_insert(struct shim_table *table, void *obj);
void *shim_table_lookup(struct shim_table *table, int handle, int kind);
void shim_table_remove(struct shim_table *table, int handle);
void shim_table_release(struct shim_table *table);

/* ---- tag layout ------------------------------------------------------
 * One 64-bit libfabric tag carries everything MPI matches on, so the
 * provider's matching engine does MPI matching (as MPICH's CH4/OFI does):
 *   63 SYNC  set on synchronous sends; receives ignore it
 *   62 ACK   the acknowledgement of a synchronous send
 *   59..44   context id (bit 44 set for the collective context)
 *   43..24   source rank in the communicator
 *   23..0    MPI tag (MPI_TAG_UB = 2^24 - 1)
 * MPI_ANY_SOURCE and MPI_ANY_TAG become ignore bits; since all receives go
 * to FI_ADDR_UNSPEC, the source comes back in the tag. */
#define SHIM_TAG_SYNC (1ULL << 63)
#define SHIM_TAG_ACK (1ULL << 62)
enum {
    SHIM_CTX_SHIFT = 44,
    SHIM_SRC_SHIFT = 24,
    SHIM_TAG_BITS = 24,
    SHIM_SRC_BITS = 20,
    SHIM_TAG_MAX = (1 << 24) - 1,
    SHIM_MAX_RANKS = 1 << 20,
    SHIM_NCTX = 4096, /* context ids; each has a p2p and a coll context */
};
#define SHIM_SRC_MASK (((1ULL << SHIM_SRC_BITS) - 1) << SHIM_SRC_SHIFT)
#define SHIM_TAGV_MASK ((1ULL << SHIM_TAG_BITS) - 1)

static inline uint64_t shim_tag_make(unsigned ctx, int src, int tag)
{
    return ((uint64_t)ctx << SHIM_CTX_SHIFT)
           | ((uint64_t)(unsigned)src << SHIM_SRC_SHIFT)
           | ((uint64_t)(unsigned)tag & SHIM_TAGV_MASK);
}
static inline int shim_tag_src(uint64_t t)
{
    return (int)((t >> SHIM_SRC_SHIFT) & ((1ULL << SHIM_SRC_BITS) - 1));
}
static inline int shim_tag_tag(uint64_t t)
{
    return (int)(t & SHIM_TAGV_MASK);
}
static inline unsigned shim_tag_ctx(uint64_t t)
{
    return (unsigned)((t >> SHIM_CTX_SHIFT) & 0xffff);
}

/* ---- datatypes ------------------------------------------------------- */
struct shim_dt_block {
    MPI_Aint off;
    size_t len;
};

struct shim_datatype {
    int handle;
    int refcount;
    bool predefined;
    bool committed;
    size_t size; /* bytes of data in one element */
    MPI_Aint lb; /* MPI lower bound and extent (may be resized) */
    MPI_Aint extent;
    MPI_Aint true_lb;
    MPI_Aint true_extent;
    /* The typemap of one element, flattened to byte blocks in typemap order
     * with neighbours merged; what pack/unpack walk. */
    int nblocks;
    struct shim_dt_block *blocks;
    /* count elements occupy size*count contiguous bytes at buf + true_lb. */
    bool contig;
    /* The raw region [buf + true_lb, + count * extent) may be moved as is
     * inside a collective: contiguous types and the MINLOC/MAXLOC pairs. */
    bool dense;
    /* When every basic element has the same predefined type: that type and
     * how many there are per element, for reductions; else 0. */
    MPI_Datatype basic;
    size_t nbasic;
    /* The same without the padding rule: the predefined type of every
     * basic element, padded MINLOC/MAXLOC pairs included (one-sided
     * accumulates, which move elements one by one); else 0. */
    MPI_Datatype elem;
    const char *name;
    struct shim_attr_table attrs;
    /* How the type was made (dtinfo.c); NULL for predefined types. */
    struct shim_dt_env *env;
    char *user_name; /* MPI_Type_set_name's, owned */
};

int shim_dt_init(void);
void shim_dt_finalize(void);
struct shim_datatype *shim_dt_get(MPI_Datatype dt);
/* Checks dt is a valid committed type; 0 or SHIM_ECLASS(MPI_ERR_TYPE). */
int shim_dt_check(MPI_Datatype dt, struct shim_datatype **out);
void shim_dt_incref(struct shim_datatype *t);
void shim_dt_decref(struct shim_datatype *t);
void shim_dt_pack(const struct shim_datatype *t,
                  const void *inbuf,
                  size_t count,
                  void *packed);
/* Records how handle was made, for MPI_Type_get_envelope/_contents: n is
 * the constructor's count, ia and ib its integer arrays as the
 * constructor takes them (dtinfo.c lays them out as the standard's
 * table), then its addresses and datatypes (referenced). 0 or -ENOMEM. */
/* The runs of MPI_Type_create_darray's type (darray.c) from its
 * recorded integers (size, rank, ndims, gsizes, distribs, dargs, psizes,
 * order), for an old type of extent extent: *nblocks runs of (*lens)[i]
 * elements at byte (*disps)[i], in type-map order; the caller frees both.
 * 0, -ENOMEM or SHIM_ECLASS(MPI_ERR_ARG). */
int shim_darray_blocks(const int *ints,
                       MPI_Aint extent,
                       int *nblocks,
                       int **lens,
                       MPI_Aint **disps);
int shim_dt_record(MPI_Datatype handle,
                   int combiner,
                   int n,
                   const int *ia,
                   const int *ib,
                   int na,
                   const MPI_Aint *addrs,
                   int nd,
                   const MPI_Datatype *types);
/* The record of derived type t, borrowed (valid while t lives):
 * combiner, integers, addresses and datatypes as MPI_Type_get_contents
 * gives them. SHIM_ECLASS(MPI_ERR_TYPE) for a predefined type. */
int shim_dt_env_view(const struct shim_datatype *t,
                     int *combiner,
                     int *ni,
                     const int **ints,
                     int *na,
                     const MPI_Aint **addrs,
                     int *nd,
                     struct shim_datatype *const **types);
/* Frees t's record and user name. */
void shim_dt_env_free(struct shim_datatype *t);
void shim_dt_unpack(const struct shim_datatype *t,
                    const void *packed,
                    size_t nbytes,
                    void *outbuf);

/* ---- reduction operations --------------------------------------------- */
struct shim_op {
    int handle;
    int refcount;
    MPI_User_function *user_fn;
    bool commute;
    int builtin; /* 1..14 for predefined ops, 0 for user ops */
};
int shim_op_init(void);
void shim_op_finalize(void);
int shim_op_check(MPI_Op op, struct shim_op **out);
/* inout[i] = in[i] op inout[i] for count elements of dt. dt must be a
 * predefined type for builtin ops. Returns 0 or SHIM_ECLASS(MPI_ERR_OP). */
int shim_op_apply(struct shim_op *op,
                  const void *in,
                  void *inout,
                  size_t count,
                  MPI_Datatype dt);
/* As shim_op_apply() on a collective's byte images: a type with holes
 * is packed there (count elements of its size), and a user op is applied
 * to unpacked copies of each element. */
int shim_op_apply_image(struct shim_op *op,
                        const void *in,
                        void *inout,
                        size_t count,
                        MPI_Datatype dt);
/* Whether op can combine predefined type dt; no side effects. */
bool shim_op_supports(const struct shim_op *op, MPI_Datatype dt);
/* The loop of a predefined operation on one predefined type: inout[i] =
 * in[i] op inout[i] for n elements, both arrays aligned for the type;
 * they may overlap. */
typedef void shim_op_loop_f(const void *in, void *inout, size_t n);
/* op's loop on the predefined type dt (op_loops.c), or NULL when op is
 * not predefined, is MPI_REPLACE or MPI_NO_OP (they need none), or does
 * not apply to dt. The pointer stays valid for the life of the library. */
shim_op_loop_f *shim_op_loop(const struct shim_op *op, MPI_Datatype dt);

/* ---- groups and communicators ----------------------------------------- */
struct shim_group {
    int handle;
    int refcount;
    int size;
    int rank;   /* this process's rank in the group or MPI_UNDEFINED */
    int *world; /* group rank -> rank in MPI_COMM_WORLD */
};

/* Where a communicator's ranks live, for node-aware collectives; built
 * from shim.node_of[] on first use, without communication, and freed with
 * the communicator. Nodes are numbered by their lowest comm rank. */
struct shim_nodemap {
    int nnodes;
    int *node;  /* comm rank -> node index */
    int *first; /* node index -> lowest comm rank on it */
    int *count; /* node index -> ranks on it */
    int *local; /* comm ranks on this rank's node, ascending */
    int nlocal;
    int mylocal; /* this rank's index in local[] */
    int mynode;
    bool contiguous; /* every node's ranks are consecutive comm ranks */
};

struct shim_comm {
    int handle;
    int refcount;
    unsigned ctx_id; /* index in [0, SHIM_NCTX) */
    unsigned ctx;    /* tag context of point-to-point; ctx|1 = collective */
    int rank;
    int size;
    int *world; /* comm rank -> world rank (libfabric address index) */
    MPI_Errhandler errhandler;
    char name[MPI_MAX_OBJECT_NAME];
    uint32_t coll_seq; /* collective sequence number, the collective tag */
    int topo;          /* MPI_CART or MPI_UNDEFINED */
    int ndims;
    int *dims;
    int *periods;
    /* MPI_GRAPH and MPI_DIST_GRAPH: the graph (graph.c), else NULL. */
    struct shim_graph *graph;
    /* NULL until the first collective asks, and when node-aware algorithms
     * do not apply (one node, one rank per node); see mpi-shim/coll_node.c. */
    struct shim_nodemap *nodemap;
    bool nodemap_built;
    /* Whether blocking collectives may go through the node's segment
     * (coll_node.c, enum node_shm); 0 until the first one asks. */
    int node_shm;
    struct shim_attr_table attrs;
    /* An intercommunicator: world and size above are the remote group's
     * (point-to-point addresses remote ranks), rank is this process's
     * rank in the local group, local_world/local_size the local group,
     * and local an intracommunicator of the local group (a reference) for
     * the collectives and MPI_Intercomm_merge; see intercomm.c. */
    bool inter;
    int local_size;
    int *local_world;
    struct shim_comm *local;
    /* MPI_Comm_free'd: the handle is dead, and the communicator lives on
     * only while requests hold references (refcount) on it. */
    bool freed;
    /* Which transports an MPI_ANY_SOURCE receive is posted to (pt2pt.c):
     * 0 not yet known, else enum shim_route. */
    int any_route;
};

struct shim_comm *shim_comm_lookup(MPI_Comm comm);
int shim_comm_check(MPI_Comm comm, struct shim_comm **out);
int shim_comm_create_world(void);
/* A graph topology's copy, NULL when out of memory; and its end. */
struct shim_graph *shim_graph_copy(const struct shim_graph *g);
void shim_graph_free(struct shim_graph *g);
/* The neighbours of this process in c's topology, as the neighbourhood
 * collectives order them: *in (sources) and *out (destinations), the
 * caller frees both. A Cartesian topology lists, per dimension, the
 * neighbour at -1 then at +1 (MPI_PROC_NULL off a non-periodic edge), in
 * both lists, and sets *cart. SHIM_ECLASS(MPI_ERR_TOPOLOGY) without a
 * topology. */
int shim_topo_neighbors(
    struct shim_comm *c, int **in, int *nin, int **out, int *nout, bool *cart);
/* A new communicator of size ranks (world: comm rank -> world rank, taken
 * over) on context id id, in which this process is rank; NULL when out of
 * memory. Takes the id. */
struct shim_comm *shim_comm_new(unsigned id, int size, int *world, int rank);
/* Context ids: *mask (SHIM_NCTX / 32 words) becomes the ids free in
 * every member of parent (collective over parent), or in this process
 * (shim_ctx_mine); shim_ctx_pick takes the lowest one set. */
int shim_ctx_mask(struct shim_comm *parent, uint32_t *mask);
/* A blocking agreement on a context id holds the ids from its first look
 * at the free ids until it takes one (shim_comm_new): MPI_Comm_idup
 * reserves none meanwhile (comm_idup.c). Calls nest. */
void shim_ctx_hold(void);
void shim_ctx_release(void);
bool shim_ctx_held(void);
/* Moves the free ids among the words words of ids from first (a multiple
 * of 32) into mask, leaving them taken; shim_ctx_unreserve gives back
 * those set in mask. */
void shim_ctx_reserve(unsigned first, unsigned words, uint32_t *mask);
void shim_ctx_unreserve(unsigned first, unsigned words, const uint32_t *mask);
/* A duplicate of intracommunicator c on context id id (taken), with c's
 * topology, error handler and attributes (copy callbacks run). */
int shim_comm_dup_on(struct shim_comm *c, unsigned id, struct shim_comm **out);
/* A duplicate of intercommunicator c on ids id (both groups) and
 * local_id (its local group's communicator), without attributes
 * (intercomm.c); shim_intercomm_dup_attrs copies c's onto it, destroying
 * it when that fails. */
int shim_intercomm_dup_on(struct shim_comm *c,
                          unsigned id,
                          unsigned local_id,
                          struct shim_comm **out);
int shim_intercomm_dup_attrs(struct shim_comm *c, struct shim_comm *n);
/* MPI_Comm_split on intercommunicator c (collective over both groups):
 * *out NULL for MPI_UNDEFINED or a color missing on either side. */
int shim_intercomm_split(struct shim_comm *c,
                         int color,
                         int key,
                         struct shim_comm **out);
void shim_ctx_mine(uint32_t *mask);
int shim_ctx_pick(const uint32_t *mask, unsigned *id);
/* A new group of n world ranks (taken over); MPI_GROUP_EMPTY when n is 0. */
int shim_group_new(int n, int *world, MPI_Group *out);
/* A duplicate of intercommunicator c (collective over both groups),
 * without attributes; intercomm.c. */
int shim_intercomm_dup(struct shim_comm *c, struct shim_comm **out);
/* A reference for an operation still pending on comm (a request): the
 * communicator outlives MPI_Comm_free until the last one is dropped. */
void shim_comm_incref(struct shim_comm *comm);
void shim_comm_decref(struct shim_comm *comm);
void shim_comm_finalize(void);
int shim_group_check(MPI_Group group, struct shim_group **out);

/* ---- requests ---------------------------------------------------------- */
enum shim_req_kind {
    SHIM_REQ_SEND = 1,
    SHIM_REQ_RECV,
    SHIM_REQ_PROBE,
    SHIM_REQ_COLL,
    SHIM_REQ_PERSIST,
    SHIM_REQ_RMA,  /* request-based RMA (rma.c): done when locally complete */
    SHIM_REQ_GREQ, /* generalized request (greq.c): done when the user says */
};

struct shim_request;

/* The context libfabric hands back with a completion. */
struct shim_ofi_op {
    struct fi_context2 fctx; /* first: providers may use it (FI_CONTEXT2) */
    struct shim_request *req;
};

struct shim_sched;

/* Gives back what a request borrowed, once its data has left. */
typedef void shim_req_release_f(void *arg);

struct shim_request {
    struct shim_ofi_op op;
    struct shim_ofi_op ack_op; /* a synchronous send's acknowledgement */
    int handle;                /* MPI_REQUEST_NULL for internal requests */
    enum shim_req_kind kind;
    int pending; /* libfabric operations not yet completed */
    bool done;
    bool user_freed; /* MPI_Request_free before completion */
    int error;       /* MPI error class of the completion */
    int source;
    int tag;
    size_t count_bytes;
    bool cancelled;
    bool found; /* probe result */
    struct shim_comm *comm;
    struct fid_mr *mr; /* FI_MR_LOCAL registration, closed at completion */
    struct fid_mr *ack_mr;
    /* Non-contiguous receive: data lands in tmp and is unpacked into
     * user_buf; non-contiguous and buffered sends free tmp. */
    void *tmp;
    void *user_buf;
    size_t user_count;
    struct shim_datatype *user_dt;
    /* When set, called with release_arg at completion instead of freeing
     * tmp: a buffered send gives its segment back to the attached buffer. */
    shim_req_release_f *release;
    void *release_arg;
    /* A persistent request's arguments and its current instance. */
    struct {
        bool is_send;
        int mode;
        const void *buf;
        int count;
        MPI_Datatype dt;
        int peer;
        int tag;
        struct shim_request *active;
    } persist;
    struct shim_sched *sched;
    struct shim_request *next_free;
    /* A generalized request's functions (greq.c), else NULL. */
    struct shim_greq *greq;
    /* A point-to-point operation the checkpoint cut waits for (ckpt.c):
     * counted in shim_ckpt.pending_* until it completes. */
    bool ckpt;
    /* The on-node transport's part (shm.h). */
    struct shim_shm_req shm;
};

struct shim_request *shim_req_alloc(enum shim_req_kind kind);
/* Sets req's communicator; req holds a reference on it until freed. */
static inline void shim_req_set_comm(struct shim_request *req,
                                     struct shim_comm *comm)
{
    shim_comm_incref(comm);
    req->comm = comm;
}
/* Gives req a user handle; 0 or -ENOMEM. */
int shim_req_publish(struct shim_request *req);
void shim_req_free(struct shim_request *req);
struct shim_request *shim_req_lookup(MPI_Request handle);
void shim_req_fill_status(const struct shim_request *req, MPI_Status *status);
/* Drives progress until req is done; 0 or its error as SHIM_ECLASS(). */
int shim_req_wait(struct shim_request *req);
void shim_req_finalize(void);

/* Generalized requests (greq.c): the status of req from the user's query
 * function, set into req just before it is reported; the user's free
 * function, when req is freed; and its cancel function. */
void shim_greq_query(struct shim_request *req);
void shim_greq_release(struct shim_request *req);
void shim_greq_cancel(struct shim_request *req);

/* ---- progress engine (progress.c) --------------------------------------
 * Everything that moves runs from here, inside MPI calls: the transport's
 * completion queue first, then the hooks of the layers above it (the
 * collective schedules). Nothing below calls up but through the
 * transport's upcalls, which shim_progress_init() sets. */
/* Sets the waiting policy for nlocal ranks sharing this node's cores, and
 * hands the transports their upcalls. Call once, before shim_ofi_open(). */
void shim_progress_init(int nlocal);
/* Whether polls read libfabric's completion queue: not when the on-node
 * transport reaches every rank (nothing is ever posted to libfabric). */
void shim_progress_poll_ofi(bool on);
/* One poll: the completion queue, then every hook. */
void shim_progress(void);
/* One step of a waiting loop: a poll, and yield the core after enough
 * fruitless polls in a row (*idle counts them; start it at 0). */
void shim_progress_wait(int *idle);
/* Work run on every poll, after the completion queue. */
typedef void shim_progress_hook_f(void *arg);
/* Adds fn(arg) to every later poll; hooks run in the order added and may
 * be re-entered from the transport's retries, so they guard themselves.
 * 0, or -ENOSPC when the table is full. */
int shim_progress_hook_add(shim_progress_hook_f *fn, void *arg);

/* ---- point to point (internal) ----------------------------------------- */
enum shim_send_mode {
    SHIM_SEND_STD = 0,
    SHIM_SEND_SYNC,
    SHIM_SEND_BUFFERED,
};
int shim_isend(const void *buf,
               size_t count,
               struct shim_datatype *dt,
               int dest,
               int tag,
               struct shim_comm *comm,
               unsigned ctx,
               enum shim_send_mode mode,
               struct shim_request **out);
int shim_irecv(void *buf,
               size_t count,
               struct shim_datatype *dt,
               int source,
               int tag,
               struct shim_comm *comm,
               unsigned ctx,
               struct shim_request **out);
/* Contiguous byte helpers used by collectives on the collective context. */
int shim_coll_isend(const void *buf,
                    size_t bytes,
                    int dest,
                    int tag,
                    struct shim_comm *comm,
                    struct shim_request **out);
int shim_coll_irecv(void *buf,
                    size_t bytes,
                    int source,
                    int tag,
                    struct shim_comm *comm,
                    struct shim_request **out);
void shim_bsend_finalize(void);
/* Where a message goes: libfabric, the on-node transport, or (a receive
 * from MPI_ANY_SOURCE on a communicator with ranks of both kinds) both. */
enum shim_route {
    SHIM_ROUTE_OFI = 1,
    SHIM_ROUTE_SHM,
    SHIM_ROUTE_BOTH,
};
/* The longest message shim_inject() sends to comm rank dest. */
size_t shim_inject_max(struct shim_comm *comm, int dest);
/* Sends len <= shim_inject_max() bytes to comm rank dest on context ctx
 * with no request: the data is copied before it returns. 0 or -errno. */
int shim_inject(const void *buf,
                size_t len,
                struct shim_comm *comm,
                unsigned ctx,
                int dest,
                int tag);
/* Withdraws a posted receive (MPI_Cancel); it completes as cancelled, or
 * as received when it matched first. 0 or -errno. */
int shim_recv_cancel(struct shim_request *req);

/* ---- checkpoint cut (ckpt.c) --------------------------------------------
 * What the cut needs to know of point-to-point traffic, kept where
 * messages are sent and completed: a plain increment per message, no
 * locks (the library is at most MPI_THREAD_SERIALIZED). Only messages on
 * a communicator's point-to-point context count; collectives' own
 * messages are complete when their call returns. */
struct shim_ckpt_counts {
    uint64_t *sent;  /* world rank -> messages sent to it */
    uint64_t *recvd; /* world rank -> messages from it received (matched) */
    /* Posted operations not yet complete (requests with ckpt set). */
    int64_t pending_sends;
    int64_t pending_recvs;
    /* Completions of such operations, ever: tells a stalled drain from a
     * slow one. */
    uint64_t completions;
};
extern struct shim_ckpt_counts shim_ckpt;
/* Sizes the counters for shim.size ranks; 0 or -ENOMEM. */
int shim_ckpt_init(void);
void shim_ckpt_finalize(void);
/* Whether messages on tag context ctx are the application's own. */
static inline bool shim_ckpt_counts_ctx(unsigned ctx)
{
    return (ctx & 1) == 0;
}
/* Counts a message sent to world rank wdest on context ctx. */
static inline void shim_ckpt_count_send(unsigned ctx, int wdest)
{
    if (shim_ckpt_counts_ctx(ctx))
        shim_ckpt.sent[wdest]++;
}
/* Marks req (a send or receive on context ctx about to be posted) as one
 * the cut waits for; undone by shim_ckpt_req_done() at completion, or by
 * shim_ckpt_req_unpost() when the post failed. */
static inline void shim_ckpt_req_post(struct shim_request *req, unsigned ctx)
{
    if (!shim_ckpt_counts_ctx(ctx))
        return;
    req->ckpt = true;
    if (req->kind == SHIM_REQ_SEND)
        shim_ckpt.pending_sends++;
    else
        shim_ckpt.pending_recvs++;
}
void shim_ckpt_req_unpost(struct shim_request *req);
/* req, marked by shim_ckpt_req_post(), has completed (progress.c). */
void shim_ckpt_req_done(struct shim_request *req);

/* The checkpoint entry points libshoal calls through weak references
 * when the program links this MPI (see README.md, "Checkpoints"). Both are
 * collective over MPI_COMM_WORLD and not MPI calls: they return 0 or a
 * negative errno, never invoke an error handler, and -ENOTCONN outside
 * MPI_Init .. MPI_Finalize.
 *
 * shoal_mpi_ckpt_agree: *flag becomes the maximum of every rank's *flag;
 * untouched on failure. -EINVAL when flag is NULL.
 *
 * shoal_mpi_ckpt_quiesce: drains point-to-point traffic so that no message
 * crosses the cut: 0 when every message sent before the call has been
 * received (matched) by the application and every send has completed;
 * -EBUSY when some message never will be (its receive is not posted, so
 * it waits or would wait unexpected, and a restart would lose it); the
 * same result on every rank. The application's requests stay its own:
 * completed sends and receives are still to be waited for by it. */
SHOAL_MPI_API int shoal_mpi_ckpt_agree(int *flag);
SHOAL_MPI_API int shoal_mpi_ckpt_quiesce(void);

/* ---- collectives ------------------------------------------------------- */
/* Frees what the collectives cached on comm; comm stays valid. */
void shim_coll_comm_release(struct shim_comm *comm);
int shim_coll_barrier(struct shim_comm *comm);
int shim_coll_allreduce(const void *sendbuf,
                        void *recvbuf,
                        int count,
                        struct shim_datatype *dt,
                        struct shim_op *op,
                        struct shim_comm *comm);
int shim_coll_allgather(const void *sendbuf,
                        int sendcount,
                        struct shim_datatype *sendtype,
                        void *recvbuf,
                        int recvcount,
                        struct shim_datatype *recvtype,
                        struct shim_comm *comm);

/* ---- libfabric layer --------------------------------------------------- */
struct shim_ofi_state {
    struct fi_info *info;
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_av *av;
    struct fid_cq *cq;
    struct fid_ep *ep;
    fi_addr_t *addrs; /* world rank -> address */
    size_t inject_size;
    bool mr_local; /* provider needs local buffers registered */
    bool rma;      /* the endpoint was opened with FI_RMA */
    char prov_name[64];
};
extern struct shim_ofi_state shim_ofi;

/* Opens libfabric itself (dlopen) once; shim_ofi_open() does it too.
 * 0, or -ENOENT with errbuf naming the cause. */
int shim_ofi_load(char *errbuf, size_t errlen);
/* libfabric's fi_version(), or 0 when it is not loaded. */
uint32_t shim_ofi_version(void);
/* fi_strerror(err), or strerror(err) when libfabric is not loaded. */
const char *shim_ofi_strerror(int err);
/* Opens fabric, domain, endpoint, AV and CQ. prov_name forces a provider
 * (NULL: choose by locality); single_node tells whether every rank shares
 * this node. Fills errbuf on failure. */
int shim_ofi_open(const char *prov_name,
                  bool single_node,
                  char *errbuf,
                  size_t errlen);
int shim_ofi_getname(void *name, size_t *len);
/* Sizes the rank-to-address table for count ranks; 0 or -ENOMEM. */
int shim_ofi_av_prepare(int count);
/* Inserts the endpoint name of rank (in rank order); 0 or -errno. */
int shim_ofi_insert(const void *name, int rank);
void shim_ofi_close(void);
/* What the transport calls back into the layer above it (progress.c),
 * so that it never calls up by name. */
struct shim_ofi_upcalls {
    /* Every libfabric operation of req has completed; the transport has
     * filled in what the completions said (source, tag, count, error)
     * and closed req's registrations. */
    void (*req_done)(struct shim_request *req, void *arg);
    /* The provider is out of resources (-FI_EAGAIN): make progress before
     * the transport tries again. */
    void (*busy)(void *arg);
    void *arg;
};
/* up is borrowed and must stay valid while the transport is in use. */
void shim_ofi_set_upcalls(const struct shim_ofi_upcalls *up);
/* Reads the completion queue and dispatches; returns completions seen. */
int shim_ofi_progress(void);
int shim_ofi_send(struct shim_request *req,
                  const void *buf,
                  size_t len,
                  int world_dest,
                  uint64_t tag,
                  bool sync,
                  uint32_t sync_id);
/* Sends len <= inject_size bytes with no completion; 0 or -errno. */
int shim_ofi_inject(const void *buf, size_t len, int world_dest, uint64_t tag);
/* Posts a receive; ack selects the request's acknowledgement context. */
int shim_ofi_recv(struct shim_request *req,
                  bool ack,
                  void *buf,
                  size_t len,
                  uint64_t tag,
                  uint64_t ignore);
int shim_ofi_peek(struct shim_request *req,
                  uint64_t tag,
                  uint64_t ignore,
                  bool claim);
int shim_ofi_claim_recv(struct shim_request *req, void *buf, size_t len);
int shim_ofi_cancel(struct shim_request *req);

/* A one-sided libfabric operation (fi_write, fi_read), owned by the caller
 * and valid until done(op, err) runs from the completion dispatch (err 0
 * or a positive libfabric code); done must not post. op.req is NULL:
 * that tells it from a request's operations. */
struct shim_ofi_rma;
typedef void shim_ofi_rma_done_f(struct shim_ofi_rma *op, int err);
struct shim_ofi_rma {
    struct shim_ofi_op op; /* first */
    shim_ofi_rma_done_f *done;
    void *arg;
    struct fid_mr *mr; /* FI_MR_LOCAL: the origin buffer's registration */
};
/* Registers len bytes at buf (allocated memory, len > 0) for remote reads
 * and writes as the provider's mr_mode requires; *key and *addr are what
 * an origin names the start of buf with. Only when shim_ofi.rma. 0 or a
 * negative libfabric code; close *mr with shim_ofi_mr_close(). */
int shim_ofi_mr_reg(
    void *buf, size_t len, struct fid_mr **mr, uint64_t *key, uint64_t *addr);
/* Closes a registration of shim_ofi_mr_reg(); NULL is accepted. */
void shim_ofi_mr_close(struct fid_mr *mr);
/* Writes (write) len bytes of buf to, or reads them from, world rank
 * world_dest's memory at addr under key; op->done runs once a write's
 * data is delivered into the target's memory or a read's data is in buf.
 * buf stays borrowed until then. 0 or a negative libfabric code (done
 * then never runs). */
int shim_ofi_rma(struct shim_ofi_rma *op,
                 bool write,
                 void *buf,
                 size_t len,
                 int world_dest,
                 uint64_t addr,
                 uint64_t key);

/* ---- process-wide state ------------------------------------------------ */
struct shim_global {
    bool initialized;
    bool finalized;
    int thread_level;
    int rank;
    int size;
    int appnum;
    int *node_of; /* world rank -> node index */
    int nnodes;
    char hostname[MPI_MAX_PROCESSOR_NAME];
    struct shim_comm *world;
    struct shim_comm *self;
    struct shim_table comms;
    struct shim_table groups;
    struct shim_table datatypes;
    struct shim_table ops;
    struct shim_table requests;
    struct shim_table errhandlers;
};
extern struct shim_global shim;

/* ---- info objects (info.c) ---------------------------------------------- */
/* 0 when info is MPI_INFO_NULL or a live info object, else
 * SHIM_ECLASS(MPI_ERR_INFO). */
int shim_info_check(MPI_Info info);
void shim_info_finalize(void);

/* ---- errors ------------------------------------------------------------ */
/* Converts an internal code to an MPI error class, invokes comm's error
 * handler (MPI_COMM_WORLD's when comm is NULL) and returns the class.
 * fn names the MPI call. Under MPI_ERRORS_ARE_FATAL it prints one line
 * naming rank, call, provider and cause, and aborts the job. */
int shim_err(struct shim_comm *comm, const char *fn, int code);
/* As shim_err() for any object kind: h is the object's error handler and
 * obj its handle, handed to a user handler (which takes a pointer to the
 * handle whatever its kind: MPI_Comm and MPI_Win are both int). */
int shim_err_handler(MPI_Errhandler h, int obj, const char *fn, int code);
/* Whether h names an error handler, predefined or created. */
bool shim_errhandler_valid(MPI_Errhandler h);
int shim_err_class(int code);
void shim_errhandler_finalize(void);
const char *shim_class_string(int mpiclass);
/* Codes above the predefined classes (errcode.c): for code, *cls its
 * class and *text its text (NULL when none); false for other codes. */
bool shim_errcode_lookup(int code, int *cls, const char **text);
/* The code of a collective refused on an intercommunicator (class
 * MPI_ERR_COMM, with a text saying so). */
int shim_errcode_inter_coll(void);
/* The value of the MPI_LASTUSEDCODE attribute. */
extern int shim_err_lastused;
/* For failures that leave no caller to return to (inside progress): prints
 * the fatal line and aborts the job. */
_Noreturn void shim_fatal(const char *what);
#define SHOAL_MPI_OOM() shim_fatal("out of memory")

/* ---- PMI-1 client ------------------------------------------------------ */
#include "mpi-shim/pmi_client.h"

#endif
