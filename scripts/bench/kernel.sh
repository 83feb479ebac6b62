#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build one benchmark kernel from kunit/x86_64-bench.kunitconfig, or reuse
# it when neither its source tree nor the config changed since it was built.
# Usage: kernel.sh base|patched   (base: the unpatched $BASE_TAG, patched:
# build/linux as it is). Prints the build directory.
# With KBUILD_LOCK set, the build holds flock on that file (machines where
# several work trees share the cores).
. "$(dirname "$0")/../lib.sh"

kind=$1
cfg=x86_64-bench.kunitconfig
require_linux
case $kind in
base)
	dir=$BUILD/kunit-base-x86_64-bench
	tree=$(lgit rev-parse "$BASE_TAG^{tree}")
	build=("$TOP/scripts/base-kernel.sh" "$cfg") ;;
patched)
	dir=$BUILD/kunit-x86_64-x86_64-bench
	tree=$(lgit rev-parse 'HEAD^{tree}')
	# Uncommitted changes in build/linux: never reuse, let make decide.
	[ -z "$(lgit status --porcelain --untracked-files=no)" ] || tree=dirty-$(date +%s)
	build=("$TOP/scripts/kunit-build.sh" x86_64 "$cfg") ;;
*)
	die "usage: kernel.sh base|patched" ;;
esac

stamp="$tree $(sha256sum <"$TOP/kunit/$cfg" | cut -d' ' -f1)"
if [ -f "$dir/arch/x86/boot/bzImage" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
	note "reusing the $kind benchmark kernel in $dir (tree ${tree:0:12})"
	echo "$dir"
	exit 0
fi
rm -f "$dir/.bench-stamp"
if [ -n "${KBUILD_LOCK:-}" ]; then
	note "waiting for the build lock $KBUILD_LOCK"
	exec {lock}>>"$KBUILD_LOCK"
	flock "$lock"
fi
start=$(date +%s)
out=$("${build[@]}")
if [ -n "${KBUILD_LOCK:-}" ]; then
	flock -u "$lock"
	exec {lock}>&-
fi
[ "$out" = "$dir" ] || die "the $kind kernel was built in '$out', expected $dir"
# The same config for both: base-kernel.sh must not have filtered out
# anything (options only the series adds).
if [ "$kind" = base ] && ! diff <(grep '^CONFIG_' "$TOP/kunit/$cfg") \
	<(grep '^CONFIG_' "$BUILD/base-${cfg%.kunitconfig}.kunitconfig") >&2; then
	die "the base lacks options of kunit/$cfg: the two kernels would differ"
fi
echo "$stamp" >"$dir/.bench-stamp"
note "built the $kind benchmark kernel in $(( $(date +%s) - start )) s"
echo "$dir"
