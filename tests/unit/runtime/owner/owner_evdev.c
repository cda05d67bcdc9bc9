/* SPDX-License-Identifier: MIT */
/* owner_evdev.c - the evdev source over a directory of FIFOs named
 * event0, event1: a FIFO read without blocking delivers the struct
 * input_event records written into it as an event device does (this
 * machine has neither /dev/input nor uinput). Times are passed to the
 * source explicitly, so a rescan is reached without waiting. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_evdev.h"

TestSuite(owner_evdev, .timeout = 10);

static char dir[PATH_MAX];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/shoal-evdev-XXXXXX");
    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)), "mkdtemp: %s", strerror(errno));
}

static void remove_dir(void)
{
    char path[PATH_MAX + 16];

    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/event%d", dir, i);
        unlink(path);
    }
    rmdir(dir);
}

static void make_fifo(int n)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof(path), "%s/event%d", dir, n);
    cr_assert(eq(int, mkfifo(path, 0600), 0), "mkfifo %s: %s", path,
              strerror(errno));
}

/* The writing end of event<n>; the source must have it open already. */
static int open_writer(int n)
{
    char path[PATH_MAX + 16];
    int fd;

    snprintf(path, sizeof(path), "%s/event%d", dir, n);
    fd = open(path, O_WRONLY | O_NONBLOCK);
    cr_assert(ge(int, fd, 0), "open %s for writing: %s", path, strerror(errno));
    return fd;
}

static void write_event(int fd, unsigned short type, unsigned short code)
{
    struct input_event ev = {.type = type, .code = code, .value = 1};

    cr_assert(eq(int, (int)write(fd, &ev, sizeof(ev)), (int)sizeof(ev)));
}

static double sample_ok(struct owner_source *src, double now)
{
    double idle = -1;
    int rc = owner_source_sample(src, now, &idle);

    cr_assert(eq(int, rc, 0), "sample: %d (%s)", rc, src->absent);
    return idle;
}

Test(owner_evdev, key_button_motion_events_move_the_idle_time)
{
    struct owner_source *src;
    double t0 = now_s() + 100, idle;
    int w;

    make_dir();
    make_fifo(0);
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    idle = sample_ok(src, t0);
    cr_assert(ge(dbl, idle, 99.0), "idle %.1f before any event", idle);
    w = open_writer(0);
    write_event(w, EV_KEY, KEY_A);
    write_event(w, EV_SYN, SYN_REPORT);
    idle = sample_ok(src, t0 + 1);
    cr_assert(eq(dbl, idle, 0.0), "idle %.1f after a key", idle);
    cr_assert(eq(dbl, sample_ok(src, t0 + 3), 2.0));
    write_event(w, EV_REL, REL_X);
    cr_assert(eq(dbl, sample_ok(src, t0 + 4), 0.0));
    write_event(w, EV_ABS, ABS_X);
    cr_assert(eq(dbl, sample_ok(src, t0 + 7), 0.0));
    cr_assert(eq(dbl, sample_ok(src, t0 + 8), 1.0));
    close(w);
    owner_source_destroy(src);
    remove_dir();
}

Test(owner_evdev, syn_and_msc_records_are_not_input)
{
    struct owner_source *src;
    double t0 = now_s(), idle;
    int w;

    make_dir();
    make_fifo(0);
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    sample_ok(src, t0);
    w = open_writer(0);
    write_event(w, EV_KEY, BTN_LEFT);
    cr_assert(eq(dbl, sample_ok(src, t0 + 1), 0.0));
    for (int i = 0; i < 50; i++) {
        write_event(w, EV_MSC, MSC_SCAN);
        write_event(w, EV_SYN, SYN_REPORT);
        write_event(w, EV_LED, LED_CAPSL); /* sent by the host, not typed */
    }
    idle = sample_ok(src, t0 + 31);
    cr_assert(eq(dbl, idle, 30.0), "idle %.1f after SYN/MSC only", idle);
    close(w);
    owner_source_destroy(src);
    remove_dir();
}

