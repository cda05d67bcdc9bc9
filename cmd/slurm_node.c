/* SPDX-License-Identifier: MIT */
/* slurm_node.c - `shoal slurm-node SEED BASE [--keep]` (hidden): one node's
 * daemon of the private pool `shoal run` makes over a Slurm allocation, run by
 * srun in each task of the pool's step (runtime/slurm/slurm_pool.h). It
 * runs the daemon in the foreground, joined to the home daemon at SEED,
 * until srun passes it SIGTERM, then removes its directory under BASE
 * (unless --keep: a task service's pool, whose tasks' output stays there).
 * Its jobs run without guest limits (no low CPU weight, no nice): the
 * allocation is the user's, and Slurm confines the step; and on the CPUs
 * Slurm gave the step alone (--cpus, from the daemon's affinity). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/slurm/slurm_node.h"

int cmd_slurm_node(int argc, char **argv)
{
    struct slurm_node_setup setup;
    shoal_error_t error;
    int status;

    bool keep = argc == 3 && strcmp(argv[2], "--keep") == 0;

    if (argc != 2 && !keep)
        return cmd_fail(CMD_EXIT_USAGE,
                        "usage: shoal slurm-node SEED BASE [--keep] "
                        "(started by shoal run through srun)");
    if (slurm_node_prepare(argv[1], &setup, &error) < 0) {
        slurm_node_cleanup(&setup);
        return cmd_fail(1, "slurm-node: %s", error.text);
    }
    char *daemon_argv[] = {
        "run",          "--dir",    setup.dir,    "--key",
        setup.key_path, "--listen", setup.listen, "--join",
        argv[0],        "--name",   setup.name,   "--credentials",
        "pool",         "--config", "/dev/null",  "--guest-limits",
        "off",          NULL,       NULL,         NULL};
    int argn = (int)(sizeof(daemon_argv) / sizeof(char *)) - 3;

    /* only the CPUs Slurm gave the step */
    if (setup.cpus[0]) {
        daemon_argv[argn++] = "--cpus";
        daemon_argv[argn++] = setup.cpus;
    }
    status = cmd_daemon(argn, daemon_argv);
    if (!keep)
        slurm_node_cleanup(&setup);
    return status;
}
