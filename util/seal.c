/* SPDX-License-Identifier: MIT */
/* seal.c - sealed daemon-to-daemon messages and the pool key.
 *
 * Nonces are 24 random bytes rather than a counter: XChaCha20's nonce is
 * long enough for random choice to be safe, and a counter would repeat
 * after a restart, a clock step or two daemons sharing a node id, any of
 * which would be fatal to the key.
 *
 * The replay window is the one of RFC 6479 (IPsec) and WireGuard: per
 * sender, the highest sequence number accepted and a bitmap of the
 * SEAL_WINDOW numbers at and below it. A number above the top is new and
 * moves the window; one within it is new unless its bit is set; one below
 * it is refused as too old. Datagrams reordered by less than the window are
 * therefore accepted, each exactly once. Windows change only after the
 * message has been authenticated, so forged traffic cannot move them.
 *
 * Large bodies (checkpoint copies stream megabytes of them) are sealed and
 * opened with OpenSSL's ChaCha20-Poly1305, whose vectorized code runs at
 * nearly twice libsodium's speed on x86-64. XChaCha20-Poly1305 is
 * ChaCha20-Poly1305 (IETF) under the subkey HChaCha20(key, nonce[0..16])
 * with the nonce 0^4 || nonce[16..24] (draft-irtf-cfrg-xchacha, section
 * 2.3), so the message is byte for byte what libsodium makes: the wire
 * does not change, and either side may use either code. Small bodies stay
 * with libsodium, whose set-up costs less than OpenSSL's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "util/seal.h"
#include "util/bytes.h"

static const uint8_t seal_magic[4] = {'S', 'H', 'O', 'L'};

enum {
    SEAL_WINDOW_WORDS = SEAL_WINDOW / 64,
    SEAL_INITIAL_SLOTS = 16,
    SEAL_DEFAULT_MAX_PEERS = 65536,
    /* bodies from this size on go through OpenSSL (see above) */
    SEAL_EVP_MIN = 4096,
};

static const uint64_t seal_default_max_age_ms = 60 * 1000;
static const uint64_t seal_default_max_skew_ms = 60 * 1000;

struct seal_peer {
    uint64_t id; /* 0: free slot */
    uint64_t top;
    uint64_t bits[SEAL_WINDOW_WORDS];
};

struct seal {
    uint8_t key[SEAL_KEY_BYTES];
    uint64_t node_id;
    uint64_t max_age_ms;
    uint64_t max_skew_ms;
    size_t max_peers;
    uint64_t last_seq;
    EVP_CIPHER_CTX *evp; /* NULL: libsodium for every body */

    /* open addressing, linear probing, at most half full; never shrinks */
    struct seal_peer *peers;
    size_t npeers;
    size_t nslots;

    struct seal_stats stats;
};

static const char *const seal_drop_names[] = {
#define SEAL_DROP_NAME(name, text) text,
    SEAL_DROP_TABLE(SEAL_DROP_NAME)
#undef SEAL_DROP_NAME
};

const char *seal_drop_name(enum seal_drop why)
{
    if ((unsigned)why >= SEAL_DROP_COUNT)
        return "unknown";
    return seal_drop_names[why];
}

static int seal_sodium_init(shoal_error_t *error)
{
    if (sodium_init() < 0)
        return shoal_errprintf(error, -EIO, "cannot initialize libsodium");
    return 0;
}

int seal_key_generate(seal_key_t *key)
{
    int rc = seal_sodium_init(NULL);

    if (rc < 0)
        return rc;
    randombytes_buf(key->bytes, sizeof(key->bytes));
    return 0;
}

int seal_key_format(const seal_key_t *key, char *buf, size_t size)
{
    if (size < 2 * SEAL_KEY_BYTES + 2)
        return -ENOSPC;
    sodium_bin2hex(buf, size, key->bytes, sizeof(key->bytes));
    buf[2 * SEAL_KEY_BYTES] = '\n';
    buf[2 * SEAL_KEY_BYTES + 1] = '\0';
    return 0;
}

