/* SPDX-License-Identifier: MIT */
/* pmixd.c - the PMIx server of this process, on OpenPMIx. */
#include "runtime/pmix/pmixd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glob.h>
#include <hwloc.h>
#include <pmix.h>
#include <pmix_server.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/hwtopo.h"
#include "util/log.h"

/* Open MPI's system-wide parameter file, in the sysconfdir configure
 * found (ompi_info's, else pkg-config's, else Debian's /etc/openmpi) */
static const char pmixd_ompi_params[] =
    OMPI_SYSCONFDIR "/openmpi-mca-params.conf";

enum pmixd_event_kind {
    PMIXD_EV_CONNECTED,
    PMIXD_EV_FINALIZED,
    PMIXD_EV_ABORT,
    PMIXD_EV_FENCE,
    PMIXD_EV_NAMES,
    PMIXD_EV_CONTROL,
    PMIXD_EV_DMODEX,        /* a local rank asks for a remote rank's data */
    PMIXD_EV_DMODEX_SERVED, /* a local rank's data for another node */
};

/* A names request on its way to the owner, with its strings. */
struct pmixd_names_msg {
    struct pmixd_names_req req;
    struct pubsub_name *names; /* req.names, owned with their strings */
};

/* A names request waiting for its answer (the owner's, or a publish). */
struct pmixd_pending {
    struct pmixd_pending *next;
    uint32_t id;
    enum pubsub_op op;
    pmix_op_cbfunc_t opcb;
    pmix_lookup_cbfunc_t lookupcb;
    void *cbdata;
};

/* A local rank's direct modex request, waiting for the other node. */
struct pmixd_dmx {
    struct pmixd_dmx *next;
    uint32_t id;
    int rank;
    double deadline; /* CLOCK_MONOTONIC seconds; 0 none */
    pmix_modex_cbfunc_t cb;
    void *cbdata;
};

/* A request of another node's, in OpenPMIx's hands until it calls back:
 * kept in pmixd_serving until then (or until the server is finalized), as
 * it may call back after the job is gone. */
struct pmixd_serving {
    struct pmixd_serving *next;
    char nspace[PMIX_MAX_NSLEN + 1];
    uint32_t id;
    int rank;
};

/* What the PMIx thread hands to the loop thread. */
struct pmixd_event {
    struct pmixd_event *next;
    enum pmixd_event_kind kind;
    int index;  /* local rank index (CONNECTED, FINALIZED, ABORT) */
    int status; /* ABORT */
    char *text; /* ABORT message, owned */
    char *data; /* FENCE contribution, CONTROL targets (ints), owned */
    size_t len;
    struct pmixd_names_msg *names; /* NAMES, owned */
    uint32_t id;                   /* DMODEX, DMODEX_SERVED */
    int rank;                      /* DMODEX, DMODEX_SERVED */
};

enum { PMIXD_TIMED_FENCES = 4 };

struct pmixd_times {
    double created; /* the namespace registered */
    double connect_first, connect_last;
    int nconnected;
    int nfences;
    double fence_in[PMIXD_TIMED_FENCES];  /* this node's ranks all in */
    double fence_out[PMIXD_TIMED_FENCES]; /* released to them */
    int nfinalized;
    double finalize_last;
};

static double pmixd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A client, as OpenPMIx hands it back (server_object). */
struct pmixd_client {
    struct pmixd_job *job;
    int index;
    int rank;
};

struct pmixd_job {
    struct pmixd_job *next; /* in pmixd_jobs */
    struct pmixd_job_config config;
    const struct pmixd_job_ops *ops;
    void *arg;
    char nspace[PMIX_MAX_NSLEN + 1];
    char *nsdir;
    int nlocal;
    struct pmixd_client *clients;
    bool *connected; /* loop thread's view */
    bool *finalized;
    uv_async_t async;
    pthread_mutex_t lock; /* guards the queue and the pending fence */
    struct pmixd_event *head, **tail;
    /* the fence waiting for the other nodes */
    bool fence_pending;
    pmix_modex_cbfunc_t fence_cb;
    void *fence_cbdata;
    char *fence_own;
    size_t fence_own_len;
    /* names: the job's table (ops->names NULL), used on the PMIx thread
     * only; and the requests waiting for an answer, under lock */
    pubsub_t *names;
    struct pmixd_pending *pending;
    uint32_t next_id;
    /* SHOAL_PMIX_TIMES: when things happened (CLOCK_MONOTONIC), written
     * out when the job is destroyed; under lock */
    char *times_path;
    struct pmixd_times times;
    /* direct modex requests of local ranks (under lock), and the timer
     * of their PMIX_TIMEOUTs (loop thread) */
    struct pmixd_dmx *dmx;
    uint32_t dmx_next_id;
    uv_timer_t dmx_timer;
    bool closed; /* pmixd_job_close() was called (under lock) */
    /* the OMPI_MCA_mtl setting the ranks get (NULL none), once made */
    char *ompi_mtl;
    bool ompi_mtl_done;
};

/* the server, once per process */
static pthread_mutex_t pmixd_lock = PTHREAD_MUTEX_INITIALIZER;
static bool pmixd_running;
static char pmixd_dir[512];
static unsigned pmixd_serial;
static struct pmixd_job *pmixd_jobs;        /* guarded by pmixd_lock */
static struct pmixd_serving *pmixd_serving; /* guarded by pmixd_lock */
/* the topology handed to OpenPMIx, which keeps using it */
static hwloc_topology_t pmixd_topo;

/* Waiting for an OpenPMIx operation that completes on its thread. */
struct pmixd_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    pmix_status_t status;
};

static void pmixd_wait_init(struct pmixd_wait *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->done = false;
    w->status = PMIX_SUCCESS;
}

static void pmixd_wait_cb(pmix_status_t status, void *cbdata)
{
    struct pmixd_wait *w = cbdata;

    pthread_mutex_lock(&w->lock);
    w->status = status;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static pmix_status_t pmixd_wait_for(struct pmixd_wait *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    return w->status;
}

const char *pmixd_version(void)
{
    return PMIx_Get_version();
}

/* Events ----------------------------------------------------------------- */

static struct pmixd_job *pmixd_job_find(const char *nspace)
{
    struct pmixd_job *job;

    pthread_mutex_lock(&pmixd_lock);
    for (job = pmixd_jobs; job; job = job->next)
        if (strncmp(job->nspace, nspace, PMIX_MAX_NSLEN) == 0)
            break;
    pthread_mutex_unlock(&pmixd_lock);
    return job;
}

static void pmixd_names_msg_free(struct pmixd_names_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->req.n; i++) {
        free((char *)m->names[i].key);
        free((char *)m->names[i].value);
    }
    free(m->names);
    free(m);
}

static void pmixd_event_free(struct pmixd_event *ev)
{
    free(ev->text);
    free(ev->data);
    pmixd_names_msg_free(ev->names);
    free(ev);
}

static void pmixd_queue(struct pmixd_job *job, struct pmixd_event *ev)
{
    pthread_mutex_lock(&job->lock);
    if (job->closed) {
        /* nobody is left to act on it */
        pthread_mutex_unlock(&job->lock);
        pmixd_event_free(ev);
        return;
    }
    *job->tail = ev;
    job->tail = &ev->next;
    uv_async_send(&job->async);
    pthread_mutex_unlock(&job->lock);
}

static void pmixd_dmx_arm(struct pmixd_job *job);

static void pmixd_queue_simple(struct pmixd_client *c,
                               enum pmixd_event_kind kind,
                               int status,
                               const char *text)
{
    struct pmixd_event *ev = calloc(1, sizeof(*ev));

    if (!ev)
        return;
    ev->kind = kind;
    ev->index = c->index;
    ev->status = status;
    if (text)
        ev->text = strdup(text);
    pmixd_queue(c->job, ev);
}

void pmixd_job_poll(pmixd_job_t *job)
{
    struct pmixd_event *ev;

    if (!job)
        return;
    pthread_mutex_lock(&job->lock);
    ev = job->head;
    job->head = NULL;
    job->tail = &job->head;
    pthread_mutex_unlock(&job->lock);
    while (ev) {
        struct pmixd_event *next = ev->next;

        switch (ev->kind) {
        case PMIXD_EV_CONNECTED:
            job->connected[ev->index] = true;
            break;
        case PMIXD_EV_FINALIZED:
            job->finalized[ev->index] = true;
            break;
        case PMIXD_EV_ABORT:
            job->ops->abort(job->clients[ev->index].rank, ev->status,
                            ev->text ? ev->text : "", job->arg);
            break;
        case PMIXD_EV_FENCE:
            job->ops->fence(job, ev->data, ev->len, job->arg);
            break;
        case PMIXD_EV_NAMES:
            job->ops->names(job, &ev->names->req, job->arg);
            break;
        case PMIXD_EV_CONTROL:
            job->ops->control(job->clients[ev->index].rank, ev->status,
                              (const int *)ev->data,
                              (int)(ev->len / sizeof(int)), job->arg);
            break;
        case PMIXD_EV_DMODEX:
            pmixd_dmx_arm(job);
            job->ops->dmodex(job, ev->id, ev->rank, job->arg);
            break;
        case PMIXD_EV_DMODEX_SERVED:
            job->ops->dmodex_served(job, ev->id, ev->rank, ev->status, ev->data,
                                    ev->len, job->arg);
            break;
        }
        pmixd_event_free(ev);
        ev = next;
    }
}

