/* SPDX-License-Identifier: MIT */
/* slurm_node.c - one node's daemon of a private pool over a Slurm
 * allocation (see slurm_node.h). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/slurm/slurm_node.h"
#include "runtime/slurm/slurm_pool.h"
#include "util/fs.h"
#include "util/seal.h"

extern char **environ;

/* The CPUs this process may run on, as a list ("0-3,8") into buf, or ""
 * when they are all the machine's (or cannot be read). */
static void slurm_node_cpus(char *buf, size_t size)
{
    long total = sysconf(_SC_NPROCESSORS_CONF);
    cpu_set_t set;
    size_t used = 0;

    buf[0] = '\0';
    CPU_ZERO(&set);
    if (total <= 0 || sched_getaffinity(0, sizeof(set), &set) < 0
        || CPU_COUNT(&set) >= total)
        return;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        int last = cpu;
        int n;

        if (!CPU_ISSET(cpu, &set))
            continue;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
            last++;
        n = last > cpu ? snprintf(buf + used, size - used, "%s%d-%d",
                                  used ? "," : "", cpu, last)
                       : snprintf(buf + used, size - used, "%s%d",
                                  used ? "," : "", cpu);
        if (n < 0 || (size_t)n >= size - used) {
            buf[0] = '\0'; /* too many ranges: all, as without a list */
            return;
        }
        used += (size_t)n;
        cpu = last;
    }
}

/* The step's own variables: the daemons' step is not the ranks' job. */
static void slurm_node_forget_step(void)
{
    static const char *const names[] = {
        "SLURM_STEP_ID",
        "SLURM_STEPID",
        "SLURM_STEP_NUM_TASKS",
        "SLURM_STEP_NUM_NODES",
        "SLURM_STEP_NODELIST",
        "SLURM_STEP_TASKS_PER_NODE",
        "SLURM_STEP_LAUNCHER_PORT",
        "SLURM_STEP_RESV_PORTS",
        "SLURM_PROCID",
        "SLURM_LOCALID",
        "SLURM_GTIDS",
        "SLURM_NTASKS",
        "SLURM_NPROCS",
        "SLURM_TASKS_PER_NODE",
        "SLURM_TASK_PID",
        "SLURM_NTASKS_PER_NODE",
        "SLURM_CPU_BIND",
        "SLURM_CPU_BIND_LIST",
        "SLURM_CPU_BIND_TYPE",
        "SLURM_CPU_BIND_VERBOSE",
        "SLURM_SRUN_COMM_HOST",
        "SLURM_SRUN_COMM_PORT",
        "SLURM_JOB_NAME",
        "SLURM_MPI_TYPE",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
}

int slurm_node_prepare(const char *base,
                       struct slurm_node_setup *setup,
                       shoal_error_t *error)
{
    const char *text = getenv("SHOAL_SLURM_KEY");
    const char *node = getenv("SLURMD_NODENAME");
    char addr[64];
    seal_key_t key;
    int rc, port;

    memset(setup, 0, sizeof(*setup));
    if (!text || !*text)
        return shoal_errprintf(error, SHOAL_EUSAGE,
                               "no pool key (SHOAL_SLURM_KEY): shoal "
                               "slurm-node is started by shoal run inside a "
                               "Slurm allocation");
    rc = seal_key_parse(text, strlen(text), &key, error);
    unsetenv("SHOAL_SLURM_KEY");
    if (rc < 0)
        return rc;
    if (node && *node)
        snprintf(setup->name, sizeof(setup->name), "%s", node);
    else if (gethostname(setup->name, sizeof(setup->name) - 1) < 0)
        snprintf(setup->name, sizeof(setup->name), "localhost");
    snprintf(setup->dir, sizeof(setup->dir), "%s/node-%s", base, setup->name);
    if (fs_mkdir_p(setup->dir, 0700) < 0) {
        memset(&key, 0, sizeof(key));
        rc = shoal_errprintf(error, -errno, "cannot make '%s': %s", setup->dir,
                             strerror(errno));
        setup->dir[0] = '\0';
        return rc;
    }
    snprintf(setup->key_path, sizeof(setup->key_path), "%s/pool.key",
             setup->dir);
    unlink(setup->key_path);
    rc = seal_key_write(setup->key_path, &key, error);
    memset(&key, 0, sizeof(key));
    if (rc < 0)
        return rc;
    slurm_pool_host_addr(addr, sizeof(addr));
    port = slurm_pool_free_port(addr);
    if (port < 0)
        return shoal_errprintf(error, port, "no free port on %s: %s", addr,
                               strerror(-port));
    snprintf(setup->listen, sizeof(setup->listen), "%s:%d", addr, port);
    slurm_node_cpus(setup->cpus, sizeof(setup->cpus));
    slurm_node_forget_step();
    setenv("SHOAL_SPEED", "1000", 0);
    /* the pool ends all at once: no one to tell of the leave */
    setenv("SHOAL_LEAVE_ROUNDS", "0", 1);
    /* what the daemon and its proxies keep in temporary files (PMIx
     * servers' directories) goes with the node's directory, even when
     * the step's end kills a proxy before it cleaned up */
    setenv("TMPDIR", setup->dir, 1);
    return 0;
}

void slurm_node_cleanup(const struct slurm_node_setup *setup)
{
    if (setup->dir[0])
        fs_remove_tree(setup->dir);
}
