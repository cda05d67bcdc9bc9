/* SPDX-License-Identifier: MIT */
/* taskd_attach.c - bag-of-tasks jobs served by the node daemon: the
 * "task.*" control ops on the daemon's control socket (taskd_control_op),
 * and the task frames and member events that join the node's taskd to the
 * pool. */
#include "runtime/tasks/taskd.h"

#include "runtime/owner/ownerd.h"

#include <hwloc.h>

#include "runtime/daemon/control.h"
#include "runtime/daemon/cores.h"
#include "runtime/daemon/daemon.h"

static int taskd_net_send(
    uint64_t node, uint8_t type, const void *body, size_t len, void *arg)
{
    return daemon_send(arg, node, type, body, len);
}

static const struct taskd_net_ops taskd_net = {.send = taskd_net_send};

static void taskd_daemon_frame(struct daemon *d,
                               uint64_t from,
                               uint8_t type,
                               const void *body,
                               size_t len,
                               void *arg)
{
    (void)d;
    taskd_frame(arg, from, type, body, len);
}

/* The number of cores in a list such as "0-3,6". */
static unsigned taskd_count_list(const char *list)
{
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int n = 0;

    if (set && hwloc_bitmap_list_sscanf(set, list) == 0)
        n = hwloc_bitmap_weight(set);
    hwloc_bitmap_free(set);
    return n > 0 ? (unsigned)n : 0;
}

static void taskd_daemon_member(struct daemon *d,
                                enum member_event_kind kind,
                                const struct daemon_member *m,
                                void *arg)
{
    (void)d;
    switch (kind) {
    case MEMBER_EVENT_JOIN:
    case MEMBER_EVENT_ALIVE:
    case MEMBER_EVENT_UPDATE:
        if (m->state == MEMBER_ALIVE || m->state == MEMBER_SUSPECT) {
            taskd_member(arg, m->id, TASKD_MEMBER_ALIVE);
            if (m->has_summary)
                taskd_member_size(arg, m->id, m->name, m->summary.cores,
                                  taskd_count_list(m->summary.free_cores));
        }
        break;
    case MEMBER_EVENT_DEAD:
        taskd_member(arg, m->id, TASKD_MEMBER_DEAD);
        break;
    case MEMBER_EVENT_LEAVE:
        taskd_member(arg, m->id, TASKD_MEMBER_LEFT);
        break;
    default:
        break;
    }
}

static void taskd_daemon_stats(struct daemon *d, json_t *stats, void *arg)
{
    (void)d;
    taskd_stats_json(arg, stats);
}

static int taskd_cores_claim(uint64_t key, int n, int *cores, void *arg)
{
    return cores_task_claim(arg, key, n, cores);
}

static void taskd_cores_release(uint64_t key, void *arg)
{
    cores_task_release(arg, key);
}

static int taskd_cores_free(void *arg)
{
    return cores_free_count(arg);
}

static bool taskd_cores_withheld(void *arg)
{
    return cores_withheld(arg);
}

static const struct taskd_cores_ops taskd_daemon_cores = {
    .claim = taskd_cores_claim,
    .release = taskd_cores_release,
    .free_count = taskd_cores_free,
    .withheld = taskd_cores_withheld,
};

static bool taskd_owner_vacating(void *arg)
{
    return ownerd_vacating(arg);
}

int taskd_attach(struct daemon *d,
                 struct cores *cores,
                 struct ownerd *owner,
                 const char *dir,
                 struct taskd **out,
                 shoal_error_t *error)
{
    struct taskd_config cfg = {.dir = dir, .node_id = daemon_node_id(d)};
    struct taskd *t;
    int rc = taskd_config_from_params(&cfg, error);

    if (rc == 0)
        rc = taskd_create(daemon_loop(d), &cfg, &t, error);
    if (rc == 0)
        taskd_set_usercred(t, daemon_usercred(d));
    for (size_t i = 0; rc == 0 && taskd_control_ops[i]; i++)
        rc = daemon_on_control_class(
            d, taskd_control_ops[i],
            taskd_control_op_class(taskd_control_ops[i]), taskd_control_op, t);
    if (rc == 0 && cores)
        taskd_set_cores(t, &taskd_daemon_cores, cores);
    if (rc == 0 && owner)
        taskd_set_vacating(t, taskd_owner_vacating, owner);
    if (rc == 0) {
        taskd_set_net(t, &taskd_net, d);
        rc = daemon_on_frame(d, TASKD_FRAME_FIRST, TASKD_FRAME_LAST,
                             taskd_daemon_frame, t);
    }
    if (rc == 0)
        rc = daemon_on_member(d, taskd_daemon_member, t);
    if (rc == 0)
        rc = daemon_on_stats(d, taskd_daemon_stats, t);
    if (rc < 0) {
        shoal_errprintf(error, rc, "cannot serve bag-of-tasks jobs: %s",
                        shoal_strerror(rc));
        return rc;
    }
    *out = t;
    return 0;
}
