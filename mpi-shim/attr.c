/* SPDX-License-Identifier: MIT */
/* attr.c - attribute caching (see attr.h for the module's contract), and
 * the entry points of communicator and datatype attributes: keyvals,
 * set/get/delete, the MPI-1 forms (MPI_Keyval_create, MPI_Attr_put ...)
 * and the predefined communicator attributes (MPI_TAG_UB ...). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "mpi-shim/shim_private.h"

struct shim_keyval {
    enum shim_attr_kind kind;
    shim_attr_copy_f *copy;
    shim_attr_delete_f *del;
    void *extra_state;
    int handle;
    /* One for the user's handle until freed, one per attribute using it. */
    int refcount;
    bool freed;
};

struct shim_attr {
    struct shim_attr *next;
    struct shim_keyval *kv;
    void *value;
};

static struct shim_table keyvals;

static struct shim_keyval *keyval_lookup(enum shim_attr_kind kind, int keyval)
{
    struct shim_keyval *kv =
        shim_table_lookup(&keyvals, keyval, SHIM_KIND_KEYVAL);

    return kv && !kv->freed && kv->kind == kind ? kv : NULL;
}

static void keyval_decref(struct shim_keyval *kv)
{
    if (--kv->refcount > 0)
        return;
    shim_table_remove(&keyvals, kv->handle);
    free(kv);
}

int shim_keyval_create(enum shim_attr_kind kind,
                       shim_attr_copy_f *copy,
                       shim_attr_delete_f *del,
                       void *extra_state,
                       int *keyval)
{
    struct shim_keyval *kv = calloc(1, sizeof(*kv));
    int idx;

    if (!kv)
        return -ENOMEM;
    /* Index 0 would make the handle MPI_KEYVAL_INVALID's look-alike. */
    if (keyvals.used == 0 && shim_table_insert(&keyvals, NULL) < 0) {
        free(kv);
        return -ENOMEM;
    }
    idx = shim_table_insert(&keyvals, kv);
    if (idx < 0) {
        free(kv);
        return idx;
    }
    kv->kind = kind;
    kv->copy = copy;
    kv->del = del;
    kv->extra_state = extra_state;
    kv->handle = SHIM_HANDLE(SHIM_KIND_KEYVAL, idx);
    kv->refcount = 1;
    *keyval = kv->handle;
    return 0;
}

int shim_keyval_free(enum shim_attr_kind kind, int *keyval)
{
    struct shim_keyval *kv = keyval_lookup(kind, *keyval);

    if (!kv)
        return SHIM_ECLASS(MPI_ERR_KEYVAL);
    kv->freed = true;
    keyval_decref(kv);
    *keyval = MPI_KEYVAL_INVALID;
    return 0;
}

bool shim_keyval_valid(enum shim_attr_kind kind, int keyval)
{
    return keyval_lookup(kind, keyval) != NULL;
}

static struct shim_attr **attr_find(struct shim_attr_table *t,
                                    const struct shim_keyval *kv)
{
    struct shim_attr **p = &t->head;

    while (*p && (*p)->kv != kv)
        p = &(*p)->next;
    return p;
}

static int attr_call_delete(const struct shim_attr *a, int handle)
{
    if (!a->kv->del)
        return 0;
    int rc = a->kv->del(handle, a->kv->handle, a->value, a->kv->extra_state);
    return rc == MPI_SUCCESS ? 0 : rc;
}

int shim_attr_set(enum shim_attr_kind kind,
                  struct shim_attr_table *t,
                  int handle,
                  int keyval,
                  void *value)
{
    struct shim_keyval *kv = keyval_lookup(kind, keyval);

    if (!kv)
        return SHIM_ECLASS(MPI_ERR_KEYVAL);
    struct shim_attr *a = *attr_find(t, kv);
    if (a) {
        int rc = attr_call_delete(a, handle);
        if (rc)
            return rc;
        a->value = value;
        return 0;
    }
    a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->kv = kv;
    a->value = value;
    a->next = t->head;
    t->head = a;
    kv->refcount++;
    return 0;
}

