/* SPDX-License-Identifier: MIT */
/* ckpt_wire.h - the frames of checkpoint copies between daemons.
 *
 * A copy is pushed by its sender to a receiver, both for replication
 * (the owner of a version sends it to partners) and for fetching (the
 * node that wants a version asks a holder with PULL, and the holder sends
 * it the same way):
 *
 *   sender                              receiver
 *   OFFER xid key version manifest  ->
 *         [flags]
 *                                   <-  STATUS xid whole | have[file]
 *   CHUNK xid file offset data      ->  (a bounded window of them)
 *                                   <-  ACK xid file end
 *   DONE xid                        ->
 *                                   <-  RESULT xid 0 | -errno text
 *
 * FORGET key (xid 0) asks a node to remove everything it keeps for the
 * job whose key is KEY (one component): the job ended well, its
 * checkpoints served their purpose.
 *
 * LIST xid prefix asks a node what it keeps under PREFIX ("" for all):
 * it answers with one or more LISTED xid flags entries[], the last one
 * without CKPT_LISTED_MORE, at most CKPT_WIRE_LIST_MAX entries a frame
 * and CKPT_WIRE_LIST_TOTAL entries in all (the last frame then carries
 * CKPT_LISTED_TRUNCATED). An entry is one version: whether it is the
 * node-local original of a rank's checkpoint (key JOBKEY/runK/rankN,
 * under STATE/ckpt-jobs) or a copy in the daemon's store (any key, under
 * STATE/ckpt), its key, version, bytes, files and whether it is
 * committed. xid is the asking node's.
 *
 * OFFER's flags, a trailer left out when 0 (senders before it never send
 * it; receivers before it refuse an OFFER that has it), say with
 * CKPT_OFFER_CHECKED that the sender vouches for every byte it sends:
 * each file it sends from its first byte matches the MANIFEST, because
 * the sender hashed the version and its files have not changed since
 * (checked again before DONE), or because it hashes each such file as it
 * reads it and ends the transfer with RESULT -EUCLEAN, before the
 * file's last CHUNK, when the hash differs. The frames are sealed, so the
 * receiver of a CHECKED copy need not hash what it is sent from a file's
 * first byte; it still hashes a file it resumed (bytes from an earlier
 * attempt) and an empty one.
 *
 * xid is the sender's id of the transfer (for a fetch, the one PULL
 * carried), unique per sending node. STATUS's have[] lists, per file of
 * the manifest, the bytes the receiver already holds from an earlier
 * attempt, so a broken transfer resumes where it stopped. RESULT may go
 * either way at any time and ends the transfer (an error: its code is a
 * negative errno, its text says why, e.g. "no space left on device").
 *
 * Every body starts with a format byte (CKPT_WIRE_FORMAT); integers are
 * big-endian. The decoder takes any bytes from the network: it checks
 * every length against the body and the limits below, the key with
 * ckpt_key_check(), and that nothing follows the last field, and returns
 * SHOAL_EPROTO for anything else. Pure; thread-safe. */
#ifndef SHOAL_RUNTIME_CKPT_CKPT_WIRE_H
#define SHOAL_RUNTIME_CKPT_CKPT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ckpt/ckpt_key.h"

/* Seal types of the checkpoint service (the daemon's range 96-127). */
enum ckpt_frame_type {
    CKPT_FRAME_FIRST = 96,
    CKPT_FRAME_OFFER = 96,
    CKPT_FRAME_STATUS = 97,
    CKPT_FRAME_CHUNK = 98,
    CKPT_FRAME_ACK = 99,
    CKPT_FRAME_DONE = 100,
    CKPT_FRAME_RESULT = 101,
    CKPT_FRAME_PULL = 102,
    CKPT_FRAME_FORGET = 103,
    CKPT_FRAME_LIST = 104,
    CKPT_FRAME_LISTED = 105,
    CKPT_FRAME_LAST = 127,
};

enum ckpt_wire_limit {
    CKPT_WIRE_FORMAT = 1,
    CKPT_WIRE_CHUNK_MAX = 1 << 20, /* data bytes of one CHUNK */
    CKPT_WIRE_FILES_MAX = 65536,   /* files of a version */
    CKPT_WIRE_TEXT_MAX = 400,      /* bytes of a RESULT's text */
    /* bytes of a CHUNK before its data */
    CKPT_WIRE_CHUNK_HEAD = 1 + 8 + 4 + 8 + 4,
    CKPT_WIRE_LIST_MAX = 64,      /* entries of one LISTED */
    CKPT_WIRE_LIST_TOTAL = 16384, /* entries one node answers a LIST with */
    /* bytes of one LISTED entry before its key */
    CKPT_WIRE_ENTRY_HEAD = 1 + 4 + 8 + 4 + 1 + 2,
};

