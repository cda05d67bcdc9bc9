/* SPDX-License-Identifier: MIT */
/* account.h - a local user account as a job runs under it: uid, gid,
 * supplementary groups, name and home, from the password and group
 * databases (getpwuid_r, getgrouplist), and the environment a login would
 * give it (HOME, USER, LOGNAME).
 *
 * The lookups read /etc/passwd (or NSS) and so must run in the parent
 * before a fork, never in the child: the child only makes the system calls
 * of util/spawn.h's spawn_user, which account_spawn_user() fills.
 * Thread-safe (the _r lookups). */
#ifndef SHOAL_UTIL_ACCOUNT_H
#define SHOAL_UTIL_ACCOUNT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/spawn.h"

enum account_limit {
    ACCOUNT_GROUPS_MAX = 256,
    ACCOUNT_NAME_MAX = 64,
};

struct account {
    uid_t uid;
    gid_t gid;
    char name[ACCOUNT_NAME_MAX];
    char home[PATH_MAX];
    gid_t groups[ACCOUNT_GROUPS_MAX];
    size_t ngroups;
};

/* The account of uid, with gid as its group (the submitter's, which may
 * differ from the password entry's; (gid_t)-1 takes the entry's) and the
 * supplementary groups of its name. Returns 0, -ENOENT when the uid has no
 * password entry here, or another negative errno from the lookup. */
int account_by_uid(uid_t uid, gid_t gid, struct account *out);

/* The account named name, with its password entry's group. Returns 0,
 * -ENOENT when there is no such user, or another negative errno. */
int account_by_name(const char *name, struct account *out);

/* Point u at a (borrowed: a must outlive u) for util/spawn.h. */
void account_spawn_user(const struct account *a, struct spawn_user *u);

/* The login variables of an account, as "NAME=value" strings in vars
 * (NULL-terminated); vars points into the struct itself, which must not be
 * copied. */
struct account_env {
    char home[PATH_MAX + 8];
    char user[ACCOUNT_NAME_MAX + 8];
    char logname[ACCOUNT_NAME_MAX + 8];
    char *vars[4];
};

void account_env_fill(const struct account *a, struct account_env *env);

/* env (NULL-terminated, borrowed) without its HOME, USER and LOGNAME, then
 * those of ae: a new NULL-terminated array of borrowed strings (the caller
 * frees the array alone with free()), or NULL when out of memory. */
char **account_env_merge(char *const *env, const struct account_env *ae);

#endif
