/* SPDX-License-Identifier: MIT */
/* ckpt.h - application checkpoints: the same calls for a task and for
 * every rank of an MPI program.
 *
 * A program saves its state as versions: numbered sets of files. It calls
 * shoal_ckpt_init() once at start (after MPI_Init in an MPI program); if a
 * committed version exists it reads its files through shoal_ckpt_route()
 * and continues from there. Then, from time to time (every K steps, or
 * when shoal_ckpt_need() says so):
 *
 *     shoal_ckpt_begin(version);            version > every earlier one
 *     write files at shoal_ckpt_route(name);
 *     shoal_ckpt_commit(valid);             0 if writing failed
 *
 * A version counts once it is committed: its files are fsynced, hashed
 * (BLAKE2b-256) into a manifest, and marked COMMITTED. A program killed at
 * any moment leaves its last committed version restorable. After a commit
 * the two newest committed versions are kept, older ones removed (the
 * runtime can pin versions it still needs). README.md, "Checkpoints",
 * describes the directory layout, which programs that do not link libshoal
 * may write themselves.
 *
 * Where files go: $SHOAL_CKPT_DIR when set (the runtime sets one per rank
 * or task), else ./shoal-ckpt/rank<R>, R the first of PMI_RANK, PMIX_RANK,
 * OMPI_COMM_WORLD_RANK, SLURM_PROCID set in the environment, else 0. The
 * directory is created if missing.
 *
 * MPI programs. Linked with shoal's own MPI, init, begin, commit, need and
 * should_exit are collective over MPI_COMM_WORLD: every rank must call them
 * in the same order. begin quiesces the channels (no message crosses the
 * cut), commit commits on every rank or on none, need and should_exit
 * return the same flag on every rank, and init restores the same version
 * on every rank. With another MPI library these guarantees are absent and
 * each call acts for its rank alone: combine need()'s flags yourself
 * (MPI_Allreduce with MPI_MAX), call begin and commit where no message is
 * in flight, and check that every rank restored the same version.
 *
 * Every function returns 0 or a negative errno value; a call that fails
 * has no effect unless its text says otherwise. Calls made out of order
 * (begin before init, commit without begin, ...) return -EINVAL. Not
 * thread-safe: call from one thread of the process. */
#ifndef SHOAL_CKPT_H
#define SHOAL_CKPT_H

#include <shoal/version.h>

/* Start checkpointing and find the version to restore, if any. restarted
 * and version may be NULL; *restarted becomes 1 and *version the version
 * number when a version is restored, else both become 0.
 *
 * When the runtime restarts a job (SHOAL_CKPT_RESTART=1 and
 * SHOAL_CKPT_VERSION=N in the environment), version N is restored: it
 * must be committed (else -ENOENT) and every file of its manifest must
 * have the recorded size and hash (else -EUCLEAN). With
 * SHOAL_CKPT_RESTART=0 the runtime found no version to restore: nothing is
 * restored, whatever the directory holds. Otherwise the newest
 * committed version whose files verify is restored; versions that fail
 * verification are skipped and left in place. In an MPI job with shoal's
 * MPI, the ranks agree on the newest version every rank has (see
 * ckpt_api.c), and a rank that cannot restore the runtime's version makes
 * every rank fail (the others with -ECANCELED).
 *
 * Returns 0; -EINVAL when already initialized or when SHOAL_CKPT_VERSION,
 * SHOAL_CKPT_INTERVAL or (with SHOAL_CKPT_DURABLE=1)
 * SHOAL_CKPT_COMMIT_WAIT is malformed; -ENOMEM; or the errno of a file
 * system call that failed. */
SHOAL_API int shoal_ckpt_init(int *restarted, int *version);

