#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a kernel from another commit of build/linux without disturbing its
# checkout: a git worktree build/linux-NAME detached at REF (moved to REF
# if it is elsewhere), kunit.py build into build/kunit-NAME-CFG. Options of
# kunit/KUNITCONFIG that REF's Kconfig lacks (the series' own, for the
# base) are left out; build/NAME-CFG.kunitconfig is what was used.
# Usage: tree-kernel.sh NAME REF [KUNITCONFIG]   (default x86_64.kunitconfig)
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

require_linux
name=$1 ref=$2 kcfg=${3:-x86_64.kunitconfig}
commit=$(lgit rev-parse -q --verify "$ref^{commit}") || die "tree-kernel.sh: no commit $ref in $LINUX"
wt=$BUILD/linux-$name
dir=$BUILD/kunit-$name-${kcfg%.kunitconfig}
if ! [ -f "$wt/Makefile" ]; then
	lgit worktree prune
	lgit worktree add -q --detach "$wt" "$commit"
fi
if [ "$(git -C "$wt" rev-parse HEAD)" != "$commit" ]; then
	git -C "$wt" -c advice.detachedHead=false checkout -q --detach "$commit" ||
		die "cannot move the worktree $wt to $ref"
fi

cfg=$BUILD/$name-${kcfg%.kunitconfig}.kunitconfig
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
touch "$dir/.build-start"
note "building $name ($ref, x86_64, $kcfg) in $dir"
build() {
	cd "$wt" && CCACHE_DIR=$BUILD/ccache ./tools/testing/kunit/kunit.py build \
		--arch=x86_64 --kunitconfig="$cfg" --build_dir="$dir" \
		--jobs="$JOBS" --make_options "CC=ccache gcc" >"$dir.build.log" 2>&1
}
progress "${PROGRESS_PREFIX:-}building the $name kernel ($kcfg)" "kbuild_status '$dir'" build || {
	tail -n 40 "$dir.build.log" >&2
	die "building the $name kernel failed; full log: $dir.build.log"
}
kbuild_done "$dir"
echo "$dir"
