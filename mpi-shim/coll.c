/* SPDX-License-Identifier: MIT */
/* coll.c - collective operations as schedules.
 *
 * Every collective is first written down as a schedule: phases of sends
 * and receives separated by fences, with local steps (reduce, copy,
 * unpack) that run once the phase's messages are complete. A blocking
 * collective runs its schedule to the end at once; a nonblocking one hangs
 * it on the active list, which the progress engine advances inside any MPI
 * call. One code path thus serves both, as in MPICH's schedule engine.
 *
 * Algorithms follow MPICH and Thakur/Rabenseifner/Gropp (2005): binomial
 * trees for small broadcasts, reductions, gathers and scatters; scatter +
 * ring allgather for large broadcasts; recursive doubling for small
 * allreduce and Rabenseifner's reduce-scatter + allgather for large
 * commutative allreduce; Bruck for small allgather and alltoall, ring
 * allgather and pairwise exchange for large ones. Each collective uses the
 * communicator's collective context with its sequence number as the tag,
 * so overlapping nonblocking collectives never match each other's data. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"
#include "util/bug.h"

/* Size thresholds (bytes) choosing between algorithms. */
enum {
    BCAST_LONG = 256 * 1024,
    ALLREDUCE_SHORT = 2048,
    GATHER_SHORT = 64 * 1024,
    ALLGATHER_SHORT = 80 * 1024,
    ALLTOALL_SHORT = 256,
};

enum step_kind {
    ST_SEND,
    ST_RECV,
    ST_REDUCE,
    ST_COPY,
    ST_UNPACK,
    ST_FENCE,
};

struct step {
    enum step_kind kind;
    const void *src;
    void *dst;
    size_t bytes;
    int peer;
    size_t count;
    MPI_Datatype rdt;
    struct shim_op *op;
    struct shim_datatype *udt;
    struct shim_request *req;
};

struct shim_sched {
    struct step *steps;
    int n;
    int cap;
    int cur;
    int phase_end;
    struct shim_comm *comm;
    int tag;
    /* The group the builders currently write for: p ranks, this one r,
     * peers translated to comm ranks through map (NULL: the whole comm).
     * Node-aware collectives switch it between a node and its leaders. */
    int p;
    int r;
    const int *map;
    void **tmps;
    int ntmp;
    int tmpcap;
    /* Unpacks into the user's buffers, appended when the schedule ends. */
    struct step *finals;
    int nfinal;
    int finalcap;
    struct shim_request *ureq;
    bool done;
    int err;
    struct shim_sched *next;
};

static struct shim_sched *active;
static bool in_progress;

/* ---- building ----------------------------------------------------------- */
static int sched_new(struct shim_comm *comm, struct shim_sched **out)
{
    struct shim_sched *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->comm = comm;
    s->tag = (int)(comm->coll_seq++ & SHIM_TAGV_MASK);
    s->phase_end = -1;
    s->p = comm->size;
    s->r = comm->rank;
    *out = s;
    return 0;
}

static void sched_free(struct shim_sched *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->steps[i].req)
            shim_req_free(s->steps[i].req);
    for (int i = 0; i < s->ntmp; i++)
        free(s->tmps[i]);
    free(s->tmps);
    free(s->steps);
    free(s->finals);
    free(s);
}

static struct step *push(struct shim_sched *s, enum step_kind kind)
{
    if (s->err)
        return NULL;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        struct step *st = realloc(s->steps, sizeof(*st) * cap);
        if (!st) {
            s->err = -ENOMEM;
            return NULL;
        }
        s->steps = st;
        s->cap = cap;
    }
    struct step *st = &s->steps[s->n++];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    return st;
}

static void *tmp_alloc(struct shim_sched *s, size_t bytes)
{
    void *p;

    if (s->err)
        return NULL;
    if (s->ntmp == s->tmpcap) {
        int cap = s->tmpcap ? 2 * s->tmpcap : 4;
        void **t = realloc(s->tmps, sizeof(*t) * cap);
        if (!t) {
            s->err = -ENOMEM;
            return NULL;
        }
        s->tmps = t;
        s->tmpcap = cap;
    }
    p = malloc(bytes ? bytes : 1);
    if (!p) {
        s->err = -ENOMEM;
        return NULL;
    }
    s->tmps[s->ntmp++] = p;
    return p;
}

static void
s_send(struct shim_sched *s, const void *buf, size_t bytes, int peer)
{
    struct step *st = push(s, ST_SEND);
    if (st) {
        st->src = buf;
        st->bytes = bytes;
        st->peer = s->map ? s->map[peer] : peer;
    }
}

static void s_recv(struct shim_sched *s, void *buf, size_t bytes, int peer)
{
    struct step *st = push(s, ST_RECV);
    if (st) {
        st->dst = buf;
        st->bytes = bytes;
        st->peer = s->map ? s->map[peer] : peer;
    }
}

/* inout = in op inout, count elements of rdt. */
static void s_reduce(struct shim_sched *s,
                     const void *in,
                     void *inout,
                     size_t count,
                     MPI_Datatype rdt,
                     struct shim_op *op)
{
    struct step *st = push(s, ST_REDUCE);
    if (st) {
        st->src = in;
        st->dst = inout;
        st->count = count;
        st->rdt = rdt;
        st->op = op;
    }
}

static void
s_copy(struct shim_sched *s, const void *src, void *dst, size_t bytes)
{
    struct step *st;

    if (src == dst || bytes == 0)
        return;
    st = push(s, ST_COPY);
    if (st) {
        st->src = src;
        st->dst = dst;
        st->bytes = bytes;
    }
}

static void s_fence(struct shim_sched *s)
{
    if (s->n > 0 && s->steps[s->n - 1].kind != ST_FENCE)
        push(s, ST_FENCE);
}

/* ---- user buffers as contiguous bytes ----------------------------------- */
/* The bytes of count elements of t at buf, packed now if t has holes. */
static const void *in_bytes(struct shim_sched *s,
                            const void *buf,
                            size_t count,
                            struct shim_datatype *t)
{
    if (t->contig)
        return (const char *)buf + t->true_lb;
    void *p = tmp_alloc(s, count * t->size);
    if (p)
        shim_dt_pack(t, buf, count, p);
    return p;
}

/* Where count elements of t bound for buf can be received as bytes; for
 * types with holes a buffer unpacked into buf when the schedule ends. */
static void *out_bytes(struct shim_sched *s,
                       void *buf,
                       size_t count,
                       struct shim_datatype *t)
{
    if (t->contig)
        return (char *)buf + t->true_lb;
    void *p = tmp_alloc(s, count * t->size);
    if (!p)
        return NULL;
    if (s->nfinal == s->finalcap) {
        int cap = s->finalcap ? 2 * s->finalcap : 4;
        struct step *f = realloc(s->finals, sizeof(*f) * cap);
        if (!f) {
            s->err = -ENOMEM;
            return NULL;
        }
        s->finals = f;
        s->finalcap = cap;
    }
    struct step *f = &s->finals[s->nfinal++];
    memset(f, 0, sizeof(*f));
    f->kind = ST_UNPACK;
    f->src = p;
    f->dst = buf;
    f->count = count;
    f->udt = t;
    return p;
}

static void sched_close(struct shim_sched *s)
{
    if (s->nfinal == 0)
        return;
    s_fence(s);
    for (int i = 0; i < s->nfinal; i++) {
        struct step *st = push(s, ST_UNPACK);
        if (st)
            *st = s->finals[i];
    }
}

/* ---- running ------------------------------------------------------------ */
static int post(struct shim_sched *s, struct step *st)
{
    if (st->kind == ST_SEND)
        return shim_coll_isend(st->src, st->bytes, st->peer, s->tag, s->comm,
                               &st->req);
    return shim_coll_irecv(st->dst, st->bytes, st->peer, s->tag, s->comm,
                           &st->req);
}

static void run_local(struct shim_sched *s, struct step *st)
{
    int rc;

    switch (st->kind) {
    case ST_REDUCE:
        rc = shim_op_apply_image(st->op, st->src, st->dst, st->count, st->rdt);
        if (rc && !s->err)
            s->err = rc;
        break;
    case ST_COPY:
        memmove(st->dst, st->src, st->bytes);
        break;
    case ST_UNPACK:
        shim_dt_unpack(st->udt, st->src, st->count * st->udt->size, st->dst);
        break;
    default:
        if (st->req) {
            if (st->req->error && !s->err)
                s->err = SHIM_ECLASS(st->req->error);
            shim_req_free(st->req);
            st->req = NULL;
        }
        break;
    }
}

/* Moves s as far as it can go without waiting; true once it is done. */
static bool sched_advance(struct shim_sched *s)
{
    while (!s->done) {
        if (s->phase_end < 0) {
            int e = s->cur;
            if (s->cur >= s->n || s->err) {
                s->done = true;
                break;
            }
            while (e < s->n && s->steps[e].kind != ST_FENCE)
                e++;
            s->phase_end = e;
            /* Receives first, so the matching sends find them posted. */
            for (int pass = 0; pass < 2; pass++) {
                enum step_kind want = pass == 0 ? ST_RECV : ST_SEND;
                for (int i = s->cur; i < e; i++) {
                    if (s->steps[i].kind != want)
                        continue;
                    int rc = post(s, &s->steps[i]);
                    if (rc && !s->err)
                        s->err = rc;
                }
            }
        }
        for (int i = s->cur; i < s->phase_end; i++)
            if (s->steps[i].req && !s->steps[i].req->done)
                return false;
        for (int i = s->cur; i < s->phase_end; i++)
            run_local(s, &s->steps[i]);
        s->cur = s->phase_end + 1;
        s->phase_end = -1;
    }
    return true;
}

void shim_sched_progress_all(void)
{
    struct shim_sched **p = &active;

    if (in_progress || !active)
        return;
    in_progress = true;
    while (*p) {
        struct shim_sched *s = *p;
        if (sched_advance(s)) {
            *p = s->next;
            s->ureq->error = shim_err_class(s->err);
            s->ureq->done = true;
            s->ureq->sched = NULL;
            if (s->ureq->user_freed)
                shim_req_free(s->ureq);
            sched_free(s);
        } else {
            p = &s->next;
        }
    }
    in_progress = false;
}

/* Runs s to completion and frees it; returns its error. */
static int sched_run(struct shim_sched *s)
{
    int idle = 0;
    int rc;

    sched_close(s);
    while (!sched_advance(s))
        shim_progress_wait(&idle);
    rc = s->err;
    sched_free(s);
    return rc;
}

