#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot one benchmark kernel in QEMU (TCG, q35, -cpu max, emulated Intel
# IOMMU as in e2e.sh) with one ivshmem-plain device per BAR size and let
# the guest run vfio-bar-bench on them. Fails if the guest did not finish
# cleanly or the console shows a splat.
# Usage: run.sh NAME KERNEL_BUILD_DIR INITRAMFS LABEL
#   -> build/bench/NAME.log: HOST-INFO lines (LABEL says which kernel it is
#      in the report), the console (ttyS0), then what the guest's init and
#      programs printed on ttyS1 (BENCH and VMM lines)
# BENCH_SIZES (default "64M 2G 32G"): BAR2 sizes, powers of two;
# BENCH_REPS (default 5): repetitions of every measurement;
# BENCH_VMM (default 2G, or the largest size below it): the BAR the nested
# VMM (scripts/bench/vmm/) assigns after the measurements, 0: none;
# BENCH_VMM_REPS (default BENCH_REPS): how many times QEMU starts and maps it;
# BENCH_VMM_TIMEOUT (default 1800): seconds each nested QEMU may take.
# BENCH_PROFILE (scripts/bench/profile.sh only): bench_profile=LOOPS for
# the guest's init, which then only profiles (see scripts/bench/init).
#
# A BAR of up to 2 GiB is a sparse file under build/bench (share=on, as in
# e2e.sh). Reading a hole of a sparse file allocates host page cache, so a
# larger BAR, which the guest only reads, is private anonymous memory
# (share=off, reserve=off): reads map the zero page, the host allocates
# nothing. Before the boot the files are read once on the host; in the
# guest an untimed read of every BAR page comes before the first
# measurement, so neither the host's page cache nor QEMU's own page faults
# are counted.
. "$(dirname "$0")/../lib.sh"

name=$1 kdir=$2 initrd=$3 label=$4
dir=$BUILD/bench
log=$dir/$name.log
sizes=${BENCH_SIZES:-64M 2G 32G}
reps=${BENCH_REPS:-5}
TIMEOUT=${BENCH_TIMEOUT:-5400}
mkdir -p "$dir"

bytes() { numfmt --from=iec "$1"; }
vmm=${BENCH_VMM:-}
if [ -z "$vmm" ]; then
	for s in $sizes; do
		[ "$(bytes "$s")" -gt $((2 << 30)) ] || vmm=$s
	done
fi
vmm_args=
if [ "$vmm" != 0 ] && [ -n "$vmm" ]; then
	grep -q -w -F -- "$vmm" <<<"$sizes" || die "BENCH_VMM=$vmm is not one of BENCH_SIZES ($sizes)"
	vmm_args="bench_vmm=$(bytes "$vmm") bench_vmm_reps=${BENCH_VMM_REPS:-$reps}"
	vmm_args="$vmm_args bench_vmm_timeout=${BENCH_VMM_TIMEOUT:-1800}"
fi
args=()
i=0
for s in $sizes; do
	n=$(bytes "$s")
	[ $((n & (n - 1))) -eq 0 ] || die "BENCH_SIZES: $s is not a power of two"
	if [ "$n" -le $((2 << 30)) ]; then
		mem=$dir/bar-$s.mem
		[ "$(stat -c %s "$mem" 2>/dev/null)" = "$n" ] || { rm -f "$mem"; truncate -s "$n" "$mem"; }
		cat "$mem" >/dev/null
		args+=(-object "memory-backend-file,id=bar$i,size=$s,share=on,mem-path=$mem")
	else
		args+=(-object "memory-backend-ram,id=bar$i,size=$s,share=off,reserve=off")
	fi
	args+=(-device "ivshmem-plain,memdev=bar$i")
	i=$((i + 1))
done

{
	echo "HOST-INFO name=$name"
	echo "HOST-INFO label=$label"
	echo "HOST-INFO kernel_dir=${kdir#"$TOP"/}"
	echo "HOST-INFO qemu=$(qemu-system-x86_64 --version | head -n 1)"
	echo "HOST-INFO date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "HOST-INFO loadavg_before=$(cut -d' ' -f1 /proc/loadavg)"
	echo "HOST-INFO run=sizes $sizes, reps $reps, $vmm_args"
} >"$log.head"
# What the guest is at, for the progress lines: its last BENCH or VMM line,
# and how long its last run with the same sizes, repetitions and VMM took.
last=
if grep -q -x -F "$(grep '^HOST-INFO run=' "$log.head")" "$log" 2>/dev/null; then
	last=$(sed -n 's/^HOST-INFO seconds=//p' "$log")
fi
guest_status() {
	local l at
	l=$(grep -a -E '^(BENCH |VMM-)' "$log.out" | tail -n 1)
	case $l in
	BENCH\ *)
		set -- $l
		at="at BAR $(numfmt --to=iec "${2#size=}") of $sizes, ${3#pattern=}, rep ${4#rep=} of $reps, test ${5#test=}" ;;
	VMM-*) at="nested VMM: ${l:0:100}" ;;
	*) at="booting" ;;
	esac
	echo "$at${last:+; its last run like this took $(elapsed "$last")}"
}
guest() {
	timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
		-nodefaults -nographic -no-reboot -serial stdio -serial "file:$log.out" \
		-accel tcg -M q35 -cpu max -smp 1 -m 2G \
		-global q35-pcihost.pci-hole64-size=256G \
		-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48 \
		"${args[@]}" \
		-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$initrd" \
		-append "console=ttyS0 intel_iommu=on panic=-1 rdinit=/init bench_reps=$reps $vmm_args${BENCH_PROFILE:+ bench_profile=$BENCH_PROFILE}" \
		</dev/null >"$log.tmp" 2>&1
}
: >"$log.out"
start=$(date +%s)
# The 64-bit PCI hole must hold all the BARs, each naturally aligned.
progress "bench: $name guest" guest_status guest || echo "qemu exited with $?" >>"$log.tmp"
{
	cat "$log.head"
	echo "HOST-INFO loadavg_after=$(cut -d' ' -f1 /proc/loadavg)"
	echo "HOST-INFO seconds=$(( $(date +%s) - start ))"
	sed 's/\r$//' "$log.tmp" "$log.out"
} >"$log"
rm -f "$log.head" "$log.tmp" "$log.out"

status=0
if grep -a -E '^(BENCH|VMM)-ERROR' "$log" >&2; then status=1; fi
grep -q '^BENCH-EXIT rc=0$' "$log" && grep -q '^BENCH-DONE$' "$log" ||
	{ echo "bench: the $name guest did not finish (timeout, crash or error); console in $log" >&2; status=1; }
"$TOP/scripts/splat-check.sh" "$log" "the $name benchmark guest" || status=1
[ $status -eq 0 ] || exit 1
note "$name: guest ran for $(( $(date +%s) - start )) s; console in $log"
