/* SPDX-License-Identifier: MIT */
/* suite_parse.c - suite files through libyaml's document API.
 *
 * Why the document API and not the event stream: every check needs the
 * line of the node it refuses, and the loaded document keeps a mark on
 * each node, so the walk below reads as the schema it checks. Suite files
 * are small (a few kB); holding the whole tree costs nothing. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <yaml.h>

#include "runtime/suite/suite_figures.h"
#include "runtime/suite/suite_matrix.h"
#include "runtime/suite/suite_parse.h"

/* What the walk needs at hand to name a place in an error. */
struct suite_walk {
    yaml_document_t *doc;
    const char *path;
    const char *bench; /* name of the benchmark being read, or NULL */
    shoal_error_t *error;
};

static int line_of(const yaml_node_t *node)
{
    return (int)node->start_mark.line + 1;
}

static int
walk_fail(struct suite_walk *w, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
walk_fail(struct suite_walk *w, const yaml_node_t *node, const char *fmt, ...)
{
    char text[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (w->bench)
        return shoal_errprintf(w->error, -EINVAL, "%s:%d: %s in benchmark '%s'",
                               w->path, line_of(node), text, w->bench);
    return shoal_errprintf(w->error, -EINVAL, "%s:%d: %s", w->path,
                           line_of(node), text);
}

static const char *scalar(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE
               ? (const char *)node->data.scalar.value
               : NULL;
}

static int want_scalar(struct suite_walk *w,
                       const yaml_node_t *node,
                       const char *key,
                       const char **out)
{
    *out = scalar(node);
    if (!*out)
        return walk_fail(w, node, "key '%s': a single value is needed", key);
    return 0;
}

static int want_uint(struct suite_walk *w,
                     const yaml_node_t *node,
                     const char *key,
                     unsigned min,
                     unsigned *out)
{
    const char *s;
    char *end;
    unsigned long v;

    if (want_scalar(w, node, key, &s) < 0)
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || v > 1000000 || v < min)
        return walk_fail(w, node, "key '%s': '%s' is not a whole number >= %u",
                         key, s, min);
    *out = (unsigned)v;
    return 0;
}

static int want_bool(struct suite_walk *w,
                     const yaml_node_t *node,
                     const char *key,
                     bool *out)
{
    const char *s;

    if (want_scalar(w, node, key, &s) < 0)
        return -EINVAL;
    if (!strcmp(s, "true") || !strcmp(s, "yes"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no"))
        *out = false;
    else
        return walk_fail(w, node, "key '%s': '%s' is not true or false", key,
                         s);
    return 0;
}

static int want_strdup(struct suite_walk *w,
                       const yaml_node_t *node,
                       const char *key,
                       char **out)
{
    const char *s;

    if (want_scalar(w, node, key, &s) < 0)
        return -EINVAL;
    free(*out);
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

/* Check that map is a mapping without a key twice; "what" names it. */
static int
want_map(struct suite_walk *w, const yaml_node_t *map, const char *what)
{
    if (map->type != YAML_MAPPING_NODE)
        return walk_fail(w, map, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);

        if (!scalar(k))
            return walk_fail(w, k, "%s: a key must be a plain value", what);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *prev = scalar(yaml_document_get_node(w->doc, q->key));

            if (prev && !strcmp(prev, scalar(k)))
                return walk_fail(w, k, "key '%s' given twice", scalar(k));
        }
    }
    return 0;
}

static int dup_words(struct suite_walk *w,
                     const yaml_node_t *seq,
                     const char *key,
                     char ***out)
{
    size_t n =
        (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    char **v;

    if (n == 0)
        return walk_fail(w, seq, "key '%s': the list is empty", key);
    v = calloc(n + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item =
            yaml_document_get_node(w->doc, seq->data.sequence.items.start[i]);
        const char *s = scalar(item);

        if (!s) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return walk_fail(w, item, "key '%s': each item must be a value",
                             key);
        }
        v[i] = strdup(s);
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) {
            for (size_t j = 0; j < n; j++)
                free(v[j]);
            free(v);
            return -ENOMEM;
        }
    }
    *out = v;
    return 0;
}

static int read_command(struct suite_walk *w,
                        const yaml_node_t *node,
                        struct suite_bench *b)
{
    if (node->type == YAML_SEQUENCE_NODE)
        return dup_words(w, node, "command", &b->command);
    if (node->type == YAML_SCALAR_NODE) {
        const char *s = scalar(node);

        if (!*s)
            return walk_fail(w, node, "key 'command': the command is empty");
        b->command = calloc(4, sizeof(char *));
        if (!b->command)
            return -ENOMEM;
        b->command[0] = strdup("/bin/sh");
        b->command[1] = strdup("-c");
        b->command[2] = strdup(s);
        if (!b->command[0] || !b->command[1] || !b->command[2])
            return -ENOMEM;
        return 0;
    }
    return walk_fail(w, node, "key 'command': a list of words or a string");
}

static int read_matrix(struct suite_walk *w,
                       const yaml_node_t *node,
                       struct suite_bench *b)
{
    size_t n;
    int rc = want_map(w, node, "key 'matrix'");

    if (rc < 0)
        return rc;
    n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    b->params = calloc(n ? n : 1, sizeof(*b->params));
    if (!b->params)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        struct suite_param *param = &b->params[i];
        const char *name = scalar(k);

        for (const char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                return walk_fail(w, k,
                                 "key 'matrix': parameter name '%s' may hold "
                                 "only letters, digits, '_' and '-'",
                                 name);
        if (v->type != YAML_SEQUENCE_NODE)
            return walk_fail(w, v,
                             "key 'matrix': parameter '%s' needs a list of "
                             "values",
                             name);
        param->name = strdup(name);
        if (!param->name)
            return -ENOMEM;
        b->nparams++;
        rc = dup_words(w, v, "matrix", &param->values);
        if (rc < 0)
            return rc;
        while (param->values[param->nvalues])
            param->nvalues++;
        for (size_t a = 0; a < param->nvalues; a++)
            for (size_t c = 0; c < a; c++)
                if (!strcmp(param->values[a], param->values[c]))
                    return walk_fail(w, v,
                                     "key 'matrix': parameter '%s' lists "
                                     "'%s' twice",
                                     name, param->values[a]);
    }
    return 0;
}

static int read_exclude(struct suite_walk *w,
                        const yaml_node_t *node,
                        struct suite_bench *b)
{
    size_t n;

    if (node->type != YAML_SEQUENCE_NODE)
        return walk_fail(w, node, "key 'exclude': a list of mappings");
    n = (size_t)(node->data.sequence.items.top
                 - node->data.sequence.items.start);
    b->excludes = calloc(n ? n : 1, sizeof(*b->excludes));
    if (!b->excludes)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *m =
            yaml_document_get_node(w->doc, node->data.sequence.items.start[i]);
        struct suite_exclude *ex = &b->excludes[i];
        size_t np;
        int rc = want_map(w, m, "key 'exclude'");

        if (rc < 0)
            return rc;
        np = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (np == 0)
            return walk_fail(w, m, "key 'exclude': an entry is empty");
        ex->param = calloc(np, sizeof(size_t));
        ex->value = calloc(np, sizeof(size_t));
        if (!ex->param || !ex->value)
            return -ENOMEM;
        b->nexcludes++;
        for (size_t j = 0; j < np; j++) {
            yaml_node_pair_t *p = &m->data.mapping.pairs.start[j];
            yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
            size_t pi, vi;

            for (pi = 0; pi < b->nparams; pi++)
                if (!strcmp(b->params[pi].name, scalar(k)))
                    break;
            if (pi == b->nparams)
                return walk_fail(w, k,
                                 "key 'exclude': '%s' is not a parameter of "
                                 "the matrix",
                                 scalar(k));
            if (!scalar(v))
                return walk_fail(w, v, "key 'exclude': '%s' needs one value",
                                 scalar(k));
            for (vi = 0; vi < b->params[pi].nvalues; vi++)
                if (!strcmp(b->params[pi].values[vi], scalar(v)))
                    break;
            if (vi == b->params[pi].nvalues)
                return walk_fail(w, v,
                                 "key 'exclude': '%s' is not a value of "
                                 "parameter '%s'",
                                 scalar(v), scalar(k));
            ex->param[j] = pi;
            ex->value[j] = vi;
            ex->n++;
        }
    }
    return 0;
}

