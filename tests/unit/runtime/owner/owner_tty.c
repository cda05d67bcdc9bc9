/* SPDX-License-Identifier: MIT */
/* owner_tty.c - keyboard idle from a real pty: its slave watched through
 * the glob, made old with utimensat (the kernel moves a tty's atime at
 * most once per 8 s window, so a test cannot wait for idleness), then
 * typed into through the master while a child reads the slave as a shell
 * would. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/owner/owner_tty.h"

TestSuite(owner_tty, .timeout = 10);

struct pty {
    int master, slave;
    char name[64];
    pid_t reader;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A pty with a child reading its slave, last used `age` seconds ago. */
static void pty_open(struct pty *p, double age)
{
    struct timespec times[2];

    cr_assert(eq(int, openpty(&p->master, &p->slave, p->name, NULL, NULL), 0));
    p->reader = fork();
    if (p->reader == 0) {
        char buf[64];
        while (read(p->slave, buf, sizeof(buf)) > 0) {
        }
        _exit(0);
    }
    times[0].tv_sec = times[1].tv_sec = (time_t)(now_s() - age);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    cr_assert(eq(int, utimensat(AT_FDCWD, p->name, times, 0), 0));
}

static void pty_close(struct pty *p)
{
    kill(p->reader, SIGKILL);
    waitpid(p->reader, NULL, 0);
    close(p->master);
    close(p->slave);
}

/* The idle time the source sees of the pty p, or the error. */
static int idle_of(const char *glob, double *idle)
{
    struct owner_source *src;
    int rc;

    cr_assert(eq(int, owner_tty_source_create("", glob, &src), 0));
    rc = owner_source_sample(src, now_s(), idle);
    owner_source_destroy(src);
    return rc;
}

Test(owner_tty, an_untouched_pty_reads_as_long_idle)
{
    struct pty p;
    double idle = 0;
    pty_open(&p, 1000);
    cr_assert(eq(int, idle_of(p.name, &idle), 0));
    cr_assert(ge(dbl, idle, 999.0), "idle %.1f", idle);
    pty_close(&p);
}

Test(owner_tty, typing_into_the_master_makes_it_active)
{
    struct pty p;
    double idle = 0;
    pty_open(&p, 1000);
    cr_assert(eq(int, (int)write(p.master, "ls\n", 3), 3));
    for (int i = 0; i < 100 && idle_of(p.name, &idle) == 0 && idle > 2; i++)
        usleep(20000);
    cr_assert(lt(dbl, idle, 2.0), "idle %.1f after typing", idle);
    pty_close(&p);
}

Test(owner_tty, no_terminal_to_watch_is_not_present)
{
    double idle = -1;
    cr_assert(eq(int, idle_of("/nonexistent/tty*", &idle), -ENODEV));
    cr_assert(eq(int, idle_of(NULL, &idle), -ENODEV));
}

Test(owner_tty, a_file_that_is_not_a_terminal_is_not_watched)
{
    double idle = -1;
    cr_assert(eq(int, idle_of("/etc/hostname", &idle), -ENODEV), "idle %.1f",
              idle);
}
