/* SPDX-License-Identifier: MIT */
/* shm.c - the on-node transport and its matching engine; the contract and
 * the protocols are described in shm.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <signal.h>
#include <sched.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mpi-shim/sde.h"
#include "mpi-shim/shim_private.h"
#include "mpi-shim/shm_ring.h"

/* Cell kinds. */
enum shm_kind {
    CELL_EAGER = 1, /* a message's header and first bytes */
    CELL_DATA,      /* the next bytes of the message being streamed */
    CELL_RTS,       /* a message to read from the sender (cookie, addr) */
    CELL_FIN,       /* the receiver read an RTS message (cookie) */
    CELL_ACK,       /* a synchronous message was matched (cookie) */
};

/* The head of every cell; the payload follows at CELL_HDR. */
struct shm_cell {
    uint32_t kind;
    uint32_t ctx;
    int32_t src;
    int32_t tag;
    uint64_t len; /* the whole message */
    uint64_t cookie;
    uint64_t addr;
    uint32_t chunk; /* payload bytes in this cell */
    uint32_t sync;
};
enum { CELL_HDR = 64 };
_Static_assert(sizeof(struct shm_cell) <= CELL_HDR, "cell header too big");

/* What each rank publishes in the segment. */
struct shm_slot {
    _Alignas(SHIM_RING_LINE) _Atomic int32_t pid;
    _Atomic int32_t cma_ok; /* this rank can read its peers' memory */
    uint64_t probe_addr;    /* where its probe word is */
};

/* A rank's slot for node collectives (shm.h). Contributions and results
 * up to COLL_INLINE bytes sit in the counter's own cache line, so an
 * 8-byte allreduce reads one line per peer. */
enum { COLL_BYTES = 2048, COLL_INLINE = 24 };
struct shm_coll_slot {
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t seq; /* collectives entered */
    char small[2][COLL_INLINE];
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t rseq; /* results published */
    char rsmall[COLL_INLINE];
    _Alignas(SHIM_RING_LINE) char data[2][COLL_BYTES];
    char result[COLL_BYTES];
};

/* A large rendezvous copy shared by both sides, HELP_SLOTS per ordered
 * pair (sender i -> receiver j), used round robin by job number: the
 * receiver publishes the job (claim = job << 32, the buffers and the
 * length) and copies chunks it claims with process_vm_readv; the sender,
 * while it waits for that pair's FIN, claims chunks too and writes them
 * with process_vm_writev, adding what it wrote to done. Claims are a
 * fetch-and-add by the receiver and a compare-and-swap that checks the
 * job number by the sender, so a sender that looks late at a finished
 * job claims nothing. Once every chunk is claimed the receiver goes on
 * with other messages; the receive completes (and its FIN goes) when done
 * counts all the sender's chunks, and only then is the slot reused. */
struct shm_help {
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t claim; /* job << 32 | next */
    _Atomic uint64_t dst;                            /* receiver's buffer */
    _Atomic uint64_t src;                            /* sender's buffer */
    _Atomic uint64_t len;
    _Atomic uint64_t chunk;                         /* bytes per claim */
    _Alignas(SHIM_RING_LINE) _Atomic uint64_t done; /* sender's bytes */
};

struct shm_seg {
    _Alignas(SHIM_RING_LINE) uint32_t magic;
    uint32_t nlocal;
    uint32_t ncells;
    uint32_t cell_size;
    /* nlocal slots follow, then nlocal * nlocal rings, ring (i -> j) at
     * index i * nlocal + j, then nlocal collective slots, then
     * nlocal * nlocal shared-copy slots, (i -> j) at i * nlocal + j. */
};
enum { SHM_MAGIC = 0x5348414d };

/* A message that arrived before its receive. */
struct shm_msg {
    struct shm_msg *next;
    struct shm_msg *prev;
    unsigned ctx;
    int src;
    int tag;
    int peer; /* local index of the sender */
    uint32_t kind;
    bool sync;
    uint64_t cookie;
    uint64_t addr;
    size_t len;
    size_t got;                  /* bytes arrived */
    struct shim_request *waiter; /* matched while still arriving */
    char data[];
};

/* Per tag context: receives posted and messages unexpected, in order. */
struct shm_ctxq {
    struct shim_request *posted_head;
    struct shim_request *posted_tail;
    struct shm_msg *unexp_head;
    struct shm_msg *unexp_tail;
};

/* What the receiver is filling from a peer's ring: the rest of a message
 * whose first cell came (into a matched receive or an unexpected copy). */
struct shm_rx {
    struct shim_request *req;
    struct shm_msg *msg;
    size_t len; /* the whole message */
    size_t got;
};

struct shm_txq {
    struct shim_shm_item *head;
    struct shim_shm_item *tail;
};

/* Segment budget: rings shrink (fewer cells) to stay under it. */
enum {
    SHM_CELL_DEFAULT = 16384,
    SHM_CELLS_MAX = 64,
    SHM_CELLS_MIN = 4,
    SHM_LOCAL_MAX = 1024,
};
/* Shared rendezvous copies (struct shm_help): the chunk each side claims
 * at a time, and the shortest message shared by default (README.md,
 * "Shared memory", measured). */
enum {
    SHM_SPLIT_CHUNK = 128 << 10,
    SHM_SPLIT_DEFAULT = 256 << 10,
    HELP_SLOTS = 4,
};

/* The receiver's side of a shared copy whose sender still writes. */
struct shm_help_wait {
    struct shim_request *req; /* NULL: the slot is free */
    size_t theirs;            /* bytes the sender claimed */
    size_t len;               /* the whole message */
    uint64_t cookie;          /* for the FIN */
};
static const size_t shm_budget = 64u << 20;

