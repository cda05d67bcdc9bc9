/* SPDX-License-Identifier: MIT */
/* pt2pt.c - point-to-point communication.
 *
 * Contiguous data goes to libfabric in place, whatever its size: the
 * provider's own protocol (eager, rendezvous, CMA for shm) is the only
 * copy. Messages up to the provider's inject size are injected, so a small
 * send completes at once. Synchronous sends carry a sequence number in the
 * CQ data; the receiver answers with a zero-byte ACK-tagged message. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

static uint32_t sync_seq;

static int check_peer(struct shim_comm *c, int peer, bool recv)
{
    if (peer == MPI_PROC_NULL || (recv && peer == MPI_ANY_SOURCE))
        return 0;
    if (peer < 0 || peer >= c->size)
        return SHIM_ECLASS(MPI_ERR_RANK);
    return 0;
}

static int check_tag(int tag, bool recv)
{
    if (recv && tag == MPI_ANY_TAG)
        return 0;
    if (tag < 0 || tag > SHIM_TAG_MAX)
        return SHIM_ECLASS(MPI_ERR_TAG);
    return 0;
}

/* The common argument checks of every point-to-point call. */
static int check_args(MPI_Comm comm,
                      int count,
                      MPI_Datatype dt,
                      int peer,
                      int tag,
                      bool recv,
                      struct shim_comm **c,
                      struct shim_datatype **t)
{
    int rc = shim_comm_check(comm, c);

    if (rc)
        return rc;
    if (count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    rc = shim_dt_check(dt, t);
    if (rc)
        return rc;
    rc = check_peer(*c, peer, recv);
    if (rc)
        return rc;
    return check_tag(tag, recv);
}

/* Where a receive from comm rank source (or MPI_ANY_SOURCE) is posted. */
static enum shim_route recv_route(struct shim_comm *c, int source)
{
    if (source != MPI_ANY_SOURCE)
        return shim_shm_reaches(c->world[source]) ? SHIM_ROUTE_SHM
                                                  : SHIM_ROUTE_OFI;
    if (c->any_route == 0) {
        int on = 0;
        for (int r = 0; r < c->size; r++)
            on += shim_shm_reaches(c->world[r]);
        c->any_route = on == 0         ? SHIM_ROUTE_OFI
                       : on == c->size ? SHIM_ROUTE_SHM
                                       : SHIM_ROUTE_BOTH;
    }
    return (enum shim_route)c->any_route;
}

size_t shim_inject_max(struct shim_comm *comm, int dest)
{
    if (shim_shm_reaches(comm->world[dest]))
        return shim_shm_inject_max();
    return shim_ofi.inject_size;
}

int shim_inject(const void *buf,
                size_t len,
                struct shim_comm *comm,
                unsigned ctx,
                int dest,
                int tag)
{
    int wdest = comm->world[dest];

    if (shim_shm_reaches(wdest))
        return shim_shm_inject(buf, len, wdest, ctx, comm->rank, tag);
    return shim_ofi_inject(buf, len, wdest,
                           shim_tag_make(ctx, comm->rank, tag));
}

int shim_recv_cancel(struct shim_request *req)
{
    bool partner = req->shm.partner;

    if (shim_shm_cancel(req) && !partner)
        return 0;
    /* Only a receive libfabric holds can be cancelled there; one matched
     * on-node and still arriving cannot be withdrawn. */
    if (req->pending == 0)
        return 0;
    return shim_ofi_cancel(req);
}

int shim_isend(const void *buf,
               size_t count,
               struct shim_datatype *dt,
               int dest,
               int tag,
               struct shim_comm *comm,
               unsigned ctx,
               enum shim_send_mode mode,
               struct shim_request **out)
{
    struct shim_request *req = shim_req_alloc(SHIM_REQ_SEND);
    size_t len = count * dt->size;
    const void *ptr = (const char *)buf + dt->true_lb;
    int rc;

