/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/pmi/pmi_server.h"

TestSuite(pmi_server, .timeout = 30);

enum { RANKS_MAX = 8, REPLIES_MAX = 8192 };

/* What the callbacks saw; each test runs in its own process. */
static struct {
    char replies[RANKS_MAX][REPLIES_MAX];
    int nabort;
    int abort_rank;
    int abort_code;
    bool abort_msg_null;
    char abort_msg[256];
    int nenter;
    bool release_in_enter;
    int release_rc;
    int nfinalize;
    int finalize_rank;
    int fail_rank; /* send to this rank fails with fail_rc */
    int fail_rc;
} seen = {.fail_rank = -1};

static int record_send(int rank, const char *buf, size_t len, void *arg)
{
    (void)arg;
    cr_assert(ge(int, rank, 0));
    cr_assert(lt(int, rank, RANKS_MAX));
    if (rank == seen.fail_rank)
        return seen.fail_rc;
    size_t used = strlen(seen.replies[rank]);
    cr_assert(lt(sz, used + len, (size_t)REPLIES_MAX));
    memcpy(seen.replies[rank] + used, buf, len);
    seen.replies[rank][used + len] = '\0';
    return 0;
}

static void record_abort(int rank, int exitcode, const char *msg, void *arg)
{
    (void)arg;
    seen.nabort++;
    seen.abort_rank = rank;
    seen.abort_code = exitcode;
    seen.abort_msg_null = msg == NULL;
    snprintf(seen.abort_msg, sizeof(seen.abort_msg), "%s", msg ? msg : "");
}

static void record_enter(pmi_server_t *server, void *arg)
{
    (void)arg;
    seen.nenter++;
    if (seen.release_in_enter)
        seen.release_rc = pmi_server_barrier_release(server, NULL);
}

static void record_finalize(int rank, void *arg)
{
    (void)arg;
    seen.nfinalize++;
    seen.finalize_rank = rank;
}

static const struct pmi_server_ops single_node_ops = {
    .send = record_send,
    .abort = record_abort,
    .finalize = record_finalize,
};

static const struct pmi_server_ops pool_ops = {
    .send = record_send,
    .abort = record_abort,
    .barrier_enter = record_enter,
    .finalize = record_finalize,
};

static struct pmi_server_config config_of(int size)
{
    static char mapping[64];

    snprintf(mapping, sizeof(mapping), "(vector,(0,1,%d))", size);
    return (struct pmi_server_config){
        .size = size,
        .nlocal = size,
        .appnum = 3,
        .universe_size = size + 4,
        .kvsname = "kvs_1",
        .process_mapping = mapping,
    };
}

static pmi_server_t *make_server(const struct pmi_server_config *config,
                                 const struct pmi_server_ops *ops)
{
    pmi_server_t *server = NULL;
    shoal_error_t err = {{0}};

    int rc = pmi_server_create(config, ops, NULL, &server, &err);
    cr_assert(eq(int, rc, 0), "%s", err.text);
    return server;
}

static void feed(pmi_server_t *server, int rank, const char *text)
{
    shoal_error_t err = {{0}};

    int rc = pmi_server_input(server, rank, text, strlen(text), &err);
    cr_assert(eq(int, rc, 0), "rank %d fed '%s': %s", rank, text, err.text);
}

/* Assert that rank has been sent exactly text since the last call. */
static void expect_replies(int rank, const char *text)
{
    cr_assert(eq(str, seen.replies[rank], (char *)text), "rank %d", rank);
    seen.replies[rank][0] = '\0';
}

static const char reply_init[] =
    "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n";
static const char reply_barrier[] = "cmd=barrier_out rc=0\n";
static const char init_line[] = "cmd=init pmi_version=1 pmi_subversion=1\n";

static void init_rank(pmi_server_t *server, int rank)
{
    feed(server, rank, init_line);
    expect_replies(rank, reply_init);
}

/* How a test hands a rank's bytes to the server. */
enum feed_mode { FEED_LINES, FEED_BYTES, FEED_CHUNKS_OF_5, FEED_ALL };

static void
feed_as(pmi_server_t *server, int rank, const char *text, enum feed_mode mode)
{
    shoal_error_t err = {{0}};
    size_t len = strlen(text);
    size_t pos = 0;

    while (pos < len) {
        size_t n = len - pos;
        if (mode == FEED_LINES)
            n = (size_t)(strchr(text + pos, '\n') - (text + pos)) + 1;
        else if (mode == FEED_BYTES)
            n = 1;
        else if (mode == FEED_CHUNKS_OF_5 && n > 5)
            n = 5;
        int rc = pmi_server_input(server, rank, text + pos, n, &err);
        cr_assert(eq(int, rc, 0), "rank %d at %zu: %s", rank, pos, err.text);
        pos += n;
    }
}

