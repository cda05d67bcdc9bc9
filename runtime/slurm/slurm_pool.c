/* SPDX-License-Identifier: MIT */
/* slurm_pool.c - a private pool over a Slurm allocation (see
 * slurm_pool.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime/daemon/control.h"
#include "runtime/slurm/slurm_pool.h"
#include "util/fs.h"
#include "util/param.h"
#include "util/seal.h"
#include "util/spawn.h"

PARAM_DEFINE(slurm_pool_start_param,
             "slurm_start_timeout",
             PARAM_TYPE_DOUBLE,
             "60",
             "inside a Slurm allocation: seconds for shoal's daemons, "
             "started on the nodes through srun, to join");

extern char **environ;

struct slurm_pool {
    char dir[4096];  /* private: key, logs, the home daemon's state */
    char home[4200]; /* DIR/home */
    pid_t daemon;    /* the home daemon, or 0 */
    pid_t srun;      /* the step, or 0 */
};

void slurm_pool_host_addr(char *buf, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    char name[256];

    snprintf(buf, size, "127.0.0.1");
    if (gethostname(name, sizeof(name) - 1) < 0)
        return;
    name[sizeof(name) - 1] = '\0';
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
        return;
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf,
              (socklen_t)size);
    freeaddrinfo(res);
}

int slurm_pool_free_port(const char *addr)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);

    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return -EINVAL;
    /* the kernel's pick for TCP, checked for UDP: a daemon takes both */
    for (int tries = 0; tries < 20; tries++) {
        int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int port = -EADDRINUSE;

        sin.sin_port = 0;
        if (tcp >= 0 && udp >= 0
            && bind(tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0
            && getsockname(tcp, (struct sockaddr *)&sin, &len) == 0
            && bind(udp, (struct sockaddr *)&sin, sizeof(sin)) == 0)
            port = ntohs(sin.sin_port);
        else if (tcp < 0 || udp < 0)
            port = -errno;
        if (tcp >= 0)
            close(tcp);
        if (udp >= 0)
            close(udp);
        if (port != -EADDRINUSE)
            return port;
    }
    return -EADDRINUSE;
}

/* The last lines of a log file into text (for a message). */
static void slurm_pool_tail(const char *path, char *text, size_t size)
{
    char buf[4096];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *start;

    text[0] = '\0';
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end > (off_t)sizeof(buf) - 1)
        lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    start = buf;
    /* the last three lines, joined with "; " */
    for (int lines = 0, i = (int)n - 1; i >= 0; i--)
        if (buf[i] == '\n' && ++lines == 3) {
            start = buf + i + 1;
            break;
        }
    for (char *p = start; *p; p++)
        if (*p == '\n')
            *p = ';';
    if (strlen(start) >= size)
        start += strlen(start) - size + 1;
    memcpy(text, start, strlen(start) + 1);
}

