/* SPDX-License-Identifier: MIT */
/* daemon.c - `shoal daemon run|start|stop` (and `shoald`): the node daemon
 * in the foreground, detached, or asked to leave. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/daemon/control.h"
#include "runtime/daemon/daemon.h"
#include "runtime/daemon/cores.h"
#include "runtime/daemon/peer.h"
#include "runtime/ckpt/ckpt_service.h"
#include "runtime/guest/guestd.h"
#include "runtime/job/gangd.h"
#include "runtime/owner/owner_window.h"
#include "runtime/owner/ownerd.h"
#include "runtime/tasks/taskd.h"
#include "util/conf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/statedir.h"

static const char daemon_usage[] =
    "usage: shoal daemon run|start|stop [options]\n"
    "\n"
    "Run the node daemon, which joins this machine to a pool of peers.\n"
    "  run     in the foreground, logging to stderr (also: shoald)\n"
    "  start   detached, logging to DIR/daemon.log; returns once it answers\n"
    "  stop    ask it to leave the pool gracefully and wait for its exit\n"
    "\n"
    "  --dir DIR            state directory (default $SHOAL_DIR, else\n"
    "                       /var/lib/shoal for root, else\n"
    "                       ${XDG_STATE_HOME:-~/.local/state}/shoal)\n"
    "  --key FILE           pool key, mode 0600 (default DIR/pool.key)\n"
    "  --listen ADDR:PORT   UDP and TCP address (default 0.0.0.0:7911)\n"
    "  --advertise ADDR     address peers reach this node at\n"
    "  --join HOST:PORT,... seed daemons to join through (numeric)\n"
    "  --discover           find peers by broadcast on the listen port\n"
    "  --name NAME          this node's name (default: the host name)\n"
    "  --lend MODE          when to lend this node's cores: dedicated\n"
    "                       (always; the default), desktop (while the\n"
    "                       owner is away), never\n"
    "  --owner-idle SECONDS desktop: keyboard idle before lending (900)\n"
    "  --owner-display DISPLAY  desktop: X display to watch (default "
    "$DISPLAY)\n"
    "  --owner-ttys GLOB    desktop: more terminals to watch, e.g. "
    "'/dev/tty[0-9]'\n"
    "  --vacate-after SECONDS  desktop: suspended jobs are vacated after\n"
    "                       this long (600)\n"
    "  --credentials MODE   how other nodes learn who submitted a job:\n"
    "                       munge (MUNGE credentials), pool (the pool\n"
    "                       key's word: weaker), auto (munge if munged\n"
    "                       answers, else pool; the default)\n"
    "  --munge-socket PATH  munged's socket (default: MUNGE's own)\n"
    "  --unknown-user POLICY  a job of a uid with no account here:\n"
    "                       refuse (the default) or guest\n"
    "  --guest-user NAME    the account guests run as (default nobody)\n"
    "  --lend-window WINDOW lend only inside these times of the week (local\n"
    "                       time), e.g. 'Mon-Fri 18:00-08:00, Sat-Sun';\n"
    "                       outside, jobs here are suspended and vacated\n"
    "                       as for an owner who came back (desktop,\n"
    "                       dedicated)\n"
    "  --guest-limits on|off  run each job in a cgroup of its own with its\n"
    "                       cores, a low CPU weight and a memory limit, and\n"
    "                       tasks with nice 10 and idle I/O (on)\n"
    "  --guest-memory SIZE|PERCENT  memory limit of each job on this node,\n"
    "                       and of all together: e.g. 4G or 50% (80%)\n"
    "  --guest-cpu-weight N CPU weight of jobs, 1-10000; other processes\n"
    "                       have 100 (10)\n"
    "  --cpus LIST          the CPUs (OS indexes, e.g. 0-3,8) jobs here are\n"
    "                       placed and bound on (default: all this daemon\n"
    "                       may use)\n"
    "  --config FILE        read only this configuration file\n"
    "  -h, --help           show this help\n"
    "\n"
    "run and start read /etc/shoal/shoal.conf, then DIR/shoal.conf (when\n"
    "they exist), or only --config FILE: 'key = value' lines, '#' comments,\n"
    "values may be quoted. The keys are the long options above without\n"
    "'--' (not dir or config; discover = yes|no), e.g. 'lend = desktop'.\n"
    "A later file overrides an earlier one; the command line wins over\n"
    "both. An unknown key, a key set twice or a bad value is an error.\n";

/* The options of `shoal daemon run|start`. Each long option, without its
 * "--", is also a key of the configuration files (but those marked
 * DAEMON_OPT_CMDLINE), checked by the same function: an option added to
 * this table is a key with no more code. */
