/* SPDX-License-Identifier: MIT */
/* Tests for runtime/job/pool_job.c: the coordinator's part in node-local
 * checkpoints (CKPT_COPIES in, CKPT_KEEP out, the versions LAUNCH says to
 * restore, a version no node can restore), and the direct modex requests
 * it relays between nodes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/job/job_wire.h"
#include "runtime/job/pool_job.h"

struct sent {
    int count;
    int node[16];
    struct job_frame frame[16];
};

static int capture(int node, const uint8_t *buf, size_t len, void *arg)
{
    struct sent *s = arg;

    cr_assert(lt(int, s->count, 16));
    cr_assert(
        eq(int, job_frame_decode(buf, len, &s->frame[s->count], NULL), 0));
    s->node[s->count++] = node;
    return 0;
}

/* Forget the frames captured so far. */
static void drop_sent(struct sent *s)
{
    for (int i = 0; i < s->count; i++)
        job_frame_release(&s->frame[i]);
    s->count = 0;
}

static bool finished;

static void on_finished(void *arg)
{
    (void)arg;
    finished = true;
}

static const struct pool_job_ops ops = {.send = capture,
                                        .finished = on_finished};

static void feed(pool_job_t *job, int node, const struct job_frame *f, int want)
{
    uint8_t *buf;
    size_t len;

    cr_assert(eq(int, job_frame_encode(f, &buf, &len), 0));
    cr_assert(eq(int, pool_job_input(job, node, buf, len), want));
    free(buf);
}

/* What every test here starts from: a job of one rank on each of its
 * nodes ("a", "b", "c"), its output thrown away, the frames it sends
 * captured in s. */
struct fixture {
    uv_loop_t loop;
    struct pool_job_node nodes[3];
    struct pool_job_config config;
    struct sent s;
    int devnull;
    pool_job_t *job;
};

/* Fill fx->config for a job on nnodes nodes; the test adds to it what it
 * needs before fixture_start. */
static void fixture_init(struct fixture *fx, int nnodes)
{
    static const int ranks[] = {0, 1, 2};
    static const char *const names[] = {"a", "b", "c"};
    static char *argv[] = {"prog", NULL};

    cr_assert(le(int, nnodes, 3));
    memset(fx, 0, sizeof(*fx));
    cr_assert(eq(int, uv_loop_init(&fx->loop), 0));
    fx->devnull = open("/dev/null", O_WRONLY);
    cr_assert(ge(int, fx->devnull, 0));
    for (int i = 0; i < nnodes; i++)
        fx->nodes[i] = (struct pool_job_node){
            .name = names[i], .nranks = 1, .ranks = &ranks[i]};
    fx->config = (struct pool_job_config){
        .loop = &fx->loop,
        .job_id = 1,
        .nranks = nnodes,
        .nnodes = nnodes,
        .nodes = fx->nodes,
        .path = "/bin/prog",
        .argv = argv,
        .kill_grace = 1,
        .in_fd = -1,
        .out_fd = fx->devnull,
        .err_fd = fx->devnull,
    };
    finished = false;
}

/* Create and start the job fx->config describes. */
static void fixture_start(struct fixture *fx)
{
    shoal_error_t error;

    cr_assert(eq(int,
                 pool_job_create(&fx->config, &ops, &fx->s, &fx->job, &error),
                 0),
              "%s", error.text);
    cr_assert(eq(int, pool_job_start(fx->job, &error), 0), "%s", error.text);
}

/* Let the loop end what is left of the job, then free it all. */
static void fixture_end(struct fixture *fx)
{
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    drop_sent(&fx->s);
    pool_job_destroy(fx->job);
    cr_assert(eq(int, uv_loop_close(&fx->loop), 0));
    close(fx->devnull);
}

