/* SPDX-License-Identifier: MIT */
/* owner_logind.h - the owner's idle time as systemd-logind tells it: the
 * IdleHint and IdleSinceHint properties of org.freedesktop.login1's
 * Manager (/org/freedesktop/login1), read over the system D-Bus with
 * sd-bus. logind's Manager sums up every session: idle only while all
 * are idle (desktops set a session's hint after their own idle delay;
 * terminal sessions are judged by their tty's access time), and
 * IdleSinceHint is when that began (microseconds, CLOCK_REALTIME).
 *
 * The sample is now - IdleSinceHint while IdleHint is true, and 0 while
 * it is false (logind says the machine is in use). A desktop that never
 * sets the hint therefore reads as always in use: the policy then lends
 * nothing, which errs on the owner's side.
 *
 * The bus is the one sd_bus_open_system() finds: $DBUS_SYSTEM_BUS_ADDRESS,
 * else /run/dbus/system_bus_socket. A sample never waits more than
 * OWNER_LOGIND_TIMEOUT_MS for logind: without an answer by then (or with
 * an error: no bus, no logind on it, no such property) the source is not
 * present for that sample, says why in its absent text, drops the
 * connection, and connects again at most every OWNER_LOGIND_RETRY_S
 * seconds, so a missing or hung bus costs nothing, or one short wait per
 * retry. libsystemd is optional at build time: without it there is no
 * logind source at all. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_LOGIND_H
#define SHOAL_RUNTIME_OWNER_OWNER_LOGIND_H

#include "runtime/owner/owner_source.h"

enum {
    OWNER_LOGIND_TIMEOUT_MS = 100,
    OWNER_LOGIND_RETRY_S = 5,
};

/* Make the logind source. Nothing is connected before the first sample.
 * Returns 0 and sets *out (free with owner_source_destroy()), -ENOTSUP
 * when shoal was built without libsystemd, or -ENOMEM. */
int owner_logind_source_create(struct owner_source **out);

#endif