ParameterizedTestParameters(pmi_server, job_runs_from_init_to_finalize)
{
    static enum feed_mode modes[] = {FEED_LINES, FEED_BYTES, FEED_CHUNKS_OF_5,
                                     FEED_ALL};
    return cr_make_param_array(enum feed_mode, modes,
                               sizeof(modes) / sizeof(modes[0]));
}

/* Four ranks go through what MPICH's client does, in the order it does. */
ParameterizedTest(enum feed_mode *mode,
                  pmi_server,
                  job_runs_from_init_to_finalize)
{
    struct pmi_server_config config = config_of(4);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    char text[512];
    char expect[512];

    for (int r = 0; r < 4; r++) {
        snprintf(text, sizeof(text),
                 "cmd=init pmi_version=1 pmi_subversion=1\n"
                 "cmd=get_maxes\n"
                 "cmd=get_appnum\n"
                 "cmd=get_my_kvsname\n"
                 "cmd=get kvsname=kvs_1 key=PMI_process_mapping\n"
                 "cmd=get_universe_size\n"
                 "cmd=put kvsname=kvs_1 key=-bcast-1-%d value=%X\n"
                 "cmd=barrier_in\n",
                 r, 0xabc0 + r);
        feed_as(server, r, text, *mode);
        cr_assert(eq(int, pmi_server_rank_initialized(server, r), 1));
        /* the last barrier_in releases everyone */
        snprintf(expect, sizeof(expect),
                 "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"
                 "cmd=maxes rc=0 kvsname_max=64 keylen_max=64 "
                 "vallen_max=1024\n"
                 "cmd=appnum rc=0 appnum=3\n"
                 "cmd=my_kvsname rc=0 kvsname=kvs_1\n"
                 "cmd=get_result rc=0 value=(vector,(0,1,4))\n"
                 "cmd=universe_size rc=0 size=8\n"
                 "cmd=put_result rc=0\n%s",
                 r == 3 ? reply_barrier : "");
        expect_replies(r, expect);
    }
    for (int r = 0; r < 3; r++)
        expect_replies(r, reply_barrier);

    for (int r = 0; r < 4; r++) {
        snprintf(text, sizeof(text),
                 "cmd=get kvsname=kvs_1 key=-bcast-1-%d\n"
                 "cmd=get kvsname=kvs_1 key=-bcast-1-9\n"
                 "cmd=barrier_in\n",
                 (r + 1) % 4);
        feed_as(server, r, text, *mode);
        snprintf(expect, sizeof(expect),
                 "cmd=get_result rc=0 value=%X\n"
                 "cmd=get_result rc=-1 msg=key_not_found\n%s",
                 0xabc0 + (r + 1) % 4, r == 3 ? reply_barrier : "");
        expect_replies(r, expect);
    }
    for (int r = 0; r < 4; r++) {
        if (r < 3)
            expect_replies(r, reply_barrier);
        feed_as(server, r, "cmd=finalize\n", *mode);
        expect_replies(r, "cmd=finalize_ack rc=0\n");
        cr_assert(eq(int, pmi_server_rank_finalized(server, r), 1));
    }
    cr_assert(eq(int, seen.nfinalize, 4));
    cr_assert(eq(int, seen.nabort, 0));
    pmi_server_destroy(server);
}

Test(pmi_server, get_of_missing_key_answers_rc_minus_one)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 0);
    feed(server, 0, "cmd=get kvsname=kvs_1 key=nothing\n");
    expect_replies(0, "cmd=get_result rc=-1 msg=key_not_found\n");
    /* the rank may go on */
    feed(server, 0, "cmd=get key=PMI_process_mapping\n");
    expect_replies(0, "cmd=get_result rc=0 value=(vector,(0,1,1))\n");
    pmi_server_destroy(server);
}

Test(pmi_server, process_mapping_comes_from_config)
{
    struct pmi_server_config config = config_of(2);
    config.process_mapping = "(vector,(0,2,1))";
    pmi_server_t *server = make_server(&config, &single_node_ops);

    cr_assert(eq(str, (char *)pmi_server_kvs_get(server, "PMI_process_mapping"),
                 "(vector,(0,2,1))"));
    init_rank(server, 1);
    feed(server, 1, "cmd=get kvsname=kvs_1 key=PMI_process_mapping\n");
    expect_replies(1, "cmd=get_result rc=0 value=(vector,(0,2,1))\n");
    pmi_server_destroy(server);

    config.process_mapping = NULL;
    server = make_server(&config, &single_node_ops);
    cr_assert(eq(ptr, (void *)pmi_server_kvs_get(server, "PMI_process_mapping"),
                 NULL));
    init_rank(server, 0);
    feed(server, 0, "cmd=get kvsname=kvs_1 key=PMI_process_mapping\n");
    expect_replies(0, "cmd=get_result rc=-1 msg=key_not_found\n");
    pmi_server_destroy(server);
}

