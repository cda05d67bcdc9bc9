/* SPDX-License-Identifier: MIT */
/* gangd.c - gang placement, claims from the home, and the job relay in
 * the daemon. */
#include "runtime/job/gangd.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/cores.h"
#include "util/hostlist.h"
#include "runtime/job/gang_request.h"
#include "runtime/job/gangd_journal.h"
#include "runtime/job/job_link.h"
#include "runtime/job/job_wire.h"
#include "scheduler/claim_wire.h"
#include "scheduler/gang.h"
#include "scheduler/pool_place.h"
#include "util/bytes.h"
#include "util/log.h"
#include "util/uvbuf.h"
#include "util/frame_reader.h"

enum {
    /* body of a relayed frame: direction, job id, then the frame; towards
     * a proxy with the submitter's claim (RELAY_TO_PROXY_AS: a u32 length
     * and the claim's JSON text, runtime/daemon/usercred.h, before the
     * frame), which a LAUNCH must carry */
    RELAY_HEAD = 9,
    RELAY_TO_PROXY = 0,
    RELAY_TO_HOME = 1,
    RELAY_TO_PROXY_AS = 2,
    RELAY_CLAIM_MAX = 8192,
    /* a claim's lease while the job starts */
    GANGD_LEASE_MS = 15000,
    /* retry of a relay the peer's queue refused */
    GANGD_RETRY_MS = 5,
};

struct gangd;

/* A job this node is the home of: its front end's connection, its
 * gang claim and, once granted, its placement. */
struct home_job {
    struct home_job *next;
    struct gangd *g;
    uint64_t id;
    control_conn_t *conn;
    gang_t *gang;
    uv_timer_t *timer; /* freed by its close callback */
    struct pool_request req;
    struct hostlist hosts;
    struct pool_placement *placement;
    bool replied;
    /* the submitter, from the control socket, and the claim that speaks
     * for them to the nodes (made at the first LAUNCH) */
    uint32_t uid, gid;
    char *claim;
    /* the job's key in the journal (a checkpointing job), or NULL */
    char *key;
};

/* A proxy running this node's share of a job. */
struct proxy {
    struct proxy *next;
    struct gangd *g; /* NULL once gangd is gone */
    uint64_t job;
    uint64_t home;
    uv_process_t process;
    uv_pipe_t pipe;
    uv_timer_t retry;
    struct frame_reader in;
    uint32_t uid; /* who its ranks run as */
    /* a frame the home's queue refused, sent again by the retry timer */
    uint8_t *pending;
    size_t pending_len;
    uint8_t pending_type;
    /* the bytes read after it, fed once it is sent */
    uint8_t *rest;
    size_t rest_len;
    bool pipe_open, exited, done_seen, lost_sent;
    bool relay_failed; /* a relay to the home failed: said once */
    bool held;         /* the home was told HOLD (held) */
    bool vacate_due;   /* the owner vacates this job here: tell the home */
    bool vacated;      /* the home was told HOLD (vacating) */
    bool hold_stale;   /* the home's queue refused the owner's last word */
    int handles;       /* open handles; the proxy is freed when none is left */
};

struct gangd {
    daemon_t *d;
    char *proxy_path;
    cores_t *cores;
    ownerd_t *owner; /* or NULL */
    bool held;       /* the owner holds this node's jobs */
    char hold_reason[200];
    guestd_t *guest; /* or NULL */
    pool_topo_cache_t *cache;
    struct home_job *homes;
    struct proxy *proxies;
    gangd_journal_t *journal; /* or NULL */
};

static void free_handle_cb(uv_handle_t *handle)
{
    free(handle);
}

/* The name of job's cgroup on this node. */
static void gangd_cgroup_name(uint64_t job, char *buf, size_t size)
{
    snprintf(buf, size, "gang-%016" PRIx64, job);
}

static void proxy_end(struct proxy *p);

static void gangd_end_proxies_of(struct gangd *g, uint64_t job, uint64_t home)
{
    for (struct proxy *p = g->proxies; p; p = p->next)
        if ((job && p->job == job) || (home && p->home == home))
            proxy_end(p);
}

/* The node's ledger ended claims from outside: their proxies end. */
static void
gangd_cores_released(cores_t *c, uint64_t job, uint64_t home, void *arg)
{
    (void)c;
    gangd_end_proxies_of(arg, job, home);
}

static void
gangd_home_answer(struct gangd *g, uint64_t from, const struct claim_msg *msg);

/* A peer's answer to one of our claims: GRANT or REFUSE. */
static void gangd_answer_frame(daemon_t *d,
                               uint64_t from,
                               uint8_t type,
                               const void *body,
                               size_t len,
                               void *arg)
{
    struct claim_msg msg;
    shoal_error_t error;

    (void)d;
    (void)type;
    if (claim_wire_decode(body, len, &msg, &error) < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_GANG,
            "claim message from %016" PRIx64 " dropped: %s", from, error.text);
        return;
    }
    if (msg.kind == CLAIM_MSG_GRANT || msg.kind == CLAIM_MSG_REFUSE)
        gangd_home_answer(arg, from, &msg);
    claim_msg_release(&msg);
}

/* ---- the home side: placing and claiming ---- */

static struct home_job *home_find(struct gangd *g, uint64_t id)
{
    for (struct home_job *h = g->homes; h; h = h->next)
        if (h->id == id)
            return h;
    return NULL;
}

static int home_node_index(const struct home_job *h, uint64_t node)
{
    for (int i = 0; h->placement && i < h->placement->nclaims; i++)
        if (h->placement->claims[i].node_id == node)
            return i;
    return -1;
}