/* Starts s in the background behind a new user request. */
static int sched_start(struct shim_sched *s, MPI_Request *request)
{
    struct shim_request *r;
    int rc;

    sched_close(s);
    if (s->err) {
        rc = s->err;
        sched_free(s);
        return rc;
    }
    r = shim_req_alloc(SHIM_REQ_COLL);
    if (!r) {
        sched_free(s);
        return -ENOMEM;
    }
    rc = shim_req_publish(r);
    if (rc) {
        shim_req_free(r);
        sched_free(s);
        return rc;
    }
    r->comm = s->comm;
    r->sched = s;
    s->ureq = r;
    s->next = active;
    active = s;
    *request = r->handle;
    shim_sched_progress_all();
    return 0;
}

static int finish(struct shim_sched *s, MPI_Request *request)
{
    if (!s)
        return -ENOMEM;
    return request ? sched_start(s, request) : sched_run(s);
}

/* ---- node-aware structure ------------------------------------------------
 * When a communicator spans several nodes and some node holds more than
 * one of its ranks, Barrier, Bcast, Reduce, Allreduce and Allgather run in
 * two levels (as MPICH's and Open MPI's hierarchical collectives do):
 * within each node to a leader, among the leaders, then within each node
 * again, so data crosses the network once per node rather than once per
 * rank. Both levels are written into the one schedule of the collective,
 * by pointing its view (s->p, s->r, s->map) at the node's ranks or at the
 * leaders and reusing the flat builders; the nonblocking variants thus get
 * the same algorithms. No sub-communicators are made: that would cost
 * context ids and a collective to agree on them, while the node of every
 * rank is already known everywhere (shim.node_of[]), so each process
 * derives the same structure alone, once per communicator.
 *
 * Flat algorithms remain for a communicator on one node or with one rank
 * per node (nothing to gain), for non-commutative reductions unless every
 * node's ranks are consecutive (the leaders' order must be rank order),
 * for Allgather when nodes are not consecutive (blocks would need
 * permuting), and for Scatter, Gather, Alltoall, the vector variants,
 * Reduce_scatter and Scan, where every rank's data is distinct and
 * funnelling it through leaders adds copies without saving network bytes.
 * SHOAL_MPI_COLL_FLAT=1 forces the flat algorithms, for comparison. */
static bool coll_flat_forced(void)
{
    static int forced = -1;

    if (forced < 0) {
        const char *v = getenv("SHOAL_MPI_COLL_FLAT");
        forced = v && *v && strcmp(v, "0") != 0;
    }
    return forced;
}

static void nodemap_free(struct shim_nodemap *nm)
{
    if (!nm)
        return;
    free(nm->node);
    free(nm->first);
    free(nm->count);
    free(nm->local);
    free(nm);
}

void shim_coll_comm_release(struct shim_comm *comm)
{
    nodemap_free(comm->nodemap);
    comm->nodemap = NULL;
    comm->nodemap_built = false;
}

static struct shim_nodemap *nodemap_build(const struct shim_comm *c)
{
    int p = c->size;
    struct shim_nodemap *nm = calloc(1, sizeof(*nm));
    int *seen = calloc((size_t)shim.nnodes, sizeof(int));

    if (!nm || !seen)
        goto error;
    nm->node = malloc(sizeof(int) * p);
    nm->first = malloc(sizeof(int) * p);
    nm->count = calloc((size_t)p, sizeof(int));
    nm->local = malloc(sizeof(int) * p);
    if (!nm->node || !nm->first || !nm->count || !nm->local)
        goto error;
    /* seen[] maps a world node to 1 + its index here. */
    for (int i = 0; i < p; i++) {
        int wn = shim.node_of[c->world[i]];
        if (!seen[wn]) {
            nm->first[nm->nnodes] = i;
            seen[wn] = ++nm->nnodes;
        }
        nm->node[i] = seen[wn] - 1;
        nm->count[nm->node[i]]++;
    }
    nm->contiguous = true;
    for (int i = 1; i < p; i++)
        if (nm->node[i] != nm->node[i - 1] && nm->first[nm->node[i]] != i)
            nm->contiguous = false;
    nm->mynode = nm->node[c->rank];
    for (int i = 0; i < p; i++) {
        if (nm->node[i] != nm->mynode)
            continue;
        if (i == c->rank)
            nm->mylocal = nm->nlocal;
        nm->local[nm->nlocal++] = i;
    }
    free(seen);
    return nm;
error:
    free(seen);
    nodemap_free(nm);
    return NULL;
}

/* The node structure of c when node-aware algorithms apply, else NULL.
 * Built on first use; a failed allocation just leaves c flat. */
static const struct shim_nodemap *nodemap_get(struct shim_comm *c)
{
    if (!c->nodemap_built) {
        c->nodemap_built = true;
        if (c->size > 2 && shim.nnodes > 1 && !coll_flat_forced()) {
            c->nodemap = nodemap_build(c);
            if (c->nodemap
                && (c->nodemap->nnodes == 1 || c->nodemap->nnodes == c->size)) {
                nodemap_free(c->nodemap);
                c->nodemap = NULL;
            }
        }
    }
    return c->nodemap;
}

static void view_node(struct shim_sched *s, const struct shim_nodemap *nm)
{
    s->p = nm->nlocal;
    s->r = nm->mylocal;
    s->map = nm->local;
}

/* Views the leaders, leaders[k] the rank standing for node k; false (and
 * the view unchanged) when this rank is not one of them. */
static bool view_leaders(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         const int *leaders)
{
    if (leaders[nm->mynode] != s->comm->rank)
        return false;
    s->p = nm->nnodes;
    s->r = nm->mynode;
    s->map = leaders;
    return true;
}

static void view_comm(struct shim_sched *s)
{
    s->p = s->comm->size;
    s->r = s->comm->rank;
    s->map = NULL;
}

/* The leaders of nm's nodes: each node's lowest rank, but root for its
 * own node when root >= 0. Lives as long as s. */
static const int *
leaders_for(struct shim_sched *s, const struct shim_nodemap *nm, int root)
{
    int *l = tmp_alloc(s, sizeof(int) * nm->nnodes);

    if (!l)
        return NULL;
    memcpy(l, nm->first, sizeof(int) * nm->nnodes);
    if (root >= 0)
        l[nm->node[root]] = root;
    return l;
}

/* The index in this node's view of the comm rank leader. */
static int local_index(const struct shim_nodemap *nm, int leader)
{
    for (int i = 0; i < nm->nlocal; i++)
        if (nm->local[i] == leader)
            return i;
    SHOAL_BUG("node leader is not on its node");
}

/* The two-level builders, below the flat ones. */
struct red;
static void barrier_nodes(struct shim_sched *s, const struct shim_nodemap *nm);
static void bcast_nodes(struct shim_sched *s,
                        const struct shim_nodemap *nm,
                        void *buf,
                        size_t n,
                        int root);
static void allreduce_nodes(struct shim_sched *s,
                            const struct shim_nodemap *nm,
                            void *acc,
                            const struct red *rd);
static void reduce_tree(
    struct shim_sched *s, void *acc, void *out, const struct red *rd, int root);
static bool reduce_node_aware(const struct shim_nodemap *nm,
                              const struct shim_op *op);
static void reduce_nodes(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         void *acc,
                         void *out,
                         const struct red *rd,
                         int root);

static bool allgather_node_aware(const struct shim_nodemap *nm);
static void allgather_nodes(struct shim_sched *s,
                            const struct shim_nodemap *nm,
                            char *out,
                            size_t n);

/* ---- barrier: dissemination --------------------------------------------- */
static void build_barrier(struct shim_sched *s)
{
    int p = s->p, r = s->r;

    for (int k = 1; k < p; k <<= 1) {
        s_recv(s, NULL, 0, (r - k + p) % p);
        s_send(s, NULL, 0, (r + k) % p);
        s_fence(s);
    }
}

