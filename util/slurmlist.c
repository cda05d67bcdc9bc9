/* SPDX-License-Identifier: MIT */
/* slurmlist.c - Slurm's host lists and counts (see slurmlist.h).
 *
 * A name with brackets expands recursively: the first bracket's numbers,
 * each put in place, leave a name whose remaining brackets expand the
 * same way, so "r[1-2]n[1-2]" needs no product of its own. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/slurmlist.h"

struct slurmlist_out {
    char **names;
    int count;
    int size;
};

static int slurmlist_push(struct slurmlist_out *out, const char *name)
{
    if (out->count + 1 >= out->size) {
        int size = out->size ? out->size * 2 : 16;
        char **names = realloc(out->names, sizeof(char *) * (size_t)size);

        if (!names)
            return -ENOMEM;
        out->names = names;
        out->size = size;
    }
    out->names[out->count] = strdup(name);
    if (!out->names[out->count])
        return -ENOMEM;
    out->names[++out->count] = NULL;
    return 0;
}

/* A bound of a range: decimal digits only, at most 9 (no cluster numbers
 * its nodes past that). Returns its value, or -1. */
static long slurmlist_bound(const char *s, size_t len)
{
    long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int slurmlist_expand(const char *list,
                            const char *name,
                            struct slurmlist_out *out,
                            shoal_error_t *error);

/* Expand one item of a bracket ("3", "1-5", "08-10") into name's place
 * between prefix (plen bytes) and rest. */
static int slurmlist_range(const char *list,
                           const char *name,
                           size_t plen,
                           const char *item,
                           size_t ilen,
                           const char *rest,
                           struct slurmlist_out *out,
                           shoal_error_t *error)
{
    const char *dash = memchr(item, '-', ilen);
    size_t lolen = dash ? (size_t)(dash - item) : ilen;
    long lo = slurmlist_bound(item, lolen);
    long hi = dash ? slurmlist_bound(dash + 1, ilen - lolen - 1) : lo;
    size_t size;
    char *buf;
    int rc = 0;

    if (lo < 0 || hi < 0 || hi < lo)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "bad range '%.*s' in Slurm host list '%s'",
                               (int)ilen, item, list);
    if (hi - lo >= SLURMLIST_MAX_HOSTS - out->count)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "Slurm host list '%s' names more than %d "
                               "hosts",
                               list, SLURMLIST_MAX_HOSTS);
    size = plen + 12 + strlen(rest) + 1;
    buf = malloc(size);
    if (!buf)
        return -ENOMEM;
    for (long v = lo; v <= hi && rc == 0; v++) {
        snprintf(buf, size, "%.*s%0*ld%s", (int)plen, name, (int)lolen, v,
                 rest);
        rc = slurmlist_expand(list, buf, out, error);
    }
    free(buf);
    return rc;
}

/* Expand one name of the list (no comma outside brackets) into out. */
static int slurmlist_expand(const char *list,
                            const char *name,
                            struct slurmlist_out *out,
                            shoal_error_t *error)
{
    const char *open = strchr(name, '['), *close, *item;
    int rc;

    if (!open) {
        if (strchr(name, ']'))
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "unbalanced ']' in Slurm host list '%s'",
                                   list);
        if (out->count >= SLURMLIST_MAX_HOSTS)
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "Slurm host list '%s' names more than %d "
                                   "hosts",
                                   list, SLURMLIST_MAX_HOSTS);
        return slurmlist_push(out, name);
    }
    close = strchr(open, ']');
    if (!close || memchr(open + 1, '[', (size_t)(close - open - 1)))
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "unbalanced '[' in Slurm host list '%s'", list);
    item = open + 1;
    while (item <= close) {
        size_t len = strcspn(item, ",]");

        rc = slurmlist_range(list, name, (size_t)(open - name), item, len,
                             close + 1, out, error);
        if (rc < 0)
            return rc;
        item += len + 1;
    }
    return 0;
}

int slurmlist_hosts(const char *list,
                    char ***names,
                    int *count,
                    shoal_error_t *error)
{
    struct slurmlist_out out = {0};
    const char *p = list;
    char *name = NULL;
    int rc = 0;

    if (!list || !*list)
        return shoal_errprintf(error, SHOAL_EUSAGE, "empty Slurm host list");
    while (rc == 0) {
        size_t len = 0;
        int depth = 0;

        while (p[len] && (depth > 0 || p[len] != ',')) {
            depth += p[len] == '[' ? 1 : p[len] == ']' ? -1 : 0;
            len++;
        }
        if (len == 0) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "empty name in Slurm host list '%s'", list);
            break;
        }
        name = strndup(p, len);
        if (!name) {
            rc = -ENOMEM;
            break;
        }
        rc = slurmlist_expand(list, name, &out, error);
        free(name);
        if (!p[len])
            break;
        p += len + 1;
    }
    if (rc < 0) {
        for (int i = 0; i < out.count; i++)
            free(out.names[i]);
        free(out.names);
        return rc;
    }
    *names = out.names;
    *count = out.count;
    return 0;
}

void slurmlist_free(char **names)
{
    if (!names)
        return;
    for (char **n = names; *n; n++)
        free(*n);
    free(names);
}

int slurmlist_counts(const char *spec, int n, int *counts, shoal_error_t *error)
{
    const char *p = spec;
    int filled = 0;

    if (!spec || !*spec)
        return shoal_errprintf(error, SHOAL_EUSAGE, "empty Slurm count list");
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10), r = 1;

        if (end == p || v < 1 || v > 1 << 20 || *p == '+' || *p == '-')
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "bad count in Slurm count list '%s'", spec);
        p = end;
        if (strncmp(p, "(x", 2) == 0) {
            r = strtol(p + 2, &end, 10);
            if (end == p + 2 || *end != ')' || r < 1 || p[2] == '+'
                || p[2] == '-')
                return shoal_errprintf(error, SHOAL_EUSAGE,
                                       "bad repeat in Slurm count list '%s'",
                                       spec);
            p = end + 1;
        }
        if (r > n - filled)
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "Slurm count list '%s' gives more than %d "
                                   "counts",
                                   spec, n);
        for (long i = 0; i < r; i++)
            counts[filled++] = (int)v;
        if (*p == '\0')
            break;
        if (*p != ',')
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "bad count in Slurm count list '%s'", spec);
        p++;
    }
    if (filled != n)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "Slurm count list '%s' gives %d counts for %d "
                               "nodes",
                               spec, filled, n);
    return 0;
}