enum daemon_opt {
    DAEMON_OPT_DIR,
    DAEMON_OPT_CONFIG,
    DAEMON_OPT_KEY,
    DAEMON_OPT_LISTEN,
    DAEMON_OPT_ADVERTISE,
    DAEMON_OPT_JOIN,
    DAEMON_OPT_DISCOVER,
    DAEMON_OPT_NAME,
    DAEMON_OPT_LEND,
    DAEMON_OPT_OWNER_IDLE,
    DAEMON_OPT_OWNER_DISPLAY,
    DAEMON_OPT_OWNER_TTYS,
    DAEMON_OPT_VACATE_AFTER,
    DAEMON_OPT_CREDENTIALS,
    DAEMON_OPT_MUNGE_SOCKET,
    DAEMON_OPT_UNKNOWN_USER,
    DAEMON_OPT_GUEST_USER,
    DAEMON_OPT_LEND_WINDOW,
    DAEMON_OPT_GUEST_LIMITS,
    DAEMON_OPT_GUEST_MEMORY,
    DAEMON_OPT_GUEST_CPU_WEIGHT,
    DAEMON_OPT_CPUS,
    DAEMON_OPT_COUNT,
};

enum daemon_opt_kind {
    DAEMON_OPT_VALUE,   /* --name VALUE or --name=VALUE; key = VALUE */
    DAEMON_OPT_SWITCH,  /* --name alone; key = yes|no */
    DAEMON_OPT_CMDLINE, /* --name VALUE, and no key of the files */
};

/* Whether value suits the option: 0, or -EINVAL with what is expected
 * written into expected (size bytes). */
typedef int daemon_opt_check_f(const char *value, char *expected, size_t size);

struct daemon_option {
    const char *name;
    enum daemon_opt_kind kind;
    daemon_opt_check_f *check; /* NULL: any non-empty value */
};

static daemon_opt_check_f check_addr, check_seeds, check_bool, check_lend,
    check_seconds_above_0, check_seconds, check_credentials, check_unknown,
    check_window, check_guest_limits, check_guest_memory,
    check_guest_cpu_weight, check_cpus;

static const struct daemon_option daemon_options[DAEMON_OPT_COUNT] = {
    [DAEMON_OPT_DIR] = {"dir", DAEMON_OPT_CMDLINE, NULL},
    [DAEMON_OPT_CONFIG] = {"config", DAEMON_OPT_CMDLINE, NULL},
    [DAEMON_OPT_KEY] = {"key", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_LISTEN] = {"listen", DAEMON_OPT_VALUE, check_addr},
    [DAEMON_OPT_ADVERTISE] = {"advertise", DAEMON_OPT_VALUE, check_addr},
    [DAEMON_OPT_JOIN] = {"join", DAEMON_OPT_VALUE, check_seeds},
    [DAEMON_OPT_DISCOVER] = {"discover", DAEMON_OPT_SWITCH, check_bool},
    [DAEMON_OPT_NAME] = {"name", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_LEND] = {"lend", DAEMON_OPT_VALUE, check_lend},
    [DAEMON_OPT_OWNER_IDLE] = {"owner-idle", DAEMON_OPT_VALUE,
                               check_seconds_above_0},
    [DAEMON_OPT_OWNER_DISPLAY] = {"owner-display", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_OWNER_TTYS] = {"owner-ttys", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_VACATE_AFTER] = {"vacate-after", DAEMON_OPT_VALUE,
                                 check_seconds},
    [DAEMON_OPT_CREDENTIALS] = {"credentials", DAEMON_OPT_VALUE,
                                check_credentials},
    [DAEMON_OPT_MUNGE_SOCKET] = {"munge-socket", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_UNKNOWN_USER] = {"unknown-user", DAEMON_OPT_VALUE,
                                 check_unknown},
    [DAEMON_OPT_GUEST_USER] = {"guest-user", DAEMON_OPT_VALUE, NULL},
    [DAEMON_OPT_LEND_WINDOW] = {"lend-window", DAEMON_OPT_VALUE, check_window},
    [DAEMON_OPT_GUEST_LIMITS] = {"guest-limits", DAEMON_OPT_VALUE,
                                 check_guest_limits},
    [DAEMON_OPT_GUEST_MEMORY] = {"guest-memory", DAEMON_OPT_VALUE,
                                 check_guest_memory},
    [DAEMON_OPT_GUEST_CPU_WEIGHT] = {"guest-cpu-weight", DAEMON_OPT_VALUE,
                                     check_guest_cpu_weight},
    [DAEMON_OPT_CPUS] = {"cpus", DAEMON_OPT_VALUE, check_cpus},
};