/* ---- broadcast ----------------------------------------------------------- */
static void bcast_binomial(struct shim_sched *s, void *buf, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    int mask = 1;

    while (mask < p) {
        if (vr & mask) {
            s_recv(s, buf, n, (r - mask + p) % p);
            s_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1)
        if (vr + mask < p)
            s_send(s, buf, n, (r + mask) % p);
    s_fence(s);
}

/* Van de Geijn: binomial scatter of p chunks, then a ring allgather. */
static void
bcast_scatter_ring(struct shim_sched *s, void *buf, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    size_t chunk = (n + (size_t)p - 1) / (size_t)p;
    char *b = buf;
    int mask = 1;

#define CH_LO(i) ((size_t)(i)*chunk < n ? (size_t)(i)*chunk : n)
    while (mask < p) {
        if (vr & mask) {
            size_t lo = CH_LO(vr), hi = CH_LO(vr + mask);
            s_recv(s, b + lo, hi - lo, (r - mask + p) % p);
            s_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        if (vr + mask < p) {
            size_t lo = CH_LO(vr + mask), hi = CH_LO(vr + 2 * mask);
            if (hi > lo)
                s_send(s, b + lo, hi - lo, (r + mask) % p);
        }
    }
    s_fence(s);
    int left = (r - 1 + p) % p, right = (r + 1) % p;
    for (int j = 0; j < p - 1; j++) {
        int sb = (vr - j + p) % p, rb = (vr - j - 1 + p) % p;
        if (CH_LO(sb + 1) > CH_LO(sb))
            s_send(s, b + CH_LO(sb), CH_LO(sb + 1) - CH_LO(sb), right);
        if (CH_LO(rb + 1) > CH_LO(rb))
            s_recv(s, b + CH_LO(rb), CH_LO(rb + 1) - CH_LO(rb), left);
        s_fence(s);
    }
#undef CH_LO
}

/* Blocking small broadcast of contiguous data without a schedule: the
 * binomial tree of bcast_binomial(), run in place. */
enum { BCAST_DIRECT = 16384 };

static int bcast_direct(char *buf, size_t n, int root, struct shim_comm *c)
{
    int p = c->size, r = c->rank;
    int vr = (r - root + p) % p;
    int tag = (int)(c->coll_seq++ & SHIM_TAGV_MASK);
    struct shim_request *reqs[32];
    int nreq = 0, mask = 1, rc = 0;

    while (mask < p) {
        if (vr & mask) {
            struct shim_request *rq;
            rc = shim_coll_irecv(buf, n, (r - mask + p) % p, tag, c, &rq);
            if (rc == 0) {
                rc = shim_req_wait(rq);
                shim_req_free(rq);
            }
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; rc == 0 && mask > 0; mask >>= 1) {
        if (vr + mask >= p)
            continue;
        int dst = (r + mask) % p;
        if (n <= shim_ofi.inject_size) {
            rc = shim_ofi_inject(buf, n, c->world[dst],
                                 shim_tag_make(c->ctx | 1, c->rank, tag));
        } else {
            rc = shim_coll_isend(buf, n, dst, tag, c, &reqs[nreq]);
            if (rc == 0)
                nreq++;
        }
    }
    for (int i = 0; i < nreq; i++) {
        int rc2 = shim_req_wait(reqs[i]);
        shim_req_free(reqs[i]);
        if (!rc)
            rc = rc2;
    }
    return rc;
}

static int bcast(void *buffer,
                 int count,
                 struct shim_datatype *t,
                 int root,
                 struct shim_comm *c,
                 MPI_Request *request)
{
    struct shim_sched *s;
    size_t n = (size_t)count * t->size;
    const struct shim_nodemap *nm = nodemap_get(c);

    if (!request && !nm && t->contig && n <= BCAST_DIRECT && c->size > 1
        && n > 0)
        return bcast_direct((char *)buffer + t->true_lb, n, root, c);
    int rc = sched_new(c, &s);
    if (rc)
        return rc;
    void *b;
    if (c->rank == root)
        b = (void *)in_bytes(s, buffer, (size_t)count, t);
    else
        b = out_bytes(s, buffer, (size_t)count, t);
    if (nm && n > 0 && b) {
        bcast_nodes(s, nm, b, n, root);
    } else if (c->size > 1 && n > 0 && b) {
        if (n >= BCAST_LONG && c->size > 2)
            bcast_scatter_ring(s, b, n, root);
        else
            bcast_binomial(s, b, n, root);
    }
    return finish(s, request);
}

/* ---- reductions --------------------------------------------------------- */
/* How a reduction sees its data: n elements of rdt, each esz bytes, in a
 * contiguous buffer (the user's own for dense types, packed otherwise). */
struct red {
    struct shim_op *op;
    MPI_Datatype rdt;
    size_t esz;
    size_t nelem;
};

static int red_prepare(struct shim_datatype *t,
                       struct shim_op *op,
                       int count,
                       struct red *rd)
{
    rd->op = op;
    if (!op->builtin) {
        /* a type with holes travels packed: shim_op_apply_image() gives
         * the user's function unpacked copies */
        rd->rdt = t->handle;
        rd->esz = t->dense ? (size_t)t->extent : t->size;
        rd->nelem = (size_t)count;
        return 0;
    }
    if (t->predefined) {
        rd->rdt = t->handle;
        rd->esz = (size_t)t->extent;
        rd->nelem = (size_t)count;
    } else if (t->basic != MPI_DATATYPE_NULL) {
        rd->rdt = t->basic;
        rd->esz = shim_dt_get(t->basic)->size;
        rd->nelem = (size_t)count * t->nbasic;
    } else {
        return SHIM_ECLASS(MPI_ERR_OP);
    }
    if (!shim_op_supports(op, rd->rdt))
        return SHIM_ECLASS(MPI_ERR_OP);
    return 0;
}

/* Byte image of a reduction buffer: dense types are used in place over
 * their whole extent, others packed. */
static size_t red_bytes(const struct red *rd)
{
    return rd->nelem * rd->esz;
}

static const void *red_in(struct shim_sched *s,
                          const void *buf,
                          int count,
                          struct shim_datatype *t)
{
    if (t->dense)
        return (const char *)buf + t->true_lb;
    return in_bytes(s, buf, (size_t)count, t);
}

static void *
red_out(struct shim_sched *s, void *buf, int count, struct shim_datatype *t)
{
    if (t->dense)
        return (char *)buf + t->true_lb;
    return out_bytes(s, buf, (size_t)count, t);
}

/* Recursive doubling (MPICH): non-power-of-two ranks first fold into a
 * power-of-two set. Lower ranks' data always goes first, so the result is
 * right for non-commutative operations too. acc holds this rank's data
 * and receives the result. */
static void allreduce_rd(struct shim_sched *s, void *acc, const struct red *rd)
{
    int p = s->p, r = s->r;
    size_t bytes = red_bytes(rd);
    void *tmp = tmp_alloc(s, bytes);
    int pof2 = 1, rem, newrank;

    while (pof2 * 2 <= p)
        pof2 *= 2;
    rem = p - pof2;
    if (r < 2 * rem) {
        if (r % 2 == 0) {
            s_send(s, acc, bytes, r + 1);
            newrank = -1;
        } else {
            s_recv(s, tmp, bytes, r - 1);
            s_fence(s);
            s_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            newrank = r / 2;
        }
        s_fence(s);
    } else {
        newrank = r - rem;
    }
    if (newrank >= 0) {
        for (int mask = 1; mask < pof2; mask <<= 1) {
            int nd = newrank ^ mask;
            int dst = nd < rem ? nd * 2 + 1 : nd + rem;
            s_send(s, acc, bytes, dst);
            s_recv(s, tmp, bytes, dst);
            s_fence(s);
            if (rd->op->commute || dst < r) {
                s_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            } else {
                s_reduce(s, acc, tmp, rd->nelem, rd->rdt, rd->op);
                s_copy(s, tmp, acc, bytes);
            }
            s_fence(s);
        }
    }
    if (r < 2 * rem) {
        if (r % 2)
            s_send(s, acc, bytes, r - 1);
        else
            s_recv(s, acc, bytes, r + 1);
        s_fence(s);
    }
}

/* Rabenseifner: reduce-scatter by recursive halving, then allgather by
 * recursive doubling; moves 2n bytes per rank instead of n log p.
 * Commutative operations only. */
static void
allreduce_rsag(struct shim_sched *s, void *acc, const struct red *rd)
{
    int p = s->p, r = s->r;
    size_t esz = rd->esz;
    char *a = acc;
    char *tmp = tmp_alloc(s, red_bytes(rd));
    int pof2 = 1, rem, newrank;

    while (pof2 * 2 <= p)
        pof2 *= 2;
    rem = p - pof2;
    if (r < 2 * rem) {
        if (r % 2 == 0) {
            s_send(s, acc, red_bytes(rd), r + 1);
            newrank = -1;
        } else {
            s_recv(s, tmp, red_bytes(rd), r - 1);
            s_fence(s);
            s_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            newrank = r / 2;
        }
        s_fence(s);
    } else {
        newrank = r - rem;
    }
    if (newrank >= 0 && tmp) {
        size_t *cnts = (size_t *)tmp_alloc(s, sizeof(size_t) * pof2 * 2);
        if (!cnts)
            return;
        size_t *disps = cnts + pof2;
        for (int i = 0; i < pof2; i++)
            cnts[i] = rd->nelem / pof2 + ((size_t)i < rd->nelem % pof2);
        disps[0] = 0;
        for (int i = 1; i < pof2; i++)
            disps[i] = disps[i - 1] + cnts[i - 1];
        int send_idx = 0, recv_idx = 0, last_idx = pof2;
        int mask;
        for (mask = 1; mask < pof2;) {
            int nd = newrank ^ mask;
            int dst = nd < rem ? nd * 2 + 1 : nd + rem;
            size_t sc = 0, rc = 0;
            if (newrank < nd) {
                send_idx = recv_idx + pof2 / (mask * 2);
                for (int i = send_idx; i < last_idx; i++)
                    sc += cnts[i];
                for (int i = recv_idx; i < send_idx; i++)
                    rc += cnts[i];
            } else {
                recv_idx = send_idx + pof2 / (mask * 2);
                for (int i = send_idx; i < recv_idx; i++)
                    sc += cnts[i];
                for (int i = recv_idx; i < last_idx; i++)
                    rc += cnts[i];
            }
            s_send(s, a + disps[send_idx] * esz, sc * esz, dst);
            s_recv(s, tmp + disps[recv_idx] * esz, rc * esz, dst);
            s_fence(s);
            s_reduce(s, tmp + disps[recv_idx] * esz, a + disps[recv_idx] * esz,
                     rc, rd->rdt, rd->op);
            s_fence(s);
            send_idx = recv_idx;
            mask <<= 1;
            if (mask < pof2)
                last_idx = recv_idx + pof2 / mask;
        }
        for (mask >>= 1; mask > 0; mask >>= 1) {
            int nd = newrank ^ mask;
            int dst = nd < rem ? nd * 2 + 1 : nd + rem;
            size_t sc = 0, rc = 0;
            if (newrank < nd) {
                if (mask != pof2 / 2)
                    last_idx = last_idx + pof2 / (mask * 2);
                recv_idx = send_idx + pof2 / (mask * 2);
                for (int i = send_idx; i < recv_idx; i++)
                    sc += cnts[i];
                for (int i = recv_idx; i < last_idx; i++)
                    rc += cnts[i];
            } else {
                recv_idx = send_idx - pof2 / (mask * 2);
                for (int i = send_idx; i < last_idx; i++)
                    sc += cnts[i];
                for (int i = recv_idx; i < send_idx; i++)
                    rc += cnts[i];
            }
            s_send(s, a + disps[send_idx] * esz, sc * esz, dst);
            s_recv(s, a + disps[recv_idx] * esz, rc * esz, dst);
            s_fence(s);
            if (newrank > nd)
                send_idx = recv_idx;
        }
    }
    if (r < 2 * rem) {
        if (r % 2)
            s_send(s, acc, red_bytes(rd), r - 1);
        else
            s_recv(s, acc, red_bytes(rd), r + 1);
        s_fence(s);
    }
}

/* Blocking small allreduce without a schedule: the recursive doubling of
 * allreduce_rd() run step by step on the stack. Latency is what counts at
 * these sizes, and building a schedule costs as much as a message. */
enum { ALLREDUCE_DIRECT = 256 };

/* Above this many bytes a commutative allreduce stays flat even across
 * nodes: the two-level form funnels the whole vector through each node's
 * leader (reduce, then broadcast), where Rabenseifner's reduce-scatter and
 * allgather move 2n per rank in parallel. Measured on 8 ranks over four
 * hosts: level at 8 bytes, 1.73x slower two-level at 1 MiB. */
enum { ALLREDUCE_NODE_MAX = 2048 };

static int exchange(struct shim_comm *c,
                    const void *sbuf,
                    void *rbuf,
                    size_t bytes,
                    int peer,
                    int tag)
{
    struct shim_request *r;
    int rc = shim_coll_irecv(rbuf, bytes, peer, tag, c, &r);

    if (rc)
        return rc;
    if (bytes <= shim_ofi.inject_size) {
        rc = shim_ofi_inject(sbuf, bytes, c->world[peer],
                             shim_tag_make(c->ctx | 1, c->rank, tag));
    } else {
        struct shim_request *sr;
        rc = shim_coll_isend(sbuf, bytes, peer, tag, c, &sr);
        if (rc == 0) {
            rc = shim_req_wait(sr);
            shim_req_free(sr);
        }
    }
    int rc2 = shim_req_wait(r);
    shim_req_free(r);
    return rc ? rc : rc2;
}

static int send_only(
    struct shim_comm *c, const void *sbuf, size_t bytes, int peer, int tag)
{
    struct shim_request *sr;
    int rc = shim_coll_isend(sbuf, bytes, peer, tag, c, &sr);

    if (rc == 0) {
        rc = shim_req_wait(sr);
        shim_req_free(sr);
    }
    return rc;
}

static int
recv_only(struct shim_comm *c, void *rbuf, size_t bytes, int peer, int tag)
{
    struct shim_request *r;
    int rc = shim_coll_irecv(rbuf, bytes, peer, tag, c, &r);

    if (rc == 0) {
        rc = shim_req_wait(r);
        shim_req_free(r);
    }
    return rc;
}

static int allreduce_direct(const void *sendbuf,
                            char *acc,
                            const struct red *rd,
                            struct shim_comm *c)
{
    int p = c->size, r = c->rank;
    int tag = (int)(c->coll_seq++ & SHIM_TAGV_MASK);
    size_t bytes = red_bytes(rd);
    char tmp[ALLREDUCE_DIRECT];
    int pof2 = 1, rem, newrank, rc = 0;

    if (sendbuf != MPI_IN_PLACE)
        memcpy(acc, sendbuf, bytes);
    while (pof2 * 2 <= p)
        pof2 *= 2;
    rem = p - pof2;
    if (r < 2 * rem) {
        if (r % 2 == 0) {
            rc = send_only(c, acc, bytes, r + 1, tag);
            newrank = -1;
        } else {
            rc = recv_only(c, tmp, bytes, r - 1, tag);
            if (rc == 0)
                rc = shim_op_apply_image(rd->op, tmp, acc, rd->nelem, rd->rdt);
            newrank = r / 2;
        }
    } else {
        newrank = r - rem;
    }
    for (int mask = 1; rc == 0 && newrank >= 0 && mask < pof2; mask <<= 1) {
        int nd = newrank ^ mask;
        int dst = nd < rem ? nd * 2 + 1 : nd + rem;
        rc = exchange(c, acc, tmp, bytes, dst, tag);
        if (rc)
            break;
        if (rd->op->commute || dst < r) {
            rc = shim_op_apply_image(rd->op, tmp, acc, rd->nelem, rd->rdt);
        } else {
            rc = shim_op_apply_image(rd->op, acc, tmp, rd->nelem, rd->rdt);
            memcpy(acc, tmp, bytes);
        }
    }
    if (rc == 0 && r < 2 * rem) {
        if (r % 2)
            rc = send_only(c, acc, bytes, r - 1, tag);
        else
            rc = recv_only(c, acc, bytes, r + 1, tag);
    }
    return rc;
}

static int allreduce(const void *sendbuf,
                     void *recvbuf,
                     int count,
                     struct shim_datatype *t,
                     struct shim_op *op,
                     struct shim_comm *c,
                     MPI_Request *request)
{
    struct shim_sched *s;
    struct red rd;
    int rc = red_prepare(t, op, count, &rd);

    if (rc)
        return rc;
    const struct shim_nodemap *nm = nodemap_get(c);
    bool two_level = reduce_node_aware(nm, op)
                     && !(op->commute && red_bytes(&rd) > ALLREDUCE_NODE_MAX);
    /* Dense data needs no packing, so small blocking calls go direct. */
    if (!request && !two_level && t->dense
        && red_bytes(&rd) <= ALLREDUCE_DIRECT) {
        const void *in = sendbuf == MPI_IN_PLACE
                             ? MPI_IN_PLACE
                             : (const char *)sendbuf + t->true_lb;
        return allreduce_direct(in, (char *)recvbuf + t->true_lb, &rd, c);
    }
    rc = sched_new(c, &s);
    if (rc)
        return rc;
    void *acc = red_out(s, recvbuf, count, t);
    if (sendbuf != MPI_IN_PLACE) {
        s_copy(s, red_in(s, sendbuf, count, t), acc, red_bytes(&rd));
    } else if (!t->dense && acc) {
        shim_dt_pack(t, recvbuf, (size_t)count, acc);
    }
    s_fence(s);
    if (two_level && count > 0 && acc) {
        allreduce_nodes(s, nm, acc, &rd);
    } else if (c->size > 1 && count > 0 && acc) {
        int pof2 = 1;
        while (pof2 * 2 <= c->size)
            pof2 *= 2;
        if (red_bytes(&rd) > ALLREDUCE_SHORT && op->commute
            && rd.nelem >= (size_t)pof2)
            allreduce_rsag(s, acc, &rd);
        else
            allreduce_rd(s, acc, &rd);
    }
    return finish(s, request);
}

int shim_coll_allreduce(const void *sendbuf,
                        void *recvbuf,
                        int count,
                        struct shim_datatype *dt,
                        struct shim_op *op,
                        struct shim_comm *comm)
{
    return allreduce(sendbuf, recvbuf, count, dt, op, comm, NULL);
}

/* Binomial reduction over the view to view rank root, of the data each
 * rank holds in acc (scratch afterwards); root ends with the result in out.
 * For non-commutative operations the tree is rooted at view rank 0, so
 * operands combine in view order, and rank 0 forwards the result. */
static void reduce_tree(
    struct shim_sched *s, void *acc, void *out, const struct red *rd, int root)
{
    int p = s->p, r = s->r;
    size_t bytes = red_bytes(rd);
    int vroot = rd->op->commute ? root : 0;
    int vr = (r - vroot + p) % p;
    void *tmp = p > 1 ? tmp_alloc(s, bytes) : NULL;

    for (int mask = 1; mask < p; mask <<= 1) {
        if (vr & mask) {
            s_send(s, acc, bytes, ((vr & ~mask) + vroot) % p);
            s_fence(s);
            break;
        }
        int src = vr | mask;
        if (src < p) {
            s_recv(s, tmp, bytes, (src + vroot) % p);
            s_fence(s);
            if (rd->op->commute) {
                s_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            } else {
                s_reduce(s, acc, tmp, rd->nelem, rd->rdt, rd->op);
                s_copy(s, tmp, acc, bytes);
            }
            s_fence(s);
        }
    }
    if (vroot == root) {
        if (r == root)
            s_copy(s, acc, out, bytes);
    } else if (r == vroot) {
        s_send(s, acc, bytes, root);
    } else if (r == root) {
        s_recv(s, out, bytes, vroot);
    }
    s_fence(s);
}

static int reduce(const void *sendbuf,
                  void *recvbuf,
                  int count,
                  struct shim_datatype *t,
                  struct shim_op *op,
                  int root,
                  struct shim_comm *c,
                  MPI_Request *request)
{
    struct shim_sched *s;
    struct red rd;
    int rc = red_prepare(t, op, count, &rd);
    const struct shim_nodemap *nm = nodemap_get(c);

    if (rc)
        return rc;
    rc = sched_new(c, &s);
    if (rc)
        return rc;
    size_t bytes = red_bytes(&rd);
    bool two_level = reduce_node_aware(nm, op);
    void *out = c->rank == root ? red_out(s, recvbuf, count, t) : NULL;
    void *acc;
    /* The flat tree's root accumulates straight into the result. */
    if (!two_level && c->rank == root && (op->commute || root == 0))
        acc = out;
    else
        acc = tmp_alloc(s, bytes);
    const void *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, count, t)
                                             : red_in(s, sendbuf, count, t);
    if (!acc || !in || (c->rank == root && !out))
        return finish(s, request);
    s_copy(s, in, acc, bytes);
    s_fence(s);
    if (count == 0)
        return finish(s, request);
    if (two_level)
        reduce_nodes(s, nm, acc, out, &rd, root);
    else
        reduce_tree(s, acc, out, &rd, root);
    return finish(s, request);
}

/* Pairwise exchange: in step i each rank sends the block of rank r+i and
 * reduces the one from r-i into its own. Commutative operations; others
 * reduce to rank 0 and scatter. */
static int reduce_scatter(const void *sendbuf,
                          void *recvbuf,
                          const int *counts,
                          struct shim_datatype *t,
                          struct shim_op *op,
                          struct shim_comm *c)
{
    int p = c->size, r = c->rank;
    int total = 0;
    int rc;

    for (int i = 0; i < p; i++)
        total += counts[i];
    if (!op->commute) {
        void *full = malloc((size_t)total * (size_t)t->extent + 1);
        int *displs = malloc(sizeof(int) * p);
        rc = -ENOMEM;
        if (full && displs) {
            displs[0] = 0;
            for (int i = 1; i < p; i++)
                displs[i] = displs[i - 1] + counts[i - 1];
            const void *in = sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf;
            rc = reduce(in, full, total, t, op, 0, c, NULL);
            if (rc == 0)
                rc = PMPI_Scatterv(full, counts, displs, t->handle, recvbuf,
                                   counts[r], t->handle, 0, c->handle);
        }
        free(full);
        free(displs);
        return rc;
    }
    struct shim_sched *s;
    struct red rd;
    rc = red_prepare(t, op, total, &rd);
    if (rc)
        return rc;
    rc = sched_new(c, &s);
    if (rc)
        return rc;
    size_t per = rd.nelem / (size_t)(total ? total : 1);
    const char *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, total, t)
                                             : red_in(s, sendbuf, total, t);
    size_t *off = (size_t *)tmp_alloc(s, sizeof(size_t) * (p + 1));
    if (!in || !off)
        return finish(s, NULL);
    off[0] = 0;
    for (int i = 0; i < p; i++)
        off[i + 1] = off[i] + (size_t)counts[i] * per;
    size_t mine = off[r + 1] - off[r];
    char *acc = tmp_alloc(s, mine * rd.esz);
    char *tmp = tmp_alloc(s, mine * rd.esz);
    if (!acc || !tmp)
        return finish(s, NULL);
    s_copy(s, in + off[r] * rd.esz, acc, mine * rd.esz);
    s_fence(s);
    for (int i = 1; i < p; i++) {
        int dst = (r + i) % p, src = (r - i + p) % p;
        s_send(s, in + off[dst] * rd.esz, (off[dst + 1] - off[dst]) * rd.esz,
               dst);
        s_recv(s, tmp, mine * rd.esz, src);
        s_fence(s);
        s_reduce(s, tmp, acc, mine, rd.rdt, op);
        s_fence(s);
    }
    void *out = red_out(s, recvbuf, counts[r], t);
    if (out)
        s_copy(s, acc, out, mine * rd.esz);
    return finish(s, NULL);
}

/* Recursive doubling scan (MPICH); exclusive when ex is set. */
static int scan(const void *sendbuf,
                void *recvbuf,
                int count,
                struct shim_datatype *t,
                struct shim_op *op,
                struct shim_comm *c,
                bool ex)
{
    struct shim_sched *s;
    struct red rd;
    int rc = red_prepare(t, op, count, &rd);
    int p = c->size, r = c->rank;

    if (rc)
        return rc;
    rc = sched_new(c, &s);
    if (rc)
        return rc;
    size_t bytes = red_bytes(&rd);
    void *out = red_out(s, recvbuf, count, t);
    const void *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, count, t)
                                             : red_in(s, sendbuf, count, t);
    void *partial = tmp_alloc(s, bytes);
    void *tmp = tmp_alloc(s, bytes);
    if (!out || !in || !partial || !tmp)
        return finish(s, NULL);
    s_copy(s, in, partial, bytes);
    if (!ex)
        s_copy(s, in, out, bytes);
    s_fence(s);
    bool have = false;
    for (int mask = 1; mask < p; mask <<= 1) {
        int dst = r ^ mask;
        if (dst >= p)
            continue;
        s_send(s, partial, bytes, dst);
        s_recv(s, tmp, bytes, dst);
        s_fence(s);
        if (r > dst) {
            s_reduce(s, tmp, partial, rd.nelem, rd.rdt, op);
            if (!ex) {
                s_reduce(s, tmp, out, rd.nelem, rd.rdt, op);
            } else if (!have) {
                s_copy(s, tmp, out, bytes);
                have = true;
            } else {
                s_reduce(s, tmp, out, rd.nelem, rd.rdt, op);
            }
        } else if (op->commute) {
            s_reduce(s, tmp, partial, rd.nelem, rd.rdt, op);
        } else {
            s_reduce(s, partial, tmp, rd.nelem, rd.rdt, op);
            s_copy(s, tmp, partial, bytes);
        }
        s_fence(s);
    }
    if (ex && !t->dense && r == 0)
        s->nfinal = 0; /* rank 0's exclusive result is undefined: keep it */
    return finish(s, NULL);
}

