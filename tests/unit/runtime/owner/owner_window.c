/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/owner/owner_window.c: parsing, each error, ranges
 * that wrap over midnight and over the week, and local time across a
 * daylight saving change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_window.h"

TestSuite(owner_window, .timeout = 10);

static struct owner_window parse_ok(const char *text)
{
    struct owner_window w;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, owner_window_parse(text, &w, &error), 0), "'%s': %s",
              text, error.text);
    return w;
}

static void parse_bad(const char *text, const char *message)
{
    struct owner_window w;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, owner_window_parse(text, &w, &error), -EINVAL), "'%s'",
              text);
    cr_assert(eq(str, error.text, (char *)message));
}

/* Whether w holds day (0 Monday .. 6 Sunday) at hh:mm. */
static bool at(const struct owner_window *w, int day, int hh, int mm)
{
    struct tm tm = {0};

    tm.tm_wday = (day + 1) % 7;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    return owner_window_contains(w, &tm);
}

enum { MON, TUE, WED, THU, FRI, SAT, SUN };

Test(owner_window, nights_and_weekends)
{
    struct owner_window w = parse_ok("  Mon-Fri 18:00-08:00, Sat-Sun ");

    cr_assert(eq(str, w.text, "Mon-Fri 18:00-08:00, Sat-Sun"));
    cr_assert(eq(u32, w.nranges, 2));
    cr_assert(not(at(&w, MON, 12, 0)));
    cr_assert(not(at(&w, MON, 17, 59)));
    cr_assert(at(&w, MON, 18, 0));
    cr_assert(at(&w, MON, 23, 59));
    cr_assert(at(&w, TUE, 0, 0)); /* Monday's night, wrapped */
    cr_assert(at(&w, TUE, 7, 59));
    cr_assert(not(at(&w, TUE, 8, 0)));
    cr_assert(at(&w, FRI, 20, 0));
    cr_assert(at(&w, SAT, 3, 0));
    cr_assert(at(&w, SAT, 12, 0));
    cr_assert(at(&w, SUN, 23, 59));
    /* Sunday's range is the whole day only: Monday morning is Monday's */
    cr_assert(not(at(&w, MON, 3, 0)));
}

Test(owner_window, a_night_span_belongs_to_the_day_it_starts_on)
{
    struct owner_window w = parse_ok("Fri 22:00-06:00");

    cr_assert(not(at(&w, FRI, 3, 0)));
    cr_assert(at(&w, FRI, 22, 0));
    cr_assert(at(&w, SAT, 5, 59));
    cr_assert(not(at(&w, SAT, 6, 0)));
    cr_assert(not(at(&w, SAT, 22, 0)));
}

Test(owner_window, sunday_night_wraps_over_the_week_into_monday)
{
    struct owner_window w = parse_ok("sunday 20:00-07:30");

    cr_assert(at(&w, SUN, 20, 0));
    cr_assert(at(&w, MON, 7, 29));
    cr_assert(not(at(&w, MON, 7, 30)));
    cr_assert(not(at(&w, SAT, 23, 0)));
}

Test(owner_window, a_day_span_may_wrap_over_the_week)
{
    struct owner_window w = parse_ok("Fri-Mon");

    cr_assert(eq(u8, w.ranges[0].days, 0x71)); /* Fri Sat Sun Mon */
    cr_assert(at(&w, FRI, 0, 0));
    cr_assert(at(&w, SUN, 12, 0));
    cr_assert(at(&w, MON, 23, 59));
    cr_assert(not(at(&w, TUE, 0, 0)));
    cr_assert(not(at(&w, THU, 23, 59)));
}

Test(owner_window, a_span_without_days_is_every_day)
{
    struct owner_window w = parse_ok("12:00-13:00");

    for (int d = MON; d <= SUN; d++) {
        cr_assert(at(&w, d, 12, 30), "day %d", d);
        cr_assert(not(at(&w, d, 13, 0)), "day %d", d);
        cr_assert(not(at(&w, d, 11, 59)), "day %d", d);
    }
}

Test(owner_window, the_end_of_the_day_is_24_00)
{
    struct owner_window w = parse_ok("Wed 20:00-24:00, thu 00:00-24:00");

    cr_assert(at(&w, WED, 23, 59));
    cr_assert(at(&w, THU, 0, 0));
    cr_assert(at(&w, THU, 23, 59));
    cr_assert(not(at(&w, WED, 19, 59)));
    cr_assert(not(at(&w, FRI, 0, 0)));
}

