/* SPDX-License-Identifier: MIT */
/* ckpt_survey.h - the ckpt.pool-list op (ckpt_service.h): what every
 * live node of the pool keeps of jobs' checkpoints, asked with LIST and
 * answered with LISTED frames (ckpt_wire.h), put together by ckpt_view.h.
 *
 * The op lists this node's own at once (no frame), sends LIST to every
 * other alive or suspect member, and replies when all of them answered
 * their last LISTED, or when the survey's time (ckpt_list_timeout, 2 s)
 * is up, whichever comes first. Nodes that did not answer are named in
 * the reply with why (no answer in time, dead, left, the link refused the
 * frame): the listing is then what the others hold. A node that dies
 * while asked counts as not answering at once. LISTED frames from nodes
 * not asked, or for a survey that ended, are dropped. A node answers a
 * LIST by walking its state directory on the loop (as ckpt.list does), at
 * most CKPT_WIRE_LIST_TOTAL versions, and says when it held more. On the
 * daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_SURVEY_H
#define SHOAL_RUNTIME_CKPT_CKPT_SURVEY_H

#include <stdint.h>

#include "runtime/ckpt/ckpt_service_private.h"
#include "runtime/ckpt/ckpt_wire.h"

/* ckpt.pool-list {"key": PREFIX, "timeout": SECONDS}: both optional
 * (PREFIX "" lists all, SECONDS defaults to ckpt_list_timeout). Replies
 * {"jobs": ckpt_view_json(), "nodes": [{"node", "name", "versions",
 * "truncated"}...] (the nodes listed, this one first), "missing":
 * [{"node", "name", "why"}...], "timeout": SECONDS}. arg is the service. */
void ckpt_survey_op(control_conn_t *conn, json_t *req, void *arg);

/* A LIST frame from node: answer it with LISTED frames. */
void ckpt_survey_on_list(struct ckpt_service *svc,
                         uint64_t from,
                         const struct ckpt_msg *m);

/* A LISTED frame from node. */
void ckpt_survey_on_listed(struct ckpt_service *svc,
                           uint64_t from,
                           const struct ckpt_msg *m);

/* Node is dead or left: surveys waiting for it stop waiting. */
void ckpt_survey_node_gone(struct ckpt_service *svc, uint64_t node);

/* Reply to the surveys whose time is up (now: the loop's ms). */
void ckpt_survey_tick(struct ckpt_service *svc, uint64_t now);

/* Free every survey without a reply (the service is going). */
void ckpt_survey_free_all(struct ckpt_service *svc);

#endif
