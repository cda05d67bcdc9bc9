/* SPDX-License-Identifier: MIT */
/* coll_reduce.c - the reductions: MPI_Reduce, MPI_Allreduce (and their
 * nonblocking twins), MPI_Reduce_scatter, MPI_Reduce_scatter_block,
 * MPI_Scan and MPI_Exscan (and their nonblocking twins).
 *
 * Reductions work on byte images (struct shim_red): types without holes
 * in place, others packed. Reduce is a binomial tree; allreduce is
 * recursive doubling when small or non-commutative and Rabenseifner's
 * reduce-scatter + allgather when large, with a schedule-free recursive
 * doubling for small blocking calls. Reduce and Allreduce take the
 * node-aware form (coll_node.c) when it applies. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"

/* Above this many bytes a commutative allreduce halves and doubles. */
enum { ALLREDUCE_SHORT = 2048 };

static int red_prepare(struct shim_datatype *t,
                       struct shim_op *op,
                       int count,
                       struct shim_red *rd)
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

static const void *red_in(struct shim_sched *s,
                          const void *buf,
                          int count,
                          struct shim_datatype *t)
{
    if (t->dense)
        return (const char *)buf + t->true_lb;
    return shim_sched_in_bytes(s, buf, (size_t)count, t);
}

static void *
red_out(struct shim_sched *s, void *buf, int count, struct shim_datatype *t)
{
    if (t->dense)
        return (char *)buf + t->true_lb;
    return shim_sched_out_bytes(s, buf, (size_t)count, t);
}

/* Recursive doubling (MPICH): non-power-of-two ranks first fold into a
 * power-of-two set. Lower ranks' data always goes first, so the result is
 * right for non-commutative operations too. acc holds this rank's data
 * and receives the result. */
static void
allreduce_rd(struct shim_sched *s, void *acc, const struct shim_red *rd)
{
    int p = s->p, r = s->r;
    size_t bytes = shim_red_bytes(rd);
    void *tmp = shim_sched_tmp(s, bytes);
    int pof2 = 1, rem, newrank;

    while (pof2 * 2 <= p)
        pof2 *= 2;
    rem = p - pof2;
    if (r < 2 * rem) {
        if (r % 2 == 0) {
            shim_sched_send(s, acc, bytes, r + 1);
            newrank = -1;
        } else {
            shim_sched_recv(s, tmp, bytes, r - 1);
            shim_sched_fence(s);
            shim_sched_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            newrank = r / 2;
        }
        shim_sched_fence(s);
    } else {
        newrank = r - rem;
    }
    if (newrank >= 0) {
        for (int mask = 1; mask < pof2; mask <<= 1) {
            int nd = newrank ^ mask;
            int dst = nd < rem ? nd * 2 + 1 : nd + rem;
            shim_sched_send(s, acc, bytes, dst);
            shim_sched_recv(s, tmp, bytes, dst);
            shim_sched_fence(s);
            if (rd->op->commute || dst < r) {
                shim_sched_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            } else {
                shim_sched_reduce(s, acc, tmp, rd->nelem, rd->rdt, rd->op);
                shim_sched_copy(s, tmp, acc, bytes);
            }
            shim_sched_fence(s);
        }
    }
    if (r < 2 * rem) {
        if (r % 2)
            shim_sched_send(s, acc, bytes, r - 1);
        else
            shim_sched_recv(s, acc, bytes, r + 1);
        shim_sched_fence(s);
    }
}

/* Rabenseifner: reduce-scatter by recursive halving, then allgather by
 * recursive doubling; moves 2n bytes per rank instead of n log p.
 * Commutative operations only. */