static int
read_env(struct suite_walk *w, const yaml_node_t *node, struct suite_bench *b)
{
    size_t n;
    int rc = want_map(w, node, "key 'env'");

    if (rc < 0)
        return rc;
    n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    b->env = calloc(n + 1, sizeof(char *));
    if (!b->env)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        const char *k = scalar(yaml_document_get_node(w->doc, p->key));
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);

        if (!*k || strchr(k, '='))
            return walk_fail(w, v, "key 'env': '%s' is not a variable name", k);
        if (!scalar(v))
            return walk_fail(w, v, "key 'env': '%s' needs one value", k);
        if (asprintf(&b->env[i], "%s=%s", k, scalar(v)) < 0) {
            b->env[i] = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

static int
read_mpi(struct suite_walk *w, const yaml_node_t *node, struct suite_bench *b)
{
    int rc = want_map(w, node, "key 'mpi'");
    const yaml_node_t *nodes = NULL;

    if (rc < 0)
        return rc;
    b->mpi = true;
    b->ranks = 1;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn);

        if (!strcmp(k, "ranks") && scalar(v) && strchr(scalar(v), '{'))
            rc = want_strdup(w, v, "mpi: ranks", &b->ranks_tmpl);
        else if (!strcmp(k, "ranks"))
            rc = want_uint(w, v, "mpi: ranks", 1, &b->ranks);
        else if (!strcmp(k, "nodes") && scalar(v) && strchr(scalar(v), '{'))
            rc = want_strdup(w, v, "mpi: nodes", &b->nodes_tmpl), nodes = v;
        else if (!strcmp(k, "nodes"))
            rc = want_uint(w, v, "mpi: nodes", 1, &b->nodes), nodes = v;
        else if (!strcmp(k, "map-by"))
            rc = want_strdup(w, v, "mpi: map-by", &b->map_by);
        else if (!strcmp(k, "bind-to"))
            rc = want_strdup(w, v, "mpi: bind-to", &b->bind_to);
        else if (!strcmp(k, "oversubscribe"))
            rc = want_bool(w, v, "mpi: oversubscribe", &b->oversubscribe);
        else if (!strcmp(k, "exclusive"))
            rc = want_bool(w, v, "mpi: exclusive", &b->exclusive);
        else
            rc = walk_fail(w, kn,
                           "unknown key 'mpi: %s' (ranks, nodes, map-by, "
                           "bind-to, oversubscribe, exclusive)",
                           k);
        if (rc < 0)
            return rc;
    }
    if (nodes && b->map_by)
        return walk_fail(w, nodes,
                         "key 'mpi: nodes': give nodes or map-by, not both");
    if (nodes && !b->nodes_tmpl && !b->ranks_tmpl && b->ranks % b->nodes)
        return walk_fail(w, nodes,
                         "key 'mpi: nodes': %u ranks do not fill %u nodes "
                         "alike",
                         b->ranks, b->nodes);
    return 0;
}

