/* SPDX-License-Identifier: MIT */
/* ckpt_recv.c - the receiving side of checkpoint copies. */
#include "runtime/ckpt/ckpt_recv.h"

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

#include "runtime/ckpt/ckpt_fetch.h"
#include "runtime/ckpt/ckpt_hasher.h"
#include "runtime/ckpt/ckpt_key.h"
#include "runtime/ckpt/ckpt_node.h"
#include "runtime/ckpt/ckpt_work.h"
#include "util/log.h"

/* Remove a staging store and the version in it. */
void ckpt_recv_stage_remove(ckpt_store_t *stage, int version)
{
    ckpt_store_remove(stage, version);
    rmdir(ckpt_store_dir(stage));
}

int ckpt_recv_stage_open(const char *final_dir, int version, ckpt_store_t **out)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/.part-v%d", final_dir, version);

    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return ckpt_store_create(path, out);
}

static void ckpt_recv_close_fds(struct ckpt_recv *r)
{
    for (size_t i = 0; r->fds && i < r->nfiles; i++)
        if (r->fds[i] >= 0) {
            close(r->fds[i]);
            r->fds[i] = -1;
        }
}

void ckpt_recv_free(struct ckpt_recv *r)
{
    struct ckpt_service *svc = r->svc;

    for (struct ckpt_recv **p = &svc->recvs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    ckpt_recv_close_fds(r);
    free(r->fds);
    free(r->have);
    free(r->vouched);
    ckpt_hasher_destroy(r->hasher);
    free(r->files);
    ckpt_store_destroy(r->final);
    ckpt_store_destroy(r->stage);
    free(r);
}

struct ckpt_recv *
ckpt_recv_find(struct ckpt_service *svc, uint64_t from, uint64_t xid)
{
    for (struct ckpt_recv *r = svc->recvs; r; r = r->next)
        if (r->from == from && r->xid == xid)
            return r;
    return NULL;
}

/* End the transfer: tell the sender (code < 0), drop the staged files
 * when they cannot be used again, and fail the fetch it served. */
void ckpt_recv_abort(
    struct ckpt_recv *r, int code, bool tell, bool drop_stage, const char *text)
{
    struct ckpt_fetch *f = r->fetch;

    LOG(LOG_LEVEL_WARNING, LOG_CKPT,
        "copy %" PRIx64 " of '%s' v%d from %016" PRIx64 " refused: %s", r->xid,
        r->key, r->version, r->from, text ? text : ckpt_node_reason(code));
    if (tell)
        ckpt_node_result(r->svc, r->from, r->xid, code,
                         text ? text : ckpt_node_reason(code));
    ckpt_recv_close_fds(r);
    if (drop_stage)
        ckpt_recv_stage_remove(r->stage, r->version);
    ckpt_recv_free(r);
    if (f)
        ckpt_fetch_attempt_failed(f, code, text);
}

static int ckpt_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    return 0;
}

