/* SPDX-License-Identifier: MIT */
/* taskd_pool.c - bag-of-tasks jobs across the pool: the protocol
 * between homes and workers.
 *
 * As a home, a taskd leases its journal's tasks to the workers that PULL
 * (its own worker by a function call, the others by task frames), renews
 * and requeues their leases, records their RESULTs and acks them, and
 * pokes the pool when work is queued. As a worker, it pulls from the homes
 * with work in turn, keeps the results of other homes' tasks in an outbox
 * until they are acked, and serves FETCHes of their output. Member events
 * give back the leases of nodes that died or left. */
#include "runtime/tasks/taskd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/tasks/journal.h"
#include "runtime/tasks/task_exec.h"
#include "runtime/tasks/task_pull.h"
#include "runtime/tasks/task_wire.h"
#include "runtime/tasks/taskd_private.h"
#include "util/fs.h"
#include "util/log.h"
#include "runtime/tasks/taskgen.h"

static struct taskd_job *
taskd_remote_find(struct taskd *t, uint64_t home, uint64_t id)
{
    struct taskd_job *job = t->jobs;

    while (job && (job->home != home || job->remote_id != id))
        job = job->next;
    return job;
}

int taskd_send(struct taskd *t,
               uint64_t node,
               enum taskd_frame_type type,
               char *body,
               const size_t *len)
{
    /* len is read here, after the encoder that made body has set it */
    int rc = body && t->net
                 ? t->net->send(node, (uint8_t)type, body, *len, t->net_arg)
                 : -ENOMEM;

    free(body);
    return rc;
}

static const size_t taskd_poke_len = 2; /* "{}" */

/* Tell every other node (and our own worker) that work is queued here. */
void taskd_poke_all(struct taskd *t)
{
    double now = taskd_now();

    for (size_t i = 0; i < t->npeers; i++)
        taskd_send(t, t->peers[i], TASKD_FRAME_POKE, strdup("{}"),
                   &taskd_poke_len);
    t->next_poke = now + 1.0;
    task_pull_poke(t->pull, now);
}

/* Tasks queued in our journal, over every running job. */
static void taskd_add_queued(const struct journal_job_info *info, void *arg)
{
    if (info->state == JOURNAL_JOB_RUNNING && !info->held)
        *(uint64_t *)arg += info->count[JOURNAL_TASK_QUEUED];
}

uint64_t taskd_queued(struct taskd *t)
{
    uint64_t n = 0;

    journal_jobs(t->journal, taskd_add_queued, &n);
    return n;
}

static struct taskd_home *taskd_home_get(struct taskd *t, uint64_t node)
{
    struct taskd_home *h;

    for (h = t->homes; h; h = h->next)
        if (h->node == node)
            return h;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->node = node;
    h->next = t->homes;
    t->homes = h;
    return h;
}

/* The next home with work, taken round-robin: it goes to the end. */
static struct taskd_home *taskd_home_next(struct taskd *t)
{
    struct taskd_home **p = &t->homes, *h, **tail;

    while (*p && !(*p)->has_work)
        p = &(*p)->next;
    h = *p;
    if (!h)
        return NULL;
    *p = h->next;
    h->next = NULL;
    for (tail = &t->homes; *tail; tail = &(*tail)->next)
        ;
    *tail = h;
    return h;
}

void taskd_pull_give_up(struct taskd *t)
{
    t->pull_home = 0;
    task_pull_grant(t->pull, NULL, 0, taskd_now());
}

/* Lease tasks of our journal to node (ours included). A task that failed
 * on a node goes to another one when the pool has one. */
static int
taskd_lease(struct taskd *t, uint64_t node, int want, struct journal_lease *out)
{
    int n = journal_lease(t->journal, node, want, t->npeers > 0, taskd_now(),
                          t->cfg.lease, out, (size_t)want);

    if (n < 0) {
        /* not "nothing to lease": the jobs here cannot go on, and every
         * command that asks is told so (taskd_control) */
        t->journal_error = n;
        if (log_ratelimit(&t->journal_log_last, 60000))
            LOG(LOG_LEVEL_ERR, LOG_TASKS,
                "cannot lease tasks from the journal '%s/jobs.db': %s; its "
                "jobs wait until it is repaired",
                t->dir, shoal_strerror(n));
        return 0;
    }
    return n;
}

