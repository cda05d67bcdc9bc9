/* SPDX-License-Identifier: MIT */
/* runopt.h - the options of `shoal run` (and mpirun/mpiexec), parsed with
 * Open MPI's names.
 *
 * Open MPI accepts its long options with one dash as well as two (-np,
 * -host, -wdir, -x), and `--opt=value` as well as `--opt value`; so does
 * this parser. Parsing stops at the first word that is not an option (the
 * program) or after "--". */
#ifndef SHOAL_RUNTIME_JOB_RUNOPT_H
#define SHOAL_RUNTIME_JOB_RUNOPT_H

#include <stdbool.h>

#include <shoal/error.h>
#include "scheduler/map.h"

struct runopt {
    int nranks;   /* -n/-np; 0 when not given */
    char **hosts; /* each -H/--host argument, in order */
    int nhosts;
    const char *hostfile; /* --hostfile/--machinefile, or NULL */
    bool oversubscribe;
    bool use_hwthread_cpus;
    enum map_level map_by;
    int pe; /* from --map-by X:PE=n or --cpus-per-rank; 0 when not given */
    int cpus_per_rank; /* --cpus-per-rank/--cpus-per-proc; 0 without */
    int ppr; /* --map-by ppr:N:X, --npernode/--npersocket N; 0 without */
    enum map_level rank_by;
    enum map_bind bind_to;
    bool overload_allowed;         /* --bind-to X:overload-allowed */
    char pe_list[MAP_PE_LIST_MAX]; /* --map-by X:PE-LIST=, "" without */
    bool span;                     /* --map-by X:SPAN */
    bool exclusive; /* --exclusive: on a pool, whole nodes only */
    bool report_bindings;
    bool display_map; /* --display-map */
    char **env;       /* each -x argument: "VAR" or "VAR=value" */
    int nenv;
    char **mca;       /* each --mca KEY VALUE, as KEY and VALUE in turn */
    int nmca;         /* words in mca: twice the pairs */
    const char *wdir; /* --wdir, or NULL */
    bool tag_output;
    const char *output_dir;     /* --output-filename, or NULL */
    const char *counters_dir;   /* --counters-dir, or NULL */
    double timeout;             /* --timeout seconds; 0 for none */
    bool enable_recovery;       /* keep other ranks running on a failure */
    bool checkpoint;            /* --checkpoint: ranks get checkpoint dirs */
    double checkpoint_interval; /* --checkpoint=SECONDS (60) */
    bool checkpoint_auto;       /* --checkpoint=auto */
    const char *checkpoint_dir; /* --checkpoint-dir, or NULL */
    int checkpoint_exit_code;   /* --checkpoint-exit-code (85) */
    int replicas; /* --replicas: copies of each version on other nodes, the
                     checkpoints on each node's own disk; 0: one directory */
    bool replicas_given;     /* --replicas was given (else the default: 1 on a
                                pool of several nodes without --checkpoint-dir) */
    bool restart_on_failure; /* --restart-on-failure */
    int max_restarts;        /* --max-restarts (3) */
    bool help;               /* --help was given: nothing else is valid */
    bool version;            /* -V/--version: likewise */
    int prog_argc;           /* the program and its arguments */
    char **prog_argv;        /* borrowed from argv */
};

/* Parse argv[0..argc-1] (argv[0] is the first option, not the command name)
 * into opt. Strings in opt are borrowed from argv; the arrays are owned by
 * opt and freed with runopt_release(). Returns 0, or SHOAL_EUSAGE with
 * error naming the offending word (unknown option, missing or bad value,
 * no program). On failure opt needs no release. */
int runopt_parse(int argc,
                 char **argv,
                 struct runopt *opt,
                 shoal_error_t *error);

/* Free what runopt_parse() allocated; accepts a zeroed struct. */
void runopt_release(struct runopt *opt);

/* The placement the options ask for (-n, --map-by, --rank-by, --bind-to,
 * --oversubscribe, --use-hwthread-cpus): the one place they are copied
 * into a map request, for the embedded runtime and the pool alike. */
void runopt_map_request(const struct runopt *opt, struct map_request *req);

/* The option summary printed by `shoal run --help`; static text. */
const char *runopt_usage(void);

#endif
