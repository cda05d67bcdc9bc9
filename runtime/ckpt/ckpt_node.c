/* SPDX-License-Identifier: MIT */
/* ckpt_node.c - the checkpoint service's words for other nodes. */
#include "runtime/ckpt/ckpt_node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shoal/error.h>

/* "00ab...ef (host)" for messages. */
void ckpt_node_name(struct ckpt_service *svc,
                    uint64_t id,
                    char *buf,
                    size_t len)
{
    struct daemon_member *m = NULL;
    size_t n = 0;
    const char *name = NULL;

    if (daemon_members(svc->d, &m, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (m[i].id == id)
                name = m[i].name;
    if (name && *name)
        snprintf(buf, len, "%016" PRIx64 " (%s)", id, name);
    else
        snprintf(buf, len, "%016" PRIx64, id);
    free(m);
}

json_t *ckpt_node_json(uint64_t id)
{
    char text[20];

    snprintf(text, sizeof(text), "%016" PRIx64, id);
    return json_string(text);
}

int ckpt_node_parse(const char *text, uint64_t *id)
{
    char *end;

    if (!text || !*text || strlen(text) > 16)
        return -EINVAL;
    errno = 0;
    *id = strtoull(text, &end, 16);
    return *end || errno || *id == 0 ? -EINVAL : 0;
}

const char *ckpt_node_reason(int code)
{
    switch (code) {
    case -EUCLEAN:
        return "its copy is corrupt";
    case -ENOSPC:
        return "no space left on device";
    case -EHOSTDOWN:
        return "node is down";
    case -ETIMEDOUT:
        return "timed out";
    default:
        return shoal_strerror(code);
    }
}

int ckpt_node_send(struct ckpt_service *svc,
                   uint64_t node,
                   const struct ckpt_msg *m)
{
    uint8_t small[1024];
    size_t size = ckpt_wire_size(m);
    uint8_t *buf = size <= sizeof(small) ? small : malloc(size);
    int rc;

    if (!buf)
        return -ENOMEM;
    rc = ckpt_wire_encode(m, buf, size);
    if (rc > 0)
        rc = daemon_send(svc->d, node, m->type, buf, (size_t)rc);
    if (buf != small)
        free(buf);
    return rc;
}

void ckpt_node_result(struct ckpt_service *svc,
                      uint64_t node,
                      uint64_t xid,
                      int code,
                      const char *text)
{
    struct ckpt_msg m = {.type = CKPT_FRAME_RESULT, .xid = xid, .code = code};

    snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
    ckpt_node_send(svc, node, &m);
}
