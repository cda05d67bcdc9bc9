/* SPDX-License-Identifier: MIT */
/* usercred.h - who a job runs as on the node that runs it, and how that
 * node knows.
 *
 * The home learns the submitter from the control socket (SO_PEERCRED:
 * runtime/daemon/control.h), never from a message. A request that travels
 * to another node (a gang job's LAUNCH, the DESC of a task job in a GRANT)
 * carries a claim: {"uid": U, "gid": G, "scheme": "munge"|"pool",
 * "cred": "MUNGE:..."}. Two trust models:
 *
 *  - munge: the home has MUNGE encode a credential as the submitter (the
 *    `munge` command run under the submitter's uid and gid, so munged
 *    vouches for them), whose payload binds the job:
 *    "shoal-job/1 KIND HOME JOB" (KIND is gang or tasks, HOME and JOB in
 *    hex). The executing node decodes it with its munged and checks that
 *    the credential's uid and gid are the claim's and that the payload
 *    names this job. MUNGE refuses a forged credential and counts replays
 *    per munged: a gang job's credential is decoded once on each node, and
 *    a replay is refused. A task job's credential serves every lease of
 *    that job on a node (a worker verifies it once per job, and again after
 *    a restart, which MUNGE sees as a replay): a replay is accepted only
 *    for the job the payload names, so a captured credential cannot start
 *    anything else. The home issues a new one before the old expires.
 *  - pool: the claim carries no credential; the sealed channel already
 *    proves the sender holds the pool key, and its word about the uid is
 *    taken. Weaker: any member holding the pool key can claim any uid.
 *
 * `--credentials munge|pool|auto` chooses (auto: munge if munged answers,
 * else pool, said once in the log). A node in munge mode refuses a claim
 * without a MUNGE credential.
 *
 * Then the policy (usercred_decide, pure): a job of the daemon's own user
 * runs without a switch; a daemon not running as root runs nothing else;
 * a uid with an account here runs as it; a uid without one is refused
 * ("user 1234 does not exist on node NAME") or, with
 * `--unknown-user guest`, runs as the guest account.
 *
 * The pure parts (codec, payload, check, decide) are thread-safe; a
 * usercred_t is used from one thread. */
#ifndef SHOAL_RUNTIME_DAEMON_USERCRED_H
#define SHOAL_RUNTIME_DAEMON_USERCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <shoal/error.h>

#include "util/account.h"

enum usercred_mode {
    USERCRED_AUTO = 0,
    USERCRED_MUNGE,
    USERCRED_POOL,
};

enum usercred_unknown {
    USERCRED_UNKNOWN_REFUSE = 0,
    USERCRED_UNKNOWN_GUEST,
};

enum usercred_kind {
    USERCRED_GANG = 0,
    USERCRED_TASKS,
};

enum usercred_limit {
    USERCRED_PAYLOAD_MAX = 64,
    USERCRED_CRED_MAX = 4096,
};

/* "munge", "pool", "auto" and back. parse returns 0 or -EINVAL. */
int usercred_mode_parse(const char *text, enum usercred_mode *out);
const char *usercred_mode_name(enum usercred_mode mode);
/* "refuse", "guest". Returns 0 or -EINVAL. */
int usercred_unknown_parse(const char *text, enum usercred_unknown *out);

/* ---- the claim on the wire (pure) ---- */

struct usercred_claim {
    uint32_t uid, gid;
    enum usercred_mode scheme; /* USERCRED_MUNGE or USERCRED_POOL */
    char *cred;                /* the MUNGE credential (owned), or NULL */
};

/* A new JSON object for c (caller decrefs), or NULL when out of memory. */
json_t *usercred_claim_pack(const struct usercred_claim *c);

/* Decode o (borrowed; NULL is "missing") into c. Returns 0, or
 * SHOAL_EPROTO with error naming what is wrong ("no user credential",
 * "malformed user credential: ..."). c->cred is owned: release c with
 * usercred_claim_release(). */
int usercred_claim_unpack(const json_t *o,
                          struct usercred_claim *c,
                          shoal_error_t *error);
