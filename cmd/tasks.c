/* SPDX-License-Identifier: MIT */
/* tasks.c - bag-of-tasks commands: submit, jobs, job, wait, results,
 * output, cancel; and `shoal taskd`, the service that runs them.
 *
 * Every command talks to the node's service over DIR/control.sock. When
 * none answers, the command starts one for the user (the embedded default,
 * as `shoal run` has one): `shoal taskd` detached, logging to
 * DIR/taskd.log, which leaves by itself once no job runs and no client has
 * been connected for taskd_idle_exit seconds. Its journal stays in DIR, so
 * the next command starts it again and finds every job. DIR is --dir, else
 * $SHOAL_DIR, else /var/lib/shoal for root and
 * ${XDG_STATE_HOME:-~/.local/state}/shoal for others. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <uv.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/daemon/control.h"
#include "runtime/guest/guest_cgroup.h"
#include "runtime/tasks/journal.h"
#include "runtime/tasks/task_cmd.h"
#include "runtime/tasks/task_wire.h"
#include "runtime/tasks/taskd.h"
#include "runtime/tasks/taskgen.h"
#include "util/fs.h"
#include "util/nodeid.h"
#include "util/param.h"
#include "util/statedir.h"
#include "runtime/slurm/slurm_alloc.h"
#include "runtime/slurm/slurm_pool.h"

extern char **environ;

PARAM_DEFINE(tasks_idle_exit_param,
             "taskd_idle_exit",
             PARAM_TYPE_DOUBLE,
             "60",
             "seconds a task service started by a command stays with no job "
             "running and no client; 0 keeps it");
/* --- the service's directory and socket ---------------------------------- */

/* The service's directory (util/statedir.h), or NULL when its name is
 * too long (or memory is short). */
static char *tasks_dir(void)
{
    char buf[PATH_MAX];

    if (statedir_resolve(NULL, buf, sizeof(buf)) < 0)
        return NULL;
    return strdup(buf);
}

/* A connection to the service in dir, or a negative errno. */
static int tasks_connect(const char *dir)
{
    char path[PATH_MAX];
    int fd, rc;

    if (snprintf(path, sizeof(path), "%s/control.sock", dir)
        >= (int)sizeof(path))
        return -ENAMETOOLONG;
    rc = control_client_connect(path, &fd, NULL);
    return rc < 0 ? rc : fd;
}

/* Start the service in the background, detached, and wait until it
 * answers. Returns a connected socket or a negative code. */
/* Why a service started by tasks_start_service() ended at once: the last
 * line of its log. */
static char tasks_start_error[1024];

/* The last line of the file at path that the service wrote to say why it
 * stopped ("shoal: ..."), into buf ("" when none). */
static void tasks_last_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    char line[512];

    buf[0] = '\0';
    if (!f)
        return;
    /* the service's own words, not what a sanitizer may add after them */
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "shoal: ", 7) == 0)
            snprintf(buf, size, "%s", line);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* tasks_start_error without the "shoal: " the service's own line has. */
static const char *tasks_start_reason(void)
{
    const char *r = tasks_start_error;

    if (strncmp(r, "shoal: ", 7) == 0)
        r += 7;
    return *r ? r : "see its log, taskd.log";
}

/* Start `shoal taskd` for dir, detached, and connect to it. It inherits
 * the write end of a pipe, so the read end sees EOF the moment it exits:
 * a service that cannot start (a damaged journal, say) is known at once,
 * and -ECHILD is returned with its reason in tasks_start_error, instead
 * of a wait that ends in a time-out. */
