/* SPDX-License-Identifier: MIT */
/* ckpt_hasher.c - files hashed on the thread pool while they are written. */
#include "runtime/ckpt/ckpt_hasher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

enum { CKPT_HASHER_READ = 256 << 10 };

struct ckpt_hasher_file {
    char *path;
    enum ckpt_hasher_mode mode;
    uint64_t end;    /* bytes the file holds */
    uint64_t hashed; /* bytes hashed (a batch may be past them) */
    crypto_generichash_state state;
};

/* One batch: bytes [from, to) of one file, hashed into its own state. */
struct ckpt_hasher_batch {
    uv_work_t req;
    struct ckpt_hasher *h; /* NULL once the hasher was destroyed */
    char *path;
    uint64_t from;
    uint64_t to;
    size_t file;
    bool hash; /* else only handed to the disk */
    crypto_generichash_state state;
    int rc;
};

struct ckpt_hasher {
    uv_loop_t *loop;
    struct ckpt_hasher_file *files;
    size_t n;
    struct ckpt_hasher_batch *batch; /* running, or NULL */
    ckpt_hasher_done_f *done;        /* set by finish */
    void *done_arg;
    int error; /* of a batch: every later call fails with it */
};

int ckpt_hasher_create(uv_loop_t *loop,
                       const char *const *paths,
                       const enum ckpt_hasher_mode *mode,
                       size_t n,
                       ckpt_hasher_t **out)
{
    ckpt_hasher_t *h = calloc(1, sizeof(*h));

    if (!h)
        return -ENOMEM;
    h->loop = loop;
    h->n = n;
    h->files = calloc(n + 1, sizeof(*h->files));
    for (size_t i = 0; h->files && i < n; i++) {
        h->files[i].mode = mode[i];
        h->files[i].path = strdup(paths[i]);
        if (!h->files[i].path) {
            h->n = i;
            ckpt_hasher_destroy(h);
            return -ENOMEM;
        }
        crypto_generichash_init(&h->files[i].state, NULL, 0, CKPT_HASH_BYTES);
    }
    if (!h->files) {
        free(h);
        return -ENOMEM;
    }
    *out = h;
    return 0;
}

static void ckpt_hasher_free(ckpt_hasher_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->files[i].path);
    free(h->files);
    free(h);
}

void ckpt_hasher_destroy(ckpt_hasher_t *h)
{
    if (!h)
        return;
    if (h->batch) {
        /* the batch frees itself; h goes now */
        h->batch->h = NULL;
        h->batch = NULL;
    }
    ckpt_hasher_free(h);
}

static void ckpt_hasher_run(uv_work_t *req)
{
    struct ckpt_hasher_batch *b = req->data;
    unsigned char *buf = b->hash ? malloc(CKPT_HASHER_READ) : NULL;
    uint64_t off = b->from;
    int fd = open(b->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    b->rc = fd < 0 ? -errno : buf || !b->hash ? 0 : -ENOMEM;
    while (b->rc == 0 && b->hash && off < b->to) {
        size_t want = b->to - off < CKPT_HASHER_READ ? (size_t)(b->to - off)
                                                     : CKPT_HASHER_READ;
        ssize_t got = pread(fd, buf, want, (off_t)off);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            /* shorter than written: it changed under the receiver */
            b->rc = got < 0 ? -errno : -EUCLEAN;
            break;
        }
        crypto_generichash_update(&b->state, buf, (unsigned long long)got);
        off += (uint64_t)got;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* start writing the batch to the disk, without waiting for it: the
     * fsync when the copy is installed then finds it (mostly) written,
     * instead of writing the whole version after its last byte came in.
     * An error here is that fsync's to report. */
    if (b->rc == 0)
        (void)sync_file_range(fd, (off_t)b->from, (off_t)(b->to - b->from),
                              SYNC_FILE_RANGE_WRITE);
#endif
    if (fd >= 0)
        close(fd);
    free(buf);
}

static void ckpt_hasher_after(uv_work_t *req, int status);

/* Start a batch for the first file with bytes not hashed, or, when all
 * are, call done if finish asked for it. */
static int ckpt_hasher_next(ckpt_hasher_t *h)
{
    struct ckpt_hasher_batch *b;
    size_t i = 0;
    int rc;

    if (h->batch || h->error)
        return h->error;
    while (i < h->n
           && (h->files[i].mode == CKPT_HASHER_SKIP
               || h->files[i].hashed >= h->files[i].end))
        i++;
    if (i == h->n) {
        if (h->done) {
            struct ckpt_hash *hashes = calloc(h->n + 1, sizeof(*hashes));
            ckpt_hasher_done_f *done = h->done;

            h->done = NULL;
            for (size_t k = 0; hashes && k < h->n; k++) {
                hashes[k].valid = h->files[k].mode == CKPT_HASHER_HASH;
                if (hashes[k].valid)
                    crypto_generichash_final(&h->files[k].state,
                                             hashes[k].bytes, CKPT_HASH_BYTES);
            }
            done(h->done_arg, hashes ? 0 : -ENOMEM, hashes);
            free(hashes);
        }
        return 0;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->h = h;
    b->path = h->files[i].path;
    b->file = i;
    b->hash = h->files[i].mode == CKPT_HASHER_HASH;
    b->from = h->files[i].hashed;
    b->to = h->files[i].end;
    b->state = h->files[i].state;
    b->req.data = b;
    rc = uv_queue_work(h->loop, &b->req, ckpt_hasher_run, ckpt_hasher_after);
    if (rc < 0) {
        free(b);
        return rc;
    }
    h->batch = b;
    return 0;
}

static void ckpt_hasher_after(uv_work_t *req, int status)
{
    struct ckpt_hasher_batch *b = req->data;
    ckpt_hasher_t *h = b->h;
    int rc = b->rc ? b->rc : status;

    if (!h) {
        free(b);
        return;
    }
    h->batch = NULL;
    if (rc == 0) {
        h->files[b->file].state = b->state;
        h->files[b->file].hashed = b->to;
    }
    free(b);
    if (rc == 0)
        rc = ckpt_hasher_next(h);
    if (rc < 0 && !h->error) {
        ckpt_hasher_done_f *done = h->done;

        h->error = rc;
        h->done = NULL;
        /* the writer learns of it at finish, or now when it finished */
        if (done)
            done(h->done_arg, rc, NULL);
    }
}

int ckpt_hasher_grow(ckpt_hasher_t *h, size_t i, uint64_t end)
{
    if (i >= h->n || h->files[i].mode == CKPT_HASHER_SKIP)
        return 0;
    if (end > h->files[i].end)
        h->files[i].end = end;
    return ckpt_hasher_next(h);
}

int ckpt_hasher_finish(ckpt_hasher_t *h, ckpt_hasher_done_f *done, void *arg)
{
    if (h->error)
        return h->error;
    h->done = done;
    h->done_arg = arg;
    return ckpt_hasher_next(h);
}
