/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "util/slurmlist.h"

TestSuite(slurmlist, .timeout = 10);

/* The names of list joined by spaces. */
static char *joined(const char *list)
{
    shoal_error_t err = {{0}};
    char **names = NULL, *text;
    size_t size = 1;
    int count = -1;

    cr_assert(eq(int, slurmlist_hosts(list, &names, &count, &err), 0),
              "'%s': %s", list, err.text);
    for (int i = 0; i < count; i++)
        size += strlen(names[i]) + 1;
    text = calloc(1, size);
    cr_assert(text != NULL);
    for (int i = 0; i < count; i++) {
        strcat(text, names[i]);
        if (i + 1 < count)
            strcat(text, " ");
    }
    cr_assert(names[count] == NULL, "the array ends with NULL");
    slurmlist_free(names);
    return text;
}

/* Parameters are copied into each test's process, which Criterion
 * starts anew (with its own address layout): text, not pointers. */
struct slurmlist_case {
    char list[32];
    char names[64];
};

ParameterizedTestParameters(slurmlist, expands_like_slurm)
{
    static struct slurmlist_case cases[] = {
        {"node1", "node1"},
        {"a,b,c", "a b c"},
        {"n[1-3,5],m7", "n1 n2 n3 n5 m7"},
        {"node[1-2]", "node1 node2"},
        {"n[08-11]", "n08 n09 n10 n11"},
        {"n[1]", "n1"},
        {"r[1-2]n[1-2]", "r1n1 r1n2 r2n1 r2n2"},
        {"x[3-4]-ib,y", "x3-ib x4-ib y"},
        {"gpu-[007,010-011]", "gpu-007 gpu-010 gpu-011"},
    };
    return cr_make_param_array(struct slurmlist_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct slurmlist_case *c, slurmlist, expands_like_slurm)
{
    char *got = joined(c->list);

    cr_assert(eq(str, got, c->names), "'%s'", c->list);
    free(got);
}

struct slurmlist_bad {
    char list[32];
    char error[96];
};

ParameterizedTestParameters(slurmlist, refuses_bad_lists_naming_them)
{
    static struct slurmlist_bad cases[] = {
        {"", "empty Slurm host list"},
        {"a,,b", "empty name in Slurm host list 'a,,b'"},
        {"n[1-3", "unbalanced '[' in Slurm host list 'n[1-3'"},
        {"n1-3]", "unbalanced ']' in Slurm host list 'n1-3]'"},
        {"n[3-1]", "bad range '3-1' in Slurm host list 'n[3-1]'"},
        {"n[a-b]", "bad range 'a-b' in Slurm host list 'n[a-b]'"},
        {"n[]", "bad range '' in Slurm host list 'n[]'"},
        {"n[1,,2]", "bad range '' in Slurm host list 'n[1,,2]'"},
        {"n[0-9999999]",
         "Slurm host list 'n[0-9999999]' names more than 1048576 hosts"},
    };
    return cr_make_param_array(struct slurmlist_bad, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct slurmlist_bad *c,
                  slurmlist,
                  refuses_bad_lists_naming_them)
{
    shoal_error_t err = {{0}};
    char **names = (char **)0x1;
    int count = -7;

    cr_assert(
        eq(int, slurmlist_hosts(c->list, &names, &count, &err), SHOAL_EUSAGE),
        "'%s'", c->list);
    cr_assert(eq(str, err.text, c->error));
    cr_assert(names == (char **)0x1 && count == -7, "outputs untouched");
}

Test(slurmlist, counts_with_repeats)
{
    shoal_error_t err = {{0}};
    int counts[6] = {0};

    cr_assert(eq(int, slurmlist_counts("2(x3),1", 4, counts, &err), 0), "%s",
              err.text);
    cr_assert(counts[0] == 2 && counts[1] == 2 && counts[2] == 2
                  && counts[3] == 1,
              "%d %d %d %d", counts[0], counts[1], counts[2], counts[3]);
    cr_assert(eq(int, slurmlist_counts("4", 1, counts, &err), 0));
    cr_assert(eq(int, counts[0], 4));
    cr_assert(eq(int, slurmlist_counts("1,3(x2),16", 4, counts, &err), 0));
    cr_assert(counts[0] == 1 && counts[1] == 3 && counts[2] == 3
                  && counts[3] == 16,
              "%d %d %d %d", counts[0], counts[1], counts[2], counts[3]);
}

struct slurmlist_bad_count {
    char spec[16];
    int n;
    char error[96];
};

ParameterizedTestParameters(slurmlist, refuses_bad_counts_naming_them)
{
    static struct slurmlist_bad_count cases[] = {
        {"", 1, "empty Slurm count list"},
        {"2(x3)", 2, "Slurm count list '2(x3)' gives more than 2 counts"},
        {"2,2", 3, "Slurm count list '2,2' gives 2 counts for 3 nodes"},
        {"0", 1, "bad count in Slurm count list '0'"},
        {"-1", 1, "bad count in Slurm count list '-1'"},
        {"2(x0)", 1, "bad repeat in Slurm count list '2(x0)'"},
        {"2(x", 1, "bad repeat in Slurm count list '2(x'"},
        {"2x", 1, "bad count in Slurm count list '2x'"},
        {"2,", 2, "bad count in Slurm count list '2,'"},
    };
    return cr_make_param_array(struct slurmlist_bad_count, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct slurmlist_bad_count *c,
                  slurmlist,
                  refuses_bad_counts_naming_them)
{
    shoal_error_t err = {{0}};
    int counts[4];

    cr_assert(
        eq(int, slurmlist_counts(c->spec, c->n, counts, &err), SHOAL_EUSAGE),
        "'%s'", c->spec);
    cr_assert(eq(str, err.text, c->error));
}