int shim_attr_get(enum shim_attr_kind kind,
                  const struct shim_attr_table *t,
                  int keyval,
                  void **value,
                  int *flag)
{
    struct shim_keyval *kv = keyval_lookup(kind, keyval);

    if (!kv)
        return SHIM_ECLASS(MPI_ERR_KEYVAL);
    *flag = 0;
    for (const struct shim_attr *a = t->head; a; a = a->next) {
        if (a->kv == kv) {
            *value = a->value;
            *flag = 1;
            break;
        }
    }
    return 0;
}

/* Unlinks *p, runs its delete callback, and frees it; on the callback's
 * failure puts it back where it was. */
static int attr_remove(struct shim_attr **p, int handle)
{
    struct shim_attr *a = *p;
    int rc;

    *p = a->next;
    rc = attr_call_delete(a, handle);
    if (rc) {
        a->next = *p;
        *p = a;
        return rc;
    }
    keyval_decref(a->kv);
    free(a);
    return 0;
}

int shim_attr_delete(enum shim_attr_kind kind,
                     struct shim_attr_table *t,
                     int handle,
                     int keyval)
{
    struct shim_keyval *kv = keyval_lookup(kind, keyval);

    if (!kv)
        return SHIM_ECLASS(MPI_ERR_KEYVAL);
    struct shim_attr **p = attr_find(t, kv);
    if (!*p)
        return SHIM_ECLASS(MPI_ERR_KEYVAL);
    return attr_remove(p, handle);
}

int shim_attr_copy(enum shim_attr_kind kind,
                   const struct shim_attr_table *from,
                   int old_handle,
                   struct shim_attr_table *to)
{
    struct shim_attr **tail = &to->head;
    int rc = 0;

    (void)kind;
    for (const struct shim_attr *a = from->head; a; a = a->next) {
        void *out = NULL;
        int flag = 0;
        if (!a->kv->copy)
            continue;
        rc = a->kv->copy(old_handle, a->kv->handle, a->kv->extra_state,
                         a->value, &out, &flag);
        if (rc != MPI_SUCCESS)
            goto error;
        if (!flag)
            continue;
        struct shim_attr *n = malloc(sizeof(*n));
        if (!n) {
            rc = -ENOMEM;
            goto error;
        }
        n->kv = a->kv;
        n->value = out;
        n->next = NULL;
        a->kv->refcount++;
        *tail = n;
        tail = &n->next;
    }
    return 0;
error:
    shim_attr_drop(to);
    return rc;
}

int shim_attr_clear(enum shim_attr_kind kind,
                    struct shim_attr_table *t,
                    int handle)
{
    (void)kind;
    while (t->head) {
        int rc = attr_remove(&t->head, handle);
        if (rc)
            return rc;
    }
    return 0;
}

void shim_attr_drop(struct shim_attr_table *t)
{
    while (t->head) {
        struct shim_attr *a = t->head;
        t->head = a->next;
        keyval_decref(a->kv);
        free(a);
    }
}

void shim_attr_finalize(void)
{
    for (int i = 0; i < keyvals.used; i++)
        free(keyvals.slots[i]);
    shim_table_release(&keyvals);
}

/* The predefined copy callback that copies the value itself. */
SHOAL_MPI_API int shoal_mpi_dup_fn(int handle,
                                   int keyval,
                                   void *extra_state,
                                   void *value_in,
                                   void *value_out,
                                   int *flag)
{
    (void)handle;
    (void)keyval;
    (void)extra_state;
    *(void **)value_out = value_in;
    *flag = 1;
    return MPI_SUCCESS;
}

/* ---- communicators ------------------------------------------------------ */

static bool keyval_predefined(int keyval)
{
    return keyval >= MPI_TAG_UB && keyval <= MPI_LASTUSEDCODE;
}

