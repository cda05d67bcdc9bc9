/* SPDX-License-Identifier: MIT */
/* ofi.c - the libfabric layer: one RDM endpoint with tagged messages, one
 * completion queue polled from inside MPI calls (no progress thread). The
 * layer above it is the progress engine (progress.c), which it reaches
 * only through the upcalls the engine hands over. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include "mpi-shim/sde.h"
#include "mpi-shim/shim_private.h"

struct shim_ofi_state shim_ofi;

/* libfabric is opened with dlopen at MPI_Init, and only when the job needs
 * it (a rank on another node, the on-node transport off or failed), so a
 * one-node job never runs its constructors (Debian's links psm, whose
 * constructor alone takes 0.2 s) nor its provider initialization. libmpi
 * is not linked against it: the few functions libfabric exports are
 * reached through this table; everything else in <rdma/fi_*.h> is inline
 * and calls through the objects' own operation tables. */
static struct {
    void *handle;
    int (*getinfo)(uint32_t version,
                   const char *node,
                   const char *service,
                   uint64_t flags,
                   const struct fi_info *hints,
                   struct fi_info **info);
    void (*freeinfo)(struct fi_info *info);
    struct fi_info *(*dupinfo)(const struct fi_info *info);
    int (*fabric)(struct fi_fabric_attr *attr,
                  struct fid_fabric **fabric,
                  void *context);
    const char *(*strerror)(int errnum);
    uint32_t (*version)(void);
} fab;

int shim_ofi_load(char *errbuf, size_t errlen)
{
    void *h;

    if (fab.handle)
        return 0;
    h = dlopen("libfabric.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(errbuf, errlen, "cannot load libfabric: %s", dlerror());
        return -ENOENT;
    }
    *(void **)&fab.getinfo = dlsym(h, "fi_getinfo");
    *(void **)&fab.freeinfo = dlsym(h, "fi_freeinfo");
    *(void **)&fab.dupinfo = dlsym(h, "fi_dupinfo");
    *(void **)&fab.fabric = dlsym(h, "fi_fabric");
    *(void **)&fab.strerror = dlsym(h, "fi_strerror");
    *(void **)&fab.version = dlsym(h, "fi_version");
    if (!fab.getinfo || !fab.freeinfo || !fab.dupinfo || !fab.fabric
        || !fab.strerror || !fab.version) {
        snprintf(errbuf, errlen, "libfabric.so.1 lacks fi_getinfo and co");
        dlclose(h);
        memset(&fab, 0, sizeof(fab));
        return -ENOENT;
    }
    fab.handle = h;
    return 0;
}

uint32_t shim_ofi_version(void)
{
    return fab.handle ? fab.version() : 0;
}

const char *shim_ofi_strerror(int err)
{
    return fab.handle ? fab.strerror(err) : strerror(err);
}

static const struct shim_ofi_upcalls *upcalls;

void shim_ofi_set_upcalls(const struct shim_ofi_upcalls *up)
{
    upcalls = up;
}

/* The provider is out of resources: let the layer above make progress. */
static void busy(void)
{
    upcalls->busy(upcalls->arg);
}

/* Marks one libfabric operation of req complete; once all are, closes its
 * registrations and hands it up. */
static void op_done(struct shim_request *req)
{
    if (--req->pending > 0)
        return;
    if (req->mr) {
        fi_close(&req->mr->fid);
        req->mr = NULL;
    }
    if (req->ack_mr) {
        fi_close(&req->ack_mr->fid);
        req->ack_mr = NULL;
    }
    upcalls->req_done(req, upcalls->arg);
}

/* Acknowledgements of synchronous sends that could not be injected at once
 * (the provider returned -FI_EAGAIN); retried on every progress call. */
struct shim_ofi_ack {
    int world_dest;
    uint64_t tag;
};
static struct shim_ofi_ack *deferred_acks;
static int ndeferred;
static int deferred_cap;

static bool prov_is(const struct fi_info *info, const char *name)
{
    return strcmp(info->fabric_attr->prov_name, name) == 0;
}