/* The path at which to write file name of the version being written
 * (between begin and commit), or to read it from the restored version
 * (after init, before the first begin). name is one path component: not
 * empty, at most 255 bytes, no '/' or newline, not starting with '.', not
 * MANIFEST or COMMITTED.
 *
 * Returns a string owned by the library, valid until the next call of
 * shoal_ckpt_begin(), shoal_ckpt_commit() or shoal_ckpt_finalize(), so
 * several paths can be held at once while one version is written or read.
 * Returns NULL with errno EINVAL for a bad name or before init, ENOENT when
 * no version is being written or restored, ENOMEM. The file itself may not
 * exist: route() only names it. */
SHOAL_API const char *shoal_ckpt_route(const char *name);

/* Start writing version (a number greater than the restored version and
 * every version this process committed). A leftover directory of that
 * number (an interrupted write, or a version the runtime did not restore)
 * is removed first. With shoal's MPI, first completes outstanding sends
 * and drains messages in flight on every rank.
 *
 * Returns 0; -EINVAL out of order or for a version too small; -EBUSY when
 * a message sent before the cut was not received by the application
 * (nothing begun: receive it and call again); -EEXIST when that version is
 * committed and pinned by the runtime; or an errno of the file system. */
SHOAL_API int shoal_ckpt_begin(int version);

/* End the version begun. With valid != 0 it is committed: every file is
 * fsynced, the manifest written, then the COMMITTED marker; older versions
 * are then pruned (best effort: a failure to remove one is not reported).
 * With valid == 0 the version is removed. With shoal's MPI the ranks agree
 * first: if any rank passes valid == 0 (or fails to commit), every rank
 * removes the version and returns -ECANCELED (0 on a rank that passed
 * valid == 0 itself).
 *
 * Durable commits. Where the runtime copies each committed version to
 * other nodes (a task of `shoal submit --checkpoint --replicas R`, a rank
 * of `shoal run --checkpoint --replicas R`: it sets SHOAL_CKPT_DURABLE=1),
 * commit then waits until the runtime raised the directory's KEEP to the
 * version, which it does once the version has its R copies on other
 * nodes (in a gang job: for every rank, since a restart restores the
 * version on every rank): a commit that returned 0 means the version
 * survives the loss of this node. The wait lasts at most
 * $SHOAL_CKPT_COMMIT_WAIT seconds (default 60, 0 for no wait); when they
 * pass, or as soon as the runtime notes that the copy of the version
 * failed (the directory's NOCOPY), commit returns -ETIMEDOUT: the version
 * is committed on this node only (it counts here, and the runtime may
 * copy it later), the next call is begin as after 0. With shoal's MPI
 * every rank returns the same: the ranks agree at least every second
 * while they wait, so one rank's failed copy ends every rank's wait. Retention (the two newest) never removes a
 * version at or above KEEP, so the newest durable version stays until a
 * newer one is durable.
 *
 * Returns 0, -EINVAL without begin or when the version directory holds an
 * entry that is not a regular file with a valid name, -ETIMEDOUT (above),
 * or an errno of the file system (the version is then removed). In every
 * case the version is over: the next call is begin, need, should_exit or
 * finalize. */
SHOAL_API int shoal_ckpt_commit(int valid);

/* Set *flag to 1 when a checkpoint is wanted now, else 0: the runtime
 * wrote a REQUEST file in the checkpoint directory after this process's
 * last commit (any REQUEST counts before the first commit), or
 * $SHOAL_CKPT_INTERVAL seconds (a positive number) passed since init or the
 * last commit. Collective with shoal's MPI (the maximum over the ranks).
 * Returns 0, -EINVAL before init or with flag NULL. */
SHOAL_API int shoal_ckpt_need(int *flag);

/* Set *flag to 1 when the runtime asks the program to checkpoint and exit
 * (its REQUEST file says "exit"), else 0. Collective with shoal's MPI.
 * Returns 0, -EINVAL before init or with flag NULL. */
SHOAL_API int shoal_ckpt_should_exit(int *flag);

/* Stop checkpointing: a version begun and not committed is removed, and
 * every string route() returned is freed. init may be called again after.
 * Returns 0, or -EINVAL before init. */
SHOAL_API int shoal_ckpt_finalize(void);

#endif
