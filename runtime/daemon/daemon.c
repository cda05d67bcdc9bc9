/* SPDX-License-Identifier: MIT */
/* daemon.c - the node daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include <shoal/error.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/daemon.h"
#include "runtime/member/member.h"
#include "runtime/member/node_summary.h"
#include "runtime/daemon/peer.h"
#include "util/seal.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/nodeid.h"
#include "util/param.h"

PARAM_DEFINE(daemon_leave_rounds_param,
             "leave_rounds",
             PARAM_TYPE_DOUBLE,
             "5",
             "gossip intervals a daemon leaving the pool keeps running, so "
             "that the news spreads; 0 for a pool that ends all at once (a "
             "job's pool in a Slurm allocation)");

/* Seal types of the daemon's own messages. */
enum daemon_type {
    DAEMON_TYPE_MEMBER_DATAGRAM = 1,
    DAEMON_TYPE_MEMBER_STREAM = 2,
    DAEMON_TYPE_DISCOVER = 3,
};

enum daemon_timing {
    DAEMON_LOAD_INTERVAL_MS = 5000,
    DAEMON_JOIN_INTERVAL_MS = 1000,
    /* alone this long with seeds to join: say why it may be */
    DAEMON_ALONE_WARN_MS = 5000,
    DAEMON_DISCOVER_INTERVAL_MS = 2000,
    /* gossip intervals to keep running after leaving */
    DAEMON_LEAVE_ROUNDS = 5,
    DAEMON_SEEDS_MAX = 64,
    DAEMON_LISTENERS_MAX = 16,
    /* services adding their counters to the daemon's */
    DAEMON_STATS_SOURCES_MAX = 8,
};

struct daemon_listener {
    daemon_member_f *fn;
    void *arg;
};

struct daemon_frame_handler {
    daemon_frame_f *fn;
    void *arg;
};

struct daemon {
    uv_loop_t loop;
    char *dir;
    char *cpus; /* config's cpus, or NULL */
    char *pid_path;
    char *sock_path;
    uint64_t id;
    char name[MEMBER_NAME_MAX + 1];
    struct member_addr listen;
    struct member_addr advertise;
    struct member_addr seeds[DAEMON_SEEDS_MAX];
    size_t nseeds;
    uint64_t alone_since_ms; /* mono_ms() it found itself alone, or 0 */
    /* the pool's churn as seen from here, for checkpoint intervals: time
     * nodes were alive (this one included) and how many were lost (dead,
     * not left) */
    double churn_node_s;
    uint64_t churn_losses;
    uint64_t churn_last_ms;
    int churn_alive;
    bool alone_warned;
    bool discover;
    seal_t *seal;
    peer_t *peer;
    control_t *control;
    usercred_t *usercred;
    member_table_t *table;
    struct member_tunables tunables;
    struct node_summary summary;
    uv_timer_t member_timer;
    uv_timer_t load_timer;
    uv_timer_t join_timer;
    uv_timer_t leave_timer;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    bool handles_open;
    bool leaving;
    bool pid_written;
    struct daemon_listener listeners[DAEMON_LISTENERS_MAX];
    size_t nlisteners;
    struct daemon_frame_handler frames[256];
    struct {
        daemon_stats_f *fn;
        void *arg;
    } stats[DAEMON_STATS_SOURCES_MAX];
    size_t nstats;
};

/* A root daemon serves every local user: they must reach its control
 * socket, and its proxies' ranks their checkpoint directories, inside
 * dir. Others may pass through dir (x) but not list it; what is private
 * (pool.key, jobs.db, logs) keeps its own mode 0600. A daemon of another
 * user runs only that user's jobs and keeps its directory to itself. */
static int daemon_open_dir(const char *dir, shoal_error_t *error)
{
    struct stat st;

    if (geteuid() != 0)
        return 0;
    if (stat(dir, &st) < 0)
        return shoal_errprintf(error, -errno, "cannot read '%s': %s", dir,
                               strerror(errno));
    if ((st.st_mode & 0011) == 0011)
        return 0;
    if (chmod(dir, (st.st_mode & 07777) | 0011) < 0)
        return shoal_errprintf(
            error, -errno, "cannot open '%s' to other users (mode %o): %s", dir,
            (unsigned)(st.st_mode & 07777) | 0011, strerror(errno));
    LOG(LOG_LEVEL_INFO, LOG_DAEMON,
        "'%s' opened to other users for passage (mode %o): they reach its "
        "control socket",
        dir, (unsigned)(st.st_mode & 07777) | 0011);
    return 0;
}

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void reschedule(daemon_t *d);

