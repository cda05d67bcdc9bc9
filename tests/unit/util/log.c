/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/log.h"

TestSuite(log, .timeout = 10);

struct seen {
    int count;
    enum log_level level;
    enum log_subsys subsys;
    char text[1100];
};

static void remember(enum log_level level,
                     enum log_subsys subsys,
                     const char *text,
                     void *arg)
{
    struct seen *s = arg;

    s->count++;
    s->level = level;
    s->subsys = subsys;
    snprintf(s->text, sizeof(s->text), "%s", text);
}

static int evaluated;

static int side_effect(void)
{
    return ++evaluated;
}

Test(log, default_passes_info_and_drops_debug)
{
    struct seen s = {0};

    cr_assert(eq(int, log_configure(NULL, NULL), 0));
    log_set_sink(remember, &s);
    LOG(LOG_LEVEL_INFO, LOG_MEMBER, "node %d joined", 7);
    cr_assert(eq(int, s.count, 1));
    cr_assert(eq(str, s.text, "node 7 joined"));
    cr_assert(eq(int, s.subsys, LOG_MEMBER));
    LOG(LOG_LEVEL_DEBUG, LOG_MEMBER, "update %d", side_effect());
    cr_assert(eq(int, s.count, 1));
    cr_assert(eq(int, evaluated, 0), "a disabled call evaluated its arguments");
    log_set_sink(NULL, NULL);
}

Test(log, list_is_read_left_to_right)
{
    struct seen s = {0};

    cr_assert(eq(int, log_configure("debug,-member", NULL), 0));
    log_set_sink(remember, &s);
    LOG(LOG_LEVEL_DEBUG, LOG_MEMBER, "silenced");
    cr_assert(eq(int, s.count, 0));
    LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "shown");
    cr_assert(eq(int, s.count, 1));

    cr_assert(eq(int, log_configure("-all,tasks", NULL), 0));
    LOG(LOG_LEVEL_NOTICE, LOG_GANG, "silenced");
    LOG(LOG_LEVEL_DEBUG, LOG_TASKS, "above info");
    cr_assert(eq(int, s.count, 1));
    LOG(LOG_LEVEL_INFO, LOG_TASKS, "shown");
    cr_assert(eq(int, s.count, 2));
    /* errors pass whatever the list says */
    LOG(LOG_LEVEL_ERR, LOG_GANG, "failed");
    cr_assert(eq(int, s.count, 3));
    cr_assert(eq(int, s.level, LOG_LEVEL_ERR));
    log_set_sink(NULL, NULL);
    log_configure(NULL, NULL);
}

Test(log, unknown_word_is_an_error_and_changes_nothing)
{
    shoal_error_t error = {{0}};
    struct seen s = {0};

    cr_assert(eq(int, log_configure("debug", NULL), 0));
    cr_assert(eq(int, log_configure("-all,membr", &error), -EINVAL));
    cr_assert(strstr(error.text, "'membr'") != NULL, "error: %s", error.text);
    cr_assert(eq(int, log_configure("-debug", &error), -EINVAL));
    log_set_sink(remember, &s);
    LOG(LOG_LEVEL_DEBUG, LOG_MEMBER, "still debug");
    cr_assert(eq(int, s.count, 1));
    log_set_sink(NULL, NULL);
    log_configure(NULL, NULL);
}

Test(log, names_of_levels_and_subsystems)
{
    cr_assert(eq(str, (char *)log_level_name(LOG_LEVEL_WARNING), "warning"));
    cr_assert(eq(str, (char *)log_subsys_name(LOG_TASKS), "tasks"));
    cr_assert(eq(str, (char *)log_subsys_name(LOG_SUBSYS_COUNT), "?"));
}

Test(log, long_text_is_cut_not_overflowed)
{
    struct seen s = {0};
    char big[3000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_set_sink(remember, &s);
    LOG(LOG_LEVEL_ERR, LOG_DAEMON, "%s", big);
    cr_assert(eq(sz, strlen(s.text), 1023));
    log_set_sink(NULL, NULL);
}

Test(log, ratelimit_lets_one_through_per_interval)
{
    uint64_t last = 0;

    cr_assert(log_ratelimit(&last, 60000));
    cr_assert(not(log_ratelimit(&last, 60000)));
    cr_assert(log_ratelimit(&last, 0));
}
