/* SPDX-License-Identifier: MIT */
/* runopt.c - parse the options of `shoal run` with Open MPI's names. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/job/runopt.h"

enum runopt_id {
    RUNOPT_NP,
    RUNOPT_HOST,
    RUNOPT_HOSTFILE,
    RUNOPT_OVERSUBSCRIBE,
    RUNOPT_HWTHREAD_CPUS,
    RUNOPT_MAP_BY,
    RUNOPT_CPUS_PER_RANK,
    RUNOPT_EXCLUSIVE,
    RUNOPT_RANK_BY,
    RUNOPT_BIND_TO,
    RUNOPT_REPORT_BINDINGS,
    RUNOPT_ENV,
    RUNOPT_WDIR,
    RUNOPT_TAG_OUTPUT,
    RUNOPT_OUTPUT_FILENAME,
    RUNOPT_COUNTERS_DIR,
    RUNOPT_TIMEOUT,
    RUNOPT_ENABLE_RECOVERY,
    RUNOPT_CHECKPOINT,
    RUNOPT_CHECKPOINT_DIR,
    RUNOPT_CHECKPOINT_EXIT_CODE,
    RUNOPT_MAX_RESTARTS,
    RUNOPT_RESTART_ON_FAILURE,
    RUNOPT_REPLICAS,
    RUNOPT_HELP,
    RUNOPT_VERSION,
    RUNOPT_MCA,
    RUNOPT_NPERNODE,
    RUNOPT_NPERSOCKET,
    RUNOPT_DISPLAY_MAP,
};

enum runopt_value {
    RUNOPT_NO_VALUE,
    RUNOPT_VALUE,          /* --name VALUE or --name=VALUE */
    RUNOPT_OPTIONAL_VALUE, /* --name, or --name=VALUE */
    RUNOPT_TWO_VALUES,     /* --name KEY VALUE (Open MPI's --mca) */
};

struct runopt_spec {
    const char *name; /* without leading dashes */
    enum runopt_id id;
    enum runopt_value value;
};

/* Every spelling Open MPI users type; long names work with one or two
 * dashes, as in Open MPI. */
static const struct runopt_spec runopt_specs[] = {
    {"n", RUNOPT_NP, RUNOPT_VALUE},
    {"np", RUNOPT_NP, RUNOPT_VALUE},
    {"c", RUNOPT_NP, RUNOPT_VALUE},
    {"H", RUNOPT_HOST, RUNOPT_VALUE},
    {"host", RUNOPT_HOST, RUNOPT_VALUE},
    {"hostfile", RUNOPT_HOSTFILE, RUNOPT_VALUE},
    {"machinefile", RUNOPT_HOSTFILE, RUNOPT_VALUE},
    {"oversubscribe", RUNOPT_OVERSUBSCRIBE, RUNOPT_NO_VALUE},
    {"use-hwthread-cpus", RUNOPT_HWTHREAD_CPUS, RUNOPT_NO_VALUE},
    {"map-by", RUNOPT_MAP_BY, RUNOPT_VALUE},
    {"cpus-per-rank", RUNOPT_CPUS_PER_RANK, RUNOPT_VALUE},
    {"cpus-per-proc", RUNOPT_CPUS_PER_RANK, RUNOPT_VALUE},
    {"exclusive", RUNOPT_EXCLUSIVE, RUNOPT_NO_VALUE},
    {"rank-by", RUNOPT_RANK_BY, RUNOPT_VALUE},
    {"bind-to", RUNOPT_BIND_TO, RUNOPT_VALUE},
    {"report-bindings", RUNOPT_REPORT_BINDINGS, RUNOPT_NO_VALUE},
    {"x", RUNOPT_ENV, RUNOPT_VALUE},
    {"wdir", RUNOPT_WDIR, RUNOPT_VALUE},
    {"wd", RUNOPT_WDIR, RUNOPT_VALUE},
    {"tag-output", RUNOPT_TAG_OUTPUT, RUNOPT_NO_VALUE},
    {"output-filename", RUNOPT_OUTPUT_FILENAME, RUNOPT_VALUE},
    {"counters-dir", RUNOPT_COUNTERS_DIR, RUNOPT_VALUE},
    {"timeout", RUNOPT_TIMEOUT, RUNOPT_VALUE},
    {"enable-recovery", RUNOPT_ENABLE_RECOVERY, RUNOPT_NO_VALUE},
    {"checkpoint", RUNOPT_CHECKPOINT, RUNOPT_OPTIONAL_VALUE},
    {"checkpoint-dir", RUNOPT_CHECKPOINT_DIR, RUNOPT_VALUE},
    {"checkpoint-exit-code", RUNOPT_CHECKPOINT_EXIT_CODE, RUNOPT_VALUE},
    {"max-restarts", RUNOPT_MAX_RESTARTS, RUNOPT_VALUE},
    {"restart-on-failure", RUNOPT_RESTART_ON_FAILURE, RUNOPT_NO_VALUE},
    {"replicas", RUNOPT_REPLICAS, RUNOPT_VALUE},
    {"h", RUNOPT_HELP, RUNOPT_NO_VALUE},
    {"help", RUNOPT_HELP, RUNOPT_NO_VALUE},
    {"V", RUNOPT_VERSION, RUNOPT_NO_VALUE},
    {"version", RUNOPT_VERSION, RUNOPT_NO_VALUE},
    {"mca", RUNOPT_MCA, RUNOPT_TWO_VALUES},
    {"gmca", RUNOPT_MCA, RUNOPT_TWO_VALUES},
    {"npernode", RUNOPT_NPERNODE, RUNOPT_VALUE},
    {"N", RUNOPT_NPERNODE, RUNOPT_VALUE},
    {"npersocket", RUNOPT_NPERSOCKET, RUNOPT_VALUE},
    {"display-map", RUNOPT_DISPLAY_MAP, RUNOPT_NO_VALUE},
};

