/* SPDX-License-Identifier: MIT */
/* usercred_wire.c - the pure half of usercred.h: the claim's codec, the
 * payload that binds a credential to its job, the check of a decoded
 * credential, and the run-as policy. No I/O (the fuzz target builds it
 * alone). */
#include "runtime/daemon/usercred.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int usercred_mode_parse(const char *text, enum usercred_mode *out)
{
    if (strcmp(text, "auto") == 0)
        *out = USERCRED_AUTO;
    else if (strcmp(text, "munge") == 0)
        *out = USERCRED_MUNGE;
    else if (strcmp(text, "pool") == 0)
        *out = USERCRED_POOL;
    else
        return -EINVAL;
    return 0;
}

const char *usercred_mode_name(enum usercred_mode mode)
{
    switch (mode) {
    case USERCRED_MUNGE:
        return "munge";
    case USERCRED_POOL:
        return "pool";
    default:
        return "auto";
    }
}

int usercred_unknown_parse(const char *text, enum usercred_unknown *out)
{
    if (strcmp(text, "refuse") == 0)
        *out = USERCRED_UNKNOWN_REFUSE;
    else if (strcmp(text, "guest") == 0)
        *out = USERCRED_UNKNOWN_GUEST;
    else
        return -EINVAL;
    return 0;
}

/* ---- the claim ---- */

json_t *usercred_claim_pack(const struct usercred_claim *c)
{
    json_t *o = json_pack("{s:I, s:I, s:s}", "uid", (json_int_t)c->uid, "gid",
                          (json_int_t)c->gid, "scheme",
                          c->scheme == USERCRED_MUNGE ? "munge" : "pool");

    if (o && c->cred
        && json_object_set_new(o, "cred", json_string(c->cred)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int claim_id(const json_t *o, const char *key, uint32_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) >= (json_int_t)UINT32_MAX)
        return -1;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

int usercred_claim_unpack(const json_t *o,
                          struct usercred_claim *c,
                          shoal_error_t *error)
{
    const char *scheme, *cred;

    memset(c, 0, sizeof(*c));
    if (!o)
        return shoal_errprintf(error, SHOAL_EPROTO, "no user credential");
    if (!json_is_object(o))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "malformed user credential: not an object");
    if (claim_id(o, "uid", &c->uid) < 0 || claim_id(o, "gid", &c->gid) < 0)
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "malformed user credential: 'uid' and 'gid' "
                               "must be integers from 0 to %" PRIu32,
                               UINT32_MAX - 1);
    scheme = json_string_value(json_object_get(o, "scheme"));
    if (scheme && strcmp(scheme, "munge") == 0)
        c->scheme = USERCRED_MUNGE;
    else if (scheme && strcmp(scheme, "pool") == 0)
        c->scheme = USERCRED_POOL;
    else
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "malformed user credential: 'scheme' must be "
                               "\"munge\" or \"pool\"");
    cred = json_string_value(json_object_get(o, "cred"));
    if (c->scheme == USERCRED_MUNGE
        && (!cred || !*cred || strlen(cred) > USERCRED_CRED_MAX))
        return shoal_errprintf(error, SHOAL_EPROTO,
                               "malformed user credential: scheme munge needs "
                               "a 'cred' of 1 to %d characters",
                               USERCRED_CRED_MAX);
    if (c->scheme == USERCRED_MUNGE && !(c->cred = strdup(cred)))
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    return 0;
}

void usercred_claim_release(struct usercred_claim *c)
{
    if (!c)
        return;
    free(c->cred);
    c->cred = NULL;
}

void usercred_payload(enum usercred_kind kind,
                      uint64_t home,
                      uint64_t job,
                      char buf[USERCRED_PAYLOAD_MAX])
{
    snprintf(buf, USERCRED_PAYLOAD_MAX,
             "shoal-job/1 %s %016" PRIx64 " %016" PRIx64,
             kind == USERCRED_GANG ? "gang" : "tasks", home, job);
}

int usercred_check(const struct usercred_decoded *d,
                   const struct usercred_claim *claim,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   shoal_error_t *error)
{
    char want[USERCRED_PAYLOAD_MAX];

    if (d->status == USERCRED_DECODED_INVALID)
        return shoal_errprintf(error, -EPERM, "credential refused: %s",
                               d->why ? d->why : "invalid");
    if (d->status == USERCRED_DECODED_REPLAYED && kind != USERCRED_TASKS)
        return shoal_errprintf(error, -EPERM,
                               "credential refused: replayed credential");
    if (d->uid != claim->uid || d->gid != claim->gid)
        return shoal_errprintf(
            error, -EPERM,
            "credential refused: it is for uid %" PRIu32 " gid %" PRIu32
            ", the request claims uid %" PRIu32 " gid %" PRIu32,
            d->uid, d->gid, claim->uid, claim->gid);
    usercred_payload(kind, home, job, want);
    if (!d->payload || d->len != strlen(want)
        || memcmp(d->payload, want, d->len) != 0)
        return shoal_errprintf(error, -EPERM,
                               "credential refused: it was issued for another "
                               "job");
    return 0;
}

/* ---- the policy ---- */

int usercred_decide(const struct usercred_policy *p,
                    uint32_t uid,
                    uint32_t gid,
                    const struct account *account,
                    struct usercred_target *out,
                    shoal_error_t *error)
{
    memset(out, 0, sizeof(*out));
    if (uid == (uint32_t)p->daemon_uid)
        return 0;
    if (p->daemon_uid != 0)
        return shoal_errprintf(error, -EPERM,
                               "the daemon on node '%s' runs as uid %u, not "
                               "root, and runs only that user's jobs, not "
                               "those of user %" PRIu32,
                               p->node, (unsigned)p->daemon_uid, uid);
    if (account) {
        out->switch_user = true;
        out->account = *account;
        out->account.gid = gid;
        return 0;
    }
    if (p->unknown == USERCRED_UNKNOWN_REFUSE)
        return shoal_errprintf(error, -EPERM,
                               "user %" PRIu32 " does not exist on node '%s'",
                               uid, p->node);
    if (!p->guest)
        return shoal_errprintf(error, -EPERM,
                               "user %" PRIu32 " does not exist on node '%s', "
                               "and its guest account '%s' does not either",
                               uid, p->node,
                               p->guest_name ? p->guest_name : "?");
    out->switch_user = true;
    out->guest = true;
    out->account = *p->guest;
    return 0;
}
