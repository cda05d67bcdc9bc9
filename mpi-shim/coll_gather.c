/* SPDX-License-Identifier: MIT */
/* coll_gather.c - the collectives that move distinct blocks: MPI_Gather,
 * MPI_Scatter, MPI_Allgather and MPI_Alltoall (and their nonblocking
 * twins), and the vector variants Gatherv, Scatterv, Allgatherv (with
 * their nonblocking twins) and Alltoallv.
 *
 * Gather and scatter are binomial trees for small totals and linear
 * above; allgather is Bruck for small and a ring for large totals, or the
 * node-aware form (coll_node.c) when it applies; alltoall is Bruck for
 * small blocks on many ranks and pairwise exchange otherwise. The vector
 * variants post every message at once, except Allgatherv, a ring. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/coll_private.h"

/* Size thresholds (bytes) choosing between algorithms. */
enum {
    GATHER_SHORT = 64 * 1024,
    ALLGATHER_SHORT = 80 * 1024,
    ALLTOALL_SHORT = 256,
};

/* ---- gather and scatter -------------------------------------------------- */
void shim_gather_binomial(
    struct shim_sched *s, const void *mine, void *out, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    char *tmp = shim_sched_tmp(s, n * (size_t)p);
    int have = 1;

    if (!tmp)
        return;
    shim_sched_copy(s, mine, tmp, n);
    shim_sched_fence(s);
    for (int mask = 1; mask < p; mask <<= 1) {
        if (vr & mask) {
            shim_sched_send(s, tmp, n * (size_t)have, (r - mask + p) % p);
            shim_sched_fence(s);
            return;
        }
        int src = vr + mask;
        if (src < p) {
            int cnt = mask < p - src ? mask : p - src;
            shim_sched_recv(s, tmp + (size_t)mask * n, n * (size_t)cnt,
                            (src + root) % p);
            have += cnt;
        }
        shim_sched_fence(s);
    }
    /* Root: block j of tmp belongs to rank (j + root) % p. */
    for (int j = 0; j < p; j++)
        shim_sched_copy(s, tmp + (size_t)j * n,
                        (char *)out + (size_t)((j + root) % p) * n, n);
    shim_sched_fence(s);
}

static void scatter_binomial(
    struct shim_sched *s, const void *in, void *mine, size_t n, int root)
{
    int p = s->p, r = s->r;
    int vr = (r - root + p) % p;
    char *tmp = shim_sched_tmp(s, n * (size_t)p);
    int mask = 1;