const char *runopt_usage(void)
{
    return "usage: shoal run [options] PROGRAM [ARGS...]\n"
           "\n"
           "  -n, -np N                 number of ranks (default: one per "
           "slot)\n"
           "  -H, --host HOST[:SLOTS],... hosts to run on\n"
           "  --hostfile FILE           hosts to run on, one per line "
           "(\"host slots=N\n"
           "                            [max_slots=M]\"; M caps "
           "oversubscribing)\n"
           "  --oversubscribe           allow more ranks than slots\n"
           "  --use-hwthread-cpus       a slot is a hardware thread, not a "
           "core\n"
           "  --map-by LEVEL[:PE=n]     slot, hwthread, core, numa, package "
           "or node;\n"
           "                            also :OVERSUBSCRIBE, "
           ":NOOVERSUBSCRIBE, and\n"
           "                            :PE-LIST=0,2-3 (only these CPUs), "
           ":SPAN (the\n"
           "                            nodes as one machine)\n"
           "  --map-by ppr:N:RESOURCE[:PE=n] N ranks per node, package "
           "(socket) or numa\n"
           "  --npernode, -N N          N ranks per node (ppr:N:node)\n"
           "  --npersocket N            N ranks per package "
           "(ppr:N:package)\n"
           "  --cpus-per-rank, --cpus-per-proc N  cores per rank (:PE=N)\n"
           "  --rank-by LEVEL           order of rank numbers over the map\n"
           "  --bind-to LEVEL[:overload-allowed] hwthread, core, l3cache, "
           "numa,\n"
           "                            package or none; overload-allowed "
           "binds more\n"
           "                            ranks than cpus (oversubscribed)\n"
           "  --exclusive               on a pool, only nodes no other job "
           "uses, and none\n"
           "                            shares them while the job runs "
           "(as Slurm's)\n"
           "  --report-bindings         print each rank's binding\n"
           "  --display-map             print the job's map before it "
           "starts, as Open MPI\n"
           "  -x VAR[=VALUE]            export VAR to the ranks\n"
           "  --wdir DIR                working directory of the ranks\n"
           "  --tag-output              prefix each output line with "
           "[rank]\n"
           "  --output-filename DIR     write DIR/1/rank.N/{stdout,stderr}\n"
           "  --counters-dir DIR        append the counts each rank leaves in "
           "the file\n"
           "                            $SHOAL_RANK_COUNTERS (shoal bench's "
           "PAPI library)\n"
           "                            to DIR/papi.rank.N, from whichever "
           "node ran it\n"
           "  --timeout SECONDS         end the job after SECONDS (exit "
           "status 124)\n"
           "  --enable-recovery         keep the other ranks running when "
           "one fails\n"
           "  --checkpoint[=SECONDS|auto] give each rank a checkpoint "
           "directory and ask\n"
           "                            for a checkpoint every SECONDS "
           "(default 60; auto:\n"
           "                            Daly's optimum from the measured cost "
           "and the pool's\n"
           "                            failures); restart a failed job from "
           "its last one\n"
           "  --checkpoint-dir DIR      where checkpoints are kept (default: "
           "on each node's\n"
           "                            disk with --replicas 1 on a pool of "
           "several nodes,\n"
           "                            else ./shoal-ckpt)\n"
           "  --checkpoint-exit-code N  a rank exiting N checkpointed and "
           "wants a restart\n"
           "                            (default 85)\n"
           "  --replicas R              keep checkpoints on each node's own "
           "disk, each\n"
           "                            version copied to R other nodes "
           "(with --checkpoint;\n"
           "                            default 1 on a pool of several nodes "
           "without\n"
           "                            --checkpoint-dir; 0: one directory)\n"
           "  --restart-on-failure      restart a failed job (from the "
           "beginning without\n"
           "                            --checkpoint)\n"
           "  --max-restarts N          restarts allowed after failures "
           "(default 3)\n"
           "  --resume KEY              (alone) run again a job with "
           "--checkpoint on a\n"
           "                            pool whose shoal run is gone, from "
           "its last version,\n"
           "                            as this node's journal keeps it\n"
           "  --mca KEY VALUE           Open MPI's MCA parameter: ignored by "
           "shoal, given\n"
           "                            to the ranks as OMPI_MCA_KEY=VALUE "
           "(so are the\n"
           "                            OMPI_MCA_* variables of the "
           "environment)\n"
           "  -V, --version             print the version and the MPI "
           "libraries launched\n"
           "  -h, --help                show this help\n"
           "\n"
           "A PROGRAM named without a '/' is looked for in PATH, then in the "
           "working\n"
           "directory (--wdir, else the current one), as Open MPI does.\n"
           "\n"
           "Exit status: 0 when every rank exits 0; else the status of the "
           "first rank\n"
           "to fail (128+S if killed by signal S); 124 on timeout; 126/127 "
           "when the\n"
           "program cannot be run or found; 2 for bad usage; 1 for other "
           "errors.\n";
}

