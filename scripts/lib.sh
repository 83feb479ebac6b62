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

# Fixed identity and dates for the base commit, so that its hash (the
# cover letter's base-commit) is the same on every machine.
BASE_COMMIT_DATE="2026-11-15T22:30:00Z"

JOBS=${JOBS:-$(nproc)}

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
