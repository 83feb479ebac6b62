#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# apply + export must be the identity: export build/linux (as 'make apply'
# left it) into a scratch directory and compare it with the repository:
# patches/, series and every mirrored file, byte for byte.
. "$(dirname "$0")/lib.sh"

require_linux
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$TOP/scripts/export.sh" "$tmp" 2>/dev/null

mirrors() {
	# Files under the kernel's top-level directories, minus the workbench's.
	local d=$1 r
	for r in $(lgit ls-tree --name-only -d "$BASE_TAG" | grep -v -x -F -e scripts); do
		[ -d "$d/$r" ] && (cd "$d" && find "$r" -type f)
	done | sort
}
status=0
diff -r "$TOP/patches" "$tmp/patches" >&2 || { echo "round trip: patches/ differs" >&2; status=1; }
cmp -s "$TOP/series" "$tmp/series" || { diff "$TOP/series" "$tmp/series" >&2; echo "round trip: series differs" >&2; status=1; }
diff <(mirrors "$TOP") <(mirrors "$tmp") >&2 || { echo "round trip: the set of mirrored files differs" >&2; status=1; }
for f in $(mirrors "$tmp"); do
	cmp -s "$TOP/$f" "$tmp/$f" || { echo "round trip: mirror $f differs from build/linux" >&2; status=1; }
done
[ $status -eq 0 ] || die "apply + export is not byte-identical (make export, review, commit)"
echo "round trip: apply + export is byte-identical ($(ls "$tmp"/patches | wc -l) patches, $(mirrors "$tmp" | wc -l) mirrored files)"
