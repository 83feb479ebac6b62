#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# End to end: boot the x86_64 test kernel in QEMU (TCG, q35, emulated Intel
# IOMMU with interrupt remapping, -cpu max for 1 GiB pages) with an
# ivshmem-plain device whose 2 GiB BAR2 is backed by a host file, a
# virtio-rng device in PCIe mode behind a root port (FLR, power
# management), and a virtio-balloon device alone behind a PCIe-to-PCI
# bridge (bus resets: QEMU's root ports do not bring the link back up after
# one), bind them to vfio-pci, run the vfio selftests of
# scripts/e2e/plan, then check the backing file on the
# host. Fails on a failing test, a missing result, or a splat in the console
# (a task blocked for 30 s included). Ends with 'N passed, N failed'.
#
# The kernel is the x86_64 test kernel of build/linux (series applied), or
# with BASE=1 the unpatched base built by base-kernel.sh, or with KCSAN=1
# the test kernel with KCSAN instead of KASAN (not part of make check;
# fails on a data race reported in the paths the series touches). The
# selftests are always the series' own, so BASE=1 shows what the series
# must keep. KCSAN=1 leaves out upstream's vfio_dma_mapping_mmio_test (the
# guest's e2e.skip=), and says so. The guest runs single-threaded TCG
# (E2E_TCG_THREAD=multi for one thread per vCPU; see below); E2E_TIMEOUT
# bounds it (900 s, KCSAN 2400 s).
. "$(dirname "$0")/lib.sh"

require_linux
skip=
if [ "${BASE:-0}" = 1 ]; then
	kdir=$("$TOP/scripts/base-kernel.sh") name=e2e-base
elif [ "${KCSAN:-0}" = 1 ]; then
	# The test kernel with KCSAN instead of KASAN (the two exclude each
	# other): data races the series' unlocked reads could have.
	mkdir -p "$BUILD"
	sed -e 's/^CONFIG_KASAN=y$/CONFIG_KCSAN=y/' "$TOP/kunit/x86_64.kunitconfig" \
		>"$BUILD/x86_64-kcsan.kunitconfig"
	grep -q '^CONFIG_KCSAN=y$' "$BUILD/x86_64-kcsan.kunitconfig" ||
		die "kunit/x86_64.kunitconfig has no CONFIG_KASAN=y to replace"
	kdir=$("$TOP/scripts/kunit-build.sh" x86_64 "$BUILD/x86_64-kcsan.kunitconfig")
	name=e2e-kcsan
	# Upstream's test maps a BAR in cases that outlast kselftest's 30 s
	# per case under KCSAN's slowdown, and a case killed by that timeout
	# leaves the group busy for the next ones.
	skip=vfio_dma_mapping_mmio_test
else
	kdir=$("$TOP/scripts/kunit-build.sh" x86_64 x86_64.kunitconfig) name=e2e
fi
dir=$BUILD/e2e
log=$dir/$name.log
mem=$dir/$name-bar2.mem
TIMEOUT=${E2E_TIMEOUT:-900}
[ "$name" != e2e-kcsan ] || TIMEOUT=${E2E_TIMEOUT:-2400}

initrd=$("$TOP/scripts/e2e-initramfs.sh")
# nohz=off: under TCG a guest once lost a timer wakeup with nohz idle (RCU
# reported "timer wakeup didn't happen" and a reset never returned, with no
# task blocked on a lock); a periodic tick keeps such a stall from looking
# like a hang of the series. hung_task_timeout_secs=30 turns a real one
# into a splat well inside the timeout.
# thread=single: with multi-threaded TCG (QEMU 7.2) the guest hung twice
# more that we saw, in a few dozen runs, both in the PCIe device's
# power-state stresses: one vCPU idled in HLT and took NMIs but no
# interrupt (RCU: "timer wakeup didn't happen"; a zapper waited forever
# in smp_call_function_many_cond() for its TLB flush IPI). One emulator
# thread costs about a minute; E2E_TCG_THREAD=multi for the other.
# The series' suites run at boot, and once more from /init (kunit_rerun);
# the base has none of them.
kunit_args="kunit.filter_glob=*map_*"
[ "$name" != e2e-base ] || kunit_args=kunit.enable=0
[ -z "$skip" ] || kunit_args="$kunit_args e2e.skip=$skip"
rm -f "$mem" "$log"
truncate -s 2G "$mem"