static int read_precision(struct suite_walk *w,
                          const yaml_node_t *node,
                          struct suite_bench *b)
{
    const yaml_node_t *ci = NULL;
    int rc = want_map(w, node, "key 'precision'");

    if (rc < 0)
        return rc;
    b->precision_max = 50;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn), *s;
        char *end;
        double x;

        if (!strcmp(k, "ci")) {
            ci = v;
            rc = want_scalar(w, v, "precision: ci", &s);
            if (rc < 0)
                return rc;
            x = strtod(s, &end);
            if (end == s || strcmp(end, "%") != 0 || !isfinite(x) || x <= 0
                || x >= 100)
                return walk_fail(w, v,
                                 "key 'precision: ci': '%s' is not a "
                                 "percentage between 0 and 100 (as 5%%)",
                                 s);
            b->precision = x / 100;
        } else if (!strcmp(k, "max")) {
            rc = want_uint(w, v, "precision: max", 6, &b->precision_max);
        } else if (!strcmp(k, "figure")) {
            rc = want_strdup(w, v, "precision: figure", &b->precision_figure);
        } else {
            rc = walk_fail(w, kn,
                           "unknown key 'precision: %s' (ci, max, figure)", k);
        }
        if (rc < 0)
            return rc;
    }
    if (!ci)
        return walk_fail(w, node, "key 'precision' needs 'ci' (as 5%%)");
    if (!b->precision_figure && !(b->precision_figure = strdup("wall")))
        return -ENOMEM;
    return 0;
}