enum ckpt_offer_flag {
    CKPT_OFFER_CHECKED = 1, /* the sender vouches for what it sends */
    CKPT_OFFER_FLAGS = 1,
};

enum ckpt_listed_flag {
    CKPT_LISTED_MORE = 1,      /* more LISTED frames follow */
    CKPT_LISTED_TRUNCATED = 2, /* the node holds more than it listed */
    CKPT_LISTED_FLAGS = 3,
};

enum ckpt_entry_kind {
    CKPT_ENTRY_ORIGINAL = 1, /* STATE/ckpt-jobs: where the rank ran */
    CKPT_ENTRY_COPY = 2,     /* STATE/ckpt: the daemon's store */
};

/* One version a node keeps, as LISTED carries it. */
struct ckpt_wire_entry {
    uint8_t kind;    /* enum ckpt_entry_kind */
    int32_t version; /* >= 1 */
    uint64_t bytes;
    uint32_t files;
    bool committed;
    char key[CKPT_KEY_MAX + 1];
};

enum ckpt_purpose {
    CKPT_PURPOSE_REPLICATE = 1, /* store under STATE/ckpt/KEY */
    CKPT_PURPOSE_FETCH = 2,     /* install where the PULL's sender wants */
};

/* One decoded frame. Pointers are borrowed from the body decoded (or, to
 * encode, from the caller) and valid as long as it is. */
struct ckpt_msg {
    uint8_t type; /* enum ckpt_frame_type */
    uint64_t xid;
    /* OFFER, PULL */
    uint8_t purpose; /* OFFER */
    int32_t version; /* >= 1 */
    char key[CKPT_KEY_MAX + 1];
    const char *manifest; /* OFFER: the MANIFEST's text, not terminated */
    size_t manifest_len;
    /* STATUS */
    bool whole;           /* the receiver has the version committed */
    uint32_t nfiles;      /* entries of have */
    const uint64_t *have; /* to encode; decoded: use ckpt_wire_have() */
    const uint8_t *have_raw;
    /* CHUNK, ACK */
    uint32_t file;    /* index in the manifest */
    uint64_t offset;  /* CHUNK: where data goes in the file */
    uint64_t end;     /* ACK: bytes of the file held now */
    const void *data; /* CHUNK; NULL to encode: the caller fills it */
    uint32_t len;
    /* RESULT */
    int32_t code; /* 0 or a negative errno */
    char text[CKPT_WIRE_TEXT_MAX + 1];
    /* OFFER: enum ckpt_offer_flag. LIST: key is the prefix, "" for all.
     * LISTED: enum ckpt_listed_flag */
    uint8_t flags;
    uint32_t nentries;
    /* to encode; NULL: entries_raw, entries_len as decoded */
    const struct ckpt_wire_entry *entries;
    const uint8_t *entries_raw; /* decoded: use ckpt_wire_entry() */
    size_t entries_len;
};

/* The bytes m encodes to. */
size_t ckpt_wire_size(const struct ckpt_msg *m);

/* Encode m into the cap bytes at buf. A CHUNK whose data is NULL leaves
 * its len data bytes, at buf + CKPT_WIRE_CHUNK_HEAD, to the caller.
 * Returns the length (> 0), -EMSGSIZE when it does not fit, or -EINVAL
 * for an unknown type or a field out of its limits. */
int ckpt_wire_encode(const struct ckpt_msg *m, void *buf, size_t cap);

/* Decode the len bytes of a frame of the given seal type into *m.
 * Returns 0 or SHOAL_EPROTO (*m is then unspecified). */
int ckpt_wire_decode(uint8_t type,
                     const void *body,
                     size_t len,
                     struct ckpt_msg *m);

/* Entry i (< m->nfiles) of a decoded STATUS's have[]. */
uint64_t ckpt_wire_have(const struct ckpt_msg *m, uint32_t i);

/* Read the entry of a decoded LISTED at byte *off of its entries (0 for
 * the first) into *e and move *off past it. Returns 0, or -ENOENT after
 * the last. The decoder checked every entry already. */
int ckpt_wire_entry(const struct ckpt_msg *m,
                    size_t *off,
                    struct ckpt_wire_entry *e);

/* The name of a frame type, e.g. "offer"; "unknown" for others. */
const char *ckpt_wire_name(uint8_t type);

#endif