static bool seal_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int seal_key_parse(const char *text,
                   size_t len,
                   seal_key_t *key,
                   shoal_error_t *error)
{
    uint8_t bytes[SEAL_KEY_BYTES];
    size_t n = 0;
    const char *end = NULL;
    int rc;

    while (len > 0 && seal_is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && seal_is_space(text[len - 1]))
        len--;
    if (len == 2 * SEAL_KEY_BYTES) {
        rc = sodium_hex2bin(bytes, sizeof(bytes), text, len, NULL, &n, &end);
    } else {
        rc = sodium_base642bin(bytes, sizeof(bytes), text, len, NULL, &n, &end,
                               sodium_base64_VARIANT_ORIGINAL);
    }
    if (rc != 0 || n != SEAL_KEY_BYTES || end != text + len) {
        sodium_memzero(bytes, sizeof(bytes));
        return shoal_errprintf(error, -EINVAL,
                               "not a key: expected %d hex digits or the "
                               "base64 of %d bytes on one line",
                               2 * SEAL_KEY_BYTES, SEAL_KEY_BYTES);
    }
    memcpy(key->bytes, bytes, sizeof(bytes));
    sodium_memzero(bytes, sizeof(bytes));
    return 0;
}

int seal_key_load(const char *path, seal_key_t *key, shoal_error_t *error)
{
    char text[SEAL_KEY_FILE_MAX + 1];
    struct stat st;
    size_t len = 0;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        rc = -errno;
        return shoal_errprintf(error, rc, "cannot open key file '%s': %s", path,
                               strerror(-rc));
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        shoal_errprintf(error, rc, "cannot stat key file '%s': %s", path,
                        strerror(-rc));
        goto error;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = shoal_errprintf(error, -EINVAL,
                             "key file '%s' is not a regular file", path);
        goto error;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = shoal_errprintf(error, -EPERM,
                             "key file '%s' is accessible by others (mode "
                             "%04o); run 'chmod 600 %s'",
                             path, (unsigned)(st.st_mode & 07777), path);
        goto error;
    }
    while (len < sizeof(text)) {
        ssize_t n = read(fd, text + len, sizeof(text) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            shoal_errprintf(error, rc, "cannot read key file '%s': %s", path,
                            strerror(-rc));
            goto error;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SEAL_KEY_FILE_MAX) {
        rc = shoal_errprintf(error, -EINVAL,
                             "key file '%s' is too long for a key", path);
        goto error;
    }
    shoal_error_t cause = {{0}};
    rc = seal_key_parse(text, len, key, &cause);
    if (rc < 0)
        shoal_errprintf(error, rc, "key file '%s': %s", path, cause.text);
error:
    sodium_memzero(text, sizeof(text));
    close(fd);
    return rc;
}

