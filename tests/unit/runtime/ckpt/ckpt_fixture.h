/* SPDX-License-Identifier: MIT */
/* ckpt_fixture.h - a scratch checkpoint directory for the ckpt tests, and
 * small file helpers. Each test runs in its own process (Criterion), so
 * the environment it sets does not leak into the next. */
#ifndef SHOAL_TESTS_CKPT_FIXTURE_H
#define SHOAL_TESTS_CKPT_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

static char ckpt_tmp[64];  /* the scratch directory */
static char ckpt_rdir[96]; /* ckpt_tmp/rdir: the store */

static inline void ckpt_fixture_setup(void)
{
    strcpy(ckpt_tmp, "/tmp/shoal-ckpt-XXXXXX");
    cr_assert(mkdtemp(ckpt_tmp) != NULL);
    snprintf(ckpt_rdir, sizeof(ckpt_rdir), "%s/rdir", ckpt_tmp);
    unsetenv("SHOAL_CKPT_RESTART");
    unsetenv("SHOAL_CKPT_VERSION");
    unsetenv("SHOAL_CKPT_INTERVAL");
    setenv("SHOAL_CKPT_DIR", ckpt_rdir, 1);
}

static inline void ckpt_fixture_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", ckpt_tmp);
    cr_assert(eq(int, system(cmd), 0));
}

/* ckpt_rdir/<rel>, in a static buffer of 4 rotating slots. */
static inline const char *ckpt_at(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline const char *ckpt_at(const char *fmt, ...)
{
    static char bufs[4][512];
    static int next;
    char rel[256];
    char *buf = bufs[next++ % 4];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    snprintf(buf, 512, "%s/%s", ckpt_rdir, rel);
    return buf;
}

static inline void ckpt_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert(f != NULL, "cannot write %s", path);
    fputs(text, f);
    cr_assert(eq(int, fclose(f), 0));
}

/* The first line of path, without its newline ("" when empty). */
static inline const char *ckpt_read(const char *path)
{
    static char line[1024];
    FILE *f = fopen(path, "r");

    cr_assert(f != NULL, "cannot read %s", path);
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static inline int ckpt_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Flip one byte of path at offset. */
static inline void ckpt_flip(const char *path, long offset)
{
    FILE *f = fopen(path, "r+");
    int c;

    cr_assert(f != NULL);
    cr_assert(eq(int, fseek(f, offset, SEEK_SET), 0));
    c = fgetc(f);
    cr_assert(c != EOF);
    cr_assert(eq(int, fseek(f, offset, SEEK_SET), 0));
    fputc(c ^ 0x01, f);
    cr_assert(eq(int, fclose(f), 0));
}

#endif