static const struct runopt_spec *runopt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(runopt_specs) / sizeof(runopt_specs[0]);
         i++) {
        if (strlen(runopt_specs[i].name) == len
            && strncmp(runopt_specs[i].name, name, len) == 0)
            return &runopt_specs[i];
    }
    return NULL;
}

static int runopt_append(char ***array, int *count, char *item)
{
    char **grown = realloc(*array, (size_t)(*count + 1) * sizeof(char *));

    if (!grown)
        return -ENOMEM;
    grown[(*count)++] = item;
    *array = grown;
    return 0;
}

static int runopt_parse_nranks(const char *text, int *out, shoal_error_t *error)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n <= 0 || n > INT_MAX)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid number of ranks '%s': must be a "
                               "positive integer",
                               text);
    *out = (int)n;
    return 0;
}

static int
runopt_parse_timeout(const char *text, double *out, shoal_error_t *error)
{
    char *end;
    double t;

    errno = 0;
    t = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(t) || t <= 0)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid timeout '%s': must be a positive "
                               "number of seconds",
                               text);
    *out = t;
    return 0;
}

static int runopt_parse_count(const char *text,
                              const char *what,
                              int min,
                              int max,
                              int *out,
                              shoal_error_t *error)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < min || n > max)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "invalid %s '%s': must be an integer from %d "
                               "to %d",
                               what, text, min, max);
    *out = (int)n;
    return 0;
}

