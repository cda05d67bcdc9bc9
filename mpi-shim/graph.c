/* SPDX-License-Identifier: MIT */
/* graph.c - graph and distributed graph topologies (MPI-3.1 chapter 7):
 * MPI_Graph_create and its queries, MPI_Dist_graph_create_adjacent,
 * MPI_Dist_graph_create and their neighbour queries.
 *
 * A graph communicator keeps the whole graph (index and edges, as given),
 * a distributed graph communicator only this process's in- and
 * out-neighbours with their weights (struct shim_graph, freed and copied
 * with the communicator by comm.c). Ranks are never reordered. The
 * communicator itself is a split of the old one, so it gets no
 * attributes. MPI_Dist_graph_create gathers every process's edges to
 * every process (one allgather of counts, one of edges) and each keeps
 * those leaving or entering it, in the order of the sources' ranks and
 * then of their arguments. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct shim_graph {
    /* MPI_GRAPH */
    int nnodes;
    int *index;
    int *edges;
    /* MPI_DIST_GRAPH */
    int indegree, outdegree;
    int *sources, *sourceweights;
    int *dests, *destweights;
    bool weighted;
};

void shim_graph_free(struct shim_graph *g)
{
    if (!g)
        return;
    free(g->index);
    free(g->edges);
    free(g->sources);
    free(g->sourceweights);
    free(g->dests);
    free(g->destweights);
    free(g);
}

static int *ints_dup(const int *a, int n)
{
    int *b = malloc(sizeof(int) * (n > 0 ? n : 1));

    if (b && n > 0)
        memcpy(b, a, sizeof(int) * n);
    return b;
}

struct shim_graph *shim_graph_copy(const struct shim_graph *g)
{
    struct shim_graph *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    *n = *g;
    n->index = ints_dup(g->index, g->nnodes);
    n->edges = ints_dup(g->edges, g->nnodes ? g->index[g->nnodes - 1] : 0);
    n->sources = ints_dup(g->sources, g->indegree);
    n->sourceweights = ints_dup(g->sourceweights, g->indegree);
    n->dests = ints_dup(g->dests, g->outdegree);
    n->destweights = ints_dup(g->destweights, g->outdegree);
    if (!n->index || !n->edges || !n->sources || !n->sourceweights || !n->dests
        || !n->destweights) {
        shim_graph_free(n);
        return NULL;
    }
    return n;
}

static int ret(struct shim_comm *c, const char *fn, int rc)
{
    return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
}

/* Makes the communicator of graph g (taken over) from the members of c
 * whose keep is true; the others get MPI_COMM_NULL. */
static int topo_comm(struct shim_comm *c,
                     bool keep,
                     int kind,
                     struct shim_graph *g,
                     MPI_Comm *out)
{
    MPI_Comm n;
    MPI_Errhandler eh = c->errhandler;

    /* The split reports through the old communicator's handler; errors
     * are returned here to be reported once, by the caller. */
    c->errhandler = MPI_ERRORS_RETURN;
    int rc = PMPI_Comm_split(c->handle, keep ? 0 : MPI_UNDEFINED, c->rank, &n);
    c->errhandler = eh;
    if (rc) {
        shim_graph_free(g);
        return SHIM_ECLASS(rc);
    }
    if (n == MPI_COMM_NULL) {
        shim_graph_free(g);
        *out = MPI_COMM_NULL;
        return 0;
    }
    struct shim_comm *nc = shim_comm_lookup(n);
    nc->topo = kind;
    nc->graph = g;
    *out = n;
    return 0;
}

SHIM_WEAK(Graph_create)
int PMPI_Graph_create(MPI_Comm comm_old,
                      int nnodes,
                      const int index[],
                      const int edges[],
                      int reorder,
                      MPI_Comm *comm_graph)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm_old, &c);

    (void)reorder;
    if (rc)
        return ret(NULL, "MPI_Graph_create", rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0 && (nnodes < 0 || nnodes > c->size || !comm_graph))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && nnodes > 0 && (!index || !edges))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    for (int i = 0; rc == 0 && i < nnodes; i++)
        if (index[i] < (i ? index[i - 1] : 0))
            rc = SHIM_ECLASS(MPI_ERR_ARG);
    int nedges = nnodes ? index[nnodes - 1] : 0;
    for (int e = 0; rc == 0 && e < nedges; e++)
        if (edges[e] < 0 || edges[e] >= nnodes)
            rc = SHIM_ECLASS(MPI_ERR_TOPOLOGY);
    if (rc)
        return ret(c, "MPI_Graph_create", rc);
    struct shim_graph *g = calloc(1, sizeof(*g));
    if (g) {
        g->nnodes = nnodes;
        g->index = ints_dup(index, nnodes);
        g->edges = ints_dup(edges, nedges);
    }
    if (!g || !g->index || !g->edges) {
        shim_graph_free(g);
        return ret(c, "MPI_Graph_create", -ENOMEM);
    }
    rc = topo_comm(c, c->rank < nnodes, MPI_GRAPH, g, comm_graph);
    return ret(c, "MPI_Graph_create", rc);
}

