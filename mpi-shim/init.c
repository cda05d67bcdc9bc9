/* SPDX-License-Identifier: MIT */
/* init.c - start-up, wire-up through PMI, shutdown, and the small
 * environment calls. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi-shim/pmix_client.h"
#include "mpi-shim/sde.h"
#include "mpi-shim/shim_private.h"

struct shim_global shim;

/* Parses PMI_process_mapping, "(vector,(start,nodes,ranks_per_node),...)"
 * as MPICH writes it, into node_of[]. Returns 0 or -EINVAL. */
static int parse_mapping(const char *map, int size, int *node_of)
{
    const char *p = strstr(map, "vector");
    int rank = 0;

    if (!p)
        return -EINVAL;
    p += strlen("vector");
    while ((p = strchr(p, '(')) != NULL) {
        int start, nodes, ppn;
        if (sscanf(p, "(%d,%d,%d)", &start, &nodes, &ppn) != 3 || nodes <= 0
            || ppn <= 0)
            return -EINVAL;
        for (int n = 0; n < nodes; n++)
            for (int k = 0; k < ppn && rank < size; k++)
                node_of[rank++] = start + n;
        p++;
    }
    /* A block-cyclic mapping repeats until every rank is placed. */
    if (rank == 0)
        return -EINVAL;
    for (int r = rank; r < size; r++)
        node_of[r] = node_of[r % rank];
    return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_decode(const char *in, unsigned char *out, size_t max)
{
    size_t n = strlen(in);

    if (n % 2 || n / 2 > max)
        return -EINVAL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -EINVAL;
        out[i] = (unsigned char)v;
    }
    return (int)(n / 2);
}

/* Without a process mapping, ranks learn each other's host names (or the
 * names given by SHOAL_MPI_NODE). */
static int locality_by_hostname(const char *myname)
{
    char key[64];
    char **names = calloc((size_t)shim.size, sizeof(char *));
    int rc;

    if (!names)
        return -ENOMEM;
    snprintf(key, sizeof(key), "shoal-host-%d", shim.rank);
    rc = shim_pmi_put(key, myname);
    if (rc == 0)
        rc = shim_pmi_barrier();
    for (int r = 0; rc == 0 && r < shim.size; r++) {
        char val[MPI_MAX_PROCESSOR_NAME];
        snprintf(key, sizeof(key), "shoal-host-%d", r);
        rc = shim_pmi_get(key, val, sizeof(val));
        if (rc == 0) {
            names[r] = strdup(val);
            if (!names[r])
                rc = -ENOMEM;
        }
    }
    shim.nnodes = 0;
    for (int r = 0; rc == 0 && r < shim.size; r++) {
        shim.node_of[r] = -1;
        for (int q = 0; q < r; q++)
            if (strcmp(names[q], names[r]) == 0) {
                shim.node_of[r] = shim.node_of[q];
                break;
            }
        if (shim.node_of[r] < 0)
            shim.node_of[r] = shim.nnodes++;
    }
    for (int r = 0; r < shim.size; r++)
        free(names[r]);
    free(names);
    return rc;
}

/* SHOAL_MPI_NODE overrides the node name this rank reports for locality,
 * for tests and debugging of node-aware code on one machine: a plain name
 * is used as is; "@block:K" names the node rank / K (K consecutive ranks
 * per node) and "@cyclic:K" the node rank % K (K nodes, round robin). It
 * takes precedence over the launcher's process mapping. The processor
 * name MPI reports stays the real host name. Returns the name in buf, or
 * NULL when the variable is unset or empty. */
static const char *node_override(char *buf, size_t len)
{
    const char *v = getenv("SHOAL_MPI_NODE");
    int k;

    if (!v || !*v)
        return NULL;
    if (sscanf(v, "@block:%d", &k) == 1 && k > 0)
        snprintf(buf, len, "node%d", shim.rank / k);
    else if (sscanf(v, "@cyclic:%d", &k) == 1 && k > 0)
        snprintf(buf, len, "node%d", shim.rank % k);
    else
        snprintf(buf, len, "%s", v);
    return buf;
}

