/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <sodium.h>

#include "util/seal.h"

TestSuite(seal, .timeout = 20);

enum { NODE_A = 0xa1, NODE_B = 0xb2, NODE_C = 0xc3 };

static const uint64_t t0 = 1700000000000ULL; /* a wall clock in ms */

static seal_key_t test_key(uint8_t fill)
{
    seal_key_t key;

    memset(key.bytes, fill, sizeof(key.bytes));
    key.bytes[0] = 0x42;
    return key;
}

static seal_t *make_seal(const seal_key_t *key, uint64_t node_id)
{
    struct seal_config config = {.key = key, .node_id = node_id};
    seal_t *seal = NULL;

    cr_assert(eq(int, seal_create(&config, &seal, NULL), 0));
    return seal;
}

struct sealed {
    uint8_t buf[256];
    size_t len;
};

static struct sealed
wrap(seal_t *seal, uint64_t dest, uint64_t now, const char *body)
{
    struct sealed m;

    cr_assert(eq(int,
                 seal_wrap(seal, 7, dest, now, body, strlen(body), m.buf,
                           sizeof(m.buf), &m.len),
                 0));
    cr_assert(eq(sz, m.len, strlen(body) + SEAL_OVERHEAD));
    return m;
}

/* Open m and return the code; body gets the text on success. */
static int unwrap(seal_t *seal,
                  const struct sealed *m,
                  uint64_t now,
                  char *body,
                  enum seal_drop *why)
{
    struct seal_header header;
    uint8_t out[256];
    size_t outlen = 0;
    int rc = seal_unwrap(seal, m->buf, m->len, now, &header, out, sizeof(out),
                         &outlen, why);

    if (rc == 0 && body) {
        memcpy(body, out, outlen);
        body[outlen] = '\0';
    }
    return rc;
}

static uint64_t dropped(seal_t *seal, enum seal_drop why)
{
    struct seal_stats stats;

    seal_get_stats(seal, &stats);
    return stats.dropped[why];
}

Test(seal, round_trip_gives_body_and_header)
{
    seal_key_t key = test_key(1);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed m = wrap(a, NODE_B, t0, "hello, pool");
    struct seal_header header;
    uint8_t out[256];
    size_t outlen = 0;

    cr_assert(eq(int,
                 seal_unwrap(b, m.buf, m.len, t0 + 5, &header, out, sizeof(out),
                             &outlen, NULL),
                 0));
    cr_assert(eq(sz, outlen, 11));
    cr_assert(eq(int, memcmp(out, "hello, pool", 11), 0));
    cr_assert(eq(u8, header.type, 7));
    cr_assert(eq(u64, header.sender, NODE_A));
    cr_assert(eq(u64, header.dest, NODE_B));
    cr_assert(eq(u64, header.timestamp_ms, t0));
    cr_assert(eq(u64, header.seq, t0 * 1000));

    /* the body is not in clear on the wire */
    cr_assert(eq(ptr, memmem(m.buf, m.len, "hello", 5), NULL));

    /* an empty body is a message too, and dest 0 reaches anyone */
    struct sealed empty = wrap(a, 0, t0 + 1, "");
    char text[8];
    cr_assert(eq(int, unwrap(b, &empty, t0 + 1, text, NULL), 0));
    cr_assert(eq(str, text, ""));

    struct seal_stats stats;
    seal_get_stats(b, &stats);
    cr_assert(eq(u64, stats.opened, 2));
    seal_get_stats(a, &stats);
    cr_assert(eq(u64, stats.sealed, 2));
    seal_destroy(a);
    seal_destroy(b);
    seal_destroy(NULL);
}

Test(seal, any_altered_byte_fails_authentication)
{
    seal_key_t key = test_key(2);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed m = wrap(a, NODE_B, t0, "payload under test");
    uint64_t auth = 0;

    for (size_t i = 0; i < m.len; i++) {
        struct sealed bad = m;
        enum seal_drop why = SEAL_DROP_COUNT;
        bad.buf[i] ^= 0x01;
        int rc = unwrap(b, &bad, t0, NULL, &why);
        cr_assert(lt(int, rc, 0), "byte %zu altered yet accepted", i);
        if (why == SEAL_DROP_AUTH) {
            cr_assert(eq(int, rc, -EBADMSG));
            auth++;
        } else {
            /* only magic and version/flags are checked before the tag */
            cr_assert(lt(sz, i, 8), "byte %zu refused as %s", i,
                      seal_drop_name(why));
        }
    }
    cr_assert(eq(u64, dropped(b, SEAL_DROP_AUTH), auth));
    cr_assert(eq(u64, dropped(b, SEAL_DROP_MAGIC), 4));
    cr_assert(eq(u64, dropped(b, SEAL_DROP_VERSION), 3));
    /* the intact message is still new: refusals changed no window */
    cr_assert(eq(int, unwrap(b, &m, t0, NULL, NULL), 0));
    seal_destroy(a);
    seal_destroy(b);
}

