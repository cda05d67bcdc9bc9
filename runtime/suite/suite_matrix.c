/* SPDX-License-Identifier: MIT */
/* suite_matrix.c - cartesian expansion with excludes, and substitution. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "runtime/suite/suite_matrix.h"

static bool excluded(const struct suite_bench *bench,
                     const struct suite_case *c)
{
    for (size_t i = 0; i < bench->nexcludes; i++) {
        const struct suite_exclude *ex = &bench->excludes[i];
        bool all = true;

        for (size_t j = 0; j < ex->n && all; j++)
            all = c->value[ex->param[j]] == ex->value[j];
        if (all)
            return true;
    }
    return false;
}

int suite_matrix_expand(const struct suite_bench *bench,
                        struct suite_case **cases,
                        size_t *ncases)
{
    size_t total = 1, n = 0;
    struct suite_case *out, cur = {{0}};

    *cases = NULL;
    *ncases = 0;
    if (bench->nparams > SUITE_MATRIX_MAX_PARAMS)
        return -E2BIG;
    for (size_t i = 0; i < bench->nparams; i++) {
        total *= bench->params[i].nvalues;
        if (total > 1000000)
            return -E2BIG;
    }
    out = calloc(total ? total : 1, sizeof(*out));
    if (!out)
        return -ENOMEM;
    /* count like an odometer whose last wheel turns fastest */
    for (size_t k = 0; k < total; k++) {
        size_t rest = k;

        for (size_t i = bench->nparams; i-- > 0;) {
            cur.value[i] = rest % bench->params[i].nvalues;
            rest /= bench->params[i].nvalues;
        }
        if (!excluded(bench, &cur))
            out[n++] = cur;
    }
    *cases = out;
    *ncases = n;
    return 0;
}

char *suite_matrix_subst(const struct suite_bench *bench,
                         const struct suite_case *c,
                         const char *tmpl)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    char *out = malloc(cap);

    if (!out)
        return NULL;
    for (const char *s = tmpl; *s;) {
        const char *value = NULL;
        size_t skip = 1;

        if (*s == '{' && !(s > tmpl && s[-1] == '$')) {
            for (size_t i = 0; i < bench->nparams; i++) {
                size_t nl = strlen(bench->params[i].name);

                if (!strncmp(s + 1, bench->params[i].name, nl)
                    && s[1 + nl] == '}') {
                    value = bench->params[i].values[c->value[i]];
                    skip = nl + 2;
                    break;
                }
            }
            for (size_t i = 0; i < bench->nvars && !value; i++) {
                size_t nl = strlen(bench->vars[i].name);

                if (!strncmp(s + 1, bench->vars[i].name, nl)
                    && s[1 + nl] == '}') {
                    value = bench->vars[i].value;
                    skip = nl + 2;
                }
            }
        }
        size_t add = value ? strlen(value) : 1;

        if (len + add + 1 > cap) {
            char *t;

            cap = (len + add + 1) * 2;
            t = realloc(out, cap);
            if (!t) {
                free(out);
                return NULL;
            }
            out = t;
        }
        memcpy(out + len, value ? value : s, add);
        len += add;
        s += skip;
    }
    out[len] = '\0';
    return out;
}

char *suite_matrix_params_json(const struct suite_bench *bench,
                               const struct suite_case *c)
{
    json_t *o = json_object();
    char *text;

    if (!o)
        return NULL;
    for (size_t i = 0; i < bench->nparams; i++)
        json_object_set_new(o, bench->params[i].name,
                            json_string(bench->params[i].values[c->value[i]]));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
