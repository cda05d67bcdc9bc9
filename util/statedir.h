/* SPDX-License-Identifier: MIT */
/* statedir.h - the directory a node's daemon or task service keeps its
 * state in (control.sock, node-id, jobs.db, jobs/, logs), as every command
 * finds it.
 *
 * The rules, first match wins: the directory the caller names (--dir),
 * $SHOAL_DIR, /var/lib/shoal when the effective user is root, and
 * ${XDG_STATE_HOME:-$HOME/.local/state}/shoal for everyone else.
 *
 * Why the effective user id: the directory's files, and above all the
 * control socket, belong to the user the process acts as. The control
 * server checks callers against geteuid() (SO_PEERCRED), so a command that
 * chose its directory by the real uid (a set-uid wrapper, say) would look
 * in one place while the service it talks to lives in another. Daemon,
 * task service and commands all resolve through here, so they agree.
 *
 * Pure apart from reading the environment; thread-safe as getenv() is. */
#ifndef SHOAL_UTIL_STATEDIR_H
#define SHOAL_UTIL_STATEDIR_H

#include <stddef.h>

/* Write the state directory into buf (size bytes, NUL included): dir when
 * neither NULL nor empty, else as the rules above. Returns 0, or
 * -ENAMETOOLONG when it does not fit (buf then holds no promise). */
int statedir_resolve(const char *dir, char *buf, size_t size);

#endif
