/* SPDX-License-Identifier: MIT */
/* ckpt_api.c - shoal_ckpt_*: a thin state machine over ckpt_store.
 *
 * Phases: off -> (init) idle -> (begin) writing -> (commit) idle ...
 * -> (finalize) off. The session is one per process, as MPI's is.
 *
 * Collectives without an MPI dependency: libshoal links no MPI library.
 * shoal's libmpi defines shoal_mpi_ckpt_agree() and
 * shoal_mpi_ckpt_quiesce(); they are weak references here, resolved when
 * libmpi is loaded and NULL otherwise (another MPI, or a plain task), in
 * which case every call acts for its rank alone. -ENOTCONN from a hook
 * (MPI not initialized) means the same.
 *
 * A collective call must be made on every rank even when the rank's own
 * part failed, or the others would wait forever. So each call does its
 * local work first and then agrees on "some rank failed" (ckpt_agree_ok);
 * only argument and ordering errors, which are program bugs made alike on
 * every rank, return before the agreement.
 *
 * Which version init restores outside a runtime restart: each rank offers
 * the newest version it can verify, c. The ranks agree on m = min(c) (the
 * maximum of -c). A rank that does not have m verified offers its newest
 * version at most m, and they agree on whether every rank now offers m; if
 * not they go round again with the smaller offers. Offers only go down and
 * stop at 0 (nothing to restore), so the loop ends; it ends at the newest
 * version every rank can verify, in one round when the ranks agree.
 *
 * Durable commits: where the runtime copies each committed version to
 * other nodes and then raises RDIR/KEEP to it (a task of `shoal submit
 * --checkpoint --replicas R`, a rank of `shoal run --checkpoint --replicas
 * R`, which the runtime says with SHOAL_CKPT_DURABLE=1; a rank's KEEP is
 * the job's durable version, copied for every rank), commit waits for
 * KEEP to reach the version, so
 * that its return means the version outlives this node. The wait is
 * bounded by $SHOAL_CKPT_COMMIT_WAIT seconds (CKPT_COMMIT_WAIT_S by
 * default, 0: no wait); when it passes, or as soon as the runtime notes
 * in RDIR/NOCOPY that the copy of this version failed, the version stays
 * committed here (the runtime goes on trying to copy it) and commit says
 * so with -ETIMEDOUT rather than 0: a program told "durable" must be able to
 * rely on it, and a library cannot print a warning the program would see. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shoal/ckpt.h>

#include "runtime/ckpt/ckpt_store.h"

/* Provided by shoal's libmpi (see the comment above). */
int shoal_mpi_ckpt_agree(int *flag)
    __attribute__((weak, visibility("default")));
int shoal_mpi_ckpt_quiesce(void) __attribute__((weak, visibility("default")));

enum ckpt_phase {
    CKPT_PHASE_OFF = 0,
    CKPT_PHASE_IDLE,
    CKPT_PHASE_WRITING,
};

enum {
    CKPT_COMMIT_WAIT_S = 60,  /* the default bound of a durable commit */
    CKPT_DURABLE_ROUND_S = 1, /* the ranks agree on the wait this often */
};

struct ckpt_session {
    enum ckpt_phase phase;
    ckpt_store_t *store;
    int restored;              /* version restored at init, 0 for none */
    bool reading;              /* route() names the restored version's files */
    int floor;                 /* begin needs a greater version */
    int writing;               /* version begun, in CKPT_PHASE_WRITING */
    double interval;           /* $SHOAL_CKPT_INTERVAL, 0 for none */
    double durable_wait;       /* the longest commit waits for KEEP; 0: none */
    struct timespec since;     /* init or last commit, CLOCK_MONOTONIC */
    struct timespec begun;     /* the version being written, likewise */
    bool committed;            /* this process committed a version */
    struct timespec commit_at; /* its COMMITTED marker's mtime */
    char **routes;             /* strings route() handed out */
    size_t nroutes;
};

static struct ckpt_session ckpt_session;

/* Agree on the maximum of *flag over the ranks; 0 when acting alone. */
static int ckpt_agree_max(int *flag)
{
    int copy = *flag, rc;

    if (!shoal_mpi_ckpt_agree)
        return 0;
    rc = shoal_mpi_ckpt_agree(&copy);
    if (rc == -ENOTCONN)
        return 0;
    if (rc == 0)
        *flag = copy;
    return rc;
}

