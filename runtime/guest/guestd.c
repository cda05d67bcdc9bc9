/* SPDX-License-Identifier: MIT */
/* guestd.c - guest jobs' cgroups in the daemon: made, joined, removed. */
#include "runtime/guest/guestd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "runtime/guest/guest_cgroup.h"
#include "runtime/member/topo.h"
#include "util/log.h"
#include "util/param.h"

enum {
    /* a removed job's cgroup is tried again this often, this many times,
     * while its killed processes exit */
    GUESTD_RETRY_MS = 50,
    GUESTD_RETRIES = 200,
    /* a job's cgroup outlives its last process this long: the next task
     * of a job of short tasks finds it, rather than each task paying for
     * a cgroup made and removed */
    GUESTD_LINGER_MS = 1000,
};

/* The default share of memory. A guest job may use most of the machine,
 * but the owner keeps a fifth (on a 16 GiB workstation, 3 GiB: a desktop
 * session, a browser and the page cache of what they work on), and the
 * job is killed, not swapped, when it reaches its share, so the owner
 * never waits for their own pages to come back from swap. */
PARAM_DEFINE(guestd_memory_param,
             "guest_memory",
             PARAM_TYPE_STRING,
             "80%",
             "memory limit of each guest job on a node, and of all of them "
             "together: bytes with K, M, G or T, or a percentage of RAM");
PARAM_DEFINE(guestd_cpu_weight_param,
             "guest_cpu_weight",
             PARAM_TYPE_DOUBLE,
             "10",
             "CPU weight of guest jobs (1-10000; every other process has "
             "100): under contention the owner's processes go first");
PARAM_DEFINE(guestd_limits_param,
             "guest_limits",
             PARAM_TYPE_STRING,
             "on",
             "on: guest jobs run in a cgroup per job with their cores, CPU "
             "weight and memory limit, tasks with nice 10 and idle I/O; "
             "off: none of it");

struct guestd_member {
    struct guestd_member *next;
    uint64_t key;
    hwloc_bitmap_t pus; /* NULL: none in particular */
};

struct guestd_job {
    struct guestd_job *next;
    char name[GUEST_NAME_MAX + 1];
    struct guestd_member *members;
    bool alive;         /* its cgroup is made */
    uint64_t remove_at; /* no member since: removed then (loop ms); or 0 */
    int retries;        /* removals refused (EBUSY) so far */
};

struct guestd {
    daemon_t *d;
    guest_cgroup_t *cg;    /* NULL: limits off */
    hwloc_topology_t topo; /* NULL: not this machine's, no cpuset */
    uint64_t memory;
    unsigned cpu_weight;
    bool enabled;
    bool idle_cpu;
    char node_name[NODE_SUMMARY_HOSTNAME_MAX + 1];
    char *allowed_pus; /* the daemon's PUs, with a cpuset per job */
    struct guestd_job *jobs;
    uv_timer_t *timer; /* freed by its close callback */
    long long created, removed, oom_kills, join_failed, left_behind;
};

int guestd_config_from_params(struct guestd_config *config,
                              shoal_error_t *error)
{
    const char *limits;
    double weight;
    int rc;
    shoal_error_t why = {{0}};
    uint64_t bytes;

    memset(config, 0, sizeof(*config));
    config->memory = param_get_string(&guestd_memory_param);
    if (!config->memory
        || guest_size_parse(config->memory, 1ULL << 40, &bytes, &why) < 0)
        return shoal_errprintf(error, -EINVAL, "bad value '%s' for %s: %s",
                               config->memory ? config->memory : "",
                               param_env_name(&guestd_memory_param), why.text);
    rc = param_get_double(&guestd_cpu_weight_param, 1, &weight, error);
    if (rc < 0)
        return rc;
    if (weight > GUEST_CPU_WEIGHT_MAX || weight != (unsigned)weight)
        return shoal_errprintf(error, -EINVAL,
                               "bad value '%g' for %s: expected an integer "
                               "from 1 to 10000",
                               weight,
                               param_env_name(&guestd_cpu_weight_param));
    config->cpu_weight = (unsigned)weight;
    config->enabled = true;
    limits = param_get_string(&guestd_limits_param);
    if (!limits || (strcmp(limits, "on") && strcmp(limits, "off")))
        return shoal_errprintf(
            error, -EINVAL, "bad value '%s' for %s: expected on or off",
            limits ? limits : "", param_env_name(&guestd_limits_param));
    config->enabled = strcmp(limits, "on") == 0;
    return 0;
}

