/* SPDX-License-Identifier: MIT */
/* node_job.c - run one node's ranks of a job for a remote coordinator. */
#include "runtime/job/node_job.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <hwloc.h>
#include <hwloc/glibc-sched.h>
#include <uv.h>

#include "runtime/guest/guest_cgroup.h"
#include "runtime/job/env.h"
#include "runtime/job/job_link.h"
#include "runtime/job/job_pmix.h"
#include "runtime/job/job_wire.h"
#include "runtime/job/node_ckpt.h"
#include "runtime/job/rank_set.h"
#include "runtime/pmi/pmi_server.h"
#include "runtime/pmix/pmixd.h"
#include "runtime/member/topo.h"
#include "util/bug.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/uvbuf.h"
#include "util/frame_reader.h"

struct node_job {
    const struct node_job_config *config;
    uv_loop_t loop;
    uv_pipe_t link;
    bool link_open;
    bool link_lost;
    bool launched;
    bool done_sent;
    bool paused;
    struct frame_reader in;
    struct job_frame launch; /* decoded LAUNCH, owned */
    int *ranks;              /* global rank of each local index */
    cpu_set_t **cpus;
    struct job_binding *bound; /* per local rank, for STARTED */
    rank_set_t *set;
    pmi_server_t *pmi;
    pmixd_job_t *pmix;
    hwloc_topology_t topo; /* the one the ranks were bound on, until the
                              PMIx server has its copy */
    bool pmix_fencing;     /* a PMIx fence waits for BARRIER_OUT */
    node_ckpt_t *ckpt;     /* node-local checkpoints, or NULL */
    int rank0_index;       /* local index of global rank 0, or -1 */
    uv_pipe_t stdin_dst;
    bool stdin_open;
    uv_signal_t signals[3];
    int nsignals;
    int rc;
    shoal_error_t *error;
    /* the ranks' user (config->user), and their -x list with its login
     * variables added */
    struct spawn_user user;
    struct account_env user_env;
    char **env_as;
    uint64_t oom_kills; /* OOM kills in the memory cgroup accounted for */
    /* a directory of this node's TMPDIR holding each rank's counters file
     * (rank.R, ENV_RANK_COUNTERS), sent up with its RANK_EXIT; NULL when
     * it cannot be made (the ranks' counts are then not kept) */
    char *counters_dir;
};

static void node_job_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

/* The link ---------------------------------------------------------------- */

static void node_job_check_backlog(struct node_job *job)
{
    size_t queued;

    if (!job->set || !job->link_open)
        return;
    queued = uv_stream_get_write_queue_size((uv_stream_t *)&job->link);
    if (!job->paused && queued > NODE_JOB_LINK_HIGH) {
        job->paused = true;
        rank_set_pause_output(job->set, true);
    } else if (job->paused && queued < NODE_JOB_LINK_LOW) {
        job->paused = false;
        rank_set_pause_output(job->set, false);
    }
}

static void node_job_link_close(struct node_job *job)
{
    if (!job->link_open)
        return;
    job->link_open = false;
    uv_close((uv_handle_t *)&job->link, node_job_close_cb);
}

static void node_job_write_cb(uv_write_t *req, int status)
{
    struct node_job *job = req->data;

    free(req);
    if (status < 0) {
        job->link_lost = true;
        return;
    }
    node_job_check_backlog(job);
}

static void node_job_send(struct node_job *job, const struct job_frame *f)
{
    uint8_t *body;
    size_t len;
    int rc;

    if (!job->link_open || job->link_lost)
        return;
    if (job_frame_encode(f, &body, &len) < 0)
        SHOAL_BUG("a frame the proxy made does not encode");
    rc = job_link_write((uv_stream_t *)&job->link, body, len, node_job_write_cb,
                        job);
    free(body);
    if (rc == -ENOMEM)
        return;
    if (rc < 0) {
        job->link_lost = true;
        return;
    }
    node_job_check_backlog(job);
}

static void node_job_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct node_job *job = req->data;

    (void)status;
    free(req);
    node_job_link_close(job);
}

/* Ranks -------------------------------------------------------------------- */

static void node_job_output(int index,
                            enum rank_set_stream stream,
                            const char *buf,
                            size_t len,
                            void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_OUTPUT};

    f.output.rank = (uint32_t)job->ranks[index];
    f.output.stream = (uint8_t)stream;
    /* keep frames within the wire's bound */
    do {
        size_t n = len > JOB_WIRE_DATA_MAX ? JOB_WIRE_DATA_MAX : len;
        f.output.len = (uint32_t)n;
        f.output.bytes = (uint8_t *)buf;
        node_job_send(job, &f);
        buf += n;
        len -= n;
    } while (len > 0);
}

static int node_job_index_of(const struct node_job *job, int rank)
{
    for (uint32_t i = 0; i < job->launch.launch.nranks; i++)
        if (job->ranks[i] == rank)
            return (int)i;
    return -1;
}

static void
node_job_pmi_input(int index, const char *buf, size_t len, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_ABORT};
    shoal_error_t perr;

    if (pmi_server_input(job->pmi, job->ranks[index], buf, len, &perr) < 0) {
        rank_set_pmi_close(job->set, index);
        f.abort.rank = job->ranks[index];
        f.abort.code = 1;
        f.abort.fault = true;
        f.abort.message = perr.text;
        node_job_send(job, &f);
    }
}

