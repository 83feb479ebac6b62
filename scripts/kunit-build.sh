#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build one KUnit kernel from build/linux with kunit.py.
# Usage: kunit-build.sh ARCH KUNITCONFIG[+KUNITCONFIG...]   (files in kunit/,
#        or absolute paths, merged in order; arm64 is cross-built with
#        Debian's aarch64 gcc)
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

arch=$1 cfg=$2
case $arch in
x86_64 | um) cross= ;;
arm64) cross=aarch64-linux-gnu- ;;
*) die "kunit-build.sh: unknown arch '$arch'" ;;
esac
require_linux
name=${cfg##*/}
dir=$BUILD/kunit-$arch-${name//.kunitconfig/}
args=()
IFS=+ read -r -a cfgs <<<"$cfg"
for c in "${cfgs[@]}"; do
	# A file of kunit/, or a path (make e2e KCSAN=1's generated config).
	case $c in /*) f=$c ;; *) f=$TOP/kunit/$c ;; esac
	[ -f "$f" ] || die "no $f"
	args+=(--kunitconfig="$f")
done
mkdir -p "$dir" "$BUILD/ccache"
touch "$dir/.build-start"
note "building the $arch KUnit kernel ($cfg) in $dir"
build() {
	cd "$LINUX" && CCACHE_DIR=$BUILD/ccache ./tools/testing/kunit/kunit.py build \
		--arch="$arch" ${cross:+--cross_compile="$cross"} "${args[@]}" \
		--build_dir="$dir" --jobs="$JOBS" --make_options "CC=ccache ${cross}gcc" \
		>"$dir.build.log" 2>&1
}
progress "${PROGRESS_PREFIX:-}building the $arch KUnit kernel ($cfg)" "kbuild_status '$dir'" build || {
	tail -n 40 "$dir.build.log" >&2
	die "KUnit build for $arch ($cfg) failed; full log: $dir.build.log"
}
kbuild_done "$dir"
echo "$dir"