static struct {
    bool enabled; /* SHOAL_MPI_SHM is not 0 */
    bool active;  /* this node's segment is mapped */
    bool creator;
    struct shim_shm_file file; /* the creator's, until every rank has it */
    char name[64];             /* what peers open, for messages */
    int node;
    void *base;
    size_t bytes;
    struct shm_seg *seg;
    struct shm_slot *slots;
    struct shm_coll_slot *coll;      /* nlocal of them */
    struct shm_help *help;           /* nlocal * nlocal of them */
    uint32_t *help_job;              /* last job published per sender */
    struct shm_help_wait *help_wait; /* nlocal * HELP_SLOTS */
    int help_waiting;                /* entries of help_wait in use */
    int *rts_out;                    /* RTS messages awaiting FIN, per peer */
    int rts_busy;                    /* peers with RTS messages awaiting FIN */
    uint64_t coll_seq;               /* node collectives this rank entered */
    int nlocal;
    int me;
    int *local_world; /* local index -> world rank */
    int *local_of;    /* world rank -> local index, or -1 */
    bool all_local;
    struct shim_ring *tx; /* me -> j */
    struct shim_ring *rx; /* j -> me */
    struct shm_txq *txq;
    int txq_busy; /* peers whose send queue is not empty */
    struct shm_rx *rxs;
    struct shm_ctxq **ctxs;
    uint32_t ncells;
    uint32_t cell_size;
    size_t payload;
    size_t rndv;  /* messages above go by RTS when the receiver can read */
    size_t split; /* RTS messages from this long are copied by both sides */
    size_t split_chunk; /* in claims of this many bytes */
    bool cma;           /* cross-memory attach allowed by configuration */
    const struct shim_ofi_upcalls *up;
} shm;

/* Read by peers through process_vm_readv to tell whether it works. */
static volatile uint64_t probe_word = 0x73686f616c;

/* ---- configuration ------------------------------------------------------ */

/* SHOAL_MPI_SHM: "0" turns the transport off (libfabric carries all). */
static bool env_enabled(void)
{
    const char *v = getenv("SHOAL_MPI_SHM");
    return !(v && strcmp(v, "0") == 0);
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    char *end;

    if (!v || !*v)
        return dflt;
    unsigned long long n = strtoull(v, &end, 0);
    if (*end == 'k' || *end == 'K')
        n <<= 10;
    else if (*end == 'm' || *end == 'M')
        n <<= 20;
    return (size_t)n;
}

static uint32_t pow2_floor(uint64_t n)
{
    uint32_t p = 1;
    while ((uint64_t)p * 2 <= n && p < (1u << 30))
        p *= 2;
    return p;
}

bool shim_shm_reaches(int world_rank)
{
    return shm.active && shm.local_of[world_rank] >= 0;
}

bool shim_shm_reaches_all(void)
{
    return shm.active && shm.all_local;
}

size_t shim_shm_inject_max(void)
{
    return shm.active ? shm.payload : 0;
}

void shim_shm_set_upcalls(const struct shim_ofi_upcalls *up)
{
    shm.up = up;
}

/* ---- segment ------------------------------------------------------------ */

static size_t ring_bytes(void)
{
    return shim_ring_bytes(shm.ncells, shm.cell_size);
}

static size_t rings_offset(int nlocal)
{
    size_t off =
        sizeof(struct shm_seg) + (size_t)nlocal * sizeof(struct shm_slot);
    return (off + SHIM_RING_LINE - 1) & ~(size_t)(SHIM_RING_LINE - 1);
}

static void *ring_at(int from, int to)
{
    return (char *)shm.base + rings_offset(shm.nlocal)
           + ((size_t)from * (size_t)shm.nlocal + (size_t)to) * ring_bytes();
}

static size_t coll_offset(int nlocal)
{
    return rings_offset(nlocal)
           + (size_t)nlocal * (size_t)nlocal * ring_bytes();
}

static size_t help_offset(int nlocal)
{
    return coll_offset(nlocal) + (size_t)nlocal * sizeof(struct shm_coll_slot);
}

static struct shm_help *help_at(int from, int to, uint32_t job)
{
    return &shm.help[((size_t)from * (size_t)shm.nlocal + (size_t)to)
                         * HELP_SLOTS
                     + job % HELP_SLOTS];
}

static void warn(const char *what, int err)
{
    char msg[512];

    snprintf(msg, sizeof(msg),
             "shoal mpi: rank %d: warning: no shared memory for node %d: "
             "%s: %s; on-node messages go through libfabric\n",
             shim.rank, shm.node, what, strerror(err));
    ssize_t n = write(2, msg, strlen(msg));
    (void)n;
}

int shim_shm_file_make(struct shim_shm_file *f,
                       const char *name,
                       size_t bytes,
                       const char **what)
{
    int rc;

    f->fd = -1;
    f->path[0] = '\0';
    snprintf(f->name, sizeof(f->name), "%s", name);
    *what = "shm_open";
    f->fd = shm_open(f->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (f->fd < 0) {
        f->name[0] = '\0';
        return -errno;
    }
    rc = posix_fallocate(f->fd, 0, (off_t)bytes);
    if (rc) {
        *what = "allocating the segment";
        shim_shm_file_done(f);
        return -rc;
    }
    /* The name goes now if the descriptor's /proc path reopens the file:
     * a process killed from here on leaves nothing behind. */
    snprintf(f->path, sizeof(f->path), "/proc/%d/fd/%d", (int)getpid(), f->fd);
    int probe = open(f->path, O_RDWR | O_CLOEXEC);
    if (probe >= 0) {
        close(probe);
        shm_unlink(f->name);
        f->name[0] = '\0';
    } else {
        snprintf(f->path, sizeof(f->path), "%s", f->name);
    }
    return 0;
}

int shim_shm_file_open(const char *path)
{
    int fd = strncmp(path, "/proc/", 6) == 0 ? open(path, O_RDWR | O_CLOEXEC)
                                             : shm_open(path, O_RDWR, 0);
    return fd < 0 ? -errno : fd;
}

void shim_shm_file_done(struct shim_shm_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->name[0])
        shm_unlink(f->name);
    f->name[0] = '\0';
}

