/* SPDX-License-Identifier: MIT */
/* gangd_journal.c - the home daemon's record of checkpointing gang jobs. */
#include "runtime/job/gangd_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/job/gang_journal.h"
#include "runtime/job/job_wire.h"
#include "util/log.h"
#include "util/param.h"

PARAM_DEFINE(gangd_journal_retain_param,
             "gang_journal_retain_days",
             PARAM_TYPE_DOUBLE,
             "14",
             "days the home's journal keeps a gang job whose shoal run is "
             "gone and that no run started since (checked when the daemon "
             "starts), as each node keeps the job's checkpoints "
             "(SHOAL_CKPT_RETAIN_DAYS)");

struct gangd_journal {
    daemon_t *d;
    gang_journal_t *journal;
    gangd_journal_live_f *live;
    void *live_arg;
};

/* The start time of process pid (field 22 of /proc/PID/stat, in clock
 * ticks since boot), or 0 when it is gone or cannot be read. */
static uint64_t gangd_journal_pid_start(int64_t pid)
{
    char path[64], buf[1024];
    unsigned long long start = 0;
    FILE *f;
    char *p;
    size_t n;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%" PRId64 "/stat", pid);
    f = fopen(path, "re");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: skip past its
     * last ')' to field 3 */
    p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (!p || sscanf(p, " %llu", &start) != 1)
        return 0;
    return start;
}

/* Whether job's coordinator runs: a claim of it is served here, or the
 * process that made its last claim is still the same process. */
static bool gangd_journal_coordinated(gangd_journal_t *gj,
                                      const struct gang_journal_job *job)
{
    if (gj->live && gj->live(job->key, gj->live_arg))
        return true;
    return job->pid > 0 && job->pid_start != 0
           && gangd_journal_pid_start(job->pid) == job->pid_start;
}

static json_t *
gangd_journal_node(const struct daemon_member *members, size_t n, uint64_t id)
{
    char text[17];

    snprintf(text, sizeof(text), "%016" PRIx64, id);
    for (size_t i = 0; i < n; i++)
        if (members[i].id == id)
            return json_pack("{s:s, s:s, s:s}", "id", text, "name",
                             members[i].name, "state",
                             member_state_name(members[i].state));
    return json_pack("{s:s, s:s, s:s}", "id", text, "name", "?", "state",
                     "unknown");
}

/* job as the ops show it; the spec only to who may act on it. */
static json_t *gangd_journal_json(gangd_journal_t *gj,
                                  const struct gang_journal_job *job)
{
    struct daemon_member *members = NULL;
    size_t nmembers = 0;
    json_t *o, *copies = json_array(), *spec = NULL, *placement = NULL;

    daemon_members(gj->d, &members, &nmembers);
    for (size_t i = 0; copies && i < job->ncopies; i++) {
        const struct gang_journal_copy *c = &job->copies[i];
        json_t *nodes = json_array();

        for (int k = 0; nodes && k < c->nnodes; k++)
            json_array_append_new(
                nodes, gangd_journal_node(members, nmembers, c->nodes[k]));
        json_array_append_new(copies,
                              json_pack("{s:i, s:i, s:o*}", "rank", c->rank,
                                        "version", c->version, "nodes", nodes));
    }
    free(members);
    spec = job->spec ? json_loads(job->spec, 0, NULL) : NULL;
    placement = job->placement ? json_loads(job->placement, 0, NULL) : NULL;
    o = json_pack(
        "{s:s, s:I, s:i, s:i, s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, "
        "s:f, s:f, s:o*, s:o*, s:o*}",
        "key", job->key, "uid", (json_int_t)job->uid, "nranks", job->nranks,
        "replicas", job->replicas, "state",
        job->state == GANG_JOURNAL_FAILED ? "failed" : "running", "coordinator",
        gangd_journal_coordinated(gj, job) ? "alive" : "gone", "pid",
        (json_int_t)job->pid, "run", job->run, "restarts", job->restarts,
        "status", job->status, "kept", job->kept, "version",
        gang_journal_version(job), "created", job->created, "updated",
        job->updated, "spec", spec, "placement",
        placement ? placement : json_null(), "copies", copies);
    return o;
}

