/* SPDX-License-Identifier: MIT */
/* request.c - request objects and the Wait/Test family. Requests are
 * completed by the progress engine (progress.c); the Wait calls drive it
 * until theirs are done. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

/* Requests are recycled: libfabric holds pointers to their contexts, so
 * they never move, and a free list keeps the fast path free of malloc. */
static struct shim_request *freelist;

struct shim_request *shim_req_alloc(enum shim_req_kind kind)
{
    struct shim_request *r = freelist;

    if (r)
        freelist = r->next_free;
    else
        r = malloc(sizeof(*r));
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->handle = MPI_REQUEST_NULL;
    r->source = MPI_ANY_SOURCE;
    r->tag = MPI_ANY_TAG;
    return r;
}

int shim_req_publish(struct shim_request *req)
{
    int idx = shim_table_insert(&shim.requests, req);

    if (idx < 0)
        return idx;
    req->handle = SHIM_HANDLE(SHIM_KIND_REQUEST, idx);
    return 0;
}

void shim_req_free(struct shim_request *req)
{
    if (!req)
        return;
    if (req->handle != MPI_REQUEST_NULL)
        shim_table_remove(&shim.requests, req->handle);
    if (req->kind == SHIM_REQ_PERSIST && req->persist.active) {
        /* Freed while active: the instance finishes on its own. */
        if (req->persist.active->done)
            shim_req_free(req->persist.active);
        else
            req->persist.active->user_freed = true;
    }
    if (req->comm)
        shim_comm_decref(req->comm);
    if (req->greq)
        shim_greq_release(req);
    req->next_free = freelist;
    freelist = req;
}

void shim_req_finalize(void)
{
    while (freelist) {
        struct shim_request *r = freelist;
        freelist = r->next_free;
        free(r);
    }
    shim_table_release(&shim.requests);
}

struct shim_request *shim_req_lookup(MPI_Request handle)
{
    return shim_table_lookup(&shim.requests, handle, SHIM_KIND_REQUEST);
}

void shim_req_fill_status(const struct shim_request *req, MPI_Status *status)
{
    if (status == MPI_STATUS_IGNORE)
        return;
    status->MPI_SOURCE = req->source;
    status->MPI_TAG = req->tag;
    status->MPI_ERROR = req->error;
    status->shoal_cancelled = req->cancelled;
    status->shoal_count = (MPI_Count)req->count_bytes;
}

static void status_empty(MPI_Status *status)
{
    if (status == MPI_STATUS_IGNORE)
        return;
    status->MPI_SOURCE = MPI_ANY_SOURCE;
    status->MPI_TAG = MPI_ANY_TAG;
    status->MPI_ERROR = MPI_SUCCESS;
    status->shoal_cancelled = 0;
    status->shoal_count = 0;
}

int shim_req_wait(struct shim_request *req)
{
    int idle = 0;

    while (!req->done)
        shim_progress_wait(&idle);
    return req->error ? SHIM_ECLASS(req->error) : 0;
}

static bool req_done(struct shim_request *r)
{
    if (r->kind == SHIM_REQ_PERSIST)
        return !r->persist.active || r->persist.active->done;
    return r->done;
}

/* Hands a completed request back to the user: status, error class, and
 * the handle set to MPI_REQUEST_NULL unless the request is persistent. */
static int
req_finish(MPI_Request *handle, struct shim_request *r, MPI_Status *status)
{
    int err;

    if (r->kind == SHIM_REQ_PERSIST) {
        struct shim_request *a = r->persist.active;
        if (!a) {
            status_empty(status);
            return 0;
        }
        shim_req_fill_status(a, status);
        err = a->error;
        shim_req_free(a);
        r->persist.active = NULL;
        return err;
    }
    if (r->greq)
        shim_greq_query(r);
    shim_req_fill_status(r, status);
    err = r->error;
    shim_req_free(r);
    *handle = MPI_REQUEST_NULL;
    return err;
}

static int lookup_or_null(MPI_Request h, struct shim_request **out)
{
    *out = NULL;
    if (h == MPI_REQUEST_NULL)
        return 0;
    *out = shim_req_lookup(h);
    return *out ? 0 : SHIM_ECLASS(MPI_ERR_REQUEST);
}

