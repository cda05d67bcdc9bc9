/* SPDX-License-Identifier: MIT */
/* win.c - window objects and their synchronization.
 *
 * Creation is collective: the user's communicator is duplicated twice
 * (one for the window's own collectives, one whose collective context
 * carries the active messages, see rma_private.h), every rank learns each
 * other's window size and displacement unit (so an origin checks ranges
 * itself), and the target side starts listening. MPI_Win_allocate_shared
 * maps one POSIX shared-memory segment on the node, each rank's part
 * after the previous rank's (the standard's default, contiguous layout),
 * so ranks load and store each other's parts directly; its communicator
 * must lie within one node (MPI_ERR_RMA_SHARED otherwise).
 *
 * Synchronization, all built on the counters and acknowledgements of the
 * active-message protocol:
 *   fence         wait for the replies this rank awaits, sum over the
 *                 group the messages each rank was sent (cumulative
 *                 counts, MPI_Reduce_scatter_block), wait until this rank
 *                 applied as many, then a barrier so no operation of the
 *                 next epoch reaches a target still finishing the last
 *   post/start    POST messages from each target to its access group;
 *                 start waits for them (both skipped under
 *                 MPI_MODE_NOCHECK, which the standard requires on both)
 *   complete/wait COMPLETE, sent after the epoch's operations on the same
 *                 ordered channel, so a target that counted every COMPLETE
 *                 has applied every operation
 *   lock/unlock   a lock request queued at the target and granted in
 *                 arrival order; unlock releases and is acknowledged once
 *                 everything before it is applied (remote completion)
 *   flush         an acknowledged FLUSH, skipped for targets sent nothing
 *                 since the last; flush_local waits only for the replies
 *                 (puts and accumulates are locally complete at once)
 * The window's memory model is MPI_WIN_UNIFIED: the target applies
 * operations to the very memory the application uses. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mpi-shim/rma_private.h"

static struct shim_table wintab;
static unsigned shm_seq;
static int win_model = MPI_WIN_UNIFIED;

int shim_win_check(MPI_Win win, struct shim_win **out)
{
    *out = shim_table_lookup(&wintab, win, SHIM_KIND_WIN);
    return *out ? 0 : SHIM_ECLASS(MPI_ERR_WIN);
}

int shim_win_err(struct shim_win *w, const char *fn, int code)
{
    if (!w)
        return shim_err(NULL, fn, code);
    return shim_err_handler(w->errhandler, w->handle, fn, code);
}

bool shim_win_may_access(struct shim_win *w, int target)
{
    if (w->fence_epoch || w->lock_all || w->locked[target])
        return true;
    for (int i = 0; i < w->nstart; i++)
        if (w->start_ranks[i] == target)
            return true;
    return false;
}

/* Waits for the replies this rank awaits from target (every rank when
 * target < 0) and for its fi_write and fi_read there: once they are done,
 * every put, get and fetch it issued there is complete at both ends but
 * for the active messages not yet acknowledged. */
static void win_wait_replies(struct shim_win *w, int target)
{
    int idle = 0;

    if (target < 0)
        while (w->outstanding > 0 || w->ofi_pending > 0)
            shim_progress_wait(&idle);
    else
        while (w->out_to[target] > 0 || (w->ofi_to && w->ofi_to[target] > 0))
            shim_progress_wait(&idle);
}

static void win_destroy(struct shim_win *w)
{
    if (!w)
        return;
    if (w->handle)
        shim_table_remove(&wintab, w->handle);
    if (w->comm_h != MPI_COMM_NULL && w->comm_h != 0)
        PMPI_Comm_free(&w->comm_h);
    if (w->am_h != MPI_COMM_NULL && w->am_h != 0)
        PMPI_Comm_free(&w->am_h);
    shim_ofi_mr_close(w->mr);
    free(w->ofi);
    free(w->ofi_to);
    if (w->own_mem)
        free(w->base);
    if (w->shm_seg)
        munmap(w->shm_seg, w->shm_len ? w->shm_len : 1);
    free(w->shm_off);
    free(w->peer_bytes);
    free(w->peer_unit);
    free(w->regions);
    free(w->posts_from);
    free(w->sent);
    free(w->synced);
    free(w->out_to);
    free(w->locked);
    free(w->nocheck);
    for (int i = 0; w->agg && i < w->size; i++)
        free(w->agg[i]);
    free(w->agg);
    free(w->agg_len);
    free(w->start_ranks);
    free(w->post_ranks);
    free(w);
}

/* Everything but the memory: communicators, the peers' sizes and units,
 * the counters. *out is a window not yet listening. */
static int win_setup(MPI_Aint size,
                     int disp_unit,
                     MPI_Info info,
                     MPI_Comm comm,
                     int flavor,
                     struct shim_win **out)
{
    struct shim_comm *c;
    struct shim_win *w;
    int rc = shim_comm_check(comm, &c);