static const char *gangd_journal_key(control_conn_t *conn, json_t *request)
{
    const char *key = json_string_value(json_object_get(request, "key"));

    if (!key || !key[0]) {
        control_reply_error(conn, -EINVAL, "malformed request: no \"key\"");
        return NULL;
    }
    return key;
}

/* key's record into *job, the caller allowed to see it; else replied. */
static int gangd_journal_find(gangd_journal_t *gj,
                              control_conn_t *conn,
                              const char *key,
                              struct gang_journal_job *job)
{
    int rc = gang_journal_get(gj->journal, key, job);

    if (rc == -ENOENT || (rc == 0 && !control_conn_may(conn, job->uid)))
        control_reply_error(conn, -ENOENT,
                            "no job '%s' in the journal of node '%s'", key,
                            daemon_name(gj->d));
    else if (rc < 0)
        control_reply_error(conn, rc, "gang journal: %s", strerror(-rc));
    if (rc == 0 && !control_conn_may(conn, job->uid))
        rc = -ENOENT;
    if (rc < 0)
        gang_journal_job_release(job);
    return rc;
}

static void
gangd_journal_op_get(control_conn_t *conn, json_t *request, void *arg)
{
    gangd_journal_t *gj = arg;
    struct gang_journal_job job;
    const char *key = gangd_journal_key(conn, request);

    if (!key || gangd_journal_find(gj, conn, key, &job) < 0)
        return;
    control_reply(conn,
                  json_pack("{s:o}", "job", gangd_journal_json(gj, &job)));
    gang_journal_job_release(&job);
}

static void
gangd_journal_op_list(control_conn_t *conn, json_t *request, void *arg)
{
    gangd_journal_t *gj = arg;
    json_t *jobs = json_array();
    char **keys = NULL;
    size_t n = 0;
    int rc = gang_journal_keys(gj->journal, &keys, &n);

    (void)request;
    for (size_t i = 0; i < n; i++) {
        struct gang_journal_job job;

        if (rc == 0 && gang_journal_get(gj->journal, keys[i], &job) == 0) {
            if (control_conn_may(conn, job.uid))
                json_array_append_new(jobs, gangd_journal_json(gj, &job));
            gang_journal_job_release(&job);
        }
        free(keys[i]);
    }
    free(keys);
    if (rc < 0) {
        json_decref(jobs);
        control_reply_error(conn, rc, "gang journal: %s", strerror(-rc));
        return;
    }
    control_reply(conn, json_pack("{s:o}", "jobs", jobs));
}

static void
gangd_journal_op_resume(control_conn_t *conn, json_t *request, void *arg)
{
    gangd_journal_t *gj = arg;
    struct gang_journal_job job;
    const char *key = gangd_journal_key(conn, request);

    if (!key || gangd_journal_find(gj, conn, key, &job) < 0)
        return;
    if (gangd_journal_coordinated(gj, &job)) {
        if (gj->live && gj->live(job.key, gj->live_arg))
            control_reply_error(conn, -EBUSY,
                                "job '%s' is running: its shoal run holds "
                                "its claim on node '%s'",
                                key, daemon_name(gj->d));
        else
            control_reply_error(conn, -EBUSY,
                                "job '%s' is running: its shoal run (pid "
                                "%" PRId64 ") is alive",
                                key, job.pid);
        gang_journal_job_release(&job);
        return;
    }
    control_reply(conn,
                  json_pack("{s:o}", "job", gangd_journal_json(gj, &job)));
    gang_journal_job_release(&job);
}

