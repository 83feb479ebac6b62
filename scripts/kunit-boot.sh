#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot one built KUnit kernel as a line of kunit/runs describes, parse its
# KTAP output with kunit.py parse and check the console for splats.
# Usage: kunit-boot.sh NAME BUILD_DIR
# Prints 'PASSED FAILED SKIPPED' on stdout; exits non-zero if a test
# failed or crashed, no test ran, or the kernel splatted.
. "$(dirname "$0")/lib.sh"

name=$1 dir=$2
line=$(awk -v n="$name" '$1 == n' "$TOP/kunit/runs")
[ -n "$line" ] || die "no run '$name' in kunit/runs"
read -r _ arch _ cpu cmdline <<<"$line"
log=$BUILD/kunit-logs/$name.log
json=$BUILD/kunit-logs/$name.json
mkdir -p "$(dirname "$log")"
rm -f "$log" "$json"
TIMEOUT=${KUNIT_TIMEOUT:-900}

note "booting KUnit run '$name' ($arch${cmdline:+, $cmdline})"
case $arch in
x86_64)
	timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
		-nodefaults -nographic -no-reboot -serial stdio \
		-accel tcg,thread=multi -cpu "$cpu" -smp 2 -m 2G \
		-bios /usr/share/qemu/qboot.rom \
		-kernel "$dir/arch/x86/boot/bzImage" \
		-append "console=ttyS0 kunit_shutdown=reboot panic=-1 $cmdline" \
		</dev/null >"$log" 2>&1 || echo "qemu exited with $?" >>"$log"
	;;
arm64)
	# -M virt boots the Image directly, PSCI from QEMU itself: no firmware.
	# 4G: debug_vm_pgtable allocates a PMD-sized page at boot, 512 MiB
	# with 64K pages, which fails (and dumps the stack) with 2G. The
	# suites' PFNs are free physical address space and need no RAM.
	timeout --foreground -k 10 "$TIMEOUT" qemu-system-aarch64 \
		-nodefaults -nographic -no-reboot -serial stdio \
		-accel tcg -M virt -cpu "$cpu" -smp 2 -m 4G \
		-kernel "$dir/arch/arm64/boot/Image.gz" \
		-append "console=ttyAMA0 kunit_shutdown=reboot panic=-1 $cmdline" \
		</dev/null >"$log" 2>&1 || echo "qemu exited with $?" >>"$log"
	;;
um)
	timeout -k 10 "$TIMEOUT" "$dir/linux" mem=1G console=tty \
		kunit_shutdown=halt $cmdline </dev/null >"$log" 2>&1 ||
		echo "linux exited with $?" >>"$log"
	;;
*)
	die "kunit/runs: unknown arch '$arch' for run '$name'"
	;;
esac

status=0
python3 "$LINUX/tools/testing/kunit/kunit.py" parse --json="$json" "$log" >&2 || status=1
"$TOP/scripts/splat-check.sh" "$log" "KUnit run '$name'" || status=1
if [ -s "$json" ]; then
	must_run=$(awk -v n="$name" '$1 == n { $1 = ""; print }' "$TOP/kunit/must-run")
	# shellcheck disable=SC2086
	python3 "$TOP/scripts/kunit-count.py" "$json" $must_run
else
	echo "0 1 0"
	status=1
fi
exit $status