    *out = NULL;
    if (rc)
        return rc;
    /* Windows live on intracommunicators only. */
    if (c->inter)
        return SHIM_ECLASS(MPI_ERR_COMM);
    if (size < 0)
        return SHIM_ECLASS(MPI_ERR_SIZE);
    if (disp_unit <= 0)
        return SHIM_ECLASS(MPI_ERR_DISP);
    /* Hints are checked and ignored, as the standard allows. */
    rc = shim_info_check(info);
    if (rc)
        return rc;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->comm_h = MPI_COMM_NULL;
    w->am_h = MPI_COMM_NULL;
    w->flavor = flavor;
    w->errhandler = MPI_ERRORS_ARE_FATAL;
    w->disp_unit = disp_unit;
    w->bytes = size;
    w->rank = c->rank;
    w->size = c->size;
    rc = PMPI_Comm_dup(comm, &w->comm_h);
    if (rc == MPI_SUCCESS)
        rc = PMPI_Comm_dup(comm, &w->am_h);
    if (rc != MPI_SUCCESS) {
        win_destroy(w);
        return SHIM_ECLASS(rc);
    }
    PMPI_Comm_set_errhandler(w->comm_h, MPI_ERRORS_RETURN);
    PMPI_Comm_set_errhandler(w->am_h, MPI_ERRORS_RETURN);
    w->comm = shim_comm_lookup(w->comm_h);
    w->am = shim_comm_lookup(w->am_h);
    w->am_ctx = w->am->ctx | 1;
    int n = w->size;
    w->peer_bytes = calloc((size_t)n, sizeof(MPI_Aint));
    w->peer_unit = calloc((size_t)n, sizeof(int));
    w->posts_from = calloc((size_t)n, sizeof(int));
    w->sent = calloc((size_t)n, sizeof(uint64_t));
    w->synced = calloc((size_t)n, sizeof(uint64_t));
    w->out_to = calloc((size_t)n, sizeof(int));
    w->locked = calloc((size_t)n, sizeof(int));
    w->nocheck = calloc((size_t)n, sizeof(bool));
    w->agg = calloc((size_t)n, sizeof(char *));
    w->agg_len = calloc((size_t)n, sizeof(size_t));
    MPI_Aint *all = calloc((size_t)n * 2, sizeof(MPI_Aint));
    if (!w->peer_bytes || !w->peer_unit || !w->posts_from || !w->sent
        || !w->synced || !w->out_to || !w->locked || !w->nocheck || !w->agg
        || !w->agg_len || !all) {
        free(all);
        win_destroy(w);
        return -ENOMEM;
    }
    MPI_Aint mine[2] = {size, disp_unit};
    rc = PMPI_Allgather(mine, 2, MPI_AINT, all, 2, MPI_AINT, w->comm_h);
    if (rc != MPI_SUCCESS) {
        free(all);
        win_destroy(w);
        return SHIM_ECLASS(rc);
    }
    for (int r = 0; r < n; r++) {
        w->peer_bytes[r] = all[2 * r];
        w->peer_unit[r] = (int)all[2 * r + 1];
    }
    free(all);
    *out = w;
    return 0;
}

static int shm_map(struct shim_win *w, size_t align);

/* Whether every rank of w is on this rank's node (the wire-up's map). */
static bool win_one_node(const struct shim_win *w)
{
    for (int r = 0; r < w->size; r++)
        if (shim.node_of[w->comm->world[r]] != shim.node_of[shim.rank])
            return false;
    return true;
}

/* Registers w's memory with libfabric and gathers every rank's
 * registration (collective over w), for windows of private memory whose
 * ranks span nodes; a rank that cannot register (no RMA in its provider,
 * SHOAL_MPI_RMA_OFI=0, no memory, a failed registration) says so, and
 * operations to it stay active messages. Every rank takes the same branch:
 * the flavor and the node map are the same everywhere. */
static int win_ofi_setup(struct shim_win *w)
{
    struct rma_ofi_peer mine = {0};

    if (w->flavor == MPI_WIN_FLAVOR_DYNAMIC || w->direct || win_one_node(w))
        return 0;
    if (shim_ofi.rma && w->bytes > 0 && w->base
        && shim_ofi_mr_reg(w->base, (size_t)w->bytes, &w->mr, &mine.key,
                           &mine.addr)
               == 0)
        mine.ok = 1;
    w->ofi = calloc((size_t)w->size, sizeof(*w->ofi));
    w->ofi_to = calloc((size_t)w->size, sizeof(int));
    if (!w->ofi || !w->ofi_to)
        return -ENOMEM;
    int rc = PMPI_Allgather(&mine, 3, MPI_UINT64_T, w->ofi, 3, MPI_UINT64_T,
                            w->comm_h);
    return rc ? SHIM_ECLASS(rc) : 0;
}

/* Gives w its handle and starts its target side. */
static int win_publish(struct shim_win *w, MPI_Win *win)
{
    int rc = win_ofi_setup(w);

    if (rc)
        return rc;
    int idx = shim_table_insert(&wintab, w);

    if (idx < 0)
        return idx;
    w->handle = SHIM_HANDLE(SHIM_KIND_WIN, idx);
    rc = rma_am_start(w);
    if (rc)
        return rc;
    *win = w->handle;
    return 0;
}

SHIM_WEAK(Win_create)
int PMPI_Win_create(void *base,
                    MPI_Aint size,
                    int disp_unit,
                    MPI_Info info,
                    MPI_Comm comm,
                    MPI_Win *win)
{
    struct shim_win *w = NULL;
    int rc = win ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0 && size > 0 && !base)
        rc = SHIM_ECLASS(MPI_ERR_BASE);
    if (rc == 0)
        rc = win_setup(size, disp_unit, info, comm, MPI_WIN_FLAVOR_CREATE, &w);
    if (rc == 0) {
        w->base = base;
        rc = win_publish(w, win);
    }
    if (rc) {
        win_destroy(w);
        return shim_err(shim_comm_lookup(comm), "MPI_Win_create", rc);
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_allocate)
int PMPI_Win_allocate(MPI_Aint size,
                      int disp_unit,
                      MPI_Info info,
                      MPI_Comm comm,
                      void *baseptr,
                      MPI_Win *win)
{
    struct shim_win *w = NULL;
    int rc = win && baseptr ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc =
            win_setup(size, disp_unit, info, comm, MPI_WIN_FLAVOR_ALLOCATE, &w);
    /* On one node the memory is one shared segment, so puts and gets
     * become loads and stores (see rma.c); elsewhere, or when no segment
     * can be had, private memory and active messages. */
    if (rc == 0 && win_one_node(w) && !getenv("SHOAL_MPI_RMA_NO_SHM")) {
        if (shm_map(w, 64) == 0) {
            w->direct = true;
        } else {
            if (w->shm_seg)
                munmap(w->shm_seg, w->shm_len);
            w->shm_seg = NULL;
            free(w->shm_off);
            w->shm_off = NULL;
        }
    }
    if (rc == 0 && !w->direct) {
        void *mem = NULL;
        if (posix_memalign(&mem, 64, size > 0 ? (size_t)size : 1))
            rc = -ENOMEM;
        w->base = mem;
        w->own_mem = true;
    }
    if (rc == 0)
        rc = win_publish(w, win);
    if (rc) {
        win_destroy(w);
        return shim_err(shim_comm_lookup(comm), "MPI_Win_allocate", rc);
    }
    *(void **)baseptr = w->base;
    return MPI_SUCCESS;
}