/* ---- membership ---- */

static void member_from_info(const struct member_info *info,
                             struct daemon_member *m)
{
    memset(m, 0, sizeof(*m));
    m->id = info->id;
    snprintf(m->name, sizeof(m->name), "%s", info->name ? info->name : "");
    m->addr = info->addr;
    m->state = info->state;
    m->incarnation = info->incarnation;
    m->since_ms = info->since_ms;
    m->self = info->self;
    m->has_summary = info->payload_len > 0
                     && node_summary_decode(info->payload, info->payload_len,
                                            &m->summary, NULL)
                            == 0;
}

static int member_send(enum member_channel channel,
                       uint64_t dest,
                       const struct member_addr *addr,
                       const void *buf,
                       size_t len,
                       void *arg)
{
    daemon_t *d = arg;

    if (channel == MEMBER_CHANNEL_DATAGRAM)
        return peer_send_datagram(d->peer, addr, dest,
                                  DAEMON_TYPE_MEMBER_DATAGRAM, buf, len);
    return peer_send_stream(d->peer, addr, dest, DAEMON_TYPE_MEMBER_STREAM, buf,
                            len);
}

/* Count the node-time since the last event at the alive count then. */
static void daemon_churn_advance(daemon_t *d)
{
    uint64_t now = mono_ms();

    if (d->churn_last_ms)
        d->churn_node_s +=
            d->churn_alive * (double)(now - d->churn_last_ms) / 1000.0;
    d->churn_last_ms = now;
}

static void daemon_churn_event(daemon_t *d, enum member_event_kind kind)
{
    daemon_churn_advance(d);
    if (kind == MEMBER_EVENT_JOIN)
        d->churn_alive++;
    else if (kind == MEMBER_EVENT_DEAD || kind == MEMBER_EVENT_LEAVE) {
        d->churn_alive -= d->churn_alive > 1;
        d->churn_losses += kind == MEMBER_EVENT_DEAD;
    }
}

static void member_event(enum member_event_kind kind,
                         const struct member_info *info,
                         void *arg)
{
    daemon_t *d = arg;
    struct daemon_member m;
    char where[64];

    daemon_churn_event(d, kind);
    member_from_info(info, &m);
    member_addr_format(&m.addr, where, sizeof(where));
    if (kind != MEMBER_EVENT_UPDATE)
        LOG(LOG_LEVEL_NOTICE, LOG_MEMBER, "%s %s (%016" PRIx64 " at %s)",
            member_event_name(kind), m.name, m.id, where);
    else
        LOG(LOG_LEVEL_DEBUG, LOG_MEMBER, "update %s (%016" PRIx64 ")", m.name,
            m.id);
    for (size_t i = 0; i < d->nlisteners; i++)
        d->listeners[i].fn(d, kind, &m, d->listeners[i].arg);
}

static const struct member_ops daemon_member_ops = {
    .send = member_send,
    .event = member_event,
};

static void on_member_timer(uv_timer_t *timer)
{
    daemon_t *d = timer->data;

    /* acks waiting in the socket count before the probe timers run out */
    peer_drain(d->peer);
    member_table_tick(d->table, mono_ms());
    reschedule(d);
}

static void reschedule(daemon_t *d)
{
    uint64_t now = mono_ms();
    uint64_t at = member_table_next_deadline(d->table);

    uv_timer_start(&d->member_timer, on_member_timer, at > now ? at - now : 0,
                   0);
}

static void
on_member_message(peer_t *peer, const struct peer_message *msg, void *arg)
{
    daemon_t *d = arg;
    enum member_channel channel = msg->type == DAEMON_TYPE_MEMBER_DATAGRAM
                                      ? MEMBER_CHANNEL_DATAGRAM
                                      : MEMBER_CHANNEL_STREAM;

    if ((msg->type == DAEMON_TYPE_MEMBER_DATAGRAM)
        != (msg->channel == PEER_CHANNEL_DATAGRAM)) {
        peer_count_drop(peer, PEER_DROP_MALFORMED);
        return;
    }
    if (member_table_input(d->table, channel, msg->sender, msg->addr, msg->body,
                           msg->len, mono_ms(), NULL)
        == SHOAL_EPROTO)
        peer_count_drop(peer, PEER_DROP_MALFORMED);
    reschedule(d);
}

