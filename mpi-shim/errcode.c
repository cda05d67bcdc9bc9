/* SPDX-License-Identifier: MIT */
/* errcode.c - error classes and codes beyond the predefined ones: those
 * the user adds (MPI_Add_error_class, _code, _string) and the library's
 * own codes that carry a more precise text than their class.
 *
 * Codes above MPI_ERR_LASTCODE are handed out in order, and
 * MPI_LASTUSEDCODE (shim_err_lastused) follows the largest. A user class
 * is its own code. Each code keeps its class and an optional text (at
 * most MPI_MAX_ERROR_STRING - 1 characters); MPI_Error_class and
 * MPI_Error_string (errors.c) ask shim_errcode_lookup() for them. The
 * table lives until the process ends: codes stay valid after
 * MPI_Finalize, as MPI_Error_string may be called then. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpi-shim/shim_private.h"

struct errcode {
    int cls;
    char *text; /* NULL: none set */
};

/* Index i holds code MPI_ERR_LASTCODE + i. */
static struct errcode *codes;
static int ncodes, capcodes;

static const char inter_coll_text[] =
    "MPI_ERR_COMM: this collective is not defined on intercommunicators "
    "(MPI_Scan, MPI_Exscan and their nonblocking forms)";

static int code_add(int cls, int *code)
{
    if (ncodes == capcodes) {
        int cap = capcodes ? 2 * capcodes : 16;
        struct errcode *c = realloc(codes, sizeof(*c) * cap);
        if (!c)
            return -ENOMEM;
        codes = c;
        capcodes = cap;
    }
    *code = MPI_ERR_LASTCODE + ncodes;
    codes[ncodes].cls = cls < 0 ? *code : cls;
    codes[ncodes].text = NULL;
    ncodes++;
    shim_err_lastused = *code;
    return 0;
}

/* The library's own codes come first, so they are the same in every
 * process and every run. */
static int builtin_init(void)
{
    static bool done;
    int code;

    if (done)
        return 0;
    int rc = code_add(MPI_ERR_COMM, &code);
    if (rc)
        return rc;
    codes[code - MPI_ERR_LASTCODE].text = (char *)inter_coll_text;
    done = true;
    return 0;
}

int shim_errcode_inter_coll(void)
{
    return builtin_init() == 0 ? MPI_ERR_LASTCODE : MPI_ERR_COMM;
}

bool shim_errcode_lookup(int code, int *cls, const char **text)
{
    builtin_init();
    if (code < MPI_ERR_LASTCODE || code >= MPI_ERR_LASTCODE + ncodes)
        return false;
    *cls = codes[code - MPI_ERR_LASTCODE].cls;
    *text = codes[code - MPI_ERR_LASTCODE].text;
    return true;
}

static bool class_valid(int cls)
{
    if (cls >= 0 && cls < MPI_ERR_LASTCODE)
        return true;
    return cls >= MPI_ERR_LASTCODE && cls < MPI_ERR_LASTCODE + ncodes
           && codes[cls - MPI_ERR_LASTCODE].cls == cls;
}

SHIM_WEAK(Add_error_class)
int PMPI_Add_error_class(int *errorclass)
{
    int rc = errorclass ? builtin_init() : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0)
        rc = code_add(-1, errorclass);
    return rc ? shim_err(NULL, "MPI_Add_error_class", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Add_error_code)
int PMPI_Add_error_code(int errorclass, int *errorcode)
{
    int rc = errorcode ? builtin_init() : SHIM_ECLASS(MPI_ERR_ARG);

    if (rc == 0 && !class_valid(errorclass))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0)
        rc = code_add(errorclass, errorcode);
    return rc ? shim_err(NULL, "MPI_Add_error_code", rc) : MPI_SUCCESS;
}

SHIM_WEAK(Add_error_string)
int PMPI_Add_error_string(int errorcode, const char *string)
{
    int rc = string ? builtin_init() : SHIM_ECLASS(MPI_ERR_ARG);

    /* Only added codes take a text; the library's own keep theirs. */
    if (rc == 0
        && (errorcode <= MPI_ERR_LASTCODE
            || errorcode >= MPI_ERR_LASTCODE + ncodes))
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc == 0 && strlen(string) >= MPI_MAX_ERROR_STRING)
        rc = SHIM_ECLASS(MPI_ERR_ARG);
    if (rc)
        return shim_err(NULL, "MPI_Add_error_string", rc);
    char *t = strdup(string);
    if (!t)
        return shim_err(NULL, "MPI_Add_error_string", -ENOMEM);
    free(codes[errorcode - MPI_ERR_LASTCODE].text);
    codes[errorcode - MPI_ERR_LASTCODE].text = t;
    return MPI_SUCCESS;
}
