/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/pmi/pmi_kvs.h"

TestSuite(pmi_kvs, .timeout = 20);

static pmi_kvs_t *make_kvs(size_t max_keys, size_t max_bytes)
{
    pmi_kvs_t *kvs = NULL;

    cr_assert(eq(int, pmi_kvs_create(max_keys, max_bytes, &kvs), 0));
    return kvs;
}

Test(pmi_kvs, put_then_get_and_replace)
{
    pmi_kvs_t *kvs = make_kvs(16, 1024);

    cr_assert(eq(ptr, (void *)pmi_kvs_get(kvs, "a"), NULL));
    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "1", false, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "b", "", false, NULL), 0));
    cr_assert(eq(str, (char *)pmi_kvs_get(kvs, "a"), "1"));
    cr_assert(eq(str, (char *)pmi_kvs_get(kvs, "b"), ""));

    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "22", false, NULL), 0));
    cr_assert(eq(str, (char *)pmi_kvs_get(kvs, "a"), "22"));
    cr_assert(eq(sz, pmi_kvs_count(kvs), 2));
    cr_assert(eq(sz, pmi_kvs_bytes(kvs), 4)); /* "a" "22" "b" "" */
    pmi_kvs_destroy(kvs);
    pmi_kvs_destroy(NULL);
}

Test(pmi_kvs, many_keys_survive_table_growth)
{
    pmi_kvs_t *kvs = make_kvs(20000, 1 << 20);
    char key[32];
    char value[32];

    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "-allgather-%d", i);
        snprintf(value, sizeof(value), "%X", i * 7919);
        cr_assert(eq(int, pmi_kvs_put(kvs, key, value, false, NULL), 0),
                  "key %s", key);
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "-allgather-%d", i);
        snprintf(value, sizeof(value), "%X", i * 7919);
        cr_assert(eq(str, (char *)pmi_kvs_get(kvs, key), value), "key %s", key);
    }
    cr_assert(eq(ptr, (void *)pmi_kvs_get(kvs, "-allgather-20000"), NULL));
    pmi_kvs_destroy(kvs);
}

struct kvs_listing {
    char text[256];
    int calls;
    int stop_at; /* return 9 on this call; 0 never */
};

static int list_entry(const char *key, const char *value, void *arg)
{
    struct kvs_listing *listing = arg;
    size_t len = strlen(listing->text);

    listing->calls++;
    snprintf(listing->text + len, sizeof(listing->text) - len, "%s=%s;", key,
             value);
    return listing->calls == listing->stop_at ? 9 : 0;
}

Test(pmi_kvs, fresh_keys_listed_once_in_first_put_order)
{
    pmi_kvs_t *kvs = make_kvs(16, 1024);
    struct kvs_listing listing = {0};

    cr_assert(eq(int, pmi_kvs_put(kvs, "old", "x", false, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "b", "1", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "1", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "b", "2", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "c", "3", false, NULL), 0));
    /* a later unmarked put does not unmark */
    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "4", false, NULL), 0));

    cr_assert(eq(int, pmi_kvs_foreach_fresh(kvs, list_entry, &listing), 0));
    cr_assert(eq(str, listing.text, "b=2;a=4;"));

    pmi_kvs_clear_fresh(kvs);
    memset(&listing, 0, sizeof(listing));
    cr_assert(eq(int, pmi_kvs_foreach_fresh(kvs, list_entry, &listing), 0));
    cr_assert(eq(int, listing.calls, 0));

    cr_assert(eq(int, pmi_kvs_put(kvs, "old", "y", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_foreach_fresh(kvs, list_entry, &listing), 0));
    cr_assert(eq(str, listing.text, "old=y;"));
    pmi_kvs_destroy(kvs);
}

Test(pmi_kvs, foreach_stops_when_callback_says_so)
{
    pmi_kvs_t *kvs = make_kvs(16, 1024);
    struct kvs_listing listing = {.stop_at = 2};

    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "1", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "b", "2", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "c", "3", true, NULL), 0));

    cr_assert(eq(int, pmi_kvs_foreach_fresh(kvs, list_entry, &listing), 9));
    cr_assert(eq(str, listing.text, "a=1;b=2;"));
    pmi_kvs_destroy(kvs);
}

