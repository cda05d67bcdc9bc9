/* SPDX-License-Identifier: MIT */
/* journal.c - bag-of-tasks jobs, tasks and attempts in SQLite. */
#include "runtime/tasks/journal.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "util/sqlcheck.h"

/* Counters per state live in the jobs row and change in the same
 * transaction as the tasks, so `shoal jobs` and the progress of `shoal wait`
 * cost one row read however many tasks a job has. */
static const char journal_schema[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, desc TEXT NOT NULL,"
    " cores INTEGER NOT NULL, retries INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, ntasks INTEGER NOT NULL,"
    " n0 INTEGER NOT NULL DEFAULT 0, n1 INTEGER NOT NULL DEFAULT 0,"
    " n2 INTEGER NOT NULL DEFAULT 0, n3 INTEGER NOT NULL DEFAULT 0,"
    " n4 INTEGER NOT NULL DEFAULT 0, stale INTEGER NOT NULL DEFAULT 0,"
    " submitted REAL NOT NULL, finished REAL NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS tasks ("
    " job INTEGER NOT NULL, idx INTEGER NOT NULL, params TEXT NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"
    " token INTEGER NOT NULL DEFAULT 0, node INTEGER NOT NULL DEFAULT 0,"
    " expires REAL NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    " failed_node INTEGER, PRIMARY KEY (job, idx)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS tasks_queued ON tasks (job, idx)"
    " WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS tasks_leased ON tasks (expires)"
    " WHERE state = 1;"
    "CREATE TABLE IF NOT EXISTS attempts ("
    " job INTEGER NOT NULL, idx INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " node INTEGER NOT NULL, token INTEGER NOT NULL, leased REAL NOT NULL,"
    " start REAL, end REAL, status INTEGER, reason TEXT, out_path TEXT,"
    " err_path TEXT, err_tail TEXT, PRIMARY KEY (job, idx, attempt))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS deps ("
    " job INTEGER NOT NULL, after INTEGER NOT NULL, PRIMARY KEY (job, after))"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS deps_after ON deps (after);";

/* Columns added to the jobs of a journal made before them: held (1 while
 * a job waits for the jobs it runs after) and reason (why it ended other
 * than by its tasks). */
static const char journal_schema_jobs_held[] =
    "ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN reason TEXT;";

/* Of a job's LEASED tasks, those whose worker said they run. Through the
 * partial index of leased tasks: what the pool holds, not the whole job. */
#define JOURNAL_STARTED_SQL                                                    \
    " (SELECT count(*) FROM tasks t INDEXED BY tasks_leased JOIN attempts a"   \
    " ON a.job = t.job AND a.idx = t.idx AND a.attempt = t.attempt"            \
    " WHERE t.state = 1 AND t.job = jobs.id AND a.start IS NOT NULL)"

/* Whether a job waits for others, why it ended if not by its tasks, and
 * the jobs it runs after ("3,4"), in order. */
#define JOURNAL_JOB_MORE_SQL                                                   \
    " held, reason, (SELECT group_concat(after, ',') FROM (SELECT after"       \
    " FROM deps WHERE deps.job = jobs.id ORDER BY after))"

enum journal_stmt {
    JS_BEGIN,
    JS_COMMIT,
    JS_ROLLBACK,
    JS_JOB_INSERT,
    JS_TASK_INSERT,
    JS_RUNNING_JOBS,
    JS_PICK,
    JS_PICK_AVOID,
    JS_LEASE_TASK,
    JS_ATTEMPT_INSERT,
    JS_COUNT_MOVE,
    JS_TASK_GET,
    JS_RENEW,
    JS_REVIVE,
    JS_ATTEMPT_STARTED,
    JS_ATTEMPT_GET,
    JS_ATTEMPT_END,
    JS_TASK_SET,
    JS_STALE,
    JS_JOB_FINISH,
    JS_EXPIRED,
    JS_NODE_LEASED,
    JS_REQUEUE,
    JS_EXTEND,
    JS_JOB_GET,
    JS_JOBS,
    JS_CANCEL_TASKS,
    JS_CANCEL_JOB,
    JS_TASKS,
    JS_BUSY,
    JS_JOB_EXISTS,
    JS_JOB_HOLD,
    JS_DEP_INSERT,
    JS_DEP_BROKEN,
    JS_DEP_FAIL_JOB,
    JS_DEP_RELEASE,
    JS_NSTMTS
};

static const char *const journal_sql[JS_NSTMTS] = {
    [JS_BEGIN] = "BEGIN IMMEDIATE",
    [JS_COMMIT] = "COMMIT",
    [JS_ROLLBACK] = "ROLLBACK",
    [JS_JOB_INSERT] = "INSERT INTO jobs (name, desc, cores, retries, ntasks,"
                      " n0, submitted) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    [JS_TASK_INSERT] = "INSERT INTO tasks (job, idx, params) VALUES (?,?,?)",
    [JS_RUNNING_JOBS] = "SELECT id, cores FROM jobs WHERE state = 0"
                        " AND held = 0 AND n0 > 0 ORDER BY id",
    [JS_PICK] = "SELECT idx FROM tasks WHERE job = ?1 AND state = 0"
                " ORDER BY idx LIMIT ?2",
    [JS_PICK_AVOID] = "SELECT idx FROM tasks WHERE job = ?1 AND state = 0"
                      " AND failed_node IS NOT ?3 ORDER BY idx LIMIT ?2",
    [JS_LEASE_TASK] = "UPDATE tasks SET state = 1, attempt = attempt + 1,"
                      " token = ?3, node = ?4, expires = ?5"
                      " WHERE job = ?1 AND idx = ?2 RETURNING attempt",
    [JS_ATTEMPT_INSERT] = "INSERT INTO attempts (job, idx, attempt, node,"
                          " token, leased) VALUES (?,?,?,?,?,?)",
    /* ?2..?6: change of n0..n4 */
    [JS_COUNT_MOVE] = "UPDATE jobs SET n0 = n0 + ?2, n1 = n1 + ?3,"
                      " n2 = n2 + ?4, n3 = n3 + ?5, n4 = n4 + ?6"
                      " WHERE id = ?1",
    [JS_TASK_GET] = "SELECT t.state, t.attempt, t.token, t.failures,"
                    " j.retries FROM tasks t JOIN jobs j ON j.id = t.job"
                    " WHERE t.job = ?1 AND t.idx = ?2",
    [JS_RENEW] = "UPDATE tasks SET expires = ?5 WHERE job = ?1 AND idx = ?2"
                 " AND attempt = ?3 AND token = ?4 AND state = 1",
    /* the worker says the task runs (its result sets start again) */
    [JS_ATTEMPT_STARTED] = "UPDATE attempts SET start = ?4 WHERE job = ?1"
                           " AND idx = ?2 AND attempt = ?3 AND start IS NULL",
    /* a lease that lapsed while its task waits, unrecorded, in the queue */
    [JS_REVIVE] = "UPDATE tasks SET state = 1, expires = ?5 WHERE job = ?1"
                  " AND idx = ?2 AND attempt = ?3 AND token = ?4 AND state = 0"
                  " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job = ?1"
                  " AND a.idx = ?2 AND a.attempt = ?3"
                  " AND a.status IS NOT NULL)",
    [JS_ATTEMPT_GET] = "SELECT token, status IS NOT NULL FROM attempts"
                       " WHERE job = ?1 AND idx = ?2 AND attempt = ?3",
    [JS_ATTEMPT_END] = "UPDATE attempts SET start = ?4, end = ?5,"
                       " status = ?6, reason = ?7, out_path = ?8,"
                       " err_path = ?9, err_tail = ?10"
                       " WHERE job = ?1 AND idx = ?2 AND attempt = ?3",
    [JS_TASK_SET] = "UPDATE tasks SET state = ?3, failures = ?4,"
                    " failed_node = ?5 WHERE job = ?1 AND idx = ?2",
    [JS_STALE] = "UPDATE jobs SET stale = stale + 1 WHERE id = ?1",
    [JS_JOB_FINISH] = "UPDATE jobs SET state = CASE WHEN n3 > 0 THEN 2"
                      " ELSE 1 END, finished = ?2 WHERE id = ?1"
                      " AND state = 0 AND n0 = 0 AND n1 = 0",
    [JS_EXPIRED] = "SELECT job, idx FROM tasks WHERE state = 1"
                   " AND expires < ?1",
    [JS_NODE_LEASED] = "SELECT job, idx FROM tasks WHERE state = 1"
                       " AND node = ?1",
    [JS_REQUEUE] = "UPDATE tasks SET state = 0 WHERE job = ?1 AND idx = ?2",
    [JS_EXTEND] = "UPDATE tasks SET expires = ?1 WHERE state = 1"
                  " AND expires < ?1",
    [JS_JOB_GET] = "SELECT id, name, desc, cores, retries, state, ntasks,"
                   " n0, n1, n2, n3, n4, stale, submitted,"
                   " finished," JOURNAL_STARTED_SQL "," JOURNAL_JOB_MORE_SQL
                   " FROM jobs WHERE id = ?1",
    [JS_JOBS] = "SELECT id, name, desc, cores, retries, state, ntasks,"
                " n0, n1, n2, n3, n4, stale, submitted,"
                " finished," JOURNAL_STARTED_SQL "," JOURNAL_JOB_MORE_SQL
                " FROM jobs ORDER BY id",
    [JS_CANCEL_TASKS] = "UPDATE tasks SET state = 4 WHERE job = ?1"
                        " AND state IN (0, 1)",
    [JS_CANCEL_JOB] = "UPDATE jobs SET state = 3, finished = ?2,"
                      " n4 = n4 + n0 + n1, n0 = 0, n1 = 0"
                      " WHERE id = ?1 AND state = 0",
    [JS_TASKS] = "SELECT t.idx, t.params, t.state, t.attempt, t.node,"
                 " a.start, a.end, a.status, a.reason, a.out_path,"
                 " a.err_path, a.err_tail FROM tasks t LEFT JOIN attempts a"
                 " ON a.job = t.job AND a.idx = t.idx AND a.attempt = t.attempt"
                 " WHERE t.job = ?1 AND t.idx >= ?2 ORDER BY t.idx LIMIT ?3",
    [JS_BUSY] = "SELECT 1 FROM jobs WHERE state = 0 LIMIT 1",
    [JS_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
    [JS_JOB_HOLD] = "UPDATE jobs SET held = 1 WHERE id = ?1",
    [JS_DEP_INSERT] = "INSERT OR IGNORE INTO deps (job, after) VALUES (?,?)",
    /* a held job one of whose jobs failed or was cancelled: it never runs */
    [JS_DEP_BROKEN] =
        "SELECT h.id, a.id, a.state FROM jobs h"
        " JOIN deps d ON d.job = h.id JOIN jobs a ON a.id = d.after"
        " WHERE h.held = 1 AND h.state = 0 AND a.state IN (2, 3)"
        " ORDER BY h.id, a.id LIMIT 1",
    [JS_DEP_FAIL_JOB] = "UPDATE jobs SET state = 2, held = 0, finished = ?2,"
                        " reason = ?3, n4 = n4 + n0 + n1, n0 = 0, n1 = 0"
                        " WHERE id = ?1 AND state = 0",
    /* a held job whose jobs all succeeded */
    [JS_DEP_RELEASE] = "UPDATE jobs SET held = 0 WHERE held = 1 AND state = 0"
                       " AND NOT EXISTS (SELECT 1 FROM deps d JOIN jobs a"
                       " ON a.id = d.after WHERE d.job = jobs.id"
                       " AND a.state != 1)",
};

struct journal {
    sqlite3 *db;
    sqlite3_stmt *stmt[JS_NSTMTS];
    bool released; /* a held job became free to run (journal_released) */
};

static int journal_code(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EACCES;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EUCLEAN;
    default:
        return -EIO;
    }
}

/* The statement s, reset and unbound, ready for new parameters. */
static sqlite3_stmt *journal_stmt(struct journal *j, enum journal_stmt s)
{
    sqlite3_reset(j->stmt[s]);
    sqlite3_clear_bindings(j->stmt[s]);
    return j->stmt[s];
}

/* Run a statement that returns no rows (or whose rows are not wanted). */
static int journal_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : journal_code(rc);
}

