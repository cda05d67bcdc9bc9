/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/param.h"

TestSuite(param, .timeout = 10);

PARAM_DEFINE(test_speed,
             "test_speed",
             PARAM_TYPE_DOUBLE,
             "2.5",
             "a tunable of this test");
PARAM_DEFINE(test_name,
             "test_name",
             PARAM_TYPE_STRING,
             NULL,
             "another tunable of this test");

static void count_ours(const struct param_def *def, void *arg)
{
    int *found = arg;

    if (strncmp(def->name, "test_", 5) == 0)
        (*found)++;
}

Test(param, every_definition_is_listed)
{
    int found = 0;

    param_foreach(count_ours, &found);
    cr_assert(eq(int, found, 2));
}

Test(param, environment_overrides_default)
{
    shoal_error_t err = {{0}};
    double v = 0;

    unsetenv("SHOAL_TEST_SPEED");
    cr_assert(eq(int, param_get_double(&test_speed, 0, &v, &err), 0));
    cr_assert(eq(dbl, v, 2.5));
    setenv("SHOAL_TEST_SPEED", "7", 1);
    cr_assert(eq(int, param_get_double(&test_speed, 0, &v, &err), 0));
    cr_assert(eq(dbl, v, 7.0));
    cr_assert(param_get_string(&test_name) == NULL);
    setenv("SHOAL_TEST_NAME", "x", 1);
    cr_assert(eq(str, (char *)param_get_string(&test_name), "x"));
}

Test(param, invalid_values_are_errors_not_defaults)
{
    static const char *bad[] = {"fast", "1e999", "-1", "3x", "nan"};
    shoal_error_t err = {{0}};
    double v = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SHOAL_TEST_SPEED", bad[i], 1);
        cr_assert(eq(int, param_get_double(&test_speed, 0, &v, &err), -EINVAL),
                  "'%s' accepted", bad[i]);
        cr_assert(strstr(err.text, "invalid SHOAL_TEST_SPEED=") != NULL, "%s",
                  err.text);
        cr_assert(eq(dbl, v, 42.0), "value changed on failure");
    }
}
