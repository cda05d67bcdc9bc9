/* SPDX-License-Identifier: MIT */
/* progress.c - the progress engine: what makes communication move.
 *
 * libmpi has no progress thread (it offers up to MPI_THREAD_SERIALIZED),
 * so nothing moves unless the application is inside an MPI call: every
 * call that can wait or test polls here. One poll reads the transport's
 * completion queue (ofi.c), finishing the requests whose operations are
 * all complete, and then runs the hooks of the layers above, today the
 * collective schedule engine (coll_sched.c), which posts the next phase of
 * any nonblocking collective whose messages have arrived. The queue goes
 * first so the hooks see the completions of this very poll.
 *
 * The engine sits between the MPI layers and the transport, and calls
 * neither up nor sideways by name: the transport reaches it through the
 * upcalls handed over in shim_progress_init() (a finished request, a
 * provider out of resources), and the layers above plug in as hooks, as
 * MPICH's progress hooks serve its nonblocking collectives. So the calls
 * run one way: entry points -> collectives and point-to-point ->
 * progress -> transport.
 *
 * A waiting rank spins on polls, which is fastest while it has a core of
 * its own: it spins for SHOAL_MPI_SPIN_US microseconds of fruitless polls
 * (default SPIN_US_DEFAULT, measured in mpi-shim/README.md, "Progress"),
 * then yields the core after every 64 more. A short spin cost most on a
 * machine loaded by other work: sched_yield hands the core to another
 * process for a time slice, and the peer's answer waits for it. When the
 * ranks on a node outnumber its cores, spinning starves the rank that
 * would make progress, so waiting ranks then yield after every fruitless
 * poll (Open MPI's mpi_yield_when_idle, MPICH's oversubscription mode).
 *
 * The transport's retry on a full provider queue polls from within a
 * post, and a hook's posts can hit it, so hooks are re-entered and guard
 * themselves; completions themselves do not call back into the engine. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mpi-shim/sde.h"
#include "mpi-shim/shim_private.h"

/* The hooks any layer may add; one is used today. */
enum { PROGRESS_HOOKS_MAX = 4 };

static struct {
    shim_progress_hook_f *fn;
    void *arg;
} hooks[PROGRESS_HOOKS_MAX];
static int nhooks;

/* Fruitless polls between two looks at the clock, and between two yields
 * once the spin is over. */
enum { IDLE_POLLS = 64 };
/* How long a waiting rank spins before it yields (README: "Progress"). */
enum { SPIN_US_DEFAULT = 1000 };
static uint64_t spin_ns = SPIN_US_DEFAULT * 1000ull;
/* More ranks than cores on the node: yield after every fruitless poll. */
static bool oversubscribed;
/* When the current run of fruitless polls began. */
static uint64_t idle_since;

/* Whether libfabric's completion queue is read (shim_progress_poll_ofi). */
static bool poll_ofi = true;

/* Every libfabric operation of req has completed: deliver a receive that
 * went through a bounce buffer, give back what the request borrowed, and
 * free it if the user already let go of it. */
static void req_done(struct shim_request *req, void *arg)
{
    (void)arg;
    if (req->shm.posted)
        shim_shm_unpost(req); /* its libfabric twin matched first */
    if (req->ckpt)
        shim_ckpt_req_done(req);
    if (req->kind == SHIM_REQ_RECV && req->tmp) {
        size_t max = req->user_count * req->user_dt->size;
        shim_dt_unpack(req->user_dt, req->tmp,
                       req->count_bytes < max ? req->count_bytes : max,
                       req->user_buf);
    }
    if (req->release)
        req->release(req->release_arg);
    else
        free(req->tmp);
    req->tmp = NULL;
    req->release = NULL;
    req->release_arg = NULL;
    if (req->user_dt) {
        shim_dt_decref(req->user_dt);
        req->user_dt = NULL;
    }
    req->done = true;
    if (req->user_freed)
        shim_req_free(req);
}

static void busy(void *arg)
{
    (void)arg;
    shim_progress();
}

static const struct shim_ofi_upcalls upcalls = {
    .req_done = req_done,
    .busy = busy,
};

void shim_progress_init(int nlocal)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *v = getenv("SHOAL_MPI_SPIN_US");

    oversubscribed = ncpu > 0 && nlocal > ncpu;
    if (v && *v) {
        char *end;
        unsigned long long us = strtoull(v, &end, 10);
        if (*end == '\0')
            spin_ns = us * 1000ull;
        oversubscribed = false;
    } else if (oversubscribed) {
        spin_ns = 0;
    }
    shim_ofi_set_upcalls(&upcalls);
    shim_shm_set_upcalls(&upcalls);
}

void shim_progress_poll_ofi(bool on)
{
    poll_ofi = on;
}

int shim_progress_hook_add(shim_progress_hook_f *fn, void *arg)
{
    if (nhooks == PROGRESS_HOOKS_MAX)
        return -ENOSPC;
    hooks[nhooks].fn = fn;
    hooks[nhooks].arg = arg;
    nhooks++;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void hooks_run(void)
{
    for (int i = 0; i < nhooks; i++)
        hooks[i].fn(hooks[i].arg);
}

void shim_progress(void)
{
    if (poll_ofi)
        shim_ofi_progress();
    shim_shm_progress();
    hooks_run();
}

void shim_progress_wait(int *idle)
{
    bool timed = shim_sde.timing;
    uint64_t t0 = timed ? now_ns() : 0;
    int seen = poll_ofi ? shim_ofi_progress() : 0;

    seen += shim_shm_progress();
    hooks_run();
    if (timed)
        shim_sde.progress_ns += (long long)(now_ns() - t0);
    if (seen) {
        *idle = 0;
        return;
    }
    if (*idle >= (1 << 30))
        *idle = 2 * IDLE_POLLS; /* spinning without end: no overflow */
    ++*idle;
    if (oversubscribed) {
        sched_yield();
        return;
    }
    /* The clock is read once every IDLE_POLLS fruitless polls (a read
     * costs 130-150 ns on these VMs), never on the way to an arrival. */
    if (*idle % IDLE_POLLS)
        return;
    uint64_t now = now_ns();
    if (*idle == IDLE_POLLS) {
        idle_since = now;
        return;
    }
    if (now - idle_since >= spin_ns) {
        sched_yield();
        *idle = IDLE_POLLS; /* yield again after IDLE_POLLS more */
    }
}
