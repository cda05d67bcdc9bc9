/* SPDX-License-Identifier: MIT */
/* suite_store.c - the results store in SQLite. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/suite/suite_store.h"
#include "util/fs.h"

struct suite_store {
    sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL, finished REAL,"
    "  status TEXT, suite_path TEXT, suite_hash TEXT, suite_text TEXT,"
    "  version TEXT, tag TEXT, host TEXT, topology TEXT, load REAL);"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  run INTEGER, bench TEXT, case_no INTEGER, params TEXT,"
    "  PRIMARY KEY (run, bench, case_no));"
    "CREATE TABLE IF NOT EXISTS reps ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER,"
    "  warmup INTEGER, status TEXT, exit_code INTEGER, wall REAL,"
    "  load REAL, started REAL, output TEXT,"
    "  PRIMARY KEY (run, bench, case_no, rep, warmup));"
    "CREATE TABLE IF NOT EXISTS figures ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER,"
    "  name TEXT, point TEXT, unit TEXT, higher INTEGER, value REAL);"
    "CREATE INDEX IF NOT EXISTS figures_run ON figures (run, bench, case_no);"
    "CREATE TABLE IF NOT EXISTS counters ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER,"
    "  event TEXT, sum REAL, min REAL, max REAL);"
    "CREATE TABLE IF NOT EXISTS noise ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER,"
    "  runqueue REAL, others REAL, waited REAL, under_load INTEGER,"
    "  PRIMARY KEY (run, bench, case_no, rep));"
    "CREATE TABLE IF NOT EXISTS pool ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER, name TEXT,"
    "  state TEXT, owner TEXT, topology TEXT, cores INTEGER,"
    "  cores_free INTEGER, load REAL);"
    "CREATE INDEX IF NOT EXISTS pool_run ON pool (run, bench, case_no);"
    "CREATE TABLE IF NOT EXISTS run_vars ("
    "  run INTEGER, setting TEXT);"
    "CREATE TABLE IF NOT EXISTS precision ("
    "  run INTEGER, bench TEXT, case_no INTEGER, figure TEXT, target REAL,"
    "  max INTEGER, reps INTEGER, reached INTEGER,"
    "  PRIMARY KEY (run, bench, case_no));"
    "CREATE TABLE IF NOT EXISTS run_env ("
    "  run INTEGER, name TEXT, value TEXT);"
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  run INTEGER, bench TEXT, case_no INTEGER, rep INTEGER,"
    "  warmup INTEGER, job INTEGER, node TEXT,"
    "  PRIMARY KEY (run, bench, case_no, rep, warmup));";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int db_fail(suite_store_t *store, shoal_error_t *error, const char *what)
{
    return shoal_errprintf(error, -EIO, "results store: cannot %s: %s", what,
                           sqlite3_errmsg(store->db));
}

int suite_store_open(const char *dir, suite_store_t **out, shoal_error_t *error)
{
    suite_store_t *store;
    char path[4096];
    int rc;

    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/bench.db", dir) >= (int)sizeof(path))
        return shoal_errprintf(error, -ENAMETOOLONG, "'%s': name too long",
                               dir);
    rc = fs_mkdir_p(dir, 0700);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot create '%s': %s", dir,
                               shoal_strerror(rc));
    store = calloc(1, sizeof(*store));
    if (!store)
        return -ENOMEM;
    if (sqlite3_open(path, &store->db) != SQLITE_OK) {
        rc = shoal_errprintf(error, -EIO, "cannot open '%s': %s", path,
                             sqlite3_errmsg(store->db));
        suite_store_close(store);
        return rc;
    }
    sqlite3_busy_timeout(store->db, 5000);
    if (sqlite3_exec(store->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = shoal_errprintf(error, -EIO, "cannot set up '%s': %s", path,
                             sqlite3_errmsg(store->db));
        suite_store_close(store);
        return rc;
    }
    *out = store;
    return 0;
}

void suite_store_close(suite_store_t *store)
{
    if (!store)
        return;
    sqlite3_close(store->db);
    free(store);
}

sqlite3 *suite_store_db(suite_store_t *store)
{
    return store->db;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int suite_store_run_begin(suite_store_t *store,
                          const struct suite_run_meta *meta,
                          int64_t *id,
                          shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT INTO runs (started, status, suite_path,"
                           " suite_hash, suite_text, version, tag, host,"
                           " topology, load) VALUES (?,'running',?,?,?,?,?,?,"
                           "?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record the run");
    sqlite3_bind_double(st, 1, now_s());
    bind_text(st, 2, meta->suite_path);
    bind_text(st, 3, meta->suite_hash);
    bind_text(st, 4, meta->suite_text);
    bind_text(st, 5, meta->version);
    bind_text(st, 6, meta->tag);
    bind_text(st, 7, meta->host);
    bind_text(st, 8, meta->topology);
    sqlite3_bind_double(st, 9, meta->load);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(store, error, "record the run");
    *id = sqlite3_last_insert_rowid(store->db);
    return 0;
}

int suite_store_run_end(suite_store_t *store,
                        int64_t id,
                        const char *status,
                        shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "UPDATE runs SET finished = ?, status = ? WHERE "
                           "id = ?",
                           -1, &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "end the run");
    sqlite3_bind_double(st, 1, now_s());
    bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(store, error, "end the run");
}

int suite_store_run_suite(suite_store_t *store,
                          int64_t id,
                          char **path,
                          char **text,
                          char **status,
                          shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    *path = *text = *status = NULL;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT suite_path, suite_text, status FROM runs "
                           "WHERE id = ?",
                           -1, &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "read the run");
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return shoal_errprintf(error, -ENOENT, "no run %lld in the store",
                               (long long)id);
    }
    *path = strdup((const char *)sqlite3_column_text(st, 0));
    *text = strdup((const char *)sqlite3_column_text(st, 1));
    *status = strdup((const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    if (!*path || !*text || !*status) {
        free(*path);
        free(*text);
        free(*status);
        *path = *text = *status = NULL;
        return -ENOMEM;
    }
    return 0;
}

int suite_store_case(suite_store_t *store,
                     int64_t run,
                     const char *bench,
                     unsigned case_no,
                     const char *params_json,
                     shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR IGNORE INTO cases VALUES (?,?,?,?)", -1,
                           &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record a case");
    sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, bench);
    sqlite3_bind_int(st, 3, (int)case_no);
    bind_text(st, 4, params_json);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(store, error, "record a case");
}

/* Bind the columns every per-repetition table starts with: run, bench,
 * case and repetition. */
