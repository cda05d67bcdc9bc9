/* SPDX-License-Identifier: MIT */
/* suite_noise.c - the node's load around a repetition, from /proc/stat. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "runtime/suite/suite_noise.h"

int suite_noise_parse_stat(const char *text,
                           unsigned long long *busy,
                           unsigned long long *total,
                           long *running)
{
    const char *line = strstr(text, "cpu ");
    const char *pr;
    unsigned long long v[10] = {0};
    int n;

    *running = -1;
    if (!line || (line != text && line[-1] != '\n'))
        return -EINVAL;
    /* user nice system idle iowait irq softirq steal guest guest_nice;
     * guest time is already counted in user and nice */
    n = sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    if (n < 4)
        return -EINVAL;
    *total = 0;
    for (int i = 0; i < n; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4];
    pr = strstr(text, "\nprocs_running ");
    if (pr)
        *running = strtol(pr + 15, NULL, 10);
    return 0;
}

static int
read_stat(unsigned long long *busy, unsigned long long *total, long *running)
{
    char text[8192];
    FILE *f = fopen("/proc/stat", "r");
    size_t len;

    if (!f)
        return -errno;
    /* the cpu lines come first and procs_running near the end, past
     * the long intr line: read it all */
    len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = '\0';
    if (!strstr(text, "\nprocs_running ")) {
        char *big = malloc(1 << 20);

        if (big) {
            memcpy(big, text, len);
            len += fread(big + len, 1, (1 << 20) - 1 - len, f);
            big[len] = '\0';
            int rc = suite_noise_parse_stat(big, busy, total, running);

            free(big);
            fclose(f);
            return rc;
        }
    }
    fclose(f);
    return suite_noise_parse_stat(text, busy, total, running);
}

int suite_noise_snap(struct suite_noise_snap *snap)
{
    struct rusage ru;
    long running;
    int rc = read_stat(&snap->busy, &snap->total, &running);

    if (rc < 0)
        return rc;
    getrusage(RUSAGE_CHILDREN, &ru);
    snap->children =
        (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
        + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return 0;
}

double suite_noise_others(const struct suite_noise_snap *a,
                          const struct suite_noise_snap *b,
                          double wall)
{
    double busy, total, share;

    if (wall < SUITE_NOISE_MIN_WALL || b->total <= a->total)
        return NAN;
    busy = (double)(b->busy - a->busy);
    total = (double)(b->total - a->total);
    /* ticks to seconds through the ratio: total ticks span wall seconds
     * on every CPU */
    share =
        (busy / total)
        - (b->children - a->children) / (total / (double)sysconf(_SC_CLK_TCK));
    return share < 0 ? 0 : share > 1 ? 1 : share;
}

int suite_noise_runqueue(double window, double *load)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long busy, total;
    double sum = 0;
    int samples = 0;
    struct timespec tick = {0, 10 * 1000 * 1000};

    if (ncpu < 1)
        ncpu = 1;
    do {
        long running;
        int rc = read_stat(&busy, &total, &running);

        if (rc < 0)
            return rc;
        if (running < 0)
            return -ENOTSUP;
        /* the reader is running while it reads */
        sum += (double)(running > 0 ? running - 1 : 0);
        samples++;
        if (samples * 0.01 < window)
            nanosleep(&tick, NULL);
    } while (samples * 0.01 < window);
    *load = sum / samples / (double)ncpu;
    return 0;
}