/* A number >= 0 (and <= max when max > 0). */
static int want_number(struct suite_walk *w,
                       const yaml_node_t *node,
                       const char *key,
                       double max,
                       double *out)
{
    const char *s;
    char *end;
    double x;

    if (want_scalar(w, node, key, &s) < 0)
        return -EINVAL;
    x = strtod(s, &end);
    if (end == s || *end || !isfinite(x) || x < 0 || (max > 0 && x > max))
        return walk_fail(w, node, "key '%s': '%s' is not a number >= 0", key,
                         s);
    *out = x;
    return 0;
}

static int
read_noise(struct suite_walk *w, const yaml_node_t *node, struct suite_bench *b)
{
    int rc = want_map(w, node, "key 'noise'");

    if (rc < 0)
        return rc;
    b->noise = true;
    b->noise_max_load = 0.5;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn);

        if (!strcmp(k, "max-load"))
            rc = want_number(w, v, "noise: max-load", 0, &b->noise_max_load);
        else if (!strcmp(k, "wait"))
            rc = want_number(w, v, "noise: wait", 86400, &b->noise_wait);
        else
            rc =
                walk_fail(w, kn, "unknown key 'noise: %s' (max-load, wait)", k);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
read_parse(struct suite_walk *w, const yaml_node_t *node, struct suite_bench *b)
{
    static const struct {
        const char *name;
        enum suite_parser parser;
    } named[] = {{"json", SUITE_PARSER_JSON},
                 {"osu", SUITE_PARSER_OSU},
                 {"imb", SUITE_PARSER_IMB},
                 {"npb", SUITE_PARSER_NPB}};
    const char *s = scalar(node);

    if (s) {
        for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
            if (!strcmp(s, named[i].name)) {
                b->parser = named[i].parser;
                return 0;
            }
        }
        return walk_fail(w, node,
                         "key 'parse': '%s' is not json, osu, imb, npb or "
                         "{regex: PATTERN}",
                         s);
    }
    if (want_map(w, node, "key 'parse'") < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);

        if (strcmp(scalar(kn), "regex") != 0)
            return walk_fail(w, kn, "unknown key 'parse: %s' (regex)",
                             scalar(kn));
        char why[256];

        if (want_strdup(w, v, "parse: regex", &b->regex) < 0)
            return -EINVAL;
        if (suite_figures_check_regex(b->regex, why, sizeof(why)) < 0)
            return walk_fail(w, v, "key 'parse: regex': %s", why);
        b->parser = SUITE_PARSER_REGEX;
    }
    if (b->parser != SUITE_PARSER_REGEX)
        return walk_fail(w, node, "key 'parse': the mapping needs 'regex'");
    return 0;
}

