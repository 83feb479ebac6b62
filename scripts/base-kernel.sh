#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the unpatched base with the x86_64 test kernel's config, for
# 'make e2e BASE=1' and the benchmark: a git worktree of the base commit in
# build/linux-base, kunit.py build into build/kunit-base-x86_64. Options of
# kunit/x86_64.kunitconfig that only the series adds are left out.
# Usage: base-kernel.sh [KUNITCONFIG]   (a file in kunit/, default
# x86_64.kunitconfig; another one builds into build/kunit-base-NAME)
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

require_linux
kcfg=${1:-x86_64.kunitconfig}
wt=$BUILD/linux-base
dir=$BUILD/kunit-base-${kcfg%.kunitconfig}
if ! [ -f "$wt/Makefile" ]; then
	lgit worktree prune
	lgit worktree add -q --detach "$wt" "$BASE_TAG"
fi
[ "$(git -C "$wt" rev-parse HEAD)" = "$(lgit rev-parse "$BASE_TAG^{commit}")" ] ||
	die "$wt is not at $BASE_TAG"

cfg=$BUILD/base-${kcfg%.kunitconfig}.kunitconfig
: >"$cfg"
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		sym=${line%%=*}
		sym=${sym#CONFIG_}
		grep -r -q -x -E "(menu)?config $sym" --include='Kconfig*' "$wt" || continue
		;;
	esac
	echo "$line" >>"$cfg"
done <"$TOP/kunit/$kcfg"

mkdir -p "$dir" "$BUILD/ccache"
note "building the unpatched base (x86_64, $kcfg) in $dir"
(cd "$wt" && CCACHE_DIR=$BUILD/ccache ./tools/testing/kunit/kunit.py build \
	--arch=x86_64 --kunitconfig="$cfg" --build_dir="$dir" \
	--jobs="$JOBS" --make_options "CC=ccache gcc") >"$dir.build.log" 2>&1 || {
	tail -n 40 "$dir.build.log" >&2
	die "building the base kernel failed; full log: $dir.build.log"
}
echo "$dir"