int seal_key_write(const char *path,
                   const seal_key_t *key,
                   shoal_error_t *error)
{
    char text[2 * SEAL_KEY_BYTES + 2];
    size_t len = sizeof(text) - 1;
    size_t done = 0;
    int rc;
    /* O_EXCL: never follow a planted link or replace an existing key;
     * the umask can only narrow 0600, and fchmod() makes it exact. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
                  S_IRUSR | S_IWUSR);

    if (fd < 0) {
        rc = -errno;
        return shoal_errprintf(error, rc, "cannot create key file '%s': %s",
                               path, strerror(-rc));
    }
    seal_key_format(key, text, sizeof(text));
    if (fchmod(fd, S_IRUSR | S_IWUSR) < 0) {
        rc = -errno;
        shoal_errprintf(error, rc, "cannot set mode of key file '%s': %s", path,
                        strerror(-rc));
        goto error;
    }
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            shoal_errprintf(error, rc, "cannot write key file '%s': %s", path,
                            strerror(-rc));
            goto error;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        rc = -errno;
        fd = -1;
        shoal_errprintf(error, rc, "cannot write key file '%s': %s", path,
                        strerror(-rc));
        goto error;
    }
    sodium_memzero(text, sizeof(text));
    return 0;
error:
    sodium_memzero(text, sizeof(text));
    if (fd >= 0)
        close(fd);
    unlink(path);
    return rc;
}

int seal_create(const struct seal_config *config,
                seal_t **out,
                shoal_error_t *error)
{
    seal_t *seal;
    int rc = seal_sodium_init(error);

    if (rc < 0)
        return rc;
    if (!config->key || config->node_id == 0)
        return shoal_errprintf(error, -EINVAL,
                               "a seal needs a key and a node id");
    seal = calloc(1, sizeof(*seal));
    if (!seal)
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    seal->peers = calloc(SEAL_INITIAL_SLOTS, sizeof(*seal->peers));
    if (!seal->peers) {
        free(seal);
        return shoal_errprintf(error, -ENOMEM, "out of memory");
    }
    seal->nslots = SEAL_INITIAL_SLOTS;
    /* without it every body is sealed by libsodium: slower, the same */
    seal->evp = EVP_CIPHER_CTX_new();
    memcpy(seal->key, config->key->bytes, SEAL_KEY_BYTES);
    seal->node_id = config->node_id;
    seal->max_age_ms =
        config->max_age_ms ? config->max_age_ms : seal_default_max_age_ms;
    seal->max_skew_ms =
        config->max_skew_ms ? config->max_skew_ms : seal_default_max_skew_ms;
    seal->max_peers =
        config->max_peers ? config->max_peers : SEAL_DEFAULT_MAX_PEERS;
    *out = seal;
    return 0;
}

void seal_destroy(seal_t *seal)
{
    if (!seal)
        return;
    sodium_memzero(seal->key, sizeof(seal->key));
    EVP_CIPHER_CTX_free(seal->evp);
    free(seal->peers);
    free(seal);
}

void seal_get_stats(const seal_t *seal, struct seal_stats *stats)
{
    *stats = seal->stats;
}

/* Header layout: magic[4] version type flags[2] sender dest seq time. */
enum seal_header_offset {
    SEAL_OFF_VERSION = 4,
    SEAL_OFF_TYPE = 5,
    SEAL_OFF_FLAGS = 6,
    SEAL_OFF_SENDER = 8,
    SEAL_OFF_DEST = 16,
    SEAL_OFF_SEQ = 24,
    SEAL_OFF_TIME = 32,
    SEAL_OFF_RESERVED = 40, /* 8 bytes of zero, for later use */
};

/* The ChaCha20-Poly1305 key and 12-byte nonce that XChaCha20-Poly1305
 * uses for the 24-byte nonce under key. */
static void seal_evp_subkey(const uint8_t *key,
                            const uint8_t *nonce,
                            uint8_t subkey[32],
                            uint8_t nonce12[12])
{
    crypto_core_hchacha20(subkey, nonce, key, NULL);
    memset(nonce12, 0, 4);
    memcpy(nonce12 + 4, nonce + 16, 8);
}

/* XChaCha20-Poly1305 encryption of len bytes of body (with the header as
 * additional data) into cipher, the tag after it, by OpenSSL. Returns 0,
 * or -1 when OpenSSL failed (nothing usable was written). */
static int seal_evp_encrypt(seal_t *seal,
                            uint8_t *cipher,
                            const uint8_t *body,
                            size_t len,
                            const uint8_t *header,
                            const uint8_t *nonce)
{
    uint8_t subkey[32], nonce12[12];
    int n = 0, fin = 0, ok;

    seal_evp_subkey(seal->key, nonce, subkey, nonce12);
    ok = EVP_EncryptInit_ex(seal->evp, EVP_chacha20_poly1305(), NULL, subkey,
                            nonce12)
         && EVP_EncryptUpdate(seal->evp, NULL, &n, header, SEAL_HEADER_BYTES)
         && EVP_EncryptUpdate(seal->evp, cipher, &n, body, (int)len)
         && EVP_EncryptFinal_ex(seal->evp, cipher + n, &fin)
         && (size_t)n + (size_t)fin == len
         && EVP_CIPHER_CTX_ctrl(seal->evp, EVP_CTRL_AEAD_GET_TAG,
                                SEAL_TAG_BYTES, cipher + len);
    sodium_memzero(subkey, sizeof(subkey));
    return ok ? 0 : -1;
}