/* Send what the gang emitted; a node we cannot reach has refused. */
static void home_drain(struct home_job *h)
{
    struct claim_msg msg;
    uint64_t node;
    uint64_t now = uv_now(daemon_loop(h->g->d));
    uint64_t unreachable[64];
    int nun = 0;

    while (gang_next_message(h->gang, &node, &msg))
        if (cores_send_claim(h->g->cores, node, &msg) < 0
            && msg.kind == CLAIM_MSG_CLAIM && nun < 64)
            unreachable[nun++] = node;
    for (int i = 0; i < nun; i++)
        gang_on_refuse(h->gang, unreachable[i], gang_attempt(h->gang), now);
}

static json_t *home_placement_json(struct home_job *h,
                                   const struct daemon_member *members,
                                   size_t nmembers)
{
    const struct pool_placement *pl = h->placement;
    json_t *nodes = json_array(), *ranks = json_array();
    char id[17];

    for (int i = 0; i < pl->nclaims; i++) {
        const struct daemon_member *m = NULL;
        char *cores = NULL;
        for (size_t k = 0; k < nmembers; k++)
            if (members[k].id == pl->claims[i].node_id)
                m = &members[k];
        snprintf(id, sizeof(id), "%016" PRIx64, pl->claims[i].node_id);
        hwloc_bitmap_list_asprintf(&cores, pl->claims[i].cores);
        json_array_append_new(nodes,
                              json_pack("{s:s, s:s, s:s, s:s}", "id", id,
                                        "name", m ? m->name : "?", "topology",
                                        m ? m->summary.synthetic : "", "cores",
                                        cores ? cores : ""));
        free(cores);
    }
    for (int r = 0; r < pl->nranks; r++) {
        const struct pool_rank *pr = &pl->ranks[r];
        json_t *pus = json_array();
        int node = 0, pu = -1;
        for (int i = 0; i < pl->nclaims; i++)
            if (pl->claims[i].node_id == pr->node_id)
                node = i;
        if (pr->cpuset)
            while ((pu = hwloc_bitmap_next(pr->cpuset, pu)) >= 0)
                json_array_append_new(pus, json_integer(pu));
        json_array_append_new(ranks,
                              json_pack("{s:i, s:i, s:o}", "node", node,
                                        "local", pr->local_rank, "pus", pus));
    }
    snprintf(id, sizeof(id), "%016" PRIx64, h->id);
    return json_pack("{s:s, s:o, s:o, s:b}", "job", id, "nodes", nodes, "ranks",
                     ranks, "oversubscribed", pl->oversubscribed);
}

/* Tell a job's front end that node is gone for the job, and why: "node"
 * (dead, left, or out of reach) or "proxy" (its proxy ended early). */
static void home_tell_lost(control_conn_t *conn, uint64_t node, const char *why)
{
    char id[17];
    json_t *ev;

    snprintf(id, sizeof(id), "%016" PRIx64, node);
    ev = json_pack("{s:s, s:s, s:s}", "event", "node-lost", "node", id, "why",
                   why);
    if (ev)
        control_send_json(conn, ev);
    json_decref(ev);
}

static void home_timer_cb(uv_timer_t *timer);

/* The gang moved: place again, reply, or wait for its timer. */
static void home_step(struct home_job *h)
{
    struct gangd *g = h->g;
    uint64_t now = uv_now(daemon_loop(g->d));
    shoal_error_t error;

    for (;;) {
        enum gang_phase phase = gang_phase(h->gang);
        if (phase == GANG_PLACE) {
            struct daemon_member *members = NULL;
            struct place_node *nodes = NULL;
            hwloc_bitmap_t *free_sets = NULL;
            size_t n = 0;
            int rc = daemon_members(g->d, &members, &n);
            if (rc == 0) {
                nodes = calloc(n ? n : 1, sizeof(*nodes));
                free_sets = calloc(n ? n : 1, sizeof(*free_sets));
            }
            for (size_t i = 0; nodes && free_sets && i < n; i++) {
                const struct daemon_member *m = &members[i];
                free_sets[i] = hwloc_bitmap_alloc();
                if (free_sets[i])
                    hwloc_bitmap_list_sscanf(free_sets[i],
                                             m->summary.free_cores);
                nodes[i].id = m->id;
                nodes[i].name = m->name;
                nodes[i].topology = m->summary.synthetic;
                nodes[i].free_cores = free_sets[i];
                nodes[i].alive = m->state == MEMBER_ALIVE && m->has_summary;
                nodes[i].speed = (int)m->summary.speed;
            }
            pool_placement_destroy(h->placement);
            h->placement = NULL;
            rc = !nodes || !free_sets
                     ? shoal_errprintf(&error, -ENOMEM, "out of memory")
                     : pool_place(nodes, (int)n, &h->req, g->cache,
                                  &h->placement, &error);
            if (rc == SHOAL_ENOSLOTS) {
                /* waiting helps only if the job fits the pool once its
                 * cores are free */
                struct pool_placement *all = NULL;
                shoal_error_t why;
                for (size_t i = 0; i < n; i++)
                    nodes[i].free_cores = NULL;
                if (pool_place(nodes, (int)n, &h->req, g->cache, &all, &why)
                    == SHOAL_ENOSLOTS) {
                    control_reply_error(h->conn, SHOAL_ENOSLOTS, "%s",
                                        why.text);
                    h->replied = true;
                    rc = 0;
                }
                pool_placement_destroy(all);
            }
            for (size_t i = 0; free_sets && i < n; i++)
                hwloc_bitmap_free(free_sets[i]);
            free(free_sets);
            free(nodes);
            free(members);
            if (h->replied)
                return;
            if (rc == SHOAL_ENOSLOTS) {
                /* the cores may come free: keep trying until the timeout,
                 * but say why if it comes */
                if (gang_place_failed(h->gang, now) == 0
                    && gang_phase(h->gang) != GANG_FAILED)
                    break;
                control_reply_error(h->conn, SHOAL_ENOSLOTS, "%s", error.text);
                h->replied = true;
                return;
            }
            if (rc < 0) {
                control_reply_error(h->conn, rc, "%s", error.text);
                h->replied = true;
                return;
            }
            struct gang_target *targets =
                calloc((size_t)h->placement->nclaims, sizeof(*targets));
            if (!targets) {
                control_reply_error(h->conn, -ENOMEM, "out of memory");
                h->replied = true;
                return;
            }
            for (int i = 0; i < h->placement->nclaims; i++) {
                targets[i].node = h->placement->claims[i].node_id;
                targets[i].cores = h->placement->claims[i].cores;
            }
            rc = gang_start(h->gang, targets, h->placement->nclaims, now);
            free(targets);
            if (rc < 0) {
                control_reply_error(h->conn, rc, "cannot claim cores");
                h->replied = true;
                return;
            }
            home_drain(h);
            continue;
        }
        if (phase == GANG_GRANTED) {
            struct daemon_member *members = NULL;
            size_t n = 0;
            gang_confirm(h->gang);
            home_drain(h);
            daemon_members(g->d, &members, &n);
            json_t *placed = home_placement_json(h, members, n);
            if (h->key && placed)
                gangd_journal_placed(g->journal, h->key, placed);
            control_reply(h->conn, placed);
            free(members);
            h->replied = true;
            return;
        }
        if (phase == GANG_FAILED) {
            int rc = gang_status(h->gang, &error);
            control_reply_error(h->conn, rc, "%s", error.text);
            h->replied = true;
            return;
        }
        break;
    }
    uint64_t next = gang_next_timer(h->gang);
    uv_timer_stop(h->timer);
    if (next != UINT64_MAX)
        uv_timer_start(h->timer, home_timer_cb, next > now ? next - now : 0, 0);
}