static void pmixd_async_cb(uv_async_t *async)
{
    pmixd_job_poll(async->data);
}

/* The server module (OpenPMIx's thread) ---------------------------------- */

static pmix_status_t pmixd_connected(const pmix_proc_t *proc,
                                     void *server_object,
                                     pmix_op_cbfunc_t cbfunc,
                                     void *cbdata)
{
    struct pmixd_client *c = server_object;

    (void)proc;
    if (c && c->job->times_path) {
        struct pmixd_times *t = &c->job->times;

        pthread_mutex_lock(&c->job->lock);
        t->connect_last = pmixd_now();
        if (t->nconnected++ == 0)
            t->connect_first = t->connect_last;
        pthread_mutex_unlock(&c->job->lock);
    }
    if (c)
        pmixd_queue_simple(c, PMIXD_EV_CONNECTED, 0, NULL);
    if (cbfunc)
        cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

static pmix_status_t pmixd_finalized(const pmix_proc_t *proc,
                                     void *server_object,
                                     pmix_op_cbfunc_t cbfunc,
                                     void *cbdata)
{
    struct pmixd_client *c = server_object;

    (void)proc;
    if (c && c->job->times_path) {
        pthread_mutex_lock(&c->job->lock);
        c->job->times.nfinalized++;
        c->job->times.finalize_last = pmixd_now();
        pthread_mutex_unlock(&c->job->lock);
    }
    if (c)
        pmixd_queue_simple(c, PMIXD_EV_FINALIZED, 0, NULL);
    if (cbfunc)
        cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

/* The job ends with the rank's status whatever procs it names: shoal ends
 * jobs whole. The rank is released at once (it exits by itself, as Open
 * MPI's ranks do after PMIx_Abort); the event is queued first, so the
 * owner learns of the abort before it can reap the rank. */
static pmix_status_t pmixd_abort(const pmix_proc_t *proc,
                                 void *server_object,
                                 int status,
                                 const char msg[],
                                 pmix_proc_t procs[],
                                 size_t nprocs,
                                 pmix_op_cbfunc_t cbfunc,
                                 void *cbdata)
{
    struct pmixd_client *c = server_object;

    (void)proc;
    (void)procs;
    (void)nprocs;
    if (c)
        pmixd_queue_simple(c, PMIXD_EV_ABORT, status, msg);
    if (cbfunc)
        cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

static pmix_status_t pmixd_fence(const pmix_proc_t procs[],
                                 size_t nprocs,
                                 const pmix_info_t info[],
                                 size_t ninfo,
                                 char *data,
                                 size_t ndata,
                                 pmix_modex_cbfunc_t cbfunc,
                                 void *cbdata)
{
    struct pmixd_job *job = nprocs > 0 ? pmixd_job_find(procs[0].nspace) : NULL;
    struct pmixd_event *ev;

    (void)info;
    (void)ninfo;
    if (!job)
        return PMIX_ERR_NOT_FOUND;
    if (job->times_path) {
        pthread_mutex_lock(&job->lock);
        if (job->times.nfences < PMIXD_TIMED_FENCES)
            job->times.fence_in[job->times.nfences] = pmixd_now();
        if (!job->ops->fence && job->times.nfences < PMIXD_TIMED_FENCES)
            job->times.fence_out[job->times.nfences] = pmixd_now();
        job->times.nfences++;
        pthread_mutex_unlock(&job->lock);
    }
    if (!job->ops->fence) {
        /* every participant is here: the data is everyone's */
        if (cbfunc)
            cbfunc(PMIX_SUCCESS, data, ndata, cbdata, NULL, NULL);
        return PMIX_SUCCESS;
    }
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        return PMIX_ERR_NOMEM;
    ev->kind = PMIXD_EV_FENCE;
    if (ndata > 0) {
        ev->data = malloc(ndata);
        if (!ev->data) {
            free(ev);
            return PMIX_ERR_NOMEM;
        }
        memcpy(ev->data, data, ndata);
        ev->len = ndata;
    }
    pthread_mutex_lock(&job->lock);
    if (job->fence_pending) {
        pthread_mutex_unlock(&job->lock);
        free(ev->data);
        free(ev);
        LOG(LOG_LEVEL_ERR, LOG_PMI,
            "pmix: %s: a second fence while one "
            "is pending",
            job->nspace);
        return PMIX_ERR_NOT_SUPPORTED;
    }
    job->fence_pending = true;
    job->fence_cb = cbfunc;
    job->fence_cbdata = cbdata;
    job->fence_own = NULL;
    job->fence_own_len = 0;
    if (ndata > 0) {
        job->fence_own = malloc(ndata);
        if (job->fence_own) {
            memcpy(job->fence_own, data, ndata);
            job->fence_own_len = ndata;
        }
    }
    pthread_mutex_unlock(&job->lock);
    pmixd_queue(job, ev);
    return PMIX_SUCCESS;
}

static pmix_status_t pmixd_spawn(const pmix_proc_t *proc,
                                 const pmix_info_t job_info[],
                                 size_t ninfo,
                                 const pmix_app_t apps[],
                                 size_t napps,
                                 pmix_spawn_cbfunc_t cbfunc,
                                 void *cbdata)
{
    (void)job_info;
    (void)ninfo;
    (void)apps;
    (void)napps;
    (void)cbfunc;
    (void)cbdata;
    LOG(LOG_LEVEL_WARNING, LOG_PMI,
        "pmix: rank %u of %s asked to spawn processes: dynamic process "
        "management is not supported",
        proc->rank, proc->nspace);
    return PMIX_ERR_NOT_SUPPORTED;
}

/* Names ------------------------------------------------------------------ */

/* A directive, not a name to publish: what the client's library and the
 * server add (range, persistence, its user and group, a timeout). */
static bool pmixd_is_directive(const char *key)
{
    return strncmp(key, "pmix.", 5) == 0;
}

static pmix_status_t pmixd_status_of(int rc)
{
    switch (rc) {
    case 0:
        return PMIX_SUCCESS;
    case -ENOENT:
        return PMIX_ERR_NOT_FOUND;
    case -EEXIST:
        return PMIX_ERR_DUPLICATE_KEY;
    case -ENOMEM:
        return PMIX_ERR_NOMEM;
    case -EINVAL:
        return PMIX_ERR_BAD_PARAM;
    default:
        return PMIX_ERROR;
    }
}

/* "RANK:HEX": the publisher and the value as OpenPMIx packs it. */
static char *pmixd_value_encode(int rank, const pmix_value_t *value)
{
    static const char hex[] = "0123456789abcdef";
    pmix_data_buffer_t buf;
    pmix_byte_object_t bo = {0};
    char *text = NULL;
    int off;

    PMIX_DATA_BUFFER_CONSTRUCT(&buf);
    if (PMIx_Data_pack(NULL, &buf, (void *)value, 1, PMIX_VALUE) != PMIX_SUCCESS
        || PMIx_Data_unload(&buf, &bo) != PMIX_SUCCESS)
        goto out;
    text = malloc(16 + 2 * bo.size);
    if (!text)
        goto out;
    off = sprintf(text, "%d:", rank);
    for (size_t i = 0; i < bo.size; i++) {
        text[off++] = hex[(unsigned char)bo.bytes[i] >> 4];
        text[off++] = hex[(unsigned char)bo.bytes[i] & 15];
    }
    text[off] = '\0';
out:
    PMIX_BYTE_OBJECT_DESTRUCT(&bo);
    PMIX_DATA_BUFFER_DESTRUCT(&buf);
    return text;
}

static int pmixd_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Fill pd (key set by the caller) from text as pmixd_value_encode() made
 * it. Returns false for text that is not so made. */
static bool
pmixd_value_decode(const char *nspace, const char *text, pmix_pdata_t *pd)
{
    pmix_data_buffer_t buf;
    pmix_byte_object_t bo = {0};
    const char *hexs;
    char *end;
    long rank = strtol(text, &end, 10);
    size_t len;
    int32_t cnt = 1;
    pmix_status_t st;

    if (end == text || *end != ':' || rank < 0)
        return false;
    hexs = end + 1;
    len = strlen(hexs);
    if (len == 0 || len % 2)
        return false;
    bo.bytes = malloc(len / 2);
    if (!bo.bytes)
        return false;
    bo.size = len / 2;
    for (size_t i = 0; i < bo.size; i++) {
        int hi = pmixd_hex(hexs[2 * i]), lo = pmixd_hex(hexs[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(bo.bytes);
            return false;
        }
        bo.bytes[i] = (char)(hi << 4 | lo);
    }
    PMIX_DATA_BUFFER_CONSTRUCT(&buf);
    PMIx_Data_load(&buf, &bo); /* takes the bytes */
    st = PMIx_Data_unpack(NULL, &buf, &pd->value, &cnt, PMIX_VALUE);
    PMIX_DATA_BUFFER_DESTRUCT(&buf);
    if (st != PMIX_SUCCESS)
        return false;
    PMIX_PROC_LOAD(&pd->proc, nspace, (pmix_rank_t)rank);
    return true;
}

/* Answer a lookup with what was found (values[i] NULL: key i was not). */
static void pmixd_lookup_answer(const char *nspace,
                                int rc,
                                const char *const *keys,
                                const char *const *values,
                                size_t n,
                                pmix_lookup_cbfunc_t cb,
                                void *cbdata)
{
    pmix_pdata_t *pd = NULL;
    size_t found = 0;

    if (!cb)
        return;
    if (rc == 0 && n > 0) {
        PMIX_PDATA_CREATE(pd, n);
        if (!pd)
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!values[i])
            continue;
        PMIX_LOAD_KEY(pd[found].key, keys[i]);
        if (pmixd_value_decode(nspace, values[i], &pd[found]))
            found++;
        else
            LOG(LOG_LEVEL_ERR, LOG_PMI, "pmix: %s: bad published value of '%s'",
                nspace, keys[i]);
    }
    if (rc == 0 && found == 0)
        rc = -ENOENT;
    cb(pmixd_status_of(rc), rc == 0 ? pd : NULL, rc == 0 ? found : 0, cbdata);
    if (pd)
        PMIX_PDATA_FREE(pd, n);
}

/* A lookup this server kept: cookie is its pending entry. */
struct pmixd_waiting {
    struct pmixd_job *job;
    pmix_lookup_cbfunc_t cb;
    void *cbdata;
};

static void
pmixd_ready_cb(void *cookie, const char *const *keys, size_t n, void *arg)
{
    struct pmixd_waiting *w = cookie;
    const char **values = calloc(n ? n : 1, sizeof(char *));

    (void)arg;
    if (values)
        pubsub_lookup(w->job->names, keys, n, values, NULL);
    pmixd_lookup_answer(w->job->nspace, values ? 0 : -ENOMEM, keys, values, n,
                        w->cb, w->cbdata);
    free(values);
    free(w);
}

static void pmixd_drop_cb(void *cookie, void *arg)
{
    (void)arg;
    free(cookie);
}

/* Serve a request on this server's table (the whole job is here); runs
 * on the PMIx thread. */
static pmix_status_t pmixd_names_local(struct pmixd_job *job,
                                       struct pmixd_names_msg *m,
                                       pmix_op_cbfunc_t opcb,
                                       pmix_lookup_cbfunc_t lookupcb,
                                       void *cbdata)
{
    const struct pmixd_names_req *req = &m->req;
    const char **values = calloc(req->n ? req->n : 1, sizeof(char *));
    const char **keys = calloc(req->n ? req->n : 1, sizeof(char *));
    struct pmixd_waiting *w = calloc(1, sizeof(*w));
    int rc = -ENOMEM;

    if (!job->names && pubsub_create(&job->names) < 0)
        goto out;
    if (!values || !keys || !w)
        goto out;
    for (size_t i = 0; i < req->n; i++)
        keys[i] = req->names[i].key;
    w->job = job;
    w->cb = lookupcb;
    w->cbdata = cbdata;
    rc = pubsub_serve(job->names, req->op, req->rank, req->wait, req->names,
                      req->n, values, NULL, w);
    if (rc == 1) {
        w = NULL; /* kept until a publish completes it */
    } else if (req->op == PUBSUB_LOOKUP) {
        pmixd_lookup_answer(job->nspace, rc, keys, values, req->n, lookupcb,
                            cbdata);
    } else if (opcb) {
        opcb(pmixd_status_of(rc), cbdata);
    }
    if (rc == 0 && req->op == PUBSUB_PUBLISH)
        pubsub_ready(job->names, pmixd_ready_cb, NULL);
    rc = 0;
out:
    free(values);
    free(keys);
    free(w);
    pmixd_names_msg_free(m);
    return pmixd_status_of(rc);
}

/* A request from proc: to this server's table, or queued for the owner. */
static pmix_status_t pmixd_names(const pmix_proc_t *proc,
                                 struct pmixd_names_msg *m,
                                 pmix_op_cbfunc_t opcb,
                                 pmix_lookup_cbfunc_t lookupcb,
                                 void *cbdata)
{
    struct pmixd_job *job = pmixd_job_find(proc->nspace);
    struct pmixd_pending *p;
    struct pmixd_event *ev;

    if (!job || proc->rank >= (pmix_rank_t)job->config.size) {
        pmixd_names_msg_free(m);
        return PMIX_ERR_NOT_FOUND;
    }
    m->req.rank = (int)proc->rank;
    m->req.names = m->names;
    if (!job->ops->names)
        return pmixd_names_local(job, m, opcb, lookupcb, cbdata);
    p = calloc(1, sizeof(*p));
    ev = calloc(1, sizeof(*ev));
    if (!p || !ev) {
        free(p);
        free(ev);
        pmixd_names_msg_free(m);
        return PMIX_ERR_NOMEM;
    }
    p->op = m->req.op;
    p->opcb = opcb;
    p->lookupcb = lookupcb;
    p->cbdata = cbdata;
    ev->kind = PMIXD_EV_NAMES;
    ev->names = m;
    pthread_mutex_lock(&job->lock);
    p->id = m->req.id = ++job->next_id;
    p->next = job->pending;
    job->pending = p;
    pthread_mutex_unlock(&job->lock);
    pmixd_queue(job, ev);
    return PMIX_SUCCESS;
}

static struct pmixd_names_msg *pmixd_names_msg(enum pubsub_op op, size_t n)
{
    struct pmixd_names_msg *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->names = calloc(n ? n : 1, sizeof(*m->names));
    if (!m->names) {
        free(m);
        return NULL;
    }
    m->req.op = op;
    return m;
}

/* Keys as a names request (values NULL); NULL on no memory. */
static struct pmixd_names_msg *pmixd_keys_msg(enum pubsub_op op, char **keys)
{
    size_t n = 0;
    struct pmixd_names_msg *m;

    while (keys && keys[n])
        n++;
    m = pmixd_names_msg(op, n);
    for (size_t i = 0; m && i < n; i++) {
        m->names[i].key = strdup(keys[i]);
        m->req.n = i + 1;
        if (!m->names[i].key) {
            pmixd_names_msg_free(m);
            return NULL;
        }
    }
    return m;
}

static pmix_status_t pmixd_publish(const pmix_proc_t *proc,
                                   const pmix_info_t info[],
                                   size_t ninfo,
                                   pmix_op_cbfunc_t cbfunc,
                                   void *cbdata)
{
    struct pmixd_names_msg *m = pmixd_names_msg(PUBSUB_PUBLISH, ninfo);

    if (!m)
        return PMIX_ERR_NOMEM;
    for (size_t i = 0; i < ninfo; i++) {
        struct pubsub_name *nm = &m->names[m->req.n];

        if (pmixd_is_directive(info[i].key))
            continue;
        nm->key = strdup(info[i].key);
        nm->value = pmixd_value_encode((int)proc->rank, &info[i].value);
        m->req.n++;
        if (!nm->key || !nm->value) {
            pmixd_names_msg_free(m);
            return PMIX_ERR_NOMEM;
        }
    }
    if (m->req.n == 0) {
        pmixd_names_msg_free(m);
        return PMIX_ERR_BAD_PARAM;
    }
    return pmixd_names(proc, m, cbfunc, NULL, cbdata);
}

static pmix_status_t pmixd_lookup(const pmix_proc_t *proc,
                                  char **keys,
                                  const pmix_info_t info[],
                                  size_t ninfo,
                                  pmix_lookup_cbfunc_t cbfunc,
                                  void *cbdata)
{
    struct pmixd_names_msg *m = pmixd_keys_msg(PUBSUB_LOOKUP, keys);

    if (!m)
        return PMIX_ERR_NOMEM;
    if (m->req.n == 0) {
        pmixd_names_msg_free(m);
        return PMIX_ERR_BAD_PARAM;
    }
    /* PMIX_WAIT (an int, how many to wait for, 0 all; or a bool): the
     * lookup waits until all are published */
    for (size_t i = 0; i < ninfo; i++)
        if (PMIX_CHECK_KEY(&info[i], PMIX_WAIT))
            m->req.wait =
                info[i].value.type != PMIX_BOOL || info[i].value.data.flag;
    return pmixd_names(proc, m, NULL, cbfunc, cbdata);
}

static pmix_status_t pmixd_unpublish(const pmix_proc_t *proc,
                                     char **keys,
                                     const pmix_info_t info[],
                                     size_t ninfo,
                                     pmix_op_cbfunc_t cbfunc,
                                     void *cbdata)
{
    struct pmixd_names_msg *m = pmixd_keys_msg(PUBSUB_UNPUBLISH, keys);

    (void)info;
    (void)ninfo;
    if (!m)
        return PMIX_ERR_NOMEM;
    return pmixd_names(proc, m, cbfunc, NULL, cbdata);
}

int pmixd_job_names_reply(pmixd_job_t *job,
                          uint32_t id,
                          int status,
                          const struct pubsub_name *names,
                          size_t n,
                          shoal_error_t *error)
{
    struct pmixd_pending **pp, *p;

    pthread_mutex_lock(&job->lock);
    for (pp = &job->pending; *pp && (*pp)->id != id; pp = &(*pp)->next)
        ;
    p = *pp;
    if (p)
        *pp = p->next;
    pthread_mutex_unlock(&job->lock);
    if (!p)
        return shoal_errprintf(error, -EINVAL,
                               "no PMIx names request %" PRIu32 " waits", id);
    if (p->op == PUBSUB_LOOKUP) {
        const char **keys = calloc(n ? n : 1, sizeof(char *));
        const char **values = calloc(n ? n : 1, sizeof(char *));

        for (size_t i = 0; keys && values && i < n; i++) {
            keys[i] = names[i].key;
            values[i] = names[i].value;
        }
        pmixd_lookup_answer(job->nspace, keys && values ? status : -ENOMEM,
                            keys, values, n, p->lookupcb, p->cbdata);
        free(keys);
        free(values);
    } else if (p->opcb) {
        p->opcb(pmixd_status_of(status), p->cbdata);
    }
    free(p);
    return 0;
}

/* Job control ------------------------------------------------------------ */

static pmix_status_t pmixd_job_control(const pmix_proc_t *requestor,
                                       const pmix_proc_t targets[],
                                       size_t ntargets,
                                       const pmix_info_t directives[],
                                       size_t ndirs,
                                       pmix_info_cbfunc_t cbfunc,
                                       void *cbdata)
{
    struct pmixd_job *job = pmixd_job_find(requestor->nspace);
    struct pmixd_client *c = NULL;
    struct pmixd_event *ev;
    int signo = -1, *ranks = NULL, n = 0;

    if (!job || !job->ops->control)
        return PMIX_ERR_NOT_SUPPORTED;
    for (int i = 0; i < job->nlocal; i++)
        if (job->clients[i].rank == (int)requestor->rank)
            c = &job->clients[i];
    if (!c)
        return PMIX_ERR_NOT_FOUND;
    for (size_t i = 0; i < ndirs; i++) {
        if (PMIX_CHECK_KEY(&directives[i], PMIX_JOB_CTRL_KILL)
            || PMIX_CHECK_KEY(&directives[i], PMIX_JOB_CTRL_TERMINATE)) {
            if (PMIX_INFO_TRUE(&directives[i]))
                signo = 0;
        } else if (PMIX_CHECK_KEY(&directives[i], PMIX_JOB_CTRL_SIGNAL)) {
            int v = directives[i].value.data.integer;

            if (directives[i].value.type != PMIX_INT || v <= 0 || v >= 65)
                return PMIX_ERR_BAD_PARAM;
            if (signo != 0)
                signo = v;
        } else if (strncmp(directives[i].key, "pmix.jctrl.", 11) == 0) {
            LOG(LOG_LEVEL_WARNING, LOG_PMI,
                "pmix: rank %u of %s: job control '%s' is not supported",
                requestor->rank, requestor->nspace, directives[i].key);
            return PMIX_ERR_NOT_SUPPORTED;
        }
    }
    if (signo < 0)
        return PMIX_ERR_BAD_PARAM;
    /* the job's own ranks only: no other job is a rank's to signal */
    if (ntargets > 0) {
        ranks = malloc(ntargets * sizeof(int));
        if (!ranks)
            return PMIX_ERR_NOMEM;
    }
    for (size_t i = 0; i < ntargets; i++) {
        if (!PMIX_CHECK_NSPACE(targets[i].nspace, job->nspace)
            || (targets[i].rank != PMIX_RANK_WILDCARD
                && targets[i].rank >= (pmix_rank_t)job->config.size)) {
            LOG(LOG_LEVEL_WARNING, LOG_PMI,
                "pmix: rank %u of %s: job control of %s rank %u, not of "
                "its job",
                requestor->rank, requestor->nspace, targets[i].nspace,
                targets[i].rank);
            free(ranks);
            return PMIX_ERR_BAD_PARAM;
        }
        if (targets[i].rank == PMIX_RANK_WILDCARD) {
            n = 0; /* every rank */
            break;
        }
        ranks[n++] = (int)targets[i].rank;
    }
    ev = calloc(1, sizeof(*ev));
    if (!ev) {
        free(ranks);
        return PMIX_ERR_NOMEM;
    }
    ev->kind = PMIXD_EV_CONTROL;
    ev->index = c->index;
    ev->status = signo;
    if (n > 0) {
        ev->data = (char *)ranks;
        ev->len = (size_t)n * sizeof(int);
    } else {
        free(ranks);
    }
    pmixd_queue(job, ev);
    if (cbfunc)
        cbfunc(PMIX_SUCCESS, NULL, 0, cbdata, NULL, NULL);
    return PMIX_SUCCESS;
}

/* Direct modex ------------------------------------------------------------ */

static pmix_status_t pmixd_dmx_status_of(int rc)
{
    switch (rc) {
    case 0:
        return PMIX_SUCCESS;
    case -ETIMEDOUT:
        return PMIX_ERR_TIMEOUT;
    case -ESRCH:
    case -ENOENT:
        return PMIX_ERR_NOT_FOUND;
    case -ENOMEM:
        return PMIX_ERR_NOMEM;
    case -EHOSTUNREACH:
    case -ECONNRESET:
        return PMIX_ERR_UNREACH;
    default:
        return PMIX_ERROR;
    }
}

/* OpenPMIx asks for the data of proc, a rank on another node, on behalf
 * of one (or several) of this node's ranks: the request goes to the owner;
 * PMIX_TIMEOUT (seconds) bounds the wait. */
static pmix_status_t pmixd_direct_modex(const pmix_proc_t *proc,
                                        const pmix_info_t info[],
                                        size_t ninfo,
                                        pmix_modex_cbfunc_t cbfunc,
                                        void *cbdata)
{
    struct pmixd_job *job = pmixd_job_find(proc->nspace);
    struct pmixd_event *ev;
    struct pmixd_dmx *d;
    double timeout = 0;

    if (!job || proc->rank == PMIX_RANK_WILDCARD
        || proc->rank >= (pmix_rank_t)job->config.size)
        return PMIX_ERR_NOT_FOUND;
    if (!job->ops->dmodex)
        return PMIX_ERR_NOT_SUPPORTED;
    for (size_t i = 0; i < ninfo; i++) {
        if (!PMIX_CHECK_KEY(&info[i], PMIX_TIMEOUT))
            continue;
        if (info[i].value.type == PMIX_INT && info[i].value.data.integer > 0)
            timeout = info[i].value.data.integer;
        else if (info[i].value.type == PMIX_UINT32)
            timeout = info[i].value.data.uint32;
    }
    d = calloc(1, sizeof(*d));
    ev = calloc(1, sizeof(*ev));
    if (!d || !ev) {
        free(d);
        free(ev);
        return PMIX_ERR_NOMEM;
    }
    d->rank = (int)proc->rank;
    d->deadline = timeout > 0 ? pmixd_now() + timeout : 0;
    d->cb = cbfunc;
    d->cbdata = cbdata;
    ev->kind = PMIXD_EV_DMODEX;
    ev->rank = d->rank;
    pthread_mutex_lock(&job->lock);
    d->id = ev->id = ++job->dmx_next_id;
    d->next = job->dmx;
    job->dmx = d;
    pthread_mutex_unlock(&job->lock);
    pmixd_queue(job, ev);
    return PMIX_SUCCESS;
}

static struct pmixd_dmx *pmixd_dmx_take(struct pmixd_job *job, uint32_t id)
{
    struct pmixd_dmx **pp, *d;

    pthread_mutex_lock(&job->lock);
    for (pp = &job->dmx; *pp && (*pp)->id != id; pp = &(*pp)->next)
        ;
    d = *pp;
    if (d)
        *pp = d->next;
    pthread_mutex_unlock(&job->lock);
    return d;
}

static void pmixd_dmx_release_cb(void *cbdata)
{
    free(cbdata);
}

static void pmixd_dmx_complete(struct pmixd_job *job,
                               struct pmixd_dmx *d,
                               int status,
                               const void *data,
                               size_t len)
{
    char *copy = NULL;

    if (status == 0) {
        copy = malloc(len ? len : 1);
        if (!copy)
            status = -ENOMEM;
        else if (len)
            memcpy(copy, data, len);
    }
    if (status != 0)
        LOG(LOG_LEVEL_WARNING, LOG_PMI,
            "pmix: %s: the data of rank %d did not come: %s", job->nspace,
            d->rank,
            status == -ESRCH       ? "the rank is gone"
            : status == -ETIMEDOUT ? "timed out (PMIX_TIMEOUT)"
                                   : strerror(-status));
    if (d->cb && status == 0)
        d->cb(PMIX_SUCCESS, copy, len, d->cbdata, pmixd_dmx_release_cb, copy);
    else if (d->cb)
        d->cb(pmixd_dmx_status_of(status), NULL, 0, d->cbdata, NULL, NULL);
    else
        free(copy);
    free(d);
}

int pmixd_job_dmodex_reply(
    pmixd_job_t *job, uint32_t id, int status, const void *data, size_t len)
{
    struct pmixd_dmx *d = pmixd_dmx_take(job, id);

    if (!d)
        return -ENOENT;
    pmixd_dmx_complete(job, d, status > 0 ? -EPROTO : status, data, len);
    pmixd_dmx_arm(job);
    return 0;
}

/* The timer of the earliest PMIX_TIMEOUT: requests past theirs fail. */
static void pmixd_dmx_timer_cb(uv_timer_t *timer)
{
    struct pmixd_job *job = timer->data;
    double now = pmixd_now();

    for (;;) {
        struct pmixd_dmx **pp, *d = NULL;

        pthread_mutex_lock(&job->lock);
        for (pp = &job->dmx; *pp; pp = &(*pp)->next)
            if ((*pp)->deadline > 0 && (*pp)->deadline <= now) {
                d = *pp;
                *pp = d->next;
                break;
            }
        pthread_mutex_unlock(&job->lock);
        if (!d)
            break;
        pmixd_dmx_complete(job, d, -ETIMEDOUT, NULL, 0);
    }
    pmixd_dmx_arm(job);
}

/* (Re)start the timer for the earliest deadline; loop thread. */
static void pmixd_dmx_arm(struct pmixd_job *job)
{
    double first = 0;

    if (uv_is_closing((uv_handle_t *)&job->dmx_timer))
        return;
    pthread_mutex_lock(&job->lock);
    for (struct pmixd_dmx *d = job->dmx; d; d = d->next)
        if (d->deadline > 0 && (first == 0 || d->deadline < first))
            first = d->deadline;
    pthread_mutex_unlock(&job->lock);
    if (first == 0) {
        uv_timer_stop(&job->dmx_timer);
        return;
    }
    first -= pmixd_now();
    uv_timer_start(&job->dmx_timer, pmixd_dmx_timer_cb,
                   first > 0 ? (uint64_t)(first * 1000.0) + 1 : 0, 0);
}

/* OpenPMIx has the data of a rank of ours for another node (PMIx thread). */
static void
pmixd_served_cb(pmix_status_t status, char *data, size_t sz, void *cbdata)
{
    struct pmixd_serving *sv = cbdata, **pp;
    struct pmixd_job *job;
    struct pmixd_event *ev;
    bool known = false;

    pthread_mutex_lock(&pmixd_lock);
    for (pp = &pmixd_serving; *pp; pp = &(*pp)->next)
        if (*pp == sv) {
            *pp = sv->next;
            known = true;
            break;
        }
    if (!known) {
        pthread_mutex_unlock(&pmixd_lock);
        return;
    }
    for (job = pmixd_jobs; job; job = job->next)
        if (strncmp(job->nspace, sv->nspace, PMIX_MAX_NSLEN) == 0)
            break;
    ev = job ? calloc(1, sizeof(*ev)) : NULL;
    if (ev) {
        ev->kind = PMIXD_EV_DMODEX_SERVED;
        ev->id = sv->id;
        ev->rank = sv->rank;
        ev->status = status == PMIX_SUCCESS ? 0 : -ENOENT;
        if (status == PMIX_SUCCESS && sz > 0) {
            ev->data = malloc(sz);
            if (ev->data) {
                memcpy(ev->data, data, sz);
                ev->len = sz;
            } else {
                ev->status = -ENOMEM;
            }
        }
        /* under pmixd_lock: the job cannot be destroyed meanwhile */
        pmixd_queue(job, ev);
    }
    pthread_mutex_unlock(&pmixd_lock);
    free(sv);
}

int pmixd_job_dmodex_serve(pmixd_job_t *job,
                           uint32_t id,
                           int rank,
                           shoal_error_t *error)
{
    struct pmixd_serving *sv;
    bool mine = false;
    pmix_proc_t proc;
    pmix_status_t st;

    for (int i = 0; i < job->nlocal; i++)
        mine = mine || job->clients[i].rank == rank;
    if (!mine)
        return shoal_errprintf(error, -EINVAL,
                               "rank %d does not run on this node", rank);
    sv = calloc(1, sizeof(*sv));
    if (!sv)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    snprintf(sv->nspace, sizeof(sv->nspace), "%s", job->nspace);
    sv->id = id;
    sv->rank = rank;
    pthread_mutex_lock(&pmixd_lock);
    sv->next = pmixd_serving;
    pmixd_serving = sv;
    pthread_mutex_unlock(&pmixd_lock);
    PMIX_PROC_LOAD(&proc, job->nspace, (pmix_rank_t)rank);
    st = PMIx_server_dmodex_request(&proc, pmixd_served_cb, sv);
    if (st != PMIX_SUCCESS) {
        struct pmixd_serving **pp;
        bool still = false;

        /* it did not take it: unless it called back already, it never will */
        pthread_mutex_lock(&pmixd_lock);
        for (pp = &pmixd_serving; *pp; pp = &(*pp)->next)
            if (*pp == sv) {
                *pp = sv->next;
                still = true;
                break;
            }
        pthread_mutex_unlock(&pmixd_lock);
        if (still)
            free(sv);
        return shoal_errprintf(error, -EIO,
                               "PMIx refused the data of rank %d: %s", rank,
                               PMIx_Error_string(st));
    }
    return 0;
}

static void pmixd_log(const pmix_proc_t *client,
                      const pmix_info_t data[],
                      size_t ndata,
                      const pmix_info_t directives[],
                      size_t ndirs,
                      pmix_op_cbfunc_t cbfunc,
                      void *cbdata)
{
    (void)directives;
    (void)ndirs;
    for (size_t i = 0; i < ndata; i++)
        if (data[i].value.type == PMIX_STRING)
            LOG(LOG_LEVEL_NOTICE, LOG_PMI, "pmix: rank %u of %s: %s: %s",
                client->rank, client->nspace, data[i].key,
                data[i].value.data.string);
    if (cbfunc)
        cbfunc(PMIX_SUCCESS, cbdata);
}

static pmix_server_module_t pmixd_module = {
    .client_connected = pmixd_connected,
    .client_finalized = pmixd_finalized,
    .abort = pmixd_abort,
    .fence_nb = pmixd_fence,
    .spawn = pmixd_spawn,
    .log = pmixd_log,
    .publish = pmixd_publish,
    .lookup = pmixd_lookup,
    .unpublish = pmixd_unpublish,
    .job_control = pmixd_job_control,
    .direct_modex = pmixd_direct_modex,
};

/* The server's directory ----------------------------------------------- */

static void pmixd_atexit(void)
{
    if (!pmixd_running)
        return;
    pmixd_running = false;
    PMIx_server_finalize();
    /* requests OpenPMIx never answered: it calls back no more */
    while (pmixd_serving) {
        struct pmixd_serving *next = pmixd_serving->next;
        free(pmixd_serving);
        pmixd_serving = next;
    }
    fs_remove_tree(pmixd_dir);
    if (pmixd_topo)
        hwloc_topology_destroy(pmixd_topo);
    pmixd_topo = NULL;
}

/* hwloc loads its plugins when a process's first topology is created
 * (again once every topology was destroyed, as in a proxy that bound its
 * ranks before it serves PMIx), and with them their libraries: PCI,
 * OpenCL, GL (X11), CUDA. They only add I/O devices, which the topology
 * handed to the clients leaves out anyway, and loading them is most of
 * the server's start on a busy machine. hwloc reads its blacklist from
 * the environment only: it is set around the init and removed again,
 * leaving the ranks' environment as it was; a user's own setting wins. */
static int pmixd_topo_init(hwloc_topology_t *topo)
{
    bool ours = getenv("HWLOC_PLUGINS_BLACKLIST") == NULL;
    int rc;

    if (ours)
        setenv("HWLOC_PLUGINS_BLACKLIST",
               "hwloc_opencl,hwloc_gl,hwloc_pci,hwloc_cuda,hwloc_nvml,"
               "hwloc_rsmi,hwloc_levelzero",
               1);
    rc = hwtopo_init(topo);
    if (ours)
        unsetenv("HWLOC_PLUGINS_BLACKLIST");
    return rc;
}

/* when this process's server started, and was up (SHOAL_PMIX_TIMES) */
static double pmixd_start_began, pmixd_start_done;

/* When this process started, on CLOCK_MONOTONIC's scale (the kernel
 * counts from boot in clock ticks; a machine that never slept has the
 * two alike); 0 when unknown. */
static double pmixd_process_started(void)
{
    FILE *f = fopen("/proc/self/stat", "re");
    char buf[1024], *p;
    unsigned long long ticks = 0;
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* after the command's ")": state is field 3, starttime field 22 */
    p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
        return 0;
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static int pmixd_server_start(hwloc_topology_t owners, shoal_error_t *error)
{
    const char *tmp = getenv("TMPDIR");
    pmix_info_t info[7];
    pmix_topology_t topo = {.source = "hwloc", .topology = NULL};
    size_t ninfo = 5;
    char host[256] = "localhost";
    char srvname[PMIX_MAX_NSLEN + 1];
    bool no = false, yes = true;
    pmix_status_t st;

    if (pmixd_running)
        return 0;
    pmixd_start_began = pmixd_now();
    if (!tmp || !*tmp)
        tmp = "/tmp";
    /* what servers that crashed left: shoal-pmix.PID of a PID that is
     * gone, and ours only */
    fs_sweep_orphans(tmp, "shoal-pmix.");
    snprintf(pmixd_dir, sizeof(pmixd_dir), "%s/shoal-pmix.%ld", tmp,
             (long)getpid());
    /* Job data reaches clients over their connection, not through shared
     * memory files (OpenPMIx's dstore), whose permissions would have to be
     * those of every user the ranks run as. */
    setenv("PMIX_MCA_gds", "hash", 0);
    /* ranks may run as other users: they may pass through to their own
     * directories, not list the others */
    if (mkdir(pmixd_dir, 0711) < 0 && errno != EEXIST)
        return shoal_errprintf(error, -errno,
                               "cannot create PMIx directory '%s': %s",
                               pmixd_dir, strerror(errno));
    gethostname(host, sizeof(host) - 1);
    snprintf(srvname, sizeof(srvname), "shoal.%ld", (long)getpid());
    PMIX_INFO_LOAD(&info[0], PMIX_SERVER_TMPDIR, pmixd_dir, PMIX_STRING);
    PMIX_INFO_LOAD(&info[1], PMIX_SYSTEM_TMPDIR, pmixd_dir, PMIX_STRING);
    PMIX_INFO_LOAD(&info[2], PMIX_SERVER_TOOL_SUPPORT, &no, PMIX_BOOL);
    PMIX_INFO_LOAD(&info[3], PMIX_SERVER_SYSTEM_SUPPORT, &no, PMIX_BOOL);
    PMIX_INFO_LOAD(&info[4], PMIX_SERVER_NSPACE, srvname, PMIX_STRING);
    /* This machine's topology, without I/O devices: OpenPMIx would discover
     * its own, with them, which costs several times as much (most of the
     * server's start). It is shared with the clients (a shared-memory
     * copy they adopt, PMIX_HWLOC_SHMEM_*), so Open MPI's ranks do not
     * each discover it again in MPI_Init: 20-30% of a hello's time. */
    /* The owner's, when it loaded this machine's already: a copy costs
     * nothing beside a second discovery. */
    if (!pmixd_topo && owners && hwloc_topology_is_thissystem(owners)
        && hwloc_topology_dup(&pmixd_topo, owners) < 0)
        pmixd_topo = NULL;
    if (!pmixd_topo && pmixd_topo_init(&pmixd_topo) == 0
        && hwloc_topology_load(pmixd_topo) < 0) {
        hwloc_topology_destroy(pmixd_topo);
        pmixd_topo = NULL;
    }
    if (pmixd_topo) {
        topo.topology = pmixd_topo;
        PMIX_INFO_LOAD(&info[ninfo], PMIX_TOPOLOGY2, &topo, PMIX_TOPO);
        ninfo++;
        PMIX_INFO_LOAD(&info[ninfo], PMIX_SERVER_SHARE_TOPOLOGY, &yes,
                       PMIX_BOOL);
        ninfo++;
    }
    st = PMIx_server_init(&pmixd_module, info, ninfo);
    /* not the topology's: destructing it would destroy the topology the
     * server goes on using */
    for (size_t i = 0; i < 5; i++)
        PMIX_INFO_DESTRUCT(&info[i]);
    if (st != PMIX_SUCCESS) {
        fs_remove_tree(pmixd_dir);
        return shoal_errprintf(error, -EIO, "cannot start PMIx server: %s",
                               PMIx_Error_string(st));
    }
    pmixd_running = true;
    pmixd_start_done = pmixd_now();
    atexit(pmixd_atexit);
    LOG(LOG_LEVEL_DEBUG, LOG_PMI, "pmix: server %s up in %s", srvname,
        pmixd_dir);
    return 0;
}

/* Registering a namespace ------------------------------------------------ */

/* "a,b,c" of n ints */
static char *pmixd_join_ints(const int *v, int n, const char *sep)
{
    size_t cap = (size_t)n * 12 + 1;
    char *s = malloc(cap);
    size_t at = 0;

    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%s%d", i ? sep : "", v[i]);
    return s;
}

static char *pmixd_cpuset_string(cpu_set_t *cpus, char **locality)
{
    hwloc_bitmap_t bm = hwloc_bitmap_alloc();
    pmix_cpuset_t cs = {.source = "hwloc", .bitmap = NULL};
    char *str = NULL;

    *locality = NULL;
    if (!bm)
        return NULL;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, cpus))
            hwloc_bitmap_set(bm, (unsigned)c);
    cs.bitmap = bm;
    if (PMIx_server_generate_cpuset_string(&cs, &str) != PMIX_SUCCESS)
        str = NULL;
    if (PMIx_server_generate_locality_string(&cs, locality) != PMIX_SUCCESS)
        *locality = NULL;
    hwloc_bitmap_free(bm);
    return str;
}

#define PMIXD_ADD(list, key, val, type)                                        \
    do {                                                                       \
        if (PMIx_Info_list_add((list), (key), (val), (type)) != PMIX_SUCCESS)  \
            goto fail;                                                         \
    } while (0)

static int pmixd_register(struct pmixd_job *job, shoal_error_t *error)
{
    const struct pmixd_job_config *cfg = &job->config;
    const struct pmixd_node *me = &cfg->nodes[cfg->node_index];
    void *list = PMIx_Info_list_start();
    pmix_data_array_t darray = {0};
    pmix_info_t *info = NULL;
    size_t ninfo = 0;
    char *hosts = NULL, *ppn = NULL, *nodemap = NULL, *procmap = NULL;
    char *peers = NULL;
    uint32_t u32;
    int *node_of = NULL, *rank_on_node = NULL;
    size_t hosts_len = 0, ppn_len = 0;
    struct pmixd_wait w;
    pmix_status_t st;
    int rc = -ENOMEM;

    if (!list)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    node_of = calloc((size_t)cfg->size, sizeof(int));
    rank_on_node = calloc((size_t)cfg->size, sizeof(int));
    if (!node_of || !rank_on_node)
        goto fail;
    for (int n = 0; n < cfg->nnodes; n++) {
        hosts_len += strlen(cfg->nodes[n].host) + 1;
        ppn_len += (size_t)cfg->nodes[n].nranks * 12 + 1;
        for (int i = 0; i < cfg->nodes[n].nranks; i++) {
            node_of[cfg->nodes[n].ranks[i]] = n;
            rank_on_node[cfg->nodes[n].ranks[i]] = i;
        }
    }
    hosts = calloc(1, hosts_len + 1);
    ppn = calloc(1, ppn_len + 1);
    if (!hosts || !ppn)
        goto fail;
    for (int n = 0; n < cfg->nnodes; n++) {
        char *r =
            pmixd_join_ints(cfg->nodes[n].ranks, cfg->nodes[n].nranks, ",");
        if (!r)
            goto fail;
        if (n) {
            strcat(hosts, ",");
            strcat(ppn, ";");
        }
        strcat(hosts, cfg->nodes[n].host);
        strcat(ppn, r);
        free(r);
    }
    if (PMIx_generate_regex(hosts, &nodemap) != PMIX_SUCCESS
        || PMIx_generate_ppn(ppn, &procmap) != PMIX_SUCCESS) {
        rc = shoal_errprintf(error, -EIO, "cannot make PMIx maps");
        goto out;
    }
    peers = pmixd_join_ints(me->ranks, me->nranks, ",");
    if (!peers)
        goto fail;

    /* job level */
    u32 = (uint32_t)(cfg->universe_size > 0 ? cfg->universe_size : cfg->size);
    PMIXD_ADD(list, PMIX_UNIV_SIZE, &u32, PMIX_UINT32);
    PMIXD_ADD(list, PMIX_MAX_PROCS, &u32, PMIX_UINT32);
    u32 = (uint32_t)cfg->size;
    PMIXD_ADD(list, PMIX_JOB_SIZE, &u32, PMIX_UINT32);
    PMIXD_ADD(list, PMIX_APP_SIZE, &u32, PMIX_UINT32);
    u32 = (uint32_t)cfg->nnodes;
    PMIXD_ADD(list, PMIX_NUM_NODES, &u32, PMIX_UINT32);
    u32 = 1;
    PMIXD_ADD(list, PMIX_JOB_NUM_APPS, &u32, PMIX_UINT32);
    PMIXD_ADD(list, PMIX_JOBID, job->nspace, PMIX_STRING);
    PMIXD_ADD(list, PMIX_NODE_MAP, nodemap, PMIX_REGEX);
    PMIXD_ADD(list, PMIX_PROC_MAP, procmap, PMIX_REGEX);
    PMIXD_ADD(list, PMIX_TMPDIR, pmixd_dir, PMIX_STRING);
    PMIXD_ADD(list, PMIX_NSDIR, job->nsdir, PMIX_STRING);
    if (cfg->mapby)
        PMIXD_ADD(list, PMIX_MAPBY, cfg->mapby, PMIX_STRING);
    if (cfg->bindto)
        PMIXD_ADD(list, PMIX_BINDTO, cfg->bindto, PMIX_STRING);
    if (cfg->rankby)
        PMIXD_ADD(list, PMIX_RANKBY, cfg->rankby, PMIX_STRING);
    /* this node */
    PMIXD_ADD(list, PMIX_HOSTNAME, me->host, PMIX_STRING);
    u32 = (uint32_t)cfg->node_index;
    PMIXD_ADD(list, PMIX_NODEID, &u32, PMIX_UINT32);
    PMIXD_ADD(list, PMIX_LOCAL_PEERS, peers, PMIX_STRING);
    u32 = (uint32_t)me->nranks;
    PMIXD_ADD(list, PMIX_LOCAL_SIZE, &u32, PMIX_UINT32);
    PMIXD_ADD(list, PMIX_NODE_SIZE, &u32, PMIX_UINT32);
    u32 = (uint32_t)me->ranks[0];
    PMIXD_ADD(list, PMIX_LOCALLDR, &u32, PMIX_PROC_RANK);
    /* every rank */
    for (int r = 0; r < cfg->size; r++) {
        void *plist = PMIx_Info_list_start();
        int n = node_of[r];
        uint16_t u16 = (uint16_t)rank_on_node[r];
        uint32_t app = 0, node = (uint32_t)n;
        pmix_rank_t prank = (pmix_rank_t)r;
        char *cpuset = NULL, *locality = NULL;
        bool ok;

        if (!plist)
            goto fail;
        ok = PMIx_Info_list_add(plist, PMIX_RANK, &prank, PMIX_PROC_RANK)
                 == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_GLOBAL_RANK, &prank,
                                   PMIX_PROC_RANK)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_APP_RANK, &prank, PMIX_PROC_RANK)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_APPNUM, &app, PMIX_UINT32)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_LOCAL_RANK, &u16, PMIX_UINT16)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_NODE_RANK, &u16, PMIX_UINT16)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_NODEID, &node, PMIX_UINT32)
                    == PMIX_SUCCESS
             && PMIx_Info_list_add(plist, PMIX_HOSTNAME, cfg->nodes[n].host,
                                   PMIX_STRING)
                    == PMIX_SUCCESS;
        if (ok && n == cfg->node_index) {
            int idx = rank_on_node[r];
            char procdir[1024];

            snprintf(procdir, sizeof(procdir), "%s/%d", job->nsdir, r);
            ok = PMIx_Info_list_add(plist, PMIX_PROCDIR, procdir, PMIX_STRING)
                 == PMIX_SUCCESS;
            if (cfg->cpus && cfg->cpus[idx])
                cpuset = pmixd_cpuset_string(cfg->cpus[idx], &locality);
            if (ok && cpuset)
                ok = PMIx_Info_list_add(plist, PMIX_CPUSET, cpuset, PMIX_STRING)
                     == PMIX_SUCCESS;
            if (ok && locality)
                ok = PMIx_Info_list_add(plist, PMIX_LOCALITY_STRING, locality,
                                        PMIX_STRING)
                     == PMIX_SUCCESS;
        }
        free(cpuset);
        free(locality);
        if (ok)
            ok = PMIx_Info_list_convert(plist, &darray) == PMIX_SUCCESS;
        PMIx_Info_list_release(plist);
        if (!ok)
            goto fail;
        st = PMIx_Info_list_add(list, PMIX_PROC_DATA, &darray, PMIX_DATA_ARRAY);
        PMIX_DATA_ARRAY_DESTRUCT(&darray);
        if (st != PMIX_SUCCESS)
            goto fail;
    }
    if (PMIx_Info_list_convert(list, &darray) != PMIX_SUCCESS)
        goto fail;
    info = darray.array;
    ninfo = darray.size;
    pmixd_wait_init(&w);
    st = PMIx_server_register_nspace(job->nspace, me->nranks, info, ninfo,
                                     pmixd_wait_cb, &w);
    if (st == PMIX_SUCCESS)
        st = pmixd_wait_for(&w);
    if (st != PMIX_SUCCESS) {
        rc = shoal_errprintf(error, -EIO,
                             "cannot register PMIx namespace '%s': %s",
                             job->nspace, PMIx_Error_string(st));
        goto out;
    }
    rc = 0;
    goto out;
