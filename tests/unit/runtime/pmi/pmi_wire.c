/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/pmi/pmi_wire.h"

TestSuite(pmi_wire, .timeout = 10);

static int
parse(const char *line, struct pmi_wire_msg *msg, shoal_error_t *error)
{
    return pmi_wire_parse(line, strlen(line), msg, error);
}

Test(pmi_wire, parses_fields_in_order)
{
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    int rc =
        parse("cmd=put kvsname=kvs_1 key=-bcast-1-0 value=2F64=", &msg, &err);

    cr_assert(eq(int, rc, 0), "%s", err.text);
    cr_assert(eq(str, (char *)msg.cmd, "put"));
    cr_assert(eq(int, msg.nfields, 3));
    cr_assert(eq(str, (char *)msg.fields[0].name, "kvsname"));
    cr_assert(eq(str, (char *)msg.fields[1].value, "-bcast-1-0"));
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "value"), "2F64="));
    cr_assert(eq(ptr, (void *)pmi_wire_msg_find(&msg, "cmd"), NULL));
    cr_assert(eq(ptr, (void *)pmi_wire_msg_find(&msg, "nokey"), NULL));
}

Test(pmi_wire, accepts_empty_values_and_runs_of_spaces)
{
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    int rc = parse("  cmd=put   key=k value=  ", &msg, &err);

    cr_assert(eq(int, rc, 0), "%s", err.text);
    cr_assert(eq(int, msg.nfields, 2));
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "value"), ""));
}

Test(pmi_wire, message_of_abort_runs_to_end_of_line)
{
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    int rc = parse("cmd=abort exitcode=7 message=application called "
                   "MPI_Abort(MPI_COMM_WORLD, 7) key=x",
                   &msg, &err);

    cr_assert(eq(int, rc, 0), "%s", err.text);
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "exitcode"), "7"));
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "message"),
                 "application called MPI_Abort(MPI_COMM_WORLD, 7) key=x"));
    cr_assert(eq(int, msg.nfields, 2));
}

Test(pmi_wire, message_of_other_commands_ends_at_space)
{
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    int rc = parse("cmd=put msg=a b", &msg, &err);

    cr_assert(eq(int, rc, SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "missing '=' in 'b'"));
}

Test(pmi_wire, message_stays_valid_after_line_is_gone)
{
    struct pmi_wire_msg msg;
    char line[] = "cmd=get key=foo";

    cr_assert(eq(int, parse(line, &msg, NULL), 0));
    memset(line, 'x', sizeof(line) - 1);
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "key"), "foo"));
}

struct wire_bad_case {
    char line[64];
    int len; /* -1: strlen(line) */
    char cause[80];
};

ParameterizedTestParameters(pmi_wire, rejects_malformed_line)
{
    static struct wire_bad_case cases[] = {
        {"", -1, "empty message"},
        {"    ", -1, "empty message"},
        {"cmd=put key", -1, "missing '=' in 'key'"},
        {"cmd=put kvsname=k key value=v", -1, "missing '=' in 'key'"},
        {"cmd", -1, "missing '=' in 'cmd'"},
        {"=put", -1, "empty field name"},
        {"cmd=put =v", -1, "empty field name"},
        {"cmd=", -1, "empty command"},
        {"cmd= key=v", -1, "empty command"},
        {"key=x cmd=put", -1, "message does not start with 'cmd='"},
        {"CMD=put", -1, "message does not start with 'cmd='"},
        {"cmd=put key=a key=b", -1, "duplicate 'key'"},
        {"cmd=put cmd=get", -1, "duplicate 'cmd'"},
        {"cmd=put k.y=v", -1, "invalid character '.' in field name"},
        {"cmd=put k\x01=v", -1, "non-printable byte 0x01 at offset 9"},
        {"cmd=put\tkey=v", -1, "non-printable byte 0x09 at offset 7"},
        {"cmd=put key=v\r", -1, "non-printable byte 0x0d at offset 13"},
        {"cmd=get\n", -1, "non-printable byte 0x0a at offset 7"},
        {"cmd=get key=\xc3\xa9", -1, "non-printable byte 0xc3 at offset 12"},
        {"cmd=get\0key=v", 13, "non-printable byte 0x00 at offset 7"},
    };
    return cr_make_param_array(struct wire_bad_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct wire_bad_case *c, pmi_wire, rejects_malformed_line)
{
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};
    size_t len = c->len < 0 ? strlen(c->line) : (size_t)c->len;

    int rc = pmi_wire_parse(c->line, len, &msg, &err);

    cr_assert(eq(int, rc, SHOAL_EPROTO), "line '%s'", c->line);
    cr_assert(eq(str, err.text, c->cause), "line '%s'", c->line);
}

