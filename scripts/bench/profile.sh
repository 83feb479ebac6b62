#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Where the time of a populated mmap() goes: boot the placement and the full
# benchmark kernels of make bench (built if missing) with one 2 GiB BAR,
# map and unmap it PROFILE_LOOPS times (default 200000) under perf in the
# guest (cpu-clock sampling: TCG has no PMU), and write $OUT/profile.txt (out/):
# per kernel, the mean mmap() and munmap() latency and perf's report by
# symbol, self and with callees, then what the symbols that population
# adds cost in microseconds (profile-table.py). Not part of make check.
. "$(dirname "$0")/../lib.sh"

command -v perf >/dev/null || die "no perf on the host (apt install linux-perf)"
loops=${PROFILE_LOOPS:-200000}
[ "$loops" -ge 1 ] 2>/dev/null || die "PROFILE_LOOPS=$loops is not a positive number"
placement=$("$TOP/scripts/bench/kernel.sh" placement)
full=$("$TOP/scripts/bench/kernel.sh" full)
initrd=$(BENCH_PROFILE=$loops "$TOP/scripts/bench/initramfs.sh")
out=$OUT/profile.txt
mkdir -p "$OUT"
{
	echo "make bench-profile: $loops plain mmap()s and munmap()s of a 2 GiB BAR2 per kernel,"
	echo "perf record -e cpu-clock -F 2000 -g in an x86_64 TCG guest (1 CPU)"
} >"$out"
for k in placement full; do
	kdir=$placement
	[ $k = placement ] || kdir=$full
	BENCH_SIZES=2G BENCH_REPS=1 BENCH_VMM=0 BENCH_PROFILE=$loops \
		"$TOP/scripts/bench/run.sh" "profile-$k" "$kdir" "$initrd" "$k" >&2
	log=$BUILD/bench/profile-$k.log
	{
		echo
		echo "== $k"
		grep -a '^BENCH-PROFILE ' "$log"
		sed -n '/^PROFILE-BEGIN/,/^PROFILE-END/p' "$log" | grep -v '^PROFILE-END'
	} >>"$out"
done
grep -q '^BENCH-PROFILE ' "$out" || die "no profile in $out"
{
	echo
	python3 "$TOP/scripts/bench/profile-table.py" "$BUILD"/bench/profile-{placement,full}.log
} >>"$out"
echo "$out"
