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
 * SHOAL_MPI_COLL_FLAT=1 forces the flat algorithms, for comparison. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"
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