/* Makes and maps the segment; on failure nothing is left behind. */
static int segment_make(void)
{
    struct statvfs vfs;
    struct timespec ts;
    char name[64];
    const char *step;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof(name), "/shoal-mpi-%d-%lx", (int)getpid(),
             (unsigned long)ts.tv_nsec);
    /* tmpfs gives pages on first touch; a segment larger than what is
     * free would SIGBUS later, so it is checked here. */
    if (statvfs("/dev/shm", &vfs) == 0
        && (uint64_t)vfs.f_bavail * vfs.f_bsize < shm.bytes) {
        char what[160];
        snprintf(what, sizeof(what),
                 "/dev/shm has %llu bytes free, the segment needs %zu",
                 (unsigned long long)vfs.f_bavail * vfs.f_bsize, shm.bytes);
        warn(what, ENOSPC);
        return -ENOSPC;
    }
    rc = shim_shm_file_make(&shm.file, name, shm.bytes, &step);
    if (rc) {
        warn(step, -rc);
        return rc;
    }
    shm.base = mmap(NULL, shm.bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                    shm.file.fd, 0);
    rc = shm.base == MAP_FAILED ? -errno : 0;
    if (rc) {
        shm.base = NULL;
        warn("mmap", -rc);
        shim_shm_file_done(&shm.file);
        return rc;
    }
    snprintf(shm.name, sizeof(shm.name), "%s", shm.file.path);
    shm.seg = shm.base;
    shm.seg->nlocal = (uint32_t)shm.nlocal;
    shm.seg->ncells = shm.ncells;
    shm.seg->cell_size = shm.cell_size;
    for (int i = 0; i < shm.nlocal; i++)
        for (int j = 0; j < shm.nlocal; j++)
            shim_ring_format(ring_at(i, j));
    shm.seg->magic = SHM_MAGIC;
    return 0;
}

int shim_shm_create(int node, const int *local, int nlocal)
{
    char key[64];

    shm.enabled = env_enabled();
    shm.node = node;
    shm.file.fd = -1;
    if (!shm.enabled)
        return 0;
    shm.nlocal = nlocal;
    shm.local_world = malloc(sizeof(int) * (size_t)nlocal);
    shm.local_of = malloc(sizeof(int) * (size_t)shim.size);
    if (!shm.local_world || !shm.local_of)
        return -ENOMEM;
    for (int r = 0; r < shim.size; r++)
        shm.local_of[r] = -1;
    for (int i = 0; i < nlocal; i++) {
        shm.local_world[i] = local[i];
        shm.local_of[local[i]] = i;
        if (local[i] == shim.rank)
            shm.me = i;
    }
    shm.all_local = nlocal == shim.size;
    shm.cell_size = (uint32_t)env_size("SHOAL_MPI_SHM_CELL", SHM_CELL_DEFAULT);
    if (shm.cell_size < 1024 || shm.cell_size % SHIM_RING_LINE)
        shm.cell_size = SHM_CELL_DEFAULT;
    size_t per_ring =
        shm_budget / ((size_t)nlocal * (size_t)nlocal * shm.cell_size);
    uint64_t cells = env_size("SHOAL_MPI_SHM_CELLS", per_ring);
    if (cells > SHM_CELLS_MAX && !getenv("SHOAL_MPI_SHM_CELLS"))
        cells = SHM_CELLS_MAX;
    if (cells < SHM_CELLS_MIN)
        cells = SHM_CELLS_MIN;
    shm.ncells = pow2_floor(cells);
    shm.payload = shm.cell_size - CELL_HDR;
    shm.bytes = help_offset(nlocal)
                + (size_t)nlocal * (size_t)nlocal * HELP_SLOTS
                      * sizeof(struct shm_help);
    if (shm.me != 0)
        return 0;
    shm.creator = true;
    const char *val = shm.name;
    if (nlocal > SHM_LOCAL_MAX) {
        warn("too many ranks on the node", E2BIG);
        val = "-";
    } else if (segment_make() != 0) {
        val = "-";
    }
    /* Keys name their owner rank first (the PMIx client relies on it). */
    snprintf(key, sizeof(key), "shoal-shm-%d", shm.local_world[0]);
    return shim_pmi_put(key, val);
}

