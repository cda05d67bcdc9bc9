/* SPDX-License-Identifier: MIT */
/* suite_exec.h - run one repetition: start the command, wait for it with
 * a timeout, measure its wall time, and hand back its output.
 *
 * The wall time runs from just before the process is created to the
 * moment its exit is seen (a pidfd becoming readable), as /usr/bin/time
 * measures from fork to wait4. Standard output and standard error go to
 * two anonymous in-memory files (memfd), read back after the exit, so a
 * chatty program never blocks on a pipe nobody drains. On timeout the
 * process group gets SIGTERM, then SIGKILL a second later.
 *
 * Blocks the calling thread for the command's duration. */
#ifndef SHOAL_SUITE_EXEC_H
#define SHOAL_SUITE_EXEC_H

#include <stddef.h>

#include <shoal/error.h>

enum suite_exec_status {
    SUITE_EXEC_OK = 0,  /* exit status 0 */
    SUITE_EXEC_FAILED,  /* another exit status */
    SUITE_EXEC_CRASHED, /* ended by a signal */
    SUITE_EXEC_TIMEOUT, /* killed after the timeout */
};

struct suite_exec_result {
    enum suite_exec_status status;
    int exit_code; /* exit status, or -signal */
    double wall;   /* seconds */
    char *out;     /* standard output, NUL-terminated; caller frees */
    size_t out_len;
    char *err; /* standard error, NUL-terminated; caller frees */
    size_t err_len;
};

/* Run argv (argv[0] looked up in PATH) with environment envp and
 * timeout seconds (0: none). Returns 0 with *result filled, or a negative
 * code with error filled when the command could not be started (nothing
 * is left running then). At most 16 MiB of each stream is kept. */
int suite_exec_run(char *const *argv,
                   char *const *envp,
                   double timeout,
                   struct suite_exec_result *result,
                   shoal_error_t *error);

/* Free the result's buffers. */
void suite_exec_release(struct suite_exec_result *result);

/* "ok", "failed", "crashed", "timeout"; static. */
const char *suite_exec_status_name(enum suite_exec_status status);

#endif