static int slurm_pool_spawn(char *const *argv,
                            char *const *envp,
                            const char *log,
                            pid_t *pid,
                            shoal_error_t *error)
{
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct spawn_spec spec = {
        .path = argv[0],
        .argv = argv,
        .envp = envp,
        .stdin_fd = in,
        .stdout_fd = out,
        .stderr_fd = out,
        .keep_fd = -1,
    };
    int rc;

    if (in < 0 || out < 0)
        rc = shoal_errprintf(error, -errno, "cannot open '%s': %s", log,
                             strerror(errno));
    else
        rc = spawn_process(&spec, pid, error);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Whether child pid has ended (reaped); *status then holds its status. */
static bool slurm_pool_ended(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == pid;
}

/* Wait up to grace seconds for pid (already asked to end with SIGTERM),
 * then kill its process group. */
static void slurm_pool_end(pid_t pid, double grace)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    int status;

    if (pid <= 0)
        return;
    for (int i = 0; i < (int)(grace * 100); i++) {
        if (slurm_pool_ended(pid, &status))
            return;
        nanosleep(&pause, NULL);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* How many of the pool's nodes the home daemon sees alive: -1 when it
 * does not answer (yet). */
static int slurm_pool_alive(const char *home)
{
    char path[4300];
    json_t *req, *reply = NULL, *m;
    size_t i;
    int fd, rc, alive = 0;

    snprintf(path, sizeof(path), "%s/control.sock", home);
    if (control_client_connect(path, &fd, NULL) < 0)
        return -1;
    req = json_pack("{s:s}", "op", "status");
    rc = req ? control_client_request(fd, req, 5000, &reply, NULL) : -ENOMEM;
    json_decref(req);
    close(fd);
    if (rc < 0)
        return -1;
    json_array_foreach (json_object_get(reply, "members"), i, m) {
        const char *state = json_string_value(json_object_get(m, "state"));

        alive += state && strcmp(state, "alive") == 0
                 && !json_is_true(json_object_get(m, "self"));
    }
    json_decref(reply);
    return alive;
}

/* Our environment with vars (NULL-terminated "NAME=value", at most 4)
 * set over it; strings borrowed. */
static char **slurm_pool_env(const char *const *vars)
{
    size_t n = 0, k = 0, nvars = 0;
    char **env;

    while (environ[n])
        n++;
    while (vars[nvars] && nvars < 4)
        nvars++;
    env = calloc(n + nvars + 1, sizeof(char *));
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;

        for (size_t v = 0; v < nvars; v++)
            replaced |=
                strncmp(environ[i], vars[v], strcspn(vars[v], "=") + 1) == 0;
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t v = 0; v < nvars; v++)
        env[k++] = (char *)vars[v];
    return env;
}

static int slurm_pool_launch(struct slurm_pool *pool,
                             const struct slurm_pool_config *config,
                             shoal_error_t *error)
{
    char key_path[4300], addr[64], listen[96], name[300], host[256];
    char keyvar[128] = "SHOAL_SLURM_KEY=", nodes[8192] = "", count[32];
    char log[4300], tail[1024], seed[200], nodes_base[4300];
    seal_key_t key;
    double waited = 0;
    char **env = NULL;
    int rc, port, status;
    size_t used = 0;

    if (seal_key_generate(&key) < 0)
        return shoal_errprintf(error, -EIO, "cannot make a pool key");
    snprintf(key_path, sizeof(key_path), "%s/pool.key", pool->dir);
    rc = seal_key_write(key_path, &key, error);
    if (rc == 0)
        rc = seal_key_format(&key, keyvar + strlen(keyvar),
                             sizeof(keyvar) - strlen(keyvar));
    memset(&key, 0, sizeof(key));
    if (rc < 0)
        return rc == -ENOSPC ? shoal_errprintf(error, rc, "pool key") : rc;
    keyvar[strcspn(keyvar, "\n")] = '\0';

    slurm_pool_host_addr(addr, sizeof(addr));
    port = slurm_pool_free_port(addr);
    if (port < 0)
        return shoal_errprintf(error, port, "no free port on %s: %s", addr,
                               strerror(-port));
    snprintf(listen, sizeof(listen), "%s:%d", addr, port);
    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    /* never a Slurm node's name, so -H with the nodes never picks it */
    snprintf(name, sizeof(name), "%.200s-launch-%ld", host, (long)getpid());
    char *daemon_argv[] = {(char *)config->shoal,
                           "daemon",
                           "run",
                           "--dir",
                           pool->home,
                           "--key",
                           key_path,
                           "--listen",
                           listen,
                           "--lend",
                           "never",
                           "--name",
                           name,
                           "--credentials",
                           "pool",
                           "--config",
                           "/dev/null",
                           "--guest-limits",
                           "off",
                           NULL};
    snprintf(log, sizeof(log), "%s/home.log", pool->dir);
    /* all end at once; and the nodes' tasks' output comes home, since the
     * nodes' directories end with the allocation (or were never on a file
     * system this machine sees) */
    env = slurm_pool_env((const char *const[]){
        "SHOAL_LEAVE_ROUNDS=0", "SHOAL_TASK_OUTPUT_HOME=yes",
        /* it lends nothing: no calibration at start */
        "SHOAL_SPEED=1000", NULL});
    rc = env ? slurm_pool_spawn(daemon_argv, env, log, &pool->daemon, error)
             : shoal_errprintf(error, -ENOMEM, "out of memory");
    free(env);
    if (rc < 0)
        return rc;

    for (int i = 0; i < config->nnodes && used < sizeof(nodes); i++)
        used += (size_t)snprintf(nodes + used, sizeof(nodes) - used, "%s%s",
                                 i ? "," : "", config->nodes[i]);
    if (used >= sizeof(nodes))
        return shoal_errprintf(error, -E2BIG, "too many nodes for one srun");
    snprintf(count, sizeof(count), "%d", config->nnodes);
    /* a kept home keeps the nodes' directories beside it, where the
     * tasks' output stays (a shared file system, as SHOAL_DIR is on a
     * cluster) */
    snprintf(nodes_base, sizeof(nodes_base), "%s%s",
             config->home_dir ? config->home_dir : pool->dir,
             config->home_dir ? "/slurm-nodes" : "");
    snprintf(seed, sizeof(seed), "%s", listen);
    char *srun_argv[] = {(char *)(config->srun ? config->srun : "srun"),
                         "--overlap",
                         "--nodes",
                         count,
                         "--ntasks",
                         count,
                         "--ntasks-per-node=1",
                         "--kill-on-bad-exit=1",
                         "--cpu-bind=none",
                         "--mpi=none",
                         "--job-name=shoal-daemons",
                         "--nodelist",
                         nodes,
                         (char *)config->shoal,
                         "slurm-node",
                         seed,
                         nodes_base,
                         config->home_dir ? "--keep" : NULL,
                         NULL};
    char *srun_path = NULL;
    rc = spawn_resolve(srun_argv[0], NULL, &srun_path, error);
    if (rc < 0)
        return shoal_errprintf(error, rc,
                               "cannot start the nodes' daemons: %s (Slurm's "
                               "srun is needed inside an allocation; "
                               "SHOAL_SLURM=no ignores it)",
                               error->text);
    srun_argv[0] = srun_path;
    env = slurm_pool_env((const char *const[]){keyvar, NULL});
    snprintf(log, sizeof(log), "%s/srun.log", pool->dir);
    rc = env ? slurm_pool_spawn(srun_argv, env, log, &pool->srun, error)
             : shoal_errprintf(error, -ENOMEM, "out of memory");
    free(env);
    free(srun_path);
    memset(keyvar, 0, sizeof(keyvar));
    if (rc < 0)
        return rc;

    for (;;) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        int alive = slurm_pool_alive(pool->home);

        if (alive >= config->nnodes)
            return 0;
        if (slurm_pool_ended(pool->srun, &status)) {
            pool->srun = 0;
            slurm_pool_tail(log, tail, sizeof(tail));
            return shoal_errprintf(error, SHOAL_ENOHOST,
                                   "cannot start shoal's daemons on the nodes "
                                   "through srun: it exited with status %d: "
                                   "%s",
                                   WIFEXITED(status) ? WEXITSTATUS(status)
                                                     : 128 + WTERMSIG(status),
                                   tail[0] ? tail : "(it said nothing)");
        }
        if (slurm_pool_ended(pool->daemon, &status)) {
            pool->daemon = 0;
            snprintf(log, sizeof(log), "%s/home.log", pool->dir);
            slurm_pool_tail(log, tail, sizeof(tail));
            return shoal_errprintf(error, -EIO,
                                   "shoal's daemon for the allocation ended "
                                   "at start: %s",
                                   tail);
        }
        if (waited >= config->start_timeout) {
            slurm_pool_tail(log, tail, sizeof(tail));
            return shoal_errprintf(error, -ETIMEDOUT,
                                   "shoal's daemons on %d of %d nodes did not "
                                   "answer within %g s (srun: %s)",
                                   config->nnodes - (alive > 0 ? alive : 0),
                                   config->nnodes, config->start_timeout,
                                   tail[0] ? tail : "nothing said");
        }
        nanosleep(&pause, NULL);
        waited += 0.02;
    }
}