Test(owner_window, errors_name_the_part_that_is_wrong)
{
    parse_bad("", "an empty window");
    parse_bad("   ", "an empty window");
    parse_bad("Mon-Fry 18:00-08:00", "unknown day 'Fry'");
    parse_bad("Mo 18:00-08:00", "unknown day 'Mo'");
    parse_bad("Mon 18:00", "bad time span '18:00' (want "
                           "HH:MM-HH:MM, 00:00 to 24:00)");
    parse_bad("Mon 25:00-08:00", "bad time span '25:00-08:00' "
                                 "(want HH:MM-HH:MM, 00:00 to 24:00)");
    parse_bad("Mon 18:60-19:00", "bad time span '18:60-19:00' "
                                 "(want HH:MM-HH:MM, 00:00 to 24:00)");
    parse_bad("24:00-01:00", "bad time span '24:00-01:00' (want "
                             "HH:MM-HH:MM, 00:00 to 24:00)");
    parse_bad("8:00-9:00", "bad time span "
                           "'8:00-9:00' (want HH:MM-HH:MM, 00:00 to 24:00)");
    parse_bad("Mon 18:00-18:00", "time span '18:00-18:00' is "
                                 "empty");
    parse_bad("Mon-Fri 18:00-08:00,, Sat", "an empty range");
    parse_bad("Sat,", "an empty range");
    parse_bad("18:00-20:00 Mon", "unexpected 'Mon' in "
                                 "'18:00-20:00 Mon' (want DAYS HH:MM-HH:MM)");
    parse_bad("Mon Tue", "unexpected 'Tue' in 'Mon "
                         "Tue' (want DAYS HH:MM-HH:MM)");
}

Test(owner_window, too_many_ranges_or_too_long)
{
    char text[400] = "Mon";
    char want[400];

    for (int i = 1; i <= OWNER_WINDOW_RANGES_MAX; i++)
        strcat(text, ",Mon");
    snprintf(want, sizeof(want), "more than %d ranges",
             OWNER_WINDOW_RANGES_MAX);
    parse_bad(text, want);
    memset(text, 'x', 300);
    text[300] = '\0';
    parse_bad(text, "longer than 255 characters");
}

/* The local time at t in zone tz. */
static struct tm local_at(const char *tz, time_t t)
{
    struct tm tm;

    setenv("TZ", tz, 1);
    tzset();
    cr_assert(ne(ptr, localtime_r(&t, &tm), NULL));
    return tm;
}

Test(owner_window, daylight_saving_moves_the_window_with_the_wall_clock)
{
    struct owner_window w = parse_ok("Sun 01:00-05:00");
    /* Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC */
    time_t change = 1774746000;
    struct tm tm;

    tm = local_at("Europe/Berlin", change - 60); /* 01:59 CET */
    cr_assert(eq(int, tm.tm_hour, 1));
    cr_assert(owner_window_contains(&w, &tm));
    tm = local_at("Europe/Berlin", change); /* 03:00 CEST */
    cr_assert(eq(int, tm.tm_hour, 3));
    cr_assert(owner_window_contains(&w, &tm));
    /* 05:00 CEST, only 3 hours of real time after 01:00 CET */
    tm = local_at("Europe/Berlin", change + 2 * 3600);
    cr_assert(eq(int, tm.tm_hour, 5));
    cr_assert(not(owner_window_contains(&w, &tm)));
    tm = local_at("Europe/Berlin", change + 2 * 3600 - 60);
    cr_assert(owner_window_contains(&w, &tm));
    /* and the evening range starts at 18:00 wall clock, not 17:00 */
    w = parse_ok("Sun 18:00-20:00");
    tm = local_at("Europe/Berlin", change + 15 * 3600 - 60); /* 17:59 */
    cr_assert(eq(int, tm.tm_hour, 17));
    cr_assert(not(owner_window_contains(&w, &tm)));
    tm = local_at("Europe/Berlin", change + 15 * 3600); /* 18:00 */
    cr_assert(owner_window_contains(&w, &tm));
    unsetenv("TZ");
    tzset();
}