fail:
    rc = shoal_errprintf(error, -ENOMEM, "cannot build PMIx job information");
out:
    if (info)
        PMIX_DATA_ARRAY_DESTRUCT(&darray);
    PMIx_Info_list_release(list);
    free(hosts);
    free(ppn);
    free(nodemap);
    free(procmap);
    free(peers);
    free(node_of);
    free(rank_on_node);
    return rc;
}

/* Jobs ------------------------------------------------------------------- */

static void pmixd_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

int pmixd_job_create(const struct pmixd_job_config *config,
                     const struct pmixd_job_ops *ops,
                     void *arg,
                     pmixd_job_t **out,
                     shoal_error_t *error)
{
    struct pmixd_job *job;
    const struct pmixd_node *me;
    char path[1024];
    int rc;

    if (!config->loop || config->size <= 0 || config->nnodes <= 0
        || (config->nspace
            && (!*config->nspace || strlen(config->nspace) > PMIX_MAX_NSLEN))
        || !config->nodes || config->node_index < 0
        || config->node_index >= config->nnodes || !ops || !ops->abort)
        return shoal_errprintf(error, -EINVAL, "invalid PMIx job");
    me = &config->nodes[config->node_index];
    if (me->nranks <= 0 || !me->ranks)
        return shoal_errprintf(error, -EINVAL, "invalid PMIx job");
    rc = pmixd_server_start(config->topology, error);
    if (rc < 0)
        return rc;
    job = calloc(1, sizeof(*job));
    if (!job)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    job->config = *config;
    job->config.nspace = NULL; /* copied into job->nspace */
    job->ops = ops;
    job->arg = arg;
    job->nlocal = me->nranks;
    job->tail = &job->head;
    pthread_mutex_init(&job->lock, NULL);
    if (config->nspace)
        snprintf(job->nspace, sizeof(job->nspace), "%s", config->nspace);
    else
        snprintf(job->nspace, sizeof(job->nspace), "shoal.%ld.%u",
                 (long)getpid(), ++pmixd_serial);
    snprintf(path, sizeof(path), "%s/%s", pmixd_dir, job->nspace);
    job->nsdir = strdup(path);
    job->clients = calloc((size_t)job->nlocal, sizeof(*job->clients));
    job->connected = calloc((size_t)job->nlocal, sizeof(bool));
    job->finalized = calloc((size_t)job->nlocal, sizeof(bool));
    if (!job->nsdir || !job->clients || !job->connected || !job->finalized) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(job->nsdir, 0711) < 0 && errno != EEXIST) {
        rc = shoal_errprintf(error, -errno, "cannot create '%s': %s",
                             job->nsdir, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < job->nlocal; i++) {
        job->clients[i].job = job;
        job->clients[i].index = i;
        job->clients[i].rank = me->ranks[i];
        snprintf(path, sizeof(path), "%s/%d", job->nsdir, me->ranks[i]);
        mkdir(path, 0700);
        if (config->as_user && chown(path, config->uid, config->gid) < 0)
            LOG(LOG_LEVEL_WARNING, LOG_PMI, "pmix: cannot give '%s' to %ld: %s",
                path, (long)config->uid, strerror(errno));
    }
    pthread_mutex_lock(&pmixd_lock);
    job->next = pmixd_jobs;
    pmixd_jobs = job;
    pthread_mutex_unlock(&pmixd_lock);
    rc = pmixd_register(job, error);
    if (rc < 0) {
        struct pmixd_job **p;

        pthread_mutex_lock(&pmixd_lock);
        for (p = &pmixd_jobs; *p != job; p = &(*p)->next)
            ;
        *p = job->next;
        pthread_mutex_unlock(&pmixd_lock);
        goto fail;
    }
    uv_async_init(config->loop, &job->async, pmixd_async_cb);
    job->async.data = job;
    uv_timer_init(config->loop, &job->dmx_timer);
    job->dmx_timer.data = job;
    if (getenv("SHOAL_PMIX_TIMES") && *getenv("SHOAL_PMIX_TIMES")) {
        job->times_path = strdup(getenv("SHOAL_PMIX_TIMES"));
        job->times.created = pmixd_now();
    }
    *out = job;
    return 0;
fail:
    if (job->nsdir)
        fs_remove_tree(job->nsdir);
    free(job->nsdir);
    free(job->clients);
    free(job->connected);
    free(job->finalized);
    pthread_mutex_destroy(&job->lock);
    free(job);
    return rc;
}