/* The system's configuration file; then DIR/shoal.conf. */
static const char daemon_conf_system[] = "/etc/shoal/shoal.conf";

struct daemon_args {
    const char *action;
    const char *value[DAEMON_OPT_COUNT]; /* from the command line */
    const char *file[DAEMON_OPT_COUNT];  /* from the files, the last wins */
    conf_t *confs[2];                    /* the files read */
    char confs_read[8400];               /* their names, for the log */
    struct daemon_config config;
    struct ownerd_config owner;
    struct usercred_config users;
    struct guestd_config guest;
    char dir[4096];
};

/* how long `daemon start --join` waits for the seeds' first answer */
enum { DAEMON_START_JOIN_WAIT_MS = 1500 };

/* Match "--name VALUE" and "--name=VALUE". */
static int
take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], "--", 2) != 0 || strncmp(argv[*i] + 2, name, n) != 0)
        return 0;
    if (argv[*i][n + 2] == '=') {
        *value = argv[*i] + n + 3;
        return 1;
    }
    if (argv[*i][n + 2] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static int check_addr(const char *value, char *expected, size_t size)
{
    struct member_addr addr;

    if (peer_addr_parse(value, DAEMON_DEFAULT_PORT, &addr) == 0)
        return 0;
    snprintf(expected, size, "expected a numeric ADDR:PORT");
    return -EINVAL;
}

/* Each comma-separated seed an address, as daemon_create() takes them. */
static int check_seeds(const char *value, char *expected, size_t size)
{
    char *copy = strdup(value), *save = NULL, *tok;
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    for (tok = strtok_r(copy, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save))
        rc = check_addr(tok, expected, size);
    free(copy);
    if (rc < 0)
        snprintf(expected, size, "expected numeric HOST:PORT,...");
    return rc;
}

static int check_bool(const char *value, char *expected, size_t size)
{
    bool b;

    if (conf_bool_parse(value, &b) == 0)
        return 0;
    snprintf(expected, size, "expected yes or no");
    return -EINVAL;
}

static int check_lend(const char *value, char *expected, size_t size)
{
    enum owner_mode mode;

    if (owner_mode_parse(value, &mode) == 0)
        return 0;
    snprintf(expected, size, "expected desktop, dedicated or never");
    return -EINVAL;
}

static int check_credentials(const char *value, char *expected, size_t size)
{
    enum usercred_mode mode;

    if (usercred_mode_parse(value, &mode) == 0)
        return 0;
    snprintf(expected, size, "expected munge, pool or auto");
    return -EINVAL;
}

static int check_unknown(const char *value, char *expected, size_t size)
{
    enum usercred_unknown unknown;

    if (usercred_unknown_parse(value, &unknown) == 0)
        return 0;
    snprintf(expected, size, "expected refuse or guest");
    return -EINVAL;
}

/* A number of seconds: finite, at least min (above 0 when min > 0). */
static int parse_seconds(const char *text, double min, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min)
        return -EINVAL;
    *out = v;
    return 0;
}

static int check_seconds_above_0(const char *value, char *expected, size_t size)
{
    double v;

    if (parse_seconds(value, 1e-3, &v) == 0)
        return 0;
    snprintf(expected, size, "expected a number of seconds above 0");
    return -EINVAL;
}

