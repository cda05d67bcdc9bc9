/* SPDX-License-Identifier: MIT */
/* ckpt_store.h - the on-disk checkpoint store of one rank or task.
 *
 * The store is a directory RDIR holding numbered versions. The layout is a
 * contract shared by the library (shoal_ckpt_*), the runtime (restarts,
 * replication) and programs that do not link libshoal:
 *
 *   RDIR/v<N>/            version N's files (N >= 1, decimal, no leading 0)
 *   RDIR/v<N>/MANIFEST    "shoal-ckpt 1", then per file, sorted by name:
 *                         "<64 hex of BLAKE2b-256> <size> <name>"
 *   RDIR/v<N>/COMMITTED   empty marker, written last; only a version with
 *                         it counts
 *   RDIR/KEEP             (runtime) the newest version known durable:
 *                         the one the job-wide commit last reached (a
 *                         gang job), or the newest one copied to all its
 *                         replicas (a task with --replicas); it and newer
 *                         ones are never removed
 *   RDIR/NOCOPY           (runtime) "<version> <why>": the last copy of
 *                         a task's version that failed
 *   RDIR/REQUEST          (runtime) "checkpoint" or "exit"
 *   RDIR/COST             (library) seconds the last commit took, from
 *                         begin: the cost the runtime weighs the interval
 *                         against
 *
 * Commit order, so that a crash at any point leaves either the old state
 * or a complete version: every file fsynced, MANIFEST written to a
 * temporary name, fsynced and renamed, COMMITTED created and fsynced, the
 * version directory and RDIR fsynced. Removal runs the other way: the
 * COMMITTED marker goes first, so a half-removed version is uncommitted.
 *
 * Files are hashed while streaming through a fixed buffer; no file is read
 * whole into memory. The store keeps no state besides RDIR's path: every
 * call reads the directory, so the runtime and the program may use the
 * same RDIR one after the other. Not thread-safe; two processes must not
 * write the same RDIR at once. Functions return 0 or a negative errno. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_STORE_H
#define SHOAL_RUNTIME_CKPT_CKPT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct ckpt_store ckpt_store_t;

/* The longest file name of a version (one path component). */
enum ckpt_limits {
    CKPT_NAME_MAX = 255,
    /* bytes of a MANIFEST: about 16,000 files */
    CKPT_MANIFEST_MAX = 4 << 20,
    /* bytes of a file's BLAKE2b hash in a MANIFEST */
    CKPT_HASH_BYTES = 32,
};

/* A file of a version as its MANIFEST lists it. */
struct ckpt_file {
    char name[CKPT_NAME_MAX + 1];
    uint64_t size;
    unsigned char hash[CKPT_HASH_BYTES]; /* BLAKE2b-256 */
};

/* What RDIR/REQUEST asks for. */
enum ckpt_request {
    CKPT_REQUEST_NONE = 0,       /* no REQUEST file */
    CKPT_REQUEST_CHECKPOINT = 1, /* "checkpoint" */
    CKPT_REQUEST_EXIT = 2,       /* "exit" */
};

/* Return 0 if name may be a file of a version: not empty, at most
 * CKPT_NAME_MAX bytes, no '/' or newline (MANIFEST is line based), not
 * starting with '.', not MANIFEST or COMMITTED. Else -EINVAL (NULL too). */
int ckpt_name_check(const char *name);

/* Open the store at rdir (copied; made absolute against the current
 * directory), creating it and its parents (mode 0700) when missing.
 * Returns 0 and sets *out (free with ckpt_store_destroy()), -EINVAL for an
 * empty rdir, -ENOMEM, or the errno of mkdir. */
int ckpt_store_create(const char *rdir, ckpt_store_t **out);

/* Free store; NULL is accepted. Leaves the directory alone. */
void ckpt_store_destroy(ckpt_store_t *store);

/* RDIR, absolute. Borrowed: valid until ckpt_store_destroy(). */
const char *ckpt_store_dir(const ckpt_store_t *store);

/* Format the path of file name of version into buf (size len); name NULL
 * gives the version directory. Returns 0, -EINVAL for a bad name or
 * version, -ENAMETOOLONG when it does not fit. */
int ckpt_store_path(const ckpt_store_t *store,
                    int version,
                    const char *name,
                    char *buf,
                    size_t len);

