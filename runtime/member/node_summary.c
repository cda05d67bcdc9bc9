/* SPDX-License-Identifier: MIT */
/* node_summary.c - what a node tells the pool about itself. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>

#include <shoal/error.h>

#include "runtime/member/member_wire.h"
#include "runtime/member/node_summary.h"
#include "runtime/member/topo.h"
#include "util/hwtopo.h"
#include "util/param.h"
#include "util/wire.h"

PARAM_DEFINE(node_summary_param_speed,
             "speed",
             PARAM_TYPE_DOUBLE,
             NULL,
             "speed score of this node (1000 = the reference machine); "
             "unset: measured at start");

/* The largest encoding must fit in a member's payload. */
_Static_assert(2 + 2 + NODE_SUMMARY_HOSTNAME_MAX + 2
                       + NODE_SUMMARY_SYNTHETIC_MAX + 4 * 4 + 8 + 3 * 4 + 2
                       + NODE_SUMMARY_FREE_MAX + 8
                   <= MEMBER_PAYLOAD_MAX,
               "a node summary must fit in a member payload");

static int count_type(hwloc_topology_t topo, hwloc_obj_type_t type)
{
    int n = hwloc_get_nbobjs_by_type(topo, type);

    return n < 0 ? 0 : n;
}

int node_summary_from_topology(hwloc_topology_t topo,
                               struct node_summary *summary)
{
    hwloc_obj_t root = hwloc_get_root_obj(topo);
    hwloc_bitmap_t cores;
    unsigned long flags = HWLOC_TOPOLOGY_EXPORT_SYNTHETIC_FLAG_NO_ATTRS;
    int n;

    summary->packages = count_type(topo, HWLOC_OBJ_PACKAGE);
    summary->numa_nodes = count_type(topo, HWLOC_OBJ_NUMANODE);
    summary->cores = count_type(topo, HWLOC_OBJ_CORE);
    summary->pus = count_type(topo, HWLOC_OBJ_PU);
    summary->memory_bytes = root ? root->total_memory : 0;

    n = hwloc_topology_export_synthetic(topo, summary->synthetic,
                                        sizeof(summary->synthetic), flags);
    /* hwloc cannot describe an asymmetric machine, and truncates a
     * description too long for the buffer: fall back to the counts */
    if (n < 0 || (size_t)n >= sizeof(summary->synthetic)) {
        uint32_t cores_n = summary->cores ? summary->cores : summary->pus;
        uint32_t per_core =
            cores_n && summary->pus % cores_n == 0 ? summary->pus / cores_n : 1;

        snprintf(summary->synthetic, sizeof(summary->synthetic),
                 "Package:1 Core:%u PU:%u", (unsigned)cores_n,
                 (unsigned)per_core);
    }

    summary->free_cores[0] = '\0';
    if (summary->cores == 0)
        return 0;
    cores = hwloc_bitmap_alloc();
    if (!cores)
        return -ENOMEM;
    hwloc_bitmap_set_range(cores, 0, (int)summary->cores - 1);
    hwloc_bitmap_list_snprintf(summary->free_cores, sizeof(summary->free_cores),
                               cores);
    hwloc_bitmap_free(cores);
    return 0;
}

/* GPUs and coprocessors are hwloc OS devices, found only when the PCI
 * tree is walked; that costs tens of milliseconds, which a daemon pays
 * once at start. */
static uint32_t count_gpus(void)
{
    hwloc_topology_t topo;
    hwloc_obj_t obj = NULL;
    uint32_t n = 0;

    if (hwtopo_init(&topo) < 0)
        return 0;
    if (hwloc_topology_set_io_types_filter(topo,
                                           HWLOC_TYPE_FILTER_KEEP_IMPORTANT)
            < 0
        || hwloc_topology_load(topo) < 0) {
        hwloc_topology_destroy(topo);
        return 0;
    }
    while ((obj = hwloc_get_next_osdev(topo, obj)) != NULL) {
        if (obj->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU
            || obj->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC)
            n++;
    }
    hwloc_topology_destroy(topo);
    return n;
}

