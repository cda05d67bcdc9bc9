/* SPDX-License-Identifier: MIT */
/* info.c - `shoal info`: what this build of shoal is and can be tuned with.
 *
 * `shoal info --json` prints one JSON object, the schema scripts may rely
 * on (fields are only ever added):
 *   {"version": "0.1.0",
 *    "mpi": [{"library": "shoal's MPI", "wireup": "PMI-1"},
 *            {"library": "MPICH", "wireup": "PMI-1"},
 *            {"library": "Open MPI", "wireup": "PMIx"}],
 *    "pmix": "OpenPMIx 4.2.2 ...",
 *    "params": [{"name": "SHOAL_KILL_GRACE", "type": "double"|"string",
 *                "help": "...", "default": "3" or null,
 *                "value": "3" or null}, ...]}
 * "params" holds what `shoal info --params` prints, in the same order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/pmix/pmixd.h"
#include "util/param.h"

static const char info_usage[] =
    "usage: shoal info [--params | --json]\n"
    "\n"
    "Show shoal's version, the MPI libraries it launches with their "
    "wire-up,\n"
    "and its PMIx library.\n"
    "\n"
    "  --params         every SHOAL_* tunable: help, default and value now\n"
    "  --json           all of it, tunables included, as one JSON object\n"
    "  -h, --help       show this help\n";

static void info_print_param(const struct param_def *def, void *arg)
{
    const char *value = param_get_string(def);

    (void)arg;
    printf("%s\n    %s\n    default: %s; now: %s\n", param_env_name(def),
           def->help, def->default_value ? def->default_value : "(unset)",
           value ? value : "(unset)");
}

static void info_json_param(const struct param_def *def, void *arg)
{
    json_t *params = arg;
    const char *value = param_get_string(def);
    json_t *p = json_pack(
        "{s:s, s:s, s:s, s:o, s:o}", "name", param_env_name(def), "type",
        def->type == PARAM_TYPE_DOUBLE ? "double" : "string", "help", def->help,
        "default",
        def->default_value ? json_string(def->default_value) : json_null(),
        "value", value ? json_string(value) : json_null());

    if (p)
        json_array_append_new(params, p);
}

static int info_json(void)
{
    json_t *params = json_array();
    json_t *info;
    char *text;

    if (!params)
        return cmd_fail(1, "out of memory");
    param_foreach(info_json_param, params);
    info = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:s, s:o}",
                     "version", shoal_version(), "mpi", "library",
                     "shoal's MPI", "wireup", "PMI-1", "library", "MPICH",
                     "wireup", "PMI-1", "library", "Open MPI", "wireup", "PMIx",
                     "pmix", pmixd_version(), "params", params);
    text = info ? json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(info);
    if (!text)
        return cmd_fail(1, "out of memory");
    puts(text);
    free(text);
    return 0;
}

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
    if (argc == 1 && strcmp(argv[0], "--json") == 0)
        return info_json();
    if (argc != 0)
        return cmd_usage("info", "usage: shoal info [--params | --json]");
    printf("shoal %s\n", shoal_version());
    /* every rank gets both; its MPI library takes the one it speaks */
    printf("wire-up: PMI-1 (MPICH, shoal's MPI), PMIx (Open MPI)\n");
    printf("PMIx: %s\n", pmixd_version());
    return 0;
}
