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
 * its helpers are left out; with SHOAL_PAPI_RANKS=task (a benchmark run
 * as a pool task) only those with SHOAL_TASK_ID, so `shoal submit` is.
 * A task's processes append their lines to SHOAL_TASK_DIR/counters
 * instead (the task's own directory on the node that runs it, which the
 * task service sends back with its output: runtime/tasks/taskd.h), each
 * process's lines in one write(2) of a file opened O_APPEND, so those of
 * processes ending together never interleave; without SHOAL_TASK_DIR (a
 * task service that does not set it) they go to SHOAL_PAPI_DIR as above.
 * A rank's processes likewise append to SHOAL_RANK_COUNTERS when `shoal
 * run` gives it (--counters-dir): on a pool a file on the rank's node
 * that its proxy sends back with the rank's exit (runtime/job/node_job.h).
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
 * Events of several PAPI components (perf_event's and software-defined
 * ones, say) are counted side by side: one event set per component, as
 * PAPI's event sets hold one component's events each. Software-defined
 * events (sde:::LIB::NAME, such as shoal's MPI's sde:::shoal_mpi::msgs_sent)
 * may be named before the library that defines them registers them at
 * MPI_Init: PAPI's libsde holds a placeholder until then. In a process
 * without libsde (a program of another MPI) they are unavailable.
 *
 * PAPI's start-up is most of what counting costs a short process: only
 * the components the events need are initialized (uncore counters only
 * for an event that names them; software-defined events only for sde:::
 * ones; perf_event only when an event is not a software-defined one).
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

enum { PRELOAD_MAX_EVENTS = 32, PRELOAD_MAX_SETS = 8 };

/* One event set per PAPI component, since an event set counts the events
 * of one component only (perf_event's next to sde's, for instance). */
static struct {
    int n;                          /* events named */
    char *name[PRELOAD_MAX_EVENTS]; /* as named */
    int set[PRELOAD_MAX_EVENTS];    /* its event set's index, or -1 */
    int pos[PRELOAD_MAX_EVENTS];    /* its place in that set */
    int nsets;
    int eventset[PRELOAD_MAX_SETS];
    int component[PRELOAD_MAX_SETS];
    int count[PRELOAD_MAX_SETS]; /* events in the set */
    int started[PRELOAD_MAX_SETS];
    int stopped; /* read at MPI_Finalize: values hold the counts */
    long long values[PRELOAD_MAX_SETS][PRELOAD_MAX_EVENTS];
    char *path; /* where to write at exit */
    int append; /* path is a task's counters file, shared by its processes */
} preload;

/* Adds event i to the set of its component, made when it is the first;
 * leaves set[i] at -1 when the event cannot be counted. */
static void preload_add(int i)
{
    int code, cidx, k;

    preload.set[i] = -1;
    if (!preload.name[i]
        || PAPI_event_name_to_code(preload.name[i], &code) != PAPI_OK)
        return;
    cidx = PAPI_get_event_component(code);
    for (k = 0; k < preload.nsets; k++)
        if (preload.component[k] == cidx)
            break;
    if (k == preload.nsets) {
        if (k == PRELOAD_MAX_SETS)
            return;
        preload.eventset[k] = PAPI_NULL;
        if (PAPI_create_eventset(&preload.eventset[k]) != PAPI_OK)
            return;
        preload.component[k] = cidx;
        preload.nsets++;
    }
    if (PAPI_add_event(preload.eventset[k], code) == PAPI_OK) {
        preload.set[i] = k;
        preload.pos[i] = preload.count[k]++;
    }
}

/* Stops every started set into values; a set that fails to stop is
 * marked not started, so its events are written unavailable. */
static void preload_stop_sets(void)
{
    for (int k = 0; k < preload.nsets; k++)
        if (preload.started[k]
            && PAPI_stop(preload.eventset[k], preload.values[k]) != PAPI_OK)
            preload.started[k] = 0;
    preload.stopped = 1;
}

static void preload_reset_sets(void)
{
    for (int k = 0; k < preload.nsets; k++)
        if (preload.started[k])
            PAPI_reset(preload.eventset[k]);
}

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
        if (!strcmp(component, "perf_event") && strncasecmp(e, "sde:", 4))
            return 1;
    }
    return 0;
}

__attribute__((constructor)) static void preload_start(void)
{
    const char *events = getenv("SHOAL_PAPI_EVENTS");
    const char *dir = getenv("SHOAL_PAPI_DIR");
    const char *ranks = getenv("SHOAL_PAPI_RANKS");
    const char *task_dir, *rank_file;
    char *list, *save = NULL;

    if (!events || !dir || !*events)
        return;

    if (ranks && !strcmp(ranks, "1") && !getenv("PMI_RANK"))
        return;
    if (ranks && !strcmp(ranks, "task") && !getenv("SHOAL_TASK_ID"))
        return;
    task_dir =
        ranks && !strcmp(ranks, "task") ? getenv("SHOAL_TASK_DIR") : NULL;
    rank_file =
        ranks && !strcmp(ranks, "1") ? getenv("SHOAL_RANK_COUNTERS") : NULL;
    if (rank_file && *rank_file) {
        preload.append = 1;
        preload.path = strdup(rank_file);
    } else if (task_dir && *task_dir) {
        preload.append = 1;
        if (asprintf(&preload.path, "%s/counters", task_dir) < 0)
            preload.path = NULL;
    } else if (asprintf(&preload.path, "%s/papi.%ld", dir, (long)getpid())
               < 0) {
        preload.path = NULL;
    }
    if (!preload.path)
        return;
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
    if (!preload_needs("perf_event"))
        PAPI_disable_component_by_name("perf_event");
    PAPI_disable_component_by_name("rocm_smi");
    if (PAPI_library_init(PAPI_VER_CURRENT) != PAPI_VER_CURRENT)
        return;
    for (int i = 0; i < preload.n; i++)
        preload_add(i);
    for (int k = 0; k < preload.nsets; k++)
        preload.started[k] =
            preload.count[k] > 0 && PAPI_start(preload.eventset[k]) == PAPI_OK;
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
    preload_reset_sets();
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
    preload_reset_sets();
    return rc;
}

int MPI_Finalize(void)
{
    static void *real;

    if (!preload.stopped)
        preload_stop_sets();
    if (!preload_pmpi("PMPI_Finalize", &real))
        return 1;
    return ((int (*)(void))real)();
}

__attribute__((destructor)) static void preload_stop(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int fd;

    if (!preload.path || preload.n == 0)
        return;
    if (!preload.stopped)
        preload_stop_sets();
    /* the lines in memory first, written at once */
    f = open_memstream(&text, &len);
    if (!f)
        return;
    for (int i = 0; i < preload.n; i++) {
        int k = preload.set[i];

        if (!preload.name[i])
            continue;
        if (k >= 0 && preload.started[k])
            fprintf(f, "%s %lld\n", preload.name[i],
                    preload.values[k][preload.pos[i]]);
        else
            fprintf(f, "%s unavailable\n", preload.name[i]);
    }
    if (fclose(f) != 0) {
        free(text);
        return;
    }
    fd = open(preload.path,
              O_WRONLY | O_CREAT | O_CLOEXEC
                  | (preload.append ? O_APPEND : O_TRUNC),
              0600);
    if (fd >= 0) {
        ssize_t n = write(fd, text, len);

        (void)n; /* a short write loses counts, nothing else */
        close(fd);
    }
    free(text);
}
