/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/job_wire.h"
#include "util/frame_reader.h"

TestSuite(job_wire, .timeout = 60);

static uint32_t pus0[] = {0, 1};
static uint32_t pus1[] = {7};
static struct job_launch_rank launch_ranks[] = {
    {.rank = 4, .local_rank = 0, .npus = 2, .pus = pus0},
    {.rank = 5, .local_rank = 1, .npus = 1, .pus = pus1},
    {.rank = 6, .local_rank = 2, .npus = 0, .pus = NULL},
};
static char *launch_argv[] = {"ring", "-v", "", NULL};
static char *launch_env[] = {"FOO=bar", "KEEP", NULL};
static uint8_t some_bytes[] = "line one\nline\0two";
static struct job_kv some_kvs[] = {
    {.key = "P0-businesscard", .value = "description#host$port#1$"},
    {.key = "k", .value = ""},
};

/* One frame of every kind, with every field set to something telling. */
static uint64_t some_nodes[] = {0x0123456789abcdefull, 42};
static struct job_launch_restore some_restores[] = {
    {.rank = 1, .version = 7, .nnodes = 2, .nodes = some_nodes},
    {.rank = 4, .version = 7, .nnodes = 0, .nodes = NULL},
};

static uint32_t some_ranks[] = {3, 0};

static struct job_binding some_bindings[] = {
    {.rank = 4, .pus = "2-3"},
    {.rank = 5, .pus = ""},
};

static struct job_frame sample(enum job_frame_kind kind)
{
    struct job_frame f = {.kind = kind};

    switch (kind) {
    case JOB_FRAME_LAUNCH:
        f.launch = (struct job_launch){
            .job_id = 0x1122334455667788ull,
            .node_index = 2,
            .job_size = 8,
            .universe_size = 8,
            .nranks = 3,
            .ranks = launch_ranks,
            .path = "/usr/bin/ring",
            .argv = launch_argv,
            .argc = 3,
            .env = launch_env,
            .nenv = 2,
            .wdir = "/tmp",
            .process_mapping = "(vector,(0,3,3))",
            .timeout = 1.5,
            .kill_grace = 3,
            .enable_recovery = true,
        };
        break;
    case JOB_FRAME_STARTED:
        f.started.nbound = 2;
        f.started.bound = some_bindings;
        break;
    case JOB_FRAME_SPAWN_FAILED:
        f.spawn_failed.code = -ENOENT;
        f.spawn_failed.message = "cannot execute 'x': no such file";
        break;
    case JOB_FRAME_OUTPUT:
        f.output.rank = 5;
        f.output.stream = JOB_OUTPUT_STDERR;
        f.output.len = sizeof(some_bytes);
        f.output.bytes = some_bytes;
        break;
    case JOB_FRAME_STDIN:
        f.input.len = sizeof(some_bytes);
        f.input.bytes = some_bytes;
        break;
    case JOB_FRAME_BARRIER_IN:
    case JOB_FRAME_BARRIER_OUT:
        f.barrier.nkvs = 2;
        f.barrier.kvs = some_kvs;
        break;
    case JOB_FRAME_RANK_EXIT:
        f.rank_exit = (struct job_rank_exit){.rank = 6,
                                             .signaled = true,
                                             .value = 9,
                                             .initialized = true,
                                             .finalized = false,
                                             .killed = true};
        break;
    case JOB_FRAME_ABORT:
        f.abort.rank = 1;
        f.abort.code = 7;
        f.abort.fault = false;
        f.abort.message = "application called MPI_Abort";
        break;
    case JOB_FRAME_SIGNAL:
        f.signal.signo = 10;
        f.signal.nranks = 2;
        f.signal.ranks = some_ranks;
        break;
    case JOB_FRAME_NAMES:
        f.names.op = JOB_NAMES_LOOKUP;
        f.names.id = 77;
        f.names.rank = 5;
        f.names.wait = true;
        f.names.status = -ENOENT;
        f.names.kvs = some_kvs;
        f.names.nkvs = 2;
        break;
    case JOB_FRAME_DMODEX:
        f.dmodex.op = JOB_DMODEX_REPLY;
        f.dmodex.id = 31;
        f.dmodex.rank = 6;
        f.dmodex.len = 5;
        f.dmodex.bytes = (uint8_t *)"\x01\x00blob";
        break;
    case JOB_FRAME_KILL:
        f.kill.now = true;
        break;
    case JOB_FRAME_CKPT_COPIES:
        f.ckpt_copies.rank = 3;
        f.ckpt_copies.version = 12;
        f.ckpt_copies.nnodes = 2;
        f.ckpt_copies.nodes = some_nodes;
        f.ckpt_copies.cost_ms = 1250;
        break;
    case JOB_FRAME_CKPT_KEEP:
        f.ckpt_keep.version = 11;
        break;
    case JOB_FRAME_HOLD:
        f.hold.held = true;
        f.hold.reason = "the owner of node 'ws3' is back";
        break;
    default:
        break;
    }
    return f;
}

