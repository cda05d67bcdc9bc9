/* SPDX-License-Identifier: MIT */
/* conf.c - `key = value` configuration files: split into lines, each
 * line into a key and an unquoted value, in place in one copy of the
 * text. */
#include "util/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct conf {
    char *path;
    char *text; /* the copy the values point into */
    const char *const *keys;
    size_t nkeys;
    struct conf_entry *entries;
    size_t count;
};

static bool conf_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool conf_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static char *conf_skip_blanks(char *s)
{
    while (conf_blank(*s))
        s++;
    return s;
}

/* The quoted value at s (its opening quote), unquoted in place; sets
 * *value and returns 0, or -1 when the quote is not closed or more than
 * a comment follows it (*bad says which). */
static int conf_unquote(char *s, char **value, const char **bad)
{
    char quote = *s, *in = s + 1, *out = s + 1;

    *value = out;
    while (*in && *in != quote) {
        if (quote == '"' && *in == '\\' && (in[1] == '"' || in[1] == '\\'))
            in++;
        *out++ = *in++;
    }
    if (*in != quote) {
        *bad = "unterminated quote";
        return -1;
    }
    *out = '\0';
    in = conf_skip_blanks(in + 1);
    if (*in && *in != '#') {
        *bad = "text after the closing quote";
        return -1;
    }
    return 0;
}

/* The unquoted value at s (after the '=' and the blanks): up to the end,
 * or a '#' after a blank (s[-1] is still on the line), less trailing
 * blanks. */
static char *conf_plain(char *s)
{
    char *end = s;

    while (*end && !(*end == '#' && conf_blank(end[-1])))
        end++;
    while (end > s && conf_blank(end[-1]))
        end--;
    *end = '\0';
    return s;
}

static int conf_add(struct conf *c, size_t key, const char *value, int line)
{
    struct conf_entry *e;

    e = realloc(c->entries, (c->count + 1) * sizeof(*e));
    if (!e)
        return -ENOMEM;
    c->entries = e;
    c->entries[c->count++] = (struct conf_entry){key, value, line};
    return 0;
}

/* One line (NUL-terminated, without its newline). */
static int conf_line(struct conf *c, char *s, int line, shoal_error_t *error)
{
    const struct conf_entry *first;
    const char *bad = NULL;
    char *key, *value;
    size_t k, klen;

    s = conf_skip_blanks(s);
    if (!*s || *s == '#')
        return 0;
    key = s;
    while (conf_key_char(*s))
        s++;
    klen = (size_t)(s - key);
    s = conf_skip_blanks(s);
    if (klen == 0 || *s != '=')
        return shoal_errprintf(error, -EINVAL,
                               "%s:%d: expected 'key = value', found '%.*s'",
                               c->path, line, 60, key);
    key[klen] = '\0';
    for (k = 0; k < c->nkeys; k++)
        if (strcmp(c->keys[k], key) == 0)
            break;
    if (k == c->nkeys)
        return shoal_errprintf(error, -EINVAL, "%s:%d: unknown key '%s'",
                               c->path, line, key);
    first = conf_find(c, k);
    if (first)
        return shoal_errprintf(error, -EINVAL,
                               "%s:%d: duplicate key '%s' (first set on line "
                               "%d)",
                               c->path, line, key, first->line);
    s = conf_skip_blanks(s + 1);
    if (*s == '"' || *s == '\'') {
        if (conf_unquote(s, &value, &bad) < 0)
            return shoal_errprintf(error, -EINVAL, "%s:%d: key '%s': %s",
                                   c->path, line, key, bad);
    } else {
        value = conf_plain(s);
    }
    if (!*value)
        return shoal_errprintf(error, -EINVAL, "%s:%d: key '%s' needs a value",
                               c->path, line, key);
    if (conf_add(c, k, value, line) < 0)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    return 0;
}

int conf_parse(const char *path,
               const char *text,
               size_t len,
               const char *const *keys,
               size_t nkeys,
               conf_t **out,
               shoal_error_t *error)
{
    struct conf *c = calloc(1, sizeof(*c));
    char *s, *nl;
    int line = 0, rc = 0;

    if (!c)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    c->keys = keys;
    c->nkeys = nkeys;
    c->path = strdup(path);
    c->text = malloc(len + 1);
    if (!c->path || !c->text) {
        conf_destroy(c);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    for (s = c->text; rc == 0 && *s; s = nl ? nl + 1 : s + strlen(s)) {
        size_t n;

        line++;
        nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        n = strlen(s);
        if (n > 0 && s[n - 1] == '\r')
            s[n - 1] = '\0';
        rc = conf_line(c, s, line, error);
    }
    if (rc < 0) {
        conf_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

int conf_load(const char *path,
              bool optional,
              const char *const *keys,
              size_t nkeys,
              conf_t **out,
              shoal_error_t *error)
{
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && optional)
            return 0;
        rc = -errno;
        return shoal_errprintf(error, rc, "cannot read '%s': %s", path,
                               strerror(-rc));
    }
    buf = malloc(CONF_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    do {
        n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
        if (n > 0)
            len += (size_t)n;
    } while ((n > 0 && len <= CONF_FILE_MAX) || (n < 0 && errno == EINTR));
    rc = n < 0 ? -errno : 0;
    close(fd);
    if (rc < 0)
        rc = shoal_errprintf(error, rc, "cannot read '%s': %s", path,
                             strerror(-rc));
    else if (len > CONF_FILE_MAX)
        rc = shoal_errprintf(error, -EFBIG, "'%s': larger than %d bytes", path,
                             CONF_FILE_MAX);
    else if (memchr(buf, '\0', len))
        rc = shoal_errprintf(error, -EINVAL,
                             "'%s': a NUL byte: not a text file", path);
    else
        rc = conf_parse(path, buf, len, keys, nkeys, out, error);
    free(buf);
    return rc;
}

void conf_destroy(conf_t *c)
{
    if (!c)
        return;
    free(c->entries);
    free(c->text);
    free(c->path);
    free(c);
}

const char *conf_path(const conf_t *c)
{
    return c->path;
}

size_t conf_count(const conf_t *c)
{
    return c->count;
}

const struct conf_entry *conf_entry(const conf_t *c, size_t i)
{
    return i < c->count ? &c->entries[i] : NULL;
}

const struct conf_entry *conf_find(const conf_t *c, size_t key)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->entries[i].key == key)
            return &c->entries[i];
    return NULL;
}

int conf_bool_parse(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}
