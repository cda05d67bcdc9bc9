/* SPDX-License-Identifier: MIT */
/* topo.c - loading a node's hardware topology with hwloc. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "runtime/member/topo.h"
#include "util/hwtopo.h"

static bool topo_spec_is_xml(const char *spec)
{
    size_t len = strlen(spec);

    return strchr(spec, '/') || (len >= 4 && !strcmp(spec + len - 4, ".xml"));
}

/* Placement only needs packages, NUMA nodes, L3 caches (--bind-to
 * l3cache), cores and PUs. Discovering I/O devices walks sysfs's PCI tree
 * and caches cost a read per cache level and CPU; both are most of the
 * load time on a real machine, and `shoal run` pays it before the first
 * rank starts: only the L3 level is kept. */
static int topo_set_filters(hwloc_topology_t topo)
{
    if (hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE)
        || hwloc_topology_set_cache_types_filter(topo,
                                                 HWLOC_TYPE_FILTER_KEEP_NONE)
        || hwloc_topology_set_type_filter(topo, HWLOC_OBJ_L3CACHE,
                                          HWLOC_TYPE_FILTER_KEEP_ALL)
        || hwloc_topology_set_icache_types_filter(topo,
                                                  HWLOC_TYPE_FILTER_KEEP_NONE)
        || hwloc_topology_set_type_filter(topo, HWLOC_OBJ_MISC,
                                          HWLOC_TYPE_FILTER_KEEP_NONE)
        || hwloc_topology_set_type_filter(topo, HWLOC_OBJ_MEMCACHE,
                                          HWLOC_TYPE_FILTER_KEEP_NONE))
        return -errno;
    return 0;
}

/* hwloc reports a bad synthetic string or XML file with errno, which is
 * not always set to something a person can act on; name the format. */
static const char *topo_cause(const char *spec, int errnum)
{
    struct stat st;

    if (!spec || !*spec)
        return strerror(errnum);
    if (!topo_spec_is_xml(spec))
        return "invalid synthetic description";
    /* hwloc's own XML reader (libxml2's is not loaded) says little about
     * why it could not open a file; ask the file system */
    if (stat(spec, &st) < 0)
        return strerror(errno);
    if (S_ISDIR(st.st_mode))
        return strerror(EISDIR);
    if (errnum == ENOENT || errnum == EACCES || errnum == EISDIR)
        return strerror(errnum);
    return "invalid XML topology file";
}

/* hwloc dlopens its plugins (OpenCL, GL, PCI, libxml2) when the first
 * topology of a process is created, and with them their libraries (X11,
 * libpciaccess, ...). Placement uses none of them, and the loading is most
 * of `shoal run`'s start-up: 20-50 ms of a 60 ms launch on a busy 2-core
 * machine. hwloc reads its blacklist from the environment only, so it is
 * set around the first init and removed again, leaving the ranks' view of
 * the environment as it was; a user's own setting wins. */
static const char topo_plugin_blacklist[] =
    "hwloc_opencl,hwloc_gl,hwloc_pci,hwloc_xml_libxml,hwloc_cuda,"
    "hwloc_nvml,hwloc_rsmi,hwloc_levelzero";

static int topo_init_quick(hwloc_topology_t *topo)
{
    bool ours = getenv("HWLOC_PLUGINS_BLACKLIST") == NULL;
    int rc;

    if (ours)
        setenv("HWLOC_PLUGINS_BLACKLIST", topo_plugin_blacklist, 1);
    rc = hwtopo_init(topo);
    if (ours)
        unsetenv("HWLOC_PLUGINS_BLACKLIST");
    return rc;
}

int topo_load(const char *spec, hwloc_topology_t *out, shoal_error_t *error)
{
    return topo_load_allowed(spec, NULL, out, error);
}

int topo_load_allowed(const char *spec,
                      const char *allowed,
                      hwloc_topology_t *out,
                      shoal_error_t *error)
{
    hwloc_bitmap_t set = NULL;
    hwloc_topology_t topo;
    const char *shown = spec && *spec ? spec : "this machine";
    int rc;

    if (topo_init_quick(&topo) < 0)
        return shoal_errprintf(error, SHOAL_ETOPOLOGY,
                               "cannot load topology '%s': %s", shown,
                               strerror(errno));
    rc = topo_set_filters(topo);
    if (rc < 0)
        goto error;
    if (spec && *spec)
        allowed = NULL;
    if (allowed) {
        set = hwloc_bitmap_alloc();
        if (!set || hwloc_bitmap_list_sscanf(set, allowed) < 0
            || hwloc_bitmap_iszero(set)) {
            hwloc_bitmap_free(set);
            hwloc_topology_destroy(topo);
            return shoal_errprintf(error, -EINVAL, "bad PU list '%s'", allowed);
        }
        hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    }
    if (spec && *spec) {
        if (topo_spec_is_xml(spec))
            rc = hwloc_topology_set_xml(topo, spec);
        else
            rc = hwloc_topology_set_synthetic(topo, spec);
        if (rc < 0) {
            rc = -errno;
            goto error;
        }
    }
    if (hwloc_topology_load(topo) < 0
        || (set && hwloc_topology_restrict(topo, set, 0) < 0)) {
        rc = -errno;
        goto error;
    }
    hwloc_bitmap_free(set);
    *out = topo;
    return 0;
error:
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return shoal_errprintf(error, SHOAL_ETOPOLOGY,
                           "cannot load topology '%s': %s", shown,
                           topo_cause(spec, rc ? -rc : EINVAL));
}

bool topo_is_this_system(hwloc_topology_t topo)
{
    return hwloc_topology_is_thissystem(topo) != 0;
}