static void assert_same(const struct job_frame *a, const struct job_frame *b)
{
    cr_assert(eq(int, a->kind, b->kind));
    switch (a->kind) {
    case JOB_FRAME_LAUNCH: {
        const struct job_launch *x = &a->launch, *y = &b->launch;
        cr_assert(eq(u64, x->job_id, y->job_id));
        cr_assert(eq(u32, x->node_index, y->node_index));
        cr_assert(eq(u32, x->job_size, y->job_size));
        cr_assert(eq(u32, x->universe_size, y->universe_size));
        cr_assert(eq(u32, x->nranks, y->nranks));
        for (uint32_t i = 0; i < x->nranks; i++) {
            cr_assert(eq(u32, x->ranks[i].rank, y->ranks[i].rank));
            cr_assert(eq(u32, x->ranks[i].local_rank, y->ranks[i].local_rank));
            cr_assert(eq(u32, x->ranks[i].npus, y->ranks[i].npus));
            for (uint32_t j = 0; j < x->ranks[i].npus; j++)
                cr_assert(eq(u32, x->ranks[i].pus[j], y->ranks[i].pus[j]));
        }
        cr_assert(eq(str, x->path, y->path));
        cr_assert(eq(u32, x->argc, y->argc));
        for (uint32_t i = 0; i < x->argc; i++)
            cr_assert(eq(str, x->argv[i], y->argv[i]));
        cr_assert(y->argv[y->argc] == NULL, "argv is NULL-terminated");
        cr_assert(eq(u32, x->nenv, y->nenv));
        for (uint32_t i = 0; i < x->nenv; i++)
            cr_assert(eq(str, x->env[i], y->env[i]));
        cr_assert(eq(str, x->wdir, y->wdir));
        cr_assert(eq(str, x->process_mapping, y->process_mapping));
        cr_assert(eq(dbl, x->timeout, y->timeout));
        cr_assert(eq(dbl, x->kill_grace, y->kill_grace));
        cr_assert(eq(int, x->enable_recovery, y->enable_recovery));
        cr_assert(eq(u32, x->nrestores, y->nrestores));
        for (uint32_t i = 0; i < x->nrestores; i++) {
            const struct job_launch_restore *p = &x->restores[i],
                                            *q = &y->restores[i];
            cr_assert(eq(u32, p->rank, q->rank));
            cr_assert(eq(u32, p->version, q->version));
            cr_assert(eq(u32, p->nnodes, q->nnodes));
            for (uint32_t j = 0; j < p->nnodes; j++)
                cr_assert(eq(u64, p->nodes[j], q->nodes[j]));
        }
        cr_assert(eq(int, !x->mapby, !y->mapby));
        cr_assert(eq(int, !x->bindto, !y->bindto));
        if (x->mapby)
            cr_assert(eq(str, x->mapby, y->mapby));
        if (x->bindto)
            cr_assert(eq(str, x->bindto, y->bindto));
        break;
    }
    case JOB_FRAME_STARTED:
        cr_assert(eq(u32, a->started.nbound, b->started.nbound));
        for (uint32_t i = 0; i < a->started.nbound; i++) {
            cr_assert(
                eq(u32, a->started.bound[i].rank, b->started.bound[i].rank));
            cr_assert(
                eq(str, a->started.bound[i].pus, b->started.bound[i].pus));
        }
        break;
    case JOB_FRAME_SPAWN_FAILED:
        cr_assert(eq(i32, a->spawn_failed.code, b->spawn_failed.code));
        cr_assert(eq(str, a->spawn_failed.message, b->spawn_failed.message));
        break;
    case JOB_FRAME_OUTPUT:
        cr_assert(eq(u32, a->output.rank, b->output.rank));
        cr_assert(eq(u8, a->output.stream, b->output.stream));
        cr_assert(eq(u32, a->output.len, b->output.len));
        cr_assert(eq(
            int, memcmp(a->output.bytes, b->output.bytes, a->output.len), 0));
        break;
    case JOB_FRAME_STDIN:
        cr_assert(eq(u32, a->input.len, b->input.len));
        cr_assert(
            eq(int, memcmp(a->input.bytes, b->input.bytes, a->input.len), 0));
        break;
    case JOB_FRAME_BARRIER_IN:
    case JOB_FRAME_BARRIER_OUT:
        cr_assert(eq(u32, a->barrier.nkvs, b->barrier.nkvs));
        for (uint32_t i = 0; i < a->barrier.nkvs; i++) {
            cr_assert(eq(str, a->barrier.kvs[i].key, b->barrier.kvs[i].key));
            cr_assert(
                eq(str, a->barrier.kvs[i].value, b->barrier.kvs[i].value));
        }
        break;
    case JOB_FRAME_RANK_EXIT:
        cr_assert(eq(u32, a->rank_exit.rank, b->rank_exit.rank));
        cr_assert(eq(int, a->rank_exit.signaled, b->rank_exit.signaled));
        cr_assert(eq(i32, a->rank_exit.value, b->rank_exit.value));
        cr_assert(eq(int, a->rank_exit.initialized, b->rank_exit.initialized));
        cr_assert(eq(int, a->rank_exit.finalized, b->rank_exit.finalized));
        cr_assert(eq(int, a->rank_exit.killed, b->rank_exit.killed));
        cr_assert(eq(int, a->rank_exit.oom_killed, b->rank_exit.oom_killed));
        cr_assert(
            eq(u64, a->rank_exit.memory_limit, b->rank_exit.memory_limit));
        cr_assert(
            eq(u32, a->rank_exit.counters_len, b->rank_exit.counters_len));
        if (a->rank_exit.counters_len)
            cr_assert(eq(int,
                         memcmp(a->rank_exit.counters, b->rank_exit.counters,
                                a->rank_exit.counters_len),
                         0));
        break;
    case JOB_FRAME_ABORT:
        cr_assert(eq(i32, a->abort.rank, b->abort.rank));
        cr_assert(eq(i32, a->abort.code, b->abort.code));
        cr_assert(eq(int, a->abort.fault, b->abort.fault));
        cr_assert(eq(str, a->abort.message, b->abort.message));
        break;
    case JOB_FRAME_SIGNAL:
        cr_assert(eq(i32, a->signal.signo, b->signal.signo));
        cr_assert(eq(u32, a->signal.nranks, b->signal.nranks));
        for (uint32_t i = 0; i < a->signal.nranks; i++)
            cr_assert(eq(u32, a->signal.ranks[i], b->signal.ranks[i]));
        break;
    case JOB_FRAME_NAMES:
        cr_assert(eq(u8, a->names.op, b->names.op));
        cr_assert(eq(u32, a->names.id, b->names.id));
        cr_assert(eq(i32, a->names.rank, b->names.rank));
        cr_assert(eq(int, a->names.wait, b->names.wait));
        cr_assert(eq(i32, a->names.status, b->names.status));
        cr_assert(eq(u32, a->names.nkvs, b->names.nkvs));
        for (uint32_t i = 0; i < a->names.nkvs; i++) {
            cr_assert(eq(str, a->names.kvs[i].key, b->names.kvs[i].key));
            cr_assert(eq(str, a->names.kvs[i].value, b->names.kvs[i].value));
        }
        break;
    case JOB_FRAME_DMODEX:
        cr_assert(eq(u8, a->dmodex.op, b->dmodex.op));
        cr_assert(eq(u32, a->dmodex.id, b->dmodex.id));
        cr_assert(eq(u32, a->dmodex.rank, b->dmodex.rank));
        cr_assert(eq(i32, a->dmodex.status, b->dmodex.status));
        cr_assert(eq(u32, a->dmodex.len, b->dmodex.len));
        cr_assert(eq(
            int, memcmp(a->dmodex.bytes, b->dmodex.bytes, a->dmodex.len), 0));
        break;
    case JOB_FRAME_KILL:
        cr_assert(eq(int, a->kill.now, b->kill.now));
        break;
    case JOB_FRAME_CKPT_COPIES:
        cr_assert(eq(u32, a->ckpt_copies.rank, b->ckpt_copies.rank));
        cr_assert(eq(u32, a->ckpt_copies.version, b->ckpt_copies.version));
        cr_assert(eq(u32, a->ckpt_copies.nnodes, b->ckpt_copies.nnodes));
        for (uint32_t j = 0; j < a->ckpt_copies.nnodes; j++)
            cr_assert(
                eq(u64, a->ckpt_copies.nodes[j], b->ckpt_copies.nodes[j]));
        cr_assert(eq(u32, a->ckpt_copies.cost_ms, b->ckpt_copies.cost_ms));
        break;
    case JOB_FRAME_CKPT_KEEP:
        cr_assert(eq(u32, a->ckpt_keep.version, b->ckpt_keep.version));
        break;
    case JOB_FRAME_HOLD:
        cr_assert(eq(int, a->hold.held, b->hold.held));
        cr_assert(eq(int, a->hold.vacating, b->hold.vacating));
        cr_assert(eq(str, a->hold.reason, b->hold.reason));
        break;
    default:
        break;
    }
}