/* List the version directories of RDIR, ascending, committed or not.
 * Returns the count (>= 0) and sets *versions to an array the caller frees
 * with free() (NULL when the count is 0), or a negative errno. Entries
 * whose names are not v<N> are ignored. */
int ckpt_store_list(const ckpt_store_t *store, int **versions);

/* Return 1 if version has its COMMITTED marker, 0 if not (or no such
 * version), or a negative errno other than ENOENT from stat. */
int ckpt_store_committed(const ckpt_store_t *store, int version);

/* Check version: it must be committed (else -ENOENT), have a well-formed
 * MANIFEST, and every file listed must exist with the recorded size and
 * BLAKE2b-256 hash (else -EUCLEAN; a missing MANIFEST, as in a version
 * that was never sealed, is -EUCLEAN too). Files not listed are ignored.
 * Returns 0, those, -ENOMEM or an errno of reading. */
int ckpt_store_verify(const ckpt_store_t *store, int version);

/* Check the files of version against its MANIFEST as ckpt_store_verify()
 * does, whether the version is committed or not, and fsync each file when
 * sync is set: what a receiver does before it commits a copy. Returns 0,
 * -ENOENT when there is no such version, -EUCLEAN, -ENOMEM or an errno of
 * the file system. */
int ckpt_store_check(const ckpt_store_t *store, int version, bool sync);

/* A file's hash computed by the caller, e.g. while the file was written
 * from the network; valid is false when the caller has none. */
struct ckpt_hash {
    bool valid;
    unsigned char bytes[CKPT_HASH_BYTES];
};

/* ckpt_store_check() for a caller that has hashed some files already:
 * known[i] (i < n, in MANIFEST order; known may be NULL when n is 0)
 * stands for reading file i again, whose size is still checked with
 * fstat. n must be the number of files of the MANIFEST, else -EUCLEAN.
 * Returns as ckpt_store_check(). */
int ckpt_store_check_hashed(const ckpt_store_t *store,
                            int version,
                            const struct ckpt_hash *known,
                            size_t n,
                            bool sync);

/* The identity of version as the file system shows it now: a digest of
 * its MANIFEST's text and of device, inode, size, modification and
 * change times of every file listed. Equal identities at two times mean
 * no listed file was replaced or written in between (to the clock's
 * resolution), so a version verified at the first need not be hashed
 * again at the second. Returns 0, -ENOENT, -EUCLEAN (no MANIFEST, a
 * listed file missing), -ENOMEM or an errno of the file system. */
int ckpt_store_identity(const ckpt_store_t *store,
                        int version,
                        unsigned char identity[CKPT_HASH_BYTES]);

/* Read the MANIFEST of version, committed or not, into *text (caller
 * frees with free(); NUL-terminated) and *len. Returns 0, -ENOENT when
 * there is no such version, -EUCLEAN when there is no MANIFEST or it is
 * longer than CKPT_MANIFEST_MAX, -ENOMEM or an errno of reading. */
int ckpt_store_manifest(const ckpt_store_t *store,
                        int version,
                        char **text,
                        size_t *len);

/* Parse the len bytes of a MANIFEST's text (from another node: any bytes)
 * into *files (caller frees with free(); NULL when there are none) and
 * *n, in the MANIFEST's order. Returns 0, -EUCLEAN for text that is not a
 * well-formed MANIFEST (names checked with ckpt_name_check(), sorted,
 * unique), or -ENOMEM. */
int ckpt_manifest_parse(const char *text,
                        size_t len,
                        struct ckpt_file **files,
                        size_t *n);

/* Find the newest committed version at most at_most whose files verify;
 * versions that fail are skipped, not removed. Returns 0 and sets *version
 * (0 when there is none), or a negative errno when RDIR cannot be read. */
int ckpt_store_newest(const ckpt_store_t *store, int at_most, int *version);

/* Make an empty directory for version, removing whatever held that number
 * first, unless it is committed and pinned by KEEP (-EEXIST). Returns 0,
 * -EINVAL for version < 1, -EEXIST, or an errno of the file system. */
int ckpt_store_begin(const ckpt_store_t *store, int version);

