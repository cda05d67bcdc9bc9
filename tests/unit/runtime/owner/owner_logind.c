/* SPDX-License-Identifier: MIT */
/* owner_logind.c - the logind source against a private bus: a real
 * dbus-daemon (--session, at an address of its own) that the source
 * reaches through $DBUS_SYSTEM_BUS_ADDRESS, and fake_logind.py owning
 * org.freedesktop.login1 on it, whose IdleHint the tests flip with
 * dbus-send. Without libsystemd the source does not exist. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_logind.h"

#ifdef HAVE_LIBSYSTEMD
static pid_t bus_pid, fake_pid;
static char address[512];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start argv with its stdout on a pipe; read its first line into line. */
static pid_t spawn_read_line(char *const argv[], char *line, size_t size)
{
    int fds[2];
    pid_t pid;
    FILE *out;

    cr_assert(eq(int, pipe(fds), 0));
    pid = fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    cr_assert(not(eq(ptr, fgets(line, (int)size, out), NULL)),
              "%s printed nothing", argv[0]);
    fclose(out);
    line[strcspn(line, "\n")] = '\0';
    return pid;
}

static void start_fake(void)
{
    char script[1024], line[64];
    const char *srcdir = getenv("SHOAL_SRCDIR");

    cr_assert(not(eq(ptr, (void *)srcdir, NULL)),
              "SHOAL_SRCDIR is not set; run through make check");
    snprintf(script, sizeof(script),
             "%s/tests/unit/runtime/owner/fake_logind.py", srcdir);
    fake_pid = spawn_read_line(
        (char *const[]){"/usr/bin/python3", script, address, NULL}, line,
        sizeof(line));
    cr_assert(eq(str, line, "ready"), "fake logind said '%s'", line);
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

static void start_bus(void)
{
    bus_pid =
        spawn_read_line((char *const[]){"/usr/bin/dbus-daemon", "--session",
                                        "--print-address=1", "--nofork", NULL},
                        address, sizeof(address));
    cr_assert(eq(int, strncmp(address, "unix:", 5), 0), "bus address '%s'",
              address);
    setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);
}

static void start_all(void)
{
    start_bus();
    start_fake();
}

static void stop_all(void)
{
    stop(&fake_pid);
    stop(&bus_pid);
}

/* Call a method of fake_logind.py and wait for its answer. */
static void fake_call(const char *method, const char *args)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "dbus-send --bus='%s' --print-reply --dest=org.freedesktop.login1 "
             "/org/freedesktop/login1 org.freedesktop.login1.Fake.%s %s "
             ">/dev/null",
             address, method, args);
    cr_assert(eq(int, system(cmd), 0), "%s", cmd);
}

static void set_idle(bool idle, double since)
{
    char args[128];

    snprintf(args, sizeof(args), "boolean:%s uint64:%llu",
             idle ? "true" : "false", (unsigned long long)(since * 1e6));
    fake_call("SetIdle", args);
}

TestSuite(owner_logind, .timeout = 20, .init = start_all, .fini = stop_all);

Test(owner_logind, idle_hint_false_reads_as_in_use_and_true_as_idle_since)
{
    struct owner_source *src;
    double idle = -1, now;
    int rc;

    cr_assert(eq(int, owner_logind_source_create(&src), 0));
    rc = owner_source_sample(src, now_s(), &idle);
    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    cr_assert(eq(dbl, idle, 0.0), "idle %.1f while IdleHint is false", idle);

    now = now_s();
    set_idle(true, now - 600);
    rc = owner_source_sample(src, now + 1, &idle);
    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    cr_assert(ge(dbl, idle, 600.9), "idle %.3f, idle since 600 s", idle);
    cr_assert(le(dbl, idle, 601.1), "idle %.3f, idle since 600 s", idle);

    set_idle(false, now);
    rc = owner_source_sample(src, now + 2, &idle);
    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    cr_assert(eq(dbl, idle, 0.0), "idle %.1f once in use again", idle);
    owner_source_destroy(src);
}

