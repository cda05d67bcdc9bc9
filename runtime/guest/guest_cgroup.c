/* SPDX-License-Identifier: MIT */
/* guest_cgroup.c - per-job cgroups of guest jobs, v2 or v1 per controller. */
#include "runtime/guest/guest_cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    GUEST_FILE_MAX = 64 * 1024, /* the largest control file read */
    GUEST_KILL_ROUNDS = 16,
    GUEST_MISSING_MAX = 1024,
};

struct guest_ctl_state {
    enum guest_backend backend;
    char own[PATH_MAX];  /* the daemon's cgroup directory */
    char base[PATH_MAX]; /* OWN/shoal/NAME */
};

struct guest_cgroup {
    struct guest_ctl_state ctl[GUEST_CTL_COUNT];
    char missing[GUEST_MISSING_MAX];
};

static const char *const guest_ctl_names[GUEST_CTL_COUNT] = {
    [GUEST_CTL_MEMORY] = "memory",
    [GUEST_CTL_CPU] = "cpu",
    [GUEST_CTL_CPUSET] = "cpuset",
};

/* What each controller enforces, for the missing text. */
static const char *const guest_ctl_what[GUEST_CTL_COUNT] = {
    [GUEST_CTL_MEMORY] = "memory limit",
    [GUEST_CTL_CPU] = "CPU weight",
    [GUEST_CTL_CPUSET] = "granted cores (cpuset)",
};

const char *guest_controller_name(enum guest_controller ctl)
{
    return ctl < GUEST_CTL_COUNT ? guest_ctl_names[ctl] : "?";
}

const char *guest_backend_name(enum guest_backend backend)
{
    switch (backend) {
    case GUEST_BACKEND_V1:
        return "v1";
    case GUEST_BACKEND_V2:
        return "v2";
    default:
        return "none";
    }
}

/* ---- pure parts ---- */

int guest_size_parse(const char *text,
                     uint64_t ram,
                     uint64_t *bytes,
                     shoal_error_t *error)
{
    char *end;
    double v;
    double scale = 1;

    if (!text || !*text || isspace((unsigned char)text[0]) || text[0] == '-')
        goto bad;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v <= 0)
        goto bad;
    if (*end == '%') {
        if (end[1] || v > 100)
            goto bad;
        v = v / 100 * (double)ram;
        if (v < 1)
            goto bad;
        *bytes = (uint64_t)v;
        return 0;
    }
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        scale = 1024.0;
        break;
    case 'M':
        scale = 1024.0 * 1024;
        break;
    case 'G':
        scale = 1024.0 * 1024 * 1024;
        break;
    case 'T':
        scale = 1024.0 * 1024 * 1024 * 1024;
        break;
    default:
        goto bad;
    }
    if (*end) {
        end++;
        if (toupper((unsigned char)*end) == 'I')
            end++;
        if (toupper((unsigned char)*end) == 'B')
            end++;
    }
    if (*end || v * scale >= 18446744073709551615.0 || v * scale < 1)
        goto bad;
    *bytes = (uint64_t)(v * scale);
    return 0;
bad:
    return shoal_errprintf(error, -EINVAL,
                           "bad memory size '%s': expected bytes with an "
                           "optional K, M, G or T, or a percentage of RAM "
                           "such as 80%%",
                           text ? text : "");
}

unsigned guest_cpu_shares(unsigned weight)
{
    unsigned long shares = (unsigned long)weight * 1024 / 100;

    return shares < 2 ? 2 : (unsigned)shares;
}