int slurm_pool_kept_dir(const char *job_id, char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(buf, size, "%s/shoal-slurm-%u-job%s",
                     tmp && *tmp ? tmp : "/tmp", (unsigned)geteuid(), job_id);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Make dir (mode 0700) unless it is there already as a directory of ours
 * that only we can enter, and copy it into buf. A kept pool's directory
 * has a name others can guess: one that is not ours, or open to others,
 * is refused. */
static int slurm_pool_own_dir(const char *dir,
                              char *buf,
                              size_t size,
                              shoal_error_t *error)
{
    struct stat st;
    size_t len = strlen(dir);

    if (len >= size)
        return shoal_errprintf(error, -ENAMETOOLONG, "'%s': %s", dir,
                               strerror(ENAMETOOLONG));
    memcpy(buf, dir, len + 1);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return shoal_errprintf(error, -errno, "cannot make '%s': %s", dir,
                               strerror(errno));
    if (lstat(dir, &st) < 0)
        return shoal_errprintf(error, -errno, "'%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()
        || (st.st_mode & 077) != 0)
        return shoal_errprintf(error, -EPERM,
                               "'%s' is not a directory of user %u's alone "
                               "(mode 0700): remove it",
                               dir, (unsigned)geteuid());
    return 0;
}

/* Remove what a pool that ended without its cleanup left in dir (its home
 * daemon's state, its key); the caller holds the directory's lock and
 * found no daemon answering. */
static void slurm_pool_clear_stale(const char *dir)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/home", dir);
    fs_remove_tree(path);
    snprintf(path, sizeof(path), "%s/pool.key", dir);
    unlink(path);
}