/* The decryption of clen bytes of cipher (tag included) into out by
 * OpenSSL. Returns 1 when the tag matched, 0 when it did not, -1 when
 * OpenSSL failed (libsodium should decide). */
static int seal_evp_decrypt(seal_t *seal,
                            uint8_t *out,
                            const uint8_t *cipher,
                            size_t clen,
                            const uint8_t *header,
                            const uint8_t *nonce)
{
    uint8_t subkey[32], nonce12[12];
    size_t len = clen - SEAL_TAG_BYTES;
    int n = 0, fin = 0, rc = -1;

    seal_evp_subkey(seal->key, nonce, subkey, nonce12);
    if (EVP_DecryptInit_ex(seal->evp, EVP_chacha20_poly1305(), NULL, subkey,
                           nonce12)
        && EVP_DecryptUpdate(seal->evp, NULL, &n, header, SEAL_HEADER_BYTES)
        && EVP_DecryptUpdate(seal->evp, out, &n, cipher, (int)len)
        && EVP_CIPHER_CTX_ctrl(seal->evp, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_BYTES,
                               (void *)(cipher + len)))
        rc = EVP_DecryptFinal_ex(seal->evp, out + n, &fin) > 0 ? 1 : 0;
    sodium_memzero(subkey, sizeof(subkey));
    return rc;
}

static bool seal_use_evp(const seal_t *seal, size_t len)
{
    return seal->evp && len >= SEAL_EVP_MIN && len <= INT_MAX;
}

int seal_wrap(seal_t *seal,
              uint8_t type,
              uint64_t dest,
              uint64_t now_ms,
              const void *body,
              size_t len,
              void *out,
              size_t outsize,
              size_t *outlen)
{
    uint8_t *header = out;
    uint8_t *nonce = header + SEAL_HEADER_BYTES;
    uint8_t *cipher = nonce + SEAL_NONCE_BYTES;
    uint64_t seq = seal->last_seq + 1;
    unsigned long long clen = 0;

    if (outsize < SEAL_OVERHEAD || len > outsize - SEAL_OVERHEAD)
        return -EMSGSIZE;
    /* Start from the clock, so that a restarted node's numbers are new
     * to its peers (it would have to have sealed 1000 messages a
     * millisecond to catch up), then count one by one: jumping with the
     * clock later would push a stream frame sealed a few milliseconds
     * before a datagram out of the receiver's window when the datagram
     * arrives first. */
    if (seal->last_seq == 0 && now_ms * 1000 > seq)
        seq = now_ms * 1000;
    seal->last_seq = seq;

    memset(header, 0, SEAL_HEADER_BYTES);
    memcpy(header, seal_magic, sizeof(seal_magic));
    header[SEAL_OFF_VERSION] = SEAL_VERSION;
    header[SEAL_OFF_TYPE] = type;
    bytes_put_be64(header + SEAL_OFF_SENDER, seal->node_id);
    bytes_put_be64(header + SEAL_OFF_DEST, dest);
    bytes_put_be64(header + SEAL_OFF_SEQ, seq);
    bytes_put_be64(header + SEAL_OFF_TIME, now_ms);
    randombytes_buf(nonce, SEAL_NONCE_BYTES);
    if (seal_use_evp(seal, len)
        && seal_evp_encrypt(seal, cipher, body, len, header, nonce) == 0)
        clen = len + SEAL_TAG_BYTES;
    else
        crypto_aead_xchacha20poly1305_ietf_encrypt(cipher, &clen, body, len,
                                                   header, SEAL_HEADER_BYTES,
                                                   NULL, nonce, seal->key);
    *outlen = SEAL_HEADER_BYTES + SEAL_NONCE_BYTES + (size_t)clen;
    seal->stats.sealed++;
    return 0;
}

