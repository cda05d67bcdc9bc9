/* SPDX-License-Identifier: MIT */
/* fuzz_pool_decode.c - libFuzzer target for the pool's other decoders.
 *
 * The first byte of an input picks what reads the rest (enum fuzz_kind,
 * modulo its count): a node's record (the membership payload), a
 * core-claim message, a gang job frame, the control socket's framing and
 * JSON, a bag-of-tasks frame body between daemons (PULL, RENEW and
 * RENEWED leases, RESULT, GRANT, CANCEL, FETCH, FETCHED, RESULT_ACK), the
 * base64 a task's output travels in, the numbers of task frames to
 * encode, or a user claim (the "user" of a GRANT's job description and of
 * a relayed LAUNCH: runtime/daemon/usercred.h).
 *
 * Whatever a decoder accepts must encode again to the very same bytes (job
 * frames, claims) or to bytes that decode to the same values (node
 * summaries; task frames, every field, and a GRANT's commands and job
 * descriptions; base64 both ways). A GRANT must keep what its decoder
 * promises the worker, numbers anywhere in a decoder's range must survive
 * their encoder, and nothing may leak (ASan's leak check), accepted or
 * refused. Seeds: tests/fuzz/seeds/pool/. Built by `./configure
 * --enable-fuzzing && make fuzz`. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/usercred.h"
#include "runtime/job/job_wire.h"
#include "runtime/member/node_summary.h"
#include "runtime/tasks/task_wire.h"
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

/* The bag-of-tasks frames: a decoded body encodes again to a body that
 * decodes to the same values (the JSON text itself may differ). */
static bool fuzz_same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool fuzz_same_leases(const struct journal_lease *a,
                             const struct journal_lease *b,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].job != b[i].job || a[i].task != b[i].task
            || a[i].attempt != b[i].attempt || a[i].token != b[i].token
            || a[i].cores != b[i].cores || a[i].expires != b[i].expires)
            return false;
    return true;
}

static void fuzz_task_pull(const uint8_t *data, size_t size)
{
    struct task_wire_pull a, b;
    size_t len;
    char *text;

    if (task_wire_pull_decode(data, size, &a) != 0)
        return;
    text = task_wire_pull_encode(&a, &len);
    if (!text || task_wire_pull_decode(text, len, &b) != 0
        || a.free_cores != b.free_cores || a.want != b.want
        || a.speed != b.speed)
        abort();
    free(text);
}

static void fuzz_task_leases(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"leases", "lost"};

    for (size_t k = 0; k < 2; k++) {
        struct journal_lease *a, *b;
        size_t na, nb, len;
        char *text;

        if (task_wire_leases_decode(data, size, keys[k], &a, &na) != 0)
            continue;
        text = task_wire_leases_encode(keys[k], a, na, &len);
        if (!text || task_wire_leases_decode(text, len, keys[k], &b, &nb) != 0
            || na != nb || !fuzz_same_leases(a, b, na))
            abort();
        free(text);
        free(a);
        free(b);
    }
}

static void fuzz_task_results(const uint8_t *data, size_t size)
{
    struct journal_result *a, *b;
    json_t *doc_a, *doc_b;
    size_t na, nb, len;
    char *text;

    if (task_wire_results_decode(data, size, &doc_a, &a, &na) != 0)
        return;
    text = task_wire_results_encode(a, na, &len);
    if (!text || task_wire_results_decode(text, len, &doc_b, &b, &nb) != 0
        || na != nb)
        abort();
    for (size_t i = 0; i < na; i++)
        if (a[i].job != b[i].job || a[i].task != b[i].task
            || a[i].attempt != b[i].attempt || a[i].token != b[i].token
            || a[i].node != b[i].node || a[i].start != b[i].start
            || a[i].end != b[i].end || a[i].status != b[i].status
            || !fuzz_same_str(a[i].reason, b[i].reason)
            || !fuzz_same_str(a[i].out_path, b[i].out_path)
            || !fuzz_same_str(a[i].err_path, b[i].err_path)
            || !fuzz_same_str(a[i].err_tail, b[i].err_tail))
            abort();
    free(text);
    free(a);
    free(b);
    json_decref(doc_a);
    json_decref(doc_b);
}

