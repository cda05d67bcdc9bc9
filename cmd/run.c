/* SPDX-License-Identifier: MIT */
/* run.c - `shoal run`: parse, place, report, launch, and say how it ended.
 *
 * With a pool running, the pool's daemon places the job and this command
 * coordinates it (runtime/job/pool_remote.h). With no pool, this command
 * is the job's whole runtime: it places the ranks on this machine
 * (scheduler/local_place.h) and runs them with local_job, or over local
 * proxies (runtime/job/pool_local.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <hwloc.h>
#include <jansson.h>
#include <hwloc/glibc-sched.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "util/hostlist.h"
#include "runtime/ckpt/ckpt_interval.h"
#include "runtime/ckpt/ckpt_job.h"
#include "runtime/daemon/control.h"
#include "runtime/job/ckpt_copies.h"
#include "runtime/job/env.h"
#include "runtime/job/local_job.h"
#include "runtime/job/pool_local.h"
#include "runtime/job/pool_remote.h"
#include "runtime/job/runopt.h"
#include "runtime/member/topo.h"
#include "runtime/slurm/slurm_alloc.h"
#include "runtime/slurm/slurm_pool.h"
#include "scheduler/local_place.h"
#include "scheduler/map.h"
#include "util/param.h"
#include "util/spawn.h"
#include "util/statedir.h"

PARAM_DEFINE(run_kill_grace_param,
             "kill_grace",
             PARAM_TYPE_DOUBLE,
             "3",
             "seconds between SIGTERM and SIGKILL when a job is ended "
             "early");
PARAM_DEFINE(run_topology_param,
             "topology",
             PARAM_TYPE_STRING,
             NULL,
             "make this machine look like another for placement: an hwloc "
             "synthetic description (\"package:2 core:4 pu:2\") or an XML "
             "file; bindings are then reported, not applied");

PARAM_DEFINE(run_proxy_nodes_param,
             "proxy_nodes",
             PARAM_TYPE_DOUBLE,
             "0",
             "debugging and tests: split the job's ranks in this many "
             "consecutive blocks, each run by a `shoal proxy` process on "
             "this machine, as the nodes of a pool job; 0 runs the job "
             "in-process");

PARAM_DEFINE(run_pool_param,
             "pool",
             PARAM_TYPE_STRING,
             "auto",
             "run jobs on the pool: \"auto\" when this node's daemon "
             "answers, \"no\" always on this machine alone; any other "
             "value is an error");

/* SHOAL_POOL is auto or no: a typo ("off", "false") must not send a job
 * where its user did not mean it to go. Empty counts as unset. Returns 0,
 * or SHOAL_EUSAGE with error filled. */
static int run_pool_mode_check(shoal_error_t *error)
{
    const char *mode = param_get_string(&run_pool_param);

    if (!mode || !*mode || strcmp(mode, "auto") == 0 || strcmp(mode, "no") == 0)
        return 0;
    return shoal_errprintf(error, SHOAL_EUSAGE,
                           "invalid SHOAL_POOL='%s': expected auto or no",
                           mode);
}
PARAM_DEFINE(run_ckpt_mtbf_param,
             "ckpt_mtbf",
             PARAM_TYPE_DOUBLE,
             "86400",
             "--checkpoint=auto without a pool: the machine's mean time "
             "between failures, in seconds (a pool measures its own)");
PARAM_DEFINE(run_ckpt_min_param,
             "ckpt_min_interval",
             PARAM_TYPE_DOUBLE,
             "10",
             "--checkpoint=auto: the shortest interval, in seconds (also "
             "when the first checkpoint comes, to measure its cost)");
PARAM_DEFINE(run_ckpt_max_param,
             "ckpt_max_interval",
             PARAM_TYPE_DOUBLE,
             "3600",
             "--checkpoint=auto: the longest interval, in seconds");
PARAM_DEFINE(run_claim_timeout_param,
             "claim_timeout",
             PARAM_TYPE_DOUBLE,
             "30",
             "seconds a job waits for enough free cores in the pool");

/* A job that may run more than once (--checkpoint, --restart-on-failure):
 * where its ranks checkpoint, and what the next run is told. */
struct run_restart {
    bool enabled;
    char *base; /* the job's checkpoints, DIR/STAMP-HOST-PID, or NULL */
    char *root; /* this run's, BASE/runK (SHOAL_CKPT_ROOT); or NULL */
    /* with --replicas: checkpoints on each node's disk, under the key
     * job-STAMP-HOST-PID; root is then @state/KEY/runK, which each proxy
     * makes a directory of its node's (runtime/job/node_ckpt.h), and
     * copies tracks where the versions live */
    char *key;
    ckpt_copies_t *copies;
    /* the job's key in the home's journal (job-STAMP-HOST-PID; key with
     * --replicas), on a pool only; or NULL */
    char *jkey;
    char *vars[6]; /* the SHOAL_CKPT_* settings of the next run */
    int nvars;
    int restarts; /* runs started again after a failure */
    int runs;     /* runs so far, whatever ended them */
    int nranks;   /* of the job, for its checkpoint directories */
    int replicas; /* a resumed job's, as its journal record keeps them */
    int version;  /* the version the next run restores; 0 none */
    struct ckpt_watch_auto autoc; /* --checkpoint=auto, else mtbf 0 */
    /* with a key: what the home's journal keeps to run the job again
     * (`shoal run --resume KEY`): the options, the directory and the
     * environment of the first `shoal run` */
    json_t *spec;
};

struct run_state {
    struct runopt opt;
    struct run_restart restart;
    bool pooled;    /* the job runs on the pool */
    bool in_slurm;  /* ... made of a Slurm allocation's nodes */
    char **mca_env; /* OMPI_MCA_KEY=VALUE of each --mca (owned) */
    int nmca_env;
    char **xenv; /* --mca, the -x list, then the checkpoint settings */
    int nxenv;
    double kill_grace;
    int last_end; /* enum job_end of the last run */
    struct hostlist hosts;
    char hostname[256];
    hwloc_topology_t topo;
    struct map_result *map;
    /* the job's PMIx PMIX_MAPBY and PMIX_BINDTO, once mapped here */
    char mapby[MAP_POLICY_NAME_MAX];
    char bindto[MAP_POLICY_NAME_MAX];
    char rankby[MAP_POLICY_NAME_MAX];
    char *path;
    cpu_set_t **cpus;
    char **env;
    /* `shoal run --resume KEY`: the options and environment of the job's
     * first run, from the home's journal (owned) */
    char **resume_args;
    int nresume_args;
    char **resume_env;
    /* the options as given (borrowed), for the journal */
    int argc;
    char **argv;
};

/* Gather -H and --hostfile into st->hosts. Returns 0, or the exit status
 * after saying what is wrong. */
static int run_gather_hosts(struct run_state *st)
{
    shoal_error_t error;

    for (int i = 0; i < st->opt.nhosts; i++)
        if (hostlist_add_arg(&st->hosts, st->opt.hosts[i], &error) < 0)
            return cmd_usage("run", "%s", error.text);
    if (st->opt.hostfile
        && hostlist_add_file(&st->hosts, st->opt.hostfile, &error) < 0)
        return cmd_usage("run", "%s", error.text);
    return 0;
}

/* Check --wdir and find the program into st->path. A name without '/'
 * not in PATH is looked for in the working directory, as Open MPI does
 * (`mpirun a.out`). Returns 0, or the exit status after saying what is
 * wrong. */