static void
allreduce_rsag(struct shim_sched *s, void *acc, const struct shim_red *rd)
{
    int p = s->p, r = s->r;
    size_t esz = rd->esz;
    char *a = acc;
    char *tmp = shim_sched_tmp(s, shim_red_bytes(rd));
    int pof2 = 1, rem, newrank;

    while (pof2 * 2 <= p)
        pof2 *= 2;
    rem = p - pof2;
    if (r < 2 * rem) {
        if (r % 2 == 0) {
            shim_sched_send(s, acc, shim_red_bytes(rd), r + 1);
            newrank = -1;
        } else {
            shim_sched_recv(s, tmp, shim_red_bytes(rd), r - 1);
            shim_sched_fence(s);
            shim_sched_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            newrank = r / 2;
        }
        shim_sched_fence(s);
    } else {
        newrank = r - rem;
    }
    if (newrank >= 0 && tmp) {
        size_t *cnts = (size_t *)shim_sched_tmp(s, sizeof(size_t) * pof2 * 2);
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
            shim_sched_send(s, a + disps[send_idx] * esz, sc * esz, dst);
            shim_sched_recv(s, tmp + disps[recv_idx] * esz, rc * esz, dst);
            shim_sched_fence(s);
            shim_sched_reduce(s, tmp + disps[recv_idx] * esz,
                              a + disps[recv_idx] * esz, rc, rd->rdt, rd->op);
            shim_sched_fence(s);
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
            shim_sched_send(s, a + disps[send_idx] * esz, sc * esz, dst);
            shim_sched_recv(s, a + disps[recv_idx] * esz, rc * esz, dst);
            shim_sched_fence(s);
            if (newrank > nd)
                send_idx = recv_idx;
        }
    }
    if (r < 2 * rem) {
        if (r % 2)
            shim_sched_send(s, acc, shim_red_bytes(rd), r - 1);
        else
            shim_sched_recv(s, acc, shim_red_bytes(rd), r + 1);
        shim_sched_fence(s);
    }
}