static int read_figures(struct suite_walk *w,
                        const yaml_node_t *node,
                        struct suite_bench *b)
{
    size_t n;
    int rc = want_map(w, node, "key 'figures'");

    if (rc < 0)
        return rc;
    n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    b->figures = calloc(n ? n : 1, sizeof(*b->figures));
    if (!b->figures)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        const char *name = scalar(yaml_document_get_node(w->doc, p->key));
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        struct suite_figure_spec *f = &b->figures[i];

        f->name = strdup(name);
        f->unit = strdup("");
        if (!f->name || !f->unit)
            return -ENOMEM;
        b->nfigures++;
        if (want_map(w, v, "a figure") < 0)
            return -EINVAL;
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
             q < v->data.mapping.pairs.top; q++) {
            yaml_node_t *kn = yaml_document_get_node(w->doc, q->key);
            yaml_node_t *vn = yaml_document_get_node(w->doc, q->value);
            const char *k = scalar(kn), *s;

            if (!strcmp(k, "unit")) {
                rc = want_strdup(w, vn, "figures: unit", &f->unit);
            } else if (!strcmp(k, "better")) {
                f->better_given = true;
                rc = want_scalar(w, vn, "figures: better", &s);
                if (rc == 0 && !strcmp(s, "higher"))
                    f->higher_better = true;
                else if (rc == 0 && strcmp(s, "lower") != 0)
                    rc = walk_fail(w, vn,
                                   "key 'figures: better': '%s' is not lower "
                                   "or higher",
                                   s);
            } else {
                rc = walk_fail(w, kn,
                               "unknown key 'figures: %s' (unit, better)", k);
            }
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Check that every "{word}" of s names a parameter of b. */
static int check_placeholders(struct suite_walk *w,
                              const yaml_node_t *node,
                              const struct suite_bench *b,
                              const char *s)
{
    for (const char *open = strchr(s, '{'); open;
         open = strchr(open + 1, '{')) {
        size_t len = strspn(open + 1, "abcdefghijklmnopqrstuvwxyz"
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        bool found = false;

        if (len == 0 || open[1 + len] != '}' || (open > s && open[-1] == '$'))
            continue;
        for (size_t i = 0; i < b->nparams && !found; i++)
            found = strlen(b->params[i].name) == len
                    && !strncmp(b->params[i].name, open + 1, len);
        for (size_t i = 0; i < b->nvars && !found; i++)
            found = strlen(b->vars[i].name) == len
                    && !strncmp(b->vars[i].name, open + 1, len);
        if (!found)
            return walk_fail(w, node,
                             "'{%.*s}' names no parameter of the matrix "
                             "nor variable",
                             (int)len, open + 1);
    }
    return 0;
}

static int
read_bench(struct suite_walk *w, const yaml_node_t *node, struct suite_bench *b)
{
    const yaml_node_t *command = NULL, *env = NULL, *precision = NULL;
    int rc = 0;

    if (node->type != YAML_MAPPING_NODE)
        return walk_fail(w, node, "a benchmark must be a mapping");
    b->line = line_of(node);
    b->repeat = 5;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(w->doc, p->key));
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);

        if (!strcmp(k, "name")) {
            rc = want_strdup(w, v, "name", &b->name);
            if (rc == 0 && !*b->name)
                rc = walk_fail(w, v, "key 'name': the name is empty");
            if (rc == 0)
                w->bench = b->name;
        }
    }
    if (!b->name)
        return walk_fail(w, node, "a benchmark needs key 'name'");
    if ((rc = want_map(w, node, "a benchmark")) < 0)
        return rc;
    /* the matrix first: excludes and placeholders refer to it */
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(w->doc, p->key));

        if (!strcmp(k, "matrix")) {
            rc = read_matrix(w, yaml_document_get_node(w->doc, p->value), b);
            if (rc < 0)
                return rc;
        }
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn);
        double t;
        char *end;

        rc = 0;
        if (!strcmp(k, "name") || !strcmp(k, "matrix")) {
            continue;
        } else if (!strcmp(k, "command")) {
            command = v;
            b->command_line = line_of(v);
            rc = read_command(w, v, b);
        } else if (!strcmp(k, "exclude")) {
            rc = read_exclude(w, v, b);
        } else if (!strcmp(k, "env")) {
            env = v;
            rc = read_env(w, v, b);
        } else if (!strcmp(k, "warmup")) {
            rc = want_uint(w, v, "warmup", 0, &b->warmup);
        } else if (!strcmp(k, "repeat")) {
            rc = want_uint(w, v, "repeat", 1, &b->repeat);
            b->repeat_given = true;
        } else if (!strcmp(k, "optional")) {
            rc = want_bool(w, v, "optional", &b->optional);
        } else if (!strcmp(k, "local")) {
            rc = want_bool(w, v, "local", &b->local);
        } else if (!strcmp(k, "noise")) {
            rc = read_noise(w, v, b);
        } else if (!strcmp(k, "precision")) {
            precision = v;
            rc = read_precision(w, v, b);
        } else if (!strcmp(k, "timeout")) {
            const char *s;

            rc = want_scalar(w, v, "timeout", &s);
            if (rc == 0) {
                t = strtod(s, &end);
                if (end == s || *end || !isfinite(t) || t <= 0)
                    rc = walk_fail(w, v,
                                   "key 'timeout': '%s' is not a positive "
                                   "number of seconds",
                                   s);
                b->timeout = t;
            }
        } else if (!strcmp(k, "mpi")) {
            rc = read_mpi(w, v, b);
        } else if (!strcmp(k, "parse")) {
            rc = read_parse(w, v, b);
        } else if (!strcmp(k, "figures")) {
            rc = read_figures(w, v, b);
        } else if (!strcmp(k, "papi")) {
            rc = v->type == YAML_SEQUENCE_NODE
                     ? dup_words(w, v, "papi", &b->papi)
                     : walk_fail(w, v, "key 'papi': a list of event names");
        } else {
            rc = walk_fail(w, kn, "unknown key '%s'", k);
        }
        if (rc < 0)
            return rc;
    }
    if (!command)
        return walk_fail(w, node, "key 'command' is missing");
    if (precision && b->repeat_given && b->repeat > b->precision_max)
        return walk_fail(w, precision,
                         "key 'precision: max': %u is below 'repeat' (%u), "
                         "the least number of repetitions",
                         b->precision_max, b->repeat);
    for (char **c = b->command; *c; c++)
        if ((rc = check_placeholders(w, command, b, *c)) < 0)
            return rc;
    for (char **e = b->env; e && *e; e++)
        if ((rc = check_placeholders(w, env, b, *e)) < 0)
            return rc;
    if (b->ranks_tmpl
        && (rc = check_placeholders(w, node, b, b->ranks_tmpl)) < 0)
        return rc;
    if (b->nodes_tmpl
        && (rc = check_placeholders(w, node, b, b->nodes_tmpl)) < 0)
        return rc;
    if (b->nparams > 0) {
        size_t ncases = 0;
        struct suite_case *cases = NULL;

        rc = suite_matrix_expand(b, &cases, &ncases);
        free(cases);
        if (rc < 0)
            return rc;
        if (ncases == 0)
            return walk_fail(w, node,
                             "key 'exclude': every combination of the matrix "
                             "is excluded");
    }
    return 0;
}

