/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/job/gang_request.h"

TestSuite(gang_request, .timeout = 30);

/* A request with every field set to something telling. */
static json_t *sample_request(void)
{
    json_error_t jerr;
    json_t *request = json_loads(
        "{\"op\": \"gang-claim\", \"nranks\": 12, \"map_by\": 5, \"pe\": 2, "
        "\"rank_by\": 3, \"bind_to\": 4, \"oversubscribe\": true, "
        "\"hwthread\": true, \"hosts\": [\"a:2\", \"b\"], "
        "\"timeout_ms\": 1500}",
        0, &jerr);

    cr_assert(not(eq(ptr, request, NULL)), "%s", jerr.text);
    return request;
}

Test(gang_request, round_trip_keeps_every_field)
{
    struct hostlist hosts = {0}, back_hosts = {0};
    shoal_error_t error = {{0}};
    struct gang_request req = {
        .map = {.nranks = 12,
                .map_by = MAP_LEVEL_PACKAGE,
                .pe = 2,
                .ppr = 3,
                .rank_by = MAP_LEVEL_CORE,
                .bind_to = MAP_BIND_L3CACHE,
                .oversubscribe = true,
                .use_hwthread_cpus = true,
                .overload_allowed = true,
                .pe_list = "0,2-5",
                .span = true},
        .hosts = &hosts,
        .timeout_ms = 1500,
        .exclusive = true,
    };
    struct gang_request back;
    json_t *request = NULL;

    cr_assert(eq(int, hostlist_add_arg(&hosts, "a:2,b", &error), 0), "%s",
              error.text);
    cr_assert(eq(int, gang_request_encode(&req, &request, &error), 0), "%s",
              error.text);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(request, "op")),
                 "gang-claim"));
    cr_assert(
        eq(int, gang_request_decode(request, &back, &back_hosts, &error), 0),
        "%s", error.text);
    cr_assert(eq(int, back.map.nranks, 12));
    cr_assert(eq(int, back.map.map_by, MAP_LEVEL_PACKAGE));
    cr_assert(eq(int, back.map.pe, 2));
    cr_assert(eq(int, back.map.ppr, 3));
    cr_assert(eq(int, back.map.rank_by, MAP_LEVEL_CORE));
    cr_assert(eq(int, back.map.bind_to, MAP_BIND_L3CACHE));
    cr_assert(eq(int, back.map.oversubscribe, 1));
    cr_assert(eq(int, back.map.use_hwthread_cpus, 1));
    cr_assert(eq(int, back.map.overload_allowed, 1));
    cr_assert(eq(str, back.map.pe_list, "0,2-5"));
    cr_assert(eq(int, back.map.span, 1));
    cr_assert(eq(i64, back.timeout_ms, 1500));
    cr_assert(eq(int, back.exclusive, 1));
    cr_assert(eq(ptr, (void *)back.hosts, &back_hosts));
    cr_assert(eq(int, back_hosts.count, 2));
    cr_assert(eq(str, back_hosts.entries[0].name, "a"));
    cr_assert(eq(int, back_hosts.entries[0].slots, 2));
    cr_assert(eq(str, back_hosts.entries[1].name, "b"));
    cr_assert(eq(int, back_hosts.entries[1].slots, hosts.entries[1].slots));
    json_decref(request);
    hostlist_release(&hosts);
    hostlist_release(&back_hosts);
}

Test(gang_request, no_hosts_means_the_whole_pool)
{
    struct hostlist back_hosts = {0};
    shoal_error_t error = {{0}};
    struct gang_request req = {.map = {.nranks = 3}, .timeout_ms = 0};
    struct gang_request back;
    json_t *request = NULL;

    cr_assert(eq(int, gang_request_encode(&req, &request, &error), 0), "%s",
              error.text);
    cr_assert(
        eq(int, gang_request_decode(request, &back, &back_hosts, &error), 0),
        "%s", error.text);
    cr_assert(eq(ptr, (void *)back.hosts, NULL));
    cr_assert(eq(int, back_hosts.count, 0));
    cr_assert(eq(int, back.map.nranks, 3));
    cr_assert(eq(i64, back.timeout_ms, 0));
    json_decref(request);
}

Test(gang_request, absent_fields_take_their_defaults)
{
    struct hostlist hosts = {0};
    shoal_error_t error = {{0}};
    struct gang_request back;
    json_t *request = json_pack("{s:s, s:i, s:s}", "op", "gang-claim", "nranks",
                                0, "future", "ignored");

    cr_assert(eq(int, gang_request_decode(request, &back, &hosts, &error), 0),
              "%s", error.text);
    cr_assert(eq(int, back.map.nranks, 0));
    cr_assert(eq(int, back.map.map_by, MAP_LEVEL_DEFAULT));
    cr_assert(eq(int, back.map.pe, 0));
    cr_assert(eq(int, back.map.ppr, 0), "no ppr from an earlier version");
    cr_assert(eq(int, back.map.rank_by, MAP_LEVEL_DEFAULT));
    cr_assert(eq(int, back.map.bind_to, MAP_BIND_DEFAULT));
    cr_assert(eq(int, back.map.oversubscribe, 0));
    cr_assert(eq(int, back.map.use_hwthread_cpus, 0));
    cr_assert(eq(i64, back.timeout_ms, GANG_REQUEST_TIMEOUT_MS));
    cr_assert(eq(ptr, (void *)back.hosts, NULL));
    json_decref(request);
}

