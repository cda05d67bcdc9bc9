/* SPDX-License-Identifier: MIT */
/* suite_pool.c - the pool a suite runs on, from this node's daemon. */
#include "runtime/suite/suite_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/daemon/control.h"
#include "util/statedir.h"

static char *field_dup(const json_t *o, const char *key, const char *absent)
{
    const char *v = json_string_value(json_object_get(o, key));

    return strdup(v ? v : absent);
}

int suite_pool_from_status(const json_t *reply,
                           struct suite_pool *pool,
                           shoal_error_t *error)
{
    const json_t *members = json_object_get(reply, "members");
    const json_t *m;
    size_t i;

    memset(pool, 0, sizeof(*pool));
    if (!json_is_array(members))
        return shoal_errprintf(error, -EINVAL,
                               "the daemon's status has no member list");
    pool->nodes = calloc(json_array_size(members) + 1, sizeof(*pool->nodes));
    if (!pool->nodes)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    json_array_foreach (members, i, m) {
        const json_t *summary = json_object_get(m, "summary");
        struct suite_pool_node *n = &pool->nodes[pool->count++];

        n->name = field_dup(m, "name", "?");
        n->state = field_dup(m, "state", "?");
        n->owner = field_dup(m, "owner", "unknown");
        n->topology = field_dup(summary, "synthetic", "");
        n->cores = (int)json_integer_value(json_object_get(summary, "cores"));
        n->cores_free =
            (int)json_integer_value(json_object_get(summary, "cores_free"));
        n->load = json_number_value(json_object_get(summary, "load"));
        if (!n->name || !n->state || !n->owner || !n->topology) {
            suite_pool_release(pool);
            return shoal_errprintf(error, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

int suite_pool_snapshot(struct suite_pool *pool, shoal_error_t *error)
{
    const char *mode = getenv("SHOAL_POOL");
    char dir[4096], path[4200];
    json_t *req, *reply = NULL;
    shoal_error_t ignored;
    int fd, rc;

    memset(pool, 0, sizeof(*pool));
    if (mode && !strcmp(mode, "no"))
        return -ENOENT;
    if (statedir_resolve(NULL, dir, sizeof(dir)) < 0
        || snprintf(path, sizeof(path), "%s/control.sock", dir)
               >= (int)sizeof(path))
        return -ENOENT;
    if (control_client_connect(path, &fd, &ignored) < 0)
        return -ENOENT;
    req = json_pack("{s:s}", "op", "status");
    if (!req) {
        close(fd);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    rc = control_client_request(fd, req, SUITE_POOL_TIMEOUT_MS, &reply, error);
    json_decref(req);
    close(fd);
    if (rc < 0)
        return rc;
    /* the task service alone answers "unknown op": no pool there */
    if (!json_is_true(json_object_get(reply, "ok")))
        rc = -ENOENT;
    else
        rc = suite_pool_from_status(reply, pool, error);
    json_decref(reply);
    return rc;
}

void suite_pool_release(struct suite_pool *pool)
{
    for (size_t i = 0; pool->nodes && i < pool->count; i++) {
        free(pool->nodes[i].name);
        free(pool->nodes[i].state);
        free(pool->nodes[i].owner);
        free(pool->nodes[i].topology);
    }
    free(pool->nodes);
    memset(pool, 0, sizeof(*pool));
}
