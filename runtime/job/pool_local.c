/* SPDX-License-Identifier: MIT */
/* pool_local.c - pool_job over socketpairs to local proxy processes. */
#include "runtime/job/pool_local.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "runtime/job/job_link.h"
#include "runtime/job/job_wire.h"
#include "scheduler/local_place.h"
#include "util/spawn.h"
#include "util/bug.h"
#include "util/uvbuf.h"
#include "util/frame_reader.h"

extern char **environ;

struct pool_local;

struct pool_local_link {
    struct pool_local *owner;
    int node;
    uv_pipe_t pipe;
    bool open;
    pid_t pid;
    struct frame_reader in;
};

struct pool_local {
    uv_loop_t loop;
    pool_job_t *job;
    struct pool_local_link *links;
    int nlinks;
};

static void pool_local_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

static void pool_local_link_close(struct pool_local_link *l)
{
    if (!l->open)
        return;
    l->open = false;
    uv_close((uv_handle_t *)&l->pipe, pool_local_close_cb);
}

static int
pool_local_send(int node, const uint8_t *frame, size_t len, void *arg)
{
    struct pool_local *pl = arg;
    struct pool_local_link *l = &pl->links[node];

    if (!l->open)
        return -EPIPE;
    return job_link_write((uv_stream_t *)&l->pipe, frame, len, NULL, NULL);
}

static void pool_local_finished(void *arg)
{
    struct pool_local *pl = arg;

    for (int i = 0; i < pl->nlinks; i++)
        pool_local_link_close(&pl->links[i]);
}

static const struct pool_job_ops pool_local_ops = {
    .send = pool_local_send,
    .finished = pool_local_finished,
};

static int pool_local_frame(const uint8_t *frame, size_t len, void *arg)
{
    struct pool_local_link *l = arg;

    pool_job_input(l->owner->job, l->node, frame, len);
    return 0;
}

static void
pool_local_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct pool_local_link *l = stream->data;

    if (n > 0
        && frame_reader_feed(&l->in, buf->base, (size_t)n, NULL,
                             pool_local_frame, l)
               < 0)
        n = UV_EPROTO;
    free(buf->base);
    if (n < 0) {
        pool_local_link_close(l);
        pool_job_node_lost(l->owner->job, l->node);
    }
}

static int pool_local_spawn(struct pool_local *pl,
                            struct pool_local_link *l,
                            char *const *proxy_argv,
                            shoal_error_t *error)
{
    struct spawn_spec spec = {0};
    int sv[2];
    int rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return shoal_errprintf(error, -errno, "cannot create socket: %s",
                               strerror(errno));
    spec.path = proxy_argv[0];
    spec.argv = proxy_argv;
    spec.envp = environ;
    spec.stdin_fd = sv[1];
    spec.stdout_fd = STDERR_FILENO;
    spec.stderr_fd = STDERR_FILENO;
    spec.keep_fd = -1;
    rc = spawn_process(&spec, &l->pid, error);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    uv_pipe_init(&pl->loop, &l->pipe, 0);
    rc = uv_pipe_open(&l->pipe, sv[0]);
    if (rc < 0) {
        uv_close((uv_handle_t *)&l->pipe, pool_local_close_cb);
        close(sv[0]);
        return shoal_errprintf(error, -EIO, "cannot watch proxy socket: %s",
                               uv_strerror(rc));
    }
    l->pipe.data = l;
    l->open = true;
    uv_read_start((uv_stream_t *)&l->pipe, uvbuf_alloc, pool_local_read_cb);
    return 0;
}

/* Proxies whose link closed end their ranks within the grace period and
 * exit; one that does not is killed. */
static void pool_local_reap(struct pool_local *pl, double grace)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int left = 0;
        for (int i = 0; i < pl->nlinks; i++) {
            struct pool_local_link *l = &pl->links[i];
            if (l->pid > 0 && waitpid(l->pid, NULL, WNOHANG) == l->pid)
                l->pid = 0;
            left += l->pid > 0;
        }
        if (left == 0)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec)
                + (double)(now.tv_nsec - start.tv_nsec) / 1e9
            > grace + 2.0)
            break;
        usleep(10000);
    }
    for (int i = 0; i < pl->nlinks; i++)
        if (pl->links[i].pid > 0) {
            kill(pl->links[i].pid, SIGKILL);
            waitpid(pl->links[i].pid, NULL, 0);
        }
}