static void node_job_stdin_close(struct node_job *job)
{
    if (!job->stdin_open)
        return;
    job->stdin_open = false;
    uv_close((uv_handle_t *)&job->stdin_dst, node_job_close_cb);
}

/* Whether the job's memory cgroup counts an OOM kill not yet accounted
 * for, and its limit. The kernel counts the kill just after sending the
 * signal, so the count is read again once if it has not moved yet. */
static bool node_job_oom_killed(struct node_job *job, uint64_t *limit)
{
    uint64_t kills = 0;

    if (!job->config->memory_cgroup)
        return false;
    for (int i = 0; i < 2; i++) {
        if (guest_memory_read(job->config->memory_cgroup, &kills, limit) < 0)
            return false;
        if (kills > job->oom_kills) {
            job->oom_kills++;
            return true;
        }
        if (i == 0)
            usleep(20 * 1000);
    }
    return false;
}

/* Rank's counters file: its path, into buf. */
static void
node_job_counters_path(struct node_job *job, int rank, char *buf, size_t size)
{
    snprintf(buf, size, "%s/rank.%d", job->counters_dir, rank);
}

/* The counters rank left, read into e (e->counters, to be freed) and
 * removed; none when it left none, or more than a RANK_EXIT carries. */
static void
node_job_counters_read(struct node_job *job, int rank, struct job_rank_exit *e)
{
    char path[4200];
    struct stat st;
    uint8_t *data;
    ssize_t n;
    int fd;

    if (!job->counters_dir)
        return;
    node_job_counters_path(job, rank, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    unlink(path);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
        && st.st_size <= JOB_WIRE_COUNTERS_MAX
        && (data = malloc((size_t)st.st_size))) {
        n = read(fd, data, (size_t)st.st_size);
        if (n > 0) {
            e->counters = data;
            e->counters_len = (uint32_t)n;
        } else {
            free(data);
        }
    }
    close(fd);
}

/* The directory of the ranks' counters files, TMPDIR/shoal-ranks.PID.X:
 * the proxy's pid in its name, so that a later proxy removes it when this
 * one was killed with its daemon (SIGKILL leaves no time to). It stays the
 * proxy's (mode 0711) and each rank's file is made here and given to the
 * rank's user: a directory its user could write in could turn that
 * removal, walked by name, onto a link of theirs. */
static void node_job_counters_setup(struct node_job *job)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    int fd;

    if (!tmp || !*tmp)
        tmp = "/tmp";
    fs_sweep_orphans(tmp, "shoal-ranks.");
    if (snprintf(dir, sizeof(dir), "%s/shoal-ranks.%ld.XXXXXX", tmp,
                 (long)getpid())
            >= (int)sizeof(dir)
        || !mkdtemp(dir))
        return;
    job->counters_dir = strdup(dir);
    if (!job->counters_dir || chmod(dir, 0711) < 0)
        goto fail;
    for (uint32_t i = 0; i < job->launch.launch.nranks; i++) {
        node_job_counters_path(job, job->ranks[i], path, sizeof(path));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        if (fd < 0)
            goto fail;
        if (job->config->user && fchown(fd, job->user.uid, job->user.gid) < 0) {
            close(fd);
            goto fail;
        }
        close(fd);
    }
    return;
fail:
    if (job->counters_dir) {
        free(job->counters_dir);
        job->counters_dir = NULL;
    }
    fs_remove_tree(dir);
}

/* Remove what is left of the counters' directory (files of ranks that
 * never ended here). */
static void node_job_counters_remove(struct node_job *job)
{
    if (!job->counters_dir)
        return;
    fs_remove_tree(job->counters_dir);
    free(job->counters_dir);
    job->counters_dir = NULL;
}

static void node_job_exited(int index, int wstatus, bool killed, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_RANK_EXIT};
    int rank = job->ranks[index];

    f.rank_exit.rank = (uint32_t)rank;
    f.rank_exit.signaled = WIFSIGNALED(wstatus);
    f.rank_exit.value =
        WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
    f.rank_exit.initialized = pmi_server_rank_initialized(job->pmi, rank);
    f.rank_exit.finalized = pmi_server_rank_finalized(job->pmi, rank);
    /* what its PMIx server saw of the rank (an abort, a finalize) first */
    pmixd_job_poll(job->pmix);
    if (pmixd_job_rank_connected(job->pmix, index)) {
        f.rank_exit.initialized = true;
        f.rank_exit.finalized =
            f.rank_exit.finalized || pmixd_job_rank_finalized(job->pmix, index);
    }
    f.rank_exit.killed = killed;
    if (!killed && WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        f.rank_exit.oom_killed =
            node_job_oom_killed(job, &f.rank_exit.memory_limit);
    if (index == job->rank0_index)
        node_job_stdin_close(job);
    node_job_counters_read(job, rank, &f.rank_exit);
    node_job_send(job, &f);
    free(f.rank_exit.counters);
}

static void node_job_close_signals(struct node_job *job)
{
    pmixd_job_close(job->pmix);
    for (int i = 0; i < job->nsignals; i++)
        uv_close((uv_handle_t *)&job->signals[i], node_job_close_cb);
    job->nsignals = 0;
}

