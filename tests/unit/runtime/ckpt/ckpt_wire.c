/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_wire.h"

TestSuite(ckpt_wire, .timeout = 30);

static size_t roundtrip(const struct ckpt_msg *in,
                        struct ckpt_msg *out,
                        uint8_t *buf,
                        size_t cap)
{
    int n = ckpt_wire_encode(in, buf, cap);

    cr_assert(gt(int, n, 0), "encode %s: %d", ckpt_wire_name(in->type), n);
    cr_assert(eq(sz, (size_t)n, ckpt_wire_size(in)));
    cr_assert(eq(int, ckpt_wire_decode(in->type, buf, (size_t)n, out), 0),
              "decode %s", ckpt_wire_name(in->type));
    return (size_t)n;
}

Test(ckpt_wire, offer_and_pull_roundtrip)
{
    static const char manifest[] = "shoal-ckpt 1\n";
    struct ckpt_msg in = {.type = CKPT_FRAME_OFFER,
                          .xid = 0x0123456789abcdefULL,
                          .purpose = CKPT_PURPOSE_FETCH,
                          .version = 42,
                          .manifest = manifest,
                          .manifest_len = sizeof(manifest) - 1},
                    out;
    uint8_t buf[256];

    strcpy(in.key, "job/rank3");
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(u64, out.xid, in.xid));
    cr_expect(eq(u8, out.purpose, CKPT_PURPOSE_FETCH));
    cr_expect(eq(i32, out.version, 42));
    cr_expect(eq(str, out.key, "job/rank3"));
    cr_expect(eq(sz, out.manifest_len, in.manifest_len));
    cr_expect(zero(memcmp(out.manifest, manifest, out.manifest_len)));
    in.type = CKPT_FRAME_PULL;
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(str, out.key, "job/rank3"));
}

Test(ckpt_wire, offer_flags_are_an_optional_trailer)
{
    static const char manifest[] = "shoal-ckpt 1\n";
    struct ckpt_msg in = {.type = CKPT_FRAME_OFFER,
                          .xid = 7,
                          .purpose = CKPT_PURPOSE_REPLICATE,
                          .version = 3,
                          .manifest = manifest,
                          .manifest_len = sizeof(manifest) - 1},
                    out;
    uint8_t plain[256], flagged[256];
    size_t n, f;

    strcpy(in.key, "k");
    n = roundtrip(&in, &out, plain, sizeof(plain));
    cr_expect(eq(u8, out.flags, 0));
    in.flags = CKPT_OFFER_CHECKED;
    f = roundtrip(&in, &out, flagged, sizeof(flagged));
    cr_expect(eq(u8, out.flags, CKPT_OFFER_CHECKED));
    /* one byte more than the OFFER of before, which it starts with */
    in.flags = 0;
    n = roundtrip(&in, &out, plain, sizeof(plain));
    cr_expect(eq(sz, f, n + 1));
    cr_expect(zero(memcmp(plain, flagged, n)));
    /* a trailer of 0 (not canonical), an unknown flag, two bytes */
    flagged[f - 1] = 0;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_OFFER, flagged, f, &out),
                 SHOAL_EPROTO));
    flagged[f - 1] = 2;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_OFFER, flagged, f, &out),
                 SHOAL_EPROTO));
    flagged[f - 1] = CKPT_OFFER_CHECKED;
    flagged[f] = CKPT_OFFER_CHECKED;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_OFFER, flagged, f + 1, &out),
                 SHOAL_EPROTO));
    /* a flag the encoder does not know, or one on a PULL */
    in.flags = 4;
    cr_expect(
        eq(int, ckpt_wire_encode(&in, flagged, sizeof(flagged)), -EINVAL));
}

Test(ckpt_wire, status_chunk_ack_result_roundtrip)
{
    uint64_t have[3] = {0, 1ULL << 40, 7};
    uint8_t buf[CKPT_WIRE_CHUNK_HEAD + 16];
    struct ckpt_msg
        st = {.type = CKPT_FRAME_STATUS, .xid = 9, .nfiles = 3, .have = have},
        ch = {.type = CKPT_FRAME_CHUNK,
              .xid = 9,
              .file = 2,
              .offset = 100,
              .data = "0123456789",
              .len = 10},
        ack = {.type = CKPT_FRAME_ACK, .xid = 9, .file = 2, .end = 110},
        res = {.type = CKPT_FRAME_RESULT, .xid = 9, .code = -ENOSPC}, out;
    uint8_t big[256];

    roundtrip(&st, &out, big, sizeof(big));
    cr_expect(eq(u32, out.nfiles, 3));
    for (uint32_t i = 0; i < 3; i++)
        cr_expect(eq(u64, ckpt_wire_have(&out, i), have[i]));
    roundtrip(&ch, &out, buf, sizeof(buf));
    cr_expect(eq(u64, out.offset, 100));
    cr_expect(zero(memcmp(out.data, "0123456789", 10)));
    roundtrip(&ack, &out, buf, sizeof(buf));
    cr_expect(eq(u64, out.end, 110));
    strcpy(res.text, "no space left on device");
    roundtrip(&res, &out, big, sizeof(big));
    cr_expect(eq(i32, out.code, -ENOSPC));
    cr_expect(eq(str, out.text, "no space left on device"));
}