/* Picks the provider. Forced by name: the first match. One node: shm when
 * present and trustworthy. Several nodes: the first provider libfabric
 * ranks best that can leave the node (so verbs;ofi_rxm, efa or cxi before
 * tcp;ofi_rxm).
 *
 * shm before libfabric 1.19 breaks guarantees MPI needs when messages
 * arrive unexpected: messages of different protocol sizes overtake each
 * other (FI_ORDER_SAS is claimed but not kept), FI_PEEK never completes
 * once a match is queued, and unexpected segmented (SAR) messages stall
 * (ofiwg/libfabric#9143, fixed for 1.19; tests/mpi-shim/ordering.c and
 * wildcard.c show the rest). Older runtimes therefore use the network
 * provider over loopback unless shm is asked for by name. */
static struct fi_info *
choose(struct fi_info *list, const char *forced, bool single_node)
{
    if (forced)
        return list;
    if (single_node && fab.version() >= FI_VERSION(1, 19)) {
        for (struct fi_info *i = list; i; i = i->next)
            if (prov_is(i, "shm"))
                return i;
    }
    for (struct fi_info *i = list; i; i = i->next) {
        if (prov_is(i, "shm") || prov_is(i, "sockets")
            || strstr(i->fabric_attr->prov_name, "ofi_rxd"))
            continue;
        return i;
    }
    return list;
}

/* Defaults for rxm, the layer that gives tcp and verbs RDM semantics.
 * rxm reads its parameters once, when libfabric initializes its providers
 * at the first fi_getinfo() of the process, so they are set before it.
 * Providers without rxm (shm, efa, cxi, ...) ignore them. A user's own
 * setting always wins.
 *
 * Dynamic receive buffers let tcp place eager data straight into the
 * posted buffer; when that buffer is too small (an MPI truncation) the tcp
 * connection fails and later messages on it are lost. Bounce buffers
 * report the truncation properly, so they stay.
 *
 * Over tcp, rxm shares one receive context among all connections and
 * posts FI_OFI_RXM_MSG_RX_SIZE bounce buffers to it at fi_enable(): 4096
 * by default, 16 KiB each, allocated and zeroed 1024 at a time, which is
 * 68 MB and most of MPI_Init's time (see "Start-up" in README.md). 128 is
 * what rxm posts per connection when the context is not shared. Fewer
 * posted buffers only bound how many messages are taken off the sockets
 * before rxm handles them: a message that finds no buffer waits in the
 * socket, and an unexpected message gets its buffer replaced at once, so
 * nothing is lost and no receive waits on a matching one. When the user
 * asks for a shared context (FI_OFI_RXM_USE_SRX, e.g. for verbs at scale)
 * rxm's own default is kept. */
static void rxm_defaults(void)
{
    setenv("FI_OFI_RXM_ENABLE_DYN_RBUF", "0", 0);
    if (!getenv("FI_OFI_RXM_USE_SRX"))
        setenv("FI_OFI_RXM_MSG_RX_SIZE", "128", 0);
}

/* Every registration mode the code below honours. */
static const uint64_t mr_modes = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED
                                 | FI_MR_PROV_KEY | FI_MR_ENDPOINT;

/* Whether one-sided operations may use libfabric's RMA: not when
 * SHOAL_MPI_RMA_OFI=0 asks for active messages alone. */
static bool rma_wanted(void)
{
    const char *v = getenv("SHOAL_MPI_RMA_OFI");

    return !(v && strcmp(v, "0") == 0);
}

/* The chosen provider and domain again, with FI_RMA added to what was
 * asked of it, or NULL when it does not offer it (or it is not wanted).
 * RMA is a primary capability: a provider enables it only when asked, so
 * the endpoint must be opened with it; asking for it in a second query,
 * once the provider is chosen, keeps the choice what it is without it. */
static struct fi_info *rma_info(const struct fi_info *pick)
{
    struct fi_info *hints;
    struct fi_info *found = NULL;
    struct fi_info *out = NULL;