int pool_local_run(const struct pool_job_config *config,
                   char *const *proxy_argv,
                   struct pool_job_result *result,
                   shoal_error_t *error)
{
    struct pool_job_config cfg = *config;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    struct pool_local pl;
    int rc;

    memset(&pl, 0, sizeof(pl));
    memset(result, 0, sizeof(*result));
    pl.links = calloc((size_t)config->nnodes, sizeof(*pl.links));
    if (!pl.links)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    rc = uv_loop_init(&pl.loop);
    if (rc < 0) {
        free(pl.links);
        return shoal_errprintf(error, -EIO, "cannot create event loop: %s",
                               uv_strerror(rc));
    }
    sigaction(SIGPIPE, &ign, &old_pipe);
    cfg.loop = &pl.loop;
    rc = pool_job_create(&cfg, &pool_local_ops, &pl, &pl.job, error);
    for (int i = 0; rc == 0 && i < config->nnodes; i++) {
        pl.links[i].owner = &pl;
        pl.links[i].node = i;
        frame_reader_init(&pl.links[i].in, JOB_WIRE_FRAME_MAX);
        rc = pool_local_spawn(&pl, &pl.links[i], proxy_argv, error);
        pl.nlinks = i + 1;
    }
    if (rc == 0)
        rc = pool_job_start(pl.job, error);
    if (rc == 0)
        uv_run(&pl.loop, UV_RUN_DEFAULT);
    if (rc == 0)
        *result = *pool_job_result(pl.job);
    else if (pl.job)
        /* ends what was started and closes the job's handles */
        for (int i = 0; i < config->nnodes; i++)
            pool_job_node_lost(pl.job, i);
    for (int i = 0; i < pl.nlinks; i++)
        pool_local_link_close(&pl.links[i]);
    uv_run(&pl.loop, UV_RUN_DEFAULT);
    pool_local_reap(&pl, config->kill_grace);
    if (uv_loop_close(&pl.loop) != 0)
        SHOAL_BUG("event loop closed with handles open");
    sigaction(SIGPIPE, &old_pipe, NULL);
    for (int i = 0; i < pl.nlinks; i++)
        frame_reader_release(&pl.links[i].in);
    pool_job_destroy(pl.job);
    free(pl.links);
    return rc;
}

void pool_local_config(const struct local_job_config *local,
                       struct pool_job_config *out)
{
    *out = (struct pool_job_config){
        .nranks = local->nranks,
        .path = local->path,
        .argv = local->argv,
        .env = local->env,
        .wdir = local->wdir,
        .tag_output = local->tag_output,
        .output_dir = local->output_dir,
        .counters_dir = local->counters_dir,
        .timeout = local->timeout,
        .kill_grace = local->kill_grace,
        .enable_recovery = local->enable_recovery,
        .mapby = local->mapby,
        .bindto = local->bindto,
        .rankby = local->rankby,
        .ckpt_root = local->ckpt_root,
        .ckpt_auto = local->ckpt_auto,
        .in_fd = local->in_fd,
        .out_fd = local->out_fd,
        .err_fd = local->err_fd,
    };
}

void pool_local_split_release(struct pool_local_split *split)
{
    for (int i = 0; split->names && i < split->nnodes; i++)
        free(split->names[i]);
    for (int r = 0; split->pus && r < split->nranks; r++)
        free(split->pus[r]);
    free(split->pus);
    free(split->npus);
    free(split->ranks);
    free(split->names);
    free(split->nodes);
    memset(split, 0, sizeof(*split));
}

int pool_local_split(const struct map_result *map,
                     hwloc_topology_t topo,
                     const char *host,
                     int nnodes,
                     struct pool_local_split *out)
{
    struct pool_local_split sp = {.nranks = map->nranks};

    sp.nnodes = nnodes > map->nranks ? map->nranks : nnodes;
    sp.nodes = calloc((size_t)sp.nnodes, sizeof(*sp.nodes));
    sp.names = calloc((size_t)sp.nnodes, sizeof(*sp.names));
    sp.ranks = calloc((size_t)sp.nranks, sizeof(*sp.ranks));
    sp.pus = calloc((size_t)sp.nranks, sizeof(*sp.pus));
    sp.npus = calloc((size_t)sp.nranks, sizeof(*sp.npus));
    if (!sp.nodes || !sp.names || !sp.ranks || !sp.pus || !sp.npus) {
        pool_local_split_release(&sp);
        return -ENOMEM;
    }
    for (int r = 0; r < sp.nranks; r++) {
        const struct map_rank *m = &map->ranks[r];
        int weight;
        sp.ranks[r] = r;
        if (!m->cpuset)
            continue;
        weight = hwloc_bitmap_weight(m->cpuset);
        sp.pus[r] = calloc((size_t)weight + 1, sizeof(uint32_t));
        if (sp.pus[r])
            sp.npus[r] = (uint32_t)local_place_logical_pus(topo, m->cpuset,
                                                           sp.pus[r], weight);
    }
    for (int i = 0; i < sp.nnodes; i++) {
        int first, n = local_place_block(sp.nranks, sp.nnodes, i, &first);
        if (asprintf(&sp.names[i], "%s:%d", host, i) < 0)
            sp.names[i] = NULL;
        sp.nodes[i].name = sp.names[i] ? sp.names[i] : host;
        sp.nodes[i].nranks = n;
        sp.nodes[i].ranks = sp.ranks + first;
        sp.nodes[i].pus = (const uint32_t *const *)sp.pus + first;
        sp.nodes[i].npus = sp.npus + first;
    }
    *out = sp;
    return 0;
}