static void
bind_rep_key(sqlite3_stmt *st, int64_t run, const struct suite_rep_record *rep)
{
    sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, rep->bench);
    sqlite3_bind_int(st, 3, (int)rep->case_no);
    sqlite3_bind_int(st, 4, (int)rep->rep);
}

static int insert_rep(suite_store_t *store,
                      int64_t run,
                      const struct suite_rep_record *rep)
{
    sqlite3_stmt *st;
    int rc;
    size_t keep = rep->output_len > 65536 ? 65536 : rep->output_len;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR REPLACE INTO reps VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    bind_rep_key(st, run, rep);
    sqlite3_bind_int(st, 5, rep->warmup);
    bind_text(st, 6, rep->status);
    sqlite3_bind_int(st, 7, rep->exit_code);
    sqlite3_bind_double(st, 8, rep->wall);
    sqlite3_bind_double(st, 9, rep->load);
    sqlite3_bind_double(st, 10, now_s());
    /* the tail of a long output: where the figures and errors are */
    sqlite3_bind_text(st, 11,
                      rep->output ? rep->output + rep->output_len - keep : "",
                      (int)keep, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int insert_noise(suite_store_t *store,
                        int64_t run,
                        const struct suite_rep_record *rep)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR REPLACE INTO noise VALUES "
                           "(?,?,?,?,?,?,?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    bind_rep_key(st, run, rep);
    if (isfinite(rep->runqueue))
        sqlite3_bind_double(st, 5, rep->runqueue);
    else
        sqlite3_bind_null(st, 5);
    if (isfinite(rep->others))
        sqlite3_bind_double(st, 6, rep->others);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_double(st, 7, rep->waited);
    sqlite3_bind_int(st, 8, rep->under_load);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int insert_figures(suite_store_t *store,
                          int64_t run,
                          const struct suite_rep_record *rep,
                          const struct suite_figure_list *figures)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT INTO figures VALUES (?,?,?,?,?,?,?,?,?)", -1,
                           &st, NULL)
        != SQLITE_OK)
        return -EIO;
    for (size_t i = 0; i < figures->n && rc == 0; i++) {
        const struct suite_figure *f = &figures->v[i];

        bind_rep_key(st, run, rep);
        bind_text(st, 5, f->name);
        bind_text(st, 6, f->point);
        bind_text(st, 7, f->unit);
        sqlite3_bind_int(st, 8, f->higher_better);
        sqlite3_bind_double(st, 9, f->value);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_counters(suite_store_t *store,
                           int64_t run,
                           const struct suite_rep_record *rep,
                           const struct suite_counter *counters,
                           size_t n)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (n == 0)
        return 0;
    if (sqlite3_prepare_v2(store->db,
                           "INSERT INTO counters VALUES (?,?,?,?,?,?,?,?)", -1,
                           &st, NULL)
        != SQLITE_OK)
        return -EIO;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bind_rep_key(st, run, rep);
        bind_text(st, 5, counters[i].event);
        sqlite3_bind_double(st, 6, counters[i].sum);
        sqlite3_bind_double(st, 7, counters[i].min);
        sqlite3_bind_double(st, 8, counters[i].max);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_task(suite_store_t *store,
                       int64_t run,
                       const struct suite_rep_record *rep)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR REPLACE INTO tasks VALUES "
                           "(?,?,?,?,?,?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    bind_rep_key(st, run, rep);
    sqlite3_bind_int(st, 5, rep->warmup);
    sqlite3_bind_int64(st, 6, rep->task_job);
    bind_text(st, 7, rep->task_node);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return rc;
}

