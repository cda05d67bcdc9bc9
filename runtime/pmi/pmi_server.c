/* SPDX-License-Identifier: MIT */
/* pmi_server.c - the PMI-1 "simple" protocol state machine.
 *
 * What an MPICH 4.0 client sends, in order (one request, one reply, except
 * abort which has no reply):
 *
 *   cmd=init pmi_version=1 pmi_subversion=1
 *   cmd=get_maxes
 *   cmd=get_appnum
 *   cmd=get_my_kvsname
 *   cmd=get kvsname=K key=PMI_process_mapping   (when size > 1)
 *   cmd=put kvsname=K key=K1 value=V / cmd=barrier_in / cmd=get ... (repeat)
 *   cmd=get_universe_size                       (for MPI_UNIVERSE_SIZE)
 *   cmd=abort exitcode=N                        (MPI_Abort)
 *   cmd=finalize
 *
 * The client parses replies by splitting at spaces, so no reply value, not
 * even msg=, may contain one. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/pmi/pmi_kvs.h"
#include "runtime/pmi/pmi_server.h"
#include "runtime/pmi/pmi_wire.h"
#include "util/bug.h"

/* The wire, the space and the server must agree on the limits that
 * get_maxes announces. */
_Static_assert((int)PMI_WIRE_LINE_MAX == (int)PMI_SERVER_LINE_MAX,
               "line length");
_Static_assert((int)PMI_WIRE_VALUE_MAX == (int)PMI_SERVER_VALLEN_MAX - 1
                   && (int)PMI_KVS_VALUE_MAX == (int)PMI_SERVER_VALLEN_MAX - 1,
               "value length");
_Static_assert((int)PMI_KVS_KEY_MAX == (int)PMI_SERVER_KEYLEN_MAX - 1,
               "key length");

/* Where a rank is in the protocol; a bit each, so commands can list the
 * phases they are accepted in. */
enum pmi_rank_phase {
    PMI_PHASE_NEW = 1 << 0,        /* no init yet */
    PMI_PHASE_READY = 1 << 1,      /* initialized */
    PMI_PHASE_IN_BARRIER = 1 << 2, /* sent barrier_in, waits for the out */
    PMI_PHASE_FINALIZED = 1 << 3,
};

/* One local rank's connection. */
struct pmi_rank_conn {
    int rank;
    enum pmi_rank_phase phase;
    bool broken; /* failed once; its input is refused from then on */
    size_t linelen;
    char line[PMI_SERVER_LINE_MAX]; /* a partial line, without newline */
};

struct pmi_server {
    struct pmi_server_ops ops;
    void *arg;
    int appnum;
    int universe_size;
    char kvsname[PMI_SERVER_KVSNAME_MAX];
    pmi_kvs_t *kvs;

    int nlocal;
    struct pmi_rank_conn *conns; /* sorted by rank */
    int nbarrier;                /* local ranks in the barrier */
    bool barrier_waiting;        /* announced, not yet released */
};

/* Mark conn broken and fill error with "rank N: <text>". */
__attribute__((format(printf, 4, 5))) static int
server_fail(struct pmi_rank_conn *conn,
            shoal_error_t *error,
            int code,
            const char *fmt,
            ...)
{
    char text[sizeof(error->text)];
    va_list ap;

    conn->broken = true;
    conn->linelen = 0;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return shoal_errprintf(error, code, "rank %d: %s", conn->rank, text);
}

static int server_malformed(struct pmi_rank_conn *conn,
                            const char *line,
                            size_t len,
                            const char *cause,
                            shoal_error_t *error)
{
    char quoted[160];

    pmi_wire_quote(line, len, quoted, sizeof(quoted));
    return server_fail(conn, error, SHOAL_EPROTO,
                       "malformed PMI message '%s' (%s)", quoted, cause);
}

static int server_send(pmi_server_t *server,
                       struct pmi_rank_conn *conn,
                       struct pmi_wire_builder *reply,
                       shoal_error_t *error)
{
    size_t len;

    /* Every value in a reply was checked when it entered the server. */
    if (pmi_wire_builder_finish(reply, &len) < 0)
        SHOAL_BUG("PMI reply does not fit the wire format");
    int rc = server->ops.send(conn->rank, reply->text, len, server->arg);
    if (rc < 0) {
        return server_fail(conn, error, rc, "cannot send PMI reply: %s",
                           shoal_strerror(rc));
    }
    return 0;
}

