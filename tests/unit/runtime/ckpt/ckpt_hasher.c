/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sodium.h>
#include <uv.h>

#include "runtime/ckpt/ckpt_hasher.h"

static char dir[64];
static char paths[3][96];

static void hasher_setup(void)
{
    cr_assert(sodium_init() >= 0);
    strcpy(dir, "/tmp/shoal-hasher-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
    for (int i = 0; i < 3; i++)
        snprintf(paths[i], sizeof(paths[i]), "%s/f%d", dir, i);
}

static void hasher_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert(eq(int, system(cmd), 0));
}

TestSuite(ckpt_hasher,
          .init = hasher_setup,
          .fini = hasher_teardown,
          .timeout = 20);

struct result {
    int calls;
    int rc;
    struct ckpt_hash hashes[3];
};

static void on_done(void *arg, int rc, const struct ckpt_hash *hashes)
{
    struct result *r = arg;

    r->calls++;
    r->rc = rc;
    if (hashes)
        memcpy(r->hashes, hashes, sizeof(r->hashes));
}

static void append(FILE *f, const unsigned char *p, size_t n)
{
    cr_assert(eq(sz, fwrite(p, 1, n, f), n));
    cr_assert(eq(int, fflush(f), 0));
}

Test(ckpt_hasher, hashes_what_was_written_as_it_grows)
{
    const char *const names[3] = {paths[0], paths[1], paths[2]};
    const enum ckpt_hasher_mode follow[3] = {CKPT_HASHER_HASH, CKPT_HASHER_SKIP,
                                             CKPT_HASHER_HASH};
    static unsigned char data[3 << 20];
    unsigned char want[CKPT_HASH_BYTES];
    struct result res = {0};
    ckpt_hasher_t *h = NULL;
    uv_loop_t loop;
    FILE *f[3];

    randombytes_buf(data, sizeof(data));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    for (int i = 0; i < 3; i++) {
        f[i] = fopen(paths[i], "w");
        cr_assert(f[i] != NULL);
    }
    cr_assert(eq(int, ckpt_hasher_create(&loop, names, follow, 3, &h), 0));
    /* file 0 in pieces, the loop turning between them */
    for (size_t off = 0; off < sizeof(data); off += 1 << 20) {
        append(f[0], data + off, 1 << 20);
        cr_assert(eq(int, ckpt_hasher_grow(h, 0, off + (1 << 20)), 0));
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    append(f[1], data, 10); /* not followed */
    cr_expect(eq(int, ckpt_hasher_grow(h, 1, 10), 0));
    cr_expect(eq(int, ckpt_hasher_grow(h, 7, 10), 0)); /* no such file */
    /* file 2 stays empty */
    cr_assert(eq(int, ckpt_hasher_finish(h, on_done, &res), 0));
    while (res.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    cr_expect(eq(int, res.calls, 1));
    cr_expect(eq(int, res.rc, 0));
    crypto_generichash(want, sizeof(want), data, sizeof(data), NULL, 0);
    cr_expect(res.hashes[0].valid);
    cr_expect(eq(int, memcmp(res.hashes[0].bytes, want, sizeof(want)), 0));
    cr_expect(not(res.hashes[1].valid));
    crypto_generichash(want, sizeof(want), data, 0, NULL, 0);
    cr_expect(res.hashes[2].valid);
    cr_expect(eq(int, memcmp(res.hashes[2].bytes, want, sizeof(want)), 0));
    ckpt_hasher_destroy(h);
    for (int i = 0; i < 3; i++)
        fclose(f[i]);
    cr_expect(eq(int, uv_loop_close(&loop), 0));
}

Test(ckpt_hasher, a_file_shorter_than_grown_is_an_error)
{
    const char *const names[1] = {paths[0]};
    const enum ckpt_hasher_mode follow[1] = {CKPT_HASHER_HASH};
    struct result res = {0};
    ckpt_hasher_t *h = NULL;
    uv_loop_t loop;
    FILE *f;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    f = fopen(paths[0], "w");
    cr_assert(f != NULL);
    append(f, (const unsigned char *)"abc", 3);
    fclose(f);
    cr_assert(eq(int, ckpt_hasher_create(&loop, names, follow, 1, &h), 0));
    cr_assert(eq(int, ckpt_hasher_grow(h, 0, 10), 0));
    cr_assert(eq(int, ckpt_hasher_finish(h, on_done, &res), 0));
    while (res.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    cr_expect(eq(int, res.rc, -EUCLEAN));
    /* it stays failed */
    cr_expect(eq(int, ckpt_hasher_grow(h, 0, 11), -EUCLEAN));
    ckpt_hasher_destroy(h);
    cr_expect(eq(int, uv_loop_close(&loop), 0));
}

Test(ckpt_hasher, destroyed_while_a_batch_runs)
{
    const char *const names[1] = {paths[0]};
    const enum ckpt_hasher_mode follow[1] = {CKPT_HASHER_HASH};
    static unsigned char data[4 << 20];
    ckpt_hasher_t *h = NULL;
    uv_loop_t loop;
    FILE *f;

    cr_assert(eq(int, uv_loop_init(&loop), 0));
    f = fopen(paths[0], "w");
    cr_assert(f != NULL);
    append(f, data, sizeof(data));
    fclose(f);
    cr_assert(eq(int, ckpt_hasher_create(&loop, names, follow, 1, &h), 0));
    cr_assert(eq(int, ckpt_hasher_grow(h, 0, sizeof(data)), 0));
    ckpt_hasher_destroy(h);
    ckpt_hasher_destroy(NULL);
    /* the batch ends and frees itself */
    cr_expect(eq(int, uv_run(&loop, UV_RUN_DEFAULT), 0));
    cr_expect(eq(int, uv_loop_close(&loop), 0));
}

Test(ckpt_hasher, a_vouched_file_is_flushed_not_hashed)
{
    const char *const names[2] = {paths[0], paths[1]};
    const enum ckpt_hasher_mode mode[2] = {CKPT_HASHER_FLUSH, CKPT_HASHER_HASH};
    static unsigned char data[2 << 20];
    unsigned char want[CKPT_HASH_BYTES];
    struct result res = {0};
    ckpt_hasher_t *h = NULL;
    uv_loop_t loop;
    FILE *f[2];

    randombytes_buf(data, sizeof(data));
    cr_assert(eq(int, uv_loop_init(&loop), 0));
    for (int i = 0; i < 2; i++) {
        f[i] = fopen(paths[i], "w");
        cr_assert(f[i] != NULL);
        append(f[i], data, sizeof(data));
    }
    cr_assert(eq(int, ckpt_hasher_create(&loop, names, mode, 2, &h), 0));
    for (int i = 0; i < 2; i++) {
        cr_assert(eq(int, ckpt_hasher_grow(h, (size_t)i, 1 << 20), 0));
        uv_run(&loop, UV_RUN_NOWAIT);
        cr_assert(eq(int, ckpt_hasher_grow(h, (size_t)i, sizeof(data)), 0));
    }
    cr_assert(eq(int, ckpt_hasher_finish(h, on_done, &res), 0));
    while (res.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    cr_expect(eq(int, res.rc, 0));
    /* the caller has the hash of a vouched file from its MANIFEST */
    cr_expect(not(res.hashes[0].valid));
    crypto_generichash(want, sizeof(want), data, sizeof(data), NULL, 0);
    cr_expect(res.hashes[1].valid);
    cr_expect(eq(int, memcmp(res.hashes[1].bytes, want, sizeof(want)), 0));
    ckpt_hasher_destroy(h);
    for (int i = 0; i < 2; i++)
        fclose(f[i]);
    cr_expect(eq(int, uv_loop_close(&loop), 0));
}