Test(owner_evdev, a_device_that_appears_later_is_picked_up_on_a_rescan)
{
    struct owner_source *src;
    double t0 = now_s(), idle;
    char path[PATH_MAX + 16];
    int w0, w1;

    make_dir();
    make_fifo(0);
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    sample_ok(src, t0);
    w0 = open_writer(0);
    write_event(w0, EV_KEY, KEY_A);
    cr_assert(eq(dbl, sample_ok(src, t0 + 1), 0.0));
    make_fifo(1); /* plugged in: not watched before the next scan */
    sample_ok(src, t0 + 2);
    snprintf(path, sizeof(path), "%s/event1", dir);
    errno = 0;
    cr_assert(eq(int, open(path, O_WRONLY | O_NONBLOCK), -1));
    cr_assert(eq(int, errno, ENXIO), "event1 opened before a rescan: %s",
              strerror(errno));
    idle = sample_ok(src, t0 + OWNER_EVDEV_RESCAN_S + 10);
    cr_assert(eq(dbl, idle, OWNER_EVDEV_RESCAN_S + 9.0), "idle %.1f", idle);
    w1 = open_writer(1); /* needs the source as reader: it rescanned */
    write_event(w1, EV_KEY, KEY_B);
    idle = sample_ok(src, t0 + OWNER_EVDEV_RESCAN_S + 12);
    cr_assert(eq(dbl, idle, 0.0), "idle %.1f after the new device", idle);
    close(w0);
    close(w1);
    owner_source_destroy(src);
    remove_dir();
}

Test(owner_evdev, a_partial_record_waits_for_its_rest)
{
    struct owner_source *src;
    struct input_event ev = {.type = EV_KEY, .code = KEY_ENTER, .value = 1};
    size_t half = sizeof(ev) / 2;
    double t0, idle;
    int w;

    make_dir();
    make_fifo(0);
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    t0 = now_s();
    sample_ok(src, t0);
    w = open_writer(0);
    cr_assert(eq(int, (int)write(w, &ev, half), (int)half));
    idle = sample_ok(src, t0 + 20);
    cr_assert(ge(dbl, idle, 20.0), "half a record counted as input");
    cr_assert(lt(dbl, idle, 20.5), "idle %.3f since the start", idle);
    cr_assert(eq(int, (int)write(w, (char *)&ev + half, sizeof(ev) - half),
                 (int)(sizeof(ev) - half)));
    cr_assert(eq(dbl, sample_ok(src, t0 + 21), 0.0),
              "the completed record was not counted");
    /* a record split the other way round: the halves are not mixed up
     * with a SYN that was whole */
    write_event(w, EV_SYN, SYN_REPORT);
    cr_assert(eq(int, (int)write(w, &ev, 3), 3));
    cr_assert(eq(dbl, sample_ok(src, t0 + 25), 4.0));
    cr_assert(eq(int, (int)write(w, (char *)&ev + 3, sizeof(ev) - 3),
                 (int)(sizeof(ev) - 3)));
    cr_assert(eq(dbl, sample_ok(src, t0 + 26), 0.0));
    close(w);
    owner_source_destroy(src);
    remove_dir();
}

Test(owner_evdev, an_empty_or_missing_directory_is_not_present)
{
    struct owner_source *src;
    double idle = -1;
    char path[PATH_MAX + 16];
    int fd;

    make_dir();
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    cr_assert(eq(int, owner_source_sample(src, now_s(), &idle), -ENODEV));
    cr_assert(not(eq(ptr, strstr(src->absent, "no event device"), NULL)),
              "absent: '%s'", src->absent);
    /* a file that is not a device nor a FIFO is no event device */
    snprintf(path, sizeof(path), "%s/event2", dir);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    cr_assert(ge(int, fd, 0));
    close(fd);
    cr_assert(eq(int, owner_source_sample(src, now_s() + 60, &idle), -ENODEV));
    cr_assert(eq(dbl, idle, -1.0), "idle %.1f set while not present", idle);
    owner_source_destroy(src);
    unlink(path);
    remove_dir();

    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    cr_assert(eq(int, owner_source_sample(src, now_s(), &idle), -ENODEV));
    cr_assert(not(eq(ptr, strstr(src->absent, "cannot read"), NULL)),
              "absent: '%s'", src->absent);
    cr_assert(eq(dbl, idle, -1.0));
    owner_source_destroy(src);
}

Test(owner_evdev, a_device_that_goes_away_is_let_go_on_a_rescan)
{
    struct owner_source *src;
    double t0 = now_s(), idle = -1;
    char path[PATH_MAX + 16];

    make_dir();
    make_fifo(0);
    cr_assert(eq(int, owner_evdev_source_create(dir, &src), 0));
    sample_ok(src, t0);
    snprintf(path, sizeof(path), "%s/event0", dir);
    unlink(path);
    cr_assert(eq(int,
                 owner_source_sample(src, t0 + OWNER_EVDEV_RESCAN_S, &idle),
                 -ENODEV),
              "idle %.1f", idle);
    owner_source_destroy(src);
    remove_dir();
}