/* Say DONE, and close the link once it is written. */
static void node_job_finish(struct node_job *job)
{
    struct job_frame f = {.kind = JOB_FRAME_DONE};
    uv_shutdown_t *req;

    node_job_stdin_close(job);
    node_job_close_signals(job);
    node_ckpt_stop(job->ckpt);
    if (!job->link_open)
        return;
    node_job_send(job, &f);
    job->done_sent = !job->link_lost;
    uv_read_stop((uv_stream_t *)&job->link);
    req = malloc(sizeof(*req));
    if (req) {
        req->data = job;
        if (uv_shutdown(req, (uv_stream_t *)&job->link, node_job_shutdown_cb)
            == 0)
            return;
        free(req);
    }
    node_job_link_close(job);
}

static void node_job_flushed(void *arg)
{
    node_job_finish(arg);
}

/* Nothing is left of the ranks. With node-local checkpoints, what they
 * committed last is copied before DONE: the coordinator may restart the
 * job from it as soon as DONE arrives. */
static void node_job_idle(void *arg)
{
    struct node_job *job = arg;

    if (job->ckpt && job->link_open && !job->link_lost
        && node_ckpt_flush(job->ckpt, node_job_flushed, job) == 0)
        return;
    node_job_finish(job);
}

static const struct rank_set_ops node_rank_set_ops = {
    .output = node_job_output,
    .pmi_input = node_job_pmi_input,
    .exited = node_job_exited,
    .idle = node_job_idle,
};

/* PMI ---------------------------------------------------------------------- */

static int node_pmi_send(int rank, const char *buf, size_t len, void *arg)
{
    struct node_job *job = arg;
    int index = node_job_index_of(job, rank);

    if (index < 0)
        return -EINVAL;
    return rank_set_pmi_send(job->set, index, buf, len);
}

static void node_pmi_abort(int rank, int exitcode, const char *msg, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_ABORT};

    f.abort.rank = rank;
    f.abort.code = exitcode;
    f.abort.message = (char *)(msg ? msg : "");
    node_job_send(job, &f);
}

struct node_kv_list {
    struct job_kv *kvs;
    uint32_t n;
    uint32_t cap;
};

static int node_job_collect_kv(const char *key, const char *value, void *arg)
{
    struct node_kv_list *l = arg;

    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        struct job_kv *p = realloc(l->kvs, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->kvs = p;
        l->cap = cap;
    }
    l->kvs[l->n].key = (char *)key;
    l->kvs[l->n].value = (char *)value;
    l->n++;
    return 0;
}

/* Every local rank is in the barrier: send up what they put since the last
 * one; the release waits for BARRIER_OUT. */
static void node_pmi_barrier_enter(pmi_server_t *server, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_BARRIER_IN};
    struct node_kv_list l = {0};

    pmi_server_kvs_foreach_new(server, node_job_collect_kv, &l);
    f.barrier.kvs = l.kvs;
    f.barrier.nkvs = l.n;
    node_job_send(job, &f);
    free(l.kvs);
}

static const struct pmi_server_ops node_pmi_ops = {
    .send = node_pmi_send,
    .abort = node_pmi_abort,
    .barrier_enter = node_pmi_barrier_enter,
};

/* PMIx ---------------------------------------------------------------------
 */

static void node_pmix_abort(int rank, int status, const char *msg, void *arg)
{
    node_pmi_abort(rank, status, msg, arg);
}

/* Every local rank entered a PMIx fence: this node's data goes up as the
 * puts of a barrier (job_pmix.h). */
static void
node_pmix_fence(pmixd_job_t *pmix, const void *data, size_t len, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_BARRIER_IN};
    struct job_frame a = {.kind = JOB_FRAME_ABORT};
    struct job_kv *kvs = NULL;
    uint32_t n = 0;

    (void)pmix;
    if (job_pmix_fence_encode(data, len, &kvs, &n) < 0) {
        a.abort.rank = -1;
        a.abort.code = 1;
        a.abort.fault = true;
        a.abort.message = "out of memory for a PMIx fence";
        node_job_send(job, &a);
        return;
    }
    job->pmix_fencing = true;
    f.barrier.kvs = kvs;
    f.barrier.nkvs = n;
    node_job_send(job, &f);
    job_pmix_kvs_free(kvs, n);
}

/* A rank's names request goes to the job's table, the coordinator's. */
static void
node_pmix_names(pmixd_job_t *pmix, const struct pmixd_names_req *req, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_NAMES};
    struct job_kv *kvs = calloc(req->n ? req->n : 1, sizeof(*kvs));
    shoal_error_t perr;

    if (!kvs) {
        pmixd_job_names_reply(pmix, req->id, -ENOMEM, NULL, 0, &perr);
        return;
    }
    for (size_t i = 0; i < req->n; i++) {
        kvs[i].key = (char *)req->names[i].key;
        kvs[i].value = (char *)(req->names[i].value ? req->names[i].value : "");
    }
    f.names.op = (uint8_t)req->op;
    f.names.id = req->id;
    f.names.rank = req->rank;
    f.names.wait = req->wait;
    f.names.kvs = kvs;
    f.names.nkvs = (uint32_t)req->n;
    node_job_send(job, &f);
    free(kvs);
}

