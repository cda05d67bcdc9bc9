/* SPDX-License-Identifier: MIT */
/* ckpt_store.c - the on-disk checkpoint store of one rank or task.
 *
 * Every operation works relative to a directory descriptor (openat and
 * friends), so a path is resolved once and fsync can be applied to the
 * directories whose entries changed: on Linux a new or renamed entry is
 * durable only once its directory is fsynced. The manifest is parsed
 * strictly (sorted names, exact hex, decimal sizes): a manifest that does
 * not parse is as corrupt as a file whose hash differs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "runtime/ckpt/ckpt_store.h"
#include "util/fs.h"

enum {
    CKPT_READ_CHUNK = 64 * 1024,
};

static const char ckpt_manifest_name[] = "MANIFEST";
static const char ckpt_manifest_tmp[] = ".MANIFEST.tmp";
static const char ckpt_committed_name[] = "COMMITTED";
static const char ckpt_manifest_magic[] = "shoal-ckpt 1";

struct ckpt_store {
    char *dir;
};

/* One line of a manifest. */
struct ckpt_entry {
    char name[CKPT_NAME_MAX + 1];
    unsigned char hash[CKPT_HASH_BYTES];
    uint64_t size;
};

struct ckpt_entries {
    struct ckpt_entry *v;
    size_t count;
    size_t max;
};

int ckpt_name_check(const char *name)
{
    size_t len;

    if (!name)
        return -EINVAL;
    len = strnlen(name, CKPT_NAME_MAX + 1);
    if (len == 0 || len > CKPT_NAME_MAX || name[0] == '.')
        return -EINVAL;
    if (strchr(name, '/') || strchr(name, '\n'))
        return -EINVAL;
    if (!strcmp(name, ckpt_manifest_name) || !strcmp(name, ckpt_committed_name))
        return -EINVAL;
    return 0;
}

int ckpt_store_create(const char *rdir, ckpt_store_t **out)
{
    ckpt_store_t *store;
    char cwd[PATH_MAX];
    size_t len;

    if (!rdir || !rdir[0] || !out)
        return -EINVAL;
    store = calloc(1, sizeof(*store));
    if (!store)
        return -ENOMEM;
    if (rdir[0] == '/') {
        store->dir = strdup(rdir);
    } else {
        if (!getcwd(cwd, sizeof(cwd))) {
            int rc = -errno;
            free(store);
            return rc;
        }
        len = strlen(cwd) + strlen(rdir) + 2;
        store->dir = malloc(len);
        if (store->dir)
            snprintf(store->dir, len, "%s/%s", cwd, rdir);
    }
    if (!store->dir) {
        free(store);
        return -ENOMEM;
    }
    len = strlen(store->dir);
    while (len > 1 && store->dir[len - 1] == '/')
        store->dir[--len] = '\0';
    if (fs_mkdir_p(store->dir, 0700) < 0) {
        int rc = -errno;
        ckpt_store_destroy(store);
        return rc;
    }
    *out = store;
    return 0;
}

void ckpt_store_destroy(ckpt_store_t *store)
{
    if (!store)
        return;
    free(store->dir);
    free(store);
}

const char *ckpt_store_dir(const ckpt_store_t *store)
{
    return store->dir;
}