/* What a GRANT's decoder promises the worker: every lease has a non-empty
 * argv of strings, and its job a DESC with env strings and an absolute
 * wdir. */
static void
fuzz_grant_check(json_t *doc, const struct journal_lease *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *argv = task_wire_grant_argv(doc, i), *v;
        json_t *desc = task_wire_grant_desc(doc, l[i].job);
        const char *wdir = json_string_value(json_object_get(desc, "wdir"));
        size_t j;

        if (!json_is_array(argv) || json_array_size(argv) == 0 || !wdir
            || wdir[0] != '/' || !json_is_array(json_object_get(desc, "env")))
            abort();
        json_array_foreach (argv, j, v) {
            if (!json_is_string(v))
                abort();
        }
        json_array_foreach (json_object_get(desc, "env"), j, v) {
            if (!json_is_string(v))
                abort();
        }
    }
}

static void fuzz_task_grant(const uint8_t *data, size_t size)
{
    struct journal_lease *a, *b;
    json_t *doc_a, *doc_b, **argvs;
    size_t na, nb, len;
    char *text;

    if (task_wire_grant_decode(data, size, &doc_a, &a, &na) != 0)
        return;
    fuzz_grant_check(doc_a, a, na);
    argvs = calloc(na + 1, sizeof(*argvs));
    if (!argvs)
        abort();
    for (size_t i = 0; i < na; i++)
        argvs[i] = task_wire_grant_argv(doc_a, i);
    text = task_wire_grant_encode(json_object_get(doc_a, "jobs"), a, argvs, na,
                                  &len);
    if (!text || task_wire_grant_decode(text, len, &doc_b, &b, &nb) != 0
        || na != nb || !fuzz_same_leases(a, b, na))
        abort();
    fuzz_grant_check(doc_b, b, nb);
    for (size_t i = 0; i < na; i++)
        if (!json_equal(task_wire_grant_argv(doc_b, i), argvs[i])
            || !json_equal(task_wire_grant_desc(doc_b, b[i].job),
                           task_wire_grant_desc(doc_a, a[i].job)))
            abort();
    free(text);
    free(argvs);
    free(a);
    free(b);
    json_decref(doc_a);
    json_decref(doc_b);
}

static void fuzz_task_acks(const uint8_t *data, size_t size)
{
    struct task_wire_ack *a, *b;
    size_t na, nb, len;
    char *text;

    if (task_wire_acks_decode(data, size, &a, &na) != 0)
        return;
    text = task_wire_acks_encode(a, na, &len);
    if (!text || task_wire_acks_decode(text, len, &b, &nb) != 0 || nb != na)
        abort();
    for (size_t i = 0; i < na; i++)
        if (a[i].job != b[i].job || a[i].task != b[i].task
            || a[i].attempt != b[i].attempt || a[i].recorded != b[i].recorded)
            abort();
    free(text);
    free(a);
    free(b);
}

static void fuzz_task_job(const uint8_t *data, size_t size)
{
    uint64_t a, b;
    size_t len;
    char *text;

    if (task_wire_job_decode(data, size, &a) != 0)
        return;
    text = task_wire_job_encode(a, &len);
    if (!text || task_wire_job_decode(text, len, &b) != 0 || a != b)
        abort();
    free(text);
}

/* Base64 both ways: any bytes survive encode -> decode, and text that
 * decodes encodes again to text that decodes to the same bytes. */
static void fuzz_task_b64(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *enc, *a = NULL, *b = NULL;
    size_t na, nb;

    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    enc = task_wire_b64_encode(data, size);
    if (!enc || strlen(enc) != (size + 2) / 3 * 4
        || task_wire_b64_decode(enc, &a, &na) != 0 || na != size
        || memcmp(a, data, size) != 0 || a[na] != '\0')
        abort();
    free(enc);
    free(a);
    if (task_wire_b64_decode(text, &a, &na) == 0) {
        enc = task_wire_b64_encode(a, na);
        if (!enc || task_wire_b64_decode(enc, &b, &nb) != 0 || na != nb
            || memcmp(a, b, na) != 0 || a[na] != '\0')
            abort();
        free(enc);
        free(a);
        free(b);
    }
    free(text);
}