Test(pool_job, copies_advance_the_job_version_and_restores_are_launched)
{
    uint64_t held[] = {0xa, 0xb}, self_a[] = {0xa, 0xb}, self_b[] = {0xb, 0xa};
    struct job_frame f = {.kind = JOB_FRAME_CKPT_COPIES};
    struct fixture fx;
    struct sent *s = &fx.s;
    ckpt_copies_t *table;
    const uint64_t *got;
    pool_job_t *job;
    int base;

    fixture_init(&fx, 2);
    cr_assert(eq(int, ckpt_copies_create(2, &table), 0));
    ckpt_copies_add(table, 0, 3, held, 2);
    ckpt_copies_add(table, 1, 3, held, 2);
    fx.config.ckpt_root = "@state/job-t/run1";
    fx.config.ckpt_copies = table;
    fx.config.ckpt_restore = 3;
    fixture_start(&fx);
    job = fx.job;

    /* each LAUNCH names its rank's version and where it is (then rank
     * 0's node is told its stdin is at its end) */
    cr_assert(ge(int, s->count, 2));
    base = s->count;
    for (int i = 0; i < 2; i++) {
        const struct job_launch *l = &s->frame[i].launch;
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_LAUNCH));
        cr_assert(eq(u32, l->nrestores, 1));
        cr_assert(eq(u32, l->restores[0].rank, (uint32_t)s->node[i]));
        cr_assert(eq(u32, l->restores[0].version, 3));
        cr_assert(eq(u32, l->restores[0].nnodes, 2));
        cr_assert(eq(u64, l->restores[0].nodes[1], 0xb));
    }

    /* version 5 is the job's once both ranks have it copied */
    f.ckpt_copies = (typeof(f.ckpt_copies)){
        .rank = 0, .version = 5, .nnodes = 2, .nodes = self_a};
    feed(job, 0, &f, 0);
    /* the job's version is the restored one until rank 1 has 5 too */
    cr_assert(eq(int, s->count, base + 2));
    for (int i = base; i < base + 2; i++) {
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_CKPT_KEEP));
        cr_assert(eq(u32, s->frame[i].ckpt_keep.version, 3));
    }
    base += 2;
    f.ckpt_copies.rank = 1;
    f.ckpt_copies.nodes = self_b;
    feed(job, 1, &f, 0);
    cr_assert(eq(int, s->count, base + 2));
    for (int i = base; i < base + 2; i++) {
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_CKPT_KEEP));
        cr_assert(eq(u32, s->frame[i].ckpt_keep.version, 5));
    }
    cr_assert(eq(int, ckpt_copies_holders(table, 1, 5, &got), 2));
    cr_assert(eq(u64, got[0], 0xb));

    /* a node speaks only of its own ranks */
    f.ckpt_copies.rank = 0;
    feed(job, 1, &f, SHOAL_EPROTO);

    drop_sent(s);
    pool_job_node_lost(job, 0);
    pool_job_node_lost(job, 1);
    cr_assert(finished);
    fixture_end(&fx);
    ckpt_copies_destroy(table);
}

Test(pool_job, a_version_no_node_can_restore_is_dropped)
{
    uint64_t held[] = {0xb};
    struct job_frame f = {.kind = JOB_FRAME_SPAWN_FAILED};
    struct fixture fx;
    ckpt_copies_t *table;
    pool_job_t *job;
    const struct pool_job_result *result;

    fixture_init(&fx, 1);
    cr_assert(eq(int, ckpt_copies_create(1, &table), 0));
    ckpt_copies_add(table, 0, 2, held, 1);
    ckpt_copies_add(table, 0, 3, held, 1);
    fx.config.ckpt_copies = table;
    fx.config.ckpt_restore = 3;
    fixture_start(&fx);
    job = fx.job;
    f.spawn_failed.code = -ENODATA;
    f.spawn_failed.message = "version 3 of rank 0 is lost with nodes b";
    feed(job, 0, &f, 0);
    pool_job_node_lost(job, 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    result = pool_job_result(job);
    cr_assert(eq(int, result->end, JOB_END_NODE_LOST));
    cr_assert(strstr(result->message.text, "version 3 of rank 0 is lost")
              != NULL);
    cr_assert(eq(int, ckpt_copies_version(table), 2), "the one before");
    fixture_end(&fx);
    ckpt_copies_destroy(table);
}

static int notices;
static char last_notice[512];

static void on_notice(const char *text, void *arg)
{
    (void)arg;
    notices++;
    snprintf(last_notice, sizeof(last_notice), "%s", text);
}

/* The frames sent since *base: each a SIGNAL of signo, one per node in
 * want (a bit per node). */
static void assert_signals(struct sent *s, int *base, int signo, int want)
{
    int got = 0;

    for (int i = *base; i < s->count; i++) {
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_SIGNAL), "frame %d", i);
        cr_assert(eq(i32, s->frame[i].signal.signo, signo));
        got |= 1 << s->node[i];
    }
    cr_assert(eq(int, got, want));
    drop_sent(s);
    *base = 0;
}

