/* SPDX-License-Identifier: MIT */
/* ownerd.h - the owner service of the node daemon: samples the owner's
 * presence every half second (SHOAL_OWNER_SAMPLE_INTERVAL), runs the policy
 * (owner_policy.h) and carries out what it decides on this node.
 *
 * The signals of desktop mode, in this order: the terminals of utmp
 * sessions and config ttys (owner_tty.h), the X display (owner_x11.h,
 * with libXss), the input devices of SHOAL_OWNER_EVDEV_DIR, /dev/input by
 * default (owner_evdev.h), logind's IdleHint on the system bus
 * (owner_logind.h, with libsystemd), and the owner's CPU load
 * (owner_load.h). The policy takes the least idle time of the input
 * signals present. A signal that is not present is logged once (and
 * again when its reason changes) with the reason it gives.
 *
 * While the owner uses the machine (states present, suspended, vacating)
 * the node lends no core: the core ledger withholds them all
 * (cores_set_withheld()), so the summary publishes none free and new work
 * goes elsewhere. The state travels in the node summary (its owner field)
 * and so shows in `shoal status`. Every transition is logged (subsystem
 * owner) with its reason.
 *
 * On SUSPEND every job process of this node (owner_procs.h: the daemon's
 * descendants but its proxies) gets SIGSTOP, and any that starts later
 * while suspended too; on CONTINUE, SIGCONT. On VACATE each rank with a
 * checkpoint directory gets "exit" in its $SHOAL_CKPT_DIR/REQUEST (it has
 * the grace period to checkpoint and exit), every job process SIGCONT,
 * and those that cannot checkpoint SIGTERM; after the grace period,
 * whatever is left gets SIGKILL.
 * These act on this node only; the jobs spanning several nodes are
 * told through the hold listener (ownerd_on_hold()), so that their
 * coordinators stop and continue their ranks on every node.
 *
 * A lending window (config window, owner_window.h) is read every second
 * from the local time, in modes desktop and dedicated (mode never ignores
 * it, with a warning): outside it the node lends nothing (state closed),
 * and work running here is suspended and vacated as for an owner who came
 * back. A daemon started outside its window is closed before it lends
 * anything.
 *
 * In mode dedicated without a window nothing is sampled; in mode never
 * the cores are withheld for good. Everything runs on the daemon's loop
 * thread. */
#ifndef SHOAL_RUNTIME_OWNER_OWNERD_H
#define SHOAL_RUNTIME_OWNER_OWNERD_H

#include <stdbool.h>

#include <shoal/error.h>

#include "runtime/daemon/cores.h"
#include "runtime/daemon/daemon.h"
#include "runtime/owner/owner_policy.h"

typedef struct ownerd ownerd_t;

struct ownerd_config {
    enum owner_mode mode;
    struct owner_thresholds thresholds;
    const char *display; /* X display to watch; NULL: $DISPLAY */
    const char *ttys;    /* glob of more terminals to watch, or NULL */
    const char *utmp;    /* sessions' utmp file; NULL: the system's; "": none */
    double sample_interval; /* seconds between samples; 0: 0.5 */
    const char *window;     /* lending window (owner_window.h), or NULL */
};

/* Fill config from the defaults and the SHOAL_OWNER_* tunables (mode
 * dedicated). Returns 0, or -EINVAL with error naming a bad tunable. */
int ownerd_config_from_params(struct ownerd_config *config,
                              shoal_error_t *error);

/* Attach the owner service to d and its core ledger: publish the owner's
 * state, and in mode desktop start sampling. config and its strings are
 * copied. Returns 0 and sets *out, or a negative code with error filled
 * (a bad window: -EINVAL; then destroy d without running it). */
int ownerd_attach(daemon_t *d,
                  cores_t *cores,
                  const struct ownerd_config *config,
                  ownerd_t **out,
                  shoal_error_t *error);

/* Called with held true once this node's job processes were stopped for
 * the owner, and held false once they are let go again: the owner left,
 * or (vacating true) the jobs are being vacated, so their other nodes
 * must go on to take part in the last checkpoint, and their ranks here
 * will end. reason says why, for the user. */
typedef void (*ownerd_hold_fn)(bool held,
                               bool vacating,
                               const char *reason,
                               void *arg);

/* Set the hold listener (one; fn NULL removes it). */
void ownerd_on_hold(ownerd_t *o, ownerd_hold_fn fn, void *arg);

/* Whether the jobs of this node are held now, as last told. */
bool ownerd_held(const ownerd_t *o);

/* Whether the owner is taking the node back: from a VACATE until the
 * node lends again. A job process that ends meanwhile was ended by the
 * owner's claim, not by a fault of its own. */
bool ownerd_vacating(const ownerd_t *o);

/* Stop sampling, continue jobs left stopped, and free o once its timer is
 * closed: call after daemon_run() returned, before cores_destroy() and
 * daemon_destroy(). NULL is accepted. */
void ownerd_detach(ownerd_t *o);

#endif