int guestd_config_set(struct guestd_config *config,
                      const char *limits,
                      const char *memory,
                      const char *cpu_weight,
                      shoal_error_t *error)
{
    shoal_error_t why;
    uint64_t bytes;

    if (limits) {
        if (strcmp(limits, "on") == 0)
            config->enabled = true;
        else if (strcmp(limits, "off") == 0)
            config->enabled = false;
        else
            return shoal_errprintf(error, -EINVAL,
                                   "bad value '%s' for option "
                                   "'--guest-limits': expected on or off",
                                   limits);
    }
    if (memory) {
        /* checked now, with any RAM size, so the typo is found at start */
        if (guest_size_parse(memory, 1ULL << 40, &bytes, &why) < 0)
            return shoal_errprintf(error, -EINVAL,
                                   "bad value '%s' for option "
                                   "'--guest-memory': %s",
                                   memory, why.text);
        config->memory = memory;
    }
    if (cpu_weight) {
        char *end;
        long v;

        errno = 0;
        v = strtol(cpu_weight, &end, 10);
        if (errno || end == cpu_weight || *end || v < 1
            || v > GUEST_CPU_WEIGHT_MAX)
            return shoal_errprintf(error, -EINVAL,
                                   "bad value '%s' for option "
                                   "'--guest-cpu-weight': expected an "
                                   "integer from 1 to 10000",
                                   cpu_weight);
        config->cpu_weight = (unsigned)v;
    }
    return 0;
}

/* ---- jobs ---- */

static struct guestd_job *guestd_find(struct guestd *g, const char *name)
{
    for (struct guestd_job *j = g->jobs; j; j = j->next)
        if (strcmp(j->name, name) == 0)
            return j;
    return NULL;
}