    if (!tmp)
        return;
    if (vr == 0) {
        for (int j = 0; j < p; j++)
            shim_sched_copy(s, (const char *)in + (size_t)((j + root) % p) * n,
                            tmp + (size_t)j * n, n);
        shim_sched_fence(s);
    }
    while (mask < p) {
        if (vr & mask) {
            int cnt = mask < p - vr ? mask : p - vr;
            shim_sched_recv(s, tmp, n * (size_t)cnt, (r - mask + p) % p);
            shim_sched_fence(s);
            break;
        }
        mask <<= 1;
    }
    for (mask >>= 1; mask > 0; mask >>= 1) {
        int child = vr + mask;
        if (child < p) {
            int cnt = mask < p - child ? mask : p - child;
            shim_sched_send(s, tmp + (size_t)mask * n, n * (size_t)cnt,
                            (child + root) % p);
        }
    }
    shim_sched_fence(s);
    shim_sched_copy(s, tmp, mine, n);
    shim_sched_fence(s);
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
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    size_t n =
        r == root ? (size_t)recvcount * rt->size : (size_t)sendcount * st->size;
    char *out = NULL;
    if (r == root)
        out =
            shim_sched_out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    const void *mine;
    if (sendbuf == MPI_IN_PLACE)
        mine = out ? out + (size_t)r * n : NULL;
    else
        mine = shim_sched_in_bytes(s, sendbuf, (size_t)sendcount, st);
    if (r == root && sendbuf == MPI_IN_PLACE && !rt->contig && out)
        shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, out);
    if (!mine || (r == root && !out))
        return shim_sched_finish(s, request);
    if (n * (size_t)p <= GATHER_SHORT) {
        shim_gather_binomial(s, mine, out, n, root);
    } else if (r == root) {
        for (int i = 0; i < p; i++)
            if (i != r)
                shim_sched_recv(s, out + (size_t)i * n, n, i);
        shim_sched_copy(s, mine, out + (size_t)r * n, n);
        shim_sched_fence(s);
    } else {
        shim_sched_send(s, mine, n, root);
        shim_sched_fence(s);
    }
    return shim_sched_finish(s, request);
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
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    size_t n =
        r == root ? (size_t)sendcount * st->size : (size_t)recvcount * rt->size;
    const char *in = NULL;
    if (r == root)
        in = shim_sched_in_bytes(s, sendbuf, (size_t)sendcount * (size_t)p, st);
    void *mine;
    if (recvbuf == MPI_IN_PLACE)
        mine = shim_sched_tmp(s, n); /* the root keeps its block in sendbuf */
    else
        mine = shim_sched_out_bytes(s, recvbuf, (size_t)recvcount, rt);
    if (!mine || (r == root && !in))
        return shim_sched_finish(s, request);
    if (n * (size_t)p <= GATHER_SHORT) {
        scatter_binomial(s, in, mine, n, root);
    } else if (r == root) {
        for (int i = 0; i < p; i++)
            if (i != r)
                shim_sched_send(s, in + (size_t)i * n, n, i);
        shim_sched_copy(s, in + (size_t)r * n, mine, n);
        shim_sched_fence(s);
    } else {
        shim_sched_recv(s, mine, n, root);
        shim_sched_fence(s);
    }
    return shim_sched_finish(s, request);
}

/* ---- allgather and alltoall ---------------------------------------------- */
static void allgather_bruck(struct shim_sched *s, char *out, size_t n)
{
    int p = s->p, r = s->r;
    char *tmp = shim_sched_tmp(s, n * (size_t)p);

    if (!tmp)
        return;
    shim_sched_copy(s, out + (size_t)r * n, tmp, n);
    shim_sched_fence(s);
    for (int pof = 1; pof < p; pof *= 2) {
        int cnt = pof < p - pof ? pof : p - pof;
        shim_sched_send(s, tmp, n * (size_t)cnt, (r - pof + p) % p);
        shim_sched_recv(s, tmp + (size_t)pof * n, n * (size_t)cnt,
                        (r + pof) % p);
        shim_sched_fence(s);
    }
    for (int j = 0; j < p; j++)
        shim_sched_copy(s, tmp + (size_t)j * n, out + (size_t)((r + j) % p) * n,
                        n);
    shim_sched_fence(s);
}