/* PMIx_Job_control: a kill ends the job (as a rank's abort does), a
 * signal reaches the ranks through the coordinator, wherever they run. */
static void node_pmix_control(
    int rank, int signo, const int *targets, int ntargets, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_SIGNAL};

    if (signo == 0) {
        node_pmi_abort(rank, 128 + SIGKILL, "PMIx_Job_control kill", job);
        return;
    }
    f.signal.signo = signo;
    f.signal.nranks = (uint32_t)ntargets;
    f.signal.ranks = (uint32_t *)targets;
    node_job_send(job, &f);
}

/* A local rank asks for the data of a rank on another node: the
 * coordinator relays the request to that node. */
static void
node_pmix_dmodex(pmixd_job_t *pmix, uint32_t id, int rank, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_DMODEX};

    (void)pmix;
    f.dmodex.op = JOB_DMODEX_REQUEST;
    f.dmodex.id = id;
    f.dmodex.rank = (uint32_t)rank;
    node_job_send(job, &f);
}

/* The data of a rank of this node, for the node that asked. */
static void node_pmix_dmodex_served(pmixd_job_t *pmix,
                                    uint32_t id,
                                    int rank,
                                    int status,
                                    const void *data,
                                    size_t len,
                                    void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_DMODEX};

    (void)pmix;
    if (status == 0 && len > JOB_WIRE_DATA_MAX) {
        LOG(LOG_LEVEL_ERR, LOG_PMI,
            "pmix: the data of rank %d is %zu bytes, more than a frame "
            "carries",
            rank, len);
        status = -E2BIG;
    }
    f.dmodex.op = JOB_DMODEX_REPLY;
    f.dmodex.id = id;
    f.dmodex.rank = (uint32_t)rank;
    f.dmodex.status = status;
    f.dmodex.len = status == 0 ? (uint32_t)len : 0;
    f.dmodex.bytes = status == 0 ? (uint8_t *)data : NULL;
    node_job_send(job, &f);
}

static const struct pmixd_job_ops node_pmix_ops = {
    .abort = node_pmix_abort,
    .fence = node_pmix_fence,
    .names = node_pmix_names,
    .control = node_pmix_control,
    .dmodex = node_pmix_dmodex,
    .dmodex_served = node_pmix_dmodex_served,
};

/* One node holds the whole job: fences and names need nobody else. */
static const struct pmixd_job_ops node_pmix_ops_alone = {
    .abort = node_pmix_abort,
    .control = node_pmix_control,
};

static int node_job_pmix_create(struct node_job *job, shoal_error_t *error)
{
    const struct job_launch *l = &job->launch.launch;
    struct job_pmix_layout layout;
    struct pmixd_job_config cfg = {0};
    char host[256] = "localhost";
    char nspace[64];
    int rc;

    gethostname(host, sizeof(host) - 1);
    /* every node of the job names it alike */
    snprintf(nspace, sizeof(nspace), "shoal.job.%llu",
             (unsigned long long)l->job_id);
    rc = job_pmix_layout_init(&layout, (int)l->job_size, l->process_mapping,
                              host, (int)l->node_index, job->ranks,
                              (int)l->nranks);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot lay out the job for PMIx");
    cfg.loop = &job->loop;
    cfg.nspace = nspace;
    cfg.size = (int)l->job_size;
    cfg.universe_size = (int)l->universe_size;
    cfg.nnodes = layout.nnodes;
    cfg.nodes = layout.nodes;
    cfg.node_index = layout.node_index;
    cfg.cpus = job->cpus;
    cfg.topology = job->topo;
    cfg.mapby = l->mapby;
    cfg.bindto = l->bindto;
    cfg.rankby = l->rankby;
    if (job->config->user) {
        cfg.as_user = true;
        cfg.uid = job->config->user->uid;
        cfg.gid = job->config->user->gid;
    }
    rc = pmixd_job_create(
        &cfg, layout.nnodes == 1 ? &node_pmix_ops_alone : &node_pmix_ops, job,
        &job->pmix, error);
    job_pmix_layout_release(&layout);
    hwloc_topology_destroy(job->topo);
    job->topo = NULL;
    return rc;
}

/* Starting ------------------------------------------------------------------
 */