    if (!rma_wanted())
        return NULL;
    hints = fab.dupinfo(pick);
    if (!hints)
        return NULL;
    hints->caps = pick->caps | FI_RMA;
    hints->domain_attr->mr_mode = mr_modes;
    if (fab.getinfo(FI_VERSION(1, 11), NULL, NULL, 0, hints, &found) == 0
        && found && (found->caps & FI_RMA)
        && found->domain_attr->mr_key_size <= sizeof(uint64_t))
        out = fab.dupinfo(found);
    if (found)
        fab.freeinfo(found);
    fab.freeinfo(hints);
    return out;
}

int shim_ofi_open(const char *prov_name,
                  bool single_node,
                  char *errbuf,
                  size_t errlen)
{
    struct fi_info *hints;
    struct fi_info *list = NULL;
    struct fi_info *pick;
    const char *step = "fi_getinfo";
    int rc;

    rc = shim_ofi_load(errbuf, errlen);
    if (rc)
        return rc;
    hints = fab.dupinfo(NULL);
    if (!hints)
        return -ENOMEM;
    rxm_defaults();
    hints->caps = FI_TAGGED;
    hints->mode = FI_CONTEXT | FI_CONTEXT2;
    hints->ep_attr->type = FI_EP_RDM;
    /* Matching order equals sending order per pair: MPI non-overtaking. */
    hints->tx_attr->msg_order = FI_ORDER_SAS;
    hints->rx_attr->msg_order = FI_ORDER_SAS;
    hints->domain_attr->mr_mode = mr_modes;
    hints->domain_attr->threading = FI_THREAD_DOMAIN;
    hints->domain_attr->av_type = FI_AV_TABLE;
    hints->domain_attr->resource_mgmt = FI_RM_ENABLED;
    if (prov_name) {
        hints->fabric_attr->prov_name = strdup(prov_name);
        if (!hints->fabric_attr->prov_name) {
            fab.freeinfo(hints);
            return -ENOMEM;
        }
    }
    rc = fab.getinfo(FI_VERSION(1, 11), NULL, NULL, 0, hints, &list);
    fab.freeinfo(hints);
    if (rc)
        goto error;
    pick = choose(list, prov_name, single_node);
    if (pick->domain_attr->cq_data_size < 4) {
        rc = -FI_ENODATA;
        step = "provider without remote CQ data";
        goto error;
    }
    shim_ofi.info = rma_info(pick);
    if (shim_ofi.info)
        shim_ofi.rma = true;
    else
        shim_ofi.info = fab.dupinfo(pick);
    fab.freeinfo(list);
    list = NULL;
    if (!shim_ofi.info) {
        rc = -ENOMEM;
        goto error;
    }
    snprintf(shim_ofi.prov_name, sizeof(shim_ofi.prov_name), "%s",
             shim_ofi.info->fabric_attr->prov_name);
    /* shm names its region after the pid; a region left behind by a
     * killed process makes a later process with the same pid fail with
     * EBUSY. A name unique in time avoids that. */
    if (prov_is(shim_ofi.info, "shm")
        && shim_ofi.info->addr_format == FI_ADDR_STR) {
        char name[96];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(name, sizeof(name), "fi_shm://shoal_%d_%lx_%lx", (int)getpid(),
                 (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec);
        free(shim_ofi.info->src_addr);
        shim_ofi.info->src_addr = strdup(name);
        if (!shim_ofi.info->src_addr) {
            rc = -ENOMEM;
            goto error;
        }
        shim_ofi.info->src_addrlen = strlen(name) + 1;
    }
    shim_ofi.inject_size = shim_ofi.info->tx_attr->inject_size;
    shim_ofi.mr_local = (shim_ofi.info->domain_attr->mr_mode & FI_MR_LOCAL);

    step = "fi_fabric";
    rc = fab.fabric(shim_ofi.info->fabric_attr, &shim_ofi.fabric, NULL);
    if (rc)
        goto error;
    step = "fi_domain";
    rc = fi_domain(shim_ofi.fabric, shim_ofi.info, &shim_ofi.domain, NULL);
    if (rc)
        goto error;
    struct fi_cq_attr cq_attr = {
        .format = FI_CQ_FORMAT_TAGGED,
        .wait_obj = FI_WAIT_NONE,
    };
    step = "fi_cq_open";
    rc = fi_cq_open(shim_ofi.domain, &cq_attr, &shim_ofi.cq, NULL);
    if (rc)
        goto error;
    struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
    step = "fi_av_open";
    rc = fi_av_open(shim_ofi.domain, &av_attr, &shim_ofi.av, NULL);
    if (rc)
        goto error;
    step = "fi_endpoint";
    rc = fi_endpoint(shim_ofi.domain, shim_ofi.info, &shim_ofi.ep, NULL);
    if (rc)
        goto error;
    step = "fi_ep_bind";
    rc = fi_ep_bind(shim_ofi.ep, &shim_ofi.cq->fid, FI_TRANSMIT | FI_RECV);
    if (rc)
        goto error;
    rc = fi_ep_bind(shim_ofi.ep, &shim_ofi.av->fid, 0);
    if (rc)
        goto error;
    step = "fi_enable";
    rc = fi_enable(shim_ofi.ep);
    if (rc)
        goto error;
    return 0;
error:
    if (list)
        fab.freeinfo(list);
    snprintf(errbuf, errlen, "%s: %s", step, fab.strerror(-rc));
    shim_ofi_close();
    return rc < 0 ? rc : -rc;
}

int shim_ofi_getname(void *name, size_t *len)
{
    return fi_getname(&shim_ofi.ep->fid, name, len);
}

int shim_ofi_av_prepare(int count)
{
    shim_ofi.addrs = calloc((size_t)count, sizeof(*shim_ofi.addrs));
    return shim_ofi.addrs ? 0 : -ENOMEM;
}

int shim_ofi_insert(const void *name, int rank)
{
    int n = fi_av_insert(shim_ofi.av, name, 1, &shim_ofi.addrs[rank], 0, NULL);

    return n == 1 ? 0 : n < 0 ? n : -EADDRNOTAVAIL;
}

void shim_ofi_close(void)
{
    if (shim_ofi.ep)
        fi_close(&shim_ofi.ep->fid);
    if (shim_ofi.av)
        fi_close(&shim_ofi.av->fid);
    if (shim_ofi.cq)
        fi_close(&shim_ofi.cq->fid);
    if (shim_ofi.domain)
        fi_close(&shim_ofi.domain->fid);
    if (shim_ofi.fabric)
        fi_close(&shim_ofi.fabric->fid);
    if (shim_ofi.info)
        fab.freeinfo(shim_ofi.info);
    free(shim_ofi.addrs);
    free(deferred_acks);
    deferred_acks = NULL;
    ndeferred = deferred_cap = 0;
    memset(&shim_ofi, 0, sizeof(shim_ofi));
}

static int mr_register(void *buf, size_t len, struct fid_mr **mr, void **desc)
{
    int rc;

    *desc = NULL;
    if (!shim_ofi.mr_local || len == 0)
        return 0;
    rc = fi_mr_reg(shim_ofi.domain, buf, len, FI_SEND | FI_RECV, 0, 0, 0, mr,
                   NULL);
    if (rc)
        return rc;
    if (shim_ofi.info->domain_attr->mr_mode & FI_MR_ENDPOINT) {
        rc = fi_mr_bind(*mr, &shim_ofi.ep->fid, 0);
        if (rc == 0)
            rc = fi_mr_enable(*mr);
        if (rc) {
            fi_close(&(*mr)->fid);
            *mr = NULL;
            return rc;
        }
    }
    *desc = fi_mr_desc(*mr);
    return 0;
}

static int ack_inject(int world_dest, uint64_t tag)
{
    return (int)fi_tinject(shim_ofi.ep, NULL, 0, shim_ofi.addrs[world_dest],
                           tag);
}

/* A synchronous send's data was received: tell the sender. The ack tag
 * carries the sender's sequence number so it matches one send only. */
static void
ack_send(const struct shim_request *req, uint64_t tag, uint64_t data)
{
    int src = shim_tag_src(tag);
    uint64_t ack = SHIM_TAG_ACK
                   | shim_tag_make(shim_tag_ctx(tag), req->comm->rank,
                                   (int)(data & SHIM_TAGV_MASK));
    int dest = req->comm->world[src];

    if (ndeferred == 0 && ack_inject(dest, ack) == 0)
        return;
    if (ndeferred == deferred_cap) {
        int cap = deferred_cap ? 2 * deferred_cap : 16;
        struct shim_ofi_ack *a = realloc(deferred_acks, sizeof(*a) * cap);
        if (!a)
            SHOAL_MPI_OOM();
        deferred_acks = a;
        deferred_cap = cap;
    }
    deferred_acks[ndeferred].world_dest = dest;
    deferred_acks[ndeferred].tag = ack;
    ndeferred++;
}

static void acks_retry(void)
{
    int i = 0;

    while (i < ndeferred
           && ack_inject(deferred_acks[i].world_dest, deferred_acks[i].tag)
                  == 0)
        i++;
    memmove(deferred_acks, deferred_acks + i,
            sizeof(*deferred_acks) * (ndeferred - i));
    ndeferred -= i;
}

/* A one-sided operation completed: its registration goes, its owner is
 * told. */
static void rma_done(struct shim_ofi_rma *op, int err)
{
    if (op->mr) {
        fi_close(&op->mr->fid);
        op->mr = NULL;
    }
    op->done(op, err);
}

static void complete_entry(
    struct shim_ofi_op *op, uint64_t tag, size_t len, uint64_t data, int err)
{
    struct shim_request *req = op->req;

    if (!req) {
        rma_done((struct shim_ofi_rma *)op, err);
        return;
    }
    if (op == &req->ack_op) {
        op_done(req);
        return;
    }
    /* The on-node transport matched this receive and withdrew its
     * libfabric twin (shm.c): the cancellation ends the twin only. */
    if (err == FI_ECANCELED && req->shm.withdrawn) {
        req->pending--;
        return;
    }
    switch (req->kind) {
    case SHIM_REQ_RECV:
        if (err == FI_ECANCELED) {
            req->cancelled = true;
            break;
        }
        req->source = shim_tag_src(tag);
        req->tag = shim_tag_tag(tag);
        req->count_bytes = len;
        if (!err || err == FI_ETRUNC)
            shim_sde_recv(SHIM_SDE_OFI, len);
        if (err == FI_ETRUNC)
            req->error = MPI_ERR_TRUNCATE;
        else if (err)
            req->error = MPI_ERR_OTHER;
        if (tag & SHIM_TAG_SYNC)
            ack_send(req, tag, data);
        break;
    case SHIM_REQ_PROBE:
        req->found = (err == 0);
        if (req->found) {
            req->source = shim_tag_src(tag);
            req->tag = shim_tag_tag(tag);
            req->count_bytes = len;
        }
        break;
    default:
        if (err == FI_ECANCELED)
            req->cancelled = true;
        else if (err)
            req->error = MPI_ERR_OTHER;
        break;
    }
    op_done(req);
}

int shim_ofi_progress(void)
{
    struct fi_cq_tagged_entry e[16];
    ssize_t n;
    int seen = 0;

    if (ndeferred)
        acks_retry();
    for (;;) {
        n = fi_cq_read(shim_ofi.cq, e, 16);
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                complete_entry(e[i].op_context, e[i].tag, e[i].len, e[i].data,
                               0);
            seen += (int)n;
            if (n < 16)
                return seen;
            continue;
        }
        if (n == -FI_EAVAIL) {
            struct fi_cq_err_entry ee = {0};
            if (fi_cq_readerr(shim_ofi.cq, &ee, 0) == 1) {
                /* A truncated receive reports the bytes delivered in len;
                 * a failed peek is not an error but "no message". Some
                 * providers (shm) report err negated. */
                complete_entry(ee.op_context, ee.tag, ee.len, ee.data,
                               ee.err < 0 ? -ee.err : ee.err);
                seen++;
            }
            continue;
        }
        return seen;
    }
}

