#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# cover-letter.txt must match the series: [PATCH 0/N] with N the number of
# patches, and base-commit the base commit that apply.sh creates.
. "$(dirname "$0")/lib.sh"

require_linux
f=$TOP/cover-letter.txt
[ -f "$f" ] || die "no cover-letter.txt"
n=$(series_patches | wc -l)
subject=$(sed -n '1s/^Subject: //p' "$f")
case "$subject" in
"[PATCH 0/$n] "*) ;;
*) die "cover-letter.txt: first line must be 'Subject: [PATCH 0/$n] ...' (series has $n patches), not '$(head -n 1 "$f")'" ;;
esac
base=$(lgit rev-parse "$BASE_TAG^{commit}")
grep -q -x "base-commit: $base" "$f" ||
	die "cover-letter.txt: needs the line 'base-commit: $base'"
! grep -n -E '@[A-Z_]+@|PLACEHOLDER|TODO' "$f" >&2 ||
	die "cover-letter.txt: fill in the lines above before posting"
echo "cover letter: [PATCH 0/$n], base-commit $base"
