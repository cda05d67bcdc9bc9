#!/bin/sh
# SPDX-License-Identifier: MIT
exec autoreconf --force --install