static void home_timer_cb(uv_timer_t *timer)
{
    struct home_job *h = timer->data;

    gang_on_timer(h->gang, uv_now(timer->loop));
    home_drain(h);
    if (!h->replied)
        home_step(h);
}

static void
gangd_home_answer(struct gangd *g, uint64_t from, const struct claim_msg *msg)
{
    struct home_job *h = home_find(g, msg->job);
    uint64_t now = uv_now(daemon_loop(g->d));

    if (!h || h->replied)
        return;
    if (msg->kind == CLAIM_MSG_GRANT)
        gang_on_grant(h->gang, from, msg->attempt, now);
    else
        gang_on_refuse(h->gang, from, msg->attempt, now);
    home_drain(h);
    home_step(h);
}

static void home_destroy(struct home_job *h)
{
    struct gangd *g = h->g;

    for (struct home_job **pp = &g->homes; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    if (h->gang) {
        /* the job is over, or its front end gone: give the cores back,
         * which also ends the proxies still running */
        gang_release(h->gang);
        home_drain(h);
        gang_destroy(h->gang);
    }
    uv_close((uv_handle_t *)h->timer, free_handle_cb);
    pool_placement_destroy(h->placement);
    hostlist_release(&h->hosts);
    free(h->claim);
    free(h->key);
    free(h);
}

static void home_conn_close(control_conn_t *conn, void *arg)
{
    (void)conn;
    home_destroy(arg);
}

static int relay_send(struct gangd *g,
                      uint64_t node,
                      uint8_t dir,
                      uint64_t job,
                      const uint8_t *frame,
                      size_t len);

/* The level to log a failed relay to node at: a node known dead, gone
 * or unknown is what the member events report (and end the job for), so
 * only other failures are warnings. */
static enum log_level relay_failure_level(int rc)
{
    return rc == -EHOSTDOWN || rc == -ENOENT ? LOG_LEVEL_DEBUG
                                             : LOG_LEVEL_WARNING;
}

static int relay_send_claim(struct gangd *g,
                            uint64_t node,
                            uint64_t job,
                            const char *claim,
                            const uint8_t *frame,
                            size_t len);

/* Give the front end a SPAWN_FAILED from node, as if its proxy had sent
 * it: the job ends with message. */
static void home_tell_failed(control_conn_t *conn,
                             uint64_t node,
                             int code,
                             const char *message)
{
    struct job_frame f = {.kind = JOB_FRAME_SPAWN_FAILED};
    uint8_t *frame = NULL, *out;
    size_t len = 0;

    f.spawn_failed.code = code;
    f.spawn_failed.message = (char *)message;
    if (job_frame_encode(&f, &frame, &len) < 0)
        return;
    out = malloc(8 + len);
    if (out) {
        bytes_put_be64(out, node);
        memcpy(out + 8, frame, len);
        control_send_data(conn, out, 8 + len);
    }
    free(out);
    free(frame);
}

/* Relay a LAUNCH to node with the submitter's claim, made once for the
 * job (a MUNGE credential binding it, or the pool key's word). Returns
 * relay_send()'s code, or -EPERM when no claim can be made (the front end
 * is told). */
static int home_relay_launch(struct home_job *h,
                             uint64_t node,
                             const uint8_t *frame,
                             size_t len)
{
    if (!h->claim) {
        struct usercred_claim claim;
        shoal_error_t error = {{0}};
        json_t *o;
        int rc = usercred_issue(daemon_usercred(h->g->d), USERCRED_GANG,
                                daemon_node_id(h->g->d), h->id, h->uid, h->gid,
                                &claim, &error);

        if (rc < 0) {
            LOG(LOG_LEVEL_WARNING, LOG_GANG,
                "job %016" PRIx64 ": no credential for uid %" PRIu32 ": %s",
                h->id, h->uid, error.text);
            home_tell_failed(h->conn, node, -EPERM, error.text);
            return -EPERM;
        }
        o = usercred_claim_pack(&claim);
        usercred_claim_release(&claim);
        h->claim = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!h->claim)
            return -ENOMEM;
    }
    return relay_send_claim(h->g, node, h->id, h->claim, frame, len);
}

