/* SPDX-License-Identifier: MIT */
/* suite_plot.c - figure against parameter, through gnuplot. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "runtime/suite/suite_exec.h"
#include "runtime/suite/suite_plot.h"
#include "runtime/suite/suite_stats.h"
#include "util/fs.h"

/* The samples of one point of one line of one plot. */
struct plot_group {
    char *bench, *figure, *unit, *axis, *series;
    double x;
    double *v;
    size_t n;
};

struct plot_set {
    struct plot_group *g;
    size_t n, cap;
};

static void set_release(struct plot_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->g[i].bench);
        free(set->g[i].figure);
        free(set->g[i].unit);
        free(set->g[i].axis);
        free(set->g[i].series);
        free(set->g[i].v);
    }
    free(set->g);
}

static bool number_of(const char *s, double *x)
{
    char *end;

    if (!s || !*s)
        return false;
    *x = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*x);
}

static int add_sample(struct plot_set *set,
                      const char *bench,
                      const char *figure,
                      const char *unit,
                      const char *axis,
                      const char *series,
                      double x,
                      double v)
{
    struct plot_group *g = NULL;
    double *nv;

    for (size_t i = 0; i < set->n && !g; i++) {
        struct plot_group *c = &set->g[i];

        if (c->x == x && !strcmp(c->bench, bench) && !strcmp(c->figure, figure)
            && !strcmp(c->series, series) && !strcmp(c->axis, axis))
            g = c;
    }
    if (!g) {
        if (set->n == set->cap) {
            size_t cap = set->cap ? set->cap * 2 : 64;
            struct plot_group *ng = realloc(set->g, cap * sizeof(*ng));

            if (!ng)
                return -ENOMEM;
            set->g = ng;
            set->cap = cap;
        }
        g = &set->g[set->n];
        memset(g, 0, sizeof(*g));
        g->bench = strdup(bench);
        g->figure = strdup(figure);
        g->unit = strdup(unit);
        g->axis = strdup(axis);
        g->series = strdup(series);
        g->x = x;
        set->n++;
        if (!g->bench || !g->figure || !g->unit || !g->axis || !g->series)
            return -ENOMEM;
    }
    nv = realloc(g->v, (g->n + 1) * sizeof(double));
    if (!nv)
        return -ENOMEM;
    g->v = nv;
    g->v[g->n++] = v;
    return 0;
}

/* The axis parameter of bench in run: the first parameter whose values
 * are all numbers, with at least two distinct ones. Caller frees; NULL
 * when there is none. */
static char *axis_param(sqlite3 *db, int64_t run, const char *bench)
{
    sqlite3_stmt *st;
    json_t *first = NULL;
    char *axis = NULL;
    const char *key;
    json_t *v;

    if (sqlite3_prepare_v2(db,
                           "SELECT params FROM cases WHERE run = ? AND "
                           "bench = ? ORDER BY case_no",
                           -1, &st, NULL)
        != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, bench, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        first = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    json_object_foreach (first, key, v) {
        double x0, x;
        bool numeric = number_of(json_string_value(v), &x0), other = false;

        sqlite3_reset(st);
        while (numeric && sqlite3_step(st) == SQLITE_ROW) {
            json_t *p =
                json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);

            numeric = number_of(json_string_value(json_object_get(p, key)), &x);
            other = other || (numeric && x != x0);
            json_decref(p);
        }
        if (numeric && other) {
            axis = strdup(key);
            break;
        }
    }
    json_decref(first);
    sqlite3_finalize(st);
    return axis;
}

/* "k=v,k2=v2" of params without key skip; "-" when empty */
static void series_label(const char *params_json,
                         const char *skip,
                         int64_t run,
                         bool with_run,
                         char *buf,
                         size_t size)
{
    json_t *p = json_loads(params_json, 0, NULL);
    const char *key;
    json_t *v;
    size_t len = 0;

    buf[0] = '\0';
    json_object_foreach (p, key, v) {
        int n;

        if (skip && !strcmp(key, skip))
            continue;
        n = snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "", key,
                     json_string_value(v) ? json_string_value(v) : "?");
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    json_decref(p);
    if (with_run && len < size)
        snprintf(buf + len, size - len, "%srun %lld", len ? " " : "",
                 (long long)run);
    else if (!*buf)
        snprintf(buf, size, "%s", "median");
}

