#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# cover-letter.txt must match the series: [PATCH vV 00/N] with V the
# posting (lib.sh) and N the number of patches, numbered as format-patch
# numbers them, and base-commit the base commit that apply.sh creates.
. "$(dirname "$0")/lib.sh"

require_linux
f=$TOP/cover-letter.txt
[ -f "$f" ] || die "no cover-letter.txt"
n=$(series_patches | wc -l)
zero=$(printf "%0${#n}d" 0)
want="[PATCH v$SERIES_VERSION $zero/$n]"
subject=$(sed -n '1s/^Subject: //p' "$f")
case "$subject" in
"$want "*) ;;
*) die "cover-letter.txt: first line must be 'Subject: $want ...' (series has $n patches), not '$(head -n 1 "$f")'" ;;
esac
base=$(lgit rev-parse "$BASE_TAG^{commit}")
grep -q -x "base-commit: $base" "$f" ||
	die "cover-letter.txt: needs the line 'base-commit: $base'"
! grep -n -E '@[A-Z_]+@|PLACEHOLDER|TODO' "$f" >&2 ||
	die "cover-letter.txt: fill in the lines above before posting"
echo "cover letter: $want, base-commit $base"