/* A 'D' frame from the front end: u64 node id, then a job frame. */
static void
home_conn_frame(control_conn_t *conn, const void *body, size_t len, void *arg)
{
    struct home_job *h = arg;
    const uint8_t *b = body;
    uint64_t node = 0;
    int rc;

    if (len < 1 + 8 + 1 || b[0] != CONTROL_KIND_DATA || !h->replied
        || !h->placement) {
        control_conn_close(conn);
        return;
    }
    node = bytes_get_be64(b + 1);
    if (home_node_index(h, node) < 0) {
        control_conn_close(conn);
        return;
    }
    if (h->key)
        gangd_journal_frame(h->g->journal, h->key, b + 9, len - 9);
    if (b[9] == JOB_FRAME_LAUNCH) {
        rc = home_relay_launch(h, node, b + 9, len - 9);
        if (rc == -EPERM)
            return;
    } else {
        rc = relay_send(h->g, node, RELAY_TO_PROXY, h->id, b + 9, len - 9);
    }
    if (rc < 0) {
        LOG(relay_failure_level(rc), LOG_GANG,
            "job %016" PRIx64 ": cannot relay a frame to %016" PRIx64
            ": %s; its node is lost to the job",
            h->id, node, strerror(-rc));
        home_tell_lost(conn, node, "node");
    }
}

/* "localhost", loopback addresses and the host name mean this node, as
 * they do without a pool: name it as the pool knows it. */
static void gangd_local_names(struct gangd *g, struct hostlist *hosts)
{
    struct daemon_member *members = NULL;
    char self[256] = "";
    size_t n = 0;

    if (gethostname(self, sizeof(self) - 1) < 0
        || daemon_members(g->d, &members, &n) < 0)
        return;
    for (size_t k = 0; k < n; k++) {
        if (!members[k].self)
            continue;
        for (int i = 0; i < hosts->count; i++) {
            char *name;
            if (!hostlist_is_local(hosts->entries[i].name, self)
                || !(name = strdup(members[k].name)))
                continue;
            free(hosts->entries[i].name);
            hosts->entries[i].name = name;
        }
    }
    free(members);
}

/* Place and claim the job of a "gang-claim" request (gang_request.h). */
static void gangd_op_claim(control_conn_t *conn, json_t *request, void *arg)
{
    struct gangd *g = arg;
    struct home_job *h = calloc(1, sizeof(*h));
    struct gang_request gr;
    struct gang_config gc = {0};
    shoal_error_t error;
    int rc;

    if (!h) {
        control_reply_error(conn, -ENOMEM, "out of memory");
        return;
    }
    rc = gang_request_decode(request, &gr, &h->hosts, &error);
    if (rc < 0) {
        free(h);
        control_reply_error(conn, rc, "%s", error.text);
        return;
    }
    if (g->journal
        && (rc =
                gangd_journal_claim(g->journal, conn, request, &h->key, &error))
               < 0) {
        hostlist_release(&h->hosts);
        free(h);
        control_reply_error(conn, rc, "%s", error.text);
        return;
    }
    gangd_local_names(g, &h->hosts);
    h->g = g;
    h->conn = conn;
    h->uid = control_conn_uid(conn);
    h->gid = control_conn_gid(conn);
    h->req.map = gr.map;
    h->req.hosts = h->hosts.count ? &h->hosts : NULL;
    h->req.home = daemon_node_id(g->d);
    h->req.exclusive = gr.exclusive;
    do
        randombytes_buf(&h->id, sizeof(h->id));
    while (h->id == 0 || home_find(g, h->id));
    h->timer = malloc(sizeof(*h->timer));
    gc.job = h->id;
    gc.home = h->req.home;
    gc.lease_ms = GANGD_LEASE_MS;
    gc.timeout_ms = (uint64_t)gr.timeout_ms;
    gc.seed = h->id;
    if (!h->timer
        || gang_create(&gc, uv_now(daemon_loop(g->d)), &h->gang) < 0) {
        free(h->timer);
        hostlist_release(&h->hosts);
        free(h->key);
        free(h);
        control_reply_error(conn, -ENOMEM, "out of memory");
        return;
    }
    uv_timer_init(daemon_loop(g->d), h->timer);
    uv_unref((uv_handle_t *)h->timer);
    h->timer->data = h;
    h->next = g->homes;
    g->homes = h;
    control_conn_set_handlers(conn, home_conn_frame, home_conn_close, h);
    home_step(h);
}

/* ---- the relay and the proxies ---- */

/* Relay a job frame to node's daemon, towards its proxy or its home; an
 * empty frame tells the home that the proxy is lost. Returns 0, -ENOMEM,
 * or daemon_send()'s error (-ENOBUFS: its queue is full, try again). */
static int relay_send(struct gangd *g,
                      uint64_t node,
                      uint8_t dir,
                      uint64_t job,
                      const uint8_t *frame,
                      size_t len)
{
    uint8_t *body = malloc(RELAY_HEAD + len);
    int rc;

    if (!body)
        return -ENOMEM;
    body[0] = dir;
    bytes_put_be64(body + 1, job);
    if (len)
        memcpy(body + RELAY_HEAD, frame, len);
    rc =
        daemon_send(g->d, node, len ? frame[0] : (uint8_t)GANGD_TYPE_PROXY_LOST,
                    body, RELAY_HEAD + len);
    free(body);
    return rc;
}