static int journal_exec(struct journal *j, enum journal_stmt s)
{
    return journal_step_done(journal_stmt(j, s));
}

static int journal_end(struct journal *j, int rc)
{
    if (rc < 0)
        journal_exec(j, JS_ROLLBACK);
    else if (journal_exec(j, JS_COMMIT) < 0) {
        journal_exec(j, JS_ROLLBACK);
        return -EIO;
    }
    return rc;
}

static int journal_count_move(struct journal *j,
                              uint64_t job,
                              const int64_t delta[JOURNAL_TASK_NSTATES])
{
    sqlite3_stmt *st = journal_stmt(j, JS_COUNT_MOVE);

    sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
    for (int i = 0; i < JOURNAL_TASK_NSTATES; i++)
        sqlite3_bind_int64(st, 2 + i, delta[i]);
    return journal_step_done(st);
}

int journal_open(const char *path, struct journal **out, shoal_error_t *error)
{
    struct journal *j = calloc(1, sizeof(*j));
    char why[256];
    int rc;

    if (!j)
        return -ENOMEM;
    /* the jobs' commands and results are their submitters': the journal
     * is readable by its owner alone (SQLite gives its -wal and -shm files
     * the database's mode) */
    {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd >= 0) {
            (void)!fchmod(fd, 0600);
            close(fd);
        }
    }
    rc = sqlite3_open_v2(
        path, &j->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        goto error;
    sqlite3_busy_timeout(j->db, 5000);
    /* Checked before anything is written: a damaged journal is refused as
     * it is, never repaired, replaced or added to, so the jobs and results
     * it still holds can be saved by hand. */
    rc = journal_code(sqlcheck_quick(j->db, why, sizeof(why)));
    if (rc == -EUCLEAN) {
        shoal_errprintf(error, rc,
                        "journal '%s' is damaged (SQLite: %s); it is left "
                        "as it is: move it aside with its -wal and -shm "
                        "files to start an empty journal, or restore it "
                        "from a copy",
                        path, why);
        journal_close(j);
        return -EUCLEAN;
    }
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot open journal '%s': %s", path, why);
        journal_close(j);
        return rc;
    }
    rc = sqlite3_exec(j->db,
                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                      "PRAGMA foreign_keys = OFF;",
                      NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(j->db, journal_schema, NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *probe = NULL;

        /* a journal from before dependencies: add their columns */
        if (sqlite3_prepare_v2(j->db, "SELECT held, reason FROM jobs", -1,
                               &probe, NULL)
            != SQLITE_OK)
            rc =
                sqlite3_exec(j->db, journal_schema_jobs_held, NULL, NULL, NULL);
        sqlite3_finalize(probe);
    }
    for (int i = 0; rc == SQLITE_OK && i < JS_NSTMTS; i++)
        rc = sqlite3_prepare_v3(j->db, journal_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &j->stmt[i], NULL);
    if (rc != SQLITE_OK)
        goto error;
    *out = j;
    return 0;
error:
    shoal_errprintf(error, journal_code(rc), "cannot open journal '%s': %s",
                    path, j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
    journal_close(j);
    return journal_code(rc) ? journal_code(rc) : -EIO;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    for (int i = 0; i < JS_NSTMTS; i++)
        sqlite3_finalize(j->stmt[i]);
    sqlite3_close(j->db);
    free(j);
}

/* Settle the held jobs, inside a transaction: one whose job failed or was
 * cancelled fails now (its tasks cancelled, the reason kept), which may
 * break the jobs held after it in turn, hence the loop; one whose jobs
 * all succeeded is released (j->released set). Returns 0 or a negative
 * code. */
static int journal_settle(struct journal *j, double now)
{
    sqlite3_stmt *st;
    int rc;

    for (;;) {
        uint64_t job, after;
        int state;
        char why[96];

        st = journal_stmt(j, JS_DEP_BROKEN);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                return journal_code(rc);
            break;
        }
        job = (uint64_t)sqlite3_column_int64(st, 0);
        after = (uint64_t)sqlite3_column_int64(st, 1);
        state = sqlite3_column_int(st, 2);
        sqlite3_reset(st);
        snprintf(why, sizeof(why), "dependency %" PRIu64 " %s", after,
                 state == JOURNAL_JOB_CANCELLED ? "was cancelled" : "failed");
        st = journal_stmt(j, JS_CANCEL_TASKS);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        rc = journal_step_done(st);
        if (rc < 0)
            return rc;
        st = journal_stmt(j, JS_DEP_FAIL_JOB);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_double(st, 2, now);
        sqlite3_bind_text(st, 3, why, -1, SQLITE_TRANSIENT);
        rc = journal_step_done(st);
        if (rc < 0)
            return rc;
    }
    rc = journal_exec(j, JS_DEP_RELEASE);
    if (rc == 0 && sqlite3_changes(j->db) > 0)
        j->released = true;
    return rc;
}

