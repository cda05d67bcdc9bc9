/* SPDX-License-Identifier: MIT */
/* pool_remote.c - pool_job over the control socket and the pool's daemons. */
#include "runtime/job/pool_remote.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "runtime/daemon/control.h"
#include "runtime/job/gang_request.h"
#include "util/bug.h"
#include "util/bytes.h"
#include "util/frame_reader.h"
#include "util/uvbuf.h"

struct remote_node {
    uint64_t id;
    char *name;
    int nranks;
    int *ranks;
    uint32_t **pus;
    uint32_t *npus;
};

struct pool_remote {
    uv_loop_t loop;
    uv_pipe_t pipe;
    bool open;
    pool_job_t *job;
    struct remote_node *nodes;
    int nnodes;
    struct frame_reader in; /* control frames from the daemon */
};

static void remote_close(struct pool_remote *pr)
{
    if (!pr->open)
        return;
    pr->open = false;
    uv_close((uv_handle_t *)&pr->pipe, NULL);
}

static void remote_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* A job frame for node: a 'D' frame of u64 node id + frame. */
static int remote_send(int node, const uint8_t *frame, size_t len, void *arg)
{
    struct pool_remote *pr = arg;
    uint64_t id = pr->nodes[node].id;
    size_t payload = 8 + len;
    uint8_t head[CONTROL_FRAME_HEAD];
    uv_write_t *req;
    uint8_t *p;
    uv_buf_t b;
    int rc;

    if (!pr->open)
        return -EPIPE;
    rc = control_frame_head(head, CONTROL_KIND_DATA, payload);
    if (rc < 0)
        return rc;
    req = malloc(sizeof(*req) + CONTROL_FRAME_HEAD + payload);
    if (!req)
        return -ENOMEM;
    p = (uint8_t *)(req + 1);
    memcpy(p, head, CONTROL_FRAME_HEAD);
    bytes_put_be64(p + CONTROL_FRAME_HEAD, id);
    memcpy(p + CONTROL_FRAME_HEAD + 8, frame, len);
    b = uv_buf_init((char *)p, (unsigned int)(CONTROL_FRAME_HEAD + payload));
    rc = uv_write(req, (uv_stream_t *)&pr->pipe, &b, 1, remote_write_cb);
    if (rc < 0)
        free(req);
    return rc;
}

static void remote_finished(void *arg)
{
    remote_close(arg);
}

static const struct pool_job_ops remote_ops = {
    .send = remote_send,
    .finished = remote_finished,
};

static int remote_node_index(const struct pool_remote *pr, uint64_t id)
{
    for (int i = 0; i < pr->nnodes; i++)
        if (pr->nodes[i].id == id)
            return i;
    return -1;
}

static void remote_all_lost(struct pool_remote *pr)
{
    for (int i = 0; i < pr->nnodes; i++)
        pool_job_node_lost(pr->job, i);
}

/* One frame from the daemon: a node's job frame, or an event. Returns
 * non-zero to stop reading: the link closed, or the frame is of no kind
 * the control protocol knows. */
static int remote_frame(const uint8_t *body, size_t len, void *arg)
{
    struct pool_remote *pr = arg;

    if (len == 0
        || (body[0] != CONTROL_KIND_DATA && body[0] != CONTROL_KIND_JSON))
        return -EBADMSG;
    if (body[0] == CONTROL_KIND_DATA && len > 9) {
        int node = remote_node_index(pr, bytes_get_be64(body + 1));
        if (node >= 0)
            pool_job_input(pr->job, node, body + 9, len - 9);
        return pr->open ? 0 : -EPIPE;
    }
    if (body[0] == CONTROL_KIND_JSON) {
        json_t *obj = NULL;
        const char *event = NULL, *node = NULL;
        if (control_frame_decode_json(body, len, &obj, NULL) == 0
            && json_unpack(obj, "{s:s, s:s}", "event", &event, "node", &node)
                   == 0
            && strcmp(event, "node-lost") == 0) {
            int i = remote_node_index(pr, strtoull(node, NULL, 16));
            const char *why = json_string_value(json_object_get(obj, "why"));

            if (i >= 0)
                pool_job_node_lost_why(pr->job, i,
                                       why && strcmp(why, "proxy") == 0
                                           ? POOL_JOB_LOST_PROXY
                                           : POOL_JOB_LOST_NODE);
        }
        json_decref(obj);
    }
    return pr->open ? 0 : -EPIPE;
}