    if (!req)
        return -ENOMEM;
    shim_req_set_comm(req, comm);
    *out = req;
    if (dest == MPI_PROC_NULL) {
        req->done = true;
        return 0;
    }
    if (!dt->contig && len > 0) {
        req->tmp = malloc(len);
        if (!req->tmp) {
            shim_req_free(req);
            return -ENOMEM;
        }
        shim_dt_pack(dt, buf, count, req->tmp);
        ptr = req->tmp;
    }
    uint64_t t = shim_tag_make(ctx, comm->rank, tag);
    int wdest = comm->world[dest];
    if (shim_shm_reaches(wdest)) {
        shim_ckpt_req_post(req, ctx);
        rc = shim_shm_send(req, ptr, len, wdest, ctx, comm->rank, tag,
                           mode == SHIM_SEND_SYNC);
    } else if (mode != SHIM_SEND_SYNC && len <= shim_ofi.inject_size) {
        rc = shim_ofi_inject(ptr, len, wdest, t);
        free(req->tmp);
        req->tmp = NULL;
        req->done = (rc == 0);
    } else if (mode == SHIM_SEND_SYNC) {
        uint32_t id = sync_seq++ & SHIM_TAGV_MASK;
        uint64_t ack = SHIM_TAG_ACK | shim_tag_make(ctx, dest, (int)id);
        shim_ckpt_req_post(req, ctx);
        rc = shim_ofi_recv(req, true, NULL, 0, ack, 0);
        if (rc == 0)
            rc = shim_ofi_send(req, ptr, len, wdest, t, true, id);
    } else {
        shim_ckpt_req_post(req, ctx);
        rc = shim_ofi_send(req, ptr, len, wdest, t, false, 0);
    }
    if (rc) {
        shim_ckpt_req_unpost(req);
        if (req->pending == 0) {
            free(req->tmp);
            shim_req_free(req);
        }
        *out = NULL;
        return rc;
    }
    shim_ckpt_count_send(ctx, wdest);
    return 0;
}

int shim_irecv(void *buf,
               size_t count,
               struct shim_datatype *dt,
               int source,
               int tag,
               struct shim_comm *comm,
               unsigned ctx,
               struct shim_request **out)
{
    struct shim_request *req = shim_req_alloc(SHIM_REQ_RECV);
    size_t len = count * dt->size;
    void *ptr = (char *)buf + dt->true_lb;
    uint64_t ignore = SHIM_TAG_SYNC;
    int rc;

    if (!req)
        return -ENOMEM;
    shim_req_set_comm(req, comm);
    *out = req;
    if (source == MPI_PROC_NULL) {
        req->source = MPI_PROC_NULL;
        req->done = true;
        return 0;
    }
    enum shim_route route = recv_route(comm, source);
    int shm_source = source, shm_tag = tag;
    if (source == MPI_ANY_SOURCE) {
        ignore |= SHIM_SRC_MASK;
        source = 0;
    }
    if (tag == MPI_ANY_TAG) {
        ignore |= SHIM_TAGV_MASK;
        tag = 0;
    }
    if (!dt->contig && len > 0) {
        req->tmp = malloc(len);
        if (!req->tmp) {
            shim_req_free(req);
            return -ENOMEM;
        }
        req->user_buf = buf;
        req->user_count = count;
        req->user_dt = dt;
        shim_dt_incref(dt);
        ptr = req->tmp;
    }
    shim_ckpt_req_post(req, ctx);
    if (route != SHIM_ROUTE_OFI) {
        /* Matched at once from the unexpected queue, or only on-node
         * ranks can send it: libfabric is not asked. */
        if (shim_shm_recv(req, ptr, len, ctx, shm_source, shm_tag) == 1
            || route == SHIM_ROUTE_SHM)
            return 0;
        /* Both sides: the on-node side must not match the receive while
         * its libfabric twin is being posted (arming). */
        req->shm.partner = true;
        req->shm.arming = true;
    }
    rc = shim_ofi_recv(req, false, ptr, len, shim_tag_make(ctx, source, tag),
                       ignore);
    if (rc && req->shm.posted) {
        req->shm.arming = false;
        shim_shm_unpost(req);
    }
    if (rc == 0 && route == SHIM_ROUTE_BOTH) {
        shim_shm_partner_posted(req);
        return 0;
    }
    if (rc) {
        shim_ckpt_req_unpost(req);
        free(req->tmp);
        shim_dt_decref(req->user_dt);
        shim_req_free(req);
        *out = NULL;
    }
    return rc;
}

int shim_coll_isend(const void *buf,
                    size_t bytes,
                    int dest,
                    int tag,
                    struct shim_comm *comm,
                    struct shim_request **out)
{
    return shim_isend(buf, bytes, shim_dt_get(MPI_BYTE), dest, tag, comm,
                      comm->ctx | 1, SHIM_SEND_STD, out);
}

int shim_coll_irecv(void *buf,
                    size_t bytes,
                    int source,
                    int tag,
                    struct shim_comm *comm,
                    struct shim_request **out)
{
    return shim_irecv(buf, bytes, shim_dt_get(MPI_BYTE), source, tag, comm,
                      comm->ctx | 1, out);
}

/* ---- buffered mode ------------------------------------------------------
 * The attached buffer is carved first-fit into segments kept in address
 * order; a segment is released when its send completes. */
struct bsend_seg {
    size_t off;
    size_t len;
    struct bsend_seg *next;
};

static struct {
    char *buf;
    size_t size;
    struct bsend_seg *segs;
} bsend;

/* A buffered send completed: its segment returns to the buffer. */
static void bsend_release(void *seg)
{
    struct bsend_seg **p = &bsend.segs;

    while (*p && *p != seg)
        p = &(*p)->next;
    if (*p) {
        *p = ((struct bsend_seg *)seg)->next;
        free(seg);
    }
}

static struct bsend_seg *bsend_alloc(size_t len)
{
    size_t need = len + MPI_BSEND_OVERHEAD;
    size_t at = 0;
    struct bsend_seg **p = &bsend.segs;