Test(pmi_server, abort_passes_exit_code_and_sends_no_reply)
{
    struct pmi_server_config config = config_of(4);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 3);
    /* exactly what MPICH 4.0 sends for MPI_Abort(MPI_COMM_WORLD, 7) */
    feed(server, 3, "cmd=abort exitcode=7\n");

    cr_assert(eq(int, seen.nabort, 1));
    cr_assert(eq(int, seen.abort_rank, 3));
    cr_assert(eq(int, seen.abort_code, 7));
    cr_assert(eq(int, seen.abort_msg_null, 1));
    expect_replies(3, "");
    pmi_server_destroy(server);
}

Test(pmi_server, abort_message_of_newer_mpich_keeps_its_spaces)
{
    struct pmi_server_config config = config_of(2);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 1);
    feed(server, 1,
         "cmd=abort exitcode=-3 message=application called "
         "MPI_Abort(MPI_COMM_WORLD, -3) - process 1\n");

    cr_assert(eq(int, seen.abort_code, -3));
    cr_assert(eq(str, seen.abort_msg,
                 "application called MPI_Abort(MPI_COMM_WORLD, -3) - "
                 "process 1"));
    pmi_server_destroy(server);
}

Test(pmi_server, abort_is_accepted_before_init_and_defaults_to_one)
{
    struct pmi_server_config config = config_of(2);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    feed(server, 0, "cmd=abort\n");

    cr_assert(eq(int, seen.nabort, 1));
    cr_assert(eq(int, seen.abort_rank, 0));
    cr_assert(eq(int, seen.abort_code, 1));
    pmi_server_destroy(server);
}

Test(pmi_server, other_pmi_version_is_refused_with_rc)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};
    const char *again = "cmd=get_maxes\n";

    feed(server, 0, "cmd=init pmi_version=2 pmi_subversion=0\n");
    expect_replies(0, "cmd=response_to_init pmi_version=1 pmi_subversion=1 "
                      "rc=-1 msg=unsupported_pmi_version\n");
    cr_assert(eq(int, pmi_server_rank_initialized(server, 0), 0));

    cr_assert(eq(int, pmi_server_input(server, 0, again, strlen(again), &err),
                 SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "rank 0: PMI command 'get_maxes' before init"));
    pmi_server_destroy(server);
}

Test(pmi_server, pmi_1_0_clients_are_served)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    feed(server, 0, "cmd=init pmi_version=1 pmi_subversion=0\n");
    expect_replies(0, reply_init);
    cr_assert(eq(int, pmi_server_rank_initialized(server, 0), 1));
    pmi_server_destroy(server);
}

Test(pmi_server, rank_may_init_again_after_finalize)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 0);
    feed(server, 0, "cmd=finalize\n");
    expect_replies(0, "cmd=finalize_ack rc=0\n");
    cr_assert(eq(int, seen.finalize_rank, 0));
    cr_assert(eq(int, pmi_server_rank_finalized(server, 0), 1));

    init_rank(server, 0);
    cr_assert(eq(int, pmi_server_rank_finalized(server, 0), 0));
    feed(server, 0, "cmd=get_appnum\n");
    expect_replies(0, "cmd=appnum rc=0 appnum=3\n");
    pmi_server_destroy(server);
}

Test(pmi_server, other_kvsname_is_refused_with_rc)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 0);
    feed(server, 0, "cmd=put kvsname=kvs_2 key=k value=v\n");
    expect_replies(0, "cmd=put_result rc=-1 msg=unknown_kvsname\n");
    feed(server, 0, "cmd=get kvsname=kvs_2 key=PMI_process_mapping\n");
    expect_replies(0, "cmd=get_result rc=-1 msg=unknown_kvsname\n");
    cr_assert(eq(ptr, (void *)pmi_server_kvs_get(server, "k"), NULL));

    /* PMI 1.1 lets the client leave kvsname out */
    feed(server, 0, "cmd=put key=k value=v\n");
    expect_replies(0, "cmd=put_result rc=0\n");
    cr_assert(eq(str, (char *)pmi_server_kvs_get(server, "k"), "v"));
    pmi_server_destroy(server);
}

