/* SPDX-License-Identifier: MIT */
/* sqlcheck.h - SQLite's quick_check of a database a journal opens.
 *
 * quick_check reads pages, cells and free lists without the index
 * cross-checks of integrity_check, so it stays linear in the file: cheap
 * enough to run at every open, before anything is written, so that a
 * damaged file is refused as it is and never added to. */
#ifndef SHOAL_UTIL_SQLCHECK_H
#define SHOAL_UTIL_SQLCHECK_H

#include <sqlite3.h>
#include <stddef.h>

/* Run PRAGMA quick_check(1) on db. Returns SQLITE_OK when it says "ok",
 * SQLITE_CORRUPT with its first complaint in why, or the SQLite error
 * that kept it from running with SQLite's message in why. The caller maps
 * the code to its own errors. */
int sqlcheck_quick(sqlite3 *db, char *why, size_t size);

#endif