static int runopt_apply(struct runopt *opt,
                        const struct runopt_spec *spec,
                        const char *word,
                        char *value,
                        char *value2,
                        shoal_error_t *error)
{
    int rc = 0;

    switch (spec->id) {
    case RUNOPT_NP:
        return runopt_parse_nranks(value, &opt->nranks, error);
    case RUNOPT_HOST:
        rc = runopt_append(&opt->hosts, &opt->nhosts, value);
        break;
    case RUNOPT_HOSTFILE:
        opt->hostfile = value;
        break;
    case RUNOPT_OVERSUBSCRIBE:
        opt->oversubscribe = true;
        break;
    case RUNOPT_HWTHREAD_CPUS:
        opt->use_hwthread_cpus = true;
        break;
    case RUNOPT_MAP_BY: {
        struct map_by_spec map_by;

        rc = map_by_parse(value, &map_by, error);
        if (rc < 0)
            break;
        opt->map_by = map_by.level;
        opt->pe = map_by.pe;
        opt->ppr = map_by.ppr;
        memcpy(opt->pe_list, map_by.pe_list, sizeof(opt->pe_list));
        opt->span = map_by.span;
        if (map_by.oversubscribe >= 0)
            opt->oversubscribe = map_by.oversubscribe;
        break;
    }
    case RUNOPT_EXCLUSIVE:
        opt->exclusive = true;
        break;
    case RUNOPT_CPUS_PER_RANK:
        return runopt_parse_count(value, "number of cpus per rank", 1, INT_MAX,
                                  &opt->cpus_per_rank, error);
    case RUNOPT_RANK_BY:
        rc = map_level_parse(value, &opt->rank_by, error);
        break;
    case RUNOPT_BIND_TO:
        rc =
            map_bind_parse(value, &opt->bind_to, &opt->overload_allowed, error);
        break;
    case RUNOPT_REPORT_BINDINGS:
        opt->report_bindings = true;
        break;
    case RUNOPT_ENV:
        if (value[0] == '=' || value[0] == '\0')
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "invalid value '%s' for '%s': expected "
                                   "VAR or VAR=VALUE",
                                   value, word);
        rc = runopt_append(&opt->env, &opt->nenv, value);
        break;
    case RUNOPT_WDIR:
        opt->wdir = value;
        break;
    case RUNOPT_TAG_OUTPUT:
        opt->tag_output = true;
        break;
    case RUNOPT_OUTPUT_FILENAME:
        opt->output_dir = value;
        break;
    case RUNOPT_COUNTERS_DIR:
        opt->counters_dir = value;
        break;
    case RUNOPT_TIMEOUT:
        return runopt_parse_timeout(value, &opt->timeout, error);
    case RUNOPT_ENABLE_RECOVERY:
        opt->enable_recovery = true;
        break;
    case RUNOPT_CHECKPOINT:
        opt->checkpoint = true;
        if (!value)
            return 0;
        if (strcmp(value, "auto") == 0) {
            opt->checkpoint_auto = true;
            return 0;
        }
        rc = runopt_parse_timeout(value, &opt->checkpoint_interval, error);
        if (rc < 0)
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "invalid checkpoint interval '%s': must be "
                                   "a positive number of seconds, or auto",
                                   value);
        return 0;
    case RUNOPT_CHECKPOINT_DIR:
        if (value[0] == '\0')
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "option '%s' needs a directory", word);
        opt->checkpoint_dir = value;
        break;
    case RUNOPT_CHECKPOINT_EXIT_CODE:
        return runopt_parse_count(value, "checkpoint exit code", 1, 255,
                                  &opt->checkpoint_exit_code, error);
    case RUNOPT_MAX_RESTARTS:
        return runopt_parse_count(value, "number of restarts", 0, 1000000,
                                  &opt->max_restarts, error);
    case RUNOPT_RESTART_ON_FAILURE:
        opt->restart_on_failure = true;
        break;
    case RUNOPT_REPLICAS:
        opt->replicas_given = true;
        return runopt_parse_count(value, "number of replicas", 0, 64,
                                  &opt->replicas, error);
    case RUNOPT_HELP:
        opt->help = true;
        break;
    case RUNOPT_VERSION:
        opt->version = true;
        break;
    case RUNOPT_NPERNODE:
    case RUNOPT_NPERSOCKET:
        /* Open MPI's aliases of --map-by ppr:N:node and ppr:N:socket */
        opt->map_by =
            spec->id == RUNOPT_NPERNODE ? MAP_LEVEL_NODE : MAP_LEVEL_PACKAGE;
        opt->pe = 0;
        return runopt_parse_count(value, "number of ranks per object", 1,
                                  INT_MAX, &opt->ppr, error);
    case RUNOPT_DISPLAY_MAP:
        opt->display_map = true;
        break;
    case RUNOPT_MCA:
        if (value[0] == '\0' || strchr(value, '='))
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "invalid MCA parameter name '%s' for '%s'",
                                   value, word);
        rc = runopt_append(&opt->mca, &opt->nmca, value);
        if (rc == 0)
            rc = runopt_append(&opt->mca, &opt->nmca, value2);
        break;
    }
    if (rc == -ENOMEM)
        return shoal_errprintf(error, rc, "out of memory");
    /* The level parsers have already said what is wrong. */
    return rc < 0 ? SHOAL_EUSAGE : 0;
}

