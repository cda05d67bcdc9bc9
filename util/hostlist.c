/* SPDX-License-Identifier: MIT */
/* hostlist.c - parse -H/--host arguments and hostfiles. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostlist.h"

enum { HOSTLIST_NAME_MAX = 255 };

/* A host name, an IPv4 address or an IPv6 address. */
static bool hostlist_name_valid(const char *name, size_t len)
{
    char buf[HOSTLIST_NAME_MAX + 1];
    struct in6_addr addr;

    if (len == 0 || len > HOSTLIST_NAME_MAX)
        return false;
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (strchr(buf, ':'))
        return inet_pton(AF_INET6, buf, &addr) == 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return true;
}

/* text[0..len-1] as it can be shown in a message: printable ASCII as it
 * is, a backslash doubled, any other byte as \xNN (a tab, a carriage
 * return, a byte of a binary file given as a hostfile), cut short with
 * "..." so the whole fits in buf. Returns buf. */
static const char *
hostlist_escape(const char *text, size_t len, char *buf, size_t size)
{
    size_t out = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char piece[5];
        size_t n;

        if (c == '\\')
            n = (size_t)snprintf(piece, sizeof(piece), "\\\\");
        else if (c >= 0x20 && c < 0x7f)
            n = (size_t)snprintf(piece, sizeof(piece), "%c", c);
        else
            n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
        if (out + n + 4 > size) {
            memcpy(buf + out, "...", 4);
            return buf;
        }
        memcpy(buf + out, piece, n);
        out += n;
    }
    buf[out] = '\0';
    return buf;
}

/* Room for a HOSTLIST_NAME_MAX-byte word, every byte escaped. */
enum { HOSTLIST_ESCAPED_MAX = 4 * HOSTLIST_NAME_MAX + 4 };

static int hostlist_parse_count(const char *text, size_t len, int *out)
{
    char buf[16];
    char *end;
    long n;

    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    n = strtol(buf, &end, 10);
    if (errno != 0 || *end != '\0' || n <= 0 || n > INT_MAX / 2)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

/* Add slots (and a max_slots cap, 0 for none) to name, merging a host
 * named again: the slots add up, and so do the caps while every mention
 * has one. */
static int hostlist_add(struct hostlist *list,
                        const char *name,
                        size_t len,
                        int slots,
                        int max_slots)
{
    struct hostlist_entry *grown;

    for (int i = 0; i < list->count; i++) {
        struct hostlist_entry *e = &list->entries[i];
        if (strlen(e->name) == len && strncmp(e->name, name, len) == 0) {
            if (e->slots < 0 || slots < 0)
                e->slots = -1;
            else
                e->slots += slots;
            e->max_slots = e->max_slots > 0 && max_slots > 0
                               ? e->max_slots + max_slots
                               : 0;
            return 0;
        }
    }
    grown = realloc(list->entries,
                    (size_t)(list->count + 1) * sizeof(*list->entries));
    if (!grown)
        return -ENOMEM;
    list->entries = grown;
    grown[list->count].name = strndup(name, len);
    if (!grown[list->count].name)
        return -ENOMEM;
    grown[list->count].slots = slots;
    grown[list->count].max_slots = max_slots;
    list->count++;
    return 0;
}

/* Undo additions back to a saved state so a failing call leaves the list
 * as it was. Merged slot counts are restored from the saved copy. */
struct hostlist_saved {
    int count;
    int *slots; /* [count * 2]: slots and max_slots of each entry */
};

static int hostlist_save(const struct hostlist *list,
                         struct hostlist_saved *saved)
{
    saved->count = list->count;
    saved->slots = malloc((size_t)(list->count + 1) * 2 * sizeof(int));
    if (!saved->slots)
        return -ENOMEM;
    for (int i = 0; i < list->count; i++) {
        saved->slots[2 * i] = list->entries[i].slots;
        saved->slots[2 * i + 1] = list->entries[i].max_slots;
    }
    return 0;
}

static void hostlist_restore(struct hostlist *list,
                             struct hostlist_saved *saved)
{
    for (int i = saved->count; i < list->count; i++)
        free(list->entries[i].name);
    list->count = saved->count;
    for (int i = 0; i < list->count; i++) {
        list->entries[i].slots = saved->slots[2 * i];
        list->entries[i].max_slots = saved->slots[2 * i + 1];
    }
    free(saved->slots);
}

static int hostlist_add_arg_entry(struct hostlist *list,
                                  const char *entry,
                                  size_t len,
                                  shoal_error_t *error)
{
    /* "host" or "host:N". An IPv6 address has colons of its own and is
     * taken whole; "[addr]" is not supported. */
    const char *colon = memrchr(entry, ':', len);
    size_t name_len = len;
    int slots = 1;
    char shown[HOSTLIST_ESCAPED_MAX];

    if (colon && !hostlist_name_valid(entry, len)) {
        name_len = (size_t)(colon - entry);
        if (hostlist_parse_count(colon + 1, len - name_len - 1, &slots) < 0)
            return shoal_errprintf(
                error, SHOAL_EUSAGE,
                "invalid host '%s': slots must be a "
                "positive integer",
                hostlist_escape(entry, len, shown, sizeof(shown)));
    }
    if (!hostlist_name_valid(entry, name_len))
        return shoal_errprintf(
            error, SHOAL_EUSAGE, "invalid host name '%s'",
            hostlist_escape(entry, len, shown, sizeof(shown)));
    if (hostlist_add(list, entry, name_len, slots, 0) < 0)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    return 0;
}

int hostlist_add_arg(struct hostlist *list,
                     const char *arg,
                     shoal_error_t *error)
{
    struct hostlist_saved saved;
    const char *p = arg;
    int rc;

    if (hostlist_save(list, &saved) < 0)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    if (*arg == '\0') {
        rc = shoal_errprintf(error, SHOAL_EUSAGE, "empty host list");
        goto error;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        rc = hostlist_add_arg_entry(list, p, len, error);
        if (rc < 0)
            goto error;
        if (!comma)
            break;
        p = comma + 1;
    }
    free(saved.slots);
    return 0;
error:
    hostlist_restore(list, &saved);
    return rc;
}

/* One hostfile line: "host [slots=N] [max_slots=M]". */
static int hostlist_parse_line(struct hostlist *list,
                               char *line,
                               const char *path,
                               int lineno,
                               shoal_error_t *error)
{
    char *save = NULL;
    char *name = strtok_r(line, " \t\r\n", &save);
    char *word;
    int slots = -1, max_slots = 0;
    bool is_slots, is_max;
    char shown[HOSTLIST_ESCAPED_MAX], shown2[HOSTLIST_ESCAPED_MAX];

    if (!name)
        return 0;
    if (!hostlist_name_valid(name, strlen(name)))
        return shoal_errprintf(
            error, SHOAL_EUSAGE, "%s:%d: invalid host name '%s'", path, lineno,
            hostlist_escape(name, strlen(name), shown, sizeof(shown)));
    while ((word = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
        char *eq = strchr(word, '=');
        int n;

        if (!eq)
            return shoal_errprintf(
                error, SHOAL_EUSAGE, "%s:%d: expected key=value, got '%s'",
                path, lineno,
                hostlist_escape(word, strlen(word), shown, sizeof(shown)));
        *eq = '\0';
        is_slots = strcmp(word, "slots") == 0 || strcmp(word, "count") == 0
                   || strcmp(word, "cpu") == 0;
        is_max =
            strcmp(word, "max_slots") == 0 || strcmp(word, "max-slots") == 0;
        if (!is_slots && !is_max)
            return shoal_errprintf(
                error, SHOAL_EUSAGE, "%s:%d: unknown key '%s'", path, lineno,
                hostlist_escape(word, strlen(word), shown, sizeof(shown)));
        if (hostlist_parse_count(eq + 1, strlen(eq + 1), &n) < 0)
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "%s:%d: key '%s': '%s' is not a positive "
                                   "integer",
                                   path, lineno, word,
                                   hostlist_escape(eq + 1, strlen(eq + 1),
                                                   shown2, sizeof(shown2)));
        if (is_slots)
            slots = n;
        else
            max_slots = n;
    }
    if (max_slots > 0 && slots > max_slots)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "%s:%d: slots=%d is more than max_slots=%d",
                               path, lineno, slots, max_slots);
    /* max_slots alone: that many slots, as Open MPI gives */
    if (max_slots > 0 && slots < 0)
        slots = max_slots;
    if (hostlist_add(list, name, strlen(name), slots, max_slots) < 0)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    return 0;
}

