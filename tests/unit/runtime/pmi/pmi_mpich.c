/* SPDX-License-Identifier: MIT */
/* An unmodified MPICH program, wired up by the PMI server alone.
 *
 * Each rank is started the way a launcher does it: a socketpair whose
 * child end is PMI_FD, PMI_RANK and PMI_SIZE in the environment and no
 * other PMI variable, so MPICH talks to nothing but the server under test.
 * A poll() loop feeds what the ranks send to pmi_server_input(). Everything
 * is bounded in time, and every rank is reaped before a test returns. */
#include "config.h" /* _GNU_SOURCE, for asprintf() and pipe2() */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/pmi/pmi_server.h"

TestSuite(pmi_mpich, .timeout = 120);

extern char **environ;

enum {
    JOB_RANKS_MAX = 4,
    JOB_OUTPUT_MAX = 4096,
    JOB_RUN_MS = 30000,  /* MPI_Init to exit, for all ranks */
    JOB_REAP_MS = 10000, /* after the last socket closed */
    JOB_UNIVERSE_SIZE = 8,
};

struct job_output {
    int fd; /* -1 once closed */
    size_t len;
    char text[JOB_OUTPUT_MAX];
};

struct job_rank {
    pid_t pid;
    int pmi_fd; /* our end of the rank's PMI_FD socket; -1 once closed */
    struct job_output out;
    struct job_output err;
    bool reaped;
    int status;
};

struct job {
    int size;
    struct job_rank ranks[JOB_RANKS_MAX];
    pmi_server_t *server;
    bool killed;
    bool timed_out;
    int input_rc; /* first failure of pmi_server_input() */
    shoal_error_t input_error;
    int nabort;
    int abort_rank;
    int abort_code;
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int job_send(int rank, const char *buf, size_t len, void *arg)
{
    struct job *job = arg;
    int fd = job->ranks[rank].pmi_fd;

    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void job_abort(int rank, int exitcode, const char *msg, void *arg)
{
    struct job *job = arg;

    (void)msg;
    job->nabort++;
    job->abort_rank = rank;
    job->abort_code = exitcode;
}

/* Kill every rank not yet reaped; our own unreaped children only, so no
 * pid can have been reused. */
static void job_kill(struct job *job)
{
    for (int r = 0; r < job->size; r++) {
        if (job->ranks[r].pid > 0 && !job->ranks[r].reaped)
            kill(job->ranks[r].pid, SIGKILL);
    }
    job->killed = true;
}

/* The environment of rank: ours without any PMI_ or PMIX_ variable, plus
 * the three a PMI-1 launcher sets. Built before fork(), freed by the
 * caller. */
static char **job_environment(int rank, int size, int fd)
{
    size_t n = 0;

    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof(*env));
    cr_assert(ne(ptr, env, NULL));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PMI_", 4) != 0
            && strncmp(environ[i], "PMIX_", 5) != 0)
            env[k++] = environ[i];
    }
    cr_assert(ge(int, asprintf(&env[k++], "PMI_FD=%d", fd), 0));
    cr_assert(ge(int, asprintf(&env[k++], "PMI_RANK=%d", rank), 0));
    cr_assert(ge(int, asprintf(&env[k++], "PMI_SIZE=%d", size), 0));
    return env;
}

static void job_free_environment(char **env)
{
    size_t n = 0;

    while (env[n])
        n++;
    for (size_t i = n - 3; i < n; i++)
        free(env[i]);
    free(env);
}

