/* SPDX-License-Identifier: MIT */
/* slurm_pool.c - `shoal slurm-pool FD [--home DIR] [--dir DIR] [--srun PATH]
 * -- NODE...` (hidden): the supervisor of a pool kept over a Slurm
 * allocation (runtime/slurm/slurm_pool.h, slurm_pool_detach()), which
 * `shoal run` and `shoal submit` start detached inside an allocation. It
 * starts the pool over the nodes, says "ok" or the error through FD (a
 * pipe to the command that started it), and stops the pool when its srun
 * step ends (the allocation ended), when its home daemon ends, or on
 * SIGTERM, SIGINT or SIGHUP. A process of its own name, so that nothing
 * called `shoal run` outlives the command. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/slurm/slurm_pool.h"

int cmd_slurm_pool(int argc, char **argv)
{
    struct slurm_pool_config config = {0};
    char *self = realpath("/proc/self/exe", NULL);
    char *end = NULL;
    long fd = argc > 0 ? strtol(argv[0], &end, 10) : -1;
    int i = 1;

    if (argc < 1 || !end || *end || fd < 0 || fd > INT_MAX || !self) {
        free(self);
        return cmd_fail(CMD_EXIT_USAGE,
                        "usage: shoal slurm-pool FD [--home DIR] [--dir DIR] "
                        "[--srun PATH] -- NODE... (started by shoal run "
                        "inside a Slurm allocation)");
    }
    for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (strcmp(argv[i], "--home") == 0)
            config.home_dir = argv[i + 1];
        else if (strcmp(argv[i], "--dir") == 0)
            config.dir = argv[i + 1];
        else if (strcmp(argv[i], "--srun") == 0)
            config.srun = argv[i + 1];
        else
            break;
    }
    if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        free(self);
        return cmd_fail(CMD_EXIT_USAGE, "slurm-pool: expected -- NODE...");
    }
    config.shoal = self;
    config.nodes = argv + i + 1;
    config.nnodes = argc - i - 1;
    slurm_pool_supervise(&config, (int)fd);
}
