#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Bisectability: check out each commit of the series in turn and build, with
# W=1, the objects of every .c file its patch touches (and a few core
# objects when it touches headers). Fails on a build error or on a W=1
# warning in those objects that the parent commit did not have.
#
# Config: allnoconfig + scripts/compile-<arch>.config in build/obj-<arch>;
# only 'make prepare' and single objects are built, never the whole kernel.
. "$(dirname "$0")/lib.sh"

ARCH_=${ARCH_:-x86_64}
require_linux
obj=$BUILD/obj-$ARCH_
frag=$TOP/scripts/compile-$ARCH_.config
kmake() {
	make -C "$LINUX" O="$obj" ARCH="$ARCH_" -j"$JOBS" CC="ccache gcc" "$@"
}
export CCACHE_DIR=$BUILD/ccache

head=$(lgit rev-parse HEAD)
restore() { lgit checkout -q -f "$head" 2>/dev/null || true; lgit checkout -q -f series 2>/dev/null || true; }
trap restore EXIT

# Objects to build for commit $1: touched .c files that are kernel objects.
objects_for() {
	local c=$1 f headers=0
	for f in $(lgit diff --name-only --diff-filter=AM "$c^" "$c"); do
		case "$f" in
		tools/* | samples/*/*.c.in | Documentation/* | scripts/*) ;;
		*.c) echo "${f%.c}.o" ;;
		include/* | *.h) headers=1 ;;
		esac
	done
	[ $headers -eq 0 ] || printf '%s\n' mm/util.o mm/vma.o mm/memory.o mm/mmap.o
}

# W=1 warnings of building $@, without line numbers so that moved code is
# not a new warning.
warnings_of() {
	local o
	for o in "$@"; do
		rm -f "$obj/$o"
		kmake W=1 "$o" 2>&1 | grep -E ': (warning|error):' |
			sed -E 's/:[0-9]+:[0-9]+:/:/; s/\[[^]]*\]$//' || true
	done | sort -u
}

note "configuring $obj (allnoconfig + $(basename "$frag"))"
lgit checkout -q -f "$head"
mkdir -p "$obj"
KCONFIG_ALLCONFIG=$frag kmake allnoconfig >"$obj.config.log" 2>&1 ||
	{ tail -n 20 "$obj.config.log" >&2; die "allnoconfig with $frag failed"; }
missing=$(grep '^CONFIG_' "$frag" | while read -r l; do grep -q -x -F "$l" "$obj/.config" || echo "$l"; done)
[ -z "$missing" ] || die "$(basename "$frag"): not satisfied in the config: $missing"
kmake prepare >"$obj.prepare.log" 2>&1 || { tail -n 20 "$obj.prepare.log" >&2; die "make prepare failed"; }

# The vfio selftests a patch touches build on their own too (-Werror is in
# their Makefile), against the UAPI headers of that commit.
selftests_build() {
	local out=$obj.selftests
	rm -rf "$out"
	make -s -C "$LINUX" O="$out/hdr-build" ARCH="$ARCH_" headers_install \
		INSTALL_HDR_PATH="$out/hdr/usr" >/dev/null 2>&1 &&
	make -C "$LINUX/tools/testing/selftests/vfio" OUTPUT="$out/bin" \
		KHDR_INCLUDES="-isystem $out/hdr/usr/include" -j"$JOBS" >>"$1" 2>&1
}

status=0
i=0
for c in $(lgit rev-list --reverse "$BASE_TAG..$head"); do
	i=$((i + 1))
	subject=$(lgit log -1 --format=%s "$c")
	mapfile -t objs < <(objects_for "$c" | sort -u)
	if lgit diff --name-only "$c^" "$c" | grep -q '^tools/testing/selftests/vfio/'; then
		lgit checkout -q -f "$c"
		if selftests_build "$obj.patch-$i.log"; then
			echo "patch $i: vfio selftests build ($subject)"
		else
			echo "patch $i: vfio selftests do not build ($subject)"
			status=1
		fi
	fi
	if [ ${#objs[@]} -eq 0 ]; then
		echo "patch $i: no kernel object to compile ($subject)"
		continue
	fi
	lgit checkout -q -f "$c^"
	before=$(warnings_of "${objs[@]}")
	lgit checkout -q -f "$c"
	log=$obj.patch-$i.log
	: >"$log"
	for o in "${objs[@]}"; do
		rm -f "$obj/$o"
		kmake W=1 "$o" >>"$log" 2>&1 || { echo "patch $i: $o does not build ($subject)"; status=1; }
	done
	after=$(grep -E ': (warning|error):' "$log" | sed -E 's/:[0-9]+:[0-9]+:/:/; s/\[[^]]*\]$//' | sort -u || true)
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
	if [ -n "$new" ]; then
		echo "patch $i: new W=1 warnings ($subject):"
		printf '%s\n' "$new" | sed 's/^/    /'
		status=1
	elif [ $status -eq 0 ]; then
		echo "patch $i: builds, no new W=1 warnings: ${objs[*]} ($subject)"
	fi
done
[ $status -eq 0 ] || die "some patches do not build on their own (logs: $obj.patch-*.log)"