    while (*p) {
        if ((*p)->off - at >= need)
            break;
        at = (*p)->off + (*p)->len;
        p = &(*p)->next;
    }
    if (!*p && bsend.size - at < need)
        return NULL;
    if (bsend.size < at + need)
        return NULL;
    struct bsend_seg *s = malloc(sizeof(*s));
    if (!s)
        return NULL;
    s->off = at;
    s->len = need;
    s->next = *p;
    *p = s;
    return s;
}

static int bsend_start(const void *buf,
                       int count,
                       struct shim_datatype *dt,
                       int dest,
                       int tag,
                       struct shim_comm *c,
                       struct shim_request **out)
{
    size_t len = (size_t)count * dt->size;
    struct bsend_seg *seg = NULL;
    struct shim_request *req;
    int rc;

    *out = NULL;
    if (dest == MPI_PROC_NULL)
        return 0;
    /* Completed buffered sends give their space back during progress. */
    for (int tries = 0; tries < 1000 && !seg; tries++) {
        seg = bsend_alloc(len);
        if (!seg)
            shim_progress();
    }
    if (!seg)
        return SHIM_ECLASS(MPI_ERR_BUFFER);
    char *data = bsend.buf + seg->off + MPI_BSEND_OVERHEAD;
    shim_dt_pack(dt, buf, (size_t)count, data);
    rc = shim_isend(data, len, shim_dt_get(MPI_BYTE), dest, tag, c, c->ctx,
                    SHIM_SEND_STD, &req);
    if (rc) {
        bsend_release(seg);
        return rc;
    }
    if (req->done) {
        bsend_release(seg);
        shim_req_free(req);
    } else {
        req->release = bsend_release;
        req->release_arg = seg;
        req->user_freed = true;
    }
    return 0;
}

void shim_bsend_finalize(void)
{
    while (bsend.segs)
        shim_progress();
}

SHIM_WEAK(Buffer_attach)
int PMPI_Buffer_attach(void *buffer, int size)
{
    if (size < 0 || (!buffer && size > 0))
        return shim_err(NULL, "MPI_Buffer_attach", SHIM_ECLASS(MPI_ERR_ARG));
    if (bsend.buf)
        return shim_err(NULL, "MPI_Buffer_attach", SHIM_ECLASS(MPI_ERR_BUFFER));
    bsend.buf = buffer;
    bsend.size = (size_t)size;
    return MPI_SUCCESS;
}

SHIM_WEAK(Buffer_detach)
int PMPI_Buffer_detach(void *buffer_addr, int *size)
{
    if (!buffer_addr || !size)
        return shim_err(NULL, "MPI_Buffer_detach", SHIM_ECLASS(MPI_ERR_ARG));
    /* The standard makes detach wait for the buffered sends. */
    while (bsend.segs)
        shim_progress();
    *(void **)buffer_addr = bsend.buf;
    *size = (int)bsend.size;
    bsend.buf = NULL;
    bsend.size = 0;
    return MPI_SUCCESS;
}

/* ---- sends -------------------------------------------------------------- */
static int send_common(const char *fn,
                       const void *buf,
                       int count,
                       MPI_Datatype datatype,
                       int dest,
                       int tag,
                       MPI_Comm comm,
                       enum shim_send_mode mode,
                       MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_request *req = NULL;
    int rc = check_args(comm, count, datatype, dest, tag, false, &c, &t);

    if (rc)
        return shim_err(c, fn, rc);
    if (mode == SHIM_SEND_BUFFERED) {
        rc = bsend_start(buf, count, t, dest, tag, c, &req);
        if (rc)
            return shim_err(c, fn, rc);
        if (request) {
            /* The data is in the buffer: the user's request is complete. */
            req = shim_req_alloc(SHIM_REQ_SEND);
            if (!req)
                return shim_err(c, fn, -ENOMEM);
            req->done = true;
            shim_req_set_comm(req, c);
            rc = shim_req_publish(req);
            if (rc) {
                shim_req_free(req);
                return shim_err(c, fn, rc);
            }
            *request = req->handle;
        }
        return MPI_SUCCESS;
    }
    /* Blocking small contiguous sends skip the request entirely. */
    if (!request && mode == SHIM_SEND_STD && t->contig && dest >= 0
        && (size_t)count * t->size <= shim_inject_max(c, dest)) {
        rc = shim_inject((const char *)buf + t->true_lb,
                         (size_t)count * t->size, c, c->ctx, dest, tag);
        if (rc)
            return shim_err(c, fn, rc);
        shim_ckpt_count_send(c->ctx, c->world[dest]);
        return MPI_SUCCESS;
    }
    rc = shim_isend(buf, (size_t)count, t, dest, tag, c, c->ctx, mode, &req);
    if (rc)
        return shim_err(c, fn, rc);
    if (!request) {
        rc = shim_req_wait(req);
        shim_req_free(req);
        return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
    }
    rc = shim_req_publish(req);
    if (rc) {
        shim_req_wait(req);
        shim_req_free(req);
        return shim_err(c, fn, rc);
    }
    *request = req->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Send)
int PMPI_Send(const void *buf,
              int count,
              MPI_Datatype datatype,
              int dest,
              int tag,
              MPI_Comm comm)
{
    return send_common("MPI_Send", buf, count, datatype, dest, tag, comm,
                       SHIM_SEND_STD, NULL);
}

SHIM_WEAK(Ssend)
int PMPI_Ssend(const void *buf,
               int count,
               MPI_Datatype datatype,
               int dest,
               int tag,
               MPI_Comm comm)
{
    return send_common("MPI_Ssend", buf, count, datatype, dest, tag, comm,
                       SHIM_SEND_SYNC, NULL);
}

SHIM_WEAK(Rsend)
int PMPI_Rsend(const void *buf,
               int count,
               MPI_Datatype datatype,
               int dest,
               int tag,
               MPI_Comm comm)
{
    return send_common("MPI_Rsend", buf, count, datatype, dest, tag, comm,
                       SHIM_SEND_STD, NULL);
}

SHIM_WEAK(Bsend)
int PMPI_Bsend(const void *buf,
               int count,
               MPI_Datatype datatype,
               int dest,
               int tag,
               MPI_Comm comm)
{
    return send_common("MPI_Bsend", buf, count, datatype, dest, tag, comm,
                       SHIM_SEND_BUFFERED, NULL);
}

static int isend_common(const char *fn,
                        const void *buf,
                        int count,
                        MPI_Datatype datatype,
                        int dest,
                        int tag,
                        MPI_Comm comm,
                        enum shim_send_mode mode,
                        MPI_Request *request)
{
    if (!request)
        return shim_err(shim_comm_lookup(comm), fn, SHIM_ECLASS(MPI_ERR_ARG));
    return send_common(fn, buf, count, datatype, dest, tag, comm, mode,
                       request);
}

SHIM_WEAK(Isend)
int PMPI_Isend(const void *buf,
               int count,
               MPI_Datatype datatype,
               int dest,
               int tag,
               MPI_Comm comm,
               MPI_Request *request)
{
    return isend_common("MPI_Isend", buf, count, datatype, dest, tag, comm,
                        SHIM_SEND_STD, request);
}

SHIM_WEAK(Issend)
int PMPI_Issend(const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request)
{
    return isend_common("MPI_Issend", buf, count, datatype, dest, tag, comm,
                        SHIM_SEND_SYNC, request);
}

SHIM_WEAK(Irsend)
int PMPI_Irsend(const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request)
{
    return isend_common("MPI_Irsend", buf, count, datatype, dest, tag, comm,
                        SHIM_SEND_STD, request);
}

SHIM_WEAK(Ibsend)
int PMPI_Ibsend(const void *buf,
                int count,
                MPI_Datatype datatype,
                int dest,
                int tag,
                MPI_Comm comm,
                MPI_Request *request)
{
    return isend_common("MPI_Ibsend", buf, count, datatype, dest, tag, comm,
                        SHIM_SEND_BUFFERED, request);
}

/* ---- receives ----------------------------------------------------------- */
SHIM_WEAK(Irecv)
int PMPI_Irecv(void *buf,
               int count,
               MPI_Datatype datatype,
               int source,
               int tag,
               MPI_Comm comm,
               MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_request *req;
    int rc = check_args(comm, count, datatype, source, tag, true, &c, &t);

    if (rc == 0 && !request)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = shim_irecv(buf, (size_t)count, t, source, tag, c, c->ctx, &req);
    if (rc == 0) {
        rc = shim_req_publish(req);
        if (rc == 0)
            *request = req->handle;
    }
    return rc ? shim_err(c, "MPI_Irecv", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Recv)
int PMPI_Recv(void *buf,
              int count,
              MPI_Datatype datatype,
              int source,
              int tag,
              MPI_Comm comm,
              MPI_Status *status)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_request *req;
    int rc = check_args(comm, count, datatype, source, tag, true, &c, &t);

    if (rc == 0)
        rc = shim_irecv(buf, (size_t)count, t, source, tag, c, c->ctx, &req);
    if (rc)
        return shim_err(c, "MPI_Recv", rc);
    rc = shim_req_wait(req);
    shim_req_fill_status(req, status);
    shim_req_free(req);
    return rc ? shim_err(c, "MPI_Recv", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Sendrecv)
int PMPI_Sendrecv(const void *sendbuf,
                  int sendcount,
                  MPI_Datatype sendtype,
                  int dest,
                  int sendtag,
                  void *recvbuf,
                  int recvcount,
                  MPI_Datatype recvtype,
                  int source,
                  int recvtag,
                  MPI_Comm comm,
                  MPI_Status *status)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *st, *rt;
    struct shim_request *sreq = NULL, *rreq = NULL;
    int rc =
        check_args(comm, sendcount, sendtype, dest, sendtag, false, &c, &st);

    if (rc == 0)
        rc = check_args(comm, recvcount, recvtype, source, recvtag, true, &c,
                        &rt);
    if (rc == 0)
        rc = shim_irecv(recvbuf, (size_t)recvcount, rt, source, recvtag, c,
                        c->ctx, &rreq);
    if (rc == 0)
        rc = shim_isend(sendbuf, (size_t)sendcount, st, dest, sendtag, c,
                        c->ctx, SHIM_SEND_STD, &sreq);
    int rc2 = 0, rc3 = 0;
    if (sreq) {
        rc2 = shim_req_wait(sreq);
        shim_req_free(sreq);
    }
    if (rreq) {
        rc3 = shim_req_wait(rreq);
        shim_req_fill_status(rreq, status);
        shim_req_free(rreq);
    }
    if (!rc)
        rc = rc3 ? rc3 : rc2;
    return rc ? shim_err(c, "MPI_Sendrecv", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Sendrecv_replace)
int PMPI_Sendrecv_replace(void *buf,
                          int count,
                          MPI_Datatype datatype,
                          int dest,
                          int sendtag,
                          int source,
                          int recvtag,
                          MPI_Comm comm,
                          MPI_Status *status)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    int rc = check_args(comm, count, datatype, dest, sendtag, false, &c, &t);

    if (rc == 0)
        rc = check_args(comm, count, datatype, source, recvtag, true, &c, &t);
    if (rc)
        return shim_err(c, "MPI_Sendrecv_replace", rc);
    size_t len = (size_t)count * t->size;
    void *tmp = malloc(len ? len : 1);
    if (!tmp)
        return shim_err(c, "MPI_Sendrecv_replace", -ENOMEM);
    shim_dt_pack(t, buf, (size_t)count, tmp);
    /* The packed copy is sent; buf receives in place. */
    rc = PMPI_Sendrecv(tmp, (int)len, MPI_BYTE, dest, sendtag, buf, count,
                       datatype, source, recvtag, comm, status);
    free(tmp);
    return rc;
}

/* ---- probe -------------------------------------------------------------- */
static int probe_once(struct shim_comm *c,
                      int source,
                      int tag,
                      bool claim,
                      struct shim_request **out)
{
    struct shim_request *req = shim_req_alloc(SHIM_REQ_PROBE);
    uint64_t ignore = SHIM_TAG_SYNC;
    enum shim_route route = recv_route(c, source);
    int rc;

