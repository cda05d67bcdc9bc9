/* SPDX-License-Identifier: MIT */
/* info.c - `shoal info`: what this build of shoal is and can be tuned with. */
#include <stdio.h>
#include <string.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/pmix/pmixd.h"
#include "util/param.h"

static void info_print_param(const struct param_def *def, void *arg)
{
    const char *value = param_get_string(def);

    (void)arg;
    printf("%s\n    %s\n    default: %s; now: %s\n", param_env_name(def),
           def->help, def->default_value ? def->default_value : "(unset)",
           value ? value : "(unset)");
}

static const char info_usage[] =
    "usage: shoal info [--params]\n"
    "\n"
    "Show shoal's version, the MPI wire-ups it serves and its PMIx "
    "library.\n"
    "\n"
    "  --params         every SHOAL_* tunable: help, default and value now\n"
    "  -h, --help       show this help\n";

int cmd_info(int argc, char **argv)
{
    if (argc == 1
        && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(info_usage, stdout);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "--params") == 0) {
        param_foreach(info_print_param, NULL);
        return 0;
    }
    if (argc != 0) {
        return cmd_usage("info", "usage: shoal info [--params]");
    }
    printf("shoal %s\n", shoal_version());
    /* every rank gets both; its MPI library takes the one it speaks */
    printf("wire-up: PMI-1 (MPICH, shoal's MPI), PMIx (Open MPI)\n");
    printf("PMIx: %s\n", pmixd_version());
    return 0;
}