/* Bodies of every size, on both sides of the size from which OpenSSL
 * seals them: each message is XChaCha20-Poly1305 exactly as libsodium
 * makes it (libsodium opens it, and seal_unwrap() opens libsodium's), and
 * any altered byte of a large one is refused, body zeroed. */
Test(seal, large_bodies_are_libsodium_xchacha20poly1305)
{
    static const size_t sizes[] = {0,    1,     4095,    4096,
                                   4097, 65536, 1 << 20, (1 << 20) + 13};
    seal_key_t key = test_key(9);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    size_t max = (1 << 20) + 13;
    uint8_t *body = malloc(max), *msg = malloc(max + SEAL_OVERHEAD);
    uint8_t *out = malloc(max + 1);

    cr_assert(body && msg && out);
    randombytes_buf(body, max);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k], len = 0, outlen = 0;
        unsigned long long plen = 0;
        struct seal_header h;
        enum seal_drop why = SEAL_DROP_COUNT;

        cr_assert(eq(int,
                     seal_wrap(a, 3, NODE_B, t0 + k, body, n, msg,
                               n + SEAL_OVERHEAD, &len),
                     0));
        cr_assert(eq(sz, len, n + SEAL_OVERHEAD));
        /* libsodium opens what seal_wrap() made */
        cr_assert(
            eq(int,
               crypto_aead_xchacha20poly1305_ietf_decrypt(
                   out, &plen, NULL, msg + SEAL_HEADER_BYTES + SEAL_NONCE_BYTES,
                   n + SEAL_TAG_BYTES, msg, SEAL_HEADER_BYTES,
                   msg + SEAL_HEADER_BYTES, key.bytes),
               0),
            "size %zu: libsodium refused the message", n);
        cr_assert(eq(u64, plen, n));
        cr_assert(n == 0 || memcmp(out, body, n) == 0, "size %zu", n);
        /* seal_unwrap() opens what libsodium made (a fresh nonce) */
        randombytes_buf(msg + SEAL_HEADER_BYTES, SEAL_NONCE_BYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            msg + SEAL_HEADER_BYTES + SEAL_NONCE_BYTES, NULL, body, n, msg,
            SEAL_HEADER_BYTES, NULL, msg + SEAL_HEADER_BYTES, key.bytes);
        cr_assert(eq(int,
                     seal_unwrap(b, msg, len, t0 + k, &h, out, max + 1, &outlen,
                                 &why),
                     0),
                  "size %zu refused as %s", n, seal_drop_name(why));
        cr_assert(eq(sz, outlen, n));
        cr_assert(n == 0 || memcmp(out, body, n) == 0, "size %zu", n);
        if (n < 4096)
            continue;
        /* an altered byte of header, nonce, body or tag is refused */
        const size_t at[] = {8 /* the sender id */, SEAL_HEADER_BYTES,
                             SEAL_HEADER_BYTES + SEAL_NONCE_BYTES + n / 2,
                             len - 1};
        for (size_t j = 0; j < sizeof(at) / sizeof(at[0]); j++) {
            cr_assert(eq(int,
                         seal_wrap(a, 3, NODE_B, t0 + k, body, n, msg,
                                   n + SEAL_OVERHEAD, &len),
                         0));
            msg[at[j]] ^= 0x20;
            why = SEAL_DROP_COUNT;
            cr_assert(eq(int,
                         seal_unwrap(b, msg, len, t0 + k, &h, out, max + 1,
                                     &outlen, &why),
                         -EBADMSG),
                      "size %zu: byte %zu altered yet accepted", n, at[j]);
            cr_assert(eq(int, why, SEAL_DROP_AUTH));
            for (size_t i = 0; i < n; i += 4093)
                cr_assert(eq(u8, out[i], 0), "size %zu: body left at %zu", n,
                          i);
        }
    }
    free(body);
    free(msg);
    free(out);
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, wrong_key_fails_and_is_counted)
{
    seal_key_t key = test_key(3);
    seal_key_t other = test_key(4);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&other, NODE_B);
    struct sealed m = wrap(a, NODE_B, t0, "secret");
    enum seal_drop why;
    struct seal_header header;
    uint8_t out[64];
    size_t outlen = 0;

    memset(out, 0x55, sizeof(out));
    cr_assert(eq(int,
                 seal_unwrap(b, m.buf, m.len, t0, &header, out, sizeof(out),
                             &outlen, &why),
                 -EBADMSG));
    cr_assert(eq(int, why, SEAL_DROP_AUTH));
    cr_assert(eq(u64, dropped(b, SEAL_DROP_AUTH), 1));
    /* nothing of a refused body is left in the caller's buffer */
    for (size_t i = 0; i < 6; i++)
        cr_assert(eq(u8, out[i], 0), "out[%zu]", i);
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, replay_is_refused_once_accepted)
{
    seal_key_t key = test_key(5);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed m = wrap(a, NODE_B, t0, "ping");
    enum seal_drop why;

    cr_assert(eq(int, unwrap(b, &m, t0, NULL, NULL), 0));
    cr_assert(eq(int, unwrap(b, &m, t0, NULL, &why), -EALREADY));
    cr_assert(eq(int, why, SEAL_DROP_REPLAY));
    cr_assert(eq(int, unwrap(b, &m, t0 + 100, NULL, NULL), -EALREADY));
    cr_assert(eq(u64, dropped(b, SEAL_DROP_REPLAY), 2));
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, reordered_within_window_accepted_each_once)
{
    seal_key_t key = test_key(6);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    enum { N = 300 };
    static struct sealed m[N];

    for (int i = 0; i < N; i++)
        m[i] = wrap(a, NODE_B, t0, "x");
    /* newest first, then the rest backwards: all within the window */
    for (int i = N - 1; i >= 0; i--)
        cr_assert(eq(int, unwrap(b, &m[i], t0, NULL, NULL), 0), "msg %d", i);
    for (int i = 0; i < N; i++)
        cr_assert(eq(int, unwrap(b, &m[i], t0, NULL, NULL), -EALREADY),
                  "msg %d", i);
    seal_destroy(a);
    seal_destroy(b);
}

