#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the benchmark initramfs: busybox (Debian's busybox-static), the
# static vfio-bar-bench, scripts/bench/init and the nested VMM
# (scripts/bench/vmm/payload.sh: the host's QEMU, its libraries and
# firmware). Prints the cpio's path.
. "$(dirname "$0")/../lib.sh"

prog=$("$TOP/scripts/bench/build.sh")
dir=$BUILD/bench
root=$dir/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,bench}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list | grep -v -x busybox); do
	ln -sf busybox "$root/bin/$applet"
done
install -m 755 "$TOP/scripts/bench/init" "$root/init"
install -m 755 "$prog" "$root/bench/vfio-bar-bench"
"$TOP/scripts/bench/vmm/payload.sh" "$root"
# BENCH_PROFILE (scripts/bench/profile.sh): the host's perf and its
# libraries, for init's bench_profile=.
if [ -n "${BENCH_PROFILE:-}" ]; then
	perf=$(command -v perf) || die "BENCH_PROFILE: no perf on the host (apt install linux-perf)"
	install -D -m 755 "$perf" "$root/perf/perf"
	install_libs "$root" "$perf"
fi
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$dir/initramfs.cpio.gz"
echo "$dir/initramfs.cpio.gz"
