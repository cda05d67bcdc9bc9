/* SPDX-License-Identifier: MIT */
/* ckpt_wire.c - checkpoint copy frames to and from bytes. */
#include "runtime/ckpt/ckpt_wire.h"

#include <errno.h>
#include <string.h>

#include <shoal/error.h>

#include "runtime/ckpt/ckpt_store.h"
#include "util/wire.h"

static size_t ckpt_wire_key_size(const struct ckpt_msg *m)
{
    return 2 + strnlen(m->key, sizeof(m->key));
}

size_t ckpt_wire_size(const struct ckpt_msg *m)
{
    size_t n = 1 + 8;

    switch (m->type) {
    case CKPT_FRAME_OFFER:
        return n + 1 + 4 + ckpt_wire_key_size(m) + 4 + m->manifest_len
               + (m->flags ? 1 : 0);
    case CKPT_FRAME_PULL:
        return n + 4 + ckpt_wire_key_size(m);
    case CKPT_FRAME_FORGET:
    case CKPT_FRAME_LIST:
        return n + ckpt_wire_key_size(m);
    case CKPT_FRAME_LISTED:
        n += 1 + 2;
        if (!m->entries)
            return n + m->entries_len;
        for (uint32_t i = 0; i < m->nentries; i++)
            n += CKPT_WIRE_ENTRY_HEAD
                 + strnlen(m->entries[i].key, sizeof(m->entries[i].key));
        return n;
    case CKPT_FRAME_STATUS:
        return n + 1 + 4 + (m->whole ? 0 : 8 * (size_t)m->nfiles);
    case CKPT_FRAME_CHUNK:
        return CKPT_WIRE_CHUNK_HEAD + m->len;
    case CKPT_FRAME_ACK:
        return n + 4 + 8;
    case CKPT_FRAME_RESULT:
        return n + 4 + 2 + strnlen(m->text, sizeof(m->text));
    default:
        return n;
    }
}

static bool ckpt_wire_entry_ok(const struct ckpt_wire_entry *e)
{
    return (e->kind == CKPT_ENTRY_ORIGINAL || e->kind == CKPT_ENTRY_COPY)
           && e->version >= 1 && ckpt_key_check(e->key, 0) == 0;
}

static bool ckpt_wire_fields_ok(const struct ckpt_msg *m)
{
    switch (m->type) {
    case CKPT_FRAME_OFFER:
        if (m->purpose != CKPT_PURPOSE_REPLICATE
            && m->purpose != CKPT_PURPOSE_FETCH)
            return false;
        if (m->manifest_len > CKPT_MANIFEST_MAX
            || (m->flags & ~CKPT_OFFER_FLAGS) != 0)
            return false;
        /* fall through */
    case CKPT_FRAME_PULL:
        return m->version >= 1 && ckpt_key_check(m->key, 0) == 0;
    case CKPT_FRAME_FORGET:
        /* a job's key: one component */
        return ckpt_key_check(m->key, 0) == 0 && !strchr(m->key, '/');
    case CKPT_FRAME_LIST:
        return ckpt_key_check(m->key, 1) == 0;
    case CKPT_FRAME_LISTED:
        if ((m->flags & ~CKPT_LISTED_FLAGS) != 0
            || m->nentries > CKPT_WIRE_LIST_MAX
            || (m->nentries && !m->entries && !m->entries_raw))
            return false;
        for (uint32_t i = 0; m->entries && i < m->nentries; i++)
            if (!ckpt_wire_entry_ok(&m->entries[i]))
                return false;
        return true;
    case CKPT_FRAME_STATUS:
        return m->nfiles <= CKPT_WIRE_FILES_MAX
               && (m->whole || !m->nfiles || m->have || m->have_raw);
    case CKPT_FRAME_CHUNK:
        return m->len >= 1 && m->len <= CKPT_WIRE_CHUNK_MAX
               && m->offset <= UINT64_MAX - m->len;
    case CKPT_FRAME_RESULT:
        return m->code <= 0 && m->code > -(SHOAL_ERRNO_BASE + 4096);
    case CKPT_FRAME_ACK:
    case CKPT_FRAME_DONE:
        return true;
    default:
        return false;
    }
}