/* Every frame made of the first cut bytes of buf, for cut from from to
 * len - 1, is refused: a trailer cut anywhere is not taken for a shorter
 * frame. */
static void assert_cuts_refused(const uint8_t *buf, size_t from, size_t len)
{
    struct job_frame g;

    for (size_t cut = from; cut < len; cut++)
        cr_assert(eq(int, job_frame_decode(buf, cut, &g, NULL), SHOAL_EPROTO),
                  "cut at %zu of %zu", cut, len);
}

/* buf ends with an upper-case word: in lower case it is refused, and the
 * error names what (e.g. "policy"). */
static void
assert_lower_case_word_refused(uint8_t *buf, size_t len, const char *what)
{
    struct job_frame g;
    shoal_error_t error;

    buf[len - 1] = 'e';
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), SHOAL_EPROTO));
    cr_assert(not(eq(ptr, strstr(error.text, what), NULL)), "%s", error.text);
}

Test(job_wire, every_kind_round_trips)
{
    for (int k = JOB_FRAME_LAUNCH; k <= JOB_FRAME_DMODEX; k++) {
        struct job_frame f = sample(k), g;
        shoal_error_t error;
        uint8_t *buf;
        size_t len;

        cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0), "kind %d", k);
        cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), 0),
                  "kind %d: %s", k, error.text);
        assert_same(&f, &g);
        job_frame_release(&g);
        free(buf);
    }
}