void shim_allreduce_flat(struct shim_sched *s,
                         void *acc,
                         const struct shim_red *rd)
{
    int pof2 = 1;

    while (pof2 * 2 <= s->p)
        pof2 *= 2;
    if (shim_red_bytes(rd) > ALLREDUCE_SHORT && rd->op->commute
        && rd->nelem >= (size_t)pof2)
        allreduce_rsag(s, acc, rd);
    else
        allreduce_rd(s, acc, rd);
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
    if (bytes <= shim_inject_max(c, peer)) {
        rc = shim_inject(sbuf, bytes, c, c->ctx | 1, peer, tag);
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
                            const struct shim_red *rd,
                            struct shim_comm *c)
{
    int p = c->size, r = c->rank;
    int tag = (int)(c->coll_seq++ & SHIM_TAGV_MASK);
    size_t bytes = shim_red_bytes(rd);
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

/* A blocking allreduce through the node's segment (coll_node.c); a type
 * with holes goes packed, so every rank of the node takes this path
 * whatever type map its own datatype has. */
static int allreduce_shm(const void *sendbuf,
                         void *recvbuf,
                         int count,
                         struct shim_datatype *t,
                         const struct shim_red *rd,
                         struct shim_comm *c)
{
    if (t->dense) {
        const void *in = sendbuf == MPI_IN_PLACE
                             ? MPI_IN_PLACE
                             : (const char *)sendbuf + t->true_lb;
        return shim_node_shm_allreduce(in, (char *)recvbuf + t->true_lb, rd, c);
    }
    size_t bytes = shim_red_bytes(rd);
    char *img = malloc(2 * bytes);
    if (!img)
        return -ENOMEM;
    shim_dt_pack(t, sendbuf == MPI_IN_PLACE ? recvbuf : sendbuf, (size_t)count,
                 img);
    int rc = shim_node_shm_allreduce(img, img + bytes, rd, c);
    if (rc == 0)
        shim_dt_unpack(t, img + bytes, bytes, recvbuf);
    free(img);
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
    struct shim_red rd;
    int rc = red_prepare(t, op, count, &rd);

    if (rc)
        return rc;
    if (!request && c->size > 1
        && shim_node_shm_allreduce_applies(c, op, shim_red_bytes(&rd)))
        return allreduce_shm(sendbuf, recvbuf, count, t, &rd, c);
    const struct shim_nodemap *nm = shim_node_map(c);
    bool two_level =
        shim_node_reduce_applies(nm, op)
        && !(op->commute && shim_red_bytes(&rd) > ALLREDUCE_NODE_MAX);
    /* Dense data needs no packing, so small blocking calls go direct. */
    if (!request && !two_level && t->dense
        && shim_red_bytes(&rd) <= ALLREDUCE_DIRECT) {
        const void *in = sendbuf == MPI_IN_PLACE
                             ? MPI_IN_PLACE
                             : (const char *)sendbuf + t->true_lb;
        return allreduce_direct(in, (char *)recvbuf + t->true_lb, &rd, c);
    }
    rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    void *acc = red_out(s, recvbuf, count, t);
    if (sendbuf != MPI_IN_PLACE) {
        shim_sched_copy(s, red_in(s, sendbuf, count, t), acc,
                        shim_red_bytes(&rd));
    } else if (!t->dense && acc) {
        shim_dt_pack(t, recvbuf, (size_t)count, acc);
    }
    shim_sched_fence(s);
    if (two_level && count > 0 && acc) {
        shim_node_allreduce(s, nm, acc, &rd);
    } else if (c->size > 1 && count > 0 && acc) {
        shim_allreduce_flat(s, acc, &rd);
    }
    return shim_sched_finish(s, request);
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

void shim_reduce_tree(struct shim_sched *s,
                      void *acc,
                      void *out,
                      const struct shim_red *rd,
                      int root)
{
    int p = s->p, r = s->r;
    size_t bytes = shim_red_bytes(rd);
    int vroot = rd->op->commute ? root : 0;
    int vr = (r - vroot + p) % p;
    void *tmp = p > 1 ? shim_sched_tmp(s, bytes) : NULL;

    for (int mask = 1; mask < p; mask <<= 1) {
        if (vr & mask) {
            shim_sched_send(s, acc, bytes, ((vr & ~mask) + vroot) % p);
            shim_sched_fence(s);
            break;
        }
        int src = vr | mask;
        if (src < p) {
            shim_sched_recv(s, tmp, bytes, (src + vroot) % p);
            shim_sched_fence(s);
            if (rd->op->commute) {
                shim_sched_reduce(s, tmp, acc, rd->nelem, rd->rdt, rd->op);
            } else {
                shim_sched_reduce(s, acc, tmp, rd->nelem, rd->rdt, rd->op);
                shim_sched_copy(s, tmp, acc, bytes);
            }
            shim_sched_fence(s);
        }
    }
    if (vroot == root) {
        if (r == root)
            shim_sched_copy(s, acc, out, bytes);
    } else if (r == vroot) {
        shim_sched_send(s, acc, bytes, root);
    } else if (r == root) {
        shim_sched_recv(s, out, bytes, vroot);
    }
    shim_sched_fence(s);
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
    struct shim_red rd;
    int rc = red_prepare(t, op, count, &rd);
    const struct shim_nodemap *nm = shim_node_map(c);

    if (rc)
        return rc;
    rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t bytes = shim_red_bytes(&rd);
    bool two_level = shim_node_reduce_applies(nm, op);
    void *out = c->rank == root ? red_out(s, recvbuf, count, t) : NULL;
    void *acc;
    /* The flat tree's root accumulates straight into the result. */
    if (!two_level && c->rank == root && (op->commute || root == 0))
        acc = out;
    else
        acc = shim_sched_tmp(s, bytes);
    const void *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, count, t)
                                             : red_in(s, sendbuf, count, t);
    if (!acc || !in || (c->rank == root && !out))
        return shim_sched_finish(s, request);
    shim_sched_copy(s, in, acc, bytes);
    shim_sched_fence(s);
    if (count == 0)
        return shim_sched_finish(s, request);
    if (two_level)
        shim_node_reduce(s, nm, acc, out, &rd, root);
    else
        shim_reduce_tree(s, acc, out, &rd, root);
    return shim_sched_finish(s, request);
}

/* Pairwise exchange: in step i each rank sends the block of rank r+i and
 * reduces the one from r-i into its own. Commutative operations; others
 * reduce to rank 0 along the tree (operands in rank order) and rank 0
 * sends each rank its block, in the same schedule. */
static int reduce_scatter(const void *sendbuf,
                          void *recvbuf,
                          const int *counts,
                          struct shim_datatype *t,
                          struct shim_op *op,
                          struct shim_comm *c,
                          MPI_Request *request)
{
    int p = c->size, r = c->rank;
    int total = 0;
    int rc;

    for (int i = 0; i < p; i++)
        total += counts[i];
    struct shim_sched *s;
    struct shim_red rd;
    rc = red_prepare(t, op, total, &rd);
    if (rc)
        return rc;
    rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t per = rd.nelem / (size_t)(total ? total : 1);
    const char *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, total, t)
                                             : red_in(s, sendbuf, total, t);
    size_t *off = (size_t *)shim_sched_tmp(s, sizeof(size_t) * (p + 1));
    if (!in || !off)
        return shim_sched_finish(s, request);
    off[0] = 0;
    for (int i = 0; i < p; i++)
        off[i + 1] = off[i] + (size_t)counts[i] * per;
    size_t mine = off[r + 1] - off[r];
    void *out = red_out(s, recvbuf, counts[r], t);
    if (!out || total == 0)
        return shim_sched_finish(s, request);
    if (!op->commute) {
        size_t bytes = shim_red_bytes(&rd);
        char *acc = shim_sched_tmp(s, bytes);
        char *full = r == 0 ? shim_sched_tmp(s, bytes) : NULL;
        if (!acc || (r == 0 && !full))
            return shim_sched_finish(s, request);
        shim_sched_copy(s, in, acc, bytes);
        shim_sched_fence(s);
        shim_reduce_tree(s, acc, full, &rd, 0);
        if (r == 0) {
            for (int i = 1; i < p; i++)
                if (off[i + 1] > off[i])
                    shim_sched_send(s, full + off[i] * rd.esz,
                                    (off[i + 1] - off[i]) * rd.esz, i);
            shim_sched_copy(s, full, out, mine * rd.esz);
        } else if (mine > 0) {
            shim_sched_recv(s, out, mine * rd.esz, 0);
        }
        shim_sched_fence(s);
        return shim_sched_finish(s, request);
    }
    char *acc = shim_sched_tmp(s, mine * rd.esz);
    char *tmp = shim_sched_tmp(s, mine * rd.esz);
    if (!acc || !tmp)
        return shim_sched_finish(s, request);
    shim_sched_copy(s, in + off[r] * rd.esz, acc, mine * rd.esz);
    shim_sched_fence(s);
    for (int i = 1; i < p; i++) {
        int dst = (r + i) % p, src = (r - i + p) % p;
        shim_sched_send(s, in + off[dst] * rd.esz,
                        (off[dst + 1] - off[dst]) * rd.esz, dst);
        shim_sched_recv(s, tmp, mine * rd.esz, src);
        shim_sched_fence(s);
        shim_sched_reduce(s, tmp, acc, mine, rd.rdt, op);
        shim_sched_fence(s);
    }
    shim_sched_copy(s, acc, out, mine * rd.esz);
    return shim_sched_finish(s, request);
}

/* Recursive doubling scan (MPICH); exclusive when ex is set. */
static int scan(const void *sendbuf,
                void *recvbuf,
                int count,
                struct shim_datatype *t,
                struct shim_op *op,
                struct shim_comm *c,
                bool ex,
                MPI_Request *request)
{
    struct shim_sched *s;
    struct shim_red rd;
    int rc = red_prepare(t, op, count, &rd);
    int p = c->size, r = c->rank;

    if (rc)
        return rc;
    rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t bytes = shim_red_bytes(&rd);
    void *out = red_out(s, recvbuf, count, t);
    const void *in = sendbuf == MPI_IN_PLACE ? red_in(s, recvbuf, count, t)
                                             : red_in(s, sendbuf, count, t);
    void *partial = shim_sched_tmp(s, bytes);
    void *tmp = shim_sched_tmp(s, bytes);
    if (!out || !in || !partial || !tmp)
        return shim_sched_finish(s, request);
    shim_sched_copy(s, in, partial, bytes);
    if (!ex)
        shim_sched_copy(s, in, out, bytes);
    shim_sched_fence(s);
    bool have = false;
    for (int mask = 1; mask < p; mask <<= 1) {
        int dst = r ^ mask;
        if (dst >= p)
            continue;
        shim_sched_send(s, partial, bytes, dst);
        shim_sched_recv(s, tmp, bytes, dst);
        shim_sched_fence(s);
        if (r > dst) {
            shim_sched_reduce(s, tmp, partial, rd.nelem, rd.rdt, op);
            if (!ex) {
                shim_sched_reduce(s, tmp, out, rd.nelem, rd.rdt, op);
            } else if (!have) {
                shim_sched_copy(s, tmp, out, bytes);
                have = true;
            } else {
                shim_sched_reduce(s, tmp, out, rd.nelem, rd.rdt, op);
            }
        } else if (op->commute) {
            shim_sched_reduce(s, tmp, partial, rd.nelem, rd.rdt, op);
        } else {
            shim_sched_reduce(s, partial, tmp, rd.nelem, rd.rdt, op);
            shim_sched_copy(s, tmp, partial, bytes);
        }
        shim_sched_fence(s);
    }
    /* Rank 0's exclusive result is undefined: leave its buffer alone. */
    if (ex && !t->dense && r == 0)
        shim_sched_drop_unpacks(s);
    return shim_sched_finish(s, request);
}

/* ---- on intercommunicators ------------------------------------------------
 * One schedule on the intercommunicator: the local steps run in the view
 * of its local group (on that group's private communicator), the leaders
 * (local rank 0) talk across. */
/* MPI_Reduce on an intercommunicator: the root (MPI_ROOT) gets the
 * reduction of the other group's data, which that group reduces to its
 * rank 0 first; the root's group mates pass MPI_PROC_NULL. */
static int inter_reduce(const void *sendbuf,
                        void *recvbuf,
                        int count,
                        struct shim_datatype *t,
                        struct shim_op *op,
                        int root,
                        struct shim_comm *c,
                        MPI_Request *request)
{
    struct shim_sched *s;
    struct shim_red rd;
    int rc = red_prepare(t, op, count, &rd);

    if (rc == 0 && root != MPI_ROOT && root != MPI_PROC_NULL
        && (root < 0 || root >= c->size))
        rc = SHIM_ECLASS(MPI_ERR_ROOT);
    if (rc == 0 && root >= 0 && sendbuf == MPI_IN_PLACE)
        rc = SHIM_ECLASS(MPI_ERR_BUFFER);
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t bytes = shim_red_bytes(&rd);
    if (root == MPI_PROC_NULL || count == 0)
        return shim_sched_finish(s, request);
    if (root == MPI_ROOT) {
        void *out = red_out(s, recvbuf, count, t);
        if (out)
            shim_sched_recv(s, out, bytes, 0);
        shim_sched_fence(s);
        return shim_sched_finish(s, request);
    }
    const void *in = red_in(s, sendbuf, count, t);
    void *acc = shim_sched_tmp(s, bytes);
    void *full = c->rank == 0 ? shim_sched_tmp(s, bytes) : NULL;
    if (!in || !acc || (c->rank == 0 && !full))
        return shim_sched_finish(s, request);
    shim_sched_copy(s, in, acc, bytes);
    shim_sched_fence(s);
    shim_sched_view_local(s, c);
    shim_reduce_tree(s, acc, full, &rd, 0);
    shim_sched_view_inter(s, c);
    if (c->rank == 0)
        shim_sched_send(s, full, bytes, root);
    shim_sched_fence(s);
    return shim_sched_finish(s, request);
}

/* MPI_Allreduce on an intercommunicator: each group reduces its data to
 * its rank 0, the leaders swap the results, and each leader broadcasts
 * the other group's reduction in its group. */
int shim_inter_allreduce(const void *sendbuf,
                         void *recvbuf,
                         int count,
                         struct shim_datatype *t,
                         struct shim_op *op,
                         struct shim_comm *c,
                         MPI_Request *request)
{
    struct shim_sched *s;
    struct shim_red rd;
    int rc = sendbuf == MPI_IN_PLACE ? SHIM_ECLASS(MPI_ERR_BUFFER) : 0;

    if (rc == 0)
        rc = red_prepare(t, op, count, &rd);
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t bytes = shim_red_bytes(&rd);
    const void *in = red_in(s, sendbuf, count, t);
    void *out = red_out(s, recvbuf, count, t);
    char *acc = shim_sched_tmp(s, bytes);
    char *full = c->rank == 0 ? shim_sched_tmp(s, bytes) : NULL;
    if (!in || !out || !acc || (c->rank == 0 && !full) || count == 0)
        return shim_sched_finish(s, request);
    shim_sched_copy(s, in, acc, bytes);
    shim_sched_fence(s);
    shim_sched_view_local(s, c);
    shim_reduce_tree(s, acc, full, &rd, 0);
    shim_sched_view_inter(s, c);
    if (c->rank == 0) {
        shim_sched_send(s, full, bytes, 0);
        shim_sched_recv(s, out, bytes, 0);
        shim_sched_fence(s);
    }
    shim_sched_view_local(s, c);
    if (c->local_size > 1)
        shim_bcast_flat(s, out, bytes, 0);
    shim_sched_fence(s);
    shim_sched_view_inter(s, c);
    return shim_sched_finish(s, request);
}

/* MPI_Reduce_scatter(_block) on an intercommunicator: each group reduces
 * its data to its rank 0, the leaders swap the results, and each leader
 * hands its group's ranks their blocks of the other group's reduction
 * (counts has one entry per local rank; both groups' totals agree). */
int shim_inter_reduce_scatter(const void *sendbuf,
                              void *recvbuf,
                              const int *counts,
                              struct shim_datatype *t,
                              struct shim_op *op,
                              struct shim_comm *c,
                              MPI_Request *request)
{
    struct shim_sched *s;
    struct shim_red rd;
    int n = c->local_size, r = c->rank;
    int total = 0;
    int rc = sendbuf == MPI_IN_PLACE ? SHIM_ECLASS(MPI_ERR_BUFFER) : 0;

    for (int i = 0; i < n; i++)
        total += counts[i];
    if (rc == 0)
        rc = red_prepare(t, op, total, &rd);
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc)
        return rc;
    size_t per = rd.nelem / (size_t)(total ? total : 1);
    size_t bytes = shim_red_bytes(&rd);
    const char *in = red_in(s, sendbuf, total, t);
    size_t *off = (size_t *)shim_sched_tmp(s, sizeof(size_t) * (n + 1));
    void *out = red_out(s, recvbuf, counts[r], t);
    char *acc = shim_sched_tmp(s, bytes);
    char *full = r == 0 ? shim_sched_tmp(s, bytes) : NULL;
    char *other = r == 0 ? shim_sched_tmp(s, bytes) : NULL;
    if (!in || !off || !out || !acc || (r == 0 && (!full || !other))
        || total == 0)
        return shim_sched_finish(s, request);
    off[0] = 0;
    for (int i = 0; i < n; i++)
        off[i + 1] = off[i] + (size_t)counts[i] * per;
    shim_sched_copy(s, in, acc, bytes);
    shim_sched_fence(s);
    shim_sched_view_local(s, c);
    shim_reduce_tree(s, acc, full, &rd, 0);
    shim_sched_view_inter(s, c);
    if (r == 0) {
        shim_sched_send(s, full, bytes, 0);
        shim_sched_recv(s, other, bytes, 0);
        shim_sched_fence(s);
    }
    shim_sched_view_local(s, c);
    size_t mine = off[r + 1] - off[r];
    if (r == 0) {
        for (int i = 1; i < n; i++)
            if (off[i + 1] > off[i])
                shim_sched_send(s, other + off[i] * rd.esz,
                                (off[i + 1] - off[i]) * rd.esz, i);
        shim_sched_copy(s, other, out, mine * rd.esz);
    } else if (mine > 0) {
        shim_sched_recv(s, out, mine * rd.esz, 0);
    }
    shim_sched_fence(s);
    shim_sched_view_inter(s, c);
    return shim_sched_finish(s, request);
}

