#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build and boot KUnit runs of kunit/runs; the last line of output is
# 'N passed, N failed'. Fails if any run fails.
# Usage: kunit.sh [RUN...]   (default: the runs of kunit/check-runs)
. "$(dirname "$0")/lib.sh"

require_linux
runs=("$@")
[ ${#runs[@]} -gt 0 ] || mapfile -t runs < <(awk '!/^#/ && NF { print $1 }' "$TOP/kunit/check-runs")

declare -A built
passed=0 failed=0 skipped=0 bad=()
for name in "${runs[@]}"; do
	read -r _ arch cfg _ <<<"$(awk -v n="$name" '$1 == n' "$TOP/kunit/runs")"
	[ -n "${arch:-}" ] || die "no run '$name' in kunit/runs"
	key=$arch/$cfg
	if [ -z "${built[$key]:-}" ]; then
		built[$key]=$("$TOP/scripts/kunit-build.sh" "$arch" "$cfg")
	fi
	if counts=$("$TOP/scripts/kunit-boot.sh" "$name" "${built[$key]}"); then :; else bad+=("$name"); fi
	read -r p f s <<<"$counts"
	echo "KUnit run '$name': $p passed, $f failed, $s skipped"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

[ ${#bad[@]} -eq 0 ] || echo "KUnit runs that failed: ${bad[*]} (logs in $BUILD/kunit-logs)"
echo "$passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