static struct shim_comm *req_comm(struct shim_request *r)
{
    if (r && r->kind == SHIM_REQ_PERSIST && r->persist.active)
        return r->persist.active->comm;
    return r ? r->comm : NULL;
}

SHIM_WEAK(Wait)
int PMPI_Wait(MPI_Request *request, MPI_Status *status)
{
    struct shim_request *r;
    int idle = 0;
    int rc;

    if (!request)
        return shim_err(NULL, "MPI_Wait", SHIM_ECLASS(MPI_ERR_REQUEST));
    rc = lookup_or_null(*request, &r);
    if (rc)
        return shim_err(NULL, "MPI_Wait", rc);
    if (!r) {
        status_empty(status);
        return MPI_SUCCESS;
    }
    while (!req_done(r))
        shim_progress_wait(&idle);
    struct shim_comm *c = req_comm(r);
    rc = req_finish(request, r, status);
    return rc ? shim_err(c, "MPI_Wait", SHIM_ECLASS(rc)) : MPI_SUCCESS;
}

SHIM_WEAK(Test)
int PMPI_Test(MPI_Request *request, int *flag, MPI_Status *status)
{
    struct shim_request *r;
    int rc;

    if (!request || !flag)
        return shim_err(NULL, "MPI_Test", SHIM_ECLASS(MPI_ERR_ARG));
    rc = lookup_or_null(*request, &r);
    if (rc)
        return shim_err(NULL, "MPI_Test", rc);
    if (!r) {
        *flag = 1;
        status_empty(status);
        return MPI_SUCCESS;
    }
    shim_progress();
    *flag = req_done(r);
    if (!*flag)
        return MPI_SUCCESS;
    struct shim_comm *c = req_comm(r);
    rc = req_finish(request, r, status);
    return rc ? shim_err(c, "MPI_Test", SHIM_ECLASS(rc)) : MPI_SUCCESS;
}

