#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Bisectability on one architecture: check out each commit of the series in
# turn and build, with W=1, the objects of every .c file its patch touches
# and of every .c file that includes a header it touches (a few core mm
# objects for core headers). Fails on a build error or on a W=1 warning in
# those objects that the parent commit did not have (the parent is built
# only for objects with warnings; what one commit built serves as the
# next one's parent).
# With --whole the series is one step, the base against its last commit.
# With a '# per-patch: REGEX' line in the fragment, only patches touching a
# path that matches are built on their own; each run of the other patches
# is one step.
#
# Config: allnoconfig + scripts/compile-<arch>.config in build/obj-<arch>
# (logs and results in build/prefixes-<arch>);
# only 'make prepare' and single objects are built, never the whole kernel.
# kbuild compiles any object it is asked for, so which objects the config
# puts in the kernel comes from a dry run of the whole build. A touched
# object outside it must match a '# skip: PATH REASON' line of the fragment
# (objects under another arch's arch/ are skipped without one); otherwise
# it fails.
#
# Usage: build-prefixes.sh [--whole] ARCH
# Prints one line per patch; the last line is 'N passed, N failed'.
. "$(dirname "$0")/lib.sh"

whole=0
[ "${1:-}" != --whole ] || { whole=1; shift; }
arch=${1:?usage: build-prefixes.sh [--whole] ARCH}
case $arch in
x86_64)  karch=x86_64  cross= ;;
i386)    karch=i386    cross= ;;	# the host gcc, with -m32
arm64)   karch=arm64   cross=aarch64-linux-gnu- ;;
ppc64le) karch=powerpc cross=powerpc64le-linux-gnu- ;;
riscv64) karch=riscv   cross=riscv64-linux-gnu- ;;
*) die "build-prefixes.sh: unknown arch '$arch'" ;;
esac
srcarch=$karch
case $karch in x86_64 | i386) srcarch=x86 ;; esac

require_linux
obj=$BUILD/obj-$arch		# the kbuild output directory
meta=$BUILD/prefixes-$arch	# logs, object lists, results
cache=$meta/results		# per commit: each object's W=1 diagnostics
frag=$TOP/scripts/compile-$arch.config
[ -f "$frag" ] || die "no $frag"
command -v "${cross}gcc" >/dev/null || die "no ${cross}gcc (scripts/setup.sh installs it)"
kmake() {
	make -C "$LINUX" O="$obj" ARCH="$karch" CROSS_COMPILE="$cross" \
		CC="ccache ${cross}gcc" -j"$JOBS" "$@"
}
export CCACHE_DIR=$BUILD/ccache

head=$(lgit rev-parse HEAD)
restore() { lgit checkout -q -f "$head" 2>/dev/null || true; lgit checkout -q -f series 2>/dev/null || true; }
trap restore EXIT
rm -rf "$meta"
mkdir -p "$meta"

# Objects to build for the step $1..$2: touched .c files that are kernel
# objects, and the users of touched headers.
objects_for() {
	local f
	for f in $(lgit diff --name-only --diff-filter=AM "$1" "$2"); do
		case "$f" in
		tools/* | samples/*/*.c.in | Documentation/* | scripts/*) ;;
		*.c) echo "${f%.c}.o" ;;
		*.h) header_users "$f" ;;
		esac
	done
}

# How a header is named where it is included: <linux/vfio.h> for
# include/linux/vfio.h (and arch/*/include/, uapi), by file name in quotes
# for a private header.
include_token() {
	case "$1" in
	include/uapi/* | arch/*/include/uapi/*) echo "<${1#*include/uapi/}>" ;;
	include/* | arch/*/include/*) echo "<${1#*include/}>" ;;
	*) echo "${1##*/}\"" ;;
	esac
}

# The files listed in $2 (headers or C sources of this config) that
# include header $1. A private header is looked for by its name below its
# directory's parent (#include "../vfio.h"); one a level below the top
# (mm/internal.h) everywhere, which makes it a core header.
includers() {
	local scope=
	case "$1" in include/* | arch/*/include/*) ;; *) scope=$(dirname "$(dirname "$1")")/ ;; esac
	[ "$scope" != ./ ] || scope=
	(cd "$LINUX" && awk -v s="$scope" 'index($0, s) == 1' "$2" |
		xargs -r grep -l -F "$(include_token "$1")") || true
}

# The objects of this config's kernel that include header $1, directly or
# through other headers. A header with more users than MAX_USERS is a core
# one: a few core mm objects stand for its users.
MAX_USERS=120
header_users() {
	local seen=" $1 " set=("$1") new h f users
	while [ ${#set[@]} -gt 0 ] && [ "$(wc -w <<<"$seen")" -le $MAX_USERS ]; do
		new=()
		for h in "${set[@]}"; do
			for f in $(includers "$h" "$meta/headers"); do
				case "$seen" in *" $f "*) ;; *) seen+="$f " new+=("$f") ;; esac
			done
		done
		set=("${new[@]}")
	done
	[ "$(wc -w <<<"$seen")" -gt $MAX_USERS ] ||
		users=$(for h in $seen; do includers "$h" "$meta/sources"; done | sort -u)
	if [ -z "${users+set}" ] || [ "$(wc -l <<<"$users")" -gt $MAX_USERS ]; then
		printf '%s\n' mm/util.o mm/vma.o mm/memory.o mm/mmap.o
	else
		sed 's/\.c$/.o/' <<<"$users"
	fi
}

# The fragment's skip rule for object $1, if any.
skip_rule() {
	case "$1" in
	arch/"$srcarch"/*) ;;
	arch/*) echo "arch/${1#arch/}: another architecture's code"; return ;;
	esac
	sed -n 's/^# skip: *//p' "$frag" | while read -r path reason; do
		case "$1" in "$path"*) echo "$path: $reason"; break ;; esac
	done
}