/* A stream frame sealed a little before a datagram that overtakes it is
 * still accepted: sequence numbers count messages, not milliseconds. */
Test(seal, sealed_ms_apart_and_reordered_accepted)
{
    seal_key_t key = test_key(12);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed frame = wrap(a, NODE_B, t0, "frame");
    struct sealed datagram = wrap(a, NODE_B, t0 + 50, "datagram");

    cr_assert(eq(int, unwrap(b, &datagram, t0 + 50, NULL, NULL), 0));
    cr_assert(eq(int, unwrap(b, &frame, t0 + 60, NULL, NULL), 0));
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, older_than_window_refused)
{
    seal_key_t key = test_key(7);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed first = wrap(a, NODE_B, t0, "first");
    struct sealed edge;
    enum seal_drop why;

    for (int i = 1; i < SEAL_WINDOW; i++) {
        struct sealed m = wrap(a, NODE_B, t0, "x");
        if (i == 1)
            edge = m;
        cr_assert(eq(int, unwrap(b, &m, t0, NULL, NULL), 0));
    }
    /* first is SEAL_WINDOW - 1 behind the top: still inside */
    cr_assert(eq(int, unwrap(b, &first, t0, NULL, NULL), 0));
    struct sealed next = wrap(a, NODE_B, t0, "x");
    cr_assert(eq(int, unwrap(b, &next, t0, NULL, NULL), 0));
    /* edge was accepted; now it is replayed (SEAL_WINDOW - 1 behind) */
    cr_assert(eq(int, unwrap(b, &edge, t0, NULL, &why), -EALREADY));
    /* a gap larger than the window pushes everything older out */
    struct sealed late = wrap(a, NODE_B, t0, "late");
    for (int i = 0; i < SEAL_WINDOW; i++) {
        struct sealed m = wrap(a, NODE_B, t0, "x");
        (void)m;
    }
    struct sealed newest = wrap(a, NODE_B, t0, "newest");
    cr_assert(eq(int, unwrap(b, &newest, t0, NULL, NULL), 0));
    cr_assert(eq(int, unwrap(b, &late, t0, NULL, &why), -ESTALE));
    cr_assert(eq(int, why, SEAL_DROP_OLD));
    cr_assert(eq(u64, dropped(b, SEAL_DROP_OLD), 1));
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, stale_and_future_timestamps_refused)
{
    seal_key_t key = test_key(8);
    struct seal_config config = {
        .key = &key, .node_id = NODE_B, .max_age_ms = 1000, .max_skew_ms = 500};
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = NULL;
    enum seal_drop why;

    cr_assert(eq(int, seal_create(&config, &b, NULL), 0));
    struct sealed old = wrap(a, NODE_B, t0, "old");
    cr_assert(eq(int, unwrap(b, &old, t0 + 1001, NULL, &why), -ESTALE));
    cr_assert(eq(int, why, SEAL_DROP_OLD));
    struct sealed ahead = wrap(a, NODE_B, t0 + 2000, "ahead");
    cr_assert(eq(int, unwrap(b, &ahead, t0 + 1499, NULL, &why), -ESTALE));
    cr_assert(eq(int, why, SEAL_DROP_FUTURE));
    /* within the bounds both ways */
    cr_assert(eq(int, unwrap(b, &ahead, t0 + 1500, NULL, NULL), 0));
    struct sealed fresh = wrap(a, NODE_B, t0 + 2001, "fresh");
    cr_assert(eq(int, unwrap(b, &fresh, t0 + 3001, NULL, NULL), 0));
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, restarted_sender_is_still_new)
{
    seal_key_t key = test_key(9);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);

    for (int i = 0; i < 50; i++) {
        struct sealed m = wrap(a, NODE_B, t0, "before");
        cr_assert(eq(int, unwrap(b, &m, t0, NULL, NULL), 0));
    }
    seal_destroy(a);
    a = make_seal(&key, NODE_A);
    struct sealed m = wrap(a, NODE_B, t0 + 1, "after restart");
    cr_assert(eq(int, unwrap(b, &m, t0 + 1, NULL, NULL), 0));
    seal_destroy(a);
    seal_destroy(b);
}