static void job_start_rank(struct job *job, int rank, char *const argv[])
{
    struct job_rank *r = &job->ranks[rank];
    int sv[2];
    int out[2];
    int err[2];

    cr_assert(
        eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0));
    cr_assert(eq(int, pipe2(out, O_CLOEXEC), 0));
    cr_assert(eq(int, pipe2(err, O_CLOEXEC), 0));
    char **env = job_environment(rank, job->size, sv[1]);
    pid_t parent = getpid();

    r->pid = fork();
    cr_assert(ge(int, r->pid, 0), "fork: %s", strerror(errno));
    if (r->pid == 0) {
        /* die with the test, whatever ends it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0
            || fcntl(sv[1], F_SETFD, 0) < 0)
            _exit(126);
        execve(argv[0], argv, env);
        _exit(127);
    }
    job_free_environment(env);
    close(sv[1]);
    close(out[1]);
    close(err[1]);
    r->pmi_fd = sv[0];
    r->out.fd = out[0];
    r->err.fd = err[0];
}

static void job_read_output(struct job_output *o)
{
    char buf[1024];
    ssize_t n = read(o->fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        close(o->fd);
        o->fd = -1;
        return;
    }
    size_t keep = (size_t)n;
    if (keep > sizeof(o->text) - 1 - o->len)
        keep = sizeof(o->text) - 1 - o->len;
    memcpy(o->text + o->len, buf, keep);
    o->len += keep;
    o->text[o->len] = '\0';
}

static void job_read_pmi(struct job *job, int rank)
{
    struct job_rank *r = &job->ranks[rank];
    char buf[4096];
    ssize_t n = read(r->pmi_fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        close(r->pmi_fd);
        r->pmi_fd = -1;
        return;
    }
    shoal_error_t error = {{0}};
    int rc = pmi_server_input(job->server, rank, buf, (size_t)n, &error);
    if (rc < 0 && job->input_rc == 0) {
        job->input_rc = rc;
        job->input_error = error;
    }
    if (rc < 0)
        job_kill(job);
}

/* Serve the ranks until every socket and pipe is closed or time is up. A
 * launcher ends the job on abort or on a protocol fault: so do we. */
static void job_serve(struct job *job)
{
    long deadline = now_ms() + JOB_RUN_MS;

    for (;;) {
        struct pollfd fds[3 * JOB_RANKS_MAX];
        int owner[3 * JOB_RANKS_MAX]; /* rank * 3 + which */
        nfds_t nfds = 0;

        if (job->nabort > 0 && !job->killed)
            job_kill(job);
        for (int r = 0; r < job->size; r++) {
            int fd[3] = {job->ranks[r].pmi_fd, job->ranks[r].out.fd,
                         job->ranks[r].err.fd};
            for (int w = 0; w < 3; w++) {
                if (fd[w] < 0)
                    continue;
                fds[nfds] = (struct pollfd){.fd = fd[w], .events = POLLIN};
                owner[nfds++] = r * 3 + w;
            }
        }
        if (nfds == 0)
            return;
        long left = deadline - now_ms();
        if (left <= 0) {
            job->timed_out = true;
            job_kill(job);
            return;
        }
        int ready = poll(fds, nfds, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        cr_assert(ge(int, ready, 0), "poll: %s", strerror(errno));
        for (nfds_t i = 0; i < nfds; i++) {
            if (!fds[i].revents)
                continue;
            int r = owner[i] / 3;
            if (owner[i] % 3 == 0)
                job_read_pmi(job, r);
            else if (owner[i] % 3 == 1)
                job_read_output(&job->ranks[r].out);
            else
                job_read_output(&job->ranks[r].err);
        }
    }
}

/* Reap every rank; one that outlives JOB_REAP_MS is killed. Closes what
 * job_serve() left open. */
static void job_reap(struct job *job)
{
    long deadline = now_ms() + JOB_REAP_MS;

    for (int r = 0; r < job->size; r++) {
        struct job_rank *rank = &job->ranks[r];
        while (!rank->reaped) {
            pid_t pid = waitpid(rank->pid, &rank->status, WNOHANG);
            if (pid == rank->pid) {
                rank->reaped = true;
            } else if (pid < 0 && errno != EINTR) {
                cr_fatal("waitpid %d: %s", (int)rank->pid, strerror(errno));
            } else if (now_ms() > deadline) {
                job->timed_out = true;
                job_kill(job);
                deadline = now_ms() + JOB_REAP_MS;
            } else {
                usleep(10000);
            }
        }
        int fds[3] = {rank->pmi_fd, rank->out.fd, rank->err.fd};
        for (int w = 0; w < 3; w++) {
            if (fds[w] >= 0)
                close(fds[w]);
        }
    }
}

/* Path of the MPICH program make built; skips the test without MPICH. */
static const char *hello_path(void)
{
    static char path[4096];
    const char *mpicc = getenv("MPICC_MPICH");
    const char *builddir = getenv("SHOAL_BUILDDIR");

    if (!mpicc || !*mpicc)
        cr_skip_test("MPICH not found: MPICC_MPICH is empty");
    cr_assert(ne(ptr, (void *)builddir, NULL), "SHOAL_BUILDDIR is not set");
    snprintf(path, sizeof(path), "%s/tests/unit/runtime/pmi/pmi_hello.mpich",
             builddir);
    cr_assert(eq(int, access(path, X_OK), 0), "%s: %s", path, strerror(errno));
    return path;
}

/* Start size ranks of argv under a fresh server, serve them, reap them. */
static void job_run(struct job *job, int size, char *const argv[])
{
    static const struct pmi_server_ops ops = {
        .send = job_send,
        .abort = job_abort,
    };
    char mapping[64];
    shoal_error_t error = {{0}};

    /* one node holding every rank, in MPICH's PMI_process_mapping form */
    snprintf(mapping, sizeof(mapping), "(vector,(0,1,%d))", size);
    struct pmi_server_config config = {
        .size = size,
        .nlocal = size,
        .appnum = 0,
        .universe_size = JOB_UNIVERSE_SIZE,
        .kvsname = "shoal_test_kvs",
        .process_mapping = mapping,
    };
    cr_assert(le(int, size, JOB_RANKS_MAX));
    memset(job, 0, sizeof(*job));
    job->size = size;
    int rc = pmi_server_create(&config, &ops, job, &job->server, &error);
    cr_assert(eq(int, rc, 0), "%s", error.text);

    for (int r = 0; r < size; r++)
        job->ranks[r].pmi_fd = job->ranks[r].out.fd = job->ranks[r].err.fd = -1;
    for (int r = 0; r < size; r++)
        job_start_rank(job, r, argv);
    job_serve(job);
    job_reap(job);
}

ParameterizedTestParameters(pmi_mpich, program_runs_on_every_rank)
{
    static int sizes[] = {1, 2, 4};
    return cr_make_param_array(int, sizes, sizeof(sizes) / sizeof(sizes[0]));
}

ParameterizedTest(int *size, pmi_mpich, program_runs_on_every_rank)
{
    char *argv[] = {(char *)hello_path(), NULL};
    struct job job;
    char expect[128];

    job_run(&job, *size, argv);

    cr_assert(eq(int, job.input_rc, 0), "%s", job.input_error.text);
    cr_assert(eq(int, job.timed_out, 0), "job of %d ranks timed out", *size);
    cr_assert(eq(int, job.nabort, 0));
    for (int r = 0; r < *size; r++) {
        struct job_rank *rank = &job.ranks[r];
        cr_assert(eq(int, WIFEXITED(rank->status), 1),
                  "rank %d ended with status 0x%x; stderr: %s", r, rank->status,
                  rank->err.text);
        cr_assert(eq(int, WEXITSTATUS(rank->status), 0), "rank %d; stderr: %s",
                  r, rank->err.text);
        snprintf(expect, sizeof(expect), "rank %d of %d: sum %d universe %d\n",
                 r, *size, *size * (*size - 1) / 2, JOB_UNIVERSE_SIZE);
        cr_assert(eq(str, rank->out.text, expect), "rank %d; stderr: %s", r,
                  rank->err.text);
        cr_assert(eq(int, pmi_server_rank_finalized(job.server, r), 1),
                  "rank %d", r);
    }
    pmi_server_destroy(job.server);
}

Test(pmi_mpich, mpi_abort_reaches_the_abort_callback)
{
    char *argv[] = {(char *)hello_path(), "abort", "1", NULL};
    struct job job;

    job_run(&job, 2, argv);

    cr_assert(eq(int, job.input_rc, 0), "%s", job.input_error.text);
    cr_assert(eq(int, job.timed_out, 0));
    cr_assert(eq(int, job.nabort, 1));
    cr_assert(eq(int, job.abort_rank, 1));
    cr_assert(eq(int, job.abort_code, 7));
    cr_assert(ne(ptr, strstr(job.ranks[1].err.text, "MPI_Abort"), NULL),
              "stderr of rank 1: %s", job.ranks[1].err.text);
    for (int r = 0; r < 2; r++)
        cr_assert(eq(int, job.ranks[r].reaped, 1), "rank %d", r);
    pmi_server_destroy(job.server);
}