    if (!req)
        return -ENOMEM;
    shim_req_set_comm(req, c);
    if (route != SHIM_ROUTE_OFI) {
        shim_shm_progress();
        req->found = shim_shm_probe(req, c->ctx, source, tag, claim) == 1;
        if (req->found || route == SHIM_ROUTE_SHM) {
            req->done = true;
            *out = req;
            return 0;
        }
    }
    if (source == MPI_ANY_SOURCE) {
        ignore |= SHIM_SRC_MASK;
        source = 0;
    }
    if (tag == MPI_ANY_TAG) {
        ignore |= SHIM_TAGV_MASK;
        tag = 0;
    }
    rc = shim_ofi_peek(req, shim_tag_make(c->ctx, source, tag), ignore, claim);
    if (rc) {
        shim_req_free(req);
        return rc;
    }
    while (!req->done)
        shim_progress();
    *out = req;
    return 0;
}

static int probe_common(const char *fn,
                        int source,
                        int tag,
                        MPI_Comm comm,
                        bool block,
                        int *flag,
                        MPI_Message *message,
                        MPI_Status *status)
{
    struct shim_comm *c = NULL;
    struct shim_request *req;
    int rc = shim_comm_check(comm, &c);

    if (rc == 0)
        rc = check_peer(c, source, true);
    if (rc == 0)
        rc = check_tag(tag, true);
    if (rc == 0 && ((!block && !flag)))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, fn, rc);
    if (source == MPI_PROC_NULL) {
        if (flag)
            *flag = 1;
        if (message)
            *message = MPI_MESSAGE_NO_PROC;
        if (status != MPI_STATUS_IGNORE) {
            status->MPI_SOURCE = MPI_PROC_NULL;
            status->MPI_TAG = MPI_ANY_TAG;
            status->MPI_ERROR = MPI_SUCCESS;
            status->shoal_count = 0;
            status->shoal_cancelled = 0;
        }
        return MPI_SUCCESS;
    }
    for (;;) {
        rc = probe_once(c, source, tag, message != NULL, &req);
        if (rc)
            return shim_err(c, fn, rc);
        if (req->found || !block)
            break;
        shim_req_free(req);
        shim_progress();
    }
    if (flag)
        *flag = req->found;
    if (!req->found) {
        shim_req_free(req);
        return MPI_SUCCESS;
    }
    shim_req_fill_status(req, status);
    if (!message) {
        shim_req_free(req);
        return MPI_SUCCESS;
    }
    /* The claimed message stays attached to this request's context. */
    int idx = shim_table_insert(&shim.requests, req);
    if (idx < 0)
        return shim_err(c, fn, idx);
    req->handle = SHIM_HANDLE(SHIM_KIND_MESSAGE, idx);
    *message = req->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Probe)
int PMPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    return probe_common("MPI_Probe", source, tag, comm, true, NULL, NULL,
                        status);
}

SHIM_WEAK(Iprobe)
int PMPI_Iprobe(
    int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    return probe_common("MPI_Iprobe", source, tag, comm, false, flag, NULL,
                        status);
}

SHIM_WEAK(Mprobe)
int PMPI_Mprobe(int source,
                int tag,
                MPI_Comm comm,
                MPI_Message *message,
                MPI_Status *status)
{
    if (!message)
        return shim_err(shim_comm_lookup(comm), "MPI_Mprobe",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return probe_common("MPI_Mprobe", source, tag, comm, true, NULL, message,
                        status);
}

SHIM_WEAK(Improbe)
int PMPI_Improbe(int source,
                 int tag,
                 MPI_Comm comm,
                 int *flag,
                 MPI_Message *message,
                 MPI_Status *status)
{
    if (!message)
        return shim_err(shim_comm_lookup(comm), "MPI_Improbe",
                        SHIM_ECLASS(MPI_ERR_ARG));
    return probe_common("MPI_Improbe", source, tag, comm, false, flag, message,
                        status);
}

static int mrecv_start(void *buf,
                       int count,
                       MPI_Datatype datatype,
                       MPI_Message *message,
                       struct shim_request **out)
{
    struct shim_datatype *t;
    struct shim_request *req;
    int rc;

    if (!message)
        return SHIM_ECLASS(MPI_ERR_ARG);
    rc = shim_dt_check(datatype, &t);
    if (rc)
        return rc;
    if (count < 0)
        return SHIM_ECLASS(MPI_ERR_COUNT);
    if (*message == MPI_MESSAGE_NO_PROC) {
        req = shim_req_alloc(SHIM_REQ_RECV);
        if (!req)
            return -ENOMEM;
        req->source = MPI_PROC_NULL;
        req->done = true;
        *message = MPI_MESSAGE_NULL;
        *out = req;
        return 0;
    }
    req = shim_table_lookup(&shim.requests, *message, SHIM_KIND_MESSAGE);
    if (!req)
        return SHIM_ECLASS(MPI_ERR_REQUEST);
    shim_table_remove(&shim.requests, req->handle);
    req->handle = MPI_REQUEST_NULL;
    *message = MPI_MESSAGE_NULL;
    req->kind = SHIM_REQ_RECV;
    req->done = false;
    size_t len = (size_t)count * t->size;
    void *ptr = (char *)buf + t->true_lb;
    if (!t->contig && len > 0) {
        req->tmp = malloc(len);
        if (!req->tmp)
            return -ENOMEM;
        req->user_buf = buf;
        req->user_count = (size_t)count;
        req->user_dt = t;
        shim_dt_incref(t);
        ptr = req->tmp;
    }
    shim_ckpt_req_post(req, req->comm->ctx);
    if (req->shm.msg) {
        shim_shm_mrecv(req, ptr, len);
        *out = req;
        return 0;
    }
    rc = shim_ofi_claim_recv(req, ptr, len);
    if (rc) {
        shim_ckpt_req_unpost(req);
        return rc;
    }
    *out = req;
    return 0;
}

SHIM_WEAK(Mrecv)
int PMPI_Mrecv(void *buf,
               int count,
               MPI_Datatype datatype,
               MPI_Message *message,
               MPI_Status *status)
{
    struct shim_request *req;
    int rc = mrecv_start(buf, count, datatype, message, &req);

    if (rc)
        return shim_err(NULL, "MPI_Mrecv", rc);
    struct shim_comm *c = req->comm;
    rc = shim_req_wait(req);
    shim_req_fill_status(req, status);
    shim_req_free(req);
    return rc ? shim_err(c, "MPI_Mrecv", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Imrecv)
int PMPI_Imrecv(void *buf,
                int count,
                MPI_Datatype datatype,
                MPI_Message *message,
                MPI_Request *request)
{
    struct shim_request *req;
    int rc = request ? mrecv_start(buf, count, datatype, message, &req)
                     : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_req_publish(req);
    if (rc)
        return shim_err(NULL, "MPI_Imrecv", rc);
    *request = req->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Get_count)
int PMPI_Get_count(const MPI_Status *status, MPI_Datatype datatype, int *count)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    if (rc == 0 && (!status || !count))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Get_count", rc);
    if (t->size == 0)
        *count = 0;
    else if (status->shoal_count % (MPI_Count)t->size)
        *count = MPI_UNDEFINED;
    else
        *count = (int)(status->shoal_count / (MPI_Count)t->size);
    return MPI_SUCCESS;
}

static int get_elements(const char *fn,
                        const MPI_Status *status,
                        MPI_Datatype datatype,
                        MPI_Count *count)
{
    struct shim_datatype *t;
    int rc = shim_dt_check(datatype, &t);

    if (rc == 0 && (!status || !count))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, fn, rc);
    size_t esz = t->nbasic ? t->size / t->nbasic : t->size;
    if (esz == 0)
        *count = 0;
    else if (status->shoal_count % (MPI_Count)esz)
        *count = MPI_UNDEFINED;
    else
        *count = status->shoal_count / (MPI_Count)esz;
    return MPI_SUCCESS;
}

