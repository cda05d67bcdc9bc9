/* SPDX-License-Identifier: MIT */
/* Unit tests of runtime/daemon/usercred.h: the claim's codec, the payload
 * binding a credential to its job, the check of a decoded credential
 * (forged, replayed, another user's, another job's), the run-as policy,
 * and a node's credentials in the pool key's trust model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <jansson.h>

#include "runtime/daemon/usercred.h"

TestSuite(usercred, .timeout = 20);

Test(usercred, modes_parse)
{
    enum usercred_mode m;
    enum usercred_unknown u;

    cr_assert(eq(int, usercred_mode_parse("munge", &m), 0));
    cr_assert(eq(int, m, USERCRED_MUNGE));
    cr_assert(eq(int, usercred_mode_parse("pool", &m), 0));
    cr_assert(eq(int, m, USERCRED_POOL));
    cr_assert(eq(int, usercred_mode_parse("auto", &m), 0));
    cr_assert(eq(int, m, USERCRED_AUTO));
    cr_assert(eq(int, usercred_mode_parse("MUNGE", &m), -EINVAL));
    cr_assert(eq(int, usercred_unknown_parse("guest", &u), 0));
    cr_assert(eq(int, u, USERCRED_UNKNOWN_GUEST));
    cr_assert(eq(int, usercred_unknown_parse("refuse", &u), 0));
    cr_assert(eq(int, u, USERCRED_UNKNOWN_REFUSE));
    cr_assert(eq(int, usercred_unknown_parse("nobody", &u), -EINVAL));
    cr_assert(eq(str, (char *)usercred_mode_name(USERCRED_POOL), "pool"));
}

Test(usercred, claim_round_trips)
{
    struct usercred_claim a = {.uid = 65534,
                               .gid = 65533,
                               .scheme = USERCRED_MUNGE,
                               .cred = "MUNGE:abc:"},
                          b, c;
    json_t *o = usercred_claim_pack(&a);

    cr_assert(not(eq(ptr, o, NULL)));
    cr_assert(eq(int, usercred_claim_unpack(o, &b, NULL), 0));
    cr_assert(eq(u32, b.uid, 65534));
    cr_assert(eq(u32, b.gid, 65533));
    cr_assert(eq(int, b.scheme, USERCRED_MUNGE));
    cr_assert(eq(str, b.cred, "MUNGE:abc:"));
    json_decref(o);
    usercred_claim_release(&b);

    a = (struct usercred_claim){.uid = 7, .gid = 8, .scheme = USERCRED_POOL};
    o = usercred_claim_pack(&a);
    cr_assert(eq(int, usercred_claim_unpack(o, &c, NULL), 0));
    cr_assert(eq(int, c.scheme, USERCRED_POOL));
    cr_assert(eq(ptr, c.cred, NULL));
    cr_assert(eq(ptr, json_object_get(o, "cred"), NULL));
    json_decref(o);
    usercred_claim_release(&c);
}

/* Each malformed claim is refused with a reason naming what is wrong. */
Test(usercred, bad_claims_are_refused)
{
    static const struct {
        const char *json, *why;
    } cases[] = {
        {"[1]", "not an object"},
        {"{\"gid\": 1, \"scheme\": \"pool\"}", "'uid' and 'gid'"},
        {"{\"uid\": -1, \"gid\": 1, \"scheme\": \"pool\"}", "'uid' and 'gid'"},
        {"{\"uid\": 4294967295, \"gid\": 1, \"scheme\": \"pool\"}",
         "'uid' and 'gid'"},
        {"{\"uid\": \"0\", \"gid\": 1, \"scheme\": \"pool\"}",
         "'uid' and 'gid'"},
        {"{\"uid\": 1, \"gid\": 1}", "'scheme'"},
        {"{\"uid\": 1, \"gid\": 1, \"scheme\": \"root\"}", "'scheme'"},
        {"{\"uid\": 1, \"gid\": 1, \"scheme\": \"munge\"}", "'cred'"},
        {"{\"uid\": 1, \"gid\": 1, \"scheme\": \"munge\", \"cred\": \"\"}",
         "'cred'"},
    };
    struct usercred_claim c;
    shoal_error_t error;

    cr_assert(eq(int, usercred_claim_unpack(NULL, &c, &error), SHOAL_EPROTO));
    cr_assert(eq(str, error.text, "no user credential"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = json_loads(cases[i].json, 0, NULL);

        cr_assert(not(eq(ptr, o, NULL)), "%s", cases[i].json);
        cr_assert(eq(int, usercred_claim_unpack(o, &c, &error), SHOAL_EPROTO),
                  "%s", cases[i].json);
        cr_assert(not(eq(ptr, strstr(error.text, cases[i].why), NULL)),
                  "%s: %s", cases[i].json, error.text);
        json_decref(o);
    }
}

Test(usercred, payload_binds_kind_home_and_job)
{
    char a[USERCRED_PAYLOAD_MAX], b[USERCRED_PAYLOAD_MAX];

    usercred_payload(USERCRED_GANG, 0x1122334455667788ULL, 42, a);
    cr_assert(eq(str, a, "shoal-job/1 gang 1122334455667788 000000000000002a"));
    usercred_payload(USERCRED_TASKS, 0x1122334455667788ULL, 42, b);
    cr_assert(not(eq(str, a, b)));
    usercred_payload(USERCRED_GANG, 0x1122334455667788ULL, 43, b);
    cr_assert(not(eq(str, a, b)));
}

/* A decoded credential as MUNGE would give it for (kind, home, job). */
static struct usercred_decoded decoded(enum usercred_decode_status status,
                                       uint32_t uid,
                                       uint32_t gid,
                                       const char *payload)
{
    return (struct usercred_decoded){.status = status,
                                     .why = "Invalid credential",
                                     .uid = uid,
                                     .gid = gid,
                                     .payload = payload,
                                     .len = payload ? strlen(payload) : 0};
}

Test(usercred, check_accepts_the_jobs_own_credential)
{
    struct usercred_claim claim = {
        .uid = 65534, .gid = 65534, .scheme = USERCRED_MUNGE, .cred = "x"};
    char p[USERCRED_PAYLOAD_MAX];
    struct usercred_decoded d;
    shoal_error_t error;

    usercred_payload(USERCRED_GANG, 5, 9, p);
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, p);
    cr_assert(
        eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error), 0));
    /* a gang job's credential is decoded once per node: a replay is not
     * accepted */
    d.status = USERCRED_DECODED_REPLAYED;
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    cr_assert(eq(str, error.text, "credential refused: replayed credential"));
    /* a task job's serves all its leases: a replay is, for that job only */
    usercred_payload(USERCRED_TASKS, 5, 9, p);
    d = decoded(USERCRED_DECODED_REPLAYED, 65534, 65534, p);
    cr_assert(
        eq(int, usercred_check(&d, &claim, USERCRED_TASKS, 5, 9, &error), 0));
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_TASKS, 5, 10, &error),
                 -EPERM));
    cr_assert(eq(str, error.text,
                 "credential refused: it was issued for another job"));
}

