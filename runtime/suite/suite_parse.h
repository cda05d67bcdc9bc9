/* SPDX-License-Identifier: MIT */
/* suite_parse.h - a benchmark suite file (YAML, read with libyaml) as the
 * runner sees it.
 *
 * The smallest suite:
 *
 *     benchmarks:
 *       - name: nap
 *         command: [sleep, "{t}"]
 *         matrix: {t: [0.01, 0.02]}
 *         repeat: 3
 *
 * Top-level keys: benchmarks (required, a sequence), name, description.
 * Keys of a benchmark (README.md, "Benchmark suites", has the whole list):
 * name, command (a sequence of words, or one string run with /bin/sh -c),
 * matrix (parameter -> sequence of scalars), exclude (a sequence of maps
 * parameter -> value; a combination matching every pair of one entry is
 * left out), env (map), warmup, repeat, timeout (seconds), mpi (ranks,
 * nodes, map-by, bind-to, oversubscribe, exclusive: the command runs as a
 * `shoal run` gang job), parse (json, osu, imb, npb, or {regex: PATTERN} with
 * named groups), figures (name -> {unit, better: lower|higher}), papi (a
 * sequence of PAPI event names), precision ({ci: X%, max: M, figure: F},
 * suite_stats_precision() is the rule; M >= 6, as fewer repetitions
 * never give a 95% interval), noise ({max-load: L, wait: S}), optional
 * (true: skipped when its program is missing), local (true: a plain
 * command runs on this node, never as a pool task). Top-level vars (name ->
 * value) are substituted as "{name}" like parameters.
 *
 * "{p}" in a command word or an env value is replaced by parameter p's
 * value; "{p}" naming no parameter is an error, other braces are kept,
 * and so is "${p}" (the shell's).
 *
 * Every error names the file, the line and the key, as
 * "nap.yaml:4: unknown key 'repat' in benchmark 'nap'", and the whole file
 * is refused: nothing of it runs. Unknown keys, duplicate keys, a bad
 * matrix (empty, not scalars, a value twice, an exclude naming no
 * parameter or value, every combination excluded) and duplicate benchmark
 * names are errors. Pure apart from reading the file; not thread-safe. */
#ifndef SHOAL_SUITE_PARSE_H
#define SHOAL_SUITE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <shoal/error.h>

/* How figures are read from a repetition's standard output. */
enum suite_parser {
    SUITE_PARSER_NONE = 0, /* wall time only */
    SUITE_PARSER_REGEX,    /* named groups of a PCRE2 pattern, each match */
    SUITE_PARSER_JSON,     /* numeric members of JSON-object lines */
    SUITE_PARSER_OSU,      /* OSU micro-benchmarks tables */
    SUITE_PARSER_IMB,      /* Intel MPI Benchmarks tables */
    SUITE_PARSER_NPB,      /* NAS Parallel Benchmarks summary */
};

struct suite_figure_spec {
    char *name;
    char *unit; /* "" when not given */
    bool higher_better;
    bool better_given; /* the file said `better:` */
};

struct suite_param {
    char *name;
    char **values; /* as written in the file */
    size_t nvalues;
};

/* One exclude entry: params[i] == values[i] for every i. Indexes are into
 * the benchmark's params and each param's values. */
struct suite_exclude {
    size_t *param;
    size_t *value;
    size_t n;
};

/* A suite variable: `vars: {osu: /usr/lib/osu}` at the top of the file,
 * "{osu}" in any benchmark's command, env or mpi ranks. The variable
 * "shoal" is always there: the shoal program that runs the suite. */
struct suite_var {
    char *name;
    char *value;
};

struct suite_bench {
    char *name;
    int line;         /* where the benchmark starts in the file */
    char **command;   /* NULL-terminated words, before substitution */
    int command_line; /* where the command is in the file */
    char **env;       /* NULL-terminated "NAME=value" templates */
    struct suite_param *params;
    size_t nparams;
    struct suite_exclude *excludes;
    size_t nexcludes;
    unsigned warmup;   /* default 0 */
    unsigned repeat;   /* default 5 */
    bool repeat_given; /* the file said `repeat:` */
    /* precision: {ci: X%, max: M, figure: F}: repeat until the 95%
     * interval of F's median (every point of it) is within X of the
     * median, at most M times; `repeat:` is then the least count */
    double precision;       /* X as a fraction; 0 = fixed repeat */
    unsigned precision_max; /* default 50 */
    char *precision_figure; /* default "wall" */
    /* noise: {max-load: L, wait: S}: a repetition is flagged when the
     * node's load per CPU (suite_noise.h) is above L; before one, wait
     * up to S seconds for the load to drop */
    /* optional: true: a program that is not there skips this benchmark
     * (said once) instead of refusing the suite */
    bool optional;
    /* local: true: a plain command runs on this node even when a pool
     * daemon answers (otherwise it runs as a pool task) */
    bool local;
    const struct suite_var *vars; /* the suite's, borrowed */
    size_t nvars;
    bool noise;
    double noise_max_load; /* default 0.5 */
    double noise_wait;     /* seconds; default 0 */
    double timeout;        /* seconds; 0 = none */
    bool mpi;              /* run as a gang job with `shoal run` */
    unsigned ranks;
    char *ranks_tmpl; /* ranks: "{n}" (substituted per case), or NULL */
    /* nodes: N: ranks/N ranks per node (`shoal run --npernode`, rounded up
     * when a case's N does not divide its ranks); 0 when not given */
    unsigned nodes;
    char *nodes_tmpl; /* nodes: "{k}", or NULL */
    char *map_by;     /* NULL: shoal run's default */
    char *bind_to;    /* NULL: shoal run's default */
    bool oversubscribe;
    bool exclusive; /* on a pool, whole nodes no other job uses */
    enum suite_parser parser;
    char *regex; /* SUITE_PARSER_REGEX */
    struct suite_figure_spec *figures;
    size_t nfigures;
    char **papi; /* NULL-terminated event names, or NULL */
};

struct suite {
    char *path;
    char *name;    /* the file's name: key, else NULL */
    char hash[65]; /* BLAKE2b-256 of the file's bytes, hex */
    char *text;    /* the file's bytes, NUL-terminated */
    struct suite_bench *benches;
    size_t nbenches;
    struct suite_var *vars; /* "shoal" first */
    size_t nvars;
};

/* Parse text (len bytes) as the suite file path (used in messages and
 * kept). Returns 0 and sets *out (free with suite_free()), -EINVAL with
 * error filled for a bad file, or -ENOMEM. */
int suite_parse_text(const char *path,
                     const char *text,
                     size_t len,
                     struct suite **out,
                     shoal_error_t *error);

/* Read the file at path and parse it as suite_parse_text() does; a file
 * that cannot be read gives its errno with error filled. */
int suite_parse_file(const char *path,
                     struct suite **out,
                     shoal_error_t *error);

/* Set variable name to value (copied). Returns 0, -ENOENT with error
 * filled when the file declares no such variable, or -ENOMEM. */
int suite_set_var(struct suite *suite,
                  const char *name,
                  const char *value,
                  shoal_error_t *error);

/* Free a suite; NULL is accepted. */
void suite_free(struct suite *suite);

/* The spec of figure name in bench, or NULL. */
const struct suite_figure_spec *
suite_bench_figure(const struct suite_bench *bench, const char *name);

/* "regex", "json", "osu", "imb", "npb" or "none"; static. */
const char *suite_parser_name(enum suite_parser parser);

#endif