Test(seal, reflected_and_misdirected_refused)
{
    seal_key_t key = test_key(10);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    seal_t *c = make_seal(&key, NODE_C);
    struct sealed to_b = wrap(a, NODE_B, t0, "for b");
    enum seal_drop why;

    cr_assert(eq(int, unwrap(c, &to_b, t0, NULL, &why), -EXDEV));
    cr_assert(eq(int, why, SEAL_DROP_MISDIRECTED));
    cr_assert(eq(int, unwrap(a, &to_b, t0, NULL, &why), -EXDEV));
    cr_assert(eq(int, why, SEAL_DROP_REFLECTED));
    cr_assert(eq(int, unwrap(b, &to_b, t0, NULL, NULL), 0));
    seal_destroy(a);
    seal_destroy(b);
    seal_destroy(c);
}

Test(seal, too_many_peers_refused)
{
    seal_key_t key = test_key(11);
    struct seal_config config = {.key = &key, .node_id = 1, .max_peers = 3};
    seal_t *me = NULL;
    enum seal_drop why;

    cr_assert(eq(int, seal_create(&config, &me, NULL), 0));
    for (uint64_t id = 2; id <= 5; id++) {
        seal_t *peer = make_seal(&key, id);
        struct sealed m = wrap(peer, 1, t0, "hi");
        int rc = unwrap(me, &m, t0, NULL, &why);
        if (id <= 4)
            cr_assert(eq(int, rc, 0), "peer %llu", (unsigned long long)id);
        else
            cr_assert(eq(int, rc, -ENOSPC));
        seal_destroy(peer);
    }
    cr_assert(eq(int, why, SEAL_DROP_PEERS));
    seal_destroy(me);
}

Test(seal, many_peers_tracked_apart)
{
    seal_key_t key = test_key(12);
    seal_t *me = make_seal(&key, 1);
    enum { NPEERS = 200 };
    static struct sealed m[NPEERS];

    for (int i = 0; i < NPEERS; i++) {
        seal_t *peer = make_seal(&key, (uint64_t)i + 2);
        m[i] = wrap(peer, 1, t0, "hi");
        seal_destroy(peer);
    }
    for (int i = 0; i < NPEERS; i++)
        cr_assert(eq(int, unwrap(me, &m[i], t0, NULL, NULL), 0), "peer %d", i);
    for (int i = 0; i < NPEERS; i++)
        cr_assert(eq(int, unwrap(me, &m[i], t0, NULL, NULL), -EALREADY));
    seal_destroy(me);
}