Test(pmi_wire, rejects_line_longer_than_limit)
{
    static char line[PMI_WIRE_LINE_MAX + 2];
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    /* spaces between fields are legal, so only the length is wrong */
    memset(line, ' ', sizeof(line) - 1);
    memcpy(line, "cmd=get_maxes", 13);

    cr_assert(eq(int, pmi_wire_parse(line, PMI_WIRE_LINE_MAX, &msg, &err), 0),
              "%s", err.text);
    cr_assert(eq(int, pmi_wire_parse(line, PMI_WIRE_LINE_MAX + 1, &msg, &err),
                 SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "message too long (2049 bytes, at most 2048)"));
}

Test(pmi_wire, rejects_name_longer_than_limit)
{
    char line[256] = "cmd=put ";
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    memset(line + 8, 'n', PMI_WIRE_NAME_MAX);
    strcat(line, "=v");
    cr_assert(eq(int, parse(line, &msg, &err), 0), "%s", err.text);

    memset(line + 8, 'n', PMI_WIRE_NAME_MAX + 1);
    strcpy(line + 8 + PMI_WIRE_NAME_MAX + 1, "=v");
    cr_assert(eq(int, parse(line, &msg, &err), SHOAL_EPROTO));
    cr_assert(
        eq(str, err.text, "field name too long (64 characters, at most 63)"));
}

Test(pmi_wire, rejects_value_longer_than_limit)
{
    char line[PMI_WIRE_VALUE_MAX + 32] = "cmd=put key=k value=";
    size_t prefix = strlen(line);
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    memset(line + prefix, 'v', PMI_WIRE_VALUE_MAX);
    cr_assert(eq(int, parse(line, &msg, &err), 0), "%s", err.text);
    cr_assert(eq(sz, strlen(pmi_wire_msg_find(&msg, "value")),
                 (size_t)PMI_WIRE_VALUE_MAX));

    line[prefix + PMI_WIRE_VALUE_MAX] = 'v';
    cr_assert(eq(int, parse(line, &msg, &err), SHOAL_EPROTO));
    cr_assert(eq(str, err.text,
                 "value of 'value' too long (1024 characters, at most "
                 "1023)"));
}

Test(pmi_wire, rejects_more_fields_than_limit)
{
    char line[512] = "cmd=x";
    struct pmi_wire_msg msg;
    shoal_error_t err = {{0}};

    for (int i = 0; i < PMI_WIRE_FIELDS_MAX; i++)
        sprintf(line + strlen(line), " f%d=%d", i, i);
    cr_assert(eq(int, parse(line, &msg, &err), 0), "%s", err.text);
    cr_assert(eq(int, msg.nfields, PMI_WIRE_FIELDS_MAX));

    strcat(line, " one=more");
    cr_assert(eq(int, parse(line, &msg, &err), SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "more than 16 fields"));
}

struct wire_int_case {
    char text[32];
    int rc;
    int value;
};

