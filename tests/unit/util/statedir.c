/* SPDX-License-Identifier: MIT */
/* Unit tests of util/statedir.c: each rule in its order, and a buffer too
 * small. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/statedir.h"

TestSuite(statedir, .timeout = 10);

Test(statedir, a_named_directory_wins)
{
    char buf[256];

    setenv("SHOAL_DIR", "/from/env", 1);
    cr_assert(eq(int, statedir_resolve("/x/y", buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, "/x/y"));
    unsetenv("SHOAL_DIR");
}

Test(statedir, shoal_dir_comes_next)
{
    char buf[256];

    setenv("SHOAL_DIR", "/from/env", 1);
    cr_assert(eq(int, statedir_resolve(NULL, buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, "/from/env"));
    cr_assert(eq(int, statedir_resolve("", buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, "/from/env"));
    unsetenv("SHOAL_DIR");
}

Test(statedir, then_the_effective_users_state_home)
{
    char buf[256];

    unsetenv("SHOAL_DIR");
    setenv("XDG_STATE_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    cr_assert(eq(int, statedir_resolve(NULL, buf, sizeof(buf)), 0));
    cr_assert(eq(str, buf, geteuid() == 0 ? "/var/lib/shoal" : "/xdg/shoal"));
    unsetenv("XDG_STATE_HOME");
    cr_assert(eq(int, statedir_resolve(NULL, buf, sizeof(buf)), 0));
    cr_assert(
        eq(str, buf,
           geteuid() == 0 ? "/var/lib/shoal" : "/home/u/.local/state/shoal"));
}

Test(statedir, a_buffer_too_small_is_enametoolong)
{
    char buf[8];

    cr_assert(eq(int, statedir_resolve("/a/long/path", buf, sizeof(buf)),
                 -ENAMETOOLONG));
    cr_assert(eq(int, statedir_resolve(NULL, buf, 4), -ENAMETOOLONG));
}