int suite_store_rep(suite_store_t *store,
                    int64_t run,
                    const struct suite_rep_record *rep,
                    const struct suite_figure_list *figures,
                    const struct suite_counter *counters,
                    size_t ncounters,
                    shoal_error_t *error)
{
    int rc;

    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record a repetition");
    rc = insert_rep(store, run, rep);
    if (rc == 0 && !rep->warmup)
        rc = insert_figures(store, run, rep, figures);
    if (rc == 0 && !rep->warmup)
        rc = insert_counters(store, run, rep, counters, ncounters);
    if (rc == 0 && !rep->warmup && rep->noise)
        rc = insert_noise(store, run, rep);
    if (rc == 0 && rep->task_node)
        rc = insert_task(store, run, rep);
    if (rc == 0
        && sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    rc = db_fail(store, error, "record a repetition");
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

bool suite_store_rep_done(suite_store_t *store,
                          int64_t run,
                          const char *bench,
                          unsigned case_no,
                          unsigned rep,
                          bool warmup)
{
    sqlite3_stmt *st;
    bool done;

    if (sqlite3_prepare_v2(store->db,
                           "SELECT 1 FROM reps WHERE run = ? AND bench = ? "
                           "AND case_no = ? AND rep = ? AND warmup = ?",
                           -1, &st, NULL)
        != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, bench);
    sqlite3_bind_int(st, 3, (int)case_no);
    sqlite3_bind_int(st, 4, (int)rep);
    sqlite3_bind_int(st, 5, warmup);
    done = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return done;
}

int suite_store_precision(suite_store_t *store,
                          int64_t run,
                          const struct suite_precision_record *p,
                          shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR REPLACE INTO precision VALUES "
                           "(?,?,?,?,?,?,?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record a case's precision");
    sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, p->bench);
    sqlite3_bind_int(st, 3, (int)p->case_no);
    bind_text(st, 4, p->figure);
    sqlite3_bind_double(st, 5, p->target);
    sqlite3_bind_int(st, 6, (int)p->max);
    sqlite3_bind_int(st, 7, (int)p->reps);
    sqlite3_bind_int(st, 8, p->reached);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : db_fail(store, error, "record a case's precision");
}

int suite_store_rep_figures(suite_store_t *store,
                            int64_t run,
                            const char *bench,
                            unsigned case_no,
                            unsigned rep,
                            struct suite_figure_list *list)
{
    sqlite3_stmt *st;
    int rc = 0;

