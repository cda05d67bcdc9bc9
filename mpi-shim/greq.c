/* SPDX-License-Identifier: MIT */
/* greq.c - generalized requests (MPI_Grequest_start, _complete) and the
 * status setters their query functions use (MPI_Status_set_elements,
 * _set_elements_x, _set_cancelled).
 *
 * A generalized request is a request of kind SHIM_REQ_GREQ that nothing
 * in the library completes: MPI_Grequest_complete marks it done, and the
 * Wait/Test family (request.c) then finishes it as any other, calling
 * shim_greq_query() for its status just before, shim_greq_release() when
 * it is freed, and MPI_Cancel shim_greq_cancel(). The user's functions are
 * called exactly as MPI-3.1 12.2 says: query once per completion
 * reported, free once, cancel with whether the request completed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct shim_greq {
    MPI_Grequest_query_function *query;
    MPI_Grequest_free_function *free_fn;
    MPI_Grequest_cancel_function *cancel;
    void *extra_state;
};

SHIM_WEAK(Grequest_start)
int PMPI_Grequest_start(MPI_Grequest_query_function *query_fn,
                        MPI_Grequest_free_function *free_fn,
                        MPI_Grequest_cancel_function *cancel_fn,
                        void *extra_state,
                        MPI_Request *request)
{
    if (!query_fn || !free_fn || !cancel_fn || !request)
        return shim_err(NULL, "MPI_Grequest_start", SHIM_ECLASS(MPI_ERR_ARG));
    struct shim_greq *g = malloc(sizeof(*g));
    struct shim_request *r = shim_req_alloc(SHIM_REQ_GREQ);
    if (!g || !r || shim_req_publish(r)) {
        free(g);
        shim_req_free(r);
        return shim_err(NULL, "MPI_Grequest_start", -ENOMEM);
    }
    g->query = query_fn;
    g->free_fn = free_fn;
    g->cancel = cancel_fn;
    g->extra_state = extra_state;
    r->greq = g;
    *request = r->handle;
    return MPI_SUCCESS;
}

SHIM_WEAK(Grequest_complete)
int PMPI_Grequest_complete(MPI_Request request)
{
    struct shim_request *r = shim_req_lookup(request);

    if (!r || !r->greq || r->done)
        return shim_err(NULL, "MPI_Grequest_complete",
                        SHIM_ECLASS(MPI_ERR_REQUEST));
    r->done = true;
    return MPI_SUCCESS;
}

void shim_greq_query(struct shim_request *r)
{
    MPI_Status st;

    memset(&st, 0, sizeof(st));
    st.MPI_SOURCE = MPI_UNDEFINED;
    st.MPI_TAG = MPI_UNDEFINED;
    int rc = r->greq->query(r->greq->extra_state, &st);
    r->source = st.MPI_SOURCE;
    r->tag = st.MPI_TAG;
    r->cancelled = st.shoal_cancelled != 0;
    r->count_bytes = (size_t)st.shoal_count;
    r->error = rc != MPI_SUCCESS ? shim_err_class(rc) : st.MPI_ERROR;
}

void shim_greq_release(struct shim_request *r)
{
    struct shim_greq *g = r->greq;

    r->greq = NULL;
    (void)g->free_fn(g->extra_state);
    free(g);
}

void shim_greq_cancel(struct shim_request *r)
{
    (void)r->greq->cancel(r->greq->extra_state, r->done);
}

static int set_elements(MPI_Status *status, MPI_Datatype datatype, MPI_Count n)
{
    struct shim_datatype *t = shim_dt_get(datatype);

    if (!t)
        return SHIM_ECLASS(MPI_ERR_TYPE);
    if (!status || status == MPI_STATUS_IGNORE || n < 0)
        return SHIM_ECLASS(MPI_ERR_ARG);
    /* count is in basic elements of datatype; the status keeps bytes. */
    size_t per = t->nbasic ? t->size / t->nbasic : t->size;
    status->shoal_count = n * (MPI_Count)per;
    return 0;
}

SHIM_WEAK(Status_set_elements)
int PMPI_Status_set_elements(MPI_Status *status,
                             MPI_Datatype datatype,
                             int count)
{
    int rc = set_elements(status, datatype, count);

    return rc ? shim_err(NULL, "MPI_Status_set_elements", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Status_set_elements_x)
int PMPI_Status_set_elements_x(MPI_Status *status,
                               MPI_Datatype datatype,
                               MPI_Count count)
{
    int rc = set_elements(status, datatype, count);

    return rc ? shim_err(NULL, "MPI_Status_set_elements_x", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Status_set_cancelled)
int PMPI_Status_set_cancelled(MPI_Status *status, int flag)
{
    if (!status || status == MPI_STATUS_IGNORE)
        return shim_err(NULL, "MPI_Status_set_cancelled",
                        SHIM_ECLASS(MPI_ERR_ARG));
    status->shoal_cancelled = flag != 0;
    return MPI_SUCCESS;
}