int shim_shm_attach(char *errbuf, size_t errlen)
{
    char key[64];
    char val[64];
    int rc;

    if (!shm.enabled)
        return 0;
    snprintf(key, sizeof(key), "shoal-shm-%d", shm.local_world[0]);
    rc = shim_pmi_get(key, val, sizeof(val));
    if (rc) {
        snprintf(errbuf, errlen, "no shared memory segment name for node %d",
                 shm.node);
        return rc;
    }
    if (strcmp(val, "-") == 0)
        return 0; /* the node falls back to libfabric */
    if (!shm.creator) {
        snprintf(shm.name, sizeof(shm.name), "%s", val);
        int fd = shim_shm_file_open(shm.name);
        if (fd < 0) {
            rc = fd;
            snprintf(errbuf, errlen,
                     "cannot open shared memory '%s' (the node's first "
                     "rank's): %s; SHOAL_MPI_SHM=0 sends through "
                     "libfabric instead",
                     shm.name, strerror(-rc));
            return rc;
        }
        shm.base =
            mmap(NULL, shm.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        rc = shm.base == MAP_FAILED ? -errno : 0;
        close(fd);
        if (rc) {
            shm.base = NULL;
            snprintf(errbuf, errlen, "cannot map shared memory '%s': %s",
                     shm.name, strerror(-rc));
            return rc;
        }
        shm.seg = shm.base;
        if (shm.seg->magic != SHM_MAGIC
            || shm.seg->nlocal != (uint32_t)shm.nlocal
            || shm.seg->ncells != shm.ncells
            || shm.seg->cell_size != shm.cell_size) {
            snprintf(errbuf, errlen,
                     "shared memory '%s' has another layout (ranks set "
                     "SHOAL_MPI_SHM_CELL or SHOAL_MPI_SHM_CELLS differently)",
                     shm.name);
            return -EINVAL;
        }
    }
    /* Under Yama's ptrace_scope 1 only an allowed process may read this
     * one's memory; the node's ranks are (scope 2 and 3 refuse anyway). */
    (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    shm.slots = (struct shm_slot *)((char *)shm.base + sizeof(struct shm_seg));
    shm.coll =
        (struct shm_coll_slot *)((char *)shm.base + coll_offset(shm.nlocal));
    atomic_store(&shm.slots[shm.me].pid, (int32_t)getpid());
    shm.slots[shm.me].probe_addr = (uint64_t)(uintptr_t)&probe_word;
    shm.tx = calloc((size_t)shm.nlocal, sizeof(*shm.tx));
    shm.rx = calloc((size_t)shm.nlocal, sizeof(*shm.rx));
    shm.txq = calloc((size_t)shm.nlocal, sizeof(*shm.txq));
    shm.rxs = calloc((size_t)shm.nlocal, sizeof(*shm.rxs));
    shm.ctxs = calloc(2 * SHIM_NCTX, sizeof(*shm.ctxs));
    shm.help = (struct shm_help *)((char *)shm.base + help_offset(shm.nlocal));
    shm.help_job = calloc((size_t)shm.nlocal, sizeof(*shm.help_job));
    shm.rts_out = calloc((size_t)shm.nlocal, sizeof(*shm.rts_out));
    shm.help_wait =
        calloc((size_t)shm.nlocal * HELP_SLOTS, sizeof(*shm.help_wait));
    if (!shm.tx || !shm.rx || !shm.txq || !shm.rxs || !shm.ctxs || !shm.help_job
        || !shm.rts_out || !shm.help_wait) {
        snprintf(errbuf, errlen, "out of memory");
        return -ENOMEM;
    }
    for (int j = 0; j < shm.nlocal; j++) {
        shim_ring_attach(&shm.tx[j], ring_at(shm.me, j), shm.ncells,
                         shm.cell_size);
        shim_ring_attach(&shm.rx[j], ring_at(j, shm.me), shm.ncells,
                         shm.cell_size);
    }
    /* The measured switch point (README.md, "Shared memory"). */
    shm.rndv = env_size("SHOAL_MPI_SHM_RNDV", 65536);
    shm.split = env_size("SHOAL_MPI_SHM_SPLIT", SHM_SPLIT_DEFAULT);
    shm.split_chunk = env_size("SHOAL_MPI_SHM_SPLIT_CHUNK", SHM_SPLIT_CHUNK);
    if (shm.split_chunk < 4096)
        shm.split_chunk = SHM_SPLIT_CHUNK;
    const char *cma = getenv("SHOAL_MPI_SHM_CMA");
    shm.cma = !(cma && strcmp(cma, "0") == 0);
    shm.active = true;
    return 0;
}

/* Whether process_vm_readv can read every local peer: not when the
 * kernel lacks it (ENOSYS), a seccomp filter or ptrace restrictions
 * (Yama's ptrace_scope, EPERM) forbid it. */
static bool cma_probe(void)
{
    for (int j = 0; j < shm.nlocal; j++) {
        uint64_t v = 0;
        struct iovec l = {.iov_base = &v, .iov_len = sizeof(v)};
        struct iovec r = {
            .iov_base = (void *)(uintptr_t)shm.slots[j].probe_addr,
            .iov_len = sizeof(v),
        };
        pid_t pid = (pid_t)atomic_load(&shm.slots[j].pid);
        if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(v)
            || v != probe_word)
            return false;
    }
    return true;
}

void shim_shm_finish(void)
{
    if (!shm.active)
        return;
    if (shm.creator)
        shim_shm_file_done(&shm.file);
    if (shm.cma)
        atomic_store(&shm.slots[shm.me].cma_ok, cma_probe());
}

void shim_shm_close(void)
{
    if (shm.base)
        munmap(shm.base, shm.bytes);
    if (shm.creator)
        shim_shm_file_done(&shm.file);
    if (shm.ctxs) {
        for (int i = 0; i < 2 * SHIM_NCTX; i++) {
            struct shm_ctxq *q = shm.ctxs[i];
            if (!q)
                continue;
            while (q->unexp_head) {
                struct shm_msg *m = q->unexp_head;
                q->unexp_head = m->next;
                free(m);
            }
            free(q);
        }
    }
    free(shm.ctxs);
    free(shm.tx);
    free(shm.rx);
    free(shm.txq);
    free(shm.rxs);
    free(shm.help_job);
    free(shm.rts_out);
    free(shm.help_wait);
    free(shm.local_world);
    free(shm.local_of);
    memset(&shm, 0, sizeof(shm));
}

/* ---- sending ------------------------------------------------------------ */

static void send_event(struct shim_request *req)
{
    if (--req->shm.need == 0)
        shm.up->req_done(req, shm.up->arg);
}

/* Pushes as much of peer j's send queue as its ring takes. */
static int tx_flush(int j)
{
    struct shm_txq *q = &shm.txq[j];
    int pushed = 0;

    while (q->head) {
        struct shim_shm_item *it = q->head;
        struct shm_cell *c = shim_ring_reserve(&shm.tx[j]);
        if (!c)
            break;
        size_t n = 0;
        if (!it->started) {
            c->kind = it->kind;
            c->ctx = it->ctx;
            c->src = it->src;
            c->tag = it->tag;
            c->len = it->len;
            c->cookie = it->cookie;
            c->addr = (uint64_t)(uintptr_t)it->buf;
            c->sync = it->sync;
            it->started = true;
            if (it->kind == CELL_EAGER)
                n = it->len < shm.payload ? it->len : shm.payload;
        } else {
            c->kind = CELL_DATA;
            n = it->len - it->off < shm.payload ? it->len - it->off
                                                : shm.payload;
        }
        c->chunk = (uint32_t)n;
        if (n)
            memcpy((char *)c + CELL_HDR, it->buf + it->off, n);
        it->off += n;
        shim_ring_push(&shm.tx[j]);
        pushed++;
        if (it->kind == CELL_EAGER && it->off < it->len)
            continue;
        q->head = it->next;
        if (!q->head) {
            q->tail = NULL;
            shm.txq_busy--;
        }
        if (it->req)
            send_event(it->req);
        else
            free(it);
    }
    return pushed;
}

static void tx_enqueue(int j, struct shim_shm_item *it)
{
    it->next = NULL;
    it->started = false;
    it->off = 0;
    if (shm.txq[j].tail) {
        shm.txq[j].tail->next = it;
    } else {
        shm.txq[j].head = it;
        shm.txq_busy++;
    }
    shm.txq[j].tail = it;
    if (shm.txq[j].head == it)
        tx_flush(j);
}

/* Sends a control cell (FIN, ACK) to peer j: straight into the ring when
 * nothing is queued before it and there is room, else queued. */
static void tx_control(int j, uint32_t kind, uint64_t cookie)
{
    if (!shm.txq[j].head) {
        struct shm_cell *c = shim_ring_reserve(&shm.tx[j]);
        if (c) {
            c->kind = kind;
            c->cookie = cookie;
            c->len = 0;
            c->chunk = 0;
            shim_ring_push(&shm.tx[j]);
            return;
        }
    }
    struct shim_shm_item *it = calloc(1, sizeof(*it));

    if (!it)
        SHOAL_MPI_OOM();
    it->kind = kind;
    it->cookie = cookie;
    tx_enqueue(j, it);
}

int shim_shm_send(struct shim_request *req,
                  const void *buf,
                  size_t len,
                  int wdest,
                  unsigned ctx,
                  int src,
                  int tag,
                  bool sync)
{
    int j = shm.local_of[wdest];
    struct shim_shm_item *it = &req->shm.item;
    bool rts = len > shm.rndv && shm.cma
               && (j == shm.me || atomic_load(&shm.slots[j].cma_ok));

    memset(it, 0, sizeof(*it));
    it->req = req;
    it->buf = buf;
    it->len = len;
    it->kind = rts ? CELL_RTS : CELL_EAGER;
    it->ctx = ctx;
    it->src = src;
    it->tag = tag;
    it->sync = sync;
    it->cookie = (uint64_t)(uintptr_t)req;
    /* Done once pushed and, for RTS, read (FIN); a synchronous eager
     * message also waits for its ACK. */
    req->shm.need = rts || sync ? 2 : 1;
    if (rts && j != shm.me && shm.rts_out[j]++ == 0)
        shm.rts_busy++;
    tx_enqueue(j, it);
    shim_sde_sent(rts ? SHIM_SDE_SHM_CMA : SHIM_SDE_SHM_EAGER, len);
    return 0;
}

int shim_shm_inject(
    const void *buf, size_t len, int wdest, unsigned ctx, int src, int tag)
{
    int j = shm.local_of[wdest];

    shim_sde_sent(SHIM_SDE_SHM_EAGER, len);
    if (!shm.txq[j].head) {
        struct shm_cell *c = shim_ring_reserve(&shm.tx[j]);
        if (c) {
            c->kind = CELL_EAGER;
            c->ctx = ctx;
            c->src = src;
            c->tag = tag;
            c->len = len;
            c->sync = 0;
            c->chunk = (uint32_t)len;
            if (len)
                memcpy((char *)c + CELL_HDR, buf, len);
            shim_ring_push(&shm.tx[j]);
            return 0;
        }
    }
    struct shim_shm_item *it = malloc(sizeof(*it) + len);
    if (!it)
        return -ENOMEM;
    memset(it, 0, sizeof(*it));
    memcpy(it + 1, buf, len);
    it->buf = (const char *)(it + 1);
    it->len = len;
    it->kind = CELL_EAGER;
    it->ctx = ctx;
    it->src = src;
    it->tag = tag;
    tx_enqueue(j, it);
    return 0;
}

/* ---- matching ----------------------------------------------------------- */

static struct shm_ctxq *ctxq(unsigned ctx)
{
    struct shm_ctxq *q = shm.ctxs[ctx];

    if (!q) {
        q = calloc(1, sizeof(*q));
        if (!q)
            SHOAL_MPI_OOM();
        shm.ctxs[ctx] = q;
    }
    return q;
}

static bool fits(int want_src, int want_tag, int src, int tag)
{
    return (want_src == MPI_ANY_SOURCE || want_src == src)
           && (want_tag == MPI_ANY_TAG || want_tag == tag);
}

static void posted_unlink(struct shim_request *req)
{
    struct shm_ctxq *q = shm.ctxs[req->shm.ctx];

    if (req->shm.prev)
        req->shm.prev->shm.next = req->shm.next;
    else
        q->posted_head = req->shm.next;
    if (req->shm.next)
        req->shm.next->shm.prev = req->shm.prev;
    else
        q->posted_tail = req->shm.prev;
    req->shm.next = req->shm.prev = NULL;
    req->shm.posted = false;
}

static void unexp_unlink(struct shm_ctxq *q, struct shm_msg *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        q->unexp_head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        q->unexp_tail = m->prev;
    m->next = m->prev = NULL;
}

/* The oldest posted receive of ctx that takes (src, tag). A receive also
 * posted to libfabric is first withdrawn from there: if libfabric matched
 * it meanwhile, it has left this queue (shim_shm_unpost() from its
 * completion) and the search goes on with the next one. */
/* Cancels the libfabric twin of r and waits for the outcome: true when it
 * was withdrawn, false when libfabric matched it first (then its
 * completion has taken r off the posted queue). */
static bool withdraw(struct shim_request *r)
{
    r->shm.withdrawn = true;
    (void)shim_ofi_cancel(r);
    while (r->pending > 0)
        shim_ofi_progress();
    r->shm.withdrawn = false;
    if (!r->shm.posted)
        return false;
    r->shm.partner = false;
    return true;
}

static struct shim_request *posted_take(unsigned ctx, int src, int tag)
{
    struct shm_ctxq *q = shm.ctxs[ctx];

    if (!q)
        return NULL;
again:
    for (struct shim_request *r = q->posted_head; r; r = r->shm.next) {
        if (r->shm.arming || !fits(r->shm.src, r->shm.tag, src, tag))
            continue;
        if (r->shm.partner && !withdraw(r))
            goto again;
        posted_unlink(r);
        return r;
    }
    return NULL;
}

static void recv_finish(struct shim_request *req, size_t len)
{
    req->count_bytes = len < req->shm.cap ? len : req->shm.cap;
    if (len > req->shm.cap)
        req->error = MPI_ERR_TRUNCATE;
    shm.up->req_done(req, shm.up->arg);
}

/* Copies len bytes between buf here and remote address addr of local peer
 * j (another process): reads them into buf, or with out writes buf there. */
static void cma_copy(int j, uint64_t addr, void *buf, size_t len, bool out)
{
    pid_t pid = (pid_t)atomic_load(&shm.slots[j].pid);
    size_t done = 0;
    while (done < len) {
        struct iovec l = {.iov_base = (char *)buf + done,
                          .iov_len = len - done};
        struct iovec r = {.iov_base = (void *)(uintptr_t)(addr + done),
                          .iov_len = len - done};
        ssize_t n = out ? process_vm_writev(pid, &l, 1, &r, 1, 0)
                        : process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            char what[160];
            snprintf(what, sizeof(what),
                     "cannot %s a message %s rank %d's memory: %s",
                     out ? "write" : "read", out ? "into" : "from",
                     shm.local_world[j], strerror(n < 0 ? errno : EIO));
            shim_fatal(what);
        }
        done += (size_t)n;
    }
}