void shim_allgather_ring(struct shim_sched *s,
                         char *out,
                         const size_t *off,
                         const size_t *len)
{
    int p = s->p, r = s->r;
    int left = (r - 1 + p) % p, right = (r + 1) % p;

    for (int j = 0; j < p - 1; j++) {
        int sb = (r - j + p) % p, rb = (r - j - 1 + p) % p;
        shim_sched_send(s, out + off[sb], len[sb], right);
        shim_sched_recv(s, out + off[rb], len[rb], left);
        shim_sched_fence(s);
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
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    size_t n = (size_t)recvcount * rt->size;
    char *out =
        shim_sched_out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    if (!out)
        return shim_sched_finish(s, request);
    if (sendbuf != MPI_IN_PLACE) {
        const void *in = shim_sched_in_bytes(s, sendbuf, (size_t)sendcount, st);
        if (in)
            shim_sched_copy(s, in, out + (size_t)r * n, n);
    } else if (!rt->contig) {
        shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, out);
    }
    shim_sched_fence(s);
    const struct shim_nodemap *nm = shim_node_map(c);
    if (shim_node_allgather_applies(nm) && n > 0) {
        shim_node_allgather(s, nm, out, n);
    } else if (p > 1 && n > 0) {
        if (n * (size_t)p <= ALLGATHER_SHORT) {
            allgather_bruck(s, out, n);
        } else {
            size_t *off = (size_t *)shim_sched_tmp(s, sizeof(size_t) * 2 * p);
            if (off) {
                for (int i = 0; i < p; i++) {
                    off[i] = (size_t)i * n;
                    off[p + i] = n;
                }
                shim_allgather_ring(s, out, off, off + p);
            }
        }
    }
    return shim_sched_finish(s, request);
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
    char *tmp = shim_sched_tmp(s, n * (size_t)p);
    char *pk = shim_sched_tmp(s, n * (size_t)p);
    char *pk2 = shim_sched_tmp(s, n * (size_t)p);

    if (!tmp || !pk || !pk2)
        return;
    for (int i = 0; i < p; i++)
        shim_sched_copy(s, in + (size_t)((r + i) % p) * n, tmp + (size_t)i * n,
                        n);
    shim_sched_fence(s);
    for (int pof = 1; pof < p; pof *= 2) {
        int k = 0;
        for (int i = 0; i < p; i++)
            if (i & pof)
                shim_sched_copy(s, tmp + (size_t)i * n, pk + (size_t)k++ * n,
                                n);
        shim_sched_fence(s);
        shim_sched_send(s, pk, (size_t)k * n, (r + pof) % p);
        shim_sched_recv(s, pk2, (size_t)k * n, (r - pof + p) % p);
        k = 0;
        for (int i = 0; i < p; i++)
            if (i & pof)
                shim_sched_copy(s, pk2 + (size_t)k++ * n, tmp + (size_t)i * n,
                                n);
        shim_sched_fence(s);
    }
    for (int i = 0; i < p; i++)
        shim_sched_copy(s, tmp + (size_t)i * n,
                        out + (size_t)((r - i + p) % p) * n, n);
    shim_sched_fence(s);
}

/* Pairwise exchange: p - 1 steps, one partner each (XOR when p is a
 * power of two, else a shift), so no rank is flooded. */