static void remote_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct pool_remote *pr = stream->data;

    if (n > 0) {
        int rc = frame_reader_feed(&pr->in, buf->base, (size_t)n, NULL,
                                   remote_frame, pr);

        if (rc < 0 && rc != -EPIPE)
            n = UV_EPROTO;
    }
    free(buf->base);
    if (n < 0 && pr->open) {
        /* the daemon is gone: so is the way to every node */
        remote_close(pr);
        remote_all_lost(pr);
    }
}

/* Ask the daemon to place and claim. Returns 0 and sets *reply, or a
 * negative code with error filled. */
static int remote_claim(int fd,
                        const struct pool_remote_request *req,
                        json_t **reply,
                        shoal_error_t *error)
{
    struct gang_request gr = {
        .map = req->map, .hosts = req->hosts, .exclusive = req->exclusive};
    json_t *request, *r = NULL;
    json_int_t code = -EIO;
    const char *text = "the daemon refused the job";
    int timeout_ms = (int)(req->claim_timeout * 1000);
    int rc;

    gr.timeout_ms = timeout_ms;
    rc = gang_request_encode(&gr, &request, error);
    if (rc < 0)
        return rc;
    if (req->journal
        && json_object_set(request, "journal", (json_t *)req->journal) < 0) {
        json_decref(request);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    /* the daemon answers by the claim timeout; allow for a busy node */
    rc = control_client_request(fd, request, timeout_ms + 10000, &r, error);
    json_decref(request);
    if (rc < 0)
        return rc;
    if (json_is_true(json_object_get(r, "ok"))) {
        *reply = r;
        return 0;
    }
    json_unpack(r, "{s?s, s?I}", "error", &text, "code", &code);
    rc = shoal_errprintf(error, code < 0 ? (int)code : -EIO, "%s", text);
    json_decref(r);
    return rc;
}

static void remote_nodes_release(struct pool_remote *pr)
{
    for (int i = 0; pr->nodes && i < pr->nnodes; i++) {
        struct remote_node *n = &pr->nodes[i];
        for (int r = 0; r < n->nranks && n->pus; r++)
            free(n->pus[r]);
        free(n->pus);
        free(n->npus);
        free(n->ranks);
        free(n->name);
    }
    free(pr->nodes);
}

/* The daemon's placement into pr->nodes: per node its ranks in local
 * order, each with its logical PUs. */
static int remote_parse_placement(struct pool_remote *pr,
                                  json_t *reply,
                                  int nranks,
                                  shoal_error_t *error)
{
    json_t *nodes = json_object_get(reply, "nodes");
    json_t *ranks = json_object_get(reply, "ranks");
    json_t *v;
    size_t i;

    if (!json_is_array(nodes) || !json_is_array(ranks)
        || json_array_size(nodes) == 0
        || (nranks > 0 && json_array_size(ranks) != (size_t)nranks))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "the daemon's placement is malformed");
    pr->nnodes = (int)json_array_size(nodes);
    pr->nodes = calloc((size_t)pr->nnodes, sizeof(*pr->nodes));
    if (!pr->nodes)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    json_array_foreach (nodes, i, v) {
        const char *id = "", *name = "?";
        json_unpack(v, "{s:s, s:s}", "id", &id, "name", &name);
        pr->nodes[i].id = strtoull(id, NULL, 16);
        pr->nodes[i].name = strdup(name);
        pr->nodes[i].ranks = calloc(json_array_size(ranks), sizeof(int));
        pr->nodes[i].pus = calloc(json_array_size(ranks), sizeof(uint32_t *));
        pr->nodes[i].npus = calloc(json_array_size(ranks), sizeof(uint32_t));
        if (!pr->nodes[i].name || !pr->nodes[i].ranks || !pr->nodes[i].pus
            || !pr->nodes[i].npus)
            return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    /* local ranks are numbered 0.. on each node in rank order */
    json_array_foreach (ranks, i, v) {
        json_t *pus = json_object_get(v, "pus"), *pu;
        json_int_t node = -1;
        struct remote_node *n;
        size_t k;
        json_unpack(v, "{s:I}", "node", &node);
        if (node < 0 || node >= pr->nnodes || !json_is_array(pus))
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "the daemon's placement is malformed");
        n = &pr->nodes[node];
        n->ranks[n->nranks] = (int)i;
        n->pus[n->nranks] = calloc(json_array_size(pus) + 1, sizeof(uint32_t));
        if (!n->pus[n->nranks])
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        json_array_foreach (pus, k, pu)
            n->pus[n->nranks][k] = (uint32_t)json_integer_value(pu);
        n->npus[n->nranks] = (uint32_t)json_array_size(pus);
        n->nranks++;
    }
    return 0;
}