/* Maps the node's segment for w: rank 0 creates and sizes it (unlinked at
 * once, shim_shm_file_make), the others open it by the path rank 0
 * broadcasts, and rank 0 closes its descriptor once all have it mapped, so
 * nothing outlives the processes, even when one dies in between. */
static int shm_map(struct shim_win *w, size_t align)
{
    struct shim_shm_file file = {.fd = -1};
    char name[64] = "";
    size_t total = 0;
    int fd = -1;
    int rc = 0;

    w->shm_off = calloc((size_t)w->size, sizeof(MPI_Aint));
    if (!w->shm_off)
        return -ENOMEM;
    /* The control blocks first, then every rank's part. */
    total = (size_t)w->size * sizeof(struct rma_shm_ctl);
    for (int r = 0; r < w->size; r++) {
        w->shm_off[r] = (MPI_Aint)total;
        total += ((size_t)w->peer_bytes[r] + align - 1) / align * align;
    }
    w->shm_len = total ? total : 1;
    if (w->rank == 0) {
        const char *what;
        snprintf(name, sizeof(name), "/shoal_%d_win%u", (int)getpid(),
                 shm_seq++);
        /* The pages are reserved now: a /dev/shm too small for the window
         * is an error here (MPI_Win_allocate then keeps private memory),
         * not a SIGBUS at the first store. */
        rc = shim_shm_file_make(&file, name, w->shm_len, &what);
        snprintf(name, sizeof(name), "%s", rc ? "" : file.path);
        fd = file.fd;
    }
    int brc = PMPI_Bcast(name, sizeof(name), MPI_CHAR, 0, w->comm_h);
    if (brc != MPI_SUCCESS) {
        shim_shm_file_done(&file);
        return SHIM_ECLASS(brc);
    }
    if (name[0] == '\0')
        return rc ? rc : SHIM_ECLASS(MPI_ERR_NO_MEM);
    if (w->rank != 0)
        fd = shim_shm_file_open(name);
    int ok = fd >= 0;
    void *p = MAP_FAILED;
    if (ok) {
        p = mmap(NULL, w->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (w->rank != 0)
            close(fd);
        ok = p != MAP_FAILED;
    }
    if (ok)
        w->shm_seg = p;
    /* Everyone has it mapped (or failed) before rank 0 lets it go. */
    int all = 0;
    brc = PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, w->comm_h);
    shim_shm_file_done(&file);
    if (brc != MPI_SUCCESS)
        return SHIM_ECLASS(brc);
    if (!all)
        return SHIM_ECLASS(MPI_ERR_NO_MEM);
    w->base = w->shm_seg + w->shm_off[w->rank];
    w->ctl = (struct rma_shm_ctl *)w->shm_seg;
    return 0;
}

SHIM_WEAK(Win_allocate_shared)
int PMPI_Win_allocate_shared(MPI_Aint size,
                             int disp_unit,
                             MPI_Info info,
                             MPI_Comm comm,
                             void *baseptr,
                             MPI_Win *win)
{
    struct shim_win *w = NULL;
    struct shim_comm *c = shim_comm_lookup(comm);
    int rc = win && baseptr ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0 && (!c || c->inter))
        rc = SHIM_ECLASS(MPI_ERR_COMM);
    /* One segment can only be shared within a node. */
    for (int r = 0; rc == 0 && r < c->size; r++)
        if (shim.node_of[c->world[r]] != shim.node_of[c->world[0]])
            rc = SHIM_ECLASS(MPI_ERR_RMA_SHARED);
    if (rc == 0)
        rc = win_setup(size, disp_unit, info, comm, MPI_WIN_FLAVOR_SHARED, &w);
    if (rc == 0)
        rc = shm_map(w, 1); /* contiguous, as the standard's default */
    if (rc == 0)
        w->direct = true;
    if (rc == 0)
        rc = win_publish(w, win);
    if (rc) {
        win_destroy(w);
        return shim_err(c, "MPI_Win_allocate_shared", rc);
    }
    *(void **)baseptr = w->base;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_shared_query)