static int tasks_start_service(const char *dir)
{
    char log[PATH_MAX];
    int alive[2];
    pid_t pid;

    snprintf(log, sizeof(log), "%s/taskd.log", dir);
    if (pipe2(alive, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        close(alive[0]);
        close(alive[1]);
        return -errno;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        setsid();
        if (fd < 0 || null < 0)
            _exit(1);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        fcntl(alive[1], F_SETFD, 0); /* held by the service until it ends */
        /* a second fork: the service is nobody's child, never a zombie */
        if (fork() != 0)
            _exit(0);
        execl("/proc/self/exe", "shoal", "taskd", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    close(alive[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    for (int i = 0; i < 500; i++) {
        struct pollfd p = {.fd = alive[0], .events = POLLIN};
        int fd = tasks_connect(dir);

        if (fd >= 0) {
            close(alive[0]);
            return fd;
        }
        if (poll(&p, 1, 20) == 1) {
            /* EOF: the service is gone; its log says why */
            close(alive[0]);
            tasks_last_line(log, tasks_start_error, sizeof(tasks_start_error));
            return -ECHILD;
        }
    }
    close(alive[0]);
    return -ETIMEDOUT;
}

/* Inside a Slurm allocation (runtime/slurm/slurm_alloc.h) the service
 * is a pool over the allocated nodes, kept while the allocation lasts,
 * whose home daemon keeps its journal in dir (runtime/slurm/slurm_pool.h):
 * the nodes pull the tasks. Returns a connected socket, -ENOENT outside an
 * allocation (or with SHOAL_POOL=no or SHOAL_SLURM=no), or -ECHILD with
 * the reason in tasks_start_error. */
static int tasks_start_in_allocation(const char *dir)
{
    struct slurm_pool_config config = {0};
    struct slurm_alloc alloc;
    const char *pool = getenv("SHOAL_POOL");
    shoal_error_t error;
    char *self;
    int rc;

    if (pool && strcmp(pool, "no") == 0)
        return -ENOENT;
    rc = slurm_alloc_read(environ, &alloc, &error);
    if (rc == 0)
        return -ENOENT;
    if (rc < 0) {
        snprintf(tasks_start_error, sizeof(tasks_start_error), "%s",
                 error.text);
        return -ECHILD;
    }
    self = realpath("/proc/self/exe", NULL);
    config.shoal = self;
    config.nodes = alloc.nodes;
    config.nnodes = alloc.nnodes;
    config.home_dir = dir;
    rc = self ? slurm_pool_detach(&config, &error) : -ENOMEM;
    if (rc < 0)
        snprintf(tasks_start_error, sizeof(tasks_start_error),
                 "Slurm job %s: %s", alloc.job_id,
                 self ? error.text : "out of memory");
    free(self);
    slurm_alloc_release(&alloc);
    if (rc < 0)
        return -ECHILD;
    rc = tasks_connect(dir);
    return rc >= 0 ? rc : -ECHILD;
}

/* A connection to the service, started if none runs. */
/* Connect to the service of dir, starting one when none answers and start
 * is set; -EHOSTDOWN when dir is a daemon's whose daemon is down: a task
 * service started there would hold the daemon's journal and socket, and
 * keep the restarted daemon out of the pool. */
static int tasks_open(const char *dir, bool start)
{
    int fd = tasks_connect(dir);
    char pid_path[PATH_MAX];

    if (fd >= 0 || !start)
        return fd;
    snprintf(pid_path, sizeof(pid_path), "%s/daemon.pid", dir);
    if (access(pid_path, F_OK) == 0)
        return -EHOSTDOWN;
    if (fs_mkdir_p(dir, 0700) < 0)
        return -errno;
    fd = tasks_start_in_allocation(dir);
    if (fd != -ENOENT)
        return fd;
    return tasks_start_service(dir);
}

/* The nodes alive in the pool of the daemon in dir, as it sees them
 * (itself included); 0 when no daemon answers (the task service alone is
 * this node only). */
static int tasks_pool_nodes(const char *dir)
{
    json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL, *m;
    int fd = dir ? tasks_connect(dir) : -ENAMETOOLONG, alive = 0;
    size_t i;

    if (fd >= 0 && req
        && control_client_request(fd, req, 10000, &reply, NULL) == 0)
        json_array_foreach (json_object_get(reply, "members"), i, m) {
            const char *state = json_string_value(json_object_get(m, "state"));

            alive += state && strcmp(state, "alive") == 0;
        }
    if (fd >= 0)
        close(fd);
    json_decref(req);
    json_decref(reply);
    return alive;
}

/* One request, one reply. Returns the reply (ok true) or NULL after
 * saying what failed. */
static json_t *tasks_call(const char *dir, json_t *req)
{
    int fd = dir ? tasks_open(dir, true) : -ENAMETOOLONG;
    json_t *reply;

    if (!dir) {
        cmd_fail(1, "cannot find the task service: %s", strerror(ENAMETOOLONG));
        json_decref(req);
        return NULL;
    }
    if (fd == -EHOSTDOWN) {
        cmd_fail(1,
                 "the daemon of '%s' does not answer (it left daemon.pid): "
                 "start it again with 'shoal daemon start', or remove "
                 "'%s/daemon.pid' to run tasks on this node alone",
                 dir, dir);
        json_decref(req);
        return NULL;
    }
    if (fd == -ECHILD) {
        cmd_fail(1, "the task service in '%s' could not start: %s", dir,
                 tasks_start_reason());
        json_decref(req);
        return NULL;
    }
    if (fd < 0) {
        cmd_fail(1, "cannot reach the task service in '%s': %s", dir,
                 strerror(-fd));
        json_decref(req);
        return NULL;
    }
    if (control_client_request(fd, req, -1, &reply, NULL) < 0) {
        cmd_fail(1, "the task service in '%s' closed the connection", dir);
        close(fd);
        json_decref(req);
        return NULL;
    }
    close(fd);
    json_decref(req);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        cmd_fail(1, "%s",
                 json_string_value(json_object_get(reply, "error"))
                     ?: "request failed");
        json_decref(reply);
        return NULL;
    }
    return reply;
}

static int tasks_parse_id(const char *cmd, const char *s, uint64_t *id)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (!*s || *end || errno || v == 0 || s[0] == '-')
        return cmd_usage(cmd, "invalid job id '%s'", s);
    *id = v;
    return 0;
}

/* --- shoal taskd --------------------------------------------------------- */

struct tasks_service {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    uv_timer_t idle;
    double idle_exit, idle_since;
    struct taskd *taskd;
    control_t *control;
    bool stop_requested; /* by a "stop" request */
    bool stopping;
};

static double tasks_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tasks_service_stop(struct tasks_service *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    control_destroy(s->control);
    taskd_destroy(s->taskd);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->idle, NULL);
}

static void tasks_service_signal_cb(uv_signal_t *h, int signum)
{
    (void)signum;
    tasks_service_stop(h->data);
}

static void tasks_service_idle_cb(uv_timer_t *h)
{
    struct tasks_service *s = h->data;
    double now = tasks_now();

    if (s->stop_requested) {
        tasks_service_stop(s);
        return;
    }
    if (taskd_busy(s->taskd) || control_clients(s->control) > 0)
        s->idle_since = now;
    else if (s->idle_exit > 0 && now - s->idle_since >= s->idle_exit)
        tasks_service_stop(s);
}

static void tasks_op_ping(control_conn_t *conn, json_t *request, void *arg)
{
    (void)request;
    (void)arg;
    /* not a daemon: `shoal run` and `shoal status` tell it apart by this */
    control_reply(conn, json_pack("{s:s, s:i}", "service", "tasks", "pid",
                                  (int)getpid()));
}

/* The service stops at the next idle check, once the reply is out. */
static void tasks_op_stop(control_conn_t *conn, json_t *request, void *arg)
{
    struct tasks_service *s = arg;

    (void)request;
    /* not a daemon: `shoal run` and `shoal status` tell it apart by this */
    control_reply(conn, json_pack("{s:s, s:i}", "service", "tasks", "pid",
                                  (int)getpid()));
    s->stop_requested = true;
}

/* Serve the task ops, "ping" and "stop" on the control socket at path. */
static int tasks_service_listen(struct tasks_service *s,
                                const char *path,
                                shoal_error_t *error)
{
    int rc = control_create(&s->loop, path, &s->control, error);

    for (size_t i = 0; rc == 0 && taskd_control_ops[i]; i++)
        rc = control_on(s->control, taskd_control_ops[i], taskd_control_op,
                        s->taskd);
    if (rc == 0)
        rc = control_on(s->control, "ping", tasks_op_ping, s);
    if (rc == 0)
        rc = control_on(s->control, "stop", tasks_op_stop, s);
    if (rc == -ENOMEM)
        shoal_errprintf(error, rc, "out of memory");
    return rc;
}

static int tasks_cmd_taskd(int argc, char **argv)
{
    struct tasks_service s = {0};
    struct taskd_config cfg = {0};
    shoal_error_t error = {{0}};
    char *dir = NULL, sock[PATH_MAX], lock[PATH_MAX];
    FILE *pidf;
    int lockfd = -1, rc;

    if (argc == 2 && strcmp(argv[0], "--dir") == 0)
        dir = strdup(argv[1]);
    else if (argc == 0)
        dir = tasks_dir();
    else
        return cmd_usage("taskd", "usage: shoal taskd [--dir DIR]");
    if (!dir || fs_mkdir_p(dir, 0700) < 0) {
        rc = cmd_fail(1, "cannot create '%s': %s", dir ? dir : "?",
                      strerror(errno));
        free(dir);
        return rc;
    }
    snprintf(lock, sizeof(lock), "%s/taskd.lock", dir);
    lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = cmd_fail(1, "a task service already runs in '%s'", dir);
        goto out;
    }
    if (param_get_double(&tasks_idle_exit_param, 0, &s.idle_exit, &error) < 0
        || taskd_config_from_params(&cfg, &error) < 0
        || nodeid_load(dir, &cfg.node_id, &error) < 0) {
        rc = cmd_fail(1, "%s", error.text);
        goto out;
    }
    cfg.dir = dir;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&s.loop);
    rc = taskd_create(&s.loop, &cfg, &s.taskd, &error);
    snprintf(sock, sizeof(sock), "%s/control.sock", dir);
    if (rc == 0)
        rc = tasks_service_listen(&s, sock, &error);
    if (rc < 0) {
        control_destroy(s.control);
        taskd_destroy(s.taskd);
        uv_run(&s.loop, UV_RUN_DEFAULT);
        uv_loop_close(&s.loop);
        rc = cmd_fail(1, "%s", error.text);
        goto out;
    }
    uv_signal_init(&s.loop, &s.sigterm);
    uv_signal_init(&s.loop, &s.sigint);
    uv_timer_init(&s.loop, &s.idle);
    s.sigterm.data = s.sigint.data = s.idle.data = &s;
    uv_signal_start(&s.sigterm, tasks_service_signal_cb, SIGTERM);
    uv_signal_start(&s.sigint, tasks_service_signal_cb, SIGINT);
    s.idle_since = tasks_now();
    uv_timer_start(&s.idle, tasks_service_idle_cb, 100, 100);
    snprintf(lock, sizeof(lock), "%s/taskd.pid", dir);
    pidf = fopen(lock, "we");
    if (pidf) {
        fprintf(pidf, "%d\n", (int)getpid());
        fclose(pidf);
    }
    fprintf(stderr, "shoal taskd: serving '%s' (pid %d)\n", sock,
            (int)getpid());
    uv_run(&s.loop, UV_RUN_DEFAULT);
    uv_loop_close(&s.loop);
    unlink(lock);
    rc = 0;
out:
    free(dir);
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}

