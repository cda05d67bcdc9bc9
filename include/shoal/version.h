/* SPDX-License-Identifier: MIT */
#ifndef SHOAL_VERSION_H
#define SHOAL_VERSION_H

#define SHOAL_VERSION_MAJOR 0
#define SHOAL_VERSION_MINOR 1
#define SHOAL_VERSION_PATCH 0
#define SHOAL_VERSION_STRING "0.1.0"

/* Symbols of libshoal that are part of the public API. */
#define SHOAL_API __attribute__((visibility("default")))

/* Return the version of the library actually loaded, as "MAJOR.MINOR.PATCH".
 * The string is static; never free it. */
SHOAL_API const char *shoal_version(void);

#endif