/* Reply "cmd=<cmd> rc=-1 msg=<why>": a refusal the client reports itself. */
static int server_refuse(pmi_server_t *server,
                         struct pmi_rank_conn *conn,
                         const char *cmd,
                         const char *why,
                         shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    pmi_wire_builder_init(&reply, cmd);
    pmi_wire_builder_add(&reply, "rc", "-1");
    pmi_wire_builder_add(&reply, "msg", why);
    return server_send(server, conn, &reply, error);
}

static struct pmi_rank_conn *server_find(const pmi_server_t *server, int rank)
{
    int lo = 0;
    int hi = server->nlocal - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (server->conns[mid].rank == rank)
            return &server->conns[mid];
        if (server->conns[mid].rank < rank)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* A kvsname= field is optional (PMI 1.1 lets clients leave it out); when
 * present it must name this job's space. */
static bool server_is_my_kvs(const pmi_server_t *server,
                             const struct pmi_wire_msg *msg)
{
    const char *kvsname = pmi_wire_msg_find(msg, "kvsname");

    return !kvsname || strcmp(kvsname, server->kvsname) == 0;
}

typedef int pmi_command_f(pmi_server_t *server,
                          struct pmi_rank_conn *conn,
                          const struct pmi_wire_msg *msg,
                          shoal_error_t *error);

static int cmd_init(pmi_server_t *server,
                    struct pmi_rank_conn *conn,
                    const struct pmi_wire_msg *msg,
                    shoal_error_t *error)
{
    struct pmi_wire_builder reply;
    int version;
    int subversion;

    if (pmi_wire_parse_int(pmi_wire_msg_find(msg, "pmi_version"), &version) < 0
        || pmi_wire_parse_int(pmi_wire_msg_find(msg, "pmi_subversion"),
                              &subversion)
               < 0) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "PMI init with a version that is not a number");
    }
    /* Answer with the version this server speaks either way, so that a
     * client that cannot use it says which one it got. */
    bool supported = version == 1 && subversion >= 0 && subversion <= 1;
    pmi_wire_builder_init(&reply, "response_to_init");
    pmi_wire_builder_add_int(&reply, "pmi_version", 1);
    pmi_wire_builder_add_int(&reply, "pmi_subversion", 1);
    pmi_wire_builder_add_int(&reply, "rc", supported ? 0 : -1);
    if (!supported)
        pmi_wire_builder_add(&reply, "msg", "unsupported_pmi_version");
    int rc = server_send(server, conn, &reply, error);
    if (rc == 0 && supported)
        conn->phase = PMI_PHASE_READY;
    return rc;
}

static int cmd_get_maxes(pmi_server_t *server,
                         struct pmi_rank_conn *conn,
                         const struct pmi_wire_msg *msg,
                         shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    (void)msg;
    pmi_wire_builder_init(&reply, "maxes");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    pmi_wire_builder_add_int(&reply, "kvsname_max", PMI_SERVER_KVSNAME_MAX);
    pmi_wire_builder_add_int(&reply, "keylen_max", PMI_SERVER_KEYLEN_MAX);
    pmi_wire_builder_add_int(&reply, "vallen_max", PMI_SERVER_VALLEN_MAX);
    return server_send(server, conn, &reply, error);
}

static int cmd_get_appnum(pmi_server_t *server,
                          struct pmi_rank_conn *conn,
                          const struct pmi_wire_msg *msg,
                          shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    (void)msg;
    pmi_wire_builder_init(&reply, "appnum");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    pmi_wire_builder_add_int(&reply, "appnum", server->appnum);
    return server_send(server, conn, &reply, error);
}

static int cmd_get_universe_size(pmi_server_t *server,
                                 struct pmi_rank_conn *conn,
                                 const struct pmi_wire_msg *msg,
                                 shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    (void)msg;
    pmi_wire_builder_init(&reply, "universe_size");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    pmi_wire_builder_add_int(&reply, "size", server->universe_size);
    return server_send(server, conn, &reply, error);
}

static int cmd_get_my_kvsname(pmi_server_t *server,
                              struct pmi_rank_conn *conn,
                              const struct pmi_wire_msg *msg,
                              shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    (void)msg;
    pmi_wire_builder_init(&reply, "my_kvsname");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    pmi_wire_builder_add(&reply, "kvsname", server->kvsname);
    return server_send(server, conn, &reply, error);
}

