/* SPDX-License-Identifier: MIT */
/* usercred.c - user claims between daemons: MUNGE credentials or the pool
 * key's word, and who a job runs as here. */
#include "runtime/daemon/usercred.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_MUNGE
#include <munge.h>
#endif

#include "util/log.h"
#include "util/spawn.h"

/* ---- a node's credentials ---- */

struct usercred {
    enum usercred_mode scheme;
    enum usercred_unknown unknown;
    char *guest_name;
    struct account guest;
    bool has_guest;
    char *munge_socket;
    char *node;
    char *munge_path; /* the munge command */
#ifdef HAVE_MUNGE
    munge_ctx_t ctx;
#endif
};

#ifdef HAVE_MUNGE
/* Whether munged answers: encode and decode an empty credential. */
static int usercred_munge_probe(usercred_t *uc, shoal_error_t *error)
{
    char *cred = NULL;
    munge_err_t e = munge_encode(&cred, uc->ctx, NULL, 0);

    if (e == EMUNGE_SUCCESS)
        e = munge_decode(cred, uc->ctx, NULL, NULL, NULL, NULL);
    free(cred);
    if (e != EMUNGE_SUCCESS)
        return shoal_errprintf(error, -EHOSTDOWN, "munged does not answer: %s",
                               munge_ctx_strerror(uc->ctx));
    return 0;
}
#endif

int usercred_create(const struct usercred_config *config,
                    usercred_t **out,
                    shoal_error_t *error)
{
    usercred_t *uc = calloc(1, sizeof(*uc));
    shoal_error_t why = {{0}};
    int rc = 0;

    if (!uc)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    uc->unknown = config->unknown;
    uc->guest_name = strdup(config->guest ? config->guest : "nobody");
    uc->node = strdup(config->node ? config->node : "?");
    if (config->munge_socket)
        uc->munge_socket = strdup(config->munge_socket);
    if (!uc->guest_name || !uc->node
        || (config->munge_socket && !uc->munge_socket)) {
        rc = shoal_errprintf(error, -ENOMEM, "out of memory");
        goto error;
    }
    uc->has_guest = account_by_name(uc->guest_name, &uc->guest) == 0;
    if (uc->unknown == USERCRED_UNKNOWN_GUEST && !uc->has_guest) {
        rc = shoal_errprintf(error, SHOAL_EUSAGE,
                             "guest account '%s' does not exist",
                             uc->guest_name);
        goto error;
    }
    uc->scheme = config->mode;
#ifdef HAVE_MUNGE
    if (uc->scheme != USERCRED_POOL) {
        uc->ctx = munge_ctx_create();
        if (!uc->ctx) {
            rc = shoal_errprintf(error, -ENOMEM, "out of memory");
            goto error;
        }
        if (uc->munge_socket
            && munge_ctx_set(uc->ctx, MUNGE_OPT_SOCKET, uc->munge_socket)
                   != EMUNGE_SUCCESS) {
            rc = shoal_errprintf(error, SHOAL_EUSAGE,
                                 "bad munge socket '%s': %s", uc->munge_socket,
                                 munge_ctx_strerror(uc->ctx));
            goto error;
        }
        rc = usercred_munge_probe(uc, &why);
        if (rc == 0)
            rc = spawn_resolve("munge", NULL, &uc->munge_path, &why);
    }
#else
    if (uc->scheme != USERCRED_POOL)
        rc =
            shoal_errprintf(&why, -ENOTSUP, "shoal was built without libmunge");
#endif
    if (rc < 0 && uc->scheme == USERCRED_MUNGE) {
        rc = shoal_errprintf(error, rc, "--credentials munge: %s", why.text);
        goto error;
    }
    if (uc->scheme == USERCRED_AUTO) {
        uc->scheme = rc == 0 ? USERCRED_MUNGE : USERCRED_POOL;
        if (rc < 0)
            LOG(LOG_LEVEL_NOTICE, LOG_DAEMON,
                "user credentials: the pool key's trust (%s); any member "
                "holding the pool key can claim any uid",
                why.text);
    }
    if (uc->scheme == USERCRED_MUNGE)
        LOG(LOG_LEVEL_NOTICE, LOG_DAEMON, "user credentials: MUNGE (%s)",
            uc->munge_socket ? uc->munge_socket : "default socket");
    else if (config->mode == USERCRED_POOL)
        LOG(LOG_LEVEL_NOTICE, LOG_DAEMON,
            "user credentials: the pool key's trust; any member holding the "
            "pool key can claim any uid");
    *out = uc;
    return 0;
error:
    usercred_destroy(uc);
    return rc;
}

