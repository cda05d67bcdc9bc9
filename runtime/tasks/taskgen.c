/* SPDX-License-Identifier: MIT */
/* taskgen.c - expanding --range, --each-line and --param into tasks. */
#include "runtime/tasks/taskgen.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum taskgen_source {
    TASKGEN_NONE,
    TASKGEN_RANGE,
    TASKGEN_LINES,
    TASKGEN_PARAMS,
};

struct taskgen_param {
    char *name;
    char **values;
    size_t nvalues;
};

/* One item of a range list: first, first + step, ... (count values). */
struct taskgen_span {
    uint64_t first, step, count;
};

struct taskgen {
    enum taskgen_source source;
    struct taskgen_span *spans; /* range, its items in the order given */
    size_t nspans;
    char *range; /* the range as given, for taskgen_spec */
    char **lines;
    size_t nlines;
    struct taskgen_param *params;
    size_t nparams;
    uint64_t count;
};

int taskgen_create(struct taskgen **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static void taskgen_free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void taskgen_destroy(struct taskgen *g)
{
    if (!g)
        return;
    taskgen_free_strings(g->lines, g->nlines);
    free(g->spans);
    free(g->range);
    for (size_t i = 0; i < g->nparams; i++) {
        free(g->params[i].name);
        taskgen_free_strings(g->params[i].values, g->params[i].nvalues);
    }
    free(g->params);
    free(g);
}

static int taskgen_second_source(struct taskgen *g,
                                 enum taskgen_source want,
                                 shoal_error_t *error)
{
    if (g->source == TASKGEN_NONE || g->source == want)
        return 0;
    return shoal_errprintf(error, SHOAL_EUSAGE,
                           "--range, --each-line and --param cannot be "
                           "combined");
}

/* A decimal number without sign, at most 18 digits (so sums never
 * overflow). Returns the end of the digits, or NULL. */
static const char *taskgen_parse_u64(const char *s, uint64_t *v)
{
    int n = 0;

    *v = 0;
    while (isdigit((unsigned char)s[n])) {
        if (n == 18)
            return NULL;
        *v = *v * 10 + (uint64_t)(s[n] - '0');
        n++;
    }
    return n ? s + n : NULL;
}

/* At most this many items in a range list: each task's value is found by
 * a walk over them. */
enum { TASKGEN_SPANS_MAX = 4096 };

/* One item of a range list (N, A-B or A-B:STEP) from s up to end, into
 * span. Returns 0 or SHOAL_EUSAGE with error filled (spec is the whole
 * list, for the message). */
static int taskgen_parse_span(const char *s,
                              const char *end,
                              const char *spec,
                              struct taskgen_span *span,
                              shoal_error_t *error)
{
    uint64_t a, b, step = 1;
    const char *p = taskgen_parse_u64(s, &a);

    if (p && p == end) {
        *span = (struct taskgen_span){a, 1, 1};
        return 0;
    }
    if (!p || *p != '-' || !(p = taskgen_parse_u64(p + 1, &b))
        || (p != end && *p != ':')
        || (p != end && (!(p = taskgen_parse_u64(p + 1, &step)) || p != end)))
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid range '%s': expected A-B, A-B:STEP "
                               "or a list such as 1,4,9-12 (0 <= A <= B)",
                               spec);
    if (step == 0)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid range '%s': the step must be at "
                               "least 1",
                               spec);
    if (b < a)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "empty range '%.*s': %" PRIu64
                               " is after %" PRIu64,
                               (int)(end - s), s, a, b);
    *span = (struct taskgen_span){a, step, (b - a) / step + 1};
    return 0;
}