bool journal_released(struct journal *j)
{
    bool r = j->released;

    j->released = false;
    return r;
}

int journal_job_create(struct journal *j,
                       const struct journal_job_spec *spec,
                       uint64_t ntasks,
                       journal_params_f *params,
                       void *arg,
                       uint64_t *id,
                       shoal_error_t *error)
{
    sqlite3_stmt *st;
    uint64_t job = 0;
    int rc;

    sqlite3_exec(j->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    rc = journal_exec(j, JS_BEGIN);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < spec->nafter; i++) {
        st = journal_stmt(j, JS_JOB_EXISTS);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)spec->after[i]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
            continue;
        journal_end(j, -ENOENT);
        sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        if (rc != SQLITE_DONE)
            return shoal_errprintf(error, journal_code(rc),
                                   "cannot record the job: %s",
                                   sqlite3_errmsg(j->db));
        return shoal_errprintf(
            error, -ENOENT, "no job %" PRIu64 " to run after", spec->after[i]);
    }
    st = journal_stmt(j, JS_JOB_INSERT);
    if (spec->name)
        sqlite3_bind_text(st, 1, spec->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, spec->desc, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, spec->cores);
    sqlite3_bind_int(st, 4, spec->retries);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)ntasks);
    sqlite3_bind_double(st, 6, spec->submitted);
    rc = journal_step_done(st);
    job = (uint64_t)sqlite3_last_insert_rowid(j->db);
    st = j->stmt[JS_TASK_INSERT];
    for (uint64_t i = 0; rc == 0 && i < ntasks; i++) {
        const char *p = params(i, arg);

        if (!p) {
            rc = -ENOMEM;
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_int64(
            st, 2, (sqlite3_int64)(spec->indices ? spec->indices[i] : i));
        sqlite3_bind_text(st, 3, p, -1, SQLITE_TRANSIENT);
        rc = journal_step_done(st);
    }
    for (size_t i = 0; rc == 0 && i < spec->nafter; i++) {
        st = journal_stmt(j, JS_DEP_INSERT);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)spec->after[i]);
        rc = journal_step_done(st);
    }
    if (rc == 0 && spec->nafter > 0) {
        /* held until its jobs end; settled at once, as they may have */
        st = journal_stmt(j, JS_JOB_HOLD);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        rc = journal_step_done(st);
        if (rc == 0)
            rc = journal_settle(j, spec->submitted);
    }
    rc = journal_end(j, rc);