/* --- shoal submit -------------------------------------------------------- */

static const char tasks_submit_usage[] =
    "usage: shoal submit [options] (--range A-B | --each-line FILE |\n"
    "                    --param K=V1,V2 ...) -- COMMAND [ARGS...]\n"
    "\n"
    "Run COMMAND once per task; '{}' in it is the task's value (the\n"
    "integer of the range, the line of the file), '{K}' the value of\n"
    "parameter K, '{#}' the task's index; '{{' and '}}' are braces.\n"
    "Prints the job id and returns at once.\n"
    "\n"
    "  --name NAME         a name for the job\n"
    "  --cores C           cores per task, bound (default 1)\n"
    "  --retries R         run a failed task up to R more times (default 0)\n"
    "  --time-limit S      end a task after S seconds (a failure)\n"
    "  --mem SIZE          memory per task, such as 512M or 2G (K, M, G, T:\n"
    "                      powers of 1024): it limits the task's address\n"
    "                      space (RLIMIT_AS), so an allocation past it fails\n"
    "  --range A-B[:S]     one task per integer A..B, every S-th one (A, A+S,\n"
    "                      ...) with :S; or a list such as 1,4,9-12\n"
    "  --each-line FILE    one task per non-empty line of FILE\n"
    "  --param K=V1,V2     one task per combination of parameter values\n"
    "  --after ID[,ID...]  run no task until jobs ID all ended done; if one\n"
    "                      failed or was cancelled, this job fails at once\n"
    "                      (as Slurm's --dependency=afterok)\n"
    "  --checkpoint[=S]    give each task a checkpoint directory (and ask for\n"
    "                      a checkpoint every S seconds, default 60); a task\n"
    "                      run again resumes from its newest version\n"
    "  --checkpoint-dir D  where the tasks' checkpoints are kept: a file\n"
    "                      system every node of a pool shares (default: on\n"
    "                      each node's disk with --replicas 1 on a pool of\n"
    "                      several nodes, else ./shoal-ckpt)\n"
    "  --replicas R        with --checkpoint on a pool: each task checkpoints\n"
    "                      on its node's own disk, each version copied to R\n"
    "                      other nodes; a task run again elsewhere fetches\n"
    "                      its newest version (no shared file system); 1 by\n"
    "                      default on a pool of several nodes, 0 for one\n"
    "                      directory (./shoal-ckpt or --checkpoint-dir)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Tasks run in the directory shoal submit ran in, with its environment\n"
    "plus SHOAL_JOB_ID, SHOAL_TASK_ID, SHOAL_TASK_ATTEMPT and SHOAL_TASK_DIR;\n"
    "their output is kept in $SHOAL_DIR/jobs/ID/task.N/{stdout,stderr}, the\n"
    "directory SHOAL_TASK_DIR names.\n";

/* The value of option name at argv[*i] ("--name V" or "--name=V"); NULL
 * if argv[*i] is not that option. Sets *missing when the value is. */
static const char *
tasks_optval(char **argv, int argc, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int tasks_parse_int(const char *s, long min, long max, long *v)
{
    char *end;

    errno = 0;
    *v = strtol(s, &end, 10);
    return *s && !*end && !errno && *v >= min && *v <= max ? 0 : -EINVAL;
}

/* The environment the tasks get: ours but for the variables the task
 * service sets for each task. A new vector (caller frees it, not its
 * strings, which are environ's), or NULL. */
static char **tasks_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    /* three more: the job's checkpoint settings */
    env = calloc(n + 4, sizeof(*env));
    for (size_t i = 0; env && i < n; i++)
        if (strncmp(environ[i], "SHOAL_JOB_ID=", 13)
            && strncmp(environ[i], "SHOAL_TASK_", 11)
            && strncmp(environ[i], "SHOAL_CKPT_", 11))
            env[k++] = environ[i];
    return env;
}

/* "3,4" as a JSON array of ids, or NULL when it is not a comma list of
 * job ids (at most TASKD_AFTER_MAX). */
static json_t *tasks_parse_after(const char *s)
{
    json_t *a = json_array();

    for (;;) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
        if (!a || v == 0 || errno || (*end != ',' && *end != '\0')
            || json_array_size(a) >= TASKD_AFTER_MAX
            || json_array_append_new(a, json_integer((json_int_t)v)) < 0) {
            json_decref(a);
            return NULL;
        }
        if (*end == '\0')
            return a;
        s = end + 1;
    }
}

