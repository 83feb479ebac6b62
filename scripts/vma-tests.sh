#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tools/testing/vma: mm/vma.c and friends built and tested in userspace,
# with the duplicated mm declarations the series keeps in sync. Built in
# place (its outputs are git-ignored), cleaned afterwards.
. "$(dirname "$0")/lib.sh"

require_linux
dir=$LINUX/tools/testing/vma
log=$BUILD/vma-tests.log
trap 'make -s -C "$dir" clean >/dev/null 2>&1 || true' EXIT
make -C "$dir" -j"$JOBS" >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "tools/testing/vma does not build (see $log)"; }
if grep -E ': (warning|error):' "$log" >&2; then
	die "tools/testing/vma builds with warnings"
fi
"$dir/vma" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "tools/testing/vma failed (see $log)"; }
result=$(grep -E '^[0-9]+ tests run, [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
[ -n "$result" ] || die "tools/testing/vma printed no result (see $log)"
echo "tools/testing/vma: $result"
