#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the benchmark program (scripts/bench/vfio-bar-bench.c), static,
# against the UAPI headers of build/linux. Prints the path of the binary.
. "$(dirname "$0")/../lib.sh"

require_linux
dir=$BUILD/bench
mkdir -p "$dir"
make -s -C "$LINUX" O="$dir/hdr-build" ARCH=x86_64 headers_install \
	INSTALL_HDR_PATH="$dir/hdr/usr" >"$dir/headers.log" 2>&1 ||
	{ tail -n 20 "$dir/headers.log" >&2; die "headers_install failed"; }
gcc -static -O2 -Wall -Wextra -Werror -isystem "$dir/hdr/usr/include" \
	-o "$dir/vfio-bar-bench" "$TOP/scripts/bench/vfio-bar-bench.c" ||
	die "building the benchmark program failed"
file "$dir/vfio-bar-bench" | grep -q 'statically linked' || die "vfio-bar-bench is not static"
echo "$dir/vfio-bar-bench"