static int node_job_bindings(struct node_job *job, shoal_error_t *error)
{
    const struct job_launch *l = &job->launch.launch;
    hwloc_topology_t topo;
    int rc;

    rc = topo_load_allowed(job->config->topology, job->config->allowed_pus,
                           &topo, error);
    if (rc < 0)
        return rc;
    job->cpus = calloc(l->nranks, sizeof(*job->cpus));
    job->bound = calloc(l->nranks ? l->nranks : 1, sizeof(*job->bound));
    if (!job->cpus || !job->bound) {
        hwloc_topology_destroy(topo);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < l->nranks && rc == 0; i++) {
        const struct job_launch_rank *r = &l->ranks[i];
        hwloc_bitmap_t set;
        if (r->npus == 0)
            continue;
        set = hwloc_bitmap_alloc();
        for (uint32_t j = 0; j < r->npus; j++) {
            hwloc_obj_t pu =
                hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, r->pus[j]);
            if (!pu) {
                rc = shoal_errprintf(error, -EINVAL,
                                     "rank %u is bound to PU %u, which this "
                                     "node does not have",
                                     r->rank, r->pus[j]);
                break;
            }
            hwloc_bitmap_or(set, set, pu->cpuset);
        }
        if (rc == 0 && r->local_rank < l->nranks) {
            job->bound[r->local_rank].rank = r->rank;
            hwloc_bitmap_list_asprintf(&job->bound[r->local_rank].pus, set);
        }
        /* a topology that is not this machine's is reported, not applied */
        if (rc == 0 && topo_is_this_system(topo)) {
            job->cpus[r->local_rank] = calloc(1, sizeof(cpu_set_t));
            if (job->cpus[r->local_rank])
                hwloc_cpuset_to_glibc_sched_affinity(
                    topo, set, job->cpus[r->local_rank], sizeof(cpu_set_t));
        }
        hwloc_bitmap_free(set);
    }
    /* kept for the PMIx server, which copies it */
    job->topo = topo;
    return rc;
}

/* A version of a local rank is copied: tell the coordinator where. */
static void node_job_ckpt_copied(
    int rank, int version, const uint64_t *nodes, int n, double cost, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f = {.kind = JOB_FRAME_CKPT_COPIES};

    if (cost > 0)
        f.ckpt_copies.cost_ms =
            cost * 1000 < UINT32_MAX ? (uint32_t)(cost * 1000) + 1 : UINT32_MAX;
    f.ckpt_copies.rank = (uint32_t)rank;
    f.ckpt_copies.version = (uint32_t)version;
    f.ckpt_copies.nnodes = (uint32_t)n;
    f.ckpt_copies.nodes = (uint64_t *)nodes;
    node_job_send(job, &f);
}

/* Node-local checkpoints are copied, and each rank's KEEP raised to the
 * job's durable version: the ranks' commits wait for that
 * (SHOAL_CKPT_DURABLE=1), unless the job's environment says otherwise. */
static int node_job_ckpt_durable(struct job_launch *l)
{
    char **env;

    for (uint32_t i = 0; i < l->nenv; i++)
        if (strncmp(l->env[i], "SHOAL_CKPT_DURABLE=", 19) == 0)
            return 0;
    env = realloc(l->env, ((size_t)l->nenv + 2) * sizeof(*env));
    if (!env)
        return -ENOMEM;
    l->env = env;
    env[l->nenv] = strdup("SHOAL_CKPT_DURABLE=1");
    if (!env[l->nenv])
        return -ENOMEM;
    env[++l->nenv] = NULL;
    return 0;
}

/* With node-local checkpoints: the ranks' directories on this node, and
 * the versions they restore put there before they start. */
static int node_job_ckpt_setup(struct node_job *job, shoal_error_t *error)
{
    struct job_launch *l = &job->launch.launch;
    struct node_ckpt_config config = {
        .loop = &job->loop,
        .ranks = job->ranks,
        .nranks = (int)l->nranks,
        .copied = node_job_ckpt_copied,
        .arg = job,
    };
    int rc = node_ckpt_create(&config, l->env, l->nenv, &job->ckpt, error);

    if (rc == 0 && job->ckpt && node_job_ckpt_durable(l) < 0)
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
    if (rc == 0 && job->ckpt)
        rc = node_ckpt_restore(job->ckpt, l->restores, l->nrestores, error);
    if (rc == 0 && job->ckpt && job->config->user)
        rc = node_ckpt_give(job->ckpt, job->config->user->uid,
                            job->config->user->gid, error);
    return rc;
}

