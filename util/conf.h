/* SPDX-License-Identifier: MIT */
/* conf.h - configuration files of `key = value` lines.
 *
 * The format: one setting per line, `key = value`; blank lines and lines
 * whose first non-blank character is `#` are ignored, as is the rest of a
 * line from a `#` that follows a blank outside quotes. Blanks around the
 * key and the value are dropped. A value may be quoted with '...' (taken
 * as it stands) or "..." (where \" and \\ stand for " and \); nothing but
 * a comment may follow the closing quote. Keys are letters, digits, '-'
 * and '_', and must be among the keys the caller allows; each may appear
 * once per file; every key needs a non-empty value.
 *
 * A file that breaks a rule is refused whole, with an error of the form
 * "FILE:LINE: what is wrong", naming the key where there is one. The
 * values themselves mean nothing here: the caller checks them, and names
 * FILE:LINE from the entry.
 *
 * Pure but for conf_load() reading its file; never prints. Not
 * thread-safe per conf_t. */
#ifndef SHOAL_UTIL_CONF_H
#define SHOAL_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

typedef struct conf conf_t;

enum {
    CONF_FILE_MAX = 1 << 20, /* bytes: a larger file is refused */
};

/* One setting of a file. */
struct conf_entry {
    size_t key;        /* index into the keys given to conf_parse() */
    const char *value; /* unquoted; borrowed from the conf_t */
    int line;          /* 1-based */
};

/* Parse text (len bytes, no NUL among them) read from path (only named in
 * errors) against keys[0..nkeys) (borrowed; must outlive the conf_t).
 * Returns 0 and sets *out (free with conf_destroy()), or -EINVAL with
 * error naming PATH:LINE, or -ENOMEM. */
int conf_parse(const char *path,
               const char *text,
               size_t len,
               const char *const *keys,
               size_t nkeys,
               conf_t **out,
               shoal_error_t *error);

/* Read and parse the file at path. A missing file (ENOENT) is 0 with
 * *out NULL when optional is true, an error otherwise; any other read
 * failure, a file over CONF_FILE_MAX or one holding a NUL byte, is an
 * error naming the path. Returns 0 or a negative errno with error
 * filled. */
int conf_load(const char *path,
              bool optional,
              const char *const *keys,
              size_t nkeys,
              conf_t **out,
              shoal_error_t *error);

/* Free c; NULL is accepted. */
void conf_destroy(conf_t *c);

/* The file's name as given (borrowed from c). */
const char *conf_path(const conf_t *c);

/* The number of entries, and the i-th (0 <= i < count), in file order;
 * borrowed from c. */
size_t conf_count(const conf_t *c);
const struct conf_entry *conf_entry(const conf_t *c, size_t i);

/* The entry for key (an index into the keys), or NULL; borrowed. */
const struct conf_entry *conf_find(const conf_t *c, size_t key);

/* Parse a yes/no value: true, yes, on, 1 / false, no, off, 0 (any case).
 * Returns 0 or -EINVAL. */
int conf_bool_parse(const char *text, bool *out);

#endif