    if (sqlite3_prepare_v2(store->db,
                           "SELECT name, point, unit, higher, value FROM "
                           "figures WHERE run = ? AND bench = ? AND "
                           "case_no = ? AND rep = ? ORDER BY rowid",
                           -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, bench);
    sqlite3_bind_int(st, 3, (int)case_no);
    sqlite3_bind_int(st, 4, (int)rep);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
        rc = suite_figures_add(list, (const char *)sqlite3_column_text(st, 0),
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               sqlite3_column_int(st, 3),
                               sqlite3_column_double(st, 4));
    sqlite3_finalize(st);
    return rc;
}

int suite_store_pool(suite_store_t *store,
                     int64_t run,
                     const char *bench,
                     unsigned case_no,
                     unsigned rep,
                     const struct suite_pool *pool,
                     shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    if (pool->count == 0)
        return 0;
    if (sqlite3_prepare_v2(store->db,
                           "INSERT INTO pool VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record the pool");
    sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < pool->count && rc == SQLITE_DONE; i++) {
        const struct suite_pool_node *n = &pool->nodes[i];

        sqlite3_bind_int64(st, 1, run);
        if (bench) {
            bind_text(st, 2, bench);
            sqlite3_bind_int64(st, 3, case_no);
            sqlite3_bind_int64(st, 4, rep);
            sqlite3_bind_null(st, 8);
        } else {
            /* at the start of the run: what each node is */
            sqlite3_bind_null(st, 2);
            sqlite3_bind_null(st, 3);
            sqlite3_bind_null(st, 4);
            bind_text(st, 8, n->topology);
        }
        bind_text(st, 5, n->name);
        bind_text(st, 6, n->state);
        bind_text(st, 7, n->owner);
        sqlite3_bind_int(st, 9, n->cores);
        sqlite3_bind_int(st, 10, n->cores_free);
        sqlite3_bind_double(st, 11, n->load);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(store->db, rc == SQLITE_DONE ? "COMMIT" : "ROLLBACK", NULL,
                 NULL, NULL);
    return rc == SQLITE_DONE ? 0 : db_fail(store, error, "record the pool");
}

int suite_store_set_run_vars(suite_store_t *store,
                             int64_t id,
                             char *const *vars,
                             shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    if (!vars || !*vars)
        return 0;
    if (sqlite3_prepare_v2(store->db, "INSERT INTO run_vars VALUES (?,?)", -1,
                           &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record the run's variables");
    for (char *const *v = vars; *v && rc == SQLITE_DONE; v++) {
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, *v);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : db_fail(store, error, "record the run's variables");
}

bool suite_store_env_secret(const char *name, size_t len)
{
    static const char *const words[] = {"KEY",  "TOKEN", "SECRET", "PASS",
                                        "CRED", "AUTH",  "COOKIE", NULL};
    char upper[256];

    if (len >= sizeof(upper))
        return true;
    for (size_t i = 0; i < len; i++)
        upper[i] =
            (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
    upper[len] = '\0';
    for (const char *const *w = words; *w; w++)
        if (strstr(upper, *w))
            return true;
    return false;
}

int suite_store_set_run_env(suite_store_t *store,
                            int64_t id,
                            char *const *env,
                            shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc = SQLITE_DONE;

    if (!env)
        return 0;
    if (sqlite3_prepare_v2(store->db, "INSERT INTO run_env VALUES (?,?,?)", -1,
                           &st, NULL)
        != SQLITE_OK)
        return db_fail(store, error, "record the run's environment");
    for (char *const *e = env; *e && rc == SQLITE_DONE; e++) {
        const char *eq = strchr(*e, '=');

        if (!eq || eq == *e || suite_store_env_secret(*e, (size_t)(eq - *e)))
            continue;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, *e, (int)(eq - *e), SQLITE_TRANSIENT);
        bind_text(st, 3, eq + 1);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : db_fail(store, error, "record the run's environment");
}

int suite_store_run_vars(suite_store_t *store,
                         int64_t id,
                         char ***vars,
                         shoal_error_t *error)
{
    sqlite3_stmt *st;
    size_t n = 0;
    char **v = calloc(1, sizeof(char *));

    *vars = NULL;
    if (!v)
        return -ENOMEM;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT setting FROM run_vars WHERE run = ? "
                           "ORDER BY rowid",
                           -1, &st, NULL)
        != SQLITE_OK) {
        free(v);
        return db_fail(store, error, "read the run's variables");
    }
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char **t = realloc(v, (n + 2) * sizeof(char *));

        if (!t)
            break;
        v = t;
        v[n] = strdup((const char *)sqlite3_column_text(st, 0));
        if (!v[n])
            break;
        v[++n] = NULL;
    }
    sqlite3_finalize(st);
    *vars = v;
    return 0;
}