Test(pmi_server, name_publishing_is_refused_with_rc)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);

    init_rank(server, 0);
    feed(server, 0,
         "cmd=publish_name service=s port=p\n"
         "cmd=lookup_name service=s\n"
         "cmd=unpublish_name service=s\n");
    expect_replies(0, "cmd=publish_result rc=-1 msg=not_supported\n"
                      "cmd=lookup_result rc=-1 msg=not_supported\n"
                      "cmd=unpublish_result rc=-1 msg=not_supported\n");
    pmi_server_destroy(server);
}

/* A message that is fine on its own can still be wrong where it comes:
 * setup is fed first and must succeed, then line must fail with error. */
struct server_bad_case {
    char setup[128];
    char line[96];
    char error[160];
};

ParameterizedTestParameters(pmi_server, faulty_message_is_refused)
{
    static struct server_bad_case cases[] = {
        {"", "cmd=get_maxes\n", "rank 3: PMI command 'get_maxes' before init"},
        {"", "cmd=finalize\n", "rank 3: PMI command 'finalize' before init"},
        {"", "cmd=barrier_in\n",
         "rank 3: PMI command 'barrier_in' before init"},
        {"I", "cmd=barrier_in\ncmd=get key=k\n",
         "rank 3: PMI command 'get' while waiting in a barrier"},
        {"I", "cmd=barrier_in\ncmd=barrier_in\n",
         "rank 3: PMI command 'barrier_in' while waiting in a barrier"},
        {"Icmd=finalize\n", "cmd=put key=k value=v\n",
         "rank 3: PMI command 'put' after finalize"},
        {"Icmd=finalize\n", "cmd=finalize\n",
         "rank 3: PMI command 'finalize' after finalize"},
        {"I", "cmd=put key\n",
         "rank 3: malformed PMI message 'cmd=put key' (missing '=' in "
         "'key')"},
        {"I", "cmd=put kvsname=kvs_1 key=k\n",
         "rank 3: malformed PMI message 'cmd=put kvsname=kvs_1 key=k' "
         "(missing 'value')"},
        {"I", "cmd=get\n",
         "rank 3: malformed PMI message 'cmd=get' (missing 'key')"},
        {"I", "cmd=get key=k color=red\n",
         "rank 3: malformed PMI message 'cmd=get key=k color=red' "
         "(unexpected field 'color')"},
        {"I", "cmd=get_maxes extra=1\n",
         "rank 3: malformed PMI message 'cmd=get_maxes extra=1' "
         "(unexpected field 'extra')"},
        {"I", "cmd=get key=a key=b\n",
         "rank 3: malformed PMI message 'cmd=get key=a key=b' (duplicate "
         "'key')"},
        {"I", "\n", "rank 3: malformed PMI message '' (empty message)"},
        {"I", "key=k cmd=get\n",
         "rank 3: malformed PMI message 'key=k cmd=get' (message does not "
         "start with 'cmd=')"},
        {"I", "cmd=get key=\x01\n",
         "rank 3: malformed PMI message 'cmd=get key=\\x01' (non-printable "
         "byte 0x01 at offset 12)"},
        {"I", "cmd=get_maxes\r\n",
         "rank 3: malformed PMI message 'cmd=get_maxes\\x0d' (non-printable "
         "byte 0x0d at offset 13)"},
        {"I", "cmd=frobnicate\n", "rank 3: unknown PMI command 'frobnicate'"},
        {"", "cmd=initack pmiid=3\n", "rank 3: unknown PMI command 'initack'"},
        {"I", "mcmd=spawn\n",
         "rank 3: PMI multi-line command (process spawning, as in "
         "MPI_Comm_spawn) is not supported"},
        {"I", "cmd=put key=a=b value=v\n",
         "rank 3: cannot put key 'a=b': invalid byte 0x3d in key"},
        {"I", "cmd=put key= value=v\n", "rank 3: cannot put key '': empty key"},
        {"I", "cmd=get key=\n", "rank 3: cannot get key '': empty key"},
        {"I", "cmd=abort exitcode=seven\n",
         "rank 3: PMI abort with exit code 'seven', not a number"},
        {"", "cmd=init pmi_version=one pmi_subversion=1\n",
         "rank 3: PMI init with a version that is not a number"},
        {"", "cmd=init pmi_version=1\n",
         "rank 3: malformed PMI message 'cmd=init pmi_version=1' (missing "
         "'pmi_subversion')"},
    };
    return cr_make_param_array(struct server_bad_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct server_bad_case *c,
                  pmi_server,
                  faulty_message_is_refused)
{
    struct pmi_server_config config = config_of(4);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};

    /* "I" stands for an init and its reply */
    if (c->setup[0] == 'I')
        init_rank(server, 3);
    const char *setup = c->setup[0] == 'I' ? c->setup + 1 : c->setup;
    if (*setup)
        feed(server, 3, setup);
    seen.replies[3][0] = '\0';

    int rc = pmi_server_input(server, 3, c->line, strlen(c->line), &err);

    cr_assert(eq(int, rc, SHOAL_EPROTO), "line '%s'", c->line);
    cr_assert(eq(str, err.text, c->error), "line '%s'", c->line);
    cr_assert(eq(int, seen.nabort, 0));
    /* a broken rank gets nothing more, and is heard no more */
    rc = pmi_server_input(server, 3, init_line, strlen(init_line), &err);
    cr_assert(eq(int, rc, SHOAL_EPROTO));
    cr_assert(eq(str, err.text, "rank 3: PMI input after an earlier fault"));
    expect_replies(3, "");
    /* the server and the other ranks are fine */
    init_rank(server, 0);
    pmi_server_destroy(server);
}

