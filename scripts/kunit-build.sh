#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build one KUnit kernel from build/linux with kunit.py.
# Usage: kunit-build.sh ARCH KUNITCONFIG   (KUNITCONFIG: a file in kunit/)
# Prints the build directory.
. "$(dirname "$0")/lib.sh"

arch=$1 cfg=$2
require_linux
dir=$BUILD/kunit-$arch-${cfg%.kunitconfig}
mkdir -p "$dir" "$BUILD/ccache"
note "building the $arch KUnit kernel ($cfg) in $dir"
(cd "$LINUX" && CCACHE_DIR=$BUILD/ccache ./tools/testing/kunit/kunit.py build \
	--arch="$arch" --kunitconfig="$TOP/kunit/$cfg" --build_dir="$dir" \
	--jobs="$JOBS" --make_options "CC=ccache gcc") >"$dir.build.log" 2>&1 || {
	tail -n 40 "$dir.build.log" >&2
	die "KUnit build for $arch ($cfg) failed; full log: $dir.build.log"
}
echo "$dir"
