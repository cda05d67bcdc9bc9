/* SPDX-License-Identifier: MIT */
/* pool_remote.h - a gang job over the pool, from the front end's side.
 *
 * `shoal run` on a node whose daemon runs hands the placement to the
 * daemon (the control op "gang-claim": place on the pool's free cores and
 * claim them all-or-nothing, see runtime/job/gangd.h), then coordinates the
 * job itself with pool_job, each node's frames travelling as 'D' frames
 * on the same control connection (u64 node id, job frame) through the
 * daemons to the nodes' proxies. The connection is the job's lifeline:
 * when it closes, for whatever reason, the daemons end the job's proxies
 * and give its cores back. */
#ifndef SHOAL_RUNTIME_JOB_POOL_REMOTE_H
#define SHOAL_RUNTIME_JOB_POOL_REMOTE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include <shoal/error.h>

#include "util/hostlist.h"
#include "runtime/job/pool_job.h"
#include "scheduler/map.h"

struct pool_remote_request {
    struct map_request map;
    const struct hostlist *hosts; /* -H and --hostfile; NULL: whole pool */
    double claim_timeout;         /* seconds to wait for free cores */
    FILE *report_bindings;        /* where to report bindings, or NULL */
    bool exclusive;               /* --exclusive: whole nodes only */
    /* a checkpointing job's record for the home's journal, sent with the
     * claim as its "journal" (runtime/job/gangd_journal.h); borrowed, or
     * NULL */
    const json_t *journal;
};

/* Place, claim and run the job described by config (its loop, node list
 * and job id are filled here) on the pool whose daemon listens at
 * ctl_fd, which is taken over and closed. Returns 0 when the job ran
 * (result says how it ended), or a negative code with error filled when
 * it could not start: SHOAL_ENOSLOTS (not enough free cores before the
 * claim timeout), SHOAL_ENOHOST (a -H host is not in the pool), -EINVAL,
 * or the error of the control connection. Installs signal handlers (via
 * pool_job) while the job runs; not reentrant. */
int pool_remote_run(int ctl_fd,
                    const struct pool_remote_request *req,
                    const struct pool_job_config *config,
                    struct pool_job_result *result,
                    shoal_error_t *error);

#endif
