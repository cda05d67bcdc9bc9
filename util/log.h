/* SPDX-License-Identifier: MIT */
/* log.h - one log for a whole process: syslog levels, subsystem tags, and a
 * sink that only a command's main() installs.
 *
 * Libraries never print: they call LOG(), which formats the message and
 * hands it to the sink (cmd/daemon.c writes it to stderr or DIR/daemon.log
 * with a time stamp). Which messages pass is chosen once per process by
 * log_configure() from SHOAL_LOG, a comma list read left to right:
 *
 *   all | SUBSYS    let every subsystem, or one, through
 *   -all | -SUBSYS  silence every subsystem, or one
 *   err | warning | notice | info | debug   the most verbose level shown
 *
 * e.g. SHOAL_LOG=debug,-member (everything, debug included, but SWIM), or
 * SHOAL_LOG=-all,tasks,debug (only the task service, debug included). The
 * default is every subsystem at info. Errors pass whatever the list says:
 * silencing a subsystem hides its chatter, not why it failed. A disabled
 * call costs one load and one branch: its arguments are not evaluated.
 *
 * Threading: log_configure() and log_set_sink() are called once, before
 * other threads start; LOG() may then be called from any thread (the sink
 * must cope). */
#ifndef SHOAL_UTIL_LOG_H
#define SHOAL_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <shoal/error.h>

/* syslog's numbers, so a sink may hand them to syslog(3) as they are */
enum log_level {
    LOG_LEVEL_ERR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7,
};

/* The tags; log_subsys_name() gives each one's name in SHOAL_LOG. */
enum log_subsys {
    LOG_DAEMON,  /* the daemon's life: start, stop, signals */
    LOG_MEMBER,  /* SWIM membership */
    LOG_PEER,    /* the sealed transport between daemons */
    LOG_CONTROL, /* the local control socket */
    LOG_TOPO,    /* hwloc topology */
    LOG_SCHED,   /* placement and core claims */
    LOG_GANG,    /* gang jobs: claims, relays, proxies */
    LOG_LAUNCH,  /* starting processes */
    LOG_PMI,     /* wire-up */
    LOG_TASKS,   /* the task service */
    LOG_CKPT,    /* checkpoints */
    LOG_OWNER,   /* owner presence */
    LOG_GUEST,   /* guest jobs' cgroups and limits */
    LOG_SUBSYS_COUNT,
};

typedef void log_sink_f(enum log_level level,
                        enum log_subsys subsys,
                        const char *text,
                        void *arg);

/* Bit s of log_pass[level] is set when messages of subsys s at that level
 * pass. Read by LOG(); written only by log_configure(). */
extern uint32_t log_pass[LOG_LEVEL_DEBUG + 1];

#define LOG(level, subsys, ...)                                                \
    do {                                                                       \
        if (log_pass[(level)] & (UINT32_C(1) << (subsys)))                     \
            log_emit((level), (subsys), __VA_ARGS__);                          \
    } while (0)

/* Choose what passes from spec (SHOAL_LOG's syntax above; NULL or "" keeps
 * the default). Returns 0, or -EINVAL with error naming the word it did
 * not know; nothing changes then. */
int log_configure(const char *spec, shoal_error_t *error);

/* log_configure() with the value of SHOAL_LOG (a tunable, so `shoal info
 * --params` lists it). */
int log_configure_env(shoal_error_t *error);

/* Where messages go: sink(level, subsys, text, arg) for each; NULL drops
 * them (the state before any call). */
void log_set_sink(log_sink_f *sink, void *arg);

/* Format and hand to the sink, whatever log_pass says; use LOG(). Text
 * longer than 1 KiB is cut. */
void log_emit(enum log_level level,
              enum log_subsys subsys,
              const char *fmt,
              ...) __attribute__((format(printf, 3, 4)));

/* "member", "tasks", ...; "?" for a value out of range. */
const char *log_subsys_name(enum log_subsys subsys);

/* "err", "warning", "notice", "info", "debug"; "?" out of range. */
const char *log_level_name(enum log_level level);

/* True at most once per interval_ms for *last (the caller's state,
 * initially 0), by the monotonic clock: for messages a peer can cause at
 * will, so a flood of them costs the log one line a second. */
bool log_ratelimit(uint64_t *last, uint64_t interval_ms);

#endif
