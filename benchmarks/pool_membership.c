/* SPDX-License-Identifier: MIT */
/* pool_membership.c - membership of real daemons on loopback ports:
 * convergence and node-loss detection, against the simulation.
 *
 * For each pool size N, N `shoal daemon run` processes are started as
 * fast as fork allows, each with its own directory and 127.0.0.1 port,
 * all joining through the first. We measure:
 *
 * - convergence: from the first fork until every daemon lists all N
 *   alive, and from the first daemon's start (its member table's
 *   creation), which leaves out exec and set-up;
 * - detection: a random daemon (never the seed) is sent SIGKILL; the
 *   time until the first other daemon lists it dead, and until all do.
 *   It is then restarted in its directory (same node id), the pool is
 *   let converge again, and the next kill follows; medians are reported.
 *
 * Polling every daemon often would cost the CPU the daemons need, so
 * only a sample of four is polled; when the sample agrees, every daemon
 * is asked once. The times are exact all the same: `status` gives each
 * member's age in its state, so a daemon's query answers when it saw a
 * member become alive (or dead), not merely that it has.
 *
 * The reference, measured in the same run, is the simulated pool of
 * the membership simulator with the same size, tunables and start spacing (the real
 * daemons' starts spread evenly; 1-5 ms latency, no loss), convergence
 * counted from the first start in both: ratio = real / simulated. The bound the
 * tunables promise for first detection (two probe intervals and the suspicion
 * timeout) is printed beside it.
 *
 * usage: bench-pool-membership [-r KILLS] [-n SIZE]... SHOAL
 * Prints one JSON object per measurement, then a table. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "benchmarks/bench.h"
#include "runtime/daemon/control.h"
#include "runtime/member/member.h"
#include "runtime/member/member_sim.h"

enum {
    BENCH_MAX_SIZES = 8,
    BENCH_MAX_KILLS = 51,
    BENCH_SAMPLE = 4,
    BENCH_POLL_MS = 50,
    BENCH_CONVERGE_TIMEOUT_S = 120,
    BENCH_DETECT_TIMEOUT_S = 30,
};

struct bench_daemon {
    pid_t pid;
    char dir[256];
    int port;
};

struct bench_pool {
    const char *shoal;
    char top[128]; /* temporary directory of the run */
    char key[256];
    size_t n;
    int base_port;
    struct bench_daemon *d;
};

/* The pool being measured, for the signal handler's cleanup. */
static struct bench_pool *bench_current;

static void bench_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- real daemons ---- */

static pid_t bench_spawn(struct bench_pool *p, size_t i)
{
    struct bench_daemon *d = &p->d[i];
    char listen[64], join[64], name[32], log[300];
    pid_t pid;

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
    snprintf(join, sizeof(join), "127.0.0.1:%d", p->base_port);
    snprintf(name, sizeof(name), "n%zu", i);
    snprintf(log, sizeof(log), "%s.log", d->dir);
    pid = fork();
    if (pid != 0)
        return pid;
    /* the daemons never outlive the benchmark, however it ends */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null < 0 || out < 0)
        _exit(127);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (i == 0)
        execl(p->shoal, p->shoal, "daemon", "run", "--dir", d->dir, "--key",
              p->key, "--listen", listen, "--name", name, (char *)NULL);
    else
        execl(p->shoal, p->shoal, "daemon", "run", "--dir", d->dir, "--key",
              p->key, "--listen", listen, "--name", name, "--join", join,
              (char *)NULL);
    _exit(127);
}

static void bench_kill_all(struct bench_pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->d[i].pid > 0)
            kill(p->d[i].pid, SIGKILL);
    for (size_t i = 0; i < p->n; i++)
        if (p->d[i].pid > 0) {
            waitpid(p->d[i].pid, NULL, 0);
            p->d[i].pid = 0;
        }
}

