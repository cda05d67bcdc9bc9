/* SPDX-License-Identifier: MIT */
/* pmi_wire.c - parsing and building PMI-1 wire messages. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/pmi/pmi_wire.h"

static bool wire_is_printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

static bool wire_is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Whether value (len characters) may follow `name=` on the wire. */
static bool wire_is_plain_value(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!wire_is_printable(value[i]) || value[i] == ' ')
            return false;
    }
    return true;
}

/* A free-text field of cmd=abort runs to the end of the line: MPICH 4.1
 * and later send the abort reason unescaped, spaces included, as the last
 * field. MPICH 4.0 sends no reason at all. */
static bool wire_is_rest_of_line(const struct pmi_wire_msg *msg,
                                 const char *name)
{
    return msg->cmd && strcmp(msg->cmd, "abort") == 0
           && (strcmp(name, "message") == 0 || strcmp(name, "msg") == 0);
}

const char *pmi_wire_msg_find(const struct pmi_wire_msg *msg, const char *name)
{
    for (int i = 0; i < msg->nfields; i++) {
        if (strcmp(msg->fields[i].name, name) == 0)
            return msg->fields[i].value;
    }
    return NULL;
}

/* Split one field "name=value" starting at *pos of msg->text (already
 * checked to be printable). On success *pos is past the field. */
static int wire_parse_field(struct pmi_wire_msg *msg,
                            size_t len,
                            size_t *pos,
                            shoal_error_t *error)
{
    char *text = msg->text;
    size_t start = *pos;
    size_t end = start;

    while (end < len && text[end] != ' ' && text[end] != '=')
        end++;
    size_t namelen = end - start;
    if (end >= len || text[end] != '=') {
        return shoal_errprintf(error, SHOAL_EPROTO, "missing '=' in '%.*s'",
                               (int)(namelen > 40 ? 40 : namelen),
                               text + start);
    }
    if (namelen == 0)
        return shoal_errprintf(error, SHOAL_EPROTO, "empty field name");
    if (namelen > PMI_WIRE_NAME_MAX) {
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "field name too long (%zu characters, at "
                               "most %d)",
                               namelen, (int)PMI_WIRE_NAME_MAX);
    }
    for (size_t i = start; i < end; i++) {
        if (!wire_is_name_char(text[i])) {
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "invalid character '%c' in field name",
                                   text[i]);
        }
    }
    text[end] = '\0';
    const char *name = text + start;

    size_t vstart = end + 1;
    size_t vend = vstart;
    if (wire_is_rest_of_line(msg, name))
        vend = len;
    else
        while (vend < len && text[vend] != ' ')
            vend++;
    if (vend - vstart > PMI_WIRE_VALUE_MAX) {
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "value of '%s' too long (%zu characters, at "
                               "most %d)",
                               name, vend - vstart, (int)PMI_WIRE_VALUE_MAX);
    }
    text[vend] = '\0';

    if (!msg->cmd) {
        if (strcmp(name, "cmd") != 0) {
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "message does not start with 'cmd='");
        }
        if (vend == vstart)
            return shoal_errprintf(error, SHOAL_EPROTO, "empty command");
        msg->cmd = text + vstart;
    } else {
        if (strcmp(name, "cmd") == 0 || pmi_wire_msg_find(msg, name)) {
            return shoal_errprintf(error, SHOAL_EPROTO, "duplicate '%s'", name);
        }
        if (msg->nfields == PMI_WIRE_FIELDS_MAX) {
            return shoal_errprintf(error, SHOAL_EPROTO, "more than %d fields",
                                   (int)PMI_WIRE_FIELDS_MAX);
        }
        msg->fields[msg->nfields].name = name;
        msg->fields[msg->nfields].value = text + vstart;
        msg->nfields++;
    }
    /* past the separator, which is now the value's terminator */
    *pos = vend < len ? vend + 1 : vend;
    return 0;
}

