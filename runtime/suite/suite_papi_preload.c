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
 * PAPI itself is most of what counting costs a short process, so it is
 * used only where it must be. Loading it (libpapi and libpfm, whose
 * event tables take some 40000 relocations) costs a few milliseconds,
 * so it is opened with dlopen, not linked: a process that counts nothing
 * (a helper beside the ranks) or only perf_event's software events never
 * loads it. Those software events (perf::TASK-CLOCK, perf::PAGE-FAULTS,
 * perf::CONTEXT-SWITCHES and the others of preload_sw below) are counted
 * here with perf_event_open, as PAPI's perf_event component would count
 * them (the same kernel counters, user domain: exclude_kernel, as PAPI's
 * default domain PAPI_DOM_USER sets), in one group started, read, reset
 * and stopped like an event set. This also counts them on a CPU libpfm
 * does not know, where PAPI's perf_event component is disabled ("no
 * default PMU found") and would give none. Any other name (a preset, a
 * native event, a software event with a modifier) goes to PAPI, which
 * then initializes only the components the events need (uncore counters
 * only for an event that names them; software-defined events only for
 * sde::: ones; perf_event only when an event is not a software-defined
 * one).
 *
 * A process that ends by exec (execve, execv, execvp, execvpe, execl,
 * execlp, execle, fexecve) or by _exit/_Exit writes its counts too: this
 * library defines those functions, which write the process's lines just
 * as the end above does and then call the C library's own (looked up
 * with dlsym(RTLD_NEXT) at load). An exec'd program with this library
 * still preloaded starts counting anew and writes its own lines at its
 * end, so a process that execs writes one record per program image (the
 * file papi.PID, like the shared ones, is appended to, as the image
 * after exec has the same pid). When an exec fails, the process goes on
 * counting with its event sets intact and at its end writes a second
 * record with only what it counted since the first (counts already
 * written are kept and subtracted, never written twice).
 *
 * A forked child is not counted: PAPI's event sets count the thread
 * that made them, so in a child (its pid is not the one that started
 * them) they hold the parent's counts, and writing them would count
 * those twice. Its end (exit, _exit, or an exec, which a child between
 * fork and exec of a threaded program may only reach through
 * async-signal-safe calls) therefore only compares getpid() and calls
 * the C library's function: nothing else, so a vfork child, which shares
 * the parent's memory, touches no PAPI state either. The program a child
 * execs is counted from its start. posix_spawn (and the C library's own
 * internal exec calls) do not go through these functions; the program
 * spawned is counted from its start as well.
 *
 * The lines are formatted into a static buffer (no malloc), so an _exit
 * from a signal handler does not take malloc's lock; PAPI's own reading
 * is not async-signal-safe, which a handler interrupting PAPI would
 * meet. Limits: a process killed by a signal, or that ends by a raw
 * exit_group system call, writes nothing (its counts are lost, not
 * wrong). Nothing here prints or fails the program: every error leaves
 * the process uncounted. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <papi.h>

enum {
    PRELOAD_MAX_EVENTS = 32,
    PRELOAD_MAX_SETS = 8,
    PRELOAD_MAX_LINE = 1100, /* a name PAPI accepts (1024) and a count */
    PRELOAD_DIRECT = -2      /* component of the set counted here */
};

/* One event set per PAPI component, since an event set counts the events
 * of one component only (perf_event's next to sde's, for instance). */