static int locality(void)
{
    char map[1024];
    char fake[MPI_MAX_PROCESSOR_NAME];
    const char *override = node_override(fake, sizeof(fake));

    shim.node_of = calloc((size_t)shim.size, sizeof(int));
    if (!shim.node_of)
        return -ENOMEM;
    if (shim.size == 1) {
        shim.nnodes = 1;
        return 0;
    }
    if (override)
        return locality_by_hostname(override);
    if (shim_pmi_get("PMI_process_mapping", map, sizeof(map)) == 0
        && parse_mapping(map, shim.size, shim.node_of) == 0) {
        shim.nnodes = 0;
        for (int r = 0; r < shim.size; r++)
            if (shim.node_of[r] + 1 > shim.nnodes)
                shim.nnodes = shim.node_of[r] + 1;
        return 0;
    }
    return locality_by_hostname(shim.hostname);
}

/* Publishes this rank's endpoint name (hex, split over several keys when
 * longer than a PMI value) and inserts everybody's into the AV, in rank
 * order so that the libfabric address of rank r is the AV's index r.
 * Without with_ofi, only the PMI barrier (every rank takes the same
 * branch: the choice depends on the job's layout only). */
static int exchange_addresses(bool with_ofi)
{
    unsigned char name[512];
    size_t len = sizeof(name);
    char hex[2 * sizeof(name) + 1];
    char key[64];
    size_t chunk = shim_pmi_value_max();
    int rc;

    /* Without libfabric the barrier still commits the other puts. */
    if (!with_ofi)
        return shim_pmi_barrier();
    rc = shim_ofi_getname(name, &len);
    if (rc)
        return rc;
    if (chunk < 16)
        return -EMSGSIZE;
    chunk &= ~(size_t)1;
    hex_encode(name, len, hex);
    size_t hexlen = strlen(hex);
    int nchunks = (int)((hexlen + chunk - 1) / chunk);
    snprintf(key, sizeof(key), "shoal-addr-%d-n", shim.rank);
    char val[32];
    snprintf(val, sizeof(val), "%d", nchunks);
    rc = shim_pmi_put(key, val);
    for (int i = 0; rc == 0 && i < nchunks; i++) {
        char part[2 * sizeof(name) + 1];
        size_t n = hexlen - (size_t)i * chunk < chunk
                       ? hexlen - (size_t)i * chunk
                       : chunk;
        memcpy(part, hex + (size_t)i * chunk, n);
        part[n] = '\0';
        snprintf(key, sizeof(key), "shoal-addr-%d-%d", shim.rank, i);
        rc = shim_pmi_put(key, part);
    }
    if (rc == 0)
        rc = shim_pmi_barrier();
    if (rc)
        return rc;
    rc = shim_ofi_av_prepare(shim.size);
    /* Names may differ in length (string addresses): decode and insert
     * one at a time, in rank order. */
    for (int r = 0; rc == 0 && r < shim.size; r++) {
        char buf[2 * sizeof(name) + 1];
        unsigned char addr[sizeof(name)];
        size_t at = 0;
        snprintf(key, sizeof(key), "shoal-addr-%d-n", r);
        rc = shim_pmi_get(key, val, sizeof(val));
        int nc = rc == 0 ? atoi(val) : 0;
        buf[0] = '\0';
        for (int i = 0; rc == 0 && i < nc; i++) {
            snprintf(key, sizeof(key), "shoal-addr-%d-%d", r, i);
            rc = shim_pmi_get(key, buf + at, sizeof(buf) - at);
            at += strlen(buf + at);
        }
        int n = rc == 0 ? hex_decode(buf, addr, sizeof(addr)) : rc;
        if (n <= 0)
            rc = rc ? rc : -EINVAL;
        else
            rc = shim_ofi_insert(addr, r);
    }
    return rc;
}

/* Whether a launcher started this process as one of several ranks
 * without a wire-up this library speaks (no PMI_FD, no usable PMIx): run alone,
 * each rank would compute as if it were the whole job and exit 0. Fills what
 * with the variable that tells. */
