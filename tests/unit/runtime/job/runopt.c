/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/job/runopt.h"

TestSuite(runopt, .timeout = 10);

/* Parse a NULL-terminated list of words. */
static int parse(struct runopt *opt, shoal_error_t *err, char **words)
{
    int n = 0;

    while (words[n])
        n++;
    return runopt_parse(n, words, opt, err);
}

Test(runopt, open_mpi_spellings_of_rank_count)
{
    static char *forms[][4] = {
        {"-n", "3", "a.out", NULL},   {"-np", "3", "a.out", NULL},
        {"--np", "3", "a.out", NULL}, {"--n=3", "a.out", NULL, NULL},
        {"-c", "3", "a.out", NULL},
    };

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct runopt opt;
        shoal_error_t err = {{0}};
        cr_assert(eq(int, parse(&opt, &err, forms[i]), 0), "form %zu: %s", i,
                  err.text);
        cr_assert(eq(int, opt.nranks, 3), "form %zu", i);
        cr_assert(eq(int, opt.prog_argc, 1));
        cr_assert(eq(str, opt.prog_argv[0], "a.out"));
        runopt_release(&opt);
    }
}

Test(runopt, program_arguments_are_not_options)
{
    char *words[] = {"-n", "2", "--tag-output", "prog", "-n", "5", "--x", NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0));
    cr_assert(eq(int, opt.nranks, 2));
    cr_assert(opt.tag_output);
    cr_assert(eq(int, opt.prog_argc, 4));
    cr_assert(eq(str, opt.prog_argv[1], "-n"));
    cr_assert(eq(str, opt.prog_argv[3], "--x"));
    runopt_release(&opt);
}

Test(runopt, double_dash_ends_options)
{
    char *words[] = {"--oversubscribe", "--", "-weird-name", NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0));
    cr_assert(opt.oversubscribe);
    cr_assert(eq(str, opt.prog_argv[0], "-weird-name"));
    runopt_release(&opt);
}

Test(runopt, every_option_is_recorded)
{
    char *words[] = {"-H",
                     "localhost:2",
                     "--host",
                     "a,b",
                     "--hostfile",
                     "hf",
                     "--use-hwthread-cpus",
                     "--map-by",
                     "numa:PE=2",
                     "--rank-by",
                     "package",
                     "--bind-to",
                     "core",
                     "--report-bindings",
                     "-x",
                     "FOO",
                     "-x",
                     "BAR=1",
                     "--wdir",
                     "/tmp",
                     "--output-filename",
                     "out",
                     "--timeout",
                     "2.5",
                     "--enable-recovery",
                     "--checkpoint=5",
                     "--replicas",
                     "2",
                     "prog",
                     NULL};
    struct runopt opt;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, parse(&opt, &err, words), 0), "%s", err.text);
    cr_assert(eq(int, opt.nhosts, 2));
    cr_assert(eq(str, opt.hosts[1], "a,b"));
    cr_assert(eq(str, (char *)opt.hostfile, "hf"));
    cr_assert(opt.use_hwthread_cpus);
    cr_assert(eq(int, opt.map_by, MAP_LEVEL_NUMA));
    cr_assert(eq(int, opt.pe, 2));
    cr_assert(eq(int, opt.rank_by, MAP_LEVEL_PACKAGE));
    cr_assert(eq(int, opt.bind_to, MAP_BIND_CORE));
    cr_assert(opt.report_bindings);
    cr_assert(eq(int, opt.nenv, 2));
    cr_assert(eq(str, opt.env[1], "BAR=1"));
    cr_assert(eq(str, (char *)opt.wdir, "/tmp"));
    cr_assert(eq(str, (char *)opt.output_dir, "out"));
    cr_assert(eq(dbl, opt.timeout, 2.5));
    cr_assert(opt.enable_recovery);
    cr_assert(opt.checkpoint);
    cr_assert(eq(int, opt.replicas, 2));
    cr_assert(opt.replicas_given);
    runopt_release(&opt);
}

