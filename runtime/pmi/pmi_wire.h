/* SPDX-License-Identifier: MIT */
/* pmi_wire.h - one line of the PMI-1 "simple" wire protocol.
 *
 * A PMI-1 message is one line of space-separated name=value fields, the
 * first of which is cmd=: "cmd=put kvsname=kvs_1 key=foo value=bar\n".
 * Values carry no spaces, with one exception: the message= (or msg=) field
 * of cmd=abort, which newer MPICH clients send as free text, runs to the
 * end of the line and must therefore come last.
 *
 * The parser checks everything a peer can get wrong and never allocates; the
 * builder produces replies that the MPICH client parser accepts. Both sides
 * of the protocol (the launcher's server and a client such as the MPI shim)
 * use this module, so it knows nothing of server limits or state. */
#ifndef SHOAL_RUNTIME_PMI_PMI_WIRE_H
#define SHOAL_RUNTIME_PMI_PMI_WIRE_H

#include <stddef.h>

#include <shoal/error.h>

enum pmi_wire_limit {
    /* bytes in one message, not counting its newline */
    PMI_WIRE_LINE_MAX = 2048,
    /* characters in a field name */
    PMI_WIRE_NAME_MAX = 63,
    /* characters in a field value (one less than PMI's vallen_max) */
    PMI_WIRE_VALUE_MAX = 1023,
    /* fields after cmd=; MPICH's PMI-1 messages have at most four */
    PMI_WIRE_FIELDS_MAX = 16,
};

struct pmi_wire_field {
    const char *name;  /* non-empty, [A-Za-z0-9_-] */
    const char *value; /* possibly empty */
};

/* A parsed message. The strings point into text, a private copy of the line,
 * so a message stays valid as long as the struct, wherever the line was. */
struct pmi_wire_msg {
    const char *cmd; /* the value of cmd=, never empty */
    int nfields;     /* fields after cmd=, in line order */
    struct pmi_wire_field fields[PMI_WIRE_FIELDS_MAX];
    char text[PMI_WIRE_LINE_MAX + 1];
};

/* Parse the len bytes at line: one message without its newline (a trailing
 * '\n' is not accepted). Returns 0 and fills msg, or SHOAL_EPROTO with error
 * (may be NULL) filled with the cause only, such as "missing '=' in 'key'",
 * for the caller to put in context. Rejected: empty or over-long lines,
 * bytes outside printable ASCII, a first field other than cmd=, empty or
 * invalid names, a missing '=', duplicate names, over-long names or values,
 * more than PMI_WIRE_FIELDS_MAX fields. Runs of spaces between fields are
 * accepted, as MPICH's own parser does. */
int pmi_wire_parse(const char *line,
                   size_t len,
                   struct pmi_wire_msg *msg,
                   shoal_error_t *error);

/* Return the value of the field called name, or NULL if msg has none. The
 * string is borrowed from msg. */
const char *pmi_wire_msg_find(const struct pmi_wire_msg *msg, const char *name);

/* Parse a decimal int (optional '-', no spaces, no trailing text, within the
 * range of int). Returns 0 and sets *out, or -EINVAL. */
int pmi_wire_parse_int(const char *text, int *out);

/* Write a printable rendering of the len bytes at line into out (size bytes,
 * always NUL-terminated when size > 0) for an error message: bytes outside
 * printable ASCII become \xNN, and text beyond what fits is cut with "...".
 * Returns out. */
char *pmi_wire_quote(const char *line, size_t len, char *out, size_t size);

/* Builds one message: init with the command, add fields, finish. Errors are
 * kept until pmi_wire_builder_finish() so that call sites stay linear. */
struct pmi_wire_builder {
    size_t len;                       /* bytes in text so far */
    int status;                       /* first error, or 0 */
    char text[PMI_WIRE_LINE_MAX + 2]; /* the message, '\n' and NUL */
};

/* Start a message "cmd=<cmd>" in b. */
void pmi_wire_builder_init(struct pmi_wire_builder *b, const char *cmd);

/* Append " name=value". name must be a valid field name and value printable
 * ASCII without spaces of at most PMI_WIRE_VALUE_MAX characters, or the
 * message fails with -EINVAL; a message grown beyond PMI_WIRE_LINE_MAX
 * fails with -EMSGSIZE. */
void pmi_wire_builder_add(struct pmi_wire_builder *b,
                          const char *name,
                          const char *value);

/* Append " name=<value in decimal>". */
void pmi_wire_builder_add_int(struct pmi_wire_builder *b,
                              const char *name,
                              int value);

/* End the message with '\n'. Returns 0 and sets *len to the bytes to send
 * from b->text, or the first error met while building. */
int pmi_wire_builder_finish(struct pmi_wire_builder *b, size_t *len);

#endif