int taskgen_set_range(struct taskgen *g, const char *spec, shoal_error_t *error)
{
    struct taskgen_span *spans = NULL;
    size_t n = 0;
    const char *s = spec;
    char *copy;
    int rc = taskgen_second_source(g, TASKGEN_RANGE, error);

    if (rc < 0)
        return rc;
    if (g->source == TASKGEN_RANGE)
        return shoal_errprintf(error, SHOAL_EUSAGE, "--range given twice");
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        struct taskgen_span *ns;

        if (n == TASKGEN_SPANS_MAX) {
            free(spans);
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "invalid range '%.40s...': more than %d "
                                   "items",
                                   spec, TASKGEN_SPANS_MAX);
        }
        ns = realloc(spans, (n + 1) * sizeof(*ns));
        if (!ns) {
            free(spans);
            return -ENOMEM;
        }
        spans = ns;
        rc = taskgen_parse_span(s, end, spec, &spans[n], error);
        if (rc < 0) {
            free(spans);
            return rc;
        }
        n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    copy = strdup(spec);
    if (!copy) {
        free(spans);
        return -ENOMEM;
    }
    g->source = TASKGEN_RANGE;
    g->spans = spans;
    g->nspans = n;
    g->range = copy;
    return 0;
}

static int taskgen_push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, ncap * sizeof(**v));

        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = s;
    return 0;
}

int taskgen_set_lines(struct taskgen *g, const char *path, shoal_error_t *error)
{
    char **lines = NULL, *buf = NULL;
    size_t n = 0, cap = 0, bufcap = 0;
    ssize_t len;
    FILE *f;
    int rc = taskgen_second_source(g, TASKGEN_LINES, error);

    if (rc < 0)
        return rc;
    if (g->source == TASKGEN_LINES)
        return shoal_errprintf(error, SHOAL_EUSAGE, "--each-line given twice");
    f = fopen(path, "re");
    if (!f)
        return shoal_errprintf(error, SHOAL_EUSAGE, "cannot read '%s': %s",
                               path, strerror(errno));
    while ((len = getline(&buf, &bufcap, f)) >= 0) {
        char *line;

        if (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
        if (len == 0)
            continue;
        line = strdup(buf);
        if (!line || taskgen_push(&lines, &n, &cap, line) < 0) {
            free(line);
            rc = -ENOMEM;
            goto error;
        }
        if (n > TASKGEN_TASKS_MAX) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "'%s' has more than %d lines", path,
                                 TASKGEN_TASKS_MAX);
            goto error;
        }
    }
    if (ferror(f)) {
        rc = shoal_errprintf(error, SHOAL_EUSAGE, "cannot read '%s': %s", path,
                             strerror(errno));
        goto error;
    }
    if (n == 0) {
        rc = shoal_errprintf(error, SHOAL_EUSAGE,
                             "'%s' has no lines: no tasks to run", path);
        goto error;
    }
    free(buf);
    fclose(f);
    g->source = TASKGEN_LINES;
    g->lines = lines;
    g->nlines = n;
    return 0;
error:
    free(buf);
    fclose(f);
    taskgen_free_strings(lines, n);
    return rc;
}