static struct {
    int n;                          /* events named */
    char *name[PRELOAD_MAX_EVENTS]; /* as named */
    int set[PRELOAD_MAX_EVENTS];    /* its event set's index, or -1 */
    int pos[PRELOAD_MAX_EVENTS];    /* its place in that set */
    int nsets;
    int eventset[PRELOAD_MAX_SETS];
    int component[PRELOAD_MAX_SETS]; /* PAPI's, or PRELOAD_DIRECT */
    int fd[PRELOAD_MAX_EVENTS];      /* the direct set's perf_event fds */
    int count[PRELOAD_MAX_SETS];     /* events in the set */
    int started[PRELOAD_MAX_SETS];
    int stopped; /* read at MPI_Finalize: values hold the counts */
    long long values[PRELOAD_MAX_SETS][PRELOAD_MAX_EVENTS];
    /* counts written by an exec that failed, left out of the next record */
    long long written[PRELOAD_MAX_SETS][PRELOAD_MAX_EVENTS];
    int written_stopped; /* a record written since the sets stopped */
    pid_t pid;           /* the process that started the sets */
    char *path;          /* where to write at exit */
} preload;

/* The C library's functions that end the program image, found at load
 * (a vfork child must not be the first to look one up). */
typedef int (*preload_execve_f)(const char *, char *const[], char *const[]);
typedef int (*preload_execv_f)(const char *, char *const[]);
typedef int (*preload_fexecve_f)(int, char *const[], char *const[]);
typedef void (*preload_exit_f)(int);

static struct {
    preload_execve_f execve, execvpe;
    preload_execv_f execv, execvp;
    preload_fexecve_f fexecve;
    preload_exit_f exit, Exit;
} preload_real;

static void *preload_next(void **fn, const char *name)
{
    if (!*fn)
        *fn = dlsym(RTLD_NEXT, name);
    return *fn;
}

#define PRELOAD_REAL(f, name)                                                  \
    ((__typeof__(preload_real.f))preload_next((void **)&preload_real.f, name))

static void preload_resolve(void)
{
    PRELOAD_REAL(execve, "execve");
    PRELOAD_REAL(execvpe, "execvpe");
    PRELOAD_REAL(execv, "execv");
    PRELOAD_REAL(execvp, "execvp");
    PRELOAD_REAL(fexecve, "fexecve");
    PRELOAD_REAL(exit, "_exit");
    PRELOAD_REAL(Exit, "_Exit");
}

/* PAPI's functions, found in libpapi opened by preload_papi_open(). */
static struct {
    __typeof__(PAPI_library_init) *library_init;
    __typeof__(PAPI_disable_component_by_name) *disable_component_by_name;
    __typeof__(PAPI_event_name_to_code) *event_name_to_code;
    __typeof__(PAPI_get_event_component) *get_event_component;
    __typeof__(PAPI_create_eventset) *create_eventset;
    __typeof__(PAPI_add_event) *add_event;
    __typeof__(PAPI_start) *start;
    __typeof__(PAPI_stop) *stop;
    __typeof__(PAPI_read) *read;
    __typeof__(PAPI_reset) *reset;
} papi;

/* Opens libpapi (global, as a linked library would be) and finds its
 * functions: 0, or -1 when it cannot (the PAPI events are then
 * unavailable). */