static int run_find_program(struct run_state *st)
{
    const char *program = st->opt.prog_argv[0];
    shoal_error_t error, here_error;
    struct stat sb;
    char *here = NULL;
    int rc;

    if (st->opt.wdir) {
        errno = 0;
        if (stat(st->opt.wdir, &sb) == 0 && !S_ISDIR(sb.st_mode))
            errno = ENOTDIR;
        else if (errno == 0 && access(st->opt.wdir, X_OK) < 0)
            errno = errno ? errno : EACCES;
        if (errno != 0)
            return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                            "cannot change to directory '%s': %s", st->opt.wdir,
                            strerror(errno));
    }
    rc = spawn_resolve(program, st->opt.wdir, &st->path, &error);
    if (rc == -ENOENT && !strchr(program, '/')) {
        if (asprintf(&here, "./%s", program) < 0)
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        if (spawn_resolve(here, st->opt.wdir, &st->path, &here_error) == 0)
            rc = 0;
        free(here);
    }
    if (rc < 0)
        return cmd_fail(rc == -ENOENT ? 127 : 126, "%s", error.text);
    return 0;
}

/* Gather -H and --hostfile; only this machine can be used until a pool
 * runs. Sets *slots to the slots to map on (< 0: one per core) and
 * *max_slots to their cap (0: none). Returns 0, or the exit status after
 * saying what is wrong. */
static int run_local_slots(struct run_state *st, int *slots, int *max_slots)
{
    shoal_error_t error;
    int status = run_gather_hosts(st);

    if (status != 0)
        return status;
    if (local_place_slots(&st->hosts, st->hostname, slots, max_slots, &error)
        < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
    return 0;
}

static void run_report_bindings(const struct run_state *st)
{
    for (int i = 0; i < st->map->nranks; i++) {
        const struct map_rank *r = &st->map->ranks[i];
        char *list = NULL, *mask = NULL;

        if (!r->cpuset) {
            fprintf(stderr, "[%s] rank %d is not bound\n", st->hostname, i);
            continue;
        }
        hwloc_bitmap_list_asprintf(&list, r->cpuset);
        hwloc_bitmap_asprintf(&mask, r->cpuset);
        fprintf(stderr, "[%s] rank %d bound to PUs %s (cpuset %s)\n",
                st->hostname, i, list ? list : "?", mask ? mask : "?");
        free(list);
        free(mask);
    }
}

/* The PUs of cpuset as Open MPI 4's cset2str names them: "socket S[core
 * C[hwt H]]" per core with a PU in it, joined by ", ", S the package's
 * index, C the core's index in its package, H the PUs' indexes in their
 * core as a range list. */
static void
run_cset_names(hwloc_topology_t topo, hwloc_const_cpuset_t cpuset, FILE *out)
{
    bool first = true;
    int npkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);

    for (int s = 0; s < npkg; s++) {
        hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, s);
        int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, pkg->cpuset,
                                                            HWLOC_OBJ_CORE);

        for (int c = 0; c < ncores; c++) {
            hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(
                topo, pkg->cpuset, HWLOC_OBJ_CORE, c);
            hwloc_bitmap_t hwts = hwloc_bitmap_alloc();
            int npus = hwloc_get_nbobjs_inside_cpuset_by_type(
                topo, core->cpuset, HWLOC_OBJ_PU);
            char *list = NULL;

            if (!hwts)
                return;
            for (int h = 0; h < npus; h++) {
                hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(
                    topo, core->cpuset, HWLOC_OBJ_PU, h);
                if (hwloc_bitmap_isset(cpuset, pu->os_index))
                    hwloc_bitmap_set(hwts, (unsigned)h);
            }
            if (!hwloc_bitmap_iszero(hwts)
                && hwloc_bitmap_list_asprintf(&list, hwts) >= 0) {
                fprintf(out, "%ssocket %d[core %d[hwt %s]]", first ? "" : ", ",
                        s, c, list);
                first = false;
            }
            free(list);
            hwloc_bitmap_free(hwts);
        }
    }
}

/* cpuset as Open MPI 4's cset2mapstr draws it: per package "[...]", its
 * cores separated by '/', a 'B' for each bound PU and '.' for the
 * others. */
static void
run_cset_picture(hwloc_topology_t topo, hwloc_const_cpuset_t cpuset, FILE *out)
{
    int npkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);

    for (int s = 0; s < npkg; s++) {
        hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, s);
        int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, pkg->cpuset,
                                                            HWLOC_OBJ_CORE);

        fputc('[', out);
        for (int c = 0; c < ncores; c++) {
            hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(
                topo, pkg->cpuset, HWLOC_OBJ_CORE, c);
            int npus = hwloc_get_nbobjs_inside_cpuset_by_type(
                topo, core->cpuset, HWLOC_OBJ_PU);

            if (c > 0)
                fputc('/', out);
            for (int h = 0; h < npus; h++) {
                hwloc_obj_t pu = hwloc_get_obj_inside_cpuset_by_type(
                    topo, core->cpuset, HWLOC_OBJ_PU, h);
                fputc(hwloc_bitmap_isset(cpuset, pu->os_index) ? 'B' : '.',
                      out);
            }
        }
        fputc(']', out);
    }
}

/* --display-map: the job's map as Open MPI 4's mpirun prints it, on
 * stdout before the ranks start, so tools that read it find what they
 * know: the job id's family is this command's pid, a rank bound to every
 * PU is UNBOUND and a rank left unbound N/A. */
static void
run_display_map(const struct run_state *st, int slots, int max_slots)
{
    hwloc_const_cpuset_t all =
        hwloc_topology_get_allowed_cpuset((hwloc_topology_t)st->topo);
    int family = (int)(getpid() & 0xffff);

    if (slots < 0)
        slots = hwloc_get_nbobjs_by_type(
            st->topo,
            st->opt.use_hwthread_cpus || st->opt.map_by == MAP_LEVEL_HWTHREAD
                ? HWLOC_OBJ_PU
                : HWLOC_OBJ_CORE);
    printf(" Data for JOB [%d,1] offset 0 Total slots allocated %d\n\n"
           " ========================   JOB MAP   ========================\n\n"
           " Data for node: %s\tNum slots: %d\tMax slots: %d\tNum procs: %d\n",
           family, slots, st->hostname, slots, max_slots, st->map->nranks);
    for (int i = 0; i < st->map->nranks; i++) {
        hwloc_const_cpuset_t set = st->map->ranks[i].cpuset;

        printf(" \tProcess OMPI jobid: [%d,1] App: 0 Process rank: %d Bound: ",
               family, i);
        if (!set || hwloc_bitmap_iszero(set)) {
            printf("N/A\n");
        } else if (hwloc_bitmap_isincluded(all, set)) {
            printf("UNBOUND\n");
        } else {
            run_cset_names(st->topo, set, stdout);
            fputc(':', stdout);
            run_cset_picture(st->topo, set, stdout);
            fputc('\n', stdout);
        }
    }
    printf(
        "\n =============================================================\n");
    fflush(stdout);
}

/* Turn the map's cpusets into what sched_setaffinity takes. A topology
 * given by SHOAL_TOPOLOGY describes another machine: report, don't bind. */
static int run_prepare_bindings(struct run_state *st)
{
    if (!topo_is_this_system(st->topo))
        return 0;
    st->cpus = calloc((size_t)st->map->nranks, sizeof(*st->cpus));
    if (!st->cpus)
        return -ENOMEM;
    for (int i = 0; i < st->map->nranks; i++) {
        if (!st->map->ranks[i].cpuset)
            continue;
        st->cpus[i] = calloc(1, sizeof(cpu_set_t));
        if (!st->cpus[i])
            return -ENOMEM;
        hwloc_cpuset_to_glibc_sched_affinity(st->topo, st->map->ranks[i].cpuset,
                                             st->cpus[i], sizeof(cpu_set_t));
    }
    return 0;
}

/* The job as the options describe it, for local_job; the one place the
 * options reach a launcher's configuration (pool jobs take it through
 * pool_local_config()). The kill grace is the caller's. */