int PMPI_Win_shared_query(
    MPI_Win win, int rank, MPI_Aint *size, int *disp_unit, void *baseptr)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_shared_query", rc);
    if (!size || !disp_unit || !baseptr)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    else if (w->flavor != MPI_WIN_FLAVOR_SHARED)
        rc = SHIM_ECLASS(MPI_ERR_RMA_FLAVOR);
    else if (rank != MPI_PROC_NULL && (rank < 0 || rank >= w->size))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    if (rc)
        return shim_win_err(w, "MPI_Win_shared_query", rc);
    if (rank == MPI_PROC_NULL) {
        /* The lowest rank with memory, as the standard says. */
        rank = 0;
        for (int r = 0; r < w->size; r++) {
            if (w->peer_bytes[r] > 0) {
                rank = r;
                break;
            }
        }
    }
    *size = w->peer_bytes[rank];
    *disp_unit = w->peer_unit[rank];
    *(void **)baseptr = w->shm_seg + w->shm_off[rank];
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_create_dynamic)
int PMPI_Win_create_dynamic(MPI_Info info, MPI_Comm comm, MPI_Win *win)
{
    struct shim_win *w = NULL;
    int rc = win ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = win_setup(0, 1, info, comm, MPI_WIN_FLAVOR_DYNAMIC, &w);
    if (rc == 0) {
        w->base = MPI_BOTTOM;
        rc = win_publish(w, win);
    }
    if (rc) {
        win_destroy(w);
        return shim_err(shim_comm_lookup(comm), "MPI_Win_create_dynamic", rc);
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_attach)
int PMPI_Win_attach(MPI_Win win, void *base, MPI_Aint size)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_attach", rc);
    if (w->flavor != MPI_WIN_FLAVOR_DYNAMIC)
        rc = SHIM_ECLASS(MPI_ERR_RMA_FLAVOR);
    else if (size < 0)
        rc = SHIM_ECLASS(MPI_ERR_SIZE);
    else if (!base && size > 0)
        rc = SHIM_ECLASS(MPI_ERR_BASE);
    for (int i = 0; rc == 0 && i < w->nregions; i++) {
        char *b = w->regions[i].base;
        if ((char *)base < b + w->regions[i].size && b < (char *)base + size)
            rc = SHIM_ECLASS(MPI_ERR_RMA_ATTACH);
    }
    if (rc == 0 && w->nregions == w->regcap) {
        int cap = w->regcap ? 2 * w->regcap : 4;
        struct rma_region *r = realloc(w->regions, sizeof(*r) * cap);
        if (!r)
            rc = -ENOMEM;
        else {
            w->regions = r;
            w->regcap = cap;
        }
    }
    if (rc)
        return shim_win_err(w, "MPI_Win_attach", rc);
    w->regions[w->nregions].base = base;
    w->regions[w->nregions].size = size;
    w->nregions++;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_detach)
int PMPI_Win_detach(MPI_Win win, const void *base)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_detach", rc);
    if (w->flavor != MPI_WIN_FLAVOR_DYNAMIC)
        return shim_win_err(w, "MPI_Win_detach",
                            SHIM_ECLASS(MPI_ERR_RMA_FLAVOR));
    for (int i = 0; i < w->nregions; i++) {
        if (w->regions[i].base == base) {
            w->regions[i] = w->regions[--w->nregions];
            return MPI_SUCCESS;
        }
    }
    return shim_win_err(w, "MPI_Win_detach", SHIM_ECLASS(MPI_ERR_RMA_ATTACH));
}

/* Waits until every operation any rank issued to this one is applied
 * here, and this rank's own gets have landed: the first half of a fence
 * (collective over the window). */
static int win_drain(struct shim_win *w)
{
    uint64_t expect = 0;
    int idle = 0;

    int rc = rma_am_push(w, -1);
    if (rc)
        return rc;
    win_wait_replies(w, -1);
    rc = PMPI_Reduce_scatter_block(w->sent, &expect, 1, MPI_UINT64_T, MPI_SUM,
                                   w->comm_h);
    if (rc != MPI_SUCCESS)
        return SHIM_ECLASS(rc);
    while (w->applied < expect)
        shim_progress_wait(&idle);
    return 0;
}

static bool win_in_epoch(struct shim_win *w)
{
    return w->nlocks > 0 || w->lock_all || w->start_ranks || w->posted;
}

SHIM_WEAK(Win_free)
int PMPI_Win_free(MPI_Win *win)
{
    struct shim_win *w = NULL;
    int rc = win ? shim_win_check(*win, &w) : SHIM_ECLASS(MPI_ERR_WIN);

    if (rc)
        return shim_err(NULL, "MPI_Win_free", rc);
    if (win_in_epoch(w))
        return shim_win_err(w, "MPI_Win_free", SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    /* The attributes' delete callbacks run first, while the window is
     * whole; one that fails leaves the window as it was. */
    rc = shim_attr_clear(SHIM_ATTR_WIN, &w->attrs, w->handle);
    if (rc)
        return shim_win_err(w, "MPI_Win_free", rc);
    rc = win_drain(w);
    if (rc == 0) {
        int b = PMPI_Barrier(w->comm_h);
        rc = b ? SHIM_ECLASS(b) : 0;
    }
    if (rc)
        return shim_win_err(w, "MPI_Win_free", rc);
    rma_am_stop(w);
    win_destroy(w);
    *win = MPI_WIN_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_get_group)
int PMPI_Win_get_group(MPI_Win win, MPI_Group *group)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_get_group", rc);
    if (!group)
        return shim_win_err(w, "MPI_Win_get_group", SHIM_ECLASS(MPI_ERR_ARG));
    rc = PMPI_Comm_group(w->comm_h, group);
    return rc ? shim_win_err(w, "MPI_Win_get_group", SHIM_ECLASS(rc))
              : MPI_SUCCESS;
}

