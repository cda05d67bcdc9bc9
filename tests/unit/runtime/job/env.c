/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/env.h"

TestSuite(env, .timeout = 10);

static const char *lookup(char **envp, const char *name)
{
    size_t len = strlen(name);

    for (; *envp; envp++)
        if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
            return *envp + len + 1;
    return NULL;
}

Test(env, rank_gets_identity_and_loses_foreign_launcher_vars)
{
    char *base[] = {
        "HOME=/root", "PMI_PORT=host:1", "PMIX_RANK=3", "SHOAL_RANK=9",
        "KEEP=1",     "FOO=old",         NULL};
    char *extra[] = {"FOO=new", "BAR=2", "HOME", NULL};
    struct env_block block;
    char **envp;

    cr_assert(eq(int, env_block_init(&block, base, extra), 0));
    cr_assert(eq(int, env_block_for_rank(&block, 3, 8, 1, 4, 17, &envp), 0));
    cr_assert(eq(str, (char *)lookup(envp, "HOME"), "/root"));
    cr_assert(eq(str, (char *)lookup(envp, "KEEP"), "1"));
    cr_assert(eq(str, (char *)lookup(envp, "FOO"), "new"));
    cr_assert(eq(str, (char *)lookup(envp, "BAR"), "2"));
    cr_assert(lookup(envp, "PMI_PORT") == NULL);
    cr_assert(lookup(envp, "PMIX_RANK") == NULL);
    cr_assert(eq(str, (char *)lookup(envp, "PMI_FD"), "17"));
    cr_assert(eq(str, (char *)lookup(envp, "PMI_RANK"), "3"));
    cr_assert(eq(str, (char *)lookup(envp, "PMI_SIZE"), "8"));
    cr_assert(eq(str, (char *)lookup(envp, "SHOAL_RANK"), "3"));
    cr_assert(eq(str, (char *)lookup(envp, "SHOAL_LOCAL_RANK"), "1"));
    cr_assert(eq(str, (char *)lookup(envp, "SHOAL_LOCAL_SIZE"), "4"));
    cr_assert(eq(str, (char *)lookup(envp, "MPI_LOCALRANKID"), "1"));
    cr_assert(eq(str, (char *)lookup(envp, "MPI_LOCALNRANKS"), "4"));
    {
        int foo = 0;
        for (char **e = envp; *e; e++)
            foo += strncmp(*e, "FOO=", 4) == 0;
        cr_assert(eq(int, foo, 1), "FOO appears once");
    }
    env_block_free_rank(envp);
    env_block_release(&block);
}

Test(env, export_drops_wire_up_and_resolves_x_here)
{
    char *base[] = {"HOME=/root", "PMI_PORT=1", "PMIX_RANK=0",
                    "FOO=here",   "PATH=/bin",  NULL};
    char *extra[] = {"BAR=2", "FOO", "MISSING"};
    char **env = NULL;

    cr_assert(eq(int, env_export(base, extra, 3, &env), 0));
    cr_assert(eq(str, env[0], "HOME=/root"));
    cr_assert(eq(str, env[1], "FOO=here"));
    cr_assert(eq(str, env[2], "PATH=/bin"));
    cr_assert(eq(str, env[3], "BAR=2"));
    cr_assert(eq(str, env[4], "FOO=here"), "-x FOO takes this shell's value");
    cr_assert(eq(ptr, env[5], NULL), "-x MISSING exports nothing");
    free(env);
}
