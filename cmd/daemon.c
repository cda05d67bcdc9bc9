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
#include "runtime/ckpt/ckpt_service.h"
#include "runtime/job/gangd.h"
#include "runtime/owner/ownerd.h"
#include "runtime/tasks/taskd.h"
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
    "  -h, --help           show this help\n";

struct daemon_args {
    const char *action;
    struct daemon_config config;
    struct ownerd_config owner;
    const char *lend, *owner_idle, *vacate_after;
    char dir[4096];
};

/* how long `daemon start --join` waits for the seeds' first answer */
enum { DAEMON_START_JOIN_WAIT_MS = 1500 };

/* Match "--name VALUE" and "--name=VALUE". */
static int
take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

/* A number of seconds for option name: finite, at least min. */
static int
parse_seconds(const char *name, const char *text, double min, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min)
        return cmd_usage("daemon",
                         "daemon: bad value '%s' for option '%s': expected "
                         "a number of seconds%s",
                         text, name, min > 0 ? " above 0" : "");
    *out = v;
    return 0;
}

/* The owner's options over the SHOAL_OWNER_* tunables. */
static int parse_owner(struct daemon_args *a)
{
    struct ownerd_config given = a->owner;
    shoal_error_t error;

    if (ownerd_config_from_params(&a->owner, &error) < 0)
        return cmd_usage("daemon", "daemon: %s", error.text);
    a->owner.display = given.display;
    a->owner.ttys = given.ttys;
    if (a->lend && owner_mode_parse(a->lend, &a->owner.mode) < 0)
        return cmd_usage("daemon",
                         "daemon: bad value '%s' for option '--lend': "
                         "expected desktop, dedicated or never",
                         a->lend);
    if (a->owner_idle
        && parse_seconds("--owner-idle", a->owner_idle, 1e-3,
                         &a->owner.thresholds.lend_idle))
        return CMD_EXIT_USAGE;
    if (a->vacate_after
        && parse_seconds("--vacate-after", a->vacate_after, 0,
                         &a->owner.thresholds.vacate_after))
        return CMD_EXIT_USAGE;
    return 0;
}

static int parse_args(int argc, char **argv, struct daemon_args *a)
{
    static const char *const valued[] = {
        "--dir",           "--key",        "--listen",      "--advertise",
        "--join",          "--name",       "--lend",        "--owner-idle",
        "--owner-display", "--owner-ttys", "--vacate-after"};
    const char *dir = NULL;
    const char **slot[] = {&dir,
                           &a->config.key_path,
                           &a->config.listen,
                           &a->config.advertise,
                           &a->config.join,
                           &a->config.name,
                           &a->lend,
                           &a->owner_idle,
                           &a->owner.display,
                           &a->owner.ttys,
                           &a->vacate_after};

    for (int i = 0; i < argc; i++) {
        const char *value = NULL;
        int matched = 0;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(daemon_usage, stdout);
            return 1;
        }
        if (strcmp(argv[i], "--discover") == 0) {
            a->config.discover = true;
            continue;
        }
        for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
            matched = take_value(argc, argv, &i, valued[k], &value);
            if (matched < 0)
                return cmd_usage("daemon", "daemon: option '%s' needs a value",
                                 valued[k]);
            if (matched == 0)
                continue;
            if (!*value)
                return cmd_usage("daemon", "daemon: option '%s' needs a value",
                                 valued[k]);
            *slot[k] = value;
            break;
        }
        if (matched)
            continue;
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
    if (parse_owner(a) != 0)
        return CMD_EXIT_USAGE;
    if (statedir_resolve(dir, a->dir, sizeof(a->dir)) < 0)
        return cmd_usage("daemon", "daemon: %s", "directory name too long");
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
    gangd_t *gang = NULL;
    struct taskd *tasks = NULL;
    ckpt_service_t *ckpt = NULL;
    char *self = realpath("/proc/self/exe", NULL);

    log_set_sink(log_stderr, NULL);
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
    /* gang jobs: placing and claiming, and the relay to their proxies */
    if (rc == 0 && (rc = gangd_attach(d, cores, self, &gang, &error)) < 0) {
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    /* bag-of-tasks jobs: their journal, this node's worker, task.* ops */
    if (rc == 0 && (rc = taskd_attach(d, cores, a->dir, &tasks, &error)) < 0) {
        gangd_detach(gang);
        ownerd_detach(owner);
        cores_destroy(cores);
        daemon_destroy(d);
    }
    /* checkpoint copies: ckpt.* ops, copies kept for and fetched from peers */
    if (rc == 0 && (rc = ckpt_service_attach(d, a->dir, &ckpt, &error)) < 0) {
        taskd_destroy(tasks);
        gangd_detach(gang);
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
        return 0;
    if (rc)
        return rc;
    if (strcmp(a.action, "stop") != 0 && log_configure_env(&error) < 0) {
        fprintf(stderr, "shoal: daemon: %s\n", error.text);
        return CMD_EXIT_USAGE;
    }
    if (strcmp(a.action, "run") == 0)
        return daemon_foreground(&a, -1);
    if (strcmp(a.action, "start") == 0)
        return daemon_start(&a);
    return daemon_stop_cmd(&a);
}