static int check_seconds(const char *value, char *expected, size_t size)
{
    double v;

    if (parse_seconds(value, 0, &v) == 0)
        return 0;
    snprintf(expected, size, "expected a number of seconds");
    return -EINVAL;
}

static int check_window(const char *value, char *expected, size_t size)
{
    struct owner_window w;
    shoal_error_t error;

    if (owner_window_parse(value, &w, &error) == 0)
        return 0;
    snprintf(expected, size, "%s", error.text);
    return -EINVAL;
}

/* The guest limits' options, each checked by guestd_config_set() alone. */
static int check_guest_limits(const char *value, char *expected, size_t size)
{
    struct guestd_config scratch = {0};

    if (guestd_config_set(&scratch, value, NULL, NULL, NULL) == 0)
        return 0;
    snprintf(expected, size, "expected on or off");
    return -EINVAL;
}

static int check_guest_memory(const char *value, char *expected, size_t size)
{
    struct guestd_config scratch = {0};

    if (guestd_config_set(&scratch, NULL, value, NULL, NULL) == 0)
        return 0;
    snprintf(expected, size,
             "expected bytes with an optional K, M, G or T, or a percentage "
             "of RAM such as 80%%");
    return -EINVAL;
}

static int
check_guest_cpu_weight(const char *value, char *expected, size_t size)
{
    struct guestd_config scratch = {0};

    if (guestd_config_set(&scratch, NULL, NULL, value, NULL) == 0)
        return 0;
    snprintf(expected, size, "expected an integer from 1 to 10000");
    return -EINVAL;
}

/* A list of CPUs (OS indexes): "0-3,8". */
static int check_cpus(const char *value, char *expected, size_t size)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int ok = set && value[strspn(value, "0123456789,-")] == '\0'
             && hwloc_bitmap_list_sscanf(set, value) == 0
             && !hwloc_bitmap_iszero(set);

    hwloc_bitmap_free(set);
    if (ok)
        return 0;
    snprintf(expected, size, "expected a list of CPUs such as 0-3,8");
    return -EINVAL;
}

/* The value an option ends with: the command line's, else the files'. */
static const char *opt_value(const struct daemon_args *a, enum daemon_opt opt)
{
    return a->value[opt] ? a->value[opt] : a->file[opt];
}

/* The options' values into the daemon's and the owner's configuration,
 * over the SHOAL_OWNER_* tunables. Every value was checked already. */
static int apply_options(struct daemon_args *a)
{
    const char *v;
    shoal_error_t error;
    bool discover = false;

    if (ownerd_config_from_params(&a->owner, &error) < 0)
        return cmd_usage("daemon", "daemon: %s", error.text);
    a->config.key_path = opt_value(a, DAEMON_OPT_KEY);
    a->config.listen = opt_value(a, DAEMON_OPT_LISTEN);
    a->config.advertise = opt_value(a, DAEMON_OPT_ADVERTISE);
    a->config.join = opt_value(a, DAEMON_OPT_JOIN);
    a->config.name = opt_value(a, DAEMON_OPT_NAME);
    a->config.cpus = opt_value(a, DAEMON_OPT_CPUS);
    if ((v = opt_value(a, DAEMON_OPT_DISCOVER)))
        conf_bool_parse(v, &discover);
    a->config.discover = discover;
    if ((v = opt_value(a, DAEMON_OPT_LEND)))
        owner_mode_parse(v, &a->owner.mode);
    if ((v = opt_value(a, DAEMON_OPT_OWNER_IDLE)))
        parse_seconds(v, 1e-3, &a->owner.thresholds.lend_idle);
    if ((v = opt_value(a, DAEMON_OPT_VACATE_AFTER)))
        parse_seconds(v, 0, &a->owner.thresholds.vacate_after);
    a->owner.display = opt_value(a, DAEMON_OPT_OWNER_DISPLAY);
    a->owner.ttys = opt_value(a, DAEMON_OPT_OWNER_TTYS);
    if ((v = opt_value(a, DAEMON_OPT_CREDENTIALS)))
        usercred_mode_parse(v, &a->users.mode);
    if ((v = opt_value(a, DAEMON_OPT_UNKNOWN_USER)))
        usercred_unknown_parse(v, &a->users.unknown);
    a->users.munge_socket = opt_value(a, DAEMON_OPT_MUNGE_SOCKET);
    a->users.guest = opt_value(a, DAEMON_OPT_GUEST_USER);
    a->config.credentials = &a->users;
    a->owner.window = opt_value(a, DAEMON_OPT_LEND_WINDOW);
    /* the guest limits over the SHOAL_GUEST_* tunables */
    if (guestd_config_from_params(&a->guest, &error) < 0
        || guestd_config_set(&a->guest, opt_value(a, DAEMON_OPT_GUEST_LIMITS),
                             opt_value(a, DAEMON_OPT_GUEST_MEMORY),
                             opt_value(a, DAEMON_OPT_GUEST_CPU_WEIGHT), &error)
               < 0)
        return cmd_usage("daemon", "daemon: %s", error.text);
    return 0;
}