/* Relay a frame towards node's proxy of job with claim (JSON text). */
static int relay_send_claim(struct gangd *g,
                            uint64_t node,
                            uint64_t job,
                            const char *claim,
                            const uint8_t *frame,
                            size_t len)
{
    size_t clen = strlen(claim);
    uint8_t *body = malloc(RELAY_HEAD + 4 + clen + len);
    int rc;

    if (!body)
        return -ENOMEM;
    body[0] = RELAY_TO_PROXY_AS;
    bytes_put_be64(body + 1, job);
    bytes_put_be(body + RELAY_HEAD, clen, 4);
    memcpy(body + RELAY_HEAD + 4, claim, clen);
    memcpy(body + RELAY_HEAD + 4 + clen, frame, len);
    rc = daemon_send(g->d, node, frame[0], body, RELAY_HEAD + 4 + clen + len);
    free(body);
    return rc;
}

/* Tell job's home (or the home that asked to launch it) that its proxy
 * here is lost. A home that cannot be told learns it from its connection
 * or the member events. */
static void relay_lost(struct gangd *g, uint64_t home, uint64_t job)
{
    int rc = relay_send(g, home, RELAY_TO_HOME, job, NULL, 0);

    if (rc < 0)
        LOG(relay_failure_level(rc), LOG_GANG,
            "job %016" PRIx64 ": cannot tell %016" PRIx64
            " that its proxy here is lost: %s",
            job, home, strerror(-rc));
}

/* A proxy's frame up to its home: 0, -ENOBUFS (queue full: keep it, try
 * again), or another error, logged once per proxy (the frame is dropped:
 * the home is gone or out of reach, and the member events end the job). */
static int proxy_relay_up(struct proxy *p, const uint8_t *frame, size_t len)
{
    int rc = relay_send(p->g, p->home, RELAY_TO_HOME, p->job, frame, len);

    if (rc < 0 && rc != -ENOBUFS && !p->relay_failed) {
        p->relay_failed = true;
        LOG(relay_failure_level(rc), LOG_GANG,
            "job %016" PRIx64 ": cannot relay the proxy's frames to %016" PRIx64
            ": %s; dropping them",
            p->job, p->home, strerror(-rc));
    }
    return rc;
}

static void proxy_retry_cb(uv_timer_t *timer);

/* Tell the proxy's home what the owner holds now (g->held), unless it
 * knows. A refusal by the home's full queue is tried again by the retry
 * timer; another failure is dropped (the home is gone, and with it the
 * job). */
static void proxy_send_hold(struct proxy *p)
{
    struct job_frame f = {.kind = JOB_FRAME_HOLD};
    uint8_t *frame;
    size_t len;
    bool vacate;
    int rc;

    if (!p->g || p->done_seen)
        return;
    vacate = p->vacate_due && !p->vacated && !p->g->held;
    if (p->held == p->g->held && !vacate && !p->hold_stale)
        return;
    f.hold.held = p->g->held;
    f.hold.vacating = vacate;
    f.hold.reason = p->g->hold_reason;
    if (job_frame_encode(&f, &frame, &len) < 0)
        return;
    rc = proxy_relay_up(p, frame, len);
    free(frame);
    p->hold_stale = rc == -ENOBUFS;
    if (rc == 0) {
        p->held = p->g->held;
        p->vacated |= vacate;
    }
    if (p->hold_stale && !uv_is_active((uv_handle_t *)&p->retry))
        uv_timer_start(&p->retry, proxy_retry_cb, GANGD_RETRY_MS,
                       GANGD_RETRY_MS);
}

static void proxy_handle_closed(uv_handle_t *handle)
{
    struct proxy *p = handle->data;

    if (--p->handles > 0)
        return;
    frame_reader_release(&p->in);
    free(p->pending);
    free(p->rest);
    free(p);
}