static int preload_papi_open(void)
{
    void *h = dlopen(SHOAL_PAPI_SONAME, RTLD_LAZY | RTLD_GLOBAL);

    if (!h)
        return -1;
#define PRELOAD_PAPI_SYM(f)                                                    \
    do {                                                                       \
        papi.f = (__typeof__(papi.f))dlsym(h, "PAPI_" #f);                     \
        if (!papi.f)                                                           \
            return -1;                                                         \
    } while (0)
    PRELOAD_PAPI_SYM(library_init);
    PRELOAD_PAPI_SYM(disable_component_by_name);
    PRELOAD_PAPI_SYM(event_name_to_code);
    PRELOAD_PAPI_SYM(get_event_component);
    PRELOAD_PAPI_SYM(create_eventset);
    PRELOAD_PAPI_SYM(add_event);
    PRELOAD_PAPI_SYM(start);
    PRELOAD_PAPI_SYM(stop);
    PRELOAD_PAPI_SYM(read);
    PRELOAD_PAPI_SYM(reset);
#undef PRELOAD_PAPI_SYM
    return 0;
}

/* perf_event's software events by libpfm's names (perf::NAME, either
 * spelling, any case), counted here without PAPI. */
static const struct {
    const char *name, *alias;
    unsigned long long config;
} preload_sw[] = {
    {"CPU-CLOCK", "PERF_COUNT_SW_CPU_CLOCK", PERF_COUNT_SW_CPU_CLOCK},
    {"TASK-CLOCK", "PERF_COUNT_SW_TASK_CLOCK", PERF_COUNT_SW_TASK_CLOCK},
    {"PAGE-FAULTS", "PERF_COUNT_SW_PAGE_FAULTS", PERF_COUNT_SW_PAGE_FAULTS},
    {"CONTEXT-SWITCHES", "PERF_COUNT_SW_CONTEXT_SWITCHES",
     PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"CPU-MIGRATIONS", "PERF_COUNT_SW_CPU_MIGRATIONS",
     PERF_COUNT_SW_CPU_MIGRATIONS},
    {"MINOR-FAULTS", "PERF_COUNT_SW_PAGE_FAULTS_MIN",
     PERF_COUNT_SW_PAGE_FAULTS_MIN},
    {"MAJOR-FAULTS", "PERF_COUNT_SW_PAGE_FAULTS_MAJ",
     PERF_COUNT_SW_PAGE_FAULTS_MAJ},
};

/* The index in preload_sw of a software event named name, or -1. */
static int preload_sw_find(const char *name)
{
    if (!name || strncasecmp(name, "perf::", 6))
        return -1;
    name += 6;
    for (size_t j = 0; j < sizeof(preload_sw) / sizeof(preload_sw[0]); j++)
        if (!strcasecmp(name, preload_sw[j].name)
            || !strcasecmp(name, preload_sw[j].alias))
            return (int)j;
    return -1;
}

/* The set k that preload_add() puts a component's events in, made when
 * it is the first; -1 when there is no room. */
static int preload_set_of(int cidx)
{
    int k;

    for (k = 0; k < preload.nsets; k++)
        if (preload.component[k] == cidx)
            return k;
    if (k == PRELOAD_MAX_SETS)
        return -1;
    preload.eventset[k] = PAPI_NULL;
    if (cidx != PRELOAD_DIRECT
        && papi.create_eventset(&preload.eventset[k]) != PAPI_OK)
        return -1;
    preload.component[k] = cidx;
    preload.nsets++;
    return k;
}

/* Opens software event i (preload_sw[j]) in the direct set's group,
 * disabled until the group's leader is enabled. */
static void preload_add_sw(int i, int j)
{
    struct perf_event_attr attr;
    int k = preload_set_of(PRELOAD_DIRECT), fd;

    if (k < 0)
        return;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = preload_sw[j].config;
    attr.exclude_kernel = 1; /* PAPI_DOM_USER, PAPI's default */
    attr.exclude_hv = 1;
    attr.read_format = PERF_FORMAT_GROUP;
    attr.disabled = preload.count[k] == 0;
    fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1,
                      preload.count[k] ? preload.fd[0] : -1,
                      PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return;
    preload.set[i] = k;
    preload.pos[i] = preload.count[k];
    preload.fd[preload.count[k]++] = fd;
}

/* Adds event i to the set of its component; leaves set[i] at -1 when
 * the event cannot be counted. */
static void preload_add(int i)
{
    int code, k, j = preload_sw_find(preload.name[i]);

    preload.set[i] = -1;
    if (j >= 0) {
        preload_add_sw(i, j);
        return;
    }
    if (!preload.name[i] || !papi.library_init
        || papi.event_name_to_code(preload.name[i], &code) != PAPI_OK)
        return;
    k = preload_set_of(papi.get_event_component(code));
    if (k >= 0 && papi.add_event(preload.eventset[k], code) == PAPI_OK) {
        preload.set[i] = k;
        preload.pos[i] = preload.count[k]++;
    }
}

/* The direct set's group: ioctl on its leader, for all of it. */
static int preload_direct(unsigned long request)
{
    return ioctl(preload.fd[0], request, PERF_IOC_FLAG_GROUP);
}

/* Reads the direct set k into values: 0, or -1. */
static int preload_direct_read(int k)
{
    unsigned long long buf[1 + PRELOAD_MAX_EVENTS];
    ssize_t want = (ssize_t)((1 + preload.count[k]) * sizeof(buf[0]));

    if (read(preload.fd[0], buf, sizeof(buf)) != want)
        return -1;
    for (int e = 0; e < preload.count[k]; e++)
        preload.values[k][e] = (long long)buf[1 + e];
    return 0;
}

static int preload_start_set(int k)
{
    if (preload.component[k] == PRELOAD_DIRECT)
        return preload_direct(PERF_EVENT_IOC_RESET) == 0
               && preload_direct(PERF_EVENT_IOC_ENABLE) == 0;
    return papi.start(preload.eventset[k]) == PAPI_OK;
}

static int preload_stop_set(int k)
{
    if (preload.component[k] == PRELOAD_DIRECT)
        return preload_direct(PERF_EVENT_IOC_DISABLE) == 0
               && preload_direct_read(k) == 0;
    return papi.stop(preload.eventset[k], preload.values[k]) == PAPI_OK;
}

static int preload_read_set(int k)
{
    if (preload.component[k] == PRELOAD_DIRECT)
        return preload_direct_read(k) == 0;
    return papi.read(preload.eventset[k], preload.values[k]) == PAPI_OK;
}

/* Stops every started set into values; a set that fails to stop is
 * marked not started, so its events are written unavailable. */
static void preload_stop_sets(void)
{
    for (int k = 0; k < preload.nsets; k++)
        if (preload.started[k] && !preload_stop_set(k))
            preload.started[k] = 0;
    preload.stopped = 1;
}

/* Reads every running set into values, counting on; a set that fails to
 * read is marked not started, as in preload_stop_sets(). */
static void preload_read_sets(void)
{
    for (int k = 0; k < preload.nsets; k++)
        if (preload.started[k] && !preload_read_set(k))
            preload.started[k] = 0;
}

static void preload_reset_sets(void)
{
    for (int k = 0; k < preload.nsets; k++) {
        if (!preload.started[k])
            continue;
        if (preload.component[k] == PRELOAD_DIRECT)
            preload_direct(PERF_EVENT_IOC_RESET);
        else
            papi.reset(preload.eventset[k]);
    }
    memset(preload.written, 0, sizeof(preload.written));
}

/* Whether any event needs component name: it names it, or (uncore) a
 * PMU of that kind, whose native names contain "unc". "papi": whether
 * any event needs PAPI at all (is not one preload_add_sw() counts). */
static int preload_needs(const char *component)
{
    for (int i = 0; i < preload.n; i++) {
        const char *e = preload.name[i];

        if (!e || preload_sw_find(e) >= 0)
            continue;
        if (!strcmp(component, "papi"))
            return 1;
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

    preload_resolve();
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
        preload.path = strdup(rank_file);
    } else if (task_dir && *task_dir) {
        if (asprintf(&preload.path, "%s/counters", task_dir) < 0)
            preload.path = NULL;
    } else if (asprintf(&preload.path, "%s/papi.%ld", dir, (long)getpid())
               < 0) {
        preload.path = NULL;
    }
    if (!preload.path)
        return;
    preload.pid = getpid();
    list = strdup(events);
    if (!list)
        return;
    for (char *e = strtok_r(list, ",", &save);
         e && preload.n < PRELOAD_MAX_EVENTS; e = strtok_r(NULL, ",", &save))
        preload.name[preload.n++] = strdup(e);
    free(list);
    if (preload_needs("papi") && preload_papi_open() == 0) {
        /* components left out cost nothing at init; only before it */
        if (!preload_needs("perf_event_uncore"))
            papi.disable_component_by_name("perf_event_uncore");
        if (!preload_needs("sde"))
            papi.disable_component_by_name("sde");
        if (!preload_needs("perf_event"))
            papi.disable_component_by_name("perf_event");
        papi.disable_component_by_name("rocm_smi");
        papi.disable_component_by_name("sysdetect"); /* has no events */
        if (papi.library_init(PAPI_VER_CURRENT) != PAPI_VER_CURRENT)
            papi.library_init = NULL; /* its events are unavailable */
    }
    for (int i = 0; i < preload.n; i++)
        preload_add(i);
    for (int k = 0; k < preload.nsets; k++)
        preload.started[k] = preload.count[k] > 0 && preload_start_set(k);
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

/* The end of a program image ------------------------------------------ */

/* Appends s to buf at *at (room made sure of by the caller). */
static void preload_put(char *buf, size_t *at, const char *s)
{
    size_t len = strlen(s);

    memcpy(buf + *at, s, len);
    *at += len;
}

/* "NAME VALUE\n" or "NAME unavailable\n" into line (PRELOAD_MAX_LINE
 * bytes), without malloc or stdio (an _exit may come from a signal
 * handler): its length, 0 for a name too long to be PAPI's. */
static size_t preload_line(char *line, int i)
{
    int k = preload.set[i];
    size_t at = 0;

    if (strlen(preload.name[i]) + 32 > PRELOAD_MAX_LINE)
        return 0; /* longer than any name PAPI takes */
    preload_put(line, &at, preload.name[i]);
    preload_put(line, &at, " ");
    if (k >= 0 && preload.started[k]) {
        long long v = preload.values[k][preload.pos[i]]
                      - preload.written[k][preload.pos[i]];
        char digits[24], *d = digits + sizeof(digits);
        unsigned long long u =
            v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

        *--d = '\0';
        do
            *--d = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
            *--d = '-';
        preload_put(line, &at, d);
    } else {
        preload_put(line, &at, "unavailable");
    }
    preload_put(line, &at, "\n");
    return at;
}

/* Writes this process's lines in one write(2) of its file, opened
 * O_APPEND: a task's or rank's file is shared by its processes, and
 * papi.PID by the program images one pid runs through exec. */
static void preload_write(void)
{
    static char text[PRELOAD_MAX_EVENTS * PRELOAD_MAX_LINE];
    size_t len = 0;
    int fd;

    for (int i = 0; i < preload.n; i++)
        if (preload.name[i])
            len += preload_line(text + len, i);
    fd = open(preload.path, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0600);
    if (fd >= 0) {
        ssize_t n = write(fd, text, len);

        (void)n; /* a short write loses counts, nothing else */
        close(fd);
    }
}

/* Whether this process counts and has counts not written yet: not a
 * forked child (its sets hold its parent's counts), and not stopped
 * since its last record. Touches nothing but getpid() otherwise. */
static int preload_pending(void)
{
    if (!preload.path || preload.n == 0 || preload.written_stopped)
        return 0;
    return getpid() == preload.pid;
}

/* The last record of a process: at exit, _exit or _Exit. */
static void preload_end(void)
{
    if (!preload_pending())
        return;
    if (!preload.stopped)
        preload_stop_sets();
    preload_write();
    preload.written_stopped = 1;
}

/* The record of a program image that execs: the sets go on counting, and
 * what it writes is kept in written, so that when the exec fails the
 * next record holds only what was counted after it. 1 when written. */
static int preload_exec(void)
{
    if (!preload_pending())
        return 0;
    if (!preload.stopped)
        preload_read_sets();
    preload_write();
    memcpy(preload.written, preload.values, sizeof(preload.written));
    if (preload.stopped)
        preload.written_stopped = 1;
    return 1;
}

PRELOAD_API int
execve(const char *path, char *const argv[], char *const envp[]);
PRELOAD_API int execv(const char *path, char *const argv[]);
PRELOAD_API int execvp(const char *file, char *const argv[]);
PRELOAD_API int
execvpe(const char *file, char *const argv[], char *const envp[]);
PRELOAD_API int fexecve(int fd, char *const argv[], char *const envp[]);
PRELOAD_API int execl(const char *path, const char *arg, ...);
PRELOAD_API int execlp(const char *file, const char *arg, ...);
PRELOAD_API int execle(const char *path, const char *arg, ...);
PRELOAD_API void _exit(int status);
PRELOAD_API void _Exit(int status);

/* Each calls the C library's function after this image's record; ENOSYS
 * when it cannot be found (the library is not the C library's neighbour
 * in lookup). An exec function the C library's calls in turn (none of
 * glibc's do: they call its internal execve) writes no second record.
 * Only the counting process sets preload_in_exec: a vfork child, which
 * shares its memory, leaves it alone. */
static int preload_in_exec;

#define PRELOAD_EXEC(f, name, ...)                                             \
    do {                                                                       \
        __typeof__(preload_real.f) real = PRELOAD_REAL(f, name);               \
        int rc, mine;                                                          \
                                                                               \
        if (!real) {                                                           \
            errno = ENOSYS;                                                    \
            return -1;                                                         \
        }                                                                      \
        mine = !preload_in_exec && preload_exec();                             \
        if (mine)                                                              \
            preload_in_exec = 1;                                               \
        rc = real(__VA_ARGS__);                                                \
        if (mine)                                                              \
            preload_in_exec = 0;                                               \
        return rc;                                                             \
    } while (0)

int execve(const char *path, char *const argv[], char *const envp[])
{
    PRELOAD_EXEC(execve, "execve", path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    PRELOAD_EXEC(execv, "execv", path, argv);
}

int execvp(const char *file, char *const argv[])
{
    PRELOAD_EXEC(execvp, "execvp", file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    PRELOAD_EXEC(execvpe, "execvpe", file, argv, envp);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    PRELOAD_EXEC(fexecve, "fexecve", fd, argv, envp);
}

/* How preload_execl passes the arguments it gathered on. */
enum preload_execl_kind {
    PRELOAD_EXECL,  /* execv(path, argv) */
    PRELOAD_EXECLP, /* execvp(file, argv) */
    PRELOAD_EXECLE, /* execve(path, argv, the pointer after the NULL) */
};

/* The execl family: its arguments (arg, then those in ap up to and with
 * the NULL that ends them) are counted on a copy of ap, then gathered
 * into an array in this function's frame (no malloc: a forked child, or a
 * vfork child sharing the parent's memory, may call them; malloc's lock
 * may be held by a thread that is not in the child), as the C library
 * does, and passed to the execv function above that takes them, which
 * writes the record. For execle the environment is the argument after
 * that NULL. */
static int preload_execl(enum preload_execl_kind kind,
                         const char *path,
                         const char *arg,
                         va_list ap)
{
    va_list count;
    size_t n = 1;

    va_copy(count, ap);
    for (const char *a = arg; a; a = va_arg(count, const char *))
        n++;
    va_end(count);

    char *argv[n];

    argv[0] = (char *)arg;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    if (kind == PRELOAD_EXECLP)
        return execvp(path, argv);
    if (kind == PRELOAD_EXECLE)
        return execve(path, argv, va_arg(ap, char *const *));
    return execv(path, argv);
}

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = preload_execl(PRELOAD_EXECL, path, arg, ap);
    va_end(ap);
    return rc;
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = preload_execl(PRELOAD_EXECLP, file, arg, ap);
    va_end(ap);
    return rc;
}

int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    int rc;

    va_start(ap, arg);
    rc = preload_execl(PRELOAD_EXECLE, path, arg, ap);
    va_end(ap);
    return rc;
}

void _exit(int status)
{
    preload_exit_f real = PRELOAD_REAL(exit, "_exit");

    preload_end();
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    preload_exit_f real = PRELOAD_REAL(Exit, "_Exit");

    preload_end();
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

__attribute__((destructor)) static void preload_stop(void)
{
    preload_end();
}
