/* SPDX-License-Identifier: MIT */
/* shm.h - the on-node transport: ranks on one node exchange messages
 * through a shared segment instead of libfabric, and this module matches
 * them to receives itself.
 *
 * Segment. One per node, made by the node's lowest rank at MPI_Init and
 * sized before use (it fails cleanly when /dev/shm lacks room, and the
 * node then falls back to libfabric with one warning). It is unlinked as
 * soon as it is sized (shim_shm_file_make): the other ranks open it
 * through the creator's descriptor, whose /proc path goes through the PMI
 * wire-up, and after a PMI barrier the creator closes that descriptor, so
 * only the mappings keep it. A job killed at any point, even while its
 * ranks wait for each other in MPI_Init, leaves nothing in /dev/shm.
 *
 * Rings. One single-producer/single-consumer ring of fixed-size cells per
 * ordered pair of local ranks (the diagonal serves sends to self); see
 * shm_ring.h. Per pair rather than one ring per receiver with
 * fetch-and-add: no read-modify-write, so no cache line bounces between
 * several senders; a message longer than a cell keeps its cells
 * consecutive in its ring, so the receiver streams it without
 * reassembly; per-pair FIFO order is MPI's non-overtaking rule for free;
 * and a sender killed halfway through a cell can only wedge its own ring,
 * not every sender's. The cost is nlocal^2 rings (the receiver polls
 * nlocal of them), which the ring size shrinks to bound (shm.c).
 *
 * Protocols. A message up to the rendezvous threshold is copied through
 * cells (eager: the first cell carries the header, the rest follow in
 * order; a sender never waits for its receiver, an unexpected message is
 * buffered by the receiver). Above it, when the receiver can read the
 * sender's memory with process_vm_readv (cross-memory attach, checked once
 * at start-up per rank: ptrace restrictions make it fail with EPERM), the
 * sender sends only a header (RTS) and the receiver copies straight from
 * the sender's buffer once matched, then answers FIN; otherwise the data
 * is pipelined through the cells as for eager. From SHOAL_MPI_SHM_SPLIT
 * bytes (when both sides may use cross-memory attach) the copy is shared:
 * the receiver publishes the job in a slot of the segment and both sides
 * claim chunks of it, the receiver reading with process_vm_readv, the
 * sender (whenever it polls while waiting for its FIN) writing with
 * process_vm_writev; the receiver goes on with other messages once every
 * chunk is claimed, and the receive completes (FIN) when the sender's
 * chunks are in. A synchronous send is answered by an ACK cell when
 * matched (a FIN is one).
 *
 * Matching. Per tag context: a posted queue and an unexpected queue, both
 * in order, wildcards on source and tag; a message matches the oldest
 * posted receive that fits, a receive the oldest message. A receive with
 * MPI_ANY_SOURCE on a communicator that also has off-node ranks is posted
 * to both transports (pt2pt.c, "partner" in struct shim_shm_req): when
 * this side matches, it withdraws the libfabric copy with fi_cancel and
 * waits for the outcome; if libfabric had matched already, the message
 * stays here for the next receive, in its place.
 *
 * Threading: none (MPI_THREAD_SERIALIZED at most). Functions return 0 or a
 * negative errno. A peer that dies is seen by the runtime, which ends the
 * job; a read from a dead peer's memory (ESRCH) is fatal at once. */
#ifndef SHOAL_MPI_SHIM_SHM_H
#define SHOAL_MPI_SHIM_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shim_request;
struct shim_ofi_upcalls;

/* A unit of a peer's send queue: a request's message, or a control cell
 * or an injected copy (req NULL, freed once pushed). */
struct shim_shm_item {
    struct shim_shm_item *next;
    struct shim_request *req;
    const char *buf;
    size_t len;
    size_t off; /* bytes pushed so far */
    bool started;
    uint32_t kind;
    uint32_t ctx;
    int32_t src;
    int32_t tag;
    uint32_t sync;
    uint64_t cookie;
};

/* The transport's part of a request. */
struct shim_shm_req {
    struct shim_request *next; /* posted queue links */
    struct shim_request *prev;
    char *buf;  /* receive: where data lands */
    size_t cap; /* receive: its size */
    unsigned ctx;
    int src;        /* may be MPI_ANY_SOURCE */
    int tag;        /* may be MPI_ANY_TAG */
    bool posted;    /* in a posted queue */
    bool partner;   /* also posted to libfabric */
    bool withdrawn; /* its libfabric copy is being cancelled by this side */
    bool arming;    /* its libfabric copy is being posted: not matched here */
    int need;       /* send: events left before completion */
    void *msg;      /* a message claimed by MPI_Mprobe/Improbe */
    struct shim_shm_item item;
};

/* Whether the transport is on and serves world rank r (r on this node,
 * whose segment exists). */
bool shim_shm_reaches(int world_rank);
/* Whether every world rank is served (no libfabric traffic at all). */
bool shim_shm_reaches_all(void);
/* The longest message shim_shm_inject() takes. */
size_t shim_shm_inject_max(void);

/* Start-up, in this order around the PMI wire-up (init.c): create (the
 * node's first rank makes the segment and publishes its path, or "-" when
 * it could not, with one warning on stderr), then after a PMI barrier
 * attach, then after another PMI barrier finish (close the creator's
 * descriptor, probe cross-memory attach). SHOAL_MPI_SHM=0 turns the transport
 * off: every call is then a no-op and nothing is reached. node is this rank's
 * node index, local[] the world ranks on it ascending (copied). errbuf names
 * what failed. */
