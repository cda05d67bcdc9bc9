/* SPDX-License-Identifier: MIT */
/* seal.h - the authenticated, encrypted envelope of daemon-to-daemon
 * messages, and the pool key.
 *
 * Every message between daemons, datagram or stream, travels sealed:
 *
 *   header (48 bytes, authenticated, in clear)
 *     magic "SHOL", version, message type, flags (0),
 *     sender node id, destination node id (0: any),
 *     sequence number, sender's wall clock in milliseconds
 *   nonce (24 random bytes)
 *   ciphertext of the body, then its 16-byte Poly1305 tag
 *
 * sealed with XChaCha20-Poly1305 under the pool key, the header being the
 * additional data. A seal_t holds the key, this node's sequence counter and
 * a replay window per sender; it does no I/O and reads no clock: the owner
 * passes the time. Every refused message is counted by reason, so that the
 * daemon can report them, and the refusal has no other side effect. Not
 * thread-safe: one thread drives a seal_t. */
#ifndef SHOAL_UTIL_SEAL_H
#define SHOAL_UTIL_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shoal/error.h>

enum seal_limit {
    SEAL_KEY_BYTES = 32,
    SEAL_HEADER_BYTES = 48,
    SEAL_NONCE_BYTES = 24,
    SEAL_TAG_BYTES = 16,
    /* bytes a sealed message has beyond its body */
    SEAL_OVERHEAD = SEAL_HEADER_BYTES + SEAL_NONCE_BYTES + SEAL_TAG_BYTES,
    /* sequence numbers remembered behind the newest one of each sender */
    SEAL_WINDOW = 1024,
    /* longest key file accepted, in bytes */
    SEAL_KEY_FILE_MAX = 256,
};

enum seal_version { SEAL_VERSION = 1 };

/* Why a message was refused. The names are stable: they are shown to users
 * by seal_drop_name(). */
#define SEAL_DROP_TABLE(X)                                                     \
    X(SEAL_DROP_SHORT, "short")             /* shorter than the overhead */    \
    X(SEAL_DROP_MAGIC, "bad-magic")         /* not a shoal message */          \
    X(SEAL_DROP_VERSION, "bad-version")     /* unknown version or flags */     \
    X(SEAL_DROP_AUTH, "auth-failed")        /* wrong key or altered */         \
    X(SEAL_DROP_REPLAY, "replay")           /* sequence number seen already */ \
    X(SEAL_DROP_OLD, "too-old")             /* behind the window, or stale */  \
    X(SEAL_DROP_FUTURE, "clock-skew")       /* from too far in the future */   \
    X(SEAL_DROP_REFLECTED, "reflected")     /* claims to come from us */       \
    X(SEAL_DROP_MISDIRECTED, "misdirected") /* meant for another node */       \
    X(SEAL_DROP_PEERS, "too-many-peers")    /* no room to track the sender */

enum seal_drop {
#define SEAL_DROP_ENUM(name, text) name,
    SEAL_DROP_TABLE(SEAL_DROP_ENUM)
#undef SEAL_DROP_ENUM
        SEAL_DROP_COUNT
};

/* The pool key: 32 random bytes shared by every daemon of a pool. */
typedef struct seal_key {
    uint8_t bytes[SEAL_KEY_BYTES];
} seal_key_t;

/* Fill key with random bytes. Returns 0, or -EIO if libsodium cannot be
 * initialized. */
int seal_key_generate(seal_key_t *key);

/* Write key as one line of 64 lowercase hex digits and a newline into buf
 * (at least 66 bytes, NUL-terminated). Returns 0 or -ENOSPC. */
int seal_key_format(const seal_key_t *key, char *buf, size_t size);

/* Parse a key from text: 64 hex digits or standard base64 of 32 bytes,
 * optionally surrounded by white space (a trailing newline, say). Returns 0
 * and fills key, or -EINVAL with error (may be NULL) filled; key is
 * unchanged on failure. */
int seal_key_parse(const char *text,
                   size_t len,
                   seal_key_t *key,
                   shoal_error_t *error);

/* Load the key file at path. The file must be a regular file that neither
 * group nor others may read or write (mode 0600 or stricter), as ssh
 * demands of private keys. Returns 0, -EPERM (mode too open), -EINVAL (not
 * a regular file, or no key in it), or the errno of open or read, with
 * error (may be NULL) naming the file and the cause. */
