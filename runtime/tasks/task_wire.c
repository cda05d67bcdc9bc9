/* SPDX-License-Identifier: MIT */
/* task_wire.c - bag-of-tasks frame bodies to and from JSON. */
#include "runtime/tasks/task_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *task_wire_dump(json_t *o, size_t *len)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (text)
        *len = strlen(text);
    return text;
}

static json_t *task_wire_u64(uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    return json_string(text);
}

static int task_wire_get_u64(const json_t *o, const char *key, uint64_t *v)
{
    const char *s = json_string_value(json_object_get(o, key));
    char *end;

    /* digits only: strtoull alone would take " -1" for UINT64_MAX */
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return *end || errno ? -1 : 0;
}

static int task_wire_get_int(const json_t *o,
                             const char *key,
                             json_int_t min,
                             json_int_t max,
                             json_int_t *v)
{
    json_t *j = json_object_get(o, key);

    if (!json_is_integer(j))
        return -1;
    *v = json_integer_value(j);
    return *v < min || *v > max ? -1 : 0;
}

char *task_wire_pull_encode(const struct task_wire_pull *m, size_t *len)
{
    return task_wire_dump(json_pack("{s:i, s:i, s:i}", "free", m->free_cores,
                                    "want", m->want, "speed", m->speed),
                          len);
}

int task_wire_pull_decode(const void *body,
                          size_t len,
                          struct task_wire_pull *m)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    json_int_t f, w, s;
    int rc = SHOAL_EPROTO;

    if (o && task_wire_get_int(o, "free", 0, 1 << 20, &f) == 0
        && task_wire_get_int(o, "want", 0, 1 << 20, &w) == 0
        && task_wire_get_int(o, "speed", 1, 1 << 30, &s) == 0) {
        *m = (struct task_wire_pull){(int)f, (int)w, (int)s};
        rc = 0;
    }
    json_decref(o);
    return rc;
}

char *task_wire_leases_encode(const char *key,
                              const struct journal_lease *leases,
                              size_t n,
                              size_t *len)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        const struct journal_lease *l = &leases[i];

        json_t *o = json_pack(
            "{s:o, s:o, s:I, s:o, s:i, s:f}", "job", task_wire_u64(l->job),
            "task", task_wire_u64(l->task), "attempt", (json_int_t)l->attempt,
            "token", task_wire_u64(l->token), "cores", l->cores, "expires",
            l->expires);

        if (o && l->started > 0)
            json_object_set_new(o, "started", json_real(l->started));
        json_array_append_new(a, o);
    }
    return task_wire_dump(json_pack("{s:o}", key, a), len);
}

/* Parse body as an object holding an array under key, and allocate a
 * zeroed entry of elem bytes per element (one more, so that an empty array
 * allocates too). Returns 0 with *doc, *array and *out set, or
 * SHOAL_EPROTO or -ENOMEM with nothing to free. */
static int task_wire_array_open(const void *body,
                                size_t len,
                                const char *key,
                                size_t elem,
                                json_t **doc,
                                json_t **array,
                                void **out)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    json_t *a = json_object_get(o, key);

    if (!json_is_array(a)) {
        json_decref(o);
        return SHOAL_EPROTO;
    }
    *out = calloc(json_array_size(a) + 1, elem);
    if (!*out) {
        json_decref(o);
        return -ENOMEM;
    }
    *doc = o;
    *array = a;
    return 0;
}

static int task_wire_lease(const json_t *o, struct journal_lease *l)
{
    json_int_t attempt, cores;
    json_t *exp = json_object_get(o, "expires");
    json_t *started = json_object_get(o, "started");

    if (task_wire_get_u64(o, "job", &l->job) < 0
        || task_wire_get_u64(o, "task", &l->task) < 0
        || task_wire_get_u64(o, "token", &l->token) < 0
        || task_wire_get_int(o, "attempt", 1, UINT32_MAX, &attempt) < 0
        || task_wire_get_int(o, "cores", 1, 1 << 20, &cores) < 0
        || !json_is_number(exp) || (started && !json_is_number(started)))
        return -1;
    l->attempt = (uint32_t)attempt;
    l->cores = (int)cores;
    l->expires = json_number_value(exp);
    /* absent (a grant, or a task still waiting for cores) or nonsense: not
     * started */
    l->started = started && json_number_value(started) > 0
                     ? json_number_value(started)
                     : 0;
    return 0;
}