static int load(sqlite3 *db, int64_t run, bool with_run, struct plot_set *set)
{
    sqlite3_stmt *st;
    char *bench = NULL, *axis = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(
            db,
            "SELECT c.bench, c.params, f.name, f.point, f.unit, f.value"
            " FROM figures f JOIN cases c ON c.run = f.run AND c.bench ="
            " f.bench AND c.case_no = f.case_no WHERE f.run = ?"
            " ORDER BY c.rowid, f.rowid",
            -1, &st, NULL)
        != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, run);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *b = (const char *)sqlite3_column_text(st, 0);
        const char *params = (const char *)sqlite3_column_text(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        const char *point = (const char *)sqlite3_column_text(st, 3);
        const char *unit = (const char *)sqlite3_column_text(st, 4);
        double v = sqlite3_column_double(st, 5), x;
        char series[512];

        if (!bench || strcmp(bench, b) != 0) {
            free(bench);
            free(axis);
            bench = strdup(b);
            axis = axis_param(db, run, b);
            if (!bench) {
                rc = -ENOMEM;
                break;
            }
        }
        if (point && *point) {
            /* the last number of the point is the axis: bytes of
             * "np=2,bytes=64", size of "size=8" */
            const char *eq = strrchr(point, '=');
            char axis_name[64];

            if (!eq || !number_of(eq + 1, &x))
                continue;
            const char *start = strrchr(point, ',');

            start = start ? start + 1 : point;
            snprintf(axis_name, sizeof(axis_name), "%.*s", (int)(eq - start),
                     start);
            series_label(params, NULL, run, with_run, series, sizeof(series));
            if ((start != point)
                && strlen(series) + (size_t)(start - point)
                       < sizeof(series) - 2) {
                /* the rest of the point ("np=2") names the line too */
                char rest[128];

                snprintf(rest, sizeof(rest), "%.*s", (int)(start - point - 1),
                         point);
                strncat(series, " ", sizeof(series) - strlen(series) - 1);
                strncat(series, rest, sizeof(series) - strlen(series) - 1);
            }
            rc = add_sample(set, b, name, unit, axis_name, series, x, v);
        } else if (axis) {
            json_t *p = json_loads(params, 0, NULL);
            bool ok =
                number_of(json_string_value(json_object_get(p, axis)), &x);

            json_decref(p);
            if (!ok)
                continue;
            series_label(params, axis, run, with_run, series, sizeof(series));
            rc = add_sample(set, b, name, unit, axis, series, x, v);
        }
    }
    free(bench);
    free(axis);
    sqlite3_finalize(st);
    return rc;
}

static void file_name(const char *s, char *buf, size_t size)
{
    size_t k = 0;

    for (; *s && k + 1 < size; s++)
        buf[k++] =
            isalnum((unsigned char)*s) || *s == '-' || *s == '.' ? *s : '_';
    buf[k] = '\0';
}

static int cmp_group_x(const void *a, const void *b)
{
    const struct plot_group *ga = *(struct plot_group *const *)a;
    const struct plot_group *gb = *(struct plot_group *const *)b;
    int c = strcmp(ga->series, gb->series);

    if (c)
        return c;
    return (ga->x > gb->x) - (ga->x < gb->x);
}

/* Escape a label for a double-quoted gnuplot string. */
static void gp_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Write the data and the script of one plot (the groups of one bench and
 * figure), run gnuplot. */
