/* SPDX-License-Identifier: MIT */
/* gang_journal.c - the home node's record of checkpointing gang jobs. */
#include "runtime/job/gang_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/sqlcheck.h"

struct gang_journal {
    sqlite3 *db;
};

static const char gang_journal_schema[] =
    "CREATE TABLE IF NOT EXISTS gang_jobs ("
    " key TEXT PRIMARY KEY,"
    " uid INTEGER NOT NULL,"
    " spec TEXT NOT NULL,"
    " nranks INTEGER NOT NULL,"
    " replicas INTEGER NOT NULL,"
    " state INTEGER NOT NULL,"
    " run INTEGER NOT NULL,"
    " restarts INTEGER NOT NULL,"
    " kept INTEGER NOT NULL DEFAULT 0,"
    " status INTEGER NOT NULL DEFAULT -1,"
    " pid INTEGER NOT NULL,"
    " pid_start INTEGER NOT NULL,"
    " created REAL NOT NULL,"
    " updated REAL NOT NULL,"
    " placement TEXT);"
    "CREATE TABLE IF NOT EXISTS gang_copies ("
    " key TEXT NOT NULL,"
    " rank INTEGER NOT NULL,"
    " version INTEGER NOT NULL,"
    " nodes TEXT NOT NULL,"
    " PRIMARY KEY (key, rank, version));";

/* SQLite's result codes as errnos: what a caller can act on. */
static int gang_journal_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EUCLEAN;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
        return -EACCES;
    default:
        return -EIO;
    }
}

/* Prepare sql on j; returns 0 or a negative errno. */
static int gj_prepare(gang_journal_t *j, const char *sql, sqlite3_stmt **st)
{
    return gang_journal_code(sqlite3_prepare_v2(j->db, sql, -1, st, NULL));
}

/* Step st to its end and finalize it. Returns 0 or a negative errno. */
static int gj_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : gang_journal_code(rc);
}

static int gj_exec(gang_journal_t *j, const char *sql)
{
    return gang_journal_code(sqlite3_exec(j->db, sql, NULL, NULL, NULL));
}

int gang_journal_open(const char *path,
                      gang_journal_t **out,
                      shoal_error_t *error)
{
    gang_journal_t *j = calloc(1, sizeof(*j));
    char why[256] = "";
    int fd, rc;

    if (!j)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    /* the specs hold the submitters' environments */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        (void)!fchmod(fd, 0600);
        close(fd);
    }
    rc = sqlite3_open_v2(
        path, &j->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = gang_journal_code(rc);
        snprintf(why, sizeof(why), "%s",
                 j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
        goto error;
    }
    sqlite3_busy_timeout(j->db, 5000);
    rc = gang_journal_code(sqlcheck_quick(j->db, why, sizeof(why)));
    if (rc == -EUCLEAN) {
        shoal_errprintf(error, rc,
                        "gang journal '%s' is damaged (SQLite: %s); it is "
                        "left as it is: move it aside with its -wal and -shm "
                        "files to start an empty one",
                        path, why);
        gang_journal_close(j);
        return rc;
    }
    if (rc == 0)
        rc = gj_exec(j, "PRAGMA journal_mode = WAL;"
                        "PRAGMA synchronous = NORMAL;");
    if (rc == 0)
        rc = gj_exec(j, gang_journal_schema);
    if (rc < 0) {
        if (!why[0] || rc != -EUCLEAN)
            snprintf(why, sizeof(why), "%s", sqlite3_errmsg(j->db));
        goto error;
    }
    *out = j;
    return 0;
error:
    shoal_errprintf(error, rc, "cannot open gang journal '%s': %s", path, why);
    gang_journal_close(j);
    return rc;
}

void gang_journal_close(gang_journal_t *j)
{
    if (!j)
        return;
    sqlite3_close(j->db);
    free(j);
}

/* The uid and nranks of key: 0, -ENOENT, or an error. */
static int gj_lookup(
    gang_journal_t *j, const char *key, uint32_t *uid, int *nranks, int *kept)
{
    sqlite3_stmt *st = NULL;
    int rc = gj_prepare(
        j, "SELECT uid, nranks, kept FROM gang_jobs WHERE key = ?", &st);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (uid)
            *uid = (uint32_t)sqlite3_column_int64(st, 0);
        if (nranks)
            *nranks = sqlite3_column_int(st, 1);
        if (kept)
            *kept = sqlite3_column_int(st, 2);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : gang_journal_code(rc);
    }
    sqlite3_finalize(st);
    return rc;
}

