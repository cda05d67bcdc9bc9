/* SPDX-License-Identifier: MIT */
/* status.c - `shoal status`: the pool as the local daemon sees it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/daemon/control.h"
#include "util/statedir.h"

static const char status_usage[] =
    "usage: shoal status [--json | --stats] [--dir DIR]\n"
    "\n"
    "Show every node of the pool as the local daemon sees it: name,\n"
    "address, state, owner (dedicated, away, present, suspended,\n"
    "vacating, closed), free/total cores, packages/NUMA nodes/cores/PUs,\n"
    "memory, GPUs, speed (1000 = reference) and load.\n"
    "\n"
    "  --json      the same as one JSON object, for scripts\n"
    "  --stats     the daemon's counters: messages sent and received,\n"
    "              messages dropped by reason, control refusals, task\n"
    "              results sent, acked, sent again and given up, and\n"
    "              the guest limits enforced (backend v1/v2/none per\n"
    "              controller, memory limit, CPU weight, OOM kills)\n"
    "  --dir DIR   the daemon's directory (as for 'shoal daemon')\n"
    "  -h, --help  show this help\n";

static const char *field_s(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "-";
}

static long long field_i(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void print_table(json_t *reply)
{
    json_t *members = json_object_get(reply, "members");
    json_t *m;
    size_t i;

    printf("%-20s %-21s %-7s %-9s %9s %-13s %9s %4s %6s %6s\n", "NAME",
           "ADDRESS", "STATE", "OWNER", "CORES", "PKG/NUMA/C/PU", "MEMORY",
           "GPUS", "SPEED", "LOAD");
    json_array_foreach (members, i, m) {
        json_t *s = json_object_get(m, "summary");
        char cores[32] = "-", shape[48] = "-", mem[32] = "-", gpus[16] = "-";
        char speed[16] = "-", load[16] = "-";

        if (s) {
            snprintf(cores, sizeof(cores), "%lld/%lld",
                     field_i(s, "cores_free"), field_i(s, "cores"));
            snprintf(shape, sizeof(shape), "%lld/%lld/%lld/%lld",
                     field_i(s, "packages"), field_i(s, "numa_nodes"),
                     field_i(s, "cores"), field_i(s, "pus"));
            snprintf(mem, sizeof(mem), "%.1fG",
                     (double)field_i(s, "memory_bytes") / (1 << 30));
            snprintf(gpus, sizeof(gpus), "%lld", field_i(s, "gpus"));
            snprintf(speed, sizeof(speed), "%lld", field_i(s, "speed"));
            snprintf(load, sizeof(load), "%.2f",
                     json_number_value(json_object_get(s, "load")));
        }
        printf("%-20s %-21s %-7s %-9s %9s %-13s %9s %4s %6s %6s%s\n",
               field_s(m, "name"), field_s(m, "addr"), field_s(m, "state"),
               field_s(m, "owner"), cores, shape, mem, gpus, speed, load,
               json_is_true(json_object_get(m, "self")) ? "  (this node)" : "");
    }
}

/* No daemon, but the task service that `shoal submit` starts runs here. */
static int status_tasks_only(const char *dir, json_t *ping, bool json)
{
    long long pid = field_i(ping, "pid");

    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:s, s:[]}", "service", "tasks",
                              "pid", (json_int_t)pid, "dir", dir, "members");

        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(o);
        return 0;
    }
    printf("no daemon runs in '%s': the task service runs alone there (pid "
           "%lld), on this node only; 'shoal jobs' lists its jobs\n",
           dir, pid);
    return 0;
}

static void print_group(const char *title, json_t *group)
{
    const char *key;
    json_t *v;

    printf("%s:\n", title);
    json_object_foreach (group, key, v) {
        if (json_is_integer(v))
            printf("  %-20s %lld\n", key, (long long)json_integer_value(v));
        else if (json_is_string(v) && json_string_value(v)[0])
            printf("  %-20s %s\n", key, json_string_value(v));
    }
}

static void print_stats(json_t *stats)
{
    print_group("transport", json_object_get(stats, "transport"));
    print_group("dropped", json_object_get(stats, "drops"));
    print_group("membership", json_object_get(stats, "member"));
    print_group("control", json_object_get(stats, "control"));
    if (json_object_get(stats, "owner"))
        print_group("owner", json_object_get(stats, "owner"));
    if (json_object_get(stats, "guest"))
        print_group("guest", json_object_get(stats, "guest"));
    if (json_object_get(stats, "tasks"))
        print_group("tasks", json_object_get(stats, "tasks"));
}

int cmd_status(int argc, char **argv)
{
    const char *dir = NULL, *service;
    bool json = false, stats = false;
    shoal_error_t error = {{0}};
    char dirbuf[4096], path[4200];
    json_t *req, *reply = NULL;
    int fd, rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(status_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc && !dir) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--dir=", 6) == 0 && !dir) {
            dir = argv[i] + 6;
        } else {
            fprintf(stderr,
                    "shoal: status: unexpected argument '%s'\n"
                    "see 'shoal status --help'\n",
                    argv[i]);
            return CMD_EXIT_USAGE;
        }
    }
    if (statedir_resolve(dir, dirbuf, sizeof(dirbuf)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dirbuf)
               >= (int)sizeof(path)) {
        fputs("shoal: status: directory name too long\n", stderr);
        return CMD_EXIT_USAGE;
    }
    rc = control_client_connect(path, &fd, &error);
    if (rc < 0) {
        if (rc == -ENOENT || rc == -ECONNREFUSED)
            fprintf(stderr, "shoal: status: no daemon running in '%s'\n",
                    dirbuf);
        else
            fprintf(stderr, "shoal: status: %s\n", error.text);
        return 1;
    }
    /* the task service alone may answer here: say so, not "unknown op" */
    req = json_pack("{s:s}", "op", "ping");
    rc = control_client_request(fd, req, 10000, &reply, &error);
    json_decref(req);
    service = rc == 0 ? field_s(reply, "service") : NULL;
    if (service && strcmp(service, "tasks") == 0) {
        close(fd);
        rc = status_tasks_only(dirbuf, reply, json);
        json_decref(reply);
        return rc;
    }
    json_decref(reply);
    reply = NULL;
    req = json_pack("{s:s}", "op", stats ? "stats" : "status");
    rc = control_client_request(fd, req, 10000, &reply, &error);
    json_decref(req);
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "shoal: status: %s\n", error.text);
        return 1;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        fprintf(stderr, "shoal: status: %s\n", field_s(reply, "error"));
        json_decref(reply);
        return 1;
    }
    json_object_del(reply, "ok");
    if (json) {
        json_dumpf(stats ? json_object_get(reply, "stats") : reply, stdout,
                   JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    } else if (stats) {
        print_stats(json_object_get(reply, "stats"));
    } else {
        print_table(reply);
    }
    json_decref(reply);
    return 0;
}