Test(pmi_server, line_longer_than_limit_is_refused_even_in_pieces)
{
    static char line[PMI_SERVER_LINE_MAX + 2];
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};
    char expect[256];

    init_rank(server, 0);
    /* runs of spaces are legal, so a full-length line can be valid */
    memset(line, ' ', PMI_SERVER_LINE_MAX);
    memcpy(line, "cmd=get_maxes", 13);
    line[PMI_SERVER_LINE_MAX] = '\n';
    cr_assert(
        eq(int,
           pmi_server_input(server, 0, line, PMI_SERVER_LINE_MAX + 1, &err), 0),
        "%s", err.text);
    expect_replies(0, "cmd=maxes rc=0 kvsname_max=64 keylen_max=64 "
                      "vallen_max=1024\n");

    /* one byte more, and no newline in sight */
    line[PMI_SERVER_LINE_MAX] = ' ';
    cr_assert(eq(int, pmi_server_input(server, 0, line, 1000, &err), 0));
    int rc = pmi_server_input(server, 0, line + 1000,
                              PMI_SERVER_LINE_MAX + 1 - 1000, &err);

    cr_assert(eq(int, rc, SHOAL_EPROTO));
    snprintf(expect, sizeof(expect),
             "rank 0: malformed PMI message '%-156s...' (message too long: "
             "more than 2048 bytes)",
             "cmd=get_maxes");
    cr_assert(eq(str, err.text, expect));
    expect_replies(0, "");
    pmi_server_destroy(server);
}

Test(pmi_server, rank_not_served_here_is_refused)
{
    static const int local[] = {3, 1};
    struct pmi_server_config config = config_of(4);
    config.nlocal = 2;
    config.local_ranks = local;
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};
    static const int strangers[] = {0, 2, 4, -1, 1000000};

    for (size_t i = 0; i < sizeof(strangers) / sizeof(strangers[0]); i++) {
        int rank = strangers[i];
        char expect[96];
        int rc =
            pmi_server_input(server, rank, init_line, strlen(init_line), &err);
        cr_assert(eq(int, rc, SHOAL_EPROTO), "rank %d", rank);
        snprintf(expect, sizeof(expect),
                 "rank %d: not a rank this PMI server serves", rank);
        cr_assert(eq(str, err.text, expect));
        cr_assert(eq(int, pmi_server_rank_initialized(server, rank), 0));
        cr_assert(eq(int, pmi_server_rank_finalized(server, rank), 0));
    }
    init_rank(server, 1);
    init_rank(server, 3);
    pmi_server_destroy(server);
}

Test(pmi_server, barrier_waits_for_every_local_rank)
{
    static const int local[] = {1, 3, 5};
    struct pmi_server_config config = config_of(6);
    config.nlocal = 3;
    config.local_ranks = local;
    pmi_server_t *server = make_server(&config, &single_node_ops);

    for (int i = 0; i < 3; i++)
        init_rank(server, local[i]);
    feed(server, 5, "cmd=barrier_in\n");
    feed(server, 1, "cmd=barrier_in\n");
    expect_replies(1, "");
    expect_replies(5, "");

    feed(server, 3, "cmd=barrier_in\n");
    for (int i = 0; i < 3; i++)
        expect_replies(local[i], reply_barrier);

    /* and the next round starts afresh */
    feed(server, 3, "cmd=barrier_in\n");
    expect_replies(3, "");
    pmi_server_destroy(server);
}