int task_wire_leases_decode(const void *body,
                            size_t len,
                            const char *key,
                            struct journal_lease **leases,
                            size_t *n)
{
    json_t *o, *a, *v;
    struct journal_lease *out;
    void *mem;
    size_t i;
    int rc = task_wire_array_open(body, len, key, sizeof(*out), &o, &a, &mem);

    if (rc < 0)
        return rc;
    out = mem;
    json_array_foreach (a, i, v) {
        if (task_wire_lease(v, &out[i]) < 0) {
            free(out);
            json_decref(o);
            return SHOAL_EPROTO;
        }
    }
    *n = json_array_size(a);
    *leases = out;
    json_decref(o);
    return 0;
}

static void task_wire_opt(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
}

char *task_wire_results_encode(const struct journal_result *results,
                               size_t n,
                               size_t *len)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        const struct journal_result *r = &results[i];
        json_t *o =
            json_pack("{s:o, s:o, s:I, s:o, s:o, s:f, s:f, s:i}", "job",
                      task_wire_u64(r->job), "task", task_wire_u64(r->task),
                      "attempt", (json_int_t)r->attempt, "token",
                      task_wire_u64(r->token), "node", task_wire_u64(r->node),
                      "start", r->start, "end", r->end, "status", r->status);

        task_wire_opt(o, "reason", r->reason);
        task_wire_opt(o, "stdout", r->out_path);
        task_wire_opt(o, "stderr", r->err_path);
        task_wire_opt(o, "stderr_tail", r->err_tail);
        if (r->vacated)
            json_object_set_new(o, "vacated", json_true());
        json_array_append_new(a, o);
    }
    return task_wire_dump(json_pack("{s:o}", "results", a), len);
}

int task_wire_results_decode(const void *body,
                             size_t len,
                             json_t **doc,
                             struct journal_result **results,
                             size_t *n)
{
    json_t *o, *a, *v;
    struct journal_result *out;
    void *mem;
    size_t i;
    int rc =
        task_wire_array_open(body, len, "results", sizeof(*out), &o, &a, &mem);

    if (rc < 0)
        return rc;
    out = mem;
    json_array_foreach (a, i, v) {
        struct journal_result *r = &out[i];
        json_int_t attempt, status;
        json_t *start = json_object_get(v, "start");
        json_t *end = json_object_get(v, "end");

        if (task_wire_get_u64(v, "job", &r->job) < 0
            || task_wire_get_u64(v, "task", &r->task) < 0
            || task_wire_get_u64(v, "token", &r->token) < 0
            || task_wire_get_u64(v, "node", &r->node) < 0
            || task_wire_get_int(v, "attempt", 1, UINT32_MAX, &attempt) < 0
            || task_wire_get_int(v, "status", 0, 65535, &status) < 0
            || !json_is_number(start) || !json_is_number(end)
            || (json_object_get(v, "vacated")
                && !json_is_boolean(json_object_get(v, "vacated")))) {
            free(out);
            json_decref(o);
            return SHOAL_EPROTO;
        }
        r->attempt = (uint32_t)attempt;
        r->status = (int)status;
        r->start = json_number_value(start);
        r->end = json_number_value(end);
        r->reason = json_string_value(json_object_get(v, "reason"));
        r->out_path = json_string_value(json_object_get(v, "stdout"));
        r->err_path = json_string_value(json_object_get(v, "stderr"));
        r->err_tail = json_string_value(json_object_get(v, "stderr_tail"));
        r->vacated = json_is_true(json_object_get(v, "vacated"));
    }
    *n = json_array_size(a);
    *results = out;
    *doc = o;
    return 0;
}

