/* SPDX-License-Identifier: MIT */
/* errors.c - error classes, strings and handlers, and the handle tables. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/fi_errno.h>

#include "mpi-shim/shim_private.h"

struct shim_errhandler {
    int handle;
    MPI_Comm_errhandler_function *fn;
};

static struct shim_errhandler errh_fatal = {.handle = MPI_ERRORS_ARE_FATAL};
static struct shim_errhandler errh_return = {.handle = MPI_ERRORS_RETURN};

int shim_table_insert(struct shim_table *table, void *obj)
{
    if (table->nfree > 0) {
        int idx = table->freelist[--table->nfree];
        table->slots[idx] = obj;
        return idx;
    }
    if (table->used == table->cap) {
        int cap = table->cap ? 2 * table->cap : 64;
        void **s = realloc(table->slots, sizeof(*s) * cap);
        if (!s)
            return -ENOMEM;
        table->slots = s;
        int *f = realloc(table->freelist, sizeof(*f) * cap);
        if (!f)
            return -ENOMEM;
        table->freelist = f;
        table->cap = cap;
    }
    table->slots[table->used] = obj;
    return table->used++;
}

void *shim_table_lookup(struct shim_table *table, int handle, int kind)
{
    int idx = handle & SHIM_HANDLE_INDEX;

    if (!(handle & SHIM_HANDLE_VALID) || SHIM_HANDLE_KIND(handle) != kind
        || (handle & 0x80000000) || idx >= table->used)
        return NULL;
    return table->slots[idx];
}

void shim_table_remove(struct shim_table *table, int handle)
{
    int idx = handle & SHIM_HANDLE_INDEX;

    if (idx < table->used && table->slots[idx]) {
        table->slots[idx] = NULL;
        table->freelist[table->nfree++] = idx;
    }
}

void shim_table_release(struct shim_table *table)
{
    free(table->slots);
    free(table->freelist);
    memset(table, 0, sizeof(*table));
}

int shim_err_lastused = MPI_ERR_LASTCODE;

static const char *const class_text[MPI_ERR_LASTCODE] = {
    [MPI_SUCCESS] = "no error",
    [MPI_ERR_BUFFER] = "invalid buffer pointer",
    [MPI_ERR_COUNT] = "invalid count argument",
    [MPI_ERR_TYPE] = "invalid datatype",
    [MPI_ERR_TAG] = "invalid tag",
    [MPI_ERR_COMM] = "invalid communicator",
    [MPI_ERR_RANK] = "invalid rank",
    [MPI_ERR_REQUEST] = "invalid request",
    [MPI_ERR_ROOT] = "invalid root",
    [MPI_ERR_GROUP] = "invalid group",
    [MPI_ERR_OP] = "invalid reduce operation",
    [MPI_ERR_TOPOLOGY] = "invalid topology",
    [MPI_ERR_DIMS] = "invalid dimension argument",
    [MPI_ERR_ARG] = "invalid argument",
    [MPI_ERR_UNKNOWN] = "unknown error",
    [MPI_ERR_TRUNCATE] = "message truncated",
    [MPI_ERR_OTHER] = "other error",
    [MPI_ERR_INTERN] = "internal error",
    [MPI_ERR_IN_STATUS] = "error code in status",
    [MPI_ERR_PENDING] = "pending request",
    [MPI_ERR_KEYVAL] = "invalid keyval",
    [MPI_ERR_NO_MEM] = "out of memory",
    [MPI_ERR_INFO] = "invalid info object",
    [MPI_ERR_UNSUPPORTED_OPERATION] = "unsupported operation",
    [MPI_ERR_WIN] = "invalid window",
    [MPI_ERR_BASE] = "invalid base address",
    [MPI_ERR_SIZE] = "invalid size",
    [MPI_ERR_DISP] = "invalid displacement unit",
    [MPI_ERR_LOCKTYPE] = "invalid lock type",
    [MPI_ERR_ASSERT] = "invalid assertion",
    [MPI_ERR_RMA_CONFLICT] = "conflicting accesses to a window",
    [MPI_ERR_RMA_SYNC] = "RMA call outside its synchronization",
    [MPI_ERR_RMA_RANGE] = "target memory outside the window",
    [MPI_ERR_RMA_ATTACH] = "memory cannot be attached",
    [MPI_ERR_RMA_SHARED] = "memory cannot be shared",
    [MPI_ERR_RMA_FLAVOR] = "wrong window flavor",
    [MPI_ERR_INFO_KEY] = "info key too long or empty",
    [MPI_ERR_INFO_VALUE] = "info value too long",
    [MPI_ERR_INFO_NOKEY] = "no such info key",
};

static const char *const class_name[MPI_ERR_LASTCODE] = {
    "MPI_SUCCESS",          "MPI_ERR_BUFFER",
    "MPI_ERR_COUNT",        "MPI_ERR_TYPE",
    "MPI_ERR_TAG",          "MPI_ERR_COMM",
    "MPI_ERR_RANK",         "MPI_ERR_REQUEST",
    "MPI_ERR_ROOT",         "MPI_ERR_GROUP",
    "MPI_ERR_OP",           "MPI_ERR_TOPOLOGY",
    "MPI_ERR_DIMS",         "MPI_ERR_ARG",
    "MPI_ERR_UNKNOWN",      "MPI_ERR_TRUNCATE",
    "MPI_ERR_OTHER",        "MPI_ERR_INTERN",
    "MPI_ERR_IN_STATUS",    "MPI_ERR_PENDING",
    "MPI_ERR_KEYVAL",       "MPI_ERR_NO_MEM",
    "MPI_ERR_INFO",         "MPI_ERR_UNSUPPORTED_OPERATION",
    "MPI_ERR_WIN",          "MPI_ERR_BASE",
    "MPI_ERR_SIZE",         "MPI_ERR_DISP",
    "MPI_ERR_LOCKTYPE",     "MPI_ERR_ASSERT",
    "MPI_ERR_RMA_CONFLICT", "MPI_ERR_RMA_SYNC",
    "MPI_ERR_RMA_RANGE",    "MPI_ERR_RMA_ATTACH",
    "MPI_ERR_RMA_SHARED",   "MPI_ERR_RMA_FLAVOR",
    "MPI_ERR_INFO_KEY",     "MPI_ERR_INFO_VALUE",
    "MPI_ERR_INFO_NOKEY",
};

const char *shim_class_string(int mpiclass)
{
    int cls;
    const char *text;
    if (shim_errcode_lookup(mpiclass, &cls, &text) && text)
        return text;
    if (mpiclass < 0 || mpiclass >= MPI_ERR_LASTCODE)
        return "unknown error";
    return class_text[mpiclass];
}

int shim_err_class(int code)
{
    if (code >= 0)
        return code; /* already a class */
    if (code <= -SHIM_ECLASS_BASE)
        return -code - SHIM_ECLASS_BASE;
    switch (-code) {
    case ENOMEM:
        return MPI_ERR_NO_MEM;
    case FI_ETRUNC:
        return MPI_ERR_TRUNCATE;
    case EINVAL:
        return MPI_ERR_ARG;
    default:
        return MPI_ERR_OTHER;
    }
}

