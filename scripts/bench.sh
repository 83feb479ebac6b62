#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the unpatched base against the series, in the same run. Both
# kernels are built from kunit/x86_64-bench.kunitconfig (reused while their
# tree and that file are unchanged), each is booted in QEMU with one
# ivshmem-plain device per BAR size, and the guest runs
# scripts/bench/vfio-bar-bench. Writes out/bench.txt (table), out/bench.json
# (every sample) and out/bench.png (chart). Asserts no speed: it reports.
#
# BENCH_SIZES (default "64M 2G 32G"), BENCH_REPS (default 5): see
# scripts/bench/run.sh. KBUILD_LOCK: see scripts/bench/kernel.sh.
. "$(dirname "$0")/lib.sh"

require_linux
B=$TOP/scripts/bench
start=$(date +%s)
phase() { echo "bench [$1/6] $2 ($(( $(date +%s) - start )) s)"; }

phase 1 "benchmark program and initramfs"
initrd=$("$B/initramfs.sh")
# Both kernels under one hold of the build lock: others' builds queued in
# between would otherwise delay the second by their whole length.
if [ -n "${KBUILD_LOCK:-}" ]; then
	note "waiting for the build lock $KBUILD_LOCK"
	exec {lock}>>"$KBUILD_LOCK"
	flock "$lock"
fi
phase 2 "unpatched base kernel ($BASE_TAG)"
base=$(KBUILD_LOCK='' "$B/kernel.sh" base)
n=$(lgit rev-list --count "$BASE_TAG..HEAD")
label="$BASE_TAG + $n patches ($(lgit rev-parse --short=12 HEAD))"
[ -z "$(lgit status --porcelain --untracked-files=no)" ] || label="$label + uncommitted changes"
phase 3 "patched kernel (build/linux: $label)"
patched=$(KBUILD_LOCK='' "$B/kernel.sh" patched)
if [ -n "${KBUILD_LOCK:-}" ]; then
	flock -u "$lock"
	exec {lock}>&-
fi
phase 4 "booting the base guest (BARs: ${BENCH_SIZES:-64M 2G 32G}; ${BENCH_REPS:-5} repetitions)"
"$B/run.sh" base "$base" "$initrd" "$BASE_TAG"
phase 5 "booting the patched guest"
"$B/run.sh" patched "$patched" "$initrd" "$label"
phase 6 "report"
mkdir -p "$OUT"
/usr/bin/python3 "$B/report.py" "$BUILD/bench/base.log" "$BUILD/bench/patched.log" "$OUT" ||
	die "cannot make the report from $BUILD/bench/{base,patched}.log"
echo "bench: done in $(( $(date +%s) - start )) s: $OUT/bench.txt, $OUT/bench.json, $OUT/bench.png"
