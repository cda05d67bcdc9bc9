/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <hwloc.h>

#include "runtime/member/member_wire.h"
#include "runtime/member/node_summary.h"
#include "runtime/member/topo.h"

TestSuite(node_summary, .timeout = 30);

static struct node_summary sample(void)
{
    struct node_summary s;

    memset(&s, 0, sizeof(s));
    strcpy(s.hostname, "node12.example.org");
    strcpy(s.synthetic, "Package:2 NUMANode:1 Core:4 PU:2");
    s.packages = 2;
    s.numa_nodes = 2;
    s.cores = 8;
    s.pus = 16;
    s.memory_bytes = 64ULL << 30;
    s.gpus = 2;
    s.speed = 1234;
    s.load_milli = 2500;
    strcpy(s.free_cores, "0-3,6");
    s.claims_generation = 0x0102030405060708ULL;
    s.owner = NODE_OWNER_SUSPENDED;
    return s;
}

static void assert_same(const struct node_summary *a,
                        const struct node_summary *b)
{
    cr_assert(eq(str, (char *)a->hostname, (char *)b->hostname));
    cr_assert(eq(str, (char *)a->synthetic, (char *)b->synthetic));
    cr_assert(eq(u32, a->packages, b->packages));
    cr_assert(eq(u32, a->numa_nodes, b->numa_nodes));
    cr_assert(eq(u32, a->cores, b->cores));
    cr_assert(eq(u32, a->pus, b->pus));
    cr_assert(eq(u64, a->memory_bytes, b->memory_bytes));
    cr_assert(eq(u32, a->gpus, b->gpus));
    cr_assert(eq(u32, a->speed, b->speed));
    cr_assert(eq(u32, a->load_milli, b->load_milli));
    cr_assert(eq(str, (char *)a->free_cores, (char *)b->free_cores));
    cr_assert(eq(u64, a->claims_generation, b->claims_generation));
    cr_assert(eq(u8, a->owner, b->owner));
}

Test(node_summary, round_trips_every_field)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), 0));
    assert_same(&s, &out);
}

Test(node_summary, largest_summary_fits_a_member_payload)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    memset(s.hostname, 'h', NODE_SUMMARY_HOSTNAME_MAX);
    s.hostname[NODE_SUMMARY_HOSTNAME_MAX] = '\0';
    memset(s.synthetic, 's', NODE_SUMMARY_SYNTHETIC_MAX);
    s.synthetic[NODE_SUMMARY_SYNTHETIC_MAX] = '\0';
    s.free_cores[0] = '\0';
    for (int core = 0; strlen(s.free_cores) < NODE_SUMMARY_FREE_MAX - 4;
         core += 2)
        sprintf(s.free_cores + strlen(s.free_cores), "%s%d", core ? "," : "",
                core);
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(le(sz, len, (size_t)MEMBER_PAYLOAD_MAX));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), 0));
    assert_same(&s, &out);
}

Test(node_summary, encoder_refuses_small_buffers)
{
    struct node_summary s = sample();
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0, full = 0;

    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &full), 0));
    for (size_t size = 0; size < full; size++)
        cr_assert(eq(int, node_summary_encode(&s, buf, size, &len), -EMSGSIZE),
                  "size %zu", size);
}

Test(node_summary, every_truncation_is_refused)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;
    shoal_error_t error = {{0}};

    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    for (size_t cut = 0; cut < len; cut++) {
        error.text[0] = '\0';
        cr_assert(
            eq(int, node_summary_decode(buf, cut, &out, &error), SHOAL_EPROTO),
            "cut at %zu of %zu", cut, len);
        cr_assert(ne(str, error.text, ""), "cut at %zu", cut);
    }
}

Test(node_summary, trailing_bytes_only_from_later_versions)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    buf[len] = 0x55;
    cr_assert(
        eq(int, node_summary_decode(buf, len + 1, &out, NULL), SHOAL_EPROTO));
    buf[0] = NODE_SUMMARY_VERSION + 1; /* a later version may append */
    cr_assert(eq(int, node_summary_decode(buf, len + 1, &out, NULL), 0));
    assert_same(&s, &out);
    buf[0] = 0;
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), SHOAL_EPROTO));
}

/* A version 1 record (a daemon from before owner states) is the version 2
 * record without its last byte, the owner: it decodes with the owner
 * unknown. And a version 2 record is a version 1 record plus that byte,
 * which a version 1 decoder skips as a later version's field. */
Test(node_summary, version_1_records_decode_with_the_owner_unknown)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(u8, buf[0], 2));
    cr_assert(eq(u8, buf[len - 1], NODE_OWNER_SUSPENDED));
    buf[0] = 1;
    cr_assert(eq(int, node_summary_decode(buf, len - 1, &out, NULL), 0));
    cr_assert(eq(u8, out.owner, NODE_OWNER_UNKNOWN));
    cr_assert(eq(str, (char *)node_summary_owner_name(out.owner), "unknown"));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), SHOAL_EPROTO));
}

Test(node_summary, owner_states_from_later_versions_are_kept_as_unknown)
{
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    s.owner = 77;
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), 0));
    cr_assert(eq(u8, out.owner, 77));
    cr_assert(eq(str, (char *)node_summary_owner_name(out.owner), "unknown"));
    cr_assert(
        eq(str, (char *)node_summary_owner_name(NODE_OWNER_AWAY), "away"));
    s.owner = NODE_OWNER_CLOSED;
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), 0));
    cr_assert(eq(str, (char *)node_summary_owner_name(out.owner), "closed"));
}

