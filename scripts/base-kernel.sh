#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the unpatched base with the x86_64 test kernel's config, for
# 'make e2e BASE=1' and the benchmark: a git worktree of the base commit in
# build/linux-base, kunit.py build into build/kunit-base-x86_64
# (scripts/tree-kernel.sh). Options of kunit/x86_64.kunitconfig that only
# the series adds are left out.
# Usage: base-kernel.sh [KUNITCONFIG]   (a file in kunit/, default
# x86_64.kunitconfig; another one builds into build/kunit-base-NAME)
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

exec "$TOP/scripts/tree-kernel.sh" base "$BASE_TAG" "${1:-x86_64.kunitconfig}"