static bool daemon_alone(daemon_t *d)
{
    return member_table_count(d->table, MEMBER_ALIVE)
               + member_table_count(d->table, MEMBER_SUSPECT)
           <= 1;
}

/* A daemon that stays alone although it has seeds is told why it may be,
 * once per time alone: the seeds are down or unreachable, or they answer
 * with another pool's key (their answers then fail to open). */
static void daemon_warn_alone(daemon_t *d)
{
    struct peer_stats ps;
    uint64_t now = mono_ms();

    if (!d->alone_since_ms)
        d->alone_since_ms = now;
    if (d->alone_warned || now - d->alone_since_ms < DAEMON_ALONE_WARN_MS)
        return;
    d->alone_warned = true;
    peer_get_stats(d->peer, &ps);
    if (ps.seal.dropped[SEAL_DROP_AUTH] > 0 || ps.unanswered > 0)
        LOG(LOG_LEVEL_WARNING, LOG_MEMBER,
            "still alone after %d s: %" PRIu64 " messages failed "
            "authentication and %" PRIu64 " connections were closed "
            "unanswered; does every node have the same pool key?",
            DAEMON_ALONE_WARN_MS / 1000, ps.seal.dropped[SEAL_DROP_AUTH],
            ps.unanswered);
    else
        LOG(LOG_LEVEL_WARNING, LOG_MEMBER,
            "still alone after %d s: no seed has answered; are they running "
            "and reachable?",
            DAEMON_ALONE_WARN_MS / 1000);
}

/* Seeds are tried again while no one else is alive: at start, and after
 * the rest of the pool was lost. */
static void on_join_timer(uv_timer_t *timer)
{
    daemon_t *d = timer->data;
    struct ifaddrs *ifs, *ifa;

    if (d->leaving)
        return;
    if (!daemon_alone(d)) {
        d->alone_since_ms = 0;
        d->alone_warned = false;
        return;
    }
    if (d->nseeds > 0) {
        member_table_join(d->table, d->seeds, d->nseeds, mono_ms());
        daemon_warn_alone(d);
    }
    if (d->discover && getifaddrs(&ifs) == 0) {
        for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
            struct member_addr to;

            if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET
                || !(ifa->ifa_flags & IFF_UP))
                continue;
            if ((ifa->ifa_flags & IFF_BROADCAST) && ifa->ifa_netmask) {
                /* from the address and mask: an interface configured
                 * without "brd" reports 0.0.0.0 as its broadcast */
                struct sockaddr_in b = *(struct sockaddr_in *)ifa->ifa_addr;
                b.sin_addr.s_addr |=
                    ~((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr.s_addr;
                peer_addr_from_sockaddr((struct sockaddr *)&b, &to);
            } else if (ifa->ifa_flags & IFF_LOOPBACK)
                peer_addr_parse("127.255.255.255", 0, &to);
            else
                continue;
            to.port = d->listen.port;
            peer_send_datagram(d->peer, &to, 0, DAEMON_TYPE_DISCOVER, NULL, 0);
        }
        freeifaddrs(ifs);
    }
    reschedule(d);
}

/* An authenticated discovery broadcast: the sender holds the pool key. */
static void on_discover(peer_t *peer, const struct peer_message *msg, void *arg)
{
    daemon_t *d = arg;
    struct member_info info;

    (void)peer;
    if (msg->channel != PEER_CHANNEL_DATAGRAM || msg->sender == d->id
        || d->leaving)
        return;
    if (member_table_find(d->table, msg->sender, &info) == 0
        && (info.state == MEMBER_ALIVE || info.state == MEMBER_SUSPECT))
        return;
    member_table_join(d->table, msg->addr, 1, mono_ms());
    reschedule(d);
}

static void publish_summary(daemon_t *d)
{
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    if (node_summary_encode(&d->summary, buf, sizeof(buf), &len) == 0)
        member_table_set_payload(d->table, buf, len, mono_ms());
    reschedule(d);
}