static int add_var(struct suite *suite, const char *name, const char *value)
{
    struct suite_var *v = realloc(suite->vars, (suite->nvars + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    suite->vars = v;
    v = &suite->vars[suite->nvars];
    v->name = strdup(name);
    v->value = strdup(value);
    if (!v->name || !v->value) {
        free(v->name);
        free(v->value);
        return -ENOMEM;
    }
    suite->nvars++;
    return 0;
}

static int
read_vars(struct suite_walk *w, const yaml_node_t *node, struct suite *suite)
{
    int rc = want_map(w, node, "key 'vars'");

    if (rc < 0)
        return rc;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn);

        if (!*k
            || strspn(k, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
                   != strlen(k))
            return walk_fail(w, kn, "key 'vars': '%s' is not a variable name",
                             k);
        if (!strcmp(k, "shoal"))
            return walk_fail(w, kn,
                             "key 'vars': 'shoal' is the shoal program, "
                             "not a variable of the file");
        if (!scalar(v))
            return walk_fail(w, v, "key 'vars': '%s' needs one value", k);
        if ((rc = add_var(suite, k, scalar(v))) < 0)
            return rc;
    }
    return 0;
}

static int
read_suite(struct suite_walk *w, yaml_node_t *root, struct suite *suite)
{
    yaml_node_t *benches = NULL;
    size_t n;
    int rc;

    if (!root)
        return shoal_errprintf(w->error, -EINVAL, "%s:1: the file is empty",
                               w->path);
    if ((rc = want_map(w, root, "the file")) < 0)
        return rc;
    if ((rc = add_var(suite, "shoal", "shoal")) < 0)
        return rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        const char *k = scalar(kn);
        const char *s;

        if (!strcmp(k, "benchmarks")) {
            benches = v;
        } else if (!strcmp(k, "vars")) {
            if ((rc = read_vars(w, v, suite)) < 0)
                return rc;
        } else if (!strcmp(k, "name")) {
            if ((rc = want_strdup(w, v, "name", &suite->name)) < 0)
                return rc;
        } else if (!strcmp(k, "description")) {
            if ((rc = want_scalar(w, v, "description", &s)) < 0)
                return rc;
        } else {
            return walk_fail(w, kn,
                             "unknown key '%s' (benchmarks, vars, name, "
                             "description)",
                             k);
        }
    }
    if (!benches)
        return walk_fail(w, root, "key 'benchmarks' is missing");
    if (benches->type != YAML_SEQUENCE_NODE)
        return walk_fail(w, benches, "key 'benchmarks': a list of benchmarks");
    n = (size_t)(benches->data.sequence.items.top
                 - benches->data.sequence.items.start);
    if (n == 0)
        return walk_fail(w, benches, "key 'benchmarks': the list is empty");
    suite->benches = calloc(n, sizeof(*suite->benches));
    if (!suite->benches)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *bn = yaml_document_get_node(
            w->doc, benches->data.sequence.items.start[i]);

        w->bench = NULL;
        suite->nbenches++;
        suite->benches[i].vars = suite->vars;
        suite->benches[i].nvars = suite->nvars;
        if ((rc = read_bench(w, bn, &suite->benches[i])) < 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(suite->benches[j].name, suite->benches[i].name))
                return walk_fail(w, bn, "key 'name': the name is used twice");
    }
    w->bench = NULL;
    return 0;
}

