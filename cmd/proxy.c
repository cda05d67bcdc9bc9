/* SPDX-License-Identifier: MIT */
/* proxy.c - `shoal proxy` (hidden): run one node's ranks of a gang job.
 *
 * The pool's daemon (or `shoal run` with SHOAL_PROXY_NODES) starts it with
 * a stream socket as fd 0, or as the fd given by --fd N, and speaks job
 * frames on it (runtime/job/node_job.h); with --user UID:GID its ranks
 * run as that account (the daemon verified the submitter's claim and
 * applied its policy before starting it). The daemon names the job's
 * memory cgroup with --memory-cgroup DIR, to tell OOM kills apart, and
 * with --allowed-pus LIST the PUs it sees, as the job's cpuset hides the
 * others from the proxy. It exits 0 once it sent DONE, else 1 after saying
 * why on stderr. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/job/node_job.h"
#include "util/param.h"

int cmd_proxy(int argc, char **argv)
{
    struct node_job_config config = {.link_fd = STDIN_FILENO};
    struct account user;
    char hostname[256] = "";
    shoal_error_t error;
    int rc;

    for (int i = 0; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
            long fd = strtol(argv[++i], &end, 10);
            if (*end || fd < 0 || fd > 65535) {
                fprintf(stderr, "shoal: bad --fd '%s'\n", argv[i]);
                return CMD_EXIT_USAGE;
            }
            config.link_fd = (int)fd;
        } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
            unsigned long uid, gid;
            int n = 0;

            if (sscanf(argv[++i], "%lu:%lu%n", &uid, &gid, &n) != 2
                || argv[i][n] || uid >= UINT32_MAX || gid >= UINT32_MAX) {
                fprintf(stderr, "shoal: bad --user '%s': expected UID:GID\n",
                        argv[i]);
                return CMD_EXIT_USAGE;
            }
            rc = account_by_uid((uid_t)uid, (gid_t)gid, &user);
            if (rc < 0) {
                fprintf(stderr, "shoal: proxy: no account of uid %lu: %s\n",
                        uid, strerror(-rc));
                return 1;
            }
            config.user = &user;
        } else if (strcmp(argv[i], "--memory-cgroup") == 0 && i + 1 < argc) {
            config.memory_cgroup = argv[++i];
        } else if (strcmp(argv[i], "--allowed-pus") == 0 && i + 1 < argc) {
            config.allowed_pus = argv[++i];
        } else {
            fprintf(stderr, "usage: shoal proxy [--fd N] [--user UID:GID] "
                            "[--memory-cgroup DIR] [--allowed-pus LIST]\n");
            return CMD_EXIT_USAGE;
        }
    }
    config.topology = getenv("SHOAL_TOPOLOGY");
    rc = node_job_run(&config, &error);
    if (rc < 0) {
        gethostname(hostname, sizeof(hostname) - 1);
        fprintf(stderr, "shoal: proxy on '%s': %s\n", hostname, error.text);
        return 1;
    }
    return 0;
}