Test(pmi_server, pool_barrier_waits_for_release)
{
    struct pmi_server_config config = config_of(2);
    pmi_server_t *server = make_server(&config, &pool_ops);
    shoal_error_t err = {{0}};

    cr_assert(eq(int, pmi_server_barrier_release(server, &err), -EINVAL));
    cr_assert(eq(str, err.text, "no PMI barrier is waiting for release"));

    init_rank(server, 0);
    init_rank(server, 1);
    feed(server, 0, "cmd=barrier_in\n");
    cr_assert(eq(int, seen.nenter, 0));
    feed(server, 1, "cmd=barrier_in\n");
    cr_assert(eq(int, seen.nenter, 1));
    expect_replies(0, "");
    expect_replies(1, "");

    cr_assert(eq(int, pmi_server_barrier_release(server, &err), 0), "%s",
              err.text);
    expect_replies(0, reply_barrier);
    expect_replies(1, reply_barrier);
    cr_assert(eq(int, pmi_server_barrier_release(server, &err), -EINVAL));
    pmi_server_destroy(server);
}

Test(pmi_server, barrier_can_be_released_from_enter_callback)
{
    struct pmi_server_config config = config_of(2);
    pmi_server_t *server = make_server(&config, &pool_ops);

    seen.release_in_enter = true;
    seen.release_rc = 1;
    init_rank(server, 0);
    init_rank(server, 1);
    feed(server, 1, "cmd=barrier_in\n");
    feed(server, 0, "cmd=barrier_in\n");

    cr_assert(eq(int, seen.nenter, 1));
    cr_assert(eq(int, seen.release_rc, 0));
    expect_replies(0, reply_barrier);
    expect_replies(1, reply_barrier);
    pmi_server_destroy(server);
}

struct listing {
    char text[512];
    int calls;
};

static int list_key(const char *key, const char *value, void *arg)
{
    struct listing *listing = arg;
    size_t len = strlen(listing->text);

    listing->calls++;
    snprintf(listing->text + len, sizeof(listing->text) - len, "%s=%s;", key,
             value);
    return 0;
}

static int stop_at_first(const char *key, const char *value, void *arg)
{
    (void)key;
    (void)value;
    (*(int *)arg)++;
    return -42;
}

/* What a pool does at a barrier: collect this node's puts, store the other
 * nodes' ones, release. */
Test(pmi_server, foreach_new_lists_local_puts_since_last_release)
{
    static const int local[] = {0, 1};
    struct pmi_server_config config = config_of(4);
    config.nlocal = 2;
    config.local_ranks = local;
    pmi_server_t *server = make_server(&config, &pool_ops);
    struct listing listing = {.calls = 0};

    init_rank(server, 0);
    init_rank(server, 1);
    feed(server, 1, "cmd=put kvsname=kvs_1 key=b value=1\n");
    feed(server, 0, "cmd=put kvsname=kvs_1 key=a value=1\n");
    feed(server, 1, "cmd=put kvsname=kvs_1 key=b value=2\n");
    /* another node's put arrives early: it is not this node's to send */
    cr_assert(eq(int, pmi_server_kvs_put(server, "remote-2", "x"), 0));
    feed(server, 0, "cmd=barrier_in\n");
    feed(server, 1, "cmd=barrier_in\n");
    cr_assert(eq(int, seen.nenter, 1));

    cr_assert(
        eq(int, pmi_server_kvs_foreach_new(server, list_key, &listing), 0));
    cr_assert(eq(str, listing.text, "b=2;a=1;"));
    int calls = 0;
    cr_assert(eq(int, pmi_server_kvs_foreach_new(server, stop_at_first, &calls),
                 -42));
    cr_assert(eq(int, calls, 1));

    cr_assert(eq(int, pmi_server_kvs_put(server, "remote-3", "y"), 0));
    cr_assert(eq(int, pmi_server_barrier_release(server, NULL), 0));
    seen.replies[0][0] = seen.replies[1][0] = '\0';

    memset(&listing, 0, sizeof(listing));
    cr_assert(
        eq(int, pmi_server_kvs_foreach_new(server, list_key, &listing), 0));
    cr_assert(eq(int, listing.calls, 0));
    feed(server, 0, "cmd=get kvsname=kvs_1 key=remote-3\n");
    expect_replies(0, "cmd=get_result rc=0 value=y\n");

    feed(server, 0, "cmd=put kvsname=kvs_1 key=a value=3\n");
    cr_assert(
        eq(int, pmi_server_kvs_foreach_new(server, list_key, &listing), 0));
    cr_assert(eq(str, listing.text, "a=3;"));
    pmi_server_destroy(server);
}