SHIM_WEAK(Win_get_attr)
int PMPI_Win_get_attr(MPI_Win win,
                      int win_keyval,
                      void *attribute_val,
                      int *flag)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_get_attr", rc);
    if (!attribute_val || !flag)
        return shim_win_err(w, "MPI_Win_get_attr", SHIM_ECLASS(MPI_ERR_ARG));
    *flag = 1;
    switch (win_keyval) {
    case MPI_WIN_BASE:
        *(void **)attribute_val = w->base;
        break;
    case MPI_WIN_SIZE:
        *(MPI_Aint **)attribute_val = &w->bytes;
        break;
    case MPI_WIN_DISP_UNIT:
        *(int **)attribute_val = &w->disp_unit;
        break;
    case MPI_WIN_CREATE_FLAVOR:
        *(int **)attribute_val = &w->flavor;
        break;
    case MPI_WIN_MODEL:
        *(int **)attribute_val = &win_model;
        break;
    default:
        rc = shim_attr_get(SHIM_ATTR_WIN, &w->attrs, win_keyval,
                           (void **)attribute_val, flag);
        if (rc)
            return shim_win_err(w, "MPI_Win_get_attr", rc);
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_create_keyval)
int PMPI_Win_create_keyval(MPI_Win_copy_attr_function *win_copy_attr_fn,
                           MPI_Win_delete_attr_function *win_delete_attr_fn,
                           int *win_keyval,
                           void *extra_state)
{
    int rc = win_keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    /* Windows are never duplicated: the copy callback is kept unused. */
    if (rc == 0)
        rc = shim_keyval_create(SHIM_ATTR_WIN, win_copy_attr_fn,
                                win_delete_attr_fn, extra_state, win_keyval);
    return rc ? shim_err(NULL, "MPI_Win_create_keyval", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_free_keyval)
int PMPI_Win_free_keyval(int *win_keyval)
{
    int rc = win_keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_keyval_free(SHIM_ATTR_WIN, win_keyval);
    return rc ? shim_err(NULL, "MPI_Win_free_keyval", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_set_attr)
int PMPI_Win_set_attr(MPI_Win win, int win_keyval, void *attribute_val)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_set_attr", rc);
    rc = shim_attr_set(SHIM_ATTR_WIN, &w->attrs, w->handle, win_keyval,
                       attribute_val);
    return rc ? shim_win_err(w, "MPI_Win_set_attr", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_delete_attr)
int PMPI_Win_delete_attr(MPI_Win win, int win_keyval)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_delete_attr", rc);
    rc = shim_attr_delete(SHIM_ATTR_WIN, &w->attrs, w->handle, win_keyval);
    return rc ? shim_win_err(w, "MPI_Win_delete_attr", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_set_name)
int PMPI_Win_set_name(MPI_Win win, const char *win_name)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_set_name", rc);
    if (!win_name)
        return shim_win_err(w, "MPI_Win_set_name", SHIM_ECLASS(MPI_ERR_ARG));
    snprintf(w->name, sizeof(w->name), "%s", win_name);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_get_name)
int PMPI_Win_get_name(MPI_Win win, char *win_name, int *resultlen)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_get_name", rc);
    if (!win_name || !resultlen)
        return shim_win_err(w, "MPI_Win_get_name", SHIM_ECLASS(MPI_ERR_ARG));
    *resultlen = snprintf(win_name, MPI_MAX_OBJECT_NAME, "%s", w->name);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_set_info)
int PMPI_Win_set_info(MPI_Win win, MPI_Info info)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_set_info", rc);
    /* Hints may be ignored; none changes what this library does. */
    rc = shim_info_check(info);
    return rc ? shim_win_err(w, "MPI_Win_set_info", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_get_info)
int PMPI_Win_get_info(MPI_Win win, MPI_Info *info_used)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_get_info", rc);
    if (!info_used)
        return shim_win_err(w, "MPI_Win_get_info", SHIM_ECLASS(MPI_ERR_ARG));
    /* The hints in use: none, since every hint is ignored. The caller
     * frees the new object with MPI_Info_free. */
    rc = PMPI_Info_create(info_used);
    return rc ? shim_win_err(w, "MPI_Win_get_info", SHIM_ECLASS(rc))
              : MPI_SUCCESS;
}

SHIM_WEAK(Win_create_errhandler)
int PMPI_Win_create_errhandler(MPI_Win_errhandler_function *fn,
                               MPI_Errhandler *errhandler)
{
    /* Window and communicator handlers have the same shape here (both
     * handles are int), so they share one table. */
    return PMPI_Comm_create_errhandler(fn, errhandler);
}

SHIM_WEAK(Win_set_errhandler)
int PMPI_Win_set_errhandler(MPI_Win win, MPI_Errhandler errhandler)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_set_errhandler", rc);
    if (!shim_errhandler_valid(errhandler))
        return shim_win_err(w, "MPI_Win_set_errhandler",
                            SHIM_ECLASS(MPI_ERR_ARG));
    w->errhandler = errhandler;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_get_errhandler)
int PMPI_Win_get_errhandler(MPI_Win win, MPI_Errhandler *errhandler)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_get_errhandler", rc);
    if (!errhandler)
        return shim_win_err(w, "MPI_Win_get_errhandler",
                            SHIM_ECLASS(MPI_ERR_ARG));
    *errhandler = w->errhandler;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_call_errhandler)
int PMPI_Win_call_errhandler(MPI_Win win, int errorcode)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_call_errhandler", rc);
    shim_win_err(w, "MPI_Win_call_errhandler", SHIM_ECLASS(errorcode));
    return MPI_SUCCESS;
}

/* ---- active target: fence ---------------------------------------------- */
/* A barrier of the window's ranks in rank 0's control block, by sense
 * reversal: each reads the generation, then counts itself in; the last
 * resets the count and bumps the generation, which releases the others. */
static void direct_barrier(struct shim_win *w)
{
    struct rma_shm_ctl *c = &w->ctl[0];
    uint32_t gen = __atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE);
    int idle = 0;

    if (__atomic_add_fetch(&c->bar_count, 1, __ATOMIC_ACQ_REL)
        == (uint32_t)w->size) {
        __atomic_store_n(&c->bar_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&c->bar_gen, gen + 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&c->bar_gen, __ATOMIC_ACQUIRE) == gen)
        shim_progress_wait(&idle);
}
enum {
    FENCE_ASSERTS = MPI_MODE_NOSTORE | MPI_MODE_NOPUT | MPI_MODE_NOPRECEDE
                    | MPI_MODE_NOSUCCEED,
};

