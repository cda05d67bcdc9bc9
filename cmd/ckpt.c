/* SPDX-License-Identifier: MIT */
/* ckpt.c - `shoal ckpt ls|rm`: the checkpoints jobs keep.
 *
 * A job run with --checkpoint keeps its versions under a root directory
 * (runtime/ckpt/ckpt_job.h): DIR/STAMP-HOST-PID for `shoal run`,
 * DIR/tasks-STAMP-HOST-PID for `shoal submit`, DIR being --checkpoint-dir
 * (./shoal-ckpt by default); a restarted run gets DIR/JOB/runK. `ls`
 * takes roots, or directories holding them, and shows each rank's or
 * task's versions; `rm` removes a job's checkpoints. `ls --pool` asks
 * the local daemon instead what every node of the pool keeps of jobs run
 * with --replicas (ckpt.pool-list, runtime/ckpt/ckpt_survey.h). `ls
 * JOBKEY` shows a job run on the pool from this node with --checkpoint as
 * the home daemon's journal keeps it (gang.get,
 * runtime/job/gangd_journal.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/ckpt/ckpt_job.h"
#include "runtime/daemon/control.h"
#include "util/statedir.h"

static const char ckpt_usage[] =
    "usage: shoal ckpt ls [--json] [DIR|JOBKEY...]\n"
    "       shoal ckpt ls --journal [--json]\n"
    "       shoal ckpt ls --pool [--json] [--dir DIR] [--timeout S] "
    "[JOBKEY]\n"
    "       shoal ckpt rm DIR|JOBKEY...\n"
    "\n"
    "  ls    list the checkpoints under each DIR (default ./shoal-ckpt):\n"
    "        a job's root, or a directory of roots; per rank or task, each\n"
    "        version, committed or not, its files and bytes, and the version\n"
    "        a restart would start from. A JOBKEY (a job run on the pool\n"
    "        from this node with --checkpoint) is shown from this node's\n"
    "        journal: its command, state, placement, and per rank the\n"
    "        versions and the nodes holding a committed copy (with\n"
    "        --replicas) or its directory\n"
    "  ls --journal  the jobs this node's journal keeps (run from here on\n"
    "        the pool with --checkpoint): key, state, run, version, command;\n"
    "        the key is what 'shoal run --resume' takes\n"
    "  ls --pool  ask every node of the pool, through the daemon of DIR\n"
    "        (as for 'shoal daemon'), what it keeps of jobs run with\n"
    "        --replicas (all jobs, or JOBKEY's): per job, rank and version\n"
    "        the nodes holding it (the rank's original or a copy), sizes,\n"
    "        whether committed, and the version a restart would use (every\n"
    "        rank has it committed on some node); nodes that did not answer\n"
    "        within S seconds (SHOAL_CKPT_LIST_TIMEOUT, 2) are named\n"
    "  rm    remove a job's checkpoints (the directory `ls` names, or the\n"
    "        job's directory above it); a JOBKEY of this node's journal\n"
    "        that is not running leaves the journal, and the pool's nodes\n"
    "        forget its checkpoints\n"
    "  --json  one JSON object per root, one per line (with --pool: one\n"
    "          object, {\"jobs\", \"nodes\", \"missing\", \"timeout\"})\n";

static void ckpt_print_size(double bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;

    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void ckpt_print_root(const json_t *root)
{
    json_t *m, *v;
    size_t i, j;
    json_int_t version = json_integer_value(json_object_get(root, "version"));

    const json_t *iv = json_object_get(root, "interval");

    printf("%s\n", json_string_value(json_object_get(root, "root")));
    if (json_is_object(iv))
        printf("  checkpoint every %.0f s (auto: Daly's optimum for a "
               "checkpoint cost of %.3f s and an MTBF of %.0f s, from %s)\n",
               json_number_value(json_object_get(iv, "interval")),
               json_number_value(json_object_get(iv, "cost")),
               json_number_value(json_object_get(iv, "mtbf")),
               json_string_value(json_object_get(iv, "mtbf_source")) ?: "?");
    if (version > 0)
        printf("  restart from version %" JSON_INTEGER_FORMAT
               " (committed by every rank)\n",
               version);
    printf("  %-10s %8s  %-11s %6s %12s\n", "MEMBER", "VERSION", "STATE",
           "FILES", "SIZE");
    json_array_foreach (json_object_get(root, "members"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        json_int_t keep = json_integer_value(json_object_get(m, "keep"));

        if (json_array_size(json_object_get(m, "versions")) == 0)
            printf("  %-10s %8s  %-11s\n", name, "-", "none");
        json_array_foreach (json_object_get(m, "versions"), j, v) {
            char size[32];
            json_int_t n = json_integer_value(json_object_get(v, "version"));

            ckpt_print_size(json_number_value(json_object_get(v, "bytes")),
                            size, sizeof(size));
            printf("  %-10s %8" JSON_INTEGER_FORMAT
                   "  %-11s %6" JSON_INTEGER_FORMAT " %12s%s\n",
                   name, n,
                   json_is_true(json_object_get(v, "committed")) ? "committed"
                                                                 : "partial",
                   json_integer_value(json_object_get(v, "files")), size,
                   keep == n ? "  (kept)" : "");
        }
    }
}

/* Call fn on each job root at dir or below it, at most depth levels down
 * (DIR/JOB/runK is two). Returns how many roots were found. */