static int tasks_cmd_submit(int argc, char **argv)
{
    struct taskgen *gen = NULL;
    shoal_error_t error = {{0}};
    const char *name = NULL, *v;
    long cores = 1, retries = 0;
    uint64_t mem = 0;
    double limit = 0, ckpt_interval = 60;
    const char *ckpt_dir = NULL;
    json_t *after = NULL;
    bool ckpt = false;
    long replicas = 0;
    bool replicas_given = false;
    char *ckpt_root = NULL, *ckpt_every = NULL, *ckpt_replicas = NULL;
    int i, dash = -1, rc = 0;
    char *dir, cwd[PATH_MAX], *end;
    struct task_cmd cmd;
    json_t *req, *reply;

    if (argc == 1
        && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(tasks_submit_usage, stdout);
        return 0;
    }
    if (taskgen_create(&gen) < 0)
        return cmd_fail(1, "out of memory");
    for (i = 0; i < argc && rc == 0; i++) {
        bool missing = false;

        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
        if (strcmp(argv[i], "--checkpoint") == 0)
            ckpt = true;
        else if (strncmp(argv[i], "--checkpoint=", 13) == 0) {
            ckpt = true;
            ckpt_interval = strtod(argv[i] + 13, &end);
            if (!argv[i][13] || *end || !(ckpt_interval > 0)
                || ckpt_interval > 1e9)
                rc = cmd_usage("submit", "invalid checkpoint interval '%s'",
                               argv[i] + 13);
        } else if ((v = tasks_optval(argv, argc, &i, "--checkpoint-dir",
                                     &missing))) {
            ckpt = true;
            ckpt_dir = v;
            if (!*v)
                rc = cmd_usage("submit", "--checkpoint-dir needs a directory");
        } else if ((v = tasks_optval(argv, argc, &i, "--replicas", &missing))) {
            replicas_given = true;
            if (tasks_parse_int(v, 0, 64, &replicas) < 0)
                rc = cmd_usage("submit",
                               "invalid --replicas '%s': expected 0 to 64", v);
        } else if ((v = tasks_optval(argv, argc, &i, "--name", &missing)))
            name = v;
        else if ((v = tasks_optval(argv, argc, &i, "--after", &missing))) {
            json_decref(after);
            after = tasks_parse_after(v);
            if (!after)
                rc = cmd_usage("submit",
                               "invalid --after '%s': expected job ids "
                               "such as 3 or 3,4",
                               v);
        } else if ((v = tasks_optval(argv, argc, &i, "--cores", &missing))) {
            if (tasks_parse_int(v, 1, 4096, &cores) < 0)
                rc = cmd_usage("submit", "invalid --cores '%s'", v);
        } else if ((v = tasks_optval(argv, argc, &i, "--retries", &missing))) {
            if (tasks_parse_int(v, 0, 1000, &retries) < 0)
                rc = cmd_usage("submit", "invalid --retries '%s'", v);
        } else if ((v = tasks_optval(argv, argc, &i, "--time-limit",
                                     &missing))) {
            limit = strtod(v, &end);
            if (!*v || *end || !(limit > 0) || limit > 1e9)
                rc = cmd_usage("submit", "invalid --time-limit '%s'", v);
        } else if ((v = tasks_optval(argv, argc, &i, "--mem", &missing))) {
            shoal_error_t ignored = {{0}};

            if (strchr(v, '%') || guest_size_parse(v, 0, &mem, &ignored) < 0
                || mem < (1u << 20))
                rc = cmd_usage("submit",
                               "invalid --mem '%s': expected a size of at "
                               "least 1M such as 512M or 2G",
                               v);
        } else if ((v = tasks_optval(argv, argc, &i, "--range", &missing))) {
            if (taskgen_set_range(gen, v, &error) < 0)
                rc = cmd_usage("submit", "%s", error.text);
        } else if ((v = tasks_optval(argv, argc, &i, "--each-line",
                                     &missing))) {
            if (taskgen_set_lines(gen, v, &error) < 0)
                rc = cmd_usage("submit", "%s", error.text);
        } else if ((v = tasks_optval(argv, argc, &i, "--param", &missing))) {
            if (taskgen_add_param(gen, v, &error) < 0)
                rc = cmd_usage("submit", "%s", error.text);
        } else if (missing)
            rc = cmd_usage("submit", "option '%s' needs a value", argv[i]);
        else if (argv[i][0] == '-')
            rc = cmd_usage("submit", "unknown option '%s'", argv[i]);
        else
            rc = cmd_usage("submit", "missing '--' before the command '%s'",
                           argv[i]);
        if (missing && rc == 0)
            rc = cmd_usage("submit", "option '%s' needs a value", argv[i]);
    }
    if (rc == 0 && dash < 0)
        rc = cmd_usage("submit", "missing '--' and a command");
    if (rc == 0 && replicas_given && !ckpt)
        rc = cmd_usage("submit", "option '--replicas' needs --checkpoint");
    if (rc == 0 && replicas > 0 && ckpt_dir)
        rc = cmd_usage("submit", "options '--replicas' and "
                                 "'--checkpoint-dir' exclude each other: "
                                 "with --replicas each node keeps the "
                                 "checkpoints in its state directory");
    if (rc == 0 && dash == argc - 1)
        rc = cmd_usage("submit", "no command after '--'");
    if (rc == 0 && taskgen_finish(gen, 0, &error) < 0)
        rc = cmd_usage("submit", "%s", error.text);
    if (rc == 0
        && taskgen_check_command(gen, argc - dash - 1, argv + dash + 1, &error)
               < 0)
        rc = cmd_usage("submit", "%s", error.text);
    if (rc == 0 && !getcwd(cwd, sizeof(cwd)))
        rc = cmd_fail(1, "cannot get the current directory: %s",
                      strerror(errno));
    if (rc != 0) {
        json_decref(after);
        taskgen_destroy(gen);
        return rc;
    }
    cmd =
        (struct task_cmd){.argv = calloc((size_t)(argc - dash), sizeof(char *)),
                          .env = tasks_env(),
                          .wdir = cwd,
                          .time_limit = limit,
                          .mem = mem};
    for (i = dash + 1; cmd.argv && i < argc; i++)
        cmd.argv[i - dash - 1] = argv[i];
    /* on a pool of several nodes, each version on its task's node and one
     * other unless the user chose (--replicas 0: one shared directory) */
    if (ckpt && !replicas_given && !ckpt_dir) {
        char *sdir = tasks_dir();

        if (tasks_pool_nodes(sdir) > 1)
            replicas = 1;
        free(sdir);
    }
    if (ckpt && cmd.env) {
        /* one directory per submission; each task's store is ROOT/taskN */
        char stamp[32], host[128] = "localhost";
        time_t now = time(NULL);
        struct tm tm;
        size_t n = 0;

        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        gethostname(host, sizeof(host) - 1);
        if (!ckpt_dir)
            ckpt_dir = "shoal-ckpt";
        /* with --replicas: on each node's disk, under STATE/ckpt-jobs */
        if ((replicas > 0 ? asprintf(&ckpt_root,
                                     "SHOAL_CKPT_ROOT=@state/tasks-%s-%s-%ld",
                                     stamp, host, (long)getpid())
                          : asprintf(&ckpt_root,
                                     "SHOAL_CKPT_ROOT=%s%s%s/tasks-%s-%s-%ld",
                                     ckpt_dir[0] == '/' ? "" : cwd,
                                     ckpt_dir[0] == '/' ? "" : "/", ckpt_dir,
                                     stamp, host, (long)getpid()))
                < 0
            || asprintf(&ckpt_every, "SHOAL_CKPT_INTERVAL=%g", ckpt_interval)
                   < 0
            || (replicas > 0
                && asprintf(&ckpt_replicas, "SHOAL_CKPT_REPLICAS=%ld", replicas)
                       < 0)) {
            ckpt_root = ckpt_every = ckpt_replicas = NULL;
        } else {
            while (cmd.env[n])
                n++;
            cmd.env[n] = ckpt_root;
            cmd.env[n + 1] = ckpt_every;
            cmd.env[n + 2] = ckpt_replicas;
        }
    }
    req = json_pack("{s:s, s:i, s:i, s:o}", "op", "task.submit", "cores",
                    (int)cores, "retries", (int)retries, "spec",
                    taskgen_spec(gen));
    rc = cmd.argv && cmd.env && req && (!ckpt || ckpt_every)
             ? task_cmd_pack(&cmd, req)
             : -ENOMEM;
    free(cmd.argv);
    free(cmd.env);
    free(ckpt_root);
    free(ckpt_every);
    free(ckpt_replicas);
    if (rc == 0 && name
        && json_object_set_new(req, "name", json_string(name)) < 0)
        rc = -ENOMEM;
    if (rc == 0 && after && json_object_set(req, "after", after) < 0)
        rc = -ENOMEM;
    json_decref(after);
    if (rc < 0) {
        json_decref(req);
        taskgen_destroy(gen);
        return cmd_fail(1, "out of memory");
    }
    taskgen_destroy(gen);
    dir = tasks_dir();
    reply = tasks_call(dir, req);
    free(dir);
    if (!reply)
        return 1;
    printf("%" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(reply, "id")));
    json_decref(reply);
    return 0;
}

