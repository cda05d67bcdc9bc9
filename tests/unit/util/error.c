/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/shoal.h>

TestSuite(error, .timeout = 10);

Test(error, strerror_names_shoal_codes_and_errno)
{
    cr_assert(
        eq(str, (char *)shoal_strerror(SHOAL_ENOSLOTS), "not enough slots"));
    cr_assert(eq(str, (char *)shoal_strerror(-ENOENT), strerror(ENOENT)));
    cr_assert(eq(str, (char *)shoal_strerror(0), "success"));
    cr_assert(eq(str, (char *)shoal_strerror(-999999), "unknown error"));
}

Test(error, errprintf_fills_buffer_and_returns_code)
{
    shoal_error_t err = {{0}};
    int rc = shoal_errprintf(&err, -EINVAL, "bad '%s'", "x");

    cr_assert(eq(int, rc, -EINVAL));
    cr_assert(eq(str, err.text, "bad 'x'"));
    cr_assert(eq(int, shoal_errprintf(NULL, -EIO, "ignored"), -EIO));
}