int gang_journal_start(gang_journal_t *j,
                       const struct gang_journal_run *run,
                       shoal_error_t *error)
{
    sqlite3_stmt *st = NULL;
    uint32_t uid = 0;
    int rc;

    if (!run->key || !run->key[0] || strlen(run->key) > GANG_JOURNAL_KEY_MAX)
        return shoal_errprintf(error, -EINVAL, "bad job key");
    if (!run->spec || strlen(run->spec) > GANG_JOURNAL_SPEC_MAX)
        return shoal_errprintf(error, -EINVAL,
                               "job '%s': no spec, or one over %d bytes",
                               run->key, GANG_JOURNAL_SPEC_MAX);
    if (run->nranks < 0 || run->nranks > GANG_JOURNAL_NRANKS_MAX
        || run->replicas < 0 || run->run < 0 || run->restarts < 0)
        return shoal_errprintf(error, -EINVAL,
                               "job '%s': ranks, replicas, run or restarts "
                               "out of range",
                               run->key);
    rc = gj_lookup(j, run->key, &uid, NULL, NULL);
    if (rc == 0 && uid != run->uid)
        return shoal_errprintf(
            error, -EPERM, "job '%s' belongs to uid %" PRIu32 ", not %" PRIu32,
            run->key, uid, run->uid);
    if (rc < 0 && rc != -ENOENT)
        goto error;
    rc = gj_prepare(
        j,
        "INSERT INTO gang_jobs (key, uid, spec, nranks, replicas, state, "
        "run, restarts, pid, pid_start, created, updated) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?10) "
        "ON CONFLICT (key) DO UPDATE SET spec = ?3, nranks = CASE WHEN ?4 > 0 "
        "THEN ?4 ELSE nranks END, "
        "replicas = ?5, state = 0, run = ?6, restarts = ?7, pid = ?8, "
        "pid_start = ?9, updated = ?10, status = -1, placement = NULL",
        &st);
    if (rc < 0)
        goto error;
    sqlite3_bind_text(st, 1, run->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run->uid);
    sqlite3_bind_text(st, 3, run->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, run->nranks);
    sqlite3_bind_int(st, 5, run->replicas);
    sqlite3_bind_int(st, 6, run->run);
    sqlite3_bind_int(st, 7, run->restarts);
    sqlite3_bind_int64(st, 8, run->pid);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)run->pid_start);
    sqlite3_bind_double(st, 10, run->now);
    rc = gj_run(st);
    if (rc == 0)
        return 0;
error:
    return shoal_errprintf(error, rc,
                           "gang journal: cannot record job '%s': %s", run->key,
                           sqlite3_errmsg(j->db));
}

int gang_journal_place(gang_journal_t *j,
                       const char *key,
                       const char *placement,
                       int nranks)
{
    sqlite3_stmt *st = NULL;
    int rc = gj_prepare(j,
                        "UPDATE gang_jobs SET placement = ?1, nranks = CASE "
                        "WHEN ?3 > 0 THEN ?3 ELSE nranks END WHERE key = ?2",
                        &st);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, placement, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, nranks > GANG_JOURNAL_NRANKS_MAX ? 0 : nranks);
    rc = gj_run(st);
    if (rc == 0 && sqlite3_changes(j->db) == 0)
        rc = -ENOENT;
    return rc;
}

/* nodes as text: hex ids joined by ','. */
static void gj_nodes_text(const uint64_t *nodes, int n, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%016" PRIx64,
                                 i ? "," : "", nodes[i]);
}

/* Parse text written by gj_nodes_text into c. Malformed ids are
 * skipped: the journal only ever holds what it wrote. */
static void gj_nodes_parse(const char *text, struct gang_journal_copy *c)
{
    const char *p = text;

    c->nnodes = 0;
    while (p && *p && c->nnodes < GANG_JOURNAL_HOLDERS) {
        char *end;
        uint64_t id = strtoull(p, &end, 16);

        if (end != p)
            c->nodes[c->nnodes++] = id;
        p = strchr(end, ',');
        if (p)
            p++;
    }
}