note "booting the end-to-end guest ($name)"
start=$(date +%s)
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
	-nodefaults -nographic -no-reboot -serial stdio \
	-accel "tcg,thread=${E2E_TCG_THREAD:-single}" -M q35 -cpu max -smp 2 -m 2G \
	-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48 \
	-object memory-backend-file,id=bar2,size=2G,share=on,mem-path="$mem" \
	-device ivshmem-plain,memdev=bar2 \
	-device pcie-root-port,id=rp1,chassis=1 \
	-device virtio-rng-pci,bus=rp1,disable-legacy=on \
	-device pcie-pci-bridge,id=pb1 \
	-device virtio-balloon-pci,bus=pb1,addr=1,disable-legacy=on \
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$initrd" \
	-append "console=ttyS0 intel_iommu=on panic=-1 rdinit=/init hung_task_timeout_secs=30 nohz=off $kunit_args" \
	</dev/null >"$log" 2>&1 || echo "qemu exited with $?" >>"$log"
sed -i 's/\r$//' "$log"
note "guest ran for $(( $(date +%s) - start )) s; console in $log"

status=0
grep -q '^E2E-DONE' "$log" || { echo "e2e: the guest did not finish (timeout or crash)"; status=1; }
if grep '^E2E-ERROR' "$log"; then status=1; fi

passed=0 failed=0 skipped=0
while read -r prog; do
	if [ "$prog" = "$skip" ]; then
		if grep -q -x "E2E-SKIP $prog" "$log" && ! grep -q -x "E2E-BEGIN $prog" "$log"; then
			echo "e2e: $prog: not run with this kernel ($name)"
		else
			echo "e2e: $prog: the guest did not leave it out"
			failed=$((failed + 1)) status=1
		fi
		continue
	fi
	out=$(awk -v p="$prog" '$0 == "E2E-BEGIN " p { on = 1; next } on && $1 == "E2E-END" { exit } on' "$log")
	rc=$(sed -n "s/^E2E-END $prog rc=//p" "$log")
	totals=$(printf '%s\n' "$out" | sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) error:\([0-9]*\)/\1 \2 \3 \4/p' | tail -n 1)
	if [ -z "$totals" ]; then
		echo "e2e: $prog: no results (rc=${rc:-none})"
		failed=$((failed + 1)) status=1
		continue
	fi
	read -r p f s e <<<"$totals"
	f=$((f + e))
	echo "e2e: $prog: $p passed, $f failed, $s skipped (rc=$rc)"
	printf '%s\n' "$out" | grep -E '^ *(not ok|# vfio_pci_mmap:|# .*stress.*:|# zap_path )' | sed 's/^/    /' || true
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -ne 0 ] || [ "$rc" != 0 ]; then status=1; fi
done < <(awk '!/^#/ && NF { print $1 }' "$TOP/scripts/e2e/plan")

if [ "$name" = e2e-kcsan ]; then
	# KCSAN reports races all over the kernel; those of the paths the series
	# touches fail the run, the others are counted and left in the log.
	python3 "$TOP/scripts/e2e/kcsan-filter.py" "$log" "$log.ours" || status=1
	"$TOP/scripts/splat-check.sh" "$log.ours" "the end-to-end guest ($name)" || status=1
else
	"$TOP/scripts/splat-check.sh" "$log" "the end-to-end guest ($name)" || status=1
fi

