/* SPDX-License-Identifier: MIT */
/* account.c - local accounts from the password and group databases. */
#include "util/account.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fill out from a password entry, with gid as the group. */
static int account_fill(const struct passwd *pw, gid_t gid, struct account *out)
{
    int n = ACCOUNT_GROUPS_MAX;

    memset(out, 0, sizeof(*out));
    out->uid = pw->pw_uid;
    out->gid = gid == (gid_t)-1 ? pw->pw_gid : gid;
    snprintf(out->name, sizeof(out->name), "%s", pw->pw_name);
    snprintf(out->home, sizeof(out->home), "%s",
             pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    if (getgrouplist(pw->pw_name, out->gid, out->groups, &n) < 0) {
        /* more groups than we keep: the first ones, the job's own first */
        n = ACCOUNT_GROUPS_MAX;
    }
    out->ngroups = (size_t)(n > 0 ? n : 0);
    return 0;
}

static size_t account_buf_size(void)
{
    long n = sysconf(_SC_GETPW_R_SIZE_MAX);

    return n > 0 && n < (1 << 20) ? (size_t)n : 16384;
}

int account_by_uid(uid_t uid, gid_t gid, struct account *out)
{
    size_t size = account_buf_size();
    struct passwd pw, *found = NULL;
    char *buf = malloc(size);
    int rc;

    if (!buf)
        return -ENOMEM;
    rc = getpwuid_r(uid, &pw, buf, size, &found);
    if (rc == 0 && !found)
        rc = ENOENT;
    if (rc == 0)
        rc = -account_fill(&pw, gid, out);
    else
        rc = -rc;
    free(buf);
    return rc;
}

int account_by_name(const char *name, struct account *out)
{
    size_t size = account_buf_size();
    struct passwd pw, *found = NULL;
    char *buf = malloc(size);
    int rc;

    if (!buf)
        return -ENOMEM;
    rc = getpwnam_r(name, &pw, buf, size, &found);
    if (rc == 0 && !found)
        rc = ENOENT;
    if (rc == 0)
        rc = -account_fill(&pw, (gid_t)-1, out);
    else
        rc = -rc;
    free(buf);
    return rc;
}

void account_spawn_user(const struct account *a, struct spawn_user *u)
{
    u->uid = a->uid;
    u->gid = a->gid;
    u->groups = a->ngroups ? a->groups : NULL;
    u->ngroups = a->ngroups;
    u->name = a->name;
}

void account_env_fill(const struct account *a, struct account_env *env)
{
    snprintf(env->home, sizeof(env->home), "HOME=%s", a->home);
    snprintf(env->user, sizeof(env->user), "USER=%s", a->name);
    snprintf(env->logname, sizeof(env->logname), "LOGNAME=%s", a->name);
    env->vars[0] = env->home;
    env->vars[1] = env->user;
    env->vars[2] = env->logname;
    env->vars[3] = NULL;
}

char **account_env_merge(char *const *env, const struct account_env *ae)
{
    size_t n = 0, k = 0;
    char **out;

    while (env && env[n])
        n++;
    out = calloc(n + 4, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], "HOME=", 5) && strncmp(env[i], "USER=", 5)
            && strncmp(env[i], "LOGNAME=", 8))
            out[k++] = env[i];
    for (int i = 0; ae->vars[i]; i++)
        out[k++] = ae->vars[i];
    out[k] = NULL;
    return out;
}
