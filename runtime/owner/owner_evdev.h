/* SPDX-License-Identifier: MIT */
/* owner_evdev.h - the owner's idle time from the kernel's input devices:
 * the seconds since the last key, button, pointer motion or absolute axis
 * event on any /dev/input/event* device.
 *
 * Each device is opened read-only and non-blocking, and never grabbed
 * (no EVIOCGRAB): the owner's desktop keeps receiving every event. Each
 * sample drains the struct input_event records queued since the last
 * one; only the time of the newest input counts (the sample's time: the
 * idle time is exact to one sample interval), never what was typed.
 * EV_SYN and EV_MSC records (report boundaries, scan codes) and
 * events the host sends to a device (LEDs, sounds) are not input. A
 * record read in part is kept until the rest arrives.
 *
 * The directory is scanned again at most every OWNER_EVDEV_RESCAN_S
 * seconds, so devices plugged in later are watched and those unplugged
 * are let go (at once, when a read says the device is gone).
 *
 * Before any event is seen, the idle time is the time since the source
 * was created: the policy reads that as "no input since the daemon
 * started", which is what the devices can tell. With no device that can
 * be opened (no directory, no event device, no permission: they are
 * root's and the input group's) the source is not present, and says
 * why in its absent text. */
#ifndef SHOAL_RUNTIME_OWNER_OWNER_EVDEV_H
#define SHOAL_RUNTIME_OWNER_OWNER_EVDEV_H

#include "runtime/owner/owner_source.h"

enum { OWNER_EVDEV_RESCAN_S = 5 };

/* Make the evdev source watching the event* devices of dir (copied; NULL:
 * "/dev/input"). Nothing is opened before the first sample. Returns 0 and
 * sets *out (free with owner_source_destroy()), or -ENOMEM. */
int owner_evdev_source_create(const char *dir, struct owner_source **out);

#endif
