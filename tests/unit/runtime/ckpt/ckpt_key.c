/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_key.h"

TestSuite(ckpt_key, .timeout = 10);

Test(ckpt_key, accepts_job_and_rank_paths)
{
    const char *ok[] = {"17/rank3", "job-7_a/r.0", "x", "a/b/c", "v", "vx1"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_expect(eq(int, ckpt_key_check(ok[i], 0), 0), "key '%s'", ok[i]);
}

Test(ckpt_key, refuses_keys_that_leave_the_directory)
{
    const char *bad[] = {"",       "/abs", "a//b",  "a/",   "..",
                         "a/../b", ".",    ".x",    "a/.b", "a b",
                         "a\\b",   "v3",   "a/v12", "a\n",  "a/./b"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(eq(int, ckpt_key_check(bad[i], 0), -EINVAL), "key '%s'",
                  bad[i]);
    cr_expect(eq(int, ckpt_key_check(NULL, 1), -EINVAL));
    cr_expect(eq(int, ckpt_key_check("", 1), 0));
}

Test(ckpt_key, bounds_length_and_depth)
{
    char key[CKPT_KEY_MAX + 2];

    memset(key, 'a', CKPT_KEY_PART_MAX + 1);
    key[CKPT_KEY_PART_MAX + 1] = '\0';
    cr_expect(eq(int, ckpt_key_check(key, 0), -EINVAL));
    key[CKPT_KEY_PART_MAX] = '\0';
    cr_expect(eq(int, ckpt_key_check(key, 0), 0));
    strcpy(key, "a");
    for (int i = 1; i < CKPT_KEY_DEPTH; i++)
        strcat(key, "/a");
    cr_expect(eq(int, ckpt_key_check(key, 0), 0));
    strcat(key, "/a");
    cr_expect(eq(int, ckpt_key_check(key, 0), -EINVAL));
}

Test(ckpt_key, path_is_below_the_state_directory)
{
    char buf[64];

    cr_expect(eq(int, ckpt_key_path("/s", "j/r1", buf, sizeof(buf)), 0));
    cr_expect(eq(str, buf, "/s/ckpt/j/r1"));
    cr_expect(eq(int, ckpt_key_path("/s", "", buf, sizeof(buf)), 0));
    cr_expect(eq(str, buf, "/s/ckpt"));
    cr_expect(eq(int, ckpt_key_path("/s", "../x", buf, sizeof(buf)), -EINVAL));
    cr_expect(eq(int, ckpt_key_path("/s", "abc", buf, 8), -ENAMETOOLONG));
}