/* Agree on whether some rank failed: returns rc (this rank's result) when
 * it failed, -ECANCELED when another rank did, the hook's error, or 0. */
static int ckpt_agree_ok(int rc)
{
    int failed = rc < 0;
    int arc = ckpt_agree_max(&failed);

    if (rc < 0)
        return rc;
    if (arc < 0)
        return arc;
    return failed ? -ECANCELED : 0;
}

static void ckpt_routes_free(struct ckpt_session *s)
{
    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i]);
    free(s->routes);
    s->routes = NULL;
    s->nroutes = 0;
}

static double ckpt_elapsed(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec)
           + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Parse a decimal int >= min from text; -EINVAL if it is not one. */
static int ckpt_parse_int(const char *text, int min, int *out)
{
    char *end;
    long v;

    if (!text || !text[0])
        return -EINVAL;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || *end || v < min || v > INT_MAX)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* $SHOAL_CKPT_INTERVAL: a positive number of seconds, or unset. */
static int ckpt_parse_interval(double *out)
{
    const char *text = getenv("SHOAL_CKPT_INTERVAL");
    char *end;
    double v;

    *out = 0;
    if (!text || !text[0])
        return 0;
    errno = 0;
    v = strtod(text, &end);
    if (errno || *end || !(v > 0) || v > 1e9)
        return -EINVAL;
    *out = v;
    return 0;
}

/* How long commit waits for its version's copies: 0 unless the runtime
 * says it makes versions durable ($SHOAL_CKPT_DURABLE=1), else
 * $SHOAL_CKPT_COMMIT_WAIT (seconds, >= 0) or CKPT_COMMIT_WAIT_S. */
static int ckpt_parse_durable(double *out)
{
    const char *durable = getenv("SHOAL_CKPT_DURABLE");
    const char *text = getenv("SHOAL_CKPT_COMMIT_WAIT");
    char *end;
    double v;

    *out = 0;
    if (!durable || strcmp(durable, "1") != 0)
        return 0;
    if (!text || !text[0]) {
        *out = CKPT_COMMIT_WAIT_S;
        return 0;
    }
    errno = 0;
    v = strtod(text, &end);
    if (errno || *end || !(v >= 0) || v > 1e9)
        return -EINVAL;
    *out = v;
    return 0;
}