/* Write the MANIFEST text into the staging version directory. */
static int ckpt_stage_manifest(ckpt_store_t *stage,
                               int version,
                               const char *text,
                               size_t len)
{
    char path[PATH_MAX];
    int fd, rc = ckpt_store_path(stage, version, NULL, path, sizeof(path));

    /* ckpt_store_path() refuses the name MANIFEST: it is no data file */
    if (rc == 0 && strlen(path) + sizeof("/MANIFEST") > sizeof(path))
        rc = -ENAMETOOLONG;
    if (rc < 0)
        return rc;
    strcat(path, "/MANIFEST");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = ckpt_write_all(fd, text, len, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Prepare r's staging directory: resume what an earlier attempt with the
 * same MANIFEST left, else start empty. Fills r->have and opens the
 * files. */
static int ckpt_recv_stage(struct ckpt_recv *r, const struct ckpt_msg *m)
{
    bool checked = (m->flags & CKPT_OFFER_CHECKED) != 0;
    char *old = NULL, **paths;
    size_t old_len = 0;
    enum ckpt_hasher_mode *mode;
    bool resume;
    int rc;

    resume = ckpt_store_manifest(r->stage, r->version, &old, &old_len) == 0
             && old_len == m->manifest_len
             && memcmp(old, m->manifest, old_len) == 0;
    free(old);
    if (!resume) {
        rc = ckpt_store_begin(r->stage, r->version);
        if (rc == 0)
            rc = ckpt_stage_manifest(r->stage, r->version, m->manifest,
                                     m->manifest_len);
        if (rc < 0)
            return rc;
    }
    paths = calloc(r->nfiles + 1, sizeof(*paths));
    mode = calloc(r->nfiles + 1, sizeof(*mode));
    rc = paths && mode ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->nfiles; i++) {
        char path[PATH_MAX];
        struct stat st;

        rc = ckpt_store_path(r->stage, r->version, r->files[i].name, path,
                             sizeof(path));
        if (rc == 0)
            rc = (paths[i] = strdup(path)) ? 0 : -ENOMEM;
        if (rc < 0)
            break;
        r->fds[i] =
            open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (r->fds[i] < 0 || fstat(r->fds[i], &st) < 0) {
            rc = -errno;
            break;
        }
        r->have[i] = (uint64_t)st.st_size;
        if (r->have[i] > r->files[i].size) {
            if (ftruncate(r->fds[i], 0) < 0) {
                rc = -errno;
                break;
            }
            r->have[i] = 0;
        }
        /* a resumed file is hashed whole when installed (its first bytes
         * came in an earlier attempt), and so is an empty one (no byte
         * of it was sent to vouch for) */
        r->vouched[i] = checked && r->have[i] == 0 && r->files[i].size > 0;
        mode[i] = r->vouched[i]     ? CKPT_HASHER_FLUSH
                  : r->have[i] == 0 ? CKPT_HASHER_HASH
                                    : CKPT_HASHER_SKIP;
    }
    if (rc == 0)
        rc = ckpt_hasher_create(r->svc->loop, (const char *const *)paths, mode,
                                r->nfiles, &r->hasher);
    for (size_t i = 0; paths && i < r->nfiles; i++)
        free(paths[i]);
    free(paths);
    free(mode);
    return rc;
}

static bool ckpt_committed_same(ckpt_store_t *store, const struct ckpt_msg *m)
{
    char *text = NULL;
    size_t len = 0;
    bool same;

    if (ckpt_store_committed(store, m->version) != 1
        || ckpt_store_manifest(store, m->version, &text, &len) < 0)
        return false;
    same = len == m->manifest_len && memcmp(text, m->manifest, len) == 0;
    free(text);
    return same;
}

void ckpt_recv_on_offer(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    struct ckpt_msg st = {.type = CKPT_FRAME_STATUS, .xid = m->xid};
    char final[PATH_MAX];
    int rc;

    if (r) {
        if (r->installing)
            return;
        ckpt_recv_free(r);
    }
    /* a sender that came back after a break offers again under a new id:
     * the earlier receiver of the same copy must not write beside it */
    for (struct ckpt_recv *o = svc->recvs; o; o = o->next)
        if (o->from == from && !o->installing && !o->fetch
            && m->purpose == CKPT_PURPOSE_REPLICATE && o->version == m->version
            && strcmp(o->key, m->key) == 0) {
            ckpt_recv_free(o);
            break;
        }
    r = calloc(1, sizeof(*r));
    if (!r) {
        ckpt_node_result(svc, from, m->xid, -ENOMEM, NULL);
        return;
    }
    r->svc = svc;
    r->from = from;
    r->xid = m->xid;
    r->version = m->version;
    r->last_ms = ckpt_now(svc);
    snprintf(r->key, sizeof(r->key), "%s", m->key);
    r->next = svc->recvs;
    svc->recvs = r;
    if (m->purpose == CKPT_PURPOSE_FETCH) {
        r->fetch = ckpt_fetch_find(svc, from, m->xid);
        if (!r->fetch || r->fetch->version != m->version
            || strcmp(r->fetch->key, m->key) != 0) {
            svc->stats.malformed++;
            r->fetch = NULL;
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, "no such fetch");
            return;
        }
        r->fetch->last_ms = r->last_ms;
        rc = snprintf(final, sizeof(final), "%s", r->fetch->rdir) < 0 ? -EINVAL
                                                                      : 0;
    } else {
        rc = ckpt_key_path(svc->state, m->key, final, sizeof(final));
    }
    if (rc == 0)
        rc = ckpt_manifest_parse(m->manifest, m->manifest_len, &r->files,
                                 &r->nfiles);
    if (rc == 0 && r->nfiles > CKPT_WIRE_FILES_MAX)
        rc = -EUCLEAN;
    if (rc == 0) {
        r->fds = malloc((r->nfiles + 1) * sizeof(int));
        r->have = calloc(r->nfiles + 1, sizeof(uint64_t));
        r->vouched = calloc(r->nfiles + 1, sizeof(bool));
        rc = r->fds && r->have && r->vouched ? 0 : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < r->nfiles; i++)
            r->fds[i] = -1;
    }
    if (rc == 0)
        rc = ckpt_store_create(final, &r->final);
    if (rc == 0 && ckpt_committed_same(r->final, m)) {
        st.whole = true;
        rc = ckpt_node_send(svc, from, &st);
        if (r->fetch) {
            struct ckpt_fetch *f = r->fetch;

            ckpt_recv_free(r);
            ckpt_node_result(svc, from, m->xid, 0, NULL);
            ckpt_fetch_installed(f, 0);
        } else {
            ckpt_recv_free(r);
        }
        return;
    }
    if (rc == 0)
        rc = ckpt_recv_stage_open(final, m->version, &r->stage);
    if (rc == 0)
        rc = ckpt_recv_stage(r, m);
    if (rc < 0) {
        ckpt_recv_abort(r, rc == -EUCLEAN ? SHOAL_EPROTO : rc, true,
                        rc == -ENOSPC && r->stage, NULL);
        return;
    }
    st.nfiles = (uint32_t)r->nfiles;
    st.have = r->have;
    rc = ckpt_node_send(svc, from, &st);
    if (rc < 0)
        ckpt_recv_abort(r, rc, false, false, NULL);
}

