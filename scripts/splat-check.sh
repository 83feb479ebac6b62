#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fail if a kernel console log shows a splat: a WARN, BUG, lockdep or KASAN
# report, an oops or a panic, or any stack dump (x86 prints 'Call Trace:',
# arm64 'Call trace:'), and a page table entry reported as bad (pgd_ERROR()
# and friends: "mm/pgtable-generic.c:44: bad pud ..."), which the kernel
# then clears without a TLB flush. Case-sensitive on purpose otherwise: the
# lockdep banner and debug_vm_pgtable's messages are not splats.
# Usage: splat-check.sh LOG [WHAT]
set -euo pipefail
log=$1 what=${2:-$1}
pattern='(WARNING:|BUG:|kernel BUG at|Oops|Kernel panic|UBSAN:|INFO: (possible|task|rcu)|general protection fault|Call [Tt]race:|bad (pgd|p4d|pud|pmd|pte) )'
if grep -E -n "$pattern" "$log" >/dev/null; then
	echo "FAIL: kernel splat in $what:" >&2
	grep -E -n -A 12 "$pattern" "$log" | head -n 60 >&2
	exit 1
fi
