/* SPDX-License-Identifier: MIT */
/* info.c - `shoal info`: what this build of shoal is and can be tuned with.
 *
 * `shoal info --json` prints one JSON object, the schema scripts may rely
 * on (fields are only ever added):
 *   {"version": "0.1.0",
 *    "mpi": [{"library": "shoal's MPI", "wireup": "PMI-1"},
 *            {"library": "MPICH", "wireup": "PMI-1"},
 *            {"library": "Open MPI", "wireup": "PMIx"}],
 *    "pmix": "OpenPMIx 4.2.2 ...",
 *    "params": [{"name": "SHOAL_KILL_GRACE", "type": "double"|"string",
 *                "help": "...", "default": "3" or null,
 *                "value": "3" or null}, ...],
 *    "environment": [{"name": "SHOAL_RANK", "kind": "shoal"|"mpi"|"set"|
 *                     "internal", "help": "..."}, ...]}
 * "params" and "environment" hold what `shoal info --params` prints, in
 * the same order: the tunables (util/param.h), then every other SHOAL_*
 * variable shoal's code reads or sets (a test compares this list with the
 * sources, so none is left out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "runtime/pmix/pmixd.h"
#include "util/param.h"

static const char info_usage[] =
    "usage: shoal info [--params | --json]\n"
    "\n"
    "Show shoal's version, the MPI libraries it launches with their "
    "wire-up,\n"
    "and its PMIx library.\n"
    "\n"
    "  --params         every SHOAL_* tunable: help, default and value "
    "now;\n"
    "                   then every other SHOAL_* variable shoal reads or "
    "sets\n"
    "  --json           all of it, tunables included, as one JSON object\n"
    "  -h, --help       show this help\n";

/* The SHOAL_* variables that are not tunables of this program: read by
 * it outside util/param.h, read by shoal's MPI (another library), or set
 * by shoal for the programs it starts. */
struct info_env {
    const char *name;
    const char *kind; /* shoal, mpi, set, internal */
    const char *help;
};

static const struct info_env info_env[] = {
    {"SHOAL_DIR", "shoal",
     "the state directory of the daemon, the task service and bench's store "
     "(default /var/lib/shoal for root, else ${XDG_STATE_HOME:-~/.local/"
     "state}/shoal)"},
    {"SHOAL_PAPI_PRELOAD", "shoal",
     "shoal bench: the counters' preload library (default: the one "
     "installed beside shoal)"},
    {"SHOAL_PMIX_TIMES", "shoal",
     "a file the PMIx server appends one JSON line per job to: when the "
     "job was registered, its ranks connected, entered and left each fence, "
     "finalized (CLOCK_MONOTONIC seconds; bench-pool-launch reads it)"},
    {"SHOAL_OFI_PROVIDER", "mpi",
     "the libfabric provider shoal's MPI uses, e.g. shm, tcp;ofi_rxm, "
     "verbs;ofi_rxm (default: libfabric's choice)"},
    {"SHOAL_MPI_COLL_FLAT", "mpi",
     "1: collectives use their flat algorithms, never the node-aware ones"},
    {"SHOAL_MPI_COLL_SHM", "mpi",
     "0: small blocking allreduce and barrier within a node use messages, "
     "not the node's shared segment"},
    {"SHOAL_MPI_NODE", "mpi",
     "the node a rank says it is on, for locality: a name, @block:K or "
     "@cyclic:K (simulated nodes on one machine)"},
    {"SHOAL_MPI_RMA_NO_SHM", "mpi",
     "1: a window allocated on one node keeps private memory and every "
     "one-sided operation is an active message (no shared segment)"},
    {"SHOAL_MPI_RMA_OFI", "mpi",
     "0: one-sided operations between nodes are active messages even when "
     "the provider offers RMA (default 1: contiguous puts and gets are "
     "fi_write and fi_read)"},
    {"SHOAL_MPI_RMA_STATS", "mpi",
     "1: MPI_Finalize prints each rank's one-sided operations by the path "
     "they took (direct, ofi, am) on stderr"},
    {"SHOAL_MPI_SHM", "mpi",
     "0: ranks on one node talk through libfabric, not shoal's shared "
     "memory (default 1)"},
    {"SHOAL_MPI_SHM_RNDV", "mpi",
     "bytes above which an on-node message is read from the sender's memory "
     "(process_vm_readv) instead of copied through cells (default 65536)"},
    {"SHOAL_MPI_SHM_CMA", "mpi",
     "0: never read another rank's memory; large on-node messages are "
     "pipelined through cells"},
    {"SHOAL_MPI_SHM_SPLIT", "mpi",
     "bytes from which both ranks copy an on-node rendezvous message, the "
     "sender writing the chunks it claims (default 262144; 0 never)"},
    {"SHOAL_MPI_SHM_SPLIT_CHUNK", "mpi",
     "bytes per chunk the two ranks claim in a shared copy (default 131072)"},
    {"SHOAL_MPI_SHM_CELL", "mpi",
     "bytes per cell of the on-node rings (default 16384)"},
    {"SHOAL_MPI_SHM_CELLS", "mpi",
     "cells per on-node ring (default: 64, fewer for many ranks per node)"},
    {"SHOAL_MPI_SPIN_US", "mpi",
     "microseconds a waiting rank polls before it yields its core (default "
     "1000; 0 when the node has more ranks than cores, then a waiting rank "
     "yields after every fruitless poll unless this is set)"},
    {"SHOAL_RANK", "set", "the rank's number in its job (as PMI_RANK)"},
    {"SHOAL_SIZE", "set", "the number of ranks of the job"},
    {"SHOAL_LOCAL_RANK", "set", "the rank's number among those on its node"},
    {"SHOAL_LOCAL_SIZE", "set", "the number of the job's ranks on the node"},
    {"SHOAL_RESTART_COUNT", "set",
     "how many times the job was restarted (0 the first time)"},
    {"SHOAL_JOB_ID", "set", "a task's job id (shoal submit)"},
    {"SHOAL_TASK_ID", "set", "a task's index in its job"},
    {"SHOAL_TASK_ATTEMPT", "set", "a task's attempt, from 1"},
    {"SHOAL_TASK_DIR", "set",
     "a task's directory on the node that runs it (its stdout, stderr and "
     "counters files)"},
    {"SHOAL_CKPT_DIR", "set",
     "with --checkpoint: the directory a rank or task writes its checkpoint "
     "to"},
    {"SHOAL_CKPT_RESTART", "set", "1 when the rank or task restarts from one"},
    {"SHOAL_CKPT_VERSION", "set", "the version it restarts from"},
    {"SHOAL_CKPT_INTERVAL", "set", "seconds between checkpoints asked for"},
    {"SHOAL_CKPT_ROOT", "set",
     "the job's checkpoint root, for libshoal's checkpoint API"},
    {"SHOAL_CKPT_REPLICAS", "set",
     "with --replicas: copies kept of each version on other nodes"},
    {"SHOAL_CKPT_DURABLE", "set",
     "1 in a task of shoal submit --replicas and a rank of shoal run "
     "--replicas: each committed version is copied at once and KEEP in its "
     "checkpoint directory raised to it when the copies exist (a rank's: "
     "for every rank of the job); shoal_ckpt_commit waits for that"},
    {"SHOAL_CKPT_COMMIT_WAIT", "shoal",
     "libshoal, where SHOAL_CKPT_DURABLE=1: the seconds shoal_ckpt_commit "
     "waits for the version's copies (default 60; 0: no wait); when they "
     "pass, or the copy failed, it returns -ETIMEDOUT, the version "
     "committed on the node only"},
    {"SHOAL_PAPI_EVENTS", "internal",
     "shoal bench to its counters library: the events to count"},
    {"SHOAL_PAPI_DIR", "internal",
     "shoal bench to its counters library: where each process's counts go"},
    {"SHOAL_PAPI_RANKS", "internal",
     "shoal bench to its counters library: count in MPI ranks only"},
    {"SHOAL_RANK_COUNTERS", "set",
     "with --counters-dir: the file a rank's counts go to (on a pool, on "
     "its node, sent back with its end)"},
    {"SHOAL_SLURM_KEY", "internal",
     "shoal run to the daemons it starts in a Slurm allocation: their pool "
     "key"},
};