static void fuzz_task_fetch(const uint8_t *data, size_t size)
{
    struct task_wire_fetch a, b;
    json_t *doc_a, *doc_b;
    size_t len;
    char *text;

    if (task_wire_fetch_decode(data, size, &doc_a, &a) != 0)
        return;
    text = task_wire_fetch_encode(&a, &len);
    if (!text || task_wire_fetch_decode(text, len, &doc_b, &b) != 0
        || a.req != b.req || a.req == 0
        || !fuzz_same_str(a.out_path, b.out_path)
        || !fuzz_same_str(a.err_path, b.err_path)
        || !fuzz_same_str(a.counters_path, b.counters_path))
        abort();
    free(text);
    json_decref(doc_a);
    json_decref(doc_b);
}

static void fuzz_task_fetched(const uint8_t *data, size_t size)
{
    struct task_wire_fetched a, b;
    json_t *doc_a, *doc_b;
    size_t len;
    char *text;

    if (task_wire_fetched_decode(data, size, &doc_a, &a) != 0)
        return;
    if (a.req == 0 || !a.out != !a.err || (a.out && a.error)
        || (a.counters && !a.out))
        abort();
    text = task_wire_fetched_encode(&a, &len);
    if (!text || task_wire_fetched_decode(text, len, &doc_b, &b) != 0
        || a.req != b.req || !fuzz_same_str(a.out, b.out)
        || !fuzz_same_str(a.err, b.err) || !fuzz_same_str(a.error, b.error)
        || !fuzz_same_str(a.counters, b.counters))
        abort();
    free(text);
    json_decref(doc_a);
    json_decref(doc_b);
}

/* The other way round: the numbers of a lease, a result, a PULL, a
 * CANCEL and a FETCH taken from the input bytes, anywhere in the range
 * their decoder accepts, must come back from their encoder's body. */
static uint64_t fuzz_take(const uint8_t **data, size_t *size)
{
    uint64_t v = 0;

    for (int i = 0; i < 8 && *size > 0; i++, (*data)++, (*size)--)
        v = v << 8 | **data;
    return v;
}

static double fuzz_take_double(const uint8_t **data, size_t *size)
{
    uint64_t bits = fuzz_take(data, size);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return isfinite(d) ? d : 0; /* JSON has no NaN nor infinity */
}

static void fuzz_task_values(const uint8_t *data, size_t size)
{
    struct journal_lease l, *lb;
    struct journal_result r = {0}, *rb;
    struct task_wire_pull p, pb;
    struct task_wire_fetch f, fb;
    uint64_t job, jb;
    json_t *doc;
    size_t len, n;
    char *text;

    l = (struct journal_lease){
        .job = fuzz_take(&data, &size),
        .task = fuzz_take(&data, &size),
        .attempt = (uint32_t)fuzz_take(&data, &size),
        .token = fuzz_take(&data, &size),
        .cores = (int)(fuzz_take(&data, &size) % (1 << 20)) + 1,
        .expires = fuzz_take_double(&data, &size)};
    l.attempt += l.attempt == 0;
    text = task_wire_leases_encode("leases", &l, 1, &len);
    if (!text || task_wire_leases_decode(text, len, "leases", &lb, &n) != 0
        || n != 1 || !fuzz_same_leases(&l, lb, 1))
        abort();
    free(text);
    free(lb);

    r.job = l.job;
    r.task = l.task;
    r.attempt = l.attempt;
    r.token = l.token;
    r.node = fuzz_take(&data, &size);
    r.start = l.expires;
    r.end = fuzz_take_double(&data, &size);
    r.status = (int)(fuzz_take(&data, &size) % 65536);
    text = task_wire_results_encode(&r, 1, &len);
    if (!text || task_wire_results_decode(text, len, &doc, &rb, &n) != 0
        || n != 1 || rb->job != r.job || rb->task != r.task
        || rb->attempt != r.attempt || rb->token != r.token
        || rb->node != r.node || rb->start != r.start || rb->end != r.end
        || rb->status != r.status)
        abort();
    free(text);
    free(rb);
    json_decref(doc);

    p.free_cores = (int)(fuzz_take(&data, &size) % ((1 << 20) + 1));
    p.want = (int)(fuzz_take(&data, &size) % ((1 << 20) + 1));
    p.speed = (int)(fuzz_take(&data, &size) % (1 << 30)) + 1;
    text = task_wire_pull_encode(&p, &len);
    if (!text || task_wire_pull_decode(text, len, &pb) != 0
        || pb.free_cores != p.free_cores || pb.want != p.want
        || pb.speed != p.speed)
        abort();
    free(text);

    job = fuzz_take(&data, &size);
    text = task_wire_job_encode(job, &len);
    if (!text || task_wire_job_decode(text, len, &jb) != 0 || jb != job)
        abort();
    free(text);

    f = (struct task_wire_fetch){.req = fuzz_take(&data, &size) % INT64_MAX + 1,
                                 .out_path = "/o",
                                 .err_path = "/e"};
    text = task_wire_fetch_encode(&f, &len);
    if (!text || task_wire_fetch_decode(text, len, &doc, &fb) != 0
        || fb.req != f.req)
        abort();
    free(text);
    json_decref(doc);
}