int shim_ofi_send(struct shim_request *req,
                  const void *buf,
                  size_t len,
                  int world_dest,
                  uint64_t tag,
                  bool sync,
                  uint32_t sync_id)
{
    void *desc;
    ssize_t rc;

    rc = mr_register((void *)buf, len, &req->mr, &desc);
    if (rc)
        return (int)rc;
    req->op.req = req;
    req->pending++;
    do {
        if (sync)
            rc = fi_tsenddata(shim_ofi.ep, buf, len, desc, sync_id,
                              shim_ofi.addrs[world_dest], tag | SHIM_TAG_SYNC,
                              &req->op);
        else
            rc = fi_tsend(shim_ofi.ep, buf, len, desc,
                          shim_ofi.addrs[world_dest], tag, &req->op);
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc)
        req->pending--;
    else
        shim_sde_sent(SHIM_SDE_OFI, len);
    return (int)rc;
}

int shim_ofi_inject(const void *buf, size_t len, int world_dest, uint64_t tag)
{
    ssize_t rc;

    do {
        rc = fi_tinject(shim_ofi.ep, buf, len, shim_ofi.addrs[world_dest], tag);
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc == 0)
        shim_sde_sent(SHIM_SDE_OFI, len);
    return (int)rc;
}

int shim_ofi_recv(struct shim_request *req,
                  bool ack,
                  void *buf,
                  size_t len,
                  uint64_t tag,
                  uint64_t ignore)
{
    void *desc;
    ssize_t rc;
    struct shim_ofi_op *op = ack ? &req->ack_op : &req->op;

    rc = mr_register(buf, len, ack ? &req->ack_mr : &req->mr, &desc);
    if (rc)
        return (int)rc;
    op->req = req;
    req->pending++;
    do {
        rc = fi_trecv(shim_ofi.ep, buf, len, desc, FI_ADDR_UNSPEC, tag, ignore,
                      op);
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc)
        req->pending--;
    return (int)rc;
}

