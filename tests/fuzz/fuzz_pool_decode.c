/* SPDX-License-Identifier: MIT */
/* fuzz_pool_decode.c - libFuzzer target for the pool's other decoders.
 *
 * The first byte of an input picks what reads the rest: a node's record
 * (the membership payload), a core-claim message, a gang job frame, or the
 * control socket's framing and JSON. Whatever a decoder accepts must encode
 * again to the very same bytes (job frames, claims) or to a record that
 * decodes the same (node summaries), and a refusal must leave nothing to
 * free. Built by `./configure --enable-fuzzing && make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtime/control.h"
#include "runtime/job_wire.h"
#include "runtime/node_summary.h"
#include "scheduler/claim_wire.h"

static void fuzz_node_summary(const uint8_t *data, size_t size)
{
    struct node_summary a, b;
    uint8_t buf[2048];
    size_t len;

    if (node_summary_decode(data, size, &a, NULL) != 0)
        return;
    if (node_summary_encode(&a, buf, sizeof(buf), &len) != 0
        || node_summary_decode(buf, len, &b, NULL) != 0
        || memcmp(&a, &b, sizeof(a)) != 0)
        abort();
}

static void fuzz_claim(const uint8_t *data, size_t size)
{
    struct claim_msg msg;
    uint8_t buf[65536];
    size_t len;

    if (claim_wire_decode(data, size, &msg, NULL) != 0)
        return;
    if (claim_wire_encode(&msg, buf, sizeof(buf), &len) != 0 || len != size
        || memcmp(buf, data, size) != 0)
        abort();
    claim_msg_release(&msg);
}

static void fuzz_job_frame(const uint8_t *data, size_t size)
{
    struct job_frame f;
    uint8_t *again = NULL;
    size_t len;

    if (job_frame_decode(data, size, &f, NULL) != 0)
        return;
    if (job_frame_encode(&f, &again, &len) != 0 || len != size
        || memcmp(again, data, size) != 0)
        abort();
    free(again);
    job_frame_release(&f);
}

static void fuzz_control(const uint8_t *data, size_t size)
{
    size_t off = 0, body_len;

    while (control_frame_next(data + off, size - off, &body_len) == 1) {
        const uint8_t *body = data + off + 4;
        json_t *obj = NULL;
        if (body_len > size - off - 4)
            abort();
        if (body[0] == CONTROL_KIND_JSON
            && control_frame_decode_json(body, body_len, &obj, NULL) == 0) {
            if (!json_is_object(obj))
                abort();
            json_decref(obj);
        }
        off += 4 + body_len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        fuzz_node_summary(data + 1, size - 1);
        break;
    case 1:
        fuzz_claim(data + 1, size - 1);
        break;
    case 2:
        fuzz_job_frame(data + 1, size - 1);
        break;
    default:
        fuzz_control(data + 1, size - 1);
        break;
    }
    return 0;
}