static int ckpt_each_root(const char *dir,
                          int depth,
                          void (*fn)(json_t *root, void *arg),
                          void *arg)
{
    json_t *root;
    struct dirent *e;
    int found = 0;
    DIR *d;

    if (ckpt_job_describe(dir, &root, NULL) == 0) {
        fn(root, arg);
        json_decref(root);
        return 1;
    }
    if (depth == 0 || !(d = opendir(dir)))
        return 0;
    while ((e = readdir(d))) {
        char path[PATH_MAX];

        if (e->d_name[0] == '.'
            || snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
                   >= (int)sizeof(path))
            continue;
        found += ckpt_each_root(path, depth - 1, fn, arg);
    }
    closedir(d);
    return found;
}

static void ckpt_show(json_t *root, void *arg)
{
    if (*(bool *)arg) {
        json_dumpf(root, stdout, JSON_COMPACT);
        putchar('\n');
    } else {
        ckpt_print_root(root);
    }
}

static const char *ckpt_str(const json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return s ? s : "?";
}

/* A node of a journal record: its name, and its state unless alive. */
static int ckpt_journal_node(char *buf, size_t size, const json_t *node)
{
    const char *name = ckpt_str(node, "name");
    const char *state = ckpt_str(node, "state");

    if (strcmp(name, "?") == 0)
        name = ckpt_str(node, "id");
    return snprintf(
        buf, size, "%s%s%s%s", name, strcmp(state, "alive") ? " (" : "",
        strcmp(state, "alive") ? state : "", strcmp(state, "alive") ? ")" : "");
}

