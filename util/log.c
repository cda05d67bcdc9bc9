/* SPDX-License-Identifier: MIT */
/* log.c - see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/param.h"

PARAM_DEFINE(log_param,
             "log",
             PARAM_TYPE_STRING,
             NULL,
             "what the daemon logs: a comma list of subsystems (all, "
             "daemon, member, peer, control, topo, sched, gang, launch, pmi, "
             "tasks, ckpt, owner, guest), -SUBSYS to silence one, and the most "
             "verbose level (err, warning, notice, info, debug); default "
             "all,info");

#define LOG_ALL ((UINT32_C(1) << LOG_SUBSYS_COUNT) - 1)

/* the default: every subsystem up to info */
uint32_t log_pass[LOG_LEVEL_DEBUG + 1] = {
    [LOG_LEVEL_ERR] = LOG_ALL,    [LOG_LEVEL_WARNING] = LOG_ALL,
    [LOG_LEVEL_NOTICE] = LOG_ALL, [LOG_LEVEL_INFO] = LOG_ALL,
    [LOG_LEVEL_DEBUG] = 0,
};

static log_sink_f *log_sink;
static void *log_sink_arg;

static const char *const log_subsys_names[LOG_SUBSYS_COUNT] = {
    [LOG_DAEMON] = "daemon",   [LOG_MEMBER] = "member", [LOG_PEER] = "peer",
    [LOG_CONTROL] = "control", [LOG_TOPO] = "topo",     [LOG_SCHED] = "sched",
    [LOG_GANG] = "gang",       [LOG_LAUNCH] = "launch", [LOG_PMI] = "pmi",
    [LOG_TASKS] = "tasks",     [LOG_CKPT] = "ckpt",     [LOG_OWNER] = "owner",
    [LOG_GUEST] = "guest",
};

static const char *const log_level_names[LOG_LEVEL_DEBUG + 1] = {
    [LOG_LEVEL_ERR] = "err",       [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

const char *log_subsys_name(enum log_subsys subsys)
{
    return (unsigned)subsys < LOG_SUBSYS_COUNT ? log_subsys_names[subsys] : "?";
}

const char *log_level_name(enum log_level level)
{
    return level >= LOG_LEVEL_ERR && level <= LOG_LEVEL_DEBUG
               ? log_level_names[level]
               : "?";
}

static int log_subsys_find(const char *name, size_t len)
{
    for (int s = 0; s < LOG_SUBSYS_COUNT; s++)
        if (strlen(log_subsys_names[s]) == len
            && memcmp(log_subsys_names[s], name, len) == 0)
            return s;
    return -1;
}

static int log_level_find(const char *name, size_t len)
{
    for (int l = LOG_LEVEL_ERR; l <= LOG_LEVEL_DEBUG; l++)
        if (strlen(log_level_names[l]) == len
            && memcmp(log_level_names[l], name, len) == 0)
            return l;
    return -1;
}

/* The words are read into a subsystem mask and a level first, and
 * log_pass is written only once all were understood, so a bad spec
 * changes nothing. */
int log_configure(const char *spec, shoal_error_t *error)
{
    uint32_t mask = LOG_ALL;
    int max_level = LOG_LEVEL_INFO;
    const char *p = spec ? spec : "";

    while (*p) {
        size_t len = strcspn(p, ",");
        bool off = *p == '-';
        const char *word = off ? p + 1 : p;
        size_t wlen = off ? len - 1 : len;
        int s, l;

        if (wlen == 3 && memcmp(word, "all", 3) == 0)
            mask = off ? 0 : LOG_ALL;
        else if ((s = log_subsys_find(word, wlen)) >= 0)
            mask = off ? mask & ~(UINT32_C(1) << s) : mask | (UINT32_C(1) << s);
        else if (!off && (l = log_level_find(word, wlen)) >= 0)
            max_level = l;
        else if (len > 0)
            return shoal_errprintf(error, -EINVAL,
                                   "SHOAL_LOG: unknown word '%.*s' (a "
                                   "subsystem, -subsystem, all or a level)",
                                   (int)len, p);
        p += len;
        if (*p == ',')
            p++;
    }
    for (int l = 0; l <= LOG_LEVEL_DEBUG; l++)
        log_pass[l] = l <= max_level ? mask : 0;
    /* errors always pass: silencing a subsystem hides its chatter, not
     * the reason it failed */
    log_pass[LOG_LEVEL_ERR] = LOG_ALL;
    return 0;
}

int log_configure_env(shoal_error_t *error)
{
    return log_configure(param_get_string(&log_param), error);
}

void log_set_sink(log_sink_f *sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void log_emit(enum log_level level,
              enum log_subsys subsys,
              const char *fmt,
              ...)
{
    char text[1024];
    va_list ap;

    if (!log_sink)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_sink(level, subsys, text, log_sink_arg);
}

bool log_ratelimit(uint64_t *last, uint64_t interval_ms)
{
    struct timespec ts;
    uint64_t now;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    /* +1: a clock that reads 0 must not look like "never logged" */
    now += 1;
    if (*last && now - *last < interval_ms)
        return false;
    *last = now;
    return true;
}