int shim_ofi_peek(struct shim_request *req,
                  uint64_t tag,
                  uint64_t ignore,
                  bool claim)
{
    struct fi_msg_tagged msg = {
        .addr = FI_ADDR_UNSPEC,
        .tag = tag,
        .ignore = ignore,
        .context = &req->op,
    };
    ssize_t rc;

    req->op.req = req;
    req->pending++;
    do {
        rc = fi_trecvmsg(shim_ofi.ep, &msg,
                         FI_PEEK | FI_COMPLETION | (claim ? FI_CLAIM : 0));
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc)
        req->pending--;
    return (int)rc;
}

int shim_ofi_claim_recv(struct shim_request *req, void *buf, size_t len)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    void *desc;
    struct fi_msg_tagged msg = {
        .msg_iov = &iov,
        .desc = &desc,
        .iov_count = 1,
        .addr = FI_ADDR_UNSPEC,
        .context = &req->op,
    };
    ssize_t rc;

    rc = mr_register(buf, len, &req->mr, &desc);
    if (rc)
        return (int)rc;
    req->pending++;
    do {
        rc = fi_trecvmsg(shim_ofi.ep, &msg, FI_CLAIM | FI_COMPLETION);
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc)
        req->pending--;
    return (int)rc;
}

int shim_ofi_cancel(struct shim_request *req)
{
    return (int)fi_cancel(&shim_ofi.ep->fid, &req->op);
}

