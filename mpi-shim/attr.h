/* SPDX-License-Identifier: MIT */
/* attr.h - attribute caching: keyvals, and the attributes they key on
 * communicators, datatypes and windows (MPI-3.1 chapter 6.7).
 *
 * One module serves every object kind. Each object embeds a
 * struct shim_attr_table (zeroed = empty); the kind's entry points hand
 * it in with the object's handle and the kind, and this module keeps the
 * keyvals, checks that a keyval belongs to the kind it is used with, and
 * runs the user's callbacks:
 * - copy callbacks when an object is duplicated (shim_attr_copy(), for
 *   MPI_Comm_dup, MPI_Comm_idup, MPI_Type_dup);
 * - delete callbacks when an attribute is replaced or deleted, and when
 *   its object is freed (shim_attr_clear()).
 * The callback types of every kind have one signature here: object handles
 * are ints in this MPI, so MPI_Comm_copy_attr_function,
 * MPI_Type_copy_attr_function and the window one are the same type, and
 * the entry points pass the user's pointers on unchanged.
 *
 * A keyval freed by the user stays alive while attributes use it: their
 * delete callbacks still run when their objects go. Predefined keyvals
 * (MPI_TAG_UB ...) are the entry points' business, never this module's.
 *
 * Error codes follow shim_private.h (0, -errno or SHIM_ECLASS()); a code a
 * user callback returned is handed back as is (a positive MPI error code).
 * Not thread-safe, as the rest of the library. */
#ifndef SHOAL_MPI_ATTR_H
#define SHOAL_MPI_ATTR_H

#include <stdbool.h>

enum shim_attr_kind {
    SHIM_ATTR_COMM = 1,
    SHIM_ATTR_TYPE,
    SHIM_ATTR_WIN,
};

/* The user's callbacks, as MPI defines them for every kind. */
typedef int shim_attr_copy_f(int handle,
                             int keyval,
                             void *extra_state,
                             void *value_in,
                             void *value_out,
                             int *flag);
typedef int
shim_attr_delete_f(int handle, int keyval, void *value, void *extra_state);

struct shim_attr;
/* The attributes of one object; all zero is the empty table. */
struct shim_attr_table {
    struct shim_attr *head; /* most recently set first */
};

/* Creates a keyval for objects of kind; copy and del may be NULL (no copy,
 * nothing to do on delete). Sets *keyval; 0 or -ENOMEM. */
int shim_keyval_create(enum shim_attr_kind kind,
                       shim_attr_copy_f *copy,
                       shim_attr_delete_f *del,
                       void *extra_state,
                       int *keyval);

/* Frees the user's keyval of kind and sets *keyval to MPI_KEYVAL_INVALID;
 * attributes already set with it stay until deleted. 0, or
 * SHIM_ECLASS(MPI_ERR_KEYVAL) for a keyval not of kind. */
int shim_keyval_free(enum shim_attr_kind kind, int *keyval);

/* Whether keyval is a live user keyval of kind; no side effects. */
bool shim_keyval_valid(enum shim_attr_kind kind, int keyval);

/* Sets the attribute keyval of the object handle (whose table is t) to
 * value; an existing value is first given to the delete callback, and
 * when that fails, its code is returned and nothing changes. 0,
 * SHIM_ECLASS(MPI_ERR_KEYVAL), -ENOMEM or the callback's code. */
int shim_attr_set(enum shim_attr_kind kind,
                  struct shim_attr_table *t,
                  int handle,
                  int keyval,
                  void *value);

/* *flag = whether the object has attribute keyval, and *value its value
 * when it has. 0 or SHIM_ECLASS(MPI_ERR_KEYVAL). */
int shim_attr_get(enum shim_attr_kind kind,
                  const struct shim_attr_table *t,
                  int keyval,
                  void **value,
                  int *flag);

/* Deletes attribute keyval of the object, running its delete callback;
 * when the callback fails, the attribute stays and its code is returned.
 * SHIM_ECLASS(MPI_ERR_KEYVAL) for a bad keyval or no such attribute. */
int shim_attr_delete(enum shim_attr_kind kind,
                     struct shim_attr_table *t,
                     int handle,
                     int keyval);

/* Gives the new object new_handle (table to, empty) the attributes of
 * from, as their copy callbacks decide, in from's order. On failure (a
 * callback's code, or -ENOMEM) to is emptied again, without delete
 * callbacks for what was copied: the caller frees the new object. */
int shim_attr_copy(enum shim_attr_kind kind,
                   const struct shim_attr_table *from,
                   int old_handle,
                   struct shim_attr_table *to);

/* Deletes every attribute of the object, most recently set first, with
 * their callbacks: what freeing an object does. Stops at the first
 * callback that fails and returns its code; the attributes not yet
 * deleted, that one included, stay. */
int shim_attr_clear(enum shim_attr_kind kind,
                    struct shim_attr_table *t,
                    int handle);

/* Forgets every attribute of t without callbacks (an object destroyed at
 * MPI_Finalize). */
void shim_attr_drop(struct shim_attr_table *t);

/* Frees every keyval; call after every object is gone. */
void shim_attr_finalize(void);

#endif
