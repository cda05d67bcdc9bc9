/* SPDX-License-Identifier: MIT */
/* owner_logind.c - logind's IdleHint over the system bus (sd-bus). */
#include "runtime/owner/owner_logind.h"

#include <errno.h>
#include <stdlib.h>

#ifdef HAVE_LIBSYSTEMD
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

struct owner_logind {
    struct owner_source src;
    sd_bus *bus;
    sd_bus_slot *call; /* the GetAll waiting for its answer, or NULL */
    bool answered;
    int answer_rc; /* 0, or negative errno with src.absent filled */
    bool idle_hint;
    uint64_t idle_since_us;
    double next_connect; /* when connecting may be tried again */
};

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *bus_address(void)
{
    const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");

    return a && *a ? a : "unix:path=/run/dbus/system_bus_socket";
}

static void logind_drop(struct owner_logind *l, double now)
{
    l->call = sd_bus_slot_unref(l->call);
    l->bus = sd_bus_close_unref(l->bus);
    l->next_connect = now + OWNER_LOGIND_RETRY_S;
}

/* The answer's a{sv}: IdleHint (b) and IdleSinceHint (t), others
 * skipped. */
static int logind_parse(struct owner_logind *l, sd_bus_message *m)
{
    bool have_hint = false, have_since = false;
    int r;

    r = sd_bus_message_enter_container(m, 'a', "{sv}");
    while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char *name;
        int b;

        if ((r = sd_bus_message_read(m, "s", &name)) < 0)
            break;
        if (strcmp(name, "IdleHint") == 0) {
            r = sd_bus_message_read(m, "v", "b", &b);
            l->idle_hint = b;
            have_hint = r >= 0;
        } else if (strcmp(name, "IdleSinceHint") == 0) {
            r = sd_bus_message_read(m, "v", "t", &l->idle_since_us);
            have_since = r >= 0;
        } else {
            r = sd_bus_message_skip(m, "v");
        }
        if (r >= 0)
            r = sd_bus_message_exit_container(m);
    }
    if (r < 0) {
        snprintf(l->src.absent, sizeof(l->src.absent),
                 "cannot read logind's answer: %s", strerror(-r));
        return r;
    }
    if (!have_hint || !have_since) {
        snprintf(l->src.absent, sizeof(l->src.absent),
                 "logind on '%s' has no %s", bus_address(),
                 have_hint ? "IdleSinceHint" : "IdleHint");
        return -ENODEV;
    }
    return 0;
}

static int logind_answer(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
    struct owner_logind *l = arg;
    const sd_bus_error *e = sd_bus_message_get_error(m);

    (void)ret;
    l->answered = true;
    if (e) {
        snprintf(l->src.absent, sizeof(l->src.absent),
                 "no answer from logind on '%s': %s", bus_address(),
                 e->message ? e->message : e->name);
        l->answer_rc = -ENODEV;
        return 0;
    }
    l->answer_rc = logind_parse(l, m);
    return 0;
}

/* Connect and ask; fill absent and return -ENODEV on failure. */
static int logind_ask(struct owner_logind *l, double now)
{
    int r;

    if (!l->bus) {
        if (now < l->next_connect)
            return -ENODEV; /* absent still says why */
        l->next_connect = now + OWNER_LOGIND_RETRY_S;
        r = sd_bus_open_system(&l->bus);
        if (r < 0) {
            snprintf(l->src.absent, sizeof(l->src.absent),
                     "cannot connect to the system bus '%s': %s", bus_address(),
                     strerror(-r));
            l->bus = NULL;
            return -ENODEV;
        }
        sd_bus_set_method_call_timeout(l->bus, OWNER_LOGIND_TIMEOUT_MS * 1000u);
    }
    l->answered = false;
    r = sd_bus_call_method_async(
        l->bus, &l->call, "org.freedesktop.login1", "/org/freedesktop/login1",
        "org.freedesktop.DBus.Properties", "GetAll", logind_answer, l, "s",
        "org.freedesktop.login1.Manager");
    if (r < 0) {
        snprintf(l->src.absent, sizeof(l->src.absent),
                 "cannot ask logind on '%s': %s", bus_address(), strerror(-r));
        logind_drop(l, now);
        return -ENODEV;
    }
    return 0;
}

/* Run the connection until the answer came or the time is up. */
static int logind_wait(struct owner_logind *l)
{
    uint64_t deadline = mono_us() + OWNER_LOGIND_TIMEOUT_MS * 1000u;

    while (!l->answered) {
        uint64_t t;
        int r = sd_bus_process(l->bus, NULL);

        if (r > 0)
            continue;
        if (r == 0 && (t = mono_us()) < deadline)
            r = sd_bus_wait(l->bus, deadline - t);
        if (r == -EINTR)
            continue;
        if (r < 0) {
            snprintf(l->src.absent, sizeof(l->src.absent),
                     "lost the system bus '%s': %s", bus_address(),
                     strerror(-r));
            return -ENODEV;
        }
        if (mono_us() >= deadline && !l->answered) {
            snprintf(l->src.absent, sizeof(l->src.absent),
                     "no answer from logind on '%s' within %d ms",
                     bus_address(), (int)OWNER_LOGIND_TIMEOUT_MS);
            return -ENODEV;
        }
    }
    return l->answer_rc;
}

static int logind_sample(struct owner_source *src, double now, double *value)
{
    struct owner_logind *l = src->impl;
    int rc;

    if ((rc = logind_ask(l, now)) < 0)
        return rc;
    rc = logind_wait(l);
    l->call = sd_bus_slot_unref(l->call);
    if (rc < 0) {
        logind_drop(l, now);
        return -ENODEV;
    }
    if (!l->idle_hint)
        *value = 0;
    else
        *value = now - (double)l->idle_since_us / 1e6;
    if (*value < 0)
        *value = 0; /* a clock step back */
    return 0;
}

static void logind_destroy(struct owner_source *src)
{
    struct owner_logind *l = src->impl;

    sd_bus_slot_unref(l->call);
    sd_bus_close_unref(l->bus);
}

static const struct owner_source_ops logind_ops = {
    .sample = logind_sample,
    .destroy = logind_destroy,
};

int owner_logind_source_create(struct owner_source **out)
{
    struct owner_logind *l = calloc(1, sizeof(*l));

    if (!l)
        return -ENOMEM;
    l->src = (struct owner_source){.ops = &logind_ops,
                                   .name = "logind",
                                   .kind = OWNER_SOURCE_INPUT,
                                   .impl = l};
    *out = &l->src;
    return 0;
}
#else
int owner_logind_source_create(struct owner_source **out)
{
    (void)out;
    return -ENOTSUP;
}
#endif