char *
task_wire_acks_encode(const struct task_wire_ack *acks, size_t n, size_t *len)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(
            a, json_pack(
                   "{s:o, s:o, s:I, s:b}", "job", task_wire_u64(acks[i].job),
                   "task", task_wire_u64(acks[i].task), "attempt",
                   (json_int_t)acks[i].attempt, "recorded", acks[i].recorded));
    return task_wire_dump(json_pack("{s:o}", "acks", a), len);
}

int task_wire_acks_decode(const void *body,
                          size_t len,
                          struct task_wire_ack **acks,
                          size_t *n)
{
    json_t *o, *a, *v;
    struct task_wire_ack *out;
    void *mem;
    size_t i;
    int rc =
        task_wire_array_open(body, len, "acks", sizeof(*out), &o, &a, &mem);

    if (rc < 0)
        return rc;
    out = mem;
    json_array_foreach (a, i, v) {
        json_t *recorded = json_object_get(v, "recorded");
        json_int_t attempt;

        if (task_wire_get_u64(v, "job", &out[i].job) < 0
            || task_wire_get_u64(v, "task", &out[i].task) < 0
            || task_wire_get_int(v, "attempt", 1, UINT32_MAX, &attempt) < 0
            || !json_is_boolean(recorded)) {
            free(out);
            json_decref(o);
            return SHOAL_EPROTO;
        }
        out[i].attempt = (uint32_t)attempt;
        out[i].recorded = json_is_true(recorded);
    }
    *n = json_array_size(a);
    *acks = out;
    json_decref(o);
    return 0;
}

char *task_wire_grant_encode(json_t *jobs,
                             const struct journal_lease *leases,
                             json_t *const *argvs,
                             size_t n,
                             size_t *len)
{
    char *text = task_wire_leases_encode("leases", leases, n, len);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    json_t *a = json_object_get(o, "leases");

    free(text);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++)
        json_object_set(json_array_get(a, i), "argv", argvs[i]);
    json_object_set(o, "jobs", jobs);
    return task_wire_dump(o, len);
}

char *task_wire_job_encode(uint64_t job, size_t *len)
{
    return task_wire_dump(json_pack("{s:o}", "job", task_wire_u64(job)), len);
}

int task_wire_job_decode(const void *body, size_t len, uint64_t *job)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    int rc = o && task_wire_get_u64(o, "job", job) == 0 ? 0 : SHOAL_EPROTO;

    json_decref(o);
    return rc;
}

static bool task_wire_strings(const json_t *a, bool nonempty)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || (nonempty && json_array_size(a) == 0))
        return false;
    json_array_foreach (a, i, v) {
        if (!json_is_string(v))
            return false;
    }
    return true;
}

json_t *task_wire_grant_argv(json_t *doc, size_t i)
{
    return json_object_get(json_array_get(json_object_get(doc, "leases"), i),
                           "argv");
}

json_t *task_wire_grant_desc(json_t *doc, uint64_t job)
{
    char key[24];

    snprintf(key, sizeof(key), "%" PRIu64, job);
    return json_object_get(json_object_get(doc, "jobs"), key);
}

int task_wire_grant_decode(const void *body,
                           size_t len,
                           json_t **doc,
                           struct journal_lease **leases,
                           size_t *n)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    struct journal_lease *out = NULL;
    size_t count = 0;
    int rc;

    if (!o)
        return SHOAL_EPROTO;
    rc = task_wire_leases_decode(body, len, "leases", &out, &count);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *desc = task_wire_grant_desc(o, out[i].job);
        const char *wdir = json_string_value(json_object_get(desc, "wdir"));

        if (!task_wire_strings(task_wire_grant_argv(o, i), true)
            || !task_wire_strings(json_object_get(desc, "env"), false) || !wdir
            || wdir[0] != '/'
            || !json_is_number(json_object_get(desc, "time_limit")))
            rc = SHOAL_EPROTO;
    }
    if (rc < 0) {
        free(out);
        json_decref(o);
        return rc;
    }
    *doc = o;
    *leases = out;
    *n = count;
    return 0;
}