static void on_load_timer(uv_timer_t *timer)
{
    daemon_t *d = timer->data;
    uint32_t before = d->summary.load_milli;

    if (d->leaving)
        return;
    node_summary_refresh_load(&d->summary);
    if (d->summary.load_milli / 10 != before / 10)
        publish_summary(d);
}

/* ---- frames of other modules ---- */

static void on_frame(peer_t *peer, const struct peer_message *msg, void *arg)
{
    daemon_t *d = arg;
    struct daemon_frame_handler *h = &d->frames[msg->type];

    if (!h->fn) {
        peer_count_drop(peer, PEER_DROP_UNHANDLED);
        return;
    }
    h->fn(d, msg->sender, msg->type, msg->body, msg->len, h->arg);
}

int daemon_on_frame(
    daemon_t *d, uint8_t first, uint8_t last, daemon_frame_f *fn, void *arg)
{
    if (first < DAEMON_FRAME_FIRST || first > last || !fn)
        return -EINVAL;
    for (unsigned t = first; t <= last; t++) {
        d->frames[t].fn = fn;
        d->frames[t].arg = arg;
    }
    return 0;
}

int daemon_send(
    daemon_t *d, uint64_t node, uint8_t type, const void *body, size_t len)
{
    struct member_info info;

    if (type < DAEMON_FRAME_FIRST)
        return -EINVAL;
    if (node == d->id)
        return peer_send_stream(d->peer, &d->advertise, node, type, body, len);
    if (member_table_find(d->table, node, &info) < 0)
        return -ENOENT;
    if (info.state == MEMBER_DEAD || info.state == MEMBER_LEFT)
        return -EHOSTDOWN;
    return peer_send_stream(d->peer, &info.addr, node, type, body, len);
}

int daemon_on_member(daemon_t *d, daemon_member_f *fn, void *arg)
{
    if (d->nlisteners == DAEMON_LISTENERS_MAX)
        return -ENOMEM;
    d->listeners[d->nlisteners].fn = fn;
    d->listeners[d->nlisteners].arg = arg;
    d->nlisteners++;
    return 0;
}

int daemon_on_control(daemon_t *d, const char *op, control_op_f *fn, void *arg)
{
    return control_on(d->control, op, fn, arg);
}

int daemon_on_control_class(daemon_t *d,
                            const char *op,
                            enum control_op_class op_class,
                            control_op_f *fn,
                            void *arg)
{
    return control_on_class(d->control, op, op_class, fn, arg);
}

int daemon_members(daemon_t *d, struct daemon_member **out, size_t *n)
{
    size_t size = member_table_size(d->table);
    struct daemon_member *m = calloc(size ? size : 1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    for (size_t i = 0; i < size; i++) {
        struct member_info info;

        member_table_at(d->table, i, &info);
        member_from_info(&info, &m[i]);
    }
    *out = m;
    *n = size;
    return 0;
}

const struct node_summary *daemon_summary(const daemon_t *d)
{
    return &d->summary;
}

int daemon_set_summary(daemon_t *d, const struct node_summary *summary)
{
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;
    int rc = node_summary_encode(summary, buf, sizeof(buf), &len);

    if (rc < 0)
        return rc;
    d->summary = *summary;
    rc = member_table_set_payload(d->table, buf, len, mono_ms());
    reschedule(d);
    return rc;
}

uv_loop_t *daemon_loop(daemon_t *d)
{
    return &d->loop;
}

const char *daemon_name(const daemon_t *d)
{
    return d->name;
}

const char *daemon_cpus(const daemon_t *d)
{
    return d->cpus;
}

uint64_t daemon_node_id(const daemon_t *d)
{
    return d->id;
}

/* ---- control ops ---- */

static void id_text(uint64_t id, char buf[17])
{
    snprintf(buf, 17, "%016" PRIx64, id);
}

static unsigned core_list_count(const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int n = 0;

    if (set && hwloc_bitmap_list_sscanf(set, list) == 0)
        n = hwloc_bitmap_weight(set);
    hwloc_bitmap_free(set);
    return n < 0 ? 0 : (unsigned)n;
}

static json_t *member_json(const struct daemon_member *m)
{
    char id[17], where[64];
    json_t *o;

    id_text(m->id, id);
    member_addr_format(&m->addr, where, sizeof(where));
    o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:I}", "id", id, "name",
                  m->name, "addr", where, "state", member_state_name(m->state),
                  "incarnation", (json_int_t)m->incarnation, "self", m->self,
                  "age_ms", (json_int_t)(mono_ms() - m->since_ms));
    if (o && m->has_summary) {
        const struct node_summary *s = &m->summary;

        json_object_set_new(
            o, "summary",
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
                      "s:s, s:I, s:I}",
                      "hostname", s->hostname, "synthetic", s->synthetic,
                      "packages", (json_int_t)s->packages, "numa_nodes",
                      (json_int_t)s->numa_nodes, "cores", (json_int_t)s->cores,
                      "pus", (json_int_t)s->pus, "memory_bytes",
                      (json_int_t)s->memory_bytes, "gpus", (json_int_t)s->gpus,
                      "speed", (json_int_t)s->speed, "load",
                      s->load_milli / 1000.0, "free_cores", s->free_cores,
                      "cores_free", (json_int_t)core_list_count(s->free_cores),
                      "claims_generation", (json_int_t)s->claims_generation));
        /* a daemon from before owner states (version 1) always lent */
        json_object_set_new(
            o, "owner",
            json_string(s->owner == NODE_OWNER_UNKNOWN
                            ? "dedicated"
                            : node_summary_owner_name(s->owner)));
    }
    return o;
}