Test(pool_job, an_owners_hold_stops_every_node_until_the_last_lets_go)
{
    struct job_frame hold = {.kind = JOB_FRAME_HOLD};
    struct job_frame started = {.kind = JOB_FRAME_STARTED};
    struct fixture fx;
    struct sent *s = &fx.s;
    pool_job_t *job;
    int base;

    fixture_init(&fx, 3);
    fx.config.notice = on_notice;
    fixture_start(&fx);
    job = fx.job;
    drop_sent(s);
    base = 0;
    feed(job, 0, &started, 0);
    feed(job, 1, &started, 0);
    cr_assert(eq(int, s->count, 0));

    /* b's owner is back: every node stops */
    hold.hold.held = true;
    hold.hold.reason = "the owner of node 'b' is back";
    feed(job, 1, &hold, 0);
    assert_signals(s, &base, SIGSTOP, 7);
    cr_assert(eq(int, notices, 1));
    cr_assert(strstr(last_notice, "stopped on every node") != NULL);
    cr_assert(strstr(last_notice, "'b' is back") != NULL);
    /* c's owner too: nothing more to stop; a repeated word changes
     * nothing */
    feed(job, 2, &hold, 0);
    feed(job, 1, &hold, 0);
    cr_assert(eq(int, s->count, 0));
    /* c starts its ranks only now: they are stopped as well */
    feed(job, 2, &started, 0);
    assert_signals(s, &base, SIGSTOP, 4);

    /* b lets go, c still holds: still stopped */
    hold.hold.held = false;
    hold.hold.reason = "owner quiet again";
    feed(job, 1, &hold, 0);
    cr_assert(eq(int, s->count, 0));
    /* c lets go: every node continues */
    feed(job, 2, &hold, 0);
    assert_signals(s, &base, SIGCONT, 7);
    cr_assert(eq(int, notices, 2));
    cr_assert(strstr(last_notice, "continued") != NULL);

    /* a held node that is lost ends the job: KILL, no SIGCONT (the
     * nodes' SIGTERM continues what it ends) */
    hold.hold.held = true;
    feed(job, 2, &hold, 0);
    assert_signals(s, &base, SIGSTOP, 7);
    pool_job_node_lost(job, 2);
    for (int i = 0; i < s->count; i++) {
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_KILL));
        job_frame_release(&s->frame[i]);
    }
    s->count = 0;
    pool_job_node_lost(job, 0);
    pool_job_node_lost(job, 1);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, pool_job_result(job)->end, JOB_END_NODE_LOST));
    fixture_end(&fx);
}

