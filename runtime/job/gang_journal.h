/* SPDX-License-Identifier: MIT */
/* gang_journal.h - the home node's durable record of checkpointing gang
 * jobs (SQLite).
 *
 * A gang job run on the pool with `shoal run --checkpoint` is coordinated
 * by its `shoal run`, which learns (with --replicas R) where every version
 * of every rank lives (runtime/job/ckpt_copies.h), or (without) keeps
 * them in a directory every node shares. That process may die (a closed
 * terminal, a killed session), and so may the home's daemon: the journal
 * keeps what a new coordinator needs to carry the job on, in the home
 * daemon's state directory (`STATE/gang-jobs.db`, beside the tasks'
 * `jobs.db`):
 *
 *   - the job: its key (job-STAMP-HOST-PID, the checkpoints' key on every
 *     node), its submitter's uid, what to run (the spec, JSON text written
 *     by the front end: its arguments, directory and environment), its
 *     ranks and replicas, its state, its runs and restarts so far, and
 *     the coordinator of the current run (pid and start time, so a pid
 *     reused by another process does not count as the coordinator);
 *   - each run's placement (JSON text: the node of every rank);
 *   - with --replicas, per rank and version, the nodes holding a
 *     committed copy (the rank's own node first, then the copies), as the
 *     job's proxies report them (CKPT_COPIES), and the version the
 *     coordinator last pinned (CKPT_KEEP): the journal forgets what the
 *     nodes removed, exactly as ckpt_copies does.
 *
 * The job's version is the newest version every rank has a copy of: the
 * only kind a restart may start from. A job that ends well is removed; one
 * that failed or lost its coordinator stays until it is resumed and ends
 * well, or is removed.
 *
 * Durability: WAL mode, synchronous=NORMAL: a crash of the daemon loses
 * nothing; a power loss may lose the last copies reported, so a restart
 * starts from an older version (never from one that is not whole). The
 * file is readable by its owner alone (the specs hold environments). Not
 * thread-safe: one journal per thread (the daemon's loop). */
#ifndef SHOAL_RUNTIME_JOB_GANG_JOURNAL_H
#define SHOAL_RUNTIME_JOB_GANG_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

enum gang_journal_state {
    GANG_JOURNAL_RUNNING = 0, /* a coordinator runs it (or did, and died) */
    GANG_JOURNAL_FAILED = 1,  /* its last run failed and it was not resumed */
};

enum gang_journal_limit {
    GANG_JOURNAL_KEY_MAX = 200,        /* bytes of a key */
    GANG_JOURNAL_SPEC_MAX = 1 << 20,   /* bytes of a spec */
    GANG_JOURNAL_HOLDERS = 16,         /* nodes remembered per version */
    GANG_JOURNAL_NRANKS_MAX = 1 << 24, /* as a gang-claim's */
};

typedef struct gang_journal gang_journal_t;

/* What a coordinator tells the journal when a run of its job starts. */
struct gang_journal_run {
    const char *key;    /* the job's key */
    uint32_t uid;       /* its submitter */
    const char *spec;   /* JSON text (kept as it is), at most SPEC_MAX */
    int nranks;         /* 0: not known before the job is placed (one rank per
                           slot); a job's count is never set back to 0 */
    int replicas;       /* >= 0 */
    int run;            /* 0 for the first */
    int restarts;       /* restarts after failures used up so far */
    int64_t pid;        /* the coordinator's */
    uint64_t pid_start; /* its start time (/proc/PID/stat field 22) */
    double now;         /* seconds since the epoch */
};

struct gang_journal_copy {
    int rank;
    int version;
    int nnodes;
    uint64_t nodes[GANG_JOURNAL_HOLDERS];
};

/* A job as the journal holds it (gang_journal_get()); release with
 * gang_journal_job_release(). */
struct gang_journal_job {
    char *key;
    uint32_t uid;
    char *spec;
    int nranks, replicas;
    enum gang_journal_state state;
    int run, restarts;
    int kept;   /* the version the coordinator last pinned; 0 none */
    int status; /* the last run's exit status when FAILED, else -1 */
    int64_t pid;
    uint64_t pid_start;
    double created, updated;
    char *placement; /* JSON text of the current run's, or NULL */
    struct gang_journal_copy *copies; /* by rank, then version */
    size_t ncopies;
};

/* Open (creating it if need be, mode 0600) the journal at path. A damaged
 * file is refused as it is (-EUCLEAN, error says how to move it aside).
 * Returns 0 and sets *out, or a negative errno with error filled. */
int gang_journal_open(const char *path,
                      gang_journal_t **out,
                      shoal_error_t *error);

/* Close j; NULL is accepted. */
void gang_journal_close(gang_journal_t *j);

/* A run of a job starts: the job is added, or (the same key) updated with
 * the run's number, restarts and coordinator, and set RUNNING; its spec is
 * replaced and its placement cleared. Returns 0, -EINVAL for a field out
 * of range (error names it), -EPERM when the key is another uid's, or a
 * journal error. */
int gang_journal_start(gang_journal_t *j,
                       const struct gang_journal_run *run,
                       shoal_error_t *error);

/* The current run of key is placed: placement is JSON text, and the job
 * has nranks ranks (> 0; 0 leaves the count known before). Returns 0,
 * -ENOENT for an unknown key, or a journal error. */
int gang_journal_place(gang_journal_t *j,
                       const char *key,
                       const char *placement,
                       int nranks);

/* Version of rank of key is held by nodes[0..n-1] (merged with the nodes
 * known, at most GANG_JOURNAL_HOLDERS kept). A version older than the
 * one before the pinned version is ignored (the nodes removed it).
 * Returns 0, -ENOENT for an unknown key, -EINVAL for a rank out of range,
 * version < 1 or n < 1, or a journal error. */
int gang_journal_add_copy(gang_journal_t *j,
                          const char *key,
                          int rank,
                          int version,
                          const uint64_t *nodes,
                          int n);

/* The coordinator pinned version (CKPT_KEEP): when it is newer than the
 * last pinned one, the copies older than the last pinned one are
 * forgotten (the proxies remove them), as ckpt_copies_forget_below.
 * Returns 0, -ENOENT for an unknown key, or a journal error. */
int gang_journal_keep(gang_journal_t *j, const char *key, int version);

/* Version of rank turned out to exist nowhere: forget it. Returns 0,
 * -ENOENT for an unknown key, or a journal error. */
int gang_journal_drop(gang_journal_t *j,
                      const char *key,
                      int rank,
                      int version);

/* The job's last run ended with exit status: 0 removes the job and its
 * copies; anything else sets it FAILED. Returns 0, -ENOENT for an unknown
 * key, or a journal error. */
int gang_journal_end(gang_journal_t *j, const char *key, int status);

/* Remove key and its copies. Returns 0, -ENOENT, or a journal error. */
int gang_journal_remove(gang_journal_t *j, const char *key);

/* Fill *out with key's record. Returns 0, -ENOENT, -ENOMEM or a journal
 * error; on failure *out is left empty. */
int gang_journal_get(gang_journal_t *j,
                     const char *key,
                     struct gang_journal_job *out);

/* The keys of every job, oldest first: sets *keys (caller frees each and
 * the array) and *n. Returns 0, -ENOMEM or a journal error. */
int gang_journal_keys(gang_journal_t *j, char ***keys, size_t *n);

/* The job's version: the newest version every rank has a copy of, 0 when
 * there is none. Pure. */
int gang_journal_version(const struct gang_journal_job *job);

/* Free what job holds and empty it; NULL and an empty job are accepted. */
void gang_journal_job_release(struct gang_journal_job *job);

#endif