Test(seal, short_input_and_small_buffers)
{
    seal_key_t key = test_key(13);
    seal_t *a = make_seal(&key, NODE_A);
    seal_t *b = make_seal(&key, NODE_B);
    struct sealed m = wrap(a, NODE_B, t0, "twelve bytes");
    struct seal_header header;
    uint8_t out[64];
    size_t outlen;
    enum seal_drop why;

    for (size_t len = 0; len < SEAL_OVERHEAD; len++) {
        cr_assert(eq(int,
                     seal_unwrap(b, m.buf, len, t0, &header, out, sizeof(out),
                                 &outlen, &why),
                     -EBADMSG));
        cr_assert(eq(int, why, SEAL_DROP_SHORT));
    }
    /* a truncated message long enough to parse fails its tag */
    cr_assert(eq(int,
                 seal_unwrap(b, m.buf, m.len - 1, t0, &header, out, sizeof(out),
                             &outlen, &why),
                 -EBADMSG));
    cr_assert(eq(int, why, SEAL_DROP_AUTH));
    cr_assert(eq(
        int, seal_unwrap(b, m.buf, m.len, t0, &header, out, 11, &outlen, &why),
        -EMSGSIZE));
    cr_assert(eq(
        int,
        seal_wrap(a, 1, NODE_B, t0, "abc", 3, out, SEAL_OVERHEAD + 2, &outlen),
        -EMSGSIZE));
    cr_assert(eq(str, (char *)seal_drop_name(SEAL_DROP_REPLAY), "replay"));
    cr_assert(eq(str, (char *)seal_drop_name(SEAL_DROP_COUNT), "unknown"));
    seal_destroy(a);
    seal_destroy(b);
}

/* Key text: what is accepted and what is not. */
struct key_case {
    char text[128];
    int rc;
};

ParameterizedTestParameters(seal, key_parse)
{
    static struct key_case cases[] = {
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0},
        {"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
         0},
        {"  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", 0},
        {"", -EINVAL},
        {"\n", -EINVAL},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
         -EINVAL},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
         -EINVAL},
        {"000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
         -EINVAL},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", -EINVAL},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=x", -EINVAL},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nAAAA", -EINVAL},
    };
    return cr_make_param_array(struct key_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct key_case *c, seal, key_parse)
{
    seal_key_t key;
    shoal_error_t err = {{0}};

    memset(&key, 0xee, sizeof(key));
    int rc = seal_key_parse(c->text, strlen(c->text), &key, &err);
    cr_assert(eq(int, rc, c->rc), "text '%s': %s", c->text, err.text);
    if (rc == 0) {
        for (int i = 0; i < SEAL_KEY_BYTES; i++)
            cr_assert(eq(u8, key.bytes[i], i), "text '%s' byte %d", c->text, i);
    } else {
        cr_assert(eq(u8, key.bytes[0], 0xee), "key changed on failure");
        cr_assert(eq(str, err.text,
                     "not a key: expected 64 hex digits or the base64 of 32 "
                     "bytes on one line"));
    }
}

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/shoal-seal-XXXXXX");

    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    return dir;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    cr_assert(not(eq(ptr, f, NULL)));
    fputs(text, f);
    fclose(f);
    cr_assert(eq(int, chmod(path, mode), 0));
}

Test(seal, key_file_written_0600_and_loaded)
{
    char *dir = temp_dir();
    char path[256];
    seal_key_t key, loaded;
    shoal_error_t err = {{0}};
    struct stat st;

    snprintf(path, sizeof(path), "%s/pool.key", dir);
    cr_assert(eq(int, seal_key_generate(&key), 0));
    cr_assert(eq(int, seal_key_write(path, &key, &err), 0), "%s", err.text);
    cr_assert(eq(int, stat(path, &st), 0));
    cr_assert(eq(u32, (unsigned)(st.st_mode & 07777), 0600));
    cr_assert(eq(i64, (long long)st.st_size, 65));
    cr_assert(eq(int, seal_key_load(path, &loaded, &err), 0), "%s", err.text);
    cr_assert(eq(int, memcmp(key.bytes, loaded.bytes, SEAL_KEY_BYTES), 0));

    /* never replaces an existing key */
    cr_assert(eq(int, seal_key_write(path, &key, &err), -EEXIST));
    char want[1024];
    snprintf(want, sizeof(want), "cannot create key file '%s': File exists",
             path);
    cr_assert(eq(str, err.text, want));
    cr_assert(eq(int, stat(path, &st), 0));

    /* 0400 is stricter, and fine */
    cr_assert(eq(int, chmod(path, 0400), 0));
    cr_assert(eq(int, seal_key_load(path, &loaded, NULL), 0));
    unlink(path);
    rmdir(dir);
    free(dir);
}

