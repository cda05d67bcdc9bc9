/* SPDX-License-Identifier: MIT */
/* info.c - info objects: set, get (truncated to valuelen), value lengths,
 * keys in the order first set, replace, delete, dup, free, the error
 * classes of a missing or overlong key, and the communicator info calls. */
#include "mtest.h"

#include <string.h>

static void print_info(const char *what, MPI_Info info)
{
    int nkeys, flag;
    char key[MPI_MAX_INFO_KEY], value[MPI_MAX_INFO_VAL];

    MPI_Info_get_nkeys(info, &nkeys);
    SAY("%s: %d keys\n", what, nkeys);
    for (int i = 0; i < nkeys; i++) {
        MPI_Info_get_nthkey(info, i, key);
        MPI_Info_get(info, key, MPI_MAX_INFO_VAL - 1, value, &flag);
        SAY("  %s = %s\n", key, value);
    }
}

int main(int argc, char **argv)
{
    MPI_Info info, dup;
    char value[16];
    int flag, len, rc, cls;

    MPI_Init(&argc, &argv);
    MPI_Info_create(&info);
    print_info("empty", info);
    MPI_Info_set(info, "zeta", "1");
    MPI_Info_set(info, "alpha", "a longer value");
    MPI_Info_set(info, "mid", "x");
    MPI_Info_set(info, "zeta", "replaced");
    print_info("three keys", info);

    MPI_Info_get_valuelen(info, "alpha", &len, &flag);
    CHECK(flag && len == 14, "valuelen of alpha: flag %d len %d", flag, len);
    memset(value, '#', sizeof(value));
    MPI_Info_get(info, "alpha", 5, value, &flag);
    CHECK(flag && strcmp(value, "a lon") == 0,
          "get with valuelen 5 gave '%s' flag %d", value, flag);
    MPI_Info_get(info, "absent", 5, value, &flag);
    CHECK(!flag, "absent key found");
    MPI_Info_get_valuelen(info, "absent", &len, &flag);
    CHECK(!flag, "absent key has a length");

    MPI_Info_dup(info, &dup);
    MPI_Info_delete(info, "mid");
    MPI_Info_set(dup, "added", "to the copy");
    print_info("after delete", info);
    print_info("the dup", dup);

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    rc = MPI_Info_delete(info, "mid");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_NOKEY, "delete of a missing key: class %d", cls);
    char longkey[MPI_MAX_INFO_KEY + 8];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    rc = MPI_Info_set(info, longkey, "v");
    MPI_Error_class(rc, &cls);
    CHECK(cls == MPI_ERR_INFO_KEY, "overlong key: class %d", cls);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    SAY("missing and overlong keys are errors\n");

    MPI_Info_free(&dup);
    CHECK(dup == MPI_INFO_NULL, "freed info not MPI_INFO_NULL");

    /* Communicator hints: accepted; what comes back is a new info object
     * of the caller's to free (its keys are the library's business). */
    MPI_Comm comm;
    MPI_Info used;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_info(comm, info);
    MPI_Comm_get_info(comm, &used);
    CHECK(used != MPI_INFO_NULL, "MPI_Comm_get_info gave MPI_INFO_NULL");
    MPI_Info_free(&used);
    MPI_Comm_free(&comm);
    MPI_Info_free(&info);
    SAY("communicator info set and got\n");
    return mtest_finalize();
}