Test(node_summary, bad_text_and_core_lists_are_refused)
{
    static const char *bad_lists[] = {"a",    "3-1", "1,1", "1,", "-1",
                                      "1--2", "2,1", ",",   "0-"};
    struct node_summary s = sample(), out;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    s.hostname[3] = '\n';
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), SHOAL_EPROTO));
    for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
        s = sample();
        strcpy(s.free_cores, bad_lists[i]);
        cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
        cr_assert(
            eq(int, node_summary_decode(buf, len, &out, NULL), SHOAL_EPROTO),
            "list '%s'", bad_lists[i]);
    }
    s = sample();
    strcpy(s.free_cores, "");
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
    cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL), 0));
}

/* Random bytes, and random changes to a good encoding, must never crash
 * the decoder; whatever it accepts must encode again. */
Test(node_summary, random_garbage_never_crashes)
{
    struct node_summary s = sample(), out;
    uint8_t good[MEMBER_PAYLOAD_MAX], buf[MEMBER_PAYLOAD_MAX];
    uint8_t again[MEMBER_PAYLOAD_MAX];
    size_t len = 0, glen = 0, alen = 0;
    unsigned seed = 12345;

    cr_assert(eq(int, node_summary_encode(&s, good, sizeof(good), &glen), 0));
    for (int i = 0; i < 20000; i++) {
        if (i % 2) {
            len = (size_t)rand_r(&seed) % sizeof(buf);
            for (size_t j = 0; j < len; j++)
                buf[j] = (uint8_t)rand_r(&seed);
        } else {
            memcpy(buf, good, glen);
            len = glen;
            for (int k = 0; k < 3; k++)
                buf[(size_t)rand_r(&seed) % glen] = (uint8_t)rand_r(&seed);
        }
        if (node_summary_decode(buf, len, &out, NULL) == 0)
            cr_assert(eq(int,
                         node_summary_encode(&out, again, sizeof(again), &alen),
                         0));
        else
            cr_assert(eq(int, node_summary_decode(buf, len, &out, NULL),
                         SHOAL_EPROTO));
    }
}

Test(node_summary, describes_a_synthetic_topology)
{
    hwloc_topology_t topo;
    struct node_summary s;

    memset(&s, 0, sizeof(s));
    cr_assert(
        eq(int, topo_load("package:2 numa:1 core:3 pu:2", &topo, NULL), 0));
    cr_assert(eq(int, node_summary_from_topology(topo, &s), 0));
    hwloc_topology_destroy(topo);
    cr_assert(eq(u32, s.packages, 2));
    cr_assert(eq(u32, s.numa_nodes, 2));
    cr_assert(eq(u32, s.cores, 6));
    cr_assert(eq(u32, s.pus, 12));
    cr_assert(eq(str, s.free_cores, "0-5"));
    cr_assert(not(eq(ptr, strstr(s.synthetic, "Core:3"), NULL)),
              "synthetic '%s'", s.synthetic);
}

Test(node_summary, asymmetric_topology_falls_back_to_counts)
{
    hwloc_topology_t topo;
    struct node_summary s;
    char path[4096];

    memset(&s, 0, sizeof(s));
    snprintf(path, sizeof(path), "%s/tests/fixtures/topo-asymmetric.xml",
             getenv("SHOAL_SRCDIR") ? getenv("SHOAL_SRCDIR") : ".");
    cr_assert(eq(int, topo_load(path, &topo, NULL), 0));
    cr_assert(eq(int, node_summary_from_topology(topo, &s), 0));
    hwloc_topology_destroy(topo);
    cr_assert(eq(u32, s.cores, 6));
    cr_assert(eq(str, s.synthetic, "Package:1 Core:6 PU:2"));
}

Test(node_summary, speed_comes_from_the_environment_when_set)
{
    uint32_t speed = 0;
    shoal_error_t error = {{0}};

    setenv("SHOAL_SPEED", "777", 1);
    cr_assert(eq(int, node_summary_speed(&speed, NULL), 0));
    cr_assert(eq(u32, speed, 777));
    setenv("SHOAL_SPEED", "fast", 1);
    cr_assert(lt(int, node_summary_speed(&speed, &error), 0));
    cr_assert(not(eq(ptr, strstr(error.text, "SHOAL_SPEED"), NULL)), "%s",
              error.text);
    unsetenv("SHOAL_SPEED");
    cr_assert(eq(int, node_summary_speed(&speed, NULL), 0));
    cr_assert(gt(u32, speed, 0));
}

Test(node_summary, collects_this_node)
{
    struct node_summary s;
    uint8_t buf[MEMBER_PAYLOAD_MAX];
    size_t len = 0;

    setenv("SHOAL_SPEED", "1000", 1);
    cr_assert(eq(int, node_summary_collect("core:2 pu:1", NULL, &s, NULL), 0));
    cr_assert(eq(u32, s.cores, 2));
    cr_assert(eq(u32, s.speed, 1000));
    cr_assert(ne(str, s.hostname, ""));
    cr_assert(eq(int, node_summary_encode(&s, buf, sizeof(buf), &len), 0));
}

/* --cpus of a daemon (a Slurm step's CPUs): this machine seen through one
 * of its PUs has one core, one PU */
Test(node_summary, collects_only_the_cpus_given)
{
    struct node_summary all, one;
    shoal_error_t error;

    setenv("SHOAL_SPEED", "1000", 1);
    cr_assert(eq(int, node_summary_collect(NULL, NULL, &all, &error), 0));
    cr_assert(eq(int, node_summary_collect(NULL, "0", &one, &error), 0), "%s",
              error.text);
    cr_assert(eq(u32, one.cores, 1));
    cr_assert(eq(u32, one.pus, 1));
    cr_assert(ge(u32, all.cores, one.cores));
    cr_assert(ne(int, node_summary_collect(NULL, "x", &one, &error), 0));
}
