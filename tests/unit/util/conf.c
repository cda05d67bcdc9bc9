/* SPDX-License-Identifier: MIT */
/* Unit tests of util/conf.c: good files (comments, blanks, quoting, CRLF),
 * each kind of error with its line and key, and conf_load() on real
 * files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "util/conf.h"

TestSuite(conf, .timeout = 10);

static const char *const keys[] = {"lend", "owner-idle", "name", "discover",
                                   "lend-window"};
enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };

static conf_t *parse_ok(const char *text)
{
    shoal_error_t error = {{0}};
    conf_t *c = NULL;
    int rc = conf_parse("t.conf", text, strlen(text), keys, NKEYS, &c, &error);

    cr_assert(eq(int, rc, 0), "conf_parse: %s", error.text);
    return c;
}

static void parse_bad(const char *text, const char *message)
{
    shoal_error_t error = {{0}};
    conf_t *c = NULL;
    int rc = conf_parse("t.conf", text, strlen(text), keys, NKEYS, &c, &error);

    cr_assert(eq(int, rc, -EINVAL));
    cr_assert(eq(ptr, c, NULL));
    cr_assert(eq(str, error.text, (char *)message));
}

static const char *value_of(conf_t *c, size_t key)
{
    const struct conf_entry *e = conf_find(c, key);

    return e ? e->value : NULL;
}

Test(conf, a_good_file_gives_each_key_its_value_and_line)
{
    conf_t *c = parse_ok("# a workstation\n"
                         "\n"
                         "lend = desktop\n"
                         "   owner-idle=600   \n"
                         "\tname =  node one\n");

    cr_assert(eq(sz, conf_count(c), 3));
    cr_assert(eq(str, (char *)value_of(c, 0), "desktop"));
    cr_assert(eq(str, (char *)value_of(c, 1), "600"));
    cr_assert(eq(str, (char *)value_of(c, 2), "node one"));
    cr_assert(eq(int, conf_find(c, 0)->line, 3));
    cr_assert(eq(int, conf_find(c, 1)->line, 4));
    cr_assert(eq(int, conf_find(c, 2)->line, 5));
    cr_assert(eq(ptr, (void *)conf_find(c, 3), NULL));
    cr_assert(eq(str, (char *)conf_path(c), "t.conf"));
    cr_assert(eq(sz, conf_entry(c, 1)->key, 1));
    cr_assert(eq(ptr, (void *)conf_entry(c, 3), NULL));
    conf_destroy(c);
}

Test(conf, an_empty_file_and_one_of_comments_have_no_entries)
{
    conf_t *c = parse_ok("");

    cr_assert(eq(sz, conf_count(c), 0));
    conf_destroy(c);
    c = parse_ok("# nothing\n   # still nothing\n\n\t\n");
    cr_assert(eq(sz, conf_count(c), 0));
    conf_destroy(c);
}

Test(conf, a_comment_after_a_blank_ends_a_plain_value)
{
    conf_t *c = parse_ok("lend-window = Mon-Fri 18:00-08:00  # nights\n"
                         "name = a#b\n");

    cr_assert(eq(str, (char *)value_of(c, 4), "Mon-Fri 18:00-08:00"));
    cr_assert(eq(str, (char *)value_of(c, 2), "a#b"));
    conf_destroy(c);
}

Test(conf, quoted_values_keep_blanks_and_hashes)
{
    conf_t *c = parse_ok("name = \"  two # words  \"  # comment\n"
                         "lend-window = 'Mon-Fri 18:00-08:00, Sat-Sun'\n"
                         "lend = \"say \\\"hi\\\" \\\\ bye\"\n");

    cr_assert(eq(str, (char *)value_of(c, 2), "  two # words  "));
    cr_assert(eq(str, (char *)value_of(c, 4), "Mon-Fri 18:00-08:00, Sat-Sun"));
    cr_assert(eq(str, (char *)value_of(c, 0), "say \"hi\" \\ bye"));
    conf_destroy(c);
}

Test(conf, single_quotes_take_backslashes_as_they_stand)
{
    conf_t *c = parse_ok("name = 'a\\b'\n");

    cr_assert(eq(str, (char *)value_of(c, 2), "a\\b"));
    conf_destroy(c);
}

Test(conf, crlf_lines_and_a_last_line_without_newline)
{
    conf_t *c = parse_ok("lend = never\r\nname = x\r\nowner-idle = 5");

    cr_assert(eq(str, (char *)value_of(c, 0), "never"));
    cr_assert(eq(str, (char *)value_of(c, 2), "x"));
    cr_assert(eq(str, (char *)value_of(c, 1), "5"));
    conf_destroy(c);
}

Test(conf, an_unknown_key_is_named_with_its_line)
{
    parse_bad("lend = desktop\n\nowner-idel = 5\n",
              "t.conf:3: unknown key 'owner-idel'");
}

Test(conf, a_duplicate_key_names_both_lines)
{
    parse_bad("lend = desktop\n# again\nlend = never\n",
              "t.conf:3: duplicate key 'lend' (first set on line 1)");
}

Test(conf, a_line_without_an_equals_sign_is_malformed)
{
    parse_bad("lend = desktop\nname node\n",
              "t.conf:2: expected 'key = value', found 'name node'");
    parse_bad("= x\n", "t.conf:1: expected 'key = value', found '= x'");
    parse_bad("[daemon]\n", "t.conf:1: expected 'key = value', found "
                            "'[daemon]'");
    parse_bad("lend: desktop\n",
              "t.conf:1: expected 'key = value', found 'lend: desktop'");
}

Test(conf, a_key_without_a_value_is_refused)
{
    parse_bad("name =\n", "t.conf:1: key 'name' needs a value");
    parse_bad("name = # none\n", "t.conf:1: key 'name' needs a value");
    parse_bad("\n\nname = ''\n", "t.conf:3: key 'name' needs a value");
}

Test(conf, bad_quoting_is_refused)
{
    parse_bad("name = 'open\n", "t.conf:1: key 'name': unterminated quote");
    parse_bad("lend = x\nname = \"a\\\"\n",
              "t.conf:2: key 'name': unterminated quote");
    parse_bad("name = 'a' b\n",
              "t.conf:1: key 'name': text after the closing quote");
}

Test(conf, the_first_error_wins)
{
    parse_bad("frob = 1\nlend = a\nlend = b\n", "t.conf:1: unknown key 'frob'");
}

Test(conf, bool_values)
{
    bool b = false;

    cr_assert(eq(int, conf_bool_parse("yes", &b), 0));
    cr_assert(b);
    cr_assert(eq(int, conf_bool_parse("FALSE", &b), 0));
    cr_assert(not(b));
    cr_assert(eq(int, conf_bool_parse("1", &b), 0));
    cr_assert(b);
    cr_assert(eq(int, conf_bool_parse("off", &b), 0));
    cr_assert(not(b));
    cr_assert(eq(int, conf_bool_parse("maybe", &b), -EINVAL));
    cr_assert(eq(int, conf_bool_parse("", &b), -EINVAL));
}

/* A file shoal.conf holding text in dir (made first when it is still a
 * mkdtemp() template); path receives its name. */