void usercred_destroy(usercred_t *uc)
{
    if (!uc)
        return;
#ifdef HAVE_MUNGE
    if (uc->ctx)
        munge_ctx_destroy(uc->ctx);
#endif
    free(uc->guest_name);
    free(uc->munge_socket);
    free(uc->node);
    free(uc->munge_path);
    free(uc);
}

enum usercred_mode usercred_scheme(const usercred_t *uc)
{
    return uc->scheme;
}

/* Read fd to its end into buf (size bytes, NUL-terminated, the rest
 * dropped). */
static void usercred_read_all(int fd, char *buf, size_t size)
{
    size_t used = 0;

    for (;;) {
        char junk[256];
        ssize_t n = used + 1 < size ? read(fd, buf + used, size - 1 - used)
                                    : read(fd, junk, sizeof(junk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (used + 1 < size)
            used += (size_t)n;
    }
    buf[used] = '\0';
}

/* Run `munge --string PAYLOAD` as uid/gid: MUNGE vouches for the user it
 * runs as, so the credential is the submitter's own, as if they had made
 * it themselves. */
static int usercred_munge_encode(usercred_t *uc,
                                 const char *payload,
                                 enum usercred_kind kind,
                                 uint32_t uid,
                                 uint32_t gid,
                                 char **out,
                                 shoal_error_t *error)
{
    char socket_arg[4200], string_arg[USERCRED_PAYLOAD_MAX + 16];
    char *argv[6], *envp[] = {"PATH=/usr/bin:/bin", NULL};
    char cred[USERCRED_CRED_MAX + 2], why[512];
    struct spawn_user user = {.uid = uid, .gid = gid, .name = "submitter"};
    struct spawn_spec spec = {0};
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, nul, status = 0, argc = 0;
    pid_t pid;
    int rc;

    snprintf(string_arg, sizeof(string_arg), "--string=%s", payload);
    argv[argc++] = "munge";
    argv[argc++] = string_arg;
    /* a task job's credential serves its leases for a while; munged
     * caps this at its --max-ttl */
    argv[argc++] = kind == USERCRED_TASKS ? "--ttl=3600" : "--ttl=300";
    if (uc->munge_socket) {
        snprintf(socket_arg, sizeof(socket_arg), "--socket=%s",
                 uc->munge_socket);
        argv[argc++] = socket_arg;
    }
    argv[argc] = NULL;
    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        rc = shoal_errprintf(error, -errno, "cannot make a pipe: %s",
                             strerror(errno));
        goto out;
    }
    spec.path = uc->munge_path;
    spec.argv = argv;
    spec.envp = envp;
    spec.wdir = "/";
    spec.stdin_fd = nul;
    spec.stdout_fd = outp[1];
    spec.stderr_fd = errp[1];
    spec.keep_fd = -1;
    spec.user = geteuid() == uid ? NULL : &user;
    rc = spawn_process(&spec, &pid, error);
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    if (rc < 0)
        goto out;
    usercred_read_all(outp[0], cred, sizeof(cred));
    usercred_read_all(errp[0], why, sizeof(why));
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    cred[strcspn(cred, "\n")] = '\0';
    why[strcspn(why, "\n")] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !*cred) {
        rc = shoal_errprintf(error, -EPERM,
                             "cannot make a MUNGE credential for uid %" PRIu32
                             ": %s",
                             uid, *why ? why : "munge failed");
        goto out;
    }
    *out = strdup(cred);
    rc = *out ? 0 : shoal_errprintf(error, -ENOMEM, "out of memory");
out:
    if (nul >= 0)
        close(nul);
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    return rc;
}