Test(job_wire, launch_policies_round_trip_and_old_launch_still_decodes)
{
    struct job_frame f = sample(JOB_FRAME_LAUNCH), g;
    uint8_t *old, *buf;
    size_t old_len, len;

    cr_assert(eq(int, job_frame_encode(&f, &old, &old_len), 0));
    f.launch.mapby = "BYSLOT:OVERSUBSCRIBE";
    f.launch.bindto = "CORE";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(int, memcmp(old, buf, old_len), 0),
              "the trailer only follows the fields of before");
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    /* an old LAUNCH: no policies */
    cr_assert(eq(int, job_frame_decode(old, old_len, &g, NULL), 0));
    cr_assert(eq(ptr, g.launch.mapby, NULL));
    cr_assert(eq(ptr, g.launch.bindto, NULL));
    job_frame_release(&g);
    /* cut anywhere in the trailer (the empty restore list alone too) */
    assert_cuts_refused(buf, old_len + 1, len);
    /* a word that is not a policy: lower case */
    assert_lower_case_word_refused(buf, len, "policy");
    free(buf);
    /* with restores before them */
    f.launch.nrestores = 2;
    f.launch.restores = some_restores;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    free(buf);
    /* the encoder refuses one without the other, and an empty one */
    f.launch.bindto = NULL;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    f.launch.bindto = "";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    f.launch.bindto = "core";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    free(old);
}

