#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the make bench guest (installed as /vmm/vmm.sh by payload.sh):
# the host's qemu-system-x86_64 assigns BDF with -device vfio-pci to a
# nested TCG guest that runs only SeaBIOS, which sizes the BARs and turns
# memory decode on; QEMU then DMA-maps the BAR. vmm-shim.so, preloaded,
# prints VMM-EVENT lines on the way and VMM-RESULT when the BAR's
# VFIO_IOMMU_MAP_DMA returns, and ends QEMU there (exit status 42).
# Usage: vmm.sh BDF REPS [TIMEOUT_SECONDS]   (QEMU runs REPS times: where
# it maps the BAR depends on its address space layout, which ASLR varies)
# Prints VMM-PROGRESS every 30 s and VMM-ERROR if QEMU ends otherwise.
bdf=$1 reps=$2 limit=${3:-1800}
fw=/tmp/seabios.log
start=$(date +%s)
(
	while sleep 30; do
		echo "VMM-PROGRESS $(($(date +%s) - start)) s; firmware: $(tail -n 1 "$fw")"
	done
) &
ticker=$!
rep=1
while [ "$rep" -le "$reps" ]; do
	echo "VMM-START bdf=$bdf rep=$rep of $reps"
	: >"$fw"
	# -m 64M: QEMU DMA-maps (pins) all guest RAM before the BAR; 64-bit
	# BARs go to q35's 64-bit PCI hole (32 GiB by default).
	timeout "$limit" env LD_PRELOAD=/vmm/vmm-shim.so VMM_REP="$rep" \
		/usr/bin/qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -serial none -monitor none \
		-accel tcg -M q35 -cpu qemu64 -smp 1 -m 64M \
		-device "vfio-pci,host=$bdf" \
		-chardev "file,id=fw,path=$fw" -device isa-debugcon,iobase=0x402,chardev=fw \
		</dev/null 2>&1
	rc=$?
	if [ "$rc" != 42 ]; then
		kill "$ticker"
		echo "VMM-FIRMWARE-LOG $(tr -d '\r' <"$fw" | grep -v '^$' | tail -n 8 | tr '\n' '|')"
		echo "VMM-ERROR qemu ended with status $rc (124: killed after $limit s) before the BAR's VFIO_IOMMU_MAP_DMA"
		exit 1
	fi
	rep=$((rep + 1))
done
kill "$ticker"
echo "VMM-FIRMWARE-LOG $(tr -d '\r' <"$fw" | grep -v '^$' | tail -n 8 | tr '\n' '|')"
echo "VMM-DONE $(($(date +%s) - start)) s"
