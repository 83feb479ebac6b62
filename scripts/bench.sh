#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the unpatched base, the series without population
# ("placement", cut at POPULATION_FIRST of scripts/lib.sh or
# BENCH_PLACEMENT_REF) and the whole series ("full"), in the same run. The
# three kernels are built from kunit/x86_64-bench.kunitconfig (each reused
# while its tree and that file are unchanged), each is booted in QEMU with
# one ivshmem-plain device per BAR size, and the guest runs
# scripts/bench/vfio-bar-bench, then the nested VMM (scripts/bench/vmm/).
# Writes out/bench.txt (table), out/bench.json (every sample) and
# out/bench.png (chart). Asserts no speed: it reports. Prints a progress
# line at least every 30 s.
#
# BENCH_SIZES (default "64M 2G 32G"), BENCH_REPS (default 5), BENCH_VMM:
# see scripts/bench/run.sh. KBUILD_LOCK: see scripts/bench/kernel.sh.
. "$(dirname "$0")/lib.sh"

require_linux
B=$TOP/scripts/bench
start=$(date +%s)
phases=("benchmark program and initramfs" "base kernel" "placement kernel" "full kernel"
	"base guest" "placement guest" "full guest" "report")
phase() {
	local rest=("${phases[@]:$1}")
	PROGRESS_PREFIX="bench [$1/${#phases[@]}] "
	export PROGRESS_PREFIX
	echo "bench [$1/${#phases[@]}] ${phases[$1 - 1]}: $2 ($(elapsed $(($(date +%s) - start))) so far)" \
		"${rest:+then: $(IFS=,; echo "${rest[*]}" | sed 's/,/, /g')}"
}
describe() {	# COMMIT -> "base-7.3.4 + N patches (hash)"
	echo "$BASE_TAG + $(lgit rev-list --count "$BASE_TAG..$1") patches ($(lgit rev-parse --short=12 "$1"))"
}

phase 1 "building"
initrd=$("$B/initramfs.sh")
cut=$(placement_ref)
placement_label="$(describe "$cut"), up to '$(lgit log -1 --format=%s "$cut")'"
label=$(describe HEAD)
[ -z "$(lgit status --porcelain --untracked-files=no)" ] || label="$label + uncommitted changes"
# The kernels to build under one hold of the build lock: others' builds
# queued in between would otherwise delay the next one by their length.
lock=
if [ -n "${KBUILD_LOCK:-}" ]; then
	for k in base placement full; do
		"$B/kernel.sh" "$k" --check || lock=yes
	done
fi
if [ -n "$lock" ]; then
	note "waiting for the build lock $KBUILD_LOCK"
	exec {lock}>>"$KBUILD_LOCK"
	progress "bench [1/${#phases[@]}] waiting for the build lock $KBUILD_LOCK" "" flock "$lock"
fi
phase 2 "$BASE_TAG"
base=$(KBUILD_LOCK='' "$B/kernel.sh" base)
phase 3 "$placement_label"
placement=$(KBUILD_LOCK='' "$B/kernel.sh" placement)
phase 4 "build/linux: $label"
full=$(KBUILD_LOCK='' "$B/kernel.sh" full)
if [ -n "$lock" ]; then
	flock -u "$lock"
	exec {lock}>&-
fi
phase 5 "BARs: ${BENCH_SIZES:-64M 2G 32G}; ${BENCH_REPS:-5} repetitions"
"$B/run.sh" base "$base" "$initrd" "$BASE_TAG"
phase 6 "booting"
"$B/run.sh" placement "$placement" "$initrd" "$placement_label"
phase 7 "booting"
"$B/run.sh" full "$full" "$initrd" "$label"
phase 8 "writing $OUT/bench.*"
mkdir -p "$OUT"
/usr/bin/python3 "$B/report.py" "$BUILD"/bench/{base,placement,full}.log "$OUT" ||
	die "cannot make the report from $BUILD/bench/{base,placement,full}.log"
echo "bench: done in $(elapsed $(($(date +%s) - start))): $OUT/bench.txt, $OUT/bench.json, $OUT/bench.png"
