#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make build/linux the base plus the series: the base as one commit tagged
# $BASE_TAG (created once from the verified .deb, identical on every machine),
# then one commit per patch in 'series' on branch 'series'.
#
# Refuses to run over uncommitted work in build/linux; commits there that
# were never exported are kept on a backup branch.
. "$(dirname "$0")/lib.sh"

create_base() {
	local deb
	deb=$("$TOP/scripts/fetch-base.sh")
	note "creating the base tree in $LINUX"
	rm -rf "$LINUX"
	mkdir -p "$LINUX"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$BASE_PKG.tar.xz" |
		tar -xJ --strip-components=1 -C "$LINUX"
	[ -f "$LINUX/Makefile" ] || die "no kernel tree in $deb"
	lgit init -q -b series
	# -f: the tarball is the base, whatever the tree's .gitignore says.
	lgit add -f -A .
	GIT_AUTHOR_DATE=$BASE_COMMIT_DATE GIT_COMMITTER_DATE=$BASE_COMMIT_DATE \
		lgit commit -q -m "Linux 7.3.4 (Debian $BASE_PKG $BASE_VERSION)"
	lgit tag "$BASE_TAG"
}

if ! [ -d "$LINUX/.git" ] || ! lgit rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null; then
	create_base
fi

# Debian's tarball ships a .gitignore that ignores every top-level path
# (its packaging repository's view), so files a patch adds would be
# invisible to git. Drop that rule in the work tree only: skip-worktree
# keeps the change out of status, commits and exported patches.
if ! lgit ls-files -v .gitignore | grep -q '^S'; then
	sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' "$LINUX/.gitignore"
	sed -i '$ { /^#$/d }' "$LINUX/.gitignore"
	lgit update-index --skip-worktree .gitignore
fi

[ -z "$(lgit status --porcelain --untracked-files=no)" ] ||
	die "uncommitted changes in $LINUX: commit them and run 'make export', or discard them (git -C $LINUX checkout -f .)"

# Keep commits that would otherwise be lost: anything on the current branch
# past the base that is not what the series would recreate.
old=$(lgit rev-parse HEAD)

lgit checkout -q -f -B series "$BASE_TAG"
n=0
for p in $(series_patches); do
	f=$TOP/patches/${p#patches/}
	[ -f "$f" ] || die "series lists $p, which is not in patches/"
	lgit am -q --committer-date-is-author-date --keep-cr "$f" ||
		{ lgit am --abort || true; die "patch $p does not apply"; }
	n=$((n + 1))
done
# Same trees and the same messages: nothing of the old state is lost.
same() {
	[ "$(lgit rev-parse "$1^{tree}")" = "$(lgit rev-parse "$2^{tree}")" ] &&
	[ "$(lgit log --format='%an%ae%ad%B' "$BASE_TAG..$1")" = \
	  "$(lgit log --format='%an%ae%ad%B' "$BASE_TAG..$2")" ]
}
if ! same "$old" HEAD; then
	backup="backup/$(date +%Y%m%d-%H%M%S)"
	lgit branch -f "$backup" "$old"
	note "previous state of $LINUX kept as branch $backup"
fi
note "applied $n patches onto $BASE_TAG in $LINUX (branch series)"