void taskd_pull_answer(struct taskd *t)
{
    struct journal_lease leases[256];
    int want = t->pull_want < 256 ? t->pull_want : 256;
    struct taskd_home *h;
    int n = 0;

    t->pull_wanted = false;
    if (want > 0 && journal_busy(t->journal))
        n = taskd_lease(t, t->cfg.node_id, want, leases);
    if (n > 0) {
        t->progress_dirty = true;
        task_pull_grant(t->pull, leases, (size_t)n, taskd_now());
        return;
    }
    while (want > 0 && (h = taskd_home_next(t)) != NULL) {
        struct task_wire_pull m = {t->pull_free, want, t->cfg.speed};
        size_t len;

        if (taskd_send(t, h->node, TASKD_FRAME_PULL,
                       task_wire_pull_encode(&m, &len), &len)
            == 0) {
            t->pull_home = h->node;
            t->pull_sent = taskd_now();
            return;
        }
        h->has_work = false;
    }
    task_pull_grant(t->pull, NULL, 0, taskd_now());
}

/* Send the results in batch (n, at most TASKD_RESULT_BATCH) to home. */
static void taskd_send_results(struct taskd *t,
                               uint64_t home,
                               const struct journal_result *batch,
                               size_t n)
{
    size_t len;

    if (n > 0)
        taskd_send(t, home, TASKD_FRAME_RESULT,
                   task_wire_results_encode(batch, n, &len), &len);
}

void taskd_flush_outbox(struct taskd *t, double now)
{
    struct taskd_queue *q = &t->outbox;
    struct journal_result *batch;
    bool *done;

    if (q->n == 0)
        return;
    batch = calloc(TASKD_RESULT_BATCH, sizeof(*batch));
    done = calloc(q->n, sizeof(*done));
    for (size_t i = 0; batch && done && i < q->n; i++) {
        struct taskd_home *h;
        size_t k = 0, resent = 0;
        bool due;

        if (done[i])
            continue;
        h = taskd_home_get(t, q->meta[i].node);
        if (!h)
            break;
        due = h->resend_at > 0 && h->resend_at <= now;
        for (size_t j = i; j < q->n; j++) {
            if (done[j] || q->meta[j].node != h->node)
                continue;
            done[j] = true;
            if (q->meta[j].sent && !due)
                continue;
            if (q->meta[j].sent) {
                resent++;
            } else {
                q->meta[j].sent = true;
                t->outbox_unsent--;
                t->stats.results_sent++;
            }
            batch[k++] = q->r[j];
            if (k == TASKD_RESULT_BATCH) {
                taskd_send_results(t, h->node, batch, k);
                k = 0;
            }
        }
        taskd_send_results(t, h->node, batch, k);
        t->stats.results_resent += resent;
        if (due) {
            h->resend_at = now + h->backoff;
            h->backoff = h->backoff * 2 < TASKD_RESEND_MAX ? h->backoff * 2
                                                           : TASKD_RESEND_MAX;
        } else if (h->resend_at == 0) {
            h->backoff = TASKD_RESEND_FIRST;
            h->resend_at = now + h->backoff;
        }
    }
    free(batch);
    free(done);
}

/* Whether some results for home wait in the outbox. */
static bool taskd_outbox_has(struct taskd *t, uint64_t home)
{
    for (size_t i = 0; i < t->outbox.n; i++)
        if (t->outbox.meta[i].node == home)
            return true;
    return false;
}

/* Home is back (or never went, and speaks to us): send what it has not
 * acked now rather than at the end of a back-off. */
static void taskd_outbox_hurry(struct taskd *t, uint64_t home)
{
    struct taskd_home *h;

    for (h = t->homes; h && h->node != home; h = h->next)
        ;
    if (!h || h->resend_at == 0 || h->backoff <= TASKD_RESEND_FIRST)
        return;
    h->resend_at = taskd_now();
    h->backoff = TASKD_RESEND_FIRST;
    uv_idle_start(&t->wake, taskd_wake_cb);
}

/* Homes with nothing left in the outbox need no resend. */
static void taskd_outbox_settle(struct taskd *t)
{
    for (struct taskd_home *h = t->homes; h; h = h->next)
        if (h->resend_at != 0 && !taskd_outbox_has(t, h->node)) {
            h->resend_at = 0;
            h->backoff = TASKD_RESEND_FIRST;
        }
}

void taskd_outbox_drop(struct taskd *t, uint64_t home, double now)
{
    struct taskd_queue *q = &t->outbox;
    bool *gone = q->n ? calloc(q->n, sizeof(*gone)) : NULL;
    size_t n = 0;

    for (size_t i = 0; gone && i < q->n; i++) {
        gone[i] = home ? q->meta[i].node == home
                       : now - q->meta[i].since > TASKD_OUTBOX_KEEP;
        if (gone[i]) {
            n++;
            if (!q->meta[i].sent)
                t->outbox_unsent--;
        }
    }
    if (n > 0) {
        taskd_queue_remove(q, gone);
        t->stats.results_dropped += n;
        taskd_outbox_settle(t);
    }
    free(gone);
}

