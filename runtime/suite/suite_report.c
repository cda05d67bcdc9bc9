/* SPDX-License-Identifier: MIT */
/* suite_report.c - summaries, comparisons and listings from the store. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "runtime/suite/suite_report.h"
#include "runtime/suite/suite_stats.h"

/* The samples of one figure of one case. */
struct report_series {
    char *bench, *params, *name, *point, *unit;
    bool higher;
    double *x;
    size_t n;
    unsigned failed; /* repetitions of the case that did not succeed */
    /* the case ran to a target precision on figure pfigure */
    bool precise, reached;
    /* repetitions of a case under noise control taken under load */
    bool noise;
    unsigned under_load;
    char *pfigure;
    double target;
    unsigned pmax, preps;
};

struct report_set {
    struct report_series *v;
    size_t n;
};

static void set_release(struct report_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct report_series *s = &set->v[i];

        free(s->bench);
        free(s->params);
        free(s->name);
        free(s->point);
        free(s->unit);
        free(s->pfigure);
        free(s->x);
    }
    free(set->v);
    memset(set, 0, sizeof(*set));
}

static char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return strdup(t ? (const char *)t : "");
}

static int run_exists(suite_store_t *store, int64_t run, shoal_error_t *error)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(suite_store_db(store),
                           "SELECT 1 FROM runs WHERE id = ?", -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, run);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return shoal_errprintf(error, -ENOENT, "no run %lld in the store",
                               (long long)run);
    return 0;
}

static unsigned
failed_reps(suite_store_t *store, int64_t run, const char *bench, int case_no)
{
    sqlite3_stmt *st;
    unsigned n = 0;

    if (sqlite3_prepare_v2(suite_store_db(store),
                           "SELECT count(*) FROM reps WHERE run = ? AND "
                           "bench = ? AND case_no = ? AND warmup = 0 AND "
                           "status != 'ok'",
                           -1, &st, NULL)
        != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, bench, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, case_no);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (unsigned)sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void load_precision(suite_store_t *store,
                           int64_t run,
                           int case_no,
                           struct report_series *s)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(suite_store_db(store),
                           "SELECT figure, target, max, reps, reached FROM "
                           "precision WHERE run = ? AND bench = ? AND "
                           "case_no = ?",
                           -1, &st, NULL)
        != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, s->bench, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, case_no);
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->pfigure = col(st, 0);
        s->precise = s->pfigure != NULL;
        s->target = sqlite3_column_double(st, 1);
        s->pmax = (unsigned)sqlite3_column_int(st, 2);
        s->preps = (unsigned)sqlite3_column_int(st, 3);
        s->reached = sqlite3_column_int(st, 4);
    }
    sqlite3_finalize(st);
}

static void load_noise(suite_store_t *store,
                       int64_t run,
                       int case_no,
                       struct report_series *s)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(suite_store_db(store),
                           "SELECT count(*), coalesce(sum(under_load), 0) "
                           "FROM noise WHERE run = ? AND bench = ? AND "
                           "case_no = ?",
                           -1, &st, NULL)
        != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, s->bench, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, case_no);
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->noise = sqlite3_column_int(st, 0) > 0;
        s->under_load = (unsigned)sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
}

/* Load every series of run, grouped by case, figure and point, in the
 * order cases ran. */