/* A job of the home's journal (gang.get's "job"), for people. */
static void ckpt_print_journal(const json_t *job)
{
    const json_t *spec = json_object_get(job, "spec"), *c, *a, *n;
    const json_t *placement = json_object_get(job, "placement");
    json_int_t version = json_integer_value(json_object_get(job, "version"));
    bool failed = strcmp(ckpt_str(job, "state"), "failed") == 0;
    bool alive = strcmp(ckpt_str(job, "coordinator"), "alive") == 0;
    size_t i, k;

    printf("%s (in this node's journal)\n", ckpt_str(job, "key"));
    printf("  command: shoal run");
    json_array_foreach (json_object_get(spec, "args"), i, a)
        printf(" %s", json_string_value(a) ? json_string_value(a) : "?");
    printf("\n  directory: %s\n", ckpt_str(spec, "cwd"));
    printf("  %s, run %" JSON_INTEGER_FORMAT
           ", restarts used %" JSON_INTEGER_FORMAT,
           failed  ? "failed"
           : alive ? "running"
                   : "coordinator gone",
           json_integer_value(json_object_get(job, "run")),
           json_integer_value(json_object_get(job, "restarts")));
    if (failed)
        printf(", exit status %" JSON_INTEGER_FORMAT,
               json_integer_value(json_object_get(job, "status")));
    else if (!alive)
        printf(" (its shoal run, pid %" JSON_INTEGER_FORMAT ", is gone)",
               json_integer_value(json_object_get(job, "pid")));
    putchar('\n');
    if (json_is_object(placement)) {
        const json_t *nodes = json_object_get(placement, "nodes");

        printf("  placed on:");
        json_array_foreach (nodes, i, n) {
            printf("%s %s (ranks", i ? "," : "", ckpt_str(n, "name"));
            int first = 1;
            json_array_foreach (json_object_get(placement, "ranks"), k, a)
                if ((size_t)json_integer_value(json_object_get(a, "node"))
                    == i) {
                    printf("%s%zu", first ? " " : ",", k);
                    first = 0;
                }
            putchar(')');
        }
        putchar('\n');
    }
    if (json_is_string(json_object_get(spec, "base"))) {
        /* a shared directory: its runK directories are the record */
        printf("  checkpoints in %s ('shoal ckpt ls' lists them)\n",
               ckpt_str(spec, "base"));
        if (!alive || failed)
            printf("  resume with: shoal run --resume %s\n",
                   ckpt_str(job, "key"));
        return;
    }
    if (version > 0)
        printf("  restart from version %" JSON_INTEGER_FORMAT
               " (every rank has a committed copy of it)\n",
               version);
    else
        printf("  no version every rank has a committed copy of\n");
    printf("  %-6s %8s  %s\n", "RANK", "VERSION", "NODES");
    json_array_foreach (json_object_get(job, "copies"), i, c) {
        char nodes[1024] = "";
        size_t len = 0;

        json_array_foreach (json_object_get(c, "nodes"), k, n) {
            if (len >= sizeof(nodes))
                break;
            if (k)
                len += (size_t)snprintf(nodes + len, sizeof(nodes) - len, ", ");
            if (len < sizeof(nodes))
                len += (size_t)ckpt_journal_node(nodes + len,
                                                 sizeof(nodes) - len, n);
        }
        printf("  %-6" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT "  %s\n",
               json_integer_value(json_object_get(c, "rank")),
               json_integer_value(json_object_get(c, "version")), nodes);
    }
    if (!alive || failed)
        printf("  resume with: shoal run --resume %s\n", ckpt_str(job, "key"));
}

/* `ls KEY`: a job of this node's journal (gang jobs run on the pool from
 * here with --checkpoint), even after its daemon restarted. Returns 0, 1 after
 * saying what is wrong, or -ENOENT when no daemon answers (the caller then says
 * the path does not exist). */
static int ckpt_ls_journal(const char *key, bool as_json)
{
    shoal_error_t error = {{0}};
    char dir[4096], path[4200];
    json_t *req, *reply = NULL;
    int fd, rc;

    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dir)
               >= (int)sizeof(path)
        || control_client_connect(path, &fd, NULL) < 0)
        return -ENOENT;
    req = json_pack("{s:s, s:s}", "op", "gang.get", "key", key);
    rc = control_client_request(fd, req, 10000, &reply, &error);
    json_decref(req);
    close(fd);
    if (rc < 0)
        return cmd_fail(1, "ckpt ls: %s", error.text);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        rc = cmd_fail(1, "ckpt ls: '%s' is neither a directory nor a job: %s",
                      key, ckpt_str(reply, "error"));
        json_decref(reply);
        return rc;
    }
    if (as_json) {
        json_dumpf(json_object_get(reply, "job"), stdout, JSON_COMPACT);
        putchar('\n');
    } else {
        ckpt_print_journal(json_object_get(reply, "job"));
    }
    json_decref(reply);
    return 0;
}

/* Show the roots at or under dir, or the job of that key in this node's
 * journal. Returns 0 or 1 after saying what is wrong. */
static int ckpt_ls_one(const char *dir, bool as_json)
{
    struct stat st;

    if (stat(dir, &st) < 0 && errno == ENOENT && !strchr(dir, '/')) {
        int rc = ckpt_ls_journal(dir, as_json);
        if (rc != -ENOENT)
            return rc;
        errno = ENOENT;
    }
    if (stat(dir, &st) < 0)
        return cmd_fail(1, "cannot read '%s': %s", dir, strerror(errno));
    if (ckpt_each_root(dir, 2, ckpt_show, &as_json) == 0 && !as_json)
        printf("no checkpoints in %s\n", dir);
    return 0;
}

static void ckpt_count(json_t *root, void *arg)
{
    (void)root;
    (*(int *)arg)++;
}

/* A holder's name for the table: its host name, else its id. */
static const char *ckpt_holder(const json_t *h)
{
    const char *name = json_string_value(json_object_get(h, "name"));

    return name && *name ? name : ckpt_str(h, "node");
}