static void
gangd_journal_op_end(control_conn_t *conn, json_t *request, void *arg)
{
    gangd_journal_t *gj = arg;
    struct gang_journal_job job;
    const char *key = gangd_journal_key(conn, request);
    json_t *status = json_object_get(request, "status");
    int rc;

    if (!key)
        return;
    if (!json_is_integer(status)) {
        control_reply_error(conn, -EINVAL,
                            "malformed request: no integer \"status\"");
        return;
    }
    if (gangd_journal_find(gj, conn, key, &job) < 0)
        return;
    gang_journal_job_release(&job);
    rc = gang_journal_end(gj->journal, key, (int)json_integer_value(status));
    if (rc < 0)
        control_reply_error(conn, rc, "gang journal: %s", strerror(-rc));
    else
        control_reply(conn, NULL);
}

static void
gangd_journal_op_rm(control_conn_t *conn, json_t *request, void *arg)
{
    gangd_journal_t *gj = arg;
    struct gang_journal_job job;
    const char *key = gangd_journal_key(conn, request);
    int rc;

    if (!key || gangd_journal_find(gj, conn, key, &job) < 0)
        return;
    if (gangd_journal_coordinated(gj, &job)) {
        control_reply_error(conn, -EBUSY, "job '%s' is running: not removed",
                            key);
        gang_journal_job_release(&job);
        return;
    }
    gang_journal_job_release(&job);
    rc = gang_journal_remove(gj->journal, key);
    if (rc < 0)
        control_reply_error(conn, rc, "gang journal: %s", strerror(-rc));
    else
        control_reply(conn, NULL);
}

int gangd_journal_claim(gangd_journal_t *gj,
                        control_conn_t *conn,
                        const json_t *request,
                        char **key,
                        shoal_error_t *error)
{
    json_t *o = json_object_get(request, "journal");
    struct gang_journal_run run = {0};
    json_int_t nranks = 0, replicas = 0, number = 0, restarts = 0;
    const char *k = NULL;
    json_t *spec = NULL;
    json_error_t jerr;
    char *text;
    int rc;

    *key = NULL;
    if (!o)
        return 0;
    if (json_unpack_ex(o, &jerr, 0, "{s:s, s:I, s:I, s:I, s:I, s:o}", "key", &k,
                       "run", &number, "restarts", &restarts, "nranks", &nranks,
                       "replicas", &replicas, "spec", &spec)
            < 0
        || !json_is_object(spec) || number < 0 || number > INT_MAX
        || restarts < 0 || restarts > INT_MAX || nranks < 0
        || nranks > GANG_JOURNAL_NRANKS_MAX || replicas < 0
        || replicas > INT_MAX)
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: bad \"journal\""
                               " (%s)",
                               jerr.text[0] ? jerr.text
                                            : "a field out of "
                                              "range");
    text = json_dumps(spec, JSON_COMPACT);
    if (!text)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    run.key = k;
    run.uid = control_conn_uid(conn);
    run.spec = text;
    run.nranks = (int)nranks;
    run.replicas = (int)replicas;
    run.run = (int)number;
    run.restarts = (int)restarts;
    run.pid = control_conn_pid(conn);
    run.pid_start = gangd_journal_pid_start(run.pid);
    run.now = (double)time(NULL);
    rc = gang_journal_start(gj->journal, &run, error);
    free(text);
    if (rc == -EPERM)
        return shoal_errprintf(error, -EPERM,
                               "job '%s' is another user's: not run", k);
    if (rc < 0)
        return rc;
    *key = strdup(k);
    if (!*key)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    LOG(LOG_LEVEL_INFO, LOG_GANG, "job %s: run %d recorded in the journal", k,
        run.run);
    return 0;
}

void gangd_journal_placed(gangd_journal_t *gj,
                          const char *key,
                          const json_t *placement)
{
    char *text = json_dumps(placement, JSON_COMPACT);
    size_t nranks = json_array_size(json_object_get(placement, "ranks"));
    int rc = text ? gang_journal_place(gj->journal, key, text,
                                       nranks < INT_MAX ? (int)nranks : 0)
                  : -ENOMEM;

    if (rc < 0)
        LOG(LOG_LEVEL_WARNING, LOG_GANG,
            "job %s: placement not recorded in the journal: %s", key,
            strerror(-rc));
    free(text);
}

