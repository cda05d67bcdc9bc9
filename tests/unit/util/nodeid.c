/* SPDX-License-Identifier: MIT */
/* Unit tests of util/nodeid.c: made once and kept, the file's format, a
 * file an older version wrote, and a damaged file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/nodeid.h"

TestSuite(nodeid, .timeout = 10);

static char nodeid_dir[64];

static void nodeid_setup(void)
{
    strcpy(nodeid_dir, "/tmp/shoal-nodeid-XXXXXX");
    cr_assert(ne(ptr, mkdtemp(nodeid_dir), NULL));
}

static void nodeid_teardown(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/node-id", nodeid_dir);
    unlink(path);
    rmdir(nodeid_dir);
}

static void nodeid_write(const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/node-id", nodeid_dir);
    f = fopen(path, "w");
    cr_assert(ne(ptr, f, NULL));
    fputs(text, f);
    fclose(f);
}

Test(nodeid,
     is_made_once_and_kept,
     .init = nodeid_setup,
     .fini = nodeid_teardown)
{
    uint64_t a = 0, b = 0;
    char path[128], text[40] = "", want[40];
    FILE *f;

    cr_assert(eq(int, nodeid_load(nodeid_dir, &a, NULL), 0));
    cr_assert(ne(u64, a, 0));
    cr_assert(le(u64, a, (uint64_t)INT64_MAX));
    cr_assert(eq(int, nodeid_load(nodeid_dir, &b, NULL), 0));
    cr_assert(eq(u64, a, b));
    snprintf(path, sizeof(path), "%s/node-id", nodeid_dir);
    f = fopen(path, "r");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(ne(ptr, fgets(text, sizeof(text), f), NULL));
    fclose(f);
    snprintf(want, sizeof(want), "%016" PRIx64 "\n", a);
    cr_assert(eq(str, text, want));
}

Test(nodeid,
     an_older_file_is_read_as_it_is,
     .init = nodeid_setup,
     .fini = nodeid_teardown)
{
    uint64_t id = 0;

    nodeid_write("f00000000000000a\n");
    cr_assert(eq(int, nodeid_load(nodeid_dir, &id, NULL), 0));
    cr_assert(eq(u64, id, UINT64_C(0xf00000000000000a)));
}

Test(nodeid,
     a_damaged_file_is_an_error_and_left_alone,
     .init = nodeid_setup,
     .fini = nodeid_teardown)
{
    static const char *const bad[] = {"", "0\n", "xyz\n", "12 34\n"};
    shoal_error_t error = {{0}};
    uint64_t id = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        nodeid_write(bad[i]);
        cr_assert(eq(int, nodeid_load(nodeid_dir, &id, &error), -EINVAL),
                  "file '%s'", bad[i]);
        cr_assert(ne(ptr, strstr(error.text, "bad node id file"), NULL), "%s",
                  error.text);
    }
}

Test(nodeid, a_missing_directory_is_an_error)
{
    shoal_error_t error = {{0}};
    uint64_t id = 0;

    cr_assert(lt(int, nodeid_load("/nonexistent/shoal-dir", &id, &error), 0));
    cr_assert(ne(str, error.text, ""));
}
