/* SPDX-License-Identifier: MIT */
/* bug.h - SHOAL_BUG(): a broken invariant, reported with file and line. */
#ifndef SHOAL_UTIL_BUG_H
#define SHOAL_UTIL_BUG_H

#include <stdio.h>
#include <stdlib.h>

/* Only for conditions that cannot happen unless shoal itself is wrong; never
 * for bad input. */
#define SHOAL_BUG(msg)                                                         \
    do {                                                                       \
        fprintf(stderr, "shoal: BUG at %s:%d: %s\n", __FILE__, __LINE__,       \
                (msg));                                                        \
        abort();                                                               \
    } while (0)

#endif