static int node_job_start(struct node_job *job, shoal_error_t *error)
{
    const struct job_launch *l = &job->launch.launch;
    struct rank_set_config scfg = {0};
    struct pmi_server_config pcfg = {0};
    char kvsname[64];
    int devnull, stdin0 = -1;
    int rc;

    job->ranks = calloc(l->nranks, sizeof(int));
    if (!job->ranks)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    job->rank0_index = -1;
    for (uint32_t i = 0; i < l->nranks; i++)
        job->ranks[i] = -1;
    for (uint32_t i = 0; i < l->nranks; i++) {
        const struct job_launch_rank *r = &l->ranks[i];
        if (job->ranks[r->local_rank] >= 0)
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "LAUNCH names local rank %u twice",
                                   r->local_rank);
        job->ranks[r->local_rank] = (int)r->rank;
        if (r->rank == 0)
            job->rank0_index = (int)r->local_rank;
    }
    rc = node_job_bindings(job, error);
    if (rc < 0)
        return rc;
    snprintf(kvsname, sizeof(kvsname), "shoal_kvs_%llu",
             (unsigned long long)l->job_id);
    pcfg.size = (int)l->job_size;
    pcfg.nlocal = (int)l->nranks;
    pcfg.local_ranks = job->ranks;
    pcfg.universe_size =
        (int)(l->universe_size ? l->universe_size : l->job_size);
    pcfg.kvsname = kvsname;
    pcfg.process_mapping = l->process_mapping;
    rc = pmi_server_create(&pcfg, &node_pmi_ops, job, &job->pmi, error);
    if (rc < 0)
        return rc;
    rc = node_job_pmix_create(job, error);
    if (rc < 0)
        return rc;
    rc = node_job_ckpt_setup(job, error);
    if (rc < 0)
        return rc;
    scfg.loop = &job->loop;
    scfg.nranks = (int)l->nranks;
    scfg.ranks = job->ranks;
    scfg.size = (int)l->job_size;
    scfg.path = l->path;
    scfg.argv = l->argv;
    scfg.env = l->env;
    scfg.wdir = l->wdir;
    scfg.cpus = job->cpus;
    scfg.kill_grace = l->kill_grace;
    if (job->config->user) {
        job->env_as = calloc(l->nenv + 4, sizeof(*job->env_as));
        if (!job->env_as)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        account_spawn_user(job->config->user, &job->user);
        account_env_fill(job->config->user, &job->user_env);
        for (uint32_t i = 0; i < l->nenv; i++)
            job->env_as[i] = l->env[i];
        for (int i = 0; i < 3; i++)
            job->env_as[l->nenv + (uint32_t)i] = job->user_env.vars[i];
        scfg.env = job->env_as;
        scfg.user = &job->user;
    }
    rc = rank_set_create(&scfg, &node_rank_set_ops, job, &job->set, error);
    if (rc < 0)
        return rc;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return shoal_errprintf(error, -errno, "cannot open /dev/null: %s",
                               strerror(errno));
    if (job->rank0_index >= 0) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) {
            close(devnull);
            return shoal_errprintf(error, -errno, "cannot create pipe: %s",
                                   strerror(errno));
        }
        uv_pipe_init(&job->loop, &job->stdin_dst, 0);
        uv_pipe_open(&job->stdin_dst, fds[1]);
        job->stdin_open = true;
        stdin0 = fds[0];
    }
    node_job_counters_setup(job);
    for (uint32_t i = 0; rc == 0 && i < l->nranks; i++) {
        char **penv = NULL, **renv = NULL, counters[4300];

        rc = pmixd_job_rank_env(job->pmix, (int)i, &penv, error);
        if (rc == 0 && job->counters_dir) {
            int len =
                snprintf(counters, sizeof(counters), ENV_RANK_COUNTERS "=");

            node_job_counters_path(job, job->ranks[i], counters + len,
                                   sizeof(counters) - (size_t)len);
            renv = env_append_one(penv, counters);
            if (!renv)
                rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        }
        if (rc == 0)
            rc = rank_set_start_env(
                job->set, (int)i, (int)i == job->rank0_index ? stdin0 : devnull,
                renv ? renv : penv, error);
        free(renv);
        pmixd_env_free(penv);
    }
    if (stdin0 >= 0)
        close(stdin0);
    close(devnull);
    if (rc == 0 && job->ckpt && node_ckpt_start(job->ckpt) < 0)
        rc = shoal_errprintf(error, -EIO, "cannot follow the checkpoints");
    return rc;
}

/* Frames from the coordinator --------------------------------------------- */

static void node_job_stdin_write_cb(uv_write_t *req, int status)
{
    struct node_job *job = req->data;

    free(req);
    if (status < 0)
        node_job_stdin_close(job); /* rank 0 closed its stdin */
}

static void node_job_stdin_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct node_job *job = req->data;

    (void)status;
    free(req);
    node_job_stdin_close(job);
}

static void node_job_stdin(struct node_job *job, const struct job_frame *f)
{
    if (!job->stdin_open)
        return;
    if (f->input.len == 0) {
        uv_shutdown_t *req = malloc(sizeof(*req));
        if (req) {
            req->data = job;
            if (uv_shutdown(req, (uv_stream_t *)&job->stdin_dst,
                            node_job_stdin_shutdown_cb)
                == 0)
                return;
            free(req);
        }
        node_job_stdin_close(job);
        return;
    }
    uv_write_t *req = malloc(sizeof(*req) + f->input.len);
    if (!req)
        return;
    uv_buf_t b = uv_buf_init((char *)(req + 1), f->input.len);
    memcpy(req + 1, f->input.bytes, f->input.len);
    req->data = job;
    if (uv_write(req, (uv_stream_t *)&job->stdin_dst, &b, 1,
                 node_job_stdin_write_cb)
        < 0)
        free(req);
}

static int node_job_barrier_out(struct node_job *job,
                                const struct job_frame *f,
                                shoal_error_t *error)
{
    if (job->pmix_fencing) {
        void *data = NULL;
        size_t len = 0;
        int rc =
            job_pmix_fence_decode(f->barrier.kvs, f->barrier.nkvs, &data, &len);

        job->pmix_fencing = false;
        if (rc < 0)
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "bad PMIx fence data from another node");
        rc = pmixd_job_fence_release(job->pmix, data, len, error);
        free(data);
        return rc;
    }
    for (uint32_t i = 0; i < f->barrier.nkvs; i++) {
        int rc = pmi_server_kvs_put(job->pmi, f->barrier.kvs[i].key,
                                    f->barrier.kvs[i].value);
        if (rc < 0)
            return shoal_errprintf(error, rc, "cannot store key '%s': %s",
                                   f->barrier.kvs[i].key, shoal_strerror(rc));
    }
    return pmi_server_barrier_release(job->pmi, error);
}