static void op_ping(control_conn_t *conn, json_t *request, void *arg)
{
    daemon_t *d = arg;
    char id[17];

    (void)request;
    id_text(d->id, id);
    control_reply(conn,
                  json_pack("{s:s, s:s, s:s, s:i}", "service", "daemon", "node",
                            id, "name", d->name, "pid", (int)getpid()));
}

static void op_status(control_conn_t *conn, json_t *request, void *arg)
{
    daemon_t *d = arg;
    struct daemon_member *m;
    size_t n;
    json_t *list;
    char id[17];

    (void)request;
    if (daemon_members(d, &m, &n) < 0) {
        control_reply_error(conn, -ENOMEM, "out of memory");
        return;
    }
    list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, member_json(&m[i]));
    free(m);
    id_text(d->id, id);
    daemon_churn_advance(d);
    control_reply(conn,
                  json_pack("{s:s, s:o, s:{s:f, s:I}}", "self", id, "members",
                            list, "churn", "node_seconds", d->churn_node_s,
                            "losses", (json_int_t)d->churn_losses));
}

int daemon_on_stats(daemon_t *d, daemon_stats_f *fn, void *arg)
{
    if (d->nstats == DAEMON_STATS_SOURCES_MAX)
        return -ENOMEM;
    d->stats[d->nstats].fn = fn;
    d->stats[d->nstats].arg = arg;
    d->nstats++;
    return 0;
}

json_t *daemon_stats_json(daemon_t *d)
{
    struct peer_stats ps;
    struct member_stats ms;
    struct control_stats cs;
    json_t *drops = json_object(), *stats;

    peer_get_stats(d->peer, &ps);
    member_table_get_stats(d->table, &ms);
    control_get_stats(d->control, &cs);
    for (int i = 0; i < SEAL_DROP_COUNT; i++)
        json_object_set_new(drops, seal_drop_name(i),
                            json_integer((json_int_t)ps.seal.dropped[i]));
    for (int i = 0; i < PEER_DROP_COUNT; i++)
        json_object_set_new(drops, peer_drop_name(i),
                            json_integer((json_int_t)ps.dropped[i]));
    stats = json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I}, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:I}}",
        "transport", "datagrams_sent", (json_int_t)ps.datagrams_sent,
        "datagrams_received", (json_int_t)ps.datagrams_received, "frames_sent",
        (json_int_t)ps.frames_sent, "frames_received",
        (json_int_t)ps.frames_received, "bytes_sent", (json_int_t)ps.bytes_sent,
        "bytes_received", (json_int_t)ps.bytes_received, "send_errors",
        (json_int_t)ps.send_errors, "connects", (json_int_t)ps.connects,
        "connect_errors", (json_int_t)ps.connect_errors, "accepted",
        (json_int_t)ps.accepted, "disconnected", (json_int_t)ps.disconnected,
        "unanswered", (json_int_t)ps.unanswered, "sealed",
        (json_int_t)ps.seal.sealed, "opened", (json_int_t)ps.seal.opened,
        "drops", drops, "member", "received", (json_int_t)ms.received,
        "malformed", (json_int_t)ms.malformed, "probes", (json_int_t)ms.probes,
        "indirect_probes", (json_int_t)ms.indirect_probes, "suspicions",
        (json_int_t)ms.suspicions, "refutations", (json_int_t)ms.refutations,
        "control", "accepted", (json_int_t)cs.accepted, "refused",
        (json_int_t)cs.refused, "requests", (json_int_t)cs.requests,
        "unknown_ops", (json_int_t)cs.unknown_ops, "malformed",
        (json_int_t)cs.malformed, "over_limit", (json_int_t)cs.over_limit,
        "stalled", (json_int_t)cs.stalled);
    for (size_t i = 0; stats && i < d->nstats; i++)
        d->stats[i].fn(d, stats, d->stats[i].arg);
    return stats;
}

