/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/pmix/pubsub.h"

TestSuite(pubsub, .timeout = 30);

static const struct pubsub_name two[] = {
    {.key = "svc-a", .value = "0:aa"},
    {.key = "svc-b", .value = "0:bb"},
};

Test(pubsub, published_names_are_found_with_their_publisher)
{
    pubsub_t *ps;
    const char *keys[] = {"svc-b", "nope", "svc-a"};
    const char *values[3];
    int ranks[3];

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(eq(int, pubsub_publish(ps, 3, two, 2), 0));
    cr_assert(eq(sz, pubsub_lookup(ps, keys, 3, values, ranks), 2));
    cr_assert(eq(str, (char *)values[0], "0:bb"));
    cr_assert(eq(ptr, (void *)values[1], NULL));
    cr_assert(eq(str, (char *)values[2], "0:aa"));
    cr_assert(eq(int, ranks[0], 3));
    cr_assert(eq(int, ranks[1], -1));
    cr_assert(eq(sz, pubsub_count(ps), 2));
    pubsub_destroy(ps);
}

Test(pubsub, a_publish_is_all_or_nothing)
{
    pubsub_t *ps;
    const struct pubsub_name clash[] = {
        {.key = "new", .value = "1:01"},
        {.key = "svc-a", .value = "1:02"},
    };
    const struct pubsub_name twice[] = {
        {.key = "x", .value = "1:01"},
        {.key = "x", .value = "1:02"},
    };
    const struct pubsub_name empty[] = {{.key = "", .value = "1:01"}};

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(eq(int, pubsub_publish(ps, 0, two, 2), 0));
    cr_assert(eq(int, pubsub_publish(ps, 1, clash, 2), -EEXIST));
    cr_assert(eq(int, pubsub_publish(ps, 1, twice, 2), -EEXIST));
    cr_assert(eq(int, pubsub_publish(ps, 1, empty, 1), -EINVAL));
    cr_assert(eq(int, pubsub_publish(ps, 1, two, 0), -EINVAL));
    cr_assert(eq(sz, pubsub_count(ps), 2), "nothing of a refused publish");
    pubsub_destroy(ps);
}

Test(pubsub, only_the_publisher_unpublishes)
{
    pubsub_t *ps;
    const char *a[] = {"svc-a"};

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(eq(int, pubsub_publish(ps, 0, two, 2), 0));
    cr_assert(eq(sz, pubsub_unpublish(ps, 1, a, 1), 0));
    cr_assert(eq(sz, pubsub_unpublish(ps, 0, a, 1), 1));
    cr_assert(eq(sz, pubsub_unpublish(ps, 0, a, 1), 0));
    cr_assert(eq(sz, pubsub_count(ps), 1));
    cr_assert(eq(sz, pubsub_unpublish(ps, 0, NULL, 0), 1), "n 0: all");
    cr_assert(eq(sz, pubsub_count(ps), 0));
    pubsub_destroy(ps);
}

static int handed;
static void *handed_cookie;

static void on_ready(void *cookie, const char *const *keys, size_t n, void *arg)
{
    cr_assert(eq(str, (char *)arg, "arg"));
    cr_assert(eq(sz, n, 2));
    cr_assert(eq(str, (char *)keys[0], "svc-a"));
    handed++;
    handed_cookie = cookie;
}

Test(pubsub, a_waiting_lookup_is_handed_back_once_all_its_keys_are_in)
{
    pubsub_t *ps;
    const struct pubsub_name want[] = {{.key = "svc-a"}, {.key = "svc-b"}};
    const char *values[2];
    int cookie;

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(eq(int,
                 pubsub_serve(ps, PUBSUB_LOOKUP, 2, true, want, 2, values, NULL,
                              &cookie),
                 1));
    cr_assert(eq(int, pubsub_publish(ps, 0, two, 1), 0));
    cr_assert(eq(sz, pubsub_ready(ps, on_ready, "arg"), 0), "svc-b missing");
    cr_assert(eq(int, pubsub_publish(ps, 1, two + 1, 1), 0));
    cr_assert(eq(sz, pubsub_ready(ps, on_ready, "arg"), 1));
    cr_assert(eq(int, handed, 1));
    cr_assert(eq(ptr, handed_cookie, &cookie));
    cr_assert(eq(sz, pubsub_ready(ps, on_ready, "arg"), 0), "handed once");
    pubsub_destroy(ps);
}

Test(pubsub, serve_answers_what_a_pmix_server_needs)
{
    pubsub_t *ps;
    const struct pubsub_name want[] = {{.key = "svc-a"}, {.key = "none"}};
    const struct pubsub_name none[] = {{.key = "none"}};
    const char *values[2];
    int ranks[2];

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(
        eq(int,
           pubsub_serve(ps, PUBSUB_PUBLISH, 4, false, two, 2, NULL, NULL, NULL),
           0));
    cr_assert(
        eq(int,
           pubsub_serve(ps, PUBSUB_PUBLISH, 4, false, two, 1, NULL, NULL, NULL),
           -EEXIST));
    cr_assert(eq(int,
                 pubsub_serve(ps, PUBSUB_LOOKUP, 1, false, want, 2, values,
                              ranks, NULL),
                 0),
              "some found");
    cr_assert(eq(str, (char *)values[0], "0:aa"));
    cr_assert(eq(int, ranks[0], 4));
    cr_assert(eq(ptr, (void *)values[1], NULL));
    cr_assert(eq(
        int,
        pubsub_serve(ps, PUBSUB_LOOKUP, 1, false, none, 1, values, NULL, NULL),
        -ENOENT));
    cr_assert(eq(int,
                 pubsub_serve(ps, PUBSUB_UNPUBLISH, 1, false, want, 1, NULL,
                              NULL, NULL),
                 -ENOENT),
              "not rank 1's");
    cr_assert(eq(
        int,
        pubsub_serve(ps, PUBSUB_UNPUBLISH, 4, false, want, 1, NULL, NULL, NULL),
        0));
    cr_assert(eq(int,
                 pubsub_serve(ps, PUBSUB_LOOKUP, 1, false, two, 0, values, NULL,
                              NULL),
                 -EINVAL),
              "a lookup of nothing");
    pubsub_destroy(ps);
}

static int dropped;

static void on_drop(void *cookie, void *arg)
{
    (void)arg;
    dropped++;
    free(cookie);
}

Test(pubsub, waiting_lookups_are_dropped_with_their_cookies)
{
    pubsub_t *ps;
    const char *keys[] = {"later"};

    cr_assert(eq(int, pubsub_create(&ps), 0));
    cr_assert(eq(int, pubsub_wait(ps, keys, 1, malloc(8)), 0));
    cr_assert(eq(int, pubsub_wait(ps, keys, 1, malloc(8)), 0));
    pubsub_drop_waiting(ps, on_drop, NULL);
    cr_assert(eq(int, dropped, 2));
    pubsub_destroy(ps);
}
