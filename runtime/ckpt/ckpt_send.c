/* SPDX-License-Identifier: MIT */
/* ckpt_send.c - the sending side of checkpoint copies. */
#include "runtime/ckpt/ckpt_send.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_work.h"
#include "util/log.h"

static int
ckpt_send_chunk(uint32_t file, uint64_t offset, uint32_t len, void *arg)
{
    struct ckpt_send *s = arg;
    struct ckpt_service *svc = s->svc;
    struct ckpt_msg m = {.type = CKPT_FRAME_CHUNK,
                         .xid = s->xid,
                         .file = file,
                         .offset = offset,
                         .len = len};
    crypto_generichash_state st;
    bool hashing;
    size_t got = 0;
    int rc;

    if (s->fds[file] < 0) {
        char path[PATH_MAX];
        int n =
            snprintf(path, sizeof(path), "%s/%s", s->dir, s->files[file].name);

        if (n < 0 || (size_t)n >= sizeof(path))
            return -ENAMETOOLONG;
        s->fds[file] = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (s->fds[file] < 0)
            return -errno;
    }
    rc = ckpt_wire_encode(&m, svc->buf, CKPT_WIRE_CHUNK_HEAD + svc->chunk);
    if (rc < 0)
        return rc;
    while (got < len) {
        ssize_t n = pread(s->fds[file], svc->buf + CKPT_WIRE_CHUNK_HEAD + got,
                          len - got, (off_t)(offset + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EUCLEAN; /* shrank since verified */
        got += (size_t)n;
    }
    if (offset == 0) {
        /* a file sent from its first byte: hash it as it goes */
        s->hashing = true;
        s->hfile = file;
        s->hoff = 0;
        crypto_generichash_init(&s->hstate, NULL, 0, CKPT_HASH_BYTES);
    }
    hashing = s->hashing && s->hfile == file && s->hoff == offset;
    if (hashing) {
        /* into a copy: a chunk the link refuses now comes again */
        st = s->hstate;
        crypto_generichash_update(&st, svc->buf + CKPT_WIRE_CHUNK_HEAD, len);
        if (offset + len == s->files[file].size) {
            unsigned char h[CKPT_HASH_BYTES];

            crypto_generichash_final(&st, h, sizeof(h));
            if (sodium_memcmp(h, s->files[file].hash, sizeof(h)) != 0)
                return -EUCLEAN; /* its last chunk is not sent */
        }
    }
    rc = daemon_send(svc->d, s->to, CKPT_FRAME_CHUNK, svc->buf,
                     CKPT_WIRE_CHUNK_HEAD + len);
    if (rc == 0)
        svc->stats.bytes_sent += len;
    if (rc == 0 && hashing) {
        s->hstate = st;
        s->hoff += len;
    }
    return rc;
}

static int ckpt_send_done(void *arg)
{
    struct ckpt_send *s = arg;
    struct ckpt_msg m = {.type = CKPT_FRAME_DONE, .xid = s->xid};

    /* DONE vouches for every byte sent (see ckpt_send.h) */
    return ckpt_node_send(s->svc, s->to, &m);
}

static const struct ckpt_xfer_ops ckpt_send_ops = {
    .chunk = ckpt_send_chunk,
    .done = ckpt_send_done,
};

/* Start sending the version in dir (its manifest given) to node to. */
int ckpt_send_start(struct ckpt_service *svc,
                    uint64_t to,
                    uint64_t xid,
                    int purpose,
                    const char *key,
                    int version,
                    const char *dir,
                    const char *manifest,
                    size_t manifest_len,
                    ckpt_send_done_f *done,
                    void *done_arg)
{
    struct ckpt_send *s = calloc(1, sizeof(*s));
    struct ckpt_msg m = {.type = CKPT_FRAME_OFFER,
                         .xid = xid,
                         .purpose = (uint8_t)purpose,
                         .flags = CKPT_OFFER_CHECKED,
                         .version = version,
                         .manifest = manifest,
                         .manifest_len = manifest_len};
    uint64_t *sizes = NULL;
    int rc;

    if (!s)
        return -ENOMEM;
    s->svc = svc;
    s->to = to;
    s->xid = xid;
    s->done = done;
    s->done_arg = done_arg;
    s->version = version;
    s->dir = strdup(dir);
    rc = s->dir ? ckpt_manifest_parse(manifest, manifest_len, &s->files,
                                      &s->nfiles)
                : -ENOMEM;
    if (rc == 0 && s->nfiles > CKPT_WIRE_FILES_MAX)
        rc = -EFBIG;
    if (rc == 0) {
        s->fds = malloc((s->nfiles + 1) * sizeof(int));
        sizes = calloc(s->nfiles + 1, sizeof(uint64_t));
        rc = s->fds && sizes ? 0 : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++) {
        s->fds[i] = -1;
        sizes[i] = s->files[i].size;
    }
    if (rc == 0) {
        struct ckpt_xfer_config cfg = {.sizes = sizes,
                                       .nfiles = (uint32_t)s->nfiles,
                                       .chunk = svc->chunk,
                                       .window = svc->window,
                                       .timeout_ms = svc->timeout_ms};

        rc = ckpt_xfer_create(&cfg, &ckpt_send_ops, s, ckpt_now(svc), &s->x);
    }
    free(sizes);
    snprintf(m.key, sizeof(m.key), "%s", key);
    if (rc == 0)
        rc = ckpt_node_send(svc, to, &m);
    if (rc < 0) {
        s->nfiles = s->fds ? s->nfiles : 0;
        ckpt_send_free(s);
        return rc;
    }
    s->next = svc->sends;
    svc->sends = s;
    return 0;
}

void ckpt_send_free(struct ckpt_send *s)
{
    for (size_t i = 0; s->fds && i < s->nfiles; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    free(s->files);
    free(s->dir);
    ckpt_xfer_destroy(s->x);
    free(s);
}

/* Look at the transfer after an event: finish it when it ended. */
void ckpt_send_check(struct ckpt_send *s)
{
    struct ckpt_service *svc = s->svc;
    enum ckpt_xfer_state st = ckpt_xfer_state(s->x);
    struct ckpt_xfer_stats xs;
    int code;

    if (st != CKPT_XFER_DONE && st != CKPT_XFER_FAILED)
        return;
    code = ckpt_xfer_error(s->x);
    for (struct ckpt_send **p = &svc->sends; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    ckpt_xfer_get_stats(s->x, &xs);
    svc->stats.bytes_resumed += xs.resumed;
    if (code == 0) {
        svc->stats.copies_sent++;
    } else {
        svc->stats.copies_failed++;
        /* what this node sent was not what it hashed: hash it next time */
        if (code == -EUCLEAN)
            ckpt_seen_forget(svc->seen, s->dir);
        /* tell the receiver, so it stops waiting (it may be gone) */
        ckpt_node_result(svc, s->to, s->xid, code, ckpt_node_reason(code));
    }
    LOG(code ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, LOG_CKPT,
        "copy %" PRIx64 " to %016" PRIx64 ": %s (%" PRIu64 " bytes, %" PRIu64
        " resumed)",
        s->xid, s->to, code ? ckpt_node_reason(code) : "done", xs.total,
        xs.resumed);
    if (s->done)
        s->done(s->done_arg, s->to, code);
    ckpt_send_free(s);
}

struct ckpt_send *
ckpt_send_find(struct ckpt_service *svc, uint64_t to, uint64_t xid)
{
    for (struct ckpt_send *s = svc->sends; s; s = s->next)
        if (s->to == to && s->xid == xid)
            return s;
    return NULL;
}

/* A STATUS or an ACK from the receiver of a copy this node sends. */
void ckpt_send_on_reply(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m)
{
    struct ckpt_send *s = ckpt_send_find(svc, from, m->xid);

    if (!s) {
        svc->stats.malformed++;
        return;
    }
    if (m->type == CKPT_FRAME_ACK) {
        ckpt_xfer_ack(s->x, m->file, m->end, ckpt_now(svc));
    } else {
        uint64_t *have = calloc(m->nfiles + 1, sizeof(*have));

        for (uint32_t i = 0; have && i < m->nfiles; i++)
            have[i] = ckpt_wire_have(m, i);
        if (have)
            ckpt_xfer_status(s->x, m->whole, have, m->nfiles, ckpt_now(svc));
        else
            ckpt_xfer_fail(s->x, -ENOMEM);
        free(have);
    }
    if (ckpt_xfer_error(s->x) == SHOAL_EPROTO)
        svc->stats.malformed++;
    ckpt_send_check(s);
}

void ckpt_send_on_pull(struct ckpt_service *svc,
                       uint64_t from,
                       const struct ckpt_msg *m)
{
    struct ckpt_work *w = calloc(1, sizeof(*w));
    char dir[PATH_MAX];
    int rc = w ? ckpt_key_path(svc->state, m->key, dir, sizeof(dir)) : -ENOMEM;

    if (rc == 0) {
        struct stat st;

        /* never create directories for a key this node does not hold */
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            rc = -ENOENT;
    }
    if (rc == 0)
        rc = ckpt_store_create(dir, &w->store);
    if (rc == 0) {
        w->kind = CKPT_WORK_SERVE;
        w->svc = svc;
        w->version = m->version;
        w->to = from;
        w->xid = m->xid;
        snprintf(w->key, sizeof(w->key), "%s", m->key);
        rc = ckpt_work_queue(w);
    }
    if (rc < 0) {
        if (w)
            ckpt_store_destroy(w->store);
        free(w);
        ckpt_node_result(svc, from, m->xid, rc,
                         rc == -ENOENT ? "has no such version" : NULL);
    }
}

void ckpt_send_served(struct ckpt_work *w)
{
    struct ckpt_service *svc = w->svc;
    char dir[PATH_MAX];
    int rc = w->rc;

    if (rc == 0)
        rc = ckpt_store_path(w->store, w->version, NULL, dir, sizeof(dir));
    if (rc == 0)
        rc = ckpt_send_start(svc, w->to, w->xid, CKPT_PURPOSE_FETCH, w->key,
                             w->version, dir, w->manifest, w->manifest_len,
                             NULL, NULL);
    if (rc < 0) {
        LOG(LOG_LEVEL_WARNING, LOG_CKPT,
            "cannot serve '%s' v%d to %016" PRIx64 ": %s", w->key, w->version,
            w->to, ckpt_node_reason(rc));
        ckpt_node_result(svc, w->to, w->xid, rc,
                         rc == -ENOENT    ? "has no such version"
                         : rc == -EUCLEAN ? "its copy is corrupt"
                                          : NULL);
    }
}