/* ---- gather and scatter -------------------------------------------------- */
/* Binomial gather of n-byte blocks into rotated order at the root. */
static void gather_binomial(
    struct shim_sched *s, const void *mine, void *out, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    char *tmp = tmp_alloc(s, n * (size_t)p);
    int have = 1;

    if (!tmp)
        return;
    s_copy(s, mine, tmp, n);
    s_fence(s);
    for (int mask = 1; mask < p; mask <<= 1) {
        if (vr & mask) {
            s_send(s, tmp, n * (size_t)have, (r - mask + p) % p);
            s_fence(s);
            return;
        }
        int src = vr + mask;
        if (src < p) {
            int cnt = mask < p - src ? mask : p - src;
            s_recv(s, tmp + (size_t)mask * n, n * (size_t)cnt,
                   (src + root) % p);
            have += cnt;
        }
        s_fence(s);
    }
    /* Root: block j of tmp belongs to rank (j + root) % p. */
    for (int j = 0; j < p; j++)
        s_copy(s, tmp + (size_t)j * n,
               (char *)out + (size_t)((j + root) % p) * n, n);
    s_fence(s);
}

static void scatter_binomial(
    struct shim_sched *s, const void *in, void *mine, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    char *tmp = tmp_alloc(s, n * (size_t)p);
    int mask = 1;

    if (!tmp)
        return;
    if (vr == 0) {
        for (int j = 0; j < p; j++)
            s_copy(s, (const char *)in + (size_t)((j + root) % p) * n,
                   tmp + (size_t)j * n, n);
        s_fence(s);
    }
    while (mask < p) {
        if (vr & mask) {
            int cnt = mask < p - vr ? mask : p - vr;
            s_recv(s, tmp, n * (size_t)cnt, (r - mask + p) % p);
            s_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        int child = vr + mask;
        if (child < p) {
            int cnt = mask < p - child ? mask : p - child;
            s_send(s, tmp + (size_t)mask * n, n * (size_t)cnt,
                   (child + root) % p);
        }
    }
    s_fence(s);
    s_copy(s, tmp, mine, n);
    s_fence(s);
}

static int gather(const void *sendbuf,
                  int sendcount,
                  struct shim_datatype *st,
                  void *recvbuf,
                  int recvcount,
                  struct shim_datatype *rt,
                  int root,
                  struct shim_comm *c,
                  MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size, r = c->rank;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    size_t n =
        r == root ? (size_t)recvcount * rt->size : (size_t)sendcount * st->size;
    char *out = NULL;
    if (r == root)
        out = out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    const void *mine;
    if (sendbuf == MPI_IN_PLACE)
        mine = out ? out + (size_t)r * n : NULL;
    else
        mine = in_bytes(s, sendbuf, (size_t)sendcount, st);
    if (r == root && sendbuf == MPI_IN_PLACE && !rt->contig && out)
        shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, out);
    if (!mine || (r == root && !out))
        return finish(s, request);
    if (n * (size_t)p <= GATHER_SHORT) {
        gather_binomial(s, mine, out, n, root);
    } else if (r == root) {
        for (int i = 0; i < p; i++)
            if (i != r)
                s_recv(s, out + (size_t)i * n, n, i);
        s_copy(s, mine, out + (size_t)r * n, n);
        s_fence(s);
    } else {
        s_send(s, mine, n, root);
        s_fence(s);
    }
    return finish(s, request);
}