Test(usercred, check_refuses_forged_and_mismatched_credentials)
{
    struct usercred_claim claim = {
        .uid = 65534, .gid = 65534, .scheme = USERCRED_MUNGE, .cred = "x"};
    char p[USERCRED_PAYLOAD_MAX], other[USERCRED_PAYLOAD_MAX];
    struct usercred_decoded d;
    shoal_error_t error;

    usercred_payload(USERCRED_GANG, 5, 9, p);
    /* forged or expired: MUNGE's reason is passed on */
    d = decoded(USERCRED_DECODED_INVALID, 0, 0, NULL);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    cr_assert(eq(str, error.text, "credential refused: Invalid credential"));
    /* a credential of root claimed as nobody's, and the reverse */
    d = decoded(USERCRED_DECODED_OK, 0, 0, p);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    cr_assert(not(eq(ptr,
                     strstr(error.text, "it is for uid 0 gid 0, the "
                                        "request claims uid 65534"),
                     NULL)),
              "%s", error.text);
    d = decoded(USERCRED_DECODED_OK, 65534, 0, p);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    /* another job's, another home's, another kind's, or none */
    usercred_payload(USERCRED_GANG, 5, 8, other);
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, other);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    usercred_payload(USERCRED_GANG, 6, 9, other);
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, other);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    usercred_payload(USERCRED_TASKS, 5, 9, other);
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, other);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, NULL);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
    /* a payload with the job's text as its prefix only */
    snprintf(other, sizeof(other), "%sX", p);
    d = decoded(USERCRED_DECODED_OK, 65534, 65534, other);
    cr_assert(eq(int, usercred_check(&d, &claim, USERCRED_GANG, 5, 9, &error),
                 -EPERM));
}

static const struct account test_guest = {
    .uid = 65534, .gid = 65534, .name = "nobody", .home = "/nonexistent"};
static const struct account test_user = {
    .uid = 1000, .gid = 1000, .name = "ann", .home = "/home/ann"};