int ckpt_store_path(const ckpt_store_t *store,
                    int version,
                    const char *name,
                    char *buf,
                    size_t len)
{
    int n;

    if (version < 1 || (name && ckpt_name_check(name) < 0))
        return -EINVAL;
    if (name)
        n = snprintf(buf, len, "%s/v%d/%s", store->dir, version, name);
    else
        n = snprintf(buf, len, "%s/v%d", store->dir, version);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* Parse "v<N>": N decimal, no leading zero, 1..INT_MAX. Returns N or 0. */
static int version_of_name(const char *name)
{
    long v = 0;

    if (name[0] != 'v' || name[1] < '1' || name[1] > '9')
        return 0;
    for (const char *p = name + 1; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return 0;
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return 0;
    }
    return (int)v;
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int ckpt_store_list(const ckpt_store_t *store, int **versions)
{
    DIR *d = opendir(store->dir);
    struct dirent *de;
    struct stat st;
    int *v = NULL, count = 0, max = 0, rc = 0;

    *versions = NULL;
    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        int n = version_of_name(de->d_name);

        if (n == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
            || !S_ISDIR(st.st_mode))
            continue;
        if (count == max) {
            int *nv = realloc(v, (max ? max * 2 : 8) * sizeof(*v));
            if (!nv) {
                rc = -ENOMEM;
                goto error;
            }
            v = nv;
            max = max ? max * 2 : 8;
        }
        v[count++] = n;
    }
    closedir(d);
    if (count > 0)
        qsort(v, count, sizeof(*v), int_cmp);
    *versions = v;
    if (count == 0) {
        free(v);
        *versions = NULL;
    }
    return count;
error:
    closedir(d);
    free(v);
    return rc;
}

/* Open version's directory; returns an fd or a negative errno. */
static int open_version(const ckpt_store_t *store, int version)
{
    char path[PATH_MAX];
    int rc = ckpt_store_path(store, version, NULL, path, sizeof(path));
    int fd;

    if (rc < 0)
        return rc;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int ckpt_store_committed(const ckpt_store_t *store, int version)
{
    char path[PATH_MAX];
    struct stat st;
    int rc = ckpt_store_path(store, version, NULL, path, sizeof(path));

    if (rc < 0)
        return rc;
    if (strlen(path) + sizeof(ckpt_committed_name) + 1 > sizeof(path))
        return -ENAMETOOLONG;
    strcat(path, "/");
    strcat(path, ckpt_committed_name);
    if (stat(path, &st) < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    return 1;
}

/* Hash file name in dirfd (streaming), give its size, and fsync it when
 * sync is set. A file that is not regular is -EINVAL. */
static int hash_file(int dfd,
                     const char *name,
                     bool sync,
                     unsigned char hash[CKPT_HASH_BYTES],
                     uint64_t *size)
{
    crypto_generichash_state st;
    unsigned char *buf = NULL;
    struct stat sb;
    uint64_t total = 0;
    ssize_t n;
    int rc = 0;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    buf = malloc(CKPT_READ_CHUNK);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    crypto_generichash_init(&st, NULL, 0, CKPT_HASH_BYTES);
    while ((n = read(fd, buf, CKPT_READ_CHUNK)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        crypto_generichash_update(&st, buf, (unsigned long long)n);
        total += (uint64_t)n;
    }
    crypto_generichash_final(&st, hash, CKPT_HASH_BYTES);
    *size = total;
    if (sync && fsync(fd) < 0)
        rc = -errno;
out:
    free(buf);
    close(fd);
    return rc;
}

static struct ckpt_entry *entries_add(struct ckpt_entries *e)
{
    if (e->count == e->max) {
        size_t max = e->max ? e->max * 2 : 16;
        struct ckpt_entry *nv = realloc(e->v, max * sizeof(*nv));

        if (!nv)
            return NULL;
        e->v = nv;
        e->max = max;
    }
    memset(&e->v[e->count], 0, sizeof(e->v[0]));
    return &e->v[e->count++];
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse one manifest line (newline removed) into ent. Returns 0 or
 * -EUCLEAN. */
static int parse_line(const char *line, struct ckpt_entry *ent)
{
    const char *p = line;
    uint64_t size = 0;

    for (int i = 0; i < CKPT_HASH_BYTES; i++) {
        int hi = hex_value(p[0]), lo = hi < 0 ? -1 : hex_value(p[1]);

        if (hi < 0 || lo < 0)
            return -EUCLEAN;
        ent->hash[i] = (unsigned char)(hi << 4 | lo);
        p += 2;
    }
    if (*p++ != ' ' || !isdigit((unsigned char)*p))
        return -EUCLEAN;
    if (p[0] == '0' && p[1] != ' ')
        return -EUCLEAN;
    for (; isdigit((unsigned char)*p); p++) {
        if (size > (UINT64_MAX - 9) / 10)
            return -EUCLEAN;
        size = size * 10 + (uint64_t)(*p - '0');
    }
    if (*p++ != ' ' || ckpt_name_check(p) < 0)
        return -EUCLEAN;
    ent->size = size;
    strcpy(ent->name, p);
    return 0;
}

/* Parse the text of a MANIFEST into e. Lines end with a newline; the
 * first is the magic, the others are sorted by name. Anything else is
 * -EUCLEAN; -ENOMEM. */
static int parse_manifest(const char *text, size_t len, struct ckpt_entries *e)
{
    char line[2 * CKPT_HASH_BYTES + 24 + CKPT_NAME_MAX + 2];
    size_t off = 0;
    int lineno = 0;

    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : 0;
        struct ckpt_entry *ent;
        int rc;

        if (!nl || n >= sizeof(line) || memchr(text + off, '\0', n))
            return -EUCLEAN;
        memcpy(line, text + off, n);
        line[n] = '\0';
        off += n + 1;
        if (lineno++ == 0) {
            if (strcmp(line, ckpt_manifest_magic) != 0)
                return -EUCLEAN;
            continue;
        }
        ent = entries_add(e);
        if (!ent)
            return -ENOMEM;
        rc = parse_line(line, ent);
        if (rc < 0)
            return rc;
        if (e->count > 1 && strcmp(e->v[e->count - 2].name, ent->name) >= 0)
            return -EUCLEAN;
    }
    return lineno == 0 ? -EUCLEAN : 0;
}

/* Read the MANIFEST of dfd into memory (*text, NUL-terminated, caller
 * frees). A missing one, or one longer than CKPT_MANIFEST_MAX, is
 * -EUCLEAN. */
static int read_manifest_text(int dfd, char **text, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int rc = 0;
    int fd = openat(dfd, ckpt_manifest_name, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? -EUCLEAN : -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CKPT_MANIFEST_MAX) {
        close(fd);
        return -EUCLEAN;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EUCLEAN;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

/* Read dfd's MANIFEST into e. A missing or malformed one is -EUCLEAN. */
static int read_manifest(int dfd, struct ckpt_entries *e)
{
    char *text;
    size_t len;
    int rc = read_manifest_text(dfd, &text, &len);

    if (rc < 0)
        return rc;
    rc = parse_manifest(text, len, e);
    free(text);
    return rc;
}

int ckpt_store_manifest(const ckpt_store_t *store,
                        int version,
                        char **text,
                        size_t *len)
{
    int rc, dfd = open_version(store, version);

    if (dfd < 0)
        return dfd;
    rc = read_manifest_text(dfd, text, len);
    close(dfd);
    return rc;
}

int ckpt_manifest_parse(const char *text,
                        size_t len,
                        struct ckpt_file **files,
                        size_t *n)
{
    struct ckpt_entries e = {0};
    struct ckpt_file *v = NULL;
    int rc = parse_manifest(text, len, &e);

    if (rc == 0 && e.count > 0) {
        v = calloc(e.count, sizeof(*v));
        if (!v)
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < e.count; i++) {
        strcpy(v[i].name, e.v[i].name);
        v[i].size = e.v[i].size;
        memcpy(v[i].hash, e.v[i].hash, CKPT_HASH_BYTES);
    }
    free(e.v);
    if (rc < 0)
        return rc;
    *files = v;
    *n = e.count;
    return 0;
}

/* Check file i of a manifest by the hash known for it: its size from
 * fstat, and an fsync when sync is set. */
static int check_known(int dfd,
                       const struct ckpt_entry *ent,
                       const struct ckpt_hash *known,
                       bool sync)
{
    struct stat sb;
    int rc = 0;
    int fd = openat(dfd, ent->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0)
        rc = -errno;
    else if (!S_ISREG(sb.st_mode))
        rc = -EINVAL;
    else if ((uint64_t)sb.st_size != ent->size
             || sodium_memcmp(known->bytes, ent->hash, CKPT_HASH_BYTES) != 0)
        rc = -EUCLEAN;
    else if (sync && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Hash every file of version against its MANIFEST, fsyncing each when
 * sync is set; a file with a known hash is not read. */
static int check_files(const ckpt_store_t *store,
                       int version,
                       const struct ckpt_hash *known,
                       size_t nknown,
                       bool sync)
{
    struct ckpt_entries e = {0};
    unsigned char hash[CKPT_HASH_BYTES];
    uint64_t size;
    int rc, dfd = open_version(store, version);

    if (dfd < 0)
        return dfd;
    rc = read_manifest(dfd, &e);
    if (rc == 0 && known && nknown != e.count)
        rc = -EUCLEAN;
    for (size_t i = 0; rc == 0 && i < e.count; i++) {
        if (known && known[i].valid) {
            rc = check_known(dfd, &e.v[i], &known[i], sync);
        } else {
            rc = hash_file(dfd, e.v[i].name, sync, hash, &size);
            if (rc == 0
                && (size != e.v[i].size
                    || sodium_memcmp(hash, e.v[i].hash, sizeof(hash)) != 0))
                rc = -EUCLEAN;
        }
        if (rc == -ENOENT || rc == -EINVAL || rc == -ELOOP)
            rc = -EUCLEAN;
    }
    free(e.v);
    close(dfd);
    return rc;
}

int ckpt_store_check(const ckpt_store_t *store, int version, bool sync)
{
    return check_files(store, version, NULL, 0, sync);
}

int ckpt_store_check_hashed(const ckpt_store_t *store,
                            int version,
                            const struct ckpt_hash *known,
                            size_t n,
                            bool sync)
{
    static const struct ckpt_hash none;

    /* an empty version has no files to know: keep the count checked */
    return check_files(store, version, n ? known : &none, n, sync);
}

int ckpt_store_identity(const ckpt_store_t *store,
                        int version,
                        unsigned char identity[CKPT_HASH_BYTES])
{
    crypto_generichash_state st;
    char *text = NULL;
    size_t len = 0;
    struct ckpt_entries e = {0};
    int rc, dfd = open_version(store, version);

    if (dfd < 0)
        return dfd;
    rc = read_manifest_text(dfd, &text, &len);
    if (rc == 0)
        rc = parse_manifest(text, len, &e);
    if (rc == 0) {
        crypto_generichash_init(&st, NULL, 0, CKPT_HASH_BYTES);
        crypto_generichash_update(&st, (const unsigned char *)text, len);
    }
    for (size_t i = 0; rc == 0 && i < e.count; i++) {
        struct stat sb;
        int64_t v[7];

        if (fstatat(dfd, e.v[i].name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = errno == ENOENT ? -EUCLEAN : -errno;
            break;
        }
        v[0] = (int64_t)sb.st_dev;
        v[1] = (int64_t)sb.st_ino;
        v[2] = (int64_t)sb.st_size;
        v[3] = (int64_t)sb.st_mtim.tv_sec;
        v[4] = (int64_t)sb.st_mtim.tv_nsec;
        v[5] = (int64_t)sb.st_ctim.tv_sec;
        v[6] = (int64_t)sb.st_ctim.tv_nsec;
        crypto_generichash_update(&st, (const unsigned char *)v, sizeof(v));
    }
    if (rc == 0)
        crypto_generichash_final(&st, identity, CKPT_HASH_BYTES);
    free(e.v);
    free(text);
    close(dfd);
    return rc;
}

int ckpt_store_verify(const ckpt_store_t *store, int version)
{
    int rc = ckpt_store_committed(store, version);

    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    return check_files(store, version, NULL, 0, false);
}

int ckpt_store_newest(const ckpt_store_t *store, int at_most, int *version)
{
    int *v = NULL;
    int count = ckpt_store_list(store, &v);

    *version = 0;
    if (count < 0)
        return count;
    for (int i = count - 1; i >= 0; i--) {
        int rc;

        if (v[i] > at_most)
            continue;
        rc = ckpt_store_verify(store, v[i]);
        if (rc == -ENOMEM) {
            free(v);
            return rc;
        }
        if (rc == 0) {
            *version = v[i];
            break;
        }
    }
    free(v);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ckpt_entry *)a)->name,
                  ((const struct ckpt_entry *)b)->name);
}

/* The files of version directory dfd, sorted by name. Anything besides
 * regular files with valid names (and the store's own files) is -EINVAL. */
static int scan_files(int dfd, struct ckpt_entries *e)
{
    int fd = dup(dfd);
    DIR *d;
    struct dirent *de;
    struct stat st;
    int rc = 0;

    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        struct ckpt_entry *ent;

        if (!strcmp(n, ".") || !strcmp(n, "..")
            || !strcmp(n, ckpt_manifest_name) || !strcmp(n, ckpt_committed_name)
            || !strcmp(n, ckpt_manifest_tmp))
            continue;
        if (ckpt_name_check(n) < 0
            || fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0
            || !S_ISREG(st.st_mode)) {
            rc = -EINVAL;
            break;
        }
        ent = entries_add(e);
        if (!ent) {
            rc = -ENOMEM;
            break;
        }
        strcpy(ent->name, n);
    }
    closedir(d);
    if (rc == 0 && e->count > 1)
        qsort(e->v, e->count, sizeof(e->v[0]), name_cmp);
    return rc;
}

/* Hash and fsync every file of e, then write MANIFEST durably (temporary
 * name, fsync, rename). */
static int write_manifest(int dfd, struct ckpt_entries *e)
{
    char hex[CKPT_HASH_BYTES * 2 + 1];
    FILE *f;
    int fd, rc = 0;

    for (size_t i = 0; i < e->count; i++) {
        rc = hash_file(dfd, e->v[i].name, true, e->v[i].hash, &e->v[i].size);
        if (rc < 0)
            return rc;
    }
    fd = openat(dfd, ckpt_manifest_tmp,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    f = fdopen(fd, "w");
    if (!f) {
        rc = -errno;
        close(fd);
        goto error;
    }
    fprintf(f, "%s\n", ckpt_manifest_magic);
    for (size_t i = 0; i < e->count; i++) {
        sodium_bin2hex(hex, sizeof(hex), e->v[i].hash, CKPT_HASH_BYTES);
        fprintf(f, "%s %" PRIu64 " %s\n", hex, e->v[i].size, e->v[i].name);
    }
    errno = 0;
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0)
        rc = errno ? -errno : -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0
        && renameat(dfd, ckpt_manifest_tmp, dfd, ckpt_manifest_name) < 0)
        rc = -errno;
    if (rc == 0)
        return 0;
error:
    unlinkat(dfd, ckpt_manifest_tmp, 0);
    return rc;
}

static int create_marker(int dfd)
{
    int rc = 0;
    int fd = openat(dfd, ckpt_committed_name,
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int ckpt_store_mark(const ckpt_store_t *store, int version)
{
    int rc, dfd = open_version(store, version);

    if (dfd < 0)
        return dfd;
    rc = create_marker(dfd);
    if (rc == 0 && fsync(dfd) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_path(store->dir);
    close(dfd);
    return rc;
}

int ckpt_store_commit(const ckpt_store_t *store, int version)
{
    struct ckpt_entries e = {0};
    int rc, dfd = open_version(store, version);

    if (dfd < 0)
        return dfd;
    rc = scan_files(dfd, &e);
    if (rc == 0)
        rc = write_manifest(dfd, &e);
    if (rc == 0)
        rc = create_marker(dfd);
    if (rc == 0 && fsync(dfd) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_path(store->dir);
    free(e.v);
    close(dfd);
    return rc;
}

int ckpt_store_seal(const ckpt_store_t *store, int version)
{
    struct ckpt_entries e = {0};
    struct stat st;
    int dfd, rc = ckpt_store_committed(store, version);

    if (rc <= 0)
        return rc == 0 ? -ENOENT : rc;
    dfd = open_version(store, version);
    if (dfd < 0)
        return dfd;
    if (fstatat(dfd, ckpt_manifest_name, &st, 0) == 0) {
        close(dfd);
        return 0;
    }
    rc = scan_files(dfd, &e);
    if (rc == 0)
        rc = write_manifest(dfd, &e);
    if (rc == 0 && fsync(dfd) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_path(store->dir);
    free(e.v);
    close(dfd);
    return rc;
}

/* Remove name in dfd and, if it is a directory, everything below it. */
static int remove_tree_at(int dfd, const char *name)
{
    struct stat st;
    struct dirent *de;
    DIR *d;
    int fd, rc = 0;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        rc = -errno;
        close(fd);
        return rc;
    }
    while ((de = readdir(d))) {
        int r;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        r = remove_tree_at(fd, de->d_name);
        if (r < 0 && rc == 0)
            rc = r;
    }
    closedir(d);
    if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

int ckpt_store_remove(const ckpt_store_t *store, int version)
{
    char name[16];
    int rc, rfd, dfd = open_version(store, version);

    if (dfd == -ENOENT)
        return 0;
    if (dfd < 0)
        return dfd;
    /* Uncommit first: a removal cut short leaves no committed remnant. */
    if (unlinkat(dfd, ckpt_committed_name, 0) == 0 && fsync(dfd) < 0) {
        rc = -errno;
        close(dfd);
        return rc;
    }
    close(dfd);
    rfd = open(store->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return -errno;
    snprintf(name, sizeof(name), "v%d", version);
    rc = remove_tree_at(rfd, name);
    if (rc == 0 && fsync(rfd) < 0)
        rc = -errno;
    close(rfd);
    return rc;
}

/* Read the small text file RDIR/name into text (NUL-terminated, at most
 * len - 1 bytes). Returns 1, 0 when there is no such file, or a negative
 * errno. */
static int ckpt_store_read_note(const ckpt_store_t *store,
                                const char *name,
                                char *text,
                                size_t len)
{
    char path[PATH_MAX];
    FILE *f;
    size_t n;

    if (snprintf(path, sizeof(path), "%s/%s", store->dir, name)
        >= (int)sizeof(path))
        return -ENAMETOOLONG;
    f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    n = fread(text, 1, len - 1, f);
    fclose(f);
    text[n] = '\0';
    return 1;
}

/* Replace the small text file RDIR/name with the formatted text: written
 * to name.tmp, made readable by all (the task may run as another user than
 * the writer, whatever the umask), then renamed over name, so a reader sees
 * the old note or the new one, never a part. When durable is set the file
 * and then RDIR are fsynced, so the note outlives a crash; otherwise a
 * crash may lose it. Returns 0 or a negative errno; on failure name.tmp is
 * removed and name is as it was. */
static int ckpt_store_write_note(const ckpt_store_t *store,
                                 const char *name,
                                 bool durable,
                                 const char *fmt,
                                 ...) __attribute__((format(printf, 4, 5)));
static int ckpt_store_write_note(const ckpt_store_t *store,
                                 const char *name,
                                 bool durable,
                                 const char *fmt,
                                 ...)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    va_list ap;
    int fd, rc = 0;

    if (snprintf(path, sizeof(path), "%s/%s", store->dir, name)
            >= (int)sizeof(path)
        || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    va_start(ap, fmt);
    errno = 0;
    if (vdprintf(fd, fmt, ap) < 0)
        rc = errno ? -errno : -EIO;
    va_end(ap);
    if (rc == 0 && fchmod(fd, 0644) < 0)
        rc = -errno;
    if (rc == 0 && durable && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    return durable ? fsync_path(store->dir) : 0;
}

int ckpt_store_keep(const ckpt_store_t *store, int *keep)
{
    char text[32], *end;
    int rc = ckpt_store_read_note(store, "KEEP", text, sizeof(text));
    long v;

    *keep = 0;
    if (rc <= 0)
        return rc;
    errno = 0;
    v = strtol(text, &end, 10);
    while (*end == '\n' || *end == ' ' || *end == '\r')
        end++;
    if (!isdigit((unsigned char)text[0]) || *end || errno || v < 1
        || v > INT_MAX)
        return -EINVAL;
    *keep = (int)v;
    return 0;
}

int ckpt_store_keep_raise(const ckpt_store_t *store, int version)
{
    int keep = 0;

    if (version < 1)
        return -EINVAL;
    /* a malformed KEEP pins nothing (prune refuses to run): replace it */
    if (ckpt_store_keep(store, &keep) == 0 && keep >= version)
        return 0;
    return ckpt_store_write_note(store, "KEEP", true, "%d\n", version);
}

int ckpt_store_nocopy_write(const ckpt_store_t *store,
                            int version,
                            const char *why)
{
    char path[PATH_MAX];

    if (version < 1) {
        if (snprintf(path, sizeof(path), "%s/NOCOPY", store->dir)
            >= (int)sizeof(path))
            return -ENAMETOOLONG;
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    }
    /* no fsync: a note lost to a crash only makes a commit wait its whole
     * bound */
    return ckpt_store_write_note(store, "NOCOPY", false, "%d %s\n", version,
                                 why ? why : "");
}

int ckpt_store_nocopy(const ckpt_store_t *store, int *version)
{
    char text[64];
    int rc = ckpt_store_read_note(store, "NOCOPY", text, sizeof(text));

    *version = 0;
    if (rc <= 0)
        return rc;
    *version = atoi(text) > 0 ? atoi(text) : 0;
    return 0;
}

static double ckpt_store_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ckpt_store_keep_wait(const ckpt_store_t *store, int version, double seconds)
{
    double end = ckpt_store_mono() + seconds;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), rc = -ETIMEDOUT;

    /* KEEP is replaced by a rename into RDIR: one event wakes the wait.
     * Without inotify (a file system or a limit that refuses it), a
     * short poll does the same job */
    if (fd >= 0
        && inotify_add_watch(fd, store->dir,
                             IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR)
               < 0) {
        close(fd);
        fd = -1;
    }
    for (;;) {
        int keep = 0;
        double left;

        int failed = 0;

        /* a malformed KEEP (being replaced by hand) reads as none yet */
        if (ckpt_store_keep(store, &keep) == 0 && keep >= version) {
            rc = 0;
            break;
        }
        /* the copy of this version (or of a newer one) failed: the next
         * try is seconds away, and may fail as well */
        if (ckpt_store_nocopy(store, &failed) == 0 && failed >= version) {
            rc = -EHOSTUNREACH;
            break;
        }
        left = end - ckpt_store_mono();
        if (left <= 0)
            break;
        if (fd >= 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            char buf[4096];
            int ms = left > 0.25 ? 250 : (int)(left * 1000) + 1;

            /* the bound also covers an event lost to a full queue */
            if (poll(&p, 1, ms) > 0)
                while (read(fd, buf, sizeof(buf)) > 0)
                    ;
        } else {
            usleep(left > 0.05 ? 50 * 1000 : (useconds_t)(left * 1e6) + 1);
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int ckpt_store_cost_write(const ckpt_store_t *store, double seconds)
{
    if (!(seconds >= 0))
        return -EINVAL;
    /* no fsync: a cost lost to a crash is measured again next time */
    return ckpt_store_write_note(store, "COST", false, "%.6f\n", seconds);
}

int ckpt_store_cost(const ckpt_store_t *store, double *seconds)
{
    char text[64], *end;
    int rc = ckpt_store_read_note(store, "COST", text, sizeof(text));
    double v;

    *seconds = 0;
    if (rc <= 0)
        return rc;
    v = strtod(text, &end);
    while (*end == '\n')
        end++;
    if (end == text || *end || !(v >= 0) || v > 1e9)
        return -EINVAL;
    *seconds = v;
    return 0;
}

int ckpt_store_prune(const ckpt_store_t *store, int writing)
{
    int *v = NULL, keep, newest = 0, second = 0, count, rc, first = 0;

    rc = ckpt_store_keep(store, &keep);
    if (rc < 0)
        return rc;
    count = ckpt_store_list(store, &v);
    if (count < 0)
        return count;
    int *committed = calloc(count ? count : 1, sizeof(*committed));
    if (!committed) {
        free(v);
        return -ENOMEM;
    }
    for (int i = count - 1; i >= 0; i--) {
        committed[i] = ckpt_store_committed(store, v[i]) == 1;
        if (!committed[i])
            continue;
        if (!newest)
            newest = v[i];
        else if (!second)
            second = v[i];
    }
    for (int i = 0; i < count; i++) {
        bool drop = committed[i] ? second && v[i] < second : v[i] < newest;

        if (!drop || v[i] == writing || (keep && v[i] >= keep))
            continue;
        rc = ckpt_store_remove(store, v[i]);
        if (rc < 0 && first == 0)
            first = rc;
    }
    free(committed);
    free(v);
    return first;
}

int ckpt_store_begin(const ckpt_store_t *store, int version)
{
    char path[PATH_MAX];
    int keep = 0,
        rc = ckpt_store_path(store, version, NULL, path, sizeof(path));

    if (rc < 0)
        return rc;
    rc = ckpt_store_committed(store, version);
    if (rc < 0)
        return rc;
    if (rc == 1 && ckpt_store_keep(store, &keep) == 0 && keep
        && version >= keep)
        return -EEXIST;
    rc = ckpt_store_remove(store, version);
    if (rc < 0)
        return rc;
    if (mkdir(path, 0700) < 0)
        return -errno;
    return fsync_path(store->dir);
}

int ckpt_store_request(const ckpt_store_t *store,
                       enum ckpt_request *kind,
                       struct timespec *mtime)
{
    char path[PATH_MAX], text[32];
    struct stat st;
    size_t n;
    FILE *f;

    *kind = CKPT_REQUEST_NONE;
    if (snprintf(path, sizeof(path), "%s/REQUEST", store->dir)
        >= (int)sizeof(path))
        return -ENAMETOOLONG;
    f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fileno(f), &st) < 0) {
        int rc = -errno;
        fclose(f);
        return rc;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    *kind =
        strcmp(text, "exit") == 0 ? CKPT_REQUEST_EXIT : CKPT_REQUEST_CHECKPOINT;
    if (mtime)
        *mtime = st.st_mtim;
    return 0;
}

int ckpt_store_commit_time(const ckpt_store_t *store,
                           int version,
                           struct timespec *mtime)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    int rc = ckpt_store_path(store, version, NULL, dir, sizeof(dir));

    if (rc < 0)
        return rc;
    if (snprintf(path, sizeof(path), "%s/%s", dir, ckpt_committed_name)
        >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (stat(path, &st) < 0)
        return -errno;
    *mtime = st.st_mtim;
    return 0;
}
