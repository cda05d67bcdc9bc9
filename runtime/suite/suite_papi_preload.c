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
 * its helpers are left out.
 *
 * In an MPI program the counts are those of the MPI section: this library
 * defines MPI_Init, MPI_Init_thread and MPI_Finalize, which come before
 * the MPI library's in symbol lookup (LD_PRELOAD); each calls the MPI
 * library's own through its PMPI_ name (every MPI library has them, for
 * tools like this one), then resets the counters after MPI_Init and
 * reads them before MPI_Finalize, so start-up, wire-up and teardown are
 * not counted. A program that never calls MPI_Init is counted from load
 * to exit.
 *
 * PAPI's start-up is most of what counting costs a short process: only
 * the components the events need are initialized (uncore counters only
 * for an event that names them; software-defined events only for sde:::
 * ones).
 *
 * Limits: a process that ends by exec() or _exit() writes nothing (its
 * counts are lost, not wrong). Nothing here prints or fails the program:
 * every error leaves the process uncounted. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <strings.h>
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
    int stopped; /* read at MPI_Finalize: values hold the counts */
    long long values[PRELOAD_MAX_EVENTS];
    char *path; /* where to write at exit */
} preload = {.eventset = PAPI_NULL};

/* Whether any event needs component name: it names it, or (uncore) a
 * PMU of that kind, whose native names contain "unc". */
static int preload_needs(const char *component)
{
    for (int i = 0; i < preload.n; i++) {
        const char *e = preload.name[i];

        if (!e)
            continue;
        if (!strcmp(component, "perf_event_uncore")
            && (strcasestr(e, "unc") || strcasestr(e, "uncore")))
            return 1;
        if (!strcmp(component, "sde") && !strncasecmp(e, "sde:", 4))
            return 1;
    }
    return 0;
}

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
    /* components left out cost nothing at init; only before it */
    if (!preload_needs("perf_event_uncore"))
        PAPI_disable_component_by_name("perf_event_uncore");
    if (!preload_needs("sde"))
        PAPI_disable_component_by_name("sde");
    PAPI_disable_component_by_name("rocm_smi");
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

/* The MPI section ------------------------------------------------------- */

static int preload_pmpi(const char *name, void **fn)
{
    if (!*fn)
        *fn = dlsym(RTLD_NEXT, name);
    if (!*fn)
        *fn = dlsym(RTLD_DEFAULT, name);
    return *fn != NULL;
}

/* exported (the library is built with hidden visibility), so that they
 * come before the MPI library's in the program's symbol lookup */
#define PRELOAD_API __attribute__((visibility("default")))

PRELOAD_API int MPI_Init(int *argc, char ***argv);
PRELOAD_API int
MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
PRELOAD_API int MPI_Finalize(void);

int MPI_Init(int *argc, char ***argv)
{
    static void *real;
    int rc;

    if (!preload_pmpi("PMPI_Init", &real))
        return 1; /* MPI_ERR_OTHER's usual value: no MPI library here */
    rc = ((int (*)(int *, char ***))real)(argc, argv);
    if (preload.started)
        PAPI_reset(preload.eventset);
    return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    static void *real;
    int rc;

    if (!preload_pmpi("PMPI_Init_thread", &real))
        return 1;
    rc = ((int (*)(int *, char ***, int, int *))real)(argc, argv, required,
                                                      provided);
    if (preload.started)
        PAPI_reset(preload.eventset);
    return rc;
}

int MPI_Finalize(void)
{
    static void *real;

    if (preload.started && !preload.stopped
        && PAPI_stop(preload.eventset, preload.values) == PAPI_OK)
        preload.stopped = 1;
    if (!preload_pmpi("PMPI_Finalize", &real))
        return 1;
    return ((int (*)(void))real)();
}

__attribute__((destructor)) static void preload_stop(void)
{
    long long *values = preload.values;
    FILE *f;
    int k = 0;

    if (!preload.path || preload.n == 0)
        return;
    if (preload.started && !preload.stopped
        && PAPI_stop(preload.eventset, values) != PAPI_OK)
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
