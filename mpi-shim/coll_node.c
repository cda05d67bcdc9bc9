/* SPDX-License-Identifier: MIT */
/* coll_node.c - node-aware (two-level) collectives.
 *
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
 * SHOAL_MPI_COLL_FLAT=1 forces the flat algorithms, for comparison.
 *
 * Within a node, small blocking Allreduce and Barrier over a communicator
 * that holds every rank of the node go through the node's shared segment
 * (shm.h, "Node-level collectives") instead of messages: each rank
 * publishes its operand in a slot of its own; on a communicator within the
 * node every rank then reduces all the slots itself, in rank order, so all
 * get the same result bit for bit after one exchange of cache lines; on a
 * communicator across nodes the node's lowest rank reduces them, runs the
 * leaders' stage by messages (the same schedule as the two-level form, so
 * a node that cannot use its segment still meets it), and publishes the
 * result for its node. Nonblocking collectives keep their schedules (a
 * blocking and a nonblocking collective never match each other).
 * SHOAL_MPI_COLL_SHM=0 turns this off, for comparison; measured in
 * mpi-shim/README.md, "Node-aware collectives". */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"
#include "mpi-shim/shm.h"
#include "util/bug.h"

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
    comm->node_shm = 0;
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

const struct shim_nodemap *shim_node_map(struct shim_comm *c)
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
    int *l = shim_sched_tmp(s, sizeof(int) * nm->nnodes);

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

/* ---- two-level builders --------------------------------------------------
 * Each runs the intra-node steps in the node's view and the inter-node
 * steps in the leaders' view, then returns the view to the whole
 * communicator. */

/* Binomial fan-in of empty messages to view rank 0. */
static void fanin_binomial(struct shim_sched *s)
{
    int p = s->p, r = s->r;

    for (int mask = 1; mask < p; mask <<= 1) {
        if (r & mask) {
            shim_sched_fence(s);
            shim_sched_send(s, NULL, 0, r - mask);
            break;
        }
        if (r + mask < p)
            shim_sched_recv(s, NULL, 0, r + mask);
    }
    shim_sched_fence(s);
}

void shim_node_barrier(struct shim_sched *s, const struct shim_nodemap *nm)
{
    view_node(s, nm);
    fanin_binomial(s);
    if (view_leaders(s, nm, nm->first))
        shim_barrier_dissemination(s);
    view_node(s, nm);
    shim_bcast_binomial(s, NULL, 0, 0);
    view_comm(s);
}

/* The root leads its node, so the data leaves it once per other node. */
void shim_node_bcast(struct shim_sched *s,
                     const struct shim_nodemap *nm,
                     void *buf,
                     size_t n,
                     int root)
{
    const int *leaders = leaders_for(s, nm, root);

    if (!leaders)
        return;
    if (view_leaders(s, nm, leaders))
        shim_bcast_flat(s, buf, n, nm->node[root]);
    view_node(s, nm);
    shim_bcast_flat(s, buf, n, local_index(nm, leaders[nm->mynode]));
    view_comm(s);
}

bool shim_node_reduce_applies(const struct shim_nodemap *nm,
                              const struct shim_op *op)
{
    return nm && (op->commute || nm->contiguous);
}

/* Each node reduces to its leader (the root on the root's node), then the
 * leaders reduce to the root. With consecutive nodes, node order is rank
 * order, so non-commutative operations keep their operand order. */
void shim_node_reduce(struct shim_sched *s,
                      const struct shim_nodemap *nm,
                      void *acc,
                      void *out,
                      const struct shim_red *rd,
                      int root)
{
    const int *leaders = leaders_for(s, nm, root);

    if (!leaders)
        return;
    view_node(s, nm);
    shim_reduce_tree(s, acc, acc, rd, local_index(nm, leaders[nm->mynode]));
    if (view_leaders(s, nm, leaders))
        shim_reduce_tree(s, acc, out, rd, nm->node[root]);
    view_comm(s);
}

/* Reduce to each node's lowest rank, allreduce among those, broadcast in
 * each node. */
void shim_node_allreduce(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         void *acc,
                         const struct shim_red *rd)
{
    view_node(s, nm);
    shim_reduce_tree(s, acc, acc, rd, 0);
    if (view_leaders(s, nm, nm->first))
        shim_allreduce_flat(s, acc, rd);
    view_node(s, nm);
    shim_bcast_flat(s, acc, shim_red_bytes(rd), 0);
    view_comm(s);
}

bool shim_node_allgather_applies(const struct shim_nodemap *nm)
{
    return nm && nm->contiguous;
}

/* Nodes hold consecutive blocks of out: each gathers its block at its
 * lowest rank, the leaders exchange node blocks in a ring, and each
 * leader broadcasts the whole in its node. */
void shim_node_allgather(struct shim_sched *s,
                         const struct shim_nodemap *nm,
                         char *out,
                         size_t n)
{
    int nn = nm->nnodes;
    int me = s->comm->rank;
    size_t *off = (size_t *)shim_sched_tmp(s, sizeof(size_t) * 2 * nn);

    if (!off)
        return;
    for (int k = 0; k < nn; k++) {
        off[k] = (size_t)nm->first[k] * n;
        off[nn + k] = (size_t)nm->count[k] * n;
    }
    view_node(s, nm);
    shim_gather_binomial(s, out + (size_t)me * n, out + off[nm->mynode], n, 0);
    if (view_leaders(s, nm, nm->first))
        shim_allgather_ring(s, out, off, off + nn);
    view_node(s, nm);
    shim_bcast_flat(s, out, n * (size_t)s->comm->size, 0);
    view_comm(s);
}

/* ---- through the node's segment ----------------------------------------- */

