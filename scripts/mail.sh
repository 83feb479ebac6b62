#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Write the mail-ready series to out/: the cover letter (cover-letter.txt,
# plus shortlog, diffstat and base-commit), one mail per commit, To/Cc from
# the base tree's get_maintainer.pl, and all of it as one mbox (out/series.mbox)
# for b4 am / git am.
. "$(dirname "$0")/lib.sh"

require_linux
"$TOP/scripts/check-cover-letter.sh"

n=$(lgit rev-list --count "$BASE_TAG..HEAD")
[ "$n" -gt 0 ] || die "no commits on top of $BASE_TAG in $LINUX"

# Recipients for the whole series (as b4 prep --auto-to-cc does): the
# maintainers of every file touched go in To, reviewers and lists in Cc.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lgit format-patch -q --zero-commit --no-signature -o "$tmp" "$BASE_TAG..HEAD" >/dev/null
# get_maintainer.pl looks up the commits of Fixes: tags with git log to Cc
# their authors; the base has no history, so git's complaints about those
# commits are dropped (and nobody is added for them).
gm() {
	(cd "$LINUX" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
		--no-rolestats --no-s --no-multiline --separator=$'\n' "$@" "$tmp"/*.patch \
		2> >(grep -v -e '^fatal: ambiguous argument' -e "^Use '--' to separate" \
			-e "^'git <command>" >&2)) |
		grep -v -F -e "$SERIES_AUTHOR_EMAIL" | sed '/^$/d' | sort -u
}
to=$(gm --no-r --no-l)
cc=$(gm --no-m | grep -v -x -F -e "$to")
args=()
while read -r a; do [ -n "$a" ] && args+=(--to="$a"); done <<<"$to"
while read -r a; do [ -n "$a" ] && args+=(--cc="$a"); done <<<"$cc"

rm -rf "$OUT"
mkdir -p "$OUT"
lgit format-patch -q --cover-letter --thread=shallow --no-signature \
	--base="$BASE_TAG" --subject-prefix=PATCH "${args[@]}" \
	-o "$OUT" "$BASE_TAG..HEAD" >/dev/null

# Put cover-letter.txt into format-patch's template: its Subject, and its
# body in place of the blurb (its base-commit line is format-patch's own).
cover=$(ls "$OUT"/0000-cover-letter.patch)
python3 - "$TOP/cover-letter.txt" "$cover" <<'PY'
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
head, _, body = text.partition("\n\n")
subject = re.search(r"^Subject: (.*)$", head, re.M).group(1)
body = re.sub(r"\n*^base-commit: .*\n*", "\n", body, flags=re.M).strip("\n")
mail = open(dst).read()
mail = mail.replace("*** SUBJECT HERE ***", re.sub(r"^\[PATCH [0-9]+/[0-9]+\] ", "", subject))
mail = mail.replace("*** BLURB HERE ***", body)
open(dst, "w").write(mail)
PY
cat "$OUT"/*.patch >"$OUT/series.mbox"

echo "mail-ready series ($n patches + cover letter) in $OUT:"
(cd "$OUT" && ls -1)