SHIM_WEAK(Get_elements)
int PMPI_Get_elements(const MPI_Status *status,
                      MPI_Datatype datatype,
                      int *count)
{
    MPI_Count n;
    int rc =
        get_elements("MPI_Get_elements", status, datatype, count ? &n : NULL);

    if (rc == MPI_SUCCESS)
        *count = n > 0x7fffffff ? MPI_UNDEFINED : (int)n;
    return rc;
}

SHIM_WEAK(Get_elements_x)
int PMPI_Get_elements_x(const MPI_Status *status,
                        MPI_Datatype datatype,
                        MPI_Count *count)
{
    return get_elements("MPI_Get_elements_x", status, datatype, count);
}

/* MPI-3.1 section 14.2.4: a library without a profiling layer of its own
 * ignores the level; profilers intercept MPI_Pcontrol. */
SHIM_WEAK(Pcontrol)
int PMPI_Pcontrol(const int level, ...)
{
    (void)level;
    return MPI_SUCCESS;
}

/* ---- persistent requests ------------------------------------------------ */
static int persist_init(const char *fn,
                        bool is_send,
                        int mode,
                        const void *buf,
                        int count,
                        MPI_Datatype datatype,
                        int peer,
                        int tag,
                        MPI_Comm comm,
                        MPI_Request *request)
{
    struct shim_comm *c = NULL;
    struct shim_datatype *t;
    struct shim_request *req;
    int rc = check_args(comm, count, datatype, peer, tag, !is_send, &c, &t);

    if (rc == 0 && !request)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(c, fn, rc);
    req = shim_req_alloc(SHIM_REQ_PERSIST);
    if (!req)
        return shim_err(c, fn, -ENOMEM);
    shim_req_set_comm(req, c);
    req->persist.is_send = is_send;
    req->persist.mode = mode;
    req->persist.buf = buf;
    req->persist.count = count;
    req->persist.dt = datatype;
    req->persist.peer = peer;
    req->persist.tag = tag;
    rc = shim_req_publish(req);
    if (rc) {
        shim_req_free(req);
        return shim_err(c, fn, rc);
    }
    *request = req->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Send_init)