/* Open MPI's settings ------------------------------------------------------ */

/* The value of param in an Open MPI parameter file ("name = value" lines,
 * '#' comments, the last one counts), or NULL. Caller frees. */
static char *pmixd_ompi_file_param(const char *path, const char *param)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    char *value = NULL;
    size_t plen = strlen(param);

    if (!f)
        return NULL;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *end;

        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, param, plen) != 0)
            continue;
        p += plen;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '=')
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        end = p + strcspn(p, "#\r\n");
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        free(value);
        value = strndup(p, (size_t)(end - p));
    }
    fclose(f);
    return value;
}

static bool pmixd_glob_any(const char *pattern)
{
    glob_t g;
    bool any = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;

    globfree(&g);
    return any;
}

/* "OMPI_MCA_mtl=..." for the ranks of user uid on this node, or NULL to
 * leave Open MPI's choice alone. Caller frees.
 *
 * Open MPI 4.1 opens every MTL component in each rank's MPI_Init (for its
 * cm PML), and the PSM ones (psm2: Omni-Path, psm: TrueScale) load their
 * libraries first and look for their device after: 100 ms each of a
 * hello's 500 on a loaded 2-core node, spent to find nothing. Where their
 * device is missing they cannot be chosen, so they are left out, which
 * changes nothing of what Open MPI picks. The setting keeps what the
 * user's or the system's parameter file says (an exclusion list is
 * extended, an inclusion list left as it is), as a variable in the
 * environment replaces theirs; a user's own OMPI_MCA_mtl wins over ours
 * (the first setting of a variable is the one a rank gets). */