/* ---- one-sided operations ----------------------------------------------
 * Window memory is registered for remote reads and writes as the
 * provider's mr_mode says: with FI_MR_PROV_KEY the provider picks the key,
 * else a key unique in this process is asked for; with FI_MR_VIRT_ADDR the
 * origin addresses the target's memory by its virtual address, else by
 * the offset from the registration's start; FI_MR_ENDPOINT binds the
 * registration to the endpoint and enables it; FI_MR_LOCAL registers the
 * origin's buffer of every operation too (closed at its completion);
 * FI_MR_ALLOCATED holds since only allocated memory is ever registered. */
int shim_ofi_mr_reg(
    void *buf, size_t len, struct fid_mr **mr, uint64_t *key, uint64_t *addr)
{
    static uint64_t next_key;
    uint64_t mode = shim_ofi.info->domain_attr->mr_mode;
    int rc;

    *mr = NULL;
    rc = fi_mr_reg(shim_ofi.domain, buf, len, FI_REMOTE_READ | FI_REMOTE_WRITE,
                   0, ++next_key, 0, mr, NULL);
    if (rc)
        return rc;
    if (mode & FI_MR_ENDPOINT) {
        rc = fi_mr_bind(*mr, &shim_ofi.ep->fid, 0);
        if (rc == 0)
            rc = fi_mr_enable(*mr);
        if (rc) {
            fi_close(&(*mr)->fid);
            *mr = NULL;
            return rc;
        }
    }
    *key = fi_mr_key(*mr);
    if (*key == FI_KEY_NOTAVAIL) {
        fi_close(&(*mr)->fid);
        *mr = NULL;
        return -FI_ENOKEY;
    }
    *addr = (mode & FI_MR_VIRT_ADDR) ? (uint64_t)(uintptr_t)buf : 0;
    return 0;
}

