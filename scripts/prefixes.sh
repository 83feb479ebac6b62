#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# 'make prefixes': build-prefixes.sh patch by patch on x86_64 and arm64
# (the arches of the drivers the series touches), and once for the whole
# series on i386 (32-bit: no huge PFN mappings), ppc64le (book3s) and
# riscv64. The last line is 'N passed, N failed' over
# all of them.
. "$(dirname "$0")/lib.sh"

runs=("x86_64" "arm64" "--whole i386" "--whole ppc64le" "--whole riscv64")
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
passed=0 failed=0 bad=()
for r in "${runs[@]}"; do
	start=$(date +%s)
	# shellcheck disable=SC2086
	if "$TOP/scripts/build-prefixes.sh" $r | tee "$tmp"; then :; else bad+=("${r#--whole }"); fi
	note "prefixes ${r#--whole }: $(( $(date +%s) - start )) s"
	read -r p _ f _ < <(tail -n 1 "$tmp" | grep -E '^[0-9]+ passed, [0-9]+ failed$' || echo "0 passed, 1 failed")
	passed=$((passed + p)) failed=$((failed + f))
done
[ ${#bad[@]} -eq 0 ] || echo "prefixes: failed on ${bad[*]} (logs: $BUILD/prefixes-<arch>/step-*.log)"
echo "$passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ]
