/* SPDX-License-Identifier: MIT */
/* gang_request.c - the "gang-claim" control request, encoded and
 * checked field by field. */
#include "runtime/job/gang_request.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An integer field: absent gives dflt (or an error when required). */
static int request_int(const json_t *request,
                       const char *key,
                       bool required,
                       json_int_t dflt,
                       json_int_t min,
                       json_int_t max,
                       json_int_t *out,
                       shoal_error_t *error)
{
    const json_t *v = json_object_get(request, key);

    *out = dflt;
    if (!v && !required)
        return 0;
    if (!v)
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: '%s' is missing",
                               key);
    if (!json_is_integer(v) || json_integer_value(v) < min
        || json_integer_value(v) > max)
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: '%s' must be an "
                               "integer from %lld to %lld",
                               key, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

/* A boolean field: absent is false. */
static int request_bool(const json_t *request,
                        const char *key,
                        bool *out,
                        shoal_error_t *error)
{
    const json_t *v = json_object_get(request, key);

    *out = false;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: '%s' must be "
                               "true or false",
                               key);
    *out = json_is_true(v);
    return 0;
}

static int request_hosts(const json_t *request,
                         struct hostlist *hosts,
                         shoal_error_t *error)
{
    const json_t *list = json_object_get(request, "hosts");
    const json_t *host;
    shoal_error_t why;
    size_t i;
    int rc;

    if (!list)
        return 0;
    if (!json_is_array(list))
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: 'hosts' must be "
                               "an array of strings");
    json_array_foreach (list, i, host) {
        if (!json_is_string(host)) {
            hostlist_release(hosts);
            return shoal_errprintf(error, SHOAL_EUSAGE,
                                   "bad host in request: entry %zu is not a "
                                   "string",
                                   i);
        }
        rc = hostlist_add_arg(hosts, json_string_value(host), &why);
        if (rc < 0) {
            hostlist_release(hosts);
            return shoal_errprintf(error, rc == -ENOMEM ? rc : SHOAL_EUSAGE,
                                   "bad host in request: %s", why.text);
        }
    }
    return 0;
}

/* "pe_list": optional, a CPU list map_by_parse() accepted. */
static int request_pe_list(const json_t *request,
                           char out[MAP_PE_LIST_MAX],
                           shoal_error_t *error)
{
    const json_t *v = json_object_get(request, "pe_list");
    const char *text;

    out[0] = '\0';
    if (!v)
        return 0;
    text = json_string_value(v);
    if (!text || !*text || strlen(text) >= MAP_PE_LIST_MAX
        || strspn(text, "0123456789,-") != strlen(text))
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: 'pe_list' must "
                               "be a list of CPU numbers");
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

int gang_request_decode(const json_t *request,
                        struct gang_request *req,
                        struct hostlist *hosts,
                        shoal_error_t *error)
{
    json_int_t nranks, map_by, pe, ppr, rank_by, bind_to, timeout_ms;
    bool over, hwthread, overload, exclusive, span;
    char pe_list[MAP_PE_LIST_MAX];
    int rc;

    if (!json_is_object(request))
        return shoal_errprintf(error, -EINVAL,
                               "malformed gang-claim request: not an object");
    if ((rc = request_int(request, "nranks", true, 0, 0,
                          GANG_REQUEST_NRANKS_MAX, &nranks, error))
            < 0
        || (rc = request_int(request, "map_by", false, 0, 0, MAP_LEVEL_NODE,
                             &map_by, error))
               < 0
        || (rc = request_int(request, "pe", false, 0, 0, GANG_REQUEST_PE_MAX,
                             &pe, error))
               < 0
        /* absent from the requests of earlier versions */
        || (rc = request_int(request, "ppr", false, 0, 0,
                             GANG_REQUEST_NRANKS_MAX, &ppr, error))
               < 0
        || (rc = request_int(request, "rank_by", false, 0, 0, MAP_LEVEL_NODE,
                             &rank_by, error))
               < 0
        || (rc = request_int(request, "bind_to", false, 0, 0, MAP_BIND_L3CACHE,
                             &bind_to, error))
               < 0
        || (rc = request_bool(request, "oversubscribe", &over, error)) < 0
        /* absent from the requests of earlier versions */
        || (rc = request_bool(request, "overload", &overload, error)) < 0
        || (rc = request_bool(request, "exclusive", &exclusive, error)) < 0
        || (rc = request_bool(request, "span", &span, error)) < 0
        || (rc = request_pe_list(request, pe_list, error)) < 0
        || (rc = request_bool(request, "hwthread", &hwthread, error)) < 0
        || (rc = request_int(request, "timeout_ms", false,
                             GANG_REQUEST_TIMEOUT_MS, 0, INT64_MAX, &timeout_ms,
                             error))
               < 0
        || (rc = request_hosts(request, hosts, error)) < 0)
        return rc;
    *req = (struct gang_request){
        .map =
            {
                .nranks = (int)nranks,
                .map_by = (enum map_level)map_by,
                .pe = (int)pe,
                .ppr = (int)ppr,
                .rank_by = (enum map_level)rank_by,
                .bind_to = (enum map_bind)bind_to,
                .oversubscribe = over,
                .use_hwthread_cpus = hwthread,
                .overload_allowed = overload,
                .span = span,
            },
        .hosts = hosts->count ? hosts : NULL,
        .timeout_ms = timeout_ms,
        .exclusive = exclusive,
    };
    memcpy(req->map.pe_list, pe_list, sizeof(pe_list));
    return 0;
}

int gang_request_encode(const struct gang_request *req,
                        json_t **out,
                        shoal_error_t *error)
{
    json_t *hosts = json_array(), *request;
    char word[512];

    for (int i = 0; hosts && req->hosts && i < req->hosts->count; i++) {
        const struct hostlist_entry *e = &req->hosts->entries[i];
        if (e->slots >= 0)
            snprintf(word, sizeof(word), "%s:%d", e->name, e->slots);
        else
            snprintf(word, sizeof(word), "%s", e->name);
        if (json_array_append_new(hosts, json_string(word)) < 0) {
            json_decref(hosts);
            hosts = NULL;
        }
    }
    if (!hosts)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    request = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:b, s:o, "
        "s:I}",
        "op", "gang-claim", "nranks", req->map.nranks, "map_by",
        req->map.map_by, "pe", req->map.pe, "ppr", req->map.ppr, "rank_by",
        req->map.rank_by, "bind_to", req->map.bind_to, "oversubscribe",
        req->map.oversubscribe, "hwthread", req->map.use_hwthread_cpus,
        "overload", req->map.overload_allowed, "hosts", hosts, "timeout_ms",
        (json_int_t)req->timeout_ms);
    if (request && req->map.span
        && json_object_set_new(request, "span", json_true()) < 0) {
        json_decref(request);
        request = NULL;
    }
    if (request && req->exclusive
        && json_object_set_new(request, "exclusive", json_true()) < 0) {
        json_decref(request);
        request = NULL;
    }
    if (request && req->map.pe_list[0]
        && json_object_set_new(request, "pe_list",
                               json_string(req->map.pe_list))
               < 0) {
        json_decref(request);
        request = NULL;
    }
    if (!request)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    *out = request;
    return 0;
}