ParameterizedTestParameters(pmi_wire, parses_int_strictly)
{
    static struct wire_int_case cases[] = {
        {"0", 0, 0},
        {"7", 0, 7},
        {"-1", 0, -1},
        {"007", 0, 7},
        {"2147483647", 0, 2147483647},
        {"-2147483648", 0, -2147483647 - 1},
        {"2147483648", -EINVAL, 0},
        {"99999999999999999999", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"-", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"1x", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
    };
    return cr_make_param_array(struct wire_int_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct wire_int_case *c, pmi_wire, parses_int_strictly)
{
    int value = 0;

    int rc = pmi_wire_parse_int(c->text, &value);

    cr_assert(eq(int, rc, c->rc), "text '%s'", c->text);
    cr_assert(eq(int, value, c->value), "text '%s'", c->text);
}

Test(pmi_wire, quote_escapes_and_cuts)
{
    char out[16];

    pmi_wire_quote("a\tb\\c", 5, out, sizeof(out));
    cr_assert(eq(str, out, "a\\x09b\\x5cc"));

    pmi_wire_quote("cmd=put key=value", 17, out, sizeof(out));
    cr_assert(eq(str, out, "cmd=put key=..."));

    pmi_wire_quote("\x01\x01\x01\x01", 4, out, sizeof(out));
    cr_assert(eq(str, out, "\\x01\\x01\\x01..."));

    pmi_wire_quote("abc", 3, out, 4);
    cr_assert(eq(str, out, "abc"));
    pmi_wire_quote("abcd", 4, out, 4);
    cr_assert(eq(str, out, ""));
    pmi_wire_quote("abcd", 4, out, 5);
    cr_assert(eq(str, out, "abcd"));
}

Test(pmi_wire, builder_makes_a_line_the_parser_reads_back)
{
    struct pmi_wire_builder b;
    struct pmi_wire_msg msg;
    size_t len = 0;

    pmi_wire_builder_init(&b, "get_result");
    pmi_wire_builder_add_int(&b, "rc", -1);
    pmi_wire_builder_add(&b, "msg", "key_not_found");
    pmi_wire_builder_add(&b, "value", "");

    cr_assert(eq(int, pmi_wire_builder_finish(&b, &len), 0));
    cr_assert(eq(str, b.text,
                 "cmd=get_result rc=-1 msg=key_not_found "
                 "value=\n"));
    cr_assert(eq(sz, len, strlen(b.text)));
    cr_assert(eq(int, pmi_wire_parse(b.text, len - 1, &msg, NULL), 0));
    cr_assert(eq(str, (char *)pmi_wire_msg_find(&msg, "rc"), "-1"));
}

struct wire_builder_case {
    char name[16];
    char value[16];
};

ParameterizedTestParameters(pmi_wire, builder_refuses_what_cannot_be_sent)
{
    static struct wire_builder_case cases[] = {
        {"msg", "two words"}, {"msg", "tab\there"},
        {"msg", "new\nline"}, {"", "v"},
        {"a=b", "v"},         {"a b", "v"},
    };
    return cr_make_param_array(struct wire_builder_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct wire_builder_case *c,
                  pmi_wire,
                  builder_refuses_what_cannot_be_sent)
{
    struct pmi_wire_builder b;
    size_t len = 0;

    pmi_wire_builder_init(&b, "x");
    pmi_wire_builder_add(&b, c->name, c->value);
    pmi_wire_builder_add(&b, "ok", "ok");

    cr_assert(eq(int, pmi_wire_builder_finish(&b, &len), -EINVAL),
              "name '%s' value '%s'", c->name, c->value);
}

Test(pmi_wire, builder_refuses_bad_command_and_overflow)
{
    struct pmi_wire_builder b;
    char value[PMI_WIRE_VALUE_MAX + 1];
    size_t len = 0;

    pmi_wire_builder_init(&b, "");
    cr_assert(eq(int, pmi_wire_builder_finish(&b, &len), -EINVAL));

    memset(value, 'v', PMI_WIRE_VALUE_MAX);
    value[PMI_WIRE_VALUE_MAX] = '\0';
    pmi_wire_builder_init(&b, "x");
    pmi_wire_builder_add(&b, "a", value);
    cr_assert(eq(int, b.status, 0));
    pmi_wire_builder_add(&b, "b", value);
    cr_assert(eq(int, pmi_wire_builder_finish(&b, &len), -EMSGSIZE));
    cr_assert(le(sz, b.len, (size_t)PMI_WIRE_LINE_MAX));
}