/* --- shoal jobs, job, cancel --------------------------------------------- */

static json_int_t tasks_int(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A job object as `jobs --json` and `job --json` print it: every key of
 * the schema present (name and reason null when there is none), node ids
 * out of it. */
static void tasks_job_json_fill(json_t *job)
{
    if (!json_object_get(job, "name"))
        json_object_set_new(job, "name", json_null());
    if (!json_object_get(job, "reason"))
        json_object_set_new(job, "reason", json_null());
}

static const char tasks_jobs_usage[] =
    "usage: shoal jobs [--json] [--name NAME] [--state STATE]";

static int tasks_cmd_jobs(int argc, char **argv)
{
    const char *name = NULL, *state = NULL, *v;
    bool json = false;
    json_t *reply, *job, *req;
    char *dir;
    size_t i;

    for (int k = 0; k < argc; k++) {
        bool missing = false;

        if (strcmp(argv[k], "--json") == 0)
            json = true;
        else if ((v = tasks_optval(argv, argc, &k, "--name", &missing)))
            name = v;
        else if ((v = tasks_optval(argv, argc, &k, "--state", &missing))) {
            if (journal_job_state_parse(v) < 0)
                return cmd_usage("jobs",
                                 "invalid --state '%s': expected running, "
                                 "done, failed or cancelled",
                                 v);
            state = v;
        } else if (missing)
            return cmd_usage("jobs", "option '%s' needs a value", argv[k]);
        else if (argv[k][0] == '-')
            return cmd_usage("jobs", "unknown option '%s'", argv[k]);
        else
            return cmd_usage("jobs", "%s", tasks_jobs_usage);
    }
    req = json_pack("{s:s}", "op", "task.jobs");
    if (name)
        json_object_set_new(req, "name", json_string(name));
    if (state)
        json_object_set_new(req, "state", json_string(state));
    dir = tasks_dir();
    reply = tasks_call(dir, req);
    free(dir);
    if (!reply)
        return 1;
    if (json) {
        json_t *jobs = json_object_get(reply, "jobs");
        char *text;

        json_array_foreach (jobs, i, job)
            tasks_job_json_fill(job);
        text = json_dumps(jobs, JSON_INDENT(1));
        puts(text ? text : "[]");
        free(text);
        json_decref(reply);
        return 0;
    }
    /* LEASED: handed to a node that has not started them yet (prefetched
     * behind its running tasks) */
    printf("%-6s %-16s %-9s %8s %8s %8s %8s %8s %8s\n", "ID", "NAME", "STATE",
           "TASKS", "DONE", "RUNNING", "LEASED", "QUEUED", "FAILED");
    json_array_foreach (json_object_get(reply, "jobs"), i, job) {
        printf("%-6" JSON_INTEGER_FORMAT " %-16s %-9s %8" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT "\n",
               tasks_int(job, "id"),
               json_string_value(json_object_get(job, "name")) ?: "-",
               json_string_value(json_object_get(job, "state")),
               tasks_int(job, "ntasks"), tasks_int(job, "done"),
               tasks_int(job, "running"), tasks_int(job, "leased"),
               tasks_int(job, "queued"), tasks_int(job, "failed"));
        /* why it waits, under its row, as squeue's (REASON) */
        if (json_is_string(json_object_get(job, "reason")))
            printf("       (%s)\n",
                   json_string_value(json_object_get(job, "reason")));
    }
    json_decref(reply);
    return 0;
}

static void tasks_print_time(const char *label, double t)
{
    char text[64];
    time_t s = (time_t)t;
    struct tm tm;

    if (t <= 0) {
        printf("%-14s -\n", label);
        return;
    }
    localtime_r(&s, &tm);
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
    printf("%-14s %s\n", label, text);
}

static int tasks_cmd_job(int argc, char **argv)
{
    json_t *reply, *job, *a;
    const char *ids = NULL;
    bool json = false;
    uint64_t id;
    char *dir;
    size_t i;
    int rc;

    for (int k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0)
            json = true;
        else if (argv[k][0] == '-')
            return cmd_usage("job", "unknown option '%s'", argv[k]);
        else if (!ids)
            ids = argv[k];
        else
            return cmd_usage("job", "usage: shoal job ID [--json]");
    }
    if (!ids)
        return cmd_usage("job", "usage: shoal job ID [--json]");
    rc = tasks_parse_id("job", ids, &id);
    if (rc)
        return rc;
    dir = tasks_dir();
    reply = tasks_call(
        dir, json_pack("{s:s, s:I}", "op", "task.job", "id", (json_int_t)id));
    free(dir);
    if (!reply)
        return 1;
    job = json_object_get(reply, "job");
    if (json) {
        char *text;

        tasks_job_json_fill(job);
        text = json_dumps(job, JSON_INDENT(1));
        puts(text ? text : "{}");
        free(text);
        json_decref(reply);
        return 0;
    }
    printf("%-14s %" JSON_INTEGER_FORMAT "\n", "id", tasks_int(job, "id"));
    printf("%-14s %s\n", "name",
           json_string_value(json_object_get(job, "name")) ?: "-");
    printf("%-14s %s\n", "state",
           json_string_value(json_object_get(job, "state")));
    if (json_is_string(json_object_get(job, "reason")))
        printf("%-14s %s\n", "reason",
               json_string_value(json_object_get(job, "reason")));
    if (json_array_size(json_object_get(job, "after")) > 0) {
        printf("%-14s", "after");
        json_array_foreach (json_object_get(job, "after"), i, a)
            printf("%s%" JSON_INTEGER_FORMAT, i ? "," : " ",
                   json_integer_value(a));
        putchar('\n');
    }
    if (json_is_integer(json_object_get(job, "resubmit_of")))
        printf("%-14s %" JSON_INTEGER_FORMAT "\n", "resubmit of",
               tasks_int(job, "resubmit_of"));
    printf("%-14s", "command");
    json_array_foreach (json_object_get(job, "argv"), i, a)
        printf(" %s", json_string_value(a));
    printf("\n%-14s %s\n", "directory",
           json_string_value(json_object_get(job, "wdir")));
    printf("%-14s %" JSON_INTEGER_FORMAT "\n", "cores/task",
           tasks_int(job, "cores"));
    printf("%-14s %" JSON_INTEGER_FORMAT "\n", "retries",
           tasks_int(job, "retries"));
    printf("%-14s %g\n", "time limit",
           json_number_value(json_object_get(job, "time_limit")));
    if (tasks_int(job, "mem") > 0)
        printf("%-14s %" JSON_INTEGER_FORMAT " MiB\n", "memory/task",
               tasks_int(job, "mem") >> 20);
    printf("%-14s %" JSON_INTEGER_FORMAT "\n", "tasks",
           tasks_int(job, "ntasks"));
    static const char *const keys[] = {"done",         "running", "leased",
                                       "queued",       "failed",  "cancelled",
                                       "stale_reports"};
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        printf("%-14s %" JSON_INTEGER_FORMAT "\n", keys[i],
               tasks_int(job, keys[i]));
    tasks_print_time("submitted",
                     json_number_value(json_object_get(job, "submitted")));
    tasks_print_time("finished",
                     json_number_value(json_object_get(job, "finished")));
    json_decref(reply);
    return 0;
}

