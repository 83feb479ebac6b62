#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the end-to-end initramfs: busybox (Debian's busybox-static), the
# vfio selftests built statically from build/linux (series applied), the
# workbench's own test programs (scripts/e2e/*.c, static, against the same
# UAPI headers and kselftest harness), and scripts/e2e/{init,plan}. Prints
# the path of the cpio archive.
. "$(dirname "$0")/lib.sh"

require_linux
dir=$BUILD/e2e
root=$dir/initramfs
mkdir -p "$dir"

note "building the vfio selftests (static) from build/linux"
make -s -C "$LINUX" O="$dir/hdr-build" ARCH=x86_64 headers_install \
	INSTALL_HDR_PATH="$dir/hdr/usr" >"$dir/headers.log" 2>&1 ||
	{ tail -n 20 "$dir/headers.log" >&2; die "headers_install failed"; }
rm -rf "$dir/selftests"
make -C "$LINUX/tools/testing/selftests/vfio" OUTPUT="$dir/selftests" \
	KHDR_INCLUDES="-isystem $dir/hdr/usr/include" EXTRA_CFLAGS=-static \
	-j"$JOBS" >"$dir/selftests.log" 2>&1 ||
	{ tail -n 30 "$dir/selftests.log" >&2; die "building the vfio selftests failed (see $dir/selftests.log)"; }

note "building scripts/e2e/*.c (static)"
rm -rf "$dir/own" "$dir/own.log"
mkdir -p "$dir/own"
for src in "$TOP"/scripts/e2e/*.c; do
	gcc -static -O2 -Wall -Werror -isystem "$dir/hdr/usr/include" \
		-I"$LINUX/tools/testing/selftests" -o "$dir/own/$(basename "$src" .c)" \
		"$src" >>"$dir/own.log" 2>&1 ||
		{ tail -n 30 "$dir/own.log" >&2; die "building $src failed (see $dir/own.log)"; }
done

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,tests}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list | grep -v -x busybox); do
	ln -sf busybox "$root/bin/$applet"
done
install -m 755 "$TOP/scripts/e2e/init" "$root/init"
cp "$TOP/scripts/e2e/plan" "$root/tests/plan"
awk '!/^#/ && NF { print $2 }' "$TOP/scripts/e2e/plan" | sort -u | while read -r prog; do
	bin=$dir/selftests/$prog
	[ -x "$bin" ] || bin=$dir/own/$prog
	[ -x "$bin" ] || bin=$TOP/scripts/e2e/$prog
	[ -x "$bin" ] || die "the plan runs $prog, which was not built"
	# Static programs, or scripts for the guest's busybox sh.
	file "$bin" | grep -q -e 'statically linked' -e 'shell script' ||
		die "$prog is neither static nor a shell script"
	cp "$bin" "$root/tests/"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$dir/initramfs.cpio.gz"
echo "$dir/initramfs.cpio.gz"
