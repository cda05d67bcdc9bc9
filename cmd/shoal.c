/* SPDX-License-Identifier: MIT */
/* shoal.c - the `shoal` command; also `mpirun` and `mpiexec`. */
#include <stdio.h>
#include <string.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"

static const char shoal_usage[] =
    "usage: shoal <command> [options]\n"
    "\n"
    "commands:\n"
    "  run        launch a program on N ranks (also as mpirun, mpiexec)\n"
    "  info       show the version; --params lists every tunable\n"
    "  keygen     make a new pool key\n"
    "  daemon     run, start or stop the node daemon (also as shoald)\n"
    "  status     show the pool: every node, its cores, memory, load\n"
    "  submit     run a command once per task of a bag-of-tasks job\n"
    "  jobs       list bag-of-tasks jobs; job ID shows one\n"
    "  wait       wait for a job, showing its progress\n"
    "  results    per-task results of a job (--json, --csv)\n"
    "  output     a task's stdout and stderr\n"
    "  cancel     cancel a job and kill its tasks\n"
    "  resubmit   run a job's failed tasks (or all) again as a new job\n"
    "  ckpt       list (ls) or remove (rm) the checkpoints jobs keep\n"
    "  bench      run benchmark suites; list, report and compare runs\n"
    "  version    print shoal's version\n"
    "  help       show this help; help COMMAND shows a command's\n"
    "\n"
    "'shoal COMMAND --help' (or 'shoal help COMMAND') lists the options of\n"
    "a command.\n";

static int shoal_dispatch(int argc, char **argv);

/* `shoal help COMMAND` is `shoal COMMAND --help`, as git's `git help`. */
static int shoal_help(const char *command)
{
    char *words[] = {"shoal", (char *)command, "--help", NULL};

    if (strcmp(command, "help") == 0 || strcmp(command, "version") == 0) {
        fputs(shoal_usage, stdout);
        return 0;
    }
    /* hidden commands have no help of their own */
    if (strcmp(command, "proxy") == 0 || strcmp(command, "taskd") == 0
        || strcmp(command, "slurm-node") == 0
        || strcmp(command, "slurm-pool") == 0
        || strcmp(command, "ckpt-task") == 0) {
        fprintf(stderr, "shoal: unknown command '%s'\nsee 'shoal help'\n",
                command);
        return CMD_EXIT_USAGE;
    }
    return shoal_dispatch(3, words);
}

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/');

    self = self ? self + 1 : argv[0];
    if (strcmp(self, "mpirun") == 0 || strcmp(self, "mpiexec") == 0)
        return cmd_run(self, argc - 1, argv + 1);
    if (strcmp(self, "shoald") == 0) {
        /* shoald [options] is shoal daemon run [options] */
        argv[0] = "run";
        return cmd_daemon(argc, argv);
    }
    return shoal_dispatch(argc, argv);
}

/* shoal COMMAND ARGS...: argv[1] names the command. */
static int shoal_dispatch(int argc, char **argv)
{
    if (argc < 2) {
        fputs(shoal_usage, stderr);
        return CMD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3)
        return shoal_help(argv[2]);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run("mpirun", argc - 2, argv + 2);
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    /* hidden: started by the pool's daemon, not by people */
    if (strcmp(argv[1], "proxy") == 0)
        return cmd_proxy(argc - 2, argv + 2);
    /* hidden: started by a worker's task service for tasks' checkpoints */
    if (strcmp(argv[1], "ckpt-task") == 0)
        return cmd_ckpt_task(argc - 2, argv + 2);
    /* hidden: started by `shoal run` through srun in an allocation */
    if (strcmp(argv[1], "slurm-node") == 0)
        return cmd_slurm_node(argc - 2, argv + 2);
    /* hidden: the supervisor of a pool kept over an allocation */
    if (strcmp(argv[1], "slurm-pool") == 0)
        return cmd_slurm_pool(argc - 2, argv + 2);
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(argv[1], "daemon") == 0)
        return cmd_daemon(argc - 2, argv + 2);
    if (strcmp(argv[1], "status") == 0)
        return cmd_status(argc - 2, argv + 2);
    if (strcmp(argv[1], "ckpt") == 0)
        return cmd_ckpt(argc - 2, argv + 2);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    {
        int rc = cmd_tasks(argv[1], argc - 2, argv + 2);

        if (rc >= 0)
            return rc;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("shoal %s\n", shoal_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "-h") == 0) {
        fputs(shoal_usage, stdout);
        return 0;
    }
    fprintf(stderr, "shoal: unknown command '%s'\nsee 'shoal help'\n", argv[1]);
    return CMD_EXIT_USAGE;
}