static int tasks_cmd_cancel(int argc, char **argv)
{
    json_t *reply;
    uint64_t id;
    char *dir;
    int rc;

    if (argc != 1)
        return cmd_usage("cancel", "usage: shoal cancel ID");
    rc = tasks_parse_id("cancel", argv[0], &id);
    if (rc)
        return rc;
    dir = tasks_dir();
    reply = tasks_call(dir, json_pack("{s:s, s:I}", "op", "task.cancel", "id",
                                      (json_int_t)id));
    free(dir);
    if (!reply)
        return 1;
    printf("job %" PRIu64 " cancelled (%" JSON_INTEGER_FORMAT " tasks)\n", id,
           tasks_int(reply, "cancelled"));
    json_decref(reply);
    return 0;
}

static const char tasks_resubmit_usage[] =
    "usage: shoal resubmit ID [--failed]";

static int tasks_cmd_resubmit(int argc, char **argv)
{
    const char *ids = NULL;
    bool failed = false;
    json_t *reply;
    uint64_t id;
    char *dir;
    int rc;

    for (int k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--failed") == 0)
            failed = true;
        else if (argv[k][0] == '-')
            return cmd_usage("resubmit", "unknown option '%s'", argv[k]);
        else if (!ids)
            ids = argv[k];
        else
            return cmd_usage("resubmit", "%s", tasks_resubmit_usage);
    }
    if (!ids)
        return cmd_usage("resubmit", "%s", tasks_resubmit_usage);
    rc = tasks_parse_id("resubmit", ids, &id);
    if (rc)
        return rc;
    dir = tasks_dir();
    reply = tasks_call(dir, json_pack("{s:s, s:I, s:b}", "op", "task.resubmit",
                                      "id", (json_int_t)id, "failed", failed));
    free(dir);
    if (!reply)
        return 1;
    printf("%" JSON_INTEGER_FORMAT "\n", tasks_int(reply, "id"));
    json_decref(reply);
    return 0;
}

/* --- shoal wait ---------------------------------------------------------- */

struct tasks_rate {
    double t0;
    json_int_t ended0;
    bool have0;
};

static json_int_t tasks_ended(const json_t *job)
{
    return tasks_int(job, "done") + tasks_int(job, "failed")
           + tasks_int(job, "cancelled");
}

static void tasks_show_progress(const json_t *job,
                                struct tasks_rate *r,
                                bool tty,
                                double *last_line)
{
    json_int_t n = tasks_int(job, "ntasks"), ended = tasks_ended(job);
    double now = tasks_now(), rate = 0, eta = -1;
    char bar[41];
    int width = 40, fill;

    if (!r->have0) {
        r->t0 = now;
        r->ended0 = ended;
        r->have0 = true;
    }
    if (now > r->t0 + 0.2 && ended > r->ended0) {
        rate = (double)(ended - r->ended0) / (now - r->t0);
        eta = (double)(n - ended) / rate;
    }
    if (tty) {
        fill = n ? (int)(width * ended / n) : width;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(width - fill));
        bar[width] = '\0';
        fprintf(stderr,
                "\r[%s] %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
                " %" JSON_INTEGER_FORMAT " run %" JSON_INTEGER_FORMAT
                " fail %.0f/s",
                bar, ended, n, tasks_int(job, "running"),
                tasks_int(job, "failed"), rate);
        if (eta >= 0)
            fprintf(stderr, " ETA %.0fs  ", eta);
        else
            fputs(" ETA -    ", stderr);
        fflush(stderr);
        return;
    }
    if (now - *last_line < 1.0)
        return;
    *last_line = now;
    printf("job %" JSON_INTEGER_FORMAT ": %" JSON_INTEGER_FORMAT
           "/%" JSON_INTEGER_FORMAT " ended, %" JSON_INTEGER_FORMAT
           " running, %" JSON_INTEGER_FORMAT " failed, %.0f tasks/s\n",
           tasks_int(job, "id"), ended, n, tasks_int(job, "running"),
           tasks_int(job, "failed"), rate);
    fflush(stdout);
}

static int tasks_cmd_wait(int argc, char **argv)
{
    struct tasks_rate rate = {0};
    bool tty = isatty(STDERR_FILENO), shown = false;
    double last_line = 0, lost_since = 0;
    json_t *msg = NULL, *job;
    const char *state;
    uint64_t id;
    char *dir;
    int rc, fd;

    if (argc != 1)
        return cmd_usage("wait", "usage: shoal wait ID");
    rc = tasks_parse_id("wait", argv[0], &id);
    if (rc)
        return rc;
    dir = tasks_dir();
    if (!dir)
        return cmd_fail(1, "cannot find the task service: %s",
                        strerror(ENAMETOOLONG));
    /* A service that goes away mid-job (restarted, crashed) is started
     * again and the wait carries on; the journal holds the job. A daemon
     * that goes away is waited for, never replaced by a service. */
    for (;;) {
        fd = tasks_open(dir, true);
        if (fd == -ECHILD) {
            cmd_fail(1, "the task service in '%s' could not start: %s", dir,
                     tasks_start_reason());
            free(dir);
            return 1;
        }
        if (fd >= 0) {
            json_t *req = json_pack("{s:s, s:I}", "op", "task.wait", "id",
                                    (json_int_t)id);

            rc = control_client_send_json(fd, req);
            json_decref(req);
            msg = NULL;
            while (rc == 0
                   && control_client_recv_json(fd, -1, &msg, NULL) == 0) {
                lost_since = 0;
                if (json_object_get(msg, "progress")) {
                    tasks_show_progress(json_object_get(msg, "progress"), &rate,
                                        tty, &last_line);
                    shown = true;
                    json_decref(msg);
                    msg = NULL;
                    continue;
                }
                break;
            }
            close(fd);
            if (msg)
                break;
        }
        if (!lost_since)
            lost_since = tasks_now();
        if (tasks_now() - lost_since > 60) {
            if (fd == -EHOSTDOWN)
                cmd_fail(1,
                         "the daemon of '%s' has not come back in 60 s: "
                         "start it again with 'shoal daemon start', then "
                         "'shoal wait %" PRIu64 "'",
                         dir, id);
            else
                cmd_fail(1, "lost the task service in '%s'", dir);
            free(dir);
            return 1;
        }
        usleep(200000);
    }
    free(dir);
    if (tty && shown)
        fputc('\n', stderr);
    if (!json_is_true(json_object_get(msg, "ok"))) {
        cmd_fail(1, "%s",
                 json_string_value(json_object_get(msg, "error")) ?: "?");
        json_decref(msg);
        return 1;
    }
    job = json_object_get(msg, "job");
    state = json_string_value(json_object_get(job, "state"));
    printf("job %" PRIu64 " %s: %" JSON_INTEGER_FORMAT
           " done, %" JSON_INTEGER_FORMAT " failed, %" JSON_INTEGER_FORMAT
           " cancelled of %" JSON_INTEGER_FORMAT " in %.1fs\n",
           id, state, tasks_int(job, "done"), tasks_int(job, "failed"),
           tasks_int(job, "cancelled"), tasks_int(job, "ntasks"),
           json_number_value(json_object_get(job, "finished"))
               - json_number_value(json_object_get(job, "submitted")));
    rc = strcmp(state, "done") == 0 ? 0 : 1;
    json_decref(msg);
    return rc;
}

