/* SPDX-License-Identifier: MIT */
/* owner_window.c - parse lending windows and tell whether a local time is
 * inside one. */
#include "runtime/owner/owner_window.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const window_days[7][2] = {
    {"mon", "monday"},   {"tue", "tuesday"}, {"wed", "wednesday"},
    {"thu", "thursday"}, {"fri", "friday"},  {"sat", "saturday"},
    {"sun", "sunday"},
};

/* The day named by text[0..len): 0 (Monday) to 6, or -1. */
static int window_day(const char *text, size_t len)
{
    for (int d = 0; d < 7; d++)
        for (int form = 0; form < 2; form++)
            if (strlen(window_days[d][form]) == len
                && strncasecmp(text, window_days[d][form], len) == 0)
                return d;
    return -1;
}

/* "HH:MM" at text[0..len) into minutes; 24:00 only when end. */
static int window_time(const char *text, size_t len, bool end)
{
    int h, m;

    if (len != 5 || !isdigit((unsigned char)text[0])
        || !isdigit((unsigned char)text[1]) || text[2] != ':'
        || !isdigit((unsigned char)text[3]) || !isdigit((unsigned char)text[4]))
        return -1;
    h = (text[0] - '0') * 10 + text[1] - '0';
    m = (text[3] - '0') * 10 + text[4] - '0';
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
        return -1;
    return h * 60 + m;
}

/* The days token (len bytes): one day or FIRST-LAST, wrapping. */
static int window_parse_days(const char *tok,
                             size_t len,
                             uint8_t *days,
                             shoal_error_t *error)
{
    const char *dash = memchr(tok, '-', len);
    size_t n1 = dash ? (size_t)(dash - tok) : len;
    int first = window_day(tok, n1);
    int last = first;

    if (first < 0)
        return shoal_errprintf(error, -EINVAL, "unknown day '%.*s'", (int)n1,
                               tok);
    if (dash) {
        last = window_day(dash + 1, len - n1 - 1);
        if (last < 0)
            return shoal_errprintf(error, -EINVAL, "unknown day '%.*s'",
                                   (int)(len - n1 - 1), dash + 1);
    }
    *days = 0;
    for (int d = first;; d = (d + 1) % 7) {
        *days |= (uint8_t)(1u << d);
        if (d == last)
            break;
    }
    return 0;
}

/* The time token (len bytes): HH:MM-HH:MM. */
static int window_parse_span(const char *tok,
                             size_t len,
                             struct owner_window_range *r,
                             shoal_error_t *error)
{
    int start = -1, end = -1;

    if (len == 11 && tok[5] == '-') {
        start = window_time(tok, 5, false);
        end = window_time(tok + 6, 5, true);
    }
    if (start < 0 || end < 0 || start == OWNER_WINDOW_DAY_MINUTES)
        return shoal_errprintf(error, -EINVAL,
                               "bad time span '%.*s' (want "
                               "HH:MM-HH:MM, 00:00 to 24:00)",
                               (int)len, tok);
    if (start == end)
        return shoal_errprintf(error, -EINVAL, "time span '%.*s' is empty",
                               (int)len, tok);
    r->start = (uint16_t)start;
    r->end = (uint16_t)end;
    return 0;
}

/* One range, text[0..len) trimmed: [DAYS] [HH:MM-HH:MM]. */
static int window_parse_range(struct owner_window *w,
                              const char *part,
                              size_t len,
                              shoal_error_t *error)
{
    struct owner_window_range r = {0x7f, 0, OWNER_WINDOW_DAY_MINUTES};
    const char *p = part, *end = part + len;
    bool have_days = false, have_span = false;
    int rc;

    if (len == 0)
        return shoal_errprintf(error, -EINVAL, "an empty range");
    while (p < end) {
        const char *tok = p;
        size_t n;

        while (p < end && !isspace((unsigned char)*p))
            p++;
        n = (size_t)(p - tok);
        if (isdigit((unsigned char)tok[0]) && !have_span) {
            rc = window_parse_span(tok, n, &r, error);
            have_span = true;
        } else if (!have_days && !have_span) {
            rc = window_parse_days(tok, n, &r.days, error);
            have_days = true;
        } else {
            rc = shoal_errprintf(error, -EINVAL,
                                 "unexpected '%.*s' in "
                                 "'%.*s' (want DAYS HH:MM-HH:MM)",
                                 (int)n, tok, (int)len, part);
        }
        if (rc < 0)
            return rc;
        while (p < end && isspace((unsigned char)*p))
            p++;
    }
    if (w->nranges == OWNER_WINDOW_RANGES_MAX)
        return shoal_errprintf(error, -EINVAL, "more than %d ranges",
                               OWNER_WINDOW_RANGES_MAX);
    w->ranges[w->nranges++] = r;
    return 0;
}

int owner_window_parse(const char *text,
                       struct owner_window *w,
                       shoal_error_t *error)
{
    const char *p = text, *end;
    size_t len;

    memset(w, 0, sizeof(*w));
    while (isspace((unsigned char)*p))
        p++;
    len = strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    if (len > OWNER_WINDOW_TEXT_MAX)
        return shoal_errprintf(error, -EINVAL, "longer than %d characters",
                               OWNER_WINDOW_TEXT_MAX);
    if (len == 0)
        return shoal_errprintf(error, -EINVAL, "an empty window");
    memcpy(w->text, p, len);
    w->text[len] = '\0';
    for (p = w->text;; p = end + 1) {
        const char *q;
        int rc;

        end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        for (q = end; q > p && isspace((unsigned char)q[-1]); q--)
            ;
        rc = window_parse_range(w, p, (size_t)(q - p), error);
        if (rc < 0)
            return rc;
        if (!*end)
            break;
    }
    return 0;
}

bool owner_window_contains(const struct owner_window *w, const struct tm *tm)
{
    int day = (tm->tm_wday + 6) % 7; /* Monday 0 */
    int yesterday = (day + 6) % 7;
    int m = tm->tm_hour * 60 + tm->tm_min;

    for (unsigned i = 0; i < w->nranges; i++) {
        const struct owner_window_range *r = &w->ranges[i];

        if (r->start < r->end) {
            if ((r->days & (1u << day)) && m >= r->start && m < r->end)
                return true;
        } else if (((r->days & (1u << day)) && m >= r->start)
                   || ((r->days & (1u << yesterday)) && m < r->end)) {
            return true;
        }
    }
    return false;
}