static int load_set(suite_store_t *store,
                    int64_t run,
                    struct report_set *set,
                    shoal_error_t *error)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = run_exists(store, run, error);

    if (rc < 0)
        return rc;
    /* cases without a single figure (every repetition failed) come in
     * through the LEFT JOIN with a NULL name */
    if (sqlite3_prepare_v2(
            suite_store_db(store),
            "SELECT c.bench, c.case_no, c.params, f.name, f.point, f.unit,"
            " f.higher, f.value FROM cases c LEFT JOIN figures f ON"
            " f.run = c.run AND f.bench = c.bench AND f.case_no = c.case_no"
            " WHERE c.run = ? ORDER BY c.rowid, f.name = 'wall', f.name,"
            " f.point, f.rep",
            -1, &st, NULL)
        != SQLITE_OK)
        return shoal_errprintf(error, -EIO, "results store: %s",
                               sqlite3_errmsg(suite_store_db(store)));
    sqlite3_bind_int64(st, 1, run);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *bench = (const char *)sqlite3_column_text(st, 0);
        const char *params = (const char *)sqlite3_column_text(st, 2);
        const char *name = (const char *)sqlite3_column_text(st, 3);
        const char *point = (const char *)sqlite3_column_text(st, 4);
        struct report_series *s = set->n ? &set->v[set->n - 1] : NULL;

        if (!name)
            name = "";
        if (!point)
            point = "";
        if (!s || strcmp(s->bench, bench) || strcmp(s->params, params)
            || strcmp(s->name, name) || strcmp(s->point, point)) {
            if (set->n == cap) {
                size_t nc = cap ? cap * 2 : 32;
                struct report_series *v = realloc(set->v, nc * sizeof(*v));

                if (!v) {
                    rc = -ENOMEM;
                    break;
                }
                set->v = v;
                cap = nc;
            }
            s = &set->v[set->n++];
            memset(s, 0, sizeof(*s));
            s->bench = col(st, 0);
            s->params = col(st, 2);
            s->name = col(st, 3);
            s->point = col(st, 4);
            s->unit = col(st, 5);
            s->higher = sqlite3_column_int(st, 6);
            s->failed =
                failed_reps(store, run, bench, sqlite3_column_int(st, 1));
            load_precision(store, run, sqlite3_column_int(st, 1), s);
            load_noise(store, run, sqlite3_column_int(st, 1), s);
            if (!s->bench || !s->params || !s->name || !s->point || !s->unit) {
                rc = -ENOMEM;
                break;
            }
        }
        if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
            double *x = realloc(s->x, (s->n + 1) * sizeof(double));

            if (!x) {
                rc = -ENOMEM;
                break;
            }
            s->x = x;
            s->x[s->n++] = sqlite3_column_double(st, 7);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        set_release(set);
        return rc < 0 ? rc
                      : shoal_errprintf(error, -EIO, "results store: %s",
                                        sqlite3_errmsg(suite_store_db(store)));
    }
    return 0;
}

static const struct report_series *find_series(const struct report_set *set,
                                               const struct report_series *s)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct report_series *b = &set->v[i];

        if (!strcmp(b->bench, s->bench) && !strcmp(b->params, s->params)
            && !strcmp(b->name, s->name) && !strcmp(b->point, s->point))
            return b;
    }
    return NULL;
}