static int scatter(const void *sendbuf,
                   int sendcount,
                   struct shim_datatype *st,
                   void *recvbuf,
                   int recvcount,
                   struct shim_datatype *rt,
                   int root,
                   struct shim_comm *c,
                   MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size, r = c->rank;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    size_t n =
        r == root ? (size_t)sendcount * st->size : (size_t)recvcount * rt->size;
    const char *in = NULL;
    if (r == root)
        in = in_bytes(s, sendbuf, (size_t)sendcount * (size_t)p, st);
    void *mine;
    if (recvbuf == MPI_IN_PLACE)
        mine = tmp_alloc(s, n); /* the root keeps its block in sendbuf */
    else
        mine = out_bytes(s, recvbuf, (size_t)recvcount, rt);
    if (!mine || (r == root && !in))
        return finish(s, request);
    if (n * (size_t)p <= GATHER_SHORT) {
        scatter_binomial(s, in, mine, n, root);
    } else if (r == root) {
        for (int i = 0; i < p; i++)
            if (i != r)
                s_send(s, in + (size_t)i * n, n, i);
        s_copy(s, in + (size_t)r * n, mine, n);
        s_fence(s);
    } else {
        s_recv(s, mine, n, root);
        s_fence(s);
    }
    return finish(s, request);
}

/* ---- allgather and alltoall ---------------------------------------------- */
static void allgather_bruck(struct shim_sched *s, char *out, size_t n)
{
    int p = s->p, r = s->r;
    char *tmp = tmp_alloc(s, n * (size_t)p);

    if (!tmp)
        return;
    s_copy(s, out + (size_t)r * n, tmp, n);
    s_fence(s);
    for (int pof = 1; pof < p; pof *= 2) {
        int cnt = pof < p - pof ? pof : p - pof;
        s_send(s, tmp, n * (size_t)cnt, (r - pof + p) % p);
        s_recv(s, tmp + (size_t)pof * n, n * (size_t)cnt, (r + pof) % p);
        s_fence(s);
    }
    for (int j = 0; j < p; j++)
        s_copy(s, tmp + (size_t)j * n, out + (size_t)((r + j) % p) * n, n);
    s_fence(s);
}

static void allgather_ring(struct shim_sched *s,
                           char *out,
                           const size_t *off,
                           const size_t *len)
{
    int p = s->p, r = s->r;
    int left = (r - 1 + p) % p, right = (r + 1) % p;

    for (int j = 0; j < p - 1; j++) {
        int sb = (r - j + p) % p, rb = (r - j - 1 + p) % p;
        s_send(s, out + off[sb], len[sb], right);
        s_recv(s, out + off[rb], len[rb], left);
        s_fence(s);
    }
}

static int allgather(const void *sendbuf,
                     int sendcount,
                     struct shim_datatype *st,
                     void *recvbuf,
                     int recvcount,
                     struct shim_datatype *rt,
                     struct shim_comm *c,
                     MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size, r = c->rank;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    size_t n = (size_t)recvcount * rt->size;
    char *out = out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    if (!out)
        return finish(s, request);
    if (sendbuf != MPI_IN_PLACE) {
        const void *in = in_bytes(s, sendbuf, (size_t)sendcount, st);
        if (in)
            s_copy(s, in, out + (size_t)r * n, n);
    } else if (!rt->contig) {
        shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, out);
    }
    s_fence(s);
    const struct shim_nodemap *nm = nodemap_get(c);
    if (allgather_node_aware(nm) && n > 0) {
        allgather_nodes(s, nm, out, n);
    } else if (p > 1 && n > 0) {
        if (n * (size_t)p <= ALLGATHER_SHORT) {
            allgather_bruck(s, out, n);
        } else {
            size_t *off = (size_t *)tmp_alloc(s, sizeof(size_t) * 2 * p);
            if (off) {
                for (int i = 0; i < p; i++) {
                    off[i] = (size_t)i * n;
                    off[p + i] = n;
                }
                allgather_ring(s, out, off, off + p);
            }
        }
    }
    return finish(s, request);
}

