#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict on every patch of the series, with the base tree's
# own script. Zero errors, warnings and checks, except those listed in
# checkpatch.exceptions (one per line: PATCH TYPE justification, PATCH being
# the patch file name without its NNNN- number).
. "$(dirname "$0")/lib.sh"

require_linux
exceptions=$TOP/checkpatch.exceptions
status=0
for p in $(series_patches); do
	p=${p#patches/}
	# Debian's python3 first: spdxcheck.py needs its python3-ply and -git.
	out=$(cd "$LINUX" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --terse --show-types \
		--no-summary "$TOP/patches/$p" 2>&1 || true)
	bad=$(printf '%s\n' "$out" | { grep -E '(ERROR|WARNING|CHECK):' || true; } | while read -r line; do
		type=$(printf '%s\n' "$line" | sed -n 's/.*\(ERROR\|WARNING\|CHECK\):\([A-Z_0-9]*\):.*/\2/p')
		if [ -n "$type" ] && [ -f "$exceptions" ] &&
		   awk -v p="${p#[0-9][0-9][0-9][0-9]-}" -v t="$type" '!/^#/ && $1 == p && $2 == t && NF > 2 { f = 1 } END { exit !f }' "$exceptions"; then
			continue
		fi
		printf '%s\n' "$line"
	done)
	if printf '%s\n' "$out" | grep -q -e Traceback -e 'No such file'; then
		echo "checkpatch: $p: checkpatch.pl itself failed:"
		printf '%s\n' "$out" | sed 's/^/    /'
		status=1
	elif [ -n "$bad" ]; then
		echo "checkpatch: $p:"
		printf '%s\n' "$bad" | sed 's/^/    /'
		status=1
	else
		echo "checkpatch: $p: clean"
	fi
done
exit $status