static void ckpt_print_pool(const json_t *reply)
{
    const json_t *job, *rank, *v, *h, *n;
    size_t i, j, k, l;

    json_array_foreach (json_object_get(reply, "jobs"), i, job) {
        const json_t *restart = json_object_get(job, "restart");

        printf("%s\n", ckpt_str(job, "key"));
        if (json_is_integer(restart))
            printf("  restart from version %" JSON_INTEGER_FORMAT
                   " (every rank has it committed on a node that answered)\n",
                   json_integer_value(restart));
        else
            printf("  no version every rank has committed on a node that "
                   "answered\n");
        printf("  %-6s %8s  %-9s %6s %12s  %s\n", "RANK", "VERSION", "STATE",
               "COPIES", "SIZE", "NODES");
        json_array_foreach (json_object_get(job, "ranks"), j, rank) {
            json_array_foreach (json_object_get(rank, "versions"), k, v) {
                char size[32], nodes[1024] = "";
                double bytes = 0;
                size_t len = 0;

                json_array_foreach (json_object_get(v, "holders"), l, h) {
                    double b = json_number_value(json_object_get(h, "bytes"));

                    if (b > bytes)
                        bytes = b;
                    if (len < sizeof(nodes))
                        len += (size_t)snprintf(
                            nodes + len, sizeof(nodes) - len, "%s%s%s%s",
                            l ? ", " : "", ckpt_holder(h),
                            json_is_true(json_object_get(h, "original"))
                                ? " (original)"
                                : "",
                            json_is_true(json_object_get(h, "committed"))
                                ? ""
                                : " (partial)");
                }
                ckpt_print_size(bytes, size, sizeof(size));
                printf("  %-6" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
                       "  %-9s %6" JSON_INTEGER_FORMAT " %12s  %s\n",
                       json_integer_value(json_object_get(rank, "rank")),
                       json_integer_value(json_object_get(v, "version")),
                       json_is_true(json_object_get(v, "committed"))
                           ? "committed"
                           : "partial",
                       json_integer_value(json_object_get(v, "copies")), size,
                       nodes);
            }
        }
    }
    printf("nodes listed:");
    json_array_foreach (json_object_get(reply, "nodes"), i, n)
        printf("%s %s%s", i ? "," : "", ckpt_holder(n),
               json_is_true(json_object_get(n, "truncated"))
                   ? " (holds more than it listed)"
                   : "");
    putchar('\n');
    json_array_foreach (json_object_get(reply, "missing"), i, n)
        printf("not listed: %s (%s): %s\n", ckpt_holder(n), ckpt_str(n, "node"),
               ckpt_str(n, "why"));
}

/* `ls --pool`: ask the daemon of dir (NULL: the default) for what the
 * pool keeps under key. */
static int
ckpt_ls_pool(const char *dir, const char *key, double timeout, bool as_json)
{
    shoal_error_t error = {{0}};
    char dirbuf[4096], path[4200];
    json_t *req, *reply = NULL;
    int fd, rc;

    if (statedir_resolve(dir, dirbuf, sizeof(dirbuf)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dirbuf)
               >= (int)sizeof(path))
        return cmd_usage("ckpt", "directory name too long");
    rc = control_client_connect(path, &fd, &error);
    if (rc == -ENOENT || rc == -ECONNREFUSED)
        return cmd_fail(1, "ckpt ls --pool: no daemon running in '%s'", dirbuf);
    if (rc < 0)
        return cmd_fail(1, "ckpt ls --pool: %s", error.text);
    req = json_pack("{s:s, s:s}", "op", "ckpt.pool-list", "key", key);
    if (timeout > 0)
        json_object_set_new(req, "timeout", json_real(timeout));
    /* the daemon answers within its timeout; wait a little longer */
    rc = control_client_request(
        fd, req, (int)((timeout > 0 ? timeout : 60) * 1000) + 10000, &reply,
        &error);
    json_decref(req);
    close(fd);
    if (rc < 0)
        return cmd_fail(1, "ckpt ls --pool: %s", error.text);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        rc = cmd_fail(1, "ckpt ls --pool: %s", ckpt_str(reply, "error"));
        json_decref(reply);
        return rc;
    }
    json_object_del(reply, "ok");
    rc = 0;
    if (as_json) {
        json_dumpf(reply, stdout, JSON_COMPACT);
        putchar('\n');
    } else {
        ckpt_print_pool(reply);
    }
    if (*key && json_array_size(json_object_get(reply, "jobs")) == 0)
        rc = cmd_fail(1, "no checkpoints of '%s' on the nodes that answered",
                      key);
    json_decref(reply);
    return rc;
}

