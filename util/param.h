/* SPDX-License-Identifier: MIT */
/* param.h - tunables, each declared once beside its use.
 *
 * A module declares a tunable with PARAM_DEFINE (name, type, default, help);
 * the definition lands in a dedicated linker section, so `shoal info
 * --params` can list every tunable of the program without a central table
 * that drifts out of date (libfabric's fi_info -e, MPICH's CVARs). A value
 * comes from the SHOAL_<NAME> environment variable, else the default; the
 * pool's configuration file will slot in between. */
#ifndef SHOAL_UTIL_PARAM_H
#define SHOAL_UTIL_PARAM_H

#include <stddef.h>

#include <shoal/error.h>

enum param_type {
    PARAM_TYPE_DOUBLE,
    PARAM_TYPE_STRING,
};

struct param_def {
    const char *name; /* lower case; the variable is SHOAL_ + upper case */
    enum param_type type;
    const char *default_value; /* as text; NULL for none */
    const char *help;
} __attribute__((aligned(16)));

#define PARAM_DEFINE(var, pname, ptype, pdefault, phelp)                       \
    static const struct param_def var                                          \
        __attribute__((used, section("shoal_params"))) = {                     \
            .name = (pname),                                                   \
            .type = (ptype),                                                   \
            .default_value = (pdefault),                                       \
            .help = (phelp),                                                   \
    }

/* The value of a double tunable: from the environment when set and valid
 * (a finite number >= min), else the default. An invalid setting is an
 * error (returned, with error filled naming variable and value) so a typo
 * is not silently ignored. */
int param_get_double(const struct param_def *def,
                     double min,
                     double *value,
                     shoal_error_t *error);

/* The value of a string tunable (borrowed from the environment or the
 * definition), or NULL when unset and without default. */
const char *param_get_string(const struct param_def *def);

/* Call fn for every tunable linked into this program, in link order. */
void param_foreach(void (*fn)(const struct param_def *def, void *arg),
                   void *arg);

/* The environment variable of def, e.g. "SHOAL_KILL_GRACE"; static
 * storage, overwritten by the next call. */
const char *param_env_name(const struct param_def *def);

#endif