enum node_shm {
    NODE_SHM_UNKNOWN, /* not worked out yet */
    NODE_SHM_NO,
    NODE_SHM_ONE,  /* the communicator is this node's ranks */
    NODE_SHM_LEAD, /* it holds them and ranks on other nodes */
};

static bool coll_shm_off(void)
{
    static int off = -1;

    if (off < 0) {
        const char *v = getenv("SHOAL_MPI_COLL_SHM");
        off = v && strcmp(v, "0") == 0;
    }
    return off;
}

static enum node_shm node_shm_kind(struct shim_comm *c)
{
    if (c->node_shm != NODE_SHM_UNKNOWN)
        return (enum node_shm)c->node_shm;
    int on = 0, nl = shim_shm_nlocal();
    for (int i = 0; i < c->size && nl > 1; i++)
        on += shim_shm_local_index(c->world[i]) >= 0;
    enum node_shm k = NODE_SHM_NO;
    if (nl > 1 && on == nl && !coll_shm_off() && !c->inter) {
        if (on == c->size)
            k = NODE_SHM_ONE;
        else if (shim_node_map(c))
            k = NODE_SHM_LEAD;
    }
    c->node_shm = k;
    return k;
}

/* Waits until local rank i has entered collective seq; its operand. */
static const void *peer_wait(int i, uint64_t seq, size_t n)
{
    const void *p;
    int idle = 0;

    while (!(p = shim_shm_coll_peer(i, seq, n)))
        shim_progress_wait(&idle);
    return p;
}

static const void *result_wait(int leader, uint64_t seq, size_t n)
{
    const void *p;
    int idle = 0;

    while (!(p = shim_shm_coll_result(leader, seq, n)))
        shim_progress_wait(&idle);
    return p;
}

bool shim_node_shm_allreduce_applies(struct shim_comm *c,
                                     const struct shim_op *op,
                                     size_t bytes)
{
    if (bytes == 0 || bytes > shim_shm_coll_max())
        return false;
    switch (node_shm_kind(c)) {
    case NODE_SHM_ONE:
        return true;
    case NODE_SHM_LEAD:
        return shim_node_reduce_applies(c->nodemap, op);
    default:
        return false;
    }
}

/* Reduces the operands of collective seq of the comm ranks ranks[0..n)
 * (ascending) into out: out = x[0] op (x[1] op (... op x[n-1])), the
 * same order on every rank. */
static int reduce_slots(uint64_t seq,
                        const struct shim_comm *c,
                        const int *ranks,
                        int n,
                        void *out,
                        const struct shim_red *rd)
{
    size_t bytes = shim_red_bytes(rd);
    int rc = 0;

    memcpy(
        out,
        peer_wait(shim_shm_local_index(c->world[ranks ? ranks[n - 1] : n - 1]),
                  seq, bytes),
        bytes);
    for (int k = n - 2; k >= 0 && rc == 0; k--) {
        int li = shim_shm_local_index(c->world[ranks ? ranks[k] : k]);
        rc = shim_op_apply_image(rd->op, peer_wait(li, seq, bytes), out,
                                 rd->nelem, rd->rdt);
    }
    return rc;
}

int shim_node_shm_allreduce(const void *in,
                            void *out,
                            const struct shim_red *rd,
                            struct shim_comm *c)
{
    size_t bytes = shim_red_bytes(rd);
    uint64_t seq = shim_shm_coll_post(in == MPI_IN_PLACE ? out : in, bytes);

    if (node_shm_kind(c) == NODE_SHM_ONE)
        return reduce_slots(seq, c, NULL, c->size, out, rd);
    /* Across nodes: every rank takes the schedule's tag, as the two-level
     * form does, but only the leader has steps in it. */
    const struct shim_nodemap *nm = c->nodemap;
    int leader = nm->first[nm->mynode];
    struct shim_sched *s;
    int rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    if (c->rank == leader) {
        rc = reduce_slots(seq, c, nm->local, nm->nlocal, out, rd);
        if (rc == 0 && view_leaders(s, nm, nm->first))
            shim_allreduce_flat(s, out, rd);
        view_comm(s);
        int rc2 = shim_sched_finish(s, NULL);
        shim_shm_coll_publish(seq, out, bytes);
        return rc ? rc : rc2;
    }
    rc = shim_sched_finish(s, NULL);
    memcpy(out, result_wait(shim_shm_local_index(c->world[leader]), seq, bytes),
           bytes);
    return rc;
}

bool shim_node_shm_barrier_applies(struct shim_comm *c)
{
    enum node_shm k = node_shm_kind(c);
    return k == NODE_SHM_ONE || k == NODE_SHM_LEAD;
}

int shim_node_shm_barrier(struct shim_comm *c)
{
    uint64_t seq = shim_shm_coll_post(NULL, 0);

    if (node_shm_kind(c) == NODE_SHM_ONE) {
        for (int i = 0; i < c->size; i++)
            peer_wait(shim_shm_local_index(c->world[i]), seq, 0);
        return 0;
    }
    const struct shim_nodemap *nm = c->nodemap;
    int leader = nm->first[nm->mynode];
    struct shim_sched *s;
    int rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    if (c->rank == leader) {
        for (int k = 0; k < nm->nlocal; k++)
            peer_wait(shim_shm_local_index(c->world[nm->local[k]]), seq, 0);
        if (view_leaders(s, nm, nm->first))
            shim_barrier_dissemination(s);
        view_comm(s);
        rc = shim_sched_finish(s, NULL);
        shim_shm_coll_publish(seq, NULL, 0);
        return rc;
    }
    rc = shim_sched_finish(s, NULL);
    result_wait(shim_shm_local_index(c->world[leader]), seq, 0);
    return rc;
}
