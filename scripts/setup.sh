#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the workbench needs, if any is missing.
. "$(dirname "$0")/lib.sh"

packages=(
	# kernel builds (x86_64, UML, per-patch objects; i386 with the host gcc)
	gcc make flex bison bc libelf-dev libssl-dev cpio kmod rsync ccache perl
	# cross compilers: arm64 (per patch and KUnit), ppc64le and riscv64
	# (whole series)
	gcc-aarch64-linux-gnu gcc-powerpc64le-linux-gnu gcc-riscv64-linux-gnu
	# KUnit parsing and checkpatch's SPDX check
	python3 python3-ply python3-git
	# tools/testing/vma
	liburcu-dev
	# booting the test kernels (arm64: -M virt boots the Image directly, no
	# firmware); the end-to-end initramfs and selftests
	qemu-system-x86 qemu-system-arm busybox-static file uuid-dev
	# the mail-ready series: b4 am test of the produced mbox
	git b4
	# make bench: the chart (Debian's python3 in /usr/bin); make
	# bench-profile: perf, copied into the guest
	python3-matplotlib linux-perf
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
mkdir -p "$BUILD"
note "installing: ${missing[*]}"
$sudo apt-get -q update >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
	"${missing[@]}" >"$BUILD/setup.log" 2>&1 || {
	tail -n 20 "$BUILD/setup.log" >&2
	die "cannot install: ${missing[*]} (see $BUILD/setup.log)"
}