Test(job_wire, launch_rankby_round_trips_and_launch_without_it_decodes)
{
    struct job_frame f = sample(JOB_FRAME_LAUNCH), g;
    uint8_t *old, *buf;
    size_t old_len, len;

    f.launch.mapby = "BYNODE";
    f.launch.bindto = "CORE";
    cr_assert(eq(int, job_frame_encode(&f, &old, &old_len), 0));
    f.launch.rankby = "NODE";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(int, memcmp(old, buf, old_len), 0));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    cr_assert(eq(str, g.launch.rankby, "NODE"));
    job_frame_release(&g);
    /* without it: the policies of before, no ranking */
    cr_assert(eq(int, job_frame_decode(old, old_len, &g, NULL), 0));
    cr_assert(eq(ptr, g.launch.rankby, NULL));
    cr_assert(eq(str, g.launch.mapby, "BYNODE"));
    job_frame_release(&g);
    assert_cuts_refused(buf, old_len + 1, len);
    assert_lower_case_word_refused(buf, len, "ranking policy");
    free(buf);
    f.launch.rankby = "node";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    free(old);
}

Test(job_wire, dmodex_frames_say_what_is_wrong)
{
    struct job_frame f = sample(JOB_FRAME_DMODEX), g;
    shoal_error_t error;
    uint8_t *buf;
    size_t len;

    /* a request: no status, no data */
    f.dmodex.op = JOB_DMODEX_REQUEST;
    f.dmodex.len = 0;
    f.dmodex.bytes = NULL;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(sz, len, 18));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), 0), "%s",
              error.text);
    cr_assert(eq(u8, g.dmodex.op, JOB_DMODEX_REQUEST));
    cr_assert(eq(u32, g.dmodex.rank, 6));
    job_frame_release(&g);
    /* an unknown operation */
    buf[1] = 3;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), SHOAL_EPROTO));
    cr_assert(
        not(eq(ptr, strstr(error.text, "bad direct modex operation"), NULL)),
        "%s", error.text);
    buf[1] = JOB_DMODEX_REQUEST;
    /* a request with a status (a negative one) */
    buf[10] = 0xff;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), SHOAL_EPROTO));
    cr_assert(
        not(eq(ptr, strstr(error.text, "a direct modex request with a status"),
               NULL)),
        "%s", error.text);
    free(buf);
    /* a positive status */
    f.dmodex.op = JOB_DMODEX_REPLY;
    f.dmodex.status = 5;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    f.dmodex.status = 0;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    buf[13] = 0x7f;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), SHOAL_EPROTO));
    cr_assert(not(eq(ptr, strstr(error.text, "bad direct modex status"), NULL)),
              "%s", error.text);
    free(buf);
    /* data with a failure, or with a request */
    f.dmodex.status = -ESRCH;
    f.dmodex.len = 2;
    f.dmodex.bytes = (uint8_t *)"xy";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    f.dmodex.len = 0;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    buf = realloc(buf, len + 2);
    buf[len - 1] = 2; /* the data's length, then two bytes */
    buf[len] = 'x';
    buf[len + 1] = 'y';
    cr_assert(
        eq(int, job_frame_decode(buf, len + 2, &g, &error), SHOAL_EPROTO));
    cr_assert(
        not(eq(ptr, strstr(error.text, "direct modex data with no answer"),
               NULL)),
        "%s", error.text);
    /* a length past the end */
    buf[len - 1] = 9;
    cr_assert(
        eq(int, job_frame_decode(buf, len + 2, &g, &error), SHOAL_EPROTO));
    cr_assert(not(eq(ptr, strstr(error.text, "truncated"), NULL)), "%s",
              error.text);
    free(buf);
    /* more data than a frame carries */
    f.dmodex.status = 0;
    f.dmodex.len = JOB_WIRE_DATA_MAX + 1;
    f.dmodex.bytes = (uint8_t *)"";
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    cr_assert(
        eq(int, strcmp(job_frame_kind_name(JOB_FRAME_DMODEX), "DMODEX"), 0));
}

Test(job_wire, truncation_at_every_byte_is_refused)
{
    for (int k = JOB_FRAME_LAUNCH; k <= JOB_FRAME_DMODEX; k++) {
        struct job_frame f = sample(k), g;
        shoal_error_t error;
        uint8_t *buf;
        size_t len;

        cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
        for (size_t cut = 0; cut < len; cut++) {
            int rc = job_frame_decode(buf, cut, &g, &error);

            /* CKPT_COPIES without its optional cost, STARTED without
             * its bindings and SIGNAL without its ranks are whole
             * frames */
            if (((k == JOB_FRAME_CKPT_COPIES && cut == len - 4)
                 || (k == JOB_FRAME_STARTED && cut == 1)
                 || (k == JOB_FRAME_SIGNAL && cut == 5))
                && rc == 0) {
                job_frame_release(&g);
                continue;
            }
            cr_assert(eq(int, rc, SHOAL_EPROTO), "kind %s cut at %zu of %zu",
                      job_frame_kind_name(k), cut, len);
        }
        free(buf);
    }
}