static void run_job_config(const struct run_state *st,
                           struct local_job_config *config)
{
    *config = (struct local_job_config){
        .host = st->hostname,
        .nranks = st->map ? st->map->nranks : 0,
        .path = st->path,
        .argv = st->opt.prog_argv,
        .env = st->env,
        .wdir = st->opt.wdir,
        .cpus = st->cpus,
        .topology = st->topo,
        .mapby = st->mapby[0] ? st->mapby : NULL,
        .bindto = st->bindto[0] ? st->bindto : NULL,
        .rankby = st->rankby[0] ? st->rankby : NULL,
        .tag_output = st->opt.tag_output,
        .output_dir = st->opt.output_dir,
        .counters_dir = st->opt.counters_dir,
        .timeout = st->opt.timeout,
        .enable_recovery = st->opt.enable_recovery,
        .ckpt_root = st->restart.root,
        .ckpt_auto = st->restart.autoc,
        .in_fd = STDIN_FILENO,
        .out_fd = STDOUT_FILENO,
        .err_fd = STDERR_FILENO,
    };
}

/* The job's ranks in nnodes consecutive blocks, each run by a local
 * `shoal proxy` as if it were a node of the pool. */
static int run_launch_proxies(struct run_state *st,
                              const struct local_job_config *lc,
                              int nnodes)
{
    struct pool_local_split split = {0};
    struct pool_job_config config;
    struct pool_job_result result;
    shoal_error_t error;
    char *self = realpath("/proc/self/exe", NULL), *proxy_argv[3];
    int rc, status;

    if (!self
        || pool_local_split(st->map, st->topo, st->hostname, nnodes, &split)
               < 0) {
        free(self);
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    }
    pool_local_config(lc, &config);
    config.job_id = (uint64_t)getpid();
    config.nnodes = split.nnodes;
    config.nodes = split.nodes;
    proxy_argv[0] = self;
    proxy_argv[1] = "proxy";
    proxy_argv[2] = NULL;
    st->last_end = JOB_END_ERROR;
    rc = pool_local_run(&config, proxy_argv, &result, &error);
    if (rc < 0) {
        status = cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
    } else {
        if (result.message.text[0])
            cmd_fail(0, "%s", result.message.text);
        status = result.status;
        st->last_end = result.end;
    }
    pool_local_split_release(&split);
    free(self);
    return status;
}

