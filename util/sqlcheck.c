/* SPDX-License-Identifier: MIT */
/* sqlcheck.c - SQLite's quick_check of a database a journal opens. */
#include <stdio.h>
#include <string.h>

#include "util/sqlcheck.h"

int sqlcheck_quick(sqlite3 *db, char *why, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
    const char *text;

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        text = (const char *)sqlite3_column_text(st, 0);
        rc = text && strcmp(text, "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
        snprintf(why, size, "%s", text ? text : "no answer");
    } else {
        snprintf(why, size, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}