void usercred_claim_release(struct usercred_claim *c);

/* The payload a credential for (kind, home, job) carries, NUL-terminated,
 * in buf of USERCRED_PAYLOAD_MAX bytes. */
void usercred_payload(enum usercred_kind kind,
                      uint64_t home,
                      uint64_t job,
                      char buf[USERCRED_PAYLOAD_MAX]);

/* What a MUNGE decode said, for usercred_check. */
enum usercred_decode_status {
    USERCRED_DECODED_OK = 0,
    USERCRED_DECODED_REPLAYED, /* valid, but seen before by this munged */
    USERCRED_DECODED_INVALID,  /* forged, expired, or otherwise refused */
};

struct usercred_decoded {
    enum usercred_decode_status status;
    const char *why; /* MUNGE's reason, for INVALID */
    uint32_t uid, gid;
    const void *payload;
    size_t len;
};

/* Whether a decoded credential backs claim for (kind, home, job): valid,
 * not replayed (a task job's credential may be), the claim's uid and gid,
 * and the job's payload. Returns 0 or -EPERM with error saying why
 * ("credential refused: ..."). Pure. */
int usercred_check(const struct usercred_decoded *d,
                   const struct usercred_claim *claim,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   shoal_error_t *error);

/* ---- the policy (pure) ---- */

struct usercred_policy {
    uid_t daemon_uid; /* the daemon's effective uid */
    enum usercred_unknown unknown;
    const struct account *guest; /* the guest account, or NULL if none */
    const char *guest_name;      /* as configured, for messages */
    const char *node;            /* this node's name, for messages */
};

struct usercred_target {
    bool switch_user;       /* false: run as the daemon's own user */
    bool guest;             /* runs as the guest account */
    struct account account; /* valid when switch_user */
};

/* Decide who a job of uid/gid runs as, where account is uid's account
 * here or NULL when it has none. Returns 0 and fills out, or -EPERM with
 * error saying why, for the submitter ("user 1234 does not exist on node
 * 'b'"). */
int usercred_decide(const struct usercred_policy *p,
                    uint32_t uid,
                    uint32_t gid,
                    const struct account *account,
                    struct usercred_target *out,
                    shoal_error_t *error);

/* ---- a node's credentials ---- */

typedef struct usercred usercred_t;

struct usercred_config {
    enum usercred_mode mode;
    enum usercred_unknown unknown;
    const char *guest;        /* guest account name; NULL: "nobody" */
    const char *munge_socket; /* munged's socket; NULL: MUNGE's default */
    const char *node;         /* this node's name */
};

/* Make a node's credentials: auto is resolved now (munged asked once) and
 * the choice logged; munge without libmunge or without an answering
 * munged, or a guest policy naming no account, is an error. Returns 0 and
 * sets *out, or a negative code with error filled. */
int usercred_create(const struct usercred_config *config,
                    usercred_t **out,
                    shoal_error_t *error);
void usercred_destroy(usercred_t *uc);

/* USERCRED_MUNGE or USERCRED_POOL. */
enum usercred_mode usercred_scheme(const usercred_t *uc);

/* Issue the claim for uid/gid's job (kind, home, job) in *out (release
 * with usercred_claim_release). In munge mode this runs `munge` as the
 * user, once (a few milliseconds). Returns 0 or a negative code with error
 * filled. */
int usercred_issue(usercred_t *uc,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   uint32_t uid,
                   uint32_t gid,
                   struct usercred_claim *out,
                   shoal_error_t *error);

/* Verify a claim that came with (kind, home, job), then decide who runs
 * it (usercred_decide with this node's accounts). Returns 0 and fills
 * *target, or -EPERM with error for the submitter; the reason is also
 * logged. */
int usercred_admit(usercred_t *uc,
                   const struct usercred_claim *claim,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   struct usercred_target *target,
                   shoal_error_t *error);

/* Decide for a job submitted on this node (no credential to verify: the
 * uid came from the control socket). */
int usercred_admit_local(usercred_t *uc,
                         uint32_t uid,
                         uint32_t gid,
                         struct usercred_target *target,
                         shoal_error_t *error);

#endif