/* RDIR: $SHOAL_CKPT_DIR, else ./shoal-ckpt/rank<R>. */
static int ckpt_rank_dir(char *buf, size_t len)
{
    static const char *const rank_vars[] = {
        "PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"};
    const char *dir = getenv("SHOAL_CKPT_DIR");
    int rank = 0, n;

    if (dir && dir[0]) {
        n = snprintf(buf, len, "%s", dir);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
    }
    for (size_t i = 0; i < sizeof(rank_vars) / sizeof(rank_vars[0]); i++) {
        const char *text = getenv(rank_vars[i]);

        if (!text)
            continue;
        if (ckpt_parse_int(text, 0, &rank) < 0)
            return -EINVAL;
        break;
    }
    n = snprintf(buf, len, "shoal-ckpt/rank%d", rank);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The newest version every rank can verify (see the top of the file). */
static int ckpt_agree_newest(ckpt_store_t *store, int mine, int *out)
{
    int offer = mine, rc;

    for (;;) {
        int neg = -offer, differs, least;

        rc = ckpt_agree_max(&neg);
        if (rc < 0)
            return rc;
        least = -neg;
        if (least < offer && ckpt_store_newest(store, least, &offer) < 0)
            offer = 0;
        differs = offer != least;
        rc = ckpt_agree_max(&differs);
        if (rc < 0)
            return rc;
        if (!differs) {
            *out = least;
            return 0;
        }
    }
}

/* The version init restores, or a negative errno. */
static int ckpt_find_restore(ckpt_store_t *store, int *version)
{
    const char *restart = getenv("SHOAL_CKPT_RESTART");
    int rc, mine = 0;

    if (restart && !strcmp(restart, "1")) {
        rc = ckpt_parse_int(getenv("SHOAL_CKPT_VERSION"), 1, version);
        if (rc < 0)
            return rc;
        return ckpt_agree_ok(ckpt_store_verify(store, *version));
    }
    if (restart && !strcmp(restart, "0")) {
        /* the runtime chose: begin afresh, whatever this rank finds */
        *version = 0;
        return 0;
    }
    rc = ckpt_agree_ok(ckpt_store_newest(store, INT_MAX, &mine));
    if (rc < 0)
        return rc;
    return ckpt_agree_newest(store, mine, version);
}

SHOAL_API int shoal_ckpt_init(int *restarted, int *version)
{
    struct ckpt_session *s = &ckpt_session;
    ckpt_store_t *store = NULL;
    char rdir[PATH_MAX];
    double interval, durable_wait;
    int rc, found = 0;

    if (s->phase != CKPT_PHASE_OFF)
        return -EINVAL;
    rc = ckpt_parse_interval(&interval);
    if (rc == 0)
        rc = ckpt_parse_durable(&durable_wait);
    if (rc == 0)
        rc = ckpt_rank_dir(rdir, sizeof(rdir));
    if (rc < 0)
        return rc;
    rc = ckpt_store_create(rdir, &store);
    if (rc < 0) {
        /* Take part in the agreement the other ranks are in. */
        ckpt_agree_ok(rc);
        return rc;
    }
    rc = ckpt_find_restore(store, &found);
    if (rc < 0) {
        ckpt_store_destroy(store);
        return rc;
    }
    *s = (struct ckpt_session){.phase = CKPT_PHASE_IDLE,
                               .store = store,
                               .restored = found,
                               .reading = found > 0,
                               .floor = found,
                               .interval = interval,
                               .durable_wait = durable_wait};
    clock_gettime(CLOCK_MONOTONIC, &s->since);
    if (restarted)
        *restarted = found > 0;
    if (version)
        *version = found;
    return 0;
}

SHOAL_API const char *shoal_ckpt_route(const char *name)
{
    struct ckpt_session *s = &ckpt_session;
    char path[PATH_MAX];
    char **routes;
    int version, rc;

    if (s->phase == CKPT_PHASE_OFF || ckpt_name_check(name) < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (s->phase == CKPT_PHASE_WRITING)
        version = s->writing;
    else if (s->reading)
        version = s->restored;
    else {
        errno = ENOENT;
        return NULL;
    }
    rc = ckpt_store_path(s->store, version, name, path, sizeof(path));
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    routes = realloc(s->routes, (s->nroutes + 1) * sizeof(*routes));
    if (!routes) {
        errno = ENOMEM;
        return NULL;
    }
    s->routes = routes;
    routes[s->nroutes] = strdup(path);
    if (!routes[s->nroutes]) {
        errno = ENOMEM;
        return NULL;
    }
    return routes[s->nroutes++];
}

SHOAL_API int shoal_ckpt_begin(int version)
{
    struct ckpt_session *s = &ckpt_session;
    int rc, local;

    if (s->phase != CKPT_PHASE_IDLE || version <= s->floor)
        return -EINVAL;
    if (shoal_mpi_ckpt_quiesce) {
        rc = shoal_mpi_ckpt_quiesce();
        if (rc < 0 && rc != -ENOTCONN)
            return rc;
    }
    local = ckpt_store_begin(s->store, version);
    rc = ckpt_agree_ok(local);
    if (rc < 0) {
        if (local == 0)
            ckpt_store_remove(s->store, version);
        return rc;
    }
    ckpt_routes_free(s);
    s->reading = false;
    s->writing = version;
    s->phase = CKPT_PHASE_WRITING;
    clock_gettime(CLOCK_MONOTONIC, &s->begun);
    return 0;
}

/* Wait for version to be durable (see the comment at the top): in rounds
 * of at most CKPT_DURABLE_ROUND_S, after each of which the ranks agree
 * on the worst state any is in (0 durable, 1 waiting, 2 failed or out of
 * time), so that every rank returns the same, as soon as one rank's
 * copy failed (a NOCOPY on its node only) or all are durable. Alone (no
 * MPI hook), the rounds follow each other until the bound. Returns 0 or
 * -ETIMEDOUT. */
static int ckpt_durable_wait(struct ckpt_session *s, int version)
{
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        double left = s->durable_wait - ckpt_elapsed(&start);
        double round =
            left < CKPT_DURABLE_ROUND_S ? left : CKPT_DURABLE_ROUND_S;
        int wrc =
            ckpt_store_keep_wait(s->store, version, round > 0 ? round : 0);
        int state = wrc == 0 ? 0 : wrc == -ETIMEDOUT && round < left ? 1 : 2;

        /* an agreement that failed leaves each rank its own state */
        ckpt_agree_max(&state);
        if (state != 1)
            return state == 0 ? 0 : -ETIMEDOUT;
    }
}

SHOAL_API int shoal_ckpt_commit(int valid)
{
    struct ckpt_session *s = &ckpt_session;
    int version = s->writing, local = 0, dropped, rc;

    if (s->phase != CKPT_PHASE_WRITING)
        return -EINVAL;
    if (valid)
        local = ckpt_store_commit(s->store, version);
    /* Every rank commits, or every rank drops the version. */
    dropped = !valid || local < 0;
    rc = ckpt_agree_max(&dropped);
    ckpt_routes_free(s);
    s->phase = CKPT_PHASE_IDLE;
    s->writing = 0;
    if (rc < 0 || dropped) {
        ckpt_store_remove(s->store, version);
        if (local < 0)
            return local;
        if (rc < 0)
            return rc;
        return valid ? -ECANCELED : 0;
    }
    s->floor = version;
    s->committed =
        ckpt_store_commit_time(s->store, version, &s->commit_at) == 0;
    clock_gettime(CLOCK_MONOTONIC, &s->since);
    /* what this checkpoint cost, for the runtime's choice of interval */
    ckpt_store_cost_write(s->store,
                          (double)(s->since.tv_sec - s->begun.tv_sec)
                              + (s->since.tv_nsec - s->begun.tv_nsec) / 1e9);
    rc = s->durable_wait > 0 ? ckpt_durable_wait(s, version) : 0;
    /* after the wait: KEEP pins the newest version with all its copies
     * until a newer one has them */
    ckpt_store_prune(s->store, 0);
    return rc;
}

/* Whether REQUEST is newer than this process's last commit. */
static bool ckpt_requested(const struct ckpt_session *s,
                           enum ckpt_request *kind)
{
    struct timespec at;

    if (ckpt_store_request(s->store, kind, &at) < 0
        || *kind == CKPT_REQUEST_NONE)
        return false;
    if (!s->committed)
        return true;
    if (at.tv_sec != s->commit_at.tv_sec)
        return at.tv_sec > s->commit_at.tv_sec;
    return at.tv_nsec >= s->commit_at.tv_nsec;
}

SHOAL_API int shoal_ckpt_need(int *flag)
{
    struct ckpt_session *s = &ckpt_session;
    enum ckpt_request kind;
    int want;

    if (s->phase == CKPT_PHASE_OFF || !flag)
        return -EINVAL;
    want = ckpt_requested(s, &kind);
    if (!want && s->interval > 0)
        want = ckpt_elapsed(&s->since) >= s->interval;
    *flag = want;
    return ckpt_agree_max(flag);
}

SHOAL_API int shoal_ckpt_should_exit(int *flag)
{
    struct ckpt_session *s = &ckpt_session;
    enum ckpt_request kind;

    if (s->phase == CKPT_PHASE_OFF || !flag)
        return -EINVAL;
    if (ckpt_store_request(s->store, &kind, NULL) < 0)
        kind = CKPT_REQUEST_NONE;
    *flag = kind == CKPT_REQUEST_EXIT;
    return ckpt_agree_max(flag);
}

SHOAL_API int shoal_ckpt_finalize(void)
{
    struct ckpt_session *s = &ckpt_session;

    if (s->phase == CKPT_PHASE_OFF)
        return -EINVAL;
    if (s->phase == CKPT_PHASE_WRITING)
        ckpt_store_remove(s->store, s->writing);
    ckpt_routes_free(s);
    ckpt_store_destroy(s->store);
    *s = (struct ckpt_session){0};
    return 0;
}