static void op_stats(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    control_reply(conn, json_pack("{s:o}", "stats", daemon_stats_json(arg)));
}

static void op_stop(control_conn_t *conn, json_t *request, void *arg)
{
    daemon_t *d = arg;

    (void)request;
    LOG(LOG_LEVEL_NOTICE, LOG_DAEMON, "stop requested");
    control_reply(conn, json_pack("{s:i}", "pid", (int)getpid()));
    daemon_stop(d);
}

/* ---- lifecycle ---- */

static void on_signal(uv_signal_t *sig, int signum)
{
    daemon_t *d = sig->data;

    LOG(LOG_LEVEL_NOTICE, LOG_DAEMON, "signal %d: leaving", signum);
    daemon_stop(d);
}

static void close_handles(daemon_t *d)
{
    if (!d->handles_open)
        return;
    d->handles_open = false;
    uv_close((uv_handle_t *)&d->member_timer, NULL);
    uv_close((uv_handle_t *)&d->load_timer, NULL);
    uv_close((uv_handle_t *)&d->join_timer, NULL);
    uv_close((uv_handle_t *)&d->leave_timer, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    peer_destroy(d->peer);
    d->peer = NULL;
    control_destroy(d->control);
    d->control = NULL;
}

static void on_left(uv_timer_t *timer)
{
    daemon_t *d = timer->data;

    LOG(LOG_LEVEL_NOTICE, LOG_DAEMON, "left the pool");
    close_handles(d);
}

void daemon_stop(daemon_t *d)
{
    if (d->leaving)
        return;
    d->leaving = true;
    member_table_leave(d->table, mono_ms());
    reschedule(d);
    uv_timer_stop(&d->join_timer);
    uv_timer_stop(&d->load_timer);
    double rounds = DAEMON_LEAVE_ROUNDS;
    if (param_get_double(&daemon_leave_rounds_param, 0, &rounds, NULL) < 0)
        rounds = DAEMON_LEAVE_ROUNDS;
    uv_timer_start(&d->leave_timer, on_left,
                   (uint64_t)(rounds * d->tunables.gossip_interval_ms), 0);
}

int daemon_run(daemon_t *d)
{
    uv_timer_start(&d->join_timer, on_join_timer, 0, DAEMON_JOIN_INTERVAL_MS);
    uv_timer_start(&d->load_timer, on_load_timer, DAEMON_LOAD_INTERVAL_MS,
                   DAEMON_LOAD_INTERVAL_MS);
    reschedule(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int parse_seeds(daemon_t *d, const char *list, shoal_error_t *error)
{
    char *copy = strdup(list), *save = NULL, *tok;
    int rc = 0;

    if (!copy)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        struct member_addr a;

        if (peer_addr_parse(tok, DAEMON_DEFAULT_PORT, &a) < 0) {
            rc = shoal_errprintf(error, -EINVAL,
                                 "bad seed address '%s' (want ADDR:PORT)", tok);
            break;
        }
        if (member_addr_equal(&a, &d->advertise))
            continue;
        if (d->nseeds == DAEMON_SEEDS_MAX) {
            rc = shoal_errprintf(error, -EINVAL, "more than %d seeds",
                                 DAEMON_SEEDS_MAX);
            break;
        }
        d->seeds[d->nseeds++] = a;
    }
    free(copy);
    return rc;
}

static int first_ipv4(struct member_addr *addr)
{
    struct ifaddrs *ifs, *ifa;
    int rc = -ENOENT;

    if (getifaddrs(&ifs) < 0)
        return -errno;
    for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET
            && (ifa->ifa_flags & IFF_UP) && !(ifa->ifa_flags & IFF_LOOPBACK)) {
            uint16_t port = addr->port;

            peer_addr_from_sockaddr(ifa->ifa_addr, addr);
            addr->port = port;
            rc = 0;
            break;
        }
    }
    freeifaddrs(ifs);
    return rc;
}