/* --- shoal results, output ----------------------------------------------- */

enum tasks_format { TASKS_TABLE, TASKS_JSON, TASKS_CSV };

static void tasks_csv_field(const char *s)
{
    if (!s) {
        putchar(',');
        return;
    }
    if (strpbrk(s, ",\"\n\r")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else
        fputs(s, stdout);
    putchar(',');
}

/* "value" for a range or a line, "k=v k2=v2" for parameters. */
static char *tasks_params_text(const json_t *params)
{
    const char *key;
    json_t *v;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    json_object_foreach ((json_t *)params, key, v) {
        if (len || ftell(f) > 0)
            fputc(' ', f);
        if (*key)
            fprintf(f, "%s=", key);
        fputs(json_string_value(v) ?: "", f);
    }
    fclose(f);
    return out;
}

static void tasks_print_row(const json_t *t, enum tasks_format fmt)
{
    char *params = tasks_params_text(json_object_get(t, "params"));
    json_t *status = json_object_get(t, "status");
    char num[64];

    if (fmt == TASKS_CSV) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 tasks_int(t, "task"));
        tasks_csv_field(num);
        tasks_csv_field(params);
        tasks_csv_field(json_string_value(json_object_get(t, "state")));
        snprintf(num, sizeof(num), "%016" PRIx64,
                 (uint64_t)tasks_int(t, "node"));
        tasks_csv_field(num);
        snprintf(num, sizeof(num), "%.6f",
                 json_number_value(json_object_get(t, "start")));
        tasks_csv_field(num);
        snprintf(num, sizeof(num), "%.6f",
                 json_number_value(json_object_get(t, "end")));
        tasks_csv_field(num);
        if (json_is_integer(status))
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(status));
        else
            num[0] = '\0';
        tasks_csv_field(num);
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 tasks_int(t, "attempts"));
        tasks_csv_field(num);
        tasks_csv_field(json_string_value(json_object_get(t, "stdout")));
        fputs(json_string_value(json_object_get(t, "stderr")) ?: "", stdout);
        putchar('\n');
    } else {
        printf("%6" JSON_INTEGER_FORMAT " %-9s %6s %8" JSON_INTEGER_FORMAT
               " %8.3f  %s\n",
               tasks_int(t, "task"),
               json_string_value(json_object_get(t, "state")),
               json_is_integer(status)
                   ? (snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                               json_integer_value(status)),
                      num)
                   : "-",
               tasks_int(t, "attempts"),
               json_number_value(json_object_get(t, "end"))
                       > json_number_value(json_object_get(t, "start"))
                   ? json_number_value(json_object_get(t, "end"))
                         - json_number_value(json_object_get(t, "start"))
                   : 0.0,
               params ? params : "");
    }
    free(params);
}

static const char tasks_results_usage[] =
    "usage: shoal results ID [--json|--csv] [--failed]";

static int tasks_cmd_results(int argc, char **argv)
{
    enum tasks_format fmt = TASKS_TABLE;
    json_int_t first = 0;
    bool any = false, only_failed = false;
    const char *ids = NULL;
    uint64_t id;
    char *dir;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            fmt = TASKS_JSON;
        else if (strcmp(argv[i], "--csv") == 0)
            fmt = TASKS_CSV;
        else if (strcmp(argv[i], "--failed") == 0)
            only_failed = true;
        else if (argv[i][0] == '-')
            return cmd_usage("results", "unknown option '%s'", argv[i]);
        else if (!ids)
            ids = argv[i];
        else
            return cmd_usage("results", "%s", tasks_results_usage);
    }
    if (!ids)
        return cmd_usage("results", "%s", tasks_results_usage);
    rc = tasks_parse_id("results", ids, &id);
    if (rc)
        return rc;
    dir = tasks_dir();
    if (!dir)
        return cmd_fail(1, "cannot find the task service: %s",
                        strerror(ENAMETOOLONG));
    if (fmt == TASKS_CSV)
        puts("task,params,state,node,start,end,status,attempts,stdout,"
             "stderr");
    else if (fmt == TASKS_TABLE)
        printf("%6s %-9s %6s %8s %8s  %s\n", "TASK", "STATE", "STATUS",
               "ATTEMPTS", "SECONDS", "PARAMS");
    else
        putchar('[');
    for (;;) {
        json_t *reply = tasks_call(
            dir, json_pack("{s:s, s:I, s:I, s:i}", "op", "task.results", "id",
                           (json_int_t)id, "first", first, "max", 5000));
        json_t *t, *next;
        size_t i;

        if (!reply) {
            free(dir);
            return 1;
        }
        json_array_foreach (json_object_get(reply, "tasks"), i, t) {
            const char *st = json_string_value(json_object_get(t, "state"));

            if (only_failed && (!st || strcmp(st, "failed") != 0))
                continue;
            if (fmt == TASKS_JSON) {
                char *text, node[24];

                /* a 64-bit id as a JSON number is read as another id by
                 * jq and JavaScript (doubles): the CSV's hex string */
                snprintf(node, sizeof(node), "%016" PRIx64,
                         (uint64_t)tasks_int(t, "node"));
                json_object_set_new(t, "node", json_string(node));
                text = json_dumps(t, JSON_COMPACT);

                printf("%s\n%s", any ? "," : "", text);
                free(text);
            } else
                tasks_print_row(t, fmt);
            any = true;
        }
        next = json_object_get(reply, "next");
        first = json_integer_value(next);
        json_decref(reply);
        if (!json_is_integer(next))
            break;
    }
    if (fmt == TASKS_JSON)
        puts("\n]");
    free(dir);
    return 0;
}

static int tasks_copy_file(const char *path, FILE *to)
{
    char buf[65536];
    size_t n;
    FILE *f = fopen(path, "re");

    if (!f)
        return -errno;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, to);
    fclose(f);
    fflush(to);
    return 0;
}

/* Output fetched from the node that ran the task, as base64. */
static int tasks_write_b64(const char *text, FILE *to)
{
    char *data;
    size_t len;
    int rc = task_wire_b64_decode(text, &data, &len);

    if (rc < 0)
        return rc;
    fwrite(data, 1, len, to);
    fflush(to);
    free(data);
    return 0;
}

/* The task's counters file (t's "counters" path or "counters_data") into
 * a new file path; nothing when the task left none. 0 or a negative
 * code. */
static int tasks_write_counters(const json_t *t, const char *path)
{
    const char *data = json_string_value(json_object_get(t, "counters_data"));
    const char *from = json_string_value(json_object_get(t, "counters"));
    FILE *f;
    int rc;

    if (!data && !from)
        return 0;
    f = fopen(path, "wxe");
    if (!f)
        return -errno;
    rc = data ? tasks_write_b64(data, f) : tasks_copy_file(from, f);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        unlink(path);
    return rc;
}

