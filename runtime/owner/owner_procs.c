/* SPDX-License-Identifier: MIT */
/* owner_procs.c - the daemon's job processes, found in /proc. */
#include "runtime/owner/owner_procs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OWNER_PROCS_SIGNAL_WALKS = 4 };

/* Parse /proc/PID/stat into p. The command name may hold spaces and
 * parentheses: the fields start after the last ')'. */
static int procs_read_stat(pid_t pid, struct owner_proc *p)
{
    char path[64], buf[1024];
    unsigned long long utime, stime;
    long long cutime, cstime;
    const char *s;
    int ppid, fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -ENOENT;
    buf[n] = '\0';
    s = strrchr(buf, ')');
    if (!s
        || sscanf(s + 1,
                  " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld "
                  "%lld",
                  &p->state, &ppid, &utime, &stime, &cutime, &cstime)
               != 6)
        return -EIO;
    p->pid = pid;
    p->ppid = ppid;
    p->helper = false;
    p->ticks = utime + stime + (uint64_t)(cutime > 0 ? cutime : 0)
               + (uint64_t)(cstime > 0 ? cstime : 0);
    return 0;
}

int owner_procs_ticks(pid_t pid, uint64_t *ticks)
{
    struct owner_proc p;
    int rc = procs_read_stat(pid, &p);

    if (rc == 0)
        *ticks = p.ticks;
    return rc;
}

/* Every process of the system into *all, *n. */
static int procs_read_all(struct owner_proc **all, size_t *n)
{
    DIR *dir = opendir("/proc");
    struct dirent *e;
    struct owner_proc *v = NULL;
    size_t len = 0, cap = 0;

    if (!dir)
        return -errno;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);

        if (*end || pid <= 0)
            continue;
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct owner_proc *nv = realloc(v, ncap * sizeof(*v));

            if (!nv) {
                free(v);
                closedir(dir);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        if (procs_read_stat((pid_t)pid, &v[len]) == 0)
            len++;
    }
    closedir(dir);
    *all = v;
    *n = len;
    return 0;
}

static bool procs_same_exe(pid_t a, const char *exe)
{
    char path[64], target[PATH_MAX];
    ssize_t len;

    snprintf(path, sizeof(path), "/proc/%d/exe", (int)a);
    len = readlink(path, target, sizeof(target) - 1);
    if (len < 0)
        return false;
    target[len] = '\0';
    return strcmp(target, exe) == 0;
}

int owner_procs_list(pid_t root, struct owner_proc **out, size_t *n)
{
    struct owner_proc *all = NULL;
    char path[64], exe[PATH_MAX];
    ssize_t exe_len;
    size_t nall = 0, kept = 0;
    bool *mine, changed = true;
    int rc = procs_read_all(&all, &nall);

    if (rc < 0)
        return rc;
    mine = calloc(nall + 1, sizeof(*mine));
    if (!mine) {
        free(all);
        return -ENOMEM;
    }
    /* the descendants, by passes over parent pids: a few passes, as deep
     * as the tree (daemon, proxy, rank, its children) */
    while (changed) {
        changed = false;
        for (size_t i = 0; i < nall; i++) {
            if (mine[i] || all[i].pid == root)
                continue;
            if (all[i].ppid == root) {
                mine[i] = changed = true;
                continue;
            }
            for (size_t j = 0; j < nall; j++) {
                if (mine[j] && all[j].pid == all[i].ppid) {
                    mine[i] = changed = true;
                    break;
                }
            }
        }
    }
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)root);
    exe_len = readlink(path, exe, sizeof(exe) - 1);
    if (exe_len >= 0)
        exe[exe_len] = '\0';
    for (size_t i = 0; i < nall; i++) {
        if (!mine[i])
            continue;
        all[kept] = all[i];
        all[kept].helper = exe_len >= 0 && all[kept].ppid == root
                           && procs_same_exe(all[kept].pid, exe);
        kept++;
    }
    free(mine);
    *out = all;
    *n = kept;
    return 0;
}

static bool procs_seen(const pid_t *seen, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (seen[i] == pid)
            return true;
    return false;
}

