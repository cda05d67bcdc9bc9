/* SPDX-License-Identifier: MIT */
/* error.h - shoal's error convention.
 *
 * Every function returns int: 0 on success, a negative errno value or a
 * negative SHOAL_E* code on failure. Functions whose failures a person will
 * read also take an optional shoal_error_t, filled with the full message. */
#ifndef SHOAL_ERROR_H
#define SHOAL_ERROR_H

#include <stdarg.h>
#include <shoal/version.h>

/* X-macro table of shoal's own codes: name, number, text. The numbers are
 * offsets above SHOAL_ERRNO_BASE so they never collide with errno values. */
#define SHOAL_ERRNO_TABLE(X)                                                   \
    X(SHOAL_ENOSLOTS, 1, "not enough slots")                                   \
    X(SHOAL_EPROTO, 2, "malformed protocol message")                           \
    X(SHOAL_ETOPOLOGY, 3, "cannot load topology")                              \
    X(SHOAL_EUSAGE, 4, "invalid usage")                                        \
    X(SHOAL_ENOHOST, 5, "host not available")                                  \
    X(SHOAL_ETIMEDOUT, 6, "job timed out")                                     \
    X(SHOAL_EABORTED, 7, "job aborted")                                        \
    X(SHOAL_EOUTPUT, 8, "cannot write the job's output")

enum { SHOAL_ERRNO_BASE = 4096 };

enum shoal_errno {
#define SHOAL_ERRNO_ENUM(name, num, text) name = -(SHOAL_ERRNO_BASE + num),
    SHOAL_ERRNO_TABLE(SHOAL_ERRNO_ENUM)
#undef SHOAL_ERRNO_ENUM
};

/* A message for a person, filled by the failing call. */
typedef struct shoal_error {
    char text[512];
} shoal_error_t;

/* Return a static description of code, which is 0, a negative errno or a
 * SHOAL_E* code. Never returns NULL. */
SHOAL_API const char *shoal_strerror(int code);

/* Format a message into error (which may be NULL) and return code, so a
 * failing call can `return shoal_errprintf(error, -EINVAL, "...")`. */
SHOAL_API int
shoal_errprintf(shoal_error_t *error, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