int shim_coll_allgather(const void *sendbuf,
                        int sendcount,
                        struct shim_datatype *sendtype,
                        void *recvbuf,
                        int recvcount,
                        struct shim_datatype *recvtype,
                        struct shim_comm *comm)
{
    return allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype,
                     comm, NULL);
}

/* Bruck (1997): log p rounds; in round k every block whose index has bit k
 * set moves 2^k ranks on. Wins for small blocks, where latency rules. */
static void
alltoall_bruck(struct shim_sched *s, const char *in, char *out, size_t n)
{
    int p = s->p, r = s->r;
    char *tmp = tmp_alloc(s, n * (size_t)p);
    char *pk = tmp_alloc(s, n * (size_t)p);
    char *pk2 = tmp_alloc(s, n * (size_t)p);

    if (!tmp || !pk || !pk2)
        return;
    for (int i = 0; i < p; i++)
        s_copy(s, in + (size_t)((r + i) % p) * n, tmp + (size_t)i * n, n);
    s_fence(s);
    for (int pof = 1; pof < p; pof *= 2) {
        int k = 0;
        for (int i = 0; i < p; i++)
            if (i & pof)
                s_copy(s, tmp + (size_t)i * n, pk + (size_t)k++ * n, n);
        s_fence(s);
        s_send(s, pk, (size_t)k * n, (r + pof) % p);
        s_recv(s, pk2, (size_t)k * n, (r - pof + p) % p);
        k = 0;
        for (int i = 0; i < p; i++)
            if (i & pof)
                s_copy(s, pk2 + (size_t)k++ * n, tmp + (size_t)i * n, n);
        s_fence(s);
    }
    for (int i = 0; i < p; i++)
        s_copy(s, tmp + (size_t)i * n, out + (size_t)((r - i + p) % p) * n, n);
    s_fence(s);
}

/* Pairwise exchange: p - 1 steps, one partner each (XOR when p is a
 * power of two, else a shift), so no rank is flooded. */
static void
alltoall_pairwise(struct shim_sched *s, const char *in, char *out, size_t n)
{
    int p = s->p, r = s->r;
    bool pow2 = (p & (p - 1)) == 0;

    s_copy(s, in + (size_t)r * n, out + (size_t)r * n, n);
    s_fence(s);
    for (int i = 1; i < p; i++) {
        int dst = pow2 ? r ^ i : (r + i) % p;
        int src = pow2 ? r ^ i : (r - i + p) % p;
        s_send(s, in + (size_t)dst * n, n, dst);
        s_recv(s, out + (size_t)src * n, n, src);
        s_fence(s);
    }
}

static int alltoall(const void *sendbuf,
                    int sendcount,
                    struct shim_datatype *st,
                    void *recvbuf,
                    int recvcount,
                    struct shim_datatype *rt,
                    struct shim_comm *c,
                    MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    size_t n = (size_t)recvcount * rt->size;
    char *out = out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    const char *in;
    if (sendbuf == MPI_IN_PLACE) {
        char *copy = tmp_alloc(s, n * (size_t)p);
        if (copy)
            shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, copy);
        in = copy;
    } else {
        in = in_bytes(s, sendbuf, (size_t)sendcount * (size_t)p, st);
    }
    if (!out || !in)
        return finish(s, request);
    if (n <= ALLTOALL_SHORT && p >= 8)
        alltoall_bruck(s, in, out, n);
    else
        alltoall_pairwise(s, in, out, n);
    return finish(s, request);
}

/* ---- node-aware (two-level) builders -------------------------------------
 * See "node-aware structure" above. Each runs the intra-node steps in the
 * node's view and the inter-node steps in the leaders' view, then returns
 * the view to the whole communicator. */

/* Binomial fan-in of empty messages to view rank 0. */
static void fanin_binomial(struct shim_sched *s)
{
    int p = s->p, r = s->r;

    for (int mask = 1; mask < p; mask <<= 1) {
        if (r & mask) {
            s_fence(s);
            s_send(s, NULL, 0, r - mask);
            break;
        }
        if (r + mask < p)
            s_recv(s, NULL, 0, r + mask);
    }
    s_fence(s);
}

static void barrier_nodes(struct shim_sched *s, const struct shim_nodemap *nm)
{
    view_node(s, nm);
    fanin_binomial(s);
    if (view_leaders(s, nm, nm->first))
        build_barrier(s);
    view_node(s, nm);
    bcast_binomial(s, NULL, 0, 0);
    view_comm(s);
}

static void bcast_view(struct shim_sched *s, void *buf, size_t n, int root)
{
    if (n >= BCAST_LONG && s->p > 2)
        bcast_scatter_ring(s, buf, n, root);
    else
        bcast_binomial(s, buf, n, root);
}

/* The root leads its node, so the data leaves it once per other node. */
static void bcast_nodes(struct shim_sched *s,
                        const struct shim_nodemap *nm,
                        void *buf,
                        size_t n,
                        int root)
{
    const int *leaders = leaders_for(s, nm, root);

    if (!leaders)
        return;
    if (view_leaders(s, nm, leaders))
        bcast_view(s, buf, n, nm->node[root]);
    view_node(s, nm);
    bcast_view(s, buf, n, local_index(nm, leaders[nm->mynode]));
    view_comm(s);
}

static bool reduce_node_aware(const struct shim_nodemap *nm,
                              const struct shim_op *op)
{
    return nm && (op->commute || nm->contiguous);
}

/* Each node reduces to its leader (the root on the root's node), then the
 * leaders reduce to the root. With consecutive nodes, node order is rank
 * order, so non-commutative operations keep their operand order. */
static void reduce_nodes(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         void *acc,
                         void *out,
                         const struct red *rd,
                         int root)
{
    const int *leaders = leaders_for(s, nm, root);

    if (!leaders)
        return;
    view_node(s, nm);
    reduce_tree(s, acc, acc, rd, local_index(nm, leaders[nm->mynode]));
    if (view_leaders(s, nm, leaders))
        reduce_tree(s, acc, out, rd, nm->node[root]);
    view_comm(s);
}

/* Reduce to each node's lowest rank, allreduce among those, broadcast in
 * each node. */
static void allreduce_nodes(struct shim_sched *s,
                            const struct shim_nodemap *nm,
                            void *acc,
                            const struct red *rd)
{
    view_node(s, nm);
    reduce_tree(s, acc, acc, rd, 0);
    if (view_leaders(s, nm, nm->first)) {
        int pof2 = 1;
        while (pof2 * 2 <= s->p)
            pof2 *= 2;
        if (red_bytes(rd) > ALLREDUCE_SHORT && rd->op->commute
            && rd->nelem >= (size_t)pof2)
            allreduce_rsag(s, acc, rd);
        else
            allreduce_rd(s, acc, rd);
    }
    view_node(s, nm);
    bcast_view(s, acc, red_bytes(rd), 0);
    view_comm(s);
}

static bool allgather_node_aware(const struct shim_nodemap *nm)
{
    return nm && nm->contiguous;
}

/* Nodes hold consecutive blocks of out: each gathers its block at its
 * lowest rank, the leaders exchange node blocks in a ring, and each
 * leader broadcasts the whole in its node. */
static void allgather_nodes(struct shim_sched *s,
                            const struct shim_nodemap *nm,
                            char *out,
                            size_t n)
{
    int nn = nm->nnodes;
    int me = s->comm->rank;
    size_t *off = (size_t *)tmp_alloc(s, sizeof(size_t) * 2 * nn);

    if (!off)
        return;
    for (int k = 0; k < nn; k++) {
        off[k] = (size_t)nm->first[k] * n;
        off[nn + k] = (size_t)nm->count[k] * n;
    }
    view_node(s, nm);
    gather_binomial(s, out + (size_t)me * n, out + off[nm->mynode], n, 0);
    if (view_leaders(s, nm, nm->first))
        allgather_ring(s, out, off, off + nn);
    view_node(s, nm);
    bcast_view(s, out, n * (size_t)s->comm->size, 0);
    view_comm(s);
}

/* ---- argument checks shared by the entry points ---------------------------
 */
static int check_comm(MPI_Comm comm, struct shim_comm **c)
{
    return shim_comm_check(comm, c);
}

