/* SPDX-License-Identifier: MIT */
/* Unit tests of mpi-shim/pmi_client.c against a scripted PMI-1 server on
 * the other end of a socketpair. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mpi-shim/pmi_client.h"

/* A one-client PMI-1 server: answers each command line, keeps the
 * key-value space, and logs the commands it saw. */
struct fake_server {
    int fd;
    pthread_t thread;
    char keys[16][64];
    char vals[16][256];
    int nkv;
    char log[4096];
};

static void reply(struct fake_server *s, const char *line)
{
    ssize_t n = write(s->fd, line, strlen(line));
    (void)n;
}

static void field(const char *line, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *p = strstr(line, pat);
    out[0] = '\0';
    if (p) {
        p += strlen(pat);
        size_t n = strcspn(p, " \n");
        snprintf(out, len, "%.*s", (int)n, p);
    }
}

static void *serve(void *arg)
{
    struct fake_server *s = arg;
    char buf[1024];
    size_t have = 0;

    for (;;) {
        ssize_t r = read(s->fd, buf + have, sizeof(buf) - have - 1);
        if (r <= 0)
            return NULL;
        have += (size_t)r;
        buf[have] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = '\0';
            strncat(s->log, buf, sizeof(s->log) - strlen(s->log) - 2);
            strcat(s->log, "\n");
            char key[64], val[256], out[512];
            if (strncmp(buf, "cmd=init ", 9) == 0)
                reply(s, "cmd=response_to_init pmi_version=1 "
                         "pmi_subversion=1 rc=0\n");
            else if (strcmp(buf, "cmd=get_maxes") == 0)
                reply(s, "cmd=maxes kvsname_max=256 keylen_max=64 "
                         "vallen_max=32 rc=0\n");
            else if (strcmp(buf, "cmd=get_appnum") == 0)
                reply(s, "cmd=appnum appnum=3 rc=0\n");
            else if (strcmp(buf, "cmd=get_my_kvsname") == 0)
                reply(s, "cmd=my_kvsname kvsname=kvs_7 rc=0\n");
            else if (strncmp(buf, "cmd=put ", 8) == 0) {
                field(buf, "key", s->keys[s->nkv], 64);
                field(buf, "value", s->vals[s->nkv], 256);
                s->nkv++;
                reply(s, "cmd=put_result rc=0\n");
            } else if (strcmp(buf, "cmd=barrier_in") == 0)
                reply(s, "cmd=barrier_out\n");
            else if (strncmp(buf, "cmd=get ", 8) == 0) {
                field(buf, "key", key, sizeof(key));
                const char *found = NULL;
                for (int i = 0; i < s->nkv; i++)
                    if (strcmp(s->keys[i], key) == 0)
                        found = s->vals[i];
                if (found)
                    snprintf(out, sizeof(out), "cmd=get_result rc=0 value=%s\n",
                             found);
                else
                    snprintf(out, sizeof(out),
                             "cmd=get_result rc=-1 msg=key_%s_not_found\n",
                             key);
                reply(s, out);
            } else if (strcmp(buf, "cmd=finalize") == 0) {
                reply(s, "cmd=finalize_ack\n");
            }
            (void)val;
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have + 1);
        }
    }
}

static struct fake_server server;

static void server_start(int rank, int size)
{
    int sv[2];
    char num[16];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&server, 0, sizeof(server));
    server.fd = sv[0];
    snprintf(num, sizeof(num), "%d", sv[1]);
    setenv("PMI_FD", num, 1);
    snprintf(num, sizeof(num), "%d", rank);
    setenv("PMI_RANK", num, 1);
    snprintf(num, sizeof(num), "%d", size);
    setenv("PMI_SIZE", num, 1);
    cr_assert_eq(pthread_create(&server.thread, NULL, serve, &server), 0);
}

static void server_stop(void)
{
    shutdown(server.fd, SHUT_RDWR);
    pthread_join(server.thread, NULL);
    close(server.fd);
}

TestSuite(pmi_client, .timeout = 10);

Test(pmi_client, singleton_without_pmi_fd_is_rank_0_of_1)
{
    int rank = -1, size = -1, appnum = -1;
    char v[32];

    unsetenv("PMI_FD");
    cr_assert_eq(shim_pmi_init(&rank, &size, &appnum), 0);
    cr_expect_eq(rank, 0, "rank %d", rank);
    cr_expect_eq(size, 1, "size %d", size);
    cr_expect(shim_pmi_is_singleton());
    cr_assert_eq(shim_pmi_put("k", "v1"), 0);
    cr_assert_eq(shim_pmi_barrier(), 0);
    cr_assert_eq(shim_pmi_get("k", v, sizeof(v)), 0);
    cr_expect_str_eq(v, "v1");
    cr_expect_eq(shim_pmi_get("missing", v, sizeof(v)), -ENOENT);
    cr_expect_eq(shim_pmi_finalize(), 0);
}

Test(pmi_client, speaks_the_wire_protocol_in_order)
{
    int rank = -1, size = -1, appnum = -1;
    char v[64];

    server_start(2, 4);
    cr_assert_eq(shim_pmi_init(&rank, &size, &appnum), 0);
    cr_expect_eq(rank, 2, "rank %d", rank);
    cr_expect_eq(size, 4, "size %d", size);
    cr_expect_eq(appnum, 3, "appnum %d", appnum);
    cr_expect(!shim_pmi_is_singleton());
    cr_assert_eq(shim_pmi_put("addr-2", "0a0b0c"), 0);
    cr_assert_eq(shim_pmi_barrier(), 0);
    cr_assert_eq(shim_pmi_get("addr-2", v, sizeof(v)), 0);
    cr_expect_str_eq(v, "0a0b0c");
    cr_expect_eq(shim_pmi_finalize(), 0);
    server_stop();
    cr_expect_str_eq(server.log,
                     "cmd=init pmi_version=1 pmi_subversion=1\n"
                     "cmd=get_maxes\n"
                     "cmd=get_appnum\n"
                     "cmd=get_my_kvsname\n"
                     "cmd=put kvsname=kvs_7 key=addr-2 value=0a0b0c\n"
                     "cmd=barrier_in\n"
                     "cmd=get kvsname=kvs_7 key=addr-2\n"
                     "cmd=finalize\n");
}

Test(pmi_client, unknown_key_is_enoent)
{
    int rank, size, appnum;
    char v[64];

    server_start(0, 2);
    cr_assert_eq(shim_pmi_init(&rank, &size, &appnum), 0);
    cr_expect_eq(shim_pmi_get("nope", v, sizeof(v)), -ENOENT);
    shim_pmi_finalize();
    server_stop();
}

Test(pmi_client, value_longer_than_vallen_max_is_refused)
{
    int rank, size, appnum;

    server_start(0, 2);
    cr_assert_eq(shim_pmi_init(&rank, &size, &appnum), 0);
    /* The server said vallen_max=32. */
    cr_expect_eq(shim_pmi_value_max(), 31, "max %zu", shim_pmi_value_max());
    cr_expect_eq(shim_pmi_put("k", "0123456789012345678901234567890123"),
                 -EMSGSIZE);
    shim_pmi_finalize();
    server_stop();
}