static int node_job_launch(struct node_job *job)
{
    struct job_frame f = {.kind = JOB_FRAME_STARTED};
    shoal_error_t serr = {{0}};
    int rc;

    job->launched = true;
    rc = node_job_start(job, &serr);
    /* the bindings applied, so --report-bindings prints the cpus each
     * rank has on its own node */
    if (rc == 0 && job->bound) {
        const struct job_launch *l = &job->launch.launch;

        for (uint32_t i = 0; i < l->nranks; i++) {
            uint32_t local = l->ranks[i].local_rank;

            if (local >= l->nranks)
                continue;
            job->bound[local].rank = l->ranks[i].rank;
            if (!job->bound[local].pus)
                job->bound[local].pus = strdup("");
        }
        f.started.bound = job->bound;
        f.started.nbound = job->launch.launch.nranks;
    }
    if (rc < 0) {
        f.kind = JOB_FRAME_SPAWN_FAILED;
        f.spawn_failed.code = rc;
        f.spawn_failed.message = serr.text;
        if (job->set)
            rank_set_kill(job->set);
    }
    node_job_send(job, &f);
    if (job->set) {
        rank_set_seal(job->set);
    } else {
        /* nothing could even be prepared */
        node_job_finish(job);
    }
    return 0;
}

/* A direct modex frame from the coordinator: a request for a rank of
 * this node (answered by OpenPMIx, or at once with an error), or the
 * answer to one of ours. */
static int node_job_dmodex(struct node_job *job, const struct job_frame *f)
{
    shoal_error_t derr;
    int rc;

    if (!job->pmix)
        return shoal_errprintf(job->error, SHOAL_EPROTO,
                               "a direct modex frame for a job without PMIx");
    if (f->dmodex.op == JOB_DMODEX_REPLY) {
        if (pmixd_job_dmodex_reply(job->pmix, f->dmodex.id, f->dmodex.status,
                                   f->dmodex.bytes, f->dmodex.len)
            < 0)
            LOG(LOG_LEVEL_DEBUG, LOG_PMI,
                "pmix: the data of rank %" PRIu32 " came after its request "
                "ended",
                f->dmodex.rank);
        return 0;
    }
    rc = pmixd_job_dmodex_serve(job->pmix, f->dmodex.id, (int)f->dmodex.rank,
                                &derr);
    if (rc == -EINVAL)
        return shoal_errprintf(job->error, SHOAL_EPROTO,
                               "the coordinator asked for the data of rank "
                               "%" PRIu32 ": %s",
                               f->dmodex.rank, derr.text);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_PMI, "pmix: %s", derr.text);
        node_pmix_dmodex_served(job->pmix, f->dmodex.id, (int)f->dmodex.rank,
                                rc, NULL, 0, job);
    }
    return 0;
}

static int node_job_frame(const uint8_t *buf, size_t len, void *arg)
{
    struct node_job *job = arg;
    struct job_frame f;
    shoal_error_t ferr;
    int rc;

    rc = job_frame_decode(buf, len, &f, &ferr);
    if (rc < 0)
        return shoal_errprintf(job->error, rc, "from the coordinator: %s",
                               ferr.text);
    if (!job->launched) {
        if (f.kind != JOB_FRAME_LAUNCH) {
            job_frame_release(&f);
            return shoal_errprintf(job->error, SHOAL_EPROTO,
                                   "the coordinator sent %s before LAUNCH",
                                   job_frame_kind_name(f.kind));
        }
        job->launch = f;
        return node_job_launch(job);
    }
    rc = 0;
    switch (f.kind) {
    case JOB_FRAME_STDIN:
        node_job_stdin(job, &f);
        break;
    case JOB_FRAME_BARRIER_OUT:
        rc = node_job_barrier_out(job, &f, job->error);
        break;
    case JOB_FRAME_SIGNAL:
        for (uint32_t i = 0; job->set && i < f.signal.nranks; i++)
            rank_set_signal_rank(job->set,
                                 node_job_index_of(job, (int)f.signal.ranks[i]),
                                 f.signal.signo);
        if (job->set && f.signal.nranks == 0)
            rank_set_signal(job->set, f.signal.signo);
        break;
    case JOB_FRAME_NAMES: {
        struct pubsub_name *found =
            calloc(f.names.nkvs ? f.names.nkvs : 1, sizeof(*found));

        for (uint32_t i = 0; found && i < f.names.nkvs; i++) {
            found[i].key = f.names.kvs[i].key;
            found[i].value = f.names.kvs[i].value;
        }
        if (f.names.op != JOB_NAMES_REPLY || !job->pmix)
            rc = shoal_errprintf(job->error, SHOAL_EPROTO,
                                 "a names request from the coordinator");
        else
            rc = pmixd_job_names_reply(job->pmix, f.names.id,
                                       found ? f.names.status : -ENOMEM, found,
                                       found ? f.names.nkvs : 0, job->error);
        free(found);
        break;
    }
    case JOB_FRAME_DMODEX:
        rc = node_job_dmodex(job, &f);
        break;
    case JOB_FRAME_KILL:
        if (job->set && f.kill.now)
            rank_set_kill(job->set);
        else if (job->set)
            rank_set_terminate(job->set);
        break;
    case JOB_FRAME_CKPT_KEEP:
        node_ckpt_keep(job->ckpt, (int)f.ckpt_keep.version);
        break;
    case JOB_FRAME_CKPT_REQUEST:
        if (job->ckpt)
            node_ckpt_ask(job->ckpt);
        break;
    case JOB_FRAME_OUTPUT:
        /* the reader of that rank's stream is gone */
        if (job->set && f.output.len == 0) {
            int index = node_job_index_of(job, (int)f.output.rank);
            if (index >= 0)
                rank_set_close_output(job->set, index, f.output.stream);
        }
        break;
    default:
        rc =
            shoal_errprintf(job->error, SHOAL_EPROTO, "the coordinator sent %s",
                            job_frame_kind_name(f.kind));
        break;
    }
    job_frame_release(&f);
    return rc;
}