static void bench_on_signal(int sig)
{
    if (bench_current)
        for (size_t i = 0; i < bench_current->n; i++)
            if (bench_current->d[i].pid > 0)
                kill(bench_current->d[i].pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int bench_system(const char *cmd)
{
    int rc = system(cmd);

    return rc == 0 ? 0 : -1;
}

/* Ask daemon i for its status. Returns the reply (caller decrefs), or
 * NULL; *mid is the time halfway through the request. */
static json_t *bench_status(struct bench_pool *p, size_t i, double *mid)
{
    char path[300];
    json_t *req, *reply = NULL;
    double sent;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/control.sock", p->d[i].dir);
    if (control_client_connect(path, &fd, NULL) < 0)
        return NULL;
    req = json_pack("{s:s}", "op", "status");
    sent = bench_now();
    rc = control_client_request(fd, req, 5000, &reply, NULL);
    *mid = (sent + bench_now()) / 2;
    json_decref(req);
    close(fd);
    return rc < 0 ? NULL : reply;
}

/* When daemon i saw its last member become alive, if it lists all N
 * alive: 1 and *when set, and *up to when the daemon started (its own
 * record's age); 0 if not yet; -1 if it does not answer. */
static int
bench_converged_at(struct bench_pool *p, size_t i, double *when, double *up)
{
    double mid;
    json_t *reply = bench_status(p, i, &mid);
    json_t *members, *m;
    size_t k, alive = 0;
    double last = 0;

    if (!reply)
        return -1;
    members = json_object_get(reply, "members");
    json_array_foreach(members, k, m)
    {
        const char *state = json_string_value(json_object_get(m, "state"));
        double age = (double)json_integer_value(json_object_get(m, "age_ms"));

        if (json_is_true(json_object_get(m, "self")))
            *up = mid - age * 1e-3;
        if (!state || strcmp(state, "alive") != 0)
            continue;
        alive++;
        if (mid - age * 1e-3 > last)
            last = mid - age * 1e-3;
    }
    json_decref(reply);
    if (alive != p->n)
        return 0;
    *when = last;
    return 1;
}

/* When daemon i saw node victim (by name) die: 1 and *when, 0 if it has
 * not, -1 if it does not answer. */
static int
bench_dead_at(struct bench_pool *p, size_t i, const char *victim, double *when)
{
    double mid;
    json_t *reply = bench_status(p, i, &mid);
    json_t *members, *m;
    size_t k;
    int rc = 0;

    if (!reply)
        return -1;
    members = json_object_get(reply, "members");
    json_array_foreach(members, k, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *state = json_string_value(json_object_get(m, "state"));

        if (name && state && strcmp(name, victim) == 0
            && strcmp(state, "dead") == 0) {
            *when = mid
                    - (double)json_integer_value(json_object_get(m, "age_ms"))
                          * 1e-3;
            rc = 1;
        }
    }
    json_decref(reply);
    return rc;
}

/* Whether a daemon has exited (a failed start: port in use, ...). */
static bool bench_any_exited(struct bench_pool *p)
{
    for (size_t i = 0; i < p->n; i++) {
        int status;

        if (p->d[i].pid > 0 && waitpid(p->d[i].pid, &status, WNOHANG) > 0) {
            char cmd[400];

            /* its directory goes at the end of the run: show its log */
            fprintf(stderr,
                    "bench-pool-membership: daemon n%zu exited (status "
                    "0x%x); the end of its log:\n",
                    i, (unsigned)status);
            snprintf(cmd, sizeof(cmd), "tail -n 5 '%s.log' >&2", p->d[i].dir);
            bench_system(cmd);
            p->d[i].pid = 0;
            return true;
        }
    }
    return false;
}

/* Wait until every daemon lists all N alive; return the time the last
 * one saw its last member come alive, or < 0 on timeout or when a
 * daemon exits. *first_up and *last_up (may be NULL) are set to when the
 * first and the last daemon started. */
static double bench_wait_converged(struct bench_pool *p,
                                   double deadline,
                                   double *first_up,
                                   double *last_up)
{
    size_t sample[BENCH_SAMPLE] = {0, p->n / 3, 2 * p->n / 3, p->n - 1};

    while (bench_now() < deadline) {
        bool all = true;
        double when = 0, last = 0, up = 0, up_min = 1e300, up_max = 0;

        if (bench_any_exited(p))
            return -1;
        for (int s = 0; s < BENCH_SAMPLE && all; s++)
            all = bench_converged_at(p, sample[s], &when, &up) == 1;
        for (size_t i = 0; i < p->n && all; i++) {
            all = bench_converged_at(p, i, &when, &up) == 1;
            if (when > last)
                last = when;
            if (up < up_min)
                up_min = up;
            if (up > up_max)
                up_max = up;
        }
        if (all && first_up)
            *first_up = up_min;
        if (all && last_up)
            *last_up = up_max;
        if (all)
            return last;
        bench_sleep_ms(BENCH_POLL_MS);
    }
    return -1;
}

/* Kill victim; set *first and *all to the seconds until the first and
 * the last other daemon declared it dead. Returns 0, or -1 on timeout. */
static int
bench_detect(struct bench_pool *p, size_t victim, double *first, double *all)
{
    char name[32];
    double killed, deadline, when;
    double *seen = calloc(p->n, sizeof(double));
    size_t sample[BENCH_SAMPLE] = {0, 1 + victim % (p->n - 1),
                                   1 + (victim + p->n / 2) % (p->n - 1),
                                   p->n - 1 == victim ? p->n - 2 : p->n - 1};
    int rc = -1;

    snprintf(name, sizeof(name), "n%zu", victim);
    killed = bench_now();
    kill(p->d[victim].pid, SIGKILL);
    waitpid(p->d[victim].pid, NULL, 0);
    p->d[victim].pid = 0;
    deadline = killed + BENCH_DETECT_TIMEOUT_S;
    /* the sample first, then everyone, each until it has seen the death */
    for (int s = 0; s < BENCH_SAMPLE && bench_now() < deadline; s++) {
        if (sample[s] == victim)
            continue;
        while (bench_dead_at(p, sample[s], name, &when) != 1
               && bench_now() < deadline)
            bench_sleep_ms(BENCH_POLL_MS / 2);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (i == victim)
            continue;
        while (bench_dead_at(p, i, name, &seen[i]) != 1) {
            if (bench_now() >= deadline)
                goto out;
            bench_sleep_ms(BENCH_POLL_MS);
        }
    }
    *first = 1e9;
    *all = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (i == victim)
            continue;
        if (seen[i] - killed < *first)
            *first = seen[i] - killed;
        if (seen[i] - killed > *all)
            *all = seen[i] - killed;
    }
    rc = 0;
out:
    free(seen);
    return rc;
}

/* ---- the simulated reference ---- */

struct bench_sim_detect {
    size_t victim;
    uint64_t first_dead;
};

static void bench_sim_event(size_t observer,
                            enum member_event_kind kind,
                            const struct member_info *member,
                            uint64_t now,
                            void *arg)
{
    struct bench_sim_detect *d = arg;

    (void)observer;
    if (kind == MEMBER_EVENT_DEAD && (size_t)member->id - 1 == d->victim
        && !d->first_dead)
        d->first_dead = now;
}

static bool bench_sim_all_know(member_sim_t *sim, void *arg)
{
    size_t victim = *(size_t *)arg;

    for (size_t i = 0; i < member_sim_size(sim); i++)
        if (i != victim && member_sim_running(sim, i)
            && !member_sim_sees(sim, i, victim, MEMBER_DEAD))
            return false;
    return true;
}

struct bench_sim_result {
    double converge_ms;
    double first_ms, all_ms; /* medians */
};

/* The same pool in simulation: nodes started spacing_ms apart, then
 * kills victims[0..kills), each restarted before the next. */
static void bench_simulate(size_t n,
                           double spacing_ms,
                           const size_t *victims,
                           int kills,
                           struct bench_sim_result *out)
{
    struct member_sim_config config = {
        .nodes = n,
        .latency_min_ms = 1,
        .latency_max_ms = 5,
        .seed = 3000 + n,
        .payload_len = 96,
    };
    struct bench_sim_detect d = {0};
    double first[BENCH_MAX_KILLS], all[BENCH_MAX_KILLS];
    int nfirst = 0, nall = 0;
    member_sim_t *sim = NULL;
    uint64_t start;

    member_tunables_default(&config.tunables);
    if (member_sim_create(&config, &sim) < 0) {
        fprintf(stderr, "bench-pool-membership: out of memory\n");
        exit(1);
    }
    member_sim_on_event(sim, bench_sim_event, &d);
    start = member_sim_now(sim);
    member_sim_start(sim, 0, 0, 0);
    for (size_t i = 1; i < n; i++) {
        member_sim_run(sim, start + (uint64_t)(spacing_ms * (double)i));
        member_sim_start(sim, i, 0, 0);
    }
    out->converge_ms =
        member_sim_run_until(sim, start + 120000, member_sim_converged, NULL)
            ? (double)(member_sim_now(sim) - start)
            : -1;
    member_sim_run(sim, member_sim_now(sim) + 1000);
    for (int r = 0; r < kills; r++) {
        size_t victim = victims[r];
        uint64_t killed = member_sim_now(sim);

        d.victim = victim;
        d.first_dead = 0;
        member_sim_kill(sim, victim);
        if (member_sim_run_until(sim, killed + 30000, bench_sim_all_know,
                                 &victim))
            all[nall++] = (double)(member_sim_now(sim) - killed);
        if (d.first_dead)
            first[nfirst++] = (double)(d.first_dead - killed);
        member_sim_start(sim, victim, 0, 0);
        member_sim_run_until(sim, member_sim_now(sim) + 30000,
                             member_sim_converged, NULL);
        member_sim_run(sim, member_sim_now(sim) + 1000);
    }
    out->first_ms = bench_median(first, nfirst);
    out->all_ms = bench_median(all, nall);
    member_sim_destroy(sim);
}

/* ---- one pool size ---- */

struct bench_row {
    size_t nodes;
    double spawn_ms;         /* forking them all */
    double up_ms;            /* until the last daemon's member table started */
    double up_spread_ms;     /* from the first daemon's start to the last's */
    double gossip_ms;        /* convergence from the first daemon's start */
    double converge_ms;      /* from the first fork */
    double first_ms, all_ms; /* medians over the kills */
    int kills_ok;
    double bound_ms;
    struct bench_sim_result sim;
};

static int bench_size(const char *shoal,
                      size_t n,
                      int kills,
                      int port_base,
                      struct bench_row *row)
{
    struct bench_pool p = {.shoal = shoal, .n = n, .base_port = port_base};
    size_t victims[BENCH_MAX_KILLS];
    double first[BENCH_MAX_KILLS], all[BENCH_MAX_KILLS];
    double t0, spawned, converged, first_up = 0, last_up = 0;
    uint64_t rng = 777 + n;
    char cmd[600];
    int rc = -1;

    snprintf(p.top, sizeof(p.top), "/tmp/shoal-bench-pool-XXXXXX");
    if (!mkdtemp(p.top)) {
        perror("bench-pool-membership: mkdtemp");
        return -1;
    }
    snprintf(p.key, sizeof(p.key), "%s/pool.key", p.top);
    snprintf(cmd, sizeof(cmd), "'%s' keygen -o '%s'", shoal, p.key);
    p.d = calloc(n, sizeof(*p.d));
    if (!p.d || bench_system(cmd) < 0) {
        fprintf(stderr, "bench-pool-membership: cannot make a key\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(p.d[i].dir, sizeof(p.d[i].dir), "%s/d%zu", p.top, i);
        p.d[i].port = port_base + (int)i;
    }
    bench_current = &p;

    t0 = bench_now();
    for (size_t i = 0; i < n; i++)
        p.d[i].pid = bench_spawn(&p, i);
    spawned = bench_now();
    converged = bench_wait_converged(&p, t0 + BENCH_CONVERGE_TIMEOUT_S,
                                     &first_up, &last_up);
    row->nodes = n;
    row->spawn_ms = (spawned - t0) * 1e3;
    row->converge_ms = converged > 0 ? (converged - t0) * 1e3 : -1;
    row->up_ms = converged > 0 ? (last_up - t0) * 1e3 : -1;
    row->up_spread_ms = converged > 0 ? (last_up - first_up) * 1e3 : -1;
    row->gossip_ms = converged > 0 ? (converged - first_up) * 1e3 : -1;
    printf("{\"bench\":\"pool_membership\",\"measure\":\"convergence\","
           "\"nodes\":%zu,\"converged\":%s,\"spawn_ms\":%.0f,"
           "\"all_up_ms\":%.0f,\"up_spread_ms\":%.0f,"
           "\"from_first_up_ms\":%.0f,\"time_ms\":%.0f}\n",
           n, converged > 0 ? "true" : "false", row->spawn_ms, row->up_ms,
           row->up_spread_ms, row->gossip_ms, row->converge_ms);
    fflush(stdout);
    if (converged < 0)
        goto out;

    for (int r = 0; r < kills; r++) {
        size_t victim;

        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        victim = 1 + (size_t)((rng >> 33) % (n - 1));
        victims[r] = victim;
        bench_sleep_ms(1000);
        if (bench_detect(&p, victim, &first[row->kills_ok], &all[row->kills_ok])
            == 0) {
            printf("{\"bench\":\"pool_membership\",\"measure\":\"kill\","
                   "\"nodes\":%zu,\"victim\":\"n%zu\",\"first_dead_ms\":%.0f,"
                   "\"all_dead_ms\":%.0f}\n",
                   n, victim, first[row->kills_ok] * 1e3,
                   all[row->kills_ok] * 1e3);
            row->kills_ok++;
        } else {
            printf("{\"bench\":\"pool_membership\",\"measure\":\"kill\","
                   "\"nodes\":%zu,\"victim\":\"n%zu\",\"detected\":false}\n",
                   n, victim);
        }
        fflush(stdout);
        /* bring it back, so that the pool keeps its size */
        p.d[victim].pid = bench_spawn(&p, victim);
        if (bench_wait_converged(&p, bench_now() + BENCH_CONVERGE_TIMEOUT_S,
                                 NULL, NULL)
            < 0) {
            fprintf(stderr, "bench-pool-membership: n%zu did not rejoin\n",
                    victim);
            kills = r + 1;
            break;
        }
    }
    row->first_ms = bench_median(first, row->kills_ok) * 1e3;
    row->all_ms = bench_median(all, row->kills_ok) * 1e3;

    bench_simulate(n, row->up_spread_ms / (double)(n - 1), victims, kills,
                   &row->sim);
    printf("{\"bench\":\"pool_membership\",\"measure\":\"detection\","
           "\"nodes\":%zu,\"kills\":%d,\"detected\":%d,"
           "\"first_dead_median_ms\":%.0f,\"all_dead_median_ms\":%.0f,"
           "\"bound_ms\":%.0f,\"sim_converge_ms\":%.0f,"
           "\"sim_first_dead_ms\":%.0f,\"sim_all_dead_ms\":%.0f,"
           "\"ratio_converge_vs_sim\":%.2f,\"ratio_first_vs_sim\":%.2f,"
           "\"ratio_all_vs_sim\":%.2f,\"ratio_first_vs_bound\":%.2f}\n",
           n, kills, row->kills_ok, row->first_ms, row->all_ms, row->bound_ms,
           row->sim.converge_ms, row->sim.first_ms, row->sim.all_ms,
           row->gossip_ms / row->sim.converge_ms,
           row->first_ms / row->sim.first_ms, row->all_ms / row->sim.all_ms,
           row->first_ms / row->bound_ms);
    fflush(stdout);
    rc = 0;
out:
    bench_kill_all(&p);
    bench_current = NULL;
    free(p.d);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p.top);
    bench_system(cmd);
    return rc;
}

int main(int argc, char **argv)
{
    size_t sizes[BENCH_MAX_SIZES] = {16, 64};
    int nsizes = 2, nsized = 0;
    int kills = 5;
    struct bench_row rows[BENCH_MAX_SIZES];
    struct member_tunables tun;
    int opt, port_base;

    while ((opt = getopt(argc, argv, "r:n:")) != -1) {
        if (opt == 'r') {
            kills = atoi(optarg);
        } else if (opt == 'n' && nsized < BENCH_MAX_SIZES) {
            sizes[nsized++] = (size_t)atoi(optarg);
            nsizes = nsized;
        } else {
            goto usage;
        }
    }
    if (argc - optind != 1)
        goto usage;
    if (kills < 1 || kills > BENCH_MAX_KILLS) {
        fprintf(stderr, "bench-pool-membership: KILLS must be 1 to %d\n",
                BENCH_MAX_KILLS);
        return 2;
    }
    for (int i = 0; i < nsizes; i++)
        if (sizes[i] < 3 || sizes[i] > 1000) {
            fprintf(stderr, "bench-pool-membership: SIZE must be 3 to 1000\n");
            return 2;
        }
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
    signal(SIGHUP, bench_on_signal);
    /* every daemon's CPU is the same: skip measuring it N times */
    setenv("SHOAL_SPEED", "1000", 1);
    /* ports of this run, away from those of a parallel run and below the
     * ephemeral range (32768-), where the daemons' own connections could
     * take a port before a late daemon binds it */
    port_base = 21000 + (int)(getpid() % 10) * 1100;
    member_tunables_default(&tun);

    for (int i = 0; i < nsizes; i++) {
        double n = (double)sizes[i];

        memset(&rows[i], 0, sizeof(rows[i]));
        rows[i].bound_ms = 2.0 * tun.probe_interval_ms
                           + tun.suspicion_timeout_ms * (n > 10 ? log10(n) : 1);
        if (bench_size(argv[optind], sizes[i], kills, port_base, &rows[i]) < 0)
            rows[i].converge_ms = -1;
    }

    printf("\npool membership (real daemons on loopback, default tunables, "
           "medians of %d kills; sim = the membership simulator, same size and spacing)\n",
           kills);
    printf("%6s %8s %9s %9s %7s %11s %10s %7s %8s %6s\n", "nodes", "all up",
           "converge", "from up", "/sim", "first dead", "all dead", "/sim",
           "bound", "/bound");
    for (int i = 0; i < nsizes; i++) {
        const struct bench_row *r = &rows[i];

        if (r->converge_ms < 0) {
            printf("%6zu  did not converge (a daemon failed, or %d s "
                   "passed)\n",
                   r->nodes, BENCH_CONVERGE_TIMEOUT_S);
            continue;
        }
        printf("%6zu %6.0fms %7.0fms %7.0fms %7.2f %9.0fms %8.0fms %7.2f "
               "%6.0fms %6.2f%s\n",
               r->nodes, r->up_ms, r->converge_ms, r->gossip_ms,
               r->gossip_ms / r->sim.converge_ms, r->first_ms, r->all_ms,
               r->all_ms / r->sim.all_ms, r->bound_ms,
               r->first_ms / r->bound_ms,
               r->kills_ok < kills ? "  (some kills not detected)" : "");
        printf("%6s %8s %9s %7.0fms %7s %9.0fms %8.0fms   (simulated)\n", "sim",
               "", "", r->sim.converge_ms, "", r->sim.first_ms, r->sim.all_ms);
    }
    printf("all up: from the first fork until the last daemon started its "
           "member table\n"
           "converge: from the first fork until every daemon lists all "
           "alive; from up: the same from the first daemon's start\n"
           "first/all dead: ms from SIGKILL until the first / last other "
           "daemon declared it dead\n");
    return 0;

usage:
    fprintf(stderr,
            "usage: bench-pool-membership [-r KILLS] [-n SIZE]... SHOAL\n");
    return 2;
}