Test(ckpt_wire, refuses_truncated_trailing_and_out_of_bounds)
{
    struct ckpt_msg in = {.type = CKPT_FRAME_PULL, .xid = 1, .version = 3}, out;
    uint8_t buf[128];
    int n;

    strcpy(in.key, "a/b");
    n = ckpt_wire_encode(&in, buf, sizeof(buf));
    cr_assert(gt(int, n, 0));
    for (int cut = 0; cut < n; cut++)
        cr_expect(eq(int,
                     ckpt_wire_decode(CKPT_FRAME_PULL, buf, (size_t)cut, &out),
                     SHOAL_EPROTO),
                  "cut at %d", cut);
    buf[n] = 0;
    cr_expect(eq(int,
                 ckpt_wire_decode(CKPT_FRAME_PULL, buf, (size_t)n + 1, &out),
                 SHOAL_EPROTO));
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LAST, buf, (size_t)n, &out),
                 SHOAL_EPROTO));
    /* a key that escapes, forged in the frame */
    memcpy(buf + 1 + 8 + 4 + 2, "../", 3);
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_PULL, buf, (size_t)n, &out),
                 SHOAL_EPROTO));
    strcpy(in.key, "../x");
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    in.version = 0;
    strcpy(in.key, "a");
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    in.version = 1;
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, 4), -EMSGSIZE));
}

/* Random bytes of every type must never crash the decoder, and whatever
 * it accepts must encode back to the same bytes. */
Test(ckpt_wire, random_bytes_are_refused_or_roundtrip)
{
    uint8_t buf[512], again[1024];
    unsigned seed = 12345;
    int accepted = 0;

    for (int iter = 0; iter < 200000; iter++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
        uint8_t type = (uint8_t)(CKPT_FRAME_FIRST + rand_r(&seed) % 10);
        struct ckpt_msg m;

        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        if (len > 0 && rand_r(&seed) % 2)
            buf[0] = CKPT_WIRE_FORMAT;
        if (ckpt_wire_decode(type, buf, len, &m) == 0) {
            uint64_t have[CKPT_WIRE_FILES_MAX > 64 ? 64 : 1];
            int n;

            accepted++;
            if (m.type == CKPT_FRAME_STATUS && m.nfiles <= 64) {
                for (uint32_t i = 0; i < m.nfiles; i++)
                    have[i] = ckpt_wire_have(&m, i);
                m.have = have;
            }
            n = ckpt_wire_encode(&m, again, sizeof(again));
            cr_assert(eq(int, n, (int)len), "type %u", type);
            cr_assert(zero(memcmp(again, buf, len)));
        }
    }
    cr_log_info("%d of 200000 random frames decoded", accepted);
}

Test(ckpt_wire, forget_names_one_job_and_nothing_else)
{
    struct ckpt_msg in = {.type = CKPT_FRAME_FORGET}, out;
    uint8_t buf[128];
    int n;

    strcpy(in.key, "20261206T2301-ws3-4242");
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(str, out.key, "20261206T2301-ws3-4242"));
    /* a rank's key, or one that escapes, is not a job's */
    strcpy(in.key, "job/rank1");
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    strcpy(in.key, "job");
    n = ckpt_wire_encode(&in, buf, sizeof(buf));
    cr_assert(gt(int, n, 0));
    memcpy(buf + 1 + 8 + 2, "..", 2);
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_FORGET, buf, (size_t)n, &out),
                 SHOAL_EPROTO));
    memcpy(buf + 1 + 8 + 2, "a/", 2);
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_FORGET, buf, (size_t)n, &out),
                 SHOAL_EPROTO));
}

