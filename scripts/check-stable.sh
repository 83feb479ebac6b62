#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A patch marked for stable (Cc: stable@vger.kernel.org) must be taken into
# a stable tree on its own: git am of it alone onto the base must work.
. "$(dirname "$0")/lib.sh"

require_linux
wt=$BUILD/stable-check
trap 'lgit worktree remove -f "$wt" >/dev/null 2>&1 || true' EXIT
n=0
# One checkout of the base; each patch is tried on it after a reset, which
# rewrites only the files the previous one changed.
lgit worktree remove -f "$wt" >/dev/null 2>&1 || rm -rf "$wt"
lgit worktree prune
lgit worktree add -q --detach "$wt" "$BASE_TAG"
for p in $(series_patches); do
	f=$TOP/patches/${p#patches/}
	grep -q '^Cc: stable@vger.kernel.org' "$f" || continue
	git -C "$wt" reset -q --hard "$BASE_TAG"
	git -C "$wt" -c user.name=stable -c user.email=stable@example.org am -q "$f" ||
		die "${p#patches/} is for stable but does not apply to $BASE_TAG on its own"
	echo "stable: ${p#patches/} applies to $BASE_TAG on its own"
	n=$((n + 1))
done
echo "stable: $n patches for stable, each applies alone"
