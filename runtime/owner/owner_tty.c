/* SPDX-License-Identifier: MIT */
/* owner_tty.c - keyboard idle from the access times of terminals. */
#include "runtime/owner/owner_tty.h"

#include <errno.h>
#include <glob.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utmpx.h>

struct owner_tty {
    struct owner_source src;
    char *utmp; /* NULL: the system's; "": none */
    char *glob_pattern;
};

/* The newest access time of path, if it is a character device, into
 * *newest; sets *found. */
static void tty_consider(const char *path, double *newest, bool *found)
{
    struct stat st;
    double t;

    if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
        return;
    t = (double)st.st_atim.tv_sec + st.st_atim.tv_nsec / 1e9;
    if (!*found || t > *newest)
        *newest = t;
    *found = true;
}

static void tty_scan_utmp(const char *file, double *newest, bool *found)
{
    struct utmpx *u;

    if (file && !*file)
        return;
    if (utmpxname(file ? file : _PATH_UTMPX) < 0)
        return;
    setutxent();
    while ((u = getutxent()) != NULL) {
        char path[sizeof(u->ut_line) + 8];

        if (u->ut_type != USER_PROCESS || !u->ut_line[0])
            continue;
        snprintf(path, sizeof(path), "/dev/%.*s", (int)sizeof(u->ut_line),
                 u->ut_line);
        tty_consider(path, newest, found);
    }
    endutxent();
}

static int tty_sample(struct owner_source *src, double now, double *value)
{
    struct owner_tty *t = src->impl;
    double newest = 0;
    bool found = false;
    glob_t g;

    tty_scan_utmp(t->utmp, &newest, &found);
    if (t->glob_pattern && glob(t->glob_pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            tty_consider(g.gl_pathv[i], &newest, &found);
        globfree(&g);
    }
    if (!found)
        return -ENODEV;
    *value = now > newest ? now - newest : 0;
    return 0;
}

static void tty_destroy(struct owner_source *src)
{
    struct owner_tty *t = src->impl;

    free(t->utmp);
    free(t->glob_pattern);
}

static const struct owner_source_ops tty_ops = {
    .sample = tty_sample,
    .destroy = tty_destroy,
};

int owner_tty_source_create(const char *utmp,
                            const char *glob_pattern,
                            struct owner_source **out)
{
    struct owner_tty *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->src = (struct owner_source){
        .ops = &tty_ops, .name = "tty", .kind = OWNER_SOURCE_INPUT, .impl = t};
    if ((utmp && !(t->utmp = strdup(utmp)))
        || (glob_pattern && !(t->glob_pattern = strdup(glob_pattern)))) {
        tty_destroy(&t->src);
        free(t);
        return -ENOMEM;
    }
    *out = &t->src;
    return 0;
}