out:
    sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot record the job: %s",
                               sqlite3_errmsg(j->db));
    *id = job;
    return 0;
}

static int journal_lease_job(struct journal *j,
                             uint64_t job,
                             int cores,
                             uint64_t node,
                             bool avoid_failed,
                             double now,
                             double lease_secs,
                             struct journal_lease *out,
                             size_t max)
{
    sqlite3_stmt *st = journal_stmt(j, avoid_failed ? JS_PICK_AVOID : JS_PICK);
    uint64_t idx[256];
    size_t n = 0;
    int rc;

    if (max > sizeof(idx) / sizeof(idx[0]))
        max = sizeof(idx) / sizeof(idx[0]);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    if (avoid_failed)
        sqlite3_bind_int64(st, 3, (sqlite3_int64)node);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        idx[n++] = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return journal_code(rc);
    for (size_t i = 0; i < n; i++) {
        struct journal_lease *l = &out[i];
        sqlite3_int64 token;

        sqlite3_randomness(sizeof(token), &token);
        token &= INT64_MAX;
        st = journal_stmt(j, JS_LEASE_TASK);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)idx[i]);
        sqlite3_bind_int64(st, 3, token);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)node);
        sqlite3_bind_double(st, 5, now + lease_secs);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_reset(st);
            return -EIO;
        }
        *l = (struct journal_lease){.job = job,
                                    .task = idx[i],
                                    .attempt =
                                        (uint32_t)sqlite3_column_int(st, 0),
                                    .token = (uint64_t)token,
                                    .cores = cores,
                                    .expires = now + lease_secs};
        sqlite3_reset(st);
        st = journal_stmt(j, JS_ATTEMPT_INSERT);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)idx[i]);
        sqlite3_bind_int(st, 3, (int)l->attempt);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)node);
        sqlite3_bind_int64(st, 5, token);
        sqlite3_bind_double(st, 6, now);
        rc = journal_step_done(st);
        if (rc < 0)
            return rc;
    }
    if (n > 0) {
        int64_t delta[JOURNAL_TASK_NSTATES] = {-(int64_t)n, (int64_t)n};

        rc = journal_count_move(j, job, delta);
        if (rc < 0)
            return rc;
    }
    return (int)n;
}

