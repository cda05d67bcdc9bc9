/* SPDX-License-Identifier: MIT */
/* coll_bcast.c - MPI_Bcast and MPI_Ibcast: a binomial tree for small
 * messages, Van de Geijn's scatter + ring allgather for large ones, a
 * schedule-free binomial tree for small blocking calls, and the node-aware
 * form when the communicator spans nodes (coll_node.c). */
#include "config.h"

#include "mpi-shim/coll_private.h"

/* From this many bytes on, broadcasts scatter and then ring. */
enum { BCAST_LONG = 256 * 1024 };

void shim_bcast_binomial(struct shim_sched *s, void *buf, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    int mask = 1;

    while (mask < p) {
        if (vr & mask) {
            shim_sched_recv(s, buf, n, (r - mask + p) % p);
            shim_sched_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1)
        if (vr + mask < p)
            shim_sched_send(s, buf, n, (r + mask) % p);
    shim_sched_fence(s);
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
            shim_sched_recv(s, b + lo, hi - lo, (r - mask + p) % p);
            shim_sched_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        if (vr + mask < p) {
            size_t lo = CH_LO(vr + mask), hi = CH_LO(vr + 2 * mask);
            if (hi > lo)
                shim_sched_send(s, b + lo, hi - lo, (r + mask) % p);
        }
    }
    shim_sched_fence(s);
    int left = (r - 1 + p) % p, right = (r + 1) % p;
    for (int j = 0; j < p - 1; j++) {
        int sb = (vr - j + p) % p, rb = (vr - j - 1 + p) % p;
        if (CH_LO(sb + 1) > CH_LO(sb))
            shim_sched_send(s, b + CH_LO(sb), CH_LO(sb + 1) - CH_LO(sb), right);
        if (CH_LO(rb + 1) > CH_LO(rb))
            shim_sched_recv(s, b + CH_LO(rb), CH_LO(rb + 1) - CH_LO(rb), left);
        shim_sched_fence(s);
    }
#undef CH_LO
}

void shim_bcast_flat(struct shim_sched *s, void *buf, size_t n, int root)
{
    if (n >= BCAST_LONG && s->p > 2)
        bcast_scatter_ring(s, buf, n, root);
    else
        shim_bcast_binomial(s, buf, n, root);
}

/* Blocking small broadcast of contiguous data without a schedule: the
 * binomial tree of shim_bcast_binomial(), run in place. */
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
        if (n <= shim_inject_max(c, dst)) {
            rc = shim_inject(buf, n, c, c->ctx | 1, dst, tag);
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
    const struct shim_nodemap *nm = shim_node_map(c);

    if (!request && !nm && t->contig && n <= BCAST_DIRECT && c->size > 1
        && n > 0)
        return bcast_direct((char *)buffer + t->true_lb, n, root, c);
    int rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    void *b;
    if (c->rank == root)
        b = (void *)shim_sched_in_bytes(s, buffer, (size_t)count, t);
    else
        b = shim_sched_out_bytes(s, buffer, (size_t)count, t);
    if (nm && n > 0 && b) {
        shim_node_bcast(s, nm, b, n, root);
    } else if (c->size > 1 && n > 0 && b) {
        shim_bcast_flat(s, b, n, root);
    }
    return shim_sched_finish(s, request);
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
    int rc = shim_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_coll_check_buf(count, datatype, &t);
    if (rc == 0 && c->inter)
        return SHIM_COLL_RET(
            c, fn, shim_inter_bcast(buffer, count, t, root, c, request));
    if (rc == 0)
        rc = shim_coll_check_root(c, root);
    if (rc == 0)
        rc = bcast(buffer, count, t, root, c, request);
    return SHIM_COLL_RET(c, fn, rc);
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
