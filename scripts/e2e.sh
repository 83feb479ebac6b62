#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# End to end: boot the x86_64 test kernel in QEMU (TCG, q35, emulated Intel
# IOMMU with interrupt remapping, -cpu max for 1 GiB pages) with an
# ivshmem-plain device whose 2 GiB BAR2 is backed by a host file, bind it to
# vfio-pci, run the vfio selftests of scripts/e2e/plan, then check the
# backing file on the host. Fails on a failing test, a missing result, or a
# splat in the console. Ends with 'N passed, N failed'.
#
# The kernel is the x86_64 test kernel of build/linux (series applied), or
# with BASE=1 the unpatched base built by base-kernel.sh. The selftests are
# always the series' own, so BASE=1 shows what the series must keep.
. "$(dirname "$0")/lib.sh"

require_linux
if [ "${BASE:-0}" = 1 ]; then
	kdir=$("$TOP/scripts/base-kernel.sh") name=e2e-base
else
	kdir=$("$TOP/scripts/kunit-build.sh" x86_64 x86_64.kunitconfig) name=e2e
fi
dir=$BUILD/e2e
log=$dir/$name.log
mem=$dir/$name-bar2.mem
TIMEOUT=${E2E_TIMEOUT:-900}

initrd=$("$TOP/scripts/e2e-initramfs.sh")
# The series' suites run at boot, and once more from /init (kunit_rerun);
# the base has none of them.
kunit_args="kunit.filter_glob=*map_* mmap_kunit.pud_leaves=1"
[ "$name" = e2e ] || kunit_args=kunit.enable=0
rm -f "$mem" "$log"
truncate -s 2G "$mem"

note "booting the end-to-end guest ($name)"
start=$(date +%s)
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
	-nodefaults -nographic -no-reboot -serial stdio \
	-accel tcg,thread=multi -M q35 -cpu max -smp 2 -m 2G \
	-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48 \
	-object memory-backend-file,id=bar2,size=2G,share=on,mem-path="$mem" \
	-device ivshmem-plain,memdev=bar2 \
	-kernel "$kdir/arch/x86/boot/bzImage" -initrd "$initrd" \
	-append "console=ttyS0 intel_iommu=on panic=-1 rdinit=/init $kunit_args" \
	</dev/null >"$log" 2>&1 || echo "qemu exited with $?" >>"$log"
sed -i 's/\r$//' "$log"
note "guest ran for $(( $(date +%s) - start )) s; console in $log"

status=0
grep -q '^E2E-DONE' "$log" || { echo "e2e: the guest did not finish (timeout or crash)"; status=1; }
if grep '^E2E-ERROR' "$log"; then status=1; fi

passed=0 failed=0 skipped=0
while read -r prog; do
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
	printf '%s\n' "$out" | grep -E '^ *(not ok|# vfio_pci_mmap:|# .*stress.*:)' | sed 's/^/    /' || true
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -ne 0 ] || [ "$rc" != 0 ]; then status=1; fi
done < <(awk '!/^#/ && NF { print $1 }' "$TOP/scripts/e2e/plan")

"$TOP/scripts/splat-check.sh" "$log" "the end-to-end guest ($name)" || status=1

# What the series adds must have run here, not skipped: the selftest skips
# population cases only on kernels that cannot populate. On a prefix of the
# series (build/linux checked out at an earlier patch), only what that
# prefix has: placement from patch "mm: place PFN mappings...", population
# from "mm: let drivers make mmap_prepare population optional...".
has() { [ "$name" = e2e ] && lgit grep -q -e "$1" -- "$2"; }
if has pfnmap_get_unmapped_area include/linux/sched/mm.h; then places=1; else places=0; fi
if has mmap_action_gate include/linux/mm.h; then populates=1; else populates=0; fi
if [ "$name" = e2e ]; then
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
		two_live_mappings bar_mapped_through_sysfs thp_disabled_mapping_bounded; do
		if grep -qE "^ok [0-9]+ vfio_pci_mmap_test\.$t\$" "$log"; then
			passed=$((passed + 1))
		else
			echo "e2e: vfio_pci_mmap_test.$t did not pass here (skipped or failed)"
			failed=$((failed + 1)) status=1
		fi
	done
fi

# With the series, the kernel places a plain mmap() of the 2 GiB BAR for PUD
# leaves (-cpu max has 1 GiB pages). The base does not: there it is only
# reported.
report=$(grep '^# vfio_pci_mmap:' "$log" | head -n 1 || true)
if [ "$places" = 1 ] && [ -n "$report" ]; then
	if printf '%s\n' "$report" | grep -q 'congruent_1g=yes'; then
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

echo "$passed passed, $failed failed"
exit $status