static void
alltoall_pairwise(struct shim_sched *s, const char *in, char *out, size_t n)
{
    int p = s->p, r = s->r;
    bool pow2 = (p & (p - 1)) == 0;

    shim_sched_copy(s, in + (size_t)r * n, out + (size_t)r * n, n);
    shim_sched_fence(s);
    for (int i = 1; i < p; i++) {
        int dst = pow2 ? r ^ i : (r + i) % p;
        int src = pow2 ? r ^ i : (r - i + p) % p;
        shim_sched_send(s, in + (size_t)dst * n, n, dst);
        shim_sched_recv(s, out + (size_t)src * n, n, src);
        shim_sched_fence(s);
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
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    size_t n = (size_t)recvcount * rt->size;
    char *out =
        shim_sched_out_bytes(s, recvbuf, (size_t)recvcount * (size_t)p, rt);
    const char *in;
    if (sendbuf == MPI_IN_PLACE) {
        char *copy = shim_sched_tmp(s, n * (size_t)p);
        if (copy)
            shim_dt_pack(rt, recvbuf, (size_t)recvcount * (size_t)p, copy);
        in = copy;
    } else {
        in = shim_sched_in_bytes(s, sendbuf, (size_t)sendcount * (size_t)p, st);
    }
    if (!out || !in)
        return shim_sched_finish(s, request);
    if (n <= ALLTOALL_SHORT && p >= 8)
        alltoall_bruck(s, in, out, n);
    else
        alltoall_pairwise(s, in, out, n);
    return shim_sched_finish(s, request);
}

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
    struct shim_comm *c = shim_comm_lookup(comm);
    struct shim_datatype *st = NULL, *rt = NULL;

    if (c && c->inter && kind == MV_ALLTOALL)
        return shim_inter_alltoall(sendbuf, sendcount, sendtype, recvbuf,
                                   recvcount, recvtype, c, request);
    if (c && c->inter) {
        enum shim_inter_move k = kind == MV_GATHER    ? SHIM_INTER_GATHER
                                 : kind == MV_SCATTER ? SHIM_INTER_SCATTER
                                                      : SHIM_INTER_ALLGATHER;
        return SHIM_COLL_RET(c, fn,
                             shim_inter_move(k, sendbuf, sendcount, NULL, NULL,
                                             sendtype, recvbuf, recvcount, NULL,
                                             NULL, recvtype, root, c, request));
    }
    int rc = shim_coll_comm_check(comm, &c);
    bool is_root = kind == MV_ALLGATHER || kind == MV_ALLTOALL
                   || (rc == 0 && c->rank == root);
    bool needs_send = kind != MV_SCATTER || is_root;
    bool needs_recv = kind != MV_GATHER || is_root;

    if (rc == 0 && (kind == MV_GATHER || kind == MV_SCATTER))
        rc = shim_coll_check_root(c, root);
    if (rc == 0 && needs_send && sendbuf != MPI_IN_PLACE)
        rc = shim_coll_check_buf(sendcount, sendtype, &st);
    if (rc == 0 && needs_recv && recvbuf != MPI_IN_PLACE)
        rc = shim_coll_check_buf(recvcount, recvtype, &rt);
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
    return SHIM_COLL_RET(c, fn, rc);
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
                      int recv_only_from,
                      MPI_Request *request)
{
    struct shim_sched *s;
    int p = c->size, r = c->rank;
    int rc = shim_sched_create(c, &s);

    if (rc)
        return rc;
    for (int i = 0; i < p; i++) {
        bool want = recv_from_all || i == recv_only_from;
        if (!want || !rcounts || rcounts[i] == 0 || i == r)
            continue;
        char *base = (char *)recvbuf + (MPI_Aint)rdispls[i] * rt->extent;
        void *dst = shim_sched_out_bytes(s, base, (size_t)rcounts[i], rt);
        if (dst)
            shim_sched_recv(s, dst, (size_t)rcounts[i] * rt->size, i);
    }
    for (int i = 0; i < p; i++) {
        bool want = send_to_all || i == send_only_to;
        if (!want || !scounts || scounts[i] == 0 || i == r)
            continue;
        const char *base = (const char *)sendbuf
                           + (MPI_Aint)(sdispls ? sdispls[i] : 0) * st->extent;
        const void *src = shim_sched_in_bytes(s, base, (size_t)scounts[i], st);
        if (src)
            shim_sched_send(s, src, (size_t)scounts[i] * st->size, i);
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
        const void *src = shim_sched_in_bytes(s, sb, (size_t)scounts[r], st);
        void *dst = shim_sched_out_bytes(s, rb, (size_t)rcounts[r], rt);
        size_t n = (size_t)rcounts[r] * rt->size;
        size_t m = (size_t)scounts[r] * st->size;
        if (src && dst)
            shim_sched_copy(s, src, dst, n < m ? n : m);
    }
    shim_sched_fence(s);
    return shim_sched_finish(s, request);
}