/* The link is gone, or the proxy is told to stop: end the ranks. */
static void node_job_abandon(struct node_job *job, int rc)
{
    if (job->rc == 0)
        job->rc = rc;
    job->link_lost = true;
    node_job_link_close(job);
    node_ckpt_stop(job->ckpt);
    if (job->set)
        rank_set_terminate(job->set);
    else
        node_job_close_signals(job);
}

static void
node_job_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct node_job *job = stream->data;
    int rc;

    if (n < 0) {
        free(buf->base);
        if (!job->done_sent)
            node_job_abandon(job, shoal_errprintf(job->error, -EPIPE,
                                                  "the link to the "
                                                  "coordinator closed"));
        return;
    }
    rc = frame_reader_feed(&job->in, buf->base, (size_t)n, NULL, node_job_frame,
                           job);
    free(buf->base);
    if (rc == -EMSGSIZE && job->rc == 0 && !job->error->text[0])
        rc = shoal_errprintf(job->error, SHOAL_EPROTO,
                             "oversized frame from the "
                             "coordinator");
    if (rc < 0)
        node_job_abandon(job, rc);
}

static void node_job_signal_cb(uv_signal_t *handle, int sig)
{
    struct node_job *job = handle->data;

    node_job_abandon(job, shoal_errprintf(job->error, -EINTR,
                                          "interrupted by signal %d (%s)", sig,
                                          strsignal(sig)));
}

int node_job_run(const struct node_job_config *config, shoal_error_t *error)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    struct node_job job;
    int rc;

    memset(&job, 0, sizeof(job));
    job.config = config;
    job.error = error;
    if (config->memory_cgroup) {
        /* kills from before this job (a reused cgroup) are not its own */
        uint64_t limit;
        if (guest_memory_read(config->memory_cgroup, &job.oom_kills, &limit)
            < 0)
            job.oom_kills = 0;
    }
    if (error)
        error->text[0] = '\0';
    frame_reader_init(&job.in, JOB_WIRE_FRAME_MAX);
    rc = uv_loop_init(&job.loop);
    if (rc < 0) {
        close(config->link_fd);
        return shoal_errprintf(error, -EIO, "cannot create event loop: %s",
                               uv_strerror(rc));
    }
    sigaction(SIGPIPE, &ign, &old_pipe);
    uv_pipe_init(&job.loop, &job.link, 0);
    rc = uv_pipe_open(&job.link, config->link_fd);
    if (rc < 0) {
        uv_close((uv_handle_t *)&job.link, node_job_close_cb);
        close(config->link_fd);
        rc = shoal_errprintf(error, -EIO, "cannot use fd %d: %s",
                             config->link_fd, uv_strerror(rc));
    } else {
        job.link.data = &job;
        job.link_open = true;
        uv_read_start((uv_stream_t *)&job.link, uvbuf_alloc, node_job_read_cb);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
            uv_signal_init(&job.loop, &job.signals[i]);
            job.signals[i].data = &job;
            uv_signal_start(&job.signals[i], node_job_signal_cb, sigs[i]);
            job.nsignals++;
        }
    }
    uv_run(&job.loop, UV_RUN_DEFAULT);
    node_job_stdin_close(&job);
    node_job_close_signals(&job);
    node_job_link_close(&job);
    node_ckpt_stop(job.ckpt);
    pmixd_job_close(job.pmix);
    if (job.set)
        rank_set_close(job.set);
    uv_run(&job.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&job.loop) != 0)
        SHOAL_BUG("event loop closed with handles open");
    sigaction(SIGPIPE, &old_pipe, NULL);
    if (rc == 0)
        rc = job.rc;
    if (rc == 0 && !job.done_sent)
        rc = shoal_errprintf(error, -EPIPE,
                             "the link closed before the job was launched");
    rank_set_destroy(job.set);
    pmixd_job_destroy(job.pmix);
    if (job.topo) /* a launch that failed before the PMIx server */
        hwloc_topology_destroy(job.topo);
    pmi_server_destroy(job.pmi);
    node_ckpt_destroy(job.ckpt);
    if (job.cpus)
        for (uint32_t i = 0; i < job.launch.launch.nranks; i++)
            free(job.cpus[i]);
    free(job.cpus);
    if (job.bound)
        for (uint32_t i = 0; i < job.launch.launch.nranks; i++)
            free(job.bound[i].pus);
    free(job.bound);
    node_job_counters_remove(&job);
    free(job.ranks);
    free(job.env_as);
    job_frame_release(&job.launch);
    frame_reader_release(&job.in);
    return rc;
}
