/* SPDX-License-Identifier: MIT */
/* output_sink.c - write a rank's output where the user wants it. */
#include "runtime/job/output_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/fs.h"

enum {
    /* a tagged line longer than this is emitted in pieces */
    OUTPUT_SINK_LINE_MAX = 65536,
};

/* Write every byte of iov, resuming after partial writes. */
static int output_sink_writev_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        ssize_t n = writev(fd, iov, iovcnt);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* someone made our stdout non-blocking: wait, in order */
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, -1);
                continue;
            }
            return -errno;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static void
output_sink_putv(struct output_sink *s, struct iovec *iov, int iovcnt)
{
    if (!s->broken && output_sink_writev_all(s->dest_fd, iov, iovcnt) == -EPIPE)
        s->broken = true;
}

static void output_sink_put(struct output_sink *s, const char *buf, size_t len)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

    output_sink_putv(s, &iov, 1);
}

static void
output_sink_emit_line(struct output_sink *s, const char *line, size_t len)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "[%d] ", s->rank);
    /* one writev per line keeps tagged lines of different ranks whole */
    struct iovec iov[3] = {
        {.iov_base = prefix, .iov_len = (size_t)plen},
        {.iov_base = s->partial, .iov_len = s->partial_len},
        {.iov_base = (void *)line, .iov_len = len},
    };

    output_sink_putv(s, iov, 3);
    s->partial_len = 0;
}

static void
output_sink_keep_partial(struct output_sink *s, const char *p, size_t len)
{
    if (s->partial_len + len > OUTPUT_SINK_LINE_MAX) {
        static const char nl = '\n';
        output_sink_emit_line(s, p, len);
        output_sink_put(s, &nl, 1);
        s->line_cut = true;
        return;
    }
    if (!s->partial) {
        s->partial = malloc(OUTPUT_SINK_LINE_MAX);
        if (!s->partial) {
            output_sink_put(s, p, len);
            return;
        }
    }
    memcpy(s->partial + s->partial_len, p, len);
    s->partial_len += len;
}

void output_sink_write(struct output_sink *s, const char *buf, size_t len)
{
    if (!s->open)
        return;
    if (!s->tag) {
        output_sink_put(s, buf, len);
        return;
    }
    if (s->line_cut && len > 0) {
        /* the newline that ends a line cut for length was written with
         * the cut: an empty tagged line would be noise */
        s->line_cut = false;
        if (buf[0] == '\n' && s->partial_len == 0) {
            buf++;
            len--;
        }
    }
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        if (!nl) {
            output_sink_keep_partial(s, buf, len);
            return;
        }
        output_sink_emit_line(s, buf, (size_t)(nl - buf) + 1);
        len -= (size_t)(nl - buf) + 1;
        buf = nl + 1;
    }
}

void output_sink_close(struct output_sink *s)
{
    if (!s->open)
        return;
    if (s->partial_len > 0)
        output_sink_emit_line(s, "\n", 1);
    free(s->partial);
    s->partial = NULL;
    s->open = false;
    if (s->own_dest)
        close(s->dest_fd);
}

int output_sink_open(struct output_sink *s,
                     int rank,
                     const char *name,
                     int dest_fd,
                     bool tag,
                     const char *output_dir,
                     shoal_error_t *error)
{
    char path[4096];
    int n;

    memset(s, 0, sizeof(*s));
    s->rank = rank;
    s->dest_fd = dest_fd;
    s->tag = tag && !output_dir;
    if (output_dir) {
        n = snprintf(path, sizeof(path), "%s/1/rank.%d", output_dir, rank);
        if (n < 0 || (size_t)n >= sizeof(path) - 16)
            return shoal_errprintf(error, -ENAMETOOLONG,
                                   "output directory '%s' is too long",
                                   output_dir);
        /* SHOAL_EOUTPUT, not the errno: a missing directory here is no
         * missing program (127) to whoever maps codes to exit statuses */
        if (fs_mkdir_p(path, 0755) < 0)
            return shoal_errprintf(error, SHOAL_EOUTPUT,
                                   "cannot create directory '%s': %s", path,
                                   strerror(errno));
        snprintf(path + n, sizeof(path) - (size_t)n, "/%s", name);
        s->dest_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s->dest_fd < 0)
            return shoal_errprintf(error, SHOAL_EOUTPUT,
                                   "cannot create '%s': %s", path,
                                   strerror(errno));
        s->own_dest = true;
    }
    s->open = true;
    return 0;
}