/* splitmix64's finalizer: sender ids may be chosen by people, so spread
 * them before masking. */
static size_t seal_slot_hash(uint64_t id)
{
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    id ^= id >> 31;
    return (size_t)id;
}

static struct seal_peer *
seal_slot(struct seal_peer *peers, size_t nslots, uint64_t id)
{
    size_t mask = nslots - 1;

    for (size_t i = seal_slot_hash(id) & mask;; i = (i + 1) & mask)
        if (peers[i].id == id || peers[i].id == 0)
            return &peers[i];
}

static struct seal_peer *seal_peer_find(seal_t *seal, uint64_t id)
{
    struct seal_peer *p = seal_slot(seal->peers, seal->nslots, id);

    return p->id == id ? p : NULL;
}

/* Make room for one more peer; on failure nothing changed. */
static int seal_peer_reserve(seal_t *seal)
{
    size_t nslots = 2 * seal->nslots;
    struct seal_peer *peers;

    if (2 * (seal->npeers + 1) <= seal->nslots)
        return 0;
    peers = calloc(nslots, sizeof(*peers));
    if (!peers)
        return -ENOMEM;
    for (size_t i = 0; i < seal->nslots; i++)
        if (seal->peers[i].id != 0)
            *seal_slot(peers, nslots, seal->peers[i].id) = seal->peers[i];
    free(seal->peers);
    seal->peers = peers;
    seal->nslots = nslots;
    return 0;
}

static bool seal_window_test(const struct seal_peer *p, uint64_t seq)
{
    uint64_t bit = seq % SEAL_WINDOW;

    return p->bits[bit / 64] & (UINT64_C(1) << (bit % 64));
}

/* Is seq acceptable from p? */
static enum seal_drop seal_window_check(const struct seal_peer *p, uint64_t seq)
{
    if (!p || seq > p->top)
        return SEAL_DROP_COUNT;
    if (p->top - seq >= SEAL_WINDOW)
        return SEAL_DROP_OLD;
    if (seal_window_test(p, seq))
        return SEAL_DROP_REPLAY;
    return SEAL_DROP_COUNT;
}