void shim_ofi_mr_close(struct fid_mr *mr)
{
    if (mr)
        fi_close(&mr->fid);
}

int shim_ofi_rma(struct shim_ofi_rma *op,
                 bool write,
                 void *buf,
                 size_t len,
                 int world_dest,
                 uint64_t addr,
                 uint64_t key)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct fi_rma_iov rma = {.addr = addr, .len = len, .key = key};
    void *desc = NULL;
    struct fi_msg_rma msg = {
        .msg_iov = &iov,
        .desc = &desc,
        .iov_count = 1,
        .addr = shim_ofi.addrs[world_dest],
        .rma_iov = &rma,
        .rma_iov_count = 1,
        .context = &op->op,
    };
    ssize_t rc;

    op->op.req = NULL;
    op->mr = NULL;
    if (shim_ofi.mr_local) {
        rc = fi_mr_reg(shim_ofi.domain, buf, len, write ? FI_WRITE : FI_READ, 0,
                       0, 0, &op->mr, NULL);
        if (rc == 0 && (shim_ofi.info->domain_attr->mr_mode & FI_MR_ENDPOINT)) {
            rc = fi_mr_bind(op->mr, &shim_ofi.ep->fid, 0);
            if (rc == 0)
                rc = fi_mr_enable(op->mr);
        }
        if (rc) {
            if (op->mr)
                fi_close(&op->mr->fid);
            op->mr = NULL;
            return (int)rc;
        }
        desc = fi_mr_desc(op->mr);
    }
    /* A write completes once its data is in the target's memory
     * (FI_DELIVERY_COMPLETE), not when it left this buffer: the
     * synchronization calls wait for these completions and then tell the
     * target its epoch is over, so the data must be visible there by
     * then. A read's completion means its data is here. */
    do {
        if (write)
            rc = fi_writemsg(shim_ofi.ep, &msg,
                             FI_COMPLETION | FI_DELIVERY_COMPLETE);
        else
            rc = fi_readmsg(shim_ofi.ep, &msg, FI_COMPLETION);
        if (rc == -FI_EAGAIN)
            busy();
    } while (rc == -FI_EAGAIN);
    if (rc && op->mr) {
        fi_close(&op->mr->fid);
        op->mr = NULL;
    }
    return (int)rc;
}