static void guestd_job_free(struct guestd *g, struct guestd_job *j)
{
    for (struct guestd_job **pp = &g->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    while (j->members) {
        struct guestd_member *m = j->members;
        j->members = m->next;
        hwloc_bitmap_free(m->pus);
        free(m);
    }
    free(j);
}

/* The union of the members' PUs, or NULL when one holds no cores in
 * particular (the job then has the parent's). Caller frees. */
static hwloc_bitmap_t guestd_job_pus(const struct guestd_job *j)
{
    hwloc_bitmap_t all = hwloc_bitmap_alloc();

    for (const struct guestd_member *m = j->members; all && m; m = m->next) {
        if (!m->pus) {
            hwloc_bitmap_free(all);
            return NULL;
        }
        hwloc_bitmap_or(all, all, m->pus);
    }
    return all;
}

/* The PUs (OS indexes) of logical cores, or NULL without a topology. */
static hwloc_bitmap_t guestd_pus_of(struct guestd *g,
                                    hwloc_const_bitmap_t cores)
{
    hwloc_bitmap_t pus;
    int c;

    if (!g->topo || !cores)
        return NULL;
    pus = hwloc_bitmap_alloc();
    hwloc_bitmap_foreach_begin(c, cores)
    {
        hwloc_obj_t core =
            hwloc_get_obj_by_type(g->topo, HWLOC_OBJ_CORE, (unsigned)c);
        if (core && pus)
            hwloc_bitmap_or(pus, pus, core->cpuset);
    }
    hwloc_bitmap_foreach_end();
    if (pus && hwloc_bitmap_iszero(pus)) {
        hwloc_bitmap_free(pus);
        return NULL;
    }
    return pus;
}

static bool guestd_active(const struct guestd *g)
{
    return g && g->cg
           && (guest_cgroup_backend(g->cg, GUEST_CTL_MEMORY)
               || guest_cgroup_backend(g->cg, GUEST_CTL_CPU)
               || guest_cgroup_backend(g->cg, GUEST_CTL_CPUSET));
}

int guestd_job_join(guestd_t *g,
                    const char *job,
                    uint64_t member,
                    hwloc_const_bitmap_t cores)
{
    struct guestd_job *j;
    struct guestd_member *m;
    hwloc_bitmap_t pus;
    shoal_error_t error;
    int rc;

    if (!guestd_active(g))
        return 0;
    j = guestd_find(g, job);
    if (!j) {
        j = calloc(1, sizeof(*j));
        if (!j)
            return -ENOMEM;
        snprintf(j->name, sizeof(j->name), "%s", job);
        j->next = g->jobs;
        g->jobs = j;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        if (!j->members)
            guestd_job_free(g, j);
        return -ENOMEM;
    }
    m->key = member;
    m->pus = guestd_pus_of(g, cores);
    m->next = j->members;
    j->members = m;
    pus = guestd_job_pus(j);
    j->remove_at = 0;
    j->retries = 0;
    if (!j->alive) {
        /* the first member: make the cgroup with its limits */
        struct guest_job_limits limits = {
            .memory = g->memory, .cpu_weight = g->cpu_weight, .pus = pus};
        rc = guest_cgroup_job_create(g->cg, job, &limits, &error);
        if (rc == 0) {
            g->created++;
            j->alive = true;
        }
    } else {
        rc = guest_cgroup_job_set_pus(g->cg, job, pus);
        if (rc < 0)
            shoal_errprintf(&error, rc, "cannot set the cpuset of '%s': %s",
                            job, strerror(-rc));
    }
    hwloc_bitmap_free(pus);
    if (rc < 0) {
        g->join_failed++;
        LOG(LOG_LEVEL_WARNING, LOG_GUEST, "job %s runs without its limits: %s",
            job, error.text);
        guestd_job_leave(g, job, member);
    }
    return rc;
}

static void guestd_retry_cb(uv_timer_t *timer);

/* Kill what is left in j's cgroup and remove it; while it is busy, the
 * timer tries again. */
static void guestd_job_remove(struct guestd *g, struct guestd_job *j)
{
    uint64_t kills;
    int rc;

    if (j->retries == 0 && j->alive
        && guest_cgroup_job_oom_kills(g->cg, j->name, &kills) == 0)
        g->oom_kills += (long long)kills;
    guest_cgroup_job_kill(g->cg, j->name);
    rc = guest_cgroup_job_remove(g->cg, j->name);
    if (rc == -EBUSY && j->retries++ < GUESTD_RETRIES)
        return;

    if (rc < 0) {
        g->left_behind++;
        LOG(LOG_LEVEL_WARNING, LOG_GUEST, "cannot remove the cgroup of %s: %s",
            j->name, strerror(-rc));
    } else {
        g->removed++;
    }
    guestd_job_free(g, j);
}

/* Remove the cgroups of the jobs without a member since their time. */
static void guestd_retry_cb(uv_timer_t *timer)
{
    struct guestd *g = timer->data;
    uint64_t now = uv_now(timer->loop);
    bool pending = false;

    for (struct guestd_job *j = g->jobs, *next; j; j = next) {
        next = j->next;
        if (j->members || !j->remove_at)
            continue;
        pending = true;
        if (now >= j->remove_at)
            guestd_job_remove(g, j);
    }
    if (!pending)
        uv_timer_stop(timer);
}

void guestd_job_leave(guestd_t *g, const char *job, uint64_t member)
{
    struct guestd_job *j = g ? guestd_find(g, job) : NULL;
    hwloc_bitmap_t pus;

    if (!j)
        return;
    for (struct guestd_member **pp = &j->members; *pp; pp = &(*pp)->next)
        if ((*pp)->key == member) {
            struct guestd_member *m = *pp;
            *pp = m->next;
            hwloc_bitmap_free(m->pus);
            free(m);
            break;
        }
    if (!j->members) {
        /* what the last process left behind goes now, the cgroup later */
        if (j->alive)
            guest_cgroup_job_kill(g->cg, j->name);
        j->remove_at = uv_now(daemon_loop(g->d)) + GUESTD_LINGER_MS;
        if (!uv_is_active((uv_handle_t *)g->timer))
            uv_timer_start(g->timer, guestd_retry_cb, GUESTD_RETRY_MS,
                           GUESTD_RETRY_MS);
        return;
    }
    pus = guestd_job_pus(j);
    guest_cgroup_job_set_pus(g->cg, job, pus);
    hwloc_bitmap_free(pus);
}

int guestd_job_add(guestd_t *g, const char *job, pid_t pid)
{
    int rc;

    if (!guestd_active(g) || !guestd_find(g, job))
        return 0;
    rc = guest_cgroup_job_add(g->cg, job, pid);
    if (rc < 0) {
        g->join_failed++;
        LOG(LOG_LEVEL_WARNING, LOG_GUEST,
            "cannot move pid %d into the cgroup of %s: %s", (int)pid, job,
            strerror(-rc));
    }
    return rc;
}

int guestd_job_procs_open(guestd_t *g, const char *job, int *fds, int max)
{
    if (!guestd_active(g) || !guestd_find(g, job))
        return 0;
    return guest_cgroup_job_procs_open(g->cg, job, fds, max);
}

int guestd_job_oom_kills(guestd_t *g, const char *job, uint64_t *count)
{
    if (!guestd_active(g) || !guestd_find(g, job))
        return -ENOTSUP;
    return guest_cgroup_job_oom_kills(g->cg, job, count);
}

int guestd_job_memory_dir(guestd_t *g, const char *job, char *buf, size_t size)
{
    if (!guestd_active(g) || !guestd_find(g, job))
        return -ENOTSUP;
    return guest_cgroup_job_dir(g->cg, job, GUEST_CTL_MEMORY, buf, size);
}

uint64_t guestd_memory_limit(const guestd_t *g)
{
    return guestd_active(g)
                   && guest_cgroup_backend(g->cg, GUEST_CTL_MEMORY)
                          != GUEST_BACKEND_NONE
               ? g->memory
               : 0;
}

const char *guestd_allowed_pus(const guestd_t *g)
{
    return guestd_active(g) ? g->allowed_pus : NULL;
}

const char *guestd_node_name(const guestd_t *g)
{
    return g ? g->node_name : "";
}

bool guestd_background(const guestd_t *g)
{
    return g && g->enabled;
}

bool guestd_idle_cpu(const guestd_t *g)
{
    return g && g->enabled && g->idle_cpu;
}

/* ---- the service ---- */

static void guestd_stats(daemon_t *d, json_t *stats, void *arg)
{
    struct guestd *g = arg;
    enum guest_backend b[GUEST_CTL_COUNT] = {0};
    const char *backend = "none";
    long long jobs = 0;
    json_t *o;

    (void)d;
    for (int i = 0; g->cg && i < GUEST_CTL_COUNT; i++) {
        b[i] = guest_cgroup_backend(g->cg, (enum guest_controller)i);
        if (b[i] == GUEST_BACKEND_NONE)
            continue;
        if (strcmp(backend, "none") == 0)
            backend = guest_backend_name(b[i]);
        else if (strcmp(backend, guest_backend_name(b[i])) != 0)
            backend = "mixed";
    }
    for (struct guestd_job *j = g->jobs; j; j = j->next)
        jobs += j->members != NULL;
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, "
                  "s:I, s:I, s:I, s:s}",
                  "limits", g->enabled ? "on" : "off", "backend", backend,
                  "memory", guest_backend_name(b[GUEST_CTL_MEMORY]), "cpu",
                  guest_backend_name(b[GUEST_CTL_CPU]), "cpuset",
                  guest_backend_name(b[GUEST_CTL_CPUSET]), "memory_limit",
                  (json_int_t)guestd_memory_limit(g), "cpu_weight",
                  (json_int_t)(b[GUEST_CTL_CPU] ? g->cpu_weight : 0),
                  "background", g->enabled ? "nice 10, idle I/O" : "no", "jobs",
                  (json_int_t)jobs, "created", (json_int_t)g->created,
                  "removed", (json_int_t)g->removed, "oom_kills",
                  (json_int_t)g->oom_kills, "join_failed",
                  (json_int_t)g->join_failed, "left_behind",
                  (json_int_t)g->left_behind, "not_enforced",
                  !g->enabled ? "everything: --guest-limits off"
                  : g->cg     ? guest_cgroup_missing(g->cg)
                              : "");
    if (o)
        json_object_set_new(stats, "guest", o);
}