Test(job_wire, copies_without_a_cost_still_decode)
{
    struct job_frame f = sample(JOB_FRAME_CKPT_COPIES), g;
    shoal_error_t error;
    uint8_t *buf;
    size_t len;

    f.ckpt_copies.cost_ms = 0; /* as a proxy without costs sends it */
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), 0));
    cr_assert(eq(u32, g.ckpt_copies.cost_ms, 0));
    job_frame_release(&g);
    free(buf);
}

Test(job_wire, started_without_bindings_still_decodes_and_bad_ones_are_refused)
{
    static const uint8_t old[] = {JOB_FRAME_STARTED};
    static const uint8_t none[] = {JOB_FRAME_STARTED, 0, 0, 0, 0};
    static const uint8_t letters[] = {
        JOB_FRAME_STARTED, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 'a', 'b'};
    static const uint8_t too_many[] = {
        JOB_FRAME_STARTED, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    struct job_frame g;
    shoal_error_t error;

    cr_assert(eq(int, job_frame_decode(old, sizeof(old), &g, &error), 0));
    cr_assert(eq(u32, g.started.nbound, 0));
    job_frame_release(&g);
    cr_assert(eq(int, job_frame_decode(none, sizeof(none), &g, &error),
                 SHOAL_EPROTO));
    cr_assert(eq(int, job_frame_decode(letters, sizeof(letters), &g, &error),
                 SHOAL_EPROTO));
    cr_assert(not(eq(ptr, strstr(error.text, "bad PU list"), NULL)), "%s",
              error.text);
    cr_assert(eq(int, job_frame_decode(too_many, sizeof(too_many), &g, &error),
                 SHOAL_EPROTO));
}

Test(job_wire, a_hold_both_held_and_vacating_is_refused)
{
    static const uint8_t bad[] = {JOB_FRAME_HOLD, 3, 0, 0, 0, 0};
    static const uint8_t good[] = {JOB_FRAME_HOLD, 2, 0, 0, 0, 0};
    struct job_frame g;
    shoal_error_t error;

    cr_assert(
        eq(int, job_frame_decode(bad, sizeof(bad), &g, &error), SHOAL_EPROTO));
    cr_assert(eq(int, job_frame_decode(good, sizeof(good), &g, &error), 0));
    cr_assert(g.hold.vacating && !g.hold.held);
    job_frame_release(&g);
}

Test(job_wire, launch_restores_round_trip_and_old_launch_still_decodes)
{
    struct job_frame f = sample(JOB_FRAME_LAUNCH), g;
    uint8_t *old, *buf;
    size_t old_len, len;

    cr_assert(eq(int, job_frame_encode(&f, &old, &old_len), 0));
    f.launch.nrestores = 2;
    f.launch.restores = some_restores;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(gt(sz, len, old_len));
    cr_assert(eq(int, memcmp(old, buf, old_len), 0),
              "the trailer only follows the fields of before");
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    /* a LAUNCH without the trailer: no restore */
    cr_assert(eq(int, job_frame_decode(old, old_len, &g, NULL), 0));
    cr_assert(eq(u32, g.launch.nrestores, 0));
    job_frame_release(&g);
    /* a trailer cut anywhere is refused */
    assert_cuts_refused(buf, old_len + 1, len);
    free(old);
    free(buf);
}

Test(job_wire, rank_exit_carries_an_oom_kill_and_old_rank_exit_still_decodes)
{
    struct job_frame f = sample(JOB_FRAME_RANK_EXIT), g;
    uint8_t *old, *buf;
    size_t old_len, len;

    cr_assert(eq(int, job_frame_encode(&f, &old, &old_len), 0));
    /* the frame of before: rank, flags, value */
    cr_assert(eq(sz, old_len, 1 + 4 + 1 + 4));
    f.rank_exit.killed = false;
    f.rank_exit.oom_killed = true;
    f.rank_exit.memory_limit = 64ULL << 20;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(sz, len, old_len + 8));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    cr_assert(eq(int, job_frame_decode(old, old_len, &g, NULL), 0));
    cr_assert(not(g.rank_exit.oom_killed));
    cr_assert(eq(u64, g.rank_exit.memory_limit, 0));
    job_frame_release(&g);
    /* the flag without its limit, or the limit without the flag */
    assert_cuts_refused(buf, old_len, len);
    buf[5] &= (uint8_t)~16;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), SHOAL_EPROTO));
    /* a flag no encoder sets */
    old[5] |= 32;
    cr_assert(eq(int, job_frame_decode(old, old_len, &g, NULL), SHOAL_EPROTO));
    free(old);
    free(buf);
}