void shim_errhandler_finalize(void)
{
    for (int i = 0; i < shim.errhandlers.used; i++)
        free(shim.errhandlers.slots[i]);
    shim_table_release(&shim.errhandlers);
}

static struct shim_errhandler *errh_lookup(MPI_Errhandler h)
{
    if (h == MPI_ERRORS_ARE_FATAL)
        return &errh_fatal;
    if (h == MPI_ERRORS_RETURN)
        return &errh_return;
    return shim_table_lookup(&shim.errhandlers, h & ~0x00800000,
                             SHIM_KIND_ERRHANDLER);
}

static _Noreturn void die(const char *fn, const char *cause)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "shoal mpi: rank %d: %s: %s (provider '%s')\n",
             shim.rank, fn, cause,
             shim_ofi.prov_name[0]  ? shim_ofi.prov_name
             : shim_shm_reaches_all() ? "shm"
                                      : "none");
    /* One write so that lines of several ranks do not interleave. */
    ssize_t n = write(2, msg, strlen(msg));
    (void)n;
    /* Give the launcher's output forwarding a moment: it kills the job
     * as soon as the abort arrives and may drop the line otherwise. */
    usleep(100000);
    shim_pmi_abort(1, msg);
    _exit(1);
}

_Noreturn void shim_fatal(const char *what)
{
    die("progress", what);
}

int shim_err(struct shim_comm *comm, const char *fn, int code)
{
    MPI_Errhandler h = MPI_ERRORS_ARE_FATAL;

    if (comm)
        h = comm->errhandler;
    else if (shim.world)
        h = shim.world->errhandler;
    return shim_err_handler(h, comm ? comm->handle : MPI_COMM_WORLD, fn, code);
}

bool shim_errhandler_valid(MPI_Errhandler h)
{
    return errh_lookup(h) != NULL;
}