static int cmd_put(pmi_server_t *server,
                   struct pmi_rank_conn *conn,
                   const struct pmi_wire_msg *msg,
                   shoal_error_t *error)
{
    const char *key = pmi_wire_msg_find(msg, "key");
    const char *value = pmi_wire_msg_find(msg, "value");
    shoal_error_t cause;

    if (!server_is_my_kvs(server, msg))
        return server_refuse(server, conn, "put_result", "unknown_kvsname",
                             error);
    int rc = pmi_kvs_check(key, value, &cause);
    if (rc < 0) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "cannot put key '%.64s': %s", key, cause.text);
    }
    rc = pmi_kvs_put(server->kvs, key, value, true, &cause);
    if (rc < 0) {
        /* Tell the rank first, so it fails at once rather than hang. */
        server_refuse(server, conn, "put_result",
                      rc == -ENOSPC ? "kvs_full" : "out_of_memory", NULL);
        return server_fail(conn, error, rc, "cannot put key '%s': %s", key,
                           cause.text);
    }

    struct pmi_wire_builder reply;
    pmi_wire_builder_init(&reply, "put_result");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    return server_send(server, conn, &reply, error);
}

static int cmd_get(pmi_server_t *server,
                   struct pmi_rank_conn *conn,
                   const struct pmi_wire_msg *msg,
                   shoal_error_t *error)
{
    const char *key = pmi_wire_msg_find(msg, "key");
    shoal_error_t cause;

    if (!server_is_my_kvs(server, msg))
        return server_refuse(server, conn, "get_result", "unknown_kvsname",
                             error);
    if (pmi_kvs_check(key, "", &cause) < 0) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "cannot get key '%.64s': %s", key, cause.text);
    }
    const char *value = pmi_kvs_get(server->kvs, key);
    if (!value)
        return server_refuse(server, conn, "get_result", "key_not_found",
                             error);

    struct pmi_wire_builder reply;
    pmi_wire_builder_init(&reply, "get_result");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    pmi_wire_builder_add(&reply, "value", value);
    return server_send(server, conn, &reply, error);
}

static int cmd_barrier_in(pmi_server_t *server,
                          struct pmi_rank_conn *conn,
                          const struct pmi_wire_msg *msg,
                          shoal_error_t *error)
{
    (void)msg;
    conn->phase = PMI_PHASE_IN_BARRIER;
    server->nbarrier++;
    if (server->nbarrier < server->nlocal)
        return 0;
    server->barrier_waiting = true;
    if (server->ops.barrier_enter) {
        server->ops.barrier_enter(server, server->arg);
        return 0;
    }
    return pmi_server_barrier_release(server, error);
}

static int cmd_finalize(pmi_server_t *server,
                        struct pmi_rank_conn *conn,
                        const struct pmi_wire_msg *msg,
                        shoal_error_t *error)
{
    struct pmi_wire_builder reply;

    (void)msg;
    pmi_wire_builder_init(&reply, "finalize_ack");
    pmi_wire_builder_add_int(&reply, "rc", 0);
    int rc = server_send(server, conn, &reply, error);
    if (rc < 0)
        return rc;
    conn->phase = PMI_PHASE_FINALIZED;
    if (server->ops.finalize)
        server->ops.finalize(conn->rank, server->arg);
    return 0;
}

static int cmd_abort(pmi_server_t *server,
                     struct pmi_rank_conn *conn,
                     const struct pmi_wire_msg *msg,
                     shoal_error_t *error)
{
    const char *text = pmi_wire_msg_find(msg, "exitcode");
    const char *reason = pmi_wire_msg_find(msg, "message");
    int exitcode = 1; /* PMI 1.1's default */

    if (text && pmi_wire_parse_int(text, &exitcode) < 0) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "PMI abort with exit code '%.32s', not a number",
                           text);
    }
    if (!reason)
        reason = pmi_wire_msg_find(msg, "msg");
    server->ops.abort(conn->rank, exitcode, reason, server->arg);
    return 0;
}

/* Name publishing serves MPI_Publish_name/MPI_Lookup_name between jobs,
 * which shoal does not offer; a refusal lets the MPI call fail cleanly. */