static int gatherv_entry(const char *fn,
                         const void *sendbuf,
                         int sendcount,
                         MPI_Datatype sendtype,
                         void *recvbuf,
                         const int recvcounts[],
                         const int displs[],
                         MPI_Datatype recvtype,
                         int root,
                         MPI_Comm comm,
                         MPI_Request *request)
{
    struct shim_comm *c = shim_comm_lookup(comm);
    struct shim_datatype *st = NULL, *rt = NULL;

    if (c && c->inter)
        return SHIM_COLL_RET(c, fn,
                             shim_inter_move(SHIM_INTER_GATHER, sendbuf,
                                             sendcount, NULL, NULL, sendtype,
                                             recvbuf, 0, recvcounts, displs,
                                             recvtype, root, c, request));
    int rc = shim_coll_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_coll_check_root(c, root);
    if (rc == 0 && sendbuf != MPI_IN_PLACE)
        rc = shim_coll_check_buf(sendcount, sendtype, &st);
    if (rc == 0 && c->rank == root) {
        rc = shim_dt_check(recvtype, &rt);
        if (rc == 0 && (!recvcounts || !displs))
            rc = SHIM_ECLASS(MPI_ERR_ARG);
    }
    if (rc)
        return shim_err(c, fn, rc);
    if (!st)
        st = rt;
    int *sc = calloc((size_t)c->size, sizeof(int));
    if (!sc)
        return shim_err(c, fn, -ENOMEM);
    sc[root] = sendbuf == MPI_IN_PLACE ? 0 : sendcount;
    int *sd = calloc((size_t)c->size, sizeof(int));
    if (!sd) {
        free(sc);
        return shim_err(c, fn, -ENOMEM);
    }
    rc = v_exchange(c, sendbuf, sc, sd, st, recvbuf,
                    c->rank == root ? recvcounts : NULL, displs, rt, false,
                    root, true, -1, request);
    free(sc);
    free(sd);
    return SHIM_COLL_RET(c, fn, rc);
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
    return gatherv_entry("MPI_Gatherv", sendbuf, sendcount, sendtype, recvbuf,
                         recvcounts, displs, recvtype, root, comm, NULL);
}

SHIM_WEAK(Igatherv)
int PMPI_Igatherv(const void *sendbuf,
                  int sendcount,
                  MPI_Datatype sendtype,
                  void *recvbuf,
                  const int recvcounts[],
                  const int displs[],
                  MPI_Datatype recvtype,
                  int root,
                  MPI_Comm comm,
                  MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Igatherv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return gatherv_entry("MPI_Igatherv", sendbuf, sendcount, sendtype, recvbuf,
                         recvcounts, displs, recvtype, root, comm, request);
}

static int scatterv_entry(const char *fn,
                          const void *sendbuf,
                          const int sendcounts[],
                          const int displs[],
                          MPI_Datatype sendtype,
                          void *recvbuf,
                          int recvcount,
                          MPI_Datatype recvtype,
                          int root,
                          MPI_Comm comm,
                          MPI_Request *request)
{
    struct shim_comm *c = shim_comm_lookup(comm);
    struct shim_datatype *st = NULL, *rt = NULL;

    if (c && c->inter)
        return SHIM_COLL_RET(c, fn,
                             shim_inter_move(SHIM_INTER_SCATTER, sendbuf, 0,
                                             sendcounts, displs, sendtype,
                                             recvbuf, recvcount, NULL, NULL,
                                             recvtype, root, c, request));
    int rc = shim_coll_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_coll_check_root(c, root);
    if (rc == 0 && recvbuf != MPI_IN_PLACE)
        rc = shim_coll_check_buf(recvcount, recvtype, &rt);
    if (rc == 0 && c->rank == root) {
        rc = shim_dt_check(sendtype, &st);
        if (rc == 0 && (!sendcounts || !displs))
            rc = SHIM_ECLASS(MPI_ERR_ARG);
    }
    if (rc)
        return shim_err(c, fn, rc);
    if (!rt)
        rt = st;
    int *rcnt = calloc((size_t)c->size, sizeof(int));
    int *rd = calloc((size_t)c->size, sizeof(int));
    if (!rcnt || !rd) {
        free(rcnt);
        free(rd);
        return shim_err(c, fn, -ENOMEM);
    }
    rcnt[root] = recvbuf == MPI_IN_PLACE ? 0 : recvcount;
    rc = v_exchange(c, sendbuf, c->rank == root ? sendcounts : NULL, displs, st,
                    recvbuf, rcnt, rd, rt, true, -1, false, root, request);
    free(rcnt);
    free(rd);
    return SHIM_COLL_RET(c, fn, rc);
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
    return scatterv_entry("MPI_Scatterv", sendbuf, sendcounts, displs, sendtype,
                          recvbuf, recvcount, recvtype, root, comm, NULL);
}