int seal_key_load(const char *path, seal_key_t *key, shoal_error_t *error);

/* Create the key file at path holding key, with mode 0600 from the moment
 * it exists. An existing file is never replaced: -EEXIST. Returns 0 or a
 * negative errno with error (may be NULL) filled; on failure no file is
 * left behind. */
int seal_key_write(const char *path,
                   const seal_key_t *key,
                   shoal_error_t *error);

typedef struct seal seal_t;

struct seal_config {
    const seal_key_t *key; /* copied */
    uint64_t node_id;      /* this node; not 0 */
    /* A message whose clock is this much behind ours is refused even if
     * its sequence number is new: after a restart we hold no window for
     * its sender, and this bounds how old a captured message can be
     * replayed. The pool's clocks must agree within it. 0: 60 s. */
    uint64_t max_age_ms;
    /* Refuse messages from further than this in the future. 0: 60 s. */
    uint64_t max_skew_ms;
    /* Senders whose windows are tracked; messages from more are refused.
     * Only messages that passed authentication create a window, so only a
     * key holder can fill the table. 0: 65536. */
    size_t max_peers;
};

/* The authenticated header of a message that seal_unwrap() accepted. */
struct seal_header {
    uint8_t type;          /* chosen by the caller of seal_wrap() */
    uint64_t sender;       /* node id of the sender */
    uint64_t dest;         /* us, or 0 */
    uint64_t seq;          /* sender's sequence number */
    uint64_t timestamp_ms; /* sender's clock when it sealed */
};

struct seal_stats {
    uint64_t sealed;
    uint64_t opened;
    uint64_t dropped[SEAL_DROP_COUNT];
};

/* Create a seal. Returns 0 and sets *out, or -EINVAL (no key, node id 0)
 * or -EIO (libsodium) or -ENOMEM, with error (may be NULL) filled. The
 * caller destroys it with seal_destroy(), which wipes the key. */
int seal_create(const struct seal_config *config,
                seal_t **out,
                shoal_error_t *error);

/* Destroy seal; NULL is accepted. */
void seal_destroy(seal_t *seal);

/* Seal len bytes of body as a message of the given type to node dest (0
 * when its id is not known yet, as for a first contact by address), at
 * our clock now_ms. out must hold len + SEAL_OVERHEAD bytes; *outlen gets
 * the sealed length. Sequence numbers start at now_ms * 1000 at the first
 * message and grow by one per message, so a restarted node's numbers are
 * still new to its peers, and messages of one sender that travel different
 * ways (datagrams, streams) stay within SEAL_WINDOW of each other. Returns
 * 0 or -EMSGSIZE. out
 * may not overlap body. */
int seal_wrap(seal_t *seal,
              uint8_t type,
              uint64_t dest,
              uint64_t now_ms,
              const void *body,
              size_t len,
              void *out,
              size_t outsize,
              size_t *outlen);

/* Check and open the sealed message in (len bytes), received at our clock
 * now_ms. On success return 0, fill *header, write the body to out (which
 * must hold len - SEAL_OVERHEAD bytes, and may not overlap in), set
 * *outlen, and record the sequence number. On failure count the reason and
 * return it as a negative code: -EBADMSG (short, bad magic, bad version,
 * authentication), -EALREADY (replay), -ESTALE (too old, from the future),
 * -EXDEV (reflected or misdirected), -ENOSPC (too many peers); why (may
 * be NULL) gets the reason, the first len - SEAL_OVERHEAD bytes of out are
 * zeroed and no window changes. -EMSGSIZE when outsize is too small is not
 * counted: it is the caller's fault. */
int seal_unwrap(seal_t *seal,
                const void *in,
                size_t len,
                uint64_t now_ms,
                struct seal_header *header,
                void *out,
                size_t outsize,
                size_t *outlen,
                enum seal_drop *why);

/* Copy the counters into *stats. */
void seal_get_stats(const seal_t *seal, struct seal_stats *stats);

/* Name of a drop reason, e.g. "replay"; "unknown" out of range. */
const char *seal_drop_name(enum seal_drop why);

#endif