void taskd_ack_results(struct taskd *t, const enum journal_outcome *outcomes)
{
    struct taskd_queue *q = &t->pending;
    struct task_wire_ack *acks = calloc(q->n, sizeof(*acks));
    bool *done = calloc(q->n, sizeof(*done));

    /* the output of what other nodes ran, copied here while they are
     * there to send it */
    for (size_t i = 0; t->cfg.output_home && i < q->n; i++)
        if (q->meta[i].node != 0 && q->meta[i].node != t->cfg.node_id
            && outcomes[i] != JOURNAL_OUTCOME_STALE
            && outcomes[i] != JOURNAL_OUTCOME_DUPLICATE && q->r[i].out_path
            && q->r[i].err_path)
            taskd_copy_output(t, &q->r[i]);

    for (size_t i = 0; acks && done && i < q->n; i++) {
        size_t k = 0, len;

        if (done[i] || q->meta[i].node == 0)
            continue;
        for (size_t j = i; j < q->n; j++) {
            if (done[j] || q->meta[j].node != q->meta[i].node)
                continue;
            done[j] = true;
            acks[k++] = (struct task_wire_ack){
                .job = q->r[j].job,
                .task = q->r[j].task,
                .attempt = q->r[j].attempt,
                .recorded = outcomes[j] != JOURNAL_OUTCOME_STALE
                            && outcomes[j] != JOURNAL_OUTCOME_DUPLICATE};
            t->stats.results_duplicate +=
                outcomes[j] == JOURNAL_OUTCOME_DUPLICATE;
        }
        t->stats.acks_sent += k;
        taskd_send(t, q->meta[i].node, TASKD_FRAME_RESULT_ACK,
                   task_wire_acks_encode(acks, k, &len), &len);
    }
    free(acks);
    free(done);
}

/* A PULL from a worker: lease it a batch, with what it needs to run
 * them. */
static void
taskd_on_pull(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease leases[256];
    json_t *argvs[256], *jobs = json_object();
    struct task_wire_pull m;
    size_t k = 0, blen;
    int n;

    if (task_wire_pull_decode(body, len, &m) < 0 || !jobs) {
        json_decref(jobs);
        return;
    }
    n = m.want > 0 && journal_busy(t->journal)
            ? taskd_lease(t, from, m.want < 256 ? m.want : 256, leases)
            : 0;
    for (int i = 0; i < n; i++) {
        struct taskd_job *job = taskd_job_get(t, leases[i].job);
        shoal_error_t error = {{0}};
        char **argv = NULL, key[24];
        int rc = job ? taskd_job_claim(t, job, &error)
                     : shoal_errprintf(&error, -EIO,
                                       "cannot read the job from the journal");

        if (rc == 0)
            rc = taskd_expand(t, job, leases[i].task, &argv, &error);

        if (rc < 0) {
            /* recorded here, as the worker's would be */
            struct journal_result r = {
                .job = leases[i].job,
                .task = leases[i].task,
                .attempt = leases[i].attempt,
                .token = leases[i].token,
                .node = t->cfg.node_id,
                .start = taskd_now(),
                .end = taskd_now(),
                .status = task_exec_status_not_run(rc),
                .reason = error.text,
                .err_tail = error.text,
            };
            taskd_queue_push(&t->pending, &r, 0, taskd_now());
            uv_idle_start(&t->wake, taskd_wake_cb);
            continue;
        }
        argvs[k] = json_array();
        for (size_t a = 0; argv[a]; a++)
            json_array_append_new(argvs[k], json_string(argv[a]));
        taskgen_argv_free(argv);
        snprintf(key, sizeof(key), "%" PRIu64, job->id);
        json_object_set(jobs, key, job->wire);
        leases[k++] = leases[i];
    }
    if (k > 0)
        t->progress_dirty = true;
    if (taskd_send(t, from, TASKD_FRAME_GRANT,
                   task_wire_grant_encode(jobs, leases, argvs, k, &blen), &blen)
            < 0
        && k > 0)
        journal_requeue_node(t->journal, from);
    for (size_t i = 0; i < k; i++)
        json_decref(argvs[i]);
    json_decref(jobs);
}