/* The first byte's value modulo FUZZ_KINDS (a seed's first byte is the
 * value itself: 4 for a PULL, ..., 12 for numbers to encode). */
enum fuzz_kind {
    FUZZ_NODE_SUMMARY,
    FUZZ_CLAIM,
    FUZZ_JOB_FRAME,
    FUZZ_CONTROL,
    FUZZ_TASK_PULL,
    FUZZ_TASK_LEASES,
    FUZZ_TASK_RESULTS,
    FUZZ_TASK_GRANT,
    FUZZ_TASK_JOB,
    FUZZ_TASK_B64,
    FUZZ_TASK_FETCH,
    FUZZ_TASK_FETCHED,
    FUZZ_TASK_VALUES,
    FUZZ_TASK_ACKS,
    FUZZ_USER_CLAIM,
    FUZZ_KINDS
};

/* A claim the decoder accepts packs to a claim that decodes the same. */
static void fuzz_user_claim(const uint8_t *data, size_t size)
{
    json_t *o = json_loadb((const char *)data, size, 0, NULL);
    struct usercred_claim a, b;
    json_t *again;

    if (usercred_claim_unpack(o, &a, NULL) != 0) {
        json_decref(o);
        return;
    }
    again = usercred_claim_pack(&a);
    if (!again || usercred_claim_unpack(again, &b, NULL) != 0 || a.uid != b.uid
        || a.gid != b.gid || a.scheme != b.scheme
        || (a.cred == NULL) != (b.cred == NULL)
        || (a.cred && strcmp(a.cred, b.cred) != 0))
        abort();
    usercred_claim_release(&a);
    usercred_claim_release(&b);
    json_decref(again);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum fuzz_kind kind;

    if (size < 1)
        return 0;
    kind = (enum fuzz_kind)(data[0] % FUZZ_KINDS);
    data++;
    size--;
    switch (kind) {
    case FUZZ_USER_CLAIM:
        fuzz_user_claim(data, size);
        break;
    case FUZZ_NODE_SUMMARY:
        fuzz_node_summary(data, size);
        break;
    case FUZZ_CLAIM:
        fuzz_claim(data, size);
        break;
    case FUZZ_JOB_FRAME:
        fuzz_job_frame(data, size);
        break;
    case FUZZ_CONTROL:
        fuzz_control(data, size);
        break;
    case FUZZ_TASK_PULL:
        fuzz_task_pull(data, size);
        break;
    case FUZZ_TASK_LEASES:
        fuzz_task_leases(data, size);
        break;
    case FUZZ_TASK_RESULTS:
        fuzz_task_results(data, size);
        break;
    case FUZZ_TASK_GRANT:
        fuzz_task_grant(data, size);
        break;
    case FUZZ_TASK_JOB:
        fuzz_task_job(data, size);
        break;
    case FUZZ_TASK_B64:
        fuzz_task_b64(data, size);
        break;
    case FUZZ_TASK_FETCH:
        fuzz_task_fetch(data, size);
        break;
    case FUZZ_TASK_FETCHED:
        fuzz_task_fetched(data, size);
        break;
    case FUZZ_TASK_VALUES:
        fuzz_task_values(data, size);
        break;
    case FUZZ_TASK_ACKS:
        fuzz_task_acks(data, size);
        break;
    case FUZZ_KINDS:
        break;
    }
    return 0;
}