Test(pmi_server, kvs_put_checks_what_it_stores)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    char value[PMI_SERVER_VALLEN_MAX + 1];

    cr_assert(eq(int, pmi_server_kvs_put(server, "", "v"), -EINVAL));
    cr_assert(eq(int, pmi_server_kvs_put(server, "a b", "v"), -EINVAL));
    cr_assert(eq(int, pmi_server_kvs_put(server, "k", "a b"), -EINVAL));
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    cr_assert(eq(int, pmi_server_kvs_put(server, "k", value), -E2BIG));
    value[sizeof(value) - 2] = '\0';
    cr_assert(eq(int, pmi_server_kvs_put(server, "k", value), 0));
    cr_assert(eq(sz, strlen(pmi_server_kvs_get(server, "k")),
                 (size_t)PMI_SERVER_VALLEN_MAX - 1));
    pmi_server_destroy(server);
}

Test(pmi_server, rank_values_up_to_the_announced_maxes_fit)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};
    char key[PMI_SERVER_KEYLEN_MAX + 1];
    char value[PMI_SERVER_VALLEN_MAX + 1];
    static char line[PMI_SERVER_LINE_MAX];
    static char expect[PMI_SERVER_LINE_MAX];

    init_rank(server, 0);
    memset(key, 'k', sizeof(key) - 2);
    key[sizeof(key) - 2] = '\0';
    memset(value, 'v', sizeof(value) - 2);
    value[sizeof(value) - 2] = '\0';
    snprintf(line, sizeof(line),
             "cmd=put kvsname=kvs_1 key=%s value=%s\ncmd=get key=%s\n", key,
             value, key);
    feed(server, 0, line);
    snprintf(expect, sizeof(expect),
             "cmd=put_result rc=0\ncmd=get_result rc=0 value=%s\n", value);
    expect_replies(0, expect);

    /* one character more is past the maxes */
    strcat(key, "k");
    snprintf(line, sizeof(line), "cmd=put key=%s value=v\n", key);
    cr_assert(eq(int, pmi_server_input(server, 0, line, strlen(line), &err),
                 SHOAL_EPROTO));
    snprintf(expect, sizeof(expect),
             "rank 0: cannot put key '%s': key too long (64 characters, at "
             "most 63)",
             key);
    cr_assert(eq(str, err.text, expect));
    pmi_server_destroy(server);

    server = make_server(&config, &single_node_ops);
    init_rank(server, 0);
    strcat(value, "v");
    snprintf(line, sizeof(line), "cmd=put key=k value=%s\n", value);
    cr_assert(eq(int, pmi_server_input(server, 0, line, strlen(line), &err),
                 SHOAL_EPROTO));
    cr_assert(eq(int,
                 strstr(err.text, "(value of 'value' too long (1024 "
                                  "characters, at most 1023))")
                     != NULL,
                 1),
              "%s", err.text);
    pmi_server_destroy(server);
}

Test(pmi_server, key_count_is_bounded)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};
    char key[32];
    const char *line = "cmd=put kvsname=kvs_1 key=one-more value=v\n";

    /* PMI_process_mapping is the first key */
    for (int i = 1; i < PMI_SERVER_KVS_KEYS_MAX; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert(eq(int, pmi_server_kvs_put(server, key, "v"), 0), "%s", key);
    }
    cr_assert(eq(int, pmi_server_kvs_put(server, "k0", "v"), -ENOSPC));

    init_rank(server, 0);
    int rc = pmi_server_input(server, 0, line, strlen(line), &err);
    cr_assert(eq(int, rc, -ENOSPC));
    cr_assert(eq(str, err.text,
                 "rank 0: cannot put key 'one-more': key-value space full "
                 "(65536 keys at most)"));
    expect_replies(0, "cmd=put_result rc=-1 msg=kvs_full\n");
    pmi_server_destroy(server);
}

Test(pmi_server, kvs_bytes_are_bounded)
{
    struct pmi_server_config config = config_of(1);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    static char value[PMI_SERVER_VALLEN_MAX];
    char key[32];
    int rc = 0;
    int stored = 0;

    memset(value, 'v', sizeof(value) - 1);
    while (stored < PMI_SERVER_KVS_KEYS_MAX) {
        snprintf(key, sizeof(key), "k%d", stored);
        rc = pmi_server_kvs_put(server, key, value);
        if (rc < 0)
            break;
        stored++;
    }
    cr_assert(eq(int, rc, -ENOSPC));
    /* 64 MiB of about 1 KiB entries */
    cr_assert(gt(int, stored, 64000));
    cr_assert(lt(int, stored, 65536));
    pmi_server_destroy(server);
}

Test(pmi_server, failed_send_is_reported_and_breaks_the_rank)
{
    struct pmi_server_config config = config_of(2);
    pmi_server_t *server = make_server(&config, &single_node_ops);
    shoal_error_t err = {{0}};

    seen.fail_rank = 1;
    seen.fail_rc = -EPIPE;
    int rc = pmi_server_input(server, 1, init_line, strlen(init_line), &err);

    cr_assert(eq(int, rc, -EPIPE));
    cr_assert(eq(str, err.text, "rank 1: cannot send PMI reply: Broken pipe"));
    cr_assert(
        eq(int, pmi_server_input(server, 1, init_line, strlen(init_line), &err),
           SHOAL_EPROTO));
    init_rank(server, 0);
    pmi_server_destroy(server);
}