int PMPI_Send_init(const void *buf,
                   int count,
                   MPI_Datatype datatype,
                   int dest,
                   int tag,
                   MPI_Comm comm,
                   MPI_Request *request)
{
    return persist_init("MPI_Send_init", true, SHIM_SEND_STD, buf, count,
                        datatype, dest, tag, comm, request);
}

SHIM_WEAK(Ssend_init)
int PMPI_Ssend_init(const void *buf,
                    int count,
                    MPI_Datatype datatype,
                    int dest,
                    int tag,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    return persist_init("MPI_Ssend_init", true, SHIM_SEND_SYNC, buf, count,
                        datatype, dest, tag, comm, request);
}

SHIM_WEAK(Bsend_init)
int PMPI_Bsend_init(const void *buf,
                    int count,
                    MPI_Datatype datatype,
                    int dest,
                    int tag,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    return persist_init("MPI_Bsend_init", true, SHIM_SEND_BUFFERED, buf, count,
                        datatype, dest, tag, comm, request);
}

/* A ready send may be a standard one (its receive is posted already). */
SHIM_WEAK(Rsend_init)
int PMPI_Rsend_init(const void *buf,
                    int count,
                    MPI_Datatype datatype,
                    int dest,
                    int tag,
                    MPI_Comm comm,
                    MPI_Request *request)
{
    return persist_init("MPI_Rsend_init", true, SHIM_SEND_STD, buf, count,
                        datatype, dest, tag, comm, request);
}