SHIM_WEAK(Iscatterv)
int PMPI_Iscatterv(const void *sendbuf,
                   const int sendcounts[],
                   const int displs[],
                   MPI_Datatype sendtype,
                   void *recvbuf,
                   int recvcount,
                   MPI_Datatype recvtype,
                   int root,
                   MPI_Comm comm,
                   MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iscatterv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return scatterv_entry("MPI_Iscatterv", sendbuf, sendcounts, displs,
                          sendtype, recvbuf, recvcount, recvtype, root, comm,
                          request);
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
    return shim_alltoallv("MPI_Alltoallv", sendbuf, sendcounts, sdispls,
                          sendtype, recvbuf, recvcounts, rdispls, recvtype,
                          comm, NULL);
}

static int allgatherv_entry(const char *fn,
                            const void *sendbuf,
                            int sendcount,
                            MPI_Datatype sendtype,
                            void *recvbuf,
                            const int recvcounts[],
                            const int displs[],
                            MPI_Datatype recvtype,
                            MPI_Comm comm,
                            MPI_Request *request)
{
    struct shim_comm *c = shim_comm_lookup(comm);
    struct shim_datatype *st = NULL, *rt = NULL;
    struct shim_sched *s;

    if (c && c->inter)
        return SHIM_COLL_RET(c, fn,
                             shim_inter_move(SHIM_INTER_ALLGATHER, sendbuf,
                                             sendcount, NULL, NULL, sendtype,
                                             recvbuf, 0, recvcounts, displs,
                                             recvtype, 0, c, request));
    int rc = shim_coll_comm_check(comm, &c);

    if (rc == 0)
        rc = shim_dt_check(recvtype, &rt);
    if (rc == 0 && sendbuf != MPI_IN_PLACE)
        rc = shim_coll_check_buf(sendcount, sendtype, &st);
    if (rc == 0 && (!recvcounts || !displs))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = shim_sched_create(c, &s);
    if (rc)
        return shim_err(c, fn, rc);
    int p = c->size, r = c->rank;
    /* Ring over packed blocks: block i at displs[i] elements of the type's
     * data size, unpacked block by block at the end when needed. */
    size_t *off = (size_t *)shim_sched_tmp(s, sizeof(size_t) * 2 * p);
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
        out = shim_sched_tmp(s, hi);
        for (int i = 0; i < p && out; i++) {
            char *ub = (char *)recvbuf + (MPI_Aint)displs[i] * rt->extent;
            if (sendbuf == MPI_IN_PLACE && i == r)
                shim_dt_pack(rt, ub, (size_t)recvcounts[i], out + off[i]);
            shim_sched_unpack_at_end(s, out + off[i], ub, (size_t)recvcounts[i],
                                     rt);
            if (s->err)
                break;
        }
    }
    if (out && off && sendbuf != MPI_IN_PLACE) {
        const void *in = shim_sched_in_bytes(s, sendbuf, (size_t)sendcount, st);
        if (in)
            shim_sched_copy(s, in, out + off[r], off[p + r]);
    }
    shim_sched_fence(s);
    if (out && off && p > 1)
        shim_allgather_ring(s, out, off, off + p);
    return SHIM_COLL_RET(c, fn, shim_sched_finish(s, request));
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
    return allgatherv_entry("MPI_Allgatherv", sendbuf, sendcount, sendtype,
                            recvbuf, recvcounts, displs, recvtype, comm, NULL);
}

SHIM_WEAK(Iallgatherv)
int PMPI_Iallgatherv(const void *sendbuf,
                     int sendcount,
                     MPI_Datatype sendtype,
                     void *recvbuf,
                     const int recvcounts[],
                     const int displs[],
                     MPI_Datatype recvtype,
                     MPI_Comm comm,
                     MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), "MPI_Iallgatherv",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return allgatherv_entry("MPI_Iallgatherv", sendbuf, sendcount, sendtype,
                            recvbuf, recvcounts, displs, recvtype, comm,
                            request);
}