static int set_addresses(daemon_t *d,
                         const struct daemon_config *config,
                         shoal_error_t *error)
{
    static const uint8_t any4[4];

    if (peer_addr_parse(config->listen ? config->listen : "0.0.0.0",
                        DAEMON_DEFAULT_PORT, &d->listen)
        < 0)
        return shoal_errprintf(error, -EINVAL,
                               "bad listen address '%s' (want ADDR:PORT)",
                               config->listen);
    /* a socket bound to one address receives no broadcasts */
    if (config->discover
        && (d->listen.family != 4 || memcmp(d->listen.bytes, any4, 4) != 0))
        return shoal_errprintf(error, -EINVAL,
                               "--discover needs the daemon to listen on "
                               "0.0.0.0 (a socket bound to '%s' receives no "
                               "broadcasts); choose the address peers use "
                               "with --advertise",
                               config->listen);
    d->advertise = d->listen;
    if (config->advertise) {
        if (peer_addr_parse(config->advertise, d->listen.port, &d->advertise)
            < 0)
            return shoal_errprintf(error, -EINVAL,
                                   "bad advertised address '%s'",
                                   config->advertise);
    } else if (d->listen.family == 4 && memcmp(d->listen.bytes, any4, 4) == 0
               && first_ipv4(&d->advertise) < 0) {
        peer_addr_parse("127.0.0.1", d->listen.port, &d->advertise);
    }
    return 0;
}

static int write_pid(daemon_t *d, shoal_error_t *error)
{
    FILE *f = fopen(d->pid_path, "we");

    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
        return shoal_errprintf(error, -errno, "cannot write '%s': %s",
                               d->pid_path, strerror(errno));
    d->pid_written = true;
    return 0;
}