static int cmd_publish_name(pmi_server_t *server,
                            struct pmi_rank_conn *conn,
                            const struct pmi_wire_msg *msg,
                            shoal_error_t *error)
{
    (void)msg;
    return server_refuse(server, conn, "publish_result", "not_supported",
                         error);
}

static int cmd_unpublish_name(pmi_server_t *server,
                              struct pmi_rank_conn *conn,
                              const struct pmi_wire_msg *msg,
                              shoal_error_t *error)
{
    (void)msg;
    return server_refuse(server, conn, "unpublish_result", "not_supported",
                         error);
}

static int cmd_lookup_name(pmi_server_t *server,
                           struct pmi_rank_conn *conn,
                           const struct pmi_wire_msg *msg,
                           shoal_error_t *error)
{
    (void)msg;
    return server_refuse(server, conn, "lookup_result", "not_supported", error);
}

enum { PMI_COMMAND_FIELDS_MAX = 4 };

static const struct pmi_command {
    const char *name;
    unsigned phases; /* enum pmi_rank_phase bits it is accepted in */
    const char *required[PMI_COMMAND_FIELDS_MAX];
    const char *optional[PMI_COMMAND_FIELDS_MAX];
    pmi_command_f *handle;
} pmi_commands[] = {
    {"init",
     PMI_PHASE_NEW | PMI_PHASE_READY | PMI_PHASE_FINALIZED,
     {"pmi_version", "pmi_subversion"},
     {0},
     cmd_init},
    {"get_maxes", PMI_PHASE_READY, {0}, {0}, cmd_get_maxes},
    {"get_appnum", PMI_PHASE_READY, {0}, {0}, cmd_get_appnum},
    {"get_universe_size", PMI_PHASE_READY, {0}, {0}, cmd_get_universe_size},
    {"get_my_kvsname", PMI_PHASE_READY, {0}, {0}, cmd_get_my_kvsname},
    {"put", PMI_PHASE_READY, {"key", "value"}, {"kvsname"}, cmd_put},
    {"get", PMI_PHASE_READY, {"key"}, {"kvsname"}, cmd_get},
    {"barrier_in", PMI_PHASE_READY, {0}, {0}, cmd_barrier_in},
    {"finalize", PMI_PHASE_READY, {0}, {0}, cmd_finalize},
    {"abort",
     PMI_PHASE_NEW | PMI_PHASE_READY | PMI_PHASE_IN_BARRIER
         | PMI_PHASE_FINALIZED,
     {0},
     {"exitcode", "message", "msg"},
     cmd_abort},
    {"publish_name",
     PMI_PHASE_READY,
     {"service", "port"},
     {0},
     cmd_publish_name},
    {"unpublish_name", PMI_PHASE_READY, {"service"}, {0}, cmd_unpublish_name},
    {"lookup_name", PMI_PHASE_READY, {"service"}, {0}, cmd_lookup_name},
};

static bool command_lists(const char *const *names, const char *name)
{
    for (int i = 0; i < PMI_COMMAND_FIELDS_MAX && names[i]; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

/* Check msg's fields against what command takes; fill cause on failure. */
static int command_check_fields(const struct pmi_command *command,
                                const struct pmi_wire_msg *msg,
                                shoal_error_t *cause)
{
    for (int i = 0; i < PMI_COMMAND_FIELDS_MAX && command->required[i]; i++) {
        if (!pmi_wire_msg_find(msg, command->required[i])) {
            return shoal_errprintf(cause, SHOAL_EPROTO, "missing '%s'",
                                   command->required[i]);
        }
    }
    for (int i = 0; i < msg->nfields; i++) {
        const char *name = msg->fields[i].name;
        if (!command_lists(command->required, name)
            && !command_lists(command->optional, name)) {
            return shoal_errprintf(cause, SHOAL_EPROTO, "unexpected field '%s'",
                                   name);
        }
    }
    return 0;
}

static const char *phase_words(enum pmi_rank_phase phase)
{
    switch (phase) {
    case PMI_PHASE_NEW:
        return "before init";
    case PMI_PHASE_IN_BARRIER:
        return "while waiting in a barrier";
    case PMI_PHASE_FINALIZED:
        return "after finalize";
    case PMI_PHASE_READY:
        break;
    }
    return "after init";
}

static int server_handle_line(pmi_server_t *server,
                              struct pmi_rank_conn *conn,
                              const char *line,
                              size_t len,
                              shoal_error_t *error)
{
    struct pmi_wire_msg msg;
    shoal_error_t cause;

    if (len >= 5 && memcmp(line, "mcmd=", 5) == 0) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "PMI multi-line command (process spawning, as "
                           "in MPI_Comm_spawn) is not supported");
    }
    if (pmi_wire_parse(line, len, &msg, &cause) < 0)
        return server_malformed(conn, line, len, cause.text, error);

    const struct pmi_command *command = NULL;
    for (size_t i = 0; i < sizeof(pmi_commands) / sizeof(pmi_commands[0]);
         i++) {
        if (strcmp(pmi_commands[i].name, msg.cmd) == 0)
            command = &pmi_commands[i];
    }
    if (!command) {
        return server_fail(conn, error, SHOAL_EPROTO,
                           "unknown PMI command '%.64s'", msg.cmd);
    }
    if (!(command->phases & conn->phase)) {
        return server_fail(conn, error, SHOAL_EPROTO, "PMI command '%s' %s",
                           command->name, phase_words(conn->phase));
    }
    if (command_check_fields(command, &msg, &cause) < 0)
        return server_malformed(conn, line, len, cause.text, error);
    return command->handle(server, conn, &msg, error);
}