SHIM_WEAK(Recv_init)
int PMPI_Recv_init(void *buf,
                   int count,
                   MPI_Datatype datatype,
                   int source,
                   int tag,
                   MPI_Comm comm,
                   MPI_Request *request)
{
    return persist_init("MPI_Recv_init", false, 0, buf, count, datatype, source,
                        tag, comm, request);
}

static int start_one(MPI_Request *request)
{
    struct shim_request *r = request ? shim_req_lookup(*request) : NULL;
    struct shim_datatype *t;
    int rc;

    if (!r || r->kind != SHIM_REQ_PERSIST || r->persist.active)
        return SHIM_ECLASS(MPI_ERR_REQUEST);
    rc = shim_dt_check(r->persist.dt, &t);
    if (rc)
        return rc;
    if (r->persist.is_send && r->persist.mode == SHIM_SEND_BUFFERED) {
        /* Copied into the attached buffer: complete at once, as
         * MPI_Ibsend. */
        struct shim_request *sent, *done;
        rc = bsend_start(r->persist.buf, r->persist.count, t, r->persist.peer,
                         r->persist.tag, r->comm, &sent);
        if (rc)
            return rc;
        done = shim_req_alloc(SHIM_REQ_SEND);
        if (!done)
            return -ENOMEM;
        done->done = true;
        shim_req_set_comm(done, r->comm);
        r->persist.active = done;
    } else if (r->persist.is_send)
        rc = shim_isend(r->persist.buf, (size_t)r->persist.count, t,
                        r->persist.peer, r->persist.tag, r->comm, r->comm->ctx,
                        r->persist.mode, &r->persist.active);
    else
        rc = shim_irecv((void *)r->persist.buf, (size_t)r->persist.count, t,
                        r->persist.peer, r->persist.tag, r->comm, r->comm->ctx,
                        &r->persist.active);
    return rc;
}

SHIM_WEAK(Start)
int PMPI_Start(MPI_Request *request)
{
    int rc = start_one(request);
    return rc ? shim_err(NULL, "MPI_Start", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Startall)
int PMPI_Startall(int count, MPI_Request array_of_requests[])
{
    if (count < 0 || (count > 0 && !array_of_requests))
        return shim_err(NULL, "MPI_Startall", SHIM_ECLASS(MPI_ERR_ARG));
    for (int i = 0; i < count; i++) {
        int rc = start_one(&array_of_requests[i]);
        if (rc)
            return shim_err(NULL, "MPI_Startall", rc);
    }
    return MPI_SUCCESS;
}
