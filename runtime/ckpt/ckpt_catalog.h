/* SPDX-License-Identifier: MIT */
/* ckpt_catalog.h - the ckpt.list, ckpt.remove and ckpt.forget ops
 * (ckpt_service.h): the copies this node keeps for others under
 * STATE/ckpt, listed with their sizes, and removed by version (with what
 * is staged for them); a whole job's checkpoints forgotten on every node;
 * and the sweep of what no job came back for. Each answers at once from
 * the file system; arg is the service. On the daemon's loop only. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_CATALOG_H
#define SHOAL_RUNTIME_CKPT_CKPT_CATALOG_H

#include "runtime/ckpt/ckpt_service_private.h"

void ckpt_catalog_list(control_conn_t *conn, json_t *req, void *arg);

/* A version a node keeps: its store's key, number, the bytes and number
 * of its files (MANIFEST and COMMITTED aside), whether it is committed.
 * Return nonzero to stop the walk. */
typedef int ckpt_catalog_entry_f(const char *key,
                                 int version,
                                 uint64_t bytes,
                                 int files,
                                 bool committed,
                                 void *arg);

/* Call fn for every version of the stores at and below prefix ("" for
 * all; checked with ckpt_key_check()) under STATE/ckpt (the copies), or
 * with originals under STATE/ckpt-jobs (the ranks' own directories, keys
 * JOBKEY/runK/rankN), at most CKPT_LIST_DEPTH levels deep, in directory
 * order. Returns 0, fn's nonzero value when it stopped the walk, -EINVAL
 * or -ENAMETOOLONG. Reads the file system on the caller's thread. */
int ckpt_catalog_walk(struct ckpt_service *svc,
                      bool originals,
                      const char *prefix,
                      ckpt_catalog_entry_f *fn,
                      void *arg);
void ckpt_catalog_remove(control_conn_t *conn, json_t *req, void *arg);

/* ckpt.forget {"key": JOBKEY}: remove what this node keeps for the job
 * (ckpt_catalog_forget_job()) and send FORGET to every other live node;
 * replies {"nodes": N}, the nodes told. */
void ckpt_catalog_forget(control_conn_t *conn, json_t *req, void *arg);

/* Remove everything this node keeps for job key (one component): the
 * copies under STATE/ckpt/KEY and the job's node-local checkpoints under
 * STATE/ckpt-jobs/KEY. Returns 0 or a negative errno (-EINVAL for a key
 * that is not a job's). */
int ckpt_catalog_forget_job(struct ckpt_service *svc, const char *key);

/* Remove the jobs under STATE/ckpt and STATE/ckpt-jobs in which nothing
 * changed for retain seconds (now: the wall clock): what a node that was
 * away when its job ended, or a job that failed and was never looked
 * into, left behind. Returns the number of jobs removed. */
int ckpt_catalog_sweep(struct ckpt_service *svc, double retain, double now);

#endif