int ckpt_wire_encode(const struct ckpt_msg *m, void *buf, size_t cap)
{
    struct wire_writer w;
    size_t n;

    if (!ckpt_wire_fields_ok(m))
        return -EINVAL;
    wire_writer_init(&w, buf, cap);
    wire_put_u8(&w, CKPT_WIRE_FORMAT);
    wire_put_u64(&w, m->xid);
    switch (m->type) {
    case CKPT_FRAME_OFFER:
    case CKPT_FRAME_PULL:
        if (m->type == CKPT_FRAME_OFFER)
            wire_put_u8(&w, m->purpose);
        wire_put_u32(&w, (uint32_t)m->version);
        n = strlen(m->key);
        wire_put_u16(&w, (uint16_t)n);
        wire_put_bytes(&w, m->key, n);
        if (m->type == CKPT_FRAME_OFFER) {
            wire_put_u32(&w, (uint32_t)m->manifest_len);
            wire_put_bytes(&w, m->manifest, m->manifest_len);
            /* the flags are a trailer, absent when 0: an OFFER without
             * them is byte for byte what senders before them send */
            if (m->flags)
                wire_put_u8(&w, m->flags);
        }
        break;
    case CKPT_FRAME_FORGET:
    case CKPT_FRAME_LIST:
        n = strlen(m->key);
        wire_put_u16(&w, (uint16_t)n);
        wire_put_bytes(&w, m->key, n);
        break;
    case CKPT_FRAME_LISTED:
        wire_put_u8(&w, m->flags);
        wire_put_u16(&w, (uint16_t)m->nentries);
        if (!m->entries && m->entries_len) /* as decoded */
            wire_put_bytes(&w, m->entries_raw, m->entries_len);
        for (uint32_t i = 0; m->entries && i < m->nentries; i++) {
            const struct ckpt_wire_entry *e = &m->entries[i];

            wire_put_u8(&w, e->kind);
            wire_put_u32(&w, (uint32_t)e->version);
            wire_put_u64(&w, e->bytes);
            wire_put_u32(&w, e->files);
            wire_put_u8(&w, e->committed ? 1 : 0);
            n = strlen(e->key);
            wire_put_u16(&w, (uint16_t)n);
            wire_put_bytes(&w, e->key, n);
        }
        break;
    case CKPT_FRAME_STATUS:
        wire_put_u8(&w, m->whole ? 1 : 0);
        wire_put_u32(&w, m->whole ? 0 : m->nfiles);
        for (uint32_t i = 0; !m->whole && i < m->nfiles; i++)
            wire_put_u64(&w, m->have[i]);
        break;
    case CKPT_FRAME_CHUNK:
        wire_put_u32(&w, m->file);
        wire_put_u64(&w, m->offset);
        wire_put_u32(&w, m->len);
        if (m->data)
            wire_put_bytes(&w, m->data, m->len);
        else if (w.off + m->len > cap)
            w.overflow = true;
        else
            w.off += m->len;
        break;
    case CKPT_FRAME_ACK:
        wire_put_u32(&w, m->file);
        wire_put_u64(&w, m->end);
        break;
    case CKPT_FRAME_RESULT:
        wire_put_u32(&w, (uint32_t)m->code);
        n = strnlen(m->text, sizeof(m->text));
        wire_put_u16(&w, (uint16_t)n);
        wire_put_bytes(&w, m->text, n);
        break;
    default:
        break;
    }
    return w.overflow ? -EMSGSIZE : (int)w.off;
}

/* Copy a length-prefixed string of at most max bytes into out (max + 1
 * bytes), refusing NULs and control characters. */
