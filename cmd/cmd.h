/* SPDX-License-Identifier: MIT */
/* cmd.h - subcommands of the `shoal` front end. Each takes the words after
 * its name and returns the process exit status. */
#ifndef SHOAL_CMD_CMD_H
#define SHOAL_CMD_CMD_H

/* Exit status for bad usage, as the rest of the shell world. */
enum { CMD_EXIT_USAGE = 2 };

/* Say "shoal: " and the formatted text on stderr, as one line; returns
 * status, so a command can `return cmd_fail(1, ...)`. */
int cmd_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same for a usage error, followed by "see 'shoal CMD --help'";
 * returns CMD_EXIT_USAGE. */
int cmd_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* self: the name the launcher was called by, for --version ("mpirun",
 * "mpiexec"). */
int cmd_run(const char *self, int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_slurm_node(int argc, char **argv);
int cmd_slurm_pool(int argc, char **argv);
int cmd_ckpt(int argc, char **argv);
int cmd_ckpt_task(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* submit, jobs, job, wait, results, output, cancel and taskd; -1 when name
 * is none of them. */
int cmd_tasks(const char *name, int argc, char **argv);

#endif
