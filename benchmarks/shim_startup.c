/* SPDX-License-Identifier: MIT */
/* shim_startup.c - what an MPI library costs a program that does nothing:
 * the time from exec to main (loading the library and what it pulls in),
 * MPI_Init and MPI_Finalize, each clocked from inside the program. Built
 * alike with shoal's mpicc and a reference mpicc; run by shim-startup.sh.
 * Rank 0 prints one line: "premain_ms init_ms finalize_ms". */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Milliseconds since the kernel started this process (field 22 of
 * /proc/self/stat, in clock ticks since boot): the loader's work and
 * every library constructor. Resolution is one tick (10 ms). */
static double since_exec_ms(void)
{
    char buf[1024];
    unsigned long long start = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces: count fields after its ')'. */
    char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
                     "%*d %*d %*d %*d %*d %*d %llu",
                     &start)
                  != 1)
        return -1;
    return now_ms(CLOCK_BOOTTIME) - (double)start * 1e3 / sysconf(_SC_CLK_TCK);
}

int main(int argc, char **argv)
{
    double premain = since_exec_ms();
    double t0 = now_ms(CLOCK_MONOTONIC);
    int rank;

    MPI_Init(&argc, &argv);
    double t1 = now_ms(CLOCK_MONOTONIC);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    double t2 = now_ms(CLOCK_MONOTONIC);
    MPI_Finalize();
    double t3 = now_ms(CLOCK_MONOTONIC);
    if (rank == 0)
        printf("%.1f %.1f %.1f\n", premain, t1 - t0, t3 - t2);
    return 0;
}