/* Parse `ls --pool [--json] [--dir DIR] [--timeout S] [JOBKEY]`. */
static int ckpt_ls_pool_args(int argc, char **argv)
{
    const char *dir = NULL, *key = "";
    bool as_json = false;
    double timeout = 0;

    for (int i = 0; i < argc; i++) {
        char *end;

        if (strcmp(argv[i], "--pool") == 0) {
            continue;
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(timeout > 0 && timeout <= 60))
                return cmd_usage("ckpt",
                                 "--timeout must be seconds above 0 and at "
                                 "most 60, not '%s'",
                                 argv[i]);
        } else if (argv[i][0] == '-') {
            return cmd_usage("ckpt", "unknown option '%s'", argv[i]);
        } else if (*key) {
            return cmd_usage("ckpt", "ls --pool takes one job key, not '%s'",
                             argv[i]);
        } else {
            key = argv[i];
        }
    }
    return ckpt_ls_pool(dir, key, timeout, as_json);
}

/* `ls --journal [--json]`: every job of this node's journal the caller
 * may see, one line each (key, state, run, version, command), or one JSON
 * array. */
static int ckpt_ls_journal_all(int argc, char **argv)
{
    shoal_error_t error = {{0}};
    char dir[4096], path[4200];
    json_t *req, *reply = NULL, *job, *a;
    bool as_json = false;
    size_t i, k;
    int fd, rc;

    for (int n = 0; n < argc; n++) {
        if (strcmp(argv[n], "--json") == 0)
            as_json = true;
        else if (strcmp(argv[n], "--journal") != 0)
            return cmd_usage("ckpt", "ls --journal takes only --json, not '%s'",
                             argv[n]);
    }
    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dir)
               >= (int)sizeof(path))
        return cmd_usage("ckpt", "directory name too long");
    if (control_client_connect(path, &fd, &error) < 0)
        return cmd_fail(1, "ckpt ls --journal: no daemon running in '%s'", dir);
    req = json_pack("{s:s}", "op", "gang.list");
    rc = control_client_request(fd, req, 10000, &reply, &error);
    json_decref(req);
    close(fd);
    if (rc < 0)
        return cmd_fail(1, "ckpt ls --journal: %s", error.text);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        rc = cmd_fail(1, "ckpt ls --journal: %s", ckpt_str(reply, "error"));
        json_decref(reply);
        return rc;
    }
    if (as_json) {
        json_dumpf(json_object_get(reply, "jobs"), stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(reply);
        return 0;
    }
    printf("%-44s %-17s %4s %8s  %s\n", "JOB", "STATE", "RUN", "VERSION",
           "COMMAND");
    json_array_foreach (json_object_get(reply, "jobs"), i, job) {
        const char *state = strcmp(ckpt_str(job, "state"), "failed") == 0
                                ? "failed"
                            : strcmp(ckpt_str(job, "coordinator"), "alive") == 0
                                ? "running"
                                : "coordinator gone";

        printf("%-44s %-17s %4" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
               " ",
               ckpt_str(job, "key"), state,
               json_integer_value(json_object_get(job, "run")),
               json_integer_value(json_object_get(job, "version")));
        json_array_foreach (
            json_object_get(json_object_get(job, "spec"), "args"), k, a)
            printf(" %s", json_string_value(a) ? json_string_value(a) : "?");
        putchar('\n');
    }
    json_decref(reply);
    return 0;
}

static int ckpt_ls(int argc, char **argv)
{
    bool as_json = false;
    int i = 0, rc = 0;

    for (int k = 0; k < argc; k++)
        if (strcmp(argv[k], "--pool") == 0)
            return ckpt_ls_pool_args(argc, argv);
    for (int k = 0; k < argc; k++)
        if (strcmp(argv[k], "--journal") == 0)
            return ckpt_ls_journal_all(argc, argv);
    if (i < argc && strcmp(argv[i], "--json") == 0) {
        as_json = true;
        i++;
    }
    for (int k = i; k < argc; k++)
        if (argv[k][0] == '-')
            return cmd_usage("ckpt", "unknown option '%s'", argv[k]);
    if (i == argc)
        return ckpt_ls_one("shoal-ckpt", as_json);
    for (; i < argc; i++)
        rc |= ckpt_ls_one(argv[i], as_json);
    return rc;
}

