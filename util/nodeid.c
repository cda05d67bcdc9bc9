/* SPDX-License-Identifier: MIT */
/* nodeid.c - a node's id, kept in DIR/node-id across restarts. */
#include "util/nodeid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static int nodeid_read(const char *path, uint64_t *id, shoal_error_t *error)
{
    char text[40], *end;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    errno = 0;
    *id = strtoull(text, &end, 16);
    if (n <= 0 || errno || *id == 0 || end == text
        || (*end != '\n' && *end != '\0'))
        return shoal_errprintf(error, -EINVAL, "bad node id file '%s'", path);
    return 0;
}

static int nodeid_random(uint64_t *id)
{
    do {
        if (getrandom(id, sizeof(*id), 0) != (ssize_t)sizeof(*id))
            return -EIO;
        *id &= INT64_MAX;
    } while (*id == 0);
    return 0;
}

/* Write a new id to a file of our own, then link it into place: link()
 * fails with EEXIST when someone else's id got there first. */
static int
nodeid_create(const char *dir, const char *path, shoal_error_t *error)
{
    char tmp[PATH_MAX], text[24];
    uint64_t id;
    size_t len;
    int fd, rc = 0;

    if (snprintf(tmp, sizeof(tmp), "%s/.node-id.%d", dir, (int)getpid())
        >= (int)sizeof(tmp))
        return shoal_errprintf(error, -ENAMETOOLONG, "path too long: '%s'",
                               dir);
    rc = nodeid_random(&id);
    if (rc < 0)
        return shoal_errprintf(error, rc, "cannot make a node id");
    len = (size_t)snprintf(text, sizeof(text), "%016" PRIx64 "\n", id);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return shoal_errprintf(error, -errno, "cannot write '%s': %s", tmp,
                               strerror(errno));
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
        rc = shoal_errprintf(error, errno ? -errno : -EIO,
                             "cannot write '%s': %s", tmp,
                             strerror(errno ? errno : EIO));
    close(fd);
    if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST)
        rc = shoal_errprintf(error, -errno, "cannot write '%s': %s", path,
                             strerror(errno));
    unlink(tmp);
    return rc;
}

int nodeid_load(const char *dir, uint64_t *id, shoal_error_t *error)
{
    char path[PATH_MAX];
    int rc;

    if (snprintf(path, sizeof(path), "%s/node-id", dir) >= (int)sizeof(path))
        return shoal_errprintf(error, -ENAMETOOLONG, "path too long: '%s'",
                               dir);
    rc = nodeid_read(path, id, error);
    if (rc != -ENOENT) {
        if (rc < 0 && rc != -EINVAL)
            shoal_errprintf(error, rc, "cannot read '%s': %s", path,
                            strerror(-rc));
        return rc;
    }
    rc = nodeid_create(dir, path, error);
    if (rc < 0)
        return rc;
    rc = nodeid_read(path, id, error);
    if (rc < 0 && rc != -EINVAL)
        shoal_errprintf(error, rc, "cannot read '%s': %s", path, strerror(-rc));
    return rc;
}
