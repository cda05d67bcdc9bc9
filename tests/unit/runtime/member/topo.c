/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/member/topo.c: loading this machine, synthetic strings
 * and XML files, and the errors a person sees for bad ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <shoal/shoal.h>

#include "runtime/member/topo.h"

TestSuite(topo, .timeout = 30);

/* The path of a file under tests/fixtures, or of the source tree itself
 * when name is "". */
static void fixture_path(const char *name, char *path, size_t size)
{
    const char *srcdir = getenv("SHOAL_SRCDIR");

    cr_assert(not(eq(ptr, (void *)srcdir, NULL)),
              "SHOAL_SRCDIR is not set; run through make check");
    snprintf(path, size, "%s/tests/fixtures/%s", srcdir, name);
}

/* Criterion copies parameters into each test's process, which may map the
 * program elsewhere: text lives in the structs, not behind pointers. */
struct topo_count_case {
    char spec[64]; /* '@' prefix: a fixture file */
    int packages;
    int numas;
    int cores;
    int pus;
};

static struct topo_count_case topo_count_cases[] = {
    {"core:4 pu:1", 0, 1, 4, 4},
    {"core:4 pu:2", 0, 1, 4, 8},
    {"package:2 numa:2 core:4 pu:2", 2, 4, 16, 32},
    {"package:2 l3:1 core:3 pu:1", 2, 1, 6, 6},
    {"@topo-asymmetric.xml", 2, 3, 6, 12},
};

ParameterizedTestParameters(topo, loads_synthetic_strings_and_xml_files)
{
    return cr_make_param_array(struct topo_count_case, topo_count_cases,
                               sizeof(topo_count_cases)
                                   / sizeof(topo_count_cases[0]));
}

ParameterizedTest(struct topo_count_case *c,
                  topo,
                  loads_synthetic_strings_and_xml_files)
{
    char path[4096];
    const char *spec = c->spec;
    hwloc_topology_t topo = NULL;
    shoal_error_t error = {{0}};

    if (spec[0] == '@') {
        fixture_path(spec + 1, path, sizeof(path));
        spec = path;
    }
    cr_assert(eq(int, topo_load(spec, &topo, &error), 0), "'%s': %s", spec,
              error.text);
    cr_expect(
        eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE), c->packages),
        "'%s'", spec);
    cr_expect(
        eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE), c->numas),
        "'%s'", spec);
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE), c->cores),
              "'%s'", spec);
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), c->pus),
              "'%s'", spec);
    cr_expect(not(topo_is_this_system(topo)), "'%s' claims to be this system",
              spec);
    hwloc_topology_destroy(topo);
}

Test(topo, loads_this_machine_for_null_or_empty_spec)
{
    const char *specs[] = {NULL, ""};

    for (size_t i = 0; i < 2; i++) {
        hwloc_topology_t topo = NULL;
        shoal_error_t error = {{0}};

        cr_assert(eq(int, topo_load(specs[i], &topo, &error), 0), "%s",
                  error.text);
        cr_expect(topo_is_this_system(topo));
        cr_expect(ge(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), 1));
        hwloc_topology_destroy(topo);
    }
}

/* Placement needs no caches but L3 (--bind-to l3cache) and no devices;
 * leaving them out keeps the load on the launch path short. */
Test(topo, leaves_out_caches_but_l3_and_io_devices)
{
    hwloc_topology_t topo = NULL;
    shoal_error_t error = {{0}};

    cr_assert(
        eq(int,
           topo_load("package:1 l3:1 l2:2 l1d:1 core:1 pu:1", &topo, &error),
           0),
        "%s", error.text);
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE), 1));
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L2CACHE), 0));
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L1CACHE), 0));
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE), 2));
    hwloc_topology_destroy(topo);

    cr_assert(eq(int, topo_load(NULL, &topo, &error), 0), "%s", error.text);
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PCI_DEVICE), 0));
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_OS_DEVICE), 0));
    cr_expect(eq(int, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L2CACHE), 0));
    hwloc_topology_destroy(topo);
}