static void seal_window_commit(struct seal_peer *p, uint64_t seq)
{
    uint64_t bit;

    if (seq > p->top) {
        uint64_t ahead = seq - p->top;
        if (ahead >= SEAL_WINDOW) {
            memset(p->bits, 0, sizeof(p->bits));
        } else {
            for (uint64_t s = p->top + 1; s <= seq; s++) {
                bit = s % SEAL_WINDOW;
                p->bits[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
            }
        }
        p->top = seq;
    }
    bit = seq % SEAL_WINDOW;
    p->bits[bit / 64] |= UINT64_C(1) << (bit % 64);
}

static int seal_refuse(seal_t *seal,
                       enum seal_drop why,
                       enum seal_drop *whyp,
                       void *out,
                       size_t outlen)
{
    static const int codes[SEAL_DROP_COUNT] = {
        [SEAL_DROP_SHORT] = -EBADMSG,     [SEAL_DROP_MAGIC] = -EBADMSG,
        [SEAL_DROP_VERSION] = -EBADMSG,   [SEAL_DROP_AUTH] = -EBADMSG,
        [SEAL_DROP_REPLAY] = -EALREADY,   [SEAL_DROP_OLD] = -ESTALE,
        [SEAL_DROP_FUTURE] = -ESTALE,     [SEAL_DROP_REFLECTED] = -EXDEV,
        [SEAL_DROP_MISDIRECTED] = -EXDEV, [SEAL_DROP_PEERS] = -ENOSPC,
    };

    if (out && outlen)
        sodium_memzero(out, outlen);
    seal->stats.dropped[why]++;
    if (whyp)
        *whyp = why;
    return codes[why];
}

int seal_unwrap(seal_t *seal,
                const void *in,
                size_t len,
                uint64_t now_ms,
                struct seal_header *header,
                void *out,
                size_t outsize,
                size_t *outlen,
                enum seal_drop *why)
{
    const uint8_t *h = in;
    const uint8_t *nonce = h + SEAL_HEADER_BYTES;
    const uint8_t *cipher = nonce + SEAL_NONCE_BYTES;
    size_t bodylen;
    struct seal_header hdr;
    struct seal_peer *peer;
    enum seal_drop verdict;
    int opened;

    if (len < SEAL_OVERHEAD)
        return seal_refuse(seal, SEAL_DROP_SHORT, why, NULL, 0);
    bodylen = len - SEAL_OVERHEAD;
    if (outsize < bodylen)
        return -EMSGSIZE;
    if (memcmp(h, seal_magic, sizeof(seal_magic)) != 0)
        return seal_refuse(seal, SEAL_DROP_MAGIC, why, NULL, 0);
    if (h[SEAL_OFF_VERSION] != SEAL_VERSION || h[SEAL_OFF_FLAGS] != 0
        || h[SEAL_OFF_FLAGS + 1] != 0)
        return seal_refuse(seal, SEAL_DROP_VERSION, why, NULL, 0);
    opened = seal_use_evp(seal, bodylen) ? seal_evp_decrypt(
                 seal, out, cipher, bodylen + SEAL_TAG_BYTES, h, nonce)
                                         : -1;
    if (opened < 0)
        opened = crypto_aead_xchacha20poly1305_ietf_decrypt(
                     out, NULL, NULL, cipher, bodylen + SEAL_TAG_BYTES, h,
                     SEAL_HEADER_BYTES, nonce, seal->key)
                 == 0;
    if (!opened)
        return seal_refuse(seal, SEAL_DROP_AUTH, why, out, bodylen);

    hdr.type = h[SEAL_OFF_TYPE];
    hdr.sender = bytes_get_be64(h + SEAL_OFF_SENDER);
    hdr.dest = bytes_get_be64(h + SEAL_OFF_DEST);
    hdr.seq = bytes_get_be64(h + SEAL_OFF_SEQ);
    hdr.timestamp_ms = bytes_get_be64(h + SEAL_OFF_TIME);

    if (hdr.sender == seal->node_id)
        return seal_refuse(seal, SEAL_DROP_REFLECTED, why, out, bodylen);
    if (hdr.dest != 0 && hdr.dest != seal->node_id)
        return seal_refuse(seal, SEAL_DROP_MISDIRECTED, why, out, bodylen);
    if (hdr.timestamp_ms < now_ms
        && now_ms - hdr.timestamp_ms > seal->max_age_ms)
        return seal_refuse(seal, SEAL_DROP_OLD, why, out, bodylen);
    if (hdr.timestamp_ms > now_ms
        && hdr.timestamp_ms - now_ms > seal->max_skew_ms)
        return seal_refuse(seal, SEAL_DROP_FUTURE, why, out, bodylen);
    peer = seal_peer_find(seal, hdr.sender);
    verdict = seal_window_check(peer, hdr.seq);
    if (verdict != SEAL_DROP_COUNT)
        return seal_refuse(seal, verdict, why, out, bodylen);
    if (!peer) {
        if (seal->npeers >= seal->max_peers || seal_peer_reserve(seal) < 0)
            return seal_refuse(seal, SEAL_DROP_PEERS, why, out, bodylen);
        peer = seal_slot(seal->peers, seal->nslots, hdr.sender);
        peer->id = hdr.sender;
        peer->top = hdr.seq;
        seal->npeers++;
    }
    seal_window_commit(peer, hdr.seq);
    seal->stats.opened++;
    *header = hdr;
    *outlen = bodylen;
    return 0;
}