int owner_procs_signal(pid_t root, int sig, char skip_state)
{
    pid_t *seen = NULL;
    size_t nseen = 0;
    int rc = 0;

    for (int walk = 0; walk < OWNER_PROCS_SIGNAL_WALKS; walk++) {
        struct owner_proc *p;
        size_t n, fresh = 0;
        pid_t *more;

        rc = owner_procs_list(root, &p, &n);
        if (rc < 0)
            break;
        more = realloc(seen, (nseen + n + 1) * sizeof(*seen));
        if (!more) {
            free(p);
            rc = -ENOMEM;
            break;
        }
        seen = more;
        for (size_t i = 0; i < n; i++) {
            if (p[i].helper || p[i].state == 'Z'
                || procs_seen(seen, nseen, p[i].pid))
                continue;
            seen[nseen++] = p[i].pid;
            fresh++;
            if (skip_state && p[i].state == skip_state)
                continue;
            kill(p[i].pid, sig);
        }
        free(p);
        if (fresh == 0)
            break;
    }
    free(seen);
    return rc < 0 ? rc : (int)nseen;
}

/* The value of SHOAL_CKPT_DIR in pid's environment into dir. */
static bool procs_ckpt_dir(pid_t pid, char *dir, size_t size)
{
    static const char key[] = "SHOAL_CKPT_DIR=";
    char path[64], *env = NULL;
    size_t len = 0, cap = 0;
    bool found = false;
    ssize_t got;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *more = realloc(env, cap + 8192);

            if (!more)
                break;
            env = more;
            cap += 8192;
        }
        got = read(fd, env + len, 4096);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    for (size_t off = 0; env && off < len;) {
        const char *var = env + off;
        size_t vlen = strnlen(var, len - off);

        if (vlen > sizeof(key) - 1 && memcmp(var, key, sizeof(key) - 1) == 0
            && vlen - (sizeof(key) - 1) < size) {
            memcpy(dir, var + sizeof(key) - 1, vlen - (sizeof(key) - 1));
            dir[vlen - (sizeof(key) - 1)] = '\0';
            found = true;
            break;
        }
        off += vlen + 1;
    }
    free(env);
    return found;
}

static int procs_write_request(const char *dir, const char *request)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    size_t len = strlen(request);
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s/.REQUEST.%d", dir, (int)getpid())
            >= (int)sizeof(tmp)
        || snprintf(final, sizeof(final), "%s/REQUEST", dir)
               >= (int)sizeof(final))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, request, len) != (ssize_t)len || close(fd) < 0) {
        unlink(tmp);
        return -EIO;
    }
    if (rename(tmp, final) < 0) {
        int rc = -errno;

        unlink(tmp);
        return rc;
    }
    return 0;
}

int owner_procs_request_ckpt(pid_t root, const char *request)
{
    struct owner_proc *p;
    char(*done)[PATH_MAX] = NULL;
    size_t n, ndone = 0;
    int rc = owner_procs_list(root, &p, &n);

    if (rc < 0)
        return rc;
    done = calloc(n + 1, sizeof(*done));
    if (!done) {
        free(p);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX];
        bool again = false;

        if (p[i].helper || !procs_ckpt_dir(p[i].pid, dir, sizeof(dir)))
            continue;
        for (size_t k = 0; k < ndone && !again; k++)
            again = strcmp(done[k], dir) == 0;
        if (again || procs_write_request(dir, request) < 0)
            continue;
        strcpy(done[ndone++], dir);
    }
    free(done);
    free(p);
    return (int)ndone;
}

int owner_procs_signal_unasked(pid_t root, int sig)
{
    struct owner_proc *p;
    size_t n;
    int rc = owner_procs_list(root, &p, &n), count = 0;
    char dir[PATH_MAX];

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (p[i].helper || p[i].state == 'Z'
            || procs_ckpt_dir(p[i].pid, dir, sizeof(dir)))
            continue;
        if (kill(p[i].pid, sig) == 0)
            count++;
    }
    free(p);
    return count;
}