Test(ckpt_wire, list_and_listed_roundtrip)
{
    struct ckpt_wire_entry e[3] = {
        {.kind = CKPT_ENTRY_ORIGINAL,
         .version = 7,
         .bytes = 1ULL << 40,
         .files = 3,
         .committed = true},
        {.kind = CKPT_ENTRY_COPY, .version = 8, .bytes = 5, .files = 1},
        {.kind = CKPT_ENTRY_COPY, .version = 1, .committed = true},
    };
    struct ckpt_msg in = {.type = CKPT_FRAME_LIST, .xid = 77}, out;
    struct ckpt_wire_entry got;
    uint8_t buf[4096];
    size_t off = 0;

    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(str, out.key, ""), "an empty prefix lists all");
    strcpy(in.key, "job-1");
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(str, out.key, "job-1"));
    strcpy(e[0].key, "job-1/run0/rank0");
    strcpy(e[1].key, "job-1/rank1");
    strcpy(e[2].key, "17/rank3");
    in = (struct ckpt_msg){.type = CKPT_FRAME_LISTED,
                           .xid = 77,
                           .flags = CKPT_LISTED_MORE,
                           .entries = e,
                           .nentries = 3};
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(u64, out.xid, 77));
    cr_expect(eq(u8, out.flags, CKPT_LISTED_MORE));
    cr_assert(eq(u32, out.nentries, 3));
    for (int i = 0; i < 3; i++) {
        cr_assert(zero(ckpt_wire_entry(&out, &off, &got)), "entry %d", i);
        cr_expect(eq(u8, got.kind, e[i].kind), "entry %d", i);
        cr_expect(eq(i32, got.version, e[i].version), "entry %d", i);
        cr_expect(eq(u64, got.bytes, e[i].bytes), "entry %d", i);
        cr_expect(eq(u32, got.files, e[i].files), "entry %d", i);
        cr_expect(eq(int, got.committed, e[i].committed), "entry %d", i);
        cr_expect(eq(str, got.key, e[i].key), "entry %d", i);
    }
    cr_expect(eq(int, ckpt_wire_entry(&out, &off, &got), -ENOENT));
    /* a decoded LISTED encodes again to the same bytes */
    {
        uint8_t again[4096];
        int n = ckpt_wire_encode(&out, again, sizeof(again));

        cr_assert(eq(sz, (size_t)n, ckpt_wire_size(&in)));
        cr_expect(zero(memcmp(again, buf, (size_t)n)));
    }
    /* none, the last of a truncated list */
    in = (struct ckpt_msg){
        .type = CKPT_FRAME_LISTED, .xid = 78, .flags = CKPT_LISTED_TRUNCATED};
    roundtrip(&in, &out, buf, sizeof(buf));
    cr_expect(eq(u32, out.nentries, 0));
    cr_expect(eq(u8, out.flags, CKPT_LISTED_TRUNCATED));
    off = 0;
    cr_expect(eq(int, ckpt_wire_entry(&out, &off, &got), -ENOENT));
}

Test(ckpt_wire, listed_refuses_what_a_node_cannot_mean)
{
    struct ckpt_wire_entry e[2] = {
        {.kind = CKPT_ENTRY_COPY, .version = 2, .committed = true},
        {.kind = CKPT_ENTRY_ORIGINAL, .version = 3},
    };
    struct ckpt_msg in = {.type = CKPT_FRAME_LISTED,
                          .xid = 5,
                          .entries = e,
                          .nentries = 2},
                    out;
    uint8_t buf[1024], bad[1024];
    size_t first;
    int n;

    strcpy(e[0].key, "j/rank0");
    strcpy(e[1].key, "j/run1/rank0");
    n = ckpt_wire_encode(&in, buf, sizeof(buf));
    cr_assert(gt(int, n, 0));
    first = 1 + 8 + 1 + 2 + CKPT_WIRE_ENTRY_HEAD + strlen(e[0].key);
    /* every cut short is refused, and a byte more */
    for (int cut = 0; cut < n; cut++)
        cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, buf, cut, &out),
                     SHOAL_EPROTO),
                  "cut at %d of %d", cut, n);
    memcpy(bad, buf, n);
    bad[n] = 0;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n + 1, &out),
                 SHOAL_EPROTO));
    /* flags beyond those known */
    memcpy(bad, buf, n);
    bad[9] = 4;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    /* a count over the limit, and one over what the body holds */
    memcpy(bad, buf, n);
    bad[10] = 0;
    bad[11] = CKPT_WIRE_LIST_MAX + 1;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    bad[11] = 3;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    /* an unknown kind, version 0, committed 2 in the second entry */
    memcpy(bad, buf, n);
    bad[first] = 3;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    memcpy(bad, buf, n);
    memset(bad + first + 1, 0, 4);
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    memcpy(bad, buf, n);
    bad[first + 1 + 4 + 8 + 4] = 2;
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    /* a key that climbs out, or holds a control character */
    memcpy(bad, buf, n);
    memcpy(bad + first + CKPT_WIRE_ENTRY_HEAD, "..", 2);
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    memcpy(bad, buf, n);
    bad[first + CKPT_WIRE_ENTRY_HEAD + 1] = '\n';
    cr_expect(eq(int, ckpt_wire_decode(CKPT_FRAME_LISTED, bad, n, &out),
                 SHOAL_EPROTO));
    /* the unharmed frame still decodes */
    cr_expect(zero(ckpt_wire_decode(CKPT_FRAME_LISTED, buf, n, &out)));
    /* nor is any of it encoded */
    e[1].version = 0;
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    e[1].version = 3;
    strcpy(e[1].key, "../x");
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    strcpy(e[1].key, "j/rank0");
    in.nentries = CKPT_WIRE_LIST_MAX + 1;
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
    in.nentries = 2;
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, 20), -EMSGSIZE));
    /* a LIST's prefix is checked too */
    in = (struct ckpt_msg){.type = CKPT_FRAME_LIST};
    strcpy(in.key, "a/../b");
    cr_expect(eq(int, ckpt_wire_encode(&in, buf, sizeof(buf)), -EINVAL));
}