void gangd_journal_frame(gangd_journal_t *gj,
                         const char *key,
                         const uint8_t *frame,
                         size_t len)
{
    struct job_frame f;
    shoal_error_t error;
    int rc;

    if (len < 1
        || (frame[0] != JOB_FRAME_CKPT_COPIES
            && frame[0] != JOB_FRAME_CKPT_KEEP))
        return;
    if (job_frame_decode(frame, len, &f, &error) < 0)
        return;
    if (f.kind == JOB_FRAME_CKPT_COPIES)
        rc = gang_journal_add_copy(gj->journal, key, (int)f.ckpt_copies.rank,
                                   (int)f.ckpt_copies.version,
                                   f.ckpt_copies.nodes,
                                   (int)f.ckpt_copies.nnodes);
    else
        rc = gang_journal_keep(gj->journal, key, (int)f.ckpt_keep.version);
    if (rc < 0)
        LOG(LOG_LEVEL_WARNING, LOG_GANG,
            "job %s: %s not recorded in the journal: %s", key,
            job_frame_kind_name(f.kind), strerror(-rc));
    job_frame_release(&f);
}

/* Forget the jobs no coordinator runs and no run started for the
 * retention time: their checkpoints are swept from the nodes by then. */
static void gangd_journal_prune(gangd_journal_t *gj)
{
    double days = 14, now = (double)time(NULL);
    char **keys = NULL;
    size_t n = 0;

    if (param_get_double(&gangd_journal_retain_param, 0, &days, NULL) < 0
        || !(days > 0) || gang_journal_keys(gj->journal, &keys, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct gang_journal_job job;

        if (gang_journal_get(gj->journal, keys[i], &job) == 0) {
            if (job.updated < now - days * 86400
                && !gangd_journal_coordinated(gj, &job)
                && gang_journal_remove(gj->journal, keys[i]) == 0)
                LOG(LOG_LEVEL_NOTICE, LOG_GANG,
                    "job %s: out of the journal after %g days without a run",
                    keys[i], days);
            gang_journal_job_release(&job);
        }
        free(keys[i]);
    }
    free(keys);
}

int gangd_journal_attach(daemon_t *d,
                         const char *dir,
                         gangd_journal_live_f *live,
                         void *arg,
                         gangd_journal_t **out,
                         shoal_error_t *error)
{
    gangd_journal_t *gj = calloc(1, sizeof(*gj));
    char path[PATH_MAX];
    int rc;

    if (!gj)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    gj->d = d;
    gj->live = live;
    gj->live_arg = arg;
    snprintf(path, sizeof(path), "%s/gang-jobs.db", dir);
    rc = gang_journal_open(path, &gj->journal, error);
    if (rc == 0
        && ((rc = daemon_on_control_class(d, "gang.get", CONTROL_OP_READ,
                                          gangd_journal_op_get, gj))
                < 0
            || (rc = daemon_on_control_class(d, "gang.list", CONTROL_OP_READ,
                                             gangd_journal_op_list, gj))
                   < 0
            || (rc = daemon_on_control_class(d, "gang.resume", CONTROL_OP_OWNER,
                                             gangd_journal_op_resume, gj))
                   < 0
            || (rc = daemon_on_control_class(d, "gang.end", CONTROL_OP_OWNER,
                                             gangd_journal_op_end, gj))
                   < 0
            || (rc = daemon_on_control_class(d, "gang.rm", CONTROL_OP_OWNER,
                                             gangd_journal_op_rm, gj))
                   < 0))
        shoal_errprintf(error, rc, "cannot serve the gang journal: %s",
                        strerror(-rc));
    if (rc < 0) {
        gang_journal_close(gj->journal);
        free(gj);
        return rc;
    }
    gangd_journal_prune(gj);
    *out = gj;
    return 0;
}

void gangd_journal_detach(gangd_journal_t *gj)
{
    if (!gj)
        return;
    gang_journal_close(gj->journal);
    free(gj);
}