Test(pmi_kvs, refuses_keys_beyond_limit)
{
    pmi_kvs_t *kvs = make_kvs(2, 1024);
    shoal_error_t err = {{0}};

    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "1", true, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "b", "2", true, NULL), 0));

    cr_assert(eq(int, pmi_kvs_put(kvs, "c", "3", true, &err), -ENOSPC));
    cr_assert(eq(str, err.text, "key-value space full (2 keys at most)"));
    cr_assert(eq(ptr, (void *)pmi_kvs_get(kvs, "c"), NULL));
    /* replacing is still possible */
    cr_assert(eq(int, pmi_kvs_put(kvs, "a", "9", true, NULL), 0));
    cr_assert(eq(sz, pmi_kvs_count(kvs), 2));
    pmi_kvs_destroy(kvs);
}

Test(pmi_kvs, refuses_bytes_beyond_limit_and_stays_unchanged)
{
    pmi_kvs_t *kvs = make_kvs(100, 10);
    shoal_error_t err = {{0}};

    cr_assert(eq(int, pmi_kvs_put(kvs, "ab", "cdef", false, NULL), 0));
    cr_assert(eq(int, pmi_kvs_put(kvs, "g", "hijk", false, &err), -ENOSPC));
    cr_assert(eq(str, err.text, "key-value space full (10 bytes at most)"));
    cr_assert(eq(int, pmi_kvs_put(kvs, "g", "hij", false, NULL), 0));
    cr_assert(eq(sz, pmi_kvs_bytes(kvs), 10));

    /* a longer replacement that does not fit leaves the old value */
    cr_assert(eq(int, pmi_kvs_put(kvs, "ab", "cdefg", true, NULL), -ENOSPC));
    cr_assert(eq(str, (char *)pmi_kvs_get(kvs, "ab"), "cdef"));
    cr_assert(eq(int, pmi_kvs_put(kvs, "ab", "c", true, NULL), 0));
    cr_assert(eq(sz, pmi_kvs_bytes(kvs), 7));
    pmi_kvs_destroy(kvs);
}

struct kvs_check_case {
    char key[80];
    char value[16];
    int rc;
    char cause[64];
};

ParameterizedTestParameters(pmi_kvs, check_refuses_bad_keys_and_values)
{
    static struct kvs_check_case cases[] = {
        {"PMI_process_mapping", "(vector,(0,1,4))", 0, ""},
        {"-bcast-1-0", "", 0, ""},
        {"", "v", -EINVAL, "empty key"},
        {"a b", "v", -EINVAL, "invalid byte 0x20 in key"},
        {"a=b", "v", -EINVAL, "invalid byte 0x3d in key"},
        {"a\tb", "v", -EINVAL, "invalid byte 0x09 in key"},
        {"k", "a b", -EINVAL, "invalid byte 0x20 in value"},
        {"k", "\x7f", -EINVAL, "invalid byte 0x7f in value"},
        {"k", "\xff", -EINVAL, "invalid byte 0xff in value"},
        {"0123456789012345678901234567890123456789012345678901234567890123",
         "v", -E2BIG, "key too long (64 characters, at most 63)"},
    };
    return cr_make_param_array(struct kvs_check_case, cases,
                               sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct kvs_check_case *c,
                  pmi_kvs,
                  check_refuses_bad_keys_and_values)
{
    shoal_error_t err = {{0}};
    pmi_kvs_t *kvs = make_kvs(16, 1 << 16);

    cr_assert(eq(int, pmi_kvs_check(c->key, c->value, &err), c->rc),
              "key '%s' value '%s'", c->key, c->value);
    cr_assert(eq(str, err.text, c->cause));
    cr_assert(eq(int, pmi_kvs_put(kvs, c->key, c->value, true, NULL), c->rc));
    pmi_kvs_destroy(kvs);
}

Test(pmi_kvs, value_of_1023_characters_fits_1024_does_not)
{
    char value[PMI_KVS_VALUE_MAX + 2];
    shoal_error_t err = {{0}};
    pmi_kvs_t *kvs = make_kvs(16, 1 << 16);

    memset(value, 'v', PMI_KVS_VALUE_MAX);
    value[PMI_KVS_VALUE_MAX] = '\0';
    cr_assert(eq(int, pmi_kvs_put(kvs, "k", value, false, NULL), 0));
    value[PMI_KVS_VALUE_MAX] = 'v';
    value[PMI_KVS_VALUE_MAX + 1] = '\0';
    cr_assert(eq(int, pmi_kvs_put(kvs, "k", value, false, &err), -E2BIG));
    cr_assert(
        eq(str, err.text, "value too long (1024 characters, at most 1023)"));
    pmi_kvs_destroy(kvs);
}