static void gj_merge(struct gang_journal_copy *c, const uint64_t *nodes, int n)
{
    for (int i = 0; i < n && c->nnodes < GANG_JOURNAL_HOLDERS; i++) {
        bool known = false;

        for (int k = 0; k < c->nnodes && !known; k++)
            known = c->nodes[k] == nodes[i];
        if (!known)
            c->nodes[c->nnodes++] = nodes[i];
    }
}

int gang_journal_add_copy(gang_journal_t *j,
                          const char *key,
                          int rank,
                          int version,
                          const uint64_t *nodes,
                          int n)
{
    struct gang_journal_copy c = {.rank = rank, .version = version};
    char text[GANG_JOURNAL_HOLDERS * 17 + 1];
    sqlite3_stmt *st = NULL;
    int nranks = 0, kept = 0;
    int rc = gj_lookup(j, key, NULL, &nranks, &kept);

    if (rc < 0)
        return rc;
    if (rank < 0 || rank >= nranks || version < 1 || n < 1 || !nodes)
        return -EINVAL;
    rc = gj_prepare(j,
                    "SELECT nodes FROM gang_copies WHERE key = ? AND rank = ? "
                    "AND version = ?",
                    &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rank);
    sqlite3_bind_int(st, 3, version);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        gj_nodes_parse((const char *)sqlite3_column_text(st, 0), &c);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return gang_journal_code(rc);
    gj_merge(&c, nodes, n);
    gj_nodes_text(c.nodes, c.nnodes, text, sizeof(text));
    /* what the nodes removed already is not added back */
    rc = gj_prepare(j,
                    "INSERT OR REPLACE INTO gang_copies (key, rank, version, "
                    "nodes) SELECT ?1, ?2, ?3, ?4 WHERE ?3 >= (SELECT kept "
                    "FROM gang_jobs WHERE key = ?1)",
                    &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rank);
    sqlite3_bind_int(st, 3, version);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    return gj_run(st);
}

int gang_journal_keep(gang_journal_t *j, const char *key, int version)
{
    sqlite3_stmt *st = NULL;
    int kept = 0;
    int rc = gj_lookup(j, key, NULL, NULL, &kept);

    if (rc < 0 || version <= kept)
        return rc;
    rc = gj_exec(j, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    if (kept > 0) {
        rc = gj_prepare(
            j, "DELETE FROM gang_copies WHERE key = ? AND version < ?", &st);
        if (rc == 0) {
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, kept);
            rc = gj_run(st);
        }
    }
    if (rc == 0)
        rc = gj_prepare(j, "UPDATE gang_jobs SET kept = ? WHERE key = ?", &st);
    if (rc == 0) {
        sqlite3_bind_int(st, 1, version);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        rc = gj_run(st);
    }
    if (rc == 0)
        rc = gj_exec(j, "COMMIT");
    if (rc < 0)
        gj_exec(j, "ROLLBACK");
    return rc;
}

int gang_journal_drop(gang_journal_t *j, const char *key, int rank, int version)
{
    sqlite3_stmt *st = NULL;
    int rc = gj_lookup(j, key, NULL, NULL, NULL);

    if (rc == 0)
        rc = gj_prepare(j,
                        "DELETE FROM gang_copies WHERE key = ? AND rank = ? "
                        "AND version = ?",
                        &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rank);
    sqlite3_bind_int(st, 3, version);
    return gj_run(st);
}

int gang_journal_remove(gang_journal_t *j, const char *key)
{
    sqlite3_stmt *st = NULL;
    int rc = gj_lookup(j, key, NULL, NULL, NULL);

    if (rc == 0)
        rc = gj_exec(j, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = gj_prepare(j, "DELETE FROM gang_copies WHERE key = ?", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = gj_run(st);
    }
    if (rc == 0)
        rc = gj_prepare(j, "DELETE FROM gang_jobs WHERE key = ?", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = gj_run(st);
    }
    if (rc == 0)
        rc = gj_exec(j, "COMMIT");
    if (rc < 0)
        gj_exec(j, "ROLLBACK");
    return rc;
}

int gang_journal_end(gang_journal_t *j, const char *key, int status)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (status == 0)
        return gang_journal_remove(j, key);
    rc = gj_prepare(j,
                    "UPDATE gang_jobs SET state = 1, status = ?, pid = 0, "
                    "pid_start = 0 WHERE key = ?",
                    &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, status);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    rc = gj_run(st);
    if (rc == 0 && sqlite3_changes(j->db) == 0)
        rc = -ENOENT;
    return rc;
}