static int graph_check(MPI_Comm comm, int kind, struct shim_comm **c)
{
    int rc = shim_comm_check(comm, c);

    if (rc == 0 && (*c)->topo != kind)
        rc = SHIM_ECLASS(MPI_ERR_TOPOLOGY);
    return rc;
}

SHIM_WEAK(Graphdims_get)
int PMPI_Graphdims_get(MPI_Comm comm, int *nnodes, int *nedges)
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_GRAPH, &c);

    if (rc == 0 && (!nnodes || !nedges))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret(c, "MPI_Graphdims_get", rc);
    *nnodes = c->graph->nnodes;
    *nedges = c->graph->nnodes ? c->graph->index[c->graph->nnodes - 1] : 0;
    return MPI_SUCCESS;
}

SHIM_WEAK(Graph_get)
int PMPI_Graph_get(
    MPI_Comm comm, int maxindex, int maxedges, int index[], int edges[])
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_GRAPH, &c);

    if (rc)
        return ret(c, "MPI_Graph_get", rc);
    const struct shim_graph *g = c->graph;
    int nedges = g->nnodes ? g->index[g->nnodes - 1] : 0;
    int ni = maxindex < g->nnodes ? maxindex : g->nnodes;
    int ne = maxedges < nedges ? maxedges : nedges;
    if ((ni > 0 && !index) || (ne > 0 && !edges))
        return ret(c, "MPI_Graph_get", SHIM_ECLASS(MPI_ERR_ARG));
    if (ni > 0)
        memcpy(index, g->index, sizeof(int) * ni);
    if (ne > 0)
        memcpy(edges, g->edges, sizeof(int) * ne);
    return MPI_SUCCESS;
}

SHIM_WEAK(Graph_neighbors_count)
int PMPI_Graph_neighbors_count(MPI_Comm comm, int rank, int *nneighbors)
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_GRAPH, &c);

    if (rc == 0 && (rank < 0 || rank >= c->graph->nnodes))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    if (rc == 0 && !nneighbors)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret(c, "MPI_Graph_neighbors_count", rc);
    const int *ix = c->graph->index;
    *nneighbors = ix[rank] - (rank ? ix[rank - 1] : 0);
    return MPI_SUCCESS;
}

SHIM_WEAK(Graph_neighbors)
int PMPI_Graph_neighbors(MPI_Comm comm,
                         int rank,
                         int maxneighbors,
                         int neighbors[])
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_GRAPH, &c);

    if (rc == 0 && (rank < 0 || rank >= c->graph->nnodes))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    if (rc)
        return ret(c, "MPI_Graph_neighbors", rc);
    const int *ix = c->graph->index;
    int first = rank ? ix[rank - 1] : 0;
    int n = ix[rank] - first;
    if (n > maxneighbors)
        n = maxneighbors;
    if (n > 0 && !neighbors)
        return ret(c, "MPI_Graph_neighbors", SHIM_ECLASS(MPI_ERR_ARG));
    for (int i = 0; i < n; i++)
        neighbors[i] = c->graph->edges[first + i];
    return MPI_SUCCESS;
}

/* ---- distributed graphs ------------------------------------------------- */

static bool weights_given(const int *w)
{
    return w != MPI_UNWEIGHTED;
}

/* A graph of this process's neighbours; weights may be MPI_UNWEIGHTED or
 * MPI_WEIGHTS_EMPTY. */
static struct shim_graph *dist_new(int indegree,
                                   const int *sources,
                                   const int *sw,
                                   int outdegree,
                                   const int *dests,
                                   const int *dw,
                                   bool weighted)
{
    struct shim_graph *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->indegree = indegree;
    g->outdegree = outdegree;
    g->weighted = weighted;
    g->sources = ints_dup(sources, indegree);
    g->dests = ints_dup(dests, outdegree);
    g->sourceweights = ints_dup(weighted ? sw : NULL, weighted ? indegree : 0);
    g->destweights = ints_dup(weighted ? dw : NULL, weighted ? outdegree : 0);
    if (!g->sources || !g->dests || !g->sourceweights || !g->destweights) {
        shim_graph_free(g);
        return NULL;
    }
    return g;
}

static int ranks_check(const struct shim_comm *c, int n, const int *r)
{
    for (int i = 0; i < n; i++)
        if (r[i] < 0 || r[i] >= c->size)
            return SHIM_ECLASS(MPI_ERR_RANK);
    return 0;
}