static bool launcher_without_wireup(char *what, size_t size)
{
    static const char *const sizes[] = {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS",
                                        "PMI_SIZE", "OMPI_COMM_WORLD_SIZE"};
    const char *fd = getenv("PMI_FD");
    const char *ns = getenv("PMIX_NAMESPACE");

    if ((fd && *fd) || shim_pmix_available(what, size))
        return false;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const char *v = getenv(sizes[i]);

        /* a batch script has SLURM_NTASKS of its allocation, and no
         * step: only a step's tasks are ranks */
        if (i < 2 && !getenv("SLURM_STEP_ID"))
            continue;
        if (v && atoi(v) > 1) {
            snprintf(what, size, "%s=%s", sizes[i], v);
            return true;
        }
    }
    if (ns && *ns) {
        snprintf(what, size, "PMIX_NAMESPACE=%s", ns);
        return true;
    }
    return false;
}

static bool shm_wanted(void)
{
    const char *v = getenv("SHOAL_MPI_SHM");
    return !(v && strcmp(v, "0") == 0);
}

static int ofi_open(char *err, size_t errlen)
{
    const char *forced = getenv("SHOAL_OFI_PROVIDER");

    return shim_ofi_open(forced && *forced ? forced : NULL, shim.nnodes == 1,
                         err, errlen);
}

/* Sets up the on-node transport: this node's ranks, and the segment when
 * this rank is the node's first (its name goes out with the addresses). */
static int shm_create(void)
{
    int *local;
    int nlocal = 0;
    int rc;

    if (!shm_wanted())
        return 0;
    local = malloc(sizeof(int) * (size_t)shim.size);
    if (!local)
        return -ENOMEM;
    for (int r = 0; r < shim.size; r++)
        if (shim.node_of[r] == shim.node_of[shim.rank])
            local[nlocal++] = r;
    rc = shim_shm_create(shim.node_of[shim.rank], local, nlocal);
    free(local);
    return rc;
}

/* A rank that ends with a non-zero status after MPI_Init and before
 * MPI_Finalize, started by another launcher than shoal's (srun
 * --mpi=pmi2|pmix): that launcher may leave the other ranks running (srun
 * without --kill-on-bad-exit), and they would wait for this one for ever
 * in their next collective. It ends the job with the status, as MPI_Abort
 * would. Under shoal run (SHOAL_RANK set) shoal ends the job itself and
 * names the rank's exit. */