static int draw(struct plot_group **g,
                size_t n,
                const char *dir,
                const char *gnuplot,
                shoal_error_t *error)
{
    char base[512], bn[128], fn[128], dat[4200], gp[4200];
    FILE *f;
    bool doubles = true;
    double *xs = malloc(n * sizeof(double));
    size_t nx = 0;
    int rc = 0;

    if (!xs)
        return -ENOMEM;
    qsort(g, n, sizeof(*g), cmp_group_x);
    file_name(g[0]->bench, bn, sizeof(bn));
    file_name(g[0]->figure, fn, sizeof(fn));
    snprintf(base, sizeof(base), "%s-%s", bn, fn);
    snprintf(dat, sizeof(dat), "%s/%s.dat", dir, base);
    snprintf(gp, sizeof(gp), "%s/%s.gp", dir, base);
    /* does every distinct x double the one before? */
    for (size_t i = 0; i < n; i++) {
        size_t j;

        for (j = 0; j < nx && xs[j] != g[i]->x; j++)
            ;
        if (j == nx)
            xs[nx++] = g[i]->x;
    }
    for (size_t i = 0; i < nx; i++)
        for (size_t j = i + 1; j < nx; j++)
            if (xs[j] < xs[i]) {
                double t = xs[i];

                xs[i] = xs[j];
                xs[j] = t;
            }
    for (size_t i = 1; i < nx && doubles; i++)
        doubles = xs[i - 1] > 0 && fabs(xs[i] / xs[i - 1] - 2) < 1e-9;
    doubles = doubles && nx >= 3;
    free(xs);
    f = fopen(dat, "w");
    if (!f)
        return shoal_errprintf(error, -errno, "cannot write '%s': %s", dat,
                               strerror(errno));
    for (size_t i = 0; i < n; i++) {
        struct suite_summary s;

        if (i == 0 || strcmp(g[i]->series, g[i - 1]->series) != 0) {
            if (i)
                fputs("\n\n", f);
            fprintf(f, "# %s\n", g[i]->series);
        }
        suite_stats_summarize(g[i]->v, g[i]->n, &s);
        fprintf(f, "%.17g %.17g %.17g %.17g\n", g[i]->x, s.median, s.ci_low,
                s.ci_high);
    }
    fclose(f);
    f = fopen(gp, "w");
    if (!f)
        return shoal_errprintf(error, -errno, "cannot write '%s': %s", gp,
                               strerror(errno));
    fprintf(f, "set title ");
    {
        char title[300];

        snprintf(title, sizeof(title), "%s: %s", g[0]->bench, g[0]->figure);
        gp_quote(f, title);
    }
    fprintf(f, " noenhanced\nset xlabel ");
    gp_quote(f, g[0]->axis);
    fprintf(f, " noenhanced\nset ylabel ");
    {
        char ylabel[300];

        snprintf(ylabel, sizeof(ylabel), "%s%s%s%s", g[0]->figure,
                 *g[0]->unit ? " (" : "", g[0]->unit, *g[0]->unit ? ")" : "");
        gp_quote(f, ylabel);
    }
    fprintf(f, " noenhanced\nset key outside right top noenhanced\n"
               "set grid\n");
    if (doubles)
        fprintf(f, "set logscale x 2\n");
    fprintf(f, "plot ");
    for (size_t i = 0, k = 0; i < n; i++) {
        if (i && !strcmp(g[i]->series, g[i - 1]->series))
            continue;
        fprintf(f, "%s", k ? ", \\\n     " : "");
        gp_quote(f, dat);
        fprintf(f, " index %zu using 1:2:3:4 with yerrorlines title ", k);
        gp_quote(f, g[i]->series);
        k++;
    }
    fprintf(f, "\n");
    fclose(f);
    /* one script, two terminals: gnuplot -e sets each */
    for (int t = 0; t < 2 && rc == 0; t++) {
        char setup[4400];
        char *argv[] = {(char *)gnuplot, "-e", setup, gp, NULL};
        struct suite_exec_result res;
        extern char **environ;

        snprintf(setup, sizeof(setup),
                 "set terminal %s size 800,500; set output '%s/%s.%s'",
                 t ? "pngcairo" : "svg", dir, base, t ? "png" : "svg");
        rc = suite_exec_run(argv, environ, 60, &res, error);
        if (rc == 0 && res.status != SUITE_EXEC_OK)
            rc = shoal_errprintf(error, -EIO, "gnuplot failed on '%s': %.300s",
                                 gp, res.err ? res.err : "");
        suite_exec_release(&res);
    }
    return rc;
}

int suite_plot(suite_store_t *store,
               int64_t run,
               int64_t baseline,
               const char *dir,
               const char *gnuplot,
               unsigned *nplots,
               shoal_error_t *error)
{
    sqlite3 *db = suite_store_db(store);
    struct plot_set set = {0};
    struct plot_group **sel = NULL;
    bool *done = NULL;
    int rc;

    *nplots = 0;
    rc = fs_mkdir_p(dir, 0755);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot create '%s': %s", dir,
                               shoal_strerror(rc));
    rc = load(db, run, baseline != 0, &set);
    if (rc == 0 && baseline)
        rc = load(db, baseline, true, &set);
    if (rc < 0) {
        set_release(&set);
        return shoal_errprintf(error, rc, "cannot read the store: %s",
                               shoal_strerror(rc));
    }
    sel = calloc(set.n ? set.n : 1, sizeof(*sel));
    done = calloc(set.n ? set.n : 1, sizeof(*done));
    if (!sel || !done)
        rc = -ENOMEM;
    for (size_t i = 0; i < set.n && rc == 0; i++) {
        size_t k = 0;

        if (done[i])
            continue;
        for (size_t j = i; j < set.n; j++) {
            if (!done[j] && !strcmp(set.g[j].bench, set.g[i].bench)
                && !strcmp(set.g[j].figure, set.g[i].figure)) {
                sel[k++] = &set.g[j];
                done[j] = true;
            }
        }
        rc = draw(sel, k, dir, gnuplot, error);
        if (rc == 0)
            (*nplots)++;
    }
    free(sel);
    free(done);
    set_release(&set);
    return rc;
}