int journal_lease(struct journal *j,
                  uint64_t node,
                  int budget,
                  bool avoid_failed,
                  double now,
                  double lease_secs,
                  struct journal_lease *out,
                  size_t max)
{
    struct {
        uint64_t id;
        int cores;
    } jobs[64];
    size_t njobs = 0, n = 0;
    sqlite3_stmt *st;
    int rc = journal_exec(j, JS_BEGIN);

    if (rc < 0)
        return rc;
    st = journal_stmt(j, JS_RUNNING_JOBS);
    while (njobs < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        jobs[njobs].id = (uint64_t)sqlite3_column_int64(st, 0);
        jobs[njobs].cores = sqlite3_column_int(st, 1);
        njobs++;
    }
    sqlite3_reset(st);
    rc = 0;
    for (size_t i = 0; i < njobs && n < max && rc >= 0; i++) {
        size_t want = (size_t)(budget / jobs[i].cores);

        if (want > max - n)
            want = max - n;
        if (want == 0)
            continue;
        rc = journal_lease_job(j, jobs[i].id, jobs[i].cores, node, avoid_failed,
                               now, lease_secs, out + n, want);
        if (rc > 0) {
            n += (size_t)rc;
            budget -= rc * jobs[i].cores;
        }
    }
    rc = journal_end(j, rc < 0 ? rc : 0);
    return rc < 0 ? rc : (int)n;
}

/* Bring back lease i if it lapsed while its task waited in the queue,
 * unrecorded and not leased again: the worker still runs it, so running it
 * elsewhere would waste the work done. Returns 1 if revived, 0 if not, or a
 * negative code. */
static int
journal_revive(struct journal *j, const struct journal_lease *l, double expires)
{
    sqlite3_stmt *st = journal_stmt(j, JS_REVIVE);
    int64_t delta[JOURNAL_TASK_NSTATES] = {-1, 1};
    int rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)l->job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)l->task);
    sqlite3_bind_int(st, 3, (int)l->attempt);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)l->token);
    sqlite3_bind_double(st, 5, expires);
    rc = journal_step_done(st);
    if (rc < 0 || sqlite3_changes(j->db) != 1)
        return rc;
    rc = journal_count_move(j, l->job, delta);
    return rc < 0 ? rc : 1;
}

