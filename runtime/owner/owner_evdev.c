/* SPDX-License-Identifier: MIT */
/* owner_evdev.c - idle time from /dev/input/event* devices. */
#include "runtime/owner/owner_evdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct evdev_device {
    char *path;
    int fd;
    dev_t dev; /* identity: a name reused by another device is reopened */
    ino_t ino;
    size_t have; /* bytes of a record read in part */
    unsigned char partial[sizeof(struct input_event)];
    bool seen; /* found by the scan in progress */
};

struct owner_evdev {
    struct owner_source src;
    char *dir;
    struct evdev_device *devs;
    size_t ndevs, cap;
    double started;    /* when the source was made */
    double last_input; /* time of the newest input, 0: none yet */
    double next_scan;  /* when the directory may be read again */
    char scan_absent[OWNER_SOURCE_ABSENT_MAX]; /* why the scan found none */
};

static double real_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void evdev_close(struct owner_evdev *e, size_t i)
{
    close(e->devs[i].fd);
    free(e->devs[i].path);
    e->devs[i] = e->devs[--e->ndevs];
}

static bool is_event_name(const char *name)
{
    if (strncmp(name, "event", 5) != 0 || !name[5])
        return false;
    for (const char *p = name + 5; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* Open path unless it is open already (same device, same name). */
static int evdev_open(struct owner_evdev *e, const char *path)
{
    struct stat st;
    struct evdev_device *dev;
    int fd;

    for (size_t i = 0; i < e->ndevs; i++) {
        if (strcmp(e->devs[i].path, path) != 0)
            continue;
        if (stat(path, &st) == 0 && st.st_dev == e->devs[i].dev
            && st.st_ino == e->devs[i].ino) {
            e->devs[i].seen = true;
            return 0;
        }
        evdev_close(e, i); /* replaced under the same name */
        break;
    }
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        close(fd);
        return -ENODEV;
    }
    if (e->ndevs == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        struct evdev_device *devs = realloc(e->devs, cap * sizeof(*devs));

        if (!devs) {
            close(fd);
            return -ENOMEM;
        }
        e->devs = devs;
        e->cap = cap;
    }
    dev = &e->devs[e->ndevs];
    *dev = (struct evdev_device){
        .path = strdup(path), .fd = fd, .dev = st.st_dev, .ino = st.st_ino};
    if (!dev->path) {
        close(fd);
        return -ENOMEM;
    }
    dev->seen = true;
    e->ndevs++;
    return 0;
}

/* Read the directory: open the event devices not open yet, let go of
 * those gone. The reason for finding none goes to scan_absent. */
static void evdev_scan(struct owner_evdev *e)
{
    DIR *dir = opendir(e->dir);
    struct dirent *ent;
    char path[4096];
    bool failed = false;

    e->scan_absent[0] = '\0';
    if (!dir) {
        snprintf(e->scan_absent, sizeof(e->scan_absent), "cannot read '%s': %s",
                 e->dir, strerror(errno));
        while (e->ndevs)
            evdev_close(e, 0);
        return;
    }
    for (size_t i = 0; i < e->ndevs; i++)
        e->devs[i].seen = false;
    while ((ent = readdir(dir))) {
        int rc;

        if (!is_event_name(ent->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", e->dir, ent->d_name);
        rc = evdev_open(e, path);
        if (rc < 0 && rc != -ENOMEM) {
            failed = true;
            snprintf(e->scan_absent, sizeof(e->scan_absent),
                     "cannot open '%.100s': %s", path, strerror(-rc));
        }
    }
    closedir(dir);
    for (size_t i = e->ndevs; i-- > 0;)
        if (!e->devs[i].seen)
            evdev_close(e, i);
    if (!failed)
        snprintf(e->scan_absent, sizeof(e->scan_absent),
                 "no event device in '%s'", e->dir);
}

static bool is_input(const struct input_event *ev)
{
    return ev->type == EV_KEY || ev->type == EV_REL || ev->type == EV_ABS;
}

/* Drain dev's queued records; true if one was input. -1 on a device that
 * is gone (or unreadable), 0 or 1 otherwise. */
static int evdev_drain(struct evdev_device *dev)
{
    unsigned char buf[64 * sizeof(struct input_event)];
    int input = 0;

    for (;;) {
        size_t off = dev->have;
        ssize_t n;

        memcpy(buf, dev->partial, dev->have);
        n = read(dev->fd, buf + off, sizeof(buf) - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return input;
        if (n < 0)
            return -1; /* ENODEV: unplugged */
        if (n == 0)
            return input; /* a FIFO without a writer */
        off += (size_t)n;
        size_t whole = off - off % sizeof(struct input_event);
        for (size_t at = 0; at < whole; at += sizeof(struct input_event)) {
            struct input_event ev;

            memcpy(&ev, buf + at, sizeof(ev));
            if (is_input(&ev))
                input = 1;
        }
        dev->have = off - whole;
        memcpy(dev->partial, buf + whole, dev->have);
    }
}

static int evdev_sample(struct owner_source *src, double now, double *value)
{
    struct owner_evdev *e = src->impl;

    if (now >= e->next_scan) {
        e->next_scan = now + OWNER_EVDEV_RESCAN_S;
        evdev_scan(e);
    }
    for (size_t i = e->ndevs; i-- > 0;) {
        int rc = evdev_drain(&e->devs[i]);

        if (rc < 0)
            evdev_close(e, i);
        else if (rc > 0 && now > e->last_input)
            e->last_input = now;
    }
    if (e->ndevs == 0) {
        snprintf(src->absent, sizeof(src->absent), "%s", e->scan_absent);
        return -ENODEV;
    }
    *value = now - (e->last_input > 0 ? e->last_input : e->started);
    if (*value < 0)
        *value = 0; /* a clock step back */
    return 0;
}

static void evdev_destroy(struct owner_source *src)
{
    struct owner_evdev *e = src->impl;

    while (e->ndevs)
        evdev_close(e, 0);
    free(e->devs);
    free(e->dir);
}

static const struct owner_source_ops evdev_ops = {
    .sample = evdev_sample,
    .destroy = evdev_destroy,
};

int owner_evdev_source_create(const char *dir, struct owner_source **out)
{
    struct owner_evdev *e = calloc(1, sizeof(*e));

    if (!e)
        return -ENOMEM;
    e->src = (struct owner_source){.ops = &evdev_ops,
                                   .name = "evdev",
                                   .kind = OWNER_SOURCE_INPUT,
                                   .impl = e};
    e->dir = strdup(dir ? dir : "/dev/input");
    if (!e->dir) {
        free(e);
        return -ENOMEM;
    }
    e->started = real_now();
    *out = &e->src;
    return 0;
}
