#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build one benchmark kernel from kunit/x86_64-bench.kunitconfig, or reuse
# it when neither its source tree nor the config changed since it was built.
# Usage: kernel.sh base|placement|full [--check]
#   base       the unpatched $BASE_TAG (worktree build/linux-base);
#   placement  the series without population: placement_ref() of
#              scripts/lib.sh (POPULATION_FIRST, or BENCH_PLACEMENT_REF),
#              built in the worktree build/linux-placement;
#   full       build/linux as it is.
# Prints the build directory. With --check, builds nothing and exits 0 if
# the kernel can be reused, 1 if it must be built.
# With KBUILD_LOCK set, the build holds flock on that file (machines where
# several work trees share the cores).
. "$(dirname "$0")/../lib.sh"

kind=$1 check=${2:-}
cfg=x86_64-bench.kunitconfig
require_linux
case $kind in
base)
	dir=$BUILD/kunit-base-x86_64-bench
	tree=$(lgit rev-parse "$BASE_TAG^{tree}")
	build=("$TOP/scripts/base-kernel.sh" "$cfg") ;;
placement)
	ref=$(placement_ref)
	dir=$BUILD/kunit-placement-x86_64-bench
	tree=$(lgit rev-parse "$ref^{tree}")
	build=("$TOP/scripts/tree-kernel.sh" placement "$ref" "$cfg") ;;
full)
	dir=$BUILD/kunit-x86_64-x86_64-bench
	tree=$(lgit rev-parse 'HEAD^{tree}')
	# Uncommitted changes in build/linux: never reuse, let make decide.
	[ -z "$(lgit status --porcelain --untracked-files=no)" ] || tree=dirty-$(date +%s)
	build=("$TOP/scripts/kunit-build.sh" x86_64 "$cfg") ;;
*)
	die "usage: kernel.sh base|placement|full" ;;
esac

stamp="$tree $(sha256sum <"$TOP/kunit/$cfg" | cut -d' ' -f1)"
if [ -f "$dir/arch/x86/boot/bzImage" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
	[ -n "$check" ] && exit 0
	note "reusing the $kind benchmark kernel in $dir (tree ${tree:0:12})"
	echo "$dir"
	exit 0
fi
[ -z "$check" ] || exit 1
rm -f "$dir/.bench-stamp"
if [ -n "${KBUILD_LOCK:-}" ]; then
	note "waiting for the build lock $KBUILD_LOCK"
	exec {lock}>>"$KBUILD_LOCK"
	progress "${PROGRESS_PREFIX:-}waiting for the build lock $KBUILD_LOCK" "" flock "$lock"
fi
start=$(date +%s)
out=$("${build[@]}")
if [ -n "${KBUILD_LOCK:-}" ]; then
	flock -u "$lock"
	exec {lock}>&-
fi
[ "$out" = "$dir" ] || die "the $kind kernel was built in '$out', expected $dir"
# The same config for all: the worktree builds must not have filtered out
# anything (options only the series adds).
if [ "$kind" != full ] && ! diff <(grep '^CONFIG_' "$TOP/kunit/$cfg") \
	<(grep '^CONFIG_' "$BUILD/$kind-${cfg%.kunitconfig}.kunitconfig") >&2; then
	die "the $kind tree lacks options of kunit/$cfg: the kernels would differ"
fi
echo "$stamp" >"$dir/.bench-stamp"
note "built the $kind benchmark kernel in $(elapsed $(($(date +%s) - start)))"
echo "$dir"