Test(owner_logind, a_logind_that_does_not_answer_is_not_present_quickly)
{
    struct owner_source *src;
    double idle = -1, t0, took;
    int rc;

    cr_assert(eq(int, owner_logind_source_create(&src), 0));
    cr_assert(eq(int, owner_source_sample(src, now_s(), &idle), 0));
    fake_call("Stall", "double:3");
    t0 = mono_s();
    idle = -1;
    rc = owner_source_sample(src, now_s(), &idle);
    took = mono_s() - t0;
    cr_assert(eq(int, rc, -ENODEV), "sample: %d, idle %.1f", rc, idle);
    cr_assert(lt(dbl, took, OWNER_LOGIND_TIMEOUT_MS / 1000.0 + 0.1),
              "the sample waited %.3f s", took);
    cr_assert(not(eq(ptr, strstr(src->absent, "no answer from logind"), NULL)),
              "absent: '%s'", src->absent);
    /* not tried again before the retry delay: no wait at all */
    t0 = mono_s();
    cr_assert(eq(int, owner_source_sample(src, now_s() + 1, &idle), -ENODEV));
    cr_assert(lt(dbl, mono_s() - t0, 0.01));
    /* once it answers again, the source is back after the delay */
    sleep(3);
    rc = owner_source_sample(src, now_s() + OWNER_LOGIND_RETRY_S + 1, &idle);
    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    owner_source_destroy(src);
}

Test(owner_logind, a_bus_without_logind_is_not_present)
{
    struct owner_source *src;
    double idle = -1;

    stop(&fake_pid);
    cr_assert(eq(int, owner_logind_source_create(&src), 0));
    cr_assert(eq(int, owner_source_sample(src, now_s(), &idle), -ENODEV));
    cr_assert(eq(dbl, idle, -1.0));
    cr_assert(not(eq(ptr, strstr(src->absent, "org.freedesktop.login1"), NULL)),
              "absent: '%s'", src->absent);
    owner_source_destroy(src);
}

Test(owner_logind, no_bus_is_not_present)
{
    struct owner_source *src;
    double idle = -1;

    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
    cr_assert(eq(int, owner_logind_source_create(&src), 0));
    cr_assert(eq(int, owner_source_sample(src, now_s(), &idle), -ENODEV));
    cr_assert(eq(dbl, idle, -1.0));
    cr_assert(not(eq(ptr,
                     strstr(src->absent, "cannot connect to the system bus "
                                         "'unix:path=/nonexistent/bus'"),
                     NULL)),
              "absent: '%s'", src->absent);
    owner_source_destroy(src);
}

Test(owner_logind, a_bus_that_goes_away_is_not_present_then_found_again)
{
    struct owner_source *src;
    double idle = -1, now = now_s();
    int rc;

    cr_assert(eq(int, owner_logind_source_create(&src), 0));
    cr_assert(eq(int, owner_source_sample(src, now, &idle), 0));
    stop_all();
    cr_assert(eq(int, owner_source_sample(src, now + 1, &idle), -ENODEV));
    start_all(); /* a new address, as a restarted bus may have */
    set_idle(true, now - 50);
    rc = owner_source_sample(src, now + 2, &idle);
    cr_assert(eq(int, rc, -ENODEV), "reconnected before the retry delay");
    rc = owner_source_sample(src, now + 2 + OWNER_LOGIND_RETRY_S, &idle);
    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    cr_assert(ge(dbl, idle, 51.9 + OWNER_LOGIND_RETRY_S), "idle %.3f", idle);
    cr_assert(le(dbl, idle, 52.1 + OWNER_LOGIND_RETRY_S), "idle %.3f", idle);
    owner_source_destroy(src);
}
#else
Test(owner_logind, without_libsystemd_there_is_no_logind_source)
{
    struct owner_source *src = NULL;

    cr_assert(eq(int, owner_logind_source_create(&src), -ENOTSUP));
    cr_assert(eq(ptr, src, NULL));
}
#endif