void ckpt_recv_finish(struct ckpt_recv *r, int code)
{
    struct ckpt_service *svc = r->svc;
    struct ckpt_fetch *f = r->fetch;
    uint64_t from = r->from, xid = r->xid;

    if (code == 0) {
        svc->stats.copies_received++;
        LOG(LOG_LEVEL_INFO, LOG_CKPT,
            "copy of '%s' v%d from %016" PRIx64 " committed", r->key,
            r->version, r->from);
        ckpt_node_result(svc, from, xid, 0, NULL);
        ckpt_recv_free(r);
        if (f)
            ckpt_fetch_installed(f, 0);
        return;
    }
    if (code == -EUCLEAN)
        svc->stats.copies_bad++;
    /* the data is wrong or does not fit: start over next time */
    r->fetch = NULL;
    ckpt_recv_abort(r, code, true, code == -EUCLEAN || code == -ENOSPC,
                    code == -EUCLEAN ? "the copy does not match its MANIFEST"
                                     : NULL);
    if (f)
        ckpt_fetch_installed(f, code);
}

void ckpt_recv_on_chunk(struct ckpt_service *svc,
                        uint64_t from,
                        const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    struct ckpt_msg ack = {.type = CKPT_FRAME_ACK, .xid = m->xid};
    int rc;

    if (!r || r->installing || m->file >= r->nfiles
        || m->offset != r->have[m->file]
        || m->offset + m->len > r->files[m->file].size) {
        svc->stats.malformed++;
        if (r && !r->installing)
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, NULL);
        return;
    }
    rc = ckpt_write_all(r->fds[m->file], m->data, m->len, m->offset);
    if (rc < 0) {
        /* a disk too small for this copy: remove what it holds */
        ckpt_recv_abort(r, rc, true, true, NULL);
        return;
    }
    svc->stats.bytes_received += m->len;
    r->have[m->file] += m->len;
    rc = ckpt_hasher_grow(r->hasher, m->file, r->have[m->file]);
    if (rc < 0) {
        ckpt_recv_abort(r, rc, true, false, NULL);
        return;
    }
    r->last_ms = ckpt_now(svc);
    if (r->fetch)
        r->fetch->last_ms = r->last_ms;
    ack.file = m->file;
    ack.end = r->have[m->file];
    ckpt_node_send(svc, from, &ack);
}

/* Every byte of r is hashed (rc 0, hashes of the files received from
 * their first byte): check the copy, move it into place and commit it. */
static void ckpt_recv_hashed(void *arg, int rc, const struct ckpt_hash *hashes)
{
    struct ckpt_recv *r = arg;
    struct ckpt_work *w = NULL;

    if (rc == 0) {
        w = calloc(1, sizeof(*w));
        /* the work's own copy: the receiver may be freed before it ends */
        if (w)
            w->hashes = malloc((r->nfiles + 1) * sizeof(*w->hashes));
        rc = w && w->hashes ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        memcpy(w->hashes, hashes, r->nfiles * sizeof(*w->hashes));
        /* what the sender vouched for was sealed on the way: the copy
         * holds the bytes it sent, which match the MANIFEST */
        for (size_t i = 0; i < r->nfiles; i++)
            if (r->vouched[i]) {
                w->hashes[i].valid = true;
                memcpy(w->hashes[i].bytes, r->files[i].hash, CKPT_HASH_BYTES);
            }
        w->nhashes = r->nfiles;
        w->kind = CKPT_WORK_INSTALL;
        w->svc = r->svc;
        w->owner = r;
        w->version = r->version;
        rc = ckpt_store_create(ckpt_store_dir(r->final), &w->store);
    }
    if (rc == 0)
        rc = ckpt_store_create(ckpt_store_dir(r->stage), &w->stage);
    if (rc == 0)
        rc = ckpt_work_queue(w);
    if (rc < 0) {
        if (w) {
            ckpt_store_destroy(w->store);
            ckpt_store_destroy(w->stage);
            free(w->hashes);
        }
        free(w);
        r->installing = false;
        /* the staged files changed under this node: start over */
        ckpt_recv_abort(r, rc, true, rc == -EUCLEAN, NULL);
    }
}

void ckpt_recv_on_done(struct ckpt_service *svc,
                       uint64_t from,
                       const struct ckpt_msg *m)
{
    struct ckpt_recv *r = ckpt_recv_find(svc, from, m->xid);
    int rc;

    if (!r || r->installing) {
        svc->stats.malformed++;
        return;
    }
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->have[i] != r->files[i].size) {
            svc->stats.malformed++;
            ckpt_recv_abort(r, SHOAL_EPROTO, true, false, NULL);
            return;
        }
    ckpt_recv_close_fds(r);
    /* no timeout from here: the hasher catches up, then the install */
    r->installing = true;
    if (r->fetch)
        r->fetch->installing = true;
    rc = ckpt_hasher_finish(r->hasher, ckpt_recv_hashed, r);
    if (rc < 0) {
        r->installing = false;
        ckpt_recv_abort(r, rc, true, rc == -EUCLEAN, NULL);
    }
}