/* Read one configuration file (optional: a missing one is no error) and
 * take its settings, each checked as its option is. */
static int read_conf(struct daemon_args *a, const char *path, bool optional)
{
    static const char *keys[DAEMON_OPT_COUNT];
    shoal_error_t error = {{0}};
    conf_t *c = NULL;
    size_t n;

    for (size_t k = 0; k < DAEMON_OPT_COUNT; k++)
        keys[k] = daemon_options[k].name;
    if (conf_load(path, optional, keys, DAEMON_OPT_COUNT, &c, &error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "daemon: %s", error.text);
    if (!c)
        return 0;
    for (size_t i = 0; i < conf_count(c); i++) {
        const struct conf_entry *e = conf_entry(c, i);
        const struct daemon_option *o = &daemon_options[e->key];
        char expected[128];

        if (o->kind == DAEMON_OPT_CMDLINE) {
            int rc = cmd_fail(CMD_EXIT_USAGE,
                              "daemon: %s:%d: key '%s' is not allowed in a "
                              "configuration file: give --%s instead",
                              path, e->line, o->name, o->name);

            conf_destroy(c);
            return rc;
        }
        if (o->check && o->check(e->value, expected, sizeof(expected)) < 0) {
            int rc = cmd_fail(CMD_EXIT_USAGE,
                              "daemon: %s:%d: bad value '%s' for key '%s': %s",
                              path, e->line, e->value, o->name, expected);

            conf_destroy(c);
            return rc;
        }
        a->file[e->key] = e->value;
    }
    for (n = 0; n < 2 && a->confs[n]; n++)
        ;
    a->confs[n] = c;
    n = strlen(a->confs_read);
    snprintf(a->confs_read + n, sizeof(a->confs_read) - n, "%s%s",
             n ? ", " : "", path);
    return 0;
}

/* The configuration files: --config FILE alone, or the system's and then
 * DIR/shoal.conf, those two when they exist. */
static int read_confs(struct daemon_args *a)
{
    char path[4200];
    int rc;

    if (a->value[DAEMON_OPT_CONFIG])
        return read_conf(a, a->value[DAEMON_OPT_CONFIG], false);
    if ((rc = read_conf(a, daemon_conf_system, true)) != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/shoal.conf", a->dir);
    return read_conf(a, path, true);
}

/* One option of the command line at argv[*i]: 1 taken, 0 not an option
 * of the table, or an exit status. */
static int parse_option(int argc, char **argv, int *i, struct daemon_args *a)
{
    for (size_t k = 0; k < DAEMON_OPT_COUNT; k++) {
        const struct daemon_option *o = &daemon_options[k];
        const char *value = NULL;
        char expected[128];
        int matched;

        if (o->kind == DAEMON_OPT_SWITCH) {
            if (strncmp(argv[*i], "--", 2) != 0
                || strcmp(argv[*i] + 2, o->name) != 0)
                continue;
            a->value[k] = "yes";
            return 1;
        }
        matched = take_value(argc, argv, i, o->name, &value);
        if (matched == 0)
            continue;
        if (matched < 0 || !*value)
            return cmd_usage("daemon", "daemon: option '--%s' needs a value",
                             o->name);
        if (o->check && o->check(value, expected, sizeof(expected)) < 0)
            return cmd_usage("daemon",
                             "daemon: bad value '%s' for option '--%s': %s",
                             value, o->name, expected);
        a->value[k] = value;
        return 1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct daemon_args *a)
{
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(daemon_usage, stdout);
            return 1;
        }
        rc = parse_option(argc, argv, &i, a);
        if (rc == 1)
            continue;
        if (rc != 0)
            return rc;
        if (!a->action && argv[i][0] != '-') {
            a->action = argv[i];
            continue;
        }
        return cmd_usage("daemon", "daemon: unexpected argument '%s'", argv[i]);
    }
    if (!a->action)
        return cmd_usage("daemon", "daemon: %s",
                         "missing action: run, start or stop");
    if (strcmp(a->action, "run") && strcmp(a->action, "start")
        && strcmp(a->action, "stop"))
        return cmd_usage("daemon", "daemon: unknown action '%s'", a->action);
    if (statedir_resolve(a->value[DAEMON_OPT_DIR], a->dir, sizeof(a->dir)) < 0)
        return cmd_usage("daemon", "daemon: %s", "directory name too long");
    /* stopping needs no configuration: a broken file must not prevent it */
    if (strcmp(a->action, "stop") != 0 && (rc = read_confs(a)) != 0)
        return rc;
    if ((rc = apply_options(a)) != 0)
        return rc;
    /* the proxies it starts find their node's state where it keeps it */
    if (setenv("SHOAL_DIR", a->dir, 1) < 0)
        return cmd_fail(1, "daemon: %s", strerror(errno));
    a->config.dir = a->dir;
    return 0;
}

/* The daemon's log sink: one line per message on stderr (DIR/daemon.log
 * when detached), with the time to the millisecond, as syslog would. */
static void log_stderr(enum log_level level,
                       enum log_subsys subsys,
                       const char *text,
                       void *arg)
{
    struct timeval tv;
    struct tm tm;
    char when[32];

    (void)arg;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld shoald[%d] %s %s: %s\n", when,
            (long)(tv.tv_usec / 1000), (int)getpid(), log_level_name(level),
            log_subsys_name(subsys), text);
}

