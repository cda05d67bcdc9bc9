/* SPDX-License-Identifier: MIT */
/* owner_window.h - lending windows: the times of the week a node may lend
 * its cores (HTCondor's time-based START, "only nights and weekends").
 *
 * The text is a comma-separated list of ranges; a range is days, a time
 * span, or both:
 *
 *     Mon-Fri 18:00-08:00, Sat-Sun
 *
 * Days are Mon Tue Wed Thu Fri Sat Sun (or the full names, any case), one
 * day or a span FIRST-LAST that may wrap over the week (Fri-Mon); no days
 * means every day. A time span HH:MM-HH:MM (00:00 to 24:00) is local wall
 * clock time; no span means the whole day. A span whose end is not after
 * its start wraps over midnight and belongs to the day it starts on:
 * "Fri 22:00-06:00" is Friday 22:00 to Saturday 06:00. A time is inside
 * the window when it is inside one of its ranges.
 *
 * The window is read from local broken-down time (localtime_r()), never by
 * adding seconds, so daylight saving changes move it with the wall clock:
 * 18:00 is 18:00 on both sides of a change, and a span that covers the
 * skipped or repeated hour covers it as the clock shows it.
 *
 * Pure: no clock is read here; not thread-safe per window. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_WINDOW_H
#define SHOAL_RUNTIME_OWNER_OWNER_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <shoal/error.h>

enum {
    OWNER_WINDOW_RANGES_MAX = 32,
    OWNER_WINDOW_TEXT_MAX = 255,
    OWNER_WINDOW_DAY_MINUTES = 24 * 60,
};

struct owner_window_range {
    uint8_t days;   /* bit 0 Monday ... bit 6 Sunday */
    uint16_t start; /* minutes after midnight, 0..1439 */
    uint16_t end;   /* 1..1440; not after start: the next day's */
};

struct owner_window {
    struct owner_window_range ranges[OWNER_WINDOW_RANGES_MAX];
    unsigned nranges;
    char text[OWNER_WINDOW_TEXT_MAX + 1]; /* as given, blanks trimmed */
};

/* Parse text into *w. Returns 0, or -EINVAL with error naming the part
 * that is wrong ("unknown day 'Fry'"; the caller names the window); *w
 * is then unspecified. */
int owner_window_parse(const char *text,
                       struct owner_window *w,
                       shoal_error_t *error);

/* Whether the local time tm (tm_wday, tm_hour, tm_min read; as
 * localtime_r() fills it) is inside w. */
bool owner_window_contains(const struct owner_window *w, const struct tm *tm);

#endif