static char *gj_dup_column(sqlite3_stmt *st, int col, bool *oom)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    char *copy;

    if (!text)
        return NULL;
    copy = strdup(text);
    if (!copy)
        *oom = true;
    return copy;
}

int gang_journal_get(gang_journal_t *j,
                     const char *key,
                     struct gang_journal_job *out)
{
    sqlite3_stmt *st = NULL;
    bool oom = false;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = gj_prepare(j,
                    "SELECT key, uid, spec, nranks, replicas, state, run, "
                    "restarts, kept, status, pid, pid_start, created, "
                    "updated, placement FROM gang_jobs WHERE key = ?",
                    &st);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? -ENOENT : gang_journal_code(rc);
    }
    out->key = gj_dup_column(st, 0, &oom);
    out->uid = (uint32_t)sqlite3_column_int64(st, 1);
    out->spec = gj_dup_column(st, 2, &oom);
    out->nranks = sqlite3_column_int(st, 3);
    out->replicas = sqlite3_column_int(st, 4);
    out->state = sqlite3_column_int(st, 5) == GANG_JOURNAL_FAILED
                     ? GANG_JOURNAL_FAILED
                     : GANG_JOURNAL_RUNNING;
    out->run = sqlite3_column_int(st, 6);
    out->restarts = sqlite3_column_int(st, 7);
    out->kept = sqlite3_column_int(st, 8);
    out->status = sqlite3_column_int(st, 9);
    out->pid = sqlite3_column_int64(st, 10);
    out->pid_start = (uint64_t)sqlite3_column_int64(st, 11);
    out->created = sqlite3_column_double(st, 12);
    out->updated = sqlite3_column_double(st, 13);
    out->placement = gj_dup_column(st, 14, &oom);
    sqlite3_finalize(st);
    rc = oom ? -ENOMEM : 0;
    if (rc == 0)
        rc = gj_prepare(j,
                        "SELECT rank, version, nodes FROM gang_copies WHERE "
                        "key = ? ORDER BY rank, version",
                        &st);
    if (rc < 0)
        goto error;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct gang_journal_copy *c;

        if (out->ncopies == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            void *p = realloc(out->copies, ncap * sizeof(*out->copies));
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            out->copies = p;
            cap = ncap;
        }
        c = &out->copies[out->ncopies++];
        c->rank = sqlite3_column_int(st, 0);
        c->version = sqlite3_column_int(st, 1);
        gj_nodes_parse((const char *)sqlite3_column_text(st, 2), c);
    }
    sqlite3_finalize(st);
    rc = rc == SQLITE_DONE ? 0 : gang_journal_code(rc);
    if (rc == 0)
        return 0;
error:
    gang_journal_job_release(out);
    return rc;
}

int gang_journal_keys(gang_journal_t *j, char ***keys, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char **list = NULL;
    size_t count = 0;
    int rc =
        gj_prepare(j, "SELECT key FROM gang_jobs ORDER BY created, key", &st);

    *keys = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        void *p = realloc(list, (count + 1) * sizeof(*list));
        const char *text = (const char *)sqlite3_column_text(st, 0);

        if (!p || !text || !(((char **)p)[count] = strdup(text))) {
            if (p)
                list = p;
            rc = SQLITE_NOMEM;
            break;
        }
        list = p;
        count++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < count; i++)
            free(list[i]);
        free(list);
        return gang_journal_code(rc);
    }
    *keys = list;
    *n = count;
    return 0;
}

int gang_journal_version(const struct gang_journal_job *job)
{
    int best = 0;

    /* copies are sorted by rank then version: count, per version seen on
     * rank 0, the ranks that have it */
    for (size_t i = 0; i < job->ncopies && job->copies[i].rank == 0; i++) {
        int v = job->copies[i].version, have = 0;

        if (v <= best)
            continue;
        for (size_t k = 0; k < job->ncopies; k++)
            have += job->copies[k].version == v;
        if (have == job->nranks)
            best = v;
    }
    return best;
}

void gang_journal_job_release(struct gang_journal_job *job)
{
    if (!job)
        return;
    free(job->key);
    free(job->spec);
    free(job->placement);
    free(job->copies);
    memset(job, 0, sizeof(*job));
}