static int check_all(int count, MPI_Request reqs[], struct shim_request **rs)
{
    for (int i = 0; i < count; i++) {
        int rc = lookup_or_null(reqs[i], &rs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Shared by Waitall and Testall once every request is done. */
static int finish_all(int count,
                      MPI_Request reqs[],
                      struct shim_request **rs,
                      MPI_Status statuses[],
                      struct shim_comm **errcomm)
{
    int any = 0;

    for (int i = 0; i < count; i++) {
        MPI_Status *st =
            statuses == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE : &statuses[i];
        if (!rs[i]) {
            status_empty(st);
            continue;
        }
        struct shim_comm *c = req_comm(rs[i]);
        int e = req_finish(&reqs[i], rs[i], st);
        if (e && !any) {
            any = e;
            *errcomm = c;
        }
    }
    return any;
}

enum { SMALL = 64 };

SHIM_WEAK(Waitall)
int PMPI_Waitall(int count,
                 MPI_Request array_of_requests[],
                 MPI_Status *array_of_statuses)
{
    struct shim_request *small[SMALL];
    struct shim_request **rs = small;
    struct shim_comm *ec = NULL;
    int idle = 0;
    int rc;

    if (count < 0 || (count > 0 && !array_of_requests))
        return shim_err(NULL, "MPI_Waitall", SHIM_ECLASS(MPI_ERR_ARG));
    if (count > SMALL) {
        rs = malloc(sizeof(*rs) * count);
        if (!rs)
            return shim_err(NULL, "MPI_Waitall", -ENOMEM);
    }
    rc = check_all(count, array_of_requests, rs);
    if (rc) {
        if (rs != small)
            free(rs);
        return shim_err(NULL, "MPI_Waitall", rc);
    }
    for (int i = 0; i < count; i++)
        while (rs[i] && !req_done(rs[i]))
            shim_progress_wait(&idle);
    rc = finish_all(count, array_of_requests, rs, array_of_statuses, &ec);
    if (rs != small)
        free(rs);
    if (rc) {
        shim_err(ec, "MPI_Waitall", SHIM_ECLASS(rc));
        return MPI_ERR_IN_STATUS;
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Testall)
int PMPI_Testall(int count,
                 MPI_Request array_of_requests[],
                 int *flag,
                 MPI_Status *array_of_statuses)
{
    struct shim_request *small[SMALL];
    struct shim_request **rs = small;
    struct shim_comm *ec = NULL;
    int rc;

    if (count < 0 || !flag || (count > 0 && !array_of_requests))
        return shim_err(NULL, "MPI_Testall", SHIM_ECLASS(MPI_ERR_ARG));
    if (count > SMALL) {
        rs = malloc(sizeof(*rs) * count);
        if (!rs)
            return shim_err(NULL, "MPI_Testall", -ENOMEM);
    }
    rc = check_all(count, array_of_requests, rs);
    if (rc) {
        if (rs != small)
            free(rs);
        return shim_err(NULL, "MPI_Testall", rc);
    }
    shim_progress();
    *flag = 1;
    for (int i = 0; i < count; i++)
        if (rs[i] && !req_done(rs[i]))
            *flag = 0;
    rc = 0;
    if (*flag)
        rc = finish_all(count, array_of_requests, rs, array_of_statuses, &ec);
    if (rs != small)
        free(rs);
    if (rc) {
        shim_err(ec, "MPI_Testall", SHIM_ECLASS(rc));
        return MPI_ERR_IN_STATUS;
    }
    return MPI_SUCCESS;
}

/* One pass over the array: the first done request, or -1 (and *active
 * tells whether any request can still complete). */
static int find_done(int count, MPI_Request reqs[], bool *active, int *err)
{
    *active = false;
    for (int i = 0; i < count; i++) {
        struct shim_request *r;
        *err = lookup_or_null(reqs[i], &r);
        if (*err)
            return -1;
        if (!r || (r->kind == SHIM_REQ_PERSIST && !r->persist.active))
            continue;
        *active = true;
        if (req_done(r))
            return i;
    }
    return -1;
}

static int any_common(const char *fn,
                      int count,
                      MPI_Request reqs[],
                      int *index,
                      int *flag,
                      MPI_Status *status,
                      bool block)
{
    bool active;
    int err = 0;
    int idle = 0;
    int i;

    if (count < 0 || !index || (count > 0 && !reqs))
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_ARG));
    for (;;) {
        shim_progress();
        i = find_done(count, reqs, &active, &err);
        if (err)
            return shim_err(NULL, fn, err);
        if (i >= 0 || !active || !block)
            break;
        shim_progress_wait(&idle);
    }
    if (flag)
        *flag = (i >= 0 || !active);
    if (i < 0) {
        *index = MPI_UNDEFINED;
        if (!active)
            status_empty(status);
        return MPI_SUCCESS;
    }
    struct shim_request *r = shim_req_lookup(reqs[i]);
    struct shim_comm *c = req_comm(r);
    *index = i;
    err = req_finish(&reqs[i], r, status);
    return err ? shim_err(c, fn, SHIM_ECLASS(err)) : MPI_SUCCESS;
}

SHIM_WEAK(Waitany)
int PMPI_Waitany(int count,
                 MPI_Request array_of_requests[],
                 int *index,
                 MPI_Status *status)
{
    return any_common("MPI_Waitany", count, array_of_requests, index, NULL,
                      status, true);
}

SHIM_WEAK(Testany)
int PMPI_Testany(int count,
                 MPI_Request array_of_requests[],
                 int *index,
                 int *flag,
                 MPI_Status *status)
{
    if (!flag)
        return shim_err(NULL, "MPI_Testany", SHIM_ECLASS(MPI_ERR_ARG));
    return any_common("MPI_Testany", count, array_of_requests, index, flag,
                      status, false);
}

static int some_common(const char *fn,
                       int incount,
                       MPI_Request reqs[],
                       int *outcount,
                       int indices[],
                       MPI_Status statuses[],
                       bool block)
{
    int idle = 0;
    int err = 0;
    struct shim_comm *ec = NULL;

    if (incount < 0 || !outcount || (incount > 0 && (!reqs || !indices)))
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_ARG));
    for (;;) {
        bool active = false;
        int n = 0;
        shim_progress();
        for (int i = 0; i < incount; i++) {
            struct shim_request *r;
            int rc = lookup_or_null(reqs[i], &r);
            if (rc)
                return shim_err(NULL, fn, rc);
            if (!r || (r->kind == SHIM_REQ_PERSIST && !r->persist.active))
                continue;
            active = true;
            if (!req_done(r))
                continue;
            MPI_Status *st = statuses == MPI_STATUSES_IGNORE ? MPI_STATUS_IGNORE
                                                             : &statuses[n];
            struct shim_comm *c = req_comm(r);
            int e = req_finish(&reqs[i], r, st);
            if (e && !err) {
                err = e;
                ec = c;
            }
            indices[n++] = i;
        }
        if (!active) {
            *outcount = MPI_UNDEFINED;
            return MPI_SUCCESS;
        }
        if (n > 0 || !block) {
            *outcount = n;
            break;
        }
        shim_progress_wait(&idle);
    }
    if (err) {
        shim_err(ec, fn, SHIM_ECLASS(err));
        return MPI_ERR_IN_STATUS;
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Waitsome)
int PMPI_Waitsome(int incount,
                  MPI_Request array_of_requests[],
                  int *outcount,
                  int array_of_indices[],
                  MPI_Status *array_of_statuses)
{
    return some_common("MPI_Waitsome", incount, array_of_requests, outcount,
                       array_of_indices, array_of_statuses, true);
}

SHIM_WEAK(Testsome)
int PMPI_Testsome(int incount,
                  MPI_Request array_of_requests[],
                  int *outcount,
                  int array_of_indices[],
                  MPI_Status *array_of_statuses)
{
    return some_common("MPI_Testsome", incount, array_of_requests, outcount,
                       array_of_indices, array_of_statuses, false);
}

SHIM_WEAK(Request_free)
int PMPI_Request_free(MPI_Request *request)
{
    struct shim_request *r;

    if (!request || !(r = shim_req_lookup(*request)))
        return shim_err(NULL, "MPI_Request_free", SHIM_ECLASS(MPI_ERR_REQUEST));
    shim_table_remove(&shim.requests, r->handle);
    r->handle = MPI_REQUEST_NULL;
    if (r->kind == SHIM_REQ_PERSIST || req_done(r))
        shim_req_free(r);
    else
        r->user_freed = true;
    *request = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}

SHIM_WEAK(Request_get_status)
int PMPI_Request_get_status(MPI_Request request, int *flag, MPI_Status *status)
{
    struct shim_request *r;
    int rc = lookup_or_null(request, &r);

    if (rc || !flag)
        return shim_err(NULL, "MPI_Request_get_status",
                        rc ? rc : SHIM_ECLASS(MPI_ERR_ARG));
    if (!r) {
        *flag = 1;
        status_empty(status);
        return MPI_SUCCESS;
    }
    shim_progress();
    *flag = req_done(r);
    if (*flag) {
        if (r->kind == SHIM_REQ_PERSIST && r->persist.active)
            shim_req_fill_status(r->persist.active, status);
        else if (r->kind == SHIM_REQ_PERSIST)
            status_empty(status);
        else if (r->greq)
            shim_greq_query(r);
        if (r->kind != SHIM_REQ_PERSIST)
            shim_req_fill_status(r, status);
    }
    return MPI_SUCCESS;
}

SHIM_WEAK(Cancel)
int PMPI_Cancel(MPI_Request *request)
{
    struct shim_request *r;

    if (!request || !(r = shim_req_lookup(*request)))
        return shim_err(NULL, "MPI_Cancel", SHIM_ECLASS(MPI_ERR_REQUEST));
    if (r->greq)
        shim_greq_cancel(r);
    if (r->kind == SHIM_REQ_PERSIST)
        r = r->persist.active;
    /* Only receives can be withdrawn; a send that left cannot. */
    if (r && r->kind == SHIM_REQ_RECV && !r->done)
        (void)shim_recv_cancel(r);
    return MPI_SUCCESS;
}

SHIM_WEAK(Test_cancelled)
int PMPI_Test_cancelled(const MPI_Status *status, int *flag)
{
    if (!status || !flag)
        return shim_err(NULL, "MPI_Test_cancelled", SHIM_ECLASS(MPI_ERR_ARG));
    *flag = status->shoal_cancelled;
    return MPI_SUCCESS;
}