static size_t help_chunks(size_t len, size_t chunk)
{
    return chunk ? (len + chunk - 1) / chunk : 0;
}

static size_t help_chunk_len(size_t len, size_t chunk, uint64_t k)
{
    size_t off = (size_t)k * chunk;
    return len - off < chunk ? len - off : chunk;
}

/* The receiver waits for the chunks its sender claimed: the sender is
 * inside process_vm_writev for each, so they finish without any further
 * MPI call of its; a sender that died in between is fatal. */
static void help_wait(int j, struct shm_help *h, size_t theirs)
{
    unsigned spins = 0;

    while (atomic_load_explicit(&h->done, memory_order_acquire) < theirs) {
        if (++spins % 4096)
            continue;
        pid_t pid = (pid_t)atomic_load(&shm.slots[j].pid);
        if (kill(pid, 0) != 0 && errno == ESRCH) {
            char what[160];
            snprintf(what, sizeof(what),
                     "rank %d died while writing a message into this one",
                     shm.local_world[j]);
            shim_fatal(what);
        }
        sched_yield();
    }
}

/* The receive of a read message is complete: FIN to its sender. */
static void
rndv_done(int j, struct shim_request *req, size_t len, uint64_t cookie)
{
    tx_control(j, CELL_FIN, cookie);
    recv_finish(req, len);
}