int node_summary_collect(const char *spec,
                         const char *cpus,
                         struct node_summary *summary,
                         shoal_error_t *error)
{
    hwloc_topology_t topo;
    uint32_t gpus = 0;
    bool here;
    int rc;

    memset(summary, 0, sizeof(*summary));
    if (!spec)
        spec = getenv("SHOAL_TOPOLOGY");
    here = !spec || !*spec;
    if (here)
        gpus = count_gpus();
    rc = topo_load_allowed(spec, cpus, &topo, error);
    if (rc < 0)
        return rc;
    rc = node_summary_from_topology(topo, summary);
    hwloc_topology_destroy(topo);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot describe the topology: %s",
                               shoal_strerror(rc));
    summary->gpus = gpus;
    if (gethostname(summary->hostname, sizeof(summary->hostname) - 1) < 0)
        snprintf(summary->hostname, sizeof(summary->hostname), "localhost");
    rc = node_summary_speed(&summary->speed, error);
    if (rc < 0)
        return rc;
    node_summary_refresh_load(summary);
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A chain of dependent multiplies and shifts: it measures the integer
 * pipeline and the clock, not memory, so it is stable from run to run. */
static uint64_t speed_kernel(uint64_t rounds, uint64_t x)
{
    for (uint64_t i = 0; i < rounds; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x *= 0x2545f4914f6cdd1dULL;
    }
    return x;
}

/* Rounds of speed_kernel() per millisecond on the reference machine (one
 * core of the 2-core build machines). */
static const double speed_ref_rounds_per_ms = 350000.0;

int node_summary_speed(uint32_t *speed, shoal_error_t *error)
{
    /* kept alive so the loop is not optimized away */
    static volatile uint64_t sink;
    uint64_t rounds = 1 << 14;
    double best = 0;
    double value;
    int rc;

    if (getenv(param_env_name(&node_summary_param_speed))) {
        rc = param_get_double(&node_summary_param_speed, 1, &value, error);
        if (rc < 0)
            return rc;
        *speed = value > 1e9 ? 1000000000u : (uint32_t)value;
        return 0;
    }
    /* grow the work until one run takes 5 ms, then keep the best of four
     * runs: a busy machine can only make a run slower */
    for (;;) {
        uint64_t t0 = now_ns();
        uint64_t dt;

        sink = speed_kernel(rounds, sink + 1);
        dt = now_ns() - t0;
        if (dt >= 5000000 || rounds >= (1ULL << 40))
            break;
        rounds *= 2;
    }
    for (int i = 0; i < 4; i++) {
        uint64_t t0 = now_ns();
        double per_ms;

        sink = speed_kernel(rounds, sink + 1);
        per_ms = (double)rounds * 1e6 / (double)(now_ns() - t0 + 1);
        if (per_ms > best)
            best = per_ms;
    }
    value = best / speed_ref_rounds_per_ms * NODE_SUMMARY_SPEED_REF;
    *speed = value < 1 ? 1 : value > 1e9 ? 1000000000u : (uint32_t)value;
    return 0;
}

int node_summary_refresh_load(struct node_summary *summary)
{
    double load;

    if (getloadavg(&load, 1) != 1)
        return -EIO;
    summary->load_milli = load > 4e6 ? 4000000000u : (uint32_t)(load * 1000);
    return 0;
}

static int put_string(struct wire_writer *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n > max)
        return -EINVAL;
    wire_put_u16(w, (uint16_t)n);
    wire_put_bytes(w, s, n);
    return 0;
}

int node_summary_encode(const struct node_summary *s,
                        void *buf,
                        size_t size,
                        size_t *len)
{
    struct wire_writer w;

    wire_writer_init(&w, buf, size);
    wire_put_u8(&w, NODE_SUMMARY_VERSION);
    wire_put_u8(&w, 0);
    if (put_string(&w, s->hostname, NODE_SUMMARY_HOSTNAME_MAX) < 0
        || put_string(&w, s->synthetic, NODE_SUMMARY_SYNTHETIC_MAX) < 0)
        return -EINVAL;
    wire_put_u32(&w, s->packages);
    wire_put_u32(&w, s->numa_nodes);
    wire_put_u32(&w, s->cores);
    wire_put_u32(&w, s->pus);
    wire_put_u64(&w, s->memory_bytes);
    wire_put_u32(&w, s->gpus);
    wire_put_u32(&w, s->speed);
    wire_put_u32(&w, s->load_milli);
    if (put_string(&w, s->free_cores, NODE_SUMMARY_FREE_MAX) < 0)
        return -EINVAL;
    wire_put_u64(&w, s->claims_generation);
    wire_put_u8(&w, s->owner);
    if (w.overflow)
        return -EMSGSIZE;
    *len = w.off;
    return 0;
}