static const char *info_env_heading(const char *kind)
{
    if (!strcmp(kind, "shoal"))
        return "Read by shoal's commands:";
    if (!strcmp(kind, "mpi"))
        return "Read by shoal's MPI (libmpi) in each rank:";
    if (!strcmp(kind, "set"))
        return "Set by shoal for each rank or task:";
    return "Set by shoal for its own helper processes:";
}

static void info_print_env(void)
{
    const char *kind = "";

    for (size_t i = 0; i < sizeof(info_env) / sizeof(info_env[0]); i++) {
        if (strcmp(kind, info_env[i].kind) != 0) {
            kind = info_env[i].kind;
            printf("\n%s\n", info_env_heading(kind));
        }
        printf("%s\n    %s\n", info_env[i].name, info_env[i].help);
    }
}

static void info_print_param(const struct param_def *def, void *arg)
{
    const char *value = param_get_string(def);

    (void)arg;
    printf("%s\n    %s\n    default: %s; now: %s\n", param_env_name(def),
           def->help, def->default_value ? def->default_value : "(unset)",
           value ? value : "(unset)");
}

static void info_json_param(const struct param_def *def, void *arg)
{
    json_t *params = arg;
    const char *value = param_get_string(def);
    json_t *p = json_pack(
        "{s:s, s:s, s:s, s:o, s:o}", "name", param_env_name(def), "type",
        def->type == PARAM_TYPE_DOUBLE ? "double" : "string", "help", def->help,
        "default",
        def->default_value ? json_string(def->default_value) : json_null(),
        "value", value ? json_string(value) : json_null());

    if (p)
        json_array_append_new(params, p);
}

static int info_json(void)
{
    json_t *params = json_array();
    json_t *env, *info;
    char *text;

    if (!params)
        return cmd_fail(1, "out of memory");
    param_foreach(info_json_param, params);
    env = json_array();
    for (size_t i = 0; env && i < sizeof(info_env) / sizeof(info_env[0]); i++)
        json_array_append_new(
            env, json_pack("{s:s, s:s, s:s}", "name", info_env[i].name, "kind",
                           info_env[i].kind, "help", info_env[i].help));
    info = json_pack(
        "{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:s, s:o, s:o*}",
        "version", shoal_version(), "mpi", "library", "shoal's MPI", "wireup",
        "PMI-1", "library", "MPICH", "wireup", "PMI-1", "library", "Open MPI",
        "wireup", "PMIx", "pmix", pmixd_version(), "params", params,
        "environment", env);
    text = info ? json_dumps(info, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(info);
    if (!text)
        return cmd_fail(1, "out of memory");
    puts(text);
    free(text);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    if (argc == 1
        && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(info_usage, stdout);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "--params") == 0) {
        param_foreach(info_print_param, NULL);
        info_print_env();
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "--json") == 0)
        return info_json();
    if (argc != 0)
        return cmd_usage("info", "usage: shoal info [--params | --json]");
    printf("shoal %s\n", shoal_version());
    /* every rank gets both; its MPI library takes the one it speaks */
    printf("wire-up: PMI-1 (MPICH, shoal's MPI), PMIx (Open MPI)\n");
    printf("PMIx: %s\n", pmixd_version());
    return 0;
}
