/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/suite/suite_pool.c: the pool from a daemon's
 * status reply. */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include "runtime/suite/suite_pool.h"

TestSuite(suite_pool, .timeout = 10);

Test(suite_pool, members_become_nodes)
{
    json_t *reply = json_loads(
        "{\"ok\": true, \"self\": \"00000000000000aa\", \"members\": ["
        " {\"name\": \"ws1\", \"state\": \"alive\", \"owner\": \"away\","
        "  \"summary\": {\"synthetic\": \"Package:1 Core:4 PU:2\","
        "   \"cores\": 4, \"cores_free\": 3, \"load\": 0.25}},"
        " {\"name\": \"ws2\", \"state\": \"suspect\"}]}",
        0, NULL);
    struct suite_pool pool;
    shoal_error_t error = {{0}};

    cr_assert(not(eq(ptr, reply, NULL)));
    cr_assert(eq(int, suite_pool_from_status(reply, &pool, &error), 0), "%s",
              error.text);
    cr_assert(eq(sz, pool.count, 2));
    cr_expect(eq(str, pool.nodes[0].name, "ws1"));
    cr_expect(eq(str, pool.nodes[0].owner, "away"));
    cr_expect(eq(str, pool.nodes[0].topology, "Package:1 Core:4 PU:2"));
    cr_expect(eq(int, pool.nodes[0].cores, 4));
    cr_expect(eq(int, pool.nodes[0].cores_free, 3));
    cr_expect(eq(dbl, pool.nodes[0].load, 0.25));
    /* a member whose summary has not arrived yet */
    cr_expect(eq(str, pool.nodes[1].state, "suspect"));
    cr_expect(eq(str, pool.nodes[1].owner, "unknown"));
    cr_expect(eq(str, pool.nodes[1].topology, ""));
    cr_expect(eq(int, pool.nodes[1].cores, 0));
    suite_pool_release(&pool);
    json_decref(reply);
}

Test(suite_pool, a_reply_without_members_is_refused)
{
    json_t *reply = json_loads("{\"ok\": true}", 0, NULL);
    struct suite_pool pool;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, suite_pool_from_status(reply, &pool, &error), -EINVAL));
    cr_expect(eq(str, error.text, "the daemon's status has no member list"));
    cr_expect(eq(sz, pool.count, 0));
    suite_pool_release(&pool);
    json_decref(reply);
}

Test(suite_pool, no_pool_when_shoal_pool_is_no)
{
    struct suite_pool pool;
    shoal_error_t error = {{0}};

    setenv("SHOAL_POOL", "no", 1);
    cr_expect(eq(int, suite_pool_snapshot(&pool, &error), -ENOENT));
    setenv("SHOAL_POOL", "auto", 1);
    setenv("SHOAL_DIR", "/nonexistent/shoal", 1);
    cr_expect(eq(int, suite_pool_snapshot(&pool, &error), -ENOENT));
}