static char *pmixd_ompi_mtl(uid_t uid)
{
    const char *absent[2];
    int nabsent = 0;
    struct passwd *pw = getpwuid(uid);
    char path[1024];
    char *current = NULL, *out = NULL;
    size_t len;

    if (!pmixd_glob_any("/dev/hfi1_[0-9]*"))
        absent[nabsent++] = "psm2";
    if (!pmixd_glob_any("/dev/ipath*"))
        absent[nabsent++] = "psm";
    if (nabsent == 0)
        return NULL;
    if (pw && pw->pw_dir) {
        snprintf(path, sizeof(path), "%s/.openmpi/mca-params.conf", pw->pw_dir);
        current = pmixd_ompi_file_param(path, "mtl");
    }
    if (!current)
        current = pmixd_ompi_file_param(pmixd_ompi_params, "mtl");
    if (current && current[0] != '^') {
        free(current); /* an inclusion list: the PSM ones are not opened */
        return NULL;
    }
    len = strlen("OMPI_MCA_mtl=^") + (current ? strlen(current) : 0) + 16;
    out = malloc(len);
    if (out) {
        snprintf(out, len, "OMPI_MCA_mtl=^%s", current ? current + 1 : "");
        for (int i = 0; i < nabsent; i++) {
            if (out[strlen(out) - 1] != '^')
                strcat(out, ",");
            strcat(out, absent[i]);
        }
    }
    free(current);
    return out;
}