/* Finishes the receive waiting on slot k of sender j once the sender's
 * chunks are in (or at once with block). Returns whether it finished. */
static bool help_finish(int j, uint32_t k, bool block)
{
    struct shm_help_wait *w = &shm.help_wait[(size_t)j * HELP_SLOTS + k];
    struct shm_help *h = help_at(j, shm.me, k);

    if (!w->req)
        return false;
    if (block)
        help_wait(j, h, w->theirs);
    else if (atomic_load_explicit(&h->done, memory_order_acquire) < w->theirs)
        return false;
    struct shim_request *req = w->req;
    w->req = NULL;
    shm.help_waiting--;
    rndv_done(j, req, w->len, w->cookie);
    return true;
}

/* Reads the message of RTS (addr, len bytes, cookie) from local peer j
 * into req (n bytes of it fit) and completes req, now or once the sender
 * has written its share. A long message from another process is shared
 * with the sender (struct shm_help): with both ranks on cores of their
 * own, two cores copy; when the sender is busy elsewhere the receiver
 * claims every chunk itself. */
static void rndv_recv(int j,
                      struct shim_request *req,
                      uint64_t addr,
                      size_t n,
                      size_t len,
                      uint64_t cookie)
{
    char *buf = req->shm.buf;

    if (j == shm.me) {
        if (n)
            memcpy(buf, (const void *)(uintptr_t)addr, n);
        rndv_done(j, req, len, cookie);
        return;
    }
    if (!shm.split || n < shm.split || !atomic_load(&shm.slots[j].cma_ok)) {
        if (n)
            cma_copy(j, addr, buf, n, false);
        rndv_done(j, req, len, cookie);
        return;
    }
    uint32_t job = ++shm.help_job[j];
    uint32_t slot = job % HELP_SLOTS;
    struct shm_help *h = help_at(j, shm.me, job);
    size_t chunk = shm.split_chunk;
    uint64_t nch = help_chunks(n, chunk);
    size_t mine = 0;

    (void)help_finish(j, slot, true); /* the slot's previous job */
    atomic_store_explicit(&h->dst, (uint64_t)(uintptr_t)buf,
                          memory_order_relaxed);
    atomic_store_explicit(&h->src, addr, memory_order_relaxed);
    atomic_store_explicit(&h->len, n, memory_order_relaxed);
    atomic_store_explicit(&h->chunk, chunk, memory_order_relaxed);
    atomic_store_explicit(&h->done, 0, memory_order_relaxed);
    atomic_store_explicit(&h->claim, (uint64_t)job << 32, memory_order_release);
    for (;;) {
        uint64_t k = atomic_fetch_add(&h->claim, 1) & 0xffffffffu;
        if (k >= nch)
            break;
        size_t c = help_chunk_len(n, chunk, k);
        cma_copy(j, addr + k * chunk, buf + k * chunk, c, false);
        mine += c;
    }
    struct shm_help_wait *w = &shm.help_wait[(size_t)j * HELP_SLOTS + slot];
    w->req = req;
    w->theirs = n - mine;
    w->len = len;
    w->cookie = cookie;
    shm.help_waiting++;
    (void)help_finish(j, slot, false);
}

/* The sender's part: while messages to peer j await their FIN, it claims
 * chunks of the job j published (if any is open) and writes them. */