struct mode_case {
    mode_t mode;
    int rc;
};

ParameterizedTestParameters(seal, key_file_mode)
{
    static struct mode_case cases[] = {
        {0600, 0},      {0400, 0},      {0640, -EPERM}, {0604, -EPERM},
        {0644, -EPERM}, {0660, -EPERM}, {0602, -EPERM}, {0610, -EPERM},
    };
    return cr_make_param_array(struct mode_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct mode_case *c, seal, key_file_mode)
{
    char *dir = temp_dir();
    char path[256];
    char want[1024];
    seal_key_t key;
    shoal_error_t err = {{0}};

    snprintf(path, sizeof(path), "%s/k", dir);
    write_file(path,
               "000102030405060708090a0b0c0d0e0f"
               "101112131415161718191a1b1c1d1e1f\n",
               c->mode);
    int rc = seal_key_load(path, &key, &err);
    cr_assert(eq(int, rc, c->rc), "mode %04o: %s", (unsigned)c->mode, err.text);
    if (rc < 0) {
        snprintf(want, sizeof(want),
                 "key file '%s' is accessible by others (mode %04o); run "
                 "'chmod 600 %s'",
                 path, (unsigned)c->mode, path);
        cr_assert(eq(str, err.text, want));
    }
    unlink(path);
    rmdir(dir);
    free(dir);
}

Test(seal, key_file_errors_name_the_file)
{
    char *dir = temp_dir();
    char path[256];
    char want[1024];
    seal_key_t key;
    shoal_error_t err = {{0}};

    snprintf(path, sizeof(path), "%s/missing", dir);
    cr_assert(eq(int, seal_key_load(path, &key, &err), -ENOENT));
    snprintf(want, sizeof(want),
             "cannot open key file '%s': No such file or directory", path);
    cr_assert(eq(str, err.text, want));

    cr_assert(eq(int, seal_key_load(dir, &key, &err), -EINVAL));
    snprintf(want, sizeof(want), "key file '%s' is not a regular file", dir);
    cr_assert(eq(str, err.text, want));

    snprintf(path, sizeof(path), "%s/garbage", dir);
    write_file(path, "not a key\n", 0600);
    cr_assert(eq(int, seal_key_load(path, &key, &err), -EINVAL));
    snprintf(want, sizeof(want),
             "key file '%s': not a key: expected 64 hex digits or the base64 "
             "of 32 bytes on one line",
             path);
    cr_assert(eq(str, err.text, want));
    unlink(path);

    /* a huge file is refused without reading it all */
    char big[1024];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file(path, big, 0600);
    cr_assert(eq(int, seal_key_load(path, &key, &err), -EINVAL));
    snprintf(want, sizeof(want), "key file '%s' is too long for a key", path);
    cr_assert(eq(str, err.text, want));
    unlink(path);
    rmdir(dir);
    free(dir);
}

Test(seal, key_format_is_one_hex_line)
{
    seal_key_t key, back;
    char text[80];

    for (int i = 0; i < SEAL_KEY_BYTES; i++)
        key.bytes[i] = (uint8_t)(0xf0 + i);
    cr_assert(eq(int, seal_key_format(&key, text, 65), -ENOSPC));
    cr_assert(eq(int, seal_key_format(&key, text, sizeof(text)), 0));
    cr_assert(eq(sz, strlen(text), 65));
    cr_assert(eq(int, strncmp(text, "f0f1f2f3", 8), 0));
    cr_assert(eq(int, seal_key_parse(text, strlen(text), &back, NULL), 0));
    cr_assert(eq(int, memcmp(key.bytes, back.bytes, SEAL_KEY_BYTES), 0));
}

Test(seal, create_refuses_bad_config)
{
    seal_key_t key = test_key(14);
    struct seal_config config = {.key = &key, .node_id = 0};
    shoal_error_t err = {{0}};
    seal_t *seal = NULL;

    cr_assert(eq(int, seal_create(&config, &seal, &err), -EINVAL));
    cr_assert(eq(str, err.text, "a seal needs a key and a node id"));
    config.node_id = 1;
    config.key = NULL;
    cr_assert(eq(int, seal_create(&config, &seal, NULL), -EINVAL));
    cr_assert(eq(ptr, seal, NULL));
}
