/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_xfer.h"

TestSuite(ckpt_xfer, .timeout = 10);

struct sent {
    uint32_t file[64];
    uint64_t off[64];
    uint32_t len[64];
    int n;
    int dones;
    int refuse; /* refuse this many sends with -ENOBUFS */
};

static int fake_chunk(uint32_t file, uint64_t off, uint32_t len, void *arg)
{
    struct sent *s = arg;

    if (s->refuse > 0) {
        s->refuse--;
        return -ENOBUFS;
    }
    cr_assert(lt(int, s->n, 64));
    s->file[s->n] = file;
    s->off[s->n] = off;
    s->len[s->n] = len;
    s->n++;
    return 0;
}

static int fake_done(void *arg)
{
    ((struct sent *)arg)->dones++;
    return 0;
}

static const struct ckpt_xfer_ops ops = {fake_chunk, fake_done};

static ckpt_xfer_t *make(struct sent *s, const uint64_t *sizes, uint32_t n)
{
    struct ckpt_xfer_config cfg = {.sizes = sizes,
                                   .nfiles = n,
                                   .chunk = 10,
                                   .window = 20,
                                   .timeout_ms = 1000};
    ckpt_xfer_t *x;

    cr_assert(eq(int, ckpt_xfer_create(&cfg, &ops, s, 0, &x), 0));
    return x;
}

Test(ckpt_xfer, streams_in_chunks_within_the_window)
{
    uint64_t sizes[2] = {25, 5}, have[2] = {0, 0};
    struct sent s = {0};
    ckpt_xfer_t *x = make(&s, sizes, 2);

    cr_expect(eq(int, ckpt_xfer_status(x, 0, have, 2, 1), 0));
    cr_expect(eq(int, s.n, 2), "two chunks fill the window of 20");
    cr_expect(eq(int, ckpt_xfer_ack(x, 0, 10, 2), 0));
    cr_expect(eq(int, s.n, 3));
    cr_expect(eq(u32, s.len[2], 5), "the last 5 bytes of file 0");
    cr_expect(eq(int, ckpt_xfer_ack(x, 0, 20, 3), 0));
    cr_expect(eq(int, s.n, 4));
    cr_expect(eq(u32, s.file[3], 1));
    cr_expect(eq(int, ckpt_xfer_ack(x, 0, 25, 4), 0));
    cr_expect(eq(int, s.dones, 0));
    cr_expect(eq(int, ckpt_xfer_ack(x, 1, 5, 5), 0));
    cr_expect(eq(int, s.dones, 1));
    cr_expect(eq(int, ckpt_xfer_state(x), CKPT_XFER_FINISHING));
    cr_expect(eq(int, ckpt_xfer_result(x, 0), 0));
    cr_expect(eq(int, ckpt_xfer_state(x), CKPT_XFER_DONE));
    ckpt_xfer_destroy(x);
}

Test(ckpt_xfer, resumes_from_what_the_receiver_has)
{
    uint64_t sizes[2] = {25, 5}, have[2] = {20, 5};
    struct sent s = {0};
    struct ckpt_xfer_stats st;
    ckpt_xfer_t *x = make(&s, sizes, 2);

    cr_expect(eq(int, ckpt_xfer_status(x, 0, have, 2, 1), 0));
    cr_expect(eq(int, s.n, 1));
    cr_expect(eq(u64, s.off[0], 20));
    cr_expect(eq(u32, s.len[0], 5));
    ckpt_xfer_ack(x, 0, 25, 2);
    ckpt_xfer_get_stats(x, &st);
    cr_expect(eq(u64, st.resumed, 25));
    cr_expect(eq(u64, st.sent, 5));
    cr_expect(eq(int, s.dones, 1));
    ckpt_xfer_destroy(x);
}

Test(ckpt_xfer, whole_copy_is_done_at_once)
{
    uint64_t sizes[1] = {100};
    struct sent s = {0};
    ckpt_xfer_t *x = make(&s, sizes, 1);

    cr_expect(eq(int, ckpt_xfer_status(x, 1, NULL, 0, 1), 0));
    cr_expect(eq(int, ckpt_xfer_state(x), CKPT_XFER_DONE));
    cr_expect(eq(int, s.n, 0));
    ckpt_xfer_destroy(x);
}

Test(ckpt_xfer, lying_receiver_fails_the_transfer)
{
    uint64_t sizes[1] = {30}, have_too_much[1] = {31}, have[1] = {0};
    struct sent s = {0};
    ckpt_xfer_t *x = make(&s, sizes, 1);

    cr_expect(
        eq(int, ckpt_xfer_status(x, 0, have_too_much, 1, 1), SHOAL_EPROTO));
    cr_expect(eq(int, ckpt_xfer_state(x), CKPT_XFER_FAILED));
    ckpt_xfer_destroy(x);
    x = make(&s, sizes, 1);
    ckpt_xfer_status(x, 0, have, 1, 1);
    cr_expect(eq(int, ckpt_xfer_ack(x, 0, 25, 2), SHOAL_EPROTO),
              "ack past what was sent");
    ckpt_xfer_destroy(x);
    x = make(&s, sizes, 1);
    ckpt_xfer_status(x, 0, have, 1, 1);
    cr_expect(eq(int, ckpt_xfer_result(x, 0), SHOAL_EPROTO),
              "success before the last byte");
    ckpt_xfer_destroy(x);
}

Test(ckpt_xfer, silence_times_out_and_errors_are_kept)
{
    uint64_t sizes[1] = {30}, have[1] = {0};
    struct sent s = {0};
    ckpt_xfer_t *x = make(&s, sizes, 1);

    ckpt_xfer_status(x, 0, have, 1, 0);
    cr_expect(eq(int, ckpt_xfer_tick(x, 999), 0));
    cr_expect(eq(int, ckpt_xfer_tick(x, 1000), -ETIMEDOUT));
    cr_expect(eq(int, ckpt_xfer_error(x), -ETIMEDOUT));
    ckpt_xfer_destroy(x);
    x = make(&s, sizes, 1);
    ckpt_xfer_status(x, 0, have, 1, 0);
    cr_expect(eq(int, ckpt_xfer_result(x, -ENOSPC), -ENOSPC));
    ckpt_xfer_fail(x, -EHOSTDOWN);
    cr_expect(eq(int, ckpt_xfer_error(x), -ENOSPC), "first error kept");
    ckpt_xfer_destroy(x);
}

Test(ckpt_xfer, a_full_queue_is_retried_at_the_next_tick)
{
    uint64_t sizes[1] = {10}, have[1] = {0};
    struct sent s = {.refuse = 1};
    ckpt_xfer_t *x = make(&s, sizes, 1);

    cr_expect(eq(int, ckpt_xfer_status(x, 0, have, 1, 0), 0));
    cr_expect(eq(int, s.n, 0));
    cr_expect(eq(int, ckpt_xfer_tick(x, 10), 0));
    cr_expect(eq(int, s.n, 1));
    ckpt_xfer_destroy(x);
}