Test(pmi_server, failed_barrier_send_still_releases_the_others)
{
    struct pmi_server_config config = config_of(3);
    pmi_server_t *server = make_server(&config, &pool_ops);
    shoal_error_t err = {{0}};

    for (int r = 0; r < 3; r++) {
        init_rank(server, r);
        feed(server, r, "cmd=barrier_in\n");
    }
    seen.fail_rank = 1;
    seen.fail_rc = -ECONNRESET;

    int rc = pmi_server_barrier_release(server, &err);

    cr_assert(eq(int, rc, -ECONNRESET));
    cr_assert(eq(str, err.text,
                 "rank 1: cannot send PMI reply: Connection reset by peer"));
    expect_replies(0, reply_barrier);
    expect_replies(2, reply_barrier);
    pmi_server_destroy(server);
}

struct server_config_case {
    int size;
    int nlocal;
    int ranks[3];
    bool with_ranks;
    int universe_size;
    char kvsname[80];
    char mapping[24];
    char error[96];
};

ParameterizedTestParameters(pmi_server, create_refuses_bad_config)
{
    static struct server_config_case cases[] = {
        {0, 0, {0}, false, 1, "kvs", "", "invalid PMI server: job size 0"},
        {2,
         3,
         {0},
         false,
         2,
         "kvs",
         "",
         "invalid PMI server: 3 local ranks in a job of 2"},
        {2,
         0,
         {0},
         false,
         2,
         "kvs",
         "",
         "invalid PMI server: 0 local ranks in a job of 2"},
        {4,
         2,
         {0},
         false,
         4,
         "kvs",
         "",
         "invalid PMI server: 2 local ranks in a job of 4 but no list of "
         "them"},
        {4,
         2,
         {1, 4},
         true,
         4,
         "kvs",
         "",
         "invalid PMI server: local rank 4 in a job of 4"},
        {4,
         2,
         {-1, 0},
         true,
         4,
         "kvs",
         "",
         "invalid PMI server: local rank -1 in a job of 4"},
        {4,
         3,
         {2, 0, 2},
         true,
         4,
         "kvs",
         "",
         "invalid PMI server: local rank 2 listed twice"},
        {1,
         1,
         {0},
         false,
         0,
         "kvs",
         "",
         "invalid PMI server: appnum 0, universe size 0"},
        {1, 1, {0}, false, 1, "", "", "invalid PMI server: kvsname ''"},
        {1, 1, {0}, false, 1, "a b", "", "invalid PMI server: kvsname 'a b'"},
        {1,
         1,
         {0},
         false,
         1,
         "0123456789012345678901234567890123456789012345678901234567890123",
         "",
         "invalid PMI server: kvsname "
         "'0123456789012345678901234567890123456789012345678901234567890123'"},
        {1,
         1,
         {0},
         false,
         1,
         "kvs",
         "(vector, (0,1,1))",
         "invalid PMI server: PMI_process_mapping: invalid byte 0x20 in "
         "value"},
    };
    return cr_make_param_array(struct server_config_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct server_config_case *c,
                  pmi_server,
                  create_refuses_bad_config)
{
    struct pmi_server_config config = {
        .size = c->size,
        .nlocal = c->nlocal,
        .local_ranks = c->with_ranks ? c->ranks : NULL,
        .universe_size = c->universe_size,
        .kvsname = c->kvsname,
        .process_mapping = c->mapping[0] ? c->mapping : NULL,
    };
    pmi_server_t *server = NULL;
    shoal_error_t err = {{0}};

    int rc = pmi_server_create(&config, &single_node_ops, NULL, &server, &err);

    cr_assert(eq(int, rc, -EINVAL));
    cr_assert(eq(str, err.text, c->error));
    cr_assert(eq(ptr, server, NULL));
}

Test(pmi_server, create_needs_send_and_abort)
{
    struct pmi_server_config config = config_of(1);
    struct pmi_server_ops ops = {.send = record_send};
    pmi_server_t *server = NULL;
    shoal_error_t err = {{0}};

    cr_assert(eq(int, pmi_server_create(&config, &ops, NULL, &server, &err),
                 -EINVAL));
    cr_assert(eq(str, err.text,
                 "invalid PMI server: send and abort callbacks are "
                 "required"));
    pmi_server_destroy(NULL);
}