int suite_parse_text(const char *path,
                     const char *text,
                     size_t len,
                     struct suite **out,
                     shoal_error_t *error)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct suite *suite;
    struct suite_walk w = {.doc = &doc, .path = path, .error = error};
    unsigned char digest[32];
    int rc;

    *out = NULL;
    suite = calloc(1, sizeof(*suite));
    if (!suite)
        return -ENOMEM;
    suite->path = strdup(path);
    suite->text = strndup(text, len);
    if (!suite->path || !suite->text) {
        suite_free(suite);
        return -ENOMEM;
    }
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)text, len,
                       NULL, 0);
    sodium_bin2hex(suite->hash, sizeof(suite->hash), digest, sizeof(digest));
    if (!yaml_parser_initialize(&parser)) {
        suite_free(suite);
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = shoal_errprintf(error, -EINVAL, "%s:%zu: %s%s%s", path,
                             parser.problem_mark.line + 1,
                             parser.problem ? parser.problem : "syntax error",
                             parser.context ? " " : "",
                             parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        suite_free(suite);
        return rc;
    }
    rc = read_suite(&w, yaml_document_get_root_node(&doc), suite);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        if (rc == -ENOMEM)
            shoal_errprintf(error, rc, "%s: out of memory", path);
        suite_free(suite);
        return rc;
    }
    *out = suite;
    return 0;
}

