/* SPDX-License-Identifier: MIT */
/* fuzz_ckpt_wire.c - libFuzzer target for the frames of checkpoint copies
 * between daemons (runtime/ckpt/ckpt_wire.h).
 *
 * The first byte of an input is the frame's seal type (any value: types
 * outside the service's must be refused), the rest its body, as a peer
 * daemon would send it. Whatever the decoder accepts must encode again to
 * the very same bytes, every have[] entry of a STATUS must be readable,
 * and the MANIFEST an OFFER carries goes through the parser the receiver
 * runs on it. Nothing may leak or read out of bounds (ASan), accepted or
 * refused. Seeds: tests/fuzz/seeds/ckpt/, one frame of each type. Built
 * by `./configure --enable-fuzzing && make fuzz`. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ckpt/ckpt_store.h"
#include "runtime/ckpt/ckpt_wire.h"

/* Encode m again and compare with the body it was decoded from. */
static void
fuzz_ckpt_again(const struct ckpt_msg *m, const uint8_t *body, size_t len)
{
    struct ckpt_msg copy = *m;
    uint64_t *have = NULL;
    uint8_t *buf;
    int n;

    if (m->type == CKPT_FRAME_STATUS && !m->whole) {
        have = calloc(m->nfiles + 1, sizeof(*have));
        if (!have)
            abort();
        for (uint32_t i = 0; i < m->nfiles; i++)
            have[i] = ckpt_wire_have(m, i);
        copy.have = have;
    }
    if (ckpt_wire_size(&copy) != len)
        abort();
    buf = malloc(len + 1);
    if (!buf)
        abort();
    n = ckpt_wire_encode(&copy, buf, len);
    if (n < 0 || (size_t)n != len || memcmp(buf, body, len) != 0)
        abort();
    /* one byte short never fits */
    if (ckpt_wire_encode(&copy, buf, len - 1) != -EMSGSIZE)
        abort();
    free(buf);
    free(have);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ckpt_msg m;

    if (size < 1)
        return 0;
    if (ckpt_wire_decode(data[0], data + 1, size - 1, &m) != 0)
        return 0;
    if (m.type < CKPT_FRAME_FIRST || m.type > CKPT_FRAME_LISTED
        || strcmp(ckpt_wire_name(m.type), "unknown") == 0)
        abort();
    fuzz_ckpt_again(&m, data + 1, size - 1);
    if (m.type == CKPT_FRAME_LISTED) {
        struct ckpt_wire_entry e;
        size_t off = 0;
        uint32_t n = 0;

        while (ckpt_wire_entry(&m, &off, &e) == 0) {
            if (ckpt_key_check(e.key, 0) != 0 || e.version < 1)
                abort();
            n++;
        }
        if (n != m.nentries || off != m.entries_len)
            abort();
    }
    if (m.type == CKPT_FRAME_OFFER) {
        struct ckpt_file *files = NULL;
        size_t n = 0;

        if (ckpt_manifest_parse(m.manifest, m.manifest_len, &files, &n) == 0)
            for (size_t i = 0; i < n; i++)
                if (ckpt_name_check(files[i].name) != 0)
                    abort();
        free(files);
    }
    return 0;
}
