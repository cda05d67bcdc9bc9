/* SPDX-License-Identifier: MIT */
/* param.c - tunables from the environment, listed from a linker section. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/param.h"

/* The linker defines these around the section; weak, so that a program
 * that links no tunable at all still links (both are then NULL). */
extern const struct param_def __start_shoal_params[] __attribute__((weak));
extern const struct param_def __stop_shoal_params[] __attribute__((weak));

const char *param_env_name(const struct param_def *def)
{
    static char name[128];
    size_t i = 0;

    i = (size_t)snprintf(name, sizeof(name), "SHOAL_");
    for (const char *p = def->name; *p && i + 1 < sizeof(name); p++)
        name[i++] = (char)toupper((unsigned char)*p);
    name[i] = '\0';
    return name;
}

const char *param_get_string(const struct param_def *def)
{
    const char *value = getenv(param_env_name(def));

    return value && *value ? value : def->default_value;
}

int param_get_double(const struct param_def *def,
                     double min,
                     double *value,
                     shoal_error_t *error)
{
    const char *text = param_get_string(def);
    char *end;
    double v;

    if (!text)
        return shoal_errprintf(error, -EINVAL, "tunable '%s' has no value",
                               def->name);
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < min)
        return shoal_errprintf(error, -EINVAL,
                               "invalid %s='%s': expected a number >= %g",
                               param_env_name(def), text, min);
    *value = v;
    return 0;
}

void param_foreach(void (*fn)(const struct param_def *def, void *arg),
                   void *arg)
{
    for (const struct param_def *p = __start_shoal_params;
         p < __stop_shoal_params; p++)
        fn(p, arg);
}