static bool taskgen_is_name(const char *s, size_t len)
{
    if (len == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

static int taskgen_split_values(const char *s, char ***out, size_t *nout)
{
    char **v = NULL;
    size_t n = 0, cap = 0;

    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *value = strndup(s, len);

        if (!value || taskgen_push(&v, &n, &cap, value) < 0) {
            free(value);
            taskgen_free_strings(v, n);
            return -ENOMEM;
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Take p over (freed on failure too) as g's next parameter. */
static int taskgen_push_param(struct taskgen *g,
                              struct taskgen_param *p,
                              shoal_error_t *error)
{
    struct taskgen_param *np;
    int rc = 0;

    for (size_t i = 0; i < g->nparams && rc == 0; i++)
        if (strcmp(g->params[i].name, p->name) == 0)
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "parameter '%s' given twice", p->name);
    np = rc ? NULL : realloc(g->params, (g->nparams + 1) * sizeof(*np));
    if (!np) {
        free(p->name);
        taskgen_free_strings(p->values, p->nvalues);
        return rc ? rc : -ENOMEM;
    }
    g->params = np;
    g->params[g->nparams++] = *p;
    g->source = TASKGEN_PARAMS;
    return 0;
}

int taskgen_add_param(struct taskgen *g, const char *spec, shoal_error_t *error)
{
    const char *eq = strchr(spec, '=');
    struct taskgen_param p = {0};
    int rc = taskgen_second_source(g, TASKGEN_PARAMS, error);

    if (rc < 0)
        return rc;
    if (!eq || !taskgen_is_name(spec, (size_t)(eq - spec)))
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid parameter '%s': expected "
                               "NAME=VALUE[,VALUE...] with NAME made of "
                               "letters, digits and '_'",
                               spec);
    if (eq[1] == '\0')
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "parameter '%.*s' has no values",
                               (int)(eq - spec), spec);
    p.name = strndup(spec, (size_t)(eq - spec));
    if (!p.name || taskgen_split_values(eq + 1, &p.values, &p.nvalues) < 0) {
        free(p.name);
        return -ENOMEM;
    }
    return taskgen_push_param(g, &p, error);
}

int taskgen_finish(struct taskgen *g, uint64_t max, shoal_error_t *error)
{
    uint64_t count = 1;

    if (max == 0)
        max = TASKGEN_TASKS_MAX;
    switch (g->source) {
    case TASKGEN_NONE:
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "no tasks: give --range, --each-line or "
                               "--param");
    case TASKGEN_RANGE:
        /* each item has under 10^18 values: the sum stops growing past
         * max, so it cannot overflow */
        count = 0;
        for (size_t i = 0; i < g->nspans && count <= max; i++)
            count += g->spans[i].count;
        break;
    case TASKGEN_LINES:
        count = g->nlines;
        break;
    case TASKGEN_PARAMS:
        for (size_t i = 0; i < g->nparams; i++) {
            count *= g->params[i].nvalues;
            if (count > max)
                break;
        }
        break;
    }
    if (count > max)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "too many tasks: at most %" PRIu64 " per job",
                               max);
    g->count = count;
    return 0;
}

uint64_t taskgen_count(const struct taskgen *g)
{
    return g->count;
}

json_t *taskgen_params(const struct taskgen *g, uint64_t index)
{
    json_t *o = json_object();
    char num[32] = "";

    if (!o)
        return NULL;
    switch (g->source) {
    case TASKGEN_RANGE:
        for (size_t i = 0; i < g->nspans; i++) {
            if (index < g->spans[i].count) {
                snprintf(num, sizeof(num), "%" PRIu64,
                         g->spans[i].first + index * g->spans[i].step);
                break;
            }
            index -= g->spans[i].count;
        }
        json_object_set_new(o, "", json_string(num));
        break;
    case TASKGEN_LINES:
        json_object_set_new(o, "", json_string(g->lines[index]));
        break;
    case TASKGEN_PARAMS:
        /* mixed radix, the last parameter varying fastest */
        for (size_t i = g->nparams; i-- > 0;) {
            const struct taskgen_param *p = &g->params[i];

            json_object_set_new(o, p->name,
                                json_string(p->values[index % p->nvalues]));
            index /= p->nvalues;
        }
        break;
    case TASKGEN_NONE:
        break;
    }
    return o;
}

json_t *taskgen_spec(const struct taskgen *g)
{
    json_t *spec = json_object(), *a;

    switch (g->source) {
    case TASKGEN_RANGE:
        json_object_set_new(spec, "range", json_string(g->range));
        break;
    case TASKGEN_LINES:
        a = json_array();
        for (size_t i = 0; i < g->nlines; i++)
            json_array_append_new(a, json_string(g->lines[i]));
        json_object_set_new(spec, "lines", a);
        break;
    case TASKGEN_PARAMS:
        a = json_array();
        for (size_t i = 0; i < g->nparams; i++) {
            json_t *values = json_array();

            for (size_t k = 0; k < g->params[i].nvalues; k++)
                json_array_append_new(values,
                                      json_string(g->params[i].values[k]));
            json_array_append_new(a, json_pack("{s:s, s:o}", "name",
                                               g->params[i].name, "values",
                                               values));
        }
        json_object_set_new(spec, "params", a);
        break;
    case TASKGEN_NONE:
        break;
    }
    return spec;
}