int hostlist_add_file(struct hostlist *list,
                      const char *path,
                      shoal_error_t *error)
{
    struct hostlist_saved saved;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    int rc = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return shoal_errprintf(error, -errno, "cannot open hostfile '%s': %s",
                               path, strerror(errno));
    if (hostlist_save(list, &saved) < 0) {
        fclose(f);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    while (getline(&line, &cap, f) >= 0) {
        char *hash = strchr(line, '#');

        lineno++;
        if (hash)
            *hash = '\0';
        rc = hostlist_parse_line(list, line, path, lineno, error);
        if (rc < 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = shoal_errprintf(error, -EIO, "cannot read hostfile '%s'", path);
    if (rc == 0 && list->count == saved.count)
        rc = shoal_errprintf(error, SHOAL_EUSAGE, "hostfile '%s' names no host",
                             path);
    free(line);
    fclose(f);
    if (rc < 0) {
        hostlist_restore(list, &saved);
        return rc;
    }
    free(saved.slots);
    return 0;
}

const struct hostlist_entry *hostlist_find(const struct hostlist *list,
                                           const char *name)
{
    for (int i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].name, name) == 0)
            return &list->entries[i];
    return NULL;
}

bool hostlist_is_local(const char *name, const char *self)
{
    size_t label = strcspn(self, ".");

    if (strcmp(name, "localhost") == 0 || strcmp(name, "::1") == 0
        || strncmp(name, "127.", 4) == 0 || strcmp(name, self) == 0)
        return true;
    /* "node1" names "node1.cluster.org" and the reverse */
    if (strlen(name) == label && strncmp(name, self, label) == 0)
        return true;
    return strncmp(name, self, strlen(self)) == 0 && name[strlen(self)] == '.';
}

void hostlist_release(struct hostlist *list)
{
    for (int i = 0; i < list->count; i++)
        free(list->entries[i].name);
    free(list->entries);
    list->entries = NULL;
    list->count = 0;
}
