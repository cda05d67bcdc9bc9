/* SPDX-License-Identifier: MIT */
/* owner_x11.h - the owner's idle time on an X display, from the
 * XScreenSaver extension (libXss): the server's own count of milliseconds
 * since the last keyboard or pointer event.
 *
 * The display is opened at the first sample and again after it went away
 * (an X server that restarts with a new session); while it cannot be
 * opened, or has no XScreenSaver extension, the source is not present.
 * Opening is tried at most every OWNER_X11_RETRY_S seconds, so a missing
 * display costs nothing per sample. libXss is optional at build time:
 * without it there is no X11 source at all. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_X11_H
#define SHOAL_RUNTIME_OWNER_OWNER_X11_H

#include "runtime/owner/owner_source.h"

enum { OWNER_X11_RETRY_S = 10 };

/* Make the X11 source for display (e.g. ":0"; copied; NULL: $DISPLAY at
 * each attempt). Returns 0 and sets *out (free with
 * owner_source_destroy()), -ENOTSUP when shoal was built without libXss,
 * or -ENOMEM. */
int owner_x11_source_create(const char *display, struct owner_source **out);

#endif
