/* SPDX-License-Identifier: MIT */
/* error.c - shoal_strerror() and shoal_errprintf(). */
#include <stdio.h>
#include <string.h>

#include <shoal/shoal.h>

SHOAL_API const char *shoal_version(void)
{
    return SHOAL_VERSION_STRING;
}

SHOAL_API const char *shoal_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define SHOAL_ERRNO_CASE(name, num, text)                                      \
    case name:                                                                 \
        return text;
        SHOAL_ERRNO_TABLE(SHOAL_ERRNO_CASE)
#undef SHOAL_ERRNO_CASE
    default:
        break;
    }
    if (code < 0 && code > -SHOAL_ERRNO_BASE)
        return strerror(-code);
    return "unknown error";
}

SHOAL_API int
shoal_errprintf(shoal_error_t *error, int code, const char *fmt, ...)
{
    va_list ap;

    if (!error)
        return code;
    va_start(ap, fmt);
    vsnprintf(error->text, sizeof(error->text), fmt, ap);
    va_end(ap);
    return code;
}