static int run_launch(struct run_state *st)
{
    double proxy_nodes;
    struct local_job_config config;
    struct local_job_result result;
    shoal_error_t error;
    int rc;

    if (!st->cpus && run_prepare_bindings(st) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    free(st->env);
    st->env = calloc((size_t)st->nxenv + 1, sizeof(char *));
    if (!st->env)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    for (int i = 0; i < st->nxenv; i++)
        st->env[i] = st->xenv[i];
    run_job_config(st, &config);
    config.kill_grace = st->kill_grace;
    if (param_get_double(&run_proxy_nodes_param, 0, &proxy_nodes, &error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    if (proxy_nodes >= 1)
        return run_launch_proxies(st, &config, (int)proxy_nodes);
    st->last_end = JOB_END_ERROR;
    rc = local_job_run(&config, &result, &error);
    if (rc == SHOAL_EOUTPUT) /* the program is fine: its output is not */
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
    if (rc < 0) {
        int status = LOCAL_JOB_STATUS_ERROR;
        if (rc == -ENOENT)
            status = 127;
        else if (rc == -EACCES || rc == -ENOEXEC || rc == -EISDIR)
            status = 126;
        return cmd_fail(status, "cannot launch '%s' on '%s': %s",
                        st->opt.prog_argv[0], st->hostname, error.text);
    }
    if (result.message.text[0])
        cmd_fail(0, "%s", result.message.text);
    st->last_end = result.end;
    return result.status;
}

extern char **environ;

/* Connect to this node's daemon, if one runs and the pool is wanted.
 * Returns the connection, or -1 for the embedded runtime. What answers on
 * the socket may be the task service alone (started by `shoal submit`
 * without a daemon): it has no pool to offer, so the job runs here. */
static int run_pool_connect(void)
{
    const char *mode = param_get_string(&run_pool_param);
    char dir[4096], path[4200];
    json_t *req, *reply = NULL;
    const char *service;
    int fd, rc;

    if (mode && strcmp(mode, "no") == 0)
        return -1;
    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    if (control_client_connect(path, &fd, NULL) < 0)
        return -1;
    req = json_pack("{s:s}", "op", "ping");
    rc = control_client_request(fd, req, 10000, &reply, NULL);
    json_decref(req);
    service = json_string_value(json_object_get(reply, "service"));
    if (rc < 0 || !service || strcmp(service, "daemon") != 0) {
        json_decref(reply);
        close(fd);
        return -1;
    }
    json_decref(reply);
    return fd;
}

/* What a job on the pool needs once, however often it runs. Returns 0 or
 * the exit status after saying what is wrong. */
static int run_pool_prepare(struct run_state *st, double *claim_timeout)
{
    shoal_error_t error;
    /* in an allocation, the hosts are the allocation's, already gathered */
    int status = st->in_slurm ? 0 : run_gather_hosts(st);

    if (status == 0
        && param_get_double(&run_claim_timeout_param, 0, claim_timeout, &error)
               < 0)
        status = cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    if (status == 0)
        status = run_find_program(st);
    return status;
}

/* What the coordinator says while the job runs: on our stderr, between
 * the ranks' lines. */
static void run_notice(const char *text, void *arg)
{
    (void)arg;
    fprintf(stderr, "shoal: %s\n", text);
}

/* The job on the pool: the daemon places it on free cores anywhere in the
 * pool and claims them; this command coordinates the ranks. */
static int run_on_pool(struct run_state *st, int ctl_fd, double claim_timeout)
{
    struct pool_remote_request req = {0};
    struct local_job_config lc;
    struct pool_job_config config;
    struct pool_job_result result;
    shoal_error_t error;
    json_t *journal = NULL;
    char cwd[4096];
    int rc;

    st->last_end = JOB_END_ERROR;
    /* the ranks' environment on the pool: ours, as srun exports it */
    free(st->env);
    st->env = NULL;
    if (env_export(st->resume_env ? st->resume_env : environ, st->xenv,
                   st->nxenv, &st->env)
        < 0) {
        close(ctl_fd);
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    }
    req.claim_timeout = claim_timeout;
    runopt_map_request(&st->opt, &req.map);
    req.hosts = st->hosts.count ? &st->hosts : NULL;
    req.report_bindings = st->opt.report_bindings ? stderr : NULL;
    req.exclusive = st->opt.exclusive;
    if (st->restart.jkey && st->restart.spec) {
        journal =
            json_pack("{s:s, s:i, s:i, s:i, s:i, s:O}", "key", st->restart.jkey,
                      "run", st->restart.runs, "restarts", st->restart.restarts,
                      "nranks", st->restart.nranks, "replicas",
                      st->opt.replicas, "spec", st->restart.spec);
        if (!journal) {
            close(ctl_fd);
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        }
        req.journal = journal;
    }
    run_job_config(st, &lc);
    pool_local_config(&lc, &config);
    config.kill_grace = st->kill_grace;
    /* ranks elsewhere start where this command was typed, as with
     * Open MPI: the pool shares its file systems */
    config.wdir =
        st->opt.wdir ? st->opt.wdir : (getcwd(cwd, sizeof(cwd)) ? cwd : NULL);
    config.ckpt_copies = st->restart.copies;
    config.ckpt_restore = st->restart.copies ? st->restart.version : 0;
    config.notice = run_notice;
    rc = pool_remote_run(ctl_fd, &req, &config, &result, &error);
    json_decref(journal);
    if (rc == SHOAL_ENOSLOTS) {
        fprintf(stderr,
                "shoal: %s\n"
                "hint: request fewer ranks with -n, wait for the pool's "
                "cores to come free\n"
                "hint: (SHOAL_CLAIM_TIMEOUT), or allow more ranks than "
                "slots with --oversubscribe\n",
                error.text);
        return LOCAL_JOB_STATUS_ERROR;
    }
    if (rc < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
    if (result.message.text[0])
        cmd_fail(0, "%s", result.message.text);
    st->last_end = result.end;
    st->restart.nranks = result.nranks;
    return result.status;
}

/* Restarts ---------------------------------------------------------------- */

static int run_restart_var(struct run_restart *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int run_restart_var(struct run_restart *r, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (r->nvars == (int)(sizeof(r->vars) / sizeof(r->vars[0])))
        return -ENOMEM;
    va_start(ap, fmt);
    rc = vasprintf(&r->vars[r->nvars], fmt, ap);
    va_end(ap);
    if (rc < 0)
        return -ENOMEM;
    r->nvars++;
    return 0;
}

/* The environment of the next run: the -x list, then the checkpoint
 * settings (which win over a -x of the same name). */
static int run_restart_env(struct run_state *st)
{
    struct run_restart *r = &st->restart;

    for (int i = 0; i < r->nvars; i++)
        free(r->vars[i]);
    r->nvars = 0;
    /* as SLURM_RESTART_COUNT: the runs before this one */
    if (r->enabled && run_restart_var(r, "SHOAL_RESTART_COUNT=%d", r->runs) < 0)
        return -ENOMEM;
    if (r->root
        && (run_restart_var(r, "SHOAL_CKPT_ROOT=%s", r->root) < 0
            /* auto: the coordinator asks through REQUEST files */
            || (!st->opt.checkpoint_auto
                && run_restart_var(r, "SHOAL_CKPT_INTERVAL=%g",
                                   st->opt.checkpoint_interval)
                       < 0)
            /* 0: begin afresh, even if a rank finds versions of its own */
            || run_restart_var(r, "SHOAL_CKPT_RESTART=%d", r->version > 0) < 0
            || (r->version > 0
                && run_restart_var(r, "SHOAL_CKPT_VERSION=%d", r->version) < 0)
            || (r->copies
                && run_restart_var(r, "SHOAL_CKPT_REPLICAS=%d",
                                   st->opt.replicas)
                       < 0)))
        return -ENOMEM;
    free(st->xenv);
    st->nxenv = 0;
    st->xenv = calloc((size_t)(st->nmca_env + st->opt.nenv + r->nvars + 1),
                      sizeof(char *));
    if (!st->xenv)
        return -ENOMEM;
    for (int i = 0; i < st->nmca_env; i++)
        st->xenv[st->nxenv++] = st->mca_env[i];
    for (int i = 0; i < st->opt.nenv; i++)
        st->xenv[st->nxenv++] = st->opt.env[i];
    for (int i = 0; i < r->nvars; i++)
        st->xenv[st->nxenv++] = r->vars[i];
    return 0;
}

/* What the pool has seen of failures: node-seconds alive and losses, from
 * this node's daemon, and its alive nodes. Returns 0, or -1 without a
 * daemon that says. */
static int run_pool_churn(double *node_s, double *losses, int *alive)
{
    char dir[4096], path[4200];
    json_t *req, *reply = NULL, *m;
    size_t i;
    int fd, rc;

    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    if (control_client_connect(path, &fd, NULL) < 0)
        return -1;
    req = json_pack("{s:s}", "op", "status");
    rc = control_client_request(fd, req, 10000, &reply, NULL);
    json_decref(req);
    close(fd);
    if (rc < 0 || !json_is_object(json_object_get(reply, "churn"))) {
        json_decref(reply);
        return -1;
    }
    *node_s = json_number_value(
        json_object_get(json_object_get(reply, "churn"), "node_seconds"));
    *losses = json_number_value(
        json_object_get(json_object_get(reply, "churn"), "losses"));
    *alive = 0;
    json_array_foreach (json_object_get(reply, "members"), i, m)
        *alive +=
            json_is_string(json_object_get(m, "state"))
            && strcmp(json_string_value(json_object_get(m, "state")), "alive")
                   == 0;
    json_decref(reply);
    return 0;
}

/* --checkpoint=auto: the job's MTBF (the pool's failures over the nodes
 * the job may span, or SHOAL_CKPT_MTBF without a pool) and the bounds of
 * the interval. Returns 0 or SHOAL_EUSAGE with error filled. */
static int run_restart_auto(struct run_state *st, shoal_error_t *error)
{
    struct ckpt_watch_auto *a = &st->restart.autoc;
    double node_s = 0, losses = 0;
    int alive = 0;

    if (param_get_double(&run_ckpt_min_param, 0, &a->min_interval, error) < 0
        || param_get_double(&run_ckpt_max_param, 0, &a->max_interval, error) < 0
        || param_get_double(&run_ckpt_mtbf_param, 0, &a->mtbf, error) < 0)
        return SHOAL_EUSAGE;
    if (!(a->min_interval > 0) || a->max_interval < a->min_interval
        || !(a->mtbf > 0))
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "--checkpoint=auto needs 0 < "
                               "SHOAL_CKPT_MIN_INTERVAL <= "
                               "SHOAL_CKPT_MAX_INTERVAL and "
                               "SHOAL_CKPT_MTBF > 0");
    a->source = "SHOAL_CKPT_MTBF (no pool)";
    if (st->pooled && run_pool_churn(&node_s, &losses, &alive) == 0
        && node_s > 0) {
        int nodes = st->opt.nranks > 0 && st->opt.nranks < alive
                        ? st->opt.nranks
                        : alive;
        a->mtbf = ckpt_interval_job_mtbf(node_s, losses, nodes);
        a->source = losses >= 1 ? "the pool's failures"
                                : "the pool's time without a failure";
    }
    return 0;
}

/* What the home's journal keeps for `shoal run --resume`: the options as
 * given, the working directory and the environment (the ranks' on the
 * pool is ours). NULL when out of memory. */
static json_t *run_journal_spec(const struct run_state *st)
{
    json_t *spec, *args = json_array(), *env = json_array();
    char cwd[4096];

    for (int i = 0; args && i < st->argc; i++)
        json_array_append_new(args, json_string(st->argv[i]));
    for (char **e = environ; env && *e; e++) {
        json_t *v = json_string(*e);
        /* a variable that is not UTF-8 cannot travel as JSON: the ranks
         * of a resumed run go without it */
        if (v)
            json_array_append_new(env, v);
    }
    spec = json_pack("{s:o*, s:s, s:o*}", "args", args, "cwd",
                     getcwd(cwd, sizeof(cwd)) ? cwd : "/", "env", env);
    return spec;
}

/* Before the first run: with --checkpoint, the job's checkpoint root,
 * DIR/HOST-PID-TIME under --checkpoint-dir (./shoal-ckpt by default, in
 * the ranks' working directory: on a pool, a file system every node
 * shares). Returns 0 or the exit status after saying what is wrong. */
static int run_restart_setup(struct run_state *st)
{
    struct run_restart *r = &st->restart;
    const char *dir =
        st->opt.checkpoint_dir ? st->opt.checkpoint_dir : "shoal-ckpt";
    char base[4096], stamp[64];
    shoal_error_t error;
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    if (param_get_double(&run_kill_grace_param, 0, &st->kill_grace, &error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    r->enabled = st->opt.checkpoint || st->opt.restart_on_failure;
    if (st->opt.checkpoint && st->opt.replicas > 0 && r->key) {
        /* resumed: the journal gave the key, the runs and the copies */
    } else if (st->opt.checkpoint && st->opt.replicas > 0) {
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        if (asprintf(&r->key, "job-%s-%s-%ld", stamp, st->hostname,
                     (long)getpid())
            < 0) {
            r->key = NULL;
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        }
        if (asprintf(&r->root, "@state/%s/run0", r->key) < 0) {
            r->root = NULL;
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        }
        rc = ckpt_copies_create(r->nranks, &r->copies);
        if (rc < 0)
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", shoal_strerror(rc));
        r->spec = run_journal_spec(st);
        if (!r->spec || !(r->jkey = strdup(r->key)))
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    } else if (st->opt.checkpoint && r->base) {
        /* resumed: the journal gave the directory, the runs and the root */
    } else if (st->opt.checkpoint) {
        if (dir[0] == '/')
            snprintf(base, sizeof(base), "%s", dir);
        else if (st->opt.wdir && st->opt.wdir[0] == '/')
            snprintf(base, sizeof(base), "%s/%s", st->opt.wdir, dir);
        else if (getcwd(base, sizeof(base) / 2))
            snprintf(base + strlen(base), sizeof(base) - strlen(base),
                     "/%s%s%s", st->opt.wdir ? st->opt.wdir : "",
                     st->opt.wdir ? "/" : "", dir);
        else
            return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                            "cannot find the working directory: %s",
                            strerror(errno));
        localtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        if (asprintf(&r->base, "%s/%s-%s-%ld", base, stamp, st->hostname,
                     (long)getpid())
                < 0
            || asprintf(&r->root, "%s/run0", r->base) < 0) {
            r->root = NULL;
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        }
        rc = ckpt_job_prepare(r->root, r->nranks, &error);
        if (rc < 0)
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
        /* on a pool, the home's journal keeps it for --resume */
        if (st->pooled
            && (asprintf(&r->jkey, "job-%s", strrchr(r->base, '/') + 1) < 0
                || !(r->spec = run_journal_spec(st))
                || json_object_set_new(r->spec, "base", json_string(r->base))
                       < 0)) {
            r->jkey = NULL;
            return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
        }
    }
    if (st->opt.checkpoint_auto && run_restart_auto(st, &error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    if (run_restart_env(st) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    return 0;
}

/* Whether node id is among the live members in status (a "status"
 * reply); sets *name to its name when it is known. */
static bool run_node_alive(json_t *status, uint64_t id, const char **name)
{
    json_t *members = json_object_get(status, "members"), *m;
    size_t i;

    *name = NULL;
    json_array_foreach (members, i, m) {
        const char *text = json_string_value(json_object_get(m, "id"));
        const char *state = json_string_value(json_object_get(m, "state"));

        if (!text || strtoull(text, NULL, 16) != id)
            continue;
        *name = json_string_value(json_object_get(m, "name"));
        return state
               && (strcmp(state, "alive") == 0
                   || strcmp(state, "suspect") == 0);
    }
    return false;
}

/* With --replicas: the newest version durable on every rank of which
 * every rank still has a copy on a live node. A version some rank lost
 * with all its holders is said, and forgotten. Without an answer from
 * this node's daemon the nodes' own checks decide (a restore that finds
 * no copy fails the launch). */
static int run_restart_durable(struct run_state *st)
{
    struct run_restart *r = &st->restart;
    int fd = run_pool_connect(), v, lost = -1;
    json_t *req = json_pack("{s:s}", "op", "status"), *status = NULL;

    if (fd >= 0 && req
        && control_client_request(fd, req, 10000, &status, NULL) < 0)
        status = NULL;
    json_decref(req);
    if (fd >= 0)
        close(fd);
    while ((v = ckpt_copies_version(r->copies)) > 0 && status) {
        const uint64_t *nodes = NULL;
        const char *name;
        int n = 0;

        lost = -1;
        for (int rank = 0; rank < r->nranks && lost < 0; rank++) {
            bool held = false;

            n = ckpt_copies_holders(r->copies, rank, v, &nodes);
            for (int i = 0; i < n && !held; i++)
                held = run_node_alive(status, nodes[i], &name);
            if (!held)
                lost = rank;
        }
        if (lost < 0)
            break;
        fprintf(stderr, "shoal: version %d of rank %d is lost with nodes ", v,
                lost);
        for (int i = 0; i < n; i++) {
            run_node_alive(status, nodes[i], &name);
            if (name)
                fprintf(stderr, "%s'%s'", i ? ", " : "", name);
            else
                fprintf(stderr, "%s%016" PRIx64, i ? ", " : "", nodes[i]);
        }
        fputc('\n', stderr);
        ckpt_copies_drop(r->copies, lost, v);
    }
    json_decref(status);
    return v;
}

/* After a run that ended with status: whether to run the job again, and
 * from which version (saying so). A rank exiting with the checkpoint exit
 * code asked for it and does not use up a restart, as long as the job
 * committed a new version since the last run (else it makes no progress,
 * and counts as a failure); nor does a job vacated by a node's owner (not
 * the job's fault); a failed rank or a lost node uses one up; a timeout,
 * ^C or a program that cannot start do not restart at all. */
static bool run_restart_next(struct run_state *st, int status)
{
    struct run_restart *r = &st->restart;
    bool asked = st->opt.checkpoint && st->last_end == JOB_END_RANK_FAILED
                 && status == st->opt.checkpoint_exit_code;
    bool vacated = st->last_end == JOB_END_VACATED;
    struct ckpt_job_choice choice = {0};
    shoal_error_t error;

    if (!r->enabled || status == 0
        || (st->last_end != JOB_END_RANK_FAILED
            && st->last_end != JOB_END_NODE_LOST && !vacated))
        return false;
    if (asked && r->copies && ckpt_copies_version(r->copies) <= r->version)
        asked = false; /* no new version since the last run: no progress */
    if (asked && r->root && !r->copies
        && ckpt_job_choose(r->root, r->nranks, false, &choice, NULL) == 0
        && choice.version <= r->version)
        asked = false;
    if (!asked && !vacated && r->restarts >= st->opt.max_restarts) {
        fprintf(stderr, "shoal: not restarting: --max-restarts %d reached\n",
                st->opt.max_restarts);
        return false;
    }
    if (r->copies) {
        /* what the nodes reported durable; each node verifies what it
         * restores */
        choice.version = run_restart_durable(st);
    } else if (r->root
               && ckpt_job_choose(r->root, r->nranks, true, &choice, &error)
                      < 0) {
        fprintf(stderr, "shoal: not restarting: %s\n", error.text);
        return false;
    }
    if (choice.skipped)
        fprintf(stderr, "shoal: checkpoint version %d is not restored: %s\n",
                choice.skipped, choice.why);
    if (!asked && !vacated)
        r->restarts++;
    r->runs++;
    r->version = choice.version;
    if (choice.version > 0)
        fprintf(stderr, "shoal: restarting from checkpoint version %d",
                choice.version);
    else
        fprintf(stderr, "shoal: restarting from the beginning%s",
                r->copies ? " (no version that every rank committed and had "
                            "copied is left)"
                : r->root ? " (no checkpoint committed by every rank yet)"
                          : "");
    if (asked)
        fprintf(stderr, ", as a rank asked (exit status %d)\n", status);
    else if (vacated)
        fprintf(stderr, ", on nodes whose owners are away\n");
    else
        fprintf(stderr, " (restart %d of %d)\n", r->restarts,
                st->opt.max_restarts);
    if (r->copies) {
        char *next = NULL;

        if (asprintf(&next, "@state/%s/run%d", r->key, r->runs) < 0)
            return false;
        free(r->root);
        r->root = next;
    } else if (r->root) {
        char *next = NULL;

        if (asprintf(&next, "%s/run%d", r->base, r->runs) < 0)
            return false;
        if (ckpt_job_advance(r->root, next, r->nranks, choice.version, &error)
            < 0) {
            fprintf(stderr, "shoal: not restarting: %s\n", error.text);
            free(next);
            return false;
        }
        free(r->root);
        r->root = next;
    }
    return run_restart_env(st) == 0;
}

/* A job with node-local checkpoints ended well: the pool forgets them
 * (the home daemon removes its own and tells every node). A node that
 * misses it sweeps them after SHOAL_CKPT_RETAIN_DAYS. */
static void run_restart_forget(const char *key)
{
    char dir[4096], path[4200];
    json_t *req, *reply = NULL;
    int fd, rc = -1;

    if (statedir_resolve(NULL, dir, sizeof(dir)) == 0
        && snprintf(path, sizeof(path), "%s/control.sock", dir) > 0
        && control_client_connect(path, &fd, NULL) == 0) {
        req = json_pack("{s:s, s:s}", "op", "ckpt.forget", "key", key);
        rc = control_client_request(fd, req, 10000, &reply, NULL);
        json_decref(req);
        json_decref(reply);
        close(fd);
    }
    if (rc < 0)
        fprintf(stderr,
                "shoal: the checkpoints of job %s stay on the pool's nodes "
                "(its daemon did not answer); each node removes them after "
                "SHOAL_CKPT_RETAIN_DAYS\n",
                key);
}

/* The job's last run ended with status: the home's journal removes it
 * (0) or keeps it as failed, to be resumed. Without an answer it stays
 * as it was: a job whose coordinator is gone, resumable as well. */
static void run_journal_end(const char *key, int status)
{
    int fd = run_pool_connect();
    json_t *req, *reply = NULL;

    if (fd < 0)
        return;
    req = json_pack("{s:s, s:s, s:i}", "op", "gang.end", "key", key, "status",
                    status);
    if (req)
        control_client_request(fd, req, 10000, &reply, NULL);
    json_decref(req);
    json_decref(reply);
    close(fd);
}

/* After the last run: checkpoints served their purpose when the job
 * succeeded; after a failure they are kept for whoever looks into it. */
static void run_restart_finish(struct run_state *st, int status)
{
    struct run_restart *r = &st->restart;
    char *parent;

    if (r->jkey)
        run_journal_end(r->jkey, status);
    if (r->key && r->copies) {
        if (status == 0)
            run_restart_forget(r->key);
        else
            fprintf(stderr,
                    "shoal: checkpoints kept on the pool's nodes, as job %s "
                    "(in each node's state directory, under ckpt-jobs/ and "
                    "ckpt/; 'shoal ckpt ls --pool %s' lists them, 'shoal "
                    "run --resume %s' runs the job again from its last "
                    "version)\n",
                    r->key, r->key, r->key);
        return;
    }
    if (!r->base)
        return;
    if (status != 0 && r->jkey) {
        fprintf(stderr,
                "shoal: checkpoints kept in %s; 'shoal run --resume %s' "
                "runs the job again from its last version\n",
                r->root, r->jkey);
        return;
    }
    if (status != 0) {
        fprintf(stderr, "shoal: checkpoints kept in %s\n", r->root);
        return;
    }
    ckpt_job_remove(r->base);
    /* the default directory goes too once nothing else is in it */
    parent = strdup(r->base);
    if (parent && strrchr(parent, '/')) {
        *strrchr(parent, '/') = '\0';
        rmdir(parent);
    }
    free(parent);
}

/* Run the job on the pool, again after a failure as the options allow. */
/* --checkpoint on a pool of several nodes keeps each version on its
 * rank's node and one other (--replicas 1), so the job survives the loss
 * of any one node without a file system the nodes share. Not when the
 * user chose: --replicas (0 for one directory), --checkpoint-dir (a shared
 * directory), or a resumed job (its journal record says). Without -n the
 * job's size is known only once placed, too late to size its table of
 * copies: it keeps one directory. */
static void run_replicas_default(struct run_state *st)
{
    double node_s, losses;
    int alive = 0;

    if (!st->opt.checkpoint || st->opt.replicas_given || st->opt.checkpoint_dir
        || st->resume_args || st->opt.nranks < 1)
        return;
    if (run_pool_churn(&node_s, &losses, &alive) == 0 && alive > 1)
        st->opt.replicas = 1;
}

static int run_pool_supervise(struct run_state *st, int ctl_fd)
{
    double claim_timeout = 0;
    int status = run_pool_prepare(st, &claim_timeout);

    st->restart.nranks = st->opt.nranks;
    st->pooled = true;
    if (status == 0)
        run_replicas_default(st);
    /* the table of copies is sized before the pool places the job */
    if (status == 0 && st->opt.replicas > 0 && st->opt.nranks < 1)
        status = cmd_usage("run", "option '--replicas' needs -n");
    if (status == 0)
        status = run_restart_setup(st);
    if (status != 0) {
        close(ctl_fd);
        return status;
    }
    for (;;) {
        status = run_on_pool(st, ctl_fd, claim_timeout);
        if (!run_restart_next(st, status))
            break;
        ctl_fd = run_pool_connect();
        if (ctl_fd < 0) {
            status = cmd_fail(LOCAL_JOB_STATUS_ERROR,
                              "cannot restart: this node's daemon does not "
                              "answer");
            break;
        }
    }
    run_restart_finish(st, status);
    return status;
}

/* Run the job on this machine, again after a failure as the options
 * allow. */
static int run_local_supervise(struct run_state *st)
{
    int status;

    st->restart.nranks = st->map->nranks;
    if (st->opt.replicas > 0) {
        fprintf(stderr, "shoal: --replicas: there is no other node to copy "
                        "checkpoints to; they stay in one directory\n");
        st->opt.replicas = 0;
    }
    status = run_restart_setup(st);
    if (status != 0)
        return status;
    do
        status = run_launch(st);
    while (run_restart_next(st, status));
    run_restart_finish(st, status);
    return status;
}

/* Open MPI's MCA parameters (--mca KEY VALUE, OMPI_MCA_* in the
 * environment) tune Open MPI's runtime, which shoal replaces: shoal reads
 * none of them, but the ranks' Open MPI library reads its own, so they
 * reach the ranks as OMPI_MCA_KEY=VALUE, as Open MPI's mpirun passes them.
 * Said once, on one line, so the user knows the runtime ignored them.
 * Returns 0, or -ENOMEM. */
static int run_mca(struct run_state *st)
{
    char note[512];
    size_t used = 0;
    int n = 0;

    st->mca_env = calloc((size_t)st->opt.nmca / 2 + 1, sizeof(char *));
    if (!st->mca_env)
        return -ENOMEM;
    for (int i = 0; i + 1 < st->opt.nmca; i += 2) {
        if (asprintf(&st->mca_env[st->nmca_env], "OMPI_MCA_%s=%s",
                     st->opt.mca[i], st->opt.mca[i + 1])
            < 0)
            return -ENOMEM;
        st->nmca_env++;
        if (used < sizeof(note))
            used +=
                (size_t)snprintf(note + used, sizeof(note) - used, "%s--mca %s",
                                 n++ ? ", " : "", st->opt.mca[i]);
    }
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "OMPI_MCA_", 9) != 0 || used >= sizeof(note))
            continue;
        used += (size_t)snprintf(note + used, sizeof(note) - used, "%s%.*s",
                                 n++ ? ", " : "", (int)strcspn(*e, "="), *e);
    }
    if (n > 0)
        fprintf(stderr,
                "shoal: note: MCA parameters are ignored by shoal; the ranks "
                "get them as OMPI_MCA_* for Open MPI to read (%s)\n",
                note);
    return 0;
}

/* As Open MPI's `mpirun --version` ("mpirun (Open MPI) 4.1.4"): scripts
 * take the first line to learn whose launcher this is. */
static void run_print_version(const char *self)
{
    printf("%s (shoal) %s\n", self, shoal_version());
    printf("MPI libraries launched: shoal's MPI via PMI-1, MPICH via PMI-1, "
           "Open MPI via PMIx\n");
}

/* Whether SHOAL_POOL=no keeps every job on this machine alone. */
static bool run_pool_forbidden(void)
{
    const char *mode = param_get_string(&run_pool_param);

    return mode && strcmp(mode, "no") == 0;
}

/* The job inside a Slurm allocation: on a private pool of daemons started
 * on its nodes through srun (runtime/slurm/slurm_pool.h), placed with -H
 * naming the nodes and their slots, so no rank lands outside the
 * allocation. -H and --hostfile may name some of its nodes. The pool is
 * the allocation's, kept from one `shoal run` to the next until the
 * allocation ends (SHOAL_SLURM_POOL=allocation), or this job's alone
 * (run), started over the nodes it uses and stopped after it. */
static int run_in_allocation(struct run_state *st,
                             const struct slurm_alloc *alloc)
{
    struct slurm_pool_config config = {0};
    struct hostlist wanted = {0};
    slurm_pool_t *pool = NULL;
    shoal_error_t error;
    char **nodes = NULL;
    char *self = NULL;
    char kept[4096], home[4200];
    bool keep;
    int status, rc, total = 0, ctl_fd;

    if (slurm_pool_keep_mode(&keep, &error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    status = run_gather_hosts(st);
    if (status != 0)
        return status;
    wanted = st->hosts;
    memset(&st->hosts, 0, sizeof(st->hosts));
    rc = slurm_alloc_hosts(alloc, &wanted, &st->hosts, &error);
    hostlist_release(&wanted);
    if (rc < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);
    st->in_slurm = true;
    for (int i = 0; i < st->hosts.count; i++)
        total += st->hosts.entries[i].slots;
    if (st->opt.nranks > total && !st->opt.oversubscribe) {
        fprintf(stderr,
                "shoal: not enough slots: %d ranks requested but %s of "
                "Slurm job %s's allocation (%s) hold %d\n"
                "hint: ask Slurm for more tasks (salloc/sbatch -n), "
                "request fewer ranks with -n,\n"
                "hint: or allow more ranks than slots with "
                "--oversubscribe\n",
                st->opt.nranks,
                st->opt.nhosts || st->opt.hostfile ? "the hosts given"
                                                   : "the nodes",
                alloc->job_id, alloc->nodelist, total);
        return LOCAL_JOB_STATUS_ERROR;
    }
    nodes = calloc((size_t)st->hosts.count + 1, sizeof(char *));
    self = realpath("/proc/self/exe", NULL);
    if (!nodes || !self) {
        free(nodes);
        free(self);
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    }
    for (int i = 0; i < st->hosts.count; i++)
        nodes[i] = st->hosts.entries[i].name;
    config.shoal = self;
    if (keep) {
        /* every node of the allocation: a later job may use the others */
        config.nodes = alloc->nodes;
        config.nnodes = alloc->nnodes;
        config.dir = kept;
        rc = slurm_pool_kept_dir(alloc->job_id, kept, sizeof(kept));
        if (rc < 0)
            shoal_errprintf(&error, rc, "the pool's directory: %s",
                            strerror(-rc));
        else
            rc = slurm_pool_use_kept(&config, home, sizeof(home), &error);
    } else {
        config.nodes = nodes;
        config.nnodes = st->hosts.count;
        rc = slurm_pool_start(&config, &pool, &error);
        if (rc == 0)
            snprintf(home, sizeof(home), "%s", slurm_pool_dir(pool));
    }
    free(nodes);
    free(self);
    if (rc < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "Slurm job %s: %s",
                        alloc->job_id, error.text);
    /* the job's commands (restarts, checkpoints) find the pool's home */
    setenv("SHOAL_DIR", home, 1);
    ctl_fd = run_pool_connect();
    if (ctl_fd < 0)
        status = cmd_fail(LOCAL_JOB_STATUS_ERROR,
                          "Slurm job %s: shoal's daemon for the allocation "
                          "does not answer",
                          alloc->job_id);
    else
        status = run_pool_supervise(st, ctl_fd);
    /* a pool of this run alone: its stop (~250 ms, srun ending the
     * step) need not delay the job's exit status */
    slurm_pool_stop_detached(pool);
    return status;
}

/* A JSON array of strings as a NULL-terminated vector (owned, each
 * string too); sets *n. NULL when out of memory or not such an array. */
static char **run_json_strings(const json_t *array, int *n)
{
    size_t count = json_array_size(array), i;
    char **v = calloc(count + 1, sizeof(char *));
    json_t *item;

    if (!v || !json_is_array(array)) {
        free(v);
        return NULL;
    }
    json_array_foreach (array, i, item) {
        if (!json_is_string(item)
            || !(v[i] = strdup(json_string_value(item)))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return NULL;
        }
    }
    if (n)
        *n = (int)count;
    return v;
}

/* --resume of a job that checkpoints in a shared directory (its base):
 * the version every rank committed in its last run's root, verified,
 * moved to the next run's root, as a restart does. Returns 0 or the exit
 * status after saying what is wrong. */
static int run_resume_shared(struct run_state *st, const char *key)
{
    struct run_restart *r = &st->restart;
    struct ckpt_job_choice choice = {0};
    shoal_error_t error;
    char *last = NULL;
    int rc;

    if (asprintf(&last, "%s/run%d", r->base, r->runs - 1) < 0
        || asprintf(&r->root, "%s/run%d", r->base, r->runs) < 0) {
        free(last);
        r->root = NULL;
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    }
    rc = ckpt_job_choose(last, r->nranks, true, &choice, &error);
    if (rc == 0 && choice.skipped)
        fprintf(stderr, "shoal: checkpoint version %d is not restored: %s\n",
                choice.skipped, choice.why);
    if (rc == 0)
        rc = ckpt_job_advance(last, r->root, r->nranks, choice.version, &error);
    free(last);
    if (rc < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "cannot resume job '%s': %s",
                        key, error.text);
    r->version = choice.version;
    if (r->version > 0)
        fprintf(stderr,
                "shoal: resuming job %s from checkpoint version %d (run %d)\n",
                key, r->version, r->runs);
    else
        fprintf(stderr,
                "shoal: resuming job %s from the beginning (run %d): no "
                "checkpoint committed by every rank\n",
                key, r->runs);
    return 0;
}

/* `shoal run --resume KEY`: a job whose `shoal run` is gone (killed, its
 * terminal closed, its node's daemon restarted under it) runs again, from
 * the newest version every rank has a copy of on a live node, with the
 * options, directory and environment of its first run, all as this
 * node's journal keeps them (runtime/job/gangd_journal.h); its output
 * comes here. The journal refuses while the job's coordinator lives.
 * Returns 0 with the job loaded into st and ctl_fd's connection closed,
 * or the exit status after saying what is wrong. */
static int run_resume_load(struct run_state *st, const char *key)
{
    struct run_restart *r = &st->restart;
    int fd = run_pool_connect(), rc;
    json_t *req, *reply = NULL, *job, *spec, *c;
    const char *cwd, *base;
    shoal_error_t error;
    size_t i;

    if (fd < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': this node's daemon does not "
                        "answer (a job is resumed on the node it was run "
                        "from, whose daemon keeps its journal)",
                        key);
    req = json_pack("{s:s, s:s}", "op", "gang.resume", "key", key);
    rc = req ? control_client_request(fd, req, 10000, &reply, &error)
             : shoal_errprintf(&error, -ENOMEM, "out of memory");
    json_decref(req);
    close(fd);
    if (rc == 0 && !json_is_true(json_object_get(reply, "ok"))) {
        const char *text = json_string_value(json_object_get(reply, "error"));
        rc = shoal_errprintf(&error, -EIO, "%s", text ? text : "refused");
    }
    job = json_object_get(reply, "job");
    spec = json_object_get(job, "spec");
    if (rc == 0 && !json_is_object(spec))
        rc = shoal_errprintf(&error, -EINVAL,
                             "the journal holds no command for it");
    if (rc < 0) {
        json_decref(reply);
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "cannot resume job '%s': %s",
                        key, error.text);
    }
    st->resume_args =
        run_json_strings(json_object_get(spec, "args"), &st->nresume_args);
    st->resume_env = run_json_strings(json_object_get(spec, "env"), NULL);
    cwd = json_string_value(json_object_get(spec, "cwd"));
    base = json_string_value(json_object_get(spec, "base"));
    r->spec = json_incref(spec);
    r->jkey = strdup(key);
    r->nranks = (int)json_integer_value(json_object_get(job, "nranks"));
    r->runs = (int)json_integer_value(json_object_get(job, "run")) + 1;
    r->restarts = (int)json_integer_value(json_object_get(job, "restarts"));
    r->replicas = (int)json_integer_value(json_object_get(job, "replicas"));
    if (!st->resume_args || !st->resume_env || !r->jkey || !cwd
        || (base && !(r->base = strdup(base)))
        || (!base
            && (!(r->key = strdup(key))
                || ckpt_copies_create(r->nranks, &r->copies) < 0))) {
        json_decref(reply);
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': its journal record is "
                        "malformed, or out of memory",
                        key);
    }
    json_array_foreach (json_object_get(job, "copies"), i, c) {
        uint64_t nodes[CKPT_COPIES_HOLDERS];
        json_t *node;
        size_t k;
        int n = 0;

        json_array_foreach (json_object_get(c, "nodes"), k, node) {
            const char *id = json_string_value(json_object_get(node, "id"));
            if (id && n < CKPT_COPIES_HOLDERS)
                nodes[n++] = strtoull(id, NULL, 16);
        }
        if (n > 0 && r->copies)
            ckpt_copies_add(
                r->copies, (int)json_integer_value(json_object_get(c, "rank")),
                (int)json_integer_value(json_object_get(c, "version")), nodes,
                n);
    }
    json_decref(reply);
    if (chdir(cwd) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': cannot change to its "
                        "directory '%s': %s",
                        key, cwd, strerror(errno));
    if (runopt_parse(st->nresume_args, st->resume_args, &st->opt, &error) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': its options: %s", key,
                        error.text);
    /* a job that got its copies by default: as many as its record says */
    if (!st->opt.replicas_given)
        st->opt.replicas = r->replicas;
    if (!st->opt.checkpoint
        || (r->base ? st->opt.replicas > 0 : st->opt.replicas < 1)
        || (st->opt.nranks > 0 && st->opt.nranks != r->nranks))
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': its options do not match "
                        "its journal record",
                        key);
    if (r->nranks < 1)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': its first run was never "
                        "placed, so it has no checkpoint: run it again",
                        key);
    if (r->base)
        return run_resume_shared(st, key);
    if (asprintf(&r->root, "@state/%s/run%d", r->key, r->runs) < 0) {
        r->root = NULL;
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    }
    r->version = run_restart_durable(st);
    if (r->version > 0)
        fprintf(stderr,
                "shoal: resuming job %s from checkpoint version %d (run %d)\n",
                key, r->version, r->runs);
    else
        fprintf(stderr,
                "shoal: resuming job %s from the beginning (run %d): no "
                "version is left that every rank has a copy of on a live "
                "node\n",
                key, r->runs);
    return 0;
}

/* `shoal run --resume KEY`: nothing else may be given. */
static int run_resume(struct run_state *st, int argc, char **argv)
{
    const char *key = NULL;
    int ctl_fd, status;

    if (strncmp(argv[0], "--resume=", 9) == 0 && argc == 1)
        key = argv[0] + 9;
    else if (strcmp(argv[0], "--resume") == 0 && argc == 2)
        key = argv[1];
    if (!key || !key[0] || key[0] == '-')
        return cmd_usage("run", "--resume takes the job's key and nothing else "
                                "(the job runs with the options it was given)");
    status = run_resume_load(st, key);
    if (status != 0)
        return status;
    st->argc = st->nresume_args;
    st->argv = st->resume_args;
    if (run_mca(st) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    ctl_fd = run_pool_connect();
    if (ctl_fd < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR,
                        "cannot resume job '%s': this node's daemon does not "
                        "answer",
                        key);
    return run_pool_supervise(st, ctl_fd);
}

static int
run_with_state(struct run_state *st, const char *self, int argc, char **argv)
{
    struct map_request req;
    shoal_error_t error;
    int status;
    int slots, max_slots;
    int rc;

    if (gethostname(st->hostname, sizeof(st->hostname) - 1) < 0)
        strcpy(st->hostname, "localhost");
    if (argc > 0
        && (strcmp(argv[0], "--resume") == 0
            || strncmp(argv[0], "--resume=", 9) == 0)) {
        if (run_pool_mode_check(&error) < 0)
            return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
        return run_resume(st, argc, argv);
    }
    st->argc = argc;
    st->argv = argv;
    if (runopt_parse(argc, argv, &st->opt, &error) < 0)
        return cmd_usage("run", "%s", error.text);
    if (st->opt.help) {
        fputs(runopt_usage(), stdout);
        return 0;
    }
    if (st->opt.version) {
        run_print_version(self);
        return 0;
    }
    if (run_pool_mode_check(&error) < 0)
        return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
    if (run_mca(st) < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "out of memory");
    if (!getenv("SHOAL_PROXY_NODES")) {
        int ctl_fd = run_pool_connect();
        /* the pool's daemon maps the job, and the topologies of its
         * nodes stay with their daemons */
        if (ctl_fd >= 0 && st->opt.display_map)
            fprintf(stderr, "shoal: --display-map is not shown for a job on "
                            "the pool; --report-bindings says where each "
                            "rank runs\n");
        if (ctl_fd >= 0)
            return run_pool_supervise(st, ctl_fd);
        if (!run_pool_forbidden()) {
            struct slurm_alloc alloc;

            rc = slurm_alloc_read(environ, &alloc, &error);
            if (rc < 0)
                return cmd_fail(CMD_EXIT_USAGE, "%s", error.text);
            if (rc > 0) {
                status = run_in_allocation(st, &alloc);
                slurm_alloc_release(&alloc);
                return status;
            }
        }
    }
    status = run_local_slots(st, &slots, &max_slots);
    if (status != 0)
        return status;
    rc = topo_load(param_get_string(&run_topology_param), &st->topo, &error);
    if (rc < 0)
        return cmd_fail(LOCAL_JOB_STATUS_ERROR, "%s", error.text);

    runopt_map_request(&st->opt, &req);
    rc = local_place(st->hostname, st->topo, slots, max_slots, &req, &st->map,
                     &error);
    if (rc == SHOAL_ENOSLOTS) {
        fprintf(stderr,
                "shoal: %s\n"
                "hint: request fewer ranks with -n, count hardware threads "
                "as slots with\n"
                "hint: --use-hwthread-cpus, or allow more ranks than slots "
                "with --oversubscribe\n",
                error.text);
        return LOCAL_JOB_STATUS_ERROR;
    }
    if (rc < 0)
        return cmd_usage("run", "%s", error.text);
    map_policy_names(&req, !st->map->oversubscribed, st->mapby, st->bindto);
    map_rank_policy_name(&req, st->rankby);

    status = run_find_program(st);
    if (status != 0)
        return status;
    if (st->opt.display_map)
        run_display_map(st, slots, max_slots);
    if (st->opt.report_bindings)
        run_report_bindings(st);
    return run_local_supervise(st);
}

int cmd_run(const char *self, int argc, char **argv)
{
    struct run_state st;
    int status;

    memset(&st, 0, sizeof(st));
    status = run_with_state(&st, self, argc, argv);
    if (st.cpus) {
        for (int i = 0; i < st.map->nranks; i++)
            free(st.cpus[i]);
        free(st.cpus);
    }
    free(st.env);
    free(st.xenv);
    for (int i = 0; i < st.nmca_env; i++)
        free(st.mca_env[i]);
    free(st.mca_env);
    for (int i = 0; i < st.restart.nvars; i++)
        free(st.restart.vars[i]);
    free(st.restart.root);
    free(st.restart.base);
    free(st.restart.key);
    free(st.restart.jkey);
    json_decref(st.restart.spec);
    ckpt_copies_destroy(st.restart.copies);
    for (int i = 0; st.resume_args && i < st.nresume_args; i++)
        free(st.resume_args[i]);
    free(st.resume_args);
    for (int i = 0; st.resume_env && st.resume_env[i]; i++)
        free(st.resume_env[i]);
    free(st.resume_env);
    free(st.path);
    map_result_destroy(st.map);
    if (st.topo)
        hwloc_topology_destroy(st.topo);
    hostlist_release(&st.hosts);
    runopt_release(&st.opt);
    return status;
}
