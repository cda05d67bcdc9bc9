/* SPDX-License-Identifier: MIT */
/* suite_figures.c - figures from output: the list, regex, JSON lines. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <pcre2.h>

#include "runtime/suite/suite_figures.h"

int suite_figures_add(struct suite_figure_list *list,
                      const char *name,
                      const char *point,
                      const char *unit,
                      bool higher_better,
                      double value)
{
    struct suite_figure *f;

    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct suite_figure *v = realloc(list->v, cap * sizeof(*v));

        if (!v)
            return -ENOMEM;
        list->v = v;
        list->cap = cap;
    }
    f = &list->v[list->n];
    f->name = strdup(name);
    f->point = strdup(point ? point : "");
    f->unit = strdup(unit ? unit : "");
    f->higher_better = higher_better;
    f->value = value;
    if (!f->name || !f->point || !f->unit) {
        free(f->name);
        free(f->point);
        free(f->unit);
        return -ENOMEM;
    }
    list->n++;
    return 0;
}

void suite_figures_release(struct suite_figure_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->v[i].name);
        free(list->v[i].point);
        free(list->v[i].unit);
    }
    free(list->v);
    memset(list, 0, sizeof(*list));
}

static bool read_number(const char *s, size_t len, double *out)
{
    char buf[64], *end;

    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, &end);
    return end != buf && *end == '\0' && isfinite(*out);
}

static pcre2_code *compile(const char *pattern, char *why, size_t size)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_MULTILINE, &code, &offset, NULL);
    uint32_t names = 0;

    if (!re) {
        char msg[200];

        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
        snprintf(why, size, "%s at offset %zu", msg, (size_t)offset);
        return NULL;
    }
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &names);
    if (names == 0) {
        snprintf(why, size, "no named group such as (?<time>[0-9.]+)");
        pcre2_code_free(re);
        return NULL;
    }
    return re;
}

int suite_figures_check_regex(const char *pattern, char *why, size_t size)
{
    pcre2_code *re = compile(pattern, why, size);

    if (!re)
        return -EINVAL;
    pcre2_code_free(re);
    return 0;
}

static int parse_regex(const char *pattern,
                       const char *text,
                       size_t len,
                       struct suite_figure_list *list,
                       shoal_error_t *error)
{
    char why[256];
    pcre2_code *re = compile(pattern, why, sizeof(why));
    pcre2_match_data *md;
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    PCRE2_SIZE start = 0;
    int rc = 0;

    if (!re)
        return shoal_errprintf(error, -EINVAL, "bad regex '%s': %s", pattern,
                               why);
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        pcre2_code_free(re);
        return -ENOMEM;
    }
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
    while (start <= len && rc == 0) {
        int m = pcre2_match(re, (PCRE2_SPTR)text, len, start, 0, md, NULL);
        PCRE2_SIZE *ov;

        if (m < 0)
            break;
        ov = pcre2_get_ovector_pointer(md);
        for (uint32_t i = 0; i < count && rc == 0; i++) {
            PCRE2_SPTR e = table + i * entry;
            int group = (e[0] << 8) | e[1];
            double v;

            if (group >= m || ov[2 * group] == PCRE2_UNSET)
                continue;
            if (read_number(text + ov[2 * group],
                            ov[2 * group + 1] - ov[2 * group], &v))
                rc = suite_figures_add(list, (const char *)e + 2, "", NULL,
                                       false, v);
        }
        /* an empty match moves on by one, or the loop would not end */
        start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

static int
parse_json_lines(const char *text, size_t len, struct suite_figure_list *list)
{
    const char *end = text + len;
    int rc = 0;

    for (const char *line = text; line < end && rc == 0;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        const char *s = line;

        while (s < line + n && (*s == ' ' || *s == '\t'))
            s++;
        if (s < line + n && *s == '{') {
            json_t *o = json_loadb(s, (size_t)(line + n - s), 0, NULL);
            const char *key;
            json_t *v;

            if (json_is_object(o)) {
                json_object_foreach (o, key, v) {
                    if (json_is_number(v) && rc == 0)
                        rc = suite_figures_add(list, key, "", NULL, false,
                                               json_number_value(v));
                }
            }
            json_decref(o);
        }
        line += n + 1;
    }
    return rc;
}

int suite_figures_parse(const struct suite_bench *bench,
                        const char *text,
                        size_t len,
                        struct suite_figure_list *list,
                        shoal_error_t *error)
{
    int rc = 0;

    switch (bench->parser) {
    case SUITE_PARSER_NONE:
        return 0;
    case SUITE_PARSER_REGEX:
        rc = parse_regex(bench->regex, text, len, list, error);
        break;
    case SUITE_PARSER_JSON:
        rc = parse_json_lines(text, len, list);
        break;
    case SUITE_PARSER_OSU:
        rc = suite_figures_osu(text, len, list);
        break;
    case SUITE_PARSER_IMB:
        rc = suite_figures_imb(text, len, list);
        break;
    case SUITE_PARSER_NPB:
        rc = suite_figures_npb(text, len, list);
        break;
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < list->n; i++) {
        const struct suite_figure_spec *spec =
            suite_bench_figure(bench, list->v[i].name);

        if (!spec)
            continue;
        if (spec->better_given)
            list->v[i].higher_better = spec->higher_better;
        if (*spec->unit) {
            char *u = strdup(spec->unit);

            if (!u)
                return -ENOMEM;
            free(list->v[i].unit);
            list->v[i].unit = u;
        }
    }
    return 0;
}