/* Split "-name", "--name" or "--name=value" into the option's spec and an
 * inline value. Returns NULL for an unknown option. */
static const struct runopt_spec *runopt_lookup(const char *word,
                                               const char **inline_value)
{
    const char *name = word + 1;
    const char *eq;

    if (*name == '-')
        name++;
    eq = strchr(name, '=');
    *inline_value = eq ? eq + 1 : NULL;
    return runopt_find(name, eq ? (size_t)(eq - name) : strlen(name));
}

int runopt_parse(int argc,
                 char **argv,
                 struct runopt *opt,
                 shoal_error_t *error)
{
    int i;
    int rc;

    memset(opt, 0, sizeof(*opt));
    opt->checkpoint_interval = 60;
    opt->checkpoint_exit_code = 85;
    opt->max_restarts = 3;
    for (i = 0; i < argc; i++) {
        char *word = argv[i];
        const struct runopt_spec *spec;
        const char *inline_value;
        char *value = NULL, *value2 = NULL;

        if (strcmp(word, "--") == 0) {
            i++;
            break;
        }
        if (word[0] != '-' || word[1] == '\0')
            break;
        spec = runopt_lookup(word, &inline_value);
        if (!spec) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE, "unknown option '%s'",
                                 word);
            goto error;
        }
        if (spec->value == RUNOPT_OPTIONAL_VALUE) {
            value = (char *)inline_value;
        } else if (spec->value == RUNOPT_VALUE) {
            if (inline_value) {
                value = (char *)inline_value;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                     "option '%s' needs a value", word);
                goto error;
            }
        } else if (spec->value == RUNOPT_TWO_VALUES) {
            if (inline_value || i + 2 >= argc) {
                rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                     "option '%s' needs a KEY and a VALUE: "
                                     "'%s KEY VALUE'",
                                     word, word);
                goto error;
            }
            value = argv[++i];
            value2 = argv[++i];
        } else if (inline_value) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "option '%s' takes no value", word);
            goto error;
        }
        rc = runopt_apply(opt, spec, word, value, value2, error);
        if (rc < 0)
            goto error;
        if (opt->help || opt->version)
            return 0;
    }
    if (i >= argc) {
        rc = shoal_errprintf(error, SHOAL_EUSAGE, "no program given");
        goto error;
    }
    /* --cpus-per-rank is Open MPI 4's older spelling of :PE=n */
    if (opt->cpus_per_rank > 0) {
        if (opt->pe > 0 && opt->pe != opt->cpus_per_rank) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "--cpus-per-rank %d and --map-by ...:PE=%d "
                                 "disagree",
                                 opt->cpus_per_rank, opt->pe);
            goto error;
        }
        opt->pe = opt->cpus_per_rank;
    }
    /* copies of what? */
    if (opt->replicas_given && !opt->checkpoint) {
        rc = shoal_errprintf(error, SHOAL_EUSAGE,
                             "option '--replicas' needs --checkpoint");
        goto error;
    }
    opt->prog_argc = argc - i;
    opt->prog_argv = argv + i;
    return 0;
error:
    runopt_release(opt);
    return rc;
}

void runopt_release(struct runopt *opt)
{
    free(opt->hosts);
    free(opt->env);
    free(opt->mca);
    memset(opt, 0, sizeof(*opt));
}

void runopt_map_request(const struct runopt *opt, struct map_request *req)
{
    *req = (struct map_request){
        .nranks = opt->nranks,
        .map_by = opt->map_by,
        .pe = opt->pe,
        .ppr = opt->ppr,
        .rank_by = opt->rank_by,
        .bind_to = opt->bind_to,
        .oversubscribe = opt->oversubscribe,
        .use_hwthread_cpus = opt->use_hwthread_cpus,
        .overload_allowed = opt->overload_allowed,
    };
    memcpy(req->pe_list, opt->pe_list, sizeof(req->pe_list));
    req->span = opt->span;
}