int suite_parse_file(const char *path, struct suite **out, shoal_error_t *error)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc;

    *out = NULL;
    if (!f)
        return shoal_errprintf(error, -errno, "cannot read '%s': %s", path,
                               strerror(errno));
    for (;;) {
        size_t got;

        if (cap - len < 4096) {
            char *t = realloc(text, cap + 65536);

            if (!t) {
                free(text);
                fclose(f);
                return -ENOMEM;
            }
            text = t;
            cap += 65536;
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = shoal_errprintf(error, -EIO, "cannot read '%s': %s", path,
                             strerror(EIO));
        free(text);
        fclose(f);
        return rc;
    }
    fclose(f);
    rc = suite_parse_text(path, text, len, out, error);
    free(text);
    return rc;
}

static void free_words(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

void suite_free(struct suite *suite)
{
    if (!suite)
        return;
    for (size_t i = 0; i < suite->nbenches; i++) {
        struct suite_bench *b = &suite->benches[i];

        free(b->name);
        free_words(b->command);
        free_words(b->env);
        for (size_t j = 0; j < b->nparams; j++) {
            free(b->params[j].name);
            free_words(b->params[j].values);
        }
        free(b->params);
        for (size_t j = 0; j < b->nexcludes; j++) {
            free(b->excludes[j].param);
            free(b->excludes[j].value);
        }
        free(b->excludes);
        free(b->map_by);
        free(b->ranks_tmpl);
        free(b->nodes_tmpl);
        free(b->bind_to);
        free(b->regex);
        free(b->precision_figure);
        for (size_t j = 0; j < b->nfigures; j++) {
            free(b->figures[j].name);
            free(b->figures[j].unit);
        }
        free(b->figures);
        free_words(b->papi);
    }
    free(suite->benches);
    for (size_t i = 0; i < suite->nvars; i++) {
        free(suite->vars[i].name);
        free(suite->vars[i].value);
    }
    free(suite->vars);
    free(suite->name);
    free(suite->path);
    free(suite->text);
    free(suite);
}

int suite_set_var(struct suite *suite,
                  const char *name,
                  const char *value,
                  shoal_error_t *error)
{
    for (size_t i = 0; i < suite->nvars; i++) {
        if (!strcmp(suite->vars[i].name, name)) {
            char *v = strdup(value);

            if (!v)
                return -ENOMEM;
            free(suite->vars[i].value);
            suite->vars[i].value = v;
            return 0;
        }
    }
    return shoal_errprintf(error, -ENOENT, "no variable '%s' in '%s'", name,
                           suite->path);
}

const struct suite_figure_spec *
suite_bench_figure(const struct suite_bench *bench, const char *name)
{
    for (size_t i = 0; i < bench->nfigures; i++)
        if (!strcmp(bench->figures[i].name, name))
            return &bench->figures[i];
    return NULL;
}

const char *suite_parser_name(enum suite_parser parser)
{
    switch (parser) {
    case SUITE_PARSER_REGEX:
        return "regex";
    case SUITE_PARSER_JSON:
        return "json";
    case SUITE_PARSER_OSU:
        return "osu";
    case SUITE_PARSER_IMB:
        return "imb";
    case SUITE_PARSER_NPB:
        return "npb";
    default:
        return "none";
    }
}
