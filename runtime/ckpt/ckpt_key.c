/* SPDX-License-Identifier: MIT */
/* ckpt_key.c - checking the keys of stored checkpoint copies. */
#include "runtime/ckpt/ckpt_key.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool ckpt_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || strchr("_.+=@,-", c);
}

/* A component named like a version directory would make a store inside a
 * store: "a/v3" beside a's own v3. */
static bool ckpt_key_is_version(const char *part, size_t n)
{
    if (n < 2 || part[0] != 'v')
        return false;
    for (size_t i = 1; i < n; i++)
        if (part[i] < '0' || part[i] > '9')
            return false;
    return true;
}

int ckpt_key_check(const char *key, int allow_empty)
{
    size_t len, depth = 0;
    const char *p;

    if (!key)
        return -EINVAL;
    len = strlen(key);
    if (len == 0)
        return allow_empty ? 0 : -EINVAL;
    if (len > CKPT_KEY_MAX)
        return -EINVAL;
    for (p = key;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);

        if (n == 0 || n > CKPT_KEY_PART_MAX || p[0] == '.'
            || ckpt_key_is_version(p, n) || ++depth > CKPT_KEY_DEPTH)
            return -EINVAL;
        for (size_t i = 0; i < n; i++)
            if (!ckpt_key_char(p[i]))
                return -EINVAL;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

int ckpt_key_path(const char *state, const char *key, char *buf, size_t len)
{
    int n;

    if (!state || ckpt_key_check(key, 1) < 0)
        return -EINVAL;
    n = *key ? snprintf(buf, len, "%s/ckpt/%s", state, key)
             : snprintf(buf, len, "%s/ckpt", state);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