int pmi_wire_parse(const char *line,
                   size_t len,
                   struct pmi_wire_msg *msg,
                   shoal_error_t *error)
{
    msg->cmd = NULL;
    msg->nfields = 0;
    if (len == 0)
        return shoal_errprintf(error, SHOAL_EPROTO, "empty message");
    if (len > PMI_WIRE_LINE_MAX) {
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "message too long (%zu bytes, at most %d)", len,
                               (int)PMI_WIRE_LINE_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        if (!wire_is_printable(line[i])) {
            return shoal_errprintf(error, SHOAL_EPROTO,
                                   "non-printable byte 0x%02x at offset %zu",
                                   (unsigned char)line[i], i);
        }
    }
    memcpy(msg->text, line, len);
    msg->text[len] = '\0';

    size_t pos = 0;
    for (;;) {
        while (pos < len && msg->text[pos] == ' ')
            pos++;
        if (pos == len)
            break;
        int rc = wire_parse_field(msg, len, &pos, error);
        if (rc < 0)
            return rc;
    }
    if (!msg->cmd) {
        /* only spaces */
        return shoal_errprintf(error, SHOAL_EPROTO, "empty message");
    }
    return 0;
}

int pmi_wire_parse_int(const char *text, int *out)
{
    const char *p = text;

    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9')
            return -EINVAL;
    }
    errno = 0;
    long value = strtol(text, NULL, 10);
    if (errno == ERANGE || value < INT_MIN || value > INT_MAX)
        return -EINVAL;
    *out = (int)value;
    return 0;
}

/* Width of byte c once quoted. */
static size_t wire_quoted_width(unsigned char c)
{
    return wire_is_printable(c) && c != '\\' ? 1 : 4;
}

char *pmi_wire_quote(const char *line, size_t len, char *out, size_t size)
{
    static const char ellipsis[] = "...";
    size_t width = 0;

    if (size == 0)
        return out;
    for (size_t i = 0; i < len; i++)
        width += wire_quoted_width(line[i]);
    bool cut = width > size - 1;
    size_t limit = size - 1;
    if (cut) /* keep room for the ellipsis */
        limit = size > sizeof(ellipsis) ? size - sizeof(ellipsis) : 0;

    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = line[i];
        if (o + wire_quoted_width(c) > limit)
            break;
        if (wire_quoted_width(c) == 1)
            out[o++] = c;
        else
            o += snprintf(out + o, size - o, "\\x%02x", c);
    }
    out[o] = '\0';
    if (cut && size > sizeof(ellipsis))
        memcpy(out + o, ellipsis, sizeof(ellipsis));
    return out;
}

static void
wire_builder_append(struct pmi_wire_builder *b, const char *s, size_t len)
{
    if (b->status)
        return;
    if (b->len + len > PMI_WIRE_LINE_MAX) {
        b->status = -EMSGSIZE;
        return;
    }
    memcpy(b->text + b->len, s, len);
    b->len += len;
    b->text[b->len] = '\0';
}

void pmi_wire_builder_init(struct pmi_wire_builder *b, const char *cmd)
{
    b->len = 0;
    b->status = 0;
    b->text[0] = '\0';
    wire_builder_append(b, "cmd=", 4);
    size_t len = strlen(cmd);
    if (len == 0 || len > PMI_WIRE_VALUE_MAX || !wire_is_plain_value(cmd, len))
        b->status = -EINVAL;
    wire_builder_append(b, cmd, len);
}

void pmi_wire_builder_add(struct pmi_wire_builder *b,
                          const char *name,
                          const char *value)
{
    size_t namelen = strlen(name);
    size_t valuelen = strlen(value);

    if (namelen == 0 || namelen > PMI_WIRE_NAME_MAX
        || valuelen > PMI_WIRE_VALUE_MAX
        || !wire_is_plain_value(value, valuelen)) {
        if (!b->status)
            b->status = -EINVAL;
        return;
    }
    for (size_t i = 0; i < namelen; i++) {
        if (!wire_is_name_char(name[i])) {
            if (!b->status)
                b->status = -EINVAL;
            return;
        }
    }
    wire_builder_append(b, " ", 1);
    wire_builder_append(b, name, namelen);
    wire_builder_append(b, "=", 1);
    wire_builder_append(b, value, valuelen);
}

void pmi_wire_builder_add_int(struct pmi_wire_builder *b,
                              const char *name,
                              int value)
{
    char text[16];

    snprintf(text, sizeof(text), "%d", value);
    pmi_wire_builder_add(b, name, text);
}

int pmi_wire_builder_finish(struct pmi_wire_builder *b, size_t *len)
{
    if (b->status)
        return b->status;
    /* text has room for the newline beyond PMI_WIRE_LINE_MAX */
    b->text[b->len++] = '\n';
    b->text[b->len] = '\0';
    *len = b->len;
    return 0;
}
