#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Put the nested VMM into the benchmark initramfs: the host's own
# qemu-system-x86_64 with every shared library ldd names (at their host
# paths), the firmware a q35 TCG guest loads (SeaBIOS's bios-256k.bin,
# kvmvapic.bin and linuxboot_dma.bin, where QEMU looks for them: its data
# directories relative to /usr/bin), its TCG accelerator (Debian builds it
# as a module), vmm-shim.so (built here) and vmm.sh.
# Usage: payload.sh ROOT
. "$(dirname "$0")/../../lib.sh"

root=$1
V=$TOP/scripts/bench/vmm
qemu=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64 on this machine"
[ "$qemu" = /usr/bin/qemu-system-x86_64 ] || die "expected /usr/bin/qemu-system-x86_64, found $qemu"
hdr=$BUILD/bench/hdr/usr/include
[ -d "$hdr" ] || die "no UAPI headers in $hdr (scripts/bench/build.sh makes them)"

mkdir -p "$root/vmm" "$root/usr/bin" "$root/usr/share/qemu" "$root/usr/share/seabios"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -isystem "$hdr" -o "$root/vmm/vmm-shim.so" \
	"$V/vmm-shim.c" -ldl || die "building vmm-shim.so failed"
install -m 755 "$V/vmm.sh" "$root/vmm/vmm.sh"
cp -L "$qemu" "$root/usr/bin/"
tcg=/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so
[ -f "$tcg" ] || die "no $tcg"
mkdir -p "$root$(dirname "$tcg")"
cp -L "$tcg" "$root$tcg"
install_libs "$root" "$qemu"
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/kvmvapic.bin \
	/usr/share/qemu/linuxboot_dma.bin; do
	[ -f "$f" ] || die "no $f (Debian's seabios and qemu-system-data)"
	cp -L "$f" "$root$f"
done