/* Values of the predefined attributes, handed out by address. */
static int attr_tag_ub = SHIM_TAG_MAX;
static int attr_host = MPI_PROC_NULL;
static int attr_io = MPI_ANY_SOURCE;
static int attr_wtime_global = 0;
static int attr_appnum;
static int attr_universe;
static int attr_lastused;

static int *predefined_value(int keyval)
{
    switch (keyval) {
    case MPI_TAG_UB:
        return &attr_tag_ub;
    case MPI_HOST:
        return &attr_host;
    case MPI_IO:
        return &attr_io;
    case MPI_WTIME_IS_GLOBAL:
        return &attr_wtime_global;
    case MPI_APPNUM:
        attr_appnum = shim.appnum;
        return &attr_appnum;
    case MPI_UNIVERSE_SIZE:
        attr_universe = shim.size;
        return &attr_universe;
    case MPI_LASTUSEDCODE:
        attr_lastused = shim_err_lastused;
        return &attr_lastused;
    }
    return NULL;
}

static int comm_keyval_create(const char *fn,
                              shim_attr_copy_f *copy,
                              shim_attr_delete_f *del,
                              void *extra_state,
                              int *keyval)
{
    int rc = keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_keyval_create(SHIM_ATTR_COMM, copy, del, extra_state, keyval);
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Comm_create_keyval)
int PMPI_Comm_create_keyval(MPI_Comm_copy_attr_function *comm_copy_attr_fn,
                            MPI_Comm_delete_attr_function *comm_delete_attr_fn,
                            int *comm_keyval,
                            void *extra_state)
{
    return comm_keyval_create("MPI_Comm_create_keyval", comm_copy_attr_fn,
                              comm_delete_attr_fn, extra_state, comm_keyval);
}

SHIM_WEAK(Keyval_create)
int PMPI_Keyval_create(MPI_Copy_function *copy_fn,
                       MPI_Delete_function *delete_fn,
                       int *keyval,
                       void *extra_state)
{
    return comm_keyval_create("MPI_Keyval_create", copy_fn, delete_fn,
                              extra_state, keyval);
}

static int comm_keyval_free(const char *fn, int *keyval)
{
    int rc = keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_keyval_free(SHIM_ATTR_COMM, keyval);
    return rc ? shim_err(NULL, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Comm_free_keyval)
int PMPI_Comm_free_keyval(int *comm_keyval)
{
    return comm_keyval_free("MPI_Comm_free_keyval", comm_keyval);
}

SHIM_WEAK(Keyval_free)
int PMPI_Keyval_free(int *keyval)
{
    return comm_keyval_free("MPI_Keyval_free", keyval);
}

static int
comm_set_attr(const char *fn, MPI_Comm comm, int keyval, void *attribute_val)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_COMM));
    int rc = keyval_predefined(keyval)
                 ? SHIM_ECLASS(MPI_ERR_KEYVAL)
                 : shim_attr_set(SHIM_ATTR_COMM, &c->attrs, c->handle, keyval,
                                 attribute_val);
    return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Comm_set_attr)
int PMPI_Comm_set_attr(MPI_Comm comm, int comm_keyval, void *attribute_val)
{
    return comm_set_attr("MPI_Comm_set_attr", comm, comm_keyval, attribute_val);
}

SHIM_WEAK(Attr_put)
int PMPI_Attr_put(MPI_Comm comm, int keyval, void *attribute_val)
{
    return comm_set_attr("MPI_Attr_put", comm, keyval, attribute_val);
}

static int comm_get_attr(
    const char *fn, MPI_Comm comm, int keyval, void *attribute_val, int *flag)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_COMM));
    if (!attribute_val || !flag)
        return shim_err(c, fn, SHIM_ECLASS(MPI_ERR_ARG));
    if (keyval_predefined(keyval)) {
        *(int **)attribute_val = predefined_value(keyval);
        *flag = 1;
        return MPI_SUCCESS;
    }
    int rc = shim_attr_get(SHIM_ATTR_COMM, &c->attrs, keyval,
                           (void **)attribute_val, flag);
    return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Comm_get_attr)