/* Without --replicas the run chooses (1 on a pool of several nodes, unless
 * --checkpoint-dir names a shared directory); --replicas 0 keeps one
 * directory on a pool too. */
Test(runopt, replicas_default_left_to_the_run)
{
    char *plain[] = {"--checkpoint", "prog", NULL};
    char *zero[] = {"--checkpoint", "--replicas", "0", "prog", NULL};
    struct runopt opt;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, parse(&opt, &err, plain), 0), "%s", err.text);
    cr_assert(not(opt.replicas_given));
    cr_assert(eq(int, opt.replicas, 0));
    runopt_release(&opt);
    cr_assert(eq(int, parse(&opt, &err, zero), 0), "%s", err.text);
    cr_assert(opt.replicas_given);
    cr_assert(eq(int, opt.replicas, 0));
    runopt_release(&opt);
}

Test(runopt, help_needs_no_program)
{
    char *words[] = {"--help", NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0));
    cr_assert(opt.help);
    cr_assert(strstr(runopt_usage(), "--map-by") != NULL);
    runopt_release(&opt);
}

Test(runopt, version_needs_no_program)
{
    char *words[] = {"-np", "2", "-V", NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0));
    cr_assert(opt.version);
    runopt_release(&opt);
}

Test(runopt, mca_pairs_are_kept_in_order)
{
    char *words[] = {"--mca", "btl", "self,tcp", "-gmca",
                     "pml",   "ob1", "prog",     NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0), "%s", err.text);
    cr_assert(eq(int, opt.nmca, 4));
    cr_assert(eq(str, opt.mca[0], "btl"));
    cr_assert(eq(str, opt.mca[1], "self,tcp"));
    cr_assert(eq(str, opt.mca[2], "pml"));
    cr_assert(eq(str, opt.mca[3], "ob1"));
    cr_assert(eq(str, opt.prog_argv[0], "prog"));
    runopt_release(&opt);
}

/* Criterion runs each case in a fresh process, so a case holds its text
 * by value: pointers into the parent would not survive. */
struct bad_case {
    char words[5][24];
    char message[64];
};