int journal_renew(struct journal *j,
                  const struct journal_lease *leases,
                  size_t n,
                  double now,
                  double lease_secs,
                  bool *valid)
{
    int renewed = 0, rc = journal_exec(j, JS_BEGIN);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_stmt *st = journal_stmt(j, JS_RENEW);
        bool ok;

        sqlite3_bind_int64(st, 1, (sqlite3_int64)leases[i].job);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)leases[i].task);
        sqlite3_bind_int(st, 3, (int)leases[i].attempt);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)leases[i].token);
        sqlite3_bind_double(st, 5, now + lease_secs);
        rc = journal_step_done(st);
        ok = rc == 0 && sqlite3_changes(j->db) == 1;
        if (rc == 0 && !ok) {
            rc = journal_revive(j, &leases[i], now + lease_secs);
            ok = rc == 1;
            if (rc > 0)
                rc = 0;
        }
        if (ok && leases[i].started > 0) {
            st = journal_stmt(j, JS_ATTEMPT_STARTED);
            sqlite3_bind_int64(st, 1, (sqlite3_int64)leases[i].job);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)leases[i].task);
            sqlite3_bind_int(st, 3, (int)leases[i].attempt);
            sqlite3_bind_double(st, 4, leases[i].started);
            rc = journal_step_done(st);
        }
        if (valid)
            valid[i] = ok;
        renewed += ok;
    }
    rc = journal_end(j, rc);
    return rc < 0 ? rc : renewed;
}

/* Whether r is a report of an attempt handed out and never recorded
 * (JOURNAL_OUTCOME_DONE stands for yes), one already recorded
 * (JOURNAL_OUTCOME_DUPLICATE: a worker sent it again, unsure it arrived),
 * or of no attempt of ours (JOURNAL_OUTCOME_STALE). Returns 0 or a negative
 * code. */
static int journal_attempt_check(struct journal *j,
                                 const struct journal_result *r,
                                 enum journal_outcome *outcome)
{
    sqlite3_stmt *st = journal_stmt(j, JS_ATTEMPT_GET);
    int rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->task);
    sqlite3_bind_int(st, 3, (int)r->attempt);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(st, 0) == r->token)
        *outcome = sqlite3_column_int(st, 1) ? JOURNAL_OUTCOME_DUPLICATE
                                             : JOURNAL_OUTCOME_DONE;
    else
        *outcome = JOURNAL_OUTCOME_STALE;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : journal_code(rc);
}

/* A result counts if it is for the task's last lease and that attempt has
 * no result yet, whether the task is still LEASED or its lease lapsed and
 * it waits in the queue, not yet handed to another node: the work is done,
 * so it is not run again. A result already recorded is a duplicate, and a
 * result for a lease given up (the task leased again, or cancelled) is
 * stale; neither changes the task. */
static int journal_record_one(struct journal *j,
                              const struct journal_result *r,
                              double now,
                              enum journal_outcome *outcome)
{
    sqlite3_stmt *st;
    int64_t delta[JOURNAL_TASK_NSTATES] = {0};
    enum journal_task_state to;
    int state, failures, retries, rc;
    uint32_t attempt;
    uint64_t token;

    rc = journal_attempt_check(j, r, outcome);
    if (rc < 0 || *outcome == JOURNAL_OUTCOME_DUPLICATE)
        return rc;
    st = journal_stmt(j, JS_TASK_GET);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->task);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        *outcome = JOURNAL_OUTCOME_STALE;
        return rc == SQLITE_DONE ? 0 : journal_code(rc);
    }
    state = sqlite3_column_int(st, 0);
    attempt = (uint32_t)sqlite3_column_int(st, 1);
    token = (uint64_t)sqlite3_column_int64(st, 2);
    failures = sqlite3_column_int(st, 3);
    retries = sqlite3_column_int(st, 4);
    sqlite3_reset(st);
    if (*outcome == JOURNAL_OUTCOME_STALE
        || (state != JOURNAL_TASK_LEASED && state != JOURNAL_TASK_QUEUED)
        || attempt != r->attempt || token != r->token) {
        *outcome = JOURNAL_OUTCOME_STALE;
        st = journal_stmt(j, JS_STALE);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
        return journal_step_done(st);
    }
    st = journal_stmt(j, JS_ATTEMPT_END);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->task);
    sqlite3_bind_int(st, 3, (int)r->attempt);
    sqlite3_bind_double(st, 4, r->start);
    sqlite3_bind_double(st, 5, r->end);
    sqlite3_bind_int(st, 6, r->status);
    sqlite3_bind_text(st, 7, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->out_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->err_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->err_tail, -1, SQLITE_STATIC);
    rc = journal_step_done(st);
    if (rc < 0)
        return rc;
    if (r->status == 0) {
        to = JOURNAL_TASK_DONE;
        *outcome = JOURNAL_OUTCOME_DONE;
    } else if (r->vacated) {
        /* the owner's claim on the node, not the task's failure */
        to = JOURNAL_TASK_QUEUED;
        *outcome = JOURNAL_OUTCOME_RETRY;
    } else if (++failures <= retries) {
        to = JOURNAL_TASK_QUEUED;
        *outcome = JOURNAL_OUTCOME_RETRY;
    } else {
        to = JOURNAL_TASK_FAILED;
        *outcome = JOURNAL_OUTCOME_FAILED;
    }
    st = journal_stmt(j, JS_TASK_SET);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->task);
    sqlite3_bind_int(st, 3, (int)to);
    sqlite3_bind_int(st, 4, failures);
    /* the node that failed it is avoided next; one vacated is not */
    if (r->status != 0 && !r->vacated)
        sqlite3_bind_int64(st, 5, (sqlite3_int64)r->node);
    rc = journal_step_done(st);
    if (rc < 0)
        return rc;
    delta[state] -= 1;
    delta[to] += 1;
    rc = journal_count_move(j, r->job, delta);
    if (rc < 0)
        return rc;
    st = journal_stmt(j, JS_JOB_FINISH);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->job);
    sqlite3_bind_double(st, 2, now);
    return journal_step_done(st);
}

