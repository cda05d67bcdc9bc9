/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "runtime/job/job_pmix.h"

TestSuite(job_pmix, .timeout = 10);

Test(job_pmix, block_mapping_gives_every_node_its_ranks)
{
    struct job_pmix_layout l;
    int local[] = {2, 3, 4};

    cr_assert(eq(int,
                 job_pmix_layout_init(&l, 6, "(vector,(0,1,2),(1,1,3),(2,1,1))",
                                      "me", 1, local, 3),
                 0));
    cr_assert(eq(int, l.nnodes, 3));
    cr_assert(eq(int, l.node_index, 1));
    cr_assert(eq(str, (char *)l.nodes[1].host, "me"));
    cr_assert(eq(str, (char *)l.nodes[0].host, "shoal-node0"));
    cr_assert(eq(str, (char *)l.nodes[2].host, "shoal-node2"));
    cr_assert(eq(int, l.nodes[0].nranks, 2));
    cr_assert(eq(int, l.nodes[0].ranks[1], 1));
    cr_assert(eq(int, l.nodes[1].nranks, 3));
    cr_assert(eq(int, l.nodes[1].ranks[0], 2));
    cr_assert(eq(int, l.nodes[2].ranks[0], 5));
    job_pmix_layout_release(&l);
}

Test(job_pmix, mapping_with_node_runs_expands)
{
    struct job_pmix_layout l;
    int local[] = {4, 5};

    cr_assert(eq(
        int, job_pmix_layout_init(&l, 6, "(vector,(0,3,2))", "me", 2, local, 2),
        0));
    cr_assert(eq(int, l.nnodes, 3));
    cr_assert(eq(int, l.nodes[2].ranks[1], 5));
    job_pmix_layout_release(&l);
}

/* round robin (no PMI mapping), a mapping that contradicts the node's own
 * ranks, or garbage: this node and one node of all the others. (The
 * parameter is an index: a test runs in another process, where the
 * table's pointers may not hold.) */
static const char *const fallback_maps[] = {NULL,
                                            "(vector,(0,1,3),(1,1,3))",
                                            "(vector,(0,1,x))",
                                            "(vector,(1,1,3))",
                                            "vector",
                                            ""};

ParameterizedTestParameters(job_pmix, other_layouts_fall_back)
{
    static int which[] = {0, 1, 2, 3, 4, 5};
    return cr_make_param_array(int, which, sizeof(which) / sizeof(which[0]));
}

ParameterizedTest(int *which, job_pmix, other_layouts_fall_back)
{
    struct job_pmix_layout l;
    int local[] = {1, 4};
    const char *map = fallback_maps[*which];

    cr_assert(eq(int, job_pmix_layout_init(&l, 6, map, "me", 1, local, 2), 0),
              "mapping %s", map ? map : "(none)");
    cr_assert(eq(int, l.nnodes, 2));
    cr_assert(eq(int, l.node_index, 0));
    cr_assert(eq(int, l.nodes[0].nranks, 2));
    cr_assert(eq(int, l.nodes[0].ranks[1], 4));
    cr_assert(eq(int, l.nodes[1].nranks, 4));
    cr_assert(eq(int, l.nodes[1].ranks[0], 0));
    cr_assert(eq(int, l.nodes[1].ranks[3], 5));
    job_pmix_layout_release(&l);
}

Test(job_pmix, a_job_on_one_node_has_one_node)
{
    struct job_pmix_layout l;
    int local[] = {0, 1};

    cr_assert(eq(int, job_pmix_layout_init(&l, 2, NULL, "me", 0, local, 2), 0));
    cr_assert(eq(int, l.nnodes, 1));
    job_pmix_layout_release(&l);
}

Test(job_pmix, bad_local_ranks_are_refused)
{
    struct job_pmix_layout l;
    int twice[] = {1, 1};
    int outside[] = {7};

    cr_assert(
        eq(int, job_pmix_layout_init(&l, 4, NULL, "me", 0, twice, 2), -EINVAL));
    cr_assert(eq(int, job_pmix_layout_init(&l, 4, NULL, "me", 0, outside, 1),
                 -EINVAL));
    cr_assert(
        eq(int, job_pmix_layout_init(&l, 4, NULL, "me", 0, twice, 0), -EINVAL));
}

/* Several nodes' fence data, each encoded alone and listed one after the
 * other with other puts between, decode into their concatenation. */
Test(job_pmix, fence_data_round_trips_across_nodes)
{
    size_t big = 1000 * 1000 + 7;
    unsigned char *a = malloc(big), b[] = {0, 1, 2, 0, 255};
    struct job_kv *ka, *kb, all[16];
    uint32_t na, nb, n = 0;
    struct job_kv other = {.key = "mpich-key", .value = "x"};
    void *data;
    size_t len;

    cr_assert(a != NULL);
    for (size_t i = 0; i < big; i++)
        a[i] = (unsigned char)(i * 31);
    cr_assert(eq(int, job_pmix_fence_encode(a, big, &ka, &na), 0));
    cr_assert(gt(u32, na, 1));
    cr_assert(eq(int, job_pmix_fence_encode(b, sizeof(b), &kb, &nb), 0));
    cr_assert(eq(u32, nb, 1));
    for (uint32_t i = 0; i < na; i++) {
        cr_assert(lt(sz, strlen(ka[i].value), (size_t)JOB_WIRE_STRING_MAX));
        all[n++] = ka[i];
    }
    all[n++] = other;
    all[n++] = kb[0];
    cr_assert(eq(int, job_pmix_fence_decode(all, n, &data, &len), 0));
    cr_assert(eq(sz, len, big + sizeof(b)));
    cr_assert(memcmp(data, a, big) == 0);
    cr_assert(memcmp((char *)data + big, b, sizeof(b)) == 0);
    free(data);
    job_pmix_kvs_free(ka, na);
    job_pmix_kvs_free(kb, nb);
    free(a);
}

Test(job_pmix, no_data_is_one_empty_put_and_decodes_to_nothing)
{
    struct job_kv *kvs;
    uint32_t n;
    void *data = (void *)1;
    size_t len = 9;

    cr_assert(eq(int, job_pmix_fence_encode(NULL, 0, &kvs, &n), 0));
    cr_assert(eq(u32, n, 1));
    cr_assert(eq(str, kvs[0].value, ""));
    cr_assert(eq(int, job_pmix_fence_decode(kvs, n, &data, &len), 0));
    cr_assert(eq(sz, len, 0));
    cr_assert(data == NULL);
    job_pmix_kvs_free(kvs, n);
}

Test(job_pmix, bad_base64_is_refused)
{
    struct job_kv kv = {.key = JOB_PMIX_FENCE_KEY "0", .value = "!!!"};
    void *data;
    size_t len;

    cr_assert(eq(int, job_pmix_fence_decode(&kv, 1, &data, &len), -EINVAL));
}
