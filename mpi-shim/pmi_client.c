/* SPDX-License-Identifier: MIT */
/* pmi_client.c - PMI-1 "simple" wire protocol client. Each command is one
 * line of space-separated key=value pairs; each reply names its cmd. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi-shim/pmi_client.h"
#include "mpi-shim/pmix_client.h"

enum { PMI_LINE_MAX = 4096 };

static struct {
    int fd;
    char kvsname[256];
    size_t key_max;
    size_t val_max;
    /* A singleton keeps its own puts so that get finds them. */
    char **local_keys;
    char **local_vals;
    int nlocal;
    char rbuf[PMI_LINE_MAX];
    size_t rlen;
    /* no PMI_FD but PMIx: every call goes to pmix_client.h */
    bool pmix;
} pmi = {.fd = -1, .key_max = 64, .val_max = 1024};

static int pmi_write(const char *line)
{
    size_t len = strlen(line);
    size_t off = 0;

    while (off < len) {
        ssize_t n = write(pmi.fd, line + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        off += (size_t)n;
    }
    return 0;
}

/* Reads one reply line (without the newline) into line. */
static int pmi_read_line(char *line, size_t len)
{
    for (;;) {
        char *nl = memchr(pmi.rbuf, '\n', pmi.rlen);
        if (nl) {
            size_t n = (size_t)(nl - pmi.rbuf);
            if (n >= len)
                return -EMSGSIZE;
            memcpy(line, pmi.rbuf, n);
            line[n] = '\0';
            memmove(pmi.rbuf, nl + 1, pmi.rlen - n - 1);
            pmi.rlen -= n + 1;
            return 0;
        }
        if (pmi.rlen == sizeof(pmi.rbuf))
            return -EMSGSIZE;
        ssize_t r =
            read(pmi.fd, pmi.rbuf + pmi.rlen, sizeof(pmi.rbuf) - pmi.rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ECONNRESET;
        pmi.rlen += (size_t)r;
    }
}

/* Finds key in a reply line; copies its value (up to the next space, or the
 * rest of the line for "msg"). */
static int pmi_field(const char *line, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    const char *p = line;

    while (p && *p) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t n = strcspn(v, " ");
            if (n >= len)
                return -EMSGSIZE;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p = strchr(p, ' ');
    }
    return -ENOENT;
}

/* Sends cmd and reads the reply, which must be `cmd=expect`; checks rc. */
static int
pmi_call(const char *cmd, const char *expect, char *reply, size_t len)
{
    char got[64];
    char rc[16];
    int err = pmi_write(cmd);

    if (err)
        return err;
    err = pmi_read_line(reply, len);
    if (err)
        return err;
    if (pmi_field(reply, "cmd", got, sizeof(got)) != 0
        || strcmp(got, expect) != 0)
        return -EPROTO;
    if (pmi_field(reply, "rc", rc, sizeof(rc)) == 0 && atoi(rc) != 0)
        return -EIO;
    return 0;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v ? atoi(v) : dflt;
}

int shim_pmi_init(int *rank, int *size, int *appnum)
{
    char reply[PMI_LINE_MAX];
    char val[256];
    const char *fd = getenv("PMI_FD");
    int err;

    *appnum = 0;
    if ((!fd || !*fd) && shim_pmix_available(val, sizeof(val))) {
        pmi.pmix = true;
        return shim_pmix_init(rank, size, appnum);
    }
    if (!fd || !*fd) {
        *rank = 0;
        *size = 1;
        snprintf(pmi.kvsname, sizeof(pmi.kvsname), "singleton");
        return 0;
    }
    pmi.fd = atoi(fd);
    *rank = env_int("PMI_RANK", 0);
    *size = env_int("PMI_SIZE", 1);
    err = pmi_call("cmd=init pmi_version=1 pmi_subversion=1\n",
                   "response_to_init", reply, sizeof(reply));
    if (err)
        return err;
    err = pmi_call("cmd=get_maxes\n", "maxes", reply, sizeof(reply));
    if (err)
        return err;
    if (pmi_field(reply, "vallen_max", val, sizeof(val)) == 0)
        pmi.val_max = (size_t)atol(val);
    if (pmi_field(reply, "keylen_max", val, sizeof(val)) == 0)
        pmi.key_max = (size_t)atol(val);
    err = pmi_call("cmd=get_appnum\n", "appnum", reply, sizeof(reply));
    if (err == 0 && pmi_field(reply, "appnum", val, sizeof(val)) == 0)
        *appnum = atoi(val);
    err = pmi_call("cmd=get_my_kvsname\n", "my_kvsname", reply, sizeof(reply));
    if (err)
        return err;
    return pmi_field(reply, "kvsname", pmi.kvsname, sizeof(pmi.kvsname));
}

bool shim_pmi_is_singleton(void)
{
    return pmi.fd < 0 && !pmi.pmix;
}

size_t shim_pmi_value_max(void)
{
    /* Leaves room for the terminating NUL some servers count. */
    if (pmi.pmix)
        return 1023;
    return pmi.val_max > 1 ? pmi.val_max - 1 : 0;
}

int shim_pmi_put(const char *key, const char *value)
{
    char line[PMI_LINE_MAX];
    char reply[PMI_LINE_MAX];

    if (pmi.pmix)
        return shim_pmix_put(key, value);
    if (strlen(key) >= pmi.key_max || strlen(value) > shim_pmi_value_max())
        return -EMSGSIZE;
    if (pmi.fd < 0) {
        char **k = realloc(pmi.local_keys, sizeof(*k) * (pmi.nlocal + 1));
        if (!k)
            return -ENOMEM;
        pmi.local_keys = k;
        char **v = realloc(pmi.local_vals, sizeof(*v) * (pmi.nlocal + 1));
        if (!v)
            return -ENOMEM;
        pmi.local_vals = v;
        k[pmi.nlocal] = strdup(key);
        v[pmi.nlocal] = strdup(value);
        if (!k[pmi.nlocal] || !v[pmi.nlocal])
            return -ENOMEM;
        pmi.nlocal++;
        return 0;
    }
    if (snprintf(line, sizeof(line), "cmd=put kvsname=%s key=%s value=%s\n",
                 pmi.kvsname, key, value)
        >= (int)sizeof(line))
        return -EMSGSIZE;
    return pmi_call(line, "put_result", reply, sizeof(reply));
}

int shim_pmi_barrier(void)
{
    char reply[PMI_LINE_MAX];

    if (pmi.pmix)
        return shim_pmix_barrier();
    if (pmi.fd < 0)
        return 0;
    return pmi_call("cmd=barrier_in\n", "barrier_out", reply, sizeof(reply));
}

int shim_pmi_get(const char *key, char *value, size_t len)
{
    char line[PMI_LINE_MAX];
    char reply[PMI_LINE_MAX];
    int err;

    if (pmi.pmix)
        return shim_pmix_get(key, value, len);
    if (pmi.fd < 0) {
        for (int i = 0; i < pmi.nlocal; i++) {
            if (strcmp(pmi.local_keys[i], key) == 0) {
                if (strlen(pmi.local_vals[i]) >= len)
                    return -EMSGSIZE;
                strcpy(value, pmi.local_vals[i]);
                return 0;
            }
        }
        return -ENOENT;
    }
    if (snprintf(line, sizeof(line), "cmd=get kvsname=%s key=%s\n", pmi.kvsname,
                 key)
        >= (int)sizeof(line))
        return -EMSGSIZE;
    err = pmi_call(line, "get_result", reply, sizeof(reply));
    if (err == -EIO)
        return -ENOENT;
    if (err)
        return err;
    return pmi_field(reply, "value", value, len);
}

int shim_pmi_finalize(void)
{
    char reply[PMI_LINE_MAX];
    int err = 0;

    if (pmi.pmix)
        return shim_pmix_finalize();
    if (pmi.fd >= 0) {
        err = pmi_call("cmd=finalize\n", "finalize_ack", reply, sizeof(reply));
        close(pmi.fd);
        pmi.fd = -1;
    }
    for (int i = 0; i < pmi.nlocal; i++) {
        free(pmi.local_keys[i]);
        free(pmi.local_vals[i]);
    }
    free(pmi.local_keys);
    free(pmi.local_vals);
    pmi.local_keys = pmi.local_vals = NULL;
    pmi.nlocal = 0;
    return err;
}

void shim_pmi_abort(int exitcode, const char *msg)
{
    char line[PMI_LINE_MAX];

    if (pmi.pmix) {
        shim_pmix_abort(exitcode, msg);
        return;
    }
    if (pmi.fd < 0)
        return;
    /* The reason was already printed by the caller: servers differ in how
     * they take free text, and the exit code is what the launcher needs. */
    (void)msg;
    snprintf(line, sizeof(line), "cmd=abort exitcode=%d\n", exitcode);
    (void)pmi_write(line);
}