int pmi_server_input(pmi_server_t *server,
                     int rank,
                     const char *buf,
                     size_t len,
                     shoal_error_t *error)
{
    struct pmi_rank_conn *conn = server_find(server, rank);

    if (!conn) {
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "rank %d: not a rank this PMI server serves",
                               rank);
    }
    if (conn->broken) {
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "rank %d: PMI input after an earlier fault",
                               rank);
    }
    while (len > 0) {
        const char *newline = memchr(buf, '\n', len);
        size_t chunk = newline ? (size_t)(newline - buf) : len;

        if (conn->linelen + chunk > PMI_SERVER_LINE_MAX) {
            char cause[64];
            snprintf(cause, sizeof(cause),
                     "message too long: more than %d bytes",
                     (int)PMI_SERVER_LINE_MAX);
            memcpy(conn->line + conn->linelen, buf,
                   PMI_SERVER_LINE_MAX - conn->linelen);
            return server_malformed(conn, conn->line, PMI_SERVER_LINE_MAX,
                                    cause, error);
        }
        memcpy(conn->line + conn->linelen, buf, chunk);
        conn->linelen += chunk;
        if (!newline)
            break;
        size_t linelen = conn->linelen;
        conn->linelen = 0;
        int rc = server_handle_line(server, conn, conn->line, linelen, error);
        if (rc < 0)
            return rc;
        buf += chunk + 1;
        len -= chunk + 1;
    }
    return 0;
}

int pmi_server_barrier_release(pmi_server_t *server, shoal_error_t *error)
{
    int status = 0;

    if (!server->barrier_waiting) {
        return shoal_errprintf(error, -EINVAL,
                               "no PMI barrier is waiting for release");
    }
    server->barrier_waiting = false;
    server->nbarrier = 0;
    pmi_kvs_clear_fresh(server->kvs);
    for (int i = 0; i < server->nlocal; i++) {
        struct pmi_rank_conn *conn = &server->conns[i];
        struct pmi_wire_builder reply;
        shoal_error_t sent;

        conn->phase = PMI_PHASE_READY;
        if (conn->broken)
            continue;
        pmi_wire_builder_init(&reply, "barrier_out");
        pmi_wire_builder_add_int(&reply, "rc", 0);
        int rc = server_send(server, conn, &reply, &sent);
        if (rc < 0 && status == 0) {
            status = rc;
            if (error)
                *error = sent;
        }
    }
    return status;
}

bool pmi_server_rank_initialized(const pmi_server_t *server, int rank)
{
    const struct pmi_rank_conn *conn = server_find(server, rank);

    return conn && conn->phase != PMI_PHASE_NEW;
}

bool pmi_server_rank_finalized(const pmi_server_t *server, int rank)
{
    const struct pmi_rank_conn *conn = server_find(server, rank);

    return conn && conn->phase == PMI_PHASE_FINALIZED;
}

int pmi_server_kvs_put(pmi_server_t *server, const char *key, const char *value)
{
    return pmi_kvs_put(server->kvs, key, value, false, NULL);
}

const char *pmi_server_kvs_get(const pmi_server_t *server, const char *key)
{
    return pmi_kvs_get(server->kvs, key);
}