/* Printable ASCII only: these strings end up on terminals. */
static bool text_ok(const char *s, size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (allowed ? !strchr(allowed, c) || c == '\0' : c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

static int get_string(struct wire_reader *r,
                      char *out,
                      size_t max,
                      const char *field,
                      const char *allowed,
                      shoal_error_t *error)
{
    size_t n = wire_get_be(r, 2, field);
    const uint8_t *text;

    if (r->short_)
        return 0;
    if (n > max)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: %s of %zu bytes (at most %zu)",
                               field, n, max);
    text = wire_get_bytes(r, n, field);
    if (r->short_)
        return 0;
    if (!text_ok((const char *)text, n, allowed))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: bad character in %s", field);
    memcpy(out, text, n);
    out[n] = '\0';
    return 0;
}

/* "0-3,6": increasing numbers and ranges separated by commas. */
static bool core_list_ok(const char *s)
{
    long prev = -1;

    if (!*s)
        return true;
    for (;;) {
        char *end;
        long a, b;

        if (*s < '0' || *s > '9')
            return false;
        a = strtol(s, &end, 10);
        b = a;
        if (*end == '-') {
            s = end + 1;
            if (*s < '0' || *s > '9')
                return false;
            b = strtol(s, &end, 10);
        }
        if (a <= prev || b < a || b > 1 << 20)
            return false;
        prev = b;
        if (!*end)
            return true;
        if (*end != ',')
            return false;
        s = end + 1;
    }
}

int node_summary_decode(const void *buf,
                        size_t len,
                        struct node_summary *s,
                        shoal_error_t *error)
{
    struct wire_reader r;
    unsigned version, flags;
    int rc;

    memset(s, 0, sizeof(*s));
    wire_reader_init(&r, buf, len);
    version = (unsigned)wire_get_be(&r, 1, "version");
    flags = (unsigned)wire_get_be(&r, 1, "flags");
    if (!r.short_ && version < 1)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: bad version %u", version);
    if (!r.short_ && flags != 0)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: unknown flags 0x%x", flags);
    rc = get_string(&r, s->hostname, NODE_SUMMARY_HOSTNAME_MAX, "hostname",
                    NULL, error);
    if (rc < 0)
        return rc;
    rc = get_string(&r, s->synthetic, NODE_SUMMARY_SYNTHETIC_MAX,
                    "synthetic topology", NULL, error);
    if (rc < 0)
        return rc;
    s->packages = (uint32_t)wire_get_be(&r, 4, "packages");
    s->numa_nodes = (uint32_t)wire_get_be(&r, 4, "numa nodes");
    s->cores = (uint32_t)wire_get_be(&r, 4, "cores");
    s->pus = (uint32_t)wire_get_be(&r, 4, "pus");
    s->memory_bytes = wire_get_be(&r, 8, "memory");
    s->gpus = (uint32_t)wire_get_be(&r, 4, "gpus");
    s->speed = (uint32_t)wire_get_be(&r, 4, "speed");
    s->load_milli = (uint32_t)wire_get_be(&r, 4, "load");
    rc = get_string(&r, s->free_cores, NODE_SUMMARY_FREE_MAX, "free cores",
                    "0123456789,-", error);
    if (rc < 0)
        return rc;
    s->claims_generation = wire_get_be(&r, 8, "claims generation");
    if (version >= 2)
        s->owner = (uint8_t)wire_get_be(&r, 1, "owner");
    if (r.short_)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: truncated in %s", r.short_field);
    if (!core_list_ok(s->free_cores))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: bad free core list '%s'",
                               s->free_cores);
    if (version <= NODE_SUMMARY_VERSION && r.left != 0)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "node summary: %zu trailing bytes", r.left);
    return 0;
}

const char *node_summary_owner_name(uint8_t owner)
{
    switch (owner) {
    case NODE_OWNER_DEDICATED:
        return "dedicated";
    case NODE_OWNER_AWAY:
        return "away";
    case NODE_OWNER_PRESENT:
        return "present";
    case NODE_OWNER_SUSPENDED:
        return "suspended";
    case NODE_OWNER_VACATING:
        return "vacating";
    case NODE_OWNER_CLOSED:
        return "closed";
    default:
        return "unknown";
    }
}