int suite_report_format(const char *name, enum suite_format *format)
{
    static const char *const names[] = {"table", "md", "csv", "json"};

    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(name, names[i])) {
            *format = (enum suite_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* One line of a report, before formatting. */
struct report_row {
    const struct report_series *s;
    struct suite_summary sum;
    bool has_vs;
    struct suite_summary base;
    enum suite_verdict verdict;
    double change, p;
};

static const char *verdict_name(enum suite_verdict v)
{
    return v == SUITE_WORSE ? "worse" : v == SUITE_BETTER ? "better" : "same";
}

/* {"t":"0.01"} -> t=0.01 (for tables) */
static void params_plain(const char *json, char *buf, size_t size)
{
    json_t *o = json_loads(json, 0, NULL);
    const char *key;
    json_t *v;
    size_t len = 0;

    buf[0] = '\0';
    json_object_foreach (o, key, v) {
        int n = snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "", key,
                         json_string_value(v) ? json_string_value(v) : "?");

        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    json_decref(o);
    if (!*buf)
        snprintf(buf, size, "-");
}

static void figure_label(const struct report_series *s, char *buf, size_t size)
{
    if (*s->point)
        snprintf(buf, size, "%s[%s]", s->name, s->point);
    else
        snprintf(buf, size, "%s", *s->name ? s->name : "-");
}

static void emit_json(FILE *f,
                      const struct report_row *rows,
                      size_t nrows,
                      double threshold)
{
    for (size_t i = 0; i < nrows;) {
        const struct report_series *s = rows[i].s;
        json_t *o = json_object(), *figs = json_object();
        size_t j;

        json_object_set_new(o, "name", json_string(s->bench));
        json_object_set_new(o, "parameters", json_loads(s->params, 0, NULL));
        json_object_set_new(o, "failed", json_integer(s->failed));
        if (s->noise)
            json_object_set_new(o, "under_load", json_integer(s->under_load));
        if (s->precise)
            json_object_set_new(
                o, "precision",
                json_pack("{s:s,s:f,s:I,s:I,s:b}", "figure", s->pfigure,
                          "target", s->target, "max", (json_int_t)s->pmax,
                          "reps", (json_int_t)s->preps, "reached", s->reached));
        for (j = i; j < nrows && !strcmp(rows[j].s->bench, s->bench)
                    && !strcmp(rows[j].s->params, s->params);
             j++) {
            const struct report_row *r = &rows[j];
            json_t *fig;
            char label[256];

            if (r->s->n == 0)
                continue;
            figure_label(r->s, label, sizeof(label));
            fig = json_pack("{s:I,s:f,s:f,s:f,s:[f,f],s:f,s:s,s:s}", "n",
                            (json_int_t)r->sum.n, "median", r->sum.median,
                            "min", r->sum.min, "max", r->sum.max, "ci",
                            r->sum.ci_low, r->sum.ci_high, "ci_coverage",
                            r->sum.coverage, "unit", r->s->unit, "better",
                            r->s->higher ? "higher" : "lower");
            if (r->has_vs && fig) {
                json_t *vs = json_pack("{s:f,s:s,s:s,s:f}", "baseline_median",
                                       r->base.median, "verdict",
                                       verdict_name(r->verdict), "test",
                                       "Mann-Whitney U, one-sided, alpha 0.05",
                                       "threshold", threshold);

                if (vs && isfinite(r->change))
                    json_object_set_new(vs, "change", json_real(r->change));
                if (vs && isfinite(r->p))
                    json_object_set_new(vs, "p", json_real(r->p));
                json_object_set_new(fig, "vs", vs);
            }
            json_object_set_new(figs, label, fig);
        }
        json_object_set_new(o, "figures", figs);
        json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', f);
        json_decref(o);
        i = j;
    }
}

static void emit_rows(FILE *f,
                      const struct report_row *rows,
                      size_t nrows,
                      enum suite_format format,
                      bool vs,
                      double threshold)
{
    const char *sep = format == SUITE_FORMAT_CSV  ? ","
                      : format == SUITE_FORMAT_MD ? " | "
                                                  : "  ";
    const char *lead = format == SUITE_FORMAT_MD ? "| " : "";
    const char *tail = format == SUITE_FORMAT_MD ? " |" : "";

    if (format == SUITE_FORMAT_TABLE)
        fprintf(f, "%-12s  %-18s  %-20s  %3s  %11s  %25s  %11s  %11s  %-6s",
                "bench", "parameters", "figure", "n", "median",
                "95% CI of median", "min", "max", "unit");
    else
        fprintf(f,
                "%sbench%sparameters%sfigure%sn%smedian%sci_low%sci_high%smin"
                "%smax%sunit%sfailed",
                lead, sep, sep, sep, sep, sep, sep, sep, sep, sep, sep);
    if (vs && format == SUITE_FORMAT_TABLE)
        fprintf(f, "  %11s  %8s  %7s  %s", "baseline", "change", "p",
                "verdict");
    else if (vs)
        fprintf(f, "%sbaseline%schange%sp%sverdict", sep, sep, sep, sep);
    fprintf(f, "%s\n", tail);
    if (format == SUITE_FORMAT_MD)
        fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|%s\n",
                vs ? "---|---|---|---|" : "");
    for (size_t i = 0; i < nrows; i++) {
        const struct report_row *r = &rows[i];
        char params[256], label[256], ci[64];

        params_plain(r->s->params, params, sizeof(params));
        figure_label(r->s, label, sizeof(label));
        if (format == SUITE_FORMAT_TABLE) {
            snprintf(ci, sizeof(ci), "[%.6g, %.6g]", r->sum.ci_low,
                     r->sum.ci_high);
            fprintf(f,
                    "%-12s  %-18s  %-20s  %3zu  %11.6g  %25s  %11.6g  %11.6g  "
                    "%-6s",
                    r->s->bench, params, label, r->sum.n, r->sum.median, ci,
                    r->sum.min, r->sum.max, r->s->unit);
            if (r->s->failed)
                fprintf(f, "  (%u failed)", r->s->failed);
            if (r->s->under_load)
                fprintf(f, "  (%u under load)", r->s->under_load);
            if (r->s->precise && !strcmp(r->s->name, r->s->pfigure))
                fprintf(f, "  (CI within %g%%: %s after %u of at most %u)",
                        100 * r->s->target,
                        r->s->reached ? "reached" : "NOT reached", r->s->preps,
                        r->s->pmax);
        } else {
            fprintf(
                f,
                "%s%s%s%s%s%s%s%s%s%zu%s%.9g%s%.9g%s%.9g%s%.9g%s%.9g%s%s%s%u",
                lead, r->s->bench, sep, format == SUITE_FORMAT_CSV ? "\"" : "",
                params, format == SUITE_FORMAT_CSV ? "\"" : "", sep, label, sep,
                r->sum.n, sep, r->sum.median, sep, r->sum.ci_low, sep,
                r->sum.ci_high, sep, r->sum.min, sep, r->sum.max, sep,
                r->s->unit, sep, r->s->failed);
        }
        if (vs && r->has_vs && format == SUITE_FORMAT_TABLE)
            fprintf(f, "  %11.6g  %+7.1f%%  %7.4f  %s", r->base.median,
                    100 * r->change, r->p, verdict_name(r->verdict));
        else if (vs && r->has_vs)
            fprintf(f, "%s%.9g%s%.6f%s%.6f%s%s", sep, r->base.median, sep,
                    r->change, sep, r->p, sep, verdict_name(r->verdict));
        else if (vs && format == SUITE_FORMAT_TABLE)
            fprintf(f, "  %11s", "(no baseline)");
        else if (vs)
            fprintf(f, "%s%s%s%s", sep, sep, sep, sep);
        fprintf(f, "%s\n", tail);
    }
    if (format != SUITE_FORMAT_CSV) {
        fprintf(f, "\nmedian with a distribution-free 95%% confidence interval "
                   "(order statistics; fewer than 6 repetitions give [min, "
                   "max] with less coverage)\n");
        for (size_t i = 0; i < nrows; i++) {
            if (rows[i].s->precise) {
                fprintf(f, "CI within X%%: the case repeated until the "
                           "interval lay within X%% of the median on both "
                           "sides (and at least 6 times), or until its "
                           "bound\n");
                break;
            }
        }
        for (size_t i = 0; i < nrows; i++) {
            if (rows[i].s->under_load) {
                fprintf(f, "under load: repetitions taken while the node's "
                           "run queue or the CPU others used was above the "
                           "benchmark's max-load per CPU (shoal bench show "
                           "has each one)\n");
                break;
            }
        }
        if (vs)
            fprintf(f,
                    "compared with the baseline by a one-sided Mann-Whitney "
                    "U test (exact without ties, else normal with tie "
                    "correction) at alpha 0.05; a change counts when it is "
                    "significant and larger than %.1f%%\n",
                    100 * threshold);
    }
}

/* The pool the run had, when it had one: each node as the run started,
 * and the highest load it gossiped after a repetition. */
static void emit_pool(FILE *f, suite_store_t *store, int64_t run)
{
    sqlite3_stmt *st;
    bool first = true;

    if (sqlite3_prepare_v2(
            suite_store_db(store),
            "SELECT s.name, s.cores, s.owner, s.load, "
            "  (SELECT max(p.load) FROM pool p WHERE p.run = s.run AND "
            "   p.bench IS NOT NULL AND p.name = s.name) "
            "FROM pool s WHERE s.run = ? AND s.bench IS NULL ORDER BY s.rowid",
            -1, &st, NULL)
        != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *owner = (const char *)sqlite3_column_text(st, 2);

        fprintf(f, "%s%s (%d cores, %s, load %.2f", first ? "\npool: " : ", ",
                name ? name : "?", sqlite3_column_int(st, 1),
                owner ? owner : "?", sqlite3_column_double(st, 3));
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            fprintf(f, ", at most %.2f after a repetition",
                    sqlite3_column_double(st, 4));
        fputc(')', f);
        first = false;
    }
    if (!first)
        fputc('\n', f);
    sqlite3_finalize(st);
}

int suite_report_run(suite_store_t *store,
                     int64_t run,
                     int64_t baseline,
                     enum suite_format format,
                     double threshold,
                     char **text,
                     unsigned *worse,
                     shoal_error_t *error)
{
    struct report_set cur = {0}, base = {0};
    struct report_row *rows = NULL;
    size_t nrows = 0, len = 0;
    FILE *f = NULL;
    int rc;

    *text = NULL;
    *worse = 0;
    rc = load_set(store, run, &cur, error);
    if (rc == 0 && baseline)
        rc = load_set(store, baseline, &base, error);
    if (rc < 0)
        goto out;
    rows = calloc(cur.n ? cur.n : 1, sizeof(*rows));
    if (!rows) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < cur.n; i++) {
        struct report_row *r = &rows[nrows++];
        const struct report_series *b;
        double *copy;

        r->s = &cur.v[i];
        copy = malloc((cur.v[i].n ? cur.v[i].n : 1) * sizeof(double));
        if (!copy) {
            rc = -ENOMEM;
            goto out;
        }
        if (cur.v[i].n) /* a case with no figure has no array */
            memcpy(copy, cur.v[i].x, cur.v[i].n * sizeof(double));
        suite_stats_summarize(copy, cur.v[i].n, &r->sum);
        free(copy);
        b = baseline && cur.v[i].n ? find_series(&base, &cur.v[i]) : NULL;
        if (b && b->n) {
            copy = malloc(b->n * sizeof(double));
            if (!copy) {
                rc = -ENOMEM;
                goto out;
            }
            memcpy(copy, b->x, b->n * sizeof(double));
            suite_stats_summarize(copy, b->n, &r->base);
            free(copy);
            rc = suite_stats_compare(b->x, b->n, cur.v[i].x, cur.v[i].n,
                                     cur.v[i].higher, threshold, &r->verdict,
                                     &r->change, &r->p);
            if (rc < 0)
                goto out;
            r->has_vs = true;
            if (r->verdict == SUITE_WORSE)
                (*worse)++;
        }
    }
    f = open_memstream(text, &len);
    if (!f) {
        rc = -ENOMEM;
        goto out;
    }
    if (format == SUITE_FORMAT_JSON)
        emit_json(f, rows, nrows, threshold);
    else
        emit_rows(f, rows, nrows, format, baseline != 0, threshold);
    if (format == SUITE_FORMAT_TABLE || format == SUITE_FORMAT_MD)
        emit_pool(f, store, run);
    if (fclose(f) != 0)
        rc = -ENOMEM;
out:
    free(rows);
    set_release(&cur);
    set_release(&base);
    if (rc < 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

static int report_ls_json(sqlite3_stmt *st, char **text)
{
    json_t *runs = json_array();

    while (runs && sqlite3_step(st) == SQLITE_ROW) {
        const char *tag = (const char *)sqlite3_column_text(st, 3);
        json_t *run = json_pack(
            "{s:I, s:f, s:s?, s:i, s:i, s:s?, s:o, s:s?}", "run",
            (json_int_t)sqlite3_column_int64(st, 0), "started",
            sqlite3_column_double(st, 1), "status",
            (const char *)sqlite3_column_text(st, 2), "reps",
            sqlite3_column_int(st, 5), "failed", sqlite3_column_int(st, 6),
            "host", (const char *)sqlite3_column_text(st, 7), "tag",
            tag && *tag ? json_string(tag) : json_null(), "suite",
            (const char *)sqlite3_column_text(st, 4));

        if (!run || json_array_append_new(runs, run) < 0) {
            json_decref(runs);
            runs = NULL;
        }
    }
    sqlite3_finalize(st);
    *text = runs ? json_dumps(runs, JSON_PRESERVE_ORDER) : NULL;
    json_decref(runs);
    if (!*text)
        return -ENOMEM;
    /* one line, as the other listings */
    {
        size_t n = strlen(*text);
        char *grown = realloc(*text, n + 2);

        if (!grown)
            return -ENOMEM;
        grown[n] = '\n';
        grown[n + 1] = '\0';
        *text = grown;
    }
    return 0;
}

int suite_report_ls(suite_store_t *store,
                    bool json,
                    char **text,
                    shoal_error_t *error)
{
    sqlite3_stmt *st;
    size_t len = 0;
    FILE *f;
    int rc;

    if (sqlite3_prepare_v2(
            suite_store_db(store),
            "SELECT id, started, status, coalesce(tag, ''), suite_path,"
            " (SELECT count(*) FROM reps r WHERE r.run = runs.id AND"
            "  r.warmup = 0), (SELECT count(*) FROM reps r WHERE r.run ="
            "  runs.id AND r.warmup = 0 AND r.status != 'ok'), host"
            " FROM runs ORDER BY id",
            -1, &st, NULL)
        != SQLITE_OK)
        return shoal_errprintf(error, -EIO, "results store: %s",
                               sqlite3_errmsg(suite_store_db(store)));
    if (json)
        return report_ls_json(st, text);
    f = open_memstream(text, &len);
    if (!f) {
        sqlite3_finalize(st);
        return -ENOMEM;
    }
    fprintf(f, "%5s  %-19s  %-11s  %5s  %6s  %-12s  %-10s  %s\n", "run",
            "started", "status", "reps", "failed", "host", "tag", "suite");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        time_t t = (time_t)sqlite3_column_double(st, 1);
        struct tm tm;
        char when[32];

        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(f, "%5lld  %-19s  %-11s  %5d  %6d  %-12s  %-10s  %s\n",
                (long long)sqlite3_column_int64(st, 0), when,
                sqlite3_column_text(st, 2), sqlite3_column_int(st, 5),
                sqlite3_column_int(st, 6),
                (const char *)sqlite3_column_text(st, 7),
                (const char *)sqlite3_column_text(st, 3),
                (const char *)sqlite3_column_text(st, 4));
    }
    sqlite3_finalize(st);
    fclose(f);
    return 0;
}

int suite_report_show(suite_store_t *store,
                      int64_t run,
                      const char *bench,
                      char **text,
                      shoal_error_t *error)
{
    sqlite3_stmt *st, *fs;
    size_t len = 0;
    int rc = run_exists(store, run, error), rows = 0;
    FILE *f;

    *text = NULL;
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v2(
            suite_store_db(store),
            "SELECT r.case_no, c.params, r.rep, r.warmup, r.status,"
            " r.exit_code, r.wall, r.load, r.output, n.runqueue, n.others,"
            " n.waited, n.under_load FROM reps r JOIN cases c"
            " ON c.run = r.run AND c.bench = r.bench AND c.case_no ="
            " r.case_no LEFT JOIN noise n ON n.run = r.run AND n.bench ="
            " r.bench AND n.case_no = r.case_no AND n.rep = r.rep AND"
            " r.warmup = 0 WHERE r.run = ? AND r.bench = ? ORDER BY"
            " r.case_no, r.warmup DESC, r.rep",
            -1, &st, NULL)
            != SQLITE_OK
        || sqlite3_prepare_v2(suite_store_db(store),
                              "SELECT name, point, value, unit FROM figures "
                              "WHERE run = ? AND bench = ? AND case_no = ? "
                              "AND rep = ? ORDER BY rowid",
                              -1, &fs, NULL)
               != SQLITE_OK)
        return shoal_errprintf(error, -EIO, "results store: %s",
                               sqlite3_errmsg(suite_store_db(store)));
    f = open_memstream(text, &len);
    if (!f) {
        sqlite3_finalize(st);
        sqlite3_finalize(fs);
        return -ENOMEM;
    }
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, bench, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char params[256];
        bool warm = sqlite3_column_int(st, 3);
        const char *status = (const char *)sqlite3_column_text(st, 4);

        rows++;
        params_plain((const char *)sqlite3_column_text(st, 1), params,
                     sizeof(params));
        fprintf(f, "case %d (%s) %s %d: %s, exit %d, wall %.6f s, load %.2f",
                sqlite3_column_int(st, 0), params, warm ? "warm-up" : "rep",
                sqlite3_column_int(st, 2) + 1, status,
                sqlite3_column_int(st, 5), sqlite3_column_double(st, 6),
                sqlite3_column_double(st, 7));
        if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
            fprintf(f, ", run queue %.2f/CPU", sqlite3_column_double(st, 9));
            if (sqlite3_column_type(st, 10) != SQLITE_NULL)
                fprintf(f, ", others %.2f of the CPUs",
                        sqlite3_column_double(st, 10));
            if (sqlite3_column_double(st, 11) > 0)
                fprintf(f, ", waited %.1f s", sqlite3_column_double(st, 11));
            if (sqlite3_column_int(st, 12))
                fprintf(f, ", UNDER LOAD");
        }
        if (!warm) {
            sqlite3_bind_int64(fs, 1, run);
            sqlite3_bind_text(fs, 2, bench, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(fs, 3, sqlite3_column_int(st, 0));
            sqlite3_bind_int(fs, 4, sqlite3_column_int(st, 2));
            while (sqlite3_step(fs) == SQLITE_ROW) {
                const char *point = (const char *)sqlite3_column_text(fs, 1);

                if (!strcmp((const char *)sqlite3_column_text(fs, 0), "wall"))
                    continue;
                fprintf(f, "\n    %s%s%s%s = %.9g %s",
                        sqlite3_column_text(fs, 0), *point ? "[" : "", point,
                        *point ? "]" : "", sqlite3_column_double(fs, 2),
                        sqlite3_column_text(fs, 3));
            }
            sqlite3_reset(fs);
        }
        fputc('\n', f);
        if (strcmp(status, "ok") != 0) {
            const char *out = (const char *)sqlite3_column_text(st, 8);

            fprintf(f, "    output:\n%s%s", out ? out : "",
                    out && *out && out[strlen(out) - 1] != '\n' ? "\n" : "");
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(fs);
    fclose(f);
    if (rows == 0) {
        free(*text);
        *text = NULL;
        return shoal_errprintf(error, -ENOENT, "run %lld has no benchmark '%s'",
                               (long long)run, bench);
    }
    return 0;
}