int pmi_server_kvs_foreach_new(const pmi_server_t *server,
                               int (*fn)(const char *key,
                                         const char *value,
                                         void *arg),
                               void *arg)
{
    return pmi_kvs_foreach_fresh(server->kvs, fn, arg);
}

static int compare_conns(const void *a, const void *b)
{
    const struct pmi_rank_conn *x = a;
    const struct pmi_rank_conn *y = b;

    return (x->rank > y->rank) - (x->rank < y->rank);
}

static int server_check_config(const struct pmi_server_config *config,
                               const struct pmi_server_ops *ops,
                               shoal_error_t *error)
{
    shoal_error_t cause;

    if (!config || !ops || !ops->send || !ops->abort) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: send and abort "
                               "callbacks are required");
    }
    if (config->size < 1) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: job size %d", config->size);
    }
    if (config->nlocal < 1 || config->nlocal > config->size) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: %d local ranks in a job "
                               "of %d",
                               config->nlocal, config->size);
    }
    if (!config->local_ranks && config->nlocal != config->size) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: %d local ranks in a job "
                               "of %d but no list of them",
                               config->nlocal, config->size);
    }
    if (config->appnum < 0 || config->universe_size < 1) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: appnum %d, universe "
                               "size %d",
                               config->appnum, config->universe_size);
    }
    /* A kvsname travels as a value, and ranks store it in a buffer of
     * kvsname_max bytes. */
    const char *kvsname = config->kvsname ? config->kvsname : "";
    if (strlen(kvsname) >= PMI_SERVER_KVSNAME_MAX
        || pmi_kvs_check(kvsname, "", &cause) < 0) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: kvsname '%.80s'", kvsname);
    }
    if (config->process_mapping
        && pmi_kvs_check("PMI_process_mapping", config->process_mapping, &cause)
               < 0) {
        return shoal_errprintf(error, -EINVAL,
                               "invalid PMI server: PMI_process_mapping: %s",
                               cause.text);
    }
    return 0;
}

int pmi_server_create(const struct pmi_server_config *config,
                      const struct pmi_server_ops *ops,
                      void *arg,
                      pmi_server_t **out,
                      shoal_error_t *error)
{
    int rc = server_check_config(config, ops, error);
    if (rc < 0)
        return rc;

    pmi_server_t *server = calloc(1, sizeof(*server));
    if (!server)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    server->ops = *ops;
    server->arg = arg;
    server->appnum = config->appnum;
    server->universe_size = config->universe_size;
    strcpy(server->kvsname, config->kvsname);
    server->nlocal = config->nlocal;
    server->conns = calloc(config->nlocal, sizeof(*server->conns));
    if (!server->conns) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }
    for (int i = 0; i < config->nlocal; i++) {
        struct pmi_rank_conn *conn = &server->conns[i];
        conn->rank = config->local_ranks ? config->local_ranks[i] : i;
        conn->phase = PMI_PHASE_NEW;
        if (conn->rank < 0 || conn->rank >= config->size) {
            rc = shoal_errprintf(error, -EINVAL,
                                 "invalid PMI server: local rank %d in a "
                                 "job of %d",
                                 conn->rank, config->size);
            goto error;
        }
    }
    qsort(server->conns, server->nlocal, sizeof(*server->conns), compare_conns);
    for (int i = 1; i < server->nlocal; i++) {
        if (server->conns[i].rank == server->conns[i - 1].rank) {
            rc = shoal_errprintf(error, -EINVAL,
                                 "invalid PMI server: local rank %d listed "
                                 "twice",
                                 server->conns[i].rank);
            goto error;
        }
    }
    rc = pmi_kvs_create(PMI_SERVER_KVS_KEYS_MAX, PMI_SERVER_KVS_BYTES_MAX,
                        &server->kvs);
    if (rc < 0) {
        shoal_errprintf(error, rc, "out of memory");
        goto error;
    }
    if (config->process_mapping) {
        rc = pmi_kvs_put(server->kvs, "PMI_process_mapping",
                         config->process_mapping, false, error);
        if (rc < 0)
            goto error;
    }
    *out = server;
    return 0;

error:
    pmi_server_destroy(server);
    return rc;
}

void pmi_server_destroy(pmi_server_t *server)
{
    if (!server)
        return;
    pmi_kvs_destroy(server->kvs);
    free(server->conns);
    free(server);
}