static void shim_exit_abort(int status, void *arg)
{
    char msg[192];
    int n;

    (void)arg;
    if (status == 0 || !shim.initialized || shim.finalized)
        return;
    n = snprintf(msg, sizeof(msg),
                 "shoal mpi: rank %d exited with status %d before "
                 "MPI_Finalize: ending the job\n",
                 shim.rank, status);
    if (n > 0) {
        ssize_t w = write(
            2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
        (void)w;
    }
    shim_pmi_abort(status, msg);
}

static int init_common(int required, int *provided)
{
    char err[256] = "";
    const char *stage = "PMI wire-up";
    int rc;

    if (shim.initialized || shim.finalized)
        return SHIM_ECLASS(MPI_ERR_OTHER);
    if (gethostname(shim.hostname, sizeof(shim.hostname)) != 0)
        snprintf(shim.hostname, sizeof(shim.hostname), "localhost");
    shim.hostname[sizeof(shim.hostname) - 1] = '\0';
    if (launcher_without_wireup(err, sizeof(err))) {
        char msg[768];
        int n = snprintf(
            msg, sizeof(msg),
            "shoal mpi: MPI_Init: the launcher says this job has several "
            "ranks (%s) but gives no wire-up shoal's MPI can use (PMI_FD, or "
            "PMIx with OpenPMIx's client library); each rank would "
            "run alone. Under Slurm run it with 'srun --mpi=pmi2' (or set "
            "MpiDefault=pmi2 in slurm.conf), or start it with 'shoal run'\n",
            err);
        if (n < 0)
            n = 0;
        else if ((size_t)n >= sizeof(msg))
            n = (int)sizeof(msg) - 1;
        ssize_t w = write(2, msg, (size_t)n);
        (void)w;
        _exit(1);
    }
    rc = shim_pmi_init(&shim.rank, &shim.size, &shim.appnum);
    if (rc == 0
        && (shim.size < 1 || shim.size > SHIM_MAX_RANKS || shim.rank < 0
            || shim.rank >= shim.size))
        rc = -EINVAL;
    if (rc == 0)
        rc = locality();
    if (rc == 0) {
        /* How many ranks share this node's cores decides how waiting
         * ranks spin (see progress.c). */
        int nlocal = 0;
        for (int r = 0; r < shim.size; r++)
            nlocal += shim.node_of[r] == shim.node_of[shim.rank];
        /* Fake nodes (SHOAL_MPI_NODE) are for runs on one machine: count
         * every rank as sharing this one. */
        if (getenv("SHOAL_MPI_NODE") && *getenv("SHOAL_MPI_NODE"))
            nlocal = shim.size;
        shim_progress_init(nlocal);
        shim_sde_init();
        stage = "creating shared memory";
        rc = shm_create();
    }
    /* libfabric is loaded and opened only for a job with ranks on other
     * nodes, or without the on-node transport (see ofi.c). */
    bool ofi = shim.nnodes > 1 || !shm_wanted();
    if (rc == 0 && ofi) {
        stage = "opening the fabric";
        rc = ofi_open(err, sizeof(err));
    }
    if (rc == 0) {
        stage = "exchanging endpoint addresses";
        rc = exchange_addresses(ofi);
    }
    if (rc == 0) {
        stage = "attaching shared memory";
        rc = shim_shm_attach(err, sizeof(err));
    }
    /* Every rank has attached after this barrier, so the segment can go
     * from /dev/shm (shm.h). SHOAL_MPI_SHM is the same on every rank. */
    if (rc == 0 && shm_wanted())
        rc = shim_pmi_barrier();
    if (rc == 0)
        shim_shm_finish();
    /* A one-node job whose segment could not be made (every rank sees the
     * same) falls back to libfabric now. */
    if (rc == 0 && !ofi && !shim_shm_reaches_all()) {
        stage = "opening the fabric";
        rc = ofi_open(err, sizeof(err));
        if (rc == 0) {
            stage = "exchanging endpoint addresses";
            rc = exchange_addresses(true);
        }
    }
    if (rc == 0)
        shim_progress_poll_ofi(!shim_shm_reaches_all());
    if (rc == 0)
        rc = shim_dt_init();
    if (rc == 0)
        rc = shim_op_init();
    if (rc == 0)
        rc = shim_comm_create_world();
    if (rc == 0)
        rc = shim_ckpt_init();
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof(msg), "shoal mpi: rank %d: MPI_Init: %s: %s\n",
                 shim.rank, stage, err[0] ? err : strerror(rc < 0 ? -rc : rc));
        ssize_t n = write(2, msg, strlen(msg));
        (void)n;
        shim_pmi_abort(1, msg);
        _exit(1);
    }
    shim.thread_level =
        required > MPI_THREAD_SERIALIZED ? MPI_THREAD_SERIALIZED : required;
    if (provided)
        *provided = shim.thread_level;
    shim.initialized = true;
    if (shim.size > 1 && !getenv("SHOAL_RANK"))
        on_exit(shim_exit_abort, NULL);
    return 0;
}

SHIM_WEAK(Init)
int PMPI_Init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int rc = init_common(MPI_THREAD_SINGLE, NULL);
    return rc ? shim_err(NULL, "MPI_Init", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Init_thread)
int PMPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    (void)argc;
    (void)argv;
    if (!provided)
        return shim_err(NULL, "MPI_Init_thread", SHIM_ECLASS(MPI_ERR_ARG));
    int rc = init_common(required, provided);
    return rc ? shim_err(NULL, "MPI_Init_thread", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Initialized)
int PMPI_Initialized(int *flag)
{
    if (!flag)
        return MPI_ERR_ARG;
    *flag = shim.initialized;
    return MPI_SUCCESS;
}

SHIM_WEAK(Finalized)
int PMPI_Finalized(int *flag)
{
    if (!flag)
        return MPI_ERR_ARG;
    *flag = shim.finalized;
    return MPI_SUCCESS;
}