static int help_peer_slot(int j, uint32_t slot)
{
    struct shm_help *h = help_at(shm.me, j, slot);
    uint64_t c = atomic_load_explicit(&h->claim, memory_order_acquire);
    int copied = 0;

    for (;;) {
        size_t len = atomic_load_explicit(&h->len, memory_order_relaxed);
        uint64_t k = c & 0xffffffffu;
        size_t chunk = atomic_load_explicit(&h->chunk, memory_order_relaxed);
        if (k >= help_chunks(len, chunk))
            break;
        uint64_t dst = atomic_load_explicit(&h->dst, memory_order_relaxed);
        uint64_t src = atomic_load_explicit(&h->src, memory_order_relaxed);
        /* Claimed only if the job is still the one read: a job the
         * receiver finished (and perhaps replaced) has no chunk left. */
        if (!atomic_compare_exchange_weak_explicit(&h->claim, &c, c + 1,
                                                   memory_order_acquire,
                                                   memory_order_acquire))
            continue;
        size_t n = help_chunk_len(len, chunk, k);
        cma_copy(j, dst + k * chunk, (void *)(uintptr_t)(src + k * chunk), n,
                 true);
        atomic_fetch_add_explicit(&h->done, n, memory_order_release);
        copied++;
        c = atomic_load_explicit(&h->claim, memory_order_acquire);
    }
    return copied;
}

static int help_peer(int j)
{
    int copied = 0;

    for (uint32_t k = 0; k < HELP_SLOTS; k++)
        copied += help_peer_slot(j, k);
    return copied;
}

/* Finishes the receives whose senders have written their share. */
static int help_poll(void)
{
    int seen = 0;

    for (int j = 0; j < shm.nlocal && shm.help_waiting; j++)
        for (uint32_t k = 0; k < HELP_SLOTS; k++)
            seen += help_finish(j, k, false);
    return seen;
}

static void set_source(struct shim_request *req, int src, int tag)
{
    req->source = src;
    req->tag = tag;
}

/* Delivers an unexpected message (off its queue) to req. */
static void deliver(struct shim_request *req, struct shm_msg *m)
{
    set_source(req, m->src, m->tag);
    if (m->kind == CELL_RTS) {
        size_t n = m->len < req->shm.cap ? m->len : req->shm.cap;
        int peer = m->peer;
        uint64_t addr = m->addr, cookie = m->cookie;
        size_t len = m->len;
        free(m);
        rndv_recv(peer, req, addr, n, len, cookie);
        return;
    }
    if (m->sync)
        tx_control(m->peer, CELL_ACK, m->cookie);
    if (m->got < m->len) {
        m->waiter = req; /* finished by the last cell */
        return;
    }
    size_t n = m->len < req->shm.cap ? m->len : req->shm.cap;
    if (n)
        memcpy(req->shm.buf, m->data, n);
    size_t len = m->len;
    free(m);
    recv_finish(req, len);
}

static void rx_copy(struct shm_rx *rx, const char *p, size_t n)
{
    if (rx->req) {
        struct shim_request *req = rx->req;
        if (rx->got < req->shm.cap) {
            size_t room = req->shm.cap - rx->got;
            if (n)
                memcpy(req->shm.buf + rx->got, p, n < room ? n : room);
        }
    } else if (n) {
        memcpy(rx->msg->data + rx->got, p, n);
        rx->msg->got += n;
    }
    rx->got += n;
    if (rx->got < rx->len)
        return;
    if (rx->req) {
        recv_finish(rx->req, rx->len);
    } else if (rx->msg->waiter) {
        struct shim_request *w = rx->msg->waiter;
        size_t n2 = rx->len < w->shm.cap ? rx->len : w->shm.cap;
        if (n2)
            memcpy(w->shm.buf, rx->msg->data, n2);
        free(rx->msg);
        recv_finish(w, rx->len);
    }
    rx->req = NULL;
    rx->msg = NULL;
}

/* A new message from peer j: to its receive, or to the unexpected queue. */
static void rx_message(int j, const struct shm_cell *c)
{
    struct shim_request *req = posted_take(c->ctx, c->src, c->tag);
    struct shm_rx *rx = &shm.rxs[j];

    shim_sde_recv(c->kind == CELL_RTS ? SHIM_SDE_SHM_CMA : SHIM_SDE_SHM_EAGER,
                  c->len);
    if (req) {
        set_source(req, c->src, c->tag);
        if (c->kind == CELL_RTS) {
            size_t n = c->len < req->shm.cap ? c->len : req->shm.cap;
            rndv_recv(j, req, c->addr, n, c->len, c->cookie);
            return;
        }
        if (c->sync)
            tx_control(j, CELL_ACK, c->cookie);
        rx->req = req;
        rx->msg = NULL;
    } else {
        size_t keep = c->kind == CELL_RTS ? 0 : c->len;
        struct shm_msg *m = malloc(sizeof(*m) + keep);
        if (!m)
            SHOAL_MPI_OOM();
        shim_sde.unexpected++;
        memset(m, 0, sizeof(*m));
        m->ctx = c->ctx;
        m->src = c->src;
        m->tag = c->tag;
        m->peer = j;
        m->kind = c->kind;
        m->sync = c->sync;
        m->cookie = c->cookie;
        m->addr = c->addr;
        m->len = c->len;
        struct shm_ctxq *q = ctxq(c->ctx);
        m->prev = q->unexp_tail;
        if (q->unexp_tail)
            q->unexp_tail->next = m;
        else
            q->unexp_head = m;
        q->unexp_tail = m;
        if (c->kind == CELL_RTS)
            return;
        rx->req = NULL;
        rx->msg = m;
    }
    rx->len = c->len;
    rx->got = 0;
    if (c->len == 0) {
        rx_copy(rx, NULL, 0);
        return;
    }
    rx_copy(rx, (const char *)c + CELL_HDR, c->chunk);
}

