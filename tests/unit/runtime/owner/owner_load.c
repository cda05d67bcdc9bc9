/* SPDX-License-Identifier: MIT */
/* owner_load.c - the owner's load: the arithmetic on made-up counters,
 * then real busy processes inside and outside a process tree. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_load.h"

TestSuite(owner_load, .timeout = 20);

/* A child that spins (busy) or sleeps until killed. */
static pid_t child(bool busy)
{
    pid_t pid = fork();

    if (pid == 0) {
        for (volatile unsigned long i = 0;; i++)
            if (!busy)
                pause();
    }
    return pid;
}

static void end(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The loads seen over a second with root as the daemon. */
static void measure(pid_t root, double *owner, double *jobs)
{
    struct owner_load_counters a, b;

    cr_assert(eq(int, owner_load_read(root, &a), 0));
    usleep(1000 * 1000);
    cr_assert(eq(int, owner_load_read(root, &b), 0));
    cr_assert(eq(int, owner_load_compute(&a, &b, owner, jobs), 0));
}

Test(owner_load, the_machine_less_the_jobs_in_cores)
{
    struct owner_load_counters a = {100, 1000, 20, 2}, b = {400, 1200, 120, 2};
    double o, j;
    cr_assert(eq(int, owner_load_compute(&a, &b, &o, &j), 0));
    cr_assert(eq(dbl, o, 2.0));
    cr_assert(eq(dbl, j, 1.0));
}

Test(owner_load, counters_that_went_back_count_nothing_below_zero)
{
    struct owner_load_counters a = {100, 1000, 500, 2}, b = {150, 1100, 100, 2};
    double o, j;
    cr_assert(eq(int, owner_load_compute(&a, &b, &o, &j), 0));
    cr_assert(eq(dbl, j, 0.0));
    cr_assert(eq(dbl, o, 1.0));
    cr_assert(eq(int, owner_load_compute(&b, &b, &o, &j), -EAGAIN));
}

Test(owner_load, a_busy_job_process_counts_as_the_jobs_not_the_owner)
{
    pid_t busy = child(true);
    double o, j;
    measure(getpid(), &o, &j);
    end(busy);
    /* on a loaded machine a busy loop may get a fraction of a core: what
     * matters is whose it is */
    cr_assert(ge(dbl, j, 0.1), "jobs %.2f owner %.2f", j, o);
}

Test(owner_load, a_busy_process_outside_the_jobs_is_the_owners)
{
    pid_t idle = child(false), busy = child(true);
    double o, j;
    measure(idle, &o, &j);
    end(busy);
    end(idle);
    cr_assert(ge(dbl, o, 0.1), "owner %.2f jobs %.2f", o, j);
    cr_assert(lt(dbl, j, 0.1), "jobs %.2f", j);
}

Test(owner_load, the_source_reads_0_first_then_the_interval)
{
    struct owner_source *s;
    double v = -1;
    cr_assert(eq(int, owner_load_source_create(getpid(), &s), 0));
    cr_assert(eq(int, owner_source_sample(s, 0, &v), 0));
    cr_assert(eq(dbl, v, 0.0));
    usleep(200000);
    cr_assert(eq(int, owner_source_sample(s, 0, &v), 0));
    cr_assert(ge(dbl, v, 0.0));
    owner_source_destroy(s);
}