/* Every rank's result (root ALL_RANKS) or root's. */
enum { ALL_RANKS = -100 };

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
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, fn, rc);
    rc = shim_coll_check_buf(count, datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0 && c->inter && root == ALL_RANKS)
        rc = shim_inter_allreduce(sendbuf, recvbuf, count, t, o, c, request);
    else if (rc == 0 && c->inter)
        rc = inter_reduce(sendbuf, recvbuf, count, t, o, root, c, request);
    else if (rc == 0 && root == ALL_RANKS)
        rc = allreduce(sendbuf, recvbuf, count, t, o, c, request);
    else if (rc == 0 && (rc = shim_coll_check_root(c, root)) == 0)
        rc = reduce(sendbuf, recvbuf, count, t, o, root, c, request);
    return SHIM_COLL_RET(c, fn, rc);
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
    if (root < 0 && root != MPI_ROOT && root != MPI_PROC_NULL)
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
    bool bad_root = root < 0 && root != MPI_ROOT && root != MPI_PROC_NULL;

    if (bad_root || !request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ireduce",
                        SHIM_ECLASS(bad_root ? MPI_ERR_ROOT : MPI_ERR_ARG));
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
    return red_entry("MPI_Allreduce", sendbuf, recvbuf, count, datatype, op,
                     ALL_RANKS, comm, NULL);
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
                     ALL_RANKS, comm, request);
}