static int
taskgen_load_spec(struct taskgen *g, const json_t *spec, shoal_error_t *error)
{
    json_t *range = json_object_get(spec, "range");
    json_t *lines = json_object_get(spec, "lines");
    json_t *params = json_object_get(spec, "params");
    size_t i, cap = 0;
    json_t *v;

    if (json_is_string(range))
        return taskgen_set_range(g, json_string_value(range), error);
    if (json_is_array(lines) && json_array_size(lines) > 0) {
        json_array_foreach (lines, i, v) {
            char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;

            if (!s || taskgen_push(&g->lines, &g->nlines, &cap, s) < 0) {
                free(s);
                return shoal_errprintf(error, SHOAL_EPROTO,
                                       "bad line %zu in task spec", i);
            }
        }
        g->source = TASKGEN_LINES;
        return 0;
    }
    if (json_is_array(params) && json_array_size(params) > 0) {
        json_array_foreach (params, i, v) {
            json_t *values = json_object_get(v, "values"), *s;
            const char *name = json_string_value(json_object_get(v, "name"));
            struct taskgen_param p = {0};
            size_t k;
            int rc;

            if (!name || !taskgen_is_name(name, strlen(name))
                || !json_is_array(values) || !json_array_size(values))
                return shoal_errprintf(error, SHOAL_EPROTO,
                                       "bad parameter %zu in task spec", i);
            p.name = strdup(name);
            p.values = calloc(json_array_size(values), sizeof(char *));
            json_array_foreach (values, k, s) {
                if (!p.values || !json_is_string(s))
                    break;
                p.values[k] = strdup(json_string_value(s));
                if (!p.values[k])
                    break;
                p.nvalues = k + 1;
            }
            if (!p.name || p.nvalues != json_array_size(values)) {
                free(p.name);
                taskgen_free_strings(p.values, p.nvalues);
                return shoal_errprintf(error, SHOAL_EPROTO,
                                       "bad values of parameter %zu in task "
                                       "spec",
                                       i);
            }
            rc = taskgen_push_param(g, &p, error);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    return shoal_errprintf(error, SHOAL_EPROTO, "task spec has no source");
}

int taskgen_from_spec(const json_t *spec,
                      uint64_t max,
                      struct taskgen **out,
                      shoal_error_t *error)
{
    struct taskgen *g;
    int rc = taskgen_create(&g);

    if (rc < 0)
        return rc;
    rc = taskgen_load_spec(g, spec, error);
    if (rc == 0)
        rc = taskgen_finish(g, max, error);
    if (rc < 0) {
        taskgen_destroy(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* One step of the template scanner: at s, what comes next. */
enum taskgen_piece {
    TASKGEN_PIECE_LITERAL,     /* *len bytes copied as they are */
    TASKGEN_PIECE_BRACE,       /* "{{" or "}}": one brace */
    TASKGEN_PIECE_INDEX,       /* "{#}" */
    TASKGEN_PIECE_PLACEHOLDER, /* "{name}" or "{}": name at s+1, *len */
};

static enum taskgen_piece taskgen_scan(const char *s, size_t *len, size_t *adv)
{
    if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
        *adv = 2;
        return TASKGEN_PIECE_BRACE;
    }
    if (s[0] == '{') {
        size_t n = 0;

        if (s[1] == '#' && s[2] == '}') {
            *adv = 3;
            return TASKGEN_PIECE_INDEX;
        }
        while (isalnum((unsigned char)s[1 + n]) || s[1 + n] == '_')
            n++;
        if (s[1 + n] == '}' && (n == 0 || !isdigit((unsigned char)s[1]))) {
            *len = n;
            *adv = n + 2;
            return TASKGEN_PIECE_PLACEHOLDER;
        }
    }
    *len = 1;
    *adv = 1;
    return TASKGEN_PIECE_LITERAL;
}

static bool taskgen_has_name(const struct taskgen *g, const char *s, size_t n)
{
    if (n == 0)
        return g->source != TASKGEN_PARAMS || g->nparams == 1;
    if (g->source != TASKGEN_PARAMS)
        return false;
    for (size_t i = 0; i < g->nparams; i++)
        if (strlen(g->params[i].name) == n
            && strncmp(g->params[i].name, s, n) == 0)
            return true;
    return false;
}

int taskgen_check_command(const struct taskgen *g,
                          int argc,
                          char *const *argv,
                          shoal_error_t *error)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        size_t len, adv;

        while (*s) {
            if (taskgen_scan(s, &len, &adv) == TASKGEN_PIECE_PLACEHOLDER
                && !taskgen_has_name(g, s + 1, len)) {
                if (len == 0)
                    return shoal_errprintf(error, SHOAL_EUSAGE,
                                           "'{}' in argument %d is "
                                           "ambiguous with several "
                                           "parameters: name one, as "
                                           "'{%s}'",
                                           i, g->params[0].name);
                return shoal_errprintf(error, SHOAL_EUSAGE,
                                       "unknown placeholder '{%.*s}' in "
                                       "argument %d ('%s'); write '{{' "
                                       "and '}}' for literal braces",
                                       (int)len, s + 1, i, argv[i]);
            }
            s += adv;
        }
    }
    return 0;
}

struct taskgen_buf {
    char *p;
    size_t len, cap;
};

static int taskgen_buf_add(struct taskgen_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, ncap);

        if (!np)
            return -ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* The value of {name} (name of len n): the only value for {}. */
static const char *taskgen_lookup(const json_t *params, const char *s, size_t n)
{
    const char *key;
    json_t *v;

    if (n == 0) {
        v = json_object_get(params, "");
        if (!v && json_object_size(params) == 1)
            json_object_foreach ((json_t *)params, key, v)
                break;
        return json_string_value(v);
    }
    json_object_foreach ((json_t *)params, key, v) {
        if (strlen(key) == n && strncmp(key, s, n) == 0)
            return json_string_value(v);
    }
    return NULL;
}

static int taskgen_expand_one(const char *s,
                              const json_t *params,
                              uint64_t index,
                              char **out,
                              shoal_error_t *error)
{
    struct taskgen_buf b = {0};
    const char *value;
    char num[32];
    size_t len, adv;
    int rc = taskgen_buf_add(&b, "", 0);

    while (rc == 0 && *s) {
        switch (taskgen_scan(s, &len, &adv)) {
        case TASKGEN_PIECE_LITERAL:
            rc = taskgen_buf_add(&b, s, len);
            break;
        case TASKGEN_PIECE_BRACE:
            rc = taskgen_buf_add(&b, s, 1);
            break;
        case TASKGEN_PIECE_INDEX:
            snprintf(num, sizeof(num), "%" PRIu64, index);
            rc = taskgen_buf_add(&b, num, strlen(num));
            break;
        case TASKGEN_PIECE_PLACEHOLDER:
            value = taskgen_lookup(params, s + 1, len);
            if (!value)
                rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                     "unknown placeholder '{%.*s}'", (int)len,
                                     s + 1);
            else
                rc = taskgen_buf_add(&b, value, strlen(value));
            break;
        }
        s += adv;
    }
    if (rc < 0) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return 0;
}

int taskgen_expand(char *const *tmpl,
                   const json_t *params,
                   uint64_t index,
                   char ***argv,
                   shoal_error_t *error)
{
    size_t n = 0;
    char **v;

    while (tmpl[n])
        n++;
    v = calloc(n + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = taskgen_expand_one(tmpl[i], params, index, &v[i], error);

        if (rc < 0) {
            taskgen_argv_free(v);
            return rc;
        }
    }
    *argv = v;
    return 0;
}

void taskgen_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}
