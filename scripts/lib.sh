# SPDX-License-Identifier: GPL-2.0
# Common settings for the workbench scripts. Sourced, never run.
#
# Everything the scripts create lives under $BUILD (ignored by git); the
# series itself (series, patches/, cover-letter.txt and the mirrors of the
# files it adds) lives in the repository.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LINUX=$BUILD/linux		# git work tree: base commit + one commit per patch
OUT=${OUT:-$TOP/out}

# The pinned base: Debian's linux-source-7.3 from trixie-backports.
BASE_PKG=linux-source-7.3
BASE_VERSION=7.3.4-1~bpo13+1
BASE_SUITE=trixie-backports
BASE_SHA256=703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3
BASE_TAG=base-7.3.4

# The identity the stored series (patches/, the commits in build/linux)
# carries as author and signer: a placeholder, plainly not a person. The
# mails make mail.sh writes are authored and signed by whoever sends them
# (their git config's user.name and user.email) instead.
SERIES_AUTHOR_NAME="Placeholder Sender"
SERIES_AUTHOR_EMAIL="placeholder-sender@example.invalid"

# Which posting of the series the mails are: [PATCH v3 NN/MM]. The
# 10-patch and the 27-patch postings were the first two.
SERIES_VERSION=4

# Fixed identity and dates for the base commit, so that its hash (the
# cover letter's base-commit) is the same on every machine.
BASE_COMMIT_DATE="2026-11-15T22:30:00Z"

JOBS=${JOBS:-$(nproc)}

# make bench's "placement" kernel is the series without population: the
# parent in build/linux of the patch with this subject, the first of the
# population group (placement_ref below). BENCH_PLACEMENT_REF, a commit of
# build/linux, overrides it. Keep it in step with the series' order.
POPULATION_FIRST="mm: let mmap_prepare PFN remap actions map PMD and PUD leaves"

die() {
	echo "error: $*" >&2
	exit 1
}

note() {
	echo ">>> $*" >&2
}

# git in the kernel work tree, insulated from the user's configuration so
# that commits and exported patches are byte-for-byte reproducible.
lgit() {
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
	GIT_AUTHOR_NAME="$SERIES_AUTHOR_NAME" GIT_AUTHOR_EMAIL="$SERIES_AUTHOR_EMAIL" \
	GIT_COMMITTER_NAME="$SERIES_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$SERIES_AUTHOR_EMAIL" \
		git -C "$LINUX" -c core.abbrev=12 -c diff.algorithm=myers \
			-c diff.renames=true -c format.signature= \
			-c core.autocrlf=false -c advice.detachedHead=false "$@"
}

# The patch files, in series order.
series_patches() {
	grep -v '^[[:space:]]*#' "$TOP/series" | sed '/^[[:space:]]*$/d'
}

require_linux() {
	lgit rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
		die "no base in $LINUX: run 'make apply' first"
}

# Seconds as "1m05s".
elapsed() {
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# progress LABEL STATUS CMD [ARG...]: run CMD and, while it runs, print
# ">>> LABEL: <elapsed>; <STATUS>" on stderr every $PROGRESS_EVERY seconds
# (default 30). STATUS is a command line, run (eval) for each line, that
# prints what is done and what remains ('' for none). CMD keeps stdin,
# stdout and stderr; returns CMD's status.
progress() {
	local label=$1 status=$2 start pid ticker rc=0
	shift 2
	start=$(date +%s)
	"$@" &
	pid=$!
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		while :; do
			sleep "${PROGRESS_EVERY:-30}" &
			s=$!
			wait "$s"
			line="$label: $(elapsed $(($(date +%s) - start)))"
			[ -z "$status" ] || line="$line; $(eval "$status" 2>/dev/null || true)"
			echo ">>> $line" >&2
		done
	) </dev/null >/dev/null &
	ticker=$!
	wait "$pid" || rc=$?
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" 2>/dev/null || true
	return "$rc"
}

# For the progress lines of a kernel build into DIR, started when
# DIR/.build-start was touched: the objects compiled since, and how many
# the last finished build in DIR had (kbuild_done).
kbuild_status() {
	local n total
	n=$(find "$1" -name '*.o' -newer "$1/.build-start" 2>/dev/null | wc -l)
	total=$(cat "$1/.objects" 2>/dev/null || true)
	echo "$n objects compiled${total:+, of $total in the last full build here}"
}

# Record how many objects a finished build in DIR has, for kbuild_status.
kbuild_done() {
	find "$1" -name '*.o' | wc -l >"$1/.objects"
}

# The commit make bench's placement kernel is built from (see
# POPULATION_FIRST above).
placement_ref() {
	local c
	if [ -n "${BENCH_PLACEMENT_REF:-}" ]; then
		c=$(lgit rev-parse -q --verify "$BENCH_PLACEMENT_REF^{commit}") ||
			die "BENCH_PLACEMENT_REF=$BENCH_PLACEMENT_REF is not a commit in $LINUX"
	else
		c=$(lgit log --format='%H %s' "$BASE_TAG..HEAD" |
			awk -v s="$POPULATION_FIRST" '{ h = $1; sub(/^[^ ]+ /, "") } $0 == s { print h }')
		[ "$(wc -w <<<"$c")" = 1 ] ||
			die "not one patch in $LINUX with the subject POPULATION_FIRST (scripts/lib.sh): '$POPULATION_FIRST'"
		c=$(lgit rev-parse "$c^")
	fi
	lgit merge-base --is-ancestor "$BASE_TAG" "$c" && lgit merge-base --is-ancestor "$c" HEAD ||
		die "the placement commit $c is not between $BASE_TAG and HEAD in $LINUX"
	echo "$c"
}

# install_libs ROOT PROGRAM: copy every shared library ldd names for PROGRAM,
# and the loader, under ROOT at its host path (guest initramfs payloads).
install_libs() {
	local root=$1 prog=$2 libs lib
	# ldd: "lib => /path (addr)", the loader "/lib64/ld-linux-x86-64.so.2 (addr)".
	! ldd "$prog" | grep 'not found' || die "ldd: a library of $prog is missing"
	libs=$(ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	[ -n "$libs" ] || die "ldd found no libraries for $prog"
	for lib in $libs; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