Test(pool_job, a_rank_ended_on_a_node_its_owner_takes_back_is_a_vacate)
{
    struct job_frame hold = {.kind = JOB_FRAME_HOLD};
    struct job_frame gone = {.kind = JOB_FRAME_RANK_EXIT};
    struct fixture fx;
    struct sent *s = &fx.s;
    pool_job_t *job;
    int base = 0;

    fixture_init(&fx, 2);
    fx.config.notice = on_notice;
    notices = 0;
    fixture_start(&fx);
    job = fx.job;
    drop_sent(s);
    hold.hold.held = true;
    hold.hold.reason = "the owner of node 'b' is back";
    feed(job, 1, &hold, 0);
    assert_signals(s, &base, SIGSTOP, 3);
    /* vacated: every node goes on (to take part in the last checkpoint),
     * and the user is told once */
    hold.hold.held = false;
    hold.hold.vacating = true;
    hold.hold.reason = "the owner of node 'b' takes it back";
    feed(job, 1, &hold, 0);
    assert_signals(s, &base, SIGCONT, 3);
    cr_assert(eq(int, notices, 2));
    cr_assert(strstr(last_notice, "takes it back; its ranks there will end")
              != NULL);
    /* its rank ends by SIGTERM: the job ends as vacated, not failed */
    gone.rank_exit.rank = 1;
    gone.rank_exit.signaled = true;
    gone.rank_exit.value = SIGTERM;
    feed(job, 1, &gone, 0);
    pool_job_node_lost(job, 0);
    pool_job_node_lost(job, 1);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    cr_assert(eq(int, pool_job_result(job)->end, JOB_END_VACATED));
    cr_assert(strstr(pool_job_result(job)->message.text,
                     "rank 1 on 'b' ended: the node's owner took it back")
              != NULL);
    fixture_end(&fx);
}

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

Test(pool_job, auto_checkpoints_on_node_local_stores_are_asked_of_every_node)
{
    struct fixture fx;
    struct sent *s = &fx.s;
    uv_timer_t stop;
    ckpt_copies_t *table;
    pool_job_t *job;
    int asked[2] = {0, 0};

    fixture_init(&fx, 2);
    cr_assert(eq(int, ckpt_copies_create(2, &table), 0));
    fx.config.ckpt_root = "@state/job-t/run0";
    fx.config.ckpt_auto = (typeof(fx.config.ckpt_auto)){
        .mtbf = 3600, .min_interval = 0.3, .max_interval = 0.3};
    fx.config.ckpt_copies = table;
    fixture_start(&fx);
    job = fx.job;
    drop_sent(s);
    /* 0.3 s between requests, looked at every 0.25 s: a round at 0.5 s
     * and at 1 s (and 1.5 s on a quick machine) */
    uv_timer_init(&fx.loop, &stop);
    uv_timer_start(&stop, stop_loop, 1600, 0);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < s->count; i++) {
        cr_assert(eq(int, s->frame[i].kind, JOB_FRAME_CKPT_REQUEST));
        asked[s->node[i]]++;
        job_frame_release(&s->frame[i]);
    }
    s->count = 0;
    cr_assert(ge(int, asked[0], 2), "node a asked %d times", asked[0]);
    cr_assert(le(int, asked[0], 3), "node a asked %d times", asked[0]);
    cr_assert(eq(int, asked[1], asked[0]), "node b asked %d times", asked[1]);
    uv_close((uv_handle_t *)&stop, NULL);
    pool_job_node_lost(job, 0);
    pool_job_node_lost(job, 1);
    fixture_end(&fx);
    ckpt_copies_destroy(table);
}

/* The DMODEX frame sent last to node, or NULL. */
static const struct job_frame *dmodex_to(const struct sent *s, int node)
{
    const struct job_frame *found = NULL;

    for (int i = 0; i < s->count; i++)
        if (s->node[i] == node && s->frame[i].kind == JOB_FRAME_DMODEX)
            found = &s->frame[i];
    return found;
}