int shim_shm_create(int node, const int *local, int nlocal);
int shim_shm_attach(char *errbuf, size_t errlen);
void shim_shm_finish(void);
/* Unmaps the segment and frees everything; safe when never set up. */
void shim_shm_close(void);

/* A POSIX shared-memory file that never outlives its users: made in
 * /dev/shm under name, sized to bytes (its pages reserved, so a /dev/shm
 * without room fails here, not with SIGBUS later) and unlinked at once.
 * Peers on the node open it by path, "/proc/PID/fd/FD" of the maker's
 * descriptor, which the maker keeps open until they have it
 * (shim_shm_file_done). Where /proc cannot reopen it (no /proc), path is
 * the name itself and the name stays until shim_shm_file_done. make
 * returns 0 or -errno with *what naming the step that failed, and leaves
 * nothing behind on failure. */
struct shim_shm_file {
    int fd;
    char name[64];
    char path[64];
};
int shim_shm_file_make(struct shim_shm_file *f,
                       const char *name,
                       size_t bytes,
                       const char **what);
/* Opens the file a peer made, by its path; a descriptor or -errno. */
int shim_shm_file_open(const char *path);
/* Closes the maker's descriptor (and unlinks the name if it is still
 * there); safe to call again. */
void shim_shm_file_done(struct shim_shm_file *f);

/* up is borrowed and must stay valid while the transport is in use. */
void shim_shm_set_upcalls(const struct shim_ofi_upcalls *up);
/* Drains incoming rings and pushes queued sends; returns events seen. */
int shim_shm_progress(void);

/* Sends len bytes at buf (borrowed until req completes) to world rank
 * wdest, as src with tag on context ctx. req completes through the
 * upcalls, perhaps before this returns. 0 or -errno. */
int shim_shm_send(struct shim_request *req,
                  const void *buf,
                  size_t len,
                  int wdest,
                  unsigned ctx,
                  int src,
                  int tag,
                  bool sync);
/* Sends len <= shim_shm_inject_max() bytes with no request: copied at
 * once (into the ring, or queued). 0 or -ENOMEM. */
int shim_shm_inject(
    const void *buf, size_t len, int wdest, unsigned ctx, int src, int tag);
/* Posts a receive of up to cap bytes into buf; src and tag may be the
 * wildcards. Returns 1 when an unexpected message matched at once (req
 * then completes now or when the rest of the message arrives), 0 when
 * posted. */
int shim_shm_recv(struct shim_request *req,
                  void *buf,
                  size_t cap,
                  unsigned ctx,
                  int src,
                  int tag);
/* req (posted here, partner and arming set) is now posted to libfabric
 * too: a message that arrived meanwhile is matched to it now, after
 * withdrawing the libfabric copy (unless that matched first). */
void shim_shm_partner_posted(struct shim_request *req);
/* Looks for an unexpected message matching (ctx, src, tag). Found: fills
 * req's source, tag and count_bytes, and with claim takes the message off
 * the queue into req (for shim_shm_mrecv()); returns 1. Else 0. */
int shim_shm_probe(
    struct shim_request *req, unsigned ctx, int src, int tag, bool claim);
/* Receives the message req claimed into buf (cap bytes). */
void shim_shm_mrecv(struct shim_request *req, void *buf, size_t cap);
/* Takes a posted receive off the queue. Without a libfabric partner it
 * completes as cancelled; with one, the caller cancels that. Returns
 * whether req was posted here. */
bool shim_shm_cancel(struct shim_request *req);
/* The libfabric partner of req matched: the receive leaves this side. */
void shim_shm_unpost(struct shim_request *req);

/* Node-level collectives in the segment (coll_node.c). Each local rank
 * has a slot of its own: a published counter with its contribution, and a
 * result a node leader publishes. Counters count the node collectives
 * each rank has entered; callers use these only for blocking collectives
 * that every rank of the node enters, and that no rank leaves before
 * every other has entered (allreduce, barrier), so all ranks count alike.
 * A contribution goes to one of two buffers by the counter's parity: a
 * rank writes the buffer of collective k + 2 only after every rank has
 * entered k + 1, so after all have read the contributions of k. */

/* The longest contribution a slot holds; 0 without a segment. */
size_t shim_shm_coll_max(void);
/* Ranks on this node, and the local index of world rank r (-1 when not
 * on this node). */
int shim_shm_nlocal(void);
int shim_shm_local_index(int world_rank);
/* Enters this rank's next node collective with n <= shim_shm_coll_max()
 * bytes at buf (none when n is 0): copies and publishes them. Returns the
 * collective's number. */
uint64_t shim_shm_coll_post(const void *buf, size_t n);
/* Local rank i's contribution (n bytes) to collective seq, or NULL while
 * i has not entered it. */
const void *shim_shm_coll_peer(int i, uint64_t seq, size_t n);
/* The leader publishes the result (n bytes at buf) of collective seq. */
void shim_shm_coll_publish(uint64_t seq, const void *buf, size_t n);
/* The result of collective seq published by local rank leader, or NULL
 * while it has not. */
const void *shim_shm_coll_result(int leader, uint64_t seq, size_t n);

#endif