/* Commit version in the order given above. Its directory must hold only
 * regular files with valid names (besides MANIFEST, COMMITTED and the
 * temporary manifest), else -EINVAL and nothing is written. Returns 0,
 * -ENOENT when there is no such directory, -ENOMEM, or an errno of the
 * file system (the version then is not committed). Does not prune. */
int ckpt_store_commit(const ckpt_store_t *store, int version);

/* Create the COMMITTED marker of version, whose files and MANIFEST are
 * in place and checked (a copy received from another node), and fsync it,
 * the version directory and RDIR. Returns 0, -ENOENT when there is no
 * such version, or an errno of the file system. */
int ckpt_store_mark(const ckpt_store_t *store, int version);

/* Write the MANIFEST of a version that a program committed itself (its
 * files plus COMMITTED, without MANIFEST), from the files present, and
 * fsync it and the directories. A version that already has a MANIFEST is
 * left alone (0). Returns 0, -ENOENT when version is not committed,
 * -EINVAL for an entry that is not a regular file with a valid name,
 * -ENOMEM, or an errno of the file system. */
int ckpt_store_seal(const ckpt_store_t *store, int version);

/* Remove version: its COMMITTED marker first, then its files and
 * directory; RDIR is fsynced. A missing version is 0. Returns 0 or an
 * errno of the file system. Does not look at KEEP: the caller decides. */
int ckpt_store_remove(const ckpt_store_t *store, int version);

/* Read RDIR/KEEP into *keep (0 when absent). Returns 0, -EINVAL when it
 * does not hold a positive decimal number, or an errno of reading. */
int ckpt_store_keep(const ckpt_store_t *store, int *keep);

/* Raise RDIR/KEEP to version (>= 1) when it is lower or absent, replaced
 * atomically, fsynced, readable by all: what the runtime writes once
 * version has all its copies. Returns 0 (also when KEEP is already at
 * least version), -EINVAL for version < 1, or an errno of the file
 * system. */
int ckpt_store_keep_raise(const ckpt_store_t *store, int version);

/* Note that the copy of version failed, and why (one line): RDIR/NOCOPY,
 * "<version> <why>", replaced atomically, readable by all; version 0
 * removes the note. Read it back with ckpt_store_nocopy() (*version 0
 * without a note). Both return 0 or an errno of the file system. */
int ckpt_store_nocopy_write(const ckpt_store_t *store,
                            int version,
                            const char *why);
int ckpt_store_nocopy(const ckpt_store_t *store, int *version);

/* Wait until RDIR/KEEP reads version or more, at most seconds (woken by
 * inotify on RDIR, re-read at least every 250 ms; a 50 ms poll where
 * inotify is refused). Returns 0 once it does (at once if it already
 * does), -EHOSTUNREACH as soon as NOCOPY names version or a newer one
 * (its copy failed), -ETIMEDOUT when seconds pass first. */
int ckpt_store_keep_wait(const ckpt_store_t *store,
                         int version,
                         double seconds);

/* Record that the last checkpoint took seconds (RDIR/COST, replaced
 * atomically), or read it into *seconds (0 when absent). Return 0,
 * -EINVAL for a malformed COST, or an errno of the file system. */
int ckpt_store_cost_write(const ckpt_store_t *store, double seconds);
int ckpt_store_cost(const ckpt_store_t *store, double *seconds);

/* Apply retention: keep the two newest committed versions; remove older
 * committed ones, and uncommitted directories older than the newest
 * committed version. Never removes `writing` (0 for none) nor a version
 * >= KEEP. When KEEP is malformed nothing is removed and -EINVAL returned.
 * Returns 0 or the first errno met (it goes on with the others). */
int ckpt_store_prune(const ckpt_store_t *store, int writing);

/* Read RDIR/REQUEST: *kind becomes its request (CKPT_REQUEST_NONE without
 * the file; a file with another text counts as "checkpoint") and *mtime
 * its modification time when it exists. Returns 0 or an errno of reading. */
int ckpt_store_request(const ckpt_store_t *store,
                       enum ckpt_request *kind,
                       struct timespec *mtime);

/* Set *mtime to the modification time of version's COMMITTED marker, on
 * the file system's clock (the one REQUEST's time is on). Returns 0,
 * -ENOENT, or an errno of stat. */
int ckpt_store_commit_time(const ckpt_store_t *store,
                           int version,
                           struct timespec *mtime);

#endif