static void proxy_unlink(struct proxy *p)
{
    if (!p->g)
        return;
    for (struct proxy **pp = &p->g->proxies; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
}

/* The proxy is gone: what is left in its cgroup is killed, the cgroup
 * removed. */
static void gangd_proxy_cgroup_leave(struct gangd *g, uint64_t job)
{
    char name[32];

    gangd_cgroup_name(job, name, sizeof(name));
    guestd_job_leave(g->guest, name, job);
}

/* Both the process and its link are gone: give the cores back, and tell
 * the home if the proxy did not finish. */
static void proxy_finish(struct proxy *p)
{
    struct gangd *g = p->g;

    if (p->pipe_open || !p->exited || !g)
        return;
    if (!p->done_seen && !p->lost_sent) {
        p->lost_sent = true;
        relay_lost(g, p->home, p->job);
    }
    cores_release(g->cores, p->job);
    gangd_proxy_cgroup_leave(g, p->job);
    proxy_unlink(p);
    p->g = NULL;
    uv_close((uv_handle_t *)&p->process, proxy_handle_closed);
    uv_close((uv_handle_t *)&p->retry, proxy_handle_closed);
}

static void proxy_close_pipe(struct proxy *p)
{
    if (!p->pipe_open)
        return;
    p->pipe_open = false;
    uv_close((uv_handle_t *)&p->pipe, proxy_handle_closed);
}

/* End the proxy: closing its link makes it end its ranks and exit. */
static void proxy_end(struct proxy *p)
{
    proxy_close_pipe(p);
    proxy_finish(p);
}

static void proxy_exit_cb(uv_process_t *process, int64_t status, int signo)
{
    struct proxy *p = process->data;

    (void)status;
    (void)signo;
    p->exited = true;
    proxy_close_pipe(p);
    proxy_finish(p);
}

static void proxy_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

/* One frame from the proxy: up to the home. */
static int proxy_frame(const uint8_t *frame, size_t len, void *arg)
{
    struct proxy *p = arg;
    int rc;

    if (!p->g)
        return 0;
    if (len > 0 && frame[0] == JOB_FRAME_DONE)
        p->done_seen = true;
    if (p->pending) {
        /* keep the order: queue behind the refused one */
        return -ENOBUFS;
    }
    rc = proxy_relay_up(p, frame, len);
    if (rc == -ENOBUFS) {
        p->pending = malloc(len);
        if (!p->pending)
            return -ENOMEM;
        memcpy(p->pending, frame, len);
        p->pending_len = len;
        return -ENOBUFS;
    }
    return 0;
}

/* Feed the proxy's frames in len bytes at data to the home. When its queue
 * refuses one, the bytes after it are kept (in p->rest) to be fed once
 * the refused frame is through. Returns 0, -ENOBUFS (wait for the retry
 * timer) or another negative code (the link is unusable). */
static int proxy_feed(struct proxy *p, const uint8_t *data, size_t len)
{
    size_t used = 0;
    int rc = frame_reader_feed(&p->in, data, len, &used, proxy_frame, p);

    if (rc != -ENOBUFS || used == len)
        return rc;
    p->rest = malloc(len - used);
    if (!p->rest)
        return -ENOMEM;
    memcpy(p->rest, data + used, len - used);
    p->rest_len = len - used;
    return rc;
}

static void proxy_retry_cb(uv_timer_t *timer)
{
    struct proxy *p = timer->data;
    uint8_t *rest;
    int rc;

    if (!p->g)
        return;
    if (p->hold_stale)
        proxy_send_hold(p);
    if (!p->pending) {
        if (!p->hold_stale)
            uv_timer_stop(timer);
        return;
    }
    rc = proxy_relay_up(p, p->pending, p->pending_len);
    if (rc == -ENOBUFS)
        return;
    free(p->pending);
    p->pending = NULL;
    rest = p->rest;
    p->rest = NULL;
    rc = rest ? proxy_feed(p, rest, p->rest_len) : 0;
    free(rest);
    if (rc == -ENOBUFS)
        return;
    if (!p->hold_stale)
        uv_timer_stop(timer);
    if (rc < 0) {
        proxy_close_pipe(p);
        proxy_finish(p);
    } else if (p->pipe_open) {
        uv_read_start((uv_stream_t *)&p->pipe, uvbuf_alloc, proxy_read_cb);
    }
}

static void proxy_read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct proxy *p = stream->data;

    if (n > 0) {
        int rc = proxy_feed(p, (const uint8_t *)buf->base, (size_t)n);

        if (rc == -ENOBUFS) {
            /* the home's queue is full: stop reading the proxy (which then
             * stops reading its ranks) until it drains */
            uv_read_stop(stream);
            uv_timer_start(&p->retry, proxy_retry_cb, GANGD_RETRY_MS,
                           GANGD_RETRY_MS);
        } else if (rc < 0) {
            n = UV_EPROTO;
        }
    }
    free(buf->base);
    if (n < 0) {
        proxy_close_pipe(p);
        proxy_finish(p);
    }
}

/* Start the proxy of job; its ranks run as target says (the proxy
 * switches to the user in each rank's child before exec: `shoal proxy
 * --user UID:GID`). */
static int proxy_spawn(struct gangd *g,
                       uint64_t job,
                       uint64_t home,
                       const struct usercred_target *target,
                       struct proxy **out)
{
    struct proxy *p = calloc(1, sizeof(*p));
    uv_process_options_t opt = {0};
    uv_stdio_container_t stdio[3];
    char *args[9], user[32];
    const char *allowed;
    int n = 2;
    char name[32], memory_dir[4096];
    int sv[2], rc;

    if (!p)
        return -ENOMEM;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(p);
        return -errno;
    }
    args[0] = g->proxy_path;
    args[1] = "proxy";
    p->uid = (uint32_t)geteuid();
    if (target->switch_user) {
        snprintf(user, sizeof(user), "%u:%u", (unsigned)target->account.uid,
                 (unsigned)target->account.gid);
        args[n++] = "--user";
        args[n++] = user;
        p->uid = (uint32_t)target->account.uid;
    }
    gangd_cgroup_name(job, name, sizeof(name));
    if (guestd_job_memory_dir(g->guest, name, memory_dir, sizeof(memory_dir))
        == 0) {
        args[n++] = "--memory-cgroup";
        args[n++] = memory_dir;
    }
    /* in the job's cpuset the proxy would see only the job's PUs; and
     * it sees the machine as the daemon does when the daemon's PUs are
     * fewer than the process may use (--cpus: a Slurm step's CPUs) */
    allowed =
        daemon_cpus(g->d) ? daemon_cpus(g->d) : guestd_allowed_pus(g->guest);
    if (allowed) {
        args[n++] = "--allowed-pus";
        args[n++] = (char *)allowed;
    }
    args[n] = NULL;
    stdio[0].flags = UV_INHERIT_FD;
    stdio[0].data.fd = sv[1];
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = STDERR_FILENO;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = STDERR_FILENO;
    opt.file = g->proxy_path;
    opt.args = args;
    opt.stdio = stdio;
    opt.stdio_count = 3;
    opt.exit_cb = proxy_exit_cb;
    p->process.data = p;
    rc = uv_spawn(daemon_loop(g->d), &p->process, &opt);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        /* the handle was initialized: close it before freeing */
        p->handles = 1;
        uv_close((uv_handle_t *)&p->process, proxy_handle_closed);
        return rc;
    }
    /* before LAUNCH reaches it, so every rank starts in the cgroup */
    guestd_job_add(g->guest, name, p->process.pid);
    /* and as a guest of a lent workstation: the ranks inherit it */
    if (guestd_idle_cpu(g->guest)) {
        struct sched_param none = {0};

        if (sched_setscheduler(p->process.pid, SCHED_IDLE, &none) < 0)
            LOG(LOG_LEVEL_WARNING, LOG_GANG,
                "job %016" PRIx64 ": cannot make its proxy SCHED_IDLE: %s", job,
                strerror(errno));
    }
    uv_pipe_init(daemon_loop(g->d), &p->pipe, 0);
    uv_pipe_open(&p->pipe, sv[0]);
    uv_timer_init(daemon_loop(g->d), &p->retry);
    uv_unref((uv_handle_t *)&p->process);
    uv_unref((uv_handle_t *)&p->pipe);
    uv_unref((uv_handle_t *)&p->retry);
    p->pipe.data = p;
    p->retry.data = p;
    p->handles = 3;
    p->pipe_open = true;
    p->g = g;
    p->job = job;
    p->home = home;
    frame_reader_init(&p->in, JOB_WIRE_FRAME_MAX);
    uv_read_start((uv_stream_t *)&p->pipe, uvbuf_alloc, proxy_read_cb);
    p->next = g->proxies;
    g->proxies = p;
    *out = p;
    return 0;
}