Test(job_wire, rank_exit_carries_the_counters_a_rank_left)
{
    struct job_frame f = sample(JOB_FRAME_RANK_EXIT), g;
    static uint8_t text[] = "perf::TASK-CLOCK 1234\n";
    uint8_t *old, *buf;
    size_t old_len, len;

    cr_assert(eq(int, job_frame_encode(&f, &old, &old_len), 0));
    f.rank_exit.counters = text;
    f.rank_exit.counters_len = sizeof(text) - 1;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(sz, len, old_len + 4 + sizeof(text) - 1));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    /* beside an OOM kill's limit */
    f.rank_exit.killed = false;
    f.rank_exit.oom_killed = true;
    f.rank_exit.memory_limit = 1 << 20;
    free(buf);
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), 0));
    assert_same(&f, &g);
    job_frame_release(&g);
    /* cut anywhere in the trailer */
    assert_cuts_refused(buf, old_len + 8 + 1, len);
    free(buf);
    /* too large to send, or sent empty */
    f.rank_exit.counters_len = JOB_WIRE_COUNTERS_MAX + 1;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    buf = malloc(old_len + 4);
    memcpy(buf, old, old_len);
    memset(buf + old_len, 0, 4);
    cr_assert(
        eq(int, job_frame_decode(buf, old_len + 4, &g, NULL), SHOAL_EPROTO));
    free(buf);
    free(old);
}

Test(job_wire, too_many_holders_are_refused)
{
    struct job_frame f = sample(JOB_FRAME_CKPT_COPIES);
    /* CKPT_COPIES naming 300 nodes, as a peer might send it */
    size_t len = 1 + 4 + 4 + 4 + 300 * 8;
    uint8_t *buf = calloc(1, len), *out;
    struct job_frame g;
    size_t n;

    buf[0] = JOB_FRAME_CKPT_COPIES;
    buf[8] = 1; /* version 1 */
    buf[12] = 300 & 0xff;
    buf[11] = 300 >> 8;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, NULL), SHOAL_EPROTO));
    free(buf);
    f.ckpt_copies.nnodes = JOB_WIRE_HOLDERS_MAX + 1;
    cr_assert(eq(int, job_frame_encode(&f, &out, &n), -EINVAL));
}

Test(job_wire,
     a_signal_without_ranks_is_for_every_rank_and_an_empty_list_is_refused)
{
    struct job_frame f = {.kind = JOB_FRAME_SIGNAL}, g;
    uint8_t empty[] = {JOB_FRAME_SIGNAL, 0, 0, 0, 10, 0, 0, 0, 0};
    shoal_error_t error;
    uint8_t *buf;
    size_t len;

    f.signal.signo = 15;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    cr_assert(eq(sz, len, 5));
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), 0));
    cr_assert(eq(u32, g.signal.nranks, 0));
    job_frame_release(&g);
    free(buf);
    cr_assert(eq(int, job_frame_decode(empty, sizeof(empty), &g, &error),
                 SHOAL_EPROTO));
}

Test(job_wire, names_of_an_unknown_operation_are_refused)
{
    struct job_frame f = sample(JOB_FRAME_NAMES), g;
    shoal_error_t error;
    uint8_t *buf;
    size_t len;

    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    buf[1] = 9;
    cr_assert(eq(int, job_frame_decode(buf, len, &g, &error), SHOAL_EPROTO),
              "%s", error.text);
    free(buf);
    f.names.op = 0;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
}

