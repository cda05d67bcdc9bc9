/* SPDX-License-Identifier: MIT */
/* shoal.h - the public API of libshoal, gathered in one header. */
#ifndef SHOAL_SHOAL_H
#define SHOAL_SHOAL_H

#include <shoal/version.h>
#include <shoal/error.h>
#include <shoal/ckpt.h>

#endif