SHIM_WEAK(Dist_graph_create_adjacent)
int PMPI_Dist_graph_create_adjacent(MPI_Comm comm_old,
                                    int indegree,
                                    const int sources[],
                                    const int sourceweights[],
                                    int outdegree,
                                    const int destinations[],
                                    const int destweights[],
                                    MPI_Info info,
                                    int reorder,
                                    MPI_Comm *comm_dist_graph)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm_old, &c);

    (void)reorder;
    if (rc)
        return ret(NULL, "MPI_Dist_graph_create_adjacent", rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0)
        rc = shim_info_check(info);
    if (rc == 0
        && (indegree < 0 || outdegree < 0 || !comm_dist_graph
            || (indegree && !sources) || (outdegree && !destinations)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = ranks_check(c, indegree, sources);
    if (rc == 0)
        rc = ranks_check(c, outdegree, destinations);
    if (rc)
        return ret(c, "MPI_Dist_graph_create_adjacent", rc);
    bool weighted = weights_given(sourceweights) && weights_given(destweights);
    struct shim_graph *g = dist_new(indegree, sources, sourceweights, outdegree,
                                    destinations, destweights, weighted);
    if (!g)
        return ret(c, "MPI_Dist_graph_create_adjacent", -ENOMEM);
    rc = topo_comm(c, true, MPI_DIST_GRAPH, g, comm_dist_graph);
    return ret(c, "MPI_Dist_graph_create_adjacent", rc);
}

SHIM_WEAK(Dist_graph_create)
int PMPI_Dist_graph_create(MPI_Comm comm_old,
                           int n,
                           const int sources[],
                           const int degrees[],
                           const int destinations[],
                           const int weights[],
                           MPI_Info info,
                           int reorder,
                           MPI_Comm *comm_dist_graph)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm_old, &c);

    (void)reorder;
    if (rc)
        return ret(NULL, "MPI_Dist_graph_create", rc);
    if (c->inter)
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    if (rc == 0)
        rc = shim_info_check(info);
    if (rc == 0 && (n < 0 || !comm_dist_graph || (n && (!sources || !degrees))))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    int nedges = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        if (degrees[i] < 0)
            rc = SHIM_ECLASS(MPI_ERR_ARG);
        else
            nedges += degrees[i];
    }
    if (rc == 0 && nedges && !destinations)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = ranks_check(c, n, sources);
    if (rc == 0)
        rc = ranks_check(c, nedges, destinations);
    if (rc)
        return ret(c, "MPI_Dist_graph_create", rc);
    /* Every edge as (source, destination, weight); all processes learn all
     * edges, and whether anyone gave no weights. */
    bool weighted = weights_given(weights);
    int *mine = malloc(sizeof(int) * (3 * nedges + 1));
    int *counts = malloc(sizeof(int) * c->size);
    int *displs = malloc(sizeof(int) * c->size);
    int *all = NULL;
    int total = 0;
    rc = mine && counts && displs ? 0 : -ENOMEM;
    for (int i = 0, e = 0; rc == 0 && i < n; i++)
        for (int k = 0; k < degrees[i]; k++, e++) {
            mine[3 * e] = sources[i];
            mine[3 * e + 1] = destinations[e];
            mine[3 * e + 2] = weighted && nedges ? weights[e] : 1;
        }
    int cnt[2] = {3 * nedges, weighted ? 1 : 0};
    int *cw = malloc(sizeof(int) * 2 * c->size);
    if (rc == 0 && !cw)
        rc = -ENOMEM;
    if (rc == 0)
        rc = shim_coll_allgather(cnt, 2, shim_dt_get(MPI_INT), cw, 2,
                                 shim_dt_get(MPI_INT), c);
    bool allweighted = true;
    for (int r = 0; rc == 0 && r < c->size; r++) {
        counts[r] = cw[2 * r];
        displs[r] = total;
        total += counts[r];
        if (cw[2 * r] && !cw[2 * r + 1])
            allweighted = false;
    }
    if (rc == 0) {
        all = malloc(sizeof(int) * (total + 1));
        rc = all ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        MPI_Errhandler eh = c->errhandler;
        c->errhandler = MPI_ERRORS_RETURN;
        int arc = PMPI_Allgatherv(mine, 3 * nedges, MPI_INT, all, counts,
                                  displs, MPI_INT, c->handle);
        c->errhandler = eh;
        rc = arc ? SHIM_ECLASS(arc) : 0;
    }
    struct shim_graph *g = NULL;
    if (rc == 0) {
        int in = 0, out = 0;
        for (int e = 0; e < total / 3; e++) {
            in += all[3 * e + 1] == c->rank;
            out += all[3 * e] == c->rank;
        }
        int *s = malloc(sizeof(int) * (in + 1)),
            *sw = malloc(sizeof(int) * (in + 1));
        int *d = malloc(sizeof(int) * (out + 1)),
            *dw = malloc(sizeof(int) * (out + 1));
        if (s && sw && d && dw) {
            in = out = 0;
            for (int e = 0; e < total / 3; e++) {
                if (all[3 * e + 1] == c->rank) {
                    s[in] = all[3 * e];
                    sw[in++] = all[3 * e + 2];
                }
                if (all[3 * e] == c->rank) {
                    d[out] = all[3 * e + 1];
                    dw[out++] = all[3 * e + 2];
                }
            }
            g = dist_new(in, s, sw, out, d, dw, allweighted);
        }
        free(s);
        free(sw);
        free(d);
        free(dw);
        if (!g)
            rc = -ENOMEM;
    }
    free(mine);
    free(counts);
    free(displs);
    free(cw);
    free(all);
    if (rc == 0)
        rc = topo_comm(c, true, MPI_DIST_GRAPH, g, comm_dist_graph);
    return ret(c, "MPI_Dist_graph_create", rc);
}

