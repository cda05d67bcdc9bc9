/* SPDX-License-Identifier: MIT */
/* owner_tty.h - the owner's keyboard idle time from terminals, as
 * HTCondor's KeyboardIdle: the seconds since the newest access time of
 * the terminals of logged-in sessions (the utmp file's USER_PROCESS
 * records) and of the devices that match a glob (--owner-ttys).
 *
 * Reading a terminal updates its access time; a session's shell reads its
 * terminal whenever the owner types. The kernel updates that time at most
 * once per 8-second window (tty_update_time()), so the idle time seen may
 * be up to 8 s longer than the real one: fine against thresholds of a
 * minute and more. An access time in the future (a clock step) counts as
 * input now. With no terminal to watch, the source is not present. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_TTY_H
#define SHOAL_RUNTIME_OWNER_OWNER_TTY_H

#include "runtime/owner/owner_source.h"

/* Make the terminal source. utmp is the utmp file to read sessions from
 * (NULL: the system's; "" reads none); glob_pattern names more terminals
 * (e.g. "/dev/pts/[0-9]*", or NULL). Both are copied. The terminals are looked
 * up again at every sample, so sessions come and go. Returns 0 and sets
 * *out (free with owner_source_destroy()), or -ENOMEM. */
int owner_tty_source_create(const char *utmp,
                            const char *glob_pattern,
                            struct owner_source **out);

#endif