/* Who the tasks of another home's job run as here, decided once from
 * the claim in its DESC (usercred.h: a MUNGE credential verified, or the
 * pool key's word). A job without a good claim is kept, refused: each of
 * its tasks granted here fails with the reason, so the submitter sees it
 * in the task's result. */
static void
taskd_remote_admit(struct taskd *t, struct taskd_job *job, const json_t *user)
{
    struct usercred_claim claim;
    shoal_error_t error = {{0}}, why = {{0}};
    int rc = usercred_claim_unpack(user, &claim, &why);

    job->decided = true;
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_TASKS,
            "task job %" PRIu64 " from %016" PRIx64 " refused: %s",
            job->remote_id, job->home, why.text);
        rc =
            shoal_errprintf(&error, -EPERM, "credential refused: %s", why.text);
    } else if (!t->usercred) {
        rc = shoal_errprintf(&error, -EPERM,
                             "this node has no user credentials");
    } else {
        job->uid = claim.uid;
        job->gid = claim.gid;
        rc = usercred_admit(t->usercred, &claim, USERCRED_TASKS, job->home,
                            job->remote_id, &job->target, &error);
    }
    usercred_claim_release(&claim);
    if (rc < 0) {
        job->refused = true;
        job->refusal = error;
    }
}

/* The job key of (home, id), made from its DESC on first sight. */
static struct taskd_job *
taskd_remote_job(struct taskd *t, uint64_t home, uint64_t id, json_t *desc)
{
    struct taskd_job *job = taskd_remote_find(t, home, id);

    if (job)
        return job;
    job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->id = TASKD_REMOTE_KEY + ++t->next_remote;
    job->home = home;
    job->remote_id = id;
    if (task_cmd_unpack(desc, TASK_CMD_ARGV_ABSENT, TASKD_TASK_VARS, &job->cmd,
                        NULL)
        < 0) {
        taskd_job_free(job);
        return NULL;
    }
    taskd_remote_admit(t, job, json_object_get(desc, "user"));
    job->next = t->jobs;
    t->jobs = job;
    return job;
}

/* A GRANT from a home: our leases, in our job keys, to task_pull. */
static void
taskd_on_grant(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *leases = NULL;
    size_t n = 0, k = 0;
    json_t *doc = NULL;
    struct taskd_home *h = taskd_home_get(t, from);

    if (task_wire_grant_decode(body, len, &doc, &leases, &n) < 0)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        struct taskd_job *job = taskd_remote_job(
            t, from, leases[i].job, task_wire_grant_desc(doc, leases[i].job));
        struct taskd_granted *g = calloc(1, sizeof(*g));

        if (g)
            g->argv = taskd_strings(task_wire_grant_argv(doc, i), 0, NULL);
        if (!job || !g || !g->argv) {
            /* not taken: its lease expires and it goes elsewhere */
            free(g);
            continue;
        }
        g->key = job->id;
        g->task = leases[i].task;
        g->attempt = leases[i].attempt;
        g->next = t->granted;
        t->granted = g;
        leases[k] = leases[i];
        leases[k++].job = job->id;
    }
    if (h && n == 0)
        h->has_work = false;
    if (from == t->pull_home) {
        t->pull_home = 0;
        task_pull_grant(t->pull, leases, k, taskd_now());
    } else if (k > 0) {
        /* late: we stopped waiting for it; take it all the same */
        task_pull_grant(t->pull, leases, k, taskd_now());
    }
    free(leases);
    json_decref(doc);
}

/* A RENEW from a worker: extend its leases, and name the ones it lost. */
static void
taskd_on_renew(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *leases = NULL;
    size_t n = 0, nlost = 0, blen;
    bool *valid;

    if (task_wire_leases_decode(body, len, "leases", &leases, &n) < 0)
        return;
    valid = calloc(n + 1, sizeof(*valid));
    if (valid && n > 0
        && journal_renew(t->journal, leases, n, taskd_now(), t->cfg.lease,
                         valid)
               >= 0) {
        for (size_t i = 0; i < n; i++)
            if (!valid[i])
                leases[nlost++] = leases[i];
        if (nlost > 0)
            taskd_send(t, from, TASKD_FRAME_RENEWED,
                       task_wire_leases_encode("lost", leases, nlost, &blen),
                       &blen);
    }
    free(valid);
    free(leases);
}