Test(pool_job, direct_modex_requests_go_to_the_ranks_node_and_back)
{
    struct job_frame f = {.kind = JOB_FRAME_DMODEX};
    struct job_frame gone = {.kind = JOB_FRAME_RANK_EXIT};
    const struct job_frame *g;
    struct fixture fx;
    struct sent *s = &fx.s;
    pool_job_t *job;
    uint32_t to_a, to_c;

    fixture_init(&fx, 3);
    fixture_start(&fx);
    job = fx.job;
    drop_sent(s);

    /* nodes a and c ask for rank 1's data, both with their id 5: node b
     * gets two requests it can tell apart */
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REQUEST, .id = 5, .rank = 1};
    feed(job, 0, &f, 0);
    g = dmodex_to(s, 1);
    cr_assert(not(eq(ptr, (void *)g, NULL)));
    cr_assert(eq(u8, g->dmodex.op, JOB_DMODEX_REQUEST));
    cr_assert(eq(u32, g->dmodex.rank, 1));
    to_a = g->dmodex.id;
    drop_sent(s);
    feed(job, 2, &f, 0);
    g = dmodex_to(s, 1);
    cr_assert(not(eq(ptr, (void *)g, NULL)));
    to_c = g->dmodex.id;
    cr_assert(not(eq(u32, to_a, to_c)));
    drop_sent(s);

    /* node b answers a's: a gets its id back, with the data */
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REPLY,
                                  .id = to_a,
                                  .rank = 1,
                                  .len = 3,
                                  .bytes = (uint8_t *)"abc"};
    feed(job, 1, &f, 0);
    cr_assert(eq(int, s->count, 1));
    g = dmodex_to(s, 0);
    cr_assert(not(eq(ptr, (void *)g, NULL)));
    cr_assert(eq(u8, g->dmodex.op, JOB_DMODEX_REPLY));
    cr_assert(eq(u32, g->dmodex.id, 5));
    cr_assert(eq(i32, g->dmodex.status, 0));
    cr_assert(eq(u32, g->dmodex.len, 3));
    cr_assert(eq(int, memcmp(g->dmodex.bytes, "abc", 3), 0));
    drop_sent(s);
    /* the same answer again: nobody waits for it any more */
    feed(job, 1, &f, 0);
    cr_assert(eq(int, s->count, 0));

    /* rank 1 is killed before it answers c: c's request fails */
    gone.rank_exit = (struct job_rank_exit){
        .rank = 1, .signaled = true, .value = 9, .initialized = true};
    feed(job, 1, &gone, 0);
    g = dmodex_to(s, 2);
    cr_assert(not(eq(ptr, (void *)g, NULL)));
    cr_assert(eq(u32, g->dmodex.id, 5));
    cr_assert(eq(i32, g->dmodex.status, -ESRCH));
    cr_assert(eq(u32, g->dmodex.len, 0));
    drop_sent(s);
    /* and a request for it now is answered at once */
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REQUEST, .id = 6, .rank = 1};
    feed(job, 0, &f, 0);
    cr_assert(eq(ptr, (void *)dmodex_to(s, 1), NULL));
    g = dmodex_to(s, 0);
    cr_assert(not(eq(ptr, (void *)g, NULL)));
    cr_assert(eq(i32, g->dmodex.status, -ESRCH));
    drop_sent(s);
    /* its answer coming late is dropped */
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REPLY,
                                  .id = to_c,
                                  .rank = 1,
                                  .len = 1,
                                  .bytes = (uint8_t *)"x"};
    feed(job, 1, &f, 0);
    cr_assert(eq(ptr, (void *)dmodex_to(s, 2), NULL));

    /* forged: a rank the job lacks, an answer for another node's rank */
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REQUEST, .id = 7, .rank = 3};
    feed(job, 0, &f, SHOAL_EPROTO);
    f.dmodex = (typeof(f.dmodex)){.op = JOB_DMODEX_REPLY, .id = 1, .rank = 1};
    feed(job, 2, &f, SHOAL_EPROTO);

    drop_sent(s);
    for (int i = 0; i < 3; i++)
        pool_job_node_lost(job, i);
    cr_assert(finished);
    fixture_end(&fx);
}