SHIM_WEAK(Query_thread)
int PMPI_Query_thread(int *provided)
{
    if (!provided)
        return MPI_ERR_ARG;
    *provided = shim.thread_level;
    return MPI_SUCCESS;
}

SHIM_WEAK(Is_thread_main)
int PMPI_Is_thread_main(int *flag)
{
    if (!flag)
        return MPI_ERR_ARG;
    *flag = 1;
    return MPI_SUCCESS;
}

SHIM_WEAK(Finalize)
int PMPI_Finalize(void)
{
    int rc;

    if (!shim.initialized || shim.finalized)
        return shim_err(NULL, "MPI_Finalize", SHIM_ECLASS(MPI_ERR_OTHER));
    /* MPI_COMM_SELF is freed first, while MPI still works: its attributes'
     * delete callbacks run, most recent first (MPI-3.1 8.7.1). */
    rc = shim_attr_clear(SHIM_ATTR_COMM, &shim.self->attrs, shim.self->handle);
    if (rc)
        return shim_err(NULL, "MPI_Finalize", rc);
    /* Every rank must be done sending to us before the endpoint closes. */
    shim_bsend_finalize();
    rc = shim_coll_barrier(shim.world);
    if (rc)
        return shim_err(NULL, "MPI_Finalize", rc);
    shim_sde_rma_report(shim.rank);
    shim_ofi_close();
    shim_shm_close();
    shim_pmi_finalize();
    shim_comm_finalize();
    shim_req_finalize();
    shim_op_finalize();
    shim_dt_finalize();
    shim_errhandler_finalize();
    shim_attr_finalize();
    shim_info_finalize();
    shim_ckpt_finalize();
    free(shim.node_of);
    shim.node_of = NULL;
    shim.initialized = false;
    shim.finalized = true;
    return MPI_SUCCESS;
}

SHIM_WEAK(Abort)
int PMPI_Abort(MPI_Comm comm, int errorcode)
{
    char msg[256];

    (void)comm;
    snprintf(msg, sizeof(msg),
             "shoal mpi: rank %d: MPI_Abort: aborting the job with error "
             "code %d\n",
             shim.rank, errorcode);
    ssize_t n = write(2, msg, strlen(msg));
    (void)n;
    usleep(100000); /* as in errors.c: let the line reach the launcher */
    shim_pmi_abort(errorcode, msg);
    _exit(errorcode);
}

SHIM_WEAK(Get_processor_name)
int PMPI_Get_processor_name(char *name, int *resultlen)
{
    char host[MPI_MAX_PROCESSOR_NAME];

    if (!name || !resultlen)
        return shim_err(NULL, "MPI_Get_processor_name",
                        SHIM_ECLASS(MPI_ERR_ARG));
    if (shim.hostname[0] == '\0' && gethostname(host, sizeof(host)) == 0)
        snprintf(shim.hostname, sizeof(shim.hostname), "%s", host);
    *resultlen = snprintf(name, MPI_MAX_PROCESSOR_NAME, "%s", shim.hostname);
    return MPI_SUCCESS;
}

SHIM_WEAK(Get_version)
int PMPI_Get_version(int *version, int *subversion)
{
    if (!version || !subversion)
        return MPI_ERR_ARG;
    *version = MPI_VERSION;
    *subversion = MPI_SUBVERSION;
    return MPI_SUCCESS;
}

SHIM_WEAK(Get_library_version)
int PMPI_Get_library_version(char *version, int *resultlen)
{
    if (!version || !resultlen)
        return MPI_ERR_ARG;
    *resultlen =
        snprintf(version, MPI_MAX_LIBRARY_VERSION_STRING,
                 "shoal MPI %s (libfabric %u.%u, provider %s)", PACKAGE_VERSION,
                 FI_MAJOR(shim_ofi_version()), FI_MINOR(shim_ofi_version()),
                 shim_ofi.prov_name[0]    ? shim_ofi.prov_name
                 : shim_shm_reaches_all() ? "shm"
                                          : "none");
    return MPI_SUCCESS;
}

SHIM_WEAK(Wtime)
double PMPI_Wtime(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

SHIM_WEAK(Wtick)
double PMPI_Wtick(void)
{
    struct timespec ts;

    clock_getres(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