int PMPI_Comm_get_attr(MPI_Comm comm,
                       int comm_keyval,
                       void *attribute_val,
                       int *flag)
{
    return comm_get_attr("MPI_Comm_get_attr", comm, comm_keyval, attribute_val,
                         flag);
}

SHIM_WEAK(Attr_get)
int PMPI_Attr_get(MPI_Comm comm, int keyval, void *attribute_val, int *flag)
{
    return comm_get_attr("MPI_Attr_get", comm, keyval, attribute_val, flag);
}

static int comm_delete_attr(const char *fn, MPI_Comm comm, int keyval)
{
    struct shim_comm *c;

    if (shim_comm_check(comm, &c))
        return shim_err(NULL, fn, SHIM_ECLASS(MPI_ERR_COMM));
    int rc =
        keyval_predefined(keyval)
            ? SHIM_ECLASS(MPI_ERR_KEYVAL)
            : shim_attr_delete(SHIM_ATTR_COMM, &c->attrs, c->handle, keyval);
    return rc ? shim_err(c, fn, rc) : MPI_SUCCESS;
}

SHIM_WEAK(Comm_delete_attr)
int PMPI_Comm_delete_attr(MPI_Comm comm, int comm_keyval)
{
    return comm_delete_attr("MPI_Comm_delete_attr", comm, comm_keyval);
}

SHIM_WEAK(Attr_delete)
int PMPI_Attr_delete(MPI_Comm comm, int keyval)
{
    return comm_delete_attr("MPI_Attr_delete", comm, keyval);
}

/* ---- datatypes ---------------------------------------------------------- */

SHIM_WEAK(Type_create_keyval)
int PMPI_Type_create_keyval(MPI_Type_copy_attr_function *type_copy_attr_fn,
                            MPI_Type_delete_attr_function *type_delete_attr_fn,
                            int *type_keyval,
                            void *extra_state)
{
    int rc = type_keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_keyval_create(SHIM_ATTR_TYPE, type_copy_attr_fn,
                                type_delete_attr_fn, extra_state, type_keyval);
    return rc ? shim_err(NULL, "MPI_Type_create_keyval", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Type_free_keyval)
int PMPI_Type_free_keyval(int *type_keyval)
{
    int rc = type_keyval ? 0 : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = shim_keyval_free(SHIM_ATTR_TYPE, type_keyval);
    return rc ? shim_err(NULL, "MPI_Type_free_keyval", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Type_set_attr)
int PMPI_Type_set_attr(MPI_Datatype datatype,
                       int type_keyval,
                       void *attribute_val)
{
    struct shim_datatype *t = shim_dt_get(datatype);
    int rc = t ? shim_attr_set(SHIM_ATTR_TYPE, &t->attrs, t->handle,
                               type_keyval, attribute_val)
               : SHIM_ECLASS(MPI_ERR_TYPE);

    return rc ? shim_err(NULL, "MPI_Type_set_attr", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Type_get_attr)
int PMPI_Type_get_attr(MPI_Datatype datatype,
                       int type_keyval,
                       void *attribute_val,
                       int *flag)
{
    struct shim_datatype *t = shim_dt_get(datatype);
    int rc = t ? 0 : SHIM_ECLASS(MPI_ERR_TYPE);

    if (rc == 0 && (!attribute_val || !flag))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = shim_attr_get(SHIM_ATTR_TYPE, &t->attrs, type_keyval,
                           (void **)attribute_val, flag);
    return rc ? shim_err(NULL, "MPI_Type_get_attr", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Type_delete_attr)
int PMPI_Type_delete_attr(MPI_Datatype datatype, int type_keyval)
{
    struct shim_datatype *t = shim_dt_get(datatype);
    int rc =
        t ? shim_attr_delete(SHIM_ATTR_TYPE, &t->attrs, t->handle, type_keyval)
          : SHIM_ECLASS(MPI_ERR_TYPE);

    return rc ? shim_err(NULL, "MPI_Type_delete_attr", rc) : MPI_SUCCESS;
}