static void write_file(char *dir, char *path, size_t size, const char *text)
{
    FILE *f;

    if (strstr(dir, "XXXXXX"))
        cr_assert(ne(ptr, mkdtemp(dir), NULL));
    snprintf(path, size, "%s/shoal.conf", dir);
    f = fopen(path, "w");
    cr_assert(ne(ptr, f, NULL));
    fputs(text, f);
    fclose(f);
}

Test(conf, load_reads_a_file_and_names_it_in_errors)
{
    char dir[] = "/tmp/conf-test-XXXXXX", path[128];
    shoal_error_t error = {{0}};
    conf_t *c = NULL;
    char want[200];

    write_file(dir, path, sizeof(path), "lend = desktop\nnope = 1\n");
    cr_assert(
        eq(int, conf_load(path, false, keys, NKEYS, &c, &error), -EINVAL));
    snprintf(want, sizeof(want), "%s:2: unknown key 'nope'", path);
    cr_assert(eq(str, error.text, want));
    cr_assert(eq(ptr, c, NULL));
    unlink(path);
    write_file(dir, path, sizeof(path), "lend = desktop\n");
    cr_assert(eq(int, conf_load(path, true, keys, NKEYS, &c, &error), 0), "%s",
              error.text);
    cr_assert(eq(str, (char *)value_of(c, 0), "desktop"));
    conf_destroy(c);
    unlink(path);
    rmdir(dir);
}

Test(conf, a_missing_file_is_fine_only_when_optional)
{
    shoal_error_t error = {{0}};
    conf_t *c = (conf_t *)&error;

    cr_assert(
        eq(int,
           conf_load("/nonexistent/shoal.conf", true, keys, NKEYS, &c, &error),
           0));
    cr_assert(eq(ptr, c, NULL));
    cr_assert(
        eq(int,
           conf_load("/nonexistent/shoal.conf", false, keys, NKEYS, &c, &error),
           -ENOENT));
    cr_assert(eq(ptr, c, NULL));
    cr_assert(ne(ptr,
                 strstr(error.text, "cannot read '/nonexistent/shoal.conf'"),
                 NULL),
              "%s", error.text);
}

Test(conf, a_file_with_a_nul_byte_is_refused)
{
    char dir[] = "/tmp/conf-test-XXXXXX", path[128];
    shoal_error_t error = {{0}};
    conf_t *c = NULL;
    FILE *f;

    write_file(dir, path, sizeof(path), "");
    f = fopen(path, "w");
    fwrite("lend = a\0b\n", 1, 11, f);
    fclose(f);
    cr_assert(eq(int, conf_load(path, true, keys, NKEYS, &c, &error), -EINVAL));
    cr_assert(ne(ptr, strstr(error.text, "NUL byte"), NULL), "%s", error.text);
    unlink(path);
    rmdir(dir);
}