Test(job_wire, trailing_bytes_are_refused)
{
    struct job_frame f = sample(JOB_FRAME_SIGNAL), g;
    uint8_t *buf;
    size_t len;

    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
    buf = realloc(buf, len + 1);
    buf[len] = 0;
    cr_assert(eq(int, job_frame_decode(buf, len + 1, &g, NULL), SHOAL_EPROTO));
    free(buf);
}

Test(job_wire, random_garbage_never_crashes)
{
    uint8_t buf[512];
    unsigned seed = 12345;

    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
        struct job_frame g;
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rand_r(&seed);
        /* mostly valid kinds, so the field decoders get exercised */
        if (len > 0 && i % 4 != 0)
            buf[0] = (uint8_t)(JOB_FRAME_LAUNCH
                               + i % (JOB_FRAME_DMODEX - JOB_FRAME_LAUNCH + 1));
        if (job_frame_decode(buf, len, &g, NULL) == 0)
            job_frame_release(&g);
    }
}

Test(job_wire, mutated_frames_never_crash)
{
    unsigned seed = 99;

    for (int k = JOB_FRAME_LAUNCH; k <= JOB_FRAME_DMODEX; k++) {
        struct job_frame f = sample(k), g;
        uint8_t *buf;
        size_t len;

        cr_assert(eq(int, job_frame_encode(&f, &buf, &len), 0));
        for (int i = 0; i < 20000; i++) {
            uint8_t *m = malloc(len);
            memcpy(m, buf, len);
            for (int n = 0; n < 1 + i % 3; n++)
                m[(size_t)rand_r(&seed) % len] = (uint8_t)rand_r(&seed);
            if (job_frame_decode(m, len, &g, NULL) == 0)
                job_frame_release(&g);
            free(m);
        }
        free(buf);
    }
}

Test(job_wire, huge_counts_are_refused_before_allocating)
{
    /* BARRIER_IN claiming 2^32-1 pairs in a 5-byte frame */
    uint8_t buf[] = {JOB_FRAME_BARRIER_IN, 0xff, 0xff, 0xff, 0xff};
    struct job_frame g;

    cr_assert(
        eq(int, job_frame_decode(buf, sizeof(buf), &g, NULL), SHOAL_EPROTO));
}

Test(job_wire, encoder_refuses_what_the_decoder_would)
{
    struct job_frame f = {.kind = JOB_FRAME_OUTPUT};
    uint8_t *buf;
    size_t len;

    f.output.stream = 3;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
    f.kind = 99;
    cr_assert(eq(int, job_frame_encode(&f, &buf, &len), -EINVAL));
}

struct collect {
    int count;
    size_t lens[8];
};

static int collect_frame(const uint8_t *frame, size_t len, void *arg)
{
    struct collect *c = arg;

    (void)frame;
    c->lens[c->count++] = len;
    return 0;
}

Test(job_wire, stream_reassembles_frames_split_anywhere)
{
    uint8_t wire[64];
    size_t n = 0;
    const size_t sizes[] = {0, 5, 17};

    for (int i = 0; i < 3; i++) {
        frame_reader_head(wire + n, sizes[i]);
        n += 4;
        memset(wire + n, 'a' + i, sizes[i]);
        n += sizes[i];
    }
    for (size_t step = 1; step <= n; step++) {
        struct frame_reader s;
        struct collect c = {0};
        frame_reader_init(&s, JOB_WIRE_FRAME_MAX);
        for (size_t off = 0; off < n; off += step) {
            size_t len = off + step > n ? n - off : step;
            cr_assert(eq(
                int,
                frame_reader_feed(&s, wire + off, len, NULL, collect_frame, &c),
                0));
        }
        cr_assert(eq(int, c.count, 3), "step %zu", step);
        for (int i = 0; i < 3; i++)
            cr_assert(eq(sz, c.lens[i], sizes[i]));
        frame_reader_release(&s);
    }
}

Test(job_wire, stream_refuses_an_oversized_length)
{
    uint8_t head[4];
    struct frame_reader s;
    struct collect c = {0};

    frame_reader_head(head, (size_t)JOB_WIRE_FRAME_MAX + 1);
    frame_reader_init(&s, JOB_WIRE_FRAME_MAX);
    cr_assert(eq(int, frame_reader_feed(&s, head, 4, NULL, collect_frame, &c),
                 -EMSGSIZE));
    frame_reader_release(&s);
}