# Check out commit $1 with the config made at the series' head: kbuild's
# syncconfig drops symbols an older commit does not know from .config.
checkout() {
	lgit checkout -q -f "$1"
	cp "$meta/config" "$obj/.config"
}

# Every object the configured kernel is made of, at the checked-out commit:
# the targets of the compile commands of a dry run of the whole build. Also
# their C sources and the headers that may reach them, for header_users.
list_kernel_objects() {
	kmake -n -k 2>/dev/null | grep -o -E ' -c -o [^ ]+\.o ' |
		awk '{ print $3 }' | sort -u >"$meta/objects" || true
	[ -s "$meta/objects" ] || die "$arch: the dry run of the build lists no object"
	(cd "$LINUX" && sed 's/\.o$/.c/' "$meta/objects" | xargs ls 2>/dev/null) >"$meta/sources" || true
	(cd "$LINUX" && { git ls-files 'include/*.h' "arch/$srcarch/include/*.h"
		xargs -n 1 dirname <"$meta/sources" | sort -u | xargs -I{} find {} -maxdepth 1 -name '*.h'
	} | sort -u) >"$meta/headers"
}

# Build objects at commit $1 (W=1, all in one make), unless built there
# already: $cache/$1/OBJ.w gets the object's diagnostics without line
# numbers (so moved code is no new warning), OBJ.ok marks success.
build_at() {
	local c=$1 d=$cache/$1 o todo=()
	shift
	for o; do [ -e "$d/$o.w" ] || todo+=("$o"); done
	[ ${#todo[@]} -gt 0 ] || return 0
	checkout "$c"
	mkdir -p "$d"
	for o in "${todo[@]}"; do rm -f "$obj/$o"; done
	# -Otarget: each object's quiet 'CC' line and its diagnostics come out
	# together, so they can be told apart.
	kmake -k -Otarget W=1 "${todo[@]}" >"$d.log" 2>&1 || true
	for o in "${todo[@]}"; do
		mkdir -p "$(dirname "$d/$o")"
		awk -v o="$o" '/^  [A-Z]+ / { on = ($NF == o) } on' "$d.log" |
			grep -E ': (warning|error):' |
			sed -E 's/:[0-9]+:[0-9]+:/:/; s/\[[^]]*\]$//' | sort -u >"$d/$o.w" || true
		[ ! -f "$obj/$o" ] || touch "$d/$o.ok"
	done
}

t0=$(date +%s)
note "$arch: configuring $obj (allnoconfig + $(basename "$frag"))"
lgit checkout -q -f "$head"
mkdir -p "$obj"
KCONFIG_ALLCONFIG=$frag kmake allnoconfig >"$meta/allnoconfig.log" 2>&1 ||
	{ tail -n 20 "$meta/allnoconfig.log" >&2; die "$arch: allnoconfig with $frag failed"; }
missing=$(grep '^CONFIG_' "$frag" | while read -r l; do grep -q -x -F "$l" "$obj/.config" || echo "$l"; done)
[ -z "$missing" ] || die "$(basename "$frag"): not satisfied in the config: $missing"
cp "$obj/.config" "$meta/config"
kmake prepare >"$meta/prepare.log" 2>&1 || { tail -n 20 "$meta/prepare.log" >&2; die "$arch: make prepare failed"; }
list_kernel_objects
listed_at=$head
note "$arch: configured, $(wc -l <"$meta/objects") objects in its kernel, $(( $(date +%s) - t0 )) s"

# The vfio selftests a patch touches build on their own too (-Werror is in
# their Makefile), against the UAPI headers of that commit: on x86_64 only.
selftests_build() {
	local out=$meta/selftests
	rm -rf "$out"
	make -s -C "$LINUX" O="$out/hdr-build" ARCH="$karch" headers_install \
		INSTALL_HDR_PATH="$out/hdr/usr" >/dev/null 2>&1 &&
	make -C "$LINUX/tools/testing/selftests/vfio" OUTPUT="$out/bin" \
		KHDR_INCLUDES="-isystem $out/hdr/usr/include" -j"$JOBS" >>"$1" 2>&1
}

# The steps: each commit against its parent, or the whole series at once.
n=$(lgit rev-list --count "$BASE_TAG..$head")
if [ $whole -eq 1 ]; then
	steps=("$BASE_TAG $head series (patches 1-$n)")
else
	# A '# per-patch: REGEX' line in the fragment builds only the patches
	# that touch a matching path on their own; runs of the others are
	# built as one step each (their first parent against their last),
	# which keeps the cold make check within its time budget.
	per_patch=$(sed -n 's/^# per-patch: *//p' "$frag")
	# A run of patches FIRST..LAST as one step: from FROM to TO.
	run_step() {
		if [ "$3" -eq "$4" ]; then
			echo "$1 $2 patch $3/$n"
		else
			echo "$1 $2 patches $3-$4/$n"
		fi
	}
	steps=()
	i=0 run_from= run_first=
	for c in $(lgit rev-list --reverse "$BASE_TAG..$head"); do
		i=$((i + 1))
		if [ -z "$per_patch" ] || lgit diff --name-only "$c^" "$c" | grep -q -E "$per_patch"; then
			[ -z "$run_from" ] || steps+=("$(run_step "$run_from" "$prev" "$run_first" $((i - 1)))")
			run_from=
			steps+=("$c^ $c patch $i/$n")
		elif [ -z "$run_from" ]; then
			run_from=$c^ run_first=$i
		fi
		prev=$c
	done
	[ -z "$run_from" ] || steps+=("$(run_step "$run_from" "$prev" "$run_first" $i)")
fi

passed=0 failed=0 k=0
for step in "${steps[@]}"; do
	[ $k -eq 0 ] || note "$what: $(( $(date +%s) - t0 )) s"
	t0=$(date +%s)
	read -r from to label <<<"$step"
	what="$arch $label"
	subject=$(lgit log -1 --format=%s "$to")
	case $label in patches\ *) subject="up to: $subject" ;; esac
	[ $whole -eq 0 ] || subject="$BASE_TAG..series"
	k=$((k + 1)) log=$meta/step-$k.log
	if [ $whole -eq 0 ] && [ "$arch" = x86_64 ] &&
	   lgit diff --name-only "$from" "$to" | grep -q '^tools/testing/selftests/vfio/'; then
		checkout "$to"
		if selftests_build "$log"; then
			echo "$what: vfio selftests build ($subject)"
			passed=$((passed + 1))
		else
			echo "$what: FAILED: vfio selftests do not build ($subject)"
			failed=$((failed + 1))
		fi
	fi
	# Makefiles and Kconfig say what is built: list it again where they
	# differ from the commit it was listed at.
	if lgit diff --name-only "$listed_at" "$to" | grep -v '^tools/' |
	   grep -q -E '(^|/)(Makefile|Kbuild|Kconfig[^/]*)$'; then
		checkout "$to"
		list_kernel_objects
		listed_at=$to
	fi
	objs=() bad=()
	for o in $(objects_for "$from" "$to" | sort -u); do
		rule=$(skip_rule "$o")
		if [ -n "$rule" ]; then
			echo "$what: skipped $o ($rule)"
		elif grep -q -x -F "$o" "$meta/objects"; then
			objs+=("$o")
		else
			bad+=("$o is not in this config's kernel: enable it in $(basename "$frag") or add a '# skip:' rule")
		fi
	done
	if [ ${#objs[@]} -eq 0 ] && [ ${#bad[@]} -eq 0 ]; then
		echo "$what: no kernel object to compile ($subject)"
		continue
	fi
	# After first; before only for objects with diagnostics after.
	before=$cache/$(lgit rev-parse "$from") after=$cache/$(lgit rev-parse "$to")
	[ ${#objs[@]} -eq 0 ] || build_at "${after##*/}" "${objs[@]}"
	warned=()
	for o in "${objs[@]}"; do [ ! -s "$after/$o.w" ] || warned+=("$o"); done
	[ ${#warned[@]} -eq 0 ] || build_at "${before##*/}" "${warned[@]}"
	for o in "${objs[@]}"; do
		if ! [ -e "$after/$o.ok" ]; then
			bad+=("$o does not build:" "$(sed 's/^/    /' "$after/$o.w")")
		else
			new=$(comm -13 "$before/$o.w" "$after/$o.w" 2>/dev/null || true)
			[ -z "$new" ] || bad+=("$o: new W=1 warnings:" "$(printf '%s\n' "$new" | sed 's/^/    /')")
		fi
	done
	{ printf '%s\n' "${objs[@]}"; cat "$after.log" 2>/dev/null; } >"$log"
	list="${objs[*]}"
	[ ${#objs[@]} -le 8 ] || list="${#objs[@]} objects (listed in $log)"
	if [ ${#bad[@]} -eq 0 ]; then
		echo "$what: builds, no new W=1 warnings: $list ($subject)"
		passed=$((passed + 1))
	else
		echo "$what: FAILED ($subject):"
		printf '    %s\n' "${bad[@]}"
		failed=$((failed + 1))
	fi
done
note "$what: $(( $(date +%s) - t0 )) s"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