static int tasks_cmd_output(int argc, char **argv)
{
    static const char usage[] = "usage: shoal output ID TASK [--counters FILE]";
    json_t *reply, *t;
    const char *out, *err, *state, *reason, *counters = NULL;
    const char *words[2];
    size_t nwords = 0;
    long task;
    uint64_t id;
    char *dir;
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--counters") == 0) {
            if (++i == argc || !*argv[i])
                return cmd_usage("output", "--counters needs a file");
            counters = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1])
            return cmd_usage("output", "unknown option '%s'", argv[i]);
        else if (nwords < 2)
            words[nwords++] = argv[i];
        else
            return cmd_usage("output", "%s", usage);
    }
    if (nwords != 2)
        return cmd_usage("output", "%s", usage);
    rc = tasks_parse_id("output", words[0], &id);
    if (rc)
        return rc;
    if (tasks_parse_int(words[1], 0, LONG_MAX, &task) < 0)
        return cmd_usage("output", "invalid task index '%s'", words[1]);
    dir = tasks_dir();
    reply =
        tasks_call(dir, json_pack("{s:s, s:I, s:I}", "op", "task.output", "id",
                                  (json_int_t)id, "task", (json_int_t)task));
    free(dir);
    if (!reply)
        return 1;
    t = json_object_get(reply, "task");
    out = json_string_value(json_object_get(t, "stdout"));
    err = json_string_value(json_object_get(t, "stderr"));
    state = json_string_value(json_object_get(t, "state"));
    reason = json_string_value(json_object_get(t, "reason"));
    if ((!out || !err) && state && strcmp(state, "failed") == 0) {
        /* it never ran: what stopped it is all there is to show */
        rc =
            cmd_fail(1, "task %ld of job %" PRIu64 " failed without output: %s",
                     task, id, reason ? reason : "no reason recorded");
    } else if (!out || !err) {
        rc = cmd_fail(1, "task %ld of job %" PRIu64 " has no output yet (%s)",
                      task, id, state ? state : "unknown");
    } else if (json_is_string(json_object_get(t, "stdout_data"))) {
        if (tasks_write_b64(
                json_string_value(json_object_get(t, "stdout_data")), stdout)
                < 0
            || tasks_write_b64(
                   json_string_value(json_object_get(t, "stderr_data")), stderr)
                   < 0)
            rc = cmd_fail(1,
                          "cannot read the output of task %ld: malformed "
                          "answer",
                          task);
    } else if (tasks_copy_file(out, stdout) < 0
               || tasks_copy_file(err, stderr) < 0) {
        rc = cmd_fail(1, "cannot read the output of task %ld: %s", task,
                      strerror(errno));
    }
    if (rc == 0 && counters && out && err) {
        int c = tasks_write_counters(t, counters);

        if (c < 0)
            rc =
                cmd_fail(1, "cannot write the counters of task %ld to '%s': %s",
                         task, counters, shoal_strerror(c));
    }
    json_decref(reply);
    return rc;
}

/* What `shoal CMD --help` prints for the commands that look at jobs: the
 * arguments, then every option on a line of its own. */
static const struct tasks_help {
    const char *name;
    const char *text;
} tasks_helps[] = {
    {"jobs", "usage: shoal jobs [--json] [--name NAME] [--state STATE]\n"
             "\n"
             "List the bag-of-tasks jobs, one a line: id, name, state, and "
             "how many\n"
             "tasks are done, running, leased (sent to a node, not started "
             "yet), queued\n"
             "and failed.\n"
             "\n"
             "  --json           a JSON array of jobs (schema in the README)\n"
             "  --name NAME      only the jobs named NAME (submit --name)\n"
             "  --state STATE    only the jobs in STATE: running, done, "
             "failed or\n"
             "                   cancelled\n"
             "  -h, --help       show this help\n"},
    {"job", "usage: shoal job ID [--json]\n"
            "\n"
            "Show job ID in detail: its command, state, task counts and, "
            "when tasks\n"
            "wait, why.\n"
            "\n"
            "  ID               the job, as `shoal submit` printed it\n"
            "  --json           one JSON object (schema in the README)\n"
            "  -h, --help       show this help\n"},
    {"wait", "usage: shoal wait ID\n"
             "\n"
             "Wait for job ID to end, showing its progress (a bar on a "
             "terminal);\n"
             "exits 0 when every task succeeded, else 1.\n"
             "\n"
             "  ID               the job, as `shoal submit` printed it\n"
             "  -h, --help       show this help\n"},
    {"results",
     "usage: shoal results ID [--json|--csv] [--failed]\n"
     "\n"
     "Per task of job ID: index, parameters, node, start, end, exit "
     "status,\n"
     "attempts and the paths of its stdout and stderr.\n"
     "\n"
     "  ID               the job, as `shoal submit` printed it\n"
     "  --json           one JSON document (node ids as 16 hex digits)\n"
     "  --csv            comma-separated values with a header line\n"
     "  --failed         only the tasks that failed\n"
     "  -h, --help       show this help\n"},
    {"output", "usage: shoal output ID TASK [--counters FILE]\n"
               "\n"
               "Task TASK's stdout (to stdout) and stderr (to stderr), "
               "fetched from the\n"
               "node that ran it; or why it has none.\n"
               "\n"
               "  ID               the job, as `shoal submit` printed it\n"
               "  TASK             the task's index, from 0\n"
               "  --counters FILE  also write the counts the task left in "
               "its directory\n"
               "                   (`shoal bench` counters) to FILE, a new "
               "file; none\n"
               "                   is made when it left none\n"
               "  -h, --help       show this help\n"},
    {"resubmit",
     "usage: shoal resubmit ID [--failed]\n"
     "\n"
     "Submit again job ID, which has ended: a new job with its command, "
     "settings\n"
     "and name, whose tasks keep their indices ('{#}') and values ('{}'). "
     "Prints\n"
     "the new job's id.\n"
     "\n"
     "  ID               the job, as `shoal submit` printed it\n"
     "  --failed         only the tasks that failed (else every task)\n"
     "  -h, --help       show this help\n"},
    {"cancel", "usage: shoal cancel ID\n"
               "\n"
               "Cancel job ID: its running tasks are killed, its queued "
               "ones dropped.\n"
               "\n"
               "  ID               the job, as `shoal submit` printed it\n"
               "  -h, --help       show this help\n"},
};

int cmd_tasks(const char *name, int argc, char **argv)
{
    if (strcmp(name, "taskd") == 0)
        return tasks_cmd_taskd(argc, argv);
    for (size_t i = 0; i < sizeof(tasks_helps) / sizeof(tasks_helps[0]); i++)
        if (strcmp(name, tasks_helps[i].name) == 0 && argc >= 1
            && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
            fputs(tasks_helps[i].text, stdout);
            return 0;
        }
    if (strcmp(name, "submit") == 0)
        return tasks_cmd_submit(argc, argv);
    if (strcmp(name, "jobs") == 0)
        return tasks_cmd_jobs(argc, argv);
    if (strcmp(name, "job") == 0)
        return tasks_cmd_job(argc, argv);
    if (strcmp(name, "wait") == 0)
        return tasks_cmd_wait(argc, argv);
    if (strcmp(name, "results") == 0)
        return tasks_cmd_results(argc, argv);
    if (strcmp(name, "output") == 0)
        return tasks_cmd_output(argc, argv);
    if (strcmp(name, "cancel") == 0)
        return tasks_cmd_cancel(argc, argv);
    if (strcmp(name, "resubmit") == 0)
        return tasks_cmd_resubmit(argc, argv);
    return -1;
}