/* A request to this node's daemon; sets *reply. Returns 0, -ENOENT
 * without a daemon, or the connection's error (error filled). */
static int
ckpt_daemon_request(json_t *req, json_t **reply, shoal_error_t *error)
{
    char dir[4096], path[4200];
    int fd, rc;

    *reply = NULL;
    if (!req)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dir)
               >= (int)sizeof(path)
        || control_client_connect(path, &fd, NULL) < 0) {
        json_decref(req);
        return -ENOENT;
    }
    rc = control_client_request(fd, req, 10000, reply, error);
    json_decref(req);
    close(fd);
    return rc;
}

/* `rm KEY`: a job of this node's journal that is not running: its record
 * goes, and the pool forgets its checkpoints (every live node removes its
 * originals and copies; one that is away sweeps them after
 * SHOAL_CKPT_RETAIN_DAYS). Returns 0, 1 after saying what is wrong, or
 * -ENOENT without a daemon. */
static int ckpt_rm_journal(const char *key)
{
    shoal_error_t error = {{0}};
    json_t *reply = NULL;
    int rc = ckpt_daemon_request(
        json_pack("{s:s, s:s}", "op", "gang.rm", "key", key), &reply, &error);

    if (rc == -ENOENT)
        return rc;
    if (rc < 0)
        return cmd_fail(1, "ckpt rm: %s", error.text);
    if (!json_is_true(json_object_get(reply, "ok"))) {
        rc = cmd_fail(1,
                      "not removed: '%s' is neither a directory nor a "
                      "job: %s",
                      key, ckpt_str(reply, "error"));
        json_decref(reply);
        return rc;
    }
    json_decref(reply);
    rc = ckpt_daemon_request(
        json_pack("{s:s, s:s}", "op", "ckpt.forget", "key", key), &reply,
        &error);
    if (rc == 0 && !json_is_true(json_object_get(reply, "ok")))
        rc = shoal_errprintf(&error, -EIO, "%s", ckpt_str(reply, "error"));
    json_decref(reply);
    if (rc < 0)
        return cmd_fail(1,
                        "job '%s' is out of the journal, but its checkpoints "
                        "stay on the pool's nodes (%s); each node removes "
                        "them after SHOAL_CKPT_RETAIN_DAYS",
                        key, error.text);
    return 0;
}

static int ckpt_rm(int argc, char **argv)
{
    int rc = 0;

    if (argc == 0)
        return cmd_usage("ckpt", "rm needs the root of a job's checkpoints");
    for (int i = 0; i < argc; i++) {
        int err;

        int roots = 0;
        struct stat sb;

        if (stat(argv[i], &sb) < 0 && errno == ENOENT
            && !strchr(argv[i], '/')) {
            err = ckpt_rm_journal(argv[i]);
            if (err != -ENOENT) {
                rc |= err;
                continue;
            }
        }
        /* only a job's checkpoints (a run's root, or the job's directory
         * of them): never a directory of other things */
        if (ckpt_each_root(argv[i], 1, ckpt_count, &roots) == 0) {
            rc = cmd_fail(1,
                          "not removed: '%s' holds no job's checkpoints (no "
                          "rankN or taskN directory)",
                          argv[i]);
            continue;
        }
        err = ckpt_job_remove(argv[i]);
        if (err < 0)
            rc = cmd_fail(1, "cannot remove '%s': %s", argv[i], strerror(-err));
    }
    return rc;
}

int cmd_ckpt(int argc, char **argv)
{
    if (argc == 0)
        return cmd_usage("ckpt", "missing subcommand (ls or rm)");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(ckpt_usage, stdout);
        return 0;
    }
    if (strcmp(argv[0], "ls") == 0)
        return ckpt_ls(argc - 1, argv + 1);
    if (strcmp(argv[0], "rm") == 0)
        return ckpt_rm(argc - 1, argv + 1);
    return cmd_usage("ckpt", "unknown subcommand '%s'", argv[0]);
}