# What the series adds must have run here, not skipped: the selftest skips
# population cases only on kernels that cannot populate. On a prefix of the
# series (build/linux checked out at an earlier patch), only what that
# prefix has: placement from patch "mm: place PFN mappings...", population
# from "mm: let drivers make mmap_prepare population optional...".
has() { [ "$name" != e2e-base ] && lgit grep -q -e "$1" -- "$2"; }
if has pfnmap_get_unmapped_area include/linux/sched/mm.h; then places=1; else places=0; fi
if has mmap_action_gate include/linux/mm.h; then populates=1; else populates=0; fi
if [ "$name" != e2e-base ]; then
	rerun=$(awk '$0 == "E2E-BEGIN kunit_rerun" { on = 1; next } on && $1 == "E2E-END" { exit } on' "$log" |
		sed -n 's/^# Totals: pass:\([0-9]*\) .*/\1/p' | tail -n 1)
	if [ "${rerun:-0}" -gt 0 ]; then
		passed=$((passed + 1))
	else
		echo "e2e: the KUnit suites did not run a second time"
		failed=$((failed + 1)) status=1
	fi
fi
if [ "$populates" = 1 ]; then
	for t in populated_whole_bar populated_odd_offset zap_removes_populated_mapping \
		two_live_mappings bar_mapped_through_sysfs thp_disabled_mapping_bounded \
		mremap_moves_populated_mapping walkers_keep_populated_mapping; do
		if grep -qE "^ok [0-9]+ vfio_pci_mmap_test\.$t\$" "$log"; then
			passed=$((passed + 1))
		else
			echo "e2e: vfio_pci_mmap_test.$t did not pass here (skipped or failed)"
			failed=$((failed + 1)) status=1
		fi
	done
fi

# Every path that zaps BAR mappings raced against mmap(), and saw races:
# decode toggles on the ivshmem device (huge leaves), FLR, D3hot and
# runtime PM on the PCIe device, bus resets on the bridged one. A stress
# that saw no race skips, and fails this check.
block() { awk -v p="$1" '$0 == "E2E-BEGIN " p { on = 1; next } on && $1 == "E2E-END" { exit } on' "$log"; }
if has zap_path tools/testing/selftests/vfio/vfio_pci_mmap_test.c; then
	for run in "vfio_pci_mmap_test decode" \
		"vfio_pci_mmap_test_pcie decode d3hot low_power reset" \
		"vfio_pci_mmap_test_bridged reset hot_reset"; do
		read -r prog paths <<<"$run"
		for p in $paths; do
			if block "$prog" | grep -E "^ok [0-9]+ zap_path\.$p\.no_stray_entry\$" >/dev/null; then
				passed=$((passed + 1))
			else
				echo "e2e: $prog: zap_path.$p did not pass (skipped: nothing raced, or failed)"
				failed=$((failed + 1)) status=1
			fi
		done
	done
fi

# With the series, the kernel places a plain mmap() of the 2 GiB BAR for PUD
# leaves (-cpu max has 1 GiB pages). The base does not: there it is only
# reported.
report=$(grep '^# vfio_pci_mmap:' "$log" | head -n 1 || true)
if [ "$places" = 1 ] && [ -n "$report" ]; then
	if [[ $report == *congruent_1g=yes* ]]; then
		echo "e2e: the BAR mmap is 1 GiB-congruent to its physical address"
		passed=$((passed + 1))
	else
		echo "e2e: the BAR mmap is not 1 GiB-congruent to its physical address"
		failed=$((failed + 1)) status=1
	fi
fi

if grep -q '^E2E-BEGIN vfio_pci_mmap_test' "$log"; then
	if python3 "$TOP/scripts/e2e/check-bar-pattern.py" "$mem"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)) status=1
	fi
fi
rm -f "$mem"

[ -z "$skip" ] || echo "e2e: not run with this kernel: $skip"
echo "$passed passed, $failed failed"
exit $status
