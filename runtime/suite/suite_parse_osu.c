/* SPDX-License-Identifier: MIT */
/* suite_parse_osu.c - the tables the OSU micro-benchmarks, the Intel MPI
 * Benchmarks and the NAS Parallel Benchmarks print.
 *
 * OSU (osu_latency, osu_bw, osu_allreduce, ...): a header comment whose
 * last line starts "# Size", columns separated by two or more spaces
 * ("# Size          Latency (us)", "# Size       Avg Latency(us)"), then
 * one row of numbers per message size. Each column but the size becomes a
 * figure named after it in lower case with '_' for spaces, its unit taken
 * from the parentheses ("latency" in "us", "avg_latency", "bandwidth" in
 * "MB/s"), at point "size=N". Bandwidths and rates are better higher.
 *
 * IMB (IMB-MPI1): per benchmark a "# Benchmark: NAME" line, optionally
 * "# #processes = P", then a header "#bytes #repetitions t[usec]
 * Mbytes/sec" (or t_min[usec] t_max[usec] t_avg[usec]) and rows. Figures
 * are "NAME.t", "NAME.t_avg", ... in "usec", and "NAME.bandwidth" in
 * "Mbytes/sec", at point "np=P,bytes=N" (bytes only when P is not given).
 *
 * NPB: the "Benchmark Completed" block: "Time in seconds" (figure time,
 * s), "Mop/s total" (mops, higher), "Mop/s/process" (mops_per_process),
 * and "Verification = SUCCESSFUL" (figure verified: 1, else 0). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/suite/suite_figures.h"

enum { COLS_MAX = 16, COL_LEN = 64 };

struct columns {
    char name[COLS_MAX][COL_LEN];
    char unit[COLS_MAX][COL_LEN];
    bool higher[COLS_MAX];
    size_t n;
};

/* Iterate over lines: *line and *n are set to each in turn. */
static bool next_line(
    const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *nl;

    if (*pos >= len)
        return false;
    *line = text + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *n = nl ? (size_t)(nl - *line) : len - *pos;
    *pos += *n + 1;
    return true;
}

/* Split line into at most max numbers; returns how many, or -1 when a
 * word is not a number. */
static int numbers(const char *line, size_t n, double *out, int max)
{
    char buf[512], *save = NULL;
    int count = 0;

    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    for (char *w = strtok_r(buf, " \t\r", &save); w;
         w = strtok_r(NULL, " \t\r", &save)) {
        char *end;

        if (count == max)
            return -1;
        out[count] = strtod(w, &end);
        if (end == w || *end || !isfinite(out[count]))
            return -1;
        count++;
    }
    return count;
}

static bool is_rate(const char *name, const char *unit)
{
    return strstr(name, "bandwidth") || strstr(name, "mb/s")
           || strstr(name, "messages/s") || strchr(unit, '/')
           || strstr(name, "bytes/sec");
}

/* "Avg Latency(us)" -> name "avg_latency", unit "us". */
static void
name_column(const char *word, size_t n, char *name, char *unit, bool *higher)
{
    const char *open = memchr(word, '(', n);
    size_t nl = open ? (size_t)(open - word) : n, k = 0;

    unit[0] = '\0';
    if (open) {
        const char *close = memchr(open, ')', n - (size_t)(open - word));
        size_t ul = close ? (size_t)(close - open - 1) : 0;

        snprintf(unit, COL_LEN, "%.*s", (int)ul, open + 1);
    }
    while (nl > 0 && isspace((unsigned char)word[nl - 1]))
        nl--;
    for (size_t i = 0; i < nl && k + 1 < COL_LEN; i++)
        name[k++] = isspace((unsigned char)word[i])
                        ? '_'
                        : (char)tolower((unsigned char)word[i]);
    name[k] = '\0';
    if (!open && strchr(name, '/')) {
        /* "MB/s", "Messages/s": the column is its own unit */
        snprintf(unit, COL_LEN, "%s", word);
        unit[nl < COL_LEN ? nl : COL_LEN - 1] = '\0';
    }
    *higher = is_rate(name, unit);
}

/* "# Size          Latency (us)" into columns, splitting at runs of two
 * or more blanks. */
static void osu_header(const char *line, size_t n, struct columns *cols)
{
    size_t i = 0;

    cols->n = 0;
    while (i < n && (line[i] == '#' || line[i] == ' '))
        i++;
    while (i < n && cols->n < COLS_MAX) {
        size_t start = i;

        while (i < n
               && !(line[i] == '\t'
                    || (line[i] == ' ' && i + 1 < n && line[i + 1] == ' ')
                    || line[i] == '\r'))
            i++;
        if (i > start) {
            name_column(line + start, i - start, cols->name[cols->n],
                        cols->unit[cols->n], &cols->higher[cols->n]);
            cols->n++;
        }
        while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
    }
}

int suite_figures_osu(const char *text,
                      size_t len,
                      struct suite_figure_list *list)
{
    struct columns cols = {.n = 0};
    const char *line;
    size_t n, pos = 0;
    int rc = 0;