static int check_buf(int count, MPI_Datatype dt, struct shim_datatype **t)
{
    if (count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    return shim_dt_check(dt, t);
}

static int check_root(struct shim_comm *c, int root)
{
    return root < 0 || root >= c->size ? SHIM_ECLASS(MPI_ERR_ROOT) : 0;
}

#define ENTRY_RET(c, fn, rc) ((rc) ? shim_err((c), (fn), (rc)) : MPI_SUCCESS)

static int barrier(struct shim_comm *c, MPI_Request *request)
{
    struct shim_sched *s;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    const struct shim_nodemap *nm = nodemap_get(c);
    if (nm)
        barrier_nodes(s, nm);
    else
        build_barrier(s);
    return finish(s, request);
}

int shim_coll_barrier(struct shim_comm *comm)
{
    return barrier(comm, NULL);
}

SHIM_WEAK(Barrier)
int PMPI_Barrier(MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = barrier(c, NULL);
    return ENTRY_RET(c, "MPI_Barrier", rc);
}

SHIM_WEAK(Ibarrier)
int PMPI_Ibarrier(MPI_Comm comm, MPI_Request *request)
{
    struct shim_comm *c = NULL;
    int rc = check_comm(comm, &c);

    if (rc == 0 && !request)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = barrier(c, request);
    return ENTRY_RET(c, "MPI_Ibarrier", rc);
}

static int bcast_entry(const char *fn,
                       void *buffer,
                       int count,
                       MPI_Datatype datatype,
                       int root,
                       MPI_Comm comm,
                       MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_buf(count, datatype, &t);
    if (rc == 0)
        rc = check_root(c, root);
    if (rc == 0)
        rc = bcast(buffer, count, t, root, c, request);
    return ENTRY_RET(c, fn, rc);
}

SHIM_WEAK(Bcast)
int PMPI_Bcast(
    void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
{
    return bcast_entry("MPI_Bcast", buffer, count, datatype, root, comm, NULL);
}

SHIM_WEAK(Ibcast)
int PMPI_Ibcast(void *buffer,
                int count,
                MPI_Datatype datatype,
                int root,
                MPI_Comm comm,
                MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ibcast",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return bcast_entry("MPI_Ibcast", buffer, count, datatype, root, comm,
                       request);
}

static int red_entry(const char *fn,
                     const void *sendbuf,
                     void *recvbuf,
                     int count,
                     MPI_Datatype datatype,
                     MPI_Op op,
                     int root,
                     MPI_Comm comm,
                     MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_op *o;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_buf(count, datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0 && root >= 0)
        rc = check_root(c, root);
    if (rc == 0 && root == -1)
        rc = allreduce(sendbuf, recvbuf, count, t, o, c, request);
    else if (rc == 0)
        rc = reduce(sendbuf, recvbuf, count, t, o, root, c, request);
    return ENTRY_RET(c, fn, rc);
}

SHIM_WEAK(Reduce)
int PMPI_Reduce(const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                int root,
                MPI_Comm comm)
{
    if (root < 0)
        return shim_err(shim_comm_lookup(comm), "MPI_Reduce",
                        SHIM_ECLASS(MPI_ERR_ROOT));
    return red_entry("MPI_Reduce", sendbuf, recvbuf, count, datatype, op, root,
                     comm, NULL);
}

SHIM_WEAK(Ireduce)
int PMPI_Ireduce(const void *sendbuf,
                 void *recvbuf,
                 int count,
                 MPI_Datatype datatype,
                 MPI_Op op,
                 int root,
                 MPI_Comm comm,
                 MPI_Request *request)
{
    if (root < 0 || !request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ireduce",
                        SHIM_ECLASS(root < 0 ? MPI_ERR_ROOT : MPI_ERR_ARG));
    return red_entry("MPI_Ireduce", sendbuf, recvbuf, count, datatype, op, root,
                     comm, request);
}

SHIM_WEAK(Allreduce)
int PMPI_Allreduce(const void *sendbuf,
                   void *recvbuf,
                   int count,
                   MPI_Datatype datatype,
                   MPI_Op op,
                   MPI_Comm comm)
{
    return red_entry("MPI_Allreduce", sendbuf, recvbuf, count, datatype, op, -1,
                     comm, NULL);
}

SHIM_WEAK(Iallreduce)
int PMPI_Iallreduce(const void *sendbuf,
                    void *recvbuf,
                    int count,
                    MPI_Datatype datatype,
                    MPI_Op op,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iallreduce",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return red_entry("MPI_Iallreduce", sendbuf, recvbuf, count, datatype, op,
                     -1, comm, request);
}

SHIM_WEAK(Reduce_scatter_block)
int PMPI_Reduce_scatter_block(const void *sendbuf,
                              void *recvbuf,
                              int recvcount,
                              MPI_Datatype datatype,
                              MPI_Op op,
                              MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_op *o;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_buf(recvcount, datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0) {
        int *counts = malloc(sizeof(int) * c->size);
        if (!counts)
            return shim_err(c, "MPI_Reduce_scatter_block", -ENOMEM);
        for (int i = 0; i < c->size; i++)
            counts[i] = recvcount;
        rc = reduce_scatter(sendbuf, recvbuf, counts, t, o, c);
        free(counts);
    }
    return ENTRY_RET(c, "MPI_Reduce_scatter_block", rc);
}

SHIM_WEAK(Reduce_scatter)
int PMPI_Reduce_scatter(const void *sendbuf,
                        void *recvbuf,
                        const int recvcounts[],
                        MPI_Datatype datatype,
                        MPI_Op op,
                        MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_op *o;
    int rc = check_comm(comm, &c);

    if (rc == 0 && !recvcounts)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    for (int i = 0; rc == 0 && i < c->size; i++)
        if (recvcounts[i] < 0)
            rc = SHIM_ECLASS(MPI_ERR_COUNT);
    if (rc == 0)
        rc = shim_dt_check(datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0)
        rc = reduce_scatter(sendbuf, recvbuf, recvcounts, t, o, c);
    return ENTRY_RET(c, "MPI_Reduce_scatter", rc);
}

static int scan_entry(const char *fn,
                      const void *sendbuf,
                      void *recvbuf,
                      int count,
                      MPI_Datatype datatype,
                      MPI_Op op,
                      MPI_Comm comm,
                      bool ex)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_op *o;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_buf(count, datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0)
        rc = scan(sendbuf, recvbuf, count, t, o, c, ex);
    return ENTRY_RET(c, fn, rc);
}

SHIM_WEAK(Scan)
int PMPI_Scan(const void *sendbuf,
              void *recvbuf,
              int count,
              MPI_Datatype datatype,
              MPI_Op op,
              MPI_Comm comm)
{
    return scan_entry("MPI_Scan", sendbuf, recvbuf, count, datatype, op, comm,
                      false);
}

SHIM_WEAK(Exscan)
int PMPI_Exscan(const void *sendbuf,
                void *recvbuf,
                int count,
                MPI_Datatype datatype,
                MPI_Op op,
                MPI_Comm comm)
{
    return scan_entry("MPI_Exscan", sendbuf, recvbuf, count, datatype, op, comm,
                      true);
}

/* Gather, scatter, allgather and alltoall share their checks. */
enum move_kind { MV_GATHER, MV_SCATTER, MV_ALLGATHER, MV_ALLTOALL };

static int move_entry(const char *fn,
                      enum move_kind kind,
                      const void *sendbuf,
                      int sendcount,
                      MPI_Datatype sendtype,
                      void *recvbuf,
                      int recvcount,
                      MPI_Datatype recvtype,
                      int root,
                      MPI_Comm comm,
                      MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st = NULL, *rt = NULL;
    int rc = check_comm(comm, &c);
    bool is_root = kind == MV_ALLGATHER || kind == MV_ALLTOALL
                   || (rc == 0 && c->rank == root);
    bool needs_send = kind != MV_SCATTER || is_root;
    bool needs_recv = kind != MV_GATHER || is_root;

    if (rc == 0 && (kind == MV_GATHER || kind == MV_SCATTER))
        rc = check_root(c, root);
    if (rc == 0 && needs_send && sendbuf != MPI_IN_PLACE)
        rc = check_buf(sendcount, sendtype, &st);
    if (rc == 0 && needs_recv && recvbuf != MPI_IN_PLACE)
        rc = check_buf(recvcount, recvtype, &rt);
    if (rc)
        return shim_err(c, fn, rc);
    /* With MPI_IN_PLACE the other side's type describes both. */
    if (!st)
        st = rt;
    if (!rt)
        rt = st;
    switch (kind) {
    case MV_GATHER:
        rc = gather(sendbuf, sendcount, st, recvbuf, recvcount, rt, root, c,
                    request);
        break;
    case MV_SCATTER:
        rc = scatter(sendbuf, sendcount, st, recvbuf, recvcount, rt, root, c,
                     request);
        break;
    case MV_ALLGATHER:
        rc = allgather(sendbuf, sendcount, st, recvbuf, recvcount, rt, c,
                       request);
        break;
    case MV_ALLTOALL:
        rc = alltoall(sendbuf, sendcount, st, recvbuf, recvcount, rt, c,
                      request);
        break;
    }
    return ENTRY_RET(c, fn, rc);
}

SHIM_WEAK(Gather)
int PMPI_Gather(const void *sendbuf,
                int sendcount,
                MPI_Datatype sendtype,
                void *recvbuf,
                int recvcount,
                MPI_Datatype recvtype,
                int root,
                MPI_Comm comm)
{
    return move_entry("MPI_Gather", MV_GATHER, sendbuf, sendcount, sendtype,
                      recvbuf, recvcount, recvtype, root, comm, NULL);
}

SHIM_WEAK(Igather)
int PMPI_Igather(const void *sendbuf,
                 int sendcount,
                 MPI_Datatype sendtype,
                 void *recvbuf,
                 int recvcount,
                 MPI_Datatype recvtype,
                 int root,
                 MPI_Comm comm,
                 MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Igather",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return move_entry("MPI_Igather", MV_GATHER, sendbuf, sendcount, sendtype,
                      recvbuf, recvcount, recvtype, root, comm, request);
}

SHIM_WEAK(Scatter)
int PMPI_Scatter(const void *sendbuf,
                 int sendcount,
                 MPI_Datatype sendtype,
                 void *recvbuf,
                 int recvcount,
                 MPI_Datatype recvtype,
                 int root,
                 MPI_Comm comm)
{
    return move_entry("MPI_Scatter", MV_SCATTER, sendbuf, sendcount, sendtype,
                      recvbuf, recvcount, recvtype, root, comm, NULL);
}

SHIM_WEAK(Iscatter)
int PMPI_Iscatter(const void *sendbuf,
                  int sendcount,
                  MPI_Datatype sendtype,
                  void *recvbuf,
                  int recvcount,
                  MPI_Datatype recvtype,
                  int root,
                  MPI_Comm comm,
                  MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iscatter",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return move_entry("MPI_Iscatter", MV_SCATTER, sendbuf, sendcount, sendtype,
                      recvbuf, recvcount, recvtype, root, comm, request);
}

SHIM_WEAK(Allgather)
int PMPI_Allgather(const void *sendbuf,
                   int sendcount,
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   int recvcount,
                   MPI_Datatype recvtype,
                   MPI_Comm comm)
{
    return move_entry("MPI_Allgather", MV_ALLGATHER, sendbuf, sendcount,
                      sendtype, recvbuf, recvcount, recvtype, 0, comm, NULL);
}

SHIM_WEAK(Iallgather)
int PMPI_Iallgather(const void *sendbuf,
                    int sendcount,
                    MPI_Datatype sendtype,
                    void *recvbuf,
                    int recvcount,
                    MPI_Datatype recvtype,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iallgather",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return move_entry("MPI_Iallgather", MV_ALLGATHER, sendbuf, sendcount,
                      sendtype, recvbuf, recvcount, recvtype, 0, comm, request);
}

SHIM_WEAK(Alltoall)
int PMPI_Alltoall(const void *sendbuf,
                  int sendcount,
                  MPI_Datatype sendtype,
                  void *recvbuf,
                  int recvcount,
                  MPI_Datatype recvtype,
                  MPI_Comm comm)
{
    return move_entry("MPI_Alltoall", MV_ALLTOALL, sendbuf, sendcount, sendtype,
                      recvbuf, recvcount, recvtype, 0, comm, NULL);
}

