/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/slurm/slurm_alloc.h"

static void slurm_alloc_setup(void)
{
    unsetenv("SHOAL_SLURM");
}

TestSuite(slurm_alloc, .timeout = 10, .init = slurm_alloc_setup);

Test(slurm_alloc, nodes_and_tasks_per_node)
{
    char *env[] = {"PATH=/bin",
                   "SLURM_JOB_ID=42",
                   "SLURM_JOB_NODELIST=n[1-3],m7",
                   "SLURM_TASKS_PER_NODE=2(x3),1",
                   "SLURM_JOB_CPUS_PER_NODE=8(x4)",
                   NULL};
    struct slurm_alloc a;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, slurm_alloc_read(env, &a, &err), 1), "%s", err.text);
    cr_assert(eq(str, a.job_id, "42"));
    cr_assert(eq(int, a.nnodes, 4));
    cr_assert(eq(str, a.nodes[0], "n1"));
    cr_assert(eq(str, a.nodes[3], "m7"));
    cr_assert(a.slots[0] == 2 && a.slots[2] == 2 && a.slots[3] == 1,
              "tasks per node win over CPUs: %d %d %d", a.slots[0], a.slots[2],
              a.slots[3]);
    cr_assert(eq(int, a.total, 7));
    slurm_alloc_release(&a);
}

Test(slurm_alloc, cpus_per_node_without_tasks)
{
    char *env[] = {"SLURM_JOBID=7", "SLURM_NODELIST=a,b",
                   "SLURM_JOB_CPUS_PER_NODE=4,2", NULL};
    struct slurm_alloc a;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, slurm_alloc_read(env, &a, &err), 1), "%s", err.text);
    cr_assert(a.slots[0] == 4 && a.slots[1] == 2 && a.total == 6, "%d %d %d",
              a.slots[0], a.slots[1], a.total);
    slurm_alloc_release(&a);
}

Test(slurm_alloc, none_outside_an_allocation_or_when_turned_off)
{
    char *none[] = {"PATH=/bin", NULL};
    char *env[] = {"SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a",
                   "SLURM_TASKS_PER_NODE=1", NULL};
    struct slurm_alloc a;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, slurm_alloc_read(none, &a, &err), 0));
    cr_assert(a.nodes == NULL && a.nnodes == 0);
    setenv("SHOAL_SLURM", "no", 1);
    cr_assert(eq(int, slurm_alloc_read(env, &a, &err), 0));
    setenv("SHOAL_SLURM", "off", 1);
    cr_assert(eq(int, slurm_alloc_read(env, &a, &err), SHOAL_EUSAGE));
    cr_assert(
        eq(str, err.text, "invalid SHOAL_SLURM='off': expected auto or no"));
    unsetenv("SHOAL_SLURM");
}

Test(slurm_alloc, bad_variables_are_named)
{
    char *nolist[] = {"SLURM_JOB_ID=3", "SLURM_TASKS_PER_NODE=1", NULL};
    char *nocounts[] = {"SLURM_JOB_ID=3", "SLURM_JOB_NODELIST=a", NULL};
    char *badlist[] = {"SLURM_JOB_ID=3", "SLURM_JOB_NODELIST=a[1-",
                       "SLURM_TASKS_PER_NODE=1", NULL};
    char *short_counts[] = {"SLURM_JOB_ID=3", "SLURM_JOB_NODELIST=a[1-3]",
                            "SLURM_TASKS_PER_NODE=2(x2)", NULL};
    struct slurm_alloc a;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, slurm_alloc_read(nolist, &a, &err), SHOAL_EUSAGE));
    cr_assert(eq(str, err.text,
                 "Slurm job 3: SLURM_JOB_NODELIST is not set (SHOAL_SLURM=no "
                 "ignores the allocation)"));
    cr_assert(eq(int, slurm_alloc_read(nocounts, &a, &err), SHOAL_EUSAGE));
    cr_assert(strstr(err.text, "neither SLURM_TASKS_PER_NODE nor "
                               "SLURM_JOB_CPUS_PER_NODE is set")
                  != NULL,
              "%s", err.text);
    cr_assert(eq(int, slurm_alloc_read(badlist, &a, &err), SHOAL_EUSAGE));
    cr_assert(eq(str, err.text,
                 "Slurm job 3: SLURM_JOB_NODELIST: unbalanced '[' in Slurm "
                 "host list 'a[1-'"));
    cr_assert(eq(int, slurm_alloc_read(short_counts, &a, &err), SHOAL_EUSAGE));
    cr_assert(eq(str, err.text,
                 "Slurm job 3: SLURM_TASKS_PER_NODE: Slurm count list "
                 "'2(x2)' gives 2 counts for 3 nodes"));
    cr_assert(a.nodes == NULL, "nothing kept on failure");
}

Test(slurm_alloc, hosts_all_or_a_subset)
{
    char *env[] = {"SLURM_JOB_ID=9", "SLURM_JOB_NODELIST=node[1-2]",
                   "SLURM_TASKS_PER_NODE=2(x2)", NULL};
    struct slurm_alloc a;
    struct hostlist wanted = {0}, out;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, slurm_alloc_read(env, &a, &err), 1));
    cr_assert(eq(int, slurm_alloc_hosts(&a, NULL, &out, &err), 0));
    cr_assert(eq(int, out.count, 2));
    cr_assert(eq(str, out.entries[1].name, "node2"));
    cr_assert(eq(int, out.entries[1].slots, 2));
    hostlist_release(&out);

    cr_assert(eq(int, hostlist_add_arg(&wanted, "node2:1", &err), 0));
    cr_assert(eq(int, slurm_alloc_hosts(&a, &wanted, &out, &err), 0));
    cr_assert(out.count == 1 && out.entries[0].slots == 1, "%d %d", out.count,
              out.entries[0].slots);
    hostlist_release(&out);

    cr_assert(eq(int, hostlist_add_arg(&wanted, "node3", &err), 0));
    cr_assert(
        eq(int, slurm_alloc_hosts(&a, &wanted, &out, &err), SHOAL_ENOHOST));
    cr_assert(eq(str, err.text,
                 "host 'node3' is not in Slurm job 9's allocation "
                 "(node[1-2])"));
    cr_assert(eq(int, out.count, 0));
    hostlist_release(&wanted);
    slurm_alloc_release(&a);
}
