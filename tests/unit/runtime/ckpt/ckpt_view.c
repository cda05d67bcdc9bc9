/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/ckpt/ckpt_view.h"

TestSuite(ckpt_view, .timeout = 30);

static void add(ckpt_view_t *view,
                const char *node,
                int kind,
                const char *key,
                int version,
                bool committed)
{
    struct ckpt_wire_entry e = {.kind = (uint8_t)kind,
                                .version = version,
                                .bytes = 100 * (uint64_t)version,
                                .files = 1,
                                .committed = committed};

    snprintf(e.key, sizeof(e.key), "%s", key);
    cr_assert(zero(ckpt_view_add(view, node, node, &e)), "%s %s", node, key);
}

/* Member name of obj as a string ("" when it is none). */
static char *str_of(json_t *obj, const char *name)
{
    const char *s = json_string_value(json_object_get(obj, name));

    return (char *)(s ? s : "");
}

static json_t *version_of(json_t *jobs, int job, int rank, int version)
{
    json_t *ranks = json_object_get(json_array_get(jobs, job), "ranks");
    json_t *versions = json_object_get(json_array_get(ranks, rank), "versions");
    json_t *v;
    size_t i;

    json_array_foreach (versions, i, v)
        if (json_integer_value(json_object_get(v, "version")) == version)
            return v;
    return NULL;
}

Test(ckpt_view, groups_by_job_rank_version_and_names_the_restart)
{
    ckpt_view_t *view;
    json_t *jobs, *v, *h;

    cr_assert(zero(ckpt_view_create(&view)));
    /* rank 0 ran on a, rank 1 on b; each copied to the next node */
    add(view, "a", CKPT_ENTRY_ORIGINAL, "job/run0/rank0", 1, true);
    add(view, "a", CKPT_ENTRY_COPY, "job/rank0", 1, true); /* published */
    add(view, "a", CKPT_ENTRY_ORIGINAL, "job/run0/rank0", 2, true);
    add(view, "a", CKPT_ENTRY_COPY, "job/rank0", 2, true);
    add(view, "b", CKPT_ENTRY_COPY, "job/rank0", 1, true);
    add(view, "b", CKPT_ENTRY_COPY, "job/rank0", 2, true);
    add(view, "b", CKPT_ENTRY_ORIGINAL, "job/run0/rank1", 1, true);
    add(view, "c", CKPT_ENTRY_COPY, "job/rank1", 1, true);
    /* rank 1's version 2 is only begun */
    add(view, "b", CKPT_ENTRY_ORIGINAL, "job/run0/rank1", 2, false);
    jobs = ckpt_view_json(view);
    cr_assert(not(eq(ptr, jobs, NULL)));
    cr_assert(eq(sz, json_array_size(jobs), 1));
    cr_expect(eq(str,
                 (char *)json_string_value(
                     json_object_get(json_array_get(jobs, 0), "key")),
                 "job"));
    cr_expect(eq(i64,
                 json_integer_value(
                     json_object_get(json_array_get(jobs, 0), "restart")),
                 1),
              "version 2 of rank 1 is not committed anywhere");
    v = version_of(jobs, 0, 0, 2);
    cr_assert(not(eq(ptr, v, NULL)));
    cr_expect(eq(i64, json_integer_value(json_object_get(v, "copies")), 2));
    cr_assert(eq(sz, json_array_size(json_object_get(v, "holders")), 2),
              "a is named once, as the original");
    h = json_array_get(json_object_get(v, "holders"), 0);
    cr_expect(eq(str, str_of(h, "node"), "a"));
    cr_expect(eq(int, !!json_is_true(json_object_get(h, "original")), 1));
    h = json_array_get(json_object_get(v, "holders"), 1);
    cr_expect(eq(int, !!json_is_false(json_object_get(h, "original")), 1));
    v = version_of(jobs, 0, 1, 2);
    cr_assert(not(eq(ptr, v, NULL)));
    cr_expect(eq(int, !!json_is_false(json_object_get(v, "committed")), 1));
    cr_expect(eq(i64, json_integer_value(json_object_get(v, "copies")), 0));
    json_decref(jobs);
    /* the copy commits: version 2 is the restart now */
    add(view, "c", CKPT_ENTRY_COPY, "job/rank1", 2, true);
    jobs = ckpt_view_json(view);
    cr_expect(eq(
        i64,
        json_integer_value(json_object_get(json_array_get(jobs, 0), "restart")),
        2));
    json_decref(jobs);
    ckpt_view_destroy(view);
}

Test(ckpt_view, a_rank_missing_everywhere_leaves_no_restart)
{
    ckpt_view_t *view;
    json_t *jobs, *job;

    cr_assert(zero(ckpt_view_create(&view)));
    /* ranks 0 and 2 listed, rank 1 held by no node that answered */
    add(view, "a", CKPT_ENTRY_COPY, "job/rank0", 4, true);
    add(view, "a", CKPT_ENTRY_COPY, "job/rank2", 4, true);
    /* other keys: a store that is no rank's, a job's other versions */
    add(view, "a", CKPT_ENTRY_COPY, "17/data", 1, true);
    add(view, "b", CKPT_ENTRY_COPY, "other/rank0", 9, true);
    add(view, "b", CKPT_ENTRY_COPY, "other/rank10", 9, true);
    jobs = ckpt_view_json(view);
    cr_assert(eq(sz, json_array_size(jobs), 3));
    job = json_array_get(jobs, 0);
    cr_expect(eq(str, str_of(job, "key"), "17/data"));
    cr_expect(eq(int, !!json_is_null(json_object_get(job, "restart")), 1));
    job = json_array_get(jobs, 1);
    cr_expect(eq(str, str_of(job, "key"), "job"));
    cr_expect(eq(int, !!json_is_null(json_object_get(job, "restart")), 1),
              "rank 1 is nowhere");
    job = json_array_get(jobs, 2);
    cr_expect(eq(str, str_of(job, "key"), "other"));
    cr_expect(eq(int, !!json_is_null(json_object_get(job, "restart")), 1),
              "ranks 1 to 9 are nowhere");
    cr_expect(eq(i64,
                 json_integer_value(json_object_get(
                     json_array_get(json_object_get(job, "ranks"), 1), "rank")),
                 10),
              "ranks sort as numbers");
    json_decref(jobs);
    ckpt_view_destroy(view);
}

Test(ckpt_view, an_original_outside_a_run_is_left_out)
{
    ckpt_view_t *view;
    json_t *jobs;

    cr_assert(zero(ckpt_view_create(&view)));
    add(view, "a", CKPT_ENTRY_ORIGINAL, "job/rank0", 1, true);
    add(view, "a", CKPT_ENTRY_ORIGINAL, "job/run0/x", 1, true);
    jobs = ckpt_view_json(view);
    cr_expect(eq(sz, json_array_size(jobs), 0));
    json_decref(jobs);
    ckpt_view_destroy(view);
}
