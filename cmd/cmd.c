/* SPDX-License-Identifier: MIT */
/* cmd.c - what every subcommand says to the user the same way. */
#include <stdarg.h>
#include <stdio.h>

#include "cmd/cmd.h"

int cmd_fail(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("shoal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

int cmd_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("shoal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'shoal %s --help'\n", cmd);
    return CMD_EXIT_USAGE;
}