SHIM_WEAK(Win_fence)
int PMPI_Win_fence(int mode, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_fence", rc);
    if (mode & ~FENCE_ASSERTS)
        rc = SHIM_ECLASS(MPI_ERR_ASSERT);
    else if (win_in_epoch(w))
        rc = SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    /* With NOPRECEDE (given by all or none) no operation is in flight. */
    /* A direct window's operations are complete when their calls return:
     * its fence is a memory barrier and a barrier in the segment. */
    if (rc == 0 && !(mode & MPI_MODE_NOPRECEDE) && !w->direct)
        rc = win_drain(w);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (rc == 0 && w->direct) {
        direct_barrier(w);
    } else if (rc == 0) {
        int b = PMPI_Barrier(w->comm_h);
        rc = b ? SHIM_ECLASS(b) : 0;
    }
    if (rc)
        return shim_win_err(w, "MPI_Win_fence", rc);
    w->fence_epoch = !(mode & MPI_MODE_NOSUCCEED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MPI_SUCCESS;
}

/* ---- active target: post, start, complete, wait ------------------------ */
/* The window ranks of group's members, in group order. */
static int group_ranks(struct shim_win *w, MPI_Group group, int **out, int *n)
{
    struct shim_group *g;
    int rc;

    *out = NULL;
    *n = 0;
    if (group == MPI_GROUP_EMPTY)
        return 0;
    rc = shim_group_check(group, &g);
    if (rc)
        return rc;
    int *r = malloc(sizeof(int) * (size_t)(g->size ? g->size : 1));
    if (!r)
        return -ENOMEM;
    for (int i = 0; i < g->size; i++) {
        r[i] = -1;
        for (int j = 0; j < w->size; j++)
            if (w->comm->world[j] == g->world[i])
                r[i] = j;
        if (r[i] < 0) {
            free(r);
            return SHIM_ECLASS(MPI_ERR_GROUP);
        }
    }
    *out = r;
    *n = g->size;
    return 0;
}

SHIM_WEAK(Win_post)
int PMPI_Win_post(MPI_Group group, int mode, MPI_Win win)
{
    struct shim_win *w;
    int *ranks = NULL, n = 0;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_post", rc);
    if (mode & ~(MPI_MODE_NOCHECK | MPI_MODE_NOSTORE | MPI_MODE_NOPUT))
        rc = SHIM_ECLASS(MPI_ERR_ASSERT);
    else if (w->posted)
        rc = SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    if (rc == 0)
        rc = group_ranks(w, group, &ranks, &n);
    for (int i = 0; rc == 0 && i < n; i++)
        if (!(mode & MPI_MODE_NOCHECK))
            rc = rma_am_notify(w, ranks[i], RMA_AM_POST);
    if (rc) {
        free(ranks);
        return shim_win_err(w, "MPI_Win_post", rc);
    }
    w->post_ranks = ranks;
    w->npost = n;
    w->posted = true;
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_start)
int PMPI_Win_start(MPI_Group group, int mode, MPI_Win win)
{
    struct shim_win *w;
    int *ranks = NULL, n = 0;
    int idle = 0;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_start", rc);
    if (mode & ~MPI_MODE_NOCHECK)
        rc = SHIM_ECLASS(MPI_ERR_ASSERT);
    else if (w->start_ranks || w->nlocks || w->lock_all)
        rc = SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    if (rc == 0)
        rc = group_ranks(w, group, &ranks, &n);
    if (rc)
        return shim_win_err(w, "MPI_Win_start", rc);
    if (!(mode & MPI_MODE_NOCHECK)) {
        for (int i = 0; i < n; i++) {
            while (w->posts_from[ranks[i]] == 0)
                shim_progress_wait(&idle);
            w->posts_from[ranks[i]]--;
        }
    }
    /* An empty group still opens an (empty) epoch. */
    w->start_ranks = ranks ? ranks : malloc(sizeof(int));
    w->nstart = n;
    if (!w->start_ranks)
        return shim_win_err(w, "MPI_Win_start", -ENOMEM);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_complete)
int PMPI_Win_complete(MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_complete", rc);
    if (!w->start_ranks)
        return shim_win_err(w, "MPI_Win_complete",
                            SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    for (int i = 0; i < w->nstart; i++)
        win_wait_replies(w, w->start_ranks[i]);
    for (int i = 0; rc == 0 && i < w->nstart; i++)
        rc = rma_am_notify(w, w->start_ranks[i], RMA_AM_COMPLETE);
    free(w->start_ranks);
    w->start_ranks = NULL;
    w->nstart = 0;
    return rc ? shim_win_err(w, "MPI_Win_complete", rc) : MPI_SUCCESS;
}

static void post_end(struct shim_win *w)
{
    w->completes -= w->npost;
    free(w->post_ranks);
    w->post_ranks = NULL;
    w->npost = 0;
    w->posted = false;
}

SHIM_WEAK(Win_wait)
int PMPI_Win_wait(MPI_Win win)
{
    struct shim_win *w;
    int idle = 0;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_wait", rc);
    if (!w->posted)
        return shim_win_err(w, "MPI_Win_wait", SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    while (w->completes < w->npost)
        shim_progress_wait(&idle);
    post_end(w);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_test)
int PMPI_Win_test(MPI_Win win, int *flag)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_test", rc);
    if (!flag)
        return shim_win_err(w, "MPI_Win_test", SHIM_ECLASS(MPI_ERR_ARG));
    if (!w->posted)
        return shim_win_err(w, "MPI_Win_test", SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    shim_progress();
    *flag = w->completes >= w->npost;
    if (*flag)
        post_end(w);
    return MPI_SUCCESS;
}

/* ---- passive target ----------------------------------------------------- */
static int lock_code(int lock_type)
{
    return lock_type == MPI_LOCK_SHARED ? 1 : 2;
}

/* Sends type (LOCK, UNLOCK or FLUSH) to each of the n ranks and waits
 * for every acknowledgement. */
static int sync_all(struct shim_win *w,
                    const int *ranks,
                    int n,
                    enum rma_am_type type,
                    const int *codes)
{
    volatile bool one;
    volatile bool *flags = n > 1 ? calloc((size_t)n, sizeof(bool)) : &one;
    int idle = 0;
    int rc = 0;
    int sent = 0;

    if (!flags)
        return -ENOMEM;
    for (; sent < n && rc == 0; sent++)
        rc = rma_am_sync_send(w, ranks[sent], type, codes ? codes[sent] : 0,
                              &flags[sent]);
    if (rc)
        sent--;
    for (int i = 0; i < sent; i++)
        while (!flags[i])
            shim_progress_wait(&idle);
    if (flags != &one)
        free((void *)flags);
    return rc;
}

/* MPI_Win_lock on a direct window: the target's lock word, taken with
 * compare-and-swap; a waiting rank keeps polling (so the rest of the
 * library moves) and yields its core as any waiter does. Shared holders
 * are counted; an exclusive holder sets RMA_LOCK_EXCL. Unlike the queue
 * of the active-message path, a stream of shared lockers can hold off an
 * exclusive one. */
static void direct_lock(struct shim_win *w, int target, int lock_type)
{
    uint32_t *word = &w->ctl[target].lock_word;
    int idle = 0;

    for (;;) {
        uint32_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
        uint32_t want;
        if (lock_type == MPI_LOCK_EXCLUSIVE) {
            want = RMA_LOCK_EXCL;
            if (v != 0) {
                shim_progress_wait(&idle);
                continue;
            }
        } else {
            want = v + 1;
            if (v & RMA_LOCK_EXCL) {
                shim_progress_wait(&idle);
                continue;
            }
        }
        if (__atomic_compare_exchange_n(word, &v, want, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
    }
}

static void direct_unlock(struct shim_win *w, int target, int lock_type)
{
    uint32_t *word = &w->ctl[target].lock_word;

    if (lock_type == MPI_LOCK_EXCLUSIVE)
        __atomic_store_n(word, 0, __ATOMIC_RELEASE);
    else
        __atomic_fetch_sub(word, 1, __ATOMIC_RELEASE);
}

SHIM_WEAK(Win_lock)
int PMPI_Win_lock(int lock_type, int rank, int mode, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_lock", rc);
    if (lock_type != MPI_LOCK_SHARED && lock_type != MPI_LOCK_EXCLUSIVE)
        rc = SHIM_ECLASS(MPI_ERR_LOCKTYPE);
    else if (mode & ~MPI_MODE_NOCHECK)
        rc = SHIM_ECLASS(MPI_ERR_ASSERT);
    else if (rank != MPI_PROC_NULL && (rank < 0 || rank >= w->size))
        rc = SHIM_ECLASS(MPI_ERR_RANK);
    else if (rank != MPI_PROC_NULL && (w->locked[rank] || w->lock_all))
        rc = SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    if (rc)
        return shim_win_err(w, "MPI_Win_lock", rc);
    if (rank == MPI_PROC_NULL)
        return MPI_SUCCESS;
    if (!(mode & MPI_MODE_NOCHECK) && w->direct) {
        direct_lock(w, rank, lock_type);
    } else if (!(mode & MPI_MODE_NOCHECK)) {
        int code = lock_code(lock_type);
        rc = sync_all(w, &rank, 1, RMA_AM_LOCK, &code);
        if (rc)
            return shim_win_err(w, "MPI_Win_lock", rc);
    }
    w->locked[rank] = lock_type;
    w->nocheck[rank] = (mode & MPI_MODE_NOCHECK) != 0;
    w->synced[rank] = w->sent[rank];
    w->nlocks++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_unlock)
int PMPI_Win_unlock(int rank, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_unlock", rc);
    if (rank == MPI_PROC_NULL)
        return MPI_SUCCESS;
    if (rank < 0 || rank >= w->size)
        return shim_win_err(w, "MPI_Win_unlock", SHIM_ECLASS(MPI_ERR_RANK));
    if (!w->locked[rank])
        return shim_win_err(w, "MPI_Win_unlock", SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, rank);
    /* A lock taken without asking is released without telling; the
     * operations still need their remote completion. */
    if (w->nocheck[rank] || w->direct) {
        rc = rma_am_push(w, rank);
        if (rc == 0 && w->sent[rank] != w->synced[rank])
            rc = sync_all(w, &rank, 1, RMA_AM_FLUSH, NULL);
        if (!w->nocheck[rank])
            direct_unlock(w, rank, w->locked[rank]);
    } else {
        int code = lock_code(w->locked[rank]);
        rc = sync_all(w, &rank, 1, RMA_AM_UNLOCK, &code);
    }
    w->locked[rank] = 0;
    w->nocheck[rank] = false;
    w->nlocks--;
    return rc ? shim_win_err(w, "MPI_Win_unlock", rc) : MPI_SUCCESS;
}

static int *all_ranks(struct shim_win *w)
{
    int *r = malloc(sizeof(int) * (size_t)w->size);

    for (int i = 0; r && i < w->size; i++)
        r[i] = i;
    return r;
}

SHIM_WEAK(Win_lock_all)
int PMPI_Win_lock_all(int mode, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_lock_all", rc);
    if (mode & ~MPI_MODE_NOCHECK)
        rc = SHIM_ECLASS(MPI_ERR_ASSERT);
    else if (w->lock_all || w->nlocks)
        rc = SHIM_ECLASS(MPI_ERR_RMA_SYNC);
    if (rc)
        return shim_win_err(w, "MPI_Win_lock_all", rc);
    int *ranks = all_ranks(w);
    int *codes = calloc((size_t)w->size, sizeof(int));
    if (!ranks || !codes)
        rc = -ENOMEM;
    for (int i = 0; rc == 0 && i < w->size; i++) {
        codes[i] = 1;
        w->nocheck[i] = (mode & MPI_MODE_NOCHECK) != 0;
        w->synced[i] = w->sent[i];
    }
    if (rc == 0 && !(mode & MPI_MODE_NOCHECK) && w->direct) {
        for (int i = 0; i < w->size; i++)
            direct_lock(w, i, MPI_LOCK_SHARED);
    } else if (rc == 0 && !(mode & MPI_MODE_NOCHECK)) {
        rc = sync_all(w, ranks, w->size, RMA_AM_LOCK, codes);
    }
    free(ranks);
    free(codes);
    if (rc)
        return shim_win_err(w, "MPI_Win_lock_all", rc);
    for (int i = 0; i < w->size; i++)
        w->synced[i] = w->sent[i];
    w->lock_all = true;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return MPI_SUCCESS;
}

/* The ranks that were sent something since the last acknowledgement. */
static int dirty_ranks(struct shim_win *w, int *ranks)
{
    int n = 0;

    for (int i = 0; i < w->size; i++)
        if (w->sent[i] != w->synced[i])
            ranks[n++] = i;
    return n;
}

SHIM_WEAK(Win_unlock_all)
int PMPI_Win_unlock_all(MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_unlock_all", rc);
    if (!w->lock_all)
        return shim_win_err(w, "MPI_Win_unlock_all",
                            SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, -1);
    int *ranks = all_ranks(w);
    int *codes = calloc((size_t)w->size, sizeof(int));
    if (!ranks || !codes)
        rc = -ENOMEM;
    if (rc == 0 && (w->nocheck[0] || w->direct)) {
        rc = rma_am_push(w, -1);
        int n = dirty_ranks(w, ranks);
        if (rc == 0)
            rc = sync_all(w, ranks, n, RMA_AM_FLUSH, NULL);
        for (int i = 0; !w->nocheck[0] && i < w->size; i++)
            direct_unlock(w, i, MPI_LOCK_SHARED);
    } else if (rc == 0) {
        for (int i = 0; i < w->size; i++)
            codes[i] = 1;
        rc = sync_all(w, ranks, w->size, RMA_AM_UNLOCK, codes);
    }
    free(ranks);
    free(codes);
    for (int i = 0; i < w->size; i++)
        w->nocheck[i] = false;
    w->lock_all = false;
    return rc ? shim_win_err(w, "MPI_Win_unlock_all", rc) : MPI_SUCCESS;
}

static bool holds_lock(struct shim_win *w, int rank)
{
    return w->lock_all || w->locked[rank];
}

SHIM_WEAK(Win_flush)
int PMPI_Win_flush(int rank, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_flush", rc);
    if (rank == MPI_PROC_NULL)
        return MPI_SUCCESS;
    if (rank < 0 || rank >= w->size)
        return shim_win_err(w, "MPI_Win_flush", SHIM_ECLASS(MPI_ERR_RANK));
    if (!holds_lock(w, rank))
        return shim_win_err(w, "MPI_Win_flush", SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, rank);
    rc = rma_am_push(w, rank);
    if (rc == 0 && w->sent[rank] != w->synced[rank]) {
        rc = sync_all(w, &rank, 1, RMA_AM_FLUSH, NULL);
        w->synced[rank] = w->sent[rank];
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return rc ? shim_win_err(w, "MPI_Win_flush", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_flush_all)
int PMPI_Win_flush_all(MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_flush_all", rc);
    if (!w->lock_all && !w->nlocks)
        return shim_win_err(w, "MPI_Win_flush_all",
                            SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, -1);
    int *ranks = calloc((size_t)w->size, sizeof(int));
    if (!ranks)
        return shim_win_err(w, "MPI_Win_flush_all", -ENOMEM);
    rc = rma_am_push(w, -1);
    int n = dirty_ranks(w, ranks);
    if (rc == 0)
        rc = sync_all(w, ranks, n, RMA_AM_FLUSH, NULL);
    for (int i = 0; i < n; i++)
        w->synced[ranks[i]] = w->sent[ranks[i]];
    free(ranks);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return rc ? shim_win_err(w, "MPI_Win_flush_all", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Win_flush_local)
int PMPI_Win_flush_local(int rank, MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_flush_local", rc);
    if (rank == MPI_PROC_NULL)
        return MPI_SUCCESS;
    if (rank < 0 || rank >= w->size)
        return shim_win_err(w, "MPI_Win_flush_local",
                            SHIM_ECLASS(MPI_ERR_RANK));
    if (!holds_lock(w, rank))
        return shim_win_err(w, "MPI_Win_flush_local",
                            SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, rank);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_flush_local_all)
int PMPI_Win_flush_local_all(MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_flush_local_all", rc);
    if (!w->lock_all && !w->nlocks)
        return shim_win_err(w, "MPI_Win_flush_local_all",
                            SHIM_ECLASS(MPI_ERR_RMA_SYNC));
    win_wait_replies(w, -1);
    return MPI_SUCCESS;
}

SHIM_WEAK(Win_sync)
int PMPI_Win_sync(MPI_Win win)
{
    struct shim_win *w;
    int rc = shim_win_check(win, &w);

    if (rc)
        return shim_err(NULL, "MPI_Win_sync", rc);
    /* Unified model: a full memory barrier orders this rank's loads and
     * stores against the window; a poll lets the target side apply what
     * has arrived. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    shim_progress();
    return MPI_SUCCESS;
}
