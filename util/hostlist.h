/* SPDX-License-Identifier: MIT */
/* hostlist.h - the hosts a job may use, from -H/--host and --hostfile.
 *
 * Open MPI's conventions: `-H a:2,b` gives a two slots and b one (a host
 * named again adds its slots); a hostfile line is `host [slots=N]
 * [max_slots=M]` with '#' comments, and a host without slots= gets one slot
 * per core of that host (slots < 0 here, resolved when its topology is
 * known), or M with max_slots=M. M caps the ranks the host takes even
 * oversubscribing, and slots > M is an error naming the line. */
#ifndef SHOAL_UTIL_HOSTLIST_H
#define SHOAL_UTIL_HOSTLIST_H

#include <stdbool.h>

#include <shoal/error.h>

struct hostlist_entry {
    char *name;    /* owned */
    int slots;     /* < 0: one per core of the host */
    int max_slots; /* > 0: never more ranks than this; 0: no cap */
};

struct hostlist {
    struct hostlist_entry *entries;
    int count;
};

/* Add the hosts of one -H argument ("a:2,b,c:4"). Returns 0, or
 * SHOAL_EUSAGE with error naming the bad entry (list unchanged), or
 * -ENOMEM. */
int hostlist_add_arg(struct hostlist *list,
                     const char *arg,
                     shoal_error_t *error);

/* Add the hosts of a hostfile. Returns 0, or a negative code with error
 * naming file, line and reason (list unchanged). */
int hostlist_add_file(struct hostlist *list,
                      const char *path,
                      shoal_error_t *error);

/* Find a host by name; NULL when absent. Borrowed from list. */
const struct hostlist_entry *hostlist_find(const struct hostlist *list,
                                           const char *name);

/* Whether name designates this machine, whose host name is self:
 * "localhost", loopback addresses, self, or self's first label. */
bool hostlist_is_local(const char *name, const char *self);

/* Free the entries; the struct may be reused. Accepts a zeroed list. */
void hostlist_release(struct hostlist *list);

#endif
