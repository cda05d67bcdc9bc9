/* SPDX-License-Identifier: MIT */
/* guest_cgroup.c - sizes, shares, /proc/self/cgroup and OOM counters
 * parsed; then the module against made-up cgroup trees in a temporary
 * directory (v1, v2, hybrid, a controller missing, a subtree that cannot
 * be made), and killing: only the pids listed in the job's cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/guest/guest_cgroup.h"

TestSuite(guest_cgroup, .timeout = 20);

/* ---- sizes ---- */

/* the text in the struct: a parameter's pointers would not survive the
 * trip to the test's process */
struct size_case {
    char text[16];
    unsigned long long want; /* 0: refused */
};

ParameterizedTestParameters(guest_cgroup, sizes)
{
    static struct size_case cases[] = {
        {"64M", 64ULL << 20},
        {"64m", 64ULL << 20},
        {"64MiB", 64ULL << 20},
        {"64MB", 64ULL << 20},
        {"1G", 1ULL << 30},
        {"1.5G", 3ULL << 29},
        {"512k", 512ULL << 10},
        {"2T", 2ULL << 40},
        {"4096", 4096},
        {"80%", 8ULL << 30},
        {"12.5%", 5ULL << 28},
        {"100%", 10ULL << 30},
        {"", 0},
        {"0", 0},
        {"-1", 0},
        {"0%", 0},
        {"101%", 0},
        {"80%%", 0},
        {"10X", 0},
        {"M", 0},
        {" 5", 0},
        {"5 M", 0},
        {"1GG", 0},
        {"nan", 0},
        {"inf", 0},
        {"1e30", 0},
    };
    return cr_make_param_array(struct size_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct size_case *c, guest_cgroup, sizes)
{
    uint64_t ram = 10ULL << 30, bytes = 0;
    shoal_error_t error = {{0}};
    int rc = guest_size_parse(c->text, ram, &bytes, &error);

    if (c->want) {
        cr_assert(eq(int, rc, 0), "'%s': %s", c->text, error.text);
        cr_assert(eq(u64, bytes, c->want), "'%s'", c->text);
    } else {
        cr_assert(eq(int, rc, -EINVAL), "'%s' accepted as %llu", c->text,
                  (unsigned long long)bytes);
        cr_assert(not(eq(ptr, strstr(error.text, "bad memory size"), NULL)),
                  "%s", error.text);
    }
}

Test(guest_cgroup, cpu_weight_maps_to_v1_shares)
{
    cr_assert(eq(uint, guest_cpu_shares(100), 1024));
    cr_assert(eq(uint, guest_cpu_shares(10), 102));
    cr_assert(eq(uint, guest_cpu_shares(1), 10));
    cr_assert(eq(uint, guest_cpu_shares(10000), 102400));
    cr_assert(eq(uint, guest_cpu_shares(0), 2), "the kernel's minimum");
}

/* ---- /proc/self/cgroup ---- */

static const char hybrid_self[] = "12:pids:/user.slice/user-1000.slice\n"
                                  "4:memory:/process_api/74da\n"
                                  "3:cpuset:/\n"
                                  "2:cpu,cpuacct:/user.slice\n"
                                  "1:name=systemd:/user.slice/session-2.scope\n"
                                  "0::/user.slice/session-2.scope\n";

Test(guest_cgroup, self_path_of_each_hierarchy)
{
    char path[256];

    cr_assert(eq(int, guest_self_path(hybrid_self, "memory", path, 256), 0));
    cr_assert(eq(str, path, "/process_api/74da"));
    cr_assert(eq(int, guest_self_path(hybrid_self, "cpuset", path, 256), 0));
    cr_assert(eq(str, path, "/"));
    /* a controller mounted with another */
    cr_assert(eq(int, guest_self_path(hybrid_self, "cpu", path, 256), 0));
    cr_assert(eq(str, path, "/user.slice"));
    cr_assert(eq(int, guest_self_path(hybrid_self, "cpuacct", path, 256), 0));
    cr_assert(eq(str, path, "/user.slice"));
    /* v2 */
    cr_assert(eq(int, guest_self_path(hybrid_self, NULL, path, 256), 0));
    cr_assert(eq(str, path, "/user.slice/session-2.scope"));
    /* a prefix of a name is not the name */
    cr_assert(
        eq(int, guest_self_path(hybrid_self, "cpus", path, 256), -ENOENT));
    cr_assert(
        eq(int, guest_self_path(hybrid_self, "hugetlb", path, 256), -ENOENT));
    cr_assert(eq(int, guest_self_path(hybrid_self, "memory", path, 8),
                 -ENAMETOOLONG));
    cr_assert(
        eq(int, guest_self_path("4:memory:/a\n", NULL, path, 256), -ENOENT),
        "no v2 line");
    cr_assert(eq(int, guest_self_path("", "memory", path, 256), -ENOENT));
    cr_assert(eq(int, guest_self_path("garbage\n::\n", "memory", path, 256),
                 -ENOENT));
    /* the last line without its newline */
    cr_assert(eq(int, guest_self_path("0::/x", NULL, path, 256), 0));
    cr_assert(eq(str, path, "/x"));
}

Test(guest_cgroup, oom_kills_from_v2_events_and_v1_oom_control)
{
    uint64_t n = 99;

    cr_assert(eq(int,
                 guest_oom_kills_parse("low 0\nhigh 0\nmax 12\noom 2\n"
                                       "oom_kill 2\noom_group_kill 0\n",
                                       &n),
                 0));
    cr_assert(eq(u64, n, 2));
    cr_assert(eq(int,
                 guest_oom_kills_parse(
                     "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", &n),
                 0));
    cr_assert(eq(u64, n, 7));
    /* oom_group_kill alone is not oom_kill */
    cr_assert(
        eq(int, guest_oom_kills_parse("oom_group_kill 3\n", &n), -ENOENT));
    cr_assert(eq(int, guest_oom_kills_parse("", &n), -ENOENT));
}

/* ---- made-up trees ---- */

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX + 256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    cr_assert(not(eq(ptr, f, NULL)), "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char path[PATH_MAX + 256];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    cr_assert(eq(int, mkdir(path, 0755), 0), "%s: %s", path, strerror(errno));
}

/* The text of a file of the tree, without its last newline. */
static char *get(const char *rel)
{
    static char buf[4096];
    char path[PATH_MAX + 256];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "r");
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (n && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    return buf;
}

static void make_root(void)
{
    snprintf(root, sizeof(root), "/tmp/guest-cgroup-test.XXXXXX");
    cr_assert(not(eq(ptr, mkdtemp(root), NULL)));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
clear_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t n = strlen(path);

    (void)st;
    (void)ftw;
    if (flag == FTW_F && n >= 12 && strcmp(path + n - 12, "cgroup.procs") == 0)
        (void)!truncate(path, 0);
    return 0;
}

/* Empty every cgroup.procs of the tree: the pids written there are made
 * up (or reaped), and close kills what a job's cgroup lists. */
static void clear_procs(void)
{
    nftw(root, clear_one, 16, FTW_PHYS);
}

static void remove_root(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A v1 hierarchy per controller, as this machine has them. */
static void v1_tree(void)
{
    make_root();
    dir("memory");
    put("memory/tasks", "");
    dir("memory/a");
    dir("cpu");
    put("cpu/tasks", "");
    dir("cpuset");
    put("cpuset/tasks", "");
    put("cpuset/cpuset.cpus", "0-3\n");
    put("cpuset/cpuset.mems", "0\n");
    dir("unified");
    put("unified/cgroup.controllers", "hugetlb\n");
}

static const char v1_self[] = "4:memory:/a\n3:cpuset:/\n1:cpu,cpuacct:/\n"
                              "0::/\n";

static guest_cgroup_t *open_tree(const char *self)
{
    struct guest_cgroup_config config = {.root = root,
                                         .self_cgroup = self,
                                         .name = "n1",
                                         .memory = 1ULL << 30,
                                         .cpu_weight = 10};
    guest_cgroup_t *g = NULL;
    shoal_error_t error;

    cr_assert(eq(int, guest_cgroup_open(&config, &g, &error), 0), "%s",
              error.text);
    return g;
}

Test(guest_cgroup,
     v1_subtree_under_the_daemons_own_cgroups,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);

    for (int c = 0; c < GUEST_CTL_COUNT; c++)
        cr_assert(eq(int, guest_cgroup_backend(g, c), GUEST_BACKEND_V1), "%s",
                  guest_controller_name(c));
    cr_assert(eq(str, (char *)guest_cgroup_missing(g), ""));
    cr_assert(
        eq(str, get("memory/a/shoal/n1/memory.limit_in_bytes"), "1073741824"));
    cr_assert(eq(str, get("cpu/shoal/cpu.shares"), "102"));
    cr_assert(eq(str, get("cpu/shoal/n1/cpu.shares"), "102"));
    /* v1 cpusets start empty: each level has its parent's */
    cr_assert(eq(str, get("cpuset/shoal/cpuset.cpus"), "0-3"));
    cr_assert(eq(str, get("cpuset/shoal/n1/cpuset.mems"), "0"));
    clear_procs();
    guest_cgroup_close(g);
}

Test(guest_cgroup,
     v1_job_gets_its_pus_weight_memory_and_processes,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    struct guest_job_limits limits = {
        .memory = 64ULL << 20, .cpu_weight = 10, .pus = pus};
    shoal_error_t error;
    uint64_t kills = 9, limit = 0;
    char path[PATH_MAX];
    int fds[4];

    hwloc_bitmap_set_range(pus, 2, 3);
    cr_assert(eq(int, guest_cgroup_job_create(g, "gang-1", &limits, &error), 0),
              "%s", error.text);
    cr_assert(eq(str, get("memory/a/shoal/n1/gang-1/memory.limit_in_bytes"),
                 "67108864"));
    /* without swap accounting: keep it out of swap */
    cr_assert(eq(str, get("memory/a/shoal/n1/gang-1/memory.swappiness"), "0"));
    cr_assert(eq(str, get("cpu/shoal/n1/gang-1/cpu.shares"), "102"));
    cr_assert(eq(str, get("cpuset/shoal/n1/gang-1/cpuset.cpus"), "2-3"));
    cr_assert(eq(str, get("cpuset/shoal/n1/gang-1/cpuset.mems"), "0"));

    cr_assert(eq(int, guest_cgroup_job_add(g, "gang-1", 4242), 0));
    cr_assert(eq(str, get("memory/a/shoal/n1/gang-1/cgroup.procs"), "4242"));
    cr_assert(eq(str, get("cpu/shoal/n1/gang-1/cgroup.procs"), "4242"));
    cr_assert(eq(str, get("cpuset/shoal/n1/gang-1/cgroup.procs"), "4242"));
    cr_assert(eq(int, guest_cgroup_job_procs_open(g, "gang-1", fds, 4), 3),
              "one per hierarchy");
    for (int i = 0; i < 3; i++) {
        cr_assert(eq(int, fcntl(fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC));
        cr_assert(eq(int, (int)write(fds[i], "0", 1), 1));
        close(fds[i]);
    }
    cr_assert(eq(str, get("cpu/shoal/n1/gang-1/cgroup.procs"), "42420"),
              "the writes append, as the kernel takes them one by one");

    put("memory/a/shoal/n1/gang-1/memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    cr_assert(eq(int, guest_cgroup_job_oom_kills(g, "gang-1", &kills), 0));
    cr_assert(eq(u64, kills, 3));
    cr_assert(eq(
        int,
        guest_cgroup_job_dir(g, "gang-1", GUEST_CTL_MEMORY, path, sizeof(path)),
        0));
    cr_assert(eq(int, guest_memory_read(path, &kills, &limit), 0));
    cr_assert(eq(u64, kills, 3));
    cr_assert(eq(u64, limit, 64ULL << 20));

    /* the cpuset follows the members */
    hwloc_bitmap_only(pus, 1);
    cr_assert(eq(int, guest_cgroup_job_set_pus(g, "gang-1", pus), 0));
    cr_assert(eq(str, get("cpuset/shoal/n1/gang-1/cpuset.cpus"), "1"));
    cr_assert(eq(int, guest_cgroup_job_set_pus(g, "gang-1", NULL), 0));
    cr_assert(eq(str, get("cpuset/shoal/n1/gang-1/cpuset.cpus"), "0-3"),
              "none in particular: the parent's");
    hwloc_bitmap_free(pus);
    clear_procs();
    guest_cgroup_close(g);
}

Test(guest_cgroup,
     v1_memsw_limits_swap_when_accounted,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);
    struct guest_job_limits limits = {.memory = 1ULL << 20};
    shoal_error_t error;

    dir("memory/a/shoal/n1/tasks-7");
    put("memory/a/shoal/n1/tasks-7/memory.memsw.limit_in_bytes",
        "9223372036854771712\n");
    cr_assert(
        eq(int, guest_cgroup_job_create(g, "tasks-7", &limits, &error), 0),
        "%s", error.text);
    cr_assert(eq(str, get("memory/a/shoal/n1/tasks-7/memory.limit_in_bytes"),
                 "1048576"));
    cr_assert(eq(str,
                 get("memory/a/shoal/n1/tasks-7/memory.memsw.limit_in_bytes"),
                 "1048576"));
    cr_assert(
        eq(ptr, get("memory/a/shoal/n1/tasks-7/memory.swappiness"), NULL));
    clear_procs();
    guest_cgroup_close(g);
}

Test(guest_cgroup,
     bad_job_names_are_refused,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);
    struct guest_job_limits limits = {0};
    shoal_error_t error;

    cr_assert(
        eq(int, guest_cgroup_job_create(g, "../x", &limits, &error), -EINVAL));
    cr_assert(
        eq(int, guest_cgroup_job_create(g, "", &limits, &error), -EINVAL));
    cr_assert(eq(int, guest_cgroup_job_create(g, ".hidden", &limits, &error),
                 -EINVAL));
    cr_assert(eq(ptr, get("cpu/shoal/n1/..x"), NULL));
    clear_procs();
    guest_cgroup_close(g);
}

static void v2_tree(void)
{
    make_root();
    put("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    dir("user.slice");
    dir("user.slice/u");
}

Test(guest_cgroup,
     v2_enables_controllers_at_each_level,
     .init = v2_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree("0::/user.slice/u\n");
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    struct guest_job_limits limits = {
        .memory = 64ULL << 20, .cpu_weight = 10, .pus = pus};
    shoal_error_t error;
    int fds[4];

    for (int c = 0; c < GUEST_CTL_COUNT; c++)
        cr_assert(eq(int, guest_cgroup_backend(g, c), GUEST_BACKEND_V2), "%s",
                  guest_controller_name(c));
    /* each controller was written in turn; the last one stays here */
    cr_assert(eq(str, get("user.slice/u/cgroup.subtree_control"), "+cpuset"));
    cr_assert(
        eq(str, get("user.slice/u/shoal/cgroup.subtree_control"), "+cpuset"));
    cr_assert(eq(str, get("user.slice/u/shoal/n1/cgroup.subtree_control"),
                 "+cpuset"));
    cr_assert(eq(str, get("user.slice/u/shoal/cpu.weight"), "10"));
    cr_assert(eq(str, get("user.slice/u/shoal/n1/memory.max"), "1073741824"));

    hwloc_bitmap_set(pus, 0);
    hwloc_bitmap_set(pus, 2);
    dir("user.slice/u/shoal/n1/gang-2");
    put("user.slice/u/shoal/n1/gang-2/memory.swap.max", "max\n");
    cr_assert(eq(int, guest_cgroup_job_create(g, "gang-2", &limits, &error), 0),
              "%s", error.text);
    cr_assert(
        eq(str, get("user.slice/u/shoal/n1/gang-2/memory.max"), "67108864"));
    cr_assert(
        eq(str, get("user.slice/u/shoal/n1/gang-2/memory.swap.max"), "0"));
    cr_assert(eq(str, get("user.slice/u/shoal/n1/gang-2/cpu.weight"), "10"));
    cr_assert(eq(str, get("user.slice/u/shoal/n1/gang-2/cpuset.cpus"), "0,2"));
    cr_assert(eq(int, guest_cgroup_job_procs_open(g, "gang-2", fds, 4), 1),
              "one hierarchy");
    close(fds[0]);
    /* cgroup.kill when there is one */
    put("user.slice/u/shoal/n1/gang-2/cgroup.kill", "");
    cr_assert(eq(int, guest_cgroup_job_kill(g, "gang-2"), 0));
    cr_assert(eq(str, get("user.slice/u/shoal/n1/gang-2/cgroup.kill"), "1"));
    put("user.slice/u/shoal/n1/gang-2/memory.events",
        "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
    uint64_t kills = 0;
    cr_assert(eq(int, guest_cgroup_job_oom_kills(g, "gang-2", &kills), 0));
    cr_assert(eq(u64, kills, 1));
    hwloc_bitmap_free(pus);
    clear_procs();
    guest_cgroup_close(g);
}

/* This machine's layout: v1 controllers, a cgroup2 with hugetlb only. */
Test(guest_cgroup,
     hybrid_takes_v1_and_a_missing_controller_is_said,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g;
    struct guest_job_limits limits = {.memory = 1 << 20, .cpu_weight = 10};
    shoal_error_t error;

    char path[PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/cpuset/tasks", root);
    cr_assert(eq(int, unlink(path), 0));
    dir("memory/process_api");
    dir("memory/process_api/74da");
    dir("cpu/user.slice");
    g = open_tree(hybrid_self);
    cr_assert(
        eq(int, guest_cgroup_backend(g, GUEST_CTL_MEMORY), GUEST_BACKEND_V1));
    cr_assert(
        eq(int, guest_cgroup_backend(g, GUEST_CTL_CPUSET), GUEST_BACKEND_NONE));
    cr_assert(eq(str, (char *)guest_cgroup_missing(g),
                 "granted cores (cpuset): no cgroup cpuset controller"));
    /* the daemon's cpu cgroup is /user.slice here */
    cr_assert(eq(str, get("cpu/user.slice/shoal/n1/cpu.shares"), "102"));
    cr_assert(eq(int, guest_cgroup_job_create(g, "j", &limits, &error), 0),
              "%s", error.text);
    cr_assert(eq(ptr, get("cpuset/shoal/n1/j/cpuset.cpus"), NULL));
    clear_procs();
    guest_cgroup_close(g);
}

Test(guest_cgroup,
     a_subtree_that_cannot_be_made_is_not_enforced_and_said,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g;
    struct guest_job_limits limits = {.memory = 1 << 20, .cpu_weight = 10};
    shoal_error_t error;
    char want[PATH_MAX + 128];

    /* a file where the subtree goes: mkdir fails as on a read-only tree */
    put("memory/a/shoal", "");
    g = open_tree(v1_self);
    cr_assert(
        eq(int, guest_cgroup_backend(g, GUEST_CTL_MEMORY), GUEST_BACKEND_NONE));
    cr_assert(
        eq(int, guest_cgroup_backend(g, GUEST_CTL_CPU), GUEST_BACKEND_V1));
    snprintf(want, sizeof(want),
             "memory limit: cannot write '%s/memory/a/shoal/n1': %s", root,
             strerror(ENOTDIR));
    cr_assert(eq(str, (char *)guest_cgroup_missing(g), want));
    cr_assert(eq(int, guest_cgroup_job_create(g, "j", &limits, &error), 0),
              "%s", error.text);
    cr_assert(eq(str, get("cpu/shoal/n1/j/cpu.shares"), "102"));
    clear_procs();
    guest_cgroup_close(g);
}

/* A child that sleeps until killed. */
static pid_t sleeper(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        for (;;)
            pause();
    }
    cr_assert(gt(int, pid, 0));
    return pid;
}

Test(guest_cgroup,
     kill_signals_the_listed_pids_only,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);
    struct guest_job_limits limits = {0};
    shoal_error_t error;
    pid_t in = sleeper(), out = sleeper();
    int status;

    cr_assert(eq(int, guest_cgroup_job_create(g, "j", &limits, &error), 0));
    cr_assert(eq(int, guest_cgroup_job_add(g, "j", in), 0));
    cr_assert(eq(int, guest_cgroup_job_kill(g, "j"), 1));
    cr_assert(eq(int, waitpid(in, &status, 0), in));
    cr_assert(eq(int, WIFSIGNALED(status), 1));
    cr_assert(eq(int, WTERMSIG(status), SIGKILL));
    /* out was never in the job's cgroup */
    cr_assert(eq(int, waitpid(out, &status, WNOHANG), 0));
    cr_assert(eq(int, kill(out, 0), 0));
    kill(out, SIGKILL);
    waitpid(out, NULL, 0);
    clear_procs();
    guest_cgroup_close(g);
}

Test(guest_cgroup,
     close_leaves_a_busy_job_and_the_next_open_empties_it,
     .init = v1_tree,
     .fini = remove_root)
{
    guest_cgroup_t *g = open_tree(v1_self);
    struct guest_job_limits limits = {0};
    shoal_error_t error;
    pid_t left = sleeper();
    int status;

    cr_assert(
        eq(int, guest_cgroup_job_create(g, "gang-9", &limits, &error), 0));
    cr_assert(eq(int, guest_cgroup_job_add(g, "gang-9", left), 0));
    guest_cgroup_close(g);
    /* a daemon stopping does not kill a job still ending */
    cr_assert(eq(int, waitpid(left, &status, WNOHANG), 0));
    g = open_tree(v1_self);
    cr_assert(eq(int, waitpid(left, &status, 0), left));
    cr_assert(eq(int, WTERMSIG(status), SIGKILL));
    clear_procs();
    guest_cgroup_close(g);
}
