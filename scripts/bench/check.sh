#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The cheap part of the benchmark that make check runs (make bench itself
# is not part of it): the benchmark kernel's config is the test kernel's
# minus scripts/bench/config-drop, the benchmark program and the nested
# VMM's payload build, and the report reads the committed sample output
# (scripts/bench/sample/: base, placement and full) into a table, JSON and
# PNG, takes the logs in any order (each names its kernel: HOST-INFO name=),
# and refuses a truncated log, a log without a name and two logs of one
# kernel.
# Ends with 'N passed, N failed'.
. "$(dirname "$0")/../lib.sh"

B=$TOP/scripts/bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "bench check: $1: ok"; passed=$((passed + 1)); }
bad() { echo "bench check: $1: FAILED" >&2; failed=$((failed + 1)); }

drop=$(grep '^CONFIG_' "$B/config-drop" | sed 's/$/=/')
if diff <(grep '^CONFIG_' "$TOP/kunit/x86_64.kunitconfig" | grep -v -F -e "$drop") \
	<(grep '^CONFIG_' "$TOP/kunit/x86_64-bench.kunitconfig") >&2; then
	ok "kunit/x86_64-bench.kunitconfig is kunit/x86_64.kunitconfig minus config-drop"
else
	bad "kunit/x86_64-bench.kunitconfig is not kunit/x86_64.kunitconfig minus config-drop"
fi

if "$B/build.sh" >/dev/null; then ok "vfio-bar-bench builds (static)"; else bad "vfio-bar-bench builds"; fi
if "$B/vmm/payload.sh" "$tmp/root" && [ -x "$tmp/root/usr/bin/qemu-system-x86_64" ]; then
	ok "the nested VMM payload builds (vmm-shim.so, QEMU, its libraries and firmware)"
else
	bad "the nested VMM payload builds"
fi

sample=$B/sample
logs=("$sample/base.log" "$sample/placement.log" "$sample/full.log")
if /usr/bin/python3 "$B/report.py" "${logs[@]}" "$tmp" >/dev/null &&
	[ -s "$tmp/bench.txt" ] && [ -s "$tmp/bench.png" ] &&
	want=$(cat "$sample"/*.log | grep -c '^BENCH ') &&
	got=$(/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sum(len(k["samples"]) for k in d["kernels"].values()))' "$tmp/bench.json") &&
	[ "$want" = "$got" ] && grep -q '^Targets for the series' "$tmp/bench.txt"; then
	ok "the report reads the sample output ($got samples)"
else
	bad "the report reads the sample output"
fi

# Each log says which kernel it is: another order of the arguments gives the
# same report, into an OUTDIR the report creates.
if /usr/bin/python3 "$B/report.py" "$sample/full.log" "$sample/base.log" "$sample/placement.log" \
	"$tmp/any-order" --no-png >/dev/null &&
	cmp -s "$tmp/bench.txt" "$tmp/any-order/bench.txt" &&
	cmp -s "$tmp/bench.json" "$tmp/any-order/bench.json"; then
	ok "the report takes the logs in any order (HOST-INFO name=)"
else
	bad "the report takes the logs in any order (HOST-INFO name=)"
fi
# refused WHAT LOG: the report refuses LOG in place of the full kernel's, and
# says it is about the log's HOST-INFO name=.
refused() {
	if /usr/bin/python3 "$B/report.py" "${logs[@]:0:2}" "$2" "$tmp/refused" --no-png \
		>/dev/null 2>"$tmp/refused.err"; then
		bad "the report refuses $1"
	elif grep -q 'HOST-INFO name=' "$tmp/refused.err"; then
		ok "the report refuses $1"
	else
		cat "$tmp/refused.err" >&2
		bad "the report refuses $1 (another error)"
	fi
}
grep -v '^HOST-INFO name=' "$sample/full.log" >"$tmp/noname.log"
refused "a log without HOST-INFO name=" "$tmp/noname.log"
sed 's/^HOST-INFO name=full$/HOST-INFO name=placement/' "$sample/full.log" >"$tmp/mislabeled.log"
refused "two logs of one kernel" "$tmp/mislabeled.log"

grep -v '^BENCH-DONE' "$sample/full.log" >"$tmp/truncated.log"
if /usr/bin/python3 "$B/report.py" "${logs[@]:0:2}" "$tmp/truncated.log" "$tmp" --no-png >/dev/null 2>&1; then
	bad "the report refuses a log without BENCH-DONE"
else
	ok "the report refuses a log without BENCH-DONE"
fi

# make bench-profile's table from the committed profile logs; a profile
# without __mmap64 (perf report failed, symbols unresolved) is refused.
if /usr/bin/python3 "$B/profile-table.py" "$sample/profile-placement.log" \
	"$sample/profile-full.log" >"$tmp/profile.txt" &&
	grep -q '^  remap_pfn_range_prepare_populate  *- *[0-9]' "$tmp/profile.txt"; then
	ok "the profile table reads the sample profiles"
else
	bad "the profile table reads the sample profiles"
fi
grep -v '__mmap64' "$sample/profile-full.log" >"$tmp/profile-nommap.log"
if /usr/bin/python3 "$B/profile-table.py" "$tmp/profile-nommap.log" >/dev/null 2>&1; then
	bad "the profile table refuses a profile without __mmap64"
else
	ok "the profile table refuses a profile without __mmap64"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