static struct proxy *proxy_find(struct gangd *g, uint64_t job)
{
    for (struct proxy *p = g->proxies; p; p = p->next)
        if (p->job == job)
            return p;
    return NULL;
}

/* Whether the job's LAUNCH from home may start here, and as whom: its
 * claim verified (usercred.h) and this node's policy applied. A LAUNCH
 * without a claim is refused. Returns 0, or a negative code with error
 * filled for the submitter (also logged). */
static int gangd_admit(struct gangd *g,
                       uint64_t home,
                       uint64_t job,
                       const char *text,
                       size_t len,
                       struct usercred_target *target,
                       shoal_error_t *error)
{
    struct usercred_claim claim;
    json_t *o = text ? json_loadb(text, len, 0, NULL) : NULL;
    shoal_error_t why = {{0}};
    int rc = usercred_claim_unpack(o, &claim, &why);

    json_decref(o);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_GANG,
            "launch of job %016" PRIx64 " from %016" PRIx64 " refused: %s", job,
            home, why.text);
        return shoal_errprintf(error, -EPERM, "credential refused: %s",
                               why.text);
    }
    rc = usercred_admit(daemon_usercred(g->d), &claim, USERCRED_GANG, home, job,
                        target, error);
    usercred_claim_release(&claim);
    return rc;
}

/* Tell home that job cannot start here, and why (a SPAWN_FAILED its front
 * end reports), then that its proxy here is lost. */
static void gangd_refuse_launch(
    struct gangd *g, uint64_t home, uint64_t job, int code, const char *why)
{
    struct job_frame f = {.kind = JOB_FRAME_SPAWN_FAILED};
    uint8_t *frame = NULL;
    size_t len = 0;

    f.spawn_failed.code = code;
    f.spawn_failed.message = (char *)why;
    if (job_frame_encode(&f, &frame, &len) == 0)
        relay_send(g, home, RELAY_TO_HOME, job, frame, len);
    free(frame);
    relay_lost(g, home, job);
}

/* Make job's cgroup with the cores it holds here, before its proxy
 * starts; without it the proxy runs in the daemon's (logged). */
static void gangd_proxy_cgroup_join(struct gangd *g, uint64_t job)
{
    hwloc_bitmap_t cores = hwloc_bitmap_alloc();
    char name[32];

    gangd_cgroup_name(job, name, sizeof(name));
    if (cores && cores_job_cores(g->cores, job, cores) == 0)
        guestd_job_join(g->guest, name, job, cores);
    hwloc_bitmap_free(cores);
}

/* A relayed job frame from another daemon (or ourselves). */
static void gangd_job_frame(daemon_t *d,
                            uint64_t from,
                            uint8_t type,
                            const void *body,
                            size_t len,
                            void *arg)
{
    struct gangd *g = arg;
    const uint8_t *b = body;
    const uint8_t *frame = b + RELAY_HEAD;
    size_t flen = len - RELAY_HEAD;
    const char *claim = NULL;
    size_t claim_len = 0;
    uint64_t job = 0;

    (void)d;
    if (len < RELAY_HEAD || b[0] > RELAY_TO_PROXY_AS)
        return;
    job = bytes_get_be64(b + 1);
    if (b[0] == RELAY_TO_PROXY_AS) {
        if (flen < 4)
            return;
        claim_len = (size_t)bytes_get_be(frame, 4);
        if (claim_len > RELAY_CLAIM_MAX || claim_len > flen - 4) {
            LOG(LOG_LEVEL_WARNING, LOG_GANG,
                "job %016" PRIx64 " from %016" PRIx64
                ": malformed user claim dropped",
                job, from);
            return;
        }
        claim = (const char *)frame + 4;
        frame += 4 + claim_len;
        flen -= 4 + claim_len;
    }
    if (b[0] == RELAY_TO_HOME) {
        struct home_job *h = home_find(g, job);
        uint8_t *out;
        if (!h || home_node_index(h, from) < 0)
            return;
        if (type == GANGD_TYPE_PROXY_LOST || flen == 0) {
            home_tell_lost(h->conn, from, "proxy");
            return;
        }
        if (h->key)
            gangd_journal_frame(g->journal, h->key, frame, flen);
        out = malloc(8 + flen);
        if (!out)
            return;
        bytes_put_be64(out, from);
        memcpy(out + 8, frame, flen);
        if (control_send_data(h->conn, out, 8 + flen) == -ENOBUFS) {
            /* the front end stopped reading: it cannot keep up with the
             * job's output, and nothing can be held for it */
            LOG(LOG_LEVEL_WARNING, LOG_GANG,
                "job %016" PRIx64 ": front end not reading, ending", job);
            control_conn_close(h->conn);
        }
        free(out);
        return;
    }
    /* towards a proxy on this node */
    struct proxy *p = proxy_find(g, job);
    if (!p) {
        struct usercred_target target;
        shoal_error_t error = {{0}};
        int rc;
        if (flen == 0 || frame[0] != JOB_FRAME_LAUNCH)
            return;
        /* only the home that claimed cores here may start the job */
        if (cores_job_holds(g->cores, job) <= 0) {
            LOG(LOG_LEVEL_WARNING, LOG_GANG,
                "launch of job %016" PRIx64 " from %016" PRIx64
                " refused: it holds no cores here",
                job, from);
            relay_lost(g, from, job);
            return;
        }
        rc = gangd_admit(g, from, job, claim, claim_len, &target, &error);
        if (rc < 0) {
            gangd_refuse_launch(g, from, job, rc, error.text);
            return;
        }
        cores_confirm(g->cores, job);
        gangd_proxy_cgroup_join(g, job);
        rc = proxy_spawn(g, job, from, &target, &p);
        if (rc < 0) {
            gangd_proxy_cgroup_leave(g, job);
            LOG(LOG_LEVEL_WARNING, LOG_GANG, "cannot start a proxy: %s",
                uv_strerror(rc));
            relay_lost(g, from, job);
            return;
        }
    }
    if (p->home != from || !p->pipe_open)
        return;
    if (job_link_write((uv_stream_t *)&p->pipe, frame, flen, NULL, NULL) < 0)
        proxy_end(p);
    else if (frame[0] == JOB_FRAME_LAUNCH)
        proxy_send_hold(p); /* launched while the owner is here */
}