static int rs_entry(const char *fn,
                    const void *sendbuf,
                    void *recvbuf,
                    const int *recvcounts,
                    int recvcount,
                    MPI_Datatype datatype,
                    MPI_Op op,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t = NULL;
    struct shim_op *o;
    int *counts = NULL;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, fn, rc);
    int n = c->inter ? c->local_size : c->size;
    if (!recvcounts) {
        if (recvcount < 0)
            rc = SHIM_ECLASS(MPI_ERR_COUNT);
        counts = malloc(sizeof(int) * (size_t)n);
        if (rc == 0 && !counts)
            rc = -ENOMEM;
        for (int i = 0; rc == 0 && i < n; i++)
            counts[i] = recvcount;
        recvcounts = counts;
    }
    for (int i = 0; rc == 0 && i < n; i++)
        if (recvcounts[i] < 0)
            rc = SHIM_ECLASS(MPI_ERR_COUNT);
    if (rc == 0)
        rc = shim_dt_check(datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0 && c->inter)
        rc = shim_inter_reduce_scatter(sendbuf, recvbuf, recvcounts, t, o, c,
                                       request);
    else if (rc == 0)
        rc = reduce_scatter(sendbuf, recvbuf, recvcounts, t, o, c, request);
    free(counts);
    return SHIM_COLL_RET(c, fn, rc);
}