struct topo_error_case {
    char spec[64]; /* '@' prefix: relative to tests/fixtures */
    char cause[64];
};

static struct topo_error_case topo_error_cases[] = {
    {"package:x", "invalid synthetic description"},
    {"core:2", "invalid synthetic description"},
    {"package:2 numa:2 core:4 pu:2 bogus", "invalid synthetic description"},
    {"missing.xml", "No such file or directory"},
    {"/nonexistent/topology", "No such file or directory"},
    {"@", "Is a directory"},
    {"@../../README.md", "invalid XML topology file"},
};

ParameterizedTestParameters(topo, names_the_spec_when_loading_fails)
{
    return cr_make_param_array(struct topo_error_case, topo_error_cases,
                               sizeof(topo_error_cases)
                                   / sizeof(topo_error_cases[0]));
}

ParameterizedTest(struct topo_error_case *c,
                  topo,
                  names_the_spec_when_loading_fails)
{
    char path[4096];
    char expect[4096 + 512];
    const char *spec = c->spec;
    hwloc_topology_t sentinel = (hwloc_topology_t)&path;
    hwloc_topology_t topo = sentinel;
    shoal_error_t error = {{0}};
    int rc;

    if (spec[0] == '@') {
        fixture_path(spec + 1, path, sizeof(path));
        spec = path;
    }
    rc = topo_load(spec, &topo, &error);
    snprintf(expect, sizeof(expect), "cannot load topology '%s': %s", spec,
             c->cause);
    cr_expect(eq(int, rc, SHOAL_ETOPOLOGY), "'%s'", spec);
    cr_expect(eq(str, error.text, expect));
    cr_expect(eq(ptr, (void *)topo, (void *)sentinel),
              "'%s': *out changed on failure", spec);
}

Test(topo, error_buffer_is_optional)
{
    hwloc_topology_t topo = NULL;

    cr_expect(eq(int, topo_load("package:x", &topo, NULL), SHOAL_ETOPOLOGY));
    cr_expect(eq(ptr, (void *)topo, NULL));
}

Test(topo, allowed_pus_show_the_machine_as_a_process_with_that_cpuset_sees_it)
{
    hwloc_topology_t all, one;
    shoal_error_t error;
    hwloc_obj_t pu;
    char list[64];
    int n;

    cr_assert(eq(int, topo_load(NULL, &all, &error), 0), "%s", error.text);
    n = hwloc_get_nbobjs_by_type(all, HWLOC_OBJ_PU);
    /* the last PU alone: logical index 0 is then its OS index */
    pu = hwloc_get_obj_by_type(all, HWLOC_OBJ_PU, (unsigned)n - 1);
    snprintf(list, sizeof(list), "%u", pu->os_index);
    cr_assert(eq(int, topo_load_allowed(NULL, list, &one, &error), 0), "%s",
              error.text);
    cr_assert(eq(int, hwloc_get_nbobjs_by_type(one, HWLOC_OBJ_PU), 1));
    cr_assert(eq(uint, hwloc_get_obj_by_type(one, HWLOC_OBJ_PU, 0)->os_index,
                 pu->os_index));
    cr_assert(topo_is_this_system(one));
    hwloc_topology_destroy(one);
    /* a synthetic topology ignores the list */
    cr_assert(eq(int, topo_load_allowed("core:4 pu:1", "0", &one, &error), 0));
    cr_assert(eq(int, hwloc_get_nbobjs_by_type(one, HWLOC_OBJ_PU), 4));
    hwloc_topology_destroy(one);
    cr_assert(eq(int, topo_load_allowed(NULL, "x", &one, &error), -EINVAL));
    cr_assert(eq(str, error.text, "bad PU list 'x'"));
    hwloc_topology_destroy(all);
}