Test(usercred, decide_follows_the_policy)
{
    struct usercred_policy p = {.daemon_uid = 0,
                                .unknown = USERCRED_UNKNOWN_REFUSE,
                                .guest = &test_guest,
                                .guest_name = "nobody",
                                .node = "b"};
    struct usercred_target t;
    shoal_error_t error;

    /* the daemon's own user: no switch */
    cr_assert(eq(int, usercred_decide(&p, 0, 0, NULL, &t, &error), 0));
    cr_assert(not(t.switch_user));
    /* a known user: as that user, with the submitter's gid */
    cr_assert(
        eq(int, usercred_decide(&p, 1000, 100, &test_user, &t, &error), 0));
    cr_assert(t.switch_user);
    cr_assert(not(t.guest));
    cr_assert(eq(u32, (uint32_t)t.account.uid, 1000));
    cr_assert(eq(u32, (uint32_t)t.account.gid, 100));
    cr_assert(eq(str, t.account.name, "ann"));
    /* an unknown uid: refused by default */
    cr_assert(
        eq(int, usercred_decide(&p, 4242, 4242, NULL, &t, &error), -EPERM));
    cr_assert(eq(str, error.text, "user 4242 does not exist on node 'b'"));
    /* or run as the guest */
    p.unknown = USERCRED_UNKNOWN_GUEST;
    cr_assert(eq(int, usercred_decide(&p, 4242, 4242, NULL, &t, &error), 0));
    cr_assert(t.switch_user);
    cr_assert(t.guest);
    cr_assert(eq(u32, (uint32_t)t.account.uid, 65534));
    cr_assert(eq(str, t.account.home, "/nonexistent"));
    /* a guest policy without its account refuses */
    p.guest = NULL;
    cr_assert(
        eq(int, usercred_decide(&p, 4242, 4242, NULL, &t, &error), -EPERM));
    cr_assert(not(eq(ptr, strstr(error.text, "guest account 'nobody'"), NULL)));
    /* a daemon that is not root runs its own user's jobs only */
    p.daemon_uid = 1000;
    cr_assert(
        eq(int, usercred_decide(&p, 1000, 1000, &test_user, &t, &error), 0));
    cr_assert(not(t.switch_user));
    cr_assert(eq(int, usercred_decide(&p, 0, 0, NULL, &t, &error), -EPERM));
    cr_assert(eq(int,
                 usercred_decide(&p, 65534, 65534, &test_guest, &t, &error),
                 -EPERM));
    cr_assert(
        not(eq(ptr, strstr(error.text, "runs as uid 1000, not root"), NULL)),
        "%s", error.text);
}

/* The pool key's trust: the claim carries no credential and is taken. */
Test(usercred, pool_trust_takes_the_claim)
{
    struct usercred_config cfg = {.mode = USERCRED_POOL, .node = "a"};
    struct usercred_claim claim, munge_claim = {.uid = 65534,
                                                .gid = 65534,
                                                .scheme = USERCRED_MUNGE,
                                                .cred = "MUNGE:x"};
    struct usercred_target t;
    shoal_error_t error;
    usercred_t *uc = NULL;

    cr_assert(eq(int, usercred_create(&cfg, &uc, &error), 0), "%s", error.text);
    cr_assert(eq(int, usercred_scheme(uc), USERCRED_POOL));
    cr_assert(eq(
        int,
        usercred_issue(uc, USERCRED_GANG, 1, 2, 65534, 65534, &claim, &error),
        0));
    cr_assert(eq(int, claim.scheme, USERCRED_POOL));
    cr_assert(eq(ptr, claim.cred, NULL));
    if (geteuid() == 0) {
        cr_assert(
            eq(int, usercred_admit(uc, &claim, USERCRED_GANG, 1, 2, &t, &error),
               0),
            "%s", error.text);
        cr_assert(t.switch_user);
        cr_assert(eq(u32, (uint32_t)t.account.uid, 65534));
        /* a uid without an account here: refused by default */
        claim.uid = claim.gid = 4242;
        cr_assert(
            eq(int, usercred_admit(uc, &claim, USERCRED_GANG, 1, 2, &t, &error),
               -EPERM));
        cr_assert(eq(str, error.text, "user 4242 does not exist on node 'a'"));
        /* a MUNGE claim is taken on its word too in this mode */
        cr_assert(eq(
            int,
            usercred_admit(uc, &munge_claim, USERCRED_GANG, 1, 2, &t, &error),
            0));
    }
    usercred_destroy(uc);
}

/* Asked for MUNGE where munged does not answer: a clear error, not a
 * silent fallback. */
Test(usercred, munge_without_munged_is_an_error)
{
    struct usercred_config cfg = {.mode = USERCRED_MUNGE,
                                  .node = "a",
                                  .munge_socket = "/nonexistent/munge.sock"};
    shoal_error_t error;
    usercred_t *uc = NULL;

    cr_assert(not(eq(int, usercred_create(&cfg, &uc, &error), 0)));
    cr_assert(eq(ptr, uc, NULL));
    cr_assert(not(eq(ptr, strstr(error.text, "--credentials munge"), NULL)),
              "%s", error.text);
    /* auto falls back to the pool key's trust */
    cfg.mode = USERCRED_AUTO;
    cr_assert(eq(int, usercred_create(&cfg, &uc, &error), 0), "%s", error.text);
    cr_assert(eq(int, usercred_scheme(uc), USERCRED_POOL));
    usercred_destroy(uc);
    /* a guest policy naming no account is refused at start */
    cfg = (struct usercred_config){.mode = USERCRED_POOL,
                                   .unknown = USERCRED_UNKNOWN_GUEST,
                                   .guest = "no-such-user-here",
                                   .node = "a"};
    cr_assert(eq(int, usercred_create(&cfg, &uc, &error), SHOAL_EUSAGE));
    cr_assert(eq(str, error.text,
                 "guest account 'no-such-user-here' does not exist"));
}