SHIM_WEAK(Reduce_scatter_block)
int PMPI_Reduce_scatter_block(const void *sendbuf,
                              void *recvbuf,
                              int recvcount,
                              MPI_Datatype datatype,
                              MPI_Op op,
                              MPI_Comm comm)
{
    return rs_entry("MPI_Reduce_scatter_block", sendbuf, recvbuf, NULL,
                    recvcount, datatype, op, comm, NULL);
}

SHIM_WEAK(Ireduce_scatter_block)
int PMPI_Ireduce_scatter_block(const void *sendbuf,
                               void *recvbuf,
                               int recvcount,
                               MPI_Datatype datatype,
                               MPI_Op op,
                               MPI_Comm comm,
                               MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ireduce_scatter_block",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return rs_entry("MPI_Ireduce_scatter_block", sendbuf, recvbuf, NULL,
                    recvcount, datatype, op, comm, request);
}

SHIM_WEAK(Reduce_scatter)
int PMPI_Reduce_scatter(const void *sendbuf,
                        void *recvbuf,
                        const int recvcounts[],
                        MPI_Datatype datatype,
                        MPI_Op op,
                        MPI_Comm comm)
{
    if (!recvcounts)
        return shim_err(shim_comm_lookup(comm), "MPI_Reduce_scatter",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return rs_entry("MPI_Reduce_scatter", sendbuf, recvbuf, recvcounts, 0,
                    datatype, op, comm, NULL);
}

SHIM_WEAK(Ireduce_scatter)
int PMPI_Ireduce_scatter(const void *sendbuf,
                         void *recvbuf,
                         const int recvcounts[],
                         MPI_Datatype datatype,
                         MPI_Op op,
                         MPI_Comm comm,
                         MPI_Request *request)
{
    if (!recvcounts || !request)
        return shim_err(shim_comm_lookup(comm), "MPI_Ireduce_scatter",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return rs_entry("MPI_Ireduce_scatter", sendbuf, recvbuf, recvcounts, 0,
                    datatype, op, comm, request);
}

static int scan_entry(const char *fn,
                      const void *sendbuf,
                      void *recvbuf,
                      int count,
                      MPI_Datatype datatype,
                      MPI_Op op,
                      MPI_Comm comm,
                      bool ex,
                      MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_op *o;
    int rc = shim_coll_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_coll_check_buf(count, datatype, &t);
    if (rc == 0)
        rc = shim_op_check(op, &o);
    if (rc == 0)
        rc = scan(sendbuf, recvbuf, count, t, o, c, ex, request);
    return SHIM_COLL_RET(c, fn, rc);
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
                      false, NULL);
}

SHIM_WEAK(Iscan)
int PMPI_Iscan(const void *sendbuf,
               void *recvbuf,
               int count,
               MPI_Datatype datatype,
               MPI_Op op,
               MPI_Comm comm,
               MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iscan",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return scan_entry("MPI_Iscan", sendbuf, recvbuf, count, datatype, op, comm,
                      false, request);
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
                      true, NULL);
}

SHIM_WEAK(Iexscan)
int PMPI_Iexscan(const void *sendbuf,
                 void *recvbuf,
                 int count,
                 MPI_Datatype datatype,
                 MPI_Op op,
                 MPI_Comm comm,
                 MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iexscan",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return scan_entry("MPI_Iexscan", sendbuf, recvbuf, count, datatype, op,
                      comm, true, request);
}