int daemon_create(const struct daemon_config *config,
                  daemon_t **out,
                  shoal_error_t *error)
{
    struct seal_config sconf = {0};
    struct member_config mconf = {0};
    struct peer_config pconf = {0};
    uint8_t payload[MEMBER_PAYLOAD_MAX];
    size_t payload_len = 0;
    seal_key_t key;
    char *key_path = NULL;
    daemon_t *d;
    int rc;

    if (!config->dir || !*config->dir)
        return shoal_errprintf(error, -EINVAL, "no daemon directory");
    d = calloc(1, sizeof(*d));
    if (!d)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    d->discover = config->discover;
    d->dir = strdup(config->dir);
    d->pid_path = path_join(config->dir, "daemon.pid");
    d->sock_path = path_join(config->dir, "control.sock");
    key_path = config->key_path ? strdup(config->key_path)
                                : path_join(config->dir, "pool.key");
    d->churn_alive = 1; /* this node */
    uv_loop_init(&d->loop);
    if (!d->dir || !d->pid_path || !d->sock_path || !key_path) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }
    if (fs_mkdir_p(d->dir, 0700) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot create '%s': %s", d->dir,
                             strerror(errno));
        goto error;
    }
    rc = daemon_open_dir(d->dir, error);
    if (rc < 0)
        goto error;
    rc = set_addresses(d, config, error);
    if (rc < 0)
        goto error;
    if (config->join) {
        rc = parse_seeds(d, config->join, error);
        if (rc < 0)
            goto error;
    }
    rc = seal_key_load(key_path, &key, error);
    if (rc < 0)
        goto error;
    rc = nodeid_load(d->dir, &d->id, error);
    if (rc < 0)
        goto error;
    if (config->cpus) {
        d->cpus = strdup(config->cpus);
        if (!d->cpus) {
            rc = shoal_errprintf(error, -ENOMEM, "out of memory");
            goto error;
        }
    }
    rc = node_summary_collect(config->topology, config->cpus, &d->summary,
                              error);
    if (rc < 0)
        goto error;
    /* until an owner service says otherwise, this node always lends */
    d->summary.owner = NODE_OWNER_DEDICATED;
    snprintf(d->name, sizeof(d->name), "%s",
             config->name ? config->name : d->summary.hostname);
    {
        struct usercred_config uconf = {.mode = USERCRED_POOL};

        if (config->credentials)
            uconf = *config->credentials;
        uconf.node = d->name;
        rc = usercred_create(&uconf, &d->usercred, error);
        if (rc < 0)
            goto error;
    }
    sconf.key = &key;
    sconf.node_id = d->id;
    rc = seal_create(&sconf, &d->seal, error);
    sodium_memzero(&key, sizeof(key));
    if (rc < 0)
        goto error;

    /* the control socket first: it says whether a daemon already runs */
    rc = control_create(&d->loop, d->sock_path, &d->control, error);
    if (rc < 0)
        goto error;
    pconf.loop = &d->loop;
    pconf.seal = d->seal;
    pconf.node_id = d->id;
    pconf.listen = d->listen;
    rc = peer_create(&pconf, &d->peer, error);
    if (rc < 0)
        goto error;

    member_tunables_default(&d->tunables);
    rc = node_summary_encode(&d->summary, payload, sizeof(payload),
                             &payload_len);
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot encode the node summary");
        goto error;
    }
    mconf.id = d->id;
    mconf.name = d->name;
    mconf.addr = d->advertise;
    mconf.payload = payload;
    mconf.payload_len = payload_len;
    mconf.tunables = d->tunables;
    mconf.now_ms = mono_ms();
    rc = member_table_create(&mconf, &daemon_member_ops, d, &d->table, error);
    if (rc < 0)
        goto error;

    peer_on(d->peer, DAEMON_TYPE_MEMBER_DATAGRAM, DAEMON_TYPE_MEMBER_STREAM,
            on_member_message, d);
    peer_on(d->peer, DAEMON_TYPE_DISCOVER, DAEMON_TYPE_DISCOVER, on_discover,
            d);
    peer_on(d->peer, DAEMON_FRAME_FIRST, 255, on_frame, d);
    if (control_on_class(d->control, "ping", CONTROL_OP_READ, op_ping, d) < 0
        || control_on_class(d->control, "status", CONTROL_OP_READ, op_status, d)
               < 0
        || control_on_class(d->control, "stats", CONTROL_OP_READ, op_stats, d)
               < 0
        || control_on(d->control, "stop", op_stop, d) < 0) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }

    uv_timer_init(&d->loop, &d->member_timer);
    uv_timer_init(&d->loop, &d->load_timer);
    uv_timer_init(&d->loop, &d->join_timer);
    uv_timer_init(&d->loop, &d->leave_timer);
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    d->member_timer.data = d->load_timer.data = d->join_timer.data = d;
    d->leave_timer.data = d->sigterm.data = d->sigint.data = d;
    d->handles_open = true;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);

    rc = write_pid(d, error);
    if (rc < 0)
        goto error;
    {
        char where[64];

        member_addr_format(&d->advertise, where, sizeof(where));
        LOG(LOG_LEVEL_NOTICE, LOG_DAEMON,
            "node %016" PRIx64 " '%s' at %s: %u cores, speed %u", d->id,
            d->name, where, (unsigned)d->summary.cores,
            (unsigned)d->summary.speed);
    }
    free(key_path);
    *out = d;
    return 0;

error:
    free(key_path);
    daemon_destroy(d);
    return rc;
}

void daemon_destroy(daemon_t *d)
{
    if (!d)
        return;
    if (d->handles_open)
        close_handles(d);
    peer_destroy(d->peer);
    control_destroy(d->control);
    /* run the close callbacks */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    member_table_destroy(d->table);
    seal_destroy(d->seal);
    if (d->pid_written)
        unlink(d->pid_path);
    usercred_destroy(d->usercred);
    free(d->dir);
    free(d->cpus);
    free(d->pid_path);
    free(d->sock_path);
    free(d);
}

usercred_t *daemon_usercred(daemon_t *d)
{
    return d->usercred;
}
