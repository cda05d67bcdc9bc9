/* SPDX-License-Identifier: MIT */
/* owner_source.h - one signal of the owner's presence behind one small
 * interface, so the policy (owner_policy.h) reads every signal alike and
 * tests can feed it fakes.
 *
 * A source is either an input source (keyboard, terminals, display: it
 * reports the seconds since the owner's last input) or a load source (it
 * reports the owner's CPU load, in cores busy: 1.0 is one core fully
 * used by processes that are not shoal's jobs). A signal that cannot be
 * read on this machine (no terminal session, no display, no /proc) is
 * "not present": sample() says so with -ENODEV, and the caller reports it
 * as such; it never stands for "idle forever". A source may say why in
 * its absent text (e.g. "cannot read /dev/input: permission denied"),
 * which the daemon logs once, and again when it changes.
 *
 * Sources are not thread-safe; each is used on one thread. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_SOURCE_H
#define SHOAL_RUNTIME_OWNER_OWNER_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

enum {
    OWNER_SOURCE_ABSENT_MAX = 256, /* bytes of a reason, with its NUL */
};

enum owner_source_kind {
    OWNER_SOURCE_INPUT, /* sample gives idle seconds */
    OWNER_SOURCE_LOAD,  /* sample gives the owner's load, in cores */
};

struct owner_source;

struct owner_source_ops {
    /* Read the signal at now (seconds since the epoch, CLOCK_REALTIME:
     * what file times are compared with). Returns 0 and sets *value, or
     * -ENODEV when the signal is not present here (now), or another
     * negative errno when reading it failed. */
    int (*sample)(struct owner_source *src, double now, double *value);
    /* Free the source's own state (may be NULL). */
    void (*destroy)(struct owner_source *src);
};

struct owner_source {
    const struct owner_source_ops *ops;
    const char *name; /* "tty", "x11", "load": for logs and status */
    enum owner_source_kind kind;
    void *impl; /* the implementation's; fakes keep their values here */
    /* Why the last sample was -ENODEV, or "" when the source gives no
     * reason; meaningful only after such a sample. */
    char absent[OWNER_SOURCE_ABSENT_MAX];
};

/* Sample src (see owner_source_ops.sample). */
static inline int
owner_source_sample(struct owner_source *src, double now, double *value)
{
    return src->ops->sample(src, now, value);
}

struct owner_inputs;

/* Sample every source of srcs (n of them) at now into *in, as the policy
 * reads them (owner_policy.h): the least idle time of the input sources
 * present, and the load of the first load source present; a kind with no
 * source present is marked absent. Each source's result goes into
 * rcs[i] (0 or its negative errno; rcs may be NULL) so the caller can say
 * which are not present. */
void owner_sources_read(struct owner_source *const *srcs,
                        size_t n,
                        double now,
                        struct owner_inputs *in,
                        int *rcs);

/* Free src, made by one of the owner_*_source_create() calls; NULL is
 * accepted. */
void owner_source_destroy(struct owner_source *src);

#endif