static int daemon_foreground(struct daemon_args *a, int report_fd)
{
    shoal_error_t error = {{0}};
    daemon_t *d = NULL;
    int rc;

    cores_t *cores = NULL;
    ownerd_t *owner = NULL;
    guestd_t *guest = NULL;
    gangd_t *gang = NULL;
    struct taskd *tasks = NULL;
    ckpt_service_t *ckpt = NULL;
    char *self = realpath("/proc/self/exe", NULL);

    log_set_sink(log_stderr, NULL);
    LOG(LOG_LEVEL_NOTICE, LOG_DAEMON, "configuration: %s",
        a->confs_read[0] ? a->confs_read : "no file");
    rc = self ? daemon_create(&a->config, &d, &error)
              : shoal_errprintf(&error, -errno,
                                "cannot find the shoal "
                                "program: %s",
                                strerror(errno));
    /* this node's cores: the ledger gang jobs and tasks share */
    if (rc == 0 && (rc = cores_create(d, &cores, &error)) < 0)
        daemon_destroy(d);
    /* the owner of a workstation: whether the cores are lent at all */
    if (rc == 0
        && (rc = ownerd_attach(d, cores, &a->owner, &owner, &error)) < 0) {
        cores_destroy(cores);
        daemon_destroy(d);
    }
    /* guest jobs' limits: a cgroup per job */
    /* a workstation's guests take only the CPU time its owner leaves */
    a->guest.idle_cpu = a->owner.mode == OWNER_MODE_DESKTOP;
    if (rc == 0 && (rc = guestd_attach(d, &a->guest, &guest, &error)) < 0) {
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    /* gang jobs: placing and claiming, and the relay to their proxies */
    if (rc == 0
        && (rc = gangd_attach(d, cores, owner, self, &gang, &error)) < 0) {
        guestd_detach(guest);
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    if (rc == 0)
        gangd_set_guest(gang, guest);
    /* checkpointing gang jobs this node is home to: their journal */
    if (rc == 0 && (rc = gangd_open_journal(gang, a->dir, &error)) < 0) {
        gangd_detach(gang);
        guestd_detach(guest);
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    /* bag-of-tasks jobs: their journal, this node's worker, task.* ops */
    if (rc == 0
        && (rc = taskd_attach(d, cores, owner, a->dir, &tasks, &error)) < 0) {
        gangd_detach(gang);
        guestd_detach(guest);
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    if (rc == 0)
        taskd_set_guest(tasks, guest);
    /* checkpoint copies: ckpt.* ops, copies kept for and fetched from peers */
    if (rc == 0 && (rc = ckpt_service_attach(d, a->dir, &ckpt, &error)) < 0) {
        taskd_destroy(tasks);
        gangd_detach(gang);
        guestd_detach(guest);
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    free(self);
    if (rc < 0) {
        if (report_fd >= 0) {
            ssize_t ignored = write(report_fd, error.text, strlen(error.text));

            (void)ignored;
        }
        fprintf(stderr, "shoal: daemon: %s\n", error.text);
        return 1;
    }
    if (report_fd >= 0)
        close(report_fd);
    daemon_run(d);
    ckpt_service_destroy(ckpt);
    taskd_destroy(tasks);
    gangd_detach(gang);
    guestd_detach(guest);
    ownerd_detach(owner);
    cores_destroy(cores);
    daemon_destroy(d);
    return 0;
}

static int sock_path(const char *dir, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/control.sock", dir);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Ask the daemon in dir for op; returns 0 and the reply, or -1 (printed). */
static int ask(const char *dir, const char *op, int timeout_ms, json_t **reply)
{
    shoal_error_t error = {{0}};
    char path[4200];
    json_t *req;
    int fd, rc;

    sock_path(dir, path, sizeof(path));
    if (control_client_connect(path, &fd, &error) < 0)
        return -1;
    req = json_pack("{s:s}", "op", op);
    rc = control_client_request(fd, req, timeout_ms, reply, &error);
    json_decref(req);
    close(fd);
    return rc < 0 ? -1 : 0;
}

/* The number of other nodes alive, and of messages that failed
 * authentication or connections closed unanswered, as the daemon in dir
 * says; -1 when it does not answer. */
static int pool_view(const char *dir, long long *auth_failed)
{
    json_t *transport;
    json_t *reply = NULL, *m;
    size_t i;
    int others = 0;

    if (ask(dir, "status", 2000, &reply) < 0)
        return -1;
    json_array_foreach (json_object_get(reply, "members"), i, m) {
        const char *state = json_string_value(json_object_get(m, "state"));

        if (!json_is_true(json_object_get(m, "self")) && state
            && strcmp(state, "alive") == 0)
            others++;
    }
    json_decref(reply);
    if (ask(dir, "stats", 2000, &reply) < 0)
        return -1;
    transport = json_object_get(json_object_get(reply, "stats"), "transport");
    *auth_failed =
        json_integer_value(
            json_object_get(json_object_get(transport, "drops"), "auth-failed"))
        + json_integer_value(json_object_get(transport, "unanswered"));
    json_decref(reply);
    return others;
}

/* A daemon told to join: wait a moment for the seeds' answer, and warn
 * when what came back failed authentication, the sign of a daemon given
 * another pool's key, which would otherwise stay alone in silence. */
static void daemon_start_check_join(const char *dir)
{
    long long auth_failed = 0;

    for (int waited = 0; waited < DAEMON_START_JOIN_WAIT_MS; waited += 100) {
        int others = pool_view(dir, &auth_failed);

        if (others != 0)
            return; /* joined, or no answer to give */
        if (auth_failed > 0)
            break;
        usleep(100 * 1000);
    }
    if (auth_failed > 0)
        fprintf(stderr,
                "shoal: daemon: warning: no node answered with the pool key "
                "(%lld messages failed authentication or went unanswered): is "
                "the key the same on every node?\n",
                auth_failed);
}

static int daemon_start(struct daemon_args *a)
{
    char log_path[4200], msg[600];
    int fds[2];
    pid_t pid;
    ssize_t n;
    size_t got = 0;
    json_t *reply = NULL;

    if (fs_mkdir_p(a->dir, 0700) < 0) {
        fprintf(stderr, "shoal: daemon: cannot create '%s': %s\n", a->dir,
                strerror(errno));
        return 1;
    }
    snprintf(log_path, sizeof(log_path), "%s/daemon.log", a->dir);
    if (pipe2(fds, O_CLOEXEC) < 0) {
        perror("shoal: daemon: pipe");
        return 1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("shoal: daemon: fork");
        return 1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

        close(fds[0]);
        setsid();
        if (null < 0 || log < 0)
            _exit(1);
        dup2(null, 0);
        dup2(log, 1);
        dup2(log, 2);
        close(null);
        close(log);
        _exit(daemon_foreground(a, fds[1]));
    }
    close(fds[1]);
    while (got < sizeof(msg) - 1) {
        n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    msg[got] = '\0';
    close(fds[0]);
    if (got > 0) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "shoal: daemon: %s\n", msg);
        return 1;
    }
    /* EOF without a message: it is set up, or it died */
    if (ask(a->dir, "ping", 10000, &reply) < 0) {
        int status;

        if (waitpid(pid, &status, WNOHANG) == pid)
            fprintf(stderr, "shoal: daemon: it exited during start; see '%s'\n",
                    log_path);
        else
            fprintf(stderr, "shoal: daemon: it does not answer; see '%s'\n",
                    log_path);
        return 1;
    }
    json_decref(reply);
    if (a->config.join)
        daemon_start_check_join(a->dir);
    return 0;
}

static int read_pid(const char *dir)
{
    char path[4200];
    FILE *f;
    int pid = 0;

    snprintf(path, sizeof(path), "%s/daemon.pid", dir);
    f = fopen(path, "re");
    if (!f)
        return 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid;
}

/* Whether pid is gone: a daemon started by 'shoal daemon start' is not our
 * child, and its new parent may not have reaped it yet. */
static bool process_gone(int pid)
{
    char path[64], stat[256];
    const char *close_paren;
    FILE *f;
    size_t n;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    if (!f)
        return true;
    n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = '\0';
    close_paren = strrchr(stat, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static int daemon_stop_cmd(struct daemon_args *a)
{
    int pid = read_pid(a->dir);
    json_t *reply = NULL;

    if (ask(a->dir, "stop", 5000, &reply) < 0) {
        fprintf(stderr, "shoal: daemon: no daemon running in '%s'\n", a->dir);
        return 1;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        fprintf(stderr, "shoal: daemon: %s\n",
                json_string_value(json_object_get(reply, "error"))
                    ?: "the daemon refused to stop");
        json_decref(reply);
        return 1;
    }
    if (json_integer_value(json_object_get(reply, "pid")) > 0)
        pid = (int)json_integer_value(json_object_get(reply, "pid"));
    json_decref(reply);
    /* it leaves within a few gossip intervals; allow for a busy machine */
    for (int i = 0; pid > 0 && i < 300; i++) {
        if (process_gone(pid))
            return 0;
        usleep(50000);
    }
    if (pid <= 0)
        return 0;
    fprintf(stderr, "shoal: daemon: pid %d did not exit within 15 s\n", pid);
    return 1;
}

int cmd_daemon(int argc, char **argv)
{
    struct daemon_args a;
    shoal_error_t error;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse_args(argc, argv, &a);
    if (rc == 1)
        rc = 0;
    else if (rc == 0 && strcmp(a.action, "stop") != 0
             && log_configure_env(&error) < 0)
        rc = cmd_fail(CMD_EXIT_USAGE, "daemon: %s", error.text);
    else if (rc == 0 && strcmp(a.action, "run") == 0)
        rc = daemon_foreground(&a, -1);
    else if (rc == 0 && strcmp(a.action, "start") == 0)
        rc = daemon_start(&a);
    else if (rc == 0)
        rc = daemon_stop_cmd(&a);
    for (size_t i = 0; i < sizeof(a.confs) / sizeof(a.confs[0]); i++)
        conf_destroy(a.confs[i]);
    return rc;
}