/* A RENEWED from a home: give up the leases it no longer honours. */
static void
taskd_on_renewed(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_lease *lost = NULL;
    size_t n = 0;

    if (task_wire_leases_decode(body, len, "lost", &lost, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct taskd_job *job = taskd_remote_find(t, from, lost[i].job);

        if (!job)
            continue;
        taskd_granted_drop(t, job->id, lost[i].task);
        task_pull_revoke(t->pull, job->id, lost[i].task);
    }
    free(lost);
}

/* A RESULT from a worker: into the journal at the next check, where the
 * lease's token decides whether it counts; acked once recorded. */
static void
taskd_on_result(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct journal_result *results = NULL;
    json_t *doc = NULL;
    size_t n = 0;
    double now = taskd_now();

    if (task_wire_results_decode(body, len, &doc, &results, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        /* a node reports for itself only */
        results[i].node = from;
        if (taskd_queue_push(&t->pending, &results[i], from, now) == 0)
            t->stats.results_received++;
    }
    if (n > 0)
        uv_idle_start(&t->wake, taskd_wake_cb);
    free(results);
    json_decref(doc);
}

/* The acks of one RESULT_ACK as an open-addressing hash set, so that
 * matching them against the outbox is one pass over it however many
 * results wait there (up to TASKD_OUTBOX_MAX after a long outage). */
struct taskd_ack_set {
    size_t mask;
    const struct task_wire_ack **slots;
};

static size_t
taskd_ack_hash(const struct taskd_ack_set *s, uint64_t job, uint64_t task)
{
    uint64_t h = job * 0x9e3779b97f4a7c15ULL ^ task * 0xc2b2ae3d27d4eb4fULL;

    return (size_t)(h ^ (h >> 31)) & s->mask;
}

static int taskd_ack_set_init(struct taskd_ack_set *s,
                              const struct task_wire_ack *acks,
                              size_t n)
{
    size_t size = 8;

    while (size < 2 * n)
        size *= 2;
    s->mask = size - 1;
    s->slots = calloc(size, sizeof(*s->slots));
    if (!s->slots)
        return -ENOMEM;
    for (size_t a = 0; a < n; a++) {
        size_t i = taskd_ack_hash(s, acks[a].job, acks[a].task);

        while (s->slots[i])
            i = (i + 1) & s->mask;
        s->slots[i] = &acks[a];
    }
    return 0;
}

static const struct task_wire_ack *
taskd_ack_set_find(const struct taskd_ack_set *s,
                   const struct journal_result *r)
{
    for (size_t i = taskd_ack_hash(s, r->job, r->task); s->slots[i];
         i = (i + 1) & s->mask) {
        const struct task_wire_ack *a = s->slots[i];

        if (a->job == r->job && a->task == r->task && a->attempt == r->attempt)
            return a;
    }
    return NULL;
}

/* A RESULT_ACK from a home: forget the results it is done with. */
static void taskd_on_result_ack(struct taskd *t,
                                uint64_t from,
                                const void *body,
                                size_t len)
{
    struct taskd_queue *q = &t->outbox;
    struct task_wire_ack *acks = NULL;
    struct taskd_ack_set set = {0};
    bool *gone;
    size_t n = 0, k = 0;

    if (task_wire_acks_decode(body, len, &acks, &n) < 0)
        return;
    gone = q->n ? calloc(q->n, sizeof(*gone)) : NULL;
    if (gone && taskd_ack_set_init(&set, acks, n) == 0)
        for (size_t i = 0; i < q->n; i++) {
            const struct task_wire_ack *a;

            if (q->meta[i].node != from
                || !(a = taskd_ack_set_find(&set, &q->r[i])))
                continue;
            gone[i] = true;
            if (!q->meta[i].sent)
                t->outbox_unsent--;
            t->stats.results_acked++;
            t->stats.results_refused += !a->recorded;
            k++;
        }
    if (k > 0) {
        taskd_queue_remove(q, gone);
        taskd_outbox_settle(t);
    }
    free(set.slots);
    free(gone);
    free(acks);
}

/* A file of ours for a FETCH, as base64 (at most TASKD_FETCH_MAX bytes,
 * its end). Only files under our jobs/ are served. */
static char *taskd_read_output(struct taskd *t, const char *path)
{
    size_t dl = strlen(t->dir);
    char *data, *b64;
    long size;
    size_t n;
    FILE *f;

    if (strncmp(path, t->dir, dl) != 0 || strncmp(path + dl, "/jobs/", 6) != 0
        || strstr(path, "/../"))
        return NULL;
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    if (size > TASKD_FETCH_MAX)
        fseek(f, size - TASKD_FETCH_MAX, SEEK_SET);
    else
        rewind(f);
    data = malloc(TASKD_FETCH_MAX);
    n = data ? fread(data, 1, TASKD_FETCH_MAX, f) : 0;
    fclose(f);
    b64 = data ? task_wire_b64_encode(data, n) : NULL;
    free(data);
    return b64;
}

int taskd_counters_path(const char *out_path, char *buf, size_t size)
{
    const char *slash = strrchr(out_path, '/');
    int n;

    if (!slash)
        return -EINVAL;
    n = snprintf(buf, size, "%.*s/" TASKD_COUNTERS_FILE,
                 (int)(slash - out_path), out_path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A task's counters file for a FETCH, as base64: whole, or NULL when it is
 * missing, not ours, or larger than TASKD_COUNTERS_MAX (said in the log:
 * its counts are lost). */
static char *taskd_read_counters(struct taskd *t, const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return NULL;
    if (st.st_size > TASKD_COUNTERS_MAX) {
        LOG(LOG_LEVEL_WARNING, LOG_TASKS,
            "'%s' is %lld bytes, more than the %d sent of a task's counters: "
            "not sent",
            path, (long long)st.st_size, TASKD_COUNTERS_MAX);
        return NULL;
    }
    return taskd_read_output(t, path);
}

static void
taskd_on_fetch(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct task_wire_fetch req;
    struct task_wire_fetched ans = {.error = "its output files are gone"};
    char *o, *e, *c, *text;
    json_t *doc;
    size_t tlen = 0;

    if (task_wire_fetch_decode(body, len, &doc, &req) < 0)
        return;
    o = req.out_path ? taskd_read_output(t, req.out_path) : NULL;
    e = req.err_path ? taskd_read_output(t, req.err_path) : NULL;
    c = req.counters_path ? taskd_read_counters(t, req.counters_path) : NULL;
    ans.req = req.req;
    ans.out = o;
    ans.err = e;
    ans.counters = c;
    text = task_wire_fetched_encode(&ans, &tlen);
    taskd_send(t, from, TASKD_FRAME_FETCHED, text, &tlen);
    json_decref(doc);
    free(o);
    free(e);
    free(c);
}

int taskd_output_copy_path(const struct taskd *t,
                           uint64_t job,
                           uint64_t task,
                           const char *ext,
                           char *buf,
                           size_t size)
{
    int n = snprintf(buf, size, "%s/output/%" PRIu64 "/%" PRIu64 "%s",
                     t->cfg.dir, job, task, ext);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void taskd_copy_output(struct taskd *t, const struct journal_result *r)
{
    struct taskd_stream *s = calloc(1, sizeof(*s));
    json_t *row = json_pack("{s:I, s:I}", "job", (json_int_t)r->job, "task",
                            (json_int_t)r->task);
    size_t len = 0;
    char counters[4200];
    char *body = s && row ? task_wire_fetch_encode(
                     &(struct task_wire_fetch){
                         .req = t->next_fetch + 1,
                         .out_path = r->out_path,
                         .err_path = r->err_path,
                         .counters_path = r->out_path
                                                  && taskd_counters_path(
                                                         r->out_path, counters,
                                                         sizeof(counters))
                                                         == 0
                                              ? counters
                                              : NULL},
                     &len)
                          : NULL;

    if (!body || taskd_send(t, r->node, TASKD_FRAME_FETCH, body, &len) < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_TASKS,
            "task %" PRIu64 " of job %" PRIu64 ": its output stays on node "
            "%016" PRIx64 " (cannot ask for it)",
            r->task, r->job, r->node);
        free(s);
        json_decref(row);
        return;
    }
    *s = (struct taskd_stream){.t = t,
                               .fetch = ++t->next_fetch,
                               .fetch_node = r->node,
                               .fetch_row = row,
                               .fetch_deadline =
                                   taskd_now() + TASKD_FETCH_TIMEOUT,
                               .copy = true,
                               .next = t->streams};
    t->streams = s;
}

/* One file of a copy (base64 text) into path, whole or not at all. */
static int taskd_write_copy(const char *path, const char *b64)
{
    char tmp[4200], *data = NULL;
    size_t len = 0;
    FILE *f;
    int rc = task_wire_b64_decode(b64, &data, &len);

    if (rc < 0)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.part", path);
    f = fopen(tmp, "we");
    rc = f && fwrite(data, 1, len, f) == len ? 0 : -EIO;
    if (f && fclose(f) != 0)
        rc = -EIO;
    free(data);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* The answer to a copy: the files under DIR/output/JOB/. */
static void taskd_copy_done(struct taskd *t,
                            struct taskd_stream *s,
                            const struct task_wire_fetched *ans)
{
    uint64_t job =
        (uint64_t)json_integer_value(json_object_get(s->fetch_row, "job"));
    uint64_t task =
        (uint64_t)json_integer_value(json_object_get(s->fetch_row, "task"));
    char out[4200], err[4200], counters[4200];
    int rc = ans->out && ans->err ? 0 : -ENOENT;

    if (rc == 0)
        rc = taskd_output_copy_path(t, job, task, ".out", out, sizeof(out));
    if (rc == 0)
        rc = taskd_output_copy_path(t, job, task, ".err", err, sizeof(err));
    if (rc == 0)
        rc = taskd_output_copy_path(t, job, task, ".counters", counters,
                                    sizeof(counters));
    if (rc == 0) {
        *strrchr(out, '/') = '\0';
        rc = fs_mkdir_p(out, 0700) < 0 ? -errno : 0;
        out[strlen(out)] = '/';
    }
    /* stderr and counters first: a copy is whole once its stdout is
     * there */
    if (rc == 0)
        rc = taskd_write_copy(err, ans->err);
    if (rc == 0 && ans->counters)
        rc = taskd_write_copy(counters, ans->counters);
    if (rc == 0)
        rc = taskd_write_copy(out, ans->out);
    if (rc < 0)
        LOG(LOG_LEVEL_WARNING, LOG_TASKS,
            "task %" PRIu64 " of job %" PRIu64 ": no copy of its output from "
            "node %016" PRIx64 ": %s",
            task, job, s->fetch_node,
            ans->out ? shoal_strerror(rc) : (ans->error ?: "bad answer"));
    taskd_stream_remove(t, s);
}

static void taskd_fetch_fail(struct taskd_stream *s, const char *why)
{
    json_t *msg;

    if (s->copy) {
        LOG(LOG_LEVEL_WARNING, LOG_TASKS, "no copy of a task's output: %s",
            why);
        taskd_stream_remove(s->t, s);
        return;
    }
    msg =
        json_pack("{s:b, s:s, s:i}", "ok", 0, "error", why, "code", -EHOSTDOWN);
    s->reply(msg, true, s->arg);
    json_decref(msg);
    taskd_stream_remove(s->t, s);
}

static void
taskd_on_fetched(struct taskd *t, uint64_t from, const void *body, size_t len)
{
    struct task_wire_fetched ans;
    struct taskd_stream *s = t->streams;
    json_t *doc;
    char why[256];

    if (task_wire_fetched_decode(body, len, &doc, &ans) < 0)
        return;
    while (s && (s->fetch != ans.req || s->fetch_node != from))
        s = s->next;
    if (!s) {
        json_decref(doc);
        return;
    }
    if (s->copy)
        taskd_copy_done(t, s, &ans);
    else if (!ans.out) {
        snprintf(why, sizeof(why),
                 "node %016" PRIx64 " has no output of the task: %s", from,
                 ans.error ?: "bad answer");
        taskd_fetch_fail(s, why);
    } else {
        json_t *msg = json_pack("{s:b, s:O}", "ok", 1, "task", s->fetch_row);

        json_object_set_new(json_object_get(msg, "task"), "stdout_data",
                            json_string(ans.out));
        json_object_set_new(json_object_get(msg, "task"), "stderr_data",
                            json_string(ans.err));
        if (ans.counters)
            json_object_set_new(json_object_get(msg, "task"), "counters_data",
                                json_string(ans.counters));
        s->reply(msg, true, s->arg);
        json_decref(msg);
        taskd_stream_remove(t, s);
    }
    json_decref(doc);
}

void taskd_fetch_expire(struct taskd *t, uint64_t gone)
{
    struct taskd_stream *s = t->streams, *next;
    double now = taskd_now();
    char why[256];

    for (; s; s = next) {
        next = s->next;
        if (!s->fetch || (s->fetch_node != gone && now < s->fetch_deadline))
            continue;
        snprintf(why, sizeof(why),
                 "node %016" PRIx64 " %s: the task's output is there",
                 s->fetch_node,
                 s->fetch_node == gone ? "left the pool" : "did not answer");
        taskd_fetch_fail(s, why);
    }
}

/* Forget the jobs of a home, killing their tasks. */
static void taskd_drop_home_jobs(struct taskd *t, uint64_t home, uint64_t id)
{
    for (struct taskd_job *job = t->jobs; job; job = job->next) {
        if (job->home != home || (id && job->remote_id != id))
            continue;
        taskd_granted_drop(t, job->id, UINT64_MAX);
        task_pull_revoke(t->pull, job->id, UINT64_MAX);
    }
}

void taskd_frame(
    struct taskd *t, uint64_t from, uint8_t type, const void *body, size_t len)
{
    struct taskd_home *h;
    uint64_t job;

    if (from == t->cfg.node_id)
        return; /* our own worker takes the shortcut */
    switch (type) {
    case TASKD_FRAME_PULL:
        taskd_on_pull(t, from, body, len);
        break;
    case TASKD_FRAME_GRANT:
        taskd_on_grant(t, from, body, len);
        break;
    case TASKD_FRAME_RENEW:
        taskd_on_renew(t, from, body, len);
        break;
    case TASKD_FRAME_RENEWED:
        taskd_on_renewed(t, from, body, len);
        break;
    case TASKD_FRAME_RESULT:
        taskd_on_result(t, from, body, len);
        break;
    case TASKD_FRAME_RESULT_ACK:
        taskd_on_result_ack(t, from, body, len);
        break;
    case TASKD_FRAME_CANCEL:
        if (task_wire_job_decode(body, len, &job) == 0)
            taskd_drop_home_jobs(t, from, job);
        break;
    case TASKD_FRAME_FETCH:
        taskd_on_fetch(t, from, body, len);
        break;
    case TASKD_FRAME_FETCHED:
        taskd_on_fetched(t, from, body, len);
        break;
    case TASKD_FRAME_POKE:
        h = taskd_home_get(t, from);
        if (h) {
            h->has_work = true;
            task_pull_poke(t->pull, taskd_now());
        }
        /* a home that restarted pokes us as soon as it sees us */
        taskd_outbox_hurry(t, from);
        break;
    default:
        break;
    }
}

void taskd_member(struct taskd *t, uint64_t node, enum taskd_member_state state)
{
    size_t i;

    if (node == t->cfg.node_id)
        return;
    for (i = 0; i < t->npeers && t->peers[i] != node; i++)
        ;
    if (state == TASKD_MEMBER_ALIVE) {
        if (i < t->npeers)
            return;
        if (t->npeers == t->cap_peers) {
            size_t cap = t->cap_peers ? t->cap_peers * 2 : 16;
            uint64_t *p = realloc(t->peers, cap * sizeof(*p));

            if (!p)
                return;
            t->peers = p;
            t->cap_peers = cap;
        }
        t->peers[t->npeers++] = node;
        /* a node that joins (or came back) learns of our work at once */
        if (journal_busy(t->journal))
            taskd_send(t, node, TASKD_FRAME_POKE, strdup("{}"),
                       &taskd_poke_len);
        /* and gets the results we hold for it */
        taskd_outbox_hurry(t, node);
        return;
    }
    if (i < t->npeers)
        t->peers[i] = t->peers[--t->npeers];
    for (i = 0; i < t->nsizes && t->sizes[i].node != node; i++)
        ;
    if (i < t->nsizes)
        t->sizes[i] = t->sizes[--t->nsizes];
    /* as a home: its tasks go back to the queue (a result that comes late
     * still counts while they wait there) */
    if (journal_requeue_node(t->journal, node) > 0) {
        t->progress_dirty = true;
        taskd_poke_all(t);
    }
    /* as a worker: the tasks we run for it are orphans; the results we
     * hold for it wait, unless it left for good */
    taskd_drop_home_jobs(t, node, 0);
    for (struct taskd_home *h = t->homes; h; h = h->next)
        if (h->node == node)
            h->has_work = false;
    if (state == TASKD_MEMBER_LEFT)
        taskd_outbox_drop(t, node, 0);
    if (t->pull_home == node)
        taskd_pull_give_up(t);
    taskd_fetch_expire(t, node);
}

void taskd_set_net(struct taskd *t, const struct taskd_net_ops *ops, void *arg)
{
    t->net = ops;
    t->net_arg = arg;
}

void taskd_member_size(struct taskd *t,
                       uint64_t node,
                       const char *name,
                       unsigned cores,
                       unsigned free_cores)
{
    size_t i;

    if (node == t->cfg.node_id)
        return;
    for (i = 0; i < t->nsizes && t->sizes[i].node != node; i++)
        ;
    if (i == t->nsizes) {
        if (t->nsizes == t->cap_sizes) {
            size_t cap = t->cap_sizes ? t->cap_sizes * 2 : 16;
            struct taskd_peer_size *p = realloc(t->sizes, cap * sizeof(*p));

            if (!p)
                return;
            t->sizes = p;
            t->cap_sizes = cap;
        }
        t->nsizes++;
    }
    t->sizes[i].node = node;
    t->sizes[i].cores = cores;
    t->sizes[i].free = free_cores;
    snprintf(t->sizes[i].name, sizeof(t->sizes[i].name), "%s", name);
}