SHIM_WEAK(Dist_graph_neighbors_count)
int PMPI_Dist_graph_neighbors_count(MPI_Comm comm,
                                    int *indegree,
                                    int *outdegree,
                                    int *weighted)
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_DIST_GRAPH, &c);

    if (rc == 0 && (!indegree || !outdegree || !weighted))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return ret(c, "MPI_Dist_graph_neighbors_count", rc);
    *indegree = c->graph->indegree;
    *outdegree = c->graph->outdegree;
    *weighted = c->graph->weighted;
    return MPI_SUCCESS;
}

SHIM_WEAK(Dist_graph_neighbors)
int PMPI_Dist_graph_neighbors(MPI_Comm comm,
                              int maxindegree,
                              int sources[],
                              int sourceweights[],
                              int maxoutdegree,
                              int destinations[],
                              int destweights[])
{
    struct shim_comm *c = NULL;
    int rc = graph_check(comm, MPI_DIST_GRAPH, &c);

    if (rc)
        return ret(c, "MPI_Dist_graph_neighbors", rc);
    const struct shim_graph *g = c->graph;
    int in = maxindegree < g->indegree ? maxindegree : g->indegree;
    int out = maxoutdegree < g->outdegree ? maxoutdegree : g->outdegree;
    if ((in > 0 && !sources) || (out > 0 && !destinations))
        return ret(c, "MPI_Dist_graph_neighbors", SHIM_ECLASS(MPI_ERR_ARG));
    for (int i = 0; i < in; i++) {
        sources[i] = g->sources[i];
        if (g->weighted && weights_given(sourceweights) && sourceweights)
            sourceweights[i] = g->sourceweights[i];
    }
    for (int i = 0; i < out; i++) {
        destinations[i] = g->dests[i];
        if (g->weighted && weights_given(destweights) && destweights)
            destweights[i] = g->destweights[i];
    }
    return MPI_SUCCESS;
}

int shim_topo_neighbors(
    struct shim_comm *c, int **in, int *nin, int **out, int *nout, bool *cart)
{
    *cart = false;
    if (c->topo == MPI_CART) {
        int n = 2 * c->ndims;
        int *l = malloc(sizeof(int) * (n ? n : 1));
        int *o = malloc(sizeof(int) * (n ? n : 1));
        if (!l || !o) {
            free(l);
            free(o);
            return -ENOMEM;
        }
        for (int d = 0; d < c->ndims; d++) {
            int src, dst;
            MPI_Errhandler eh = c->errhandler;
            c->errhandler = MPI_ERRORS_RETURN;
            int rc = PMPI_Cart_shift(c->handle, d, 1, &src, &dst);
            c->errhandler = eh;
            if (rc) {
                free(l);
                free(o);
                return SHIM_ECLASS(rc);
            }
            l[2 * d] = o[2 * d] = src;
            l[2 * d + 1] = o[2 * d + 1] = dst;
        }
        *in = l;
        *out = o;
        *nin = *nout = n;
        *cart = true;
        return 0;
    }
    const struct shim_graph *g = c->graph;
    if (c->topo == MPI_GRAPH) {
        int first = c->rank ? g->index[c->rank - 1] : 0;
        int n = g->index[c->rank] - first;
        *in = ints_dup(g->edges + first, n);
        *out = ints_dup(g->edges + first, n);
        *nin = *nout = n;
    } else if (c->topo == MPI_DIST_GRAPH) {
        *in = ints_dup(g->sources, g->indegree);
        *out = ints_dup(g->dests, g->outdegree);
        *nin = g->indegree;
        *nout = g->outdegree;
    } else {
        return SHIM_ECLASS(MPI_ERR_TOPOLOGY);
    }
    if (!*in || !*out) {
        free(*in);
        free(*out);
        return -ENOMEM;
    }
    return 0;
}