int guest_self_path(const char *proc_cgroup,
                    const char *controller,
                    char *path,
                    size_t size)
{
    const char *line = proc_cgroup;

    while (line && *line) {
        const char *eol = strchr(line, '\n');
        const char *c1 = strchr(line, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        bool match = false;

        if (c1 && c2 && (size_t)(c2 - line) < len) {
            const char *list = c1 + 1;
            size_t list_len = (size_t)(c2 - list);

            if (!controller) {
                match = (c1 - line) == 1 && line[0] == '0' && list_len == 0;
            } else {
                /* a comma list such as "cpu,cpuacct" */
                size_t n = strlen(controller);
                for (const char *p = list; p < c2;) {
                    const char *comma = memchr(p, ',', (size_t)(c2 - p));
                    size_t item =
                        comma ? (size_t)(comma - p) : (size_t)(c2 - p);
                    if (item == n && memcmp(p, controller, n) == 0)
                        match = true;
                    p += item + 1;
                }
            }
            if (match) {
                size_t plen = len - (size_t)(c2 + 1 - line);
                if (plen + 1 > size)
                    return -ENAMETOOLONG;
                memcpy(path, c2 + 1, plen);
                path[plen] = '\0';
                return 0;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return -ENOENT;
}

int guest_oom_kills_parse(const char *text, uint64_t *count)
{
    const char *line = text;

    while (line && *line) {
        unsigned long long v;
        char key[32];

        if (sscanf(line, "%31s %llu", key, &v) == 2
            && strcmp(key, "oom_kill") == 0) {
            *count = v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -ENOENT;
}

/* ---- files ---- */

/* Read a small file into buf (NUL-terminated). Returns the length or a
 * negative errno. */
static ssize_t guest_read(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0)
        return -errno;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Write text to a control file. cgroup.procs is opened for appending, so
 * a made-up tree keeps every pid written; the kernel ignores both flags. */
static int guest_write(const char *path, const char *text)
{
    bool append = strstr(path, "cgroup.procs") != NULL;
    int fd = open(
        path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
        0644);
    size_t len = strlen(text);
    ssize_t n;
    int rc = 0;

    if (fd < 0)
        return -errno;
    n = write(fd, text, len);
    if (n < 0)
        rc = -errno;
    else if ((size_t)n != len)
        rc = -EIO;
    close(fd);
    return rc;
}

static int guest_path(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Write text to dir/file. */
static int guest_set(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX + 64];
    int rc = guest_path(path, sizeof(path), dir, file);

    return rc < 0 ? rc : guest_write(path, text);
}

static int guest_get(const char *dir, const char *file, char *buf, size_t size)
{
    char path[PATH_MAX + 64];
    int rc = guest_path(path, sizeof(path), dir, file);
    ssize_t n;

    if (rc < 0)
        return rc;
    n = guest_read(path, buf, size);
    return n < 0 ? (int)n : 0;
}

static bool guest_exists(const char *dir, const char *file)
{
    char path[PATH_MAX + 64];

    return guest_path(path, sizeof(path), dir, file) == 0
           && access(path, F_OK) == 0;
}

static int guest_mkdir(const char *dir)
{
    return mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Copy a v1 cpuset file (cpus, mems) from dir's parent into dir. */
static int guest_cpuset_inherit(const char *dir, const char *file)
{
    char parent[PATH_MAX], value[4096];
    char *slash;
    int rc;

    snprintf(parent, sizeof(parent), "%s", dir);
    slash = strrchr(parent, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    rc = guest_get(parent, file, value, sizeof(value));
    if (rc < 0)
        return rc;
    value[strcspn(value, "\n")] = '\0';
    if (!value[0])
        return -ENOSPC; /* the parent has none to give */
    return guest_set(dir, file, value);
}

int guest_memory_read(const char *dir, uint64_t *oom_kills, uint64_t *limit)
{
    char buf[4096];
    bool v2 = guest_exists(dir, "memory.events");
    int rc = guest_get(dir, v2 ? "memory.events" : "memory.oom_control", buf,
                       sizeof(buf));

    if (rc < 0)
        return rc;
    if (guest_oom_kills_parse(buf, oom_kills) < 0)
        return -ENOENT;
    *limit = 0;
    if (guest_get(dir, v2 ? "memory.max" : "memory.limit_in_bytes", buf,
                  sizeof(buf))
            == 0
        && isdigit((unsigned char)buf[0])) {
        unsigned long long v = strtoull(buf, NULL, 10);
        /* v1 says "no limit" with a huge page-aligned number */
        *limit = v >= (1ULL << 62) ? 0 : v;
    }
    return 0;
}

/* ---- opening: find the controllers, make the daemon's subtree ---- */

/* Whether the v2 hierarchy at mount offers ctl. */
static bool guest_v2_offers(const char *mount, const char *ctl)
{
    char buf[1024];
    size_t n = strlen(ctl);

    if (guest_get(mount, "cgroup.controllers", buf, sizeof(buf)) < 0)
        return false;
    for (char *p = buf; (p = strstr(p, ctl)) != NULL; p += n)
        if ((p == buf || p[-1] == ' ')
            && (!p[n] || isspace((unsigned char)p[n])))
            return true;
    return false;
}

/* Add "what: why" to the missing text. */
static void
guest_miss(struct guest_cgroup *g, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
guest_miss(struct guest_cgroup *g, const char *what, const char *fmt, ...)
{
    size_t len = strlen(g->missing);
    va_list ap;

    if (len + 4 >= sizeof(g->missing))
        return;
    len += (size_t)snprintf(g->missing + len, sizeof(g->missing) - len,
                            "%s%s: ", len ? "; " : "", what);
    if (len >= sizeof(g->missing))
        return;
    va_start(ap, fmt);
    vsnprintf(g->missing + len, sizeof(g->missing) - len, fmt, ap);
    va_end(ap);
}

/* Enable ctl for the children of a v2 dir; a dir that holds processes
 * refuses (EBUSY), and then, when allowed, the daemon moves into the
 * leaf DIR/daemon. Returns 0 or a negative errno; *failed names the file. */
static int guest_v2_enable(const char *dir,
                           const char *ctl,
                           const struct guest_cgroup_config *config,
                           char *failed,
                           size_t size)
{
    char plus[32], leaf[PATH_MAX + 16], pid[32];
    int rc;

    snprintf(plus, sizeof(plus), "+%s", ctl);
    rc = guest_set(dir, "cgroup.subtree_control", plus);
    if (rc == -EBUSY && config->move_self && config->self > 0) {
        snprintf(leaf, sizeof(leaf), "%s/daemon", dir);
        snprintf(pid, sizeof(pid), "%d", (int)config->self);
        if ((rc = guest_mkdir(leaf)) < 0
            || (rc = guest_set(leaf, "cgroup.procs", pid)) < 0) {
            snprintf(failed, size, "%s/cgroup.procs", leaf);
            return rc;
        }
        rc = guest_set(dir, "cgroup.subtree_control", plus);
    }
    if (rc < 0)
        snprintf(failed, size, "%s/cgroup.subtree_control", dir);
    return rc;
}

/* Make OWN/shoal and OWN/shoal/NAME for one controller and set the
 * subtree's limits. Returns 0, or a negative errno with *failed naming
 * the file or directory. */
static int guest_ctl_setup(struct guest_ctl_state *s,
                           enum guest_controller ctl,
                           const struct guest_cgroup_config *config,
                           char *failed,
                           size_t size)
{
    const char *name = guest_ctl_names[ctl];
    char top[PATH_MAX];
    const char *levels[2] = {top, s->base};
    int rc;

    snprintf(top, sizeof(top), "%s/shoal", s->own);
    if (s->backend == GUEST_BACKEND_V2
        && (rc = guest_v2_enable(s->own, name, config, failed, size)) < 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        const char *dir = levels[i];
        if ((rc = guest_mkdir(dir)) < 0) {
            snprintf(failed, size, "%s", dir);
            return rc;
        }
        if (s->backend == GUEST_BACKEND_V2) {
            if ((rc = guest_v2_enable(dir, name, config, failed, size)) < 0)
                return rc;
        } else if (ctl == GUEST_CTL_CPUSET) {
            if ((rc = guest_cpuset_inherit(dir, "cpuset.cpus")) < 0
                || (rc = guest_cpuset_inherit(dir, "cpuset.mems")) < 0) {
                snprintf(failed, size, "%s/cpuset.cpus", dir);
                return rc;
            }
        }
        if (ctl == GUEST_CTL_CPU && config->cpu_weight) {
            char v[32];
            const char *file =
                s->backend == GUEST_BACKEND_V2 ? "cpu.weight" : "cpu.shares";
            snprintf(v, sizeof(v), "%u",
                     s->backend == GUEST_BACKEND_V2
                         ? config->cpu_weight
                         : guest_cpu_shares(config->cpu_weight));
            if ((rc = guest_set(dir, file, v)) < 0) {
                snprintf(failed, size, "%s/%s", dir, file);
                return rc;
            }
        }
    }
    if (ctl == GUEST_CTL_MEMORY && config->memory) {
        char v[32];
        const char *file = s->backend == GUEST_BACKEND_V2
                               ? "memory.max"
                               : "memory.limit_in_bytes";
        snprintf(v, sizeof(v), "%" PRIu64, config->memory);
        if ((rc = guest_set(s->base, file, v)) < 0) {
            snprintf(failed, size, "%s/%s", s->base, file);
            return rc;
        }
    }
    return 0;
}

/* Find where ctl is mounted and the daemon's cgroup in it. */
static enum guest_backend
guest_ctl_find(const struct guest_cgroup_config *config,
               enum guest_controller ctl,
               char *own,
               size_t size)
{
    const char *name = guest_ctl_names[ctl];
    char mount[PATH_MAX], rel[PATH_MAX];
    enum guest_backend backend = GUEST_BACKEND_NONE;

    snprintf(mount, sizeof(mount), "%s", config->root);
    if (guest_v2_offers(mount, name)) {
        backend = GUEST_BACKEND_V2;
    } else {
        snprintf(mount, sizeof(mount), "%s/unified", config->root);
        if (guest_v2_offers(mount, name)) {
            backend = GUEST_BACKEND_V2;
        } else {
            /* a v1 hierarchy has "tasks" files, v2 never */
            snprintf(mount, sizeof(mount), "%s/%s", config->root, name);
            if (guest_exists(mount, "tasks"))
                backend = GUEST_BACKEND_V1;
        }
    }
    if (backend == GUEST_BACKEND_NONE
        || guest_self_path(config->self_cgroup,
                           backend == GUEST_BACKEND_V2 ? NULL : name, rel,
                           sizeof(rel))
               < 0)
        return GUEST_BACKEND_NONE;
    /* "/" is the hierarchy's root itself */
    if (snprintf(own, size, "%s%s", mount, strcmp(rel, "/") ? rel : "")
        >= (int)size)
        return GUEST_BACKEND_NONE;
    return backend;
}

static bool guest_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > GUEST_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return false;
    return true;
}

/* Whether ctl's base is the same directory as an earlier controller's:
 * the directories to make, fill and remove once. */
static bool guest_ctl_first(const struct guest_cgroup *g,
                            enum guest_controller ctl)
{
    if (g->ctl[ctl].backend == GUEST_BACKEND_NONE)
        return false;
    for (int k = 0; k < (int)ctl; k++)
        if (g->ctl[k].backend != GUEST_BACKEND_NONE
            && strcmp(g->ctl[k].base, g->ctl[ctl].base) == 0)
            return false;
    return true;
}

static int guest_job_path(const struct guest_cgroup *g,
                          enum guest_controller ctl,
                          const char *job,
                          char *buf,
                          size_t size)
{
    return guest_path(buf, size, g->ctl[ctl].base, job);
}

/* Kill and remove every job cgroup a daemon of this name left behind. */
static void guest_sweep(struct guest_cgroup *g)
{
    for (int ctl = 0; ctl < GUEST_CTL_COUNT; ctl++) {
        DIR *dir;
        struct dirent *e;

        if (!guest_ctl_first(g, (enum guest_controller)ctl))
            continue;
        dir = opendir(g->ctl[ctl].base);
        while (dir && (e = readdir(dir)) != NULL) {
            if (e->d_type != DT_DIR || !guest_name_ok(e->d_name))
                continue;
            guest_cgroup_job_kill(g, e->d_name);
            for (int i = 0;
                 i < 50 && guest_cgroup_job_remove(g, e->d_name) == -EBUSY; i++)
                usleep(20 * 1000);
        }
        if (dir)
            closedir(dir);
    }
}

int guest_cgroup_open(const struct guest_cgroup_config *config,
                      guest_cgroup_t **out,
                      shoal_error_t *error)
{
    struct guest_cgroup *g;

    if (!config->name || !guest_name_ok(config->name))
        return shoal_errprintf(error, -EINVAL, "bad cgroup name '%s'",
                               config->name ? config->name : "");
    g = calloc(1, sizeof(*g));
    if (!g)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    for (int i = 0; i < GUEST_CTL_COUNT; i++) {
        struct guest_ctl_state *s = &g->ctl[i];
        char failed[PATH_MAX + 64] = "";
        int rc;

        s->backend = guest_ctl_find(config, (enum guest_controller)i, s->own,
                                    sizeof(s->own));
        if (s->backend == GUEST_BACKEND_NONE) {
            guest_miss(g, guest_ctl_what[i], "no cgroup %s controller",
                       guest_ctl_names[i]);
            continue;
        }
        if (snprintf(s->base, sizeof(s->base), "%s/shoal/%s", s->own,
                     config->name)
            >= (int)sizeof(s->base))
            rc = -ENAMETOOLONG;
        else
            rc = guest_ctl_setup(s, (enum guest_controller)i, config, failed,
                                 sizeof(failed));
        if (rc < 0) {
            guest_miss(g, guest_ctl_what[i], "cannot write '%s': %s", failed,
                       strerror(-rc));
            s->backend = GUEST_BACKEND_NONE;
        }
    }
    guest_sweep(g);
    *out = g;
    return 0;
}

void guest_cgroup_close(guest_cgroup_t *g)
{
    if (!g)
        return;
    for (int ctl = 0; ctl < GUEST_CTL_COUNT; ctl++) {
        char top[PATH_MAX + 8];
        DIR *dir;
        struct dirent *e;

        if (!guest_ctl_first(g, (enum guest_controller)ctl))
            continue;
        /* the empty ones go; a busy one stays for the next open */
        dir = opendir(g->ctl[ctl].base);
        while (dir && (e = readdir(dir)) != NULL)
            if (e->d_type == DT_DIR && guest_name_ok(e->d_name))
                guest_cgroup_job_remove(g, e->d_name);
        if (dir)
            closedir(dir);
        rmdir(g->ctl[ctl].base);
        /* other daemons on this machine may still use it: then it stays */
        snprintf(top, sizeof(top), "%s/shoal", g->ctl[ctl].own);
        rmdir(top);
    }
    free(g);
}

enum guest_backend guest_cgroup_backend(const guest_cgroup_t *g,
                                        enum guest_controller ctl)
{
    return ctl < GUEST_CTL_COUNT ? g->ctl[ctl].backend : GUEST_BACKEND_NONE;
}

const char *guest_cgroup_missing(const guest_cgroup_t *g)
{
    return g->missing;
}

int guest_cgroup_job_dir(const guest_cgroup_t *g,
                         const char *job,
                         enum guest_controller ctl,
                         char *buf,
                         size_t size)
{
    if (ctl >= GUEST_CTL_COUNT || g->ctl[ctl].backend == GUEST_BACKEND_NONE)
        return -ENOTSUP;
    return guest_job_path(g, ctl, job, buf, size);
}

int guest_cgroup_job_set_pus(guest_cgroup_t *g,
                             const char *job,
                             hwloc_const_bitmap_t pus)
{
    struct guest_ctl_state *s = &g->ctl[GUEST_CTL_CPUSET];
    char dir[PATH_MAX], list[4096];

    if (s->backend == GUEST_BACKEND_NONE)
        return 0;
    if (guest_job_path(g, GUEST_CTL_CPUSET, job, dir, sizeof(dir)) < 0)
        return -ENAMETOOLONG;
    if (!pus || hwloc_bitmap_iszero(pus)) {
        if (s->backend == GUEST_BACKEND_V2)
            return guest_set(dir, "cpuset.cpus", "");
        return guest_cpuset_inherit(dir, "cpuset.cpus");
    }
    if (hwloc_bitmap_list_snprintf(list, sizeof(list), pus)
        >= (int)sizeof(list))
        return -ENAMETOOLONG;
    return guest_set(dir, "cpuset.cpus", list);
}

/* The limits of one controller in job's directory dir. */
static int guest_job_limits_set(guest_cgroup_t *g,
                                enum guest_controller ctl,
                                const char *job,
                                const char *dir,
                                const struct guest_job_limits *limits,
                                char *failed,
                                size_t size)
{
    enum guest_backend b = g->ctl[ctl].backend;
    char v[32];
    int rc = 0;

    switch (ctl) {
    case GUEST_CTL_MEMORY:
        if (!limits->memory)
            break;
        snprintf(v, sizeof(v), "%" PRIu64, limits->memory);
        if (b == GUEST_BACKEND_V2) {
            if ((rc = guest_set(dir, "memory.max", v)) < 0) {
                snprintf(failed, size, "%s/memory.max", dir);
                break;
            }
            /* no swap storm; without swap accounting there is no file */
            if (guest_exists(dir, "memory.swap.max"))
                rc = guest_set(dir, "memory.swap.max", "0");
            if (rc < 0)
                snprintf(failed, size, "%s/memory.swap.max", dir);
            break;
        }
        /* v1: memsw may not go below the limit, nor the limit above memsw:
         * the limit first, memsw, then the limit again if it was refused */
        rc = guest_set(dir, "memory.limit_in_bytes", v);
        if (guest_exists(dir, "memory.memsw.limit_in_bytes")) {
            int sw = guest_set(dir, "memory.memsw.limit_in_bytes", v);
            if (rc < 0)
                rc = guest_set(dir, "memory.limit_in_bytes", v);
            if (rc == 0 && sw < 0) {
                rc = sw;
                snprintf(failed, size, "%s/memory.memsw.limit_in_bytes", dir);
                break;
            }
        } else {
            /* without swap accounting, keep anonymous memory out of swap */
            guest_set(dir, "memory.swappiness", "0");
        }
        if (rc < 0)
            snprintf(failed, size, "%s/memory.limit_in_bytes", dir);
        break;
    case GUEST_CTL_CPU:
        if (!limits->cpu_weight)
            break;
        snprintf(v, sizeof(v), "%u",
                 b == GUEST_BACKEND_V2 ? limits->cpu_weight
                                       : guest_cpu_shares(limits->cpu_weight));
        rc = guest_set(dir, b == GUEST_BACKEND_V2 ? "cpu.weight" : "cpu.shares",
                       v);
        if (rc < 0)
            snprintf(failed, size, "%s/%s", dir,
                     b == GUEST_BACKEND_V2 ? "cpu.weight" : "cpu.shares");
        break;
    case GUEST_CTL_CPUSET:
        /* v1: no process may join before it has memory nodes */
        if (b == GUEST_BACKEND_V1
            && (rc = guest_cpuset_inherit(dir, "cpuset.mems")) < 0) {
            snprintf(failed, size, "%s/cpuset.mems", dir);
            break;
        }
        rc = guest_cgroup_job_set_pus(g, job, limits->pus);
        if (rc < 0)
            snprintf(failed, size, "%s/cpuset.cpus", dir);
        break;
    default:
        break;
    }
    return rc;
}

int guest_cgroup_job_create(guest_cgroup_t *g,
                            const char *job,
                            const struct guest_job_limits *limits,
                            shoal_error_t *error)
{
    char dir[PATH_MAX], failed[PATH_MAX + 64] = "";
    int rc;

    if (!guest_name_ok(job))
        return shoal_errprintf(error, -EINVAL, "bad cgroup name '%s'", job);
    for (int i = 0; i < GUEST_CTL_COUNT; i++) {
        if (g->ctl[i].backend == GUEST_BACKEND_NONE)
            continue;
        if ((rc = guest_job_path(g, (enum guest_controller)i, job, dir,
                                 sizeof(dir)))
            < 0)
            return shoal_errprintf(error, rc, "cgroup path too long");
        if ((rc = guest_mkdir(dir)) < 0)
            return shoal_errprintf(error, rc, "cannot create '%s': %s", dir,
                                   strerror(-rc));
        rc = guest_job_limits_set(g, (enum guest_controller)i, job, dir, limits,
                                  failed, sizeof(failed));
        if (rc < 0)
            return shoal_errprintf(error, rc, "cannot write '%s': %s", failed,
                                   strerror(-rc));
    }
    return 0;
}

int guest_cgroup_job_add(guest_cgroup_t *g, const char *job, pid_t pid)
{
    char dir[PATH_MAX], text[32];
    int first = 0;

    snprintf(text, sizeof(text), "%d", (int)pid);
    for (int i = 0; i < GUEST_CTL_COUNT; i++) {
        int rc;

        if (!guest_ctl_first(g, (enum guest_controller)i))
            continue;
        rc = guest_job_path(g, (enum guest_controller)i, job, dir, sizeof(dir));
        if (rc == 0)
            rc = guest_set(dir, "cgroup.procs", text);
        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}

int guest_cgroup_job_procs_open(guest_cgroup_t *g,
                                const char *job,
                                int *fds,
                                int max)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    int n = 0;

    for (int i = 0; i < GUEST_CTL_COUNT && n < max; i++) {
        int fd;

        if (!guest_ctl_first(g, (enum guest_controller)i))
            continue;
        if (guest_job_path(g, (enum guest_controller)i, job, dir, sizeof(dir))
                < 0
            || guest_path(path, sizeof(path), dir, "cgroup.procs") < 0)
            fd = -1, errno = ENAMETOOLONG;
        else
            fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            int e = errno;
            while (n > 0)
                close(fds[--n]);
            return -e;
        }
        fds[n++] = fd;
    }
    return n;
}

int guest_cgroup_job_oom_kills(guest_cgroup_t *g,
                               const char *job,
                               uint64_t *count)
{
    char dir[PATH_MAX];
    uint64_t limit;
    int rc = guest_cgroup_job_dir(g, job, GUEST_CTL_MEMORY, dir, sizeof(dir));

    return rc < 0 ? rc : guest_memory_read(dir, count, &limit);
}

/* SIGKILL the pids listed in dir/cgroup.procs that are not in seen yet;
 * adds them. Returns the number signalled. */
static int guest_kill_listed(const char *dir, pid_t *seen, int *nseen, int max)
{
    char *buf = malloc(GUEST_FILE_MAX);
    int n = 0;

    if (!buf || guest_get(dir, "cgroup.procs", buf, GUEST_FILE_MAX) < 0) {
        free(buf);
        return 0;
    }
    for (char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        bool known = false;

        if (end == p)
            break;
        p = end;
        while (*p == '\n')
            p++;
        /* never init, and never the caller (a daemon in its own leaf) */
        if (pid <= 1 || pid == (long)getpid())
            continue;
        for (int k = 0; k < *nseen; k++)
            if (seen[k] == (pid_t)pid)
                known = true;
        if (known)
            continue;
        if (kill((pid_t)pid, SIGKILL) == 0)
            n++;
        if (*nseen < max)
            seen[(*nseen)++] = (pid_t)pid;
    }
    free(buf);
    return n;
}

int guest_cgroup_job_kill(guest_cgroup_t *g, const char *job)
{
    enum { SEEN_MAX = 4096 };
    pid_t *seen = NULL;
    int nseen = 0, total = 0;
    char dir[PATH_MAX];

    for (int i = 0; i < GUEST_CTL_COUNT; i++) {
        if (!guest_ctl_first(g, (enum guest_controller)i)
            || guest_job_path(g, (enum guest_controller)i, job, dir,
                              sizeof(dir))
                   < 0
            || access(dir, F_OK) < 0)
            continue;
        /* cgroup.kill (v2, Linux 5.14) ends forks in flight too */
        if (g->ctl[i].backend == GUEST_BACKEND_V2
            && guest_exists(dir, "cgroup.kill")
            && guest_set(dir, "cgroup.kill", "1") == 0)
            continue;
        if (!seen && !(seen = calloc(SEEN_MAX, sizeof(*seen))))
            return -ENOMEM;
        /* a process may fork between the read and the kill: read again
         * until nothing new is listed */
        for (int round = 0; round < GUEST_KILL_ROUNDS; round++) {
            int n = guest_kill_listed(dir, seen, &nseen, SEEN_MAX);
            total += n;
            if (n == 0)
                break;
        }
    }
    free(seen);
    return total;
}

int guest_cgroup_job_remove(guest_cgroup_t *g, const char *job)
{
    char dir[PATH_MAX];
    int first = 0;

    for (int i = 0; i < GUEST_CTL_COUNT; i++) {
        if (!guest_ctl_first(g, (enum guest_controller)i)
            || guest_job_path(g, (enum guest_controller)i, job, dir,
                              sizeof(dir))
                   < 0)
            continue;
        if (rmdir(dir) < 0 && errno != ENOENT && first == 0)
            first = -errno;
    }
    return first;
}