/* ---- the owner ---- */

static void
gangd_owner_hold(bool held, bool vacating, const char *reason, void *arg)
{
    struct gangd *g = arg;
    int n = 0;

    g->held = held;
    snprintf(g->hold_reason, sizeof(g->hold_reason),
             "the owner of node '%s' %s: %s", daemon_name(g->d),
             held       ? "is back"
             : vacating ? "takes it back"
                        : "let it go",
             reason);
    for (struct proxy *p = g->proxies; p; p = p->next, n++) {
        p->vacate_due |= vacating;
        proxy_send_hold(p);
    }
    if (n > 0)
        LOG(LOG_LEVEL_NOTICE, LOG_GANG, "%d gang job%s told to %s", n,
            n > 1 ? "s" : "",
            held       ? "stop on every node"
            : vacating ? "go on elsewhere"
                       : "go on");
}

/* ---- membership ---- */

static void gangd_member(daemon_t *d,
                         enum member_event_kind kind,
                         const struct daemon_member *m,
                         void *arg)
{
    struct gangd *g = arg;

    (void)d;
    if (kind != MEMBER_EVENT_DEAD && kind != MEMBER_EVENT_LEAVE)
        return;
    /* its proxies here ended when the ledger released its claims */
    for (struct home_job *h = g->homes; h; h = h->next)
        if (h->replied && home_node_index(h, m->id) >= 0)
            home_tell_lost(h->conn, m->id, "node");
}

int gangd_attach(daemon_t *d,
                 cores_t *cores,
                 ownerd_t *owner,
                 const char *proxy_path,
                 gangd_t **out,
                 shoal_error_t *error)
{
    struct gangd *g = calloc(1, sizeof(*g));
    int rc = -ENOMEM;

    if (!g)
        goto fail;
    g->d = d;
    g->cores = cores;
    g->owner = owner;
    g->proxy_path = strdup(proxy_path);
    if (!g->proxy_path || pool_topo_cache_create(&g->cache) < 0)
        goto fail;
    if ((rc = daemon_on_frame(d, CLAIM_MSG_GRANT, CLAIM_MSG_REFUSE,
                              gangd_answer_frame, g))
            < 0
        || (rc = daemon_on_frame(d, GANGD_TYPE_FIRST, GANGD_TYPE_LAST,
                                 gangd_job_frame, g))
               < 0
        || (rc = daemon_on_member(d, gangd_member, g)) < 0
        || (rc = daemon_on_control_class(d, "gang-claim", CONTROL_OP_SUBMIT,
                                         gangd_op_claim, g))
               < 0)
        goto fail;
    cores_set_release_listener(cores, gangd_cores_released, g);
    if (owner)
        ownerd_on_hold(owner, gangd_owner_hold, g);
    *out = g;
    return 0;
fail:
    if (g) {
        pool_topo_cache_destroy(g->cache);
        free(g->proxy_path);
        free(g);
    }
    return shoal_errprintf(error, rc, "cannot set up gang jobs: %s",
                           strerror(-rc));
}

void gangd_set_guest(gangd_t *g, guestd_t *guest)
{
    g->guest = guest;
}

/* Whether a claim of job key is served here now. */
static bool gangd_key_live(const char *key, void *arg)
{
    struct gangd *g = arg;

    for (struct home_job *h = g->homes; h; h = h->next)
        if (h->key && strcmp(h->key, key) == 0)
            return true;
    return false;
}

int gangd_open_journal(gangd_t *g, const char *dir, shoal_error_t *error)
{
    return gangd_journal_attach(g->d, dir, gangd_key_live, g, &g->journal,
                                error);
}

void gangd_detach(gangd_t *g)
{
    if (!g)
        return;
    while (g->homes)
        home_destroy(g->homes);
    while (g->proxies) {
        struct proxy *p = g->proxies;
        g->proxies = p->next;
        p->g = NULL;
        /* the proxy ends its ranks when its link closes; make sure */
        if (!p->exited)
            uv_process_kill(&p->process, SIGTERM);
        proxy_close_pipe(p);
        uv_close((uv_handle_t *)&p->process, proxy_handle_closed);
        uv_close((uv_handle_t *)&p->retry, proxy_handle_closed);
    }
    cores_set_release_listener(g->cores, NULL, NULL);
    if (g->owner)
        ownerd_on_hold(g->owner, NULL, NULL);
    pool_topo_cache_destroy(g->cache);
    gangd_journal_detach(g->journal);
    free(g->proxy_path);
    free(g);
}