    while (rc == 0 && next_line(text, len, &pos, &line, &n)) {
        double v[COLS_MAX];
        int got;
        char point[64];

        if (n >= 6 && line[0] == '#') {
            const char *s = line + 1;

            while (*s == ' ')
                s++;
            if (!strncmp(s, "Size", 4))
                osu_header(line, n, &cols);
            continue;
        }
        if (cols.n < 2)
            continue;
        got = numbers(line, n, v, COLS_MAX);
        if (got < 2)
            continue;
        snprintf(point, sizeof(point), "size=%.0f", v[0]);
        for (int c = 1; c < got && (size_t)c < cols.n && rc == 0; c++) {
            if (!strcmp(cols.name[c], "iterations"))
                continue;
            rc = suite_figures_add(list, cols.name[c], point, cols.unit[c],
                                   cols.higher[c], v[c]);
        }
    }
    return rc;
}

int suite_figures_imb(const char *text,
                      size_t len,
                      struct suite_figure_list *list)
{
    char bench[COL_LEN] = "", names[COLS_MAX][COL_LEN],
         units[COLS_MAX][COL_LEN];
    bool higher[COLS_MAX];
    size_t ncols = 0;
    long procs = -1;
    const char *line;
    size_t n, pos = 0;
    int rc = 0;

    while (rc == 0 && next_line(text, len, &pos, &line, &n)) {
        char buf[512], *save = NULL, *w;
        double v[COLS_MAX];
        int got;

        if (n >= sizeof(buf))
            continue;
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (sscanf(buf, "# Benchmarking %63s", bench) == 1
            || sscanf(buf, "# Benchmark: %63s", bench) == 1) {
            ncols = 0;
            procs = -1;
            continue;
        }
        if (sscanf(buf, "# #processes = %ld", &procs) == 1) {
            ncols = 0;
            continue;
        }
        w = strtok_r(buf, " \t\r", &save);
        if (w && !strcmp(w, "#bytes")) {
            ncols = 0;
            for (; w && ncols < COLS_MAX; w = strtok_r(NULL, " \t\r", &save)) {
                char *open = strchr(w, '[');

                if (open) {
                    snprintf(names[ncols], COL_LEN, "%.*s", (int)(open - w), w);
                    snprintf(units[ncols], COL_LEN, "%.*s",
                             (int)strcspn(open + 1, "]"), open + 1);
                    higher[ncols] = false;
                } else if (!strcmp(w, "Mbytes/sec")) {
                    snprintf(names[ncols], COL_LEN, "bandwidth");
                    snprintf(units[ncols], COL_LEN, "Mbytes/sec");
                    higher[ncols] = true;
                } else {
                    snprintf(names[ncols], COL_LEN, "%s", w);
                    units[ncols][0] = '\0';
                    higher[ncols] = false;
                }
                ncols++;
            }
            continue;
        }
        if (ncols < 2 || !*bench)
            continue;
        got = numbers(line, n, v, COLS_MAX);
        if (got < 2 || (size_t)got != ncols)
            continue;
        for (size_t c = 1; c < ncols && rc == 0; c++) {
            char name[2 * COL_LEN + 2], point[64];

            if (names[c][0] == '#')
                continue;
            snprintf(name, sizeof(name), "%s.%s", bench, names[c]);
            if (procs > 0)
                snprintf(point, sizeof(point), "np=%ld,bytes=%.0f", procs,
                         v[0]);
            else
                snprintf(point, sizeof(point), "bytes=%.0f", v[0]);
            rc =
                suite_figures_add(list, name, point, units[c], higher[c], v[c]);
        }
    }
    return rc;
}

int suite_figures_npb(const char *text,
                      size_t len,
                      struct suite_figure_list *list)
{
    static const struct {
        const char *label;
        const char *name;
        const char *unit;
        bool higher;
    } keys[] = {{"Time in seconds", "time", "s", false},
                {"Mop/s total", "mops", "Mop/s", true},
                {"Mop/s/process", "mops_per_process", "Mop/s", true},
                {"Mop/s/thread", "mops_per_thread", "Mop/s", true}};
    const char *line;
    size_t n, pos = 0;
    bool completed = false;
    int rc = 0;

    while (rc == 0 && next_line(text, len, &pos, &line, &n)) {
        char buf[256], *eq, *s;

        if (n >= sizeof(buf))
            continue;
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (strstr(buf, "Benchmark Completed")) {
            completed = true;
            continue;
        }
        eq = strchr(buf, '=');
        if (!completed || !eq)
            continue;
        *eq = '\0';
        for (s = eq; s > buf && isspace((unsigned char)s[-1]); s--)
            s[-1] = '\0';
        for (s = buf; isspace((unsigned char)*s); s++)
            ;
        const char *value = eq + 1;

        while (isspace((unsigned char)*value))
            value++;
        if (!strcmp(s, "Verification")) {
            rc = suite_figures_add(list, "verified", "", "", true,
                                   !strncmp(value, "SUCCESSFUL", 10));
            continue;
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            char *end;
            double v;

            if (strcmp(s, keys[i].label) != 0)
                continue;
            v = strtod(value, &end);
            if (end != value && isfinite(v))
                rc = suite_figures_add(list, keys[i].name, "", keys[i].unit,
                                       keys[i].higher, v);
        }
    }
    return rc;
}