char *task_wire_fetch_encode(const struct task_wire_fetch *m, size_t *len)
{
    json_t *o = json_pack("{s:I}", "req", (json_int_t)m->req);

    task_wire_opt(o, "stdout", m->out_path);
    task_wire_opt(o, "stderr", m->err_path);
    task_wire_opt(o, "counters", m->counters_path);
    return task_wire_dump(o, len);
}

/* An object with a request number from 1, as a new reference. */
static json_t *task_wire_req(const void *body, size_t len, uint64_t *req)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    json_int_t v;

    if (!json_is_object(o)
        || task_wire_get_int(o, "req", 1, INT64_MAX, &v) < 0) {
        json_decref(o);
        return NULL;
    }
    *req = (uint64_t)v;
    return o;
}

int task_wire_fetch_decode(const void *body,
                           size_t len,
                           json_t **doc,
                           struct task_wire_fetch *m)
{
    json_t *o = task_wire_req(body, len, &m->req);

    if (!o)
        return SHOAL_EPROTO;
    m->out_path = json_string_value(json_object_get(o, "stdout"));
    m->err_path = json_string_value(json_object_get(o, "stderr"));
    m->counters_path = json_string_value(json_object_get(o, "counters"));
    *doc = o;
    return 0;
}

char *task_wire_fetched_encode(const struct task_wire_fetched *m, size_t *len)
{
    json_t *o = json_pack("{s:I}", "req", (json_int_t)m->req);

    if (m->out && m->err) {
        task_wire_opt(o, "stdout", m->out);
        task_wire_opt(o, "stderr", m->err);
        task_wire_opt(o, "counters", m->counters);
    } else
        task_wire_opt(o, "error", m->error);
    return task_wire_dump(o, len);
}

int task_wire_fetched_decode(const void *body,
                             size_t len,
                             json_t **doc,
                             struct task_wire_fetched *m)
{
    json_t *o = task_wire_req(body, len, &m->req);

    if (!o)
        return SHOAL_EPROTO;
    m->out = json_string_value(json_object_get(o, "stdout"));
    m->err = json_string_value(json_object_get(o, "stderr"));
    m->counters = json_string_value(json_object_get(o, "counters"));
    m->error = NULL;
    if (!m->out || !m->err) {
        m->out = m->err = m->counters = NULL;
        m->error = json_string_value(json_object_get(o, "error"));
    }
    *doc = o;
    return 0;
}

static const char task_wire_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *task_wire_b64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;

        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = task_wire_b64_chars[v >> 18 & 63];
        *o++ = task_wire_b64_chars[v >> 12 & 63];
        *o++ = i + 1 < len ? task_wire_b64_chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? task_wire_b64_chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

int task_wire_b64_decode(const char *text, char **out, size_t *len)
{
    size_t n = strlen(text), k = 0;
    char *buf;

    if (n % 4)
        return SHOAL_EPROTO;
    buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < n; i += 4) {
        unsigned v = 0;
        int pad = 0;

        for (int j = 0; j < 4; j++) {
            const char *c = strchr(task_wire_b64_chars, text[i + j]);

            if (text[i + j] == '=' && i + 4 == n && j >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!c || !*c || pad) {
                free(buf);
                return SHOAL_EPROTO;
            }
            v = v << 6 | (unsigned)(c - task_wire_b64_chars);
        }
        buf[k++] = (char)(v >> 16);
        if (pad < 2)
            buf[k++] = (char)(v >> 8 & 255);
        if (pad < 1)
            buf[k++] = (char)(v & 255);
    }
    buf[k] = '\0';
    *out = buf;
    *len = k;
    return 0;
}