int usercred_issue(usercred_t *uc,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   uint32_t uid,
                   uint32_t gid,
                   struct usercred_claim *out,
                   shoal_error_t *error)
{
    char payload[USERCRED_PAYLOAD_MAX];

    memset(out, 0, sizeof(*out));
    out->uid = uid;
    out->gid = gid;
    out->scheme = uc->scheme;
    if (uc->scheme != USERCRED_MUNGE)
        return 0;
    usercred_payload(kind, home, job, payload);
    return usercred_munge_encode(uc, payload, kind, uid, gid, &out->cred,
                                 error);
}

/* Verify claim's MUNGE credential with this node's munged. */
static int usercred_munge_verify(usercred_t *uc,
                                 const struct usercred_claim *claim,
                                 enum usercred_kind kind,
                                 uint64_t home,
                                 uint64_t job,
                                 shoal_error_t *error)
{
#ifdef HAVE_MUNGE
    struct usercred_decoded d = {0};
    void *payload = NULL;
    int len = 0;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    munge_err_t e;
    int rc;

    e = munge_decode(claim->cred, uc->ctx, &payload, &len, &uid, &gid);
    if (e == EMUNGE_SUCCESS)
        d.status = USERCRED_DECODED_OK;
    else if (e == EMUNGE_CRED_REPLAYED)
        d.status = USERCRED_DECODED_REPLAYED;
    else
        d.status = USERCRED_DECODED_INVALID;
    d.why = munge_ctx_strerror(uc->ctx);
    d.uid = (uint32_t)uid;
    d.gid = (uint32_t)gid;
    d.payload = payload;
    d.len = len > 0 ? (size_t)len : 0;
    rc = usercred_check(&d, claim, kind, home, job, error);
    free(payload);
    return rc;
#else
    (void)uc;
    (void)claim;
    (void)kind;
    (void)home;
    (void)job;
    return shoal_errprintf(error, -ENOTSUP, "built without libmunge");
#endif
}

static int usercred_decide_here(usercred_t *uc,
                                uint32_t uid,
                                uint32_t gid,
                                struct usercred_target *target,
                                shoal_error_t *error)
{
    struct usercred_policy p = {
        .daemon_uid = geteuid(),
        .unknown = uc->unknown,
        .guest = uc->has_guest ? &uc->guest : NULL,
        .guest_name = uc->guest_name,
        .node = uc->node,
    };
    struct account a;
    int found =
        uid == (uint32_t)p.daemon_uid ? -ENOENT : account_by_uid(uid, gid, &a);

    return usercred_decide(&p, uid, gid, found == 0 ? &a : NULL, target, error);
}

int usercred_admit(usercred_t *uc,
                   const struct usercred_claim *claim,
                   enum usercred_kind kind,
                   uint64_t home,
                   uint64_t job,
                   struct usercred_target *target,
                   shoal_error_t *error)
{
    shoal_error_t why = {{0}};
    int rc = 0;

    if (uc->scheme == USERCRED_MUNGE) {
        if (claim->scheme != USERCRED_MUNGE || !claim->cred)
            rc = shoal_errprintf(&why, -EPERM,
                                 "credential refused: no MUNGE credential "
                                 "(node '%s' requires one)",
                                 uc->node);
        else
            rc = usercred_munge_verify(uc, claim, kind, home, job, &why);
    }
    if (rc == 0)
        rc = usercred_decide_here(uc, claim->uid, claim->gid, target, &why);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_DAEMON,
            "%s job %016" PRIx64 " from %016" PRIx64 " (uid %" PRIu32
            ") refused: %s",
            kind == USERCRED_GANG ? "gang" : "task", job, home, claim->uid,
            why.text);
        return shoal_errprintf(error, rc, "%s", why.text);
    }
    return 0;
}

int usercred_admit_local(usercred_t *uc,
                         uint32_t uid,
                         uint32_t gid,
                         struct usercred_target *target,
                         shoal_error_t *error)
{
    return usercred_decide_here(uc, uid, gid, target, error);
}