int pool_remote_run(int ctl_fd,
                    const struct pool_remote_request *req,
                    const struct pool_job_config *config,
                    struct pool_job_result *result,
                    shoal_error_t *error)
{
    struct pool_job_config cfg = *config;
    struct pool_job_node *nodes = NULL;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    struct pool_remote pr;
    json_t *reply = NULL;
    const char *job = "0";
    char mapby[MAP_POLICY_NAME_MAX], bindto[MAP_POLICY_NAME_MAX];
    char rankby[MAP_POLICY_NAME_MAX];
    bool bound = false;
    int rc;

    memset(&pr, 0, sizeof(pr));
    memset(result, 0, sizeof(*result));
    rc = remote_claim(ctl_fd, req, &reply, error);
    if (rc == 0)
        rc = remote_parse_placement(&pr, reply, req->map.nranks, error);
    if (rc == 0 && !(nodes = calloc((size_t)pr.nnodes, sizeof(*nodes))))
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
    if (rc < 0) {
        close(ctl_fd);
        json_decref(reply);
        remote_nodes_release(&pr);
        return rc;
    }
    json_unpack(reply, "{s:s}", "job", &job);
    cfg.job_id = strtoull(job, NULL, 16);
    json_decref(reply);
    cfg.nranks = 0;
    for (int i = 0; i < pr.nnodes; i++) {
        nodes[i].name = pr.nodes[i].name;
        nodes[i].nranks = pr.nodes[i].nranks;
        nodes[i].ranks = pr.nodes[i].ranks;
        nodes[i].pus = (const uint32_t *const *)pr.nodes[i].pus;
        nodes[i].npus = pr.nodes[i].npus;
        cfg.nranks += pr.nodes[i].nranks;
    }
    cfg.nnodes = pr.nnodes;
    cfg.nodes = nodes;
    cfg.loop = &pr.loop;
    /* the policies as the daemon's placement applied them: a default
     * binding is none when it left the ranks unbound (oversubscribed) */
    for (int i = 0; i < pr.nnodes && !bound; i++)
        for (int j = 0; j < pr.nodes[i].nranks && !bound; j++)
            bound = pr.nodes[i].npus[j] > 0;
    map_policy_names(&req->map, bound, mapby, bindto);
    cfg.mapby = mapby;
    cfg.bindto = bindto;
    map_rank_policy_name(&req->map, rankby);
    cfg.rankby = rankby;
    /* each node prints what it bound, once its ranks start */
    cfg.report_bindings = req->report_bindings;

    sigaction(SIGPIPE, &ign, &old_pipe);
    uv_loop_init(&pr.loop);
    uv_pipe_init(&pr.loop, &pr.pipe, 0);
    pr.open = true;
    frame_reader_init(&pr.in, CONTROL_FRAME_MAX);
    rc = uv_pipe_open(&pr.pipe, ctl_fd);
    if (rc < 0) {
        close(ctl_fd);
        rc = shoal_errprintf(error, -EIO, "cannot watch the daemon: %s",
                             uv_strerror(rc));
    } else {
        pr.pipe.data = &pr;
        uv_read_start((uv_stream_t *)&pr.pipe, uvbuf_alloc, remote_read_cb);
        rc = pool_job_create(&cfg, &remote_ops, &pr, &pr.job, error);
    }
    if (rc == 0)
        rc = pool_job_start(pr.job, error);
    if (rc == 0)
        uv_run(&pr.loop, UV_RUN_DEFAULT);
    if (rc == 0)
        *result = *pool_job_result(pr.job);
    else if (pr.job)
        remote_all_lost(&pr);
    /* closing the connection releases the job's cores */
    remote_close(&pr);
    uv_run(&pr.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&pr.loop) != 0)
        SHOAL_BUG("event loop closed with handles open");
    sigaction(SIGPIPE, &old_pipe, NULL);
    pool_job_destroy(pr.job);
    remote_nodes_release(&pr);
    free(nodes);
    frame_reader_release(&pr.in);
    return rc;
}