static void rx_cell(int j, const struct shm_cell *c)
{
    switch (c->kind) {
    case CELL_EAGER:
    case CELL_RTS:
        rx_message(j, c);
        break;
    case CELL_DATA:
        rx_copy(&shm.rxs[j], (const char *)c + CELL_HDR, c->chunk);
        break;
    case CELL_FIN:
        if (j != shm.me && --shm.rts_out[j] == 0)
            shm.rts_busy--;
        send_event((struct shim_request *)(uintptr_t)c->cookie);
        break;
    case CELL_ACK:
        send_event((struct shim_request *)(uintptr_t)c->cookie);
        break;
    default:
        shim_fatal("unknown shared-memory cell kind");
    }
}

int shim_shm_progress(void)
{
    int seen = 0;

    if (!shm.active)
        return 0;
    for (int j = 0; j < shm.nlocal; j++) {
        struct shim_ring *ring = &shm.rx[j];
        /* A bounded batch per peer, so no peer starves the others. */
        for (uint32_t k = 0; k < ring->ncells; k++) {
            const struct shm_cell *c = shim_ring_peek(ring);
            if (!c)
                break;
            rx_cell(j, c);
            shim_ring_pop(ring);
            seen++;
        }
    }
    if (shm.txq_busy)
        for (int j = 0; j < shm.nlocal; j++)
            if (shm.txq[j].head)
                seen += tx_flush(j);
    if (shm.help_waiting)
        seen += help_poll();
    if (shm.rts_busy && shm.split)
        for (int j = 0; j < shm.nlocal; j++)
            if (shm.rts_out[j])
                seen += help_peer(j);
    return seen;
}

int shim_shm_recv(struct shim_request *req,
                  void *buf,
                  size_t cap,
                  unsigned ctx,
                  int src,
                  int tag)
{
    struct shm_ctxq *q = ctxq(ctx);

    req->shm.buf = buf;
    req->shm.cap = cap;
    req->shm.ctx = ctx;
    req->shm.src = src;
    req->shm.tag = tag;
    for (struct shm_msg *m = q->unexp_head; m; m = m->next) {
        if (!fits(src, tag, m->src, m->tag))
            continue;
        unexp_unlink(q, m);
        deliver(req, m);
        return 1;
    }
    req->shm.posted = true;
    req->shm.next = NULL;
    req->shm.prev = q->posted_tail;
    if (q->posted_tail)
        q->posted_tail->shm.next = req;
    else
        q->posted_head = req;
    q->posted_tail = req;
    return 0;
}

void shim_shm_partner_posted(struct shim_request *req)
{
    struct shm_ctxq *q = shm.ctxs[req->shm.ctx];

    req->shm.arming = false;
    for (struct shm_msg *m = q->unexp_head; m; m = m->next) {
        if (!fits(req->shm.src, req->shm.tag, m->src, m->tag))
            continue;
        if (!withdraw(req))
            return;
        posted_unlink(req);
        unexp_unlink(q, m);
        deliver(req, m);
        return;
    }
}

int shim_shm_probe(
    struct shim_request *req, unsigned ctx, int src, int tag, bool claim)
{
    struct shm_ctxq *q = shm.ctxs[ctx];

    if (!q)
        return 0;
    for (struct shm_msg *m = q->unexp_head; m; m = m->next) {
        if (!fits(src, tag, m->src, m->tag))
            continue;
        set_source(req, m->src, m->tag);
        req->count_bytes = m->len;
        if (claim) {
            unexp_unlink(q, m);
            req->shm.msg = m;
        }
        return 1;
    }
    return 0;
}

void shim_shm_mrecv(struct shim_request *req, void *buf, size_t cap)
{
    struct shm_msg *m = req->shm.msg;

    req->shm.msg = NULL;
    req->shm.buf = buf;
    req->shm.cap = cap;
    deliver(req, m);
}

bool shim_shm_cancel(struct shim_request *req)
{
    if (!req->shm.posted)
        return false;
    posted_unlink(req);
    if (!req->shm.partner) {
        req->cancelled = true;
        shm.up->req_done(req, shm.up->arg);
    }
    return true;
}

void shim_shm_unpost(struct shim_request *req)
{
    if (req->shm.posted)
        posted_unlink(req);
    req->shm.partner = false;
}

/* ---- node collectives --------------------------------------------------- */

size_t shim_shm_coll_max(void)
{
    return shm.active ? COLL_BYTES : 0;
}

int shim_shm_nlocal(void)
{
    return shm.active ? shm.nlocal : 0;
}

int shim_shm_local_index(int world_rank)
{
    return shm.active ? shm.local_of[world_rank] : -1;
}

static char *coll_buf(struct shm_coll_slot *slot, uint64_t seq, size_t n)
{
    return n <= COLL_INLINE ? slot->small[seq & 1] : slot->data[seq & 1];
}

uint64_t shim_shm_coll_post(const void *buf, size_t n)
{
    struct shm_coll_slot *slot = &shm.coll[shm.me];
    uint64_t seq = ++shm.coll_seq;

    if (n)
        memcpy(coll_buf(slot, seq, n), buf, n);
    atomic_store_explicit(&slot->seq, seq, memory_order_release);
    return seq;
}

const void *shim_shm_coll_peer(int i, uint64_t seq, size_t n)
{
    struct shm_coll_slot *slot = &shm.coll[i];

    if (atomic_load_explicit(&slot->seq, memory_order_acquire) < seq)
        return NULL;
    return coll_buf(slot, seq, n);
}

void shim_shm_coll_publish(uint64_t seq, const void *buf, size_t n)
{
    struct shm_coll_slot *slot = &shm.coll[shm.me];

    if (n)
        memcpy(n <= COLL_INLINE ? slot->rsmall : slot->result, buf, n);
    atomic_store_explicit(&slot->rseq, seq, memory_order_release);
}

const void *shim_shm_coll_result(int leader, uint64_t seq, size_t n)
{
    struct shm_coll_slot *slot = &shm.coll[leader];

    if (atomic_load_explicit(&slot->rseq, memory_order_acquire) < seq)
        return NULL;
    return n <= COLL_INLINE ? slot->rsmall : slot->result;
}