static bool ckpt_wire_get_text(struct wire_reader *r, char *out, size_t max)
{
    size_t n = wire_get_u16(r);
    const uint8_t *p;

    if (r->short_ || n > max)
        return false;
    p = wire_get_bytes(r, n, "text");
    if (r->short_)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Read one LISTED entry, checking it whole. */
static bool ckpt_wire_get_entry(struct wire_reader *r,
                                struct ckpt_wire_entry *e)
{
    uint8_t committed;

    e->kind = wire_get_u8(r);
    e->version = (int32_t)wire_get_u32(r);
    e->bytes = wire_get_u64(r);
    e->files = wire_get_u32(r);
    committed = wire_get_u8(r);
    if (r->short_ || committed > 1
        || !ckpt_wire_get_text(r, e->key, CKPT_KEY_MAX))
        return false;
    e->committed = committed;
    return ckpt_wire_entry_ok(e);
}

int ckpt_wire_decode(uint8_t type,
                     const void *body,
                     size_t len,
                     struct ckpt_msg *m)
{
    struct wire_reader r;

    memset(m, 0, sizeof(*m));
    m->type = type;
    wire_reader_init(&r, body, len);
    if (wire_get_u8(&r) != CKPT_WIRE_FORMAT)
        return SHOAL_EPROTO;
    m->xid = wire_get_u64(&r);
    switch (type) {
    case CKPT_FRAME_OFFER:
    case CKPT_FRAME_PULL:
        if (type == CKPT_FRAME_OFFER)
            m->purpose = wire_get_u8(&r);
        m->version = (int32_t)wire_get_u32(&r);
        if (!ckpt_wire_get_text(&r, m->key, CKPT_KEY_MAX))
            return SHOAL_EPROTO;
        if (type == CKPT_FRAME_OFFER) {
            m->manifest_len = wire_get_u32(&r);
            if (m->manifest_len > CKPT_MANIFEST_MAX)
                return SHOAL_EPROTO;
            m->manifest =
                (const char *)wire_get_bytes(&r, m->manifest_len, "manifest");
            /* the optional trailer: present only when not 0 */
            if (!r.short_ && r.left > 0) {
                m->flags = wire_get_u8(&r);
                if (m->flags == 0)
                    return SHOAL_EPROTO;
            }
        }
        break;
    case CKPT_FRAME_FORGET:
    case CKPT_FRAME_LIST:
        if (!ckpt_wire_get_text(&r, m->key, CKPT_KEY_MAX))
            return SHOAL_EPROTO;
        break;
    case CKPT_FRAME_LISTED: {
        struct ckpt_wire_entry e;

        m->flags = wire_get_u8(&r);
        m->nentries = wire_get_u16(&r);
        if (r.short_ || m->nentries > CKPT_WIRE_LIST_MAX)
            return SHOAL_EPROTO;
        m->entries_raw = r.p;
        for (uint32_t i = 0; i < m->nentries; i++)
            if (!ckpt_wire_get_entry(&r, &e))
                return SHOAL_EPROTO;
        m->entries_len = (size_t)(r.p - m->entries_raw);
        break;
    }
    case CKPT_FRAME_STATUS: {
        uint8_t whole = wire_get_u8(&r);

        if (whole > 1)
            return SHOAL_EPROTO;
        m->whole = whole;
        m->nfiles = wire_get_u32(&r);
        if (m->nfiles > CKPT_WIRE_FILES_MAX || (m->whole && m->nfiles))
            return SHOAL_EPROTO;
        m->have_raw = wire_get_bytes(&r, 8 * (size_t)m->nfiles, "have");
        break;
    }
    case CKPT_FRAME_CHUNK:
        m->file = wire_get_u32(&r);
        m->offset = wire_get_u64(&r);
        m->len = wire_get_u32(&r);
        if (m->len > CKPT_WIRE_CHUNK_MAX)
            return SHOAL_EPROTO;
        m->data = wire_get_bytes(&r, m->len, "data");
        break;
    case CKPT_FRAME_ACK:
        m->file = wire_get_u32(&r);
        m->end = wire_get_u64(&r);
        break;
    case CKPT_FRAME_RESULT:
        m->code = (int32_t)wire_get_u32(&r);
        if (!ckpt_wire_get_text(&r, m->text, CKPT_WIRE_TEXT_MAX))
            return SHOAL_EPROTO;
        break;
    case CKPT_FRAME_DONE:
        break;
    default:
        return SHOAL_EPROTO;
    }
    if (r.short_ || r.left != 0 || !ckpt_wire_fields_ok(m))
        return SHOAL_EPROTO;
    return 0;
}

uint64_t ckpt_wire_have(const struct ckpt_msg *m, uint32_t i)
{
    struct wire_reader r;

    wire_reader_init(&r, m->have_raw + 8 * (size_t)i, 8);
    return wire_get_u64(&r);
}

int ckpt_wire_entry(const struct ckpt_msg *m,
                    size_t *off,
                    struct ckpt_wire_entry *e)
{
    struct wire_reader r;

    if (*off >= m->entries_len)
        return -ENOENT;
    wire_reader_init(&r, m->entries_raw + *off, m->entries_len - *off);
    if (!ckpt_wire_get_entry(&r, e))
        return -ENOENT;
    *off = m->entries_len - r.left;
    return 0;
}

const char *ckpt_wire_name(uint8_t type)
{
    static const char *const names[] = {"offer", "status", "chunk", "ack",
                                        "done",  "result", "pull",  "forget",
                                        "list",  "listed"};

    if (type >= CKPT_FRAME_OFFER && type <= CKPT_FRAME_LISTED)
        return names[type - CKPT_FRAME_OFFER];
    return "unknown";
}
