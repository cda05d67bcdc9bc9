/* SPDX-License-Identifier: MIT */
/* owner_x11.c - X11 idle time through the XScreenSaver extension. */
#include "runtime/owner/owner_x11.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_XSS
#include <sys/socket.h>

#include <X11/Xlib.h>
#include <X11/extensions/scrnsaver.h>

struct owner_x11 {
    struct owner_source src;
    char *display_name; /* NULL: $DISPLAY */
    Display *display;
    double next_try; /* when opening may be tried again */
};

/* Xlib's default handler of an I/O error exits the process: a daemon must
 * outlive its owner's X server. Returning from this handler still makes
 * Xlib exit, so a lost connection is found before it is used instead
 * (owner_x11_alive()). */
static int x11_error_handler(Display *display, XErrorEvent *event)
{
    (void)display;
    (void)event;
    return 0;
}

/* Whether the connection still works: a round trip with the error
 * handler above catches a server that went away without a fatal I/O
 * error only when the socket is closed cleanly; a closed socket reads as
 * end of file, which XPending reports as an I/O error. So the socket is
 * polled first. */
static bool x11_alive(Display *display)
{
    char c;
    int fd = ConnectionNumber(display);
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    return !(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK));
}

static int x11_sample(struct owner_source *src, double now, double *value)
{
    struct owner_x11 *x = src->impl;
    XScreenSaverInfo *info;
    int event_base, error_base;
    int rc = -ENODEV;

    if (x->display && !x11_alive(x->display)) {
        /* do not call XCloseDisplay on a dead connection: it may exit */
        x->display = NULL;
    }
    if (!x->display) {
        if (now < x->next_try)
            return -ENODEV;
        x->next_try = now + OWNER_X11_RETRY_S;
        XSetErrorHandler(x11_error_handler);
        x->display = XOpenDisplay(x->display_name);
        if (!x->display)
            return -ENODEV;
        if (!XScreenSaverQueryExtension(x->display, &event_base, &error_base)) {
            XCloseDisplay(x->display);
            x->display = NULL;
            return -ENODEV;
        }
    }
    info = XScreenSaverAllocInfo();
    if (!info)
        return -ENOMEM;
    if (XScreenSaverQueryInfo(x->display, DefaultRootWindow(x->display),
                              info)) {
        *value = info->idle / 1000.0;
        rc = 0;
    }
    XFree(info);
    return rc;
}

static void x11_destroy(struct owner_source *src)
{
    struct owner_x11 *x = src->impl;

    if (x->display && x11_alive(x->display))
        XCloseDisplay(x->display);
    free(x->display_name);
}

static const struct owner_source_ops x11_ops = {
    .sample = x11_sample,
    .destroy = x11_destroy,
};

int owner_x11_source_create(const char *display, struct owner_source **out)
{
    struct owner_x11 *x = calloc(1, sizeof(*x));

    if (!x)
        return -ENOMEM;
    x->src = (struct owner_source){
        .ops = &x11_ops, .name = "x11", .kind = OWNER_SOURCE_INPUT, .impl = x};
    if (display && !(x->display_name = strdup(display))) {
        free(x);
        return -ENOMEM;
    }
    *out = &x->src;
    return 0;
}
#else
int owner_x11_source_create(const char *display, struct owner_source **out)
{
    (void)display;
    (void)out;
    return -ENOTSUP;
}
#endif