/* One field replaced by a bad value (empty: removed), the code expected
 * and a piece of the error text. Arrays, not pointers: each case runs in
 * a process of its own, where the parent's pointers mean nothing. */
struct bad_field {
    char key[16];
    char value[32]; /* JSON, or "" to remove the key */
    int code;
    char says[64];
};

static struct bad_field bad_fields[] = {
    {"nranks", "", -EINVAL, "'nranks' is missing"},
    {"nranks", "\"4\"", -EINVAL, "'nranks' must be an integer"},
    {"nranks", "-1", -EINVAL, "'nranks' must be an integer from 0"},
    {"nranks", "16777217", -EINVAL, "'nranks' must be an integer"},
    {"nranks", "2.5", -EINVAL, "'nranks' must be an integer"},
    {"map_by", "7", -EINVAL, "'map_by' must be an integer from 0 to 6"},
    {"map_by", "-1", -EINVAL, "'map_by'"},
    {"map_by", "\"core\"", -EINVAL, "'map_by'"},
    {"pe", "4097", -EINVAL, "'pe' must be an integer from 0 to 4096"},
    {"pe", "-1", -EINVAL, "'pe'"},
    {"ppr", "-1", -EINVAL, "'ppr'"},
    {"rank_by", "7", -EINVAL, "'rank_by' must be an integer from 0 to 6"},
    {"rank_by", "null", -EINVAL, "'rank_by'"},
    {"bind_to", "7", -EINVAL, "'bind_to' must be an integer from 0 to 6"},
    {"bind_to", "-2", -EINVAL, "'bind_to'"},
    {"oversubscribe", "1", -EINVAL, "'oversubscribe' must be true or false"},
    {"hwthread", "\"yes\"", -EINVAL, "'hwthread' must be true or false"},
    {"overload", "0", -EINVAL, "'overload' must be true or false"},
    {"exclusive", "\"yes\"", -EINVAL, "'exclusive' must be true or false"},
    {"pe_list", "3", -EINVAL, "'pe_list' must be a list of CPU numbers"},
    {"pe_list", "\"\"", -EINVAL, "'pe_list' must be a list of CPU numbers"},
    {"pe_list", "\"0;1\"", -EINVAL, "'pe_list' must be a list of CPU numbers"},
    {"timeout_ms", "-1", -EINVAL, "'timeout_ms' must be an integer from 0"},
    {"timeout_ms", "1.5", -EINVAL, "'timeout_ms'"},
    {"hosts", "\"a,b\"", -EINVAL, "'hosts' must be an array of strings"},
    {"hosts", "[\"a\", 3]", SHOAL_EUSAGE, "bad host in request: entry 1"},
    {"hosts", "[\"a:x\"]", SHOAL_EUSAGE, "bad host in request: "},
    {"hosts", "[\"a:2\", \"\"]", SHOAL_EUSAGE, "bad host in request: "},
};

ParameterizedTestParameters(gang_request, every_malformed_field_is_named)
{
    return cr_make_param_array(struct bad_field, bad_fields,
                               sizeof(bad_fields) / sizeof(bad_fields[0]));
}

ParameterizedTest(struct bad_field *bad,
                  gang_request,
                  every_malformed_field_is_named)
{
    json_t *request = sample_request();
    struct hostlist hosts = {0};
    shoal_error_t error = {{0}};
    struct gang_request back;
    int rc;

    if (bad->value[0]) {
        json_error_t jerr;
        json_t *v = json_loads(bad->value, JSON_DECODE_ANY, &jerr);
        cr_assert(not(eq(ptr, v, NULL)), "%s: %s", bad->value, jerr.text);
        json_object_set_new(request, bad->key, v);
    } else {
        json_object_del(request, bad->key);
    }
    rc = gang_request_decode(request, &back, &hosts, &error);
    cr_assert(eq(int, rc, bad->code), "%s = %s: %s", bad->key,
              bad->value[0] ? bad->value : "(absent)", error.text);
    cr_assert(not(eq(ptr, strstr(error.text, bad->says), NULL)),
              "%s = %s: '%s' does not say '%s'", bad->key,
              bad->value[0] ? bad->value : "(absent)", error.text, bad->says);
    cr_assert(eq(int, hosts.count, 0), "hosts left behind");
    json_decref(request);
}

Test(gang_request, a_request_that_is_not_an_object_is_refused)
{
    struct hostlist hosts = {0};
    shoal_error_t error = {{0}};
    struct gang_request back;
    json_t *request = json_array();

    cr_assert(
        eq(int, gang_request_decode(request, &back, &hosts, &error), -EINVAL));
    cr_assert(
        eq(str, error.text, "malformed gang-claim request: not an object"));
    json_decref(request);
}
