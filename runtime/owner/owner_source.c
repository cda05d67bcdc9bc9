/* SPDX-License-Identifier: MIT */
/* owner_source.c - freeing a source of any kind. */
#include "runtime/owner/owner_source.h"

#include <stdlib.h>

#include "runtime/owner/owner_policy.h"

void owner_source_destroy(struct owner_source *src)
{
    if (!src)
        return;
    if (src->ops->destroy)
        src->ops->destroy(src);
    /* every source's struct owner_source is the start of its impl */
    free(src->impl);
}

void owner_sources_read(struct owner_source *const *srcs,
                        size_t n,
                        double now,
                        struct owner_inputs *in,
                        int *rcs)
{
    *in = (struct owner_inputs){0};
    for (size_t i = 0; i < n; i++) {
        double value = 0;
        int rc = owner_source_sample(srcs[i], now, &value);

        if (rcs)
            rcs[i] = rc;
        if (rc < 0)
            continue;
        if (srcs[i]->kind == OWNER_SOURCE_INPUT) {
            if (!in->input_present || value < in->idle)
                in->idle = value;
            in->input_present = true;
        } else if (!in->load_present) {
            in->load = value;
            in->load_present = true;
        }
    }
}