static void free_handle_cb(uv_handle_t *handle)
{
    free(handle);
}

/* Read /proc/self/cgroup. Returns a string (caller frees) or NULL. */
static char *guestd_self_cgroup(void)
{
    char *buf = calloc(1, 8192);
    FILE *f = fopen("/proc/self/cgroup", "re");
    size_t n;

    if (!buf || !f) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, 8191, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* This node's member name, else its host name. */
static void guestd_find_name(struct guestd *g)
{
    struct daemon_member *members = NULL;
    size_t n = 0;

    snprintf(g->node_name, sizeof(g->node_name), "%s",
             daemon_summary(g->d)->hostname);
    if (daemon_members(g->d, &members, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (members[i].self)
            snprintf(g->node_name, sizeof(g->node_name), "%s", members[i].name);
    free(members);
}

int guestd_attach(daemon_t *d,
                  const struct guestd_config *config,
                  guestd_t **out,
                  shoal_error_t *error)
{
    struct guestd *g = calloc(1, sizeof(*g));
    struct guest_cgroup_config cc = {0};
    char name[17], *self_cgroup = NULL;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t ram = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    shoal_error_t why;
    int rc = -ENOMEM;

    if (!g || !(g->timer = calloc(1, sizeof(*g->timer))))
        goto error;
    g->d = d;
    g->enabled = config->enabled;
    g->idle_cpu = config->idle_cpu;
    guestd_find_name(g);
    g->cpu_weight = config->cpu_weight;
    uv_timer_init(daemon_loop(d), g->timer);
    uv_unref((uv_handle_t *)g->timer);
    g->timer->data = g;
    if ((rc = daemon_on_stats(d, guestd_stats, g)) < 0)
        goto error;
    if (!g->enabled) {
        LOG(LOG_LEVEL_NOTICE, LOG_GUEST,
            "guest limits off: jobs run in the daemon's cgroup, without "
            "cpuset, CPU weight or memory limit");
        *out = g;
        return 0;
    }
    if (config->memory) {
        rc = guest_size_parse(config->memory, ram, &g->memory, &why);
        if (rc < 0) {
            rc = shoal_errprintf(error, rc, "%s", why.text);
            goto fail;
        }
    }
    /* cores are bound only where the topology is this machine's */
    if (topo_load(getenv("SHOAL_TOPOLOGY"), &g->topo, &why) == 0
        && !topo_is_this_system(g->topo)) {
        hwloc_topology_destroy(g->topo);
        g->topo = NULL;
    }
    self_cgroup = guestd_self_cgroup();
    snprintf(name, sizeof(name), "%016" PRIx64, daemon_node_id(d));
    cc.root = config->root ? config->root : "/sys/fs/cgroup";
    cc.self_cgroup = self_cgroup ? self_cgroup : "";
    cc.name = name;
    cc.self = getpid();
    cc.move_self = true;
    cc.memory = g->memory;
    cc.cpu_weight = g->cpu_weight;
    rc = guest_cgroup_open(&cc, &g->cg, error);
    free(self_cgroup);
    if (rc < 0)
        goto fail;
    if (g->topo
        && guest_cgroup_backend(g->cg, GUEST_CTL_CPUSET) != GUEST_BACKEND_NONE)
        hwloc_bitmap_list_asprintf(&g->allowed_pus,
                                   hwloc_topology_get_allowed_cpuset(g->topo));
    if (!g->topo
        && guest_cgroup_backend(g->cg, GUEST_CTL_CPUSET) != GUEST_BACKEND_NONE)
        LOG(LOG_LEVEL_NOTICE, LOG_GUEST,
            "guest jobs' cores not enforced: the topology is not this "
            "machine's (SHOAL_TOPOLOGY)");
    if (guest_cgroup_missing(g->cg)[0])
        LOG(LOG_LEVEL_NOTICE, LOG_GUEST,
            "guest jobs run without some limits; not enforced: %s",
            guest_cgroup_missing(g->cg));
    LOG(LOG_LEVEL_INFO, LOG_GUEST,
        "guest jobs: memory %s (%" PRIu64 " MiB), cpu weight %s (%u), "
        "cpuset %s",
        guest_backend_name(guest_cgroup_backend(g->cg, GUEST_CTL_MEMORY)),
        g->memory >> 20,
        guest_backend_name(guest_cgroup_backend(g->cg, GUEST_CTL_CPU)),
        g->cpu_weight,
        guest_backend_name(guest_cgroup_backend(g->cg, GUEST_CTL_CPUSET)));
    *out = g;
    return 0;
error:
    rc = shoal_errprintf(error, rc, "cannot set up guest limits: %s",
                         strerror(-rc));
fail:
    if (g && g->timer) {
        uv_close((uv_handle_t *)g->timer, free_handle_cb);
        g->timer = NULL;
    }
    if (g && g->topo)
        hwloc_topology_destroy(g->topo);
    free(g);
    return rc;
}

void guestd_detach(guestd_t *g)
{
    if (!g)
        return;
    /* a job still running ends the way it would without cgroups (its
     * proxy got SIGTERM, its ranks the grace period): its cgroup is left,
     * and the next start of this daemon empties and removes it */
    while (g->jobs) {
        struct guestd_job *j = g->jobs;
        if (guest_cgroup_job_remove(g->cg, j->name) < 0)
            LOG(LOG_LEVEL_INFO, LOG_GUEST,
                "the cgroup of %s is left while its processes end", j->name);
        guestd_job_free(g, j);
    }
    guest_cgroup_close(g->cg);
    free(g->allowed_pus);
    uv_close((uv_handle_t *)g->timer, free_handle_cb);
    if (g->topo)
        hwloc_topology_destroy(g->topo);
    free(g);
}