int journal_record(struct journal *j,
                   const struct journal_result *results,
                   size_t n,
                   double now,
                   enum journal_outcome *outcomes)
{
    int rc = journal_exec(j, JS_BEGIN);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        enum journal_outcome o = JOURNAL_OUTCOME_STALE;

        rc = journal_record_one(j, &results[i], now, &o);
        if (outcomes)
            outcomes[i] = o;
    }
    if (rc == 0)
        rc = journal_settle(j, now);
    return journal_end(j, rc);
}

/* Re-queue the leased tasks that query (bound with arg) selects. */
static int journal_requeue(struct journal *j,
                           enum journal_stmt query,
                           sqlite3_int64 iarg,
                           double darg)
{
    sqlite3_stmt *st;
    int n = 0, rc = journal_exec(j, JS_BEGIN);

    if (rc < 0)
        return rc;
    for (;;) {
        uint64_t job, idx;
        int64_t delta[JOURNAL_TASK_NSTATES] = {1, -1};

        st = journal_stmt(j, query);
        if (query == JS_EXPIRED)
            sqlite3_bind_double(st, 1, darg);
        else
            sqlite3_bind_int64(st, 1, iarg);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            rc = rc == SQLITE_DONE ? 0 : journal_code(rc);
            break;
        }
        job = (uint64_t)sqlite3_column_int64(st, 0);
        idx = (uint64_t)sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        st = journal_stmt(j, JS_REQUEUE);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
        rc = journal_step_done(st);
        if (rc == 0)
            rc = journal_count_move(j, job, delta);
        if (rc < 0)
            break;
        n++;
    }
    rc = journal_end(j, rc);
    return rc < 0 ? rc : n;
}

int journal_expire(struct journal *j, double now)
{
    return journal_requeue(j, JS_EXPIRED, 0, now);
}

int journal_requeue_node(struct journal *j, uint64_t node)
{
    return journal_requeue(j, JS_NODE_LEASED, (sqlite3_int64)node, 0);
}

int journal_extend(struct journal *j, double until)
{
    sqlite3_stmt *st = journal_stmt(j, JS_EXTEND);
    int rc;

    sqlite3_bind_double(st, 1, until);
    rc = journal_step_done(st);
    return rc < 0 ? rc : sqlite3_changes(j->db);
}

int journal_job_cancel(struct journal *j, uint64_t id, double now)
{
    struct journal_job_info info;
    sqlite3_stmt *st;
    int n = 0, rc = journal_job_get(j, id, &info);

    if (rc < 0)
        return rc;
    journal_job_info_release(&info);
    rc = journal_exec(j, JS_BEGIN);
    if (rc < 0)
        return rc;
    st = journal_stmt(j, JS_CANCEL_TASKS);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    rc = journal_step_done(st);
    n = sqlite3_changes(j->db);
    if (rc == 0) {
        st = journal_stmt(j, JS_CANCEL_JOB);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_double(st, 2, now);
        rc = journal_step_done(st);
    }
    if (rc == 0)
        rc = journal_settle(j, now);
    rc = journal_end(j, rc);
    return rc < 0 ? rc : n;
}

static char *journal_strdup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    return s ? strdup((const char *)s) : NULL;
}