/* Append a copy of var to the NULL-terminated array *env. */
static int pmixd_env_add(char ***env, const char *var)
{
    size_t n = 0;
    char **grown;
    char *copy = strdup(var);

    if (!copy)
        return -ENOMEM;
    while ((*env)[n])
        n++;
    grown = realloc(*env, (n + 2) * sizeof(char *));
    if (!grown) {
        free(copy);
        return -ENOMEM;
    }
    grown[n] = copy;
    grown[n + 1] = NULL;
    *env = grown;
    return 0;
}

int pmixd_job_rank_env(pmixd_job_t *job,
                       int index,
                       char ***env,
                       shoal_error_t *error)
{
    struct pmixd_client *c = &job->clients[index];
    pmix_proc_t proc;
    struct pmixd_wait w;
    char **vars;
    pmix_status_t st;

    PMIX_PROC_LOAD(&proc, job->nspace, (pmix_rank_t)c->rank);
    pmixd_wait_init(&w);
    st = PMIx_server_register_client(
        &proc, job->config.as_user ? job->config.uid : getuid(),
        job->config.as_user ? job->config.gid : getgid(), c, pmixd_wait_cb, &w);
    if (st == PMIX_SUCCESS)
        st = pmixd_wait_for(&w);
    if (st != PMIX_SUCCESS && st != PMIX_OPERATION_SUCCEEDED)
        return shoal_errprintf(error, -EIO,
                               "cannot register rank %d with PMIx: %s", c->rank,
                               PMIx_Error_string(st));
    vars = calloc(1, sizeof(char *));
    if (!vars)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    st = PMIx_server_setup_fork(&proc, &vars);
    if (st != PMIX_SUCCESS) {
        pmixd_env_free(vars);
        return shoal_errprintf(error, -EIO,
                               "cannot set up rank %d for PMIx: %s", c->rank,
                               PMIx_Error_string(st));
    }
    /* Open MPI 4.1 takes PMIx only from launchers it recognizes (its
     * "schizo" components: mpirun, Slurm, JSM, Flux); anything else makes
     * its ranks singletons. Leaving out the component that declares
     * singletons lets its PMIx component (ess pmi) take the server it is
     * given. A user's own OMPI_MCA_schizo wins (rank_set keeps the first
     * setting of a variable). */
    if (pmixd_env_add(&vars, "OMPI_MCA_schizo=^orte,slurm") < 0) {
        pmixd_env_free(vars);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    if (!job->ompi_mtl_done) {
        job->ompi_mtl =
            pmixd_ompi_mtl(job->config.as_user ? job->config.uid : getuid());
        job->ompi_mtl_done = true;
    }
    if (job->ompi_mtl && pmixd_env_add(&vars, job->ompi_mtl) < 0) {
        pmixd_env_free(vars);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    *env = vars;
    return 0;
}

void pmixd_env_free(char **env)
{
    if (!env)
        return;
    for (char **p = env; *p; p++)
        free(*p);
    free(env);
}

static void pmixd_fence_release_cb(void *cbdata)
{
    free(cbdata);
}

int pmixd_job_fence_release(pmixd_job_t *job,
                            const void *data,
                            size_t len,
                            shoal_error_t *error)
{
    pmix_modex_cbfunc_t cb;
    void *cbdata;
    char *all;
    size_t total;

    pthread_mutex_lock(&job->lock);
    if (!job->fence_pending) {
        pthread_mutex_unlock(&job->lock);
        return shoal_errprintf(error, -EINVAL, "no PMIx fence is pending");
    }
    job->fence_pending = false;
    if (job->times_path && job->times.nfences > 0
        && job->times.nfences <= PMIXD_TIMED_FENCES)
        job->times.fence_out[job->times.nfences - 1] = pmixd_now();
    cb = job->fence_cb;
    cbdata = job->fence_cbdata;
    total = job->fence_own_len + len;
    /* this node's blob, then the others': OpenPMIx reads them in turn */
    all = malloc(total ? total : 1);
    if (all) {
        if (job->fence_own_len)
            memcpy(all, job->fence_own, job->fence_own_len);
        if (len)
            memcpy(all + job->fence_own_len, data, len);
    }
    free(job->fence_own);
    job->fence_own = NULL;
    job->fence_own_len = 0;
    pthread_mutex_unlock(&job->lock);
    if (!cb) {
        free(all);
        return 0;
    }
    if (!all) {
        cb(PMIX_ERR_NOMEM, NULL, 0, cbdata, NULL, NULL);
        return 0;
    }
    cb(PMIX_SUCCESS, all, total, cbdata, pmixd_fence_release_cb, all);
    return 0;
}

bool pmixd_job_rank_connected(const pmixd_job_t *job, int index)
{
    return job && job->connected[index];
}

bool pmixd_job_rank_finalized(const pmixd_job_t *job, int index)
{
    return job && job->finalized[index];
}

/* Append the job's times to SHOAL_PMIX_TIMES as one JSON line; 0 for
 * what did not happen. Called with job->lock held. */
static void pmixd_times_write(const struct pmixd_job *job)
{
    const struct pmixd_times *t = &job->times;
    char line[1024];
    int off, fd;

    off =
        snprintf(line, sizeof(line),
                 "{\"nspace\":\"%s\",\"pid\":%ld,\"nlocal\":%d,"
                 "\"nnodes\":%d,\"created\":%.6f,\"connect_first\":%.6f,"
                 "\"connect_last\":%.6f,\"connected\":%d,"
                 "\"finalize_last\":%.6f,\"finalized\":%d,"
                 "\"closed\":%.6f,\"process_started\":%.2f,"
                 "\"server_start\":%.6f,\"server_up\":%.6f,\"fences\":[",
                 job->nspace, (long)getpid(), job->nlocal, job->config.nnodes,
                 t->created, t->connect_first, t->connect_last, t->nconnected,
                 t->finalize_last, t->nfinalized, pmixd_now(),
                 pmixd_process_started(), pmixd_start_began, pmixd_start_done);
    for (int i = 0; i < t->nfences && i < PMIXD_TIMED_FENCES; i++)
        off += snprintf(line + off, sizeof(line) - (size_t)off, "%s[%.6f,%.6f]",
                        i ? "," : "", t->fence_in[i], t->fence_out[i]);
    off += snprintf(line + off, sizeof(line) - (size_t)off, "]}\n");
    fd = open(job->times_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_PMI, "pmix: cannot open '%s': %s",
            job->times_path, strerror(errno));
        return;
    }
    if (write(fd, line, (size_t)off) != off)
        LOG(LOG_LEVEL_WARNING, LOG_PMI, "pmix: cannot write '%s'",
            job->times_path);
    close(fd);
}

void pmixd_job_destroy(pmixd_job_t *job)
{
    struct pmixd_job **p;
    struct pmixd_wait w;
    struct pmixd_event *ev;

    if (!job)
        return;
    free(job->times_path);
    free(job->ompi_mtl);
    /* no node will answer now */
    while (job->dmx) {
        struct pmixd_dmx *d = job->dmx;

        job->dmx = d->next;
        if (d->cb)
            d->cb(PMIX_ERR_LOST_CONNECTION, NULL, 0, d->cbdata, NULL, NULL);
        free(d);
    }
    pmixd_wait_init(&w);
    PMIx_server_deregister_nspace(job->nspace, pmixd_wait_cb, &w);
    pmixd_wait_for(&w);
    pthread_mutex_lock(&pmixd_lock);
    for (p = &pmixd_jobs; *p && *p != job; p = &(*p)->next)
        ;
    if (*p)
        *p = job->next;
    pthread_mutex_unlock(&pmixd_lock);
    for (ev = job->head; ev;) {
        struct pmixd_event *next = ev->next;
        pmixd_event_free(ev);
        ev = next;
    }
    /* no client is left to answer */
    while (job->pending) {
        struct pmixd_pending *next = job->pending->next;
        free(job->pending);
        job->pending = next;
    }
    if (job->names)
        pubsub_drop_waiting(job->names, pmixd_drop_cb, NULL);
    pubsub_destroy(job->names);
    free(job->fence_own);
    fs_remove_tree(job->nsdir);
    free(job->nsdir);
    free(job->clients);
    free(job->connected);
    free(job->finalized);
    pthread_mutex_destroy(&job->lock);
    free(job);
}

void pmixd_job_close(pmixd_job_t *job)
{
    if (!job || uv_is_closing((uv_handle_t *)&job->async))
        return;
    /* before the owner says the job is done: whoever waits for the job
     * finds its times written */
    if (job->times_path) {
        pthread_mutex_lock(&job->lock);
        pmixd_times_write(job);
        pthread_mutex_unlock(&job->lock);
    }
    pthread_mutex_lock(&job->lock);
    job->closed = true;
    pthread_mutex_unlock(&job->lock);
    uv_close((uv_handle_t *)&job->async, pmixd_close_cb);
    uv_close((uv_handle_t *)&job->dmx_timer, pmixd_close_cb);
}