ParameterizedTestParameters(runopt, bad_arguments_are_refused)
{
    static struct bad_case cases[] = {
        {{"-n", "0", "prog"}, "invalid number of ranks '0'"},
        {{"-n", "-3", "prog"}, "invalid number of ranks '-3'"},
        {{"-n", "two", "prog"}, "invalid number of ranks 'two'"},
        {{"-n", "99999999999", "prog"}, "invalid number of ranks"},
        {{"--frobnicate", "prog"}, "unknown option '--frobnicate'"},
        {{"-n"}, "option '-n' needs a value"},
        {{"-n", "2"}, "no program given"},
        {{""}, "no program given"},
        {{"--timeout", "soon", "prog"}, "invalid timeout 'soon'"},
        {{"--timeout", "0", "prog"}, "invalid timeout '0'"},
        {{"--tag-output=yes", "prog"}, "takes no value"},
        {{"--map-by", "galaxy", "prog"}, "galaxy"},
        {{"--bind-to", "galaxy", "prog"}, "galaxy"},
        {{"-x", "=1", "prog"}, "expected VAR or VAR=VALUE"},
        {{"--replicas", "-1", "--checkpoint", "prog"}, "number of replicas"},
        {{"--replicas", "65", "--checkpoint", "prog"}, "number of replicas"},
        {{"--replicas", "0", "prog"}, "'--replicas' needs --checkpoint"},
        {{"--replicas", "1", "prog"}, "'--replicas' needs --checkpoint"},
        {{"--mca", "btl"}, "'--mca' needs a KEY and a VALUE"},
        {{"--npernode", "0", "prog"}, "invalid number of ranks per object"},
        {{"--map-by", "ppr:2:core", "prog"}, "is not supported"},
        {{"--mca=btl", "tcp", "prog"}, "needs a KEY and a VALUE"},
        {{"--mca", "a=b", "c", "prog"}, "invalid MCA parameter name 'a=b'"},
    };
    return cr_make_param_array(struct bad_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_case *c, runopt, bad_arguments_are_refused)
{
    char *words[6] = {NULL};
    struct runopt opt;
    shoal_error_t err = {{0}};
    int rc;

    for (int i = 0; i < 5 && c->words[i][0]; i++)
        words[i] = c->words[i];
    rc = parse(&opt, &err, words);

    cr_assert(eq(int, rc, SHOAL_EUSAGE), "rc %d for '%s'", rc, c->message);
    cr_assert(strstr(err.text, c->message) != NULL, "got '%s', want '%s'",
              err.text, c->message);
}

Test(runopt, map_request_carries_every_placement_option)
{
    char *words[] = {"-n",
                     "6",
                     "--map-by",
                     "package:PE=2",
                     "--rank-by",
                     "core",
                     "--bind-to",
                     "numa",
                     "--oversubscribe",
                     "--use-hwthread-cpus",
                     "prog",
                     NULL};
    struct runopt opt;
    struct map_request req;
    shoal_error_t err;

    memset(&opt, 0, sizeof(opt));
    cr_assert(eq(int, parse(&opt, &err, words), 0), "%s", err.text);
    runopt_map_request(&opt, &req);
    cr_assert(eq(int, req.nranks, 6));
    cr_assert(eq(int, req.map_by, MAP_LEVEL_PACKAGE));
    cr_assert(eq(int, req.pe, 2));
    cr_assert(eq(int, req.rank_by, MAP_LEVEL_CORE));
    cr_assert(eq(int, req.bind_to, MAP_BIND_NUMA));
    cr_assert(eq(int, req.oversubscribe, 1));
    cr_assert(eq(int, req.use_hwthread_cpus, 1));
    cr_assert(eq(int, req.ppr, 0));
    runopt_release(&opt);
}

/* Criterion runs each case in a fresh process: text by value. */
struct ppr_alias_case {
    char words[3][24];
    enum map_level level;
    int ppr;
};

ParameterizedTestParameters(runopt, ppr_and_its_aliases)
{
    static struct ppr_alias_case cases[] = {
        {{"--map-by", "ppr:2:socket"}, MAP_LEVEL_PACKAGE, 2},
        {{"--npernode", "3"}, MAP_LEVEL_NODE, 3},
        {{"-npernode", "3"}, MAP_LEVEL_NODE, 3},
        {{"-N", "4"}, MAP_LEVEL_NODE, 4},
        {{"--npersocket", "2"}, MAP_LEVEL_PACKAGE, 2},
        {{"-npersocket=1"}, MAP_LEVEL_PACKAGE, 1},
    };
    return cr_make_param_array(struct ppr_alias_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ppr_alias_case *c, runopt, ppr_and_its_aliases)
{
    char *words[5] = {NULL};
    struct runopt opt;
    struct map_request req;
    shoal_error_t err;
    int n = 0;

    for (int i = 0; i < 3 && c->words[i][0]; i++)
        words[n++] = c->words[i];
    words[n] = "prog";
    cr_assert(eq(int, parse(&opt, &err, words), 0), "%s", err.text);
    runopt_map_request(&opt, &req);
    cr_assert(eq(int, req.map_by, c->level), "%s", c->words[0]);
    cr_assert(eq(int, req.ppr, c->ppr), "%s", c->words[0]);
    runopt_release(&opt);
}

Test(runopt, display_map_is_recorded)
{
    char *words[] = {"--display-map", "prog", NULL};
    struct runopt opt;
    shoal_error_t err;

    cr_assert(eq(int, parse(&opt, &err, words), 0), "%s", err.text);
    cr_assert(opt.display_map);
    runopt_release(&opt);
}