int shim_err_handler(MPI_Errhandler h, int obj, const char *fn, int code)
{
    int cls = shim_err_class(code);
    char cause[256];

    if (cls == MPI_SUCCESS)
        return MPI_SUCCESS;
    if (h == MPI_ERRORS_RETURN)
        return cls;
    struct shim_errhandler *eh = errh_lookup(h);
    if (eh && eh->fn) {
        int e = cls;
        eh->fn(&obj, &e);
        return cls;
    }
    if (code < 0 && code > -SHIM_ECLASS_BASE)
        snprintf(cause, sizeof(cause), "%s (%s: %s)", class_text[cls],
                 class_name[cls], shim_ofi_strerror(-code));
    else
        snprintf(cause, sizeof(cause), "%s (%s)", shim_class_string(cls),
                 cls < MPI_ERR_LASTCODE ? class_name[cls] : "?");
    die(fn, cause);
}

SHIM_WEAK(Error_string)
int PMPI_Error_string(int errorcode, char *string, int *resultlen)
{
    if (!string || !resultlen)
        return MPI_ERR_ARG;
    int cls;
    const char *text;
    if (shim_errcode_lookup(errorcode, &cls, &text)) {
        *resultlen =
            snprintf(string, MPI_MAX_ERROR_STRING, "%s", text ? text : "");
        return MPI_SUCCESS;
    }
    if (errorcode < 0 || errorcode >= MPI_ERR_LASTCODE)
        return MPI_ERR_ARG;
    *resultlen = snprintf(string, MPI_MAX_ERROR_STRING, "%s: %s",
                          class_name[errorcode], class_text[errorcode]);
    return MPI_SUCCESS;
}

SHIM_WEAK(Error_class)
int PMPI_Error_class(int errorcode, int *errorclass)
{
    const char *text;
    if (errorclass && shim_errcode_lookup(errorcode, errorclass, &text))
        return MPI_SUCCESS;
    if (!errorclass || errorcode < 0 || errorcode >= MPI_ERR_LASTCODE)
        return MPI_ERR_ARG;
    *errorclass = errorcode;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_create_errhandler)
int PMPI_Comm_create_errhandler(MPI_Comm_errhandler_function *fn,
                                MPI_Errhandler *errhandler)
{
    struct shim_errhandler *eh;
    int idx;

    if (!fn || !errhandler)
        return shim_err(NULL, "MPI_Comm_create_errhandler",
                        SHIM_ECLASS(MPI_ERR_ARG));
    eh = calloc(1, sizeof(*eh));
    if (!eh)
        return shim_err(NULL, "MPI_Comm_create_errhandler", -ENOMEM);
    idx = shim_table_insert(&shim.errhandlers, eh);
    if (idx < 0) {
        free(eh);
        return shim_err(NULL, "MPI_Comm_create_errhandler", idx);
    }
    /* Bit 23 keeps user handles apart from the two predefined ones. */
    eh->handle = SHIM_HANDLE(SHIM_KIND_ERRHANDLER, idx) | 0x00800000;
    eh->fn = fn;
    *errhandler = eh->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_set_errhandler)
int PMPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Comm_set_errhandler", rc);
    if (!errh_lookup(errhandler))
        return shim_err(c, "MPI_Comm_set_errhandler", SHIM_ECLASS(MPI_ERR_ARG));
    c->errhandler = errhandler;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_get_errhandler)
int PMPI_Comm_get_errhandler(MPI_Comm comm, MPI_Errhandler *errhandler)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Comm_get_errhandler", rc);
    if (!errhandler)
        return shim_err(c, "MPI_Comm_get_errhandler", SHIM_ECLASS(MPI_ERR_ARG));
    *errhandler = c->errhandler;
    return MPI_SUCCESS;
}

SHIM_WEAK(Errhandler_set)
int PMPI_Errhandler_set(MPI_Comm comm, MPI_Errhandler errhandler)
{
    return PMPI_Comm_set_errhandler(comm, errhandler);
}

SHIM_WEAK(Errhandler_get)
int PMPI_Errhandler_get(MPI_Comm comm, MPI_Errhandler *errhandler)
{
    return PMPI_Comm_get_errhandler(comm, errhandler);
}

SHIM_WEAK(Errhandler_free)
int PMPI_Errhandler_free(MPI_Errhandler *errhandler)
{
    if (!errhandler || !errh_lookup(*errhandler))
        return shim_err(NULL, "MPI_Errhandler_free", SHIM_ECLASS(MPI_ERR_ARG));
    /* Communicators may still use it; the object lives until finalize. */
    *errhandler = MPI_ERRHANDLER_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Comm_call_errhandler)
int PMPI_Comm_call_errhandler(MPI_Comm comm, int errorcode)
{
    struct shim_comm *c;
    int rc = shim_comm_check(comm, &c);

    if (rc)
        return shim_err(NULL, "MPI_Comm_call_errhandler", rc);
    shim_err(c, "MPI_Comm_call_errhandler", SHIM_ECLASS(errorcode));
    return MPI_SUCCESS;
}