SHIM_WEAK(Ialltoall)
int PMPI_Ialltoall(const void *sendbuf,
                   int sendcount,
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   int recvcount,
                   MPI_Datatype recvtype,
                   MPI_Comm comm,
                   MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ialltoall",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return move_entry("MPI_Ialltoall", MV_ALLTOALL, sendbuf, sendcount,
                      sendtype, recvbuf, recvcount, recvtype, 0, comm, request);
}

/* ---- the vector variants: linear, every message posted at once ----------- */
static int v_exchange(struct shim_comm *c,
                      const void *sendbuf,
                      const int *scounts,
                      const int *sdispls,
                      struct shim_datatype *st,
                      void *recvbuf,
                      const int *rcounts,
                      const int *rdispls,
                      struct shim_datatype *rt,
                      bool send_to_all,
                      int send_only_to,
                      bool recv_from_all,
                      int recv_only_from)
{
    struct shim_sched *s;
    int p = c->size, r = c->rank;
    int rc = sched_new(c, &s);

    if (rc)
        return rc;
    for (int i = 0; i < p; i++) {
        bool want = recv_from_all || i == recv_only_from;
        if (!want || !rcounts || rcounts[i] == 0 || i == r)
            continue;
        char *base = (char *)recvbuf + (MPI_Aint)rdispls[i] * rt->extent;
        void *dst = out_bytes(s, base, (size_t)rcounts[i], rt);
        if (dst)
            s_recv(s, dst, (size_t)rcounts[i] * rt->size, i);
    }
    for (int i = 0; i < p; i++) {
        bool want = send_to_all || i == send_only_to;
        if (!want || !scounts || scounts[i] == 0 || i == r)
            continue;
        const char *base = (const char *)sendbuf
                           + (MPI_Aint)(sdispls ? sdispls[i] : 0) * st->extent;
        const void *src = in_bytes(s, base, (size_t)scounts[i], st);
        if (src)
            s_send(s, src, (size_t)scounts[i] * st->size, i);
    }
    /* This rank's own block is a local copy, when it moves at all. */
    bool self_recv =
        (recv_from_all || r == recv_only_from) && rcounts && rcounts[r] > 0;
    bool self_send = (send_to_all || r == send_only_to) && scounts
                     && scounts[r] > 0 && sendbuf != MPI_IN_PLACE;
    if (self_recv && self_send) {
        const char *sb = (const char *)sendbuf
                         + (MPI_Aint)(sdispls ? sdispls[r] : 0) * st->extent;
        char *rb = (char *)recvbuf + (MPI_Aint)rdispls[r] * rt->extent;
        const void *src = in_bytes(s, sb, (size_t)scounts[r], st);
        void *dst = out_bytes(s, rb, (size_t)rcounts[r], rt);
        size_t n = (size_t)rcounts[r] * rt->size;
        size_t m = (size_t)scounts[r] * st->size;
        if (src && dst)
            s_copy(s, src, dst, n < m ? n : m);
    }
    s_fence(s);
    return finish(s, NULL);
}

SHIM_WEAK(Gatherv)
int PMPI_Gatherv(const void *sendbuf,
                 int sendcount,
                 MPI_Datatype sendtype,
                 void *recvbuf,
                 const int recvcounts[],
                 const int displs[],
                 MPI_Datatype recvtype,
                 int root,
                 MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st = NULL, *rt = NULL;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_root(c, root);
    if (rc == 0 && sendbuf != MPI_IN_PLACE)
        rc = check_buf(sendcount, sendtype, &st);
    if (rc == 0 && c->rank == root) {
        rc = shim_dt_check(recvtype, &rt);
        if (rc == 0 && (!recvcounts || !displs))
            rc = SHIM_ECLASS(MPI_ERR_ARG);
    }
    if (rc)
        return shim_err(c, "MPI_Gatherv", rc);
    if (!st)
        st = rt;
    int *sc = calloc((size_t)c->size, sizeof(int));
    if (!sc)
        return shim_err(c, "MPI_Gatherv", -ENOMEM);
    sc[root] = sendbuf == MPI_IN_PLACE ? 0 : sendcount;
    int *sd = calloc((size_t)c->size, sizeof(int));
    if (!sd) {
        free(sc);
        return shim_err(c, "MPI_Gatherv", -ENOMEM);
    }
    rc = v_exchange(c, sendbuf, sc, sd, st, recvbuf,
                    c->rank == root ? recvcounts : NULL, displs, rt, false,
                    root, true, -1);
    free(sc);
    free(sd);
    return ENTRY_RET(c, "MPI_Gatherv", rc);
}

SHIM_WEAK(Scatterv)
int PMPI_Scatterv(const void *sendbuf,
                  const int sendcounts[],
                  const int displs[],
                  MPI_Datatype sendtype,
                  void *recvbuf,
                  int recvcount,
                  MPI_Datatype recvtype,
                  int root,
                  MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st = NULL, *rt = NULL;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = check_root(c, root);
    if (rc == 0 && recvbuf != MPI_IN_PLACE)
        rc = check_buf(recvcount, recvtype, &rt);
    if (rc == 0 && c->rank == root) {
        rc = shim_dt_check(sendtype, &st);
        if (rc == 0 && (!sendcounts || !displs))
            rc = SHIM_ECLASS(MPI_ERR_ARG);
    }
    if (rc)
        return shim_err(c, "MPI_Scatterv", rc);
    if (!rt)
        rt = st;
    int *rcnt = calloc((size_t)c->size, sizeof(int));
    int *rd = calloc((size_t)c->size, sizeof(int));
    if (!rcnt || !rd) {
        free(rcnt);
        free(rd);
        return shim_err(c, "MPI_Scatterv", -ENOMEM);
    }
    rcnt[root] = recvbuf == MPI_IN_PLACE ? 0 : recvcount;
    rc = v_exchange(c, sendbuf, c->rank == root ? sendcounts : NULL, displs, st,
                    recvbuf, rcnt, rd, rt, true, -1, false, root);
    free(rcnt);
    free(rd);
    return ENTRY_RET(c, "MPI_Scatterv", rc);
}

SHIM_WEAK(Alltoallv)
int PMPI_Alltoallv(const void *sendbuf,
                   const int sendcounts[],
                   const int sdispls[],
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   const int recvcounts[],
                   const int rdispls[],
                   MPI_Datatype recvtype,
                   MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st = NULL, *rt = NULL;
    int rc = check_comm(comm, &c);

    if (rc == 0)
        rc = shim_dt_check(recvtype, &rt);
    if (rc == 0 && sendbuf != MPI_IN_PLACE)
        rc = shim_dt_check(sendtype, &st);
    if (rc == 0 && (!recvcounts || !rdispls))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, "MPI_Alltoallv", rc);
    if (sendbuf == MPI_IN_PLACE) {
        /* Send from a copy of the receive buffer. */
        MPI_Aint hi = 0;
        for (int i = 0; i < c->size; i++) {
            MPI_Aint e = (MPI_Aint)(rdispls[i] + recvcounts[i]) * rt->extent;
            if (e > hi)
                hi = e;
        }
        void *copy = malloc((size_t)hi + 1);
        if (!copy)
            return shim_err(c, "MPI_Alltoallv", -ENOMEM);
        memcpy(copy, recvbuf, (size_t)hi);
        rc = v_exchange(c, copy, recvcounts, rdispls, rt, recvbuf, recvcounts,
                        rdispls, rt, true, -1, true, -1);
        free(copy);
    } else {
        rc = v_exchange(c, sendbuf, sendcounts, sdispls, st, recvbuf,
                        recvcounts, rdispls, rt, true, -1, true, -1);
    }
    return ENTRY_RET(c, "MPI_Alltoallv", rc);
}

SHIM_WEAK(Allgatherv)
int PMPI_Allgatherv(const void *sendbuf,
                    int sendcount,
                    MPI_Datatype sendtype,
                    void *recvbuf,
                    const int recvcounts[],
                    const int displs[],
                    MPI_Datatype recvtype,
                    MPI_Comm comm)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st = NULL, *rt = NULL;
    int rc = check_comm(comm, &c);
    struct shim_sched *s;

    if (rc == 0)
        rc = shim_dt_check(recvtype, &rt);
    if (rc == 0 && sendbuf != MPI_IN_PLACE)
        rc = check_buf(sendcount, sendtype, &st);
    if (rc == 0 && (!recvcounts || !displs))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = sched_new(c, &s);
    if (rc)
        return shim_err(c, "MPI_Allgatherv", rc);
    int p = c->size, r = c->rank;
    /* Ring over packed blocks: block i at displs[i] elements of the type's
     * data size, unpacked block by block at the end when needed. */
    size_t *off = (size_t *)tmp_alloc(s, sizeof(size_t) * 2 * p);
    size_t hi = 0;
    for (int i = 0; i < p && off; i++) {
        off[i] = (size_t)displs[i] * rt->size;
        off[p + i] = (size_t)recvcounts[i] * rt->size;
        if (off[i] + off[p + i] > hi)
            hi = off[i] + off[p + i];
    }
    char *out;
    if (rt->contig) {
        out = (char *)recvbuf + rt->true_lb;
        if (rt->size != (size_t)rt->extent)
            out = NULL;
    } else {
        out = NULL;
    }
    if (!out) {
        out = tmp_alloc(s, hi);
        for (int i = 0; i < p && out; i++) {
            char *ub = (char *)recvbuf + (MPI_Aint)displs[i] * rt->extent;
            if (sendbuf == MPI_IN_PLACE && i == r)
                shim_dt_pack(rt, ub, (size_t)recvcounts[i], out + off[i]);
            struct step f = {.kind = ST_UNPACK,
                             .src = out + off[i],
                             .dst = ub,
                             .count = (size_t)recvcounts[i],
                             .udt = rt};
            if (s->nfinal == s->finalcap) {
                int cap = s->finalcap ? 2 * s->finalcap : 8;
                struct step *nf = realloc(s->finals, sizeof(*nf) * cap);
                if (!nf) {
                    s->err = -ENOMEM;
                    break;
                }
                s->finals = nf;
                s->finalcap = cap;
            }
            s->finals[s->nfinal++] = f;
        }
    }
    if (out && off && sendbuf != MPI_IN_PLACE) {
        const void *in = in_bytes(s, sendbuf, (size_t)sendcount, st);
        if (in)
            s_copy(s, in, out + off[r], off[p + r]);
    }
    s_fence(s);
    if (out && off && p > 1)
        allgather_ring(s, out, off, off + p);
    return ENTRY_RET(c, "MPI_Allgatherv", finish(s, NULL));
}