static void journal_info_from_row(sqlite3_stmt *st,
                                  struct journal_job_info *info,
                                  bool copy)
{
    info->id = (uint64_t)sqlite3_column_int64(st, 0);
    if (copy) {
        info->name = journal_strdup_col(st, 1);
        info->desc = journal_strdup_col(st, 2);
    } else {
        info->name = (char *)sqlite3_column_text(st, 1);
        info->desc = (char *)sqlite3_column_text(st, 2);
    }
    info->cores = sqlite3_column_int(st, 3);
    info->retries = sqlite3_column_int(st, 4);
    info->state = (enum journal_job_state)sqlite3_column_int(st, 5);
    info->ntasks = (uint64_t)sqlite3_column_int64(st, 6);
    for (int i = 0; i < JOURNAL_TASK_NSTATES; i++)
        info->count[i] = (uint64_t)sqlite3_column_int64(st, 7 + i);
    info->stale_reports = (uint64_t)sqlite3_column_int64(st, 12);
    info->submitted = sqlite3_column_double(st, 13);
    info->finished = sqlite3_column_double(st, 14);
    info->started = (uint64_t)sqlite3_column_int64(st, 15);
    info->held = sqlite3_column_int(st, 16) != 0;
    if (copy) {
        info->reason = journal_strdup_col(st, 17);
        info->after = journal_strdup_col(st, 18);
    } else {
        info->reason = (char *)sqlite3_column_text(st, 17);
        info->after = (char *)sqlite3_column_text(st, 18);
    }
}

int journal_job_get(struct journal *j,
                    uint64_t id,
                    struct journal_job_info *info)
{
    sqlite3_stmt *st = journal_stmt(j, JS_JOB_GET);
    int rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        journal_info_from_row(st, info, true);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return rc == SQLITE_ROW ? 0 : journal_code(rc);
}

void journal_job_info_release(struct journal_job_info *info)
{
    free(info->name);
    free(info->desc);
    free(info->reason);
    free(info->after);
    info->name = info->desc = info->reason = info->after = NULL;
}

int journal_jobs(struct journal *j,
                 void (*fn)(const struct journal_job_info *info, void *arg),
                 void *arg)
{
    sqlite3_stmt *st = journal_stmt(j, JS_JOBS);
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct journal_job_info info;

        journal_info_from_row(st, &info, false);
        fn(&info, arg);
    }
    sqlite3_reset(st);
    return journal_code(rc);
}

static const char *journal_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

int journal_tasks(struct journal *j,
                  uint64_t id,
                  uint64_t first,
                  size_t max,
                  void (*fn)(const struct journal_task_row *row, void *arg),
                  void *arg)
{
    sqlite3_stmt *st = journal_stmt(j, JS_TASKS);
    int n = 0, rc;

    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)first);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct journal_task_row row = {
            .task = (uint64_t)sqlite3_column_int64(st, 0),
            .params = journal_text(st, 1),
            .state = (enum journal_task_state)sqlite3_column_int(st, 2),
            .attempts = (uint32_t)sqlite3_column_int(st, 3),
            .node = (uint64_t)sqlite3_column_int64(st, 4),
            .start = sqlite3_column_double(st, 5),
            .end = sqlite3_column_double(st, 6),
            .status = sqlite3_column_type(st, 7) == SQLITE_NULL
                          ? -1
                          : sqlite3_column_int(st, 7),
            .reason = journal_text(st, 8),
            .out_path = journal_text(st, 9),
            .err_path = journal_text(st, 10),
            .err_tail = journal_text(st, 11),
        };

        fn(&row, arg);
        n++;
    }
    sqlite3_reset(st);
    rc = journal_code(rc);
    return rc < 0 ? rc : n;
}

bool journal_busy(struct journal *j)
{
    sqlite3_stmt *st = journal_stmt(j, JS_BUSY);
    bool busy = sqlite3_step(st) == SQLITE_ROW;

    sqlite3_reset(st);
    return busy;
}

const char *journal_task_state_name(enum journal_task_state s)
{
    static const char *const names[] = {"queued", "leased", "done", "failed",
                                        "cancelled"};

    return (unsigned)s < JOURNAL_TASK_NSTATES ? names[s] : "unknown";
}

const char *journal_job_state_name(enum journal_job_state s)
{
    static const char *const names[] = {"running", "done", "failed",
                                        "cancelled"};

    return (unsigned)s <= JOURNAL_JOB_CANCELLED ? names[s] : "unknown";
}

int journal_job_state_parse(const char *name)
{
    for (int s = JOURNAL_JOB_RUNNING; s <= JOURNAL_JOB_CANCELLED; s++)
        if (name && strcmp(name, journal_job_state_name(s)) == 0)
            return s;
    return -EINVAL;
}

/* AUTOINCREMENT keeps its high-water mark in sqlite_sequence: raising it
 * makes the next id floor + 1, and never lowers what was handed out. */
int journal_id_floor(struct journal *j, uint64_t floor)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        j->db,
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs', ?1"
        " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = "
        "'jobs');",
        -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)floor);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == SQLITE_DONE)
        rc = sqlite3_prepare_v2(j->db,
                                "UPDATE sqlite_sequence SET seq = ?1"
                                " WHERE name = 'jobs' AND seq < ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)floor);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return rc == SQLITE_DONE ? 0 : journal_code(rc) ? journal_code(rc) : -EIO;
}