int slurm_pool_start(const struct slurm_pool_config *config,
                     slurm_pool_t **out,
                     shoal_error_t *error)
{
    struct slurm_pool_config conf = *config;
    struct slurm_pool *pool;
    const char *tmp = getenv("TMPDIR");
    int rc;

    if (conf.start_timeout <= 0
        && param_get_double(&slurm_pool_start_param, 1, &conf.start_timeout,
                            error)
               < 0)
        return SHOAL_EUSAGE;
    config = &conf;
    pool = calloc(1, sizeof(*pool));
    if (!pool)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    if (config->dir) {
        rc = slurm_pool_own_dir(config->dir, pool->dir, sizeof(pool->dir),
                                error);
        if (rc == 0)
            slurm_pool_clear_stale(pool->dir);
    } else {
        snprintf(pool->dir, sizeof(pool->dir), "%s/shoal-slurm-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        rc = mkdtemp(pool->dir) ? 0 : -errno;
        if (rc < 0)
            shoal_errprintf(error, rc, "cannot make a directory in '%s': %s",
                            tmp && *tmp ? tmp : "/tmp", strerror(-rc));
    }
    if (rc < 0) {
        free(pool);
        return rc;
    }
    if (config->home_dir)
        snprintf(pool->home, sizeof(pool->home), "%s", config->home_dir);
    else
        snprintf(pool->home, sizeof(pool->home), "%s/home", pool->dir);
    rc = slurm_pool_launch(pool, config, error);
    if (rc < 0) {
        slurm_pool_stop(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

const char *slurm_pool_dir(const slurm_pool_t *pool)
{
    return pool->home;
}

void slurm_pool_stop(slurm_pool_t *pool)
{
    if (!pool)
        return;
    /* srun passes SIGTERM to the nodes' daemons: all leave at once */
    if (pool->srun > 0)
        kill(pool->srun, SIGTERM);
    if (pool->daemon > 0)
        kill(pool->daemon, SIGTERM);
    slurm_pool_end(pool->srun, 10);
    slurm_pool_end(pool->daemon, 10);
    fs_remove_tree(pool->dir);
    free(pool);
}

/* Whether pid, which is not our child, is gone: no such process, or a
 * zombie its new parent has not reaped yet. */
static bool slurm_pool_gone(pid_t pid)
{
    char path[64], stat[256], *close_paren;
    ssize_t n;
    int fd;

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    close_paren = strrchr(stat, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

void slurm_pool_stop_detached(slurm_pool_t *pool)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    pid_t pid;
    int null;

    if (!pool)
        return;
    if (pool->srun > 0)
        kill(pool->srun, SIGTERM);
    if (pool->daemon > 0)
        kill(pool->daemon, SIGTERM);
    pid = fork();
    if (pid < 0) {
        /* no process to hand it to: stop it here */
        slurm_pool_stop(pool);
        return;
    }
    if (pid > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        /* srun and the daemon stay our children (reaped when we exit) */
        free(pool);
        return;
    }
    /* nobody's child, holding none of the caller's descriptors: a pipe
     * read by whoever started `shoal run` sees its end at once */
    setsid();
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    if (fork() != 0)
        _exit(0);
    for (int i = 0; i < 1000; i++) {
        if ((pool->srun <= 0 || slurm_pool_gone(pool->srun))
            && (pool->daemon <= 0 || slurm_pool_gone(pool->daemon)))
            break;
        nanosleep(&pause, NULL);
    }
    if (pool->srun > 0 && !slurm_pool_gone(pool->srun)) {
        kill(-pool->srun, SIGKILL);
        kill(pool->srun, SIGKILL);
    }
    if (pool->daemon > 0 && !slurm_pool_gone(pool->daemon)) {
        kill(-pool->daemon, SIGKILL);
        kill(pool->daemon, SIGKILL);
    }
    fs_remove_tree(pool->dir);
    _exit(0);
}

static volatile sig_atomic_t slurm_pool_stopping;

static void slurm_pool_on_signal(int sig)
{
    (void)sig;
    slurm_pool_stopping = 1;
}

_Noreturn void slurm_pool_supervise(const struct slurm_pool_config *config,
                                    int fd)
{
    struct sigaction sa = {.sa_handler = slurm_pool_on_signal};
    slurm_pool_t *pool = NULL;
    shoal_error_t error;
    ssize_t n;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (slurm_pool_start(config, &pool, &error) < 0) {
        n = write(fd, error.text, strlen(error.text));
        _exit(1);
    }
    n = write(fd, "ok", 2);
    (void)n;
    close(fd);
    while (!slurm_pool_stopping) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);

        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        if (pid == pool->srun) {
            pool->srun = 0;
            break;
        }
        if (pid == pool->daemon) {
            pool->daemon = 0;
            break;
        }
    }
    slurm_pool_stop(pool);
    _exit(0);
}

/* Become `shoal slurm-pool FD ...` (the supervisor, under a name of its
 * own rather than the command that started it), telling the parent
 * through fd; never returns. */
static void slurm_pool_exec_supervisor(const struct slurm_pool_config *config,
                                       int fd)
{
    char fdtext[16];
    char **argv = calloc((size_t)config->nnodes + 12, sizeof(char *));
    int n = 0;

    snprintf(fdtext, sizeof(fdtext), "%d", fd);
    if (!argv || fcntl(fd, F_SETFD, 0) < 0) {
        ssize_t w = write(fd, "out of memory", 13);

        (void)w;
        _exit(1);
    }
    argv[n++] = (char *)config->shoal;
    argv[n++] = "slurm-pool";
    argv[n++] = fdtext;
    if (config->home_dir) {
        argv[n++] = "--home";
        argv[n++] = (char *)config->home_dir;
    }
    if (config->dir) {
        argv[n++] = "--dir";
        argv[n++] = (char *)config->dir;
    }
    if (config->srun) {
        argv[n++] = "--srun";
        argv[n++] = (char *)config->srun;
    }
    argv[n++] = "--";
    for (int i = 0; i < config->nnodes; i++)
        argv[n++] = config->nodes[i];
    argv[n] = NULL;
    execv(config->shoal, argv);
    dprintf(fd, "cannot run '%s': %s", config->shoal, strerror(errno));
    _exit(1);
}

int slurm_pool_detach(const struct slurm_pool_config *config,
                      shoal_error_t *error)
{
    char text[sizeof(error->text)];
    size_t used = 0;
    int pipefd[2];
    pid_t pid;
    ssize_t n;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return shoal_errprintf(error, -errno, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return shoal_errprintf(error, -errno, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        close(pipefd[0]);
        setsid();
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        /* a second fork: the supervisor is nobody's child */
        if (fork() != 0)
            _exit(0);
        slurm_pool_exec_supervisor(config, pipefd[1]);
    }
    close(pipefd[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    while (used < sizeof(text) - 1) {
        n = read(pipefd[0], text + used, sizeof(text) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(pipefd[0]);
    text[used] = '\0';
    if (strcmp(text, "ok") == 0)
        return 0;
    return shoal_errprintf(error, SHOAL_ENOHOST, "%s",
                           used ? text : "the pool's supervisor ended at once");
}

PARAM_DEFINE(slurm_pool_keep_param,
             "slurm_pool",
             PARAM_TYPE_STRING,
             "allocation",
             "inside a Slurm allocation: \"allocation\" keeps the pool of "
             "daemons the first `shoal run` starts on the nodes for the "
             "later ones, until the allocation ends; \"run\" starts and "
             "stops one for each `shoal run`");

int slurm_pool_keep_mode(bool *keep, shoal_error_t *error)
{
    const char *mode = param_get_string(&slurm_pool_keep_param);

    *keep = true;
    if (!mode || !*mode || strcmp(mode, "allocation") == 0)
        return 0;
    if (strcmp(mode, "run") == 0) {
        *keep = false;
        return 0;
    }
    return shoal_errprintf(error, SHOAL_EUSAGE,
                           "invalid SHOAL_SLURM_POOL='%s': expected "
                           "allocation or run",
                           mode);
}

int slurm_pool_use_kept(const struct slurm_pool_config *config,
                        char *home,
                        size_t size,
                        shoal_error_t *error)
{
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char dir[4096], path[4200];
    int fd, rc;

    if (!config->dir || config->home_dir)
        return shoal_errprintf(error, -EINVAL,
                               "a kept pool needs its directory");
    rc = slurm_pool_own_dir(config->dir, dir, sizeof(dir), error);
    if (rc < 0)
        return rc;
    if ((size_t)snprintf(home, size, "%s/home", dir) >= size)
        return shoal_errprintf(error, -ENAMETOOLONG, "'%s/home': %s", dir,
                               strerror(ENAMETOOLONG));
    /* one `shoal run` at a time finds or starts the pool; a record lock,
     * which the pool's supervisor (a child) does not inherit */
    snprintf(path, sizeof(path), "%s/lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return shoal_errprintf(error, -errno, "cannot open '%s': %s", path,
                               strerror(errno));
    while ((rc = fcntl(fd, F_SETLKW, &lock)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        rc = shoal_errprintf(error, -errno, "cannot lock '%s': %s", path,
                             strerror(errno));
        close(fd);
        return rc;
    }
    rc = 0;
    if (slurm_pool_alive(home) < 0)
        rc = slurm_pool_detach(config, error);
    close(fd); /* and the lock with it */
    return rc;
}
