/* SPDX-License-Identifier: MIT */
/* suite_papi_preload.c - libshoal-papi.so, preloaded by `shoal bench run`
 * (LD_PRELOAD) into each process of a benchmark that lists `papi:`
 * events, so that counters are collected without changing the program.
 *
 * At load (a constructor) it starts the events named in
 * SHOAL_PAPI_EVENTS (comma-separated PAPI or native names, such as
 * PAPI_TOT_INS or perf::TASK-CLOCK); at exit (a destructor, so after
 * main returns or exit() is called) it stops them and writes
 * SHOAL_PAPI_DIR/papi.PID, one line per event: "NAME VALUE", or
 * "NAME unavailable" for an event this machine cannot count (a virtual
 * machine without a PMU has no PAPI_TOT_INS; perf_event's software
 * events such as perf::TASK-CLOCK still count). The runner sums the
 * files of a repetition over its processes and keeps min and max.
 *
 * With SHOAL_PAPI_RANKS=1 (set for `mpi:` benchmarks) only processes
 * with PMI_RANK in their environment count, so `shoal run` itself and
 * its helpers are left out. Limits: a process that ends by exec() or
 * _exit() writes nothing (its counts are lost, not wrong); the counters
 * start at load, not at MPI_Init. Nothing here prints or fails the
 * program: every error leaves the process uncounted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <papi.h>

enum { PRELOAD_MAX_EVENTS = 32 };

static struct {
    int eventset;
    int n;                          /* events named */
    char *name[PRELOAD_MAX_EVENTS]; /* as named */
    int added[PRELOAD_MAX_EVENTS];  /* 1 when counting */
    int started;
    char *path; /* where to write at exit */
} preload = {.eventset = PAPI_NULL};

__attribute__((constructor)) static void preload_start(void)
{
    const char *events = getenv("SHOAL_PAPI_EVENTS");
    const char *dir = getenv("SHOAL_PAPI_DIR");
    const char *ranks = getenv("SHOAL_PAPI_RANKS");
    char *list, *save = NULL;
    int any = 0;

    if (!events || !dir || !*events)
        return;

    if (ranks && !strcmp(ranks, "1") && !getenv("PMI_RANK"))
        return;
    if (asprintf(&preload.path, "%s/papi.%ld", dir, (long)getpid()) < 0) {
        preload.path = NULL;
        return;
    }
    list = strdup(events);
    if (!list)
        return;
    for (char *e = strtok_r(list, ",", &save);
         e && preload.n < PRELOAD_MAX_EVENTS; e = strtok_r(NULL, ",", &save))
        preload.name[preload.n++] = strdup(e);
    free(list);
    if (PAPI_library_init(PAPI_VER_CURRENT) != PAPI_VER_CURRENT
        || PAPI_create_eventset(&preload.eventset) != PAPI_OK)
        return;
    for (int i = 0; i < preload.n; i++) {
        int code;

        if (!preload.name[i]
            || PAPI_event_name_to_code(preload.name[i], &code) != PAPI_OK)
            continue;
        if (PAPI_add_event(preload.eventset, code) == PAPI_OK) {
            preload.added[i] = 1;
            any = 1;
        }
    }
    if (any && PAPI_start(preload.eventset) == PAPI_OK)
        preload.started = 1;
}

__attribute__((destructor)) static void preload_stop(void)
{
    long long values[PRELOAD_MAX_EVENTS] = {0};
    FILE *f;
    int k = 0;

    if (!preload.path || preload.n == 0)
        return;
    if (preload.started && PAPI_stop(preload.eventset, values) != PAPI_OK)
        preload.started = 0;
    f = fopen(preload.path, "we");
    if (!f)
        return;
    for (int i = 0; i < preload.n; i++) {
        if (!preload.name[i])
            continue;
        if (preload.added[i] && preload.started)
            fprintf(f, "%s %lld\n", preload.name[i], values[k++]);
        else
            fprintf(f, "%s unavailable\n", preload.name[i]);
    }
    fclose(f);
}
